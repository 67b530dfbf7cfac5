/*
 * YAML front matter as SKILL.md files carry it: a first line "---", then
 * "key: value" lines, then a closing "---".  The subset understood is what
 * such headers use: plain scalars (continued on indented lines), single-
 * and double-quoted scalars on one line, folded (">") and literal ("|")
 * block scalars, blank lines and "#" comments.  Anything else is an error
 * that names the line.
 */
#ifndef SKILLBOX_FRONTMATTER_H
#define SKILLBOX_FRONTMATTER_H

#include <stddef.h>

#define FRONTMATTER_MAX		(16 * 1024)	/* bytes searched for it */

int	frontmatter_parse(const char *, size_t, const char *const *, char **,
	    size_t *, char **);

#endif /* SKILLBOX_FRONTMATTER_H */
