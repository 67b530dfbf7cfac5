/*
 * HTTP requests on one libcurl multi handle driven by the worker's
 * libevent base (curl's hiperfifo pattern).  A request never blocks the
 * base: heartbeats, signals and timers keep firing while it runs.
 *
 * A request is built (method, URL, headers, a body from memory), then
 * started with a completion callback, or run with http_run(), which spins
 * the base until that request is done.  The response body goes into a
 * bounded buffer, or, for a 2xx response with a sink set, to the sink as
 * it arrives.  Every request has a connect timeout and a low-speed limit;
 * a total timeout is optional.  A retry policy makes the request retry
 * 429 (honouring an integer Retry-After), 5xx and connection errors with
 * capped exponential backoff and full jitter, within a bounded number of
 * attempts and a bounded total time; other statuses are never retried.
 *
 * Header values are never logged: debug lines say method, path, status,
 * duration and attempt only.
 */
#ifndef WORKER_HTTP_H
#define WORKER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"

#define HTTP_CONNECT_MS		10000		/* default connect timeout */
#define HTTP_LOWSPEED_S		60		/* default low-speed window */
#define HTTP_BODY_MAX		(1024 * 1024)	/* default body cap */
#define HTTP_ERRBODY_MAX	(64 * 1024)	/* non-2xx body with a sink */
#define HTTP_HEADERS_MAX	(64 * 1024)	/* response header bytes */

enum http_method {
	HTTP_GET,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_METHOD_MAX
};

/* How a request ended. */
enum http_outcome {
	HTTP_PENDING,		/* not finished */
	HTTP_COMPLETE,		/* a whole response arrived (any status) */
	HTTP_ENET,		/* connection failed, dropped or timed out */
	HTTP_ESINK,		/* the sink refused the data */
	HTTP_ETOOBIG,		/* body or headers over their cap */
	HTTP_ECANCEL,		/* cancelled by the caller */
	HTTP_OUTCOME_MAX
};

/* A retry policy; rt_attempts 1 (or a NULL policy) means never retry. */
struct http_retry {
	int	rt_attempts;	/* most attempts in all */
	long	rt_base_ms;	/* ceiling of the first backoff */
	long	rt_max_ms;	/* ceiling of any one backoff */
	long	rt_total_ms;	/* no attempt starts after this much time */
};

/* What the retry decision looks at after one attempt. */
struct http_try {
	int		 ht_attempt;	/* attempts made so far, from 1 */
	long		 ht_status;	/* HTTP status, 0 if none */
	int		 ht_neterr;	/* a retryable connection error */
	const char	*ht_retry_after; /* Retry-After header, or NULL */
	long		 ht_elapsed_ms;	/* since the first attempt began */
};

struct http_ctx;
struct http_req;

/* Body bytes of a 2xx response; return -1 with *cause set to abort. */
typedef int	(*http_sink_cb)(void *, const char *, size_t, char **);
/* The request is done; the callback may free it. */
typedef void	(*http_done_cb)(struct http_req *, void *);
/* The result of a call started without waiting: 0, 1 or -1 and why. */
typedef void	(*http_result_cb)(int, const char *, void *);
/* Judge a finished call: 0, 1 or -1 with *cause set. */
typedef int	(*http_judge_cb)(struct http_req *, char **);

void		 http_global_init(void);
struct http_ctx	*http_ctx_new(struct event_base *);
void		 http_ctx_free(struct http_ctx **);
void		 http_ctx_cancel(struct http_ctx *);
struct event_base *http_ctx_base(struct http_ctx *);

struct http_req	*http_req_new(enum http_method, const char *);
void		 http_req_free(struct http_req **);
void		 http_req_header(struct http_req *, const char *,
		    const char *);
void		 http_req_body(struct http_req *, const char *, const void *,
		    size_t);
void		 http_req_body_own(struct http_req *, const char *, char *,
		    size_t);
void		 http_req_sink(struct http_req *, http_sink_cb, void *);
void		 http_req_limit(struct http_req *, size_t);
void		 http_req_timeouts(struct http_req *, long, long, long);
void		 http_req_retry(struct http_req *, const struct http_retry *);
void		 http_req_range(struct http_req *, uint64_t);

int		 http_start(struct http_ctx *, struct http_req *,
		    http_done_cb, void *);
int		 http_start_call(struct http_ctx *, struct http_req *,
		    http_judge_cb, http_result_cb, void *);
int		 http_run(struct http_ctx *, struct http_req *, char **);
void		 http_cancel(struct http_req *);

enum http_outcome http_outcome(const struct http_req *);
const char	*http_cause(const struct http_req *);
long		 http_status(const struct http_req *);
const char	*http_header(const struct http_req *, const char *);
const struct buf *http_body(const struct http_req *);
int		 http_attempts(const struct http_req *);
uint64_t	 http_delivered(const struct http_req *);
const char	*http_method_name(enum http_method);
const char	*http_req_what(const struct http_req *);

long		 http_retry_delay(const struct http_retry *,
		    const struct http_try *, uint32_t);
char		*http_escape(const char *);
char		*http_base_url(const char *);
char		*http_excerpt(const struct http_req *, size_t);

#endif /* WORKER_HTTP_H */
