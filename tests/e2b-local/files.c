/*
 * envd's file API.  POST /files takes a raw body (application/octet-stream
 * with ?path=, optionally gzip-encoded) or a multipart body whose "file"
 * parts name their paths; GET /files serves one file as http.ServeContent
 * does (a single byte range, Last-Modified, the content type by name or
 * by sniffing) or gzip-encoded when the client accepts it.  Both check
 * X-Access-Token or a signed URL, and the user, as envd does.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "base64.h"
#include "e2b-local.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "sha256.h"
#include "xmalloc.h"

/* A download in flight. */
struct download {
	int		 d_enc;		/* WIRE_ENC_* */
	int		 d_header;	/* the agent's header arrived */
	struct gz	*d_gz;
	char		*d_path;	/* as asked, for the content type */
};

static int	files_auth(struct request *, const char *);
static const char *files_signature(struct sandbox *, const char *,
		    const char *, const char *, const char *, const char *);
static int	files_body(struct request *, struct evbuffer **);
static int	files_multipart(struct request *, const char *,
		    struct evbuffer *, struct json_object *,
		    struct wire_multipart *);
static int	files_user(struct request *);
static void	files_send(struct call *, const char *, size_t);
static void	files_post_frame(struct call *, uint8_t, const char *, size_t);
static void	files_get_frame(struct call *, uint8_t, const char *, size_t);
static int	files_get_header(struct call *, const char *, size_t);
static void	files_get_gzip(struct call *);
static int	files_get_identity(struct call *, struct json_object *);
static void	files_get_free(struct call *);

static const struct call_ops files_post_ops = {
	files_post_frame, NULL, NULL
};
static const struct call_ops files_get_ops = {
	files_get_frame, NULL, files_get_free
};

/*
 * Check envd's signature: "v1_" + unpadded base64 of the SHA-256 of
 * "path:operation:username:token[:expiration]".  NULL if it is good, else
 * why not.
 */
static const char *
files_signature(struct sandbox *sb, const char *path, const char *op,
    const char *user, const char *exp, const char *sig)
{
	uint8_t		 digest[SHA256_DIGEST_LEN];
	struct sha256	 ctx;
	struct buf	 b;
	char		*text;
	int		 good;

	xasprintf(&text, "%s:%s:%s:%s%s%s", path, op, user, sb->sb_token,
	    exp != NULL ? ":" : "", exp != NULL ? exp : "");
	sha256_init(&ctx);
	sha256_update(&ctx, text, strlen(text));
	sha256_final(&ctx, digest);
	freezero_str(text);
	buf_init(&b, 128);
	(void)buf_addstr(&b, "v1_");
	(void)base64_encode(&b, digest, sizeof(digest));
	while (buf_len(&b) > 0 && buf_str(&b)[buf_len(&b) - 1] == '=')
		buf_truncate(&b, buf_len(&b) - 1);
	good = strcmp(buf_str(&b), sig) == 0;
	buf_free(&b);
	if (!good)
		return ("invalid signature");
	if (exp != NULL && strtoll(exp, NULL, 10) < time(NULL))
		return ("signature is already expired");
	return (NULL);
}

/*
 * envd's validateSigning: the X-Access-Token header, or else a signature
 * in the URL.  0, or -1 after answering 401.
 */
static int
files_auth(struct request *q, const char *op)
{
	struct sandbox	*sb = q->q_sb;
	const char	*tok = server_header(q->q_req, "X-Access-Token");
	const char	*why, *path, *user, *sig;

	if (sb->sb_token == NULL)
		return (0);
	path = wire_query_get(&q->q_query, "path");
	user = wire_query_get(&q->q_query, "username");
	sig = wire_query_get(&q->q_query, "signature");
	if (tok != NULL && *tok != '\0')
		why = strcmp(tok, sb->sb_token) == 0 ? NULL : "access token "
		    "present in header but does not match";
	else if (sig == NULL)
		why = "missing signature query parameter";
	else
		why = files_signature(sb, path != NULL ? path : "", op,
		    user != NULL ? user : "", wire_query_get(&q->q_query,
		    "signature_expiration"), sig);
	if (why == NULL)
		return (0);
	server_envd_error(q->q_req, 401, "%s", why);
	return (-1);
}

/* The username parameter; 0, or -1 after answering. */
static int
files_user(struct request *q)
{
	const char	*code;
	char		*msg = NULL;
	int		 status;

	code = envd_user(wire_query_get(&q->q_query, "username"), 0, &status,
	    &msg);
	if (code == NULL)
		return (0);
	server_envd_error(q->q_req, status, "%s", msg);
	free(msg);
	return (-1);
}

/* Queue one file's bytes to the agent, then the zero-length end. */
static void
files_send(struct call *c, const char *data, size_t len)
{
	size_t	n;

	while (len > 0) {
		n = len < E2BL_UPLOAD_CHUNK ? len : E2BL_UPLOAD_CHUNK;
		(void)fconn_send(c->c_link, 0, data, n);
		data += n;
		len -= n;
	}
	(void)fconn_send(c->c_link, 0, NULL, 0);
}

/* Decode the body as Content-Encoding says; -1 after answering 400. */
static int
files_body(struct request *q, struct evbuffer **body)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(q->q_req);
	const char	*enc = server_header(q->q_req, "Content-Encoding");
	char		*type = NULL, *cause = NULL;

	*body = NULL;
	if (enc == NULL || *enc == '\0' || (wire_media_type(enc, &type,
	    NULL) == 0 && strcmp(type, "identity") == 0)) {
		free(type);
		return (0);
	}
	if (type == NULL || strcmp(type, "gzip") != 0) {
		server_envd_error(q->q_req, 400, "error decompressing request "
		    "body: unsupported Content-Encoding: %s, supported: [gzip]",
		    enc);
		free(type);
		return (-1);
	}
	free(type);
	*body = evbuffer_new();
	if (gz_inflate((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), E2BL_BODY_MAX, *body, &cause) == -1) {
		server_envd_error(q->q_req, 400, "error decompressing request "
		    "body: failed to create gzip reader: %s", cause);
		free(cause);
		evbuffer_free(*body);
		*body = NULL;
		return (-1);
	}
	return (0);
}

/* Send the files of a multipart body; -1 after answering. */
static int
files_multipart(struct request *q, const char *ctype, struct evbuffer *body,
    struct json_object *paths, struct wire_multipart *mp)
{
	const char	*path = wire_query_get(&q->q_query, "path");
	char		*cause = NULL;
	size_t		 i;

	if (wire_multipart_parse(mp, ctype, (const char *)evbuffer_pullup(body,
	    -1), evbuffer_get_length(body), &cause) == -1) {
		server_envd_error(q->q_req, 500, "%s: %s", strstr(cause,
		    "boundary") != NULL ? "error parsing multipart form" :
		    "error reading form", cause);
		free(cause);
		return (-1);
	}
	for (i = 0; i < mp->mp_n; i++) {
		if (strcmp(mp->mp_parts[i].mp_name, "file") != 0)
			continue;
		if (path == NULL && (mp->mp_parts[i].mp_filename == NULL ||
		    *mp->mp_parts[i].mp_filename == '\0')) {
			server_envd_error(q->q_req, 400, "error getting "
			    "multipart custom part file name: missing "
			    "filename");
			return (-1);
		}
		json_object_array_add(paths, json_object_new_string(
		    path != NULL ? path : mp->mp_parts[i].mp_filename));
	}
	return (0);
}

/* POST /files. */
void
files_post(struct request *q)
{
	struct json_object	*paths = NULL, *op = NULL;
	struct evbuffer		*body = NULL, *src;
	struct wire_multipart	 mp = { NULL, 0 };
	struct call		*c;
	const char		*ctype, *path;
	char			*type = NULL;
	size_t			 i, n = 0;

	if (files_auth(q, "write") == -1 || files_user(q) == -1 ||
	    files_body(q, &body) == -1)
		return;
	ctype = server_header(q->q_req, "Content-Type");
	path = wire_query_get(&q->q_query, "path");
	src = body != NULL ? body : evhttp_request_get_input_buffer(q->q_req);
	if (ctype != NULL)
		(void)wire_media_type(ctype, &type, NULL);
	paths = json_object_new_array();
	if (type != NULL && strcmp(type, "application/octet-stream") == 0) {
		if (path == NULL) {
			server_envd_error(q->q_req, 400, "path query parameter "
			    "is required for raw body upload");
			goto out;
		}
		json_object_array_add(paths, json_object_new_string(path));
	} else if (type != NULL && strncmp(type, "multipart/", 10) == 0) {
		if (files_multipart(q, ctype, src, paths, &mp) == -1)
			goto out;
		if (json_object_array_length(paths) == 0) {
			server_reply_text(q->q_req, 200, "text/plain; "
			    "charset=utf-8", "[]");
			goto out;
		}
	} else {
		server_envd_error(q->q_req, 400, "unsupported content type: "
		    "%s, expected multipart/form-data or "
		    "application/octet-stream", ctype != NULL ? ctype : "");
		goto out;
	}
	op = json_object_new_object();
	json_add_string(op, "op", "write");
	json_object_object_add(op, "files", json_object_get(paths));
	if ((c = call_new(q, &files_post_ops, NULL, op)) == NULL) {
		server_proxy_gone(q->q_req, q->q_sb->sb_id);
		goto out;
	}
	if (mp.mp_n == 0) {
		/* A raw body: move it to the agent without copying. */
		while ((n = evbuffer_get_length(src)) > 0)
			(void)fconn_send_buffer(c->c_link, 0, src,
			    n < E2BL_UPLOAD_CHUNK ? n : E2BL_UPLOAD_CHUNK);
		(void)fconn_send(c->c_link, 0, NULL, 0);
	}
	for (i = 0; i < mp.mp_n; i++) {
		if (strcmp(mp.mp_parts[i].mp_name, "file") == 0)
			files_send(c, mp.mp_parts[i].mp_data,
			    mp.mp_parts[i].mp_len);
	}
	(void)fconn_send(c->c_link, ENV_FLAG_END, NULL, 0);
out:
	wire_multipart_free(&mp);
	json_object_put(paths);
	json_object_put(op);
	if (body != NULL)
		evbuffer_free(body);
	free(type);
}

/* The agent's answer to an upload. */
static void
files_post_frame(struct call *c, uint8_t flags, const char *data, size_t len)
{
	struct json_object	*ans, *res, *err;
	const char		*msg;

	if (!(flags & ENV_FLAG_END))
		return;
	ans = json_parse(data, len, NULL);
	if (json_object_object_get_ex(ans, "result", &res))
		server_reply_text(c->c_req, 200, "text/plain; charset=utf-8",
		    json_str(res));
	else if (json_object_object_get_ex(ans, "error", &err) &&
	    (msg = json_peek_string(err, "message")) != NULL)
		server_envd_error(c->c_req, (int)json_peek_int(err, "status",
		    500), "%s", msg);
	else
		server_envd_error(c->c_req, 500, "bad answer from the sandbox "
		    "agent");
	json_object_put(ans);
	c->c_req = NULL;
	call_free(c);
}

/* GET /files. */
void
files_get(struct request *q)
{
	struct json_object	*op;
	struct download		*d;
	const char		*range = server_header(q->q_req, "Range");
	const char		*path = wire_query_get(&q->q_query, "path");
	int			 cond;

	if (files_auth(q, "read") == -1 || files_user(q) == -1)
		return;
	cond = range != NULL || server_header(q->q_req, "If-Modified-Since") !=
	    NULL || server_header(q->q_req, "If-None-Match") != NULL ||
	    server_header(q->q_req, "If-Range") != NULL;
	d = xcalloc(1, sizeof(*d));
	d->d_enc = wire_accept_encoding(server_header(q->q_req,
	    "Accept-Encoding"), cond);
	d->d_path = xstrdup(path != NULL ? path : "");
	op = json_object_new_object();
	json_add_string(op, "op", "read");
	json_add_string(op, "path", d->d_path);
	if (range != NULL && d->d_enc == WIRE_ENC_IDENTITY)
		json_add_string(op, "range", range);
	if (call_new(q, &files_get_ops, d, op) == NULL) {
		free(d->d_path);
		free(d);
		server_proxy_gone(q->q_req, q->q_sb->sb_id);
	}
	json_object_put(op);
}

/* A gzip-encoded download: envd's own headers, then chunks. */
static void
files_get_gzip(struct call *c)
{
	struct download		*d = c->c_state;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(
				    c->c_req);
	const char		*type = wire_mime_ext(d->d_path);

	evhttp_add_header(out, "Content-Encoding", "gzip");
	evhttp_add_header(out, "Content-Type", type != NULL ? type :
	    "application/octet-stream");
	d->d_gz = gz_deflate_new();
	call_reply_start(c, 200, "OK");
}

/*
 * An identity download as http.ServeContent answers it: 416 for a range
 * outside the file (-1), else 200 or 206 with its headers (0).
 */
static int
files_get_identity(struct call *c, struct json_object *h)
{
	struct download		*d = c->c_state;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(
				    c->c_req);
	const char		*rerr = json_peek_string(h, "rangeError");
	const char		*type = wire_mime_ext(d->d_path);
	const char		*sniff = json_peek_string(h, "sniff");
	char			 v[96];
	long long		 size = json_peek_int(h, "size", 0);
	long long		 off = json_peek_int(h, "offset", 0);
	long long		 length = json_peek_int(h, "length", 0);
	long long		 mtime = json_peek_int(h, "mtime", 0);

	if (rerr != NULL) {
		if (strstr(rerr, "overlap") != NULL) {
			snprintf(v, sizeof(v), "bytes */%lld", size);
			evhttp_add_header(out, "Content-Range", v);
		}
		evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
		snprintf(v, sizeof(v), "%s\n", rerr);
		server_reply_text(c->c_req, 416,
		    "text/plain; charset=utf-8", v);
		return (-1);
	}
	if (mtime > 0) {
		wire_http_date(v, sizeof(v), (time_t)mtime);
		evhttp_add_header(out, "Last-Modified", v);
	}
	evhttp_add_header(out, "Accept-Ranges", "bytes");
	evhttp_add_header(out, "Content-Type", type != NULL ? type :
	    sniff != NULL ? sniff : "application/octet-stream");
	snprintf(v, sizeof(v), "%lld", length);
	evhttp_add_header(out, "Content-Length", v);
	if (!json_object_get_boolean(json_object_object_get(h, "ranged"))) {
		call_reply_start(c, 200, "OK");
		return (0);
	}
	snprintf(v, sizeof(v), "bytes %lld-%lld/%lld", off, off + length - 1,
	    size);
	evhttp_add_header(out, "Content-Range", v);
	call_reply_start(c, 206, "Partial Content");
	return (0);
}

/*
 * The agent's header: answer 406 or 416, or start the reply.  0 if the
 * body follows.
 */
static int
files_get_header(struct call *c, const char *data, size_t len)
{
	struct download		*d = c->c_state;
	struct json_object	*h;
	struct buf		 b;
	const char		*name;
	int			 r = 0;

	if ((h = json_parse(data, len, NULL)) == NULL)
		return (-1);
	d->d_header = 1;
	if (d->d_enc == WIRE_ENC_NONE) {
		server_envd_error(c->c_req, 406, "%s", server_header(c->c_req,
		    "Range") != NULL ? "identity encoding not acceptable for "
		    "Range or conditional request" : "error parsing "
		    "Accept-Encoding: no acceptable encoding found, supported: "
		    "[gzip]");
		json_object_put(h);
		return (-1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(c->c_req), "Vary",
	    "Accept-Encoding");
	name = json_peek_string(h, "name");
	buf_init(&b, 4096);
	wire_disposition(&b, "inline", name != NULL ? name : "");
	evhttp_add_header(evhttp_request_get_output_headers(c->c_req),
	    "Content-Disposition", buf_str(&b));
	buf_free(&b);
	if (d->d_enc == WIRE_ENC_GZIP)
		files_get_gzip(c);
	else
		r = files_get_identity(c, h);
	json_object_put(h);
	return (r);
}

/* The download's header, bytes and end, from the agent. */
static void
files_get_frame(struct call *c, uint8_t flags, const char *data, size_t len)
{
	struct download		*d = c->c_state;
	struct json_object	*ans, *err;
	struct evbuffer		*b;

	if (!d->d_header && !(flags & ENV_FLAG_END)) {
		if (files_get_header(c, data, len) == -1) {
			c->c_req = NULL;
			call_free(c);
		}
		return;
	}
	if (!(flags & ENV_FLAG_END)) {
		b = evbuffer_new();
		if (d->d_gz != NULL)
			(void)gz_deflate(d->d_gz, data, len, 0, b);
		else
			evbuffer_add(b, data, len);
		call_reply_chunk(c, b);
		evbuffer_free(b);
		return;
	}
	ans = json_parse(data, len, NULL);
	if (json_object_object_get_ex(ans, "error", &err) && !c->c_started) {
		server_envd_error(c->c_req, (int)json_peek_int(err, "status",
		    500), "%s", json_peek_string(err, "message"));
		c->c_req = NULL;
	} else if (json_object_object_get_ex(ans, "error", &err)) {
		json_object_put(ans);
		call_abort(c);		/* a short body: cut it off */
		return;
	} else {
		if (d->d_gz != NULL) {
			b = evbuffer_new();
			(void)gz_deflate(d->d_gz, NULL, 0, 1, b);
			call_reply_chunk(c, b);
			evbuffer_free(b);
		}
		call_reply_end(c);
	}
	json_object_put(ans);
	call_free(c);
}

static void
files_get_free(struct call *c)
{
	struct download	*d = c->c_state;

	gz_deflate_free(&d->d_gz);
	free(d->d_path);
	free(d);
}
