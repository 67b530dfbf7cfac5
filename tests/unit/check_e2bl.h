/* The Check suites of tests/e2b-local's shared library. */
#ifndef CHECK_E2BL_H
#define CHECK_E2BL_H

#include <check.h>

Suite	*frame_suite(void);
Suite	*gofmt_suite(void);
Suite	*wire_suite(void);

#endif
