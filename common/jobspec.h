/*
 * The job-spec model and its validation, shared so that skillboxd and
 * skillbox-worker agree on what a job is.  A spec arrives as JSON (from an
 * MCP client, a job file or the supervisor) and is validated here once;
 * every error names the field, e.g. "repo.url: scheme must be https, ssh
 * or git".
 */
#ifndef SKILLBOX_JOBSPEC_H
#define SKILLBOX_JOBSPEC_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

enum job_type {
	JOB_BOOTSTRAP,		/* set the repo up so it builds and tests */
	JOB_FIX_TESTS,		/* run the tests and fix what fails */
	JOB_REFACTOR,		/* change the code, keep the behaviour */
	JOB_EXPERIMENT,		/* run a data experiment, keep the outputs */
	JOB_CUSTOM,		/* free instructions */
	JOB_TYPE_MAX
};

enum job_state {
	JOB_QUEUED,		/* waiting for a worker slot */
	JOB_STARTING,		/* worker spawned, not yet said hello */
	JOB_PROVISIONING,	/* creating the sandbox */
	JOB_INJECTING,		/* uploading the skills and job files */
	JOB_FETCHING_REPO,	/* bringing the repository in */
	JOB_RUNNING,		/* the agent is working */
	JOB_COLLECTING,		/* diff, result.json, artifacts */
	JOB_SUCCEEDED,		/* terminal: the agent finished the job */
	JOB_FAILED,		/* terminal: the job could not be done */
	JOB_CANCELLED,		/* terminal: a client cancelled it */
	JOB_TIMED_OUT,		/* terminal: the deadline passed */
	JOB_CRASHED,		/* terminal: the worker died */
	JOB_INTERRUPTED,	/* terminal: lost across a supervisor restart */
	JOB_STATE_MAX
};

#define JOBSPEC_INSTRUCTIONS_MAX	(64 * 1024)
#define JOBSPEC_TIMEOUT_MIN		10
#define JOBSPEC_TIMEOUT_MAX		(24 * 3600)
#define JOBSPEC_TIMEOUT_DEFAULT		1800
#define JOBSPEC_TURNS_MAX		1000
#define JOBSPEC_TURNS_DEFAULT		200
#define JOBSPEC_ENV_MAX			64
#define JOBSPEC_ENV_VALUE_MAX		4096
#define JOBSPEC_ARTIFACTS_MAX		32
#define JOBSPEC_STRING_MAX		256
#define JOBSPEC_URL_MAX			2048
#define JOBSPEC_PATH_MAX		1024

struct jobspec_env {
	char	*je_name;
	char	*je_value;
};

struct jobspec {
	enum job_type		 js_type;
	char			*js_repo_url;	/* remote repo, or NULL */
	char			*js_repo_ref;	/* branch/tag/commit, or NULL */
	char			*js_repo_path;	/* local repo, or NULL */
	char			*js_instructions; /* NULL unless given */
	int64_t			 js_timeout_s;
	int64_t			 js_max_turns;
	char			*js_model;	/* NULL: the CLI's default */
	struct jobspec_env	*js_env;
	size_t			 js_nenv;
	char			**js_artifacts;	/* globs relative to the repo */
	size_t			 js_nartifacts;
	char			*js_idempotency_key;
};

int		 jobspec_parse(struct json_object *, struct jobspec **,
		     char **);
struct json_object *jobspec_to_json(const struct jobspec *);
void		 jobspec_free(struct jobspec **);
int		 jobspec_check_path(const struct jobspec *, const char *,
		     char **, char **);

const char	*jobspec_type_name(enum job_type);
int		 jobspec_type_parse(const char *, enum job_type *);
const char	*jobspec_type_skill(enum job_type);
const char	*jobspec_type_summary(enum job_type);

const char	*job_state_name(enum job_state);
int		 job_state_parse(const char *, enum job_state *);
int		 job_state_terminal(enum job_state);

#endif /* SKILLBOX_JOBSPEC_H */
