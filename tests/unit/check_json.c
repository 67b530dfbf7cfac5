/* JSON helpers: bounded parsing, typed getters and their causes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "check_common.h"

static struct json_object *
parse_ok(const char *text)
{
	struct json_object	*o;
	char			*cause = NULL;

	o = json_parse(text, strlen(text), &cause);
	ck_assert_msg(o != NULL, "parse failed: %s", cause);
	return (o);
}

static void
parse_bad(const char *text, const char *want)
{
	struct json_object	*o;
	char			*cause = NULL;

	o = json_parse(text, strlen(text), &cause);
	ck_assert_ptr_null(o);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "cause '%s' lacks '%s'",
	    cause, want);
	free(cause);
}

START_TEST(test_json_parse)
{
	struct json_object	*o;

	o = parse_ok(" {\"a\": [1, 2, {\"b\": null}]} \n");
	ck_assert(json_object_is_type(o, json_type_object));
	json_object_put(o);
	o = parse_ok("\"just a string\"");
	json_object_put(o);
	/* A number alone, with nothing after it to end it. */
	o = parse_ok("42");
	ck_assert(json_object_is_type(o, json_type_int));
	ck_assert_int_eq(json_object_get_int(o), 42);
	json_object_put(o);
	o = parse_ok("-1.5");
	ck_assert(json_object_is_type(o, json_type_double));
	json_object_put(o);
	o = parse_ok("true");
	json_object_put(o);
}
END_TEST

START_TEST(test_json_parse_errors)
{
	char	*deep;
	int	 i;

	parse_bad("", "end of JSON");
	parse_bad("{\"a\":", "end of JSON");
	parse_bad("{\"a\":1} x", "trailing data");
	parse_bad("{\"a\":1}{}", "trailing data");
	parse_bad("{a:1}", "offset");
	parse_bad("[1,2,]", "offset");
	parse_bad("12 34", "trailing data");
	parse_bad("-", "offset");
	deep = malloc(200);
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	deep[100] = '\0';
	parse_bad(deep, "nesting too deep");
	free(deep);
}
END_TEST

START_TEST(test_json_get_string)
{
	struct json_object	*o;
	const char		*s = NULL;
	char			*cause = NULL;

	o = parse_ok("{\"url\":\"https://x\",\"n\":3,\"e\":\"\","
	    "\"z\":\"a\\u0000b\",\"nul\":null}");
	ck_assert_int_eq(json_get_string(o, "repo", "url", J_REQUIRED, 0, &s,
	    &cause), 1);
	ck_assert_str_eq(s, "https://x");
	ck_assert_int_eq(json_get_string(o, "repo", "missing", J_OPTIONAL, 0,
	    &s, &cause), 0);
	ck_assert_int_eq(json_get_string(o, "repo", "nul", J_OPTIONAL, 0,
	    &s, &cause), 0);

	ck_assert_int_eq(json_get_string(o, "repo", "missing", J_REQUIRED, 0,
	    &s, &cause), -1);
	ck_assert_str_eq(cause, "repo.missing: is required");
	free(cause);
	ck_assert_int_eq(json_get_string(o, "repo", "n", J_REQUIRED, 0, &s,
	    &cause), -1);
	ck_assert_str_eq(cause, "repo.n: expected a string, got an integer");
	free(cause);
	ck_assert_int_eq(json_get_string(o, NULL, "e", J_NONEMPTY, 0, &s,
	    &cause), -1);
	ck_assert_str_eq(cause, "e: must not be empty");
	free(cause);
	ck_assert_int_eq(json_get_string(o, "", "url", 0, 4, &s, &cause), -1);
	ck_assert_str_eq(cause, "url: too long (9 bytes, at most 4)");
	free(cause);
	ck_assert_int_eq(json_get_string(o, "", "z", 0, 0, &s, &cause), -1);
	ck_assert_str_eq(cause, "z: contains a NUL byte");
	free(cause);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_get_int)
{
	struct json_object	*o;
	int64_t			 n = 0;
	char			*cause = NULL;

	o = parse_ok("{\"t\":600,\"neg\":-1,\"f\":1.5,\"s\":\"5\","
	    "\"big\":99999999999999999999}");
	ck_assert_int_eq(json_get_int(o, "job", "t", J_REQUIRED, 1, 86400, &n,
	    &cause), 1);
	ck_assert_int_eq(n, 600);
	ck_assert_int_eq(json_get_int(o, "job", "neg", 0, 1, 86400, &n,
	    &cause), -1);
	ck_assert_str_eq(cause, "job.neg: out of range (1 to 86400)");
	free(cause);
	ck_assert_int_eq(json_get_int(o, "job", "f", 0, 0, 10, &n, &cause),
	    -1);
	ck_assert_str_eq(cause, "job.f: expected an integer, got a number");
	free(cause);
	ck_assert_int_eq(json_get_int(o, "job", "s", 0, 0, 10, &n, &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(json_get_int(o, "job", "big", 0, 0, INT64_MAX, &n,
	    &cause), -1);
	free(cause);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_get_other)
{
	struct json_object	*o, *v;
	int			 b = 0;
	char			*cause = NULL;

	o = parse_ok("{\"b\":true,\"o\":{},\"a\":[1,2,3]}");
	ck_assert_int_eq(json_get_bool(o, "", "b", J_REQUIRED, &b, &cause),
	    1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(json_get_object(o, "", "o", J_REQUIRED, &v, &cause),
	    1);
	ck_assert_int_eq(json_get_array(o, "", "a", J_REQUIRED, 3, &v,
	    &cause), 1);
	ck_assert_int_eq(json_get_array(o, "x", "a", J_REQUIRED, 2, &v,
	    &cause), -1);
	ck_assert_str_eq(cause, "x.a: too many elements (at most 2)");
	free(cause);
	ck_assert_int_eq(json_get_object(o, "x", "a", J_REQUIRED, &v,
	    &cause), -1);
	ck_assert_str_eq(cause, "x.a: expected an object, got an array");
	free(cause);
	ck_assert_int_eq(json_get_bool(v, "x", "b", J_REQUIRED, &b, &cause),
	    -1);
	ck_assert_str_eq(cause, "x.b: parent is not an object");
	free(cause);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_peek_and_add)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "s", "a/b");
	json_add_int(o, "n", 7);
	json_add_bool(o, "b", 0);
	json_add_stringn(o, "p", "xyz", 2);
	ck_assert_str_eq(json_str(o),
	    "{\"s\":\"a/b\",\"n\":7,\"b\":false,\"p\":\"xy\"}");
	ck_assert_str_eq(json_peek_string(o, "s"), "a/b");
	ck_assert_ptr_null(json_peek_string(o, "n"));
	ck_assert_int_eq(json_peek_int(o, "n", -1), 7);
	ck_assert_int_eq(json_peek_int(o, "s", -1), -1);
	json_object_put(o);
}
END_TEST

/* Escaping for a JSON string, checked by parsing the result back. */
START_TEST(test_json_escape)
{
	const char		*in = "a\"b\\c\n\t\x01\x1f/\xc3\xa9\x7f end";
	struct json_object	*o;
	struct buf		 b;
	char			*cause = NULL;

	buf_init(&b, 1024);
	(void)buf_addc(&b, '"');
	ck_assert_int_eq(json_escape(&b, in, strlen(in)), 0);
	(void)buf_addc(&b, '"');
	ck_assert_str_eq(buf_str(&b), "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/"
	    "\xc3\xa9\x7f end\"");
	o = json_parse(buf_str(&b), buf_len(&b), &cause);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(o), in);
	json_object_put(o);
	buf_free(&b);
	buf_init(&b, 3);
	ck_assert_int_eq(json_escape(&b, "\"\"", 2), -1);
	buf_free(&b);
}
END_TEST

Suite *
json_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_json_parse);
	tcase_add_test(tc, test_json_parse_errors);
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_json_get_string);
	tcase_add_test(tc, test_json_get_int);
	tcase_add_test(tc, test_json_get_other);
	tcase_add_test(tc, test_json_peek_and_add);
	suite_add_tcase(s, tc);
	return (s);
}
