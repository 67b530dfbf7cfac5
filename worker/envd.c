/*
 * envd: where it is, how every call is addressed, errors, and the calls
 * that are not process streams (signals, files, health).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "e2b.h"
#include "envd.h"
#include "envd_int.h"
#include "json.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"

#define ENVD_HEALTH_MS	10000	/* total time of a health check */
#define ENVD_MESSAGE_MAX 300	/* of an error body that is not JSON */

/* A download in progress. */
struct envd_dl {
	struct http_req	*dl_req;
	const char	*dl_path;
	struct buf	*dl_buf;	/* into memory, */
	int		 dl_fd;		/* or into a file */
	uint64_t	 dl_cap;
	uint64_t	 dl_got;
	uint64_t	 dl_skip;	/* bytes before the offset to drop */
	int		 dl_checked;	/* status and length looked at */
};

static const char	*envd_code_for(long);
static struct http_req	*envd_files_req(struct envd *, enum http_method,
			    const char *);
static struct http_req	*envd_signal_req(struct envd *, int64_t, int,
			    char **);
static int		 envd_signal_result(struct http_req *, char **);
static int		 envd_dl_check(struct envd_dl *, char **);
static int		 envd_dl_sink(void *, const char *, size_t, char **);
static int		 envd_fetch(struct envd *, const char *, uint64_t,
			    struct envd_dl *, char **);

/*
 * A client for the envd of sandbox id, with its access token (NULL if
 * the sandbox has none) and domain (NULL: E2B_DOMAIN or e2b.app).
 */
struct envd *
envd_new(struct http_ctx *http, const char *id, const char *token,
    const char *domain, char **cause)
{
	struct envd	*nv;
	const char	*url = getenv("E2B_SANDBOX_URL");
	char		*sbase = NULL;

	if (!e2b_valid_id(id)) {
		xasprintf(cause, "envd: not a sandbox id: %s", id);
		return (NULL);
	}
	if (token != NULL && !e2b_valid_token(token)) {
		xasprintf(cause, "envd: the access token holds spaces or "
		    "control characters");
		return (NULL);
	}
	if (domain == NULL && (domain = getenv("E2B_DOMAIN")) == NULL)
		domain = E2B_DOMAIN_DEFAULT;
	if (url != NULL && *url != '\0' &&
	    (sbase = http_base_url(url)) == NULL) {
		xasprintf(cause, "E2B_SANDBOX_URL: not an http:// or https:// "
		    "URL: %s", url);
		return (NULL);
	}
	if (sbase == NULL && !e2b_valid_host(domain)) {
		xasprintf(cause, "envd: not a domain name: %s", domain);
		return (NULL);
	}
	nv = xcalloc(1, sizeof(*nv));
	nv->nv_http = http;
	nv->nv_id = xstrdup(id);
	if (token != NULL) {
		nv->nv_token = xstrdup(token);
		(void)redact_add(token);
	}
	if ((nv->nv_base = sbase) != NULL)
		nv->nv_routed = 1;
	else
		xasprintf(&nv->nv_base, "https://%d-%s.%s", E2B_ENVD_PORT, id,
		    domain);
	return (nv);
}

/* Free the client; its token is wiped. */
void
envd_free(struct envd **nvp)
{
	struct envd	*nv = *nvp;

	if (nv == NULL)
		return;
	*nvp = NULL;
	free(nv->nv_base);
	free(nv->nv_id);
	freezero_str(nv->nv_token);
	free(nv);
}

const char *
envd_url(const struct envd *nv)
{
	return (nv->nv_base);
}

/* Abort the call in flight, if any; it returns ENVD_CANCELLED. */
void
envd_cancel(struct envd *nv)
{
	if (nv->nv_active != NULL)
		http_cancel(nv->nv_active);
}

/* A request for path with the headers every envd call carries. */
struct http_req *
envd_req(struct envd *nv, enum http_method method, const char *path)
{
	struct http_req	*r;
	char		*url, port[16];

	xasprintf(&url, "%s%s", nv->nv_base, path);
	r = http_req_new(method, url);
	free(url);
	if (nv->nv_token != NULL)
		http_req_header(r, "X-Access-Token", nv->nv_token);
	if (nv->nv_routed) {
		(void)snprintf(port, sizeof(port), "%d", E2B_ENVD_PORT);
		http_req_header(r, "E2b-Sandbox-Id", nv->nv_id);
		http_req_header(r, "E2b-Sandbox-Port", port);
	}
	return (r);
}

/* Run r as the call in flight (so that envd_cancel() reaches it). */
int
envd_exec(struct envd *nv, struct http_req *r, char **cause)
{
	int	rv;

	nv->nv_active = r;
	rv = http_run(nv->nv_http, r, cause);
	nv->nv_active = NULL;
	return (rv);
}

/* The Connect code a client derives from a status without a JSON body. */
static const char *
envd_code_for(long status)
{
	switch (status) {
	case 400:
		return ("internal");
	case 401:
		return ("unauthenticated");
	case 403:
		return ("permission_denied");
	case 404:
		return ("unimplemented");
	case 429:
	case 502:
	case 503:
	case 504:
		return ("unavailable");
	default:
		return ("unknown");
	}
}

/*
 * Describe a non-2xx answer to what: "envd: what: not_found (HTTP 404):
 * message".  The code is the Connect code of the JSON body, else derived
 * from the status; *codep (if not NULL) gets a copy.
 */
void
envd_error(struct http_req *r, const char *what, char **codep, char **cause)
{
	const struct buf	*b = http_body(r);
	struct json_object	*o;
	const char		*code = NULL, *msg = NULL;
	char			*why = NULL, *text, *clean;

	if ((o = json_parse(buf_str(b), buf_len(b), &why)) != NULL) {
		code = json_peek_string(o, "code");
		msg = json_peek_string(o, "message");
	}
	free(why);
	if (code == NULL)
		code = envd_code_for(http_status(r));
	text = msg != NULL ? xstrdup(msg) : http_excerpt(r, ENVD_MESSAGE_MAX);
	clean = redact(text);
	xasprintf(cause, "envd: %s: %s (HTTP %ld)%s%s", what, code,
	    http_status(r), *clean != '\0' ? ": " : "", clean);
	if (codep != NULL) {
		free(*codep);
		*codep = xstrdup(code);
	}
	free(clean);
	free(text);
	json_object_put(o);
}

/* The SendSignal request for pid, or NULL for a signal envd lacks. */
static struct http_req *
envd_signal_req(struct envd *nv, int64_t pid, int sig, char **cause)
{
	struct http_req		*r;
	struct json_object	*msg, *proc;
	const char		*text;

	if (sig != SIGTERM && sig != SIGKILL) {
		xasprintf(cause, "envd: signal %d cannot be sent", sig);
		return (NULL);
	}
	msg = json_object_new_object();
	proc = json_object_new_object();
	json_add_int(proc, "pid", pid);
	json_object_object_add(msg, "process", proc);
	json_add_string(msg, "signal", sig == SIGKILL ? "SIGNAL_SIGKILL" :
	    "SIGNAL_SIGTERM");
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	r = envd_req(nv, HTTP_POST, "/process.Process/SendSignal");
	http_req_header(r, "Connect-Protocol-Version", "1");
	http_req_body_own(r, "application/json", xstrdup(text), strlen(text));
	http_req_timeouts(r, ENVD_CONNECT_MS, ENVD_FILE_LOWSPEED_S,
	    ENVD_UNARY_MS);
	json_object_put(msg);
	return (r);
}

/* How a finished SendSignal went: 0 sent, 1 no such process, -1 not. */
static int
envd_signal_result(struct http_req *r, char **cause)
{
	char	*code = NULL;
	int	 rv = -1;

	if (http_outcome(r) != HTTP_COMPLETE)
		xasprintf(cause, "envd: SendSignal: %s", http_cause(r));
	else if (http_status(r) == 200)
		rv = 0;
	else {
		envd_error(r, "SendSignal", &code, cause);
		if (strcmp(code, "not_found") == 0) {
			free(*cause);
			*cause = NULL;
			rv = 1;
		}
	}
	free(code);
	return (rv);
}

/*
 * Send SIGTERM or SIGKILL to a process.  Returns 0 when sent, 1 when envd
 * knows no such process (it has ended), -1 with *cause set otherwise.
 */
int
envd_signal(struct envd *nv, int64_t pid, int sig, char **cause)
{
	struct http_req	*r;
	char		*err = NULL;
	int		 rv;

	if ((r = envd_signal_req(nv, pid, sig, cause)) == NULL)
		return (-1);
	(void)envd_exec(nv, r, &err);
	rv = envd_signal_result(r, cause);
	free(err);
	http_req_free(&r);
	return (rv);
}

/*
 * envd_signal() without waiting, for timers and other callbacks (they
 * cannot spin the loop), e.g. a deadline that stops the agent while its
 * stream stays open: done gets 0, 1 or -1 as envd_signal() returns.
 */
int
envd_signal_async(struct envd *nv, int64_t pid, int sig, http_result_cb done,
    void *arg, char **cause)
{
	struct http_req	*r;

	if ((r = envd_signal_req(nv, pid, sig, cause)) == NULL)
		return (-1);
	return (http_start_call(nv->nv_http, r, envd_signal_result, done,
	    arg));
}

/* A request on /files for path, with a file transfer's timeouts. */
static struct http_req *
envd_files_req(struct envd *nv, enum http_method method, const char *path)
{
	struct http_req	*r;
	char		*q, *what;

	q = http_escape(path);
	xasprintf(&what, "/files?path=%s", q);
	r = envd_req(nv, method, what);
	http_req_timeouts(r, ENVD_CONNECT_MS, ENVD_FILE_LOWSPEED_S, 0);
	free(what);
	free(q);
	return (r);
}

/*
 * Write len bytes at data to path in the sandbox, in one request
 * (parents are created, the file replaced).  data is not copied.
 */
int
envd_upload(struct envd *nv, const char *path, const void *data,
    size_t len, char **cause)
{
	struct http_req	*r;
	char		*what, *err = NULL;
	int		 rv = -1;

	r = envd_files_req(nv, HTTP_POST, path);
	http_req_body(r, "application/octet-stream", data, len);
	xasprintf(&what, "upload of %s", path);
	if (envd_exec(nv, r, &err) == -1)
		xasprintf(cause, "envd: %s: %s", what, err);
	else if (http_status(r) / 100 == 2) {
		log_debug("envd: uploaded %zu bytes to %s", len, path);
		rv = 0;
	} else
		envd_error(r, what, NULL, cause);
	free(err);
	free(what);
	http_req_free(&r);
	return (rv);
}

/* First body bytes of a download: settle the offset, check the size. */
static int
envd_dl_check(struct envd_dl *dl, char **cause)
{
	const char		*h;
	char			*end;
	unsigned long long	 n;

	dl->dl_checked = 1;
	if (http_status(dl->dl_req) == 206)
		dl->dl_skip = 0;	/* the server applied the Range */
	if ((h = http_header(dl->dl_req, "content-length")) == NULL)
		return (0);
	errno = 0;
	n = strtoull(h, &end, 10);
	if (errno != 0 || *end != '\0' || n < dl->dl_skip ||
	    n - dl->dl_skip <= dl->dl_cap)
		return (0);
	xasprintf(cause, "envd: download of %s: %llu bytes exceed the cap "
	    "of %llu bytes", dl->dl_path, n - dl->dl_skip,
	    (unsigned long long)dl->dl_cap);
	return (-1);
}

/* Body bytes of a download: past the offset, within the cap, stored. */
static int
envd_dl_sink(void *arg, const char *p, size_t len, char **cause)
{
	struct envd_dl	*dl = arg;
	size_t		 n;
	ssize_t		 w;

	if (!dl->dl_checked && envd_dl_check(dl, cause) == -1)
		return (-1);
	n = dl->dl_skip < len ? (size_t)dl->dl_skip : len;
	p += n;
	len -= n;
	dl->dl_skip -= n;
	if (len > dl->dl_cap - dl->dl_got) {
		xasprintf(cause, "envd: download of %s exceeds the cap of "
		    "%llu bytes", dl->dl_path, (unsigned long long)dl->dl_cap);
		return (-1);
	}
	dl->dl_got += len;
	if (dl->dl_buf != NULL) {
		if (buf_add(dl->dl_buf, p, len) == 0)
			return (0);
		xasprintf(cause, "envd: download of %s: the buffer is full",
		    dl->dl_path);
		return (-1);
	}
	for (; len > 0; p += w, len -= (size_t)w) {
		if ((w = write(dl->dl_fd, p, len)) == -1 && errno == EINTR)
			w = 0;
		else if (w == -1) {
			xasprintf(cause, "envd: download of %s: write: %s",
			    dl->dl_path, strerror(errno));
			return (-1);
		}
	}
	return (0);
}

/*
 * Fetch path from offset on into dl.  Returns 0 (an offset at or past
 * the end gives nothing), 1 when there is no such file, -1 otherwise.
 */
static int
envd_fetch(struct envd *nv, const char *path, uint64_t offset,
    struct envd_dl *dl, char **cause)
{
	struct http_req	*r;
	char		*what, *err = NULL;
	int		 rv = -1;

	r = envd_files_req(nv, HTTP_GET, path);
	if (offset > 0)
		http_req_range(r, offset);
	dl->dl_req = r;
	dl->dl_path = path;
	dl->dl_skip = offset;
	http_req_sink(r, envd_dl_sink, dl);
	xasprintf(&what, "download of %s", path);
	if (envd_exec(nv, r, &err) == -1) {
		if (http_outcome(r) == HTTP_ESINK)
			*cause = xstrdup(err);
		else
			xasprintf(cause, "envd: %s: %s", what, err);
	} else if (http_status(r) == 200 || http_status(r) == 206 ||
	    http_status(r) == 416)
		rv = 0;
	else if (http_status(r) == 404)
		rv = 1;
	else
		envd_error(r, what, NULL, cause);
	free(err);
	free(what);
	http_req_free(&r);
	return (rv);
}

/*
 * Append path, from byte offset on, to out, failing past cap bytes.
 * Returns 0, 1 when there is no such file, or -1 with *cause set.
 */
int
envd_download(struct envd *nv, const char *path, uint64_t offset,
    size_t cap, struct buf *out, char **cause)
{
	struct envd_dl	dl;

	memset(&dl, 0, sizeof(dl));
	dl.dl_buf = out;
	dl.dl_fd = -1;
	dl.dl_cap = cap;
	return (envd_fetch(nv, path, offset, &dl, cause));
}

/* As envd_download(), writing to fd; *written gets the byte count. */
int
envd_download_fd(struct envd *nv, const char *path, uint64_t offset,
    uint64_t cap, int fd, uint64_t *written, char **cause)
{
	struct envd_dl	dl;
	int		rv;

	memset(&dl, 0, sizeof(dl));
	dl.dl_fd = fd;
	dl.dl_cap = cap;
	rv = envd_fetch(nv, path, offset, &dl, cause);
	if (written != NULL)
		*written = dl.dl_got;
	return (rv);
}

/*
 * Is the sandbox alive?  0 yes, 1 no (the edge answers 502 for a dead
 * sandbox), -1 cannot tell (a network failure or another answer).
 */
int
envd_health(struct envd *nv, char **cause)
{
	struct http_req	*r;
	char		*err = NULL;
	int		 rv = -1;

	r = envd_req(nv, HTTP_GET, "/health");
	http_req_timeouts(r, ENVD_CONNECT_MS, ENVD_FILE_LOWSPEED_S,
	    ENVD_HEALTH_MS);
	if (envd_exec(nv, r, &err) == -1)
		xasprintf(cause, "envd: health: %s", err);
	else if (http_status(r) / 100 == 2)
		rv = 0;
	else if (http_status(r) == 502) {
		envd_error(r, "health", NULL, cause);
		rv = 1;
	} else
		envd_error(r, "health", NULL, cause);
	free(err);
	http_req_free(&r);
	return (rv);
}
