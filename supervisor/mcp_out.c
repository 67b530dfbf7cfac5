/*
 * What the MCP server sends its clients unasked: notifications on the
 * connection, progress and log messages about one request (so that they
 * reach the client that asked, on that request's stream), and requests
 * of its own (sampling, elicitation) whose responses come back as input
 * and are routed by id to the callback that waits for them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "mcp_int.h"
#include "xmalloc.h"

/* Send a notification on a connection (params taken). */
void
mcp_notify(struct mcp_conn *c, const char *method, struct json_object *params)
{
	if (!mcp_conn_ready(c)) {
		json_object_put(params);
		return;
	}
	mcp_deliver(c, NULL, MCP_SEND_CONN, mcp_message_new(method, params));
}

/* Send a notification about a request, on its stream (params taken). */
void
mcp_req_notify(struct mcp_req *r, const char *method,
    struct json_object *params)
{
	if (r->mr_conn->mc_closing) {
		json_object_put(params);
		return;
	}
	mcp_deliver(r->mr_conn, r->mr_input, MCP_SEND_RELATED,
	    mcp_message_new(method, params));
}

/*
 * Report progress on a request that asked for it: progress of total
 * (total omitted when 0 or less), with an optional message.
 */
void
mcp_progress_at(struct mcp_req *r, int64_t progress, int64_t total,
    const char *message)
{
	struct json_object	*p;

	if (r->mr_token == NULL)
		return;
	r->mr_progress = progress;
	p = json_object_new_object();
	json_object_object_add(p, "progressToken",
	    json_object_get(r->mr_token));
	json_add_int(p, "progress", progress);
	if (total > 0)
		json_add_int(p, "total", total);
	if (message != NULL)
		json_add_string(p, "message", message);
	mcp_req_notify(r, "notifications/progress", p);
}

/* Report progress: each call sends a higher count, with message. */
void
mcp_progress(struct mcp_req *r, const char *message)
{
	mcp_progress_at(r, r->mr_progress + 1, 0, message);
}

/* notifications/message params, or NULL below the least level. */
static struct json_object *
mcp_log_params(enum mcp_level least, enum mcp_level level,
    const char *logger, struct json_object *data)
{
	struct json_object	*p;

	if (level < least) {
		json_object_put(data);
		return (NULL);
	}
	p = json_object_new_object();
	json_add_string(p, "level", mcp_level_name(level));
	if (logger != NULL)
		json_add_string(p, "logger", logger);
	json_object_object_add(p, "data", data);
	return (p);
}

/* Send a log message if the connection wants this level (data taken). */
void
mcp_log(struct mcp_conn *c, enum mcp_level level, const char *logger,
    struct json_object *data)
{
	struct json_object	*p;

	if (c == NULL) {
		json_object_put(data);
		return;
	}
	if ((p = mcp_log_params(c->mc_level, level, logger, data)) != NULL)
		mcp_notify(c, "notifications/message", p);
}

/* A log message about a request, at the level it was sent with. */
void
mcp_req_log(struct mcp_req *r, enum mcp_level level, const char *logger,
    struct json_object *data)
{
	struct json_object	*p;

	if ((p = mcp_log_params(r->mr_level, level, logger, data)) != NULL)
		mcp_req_notify(r, "notifications/message", p);
}

/*
 * Send the client a request of ours on behalf of r (params taken).  cb
 * gets the result or the error when the response comes; if r ends
 * first, cb is never called.  -1 when too many are pending.
 */
int
mcp_request(struct mcp_req *r, const char *method, struct json_object *params,
    mcp_response_cb cb, void *arg)
{
	struct mcp_conn		*c = r->mr_conn;
	struct json_object	*o;
	struct mcp_out		*mo;

	if (c->mc_nouts >= MCP_OUT_MAX || c->mc_closing) {
		json_object_put(params);
		return (-1);
	}
	mo = xcalloc(1, sizeof(*mo));
	mo->mo_id = ++c->mc_out_id;
	mo->mo_req = r;
	mo->mo_cb = cb;
	mo->mo_arg = arg;
	TAILQ_INSERT_TAIL(&c->mc_outs, mo, mo_entry);
	c->mc_nouts++;
	o = mcp_message_new(method, params);
	json_add_int(o, "id", mo->mo_id);
	mcp_deliver(c, r->mr_input, MCP_SEND_RELATED, o);
	return (0);
}

static void
mcp_out_free(struct mcp_conn *c, struct mcp_out *mo)
{
	TAILQ_REMOVE(&c->mc_outs, mo, mo_entry);
	c->mc_nouts--;
	free(mo);
}

/*
 * A response from the client (a message with an id and no method): run
 * the callback of our request with that id.  -1 if it answers nothing
 * we asked.
 */
int
mcp_out_response(struct mcp_conn *c, struct json_object *o)
{
	struct json_object	*id, *res = NULL, *err = NULL;
	struct mcp_out		*mo;
	mcp_response_cb		 cb;
	struct mcp_req		*r;
	void			*arg;

	(void)json_object_object_get_ex(o, "result", &res);
	(void)json_object_object_get_ex(o, "error", &err);
	if (!json_object_object_get_ex(o, "id", &id) ||
	    (res == NULL && err == NULL))
		return (-1);
	TAILQ_FOREACH(mo, &c->mc_outs, mo_entry)
		if (json_object_is_type(id, json_type_int) &&
		    json_object_get_int64(id) == mo->mo_id)
			break;
	if (mo == NULL) {
		log_debug("mcp: a response to no request of ours: %s",
		    json_str(id));
		return (0);
	}
	cb = mo->mo_cb;
	arg = mo->mo_arg;
	r = mo->mo_req;
	mcp_out_free(c, mo);
	cb(r, res, err, arg);
	return (0);
}

/* A request ended: our requests on its behalf are not waited for. */
void
mcp_out_forget(struct mcp_req *r)
{
	struct mcp_conn	*c = r->mr_conn;
	struct mcp_out	*mo, *next;

	for (mo = TAILQ_FIRST(&c->mc_outs); mo != NULL; mo = next) {
		next = TAILQ_NEXT(mo, mo_entry);
		if (mo->mo_req == r)
			mcp_out_free(c, mo);
	}
}

/* The connection closes: forget all our requests. */
void
mcp_out_clear(struct mcp_conn *c)
{
	struct mcp_out	*mo;

	while ((mo = TAILQ_FIRST(&c->mc_outs)) != NULL)
		mcp_out_free(c, mo);
}
