/*
 * The HTTP host's guard (Host and Origin allow-lists, the bearer token,
 * Accept) and socket activation's environment.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define GT_TOKEN	"s3cret-token-0123456789"

static char			*gdir;
static struct sv_config		 gcfg;
static struct http_guard	 g;

/* A token file holding text; its path is set in the settings. */
static void
gt_token_file(const char *text)
{
	FILE	*f;
	char	*path;

	xasprintf(&path, "%s/token", gdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	free(gcfg.c_token_file);
	gcfg.c_token_file = path;
}

static void
gt_setup(void)
{
	gdir = test_tmpdir();
	sv_test_config(&gcfg, gdir);
	memset(&g, 0, sizeof(g));
}

static void
gt_teardown(void)
{
	guard_clear(&g);
	config_clear(&gcfg);
	free(gcfg.c_state_dir);
	free(gcfg.c_worker_path);
	free(gcfg.c_skills_dir);
	free(gcfg.c_allowed_roots);
	test_rmdir(gdir);
}

START_TEST(test_guard_token)
{
	char	*cause = NULL;

	gt_token_file(GT_TOKEN "\n");
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, "127.0.0.1", &cause), 0);
	ck_assert_int_eq(guard_token(&g, "Bearer " GT_TOKEN), 0);
	ck_assert_int_eq(guard_token(&g, "bearer  " GT_TOKEN " "), 0);
	ck_assert_int_eq(guard_token(&g, NULL), -1);
	ck_assert_int_eq(guard_token(&g, "Bearer " GT_TOKEN "x"), -2);
	ck_assert_int_eq(guard_token(&g, "Bearer s3cret"), -2);
	ck_assert_int_eq(guard_token(&g, "Basic " GT_TOKEN), -2);
	ck_assert_int_eq(guard_token(&g, "Bearer "), -2);
	ck_assert_int_eq(guard_token(&g, ""), -2);
}
END_TEST

START_TEST(test_guard_bad_tokens)
{
	char	*cause = NULL;

	/* No file and no credential: refused unless --no-auth. */
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, "127.0.0.1", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "no bearer token"));
	free(cause);
	guard_clear(&g);
	ck_assert_int_eq(guard_init(&g, &gcfg, 1, "127.0.0.1", &cause), 0);
	ck_assert_int_eq(guard_token(&g, NULL), 0);
	guard_clear(&g);
	/* Too short, two words, missing. */
	gt_token_file("short\n");
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, NULL, &cause), -1);
	free(cause);
	guard_clear(&g);
	gt_token_file("two words in a token file\n");
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, NULL, &cause), -1);
	free(cause);
	guard_clear(&g);
	free(gcfg.c_token_file);
	gcfg.c_token_file = xstrdup("/nonexistent/token");
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, NULL, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_guard_credential)
{
	char	*cause = NULL, *path;
	FILE	*f;

	/* The systemd credential when no file is set. */
	xasprintf(&path, "%s/skillbox-token", gdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(GT_TOKEN, f);
	fclose(f);
	free(path);
	setenv("CREDENTIALS_DIRECTORY", gdir, 1);
	ck_assert_int_eq(guard_init(&g, &gcfg, 0, NULL, &cause), 0);
	ck_assert_int_eq(guard_token(&g, "Bearer " GT_TOKEN), 0);
	unsetenv("CREDENTIALS_DIRECTORY");
}
END_TEST

START_TEST(test_guard_host)
{
	char	*cause = NULL;

	ck_assert_int_eq(guard_init(&g, &gcfg, 1, "10.1.2.3", &cause), 0);
	ck_assert_int_eq(guard_host(&g, "localhost"), 0);
	ck_assert_int_eq(guard_host(&g, "LOCALHOST:8765"), 0);
	ck_assert_int_eq(guard_host(&g, "127.0.0.1:1"), 0);
	ck_assert_int_eq(guard_host(&g, "[::1]:8765"), 0);
	ck_assert_int_eq(guard_host(&g, "10.1.2.3:8765"), 0);
	ck_assert_int_eq(guard_host(&g, "evil.example.com"), -1);
	ck_assert_int_eq(guard_host(&g, "localhost.evil.com"), -1);
	ck_assert_int_eq(guard_host(&g, "[::1"), -1);
	ck_assert_int_eq(guard_host(&g, ""), -1);
	ck_assert_int_eq(guard_host(&g, NULL), -1);
	guard_clear(&g);
	/* A configured list replaces the defaults; ports must match. */
	gcfg.c_allowed_hosts = xstrdup("mcp.example.org:443, ci.example.org");
	ck_assert_int_eq(guard_init(&g, &gcfg, 1, NULL, &cause), 0);
	ck_assert_int_eq(guard_host(&g, "mcp.example.org:443"), 0);
	ck_assert_int_eq(guard_host(&g, "mcp.example.org:80"), -1);
	ck_assert_int_eq(guard_host(&g, "mcp.example.org"), -1);
	ck_assert_int_eq(guard_host(&g, "ci.example.org:9"), 0);
	ck_assert_int_eq(guard_host(&g, "localhost"), -1);
}
END_TEST

START_TEST(test_guard_origin)
{
	char	*cause = NULL;

	ck_assert_int_eq(guard_init(&g, &gcfg, 1, NULL, &cause), 0);
	ck_assert_int_eq(guard_origin(&g, NULL), 0);
	ck_assert_int_eq(guard_origin(&g, "http://localhost:3000"), 0);
	ck_assert_int_eq(guard_origin(&g, "https://127.0.0.1"), 0);
	ck_assert_int_eq(guard_origin(&g, "http://[::1]:8080"), 0);
	ck_assert_int_eq(guard_origin(&g, "http://evil.example.com"), -1);
	ck_assert_int_eq(guard_origin(&g, "null"), -1);
	ck_assert_int_eq(guard_origin(&g, "file://localhost"), -1);
	ck_assert_int_eq(guard_origin(&g, "http://localhost/path"), -1);
	guard_clear(&g);
	gcfg.c_allowed_origins = xstrdup("https://app.example.org");
	ck_assert_int_eq(guard_init(&g, &gcfg, 1, NULL, &cause), 0);
	ck_assert_int_eq(guard_origin(&g, "https://APP.example.org"), 0);
	ck_assert_int_eq(guard_origin(&g, "http://localhost"), -1);
}
END_TEST

START_TEST(test_guard_accepts)
{
	ck_assert(guard_accepts("application/json, text/event-stream",
	    "text/event-stream"));
	ck_assert(guard_accepts("text/event-stream;q=0.9,application/json",
	    "application/json"));
	ck_assert(guard_accepts("*/*", "application/json"));
	ck_assert(guard_accepts("application/*", "application/json"));
	ck_assert(!guard_accepts("application/*", "text/event-stream"));
	ck_assert(!guard_accepts("application/jsonx", "application/json"));
	ck_assert(!guard_accepts("text/html", "application/json"));
	ck_assert(!guard_accepts(NULL, "application/json"));
	ck_assert(!guard_accepts("", "application/json"));
	ck_assert(guard_loopback("127.9.9.9"));
	ck_assert(!guard_loopback("128.0.0.1"));
}
END_TEST

START_TEST(test_sd_listen)
{
	char	*cause = NULL, pid[32];
	int	 first, fd;

	unsetenv("LISTEN_PID");
	ck_assert_int_eq(sd_listen_fds(&first, &cause), 0);
	/* Another process's sockets are not ours. */
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(sd_listen_fds(&first, &cause), 0);
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "nonsense", 1);
	ck_assert_int_eq(sd_listen_fds(&first, &cause), -1);
	free(cause);
	/* One socket at descriptor 3, made close-on-exec. */
	fd = open("/dev/null", O_RDONLY);
	if (fd != 3)
		ck_assert_int_eq(dup2(fd, 3), 3);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(sd_listen_fds(&first, &cause), 1);
	ck_assert_int_eq(first, 3);
	ck_assert(fcntl(3, F_GETFD) & FD_CLOEXEC);
	ck_assert_ptr_null(getenv("LISTEN_PID"));
}
END_TEST

Suite *
http_guard_suite(void)
{
	Suite	*s = suite_create("http_guard");
	TCase	*tc = tcase_create("guard");

	tcase_add_checked_fixture(tc, gt_setup, gt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_guard_token);
	tcase_add_test(tc, test_guard_bad_tokens);
	tcase_add_test(tc, test_guard_credential);
	tcase_add_test(tc, test_guard_host);
	tcase_add_test(tc, test_guard_origin);
	tcase_add_test(tc, test_guard_accepts);
	tcase_add_test(tc, test_sd_listen);
	suite_add_tcase(s, tc);
	return (s);
}
