/* Go-compatible text: times, file modes, wait statuses, paths. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gofmt.h"
#include "check_e2bl.h"

START_TEST(test_gofmt_time)
{
	struct timespec	ts = { 1700000000, 0 };
	char		buf[GOFMT_TIME_MAX];

	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_GO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20Z");
	ts.tv_nsec = 120000000;
	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_GO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.12Z");
	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_PROTO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.120Z");
	ts.tv_nsec = 123456000;
	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_PROTO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.123456Z");
	ts.tv_nsec = 1;
	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_PROTO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.000000001Z");
	gofmt_time(buf, sizeof(buf), &ts, GOFMT_TIME_GO);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.000000001Z");
}
END_TEST

START_TEST(test_gofmt_filemode)
{
	char	buf[GOFMT_MODE_MAX];

	gofmt_filemode(buf, sizeof(buf), S_IFREG | 0644);
	ck_assert_str_eq(buf, "-rw-r--r--");
	gofmt_filemode(buf, sizeof(buf), S_IFDIR | 0755);
	ck_assert_str_eq(buf, "drwxr-xr-x");
	gofmt_filemode(buf, sizeof(buf), S_IFLNK | 0777);
	ck_assert_str_eq(buf, "Lrwxrwxrwx");
	gofmt_filemode(buf, sizeof(buf), S_IFDIR | S_ISVTX | 0777);
	ck_assert_str_eq(buf, "dtrwxrwxrwx");
	gofmt_filemode(buf, sizeof(buf), S_IFCHR | 0666);
	ck_assert_str_eq(buf, "Dcrw-rw-rw-");
	gofmt_filemode(buf, sizeof(buf), S_IFREG | S_ISUID | 0755);
	ck_assert_str_eq(buf, "urwxr-xr-x");
	gofmt_filemode(buf, sizeof(buf), S_IFIFO | 0600);
	ck_assert_str_eq(buf, "prw-------");
}
END_TEST

/* The wait status of a child that exits with how, or dies of -how. */
static int
child_status(int how)
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == 0) {
		if (how >= 0)
			_exit(how);
		signal(-how, SIG_DFL);	/* Check handles some itself */
		raise(-how);
		_exit(99);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (status);
}

START_TEST(test_gofmt_wait_status)
{
	char	buf[GOFMT_STATUS_MAX], name[32];
	int	st;

	st = child_status(0);
	gofmt_wait_status(buf, sizeof(buf), st);
	ck_assert_str_eq(buf, "exit status 0");
	ck_assert_int_eq(gofmt_exit_code(st), 0);
	st = child_status(3);
	gofmt_wait_status(buf, sizeof(buf), st);
	ck_assert_str_eq(buf, "exit status 3");
	ck_assert_int_eq(gofmt_exit_code(st), 3);
	st = child_status(-SIGKILL);
	gofmt_wait_status(buf, sizeof(buf), st);
	ck_assert_str_eq(buf, "signal: killed");
	ck_assert_int_eq(gofmt_exit_code(st), -1);
	st = child_status(-SIGTERM);
	gofmt_wait_status(buf, sizeof(buf), st);
	ck_assert_str_eq(buf, "signal: terminated");
	ck_assert_str_eq(gofmt_signame(SIGSEGV, name, sizeof(name)),
	    "segmentation fault");
	ck_assert_str_eq(gofmt_signame(64, name, sizeof(name)), "signal 64");
}
END_TEST

START_TEST(test_gofmt_path_clean)
{
	static const char *cases[][2] = {
		{ "", "." }, { "/", "/" }, { "//a//b/", "/a/b" },
		{ "/home/user/./x", "/home/user/x" },
		{ "/home/user/../x", "/home/x" }, { "/..", "/" },
		{ "/../../a", "/a" }, { "a/../..", ".." },
		{ "../../a", "../../a" },
		{ "a/b/../../c", "c" }, { "./", "." }, { "a/./b/.", "a/b" },
		{ "/home/user/~", "/home/user/~" },
	};
	size_t	 i;
	char	*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = gofmt_path_clean(cases[i][0]);
		ck_assert_msg(strcmp(s, cases[i][1]) == 0, "clean(%s) = %s, "
		    "want %s", cases[i][0], s, cases[i][1]);
		free(s);
	}
}
END_TEST

START_TEST(test_gofmt_errno_and_remove_all)
{
	char	buf[128], dir[] = "/tmp/check_gofmt.XXXXXX", path[256];
	FILE	*f;

	ck_assert_str_eq(gofmt_errno(ENOENT, buf, sizeof(buf)),
	    "no such file or directory");
	ck_assert_str_eq(gofmt_errno(EACCES, buf, sizeof(buf)),
	    "permission denied");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/f", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof(path), "%s/link", dir);
	ck_assert_int_eq(symlink("/", path), 0);
	ck_assert_int_eq(gofmt_remove_all(dir), 0);
	ck_assert_int_eq(access(dir, F_OK), -1);
	ck_assert_int_eq(access("/", F_OK), 0);	/* not followed */
	ck_assert_int_eq(gofmt_remove_all(dir), 0);	/* missing is fine */
}
END_TEST

Suite *
gofmt_suite(void)
{
	Suite	*s = suite_create("gofmt");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_gofmt_time);
	tcase_add_test(tc, test_gofmt_filemode);
	tcase_add_test(tc, test_gofmt_wait_status);
	tcase_add_test(tc, test_gofmt_path_clean);
	tcase_add_test(tc, test_gofmt_errno_and_remove_all);
	suite_add_tcase(s, tc);
	return (s);
}
