/* The job-spec model: every field's validation and the round trip. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "jobspec.h"
#include "check_common.h"

static struct jobspec *
parse_text(const char *text, char **cause)
{
	struct json_object	*o;
	struct jobspec		*js = NULL;

	o = json_parse(text, strlen(text), cause);
	ck_assert_msg(o != NULL, "bad test JSON: %s", text);
	if (jobspec_parse(o, &js, cause) == -1)
		js = NULL;
	json_object_put(o);
	return (js);
}

START_TEST(test_jobspec_minimal)
{
	struct jobspec	*js;
	char		*cause = NULL;

	js = parse_text("{\"repo\":{\"url\":\"https://github.com/o/r.git\"},"
	    "\"job\":\"fix-tests\"}", &cause);
	ck_assert_ptr_nonnull(js);
	ck_assert_int_eq(js->js_type, JOB_FIX_TESTS);
	ck_assert_str_eq(js->js_repo_url, "https://github.com/o/r.git");
	ck_assert_ptr_null(js->js_repo_ref);
	ck_assert_int_eq(js->js_timeout_s, JOBSPEC_TIMEOUT_DEFAULT);
	ck_assert_int_eq(js->js_max_turns, JOBSPEC_TURNS_DEFAULT);
	jobspec_free(&js);
	ck_assert_ptr_null(js);
	jobspec_free(&js);
}
END_TEST

START_TEST(test_jobspec_roundtrip)
{
	const char	*text = "{\"repo\":{\"url\":\"git@github.com:o/r.git\","
	    "\"ref\":\"release/1.2\"},\"job\":\"custom\",\"instructions\":"
	    "\"do it\",\"timeout_s\":600,\"max_turns\":5,\"model\":\"sonnet\","
	    "\"env\":{\"FOO\":\"bar\",\"_X1\":\"\"},\"artifacts\":"
	    "[\"out/*.csv\",\"report.md\"],\"idempotency_key\":\"k-1\"}";
	struct jobspec		*js, *js2;
	struct json_object	*o;
	char			*cause = NULL, *first;

	js = parse_text(text, &cause);
	ck_assert_msg(js != NULL, "%s", cause);
	ck_assert_uint_eq(js->js_nenv, 2);
	ck_assert_uint_eq(js->js_nartifacts, 2);
	o = jobspec_to_json(js);
	first = strdup(json_str(o));
	ck_assert_int_eq(jobspec_parse(o, &js2, &cause), 0);
	json_object_put(o);
	o = jobspec_to_json(js2);
	ck_assert_str_eq(json_str(o), first);
	ck_assert_str_eq(js2->js_repo_ref, "release/1.2");
	ck_assert_str_eq(js2->js_model, "sonnet");
	json_object_put(o);
	free(first);
	jobspec_free(&js);
	jobspec_free(&js2);
}
END_TEST

static const char *good_urls[] = {
	"https://github.com/o/r.git", "ssh://git@host:22/o/r.git",
	"git://127.0.0.1:9418/r.git", "git@github.com:o/r.git",
};

START_TEST(test_jobspec_good_urls)
{
	struct jobspec	*js;
	char		 text[512], *cause = NULL;

	snprintf(text, sizeof(text), "{\"repo\":{\"url\":\"%s\"},"
	    "\"job\":\"bootstrap\"}", good_urls[_i]);
	js = parse_text(text, &cause);
	ck_assert_msg(js != NULL, "%s: %s", good_urls[_i], cause);
	jobspec_free(&js);
}
END_TEST

/* Each bad spec, and a fragment its cause must contain. */
static const char *bad_specs[][2] = {
	{ "[]", "expected an object" },
	{ "{\"job\":\"fix-tests\"}", "repo: is required" },
	{ "{\"repo\":{},\"job\":\"fix-tests\"}", "exactly one of url or path" },
	{ "{\"repo\":{\"url\":\"https://h/r\",\"path\":\"/x\"},\"job\":"
	  "\"fix-tests\"}", "exactly one of url or path" },
	{ "{\"repo\":{\"url\":\"https://h/r\"}}", "job: is required" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"dance\"}",
	  "unknown job type 'dance'" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":7}",
	  "job: expected a string" },
	{ "{\"repo\":{\"url\":\"file:///etc\"},\"job\":\"fix-tests\"}",
	  "scheme must be https, ssh or git" },
	{ "{\"repo\":{\"url\":\"ext::sh -c touch% /tmp/x\"},\"job\":"
	  "\"fix-tests\"}", "not a valid repository URL" },
	{ "{\"repo\":{\"url\":\"http://h/r\"},\"job\":\"fix-tests\"}",
	  "scheme must be" },
	{ "{\"repo\":{\"url\":\"-uhttps://h\"},\"job\":\"fix-tests\"}",
	  "not a valid" },
	{ "{\"repo\":{\"url\":\"https://\"},\"job\":\"fix-tests\"}",
	  "not a valid" },
	{ "{\"repo\":{\"url\":\"https://h/r\",\"ref\":\"--upload-pack=x\"},"
	  "\"job\":\"fix-tests\"}", "repo.ref: not a valid git ref" },
	{ "{\"repo\":{\"url\":\"https://h/r\",\"ref\":\"a..b\"},"
	  "\"job\":\"fix-tests\"}", "repo.ref" },
	{ "{\"repo\":{\"path\":\"relative/dir\"},\"job\":\"fix-tests\"}",
	  "must be an absolute path" },
	{ "{\"repo\":{\"path\":\"/x\",\"ref\":\"main\"},\"job\":"
	  "\"fix-tests\"}", "repo.ref: only with repo.url" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"timeout_s\":-5}", "timeout_s: out of range" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"timeout_s\":99999999999}", "timeout_s: out of range" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"max_turns\":0}", "max_turns: out of range" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"custom\"}",
	  "instructions: required" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"env\":{\"ANTHROPIC_API_KEY\":\"x\"}}", "reserved for skillbox" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"env\":{\"E2B_API_KEY\":\"x\"}}", "reserved for skillbox" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"env\":{\"1X\":\"x\"}}", "not a valid variable name" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"env\":{\"X\":1}}", "env.X: expected a string" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"artifacts\":[\"../etc/passwd\"]}", "inside the repository" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"artifacts\":[\"/abs\"]}", "inside the repository" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"artifacts\":[3]}", "artifacts[0]" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"model\":\"--evil\"}", "model" },
	{ "{\"repo\":{\"url\":\"https://h/r\"},\"job\":\"fix-tests\","
	  "\"colour\":\"red\"}", "colour: unknown field" },
};

START_TEST(test_jobspec_bad)
{
	struct jobspec	*js;
	char		*cause = NULL;

	js = parse_text(bad_specs[_i][0], &cause);
	ck_assert_msg(js == NULL, "accepted: %s", bad_specs[_i][0]);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_specs[_i][1]) != NULL,
	    "cause '%s' lacks '%s'", cause, bad_specs[_i][1]);
	free(cause);
}
END_TEST

START_TEST(test_jobspec_oversize_instructions)
{
	struct jobspec	*js;
	char		*text, *cause = NULL;
	size_t		 n = JOBSPEC_INSTRUCTIONS_MAX + 1;
	const char	*head = "{\"repo\":{\"url\":\"https://h/r\"},"
	    "\"job\":\"custom\",\"instructions\":\"";
	size_t		 hl = strlen(head);

	text = malloc(hl + n + 3);
	memcpy(text, head, hl);
	memset(text + hl, 'a', n);
	memcpy(text + hl + n, "\"}", 3);
	js = parse_text(text, &cause);
	ck_assert_ptr_null(js);
	ck_assert_ptr_nonnull(strstr(cause, "instructions: too long"));
	free(cause);
	free(text);
}
END_TEST

START_TEST(test_jobspec_types_and_states)
{
	enum job_type	t;
	enum job_state	s;
	int		i;

	for (i = 0; i < JOB_TYPE_MAX; i++) {
		ck_assert_int_eq(jobspec_type_parse(jobspec_type_name(i), &t),
		    0);
		ck_assert_int_eq(t, i);
		ck_assert_ptr_nonnull(jobspec_type_skill(i));
	}
	ck_assert_int_eq(jobspec_type_parse("nope", &t), -1);
	for (i = 0; i < JOB_STATE_MAX; i++) {
		ck_assert_int_eq(job_state_parse(job_state_name(i), &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert(!job_state_terminal(JOB_RUNNING));
	ck_assert(job_state_terminal(JOB_SUCCEEDED));
	ck_assert(job_state_terminal(JOB_INTERRUPTED));
	ck_assert_str_eq(jobspec_type_skill(JOB_FIX_TESTS),
	    "run-and-fix-tests");
}
END_TEST

START_TEST(test_jobspec_paths)
{
	struct jobspec	*js;
	char		 dir[] = "/tmp/check-jobspec-XXXXXX", text[1024];
	char		 inner[600], link[600], roots[1300];
	char		*cause = NULL, *real = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(inner, sizeof(inner), "%s/repo", dir);
	ck_assert_int_eq(mkdir(inner, 0700), 0);
	snprintf(link, sizeof(link), "%s/escape", dir);
	ck_assert_int_eq(symlink("/etc", link), 0);

	snprintf(text, sizeof(text), "{\"repo\":{\"path\":\"%s\"},"
	    "\"job\":\"bootstrap\"}", inner);
	js = parse_text(text, &cause);
	ck_assert_ptr_nonnull(js);
	snprintf(roots, sizeof(roots), "/nonexistent:%s", dir);
	ck_assert_int_eq(jobspec_check_path(js, roots, &real, &cause), 0);
	ck_assert_str_eq(real, inner);
	free(real);
	ck_assert_int_eq(jobspec_check_path(js, "/var", &real, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "outside the allowed roots"));
	free(cause);
	ck_assert_int_eq(jobspec_check_path(js, "", &real, &cause), -1);
	free(cause);
	jobspec_free(&js);

	/* A symlink out of the root is judged by where it leads. */
	snprintf(text, sizeof(text), "{\"repo\":{\"path\":\"%s\"},"
	    "\"job\":\"bootstrap\"}", link);
	js = parse_text(text, &cause);
	ck_assert_int_eq(jobspec_check_path(js, dir, &real, &cause), -1);
	free(cause);
	jobspec_free(&js);

	snprintf(text, sizeof(text), "{\"repo\":{\"path\":\"%s/none\"},"
	    "\"job\":\"bootstrap\"}", dir);
	js = parse_text(text, &cause);
	ck_assert_int_eq(jobspec_check_path(js, dir, &real, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "is not a directory"));
	free(cause);
	jobspec_free(&js);
	unlink(link);
	rmdir(inner);
	rmdir(dir);
}
END_TEST

Suite *
jobspec_suite(void)
{
	Suite	*s = suite_create("jobspec");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_jobspec_minimal);
	tcase_add_test(tc, test_jobspec_roundtrip);
	tcase_add_loop_test(tc, test_jobspec_good_urls, 0,
	    sizeof(good_urls) / sizeof(good_urls[0]));
	tcase_add_loop_test(tc, test_jobspec_bad, 0,
	    sizeof(bad_specs) / sizeof(bad_specs[0]));
	tcase_add_test(tc, test_jobspec_oversize_instructions);
	tcase_add_test(tc, test_jobspec_types_and_states);
	tcase_add_test(tc, test_jobspec_paths);
	suite_add_tcase(s, tc);
	return (s);
}
