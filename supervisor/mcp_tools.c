/*
 * The MCP tools: one table row per tool with its schemas, annotations and
 * handler.  tools/list is built from the table once; tools/call checks
 * the arguments each tool takes and answers with structuredContent and a
 * text copy, or with a tool error (isError) that says what was wrong.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define TOOLS_LIST_DEFAULT	20
#define TOOLS_LIST_MAX		100
#define TOOLS_LOG_DEFAULT	100
#define TOOLS_LOG_MAX		1000

#define S_JOB_ID \
	"\"job_id\":{\"type\":\"string\",\"pattern\":\"^j-[0-9a-f]{16}$\"," \
	"\"description\":\"The id submit_job returned.\"}"
#define S_STATES \
	"[\"queued\",\"starting\",\"provisioning\",\"injecting\"," \
	"\"fetching_repo\",\"running\",\"collecting\",\"succeeded\"," \
	"\"failed\",\"cancelled\",\"timed_out\",\"crashed\",\"interrupted\"]"
#define S_TYPES \
	"[\"bootstrap\",\"fix-tests\",\"refactor\",\"experiment\",\"custom\"]"
#define S_BRIEF \
	"\"job_id\":{\"type\":\"string\"}," \
	"\"state\":{\"type\":\"string\",\"enum\":" S_STATES "}," \
	"\"done\":{\"type\":\"boolean\"},\"reason\":{\"type\":\"string\"}," \
	"\"job\":{\"type\":\"string\"},\"repo\":{\"type\":\"object\"}," \
	"\"created_at\":{\"type\":\"string\"}," \
	"\"started_at\":{\"type\":\"string\"}," \
	"\"updated_at\":{\"type\":\"string\"}," \
	"\"finished_at\":{\"type\":\"string\"}"
#define S_BRIEF_REQ \
	"[\"job_id\",\"state\",\"done\",\"job\",\"created_at\",\"updated_at\"]"
#define S_JOB \
	"{\"type\":\"object\",\"properties\":{" S_BRIEF "," \
	"\"queue_position\":{\"type\":\"integer\"}," \
	"\"cancel_requested\":{\"type\":\"boolean\"}," \
	"\"events\":{\"type\":\"integer\"}," \
	"\"recent_activity\":{\"type\":\"array\",\"items\":{\"type\":" \
	"\"string\"}},\"summary\":{\"type\":\"string\"}," \
	"\"tests\":{\"type\":\"object\"},\"diff\":{\"type\":\"object\"}," \
	"\"artifacts\":{\"type\":\"array\"},\"agent\":{\"type\":\"object\"}," \
	"\"sandbox\":{\"type\":\"object\"},\"skills\":{\"type\":\"object\"}," \
	"\"timings_ms\":{\"type\":\"object\"}," \
	"\"resources\":{\"type\":\"object\"}," \
	"\"created\":{\"type\":\"boolean\"}},\"required\":" S_BRIEF_REQ "}"

static const char tools_submit_in[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"repo\":{\"type\":\"object\",\"description\":\"The repository: "
    "{\\\"url\\\": an https, ssh or git URL, \\\"ref\\\": optional branch, "
    "tag or commit} or {\\\"path\\\": a local directory under "
    "SKILLBOX_ALLOWED_ROOTS}.\",\"properties\":{"
    "\"url\":{\"type\":\"string\"},\"ref\":{\"type\":\"string\"},"
    "\"path\":{\"type\":\"string\"}},\"additionalProperties\":false},"
    "\"job\":{\"type\":\"string\",\"enum\":" S_TYPES ",\"description\":"
    "\"bootstrap: make it build and test; fix-tests: run the tests and fix "
    "the code; refactor: change the code, keep behaviour; experiment: run "
    "a data experiment; custom: follow the instructions.\"},"
    "\"instructions\":{\"type\":\"string\",\"maxLength\":65536},"
    "\"timeout_s\":{\"type\":\"integer\",\"minimum\":60,\"maximum\":86400,"
    "\"default\":1800},"
    "\"max_turns\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"model\":{\"type\":\"string\"},"
    "\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
    "\"string\"},\"description\":\"Non-secret environment for the job.\"},"
    "\"artifacts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"maxItems\":32,\"description\":\"Globs, relative to the repo, of "
    "files to bring back.\"},"
    "\"idempotency_key\":{\"type\":\"string\",\"description\":\"Submitting "
    "the same key again returns the existing job.\"}},"
    "\"required\":[\"repo\",\"job\"],\"additionalProperties\":false}";
static const char tools_get_in[] =
    "{\"type\":\"object\",\"properties\":{" S_JOB_ID "},"
    "\"required\":[\"job_id\"],\"additionalProperties\":false}";
static const char tools_wait_in[] =
    "{\"type\":\"object\",\"properties\":{" S_JOB_ID ","
    "\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600,"
    "\"default\":50,\"description\":\"How long to wait at most; the job "
    "keeps running after.\"}},"
    "\"required\":[\"job_id\"],\"additionalProperties\":false}";
static const char tools_cancel_in[] =
    "{\"type\":\"object\",\"properties\":{" S_JOB_ID ","
    "\"reason\":{\"type\":\"string\",\"maxLength\":256}},"
    "\"required\":[\"job_id\"],\"additionalProperties\":false}";
static const char tools_list_in[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"state\":{\"oneOf\":[{\"type\":\"string\",\"enum\":" S_STATES "},"
    "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"enum\":" S_STATES
    "}}],\"description\":\"Only jobs in this state (or these states); "
    "\\\"active\\\" is not a state: list the non-terminal ones.\"},"
    "\"job\":{\"type\":\"string\",\"enum\":" S_TYPES "},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,"
    "\"default\":20},"
    "\"cursor\":{\"type\":\"string\",\"description\":\"next_cursor from the "
    "previous page.\"}},\"additionalProperties\":false}";
static const char tools_log_in[] =
    "{\"type\":\"object\",\"properties\":{" S_JOB_ID ","
    "\"offset\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,"
    "\"default\":100}},"
    "\"required\":[\"job_id\"],\"additionalProperties\":false}";
static const char tools_skills_in[] =
    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}";

static const char tools_list_out[] =
    "{\"type\":\"object\",\"properties\":{\"jobs\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{" S_BRIEF "},"
    "\"required\":" S_BRIEF_REQ "}},\"next_cursor\":{\"type\":\"string\"},"
    "\"total\":{\"type\":\"integer\"}},\"required\":[\"jobs\",\"total\"]}";
static const char tools_log_out[] =
    "{\"type\":\"object\",\"properties\":{\"job_id\":{\"type\":\"string\"},"
    "\"offset\":{\"type\":\"integer\"},\"next_offset\":{\"type\":"
    "\"integer\"},\"total\":{\"type\":\"integer\"},\"done\":{\"type\":"
    "\"boolean\"},\"entries\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},\"at\":"
    "{\"type\":\"string\"},\"kind\":{\"type\":\"string\"}},\"required\":"
    "[\"n\",\"kind\"]}}},\"required\":[\"job_id\",\"offset\","
    "\"next_offset\",\"total\",\"done\",\"entries\"]}";
static const char tools_skills_out[] =
    "{\"type\":\"object\",\"properties\":{\"skills\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
    "\"string\"},\"description\":{\"type\":\"string\"},\"uri\":{\"type\":"
    "\"string\"}},\"required\":[\"name\",\"description\",\"uri\"]}},"
    "\"count\":{\"type\":\"integer\"},\"version\":{\"type\":\"string\","
    "\"description\":\"The pack's version and digest, as every job's "
    "result reports it.\"}},\"required\":[\"skills\",\"count\","
    "\"version\"]}";

static void	tool_submit(struct mcp_req *, struct json_object *);
static void	tool_get(struct mcp_req *, struct json_object *);
static void	tool_cancel(struct mcp_req *, struct json_object *);
static void	tool_list(struct mcp_req *, struct json_object *);
static void	tool_log(struct mcp_req *, struct json_object *);
static void	tool_skills(struct mcp_req *, struct json_object *);

static const struct mcp_tool tools[] = {
	{ "submit_job", "Submit a coding job",
	  "Start a coding job on a repository in a fresh sandbox with "
	  "Claude Code. Returns at once with the job (queued or starting); "
	  "follow it with wait_job or get_job.",
	  tools_submit_in, S_JOB, T_OPEN, tool_submit, tasks_submit },
	{ "get_job", "Get a job",
	  "The job's state and, once it is done, its result: summary, "
	  "tests, diff, artifacts, agent, sandbox, skills and timings.",
	  tools_get_in, S_JOB, T_RO | T_IDEM, tool_get, NULL },
	{ "wait_job", "Wait for a job",
	  "Wait until the job is done or timeout_s passes, reporting "
	  "progress (phase and recent agent activity) meanwhile. Returns the "
	  "job as get_job does; done tells whether it finished.",
	  tools_wait_in, S_JOB, T_RO | T_IDEM, tools_wait, NULL },
	{ "cancel_job", "Cancel a job",
	  "Cancel a queued or running job: the worker stops the agent and "
	  "kills the sandbox. A finished job cannot be cancelled.",
	  tools_cancel_in, S_JOB, T_DESTR | T_IDEM, tool_cancel, NULL },
	{ "list_jobs", "List jobs",
	  "Jobs, newest first, optionally filtered by state and type, a page "
	  "at a time (pass next_cursor back as cursor).",
	  tools_list_in, tools_list_out, T_RO | T_IDEM, tool_list, NULL },
	{ "get_job_log", "Read a job's log",
	  "Entries of the job's event log (state changes, agent events, "
	  "worker messages) from offset, at most limit of them; pass "
	  "next_offset back to continue. Replays everything a lost stream "
	  "missed.",
	  tools_log_in, tools_log_out, T_RO | T_IDEM, tool_log, NULL },
	{ "list_skills", "List the skills",
	  "The skills in the Skills pack that every job's sandbox gets.",
	  tools_skills_in, tools_skills_out, T_RO | T_IDEM, tool_skills, NULL },
};

#define NTOOLS		(sizeof(tools) / sizeof(tools[0]))
#define TOOLS_EXTRA_MAX	64

static struct json_object *tools_listing;
static const struct mcp_tool *tools_extra[TOOLS_EXTRA_MAX];
static size_t		 tools_nextra;


static struct json_object *tools_schema(const char *);
static int	tools_check_args(struct json_object *, const char *const *,
		    char **);
static struct job *tools_job(struct mcp_req *, struct json_object *);

/* Parse a schema from the table; a bad one is a bug. */
static struct json_object *
tools_schema(const char *text)
{
	struct json_object	*o;
	char			*cause = NULL;

	if ((o = json_parse(text, strlen(text), &cause)) == NULL)
		fatalx("tool schema: %s: %s", cause, text);
	return (o);
}

/* One tools/list entry. */
static struct json_object *
tools_entry(const struct mcp_tool *t)
{
	struct json_object	*o, *ann, *ex;

	o = json_object_new_object();
	json_add_string(o, "name", t->t_name);
	if (t->t_title != NULL)
		json_add_string(o, "title", t->t_title);
	json_add_string(o, "description", t->t_desc);
	json_object_object_add(o, "inputSchema", tools_schema(t->t_in));
	if (t->t_out != NULL)
		json_object_object_add(o, "outputSchema",
		    tools_schema(t->t_out));
	ann = json_object_new_object();
	if (t->t_title != NULL)
		json_add_string(ann, "title", t->t_title);
	json_add_bool(ann, "readOnlyHint", (t->t_hints & T_RO) != 0);
	json_add_bool(ann, "destructiveHint", (t->t_hints & T_DESTR) != 0);
	json_add_bool(ann, "idempotentHint", (t->t_hints & T_IDEM) != 0);
	json_add_bool(ann, "openWorldHint", (t->t_hints & T_OPEN) != 0);
	json_object_object_add(o, "annotations", ann);
	if (t->t_task_fn != NULL) {
		ex = json_object_new_object();
		json_add_string(ex, "taskSupport", "optional");
		json_object_object_add(o, "execution", ex);
	}
	return (o);
}

/* Build the tools/list answer: the built-in tools, then the extra ones. */
static void
tools_build(void)
{
	struct json_object	*arr;
	size_t			 i;

	arr = json_object_new_array();
	for (i = 0; i < NTOOLS; i++)
		json_object_array_add(arr, tools_entry(&tools[i]));
	for (i = 0; i < tools_nextra; i++)
		json_object_array_add(arr, tools_entry(tools_extra[i]));
	json_object_put(tools_listing);
	tools_listing = json_object_new_object();
	json_object_object_add(tools_listing, "tools", arr);
}

void
tools_init(void)
{
	tools_nextra = 0;
	tools_build();
	jobs_set_hook(tools_job_changed);
}

/* Add tools (a fixture's) after the built-in ones; t must stay valid. */
void
tools_register(const struct mcp_tool *t, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (tools_nextra == TOOLS_EXTRA_MAX)
			fatalx("tools: too many extra tools");
		tools_extra[tools_nextra++] = &t[i];
	}
	tools_build();
}

void
tools_fini(void)
{
	json_object_put(tools_listing);
	tools_listing = NULL;
	tools_wait_fini();
}

/* tools/list: one page holds them all, so any cursor is not ours. */
void
tools_list(struct mcp_req *r, struct json_object *params)
{
	if (params != NULL && json_object_object_get_ex(params, "cursor",
	    NULL)) {
		mcp_error(r, MCP_INVALID_PARAMS, "Invalid params: unknown "
		    "cursor", NULL);
		return;
	}
	mcp_reply(r, json_object_get(tools_listing));
}

/* The tool of this name, built in or extra, or NULL. */
static const struct mcp_tool *
tools_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NTOOLS; i++)
		if (strcmp(name, tools[i].t_name) == 0)
			return (&tools[i]);
	for (i = 0; i < tools_nextra; i++)
		if (strcmp(name, tools_extra[i]->t_name) == 0)
			return (tools_extra[i]);
	return (NULL);
}

/*
 * tools/call: find the tool, then let it check its arguments.  A call
 * with params.task (2025-11-25) goes to the tool's task handler.
 */
void
tools_call(struct mcp_req *r, struct json_object *params)
{
	const struct mcp_tool	*t;
	struct json_object	*args = NULL, *empty = NULL, *task = NULL;
	const char		*name = NULL;
	char			*cause = NULL;

	if (json_get_string(params, "params", "name", J_REQUIRED, 128, &name,
	    &cause) == -1 || json_get_object(params, "params", "arguments",
	    J_OPTIONAL, &args, &cause) == -1 || (tasks_enabled(r) &&
	    json_get_object(params, "params", "task", J_OPTIONAL, &task,
	    &cause) == -1)) {
		mcp_invalid_params(r, cause);
		return;
	}
	if ((t = tools_find(name)) == NULL) {
		mcp_errorf(r, MCP_INVALID_PARAMS, "Unknown tool: %.128s",
		    name);
		return;
	}
	if (task != NULL && t->t_task_fn == NULL) {
		mcp_errorf(r, MCP_METHOD_NOT_FOUND, "Tool %s does not support "
		    "task-augmented calls", t->t_name);
		return;
	}
	if (args == NULL)
		args = empty = json_object_new_object();
	if (task != NULL)
		t->t_task_fn(r, args, task);
	else
		t->t_fn(r, args);
	json_object_put(empty);
}

/*
 * A CallToolResult with structured content (taken) and its text copy,
 * serialised once for both; isError if is_error, and extra (a raw
 * "key":value member, or NULL) added.
 */
char *
tools_result_text(struct json_object *sc, int is_error, const char *extra)
{
	struct buf	 b;
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(sc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	buf_init(&b, (size_t)-1 / 2);
	(void)buf_addstr(&b, "{\"content\":[{\"type\":\"text\",\"text\":\"");
	(void)json_escape(&b, s, len);
	(void)buf_addstr(&b, "\"}],\"structuredContent\":");
	(void)buf_add(&b, s, len);
	if (is_error)
		(void)buf_addstr(&b, ",\"isError\":true");
	if (extra != NULL)
		(void)buf_printf(&b, ",%s", extra);
	(void)buf_addc(&b, '}');
	json_object_put(sc);
	return (buf_detach(&b, NULL));
}

/* Answer a tool call with structured content (taken) and its text copy. */
void
tools_result(struct mcp_req *r, struct json_object *sc)
{
	char	*text = tools_result_text(sc, 0, NULL);

	mcp_reply_text(r, text, strlen(text));
	free(text);
}

/* The jobs whose get_job answer is kept, most recently asked for first. */
static TAILQ_HEAD(tools_viewq, job) tools_views =
    TAILQ_HEAD_INITIALIZER(tools_views);
static size_t	tools_nviews;

/* Let go of the job's kept answer, if it has one. */
void
tools_view_forget(struct job *j)
{
	if (j->j_view.jv_text == NULL)
		return;
	TAILQ_REMOVE(&tools_views, j, j_view.jv_entry);
	tools_nviews--;
	free(j->j_view.jv_text);
	j->j_view.jv_text = NULL;
}

/*
 * Answer a tool call with the job's whole view, made again only when the
 * job changed since it was last made.  The untrusted envelope's tag is
 * drawn when the view is made, after every text inside was written, so
 * repeating it to a client that polls tells no text anything it could
 * have used.
 */
void
tools_result_job(struct mcp_req *r, struct job *j)
{
	struct job_view	*v = &j->j_view;
	size_t		 qpos = sched_queue_position(j);
	size_t		 events = j->j_log.jl_indexed ?
			    (size_t)j->j_log.jl_count + 1 : 0;

	if (v->jv_text != NULL && (v->jv_gen != j->j_gen ||
	    v->jv_qpos != qpos || v->jv_events != events))
		tools_view_forget(j);
	if (v->jv_text == NULL) {
		v->jv_text = tools_result_text(tools_view(j), 0, NULL);
		v->jv_len = strlen(v->jv_text);
		v->jv_gen = j->j_gen;
		v->jv_qpos = qpos;
		v->jv_events = events;
		tools_nviews++;
	} else
		TAILQ_REMOVE(&tools_views, j, j_view.jv_entry);
	TAILQ_INSERT_HEAD(&tools_views, j, j_view.jv_entry);
	if (tools_nviews > TOOLS_VIEWS_MAX)
		tools_view_forget(TAILQ_LAST(&tools_views, tools_viewq));
	mcp_reply_text(r, v->jv_text, v->jv_len);
}

/* A CallToolResult with isError, saying msg. */
struct json_object *
tools_error_result(const char *msg)
{
	struct json_object	*res, *content, *text;

	text = json_object_new_object();
	json_add_string(text, "type", "text");
	json_add_string(text, "text", msg);
	content = json_object_new_array();
	json_object_array_add(content, text);
	res = json_object_new_object();
	json_object_object_add(res, "content", content);
	json_add_bool(res, "isError", 1);
	return (res);
}

/* Answer a tool call with a tool error: the call ran, and failed. */
void
tools_error(struct mcp_req *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_debug("tool error: %s", msg);
	mcp_reply(r, tools_error_result(msg));
	free(msg);
}

/* A tool error saying cause; takes ownership of cause. */
void
tools_fail(struct mcp_req *r, char *cause)
{
	tools_error(r, "%s", cause);
	free(cause);
}

/* Refuse arguments a tool does not take. */
static int
tools_check_args(struct json_object *args, const char *const *known,
    char **cause)
{
	size_t	i;

	json_object_object_foreach(args, key, val) {
		(void)val;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			xasprintf(cause, "%.64s: unknown argument", key);
			return (-1);
		}
	}
	return (0);
}

/* The job named by args.job_id, or NULL after answering with an error. */
static struct job *
tools_job(struct mcp_req *r, struct json_object *args)
{
	const char	*id = NULL;
	char		*cause = NULL;
	struct job	*j;

	if (json_get_string(args, NULL, "job_id", J_REQUIRED, 64, &id,
	    &cause) == -1) {
		tools_fail(r, cause);
		return (NULL);
	}
	if ((j = jobs_find(id)) == NULL)
		tools_error(r, "job_id: no job '%.64s' (unknown job id)", id);
	return (j);
}

/* Check a tool's arguments: known names, then the job; NULL if bad. */
struct job *
tools_job_args(struct mcp_req *r, struct json_object *args,
    const char *const *known)
{
	char	*cause = NULL;

	if (tools_check_args(args, known, &cause) == -1) {
		tools_fail(r, cause);
		return (NULL);
	}
	return (tools_job(r, args));
}

/* The job as structured content, with its own envelope tag. */
struct json_object *
tools_view(const struct job *j)
{
	struct untrusted	u;

	untrusted_init(&u);
	return (view_job(j, &u));
}

/*
 * Validate a job spec and queue or start its job, for c; every client
 * hears that the resource list changed.  NULL with *cause set if the
 * spec is invalid or the job refused.
 */
struct job *
tools_submit(struct mcp_conn *c, struct json_object *args, int *created,
    char **cause)
{
	struct jobspec	*js;
	struct job	*j;
	char		*why = NULL;

	if (jobspec_parse(args, &js, &why) == -1) {
		xasprintf(cause, "invalid job spec: %s", why);
		free(why);
		return (NULL);
	}
	if ((j = sched_submit(js, c, created, &why)) == NULL) {
		xasprintf(cause, "job refused: %s", why);
		free(why);
		return (NULL);
	}
	if (*created)
		tools_jobs_listed();
	return (j);
}

/* Jobs came or went: every client hears that the resource list changed. */
void
tools_jobs_listed(void)
{
	struct mcp_conn	*c;

	for (c = mcp_conn_first(); c != NULL; c = mcp_conn_next(c))
		mcp_notify(c, "notifications/resources/list_changed", NULL);
}

/* submit_job: validate the spec, queue or start the job. */
static void
tool_submit(struct mcp_req *r, struct json_object *args)
{
	struct json_object	*sc;
	struct job		*j;
	char			*cause = NULL;
	int			 created;

	if ((j = tools_submit(r->mr_conn, args, &created, &cause)) == NULL) {
		tools_fail(r, cause);
		return;
	}
	sc = tools_view(j);
	json_add_bool(sc, "created", created);
	tools_result(r, sc);
}

static void
tool_get(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { "job_id", NULL };
	struct job		*j;

	if ((j = tools_job_args(r, args, known)) != NULL)
		tools_result_job(r, j);
}

/* cancel_job: stop a queued or running job. */
static void
tool_cancel(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { "job_id", "reason", NULL };
	struct job		*j;
	const char		*reason = NULL;
	char			*cause = NULL;

	if ((j = tools_job_args(r, args, known)) == NULL)
		return;
	if (json_get_string(args, NULL, "reason", J_OPTIONAL, 256, &reason,
	    &cause) == -1 || sched_cancel(j, reason, &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	tools_result_job(r, j);
}

/* list_jobs filters: a set of states, a type. */
struct tools_filter {
	int		 tf_states[JOB_STATE_MAX];
	int		 tf_any_state;
	enum job_type	 tf_type;
	int		 tf_any_type;
};

/* Read list_jobs' state and type filters. */
static int
tools_filter_parse(struct json_object *args, struct tools_filter *f,
    char **cause)
{
	struct json_object	*v, *el;
	const char		*type = NULL;
	enum job_state		 st;
	size_t			 i, n;

	memset(f, 0, sizeof(*f));
	f->tf_any_state = f->tf_any_type = 1;
	if (json_object_object_get_ex(args, "state", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		f->tf_any_state = 0;
		n = json_object_is_type(v, json_type_array) ?
		    json_object_array_length(v) : 1;
		for (i = 0; i < n; i++) {
			el = json_object_is_type(v, json_type_array) ?
			    json_object_array_get_idx(v, i) : v;
			if (!json_object_is_type(el, json_type_string) ||
			    job_state_parse(json_object_get_string(el),
			    &st) == -1) {
				xasprintf(cause, "state: expected a job state "
				    "or an array of them");
				return (-1);
			}
			f->tf_states[st] = 1;
		}
	}
	if (json_get_string(args, NULL, "job", J_OPTIONAL, 32, &type,
	    cause) == -1)
		return (-1);
	if (type != NULL) {
		f->tf_any_type = 0;
		if (jobspec_type_parse(type, &f->tf_type) == -1) {
			xasprintf(cause, "job: unknown job type '%.32s'", type);
			return (-1);
		}
	}
	return (0);
}

static int
tools_filter_match(const struct tools_filter *f, const struct job *j)
{
	return ((f->tf_any_state || f->tf_states[j->j_state]) &&
	    (f->tf_any_type || f->tf_type == j->j_type));
}

/* list_jobs: newest first, filtered, a page at a time. */
static void
tool_list(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { "state", "job", "limit",
	    "cursor", NULL };
	struct tools_filter	 f;
	struct json_object	*sc, *arr;
	struct job		*j;
	const char		*cursor = NULL;
	char			*cause = NULL, *next;
	int64_t			 limit = TOOLS_LIST_DEFAULT, n = 0;
	uint64_t		 seq = UINT64_MAX;

	if (tools_check_args(args, known, &cause) == -1 ||
	    tools_filter_parse(args, &f, &cause) == -1 ||
	    json_get_int(args, NULL, "limit", J_OPTIONAL, 1, TOOLS_LIST_MAX,
	    &limit, &cause) == -1 ||
	    json_get_string(args, NULL, "cursor", J_OPTIONAL, 128, &cursor,
	    &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	if (cursor != NULL && cursor_decode(cursor, &seq) == -1) {
		tools_error(r, "cursor: not a cursor from list_jobs");
		return;
	}
	arr = json_object_new_array();
	for (j = jobs_find_seq(seq); j != NULL; j = jobs_older(j)) {
		if (!tools_filter_match(&f, j))
			continue;
		if (n == limit)
			break;
		json_object_array_add(arr, view_job_brief(j));
		n++;
	}
	sc = json_object_new_object();
	json_object_object_add(sc, "jobs", arr);
	if (j != NULL) {
		next = cursor_encode(j->j_seq + 1);
		json_add_string(sc, "next_cursor", next);
		free(next);
	}
	json_add_int(sc, "total", (int64_t)jobs_count());
	tools_result(r, sc);
}

/* get_job_log: entries from an offset, agent text wrapped. */
static void
tool_log(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { "job_id", "offset", "limit",
	    NULL };
	struct untrusted	 u;
	struct json_object	*sc, *raw, *arr;
	struct job		*j;
	char			*cause = NULL;
	int64_t			 off = 0, limit = TOOLS_LOG_DEFAULT;
	int			 n;
	size_t			 i;

	if ((j = tools_job_args(r, args, known)) == NULL)
		return;
	if (json_get_int(args, NULL, "offset", J_OPTIONAL, 0, INT64_MAX, &off,
	    &cause) == -1 || json_get_int(args, NULL, "limit", J_OPTIONAL, 1,
	    TOOLS_LOG_MAX, &limit, &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	if ((n = store_log_read(j, (uint64_t)off, (uint64_t)limit,
	    VIEW_LOG_BYTES_MAX, &raw)) == -1) {
		json_object_put(raw);
		tools_error(r, "job %s: the log cannot be read", j->j_id);
		return;
	}
	untrusted_init(&u);
	arr = json_object_new_array();
	for (i = 0; i < json_object_array_length(raw); i++)
		json_object_array_add(arr, view_log_entry(
		    json_object_array_get_idx(raw, i), &u));
	json_object_put(raw);
	sc = json_object_new_object();
	json_add_string(sc, "job_id", j->j_id);
	json_add_int(sc, "offset", off);
	json_add_int(sc, "next_offset", off + n);
	json_add_int(sc, "total", (int64_t)j->j_log.jl_count);
	json_add_bool(sc, "done", job_state_terminal(j->j_state) &&
	    (uint64_t)(off + n) >= j->j_log.jl_count);
	json_object_object_add(sc, "entries", arr);
	tools_result(r, sc);
}

/* list_skills: the pack's skills and its version. */
static void
tool_skills(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { NULL };
	struct json_object	*sc, *arr = NULL;
	char			*cause = NULL, *version = NULL;

	if (tools_check_args(args, known, &cause) == -1 ||
	    pack_list(&arr, &version, &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	sc = json_object_new_object();
	json_add_int(sc, "count", (int64_t)json_object_array_length(arr));
	json_object_object_add(sc, "skills", arr);
	json_add_string(sc, "version", version);
	free(version);
	tools_result(r, sc);
}
