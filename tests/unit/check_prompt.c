/* What a job puts in ~/.skillbox: prompt.txt and job.json. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jobspec.h"
#include "sandbox.h"
#include "wjob.h"
#include "check_worker.h"

static struct wjob *
make_job(const char *spec)
{
	struct json_object	*o;
	struct wjob		*wj;
	char			*cause = NULL;

	wj = calloc(1, sizeof(*wj));
	wj->wj_id = strdup("j-test");
	o = json_parse(spec, strlen(spec), &cause);
	ck_assert_int_eq(jobspec_parse(o, &wj->wj_spec, &cause), 0);
	json_object_put(o);
	return (wj);
}

START_TEST(test_prompt_fix_tests)
{
	struct wjob	*wj;
	char		*p;

	wj = make_job("{\"repo\":{\"url\":\"https://h/r.git\",\"ref\":\"dev\"},"
	    "\"job\":\"fix-tests\",\"instructions\":\"only unit tests\","
	    "\"artifacts\":[\"out/*.csv\"]}");
	p = sandbox_prompt(wj);
	ck_assert_ptr_nonnull(strstr(p, "cloned from https://h/r.git at dev"));
	ck_assert_ptr_nonnull(strstr(p, "`run-and-fix-tests` skill"));
	ck_assert_ptr_nonnull(strstr(p,
	    "<instructions>\nonly unit tests\n</instructions>"));
	ck_assert_ptr_nonnull(strstr(p, "- out/*.csv"));
	ck_assert_ptr_nonnull(strstr(p, "`report-result` skill"));
	free(p);
	wjob_free(&wj);
}
END_TEST

/* A custom job has no leading skill, only the user's instructions. */
START_TEST(test_prompt_custom)
{
	struct wjob	*wj;
	char		*p;

	wj = make_job("{\"repo\":{\"path\":\"/x\"},\"job\":\"custom\","
	    "\"instructions\":\"count the lines\"}");
	p = sandbox_prompt(wj);
	ck_assert_ptr_nonnull(strstr(p, "copied from the user's machine"));
	ck_assert_ptr_null(strstr(p, "Start by loading"));
	ck_assert_ptr_nonnull(strstr(p, "count the lines"));
	free(p);
	wjob_free(&wj);
}
END_TEST

/* job.json: the spec, where things are, and never the host's path. */
START_TEST(test_prompt_job_json)
{
	struct json_object	*o, *repo;
	struct wjob		*wj;

	wj = make_job("{\"repo\":{\"path\":\"/home/me/secret-project\"},"
	    "\"job\":\"bootstrap\",\"env\":{\"MODE\":\"ci\"}}");
	o = sandbox_job_json(wj);
	ck_assert_str_eq(json_peek_string(o, "job_id"), "j-test");
	ck_assert_str_eq(json_peek_string(o, "skill"), "bootstrap-repo");
	ck_assert_str_eq(json_peek_string(o, "repo_dir"), "/home/user/repo");
	ck_assert(json_object_object_get_ex(o, "repo", &repo));
	ck_assert_ptr_null(json_peek_string(repo, "path"));
	ck_assert_ptr_null(strstr(json_str(o), "secret-project"));
	json_object_put(o);
	wjob_free(&wj);
}
END_TEST

Suite *
prompt_suite(void)
{
	Suite	*s = suite_create("prompt");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_prompt_fix_tests);
	tcase_add_test(tc, test_prompt_custom);
	tcase_add_test(tc, test_prompt_job_json);
	suite_add_tcase(s, tc);
	return (s);
}
