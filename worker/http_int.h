/*
 * Internals shared by http.c (requests) and http_loop.c (the curl multi
 * handle on libevent).  Nothing outside those two files includes this.
 */
#ifndef WORKER_HTTP_INT_H
#define WORKER_HTTP_INT_H

#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "buf.h"
#include "http.h"

enum http_state {
	HTTP_IDLE,		/* built, not started */
	HTTP_ACTIVE,		/* an attempt is in the multi handle */
	HTTP_BACKOFF,		/* between attempts (or finishing) */
	HTTP_DONE,		/* finished; results may be read */
	HTTP_STATE_MAX
};

/* One socket curl asked us to watch. */
struct http_sock {
	struct event		 hs_ev;
	curl_socket_t		 hs_fd;
	struct http_ctx		*hs_ctx;
	LIST_ENTRY(http_sock)	 hs_entry;
};

struct http_ctx {
	struct event_base	*hc_base;
	CURLM			*hc_multi;
	struct event		 hc_timer;	/* curl's one timer */
	struct event		 hc_reap;	/* finishes cancelled ones */
	TAILQ_HEAD(, http_req)	 hc_reqs;	/* started, not finished */
	LIST_HEAD(, http_sock)	 hc_socks;	/* sockets being watched */
};

struct http_req {
	struct http_ctx		*r_ctx;
	CURL			*r_easy;
	enum http_method	 r_method;
	char			*r_url;
	char			*r_what;	/* "METHOD /path", for logs */
	struct curl_slist	*r_hdrs;
	const char		*r_body;	/* borrowed, or r_ownbody */
	size_t			 r_bodylen;
	char			*r_ownbody;
	http_sink_cb		 r_sink;
	void			*r_sinkarg;
	size_t			 r_max;		/* body cap without a sink */
	long			 r_connect_ms;
	long			 r_lowspeed_s;
	long			 r_total_ms;
	struct http_retry	 r_retry;
	uint64_t		 r_range;
	int			 r_ranged;

	enum http_state		 r_state;
	enum http_outcome	 r_outcome;
	char			*r_cause;
	long			 r_status;
	struct buf		 r_resp;	/* body, or an error body */
	struct buf		 r_rhdrs;	/* "name\0value\0"... */
	uint64_t		 r_delivered;
	int			 r_attempt;
	int			 r_cancelled;
	long			 r_t0;		/* first attempt began */
	long			 r_tattempt;	/* this attempt began */
	struct event		 r_wait;	/* backoff timer */
	http_done_cb		 r_done;
	void			*r_donearg;
	int			 r_owned;	/* the context frees it */
	char			 r_errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_req)	 r_entry;
};

/* http.c */
long	http_now_ms(void);
void	http_note(struct http_req *, enum http_outcome, const char *);
void	http_attempt(struct http_req *);
void	http_attempt_done(struct http_req *, CURLcode);

/* http_loop.c */
void	http_finish(struct http_req *);
void	http_detach(struct http_req *);

#endif /* WORKER_HTTP_INT_H */
