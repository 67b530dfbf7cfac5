/* The Check suites of worker/. */
#ifndef CHECK_WORKER_H
#define CHECK_WORKER_H

#include <check.h>

Suite	*bundle_suite(void);
Suite	*collect_suite(void);
Suite	*diffstat_suite(void);
Suite	*e2b_suite(void);
Suite	*envd_suite(void);
Suite	*forkserver_suite(void);
Suite	*http_suite(void);
Suite	*link_suite(void);
Suite	*prompt_suite(void);
Suite	*result_suite(void);
Suite	*stream_suite(void);
Suite	*verify_suite(void);
Suite	*wjob_suite(void);
Suite	*zmtp_suite(void);

/* A file of the source tree's tests/unit/data, read whole; caller frees. */
char	*test_data(const char *, size_t *);

#endif
