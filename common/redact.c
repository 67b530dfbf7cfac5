/* Redaction of secrets from everything a process emits. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"
#include "xmalloc.h"

/* Prefixes of well-known API keys; the key runs to the next separator. */
static const char *redact_prefixes[] = {
	"sk-ant-", "e2b_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
	"github_pat_", "glpat-", "xoxb-", "xoxp-",
};
#define REDACT_NPREFIXES \
	(sizeof(redact_prefixes) / sizeof(redact_prefixes[0]))

static char	*redact_secrets[REDACT_MAX];
static size_t	 redact_lens[REDACT_MAX];
static size_t	 redact_count;
/*
 * The pairs of bytes a match can start with, one bit each: almost every
 * position of a text is dismissed with one lookup, whatever the letters.
 */
static uint8_t	 redact_pairs[65536 / 8];
static int	 redact_ready;

#define PAIR(s)		((unsigned)(unsigned char)(s)[0] << 8 | \
			    (unsigned char)(s)[1])
#define PAIR_SET(p)	(redact_pairs[(p) >> 3] |= (uint8_t)(1 << ((p) & 7)))
#define PAIR_ISSET(p)	(redact_pairs[(p) >> 3] & (1 << ((p) & 7)))

static size_t	match_secret(const char *, size_t);
static size_t	match_prefix(const char *, size_t, size_t);
static size_t	match_userinfo(const char *, size_t, size_t, size_t *);
static int	is_keychar(int);
static size_t	redact_next(const char *, size_t, size_t, size_t *);
static void	redact_index(void);

/* Register a secret; -1 with EINVAL if too short, ENOSPC if full. */
int
redact_add(const char *secret)
{
	size_t	i, len;

	len = strlen(secret);
	if (len < REDACT_MINLEN) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < redact_count; i++)
		if (strcmp(redact_secrets[i], secret) == 0)
			return (0);
	if (redact_count == REDACT_MAX) {
		errno = ENOSPC;
		return (-1);
	}
	redact_secrets[redact_count] = xstrdup(secret);
	redact_lens[redact_count++] = len;
	redact_index();
	return (0);
}

/* Rebuild the table of byte pairs at which a match may start. */
static void
redact_index(void)
{
	size_t	i;

	memset(redact_pairs, 0, sizeof(redact_pairs));
	for (i = 0; i < REDACT_NPREFIXES; i++)
		PAIR_SET(PAIR(redact_prefixes[i]));
	for (i = 0; i < redact_count; i++)
		PAIR_SET(PAIR(redact_secrets[i]));
	PAIR_SET(PAIR("://"));
	redact_ready = 1;
}

/* Forget every registered secret, wiping them. */
void
redact_clear(void)
{
	size_t	i;

	for (i = 0; i < redact_count; i++)
		freezero_str(redact_secrets[i]);
	redact_count = 0;
	redact_index();
}

static int
is_keychar(int c)
{
	return (isalnum(c) || c == '-' || c == '_');
}

/* Length of a registered secret starting at s, or 0. */
static size_t
match_secret(const char *s, size_t left)
{
	size_t	i;

	for (i = 0; i < redact_count; i++)
		if (redact_lens[i] <= left &&
		    memcmp(s, redact_secrets[i], redact_lens[i]) == 0)
			return (redact_lens[i]);
	return (0);
}

/* Length of a key-shaped token starting at s (at a word start), or 0. */
static size_t
match_prefix(const char *s, size_t left, size_t off)
{
	size_t	i, plen, n;

	if (off > 0 && is_keychar((unsigned char)s[-1]))
		return (0);
	for (i = 0; i < REDACT_NPREFIXES; i++) {
		plen = strlen(redact_prefixes[i]);
		if (plen > left || memcmp(s, redact_prefixes[i], plen) != 0)
			continue;
		for (n = plen; n < left && is_keychar((unsigned char)s[n]); n++)
			;
		if (n - plen >= 8)
			return (n);
	}
	return (0);
}

/*
 * At "://", find "user:password@" or "token@" that follows, and return
 * the length of the userinfo (the part to hide); *skip is set to 3.
 */
static size_t
match_userinfo(const char *s, size_t left, size_t off, size_t *skip)
{
	size_t	n;

	if (left < 4 || memcmp(s, "://", 3) != 0)
		return (0);
	for (n = 3; n < left; n++) {
		if (s[n] == '@')
			break;
		if (s[n] == '/' || s[n] == '?' || s[n] == '#' ||
		    isspace((unsigned char)s[n]) || s[n] == '"')
			return (0);
	}
	if (n == left || n == 3)
		return (0);
	/* "git@" is a user name; "user:secret@" or a long token is not. */
	if (memchr(s + 3, ':', n - 3) == NULL && n - 3 < 20)
		return (0);
	*skip = 3;
	return (n - 3);
}

/*
 * Find the next thing to hide in s[0..len) at or after from: returns its
 * length (0 if there is none) and sets *at to where the hidden part
 * begins.  Most positions are dismissed by one lookup of their first two
 * bytes; only candidates are looked at closely.
 */
static size_t
redact_next(const char *s, size_t len, size_t from, size_t *at)
{
	size_t	i, n, skip;

	if (!redact_ready)
		redact_index();
	for (i = from; i + 1 < len; i++) {
		if (!PAIR_ISSET(PAIR(s + i)))
			continue;
		skip = 0;
		if ((n = match_secret(s + i, len - i)) != 0 ||
		    (n = match_prefix(s + i, len - i, i)) != 0 ||
		    (n = match_userinfo(s + i, len - i, i, &skip)) != 0) {
			*at = i + skip;
			return (n);
		}
	}
	return (0);
}

/* True if s holds anything that redaction would replace. */
int
redact_needed(const char *s, size_t len)
{
	size_t	at;

	return (redact_next(s, len, 0, &at) != 0);
}

/*
 * Return a copy of len bytes with every secret replaced by REDACT_MARK.
 * The copy is NUL-terminated; *outlen gets its length.
 */
char *
redact_mem(const char *s, size_t len, size_t *outlen)
{
	struct buf	b;
	size_t		n, at, start = 0;

	buf_init(&b, (size_t)-1 / 2);
	while ((n = redact_next(s, len, start, &at)) != 0) {
		(void)buf_add(&b, s + start, at - start);
		(void)buf_addstr(&b, REDACT_MARK);
		start = at + n;
	}
	(void)buf_add(&b, s + start, len - start);
	return (buf_detach(&b, outlen));
}

/* Redact a NUL-terminated string; the caller frees the copy. */
char *
redact(const char *s)
{
	return (redact_mem(s, strlen(s), NULL));
}
