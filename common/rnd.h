/*
 * Unpredictable bytes from the kernel, for job ids, cursors and the tags
 * of untrusted-content envelopes.  Never blocks after early boot; a
 * failure to get entropy is fatal, since an id must never be guessable.
 */
#ifndef SKILLBOX_RND_H
#define SKILLBOX_RND_H

#include <stddef.h>

void	rnd_bytes(void *, size_t);
void	rnd_hex(char *, size_t);

#endif /* SKILLBOX_RND_H */
