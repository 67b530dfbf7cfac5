/*
 * wait_job and what clients hear of job changes.  A wait is a pending
 * request: it ends when its job does or when its bound passes, and while
 * it lasts it sends progress notifications (the phase and the agent's
 * latest activity) if the caller asked for them.  Every job change also
 * reaches the subscribers of the job's resources and, as a log message,
 * the connection that submitted it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "json.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define WAIT_DEFAULT_S		50
#define WAIT_MAX_S		600
#define WAIT_TICK_MS		1000	/* how often progress is considered */
#define WAIT_MIN_GAP_MS		500	/* between activity reports */
#define WAIT_KEEPALIVE_MS	10000	/* report even when nothing moved */
#define WAIT_PENDING_MAX	4096	/* waits at once, all clients */

struct wait {
	struct mcp_req		*wt_req;
	struct job		*wt_job;
	struct event		*wt_timeout;
	struct event		*wt_tick;	/* NULL without a token */
	int			 wt_dirty;	/* activity not yet reported */
	int64_t			 wt_last;	/* when progress was sent */
	TAILQ_ENTRY(wait)	 wt_entry;
};

static TAILQ_HEAD(, wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static size_t		  nwaits;
static struct event_base *wait_base;

static void	wait_free(void *);
static void	wait_end(struct wait *);
static void	wait_report(struct wait *);
static void	wait_timeout_cb(int, short, void *);
static void	wait_tick_cb(int, short, void *);
static void	wait_notify_subscribers(struct job *, enum job_change);
static void	wait_log_change(struct job *);

/* Give waits their event base (timers). */
void
tools_wait_init(struct event_base *base)
{
	wait_base = base;
}

/* The event base handlers may set timers on. */
struct event_base *
tools_base(void)
{
	return (wait_base);
}

void
tools_wait_fini(void)
{
	struct wait	*wt;

	while ((wt = TAILQ_FIRST(&waits)) != NULL)
		wait_free(wt);
}

/* Unhook and free a wait (its request is answered or dropped). */
static void
wait_free(void *arg)
{
	struct wait	*wt = arg;

	TAILQ_REMOVE(&waits, wt, wt_entry);
	nwaits--;
	if (wt->wt_timeout != NULL)
		event_free(wt->wt_timeout);
	if (wt->wt_tick != NULL)
		event_free(wt->wt_tick);
	free(wt);
}

/* Answer the wait with the job as it is now. */
static void
wait_end(struct wait *wt)
{
	struct mcp_req	*r = wt->wt_req;
	struct job	*j = wt->wt_job;

	wait_free(wt);
	tools_result_job(r, j);
}

/* Send the wait's progress now. */
static void
wait_report(struct wait *wt)
{
	char	*msg = view_progress(wt->wt_job);

	mcp_progress(wt->wt_req, msg);
	free(msg);
	wt->wt_dirty = 0;
	wt->wt_last = clock_mono_ms();
}

static void
wait_timeout_cb(int fd, short what, void *arg)
{
	wait_end(arg);
}

/* Report activity at most every WAIT_MIN_GAP_MS, and keep alive. */
static void
wait_tick_cb(int fd, short what, void *arg)
{
	struct wait	*wt = arg;
	int64_t		 idle = clock_mono_ms() - wt->wt_last;

	if ((wt->wt_dirty && idle >= WAIT_MIN_GAP_MS) ||
	    idle >= WAIT_KEEPALIVE_MS)
		wait_report(wt);
}

/* wait_job: answer now if the job is done, else when it is or later. */
void
tools_wait(struct mcp_req *r, struct json_object *args)
{
	static const char *const known[] = { "job_id", "timeout_s", NULL };
	struct timeval	 tv = { WAIT_TICK_MS / 1000, 0 };
	struct wait	*wt;
	struct job	*j;
	char		*cause = NULL;
	int64_t		 secs = WAIT_DEFAULT_S;

	if ((j = tools_job_args(r, args, known)) == NULL)
		return;
	if (json_get_int(args, NULL, "timeout_s", J_OPTIONAL, 1, WAIT_MAX_S,
	    &secs, &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	if (job_state_terminal(j->j_state) || wait_base == NULL) {
		tools_result_job(r, j);
		return;
	}
	if (nwaits >= WAIT_PENDING_MAX) {
		tools_error(r, "too many waits pending (%d); use get_job",
		    WAIT_PENDING_MAX);
		return;
	}
	wt = xcalloc(1, sizeof(*wt));
	wt->wt_req = r;
	wt->wt_job = j;
	TAILQ_INSERT_TAIL(&waits, wt, wt_entry);
	nwaits++;
	mcp_req_pend(r, wt, wait_free);
	wt->wt_timeout = evtimer_new(wait_base, wait_timeout_cb, wt);
	tv.tv_sec = secs;
	evtimer_add(wt->wt_timeout, &tv);
	if (r->mr_token == NULL)
		return;
	wt->wt_tick = event_new(wait_base, -1, EV_PERSIST, wait_tick_cb, wt);
	tv.tv_sec = WAIT_TICK_MS / 1000;
	tv.tv_usec = (WAIT_TICK_MS % 1000) * 1000;
	evtimer_add(wt->wt_tick, &tv);
	wait_report(wt);
}

/* notifications/resources/updated to whoever subscribed. */
static void
wait_notify_subscribers(struct job *j, enum job_change what)
{
	struct mcp_conn		*c;
	struct json_object	*p;
	char			*uri;

	uri = view_uri(j, what == JOB_CHANGE_LOG ? "/log" : "");
	for (c = mcp_conn_first(); c != NULL; c = mcp_conn_next(c)) {
		if (!mcp_conn_subscribed(c, uri))
			continue;
		p = json_object_new_object();
		json_add_string(p, "uri", uri);
		mcp_notify(c, "notifications/resources/updated", p);
	}
	free(uri);
}

/* Tell the submitting connection, as a log message, of a new state. */
static void
wait_log_change(struct job *j)
{
	struct json_object	*d;
	enum mcp_level		 level = MCP_INFO;

	if (j->j_owner == NULL)
		return;
	if (j->j_state == JOB_FAILED || j->j_state == JOB_CRASHED ||
	    j->j_state == JOB_TIMED_OUT || j->j_state == JOB_INTERRUPTED)
		level = MCP_WARNING;
	d = json_object_new_object();
	json_add_string(d, "job_id", j->j_id);
	json_add_string(d, "state", job_state_name(j->j_state));
	if (j->j_reason != NULL)
		json_add_string(d, "reason", j->j_reason);
	mcp_log(j->j_owner, level, "skillbox", d);
}

/* The job hook: waits, subscribers and the owner hear of each change. */
void
tools_job_changed(struct job *j, enum job_change what)
{
	struct wait	*wt, *next;

	/* Notifications first, so that they precede a wait's answer. */
	wait_notify_subscribers(j, what);
	if (what == JOB_CHANGE_STATE) {
		wait_log_change(j);
		tasks_job_changed(j);
	}
	for (wt = TAILQ_FIRST(&waits); wt != NULL; wt = next) {
		next = TAILQ_NEXT(wt, wt_entry);
		if (wt->wt_job != j)
			continue;
		if (job_state_terminal(j->j_state)) {
			if (what == JOB_CHANGE_STATE)
				wait_end(wt);
		}
		else if (wt->wt_tick == NULL)
			continue;
		else if (what == JOB_CHANGE_STATE || clock_mono_ms() -
		    wt->wt_last >= WAIT_MIN_GAP_MS)
			wait_report(wt);
		else
			wt->wt_dirty = 1;
	}
}
