/*
 * Calls: envd requests in flight to a sandbox's agent.  A call links the
 * HTTP request to one agent connection, streams a started reply with flow
 * control both ways, and is dropped as E2B's edge drops it when the
 * sandbox dies: a reply already under way is cut off (no end of stream),
 * otherwise the client gets the edge's 502.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "agent.h"
#include "e2b-local.h"
#include "log.h"
#include "xmalloc.h"

static void	call_frame(struct fconn *, uint8_t, const char *, size_t,
		    void *);
static void	call_closed(struct fconn *, const char *, void *);
static void	call_client_closed(struct evhttp_connection *, void *);
static void	call_chunk_sent(struct evhttp_connection *, void *);

/*
 * Open a connection to the sandbox's agent and send the operation (the
 * caller keeps op).  NULL if the agent cannot be reached.
 */
struct call *
call_new(struct request *q, const struct call_ops *ops, void *state,
    struct json_object *op)
{
	struct call	*c;
	char		*cause = NULL;

	c = xcalloc(1, sizeof(*c));
	c->c_req = q->q_req;
	c->c_sb = q->q_sb;
	c->c_ops = ops;
	c->c_state = state;
	c->c_link = fconn_connect(e2bl.e_base, q->q_sb->sb_sock,
	    AGENT_FRAME_MAX, call_frame, call_closed, c, &cause);
	if (c->c_link == NULL) {
		log_warnx("sandbox %s: agent: %s", q->q_sb->sb_id, cause);
		free(cause);
		free(c);
		return (NULL);
	}
	(void)fconn_send_json(c->c_link, 0, op);
	TAILQ_INSERT_TAIL(&c->c_sb->sb_calls, c, c_entry);
	return (c);
}

/* Forget the call; the HTTP request must be answered or gone. */
void
call_free(struct call *c)
{
	TAILQ_REMOVE(&c->c_sb->sb_calls, c, c_entry);
	fconn_free(&c->c_link);
	if (c->c_ops->co_free != NULL)
		c->c_ops->co_free(c);
	free(c);
}

/* Drop the call as the edge does when its sandbox is gone. */
void
call_abort(struct call *c)
{
	struct evhttp_connection	*evcon;

	if (c->c_req != NULL && c->c_started) {
		evcon = evhttp_request_get_connection(c->c_req);
		if (evcon != NULL) {
			evhttp_connection_set_closecb(evcon, NULL, NULL);
			evhttp_connection_free(evcon);	/* frees c_req */
		} else
			evhttp_send_reply_end(c->c_req);
	} else if (c->c_req != NULL)
		server_proxy_gone(c->c_req, c->c_sb->sb_id);
	c->c_req = NULL;
	call_free(c);
}

static void
call_frame(struct fconn *fc, uint8_t flags, const char *data, size_t len,
    void *arg)
{
	struct call	*c = arg;

	c->c_ops->co_frame(c, flags, data, len);
}

/* The agent went away before the call finished. */
static void
call_closed(struct fconn *fc, const char *cause, void *arg)
{
	struct call	*c = arg;

	log_debug("sandbox %s: agent link closed: %s", c->c_sb->sb_id,
	    cause != NULL ? cause : "end of stream");
	call_abort(c);
}

/* Send the status line and headers of a reply that will stream. */
void
call_reply_start(struct call *c, int status, const char *reason)
{
	struct evhttp_connection	*evcon;

	evhttp_send_reply_start(c->c_req, status, reason);
	c->c_started = 1;
	if ((evcon = evhttp_request_get_connection(c->c_req)) != NULL)
		evhttp_connection_set_closecb(evcon, call_client_closed, c);
}

/* Bytes queued toward the client, not yet written. */
size_t
call_client_backlog(struct call *c)
{
	struct evhttp_connection	*evcon;

	if (c->c_req == NULL ||
	    (evcon = evhttp_request_get_connection(c->c_req)) == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(
	    evhttp_connection_get_bufferevent(evcon))));
}

/*
 * Send part of a started reply (b is emptied).  While the client lags,
 * the agent link is paused, so the agent pauses in turn.
 */
void
call_reply_chunk(struct call *c, struct evbuffer *b)
{
	evhttp_send_reply_chunk_with_cb(c->c_req, b, call_chunk_sent, c);
	if (!c->c_client_paused && call_client_backlog(c) > FCONN_HIGHWATER) {
		c->c_client_paused = 1;
		fconn_pause(c->c_link, 1);
	}
}

/*
 * A chunk was written: resume the agent link if the client caught up, and
 * tell the call.  Runs inside evhttp's write callback, so the call must
 * not free the connection from here.
 */
static void
call_chunk_sent(struct evhttp_connection *evcon, void *arg)
{
	struct call	*c = arg;

	if (c->c_client_paused && call_client_backlog(c) < FCONN_LOWWATER) {
		c->c_client_paused = 0;
		fconn_pause(c->c_link, 0);
	}
	if (c->c_ops->co_drained != NULL)
		c->c_ops->co_drained(c);
}

/* Finish a started reply. */
void
call_reply_end(struct call *c)
{
	struct evhttp_connection	*evcon;

	if ((evcon = evhttp_request_get_connection(c->c_req)) != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	evhttp_send_reply_end(c->c_req);
	c->c_req = NULL;
}

/* The client went away mid-reply; the agent's process carries on. */
static void
call_client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct call	*c = arg;

	log_debug("sandbox %s: client closed a streaming reply",
	    c->c_sb->sb_id);
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	/* A detached request is ours to free; else evhttp frees it. */
	if (evhttp_request_get_connection(c->c_req) == NULL)
		evhttp_send_reply_end(c->c_req);
	c->c_req = NULL;
	call_free(c);
}
