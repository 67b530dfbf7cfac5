/* Walking a directory one level at a time, with paths built for you. */
#ifndef SKILLBOX_DIR_H
#define SKILLBOX_DIR_H

/*
 * Called for each entry but "." and "..": rel is the entry's path
 * relative to where the walk began ("name" at the top, "a/b/name"
 * below), path its full path, name its file name.  Return -1 to stop.
 */
typedef int	(*dir_each_cb)(void *, const char *, const char *,
		    const char *);

int	dir_each(const char *, const char *, dir_each_cb, void *);

#endif /* SKILLBOX_DIR_H */
