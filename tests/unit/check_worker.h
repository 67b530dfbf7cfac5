/* The Check suites of worker/. */
#ifndef CHECK_WORKER_H
#define CHECK_WORKER_H

#include <check.h>

Suite	*bundle_suite(void);
Suite	*diffstat_suite(void);
Suite	*result_suite(void);
Suite	*stream_suite(void);

/* A file of the source tree's tests/unit/data, read whole; caller frees. */
char	*test_data(const char *, size_t *);

#endif
