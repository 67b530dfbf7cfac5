/*
 * The Skills pack as the supervisor sees it: the names and descriptions
 * from each skill's SKILL.md front matter, for list_skills and the
 * skillbox://skills/{name} resources.  (The pack digest and bundle come
 * from common/skills once it lands; this is the one place to switch.)
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define SKILLS_MAX		128
#define SKILLS_NAME_MAX		64
#define SKILLS_FILE_MAX		(256 * 1024)
#define SKILLS_DESC_MAX		1024

static char		*skills_dir;
static struct json_object *skills_cache;	/* the list, once read */

static int	skills_name_valid(const char *);
static char	*skills_front(const char *, const char *);
static int	skills_cmp(const void *, const void *);
static int	skills_load(struct json_object **, char **);

int
skills_init(const char *dir)
{
	json_object_put(skills_cache);
	skills_cache = NULL;
	free(skills_dir);
	skills_dir = dir != NULL ? xstrdup(dir) : NULL;
	return (0);
}

/* Lowercase letters, digits and dashes, as skill directories are named. */
static int
skills_name_valid(const char *name)
{
	size_t	i;

	for (i = 0; name[i] != '\0'; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-')
			return (0);
	return (i > 0 && i <= SKILLS_NAME_MAX && name[0] != '-');
}

/* The value of key in the YAML front matter of text, or NULL. */
static char *
skills_front(const char *text, const char *key)
{
	const char	*p, *end, *nl;
	size_t		 klen = strlen(key), len;

	if (strncmp(text, "---\n", 4) != 0 ||
	    (end = strstr(text + 3, "\n---")) == NULL)
		return (NULL);
	for (p = text + 4; p < end; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = end;
		if (strncmp(p, key, klen) != 0 || p[klen] != ':')
			continue;
		p += klen + 1;
		while (p < nl && isspace((unsigned char)*p))
			p++;
		len = (size_t)(nl - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len >= 2 && (p[0] == '"' || p[0] == '\'') &&
		    p[len - 1] == p[0]) {
			p++;
			len -= 2;
		}
		return (xstrndup(p, len > SKILLS_DESC_MAX ? SKILLS_DESC_MAX :
		    len));
	}
	return (NULL);
}

/* Read a skill's SKILL.md; -1 with *cause if there is no such skill. */
int
skills_read(const char *name, struct buf *b, char **cause)
{
	char	*path;
	int	 r, truncated;

	if (skills_dir == NULL || !skills_name_valid(name)) {
		xasprintf(cause, "no skill named '%.64s'", name);
		return (-1);
	}
	xasprintf(&path, "%s/%s/SKILL.md", skills_dir, name);
	r = buf_read_file(b, path, SKILLS_FILE_MAX, &truncated);
	free(path);
	if (r == -1)
		xasprintf(cause, errno == ENOENT ? "no skill named '%s'" :
		    "skill %s: %s", name, strerror(errno));
	return (r);
}

int
skills_exists(const char *name)
{
	struct buf	 b;
	char		*cause = NULL;
	int		 r;

	buf_init(&b, SKILLS_FILE_MAX);
	r = skills_read(name, &b, &cause);
	buf_free(&b);
	free(cause);
	return (r == 0);
}

static int
skills_cmp(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/*
 * The skills, sorted by name: [{name, description, uri}] (a new
 * reference to a list read once: the pack does not change while skillboxd
 * runs).  A directory without a readable SKILL.md is not a skill.  -1
 * with *cause if the skills directory cannot be read.
 */
int
skills_list(struct json_object **out, char **cause)
{
	*out = NULL;
	if (skills_cache == NULL && skills_load(&skills_cache, cause) == -1)
		return (-1);
	*out = json_object_get(skills_cache);
	return (0);
}

/* Read the skills directory into a new list. */
static int
skills_load(struct json_object **out, char **cause)
{
	struct json_object	*s;
	struct dirent		*de;
	struct buf		 b;
	DIR			*d;
	char			*names[SKILLS_MAX], *desc, *err = NULL;
	size_t			 n = 0, i;

	if (skills_dir == NULL || (d = opendir(skills_dir)) == NULL) {
		xasprintf(cause, "skills directory %s: %s", skills_dir != NULL ?
		    skills_dir : "(none)", strerror(errno));
		return (-1);
	}
	*out = json_object_new_array();
	while ((de = readdir(d)) != NULL && n < SKILLS_MAX)
		if (skills_name_valid(de->d_name))
			names[n++] = xstrdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), skills_cmp);
	for (i = 0; i < n; i++) {
		buf_init(&b, SKILLS_FILE_MAX);
		if (skills_read(names[i], &b, &err) == 0) {
			s = json_object_new_object();
			json_add_string(s, "name", names[i]);
			desc = skills_front(buf_str(&b), "description");
			json_add_string(s, "description", desc != NULL ? desc :
			    "");
			free(desc);
			xasprintf(&desc, "skillbox://skills/%s", names[i]);
			json_add_string(s, "uri", desc);
			free(desc);
			json_object_array_add(*out, s);
		}
		free(err);
		err = NULL;
		buf_free(&b);
		free(names[i]);
	}
	return (0);
}
