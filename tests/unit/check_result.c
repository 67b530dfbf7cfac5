/* result.json validation: every error names its field. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"
#include "result.h"
#include "check_worker.h"

static struct result_file *
parse_ok(const char *text)
{
	struct result_file	*rf;
	char			*cause = NULL;

	ck_assert_msg(result_parse(text, strlen(text), &rf, &cause) == 0,
	    "%s", cause);
	ck_assert_ptr_null(cause);
	return (rf);
}

static void
parse_fail(const char *text, const char *want)
{
	struct result_file	*rf;
	char			*cause = NULL;

	ck_assert_int_eq(result_parse(text, strlen(text), &rf, &cause), -1);
	ck_assert_ptr_null(rf);
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL,
	    "cause \"%s\", want \"%s\"", cause, want);
	free(cause);
}

static const char *
js(struct json_object *o)
{
	return (json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
}

START_TEST(test_result_full)
{
	struct result_file	*rf;
	struct json_object	*o;
	char			*sum;

	rf = parse_ok("{\"summary\":\"Fixed it.\",\"tests\":{\"command\":"
	    "\"make check\",\"passed\":48,\"failed\":1,\"skipped\":2,"
	    "\"failures\":[\"t/a.test\"]},\"artifacts\":[\"./out//r.md\","
	    "\"out/r.md\",\"plots/a.png\"]}");
	o = result_tests_json(rf);
	ck_assert_str_eq(js(o), "{\"command\":\"make check\",\"passed\":48,"
	    "\"failed\":1,\"skipped\":2,\"failures\":[\"t/a.test\"],"
	    "\"source\":\"agent\"}");
	json_object_put(o);
	o = result_artifacts_json(rf);
	ck_assert_str_eq(js(o), "[\"out/r.md\",\"plots/a.png\"]");
	json_object_put(o);
	sum = result_summary(rf);
	ck_assert_str_eq(sum, "Fixed it.");
	free(sum);
	result_free(&rf);
	ck_assert_ptr_null(rf);
	result_free(&rf);
}
END_TEST

START_TEST(test_result_minimal)
{
	struct result_file	*rf;
	struct json_object	*o;

	rf = parse_ok("{\"summary\":\"Nothing to do.\"}");
	ck_assert_ptr_null(result_tests_json(rf));
	o = result_artifacts_json(rf);
	ck_assert_str_eq(js(o), "[]");
	json_object_put(o);
	result_free(&rf);
	rf = parse_ok("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":0,\"failed\":0},\"artifacts\":null}");
	o = result_tests_json(rf);
	ck_assert_str_eq(js(o), "{\"command\":\"c\",\"passed\":0,\"failed\":0,"
	    "\"skipped\":0,\"failures\":[],\"source\":\"agent\"}");
	json_object_put(o);
	result_free(&rf);
}
END_TEST

START_TEST(test_result_errors)
{
	char	*big;

	parse_fail("", "not valid JSON");
	parse_fail("{\"summary\":", "not valid JSON");
	parse_fail("[]", "expected an object, got an array");
	parse_fail("{}", "summary: is required");
	parse_fail("{\"summary\":\"\"}", "summary: must not be empty");
	parse_fail("{\"summary\":5}", "summary: expected a string, got an "
	    "integer");
	parse_fail("{\"summary\":\"s\",\"artefacts\":[]}", "artefacts: "
	    "unknown field");
	parse_fail("{\"summary\":\"s\",\"tests\":[]}", "tests: expected an "
	    "object");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"passed\":1,\"failed\":0}}",
	    "tests.command: is required");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":\"1\",\"failed\":0}}", "tests.passed: expected an "
	    "integer, got a string");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1}}", "tests.failed: is required");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":-1,\"failed\":0}}", "tests.passed: out of range");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1,\"failed\":0,\"skipped\":1.5}}", "tests.skipped: "
	    "expected an integer, got a number");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1,\"failed\":0,\"total\":1}}", "tests.total: unknown "
	    "field");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1,\"failed\":0,\"failures\":\"x\"}}", "tests.failures: "
	    "expected an array");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1,\"failed\":1,\"failures\":[\"a\",2]}}",
	    "tests.failures[1]: expected a string, got an integer");
	parse_fail("{\"summary\":\"s\",\"tests\":{\"command\":\"c\","
	    "\"passed\":1,\"failed\":1,\"failures\":[\"a\",\"b\"]}}",
	    "tests.failures: lists 2 names but tests.failed is 1");
	parse_fail("{\"summary\":\"s\",\"artifacts\":\"a\"}", "artifacts: "
	    "expected an array");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\"\"]}", "artifacts[0]: "
	    "must be 1 to 1024 bytes");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\"a\",\"/etc/passwd\"]}",
	    "artifacts[1]: must be relative");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\"a/../../x\"]}",
	    "artifacts[0]: must not contain \"..\"");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\".git/config\"]}",
	    "artifacts[0]: must not point into .git");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\"./.\"]}",
	    "artifacts[0]: names the repo itself");
	parse_fail("{\"summary\":\"s\",\"artifacts\":[\"a\\u0000b\"]}",
	    "artifacts[0]: must be 1 to 1024 bytes without NULs");
	big = malloc(RESULT_FILE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', RESULT_FILE_MAX + 1);
	big[RESULT_FILE_MAX + 1] = '\0';
	parse_fail(big, "larger than 65536 bytes");
	free(big);
}
END_TEST

/* Bounds on counts and lengths, and redaction of what goes out. */
START_TEST(test_result_bounds_redact)
{
	struct result_file	*rf;
	struct json_object	*o;
	struct buf		 b;
	char			*sum;
	int			 i;

	buf_init(&b, RESULT_FILE_MAX);
	buf_addstr(&b, "{\"summary\":\"s\",\"artifacts\":[");
	for (i = 0; i <= RESULT_ARTIFACTS_MAX; i++)
		buf_printf(&b, "%s\"f%d\"", i ? "," : "", i);
	buf_addstr(&b, "]}");
	parse_fail(buf_str(&b), "artifacts: too many elements (at most 64)");
	buf_free(&b);
	ck_assert_int_eq(redact_add("hunter2-canary"), 0);
	rf = parse_ok("{\"summary\":\"token hunter2-canary\",\"tests\":"
	    "{\"command\":\"TOKEN=hunter2-canary make\",\"passed\":1,"
	    "\"failed\":1,\"failures\":[\"hunter2-canary\"]}}");
	sum = result_summary(rf);
	ck_assert_str_eq(sum, "token [REDACTED]");
	free(sum);
	o = result_tests_json(rf);
	ck_assert_ptr_null(strstr(js(o), "hunter2"));
	json_object_put(o);
	result_free(&rf);
	redact_clear();
}
END_TEST

Suite *
result_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("result");
	tc = tcase_create("validate");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_result_full);
	tcase_add_test(tc, test_result_minimal);
	tcase_add_test(tc, test_result_errors);
	tcase_add_test(tc, test_result_bounds_redact);
	suite_add_tcase(s, tc);
	return (s);
}
