/*
 * MCP tasks (2025-11-25, experimental): a tools/call of submit_job with
 * params.task creates a task mapped onto the job and returns at once
 * with it; tasks/get and tasks/list show it, tasks/result waits for the
 * job to end (TASK_WAIT_MAX_S at most per call) and returns what a call
 * would have (the job as get_job shows it, isError unless it
 * succeeded), tasks/cancel cancels the job.
 * The client that created a task hears notifications/tasks/status when
 * its status or message changes.  Tasks live in memory, bounded; a
 * finished task is forgotten when its ttl has passed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "rnd.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define TASK_ID_HEX	32		/* 128 random bits */
#define TASK_PAGE	50		/* tasks per tasks/list page */
#define TASK_WAITS_MAX	4096		/* tasks/result pending, all tasks */
#define TASK_WAIT_MAX_S	600		/* how long one tasks/result waits */
#define TASK_META	"\"_meta\":{\"io.modelcontextprotocol/related-task\":" \
			"{\"taskId\":\"%s\"}}"

enum task_status {
	TASK_WORKING,
	TASK_COMPLETED,
	TASK_FAILED,
	TASK_CANCELLED,
	TASK_STATUS_MAX
};

struct task_wait {
	struct mcp_req		*tw_req;
	struct task		*tw_task;
	struct event		*tw_timer;	/* its bound, or NULL */
	TAILQ_ENTRY(task_wait)	 tw_entry;
};

struct task {
	char			 tk_id[TASK_ID_HEX + 1];
	char			 tk_job[JOB_ID_SIZE];	/* "" if none */
	uint64_t		 tk_seq;
	enum task_status	 tk_status;
	char			*tk_message;	/* statusMessage, or NULL */
	int64_t			 tk_created;	/* ms since the epoch */
	int64_t			 tk_updated;
	int64_t			 tk_ttl;	/* ms */
	char			*tk_result;	/* once terminal */
	struct mcp_conn		*tk_owner;	/* who created it, or NULL */
	TAILQ_HEAD(, task_wait)	 tk_waits;	/* tasks/result pending */
	TAILQ_ENTRY(task)	 tk_entry;	/* newest first */
};

static const char *task_status_names[TASK_STATUS_MAX] = {
	"working", "completed", "failed", "cancelled",
};

static TAILQ_HEAD(task_head_s, task) tasks = TAILQ_HEAD_INITIALIZER(tasks);
static size_t		  ntasks;
static size_t		  ntask_waits;
static uint64_t		  task_seq;

static void	task_free(struct task *);
static void	task_finish(struct task *, enum task_status, const char *,
		    char *);
static void	task_expire(void);

void
tasks_init(void)
{
	TAILQ_INIT(&tasks);
	ntasks = ntask_waits = 0;
}

void
tasks_fini(void)
{
	struct task	*tk;

	while ((tk = TAILQ_FIRST(&tasks)) != NULL)
		task_free(tk);
}

/* Are tasks part of the protocol this request speaks? */
int
tasks_enabled(const struct mcp_req *r)
{
	return (r->mr_version != NULL && strcmp(r->mr_version,
	    "2025-11-25") == 0);
}

/* tasks: {list, cancel, requests: {tools: {call}}}. */
struct json_object *
tasks_capability(void)
{
	struct json_object	*o, *req, *tools;

	tools = json_object_new_object();
	json_object_object_add(tools, "call", json_object_new_object());
	req = json_object_new_object();
	json_object_object_add(req, "tools", tools);
	o = json_object_new_object();
	json_object_object_add(o, "list", json_object_new_object());
	json_object_object_add(o, "cancel", json_object_new_object());
	json_object_object_add(o, "requests", req);
	return (o);
}

static int
task_terminal(const struct task *tk)
{
	return (tk->tk_status != TASK_WORKING);
}

/* Drop a pending tasks/result (answered, cancelled, or client gone). */
static void
task_wait_free(void *arg)
{
	struct task_wait	*tw = arg;

	TAILQ_REMOVE(&tw->tw_task->tk_waits, tw, tw_entry);
	ntask_waits--;
	if (tw->tw_timer != NULL)
		event_free(tw->tw_timer);
	free(tw);
}

/* A tasks/result waited TASK_WAIT_MAX_S: say so; the task goes on. */
static void
task_wait_timeout_cb(int fd, short what, void *arg)
{
	struct task_wait	*tw = arg;
	struct mcp_req		*r = tw->tw_req;

	task_wait_free(tw);
	mcp_req_pend(r, NULL, NULL);
	mcp_errorf(r, MCP_INTERNAL_ERROR, "Internal error: the task is "
	    "still working after %d s; call tasks/result again, or poll "
	    "tasks/get", TASK_WAIT_MAX_S);
}

/* Forget a task; its pending results are dropped unanswered. */
static void
task_free(struct task *tk)
{
	struct task_wait	*tw;
	struct mcp_req		*r;

	while ((tw = TAILQ_FIRST(&tk->tk_waits)) != NULL) {
		r = tw->tw_req;
		task_wait_free(tw);
		mcp_req_pend(r, NULL, NULL);
		mcp_error(r, MCP_INVALID_PARAMS, "Invalid params: the task "
		    "expired", NULL);
	}
	TAILQ_REMOVE(&tasks, tk, tk_entry);
	ntasks--;
	free(tk->tk_message);
	free(tk->tk_result);
	free(tk);
}

/* The Task object a client sees. */
static struct json_object *
task_json(const struct task *tk)
{
	struct json_object	*o;
	char			 iso[CLOCK_ISO_LEN];

	o = json_object_new_object();
	json_add_string(o, "taskId", tk->tk_id);
	json_add_string(o, "status", task_status_names[tk->tk_status]);
	if (tk->tk_message != NULL)
		json_add_string(o, "statusMessage", tk->tk_message);
	json_add_string(o, "createdAt", clock_iso(tk->tk_created, iso,
	    sizeof(iso)));
	json_add_string(o, "lastUpdatedAt", clock_iso(tk->tk_updated, iso,
	    sizeof(iso)));
	json_add_int(o, "ttl", tk->tk_ttl);
	json_add_int(o, "pollInterval", TASK_POLL_MS);
	return (o);
}

/* Tell the creator of a task of its new status. */
static void
task_notify(const struct task *tk)
{
	if (tk->tk_owner != NULL && mcp_conn_version(tk->tk_owner) != NULL &&
	    strcmp(mcp_conn_version(tk->tk_owner), "2025-11-25") == 0)
		mcp_notify(tk->tk_owner, "notifications/tasks/status",
		    task_json(tk));
}

/* Answer a tasks/result with the task's result and its related-task. */
static void
task_answer(struct mcp_req *r, const struct task *tk)
{
	struct buf	b;
	size_t		len = strlen(tk->tk_result);

	buf_init(&b, (size_t)-1 / 2);
	(void)buf_add(&b, tk->tk_result, len - 1);
	(void)buf_printf(&b, "%s" TASK_META "}", len > 2 ? "," : "",
	    tk->tk_id);
	mcp_reply_text(r, buf_str(&b), buf_len(&b));
	buf_free(&b);
}

/*
 * The task is terminal: keep its result (taken), answer every pending
 * tasks/result, tell its creator.
 */
static void
task_finish(struct task *tk, enum task_status st, const char *message,
    char *result)
{
	struct task_wait	*tw;
	struct mcp_req		*r;

	tk->tk_status = st;
	free(tk->tk_message);
	tk->tk_message = message != NULL ? xstrdup(message) : NULL;
	tk->tk_updated = clock_now_ms();
	tk->tk_result = result;
	while ((tw = TAILQ_FIRST(&tk->tk_waits)) != NULL) {
		r = tw->tw_req;
		task_wait_free(tw);
		mcp_req_pend(r, NULL, NULL);
		task_answer(r, tk);
	}
	task_notify(tk);
}

/* A tool error result saying msg, serialised. */
static char *
task_error_result(const char *msg)
{
	struct json_object	*o = tools_error_result(msg);
	char			*s;

	s = xstrdup(json_str(o));
	json_object_put(o);
	return (s);
}

/* "running", or "failed: why" for the task's statusMessage. */
static char *
task_message(const struct job *j)
{
	char	*m;

	if (j->j_reason != NULL)
		xasprintf(&m, "%s: %s", job_state_name(j->j_state),
		    j->j_reason);
	else
		m = xstrdup(job_state_name(j->j_state));
	return (m);
}

/* Bring a task up to date with its job. */
static void
task_sync(struct task *tk, struct job *j)
{
	enum task_status	 st = TASK_FAILED;
	char			*m;

	if (task_terminal(tk))
		return;
	m = task_message(j);
	if (job_state_terminal(j->j_state)) {
		if (j->j_state == JOB_SUCCEEDED)
			st = TASK_COMPLETED;
		else if (j->j_state == JOB_CANCELLED)
			st = TASK_CANCELLED;
		task_finish(tk, st, m, tools_result_text(tools_view(j),
		    st != TASK_COMPLETED, NULL));
	} else if (tk->tk_message == NULL || strcmp(m, tk->tk_message) != 0) {
		free(tk->tk_message);
		tk->tk_message = m;
		m = NULL;
		tk->tk_updated = clock_now_ms();
		task_notify(tk);
	}
	free(m);
}

/* Forget finished tasks whose ttl has passed. */
static void
task_expire(void)
{
	struct task	*tk, *next;
	int64_t		 now = clock_now_ms();

	for (tk = TAILQ_FIRST(&tasks); tk != NULL; tk = next) {
		next = TAILQ_NEXT(tk, tk_entry);
		if (task_terminal(tk) && tk->tk_created + tk->tk_ttl <= now)
			task_free(tk);
	}
}

/* Room for one more task: expire, then drop the oldest finished one. */
static int
task_room(void)
{
	struct task	*tk;

	task_expire();
	if (ntasks < TASKS_MAX)
		return (0);
	TAILQ_FOREACH_REVERSE(tk, &tasks, task_head_s, tk_entry)
		if (task_terminal(tk)) {
			task_free(tk);
			return (0);
		}
	return (-1);
}

/* A new working task, owned by the request's connection. */
static struct task *
task_new(struct mcp_req *r, int64_t ttl)
{
	struct task	*tk;

	tk = xcalloc(1, sizeof(*tk));
	rnd_hex(tk->tk_id, TASK_ID_HEX);
	tk->tk_seq = ++task_seq;
	tk->tk_status = TASK_WORKING;
	tk->tk_created = tk->tk_updated = clock_now_ms();
	tk->tk_ttl = ttl;
	tk->tk_owner = r->mr_conn;
	TAILQ_INIT(&tk->tk_waits);
	TAILQ_INSERT_HEAD(&tasks, tk, tk_entry);
	ntasks++;
	return (tk);
}

/*
 * submit_job as a task.  The task is created even when the spec is
 * refused: its first status is working, as every task's is, and it
 * fails right after the answer, its result the tool error, so that the
 * client gets what it asked for, a task, and reads why.
 */
void
tasks_submit(struct mcp_req *r, struct json_object *args,
    struct json_object *params)
{
	struct json_object	*res;
	struct task		*tk;
	struct job		*j;
	char			*cause = NULL, *msg;
	int64_t			 ttl = TASK_TTL_DEFAULT_MS;
	int			 created;

	if (json_get_int(params, "params.task", "ttl", J_OPTIONAL, 1,
	    TASK_TTL_MAX_MS, &ttl, &cause) == -1) {
		mcp_invalid_params(r, cause);
		return;
	}
	if (task_room() == -1) {
		mcp_errorf(r, MCP_INTERNAL_ERROR, "Internal error: %d tasks "
		    "are running; try again later", TASKS_MAX);
		return;
	}
	tk = task_new(r, ttl);
	if ((j = tools_submit(r->mr_conn, args, &created, &cause)) != NULL) {
		memcpy(tk->tk_job, j->j_id, sizeof(tk->tk_job));
		tk->tk_message = task_message(j);
		log_info("task %s runs job %s", tk->tk_id, j->j_id);
	}
	res = json_object_new_object();
	json_object_object_add(res, "task", task_json(tk));
	mcp_reply(r, res);
	if (j != NULL)
		task_sync(tk, j);
	else {
		xasprintf(&msg, "failed: %s", cause);
		task_finish(tk, TASK_FAILED, msg, task_error_result(cause));
		free(msg);
		free(cause);
	}
}

/* Refuse the tasks methods at versions without tasks: 1 if refused. */
static int
task_refuse(struct mcp_req *r)
{
	if (tasks_enabled(r))
		return (0);
	mcp_errorf(r, MCP_METHOD_NOT_FOUND, "Method not found: tasks need "
	    "protocol version 2025-11-25");
	return (1);
}

/* The task named by params.taskId, or NULL after answering the error. */
static struct task *
task_find(struct mcp_req *r, struct json_object *params)
{
	struct task	*tk;
	const char	*id = NULL;
	char		*cause = NULL;

	if (task_refuse(r))
		return (NULL);
	if (json_get_string(params, "params", "taskId", J_REQUIRED, 128, &id,
	    &cause) == -1) {
		mcp_invalid_params(r, cause);
		return (NULL);
	}
	task_expire();
	TAILQ_FOREACH(tk, &tasks, tk_entry)
		if (strcmp(tk->tk_id, id) == 0)
			return (tk);
	mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: no task '%.128s' "
	    "(unknown or expired)", id);
	return (NULL);
}

/* tasks/get. */
void
tasks_get(struct mcp_req *r, struct json_object *params)
{
	struct task	*tk;

	if ((tk = task_find(r, params)) != NULL)
		mcp_reply(r, task_json(tk));
}

/*
 * tasks/result: at once if the task is done, else when it is, waiting
 * TASK_WAIT_MAX_S at most.
 */
void
tasks_result(struct mcp_req *r, struct json_object *params)
{
	struct timeval		 tv = { TASK_WAIT_MAX_S, 0 };
	struct task_wait	*tw;
	struct task		*tk;

	if ((tk = task_find(r, params)) == NULL)
		return;
	if (task_terminal(tk)) {
		task_answer(r, tk);
		return;
	}
	if (ntask_waits >= TASK_WAITS_MAX) {
		mcp_errorf(r, MCP_INTERNAL_ERROR, "Internal error: too many "
		    "tasks/result pending (%d); poll with tasks/get",
		    TASK_WAITS_MAX);
		return;
	}
	tw = xcalloc(1, sizeof(*tw));
	tw->tw_req = r;
	tw->tw_task = tk;
	TAILQ_INSERT_TAIL(&tk->tk_waits, tw, tw_entry);
	ntask_waits++;
	mcp_req_pend(r, tw, task_wait_free);
	if (tools_base() != NULL) {
		tw->tw_timer = evtimer_new(tools_base(), task_wait_timeout_cb,
		    tw);
		evtimer_add(tw->tw_timer, &tv);
	}
}

/* tasks/list: newest first, a page at a time. */
void
tasks_list(struct mcp_req *r, struct json_object *params)
{
	struct json_object	*res, *arr;
	struct task		*tk;
	char			*next;
	uint64_t		 seq;
	int			 n = 0;

	if (task_refuse(r))
		return;
	if (cursor_param(r, params, &seq) == -1)
		return;
	task_expire();
	arr = json_object_new_array();
	res = json_object_new_object();
	TAILQ_FOREACH(tk, &tasks, tk_entry) {
		if (tk->tk_seq >= seq)
			continue;
		if (n++ == TASK_PAGE) {
			next = cursor_encode(tk->tk_seq + 1);
			json_add_string(res, "nextCursor", next);
			free(next);
			break;
		}
		json_object_array_add(arr, task_json(tk));
	}
	json_object_object_add(res, "tasks", arr);
	mcp_reply(r, res);
}

/* tasks/cancel: cancel the job; the task is cancelled from now on. */
void
tasks_cancel(struct mcp_req *r, struct json_object *params)
{
	struct task	*tk;
	struct job	*j;
	char		*cause = NULL;

	if ((tk = task_find(r, params)) == NULL)
		return;
	if (task_terminal(tk)) {
		mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: task %s is "
		    "already %s", tk->tk_id, task_status_names[tk->tk_status]);
		return;
	}
	if ((j = jobs_find(tk->tk_job)) != NULL &&
	    sched_cancel(j, "the task was cancelled", &cause) == -1) {
		log_debug("task %s: %s", tk->tk_id, cause);
		free(cause);
	}
	if (!task_terminal(tk))
		task_finish(tk, TASK_CANCELLED, "cancelled by the client",
		    j != NULL ? tools_result_text(tools_view(j), 1, NULL) :
		    task_error_result("the task was cancelled"));
	mcp_reply(r, task_json(tk));
}

/* A job changed state: so may the tasks that run it. */
void
tasks_job_changed(struct job *j)
{
	struct task	*tk, *next;

	for (tk = TAILQ_FIRST(&tasks); tk != NULL; tk = next) {
		next = TAILQ_NEXT(tk, tk_entry);
		if (strcmp(tk->tk_job, j->j_id) == 0)
			task_sync(tk, j);
	}
}

/* A connection closed: its tasks go on, with nobody to notify. */
void
tasks_forget_owner(struct mcp_conn *c)
{
	struct task	*tk;

	TAILQ_FOREACH(tk, &tasks, tk_entry)
		if (tk->tk_owner == c)
			tk->tk_owner = NULL;
}
