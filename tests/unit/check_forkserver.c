/*
 * The forkserver, for real: started on a control socket as skillboxd
 * starts it, it forks workers that come back to this process (a child
 * subreaper here, as skillboxd is), and hands them the Skills pack it
 * read once, but only for the directory and digest the job names.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bundle.h"
#include "forkserver.h"
#include "json.h"
#include "xmalloc.h"
#include "check_worker.h"
#include "repo_pack.h"

#define FS_FD	3

static char	 skills_dir[512];
static char	 digest[128];
static int	 ctl = -1;
static pid_t	 fs_pid;
static int	 fs_ready;	/* it said so; it declines under valgrind */

/* Under valgrind, whose vfork is a fork: the forkserver declines. */
static int
under_valgrind(void)
{
	const char	*pre = getenv("LD_PRELOAD");

	return (pre != NULL && strstr(pre, "vgpreload") != NULL);
}

/* What a forked worker runs: exit 0 if it was handed the pack. */
static int
fs_test_main(int argc, char **argv)
{
	const struct bundle_head	*head;

	/* The pack, and its part of the bundle compressed once. */
	return (argc == 3 && forkserver_skills(argv[1], argv[2], &head) !=
	    NULL && head != NULL && head->bh_len > 0 ? 0 : 1);
}

static void
setup(void)
{
	char		*dir, msg[256];
	int		 pair[2];
	ssize_t		 n;

	dir = repo_pack(digest, sizeof(digest));
	snprintf(skills_dir, sizeof(skills_dir), "%s", dir);
	free(dir);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair), 0);
	if ((fs_pid = fork()) == 0) {
		/* Contiguous, as the kernel lays argv out: the titles go there. */
		static char	 area[] = "skillbox-worker\0--forkserver\0"
				    "                                ";
		char		*argv[] = { area, area + 16, area + 29, NULL };

		close(pair[0]);		/* its end of file ends it */
		if (dup2(pair[1], FS_FD) == -1)
			_exit(99);
		setenv("SKILLBOX_SKILLS_DIR", skills_dir, 1);
		_exit(forkserver_run(3, argv, fs_test_main));
	}
	close(pair[1]);
	ctl = pair[0];
	n = recv(ctl, msg, sizeof(msg) - 1, 0);
	fs_ready = n > 0;
	ck_assert_msg(fs_ready || under_valgrind(), "no ready from the "
	    "forkserver");
	if (fs_ready) {
		msg[n] = '\0';
		ck_assert_ptr_nonnull(strstr(msg, "\"ready\""));
	}
}

static void
teardown(void)
{
	int	st;

	close(ctl);
	ck_assert_int_eq(waitpid(fs_pid, &st, 0), fs_pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), fs_ready ? 0 : EX_UNAVAILABLE);
}

/* Start a worker with argv [w, dir, digest]; its exit status. */
static int
fs_worker(const char *dir, const char *dig)
{
	struct json_object	*req, *argv, *rep;
	const char		*s;
	char			 msg[256], *cause = NULL;
	ssize_t			 n;
	pid_t			 pid;
	int			 st;

	req = json_object_new_object();
	argv = json_object_new_array();
	json_object_array_add(argv, json_object_new_string("w"));
	json_object_array_add(argv, json_object_new_string(dir));
	json_object_array_add(argv, json_object_new_string(dig));
	json_object_object_add(req, "argv", argv);
	json_object_object_add(req, "env", json_object_new_array());
	s = json_object_to_json_string(req);
	ck_assert_int_eq(send(ctl, s, strlen(s), 0), (ssize_t)strlen(s));
	json_object_put(req);
	n = recv(ctl, msg, sizeof(msg), 0);
	ck_assert_int_gt(n, 0);
	rep = json_parse(msg, (size_t)n, &cause);
	ck_assert_msg(rep != NULL, "%s", cause);
	pid = (pid_t)json_peek_int(rep, "pid", 0);
	json_object_put(rep);
	ck_assert_int_gt(pid, 0);
	while (waitpid(pid, &st, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(WIFEXITED(st));
	return (WEXITSTATUS(st));
}

START_TEST(test_forkserver_pack)
{
	char	other[sizeof(skills_dir) + 1];

	if (!fs_ready)
		return;		/* valgrind: nothing forked, nothing to see */
	ck_assert_int_eq(fs_worker(skills_dir, digest), 0);
	/* A pack that changed since: the worker reads its own. */
	ck_assert_int_eq(fs_worker(skills_dir, "0123"), 1);
	snprintf(other, sizeof(other), "%s/", skills_dir);
	ck_assert_int_eq(fs_worker(other, digest), 1);
	ck_assert_int_eq(fs_worker(skills_dir, digest), 0);
}
END_TEST

/* Not in a forkserver's worker: never a shared pack. */
START_TEST(test_forkserver_none)
{
	const struct bundle_head	*head = (void *)1;

	ck_assert_ptr_null(forkserver_skills(skills_dir, digest, &head));
	ck_assert_ptr_null(head);
	ck_assert_ptr_null(forkserver_skills(NULL, NULL, &head));
}
END_TEST

Suite *
forkserver_suite(void)
{
	Suite	*s = suite_create("forkserver");
	TCase	*tc = tcase_create("pack");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_forkserver_pack);
	tcase_add_test(tc, test_forkserver_none);
	suite_add_tcase(s, tc);
	return (s);
}
