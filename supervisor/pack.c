/*
 * The Skills pack as the supervisor shows it: list_skills and the
 * skillbox://skills/{name} resources, from common/skills (the same
 * loader, limits and digest the worker uses to build each job's bundle).
 * The pack is read once, on first use; it does not change while
 * skillboxd runs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "skills.h"
#include "skillboxd.h"
#include "xmalloc.h"

static char		*pack_dir;
static struct skills	*pack;

static int	pack_load(char **);

/* Where the pack is; nothing is read yet.  NULL forgets it. */
void
pack_init(const char *dir)
{
	skills_free(&pack);
	free(pack_dir);
	pack_dir = dir != NULL ? xstrdup(dir) : NULL;
}

/* Read the pack, once; a failure is tried again next time. */
static int
pack_load(char **cause)
{
	char	*why = NULL;

	if (pack != NULL)
		return (0);
	if (pack_dir == NULL) {
		xasprintf(cause, "no skills directory");
		return (-1);
	}
	if (skills_load(pack_dir, NULL, &pack, &why) == -1) {
		xasprintf(cause, "skills directory %s: %s", pack_dir, why);
		free(why);
		return (-1);
	}
	log_debug("skills: %zu in %s, sha256:%s", skills_count(pack), pack_dir,
	    skills_digest(pack));
	return (0);
}

/*
 * The skills, in name order, as [{name, description, uri}], and the
 * pack's version ("<version>+sha256:<digest>", the caller frees it).
 */
int
pack_list(struct json_object **out, char **version, char **cause)
{
	const struct skill	*sk;
	struct json_object	*o;
	char			*uri;
	size_t			 i;

	*out = NULL;
	if (pack_load(cause) == -1)
		return (-1);
	*out = json_object_new_array();
	for (i = 0; i < skills_count(pack); i++) {
		sk = skills_get(pack, i);
		o = json_object_new_object();
		json_add_string(o, "name", sk->sk_name);
		json_add_string(o, "description", sk->sk_description);
		xasprintf(&uri, "skillbox://skills/%s", sk->sk_name);
		json_add_string(o, "uri", uri);
		free(uri);
		json_object_array_add(*out, o);
	}
	*version = skills_version(pack);
	return (0);
}

/* A skill's SKILL.md (not copied: it lives as long as the pack). */
int
pack_read(const char *name, const char **data, size_t *len, char **cause)
{
	const struct skill	*sk;

	if (pack_load(cause) == -1)
		return (-1);
	if ((sk = skills_find(pack, name)) == NULL) {
		xasprintf(cause, "no skill named '%.64s'", name);
		return (-1);
	}
	*data = sk->sk_main->sf_data;
	*len = sk->sk_main->sf_len;
	return (0);
}

/*
 * The pack's digest, as skillboxd shows it, or NULL if it cannot be read.
 * A worker's forkserver keeps the pack it read; a worker uses that copy
 * only when its digest is this one.
 */
const char *
pack_digest(void)
{
	char	*cause = NULL;

	if (pack_load(&cause) == -1) {
		free(cause);
		return (NULL);
	}
	return (skills_digest(pack));
}

/* Is there a skill of this name? */
int
pack_exists(const char *name)
{
	char	*cause = NULL;
	int	 r;

	r = pack_load(&cause) == 0 && skills_find(pack, name) != NULL;
	free(cause);
	return (r);
}
