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

#include <stdint.h>
#include <string.h>
#include <strings.h>

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
 * The length of the longest prefix of s (len bytes) that fits in max
 * bytes and ends on a UTF-8 character boundary.
 */
size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	size_t	n;

	if (len <= max)
		return (len);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (n);
}

/* True if s (len bytes) is well-formed UTF-8 without NUL bytes. */
int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	uint32_t		 cp;

	while (i < len) {
		if (p[i] == 0)
			return (0);
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = (p[i] & 0xe0) == 0xc0 ? 1 : (p[i] & 0xf0) == 0xe0 ? 2 :
		    (p[i] & 0xf8) == 0xf0 ? 3 : 0;
		if (n == 0 || len - i <= n)
			return (0);
		cp = p[i] & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/*
 * Append text (len bytes, cut to at most max) to out inside the
 * envelope.  "<untrusted-" and "</untrusted-" inside become
 * "[untrusted-" and "[/untrusted-".
 */
void
untrusted_wrap_buf(const struct untrusted *u, const char *text, size_t len,
    size_t max, struct buf *out)
{
	size_t	n = utf8_cut(text, len, max), i, start = 0, plen;

	plen = strlen(UNTRUSTED_PREFIX);
	(void)buf_printf(out, "<%s>\n", u->u_tag);
	for (i = 0; i < n; i++) {
		if (text[i] != '<')
			continue;
		if ((n - i > plen && strncasecmp(text + i + 1,
		    UNTRUSTED_PREFIX, plen) == 0) || (n - i > plen + 1 &&
		    text[i + 1] == '/' && strncasecmp(text + i + 2,
		    UNTRUSTED_PREFIX, plen) == 0)) {
			(void)buf_add(out, text + start, i - start);
			(void)buf_addc(out, '[');
			start = i + 1;
		}
	}
	(void)buf_add(out, text + start, n - start);
	if (n < len)
		(void)buf_printf(out, "\n[truncated: %zu of %zu bytes shown]",
		    n, len);
	(void)buf_printf(out, "\n</%s>", u->u_tag);
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
