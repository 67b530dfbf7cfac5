/*
 * envd's API for each sandbox, behind E2B's edge: the edge picks the
 * sandbox (E2b-Sandbox-Id and E2b-Sandbox-Port headers, or a Host of
 * 49983-<id>.<domain>) and answers 502 for one that is not running; envd
 * then checks X-Access-Token and serves /health, /envs, /files and the
 * process and filesystem Connect services.  Unary RPCs are forwarded to
 * the sandbox's agent here; streams and files have their own modules.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "e2b-local.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

static void	envd_health(struct request *);
static void	envd_envs(struct request *);
static void	envd_unary(struct request *);
static void	envd_unimplemented(struct request *);
static void	envd_unary_frame(struct call *, uint8_t, const char *, size_t);

const struct route envd_routes[] = {
	{ EVHTTP_REQ_GET, "/health", envd_health, "GET /health", NULL },
	{ EVHTTP_REQ_GET, "/envs", envd_envs, "GET /envs", NULL },
	{ EVHTTP_REQ_GET, "/files", files_get, "GET /files", NULL },
	{ EVHTTP_REQ_POST, "/files", files_post, "POST /files", NULL },
	{ EVHTTP_REQ_POST, "/process.Process/Start", stream_start,
	    "POST /process.Process/Start", "StartRequest" },
	{ EVHTTP_REQ_POST, "/process.Process/Connect", stream_connect,
	    "POST /process.Process/Connect", "ConnectRequest" },
	{ EVHTTP_REQ_POST, "/process.Process/List", envd_unary,
	    "POST /process.Process/List", "list" },
	{ EVHTTP_REQ_POST, "/process.Process/SendSignal", envd_unary,
	    "POST /process.Process/SendSignal", "signal" },
	{ EVHTTP_REQ_POST, "/process.Process/SendInput", envd_unary,
	    "POST /process.Process/SendInput", "input" },
	{ EVHTTP_REQ_POST, "/process.Process/CloseStdin", envd_unary,
	    "POST /process.Process/CloseStdin", "closestdin" },
	{ EVHTTP_REQ_POST, "/process.Process/Update", envd_unimplemented,
	    "POST /process.Process/Update", NULL },
	{ EVHTTP_REQ_POST, "/process.Process/StreamInput", envd_unimplemented,
	    "POST /process.Process/StreamInput", NULL },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/Stat", envd_unary,
	    "POST /filesystem.Filesystem/Stat", "stat" },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/ListDir", envd_unary,
	    "POST /filesystem.Filesystem/ListDir", "listdir" },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/MakeDir", envd_unary,
	    "POST /filesystem.Filesystem/MakeDir", "mkdir" },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/Remove", envd_unary,
	    "POST /filesystem.Filesystem/Remove", "remove" },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/Move", envd_unary,
	    "POST /filesystem.Filesystem/Move", "move" },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/WatchDir",
	    envd_unimplemented, "POST /filesystem.Filesystem/WatchDir", NULL },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/CreateWatcher",
	    envd_unimplemented, "POST /filesystem.Filesystem/CreateWatcher",
	    NULL },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/GetWatcherEvents",
	    envd_unimplemented,
	    "POST /filesystem.Filesystem/GetWatcherEvents", NULL },
	{ EVHTTP_REQ_POST, "/filesystem.Filesystem/RemoveWatcher",
	    envd_unimplemented, "POST /filesystem.Filesystem/RemoveWatcher",
	    NULL },
	{ 0, NULL, NULL, NULL, NULL }
};

static const struct call_ops envd_unary_ops = {
	envd_unary_frame, NULL, NULL
};

/* Is this host one on which the edge honours the routing headers? */
static int
envd_header_host(const char *host)
{
	size_t	len;

	if (host == NULL)
		return (1);
	if (*host == '[')
		return (1);		/* an IPv6 literal */
	len = strcspn(host, ":");
	if ((len == 9 && strncmp(host, "localhost", 9) == 0) ||
	    strncmp(host, "sandbox.", 8) == 0)
		return (1);
	return (strspn(host, "0123456789.") >= len);	/* an IPv4 literal */
}

static int
envd_valid_id(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++) {
		if (!isalnum((unsigned char)id[i]))
			return (0);
	}
	return (i > 0);
}

/*
 * Decide the plane as E2B's edge would: routing headers on a local or
 * shared host, else a "<port>-<id>." first label in Host; anything else
 * is for the API.
 */
void
envd_target(struct request *q)
{
	const char	*id = server_header(q->q_req, "E2b-Sandbox-Id");
	const char	*port = server_header(q->q_req, "E2b-Sandbox-Port");
	const char	*host = server_header(q->q_req, "Host"), *dash;
	char		*end;
	size_t		 len;

	q->q_plane = PLANE_API;
	if ((id != NULL || port != NULL) && envd_header_host(host)) {
		q->q_plane = PLANE_BAD;
		if (id == NULL || port == NULL || *id == '\0' || *port == '\0')
			q->q_bad = "missing header";
		else if ((q->q_port = strtoull(port, &end, 10), *end != '\0') ||
		    !envd_valid_id(id) || strlen(id) >= sizeof(q->q_target))
			q->q_bad = "Invalid sandbox ID";
		else {
			snprintf(q->q_target, sizeof(q->q_target), "%s", id);
			q->q_plane = PLANE_ENVD;
		}
		return;
	}
	if (host == NULL || strchr(host, '.') == NULL ||
	    (dash = strchr(host, '-')) == NULL || dash > strchr(host, '.'))
		return;
	q->q_port = strtoull(host, &end, 10);
	if (end != dash || end == host)
		return;
	len = strcspn(dash + 1, ".");
	q->q_plane = PLANE_BAD;
	q->q_bad = "Invalid sandbox ID";
	if (len == 0 || len >= sizeof(q->q_target))
		return;
	memcpy(q->q_target, dash + 1, len);
	q->q_target[len] = '\0';
	if (envd_valid_id(q->q_target))
		q->q_plane = PLANE_ENVD;
}

/*
 * The edge, then envd's authorization: the sandbox must be running and
 * the port envd's; X-Access-Token is needed for everything but /health
 * and /files (which check it, or a signature, themselves).
 */
void
envd_gate(struct request *q)
{
	struct json_object	*o;
	const char		*tok;
	char			 body[64];
	int			 open_path;

	if (q->q_plane == PLANE_BAD) {
		snprintf(body, sizeof(body), "%s\n", q->q_bad);
		server_reply_text(q->q_req, 400, "text/plain; charset=utf-8",
		    body);
		return;
	}
	if ((q->q_sb = sandbox_find(q->q_target)) == NULL) {
		server_proxy_gone(q->q_req, q->q_target);
		return;
	}
	if (q->q_port != E2BL_ENVD_PORT) {
		o = json_object_new_object();
		json_add_string(o, "sandboxId", q->q_target);
		json_add_string(o, "message", "The sandbox is running but port "
		    "is not open");
		json_add_int(o, "port", (int64_t)q->q_port);
		json_add_int(o, "code", 502);
		server_reply_json(q->q_req, 502, o);
		return;
	}
	if (q->q_route == NULL) {
		server_not_found(q->q_req);
		return;
	}
	open_path = q->q_route->r_fn == envd_health ||
	    q->q_route->r_fn == files_get || q->q_route->r_fn == files_post;
	tok = server_header(q->q_req, "X-Access-Token");
	if (q->q_sb->sb_token != NULL && !open_path && (tok == NULL ||
	    strcmp(tok, q->q_sb->sb_token) != 0)) {
		server_envd_error(q->q_req, 401, "unauthorized access, please "
		    "provide a valid access token or method signing if "
		    "supported");
		return;
	}
	q->q_route->r_fn(q);
}

/*
 * Check the user an operation runs as (Basic auth for RPCs, the username
 * parameter for /files).  e2b-local runs everything as "user"; root is
 * refused as unavailable, unknown names as envd refuses them.  NULL if
 * the user is fine, else the Connect code, with the HTTP status and the
 * message (which the caller frees).
 */
const char *
envd_user(const char *name, int rpc, int *status, char **msg)
{
	if (name == NULL || strcmp(name, E2BL_USER) == 0)
		return (NULL);
	if (strcmp(name, "root") == 0) {
		*status = 403;
		xasprintf(msg, "e2b-local runs every sandbox operation as "
		    "'%s'; 'root' is not available", E2BL_USER);
		return ("permission_denied");
	}
	*status = 401;
	if (rpc)
		xasprintf(msg, "invalid username: '%s'", name);
	else
		xasprintf(msg, "error looking up user '%s': user: unknown user "
		    "%s", name, name);
	return ("unauthenticated");
}

static void
envd_health(struct request *q)
{
	evhttp_send_reply(q->q_req, 204, NULL, NULL);
}

/* GET /envs: the sandbox's default environment. */
static void
envd_envs(struct request *q)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_foreach(q->q_sb->sb_envs, k, v)
		json_object_object_add(o, k, json_object_get(v));
	json_add_string(o, "E2B_SANDBOX", "true");
	json_add_string(o, "E2B_SANDBOX_ID", q->q_sb->sb_id);
	json_add_string(o, "E2B_TEMPLATE_ID", q->q_sb->sb_tmpl->t_name);
	server_reply_json(q->q_req, 200, o);
}

static void
envd_unimplemented(struct request *q)
{
	server_connect_error(q->q_req, "unimplemented", "e2b-local does not "
	    "implement %s", q->q_path + 1);
}

/* A unary Connect request: JSON in, JSON out, errors as Connect JSON. */
static void
envd_unary(struct request *q)
{
	struct json_object	*msg = NULL, *op;
	const char		*ctype, *code;
	char			*type = NULL, *cause = NULL, *user = NULL;
	int			 r, status;

	ctype = server_header(q->q_req, "Content-Type");
	if (ctype == NULL || wire_media_type(ctype, &type, NULL) == -1 ||
	    strcmp(type, "application/json") != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(q->q_req),
		    "Accept-Post", "application/json, application/proto");
		evhttp_send_reply(q->q_req, 415, NULL, NULL);
		goto out;
	}
	if (wire_basic_user(server_header(q->q_req, "Authorization"),
	    &user) == 1 && (code = envd_user(user, 1, &status, &cause)) !=
	    NULL) {
		server_connect_error(q->q_req, code, "%s", cause);
		goto out;
	}
	if ((r = server_body(q->q_req, E2BL_JSON_MAX, &msg, &cause)) == -2) {
		server_connect_error(q->q_req, "resource_exhausted", "message "
		    "size is larger than configured max %d", E2BL_JSON_MAX);
		goto out;
	}
	if (r == -1 || !json_object_is_type(msg, json_type_object)) {
		server_connect_error(q->q_req, "invalid_argument", "unmarshal "
		    "into %s: %s", q->q_path + 1, cause != NULL ? cause :
		    "expected a JSON object");
		goto out;
	}
	op = json_object_new_object();
	json_add_string(op, "op", q->q_route->r_arg);
	json_object_object_add(op, "msg", json_object_get(msg));
	if (call_new(q, &envd_unary_ops, NULL, op) == NULL)
		server_proxy_gone(q->q_req, q->q_sb->sb_id);
	json_object_put(op);
out:
	json_object_put(msg);
	free(cause);
	free(type);
	free(user);
}

/* The agent's answer: {"result": ...} or {"error": {code, message}}. */
static void
envd_unary_frame(struct call *c, uint8_t flags, const char *data, size_t len)
{
	struct json_object	*ans, *res, *err;
	const char		*code, *msg;

	if (!(flags & ENV_FLAG_END)) {
		log_warnx("sandbox %s: unexpected frame from the agent",
		    c->c_sb->sb_id);
		return;
	}
	ans = json_parse(data, len, NULL);
	if (json_object_object_get_ex(ans, "result", &res))
		server_reply_connect(c->c_req, json_object_get(res));
	else if (json_object_object_get_ex(ans, "error", &err) &&
	    (code = json_peek_string(err, "code")) != NULL &&
	    (msg = json_peek_string(err, "message")) != NULL)
		server_connect_error(c->c_req, code, "%s", msg);
	else
		server_connect_error(c->c_req, "internal", "bad answer from "
		    "the sandbox agent");
	json_object_put(ans);
	c->c_req = NULL;
	call_free(c);
}
