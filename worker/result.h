/*
 * ~/.skillbox/result.json, as the report-result skill tells the agent to
 * write it.  The agent is untrusted: the file is bounded, checked against
 * its schema with errors that name the field ("tests.passed: expected an
 * integer, got a string"), and every string that goes out again passes
 * through redact().
 *
 *	{ "summary": "…",
 *	  "tests": { "command": "…", "passed": 0, "failed": 0, "skipped": 0,
 *		     "failures": ["…"] },
 *	  "artifacts": ["path/relative/to/repo", …] }
 *
 * summary is required; tests (command, passed, failed required; skipped
 * and failures optional) and artifacts are optional; no other keys.
 */
#ifndef SKILLBOX_RESULT_H
#define SKILLBOX_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define RESULT_FILE_MAX		(64 * 1024)
#define RESULT_SUMMARY_MAX	8000
#define RESULT_COMMAND_MAX	1024
#define RESULT_FAILURES_MAX	100
#define RESULT_NAME_MAX		512
#define RESULT_ARTIFACTS_MAX	64
#define RESULT_PATH_MAX		1024
#define RESULT_COUNT_MAX	100000000	/* tests in one run */

struct result_tests {
	char	 *rt_command;
	int64_t	  rt_passed;
	int64_t	  rt_failed;
	int64_t	  rt_skipped;
	char	**rt_failures;
	size_t	  rt_nfailures;
};

struct result_file {
	char			 *rf_summary;
	int			  rf_has_tests;
	struct result_tests	  rf_tests;
	char			**rf_artifacts;	/* normalised, unique */
	size_t			  rf_nartifacts;
};

int	 result_parse(const char *, size_t, struct result_file **, char **);
void	 result_free(struct result_file **);
char	*result_summary(const struct result_file *);
struct json_object *result_tests_json(const struct result_file *);
struct json_object *result_artifacts_json(const struct result_file *);
int	 result_check_path(const char *, char **, char **);

#endif /* SKILLBOX_RESULT_H */
