/*
 * The HTTP listener: routes each request to the control plane, a
 * sandbox's envd, or /_local/; counts it, applies the switchable faults
 * and latency, and holds the reply helpers that give E2B's error shapes.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "e2b-local.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define SERVER_API_KEY_PREFIX	"e2b_"

static const struct {
	const char	*code;
	int		 status;
} server_codes[] = {
	{ "canceled", 499 }, { "unknown", 500 }, { "invalid_argument", 400 },
	{ "deadline_exceeded", 504 }, { "not_found", 404 },
	{ "already_exists", 409 }, { "permission_denied", 403 },
	{ "resource_exhausted", 429 }, { "failed_precondition", 400 },
	{ "aborted", 409 }, { "out_of_range", 400 }, { "unimplemented", 501 },
	{ "internal", 500 }, { "unavailable", 503 }, { "data_loss", 500 },
	{ "unauthenticated", 401 },
};

/* Requests waiting out the latency fault, freed at exit if still there. */
static TAILQ_HEAD(, delayed) server_delayed =
    TAILQ_HEAD_INITIALIZER(server_delayed);
struct delayed {
	struct request		*d_q;
	TAILQ_ENTRY(delayed)	 d_entry;
};

static void	server_request_cb(struct evhttp_request *, void *);
static const struct route *server_route(const struct route *, int,
		    const char *, char *, size_t);
static void	server_continue(struct request *);
static void	server_delay_cb(evutil_socket_t, short, void *);
static int	server_api_auth(struct request *);
static int	server_fault(struct request *);
static void	server_request_free(struct request *);
static void	server_vreply(struct evhttp_request *, int, const char *,
		    const char *, va_list, int)
		    __attribute__((__format__(printf, 4, 0)));
static int	server_loopback(const char *);
static void	server_send(struct evhttp_request *, int, const char *,
		    const char *, const char *, size_t);

/* Is this a loopback address (or "localhost")? */
static int
server_loopback(const char *addr)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (strcmp(addr, "localhost") == 0)
		return (1);
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return (IN6_IS_ADDR_LOOPBACK(&a6));
	return (0);
}

/* Listen on ADDR:PORT (loopback only) and print "LISTENING <port>". */
void
server_init(const char *listen)
{
	struct evhttp_bound_socket	*bound;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen = sizeof(ss);
	char				*addr, *colon;
	char				*end;
	long				 port;
	int				 p;

	addr = xstrdup(listen);
	if ((colon = strrchr(addr, ':')) == NULL)
		fatalx("--listen %s: expected ADDR:PORT", listen);
	*colon = '\0';
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		fatalx("--listen %s: bad port", listen);
	if (addr[0] == '[' && colon[-1] == ']') {
		memmove(addr, addr + 1, strlen(addr));
		addr[strlen(addr) - 1] = '\0';
	}
	if (!server_loopback(addr))
		fatalx("--listen %s: e2b-local serves loopback only", listen);

	if ((e2bl.e_http = evhttp_new(e2bl.e_base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_max_body_size(e2bl.e_http, E2BL_BODY_MAX);
	evhttp_set_max_headers_size(e2bl.e_http, E2BL_HEADERS_MAX);
	evhttp_set_timeout(e2bl.e_http, E2BL_HTTP_IDLE_SECS);
	evhttp_set_default_content_type(e2bl.e_http, NULL);
	evhttp_set_allowed_methods(e2bl.e_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(e2bl.e_http, server_request_cb, NULL);
	if ((bound = evhttp_bind_socket_with_handle(e2bl.e_http, addr,
	    (ev_uint16_t)port)) == NULL)
		fatalx("cannot listen on %s", listen);
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &sslen) == -1)
		fatal("getsockname");
	p = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("LISTENING %d\n", p);
	fflush(stdout);
	log_info("listening on %s port %d", addr, p);
	free(addr);
}

/* Free requests still delayed, at exit. */
void
server_free_delayed(void)
{
	struct delayed	*d;

	while ((d = TAILQ_FIRST(&server_delayed)) != NULL) {
		TAILQ_REMOVE(&server_delayed, d, d_entry);
		evhttp_send_error(d->d_q->q_req, 503, NULL);
		server_request_free(d->d_q);
		free(d);
	}
}

/*
 * Match method and path against a route table; a "{id}" segment matches
 * any one segment, which is copied to id.
 */
static const struct route *
server_route(const struct route *table, int method, const char *path,
    char *id, size_t idlen)
{
	const struct route	*r;
	const char		*p, *s;
	size_t			 n;

	for (r = table; r->r_pattern != NULL; r++) {
		if (r->r_method != method)
			continue;
		for (p = r->r_pattern, s = path; *p != '\0' && *s != '\0';) {
			if (strncmp(p, "{id}", 4) == 0) {
				n = strcspn(s, "/");
				if (n == 0 || n >= idlen)
					break;
				memcpy(id, s, n);
				id[n] = '\0';
				p += 4;
				s += n;
			} else if (*p++ != *s++)
				break;
		}
		if (*p == '\0' && *s == '\0')
			return (r);
	}
	return (NULL);
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct request		*q;
	struct delayed		*d;
	struct timeval		 tv;
	const char		*raw, *qs;
	char			*path, *cause = NULL;
	int			 method = evhttp_request_get_command(req);

	raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (raw == NULL || (path = evhttp_uridecode(raw, 0, NULL)) == NULL) {
		evhttp_send_error(req, 400, NULL);
		return;
	}
	if (strncmp(path, "/_local/", 8) == 0) {
		local_dispatch(req, path);
		free(path);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->q_req = req;
	q->q_path = path;
	qs = evhttp_uri_get_query(uri);
	if (wire_query_parse(&q->q_query, qs, &cause) == -1) {
		server_api_error(req, 400, "validation error: %s", cause);
		free(cause);
		server_request_free(q);
		return;
	}
	envd_target(q);
	q->q_route = server_route(q->q_plane == PLANE_API ? api_routes :
	    envd_routes, method, path, q->q_id, sizeof(q->q_id));
	local_count(q->q_route != NULL ? q->q_route->r_key : "unmatched");
	log_debug("%s %s", q->q_route != NULL ? q->q_route->r_key : "?",
	    evhttp_request_get_uri(req));
	if (e2bl.e_latency_ms > 0) {
		d = xcalloc(1, sizeof(*d));
		d->d_q = q;
		TAILQ_INSERT_TAIL(&server_delayed, d, d_entry);
		q->q_delay = evtimer_new(e2bl.e_base, server_delay_cb, d);
		tv.tv_sec = e2bl.e_latency_ms / 1000;
		tv.tv_usec = (e2bl.e_latency_ms % 1000) * 1000;
		evtimer_add(q->q_delay, &tv);
		return;
	}
	server_continue(q);
}

static void
server_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delayed	*d = arg;
	struct request	*q = d->d_q;

	TAILQ_REMOVE(&server_delayed, d, d_entry);
	free(d);
	server_continue(q);
}

/* Answer with an armed 429 or 500 fault; 1 if one applied. */
static int
server_fault(struct request *q)
{
	struct fault	f;
	char		secs[16];

	if (!local_fault_take(q->q_route != NULL ? q->q_route->r_key :
	    "unmatched", 1, &f))
		return (0);
	if (f.f_status == 429) {
		snprintf(secs, sizeof(secs), "%d", f.f_retry_after);
		evhttp_add_header(evhttp_request_get_output_headers(q->q_req),
		    "Retry-After", secs);
		server_api_error(q->q_req, 429, "Rate limit exceeded");
	} else
		server_api_error(q->q_req, f.f_status, "Internal server error");
	return (1);
}

/* After any latency: faults, authentication, then the handler. */
static void
server_continue(struct request *q)
{
	if (server_fault(q))
		goto out;
	if (q->q_plane != PLANE_API) {
		envd_gate(q);
		goto out;
	}
	if (q->q_route == NULL)
		server_api_error(q->q_req, 404, "validation error: no matching "
		    "operation was found");
	else if (server_api_auth(q) == 0)
		q->q_route->r_fn(q);
out:
	server_request_free(q);
}

/* The X-API-Key check, with E2B's 401 messages; 0 if the key is good. */
static int
server_api_auth(struct request *q)
{
	const char	*key = server_header(q->q_req, "X-API-Key");

	if (key == NULL || *key == '\0') {
		server_api_error(q->q_req, 401, "authorization header is "
		    "missing");
		return (-1);
	}
	if (strcmp(key, e2bl.e_apikey) == 0)
		return (0);
	if (strncmp(key, SERVER_API_KEY_PREFIX,
	    strlen(SERVER_API_KEY_PREFIX)) != 0)
		server_api_error(q->q_req, 401, "authorization header is "
		    "malformed");
	else
		server_api_error(q->q_req, 401, "Invalid API key, please visit "
		    "https://e2b.dev/docs/api-key for more information.\n"
		    "Cannot get the team for the given API key");
	return (-1);
}

static void
server_request_free(struct request *q)
{
	if (q->q_delay != NULL)
		event_free(q->q_delay);
	wire_query_free(&q->q_query);
	free(q->q_path);
	free(q);
}

/* An input header, or NULL. */
const char *
server_header(struct evhttp_request *req, const char *name)
{
	return (evhttp_find_header(evhttp_request_get_input_headers(req),
	    name));
}

/*
 * Parse the request body as JSON of at most max bytes.  Returns 0, -1 with
 * *cause if it is not JSON, -2 if it is too large.  An empty body is an
 * empty object.
 */
int
server_body(struct evhttp_request *req, size_t max, struct json_object **o,
    char **cause)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);

	*o = NULL;
	if (len > max)
		return (-2);
	if (len == 0) {
		*o = json_object_new_object();
		return (0);
	}
	*o = json_parse((const char *)evbuffer_pullup(in, -1), len, cause);
	return (*o == NULL ? -1 : 0);
}

/* Send a complete reply. */
static void
server_send(struct evhttp_request *req, int status, const char *ctype,
    const char *nosniff, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();

	evbuffer_add(b, body, len);
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (nosniff != NULL)
		evhttp_add_header(h, "X-Content-Type-Options", nosniff);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

/* Send a JSON body; takes ownership of o. */
void
server_reply_json(struct evhttp_request *req, int status,
    struct json_object *o)
{
	const char	*s = json_str(o);

	server_send(req, status, "application/json; charset=utf-8", NULL, s,
	    strlen(s));
	json_object_put(o);
}

/* A unary Connect answer; takes ownership of o. */
void
server_reply_connect(struct evhttp_request *req, struct json_object *o)
{
	const char	*s = json_str(o);

	server_send(req, 200, "application/json", NULL, s, strlen(s));
	json_object_put(o);
}

void
server_reply_text(struct evhttp_request *req, int status, const char *ctype,
    const char *body)
{
	server_send(req, status, ctype, NULL, body, strlen(body));
}

/* Build {"code": N, "message": ...} and send it. */
static void
server_vreply(struct evhttp_request *req, int status, const char *nosniff,
    const char *fmt, va_list ap, int newline)
{
	struct json_object	*o;
	char			*msg, *body;
	int			 len;

	xvasprintf(&msg, fmt, ap);
	o = json_object_new_object();
	json_add_int(o, "code", status);
	json_add_string(o, "message", msg);
	free(msg);
	len = xasprintf(&body, "%s%s", json_str(o), newline ? "\n" : "");
	json_object_put(o);
	server_send(req, status, "application/json; charset=utf-8", nosniff,
	    body, (size_t)len);
	free(body);
}

/* A control-plane error, as the API's SendAPIStoreError writes it. */
void
server_api_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	server_vreply(req, status, NULL, fmt, ap, 0);
	va_end(ap);
}

/* An envd HTTP error, as envd's jsonError writes it. */
void
server_envd_error(struct evhttp_request *req, int status, const char *fmt,
    ...)
{
	va_list	ap;

	va_start(ap, fmt);
	server_vreply(req, status, "nosniff", fmt, ap, 1);
	va_end(ap);
}

/* The HTTP status of a Connect error code. */
int
server_connect_status(const char *code)
{
	size_t	i;

	for (i = 0; i < sizeof(server_codes) / sizeof(server_codes[0]); i++) {
		if (strcmp(server_codes[i].code, code) == 0)
			return (server_codes[i].status);
	}
	return (500);
}

/* A unary Connect error: {"code": "not_found", "message": ...}. */
void
server_connect_error(struct evhttp_request *req, const char *code,
    const char *fmt, ...)
{
	struct json_object	*o;
	const char		*s;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	o = frame_error(code, 0, msg);
	free(msg);
	s = json_str(json_object_object_get(o, "error"));
	server_send(req, server_connect_status(code), "application/json", NULL,
	    s, strlen(s));
	json_object_put(o);
}

/* The edge proxy's answer for a sandbox that is not (or no longer) there. */
void
server_proxy_gone(struct evhttp_request *req, const char *id)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "sandboxId", id);
	json_add_string(o, "message", "The sandbox was not found");
	json_add_int(o, "code", 502);
	server_reply_json(req, 502, o);
}

/* Go's http.NotFound. */
void
server_not_found(struct evhttp_request *req)
{
	server_send(req, 404, "text/plain; charset=utf-8", "nosniff",
	    "404 page not found\n", strlen("404 page not found\n"));
}
