/*
 * E2B's control plane: create, get, list, kill, timeouts and connect, with
 * the API's JSON shapes (Go struct field order) and error messages.
 * Pause and resume answer as for a template that cannot be paused: a
 * bubblewrap process tree cannot be snapshotted honestly.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "base64.h"
#include "e2b-local.h"
#include "gofmt.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define API_VALIDATION \
	"validation error: error in openapi3filter.RequestError: "
#define API_LIST_MAX	100
#define API_MAP_MAX	1024	/* metadata or envVars entries */

static void	api_create_v1(struct request *);
static void	api_create_v2(struct request *);
static void	api_list_v1(struct request *);
static void	api_list_v2(struct request *);
static void	api_get(struct request *);
static void	api_kill(struct request *);
static void	api_timeout(struct request *);
static void	api_refresh(struct request *);
static void	api_connect_v1(struct request *);
static void	api_connect_v2(struct request *);
static void	api_pause(struct request *);
static void	api_resume(struct request *);

const struct route api_routes[] = {
	{ EVHTTP_REQ_POST, "/v2/sandboxes", api_create_v2,
	    "POST /v2/sandboxes", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes", api_create_v1,
	    "POST /sandboxes", NULL },
	{ EVHTTP_REQ_GET, "/v2/sandboxes", api_list_v2,
	    "GET /v2/sandboxes", NULL },
	{ EVHTTP_REQ_GET, "/sandboxes", api_list_v1,
	    "GET /sandboxes", NULL },
	{ EVHTTP_REQ_GET, "/sandboxes/{id}", api_get,
	    "GET /sandboxes/{id}", NULL },
	{ EVHTTP_REQ_DELETE, "/sandboxes/{id}", api_kill,
	    "DELETE /sandboxes/{id}", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes/{id}/timeout", api_timeout,
	    "POST /sandboxes/{id}/timeout", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes/{id}/refreshes", api_refresh,
	    "POST /sandboxes/{id}/refreshes", NULL },
	{ EVHTTP_REQ_POST, "/v2/sandboxes/{id}/connect", api_connect_v2,
	    "POST /v2/sandboxes/{id}/connect", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes/{id}/connect", api_connect_v1,
	    "POST /sandboxes/{id}/connect", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes/{id}/pause", api_pause,
	    "POST /sandboxes/{id}/pause", NULL },
	{ EVHTTP_REQ_POST, "/sandboxes/{id}/resume", api_resume,
	    "POST /sandboxes/{id}/resume", NULL },
	{ 0, NULL, NULL, NULL, NULL }
};

/* A sandbox in a list, ordered and paged by (start, id). */
struct api_item {
	struct sandbox	*i_sb;
};

static int	api_body(struct request *, int, struct json_object **);
static void	api_schema_error(struct request *, const char *);
static int	api_strmap(struct json_object *, const char *,
		    struct json_object **, char **);
static struct sandbox *api_sandbox(struct request *);
static void	api_add_time(struct json_object *, const char *,
		    const struct timespec *);
static struct json_object *api_sandbox_json(struct sandbox *);
static struct json_object *api_sandbox_info(struct sandbox *, int);
static void	api_create(struct request *, int);
static int	api_keepalive(struct request *, struct sandbox *, int64_t, int);
static int	api_meta_filter(const char *, struct json_object **, char **);
static int	api_meta_match(struct sandbox *, struct json_object *);
static int	api_order(const struct timespec *, const char *,
		    const struct timespec *, const char *);
static int	api_cmp_desc(const void *, const void *);
static char	*api_token(struct sandbox *);
static int	api_token_parse(const char *, struct timespec *, char *,
		    size_t);
static struct api_item *api_collect(struct json_object *, const char *,
		    size_t *);
static int	api_list_params(struct request *, int *, int64_t *);
static void	api_connect(struct request *, int);

/*
 * Parse a JSON body as the API's request validator does.  0 and *o, or -1
 * after answering 400.  An absent body is an error only if required.
 */
static int
api_body(struct request *q, int required, struct json_object **o)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(q->q_req);
	const char	*ctype = server_header(q->q_req, "Content-Type");
	char		*cause = NULL, *type = NULL;
	int		 r;

	*o = NULL;
	if (evbuffer_get_length(in) == 0) {
		if (!required) {
			*o = json_object_new_object();
			return (0);
		}
		server_api_error(q->q_req, 400, API_VALIDATION "request body "
		    "has an error: value is required but missing");
		return (-1);
	}
	if (ctype == NULL || wire_media_type(ctype, &type, NULL) == -1 ||
	    strcmp(type, "application/json") != 0) {
		server_api_error(q->q_req, 400, API_VALIDATION "request body "
		    "has an error: header Content-Type has unexpected value: "
		    "\"%s\"", ctype != NULL ? ctype : "");
		free(type);
		return (-1);
	}
	free(type);
	if ((r = server_body(q->q_req, E2BL_JSON_MAX, o, &cause)) == -2) {
		server_api_error(q->q_req, 413, "Request body too large");
		return (-1);
	}
	if (r == -1 || !json_object_is_type(*o, json_type_object)) {
		server_api_error(q->q_req, 400, API_VALIDATION "request body "
		    "has an error: failed to decode request body: %s",
		    cause != NULL ? cause : "expected a JSON object");
		free(cause);
		json_object_put(*o);
		*o = NULL;
		return (-1);
	}
	return (0);
}

/* A body that does not fit the API's schema. */
static void
api_schema_error(struct request *q, const char *cause)
{
	server_api_error(q->q_req, 400, API_VALIDATION "request body has an "
	    "error: doesn't match schema: %s", cause);
}

/* An optional {string: string} member, copied to *out (or NULL). */
static int
api_strmap(struct json_object *o, const char *key, struct json_object **out,
    char **cause)
{
	struct json_object	*m = NULL;

	*out = NULL;
	if (json_get_object(o, "", key, J_OPTIONAL, &m, cause) == -1)
		return (-1);
	if (m == NULL)
		return (0);
	if (json_object_object_length(m) > API_MAP_MAX) {
		xasprintf(cause, "%s: too many entries", key);
		return (-1);
	}
	json_object_object_foreach(m, k, v) {
		if (!json_object_is_type(v, json_type_string)) {
			xasprintf(cause, "%s.%s: expected a string, got %s",
			    key, k, json_type_label(v));
			return (-1);
		}
	}
	*out = json_object_get(m);
	return (0);
}

/*
 * The sandbox a path's {id} names, as utils.ShortID reads it (a legacy
 * "-clientID" suffix is dropped).  NULL after answering 400 or 404.
 */
static struct sandbox *
api_sandbox(struct request *q)
{
	struct sandbox	*sb;
	char		*dash;
	size_t		 i;

	if ((dash = strchr(q->q_id, '-')) != NULL)
		*dash = '\0';
	for (i = 0; q->q_id[i] != '\0'; i++) {
		if (!islower((unsigned char)q->q_id[i]) &&
		    !isdigit((unsigned char)q->q_id[i]))
			break;
	}
	if (i == 0 || q->q_id[i] != '\0') {
		server_api_error(q->q_req, 400, "Invalid sandbox ID");
		return (NULL);
	}
	if ((sb = sandbox_find(q->q_id)) == NULL)
		server_api_error(q->q_req, 404, "Sandbox \"%s\" doesn't exist "
		    "or you don't have access to it", q->q_id);
	return (sb);
}

static void
api_add_time(struct json_object *o, const char *key, const struct timespec *ts)
{
	char	buf[GOFMT_TIME_MAX];

	gofmt_time(buf, sizeof(buf), ts, GOFMT_TIME_GO);
	json_add_string(o, key, buf);
}

/* The API's Sandbox object (create and connect answers). */
static struct json_object *
api_sandbox_json(struct sandbox *sb)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "alias", sb->sb_tmpl->t_name);
	json_add_string(o, "clientID", E2BL_CLIENT_ID);
	if (sb->sb_token != NULL)
		json_add_string(o, "envdAccessToken", sb->sb_token);
	json_add_string(o, "envdVersion", E2BL_ENVD_VERSION);
	json_add_string(o, "sandboxID", sb->sb_id);
	json_add_string(o, "templateID", sb->sb_tmpl->t_name);
	return (o);
}

/*
 * The API's ListedSandbox object, or with detail its SandboxDetail (the
 * same fields and a few more), in the Go structs' field order.
 */
static struct json_object *
api_sandbox_info(struct sandbox *sb, int detail)
{
	struct json_object	*o, *lc;

	o = json_object_new_object();
	json_add_string(o, "alias", sb->sb_tmpl->t_name);
	if (detail)
		json_add_bool(o, "allowInternetAccess", sb->sb_internet);
	json_add_string(o, "clientID", E2BL_CLIENT_ID);
	json_add_int(o, "cpuCount", E2BL_CPU_COUNT);
	json_add_int(o, "diskSizeMB", E2BL_DISK_MB);
	api_add_time(o, "endAt", &sb->sb_end);
	if (detail && sb->sb_token != NULL)
		json_add_string(o, "envdAccessToken", sb->sb_token);
	json_add_string(o, "envdVersion", E2BL_ENVD_VERSION);
	if (detail) {
		lc = json_object_new_object();
		json_add_bool(lc, "autoResume", 0);
		json_add_string(lc, "onTimeout", "kill");
		json_object_object_add(o, "lifecycle", lc);
	}
	json_add_int(o, "memoryMB", E2BL_MEMORY_MB);
	if (sb->sb_metadata != NULL)
		json_object_object_add(o, "metadata",
		    json_object_get(sb->sb_metadata));
	json_add_string(o, "sandboxID", sb->sb_id);
	api_add_time(o, "startedAt", &sb->sb_start);
	json_add_string(o, "state", "running");
	json_add_string(o, "templateID", sb->sb_tmpl->t_name);
	return (o);
}

/* Answer the create request once the sandbox's agent serves. */
void
api_created(struct sandbox *sb)
{
	struct evhttp_request	*req = sb->sb_create;

	sb->sb_create = NULL;
	if (req != NULL)
		server_reply_json(req, 201, api_sandbox_json(sb));
}

void
api_create_failed(struct sandbox *sb, const char *cause)
{
	struct json_object	*o;
	struct evhttp_request	*req = sb->sb_create;
	char			*msg;

	sb->sb_create = NULL;
	if (req == NULL)
		return;
	xasprintf(&msg, "Failed to create sandbox: %s", cause);
	o = json_object_new_object();
	json_add_int(o, "code", 500);
	json_add_string(o, "error_code", "sandbox_create_failed");
	json_add_string(o, "message", msg);
	free(msg);
	server_reply_json(req, 500, o);
}

static void
api_create_v1(struct request *q)
{
	api_create(q, 0);
}

static void
api_create_v2(struct request *q)
{
	api_create(q, 1);
}

/*
 * POST /sandboxes and /v2/sandboxes.  The answer waits until the sandbox
 * serves (api_created).  v2 is always secured and defaults to 300 s;
 * the legacy route mints a token only for "secure": true and defaults to
 * 15 s.
 */
static void
api_create(struct request *q, int v2)
{
	struct json_object	*body, *meta = NULL, *envs = NULL;
	struct template		*t;
	struct sandbox		*sb;
	const char		*tid = NULL;
	char			*cause = NULL, *name, *tag;
	int64_t			 timeout;
	int			 secure = v2, internet = 1, autopause = 0;

	timeout = v2 ? E2BL_TIMEOUT_V2 : E2BL_TIMEOUT_V1;
	if (api_body(q, 1, &body) == -1)
		return;
	if (json_get_string(body, "", "templateID", J_REQUIRED, 256, &tid,
	    &cause) == -1 || json_get_int(body, "", "timeout", J_OPTIONAL,
	    INT32_MIN, INT32_MAX, &timeout, &cause) == -1 ||
	    (!v2 && json_get_bool(body, "", "secure", J_OPTIONAL, &secure,
	    &cause) == -1) || json_get_bool(body, "", "allow_internet_access",
	    J_OPTIONAL, &internet, &cause) == -1 || json_get_bool(body, "",
	    "autoPause", J_OPTIONAL, &autopause, &cause) == -1 ||
	    api_strmap(body, "metadata", &meta, &cause) == -1 ||
	    api_strmap(body, "envVars", &envs, &cause) == -1) {
		api_schema_error(q, cause);
		goto out;
	}
	if (timeout <= 0 && json_object_object_get_ex(body, "timeout", NULL)) {
		server_api_error(q->q_req, 400,
		    "Timeout must be greater than 0");
		goto out;
	}
	if (timeout > E2BL_MAX_LIFETIME) {
		server_api_error(q->q_req, 400, "Timeout cannot be greater "
		    "than %d hours", E2BL_MAX_LIFETIME / 3600);
		goto out;
	}
	name = xstrdup(tid);
	if ((tag = strchr(name, ':')) != NULL)
		*tag++ = '\0';
	if ((t = template_find(name)) == NULL)
		server_api_error(q->q_req, 404, "template '%s' not found",
		    name);
	else if (tag != NULL && strcmp(tag, "default") != 0)
		server_api_error(q->q_req, 404, "tag '%s' does not exist for "
		    "template '%s'", tag, name);
	else if (autopause)
		server_api_error(q->q_req, 400, "Template '%s' does not "
		    "support pausing: e2b-local cannot snapshot a sandbox, so "
		    "autoPause must be false", name);
	else {
		sb = sandbox_new(t, secure);
		sb->sb_metadata = meta;
		sb->sb_envs = envs != NULL ? envs : json_object_new_object();
		meta = envs = NULL;
		sb->sb_internet = internet;
		sandbox_set_timeout(sb, timeout);
		sb->sb_create = q->q_req;
		if (sandbox_spawn(sb, &cause) == -1) {
			api_create_failed(sb, cause);
			sandbox_kill(sb, "spawn failed");
		}
	}
	free(name);
out:
	free(cause);
	json_object_put(meta);
	json_object_put(envs);
	json_object_put(body);
}

static void
api_get(struct request *q)
{
	struct sandbox	*sb;

	if ((sb = api_sandbox(q)) != NULL)
		server_reply_json(q->q_req, 200, api_sandbox_info(sb, 1));
}

static void
api_kill(struct request *q)
{
	struct sandbox	*sb;

	if ((sb = api_sandbox(q)) == NULL)
		return;
	sandbox_kill(sb, "killed by request");
	evhttp_send_reply(q->q_req, 204, NULL, NULL);
}

/*
 * The orchestrator's KeepAliveFor: a new end of now + secs, capped at the
 * maximum lifetime from the start; only longer unless shorter is allowed.
 * -1 after answering 400.
 */
static int
api_keepalive(struct request *q, struct sandbox *sb, int64_t secs,
    int shorter)
{
	struct timespec	now;
	int64_t		left;

	clock_gettime(CLOCK_REALTIME, &now);
	left = sb->sb_start.tv_sec + E2BL_MAX_LIFETIME - now.tv_sec;
	if (left < 0) {
		server_api_error(q->q_req, 400, "Max instance length exceeded");
		return (-1);
	}
	if (secs < 0)
		secs = 0;
	if (secs > left)
		secs = left;
	if (shorter || now.tv_sec + secs > sb->sb_end.tv_sec)
		sandbox_set_timeout(sb, secs);
	return (0);
}

static void
api_timeout(struct request *q)
{
	struct json_object	*body;
	struct sandbox		*sb;
	char			*cause = NULL;
	int64_t			 secs;

	if ((sb = api_sandbox(q)) == NULL || api_body(q, 1, &body) == -1)
		return;
	if (json_get_int(body, "", "timeout", J_REQUIRED, INT32_MIN, INT32_MAX,
	    &secs, &cause) == -1) {
		api_schema_error(q, cause);
		free(cause);
	} else if (api_keepalive(q, sb, secs, 1) == 0)
		evhttp_send_reply(q->q_req, 204, NULL, NULL);
	json_object_put(body);
}

static void
api_refresh(struct request *q)
{
	struct json_object	*body;
	struct sandbox		*sb;
	char			*cause = NULL;
	int64_t			 secs = E2BL_TIMEOUT_V1;

	if ((sb = api_sandbox(q)) == NULL || api_body(q, 0, &body) == -1)
		return;
	if (json_get_int(body, "", "duration", J_OPTIONAL, 0, 3600, &secs,
	    &cause) == -1) {
		api_schema_error(q, cause);
		free(cause);
	} else if (api_keepalive(q, sb, secs < E2BL_TIMEOUT_V1 ?
	    E2BL_TIMEOUT_V1 : secs, 0) == 0)
		evhttp_send_reply(q->q_req, 204, NULL, NULL);
	json_object_put(body);
}

static void
api_connect_v1(struct request *q)
{
	api_connect(q, 0);
}

static void
api_connect_v2(struct request *q)
{
	api_connect(q, 1);
}

/* Connect to a running sandbox: 200 and the Sandbox; its TTL only grows. */
static void
api_connect(struct request *q, int v2)
{
	struct json_object	*body;
	struct sandbox		*sb;
	char			*cause = NULL;
	int64_t			 secs = E2BL_TIMEOUT_V2;

	if (api_body(q, !v2, &body) == -1)
		return;
	if (json_get_int(body, "", "timeout", v2 ? J_OPTIONAL : J_REQUIRED, 0,
	    INT32_MAX, &secs, &cause) == -1)
		api_schema_error(q, cause);
	else if (secs > E2BL_MAX_LIFETIME)
		server_api_error(q->q_req, 400, "Timeout cannot be greater "
		    "than %d hours", E2BL_MAX_LIFETIME / 3600);
	else if ((sb = api_sandbox(q)) != NULL &&
	    api_keepalive(q, sb, secs, 0) == 0)
		server_reply_json(q->q_req, 200, api_sandbox_json(sb));
	free(cause);
	json_object_put(body);
}

/* e2b-local cannot snapshot a process tree: as for an unpausable template. */
static void
api_pause(struct request *q)
{
	struct sandbox	*sb;

	if ((sb = api_sandbox(q)) == NULL)
		return;
	server_api_error(q->q_req, 400, "Sandbox '%s' cannot be paused: "
	    "template '%s' does not support pausing (e2b-local cannot snapshot "
	    "a sandbox)", sb->sb_id, sb->sb_tmpl->t_name);
}

/* Nothing is ever paused, so a running sandbox cannot be resumed. */
static void
api_resume(struct request *q)
{
	struct sandbox	*sb;

	if ((sb = api_sandbox(q)) == NULL)
		return;
	server_api_error(q->q_req, 409, "Sandbox %s is already running",
	    sb->sb_id);
}

/*
 * Parse the metadata filter as the API's parseFilters does: the value is
 * unescaped once more, split on "&" into "key=value" pairs (exactly one
 * "=" each), and each side unescaped again.  -1 with *cause if malformed.
 */
static int
api_meta_filter(const char *s, struct json_object **filter, char **cause)
{
	char	*all = NULL, *pair, *save = NULL, *eq, *k = NULL, *v = NULL;

	*filter = NULL;
	if (s == NULL)
		return (0);
	if (wire_unescape(s, strlen(s), 1, &all) == -1) {
		xasprintf(cause, "error when unescaping query");
		return (-1);
	}
	*filter = json_object_new_object();
	for (pair = strtok_r(all, "&", &save); pair != NULL;
	    pair = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(pair, '=')) == NULL || strchr(eq + 1, '=') !=
		    NULL) {
			xasprintf(cause, "invalid key value pair in query");
			goto fail;
		}
		if (wire_unescape(pair, (size_t)(eq - pair), 1, &k) == -1 ||
		    wire_unescape(eq + 1, strlen(eq + 1), 1, &v) == -1) {
			xasprintf(cause, "error when unescaping key or value");
			goto fail;
		}
		json_add_string(*filter, k, v);
		free(k);
		free(v);
		k = v = NULL;
	}
	free(all);
	return (0);
fail:
	free(k);
	free(v);
	free(all);
	json_object_put(*filter);
	*filter = NULL;
	return (-1);
}

/* Does a sandbox's metadata hold every pair of the filter? */
static int
api_meta_match(struct sandbox *sb, struct json_object *filter)
{
	const char	*v;

	if (filter == NULL)
		return (1);
	json_object_object_foreach(filter, k, want) {
		v = json_peek_string(sb->sb_metadata, k);
		if (v == NULL || strcmp(v, json_object_get_string(want)) != 0)
			return (0);
	}
	return (1);
}

/* Order two (start, id) keys newest first; ties by id, descending. */
static int
api_order(const struct timespec *x, const char *xid, const struct timespec *y,
    const char *yid)
{
	if (x->tv_sec != y->tv_sec)
		return (x->tv_sec < y->tv_sec ? 1 : -1);
	if (x->tv_nsec != y->tv_nsec)
		return (x->tv_nsec < y->tv_nsec ? 1 : -1);
	return (-strcmp(xid, yid));
}

static int
api_cmp_desc(const void *a, const void *b)
{
	const struct sandbox	*x = ((const struct api_item *)a)->i_sb;
	const struct sandbox	*y = ((const struct api_item *)b)->i_sb;

	return (api_order(&x->sb_start, x->sb_id, &y->sb_start, y->sb_id));
}

/* The paging cursor after a sandbox: base64 of "<sec>.<nsec>__<id>". */
static char *
api_token(struct sandbox *sb)
{
	struct buf	b;
	char		raw[128];

	snprintf(raw, sizeof(raw), "%lld.%09ld__%s",
	    (long long)sb->sb_start.tv_sec, sb->sb_start.tv_nsec, sb->sb_id);
	buf_init(&b, 256);
	(void)base64_encode(&b, raw, strlen(raw));
	return (buf_detach(&b, NULL));
}

/* Decode a cursor; -1 if it is not one of ours. */
static int
api_token_parse(const char *tok, struct timespec *ts, char *id, size_t idlen)
{
	struct buf	 b;
	long long	 sec;
	long		 nsec;
	int		 used = 0;

	buf_init(&b, 256);
	if (base64_decode(&b, tok, strlen(tok)) == -1 ||
	    sscanf(buf_str(&b), "%lld.%ld__%n", &sec, &nsec, &used) != 2 ||
	    used == 0 || strlen(buf_str(&b) + used) >= idlen ||
	    buf_str(&b)[used] == '\0') {
		buf_free(&b);
		return (-1);
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	snprintf(id, idlen, "%s", buf_str(&b) + used);
	buf_free(&b);
	return (0);
}

/* Running sandboxes matching a filter, sorted newest first. */
static struct api_item *
api_collect(struct json_object *filter, const char *tmpl, size_t *n)
{
	struct api_item	*items = NULL;
	struct sandbox	*sb;

	*n = 0;
	TAILQ_FOREACH(sb, &e2bl.e_sandboxes, sb_entry) {
		if (sb->sb_state != SB_RUNNING || !api_meta_match(sb, filter) ||
		    (tmpl != NULL && strcmp(tmpl, sb->sb_tmpl->t_name) != 0))
			continue;
		items = xreallocarray(items, *n + 1, sizeof(*items));
		items[(*n)++].i_sb = sb;
	}
	if (*n > 1)
		qsort(items, *n, sizeof(*items), api_cmp_desc);
	return (items);
}

/* GET /sandboxes: running sandboxes, newest first, no paging. */
static void
api_list_v1(struct request *q)
{
	struct json_object	*filter, *arr;
	struct api_item		*items;
	char			*cause = NULL;
	size_t			 n, i;

	if (api_meta_filter(wire_query_get(&q->q_query, "metadata"), &filter,
	    &cause) == -1) {
		server_api_error(q->q_req, 400, "Error parsing metadata: error "
		    "parsing metadata: %s", cause);
		free(cause);
		return;
	}
	items = api_collect(filter, NULL, &n);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, api_sandbox_info(items[i].i_sb, 0));
	free(items);
	json_object_put(filter);
	server_reply_json(q->q_req, 200, arr);
}

/* Check the state and limit parameters; -1 after answering 400. */
static int
api_list_params(struct request *q, int *running, int64_t *limit)
{
	const char	*state = wire_query_get(&q->q_query, "state");
	const char	*lim = wire_query_get(&q->q_query, "limit"), *s, *e;
	char		*end;

	*running = state == NULL;
	for (s = state; s != NULL && *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		e = s + strcspn(s, ",");
		if ((size_t)(e - s) == 7 && strncmp(s, "running", 7) == 0)
			*running = 1;
		else if ((size_t)(e - s) != 6 || strncmp(s, "paused", 6) != 0) {
			server_api_error(q->q_req, 400, API_VALIDATION
			    "parameter \"state\" in query has an error: value "
			    "is not one of the allowed values "
			    "[\"running\",\"paused\"]");
			return (-1);
		}
	}
	*limit = API_LIST_MAX;
	if (lim != NULL) {
		*limit = strtoll(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || *limit < 1 ||
		    *limit > API_LIST_MAX) {
			server_api_error(q->q_req, 400, API_VALIDATION
			    "parameter \"limit\" in query has an error: number "
			    "must be between 1 and %d", API_LIST_MAX);
			return (-1);
		}
	}
	return (0);
}

/*
 * GET /v2/sandboxes: filtered by metadata, state and template, newest
 * first (or oldest with order=asc), in pages of limit with X-Next-Token,
 * and X-Total-Running when running sandboxes were asked for.
 */
static void
api_list_v2(struct request *q)
{
	struct json_object	*filter = NULL, *arr;
	struct api_item		*items = NULL;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(
				    q->q_req);
	const char		*order = wire_query_get(&q->q_query, "order");
	const char		*next;
	struct timespec		 cts;
	char			*tok, num[32], cid[64], *cause = NULL;
	size_t			 n = 0, i, first = 0;
	int64_t			 limit;
	int			 running, asc = 0, c;

	next = wire_query_get(&q->q_query, "nextToken");
	if (api_list_params(q, &running, &limit) == -1)
		return;
	if (order != NULL && strcmp(order, "asc") != 0 &&
	    strcmp(order, "desc") != 0) {
		server_api_error(q->q_req, 400, "Invalid order parameter: "
		    "unknown order \"%s\"", order);
		return;
	}
	asc = order != NULL && strcmp(order, "asc") == 0;
	if (api_meta_filter(wire_query_get(&q->q_query, "metadata"), &filter,
	    &cause) == -1) {
		server_api_error(q->q_req, 400, "Error parsing metadata");
		free(cause);
		return;
	}
	if (running)
		items = api_collect(filter, wire_query_get(&q->q_query,
		    "template"), &n);
	for (i = 0; asc && i < n / 2; i++) {
		struct api_item t = items[i];

		items[i] = items[n - 1 - i];
		items[n - 1 - i] = t;
	}
	if (next != NULL && *next != '\0') {
		if (api_token_parse(next, &cts, cid, sizeof(cid)) == -1) {
			server_api_error(q->q_req, 400, "Invalid next token");
			goto out;
		}
		/* The first sandbox that sorts after the cursor. */
		for (first = 0; first < n; first++) {
			c = api_order(&items[first].i_sb->sb_start,
			    items[first].i_sb->sb_id, &cts, cid);
			if (asc ? c < 0 : c > 0)
				break;
		}
	}
	arr = json_object_new_array();
	for (i = first; i < n && i < first + (size_t)limit; i++)
		json_object_array_add(arr, api_sandbox_info(items[i].i_sb, 0));
	if (i < n) {
		tok = api_token(items[i - 1].i_sb);
		evhttp_add_header(out, "X-Next-Token", tok);
		free(tok);
	}
	if (running) {
		snprintf(num, sizeof(num), "%zu", n);
		evhttp_add_header(out, "X-Total-Running", num);
	}
	server_reply_json(q->q_req, 200, arr);
out:
	free(items);
	json_object_put(filter);
}
