/* One level of a directory walk. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "xmalloc.h"

/*
 * Call cb for every entry of the directory at path, whose path relative
 * to the walk's start is rel (NULL at the start).  Returns 0, -1 with
 * errno set if the directory cannot be opened, or -1 when cb stops.
 */
int
dir_each(const char *path, const char *rel, dir_each_cb cb, void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		*crel, *cpath;
	int		 r = 0;

	if ((d = opendir(path)) == NULL)
		return (-1);
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rel == NULL)
			crel = xstrdup(de->d_name);
		else
			xasprintf(&crel, "%s/%s", rel, de->d_name);
		xasprintf(&cpath, "%s/%s", path, de->d_name);
		r = cb(arg, crel, cpath, de->d_name);
		free(crel);
		free(cpath);
	}
	closedir(d);
	if (r == -1)
		errno = 0;
	return (r);
}
