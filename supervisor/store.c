/*
 * The state directory: jobs/<id>/job.json (written to a temporary file,
 * fsync'd and swapped in, so a crash leaves either the old or the new
 * version), jobs/<id>/events.jsonl (appended, one entry per line), and
 * what the worker writes there itself (diff.patch, artifacts/).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "redact.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define STORE_READ_CHUNK	(64 * 1024)

static char	*store_root;

/* One job.json read at start, to be sorted by creation time. */
struct store_doc {
	struct json_object	*sd_doc;
	int64_t			 sd_created;
	char			 sd_id[JOB_ID_SIZE];
};

static int	store_mkdir(const char *, char **);
static int	store_fsync_dir(const char *);
static struct json_object *store_read_doc(const char *, const char *);
static int	store_doc_cmp(const void *, const void *);
static int	store_log_index(struct job *);
static int	store_log_open(struct job *);
static void	store_log_offset(struct joblog *, off_t);
static off_t	store_log_pos(const struct joblog *, uint64_t);

/* Create dir (and its parents) with mode 0700 if missing. */
static int
store_mkdir(const char *dir, char **cause)
{
	char	*path, *p;
	int	 last;

	path = xstrdup(dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = (*p == '\0');
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			free(path);
			return (-1);
		}
		if (last)
			break;
		*p = '/';
	}
	free(path);
	return (0);
}

/* Open the state directory, creating it and jobs/ if needed. */
int
store_init(const char *dir, char **cause)
{
	char	*jobs, *real;
	int	 r;

	xasprintf(&jobs, "%s/jobs", dir);
	r = store_mkdir(jobs, cause);
	free(jobs);
	if (r == -1)
		return (-1);
	/* Absolute, since workers are told where their job's files go. */
	if ((real = realpath(dir, NULL)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	free(store_root);
	store_root = xstrdup(real);
	free(real);
	return (0);
}

void
store_close(void)
{
	free(store_root);
	store_root = NULL;
}

const char *
store_dir(void)
{
	return (store_root);
}

/* The path of a file in the job's directory, or of the directory. */
char *
store_job_path(const struct job *j, const char *name)
{
	char	*path;

	if (name == NULL)
		xasprintf(&path, "%s/jobs/%s", store_root, j->j_id);
	else
		xasprintf(&path, "%s/jobs/%s/%s", store_root, j->j_id, name);
	return (path);
}

/* Make a directory's entries durable. */
static int
store_fsync_dir(const char *dir)
{
	int	fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	r = fsync(fd);
	close(fd);
	return (r);
}

/*
 * Write s and a newline to a new or truncated file and make it durable.
 * One write: the line is copied rather than written in two calls.
 */
static int
store_write_file(const char *path, int flags, const char *s, size_t len)
{
	char	*line;
	int	 fd, r, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags,
	    0600)) == -1)
		return (-1);
	line = xmalloc(len + 1);
	memcpy(line, s, len);
	line[len] = '\n';
	r = write_all(fd, line, len + 1);
	free(line);
	if (r == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (close(fd));
}

/*
 * Put the new version (tmp) in place of the old (path).  They are
 * exchanged where the filesystem can: the old version becomes the next
 * save's temporary file, so a job costs no new inode per save and
 * deletes none (on ext4 that was most of what a save cost).
 */
static int
store_swap(const char *tmp, const char *path)
{
#ifdef RENAME_EXCHANGE
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
		return (0);
	if (errno != EINVAL && errno != ENOENT && errno != ENOSYS &&
	    errno != EOPNOTSUPP)
		return (-1);
#endif
	return (rename(tmp, path));
}

/*
 * Save the job's job.json atomically: a crash leaves one whole version.
 * The first save, in the job's new directory, writes job.json itself: a
 * job is announced only after it returns, so a write cut short there is
 * a job nobody was told of.  Later saves write job.json.tmp, fsync it and
 * swap it in.  The directories are fsync'd for their new entries.
 */
int
store_save(struct job *j, char **cause)
{
	struct json_object	*o;
	char			*dir, *jobs = NULL, *tmp = NULL, *path = NULL;
	const char		*s, *what;
	size_t			 len;
	int			 r = -1, fresh;

	dir = store_job_path(j, NULL);
	what = dir;
	fresh = mkdir(dir, 0700) == 0;
	if (!fresh && errno != EEXIST)
		goto fail;
	xasprintf(&tmp, "%s/job.json.tmp", dir);
	xasprintf(&path, "%s/job.json", dir);
	o = job_to_json(j);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	what = fresh ? path : tmp;
	r = store_write_file(what, fresh ? O_EXCL : O_TRUNC, s, len);
	json_object_put(o);
	if (r == -1 || (!fresh && store_swap(tmp, path) == -1) ||
	    store_fsync_dir(dir) == -1) {
		r = -1;
		goto fail;
	}
	if (fresh) {			/* the job's directory is new in jobs/ */
		xasprintf(&jobs, "%s/jobs", store_root);
		what = jobs;
		if ((r = store_fsync_dir(jobs)) == -1)
			goto fail;
	}
	goto out;
fail:
	xasprintf(cause, "%s: %s", what, strerror(errno));
	if (fresh) {			/* so that the next save starts afresh */
		(void)unlink(path);
		(void)rmdir(dir);
	}
out:
	free(jobs);
	free(dir);
	free(tmp);
	free(path);
	return (r);
}

/* Parse jobs/<id>/job.json; NULL (logged) if it cannot be used. */
static struct json_object *
store_read_doc(const char *id, const char *path)
{
	struct json_object	*o = NULL;
	struct buf		 b;
	char			*cause = NULL;
	int			 fd, truncated;

	buf_init(&b, STORE_FILE_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			log_warn("job %s: %s", id, path);
		goto out;
	}
	if (buf_read_fd(&b, fd, STORE_FILE_MAX, &truncated) == -1 ||
	    truncated)
		log_warnx("job %s: cannot read %s", id, path);
	else if ((o = json_parse(buf_str(&b), buf_len(&b), &cause)) == NULL)
		log_warnx("job %s: %s: %s", id, path, cause);
	else if (!json_object_is_type(o, json_type_object)) {
		log_warnx("job %s: %s: not an object", id, path);
		json_object_put(o);
		o = NULL;
	}
	close(fd);
out:
	free(cause);
	buf_free(&b);
	return (o);
}

static int
store_doc_cmp(const void *a, const void *b)
{
	const struct store_doc	*x = a, *y = b;

	if (x->sd_created != y->sd_created)
		return (x->sd_created < y->sd_created ? -1 : 1);
	return (strcmp(x->sd_id, y->sd_id));
}

/*
 * Read every job.json in the state directory and hand each to cb, oldest
 * first.  A job.json.tmp (a write cut short, or the version before the
 * last) is removed: the job.json beside it is the last complete version,
 * and a finished job needs no spare.  Returns the number of jobs handed
 * over, or -1 if the directory cannot be read.
 */
int
store_load_all(store_load_cb cb, void *arg)
{
	struct store_doc	*docs = NULL;
	struct dirent		*de;
	DIR			*d;
	char			*path;
	size_t			 n = 0, cap = 0, i;

	xasprintf(&path, "%s/jobs", store_root);
	d = opendir(path);
	free(path);
	if (d == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (!job_id_valid(de->d_name))
			continue;
		xasprintf(&path, "%s/jobs/%s/job.json.tmp", store_root,
		    de->d_name);
		if (unlink(path) == 0)
			log_debug("job %s: removed a spare job.json.tmp",
			    de->d_name);
		path[strlen(path) - 4] = '\0';
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			docs = xreallocarray(docs, cap, sizeof(*docs));
		}
		if ((docs[n].sd_doc = store_read_doc(de->d_name, path)) !=
		    NULL) {
			docs[n].sd_created = json_peek_int(docs[n].sd_doc,
			    "created_ms", 0);
			memcpy(docs[n].sd_id, de->d_name, JOB_ID_SIZE);
			n++;
		}
		free(path);
	}
	closedir(d);
	if (n > 0)
		qsort(docs, n, sizeof(*docs), store_doc_cmp);
	for (i = 0; i < n; i++) {
		cb(docs[i].sd_doc, docs[i].sd_id, arg);
		json_object_put(docs[i].sd_doc);
	}
	free(docs);
	return ((int)n);
}

/* Remember where the next entry of the log starts. */
static void
store_log_offset(struct joblog *l, off_t off)
{
	if (l->jl_noffs == l->jl_capoffs) {
		l->jl_capoffs = l->jl_capoffs == 0 ? 16 : l->jl_capoffs * 2;
		l->jl_offs = xreallocarray(l->jl_offs, l->jl_capoffs,
		    sizeof(*l->jl_offs));
	}
	l->jl_offs[l->jl_noffs++] = off;
}

/* Where entry n starts, or the end of the log for n == count. */
static off_t
store_log_pos(const struct joblog *l, uint64_t n)
{
	return (n < l->jl_count ? l->jl_offs[n] : l->jl_size);
}

/* Find where each entry of an existing events.jsonl starts. */
static int
store_log_index(struct job *j)
{
	struct joblog	*l = &j->j_log;
	char		 chunk[STORE_READ_CHUNK], *path;
	ssize_t		 n, i;
	off_t		 pos = 0;
	int		 fd, start = 1;

	l->jl_noffs = 0;
	l->jl_count = 0;
	l->jl_size = 0;
	path = store_job_path(j, "events.jsonl");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd == -1) {
		l->jl_indexed = errno == ENOENT;
		return (errno == ENOENT ? 0 : -1);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < n; i++, pos++) {
			if (start)
				store_log_offset(l, pos);
			start = chunk[i] == '\n';
		}
	}
	close(fd);
	if (n == -1)
		return (-1);
	l->jl_count = l->jl_noffs;
	l->jl_size = pos;
	l->jl_indexed = 1;
	return (0);
}

/* Open the job's log for appending, indexing it first if needed. */
static int
store_log_open(struct job *j)
{
	char	*path;

	if (j->j_log.jl_fd != -1)
		return (0);
	if (!j->j_log.jl_indexed && store_log_index(j) == -1)
		return (-1);
	path = store_job_path(j, "events.jsonl");
	j->j_log.jl_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	free(path);
	return (j->j_log.jl_fd == -1 ? -1 : 0);
}

/*
 * Append one entry to the job's log, numbering it ("n") and passing it
 * through redaction.  Past the caps entries are counted and dropped.
 */
int
store_log_append(struct job *j, struct json_object *e)
{
	struct joblog	*l = &j->j_log;
	const char	*s;
	char		*clean;
	size_t		 len;
	int		 r;

	if (store_log_open(j) == -1) {
		log_warn("job %s: events.jsonl", j->j_id);
		return (-1);
	}
	if (l->jl_count >= STORE_LOG_MAX_ENTRIES ||
	    l->jl_size >= STORE_LOG_MAX_BYTES) {
		l->jl_dropped++;
		return (-1);
	}
	json_add_int(e, "n", (int64_t)l->jl_count);
	s = json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	clean = redact_mem(s, len, &len);
	clean = xreallocarray(clean, 1, len + 2);
	clean[len++] = '\n';
	r = write_all(l->jl_fd, clean, len);
	free(clean);
	if (r == -1) {
		log_warn("job %s: events.jsonl", j->j_id);
		return (-1);
	}
	store_log_offset(l, l->jl_size);
	l->jl_size += (off_t)len;
	l->jl_count++;
	return (0);
}

/*
 * Read entries [off, off + limit) of the job's log into a new array *out,
 * stopping early once maxbytes are read (but always reading one).
 * Returns the number of entries read, or -1.
 */
int
store_log_read(struct job *j, uint64_t off, uint64_t limit, size_t maxbytes,
    struct json_object **out)
{
	struct joblog		*l = &j->j_log;
	struct json_object	*e;
	struct buf		 b;
	char			*path, *p, *nl, *cause = NULL;
	uint64_t		 end, n;
	off_t			 from, to;
	int			 fd, truncated;

	*out = json_object_new_array();
	if (!l->jl_indexed && store_log_index(j) == -1)
		return (-1);
	if (off >= l->jl_count || limit == 0)
		return (0);
	end = limit > l->jl_count - off ? l->jl_count : off + limit;
	from = l->jl_offs[off];
	for (n = off + 1; n < end &&
	    store_log_pos(l, n + 1) - from <= (off_t)maxbytes;)
		n++;
	end = n;
	to = store_log_pos(l, end);
	path = store_job_path(j, "events.jsonl");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd == -1)
		return (-1);
	buf_init(&b, (size_t)(to - from));
	if (lseek(fd, from, SEEK_SET) == -1 ||
	    buf_read_fd(&b, fd, (size_t)(to - from), &truncated) == -1) {
		close(fd);
		buf_free(&b);
		return (-1);
	}
	close(fd);
	p = b.b_data;
	for (n = off; n < end && p != NULL && *p != '\0'; n++) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		if ((e = json_parse(p, strlen(p), &cause)) == NULL) {
			e = json_object_new_object();
			json_add_int(e, "n", (int64_t)n);
			json_add_string(e, "kind", "unreadable");
			free(cause);
			cause = NULL;
		}
		json_object_array_add(*out, e);
		p = nl != NULL ? nl + 1 : NULL;
	}
	buf_free(&b);
	return ((int)(n - off));
}

/* How many entries the job's log holds (indexing it if need be). */
uint64_t
store_log_count(struct job *j)
{
	if (!j->j_log.jl_indexed && store_log_index(j) == -1)
		return (0);
	return (j->j_log.jl_count);
}

/* Close the log's file; it is reopened if anything is appended later. */
void
store_log_close(struct job *j)
{
	if (j->j_log.jl_fd != -1) {
		close(j->j_log.jl_fd);
		j->j_log.jl_fd = -1;
	}
}

void
store_log_free(struct job *j)
{
	store_log_close(j);
	free(j->j_log.jl_offs);
	memset(&j->j_log, 0, sizeof(j->j_log));
	j->j_log.jl_fd = -1;
}

static int
store_remove_cb(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	return (type == FTW_DP ? rmdir(path) : unlink(path));
}

/*
 * Remove the job's directory and all it holds (its log is closed
 * first).  -1 with *cause if something could not be removed.
 */
int
store_remove(struct job *j, char **cause)
{
	char	*path = store_job_path(j, NULL);
	int	 r;

	store_log_close(j);
	r = nftw(path, store_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (r == -1 && errno == ENOENT)
		r = 0;
	if (r == -1)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	free(path);
	return (r);
}

/*
 * Read a file of the job's directory (name relative to it, already
 * checked by the caller) into b, at most max bytes.  Symlinks that lead
 * out of the job's directory are refused.  -1 with *cause if it cannot be
 * read; errno is ENOENT when it does not exist.
 */
int
store_read_file(const struct job *j, const char *name, size_t max,
    struct buf *b, int *truncated, char **cause)
{
	char	*dir, *path, realdir[PATH_MAX], real[PATH_MAX];
	size_t	 len;
	int	 fd = -1, r = -1, saved;

	dir = store_job_path(j, NULL);
	xasprintf(&path, "%s/%s", dir, name);
	if (realpath(dir, realdir) == NULL || realpath(path, real) == NULL)
		goto fail;
	len = strlen(realdir);
	if (strncmp(real, realdir, len) != 0 || real[len] != '/') {
		errno = ENOENT;
		goto fail;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    buf_read_fd(b, fd, max, truncated) == -1)
		goto fail;
	r = 0;
	goto out;
fail:
	xasprintf(cause, "%s: %s", name, strerror(errno));
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(dir);
	free(path);
	errno = saved;
	return (r);
}
