/* HTTP text parsed and printed by the rules of Go's standard library. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "wire.h"
#include "xmalloc.h"

#define WIRE_TSPECIALS	"()<>@,;:\\\"/[]?="

struct wire_enc {
	char	we_name[32];
	double	we_q;
};

static int	wire_hexval(int);
static int	wire_tokenchar(int);
static const char *wire_skipws(const char *);
static const char *wire_param_value(const char *, char **);
static int	wire_part_headers(const char *, size_t, struct wire_part *,
		    char **);
static const char *wire_find(const char *, const char *, const char *);
static int	wire_part_add(struct wire_multipart *, const char *,
		    const char *, size_t, char **);
static int	wire_range_one(const char *, size_t, int64_t, int64_t *,
		    int64_t *);
static size_t	wire_enc_list(const char *, struct wire_enc *, size_t);

static int
wire_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * url.QueryUnescape (plus != 0) or url.PathUnescape of len bytes into a
 * new string.  -1 on a bad escape.
 */
int
wire_unescape(const char *s, size_t len, int plus, char **out)
{
	char	*p;
	size_t	 i;
	int	 hi, lo;

	p = *out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len)
				goto bad;
			if ((hi = wire_hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = wire_hexval((unsigned char)s[i + 2])) == -1)
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			*p++ = ' ';
		else
			*p++ = s[i];
	}
	*p = '\0';
	return (0);
bad:
	free(*out);
	*out = NULL;
	return (-1);
}

/*
 * Parse a query string as url.ParseQuery does: "&"-separated, "+" is a
 * space, bad escapes and ";" separators are errors.
 */
int
wire_query_parse(struct wire_query *q, const char *s, char **cause)
{
	const char	*end, *eq;
	size_t		 len, klen;
	char		*k, *v;

	memset(q, 0, sizeof(*q));
	for (; s != NULL && *s != '\0'; s = *end != '\0' ? end + 1 : end) {
		end = s + strcspn(s, "&");
		if ((len = (size_t)(end - s)) == 0)
			continue;
		if (memchr(s, ';', len) != NULL) {
			xasprintf(cause,
			    "invalid semicolon separator in query");
			goto fail;
		}
		eq = memchr(s, '=', len);
		klen = eq != NULL ? (size_t)(eq - s) : len;
		if (wire_unescape(s, klen, 1, &k) == -1) {
			xasprintf(cause, "invalid URL escape in %.*s", (int)len,
			    s);
			goto fail;
		}
		if (wire_unescape(eq != NULL ? eq + 1 : end, eq != NULL ?
		    len - klen - 1 : 0, 1, &v) == -1) {
			free(k);
			xasprintf(cause, "invalid URL escape in %.*s", (int)len,
			    s);
			goto fail;
		}
		if (q->wq_n == WIRE_QUERY_MAX) {
			free(k);
			free(v);
			xasprintf(cause, "too many query parameters");
			goto fail;
		}
		q->wq_params[q->wq_n].wp_key = k;
		q->wq_params[q->wq_n++].wp_value = v;
	}
	return (0);
fail:
	wire_query_free(q);
	return (-1);
}

void
wire_query_free(struct wire_query *q)
{
	size_t	i;

	for (i = 0; i < q->wq_n; i++) {
		free(q->wq_params[i].wp_key);
		free(q->wq_params[i].wp_value);
	}
	q->wq_n = 0;
}

/* The first value of a parameter, or NULL. */
const char *
wire_query_get(const struct wire_query *q, const char *key)
{
	size_t	i;

	for (i = 0; i < q->wq_n; i++) {
		if (strcmp(q->wq_params[i].wp_key, key) == 0)
			return (q->wq_params[i].wp_value);
	}
	return (NULL);
}

static int
wire_tokenchar(int c)
{
	return (c > 0x20 && c < 0x7f && strchr(WIRE_TSPECIALS, c) == NULL);
}

static const char *
wire_skipws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return (s);
}

/*
 * The media type of a header value, lower-cased, and optionally the rest
 * (its parameters).  -1 if there is no type.
 */
int
wire_media_type(const char *value, char **type, char **rest)
{
	const char	*s = wire_skipws(value), *e;
	size_t		 i, len;

	for (e = s; wire_tokenchar((unsigned char)*e) || *e == '/'; e++)
		;
	if ((len = (size_t)(e - s)) == 0)
		return (-1);
	*type = xstrndup(s, len);
	for (i = 0; i < len; i++)
		(*type)[i] = (char)tolower((unsigned char)(*type)[i]);
	if (rest != NULL)
		*rest = xstrdup(e);
	return (0);
}

/* A parameter value, token or quoted-string; returns the end or NULL. */
static const char *
wire_param_value(const char *s, char **out)
{
	struct buf	 b;
	const char	*e;

	if (*s != '"') {
		for (e = s; wire_tokenchar((unsigned char)*e); e++)
			;
		if (e == s)
			return (NULL);
		*out = xstrndup(s, (size_t)(e - s));
		return (e);
	}
	buf_init(&b, 65536);
	for (s++; *s != '"'; s++) {
		if (*s == '\0')
			goto bad;
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (buf_addc(&b, *s) == -1)
			goto bad;
	}
	*out = buf_detach(&b, NULL);
	return (s + 1);
bad:
	buf_free(&b);
	return (NULL);
}

/*
 * Find parameter key in a header value such as
 * 'form-data; name="file"; filename="/home/user/x"'.  An RFC 2231
 * "key*=utf-8''%xx" form wins.  Returns 1 and *out, 0 if absent, -1 if
 * the parameters are malformed.
 */
int
wire_media_param(const char *value, const char *key, char **out)
{
	const char	*s = strchr(value, ';'), *e;
	char		*k, *v, *plain = NULL, *ext = NULL, *q;
	size_t		 klen = strlen(key);

	while (s != NULL && *s == ';') {
		s = wire_skipws(s + 1);
		if (*s == '\0')
			break;
		for (e = s; wire_tokenchar((unsigned char)*e); e++)
			;
		if (e == s || *e != '=')
			goto bad;
		k = xstrndup(s, (size_t)(e - s));
		if ((s = wire_param_value(e + 1, &v)) == NULL) {
			free(k);
			goto bad;
		}
		if (strncasecmp(k, key, klen) == 0 && k[klen] == '\0' &&
		    plain == NULL)
			plain = v;
		else if (strncasecmp(k, key, klen) == 0 && strcmp(k + klen,
		    "*") == 0 && ext == NULL && (q = strstr(v, "''")) != NULL &&
		    wire_unescape(q + 2, strlen(q + 2), 0, &ext) == 0)
			free(v);
		else
			free(v);
		free(k);
		s = wire_skipws(s);
	}
	if (s != NULL && *s != '\0')
		goto bad;
	if (ext != NULL) {
		free(plain);
		plain = ext;
	}
	*out = plain;
	return (plain != NULL);
bad:
	free(plain);
	free(ext);
	return (-1);
}

/* memmem for a NUL-terminated needle within [p, end). */
static const char *
wire_find(const char *p, const char *end, const char *needle)
{
	return (memmem(p, (size_t)(end - p), needle, strlen(needle)));
}

/* Parse the header block of one part: Content-Disposition matters. */
static int
wire_part_headers(const char *h, size_t len, struct wire_part *part,
    char **cause)
{
	const char	*end = h + len, *eol, *colon;
	char		*line, *type;
	int		 r = 0;

	for (; h < end; h = eol + 1) {
		if ((eol = memchr(h, '\n', (size_t)(end - h))) == NULL)
			eol = end;
		line = xstrndup(h, (size_t)(eol - h));
		line[strcspn(line, "\r")] = '\0';
		colon = strchr(line, ':');
		if (colon != NULL && (size_t)(colon - line) ==
		    strlen("Content-Disposition") && strncasecmp(line,
		    "Content-Disposition", (size_t)(colon - line)) == 0) {
			if (wire_media_type(colon + 1, &type, NULL) == 0)
				free(type);
			if (wire_media_param(colon + 1, "name",
			    &part->mp_name) == -1 || wire_media_param(colon + 1,
			    "filename", &part->mp_filename) == -1) {
				xasprintf(cause,
				    "malformed Content-Disposition");
				r = -1;
			}
		}
		free(line);
		if (r == -1 || eol == end)
			break;
	}
	if (part->mp_name == NULL)
		part->mp_name = xstrdup("");
	return (r);
}

/*
 * Add the part that starts at p (its header block) and ends where the
 * delimiter at next begins; nl is the length of a line end.
 */
static int
wire_part_add(struct wire_multipart *mp, const char *p, const char *next,
    size_t nl, char **cause)
{
	struct wire_part	*part;
	const char		*data, *hend;

	if (mp->mp_n == WIRE_PARTS_MAX) {
		xasprintf(cause, "multipart: too many parts");
		return (-1);
	}
	if ((size_t)(next - p) >= nl && memcmp(p,
	    nl == 2 ? "\r\n" : "\n", nl) == 0)
		hend = data = p + nl;		/* no header lines */
	else if ((hend = wire_find(p, next, nl == 2 ? "\r\n\r\n" :
	    "\n\n")) != NULL)
		data = hend + 2 * nl;
	else {
		xasprintf(cause, "multipart: malformed MIME header");
		return (-1);
	}
	mp->mp_parts = xreallocarray(mp->mp_parts, mp->mp_n + 1,
	    sizeof(*mp->mp_parts));
	part = &mp->mp_parts[mp->mp_n++];
	memset(part, 0, sizeof(*part));
	if (wire_part_headers(p, (size_t)(hend - p), part, cause) == -1)
		return (-1);
	if (data > next)
		data = next;
	part->mp_data = data;
	part->mp_len = (size_t)(next - data);
	if (nl == 2 && part->mp_len > 0 && next[-1] == '\r')
		part->mp_len--;
	return (0);
}

/*
 * Split a multipart body (held whole in memory) into parts, given the
 * request's Content-Type.  Part data points into the body.
 */
int
wire_multipart_parse(struct wire_multipart *mp, const char *ctype,
    const char *body, size_t len, char **cause)
{
	const char	*end = body + len, *p, *next;
	char		*boundary = NULL, *delim = NULL;
	size_t		 nl, dlen;

	memset(mp, 0, sizeof(*mp));
	if (wire_media_param(ctype, "boundary", &boundary) != 1 ||
	    *boundary == '\0') {
		xasprintf(cause, "no multipart boundary param in Content-Type");
		goto fail;
	}
	/* The delimiter with the line end before it; the first has none. */
	dlen = (size_t)xasprintf(&delim, "\n--%s", boundary) - 1;
	if (len >= dlen && memcmp(body, delim + 1, dlen) == 0)
		p = body;
	else if ((p = wire_find(body, end, delim)) != NULL)
		p++;
	else {
		xasprintf(cause, "multipart: NextPart: EOF");
		goto fail;
	}
	for (;;) {
		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		p = wire_skipws(p);
		nl = (end - p >= 2 && p[0] == '\r' && p[1] == '\n') ? 2 :
		    (p < end && p[0] == '\n') ? 1 : 0;
		if (nl == 0 || (next = wire_find(p + nl, end, delim)) == NULL) {
			xasprintf(cause, "multipart: NextPart: EOF");
			goto fail;
		}
		if (wire_part_add(mp, p + nl, next, nl, cause) == -1)
			goto fail;
		p = next + 1;
	}
	free(boundary);
	free(delim);
	return (0);
fail:
	free(boundary);
	free(delim);
	wire_multipart_free(mp);
	return (-1);
}

void
wire_multipart_free(struct wire_multipart *mp)
{
	size_t	i;

	for (i = 0; i < mp->mp_n; i++) {
		free(mp->mp_parts[i].mp_name);
		free(mp->mp_parts[i].mp_filename);
	}
	free(mp->mp_parts);
	mp->mp_parts = NULL;
	mp->mp_n = 0;
}

/* One "start-end" of a Range header, as net/http's parseRange. */
static int
wire_range_one(const char *s, size_t len, int64_t size, int64_t *start,
    int64_t *length)
{
	char		 tmp[64], *dash, *a, *b, *ep;
	long long	 i, j;

	if (len >= sizeof(tmp))
		return (WIRE_RANGE_INVALID);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if ((dash = strchr(tmp, '-')) == NULL)
		return (WIRE_RANGE_INVALID);
	*dash = '\0';
	a = (char *)wire_skipws(tmp);
	a[strcspn(a, " \t")] = '\0';
	b = (char *)wire_skipws(dash + 1);
	b[strcspn(b, " \t")] = '\0';
	if (*a == '\0') {
		if (*b == '\0' || *b == '-')
			return (WIRE_RANGE_INVALID);
		errno = 0;
		i = strtoll(b, &ep, 10);
		if (*ep != '\0' || errno != 0 || i < 0)
			return (WIRE_RANGE_INVALID);
		if (i > size)
			i = size;
		*start = size - i;
		*length = size - *start;
		return (WIRE_RANGE_ONE);
	}
	errno = 0;
	i = strtoll(a, &ep, 10);
	if (*ep != '\0' || errno != 0 || i < 0 || *a == '-' || *a == '+')
		return (WIRE_RANGE_INVALID);
	if (i >= size)
		return (WIRE_RANGE_NOOVERLAP);
	*start = i;
	if (*b == '\0') {
		*length = size - i;
		return (WIRE_RANGE_ONE);
	}
	errno = 0;
	j = strtoll(b, &ep, 10);
	if (*ep != '\0' || errno != 0 || i > j || *b == '-' || *b == '+')
		return (WIRE_RANGE_INVALID);
	if (j >= size)
		j = size - 1;
	*length = j - i + 1;
	return (WIRE_RANGE_ONE);
}

/*
 * Interpret a Range header for a body of size bytes, as http.ServeContent
 * does; for one range, *start and *length are set.  Several ranges whose
 * sum exceeds the size are ignored (WIRE_RANGE_NONE), as Go does.
 */
int
wire_range_parse(const char *hdr, int64_t size, int64_t *start,
    int64_t *length)
{
	const char	*s, *end;
	int64_t		 st, ln, sum = 0;
	int		 n = 0, r, nooverlap = 0;

	if (hdr == NULL || *hdr == '\0')
		return (WIRE_RANGE_NONE);
	if (strncmp(hdr, "bytes=", 6) != 0)
		return (WIRE_RANGE_INVALID);
	for (s = hdr + 6; *s != '\0'; s = *end != '\0' ? end + 1 : end) {
		end = s + strcspn(s, ",");
		s = wire_skipws(s);
		if (s >= end)
			continue;
		r = wire_range_one(s, (size_t)(end - s), size, &st, &ln);
		if (r == WIRE_RANGE_INVALID)
			return (r);
		if (r == WIRE_RANGE_NOOVERLAP) {
			nooverlap = 1;
			continue;
		}
		if (n++ == 0) {
			*start = st;
			*length = ln;
		}
		sum += ln;
	}
	if (n == 0)
		return (nooverlap ? WIRE_RANGE_NOOVERLAP : WIRE_RANGE_NONE);
	if (sum > size)
		return (WIRE_RANGE_NONE);
	return (n == 1 ? WIRE_RANGE_ONE : WIRE_RANGE_MANY);
}

/* Split an Accept-Encoding value into names (lower case) and q values. */
static size_t
wire_enc_list(const char *s, struct wire_enc *list, size_t max)
{
	const char	*end, *semi, *q;
	size_t		 n = 0, len;

	for (; *s != '\0' && n < max; s = *end != '\0' ? end + 1 : end) {
		end = s + strcspn(s, ",");
		s = wire_skipws(s);
		semi = memchr(s, ';', (size_t)(end - s));
		len = (size_t)((semi != NULL ? semi : end) - s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len >= sizeof(list[n].we_name))
			len = sizeof(list[n].we_name) - 1;
		memcpy(list[n].we_name, s, len);
		list[n].we_name[len] = '\0';
		for (len = 0; list[n].we_name[len] != '\0'; len++)
			list[n].we_name[len] = (char)tolower(
			    (unsigned char)list[n].we_name[len]);
		list[n].we_q = 1.0;
		if (semi != NULL && (q = strstr(semi, "q=")) != NULL && q < end)
			list[n].we_q = strtod(q + 2, NULL);
		if (semi != NULL && (q = strstr(semi, "Q=")) != NULL && q < end)
			list[n].we_q = strtod(q + 2, NULL);
		n++;
	}
	return (n);
}

/*
 * Pick the response encoding for an Accept-Encoding value as envd does:
 * gzip or identity by quality; a ranged (or conditional) request gets
 * identity unless it is refused.
 */
int
wire_accept_encoding(const char *hdr, int ranged)
{
	struct wire_enc	 list[32], t;
	size_t		 n, i, j;
	int		 rejected = 0, accepted = 0, wildrej = 0;

	if (hdr == NULL || *hdr == '\0')
		return (WIRE_ENC_IDENTITY);
	n = wire_enc_list(hdr, list, 32);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].we_name, "identity") == 0) {
			if (list[i].we_q == 0)
				rejected = 1;
			else
				accepted = 1;
		} else if (strcmp(list[i].we_name, "*") == 0 &&
		    list[i].we_q == 0)
			wildrej = 1;
	}
	if (wildrej && !accepted)
		rejected = 1;
	if (ranged)
		return (rejected ? WIRE_ENC_NONE : WIRE_ENC_IDENTITY);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && list[j - 1].we_q < list[j].we_q; j--) {
			t = list[j];
			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	}
	for (i = 0; i < n; i++) {
		if (list[i].we_q == 0)
			continue;
		if (strcmp(list[i].we_name, "identity") == 0)
			return (WIRE_ENC_IDENTITY);
		if (strcmp(list[i].we_name, "*") == 0)
			return (rejected ? WIRE_ENC_GZIP : WIRE_ENC_IDENTITY);
		if (strcmp(list[i].we_name, "gzip") == 0)
			return (WIRE_ENC_GZIP);
	}
	return (rejected ? WIRE_ENC_NONE : WIRE_ENC_IDENTITY);
}

/* mime.TypeByExtension with Go's built-in table; NULL if unknown. */
const char *
wire_mime_ext(const char *path)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".avif", "image/avif" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".gif", "image/gif" },
		{ ".htm", "text/html; charset=utf-8" },
		{ ".html", "text/html; charset=utf-8" },
		{ ".jpeg", "image/jpeg" },
		{ ".jpg", "image/jpeg" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".pdf", "application/pdf" },
		{ ".png", "image/png" },
		{ ".svg", "image/svg+xml" },
		{ ".wasm", "application/wasm" },
		{ ".webp", "image/webp" },
		{ ".xml", "text/xml; charset=utf-8" },
	};
	const char	*base, *dot;
	size_t		 i;

	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL)
		return (NULL);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(dot, types[i].ext) == 0)
			return (types[i].type);
	}
	return (NULL);
}

/* A subset of http.DetectContentType over the first 512 bytes. */
const char *
wire_mime_sniff(const void *data, size_t len)
{
	static const struct {
		const char	*magic;
		size_t		 len;
		const char	*type;
	} sigs[] = {
		{ "%PDF-", 5, "application/pdf" },
		{ "\x89PNG\r\n\x1a\n", 8, "image/png" },
		{ "\xff\xd8\xff", 3, "image/jpeg" },
		{ "GIF87a", 6, "image/gif" },
		{ "GIF89a", 6, "image/gif" },
		{ "\x1f\x8b\x08", 3, "application/x-gzip" },
		{ "PK\x03\x04", 4, "application/zip" },
		{ "<?xml", 5, "text/xml; charset=utf-8" },
		{ "<!DOCTYPE HTML", 14, "text/html; charset=utf-8" },
		{ "<HTML", 5, "text/html; charset=utf-8" },
	};
	const unsigned char	*p = data;
	size_t			 i;

	if (len > 512)
		len = 512;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (len >= sigs[i].len && strncasecmp((const char *)p,
		    sigs[i].magic, sigs[i].len) == 0)
			return (sigs[i].type);
	}
	for (i = 0; i < len; i++) {
		if (p[i] <= 0x08 || p[i] == 0x0b || (p[i] >= 0x0e &&
		    p[i] <= 0x1a) || (p[i] >= 0x1c && p[i] <= 0x1f))
			return ("application/octet-stream");
	}
	return ("text/plain; charset=utf-8");
}

/* mime.FormatMediaType(type, {"filename": name}). */
void
wire_disposition(struct buf *b, const char *type, const char *name)
{
	const unsigned char	*p;
	int			 token = *name != '\0', encode = 0;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if ((*p < ' ' || *p > '~') && *p != '\t')
			encode = 1;
		if (!wire_tokenchar(*p))
			token = 0;
	}
	(void)buf_printf(b, "%s; filename", type);
	if (encode) {
		(void)buf_addstr(b, "*=utf-8''");
		for (p = (const unsigned char *)name; *p != '\0'; p++) {
			if (wire_tokenchar(*p) && *p != '*' && *p != '\'' &&
			    *p != '%')
				(void)buf_addc(b, (char)*p);
			else
				(void)buf_printf(b, "%%%02X", *p);
		}
		return;
	}
	if (token) {
		(void)buf_printf(b, "=%s", name);
		return;
	}
	(void)buf_addstr(b, "=\"");
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			(void)buf_addc(b, '\\');
		(void)buf_addc(b, (char)*p);
	}
	(void)buf_addc(b, '"');
}

/*
 * The user name of an "Authorization: Basic" value, as Go's
 * Request.BasicAuth reads it.  Returns 1 and *user, or 0 if there is none
 * or it is malformed.
 */
int
wire_basic_user(const char *hdr, char **user)
{
	struct buf	 b;
	const char	*colon;

	if (hdr == NULL || strncasecmp(hdr, "Basic ", 6) != 0)
		return (0);
	buf_init(&b, 4096);
	if (base64_decode(&b, hdr + 6, strlen(hdr + 6)) == -1 ||
	    (colon = memchr(buf_str(&b), ':', buf_len(&b))) == NULL) {
		buf_free(&b);
		return (0);
	}
	*user = xstrndup(buf_str(&b), (size_t)(colon - buf_str(&b)));
	buf_free(&b);
	return (1);
}

/* An HTTP date (RFC 7231 IMF-fixdate). */
void
wire_http_date(char *out, size_t len, time_t t)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
