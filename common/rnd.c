/* Unpredictable bytes and hex strings from getrandom(2). */
#include "config.h"

#include <errno.h>
#include <sys/random.h>

#include "log.h"
#include "rnd.h"

/* Fill buf with len random bytes. */
void
rnd_bytes(void *buf, size_t len)
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
