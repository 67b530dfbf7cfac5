/*
 * Test-only extras under /_local/ (no API key; e2b-local serves loopback
 * only): request counts by route, the live sandboxes, and switchable
 * faults.  The JSON is described in tests/e2b-local/README.md.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "e2b-local.h"
#include "gofmt.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define LOCAL_FAULTS_MAX	64

static void	local_stats(struct evhttp_request *, int);
static void	local_sandboxes(struct evhttp_request *);
static void	local_faults_get(struct evhttp_request *);
static void	local_faults_post(struct evhttp_request *);
static void	local_faults_clear(void);
static void	local_stats_clear(void);
static int	local_fault_parse(struct json_object *, struct fault *,
		    char **);

/* Count one request of a route. */
void
local_count(const char *key)
{
	struct stat_entry	*s;

	TAILQ_FOREACH(s, &e2bl.e_stats, s_entry) {
		if (strcmp(s->s_route, key) == 0) {
			s->s_count++;
			return;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->s_route = xstrdup(key);
	s->s_count = 1;
	TAILQ_INSERT_TAIL(&e2bl.e_stats, s, s_entry);
}

/*
 * Take one use of the first armed fault of a kind (1: an HTTP status, 0:
 * a dropped stream) that applies to a route.  1 and a copy in *out.
 */
int
local_fault_take(const char *key, int status, struct fault *out)
{
	struct fault	*f;

	TAILQ_FOREACH(f, &e2bl.e_faults, f_entry) {
		if ((f->f_status != 0) != status || (strcmp(f->f_route, "*") !=
		    0 && strcmp(f->f_route, key) != 0))
			continue;
		*out = *f;
		out->f_route = NULL;
		if (--f->f_count == 0) {
			TAILQ_REMOVE(&e2bl.e_faults, f, f_entry);
			free(f->f_route);
			free(f);
		}
		log_info("fault: %s for %s", status ? "status" : "drop", key);
		return (1);
	}
	return (0);
}

void
local_dispatch(struct evhttp_request *req, const char *path)
{
	int	m = evhttp_request_get_command(req);

	if (strcmp(path, "/_local/stats") == 0 && m == EVHTTP_REQ_GET)
		local_stats(req, 0);
	else if (strcmp(path, "/_local/stats") == 0 && m == EVHTTP_REQ_DELETE)
		local_stats(req, 1);
	else if (strcmp(path, "/_local/sandboxes") == 0 && m == EVHTTP_REQ_GET)
		local_sandboxes(req);
	else if (strcmp(path, "/_local/faults") == 0 && m == EVHTTP_REQ_GET)
		local_faults_get(req);
	else if (strcmp(path, "/_local/faults") == 0 && m == EVHTTP_REQ_POST)
		local_faults_post(req);
	else if (strcmp(path, "/_local/faults") == 0 &&
	    m == EVHTTP_REQ_DELETE) {
		local_faults_clear();
		evhttp_send_reply(req, 204, NULL, NULL);
	} else
		server_not_found(req);
}

/* GET: {"total": N, "routes": {route: N}}; DELETE: reset. */
static void
local_stats(struct evhttp_request *req, int reset)
{
	struct json_object	*o, *routes;
	struct stat_entry	*s;
	uint64_t		 total = 0;

	if (reset) {
		local_stats_clear();
		evhttp_send_reply(req, 204, NULL, NULL);
		return;
	}
	routes = json_object_new_object();
	TAILQ_FOREACH(s, &e2bl.e_stats, s_entry) {
		json_add_int(routes, s->s_route, (int64_t)s->s_count);
		total += s->s_count;
	}
	o = json_object_new_object();
	json_add_int(o, "total", (int64_t)total);
	json_object_object_add(o, "routes", routes);
	server_reply_json(req, 200, o);
}

/* Every sandbox not yet gone, whatever its state. */
static void
local_sandboxes(struct evhttp_request *req)
{
	static const char	*states[] = { "starting", "running", "dying" };
	struct json_object	*arr, *o;
	struct sandbox		*sb;
	struct call		*c;
	char			 t[GOFMT_TIME_MAX];
	int			 n;

	arr = json_object_new_array();
	TAILQ_FOREACH(sb, &e2bl.e_sandboxes, sb_entry) {
		o = json_object_new_object();
		json_add_string(o, "sandboxID", sb->sb_id);
		json_add_string(o, "templateID", sb->sb_tmpl->t_name);
		json_add_string(o, "state", states[sb->sb_state]);
		json_add_int(o, "pid", sb->sb_pid);
		gofmt_time(t, sizeof(t), &sb->sb_start, GOFMT_TIME_GO);
		json_add_string(o, "startedAt", t);
		gofmt_time(t, sizeof(t), &sb->sb_end, GOFMT_TIME_GO);
		json_add_string(o, "endAt", t);
		n = 0;
		TAILQ_FOREACH(c, &sb->sb_calls, c_entry)
			n++;
		json_add_int(o, "requestsInFlight", n);
		json_object_array_add(arr, o);
	}
	server_reply_json(req, 200, arr);
}

static void
local_faults_get(struct evhttp_request *req)
{
	struct json_object	*o, *arr, *f;
	struct fault		*ft;

	arr = json_object_new_array();
	TAILQ_FOREACH(ft, &e2bl.e_faults, f_entry) {
		f = json_object_new_object();
		json_add_string(f, "route", ft->f_route);
		if (ft->f_status != 0) {
			json_add_int(f, "status", ft->f_status);
			if (ft->f_status == 429)
				json_add_int(f, "retryAfter",
				    ft->f_retry_after);
		} else
			json_add_int(f, "dropAfterBytes", ft->f_drop_after);
		json_add_int(f, "count", ft->f_count);
		json_object_array_add(arr, f);
	}
	o = json_object_new_object();
	json_add_int(o, "latencyMs", e2bl.e_latency_ms);
	json_object_object_add(o, "faults", arr);
	server_reply_json(req, 200, o);
}

static void
local_faults_clear(void)
{
	struct fault	*f;

	while ((f = TAILQ_FIRST(&e2bl.e_faults)) != NULL) {
		TAILQ_REMOVE(&e2bl.e_faults, f, f_entry);
		free(f->f_route);
		free(f);
	}
	e2bl.e_latency_ms = 0;
}

/* Read one fault description; -1 with *cause if it makes no sense. */
static int
local_fault_parse(struct json_object *o, struct fault *f, char **cause)
{
	const char	*route = "*";
	int64_t		 status = 0, count = 1, retry = 1, drop = -1;

	if (json_get_string(o, "", "route", J_OPTIONAL | J_NONEMPTY, 256,
	    &route, cause) == -1 || json_get_int(o, "", "status", J_OPTIONAL,
	    400, 599, &status, cause) == -1 || json_get_int(o, "", "count",
	    J_OPTIONAL, 1, 1000000, &count, cause) == -1 ||
	    json_get_int(o, "", "retryAfter", J_OPTIONAL, 0, 3600, &retry,
	    cause) == -1 || json_get_int(o, "", "dropAfterBytes", J_OPTIONAL,
	    0, INT64_MAX, &drop, cause) == -1)
		return (-1);
	if ((status != 0) == (drop != -1)) {
		xasprintf(cause,
		    "give exactly one of status and dropAfterBytes");
		return (-1);
	}
	memset(f, 0, sizeof(*f));
	f->f_route = xstrdup(route);
	f->f_status = (int)status;
	f->f_retry_after = (int)retry;
	f->f_count = (int)count;
	f->f_drop_after = drop;
	return (0);
}

/*
 * POST /_local/faults: {"clear": true}, {"latencyMs": N}, or one fault:
 * {"route", "status", "count", "retryAfter"} or {"route",
 * "dropAfterBytes", "count"}.
 */
static void
local_faults_post(struct evhttp_request *req)
{
	struct json_object	*o = NULL, *err;
	struct fault		 f, *fp;
	char			*cause = NULL;
	int64_t			 ms;
	int			 clear = 0, n = 0;

	if (server_body(req, E2BL_JSON_MAX, &o, &cause) != 0 ||
	    !json_object_is_type(o, json_type_object) ||
	    json_get_bool(o, "", "clear", J_OPTIONAL, &clear, &cause) == -1)
		goto bad;
	if (clear) {
		local_faults_clear();
		goto done;
	}
	if (json_object_object_get_ex(o, "latencyMs", NULL)) {
		if (json_get_int(o, "", "latencyMs", J_REQUIRED, 0, 60000, &ms,
		    &cause) == -1)
			goto bad;
		e2bl.e_latency_ms = (int)ms;
		goto done;
	}
	TAILQ_FOREACH(fp, &e2bl.e_faults, f_entry)
		n++;
	if (n >= LOCAL_FAULTS_MAX) {
		xasprintf(&cause, "too many faults armed");
		goto bad;
	}
	if (local_fault_parse(o, &f, &cause) == -1)
		goto bad;
	fp = xmalloc(sizeof(*fp));
	*fp = f;
	TAILQ_INSERT_TAIL(&e2bl.e_faults, fp, f_entry);
done:
	json_object_put(o);
	evhttp_send_reply(req, 204, NULL, NULL);
	return;
bad:
	err = json_object_new_object();
	json_add_string(err, "error", cause != NULL ? cause :
	    "expected a JSON object");
	server_reply_json(req, 400, err);
	free(cause);
	json_object_put(o);
}

static void
local_stats_clear(void)
{
	struct stat_entry	*s;

	while ((s = TAILQ_FIRST(&e2bl.e_stats)) != NULL) {
		TAILQ_REMOVE(&e2bl.e_stats, s, s_entry);
		free(s->s_route);
		free(s);
	}
}

/* At exit. */
void
local_free(void)
{
	local_faults_clear();
	local_stats_clear();
}
