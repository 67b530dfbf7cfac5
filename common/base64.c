/* Standard base64 with padding. */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decoding table: 0-63 for digits, 64 for '=', 255 for anything else. */
static uint8_t	b64_table[256];
static int	b64_ready;

static void	b64_init(void);
static size_t	base64_decode_groups(struct buf *, const char *, size_t,
		    int *);

static void
b64_init(void)
{
	int	i;

	for (i = 0; i < 256; i++)
		b64_table[i] = 255;
	for (i = 0; i < 64; i++)
		b64_table[(uint8_t)b64_alphabet[i]] = (uint8_t)i;
	b64_table['='] = 64;
	b64_ready = 1;
}

size_t
base64_encoded_len(size_t len)
{
	return ((len + 2) / 3 * 4);
}

/* Append the encoding of len bytes to out. */
int
base64_encode(struct buf *out, const void *data, size_t len)
{
	const uint8_t	*p = data;
	char		 q[4];
	uint32_t	 v;
	size_t		 i;

	if (buf_room(out) < base64_encoded_len(len)) {
		errno = EMSGSIZE;
		return (-1);
	}
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64_alphabet[v >> 18];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = b64_alphabet[(v >> 6) & 63];
		q[3] = b64_alphabet[v & 63];
		(void)buf_add(out, q, 4);
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		q[0] = b64_alphabet[v >> 18];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = '=';
		(void)buf_add(out, q, 4);
	}
	return (0);
}

/*
 * Decode whole groups of four digits (no padding) from the start of s, in
 * chunks: the common case, a long run of data.  Returns how many input
 * bytes were consumed; the caller decodes the rest one digit at a time.
 */
static size_t
base64_decode_groups(struct buf *out, const char *s, size_t len, int *err)
{
	uint8_t		 chunk[3 * 512], a, b, c, d;
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i = 0, n = 0;
	uint32_t	 v;

	for (; i + 4 <= len; i += 4) {
		a = b64_table[p[i]];
		b = b64_table[p[i + 1]];
		c = b64_table[p[i + 2]];
		d = b64_table[p[i + 3]];
		if ((a | b | c | d) & 0xc0)	/* '=' (64) or not base64 */
			break;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
		chunk[n++] = (uint8_t)(v >> 16);
		chunk[n++] = (uint8_t)(v >> 8);
		chunk[n++] = (uint8_t)v;
		if (n == sizeof(chunk)) {
			if (buf_add(out, chunk, n) == -1) {
				*err = 1;
				return (i + 4);
			}
			n = 0;
		}
	}
	if (n > 0 && buf_add(out, chunk, n) == -1)
		*err = 1;
	return (i);
}

/*
 * Append the decoding of a base64 text to out.  Padding is optional at the
 * end; anything else outside the alphabet is an error (EINVAL).
 */
int
base64_decode(struct buf *out, const char *s, size_t len)
{
	uint8_t		 c, q[3];
	uint32_t	 v = 0;
	size_t		 i, n = 0, pad = 0;
	int		 err = 0;

	if (!b64_ready)
		b64_init();
	i = base64_decode_groups(out, s, len, &err);
	if (err)
		return (-1);
	for (; i < len; i++) {
		c = b64_table[(uint8_t)s[i]];
		if (c == 255 || (pad > 0 && c != 64))
			goto bad;
		if (c == 64) {
			if (n < 2 || ++pad > 2)
				goto bad;
			continue;
		}
		v = v << 6 | c;
		if (++n == 4) {
			q[0] = (uint8_t)(v >> 16);
			q[1] = (uint8_t)(v >> 8);
			q[2] = (uint8_t)v;
			if (buf_add(out, q, 3) == -1)
				return (-1);
			n = 0;
			v = 0;
		}
	}
	if (n == 1 || (pad > 0 && n + pad != 4))
		goto bad;
	if (n == 2) {
		q[0] = (uint8_t)(v >> 4);
		return (buf_add(out, q, 1));
	}
	if (n == 3) {
		q[0] = (uint8_t)(v >> 10);
		q[1] = (uint8_t)(v >> 2);
		return (buf_add(out, q, 2));
	}
	return (0);
bad:
	errno = EINVAL;
	return (-1);
}
