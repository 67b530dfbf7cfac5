/* A small parser for the YAML front matter of SKILL.md files. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frontmatter.h"
#include "xmalloc.h"

enum fm_style {
	FM_NONE,		/* no value open for continuation */
	FM_PLAIN,		/* plain scalar: lines join with spaces */
	FM_FOLDED,		/* ">": lines join with spaces */
	FM_LITERAL,		/* "|": lines join with newlines */
	FM_STYLE_MAX
};

struct fm {
	const char *const *f_keys;
	char		**f_vals;
	struct buf	  f_cur;	/* the value being collected */
	int		  f_idx;	/* its key's index, or -1 if unwanted */
	enum fm_style	  f_style;
	size_t		  f_line;
	char		**f_cause;
};

static int	fm_line(struct fm *, const char *, size_t);
static int	fm_key(struct fm *, const char *, size_t);
static int	fm_quoted(struct fm *, const char *, size_t);
static void	fm_close(struct fm *);
static int	fm_fail(struct fm *, const char *);
static size_t	fm_trim(const char *, size_t);
static int	fm_is_fence(const char *, size_t);

static int
fm_fail(struct fm *f, const char *what)
{
	xasprintf(f->f_cause, "front matter line %zu: %s", f->f_line, what);
	return (-1);
}

/* Length of s without trailing blanks and CR. */
static size_t
fm_trim(const char *s, size_t len)
{
	while (len > 0 && strchr(" \t\r", s[len - 1]) != NULL)
		len--;
	return (len);
}

static int
fm_is_fence(const char *s, size_t len)
{
	return (fm_trim(s, len) == 3 && memcmp(s, "---", 3) == 0);
}

/* Store the value collected so far under its key, trimmed. */
static void
fm_close(struct fm *f)
{
	const char	*s = buf_str(&f->f_cur);
	size_t		 len = buf_len(&f->f_cur);

	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	if (f->f_idx >= 0)
		f->f_vals[f->f_idx] = xstrndup(s, len);
	buf_reset(&f->f_cur);
	f->f_idx = -1;
	f->f_style = FM_NONE;
}

/* A value in single or double quotes, which must end on its line. */
static int
fm_quoted(struct fm *f, const char *s, size_t len)
{
	char	q = s[0];
	size_t	i;

	for (i = 1; i < len; i++) {
		if (s[i] == q && q == '\'' && i + 1 < len && s[i + 1] == '\'')
			i++;
		else if (s[i] == q)
			break;
		else if (s[i] == '\\' && q == '"' && i + 1 < len) {
			i++;
			if (strchr("\"\\/", s[i]) == NULL && s[i] != 'n' &&
			    s[i] != 't')
				return (fm_fail(f, "unsupported escape"));
			(void)buf_addc(&f->f_cur, s[i] == 'n' ? '\n' :
			    s[i] == 't' ? '\t' : s[i]);
			continue;
		}
		(void)buf_addc(&f->f_cur, s[i]);
	}
	if (i == len)
		return (fm_fail(f, "unterminated quoted string"));
	for (i++; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (i < len && s[i] != '#')
		return (fm_fail(f, "text after a quoted string"));
	fm_close(f);
	return (0);
}

/* A "key: value" line. */
static int
fm_key(struct fm *f, const char *s, size_t len)
{
	const char	*colon, *v;
	size_t		 klen, vlen, i;

	colon = memchr(s, ':', len);
	if (colon == NULL)
		return (fm_fail(f, "expected \"key: value\""));
	klen = (size_t)(colon - s);
	if (klen == 0 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != klen)
		return (fm_fail(f, "bad key"));
	for (i = 0; f->f_keys[i] != NULL; i++) {
		if (strlen(f->f_keys[i]) != klen ||
		    memcmp(f->f_keys[i], s, klen) != 0)
			continue;
		if (f->f_vals[i] != NULL)
			return (fm_fail(f, "duplicate key"));
		f->f_idx = (int)i;
	}
	v = colon + 1;
	vlen = len - klen - 1;
	if (vlen > 0 && v[0] != ' ' && v[0] != '\t')
		return (fm_fail(f, "expected a space after ':'"));
	for (; vlen > 0 && (*v == ' ' || *v == '\t'); v++, vlen--)
		;
	if (vlen > 0 && (*v == '"' || *v == '\''))
		return (fm_quoted(f, v, vlen));
	if (vlen > 0 && (*v == '>' || *v == '|')) {
		if (vlen > 2 || (vlen == 2 && strchr("-+", v[1]) == NULL))
			return (fm_fail(f, "unsupported block scalar"));
		f->f_style = *v == '>' ? FM_FOLDED : FM_LITERAL;
		return (0);
	}
	for (i = 0; i + 1 < vlen; i++)
		if ((v[i] == ' ' || v[i] == '\t') && v[i + 1] == '#')
			vlen = i;
	(void)buf_add(&f->f_cur, v, fm_trim(v, vlen));
	f->f_style = FM_PLAIN;
	return (0);
}

/* One line between the fences (without its newline). */
static int
fm_line(struct fm *f, const char *s, size_t len)
{
	size_t	ind, n;

	len = fm_trim(s, len);
	for (ind = 0; ind < len && (s[ind] == ' ' || s[ind] == '\t'); ind++)
		;
	if (ind == len) {
		if (f->f_style == FM_LITERAL || f->f_style == FM_FOLDED)
			(void)buf_addc(&f->f_cur, '\n');
		return (0);
	}
	if (ind == 0) {
		if (s[0] == '#')
			return (0);
		fm_close(f);
		return (fm_key(f, s, len));
	}
	if (f->f_style == FM_NONE)
		return (fm_fail(f, "unexpected indentation"));
	n = buf_len(&f->f_cur);
	if (n > 0 && buf_str(&f->f_cur)[n - 1] != '\n')
		(void)buf_addc(&f->f_cur,
		    f->f_style == FM_LITERAL ? '\n' : ' ');
	(void)buf_add(&f->f_cur, s + ind, len - ind);
	return (0);
}

/*
 * Parse the front matter at the start of data.  keys is a NULL-terminated
 * list; vals[i] gets a copy of key i's value, or NULL if it is absent.  On
 * success *bodyoff (if not NULL) is the offset of the text after the
 * closing fence.  Returns -1 with *cause set (and vals freed) on error.
 */
int
frontmatter_parse(const char *data, size_t len, const char *const *keys,
    char **vals, size_t *bodyoff, char **cause)
{
	struct fm	 f;
	const char	*p, *eol, *end;
	size_t		 i;

	memset(&f, 0, sizeof(f));
	f.f_keys = keys;
	f.f_vals = vals;
	f.f_idx = -1;
	f.f_cause = cause;
	for (i = 0; keys[i] != NULL; i++)
		vals[i] = NULL;
	buf_init(&f.f_cur, FRONTMATTER_MAX);
	end = data + (len < FRONTMATTER_MAX ? len : FRONTMATTER_MAX);
	for (p = data; p < end; p = eol + 1) {
		f.f_line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			if (end != data + len)
				break;
			eol = end;	/* the last line has no newline */
		}
		if (f.f_line == 1 && !fm_is_fence(p, (size_t)(eol - p))) {
			(void)fm_fail(&f, "expected \"---\"");
			goto fail;
		}
		if (f.f_line > 1 && fm_is_fence(p, (size_t)(eol - p))) {
			fm_close(&f);
			if (bodyoff != NULL)
				*bodyoff = (size_t)(eol - data) +
				    (eol < data + len);
			buf_free(&f.f_cur);
			return (0);
		}
		if (f.f_line > 1 && fm_line(&f, p, (size_t)(eol - p)) == -1)
			goto fail;
	}
	xasprintf(cause, "front matter: no closing \"---\" within %d bytes",
	    FRONTMATTER_MAX);
fail:
	buf_free(&f.f_cur);
	for (i = 0; keys[i] != NULL; i++) {
		free(vals[i]);
		vals[i] = NULL;
	}
	return (-1);
}
