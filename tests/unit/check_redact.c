/* Redaction of registered secrets, key-shaped tokens and URL userinfo. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "check_common.h"

static void
expect(const char *in, const char *want)
{
	char	*out;

	out = redact(in);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(redact_needed(in, strlen(in)), strcmp(in, want) != 0);
	free(out);
}

START_TEST(test_redact_registered)
{
	ck_assert_int_eq(redact_add("hunter2-canary"), 0);
	ck_assert_int_eq(redact_add("hunter2-canary"), 0);
	expect("key=hunter2-canary;", "key=[REDACTED];");
	expect("hunter2-canaryhunter2-canary", "[REDACTED][REDACTED]");
	expect("nothing here", "nothing here");
	expect("", "");
	redact_clear();
	expect("key=hunter2-canary;", "key=hunter2-canary;");
}
END_TEST

START_TEST(test_redact_short_and_full)
{
	char	name[32];
	int	i;

	errno = 0;
	ck_assert_int_eq(redact_add("abc"), -1);
	ck_assert_int_eq(errno, EINVAL);
	for (i = 0; i < REDACT_MAX; i++) {
		snprintf(name, sizeof(name), "secret-%04d", i);
		ck_assert_int_eq(redact_add(name), 0);
	}
	ck_assert_int_eq(redact_add("one-too-many"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	expect("secret-0031 and secret-0000", "[REDACTED] and [REDACTED]");
	redact_clear();
}
END_TEST

START_TEST(test_redact_patterns)
{
	expect("ANTHROPIC_API_KEY=sk-ant-api03-AbCdEf0123456789",
	    "ANTHROPIC_API_KEY=[REDACTED]");
	expect("\"e2b_0123456789abcdef\"", "\"[REDACTED]\"");
	expect("token ghp_abcdefghijklmnop end", "token [REDACTED] end");
	/* Too short to be a key, or inside a word: left alone. */
	expect("e2b_local", "e2b_local");
	expect("my-e2b_0123456789abcdef", "my-e2b_0123456789abcdef");
}
END_TEST

START_TEST(test_redact_urls)
{
	expect("https://x-access-token:abc@github.com/o/r.git",
	    "https://[REDACTED]@github.com/o/r.git");
	expect("clone https://0123456789abcdefghij@host/r",
	    "clone https://[REDACTED]@host/r");
	expect("ssh://git@github.com/o/r", "ssh://git@github.com/o/r");
	expect("https://github.com/o/r?x=a@b", "https://github.com/o/r?x=a@b");
	expect("see http://host:8080/path", "see http://host:8080/path");
}
END_TEST

START_TEST(test_redact_binary)
{
	char	*out;
	size_t	 len;

	ck_assert_int_eq(redact_add("canary-value"), 0);
	out = redact_mem("a\0canary-value\0b", 16, &len);
	ck_assert_uint_eq(len, 14);
	ck_assert_int_eq(memcmp(out, "a\0[REDACTED]\0b", 14), 0);
	free(out);
	redact_clear();
}
END_TEST

Suite *
redact_suite(void)
{
	Suite	*s = suite_create("redact");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_redact_registered);
	tcase_add_test(tc, test_redact_short_and_full);
	tcase_add_test(tc, test_redact_patterns);
	tcase_add_test(tc, test_redact_urls);
	tcase_add_test(tc, test_redact_binary);
	suite_add_tcase(s, tc);
	return (s);
}
