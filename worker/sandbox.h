/*
 * What skillbox lays out and runs inside a sandbox.  The scripts are
 * compiled into the worker (sandbox/embed.sh) and sent with each process
 * start, so nothing the agent can modify in the sandbox is run as a
 * skillbox step.  Parameters reach them through their environment.
 */
#ifndef SKILLBOX_WORKER_SANDBOX_H
#define SKILLBOX_WORKER_SANDBOX_H

#include <json-c/json.h>

struct wjob;

#define SANDBOX_HOME		"/home/user"
#define SANDBOX_BUNDLE		SANDBOX_HOME "/.skillbox/bundle.tar.gz"
#define SANDBOX_COLLECTED	SANDBOX_HOME "/.skillbox/collect.tar.gz"
#define SANDBOX_TRANSCRIPT	SANDBOX_HOME "/.skillbox/agent.jsonl"
#define SANDBOX_REPO		SANDBOX_HOME "/repo"
#define SANDBOX_AGENT_TAG	"skillbox-agent"

extern const char sandbox_setup_sh[];
extern const char sandbox_agent_sh[];
extern const char sandbox_collect_sh[];
extern const char sandbox_verify_sh[];

char			*sandbox_prompt(const struct wjob *);
struct json_object	*sandbox_job_json(const struct wjob *);

#endif /* SKILLBOX_WORKER_SANDBOX_H */
