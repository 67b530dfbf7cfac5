/*
 * Unpacking the collected tarball: it comes from where the agent had the
 * run of the place, so every trick in it must be refused.
 */
#include "config.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "json.h"
#include "tmpdir.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "result.h"
#include "check_worker.h"

struct entry {
	const char	*name;
	const char	*data;	/* NULL: a symlink to /etc/passwd */
	size_t		 len;	/* 0: strlen(data) */
};

/* Write a tar.gz of the entries to a temp file; return its fd. */
static int
make_tarball(const struct entry *e, size_t n)
{
	struct archive		*a;
	struct archive_entry	*ae;
	char			 path[] = "/tmp/check-collect-XXXXXX";
	size_t			 i, len;
	int			 fd;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	unlink(path);
	a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	ck_assert_int_eq(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		if (e[i].data == NULL) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, "/etc/passwd");
			archive_write_header(a, ae);
		} else {
			len = e[i].len ? e[i].len : strlen(e[i].data);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)len);
			archive_write_header(a, ae);
			archive_write_data(a, e[i].data, len);
		}
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return (fd);
}

static struct pipeline *
new_pipeline(void)
{
	struct pipeline	*p;

	p = pipeline_new(NULL, NULL, NULL);
	p->p_artifacts = json_object_new_array();
	p->p_skipped = json_object_new_array();
	return (p);
}

static int
job_dir(const char *dir)
{
	return (open(dir, O_RDONLY | O_DIRECTORY));
}

START_TEST(test_collect_good)
{
	static const struct entry e[] = {
		{ "./diff.patch", "diff --git a/x b/x\n", 0 },
		{ "./numstat", "3\t1\tx\0" "-\t-\timg.png\0", 18 },
		{ "./result.json", "{\"summary\":\"done\",\"tests\":{\"command\":"
		  "\"make check\",\"passed\":2,\"failed\":0}}", 0 },
		{ "./artifacts/out/data.csv", "a,b\n1,2\n", 0 },
		{ "./artifacts.skipped", "huge.bin\t99999999\n", 0 },
	};
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir(), path[300];
	char		*cause = NULL;
	struct stat	 sb;
	int		 fd = make_tarball(e, 5), dfd = job_dir(dir);

	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), 0);
	ck_assert_uint_eq(p->p_diff.ds_files, 2);
	ck_assert_int_eq(p->p_diff.ds_insertions, 3);
	ck_assert_uint_eq(p->p_diff.ds_binary, 1);
	ck_assert_uint_eq(p->p_diff_bytes, 19);
	ck_assert(!p->p_diff_truncated);
	ck_assert_ptr_nonnull(p->p_rf);
	ck_assert_str_eq(p->p_rf->rf_tests.rt_command, "make check");
	ck_assert_str_eq(json_str(p->p_artifacts),
	    "[{\"path\":\"out/data.csv\",\"bytes\":8}]");
	ck_assert_str_eq(json_peek_string(json_object_array_get_idx(
	    p->p_skipped, 0), "path"), "huge.bin");
	snprintf(path, sizeof(path), "%s/artifacts/out/data.csv", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 8);
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* Each of these names must be ignored, and nothing written outside. */
static const char *bad_names[] = {
	"../evil", "/tmp/check-collect-abs", "./artifacts/../../evil2",
	"artifacts//x", "./artifacts/./x/../../y",
};

START_TEST(test_collect_refuses_names)
{
	struct entry	 e[] = { { bad_names[_i], "pwned", 0 } };
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir();
	char		*cause = NULL;
	int		 fd = make_tarball(e, 1), dfd = job_dir(dir);

	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), 0);
	ck_assert_int_eq(json_object_array_length(p->p_artifacts), 0);
	ck_assert_int_ne(access("/tmp/check-collect-abs", F_OK), 0);
	ck_assert_int_ne(faccessat(dfd, "../evil", F_OK, 0), 0);
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* A symlink entry is skipped; a file cannot be written through one. */
START_TEST(test_collect_symlinks)
{
	static const struct entry e[] = {
		{ "./artifacts/link", NULL, 0 },
		{ "./artifacts/link/x", "through the link", 0 },
	};
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir();
	char		*cause = NULL;
	struct stat	 sb;
	int		 fd = make_tarball(e, 2), dfd = job_dir(dir);

	/* The link is not made; the second entry is a plain directory. */
	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), 0);
	ck_assert_int_eq(fstatat(dfd, "artifacts/link", &sb,
	    AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_str_eq(json_str(p->p_artifacts),
	    "[{\"path\":\"link/x\",\"bytes\":16}]");
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* The same file twice: nothing is overwritten, the unpack fails. */
START_TEST(test_collect_no_overwrite)
{
	static const struct entry e[] = {
		{ "./artifacts/a", "first", 0 },
		{ "./artifacts/a", "second", 0 },
	};
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir(), buf[16];
	char		*cause = NULL;
	int		 fd = make_tarball(e, 2), dfd = job_dir(dir), f;
	ssize_t		 n;

	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "File exists"));
	free(cause);
	f = openat(dfd, "artifacts/a", O_RDONLY);
	n = read(f, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(buf, "first");
	close(f);
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* A diff over the cap is kept truncated, and said to be. */
START_TEST(test_collect_diff_cap)
{
	struct entry	 e[1] = { { "./diff.patch", NULL, PIPE_DIFF_MAX + 100 } };
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir();
	char		*big, *cause = NULL;
	struct stat	 sb;
	int		 fd, dfd = job_dir(dir);

	big = malloc(PIPE_DIFF_MAX + 100);
	memset(big, '+', PIPE_DIFF_MAX + 100);
	e[0].data = big;
	fd = make_tarball(e, 1);
	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), 0);
	ck_assert(p->p_diff_truncated);
	ck_assert_uint_eq(p->p_diff_bytes, PIPE_DIFF_MAX + 100);
	ck_assert_int_eq(fstatat(dfd, "diff.patch", &sb, 0), 0);
	ck_assert_int_eq(sb.st_size, PIPE_DIFF_MAX);
	free(big);
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* An invalid result.json is recorded, not fatal; garbage is an error. */
START_TEST(test_collect_bad_content)
{
	static const struct entry e[] = {
		{ "./result.json", "{\"summary\": 3}", 0 },
	};
	struct pipeline	*p = new_pipeline();
	char		*dir = test_tmpdir(), *cause = NULL;
	int		 fd = make_tarball(e, 1), dfd = job_dir(dir), junk;

	ck_assert_int_eq(collect_unpack(p, fd, dfd, &cause), 0);
	ck_assert_ptr_null(p->p_rf);
	ck_assert_ptr_nonnull(strstr(p->p_rf_error, "summary"));
	junk = open("/etc/hostname", O_RDONLY);
	ck_assert_int_eq(collect_unpack(p, junk, dfd, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	close(junk);
	pipeline_free(&p);
	close(fd);
	close(dfd);
	test_rmdir(dir);
}
END_TEST

/* How many entries other than . and .. the directory has. */
static int
dir_entries(const char *dir)
{
	struct dirent	*de;
	DIR		*d = opendir(dir);
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return (n);
}

/* The spool takes a tarball and gives it back, and is nowhere in dir. */
static void
spool_round_trip(const char *dir)
{
	char	 got[8];
	int	 dfd = job_dir(dir), fd = collect_spool(dfd);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "tarball", 7), 7);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(read(fd, got, sizeof(got)), 7);
	ck_assert_int_eq(memcmp(got, "tarball", 7), 0);
	ck_assert_int_eq(dir_entries(dir), 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	close(dfd);
}

/* Refuse memfd_create with EPERM from now on, as a seccomp policy may. */
static int
deny_memfd(void)
{
	struct sock_filter	 f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return (-1);
	return (syscall(SYS_memfd_create, "x", 0) == -1 && errno == EPERM ?
	    0 : -1);
}

/*
 * The downloaded tarball leaves no file behind: in memory, or where
 * memfd_create is refused, in a file of the job directory unlinked at
 * once.
 */
START_TEST(test_collect_spool)
{
	char	*dir = test_tmpdir();
	pid_t	 pid;
	int	 st;

	spool_round_trip(dir);
	if ((pid = fork()) == 0) {
		if (deny_memfd() == -1)
			_exit(2);
		spool_round_trip(dir);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "without memfd_create: status %d", st);
	test_rmdir(dir);
}
END_TEST

Suite *
collect_suite(void)
{
	Suite	*s = suite_create("collect");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_collect_good);
	tcase_add_loop_test(tc, test_collect_refuses_names, 0,
	    sizeof(bad_names) / sizeof(bad_names[0]));
	tcase_add_test(tc, test_collect_symlinks);
	tcase_add_test(tc, test_collect_no_overwrite);
	tcase_add_test(tc, test_collect_diff_cap);
	tcase_add_test(tc, test_collect_bad_content);
	tcase_add_test(tc, test_collect_spool);
	suite_add_tcase(s, tc);
	return (s);
}
