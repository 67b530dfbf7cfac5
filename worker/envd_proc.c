/*
 * Process streams: process.Process/Start and /Connect as Connect server
 * streams.  Bytes arrive through the HTTP sink in pieces of any size;
 * the envelope decoder cuts them into frames, each frame's JSON event is
 * dispatched (start, data, keepalive, end), and the end-of-stream frame
 * closes the stream, with an error if envd reports one.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "buf.h"
#include "envd.h"
#include "envd_int.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define ENVD_CTYPE	"application/connect+json"

struct envd_stream {
	struct env_decoder	 st_dec;
	const struct envd_io	*st_io;
	struct envd_proc	*st_proc;
	struct http_req		*st_req;	/* NULL when fed directly */
	struct buf		 st_data;	/* one decoded output chunk */
	int			 st_checked;	/* Content-Type looked at */
	int			 st_ended;	/* the end event was seen */
	char			*st_errcode;	/* end-of-stream error */
	char			*st_errmsg;
	enum envd_end		 st_fail;	/* why the stream was refused */
	char			*st_cause;
};

/* One kind of process event. */
struct envd_event {
	const char	*ev_name;
	int		(*ev_fn)(struct envd_stream *, struct json_object *);
};

static int	envd_fail(struct envd_stream *, enum envd_end, const char *,
		    ...) __attribute__((__format__(printf, 3, 4)));
static int	envd_frame_cb(void *, uint8_t, const char *, size_t);
static int	envd_trailer(struct envd_stream *, const char *, size_t);
static int	envd_ev_start(struct envd_stream *, struct json_object *);
static int	envd_ev_data(struct envd_stream *, struct json_object *);
static int	envd_ev_keepalive(struct envd_stream *, struct json_object *);
static int	envd_ev_end(struct envd_stream *, struct json_object *);
static int	envd_output(struct envd_stream *, const char *, const char *,
		    int (*)(void *, const char *, size_t), uint64_t *);
static int	envd_check_type(struct envd_stream *);
static int	envd_sink(void *, const char *, size_t, char **);
static int	envd_stream_end(struct envd_stream *, const char *, int,
		    char *, char **);
static int	envd_stream(struct envd *, const char *, struct json_object *,
		    int, long, const char *, const struct envd_io *,
		    struct envd_proc *, char **);

static const struct envd_event envd_events[] = {
	{ "start", envd_ev_start },
	{ "data", envd_ev_data },
	{ "keepalive", envd_ev_keepalive },
	{ "end", envd_ev_end },
};
#define ENVD_NEVENTS	(sizeof(envd_events) / sizeof(envd_events[0]))

static const char *envd_end_names[ENVD_END_MAX] = {
	[ENVD_RUNNING] = "running", [ENVD_EXITED] = "exited",
	[ENVD_DROPPED] = "dropped", [ENVD_FAILED] = "failed",
	[ENVD_CANCELLED] = "cancelled", [ENVD_STOPPED] = "stopped",
};

/* A reader of one stream feeding io and recording into pr. */
struct envd_stream *
envd_stream_new(const struct envd_io *io, struct envd_proc *pr)
{
	struct envd_stream	*st;

	st = xcalloc(1, sizeof(*st));
	env_decoder_init(&st->st_dec, ENVD_FRAME_MAX);
	buf_init(&st->st_data, ENVD_FRAME_MAX);
	st->st_io = io;
	st->st_proc = pr;
	st->st_fail = ENVD_FAILED;
	return (st);
}

/* Free a stream reader. */
void
envd_stream_free(struct envd_stream **stp)
{
	struct envd_stream	*st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	env_decoder_free(&st->st_dec);
	buf_free(&st->st_data);
	free(st->st_errcode);
	free(st->st_errmsg);
	free(st->st_cause);
	free(st);
}

/* Refuse the stream: note why (the first reason wins); returns -1. */
static int
envd_fail(struct envd_stream *st, enum envd_end end, const char *fmt, ...)
{
	va_list	ap;

	if (st->st_cause != NULL)
		return (-1);
	st->st_fail = end;
	va_start(ap, fmt);
	xvasprintf(&st->st_cause, fmt, ap);
	va_end(ap);
	return (-1);
}

/*
 * Feed stream bytes, split anywhere.  Returns -1 with *cause set when the
 * stream must stop: a bad frame or event, or a callback that said stop.
 */
int
envd_stream_feed(struct envd_stream *st, const char *p, size_t len,
    char **cause)
{
	char	*why = NULL;

	if (env_decoder_feed(&st->st_dec, p, len, envd_frame_cb, st,
	    &why) == 0)
		return (0);
	(void)envd_fail(st, ENVD_FAILED, "envd: bad stream: %s", why);
	free(why);
	*cause = xstrdup(st->st_cause);
	return (-1);
}

/* One whole frame: an event, or the end of the stream. */
static int
envd_frame_cb(void *arg, uint8_t flags, const char *p, size_t len)
{
	struct envd_stream	*st = arg;
	struct json_object	*root, *ev = NULL, *val;
	char			*why = NULL;
	size_t			 i;
	int			 rv = 0;

	if (flags & ENV_FLAG_END)
		return (envd_trailer(st, p, len));
	if ((root = json_parse(p, len, &why)) == NULL ||
	    json_get_object(root, NULL, "event", J_REQUIRED, &ev, &why) == -1) {
		(void)envd_fail(st, ENVD_FAILED, "envd: bad event: %s", why);
		free(why);
		json_object_put(root);
		return (-1);
	}
	for (i = 0; i < ENVD_NEVENTS && rv == 0; i++) {
		if (json_object_object_get_ex(ev, envd_events[i].ev_name,
		    &val) && json_object_is_type(val, json_type_object))
			rv = envd_events[i].ev_fn(st, val);
	}
	json_object_put(root);
	return (rv);
}

/* The end-of-stream frame: {} or {"error": {"code", "message"}}. */
static int
envd_trailer(struct envd_stream *st, const char *p, size_t len)
{
	struct json_object	*o, *err = NULL;
	const char		*code = NULL, *msg = NULL;
	char			*why = NULL;

	if (len == 0)
		return (0);
	if ((o = json_parse(p, len, &why)) == NULL ||
	    json_get_object(o, NULL, "error", 0, &err, &why) == -1 ||
	    (err != NULL && (json_get_string(err, "error", "code", J_REQUIRED,
	    64, &code, &why) == -1 || json_get_string(err, "error", "message",
	    0, 4096, &msg, &why) == -1))) {
		(void)envd_fail(st, ENVD_FAILED, "envd: bad end of stream: %s",
		    why);
		free(why);
		json_object_put(o);
		return (-1);
	}
	if (code != NULL) {
		st->st_errcode = xstrdup(code);
		st->st_errmsg = xstrdup(msg != NULL ? msg : "");
	}
	json_object_put(o);
	return (0);
}

/* The process started: {"pid": N} (absent is 0). */
static int
envd_ev_start(struct envd_stream *st, struct json_object *o)
{
	int64_t	 pid = 0;
	char	*why = NULL;

	if (json_get_int(o, "event.start", "pid", 0, 0, INT32_MAX, &pid,
	    &why) == -1) {
		(void)envd_fail(st, ENVD_FAILED, "envd: bad event: %s", why);
		free(why);
		return (-1);
	}
	st->st_proc->pr_pid = pid;
	if (st->st_io != NULL && st->st_io->io_start != NULL)
		st->st_io->io_start(st->st_io->io_arg, pid);
	return (0);
}

/* Decode one base64 output chunk and hand it to fn. */
static int
envd_output(struct envd_stream *st, const char *name, const char *b64,
    int (*fn)(void *, const char *, size_t), uint64_t *count)
{
	buf_reset(&st->st_data);
	if (base64_decode(&st->st_data, b64, strlen(b64)) == -1)
		return (envd_fail(st, ENVD_FAILED, "envd: bad base64 in %s",
		    name));
	*count += buf_len(&st->st_data);
	if (fn != NULL && fn(st->st_io->io_arg, buf_str(&st->st_data),
	    buf_len(&st->st_data)) == -1)
		return (envd_fail(st, ENVD_STOPPED, "envd: the %s reader "
		    "stopped the stream", name));
	return (0);
}

/* Output: {"stdout": b64} or {"stderr": b64} ({"pty": b64} as stdout). */
static int
envd_ev_data(struct envd_stream *st, struct json_object *o)
{
	const struct envd_io	*io = st->st_io;
	struct envd_proc	*pr = st->st_proc;
	const char		*s;

	if ((s = json_peek_string(o, "stdout")) != NULL ||
	    (s = json_peek_string(o, "pty")) != NULL)
		return (envd_output(st, "stdout", s, io != NULL ?
		    io->io_stdout : NULL, &pr->pr_stdout));
	if ((s = json_peek_string(o, "stderr")) != NULL)
		return (envd_output(st, "stderr", s, io != NULL ?
		    io->io_stderr : NULL, &pr->pr_stderr));
	return (0);
}

static int
envd_ev_keepalive(struct envd_stream *st, struct json_object *o)
{
	st->st_proc->pr_keepalives++;
	return (0);
}

/* The process ended: exitCode, exited, status, error; absent is zero. */
static int
envd_ev_end(struct envd_stream *st, struct json_object *o)
{
	struct envd_proc	*pr = st->st_proc;
	const char		*status = NULL, *error = NULL;
	int64_t			 code = 0;
	int			 exited = 0;
	char			*why = NULL;

	if (json_get_int(o, "event.end", "exitCode", 0, INT32_MIN, INT32_MAX,
	    &code, &why) == -1 || json_get_bool(o, "event.end", "exited", 0,
	    &exited, &why) == -1 || json_get_string(o, "event.end", "status",
	    0, 4096, &status, &why) == -1 || json_get_string(o, "event.end",
	    "error", 0, 4096, &error, &why) == -1) {
		(void)envd_fail(st, ENVD_FAILED, "envd: bad event: %s", why);
		free(why);
		return (-1);
	}
	pr->pr_exit_code = (int)code;
	pr->pr_exited = exited;
	free(pr->pr_status);
	pr->pr_status = status != NULL ? xstrdup(status) : NULL;
	free(pr->pr_error);
	pr->pr_error = error != NULL ? xstrdup(error) : NULL;
	st->st_ended = 1;
	return (0);
}

/*
 * The stream's bytes have all arrived cleanly.  Returns 0 when the
 * process's end was seen and envd reported no error, else -1 with *cause
 * set; pr_end says which.
 */
int
envd_stream_finish(struct envd_stream *st, char **cause)
{
	struct envd_proc	*pr = st->st_proc;
	char			*why = NULL;

	if (env_decoder_finish(&st->st_dec, &why) == -1 && !st->st_ended) {
		pr->pr_end = ENVD_DROPPED;
		xasprintf(cause, "envd: the stream ended early: %s", why);
		free(why);
		return (-1);
	}
	if (why != NULL)
		log_debug("envd: after the end event: %s", why);
	free(why);
	if (st->st_errcode != NULL) {
		pr->pr_end = ENVD_FAILED;
		free(pr->pr_code);
		pr->pr_code = xstrdup(st->st_errcode);
		xasprintf(cause, "envd: %s: %s", st->st_errcode,
		    st->st_errmsg);
		return (-1);
	}
	if (!st->st_ended) {
		pr->pr_end = ENVD_FAILED;
		xasprintf(cause, "envd: the stream ended without an end event");
		return (-1);
	}
	pr->pr_end = ENVD_EXITED;
	return (0);
}

/* The response must be a Connect stream before any of it is read. */
static int
envd_check_type(struct envd_stream *st)
{
	const char	*ct = http_header(st->st_req, "content-type");
	size_t		 n = strlen(ENVD_CTYPE);

	st->st_checked = 1;
	if (ct != NULL && strncasecmp(ct, ENVD_CTYPE, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
		return (0);
	return (envd_fail(st, ENVD_FAILED, "envd: expected %s, got %s",
	    ENVD_CTYPE, ct != NULL ? ct : "no Content-Type"));
}

/* The HTTP sink of a stream. */
static int
envd_sink(void *arg, const char *p, size_t len, char **cause)
{
	struct envd_stream	*st = arg;

	if (!st->st_checked && envd_check_type(st) == -1) {
		*cause = xstrdup(st->st_cause);
		return (-1);
	}
	return (envd_stream_feed(st, p, len, cause));
}

/*
 * Classify a finished stream request (rv and err from envd_exec) into
 * pr_end.  Returns 0 only when the process's end was seen cleanly.
 */
static int
envd_stream_end(struct envd_stream *st, const char *what, int rv,
    char *err, char **cause)
{
	struct http_req		*r = st->st_req;
	struct envd_proc	*pr = st->st_proc;

	switch (rv == 0 ? HTTP_COMPLETE : http_outcome(r)) {
	case HTTP_COMPLETE:
		if (http_status(r) != 200) {
			pr->pr_end = ENVD_FAILED;
			envd_error(r, what, &pr->pr_code, cause);
			return (-1);
		}
		if (!st->st_checked && envd_check_type(st) == -1) {
			pr->pr_end = ENVD_FAILED;
			*cause = xstrdup(st->st_cause);
			return (-1);
		}
		return (envd_stream_finish(st, cause));
	case HTTP_ESINK:
		pr->pr_end = st->st_fail;
		*cause = xstrdup(err);
		return (-1);
	case HTTP_ECANCEL:
		pr->pr_end = ENVD_CANCELLED;
		xasprintf(cause, "envd: %s: cancelled", what);
		return (-1);
	case HTTP_ENET:
		if (st->st_ended && st->st_errcode == NULL) {
			/* The exit is known; only the trailer was lost. */
			pr->pr_end = ENVD_EXITED;
			return (0);
		}
		pr->pr_end = ENVD_DROPPED;
		xasprintf(cause, "envd: %s: the stream broke: %s", what, err);
		return (-1);
	default:
		pr->pr_end = ENVD_FAILED;
		xasprintf(cause, "envd: %s: %s", what, err);
		return (-1);
	}
}

/*
 * Run one stream call (Start or Connect) with msg as its request, feeding
 * io, until the stream ends.  See envd_run().
 */
static int
envd_stream(struct envd *nv, const char *method, struct json_object *msg,
    int keepalive_s, long timeout_ms, const char *user,
    const struct envd_io *io, struct envd_proc *pr, char **cause)
{
	struct envd_stream	*st;
	struct http_req		*r;
	struct buf		 body, auth;
	const char		*text;
	char			*path, *err = NULL, num[32];
	int			 rv;

	if (keepalive_s <= 0)
		keepalive_s = ENVD_KEEPALIVE_S;
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	buf_init(&body, ENVD_FRAME_MAX + ENV_HDRLEN);
	if (env_encode_checked(&body, 0, text, strlen(text)) == -1) {
		xasprintf(cause, "envd: %s: the request is too large", method);
		buf_free(&body);
		return (-1);
	}
	xasprintf(&path, "/process.Process/%s", method);
	r = envd_req(nv, HTTP_POST, path);
	free(path);
	http_req_header(r, "Connect-Protocol-Version", "1");
	(void)snprintf(num, sizeof(num), "%d", keepalive_s);
	http_req_header(r, "Keepalive-Ping-Interval", num);
	if (timeout_ms > 0) {
		(void)snprintf(num, sizeof(num), "%ld", timeout_ms);
		http_req_header(r, "Connect-Timeout-Ms", num);
	}
	if (user != NULL) {
		/* Basic auth with the user and an empty password. */
		xasprintf(&path, "%s:", user);
		buf_init(&auth, 1024);
		(void)buf_addstr(&auth, "Basic ");
		if (base64_encode(&auth, path, strlen(path)) == 0)
			http_req_header(r, "Authorization", buf_str(&auth));
		buf_free(&auth);
		free(path);
	}
	http_req_body_own(r, ENVD_CTYPE, buf_detach(&body, NULL),
	    ENV_HDRLEN + strlen(text));
	http_req_timeouts(r, ENVD_CONNECT_MS,
	    (long)keepalive_s * ENVD_LOWSPEED_FACTOR, 0);
	st = envd_stream_new(io, pr);
	st->st_req = r;
	http_req_sink(r, envd_sink, st);
	pr->pr_end = ENVD_RUNNING;
	pr->pr_streams++;
	rv = envd_exec(nv, r, &err);
	rv = envd_stream_end(st, method, rv, err, cause);
	log_debug("envd: %s: %s, pid %lld, exit %d, %llu bytes out, "
	    "%llu err", method, envd_end_names[pr->pr_end],
	    (long long)pr->pr_pid, pr->pr_exit_code,
	    (unsigned long long)pr->pr_stdout,
	    (unsigned long long)pr->pr_stderr);
	free(err);
	envd_stream_free(&st);
	http_req_free(&r);
	return (rv);
}

/*
 * Start a command and read its output until it ends (stdin is
 * /dev/null).  pr must be zeroed or cleared first.  Returns 0 when the
 * process ended (pr_exit_code says how) and -1 with *cause set
 * otherwise; pr_end tells a broken stream (ENVD_DROPPED: re-attach with
 * envd_attach()) from a refusal, a cancel or a stop.
 */
int
envd_run(struct envd *nv, const struct envd_cmd *cm, const struct envd_io *io,
    struct envd_proc *pr, char **cause)
{
	struct json_object	*msg, *proc, *args;
	size_t			 i;
	int			 rv;

	proc = json_object_new_object();
	json_add_string(proc, "cmd", cm->cm_cmd);
	args = json_object_new_array();
	for (i = 0; cm->cm_args != NULL && cm->cm_args[i] != NULL; i++)
		json_object_array_add(args,
		    json_object_new_string(cm->cm_args[i]));
	json_object_object_add(proc, "args", args);
	if (cm->cm_envs != NULL)
		json_object_object_add(proc, "envs",
		    json_object_get(cm->cm_envs));
	if (cm->cm_cwd != NULL)
		json_add_string(proc, "cwd", cm->cm_cwd);
	msg = json_object_new_object();
	json_object_object_add(msg, "process", proc);
	if (cm->cm_tag != NULL)
		json_add_string(msg, "tag", cm->cm_tag);
	json_add_bool(msg, "stdin", 0);
	rv = envd_stream(nv, "Start", msg, cm->cm_keepalive_s,
	    cm->cm_timeout_ms, cm->cm_user, io, pr, cause);
	json_object_put(msg);
	return (rv);
}

/*
 * Re-attach to a running process by tag (or, with tag NULL, by pid) and
 * read on as envd_run() does.  Output produced while detached is lost
 * (envd keeps none); pr_stdout keeps counting from where it was, so the
 * caller knows how much it has and can fetch the gap from a file.
 */
int
envd_attach(struct envd *nv, const char *tag, int64_t pid, int keepalive_s,
    const struct envd_io *io, struct envd_proc *pr, char **cause)
{
	struct json_object	*msg, *proc;
	int			 rv;

	proc = json_object_new_object();
	if (tag != NULL)
		json_add_string(proc, "tag", tag);
	else
		json_add_int(proc, "pid", pid);
	msg = json_object_new_object();
	json_object_object_add(msg, "process", proc);
	pr->pr_exit_code = 0;
	pr->pr_exited = 0;
	free(pr->pr_code);
	pr->pr_code = NULL;
	rv = envd_stream(nv, "Connect", msg, keepalive_s, 0, NULL, io, pr,
	    cause);
	json_object_put(msg);
	return (rv);
}

/* Free what a process record holds and zero it. */
void
envd_proc_clear(struct envd_proc *pr)
{
	free(pr->pr_status);
	free(pr->pr_error);
	free(pr->pr_code);
	memset(pr, 0, sizeof(*pr));
}
