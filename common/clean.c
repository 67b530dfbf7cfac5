/* Redacted, valid, bounded text. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "redact.h"
#include "utf8.h"

/*
 * Clean len bytes to at most max bytes of text.  dropped counts bytes the
 * caller already cut off, for the marker.  *outlen (if not NULL) gets the
 * length of the NUL-terminated result, which the caller frees.
 */
char *
clean_text(const char *text, size_t len, size_t max, size_t dropped,
    size_t *outlen)
{
	char	*r, *c;
	size_t	 n, rn;

	n = len;
	if (max < CLEAN_NOLIMIT && len > max + CLEAN_SLACK)
		n = max + CLEAN_SLACK;
	r = redact_mem(text, n, &rn);
	c = utf8_clip(r, rn, max, dropped + len - n, outlen);
	free(r);
	return (c);
}

/* A JSON string of the cleaned text. */
struct json_object *
clean_json(const char *text, size_t len, size_t max)
{
	struct json_object	*v;
	char			*c;
	size_t			 n;

	c = clean_text(text, len, max, 0, &n);
	v = json_object_new_string_len(c, (int)n);
	free(c);
	return (v);
}

/* o[key] = the cleaned NUL-terminated text. */
void
clean_add(struct json_object *o, const char *key, const char *text,
    size_t max)
{
	json_object_object_add(o, key, clean_json(text, strlen(text), max));
}
