/* The Check suites of worker/. */
#ifndef CHECK_WORKER_H
#define CHECK_WORKER_H

#include <check.h>

Suite	*e2b_suite(void);
Suite	*envd_suite(void);
Suite	*http_suite(void);

#endif
