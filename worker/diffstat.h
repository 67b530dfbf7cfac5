/*
 * Diff statistics from git's own summaries: `git diff --numstat` (best
 * with -z, which makes renames and odd file names unambiguous; without
 * it, quoted names and "old => new" / "dir/{old => new}/f" renames are
 * understood too) and `git diff --shortstat`.
 */
#ifndef SKILLBOX_DIFFSTAT_H
#define SKILLBOX_DIFFSTAT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define DIFFSTAT_LIST_MAX	200	/* files listed one by one */
#define DIFFSTAT_COUNT_MAX	INT64_C(1000000000000)

struct diffstat_file {
	char	*df_path;	/* the file (the new name for a rename) */
	char	*df_from;	/* the old name of a renamed file, or NULL */
	int64_t	 df_insertions;
	int64_t	 df_deletions;
	int	 df_binary;
};

struct diffstat {
	size_t			 ds_files;
	int64_t			 ds_insertions;
	int64_t			 ds_deletions;
	size_t			 ds_binary;
	size_t			 ds_renamed;
	struct diffstat_file	*ds_list;	/* the first files, at most */
						/* DIFFSTAT_LIST_MAX */
	size_t			 ds_nlist;
};

void	diffstat_init(struct diffstat *);
void	diffstat_free(struct diffstat *);
int	diffstat_numstat(struct diffstat *, const char *, size_t, char **);
int	diffstat_shortstat(struct diffstat *, const char *, size_t, char **);
struct json_object *diffstat_json(const struct diffstat *);

#endif /* SKILLBOX_DIFFSTAT_H */
