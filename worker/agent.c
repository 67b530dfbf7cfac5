/*
 * Running Claude Code in the sandbox and reading what it does.
 *
 * The agent's stdout is stream-json, parsed as it arrives (stream.c);
 * each event goes to the supervisor.  Claude Code also writes it to a
 * transcript file in the sandbox, because envd drops output nobody is
 * subscribed to: when the stream breaks, the worker re-attaches by tag and
 * from then on reads the transcript (a ranged download from the last byte
 * it parsed) every PIPE_CATCHUP_S, so no event, and above all not the
 * result, is lost.
 *
 * The run stops at the first of: the process ends; the result is in and
 * the process has not ended PIPE_GRACE_S later; no output for the idle
 * timeout; the job's deadline; a cancel.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "e2b.h"
#include "envd.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "pipeline_int.h"
#include "sandbox.h"
#include "skills.h"
#include "stream.h"
#include "wjob.h"
#include "xmalloc.h"

#define AGENT_CATCHUP_CHUNK	(4 * 1024 * 1024)
#define AGENT_REATTACH_MAX	5	/* attempts in a row without progress */

static void	agent_event_cb(void *, const struct stream_event *);
static void	agent_start_cb(void *, int64_t);
static int	agent_stdout_cb(void *, const char *, size_t);
static int	agent_stderr_cb(void *, const char *, size_t);
static void	agent_idle_cb(int, short, void *);
static void	agent_grace_cb(int, short, void *);
static void	agent_catchup_cb(int, short, void *);
static void	agent_refresh_cb(int, short, void *);
static void	agent_refreshed_cb(int, const char *, void *);
static void	agent_timers(struct pipeline *, int);
static void	agent_feed(struct pipeline *, const char *, size_t);
static void	agent_stop(struct pipeline *, enum agent_stop);
static int	agent_catch_up(struct pipeline *);
static int	agent_reattach(struct pipeline *, const struct envd_io *);
static int	agent_sandbox_dead(struct pipeline *);
static void	agent_arm(struct pipeline *, struct event *, int);
static struct json_object *agent_envs(struct pipeline *);
static int	agent_verdict(struct pipeline *);
static int	agent_read_on(struct pipeline *);

static void
agent_arm(struct pipeline *p, struct event *ev, int secs)
{
	struct timeval	tv = { secs, 0 };

	evtimer_add(ev, &tv);
}

/* Stop the run (once) for the given reason; the stream read returns. */
static void
agent_stop(struct pipeline *p, enum agent_stop why)
{
	if (p->p_stop != AGENT_RUNNING)
		return;
	p->p_stop = why;
	if (p->p_envd != NULL)
		envd_cancel(p->p_envd);
}

/* The pipeline is cancelled: stop the agent if it runs. */
void
agent_cancel(struct pipeline *p)
{
	if (p->p_phase == JOB_RUNNING)
		agent_stop(p, AGENT_CANCEL);
}

/* No output for the idle timeout. */
static void
agent_idle_cb(int fd, short what, void *arg)
{
	agent_stop(arg, AGENT_IDLE);
}

/* The result came, but the process did not end in time. */
static void
agent_grace_cb(int fd, short what, void *arg)
{
	agent_stop(arg, AGENT_RESULT);
}

/* Degraded mode: break off the attached stream to read the transcript. */
static void
agent_catchup_cb(int fd, short what, void *arg)
{
	struct pipeline	*p = arg;

	if (p->p_envd != NULL)
		envd_cancel(p->p_envd);
}

/* A refresh failed: the next one may work; the deadline still holds. */
static void
agent_refreshed_cb(int rv, const char *cause, void *arg)
{
	if (rv == -1)
		log_warnx("cannot refresh the sandbox timeout: %s", cause);
}

/* Keep the sandbox alive past its creation lifetime while the job runs. */
static void
agent_refresh_cb(int fd, short what, void *arg)
{
	struct pipeline	*p = arg;
	int64_t		 left;
	char		*cause = NULL;

	left = (p->p_job->wj_deadline_ms - pipe_now_ms()) / 1000 +
	    PIPE_SANDBOX_MARGIN_S;
	if (left > PIPE_SANDBOX_MAX_S)
		left = PIPE_SANDBOX_MAX_S;
	if (e2b_set_timeout_async(p->p_e2b, p->p_sbx->sb_id, (int)left,
	    agent_refreshed_cb, p, &cause) == -1) {
		log_warnx("sandbox timeout: %s", cause);
		free(cause);
	}
	agent_arm(p, p->p_refresh_ev, PIPE_REFRESH_S);
}

/* One compact agent event: to the supervisor, and checked if init. */
static void
agent_event_cb(void *arg, const struct stream_event *se)
{
	struct pipeline		*p = arg;
	struct json_object	*m;
	char			*cause = NULL;

	m = link_msg(p->p_link, MSG_EVENT);
	json_object_object_add(m, "event", json_object_get(se->se_json));
	(void)link_send(p->p_link, m);
	if (se->se_kind == STREAM_INIT &&
	    stream_check_skills(p->p_stream, p->p_skills, &cause) == -1) {
		pipe_fail(p, JOB_FAILED, "%s", cause);
		free(cause);
		agent_stop(p, AGENT_CANCEL);
	}
	if (se->se_kind == STREAM_RESULT)
		agent_arm(p, p->p_grace_ev, PIPE_GRACE_S);
}

/* Parse transcript bytes; any output resets the idle watchdog. */
static void
agent_feed(struct pipeline *p, const char *data, size_t len)
{
	p->p_fed += len;
	stream_feed(p->p_stream, data, len);
	if (!stream_done(p->p_stream))
		agent_arm(p, p->p_idle_ev, (int)p->p_job->wj_idle_s);
}

static void
agent_start_cb(void *arg, int64_t pid)
{
	log_debug("agent started, pid %lld", (long long)pid);
}

static int
agent_stdout_cb(void *arg, const char *data, size_t len)
{
	struct pipeline	*p = arg;

	if (!p->p_degraded)
		agent_feed(p, data, len);
	return (0);
}

static int
agent_stderr_cb(void *arg, const char *data, size_t len)
{
	struct pipeline	*p = arg;

	pipe_tail(&p->p_stderr, data, len);
	return (0);
}

/*
 * Read the transcript from the last byte parsed to its end.  Returns 0,
 * or -1 if it could not be read.
 */
static int
agent_catch_up(struct pipeline *p)
{
	struct buf	 b;
	char		*cause = NULL;
	int		 rv;

	buf_init(&b, AGENT_CATCHUP_CHUNK);
	do {
		buf_reset(&b);
		rv = envd_download(p->p_envd, SANDBOX_TRANSCRIPT, p->p_fed,
		    AGENT_CATCHUP_CHUNK, &b, &cause);
		if (rv == 0 && buf_len(&b) > 0)
			agent_feed(p, buf_str(&b), buf_len(&b));
	} while (rv == 0 && buf_len(&b) == AGENT_CATCHUP_CHUNK);
	buf_free(&b);
	if (rv == -1) {
		log_warnx("transcript: %s", cause);
		free(cause);
	}
	return (rv == -1 ? -1 : 0);
}

/*
 * Whether the sandbox is gone (recorded as the job's failure).  A health
 * check that cannot tell counts as alive: the next call will find out.
 */
static int
agent_sandbox_dead(struct pipeline *p)
{
	char	*cause = NULL;
	int	 rv;

	rv = envd_health(p->p_envd, &cause);
	if (rv == 1)
		pipe_fail(p, JOB_FAILED, "the sandbox died during the job: %s",
		    cause);
	free(cause);
	return (rv == 1);
}

/*
 * After a broken stream: tell a dead sandbox from a network blip, then
 * re-attach, reading the transcript between attaches.  Gives up after
 * AGENT_REATTACH_MAX attempts in a row that bring nothing new.
 */
static int
agent_reattach(struct pipeline *p, const struct envd_io *io)
{
	uint64_t	 fed = p->p_fed;
	char		*cause = NULL;

	if (p->p_proc.pr_end == ENVD_DROPPED && agent_sandbox_dead(p))
		return (-1);
	if (!p->p_degraded)
		pipe_log(p, "agent stream broke after %llu bytes; reading "
		    "the transcript from now on", (unsigned long long)p->p_fed);
	p->p_degraded = 1;
	if (agent_catch_up(p) == -1 && agent_sandbox_dead(p))
		return (-1);
	agent_arm(p, p->p_catchup_ev, PIPE_CATCHUP_S);
	(void)envd_attach(p->p_envd, SANDBOX_AGENT_TAG, 0, 0, io, &p->p_proc,
	    &cause);
	if (p->p_proc.pr_end == ENVD_FAILED || p->p_proc.pr_end ==
	    ENVD_DROPPED) {
		if (agent_sandbox_dead(p))
			goto fail;
		if (p->p_fed == fed && ++p->p_reattach_failures >=
		    AGENT_REATTACH_MAX) {
			pipe_fail(p, JOB_FAILED, "cannot re-attach to the "
			    "agent: %s", cause != NULL ? cause : "no progress");
			goto fail;
		}
	}
	if (p->p_fed != fed)
		p->p_reattach_failures = 0;
	free(cause);
	return (0);
fail:
	free(cause);
	return (-1);
}

/* The agent's environment: the key for this process only. */
static struct json_object *
agent_envs(struct pipeline *p)
{
	const struct jobspec	*js = p->p_job->wj_spec;
	struct json_object	*e = pipe_job_envs(p);
	char			 n[32];

	json_add_string(e, "ANTHROPIC_API_KEY", p->p_job->wj_anthropic_key);
	if (p->p_job->wj_anthropic_base_url != NULL)
		json_add_string(e, "ANTHROPIC_BASE_URL",
		    p->p_job->wj_anthropic_base_url);
	json_add_string(e, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
	json_add_string(e, "DISABLE_AUTOUPDATER", "1");
	snprintf(n, sizeof(n), "%lld", (long long)js->js_max_turns);
	json_add_string(e, "SKILLBOX_MAX_TURNS", n);
	if (js->js_model != NULL)
		json_add_string(e, "SKILLBOX_MODEL", js->js_model);
	return (e);
}

/* Decide what the run means for the job. */
static int
agent_verdict(struct pipeline *p)
{
	const struct stream_result	*sr = stream_result(p->p_stream);
	const struct stream_init	*si = stream_init(p->p_stream);
	const char			*tail = buf_str(&p->p_stderr);

	if (pipe_stopped(p))
		return (-1);
	if (p->p_stop == AGENT_IDLE)
		return (pipe_fail(p, JOB_FAILED, "no output from the agent "
		    "for %lld s (idle watchdog)",
		    (long long)p->p_job->wj_idle_s));
	if (!si->si_seen && !sr->sr_seen)
		return (pipe_fail(p, JOB_FAILED, "the agent never started "
		    "(exit %d): %s", p->p_proc.pr_exit_code, tail));
	if (!sr->sr_seen)
		return (pipe_fail(p, JOB_FAILED, "the agent ended without a "
		    "result (exit %d)%s%s", p->p_proc.pr_exit_code,
		    *tail != '\0' ? ": " : "", tail));
	if (sr->sr_is_error)
		return (pipe_fail(p, JOB_FAILED, "the agent failed: %s%s%s",
		    sr->sr_terminal_reason != NULL ? sr->sr_terminal_reason :
		    sr->sr_subtype, sr->sr_nerrors > 0 ? ": " :
		    (sr->sr_text != NULL ? ": " : ""), sr->sr_nerrors > 0 ?
		    sr->sr_errors[0] : (sr->sr_text != NULL ? sr->sr_text :
		    "")));
	return (0);
}

/* Make the run's timers, or (free) delete them. */
static void
agent_timers(struct pipeline *p, int make)
{
	struct event	**evs[] = { &p->p_idle_ev, &p->p_grace_ev,
			    &p->p_catchup_ev, &p->p_refresh_ev };
	event_callback_fn cbs[] = { agent_idle_cb, agent_grace_cb,
			    agent_catchup_cb, agent_refresh_cb };
	size_t		 i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (make)
			*evs[i] = evtimer_new(p->p_base, cbs[i], p);
		else if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
}

/*
 * Whether to read on after envd returned: the stream broke, or (degraded
 * mode) the catch-up timer broke it off, and nothing asked to stop.
 */
static int
agent_read_on(struct pipeline *p)
{
	if (p->p_stop != AGENT_RUNNING || p->p_cancelled)
		return (0);
	return (p->p_proc.pr_end == ENVD_DROPPED ||
	    (p->p_degraded && p->p_proc.pr_end == ENVD_CANCELLED));
}

/* Run Claude Code on the job, to its end or until it must stop. */
int
agent_run(struct pipeline *p)
{
	const char	*args[] = { "-c", sandbox_agent_sh, "skillbox-agent",
			    NULL };
	struct envd_cmd	 cm;
	struct envd_io	 io = { agent_start_cb, agent_stdout_cb,
			    agent_stderr_cb, p };
	char		*cause = NULL;

	pipe_phase(p, JOB_RUNNING);
	p->p_stream = stream_new(agent_event_cb, p);
	buf_reset(&p->p_stderr);
	memset(&cm, 0, sizeof(cm));
	cm.cm_cmd = "/bin/bash";
	cm.cm_args = args;
	cm.cm_envs = agent_envs(p);
	cm.cm_cwd = SANDBOX_REPO;
	cm.cm_tag = SANDBOX_AGENT_TAG;
	agent_timers(p, 1);
	agent_arm(p, p->p_idle_ev, (int)p->p_job->wj_idle_s);
	if (p->p_job->wj_deadline_ms - pipe_now_ms() >
	    (PIPE_SANDBOX_MAX_S - PIPE_SANDBOX_MARGIN_S) * 1000LL)
		agent_arm(p, p->p_refresh_ev, PIPE_REFRESH_S);

	if (envd_run(p->p_envd, &cm, &io, &p->p_proc, &cause) == -1 &&
	    p->p_proc.pr_end == ENVD_FAILED)
		pipe_fail(p, JOB_FAILED, "cannot run the agent: %s", cause);
	free(cause);
	cause = NULL;
	while (agent_read_on(p) && agent_reattach(p, &io) == 0)
		;
	if (p->p_degraded && p->p_proc.pr_end == ENVD_EXITED)
		(void)agent_catch_up(p);
	agent_timers(p, 0);
	json_object_put(cm.cm_envs);
	if (p->p_proc.pr_end != ENVD_EXITED && p->p_proc.pr_pid > 0 &&
	    p->p_status == JOB_SUCCEEDED &&
	    envd_signal(p->p_envd, p->p_proc.pr_pid, SIGTERM, &cause) == -1)
		log_warnx("cannot stop the agent: %s", cause);
	free(cause);
	stream_finish(p->p_stream);
	return (agent_verdict(p));
}
