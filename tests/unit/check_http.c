/*
 * worker/http: requests on libevent against a scripted server: bodies,
 * caps, sinks, retries and backoff, timeouts, cancellation, logging.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <event2/event.h>

#include "http.h"
#include "json.h"
#include "xmalloc.h"
#include "mock_http.h"
#include "check_worker.h"


/* Quick retries for tests: many attempts, small backoffs. */
static const struct http_retry	fast = { 10, 20, 80, 3000 };

/* Build a request for path on the mock. */
static struct http_req *
req_for(struct mock *m, enum http_method method, const char *path)
{
	char	url[256];

	(void)snprintf(url, sizeof(url), "%s%s", mock_url(m), path);
	return (http_req_new(method, url));
}

START_TEST(test_http_get_body_and_headers)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/x", .ms_status = 200, .ms_body = "hello",
		    .ms_headers = "X-Next-Token: abc\nContent-Type: text/x\n" },
	};
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r = req_for(m, HTTP_GET, "/x?y=1");
	char		*cause = NULL;

	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_int_eq(http_status(r), 200);
	ck_assert_str_eq(buf_str(http_body(r)), "hello");
	ck_assert_str_eq(http_header(r, "x-next-token"), "abc");
	ck_assert_str_eq(http_header(r, "Content-Type"), "text/x");
	ck_assert_ptr_null(http_header(r, "absent"));
	ck_assert_int_eq(http_attempts(r), 1);
	ck_assert_str_eq(json_peek_string(mock_request(m, 0), "uri"),
	    "/x?y=1");
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_post_body_headers)
{
	static const struct mock_step	steps[] = {
		{ .ms_method = "POST", .ms_status = 201, .ms_body = "{}" },
		{ .ms_method = "DELETE", .ms_status = 204 },
		{ .ms_method = "PUT", .ms_status = 200 },
	};
	struct mock		*m = mock_start(steps, 3);
	struct http_req		*r = req_for(m, HTTP_POST, "/p");
	struct json_object	*rec;
	char			*cause = NULL, *body;
	size_t			 len;

	http_req_header(r, "X-Thing", "v1");
	http_req_body(r, "application/json", "{\"a\":1}", 7);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_int_eq(http_status(r), 201);
	rec = mock_request(m, 0);
	ck_assert_str_eq(json_peek_string(rec, "method"), "POST");
	ck_assert_str_eq(mock_req_header(rec, "x-thing"), "v1");
	ck_assert_str_eq(mock_req_header(rec, "content-type"),
	    "application/json");
	ck_assert_ptr_null(mock_req_header(rec, "expect"));
	body = mock_req_body(rec, &len);
	ck_assert_str_eq(body, "{\"a\":1}");
	free(body);
	http_req_free(&r);

	r = req_for(m, HTTP_DELETE, "/d");
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_int_eq(http_status(r), 204);
	ck_assert_str_eq(json_peek_string(mock_request(m, 1), "method"),
	    "DELETE");
	http_req_free(&r);

	r = req_for(m, HTTP_PUT, "/u");
	http_req_body_own(r, "text/plain", xstrdup("abc"), 3);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_str_eq(json_peek_string(mock_request(m, 2), "method"),
	    "PUT");
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_body_cap)
{
	static char			big[4096];
	static struct mock_step		steps[] = {
		{ .ms_status = 200, .ms_body = big },
	};
	struct mock	*m;
	struct http_req	*r;
	char		*cause = NULL;

	memset(big, 'b', sizeof(big) - 1);
	m = mock_start(steps, 1);
	r = req_for(m, HTTP_GET, "/big");
	http_req_limit(r, 1000);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), -1);
	ck_assert_int_eq(http_outcome(r), HTTP_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(cause, "cap of 1000 bytes"));
	free(cause);
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

struct sink {
	struct buf	s_data;
	int		s_calls;
	int		s_fail_at;	/* call number that fails, 0: none */
};

static int
sink_cb(void *arg, const char *p, size_t len, char **cause)
{
	struct sink	*s = arg;

	if (++s->s_calls == s->s_fail_at) {
		*cause = xstrdup("sink says no");
		return (-1);
	}
	ck_assert_int_eq(buf_add(&s->s_data, p, len), 0);
	return (0);
}

START_TEST(test_http_sink_stream)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/ok", .ms_status = 200,
		    .ms_body = "0123456789abcdefghij", .ms_chunk = 3,
		    .ms_delay_ms = 5 },
		{ .ms_path = "/err", .ms_status = 503,
		    .ms_body = "{\"code\":503}" },
	};
	struct mock	*m = mock_start(steps, 2);
	struct http_req	*r = req_for(m, HTTP_GET, "/ok");
	struct sink	 s;
	char		*cause = NULL;

	memset(&s, 0, sizeof(s));
	buf_init(&s.s_data, 1024);
	http_req_sink(r, sink_cb, &s);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_str_eq(buf_str(&s.s_data), "0123456789abcdefghij");
	ck_assert_uint_eq(http_delivered(r), 20);
	ck_assert_uint_eq(buf_len(http_body(r)), 0);
	http_req_free(&r);

	/* A non-2xx body is kept for the error, not streamed. */
	buf_reset(&s.s_data);
	r = req_for(m, HTTP_GET, "/err");
	http_req_sink(r, sink_cb, &s);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_int_eq(http_status(r), 503);
	ck_assert_uint_eq(buf_len(&s.s_data), 0);
	ck_assert_str_eq(buf_str(http_body(r)), "{\"code\":503}");
	http_req_free(&r);
	buf_free(&s.s_data);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_sink_abort)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 200, .ms_body = "aaaabbbbcccc", .ms_chunk = 4,
		    .ms_delay_ms = 5 },
	};
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r = req_for(m, HTTP_GET, "/");
	struct sink	 s;
	char		*cause = NULL;

	memset(&s, 0, sizeof(s));
	buf_init(&s.s_data, 1024);
	s.s_fail_at = 2;
	http_req_sink(r, sink_cb, &s);
	http_req_retry(r, &fast);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), -1);
	ck_assert_int_eq(http_outcome(r), HTTP_ESINK);
	ck_assert_str_eq(cause, "sink says no");
	ck_assert_int_eq(http_attempts(r), 1);
	free(cause);
	http_req_free(&r);
	buf_free(&s.s_data);
	mock_stop(&m);
}
END_TEST

/* One retry scenario: what the server says, the policy, the outcome. */
struct retry_case {
	struct mock_step	rc_steps[2];
	struct http_retry	rc_policy;
	long			rc_status;	/* the final status */
	int			rc_min;		/* attempts, at least */
	int			rc_max;		/* and at most */
};

static const struct retry_case retry_cases[] = {
	/* 429 with Retry-After: wait that long, then succeed. */
	{ { { .ms_times = 1, .ms_status = 429, .ms_headers =
	    "Retry-After: 1\n", .ms_body =
	    "{\"code\":429,\"message\":\"Rate limit exceeded\"}" },
	    { .ms_status = 200, .ms_body = "ok" } },
	    { 10, 20, 80, 3000 }, 200, 2, 2 },
	/* Waiting an hour does not fit the budget: give up at once. */
	{ { { .ms_status = 429, .ms_headers = "Retry-After: 3600\n" } },
	    { 10, 20, 80, 3000 }, 429, 1, 1 },
	/* 503 twice, then success. */
	{ { { .ms_times = 2, .ms_status = 503 },
	    { .ms_status = 200, .ms_body = "fine" } },
	    { 10, 20, 80, 3000 }, 200, 3, 3 },
	/*
	 * 500 for ever: the attempt count cannot stop it, the total must.
	 * At least one attempt, not two: a slow run (valgrind, a loaded
	 * machine) can spend the whole budget on the first.
	 */
	{ { { .ms_status = 500, .ms_body = "boom" } },
	    { 1000, 10, 50, 600 }, 500, 1, 999 },
	/* 502 for ever with three attempts allowed. */
	{ { { .ms_status = 502 } }, { 3, 1, 5, 60000 }, 502, 3, 3 },
	/* 4xx other than 429 is final. */
	{ { { .ms_status = 400, .ms_body = "{\"message\":\"bad\"}" } },
	    { 10, 20, 80, 3000 }, 400, 1, 1 },
};

START_TEST(test_http_retry)
{
	const struct retry_case	*rc = &retry_cases[_i];
	struct mock		*m = mock_start(rc->rc_steps, 2);
	struct http_req		*r = req_for(m, HTTP_POST, "/");
	char			*cause = NULL, *body;

	http_req_body(r, "application/json", "{}", 2);
	http_req_retry(r, &rc->rc_policy);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	ck_assert_int_eq(http_status(r), rc->rc_status);
	ck_assert_int_ge(http_attempts(r), rc->rc_min);
	ck_assert_int_le(http_attempts(r), rc->rc_max);
	ck_assert_int_eq(mock_count(m), http_attempts(r));
	/* Every attempt carried the whole body. */
	body = mock_req_body(mock_request(m, http_attempts(r) - 1), NULL);
	ck_assert_str_eq(body, "{}");
	free(body);
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_connect_refused_retried)
{
	static const struct mock_step	steps[] = { { .ms_status = 200 } };
	static const struct http_retry	four = { 4, 1, 5, 60000 };
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r;
	char		 url[64], *cause = NULL;

	/* A port nobody listens on any more. */
	(void)snprintf(url, sizeof(url), "%s/", mock_url(m));
	mock_stop(&m);
	r = http_req_new(HTTP_GET, url);
	http_req_retry(r, &four);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), -1);
	ck_assert_int_eq(http_outcome(r), HTTP_ENET);
	ck_assert_int_eq(http_attempts(r), 4);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	http_req_free(&r);
}
END_TEST

START_TEST(test_http_lowspeed)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 200, .ms_hang = 1 },
	};
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r = req_for(m, HTTP_GET, "/");
	char		*cause = NULL;

	http_req_timeouts(r, -1, 1, -1);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), -1);
	ck_assert_int_eq(http_outcome(r), HTTP_ENET);
	ck_assert_ptr_nonnull(strstr(cause, "too slow"));
	free(cause);
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

static void
cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	http_ctx_cancel(arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

START_TEST(test_http_cancel_while_running)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 200, .ms_hang = 1 },
	};
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r = req_for(m, HTTP_GET, "/");
	struct event	*cancel, *tick;
	struct timeval	 tv = { 0, 200000 }, tv2 = { 0, 20000 };
	char		*cause = NULL;
	int		 ticks = 0;

	/* Other events keep firing while the request runs. */
	cancel = evtimer_new(mock_base, cancel_cb, mock_ctx);
	evtimer_add(cancel, &tv);
	tick = event_new(mock_base, -1, EV_PERSIST, tick_cb, &ticks);
	event_add(tick, &tv2);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), -1);
	ck_assert_int_eq(http_outcome(r), HTTP_ECANCEL);
	ck_assert_str_eq(cause, "cancelled");
	ck_assert_int_gt(ticks, 0);
	free(cause);
	event_free(cancel);
	event_free(tick);
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

static void
done_cb(struct http_req *r, void *arg)
{
	(*(int *)arg)++;
	http_req_free(&r);
}

/* What backoff_cb waits for: one request done, the other in backoff. */
struct backoff_wait {
	struct http_ctx	*bw_ctx;
	struct http_req	*bw_req;	/* the one that gets a 429 */
	int		*bw_done;
	int		 bw_cancelled;
};

/* Cancel everything once the other request is done and bw_req waits. */
static void
backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backoff_wait	*bw = arg;

	if (bw->bw_cancelled || *bw->bw_done != 1 ||
	    http_status(bw->bw_req) != 429)
		return;
	bw->bw_cancelled = 1;
	http_ctx_cancel(bw->bw_ctx);
}

START_TEST(test_http_async_and_cancel_backoff)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/ok", .ms_status = 200 },
		{ .ms_path = "/bad", .ms_status = 429, .ms_headers =
		    "Retry-After: 30\n" },
	};
	static const struct http_retry	slow = { 5, 10, 10, 60000 };
	struct mock	*m = mock_start(steps, 2);
	struct http_req	*a = req_for(m, HTTP_GET, "/ok");
	struct http_req	*b = req_for(m, HTTP_GET, "/bad");
	struct event	*cancel;
	struct timeval	 tv = { 0, 10000 };
	int		 done = 0;
	struct backoff_wait bw = { mock_ctx, b, &done, 0 };

	/*
	 * Two at once; the second waits in backoff until cancelled, which
	 * is once the first is done and the second has had its 429 (not
	 * after a set time: under valgrind that may be too early).
	 */
	http_req_retry(b, &slow);
	ck_assert_int_eq(http_start(mock_ctx, a, done_cb, &done), 0);
	ck_assert_int_eq(http_start(mock_ctx, b, done_cb, &done), 0);
	ck_assert_int_eq(http_start(mock_ctx, b, done_cb, &done), -1);
	cancel = event_new(mock_base, -1, EV_PERSIST, backoff_cb, &bw);
	event_add(cancel, &tv);
	while (done < 2)
		event_base_loop(mock_base, EVLOOP_ONCE);
	ck_assert(bw.bw_cancelled);
	ck_assert_int_eq(mock_count(m), 2);
	event_free(cancel);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_log_hides_headers)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 401, .ms_body = "{\"message\":\"no\"}" },
	};
	FILE		*f = mock_capture_log();
	struct mock	*m = mock_start(steps, 1);
	struct http_req	*r = req_for(m, HTTP_POST, "/v2/sandboxes");
	char		*cause = NULL, *text;

	http_req_header(r, "X-API-Key", "hdr-value-never-logged");
	http_req_body(r, "application/json", "body-never-logged", 17);
	ck_assert_int_eq(http_run(mock_ctx, r, &cause), 0);
	text = mock_captured(f);
	ck_assert_msg(strstr(text, "POST /v2/sandboxes: 401") != NULL,
	    "log: %s", text);
	ck_assert_ptr_null(strstr(text, "never-logged"));
	free(text);
	http_req_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(test_http_retry_delay)
{
	struct http_retry	p = { 10, 100, 1000, 10000 };
	struct http_try		t;

	memset(&t, 0, sizeof(t));
	t.ht_attempt = 1;
	t.ht_status = 503;
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), 0);
	ck_assert_int_eq(http_retry_delay(&p, &t, 100), 100);
	ck_assert_int_eq(http_retry_delay(&p, &t, 101), 0);
	/* The ceiling doubles per attempt and stops at rt_max_ms. */
	t.ht_attempt = 3;
	ck_assert_int_eq(http_retry_delay(&p, &t, 400), 400);
	ck_assert_int_eq(http_retry_delay(&p, &t, 401), 0);
	t.ht_attempt = 4;
	ck_assert_int_eq(http_retry_delay(&p, &t, 800), 800);
	ck_assert_int_eq(http_retry_delay(&p, &t, 801), 0);
	t.ht_attempt = 9;
	ck_assert_int_eq(http_retry_delay(&p, &t, 999), 999);
	ck_assert_int_eq(http_retry_delay(&p, &t, 1001), 0);
	/* Out of attempts. */
	t.ht_attempt = 10;
	ck_assert_int_eq(http_retry_delay(&p, &t, 1), -1);
	/* Past the total. */
	t.ht_attempt = 2;
	t.ht_elapsed_ms = 9950;
	ck_assert_int_eq(http_retry_delay(&p, &t, 100), -1);
	t.ht_elapsed_ms = 0;
	/* 429: Retry-After wins; a date or junk falls back to backoff. */
	t.ht_status = 429;
	t.ht_retry_after = "7";
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), 7000);
	t.ht_retry_after = "Wed, 21 Oct 2015 07:28:00 GMT";
	ck_assert_int_eq(http_retry_delay(&p, &t, 150), 150);
	t.ht_retry_after = "-3";
	ck_assert_int_eq(http_retry_delay(&p, &t, 150), 150);
	t.ht_retry_after = "20";
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), -1);
	/* Never: 4xx, 2xx; connection errors only if retryable. */
	t.ht_retry_after = NULL;
	t.ht_status = 404;
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), -1);
	t.ht_status = 200;
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), -1);
	t.ht_status = 0;
	ck_assert_int_eq(http_retry_delay(&p, &t, 0), -1);
	t.ht_neterr = 1;
	ck_assert_int_eq(http_retry_delay(&p, &t, 5), 5);
	ck_assert_int_eq(http_retry_delay(NULL, &t, 5), -1);
}
END_TEST

START_TEST(test_http_escape)
{
	char	*s;

	s = http_escape("skillbox_job=j-1 a/b&c~.");
	ck_assert_str_eq(s, "skillbox_job%3Dj-1%20a%2Fb%26c~.");
	free(s);
	s = http_escape("");
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_http_bad_header_is_a_bug)
{
	struct http_req	*r = http_req_new(HTTP_GET, "http://127.0.0.1:1/");

	http_req_header(r, "X-Token", "a\r\nInjected: 1");
}
END_TEST

Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("requests");
	TCase	*tr = tcase_create("retries");
	TCase	*tp = tcase_create("pure");

	tcase_add_checked_fixture(tc, mock_setup, mock_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_http_get_body_and_headers);
	tcase_add_test(tc, test_http_post_body_headers);
	tcase_add_test(tc, test_http_body_cap);
	tcase_add_test(tc, test_http_sink_stream);
	tcase_add_test(tc, test_http_sink_abort);
	tcase_add_test(tc, test_http_lowspeed);
	tcase_add_test(tc, test_http_cancel_while_running);
	tcase_add_test(tc, test_http_async_and_cancel_backoff);
	tcase_add_test(tc, test_http_log_hides_headers);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tr, mock_setup, mock_teardown);
	tcase_set_timeout(tr, 20);
	tcase_add_loop_test(tr, test_http_retry, 0,
	    sizeof(retry_cases) / sizeof(retry_cases[0]));
	tcase_add_test(tr, test_http_connect_refused_retried);
	suite_add_tcase(s, tr);

	tcase_set_timeout(tp, 5);
	tcase_add_test(tp, test_http_retry_delay);
	tcase_add_test(tp, test_http_escape);
	tcase_add_exit_test(tp, test_http_bad_header_is_a_bug, EX_SOFTWARE);
	suite_add_tcase(s, tp);
	return (s);
}
