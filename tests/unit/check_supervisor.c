/*
 * Runs every Check suite of supervisor/ in one runner, and holds the
 * helpers they share.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"

struct json_object *
sv_test_spec(const char *text)
{
	struct json_object	*o;
	char			*cause = NULL;

	o = json_parse(text, strlen(text), &cause);
	ck_assert_msg(o != NULL, "bad test spec: %s", cause);
	return (o);
}

void
sv_test_config(struct sv_config *cfg, const char *dir)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->c_state_dir = xstrdup(dir);
	cfg->c_worker_path = xstrdup("/nonexistent/skillbox-worker");
	cfg->c_skills_dir = xstrdup(dir);
	cfg->c_allowed_roots = xstrdup(dir);
	cfg->c_template = xstrdup("claude");
	cfg->c_host = xstrdup("testhost");
	cfg->c_max_jobs = 2;
	cfg->c_queue_max = 3;
	cfg->c_idle_timeout_s = 60;
	cfg->c_stop_grace_ms = 200;
	cfg->c_shutdown_grace_ms = 500;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(mcp_suite());
	srunner_add_suite(sr, job_suite());
	srunner_add_suite(sr, queue_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, rundir_suite());
	srunner_add_suite(sr, retain_suite());
	srunner_add_suite(sr, http_ring_suite());
	srunner_add_suite(sr, sv_worker_suite());
	srunner_add_suite(sr, untrusted_suite());
	srunner_add_suite(sr, sched_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, sdnotify_suite());
	srunner_add_suite(sr, task_suite());
	srunner_add_suite(sr, http_guard_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
