/* The E2B control-plane client. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "e2b.h"
#include "json.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"

#define E2B_CONNECT_MS	10000		/* connect timeout */
#define E2B_LOWSPEED_S	30		/* stalled this long: fail */
#define E2B_TOTAL_MS	30000		/* one attempt of a unary call */
#define E2B_BODY_MAX	(256 * 1024)	/* one sandbox */
#define E2B_PAGE_MAX	(8 * 1024 * 1024) /* one page of a list */
#define E2B_PAGE_LIMIT	"100"		/* sandboxes a page */
#define E2B_MESSAGE_MAX	300		/* of a non-JSON error body */

struct e2b {
	struct http_ctx		*e_http;
	char			*e_key;
	char			*e_api;		/* base URL, no trailing / */
	char			*e_domain;
	struct http_retry	 e_retry;
	int			 e_attempts;	/* of the last call */
};

/* The default control-plane policy: about a minute of retries. */
static const struct http_retry e2b_retry_default = {
	6,		/* attempts */
	500,		/* first backoff ceiling, ms */
	8000,		/* largest backoff ceiling, ms */
	60000,		/* total, ms */
};

/* The string fields of a sandbox object and where they go. */
static const struct e2b_field {
	const char	*f_key;
	size_t		 f_off;
	int		 f_flags;
	size_t		 f_max;
	int		(*f_valid)(const char *);
} e2b_fields[] = {
	{ "sandboxID", offsetof(struct e2b_sandbox, sb_id),
	    J_REQUIRED | J_NONEMPTY, 128, e2b_valid_id },
	{ "templateID", offsetof(struct e2b_sandbox, sb_template), 0, 256,
	    NULL },
	{ "alias", offsetof(struct e2b_sandbox, sb_alias), 0, 256, NULL },
	{ "envdAccessToken", offsetof(struct e2b_sandbox, sb_token), 0, 4096,
	    e2b_valid_token },
	{ "envdVersion", offsetof(struct e2b_sandbox, sb_envd_version), 0, 64,
	    NULL },
	{ "domain", offsetof(struct e2b_sandbox, sb_domain), 0, 253,
	    e2b_valid_host },
	{ "state", offsetof(struct e2b_sandbox, sb_state), 0, 32, NULL },
	{ "endAt", offsetof(struct e2b_sandbox, sb_end), 0, 64, NULL },
};
#define E2B_NFIELDS	(sizeof(e2b_fields) / sizeof(e2b_fields[0]))

static struct http_req *e2b_request(struct e2b *, enum http_method,
		    const char *, struct json_object *, size_t);
static struct http_req *e2b_sandbox_req(struct e2b *, enum http_method,
		    const char *, const char *, struct json_object *, char **);
static int	e2b_run(struct e2b *, struct http_req *, char **);
static void	e2b_neterr(struct http_req *, char **);
static int	e2b_result(struct http_req *, int, char **);
static int	e2b_judge(struct http_req *, char **);
static void	e2b_status_error(struct http_req *, char **);
static struct json_object *e2b_json(struct http_req *, json_type, char **);
static int	e2b_parse(struct json_object *, const char *,
		    struct e2b_sandbox **, char **);
static char	*e2b_metadata_query(struct json_object *, char **);
static int	e2b_list_page(struct e2b *, const char *, const char *,
		    struct e2b_sandbox ***, size_t *, char **, char **);

/*
 * A client for the API with key.  The base URL and domain come from
 * E2B_API_URL and E2B_DOMAIN.  A missing key is an error naming
 * E2B_API_KEY.
 */
struct e2b *
e2b_new(struct http_ctx *http, const char *key, char **cause)
{
	struct e2b	*e;
	const char	*url, *domain;
	char		*api = NULL;

	if (key == NULL || *key == '\0') {
		xasprintf(cause, "E2B_API_KEY is not set: an E2B API key is "
		    "needed to create sandboxes");
		return (NULL);
	}
	if (!e2b_valid_token(key)) {
		xasprintf(cause, "E2B_API_KEY holds spaces or control "
		    "characters");
		return (NULL);
	}
	domain = getenv("E2B_DOMAIN");
	if (domain == NULL || *domain == '\0')
		domain = E2B_DOMAIN_DEFAULT;
	if (!e2b_valid_host(domain)) {
		xasprintf(cause, "E2B_DOMAIN: not a domain name: %s", domain);
		return (NULL);
	}
	url = getenv("E2B_API_URL");
	if (url != NULL && *url != '\0' && (api = http_base_url(url)) == NULL) {
		xasprintf(cause, "E2B_API_URL: not an http:// or https:// "
		    "URL: %s", url);
		return (NULL);
	}
	e = xcalloc(1, sizeof(*e));
	e->e_http = http;
	e->e_key = xstrdup(key);
	e->e_domain = xstrdup(domain);
	if (api != NULL)
		e->e_api = api;
	else
		xasprintf(&e->e_api, "https://api.%s", domain);
	e->e_retry = e2b_retry_default;
	if (redact_add(key) == -1)
		log_debug("e2b: the API key is too short to be redacted");
	return (e);
}

void
e2b_free(struct e2b **ep)
{
	struct e2b	*e = *ep;

	if (e == NULL)
		return;
	*ep = NULL;
	freezero_str(e->e_key);
	free(e->e_api);
	free(e->e_domain);
	free(e);
}

/* Replace the retry policy of control-plane calls. */
void
e2b_set_retry(struct e2b *e, const struct http_retry *p)
{
	e->e_retry = *p;
}

const char *
e2b_api_url(const struct e2b *e)
{
	return (e->e_api);
}

/* The configured domain, for envd URLs when a sandbox names none. */
const char *
e2b_domain(const struct e2b *e)
{
	return (e->e_domain);
}

/*
 * How many attempts the last synchronous call made: more than one for a
 * create means E2B may hold a sandbox whose answer never came back.
 */
int
e2b_last_attempts(const struct e2b *e)
{
	return (e->e_attempts);
}

/* A control-plane request for path with an optional JSON body. */
static struct http_req *
e2b_request(struct e2b *e, enum http_method method, const char *path,
    struct json_object *body, size_t max)
{
	struct http_req	*r;
	const char	*text;
	char		*url;

	xasprintf(&url, "%s%s", e->e_api, path);
	r = http_req_new(method, url);
	free(url);
	http_req_header(r, "X-API-Key", e->e_key);
	http_req_header(r, "Accept", "application/json");
	if (body != NULL) {
		text = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN);
		http_req_body_own(r, "application/json", xstrdup(text),
		    strlen(text));
	}
	http_req_limit(r, max);
	http_req_timeouts(r, E2B_CONNECT_MS, E2B_LOWSPEED_S, E2B_TOTAL_MS);
	http_req_retry(r, &e->e_retry);
	return (r);
}

/* The request for /sandboxes/{id}{suffix}, once id is known sound. */
static struct http_req *
e2b_sandbox_req(struct e2b *e, enum http_method method, const char *id,
    const char *suffix, struct json_object *body, char **cause)
{
	struct http_req	*r;
	char		*path;

	if (!e2b_valid_id(id)) {
		xasprintf(cause, "E2B: not a sandbox id: %s", id);
		return (NULL);
	}
	xasprintf(&path, "/sandboxes/%s%s", id, suffix);
	r = e2b_request(e, method, path, body, E2B_BODY_MAX);
	free(path);
	return (r);
}

/*
 * Run r (NULL: fail, the cause is set).  Returns 0 when a response
 * arrived, whatever its status, -1 with *cause set when none did.
 */
static int
e2b_run(struct e2b *e, struct http_req *r, char **cause)
{
	char	*err = NULL;

	if (r == NULL)
		return (-1);
	e->e_attempts = 0;
	if (http_run(e->e_http, r, &err) == 0) {
		e->e_attempts = http_attempts(r);
		return (0);
	}
	e->e_attempts = http_attempts(r);
	free(err);
	e2b_neterr(r, cause);
	return (-1);
}

/* No answer came: "E2B: POST /v2/sandboxes: why (N attempts)". */
static void
e2b_neterr(struct http_req *r, char **cause)
{
	xasprintf(cause, "E2B: %s: %s (%d attempt%s)", http_req_what(r),
	    http_cause(r), http_attempts(r), http_attempts(r) == 1 ? "" : "s");
}

/* Did a finished call succeed?  2xx does, and 404 too if gone_ok. */
static int
e2b_result(struct http_req *r, int gone_ok, char **cause)
{
	if (http_outcome(r) != HTTP_COMPLETE) {
		e2b_neterr(r, cause);
		return (-1);
	}
	if (http_status(r) / 100 == 2 || (gone_ok && http_status(r) == 404))
		return (0);
	e2b_status_error(r, cause);
	return (-1);
}

/* Describe a failed call: "E2B: 401 Invalid API key ...". */
static void
e2b_status_error(struct http_req *r, char **cause)
{
	const struct buf	*b = http_body(r);
	struct json_object	*o;
	const char		*msg = NULL;
	char			*why = NULL, *text, *clean;

	o = json_parse(buf_str(b), buf_len(b), &why);
	free(why);
	if (o != NULL)
		msg = json_peek_string(o, "message");
	/* Not E2B's JSON (a proxy's page?): a printable excerpt. */
	text = msg != NULL ? xstrdup(msg) : http_excerpt(r, E2B_MESSAGE_MAX);
	clean = redact(text);
	if (*clean == '\0')
		xasprintf(cause, "E2B: %ld (no message)", http_status(r));
	else
		xasprintf(cause, "E2B: %ld %s", http_status(r), clean);
	free(clean);
	free(text);
	json_object_put(o);
}

/* Parse the body of r as JSON of type want. */
static struct json_object *
e2b_json(struct http_req *r, json_type want, char **cause)
{
	const struct buf	*b = http_body(r);
	struct json_object	*o;
	char			*why = NULL;

	if ((o = json_parse(buf_str(b), buf_len(b), &why)) == NULL) {
		xasprintf(cause, "E2B: %ld with a bad JSON body: %s",
		    http_status(r), why);
		free(why);
		return (NULL);
	}
	if (!json_object_is_type(o, want)) {
		xasprintf(cause, "E2B: %ld with %s where JSON %s was expected",
		    http_status(r), json_type_label(o),
		    want == json_type_array ? "array" : "object");
		json_object_put(o);
		return (NULL);
	}
	return (o);
}

/* Read a sandbox object; where names it in errors. */
static int
e2b_parse(struct json_object *o, const char *where, struct e2b_sandbox **sbp,
    char **cause)
{
	const struct e2b_field	*f;
	struct e2b_sandbox	*sb;
	struct json_object	*md = NULL;
	const char		*s;
	char			*why = NULL;
	size_t			 i;

	sb = xcalloc(1, sizeof(*sb));
	for (i = 0; i < E2B_NFIELDS; i++) {
		f = &e2b_fields[i];
		s = NULL;
		if (json_get_string(o, where, f->f_key, f->f_flags, f->f_max,
		    &s, &why) == -1)
			goto fail;
		if (s != NULL && f->f_valid != NULL && !f->f_valid(s)) {
			xasprintf(&why, "%s.%s: not a valid value", where,
			    f->f_key);
			goto fail;
		}
		if (s != NULL)
			*(char **)(void *)((char *)sb + f->f_off) = xstrdup(s);
	}
	if (json_get_object(o, where, "metadata", 0, &md, &why) == -1)
		goto fail;
	if (md != NULL)
		sb->sb_metadata = json_object_get(md);
	*sbp = sb;
	return (0);
fail:
	xasprintf(cause, "E2B: unexpected response: %s", why);
	free(why);
	e2b_sandbox_free(&sb);
	return (-1);
}

/* Create a sandbox (POST /v2/sandboxes); *sbp gets it. */
int
e2b_create(struct e2b *e, const struct e2b_create *c,
    struct e2b_sandbox **sbp, char **cause)
{
	struct json_object	*body, *md;
	struct http_req		*r = NULL;
	struct json_object	*o = NULL;
	int			 rv = -1;

	if (c->ec_template == NULL || *c->ec_template == '\0') {
		xasprintf(cause, "E2B: no template to create a sandbox from");
		return (-1);
	}
	body = json_object_new_object();
	json_add_string(body, "templateID", c->ec_template);
	if (c->ec_timeout_s > 0)
		json_add_int(body, "timeout", c->ec_timeout_s);
	md = json_object_new_object();
	if (c->ec_job != NULL)
		json_add_string(md, "skillbox_job", c->ec_job);
	if (c->ec_host != NULL)
		json_add_string(md, "skillbox_host", c->ec_host);
	json_object_object_add(body, "metadata", md);
	if (c->ec_envs != NULL)
		json_object_object_add(body, "envVars",
		    json_object_get(c->ec_envs));
	json_add_bool(body, "secure", c->ec_secure);
	json_add_bool(body, "allow_internet_access", c->ec_internet);
	r = e2b_request(e, HTTP_POST, "/v2/sandboxes", body, E2B_BODY_MAX);
	if (e2b_run(e, r, cause) == -1)
		goto out;
	if (http_status(r) != 201 && http_status(r) != 200) {
		e2b_status_error(r, cause);
		goto out;
	}
	if ((o = e2b_json(r, json_type_object, cause)) == NULL ||
	    e2b_parse(o, "sandbox", sbp, cause) == -1)
		goto out;
	log_debug("e2b: created sandbox %s from %s (envd %s)", (*sbp)->sb_id,
	    c->ec_template, (*sbp)->sb_envd_version != NULL ?
	    (*sbp)->sb_envd_version : "?");
	rv = 0;
out:
	json_object_put(o);
	json_object_put(body);
	http_req_free(&r);
	return (rv);
}

/*
 * Describe sandbox id (GET /sandboxes/{id}).  Returns 0 with *sbp NULL
 * when E2B says it does not exist.
 */
int
e2b_get(struct e2b *e, const char *id, struct e2b_sandbox **sbp,
    char **cause)
{
	struct http_req		*r = NULL;
	struct json_object	*o = NULL;
	int			 rv = -1;

	*sbp = NULL;
	r = e2b_sandbox_req(e, HTTP_GET, id, "", NULL, cause);
	if (e2b_run(e, r, cause) == -1)
		goto out;
	if (http_status(r) == 404) {
		rv = 0;
		goto out;
	}
	if (http_status(r) != 200) {
		e2b_status_error(r, cause);
		goto out;
	}
	if ((o = e2b_json(r, json_type_object, cause)) != NULL &&
	    e2b_parse(o, "sandbox", sbp, cause) == 0)
		rv = 0;
out:
	json_object_put(o);
	http_req_free(&r);
	return (rv);
}

/*
 * The metadata filter of a list, {"k": "v", ...}, as E2B wants it: each
 * key and value escaped, joined "k=v&k2=v2", the whole escaped again.
 */
static char *
e2b_metadata_query(struct json_object *filter, char **cause)
{
	struct buf	 b;
	char		*k, *v, *q;

	buf_init(&b, 64 * 1024);
	json_object_object_foreach(filter, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			xasprintf(cause, "metadata filter %s: not a string",
			    key);
			buf_free(&b);
			return (NULL);
		}
		k = http_escape(key);
		v = http_escape(json_object_get_string(val));
		(void)buf_printf(&b, "%s%s=%s", buf_len(&b) ? "&" : "", k, v);
		free(k);
		free(v);
	}
	q = http_escape(buf_str(&b));
	buf_free(&b);
	return (q);
}

/*
 * Fetch one page of a list into the array; *next gets the next page's
 * token, or NULL on the last page.
 */
static int
e2b_list_page(struct e2b *e, const char *query, const char *token,
    struct e2b_sandbox ***sbs, size_t *n, char **next, char **cause)
{
	struct http_req		*r = NULL;
	struct json_object	*a = NULL;
	const char		*h;
	char			*path, *tok = NULL, where[64];
	size_t			 i, len;
	int			 rv = -1;

	*next = NULL;
	if (token != NULL)
		tok = http_escape(token);
	xasprintf(&path, "/v2/sandboxes?limit=" E2B_PAGE_LIMIT "%s%s%s%s",
	    *query != '\0' ? "&metadata=" : "", query,
	    tok != NULL ? "&nextToken=" : "", tok != NULL ? tok : "");
	r = e2b_request(e, HTTP_GET, path, NULL, E2B_PAGE_MAX);
	if (e2b_run(e, r, cause) == -1)
		goto out;
	if (http_status(r) != 200) {
		e2b_status_error(r, cause);
		goto out;
	}
	if ((a = e2b_json(r, json_type_array, cause)) == NULL)
		goto out;
	len = json_object_array_length(a);
	if (*n + len > E2B_LIST_MAX) {
		xasprintf(cause, "E2B: the list holds more than %d sandboxes",
		    E2B_LIST_MAX);
		goto out;
	}
	*sbs = xreallocarray(*sbs, *n + len + 1, sizeof(**sbs));
	for (i = 0; i < len; i++) {
		(void)snprintf(where, sizeof(where), "sandboxes[%zu]", *n);
		if (e2b_parse(json_object_array_get_idx(a, i), where,
		    &(*sbs)[*n], cause) == -1)
			goto out;
		(*n)++;
	}
	if ((h = http_header(r, "x-next-token")) != NULL && *h != '\0')
		*next = xstrdup(h);
	rv = 0;
out:
	json_object_put(a);
	http_req_free(&r);
	free(path);
	free(tok);
	return (rv);
}

/*
 * List the sandboxes whose metadata holds every pair of filter (a string
 * map; NULL lists all), following the pages.  *sbsp gets an array of *np
 * sandboxes, for e2b_list_free().
 */
int
e2b_list(struct e2b *e, struct json_object *filter,
    struct e2b_sandbox ***sbsp, size_t *np, char **cause)
{
	struct e2b_sandbox	**sbs = NULL;
	char			 *query, *token = NULL, *next = NULL;
	size_t			  n = 0;
	int			  rv = -1;

	*sbsp = NULL;
	*np = 0;
	if (filter == NULL)
		query = xstrdup("");
	else if ((query = e2b_metadata_query(filter, cause)) == NULL)
		return (-1);
	for (;;) {
		if (e2b_list_page(e, query, token, &sbs, &n, &next,
		    cause) == -1)
			goto out;
		if (next == NULL)
			break;
		if (token != NULL && strcmp(next, token) == 0) {
			xasprintf(cause, "E2B: the list repeats its page "
			    "token");
			goto out;
		}
		free(token);
		token = next;
	}
	*sbsp = sbs;
	*np = n;
	sbs = NULL;
	rv = 0;
out:
	e2b_list_free(&sbs, n);
	free(query);
	free(token);
	free(next);
	return (rv);
}

/* Set the sandbox to die timeout_s seconds from now. */
int
e2b_set_timeout(struct e2b *e, const char *id, int timeout_s, char **cause)
{
	struct json_object	*body;
	struct http_req		*r;
	int			 rv = -1;

	body = json_object_new_object();
	json_add_int(body, "timeout", timeout_s);
	r = e2b_sandbox_req(e, HTTP_POST, id, "/timeout", body, cause);
	if (e2b_run(e, r, cause) == 0)
		rv = e2b_result(r, 0, cause);
	json_object_put(body);
	http_req_free(&r);
	return (rv);
}

/* A call's result for http_start_call(): 2xx is success. */
static int
e2b_judge(struct http_req *r, char **cause)
{
	return (e2b_result(r, 0, cause));
}

/*
 * e2b_set_timeout() without waiting, for timers and other callbacks
 * (they cannot spin the loop): done gets 0, or -1 and a cause, from the
 * loop.  Still running when the context is freed, it is dropped without
 * a call to done.  Returns -1 with *cause set if it cannot start.
 */
int
e2b_set_timeout_async(struct e2b *e, const char *id, int timeout_s,
    http_result_cb done, void *arg, char **cause)
{
	struct json_object	*body;
	struct http_req		*r;

	body = json_object_new_object();
	json_add_int(body, "timeout", timeout_s);
	r = e2b_sandbox_req(e, HTTP_POST, id, "/timeout", body, cause);
	json_object_put(body);
	if (r == NULL)
		return (-1);
	return (http_start_call(e->e_http, r, e2b_judge, done, arg));
}

/* Kill a sandbox; one that is already gone (404) counts as killed. */
int
e2b_kill(struct e2b *e, const char *id, char **cause)
{
	struct http_req	*r;
	int		 rv = -1;

	r = e2b_sandbox_req(e, HTTP_DELETE, id, "", NULL, cause);
	if (e2b_run(e, r, cause) == 0 && (rv = e2b_result(r, 1, cause)) == 0)
		log_debug("e2b: sandbox %s %s", id, http_status(r) == 404 ?
		    "was already gone" : "killed");
	http_req_free(&r);
	return (rv);
}

void
e2b_sandbox_free(struct e2b_sandbox **sbp)
{
	struct e2b_sandbox	*sb = *sbp;
	size_t			 i;

	if (sb == NULL)
		return;
	*sbp = NULL;
	for (i = 0; i < E2B_NFIELDS; i++)
		freezero_str(*(char **)(void *)((char *)sb +
		    e2b_fields[i].f_off));
	json_object_put(sb->sb_metadata);
	free(sb);
}

/* Free what e2b_list() returned. */
void
e2b_list_free(struct e2b_sandbox ***sbsp, size_t n)
{
	struct e2b_sandbox	**sbs = *sbsp;
	size_t			  i;

	if (sbs == NULL)
		return;
	*sbsp = NULL;
	for (i = 0; i < n; i++)
		e2b_sandbox_free(&sbs[i]);
	free(sbs);
}

/* A sandbox id fit for a URL path and a host name. */
int
e2b_valid_id(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' &&
		    s[n] != '_')
			return (0);
	return (n > 0 && n <= 128);
}

/* A token or key fit for a header: printable, no spaces. */
int
e2b_valid_token(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return (0);
	return (n > 0 && n <= 4096);
}

/* A host name, optionally with a port. */
int
e2b_valid_host(const char *s)
{
	size_t	n;

	if (*s == '.' || *s == '-')
		return (0);
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' &&
		    s[n] != '.' && s[n] != ':')
			return (0);
	return (n > 0 && n <= 253);
}
