/*
 * The Connect protocol's envelope: one flags byte, a 4-byte big-endian
 * payload length, then the payload.  Server streams (process.Process/Start)
 * are a sequence of envelopes ending with one whose flags hold
 * ENV_FLAG_END and whose payload is the end-of-stream JSON.
 *
 * The decoder is incremental: bytes may arrive split anywhere, and each
 * complete frame is handed to a callback.  A frame that lies whole inside
 * one fed chunk is passed without copying.
 */
#ifndef SKILLBOX_ENVELOPE_H
#define SKILLBOX_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ENV_HDRLEN		5
#define ENV_FLAG_COMPRESSED	0x01
#define ENV_FLAG_END		0x02
#define ENV_MAX_DEFAULT		(4U * 1024 * 1024)

/* Called once per complete frame; return -1 to stop decoding. */
typedef int	(*env_frame_cb)(void *, uint8_t, const char *, size_t);

enum env_state {
	ENV_HEADER,		/* collecting the 5-byte header */
	ENV_PAYLOAD,		/* collecting the payload */
	ENV_DONE,		/* the end-of-stream frame was seen */
	ENV_ERROR,		/* a bad frame was seen; nothing more is read */
};

struct env_decoder {
	enum env_state	 ed_state;
	uint8_t		 ed_hdr[ENV_HDRLEN];
	size_t		 ed_hdrlen;	/* header bytes collected */
	uint8_t		 ed_flags;	/* flags of the frame being read */
	uint32_t	 ed_need;	/* payload length of that frame */
	struct buf	 ed_payload;	/* partial payload across chunks */
	size_t		 ed_max;	/* largest payload accepted */
	uint64_t	 ed_frames;	/* frames delivered */
};

int	env_header(uint8_t [ENV_HDRLEN], uint8_t, size_t);
void	env_encode(struct buf *, uint8_t, const void *, size_t);
int	env_encode_checked(struct buf *, uint8_t, const void *, size_t);
void	env_decoder_init(struct env_decoder *, size_t);
void	env_decoder_free(struct env_decoder *);
int	env_decoder_feed(struct env_decoder *, const void *, size_t,
	    env_frame_cb, void *, char **);
int	env_decoder_finish(struct env_decoder *, char **);

#endif /* SKILLBOX_ENVELOPE_H */
