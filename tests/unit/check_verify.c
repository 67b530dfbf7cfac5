/*
 * worker/verify.c: what skillbox's own re-run of the reported test
 * command means for the job, and how the result says it.  The re-run
 * itself is exercised for real in tests/integration/worker.mjs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "json.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "result.h"
#include "xmalloc.h"
#include "check_worker.h"

/* A pipeline whose agent reported failed failing tests of make check. */
static struct pipeline *
reported(int failed)
{
	struct pipeline	*p = pipeline_new(NULL, NULL, NULL);
	char		*text, *cause = NULL;

	xasprintf(&text, "{\"summary\":\"done\",\"tests\":{\"command\":"
	    "\"make check\",\"passed\":3,\"failed\":%d%s}}", failed,
	    failed > 0 ? ",\"failures\":[\"t1\"]" : "");
	ck_assert_msg(result_parse(text, strlen(text), &p->p_rf, &cause) == 0,
	    "%s", cause);
	free(text);
	return (p);
}

static void
reran(struct pipeline *p, enum verify_state st, int code, const char *why)
{
	p->p_verify.v_state = st;
	p->p_verify.v_exit = code;
	p->p_verify.v_ms = 1234;
	p->p_verify.v_why = why != NULL ? xstrdup(why) : NULL;
}

START_TEST(test_verify_contradicted)
{
	struct pipeline	*p = reported(0);

	reran(p, VERIFY_RAN, 2, NULL);
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_FAILED);
	ck_assert_str_eq(p->p_reason, "the agent reported the tests passing, "
	    "but `make check` exited 2 when skillbox ran it again (see the "
	    "job's log)");
	pipeline_free(&p);

	p = reported(0);
	reran(p, VERIFY_RAN, -1, NULL);
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(p->p_reason, "killed by a signal"));
	pipeline_free(&p);
}
END_TEST

/* Only a contradiction fails a job; the first reason recorded stays. */
START_TEST(test_verify_consistent)
{
	struct pipeline	*p = reported(0);

	reran(p, VERIFY_RAN, 0, NULL);
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_SUCCEEDED);
	pipeline_free(&p);

	p = reported(1);		/* failures reported, and seen */
	reran(p, VERIFY_RAN, 1, NULL);
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_SUCCEEDED);
	pipeline_free(&p);

	p = reported(0);		/* no verdict from a re-run that broke */
	reran(p, VERIFY_FAILED, 0, "it did not end");
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_SUCCEEDED);
	pipeline_free(&p);

	p = reported(0);
	pipe_fail(p, JOB_TIMED_OUT, "the deadline");
	reran(p, VERIFY_RAN, 2, NULL);
	verify_judge(p);
	ck_assert_int_eq(p->p_status, JOB_TIMED_OUT);
	ck_assert_str_eq(p->p_reason, "the deadline");
	pipeline_free(&p);
}
END_TEST

static void
check_json(struct pipeline *p, const char *want)
{
	struct json_object	*o = verify_json(p);

	if (want == NULL)
		ck_assert_ptr_null(o);
	else
		ck_assert_str_eq(json_str(o), want);
	json_object_put(o);
}

START_TEST(test_verify_json)
{
	struct pipeline	*p = reported(0);

	check_json(p, NULL);
	reran(p, VERIFY_RAN, 0, NULL);
	check_json(p, "{\"exit_code\":0,\"passed\":true,\"duration_ms\":1234}");
	p->p_verify.v_exit = 2;
	check_json(p, "{\"exit_code\":2,\"passed\":false,\"duration_ms\":1234}");
	pipeline_free(&p);

	p = reported(0);
	reran(p, VERIFY_SKIPPED, 0, "too little time");
	check_json(p, "{\"skipped\":\"too little time\"}");
	pipeline_free(&p);

	p = reported(0);
	reran(p, VERIFY_FAILED, 0, "envd said no");
	check_json(p, "{\"error\":\"envd said no\",\"duration_ms\":1234}");
	pipeline_free(&p);
}
END_TEST

Suite *
verify_suite(void)
{
	Suite	*s = suite_create("verify");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_verify_contradicted);
	tcase_add_test(tc, test_verify_consistent);
	tcase_add_test(tc, test_verify_json);
	suite_add_tcase(s, tc);
	return (s);
}
