/*
 * Worker records: freed only once both the exit and the final message
 * are in; an honest outcome for every way a worker can end; protocol
 * faults retire the worker, never the supervisor.  A real DEALER plays
 * the worker over the real ROUTER.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <event2/event.h>
#include <zmq.h>

#include "json.h"
#include "proto.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "repo_pack.h"
#include "tmpdir.h"

#define SPEC	"{\"repo\":{\"url\":\"https://example.com/r.git\"}," \
		"\"job\":\"fix-tests\"}"

static char			*dir;
static struct sv_config		 cfg;
static struct event_base	*base;
static int			 done_calls;
static enum job_state		 done_state;
static char			*done_reason;
static void			*pctx;

static void
done_cb(struct worker *w)
{
	done_calls++;
	free(done_reason);
	done_state = worker_outcome(w, &done_reason);
}

static void
setup(void)
{
	char	*cause = NULL;

	dir = test_tmpdir();
	sv_test_config(&cfg, dir);
	ck_assert_int_eq(store_init(dir, &cause), 0);
	jobs_init();
	base = event_base_new();
	ck_assert_msg(worker_init(base, &cfg, done_cb, &cause) == 0, "%s",
	    cause);
	done_calls = 0;
	done_reason = NULL;
	pctx = zmq_ctx_new();
}

static void
teardown(void)
{
	zmq_ctx_term(pctx);
	worker_fini();
	event_base_free(base);
	jobs_clear();
	store_close();
	config_clear(&cfg);
	free(cfg.c_host);
	test_rmdir(dir);
	free(done_reason);
}

static struct worker *
new_worker(void)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);

	job_save(j);
	return (worker_new(WORKER_JOB, j));
}

static struct json_object *
result(const char *status)
{
	struct json_object	*r = json_object_new_object();

	json_add_string(r, "status", status);
	json_add_string(r, "reason", "as the worker says");
	return (r);
}

START_TEST(test_worker_exit_then_final)
{
	struct worker	*w = new_worker();
	struct job	*j = w->w_job;

	worker_exited(w, 0);
	ck_assert_int_eq(done_calls, 0);
	ck_assert_ptr_eq(j->j_worker, w);
	worker_final(w, result("succeeded"));
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(done_state, JOB_SUCCEEDED);
	ck_assert_ptr_null(j->j_worker);
	ck_assert_uint_eq(worker_count(WORKER_JOB), 0);
}
END_TEST

START_TEST(test_worker_final_then_exit)
{
	struct worker	*w = new_worker();

	worker_final(w, result("failed"));
	ck_assert_int_eq(done_calls, 0);
	worker_exited(w, 0);
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(done_state, JOB_FAILED);
	ck_assert_str_eq(done_reason, "as the worker says");
}
END_TEST

/* No final message ever: the wait for it ends, and it is a crash. */
START_TEST(test_worker_exit_without_final)
{
	struct worker	*w = new_worker();
	struct timeval	 tv = { 3, 0 };

	worker_exited(w, SIGKILL);
	ck_assert_int_eq(done_calls, 0);
	event_base_loopexit(base, &tv);
	while (done_calls == 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(done_state, JOB_CRASHED);
	ck_assert_str_eq(done_reason, "killed by signal 9");
}
END_TEST

/* Every way a worker ends maps to a state and a cause. */
START_TEST(test_worker_outcomes)
{
	static const struct {
		int			 status;
		enum worker_intent	 intent;
		const char		*result;
		const char		*lasterr;
		enum job_state		 want;
		const char		*reason;
	} cases[] = {
		{ SIGKILL, WI_NONE, NULL, NULL, JOB_CRASHED,
		    "killed by signal 9" },
		{ EX_CONFIG << 8, WI_NONE, NULL, "E2B_API_KEY is not set",
		    JOB_FAILED, "configuration error (EX_CONFIG): E2B_API_KEY "
		    "is not set" },
		{ EX_UNAVAILABLE << 8, WI_NONE, NULL, NULL, JOB_FAILED,
		    "E2B could not be reached (EX_UNAVAILABLE)" },
		{ EX_SOFTWARE << 8, WI_NONE, NULL, NULL, JOB_CRASHED,
		    "internal error in the worker (EX_SOFTWARE)" },
		{ 0, WI_NONE, NULL, NULL, JOB_CRASHED,
		    "the worker exited without a result" },
		{ 3 << 8, WI_NONE, NULL, NULL, JOB_CRASHED, "exited 3" },
		{ SIGTERM, WI_CANCEL, NULL, NULL, JOB_CANCELLED,
		    "cancelled: by request" },
		{ SIGKILL, WI_DEADLINE, NULL, NULL, JOB_TIMED_OUT,
		    "by request" },
		{ 0, WI_DEADLINE, "cancelled", NULL, JOB_TIMED_OUT,
		    "as the worker says" },
		{ 0, WI_CANCEL, "succeeded", NULL, JOB_SUCCEEDED,
		    "as the worker says" },
		{ SIGTERM, WI_FAULT, "succeeded", NULL, JOB_CRASHED,
		    "worker protocol error: by request" },
		{ SIGKILL, WI_HUNG, NULL, NULL, JOB_CRASHED,
		    "the worker stopped responding (by request)" },
		{ 0, WI_NONE, "interrupted", NULL, JOB_INTERRUPTED,
		    "as the worker says" },
	};
	struct worker	*w = new_worker();
	enum job_state	 st;
	char		*reason = NULL;

	w->w_status = cases[_i].status;
	w->w_intent = cases[_i].intent;
	w->w_cause = xstrdup("by request");
	if (cases[_i].result != NULL)
		w->w_result = result(cases[_i].result);
	if (cases[_i].lasterr != NULL)
		w->w_lasterr = xstrdup(cases[_i].lasterr);
	st = worker_outcome(w, &reason);
	ck_assert_msg(st == cases[_i].want, "case %d: %s", _i,
	    job_state_name(st));
	ck_assert_str_eq(reason, cases[_i].reason);
	free(reason);
	worker_free(&w);
	ck_assert_ptr_null(w);
}
END_TEST

START_TEST(test_worker_status_cause)
{
	char	*s;

	s = worker_status_cause(0x80 | SIGSEGV);
	ck_assert_str_eq(s, "killed by signal 11 (core dumped)");
	free(s);
	s = worker_status_cause(65 << 8);
	ck_assert_str_eq(s, "exited 65");
	free(s);
}
END_TEST

/* A DEALER with the worker's routing id, connected to the ROUTER. */
static void *
peer_new(const char *id)
{
	void	*s = zmq_socket(pctx, ZMQ_DEALER);
	int	 zero = 0;

	zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	ck_assert_int_eq(zmq_connect(s, worker_endpoint()), 0);
	return (s);
}

static void
peer_send(void *s, const char *text)
{
	ck_assert_int_ge(zmq_send(s, text, strlen(text), 0), 0);
}

/*
 * Run the loop until the peer gets a message other than a heartbeat
 * (returned) or ms pass (NULL).
 */
static struct json_object *
peer_pump(void *s, int ms)
{
	struct json_object	*m;
	zmq_pollitem_t		 it = { s, 0, ZMQ_POLLIN, 0 };
	char			 buf[65536];
	int			 i, n;

	for (i = 0; i < ms / 10; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (zmq_poll(&it, 1, 10) != 1)
			continue;
		n = zmq_recv(s, buf, sizeof(buf) - 1, 0);
		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		m = sv_test_spec(buf);
		if (strcmp(json_peek_string(m, "type"), "heartbeat") != 0)
			return (m);
		json_object_put(m);
	}
	return (NULL);
}

/* The repo's Skills pack for skillboxd, and its digest in digest. */
static void
pack_of_repo(char *digest, size_t len)
{
	char	*pack = repo_pack(digest, len);

	pack_init(pack);
	free(pack);
}

START_TEST(test_worker_hello_job)
{
	struct worker		*w = new_worker();
	struct json_object	*m, *v;
	void			*p = peer_new(w->w_id);
	char			 hello[128], digest[128];

	pack_of_repo(digest, sizeof(digest));
	cfg.c_e2b_api_key = xstrdup("e2b_test_key_123");
	snprintf(hello, sizeof(hello), "{\"v\":%d,\"type\":\"hello\","
	    "\"seq\":1,\"pid\":1,\"build\":\"test\"}", PROTO_VERSION);
	peer_send(p, hello);
	m = peer_pump(p, 3000);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_peek_string(m, "type"), "job");
	ck_assert_str_eq(json_peek_string(m, "job_id"), w->w_id);
	ck_assert(json_object_object_get_ex(m, "secrets", &v));
	ck_assert_str_eq(json_peek_string(v, "e2b_api_key"),
	    "e2b_test_key_123");
	ck_assert(json_object_object_get_ex(m, "config", &v));
	ck_assert_ptr_nonnull(strstr(json_peek_string(v, "job_dir"),
	    w->w_id));
	ck_assert_str_eq(json_peek_string(v, "template"), "claude");
	/* The pack skillboxd shows: the forkserver's copy is used if same. */
	ck_assert_str_eq(json_peek_string(v, "skills_digest"), digest);
	pack_init(NULL);
	ck_assert(json_object_object_get_ex(m, "spec", &v));
	ck_assert_str_eq(json_peek_string(v, "job"), "fix-tests");
	json_object_put(m);
	ck_assert_int_eq(w->w_state, W_RUNNING);
	/* A phase moves the job; a sandbox is recorded. */
	peer_send(p, "{\"v\":1,\"type\":\"phase\",\"seq\":2,\"phase\":"
	    "\"provisioning\",\"at\":5}");
	peer_send(p, "{\"v\":1,\"type\":\"sandbox\",\"seq\":3,\"id\":\"sbx-9\","
	    "\"template\":\"claude\"}");
	ck_assert_ptr_null(peer_pump(p, 300));
	ck_assert_int_eq(w->w_job->j_state, JOB_PROVISIONING);
	ck_assert_str_eq(w->w_job->j_sandbox, "sbx-9");
	zmq_close(p);
}
END_TEST

START_TEST(test_worker_hello_version)
{
	struct worker		*w = new_worker();
	struct json_object	*m;
	void			*p = peer_new(w->w_id);

	peer_send(p, "{\"v\":99,\"type\":\"hello\",\"seq\":1,\"pid\":1,"
	    "\"build\":\"future\"}");
	m = peer_pump(p, 3000);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_peek_string(m, "type"), "version");
	ck_assert_int_eq(json_peek_int(m, "version", 0), PROTO_VERSION);
	json_object_put(m);
	ck_assert_int_eq(w->w_intent, WI_VERSION);
	ck_assert(w->w_flags & W_CLOSED);
	zmq_close(p);
}
END_TEST

/* Each malformed or out-of-place message is a fault of that worker. */
START_TEST(test_worker_faults)
{
	static const char *const bad[] = {
		"not json",
		"{\"v\":1,\"type\":\"event\",\"seq\":5,\"event\":{}}",
		"{\"v\":1,\"type\":\"hello\",\"seq\":1,\"pid\":1}",
		"{\"v\":1,\"type\":\"job\",\"seq\":1,\"job_id\":\"x\","
		    "\"spec\":{},\"secrets\":{},\"config\":{}}",
		"{\"v\":1,\"type\":\"teleport\",\"seq\":1}",
	};
	struct worker	*w = new_worker();

	ck_assert_int_eq(worker_handle(w, bad[_i], strlen(bad[_i])), -1);
	ck_assert_int_eq(w->w_intent, WI_FAULT);
	ck_assert(w->w_flags & W_CLOSED);
	ck_assert_int_eq(done_calls, 0);
}
END_TEST

START_TEST(test_worker_faults_after_hello)
{
	static const char *const bad[] = {
		"{\"v\":1,\"type\":\"phase\",\"seq\":1,\"phase\":\"running\","
		    "\"at\":1}",
		"{\"v\":1,\"type\":\"phase\",\"seq\":3,\"phase\":\"succeeded\","
		    "\"at\":1}",
		"{\"v\":1,\"type\":\"result\",\"seq\":3,\"result\":"
		    "{\"status\":\"running\"}}",
		"{\"v\":1,\"type\":\"result\",\"seq\":3,\"result\":{}}",
		"{\"v\":2,\"type\":\"heartbeat\",\"seq\":3}",
	};
	struct worker	*w = new_worker();
	void		*p = peer_new(w->w_id);
	struct json_object *m;

	peer_send(p, "{\"v\":1,\"type\":\"hello\",\"seq\":1,\"pid\":1,"
	    "\"build\":\"t\"}");
	m = peer_pump(p, 3000);
	ck_assert_ptr_nonnull(m);
	json_object_put(m);
	peer_send(p, "{\"v\":1,\"type\":\"heartbeat\",\"seq\":2}");
	ck_assert_ptr_null(peer_pump(p, 300));
	ck_assert_int_eq(w->w_intent, WI_NONE);
	ck_assert_int_eq(worker_handle(w, bad[_i], strlen(bad[_i])), -1);
	ck_assert_int_eq(w->w_intent, WI_FAULT);
	zmq_close(p);
}
END_TEST

/* Its result still queued when its exit is seen: the result counts. */
START_TEST(test_worker_result_queued_at_exit)
{
	struct worker		*w = new_worker();
	struct job		*j = w->w_job;
	struct json_object	*m;
	void			*p = peer_new(w->w_id);
	struct timespec		 ts = { 0, 200 * 1000 * 1000 };

	peer_send(p, "{\"v\":1,\"type\":\"hello\",\"seq\":1,\"pid\":1,"
	    "\"build\":\"t\"}");
	m = peer_pump(p, 3000);
	ck_assert_ptr_nonnull(m);
	json_object_put(m);
	peer_send(p, "{\"v\":1,\"type\":\"result\",\"seq\":2,\"result\":"
	    "{\"status\":\"succeeded\",\"reason\":\"done\"}}");
	nanosleep(&ts, NULL);
	worker_exited(w, 0);
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(done_state, JOB_SUCCEEDED);
	ck_assert_str_eq(done_reason, "done");
	ck_assert_ptr_null(j->j_worker);
	zmq_close(p);
}
END_TEST

/* A worker that says nothing is stopped as hung after missed beats. */
START_TEST(test_worker_hung)
{
	struct worker	*w = new_worker();
	struct timeval	 tv = { (PROTO_LIVENESS + 2) * PROTO_HEARTBEAT_MS /
	    1000, 0 };

	event_base_loopexit(base, &tv);
	while (w->w_intent == WI_NONE &&
	    event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	ck_assert_int_eq(w->w_intent, WI_HUNG);
	ck_assert(w->w_flags & W_CLOSED);
	worker_exited(w, SIGTERM);
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(done_state, JOB_CRASHED);
	ck_assert_ptr_nonnull(strstr(done_reason, "stopped responding"));
}
END_TEST

Suite *
sv_worker_suite(void)
{
	Suite	*s = suite_create("sv_worker");
	TCase	*tc = tcase_create("lifecycle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_worker_exit_then_final);
	tcase_add_test(tc, test_worker_final_then_exit);
	tcase_add_test(tc, test_worker_exit_without_final);
	tcase_add_loop_test(tc, test_worker_outcomes, 0, 13);
	tcase_add_test(tc, test_worker_status_cause);
	tcase_add_test(tc, test_worker_hello_job);
	tcase_add_test(tc, test_worker_hello_version);
	tcase_add_loop_test(tc, test_worker_faults, 0, 5);
	tcase_add_loop_test(tc, test_worker_faults_after_hello, 0, 5);
	tcase_add_test(tc, test_worker_result_queued_at_exit);
	tcase_add_test(tc, test_worker_hung);
	suite_add_tcase(s, tc);
	return (s);
}
