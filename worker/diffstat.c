/* Parsing git's --numstat and --shortstat output. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clean.h"
#include "diffstat.h"
#include "json.h"
#include "xmalloc.h"

/* One file's counts, as numstat gives them. */
struct ds_counts {
	int64_t	dc_ins;
	int64_t	dc_del;
	int	dc_binary;
};

static int	ds_number(const char **, const char *, int64_t *, int *);
static int	ds_counts(const char **, const char *, struct ds_counts *);
static void	ds_record(struct diffstat *, const struct ds_counts *,
		    const char *, const char *);
static char	*ds_unquote(const char *, size_t);
static void	ds_rename(const char *, size_t, char **, char **);
static int	ds_numstat_z(struct diffstat *, const char *, size_t,
		    char **);
static int	ds_numstat_lines(struct diffstat *, const char *, size_t,
		    char **);

void
diffstat_init(struct diffstat *ds)
{
	memset(ds, 0, sizeof(*ds));
}

/* Release the file list; ds is empty and reusable afterwards. */
void
diffstat_free(struct diffstat *ds)
{
	size_t	i;

	for (i = 0; i < ds->ds_nlist; i++) {
		free(ds->ds_list[i].df_path);
		free(ds->ds_list[i].df_from);
	}
	free(ds->ds_list);
	diffstat_init(ds);
}

/* A count ("12", or "-" for binary) followed by a tab. */
static int
ds_number(const char **pp, const char *end, int64_t *n, int *binary)
{
	const char	*p = *pp;

	*n = 0;
	*binary = 0;
	if (p < end && *p == '-') {
		*binary = 1;
		p++;
	} else if (p == end || !isdigit((unsigned char)*p))
		return (-1);
	for (; p < end && isdigit((unsigned char)*p); p++) {
		*n = *n * 10 + (*p - '0');
		if (*n > DIFFSTAT_COUNT_MAX)
			return (-1);
	}
	if (p == end || *p != '\t')
		return (-1);
	*pp = p + 1;
	return (0);
}

/* "<insertions>\t<deletions>\t", both numbers or both "-". */
static int
ds_counts(const char **pp, const char *end, struct ds_counts *dc)
{
	int	bin;

	if (ds_number(pp, end, &dc->dc_ins, &dc->dc_binary) == -1 ||
	    ds_number(pp, end, &dc->dc_del, &bin) == -1 ||
	    bin != dc->dc_binary)
		return (-1);
	return (0);
}

/* Add one file; the path strings are copied. */
static void
ds_record(struct diffstat *ds, const struct ds_counts *dc, const char *path,
    const char *from)
{
	struct diffstat_file	*df;

	ds->ds_files++;
	ds->ds_insertions += dc->dc_ins;
	ds->ds_deletions += dc->dc_del;
	ds->ds_binary += dc->dc_binary != 0;
	ds->ds_renamed += from != NULL;
	if (ds->ds_nlist == DIFFSTAT_LIST_MAX)
		return;
	ds->ds_list = xreallocarray(ds->ds_list, ds->ds_nlist + 1,
	    sizeof(*ds->ds_list));
	df = &ds->ds_list[ds->ds_nlist++];
	df->df_path = xstrdup(path);
	df->df_from = from != NULL ? xstrdup(from) : NULL;
	df->df_insertions = dc->dc_ins;
	df->df_deletions = dc->dc_del;
	df->df_binary = dc->dc_binary;
}

/*
 * A path as git prints it without -z: verbatim, or in double quotes with
 * C escapes (\t, \n, \", \\, \ooo octal) when it holds odd bytes.
 */
static char *
ds_unquote(const char *s, size_t len)
{
	struct buf	b;
	size_t		i;
	int		c, k;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return (xstrndup(s, len));
	buf_init(&b, len);
	for (i = 1; i < len - 1; i++) {
		c = (unsigned char)s[i];
		if (c == '\\' && i + 1 < len - 1) {
			c = (unsigned char)s[++i];
			if (c >= '0' && c <= '7') {
				for (c = 0, k = 0; k < 3 && i < len - 1 &&
				    s[i] >= '0' && s[i] <= '7'; k++)
					c = c * 8 + (s[i++] - '0');
				i--;
			} else if (strchr("abtnvfr", c) != NULL)
				c = "\a\b\t\n\v\f\r"[strchr("abtnvfr", c) -
				    "abtnvfr"];
		}
		(void)buf_addc(&b, (char)c);
	}
	return (buf_detach(&b, NULL));
}

/*
 * Split a rename as numstat shows it without -z: "old => new" or
 * "pre/{old => new}/post" (either side of the braces may be empty).
 * *from is NULL if the path is not a rename.
 */
static void
ds_rename(const char *s, size_t len, char **path, char **from)
{
	const char	*arrow, *lb, *rb, *end = s + len;
	char		*pre, *post;
	int		 a, b;

	*from = NULL;
	arrow = memmem(s, len, " => ", 4);
	if (arrow == NULL) {
		*path = ds_unquote(s, len);
		return;
	}
	lb = memrchr(s, '{', (size_t)(arrow - s));
	rb = memchr(arrow, '}', (size_t)(end - arrow));
	if (lb == NULL || rb == NULL) {
		*from = xstrndup(s, (size_t)(arrow - s));
		*path = xstrndup(arrow + 4, (size_t)(end - arrow - 4));
		return;
	}
	pre = xstrndup(s, (size_t)(lb - s));
	post = xstrndup(rb + 1, (size_t)(end - rb - 1));
	/* "a/{ => b}/c" is a/c -> a/b/c: drop the doubled slash. */
	a = lb + 1 == arrow && *post == '/';
	b = arrow + 4 == rb && *post == '/';
	xasprintf(from, "%s%.*s%s", pre, (int)(arrow - lb - 1), lb + 1,
	    post + a);
	xasprintf(path, "%s%.*s%s", pre, (int)(rb - arrow - 4), arrow + 4,
	    post + b);
	free(pre);
	free(post);
}

/* numstat -z: "A\tD\tpath\0", or "A\tD\t\0old\0new\0" for a rename. */
static int
ds_numstat_z(struct diffstat *ds, const char *data, size_t len,
    char **cause)
{
	const char		*p = data, *end = data + len, *f1, *f2;
	struct ds_counts	 dc;
	size_t			 rec;

	for (rec = 1; p < end; rec++) {
		if (ds_counts(&p, end, &dc) == -1)
			goto bad;
		if ((f1 = memchr(p, '\0', (size_t)(end - p))) == NULL)
			goto bad;
		if (f1 > p) {
			ds_record(ds, &dc, p, NULL);
			p = f1 + 1;
			continue;
		}
		f1++;
		if (f1 >= end || (f2 = memchr(f1, '\0',
		    (size_t)(end - f1))) == NULL || f2 + 1 >= end ||
		    memchr(f2 + 1, '\0', (size_t)(end - f2 - 1)) == NULL)
			goto bad;
		ds_record(ds, &dc, f2 + 1, f1);
		p = f2 + 2 + strlen(f2 + 1);
	}
	return (0);
bad:
	xasprintf(cause, "numstat record %zu: malformed", rec);
	return (-1);
}

/* numstat without -z: one "A\tD\tpath" line per file. */
static int
ds_numstat_lines(struct diffstat *ds, const char *data, size_t len,
    char **cause)
{
	const char		*p = data, *end = data + len, *eol;
	struct ds_counts	 dc;
	char			*path, *from;
	size_t			 line;

	for (line = 1; p < end; line++, p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (eol == p)
			continue;
		if (ds_counts(&p, eol, &dc) == -1 || p == eol) {
			xasprintf(cause, "numstat line %zu: malformed", line);
			return (-1);
		}
		ds_rename(p, (size_t)(eol - p), &path, &from);
		ds_record(ds, &dc, path, from);
		free(path);
		free(from);
	}
	return (0);
}

/*
 * Add `git diff --numstat` output (with or without -z) to ds.  Returns -1
 * with *cause naming the bad record; what came before it is kept.
 */
int
diffstat_numstat(struct diffstat *ds, const char *data, size_t len,
    char **cause)
{
	if (memchr(data, '\0', len) != NULL)
		return (ds_numstat_z(ds, data, len, cause));
	return (ds_numstat_lines(ds, data, len, cause));
}

/*
 * Add `git diff --shortstat` output: " 3 files changed, 10 insertions(+),
 * 2 deletions(-)", either count part may be missing; empty means no change.
 */
int
diffstat_shortstat(struct diffstat *ds, const char *data, size_t len,
    char **cause)
{
	char		*s, *part, *save = NULL, *word;
	long long	 n;
	int		 r = 0;

	s = xstrndup(data, len);
	for (part = strtok_r(s, ",\n", &save); part != NULL;
	    part = strtok_r(NULL, ",\n", &save)) {
		n = strtoll(part, &word, 10);
		while (*word == ' ')
			word++;
		if (n < 0 || n > DIFFSTAT_COUNT_MAX || word == part)
			r = -1;
		else if (strncmp(word, "file", 4) == 0)
			ds->ds_files += (size_t)n;
		else if (strncmp(word, "insertion", 9) == 0)
			ds->ds_insertions += n;
		else if (strncmp(word, "deletion", 8) == 0)
			ds->ds_deletions += n;
		else
			r = -1;
		if (r == -1) {
			xasprintf(cause, "shortstat: cannot read \"%s\"", part);
			break;
		}
	}
	free(s);
	return (r);
}

/* The job result's "diff" summary: totals and the first files. */
struct json_object *
diffstat_json(const struct diffstat *ds)
{
	struct json_object		*o, *a, *f;
	const struct diffstat_file	*df;
	size_t				 i;

	o = json_object_new_object();
	json_add_int(o, "files_changed", (int64_t)ds->ds_files);
	json_add_int(o, "insertions", ds->ds_insertions);
	json_add_int(o, "deletions", ds->ds_deletions);
	json_add_int(o, "binary_files", (int64_t)ds->ds_binary);
	json_add_int(o, "renamed", (int64_t)ds->ds_renamed);
	a = json_object_new_array();
	for (i = 0; i < ds->ds_nlist; i++) {
		df = &ds->ds_list[i];
		f = json_object_new_object();
		clean_add(f, "path", df->df_path, CLEAN_NOLIMIT);
		if (df->df_from != NULL)
			clean_add(f, "from", df->df_from, CLEAN_NOLIMIT);
		json_add_int(f, "insertions", df->df_insertions);
		json_add_int(f, "deletions", df->df_deletions);
		json_add_bool(f, "binary", df->df_binary);
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "files", a);
	json_add_bool(o, "files_truncated", ds->ds_files > ds->ds_nlist);
	return (o);
}
