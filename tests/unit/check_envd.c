/*
 * worker/envd: the process stream reader fed byte sequences split in
 * every way, then the calls against a scripted server: Start and Connect
 * streams (dropped, refused, cancelled), signals, upload, download with
 * caps and ranges, health, and where envd is.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "base64.h"
#include "buf.h"
#include "e2b.h"
#include "envd.h"
#include "envelope.h"
#include "http.h"
#include "json.h"
#include "mock_http.h"
#include "redact.h"
#include "xmalloc.h"
#include "check_worker.h"

#define TOKEN	"tok-0123456789abcdef"


/* What a process printed, as the callbacks saw it. */
struct out {
	struct buf	o_stdout;
	struct buf	o_stderr;
	int		o_starts;
	int64_t		o_pid;
	int		o_stop_at;	/* stdout call saying stop, or 0 */
	int		o_calls;
};

static void
out_start(void *arg, int64_t pid)
{
	struct out	*o = arg;

	o->o_starts++;
	o->o_pid = pid;
}

static int
out_stdout(void *arg, const char *p, size_t len)
{
	struct out	*o = arg;

	ck_assert_int_eq(buf_add(&o->o_stdout, p, len), 0);
	return (++o->o_calls == o->o_stop_at ? -1 : 0);
}

static int
out_stderr(void *arg, const char *p, size_t len)
{
	struct out	*o = arg;

	ck_assert_int_eq(buf_add(&o->o_stderr, p, len), 0);
	return (0);
}

static void
out_init(struct out *o, struct envd_io *io)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->o_stdout, 64 << 20);
	buf_init(&o->o_stderr, 64 << 20);
	io->io_start = out_start;
	io->io_stdout = out_stdout;
	io->io_stderr = out_stderr;
	io->io_arg = o;
}

static void
out_free(struct out *o)
{
	buf_free(&o->o_stdout);
	buf_free(&o->o_stderr);
}

/* Append one envelope holding json. */
static void
frame(struct buf *b, uint8_t flags, const char *json)
{
	ck_assert_int_eq(env_encode_checked(b, flags, json, strlen(json)), 0);
}

/* Append a data event carrying text on fd ("stdout" or "stderr"). */
static void
data_frame(struct buf *b, const char *fd, const char *text)
{
	struct buf	b64, json;

	buf_init(&b64, 1 << 20);
	buf_init(&json, 2 << 20);
	ck_assert_int_eq(base64_encode(&b64, text, strlen(text)), 0);
	(void)buf_printf(&json, "{\"event\":{\"data\":{\"%s\":\"%s\"}}}", fd,
	    buf_str(&b64));
	frame(b, 0, buf_str(&json));
	buf_free(&b64);
	buf_free(&json);
}

/* A whole, typical stream: start, output, keepalive, end, trailer. */
static void
typical_stream(struct buf *b)
{
	buf_init(b, 1 << 20);
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":42}}}");
	data_frame(b, "stdout", "hello ");
	data_frame(b, "stderr", "oops");
	frame(b, 0, "{\"event\":{\"keepalive\":{}}}");
	data_frame(b, "stdout", "world\n");
	frame(b, 0, "{\"event\":{\"future\":{\"x\":1}}}");
	frame(b, 0, "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,"
	    "\"status\":\"exit status 3\",\"error\":\"exit status 3\"}}}");
	frame(b, ENV_FLAG_END, "{}");
}

/* Check what reading the typical stream must give. */
static void
check_typical(const struct out *o, const struct envd_proc *pr)
{
	ck_assert_str_eq(buf_str(&o->o_stdout), "hello world\n");
	ck_assert_str_eq(buf_str(&o->o_stderr), "oops");
	ck_assert_int_eq(o->o_starts, 1);
	ck_assert_int_eq(o->o_pid, 42);
	ck_assert_int_eq(pr->pr_pid, 42);
	ck_assert_int_eq(pr->pr_exit_code, 3);
	ck_assert_int_eq(pr->pr_exited, 1);
	ck_assert_str_eq(pr->pr_status, "exit status 3");
	ck_assert_str_eq(pr->pr_error, "exit status 3");
	ck_assert_uint_eq(pr->pr_stdout, 12);
	ck_assert_uint_eq(pr->pr_stderr, 4);
	ck_assert_uint_eq(pr->pr_keepalives, 1);
	ck_assert_int_eq(pr->pr_end, ENVD_EXITED);
}

/* Feed bytes in pieces cut at the given offsets, then finish. */
static int
feed_split(const struct buf *b, const size_t *cuts, size_t ncuts,
    struct out *o, struct envd_proc *pr, char **cause)
{
	struct envd_io		 io;
	struct envd_stream	*st;
	size_t			 i, from = 0, to;
	int			 rv = 0;

	out_init(o, &io);
	memset(pr, 0, sizeof(*pr));
	st = envd_stream_new(&io, pr);
	for (i = 0; i <= ncuts && rv == 0; i++) {
		to = i < ncuts ? cuts[i] : buf_len(b);
		rv = envd_stream_feed(st, buf_str(b) + from, to - from, cause);
		from = to;
	}
	if (rv == 0)
		rv = envd_stream_finish(st, cause);
	else if (pr->pr_end == ENVD_RUNNING)
		pr->pr_end = ENVD_FAILED;
	envd_stream_free(&st);
	return (rv);
}

START_TEST(test_stream_split_everywhere)
{
	struct buf		 b;
	struct out		 o;
	struct envd_proc	 pr;
	size_t			 cuts[2], len;
	char			*cause = NULL;

	typical_stream(&b);
	len = buf_len(&b);
	/* Every way to cut the stream in three pieces. */
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1] += 3) {
			ck_assert_msg(feed_split(&b, cuts, 2, &o, &pr,
			    &cause) == 0, "cut %zu/%zu: %s", cuts[0], cuts[1],
			    cause);
			check_typical(&o, &pr);
			out_free(&o);
			envd_proc_clear(&pr);
		}
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_stream_byte_at_a_time)
{
	struct buf		 b;
	struct out		 o;
	struct envd_proc	 pr;
	size_t			*cuts, i, len;
	char			*cause = NULL;

	typical_stream(&b);
	len = buf_len(&b);
	cuts = xreallocarray(NULL, len, sizeof(*cuts));
	for (i = 0; i < len; i++)
		cuts[i] = i;
	ck_assert_int_eq(feed_split(&b, cuts, len, &o, &pr, &cause), 0);
	check_typical(&o, &pr);
	out_free(&o);
	envd_proc_clear(&pr);
	free(cuts);
	buf_free(&b);
}
END_TEST

/* A stream that must end in a given way. */
struct bad_stream {
	const char	*bs_name;
	void		(*bs_build)(struct buf *);
	int		 bs_rv;
	enum envd_end	 bs_end;
	const char	*bs_want;	/* in the cause */
};

static void
build_zero_fields(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{}}}");
	frame(b, 0, "{\"event\":{\"end\":{}}}");
	frame(b, ENV_FLAG_END, "{}");
}

static void
build_trailer_error(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	frame(b, 0, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":"
	    "\"signal: killed\"}}}");
	frame(b, ENV_FLAG_END, "{\"error\":{\"code\":\"deadline_exceeded\","
	    "\"message\":\"context deadline exceeded\"}}");
}

static void
build_truncated(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	data_frame(b, "stdout", "partial line");
	buf_truncate(b, buf_len(b) - 5);
}

static void
build_no_trailer(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	frame(b, 0, "{\"event\":{\"end\":{\"exited\":true}}}");
}

static void
build_no_end(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	frame(b, ENV_FLAG_END, "{}");
}

static void
build_bad_json(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":");
}

static void
build_no_event(struct buf *b)
{
	frame(b, 0, "{\"result\":{}}");
}

static void
build_bad_base64(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"data\":{\"stdout\":\"!!!!\"}}}");
}

static void
build_compressed(struct buf *b)
{
	frame(b, ENV_FLAG_COMPRESSED, "{}");
}

static void
build_oversized(struct buf *b)
{
	static const unsigned char hdr[] = { 0, 0x7f, 0xff, 0xff, 0xff };

	(void)buf_add(b, hdr, sizeof(hdr));
}

static void
build_bad_pid(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"start\":{\"pid\":\"x\"}}}");
}

static void
build_bad_trailer(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"end\":{}}}");
	frame(b, ENV_FLAG_END, "{\"error\":\"x\"}");
}

static void
build_after_trailer(struct buf *b)
{
	frame(b, 0, "{\"event\":{\"end\":{}}}");
	frame(b, ENV_FLAG_END, "{}");
	frame(b, 0, "{\"event\":{\"keepalive\":{}}}");
}

static void
build_stop(struct buf *b)
{
	data_frame(b, "stdout", "one");
	data_frame(b, "stdout", "two");
	data_frame(b, "stdout", "three");
}

static const struct bad_stream bad_streams[] = {
	{ "zero fields", build_zero_fields, 0, ENVD_EXITED, NULL },
	{ "trailer error", build_trailer_error, -1, ENVD_FAILED,
	    "envd: deadline_exceeded: context deadline exceeded" },
	{ "truncated", build_truncated, -1, ENVD_DROPPED,
	    "ended early: truncated envelope" },
	{ "no trailer", build_no_trailer, 0, ENVD_EXITED, NULL },
	{ "no end", build_no_end, -1, ENVD_FAILED, "without an end event" },
	{ "bad json", build_bad_json, -1, ENVD_FAILED, "bad event" },
	{ "no event", build_no_event, -1, ENVD_FAILED, "event: is required" },
	{ "bad base64", build_bad_base64, -1, ENVD_FAILED, "bad base64" },
	{ "compressed", build_compressed, -1, ENVD_FAILED, "compressed" },
	{ "oversized", build_oversized, -1, ENVD_FAILED, "exceeds the limit" },
	{ "bad pid", build_bad_pid, -1, ENVD_FAILED, "event.start.pid" },
	{ "bad trailer", build_bad_trailer, -1, ENVD_FAILED,
	    "bad end of stream" },
	{ "after trailer", build_after_trailer, -1, ENVD_FAILED,
	    "after the end-of-stream" },
};

START_TEST(test_stream_endings)
{
	const struct bad_stream	*bs = &bad_streams[_i];
	struct buf		 b;
	struct out		 o;
	struct envd_proc	 pr;
	char			*cause = NULL;
	int			 rv;

	buf_init(&b, 1 << 20);
	bs->bs_build(&b);
	rv = feed_split(&b, NULL, 0, &o, &pr, &cause);
	ck_assert_msg(rv == bs->bs_rv, "%s: rv %d", bs->bs_name, rv);
	ck_assert_msg(pr.pr_end == bs->bs_end, "%s: end %d", bs->bs_name,
	    pr.pr_end);
	if (bs->bs_want != NULL)
		ck_assert_msg(cause != NULL && strstr(cause, bs->bs_want) !=
		    NULL, "%s: cause %s", bs->bs_name, cause);
	if (bs->bs_build == build_trailer_error) {
		ck_assert_str_eq(pr.pr_code, "deadline_exceeded");
		ck_assert_int_eq(pr.pr_exit_code, -1);
	}
	if (bs->bs_build == build_zero_fields) {
		ck_assert_int_eq(pr.pr_pid, 0);
		ck_assert_int_eq(pr.pr_exit_code, 0);
		ck_assert_int_eq(pr.pr_exited, 0);
		ck_assert_ptr_null(pr.pr_status);
	}
	free(cause);
	out_free(&o);
	envd_proc_clear(&pr);
	buf_free(&b);
}
END_TEST

START_TEST(test_stream_stop)
{
	struct buf		 b;
	struct envd_io		 io;
	struct envd_stream	*st;
	struct out		 o;
	struct envd_proc	 pr;
	char			*cause = NULL;

	buf_init(&b, 1 << 20);
	build_stop(&b);
	out_init(&o, &io);
	o.o_stop_at = 2;
	memset(&pr, 0, sizeof(pr));
	st = envd_stream_new(&io, &pr);
	ck_assert_int_eq(envd_stream_feed(st, buf_str(&b), buf_len(&b),
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "stdout reader stopped"));
	ck_assert_str_eq(buf_str(&o.o_stdout), "onetwo");
	ck_assert_uint_eq(pr.pr_stdout, 6);
	free(cause);
	envd_stream_free(&st);
	out_free(&o);
	buf_free(&b);
}
END_TEST

/* An envd client on the mock, as E2B_SANDBOX_URL makes it. */
static struct envd *
client(struct mock *m)
{
	struct envd	*nv;
	char		*cause = NULL;

	setenv("E2B_SANDBOX_URL", mock_url(m), 1);
	nv = envd_new(mock_ctx, "isandbox1", TOKEN, NULL, &cause);
	ck_assert_msg(nv != NULL, "%s", cause);
	return (nv);
}

/* The JSON message inside the envelope of recorded request i. */
static struct json_object *
sent_message(struct mock *m, int i)
{
	struct json_object	*o;
	char			*body, *cause = NULL;
	size_t			 len;

	body = mock_req_body(mock_request(m, i), &len);
	ck_assert_uint_ge(len, ENV_HDRLEN);
	ck_assert_int_eq(body[0], 0);
	o = json_parse(body + ENV_HDRLEN, len - ENV_HDRLEN, &cause);
	ck_assert_msg(o != NULL, "%s", cause);
	free(body);
	return (o);
}

START_TEST(test_envd_run)
{
	static struct mock_step	 st = { .ms_path = "/process.Process/Start",
	    .ms_status = 200, .ms_headers =
	    "Content-Type: application/connect+json\n", .ms_chunk = 7,
	    .ms_delay_ms = 1 };
	static const char *const args[] = { "-l", "-c", "echo hi", NULL };
	struct buf		 b;
	struct mock		*m;
	struct envd		*nv;
	struct envd_cmd		 cm;
	struct envd_io		 io;
	struct envd_proc	 pr;
	struct out		 o;
	struct json_object	*rec, *msg, *proc, *envs;
	char			*cause = NULL, *text;
	FILE			*f = mock_capture_log();

	typical_stream(&b);
	st.ms_body = buf_str(&b);
	st.ms_bodylen = buf_len(&b);
	m = mock_start(&st, 1);
	nv = client(m);
	envs = json_object_new_object();
	json_add_string(envs, "A", "1");
	memset(&cm, 0, sizeof(cm));
	cm.cm_cmd = "/bin/bash";
	cm.cm_args = args;
	cm.cm_envs = envs;
	cm.cm_cwd = "/home/user/repo";
	cm.cm_tag = "job";
	cm.cm_user = "root";
	cm.cm_timeout_ms = 60000;
	out_init(&o, &io);
	memset(&pr, 0, sizeof(pr));
	ck_assert_msg(envd_run(nv, &cm, &io, &pr, &cause) == 0, "%s", cause);
	check_typical(&o, &pr);
	ck_assert_int_eq(pr.pr_streams, 1);

	rec = mock_request(m, 0);
	ck_assert_str_eq(mock_req_header(rec, "x-access-token"), TOKEN);
	ck_assert_str_eq(mock_req_header(rec, "e2b-sandbox-id"), "isandbox1");
	ck_assert_str_eq(mock_req_header(rec, "e2b-sandbox-port"), "49983");
	ck_assert_str_eq(mock_req_header(rec, "content-type"),
	    "application/connect+json");
	ck_assert_str_eq(mock_req_header(rec, "connect-protocol-version"), "1");
	ck_assert_str_eq(mock_req_header(rec, "keepalive-ping-interval"), "30");
	ck_assert_str_eq(mock_req_header(rec, "connect-timeout-ms"), "60000");
	ck_assert_str_eq(mock_req_header(rec, "authorization"),
	    "Basic cm9vdDo=");
	msg = sent_message(m, 0);
	ck_assert_str_eq(json_peek_string(msg, "tag"), "job");
	ck_assert(!json_object_get_boolean(json_object_object_get(msg,
	    "stdin")));
	ck_assert(json_object_object_get_ex(msg, "process", &proc));
	ck_assert_str_eq(json_peek_string(proc, "cmd"), "/bin/bash");
	ck_assert_str_eq(json_peek_string(proc, "cwd"), "/home/user/repo");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    json_object_object_get(proc, "args"), 2)), "echo hi");
	ck_assert_str_eq(json_peek_string(json_object_object_get(proc,
	    "envs"), "A"), "1");
	text = mock_captured(f);
	ck_assert_ptr_null(strstr(text, TOKEN));
	ck_assert_ptr_nonnull(strstr(text, "POST /process.Process/Start: 200"));
	free(text);
	json_object_put(msg);
	json_object_put(envs);
	envd_proc_clear(&pr);
	out_free(&o);
	envd_free(&nv);
	mock_stop(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_envd_run_dropped_then_attach)
{
	static struct mock_step	 steps[] = {
		{ .ms_path = "/process.Process/Start", .ms_status = 200,
		    .ms_headers = "Content-Type: application/connect+json\n",
		    .ms_chunk = 5, .ms_delay_ms = 1, .ms_drop = 1 },
		{ .ms_path = "/process.Process/Connect", .ms_status = 200,
		    .ms_headers = "Content-Type: application/connect+json\n" },
	};
	struct buf		 first, second;
	struct mock		*m;
	struct envd		*nv;
	struct envd_cmd		 cm = { .cm_cmd = "/bin/true",
	    .cm_tag = "job" };
	struct envd_io		 io;
	struct envd_proc	 pr;
	struct out		 o;
	struct json_object	*msg;
	char			*cause = NULL;

	/* The first stream breaks in the middle of its second frame. */
	buf_init(&first, 1 << 20);
	frame(&first, 0, "{\"event\":{\"start\":{\"pid\":9}}}");
	data_frame(&first, "stdout", "before ");
	steps[0].ms_body = buf_str(&first);
	steps[0].ms_bodylen = buf_len(&first);
	steps[0].ms_drop_at = buf_len(&first) - 4;
	buf_init(&second, 1 << 20);
	frame(&second, 0, "{\"event\":{\"start\":{\"pid\":9}}}");
	data_frame(&second, "stdout", "after\n");
	frame(&second, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":"
	    "\"exit status 0\"}}}");
	frame(&second, ENV_FLAG_END, "{}");
	steps[1].ms_body = buf_str(&second);
	steps[1].ms_bodylen = buf_len(&second);
	m = mock_start(steps, 2);
	nv = client(m);
	out_init(&o, &io);
	memset(&pr, 0, sizeof(pr));
	ck_assert_int_eq(envd_run(nv, &cm, &io, &pr, &cause), -1);
	ck_assert_int_eq(pr.pr_end, ENVD_DROPPED);
	ck_assert_msg(strstr(cause, "the stream broke") != NULL, "%s", cause);
	ck_assert_int_eq(pr.pr_pid, 9);
	ck_assert_uint_eq(pr.pr_stdout, 0);
	free(cause);

	ck_assert_msg(envd_attach(nv, "job", 0, 0, &io, &pr, &cause) == 0,
	    "%s", cause);
	ck_assert_int_eq(pr.pr_end, ENVD_EXITED);
	ck_assert_int_eq(pr.pr_streams, 2);
	ck_assert_uint_eq(pr.pr_stdout, 6);
	ck_assert_str_eq(buf_str(&o.o_stdout), "after\n");
	msg = sent_message(m, 1);
	ck_assert_str_eq(json_object_to_json_string_ext(msg,
	    JSON_C_TO_STRING_PLAIN), "{\"process\":{\"tag\":\"job\"}}");
	json_object_put(msg);
	envd_proc_clear(&pr);
	out_free(&o);
	envd_free(&nv);
	mock_stop(&m);
	buf_free(&first);
	buf_free(&second);
}
END_TEST

/* A Start answered without a stream must fail with want in the cause. */
struct refusal {
	int		 rf_status;
	const char	*rf_headers;
	const char	*rf_body;
	const char	*rf_code;
	const char	*rf_want;
};

static const struct refusal refusals[] = {
	{ 502, "Content-Type: application/json\n", "{\"sandboxId\":\"i\","
	    "\"message\":\"The sandbox was not found\",\"code\":502}",
	    "unavailable", "envd: Start: unavailable (HTTP 502): The sandbox "
	    "was not found" },
	{ 400, "Content-Type: application/json\n", "{\"code\":"
	    "\"invalid_argument\",\"message\":\"cwd '/x' does not exist\"}",
	    "invalid_argument", "invalid_argument (HTTP 400): cwd '/x'" },
	{ 401, NULL, "unauthorized", "unauthenticated",
	    "unauthenticated (HTTP 401): unauthorized" },
	{ 200, "Content-Type: application/json\n", "{}", NULL,
	    "expected application/connect+json, got application/json" },
	{ 200, "Content-Type: text/html\n", "", NULL,
	    "expected application/connect+json, got text/html" },
};

START_TEST(test_envd_run_refused)
{
	const struct refusal	*rf = &refusals[_i];
	struct mock_step	 st;
	struct mock		*m;
	struct envd		*nv;
	struct envd_cmd		 cm = { .cm_cmd = "/bin/true" };
	struct envd_proc	 pr;
	char			*cause = NULL;

	memset(&st, 0, sizeof(st));
	st.ms_status = rf->rf_status;
	st.ms_headers = rf->rf_headers;
	st.ms_body = rf->rf_body;
	m = mock_start(&st, 1);
	nv = client(m);
	memset(&pr, 0, sizeof(pr));
	ck_assert_int_eq(envd_run(nv, &cm, NULL, &pr, &cause), -1);
	ck_assert_int_eq(pr.pr_end, ENVD_FAILED);
	ck_assert_msg(strstr(cause, rf->rf_want) != NULL, "cause: %s", cause);
	if (rf->rf_code != NULL)
		ck_assert_str_eq(pr.pr_code, rf->rf_code);
	free(cause);
	envd_proc_clear(&pr);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

static void
cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	envd_cancel(arg);
}

START_TEST(test_envd_run_cancel_and_lowspeed)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 200, .ms_headers =
		    "Content-Type: application/connect+json\n", .ms_hang = 1 },
	};
	struct mock		*m = mock_start(steps, 1);
	struct envd		*nv = client(m);
	struct envd_cmd		 cm = { .cm_cmd = "/bin/sleep" };
	struct envd_proc	 pr;
	struct event		*ev;
	struct timeval		 tv = { 0, 200000 };
	char			*cause = NULL;

	ev = evtimer_new(mock_base, cancel_cb, nv);
	evtimer_add(ev, &tv);
	memset(&pr, 0, sizeof(pr));
	ck_assert_int_eq(envd_run(nv, &cm, NULL, &pr, &cause), -1);
	ck_assert_int_eq(pr.pr_end, ENVD_CANCELLED);
	ck_assert_str_eq(cause, "envd: Start: cancelled");
	free(cause);
	event_free(ev);
	envd_cancel(nv);	/* nothing in flight: no effect */

	/* Silence past three keepalive intervals breaks the stream. */
	cm.cm_keepalive_s = 1;
	ck_assert_int_eq(envd_run(nv, &cm, NULL, &pr, &cause), -1);
	ck_assert_int_eq(pr.pr_end, ENVD_DROPPED);
	ck_assert_ptr_nonnull(strstr(cause, "too slow"));
	free(cause);
	envd_proc_clear(&pr);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

START_TEST(test_envd_keepalives_hold_a_silent_stream)
{
	static struct mock_step	 st = { .ms_status = 200, .ms_headers =
	    "Content-Type: application/connect+json\n", .ms_delay_ms = 1000 };
	struct buf		 b;
	struct mock		*m;
	struct envd		*nv;
	struct envd_cmd		 cm = { .cm_cmd = "/bin/sleep",
	    .cm_keepalive_s = 1 };
	struct envd_proc	 pr;
	char			*cause = NULL;
	int			 i;

	/*
	 * Five seconds without output, but about a keepalive a second: past
	 * the low-speed window of three intervals, and the stream survives.
	 */
	buf_init(&b, 4096);
	st.ms_chunk = 64;
	frame(&b, 0, "{\"event\":{\"start\":{\"pid\":5}}}");
	for (i = 0; i < 6; i++)
		frame(&b, 0, "{\"event\":{\"keepalive\":{}}}");
	frame(&b, 0, "{\"event\":{\"end\":{\"exited\":true}}}");
	frame(&b, ENV_FLAG_END, "{}");
	st.ms_body = buf_str(&b);
	st.ms_bodylen = buf_len(&b);
	m = mock_start(&st, 1);
	nv = client(m);
	memset(&pr, 0, sizeof(pr));
	ck_assert_msg(envd_run(nv, &cm, NULL, &pr, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(pr.pr_keepalives, 6);
	ck_assert_str_eq(mock_req_header(mock_request(m, 0),
	    "keepalive-ping-interval"), "1");
	envd_proc_clear(&pr);
	envd_free(&nv);
	mock_stop(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_envd_signal)
{
	static const struct mock_step	steps[] = {
		{ .ms_times = 1, .ms_status = 200, .ms_body = "{}" },
		{ .ms_times = 1, .ms_status = 404, .ms_body = "{\"code\":"
		    "\"not_found\",\"message\":\"no process with pid 9\"}" },
		{ .ms_status = 401, .ms_body = "{\"code\":401}" },
	};
	struct mock		*m = mock_start(steps, 3);
	struct envd		*nv = client(m);
	struct json_object	*rec, *o;
	char			*cause = NULL, *body;
	size_t			 len;

	ck_assert_int_eq(envd_signal(nv, 9, SIGKILL, &cause), 0);
	rec = mock_request(m, 0);
	ck_assert_str_eq(json_peek_string(rec, "uri"),
	    "/process.Process/SendSignal");
	ck_assert_str_eq(mock_req_header(rec, "content-type"),
	    "application/json");
	body = mock_req_body(rec, &len);
	o = json_parse(body, len, &cause);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"process\":{\"pid\":9},\"signal\":"
	    "\"SIGNAL_SIGKILL\"}");
	json_object_put(o);
	free(body);
	ck_assert_int_eq(envd_signal(nv, 9, SIGTERM, &cause), 1);
	ck_assert_int_eq(envd_signal(nv, 9, SIGTERM, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "unauthenticated (HTTP 401)"));
	free(cause);
	ck_assert_int_eq(envd_signal(nv, 9, SIGHUP, &cause), -1);
	free(cause);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

START_TEST(test_envd_upload)
{
	static const struct mock_step	steps[] = {
		{ .ms_times = 1, .ms_path = "/files", .ms_status = 200,
		    .ms_body = "[{\"path\":\"/home/user/x.tgz\"}]" },
		{ .ms_path = "/files", .ms_status = 507, .ms_body =
		    "{\"code\":507,\"message\":\"not enough disk space\"}" },
	};
	struct mock		*m = mock_start(steps, 2);
	struct envd		*nv = client(m);
	struct json_object	*rec;
	char			*data, *got, *cause = NULL;
	size_t			 len = 3 * 1024 * 1024 + 17, i, glen;

	data = xmalloc(len);
	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7 + i / 251);
	ck_assert_msg(envd_upload(nv, "/home/user/x y.tgz", data, len,
	    &cause) == 0, "%s", cause);
	rec = mock_request(m, 0);
	ck_assert_str_eq(json_peek_string(rec, "uri"),
	    "/files?path=%2Fhome%2Fuser%2Fx%20y.tgz");
	ck_assert_str_eq(mock_req_header(rec, "content-type"),
	    "application/octet-stream");
	ck_assert_str_eq(mock_req_header(rec, "x-access-token"), TOKEN);
	ck_assert_ptr_null(mock_req_header(rec, "expect"));
	got = mock_req_body(rec, &glen);
	ck_assert_uint_eq(glen, len);
	ck_assert(memcmp(got, data, len) == 0);
	free(got);
	ck_assert_int_eq(envd_upload(nv, "/x", "a", 1, &cause), -1);
	ck_assert_str_eq(cause, "envd: upload of /x: unknown (HTTP 507): "
	    "not enough disk space");
	free(cause);
	free(data);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

START_TEST(test_envd_download)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/files", .ms_times = 3, .ms_status = 200,
		    .ms_body = "0123456789", .ms_ranged = 1 },
		/* A server that ignores Range. */
		{ .ms_path = "/files", .ms_times = 1, .ms_status = 200,
		    .ms_body = "0123456789" },
		{ .ms_path = "/files", .ms_times = 1, .ms_status = 404,
		    .ms_body = "{\"code\":404,\"message\":\"path '/n' does not "
		    "exist\"}" },
		{ .ms_path = "/files", .ms_times = 2, .ms_status = 200,
		    .ms_body = "0123456789" },
		{ .ms_path = "/files", .ms_status = 400, .ms_body =
		    "{\"code\":400,\"message\":\"path is a directory\"}" },
	};
	struct mock	*m = mock_start(steps, 5);
	struct envd	*nv = client(m);
	struct buf	 b;
	char		*cause = NULL;

	buf_init(&b, 1024);
	ck_assert_int_eq(envd_download(nv, "/r.json", 0, 100, &b, &cause), 0);
	ck_assert_str_eq(buf_str(&b), "0123456789");
	ck_assert_ptr_null(mock_req_header(mock_request(m, 0), "range"));
	buf_reset(&b);
	ck_assert_int_eq(envd_download(nv, "/r.json", 6, 100, &b, &cause), 0);
	ck_assert_str_eq(buf_str(&b), "6789");
	ck_assert_str_eq(mock_req_header(mock_request(m, 1), "range"),
	    "bytes=6-");
	buf_reset(&b);
	ck_assert_int_eq(envd_download(nv, "/r.json", 10, 100, &b, &cause), 0);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_int_eq(envd_download(nv, "/r.json", 7, 100, &b, &cause), 0);
	ck_assert_str_eq(buf_str(&b), "789");
	buf_reset(&b);
	ck_assert_int_eq(envd_download(nv, "/n", 0, 100, &b, &cause), 1);
	/* The cap, from Content-Length and from the bytes themselves. */
	ck_assert_int_eq(envd_download(nv, "/r.json", 0, 9, &b, &cause), -1);
	ck_assert_str_eq(cause, "envd: download of /r.json: 10 bytes exceed "
	    "the cap of 9 bytes");
	free(cause);
	ck_assert_int_eq(envd_download(nv, "/r.json", 0, 10, &b, &cause), 0);
	ck_assert_int_eq(envd_download(nv, "/d", 0, 10, &b, &cause), -1);
	ck_assert_str_eq(cause, "envd: download of /d: internal (HTTP 400): "
	    "path is a directory");
	free(cause);
	buf_free(&b);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

START_TEST(test_envd_download_fd)
{
	static const struct mock_step	steps[] = {
		{ .ms_path = "/files", .ms_status = 200, .ms_body =
		    "line one\nline two\n", .ms_chunk = 4, .ms_delay_ms = 1,
		    .ms_ranged = 1 },
	};
	struct mock	*m = mock_start(steps, 1);
	struct envd	*nv = client(m);
	FILE		*f = tmpfile();
	uint64_t	 n = 0;
	char		 text[64], *cause = NULL;
	size_t		 got;

	ck_assert_int_eq(envd_download_fd(nv, "/out.jsonl", 5, 1000,
	    fileno(f), &n, &cause), 0);
	ck_assert_uint_eq(n, 13);
	rewind(f);
	got = fread(text, 1, sizeof(text) - 1, f);
	text[got] = '\0';
	ck_assert_str_eq(text, "one\nline two\n");
	ck_assert_int_eq(envd_download_fd(nv, "/out.jsonl", 0, 5, fileno(f),
	    &n, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "cap of 5 bytes"));
	free(cause);
	fclose(f);
	envd_free(&nv);
	mock_stop(&m);
}
END_TEST

START_TEST(test_envd_health)
{
	static const struct mock_step	steps[] = {
		{ .ms_times = 1, .ms_path = "/health", .ms_status = 204 },
		{ .ms_times = 1, .ms_path = "/health", .ms_status = 502,
		    .ms_body = "{\"sandboxId\":\"isandbox1\",\"message\":"
		    "\"The sandbox was not found\",\"code\":502}" },
		{ .ms_path = "/health", .ms_status = 500 },
	};
	struct mock	*m = mock_start(steps, 3);
	struct envd	*nv = client(m);
	char		*cause = NULL;

	ck_assert_int_eq(envd_health(nv, &cause), 0);
	ck_assert_int_eq(envd_health(nv, &cause), 1);
	ck_assert_ptr_nonnull(strstr(cause, "The sandbox was not found"));
	free(cause);
	ck_assert_int_eq(envd_health(nv, &cause), -1);
	free(cause);
	mock_stop(&m);
	ck_assert_int_eq(envd_health(nv, &cause), -1);
	free(cause);
	envd_free(&nv);
}
END_TEST

START_TEST(test_envd_where)
{
	struct envd	*nv;
	char		*cause = NULL, *s;

	nv = envd_new(mock_ctx, "iabc", NULL, "e2b.dev", &cause);
	ck_assert_str_eq(envd_url(nv), "https://49983-iabc.e2b.dev");
	envd_free(&nv);
	nv = envd_new(mock_ctx, "iabc", NULL, NULL, &cause);
	ck_assert_str_eq(envd_url(nv), "https://49983-iabc.e2b.app");
	envd_free(&nv);
	setenv("E2B_DOMAIN", "example.test", 1);
	nv = envd_new(mock_ctx, "iabc", NULL, NULL, &cause);
	ck_assert_str_eq(envd_url(nv), "https://49983-iabc.example.test");
	envd_free(&nv);
	setenv("E2B_SANDBOX_URL", "http://127.0.0.1:5/", 1);
	nv = envd_new(mock_ctx, "iabc", TOKEN, NULL, &cause);
	ck_assert_str_eq(envd_url(nv), "http://127.0.0.1:5");
	envd_free(&nv);
	s = redact("t=" TOKEN);
	ck_assert_str_eq(s, "t=[REDACTED]");
	free(s);
	ck_assert_ptr_null(envd_new(mock_ctx, "i/../x", NULL, NULL, &cause));
	free(cause);
	ck_assert_ptr_null(envd_new(mock_ctx, "iabc", "a\nb", NULL, &cause));
	free(cause);
	setenv("E2B_SANDBOX_URL", "file:///x", 1);
	ck_assert_ptr_null(envd_new(mock_ctx, "iabc", NULL, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "E2B_SANDBOX_URL"));
	free(cause);
	unsetenv("E2B_SANDBOX_URL");
	ck_assert_ptr_null(envd_new(mock_ctx, "iabc", NULL, "bad/domain",
	    &cause));
	free(cause);
}
END_TEST

/* What the asynchronous calls reported. */
struct async_seen {
	int	as_calls;
	int	as_rv[4];
};

static void
async_cb(int rv, const char *cause, void *arg)
{
	struct async_seen	*as = arg;

	if (as->as_calls < 4)
		as->as_rv[as->as_calls] = rv;
	as->as_calls++;
}

struct midstream {
	struct envd		*ms_envd;
	struct async_seen	 ms_seen;
	int			 ms_fired;
};

/* A timer in the middle of a stream: refresh the timeout, stop the agent. */
static void
midstream_cb(evutil_socket_t fd, short what, void *arg)
{
	struct midstream	*ms = arg;
	struct e2b		*e;
	char			*cause = NULL;

	ms->ms_fired = 1;
	e = e2b_new(mock_ctx, "e2b_midstream_key_0123", &cause);
	ck_assert_int_eq(e2b_set_timeout_async(e, "isandbox1", 900, async_cb,
	    &ms->ms_seen, &cause), 0);
	ck_assert_int_eq(envd_signal_async(ms->ms_envd, 42, SIGTERM, async_cb,
	    &ms->ms_seen, &cause), 0);
	ck_assert_int_eq(envd_signal_async(ms->ms_envd, 42, SIGHUP, async_cb,
	    &ms->ms_seen, &cause), -1);
	free(cause);
	e2b_free(&e);
}

START_TEST(test_envd_calls_during_stream)
{
	static struct mock_step	 steps[] = {
		{ .ms_path = "/process.Process/Start", .ms_status = 200,
		    .ms_headers = "Content-Type: application/connect+json\n",
		    .ms_chunk = 16, .ms_delay_ms = 20 },
		{ .ms_path = "/sandboxes/isandbox1/timeout", .ms_status = 204 },
		{ .ms_path = "/process.Process/SendSignal", .ms_status = 200,
		    .ms_body = "{}" },
	};
	struct buf		 b;
	struct mock		*m;
	struct midstream	 ms;
	struct envd_cmd		 cm = { .cm_cmd = "/bin/true" };
	struct envd_io		 io;
	struct envd_proc	 pr;
	struct out		 o;
	struct event		*ev;
	struct timeval		 tv = { 0, 100000 };
	char			*cause = NULL;

	typical_stream(&b);
	steps[0].ms_body = buf_str(&b);
	steps[0].ms_bodylen = buf_len(&b);
	m = mock_start(steps, 3);
	setenv("E2B_API_URL", mock_url(m), 1);
	memset(&ms, 0, sizeof(ms));
	ms.ms_envd = client(m);
	ev = evtimer_new(mock_base, midstream_cb, &ms);
	evtimer_add(ev, &tv);
	out_init(&o, &io);
	memset(&pr, 0, sizeof(pr));
	ck_assert_msg(envd_run(ms.ms_envd, &cm, &io, &pr, &cause) == 0, "%s",
	    cause);
	check_typical(&o, &pr);
	/* Both calls ran beside the stream, before it ended. */
	ck_assert(ms.ms_fired);
	ck_assert_int_eq(ms.ms_seen.as_calls, 2);
	ck_assert_int_eq(ms.ms_seen.as_rv[0], 0);
	ck_assert_int_eq(ms.ms_seen.as_rv[1], 0);
	ck_assert_int_eq(mock_count(m), 3);
	event_free(ev);
	envd_proc_clear(&pr);
	out_free(&o);
	envd_free(&ms.ms_envd);
	mock_stop(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_envd_async_dropped_at_free)
{
	static const struct mock_step	steps[] = {
		{ .ms_status = 200, .ms_hang = 1 },
	};
	static struct async_seen	 as;
	struct mock	*m = mock_start(steps, 1);
	struct envd	*nv = client(m);
	char		*cause = NULL;

	/* Freed with the context, unfinished: no callback, no leak. */
	ck_assert_int_eq(envd_signal_async(nv, 1, SIGKILL, async_cb, &as,
	    &cause), 0);
	event_base_loop(mock_base, EVLOOP_NONBLOCK);
	envd_free(&nv);
	http_ctx_free(&mock_ctx);
	ck_assert_int_eq(as.as_calls, 0);
	mock_stop(&m);
}
END_TEST

Suite *
envd_suite(void)
{
	Suite	*s = suite_create("envd");
	TCase	*tp = tcase_create("stream");
	TCase	*tc = tcase_create("calls");

	tcase_set_timeout(tp, 60);
	tcase_add_test(tp, test_stream_split_everywhere);
	tcase_add_test(tp, test_stream_byte_at_a_time);
	tcase_add_loop_test(tp, test_stream_endings, 0,
	    sizeof(bad_streams) / sizeof(bad_streams[0]));
	tcase_add_test(tp, test_stream_stop);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tc, mock_setup, mock_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_envd_run);
	tcase_add_test(tc, test_envd_run_dropped_then_attach);
	tcase_add_loop_test(tc, test_envd_run_refused, 0,
	    sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(tc, test_envd_run_cancel_and_lowspeed);
	tcase_add_test(tc, test_envd_keepalives_hold_a_silent_stream);
	tcase_add_test(tc, test_envd_signal);
	tcase_add_test(tc, test_envd_upload);
	tcase_add_test(tc, test_envd_download);
	tcase_add_test(tc, test_envd_download_fd);
	tcase_add_test(tc, test_envd_health);
	tcase_add_test(tc, test_envd_where);
	tcase_add_test(tc, test_envd_calls_during_stream);
	tcase_add_test(tc, test_envd_async_dropped_at_free);
	suite_add_tcase(s, tc);
	return (s);
}
