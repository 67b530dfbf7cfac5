/*
 * What one worker is asked to do: the job message of proto.h, parsed.
 * In ZeroMQ mode it comes from the supervisor; in standalone mode
 * wjob_from_file() builds the very same message from a job file and the
 * environment, so both modes go through one parser.
 */
#ifndef SKILLBOX_WORKER_WJOB_H
#define SKILLBOX_WORKER_WJOB_H

#include <stdint.h>

#include <json-c/json.h>

#include "jobspec.h"

#define WJOB_IDLE_DEFAULT	600	/* seconds without agent output */

struct wjob {
	char		*wj_id;
	struct jobspec	*wj_spec;	/* NULL for a reaper */
	char		*wj_repo_path;	/* resolved local repo, or NULL */

	/* config */
	char		*wj_template;
	char		*wj_api_url;	/* E2B control plane base URL */
	char		*wj_domain;
	char		*wj_sandbox_url;
	char		*wj_anthropic_base_url;
	char		*wj_job_dir;	/* where diff and artifacts go */
	char		*wj_host;
	char		*wj_skills_dir;
	char		*wj_skills_digest; /* skillboxd's; NULL standalone */
	int64_t		 wj_deadline_ms; /* absolute, unix ms */
	int64_t		 wj_idle_s;
	char		*wj_reap_id;	/* reaper: the sandbox to kill */
	char		*wj_reap_job;	/* reaper: kill this job's sandboxes */

	/* secrets: wiped on free, registered with redact() on parse */
	char		*wj_e2b_key;
	char		*wj_anthropic_key;
	char		*wj_git_token;
};

int		 wjob_parse(struct json_object *, struct wjob **, char **);
struct json_object *wjob_from_file(const char *, const char *, char **);
struct json_object *wjob_reap_msg(const char *);
void		 wjob_free(struct wjob **);
void		 wjob_export(const struct wjob *);
char		*wjob_new_id(void);

#endif /* SKILLBOX_WORKER_WJOB_H */
