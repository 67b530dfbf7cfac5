/* The Connect envelope codec. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "xmalloc.h"

static int	env_header_done(struct env_decoder *, char **);
static int	env_deliver(struct env_decoder *, const char *, size_t,
		    env_frame_cb, void *, char **);

/*
 * Fill in the 5-byte header of a frame whose payload is len bytes, for
 * callers that write the payload elsewhere.  -1 with EMSGSIZE if len does
 * not fit the 32-bit length.
 */
int
env_header(uint8_t hdr[ENV_HDRLEN], uint8_t flags, size_t len)
{
	if (len > UINT32_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	hdr[0] = flags;
	hdr[1] = (uint8_t)(len >> 24);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
	return (0);
}

/* Append one frame to out; the payload must fit the 32-bit length. */
int
env_encode_checked(struct buf *out, uint8_t flags, const void *payload,
    size_t len)
{
	uint8_t	hdr[ENV_HDRLEN];

	if (env_header(hdr, flags, len) == -1 ||
	    buf_add(out, hdr, sizeof(hdr)) == -1 ||
	    buf_add(out, payload, len) == -1)
		return (-1);
	return (0);
}

/* Append one frame to a buffer the caller sized; failure is a bug. */
void
env_encode(struct buf *out, uint8_t flags, const void *payload, size_t len)
{
	if (env_encode_checked(out, flags, payload, len) == -1)
		fatal("%s", __func__);
}

/* Start a decoder that refuses payloads longer than max bytes. */
void
env_decoder_init(struct env_decoder *ed, size_t max)
{
	memset(ed, 0, sizeof(*ed));
	ed->ed_state = ENV_HEADER;
	ed->ed_max = max;
	buf_init(&ed->ed_payload, max);
}

void
env_decoder_free(struct env_decoder *ed)
{
	buf_free(&ed->ed_payload);
}

/* Check a complete header and note the frame it announces. */
static int
env_header_done(struct env_decoder *ed, char **cause)
{
	const uint8_t	*h = ed->ed_hdr;

	ed->ed_flags = h[0];
	ed->ed_need = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
	    (uint32_t)h[3] << 8 | (uint32_t)h[4];
	if (ed->ed_flags & ENV_FLAG_COMPRESSED) {
		xasprintf(cause, "compressed envelope was not negotiated");
		return (-1);
	}
	if (ed->ed_flags & ~ENV_FLAG_END) {
		xasprintf(cause, "unknown envelope flags 0x%02x", ed->ed_flags);
		return (-1);
	}
	if (ed->ed_need > ed->ed_max) {
		xasprintf(cause, "envelope of %u bytes exceeds the limit of %zu",
		    ed->ed_need, ed->ed_max);
		return (-1);
	}
	ed->ed_hdrlen = 0;
	ed->ed_state = ENV_PAYLOAD;
	return (0);
}

/* Hand a finished frame to the callback and expect the next header. */
static int
env_deliver(struct env_decoder *ed, const char *p, size_t len,
    env_frame_cb cb, void *arg, char **cause)
{
	ed->ed_frames++;
	ed->ed_state = (ed->ed_flags & ENV_FLAG_END) ? ENV_DONE : ENV_HEADER;
	if (cb(arg, ed->ed_flags, p, len) == -1) {
		if (*cause == NULL)
			xasprintf(cause, "frame rejected");
		ed->ed_state = ENV_ERROR;
		return (-1);
	}
	return (0);
}

/*
 * Feed bytes to the decoder.  Returns 0 when all were consumed, -1 with
 * *cause set on a bad frame, on data after the end-of-stream frame, or
 * when the callback returned -1.
 */
int
env_decoder_feed(struct env_decoder *ed, const void *data, size_t len,
    env_frame_cb cb, void *arg, char **cause)
{
	const char	*p = data;
	size_t		 n;

	*cause = NULL;
	while (len > 0) {
		switch (ed->ed_state) {
		case ENV_HEADER:
			n = ENV_HDRLEN - ed->ed_hdrlen;
			if (n > len)
				n = len;
			memcpy(ed->ed_hdr + ed->ed_hdrlen, p, n);
			ed->ed_hdrlen += n;
			p += n;
			len -= n;
			if (ed->ed_hdrlen == ENV_HDRLEN &&
			    env_header_done(ed, cause) == -1)
				goto fail;
			if (ed->ed_state == ENV_PAYLOAD && ed->ed_need == 0 &&
			    env_deliver(ed, "", 0, cb, arg, cause) == -1)
				return (-1);
			break;
		case ENV_PAYLOAD:
			n = ed->ed_need - buf_len(&ed->ed_payload);
			if (buf_len(&ed->ed_payload) == 0 && len >= n) {
				/* The whole payload is here: no copy. */
				if (env_deliver(ed, p, n, cb, arg, cause) == -1)
					return (-1);
			} else {
				if (n > len)
					n = len;
				if (buf_add(&ed->ed_payload, p, n) == -1)
					fatalx("%s: payload past its cap",
					    __func__);
				if (buf_len(&ed->ed_payload) == ed->ed_need) {
					if (env_deliver(ed,
					    buf_str(&ed->ed_payload),
					    ed->ed_need, cb, arg, cause) == -1)
						return (-1);
					buf_reset(&ed->ed_payload);
				}
			}
			p += n;
			len -= n;
			break;
		case ENV_DONE:
			xasprintf(cause, "data after the end-of-stream envelope");
			goto fail;
		case ENV_ERROR:
			xasprintf(cause, "stream already failed");
			return (-1);
		}
	}
	return (0);
fail:
	ed->ed_state = ENV_ERROR;
	return (-1);
}

/*
 * The stream has ended: it is complete only if the end-of-stream frame
 * was seen and nothing follows a partial frame.
 */
int
env_decoder_finish(struct env_decoder *ed, char **cause)
{
	*cause = NULL;
	switch (ed->ed_state) {
	case ENV_DONE:
		return (0);
	case ENV_HEADER:
		if (ed->ed_hdrlen == 0)
			xasprintf(cause, "missing end-of-stream envelope");
		else
			xasprintf(cause, "truncated envelope header");
		return (-1);
	case ENV_PAYLOAD:
		xasprintf(cause, "truncated envelope (%zu of %u bytes)",
		    buf_len(&ed->ed_payload), ed->ed_need);
		return (-1);
	case ENV_ERROR:
		xasprintf(cause, "stream failed");
		return (-1);
	}
	return (-1);
}
