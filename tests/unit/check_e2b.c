/*
 * worker/e2b: the control-plane calls against a scripted server: request
 * shapes, response parsing, errors with E2B's status and message,
 * paging, retries, and an API key that never reaches a log.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "e2b.h"
#include "http.h"
#include "json.h"
#include "mock_http.h"
#include "redact.h"
#include "check_worker.h"

#define KEY	"e2b_0123456789abcdef0123456789abcdef"

static const struct http_retry	 fast = { 4, 5, 20, 5000 };

static const char	*created = "{\"sandboxID\":\"iabc123\","
    "\"templateID\":\"tpl1\",\"alias\":\"claude\",\"clientID\":\"x\","
    "\"envdVersion\":\"0.6.13\",\"envdAccessToken\":\"tok-123456\","
    "\"trafficAccessToken\":null,\"domain\":null}";

/* A client pointed at the mock. */
static struct e2b *
client(struct mock *m)
{
	struct e2b	*e;
	char		*cause = NULL;

	setenv("E2B_API_URL", mock_url(m), 1);
	e = e2b_new(mock_ctx, KEY, &cause);
	ck_assert_msg(e != NULL, "%s", cause);
	e2b_set_retry(e, &fast);
	return (e);
}

/* The JSON body of recorded request i. */
static struct json_object *
sent_json(struct mock *m, int i)
{
	struct json_object	*o;
	char			*body, *cause = NULL;
	size_t			 len;

	body = mock_req_body(mock_request(m, i), &len);
	o = json_parse(body, len, &cause);
	ck_assert_msg(o != NULL, "%s", cause);
	free(body);
	return (o);
}

START_TEST(test_e2b_create)
{
	static const struct mock_step	steps[] = {
		{ .ms_method = "POST", .ms_path = "/v2/sandboxes",
		    .ms_status = 201 },
	};
	struct mock_step	 st = steps[0];
	struct mock		*m;
	struct e2b		*e;
	struct e2b_sandbox	*sb = NULL;
	struct e2b_create	 c;
	struct json_object	*envs, *o, *md;
	struct json_object	*rec;
	char			*cause = NULL;
	FILE			*f = mock_capture_log();
	char			*text;

	st.ms_body = created;
	m = mock_start(&st, 1);
	e = client(m);
	envs = json_object_new_object();
	json_add_string(envs, "FOO", "bar");
	memset(&c, 0, sizeof(c));
	c.ec_template = "claude";
	c.ec_timeout_s = 3600;
	c.ec_job = "j-1";
	c.ec_host = "host-a";
	c.ec_envs = envs;
	c.ec_secure = 1;
	ck_assert_msg(e2b_create(e, &c, &sb, &cause) == 0, "%s", cause);
	ck_assert_str_eq(sb->sb_id, "iabc123");
	ck_assert_str_eq(sb->sb_token, "tok-123456");
	ck_assert_str_eq(sb->sb_envd_version, "0.6.13");
	ck_assert_str_eq(sb->sb_alias, "claude");
	ck_assert_ptr_null(sb->sb_domain);

	rec = mock_request(m, 0);
	ck_assert_str_eq(mock_req_header(rec, "x-api-key"), KEY);
	ck_assert_str_eq(mock_req_header(rec, "content-type"),
	    "application/json");
	o = sent_json(m, 0);
	ck_assert_str_eq(json_peek_string(o, "templateID"), "claude");
	ck_assert_int_eq(json_peek_int(o, "timeout", 0), 3600);
	ck_assert(json_object_object_get_ex(o, "metadata", &md));
	ck_assert_str_eq(json_peek_string(md, "skillbox_job"), "j-1");
	ck_assert_str_eq(json_peek_string(md, "skillbox_host"), "host-a");
	ck_assert(json_object_object_get_ex(o, "envVars", &md));
	ck_assert_str_eq(json_peek_string(md, "FOO"), "bar");
	ck_assert(json_object_get_boolean(json_object_object_get(o,
	    "secure")));
	ck_assert(!json_object_get_boolean(json_object_object_get(o,
	    "allow_internet_access")));

	text = mock_captured(f);
	ck_assert_ptr_nonnull(strstr(text, "POST /v2/sandboxes: 201"));
	ck_assert_ptr_null(strstr(text, KEY));
	free(text);
	json_object_put(o);
	json_object_put(envs);
	e2b_sandbox_free(&sb);
	ck_assert_ptr_null(sb);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

/* A create answered with body and status must fail with want in cause. */
struct bad_create {
	int		 bc_status;
	const char	*bc_body;
	const char	*bc_want;
};

static const struct bad_create bad_creates[] = {
	{ 401, "{\"code\":401,\"message\":\"Invalid API key, please visit "
	    "https://e2b.dev/docs/api-key for more information.\"}",
	    "E2B: 401 Invalid API key, please visit" },
	{ 400, "{\"code\":400,\"message\":\"Timeout cannot be greater than "
	    "24 hours\"}", "E2B: 400 Timeout cannot be greater than 24 hours" },
	{ 404, "<html>not here</html>", "E2B: 404 <html>not here</html>" },
	{ 403, "", "E2B: 403 (no message)" },
	{ 201, "{\"sandboxID\":", "bad JSON body" },
	{ 201, "[1,2]", "an array where JSON object was expected" },
	{ 201, "{\"templateID\":\"x\"}", "sandbox.sandboxID: is required" },
	{ 201, "{\"sandboxID\":7}", "sandbox.sandboxID: expected a string" },
	{ 201, "{\"sandboxID\":\"../../etc\"}", "sandboxID: not a valid" },
	{ 201, "{\"sandboxID\":\"i1\",\"envdAccessToken\":\"a b\"}",
	    "envdAccessToken: not a valid" },
	{ 201, "{\"sandboxID\":\"i1\",\"domain\":\"x/y\"}",
	    "domain: not a valid" },
	{ 201, "{\"sandboxID\":\"i1\",\"metadata\":[]}",
	    "metadata: expected an object" },
	/* The key echoed back by a server is hidden in the cause. */
	{ 401, "{\"message\":\"bad key " KEY "\"}",
	    "E2B: 401 bad key [REDACTED]" },
};

START_TEST(test_e2b_create_errors)
{
	const struct bad_create	*bc = &bad_creates[_i];
	struct mock_step	 st;
	struct mock		*m;
	struct e2b		*e;
	struct e2b_sandbox	*sb = NULL;
	struct e2b_create	 c;
	char			*cause = NULL;
	FILE			*f = mock_capture_log();
	char			*text;

	memset(&st, 0, sizeof(st));
	st.ms_status = bc->bc_status;
	st.ms_body = bc->bc_body;
	m = mock_start(&st, 1);
	e = client(m);
	memset(&c, 0, sizeof(c));
	c.ec_template = "claude";
	ck_assert_int_eq(e2b_create(e, &c, &sb, &cause), -1);
	ck_assert_ptr_null(sb);
	ck_assert_msg(strstr(cause, bc->bc_want) != NULL, "cause: %s", cause);
	ck_assert_ptr_null(strstr(cause, KEY));
	ck_assert_int_eq(mock_count(m), 1);	/* 4xx: never retried */
	text = mock_captured(f);
	ck_assert_ptr_null(strstr(text, KEY));
	free(text);
	free(cause);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

START_TEST(test_e2b_create_retries)
{
	static const struct mock_step	steps[] = {
		{ .ms_times = 1, .ms_status = 503, .ms_body =
		    "{\"code\":503,\"message\":\"busy\"}" },
		{ .ms_times = 1, .ms_status = 429, .ms_headers =
		    "Retry-After: 0\n" },
		{ .ms_status = 201, .ms_body = "{\"sandboxID\":\"i2\"}" },
	};
	struct mock		*m = mock_start(steps, 3);
	struct e2b		*e = client(m);
	struct e2b_sandbox	*sb = NULL;
	struct e2b_create	 c = { .ec_template = "base" };
	char			*cause = NULL;

	ck_assert_msg(e2b_create(e, &c, &sb, &cause) == 0, "%s", cause);
	ck_assert_str_eq(sb->sb_id, "i2");
	ck_assert_ptr_null(sb->sb_token);
	ck_assert_int_eq(mock_count(m), 3);
	e2b_sandbox_free(&sb);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

START_TEST(test_e2b_unreachable)
{
	static const struct mock_step	steps[] = { { .ms_status = 200 } };
	struct mock		*m = mock_start(steps, 1);
	struct e2b		*e = client(m);
	struct e2b_sandbox	*sb = NULL;
	struct e2b_create	 c = { .ec_template = "base" };
	char			*cause = NULL;

	mock_stop(&m);
	ck_assert_int_eq(e2b_create(e, &c, &sb, &cause), -1);
	ck_assert_msg(strstr(cause, "E2B: POST /v2/sandboxes: ") == cause &&
	    strstr(cause, "(4 attempts)") != NULL, "%s", cause);
	free(cause);
	e2b_free(&e);
}
END_TEST

START_TEST(test_e2b_config)
{
	struct e2b	*e;
	char		*cause = NULL;

	ck_assert_ptr_null(e2b_new(mock_ctx, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "E2B_API_KEY"));
	free(cause);
	ck_assert_ptr_null(e2b_new(mock_ctx, "", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "E2B_API_KEY"));
	free(cause);
	ck_assert_ptr_null(e2b_new(mock_ctx, "e2b_abc\r\nX: y", &cause));
	free(cause);

	e = e2b_new(mock_ctx, KEY, &cause);
	ck_assert_str_eq(e2b_api_url(e), "https://api.e2b.app");
	ck_assert_str_eq(e2b_domain(e), "e2b.app");
	e2b_free(&e);
	setenv("E2B_DOMAIN", "example.test", 1);
	e = e2b_new(mock_ctx, KEY, &cause);
	ck_assert_str_eq(e2b_api_url(e), "https://api.example.test");
	ck_assert_str_eq(e2b_domain(e), "example.test");
	e2b_free(&e);
	setenv("E2B_API_URL", "http://127.0.0.1:3000/", 1);
	e = e2b_new(mock_ctx, KEY, &cause);
	ck_assert_str_eq(e2b_api_url(e), "http://127.0.0.1:3000");
	e2b_free(&e);
	setenv("E2B_API_URL", "ftp://x", 1);
	ck_assert_ptr_null(e2b_new(mock_ctx, KEY, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "E2B_API_URL"));
	free(cause);
	unsetenv("E2B_API_URL");
	setenv("E2B_DOMAIN", "bad domain", 1);
	ck_assert_ptr_null(e2b_new(mock_ctx, KEY, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "E2B_DOMAIN"));
	free(cause);
	/* The key was registered for redaction. */
	cause = redact("key=" KEY);
	ck_assert_str_eq(cause, "key=[REDACTED]");
	free(cause);
}
END_TEST

START_TEST(test_e2b_get)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/sandboxes/ilive", .ms_status = 200, .ms_body =
		    "{\"sandboxID\":\"ilive\",\"templateID\":\"t\","
		    "\"state\":\"running\",\"envdAccessToken\":\"tok-abcdef\","
		    "\"domain\":\"e2b.dev\",\"endAt\":\"2026-01-01T00:00:00Z\","
		    "\"metadata\":{\"skillbox_job\":\"j-9\"}}" },
		{ .ms_path = "/sandboxes/igone", .ms_status = 404, .ms_body =
		    "{\"code\":404,\"message\":\"Sandbox \\\"igone\\\" doesn't "
		    "exist or you don't have access to it\"}" },
		{ .ms_path = "/sandboxes/ibroken", .ms_status = 500 },
	};
	struct mock		*m = mock_start(steps, 3);
	struct e2b		*e = client(m);
	struct e2b_sandbox	*sb = NULL;
	char			*cause = NULL;

	ck_assert_int_eq(e2b_get(e, "ilive", &sb, &cause), 0);
	ck_assert_str_eq(sb->sb_state, "running");
	ck_assert_str_eq(sb->sb_domain, "e2b.dev");
	ck_assert_str_eq(sb->sb_token, "tok-abcdef");
	ck_assert_str_eq(json_peek_string(sb->sb_metadata, "skillbox_job"),
	    "j-9");
	e2b_sandbox_free(&sb);
	ck_assert_int_eq(e2b_get(e, "igone", &sb, &cause), 0);
	ck_assert_ptr_null(sb);
	ck_assert_int_eq(e2b_get(e, "ibroken", &sb, &cause), -1);
	ck_assert_str_eq(cause, "E2B: 500 (no message)");
	free(cause);
	ck_assert_int_eq(e2b_get(e, "a/b", &sb, &cause), -1);
	free(cause);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

START_TEST(test_e2b_list_pages)
{
	static const struct mock_step	steps[] = {
		{ .ms_times = 1, .ms_path = "/v2/sandboxes", .ms_status = 200,
		    .ms_headers = "X-Next-Token: t/2\n", .ms_body =
		    "[{\"sandboxID\":\"i1\",\"state\":\"running\"},"
		    "{\"sandboxID\":\"i2\",\"state\":\"paused\"}]" },
		{ .ms_times = 1, .ms_path = "/v2/sandboxes", .ms_status = 200,
		    .ms_body = "[{\"sandboxID\":\"i3\"}]" },
	};
	struct mock		*m = mock_start(steps, 2);
	struct e2b		*e = client(m);
	struct e2b_sandbox	**sbs = NULL;
	struct json_object	*filter;
	const char		*uri;
	size_t			 n;
	char			*cause = NULL;

	filter = json_object_new_object();
	json_add_string(filter, "skillbox_job", "j 1");
	ck_assert_msg(e2b_list(e, filter, &sbs, &n, &cause) == 0, "%s",
	    cause);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(sbs[0]->sb_id, "i1");
	ck_assert_str_eq(sbs[1]->sb_state, "paused");
	ck_assert_str_eq(sbs[2]->sb_id, "i3");
	uri = json_peek_string(mock_request(m, 0), "uri");
	ck_assert_str_eq(uri,
	    "/v2/sandboxes?limit=100&metadata=skillbox_job%3Dj%25201");
	uri = json_peek_string(mock_request(m, 1), "uri");
	ck_assert_str_eq(uri, "/v2/sandboxes?limit=100&metadata="
	    "skillbox_job%3Dj%25201&nextToken=t%2F2");
	e2b_list_free(&sbs, n);
	ck_assert_ptr_null(sbs);
	json_object_put(filter);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

START_TEST(test_e2b_list_bad)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/v2/sandboxes", .ms_status = 200,
		    .ms_headers = "X-Next-Token: same\n", .ms_body = "[]" },
	};
	static const struct mock_step	bad[] = {
		{ .ms_status = 200, .ms_body = "[{\"sandboxID\":\"i1\"},{}]" },
	};
	struct mock		*m = mock_start(steps, 1);
	struct e2b		*e = client(m);
	struct e2b_sandbox	**sbs = NULL;
	struct json_object	*filter;
	size_t			 n;
	char			*cause = NULL;

	/* A server that repeats its page token does not loop us. */
	ck_assert_int_eq(e2b_list(e, NULL, &sbs, &n, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "repeats"));
	ck_assert_int_eq(mock_count(m), 2);
	free(cause);
	e2b_free(&e);
	mock_stop(&m);

	m = mock_start(bad, 1);
	e = client(m);
	ck_assert_int_eq(e2b_list(e, NULL, &sbs, &n, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "sandboxes[1].sandboxID"));
	ck_assert_ptr_null(sbs);
	free(cause);
	filter = json_object_new_object();
	json_add_int(filter, "n", 1);
	ck_assert_int_eq(e2b_list(e, filter, &sbs, &n, &cause), -1);
	free(cause);
	json_object_put(filter);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

START_TEST(test_e2b_timeout_and_kill)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/sandboxes/i1/timeout", .ms_status = 204 },
		{ .ms_path = "/sandboxes/i2/timeout", .ms_status = 409,
		    .ms_body = "{\"code\":409,\"message\":\"not running\"}" },
		{ .ms_method = "DELETE", .ms_path = "/sandboxes/i1",
		    .ms_status = 204 },
		{ .ms_method = "DELETE", .ms_path = "/sandboxes/i2",
		    .ms_status = 404 },
		{ .ms_method = "DELETE", .ms_path = "/sandboxes/i3",
		    .ms_status = 500, .ms_body = "{\"message\":\"oops\"}" },
	};
	struct mock		*m = mock_start(steps, 5);
	struct e2b		*e = client(m);
	struct json_object	*o;
	char			*cause = NULL;

	ck_assert_int_eq(e2b_set_timeout(e, "i1", 600, &cause), 0);
	o = sent_json(m, 0);
	ck_assert_int_eq(json_peek_int(o, "timeout", 0), 600);
	json_object_put(o);
	ck_assert_int_eq(e2b_set_timeout(e, "i2", 600, &cause), -1);
	ck_assert_str_eq(cause, "E2B: 409 not running");
	free(cause);
	ck_assert_int_eq(e2b_kill(e, "i1", &cause), 0);
	ck_assert_int_eq(e2b_kill(e, "i2", &cause), 0);
	ck_assert_int_eq(e2b_kill(e, "i3", &cause), -1);
	ck_assert_str_eq(cause, "E2B: 500 oops");
	free(cause);
	ck_assert_int_eq(e2b_kill(e, "", &cause), -1);
	free(cause);
	e2b_free(&e);
	mock_stop(&m);
}
END_TEST

Suite *
e2b_suite(void)
{
	Suite	*s = suite_create("e2b");
	TCase	*tc = tcase_create("calls");

	tcase_add_checked_fixture(tc, mock_setup, mock_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_e2b_create);
	tcase_add_loop_test(tc, test_e2b_create_errors, 0,
	    sizeof(bad_creates) / sizeof(bad_creates[0]));
	tcase_add_test(tc, test_e2b_create_retries);
	tcase_add_test(tc, test_e2b_unreachable);
	tcase_add_test(tc, test_e2b_config);
	tcase_add_test(tc, test_e2b_get);
	tcase_add_test(tc, test_e2b_list_pages);
	tcase_add_test(tc, test_e2b_list_bad);
	tcase_add_test(tc, test_e2b_timeout_and_kill);
	suite_add_tcase(s, tc);
	return (s);
}
