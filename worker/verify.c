/*
 * Checking the agent's word.  When result.json names the command that ran
 * the tests, skillbox runs that command once more in the sandbox, from the
 * repository, and the job's result says what it gave: the exit code and
 * how long it took.  A job whose agent reported passing tests that fail
 * when re-run has failed, and says why.  The end of the re-run's output
 * goes to the job's log.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "json.h"
#include "pipeline_int.h"
#include "result.h"
#include "sandbox.h"
#include "wjob.h"
#include "xmalloc.h"

#define VERIFY_MAX_MS	(10 * 60 * 1000) /* the longest re-run */
#define VERIFY_MIN_MS	5000	/* not worth starting with less left */
#define VERIFY_MARGIN_MS 5000	/* ended well before the deadline */
#define VERIFY_LOG_MAX	2048	/* of its output, into the job's log */

/* The re-run did not run (st SKIPPED) or did not end (FAILED): why. */
static void
verify_unrun(struct pipeline *p, enum verify_state st, const char *why)
{
	p->p_verify.v_state = st;
	free(p->p_verify.v_why);
	p->p_verify.v_why = xstrdup(why);
}

/* How long the re-run may take: what is left, less a margin, capped. */
static long
verify_budget(struct pipeline *p)
{
	int64_t	left = p->p_job->wj_deadline_ms - pipe_now_ms();

	left -= VERIFY_MARGIN_MS;
	return (left > VERIFY_MAX_MS ? VERIFY_MAX_MS : (long)left);
}

/* Its output's last lines, for the job's log. */
static void
verify_log(struct pipeline *p, struct buf *out)
{
	const char	*s = buf_str(out);
	size_t		 len = strlen(s);

	if (len > VERIFY_LOG_MAX) {
		s += len - VERIFY_LOG_MAX;
		len = VERIFY_LOG_MAX;
	}
	if (p->p_verify.v_state == VERIFY_RAN)
		pipe_log(p, "the tests, re-run by skillbox, exited %d in "
		    "%lld ms; the end of their output:\n%.*s", p->p_verify.v_exit,
		    (long long)p->p_verify.v_ms, (int)len, s);
	else
		pipe_log(p, "the tests could not be re-run: %s%s%.*s",
		    p->p_verify.v_why, len > 0 ? "; the end of their output:\n" :
		    "", (int)len, s);
}

/*
 * Re-run the reported test command, if the agent ended well and reported
 * one, and there is time.  Never fails the job by itself: verify_judge
 * decides what the outcome means.
 */
void
verify_run(struct pipeline *p)
{
	const struct result_tests	*rt;
	struct json_object		*envs;
	struct buf			 out;
	char				*cause = NULL;
	long				 budget;
	int64_t				 t0;
	int				 rc;

	if (p->p_status != JOB_SUCCEEDED || pipe_stopped(p) ||
	    p->p_rf == NULL || !p->p_rf->rf_has_tests)
		return;
	rt = &p->p_rf->rf_tests;
	if ((budget = verify_budget(p)) < VERIFY_MIN_MS) {
		verify_unrun(p, VERIFY_SKIPPED,
		    "too little time was left before the job's deadline");
		return;
	}
	envs = pipe_job_envs(p);
	json_add_string(envs, "SKILLBOX_TEST_COMMAND", rt->rt_command);
	buf_init(&out, PIPE_TAIL_MAX);
	t0 = pipe_now_ms();
	rc = pipe_script(p, "skillbox-verify", sandbox_verify_sh, envs, &out,
	    budget, &cause);
	p->p_verify.v_ms = pipe_now_ms() - t0;
	json_object_put(envs);
	if (rc == -1) {
		if (strstr(cause, "deadline_exceeded") != NULL) {
			free(cause);
			xasprintf(&cause, "it did not end within %ld s, the "
			    "time left before the job's deadline, and was "
			    "stopped", budget / 1000);
		}
		verify_unrun(p, VERIFY_FAILED, cause);
		free(cause);
	} else {
		p->p_verify.v_state = VERIFY_RAN;
		p->p_verify.v_exit = rc;
	}
	verify_log(p, &out);
	buf_free(&out);
}

/*
 * A job whose agent reported no failing test, while the re-run failed,
 * has failed: its report does not hold.
 */
void
verify_judge(struct pipeline *p)
{
	const struct pipe_verify	*v = &p->p_verify;

	if (p->p_status != JOB_SUCCEEDED || v->v_state != VERIFY_RAN ||
	    v->v_exit == 0 || p->p_rf->rf_tests.rt_failed > 0)
		return;
	if (v->v_exit == -1)
		pipe_fail(p, JOB_FAILED, "the agent reported the tests "
		    "passing, but `%s` was killed by a signal when skillbox "
		    "ran it again (see the job's log)",
		    p->p_rf->rf_tests.rt_command);
	else
		pipe_fail(p, JOB_FAILED, "the agent reported the tests "
		    "passing, but `%s` exited %d when skillbox ran it again "
		    "(see the job's log)", p->p_rf->rf_tests.rt_command,
		    v->v_exit);
}

/* The result's tests.recheck, or NULL when no re-run was in question. */
struct json_object *
verify_json(const struct pipeline *p)
{
	const struct pipe_verify	*v = &p->p_verify;
	struct json_object		*o;

	if (v->v_state == VERIFY_NONE)
		return (NULL);
	o = json_object_new_object();
	if (v->v_state == VERIFY_RAN) {
		json_add_int(o, "exit_code", v->v_exit);
		json_add_bool(o, "passed", v->v_exit == 0);
	} else
		json_add_string(o, v->v_state == VERIFY_SKIPPED ? "skipped" :
		    "error", v->v_why);
	if (v->v_state != VERIFY_SKIPPED)
		json_add_int(o, "duration_ms", v->v_ms);
	return (o);
}
