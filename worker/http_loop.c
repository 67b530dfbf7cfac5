/*
 * The curl multi handle on the libevent base, as in curl's hiperfifo
 * example: curl tells us which sockets to watch and when its timer is
 * due (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION); we tell curl
 * when a socket is ready or the timer fired (curl_multi_socket_action).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "log.h"
#include "xmalloc.h"

static int	http_sock_cb(CURL *, curl_socket_t, int, void *, void *);
static int	http_timer_cb(CURLM *, long, void *);
static void	http_sock_event_cb(evutil_socket_t, short, void *);
static void	http_timer_event_cb(evutil_socket_t, short, void *);
static void	http_reap_cb(evutil_socket_t, short, void *);
static void	http_check_multi(struct http_ctx *);
static void	http_sock_free(struct http_sock *);

static int	http_global_done;

/*
 * Initialise libcurl (and its TLS library) once per process.  The
 * forkserver does it before it forks, so that each worker does not pay
 * for it again: no handle exists yet, and OpenSSL reseeds its random
 * generator in a forked child.
 */
void
http_global_init(void)
{
	if (http_global_done)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("%s: curl_global_init failed", __func__);
	http_global_done = 1;
}

/* Create the requests' context on base. */
struct http_ctx *
http_ctx_new(struct event_base *base)
{
	struct http_ctx	*ctx;

	http_global_init();
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->hc_base = base;
	TAILQ_INIT(&ctx->hc_reqs);
	LIST_INIT(&ctx->hc_socks);
	if ((ctx->hc_multi = curl_multi_init()) == NULL)
		fatalx("%s: curl_multi_init failed", __func__);
	curl_multi_setopt(ctx->hc_multi, CURLMOPT_SOCKETFUNCTION,
	    http_sock_cb);
	curl_multi_setopt(ctx->hc_multi, CURLMOPT_SOCKETDATA, ctx);
	curl_multi_setopt(ctx->hc_multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_cb);
	curl_multi_setopt(ctx->hc_multi, CURLMOPT_TIMERDATA, ctx);
	evtimer_assign(&ctx->hc_timer, base, http_timer_event_cb, ctx);
	event_assign(&ctx->hc_reap, base, -1, 0, http_reap_cb, ctx);
	return (ctx);
}

/*
 * Free the context.  Requests still running are stopped (they finish as
 * cancelled, without their callbacks); their owners still free them.
 */
void
http_ctx_free(struct http_ctx **ctxp)
{
	struct http_ctx		*ctx = *ctxp;
	struct http_req		*r;
	struct http_sock	*hs;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	while ((r = TAILQ_FIRST(&ctx->hc_reqs)) != NULL) {
		http_detach(r);
		if (r->r_owned) {
			free(r->r_donearg);
			http_req_free(&r);
		}
	}
	curl_multi_cleanup(ctx->hc_multi);
	while ((hs = LIST_FIRST(&ctx->hc_socks)) != NULL)
		http_sock_free(hs);
	event_del(&ctx->hc_timer);
	event_del(&ctx->hc_reap);
	free(ctx);
}

struct event_base *
http_ctx_base(struct http_ctx *ctx)
{
	return (ctx->hc_base);
}

/* Cancel every request in flight or waiting to retry. */
void
http_ctx_cancel(struct http_ctx *ctx)
{
	struct http_req	*r;

	TAILQ_FOREACH(r, &ctx->hc_reqs, r_entry)
		http_cancel(r);
}

/* Stop watching a socket. */
static void
http_sock_free(struct http_sock *hs)
{
	event_del(&hs->hs_ev);
	LIST_REMOVE(hs, hs_entry);
	free(hs);
}

/* curl wants a socket watched for what (or no longer watched). */
static int
http_sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http_ctx		*ctx = arg;
	struct http_sock	*hs = sockp;
	short			 ev = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL)
			http_sock_free(hs);
		return (0);
	}
	if (hs == NULL) {
		hs = xcalloc(1, sizeof(*hs));
		hs->hs_fd = fd;
		hs->hs_ctx = ctx;
		LIST_INSERT_HEAD(&ctx->hc_socks, hs, hs_entry);
		curl_multi_assign(ctx->hc_multi, fd, hs);
	} else
		event_del(&hs->hs_ev);
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	event_assign(&hs->hs_ev, ctx->hc_base, fd, ev, http_sock_event_cb,
	    ctx);
	event_add(&hs->hs_ev, NULL);
	return (0);
}

/* curl's timer: due in ms milliseconds, or -1 to stop it. */
static int
http_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct http_ctx	*ctx = arg;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(&ctx->hc_timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&ctx->hc_timer, &tv);
	return (0);
}

/* A watched socket is ready: let curl act on it. */
static void
http_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_ctx	*ctx = arg;
	int		 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(ctx->hc_multi, fd, action, &running);
	http_check_multi(ctx);
}

/* curl's timer fired. */
static void
http_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_ctx	*ctx = arg;
	int		 running;

	curl_multi_socket_action(ctx->hc_multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	http_check_multi(ctx);
}

/* Take every finished transfer out of the multi handle. */
static void
http_check_multi(struct http_ctx *ctx)
{
	CURLMsg		*m;
	CURL		*easy;
	CURLcode	 code;
	struct http_req	*r;
	char		*priv;
	int		 left;

	while ((m = curl_multi_info_read(ctx->hc_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		code = m->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		r = (struct http_req *)(void *)priv;
		curl_multi_remove_handle(ctx->hc_multi, easy);
		if (r != NULL && r->r_state == HTTP_ACTIVE)
			http_attempt_done(r, code);
	}
}

/*
 * Finish cancelled requests.  Runs from the loop, never inside a curl
 * callback, so handles may be removed.  A done callback may free other
 * requests, so the scan starts over after each one.
 */
static void
http_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_ctx	*ctx = arg;
	struct http_req	*r;

again:
	TAILQ_FOREACH(r, &ctx->hc_reqs, r_entry) {
		if (!r->r_cancelled)
			continue;
		if (r->r_state == HTTP_ACTIVE)
			curl_multi_remove_handle(ctx->hc_multi, r->r_easy);
		else if (event_initialized(&r->r_wait))
			evtimer_del(&r->r_wait);
		r->r_state = HTTP_BACKOFF;
		r->r_outcome = HTTP_PENDING;
		http_note(r, HTTP_ECANCEL, "cancelled");
		log_debug("http: %s: cancelled (attempt %d)", r->r_what,
		    r->r_attempt);
		http_finish(r);
		goto again;
	}
}

/* The request is over: unlist it and tell its owner. */
void
http_finish(struct http_req *r)
{
	int	owned = r->r_owned;	/* r may be freed by r_done */

	TAILQ_REMOVE(&r->r_ctx->hc_reqs, r, r_entry);
	r->r_state = HTTP_DONE;
	if (r->r_done != NULL)
		r->r_done(r, r->r_donearg);
	if (owned) {
		free(r->r_donearg);
		http_req_free(&r);
	}
}

/* Stop a request without telling its owner (it is being freed). */
void
http_detach(struct http_req *r)
{
	if (r->r_state != HTTP_ACTIVE && r->r_state != HTTP_BACKOFF)
		return;
	if (r->r_state == HTTP_ACTIVE)
		curl_multi_remove_handle(r->r_ctx->hc_multi, r->r_easy);
	if (event_initialized(&r->r_wait))
		evtimer_del(&r->r_wait);
	TAILQ_REMOVE(&r->r_ctx->hc_reqs, r, r_entry);
	r->r_outcome = HTTP_PENDING;
	http_note(r, HTTP_ECANCEL, "cancelled");
	r->r_state = HTTP_DONE;
}
