/* The Check suites of tests/fake-anthropic. */
#ifndef CHECK_FAKE_H
#define CHECK_FAKE_H

#include <check.h>

#include <json-c/json.h>

Suite	*fake_reply_suite(void);
Suite	*fake_reqlog_suite(void);
Suite	*fake_script_suite(void);

struct script		*fake_script(const char *);
struct json_object	*fake_json(const char *);

#endif
