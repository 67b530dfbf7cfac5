/* Helpers over json-c: parsing with a bound, typed getters with causes. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xmalloc.h"

#define JSON_TOKENER_KEEP	65536	/* longest text the tokener stays after */

static int	json_lookup(struct json_object *, const char *, const char *,
		    int, json_type, struct json_object **, char **);
static int	json_fail(char **, const char *, const char *, const char *,
		    ...) __attribute__((__format__(printf, 4, 5)));

/*
 * The tokener json_parse uses again: making one costs more than parsing
 * a small message.  One that parsed a long text is let go, so that its
 * buffer does not stay at the size of the longest string ever seen.
 */
static struct json_tokener	*json_tok;

static struct json_tokener *
json_tokener_take(void)
{
	if (json_tok == NULL) {
		if ((json_tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
			return (NULL);
		json_tokener_set_flags(json_tok, JSON_TOKENER_STRICT |
		    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	} else
		json_tokener_reset(json_tok);
	return (json_tok);
}

static void
json_tokener_give(size_t len)
{
	if (len > JSON_TOKENER_KEEP) {
		json_tokener_free(json_tok);
		json_tok = NULL;
	}
}

/*
 * Parse exactly len bytes as one JSON value.  Trailing bytes other than
 * whitespace are an error.  Returns NULL with *cause set on failure.
 */
struct json_object *
json_parse(const char *data, size_t len, char **cause)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 off, end;

	if (len > INT32_MAX) {
		xasprintf(cause, "JSON text too large");
		return (NULL);
	}
	if ((tok = json_tokener_take()) == NULL) {
		xasprintf(cause, "out of memory");
		return (NULL);
	}
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A number at the very end needs a delimiter to finish. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (jerr == json_tokener_continue || (obj == NULL &&
	    jerr == json_tokener_success)) {
		xasprintf(cause, "unexpected end of JSON text");
		goto fail;
	}
	if (jerr != json_tokener_success) {
		xasprintf(cause, "%s at offset %zu",
		    json_tokener_error_desc(jerr),
		    json_tokener_get_parse_end(tok));
		goto fail;
	}
	for (off = end; off < len; off++) {
		if (strchr(" \t\r\n", data[off]) == NULL) {
			xasprintf(cause, "trailing data at offset %zu", off);
			goto fail;
		}
	}
	json_tokener_give(len);
	return (obj);
fail:
	json_object_put(obj);
	json_tokener_give(len);
	return (NULL);
}

/* A human name for a value's type, for error messages. */
const char *
json_type_label(const struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return ("null");
	case json_type_boolean:
		return ("a boolean");
	case json_type_double:
		return ("a number");
	case json_type_int:
		return ("an integer");
	case json_type_object:
		return ("an object");
	case json_type_array:
		return ("an array");
	case json_type_string:
		return ("a string");
	}
	return ("an unknown type");
}

/* Serialise compactly, without escaping slashes; owned by the object. */
const char *
json_str(struct json_object *o)
{
	return (json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int
json_fail(char **cause, const char *where, const char *key, const char *fmt,
    ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (where != NULL && *where != '\0')
		xasprintf(cause, "%s.%s: %s", where, key, msg);
	else
		xasprintf(cause, "%s: %s", key, msg);
	free(msg);
	return (-1);
}

/* Find key in o and check its type; null counts as absent. */
static int
json_lookup(struct json_object *o, const char *where, const char *key,
    int flags, json_type want, struct json_object **val, char **cause)
{
	struct json_object	*v;
	static const char	*names[] = {
		[json_type_null] = "null", [json_type_boolean] = "a boolean",
		[json_type_double] = "a number", [json_type_int] = "an integer",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return (json_fail(cause, where, key, "parent is not an object"));
	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		if (flags & J_REQUIRED)
			return (json_fail(cause, where, key, "is required"));
		return (0);
	}
	if (!json_object_is_type(v, want))
		return (json_fail(cause, where, key, "expected %s, got %s",
		    names[want], json_type_label(v)));
	*val = v;
	return (1);
}

/* Get a string of at most maxlen bytes without NUL bytes inside. */
int
json_get_string(struct json_object *o, const char *where, const char *key,
    int flags, size_t maxlen, const char **val, char **cause)
{
	struct json_object	*v;
	const char		*s;
	size_t			 len;
	int			 r;

	if ((r = json_lookup(o, where, key, flags, json_type_string, &v,
	    cause)) != 1)
		return (r);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if ((flags & J_NONEMPTY) && len == 0)
		return (json_fail(cause, where, key, "must not be empty"));
	if (maxlen != 0 && len > maxlen)
		return (json_fail(cause, where, key,
		    "too long (%zu bytes, at most %zu)", len, maxlen));
	if (strlen(s) != len)
		return (json_fail(cause, where, key, "contains a NUL byte"));
	*val = s;
	return (1);
}

/* Get an integer within [min, max].  Numbers with fractions are refused. */
int
json_get_int(struct json_object *o, const char *where, const char *key,
    int flags, int64_t min, int64_t max, int64_t *val, char **cause)
{
	struct json_object	*v;
	int64_t			 n;
	int			 r;

	if ((r = json_lookup(o, where, key, flags, json_type_int, &v,
	    cause)) != 1)
		return (r);
	n = json_object_get_int64(v);
	if (n < min || n > max ||
	    (n == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
		return (json_fail(cause, where, key,
		    "out of range (%lld to %lld)", (long long)min,
		    (long long)max));
	*val = n;
	return (1);
}

int
json_get_bool(struct json_object *o, const char *where, const char *key,
    int flags, int *val, char **cause)
{
	struct json_object	*v;
	int			 r;

	if ((r = json_lookup(o, where, key, flags, json_type_boolean, &v,
	    cause)) != 1)
		return (r);
	*val = json_object_get_boolean(v);
	return (1);
}

int
json_get_object(struct json_object *o, const char *where, const char *key,
    int flags, struct json_object **val, char **cause)
{
	return (json_lookup(o, where, key, flags, json_type_object, val,
	    cause));
}

/* Get an array of at most maxlen elements (0: no limit). */
int
json_get_array(struct json_object *o, const char *where, const char *key,
    int flags, size_t maxlen, struct json_object **val, char **cause)
{
	struct json_object	*v;
	int			 r;

	if ((r = json_lookup(o, where, key, flags, json_type_array, &v,
	    cause)) != 1)
		return (r);
	if (maxlen != 0 && json_object_array_length(v) > maxlen)
		return (json_fail(cause, where, key,
		    "too many elements (at most %zu)", maxlen));
	*val = v;
	return (1);
}

/* The string at key, or NULL if absent or not a string. */
const char *
json_peek_string(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* The integer at key, or def if absent or not an integer. */
int64_t
json_peek_int(struct json_object *o, const char *key, int64_t def)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return (def);
	return (json_object_get_int64(v));
}

void
json_add_string(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

void
json_add_stringn(struct json_object *o, const char *key, const char *s,
    size_t len)
{
	json_object_object_add(o, key, json_object_new_string_len(s,
	    (int)len));
}

void
json_add_int(struct json_object *o, const char *key, int64_t n)
{
	json_object_object_add(o, key, json_object_new_int64(n));
}

void
json_add_bool(struct json_object *o, const char *key, int b)
{
	json_object_object_add(o, key, json_object_new_boolean(b));
}

/*
 * Append len bytes of s to b as the inside of a JSON string: quotes,
 * backslashes and control characters escaped, all else as is.
 */
int
json_escape(struct buf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, start = 0;
	unsigned char		 c;
	char			 esc[7];
	const char		*rep;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (buf_add(b, s + start, i - start) == -1)
			return (-1);
		switch (c) {
		case '"':
			rep = "\\\"";
			break;
		case '\\':
			rep = "\\\\";
			break;
		case '\n':
			rep = "\\n";
			break;
		case '\r':
			rep = "\\r";
			break;
		case '\t':
			rep = "\\t";
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc[6] = '\0';
			rep = esc;
			break;
		}
		if (buf_addstr(b, rep) == -1)
			return (-1);
		start = i + 1;
	}
	return (buf_add(b, s + start, len - start));
}
