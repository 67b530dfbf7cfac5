/*
 * The MCP dispatcher: every error path answers with the right JSON-RPC
 * error (or none, for notifications), and the connection keeps serving.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define CAP_MAX	64

static struct json_object	*cap[CAP_MAX];
static int			 ncap;
static struct mcp_conn		*conn;
static char			*dir;

/* The transport of these tests keeps what it is given, parsed back. */
static void
cap_send(void *arg, void *ctx, enum mcp_send kind, const char *s,
    size_t len)
{
	char	*cause = NULL;

	ck_assert_int_lt(ncap, CAP_MAX);
	ck_assert_ptr_null(memchr(s, '\n', len));
	cap[ncap] = json_parse(s, len, &cause);
	ck_assert_msg(cap[ncap] != NULL, "sent bad JSON (%s): %.*s", cause,
	    (int)len, s);
	ncap++;
}

static const struct mcp_transport cap_ops = { "capture", cap_send, NULL };

static void
cap_clear(void)
{
	while (ncap > 0)
		json_object_put(cap[--ncap]);
}

static void
setup(void)
{
	dir = test_tmpdir();
	ck_assert_int_eq(store_init(dir, &(char *){ NULL }), 0);
	jobs_init();
	pack_init(dir);
	mcp_init();
	conn = mcp_conn_new(&cap_ops, NULL);
}

static void
teardown(void)
{
	cap_clear();
	mcp_conn_free(&conn);
	mcp_fini();
	jobs_clear();
	store_close();
	test_rmdir(dir);
}

/* Send one line; return the one reply (or NULL if none was sent). */
static struct json_object *
rpc(const char *line)
{
	cap_clear();
	mcp_conn_input(conn, line, strlen(line), NULL);
	ck_assert_int_le(ncap, 1);
	return (ncap == 1 ? cap[0] : NULL);
}

static void
init_at(const char *version)
{
	char			*line;
	struct json_object	*r, *res;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
	    "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
	    "\"version\":\"1\"}}}", version);
	r = rpc(line);
	free(line);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_object_get_ex(r, "result", &res));
	ck_assert_ptr_null(rpc("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}"));
}

/* The error code of a reply, and check its id is as expected. */
static int
err_code(struct json_object *r, const char *want_id)
{
	struct json_object	*e, *id;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_object_object_get_ex(r, "error", &e),
	    "no error in %s", json_str(r));
	ck_assert(json_object_object_get_ex(r, "id", &id));
	ck_assert_str_eq(json_str(id), want_id);
	return ((int)json_peek_int(e, "code", 0));
}

static struct json_object *
result_of(struct json_object *r)
{
	struct json_object	*res;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_object_object_get_ex(r, "result", &res),
	    "no result in %s", json_str(r));
	return (res);
}

START_TEST(test_mcp_parse_errors)
{
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":"), "null"),
	    MCP_PARSE_ERROR);
	ck_assert_int_eq(err_code(rpc("not json at all"), "null"),
	    MCP_PARSE_ERROR);
	ck_assert_int_eq(err_code(rpc("{\"a\":1} trailing"), "null"),
	    MCP_PARSE_ERROR);
	/* Non-objects. */
	ck_assert_int_eq(err_code(rpc("42"), "null"), MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("\"ping\""), "null"),
	    MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("null"), "null"), MCP_INVALID_REQUEST);
	/* Still serving. */
	result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}"));
}
END_TEST

START_TEST(test_mcp_invalid_requests)
{
	ck_assert_int_eq(err_code(rpc("{\"id\":1,\"method\":\"ping\"}"), "1"),
	    MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"1.0\",\"id\":1,"
	    "\"method\":\"ping\"}"), "1"), MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":\"x\"}"),
	    "\"x\""), MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,"
	    "\"method\":5}"), "2"), MCP_INVALID_REQUEST);
	/* Ids that are not strings or integers are refused with id null. */
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":null,"
	    "\"method\":\"ping\"}"), "null"), MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":1.5,"
	    "\"method\":\"ping\"}"), "null"), MCP_INVALID_REQUEST);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":{},"
	    "\"method\":\"ping\"}"), "null"), MCP_INVALID_REQUEST);
	/* A response from the client is not answered. */
	ck_assert_ptr_null(rpc("{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}"));
}
END_TEST

START_TEST(test_mcp_unknown_method)
{
	/* What the real Claude Code CLI sends first. */
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":\"d-1\","
	    "\"method\":\"server/discover\",\"params\":{\"_meta\":{}}}"),
	    "\"d-1\""), MCP_METHOD_NOT_FOUND);
	init_at("2025-11-25");
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"method\":\"prompts/list\"}"), "3"), MCP_METHOD_NOT_FOUND);
	/* An unknown notification is ignored. */
	ck_assert_ptr_null(rpc("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/whatever\"}"));
}
END_TEST

START_TEST(test_mcp_lifecycle)
{
	struct json_object	*res, *caps;

	/* Before initialize: only ping. */
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"tools/list\"}"), "1"), MCP_INVALID_REQUEST);
	result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}"));
	/* Bad initialize params. */
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"method\":\"initialize\",\"params\":{}}"), "3"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":4,"
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":7}}"),
	    "4"), MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":5,"
	    "\"method\":\"initialize\"}"), "5"), MCP_INVALID_PARAMS);
	/* An unknown version gets the latest. */
	res = result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"1999-01-01\"}}"));
	ck_assert_str_eq(json_peek_string(res, "protocolVersion"),
	    "2025-11-25");
	ck_assert(json_object_object_get_ex(res, "capabilities", &caps));
	ck_assert(json_object_object_get_ex(caps, "tools", NULL));
	ck_assert(json_object_object_get_ex(caps, "resources", NULL));
	ck_assert(json_object_object_get_ex(caps, "logging", NULL));
	/* A second initialize. */
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":7,"
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
	    "\"2025-11-25\"}}"), "7"), MCP_INVALID_REQUEST);
	result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":"
	    "\"tools/list\"}"));
}
END_TEST

START_TEST(test_mcp_versions)
{
	static const char *const versions[] = { "2025-11-25", "2025-06-18",
	    "2025-03-26" };
	struct json_object	*res;
	char			*line;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"%s\"}}",
	    versions[_i]);
	res = result_of(rpc(line));
	ck_assert_str_eq(json_peek_string(res, "protocolVersion"),
	    versions[_i]);
	free(line);
}
END_TEST

START_TEST(test_mcp_wrong_params)
{
	init_at("2025-11-25");
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"tools/list\",\"params\":[1]}"), "1"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,"
	    "\"method\":\"tools/call\",\"params\":\"x\"}"), "2"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"method\":\"tools/call\",\"params\":{}}"), "3"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":4,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":1}}"), "4"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":5,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"get_job\","
	    "\"arguments\":[]}}"), "5"), MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":6,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}"), "6"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":7,"
	    "\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}"),
	    "7"), MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":8,"
	    "\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}"), "8"),
	    MCP_INVALID_PARAMS);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":9,"
	    "\"method\":\"resources/list\",\"params\":{\"cursor\":\"x\"}}"),
	    "9"), MCP_INVALID_PARAMS);
	result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":"
	    "\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}"));
	/* A malformed cancellation is ignored. */
	ck_assert_ptr_null(rpc("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/cancelled\",\"params\":{\"requestId\":[]}}"));
	ck_assert_ptr_null(rpc("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/cancelled\",\"params\":{\"requestId\":99}}"));
}
END_TEST

/*
 * Call a tool with arguments (JSON text): the result must be a tool error
 * (isError) whose message says want.
 */
static void
tool_error_has(const char *name, const char *args, const char *want)
{
	struct json_object	*res, *content, *text;
	char			*line;
	int			 is = 0;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":\"t\",\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":"
	    "%s}}", name, args);
	res = result_of(rpc(line));
	free(line);
	ck_assert_int_eq(json_get_bool(res, NULL, "isError", J_REQUIRED, &is,
	    &(char *){ NULL }), 1);
	ck_assert(is);
	ck_assert(json_object_object_get_ex(res, "content", &content));
	text = json_object_array_get_idx(content, 0);
	ck_assert_msg(strstr(json_peek_string(text, "text"), want) != NULL,
	    "'%s' lacks '%s'", json_peek_string(text, "text"), want);
}

#define NO_JOB	"{\"job_id\":\"j-0000000000000000\"}"

START_TEST(test_mcp_tool_errors)
{
	init_at("2025-11-25");
	tool_error_has("get_job", NO_JOB, "unknown job id");
	tool_error_has("get_job", "{}", "job_id: is required");
	tool_error_has("get_job", "{\"job_id\":5}", "expected a string");
	tool_error_has("get_job", "{\"job_id\":\"x\",\"extra\":1}",
	    "extra: unknown argument");
	tool_error_has("list_jobs", "{\"cursor\":\"bogus\"}", "cursor");
	tool_error_has("list_jobs", "{\"state\":\"sleeping\"}", "state");
	tool_error_has("list_jobs", "{\"limit\":0}", "limit: out of range");
	tool_error_has("submit_job", "{\"repo\":{\"url\":\"ext::sh -c id\"},"
	    "\"job\":\"fix-tests\"}", "invalid job spec");
	tool_error_has("wait_job", "{\"job_id\":\"j-0000000000000000\","
	    "\"timeout_s\":-1}", "unknown job id");
	tool_error_has("cancel_job", NO_JOB, "unknown job id");
	tool_error_has("get_job_log", NO_JOB, "unknown job id");
	tool_error_has("list_skills", "{\"x\":1}", "x: unknown argument");
}
END_TEST

START_TEST(test_mcp_tools_list)
{
	struct json_object	*res, *tools, *t, *schema, *ann;
	size_t			 i;

	init_at("2025-06-18");
	res = result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"tools/list\"}"));
	ck_assert(json_object_object_get_ex(res, "tools", &tools));
	ck_assert_uint_eq(json_object_array_length(tools), 7);
	for (i = 0; i < 7; i++) {
		t = json_object_array_get_idx(tools, i);
		ck_assert(json_object_object_get_ex(t, "inputSchema", &schema));
		ck_assert_str_eq(json_peek_string(schema, "type"), "object");
		ck_assert(json_object_object_get_ex(t, "outputSchema",
		    &schema));
		ck_assert_str_eq(json_peek_string(schema, "type"), "object");
		ck_assert(json_object_object_get_ex(t, "annotations", &ann));
		ck_assert(json_object_object_get_ex(ann, "readOnlyHint", NULL));
	}
	res = result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
	    "\"resources/templates/list\"}"));
	ck_assert(json_object_object_get_ex(res, "resourceTemplates", &t));
	ck_assert_uint_eq(json_object_array_length(t), 5);
}
END_TEST

START_TEST(test_mcp_resource_not_found)
{
	struct json_object	*r, *e, *data;

	init_at("2025-11-25");
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\","
	    "\"params\":{\"uri\":\"skillbox://jobs/j-0000000000000000\"}}");
	ck_assert_int_eq(err_code(r, "1"), MCP_RESOURCE_NOT_FOUND);
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "data", &data));
	ck_assert_str_eq(json_peek_string(data, "uri"),
	    "skillbox://jobs/j-0000000000000000");
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,"
	    "\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
	    "\"file:///etc/passwd\"}}"), "2"), MCP_RESOURCE_NOT_FOUND);
	ck_assert_int_eq(err_code(rpc("{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"method\":\"resources/read\",\"params\":{\"uri\":"
	    "\"skillbox://skills/../../etc\"}}"), "3"),
	    MCP_RESOURCE_NOT_FOUND);
	result_of(rpc("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
	    "\"resources/unsubscribe\",\"params\":{\"uri\":\"x\"}}"));
}
END_TEST

START_TEST(test_mcp_batch_refused)
{
	init_at("2025-11-25");
	ck_assert_int_eq(err_code(rpc("[{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"ping\"}]"), "null"), MCP_INVALID_REQUEST);
}
END_TEST

START_TEST(test_mcp_batch_2025_03_26)
{
	struct json_object	*r, *el, *e;
	size_t			 i;
	int			 seen = 0;

	init_at("2025-03-26");
	ck_assert_int_eq(err_code(rpc("[]"), "null"), MCP_INVALID_REQUEST);
	r = rpc("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
	    "42,{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"nope\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\","
	    "\"params\":{\"protocolVersion\":\"2025-03-26\"}}]");
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_is_type(r, json_type_array));
	ck_assert_uint_eq(json_object_array_length(r), 4);
	for (i = 0; i < 4; i++) {
		el = json_object_array_get_idx(r, i);
		if (json_object_object_get_ex(el, "result", NULL))
			seen |= 1;
		else if (json_object_object_get_ex(el, "error", &e) &&
		    json_peek_int(e, "code", 0) == MCP_METHOD_NOT_FOUND)
			seen |= 2;
		else if (json_object_object_get_ex(el, "error", &e) &&
		    json_peek_int(e, "code", 0) == MCP_INVALID_REQUEST)
			seen |= 4;
	}
	ck_assert_int_eq(seen, 7);
	/* Only notifications: nothing to send. */
	ck_assert_ptr_null(rpc("[{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}]"));
}
END_TEST

/* The stdio transport reads past a 10 MB line and loses nothing after. */
static struct event_base	*tbase;
static int			 eofs;

static void
eof_cb(void)
{
	eofs++;
	event_base_loopexit(tbase, NULL);
}

START_TEST(test_mcp_stdio_long_line)
{
	struct tr_stdio		*ts;
	int			 in[2], out[2];
	char			*big, buf[4096];
	size_t			 len = 10 * 1024 * 1024, got = 0;
	ssize_t			 n;
	pid_t			 pid;
	const char		*line = "\n{\"jsonrpc\":\"2.0\","
	    "\"id\":\"after\",\"method\":\"ping\"}\n";

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	if ((pid = fork()) == 0) {
		close(in[0]);
		big = malloc(len);
		memset(big, 'x', len);
		big[0] = '{';
		for (got = 0; got < len; got += (size_t)n)
			if ((n = write(in[1], big + got, len - got)) <= 0)
				_exit(1);
		if (write(in[1], line, strlen(line)) != (ssize_t)strlen(line))
			_exit(1);
		_exit(0);
	}
	close(in[1]);
	tbase = event_base_new();
	ts = tr_stdio_new(tbase, in[0], out[1], eof_cb);
	event_base_dispatch(tbase);
	ck_assert_int_eq(eofs, 1);
	tr_stdio_flush(ts);
	tr_stdio_free(&ts);
	close(out[1]);
	n = read(out[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "\"code\":-32600") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "refused") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\"id\":\"after\",\"result\":{}") != NULL,
	    "%s", buf);
	event_base_free(tbase);
	close(in[0]);
	close(out[0]);
}
END_TEST

Suite *
mcp_suite(void)
{
	Suite	*s = suite_create("mcp");
	TCase	*tc = tcase_create("dispatch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_mcp_parse_errors);
	tcase_add_test(tc, test_mcp_invalid_requests);
	tcase_add_test(tc, test_mcp_unknown_method);
	tcase_add_test(tc, test_mcp_lifecycle);
	tcase_add_loop_test(tc, test_mcp_versions, 0, 3);
	tcase_add_test(tc, test_mcp_wrong_params);
	tcase_add_test(tc, test_mcp_tool_errors);
	tcase_add_test(tc, test_mcp_tools_list);
	tcase_add_test(tc, test_mcp_resource_not_found);
	tcase_add_test(tc, test_mcp_batch_refused);
	tcase_add_test(tc, test_mcp_batch_2025_03_26);
	tcase_add_test(tc, test_mcp_stdio_long_line);
	suite_add_tcase(s, tc);
	return (s);
}
