/*
 * process.Process/Start and /Connect as Connect server streams: the
 * request is one envelope; the reply is HTTP 200 with the agent's events,
 * one envelope each, keepalive events after Keepalive-Ping-Interval idle
 * seconds, and the end-of-stream envelope.  Connect-Timeout-Ms bounds the
 * stream (and, for Start, the process's life, which the agent enforces).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "e2b-local.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define STREAM_CTYPE		"application/connect+json"
#define STREAM_KEEPALIVE	"{\"event\":{\"keepalive\":{}}}"

struct stream {
	struct call	*s_call;
	struct event	*s_keepalive;
	struct timeval	 s_interval;
	struct event	*s_deadline;
	int64_t		 s_drop_after;	/* -1: no fault armed */
	int64_t		 s_output;	/* process output bytes so far */
	struct event	*s_drop;	/* cuts the stream once sent */
};

/* The request envelope as it is decoded. */
struct stream_req {
	struct buf	 r_msg;
	int		 r_frames;
	int		 r_end;
};

static void	stream_open(struct request *, const char *);
static int	stream_check(struct request *, struct json_object **);
static int	stream_timeout(struct request *, long long *);
static time_t	stream_interval(struct request *);
static int	stream_decode(void *, uint8_t, const char *, size_t);
static int	stream_request(struct request *, struct json_object **,
		    const char **, char **);
static void	stream_fail(struct evhttp_request *, const char *,
		    const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static void	stream_envelope(struct call *, uint8_t, const char *, size_t);
static void	stream_frame(struct call *, uint8_t, const char *, size_t);
static void	stream_keepalive_cb(evutil_socket_t, short, void *);
static void	stream_deadline_cb(evutil_socket_t, short, void *);
static void	stream_count(struct stream *, const char *, size_t);
static void	stream_free(struct call *);
static void	stream_drained(struct call *);
static void	stream_drop_cb(evutil_socket_t, short, void *);

static const struct call_ops stream_ops = {
	stream_frame, stream_drained, stream_free
};

void
stream_start(struct request *q)
{
	stream_open(q, "start");
}

void
stream_connect(struct request *q)
{
	stream_open(q, "connect");
}

/*
 * Answer a stream with only an end-of-stream error: Connect streams
 * report errors there, with HTTP 200.
 */
static void
stream_fail(struct evhttp_request *req, const char *code, const char *fmt,
    ...)
{
	struct json_object	*o;
	struct evbuffer		*b;
	const char		*s;
	va_list			 ap;
	char			*msg;
	uint8_t			 hdr[ENV_HDRLEN];
	size_t			 len;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	o = frame_error(code, 0, msg);
	s = json_str(o);
	len = strlen(s);
	(void)env_header(hdr, ENV_FLAG_END, len);
	b = evbuffer_new();
	evbuffer_add(b, hdr, sizeof(hdr));
	evbuffer_add(b, s, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", STREAM_CTYPE);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	json_object_put(o);
	free(msg);
}

static int
stream_decode(void *arg, uint8_t flags, const char *data, size_t len)
{
	struct stream_req	*r = arg;

	if (r->r_frames++ == 0)
		(void)buf_add(&r->r_msg, data, len);
	if (flags & ENV_FLAG_END)
		r->r_end = 1;
	return (0);
}

/*
 * Decode the request: exactly one envelope holding a JSON object.  0, or
 * -1 with the Connect code and message to answer.
 */
static int
stream_request(struct request *q, struct json_object **msg,
    const char **code, char **cause)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(q->q_req);
	struct env_decoder	 dec;
	struct stream_req	 r;
	size_t			 len = evbuffer_get_length(in);
	char			*why = NULL;

	*msg = NULL;
	*code = "invalid_argument";
	memset(&r, 0, sizeof(r));
	buf_init(&r.r_msg, E2BL_JSON_MAX);
	env_decoder_init(&dec, E2BL_JSON_MAX);
	if (env_decoder_feed(&dec, evbuffer_pullup(in, -1), len, stream_decode,
	    &r, &why) == -1) {
		if (strstr(why, "exceeds the limit") != NULL)
			*code = "resource_exhausted";
		xasprintf(cause, "protocol error: %s", why);
	} else if (dec.ed_state == ENV_PAYLOAD || dec.ed_hdrlen != 0)
		xasprintf(cause, "protocol error: incomplete envelope: "
		    "unexpected EOF");
	else if (r.r_frames == 0)
		xasprintf(cause, "protocol error: missing request message");
	else if (r.r_frames > 1 || r.r_end)
		xasprintf(cause, "protocol error: expected exactly one "
		    "request message");
	else if ((*msg = json_parse(buf_str(&r.r_msg), buf_len(&r.r_msg),
	    &why)) == NULL || !json_object_is_type(*msg, json_type_object))
		xasprintf(cause, "unmarshal into *process.%s: %s",
		    q->q_route->r_arg, why != NULL ? why :
		    "expected an object");
	free(why);
	env_decoder_free(&dec);
	buf_free(&r.r_msg);
	if (*cause == NULL)
		return (0);
	json_object_put(*msg);
	*msg = NULL;
	return (-1);
}

/*
 * Check the content type, the user and the request message.  0 and *msg,
 * or -1 after answering.
 */
static int
stream_check(struct request *q, struct json_object **msg)
{
	const char	*ctype = server_header(q->q_req, "Content-Type"), *code;
	char		*type = NULL, *cause = NULL, *user = NULL;
	int		 status, r = -1;

	*msg = NULL;
	if (ctype == NULL || wire_media_type(ctype, &type, NULL) == -1 ||
	    strcmp(type, STREAM_CTYPE) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(q->q_req),
		    "Accept-Post", "application/connect+json, "
		    "application/connect+proto");
		evhttp_send_reply(q->q_req, 415, NULL, NULL);
	} else if (wire_basic_user(server_header(q->q_req, "Authorization"),
	    &user) == 1 && (code = envd_user(user, 1, &status, &cause)) !=
	    NULL)
		stream_fail(q->q_req, code, "%s", cause);
	else if (stream_request(q, msg, &code, &cause) == -1)
		stream_fail(q->q_req, code, "%s", cause);
	else
		r = 0;
	free(type);
	free(cause);
	free(user);
	return (r);
}

/* Connect-Timeout-Ms (0: none); -1 after answering if it is malformed. */
static int
stream_timeout(struct request *q, long long *ms)
{
	const char	*tmo = server_header(q->q_req, "Connect-Timeout-Ms");
	char		*end;

	*ms = 0;
	if (tmo == NULL)
		return (0);
	errno = 0;
	*ms = strtoll(tmo, &end, 10);
	if (*tmo == '\0' || *end != '\0' || errno != 0 || *ms < 0 ||
	    strlen(tmo) > 10) {
		stream_fail(q->q_req, "invalid_argument", "protocol error: "
		    "invalid timeout \"%s\"", tmo);
		return (-1);
	}
	return (0);
}

/* Keepalive-Ping-Interval in seconds; envd's 90 if absent or bad. */
static time_t
stream_interval(struct request *q)
{
	const char	*ka;
	char		*end;
	long long	 secs;

	ka = server_header(q->q_req, "Keepalive-Ping-Interval");
	if (ka == NULL || *ka == '\0')
		return (E2BL_KEEPALIVE_SECS);
	secs = strtoll(ka, &end, 10);
	return (*end != '\0' || secs <= 0 ? E2BL_KEEPALIVE_SECS : (time_t)secs);
}

/* Open the stream: check the request, then hand it to the agent. */
static void
stream_open(struct request *q, const char *opname)
{
	struct json_object	*msg = NULL, *op = NULL;
	struct stream		*s;
	struct fault		 f;
	struct timeval		 tv;
	long long		 timeout;

	if (stream_check(q, &msg) == -1 || stream_timeout(q, &timeout) == -1)
		goto out;
	op = json_object_new_object();
	json_add_string(op, "op", opname);
	json_object_object_add(op, "msg", json_object_get(msg));
	if (strcmp(opname, "start") == 0 && timeout > 0)
		json_add_int(op, "timeoutMs", timeout);
	s = xcalloc(1, sizeof(*s));
	s->s_drop_after = -1;
	if (local_fault_take(q->q_route->r_key, 0, &f))
		s->s_drop_after = f.f_drop_after;
	s->s_interval.tv_sec = stream_interval(q);
	if ((s->s_call = call_new(q, &stream_ops, s, op)) == NULL) {
		free(s);
		server_proxy_gone(q->q_req, q->q_sb->sb_id);
		goto out;
	}
	s->s_keepalive = evtimer_new(e2bl.e_base, stream_keepalive_cb, s);
	if (timeout > 0) {
		tv.tv_sec = timeout / 1000;
		tv.tv_usec = (timeout % 1000) * 1000;
		s->s_deadline = evtimer_new(e2bl.e_base, stream_deadline_cb, s);
		evtimer_add(s->s_deadline, &tv);
	}
out:
	json_object_put(op);
	json_object_put(msg);
}

/* Send one envelope, starting the reply first if need be. */
static void
stream_envelope(struct call *c, uint8_t flags, const char *data, size_t len)
{
	struct stream	*s = c->c_state;
	struct evbuffer	*b;
	uint8_t		 hdr[ENV_HDRLEN];

	if (!c->c_started) {
		evhttp_add_header(evhttp_request_get_output_headers(c->c_req),
		    "Content-Type", STREAM_CTYPE);
		call_reply_start(c, 200, "OK");
		evtimer_add(s->s_keepalive, &s->s_interval);
	}
	(void)env_header(hdr, flags, len);
	b = evbuffer_new();
	evbuffer_add(b, hdr, sizeof(hdr));
	evbuffer_add(b, data, len);
	call_reply_chunk(c, b);
	evbuffer_free(b);
}

/* An event from the agent, or its end-of-stream message. */
static void
stream_frame(struct call *c, uint8_t flags, const char *data, size_t len)
{
	struct stream	*s = c->c_state;

	if (s->s_drop != NULL)
		return;		/* being cut: nothing more goes out */
	stream_envelope(c, flags, data, len);
	if (flags & ENV_FLAG_END) {
		call_reply_end(c);
		call_free(c);
		return;
	}
	if (memmem(data, len, "\"data\"", 6) == NULL)
		return;
	evtimer_add(s->s_keepalive, &s->s_interval);	/* reset */
	if (s->s_drop_after >= 0) {
		stream_count(s, data, len);
		if (s->s_output >= s->s_drop_after) {
			log_info("sandbox %s: fault: dropping a stream after "
			    "%lld bytes of output", c->c_sb->sb_id,
			    (long long)s->s_output);
			/* Cut it once what was forwarded has gone out. */
			fconn_pause(c->c_link, 1);
			s->s_drop = evtimer_new(e2bl.e_base, stream_drop_cb, s);
		}
	}
}

/* Add the size of a data event's output to the stream's count. */
static void
stream_count(struct stream *s, const char *data, size_t len)
{
	struct json_object	*ev, *e, *d;
	const char		*b64 = NULL;
	size_t			 n;

	if ((ev = json_parse(data, len, NULL)) == NULL)
		return;
	if (json_object_object_get_ex(ev, "event", &e) &&
	    json_object_object_get_ex(e, "data", &d) &&
	    ((b64 = json_peek_string(d, "stdout")) != NULL ||
	    (b64 = json_peek_string(d, "stderr")) != NULL)) {
		n = strlen(b64);
		s->s_output += (int64_t)(n / 4 * 3);
		if (n >= 1 && b64[n - 1] == '=')
			s->s_output--;
		if (n >= 2 && b64[n - 2] == '=')
			s->s_output--;
	}
	json_object_put(ev);
}

static void
stream_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	stream_envelope(s->s_call, 0, STREAM_KEEPALIVE,
	    strlen(STREAM_KEEPALIVE));
	evtimer_add(s->s_keepalive, &s->s_interval);
}

/* Connect-Timeout-Ms passed: end the stream as connect-go does. */
static void
stream_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char	 end[] = "{\"error\":{\"code\":"
				    "\"deadline_exceeded\",\"message\":"
				    "\"context deadline exceeded\"}}";
	struct stream		*s = arg;
	struct call		*c = s->s_call;

	stream_envelope(c, ENV_FLAG_END, end, strlen(end));
	call_reply_end(c);
	call_free(c);
}

/* A chunk went out; once a stream being cut has sent all, cut it. */
static void
stream_drained(struct call *c)
{
	struct stream		*s = c->c_state;
	const struct timeval	 now = { 0, 0 };

	if (s->s_drop != NULL && call_client_backlog(c) == 0)
		evtimer_add(s->s_drop, &now);	/* not from evhttp's callback */
}

static void
stream_drop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	call_abort(s->s_call);
}

static void
stream_free(struct call *c)
{
	struct stream	*s = c->c_state;

	if (s->s_drop != NULL)
		event_free(s->s_drop);
	if (s->s_keepalive != NULL)
		event_free(s->s_keepalive);
	if (s->s_deadline != NULL)
		event_free(s->s_deadline);
	free(s);
}
