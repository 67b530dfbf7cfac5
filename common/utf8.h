/*
 * UTF-8 hygiene for text that leaves a process inside JSON: agent output,
 * tool results, summaries.  utf8_clip() returns valid UTF-8 (invalid bytes
 * and NULs become U+FFFD), cut at a character boundary to a byte budget,
 * with a marker saying how much was dropped.
 */
#ifndef SKILLBOX_UTF8_H
#define SKILLBOX_UTF8_H

#include <stddef.h>

#define UTF8_REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */
#define UTF8_CLIP_MARK		"\xe2\x80\xa6[truncated %zu bytes]"

size_t	 utf8_seqlen(const char *, size_t);
int	 utf8_valid(const char *, size_t);
char	*utf8_clip(const char *, size_t, size_t, size_t, size_t *);

#endif /* SKILLBOX_UTF8_H */
