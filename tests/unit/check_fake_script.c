/* fake-anthropic scenarios: parsing, defaults, picking, refusals. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fake.h"
#include "fake.h"
#include "json.h"

START_TEST(test_script_entries)
{
	struct script		*s;
	const struct entry	*e;

	s = fake_script("[{\"text\":\"hi\"},"
	    "{\"text\":\"t\",\"tool_use\":{\"name\":\"Bash\","
	    "\"input\":{\"command\":\"ls\"}}},"
	    "{\"tool_uses\":[{\"name\":\"A\"},{\"name\":\"B\",\"id\":\"x1\"}],"
	    "\"stop_reason\":\"max_tokens\",\"delay_ms\":5,\"break_after\":0,"
	    "\"usage\":{\"input_tokens\":1,\"output_tokens\":2,"
	    "\"cache_read_input_tokens\":3,"
	    "\"cache_creation_input_tokens\":4},\"comment\":\"free text\"}]");
	ck_assert_uint_eq(s->s_n, 3);
	e = script_pick(s, 0);
	ck_assert_str_eq(e->e_text, "hi");
	ck_assert_uint_eq(e->e_ntools, 0);
	ck_assert_int_eq(e->e_status, 0);
	ck_assert_int_eq(e->e_in_tokens, FAKE_DEFAULT_IN);
	ck_assert_int_eq(e->e_out_tokens, FAKE_DEFAULT_OUT);
	ck_assert_int_eq(e->e_break_after, -1);
	ck_assert_int_eq(e->e_retry_after, -1);
	ck_assert_ptr_null(e->e_stop);

	e = script_pick(s, 1);
	ck_assert_uint_eq(e->e_index, 1);
	ck_assert_uint_eq(e->e_ntools, 1);
	ck_assert_str_eq(e->e_tools[0].t_name, "Bash");
	ck_assert_str_eq(e->e_tools[0].t_id, "toolu_fake_001_0");
	ck_assert_str_eq(json_str(e->e_tools[0].t_input),
	    "{\"command\":\"ls\"}");

	e = script_pick(s, 2);
	ck_assert_ptr_null(e->e_text);
	ck_assert_uint_eq(e->e_ntools, 2);
	ck_assert_str_eq(json_str(e->e_tools[0].t_input), "{}");
	ck_assert_str_eq(e->e_tools[0].t_id, "toolu_fake_002_0");
	ck_assert_str_eq(e->e_tools[1].t_id, "x1");
	ck_assert_str_eq(e->e_stop, "max_tokens");
	ck_assert_int_eq(e->e_delay_ms, 5);
	ck_assert_int_eq(e->e_break_after, 0);
	ck_assert_int_eq(e->e_in_tokens, 1);
	ck_assert_int_eq(e->e_out_tokens, 2);
	ck_assert_int_eq(e->e_cache_read, 3);
	ck_assert_int_eq(e->e_cache_create, 4);
	script_free(&s);
	ck_assert_ptr_null(s);
	script_free(&s);
}
END_TEST

START_TEST(test_script_past_the_end)
{
	struct script		*s;
	const struct entry	*e;

	s = fake_script("[{\"text\":\"a\"}]");
	e = script_pick(s, 1);
	ck_assert_ptr_eq(e, script_pick(s, 7));
	ck_assert_str_eq(e->e_text, "done");
	ck_assert_uint_eq(e->e_index, 1);
	ck_assert_uint_eq(e->e_ntools, 0);
	ck_assert_int_eq(e->e_status, 0);
	script_free(&s);

	s = fake_script(" [ ] ");
	ck_assert_str_eq(script_pick(s, 0)->e_text, "done");
	script_free(&s);
}
END_TEST

START_TEST(test_script_errors)
{
	struct script		*s;
	const struct entry	*e;

	s = fake_script("[{\"error\":{}},{\"error\":{\"status\":429}},"
	    "{\"error\":{\"status\":503,\"type\":\"x_error\","
	    "\"message\":\"m\",\"retry_after\":3}}]");
	e = script_pick(s, 0);
	ck_assert_int_eq(e->e_status, 500);
	ck_assert_str_eq(e->e_etype, "api_error");
	ck_assert_str_eq(e->e_emsg, "scripted error");
	e = script_pick(s, 1);
	ck_assert_int_eq(e->e_status, 429);
	ck_assert_str_eq(e->e_etype, "rate_limit_error");
	e = script_pick(s, 2);
	ck_assert_str_eq(e->e_etype, "x_error");
	ck_assert_str_eq(e->e_emsg, "m");
	ck_assert_int_eq(e->e_retry_after, 3);
	script_free(&s);
}
END_TEST

static const struct {
	const char	*text;
	const char	*cause;
} bad_scripts[] = {
	{ "", "unexpected end of JSON text" },
	{ "{}", "script: expected an array, got an object" },
	{ "[1]", "script[0]: expected an object, got an integer" },
	{ "[{}]", "script[0]: needs text, tool_use, tool_uses or error" },
	{ "[{\"text\":1}]", "script[0].text: expected a string, got an "
	    "integer" },
	{ "[{\"text\":\"a\"},{\"tex\":\"b\"}]", "script[1].tex: unknown key" },
	{ "[{\"tool_use\":{}}]", "script[0].tool_use.name: is required" },
	{ "[{\"tool_use\":{\"name\":\"\"}}]",
	    "script[0].tool_use.name: must not be empty" },
	{ "[{\"tool_use\":{\"name\":\"a\",\"input\":[]}}]",
	    "script[0].tool_use.input: expected an object, got an array" },
	{ "[{\"tool_use\":{\"name\":\"a\"},\"tool_uses\":[]}]",
	    "script[0]: tool_use and tool_uses together" },
	{ "[{\"tool_uses\":[]}]", "script[0]: needs text" },
	{ "[{\"tool_uses\":[{\"name\":\"a\"},null]}]",
	    "script[0].tool_uses[1]: expected an object, got null" },
	{ "[{\"error\":{\"status\":302}}]",
	    "script[0].error.status: out of range (400 to 599)" },
	{ "[{\"error\":{},\"tool_use\":{\"name\":\"a\"}}]",
	    "script[0]: an error entry has no text or tools" },
	{ "[{\"text\":\"a\",\"delay_ms\":-1}]",
	    "script[0].delay_ms: out of range" },
	{ "[{\"text\":\"a\",\"break_after\":1.5}]",
	    "script[0].break_after: expected an integer, got a number" },
	{ "[{\"text\":\"a\",\"usage\":{\"input_tokens\":-3}}]",
	    "script[0].usage.input_tokens: out of range" },
	{ "[{\"text\":\"a\",\"stop_reason\":\"\"}]",
	    "script[0].stop_reason: must not be empty" },
};

START_TEST(test_script_refused)
{
	struct script	*s;
	char		*cause = NULL;
	const char	*text = bad_scripts[_i].text;

	s = script_parse(text, strlen(text), &cause);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_scripts[_i].cause) != NULL,
	    "%s: cause '%s' lacks '%s'", text, cause, bad_scripts[_i].cause);
	free(cause);
}
END_TEST

START_TEST(test_script_load)
{
	struct script	*s;
	char		 path[] = "/tmp/check_fake.XXXXXX", *cause = NULL;
	int		 fd;

	s = script_load("/nonexistent/script.json", &cause);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(cause,
	    "/nonexistent/script.json: No such file or directory");
	free(cause);

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	s = script_load(path, &cause);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(cause, "unexpected end of JSON text");
	free(cause);
	ck_assert_int_eq(write(fd, "[{\"text\":\"x\"}]\n", 15), 15);
	s = script_load(path, &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(script_pick(s, 0)->e_text, "x");
	script_free(&s);
	close(fd);
	unlink(path);
}
END_TEST

Suite *
fake_script_suite(void)
{
	Suite	*s = suite_create("fake_script");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_script_entries);
	tcase_add_test(tc, test_script_past_the_end);
	tcase_add_test(tc, test_script_errors);
	tcase_add_loop_test(tc, test_script_refused, 0,
	    sizeof(bad_scripts) / sizeof(bad_scripts[0]));
	tcase_add_test(tc, test_script_load);
	suite_add_tcase(s, tc);
	return (s);
}
