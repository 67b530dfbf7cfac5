/*
 * The MCP core as a transport sees it (what each message is, which
 * input it belongs to, when an input is done), the server's own
 * requests and their responses, messages about a request, and MCP tasks
 * (a refused spec makes a failed task; versions and tools without
 * tasks refuse them), and get_job's answer, kept until the job changes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define TK_MAX	32

/* What the transport of these tests was given. */
static struct {
	struct json_object	*msg[TK_MAX];
	enum mcp_send		 kind[TK_MAX];
	void			*ctx[TK_MAX];
	int			 n;
	void			*done[TK_MAX];
	int			 ndone;
} tk;

static struct mcp_conn	*tconn;
static char		*tdir;

static void
tk_send(void *arg, void *ctx, enum mcp_send kind, const char *s, size_t len)
{
	char	*cause = NULL;

	ck_assert_int_lt(tk.n, TK_MAX);
	tk.msg[tk.n] = json_parse(s, len, &cause);
	ck_assert_ptr_nonnull(tk.msg[tk.n]);
	tk.kind[tk.n] = kind;
	tk.ctx[tk.n] = ctx;
	tk.n++;
}

static void
tk_done(void *arg, void *ctx)
{
	ck_assert_int_lt(tk.ndone, TK_MAX);
	tk.done[tk.ndone++] = ctx;
}

static const struct mcp_transport tk_ops = { "test", tk_send, tk_done };

static void
tk_clear(void)
{
	while (tk.n > 0)
		json_object_put(tk.msg[--tk.n]);
	tk.ndone = 0;
}

static void
tk_setup(void)
{
	tdir = test_tmpdir();
	ck_assert_int_eq(store_init(tdir, &(char *){ NULL }), 0);
	jobs_init();
	pack_init(tdir);
	mcp_init();
	tconn = mcp_conn_new(&tk_ops, NULL);
}

static void
tk_teardown(void)
{
	tk_clear();
	mcp_conn_free(&tconn);
	mcp_fini();
	jobs_clear();
	store_close();
	test_rmdir(tdir);
}

/* Feed one message with ctx; the messages it caused are in tk. */
static void
tk_input(const char *text, void *ctx)
{
	tk_clear();
	mcp_conn_input(tconn, text, strlen(text), ctx);
}

static void
tk_init(const char *version)
{
	char	*line;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"%s\"}}", version);
	tk_input(line, NULL);
	free(line);
	tk_input("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}", NULL);
}

/* The message with this id among those sent, or NULL. */
static struct json_object *
tk_reply(int64_t id)
{
	struct json_object	*v;
	int			 i;

	for (i = 0; i < tk.n; i++)
		if (json_object_object_get_ex(tk.msg[i], "id", &v) &&
		    json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) == id &&
		    !json_object_object_get_ex(tk.msg[i], "method", NULL))
			return (tk.msg[i]);
	return (NULL);
}

static struct json_object *
tk_result(int64_t id)
{
	struct json_object	*r = tk_reply(id), *res;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_object_object_get_ex(r, "result", &res),
	    "no result: %s", json_str(r));
	return (res);
}

static int
tk_error(int64_t id)
{
	struct json_object	*r = tk_reply(id), *e;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_object_object_get_ex(r, "error", &e),
	    "no error: %s", json_str(r));
	return ((int)json_peek_int(e, "code", 0));
}

START_TEST(test_kinds_and_done)
{
	int	a, b, c, d;

	tk_init("2025-11-25");
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", &a);
	ck_assert_int_eq(tk.n, 1);
	ck_assert_int_eq(tk.kind[0], MCP_SEND_REPLY);
	ck_assert_ptr_eq(tk.ctx[0], &a);
	ck_assert_int_eq(tk.ndone, 1);
	ck_assert_ptr_eq(tk.done[0], &a);
	/* A notification: done, nothing sent. */
	tk_input("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", &b);
	ck_assert_int_eq(tk.n, 0);
	ck_assert_int_eq(tk.ndone, 1);
	/* Refusals of the input itself, answers to well-formed requests. */
	tk_input("{\"jsonrpc\":", &c);
	ck_assert_int_eq(tk.kind[0], MCP_SEND_ERROR);
	ck_assert_ptr_eq(tk.done[0], &c);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}", &d);
	ck_assert_int_eq(tk.kind[0], MCP_SEND_REPLY);
	ck_assert_int_eq(tk_error(3), MCP_METHOD_NOT_FOUND);
}
END_TEST

/* A method of the test that asks the client, then answers with that. */
static void
tk_answered(struct mcp_req *r, struct json_object *res,
    struct json_object *err, void *arg)
{
	mcp_reply(r, json_object_get(res != NULL ? res : err));
}

static void
tk_ask(struct mcp_req *r, struct json_object *params)
{
	mcp_req_log(r, MCP_DEBUG, "t", json_object_new_string("hidden"));
	mcp_req_log(r, MCP_WARNING, "t", json_object_new_string("shown"));
	mcp_progress_at(r, 50, 100, "half");
	ck_assert_int_eq(mcp_request(r, "sampling/createMessage",
	    json_object_new_object(), tk_answered, NULL), 0);
	mcp_req_pend(r, NULL, NULL);
}

START_TEST(test_server_request)
{
	struct json_object	*ask, *p;
	int			 a, b;
	char			*line;
	int64_t			 id;

	mcp_add_method("test/ask", tk_ask);
	tk_init("2025-11-25");
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"test/ask\","
	    "\"params\":{\"_meta\":{\"progressToken\":\"tok\"}}}", &a);
	/* The log at warning (debug is below info), progress, our request. */
	ck_assert_int_eq(tk.n, 3);
	ck_assert_int_eq(tk.ndone, 0);
	ck_assert_int_eq(tk.kind[0], MCP_SEND_RELATED);
	ck_assert_ptr_eq(tk.ctx[0], &a);
	ck_assert(json_object_object_get_ex(tk.msg[0], "params", &p));
	ck_assert_str_eq(json_peek_string(p, "data"), "shown");
	ck_assert(json_object_object_get_ex(tk.msg[1], "params", &p));
	ck_assert_str_eq(json_peek_string(p, "progressToken"), "tok");
	ck_assert_int_eq(json_peek_int(p, "progress", 0), 50);
	ck_assert_int_eq(json_peek_int(p, "total", 0), 100);
	ask = tk.msg[2];
	ck_assert_str_eq(json_peek_string(ask, "method"),
	    "sampling/createMessage");
	ck_assert_int_eq(tk.kind[2], MCP_SEND_RELATED);
	id = json_peek_int(ask, "id", -1);
	ck_assert_int_gt(id, 0);
	ck_assert(mcp_conn_busy(tconn));
	/* The client's response comes in another input. */
	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":"
	    "{\"answer\":42}}", (long long)id);
	tk_input(line, &b);
	free(line);
	ck_assert_int_eq(tk.n, 1);
	ck_assert_ptr_eq(tk.ctx[0], &a);
	ck_assert_int_eq(json_peek_int(tk_result(5), "answer", 0), 42);
	ck_assert_int_eq(tk.ndone, 2);
	ck_assert_ptr_eq(tk.done[0], &a);
	ck_assert_ptr_eq(tk.done[1], &b);
	ck_assert(!mcp_conn_busy(tconn));
	/* Again: nobody waits for it any more. */
	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{}}",
	    (long long)id);
	tk_input(line, &b);
	free(line);
	ck_assert_int_eq(tk.n, 0);
}
END_TEST

#define TK_BAD_SUBMIT \
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":" \
	"{\"name\":\"submit_job\",\"arguments\":{\"job\":\"fix-tests\"}," \
	"\"task\":{\"ttl\":60000}}}"

START_TEST(test_task_refused_spec)
{
	struct json_object	*res, *t, *meta, *rel;
	char			 id[64], *line;

	tk_init("2025-11-25");
	tk_input(TK_BAD_SUBMIT, NULL);
	res = tk_result(7);
	ck_assert(json_object_object_get_ex(res, "task", &t));
	ck_assert_str_eq(json_peek_string(t, "status"), "working");
	ck_assert_int_eq(strlen(json_peek_string(t, "taskId")), 32);
	ck_assert_int_eq(json_peek_int(t, "ttl", 0), 60000);
	ck_assert_ptr_nonnull(json_peek_string(t, "createdAt"));
	snprintf(id, sizeof(id), "%s", json_peek_string(t, "taskId"));
	/* Then its creator hears that it failed. */
	ck_assert_int_eq(tk.n, 2);
	ck_assert_str_eq(json_peek_string(tk.msg[1], "method"),
	    "notifications/tasks/status");
	ck_assert_int_eq(tk.kind[1], MCP_SEND_CONN);

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":"
	    "\"tasks/get\",\"params\":{\"taskId\":\"%s\"}}", id);
	tk_input(line, NULL);
	free(line);
	res = tk_result(8);
	ck_assert_str_eq(json_peek_string(res, "status"), "failed");
	ck_assert_msg(strstr(json_peek_string(res, "statusMessage"),
	    "invalid job spec") != NULL, "%s", json_str(res));

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":"
	    "\"tasks/result\",\"params\":{\"taskId\":\"%s\"}}", id);
	tk_input(line, NULL);
	free(line);
	res = tk_result(9);
	ck_assert(json_object_get_boolean(json_object_object_get(res,
	    "isError")));
	ck_assert(json_object_object_get_ex(res, "_meta", &meta));
	ck_assert(json_object_object_get_ex(meta,
	    "io.modelcontextprotocol/related-task", &rel));
	ck_assert_str_eq(json_peek_string(rel, "taskId"), id);

	tk_input("{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tasks/list\"}",
	    NULL);
	res = tk_result(10);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(res,
	    "tasks")), 1);

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":"
	    "\"tasks/cancel\",\"params\":{\"taskId\":\"%s\"}}", id);
	tk_input(line, NULL);
	free(line);
	ck_assert_int_eq(tk_error(11), MCP_INVALID_PARAMS);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tasks/get\","
	    "\"params\":{\"taskId\":\"nope\"}}", NULL);
	ck_assert_int_eq(tk_error(12), MCP_INVALID_PARAMS);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"tasks/get\"}",
	    NULL);
	ck_assert_int_eq(tk_error(13), MCP_INVALID_PARAMS);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"tasks/list\","
	    "\"params\":{\"cursor\":\"bogus\"}}", NULL);
	ck_assert_int_eq(tk_error(14), MCP_INVALID_PARAMS);
}
END_TEST

START_TEST(test_task_refused_where_unsupported)
{
	struct json_object	*res, *caps;

	/* A tool without task support. */
	tk_init("2025-11-25");
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
	    "\"params\":{\"name\":\"get_job\",\"arguments\":{},\"task\":{}}}",
	    NULL);
	ck_assert_int_eq(tk_error(2), MCP_METHOD_NOT_FOUND);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
	    "\"params\":{\"name\":\"submit_job\",\"arguments\":{},"
	    "\"task\":{\"ttl\":-5}}}", NULL);
	ck_assert_int_eq(tk_error(3), MCP_INVALID_PARAMS);
	mcp_conn_free(&tconn);

	/* An older version: no tasks at all; the task param is ignored. */
	tconn = mcp_conn_new(&tk_ops, NULL);
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
	    NULL);
	ck_assert(json_object_object_get_ex(tk_result(1), "capabilities",
	    &caps));
	ck_assert(!json_object_object_get_ex(caps, "tasks", NULL));
	tk_input("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/list\"}",
	    NULL);
	ck_assert_int_eq(tk_error(4), MCP_METHOD_NOT_FOUND);
	tk_input(TK_BAD_SUBMIT, NULL);
	res = tk_result(7);
	ck_assert(!json_object_object_get_ex(res, "task", NULL));
	ck_assert(json_object_get_boolean(json_object_object_get(res,
	    "isError")));
}
END_TEST

/* get_job's answer (id 9) for j, as text. */
static char *
tk_get_job(const struct job *j)
{
	char	*line;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"get_job\","
	    "\"arguments\":{\"job_id\":\"%s\"}}}", j->j_id);
	tk_input(line, NULL);
	free(line);
	return (xstrdup(json_str(tk_result(9))));
}

/* Each change a view shows makes get_job answer anew; else it repeats. */
START_TEST(test_get_job_view_kept)
{
	struct job	*j;
	char		*a, *b;

	tk_init("2025-11-25");
	j = job_create(json_tokener_parse("{\"job\":\"fix-tests\"}"), NULL);
	a = tk_get_job(j);
	b = tk_get_job(j);
	ck_assert_str_eq(a, b);		/* the same tag too */
	free(b);

	job_add_recent(j, "ran make check");
	b = tk_get_job(j);
	ck_assert_str_ne(a, b);
	ck_assert_ptr_nonnull(strstr(b, "ran make check"));
	free(a);
	a = b;

	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	b = tk_get_job(j);
	ck_assert_ptr_nonnull(strstr(b, "\"state\":\"starting\""));
	free(a);
	a = b;

	job_set_result(j, json_tokener_parse("{\"summary\":\"all green\"}"));
	b = tk_get_job(j);
	ck_assert_ptr_nonnull(strstr(b, "all green"));
	free(a);
	free(b);
}
END_TEST

/* Only the answers asked for most recently are kept. */
START_TEST(test_get_job_views_bounded)
{
	struct job	*j[TOOLS_VIEWS_MAX + 1];
	size_t		 i;

	tk_init("2025-11-25");
	for (i = 0; i <= TOOLS_VIEWS_MAX; i++)
		j[i] = job_create(json_tokener_parse("{\"job\":\"fix-tests\"}"),
		    NULL);
	for (i = 0; i < TOOLS_VIEWS_MAX; i++)
		free(tk_get_job(j[i]));
	free(tk_get_job(j[0]));		/* now the most recent */
	free(tk_get_job(j[TOOLS_VIEWS_MAX]));
	ck_assert_ptr_nonnull(j[0]->j_view.jv_text);
	ck_assert_ptr_null(j[1]->j_view.jv_text);	/* the least recent */
	ck_assert_ptr_nonnull(j[2]->j_view.jv_text);
	ck_assert_ptr_nonnull(j[TOOLS_VIEWS_MAX]->j_view.jv_text);
}
END_TEST

Suite *
task_suite(void)
{
	Suite	*s = suite_create("task");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, tk_setup, tk_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_kinds_and_done);
	tcase_add_test(tc, test_server_request);
	tcase_add_test(tc, test_task_refused_spec);
	tcase_add_test(tc, test_task_refused_where_unsupported);
	tcase_add_test(tc, test_get_job_view_kept);
	tcase_add_test(tc, test_get_job_views_bounded);
	suite_add_tcase(s, tc);
	return (s);
}
