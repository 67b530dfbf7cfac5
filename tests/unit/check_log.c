/* Logging: levels, the redaction hook, the fatal exits. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "redact.h"
#include "check_common.h"

/* Point stderr at a temp file and return it, to read what was logged. */
static FILE *
capture_stderr(void)
{
	FILE	*f;

	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ne(dup2(fileno(f), STDERR_FILENO), -1);
	return (f);
}

static char *
captured(FILE *f)
{
	static char	text[16384];
	size_t		n;

	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	return (text);
}

START_TEST(test_log_levels)
{
	FILE	*f = capture_stderr();
	char	*t;

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("test");
	log_info("shown %d", 1);
	log_debug("hidden");
	log_setlevel(LOG_LEVEL_DEBUG);
	log_debug("now shown");
	log_trace("still hidden");
	errno = ENOENT;
	log_warn("open %s", "x");
	log_warnx("plain");
	t = captured(f);
	ck_assert_str_eq(t, "test: shown 1\ntest: now shown\n"
	    "test: open x: No such file or directory\ntest: plain\n");
}
END_TEST

START_TEST(test_log_journal_prefix)
{
	FILE	*f = capture_stderr();

	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("supervisor");
	log_info("ready");
	log_warnx("bad");
	ck_assert_str_eq(captured(f),
	    "<6>supervisor: ready\n<3>supervisor: bad\n");
}
END_TEST

START_TEST(test_log_redacts)
{
	FILE	*f = capture_stderr();

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("w");
	log_setredact(redact);
	ck_assert_int_eq(redact_add("canary-secret-1"), 0);
	log_info("key is canary-secret-1, url https://u:p@h/x");
	ck_assert_str_eq(captured(f),
	    "w: key is [REDACTED], url https://[REDACTED]@h/x\n");
}
END_TEST

START_TEST(test_log_long_line)
{
	FILE	*f = capture_stderr();
	char	*big, *t;

	unsetenv("JOURNAL_STREAM");
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("w");
	big = malloc(20000);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	log_info("%s", big);
	t = captured(f);
	ck_assert_uint_lt(strlen(t), 8300);
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	free(big);
}
END_TEST

START_TEST(test_log_fatalx_exits)
{
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	fatalx("invariant broken");
}
END_TEST

Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_log_journal_prefix);
	tcase_add_test(tc, test_log_redacts);
	tcase_add_test(tc, test_log_long_line);
	tcase_add_exit_test(tc, test_log_fatalx_exits, EX_SOFTWARE);
	suite_add_tcase(s, tc);
	return (s);
}
