/* The worker's job message: parsing, secrets, standalone building. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "redact.h"
#include "wjob.h"
#include "check_worker.h"

static const char *good_msg =
    "{\"v\":1,\"type\":\"job\",\"seq\":1,\"job_id\":\"j-1\","
    "\"spec\":{\"repo\":{\"url\":\"https://h/r.git\"},\"job\":\"fix-tests\"},"
    "\"secrets\":{\"e2b_api_key\":\"e2b_secret_key_1\","
    "\"anthropic_api_key\":\"sk-ant-secret-2\"},"
    "\"config\":{\"template\":\"claude\",\"job_dir\":\"/tmp/j\","
    "\"deadline_ms\":123,\"idle_timeout_s\":30,\"e2b_api_url\":\"http://x\"}}";

static int
parse(const char *text, struct wjob **wj, char **cause)
{
	struct json_object	*o;
	int			 rv;

	o = json_parse(text, strlen(text), cause);
	ck_assert_ptr_nonnull(o);
	rv = wjob_parse(o, wj, cause);
	json_object_put(o);
	return (rv);
}

START_TEST(test_wjob_parse)
{
	struct wjob	*wj = NULL;
	char		*cause = NULL, *red;

	ck_assert_int_eq(parse(good_msg, &wj, &cause), 0);
	ck_assert_str_eq(wj->wj_id, "j-1");
	ck_assert_int_eq(wj->wj_spec->js_type, JOB_FIX_TESTS);
	ck_assert_str_eq(wj->wj_template, "claude");
	ck_assert_str_eq(wj->wj_api_url, "http://x");
	ck_assert_int_eq(wj->wj_deadline_ms, 123);
	ck_assert_int_eq(wj->wj_idle_s, 30);
	ck_assert_str_eq(wj->wj_e2b_key, "e2b_secret_key_1");
	ck_assert_ptr_null(wj->wj_git_token);
	/* Secrets are redacted from then on. */
	red = redact("key sk-ant-secret-2 end");
	ck_assert_str_eq(red, "key [REDACTED] end");
	free(red);
	wjob_free(&wj);
	ck_assert_ptr_null(wj);
	redact_clear();
}
END_TEST

static const char *bad_msgs[][2] = {
	{ "{\"spec\":{},\"secrets\":{},\"config\":{}}", "job.job_id" },
	{ "{\"job_id\":\"j\",\"secrets\":{},\"config\":{}}", "job.spec" },
	{ "{\"job_id\":\"j\",\"spec\":{},\"secrets\":{},\"config\":{}}",
	  "job: is required" },
	{ "{\"job_id\":\"j\",\"spec\":{\"repo\":{\"url\":\"file:///x\"},"
	  "\"job\":\"fix-tests\"},\"secrets\":{},\"config\":{}}",
	  "repo.url: scheme" },
	{ "{\"job_id\":\"j\",\"spec\":{},\"secrets\":{},"
	  "\"config\":{\"mode\":\"reap\"}}", "required to reap" },
	{ "{\"job_id\":\"j\",\"spec\":{},\"secrets\":{\"e2b_api_key\":7},"
	  "\"config\":{\"mode\":\"reap\",\"sandbox_id\":\"i1\"}}",
	  "secrets.e2b_api_key: expected a string" },
	{ "{\"job_id\":\"j\",\"spec\":{},\"secrets\":{\"e2b_api_key\":\"abc\"},"
	  "\"config\":{\"mode\":\"reap\",\"sandbox_id\":\"i1\"}}",
	  "too short" },
	{ "{\"job_id\":\"j\",\"spec\":{},\"secrets\":{},"
	  "\"config\":{\"mode\":\"reap\",\"sandbox_id\":\"i1\","
	  "\"idle_timeout_s\":0}}", "config.idle_timeout_s: out of range" },
};

START_TEST(test_wjob_bad)
{
	struct wjob	*wj = NULL;
	char		*cause = NULL;

	ck_assert_int_eq(parse(bad_msgs[_i][0], &wj, &cause), -1);
	ck_assert_ptr_null(wj);
	ck_assert_msg(strstr(cause, bad_msgs[_i][1]) != NULL,
	    "cause '%s' lacks '%s'", cause, bad_msgs[_i][1]);
	free(cause);
	redact_clear();
}
END_TEST

START_TEST(test_wjob_reap)
{
	struct json_object	*msg;
	struct wjob		*wj = NULL;
	char			*cause = NULL;

	setenv("E2B_API_KEY", "e2b_reap_key_123", 1);
	msg = wjob_reap_msg("isandbox1");
	ck_assert_int_eq(wjob_parse(msg, &wj, &cause), 0);
	ck_assert_ptr_null(wj->wj_spec);
	ck_assert_str_eq(wj->wj_reap_id, "isandbox1");
	ck_assert_str_eq(wj->wj_e2b_key, "e2b_reap_key_123");
	json_object_put(msg);
	wjob_free(&wj);
	redact_clear();
}
END_TEST

/* Standalone: the job file and the environment make the same message. */
START_TEST(test_wjob_from_file)
{
	struct json_object	*msg;
	struct wjob		*wj = NULL;
	char			 dir[] = "/tmp/check-wjob-XXXXXX", file[300];
	char			 repo[300], text[700], *cause = NULL;
	FILE			*f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	ck_assert_int_eq(mkdir(repo, 0700), 0);
	snprintf(file, sizeof(file), "%s/job.json", dir);
	snprintf(text, sizeof(text), "{\"repo\":{\"path\":\"%s\"},"
	    "\"job\":\"bootstrap\",\"timeout_s\":100}", repo);
	f = fopen(file, "w");
	fputs(text, f);
	fclose(f);
	setenv("SKILLBOX_ALLOWED_ROOTS", dir, 1);
	setenv("E2B_API_KEY", "e2b_standalone_1", 1);
	setenv("SKILLBOX_TEMPLATE", "mytmpl", 1);
	setenv("SKILLBOX_IDLE_TIMEOUT_S", "42", 1);
	unsetenv("ANTHROPIC_API_KEY");
	msg = wjob_from_file(file, "/tmp/out", &cause);
	ck_assert_msg(msg != NULL, "%s", cause);
	ck_assert_int_eq(wjob_parse(msg, &wj, &cause), 0);
	ck_assert_str_eq(wj->wj_template, "mytmpl");
	ck_assert_str_eq(wj->wj_repo_path, repo);
	ck_assert_str_eq(wj->wj_job_dir, "/tmp/out");
	ck_assert_int_eq(wj->wj_idle_s, 42);
	ck_assert_ptr_null(wj->wj_anthropic_key);
	ck_assert_str_eq(wj->wj_skills_dir, SKILLBOX_DATADIR "/skills");
	ck_assert_int_gt(wj->wj_deadline_ms, 0);
	ck_assert_int_eq(strncmp(wj->wj_id, "j-", 2), 0);
	json_object_put(msg);
	wjob_free(&wj);

	/* Outside the allowed roots; a missing file; bad JSON. */
	setenv("SKILLBOX_ALLOWED_ROOTS", "/var/empty", 1);
	ck_assert_ptr_null(wjob_from_file(file, "/tmp/out", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "outside the allowed roots"));
	free(cause);
	ck_assert_ptr_null(wjob_from_file("/nonexistent/job.json", "/o",
	    &cause));
	ck_assert_ptr_nonnull(strstr(cause, "No such file"));
	free(cause);
	f = fopen(file, "w");
	fputs("{\"repo\":", f);
	fclose(f);
	ck_assert_ptr_null(wjob_from_file(file, "/o", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "job.json: unexpected end"));
	free(cause);
	unlink(file);
	rmdir(repo);
	rmdir(dir);
	redact_clear();
}
END_TEST

Suite *
wjob_suite(void)
{
	Suite	*s = suite_create("wjob");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_wjob_parse);
	tcase_add_loop_test(tc, test_wjob_bad, 0,
	    sizeof(bad_msgs) / sizeof(bad_msgs[0]));
	tcase_add_test(tc, test_wjob_reap);
	tcase_add_test(tc, test_wjob_from_file);
	suite_add_tcase(s, tc);
	return (s);
}
