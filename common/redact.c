/* Redaction of secrets from everything a process emits. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
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
static unsigned char redact_first[256];	/* bytes a match can start with */
static int	 redact_ready;

static size_t	match_secret(const char *, size_t);
static size_t	match_prefix(const char *, size_t, size_t);
static size_t	match_userinfo(const char *, size_t, size_t, size_t *);
static int	is_keychar(int);
static size_t	redact_match(const char *, size_t, size_t, size_t *);
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

/* Rebuild the table of bytes at which a match may start. */
static void
redact_index(void)
{
	size_t	i;

	memset(redact_first, 0, sizeof(redact_first));
	for (i = 0; i < REDACT_NPREFIXES; i++)
		redact_first[(unsigned char)redact_prefixes[i][0]] = 1;
	for (i = 0; i < redact_count; i++)
		redact_first[(unsigned char)redact_secrets[i][0]] = 1;
	redact_first[':'] = 1;
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
 * The length of what must be hidden at s (0 if nothing); *skip gets the
 * number of bytes before it that stay visible.
 */
static size_t
redact_match(const char *s, size_t left, size_t off, size_t *skip)
{
	size_t	n;

	*skip = 0;
	if (!redact_first[(unsigned char)*s])
		return (0);
	if ((n = match_secret(s, left)) != 0 ||
	    (n = match_prefix(s, left, off)) != 0)
		return (n);
	return (match_userinfo(s, left, off, skip));
}

/* True if s holds anything that redaction would replace. */
int
redact_needed(const char *s, size_t len)
{
	size_t	i, skip;

	if (!redact_ready)
		redact_index();
	for (i = 0; i < len; i++)
		if (redact_match(s + i, len - i, i, &skip) != 0)
			return (1);
	return (0);
}

/*
 * Return a copy of len bytes with every secret replaced by REDACT_MARK.
 * The copy is NUL-terminated; *outlen gets its length.
 */
char *
redact_mem(const char *s, size_t len, size_t *outlen)
{
	struct buf	b;
	size_t		i, n, skip, start = 0;

	if (!redact_ready)
		redact_index();
	buf_init(&b, (size_t)-1 / 2);
	for (i = 0; i < len; i++) {
		if ((n = redact_match(s + i, len - i, i, &skip)) == 0)
			continue;
		(void)buf_add(&b, s + start, i - start + skip);
		(void)buf_addstr(&b, REDACT_MARK);
		i += skip + n;
		start = i;
		i--;
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
