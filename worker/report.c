/*
 * The job's result, as the worker reports it (the supervisor adds the job
 * id, its own timestamps and resource URIs):
 *
 *	status, reason		a terminal job_state name, and why
 *	summary			the agent's own summary (result.json, else
 *				its final message), redacted and clipped
 *	tests			as result.json reported them, or null;
 *				recheck: how skillbox's own re-run of
 *				their command ended (verify.c)
 *	diff			files, insertions, deletions, binary, bytes,
 *				truncated, and the first files one by one;
 *				the patch is diff.patch in the job directory
 *	artifacts		path and bytes of each file brought back,
 *				and those skipped for their size
 *	agent			session, turns, cost, duration, model, skills
 *	sandbox			id, template, whether it was killed
 *	skills			the bundle version and the skills offered
 *	timings_ms		per phase, and the whole job
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "diffstat.h"
#include "e2b.h"
#include "json.h"
#include "pipeline_int.h"
#include "result.h"
#include "skills.h"
#include "stream.h"
#include "wjob.h"
#include "xmalloc.h"

#define REPORT_SUMMARY_MAX	8000

static struct json_object *report_diff(struct pipeline *);
static struct json_object *report_skills(struct pipeline *);
static struct json_object *report_timings(struct pipeline *);
static struct json_object *report_sandbox(struct pipeline *);
static void	report_summary(struct pipeline *, struct json_object *);
static struct json_object *report_tests(struct pipeline *);

static struct json_object *
report_diff(struct pipeline *p)
{
	struct json_object	*o;

	o = diffstat_json(&p->p_diff);
	json_add_int(o, "bytes", (int64_t)p->p_diff_bytes);
	json_add_bool(o, "truncated", p->p_diff_truncated);
	if (p->p_diff_bytes > 0)
		json_add_string(o, "patch", "diff.patch");
	return (o);
}

static struct json_object *
report_skills(struct pipeline *p)
{
	struct json_object	*o, *arr;
	const struct stream_init *si;
	char			*version;
	size_t			 i;

	o = json_object_new_object();
	if (p->p_skills != NULL) {
		version = skills_version(p->p_skills);
		json_add_string(o, "bundle", version);
		free(version);
	}
	arr = json_object_new_array();
	if (p->p_stream != NULL) {
		si = stream_init(p->p_stream);
		for (i = 0; i < si->si_nskills && p->p_skills != NULL; i++)
			if (skills_find(p->p_skills, si->si_skills[i]) != NULL)
				json_object_array_add(arr,
				    json_object_new_string(si->si_skills[i]));
	}
	json_object_object_add(o, "offered", arr);
	arr = json_object_new_array();
	for (i = 0; p->p_stream != NULL && i < stream_nused(p->p_stream); i++)
		json_object_array_add(arr,
		    json_object_new_string(stream_used(p->p_stream, i)));
	json_object_object_add(o, "used", arr);
	return (o);
}

static struct json_object *
report_timings(struct pipeline *p)
{
	static const enum job_state	 phases[] = { JOB_PROVISIONING,
	    JOB_INJECTING, JOB_FETCHING_REPO, JOB_RUNNING, JOB_COLLECTING };
	struct json_object		*o;
	size_t				 i;

	o = json_object_new_object();
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (p->p_timings[phases[i]] > 0)
			json_add_int(o, job_state_name(phases[i]),
			    p->p_timings[phases[i]]);
	json_add_int(o, "teardown", p->p_teardown_ms);
	json_add_int(o, "total", pipe_now_ms() - p->p_t0);
	return (o);
}

static struct json_object *
report_sandbox(struct pipeline *p)
{
	struct json_object	*o;

	if (p->p_sbx == NULL)
		return (NULL);
	o = json_object_new_object();
	json_add_string(o, "id", p->p_sbx->sb_id);
	json_add_string(o, "template", p->p_job->wj_template);
	json_add_bool(o, "killed", p->p_killed);
	return (o);
}

/* The agent's summary: its result.json's, else its final message. */
static void
report_summary(struct pipeline *p, struct json_object *o)
{
	const struct stream_result	*sr;
	char				*s = NULL;

	if (p->p_rf != NULL)
		s = result_summary(p->p_rf);
	else if (p->p_stream != NULL &&
	    (sr = stream_result(p->p_stream))->sr_text != NULL)
		s = xstrdup(sr->sr_text);
	if (s != NULL)
		clean_add(o, "summary", s, REPORT_SUMMARY_MAX);
	free(s);
}

/* The tests as the agent reported them, and as skillbox re-ran them. */
static struct json_object *
report_tests(struct pipeline *p)
{
	struct json_object	*t, *v;

	if (p->p_rf == NULL || (t = result_tests_json(p->p_rf)) == NULL)
		return (NULL);
	if ((v = verify_json(p)) != NULL)
		json_object_object_add(t, "recheck", v);
	return (t);
}

/* The whole result object; the caller owns it. */
struct json_object *
report_result(struct pipeline *p)
{
	struct json_object	*o, *arts;

	o = json_object_new_object();
	json_add_string(o, "status", job_state_name(p->p_status));
	if (p->p_reason != NULL)
		clean_add(o, "reason", p->p_reason, REPORT_SUMMARY_MAX);
	report_summary(p, o);
	json_object_object_add(o, "tests", report_tests(p));
	if (p->p_rf_error != NULL)
		clean_add(o, "result_error", p->p_rf_error, 1024);
	json_object_object_add(o, "diff", report_diff(p));
	arts = p->p_artifacts != NULL ? json_object_get(p->p_artifacts) :
	    json_object_new_array();
	json_object_object_add(o, "artifacts", arts);
	if (p->p_skipped != NULL && json_object_array_length(p->p_skipped) > 0)
		json_object_object_add(o, "artifacts_skipped",
		    json_object_get(p->p_skipped));
	json_object_object_add(o, "agent", p->p_stream != NULL ?
	    stream_agent_json(p->p_stream) : NULL);
	json_object_object_add(o, "sandbox", report_sandbox(p));
	json_object_object_add(o, "skills", report_skills(p));
	json_object_object_add(o, "timings_ms", report_timings(p));
	return (o);
}
