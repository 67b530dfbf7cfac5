/* Standard base64 (RFC 4648, with padding), as protobuf's JSON uses. */
#ifndef SKILLBOX_BASE64_H
#define SKILLBOX_BASE64_H

#include <stddef.h>

#include "buf.h"

size_t	base64_encoded_len(size_t);
int	base64_encode(struct buf *, const void *, size_t);
int	base64_decode(struct buf *, const char *, size_t);

#endif /* SKILLBOX_BASE64_H */
