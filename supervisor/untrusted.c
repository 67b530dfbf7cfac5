/*
 * The untrusted-content envelope.  Text that comes from the agent (and so
 * possibly from the repository or the web) reaches the calling model only
 * inside <untrusted-TAG> ... </untrusted-TAG>, where TAG is random and
 * the same for every piece of one response, so that the model can tell
 * data from instructions and the text cannot close the envelope early:
 * anything inside that looks like such a tag is defused, and truncation
 * happens before wrapping, never through the closing tag.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clean.h"
#include "rnd.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define UNTRUSTED_PREFIX	"untrusted-"

/* A fresh tag for one response. */
void
untrusted_init(struct untrusted *u)
{
	size_t	len = strlen(UNTRUSTED_PREFIX);

	memcpy(u->u_tag, UNTRUSTED_PREFIX, len);
	rnd_hex(u->u_tag + len, sizeof(u->u_tag) - len - 1);
}

/*
 * Append text (len bytes) to out inside the envelope, cleaned first as
 * everything that leaves skillboxd is: redacted, made valid UTF-8 and
 * clipped to max bytes with a marker.  "<untrusted-" and "</untrusted-"
 * inside become "[untrusted-" and "[/untrusted-".
 */
void
untrusted_wrap_buf(const struct untrusted *u, const char *text, size_t len,
    size_t max, struct buf *out)
{
	size_t	 n, i, start = 0, plen = strlen(UNTRUSTED_PREFIX);
	char	*c;

	c = clean_text(text, len, max, 0, &n);
	(void)buf_printf(out, "<%s>\n", u->u_tag);
	for (i = 0; i < n; i++) {
		if (c[i] != '<')
			continue;
		if ((n - i > plen && strncasecmp(c + i + 1, UNTRUSTED_PREFIX,
		    plen) == 0) || (n - i > plen + 1 && c[i + 1] == '/' &&
		    strncasecmp(c + i + 2, UNTRUSTED_PREFIX, plen) == 0)) {
			(void)buf_add(out, c + start, i - start);
			(void)buf_addc(out, '[');
			start = i + 1;
		}
	}
	(void)buf_add(out, c + start, n - start);
	(void)buf_printf(out, "\n</%s>", u->u_tag);
	free(c);
}

/* The wrapped text as a JSON string. */
struct json_object *
untrusted_wrap(const struct untrusted *u, const char *text, size_t len,
    size_t max)
{
	struct json_object	*o;
	struct buf		 b;

	buf_init(&b, (size_t)-1 / 2);
	untrusted_wrap_buf(u, text, len, max, &b);
	o = json_object_new_string_len(buf_str(&b), (int)buf_len(&b));
	buf_free(&b);
	return (o);
}
