/*
 * SHA-256 (FIPS 180-4), incremental: init, update any number of times with
 * chunks of any size, then final.  Used for the Skills pack digest.
 */
#ifndef SKILLBOX_SHA256_H
#define SKILLBOX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN	32
#define SHA256_BLOCK_LEN	64
#define SHA256_HEX_LEN		(SHA256_DIGEST_LEN * 2)

struct sha256 {
	uint32_t	sh_state[8];
	uint64_t	sh_bits;		/* message length so far */
	uint8_t		sh_block[SHA256_BLOCK_LEN];
	size_t		sh_fill;		/* bytes held in sh_block */
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, uint8_t [SHA256_DIGEST_LEN]);
void	sha256_hex(const uint8_t [SHA256_DIGEST_LEN],
	    char [SHA256_HEX_LEN + 1]);
void	sha256_digest_hex(const void *, size_t, char [SHA256_HEX_LEN + 1]);

#endif /* SKILLBOX_SHA256_H */
