/* gzip for envd's file API: upload bodies in, downloads out (zlib). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "e2b-local.h"
#include "xmalloc.h"

#define GZ_CHUNK	(64 * 1024)
#define GZ_WINDOW	(16 + MAX_WBITS)	/* gzip framing */

struct gz {
	z_stream	g_z;
};

/*
 * Decompress a gzip body (several members allowed, as Go reads them) into
 * out, refusing more than max bytes.  -1 with *cause on error.
 */
int
gz_inflate(const char *data, size_t len, size_t max, struct evbuffer *out,
    char **cause)
{
	z_stream	 z;
	unsigned char	*chunk;
	size_t		 total = 0, n;
	int		 r = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, GZ_WINDOW) != Z_OK) {
		xasprintf(cause, "gzip: cannot initialise zlib");
		return (-1);
	}
	chunk = xmalloc(GZ_CHUNK);
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = chunk;
		z.avail_out = GZ_CHUNK;
		r = inflate(&z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			xasprintf(cause, "gzip: %s", total == 0 ?
			    "invalid header" : z.msg != NULL ? z.msg :
			    "invalid data");
			goto fail;
		}
		n = GZ_CHUNK - z.avail_out;
		if ((total += n) > max) {
			xasprintf(cause, "gzip: decompressed body exceeds %zu "
			    "bytes", max);
			goto fail;
		}
		evbuffer_add(out, chunk, n);
		if (r == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			(void)inflateReset(&z);	/* another member */
		} else if (z.avail_out != 0 && z.avail_in == 0) {
			xasprintf(cause, "gzip: unexpected EOF");
			goto fail;
		}
	}
	inflateEnd(&z);
	free(chunk);
	return (0);
fail:
	inflateEnd(&z);
	free(chunk);
	return (-1);
}

/* Start a gzip stream. */
struct gz *
gz_deflate_new(void)
{
	struct gz	*g;

	g = xcalloc(1, sizeof(*g));
	if (deflateInit2(&g->g_z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZ_WINDOW,
	    8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return (NULL);
	}
	return (g);
}

/* Compress len bytes into out; finish ends the gzip stream. */
int
gz_deflate(struct gz *g, const void *data, size_t len, int finish,
    struct evbuffer *out)
{
	unsigned char	chunk[GZ_CHUNK];
	int		r;

	g->g_z.next_in = (unsigned char *)(uintptr_t)data;
	g->g_z.avail_in = (uInt)len;
	do {
		g->g_z.next_out = chunk;
		g->g_z.avail_out = sizeof(chunk);
		r = deflate(&g->g_z, finish ? Z_FINISH : Z_NO_FLUSH);
		if (r == Z_STREAM_ERROR)
			return (-1);
		evbuffer_add(out, chunk, sizeof(chunk) - g->g_z.avail_out);
	} while (g->g_z.avail_out == 0 || (finish && r != Z_STREAM_END));
	return (0);
}

void
gz_deflate_free(struct gz **gp)
{
	if (*gp == NULL)
		return;
	deflateEnd(&(*gp)->g_z);
	free(*gp);
	*gp = NULL;
}
