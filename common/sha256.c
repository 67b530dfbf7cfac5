/* SHA-256 as specified in FIPS 180-4, sections 4.1.2, 4.2.2, 5 and 6.2. */
#include "config.h"

#include <string.h>

#include "sha256.h"

#define ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z)	(((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/* The first 32 bits of the fractional parts of the cube roots of primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void	sha256_block(struct sha256 *, const uint8_t *);

/* Start a new digest with the initial hash value of section 5.3.3. */
void
sha256_init(struct sha256 *sh)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(sh->sh_state, iv, sizeof(iv));
	sh->sh_bits = 0;
	sh->sh_fill = 0;
}

/* Process one 64-byte block (section 6.2.2). */
static void
sha256_block(struct sha256 *sh, const uint8_t *p)
{
	uint32_t	w[64], v[8], t1, t2;
	int		i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] << 24 | (uint32_t)p[i * 4 + 1] << 16 |
		    (uint32_t)p[i * 4 + 2] << 8 | (uint32_t)p[i * 4 + 3];
	for (; i < 64; i++)
		w[i] = SSIG1(w[i - 2]) + w[i - 7] + SSIG0(w[i - 15]) +
		    w[i - 16];
	memcpy(v, sh->sh_state, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + BSIG1(v[4]) + CH(v[4], v[5], v[6]) +
		    sha256_k[i] + w[i];
		t2 = BSIG0(v[0]) + MAJ(v[0], v[1], v[2]);
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		sh->sh_state[i] += v[i];
}

/* Add len bytes to the message. */
void
sha256_update(struct sha256 *sh, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	sh->sh_bits += (uint64_t)len * 8;
	if (sh->sh_fill > 0) {
		n = SHA256_BLOCK_LEN - sh->sh_fill;
		if (n > len)
			n = len;
		memcpy(sh->sh_block + sh->sh_fill, p, n);
		sh->sh_fill += n;
		p += n;
		len -= n;
		if (sh->sh_fill < SHA256_BLOCK_LEN)
			return;
		sha256_block(sh, sh->sh_block);
		sh->sh_fill = 0;
	}
	for (; len >= SHA256_BLOCK_LEN; len -= SHA256_BLOCK_LEN) {
		sha256_block(sh, p);
		p += SHA256_BLOCK_LEN;
	}
	memcpy(sh->sh_block, p, len);
	sh->sh_fill = len;
}

/* Pad (section 5.1.1), finish, and write the 32-byte digest. */
void
sha256_final(struct sha256 *sh, uint8_t out[SHA256_DIGEST_LEN])
{
	uint64_t	bits = sh->sh_bits;
	int		i;

	sh->sh_block[sh->sh_fill++] = 0x80;
	if (sh->sh_fill > SHA256_BLOCK_LEN - 8) {
		memset(sh->sh_block + sh->sh_fill, 0,
		    SHA256_BLOCK_LEN - sh->sh_fill);
		sha256_block(sh, sh->sh_block);
		sh->sh_fill = 0;
	}
	memset(sh->sh_block + sh->sh_fill, 0,
	    SHA256_BLOCK_LEN - 8 - sh->sh_fill);
	for (i = 0; i < 8; i++)
		sh->sh_block[SHA256_BLOCK_LEN - 1 - i] =
		    (uint8_t)(bits >> (i * 8));
	sha256_block(sh, sh->sh_block);
	for (i = 0; i < 8; i++) {
		out[i * 4] = (uint8_t)(sh->sh_state[i] >> 24);
		out[i * 4 + 1] = (uint8_t)(sh->sh_state[i] >> 16);
		out[i * 4 + 2] = (uint8_t)(sh->sh_state[i] >> 8);
		out[i * 4 + 3] = (uint8_t)sh->sh_state[i];
	}
	memset(sh, 0, sizeof(*sh));
}

/* Write a digest as 64 lower-case hex digits and a NUL. */
void
sha256_hex(const uint8_t md[SHA256_DIGEST_LEN], char hex[SHA256_HEX_LEN + 1])
{
	static const char	digits[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < SHA256_DIGEST_LEN; i++) {
		hex[i * 2] = digits[md[i] >> 4];
		hex[i * 2 + 1] = digits[md[i] & 0xf];
	}
	hex[SHA256_HEX_LEN] = '\0';
}

/* The hex digest of one buffer, in one call. */
void
sha256_digest_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
	struct sha256	sh;
	uint8_t		md[SHA256_DIGEST_LEN];

	sha256_init(&sh);
	sha256_update(&sh, data, len);
	sha256_final(&sh, md);
	sha256_hex(md, hex);
}
