/*
 * MCP resources: skillbox://jobs/{id} (the job), .../log (its event log),
 * .../diff (the patch), .../artifacts/{path} (files it brought back) and
 * skillbox://skills/{name} (a skill's SKILL.md); their templates; reads;
 * subscriptions.  A URI that names nothing is -32002 with the URI.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "utf8.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define RES_JOBS	"skillbox://jobs/"
#define RES_SKILLS	"skillbox://skills/"
#define RES_PAGE	50		/* jobs per resources/list page */
#define RES_LOG_MAX	(1024 * 1024)	/* bytes of log in one read */

enum res_kind {
	RES_JOB,
	RES_LOG,
	RES_DIFF,
	RES_ARTIFACT,
	RES_SKILL,
	RES_KIND_MAX
};

/* A parsed URI: what it names and where. */
struct res_uri {
	enum res_kind	 ru_kind;
	struct job	*ru_job;
	char		 ru_name[1024];	/* skill name or artifact path */
};

static const struct {
	const char	*uri;
	const char	*name;
	const char	*desc;
	const char	*mime;
} res_templates_list[] = {
	{ RES_JOBS "{id}", "job", "A job: its state and result.",
	  "application/json" },
	{ RES_JOBS "{id}/log", "job-log", "A job's event log, one JSON "
	  "object per line.", "application/x-ndjson" },
	{ RES_JOBS "{id}/diff", "job-diff", "The patch a job produced.",
	  "text/x-diff" },
	{ RES_JOBS "{id}/artifacts/{path}", "job-artifact",
	  "A file a job brought back.", NULL },
	{ RES_SKILLS "{name}", "skill", "A skill of the Skills pack "
	  "(SKILL.md).", "text/markdown" },
};

static const struct res_provider *res_extra;

static int	res_parse(const char *, struct res_uri *);
static int	res_decode_path(const char *, char *, size_t);
static void	res_not_found(struct mcp_req *, const char *, const char *);
static struct json_object *res_entry(const char *, const char *,
		    const char *, const char *);
static void	res_list_jobs(struct json_object *, uint64_t, int *,
		    uint64_t *);
static struct json_object *res_text(const char *, const char *,
		    const char *, size_t);
static int	res_read_job_file(struct mcp_req *, const char *,
		    const struct res_uri *, struct json_object **);
static const char *res_mime(const char *);
static struct json_object *res_read_log(const char *, struct job *);
static const char *res_param_uri(struct mcp_req *, struct json_object *);

/* Percent-decode a relative path and refuse anything that climbs out. */
static int
res_decode_path(const char *s, char *out, size_t len)
{
	size_t	n = 0;
	char	hex[3] = { 0, 0, 0 };

	for (; *s != '\0'; s++) {
		if (n + 1 >= len)
			return (-1);
		if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			hex[0] = s[1];
			hex[1] = s[2];
			out[n++] = (char)strtol(hex, NULL, 16);
			s += 2;
		} else
			out[n++] = *s;
		if (iscntrl((unsigned char)out[n - 1]))
			return (-1);
	}
	out[n] = '\0';
	if (n == 0 || out[0] == '/' || strcmp(out, "..") == 0 ||
	    strncmp(out, "../", 3) == 0 || strstr(out, "/../") != NULL ||
	    (n >= 3 && strcmp(out + n - 3, "/..") == 0) ||
	    strstr(out, "//") != NULL)
		return (-1);
	return (0);
}

/* Parse a skillbox:// URI; -1 if it does not name something that exists. */
static int
res_parse(const char *uri, struct res_uri *ru)
{
	char		 id[JOB_ID_SIZE];
	const char	*p;

	memset(ru, 0, sizeof(*ru));
	if (strncmp(uri, RES_SKILLS, strlen(RES_SKILLS)) == 0) {
		p = uri + strlen(RES_SKILLS);
		if (strlen(p) >= sizeof(ru->ru_name) || !pack_exists(p))
			return (-1);
		ru->ru_kind = RES_SKILL;
		memcpy(ru->ru_name, p, strlen(p) + 1);
		return (0);
	}
	if (strncmp(uri, RES_JOBS, strlen(RES_JOBS)) != 0)
		return (-1);
	p = uri + strlen(RES_JOBS);
	if (strlen(p) < JOB_ID_SIZE - 1)
		return (-1);
	memcpy(id, p, JOB_ID_SIZE - 1);
	id[JOB_ID_SIZE - 1] = '\0';
	if ((ru->ru_job = jobs_find(id)) == NULL)
		return (-1);
	p += JOB_ID_SIZE - 1;
	if (*p == '\0')
		ru->ru_kind = RES_JOB;
	else if (strcmp(p, "/log") == 0)
		ru->ru_kind = RES_LOG;
	else if (strcmp(p, "/diff") == 0)
		ru->ru_kind = RES_DIFF;
	else if (strncmp(p, "/artifacts/", 11) == 0) {
		ru->ru_kind = RES_ARTIFACT;
		if (res_decode_path(p + 11, ru->ru_name,
		    sizeof(ru->ru_name)) == -1)
			return (-1);
	} else
		return (-1);
	return (0);
}

/* Add a program's own resources (NULL: none). */
void
res_register(const struct res_provider *rp)
{
	res_extra = rp;
}

/* Does this URI name a resource (for subscriptions)? */
int
res_exists(const char *uri)
{
	struct res_uri	ru;

	return (res_parse(uri, &ru) == 0 || (res_extra != NULL &&
	    res_extra->rp_exists(uri)));
}

/* Answer -32002 "Resource not found", with the URI as data. */
static void
res_not_found(struct mcp_req *r, const char *uri, const char *why)
{
	struct json_object	*data;
	char			*msg;

	data = json_object_new_object();
	json_add_string(data, "uri", uri);
	xasprintf(&msg, "Resource not found: %.200s%s%s", uri,
	    why != NULL ? ": " : "", why != NULL ? why : "");
	mcp_error(r, MCP_RESOURCE_NOT_FOUND, msg, data);
	free(msg);
}

/* One entry of resources/list. */
static struct json_object *
res_entry(const char *uri, const char *name, const char *desc,
    const char *mime)
{
	struct json_object	*o = json_object_new_object();

	json_add_string(o, "uri", uri);
	json_add_string(o, "name", name);
	if (desc != NULL)
		json_add_string(o, "description", desc);
	if (mime != NULL)
		json_add_string(o, "mimeType", mime);
	return (o);
}

/* One page of jobs (newest first, before seq) as job and log resources. */
static void
res_list_jobs(struct json_object *arr, uint64_t seq, int *more,
    uint64_t *next)
{
	struct job	*j;
	char		*uri, *name, *desc;
	int		 n = 0;

	*more = 0;
	for (j = jobs_find_seq(seq); j != NULL; j = jobs_older(j)) {
		if (n++ == RES_PAGE) {
			*more = 1;
			*next = j->j_seq + 1;
			return;
		}
		uri = view_uri(j, "");
		xasprintf(&name, "job %s", j->j_id);
		xasprintf(&desc, "A %s job, %s.", jobspec_type_name(j->j_type),
		    job_state_name(j->j_state));
		json_object_array_add(arr, res_entry(uri, name, desc,
		    "application/json"));
		free(uri);
		free(name);
		uri = view_uri(j, "/log");
		xasprintf(&name, "log of job %s", j->j_id);
		json_object_array_add(arr, res_entry(uri, name, "Its event "
		    "log, one JSON object per line.", "application/x-ndjson"));
		free(uri);
		free(name);
		free(desc);
	}
}

/* resources/list: the skills, then the jobs, a page at a time. */
void
res_list(struct mcp_req *r, struct json_object *params)
{
	struct json_object	*res, *arr, *skills = NULL, *s;
	char			*cause = NULL, *next, *version = NULL;
	uint64_t		 seq, nseq = 0;
	size_t			 i;
	int			 more, first;

	if ((first = cursor_param(r, params, &seq)) == -1)
		return;
	arr = json_object_new_array();
	if (first && pack_list(&skills, &version, &cause) == 0) {
		for (i = 0; i < json_object_array_length(skills); i++) {
			s = json_object_array_get_idx(skills, i);
			json_object_array_add(arr, res_entry(
			    json_peek_string(s, "uri"),
			    json_peek_string(s, "name"),
			    json_peek_string(s, "description"),
			    "text/markdown"));
		}
	}
	json_object_put(skills);
	free(version);
	free(cause);
	if (first && res_extra != NULL)
		res_extra->rp_list(arr);
	res_list_jobs(arr, seq, &more, &nseq);
	res = json_object_new_object();
	json_object_object_add(res, "resources", arr);
	if (more) {
		next = cursor_encode(nseq);
		json_add_string(res, "nextCursor", next);
		free(next);
	}
	mcp_reply(r, res);
}

/* resources/templates/list: one page. */
void
res_templates(struct mcp_req *r, struct json_object *params)
{
	struct json_object	*res, *arr, *t;
	size_t			 i;

	if (params != NULL && json_object_object_get_ex(params, "cursor",
	    NULL)) {
		mcp_error(r, MCP_INVALID_PARAMS, "Invalid params: unknown "
		    "cursor", NULL);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < sizeof(res_templates_list) /
	    sizeof(res_templates_list[0]); i++) {
		t = json_object_new_object();
		json_add_string(t, "uriTemplate", res_templates_list[i].uri);
		json_add_string(t, "name", res_templates_list[i].name);
		json_add_string(t, "description", res_templates_list[i].desc);
		if (res_templates_list[i].mime != NULL)
			json_add_string(t, "mimeType",
			    res_templates_list[i].mime);
		json_object_array_add(arr, t);
	}
	if (res_extra != NULL)
		res_extra->rp_templates(arr);
	res = json_object_new_object();
	json_object_object_add(res, "resourceTemplates", arr);
	mcp_reply(r, res);
}

/* A text item of resources/read contents. */
static struct json_object *
res_text(const char *uri, const char *mime, const char *text, size_t len)
{
	struct json_object	*o = json_object_new_object();

	json_add_string(o, "uri", uri);
	if (mime != NULL)
		json_add_string(o, "mimeType", mime);
	json_add_stringn(o, "text", text, len);
	return (o);
}

/* A MIME type from a file name; NULL means "decide from the bytes". */
static const char *
res_mime(const char *path)
{
	static const struct {
		const char	*ext;
		const char	*mime;
	} types[] = {
		{ ".json", "application/json" }, { ".csv", "text/csv" },
		{ ".md", "text/markdown" }, { ".txt", "text/plain" },
		{ ".log", "text/plain" }, { ".html", "text/html" },
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" },
		{ ".svg", "image/svg+xml" }, { ".patch", "text/x-diff" },
	};
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return (types[i].mime);
	return (NULL);
}

/* Read the diff or an artifact; text if it is UTF-8, else a blob. */
static int
res_read_job_file(struct mcp_req *r, const char *uri,
    const struct res_uri *ru, struct json_object **out)
{
	struct buf	 b, enc;
	const char	*mime;
	char		*cause = NULL, *rel;
	int		 truncated;

	if (ru->ru_kind == RES_DIFF)
		rel = xstrdup("diff.patch");
	else
		xasprintf(&rel, "artifacts/%s", ru->ru_name);
	buf_init(&b, STORE_FILE_MAX);
	if (store_read_file(ru->ru_job, rel, STORE_FILE_MAX, &b, &truncated,
	    &cause) == -1) {
		res_not_found(r, uri, errno == ENOENT ? NULL : cause);
		free(cause);
		free(rel);
		buf_free(&b);
		return (-1);
	}
	mime = ru->ru_kind == RES_DIFF ? "text/x-diff" : res_mime(rel);
	if (utf8_valid(buf_str(&b), buf_len(&b)) && (mime == NULL ||
	    strncmp(mime, "image/", 6) != 0 || strcmp(mime,
	    "image/svg+xml") == 0))
		*out = res_text(uri, mime != NULL ? mime : "text/plain",
		    buf_str(&b), buf_len(&b));
	else {
		buf_init(&enc, (size_t)-1 / 2);
		(void)base64_encode(&enc, buf_str(&b), buf_len(&b));
		*out = json_object_new_object();
		json_add_string(*out, "uri", uri);
		json_add_string(*out, "mimeType", mime != NULL ? mime :
		    "application/octet-stream");
		json_add_stringn(*out, "blob", buf_str(&enc), buf_len(&enc));
		buf_free(&enc);
	}
	free(rel);
	buf_free(&b);
	return (0);
}

/* The log as JSON lines, agent text inside one envelope. */
static struct json_object *
res_read_log(const char *uri, struct job *j)
{
	struct untrusted	 u;
	struct json_object	*arr, *o;
	struct buf		 b;
	size_t			 i;

	buf_init(&b, (size_t)-1 / 2);
	if (store_log_read(j, 0, UINT64_MAX, RES_LOG_MAX, &arr) >= 0) {
		for (i = 0; i < json_object_array_length(arr); i++)
			(void)buf_printf(&b, "%s\n", json_str(
			    json_object_array_get_idx(arr, i)));
		if (json_object_array_length(arr) < j->j_log.jl_count)
			(void)buf_printf(&b, "{\"kind\":\"truncated\","
			    "\"next_offset\":%zu}\n",
			    json_object_array_length(arr));
	}
	json_object_put(arr);
	untrusted_init(&u);
	o = json_object_new_object();
	json_add_string(o, "uri", uri);
	json_add_string(o, "mimeType", "application/x-ndjson");
	json_object_object_add(o, "text", untrusted_wrap(&u, buf_str(&b),
	    buf_len(&b), buf_len(&b)));
	buf_free(&b);
	return (o);
}

/* The params.uri of a request, or NULL after answering with an error. */
static const char *
res_param_uri(struct mcp_req *r, struct json_object *params)
{
	const char	*uri = NULL;
	char		*cause = NULL;

	if (json_get_string(params, "params", "uri", J_REQUIRED, 2048, &uri,
	    &cause) == -1) {
		mcp_invalid_params(r, cause);
		return (NULL);
	}
	return (uri);
}

/* resources/read. */
void
res_read(struct mcp_req *r, struct json_object *params)
{
	struct res_uri		 ru;
	struct json_object	*res, *arr, *item = NULL, *view;
	const char		*uri, *text;
	char			*cause = NULL;
	size_t			 len;

	if ((uri = res_param_uri(r, params)) == NULL)
		return;
	if (res_parse(uri, &ru) == -1) {
		if (res_extra == NULL || res_extra->rp_read(r, uri) == -1)
			res_not_found(r, uri, NULL);
		return;
	}
	switch (ru.ru_kind) {
	case RES_JOB:
		view = tools_view(ru.ru_job);
		item = res_text(uri, "application/json", json_str(view),
		    strlen(json_str(view)));
		json_object_put(view);
		break;
	case RES_LOG:
		item = res_read_log(uri, ru.ru_job);
		break;
	case RES_SKILL:
		if (pack_read(ru.ru_name, &text, &len, &cause) == -1) {
			res_not_found(r, uri, cause);
			free(cause);
			return;
		}
		item = res_text(uri, "text/markdown", text, len);
		break;
	default:
		if (res_read_job_file(r, uri, &ru, &item) == -1)
			return;
		break;
	}
	arr = json_object_new_array();
	json_object_array_add(arr, item);
	res = json_object_new_object();
	json_object_object_add(res, "contents", arr);
	mcp_reply(r, res);
}

/* resources/subscribe and unsubscribe share their checks. */
static void
res_subscription(struct mcp_req *r, struct json_object *params, int on)
{
	const char	*uri;

	if ((uri = res_param_uri(r, params)) == NULL)
		return;
	if (on && !res_exists(uri)) {
		res_not_found(r, uri, NULL);
		return;
	}
	if (mcp_conn_subscribe(r->mr_conn, uri, on) == -1) {
		mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: at most %d "
		    "subscriptions", MCP_SUBS_MAX);
		return;
	}
	mcp_reply(r, NULL);
}

void
res_subscribe(struct mcp_req *r, struct json_object *params)
{
	res_subscription(r, params, 1);
}

void
res_unsubscribe(struct mcp_req *r, struct json_object *params)
{
	res_subscription(r, params, 0);
}
