/*
 * The agent's filesystem service: Stat, ListDir, MakeDir, Remove and Move
 * with envd's answers (EntryInfo in protobuf JSON) and envd's errors.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "gofmt.h"
#include "json.h"
#include "xmalloc.h"

#define AFS_LIST_MAX	200000	/* entries in one ListDir answer */

struct afs_walk {
	struct json_object	*w_entries;
	size_t			 w_max_depth;
	struct json_object	*w_err;
};

static char	*afs_base(const char *);
static char	*afs_dir(const char *);
static void	 afs_owner(struct json_object *, uid_t, gid_t);
static const char *afs_type(mode_t);
static char	*afs_path_arg(struct aconn *, struct json_object *,
		    const char *);
static int	 afs_walk(struct afs_walk *, const char *, const char *,
		    size_t);
static int	 afs_namecmp(const struct dirent **, const struct dirent **);
static void	 afs_answer_entry(struct aconn *, const char *);

/* filepath.Base. */
static char *
afs_base(const char *path)
{
	const char	*s;
	size_t		 len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0)
		return (xstrdup("."));
	for (s = path + len; s > path && s[-1] != '/'; s--)
		;
	if (s == path + len)
		return (xstrdup("/"));
	return (xstrndup(s, (size_t)(path + len - s)));
}

/* filepath.Dir. */
static char *
afs_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*d, *clean;

	if (slash == NULL)
		return (xstrdup("."));
	d = xstrndup(path, (size_t)(slash - path) + 1);
	clean = gofmt_path_clean(d);
	free(d);
	return (clean);
}

static void
afs_owner(struct json_object *o, uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 num[32];

	snprintf(num, sizeof(num), "%u", (unsigned)uid);
	json_add_string(o, "owner", (pw = getpwuid(uid)) != NULL ?
	    pw->pw_name : num);
	snprintf(num, sizeof(num), "%u", (unsigned)gid);
	json_add_string(o, "group", (gr = getgrgid(gid)) != NULL ?
	    gr->gr_name : num);
}

static const char *
afs_type(mode_t mode)
{
	if (S_ISREG(mode))
		return ("FILE_TYPE_FILE");
	if (S_ISDIR(mode))
		return ("FILE_TYPE_DIRECTORY");
	if (S_ISLNK(mode))
		return ("FILE_TYPE_SYMLINK");
	return (NULL);
}

/*
 * EntryInfo for a path, without following a final symlink except to
 * report its target's type and mode, as envd's entryInfo does.
 */
struct json_object *
afs_entry(const char *path, struct json_object **err)
{
	struct json_object	*o;
	struct stat		 st, tst;
	struct timespec		 mt;
	const char		*type;
	char			*name, *target = NULL, buf[GOFMT_TIME_MAX];
	char			 perms[GOFMT_MODE_MAX];
	mode_t			 perm = 0;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			*err = agent_error("not_found", "file not found: lstat "
			    "%s: %s", path, agent_strerror(errno));
		else
			*err = agent_error("internal", "error getting file "
			    "info: lstat %s: %s", path, agent_strerror(errno));
		return (NULL);
	}
	if (S_ISLNK(st.st_mode)) {
		if ((target = realpath(path, NULL)) == NULL)
			target = xstrdup(path);
		type = NULL;
		if (stat(target, &tst) == 0) {
			type = afs_type(tst.st_mode);
			perm = tst.st_mode & 0777;
		}
	} else {
		type = afs_type(st.st_mode);
		perm = st.st_mode & 0777;
	}
	o = json_object_new_object();
	name = afs_base(path);
	json_add_string(o, "name", name);
	free(name);
	if (type != NULL)
		json_add_string(o, "type", type);
	json_add_string(o, "path", path);
	if (st.st_size != 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)st.st_size);
		json_add_string(o, "size", buf);
	}
	if (perm != 0)
		json_add_int(o, "mode", perm);
	gofmt_filemode(perms, sizeof(perms), st.st_mode);
	json_add_string(o, "permissions", perms);
	afs_owner(o, st.st_uid, st.st_gid);
	mt = st.st_mtim;
	if (mt.tv_sec != 0 || mt.tv_nsec != 0) {
		gofmt_time(buf, sizeof(buf), &mt, GOFMT_TIME_PROTO);
		json_add_string(o, "modifiedTime", buf);
	}
	if (target != NULL)
		json_add_string(o, "symlinkTarget", target);
	free(target);
	return (o);
}

/*
 * envd's EnsureDirs: create each missing directory along path (mode 0755).
 * -1 with *cause naming what failed.
 */
int
afs_ensure_dirs(const char *path, char **cause)
{
	struct stat	 st;
	char		*p;
	size_t		 i, len = strlen(path);

	p = xstrdup(path);
	for (i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		p[i] = '\0';
		if (stat(p, &st) == -1) {
			if (errno != ENOENT) {
				xasprintf(cause, "failed to stat directory: "
				    "stat %s: %s", p, agent_strerror(errno));
				goto fail;
			}
			if (mkdir(p, 0755) == -1 && errno != EEXIST) {
				xasprintf(cause, "failed to create directory: "
				    "mkdir %s: %s", p, agent_strerror(errno));
				goto fail;
			}
		} else if (!S_ISDIR(st.st_mode)) {
			xasprintf(cause, "path is a file: %s", p);
			goto fail;
		}
		if (i < len)
			p[i] = '/';
	}
	free(p);
	return (0);
fail:
	free(p);
	return (-1);
}

/* The resolved "key" path of a request, or NULL after answering. */
static char *
afs_path_arg(struct aconn *ac, struct json_object *msg, const char *key)
{
	const char	*path = "";
	char		*cause = NULL, *resolved;

	if (json_get_string(msg, "", key, J_OPTIONAL, PATH_MAX, &path,
	    &cause) == -1 || (resolved = agent_resolve(path, &cause)) == NULL) {
		aconn_finish(ac, agent_error("invalid_argument", "%s", cause));
		free(cause);
		return (NULL);
	}
	return (resolved);
}

/* Answer {key: entry} for a path, or the entry's error. */
static void
afs_answer_entry(struct aconn *ac, const char *path)
{
	struct json_object	*entry, *err = NULL, *res;

	if ((entry = afs_entry(path, &err)) == NULL) {
		aconn_finish(ac, err);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "entry", entry);
	aconn_finish(ac, agent_result(res));
}

void
afs_stat(struct aconn *ac, struct json_object *msg)
{
	char	*path;

	if ((path = afs_path_arg(ac, msg, "path")) == NULL)
		return;
	afs_answer_entry(ac, path);
	free(path);
}

static int
afs_namecmp(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

/*
 * Walk dir (the resolved directory) down to w_max_depth, naming entries
 * under base (the requested path), in filepath.WalkDir's order.
 */
static int
afs_walk(struct afs_walk *w, const char *base, const char *dir, size_t depth)
{
	struct dirent		**names;
	struct json_object	*entry, *err = NULL;
	struct stat		 st;
	char			*path, *shown;
	int			 n, i, r = 0;

	if ((n = scandir(dir, &names, NULL, afs_namecmp)) == -1) {
		w->w_err = agent_error("internal", "error reading directory "
		    "%s: open %s: %s", dir, dir, agent_strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") == 0 ||
		    strcmp(names[i]->d_name, "..") == 0 || r == -1)
			continue;
		xasprintf(&path, "%s/%s", dir, names[i]->d_name);
		xasprintf(&shown, "%s/%s", base, names[i]->d_name);
		if ((entry = afs_entry(path, &err)) == NULL)
			json_object_put(err);	/* gone meanwhile: skip */
		else if (json_object_array_length(w->w_entries) >=
		    AFS_LIST_MAX) {
			json_object_put(entry);
			w->w_err = agent_error("resource_exhausted", "more "
			    "than %d entries", AFS_LIST_MAX);
			r = -1;
		} else {
			json_add_string(entry, "path", shown);
			json_object_array_add(w->w_entries, entry);
			if (depth < w->w_max_depth && lstat(path, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				r = afs_walk(w, shown, path, depth + 1);
		}
		free(path);
		free(shown);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return (r);
}

void
afs_listdir(struct aconn *ac, struct json_object *msg)
{
	struct afs_walk		 w;
	struct json_object	*res;
	struct stat		 st;
	char			*path, *real = NULL, *cause = NULL;
	int64_t			 depth = 1;

	if ((path = afs_path_arg(ac, msg, "path")) == NULL)
		return;
	if (json_get_int(msg, "", "depth", J_OPTIONAL, 0, UINT32_MAX, &depth,
	    &cause) == -1) {
		aconn_finish(ac, agent_error("invalid_argument", "%s", cause));
		goto out;
	}
	if (depth == 0)
		depth = 1;
	if ((real = realpath(path, NULL)) == NULL) {
		if (errno == ENOENT)
			aconn_finish(ac, agent_error("not_found", "path not "
			    "found: lstat %s: %s", path,
			    agent_strerror(errno)));
		else if (errno == ELOOP)
			aconn_finish(ac, agent_error("failed_precondition",
			    "cyclic symlink or chain >255 links at \"%s\"",
			    path));
		else
			aconn_finish(ac, agent_error("internal", "error "
			    "resolving symlink: %s", agent_strerror(errno)));
		goto out;
	}
	if (stat(real, &st) == 0 && !S_ISDIR(st.st_mode)) {
		aconn_finish(ac, agent_error("invalid_argument", "path is not "
		    "a directory: %s", real));
		goto out;
	}
	memset(&w, 0, sizeof(w));
	w.w_entries = json_object_new_array();
	w.w_max_depth = (size_t)depth;
	if (afs_walk(&w, path, real, 1) == -1) {
		json_object_put(w.w_entries);
		aconn_finish(ac, w.w_err);
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "entries", w.w_entries);
	aconn_finish(ac, agent_result(res));
out:
	free(cause);
	free(real);
	free(path);
}

void
afs_mkdir(struct aconn *ac, struct json_object *msg)
{
	struct stat	 st;
	char		*path, *cause = NULL;

	if ((path = afs_path_arg(ac, msg, "path")) == NULL)
		return;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			aconn_finish(ac, agent_error("already_exists",
			    "directory already exists: %s", path));
		else
			aconn_finish(ac, agent_error("invalid_argument", "path "
			    "already exists but it is not a directory: %s",
			    path));
	} else if (errno != ENOENT)
		aconn_finish(ac, agent_error("internal", "error getting file "
		    "info: stat %s: %s", path, agent_strerror(errno)));
	else if (afs_ensure_dirs(path, &cause) == -1)
		aconn_finish(ac, agent_error("internal", "%s", cause));
	else
		afs_answer_entry(ac, path);
	free(cause);
	free(path);
}

/* os.RemoveAll: a missing path is fine. */
void
afs_remove(struct aconn *ac, struct json_object *msg)
{
	char	*path;

	if ((path = afs_path_arg(ac, msg, "path")) == NULL)
		return;
	if (gofmt_remove_all(path) == -1)
		aconn_finish(ac, agent_error("internal", "error removing file "
		    "or directory: unlinkat %s: %s", path,
		    agent_strerror(errno)));
	else
		aconn_finish(ac, agent_result(json_object_new_object()));
	free(path);
}

void
afs_move(struct aconn *ac, struct json_object *msg)
{
	char	*src, *dst = NULL, *dir = NULL, *cause = NULL;

	if ((src = afs_path_arg(ac, msg, "source")) == NULL ||
	    (dst = afs_path_arg(ac, msg, "destination")) == NULL)
		goto out;
	dir = afs_dir(dst);
	if (afs_ensure_dirs(dir, &cause) == -1)
		aconn_finish(ac, agent_error("internal", "%s", cause));
	else if (rename(src, dst) == 0)
		afs_answer_entry(ac, dst);
	else if (errno == ENOENT)
		aconn_finish(ac, agent_error("not_found", "source file not "
		    "found: rename %s %s: %s", src, dst,
		    agent_strerror(errno)));
	else
		aconn_finish(ac, agent_error("internal", "error renaming: "
		    "rename %s %s: %s", src, dst, agent_strerror(errno)));
out:
	free(cause);
	free(dir);
	free(src);
	free(dst);
}
