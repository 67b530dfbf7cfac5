/*
 * Worker processes: one skillbox-worker per job (and a short-lived one
 * per orphaned sandbox, a reaper), started by spawn.c and spoken to
 * over a ZeroMQ ROUTER on an ipc path in a private runtime directory.
 *
 * A worker is freed only when both its exit (SIGCHLD, waitpid) and its
 * final message (its result, or the certainty that none will come) are
 * in.  What it did or did not say decides the job's terminal state and
 * its cause; a worker that misbehaves is stopped, never the supervisor.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <zmq.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "skillboxd.h"
#include "xmalloc.h"
#include "zev.h"

#define WORKER_IPC_MAX		107	/* bytes of an ipc path */
#define WORKER_LINGER_MS	500	/* wait for a final message */
#define WORKER_DEADLINE_SLACK	30000	/* ms past the job's deadline */
#define WORKER_REAP_DEADLINE	120000	/* ms a reaper may take */
#define WORKER_ENV_MAX		16

static struct {
	struct event_base	*base;
	const struct sv_config	*cfg;
	worker_done_cb		 done;
	void			*zctx;
	void			*router;
	struct zev		*zev;
	char			*rundir;
	char			*endpoint;
	struct event		*beat;
	char			*envp[WORKER_ENV_MAX];
	size_t			 envlevel;	/* its log level */
	size_t			 counts[WORKER_KIND_MAX];
	LIST_HEAD(, worker)	 all;
} wk;

/* What each message type from a worker does. */
typedef int	(*worker_msg_fn)(struct worker *, struct json_object *,
		    char **);

static int	worker_on_hello(struct worker *, struct json_object *,
		    char **);
static int	worker_on_sandbox(struct worker *, struct json_object *,
		    char **);
static int	worker_on_phase(struct worker *, struct json_object *,
		    char **);
static int	worker_on_event(struct worker *, struct json_object *,
		    char **);
static int	worker_on_log(struct worker *, struct json_object *, char **);
static int	worker_on_heartbeat(struct worker *, struct json_object *,
		    char **);
static int	worker_on_result(struct worker *, struct json_object *,
		    char **);

static const worker_msg_fn worker_msgs[MSG_TYPE_MAX] = {
	[MSG_HELLO] = worker_on_hello,
	[MSG_SANDBOX] = worker_on_sandbox,
	[MSG_PHASE] = worker_on_phase,
	[MSG_EVENT] = worker_on_event,
	[MSG_LOG] = worker_on_log,
	[MSG_HEARTBEAT] = worker_on_heartbeat,
	[MSG_RESULT] = worker_on_result,
};

/* How a worker's exit status maps to a job outcome. */
static const struct {
	int		 code;
	enum job_state	 state;
	const char	*what;
} worker_exits[] = {
	{ EX_DATAERR, JOB_FAILED, "the worker refused the job (EX_DATAERR)" },
	{ EX_CONFIG, JOB_FAILED, "configuration error (EX_CONFIG)" },
	{ EX_UNAVAILABLE, JOB_FAILED,
	    "E2B could not be reached (EX_UNAVAILABLE)" },
	{ EX_TEMPFAIL, JOB_FAILED, "temporary failure (EX_TEMPFAIL)" },
	{ EX_SOFTWARE, JOB_CRASHED,
	    "internal error in the worker (EX_SOFTWARE)" },
	{ EX_OSERR, JOB_CRASHED, "the worker could not run (EX_OSERR)" },
};

static int	worker_socket(char **);
static void	worker_env(void);
static void	worker_env_level(void);
static void	worker_recv_cb(struct zev *, void *);
static void	worker_beat_cb(int, short, void *);
static void	worker_timer_cb(int, short, void *);
static void	worker_deadline_cb(int, short, void *);
static void	worker_arm(struct worker *, int64_t);
static void	worker_signal(struct worker *, int);
static int	worker_send(struct worker *, struct json_object *);
static int	worker_send_job(struct worker *);
static void	worker_resend_job(struct worker *);
static void	worker_fault(struct worker *, const char *);
static void	worker_drive(struct worker *);
static struct worker *worker_find(const char *, size_t);
static struct json_object *worker_config(const struct worker *);
static struct json_object *worker_secrets(void);

/* Bind the ROUTER every worker connects to. */
static int
worker_socket(char **cause)
{
	int	one = 1, zero = 0;
	int64_t	max = PROTO_MAX_MSG;

	wk.zctx = zmq_ctx_new();
	if (wk.zctx == NULL ||
	    (wk.router = zmq_socket(wk.zctx, ZMQ_ROUTER)) == NULL)
		goto fail;
	xasprintf(&wk.endpoint, "ipc://%s/%s", wk.rundir, RUNDIR_SOCK);
	if (zmq_setsockopt(wk.router, ZMQ_LINGER, &zero, sizeof(zero)) ==
	    -1 || zmq_setsockopt(wk.router, ZMQ_MAXMSGSIZE, &max,
	    sizeof(max)) == -1 || zmq_setsockopt(wk.router,
	    ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(wk.router, ZMQ_ROUTER_HANDOVER, &one,
	    sizeof(one)) == -1 || zmq_bind(wk.router, wk.endpoint) == -1)
		goto fail;
	if ((wk.zev = zev_new(wk.base, wk.router, worker_recv_cb,
	    NULL)) == NULL)
		goto fail;
	return (0);
fail:
	xasprintf(cause, "workers socket: %s", zmq_strerror(zmq_errno()));
	return (-1);
}

/* The environment every worker gets: nothing secret, nothing else. */
static void
worker_env(void)
{
	static const char	*pass[] = { "PATH", "TMPDIR", "LANG",
	    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	const char		*v;
	size_t			 i, n = 0;

	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		if ((v = getenv(pass[i])) != NULL)
			xasprintf(&wk.envp[n++], "%s=%s", pass[i], v);
	if (getenv("PATH") == NULL)
		wk.envp[n++] = xstrdup("PATH=/usr/bin:/bin");
	wk.envlevel = n++;
	wk.envp[n] = NULL;
	worker_env_level();
}

/* The log level as skillbox-worker reads it: a number; reloads change it. */
static void
worker_env_level(void)
{
	free(wk.envp[wk.envlevel]);
	xasprintf(&wk.envp[wk.envlevel], "SKILLBOX_LOG_LEVEL=%d",
	    wk.cfg->c_log_level);
}

/* Set up the runtime directory and the ROUTER; done is told of each end. */
int
worker_init(struct event_base *base, const struct sv_config *cfg,
    worker_done_cb done, char **cause)
{
	struct timeval	tv = { PROTO_HEARTBEAT_MS / 1000,
	    (PROTO_HEARTBEAT_MS % 1000) * 1000 };

	memset(&wk, 0, sizeof(wk));
	LIST_INIT(&wk.all);
	wk.base = base;
	wk.cfg = cfg;
	wk.done = done;
	if (rundir_create(wk.cfg->c_runtime_dir, WORKER_IPC_MAX, &wk.rundir,
	    cause) == -1 || worker_socket(cause) == -1)
		return (-1);
	worker_env();
	spawn_init(cfg->c_worker_path, cfg->c_skills_dir);
	wk.beat = event_new(base, -1, EV_PERSIST, worker_beat_cb, NULL);
	event_add(wk.beat, &tv);
	log_debug("workers connect to %s", wk.endpoint);
	return (0);
}

/* Close the socket and remove the runtime directory. */
void
worker_fini(void)
{
	struct worker	*w;
	size_t		 i;

	while ((w = LIST_FIRST(&wk.all)) != NULL)
		worker_free(&w);
	spawn_fini();
	if (wk.beat != NULL)
		event_free(wk.beat);
	zev_free(&wk.zev);
	if (wk.router != NULL)
		zmq_close(wk.router);
	if (wk.zctx != NULL)
		zmq_ctx_term(wk.zctx);
	if (wk.rundir != NULL)
		(void)rundir_remove(wk.rundir);
	free(wk.rundir);
	free(wk.endpoint);
	for (i = 0; wk.envp[i] != NULL; i++)
		free(wk.envp[i]);
	memset(&wk, 0, sizeof(wk));
}

const char *
worker_endpoint(void)
{
	return (wk.endpoint);
}

/* A worker record for a job, not yet running. */
struct worker *
worker_new(enum worker_kind kind, struct job *j)
{
	struct worker	*w;

	w = xcalloc(1, sizeof(*w));
	w->w_kind = kind;
	w->w_job = j;
	memcpy(w->w_id, j->j_id, JOB_ID_SIZE);
	w->w_liveness = PROTO_LIVENESS;
	w->w_pid = -1;
	if (wk.base != NULL)
		w->w_timer = evtimer_new(wk.base, worker_timer_cb, w);
	LIST_INSERT_HEAD(&wk.all, w, w_entry);
	wk.counts[kind]++;
	j->j_worker = w;
	return (w);
}

/*
 * Free a worker record, unhooking it from its job, the list and its
 * timers.  The process must be gone (or never have been).
 */
void
worker_free(struct worker **wp)
{
	struct worker	*w = *wp;

	if (w == NULL)
		return;
	LIST_REMOVE(w, w_entry);
	wk.counts[w->w_kind]--;
	if (w->w_job != NULL && w->w_job->j_worker == w)
		w->w_job->j_worker = NULL;
	if (w->w_timer != NULL)
		event_free(w->w_timer);
	if (w->w_deadline != NULL)
		event_free(w->w_deadline);
	free(w->w_cause);
	free(w->w_lasterr);
	json_object_put(w->w_result);
	free(w);
	*wp = NULL;
}

size_t
worker_count(enum worker_kind kind)
{
	return (kind < WORKER_KIND_MAX ? wk.counts[kind] : 0);
}

/* Start the worker process; -1 with *cause if it cannot be forked. */
int
worker_spawn(struct worker *w, char **cause)
{
	struct timeval	 tv;
	char		*argv[9];
	int		 n = 0;
	int64_t		 ms;
	pid_t		 pid;

	worker_env_level();
	argv[n++] = wk.cfg->c_worker_path;
	argv[n++] = (char *)"--connect";
	argv[n++] = wk.endpoint;
	argv[n++] = (char *)"--job-id";
	argv[n++] = w->w_id;
	if (w->w_kind == WORKER_REAPER) {
		argv[n++] = (char *)"--reap";
		argv[n++] = w->w_job->j_sandbox;
	}
	argv[n] = NULL;
	if ((pid = spawn_worker(argv, wk.envp, cause)) == -1)
		return (-1);
	w->w_pid = pid;
	w->w_state = W_SPAWNED;
	ms = w->w_kind == WORKER_REAPER ? WORKER_REAP_DEADLINE :
	    w->w_job->j_deadline + WORKER_DEADLINE_SLACK - clock_now_ms();
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	w->w_deadline = evtimer_new(wk.base, worker_deadline_cb, w);
	evtimer_add(w->w_deadline, &tv);
	log_debug("worker %s: pid %ld (%s)", w->w_id, (long)pid,
	    w->w_kind == WORKER_REAPER ? "reaper" : "job");
	return (0);
}

static void
worker_arm(struct worker *w, int64_t ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (w->w_timer != NULL)
		evtimer_add(w->w_timer, &tv);
}

/* Signal the worker's whole process group. */
static void
worker_signal(struct worker *w, int sig)
{
	if (w->w_pid > 0 && !(w->w_flags & W_EXITED) &&
	    kill(-w->w_pid, sig) == -1 && errno != ESRCH)
		log_warn("worker %s: kill %d", w->w_id, sig);
}

/*
 * Stop a worker: a polite cancel message if it is working on a job, then
 * SIGTERM, then SIGKILL, each after a grace period.  The first reason
 * given is the one that counts.
 */
void
worker_stop(struct worker *w, enum worker_intent intent, const char *why)
{
	if ((w->w_flags & W_EXITED) || w->w_stop != WS_NONE)
		return;
	if (w->w_intent == WI_NONE) {
		w->w_intent = intent;
		free(w->w_cause);
		w->w_cause = why != NULL ? xstrdup(why) : NULL;
	}
	/* A worker that broke the protocol or went silent is not heard. */
	if (intent == WI_FAULT || intent == WI_VERSION || intent == WI_HUNG)
		w->w_flags |= W_CLOSED;
	if (w->w_state == W_RUNNING && (intent == WI_CANCEL ||
	    intent == WI_DEADLINE || intent == WI_SHUTDOWN)) {
		struct json_object *o = proto_new(MSG_CANCEL, ++w->w_seq_out);

		json_add_string(o, "reason", why != NULL ? why : "cancelled");
		(void)worker_send(w, o);
		w->w_stop = WS_CANCEL;
	} else {
		worker_signal(w, SIGTERM);
		w->w_stop = WS_TERM;
	}
	if (w->w_state != W_FINISHED)
		w->w_state = W_STOPPING;
	worker_arm(w, wk.cfg->c_stop_grace_ms);
}

/* The stop sequence's next step, or the end of the wait for a result. */
static void
worker_timer_cb(int fd, short what, void *arg)
{
	struct worker	*w = arg;

	if (w->w_flags & W_EXITED) {
		log_debug("worker %s: no final message", w->w_id);
		w->w_flags |= W_CLOSED;
		worker_drive(w);
		return;
	}
	switch (w->w_stop) {
	case WS_CANCEL:
		log_info("worker %s: no exit after cancel, terminating",
		    w->w_id);
		/* FALLTHROUGH */
	case WS_NONE:
		/* (WS_NONE: its result is in but it has not exited.) */
		worker_signal(w, SIGTERM);
		w->w_stop = WS_TERM;
		break;
	case WS_TERM:
		log_warnx("worker %s: no exit after SIGTERM, killing",
		    w->w_id);
		worker_signal(w, SIGKILL);
		w->w_stop = WS_KILL;
		break;
	default:
		log_warnx("worker %s: pid %ld survives SIGKILL", w->w_id,
		    (long)w->w_pid);
		break;
	}
	worker_arm(w, wk.cfg->c_stop_grace_ms);
}

/* The job's deadline (or a reaper's) passed: stop the worker. */
static void
worker_deadline_cb(int fd, short what, void *arg)
{
	struct worker	*w = arg;
	char		*why;

	if (w->w_kind == WORKER_REAPER)
		xasprintf(&why, "the reaper took longer than %d s",
		    WORKER_REAP_DEADLINE / 1000);
	else
		xasprintf(&why, "the job's deadline passed (timeout_s %lld)",
		    (long long)json_peek_int(w->w_job->j_spec, "timeout_s",
		    0));
	log_info("worker %s: %s", w->w_id, why);
	worker_stop(w, WI_DEADLINE, why);
	free(why);
}

/* Send heartbeats and count the ones each worker missed. */
static void
worker_beat_cb(int fd, short what, void *arg)
{
	struct worker	*w;
	char		*why;

	LIST_FOREACH(w, &wk.all, w_entry) {
		if (w->w_flags & (W_EXITED | W_CLOSED))
			continue;
		if (--w->w_liveness <= 0 && w->w_stop == WS_NONE) {
			xasprintf(&why, "no message for %d s",
			    PROTO_LIVENESS * PROTO_HEARTBEAT_MS / 1000);
			log_warnx("worker %s: %s, stopping it", w->w_id, why);
			worker_stop(w, WI_HUNG, why);
			free(why);
			continue;
		}
		if (w->w_state == W_HELLO)
			worker_resend_job(w);
		else if (w->w_state == W_RUNNING)
			(void)worker_send(w, proto_new(MSG_HEARTBEAT,
			    ++w->w_seq_out));
	}
}

/*
 * A job that could not be sent when the worker said hello (the socket
 * would not take it) is tried again at each beat, before the worker's
 * silence would count against it.
 */
static void
worker_resend_job(struct worker *w)
{
	if (worker_send_job(w) == 0) {
		w->w_state = W_RUNNING;
		return;
	}
	if (++w->w_sendtries >= PROTO_LIVENESS - 1)
		worker_fault(w, "cannot send the job");
}

/* Send a message to a worker; takes ownership of o. */
static int
worker_send(struct worker *w, struct json_object *o)
{
	struct buf	b;
	int		r;

	buf_init(&b, PROTO_MAX_MSG);
	r = proto_encode(o, &b);
	json_object_put(o);
	if (r == 0)
		r = zev_send(wk.zev, w->w_id, strlen(w->w_id), buf_str(&b),
		    buf_len(&b));
	if (r == -1)
		log_warn("worker %s: cannot send", w->w_id);
	if (b.b_data != NULL)
		memset(b.b_data, 0, b.b_len);
	buf_free(&b);
	return (r);
}

/* The secrets a worker gets, from skillboxd's environment. */
static struct json_object *
worker_secrets(void)
{
	struct json_object	*s = json_object_new_object();

	if (wk.cfg->c_e2b_api_key != NULL)
		json_add_string(s, "e2b_api_key", wk.cfg->c_e2b_api_key);
	if (wk.cfg->c_anthropic_api_key != NULL)
		json_add_string(s, "anthropic_api_key",
		    wk.cfg->c_anthropic_api_key);
	if (wk.cfg->c_git_token != NULL)
		json_add_string(s, "git_token", wk.cfg->c_git_token);
	return (s);
}

/* What the worker needs besides the spec: endpoints, paths, limits. */
static struct json_object *
worker_config(const struct worker *w)
{
	const struct sv_config	*c = wk.cfg;
	struct json_object	*o = json_object_new_object();
	const char		*digest;
	char			*dir;

	json_add_string(o, "template", c->c_template);
	if (c->c_e2b_api_url != NULL)
		json_add_string(o, "e2b_api_url", c->c_e2b_api_url);
	if (c->c_e2b_domain != NULL)
		json_add_string(o, "e2b_domain", c->c_e2b_domain);
	if (c->c_e2b_sandbox_url != NULL)
		json_add_string(o, "e2b_sandbox_url", c->c_e2b_sandbox_url);
	if (c->c_anthropic_base_url != NULL)
		json_add_string(o, "anthropic_base_url",
		    c->c_anthropic_base_url);
	dir = store_job_path(w->w_job, NULL);
	json_add_string(o, "job_dir", dir);
	free(dir);
	json_add_int(o, "deadline_ms", w->w_kind == WORKER_REAPER ?
	    clock_now_ms() + WORKER_REAP_DEADLINE : w->w_job->j_deadline);
	json_add_int(o, "idle_timeout_s", c->c_idle_timeout_s);
	json_add_string(o, "host", c->c_host);
	json_add_string(o, "skills_dir", c->c_skills_dir);
	if ((digest = pack_digest()) != NULL)
		json_add_string(o, "skills_digest", digest);
	json_add_string(o, "log_level",
	    config_log_level_name(c->c_log_level));
	if (w->w_kind == WORKER_REAPER) {
		json_add_string(o, "mode", "reap");
		json_add_string(o, "sandbox_id", w->w_job->j_sandbox);
	}
	return (o);
}

/* The job message: spec, secrets and config. */
static int
worker_send_job(struct worker *w)
{
	struct json_object	*o;

	o = proto_new(MSG_JOB, ++w->w_seq_out);
	json_add_string(o, "job_id", w->w_id);
	json_object_object_add(o, "spec", json_object_get(w->w_job->j_spec));
	json_object_object_add(o, "secrets", worker_secrets());
	json_object_object_add(o, "config", worker_config(w));
	if (worker_send(w, o) == -1) {
		w->w_seq_out--;		/* not sent: the next try is this seq */
		return (-1);
	}
	return (0);
}

/* hello: check the version, then send the job. */
static int
worker_on_hello(struct worker *w, struct json_object *o, char **cause)
{
	int64_t			 v = json_peek_int(o, "v", 0);
	struct json_object	*r;

	if (w->w_state != W_SPAWNED) {
		if (w->w_state == W_STOPPING)
			return (0);
		xasprintf(cause, "a second hello");
		return (-1);
	}
	if (json_peek_int(o, "pid", 0) != w->w_pid)
		log_debug("worker %s: hello from pid %lld, spawned %ld",
		    w->w_id, (long long)json_peek_int(o, "pid", 0),
		    (long)w->w_pid);
	if (v != PROTO_VERSION) {
		r = proto_new(MSG_VERSION, ++w->w_seq_out);
		json_add_int(r, "version", PROTO_VERSION);
		(void)worker_send(w, r);
		xasprintf(cause, "the worker speaks protocol version %lld, "
		    "skillboxd %d", (long long)v, PROTO_VERSION);
		log_warnx("worker %s: %s", w->w_id, *cause);
		worker_stop(w, WI_VERSION, *cause);
		free(*cause);
		*cause = NULL;
		return (0);
	}
	w->w_state = W_HELLO;
	if (worker_send_job(w) == 0)
		w->w_state = W_RUNNING;
	return (0);
}

/* sandbox: record it before the worker does anything with it. */
static int
worker_on_sandbox(struct worker *w, struct json_object *o, char **cause)
{
	const char	*id, *tmpl;

	if (json_get_string(o, NULL, "id", J_NONEMPTY, 256, &id,
	    cause) == -1 || json_get_string(o, NULL, "template", 0, 256,
	    &tmpl, cause) == -1)
		return (-1);
	if (w->w_kind == WORKER_JOB)
		job_set_sandbox(w->w_job, id, tmpl);
	return (0);
}

/* phase: the job moves on (never back). */
static int
worker_on_phase(struct worker *w, struct json_object *o, char **cause)
{
	const char	*name = json_peek_string(o, "phase");
	enum job_state	 st;

	if (job_state_parse(name, &st) == -1 || st < JOB_PROVISIONING ||
	    st > JOB_COLLECTING) {
		xasprintf(cause, "unknown phase '%.32s'", name);
		return (-1);
	}
	if (w->w_kind == WORKER_JOB && w->w_state == W_RUNNING &&
	    job_set_state(w->w_job, st, NULL) == -1)
		log_debug("worker %s: phase %s after %s ignored", w->w_id,
		    name, job_state_name(w->w_job->j_state));
	return (0);
}

/* event: into the log and the recent activity. */
static int
worker_on_event(struct worker *w, struct json_object *o, char **cause)
{
	struct json_object	*ev, *e;
	struct buf		 line;

	if (w->w_kind != WORKER_JOB)
		return (0);
	json_object_object_get_ex(o, "event", &ev);
	buf_init(&line, JOB_RECENT_MAX);
	job_summarize_event(ev, &line);
	job_add_recent(w->w_job, buf_str(&line) != NULL ? buf_str(&line) :
	    "event");
	buf_free(&line);
	e = json_object_new_object();
	json_object_object_add(e, "event", json_object_get(ev));
	job_add_entry(w->w_job, "event", e);
	return (0);
}

/* log: to skillboxd's log and the job's; errors are remembered. */
static int
worker_on_log(struct worker *w, struct json_object *o, char **cause)
{
	const char		*level = json_peek_string(o, "level");
	const char		*msg = json_peek_string(o, "msg");
	struct json_object	*e;
	int			 bad;

	bad = strcmp(level, "error") == 0 || strncmp(level, "warn", 4) == 0;
	if (bad) {
		log_warnx("worker %s: %s", w->w_id, msg);
		free(w->w_lasterr);
		w->w_lasterr = xstrndup(msg, 512);
	} else if (strcmp(level, "debug") == 0)
		log_debug("worker %s: %s", w->w_id, msg);
	else
		log_info("worker %s: %s", w->w_id, msg);
	e = json_object_new_object();
	json_add_string(e, "level", level);
	json_add_string(e, "msg", msg);
	if (w->w_kind == WORKER_REAPER)
		json_add_bool(e, "reaper", 1);
	job_add_entry(w->w_job, "log", e);
	return (0);
}

static int
worker_on_heartbeat(struct worker *w, struct json_object *o, char **cause)
{
	return (0);
}

/* result: the final message, with a terminal status. */
static int
worker_on_result(struct worker *w, struct json_object *o, char **cause)
{
	struct json_object	*r;
	const char		*status;
	enum job_state		 st;

	json_object_object_get_ex(o, "result", &r);
	if (json_get_string(r, "result", "status", J_REQUIRED, 32, &status,
	    cause) == -1)
		return (-1);
	if (job_state_parse(status, &st) == -1 || !job_state_terminal(st)) {
		xasprintf(cause, "result.status: '%.32s' is not a terminal "
		    "state", status);
		return (-1);
	}
	if (w->w_flags & W_CLOSED) {
		xasprintf(cause, "a second result");
		return (-1);
	}
	worker_final(w, json_object_get(r));
	return (0);
}

/* A worker broke the protocol: stop it, keep serving. */
static void
worker_fault(struct worker *w, const char *cause)
{
	log_warnx("worker %s: protocol error: %s", w->w_id, cause);
	worker_stop(w, WI_FAULT, cause);
}

/*
 * Handle one message from a worker.  A message that does not decode, is
 * out of sequence, or is not one a worker sends is a fault of that
 * worker.  Returns -1 after a fault.  A final message may complete (and
 * free) the worker: the caller must not use w afterwards.
 */
int
worker_handle(struct worker *w, const char *data, size_t len)
{
	struct proto_msg	 m;
	char			*cause = NULL;
	int			 r = -1;

	if (proto_decode(data, len, &m, &cause) == -1)
		goto fail;
	if (m.pm_seq <= w->w_seq_in) {
		xasprintf(&cause, "%s message seq %lld after %lld",
		    proto_type_name(m.pm_type), (long long)m.pm_seq,
		    (long long)w->w_seq_in);
		goto fail;
	}
	w->w_seq_in = m.pm_seq;
	w->w_liveness = PROTO_LIVENESS;
	if (worker_msgs[m.pm_type] == NULL) {
		xasprintf(&cause, "a worker does not send %s messages",
		    proto_type_name(m.pm_type));
		goto fail;
	}
	if (m.pm_type != MSG_HELLO && m.pm_type != MSG_LOG &&
	    w->w_state == W_SPAWNED) {
		xasprintf(&cause, "%s message before hello",
		    proto_type_name(m.pm_type));
		goto fail;
	}
	if (worker_msgs[m.pm_type](w, m.pm_obj, &cause) == -1)
		goto fail;
	r = 0;
	goto out;
fail:
	worker_fault(w, cause != NULL ? cause : "bad message");
out:
	if (m.pm_obj != NULL)
		proto_msg_clear(&m);
	free(cause);
	return (r);
}

/* The worker whose routing id this is. */
static struct worker *
worker_find(const char *id, size_t len)
{
	char		 buf[JOB_ID_SIZE];
	struct job	*j;

	if (len != JOB_ID_SIZE - 1)
		return (NULL);
	memcpy(buf, id, len);
	buf[len] = '\0';
	if ((j = jobs_find(buf)) == NULL)
		return (NULL);
	return (j->j_worker);
}

/* Drain the ROUTER: [routing id, message] from each worker. */
static void
worker_recv_cb(struct zev *z, void *arg)
{
	struct zev_msg	 m;
	struct worker	*w;
	int		 n;

	while ((n = zev_recv(z, &m)) != 0) {
		if (n == -1) {
			if (errno == EPROTO)
				continue;
			if (errno != EAGAIN)
				log_warn("workers socket");
			return;
		}
		w = n != 2 ? NULL : worker_find(zmq_msg_data(&m.zm_parts[0]),
		    zmq_msg_size(&m.zm_parts[0]));
		if (w == NULL || (w->w_flags & W_CLOSED))
			log_debug("message from an unknown or finished worker");
		else
			(void)worker_handle(w, zmq_msg_data(&m.zm_parts[1]),
			    zmq_msg_size(&m.zm_parts[1]));
		zev_msg_close(&m);
	}
}

/* Its final message is in; takes ownership of result. */
void
worker_final(struct worker *w, struct json_object *result)
{
	json_object_put(w->w_result);
	w->w_result = result;
	w->w_flags |= W_CLOSED;
	if (w->w_state != W_STOPPING)
		w->w_state = W_FINISHED;
	if (!(w->w_flags & W_EXITED) && w->w_stop == WS_NONE)
		worker_arm(w, wk.cfg != NULL ? wk.cfg->c_stop_grace_ms : 0);
	worker_drive(w);
}

/*
 * The process is gone.  If its final message has not arrived, read what
 * is queued and, failing that, give it a moment before concluding that
 * none will come.
 */
void
worker_exited(struct worker *w, int status)
{
	w->w_status = status;
	/* Not yet marked exited, so reading its result cannot free it. */
	if (!(w->w_flags & W_CLOSED) && wk.zev != NULL)
		worker_recv_cb(wk.zev, NULL);
	w->w_flags |= W_EXITED;
	if (w->w_timer != NULL)
		evtimer_del(w->w_timer);
	if (!(w->w_flags & W_CLOSED)) {
		if (w->w_timer == NULL)
			w->w_flags |= W_CLOSED;
		else
			worker_arm(w, WORKER_LINGER_MS);
	}
	worker_drive(w);
}

/* Free the worker once both its exit and its final message are in. */
static void
worker_drive(struct worker *w)
{
	if ((w->w_flags & (W_EXITED | W_CLOSED)) != (W_EXITED | W_CLOSED))
		return;
	if (wk.done != NULL)
		wk.done(w);
	worker_free(&w);
}

/* Reap every exited child: SIGCHLDs coalesce, so loop until none. */
void
worker_reap(void)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (spawn_exited(pid, status))
			continue;
		LIST_FOREACH(w, &wk.all, w_entry)
			if (w->w_pid == pid && !(w->w_flags & W_EXITED))
				break;
		if (w == NULL) {
			log_warnx("unmatched pid %ld", (long)pid);
			continue;
		}
		log_debug("worker %s: pid %ld %s", w->w_id, (long)pid,
		    WIFSIGNALED(status) ? "killed" : "exited");
		worker_exited(w, status);
	}
}

/* SIGKILL every worker (the end of a shutdown's grace period). */
void
worker_kill_all(void)
{
	struct worker	*w;

	LIST_FOREACH(w, &wk.all, w_entry)
		worker_signal(w, SIGKILL);
}

/* "exited 3", "killed by signal 9 (core dumped)". */
char *
worker_status_cause(int status)
{
	char	*s;

	if (WIFSIGNALED(status))
		xasprintf(&s, "killed by signal %d%s", WTERMSIG(status),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		xasprintf(&s, "exited %d", WEXITSTATUS(status));
	return (s);
}

/*
 * The job state a finished worker leaves its job in, and why.  Its
 * result is taken as given; without one, why it was stopped decides, and
 * failing that its exit status.
 */
enum job_state
worker_outcome(const struct worker *w, char **reason)
{
	const char	*status, *why;
	char		*cause;
	enum job_state	 st = JOB_CRASHED;
	size_t		 i;

	if (w->w_result != NULL && w->w_intent != WI_FAULT &&
	    w->w_intent != WI_VERSION && w->w_intent != WI_HUNG) {
		status = json_peek_string(w->w_result, "status");
		(void)job_state_parse(status, &st);
		if (st == JOB_CANCELLED && w->w_intent == WI_DEADLINE)
			st = JOB_TIMED_OUT;
		why = json_peek_string(w->w_result, "reason");
		*reason = why != NULL ? xstrdup(why) : NULL;
		return (st);
	}
	why = w->w_cause != NULL ? w->w_cause : "";
	switch (w->w_intent) {
	case WI_CANCEL:
		xasprintf(reason, "cancelled: %s", why);
		return (JOB_CANCELLED);
	case WI_SHUTDOWN:
		xasprintf(reason, "cancelled: %s", why);
		return (JOB_CANCELLED);
	case WI_DEADLINE:
		*reason = xstrdup(why);
		return (JOB_TIMED_OUT);
	case WI_HUNG:
		xasprintf(reason, "the worker stopped responding (%s)", why);
		return (JOB_CRASHED);
	case WI_FAULT:
		xasprintf(reason, "worker protocol error: %s", why);
		return (JOB_CRASHED);
	case WI_VERSION:
		*reason = xstrdup(why);
		return (JOB_CRASHED);
	default:
		break;
	}
	cause = worker_status_cause(w->w_status);
	if (WIFEXITED(w->w_status)) {
		for (i = 0; i < sizeof(worker_exits) /
		    sizeof(worker_exits[0]); i++) {
			if (worker_exits[i].code != WEXITSTATUS(w->w_status))
				continue;
			free(cause);
			cause = xstrdup(worker_exits[i].what);
			st = worker_exits[i].state;
		}
		if (WEXITSTATUS(w->w_status) == 0) {
			free(cause);
			cause = xstrdup("the worker exited without a result");
		}
	}
	if (w->w_lasterr != NULL)
		xasprintf(reason, "%s: %s", cause, w->w_lasterr);
	else
		*reason = xstrdup(cause);
	free(cause);
	return (st);
}
