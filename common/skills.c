/* Loading the Skills pack, listing its skills, and its digest. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dir.h"
#include "frontmatter.h"
#include "sha256.h"
#include "skills.h"
#include "utf8.h"
#include "xmalloc.h"

struct skills {
	struct skill_file	*sp_files;	/* sorted by path */
	size_t			 sp_nfiles;
	struct skill		*sp_skills;	/* sorted by name */
	size_t			 sp_nskills;
	size_t			 sp_total;	/* bytes in all files */
	char			 sp_digest[SHA256_HEX_LEN + 1];
};

/* The state of one load. */
struct walk {
	const char		 *w_root;	/* as given */
	char			 *w_real;	/* its real path */
	struct skills_limits	  w_lim;
	struct skills		 *w_sp;
	size_t			  w_alloc;	/* slots in sp_files */
	char			**w_dirs;	/* the skill directories */
	size_t			  w_ndirs;
	int			  w_depth;	/* of the entries seen now */
	char			**w_cause;
};

static const struct skills_limits skills_default_limits = {
	SKILLS_MAX_FILES, SKILLS_MAX_FILE, SKILLS_MAX_TOTAL
};

static int	walk_dir(struct walk *, const char *, const char *);
static int	walk_entry(void *, const char *, const char *, const char *);
static int	walk_link(struct walk *, const char *, const char *);
static int	walk_add(struct walk *, const char *, const char *);
static int	walk_read(struct walk *, const char *, int, struct stat *,
		    struct skill_file *);
static int	walk_fail(struct walk *, const char *, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static int	skills_build(struct walk *);
static int	skills_parse(struct walk *, const char *, struct skill *);
static int	file_cmp(const void *, const void *);
static int	dir_cmp(const void *, const void *);
static void	skills_hash(struct skills *);

/* Set *cause to "<root>/<rel>: <message>" and fail. */
static int
walk_fail(struct walk *w, const char *rel, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rel != NULL)
		xasprintf(w->w_cause, "%s/%s: %s", w->w_root, rel, msg);
	else
		xasprintf(w->w_cause, "%s: %s", w->w_root, msg);
	free(msg);
	return (-1);
}

/* Walk the directory rel (NULL: the pack's top) at path, one level down. */
static int
walk_dir(struct walk *w, const char *rel, const char *path)
{
	int	r;

	r = dir_each(path, rel, walk_entry, w);
	if (r == -1 && *w->w_cause == NULL)
		r = walk_fail(w, rel, "%s", strerror(errno));
	return (r);
}

/* Handle one directory entry: recurse, load, follow, skip or refuse. */
static int
walk_entry(void *arg, const char *rel, const char *path, const char *name)
{
	struct walk	*w = arg;
	struct stat	 st;
	int		 r, depth = w->w_depth;

	if (depth == 0 && name[0] == '.')
		return (0);
	if (strlen(rel) > SKILLS_MAX_PATH)
		return (walk_fail(w, rel, "path longer than %d bytes",
		    SKILLS_MAX_PATH));
	if (lstat(path, &st) == -1)
		r = walk_fail(w, rel, "%s", strerror(errno));
	else if (S_ISDIR(st.st_mode) && depth >= SKILLS_MAX_DEPTH)
		r = walk_fail(w, rel, "nested deeper than %d levels",
		    SKILLS_MAX_DEPTH);
	else if (S_ISDIR(st.st_mode)) {
		if (depth == 0) {
			w->w_dirs = xreallocarray(w->w_dirs, w->w_ndirs + 1,
			    sizeof(*w->w_dirs));
			w->w_dirs[w->w_ndirs++] = xstrdup(rel);
		}
		w->w_depth++;
		r = walk_dir(w, rel, path);
		w->w_depth--;
	} else if (S_ISREG(st.st_mode) && depth == 0)
		r = 0;		/* not part of the pack */
	else if (S_ISREG(st.st_mode))
		r = walk_add(w, rel, path);
	else if (S_ISLNK(st.st_mode) && depth > 0)
		r = walk_link(w, rel, path);
	else
		r = walk_fail(w, rel, "not a regular file or directory");
	return (r);
}

/* Follow a symbolic link, which must lead to a regular file in the pack. */
static int
walk_link(struct walk *w, const char *rel, const char *path)
{
	char	*real;
	size_t	 n = strlen(w->w_real);
	int	 r;

	if ((real = realpath(path, NULL)) == NULL)
		return (walk_fail(w, rel, "symbolic link: %s",
		    strerror(errno)));
	if (strncmp(real, w->w_real, n) != 0 || real[n] != '/')
		r = walk_fail(w, rel, "symbolic link points outside the pack");
	else
		r = walk_add(w, rel, real);
	free(real);
	return (r);
}

/* Load the regular file at path as rel, within the limits. */
static int
walk_add(struct walk *w, const char *rel, const char *path)
{
	struct skills		*sp = w->w_sp;
	struct skill_file	*sf;
	struct stat		 st;
	int			 fd, r;

	if (sp->sp_nfiles == w->w_lim.sl_files)
		return (walk_fail(w, NULL, "more than %zu files",
		    w->w_lim.sl_files));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return (walk_fail(w, rel, "%s", strerror(errno)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return (walk_fail(w, rel, "not a regular file"));
	}
	if (sp->sp_nfiles == w->w_alloc) {
		w->w_alloc = w->w_alloc == 0 ? 32 : w->w_alloc * 2;
		sp->sp_files = xreallocarray(sp->sp_files, w->w_alloc,
		    sizeof(*sp->sp_files));
	}
	sf = &sp->sp_files[sp->sp_nfiles];
	if ((r = walk_read(w, rel, fd, &st, sf)) == 0) {
		sf->sf_path = xstrdup(rel);
		sf->sf_exec = (st.st_mode & 0111) != 0;
		sp->sp_nfiles++;
	}
	close(fd);
	return (r);
}

/* Read the whole of an open file, checking the size limits. */
static int
walk_read(struct walk *w, const char *rel, int fd, struct stat *st,
    struct skill_file *sf)
{
	size_t	size, got = 0;
	ssize_t	n = 0;

	if ((uintmax_t)st->st_size > w->w_lim.sl_file)
		return (walk_fail(w, rel, "larger than %zu bytes",
		    w->w_lim.sl_file));
	size = (size_t)st->st_size;
	if (size > w->w_lim.sl_total - w->w_sp->sp_total)
		return (walk_fail(w, NULL, "larger than %zu bytes in all",
		    w->w_lim.sl_total));
	sf->sf_data = xmalloc(size + 1);
	while (got <= size) {
		n = read(fd, sf->sf_data + got, size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (n == -1 || got != size) {
		free(sf->sf_data);
		return (walk_fail(w, rel, "%s", n == -1 ? strerror(errno) :
		    "changed while being read"));
	}
	sf->sf_data[size] = '\0';
	sf->sf_len = size;
	w->w_sp->sp_total += size;
	return (0);
}

static int
file_cmp(const void *a, const void *b)
{
	const struct skill_file	*fa = a, *fb = b;

	return (strcmp(fa->sf_path, fb->sf_path));
}

static int
dir_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Check a skill name: lower-case letters, digits and inner hyphens. */
int
skills_check_name(const char *name, char **cause)
{
	size_t	len = strlen(name);

	if (len == 0 || len > SKILL_NAME_MAX) {
		xasprintf(cause, "name must be 1 to %d characters",
		    SKILL_NAME_MAX);
		return (-1);
	}
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len ||
	    name[0] == '-' || name[len - 1] == '-') {
		xasprintf(cause, "name \"%s\" must be lower-case letters, "
		    "digits and inner hyphens", name);
		return (-1);
	}
	return (0);
}

/* Parse and check the SKILL.md of directory dir into sk. */
static int
skills_parse(struct walk *w, const char *dir, struct skill *sk)
{
	static const char *const keys[] = { "name", "description", NULL };
	struct skill_file	 key, *sf;
	char			*vals[2], *rel, *msg = NULL;
	size_t			 dlen;

	xasprintf(&rel, "%s/%s", dir, SKILL_MAIN);
	key.sf_path = rel;
	sf = bsearch(&key, w->w_sp->sp_files, w->w_sp->sp_nfiles,
	    sizeof(key), file_cmp);
	if (sf == NULL) {
		walk_fail(w, dir, "no %s", SKILL_MAIN);
		goto fail;
	}
	if (frontmatter_parse(sf->sf_data, sf->sf_len, keys, vals, NULL,
	    &msg) == -1)
		goto bad;
	sk->sk_name = vals[0];
	sk->sk_description = vals[1];
	sk->sk_main = sf;
	if (sk->sk_name == NULL)
		xasprintf(&msg, "front matter has no name");
	else if (strcmp(sk->sk_name, dir) != 0)
		xasprintf(&msg, "name \"%s\" differs from the directory's",
		    sk->sk_name);
	else if (skills_check_name(sk->sk_name, &msg) == -1)
		;
	else if (sk->sk_description == NULL)
		xasprintf(&msg, "front matter has no description");
	else if ((dlen = strlen(sk->sk_description)) < SKILL_DESC_MIN ||
	    dlen > SKILL_DESC_MAX)
		xasprintf(&msg, "description must be %d to %d bytes, not %zu",
		    SKILL_DESC_MIN, SKILL_DESC_MAX, dlen);
	else if (!utf8_valid(sk->sk_description, dlen))
		xasprintf(&msg, "description is not valid UTF-8");
	if (msg == NULL) {
		free(rel);
		return (0);
	}
	free(sk->sk_name);
	free(sk->sk_description);
	sk->sk_name = sk->sk_description = NULL;
bad:
	walk_fail(w, rel, "%s", msg);
	free(msg);
fail:
	free(rel);
	return (-1);
}

/* Sort the files, find each skill's SKILL.md, and compute the digest. */
static int
skills_build(struct walk *w)
{
	struct skills	*sp = w->w_sp;
	size_t		 i;

	if (w->w_ndirs == 0 || sp->sp_nfiles == 0)
		return (walk_fail(w, NULL, "no skills"));
	qsort(sp->sp_files, sp->sp_nfiles, sizeof(*sp->sp_files), file_cmp);
	qsort(w->w_dirs, w->w_ndirs, sizeof(*w->w_dirs), dir_cmp);
	sp->sp_skills = xcalloc(w->w_ndirs, sizeof(*sp->sp_skills));
	for (i = 0; i < w->w_ndirs; i++) {
		if (skills_parse(w, w->w_dirs[i], &sp->sp_skills[i]) == -1)
			return (-1);
		sp->sp_nskills++;
	}
	skills_hash(sp);
	return (0);
}

/* The digest described in skills.h. */
static void
skills_hash(struct skills *sp)
{
	struct sha256		 sh;
	const struct skill_file	*sf;
	uint8_t			 md[SHA256_DIGEST_LEN];
	char			 num[32];
	size_t			 i;

	sha256_init(&sh);
	sha256_update(&sh, "skillbox-skills/1\n", 18);
	for (i = 0; i < sp->sp_nfiles; i++) {
		sf = &sp->sp_files[i];
		sha256_update(&sh, sf->sf_path, strlen(sf->sf_path) + 1);
		sha256_update(&sh, sf->sf_exec ? "x" : "-", 2);
		snprintf(num, sizeof(num), "%zu", sf->sf_len);
		sha256_update(&sh, num, strlen(num) + 1);
		sha256_update(&sh, sf->sf_data, sf->sf_len);
	}
	sha256_final(&sh, md);
	sha256_hex(md, sp->sp_digest);
}

/*
 * Load the pack in dir (limits NULL: the defaults).  On success *spp owns
 * the pack; on failure it is NULL and *cause says what is wrong and where.
 */
int
skills_load(const char *dir, const struct skills_limits *lim,
    struct skills **spp, char **cause)
{
	struct walk	w;
	size_t		i;
	int		r = -1;

	*cause = NULL;
	memset(&w, 0, sizeof(w));
	w.w_root = dir;
	w.w_lim = lim != NULL ? *lim : skills_default_limits;
	w.w_sp = xcalloc(1, sizeof(*w.w_sp));
	w.w_cause = cause;
	if ((w.w_real = realpath(dir, NULL)) == NULL)
		walk_fail(&w, NULL, "%s", strerror(errno));
	else if (walk_dir(&w, NULL, dir) == 0)
		r = skills_build(&w);
	for (i = 0; i < w.w_ndirs; i++)
		free(w.w_dirs[i]);
	free(w.w_dirs);
	free(w.w_real);
	if (r == -1)
		skills_free(&w.w_sp);
	*spp = w.w_sp;
	return (r);
}

/* Free a pack and NULL the caller's pointer. */
void
skills_free(struct skills **spp)
{
	struct skills	*sp = *spp;
	size_t		 i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->sp_nfiles; i++) {
		free(sp->sp_files[i].sf_path);
		free(sp->sp_files[i].sf_data);
	}
	for (i = 0; i < sp->sp_nskills; i++) {
		free(sp->sp_skills[i].sk_name);
		free(sp->sp_skills[i].sk_description);
	}
	free(sp->sp_files);
	free(sp->sp_skills);
	free(sp);
	*spp = NULL;
}

size_t
skills_count(const struct skills *sp)
{
	return (sp->sp_nskills);
}

const struct skill *
skills_get(const struct skills *sp, size_t i)
{
	return (i < sp->sp_nskills ? &sp->sp_skills[i] : NULL);
}

/* The skill called name, or NULL. */
const struct skill *
skills_find(const struct skills *sp, const char *name)
{
	size_t	i;

	for (i = 0; i < sp->sp_nskills; i++)
		if (strcmp(sp->sp_skills[i].sk_name, name) == 0)
			return (&sp->sp_skills[i]);
	return (NULL);
}

size_t
skills_nfiles(const struct skills *sp)
{
	return (sp->sp_nfiles);
}

const struct skill_file *
skills_file(const struct skills *sp, size_t i)
{
	return (i < sp->sp_nfiles ? &sp->sp_files[i] : NULL);
}

size_t
skills_total(const struct skills *sp)
{
	return (sp->sp_total);
}

/* The pack digest, 64 hex digits. */
const char *
skills_digest(const struct skills *sp)
{
	return (sp->sp_digest);
}

/* "<version>+sha256:<digest>", the bundle version; the caller frees it. */
char *
skills_version(const struct skills *sp)
{
	char	*s;

	xasprintf(&s, "%s+sha256:%s", PACKAGE_VERSION, sp->sp_digest);
	return (s);
}

/* [{"name": …, "description": …}, …] in name order, for list_skills. */
struct json_object *
skills_json(const struct skills *sp)
{
	struct json_object	*a, *o;
	size_t			 i;

	a = json_object_new_array();
	for (i = 0; i < sp->sp_nskills; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(sp->sp_skills[i].sk_name));
		json_object_object_add(o, "description",
		    json_object_new_string(sp->sp_skills[i].sk_description));
		json_object_array_add(a, o);
	}
	return (a);
}
