/*
 * Streamable HTTP sessions.  A session is one MCP connection, created by
 * an initialize POST and named by a random Mcp-Session-Id.  Each POST
 * gets a stream for what its input causes: a lone answer goes back as
 * JSON (or 202 when there is none), anything more (progress, logs, our
 * own requests, or an answer that must wait) turns the response into an
 * SSE stream.  The GET stream carries what belongs to the connection
 * (job log messages, resource updates, task status).  Every SSE event
 * has an id "<stream>.<n>" and stays in a bounded ring, so that a client
 * that lost its connection resumes with GET and Last-Event-ID; a
 * disconnect never cancels a request.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "clock.h"
#include "http_int.h"
#include "log.h"
#include "rnd.h"
#include "xmalloc.h"

static void	sess_send(void *, void *, enum mcp_send, const char *,
		    size_t);
static void	sess_done(void *, void *);
static void	stream_free(struct http_stream *);
static void	stream_finish(struct http_stream *);

static const struct mcp_transport sess_ops = {
	"http", sess_send, sess_done
};

/* A stream of a session; number 0 is its GET stream. */
static struct http_stream *
stream_new(struct http_sess *s, uint32_t no)
{
	struct http_stream	*st;

	st = xcalloc(1, sizeof(*st));
	st->st_sess = s;
	st->st_no = no;
	return (st);
}

/* The session id the responses carry, once it is initialized. */
static const char *
sess_header(const struct http_sess *s)
{
	return (mcp_conn_version(s->s_conn) != NULL ? s->s_id : NULL);
}

/* A new session with its own MCP connection. */
struct http_sess *
sess_new(struct tr_http *th)
{
	struct http_sess	*s;

	s = xcalloc(1, sizeof(*s));
	rnd_hex(s->s_id, HTTP_SID_HEX);
	s->s_tr = th;
	TAILQ_INIT(&s->s_streams);
	s->s_get = stream_new(s, 0);
	s->s_conn = mcp_conn_new(&sess_ops, s);
	s->s_used = clock_mono_ms();
	TAILQ_INSERT_HEAD(&th->th_sessions, s, s_entry);
	th->th_nsessions++;
	return (s);
}

/* End a session: its requests are dropped, its streams closed. */
void
sess_free(struct http_sess **sp)
{
	struct http_sess	*s = *sp;
	struct http_stream	*st;

	if (s == NULL)
		return;
	mcp_conn_free(&s->s_conn);
	while ((st = TAILQ_FIRST(&s->s_streams)) != NULL)
		stream_free(st);
	stream_free(s->s_get);
	TAILQ_REMOVE(&s->s_tr->th_sessions, s, s_entry);
	s->s_tr->th_nsessions--;
	free(s);
	*sp = NULL;
}

/* The session of this id, or NULL. */
struct http_sess *
sess_find(struct tr_http *th, const char *id)
{
	struct http_sess	*s;

	if (id == NULL || strlen(id) != HTTP_SID_HEX)
		return (NULL);
	TAILQ_FOREACH(s, &th->th_sessions, s_entry)
		if (strcmp(s->s_id, id) == 0)
			return (s);
	return (NULL);
}

/* Does the session have a stream a client is reading? */
static int
sess_attached(const struct http_sess *s)
{
	const struct http_stream	*st;

	if (s->s_get->st_req != NULL)
		return (1);
	TAILQ_FOREACH(st, &s->s_streams, st_entry)
		if (st->st_req != NULL)
			return (1);
	return (0);
}

/* Can the session go?  Nothing pending, nobody reading. */
static int
sess_idle(const struct http_sess *s)
{
	return (!mcp_conn_busy(s->s_conn) && !sess_attached(s));
}

/* Room for a new session: at the limit, the oldest idle one goes. */
int
sess_room(struct tr_http *th)
{
	struct http_sess	*s;

	if (th->th_nsessions < th->th_max_sessions)
		return (0);
	TAILQ_FOREACH_REVERSE(s, &th->th_sessions, http_sessions, s_entry)
		if (sess_idle(s)) {
			log_info("http: session %.8s... closed to make room",
			    s->s_id);
			sess_free(&s);
			return (0);
		}
	return (-1);
}

/* Let go of the HTTP request a stream is written to. */
static void
stream_detach(struct http_stream *st)
{
	struct evhttp_request	*req = st->st_req;

	if (req == NULL)
		return;
	st->st_req = NULL;
	http_unwatch(req);
	if (st->st_sse)
		evhttp_send_reply_end(req);
	else
		http_refuse(req, 404, -32001, "Session not found: it ended");
}

/* Forget a stream and its events. */
static void
stream_free(struct http_stream *st)
{
	struct http_sess	*s = st->st_sess;

	stream_detach(st);
	http_ring_free(&st->st_ring);
	if (st != s->s_get) {
		if (st->st_done && st->st_sse)
			s->s_nkept--;
		TAILQ_REMOVE(&s->s_streams, st, st_entry);
	}
	free(st->st_reply);
	free(st);
}

/* Cut off a client that does not read what it is sent. */
static void
stream_cut(struct http_stream *st)
{
	struct evhttp_request	*req = st->st_req;

	log_warnx("http: session %.8s...: the client does not read its "
	    "stream; closing the connection", st->st_sess->s_id);
	st->st_req = NULL;
	http_unwatch(req);
	if (evhttp_request_get_connection(req) != NULL)
		evhttp_connection_free(evhttp_request_get_connection(req));
}

/* Write one event of the ring to the attached client. */
static void
stream_write(struct http_stream *st, const struct http_event *ev)
{
	struct buf	b;

	if (st->st_req == NULL)
		return;
	buf_init(&b, (size_t)-1 / 2);
	(void)buf_printf(&b, "id: %" PRIu32 ".%" PRIu64 "\nevent: message\n"
	    "data: ", st->st_no, ev->ev_seq);
	(void)buf_add(&b, ev->ev_data, ev->ev_len);
	(void)buf_addstr(&b, "\n\n");
	if (http_write(st->st_sess->s_tr, st->st_req, buf_str(&b),
	    buf_len(&b)) == -1)
		stream_cut(st);
	else {
		st->st_sent = ev->ev_seq;
		st->st_wrote = clock_mono_ms();
	}
	buf_free(&b);
}

/* Number an event, keep it in the ring, write it if a client reads. */
static void
stream_event(struct http_stream *st, const char *data, size_t len)
{
	stream_write(st, http_ring_add(&st->st_ring, ++st->st_seq, data, len));
}

/* Write every event after seq that the ring still holds. */
static void
stream_replay(struct http_stream *st, uint64_t after)
{
	const struct http_event	*ev;
	size_t			 i;

	for (i = 0; i < http_ring_count(&st->st_ring) && st->st_req != NULL;
	    i++) {
		ev = http_ring_get(&st->st_ring, i);
		if (ev->ev_seq > after)
			stream_write(st, ev);
	}
}

/*
 * Start answering req with SSE: the headers, then a priming event whose
 * id says how far the client has read, and how long to wait before
 * reconnecting.
 */
static void
stream_sse(struct http_stream *st, uint64_t seen)
{
	char	prime[96];
	int	n;

	st->st_sse = 1;
	if (st->st_req == NULL)
		return;
	http_sse_start(st->st_req, sess_header(st->st_sess));
	n = snprintf(prime, sizeof(prime), "id: %" PRIu32 ".%" PRIu64
	    "\nretry: %d\ndata: \n\n", st->st_no, seen, HTTP_RETRY_MS);
	if (http_write(st->st_sess->s_tr, st->st_req, prime, (size_t)n) == -1)
		stream_cut(st);
	st->st_wrote = clock_mono_ms();
}

/* The transport's mt_send: a message for a stream of the session. */
static void
sess_send(void *arg, void *ctx, enum mcp_send kind, const char *data,
    size_t len)
{
	struct http_sess	*s = arg;
	struct http_stream	*st = ctx != NULL ? ctx : s->s_get;

	if (st == s->s_get || st->st_sse) {
		stream_event(st, data, len);
		return;
	}
	if ((kind == MCP_SEND_REPLY || kind == MCP_SEND_ERROR) &&
	    st->st_reply == NULL) {
		st->st_reply = xmemdup(data, len);
		st->st_replylen = len;
		st->st_refused = kind == MCP_SEND_ERROR;
		return;
	}
	stream_sse(st, 0);
	if (st->st_reply != NULL) {
		stream_event(st, st->st_reply, st->st_replylen);
		free(st->st_reply);
		st->st_reply = NULL;
	}
	stream_event(st, data, len);
}

/* Keep at most HTTP_STREAMS_KEPT ended streams, for resumption. */
static void
sess_trim(struct http_sess *s)
{
	struct http_stream	*st, *next;

	for (st = TAILQ_FIRST(&s->s_streams); st != NULL &&
	    s->s_nkept > HTTP_STREAMS_KEPT; st = next) {
		next = TAILQ_NEXT(st, st_entry);
		if (st->st_done && st->st_sse && st->st_req == NULL)
			stream_free(st);
	}
}

/*
 * Everything the POST caused is sent: answer with the JSON held (400 if
 * it refused the input), 202 if there was nothing, or end the SSE stream
 * and keep it a while for resumption.
 */
static void
stream_finish(struct http_stream *st)
{
	struct http_sess	*s = st->st_sess;
	struct evhttp_request	*req = st->st_req;

	if (st->st_sse) {
		stream_detach(st);
		s->s_nkept++;
		sess_trim(s);
		return;
	}
	if (req != NULL) {
		st->st_req = NULL;
		http_unwatch(req);
		if (st->st_reply != NULL)
			http_respond(req, st->st_refused ? 400 : 200,
			    st->st_reply, st->st_replylen, sess_header(s));
		else
			http_respond(req, 202, NULL, 0, sess_header(s));
	}
	stream_free(st);
}

/* The transport's mt_done: the stream's input is finished. */
static void
sess_done(void *arg, void *ctx)
{
	struct http_stream	*st = ctx;

	if (st == NULL)
		return;
	st->st_done = 1;
	if (!st->st_reading)
		stream_finish(st);
}

/*
 * A POST's message for the session: the input goes to the MCP core with
 * a new stream; what it causes is answered as it comes.  An answer that
 * has to wait makes the response an SSE stream at once.
 */
void
sess_post(struct http_sess *s, struct evhttp_request *req, const char *body,
    size_t len)
{
	struct http_stream	*st;

	st = stream_new(s, ++s->s_nextno);
	TAILQ_INSERT_TAIL(&s->s_streams, st, st_entry);
	st->st_req = req;
	http_watch(req, st);
	s->s_used = clock_mono_ms();
	st->st_reading = 1;
	mcp_conn_input(s->s_conn, body, len, st);
	st->st_reading = 0;
	if (st->st_done)
		stream_finish(st);
	else if (!st->st_sse)
		stream_sse(st, 0);
}

/* The stream a Last-Event-ID "<stream>.<n>" names, and n. */
static struct http_stream *
sess_stream(struct http_sess *s, const char *id, uint64_t *seq)
{
	struct http_stream	*st;
	unsigned long long	 no, n;
	int			 end = 0;

	if (sscanf(id, "%llu.%llu%n", &no, &n, &end) != 2 ||
	    id[end] != '\0' || no > UINT32_MAX)
		return (NULL);
	*seq = n;
	if (no == 0)
		return (s->s_get);
	TAILQ_FOREACH(st, &s->s_streams, st_entry)
		if (st->st_no == no)
			return (st);
	return (NULL);
}

/*
 * GET: the session's stream.  With Last-Event-ID, resume the stream it
 * names from there (a POST stream ends once replayed and done); else
 * open the GET stream, delivering what nobody has read yet.  One reader
 * per stream: a second gets 409.
 */
void
sess_get(struct http_sess *s, struct evhttp_request *req, const char *last)
{
	struct http_stream	*st = NULL;
	uint64_t		 seen = 0;

	if (last != NULL && (st = sess_stream(s, last, &seen)) == NULL)
		log_debug("http: session %.8s...: Last-Event-ID %.40s is "
		    "gone; opening the GET stream", s->s_id, last);
	if (st == NULL) {
		st = s->s_get;
		seen = st->st_sent;
	}
	if (st->st_req != NULL) {
		http_refuse(req, 409, -32000, "Conflict: this stream is "
		    "already being read");
		return;
	}
	s->s_used = clock_mono_ms();
	st->st_req = req;
	http_watch(req, st);
	stream_sse(st, seen);
	stream_replay(st, seen);
	if (st->st_done && st->st_req != NULL)
		stream_detach(st);
}

/* A stream's client went away; its events wait for a resumption. */
void
sess_closed(struct http_stream *st)
{
	struct evhttp_request	*req = st->st_req;

	st->st_req = NULL;
	st->st_sse = 1;
	/* A request evhttp let go of is ours to free. */
	if (req != NULL && evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

/* Keep quiet SSE streams alive; close sessions idle too long. */
void
sess_sweep(struct tr_http *th)
{
	struct http_sess	*s, *next;
	struct http_stream	*st;
	int64_t			 now = clock_mono_ms();

	for (s = TAILQ_FIRST(&th->th_sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, s_entry);
		if (now - s->s_used > HTTP_SESSION_IDLE_MS && sess_idle(s)) {
			log_info("http: session %.8s... idle, closed",
			    s->s_id);
			sess_free(&s);
			continue;
		}
		st = s->s_get;
		do {
			if (st->st_req != NULL && st->st_sse &&
			    now - st->st_wrote >= HTTP_KEEPALIVE_MS) {
				if (http_write(th, st->st_req,
				    ": keepalive\n\n", 13) == -1)
					stream_cut(st);
				st->st_wrote = now;
			}
			st = st == s->s_get ? TAILQ_FIRST(&s->s_streams) :
			    TAILQ_NEXT(st, st_entry);
		} while (st != NULL);
	}
}
