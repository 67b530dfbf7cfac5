/* Unpredictable bytes and hex strings from getrandom(2). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "rnd.h"

#define RND_POOL	4096

static void	rnd_kernel(void *, size_t);

/* Fill buf with len bytes straight from the kernel. */
static void
rnd_kernel(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Fill buf with len random bytes.  Small requests are served from a pool
 * filled by one getrandom call, so that a response's envelope tag costs
 * no system call; bytes are wiped from the pool once handed out.  (A
 * forked child must exec before using it, as skillbox's children do.)
 */
void
rnd_bytes(void *buf, size_t len)
{
	static unsigned char	pool[RND_POOL];
	static size_t		left;
	unsigned char		*from;

	if (len > RND_POOL / 4) {
		rnd_kernel(buf, len);
		return;
	}
	if (left < len) {
		rnd_kernel(pool, sizeof(pool));
		left = sizeof(pool);
	}
	from = pool + sizeof(pool) - left;
	memcpy(buf, from, len);
	memset(from, 0, len);
	left -= len;
}

/* Write n random lowercase hex digits and a NUL into out (n + 1 bytes). */
void
rnd_hex(char *out, size_t n)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 raw[64];
	size_t			 i, chunk;

	while (n > 0) {
		chunk = n > 2 * sizeof(raw) ? 2 * sizeof(raw) : n;
		rnd_bytes(raw, (chunk + 1) / 2);
		for (i = 0; i < chunk; i++)
			*out++ = digits[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
		n -= chunk;
	}
	*out = '\0';
}
