/* The Check suites of supervisor/, and what they share. */
#ifndef CHECK_SUPERVISOR_H
#define CHECK_SUPERVISOR_H

#include <check.h>

#include "skillboxd.h"

Suite	*mcp_suite(void);
Suite	*job_suite(void);
Suite	*queue_suite(void);
Suite	*store_suite(void);
Suite	*rundir_suite(void);
Suite	*sv_worker_suite(void);
Suite	*untrusted_suite(void);
Suite	*sched_suite(void);
Suite	*retain_suite(void);
Suite	*http_ring_suite(void);
Suite	*config_suite(void);
Suite	*sdnotify_suite(void);
Suite	*task_suite(void);
Suite	*http_guard_suite(void);

/* A job spec object from JSON text. */
struct json_object *sv_test_spec(const char *);
/* A settings block fit for tests. */
void	 sv_test_config(struct sv_config *, const char *);

#endif
