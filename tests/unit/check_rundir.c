/*
 * The runtime directory: made private under the configured place, and
 * the leftovers of a skillboxd that was killed are removed at the next
 * start, while a live skillboxd's directory and anything that is not a
 * leftover of ours stay.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

static char	*base;

static void
setup(void)
{
	base = test_tmpdir();
}

static void
teardown(void)
{
	test_rmdir(base);
}

/*
 * Make base/name (mode) with a socket bound in it; the socket listens
 * (its fd is returned) or is closed at once, as a killed process's is.
 */
static int
fake_rundir(const char *name, mode_t mode, int listening)
{
	struct sockaddr_un	 sun;
	char			*dir;
	int			 fd;

	xasprintf(&dir, "%s/%s", base, name);
	ck_assert_int_eq(mkdir(dir, mode), 0);
	ck_assert_int_eq(chmod(dir, mode), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    RUNDIR_SOCK);
	free(dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening) {
		ck_assert_int_eq(listen(fd, 1), 0);
		return (fd);
	}
	close(fd);
	return (-1);
}

static int
exists(const char *name)
{
	char	*p;
	int	 r;

	xasprintf(&p, "%s/%s", base, name);
	r = access(p, F_OK) == 0;
	free(p);
	return (r);
}

START_TEST(test_rundir_sweep)
{
	struct stat	 sb;
	char		*dir = NULL, *cause = NULL, *p;
	int		 live;

	(void)fake_rundir("skillbox-dead01", 0700, 0);
	live = fake_rundir("skillbox-live01", 0700, 1);
	(void)fake_rundir("skillbox-open01", 0755, 0);	/* not one of ours */
	(void)fake_rundir("skillbox-longer01", 0700, 0);	/* nor this */
	xasprintf(&p, "%s/skillbox-empty1", base);	/* no socket yet */
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	ck_assert_int_eq(rundir_create(base, 107, &dir, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0700);
	ck_assert_int_eq(strncmp(dir, base, strlen(base)), 0);
	ck_assert(!exists("skillbox-dead01"));
	ck_assert(exists("skillbox-live01"));
	ck_assert(exists("skillbox-open01"));
	ck_assert(exists("skillbox-longer01"));
	ck_assert(exists("skillbox-empty1"));
	close(live);
	rundir_remove(dir);
	ck_assert_int_eq(access(dir, F_OK), -1);
	free(dir);
}
END_TEST

/* A configured place that cannot be used is an error, not a fallback. */
START_TEST(test_rundir_configured)
{
	char	*dir = NULL, *cause = NULL, *p;

	xasprintf(&p, "%s/missing", base);
	ck_assert_int_eq(rundir_create(p, 107, &dir, &cause), -1);
	ck_assert_ptr_null(dir);
	ck_assert_ptr_nonnull(strstr(cause, "missing"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(rundir_create(base, strlen(base) + 10, &dir,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	free(p);
}
END_TEST

Suite *
rundir_suite(void)
{
	Suite	*s = suite_create("rundir");
	TCase	*tc = tcase_create("rundir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rundir_sweep);
	tcase_add_test(tc, test_rundir_configured);
	suite_add_tcase(s, tc);
	return (s);
}
