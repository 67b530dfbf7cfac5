/* UTF-8 validation and clipping. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "utf8.h"
#include "xmalloc.h"

static size_t	utf8_run(const char *, size_t, size_t);

/*
 * The length of the well-formed UTF-8 sequence at s (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0 if the
 * bytes there are not one.  NUL counts as invalid.
 */
size_t
utf8_seqlen(const char *s, size_t left)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned char		 lo = 0x80, hi = 0xbf;
	size_t			 n, i;

	if (left == 0 || p[0] == 0)
		return (0);
	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (left < n || p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (n);
}

/* True if all len bytes are well-formed UTF-8 without NULs. */
int
utf8_valid(const char *s, size_t len)
{
	size_t	i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_seqlen(s + i, len - i)) == 0)
			return (0);
	return (1);
}

/* The length of the longest valid prefix of s that fits in room bytes. */
static size_t
utf8_run(const char *s, size_t len, size_t room)
{
	size_t	i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_seqlen(s + i, len - i)) == 0 || n > room - i)
			break;
	return (i);
}

/*
 * Copy len bytes as valid UTF-8, replacing each bad byte with U+FFFD.  At
 * most max bytes of text are kept, cut between characters.  If anything
 * is dropped, here or by the caller beforehand (dropped bytes), a marker
 * saying how many input bytes were lost follows.  The result is
 * NUL-terminated; *outlen (if not NULL) gets its length.
 */
char *
utf8_clip(const char *s, size_t len, size_t max, size_t dropped,
    size_t *outlen)
{
	struct buf	b;
	size_t		i, n, room;

	buf_init(&b, (size_t)-1 / 2);
	for (i = 0; i < len; i += n) {
		room = max - buf_len(&b);
		n = utf8_run(s + i, len - i, room);
		(void)buf_add(&b, s + i, n);
		if (i + n == len)
			break;
		if (utf8_seqlen(s + i + n, len - i - n) != 0 || room - n < 3) {
			dropped += len - i - n;
			break;
		}
		(void)buf_addstr(&b, UTF8_REPLACEMENT);
		n++;
	}
	if (dropped > 0)
		(void)buf_printf(&b, UTF8_CLIP_MARK, dropped);
	return (buf_detach(&b, outlen));
}
