/*
 * The Streamable HTTP transport (MCP 2025-11-25) on libevent's evhttp:
 * one endpoint, /mcp, for POST (a message; answered with JSON, an SSE
 * stream or 202), GET (the session's stream, or a resumption with
 * Last-Event-ID) and DELETE (end the session).  Every request is checked
 * in this order: Host and Origin (403, against DNS rebinding), the path
 * (404), the bearer token (401), the method (405), then per method the
 * Accept (406) and Content-Type (415) headers, the body cap (413), the
 * session (400 without one, 404 for one unknown) and MCP-Protocol-Version
 * (400 when unsupported or not the negotiated one).  Sessions and
 * streams are in http_sess.c; connections are bounded in http_peer.c.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_int.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
			EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | \
			EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
			EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | \
			EVHTTP_REQ_PATCH)

static const struct {
	int		 code;
	const char	*reason;
} http_reasons[] = {
	{ 200, "OK" }, { 202, "Accepted" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
	{ 409, "Conflict" }, { 413, "Payload Too Large" },
	{ 415, "Unsupported Media Type" }, { 503, "Service Unavailable" },
};

static int	http_timeout_s;		/* for requests to arrive */

static const char *
http_reason(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(http_reasons) / sizeof(http_reasons[0]); i++)
		if (http_reasons[i].code == code)
			return (http_reasons[i].reason);
	return ("Error");
}

static const char *
http_header(struct evhttp_request *req, const char *name)
{
	return (evhttp_find_header(evhttp_request_get_input_headers(req),
	    name));
}

/* Answer with status and an optional JSON body. */
void
http_respond(struct evhttp_request *req, int status, const char *body,
    size_t len, const char *sid)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	if (sid != NULL)
		evhttp_add_header(out, "Mcp-Session-Id", sid);
	if (body != NULL) {
		evhttp_add_header(out, "Content-Type", "application/json");
		if (evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    len) == -1)
			fatalx("http: out of memory");
	}
	evhttp_send_reply(req, status, http_reason(status), NULL);
}

/* Refuse with an HTTP status and a JSON-RPC error without an id. */
void
http_refuse(struct evhttp_request *req, int status, int code,
    const char *msg)
{
	struct json_object	*o;
	const char		*s;
	size_t			 len;

	log_debug("http: %d %s", status, msg);
	o = mcp_error_new(NULL, code, msg, NULL);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	http_respond(req, status, s, len, NULL);
	json_object_put(o);
}

/*
 * Begin an SSE response.  The read timeout no longer applies while it
 * lasts (the client sends nothing); a client that stops reading is
 * bounded by HTTP_OUT_MAX instead.
 */
void
http_sse_start(struct evhttp_request *req, const char *sid)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache, no-transform");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	if (sid != NULL)
		evhttp_add_header(out, "Mcp-Session-Id", sid);
	if (evcon != NULL)
		evhttp_connection_set_timeout(evcon, -1);
	evhttp_send_reply_start(req, 200, "OK");
}

/*
 * Write a piece of an SSE response; -1 (nothing written) when the
 * client has left more than HTTP_OUT_MAX unread.
 */
int
http_write(struct tr_http *th, struct evhttp_request *req, const char *data,
    size_t len)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev, *under;
	size_t				 queued;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (-1);
	bev = evhttp_connection_get_bufferevent(evcon);
	queued = evbuffer_get_length(bufferevent_get_output(bev));
	if ((under = bufferevent_get_underlying(bev)) != NULL)
		queued += evbuffer_get_length(bufferevent_get_output(under));
	if (queued + len > HTTP_OUT_MAX)
		return (-1);
	if (evbuffer_add(th->th_scratch, data, len) == -1)
		fatalx("http: out of memory");
	evhttp_send_reply_chunk(req, th->th_scratch);
	return (0);
}

static void
http_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	sess_closed(arg);
}

/* Hear of it if the client of this request goes away. */
void
http_watch(struct evhttp_request *req, struct http_stream *st)
{
	struct evhttp_connection	*evcon;

	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_set_closecb(evcon, http_closed_cb, st);
}

/* Stop watching; the connection reads the next request in time. */
void
http_unwatch(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return;
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	evhttp_connection_set_timeout(evcon, http_timeout_s);
}

/*
 * MCP-Protocol-Version, if sent, must be one we speak and, on a
 * session, the negotiated one.  0 if fine, -1 after refusing.
 */
static int
http_check_version(struct evhttp_request *req, struct http_sess *s)
{
	const char	*v = http_header(req, "MCP-Protocol-Version");
	char		 msg[256];

	if (v == NULL)
		return (0);
	if (mcp_version_supported(v) == NULL)
		snprintf(msg, sizeof(msg), "Bad Request: unsupported "
		    "MCP-Protocol-Version %.32s (supported: 2025-11-25, "
		    "2025-06-18, 2025-03-26)", v);
	else if (s != NULL && strcmp(v, mcp_conn_version(s->s_conn)) != 0)
		snprintf(msg, sizeof(msg), "Bad Request: MCP-Protocol-Version "
		    "%.32s is not the version negotiated (%s)", v,
		    mcp_conn_version(s->s_conn));
	else
		return (0);
	http_refuse(req, 400, -32000, msg);
	return (-1);
}

/* The session a request names; NULL after refusing (400 or 404). */
static struct http_sess *
http_session(struct tr_http *th, struct evhttp_request *req)
{
	const char		*sid = http_header(req, "Mcp-Session-Id");
	struct http_sess	*s;

	if (sid == NULL) {
		http_refuse(req, 400, -32000, "Bad Request: Mcp-Session-Id "
		    "header is required (initialize first)");
		return (NULL);
	}
	if ((s = sess_find(th, sid)) == NULL) {
		http_refuse(req, 404, -32001, "Session not found");
		return (NULL);
	}
	return (http_check_version(req, s) == -1 ? NULL : s);
}

/* Is this body an initialize request?  -1 after refusing a parse error. */
static int
http_initialize(struct evhttp_request *req, const char *body, size_t len)
{
	struct json_object	*o;
	const char		*m;
	char			*cause = NULL, *msg;
	int			 r;

	if ((o = json_parse(body, len, &cause)) == NULL) {
		xasprintf(&msg, "Parse error: %s", cause);
		http_refuse(req, 400, MCP_PARSE_ERROR, msg);
		free(msg);
		free(cause);
		return (-1);
	}
	r = json_object_is_type(o, json_type_object) &&
	    (m = json_peek_string(o, "method")) != NULL &&
	    strcmp(m, "initialize") == 0;
	json_object_put(o);
	return (r);
}

/* POST without a session: only initialize, which makes one. */
static void
http_post_new(struct tr_http *th, struct evhttp_request *req,
    const char *body, size_t len)
{
	struct http_sess	*s;
	int			 init;

	if ((init = http_initialize(req, body, len)) == -1)
		return;
	if (!init) {
		http_refuse(req, 400, -32000, "Bad Request: Mcp-Session-Id "
		    "header is required (initialize first)");
		return;
	}
	if (http_check_version(req, NULL) == -1)
		return;
	if (sess_room(th) == -1) {
		http_refuse(req, 503, -32000, "Service Unavailable: too many "
		    "sessions");
		return;
	}
	s = sess_new(th);
	sess_post(s, req, body, len);
	if (mcp_conn_version(s->s_conn) == NULL)
		sess_free(&s);
	else
		log_info("http: session %.8s... opened (%zu open)", s->s_id,
		    th->th_nsessions);
}

/* POST: one JSON-RPC message (or a 2025-03-26 batch). */
static void
http_post(struct tr_http *th, struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct http_sess	*s;
	const char		*ct = http_header(req, "Content-Type");
	const char		*accept = http_header(req, "Accept");
	const char		*body;
	size_t			 len = evbuffer_get_length(in);

	if (!guard_accepts(accept, "application/json") ||
	    !guard_accepts(accept, "text/event-stream")) {
		http_refuse(req, 406, -32000, "Not Acceptable: Accept must "
		    "take both application/json and text/event-stream");
		return;
	}
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		http_refuse(req, 415, -32000, "Unsupported Media Type: "
		    "Content-Type must be application/json");
		return;
	}
	body = (const char *)evbuffer_pullup(in, -1);
	if (len == 0 || body == NULL) {
		http_refuse(req, 400, MCP_PARSE_ERROR, "Parse error: the "
		    "body is empty");
		return;
	}
	if (http_header(req, "Mcp-Session-Id") == NULL) {
		http_post_new(th, req, body, len);
		return;
	}
	if ((s = http_session(th, req)) != NULL)
		sess_post(s, req, body, len);
}

/* GET: the session's SSE stream, or a resumption. */
static void
http_get(struct tr_http *th, struct evhttp_request *req)
{
	struct http_sess	*s;

	if (!guard_accepts(http_header(req, "Accept"), "text/event-stream")) {
		http_refuse(req, 406, -32000, "Not Acceptable: Accept must "
		    "take text/event-stream");
		return;
	}
	if ((s = http_session(th, req)) != NULL)
		sess_get(s, req, http_header(req, "Last-Event-ID"));
}

/* DELETE: end the session. */
static void
http_delete(struct tr_http *th, struct evhttp_request *req)
{
	struct http_sess	*s;

	if ((s = http_session(th, req)) == NULL)
		return;
	log_info("http: session %.8s... ended by the client", s->s_id);
	sess_free(&s);
	http_respond(req, 200, NULL, 0, NULL);
}

/* Host, Origin, path and token; 0 if the request may go on. */
static int
http_admit(struct tr_http *th, struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	int			 t;

	if (guard_host(&th->th_guard, http_header(req, "Host")) == -1 ||
	    guard_origin(&th->th_guard, http_header(req, "Origin")) == -1) {
		http_refuse(req, 403, -32000, "Forbidden: Host or Origin not "
		    "allowed");
		return (-1);
	}
	if (path == NULL || strcmp(path, HTTP_PATH) != 0) {
		http_refuse(req, 404, -32000, "Not Found: the MCP endpoint "
		    "is " HTTP_PATH);
		return (-1);
	}
	if ((t = guard_token(&th->th_guard,
	    http_header(req, "Authorization"))) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", t == -1 ? "Bearer realm=\"skillbox\"" :
		    "Bearer realm=\"skillbox\", error=\"invalid_token\"");
		http_refuse(req, 401, -32000, t == -1 ? "Unauthorized: "
		    "a bearer token is required" : "Unauthorized: invalid "
		    "bearer token");
		return (-1);
	}
	return (0);
}

/* Every request that arrived whole. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct tr_http	*th = arg;

	peers_request_read(req);
	if (http_admit(th, req) == -1)
		return;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		http_post(th, req);
		break;
	case EVHTTP_REQ_GET:
		http_get(th, req);
		break;
	case EVHTTP_REQ_DELETE:
		http_delete(th, req);
		break;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, POST, DELETE");
		http_refuse(req, 405, -32000, "Method Not Allowed");
		break;
	}
}

static void
http_sweep_cb(int fd, short what, void *arg)
{
	sess_sweep(arg);
}

/* Split "host:port" or "[v6]:port"; -1 if it is neither. */
static int
http_parse_listen(const char *listen, char **host, unsigned short *port)
{
	const char	*colon = strrchr(listen, ':');
	char		*end;
	long		 n;

	if (colon == NULL || colon == listen)
		return (-1);
	n = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || n < 0 || n > 65535)
		return (-1);
	*port = (unsigned short)n;
	if (listen[0] == '[' && colon[-1] == ']')
		*host = xstrndup(listen + 1, (size_t)(colon - listen - 2));
	else
		*host = xstrndup(listen, (size_t)(colon - listen));
	return (0);
}

/* Log where a bound socket listens; is it a loopback address? */
static int
http_bound(evutil_socket_t fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 addr[INET6_ADDRSTRLEN];
	int			 port, v6;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return (0);
	v6 = ss.ss_family == AF_INET6;
	if (v6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	log_info("serving MCP over HTTP at http://%s%s%s:%d" HTTP_PATH,
	    v6 ? "[" : "", addr, v6 ? "]" : "", port);
	return (guard_loopback(addr));
}

/*
 * Listen: on the sockets systemd passed, else on cfg->c_listen.  The
 * host part is returned for the Host allow-list, and whether every
 * socket is on a loopback address.
 */
static int
http_listen(struct tr_http *th, const struct sv_config *cfg, char **host,
    int *loopback, char **cause)
{
	struct evhttp_bound_socket	*bs;
	unsigned short			 port;
	int				 first, n, i;

	if ((n = sd_listen_fds(&first, cause)) == -1)
		return (-1);
	*loopback = 1;
	for (i = 0; i < n; i++) {
		evutil_make_socket_nonblocking(first + i);
		if ((bs = evhttp_accept_socket_with_handle(th->th_http,
		    first + i)) == NULL) {
			xasprintf(cause, "socket activation: descriptor %d "
			    "cannot accept", first + i);
			return (-1);
		}
		*loopback &= http_bound(evhttp_bound_socket_get_fd(bs));
	}
	if (n > 0)
		return (0);
	if (cfg->c_listen == NULL || http_parse_listen(cfg->c_listen, host,
	    &port) == -1) {
		xasprintf(cause, "listen address '%s': expected ADDRESS:PORT",
		    cfg->c_listen != NULL ? cfg->c_listen : "");
		return (-1);
	}
	if ((bs = evhttp_bind_socket_with_handle(th->th_http, *host,
	    port)) == NULL) {
		xasprintf(cause, "cannot listen on %s", cfg->c_listen);
		return (-1);
	}
	*loopback = http_bound(evhttp_bound_socket_get_fd(bs));
	return (0);
}

/* Connections at most: HTTP_PEERS_MAX, and what the fd limit allows. */
static size_t
http_peers_max(void)
{
	struct rlimit	rl;
	size_t		max = HTTP_PEERS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max + 128)
		max = rl.rlim_cur > 256 ? (size_t)rl.rlim_cur - 128 : 128;
	return (max);
}

/*
 * Serve Streamable HTTP as cfg says.  no_auth (--no-auth) serves without
 * a token, on loopback only.
 */
int
tr_http_new(struct event_base *base, const struct sv_config *cfg,
    int no_auth, struct tr_http **out, char **cause)
{
	struct timeval	 tv = { HTTP_SWEEP_MS / 1000, 0 };
	struct tr_http	*th;
	char		*host = NULL;
	int		 loopback = 0;

	th = xcalloc(1, sizeof(*th));
	th->th_base = base;
	th->th_max_sessions = (size_t)cfg->c_max_sessions;
	th->th_timeout_s = http_timeout_s = (int)cfg->c_http_timeout_s;
	TAILQ_INIT(&th->th_sessions);
	if ((th->th_http = evhttp_new(base)) == NULL ||
	    (th->th_scratch = evbuffer_new()) == NULL)
		fatalx("http: cannot set up the server");
	evhttp_set_bevcb(th->th_http, peers_bev, NULL);
	evhttp_set_gencb(th->th_http, http_request_cb, th);
	evhttp_set_allowed_methods(th->th_http, HTTP_METHODS);
	evhttp_set_max_body_size(th->th_http, cfg->c_http_body_max);
	evhttp_set_max_headers_size(th->th_http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(th->th_http, th->th_timeout_s);
	evhttp_set_default_content_type(th->th_http, NULL);
	peers_init(base, th->th_timeout_s, http_peers_max());
	if (http_listen(th, cfg, &host, &loopback, cause) == -1 ||
	    guard_init(&th->th_guard, cfg, no_auth, host, cause) == -1)
		goto fail;
	if (no_auth && !loopback) {
		xasprintf(cause, "--no-auth is allowed on a loopback address "
		    "only, not %s", host != NULL ? host : "a socket passed in");
		goto fail;
	}
	if (no_auth)
		log_warnx("*** --no-auth: the HTTP host accepts requests "
		    "WITHOUT A TOKEN; for conformance runs and loopback "
		    "development only ***");
	th->th_sweep = event_new(base, -1, EV_PERSIST, http_sweep_cb, th);
	evtimer_add(th->th_sweep, &tv);
	free(host);
	*out = th;
	return (0);
fail:
	free(host);
	tr_http_free(&th);
	return (-1);
}

/* Close every session and connection and stop listening. */
void
tr_http_free(struct tr_http **thp)
{
	struct tr_http		*th = *thp;
	struct http_sess	*s;

	if (th == NULL)
		return;
	while ((s = TAILQ_FIRST(&th->th_sessions)) != NULL)
		sess_free(&s);
	if (th->th_sweep != NULL)
		event_free(th->th_sweep);
	if (th->th_http != NULL)
		evhttp_free(th->th_http);
	if (th->th_scratch != NULL)
		evbuffer_free(th->th_scratch);
	guard_clear(&th->th_guard);
	peers_fini();
	free(th);
	*thp = NULL;
}
