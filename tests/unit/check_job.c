/*
 * The job state machine (forward only, terminal states final, persisted
 * before announced), the job record round trip, and the queue.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define SPEC	"{\"repo\":{\"url\":\"https://example.com/r.git\"}," \
		"\"job\":\"fix-tests\",\"timeout_s\":600}"

static char	*dir;
static int	 announced;
static int	 persisted_first;

static void
setup(void)
{
	dir = test_tmpdir();
	ck_assert_int_eq(store_init(dir, &(char *){ NULL }), 0);
	jobs_init();
	announced = 0;
	persisted_first = 1;
}

static void
teardown(void)
{
	jobs_clear();
	store_close();
	test_rmdir(dir);
}

static struct job *
new_job(void)
{
	return (job_create(sv_test_spec(SPEC), NULL));
}

/* The state job.json on disk holds. */
static const char *
disk_state(struct job *j, char *out, size_t len)
{
	struct json_object	*o;
	struct buf		 b;
	char			*path = store_job_path(j, "job.json");
	int			 truncated;

	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_read_file(&b, path, 1 << 20, &truncated), 0);
	o = json_parse(buf_str(&b), buf_len(&b), &(char *){ NULL });
	ck_assert_ptr_nonnull(o);
	snprintf(out, len, "%s", json_peek_string(o, "state"));
	json_object_put(o);
	buf_free(&b);
	free(path);
	return (out);
}

static void
hook(struct job *j, enum job_change what)
{
	struct json_object	*arr;
	char			 st[32];
	const char		*logged = NULL;

	if (what != JOB_CHANGE_STATE)
		return;
	announced++;
	/* Every change is in the log; a terminal one in job.json too. */
	if (store_log_read(j, store_log_count(j) - 1, 1, 1 << 20, &arr) == 1)
		logged = json_peek_string(json_object_array_get_idx(arr, 0),
		    "state");
	if (logged == NULL || strcmp(logged, job_state_name(j->j_state)) != 0)
		persisted_first = 0;
	json_object_put(arr);
	if (job_state_terminal(j->j_state) && strcmp(disk_state(j, st,
	    sizeof(st)), job_state_name(j->j_state)) != 0)
		persisted_first = 0;
}

START_TEST(test_job_forward_only)
{
	struct job	*j = new_job();

	ck_assert_int_eq(j->j_state, JOB_QUEUED);
	ck_assert(job_id_valid(j->j_id));
	ck_assert_ptr_eq(jobs_find(j->j_id), j);
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	ck_assert_int_gt(j->j_started, 0);
	ck_assert_int_eq(job_set_state(j, JOB_RUNNING, NULL), 0);
	/* The same state again is no change; backwards is refused. */
	ck_assert_int_eq(job_set_state(j, JOB_RUNNING, NULL), 0);
	ck_assert_int_eq(job_set_state(j, JOB_PROVISIONING, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(job_set_state(j, JOB_STATE_MAX, NULL), -1);
	ck_assert_int_eq(j->j_state, JOB_RUNNING);
}
END_TEST

/* From each terminal state, no state at all can be reached. */
START_TEST(test_job_terminal_final)
{
	struct job	*j = new_job();
	enum job_state	 term = JOB_SUCCEEDED + (enum job_state)_i, st;

	ck_assert(job_state_terminal(term));
	ck_assert_int_eq(job_set_state(j, term, "done"), 0);
	ck_assert_int_gt(j->j_finished, 0);
	for (st = 0; st < JOB_STATE_MAX; st++) {
		ck_assert_int_eq(job_set_state(j, st, "again"), -1);
		ck_assert_int_eq(j->j_state, term);
		ck_assert_str_eq(j->j_reason, "done");
	}
}
END_TEST

START_TEST(test_job_persisted_before_announced)
{
	struct job	*j;
	char		 st[32];

	jobs_set_hook(hook);
	j = new_job();
	job_save(j);
	ck_assert_str_eq(disk_state(j, st, sizeof(st)), "queued");
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	ck_assert_int_eq(job_set_state(j, JOB_PROVISIONING, NULL), 0);
	ck_assert_int_eq(job_set_state(j, JOB_CRASHED, "killed by signal 9"),
	    0);
	ck_assert_int_eq(announced, 3);
	ck_assert(persisted_first);
	ck_assert_str_eq(disk_state(j, st, sizeof(st)), "crashed");
}
END_TEST

START_TEST(test_job_roundtrip)
{
	struct job		*j, *k;
	struct json_object	*doc, *res;
	char			 id[JOB_ID_SIZE], *cause = NULL;

	j = job_create(sv_test_spec(SPEC), "key-1");
	ck_assert_ptr_eq(jobs_find_key("key-1"), j);
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	job_set_sandbox(j, "sbx-1", "claude");
	job_add_recent(j, "text: hello");
	res = json_object_new_object();
	json_add_string(res, "status", "succeeded");
	job_set_result(j, res);
	ck_assert_int_eq(job_set_state(j, JOB_SUCCEEDED, "fine"), 0);
	doc = job_to_json(j);
	memcpy(id, j->j_id, sizeof(id));
	job_remove(&j);
	ck_assert_ptr_null(jobs_find(id));
	k = job_load(doc, &(char *){ NULL });
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(k->j_id, id);
	ck_assert_int_eq(k->j_state, JOB_SUCCEEDED);
	ck_assert_str_eq(k->j_reason, "fine");
	ck_assert_str_eq(k->j_sandbox, "sbx-1");
	ck_assert_str_eq(k->j_idem, "key-1");
	ck_assert_str_eq(job_recent(k, 0), "text: hello");
	ck_assert_str_eq(json_peek_string(k->j_result, "status"), "succeeded");
	ck_assert_int_eq(k->j_type, JOB_FIX_TESTS);
	/* Loading the same id twice is refused. */
	ck_assert_ptr_null(job_load(doc, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "not unique"));
	free(cause);
	json_object_put(doc);
}
END_TEST

START_TEST(test_job_load_refuses)
{
	static const char *const bad[] = {
		"{\"id\":\"j-zz\",\"state\":\"queued\",\"spec\":{}}",
		"{\"id\":\"j-0123456789abcdef\",\"state\":\"dreaming\","
		    "\"spec\":{},\"created_ms\":1,\"started_ms\":0,"
		    "\"updated_ms\":1,\"finished_ms\":0,\"deadline_ms\":0}",
		"{\"id\":\"j-0123456789abcdef\",\"state\":\"queued\","
		    "\"spec\":{}}",
		"{\"id\":\"j-0123456789abcdef\",\"state\":\"queued\","
		    "\"spec\":{},\"created_ms\":1,\"started_ms\":0,"
		    "\"updated_ms\":1,\"finished_ms\":0,\"deadline_ms\":0,"
		    "\"sandbox\":{\"id\":\"s\",\"template\":\"t\","
		    "\"reap\":\"maybe\"}}",
		"{\"id\":\"j-0123456789abcdef\",\"state\":\"queued\"}",
	};
	struct json_object	*o;
	char			*cause = NULL;

	o = sv_test_spec(bad[_i]);
	ck_assert_ptr_null(job_load(o, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
	json_object_put(o);
	ck_assert_uint_eq(jobs_count(), 0);
}
END_TEST

START_TEST(test_job_recent_and_summary)
{
	struct job		*j = new_job();
	struct json_object	*ev;
	struct buf		 b;
	char			 line[16];
	int			 i;

	for (i = 0; i < 7; i++) {
		snprintf(line, sizeof(line), "line %d", i);
		job_add_recent(j, line);
	}
	ck_assert_str_eq(job_recent(j, 0), "line 6");
	ck_assert_str_eq(job_recent(j, JOB_RECENT - 1), "line 2");
	ck_assert_ptr_null(job_recent(j, JOB_RECENT));
	ev = sv_test_spec("{\"type\":\"tool_use\",\"name\":\"Bash\","
	    "\"input\":\"npm   test\\n --watch=false\"}");
	buf_init(&b, JOB_RECENT_MAX);
	job_summarize_event(ev, &b);
	ck_assert_str_eq(buf_str(&b), "tool_use Bash: npm test --watch=false");
	buf_free(&b);
	json_object_put(ev);
	ck_assert(!job_id_valid("j-0123456789ABCDEF"));
	ck_assert(!job_id_valid("j-0123456789abcde"));
	ck_assert(!job_id_valid("../../etc/passwd"));
}
END_TEST

START_TEST(test_queue_fifo)
{
	struct queue	 q;
	struct job	*a = new_job(), *b = new_job(), *c = new_job();

	queue_init(&q, 2);
	ck_assert_ptr_null(queue_pop(&q));
	ck_assert_int_eq(queue_push(&q, a), 0);
	ck_assert_int_eq(queue_push(&q, b), 0);
	ck_assert(queue_full(&q));
	ck_assert_int_eq(queue_push(&q, c), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(queue_position(&q, a), 1);
	ck_assert_uint_eq(queue_position(&q, b), 2);
	ck_assert_uint_eq(queue_position(&q, c), 0);
	ck_assert_ptr_eq(queue_pop(&q), a);
	ck_assert_int_eq(queue_push(&q, c), 0);
	queue_remove(&q, b);
	ck_assert_uint_eq(queue_position(&q, c), 1);
	ck_assert_ptr_eq(queue_pop(&q), c);
	ck_assert_ptr_null(queue_pop(&q));
	ck_assert_uint_eq(q.q_len, 0);
}
END_TEST

START_TEST(test_queue_zero)
{
	struct queue	 q;

	queue_init(&q, 0);
	ck_assert(queue_full(&q));
	ck_assert_int_eq(queue_push(&q, new_job()), -1);
}
END_TEST

Suite *
job_suite(void)
{
	Suite	*s = suite_create("job");
	TCase	*tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_job_forward_only);
	tcase_add_loop_test(tc, test_job_terminal_final, 0,
	    JOB_STATE_MAX - JOB_SUCCEEDED);
	tcase_add_test(tc, test_job_persisted_before_announced);
	tcase_add_test(tc, test_job_roundtrip);
	tcase_add_loop_test(tc, test_job_load_refuses, 0, 5);
	tcase_add_test(tc, test_job_recent_and_summary);
	suite_add_tcase(s, tc);
	return (s);
}

Suite *
queue_suite(void)
{
	Suite	*s = suite_create("queue");
	TCase	*tc = tcase_create("fifo");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_queue_fifo);
	tcase_add_test(tc, test_queue_zero);
	suite_add_tcase(s, tc);
	return (s);
}
