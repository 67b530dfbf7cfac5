/*
 * The Skills pack: a directory with one subdirectory per skill, each
 * holding a SKILL.md whose YAML front matter gives `name:` (equal to the
 * directory's name) and `description:`, plus any supporting files.
 * Regular files at the top of the pack (a Makefile.inc, a README) are not
 * part of it, nor are entries whose names begin with a dot there.
 *
 * Loading is bounded (file count, file size, total size, depth), follows
 * a symbolic link only to a regular file inside the pack, and refuses
 * special files.  The whole pack is held in memory, so the digest and the
 * bundle built from it describe the same bytes.
 *
 * The digest is SHA-256 over "skillbox-skills/1\n" and then, for every
 * file in byte order of its path: the path, NUL, "x" or "-" for the
 * executable bit, NUL, the decimal length, NUL, the content.  Nothing
 * else (no mtime, owner or permission bits) enters it, so it is stable
 * across builds and machines.
 */
#ifndef SKILLBOX_SKILLS_H
#define SKILLBOX_SKILLS_H

#include <stddef.h>

#include <json-c/json.h>

#include "sha256.h"

#define SKILLS_MAX_FILES	256
#define SKILLS_MAX_FILE		(256 * 1024)
#define SKILLS_MAX_TOTAL	(4 * 1024 * 1024)
#define SKILLS_MAX_DEPTH	8
#define SKILLS_MAX_PATH		255
#define SKILL_NAME_MAX		64
#define SKILL_DESC_MIN		20
#define SKILL_DESC_MAX		1024

#define SKILL_MAIN		"SKILL.md"

struct skills_limits {
	size_t	sl_files;	/* most files in the pack */
	size_t	sl_file;	/* largest file, bytes */
	size_t	sl_total;	/* all files together, bytes */
};

struct skill_file {
	char	*sf_path;	/* relative to the pack: "<skill>/SKILL.md" */
	char	*sf_data;	/* the content, NUL-terminated */
	size_t	 sf_len;
	int	 sf_exec;	/* any executable bit set */
};

struct skill {
	char			*sk_name;
	char			*sk_description;
	const struct skill_file	*sk_main;	/* its SKILL.md */
};

struct skills;

int	 skills_load(const char *, const struct skills_limits *,
	    struct skills **, char **);
void	 skills_free(struct skills **);
size_t	 skills_count(const struct skills *);
const struct skill *skills_get(const struct skills *, size_t);
const struct skill *skills_find(const struct skills *, const char *);
size_t	 skills_nfiles(const struct skills *);
const struct skill_file *skills_file(const struct skills *, size_t);
size_t	 skills_total(const struct skills *);
const char *skills_digest(const struct skills *);
char	*skills_version(const struct skills *);
struct json_object *skills_json(const struct skills *);

int	 skills_check_name(const char *, char **);

#endif /* SKILLBOX_SKILLS_H */
