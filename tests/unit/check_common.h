/* The Check suites of common/. */
#ifndef CHECK_COMMON_H
#define CHECK_COMMON_H

#include <check.h>

Suite	*base64_suite(void);
Suite	*buf_suite(void);
Suite	*clean_suite(void);
Suite	*clock_suite(void);
Suite	*dir_suite(void);
Suite	*envelope_suite(void);
Suite	*evbase_suite(void);
Suite	*frontmatter_suite(void);
Suite	*jobspec_suite(void);
Suite	*json_suite(void);
Suite	*log_suite(void);
Suite	*proto_suite(void);
Suite	*redact_suite(void);
Suite	*sha256_suite(void);
Suite	*skills_suite(void);
Suite	*utf8_suite(void);
Suite	*zev_suite(void);

#endif
