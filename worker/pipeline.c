/*
 * The life of one job in one sandbox:
 *
 *	prepare		load the Skills pack, build the one tarball
 *	provision	create the sandbox; tell the supervisor its id at once
 *	inject		upload the tarball
 *	fetch repo	unpack it, clone the repo if it is remote
 *	run		Claude Code, headless (agent.c)
 *	collect		diff, result.json, artifacts (collect.c)
 *	judge		did the job do what it was for?
 *	teardown	kill the sandbox, whatever happened before
 *	report		the result message (report.c)
 *
 * Each step returns 0 or -1; a failing step has recorded the job's
 * terminal status and reason, and the steps after it are skipped, except
 * teardown and report, which always run.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <event2/event.h>

#include "bundle.h"
#include "e2b.h"
#include "envd.h"
#include "forkserver.h"
#include "http.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "redact.h"
#include "result.h"
#include "sandbox.h"
#include "skills.h"
#include "stream.h"
#include "wjob.h"
#include "xmalloc.h"

static int	pipe_skills(struct pipeline *, const struct bundle_head **,
		    char **);
static int	step_prepare(struct pipeline *);
static int	step_provision(struct pipeline *);
static int	step_inject(struct pipeline *);
static int	step_fetch_repo(struct pipeline *);
static void	step_judge(struct pipeline *);
static void	step_teardown(struct pipeline *);
static void	step_report(struct pipeline *);
static int	pipe_reap(struct pipeline *);
static int	pipe_reap_job(struct pipeline *, const char *, char **);
static int	pipe_check_keys(struct pipeline *);
static void	pipe_deadline_cb(int, short, void *);
static int	pipe_add_job_files(struct pipeline *, struct bundle *,
		    char **);

int64_t
pipe_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

struct pipeline *
pipeline_new(struct event_base *base, struct link *link, struct wjob *wj)
{
	struct pipeline	*p;

	p = xcalloc(1, sizeof(*p));
	p->p_base = base;
	p->p_link = link;
	p->p_job = wj;
	p->p_phase = JOB_STARTING;
	p->p_status = JOB_SUCCEEDED;
	p->p_t0 = p->p_phase_t0 = pipe_now_ms();
	buf_init(&p->p_stderr, PIPE_TAIL_MAX * 2);
	diffstat_init(&p->p_diff);
	return (p);
}

void
pipeline_free(struct pipeline **pp)
{
	struct pipeline	*p = *pp;

	if (p == NULL)
		return;
	if (p->p_deadline_ev != NULL)
		event_free(p->p_deadline_ev);
	envd_free(&p->p_envd);
	e2b_sandbox_free(&p->p_sbx);
	e2b_free(&p->p_e2b);
	http_ctx_free(&p->p_http);
	skills_free(&p->p_skills_own);
	stream_free(&p->p_stream);
	envd_proc_clear(&p->p_proc);
	result_free(&p->p_rf);
	diffstat_free(&p->p_diff);
	buf_free(&p->p_stderr);
	json_object_put(p->p_artifacts);
	json_object_put(p->p_skipped);
	free(p->p_bundle);
	free(p->p_reason);
	free(p->p_cancel_reason);
	free(p->p_rf_error);
	free(p->p_verify.v_why);
	free(p);
	*pp = NULL;
}

/*
 * Enter a phase: time the one that ends, and tell the supervisor.  A
 * terminal state is not a phase: the result message says it.
 */
void
pipe_phase(struct pipeline *p, enum job_state phase)
{
	struct json_object	*m;
	int64_t			 now = pipe_now_ms();

	p->p_timings[p->p_phase] += now - p->p_phase_t0;
	p->p_phase = phase;
	p->p_phase_t0 = now;
	if (job_state_terminal(phase))
		return;
	m = link_msg(p->p_link, MSG_PHASE);
	json_add_string(m, "phase", job_state_name(phase));
	json_add_int(m, "at", now - p->p_t0);
	(void)link_send(p->p_link, m);
	log_debug("phase %s", job_state_name(phase));
}

/* Log a line and send it to the supervisor's job log too. */
void
pipe_log(struct pipeline *p, const char *fmt, ...)
{
	struct json_object	*m;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	m = link_msg(p->p_link, MSG_LOG);
	json_add_string(m, "level", "info");
	json_add_string(m, "msg", msg);
	(void)link_send(p->p_link, m);
	free(msg);
}

/*
 * Record the job's terminal status and reason; the first one recorded
 * wins, so the root cause is what the user sees.  Always returns -1.
 */
int
pipe_fail(struct pipeline *p, enum job_state status, const char *fmt, ...)
{
	va_list	ap;

	if (p->p_status != JOB_SUCCEEDED)
		return (-1);
	p->p_status = status;
	va_start(ap, fmt);
	xvasprintf(&p->p_reason, fmt, ap);
	va_end(ap);
	log_info("job %s: %s", job_state_name(status), p->p_reason);
	return (-1);
}

/* True (after recording why) when the job must not go on. */
int
pipe_stopped(struct pipeline *p)
{
	if (p->p_cancelled)
		return (pipe_fail(p, p->p_cancel_status, "%s",
		    p->p_cancel_reason) != 0);
	return (p->p_status != JOB_SUCCEEDED);
}

/*
 * Stop the job: cancelled by the supervisor or a signal, or timed out.
 * What is running is interrupted; teardown still kills the sandbox.
 */
void
pipeline_cancel(struct pipeline *p, enum job_state status,
    const char *reason)
{
	if (p->p_cancelled)
		return;
	p->p_cancelled = 1;
	p->p_cancel_status = status;
	p->p_cancel_reason = xstrdup(reason != NULL ? reason : "cancelled");
	log_info("stopping: %s", p->p_cancel_reason);
	agent_cancel(p);
	if (p->p_envd != NULL && p->p_phase != JOB_RUNNING)
		envd_cancel(p->p_envd);
}

static void
pipe_deadline_cb(int fd, short what, void *arg)
{
	struct pipeline	*p = arg;
	char		*why;

	xasprintf(&why, "the job's deadline passed (timeout_s %lld)",
	    (long long)p->p_job->wj_spec->js_timeout_s);
	pipeline_cancel(p, JOB_TIMED_OUT, why);
	free(why);
}

/* Keep the last bytes of an output in a bounded buffer. */
void
pipe_tail(struct buf *b, const char *data, size_t len)
{
	if (len > PIPE_TAIL_MAX) {
		data += len - PIPE_TAIL_MAX;
		len = PIPE_TAIL_MAX;
	}
	if (buf_room(b) < len)
		buf_consume(b, len - buf_room(b));
	(void)buf_add(b, data, len);
}

/* Where a script's output goes: stdout to the caller, stderr kept. */
struct pipe_script_io {
	struct buf	*ps_out;
	struct buf	*ps_err;
};

static int
pipe_script_out_cb(void *arg, const char *data, size_t len)
{
	struct pipe_script_io	*ps = arg;

	if (ps->ps_out != NULL)
		pipe_tail(ps->ps_out, data, len);
	return (0);
}

static int
pipe_script_err_cb(void *arg, const char *data, size_t len)
{
	struct pipe_script_io	*ps = arg;

	pipe_tail(ps->ps_err, data, len);
	return (0);
}

/*
 * Run a sandbox script with bash, parameters in its environment, and
 * wait (at most timeout_ms) for it.  The end of its stdout is kept in out
 * when out is not NULL, the end of its stderr in p_stderr.  Returns the
 * exit code, or -1 with *cause set if it could not run or did not end.
 */
int
pipe_script(struct pipeline *p, const char *name, const char *script,
    struct json_object *envs, struct buf *out, long timeout_ms, char **cause)
{
	const char		*args[] = { "-c", script, name, NULL };
	struct pipe_script_io	 ps = { out, &p->p_stderr };
	struct envd_io		 io = { NULL, pipe_script_out_cb,
				    pipe_script_err_cb, &ps };
	struct envd_cmd		 cm;
	struct envd_proc	 pr;
	int			 rv;

	memset(&cm, 0, sizeof(cm));
	memset(&pr, 0, sizeof(pr));
	cm.cm_cmd = "/bin/bash";
	cm.cm_args = args;
	cm.cm_envs = envs;
	cm.cm_cwd = SANDBOX_HOME;
	cm.cm_timeout_ms = timeout_ms;
	buf_reset(&p->p_stderr);
	rv = envd_run(p->p_envd, &cm, &io, &pr, cause);
	if (rv == 0)
		rv = pr.pr_exit_code;
	envd_proc_clear(&pr);
	return (rv);
}

/* The job's own (non-secret) environment variables, as an object. */
struct json_object *
pipe_job_envs(struct pipeline *p)
{
	const struct jobspec	*js = p->p_job->wj_spec;
	struct json_object	*e = json_object_new_object();
	size_t			 i;

	for (i = 0; i < js->js_nenv; i++)
		json_add_string(e, js->js_env[i].je_name,
		    js->js_env[i].je_value);
	return (e);
}

/* Both keys must be there before anything is created. */
static int
pipe_check_keys(struct pipeline *p)
{
	if (p->p_job->wj_e2b_key == NULL) {
		p->p_exit = EX_CONFIG;
		return (pipe_fail(p, JOB_FAILED, "E2B_API_KEY is not set"));
	}
	if (p->p_job->wj_spec != NULL && p->p_job->wj_anthropic_key == NULL) {
		p->p_exit = EX_CONFIG;
		return (pipe_fail(p, JOB_FAILED,
		    "ANTHROPIC_API_KEY is not set"));
	}
	return (0);
}

/* job.json and prompt.txt, what the skills read. */
static int
pipe_add_job_files(struct pipeline *p, struct bundle *b, char **cause)
{
	struct json_object	*o;
	const char		*s;
	char			*prompt;
	size_t			 len;
	int			 rv;

	o = sandbox_job_json(p->p_job);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	rv = bundle_add_file(b, ".skillbox/job.json", s, len, 0, cause);
	json_object_put(o);
	if (rv == -1)
		return (-1);
	prompt = sandbox_prompt(p->p_job);
	rv = bundle_add_file(b, ".skillbox/prompt.txt", prompt, strlen(prompt),
	    0, cause);
	free(prompt);
	return (rv);
}

/*
 * The Skills pack: the forkserver's copy (with its part of the bundle
 * compressed, *head) when it is the one skillboxd shows, else read now.
 */
static int
pipe_skills(struct pipeline *p, const struct bundle_head **head,
    char **cause)
{
	struct wjob	*wj = p->p_job;

	if ((p->p_skills = forkserver_skills(wj->wj_skills_dir,
	    wj->wj_skills_digest, head)) != NULL) {
		log_debug("skills: the forkserver's copy%s", *head != NULL ?
		    ", compressed" : "");
		return (0);
	}
	if (skills_load(wj->wj_skills_dir, NULL, &p->p_skills_own,
	    cause) == -1)
		return (-1);
	p->p_skills = p->p_skills_own;
	return (0);
}

/*
 * Everything that can fail without a sandbox fails here, before one is
 * paid for: the keys, the Skills pack (with the skill this job needs),
 * the tarball with the job files and a local repo.
 */
static int
step_prepare(struct pipeline *p)
{
	struct wjob			*wj = p->p_job;
	struct bundle			*b = NULL;
	const struct bundle_head	*head;
	const char			*skill;
	const char			*repo;
	char				*cause = NULL;

	skill = jobspec_type_skill(wj->wj_spec->js_type);
	if (pipe_skills(p, &head, &cause) == -1)
		goto fail;
	if (skills_find(p->p_skills, skill) == NULL ||
	    skills_find(p->p_skills, "report-result") == NULL) {
		xasprintf(&cause, "the Skills pack in %s lacks %s",
		    wj->wj_skills_dir, skills_find(p->p_skills, skill) ==
		    NULL ? skill : "report-result");
		goto fail;
	}
	b = bundle_new();
	repo = wj->wj_repo_path != NULL ? wj->wj_repo_path :
	    wj->wj_spec->js_repo_path;
	if ((head == NULL && bundle_add_skills(b, p->p_skills, &cause) ==
	    -1) ||
	    pipe_add_job_files(p, b, &cause) == -1 ||
	    (repo != NULL && bundle_add_repo(b, repo, BUNDLE_REPO_MAX,
	    &cause) == -1) ||
	    bundle_write(b, head, BUNDLE_MAX, &p->p_bundle, &p->p_bundle_len,
	    &cause) == -1)
		goto fail;
	bundle_free(&b);
	return (0);
fail:
	bundle_free(&b);
	pipe_fail(p, JOB_FAILED, "%s", cause);
	free(cause);
	return (-1);
}

/* Create the sandbox, and say its id before anything else is done. */
static int
step_provision(struct pipeline *p)
{
	struct wjob		*wj = p->p_job;
	struct e2b_create	 ec;
	struct json_object	*m;
	int64_t			 life;
	char			*cause = NULL;

	pipe_phase(p, JOB_PROVISIONING);
	life = (wj->wj_deadline_ms - pipe_now_ms()) / 1000 +
	    PIPE_SANDBOX_MARGIN_S;
	memset(&ec, 0, sizeof(ec));
	ec.ec_template = wj->wj_template;
	ec.ec_timeout_s = (int)(life < PIPE_SANDBOX_MAX_S ? life :
	    PIPE_SANDBOX_MAX_S);
	ec.ec_job = wj->wj_id;
	ec.ec_host = wj->wj_host;
	ec.ec_secure = 1;
	ec.ec_internet = 1;
	p->p_create_attempts = 1;
	if (e2b_create(p->p_e2b, &ec, &p->p_sbx, &cause) == -1) {
		p->p_create_attempts = e2b_last_attempts(p->p_e2b);
		p->p_exit = EX_UNAVAILABLE;
		pipe_fail(p, JOB_FAILED, "cannot create a sandbox: %s", cause);
		free(cause);
		return (-1);
	}
	p->p_create_attempts = e2b_last_attempts(p->p_e2b);
	m = link_msg(p->p_link, MSG_SANDBOX);
	json_add_string(m, "id", p->p_sbx->sb_id);
	json_add_string(m, "template", wj->wj_template);
	(void)link_send(p->p_link, m);
	pipe_log(p, "sandbox %s (template %s)", p->p_sbx->sb_id,
	    wj->wj_template);
	p->p_envd = envd_new(p->p_http, p->p_sbx->sb_id, p->p_sbx->sb_token,
	    p->p_sbx->sb_domain, &cause);
	if (p->p_envd == NULL) {
		pipe_fail(p, JOB_FAILED, "%s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* One upload: the skills, the job files and a local repo. */
static int
step_inject(struct pipeline *p)
{
	char	*cause = NULL;

	pipe_phase(p, JOB_INJECTING);
	if (envd_upload(p->p_envd, SANDBOX_BUNDLE, p->p_bundle,
	    p->p_bundle_len, &cause) == -1) {
		pipe_fail(p, JOB_FAILED, "cannot upload the job: %s", cause);
		free(cause);
		return (-1);
	}
	free(p->p_bundle);
	p->p_bundle = NULL;
	return (0);
}

/* Unpack the tarball and bring the repository in. */
static int
step_fetch_repo(struct pipeline *p)
{
	const struct jobspec	*js = p->p_job->wj_spec;
	struct json_object	*envs;
	struct buf		 out;
	char			*cause = NULL;
	int			 rc;

	pipe_phase(p, JOB_FETCHING_REPO);
	envs = json_object_new_object();
	if (js->js_repo_url != NULL)
		json_add_string(envs, "SKILLBOX_REPO_URL", js->js_repo_url);
	if (js->js_repo_ref != NULL)
		json_add_string(envs, "SKILLBOX_REPO_REF", js->js_repo_ref);
	if (p->p_job->wj_git_token != NULL)
		json_add_string(envs, "SKILLBOX_GIT_TOKEN",
		    p->p_job->wj_git_token);
	buf_init(&out, PIPE_TAIL_MAX);
	rc = pipe_script(p, "skillbox-setup", sandbox_setup_sh, envs, &out,
	    PIPE_SCRIPT_MS, &cause);
	json_object_put(envs);
	if (rc == 0)
		pipe_log(p, "%.*s", (int)strcspn(buf_str(&out), "\n"),
		    buf_str(&out));
	buf_free(&out);
	if (rc == -1) {
		pipe_fail(p, JOB_FAILED, "cannot prepare the repository: %s",
		    cause);
		free(cause);
		return (-1);
	}
	if (rc != 0)
		return (pipe_fail(p, JOB_FAILED, "cannot prepare the "
		    "repository (exit %d): %s", rc, buf_str(&p->p_stderr)));
	return (0);
}

/*
 * The agent finished without error; the job succeeded only if it wrote a
 * valid result.json, for fix-tests no test still fails, and the tests it
 * reported passing pass when run again.
 */
static void
step_judge(struct pipeline *p)
{
	const struct result_tests	*rt;

	if (p->p_status != JOB_SUCCEEDED)
		return;
	if (p->p_rf == NULL) {
		pipe_fail(p, JOB_FAILED, "the agent did not write a valid "
		    "~/.skillbox/result.json%s%s", p->p_rf_error != NULL ?
		    ": " : "", p->p_rf_error != NULL ? p->p_rf_error : "");
		return;
	}
	rt = &p->p_rf->rf_tests;
	if (p->p_job->wj_spec->js_type == JOB_FIX_TESTS &&
	    p->p_rf->rf_has_tests && rt->rt_failed > 0)
		pipe_fail(p, JOB_FAILED, "%lld test%s still fail%s (%s)",
		    (long long)rt->rt_failed, rt->rt_failed == 1 ? "" : "s",
		    rt->rt_failed == 1 ? "s" : "", rt->rt_command);
	verify_judge(p);
}

/*
 * Kill the sandbox, whatever happened; say so if that failed.  A create
 * that was retried may have left another sandbox for this job (an answer
 * lost on the way back): those are found by their metadata and killed.
 */
static void
step_teardown(struct pipeline *p)
{
	int64_t	 t = pipe_now_ms();
	char	*cause = NULL;
	int	 n;

	if (p->p_sbx != NULL) {
		if (e2b_kill(p->p_e2b, p->p_sbx->sb_id, &cause) == -1) {
			log_warnx("sandbox %s may still be running: %s",
			    p->p_sbx->sb_id, cause);
			free(cause);
			cause = NULL;
		} else
			p->p_killed = 1;
	}
	if (p->p_create_attempts > 1) {
		if ((n = pipe_reap_job(p, p->p_job->wj_id, &cause)) == -1)
			log_warnx("cannot look for stray sandboxes: %s", cause);
		else if (n > 0)
			pipe_log(p, "killed %d stray sandbox%s of this job", n,
			    n == 1 ? "" : "es");
		free(cause);
	}
	p->p_teardown_ms = pipe_now_ms() - t;
}

static void
step_report(struct pipeline *p)
{
	struct json_object	*m;

	pipe_phase(p, p->p_status);
	m = link_msg(p->p_link, MSG_RESULT);
	json_object_object_add(m, "result", report_result(p));
	(void)link_send(p->p_link, m);
}

/*
 * Kill every sandbox E2B lists for a job (its metadata skillbox_job):
 * what a worker that died while creating one may have left.  Returns the
 * number killed, or -1 with *cause set.
 */
static int
pipe_reap_job(struct pipeline *p, const char *job, char **cause)
{
	struct json_object	 *md;
	struct e2b_sandbox	**list = NULL;
	size_t			  n = 0, i;
	int			  killed = 0;

	md = json_object_new_object();
	json_add_string(md, "skillbox_job", job);
	if (e2b_list(p->p_e2b, md, &list, &n, cause) == -1) {
		json_object_put(md);
		return (-1);
	}
	json_object_put(md);
	for (i = 0; i < n; i++) {
		if (e2b_kill(p->p_e2b, list[i]->sb_id, cause) == -1)
			break;
		killed++;
	}
	e2b_list_free(&list, n);
	return (i == n ? killed : -1);
}

/*
 * A reaper's whole job: kill the sandbox a dead worker owned, and any
 * other sandbox left for its job.
 */
static int
pipe_reap(struct pipeline *p)
{
	struct wjob		*wj = p->p_job;
	struct json_object	*m, *r;
	char			*cause = NULL;
	int			 rv = 0, n = 0;

	if (wj->wj_reap_id != NULL)
		rv = e2b_kill(p->p_e2b, wj->wj_reap_id, &cause);
	if (rv == 0 && wj->wj_reap_job != NULL &&
	    (n = pipe_reap_job(p, wj->wj_reap_job, &cause)) == -1)
		rv = -1;
	r = json_object_new_object();
	json_add_string(r, "status", rv == 0 ? "succeeded" : "failed");
	if (rv == 0)
		json_add_string(r, "reason", "sandboxes killed");
	else
		json_add_string(r, "reason", cause);
	if (wj->wj_reap_id != NULL)
		json_add_string(r, "sandbox_id", wj->wj_reap_id);
	json_add_int(r, "killed", (wj->wj_reap_id != NULL && rv == 0) + n);
	m = link_msg(p->p_link, MSG_RESULT);
	json_object_object_add(m, "result", r);
	(void)link_send(p->p_link, m);
	if (rv == -1)
		log_warnx("reap: %s", cause);
	free(cause);
	return (rv == 0 ? 0 : EX_UNAVAILABLE);
}

/*
 * Run the job to its end and report it.  Returns the process's exit
 * code: 0 once a result was sent, a sysexits code for a job that could
 * not start for want of configuration.
 */
int
pipeline_run(struct pipeline *p)
{
	struct wjob	*wj = p->p_job;
	struct timeval	 tv;
	int64_t		 left;
	char		*cause = NULL;

	p->p_http = http_ctx_new(p->p_base);
	if (pipe_check_keys(p) == 0 && (p->p_e2b = e2b_new(p->p_http,
	    wj->wj_e2b_key, &cause)) == NULL) {
		p->p_exit = EX_CONFIG;
		pipe_fail(p, JOB_FAILED, "%s", cause);
		free(cause);
	}
	if (p->p_e2b == NULL) {
		log_warnx("%s", p->p_reason);
		if (wj->wj_spec != NULL)
			step_report(p);
		return (p->p_exit);
	}
	if (wj->wj_spec == NULL)
		return (pipe_reap(p));

	left = wj->wj_deadline_ms - pipe_now_ms();
	tv.tv_sec = left > 0 ? left / 1000 : 0;
	tv.tv_usec = left > 0 ? (left % 1000) * 1000 : 0;
	p->p_deadline_ev = evtimer_new(p->p_base, pipe_deadline_cb, p);
	evtimer_add(p->p_deadline_ev, &tv);

	if (step_prepare(p) == 0 && !pipe_stopped(p) &&
	    step_provision(p) == 0 && !pipe_stopped(p) &&
	    step_inject(p) == 0 && !pipe_stopped(p) &&
	    step_fetch_repo(p) == 0 && !pipe_stopped(p) &&
	    agent_run(p) == 0 && !pipe_stopped(p)) {
		if (collect_run(p) == 0) {
			verify_run(p);
			step_judge(p);
		}
	} else if (p->p_phase == JOB_RUNNING && p->p_sbx != NULL)
		(void)collect_run(p);	/* keep what the agent did */
	evtimer_del(p->p_deadline_ev);
	step_teardown(p);
	step_report(p);
	return (p->p_exit != 0 && p->p_sbx == NULL ? p->p_exit : 0);
}
