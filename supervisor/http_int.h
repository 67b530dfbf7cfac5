/*
 * The Streamable HTTP transport's private parts, shared by tr_http.c
 * (the server: requests, their checks, responses), http_sess.c (sessions
 * and their streams, SSE and resumption), http_guard.c (Host, Origin,
 * bearer token, Accept) and http_peer.c (connections: their number and
 * how long a request may take to arrive).
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"
#include "skillboxd.h"

struct bufferevent;
struct evbuffer;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;

#define HTTP_PATH		"/mcp"
#define HTTP_SID_HEX		32		/* 128 random bits */
#define HTTP_RING_EVENTS	128		/* events kept per stream */
#define HTTP_RING_BYTES		(1024 * 1024)
#define HTTP_RINGS_MAX		(64 * 1024 * 1024) /* kept in all streams */
#define HTTP_STREAMS_KEPT	8		/* ended streams kept */
#define HTTP_SESSION_IDLE_MS	(30 * 60 * 1000)
#define HTTP_KEEPALIVE_MS	15000		/* SSE comment when quiet */
#define HTTP_SWEEP_MS		5000
#define HTTP_OUT_MAX		(16 * 1024 * 1024) /* unread output */
#define HTTP_HEADERS_MAX	(64 * 1024)
#define HTTP_RETRY_MS		1000		/* SSE retry: */
#define HTTP_TOKEN_MIN		16
#define HTTP_TOKEN_MAX		4096
#define HTTP_PEERS_MAX		4096

/* http_guard.c */

/* Who may talk to the server: Host and Origin allow-lists, the token. */
struct http_guard {
	int		 hg_auth;		/* a token is required */
	uint8_t		 hg_token[SHA256_DIGEST_LEN];	/* its digest */
	char		**hg_hosts;		/* allowed Host values */
	size_t		 hg_nhosts;
	char		**hg_origins;		/* NULL: loopback ones */
	size_t		 hg_norigins;
};

int		 guard_init(struct http_guard *, const struct sv_config *,
		     int, const char *, char **);
void		 guard_clear(struct http_guard *);
int		 guard_host(const struct http_guard *, const char *);
int		 guard_origin(const struct http_guard *, const char *);
int		 guard_token(const struct http_guard *, const char *);
int		 guard_accepts(const char *, const char *);
int		 guard_loopback(const char *);

/* http_sess.c */

/* One event of a stream, kept for Last-Event-ID replay. */
struct http_event {
	uint64_t	 ev_seq;
	char		*ev_data;	/* the JSON message */
	size_t		 ev_len;
};

/*
 * A stream's events, kept for Last-Event-ID replay (http_ring.c): at most
 * HTTP_RING_EVENTS and HTTP_RING_BYTES in one stream, and HTTP_RINGS_MAX
 * in all, past which the streams written to least recently lose their
 * oldest events first.
 */
struct http_ring {
	struct http_event	*r_ev;		/* HTTP_RING_EVENTS, or NULL */
	size_t			 r_first;	/* oldest */
	size_t			 r_count;
	size_t			 r_bytes;
	int			 r_listed;	/* in the least-recent list */
	TAILQ_ENTRY(http_ring)	 r_lru;
};

const struct http_event *http_ring_add(struct http_ring *, uint64_t,
		    const char *, size_t);
size_t		 http_ring_count(const struct http_ring *);
const struct http_event *http_ring_get(const struct http_ring *, size_t);
void		 http_ring_free(struct http_ring *);
size_t		 http_rings_bytes(void);
void		 http_rings_set_max(size_t);

/*
 * A stream: the answer to one POST, or the session's GET stream (number
 * 0).  Its events are numbered and kept in a bounded ring, so that a
 * client that lost the connection can resume with GET and
 * Last-Event-ID.  st_req is the HTTP request it is written to, if any.
 */
struct http_stream {
	struct http_sess	*st_sess;
	uint32_t		 st_no;
	struct evhttp_request	*st_req;	/* attached, or NULL */
	int			 st_sse;	/* answering with SSE */
	int			 st_done;	/* no more events will come */
	int			 st_reading;	/* its input is being read */
	uint64_t		 st_seq;	/* last event numbered */
	uint64_t		 st_sent;	/* last event written */
	struct http_ring	 st_ring;
	char			*st_reply;	/* a JSON answer, held */
	size_t			 st_replylen;
	int			 st_refused;	/* the answer is a refusal */
	int64_t			 st_wrote;	/* last write, monotonic ms */
	TAILQ_ENTRY(http_stream) st_entry;
};
TAILQ_HEAD(http_streams, http_stream);

/* A session: one MCP connection, its GET stream, its request streams. */
struct http_sess {
	char			 s_id[HTTP_SID_HEX + 1];
	struct tr_http		*s_tr;
	struct mcp_conn		*s_conn;
	struct http_stream	*s_get;
	struct http_streams	 s_streams;	/* POST streams */
	size_t			 s_nkept;	/* of those, ended */
	uint32_t		 s_nextno;
	int64_t			 s_used;	/* last request, monotonic ms */
	TAILQ_ENTRY(http_sess)	 s_entry;
};
TAILQ_HEAD(http_sessions, http_sess);

struct tr_http {
	struct event_base	*th_base;
	struct evhttp		*th_http;
	struct http_guard	 th_guard;
	int			 th_timeout_s;
	size_t			 th_max_sessions;
	struct http_sessions	 th_sessions;
	size_t			 th_nsessions;
	struct event		*th_sweep;
	struct evbuffer		*th_scratch;
};

struct http_sess *sess_new(struct tr_http *);
void		 sess_free(struct http_sess **);
struct http_sess *sess_find(struct tr_http *, const char *);
int		 sess_room(struct tr_http *);
void		 sess_sweep(struct tr_http *);
void		 sess_post(struct http_sess *, struct evhttp_request *,
		     const char *, size_t);
void		 sess_get(struct http_sess *, struct evhttp_request *,
		     const char *);
void		 sess_closed(struct http_stream *);

/* tr_http.c */

void		 http_respond(struct evhttp_request *, int, const char *,
		     size_t, const char *);
void		 http_refuse(struct evhttp_request *, int, int,
		     const char *);
void		 http_sse_start(struct evhttp_request *, const char *);
int		 http_write(struct tr_http *, struct evhttp_request *,
		     const char *, size_t);
void		 http_watch(struct evhttp_request *, struct http_stream *);
void		 http_unwatch(struct evhttp_request *);

/* http_peer.c */

void		 peers_init(struct event_base *, int, size_t);
void		 peers_fini(void);
struct bufferevent *peers_bev(struct event_base *, void *);
void		 peers_request_read(struct evhttp_request *);
size_t		 peers_count(void);

#endif /* HTTP_INT_H */
