/*
 * Bringing a job's results home: one script in the sandbox packs the
 * diff, its numstat, result.json and the artifacts into a tarball, and
 * one download fetches it.  The tarball was made where the agent had the
 * run of the place, so it is untrusted: only regular files with clean
 * relative names are taken, every size is capped, and files are created
 * below the job directory with O_NOFOLLOW, never replacing anything.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "diffstat.h"
#include "envd.h"
#include "json.h"
#include "log.h"
#include "pipeline_int.h"
#include "result.h"
#include "sandbox.h"
#include "wjob.h"
#include "xmalloc.h"

#define COLLECT_SMALL_MAX	(1024 * 1024)	/* numstat, result.json */
#define COLLECT_SPOOL		".collect.tar.gz" /* without memfd */

static int	collect_clean_name(const char *, const char **);
static int	collect_open(int, const char *, char **);
static int	collect_copy(struct archive *, int, int64_t, int64_t *,
		    char **);
static int	collect_small(struct archive *, struct buf *, char **);
static int	collect_entry(struct pipeline *, struct archive *,
		    struct archive_entry *, int, char **);
static void	collect_skipped(struct pipeline *, const char *, size_t);
static struct json_object *collect_envs(struct pipeline *);

/*
 * A tarball entry's name without its "./", if it is a clean relative
 * path: no empty, "." or ".." component, no leading slash.
 */
static int
collect_clean_name(const char *name, const char **out)
{
	const char	*p;
	size_t		 n;

	while (strncmp(name, "./", 2) == 0)
		name += 2;
	if (*name == '\0' || *name == '/' || strlen(name) > 1024)
		return (-1);
	for (p = name; *p != '\0'; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return (-1);
	}
	*out = name;
	return (0);
}

/*
 * Create path below the directory dirfd: intermediate directories are
 * made (0755), no component may be a symlink, and the file must not
 * exist.  Returns an fd open for writing.
 */
static int
collect_open(int dirfd, const char *path, char **cause)
{
	char	*copy, *p, *slash;
	int	 fd = dup(dirfd), next;

	copy = xstrdup(path);
	for (p = copy; fd != -1 && (slash = strchr(p, '/')) != NULL;
	    p = slash + 1) {
		*slash = '\0';
		if (mkdirat(fd, p, 0755) == -1 && errno != EEXIST)
			next = -1;
		else
			next = openat(fd, p, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd != -1) {
		next = openat(fd, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		close(fd);
		fd = next;
	}
	if (fd == -1)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	free(copy);
	return (fd);
}

/*
 * Copy the current entry's data to fd, at most max bytes (-1: all);
 * *total gets the entry's whole size.
 */
static int
collect_copy(struct archive *a, int fd, int64_t max, int64_t *total,
    char **cause)
{
	char	 chunk[65536];
	ssize_t	 n;
	int64_t	 done = 0;
	size_t	 w;

	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		w = (size_t)n;
		if (max >= 0 && done + n > max)
			w = done < max ? (size_t)(max - done) : 0;
		if (w > 0 && write(fd, chunk, w) != (ssize_t)w) {
			xasprintf(cause, "write: %s", strerror(errno));
			return (-1);
		}
		done += n;
	}
	if (n < 0) {
		xasprintf(cause, "%s", archive_error_string(a));
		return (-1);
	}
	*total = done;
	return (0);
}

/* Read the current entry into a small bounded buffer. */
static int
collect_small(struct archive *a, struct buf *b, char **cause)
{
	char	chunk[16384];
	ssize_t	n;

	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (buf_add(b, chunk, (size_t)n) == -1) {
			xasprintf(cause, "larger than %zu bytes", b->b_max);
			return (-1);
		}
	}
	if (n < 0) {
		xasprintf(cause, "%s", archive_error_string(a));
		return (-1);
	}
	return (0);
}

/* artifacts.skipped: "path<TAB>bytes" lines of files over the caps. */
static void
collect_skipped(struct pipeline *p, const char *data, size_t len)
{
	struct json_object	*o;
	const char		*line, *tab, *end = data + len;

	for (line = data; line < end; line = tab + strcspn(tab, "\n") + 1) {
		tab = memchr(line, '\t', (size_t)(end - line));
		if (tab == NULL)
			break;
		o = json_object_new_object();
		json_add_stringn(o, "path", line, (size_t)(tab - line));
		json_add_int(o, "bytes", strtoll(tab + 1, NULL, 10));
		json_add_string(o, "skipped", "over the size cap");
		json_object_array_add(p->p_skipped, o);
	}
}

/* Take one tarball entry. */
static int
collect_entry(struct pipeline *p, struct archive *a, struct archive_entry *e,
    int dirfd, char **cause)
{
	struct json_object	*o;
	struct buf		 b;
	const char		*name;
	int64_t			 size;
	int			 fd, rv = 0;

	if (archive_entry_filetype(e) != AE_IFREG ||
	    collect_clean_name(archive_entry_pathname(e), &name) == -1)
		return (0);
	if (strcmp(name, "diff.patch") == 0 ||
	    strncmp(name, "artifacts/", 10) == 0) {
		if ((fd = collect_open(dirfd, name, cause)) == -1)
			return (-1);
		rv = collect_copy(a, fd, strcmp(name, "diff.patch") == 0 ?
		    PIPE_DIFF_MAX : PIPE_ARTIFACT_MAX, &size, cause);
		close(fd);
		if (rv == 0 && strcmp(name, "diff.patch") == 0) {
			p->p_diff_bytes = (size_t)size;
			p->p_diff_truncated = size > PIPE_DIFF_MAX;
		} else if (rv == 0) {
			o = json_object_new_object();
			json_add_string(o, "path", name + 10);
			json_add_int(o, "bytes", size);
			json_object_array_add(p->p_artifacts, o);
		}
		return (rv);
	}
	buf_init(&b, COLLECT_SMALL_MAX);
	if (collect_small(a, &b, cause) == -1)
		rv = -1;
	else if (strcmp(name, "numstat") == 0)
		rv = diffstat_numstat(&p->p_diff, buf_str(&b), buf_len(&b),
		    cause);
	else if (strcmp(name, "result.json") == 0 && result_parse(buf_str(&b),
	    buf_len(&b), &p->p_rf, &p->p_rf_error) == -1)
		log_info("result.json: %s", p->p_rf_error);
	else if (strcmp(name, "artifacts.skipped") == 0)
		collect_skipped(p, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return (rv);
}

/* Unpack the collected tarball (at fd) into the job directory. */
int
collect_unpack(struct pipeline *p, int fd, int dirfd, char **cause)
{
	struct archive		*a;
	struct archive_entry	*e;
	int			 r, rv = 0;

	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		xasprintf(cause, "%s", archive_error_string(a));
		archive_read_free(a);
		return (-1);
	}
	while (rv == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		rv = collect_entry(p, a, e, dirfd, cause);
	if (rv == 0 && r != ARCHIVE_EOF) {
		xasprintf(cause, "%s", archive_error_string(a));
		rv = -1;
	}
	archive_read_free(a);
	return (rv);
}

/* What the collect script is told: the artifact globs and the caps. */
static struct json_object *
collect_envs(struct pipeline *p)
{
	const struct jobspec	*js = p->p_job->wj_spec;
	struct json_object	*e;
	struct buf		 globs;
	char			 n[32];
	size_t			 i;

	e = json_object_new_object();
	buf_init(&globs, 64 * 1024);
	for (i = 0; i < js->js_nartifacts; i++)
		buf_printf(&globs, "%s\n", js->js_artifacts[i]);
	json_add_string(e, "SKILLBOX_ARTIFACTS", buf_str(&globs));
	buf_free(&globs);
	snprintf(n, sizeof(n), "%d", PIPE_ARTIFACT_MAX);
	json_add_string(e, "SKILLBOX_ARTIFACT_MAX", n);
	snprintf(n, sizeof(n), "%d", PIPE_ARTIFACTS_TOTAL);
	json_add_string(e, "SKILLBOX_COLLECT_MAX", n);
	return (e);
}

/*
 * A file without a name for the downloaded tarball: in memory (at most
 * PIPE_COLLECT_MAX, usually a few kilobytes), or where memfd is not
 * allowed, a file in the job directory unlinked at once.  The memfd costs
 * the state directory's file system nothing: on ext4 without a journal,
 * an inode made and freed for every job is then stepped over by every
 * file made there in the next minute, skillboxd's own included.
 */
int
collect_spool(int dirfd)
{
	int	fd, saved;

	if ((fd = memfd_create("skillbox-collect", MFD_CLOEXEC)) != -1 ||
	    (errno != ENOSYS && errno != EPERM))
		return (fd);
	if ((fd = openat(dirfd, COLLECT_SPOOL, O_RDWR | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return (-1);
	if (unlinkat(dirfd, COLLECT_SPOOL, 0) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/*
 * Collect the job's results: pack in the sandbox, download once, unpack
 * into the job directory.  A failure here fails the job, but whatever was
 * unpacked is kept.
 */
int
collect_run(struct pipeline *p)
{
	struct json_object	*envs;
	char			*cause = NULL;
	int			 rc, dirfd = -1, fd = -1;
	uint64_t		 got;

	pipe_phase(p, JOB_COLLECTING);
	p->p_artifacts = json_object_new_array();
	p->p_skipped = json_object_new_array();
	envs = collect_envs(p);
	rc = pipe_script(p, "skillbox-collect", sandbox_collect_sh, envs, NULL,
	    PIPE_SCRIPT_MS, &cause);
	json_object_put(envs);
	if (rc != 0) {
		if (rc > 0)
			xasprintf(&cause, "exit %d: %s", rc,
			    buf_str(&p->p_stderr));
		goto fail;
	}
	if (mkdir(p->p_job->wj_job_dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(&cause, "%s: %s", p->p_job->wj_job_dir,
		    strerror(errno));
		goto fail;
	}
	if ((dirfd = open(p->p_job->wj_job_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		xasprintf(&cause, "%s: %s", p->p_job->wj_job_dir,
		    strerror(errno));
		goto fail;
	}
	if ((fd = collect_spool(dirfd)) == -1) {
		xasprintf(&cause, "%s: no file to download into: %s",
		    p->p_job->wj_job_dir, strerror(errno));
		goto fail;
	}
	if ((rc = envd_download_fd(p->p_envd, SANDBOX_COLLECTED, 0,
	    PIPE_COLLECT_MAX, fd, &got, &cause)) != 0) {
		if (rc == 1)
			xasprintf(&cause, "%s is missing", SANDBOX_COLLECTED);
		goto fail;
	}
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    collect_unpack(p, fd, dirfd, &cause) == -1)
		goto fail;
	close(fd);
	close(dirfd);
	return (0);
fail:
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	pipe_fail(p, JOB_FAILED, "cannot collect the results: %s",
	    cause != NULL ? cause : "unknown error");
	free(cause);
	return (-1);
}
