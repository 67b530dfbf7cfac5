/*
 * Settings: the file's syntax (quotes, comments, units), every kind of
 * error with its file:line, precedence (defaults < file < environment),
 * secrets from files, the environment and systemd credentials, the
 * printed form, and a reload keeping what needs a restart.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

static const char *vars[] = {
	"SKILLBOX_STATE_DIR", "SKILLBOX_RUNTIME_DIR", "SKILLBOX_SKILLS_DIR",
	"SKILLBOX_WORKER", "SKILLBOX_TEMPLATE", "SKILLBOX_MAX_JOBS",
	"SKILLBOX_QUEUE_MAX", "SKILLBOX_ALLOWED_ROOTS",
	"SKILLBOX_IDLE_TIMEOUT_S", "SKILLBOX_STOP_GRACE_MS",
	"SKILLBOX_SHUTDOWN_GRACE_MS", "E2B_API_URL", "E2B_DOMAIN",
	"E2B_SANDBOX_URL", "ANTHROPIC_BASE_URL", "E2B_API_KEY",
	"ANTHROPIC_API_KEY", "SKILLBOX_GIT_TOKEN", "SKILLBOX_LOG_LEVEL",
	"SKILLBOX_LISTEN", "SKILLBOX_TOKEN_FILE", "SKILLBOX_ALLOWED_HOSTS",
	"SKILLBOX_ALLOWED_ORIGINS", "SKILLBOX_HTTP_BODY_MAX",
	"SKILLBOX_HTTP_TIMEOUT_S", "SKILLBOX_MAX_SESSIONS",
	"CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "XDG_STATE_HOME",
};

static char	*dir;

/* A clean environment and a scratch directory for each test. */
static void
setup(void)
{
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", "/home/check", 1);
	dir = test_tmpdir();
}

static void
teardown(void)
{
	test_rmdir(dir);
	config_fini();
}

/* Write text to a file in the scratch directory; returns its path. */
static char *
put(const char *name, const char *text)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

/* Load text as a config file; returns config_load's result. */
static int
load(struct sv_config *cfg, const char *text, char **cause)
{
	char	*path = put("skillbox.conf", text);
	int	 r;

	*cause = NULL;
	r = config_load(cfg, path, 1, cause);
	free(path);
	return (r);
}

/* Load a file whose only setting key names a file holding content. */
static int
load_secret(struct sv_config *cfg, const char *key, const char *content,
    char **cause)
{
	char	*path, *text;
	int	 r;

	path = put("secret.key", content);
	xasprintf(&text, "%s %s\n", key, path);
	r = load(cfg, text, cause);
	free(text);
	free(path);
	return (r);
}

/* The one error a bad file gives, without its "path:" prefix. */
static char *
error_of(const char *text)
{
	struct sv_config	 cfg;
	char			*cause, *p, *msg;

	ck_assert_msg(load(&cfg, text, &cause) == -1, "accepted: %s", text);
	ck_assert_ptr_null(strchr(cause, '\n'));
	p = strstr(cause, "skillbox.conf:");
	ck_assert_ptr_nonnull(p);
	msg = xstrdup(p + strlen("skillbox.conf:"));
	free(cause);
	config_clear(&cfg);
	return (msg);
}

#define ck_error(text, want) do {				\
	char	*e_ = error_of(text);				\
	ck_assert_str_eq(e_, want);				\
	free(e_);						\
} while (0)

START_TEST(test_defaults)
{
	struct sv_config	 cfg;
	char			*cause = NULL;

	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_state_dir, "/home/check/.local/state/skillbox");
	ck_assert_str_eq(cfg.c_template, "claude");
	ck_assert_int_eq(cfg.c_max_jobs, 4);
	ck_assert_int_eq(cfg.c_queue_max, 256);
	ck_assert_int_eq(cfg.c_idle_timeout_s, 300);
	ck_assert_int_eq(cfg.c_stop_grace_ms, 10000);
	ck_assert_int_eq(cfg.c_shutdown_grace_ms, 30000);
	ck_assert_int_eq(cfg.c_http_body_max, 4 * 1024 * 1024);
	ck_assert_int_eq(cfg.c_http_timeout_s, 30);
	ck_assert_int_eq(cfg.c_max_sessions, 1024);
	ck_assert_int_eq(cfg.c_log_level, LOG_LEVEL_INFO);
	ck_assert_ptr_null(cfg.c_e2b_api_key);
	ck_assert_ptr_null(cfg.c_listen);
	ck_assert_ptr_nonnull(cfg.c_host);
	config_clear(&cfg);

	/* A missing file is fine unless it was asked for. */
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/x.conf", 0, &cause),
	    0);
	config_clear(&cfg);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/x.conf", 1, &cause),
	    -1);
	ck_assert_str_eq(cause, "/nonexistent/x.conf: No such file or "
	    "directory");
	free(cause);

	/* systemd's StateDirectory comes first, then XDG_STATE_HOME. */
	setenv("XDG_STATE_HOME", "/xdg", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_state_dir, "/xdg/skillbox");
	config_clear(&cfg);
	setenv("STATE_DIRECTORY", "/var/lib/skillboxd:/var/lib/other", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_state_dir, "/var/lib/skillboxd");
	config_clear(&cfg);
	unsetenv("HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("STATE_DIRECTORY");
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "no state directory"));
	free(cause);
}
END_TEST

/* Started in /, the allowed roots are none; elsewhere, that directory. */
START_TEST(test_allowed_roots_default)
{
	struct sv_config	 cfg;
	char			*cause = NULL, cwd[4096];

	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_allowed_roots, cwd);
	config_clear(&cfg);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_allowed_roots, "");
	config_clear(&cfg);
	ck_assert_int_eq(load(&cfg, "allowed-roots /\n", &cause), 0);
	ck_assert_str_eq(cfg.c_allowed_roots, "/");
	config_clear(&cfg);
}
END_TEST

START_TEST(test_file_values)
{
	struct sv_config	 cfg;
	char			*cause;

	ck_assert_int_eq(load(&cfg,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "state-dir /var/lib/sb   # after a value\n"
	    "runtime-dir \"/run/sb\"\n"
	    "template 'tmpl \"x\" # not a comment'\n"
	    "allowed-roots \"/a b:/c\\\\d\\\"e\"\n"
	    "allowed-hosts a#b\n"
	    "max-jobs 16\r\n"
	    "idle-timeout 2m\n"
	    "stop-grace 1500ms\n"
	    "shutdown-grace 1m\n"
	    "http-body-max 64k\n"
	    "http-timeout 1h\n"
	    "log-level trace\n"
	    "e2b-api-url http://127.0.0.1:3000\n"
	    "listen 127.0.0.1:8765\n", &cause), 0);
	ck_assert_str_eq(cfg.c_state_dir, "/var/lib/sb");
	ck_assert_str_eq(cfg.c_runtime_dir, "/run/sb");
	ck_assert_str_eq(cfg.c_template, "tmpl \"x\" # not a comment");
	ck_assert_str_eq(cfg.c_allowed_roots, "/a b:/c\\d\"e");
	ck_assert_str_eq(cfg.c_allowed_hosts, "a#b");
	ck_assert_int_eq(cfg.c_max_jobs, 16);
	ck_assert_int_eq(cfg.c_idle_timeout_s, 120);
	ck_assert_int_eq(cfg.c_stop_grace_ms, 1500);
	ck_assert_int_eq(cfg.c_shutdown_grace_ms, 60000);
	ck_assert_int_eq(cfg.c_http_body_max, 65536);
	ck_assert_int_eq(cfg.c_http_timeout_s, 3600);
	ck_assert_int_eq(cfg.c_log_level, LOG_LEVEL_TRACE);
	ck_assert_str_eq(cfg.c_e2b_api_url, "http://127.0.0.1:3000");
	ck_assert_str_eq(cfg.c_listen, "127.0.0.1:8765");
	config_clear(&cfg);

	/* An empty list is a value; the file has no trailing newline. */
	ck_assert_int_eq(load(&cfg, "allowed-roots \"\"", &cause), 0);
	ck_assert_str_eq(cfg.c_allowed_roots, "");
	config_clear(&cfg);
}
END_TEST

START_TEST(test_file_errors)
{
	ck_error("nope 1\n", "1: unknown key 'nope'");
	ck_error("\n\nmax-jobs\n", "3: max-jobs: missing value");
	ck_error("listen a b\n", "1: listen: more than one value (quote a "
	    "value that has spaces)");
	ck_error("max-jobs 2\nmax-jobs 3\n", "2: max-jobs: already set on "
	    "line 1");
	ck_error("max-jobs 0\n", "1: max-jobs: '0' is not a number from 1 "
	    "to 1024");
	ck_error("max-jobs 4k\n", "1: max-jobs: '4k' is not a number from 1 "
	    "to 1024");
	ck_error("max-jobs 99999999999999999999\n", "1: max-jobs: "
	    "'99999999999999999999' is not a number from 1 to 1024");
	ck_error("idle-timeout 9s\n", "1: idle-timeout: '9s' is not a "
	    "duration from 10s to 24h");
	ck_error("idle-timeout 100ms\n", "1: idle-timeout: '100ms' is not a "
	    "duration from 10s to 24h");
	ck_error("stop-grace 5000000000000000h\n", "1: stop-grace: "
	    "'5000000000000000h' is not a duration from 100ms to 10m");
	ck_error("http-body-max 1G\n", "1: http-body-max: '1G' is not a size "
	    "from 64k to 64M");
	ck_error("queue-max -1\n", "1: queue-max: '-1' is not a number from 0 "
	    "to 100000");
	ck_error("log-level loud\n", "1: log-level: 'loud' is not warning, "
	    "info, debug or trace");
	ck_error("log-level 4\n", "1: log-level: '4' is not warning, "
	    "info, debug or trace");
	ck_error("state-dir var/lib\n", "1: state-dir: 'var/lib' is not an "
	    "absolute path");
	ck_error("template \"\"\n", "1: template: empty value");
	ck_error("e2b-api-url ftp://x\n", "1: e2b-api-url: 'ftp://x' is not "
	    "an http:// or https:// URL");
	ck_error("template \"abc\n", "1: unterminated quote");
	ck_error("template 'abc\n", "1: unterminated quote");
	ck_error("template \"a\\nb\"\n", "1: unknown escape in quotes (only "
	    "\\\" and \\\\)");
	ck_error("template \"a\"b\n", "1: text after a closing quote");
	ck_error("e2b-api-key-file key.txt\n", "1: e2b-api-key-file: "
	    "'key.txt' is not an absolute path");
}
END_TEST

/* Every error is reported, each on its own line, up to a limit. */
START_TEST(test_many_errors)
{
	struct sv_config	 cfg;
	struct buf		 b;
	FILE			*f;
	char			*cause, *p, *path;
	int			 i, lines = 1;

	ck_assert_int_eq(load(&cfg, "a 1\nb 2\nmax-jobs x\n", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "skillbox.conf:1: unknown key "
	    "'a'\n"));
	ck_assert_ptr_nonnull(strstr(cause, "skillbox.conf:2: unknown key "
	    "'b'\n"));
	ck_assert_ptr_nonnull(strstr(cause, "skillbox.conf:3: max-jobs: 'x'"));
	free(cause);
	config_clear(&cfg);

	buf_init(&b, 1 << 20);
	for (i = 0; i < 100; i++)
		buf_printf(&b, "unknown%d x\n", i);
	ck_assert_int_eq(load(&cfg, buf_str(&b), &cause), -1);
	for (p = cause; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, 21);
	ck_assert_str_eq(cause + strlen(cause) - 15, "too many errors");
	free(cause);
	buf_free(&b);

	/* A line too long, and a NUL byte. */
	buf_reset(&b);
	buf_addstr(&b, "template ");
	for (i = 0; i < 5000; i++)
		buf_addc(&b, 'x');
	buf_addstr(&b, "\nmax-jobs 2\n");
	ck_assert_int_eq(load(&cfg, buf_str(&b), &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, ":1: line too long"));
	free(cause);
	buf_free(&b);
	path = put("nul.conf", "");
	f = fopen(path, "w");
	fwrite("max-jobs 2\ntemplate a\0b\n", 1, 24, f);
	fclose(f);
	ck_assert_int_eq(config_load(&cfg, path, 1, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "nul.conf:2: NUL byte in line"));
	free(cause);
	free(path);
}
END_TEST

/* The environment goes over the file, and its errors name the variable. */
START_TEST(test_precedence)
{
	struct sv_config	 cfg;
	char			*cause = NULL;

	setenv("SKILLBOX_MAX_JOBS", "3", 1);
	setenv("SKILLBOX_TEMPLATE", "", 1);	/* empty: not set */
	setenv("SKILLBOX_LOG_LEVEL", "debug", 1);
	setenv("SKILLBOX_IDLE_TIMEOUT_S", "45", 1);
	ck_assert_int_eq(load(&cfg, "max-jobs 8\ntemplate base\n"
	    "log-level warning\n", &cause), 0);
	ck_assert_int_eq(cfg.c_max_jobs, 3);
	ck_assert_str_eq(cfg.c_template, "base");
	ck_assert_int_eq(cfg.c_log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(cfg.c_idle_timeout_s, 45);
	config_clear(&cfg);

	setenv("SKILLBOX_MAX_JOBS", "lots", 1);
	ck_assert_int_eq(load(&cfg, "max-jobs 8\n", &cause), -1);
	ck_assert_str_eq(cause, "SKILLBOX_MAX_JOBS: 'lots' is not a number "
	    "from 1 to 1024");
	free(cause);
	setenv("SKILLBOX_MAX_JOBS", "4x", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), -1);
	free(cause);

	/* Relative paths are fine from the environment, not the file. */
	unsetenv("SKILLBOX_MAX_JOBS");
	setenv("SKILLBOX_STATE_DIR", "state", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_state_dir, "state");
	config_clear(&cfg);
}
END_TEST

/* Secrets: from a named file, the environment (then kept), credentials. */
START_TEST(test_secrets)
{
	struct sv_config	 cfg;
	char			*cause = NULL, *r;

	ck_assert_int_eq(load_secret(&cfg, "e2b-api-key-file",
	    "e2b_0123456789abcdef\n\n", &cause), 0);
	ck_assert_str_eq(cfg.c_e2b_api_key, "e2b_0123456789abcdef");
	r = redact("key=e2b_0123456789abcdef");
	ck_assert_str_eq(r, "key=" REDACT_MARK);
	free(r);
	config_clear(&cfg);

	/* Never echoed in an error; an empty file or two lines are errors. */
	ck_assert_int_eq(load_secret(&cfg, "anthropic-api-key-file",
	    "line-one-secret\nline-two\n", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not one line"));
	ck_assert_ptr_null(strstr(cause, "line-one-secret"));
	free(cause);
	ck_assert_int_eq(load_secret(&cfg, "git-token-file", "\n", &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "secret.key: empty"));
	free(cause);

	/* The environment: taken out of it, and still there on a reload. */
	setenv("ANTHROPIC_API_KEY", "sk-ant-secret-abcdef", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_anthropic_api_key, "sk-ant-secret-abcdef");
	ck_assert_ptr_null(getenv("ANTHROPIC_API_KEY"));
	config_clear(&cfg);
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), 0);
	ck_assert_str_eq(cfg.c_anthropic_api_key, "sk-ant-secret-abcdef");
	config_clear(&cfg);
}
END_TEST

/* systemd credentials fill only what the file and environment left. */
START_TEST(test_credentials)
{
	struct sv_config	 cfg;
	char			*cause = NULL, *creds;

	xasprintf(&creds, "%s/creds", dir);
	ck_assert_int_eq(mkdir(creds, 0700), 0);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	free(put("creds/e2b-api-key", "e2b_from_credential_1\n"));
	free(put("creds/git-token", "ghp_from_credential_2"));
	free(put("creds/skillbox-token", "bearer-token-value"));
	ck_assert_int_eq(load_secret(&cfg, "git-token-file",
	    "ghp_from_the_file_333\n", &cause), 0);
	ck_assert_str_eq(cfg.c_e2b_api_key, "e2b_from_credential_1");
	ck_assert_str_eq(cfg.c_git_token, "ghp_from_the_file_333");
	ck_assert_ptr_null(cfg.c_anthropic_api_key);
	ck_assert_ptr_nonnull(strstr(cfg.c_token_file,
	    "/creds/skillbox-token"));
	config_clear(&cfg);

	free(put("creds/anthropic-api-key", ""));
	ck_assert_int_eq(config_load(&cfg, NULL, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "credential anthropic-api-key: "));
	free(cause);
	free(creds);
}
END_TEST

/* The printed settings read back to the same settings. */
START_TEST(test_print)
{
	struct sv_config	 cfg;
	struct buf		 one, two;
	char			*cause, *key, *text;

	key = put("e2b.key", "e2b_0123456789abcdef\n");
	xasprintf(&text, "template \"a \\\"b\\\" #c\"\nallowed-roots \"\"\n"
	    "stop-grace 1500ms\nshutdown-grace 0\nhttp-body-max 100000\n"
	    "e2b-api-key-file %s\nlisten [::1]:80\n", key);
	ck_assert_int_eq(load(&cfg, text, &cause), 0);
	buf_init(&one, 1 << 20);
	config_print(&cfg, &one);
	config_clear(&cfg);
	ck_assert_ptr_nonnull(strstr(buf_str(&one),
	    "template \"a \\\"b\\\" #c\"\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "allowed-roots \"\"\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "stop-grace 1500ms\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "shutdown-grace 0ms\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "idle-timeout 5m\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "http-body-max 100000\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "# e2b-api-key: set\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "# git-token: unset\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&one), "# e2b-domain: unset\n"));
	ck_assert_ptr_null(strstr(buf_str(&one), "0123456789"));

	ck_assert_int_eq(load(&cfg, buf_str(&one), &cause), 0);
	buf_init(&two, 1 << 20);
	config_print(&cfg, &two);
	config_clear(&cfg);
	/* Only the secret is gone: the printed form never holds it. */
	ck_assert_ptr_nonnull(strstr(buf_str(&two), "# e2b-api-key: unset\n"));
	ck_assert_int_eq(buf_len(&one) + 2, buf_len(&two));
	buf_free(&one);
	buf_free(&two);
	free(text);
	free(key);
}
END_TEST

/* A reload applies what it can and keeps what needs a restart. */
START_TEST(test_swap)
{
	struct sv_config	 live, fresh;
	char			*cause;

	ck_assert_int_eq(load(&live, "listen 127.0.0.1:1\nmax-jobs 2\n"
	    "queue-max 5\nstate-dir /a\n", &cause), 0);
	ck_assert_int_eq(load(&fresh, "listen 127.0.0.1:2\nmax-jobs 9\n"
	    "queue-max 6\nstate-dir /b\ntemplate t2\nlog-level debug\n",
	    &cause), 0);
	config_swap(&live, &fresh);
	ck_assert_str_eq(live.c_listen, "127.0.0.1:1");
	ck_assert_int_eq(live.c_queue_max, 5);
	ck_assert_str_eq(live.c_state_dir, "/a");
	ck_assert_int_eq(live.c_max_jobs, 9);
	ck_assert_str_eq(live.c_template, "t2");
	ck_assert_int_eq(live.c_log_level, LOG_LEVEL_DEBUG);
	ck_assert_ptr_null(fresh.c_listen);
	ck_assert_ptr_null(fresh.c_template);
	config_clear(&live);
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("file");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_allowed_roots_default);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_secrets);
	tcase_add_test(tc, test_credentials);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_swap);
	suite_add_tcase(s, tc);
	return (s);
}
