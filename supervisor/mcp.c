/*
 * The MCP core: JSON-RPC 2.0 messages in, a method table, batches where
 * 2025-03-26 wants them, and answers out.  It knows its clients only as
 * connections behind a transport (struct mcp_transport): stdio, or one
 * Streamable HTTP session each.  The lifecycle methods are in mcp_life.c,
 * what the server sends unasked in mcp_out.c.
 *
 * Per-connection state (the negotiated version, capabilities, log level,
 * subscriptions) is copied into each request when it arrives, and the
 * handlers read only the request, so that a stateless revision can fill
 * the same fields from the request itself.  Each input the transport
 * hands in carries the transport's own context, given back with every
 * message that input causes and once more when it is done.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "mcp_int.h"
#include "xmalloc.h"

#define M_PREINIT	0x1	/* allowed before initialize */
#define M_NOBATCH	0x2	/* never inside a batch */

struct mcp_method {
	const char	*mm_name;
	mcp_handler	 mm_fn;
	int		 mm_flags;
};

static const struct mcp_method mcp_methods[] = {
	{ "initialize", mcp_initialize, M_PREINIT | M_NOBATCH },
	{ "notifications/initialized", mcp_initialized, M_PREINIT },
	{ "ping", mcp_ping, M_PREINIT },
	{ "notifications/cancelled", mcp_cancelled, M_PREINIT },
	{ "logging/setLevel", mcp_set_level, 0 },
	{ "tools/list", tools_list, 0 },
	{ "tools/call", tools_call, 0 },
	{ "resources/list", res_list, 0 },
	{ "resources/templates/list", res_templates, 0 },
	{ "resources/read", res_read, 0 },
	{ "resources/subscribe", res_subscribe, 0 },
	{ "resources/unsubscribe", res_unsubscribe, 0 },
	{ "tasks/get", tasks_get, 0 },
	{ "tasks/result", tasks_result, 0 },
	{ "tasks/list", tasks_list, 0 },
	{ "tasks/cancel", tasks_cancel, 0 },
};

static LIST_HEAD(, mcp_conn) mcp_conns = LIST_HEAD_INITIALIZER(mcp_conns);

void	(*mcp_extend)(void);

static void	mcp_message(struct mcp_conn *, struct json_object *,
		    struct mcp_input *);
static void	mcp_batch_input(struct mcp_conn *, struct json_object *,
		    struct mcp_input *);
static void	mcp_input_done(struct mcp_input *);
static void	mcp_reject(struct mcp_conn *, struct mcp_input *,
		    struct json_object *, int, const char *);
static void	mcp_req_finish(struct mcp_req *);
static const struct mcp_method *mcp_method_find(const char *,
		    struct mcp_method *);
static const struct mcp_method *mcp_check(struct mcp_conn *,
		    struct json_object *, struct mcp_input *,
		    struct json_object **, struct json_object **,
		    struct mcp_method *);

void
mcp_init(void)
{
	LIST_INIT(&mcp_conns);
	tools_init();
	tasks_init();
	if (mcp_extend != NULL)
		mcp_extend();
}

void
mcp_fini(void)
{
	struct mcp_conn	*c;

	while ((c = LIST_FIRST(&mcp_conns)) != NULL)
		mcp_conn_free(&c);
	tasks_fini();
	tools_fini();
	mcp_life_fini();
}

/* A connection over the given transport; arg is the transport's own. */
struct mcp_conn *
mcp_conn_new(const struct mcp_transport *tr, void *arg)
{
	struct mcp_conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->mc_state = MCP_NEW;
	c->mc_tr = tr;
	c->mc_arg = arg;
	c->mc_level = MCP_INFO;
	TAILQ_INIT(&c->mc_reqs);
	TAILQ_INIT(&c->mc_outs);
	LIST_INSERT_HEAD(&mcp_conns, c, mc_entry);
	return (c);
}

/*
 * Close a connection: its pending requests are dropped unanswered, and
 * the transport hears nothing more of it (not even that inputs are done).
 */
void
mcp_conn_free(struct mcp_conn **cp)
{
	struct mcp_conn	*c = *cp;
	struct mcp_req	*r;
	size_t		 i;

	if (c == NULL)
		return;
	c->mc_closing = 1;
	while ((r = TAILQ_FIRST(&c->mc_reqs)) != NULL)
		mcp_req_abort(r);
	mcp_out_clear(c);
	for (i = 0; i < c->mc_nsubs; i++)
		free(c->mc_subs[i]);
	free(c->mc_subs);
	json_object_put(c->mc_caps);
	jobs_forget_owner(c);
	tasks_forget_owner(c);
	LIST_REMOVE(c, mc_entry);
	free(c);
	*cp = NULL;
}

struct mcp_conn *
mcp_conn_first(void)
{
	return (LIST_FIRST(&mcp_conns));
}

struct mcp_conn *
mcp_conn_next(struct mcp_conn *c)
{
	return (LIST_NEXT(c, mc_entry));
}

int
mcp_conn_ready(const struct mcp_conn *c)
{
	return (c->mc_state != MCP_NEW && !c->mc_closing);
}

const char *
mcp_conn_version(const struct mcp_conn *c)
{
	return (c->mc_version);
}

/* Has the connection requests being handled (or our own pending)? */
int
mcp_conn_busy(const struct mcp_conn *c)
{
	return (!TAILQ_EMPTY(&c->mc_reqs) || !TAILQ_EMPTY(&c->mc_outs));
}

/*
 * The method table row for a name, built in or registered (then filled
 * into *extra), or NULL.
 */
static const struct mcp_method *
mcp_method_find(const char *name, struct mcp_method *extra)
{
	size_t	i;

	for (i = 0; i < sizeof(mcp_methods) / sizeof(mcp_methods[0]); i++)
		if (strcmp(name, mcp_methods[i].mm_name) == 0)
			return (&mcp_methods[i]);
	if ((extra->mm_fn = mcp_extra_method(name)) == NULL)
		return (NULL);
	extra->mm_name = name;
	extra->mm_flags = 0;
	return (extra);
}

/* A request id is a string or an integer, never null. */
int
mcp_id_valid(struct json_object *id)
{
	return (json_object_is_type(id, json_type_string) ||
	    json_object_is_type(id, json_type_int));
}

/* {"jsonrpc":"2.0","method":method,"params":params}; params taken. */
struct json_object *
mcp_message_new(const char *method, struct json_object *params)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "jsonrpc", "2.0");
	json_add_string(o, "method", method);
	if (params != NULL)
		json_object_object_add(o, "params", params);
	return (o);
}

/* A JSON-RPC error response (data taken, may be NULL; id may be NULL). */
struct json_object *
mcp_error_new(struct json_object *id, int code, const char *msg,
    struct json_object *data)
{
	struct json_object	*o, *e;

	o = json_object_new_object();
	json_add_string(o, "jsonrpc", "2.0");
	json_object_object_add(o, "id", json_object_get(id));
	e = json_object_new_object();
	json_add_int(e, "code", code);
	json_add_string(e, "message", msg);
	if (data != NULL)
		json_object_object_add(e, "data", data);
	json_object_object_add(o, "error", e);
	return (o);
}

/*
 * Hand one serialised message to the transport, or an answer to its
 * batch.  in is the input it belongs to, NULL for the connection's own.
 */
void
mcp_deliver_text(struct mcp_conn *c, struct mcp_input *in,
    enum mcp_send kind, const char *s, size_t len)
{
	if (in != NULL && in->mi_batch && (kind == MCP_SEND_REPLY ||
	    kind == MCP_SEND_ERROR)) {
		(void)buf_addc(&in->mi_replies,
		    buf_len(&in->mi_replies) == 0 ? '[' : ',');
		(void)buf_add(&in->mi_replies, s, len);
	} else if (!c->mc_closing)
		c->mc_tr->mt_send(c->mc_arg, in != NULL ? in->mi_ctx : NULL,
		    in != NULL ? kind : MCP_SEND_CONN, s, len);
}

/* Hand a message to the transport or its batch.  Takes ownership of o. */
void
mcp_deliver(struct mcp_conn *c, struct mcp_input *in, enum mcp_send kind,
    struct json_object *o)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	mcp_deliver_text(c, in, kind, s, len);
	json_object_put(o);
}

/*
 * Answer a message that never became a request with an error: a
 * transport-level refusal (MCP_SEND_ERROR) unless the message was a
 * well-formed request for a method or params we do not take.
 */
static void
mcp_reject(struct mcp_conn *c, struct mcp_input *in, struct json_object *id,
    int code, const char *msg)
{
	log_debug("mcp: %d %s", code, msg);
	mcp_deliver(c, in, code == MCP_METHOD_NOT_FOUND ||
	    code == MCP_INVALID_PARAMS ? MCP_SEND_REPLY : MCP_SEND_ERROR,
	    mcp_error_new(id, code, msg, NULL));
}

/* A transport-level refusal, e.g. a line too long to read. */
void
mcp_conn_refuse(struct mcp_conn *c, int code, const char *msg)
{
	mcp_reject(c, NULL, NULL, code, msg);
}

/* Parse one input; NULL after answering a parse error. */
static struct json_object *
mcp_input_parse(struct mcp_conn *c, struct mcp_input *in, const char *data,
    size_t len)
{
	struct json_object	*o;
	char			*cause = NULL, *msg;

	if ((o = json_parse(data, len, &cause)) != NULL)
		return (o);
	/* json-c reads a JSON null as no object at all. */
	if (len == 4 && memcmp(data, "null", 4) == 0)
		mcp_reject(c, in, NULL, MCP_INVALID_REQUEST,
		    "Invalid Request: expected a JSON-RPC object");
	else {
		xasprintf(&msg, "Parse error: %s", cause);
		mcp_reject(c, in, NULL, MCP_PARSE_ERROR, msg);
		free(msg);
	}
	free(cause);
	return (NULL);
}

/*
 * One input from the client: a JSON value.  ctx is the transport's: it
 * comes back with every message this input causes, and in mt_done once
 * all of them are sent (which may happen before this returns).
 */
void
mcp_conn_input(struct mcp_conn *c, const char *data, size_t len, void *ctx)
{
	struct json_object	*o;
	struct mcp_input	*in;

	in = xcalloc(1, sizeof(*in));
	in->mi_conn = c;
	in->mi_ctx = ctx;
	in->mi_pending = 1;
	if ((o = mcp_input_parse(c, in, data, len)) != NULL) {
		if (json_object_is_type(o, json_type_array))
			mcp_batch_input(c, o, in);
		else
			mcp_message(c, o, in);
		json_object_put(o);
	}
	mcp_input_done(in);
}

/* A batch: only at 2025-03-26, never empty, bounded. */
static void
mcp_batch_input(struct mcp_conn *c, struct json_object *arr,
    struct mcp_input *in)
{
	size_t	i, n = json_object_array_length(arr);

	if (c->mc_version == NULL ||
	    strcmp(c->mc_version, MCP_VERSION_BATCH) != 0) {
		mcp_reject(c, in, NULL, MCP_INVALID_REQUEST, "Invalid "
		    "Request: JSON-RPC batches are accepted only at protocol "
		    "version " MCP_VERSION_BATCH);
		return;
	}
	if (n == 0 || n > MCP_BATCH_MAX) {
		mcp_reject(c, in, NULL, MCP_INVALID_REQUEST, n == 0 ?
		    "Invalid Request: empty batch" : "Invalid Request: batch "
		    "too large");
		return;
	}
	in->mi_batch = 1;
	buf_init(&in->mi_replies, (size_t)-1 / 2);
	for (i = 0; i < n; i++)
		mcp_message(c, json_object_array_get_idx(arr, i), in);
}

/*
 * One of the input's requests is answered (or the input is read): when
 * none is left, a batch sends its answers, and the transport is told.
 */
static void
mcp_input_done(struct mcp_input *in)
{
	struct mcp_conn	*c = in->mi_conn;

	if (--in->mi_pending > 0)
		return;
	if (in->mi_batch) {
		if (buf_len(&in->mi_replies) > 0 && !c->mc_closing) {
			(void)buf_addc(&in->mi_replies, ']');
			c->mc_tr->mt_send(c->mc_arg, in->mi_ctx,
			    MCP_SEND_REPLY, buf_str(&in->mi_replies),
			    buf_len(&in->mi_replies));
		}
		buf_free(&in->mi_replies);
	}
	if (!c->mc_closing && c->mc_tr->mt_done != NULL)
		c->mc_tr->mt_done(c->mc_arg, in->mi_ctx);
	free(in);
}

/*
 * Check a message's JSON-RPC envelope (id, jsonrpc, method, params) and
 * find its method.  NULL after answering with the error, or when it is
 * to be ignored (a notification nobody handles, a response).
 */
static const struct mcp_method *
mcp_check(struct mcp_conn *c, struct json_object *o, struct mcp_input *in,
    struct json_object **idp, struct json_object **paramsp,
    struct mcp_method *extra)
{
	const struct mcp_method	*m;
	struct json_object	*id = NULL, *v;
	const char		*method;
	char			*msg = NULL;
	int			 code = MCP_INVALID_REQUEST;

	if (!json_object_is_type(o, json_type_object)) {
		mcp_reject(c, in, NULL, code, "Invalid Request: expected a "
		    "JSON-RPC object");
		return (NULL);
	}
	if (json_object_object_get_ex(o, "id", &id) && !mcp_id_valid(id)) {
		mcp_reject(c, in, NULL, code, "Invalid Request: id must be a "
		    "string or an integer");
		return (NULL);
	}
	*idp = id;
	if (!json_object_object_get_ex(o, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0)
		msg = xstrdup("Invalid Request: jsonrpc must be \"2.0\"");
	else if (!json_object_object_get_ex(o, "method", &v)) {
		if (id != NULL && mcp_out_response(c, o) == 0)
			return (NULL);	/* a response to one of ours */
		msg = xstrdup("Invalid Request: method is required");
	} else if (!json_object_is_type(v, json_type_string))
		msg = xstrdup("Invalid Request: method must be a string");
	else if ((m = mcp_method_find(method = json_object_get_string(v),
	    extra)) == NULL) {
		code = MCP_METHOD_NOT_FOUND;
		xasprintf(&msg, "Method not found: %.128s", method);
	} else if (json_object_object_get_ex(o, "params", paramsp) &&
	    !json_object_is_type(*paramsp, json_type_object)) {
		code = MCP_INVALID_PARAMS;
		xasprintf(&msg, "Invalid params: %s takes an object, got %s",
		    method, json_type_label(*paramsp));
	} else
		return (m);
	/* Notifications are never answered, not even with an error. */
	if (id != NULL || code == MCP_INVALID_REQUEST)
		mcp_reject(c, in, id, code, msg);
	free(msg);
	return (NULL);
}

/* A request for a checked message, hooked to its connection and input. */
static struct mcp_req *
mcp_req_new(struct mcp_conn *c, struct json_object *id,
    struct json_object *params, struct mcp_input *in)
{
	struct json_object	*meta, *tok;
	struct mcp_req		*r;

	r = xcalloc(1, sizeof(*r));
	r->mr_conn = c;
	r->mr_id = json_object_get(id);
	r->mr_version = c->mc_version;
	r->mr_level = c->mc_level;
	r->mr_caps = c->mc_caps;
	if (params != NULL && json_object_object_get_ex(params, "_meta",
	    &meta) && json_object_object_get_ex(meta, "progressToken",
	    &tok) && mcp_id_valid(tok))
		r->mr_token = json_object_get(tok);
	r->mr_input = in;
	in->mi_pending++;
	TAILQ_INSERT_TAIL(&c->mc_reqs, r, mr_entry);
	return (r);
}

/* Check one JSON-RPC message and run its method. */
static void
mcp_message(struct mcp_conn *c, struct json_object *o, struct mcp_input *in)
{
	const struct mcp_method	*m;
	struct mcp_method	 extra;
	struct json_object	*id = NULL, *params = NULL, *empty = NULL;
	struct mcp_req		*r;
	const char		*refuse = NULL;

	if ((m = mcp_check(c, o, in, &id, &params, &extra)) == NULL)
		return;
	if (c->mc_state == MCP_NEW && !(m->mm_flags & M_PREINIT))
		refuse = "Invalid Request: not initialized (send initialize "
		    "first)";
	else if (in->mi_batch && (m->mm_flags & M_NOBATCH))
		refuse = "Invalid Request: initialize cannot be part of a "
		    "batch";
	if (refuse != NULL) {
		if (id != NULL)
			mcp_reject(c, in, id, MCP_INVALID_REQUEST, refuse);
		return;
	}
	r = mcp_req_new(c, id, params, in);
	if (params == NULL)
		params = empty = json_object_new_object();
	m->mm_fn(r, params);
	if (id == NULL)
		mcp_req_finish(r);
	json_object_put(empty);
}

/* Unhook a request and free it; its input may now be complete. */
static void
mcp_req_finish(struct mcp_req *r)
{
	struct mcp_input	*in = r->mr_input;

	mcp_out_forget(r);
	TAILQ_REMOVE(&r->mr_conn->mc_reqs, r, mr_entry);
	json_object_put(r->mr_id);
	json_object_put(r->mr_token);
	free(r);
	mcp_input_done(in);
}

/* Drop a pending request unanswered (cancelled, or its client left). */
void
mcp_req_abort(struct mcp_req *r)
{
	if (r->mr_ctx_free != NULL)
		r->mr_ctx_free(r->mr_ctx);
	mcp_req_finish(r);
}

/*
 * The handler will answer later: ctx is its state, freed with ctx_free if
 * the request is cancelled or its connection closes first.
 */
void
mcp_req_pend(struct mcp_req *r, void *ctx, void (*ctx_free)(void *))
{
	r->mr_ctx = ctx;
	r->mr_ctx_free = ctx_free;
}

/* Answer a request with result (taken; NULL for {}) and free it. */
void
mcp_reply(struct mcp_req *r, struct json_object *result)
{
	const char	*s = "{}";
	size_t		 len = 2;

	if (result != NULL)
		s = json_object_to_json_string_length(result,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
	mcp_reply_text(r, s, len);
	json_object_put(result);
}

/*
 * Answer a request with a result already serialised (len bytes of JSON
 * text) and free the request.
 */
void
mcp_reply_text(struct mcp_req *r, const char *result, size_t len)
{
	struct buf	b;

	if (r->mr_id == NULL)
		return;
	buf_init(&b, (size_t)-1 / 2);
	(void)buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":",
	    json_str(r->mr_id));
	(void)buf_add(&b, result, len);
	(void)buf_addc(&b, '}');
	mcp_deliver_text(r->mr_conn, r->mr_input, MCP_SEND_REPLY,
	    buf_str(&b), buf_len(&b));
	buf_free(&b);
	mcp_req_finish(r);
}

/* Answer a request with a JSON-RPC error (data taken) and free it. */
void
mcp_error(struct mcp_req *r, int code, const char *msg,
    struct json_object *data)
{
	if (r->mr_id == NULL) {
		json_object_put(data);
		return;
	}
	log_debug("mcp: %d %s", code, msg);
	mcp_deliver(r->mr_conn, r->mr_input, MCP_SEND_REPLY,
	    mcp_error_new(r->mr_id, code, msg, data));
	mcp_req_finish(r);
}

/* Answer with a JSON-RPC error whose message is formatted. */
void
mcp_errorf(struct mcp_req *r, int code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	mcp_error(r, code, msg, NULL);
	free(msg);
}

/* Answer with -32602 "Invalid params: cause"; takes ownership of cause. */
void
mcp_invalid_params(struct mcp_req *r, char *cause)
{
	mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: %s", cause);
	free(cause);
}

/* Is the connection subscribed to this resource? */
int
mcp_conn_subscribed(const struct mcp_conn *c, const char *uri)
{
	size_t	i;

	for (i = 0; i < c->mc_nsubs; i++)
		if (strcmp(c->mc_subs[i], uri) == 0)
			return (1);
	return (0);
}

/* Subscribe (on) or unsubscribe a connection; -1 when at the limit. */
int
mcp_conn_subscribe(struct mcp_conn *c, const char *uri, int on)
{
	size_t	i;

	for (i = 0; i < c->mc_nsubs; i++)
		if (strcmp(c->mc_subs[i], uri) == 0)
			break;
	if (!on) {
		if (i < c->mc_nsubs) {
			free(c->mc_subs[i]);
			c->mc_subs[i] = c->mc_subs[--c->mc_nsubs];
		}
		return (0);
	}
	if (i < c->mc_nsubs)
		return (0);
	if (c->mc_nsubs == MCP_SUBS_MAX)
		return (-1);
	c->mc_subs = xreallocarray(c->mc_subs, c->mc_nsubs + 1,
	    sizeof(*c->mc_subs));
	c->mc_subs[c->mc_nsubs++] = xstrdup(uri);
	return (0);
}
