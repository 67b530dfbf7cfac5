/*
 * The one tarball a job uploads into its sandbox: the Skills pack under
 * .claude/skills/<name>/, caller-supplied files (.skillbox/job.json,
 * .skillbox/prompt.txt, …), and optionally a local repository under repo/,
 * all with relative paths so that one `tar -xzf - -C /home/user` lays it
 * out.  The pack's part can be compressed once (a bundle_head) and put
 * ahead of each job's bundle as a gzip member of its own.  The archive is deterministic: entries sorted by path, directories
 * made explicit, a fixed mtime, uid/gid 1000 named "user", modes 0755 for
 * directories and executables and 0644 otherwise, and no gzip timestamp.
 * Every size is bounded, and an error names the limit it hit.
 */
#ifndef SKILLBOX_BUNDLE_H
#define SKILLBOX_BUNDLE_H

#include <stddef.h>

#include "skills.h"

#define BUNDLE_MAX		(64 * 1024 * 1024)	/* the .tar.gz */
#define BUNDLE_REPO_MAX		(256 * 1024 * 1024)	/* repo file bytes */
#define BUNDLE_REPO_FILES	200000			/* repo entries */
#define BUNDLE_PATH_MAX		4096
#define BUNDLE_MTIME		1577836800		/* 2020-01-01 */
#define BUNDLE_UID		1000
#define BUNDLE_USER		"user"
#define BUNDLE_SKILLS_DIR	".claude/skills"
#define BUNDLE_REPO_DIR		"repo"

#define BUNDLE_EOA		1024	/* tar's end of archive: two blocks */

struct bundle;

/* Entries compressed once, to go ahead of many bundles (the pack). */
struct bundle_head {
	char		*bh_gz;		/* one gzip member: tar entries */
	size_t		 bh_len;
	char		*bh_last;	/* the path of the last entry */
};

struct bundle	*bundle_new(void);
void		 bundle_free(struct bundle **);
int		 bundle_add_skills(struct bundle *, const struct skills *,
		    char **);
int		 bundle_add_file(struct bundle *, const char *, const void *,
		    size_t, int, char **);
int		 bundle_add_repo(struct bundle *, const char *, size_t,
		    char **);
int		 bundle_write(struct bundle *, const struct bundle_head *,
		    size_t, char **, size_t *, char **);
struct bundle_head *bundle_head_new(struct bundle *, char **);
void		 bundle_head_free(struct bundle_head **);
size_t		 bundle_count(const struct bundle *);

#endif /* SKILLBOX_BUNDLE_H */
