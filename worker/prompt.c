/*
 * The files a job puts in ~/.skillbox: prompt.txt, which the agent is
 * started with, and job.json, which the skills read.  Neither ever holds a
 * secret.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jobspec.h"
#include "sandbox.h"
#include "wjob.h"
#include "xmalloc.h"

/* Where the repo came from, in words. */
static void
prompt_repo(struct buf *b, const struct jobspec *js)
{
	if (js->js_repo_url != NULL)
		buf_printf(b, "The repository, cloned from %s%s%s, is in "
		    "~/repo.\n", js->js_repo_url, js->js_repo_ref != NULL ?
		    " at " : "", js->js_repo_ref != NULL ? js->js_repo_ref : "");
	else
		buf_printf(b, "The repository, copied from the user's machine, "
		    "is in ~/repo.\n");
}

/*
 * The prompt: the job, the skill that leads it, the user's instructions
 * marked as such, and how to finish.
 */
char *
sandbox_prompt(const struct wjob *wj)
{
	const struct jobspec	*js = wj->wj_spec;
	struct buf		 b;
	size_t			 i;

	buf_init(&b, JOBSPEC_INSTRUCTIONS_MAX + 8192);
	buf_printf(&b, "You are running a skillbox job (%s) in a disposable "
	    "sandbox, without a human to answer questions.\n\n",
	    jobspec_type_name(js->js_type));
	prompt_repo(&b, js);
	buf_printf(&b, "The job: %s\n", jobspec_type_summary(js->js_type));
	if (js->js_type != JOB_CUSTOM)
		buf_printf(&b, "Start by loading the `%s` skill with the Skill "
		    "tool and follow it.\n", jobspec_type_skill(js->js_type));
	if (js->js_instructions != NULL)
		buf_printf(&b, "\nThe user's instructions:\n<instructions>\n"
		    "%s\n</instructions>\n", js->js_instructions);
	if (js->js_nartifacts > 0) {
		buf_printf(&b, "\nFiles the user wants back as artifacts "
		    "(paths relative to ~/repo):\n");
		for (i = 0; i < js->js_nartifacts; i++)
			buf_printf(&b, "- %s\n", js->js_artifacts[i]);
	}
	buf_printf(&b, "\nWhen you are done, load the `report-result` skill "
	    "and write ~/.skillbox/result.json exactly as it says. The job's "
	    "details are in ~/.skillbox/job.json. Do not push, do not change "
	    "git remotes, and never print or copy secrets.\n");
	return (buf_detach(&b, NULL));
}

/* job.json as the skills read it: the spec without anything secret. */
struct json_object *
sandbox_job_json(const struct wjob *wj)
{
	struct json_object	*o, *repo;

	o = jobspec_to_json(wj->wj_spec);
	json_add_string(o, "job_id", wj->wj_id);
	json_add_string(o, "skill", jobspec_type_skill(wj->wj_spec->js_type));
	json_add_string(o, "repo_dir", SANDBOX_REPO);
	json_add_string(o, "result_file", SANDBOX_HOME "/.skillbox/result.json");
	/* The host's path means nothing in the sandbox. */
	if (json_object_object_get_ex(o, "repo", &repo))
		json_object_object_del(repo, "path");
	return (o);
}
