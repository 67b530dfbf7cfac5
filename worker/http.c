/*
 * HTTP requests: one request object per call, run on the curl multi
 * handle of an http_ctx (http_loop.c), with retries and bounded bodies.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_RETRY_AFTER_MAX	86400	/* seconds; larger is nonsense */
#define HTTP_BACKOFF_MAX	3600000L /* ms; no backoff is longer */

static size_t	http_write_cb(char *, size_t, size_t, void *);
static size_t	http_header_cb(char *, size_t, size_t, void *);
static void	http_setup(struct http_req *);
static void	http_setup_method(struct http_req *);
static int	http_neterr(CURLcode);
static long	http_next_delay(struct http_req *, CURLcode);
static int	http_retry_after(const char *, long *);
static long	http_backoff(const struct http_retry *, int, uint32_t);
static void	http_wait_cb(evutil_socket_t, short, void *);
static void	http_log_attempt(struct http_req *);
static int	http_start_owned(struct http_ctx *, struct http_req *,
		    http_done_cb, void *);
static void	http_call_done(struct http_req *, void *);

static const char *http_methods[HTTP_METHOD_MAX] = {
	[HTTP_GET] = "GET", [HTTP_POST] = "POST", [HTTP_PUT] = "PUT",
	[HTTP_DELETE] = "DELETE",
};

const char *
http_method_name(enum http_method m)
{
	if (m < 0 || m >= HTTP_METHOD_MAX)
		return ("?");
	return (http_methods[m]);
}

/* Milliseconds of the monotonic clock. */
long
http_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Build a request for url; nothing is sent until it is started. */
struct http_req *
http_req_new(enum http_method method, const char *url)
{
	struct http_req	*r;
	const char	*p;

	r = xcalloc(1, sizeof(*r));
	r->r_method = method;
	r->r_url = xstrdup(url);
	if ((p = strstr(r->r_url, "://")) == NULL ||
	    (p = strchr(p + 3, '/')) == NULL)
		p = "/";
	xasprintf(&r->r_what, "%s %s", http_method_name(method), p);
	r->r_max = HTTP_BODY_MAX;
	r->r_connect_ms = HTTP_CONNECT_MS;
	r->r_lowspeed_s = HTTP_LOWSPEED_S;
	r->r_retry.rt_attempts = 1;
	buf_init(&r->r_resp, r->r_max);
	buf_init(&r->r_rhdrs, HTTP_HEADERS_MAX);
	return (r);
}

/* Free a request, stopping it first if it is still running. */
void
http_req_free(struct http_req **rp)
{
	struct http_req	*r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	http_detach(r);
	if (r->r_easy != NULL)
		curl_easy_cleanup(r->r_easy);
	curl_slist_free_all(r->r_hdrs);
	free(r->r_url);
	free(r->r_what);
	free(r->r_ownbody);
	free(r->r_cause);
	buf_free(&r->r_resp);
	buf_free(&r->r_rhdrs);
	free(r);
}

/*
 * Add a request header.  The value is sent as given and never logged;
 * a line break in it is a bug in the caller, which checks peer input.
 */
void
http_req_header(struct http_req *r, const char *name, const char *value)
{
	char	*line;

	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		fatalx("%s: line break in header %s", __func__, name);
	xasprintf(&line, "%s: %s", name, value);
	r->r_hdrs = curl_slist_append(r->r_hdrs, line);
	freezero_str(line);
	if (r->r_hdrs == NULL)
		fatalx("%s: out of memory", __func__);
}

/* Send len bytes at data as the body; the caller keeps them alive. */
void
http_req_body(struct http_req *r, const char *ctype, const void *data,
    size_t len)
{
	r->r_body = data;
	r->r_bodylen = len;
	http_req_header(r, "Content-Type", ctype);
	/* Never wait for "100 Continue" before sending. */
	r->r_hdrs = curl_slist_append(r->r_hdrs, "Expect:");
}

/* Send data as the body; takes ownership of it. */
void
http_req_body_own(struct http_req *r, const char *ctype, char *data,
    size_t len)
{
	free(r->r_ownbody);
	r->r_ownbody = data;
	http_req_body(r, ctype, data, len);
}

/* Hand the body of a 2xx response to sink as it arrives. */
void
http_req_sink(struct http_req *r, http_sink_cb sink, void *arg)
{
	r->r_sink = sink;
	r->r_sinkarg = arg;
}

/* Cap the body kept in memory (without a sink). */
void
http_req_limit(struct http_req *r, size_t max)
{
	r->r_max = max;
}

/*
 * Set the connect timeout, the low-speed window (the transfer fails when
 * less than one byte a second arrives for that long) and the total
 * timeout, 0 for none.  Negative values keep the current setting.
 */
void
http_req_timeouts(struct http_req *r, long connect_ms, long lowspeed_s,
    long total_ms)
{
	if (connect_ms >= 0)
		r->r_connect_ms = connect_ms;
	if (lowspeed_s >= 0)
		r->r_lowspeed_s = lowspeed_s;
	if (total_ms >= 0)
		r->r_total_ms = total_ms;
}

/* Retry with this policy; NULL never retries. */
void
http_req_retry(struct http_req *r, const struct http_retry *p)
{
	if (p == NULL) {
		memset(&r->r_retry, 0, sizeof(r->r_retry));
		r->r_retry.rt_attempts = 1;
	} else
		r->r_retry = *p;
}

/* Ask for the body from byte offset on (a Range request). */
void
http_req_range(struct http_req *r, uint64_t offset)
{
	r->r_range = offset;
	r->r_ranged = 1;
}

/* Collect the body: to the sink for 2xx, else into the bounded buffer. */
static size_t
http_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_req	*r = arg;
	size_t		 len = size * n, room;
	char		*cause = NULL;

	if (r->r_cancelled)
		return (0);
	if (r->r_status == 0)
		curl_easy_getinfo(r->r_easy, CURLINFO_RESPONSE_CODE,
		    &r->r_status);
	if (r->r_status / 100 != 2) {
		/* An error body is kept only in part: its status matters. */
		room = buf_room(&r->r_resp);
		(void)buf_add(&r->r_resp, p, len < room ? len : room);
		return (len);
	}
	if (r->r_sink != NULL) {
		if (r->r_sink(r->r_sinkarg, p, len, &cause) == -1) {
			http_note(r, HTTP_ESINK,
			    cause != NULL ? cause : "rejected by the reader");
			free(cause);
			return (0);
		}
		r->r_delivered += len;
		return (len);
	}
	if (buf_add(&r->r_resp, p, len) == -1) {
		http_note(r, HTTP_ETOOBIG, NULL);
		xasprintf(&r->r_cause, "response body exceeds the cap of %zu "
		    "bytes", r->r_max);
		return (0);
	}
	r->r_delivered += len;
	return (len);
}

/*
 * Keep the response headers as "name\0value\0" pairs, names lowercased.
 * A status line starts a new response (after 100 Continue or a retry).
 */
static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_req	*r = arg;
	size_t		 len = size * n, i, vlen;
	const char	*colon, *v;
	char		 c;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		buf_reset(&r->r_rhdrs);
		return (len);
	}
	if ((colon = memchr(p, ':', len)) == NULL)
		return (len);
	v = colon + 1;
	vlen = len - (size_t)(v - p);
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	for (i = 0; p + i < colon; i++) {
		c = (char)tolower((unsigned char)p[i]);
		if (buf_addc(&r->r_rhdrs, c) == -1)
			goto toobig;
	}
	if (buf_addc(&r->r_rhdrs, '\0') == -1 ||
	    buf_add(&r->r_rhdrs, v, vlen) == -1 ||
	    buf_addc(&r->r_rhdrs, '\0') == -1)
		goto toobig;
	return (len);
toobig:
	http_note(r, HTTP_ETOOBIG, "response headers are too large");
	return (0);
}

/* The value of response header name (any case), or NULL. */
const char *
http_header(const struct http_req *r, const char *name)
{
	const char	*p = buf_str(&r->r_rhdrs), *end, *v;

	end = p + buf_len(&r->r_rhdrs);
	while (p < end) {
		v = p + strlen(p) + 1;
		if (v >= end)
			break;
		if (strcasecmp(p, name) == 0)
			return (v);
		p = v + strlen(v) + 1;
	}
	return (NULL);
}

/* Record why the attempt is failing, unless a reason is already known. */
void
http_note(struct http_req *r, enum http_outcome outcome, const char *cause)
{
	if (r->r_outcome != HTTP_PENDING)
		return;
	r->r_outcome = outcome;
	if (cause != NULL) {
		free(r->r_cause);
		r->r_cause = xstrdup(cause);
	}
}

/* Configure the easy handle once, before the first attempt. */
static void
http_setup(struct http_req *r)
{
	CURL	*e;
	char	 range[32];

	if ((e = r->r_easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init failed", __func__);
	curl_easy_setopt(e, CURLOPT_URL, r->r_url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "-worker/"
	    PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->r_errbuf);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->r_connect_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r->r_lowspeed_s);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->r_total_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->r_hdrs);
	if (r->r_ranged) {
		(void)snprintf(range, sizeof(range), "%llu-",
		    (unsigned long long)r->r_range);
		curl_easy_setopt(e, CURLOPT_RANGE, range);
	}
	http_setup_method(r);
}

/* Set the method and the body on the easy handle. */
static void
http_setup_method(struct http_req *r)
{
	CURL	*e = r->r_easy;

	switch (r->r_method) {
	case HTTP_GET:
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	case HTTP_DELETE:
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		if (r->r_body == NULL)
			return;
		break;
	case HTTP_PUT:
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		break;
	case HTTP_POST:
	case HTTP_METHOD_MAX:
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		break;
	}
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->r_bodylen);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS,
	    r->r_body != NULL ? r->r_body : "");
}

/* Start one attempt: reset what the last one collected, hand to curl. */
void
http_attempt(struct http_req *r)
{
	CURLMcode	mc;

	r->r_attempt++;
	r->r_status = 0;
	r->r_outcome = HTTP_PENDING;
	free(r->r_cause);
	r->r_cause = NULL;
	r->r_errbuf[0] = '\0';
	buf_free(&r->r_resp);
	buf_init(&r->r_resp, r->r_sink != NULL ? HTTP_ERRBODY_MAX : r->r_max);
	buf_reset(&r->r_rhdrs);
	r->r_tattempt = http_now_ms();
	r->r_state = HTTP_ACTIVE;
	if ((mc = curl_multi_add_handle(r->r_ctx->hc_multi,
	    r->r_easy)) != CURLM_OK) {
		http_note(r, HTTP_ENET, curl_multi_strerror(mc));
		r->r_state = HTTP_BACKOFF;	/* not in the multi handle */
		http_finish(r);
	}
}

/*
 * Start a request; done is called (may be NULL) when it has finished,
 * after any retries.  Returns -1 if the request was already started.
 */
int
http_start(struct http_ctx *ctx, struct http_req *r, http_done_cb done,
    void *arg)
{
	if (r->r_state != HTTP_IDLE)
		return (-1);
	r->r_ctx = ctx;
	r->r_done = done;
	r->r_donearg = arg;
	r->r_t0 = http_now_ms();
	http_setup(r);
	TAILQ_INSERT_TAIL(&ctx->hc_reqs, r, r_entry);
	http_attempt(r);
	return (0);
}

/*
 * Start a request that the context owns: it takes r and arg (which is
 * freed with free()); both are freed after done has run, and by
 * http_ctx_free() if it is still running then, without calling done.
 * This is how a timer or other callback, which cannot spin the loop,
 * makes a call.
 */
static int
http_start_owned(struct http_ctx *ctx, struct http_req *r, http_done_cb done,
    void *arg)
{
	r->r_owned = 1;
	return (http_start(ctx, r, done, arg));
}

/* A call started with http_start_call(). */
struct http_call {
	http_judge_cb	 hc_judge;
	http_result_cb	 hc_done;
	void		*hc_arg;
};

/* An http_start_call() request has finished: judge it, report. */
static void
http_call_done(struct http_req *r, void *arg)
{
	struct http_call	*c = arg;
	char			*cause = NULL;
	int			 rv;

	rv = c->hc_judge(r, &cause);
	c->hc_done(rv, cause, c->hc_arg);
	free(cause);
}

/*
 * Start an owned request whose outcome judge turns into a result for
 * done (0, 1 or -1 and a cause), called from the loop.  Takes r.
 */
int
http_start_call(struct http_ctx *ctx, struct http_req *r, http_judge_cb judge,
    http_result_cb done, void *arg)
{
	struct http_call	*c;

	c = xcalloc(1, sizeof(*c));
	c->hc_judge = judge;
	c->hc_done = done;
	c->hc_arg = arg;
	return (http_start_owned(ctx, r, http_call_done, c));
}

/* Connection-level failures that a retry may cure. */
static int
http_neterr(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return (1);
	default:
		return (0);
	}
}

/*
 * Decide whether to retry after an attempt: the delay in milliseconds,
 * or -1 to stop.  429 waits an integer Retry-After if there is one; 429
 * without it, 5xx and retryable connection errors back off exponentially
 * with full jitter (rnd picks the point); nothing else is retried, and
 * nothing is once the next attempt would begin past the total budget.
 */
long
http_retry_delay(const struct http_retry *p, const struct http_try *t,
    uint32_t rnd)
{
	long	delay;

	if (p == NULL || t->ht_attempt >= p->rt_attempts)
		return (-1);
	if (t->ht_status == 429 &&
	    http_retry_after(t->ht_retry_after, &delay) == 0)
		;	/* the server said how long */
	else if (t->ht_status == 429 || (t->ht_status >= 500 &&
	    t->ht_status <= 599) || (t->ht_status == 0 && t->ht_neterr))
		delay = http_backoff(p, t->ht_attempt, rnd);
	else
		return (-1);
	if (t->ht_elapsed_ms + delay >= p->rt_total_ms)
		return (-1);
	return (delay);
}

/* Parse an integer Retry-After (seconds) into milliseconds. */
static int
http_retry_after(const char *s, long *ms)
{
	char	*end;
	long	 n;

	if (s == NULL || !isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > HTTP_RETRY_AFTER_MAX)
		return (-1);
	*ms = n * 1000;
	return (0);
}

/*
 * Full jitter: a uniform pick in [0, ceiling], the ceiling doubling with
 * each attempt from rt_base_ms up to rt_max_ms.
 */
static long
http_backoff(const struct http_retry *p, int attempt, uint32_t rnd)
{
	long	ceiling = p->rt_base_ms;

	while (--attempt > 0 && ceiling < p->rt_max_ms &&
	    ceiling < HTTP_BACKOFF_MAX)
		ceiling *= 2;
	if (ceiling > p->rt_max_ms)
		ceiling = p->rt_max_ms;
	if (ceiling > HTTP_BACKOFF_MAX)
		ceiling = HTTP_BACKOFF_MAX;
	if (ceiling <= 0)
		return (0);
	return ((long)(rnd % ((uint32_t)ceiling + 1)));
}

/* The delay before the next attempt of r, or -1 for none. */
static long
http_next_delay(struct http_req *r, CURLcode code)
{
	struct http_try	t;

	if (r->r_cancelled || r->r_delivered > 0 ||
	    (r->r_outcome != HTTP_COMPLETE && r->r_outcome != HTTP_ENET))
		return (-1);
	memset(&t, 0, sizeof(t));
	t.ht_attempt = r->r_attempt;
	if (r->r_outcome == HTTP_COMPLETE) {
		t.ht_status = r->r_status;
		t.ht_retry_after = http_header(r, "retry-after");
	} else
		t.ht_neterr = http_neterr(code);
	t.ht_elapsed_ms = http_now_ms() - r->r_t0;
	return (http_retry_delay(&r->r_retry, &t, arc4random()));
}

/* Log one finished attempt: method, path, status or error, time. */
static void
http_log_attempt(struct http_req *r)
{
	long	ms = http_now_ms() - r->r_tattempt;

	if (r->r_outcome == HTTP_COMPLETE)
		log_debug("http: %s: %ld (%ld ms, attempt %d)", r->r_what,
		    r->r_status, ms, r->r_attempt);
	else
		log_debug("http: %s: %s (%ld ms, attempt %d)", r->r_what,
		    r->r_cause, ms, r->r_attempt);
}

/*
 * An attempt has left the multi handle with code: classify it, then
 * either schedule another attempt or finish the request.
 */
void
http_attempt_done(struct http_req *r, CURLcode code)
{
	struct timeval	tv;
	long		delay;

	if (r->r_cancelled)
		http_note(r, HTTP_ECANCEL, "cancelled");
	else if (code == CURLE_OK) {
		curl_easy_getinfo(r->r_easy, CURLINFO_RESPONSE_CODE,
		    &r->r_status);
		r->r_outcome = HTTP_COMPLETE;
	} else
		http_note(r, HTTP_ENET, r->r_errbuf[0] != '\0' ?
		    r->r_errbuf : curl_easy_strerror(code));
	r->r_state = HTTP_BACKOFF;
	http_log_attempt(r);
	if ((delay = http_next_delay(r, code)) == -1) {
		http_finish(r);
		return;
	}
	log_debug("http: %s: retrying in %ld ms", r->r_what, delay);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_assign(&r->r_wait, r->r_ctx->hc_base, http_wait_cb, r);
	evtimer_add(&r->r_wait, &tv);
}

/* The backoff is over: try again. */
static void
http_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	http_attempt(arg);
}

/*
 * Run a request to completion, spinning the event base so that other
 * events keep firing.  Returns 0 when a whole response arrived (whatever
 * its status) and -1 with *cause set otherwise.  Must not be called from
 * inside an event callback: the base cannot be run re-entrantly.
 */
int
http_run(struct http_ctx *ctx, struct http_req *r, char **cause)
{
	if (http_start(ctx, r, NULL, NULL) == -1) {
		xasprintf(cause, "request already started");
		return (-1);
	}
	while (r->r_state != HTTP_DONE) {
		if (event_base_loop(ctx->hc_base, EVLOOP_ONCE) != 0) {
			http_detach(r);
			xasprintf(cause, "%s: the event loop cannot run",
			    r->r_what);
			return (-1);
		}
	}
	if (r->r_outcome != HTTP_COMPLETE) {
		xasprintf(cause, "%s", r->r_cause);
		return (-1);
	}
	return (0);
}

/* Abort a request; it finishes with HTTP_ECANCEL from the event loop. */
void
http_cancel(struct http_req *r)
{
	if (r->r_state != HTTP_ACTIVE && r->r_state != HTTP_BACKOFF)
		return;
	r->r_cancelled = 1;
	event_active(&r->r_ctx->hc_reap, EV_TIMEOUT, 0);
}

enum http_outcome
http_outcome(const struct http_req *r)
{
	return (r->r_outcome);
}

/* Why the request failed, or NULL. */
const char *
http_cause(const struct http_req *r)
{
	return (r->r_cause);
}

long
http_status(const struct http_req *r)
{
	return (r->r_status);
}

const struct buf *
http_body(const struct http_req *r)
{
	return (&r->r_resp);
}

int
http_attempts(const struct http_req *r)
{
	return (r->r_attempt);
}

/* "METHOD /path?query", for messages. */
const char *
http_req_what(const struct http_req *r)
{
	return (r->r_what);
}

/* Body bytes handed to the sink (or kept, without one). */
uint64_t
http_delivered(const struct http_req *r)
{
	return (r->r_delivered);
}

/* Percent-encode everything but RFC 3986's unreserved characters. */
char *
http_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *o;
	unsigned char		 c;

	o = out = xreallocarray(NULL, strlen(s) + 1, 3);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		}
	}
	*o = '\0';
	return (out);
}

/*
 * A base URL to append paths to: url without trailing slashes, or NULL
 * if it is not an http:// or https:// URL.
 */
char *
http_base_url(const char *url)
{
	char	*base;
	size_t	 len;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return (NULL);
	if (strpbrk(url, "\r\n") != NULL)
		return (NULL);
	base = xstrdup(url);
	len = strlen(base);
	while (len > 8 && base[len - 1] == '/')
		base[--len] = '\0';
	return (base);
}

/* The first max bytes of the response body, control bytes as spaces. */
char *
http_excerpt(const struct http_req *r, size_t max)
{
	const struct buf	*b = http_body(r);
	char			*text;
	size_t			 i;

	text = xstrndup(buf_str(b), buf_len(b) < max ? buf_len(b) : max);
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
	return (text);
}
