/*
 * The HTTP side of fake-anthropic: POST /v1/messages (any query string)
 * answers from the script; anything else gets a quiet 404.  Each answer
 * runs through one state machine: an optional delay, then the reply,
 * and for a scripted stream break a cut after N events that drops the
 * connection the way a dying proxy would.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fake.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define SERVER_HEADERS_MAX	(64 * 1024)
#define SERVER_TIMEOUT_S	120
#define SERVER_CUT_NOTE		": fake-anthropic cuts the stream here\n\n"

enum reply_state {
	REPLY_WAIT,		/* the scripted delay is running */
	REPLY_SEND,		/* ready to answer */
	REPLY_CUT,		/* stream sent up to the cut, draining */
	REPLY_DONE,		/* answered or gone; free it */
};

struct reply {
	enum reply_state	 r_state;
	struct server		*r_srv;
	struct evhttp_request	*r_req;
	const struct entry	*r_entry;
	int			 r_stream;
	char			*r_model;
	char			 r_id[32];	/* the request-id header */
	struct event		*r_timer;
	TAILQ_ENTRY(reply)	 r_link;
};

struct server {
	struct event_base	*sv_base;
	struct evhttp		*sv_http;
	struct script		*sv_script;
	int			 sv_logfd;	/* -1: no request log */
	const char		*sv_dumpdir;	/* NULL: no body dumps */
	unsigned int		 sv_n;		/* requests seen */
	TAILQ_HEAD(, reply)	 sv_replies;	/* waiting or cutting */
};

static void	server_request(struct evhttp_request *, void *);
static void	server_messages(struct server *, struct evhttp_request *,
		    struct json_object *, const char *);
static struct json_object *server_body(struct server *,
		    struct evhttp_request *, size_t *, char **);
static void	server_log(struct server *, struct json_object *);
static const char *server_reply_kind(const struct entry *,
		    struct json_object *);
static const char *server_method(enum evhttp_cmd_type);
static void	server_send_json(struct evhttp_request *, int,
		    struct json_object *, const char *);
static void	server_send_error(struct evhttp_request *, int,
		    const char *, const char *, const char *);
static void	reply_start(struct server *, struct evhttp_request *,
		    const struct entry *, struct json_object *, const char *);
static void	reply_drive(struct reply *);
static void	reply_send(struct reply *);
static void	reply_stream(struct reply *);
static void	reply_timer_cb(evutil_socket_t, short, void *);
static void	reply_cut_cb(struct evhttp_connection *, void *);
static void	reply_close_cb(struct evhttp_connection *, void *);
static void	reply_free(struct reply **);

static const struct {
	enum evhttp_cmd_type	 cmd;
	const char		*name;
} server_methods[] = {
	{ EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_POST, "POST" },
	{ EVHTTP_REQ_HEAD, "HEAD" }, { EVHTTP_REQ_PUT, "PUT" },
	{ EVHTTP_REQ_DELETE, "DELETE" }, { EVHTTP_REQ_OPTIONS, "OPTIONS" },
	{ EVHTTP_REQ_TRACE, "TRACE" }, { EVHTTP_REQ_CONNECT, "CONNECT" },
	{ EVHTTP_REQ_PATCH, "PATCH" },
};

/* A server on base answering from script; logfd -1 and dumpdir NULL: off. */
struct server *
server_new(struct event_base *base, struct script *script, int logfd,
    const char *dumpdir)
{
	struct server	*srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->sv_base = base;
	srv->sv_script = script;
	srv->sv_logfd = logfd;
	srv->sv_dumpdir = dumpdir;
	TAILQ_INIT(&srv->sv_replies);
	if ((srv->sv_http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_allowed_methods(srv->sv_http, 0x1ff);
	evhttp_set_max_body_size(srv->sv_http, FAKE_BODY_MAX);
	evhttp_set_max_headers_size(srv->sv_http, SERVER_HEADERS_MAX);
	evhttp_set_timeout(srv->sv_http, SERVER_TIMEOUT_S);
	evhttp_set_gencb(srv->sv_http, server_request, srv);
	return (srv);
}

/* Listen on host:port; *bound gets the port (useful with port 0). */
int
server_listen(struct server *srv, const char *host, int port, int *bound,
    char **cause)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 len = sizeof(ss);

	bs = evhttp_bind_socket_with_handle(srv->sv_http, host,
	    (ev_uint16_t)port);
	if (bs == NULL) {
		xasprintf(cause, "cannot listen on %s port %d", host, port);
		return (-1);
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &len) == -1) {
		xasprintf(cause, "getsockname: %s", strerror(errno));
		return (-1);
	}
	if (ss.ss_family == AF_INET6)
		*bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return (0);
}

/* Finish what is pending, then close every connection. */
void
server_free(struct server **srvp)
{
	struct server	*srv = *srvp;
	struct reply	*r;

	if (srv == NULL)
		return;
	while ((r = TAILQ_FIRST(&srv->sv_replies)) != NULL) {
		if (r->r_state == REPLY_WAIT)
			evhttp_send_error(r->r_req, 503, "shutting down");
		else
			evhttp_connection_set_closecb(
			    evhttp_request_get_connection(r->r_req), NULL,
			    NULL);
		reply_free(&r);
	}
	evhttp_free(srv->sv_http);
	free(srv);
	*srvp = NULL;
}

/* Every request: log it, then route it. */
static void
server_request(struct evhttp_request *req, void *arg)
{
	struct server		*srv = arg;
	struct json_object	*line, *hdrs;
	struct evkeyval		*kv;
	const struct evhttp_uri	*uri;
	const char		*path;
	char			 id[32];

	snprintf(id, sizeof(id), "req_fake_%06u", ++srv->sv_n);
	line = json_object_new_object();
	json_add_int(line, "n", srv->sv_n);
	json_add_string(line, "method",
	    server_method(evhttp_request_get_command(req)));
	json_add_string(line, "path", evhttp_request_get_uri(req));
	hdrs = json_object_new_object();
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
		reqlog_add_header(hdrs, kv->key, kv->value);
	json_object_object_add(line, "headers", hdrs);

	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    path != NULL && strcmp(path, "/v1/messages") == 0)
		server_messages(srv, req, line, id);
	else {
		log_debug("%s %s: not found", server_method(
		    evhttp_request_get_command(req)),
		    evhttp_request_get_uri(req));
		json_add_int(line, "status", 404);
		server_log(srv, line);
		server_send_error(req, 404, "not_found_error", "Not found",
		    id);
	}
	json_object_put(line);
}

/* POST /v1/messages: check the body, pick the entry, reply, log line. */
static void
server_messages(struct server *srv, struct evhttp_request *req,
    struct json_object *line, const char *id)
{
	struct json_object	*body, *msgs;
	const struct entry	*e;
	char			*cause = NULL, *msg;
	size_t			 len;

	if ((body = server_body(srv, req, &len, &cause)) == NULL ||
	    json_get_array(body, NULL, "messages", J_REQUIRED, 0, &msgs,
	    &cause) == -1) {
		log_warnx("request %u: %s", srv->sv_n, cause);
		xasprintf(&msg, "invalid request: %s", cause);
		json_add_int(line, "status", 400);
		json_add_string(line, "error", cause);
		server_log(srv, line);
		server_send_error(req, 400, "invalid_request_error", msg, id);
		free(msg);
		free(cause);
		json_object_put(body);
		return;
	}
	json_add_int(line, "body_bytes", (int64_t)len);
	json_object_object_add(line, "summary", reqlog_summary(body));
	e = script_pick(srv->sv_script, reqlog_assistant_turns(body));
	json_add_int(line, "entry", (int64_t)e->e_index);
	json_add_int(line, "status", e->e_status != 0 ? e->e_status : 200);
	reply_start(srv, req, e, body, id);
	json_add_string(line, "reply", server_reply_kind(e, body));
	if (e->e_delay_ms > 0)
		json_add_int(line, "delay_ms", e->e_delay_ms);
	server_log(srv, line);
	json_object_put(body);
}

/* The request body as JSON (dumped first if asked); NULL with a cause. */
static struct json_object *
server_body(struct server *srv, struct evhttp_request *req, size_t *len,
    char **cause)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*data;
	char		*why = NULL;

	*len = evbuffer_get_length(in);
	data = *len == 0 ? "" : (const char *)evbuffer_pullup(in, -1);
	if (srv->sv_dumpdir != NULL && reqlog_dump(srv->sv_dumpdir,
	    srv->sv_n, data, *len, &why) == -1) {
		log_warnx("%s", why);
		free(why);
	}
	return (json_parse(data, *len, cause));
}

/* How the entry answers: "error", "message", "stream" or "stream-cut". */
static const char *
server_reply_kind(const struct entry *e, struct json_object *body)
{
	if (e->e_status != 0)
		return ("error");
	if (!reqlog_wants_stream(body))
		return ("message");
	return (e->e_break_after >= 0 ? "stream-cut" : "stream");
}

/* Write the line to the request log, if there is one. */
static void
server_log(struct server *srv, struct json_object *line)
{
	if (srv->sv_logfd != -1 && reqlog_write(srv->sv_logfd, line) == -1)
		log_warn("request log");
}

static const char *
server_method(enum evhttp_cmd_type cmd)
{
	size_t	i;

	for (i = 0; i < sizeof(server_methods) / sizeof(*server_methods); i++)
		if (server_methods[i].cmd == cmd)
			return (server_methods[i].name);
	return ("?");
}

/*
 * Send obj as the whole answer; takes ownership of obj.  libevent 2.1
 * would send a body after a HEAD answer too, so none is given for HEAD.
 */
static void
server_send_json(struct evhttp_request *req, int status,
    struct json_object *obj, const char *id)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out;

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "request-id", id);
	out = evbuffer_new();
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_printf(out, "%s\n", json_str(obj));
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
	json_object_put(obj);
}

static void
server_send_error(struct evhttp_request *req, int status, const char *type,
    const char *message, const char *id)
{
	server_send_json(req, status, reply_error(type, message, id), id);
}

/* Begin answering req with entry e. */
static void
reply_start(struct server *srv, struct evhttp_request *req,
    const struct entry *e, struct json_object *body, const char *id)
{
	struct reply		*r;
	struct timeval		 tv;

	r = xcalloc(1, sizeof(*r));
	r->r_srv = srv;
	r->r_req = req;
	r->r_entry = e;
	r->r_state = REPLY_SEND;
	r->r_model = xstrdup(json_peek_string(body, "model") != NULL ?
	    json_peek_string(body, "model") : FAKE_DEFAULT_MODEL);
	r->r_stream = reqlog_wants_stream(body);
	snprintf(r->r_id, sizeof(r->r_id), "%s", id);
	log_debug("%s: entry %zu, %s", id, e->e_index, e->e_status != 0 ?
	    "error" : r->r_stream ? "stream" : "message");
	TAILQ_INSERT_TAIL(&srv->sv_replies, r, r_link);
	if (e->e_delay_ms > 0) {
		r->r_state = REPLY_WAIT;
		r->r_timer = evtimer_new(srv->sv_base, reply_timer_cb, r);
		tv.tv_sec = e->e_delay_ms / 1000;
		tv.tv_usec = (e->e_delay_ms % 1000) * 1000;
		evtimer_add(r->r_timer, &tv);
		return;
	}
	reply_drive(r);
}

/* The one place a reply moves forward. */
static void
reply_drive(struct reply *r)
{
	switch (r->r_state) {
	case REPLY_WAIT:
		r->r_state = REPLY_SEND;
		/* FALLTHROUGH */
	case REPLY_SEND:
		reply_send(r);
		if (r->r_state == REPLY_CUT)
			return;
		r->r_state = REPLY_DONE;
		break;
	case REPLY_CUT:
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    r->r_req), NULL, NULL);
		evhttp_connection_free(evhttp_request_get_connection(
		    r->r_req));
		r->r_state = REPLY_DONE;
		break;
	case REPLY_DONE:
		break;
	}
	reply_free(&r);
}

/* Answer: an error, a whole message or a stream (which may cut). */
static void
reply_send(struct reply *r)
{
	const struct entry	*e = r->r_entry;
	char			 secs[32];

	if (evhttp_request_get_connection(r->r_req) == NULL) {
		/* The client left during the delay; libevent let go of req. */
		log_debug("%s: the client left", r->r_id);
		evhttp_request_free(r->r_req);
	} else if (e->e_status != 0) {
		snprintf(secs, sizeof(secs), "%lld",
		    (long long)e->e_retry_after);
		if (e->e_retry_after >= 0)
			evhttp_add_header(evhttp_request_get_output_headers(
			    r->r_req), "retry-after", secs);
		server_send_error(r->r_req, e->e_status, e->e_etype,
		    e->e_emsg, r->r_id);
	} else if (!r->r_stream)
		server_send_json(r->r_req, 200, reply_message(e, r->r_model),
		    r->r_id);
	else
		reply_stream(r);
}

/* Send the SSE events; with a scripted break, stop short and cut. */
static void
reply_stream(struct reply *r)
{
	const struct entry	*e = r->r_entry;
	struct evkeyvalq	*h;
	struct evbuffer		*out;
	struct sse		 ss;
	size_t			 i, n;

	reply_events(e, r->r_model, &ss);
	h = evhttp_request_get_output_headers(r->r_req);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "request-id", r->r_id);
	evhttp_send_reply_start(r->r_req, 200, NULL);
	n = ss.ss_n;
	if (e->e_break_after >= 0 && (size_t)e->e_break_after < n)
		n = (size_t)e->e_break_after;
	out = evbuffer_new();
	for (i = 0; i < n; i++) {
		evbuffer_add(out, ss.ss_events[i], strlen(ss.ss_events[i]));
		evhttp_send_reply_chunk(r->r_req, out);
	}
	if (n == ss.ss_n)
		evhttp_send_reply_end(r->r_req);
	else {
		log_debug("%s: cutting the stream after %zu events", r->r_id,
		    n);
		r->r_state = REPLY_CUT;
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    r->r_req), reply_close_cb, r);
		evbuffer_add(out, SERVER_CUT_NOTE, strlen(SERVER_CUT_NOTE));
		evhttp_send_reply_chunk_with_cb(r->r_req, out, reply_cut_cb,
		    r);
	}
	evbuffer_free(out);
	reply_sse_clear(&ss);
}

static void
reply_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	reply_drive(arg);
}

/* The events before the cut have drained: drop the connection now. */
static void
reply_cut_cb(struct evhttp_connection *evcon, void *arg)
{
	reply_drive(arg);
}

/*
 * The client went away before the cut.  libevent has detached the
 * request from the connection; ending it frees it.
 */
static void
reply_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct reply	*r = arg;

	log_debug("%s: the client left before the cut", r->r_id);
	if (evhttp_request_get_connection(r->r_req) == NULL)
		evhttp_send_reply_end(r->r_req);
	r->r_state = REPLY_DONE;
	reply_free(&r);
}

static void
reply_free(struct reply **rp)
{
	struct reply	*r = *rp;

	if (r == NULL)
		return;
	TAILQ_REMOVE(&r->r_srv->sv_replies, r, r_link);
	if (r->r_timer != NULL)
		event_free(r->r_timer);
	free(r->r_model);
	free(r);
	*rp = NULL;
}
