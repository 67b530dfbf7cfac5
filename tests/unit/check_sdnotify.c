/*
 * The notify protocol against a socket bound here, as systemd would: a
 * path and an abstract name, READY/RELOADING/STOPPING, the watchdog
 * pings from the event loop, and nothing at all without NOTIFY_SOCKET.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

static struct event_base	*base;
static int			 rfd = -1;
static char			*dir;
static char			 got[512];

static void
setup(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	base = event_base_new();
	dir = test_tmpdir();
}

static void
teardown(void)
{
	sdnotify_fini();
	if (rfd != -1)
		close(rfd);
	event_base_free(base);
	test_rmdir(dir);
}

static char *
status(void)
{
	return (xstrdup("2 running, 1 queued"));
}

/* Bind the receiving end at name ("@x" is abstract) and point at it. */
static void
listen_at(const char *name)
{
	struct sockaddr_un	sun;
	socklen_t		len;

	rfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(rfd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(name), sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	ck_assert_int_eq(bind(rfd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
}

/* The next datagram, waited for with the event loop turning. */
static void
got_cb(int fd, short what, void *arg)
{
	ssize_t	n;

	memset(got, 0, sizeof(got));
	if (what & EV_READ) {
		n = recv(fd, got, sizeof(got) - 1, 0);
		ck_assert_int_gt(n, 0);
	}
	event_base_loopbreak(base);
}

static const char *
next(void)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*ev;

	ev = event_new(base, rfd, EV_READ | EV_TIMEOUT, got_cb, NULL);
	event_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
	return (got);
}

START_TEST(test_path)
{
	char	*path;

	xasprintf(&path, "%s/notify", dir);
	listen_at(path);
	ck_assert_int_eq(sdnotify_init(base, status), 1);
	sdnotify_ready();
	ck_assert_str_eq(next(), "READY=1\nSTATUS=2 running, 1 queued");
	sdnotify_reloading();
	ck_assert_int_eq(strncmp(next(), "RELOADING=1\nMONOTONIC_USEC=", 27),
	    0);
	ck_assert_uint_gt(strtoull(got + 27, NULL, 10), 0);
	sdnotify_stopping();
	ck_assert_str_eq(next(), "STOPPING=1\nSTATUS=shutting down");
	free(path);
}
END_TEST

START_TEST(test_abstract)
{
	char	*name;

	xasprintf(&name, "@skillbox-check-%ld", (long)getpid());
	listen_at(name);
	ck_assert_int_eq(sdnotify_init(base, NULL), 1);
	sdnotify_ready();
	ck_assert_str_eq(next(), "READY=1");
	sdnotify_send("STATUS=%s", "hello");
	ck_assert_str_eq(next(), "STATUS=hello");
	free(name);
}
END_TEST

/* Pings at half the interval, from the loop; the status when it changes. */
START_TEST(test_watchdog)
{
	char	*path, pid[32];

	xasprintf(&path, "%s/notify", dir);
	listen_at(path);
	setenv("WATCHDOG_USEC", "20000", 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(sdnotify_init(base, status), 1);
	ck_assert_str_eq(next(), "WATCHDOG=1\nSTATUS=2 running, 1 queued");
	ck_assert_str_eq(next(), "WATCHDOG=1");
	ck_assert_str_eq(next(), "WATCHDOG=1");
	free(path);
}
END_TEST

/* A watchdog meant for another process is not ours to feed. */
START_TEST(test_watchdog_other)
{
	char	*path;

	xasprintf(&path, "%s/notify", dir);
	listen_at(path);
	setenv("WATCHDOG_USEC", "20000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	ck_assert_int_eq(sdnotify_init(base, status), 1);
	ck_assert_str_eq(next(), "STATUS=2 running, 1 queued");
	free(path);
}
END_TEST

START_TEST(test_off)
{
	ck_assert_int_eq(sdnotify_init(base, status), 0);
	sdnotify_ready();
	sdnotify_stopping();
	sdnotify_fini();
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(sdnotify_init(base, status), 0);
	sdnotify_ready();
	setenv("NOTIFY_SOCKET", "@", 1);
	ck_assert_int_eq(sdnotify_init(base, status), 0);
	/* Nobody listening: sending fails quietly. */
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	ck_assert_int_eq(sdnotify_init(base, status), 1);
	sdnotify_ready();
}
END_TEST

Suite *
sdnotify_suite(void)
{
	Suite	*s = suite_create("sdnotify");
	TCase	*tc = tcase_create("notify");

	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_abstract);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_watchdog_other);
	tcase_add_test(tc, test_off);
	suite_add_tcase(s, tc);
	return (s);
}
