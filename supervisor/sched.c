/*
 * The scheduler: takes submissions, keeps at most SKILLBOX_MAX_JOBS
 * workers running and the rest queued, first in first out, turns each
 * finished worker into its job's terminal state, spawns a reaper for any
 * sandbox a dead worker left behind, recovers the state directory at
 * start, and winds everything down at shutdown.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define SCHED_KILL_WAIT_MS	3000	/* after SIGKILL at shutdown */

static struct {
	struct event_base	*base;
	const struct sv_config	*cfg;
	struct queue		 queue;
	int			 stopping;
	int			 forced;	/* workers were SIGKILLed */
	void			(*stopped)(void);
	struct event		*timer;
} sc;

static void	sched_run(void);
static void	sched_start(struct job *);
static void	sched_reaper(struct job *);
static void	sched_kick_cb(int, short, void *);
static void	sched_timer_cb(int, short, void *);
static void	sched_check_stopped(void);
static void	sched_load_cb(struct json_object *, const char *, void *);
static enum job_state sched_logged_state(struct job *);

/* Start the scheduler and the workers' socket. */
int
sched_init(struct event_base *base, const struct sv_config *cfg,
    char **cause)
{
	memset(&sc, 0, sizeof(sc));
	sc.base = base;
	sc.cfg = cfg;
	queue_init(&sc.queue, (size_t)cfg->c_queue_max);
	sc.timer = evtimer_new(base, sched_timer_cb, NULL);
	return (worker_init(base, cfg, sched_worker_done, cause));
}

void
sched_fini(void)
{
	worker_fini();
	if (sc.timer != NULL)
		event_free(sc.timer);
	memset(&sc, 0, sizeof(sc));
}

int
sched_stopping(void)
{
	return (sc.stopping);
}

size_t
sched_running(void)
{
	return (worker_count(WORKER_JOB));
}

size_t
sched_queued(void)
{
	return (sc.queue.q_len);
}

size_t
sched_queue_position(const struct job *j)
{
	return (j->j_state == JOB_QUEUED ? queue_position(&sc.queue, j) : 0);
}

/*
 * Take a validated spec (ownership passes here) and return its job: the
 * existing one for a known idempotency key (*created = 0), or a new one,
 * saved, then queued or started (*created = 1).  NULL with *cause if it
 * is refused, or cannot be saved: a client is never told of a job that a
 * restart would not know.
 */
struct job *
sched_submit(struct jobspec *js, struct mcp_conn *owner, int *created,
    char **cause)
{
	struct job		*j = NULL;
	struct json_object	*e;
	char			*real, *why = NULL;

	*created = 0;
	if (sc.stopping) {
		xasprintf(cause, "skillboxd is shutting down");
		goto out;
	}
	if (js->js_idempotency_key != NULL &&
	    (j = jobs_find_key(js->js_idempotency_key)) != NULL)
		goto out;
	if (js->js_repo_path != NULL) {
		if (jobspec_check_path(js, sc.cfg->c_allowed_roots, &real,
		    cause) == -1)
			goto out;
		free(js->js_repo_path);
		js->js_repo_path = real;
	}
	if (sched_running() >= (size_t)sc.cfg->c_max_jobs &&
	    queue_full(&sc.queue)) {
		xasprintf(cause, "the queue is full: %zu jobs are waiting "
		    "(SKILLBOX_QUEUE_MAX is %lld); try again later",
		    sc.queue.q_len, (long long)sc.cfg->c_queue_max);
		goto out;
	}
	j = job_create(jobspec_to_json(js), js->js_idempotency_key);
	if (store_save(j, &why) == -1) {	/* a job not kept is not taken */
		log_warnx("job %s: cannot save: %s", j->j_id, why);
		xasprintf(cause, "skillboxd cannot keep the job in its state "
		    "directory (%s); nothing was started", why);
		free(why);
		job_remove(&j);
		goto out;
	}
	j->j_owner = owner;
	*created = 1;
	e = json_object_new_object();
	json_add_string(e, "state", job_state_name(JOB_QUEUED));
	job_add_entry(j, "state", e);
	log_info("job %s: submitted (%s)", j->j_id,
	    jobspec_type_name(j->j_type));
	if (TAILQ_EMPTY(&sc.queue.q_jobs) &&
	    sched_running() < (size_t)sc.cfg->c_max_jobs)
		sched_start(j);
	else
		(void)queue_push(&sc.queue, j);
out:
	jobspec_free(&js);
	return (j);
}

/* Start queued jobs while there are free slots. */
static void
sched_run(void)
{
	struct job	*j;

	while (!sc.stopping && sched_running() < (size_t)sc.cfg->c_max_jobs &&
	    (j = queue_pop(&sc.queue)) != NULL)
		sched_start(j);
}

/* Give a job its worker. */
static void
sched_start(struct job *j)
{
	struct worker	*w;
	char		*cause = NULL;

	j->j_deadline = clock_now_ms() + 1000 * json_peek_int(j->j_spec,
	    "timeout_s", JOBSPEC_TIMEOUT_DEFAULT);
	(void)job_set_state(j, JOB_STARTING, NULL);
	w = worker_new(WORKER_JOB, j);
	if (worker_spawn(w, &cause) == -1) {
		log_warnx("job %s: %s", j->j_id, cause);
		worker_free(&w);
		(void)job_set_state(j, JOB_FAILED, cause);
		free(cause);
	}
}

/* Spawn a reaper for the sandbox a job's dead worker left behind. */
static void
sched_reaper(struct job *j)
{
	struct worker	*w;
	char		*cause = NULL;

	job_set_reap(j, JOB_REAP_PENDING);
	if (sc.forced)
		return;
	log_info("job %s: reaping sandbox %s", j->j_id, j->j_sandbox);
	w = worker_new(WORKER_REAPER, j);
	if (worker_spawn(w, &cause) == -1) {
		log_warnx("job %s: no reaper: %s", j->j_id, cause);
		worker_free(&w);
		job_set_reap(j, JOB_REAP_FAILED);
		free(cause);
	}
}

/*
 * Cancel a job: a queued one ends at once, a running one is told to stop
 * (and made to).  -1 with *cause if the job already finished.
 */
int
sched_cancel(struct job *j, const char *reason, char **cause)
{
	char	*why;

	if (job_state_terminal(j->j_state)) {
		xasprintf(cause, "job %s already finished (%s)", j->j_id,
		    job_state_name(j->j_state));
		return (-1);
	}
	if (reason == NULL)
		reason = "cancelled by the client";
	j->j_cancel = 1;
	j->j_gen++;
	if (j->j_state == JOB_QUEUED) {
		queue_remove(&sc.queue, j);
		xasprintf(&why, "cancelled before it started: %s", reason);
		(void)job_set_state(j, JOB_CANCELLED, why);
		free(why);
		return (0);
	}
	job_save(j);
	if (j->j_worker != NULL)
		worker_stop(j->j_worker, WI_CANCEL, reason);
	return (0);
}

/*
 * A worker is finished (exited, final message in or never coming).  Its
 * job takes the outcome; a sandbox it may have left is reaped.  Called
 * before the worker is freed; the freed slot is used from a fresh event.
 */
void
sched_worker_done(struct worker *w)
{
	struct job	*j = w->w_job;
	enum job_state	 st;
	char		*reason = NULL;
	const char	*status;
	struct timeval	 now = { 0, 0 };

	if (w->w_kind == WORKER_REAPER) {
		status = w->w_result != NULL ?
		    json_peek_string(w->w_result, "status") : NULL;
		log_info("job %s: sandbox %s %s", j->j_id, j->j_sandbox,
		    status != NULL && strcmp(status, "succeeded") == 0 ?
		    "reaped" : "not reaped");
		job_set_reap(j, status != NULL &&
		    strcmp(status, "succeeded") == 0 ? JOB_REAP_DONE :
		    JOB_REAP_FAILED);
	} else {
		st = worker_outcome(w, &reason);
		if (w->w_result != NULL)
			job_set_result(j, json_object_get(w->w_result));
		log_info("job %s: %s%s%s", j->j_id, job_state_name(st),
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
		if (job_set_state(j, st, reason) == -1)
			job_save(j);
		free(reason);
		if (j->j_sandbox != NULL && w->w_result == NULL)
			sched_reaper(j);
	}
	event_base_once(sc.base, -1, EV_TIMEOUT, sched_kick_cb, NULL, &now);
}

/* A slot may be free: start what waits, or finish a shutdown. */
static void
sched_kick_cb(int fd, short what, void *arg)
{
	sched_run();
	sched_check_stopped();
}

/* One stored job, back into the table. */
static void
sched_load_cb(struct json_object *doc, const char *id, void *arg)
{
	char	*cause = NULL;

	if (job_load(doc, &cause) == NULL) {
		log_warnx("job %s: not loaded: %s", id, cause);
		free(cause);
	}
}

/*
 * The last state an unfinished job's log recorded (job.json holds only
 * the states a restart needs), read backwards a window at a time.
 */
static enum job_state
sched_logged_state(struct job *j)
{
	struct json_object	*arr, *e;
	enum job_state		 st = j->j_state;
	const char		*s, *kind;
	uint64_t		 end = store_log_count(j), from;
	int			 n, i, found = 0;

	while (end > 0 && !found) {
		from = end > 64 ? end - 64 : 0;
		n = store_log_read(j, from, end - from, 1 << 20, &arr);
		for (i = n - 1; i >= 0 && !found; i--) {
			e = json_object_array_get_idx(arr, (size_t)i);
			kind = json_peek_string(e, "kind");
			s = json_peek_string(e, "state");
			if (kind != NULL && strcmp(kind, "state") == 0 &&
			    s != NULL && job_state_parse(s, &st) == 0)
				found = 1;
		}
		json_object_put(arr);
		if (n <= 0)
			break;
		end = from;
	}
	return (found && !job_state_terminal(st) ? st : j->j_state);
}

/*
 * Load the state directory.  A job found unfinished was lost with the
 * previous skillboxd: it becomes interrupted, and a sandbox it or an
 * unfinished reaper left behind is reaped.
 */
void
sched_recover(void)
{
	struct job	*j;
	char		*why;
	int		 n;

	if ((n = store_load_all(sched_load_cb, NULL)) == -1) {
		log_warn("%s/jobs", store_dir());
		return;
	}
	log_debug("%d jobs in %s", n, store_dir());
	for (j = jobs_newest(); j != NULL; j = jobs_older(j)) {
		if (!job_state_terminal(j->j_state)) {
			xasprintf(&why, "skillboxd restarted while the job "
			    "was %s", job_state_name(sched_logged_state(j)));
			log_info("job %s: interrupted", j->j_id);
			(void)job_set_state(j, JOB_INTERRUPTED, why);
			free(why);
			if (j->j_sandbox != NULL && j->j_result == NULL &&
			    j->j_reap == JOB_REAP_NONE) {
				j->j_reap = JOB_REAP_PENDING;
				j->j_gen++;
			}
		}
		if (j->j_reap == JOB_REAP_PENDING && j->j_sandbox != NULL)
			sched_reaper(j);
	}
}

/*
 * Stop accepting work, cancel what is queued, stop every running job
 * (each worker kills its own sandbox), and call done once every worker
 * is gone or the grace period is over.
 */
void
sched_shutdown(void (*done)(void))
{
	struct job	*j;
	struct timeval	 tv;
	int64_t		 ms = sc.cfg->c_shutdown_grace_ms;

	if (sc.stopping)
		return;
	sc.stopping = 1;
	sc.stopped = done;
	while ((j = queue_pop(&sc.queue)) != NULL)
		(void)job_set_state(j, JOB_CANCELLED, "skillboxd shut down "
		    "before the job started");
	for (j = jobs_newest(); j != NULL; j = jobs_older(j))
		if (j->j_worker != NULL && j->j_worker->w_kind == WORKER_JOB)
			worker_stop(j->j_worker, WI_SHUTDOWN,
			    "skillboxd shut down");
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(sc.timer, &tv);
	sched_check_stopped();
}

/* The grace period is over: kill what is left, then give up waiting. */
static void
sched_timer_cb(int fd, short what, void *arg)
{
	struct timeval	tv = { SCHED_KILL_WAIT_MS / 1000, 0 };

	if (!sc.forced) {
		log_warnx("shutdown: %zu workers still running, killing them",
		    worker_count(WORKER_JOB) + worker_count(WORKER_REAPER));
		sc.forced = 1;
		worker_kill_all();
		evtimer_add(sc.timer, &tv);
		return;
	}
	log_warnx("shutdown: giving up on %zu workers",
	    worker_count(WORKER_JOB) + worker_count(WORKER_REAPER));
	sc.stopping = 2;
	sched_check_stopped();
}

/* Finish a shutdown once no worker is left (or waiting is over). */
static void
sched_check_stopped(void)
{
	void	(*done)(void) = sc.stopped;

	if (!sc.stopping || done == NULL)
		return;
	if (sc.stopping != 2 && worker_count(WORKER_JOB) +
	    worker_count(WORKER_REAPER) > 0)
		return;
	evtimer_del(sc.timer);
	sc.stopped = NULL;
	done();
}
