/* Building the job's tarball with libarchive, deterministically. */
#include "config.h"

#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "bundle.h"
#include "dir.h"
#include "log.h"
#include "xmalloc.h"

enum bundle_type {
	BUNDLE_DIR,		/* a directory */
	BUNDLE_FILE,		/* a regular file, from memory or disk */
	BUNDLE_LINK,		/* a symbolic link inside the repo */
	BUNDLE_TYPE_MAX
};

struct bundle_entry {
	char			*be_path;	/* in the archive */
	enum bundle_type	 be_type;
	int			 be_exec;
	const char		*be_data;	/* memory contents, or NULL */
	size_t			 be_len;
	char			*be_own;	/* be_data when we own it */
	char			*be_src;	/* file to read at write time */
	char			*be_link;	/* symbolic link target */
};

struct bundle {
	struct bundle_entry	*b_ents;
	size_t			 b_n;
	size_t			 b_alloc;
};

/* One walk of a repository directory. */
struct repo_walk {
	struct bundle	*rw_b;
	const char	*rw_root;
	size_t		 rw_max;	/* file bytes allowed */
	size_t		 rw_bytes;	/* file bytes so far */
	size_t		 rw_files;	/* entries so far */
	size_t		 rw_skipped;	/* special files left out */
	int		 rw_depth;	/* directories below the top */
	char		**rw_cause;
};

/* The archive being written into memory. */
struct bundle_out {
	struct buf	bo_buf;
	int		bo_full;	/* the cap was hit */
};

static struct bundle_entry *bundle_push(struct bundle *, const char *,
		    enum bundle_type);
static int	bundle_check_path(const char *, char **);
static int	repo_dir(struct repo_walk *, const char *, const char *);
static int	repo_entry(void *, const char *, const char *, const char *);
static int	repo_link(struct repo_walk *, const char *, const char *,
		    int);
static int	link_escapes(const char *, int);
static int	repo_fail(struct repo_walk *, const char *, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static void	bundle_add_parents(struct bundle *);
static int	in_list(char **, size_t, const char *);
static int	entry_cmp(const void *, const void *);
static la_ssize_t bundle_out_cb(struct archive *, void *, const void *,
		    size_t);
static int	bundle_put(struct archive *, const struct bundle_entry *,
		    char **);
static int	bundle_put_src(struct archive *, const struct bundle_entry *,
		    char **);

struct bundle *
bundle_new(void)
{
	return (xcalloc(1, sizeof(struct bundle)));
}

/* Free a bundle and its entries; NULL the pointer. */
void
bundle_free(struct bundle **bp)
{
	struct bundle	*b = *bp;
	size_t		 i;

	if (b == NULL)
		return;
	for (i = 0; i < b->b_n; i++) {
		free(b->b_ents[i].be_path);
		free(b->b_ents[i].be_own);
		free(b->b_ents[i].be_src);
		free(b->b_ents[i].be_link);
	}
	free(b->b_ents);
	free(b);
	*bp = NULL;
}

size_t
bundle_count(const struct bundle *b)
{
	return (b->b_n);
}

/* Append an entry for path (copied) and return it, zeroed otherwise. */
static struct bundle_entry *
bundle_push(struct bundle *b, const char *path, enum bundle_type type)
{
	struct bundle_entry	*be;

	if (b->b_n == b->b_alloc) {
		b->b_alloc = b->b_alloc == 0 ? 64 : b->b_alloc * 2;
		b->b_ents = xreallocarray(b->b_ents, b->b_alloc,
		    sizeof(*b->b_ents));
	}
	be = &b->b_ents[b->b_n++];
	memset(be, 0, sizeof(*be));
	be->be_path = xstrdup(path);
	be->be_type = type;
	return (be);
}

/* A path in the archive: relative, no "." or ".." or empty parts. */
static int
bundle_check_path(const char *path, char **cause)
{
	const char	*p, *e;
	size_t		 n;

	if (*path == '\0' || strlen(path) > BUNDLE_PATH_MAX)
		goto bad;
	for (p = path; ; p = e + 1) {
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && *p == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		if (*e == '\0')
			return (0);
	}
bad:
	xasprintf(cause, "bundle: bad path \"%s\"", path);
	return (-1);
}

/*
 * Add every file of the pack under .claude/skills/.  The contents are not
 * copied: the pack must outlive bundle_write().
 */
int
bundle_add_skills(struct bundle *b, const struct skills *sp, char **cause)
{
	const struct skill_file	*sf;
	struct bundle_entry	*be;
	char			*path;
	size_t			 i;

	for (i = 0; i < skills_nfiles(sp); i++) {
		sf = skills_file(sp, i);
		xasprintf(&path, "%s/%s", BUNDLE_SKILLS_DIR, sf->sf_path);
		if (bundle_check_path(path, cause) == -1) {
			free(path);
			return (-1);
		}
		be = bundle_push(b, path, BUNDLE_FILE);
		be->be_data = sf->sf_data;
		be->be_len = sf->sf_len;
		be->be_exec = sf->sf_exec;
		free(path);
	}
	return (0);
}

/* Add a file with the given contents (copied) at path. */
int
bundle_add_file(struct bundle *b, const char *path, const void *data,
    size_t len, int exec, char **cause)
{
	struct bundle_entry	*be;

	if (bundle_check_path(path, cause) == -1)
		return (-1);
	be = bundle_push(b, path, BUNDLE_FILE);
	be->be_own = xmalloc(len + 1);
	memcpy(be->be_own, data, len);
	be->be_own[len] = '\0';
	be->be_data = be->be_own;
	be->be_len = len;
	be->be_exec = exec;
	return (0);
}

/* Set *cause to "repo <dir>: <rel>: <message>" and fail. */
static int
repo_fail(struct repo_walk *rw, const char *rel, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rel != NULL)
		xasprintf(rw->rw_cause, "repo %s: %s: %s", rw->rw_root, rel,
		    msg);
	else
		xasprintf(rw->rw_cause, "repo %s: %s", rw->rw_root, msg);
	free(msg);
	return (-1);
}

/*
 * True if a link at the given depth below the repo (its directory's
 * number of components) with this target would lead outside the repo.
 */
static int
link_escapes(const char *target, int depth)
{
	const char	*p, *e;
	size_t		 n;

	if (*target == '/' || *target == '\0')
		return (1);
	for (p = target; ; p = e + 1) {
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return (1);
		} else if (n > 0 && !(n == 1 && *p == '.'))
			depth++;
		if (*e == '\0')
			return (0);
	}
}

/* Record a symbolic link, refusing one that leads out of the repo. */
static int
repo_link(struct repo_walk *rw, const char *rel, const char *path,
    int depth)
{
	struct bundle_entry	*be;
	char			 target[BUNDLE_PATH_MAX + 1], *apath;
	ssize_t			 n;

	if ((n = readlink(path, target, sizeof(target) - 1)) == -1)
		return (repo_fail(rw, rel, "%s", strerror(errno)));
	target[n] = '\0';
	if (link_escapes(target, depth))
		return (repo_fail(rw, rel, "symbolic link to \"%s\" leads "
		    "outside the repo", target));
	xasprintf(&apath, "%s/%s", BUNDLE_REPO_DIR, rel);
	be = bundle_push(rw->rw_b, apath, BUNDLE_LINK);
	be->be_link = xstrdup(target);
	free(apath);
	return (0);
}

/* One entry of the repo: a directory, file, link or special file. */
static int
repo_entry(void *arg, const char *rel, const char *path, const char *name)
{
	struct repo_walk	*rw = arg;
	struct bundle_entry	*be;
	struct stat		 st;
	char			*apath;

	if (++rw->rw_files > BUNDLE_REPO_FILES)
		return (repo_fail(rw, NULL, "more than %d files (the bundle's "
		    "repo file limit)", BUNDLE_REPO_FILES));
	if (strlen(rel) > BUNDLE_PATH_MAX - sizeof(BUNDLE_REPO_DIR))
		return (repo_fail(rw, rel, "path too long"));
	if (lstat(path, &st) == -1)
		return (repo_fail(rw, rel, "%s", strerror(errno)));
	if (S_ISDIR(st.st_mode))
		return (repo_dir(rw, rel, path));
	if (S_ISLNK(st.st_mode))
		return (repo_link(rw, rel, path, rw->rw_depth));
	if (!S_ISREG(st.st_mode)) {
		log_debug("bundle: %s: not a regular file, left out", rel);
		rw->rw_skipped++;
		return (0);
	}
	if ((uintmax_t)st.st_size > rw->rw_max - rw->rw_bytes)
		return (repo_fail(rw, NULL, "more than %zu bytes (the "
		    "bundle's repo size limit)", rw->rw_max));
	rw->rw_bytes += (size_t)st.st_size;
	xasprintf(&apath, "%s/%s", BUNDLE_REPO_DIR, rel);
	be = bundle_push(rw->rw_b, apath, BUNDLE_FILE);
	be->be_src = xstrdup(path);
	be->be_len = (size_t)st.st_size;
	be->be_exec = (st.st_mode & 0111) != 0;
	free(apath);
	return (0);
}

/* Add a directory of the repo (rel NULL: its top) and walk into it. */
static int
repo_dir(struct repo_walk *rw, const char *rel, const char *path)
{
	char	*apath;
	int	 r;

	if (rel != NULL) {
		xasprintf(&apath, "%s/%s", BUNDLE_REPO_DIR, rel);
		bundle_push(rw->rw_b, apath, BUNDLE_DIR);
		free(apath);
		rw->rw_depth++;
	}
	r = dir_each(path, rel, repo_entry, rw);
	if (r == -1 && *rw->rw_cause == NULL)
		r = repo_fail(rw, rel, "%s", strerror(errno));
	if (rel != NULL)
		rw->rw_depth--;
	return (r);
}

/*
 * Add the repository at dir under repo/, everything in it including .git,
 * with at most max bytes of file contents (0: BUNDLE_REPO_MAX).  Symbolic
 * links stay links and must not lead outside the repo; sockets, FIFOs and
 * devices are left out.  The files are read when the bundle is written.
 */
int
bundle_add_repo(struct bundle *b, const char *dir, size_t max, char **cause)
{
	struct repo_walk	rw;
	struct stat		st;

	*cause = NULL;
	memset(&rw, 0, sizeof(rw));
	rw.rw_b = b;
	rw.rw_root = dir;
	rw.rw_max = max != 0 ? max : BUNDLE_REPO_MAX;
	rw.rw_cause = cause;
	if (stat(dir, &st) == -1)
		return (repo_fail(&rw, NULL, "%s", strerror(errno)));
	if (!S_ISDIR(st.st_mode))
		return (repo_fail(&rw, NULL, "not a directory"));
	bundle_push(b, BUNDLE_REPO_DIR, BUNDLE_DIR);
	if (repo_dir(&rw, NULL, dir) == -1)
		return (-1);
	if (rw.rw_skipped > 0)
		log_info("bundle: repo %s: %zu special files left out", dir,
		    rw.rw_skipped);
	return (0);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct bundle_entry	*ea = a, *eb = b;

	return (strcmp(ea->be_path, eb->be_path));
}

/* True if path is one of the n strings in list. */
static int
in_list(char **list, size_t n, const char *path)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], path) == 0)
			return (1);
	return (0);
}

/*
 * Add every parent directory that has no entry of its own, then sort.
 * Only a few are ever missing (the repo walk adds its own), so the list
 * of those added is searched linearly.
 */
static void
bundle_add_parents(struct bundle *b)
{
	struct bundle_entry	  key;
	char			**added = NULL, *dir, *slash;
	size_t			  i, n = b->b_n, nadded = 0;

	qsort(b->b_ents, n, sizeof(*b->b_ents), entry_cmp);
	for (i = 0; i < n; i++) {
		dir = xstrdup(b->b_ents[i].be_path);
		while ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			key.be_path = dir;
			if (bsearch(&key, b->b_ents, n, sizeof(key),
			    entry_cmp) != NULL || in_list(added, nadded, dir))
				break;
			added = xreallocarray(added, nadded + 1,
			    sizeof(*added));
			added[nadded++] = xstrdup(dir);
		}
		free(dir);
	}
	for (i = 0; i < nadded; i++) {
		bundle_push(b, added[i], BUNDLE_DIR);
		free(added[i]);
	}
	free(added);
	qsort(b->b_ents, b->b_n, sizeof(*b->b_ents), entry_cmp);
}

/* The libarchive write callback: append to the buffer, within the cap. */
static la_ssize_t
bundle_out_cb(struct archive *a, void *arg, const void *data, size_t len)
{
	struct bundle_out	*bo = arg;

	if (buf_add(&bo->bo_buf, data, len) == -1) {
		bo->bo_full = 1;
		archive_set_error(a, EMSGSIZE, "bundle too large");
		return (-1);
	}
	return ((la_ssize_t)len);
}

/* Copy a repo file's contents into the archive, checking its size. */
static int
bundle_put_src(struct archive *a, const struct bundle_entry *be,
    char **cause)
{
	char	 chunk[64 * 1024];
	size_t	 left = be->be_len;
	ssize_t	 n = 0;
	int	 fd, err;

	fd = open(be->be_src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		xasprintf(cause, "bundle: %s: %s", be->be_src,
		    strerror(errno));
		return (-1);
	}
	while (left > 0) {
		n = read(fd, chunk, left < sizeof(chunk) ? left :
		    sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (archive_write_data(a, chunk, (size_t)n) != n) {
			close(fd);
			return (-1);	/* the caller reports the error */
		}
		left -= (size_t)n;
	}
	err = n == -1 ? errno : 0;
	close(fd);
	if (left > 0) {
		xasprintf(cause, "bundle: %s: %s", be->be_src, err != 0 ?
		    strerror(err) : "changed while being read");
		return (-1);
	}
	return (0);
}

/* Write one entry: header, then contents. */
static int
bundle_put(struct archive *a, const struct bundle_entry *be, char **cause)
{
	struct archive_entry	*ae;
	int			 r = 0;

	ae = archive_entry_new();
	archive_entry_set_pathname(ae, be->be_path);
	archive_entry_set_mtime(ae, BUNDLE_MTIME, 0);
	archive_entry_set_uid(ae, BUNDLE_UID);
	archive_entry_set_gid(ae, BUNDLE_UID);
	archive_entry_set_uname(ae, BUNDLE_USER);
	archive_entry_set_gname(ae, BUNDLE_USER);
	switch (be->be_type) {
	case BUNDLE_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		break;
	case BUNDLE_LINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_set_symlink(ae, be->be_link);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, be->be_exec ? 0755 : 0644);
		archive_entry_set_size(ae, (la_int64_t)be->be_len);
		break;
	}
	if (archive_write_header(a, ae) < ARCHIVE_WARN)
		r = -1;
	else if (be->be_src != NULL)
		r = bundle_put_src(a, be, cause);
	else if (be->be_type == BUNDLE_FILE && be->be_len > 0 &&
	    archive_write_data(a, be->be_data, be->be_len) !=
	    (la_ssize_t)be->be_len)
		r = -1;
	archive_entry_free(ae);
	return (r);
}

/* Open a to write into bo's buffer, which is made to hold max bytes. */
static int
bundle_open(struct archive *a, struct bundle_out *bo, size_t max)
{
	buf_init(&bo->bo_buf, max != 0 ? max : BUNDLE_MAX);
	bo->bo_full = 0;
	return (archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, bo, NULL, bundle_out_cb, NULL) !=
	    ARCHIVE_OK ? -1 : 0);
}

/* Use gzip, fast and without a timestamp (the bytes stay the same). */
static int
bundle_gzip(struct archive *a)
{
	return (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp,"
	    "gzip:compression-level=1") != ARCHIVE_OK ? -1 : 0);
}

/* Write b's entries, parents added and sorted, and close the archive. */
static int
bundle_entries(struct bundle *b, struct archive *a, char **cause)
{
	size_t	i;

	for (i = 0; i < b->b_n; i++)
		if (bundle_put(a, &b->b_ents[i], cause) == -1)
			return (-1);
	return (archive_write_close(a) != ARCHIVE_OK ? -1 : 0);
}

/* The error of a failed write, unless one is set already. */
static void
bundle_error(struct archive *a, const struct bundle_out *bo, char **cause)
{
	if (*cause != NULL)
		return;
	if (bo->bo_full)
		xasprintf(cause, "bundle: larger than %zu bytes (the bundle "
		    "size limit)", bo->bo_buf.b_max);
	else
		xasprintf(cause, "bundle: %s", archive_error_string(a) ?
		    archive_error_string(a) : "libarchive failed");
}

/*
 * Write the archive: a .tar.gz of at most max bytes (0: BUNDLE_MAX) that
 * the caller gets in *data (to free) and *len.  With a head, the archive
 * is the head's gzip member followed by one of b's entries: the same tar
 * stream as one archive of both, provided b's entries all sort after the
 * head's (gzip readers read concatenated members as one stream).
 */
int
bundle_write(struct bundle *b, const struct bundle_head *head, size_t max,
    char **data, size_t *len, char **cause)
{
	struct archive		*a;
	struct bundle_out	 bo;
	int			 r = -1;

	*data = NULL;
	*cause = NULL;
	memset(&bo, 0, sizeof(bo));
	bundle_add_parents(b);
	a = archive_write_new();
	if (bundle_gzip(a) == -1 ||
	    archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
	    bundle_open(a, &bo, max) == -1)
		goto out;
	if (head != NULL && b->b_n > 0 &&
	    strcmp(b->b_ents[0].be_path, head->bh_last) <= 0) {
		xasprintf(cause, "bundle: %s does not sort after the Skills "
		    "pack's entries", b->b_ents[0].be_path);
		goto out;
	}
	if (head != NULL && buf_add(&bo.bo_buf, head->bh_gz,
	    head->bh_len) == -1) {
		bo.bo_full = 1;
		goto out;
	}
	if (bundle_entries(b, a, cause) == -1)
		goto out;
	*data = buf_detach(&bo.bo_buf, len);
	r = 0;
out:
	if (r == -1)
		bundle_error(a, &bo, cause);
	archive_write_free(a);
	buf_free(&bo.bo_buf);
	return (r);
}

/* Write b's entries as a plain tar into bo, without the end-of-archive. */
static int
bundle_head_tar(struct bundle *b, struct bundle_out *bo, char **cause)
{
	static const char	 zero[BUNDLE_EOA];
	struct archive		*a = archive_write_new();
	int			 r = -1;

	if (archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
	    bundle_open(a, bo, 0) == -1 || bundle_entries(b, a, cause) == -1)
		bundle_error(a, bo, cause);
	else if (bo->bo_buf.b_len < BUNDLE_EOA || memcmp(bo->bo_buf.b_data +
	    bo->bo_buf.b_len - BUNDLE_EOA, zero, BUNDLE_EOA) != 0)
		xasprintf(cause, "bundle: no end-of-archive where expected");
	else {
		bo->bo_buf.b_len -= BUNDLE_EOA;
		r = 0;
	}
	archive_write_free(a);
	return (r);
}

/* Compress len bytes of tar into bo: one gzip member, no tar of its own. */
static int
bundle_head_gzip(const char *tar, size_t len, struct bundle_out *bo,
    char **cause)
{
	struct archive		*a = archive_write_new();
	struct archive_entry	*ae = archive_entry_new();
	int			 r = -1;

	archive_entry_set_pathname(ae, "head");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_size(ae, (la_int64_t)len);
	if (bundle_gzip(a) == -1 ||
	    archive_write_set_format_raw(a) != ARCHIVE_OK ||
	    bundle_open(a, bo, 0) == -1 ||
	    archive_write_header(a, ae) != ARCHIVE_OK ||
	    archive_write_data(a, tar, len) != (la_ssize_t)len ||
	    archive_write_close(a) != ARCHIVE_OK)
		bundle_error(a, bo, cause);
	else
		r = 0;
	archive_entry_free(ae);
	archive_write_free(a);
	return (r);
}

/*
 * Compress b's entries (parents added, sorted) once, as the head of the
 * bundles that bundle_write() makes later: the Skills pack, the same for
 * every job.  NULL with *cause set on failure.
 */
struct bundle_head *
bundle_head_new(struct bundle *b, char **cause)
{
	struct bundle_head	*head = NULL;
	struct bundle_out	 tar, gz;
	size_t			 len;

	*cause = NULL;
	memset(&tar, 0, sizeof(tar));
	memset(&gz, 0, sizeof(gz));
	bundle_add_parents(b);
	if (b->b_n == 0) {
		xasprintf(cause, "bundle: an empty head");
		return (NULL);
	}
	if (bundle_head_tar(b, &tar, cause) == 0 &&
	    bundle_head_gzip(tar.bo_buf.b_data, tar.bo_buf.b_len, &gz,
	    cause) == 0) {
		head = xcalloc(1, sizeof(*head));
		head->bh_gz = buf_detach(&gz.bo_buf, &len);
		head->bh_len = len;
		head->bh_last = xstrdup(b->b_ents[b->b_n - 1].be_path);
	}
	buf_free(&tar.bo_buf);
	buf_free(&gz.bo_buf);
	return (head);
}

void
bundle_head_free(struct bundle_head **hp)
{
	if (*hp == NULL)
		return;
	free((*hp)->bh_gz);
	free((*hp)->bh_last);
	free(*hp);
	*hp = NULL;
}
