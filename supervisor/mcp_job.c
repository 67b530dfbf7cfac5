/*
 * How a job looks to an MCP client: the structuredContent of get_job,
 * wait_job, submit_job and cancel_job, the brief form list_jobs uses,
 * log entries, resource URIs, progress messages and list cursors.  The
 * worker's result is returned as given, each part only if it has the
 * type the output schema promises; agent text goes inside the response's
 * untrusted-content envelope.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "clock.h"
#include "json.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define CURSOR_PREFIX	"skillbox:"

/* The parts of a worker's result passed through, with their types. */
static const struct {
	const char	*key;
	json_type	 type;
} view_result_parts[] = {
	{ "tests", json_type_object },
	{ "diff", json_type_object },
	{ "artifacts", json_type_array },
	{ "agent", json_type_object },
	{ "skills", json_type_object },
	{ "timings_ms", json_type_object },
};

static void	view_time(struct json_object *, const char *, int64_t);
static void	view_common(struct json_object *, const struct job *);
static void	view_result(struct json_object *, const struct job *,
		    const struct untrusted *);
static void	view_sandbox(struct json_object *, const struct job *);
static void	view_artifacts(struct json_object *, const struct job *);

/* "skillbox://jobs/<id>" followed by suffix ("" or "/log" ...). */
char *
view_uri(const struct job *j, const char *suffix)
{
	char	*uri;

	xasprintf(&uri, "skillbox://jobs/%s%s", j->j_id, suffix);
	return (uri);
}

static void
view_time(struct json_object *o, const char *key, int64_t ms)
{
	char	iso[CLOCK_ISO_LEN];

	if (ms > 0)
		json_add_string(o, key, clock_iso(ms, iso, sizeof(iso)));
}

/* The fields every view of a job has. */
static void
view_common(struct json_object *o, const struct job *j)
{
	struct json_object	*repo;

	json_add_string(o, "job_id", j->j_id);
	json_add_string(o, "state", job_state_name(j->j_state));
	json_add_bool(o, "done", job_state_terminal(j->j_state));
	if (j->j_reason != NULL)
		json_add_string(o, "reason", j->j_reason);
	json_add_string(o, "job", jobspec_type_name(j->j_type));
	if (json_object_object_get_ex(j->j_spec, "repo", &repo))
		json_object_object_add(o, "repo", json_object_get(repo));
	view_time(o, "created_at", j->j_created);
	view_time(o, "started_at", j->j_started);
	view_time(o, "updated_at", j->j_updated);
	view_time(o, "finished_at", j->j_finished);
}

/* The brief form of a job, for lists. */
struct json_object *
view_job_brief(const struct job *j)
{
	struct json_object	*o = json_object_new_object();

	view_common(o, j);
	return (o);
}

/* The sandbox: the worker's account, with what skillboxd knows added. */
static void
view_sandbox(struct json_object *o, const struct job *j)
{
	struct json_object	*given = NULL, *sb = NULL;

	if (j->j_result != NULL &&
	    json_object_object_get_ex(j->j_result, "sandbox", &given) &&
	    json_object_is_type(given, json_type_object))
		json_object_deep_copy(given, &sb, NULL);
	else if (j->j_sandbox != NULL)
		sb = json_object_new_object();
	else
		return;
	if (j->j_sandbox != NULL && !json_object_object_get_ex(sb, "id", NULL))
		json_add_string(sb, "id", j->j_sandbox);
	if (j->j_template != NULL &&
	    !json_object_object_get_ex(sb, "template", NULL))
		json_add_string(sb, "template", j->j_template);
	if (j->j_reap != JOB_REAP_NONE)
		json_add_string(sb, "reaped", job_reap_name(j->j_reap));
	json_object_object_add(o, "sandbox", sb);
}

/* Each artifact gets the URI of its resource if the worker gave none. */
static void
view_artifacts(struct json_object *arr, const struct job *j)
{
	struct json_object	*a;
	const char		*path;
	char			*uri, *suffix;
	size_t			 i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		a = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(a, json_type_object) ||
		    json_object_object_get_ex(a, "uri", NULL) ||
		    (path = json_peek_string(a, "path")) == NULL)
			continue;
		xasprintf(&suffix, "/artifacts/%s", path);
		uri = view_uri(j, suffix);
		json_add_string(a, "uri", uri);
		free(uri);
		free(suffix);
	}
}

/* The worker's result, part by part, typed as the schema says. */
static void
view_result(struct json_object *o, const struct job *j,
    const struct untrusted *u)
{
	struct json_object	*v, *copy;
	const char		*summary;
	char			*uri;
	size_t			 i;

	if (j->j_result == NULL)
		return;
	if ((summary = json_peek_string(j->j_result, "summary")) != NULL)
		json_object_object_add(o, "summary", untrusted_wrap(u,
		    summary, strlen(summary), VIEW_SUMMARY_MAX));
	for (i = 0; i < sizeof(view_result_parts) /
	    sizeof(view_result_parts[0]); i++) {
		if (!json_object_object_get_ex(j->j_result,
		    view_result_parts[i].key, &v) ||
		    !json_object_is_type(v, view_result_parts[i].type))
			continue;
		copy = NULL;
		json_object_deep_copy(v, &copy, NULL);
		if (strcmp(view_result_parts[i].key, "diff") == 0) {
			uri = view_uri(j, "/diff");
			json_add_string(copy, "resource", uri);
			free(uri);
		} else if (strcmp(view_result_parts[i].key, "artifacts") == 0)
			view_artifacts(copy, j);
		json_object_object_add(o, view_result_parts[i].key, copy);
	}
}

/* The whole job, as get_job and wait_job return it. */
struct json_object *
view_job(const struct job *j, const struct untrusted *u)
{
	struct json_object	*o = json_object_new_object(), *arr, *res;
	const char		*line;
	char			*uri;
	size_t			 pos;
	unsigned		 i;

	view_common(o, j);
	if ((pos = sched_queue_position(j)) > 0)
		json_add_int(o, "queue_position", (int64_t)pos);
	json_add_bool(o, "cancel_requested", j->j_cancel);
	if (j->j_log.jl_indexed)
		json_add_int(o, "events", (int64_t)j->j_log.jl_count);
	arr = json_object_new_array();
	for (i = JOB_RECENT; i-- > 0;)
		if ((line = job_recent(j, i)) != NULL)
			json_object_array_add(arr, untrusted_wrap(u, line,
			    strlen(line), JOB_RECENT_MAX));
	json_object_object_add(o, "recent_activity", arr);
	view_result(o, j, u);
	view_sandbox(o, j);
	res = json_object_new_object();
	uri = view_uri(j, "");
	json_add_string(res, "job", uri);
	free(uri);
	uri = view_uri(j, "/log");
	json_add_string(res, "log", uri);
	free(uri);
	uri = view_uri(j, "/diff");
	json_add_string(res, "diff", uri);
	free(uri);
	json_object_object_add(o, "resources", res);
	return (o);
}

/*
 * A log entry for a client: agent events and worker messages are
 * wrapped; state changes and sandbox records are skillboxd's own.
 */
struct json_object *
view_log_entry(struct json_object *e, const struct untrusted *u)
{
	struct json_object	*o = NULL, *v;
	const char		*kind = json_peek_string(e, "kind"), *s;
	size_t			 len;

	json_object_deep_copy(e, &o, NULL);
	if (kind != NULL && strcmp(kind, "event") == 0 &&
	    json_object_object_get_ex(o, "event", &v)) {
		s = json_object_to_json_string_length(v,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		json_object_object_add(o, "event", untrusted_wrap(u, s, len,
		    VIEW_EVENT_MAX));
	} else if (kind != NULL && strcmp(kind, "log") == 0 &&
	    (s = json_peek_string(o, "msg")) != NULL)
		json_object_object_add(o, "msg", untrusted_wrap(u, s,
		    strlen(s), VIEW_EVENT_MAX));
	return (o);
}

/* "running: <the latest activity, wrapped>" for a progress message. */
char *
view_progress(const struct job *j)
{
	struct untrusted	 u;
	struct buf		 b;
	const char		*line = job_recent(j, 0);

	buf_init(&b, 4096);
	(void)buf_addstr(&b, job_state_name(j->j_state));
	if (j->j_state == JOB_QUEUED)
		(void)buf_printf(&b, " (position %zu)",
		    sched_queue_position(j));
	if (line != NULL && !job_state_terminal(j->j_state)) {
		untrusted_init(&u);
		(void)buf_addstr(&b, ": ");
		untrusted_wrap_buf(&u, line, strlen(line), JOB_RECENT_MAX,
		    &b);
	}
	return (buf_detach(&b, NULL));
}

/* An opaque cursor for "continue after the job with this seq". */
char *
cursor_encode(uint64_t seq)
{
	struct buf	 b;
	char		 raw[64];
	int		 n;

	n = snprintf(raw, sizeof(raw), CURSOR_PREFIX "%llu",
	    (unsigned long long)seq);
	buf_init(&b, 128);
	(void)base64_encode(&b, raw, (size_t)n);
	return (buf_detach(&b, NULL));
}

/* The seq in a cursor; -1 if it is not one skillboxd made. */
int
cursor_decode(const char *s, uint64_t *seq)
{
	struct buf	 b;
	const char	*p;
	char		*end;
	int		 r = -1;

	buf_init(&b, 64);
	if (strlen(s) > 64 || base64_decode(&b, s, strlen(s)) == -1)
		goto out;
	p = buf_str(&b);
	if (strncmp(p, CURSOR_PREFIX, strlen(CURSOR_PREFIX)) != 0)
		goto out;
	p += strlen(CURSOR_PREFIX);
	if (*p < '0' || *p > '9')
		goto out;
	*seq = strtoull(p, &end, 10);
	if (*end == '\0' && strlen(p) <= 20)
		r = 0;
out:
	buf_free(&b);
	return (r);
}

/*
 * The params.cursor of a list request: 1 with *seq = UINT64_MAX when
 * there is none (the first page), 0 with *seq from the cursor, -1 after
 * answering that it is not one of ours.
 */
int
cursor_param(struct mcp_req *r, struct json_object *params, uint64_t *seq)
{
	const char	*cursor = NULL;
	char		*cause = NULL;

	*seq = UINT64_MAX;
	if (json_get_string(params, "params", "cursor", J_OPTIONAL, 128,
	    &cursor, &cause) == -1 || (cursor != NULL &&
	    cursor_decode(cursor, seq) == -1)) {
		mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: %s",
		    cause != NULL ? cause : "params.cursor: unknown cursor");
		free(cause);
		return (-1);
	}
	return (cursor == NULL);
}
