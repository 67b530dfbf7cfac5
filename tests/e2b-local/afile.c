/*
 * The agent's side of envd's file API (POST and GET /files): writing the
 * files of one upload, and reading one file, whole or a byte range.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "wire.h"
#include "xmalloc.h"

#define AFILE_FILES_MAX	1000

struct awrite {
	struct json_object	*w_files;	/* the paths, as given */
	size_t			 w_next;	/* the file being written */
	int			 w_fd;		/* -1 between files */
	char			*w_path;	/* its resolved path */
	struct json_object	*w_done;	/* entries written */
};

struct aread {
	int		 r_fd;
	int64_t		 r_left;
};

static int	afile_open(struct aconn *);
static void	afile_close(struct aconn *);
static void	afile_fail(struct aconn *, struct json_object *);
static void	afile_pump(struct aconn *);
static char	*afile_base(const char *);
static const char *afile_sniff(int);

static char *
afile_base(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return (xstrdup(slash != NULL && slash[1] != '\0' ? slash + 1 : path));
}

/* The content type sniffed from the first 512 bytes, as ServeContent does. */
static const char *
afile_sniff(int fd)
{
	char	head[512];
	ssize_t	n;

	if ((n = pread(fd, head, sizeof(head), 0)) < 0)
		n = 0;
	return (wire_mime_sniff(head, (size_t)n));
}

/* Start an upload: {"files": [path, ...]}. */
void
afile_write(struct aconn *ac, struct json_object *req)
{
	struct json_object	*files = NULL;
	char			*cause = NULL;
	size_t			 i;

	if (json_get_array(req, "", "files", J_REQUIRED, AFILE_FILES_MAX,
	    &files, &cause) == -1) {
		aconn_finish(ac, agent_status_error(400, "%s", cause));
		free(cause);
		return;
	}
	for (i = 0; i < json_object_array_length(files); i++) {
		if (!json_object_is_type(json_object_array_get_idx(files, i),
		    json_type_string)) {
			aconn_finish(ac, agent_status_error(400, "files: "
			    "expected strings"));
			return;
		}
	}
	ac->ac_write = xcalloc(1, sizeof(*ac->ac_write));
	ac->ac_write->w_files = json_object_get(files);
	ac->ac_write->w_fd = -1;
	ac->ac_write->w_done = json_object_new_array();
	ac->ac_state = AC_WRITE;
}

/* Answer the upload with an error and drop the file being written. */
static void
afile_fail(struct aconn *ac, struct json_object *err)
{
	struct awrite	*w = ac->ac_write;

	if (w->w_fd != -1) {
		close(w->w_fd);
		w->w_fd = -1;
	}
	aconn_finish(ac, err);
}

/* Open the next file of the upload as envd's processFile does. */
static int
afile_open(struct aconn *ac)
{
	struct awrite		*w = ac->ac_write;
	struct json_object	*e;
	struct stat		 st;
	const char		*given;
	char			*cause = NULL, *dir, *slash;
	size_t			 i;

	if (w->w_next >= json_object_array_length(w->w_files)) {
		afile_fail(ac, agent_status_error(400, "more files than "
		    "announced"));
		return (-1);
	}
	given = json_object_get_string(json_object_array_get_idx(w->w_files,
	    w->w_next));
	free(w->w_path);
	if ((w->w_path = agent_resolve(given, &cause)) == NULL) {
		afile_fail(ac, agent_status_error(400, "error resolving path: "
		    "%s", cause));
		free(cause);
		return (-1);
	}
	for (i = 0; i < json_object_array_length(w->w_done); i++) {
		e = json_object_array_get_idx(w->w_done, i);
		if (strcmp(json_peek_string(e, "path"), w->w_path) == 0) {
			afile_fail(ac, agent_status_error(400, "you cannot "
			    "upload multiple files to the same path '%s' in "
			    "one upload request, only the first specified file "
			    "was uploaded", w->w_path));
			return (-1);
		}
	}
	dir = xstrdup(w->w_path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (afs_ensure_dirs(dir, &cause) == -1) {
		afile_fail(ac, agent_status_error(500, "error ensuring "
		    "directories: %s", cause));
		free(cause);
		free(dir);
		return (-1);
	}
	free(dir);
	if (stat(w->w_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		afile_fail(ac, agent_status_error(400, "path is a directory: "
		    "%s", w->w_path));
		return (-1);
	}
	if ((w->w_fd = open(w->w_path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0666)) == -1) {
		if (errno == ENOSPC)
			afile_fail(ac, agent_status_error(507, "not enough "
			    "inodes available: open %s: %s", w->w_path,
			    agent_strerror(errno)));
		else
			afile_fail(ac, agent_status_error(500, "error opening "
			    "file: open %s: %s", w->w_path,
			    agent_strerror(errno)));
		return (-1);
	}
	return (0);
}

/* One file is complete: record its entry. */
static void
afile_close(struct aconn *ac)
{
	struct awrite		*w = ac->ac_write;
	struct json_object	*e;
	char			*name;

	close(w->w_fd);
	w->w_fd = -1;
	e = json_object_new_object();
	name = afile_base(w->w_path);
	json_add_string(e, "name", name);
	json_add_string(e, "path", w->w_path);
	json_add_string(e, "type", "file");
	json_object_array_add(w->w_done, e);
	free(name);
	w->w_next++;
}

/* Bytes of the current file; a zero-length frame ends it, END the upload. */
void
afile_write_frame(struct aconn *ac, uint8_t flags, const char *data,
    size_t len)
{
	struct awrite	*w = ac->ac_write;
	ssize_t		 n;

	if (flags & ENV_FLAG_END) {
		if (w->w_fd != -1 || w->w_next !=
		    json_object_array_length(w->w_files))
			afile_fail(ac, agent_status_error(400, "upload ended "
			    "before all of its files"));
		else
			aconn_finish(ac, agent_result(json_object_get(
			    w->w_done)));
		return;
	}
	if (w->w_fd == -1 && afile_open(ac) == -1)
		return;
	if (len == 0) {
		afile_close(ac);
		return;
	}
	while (len > 0) {
		if ((n = write(w->w_fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC)
				afile_fail(ac, agent_status_error(507, "not "
				    "enough disk space available"));
			else
				afile_fail(ac, agent_status_error(500, "error "
				    "writing file: write %s: %s", w->w_path,
				    agent_strerror(errno)));
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

/*
 * Start a download: {"path": p, "range": header}.  Sends the header frame
 * that tells e2b-local what to answer, then the bytes.
 */
void
afile_read(struct aconn *ac, struct json_object *req)
{
	struct json_object	*hdr;
	struct stat		 st;
	const char		*path = "", *range = NULL;
	char			*resolved, *cause = NULL, *name;
	int64_t			 start = 0, length;
	int			 fd, r;

	(void)json_get_string(req, "", "path", J_OPTIONAL, PATH_MAX, &path,
	    NULL);
	(void)json_get_string(req, "", "range", J_OPTIONAL, 4096, &range,
	    NULL);
	if ((resolved = agent_resolve(path, &cause)) == NULL) {
		aconn_finish(ac, agent_status_error(400, "error expanding and "
		    "resolving path '%s': %s", path, cause));
		free(cause);
		return;
	}
	if (stat(resolved, &st) == -1) {
		if (errno == ENOENT)
			aconn_finish(ac, agent_status_error(404, "path '%s' "
			    "does not exist", resolved));
		else
			aconn_finish(ac, agent_status_error(500, "error "
			    "checking if path exists '%s': stat %s: %s",
			    resolved, resolved, agent_strerror(errno)));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		aconn_finish(ac, agent_status_error(400, "path '%s' is a "
		    "directory", resolved));
		goto out;
	}
	if ((fd = open(resolved, O_RDONLY | O_CLOEXEC)) == -1) {
		aconn_finish(ac, agent_status_error(500, "error opening file "
		    "'%s': open %s: %s", resolved, resolved,
		    agent_strerror(errno)));
		goto out;
	}
	length = st.st_size;
	r = wire_range_parse(range, st.st_size, &start, &length);
	if (r != WIRE_RANGE_ONE) {
		start = 0;
		length = st.st_size;
	}
	hdr = json_object_new_object();
	json_add_int(hdr, "size", st.st_size);
	json_add_int(hdr, "mtime", st.st_mtim.tv_sec);
	name = afile_base(resolved);
	json_add_string(hdr, "name", name);
	free(name);
	json_add_int(hdr, "offset", start);
	json_add_int(hdr, "length", length);
	json_add_bool(hdr, "ranged", r == WIRE_RANGE_ONE);
	json_add_string(hdr, "sniff", afile_sniff(fd));
	if (r == WIRE_RANGE_INVALID || r == WIRE_RANGE_NOOVERLAP)
		json_add_string(hdr, "rangeError", r == WIRE_RANGE_INVALID ?
		    "invalid range" : "invalid range: failed to overlap");
	(void)fconn_send_json(ac->ac_fc, 0, hdr);
	json_object_put(hdr);
	ac->ac_read = xcalloc(1, sizeof(*ac->ac_read));
	ac->ac_read->r_fd = fd;
	ac->ac_read->r_left = r < 0 ? 0 : length;
	ac->ac_state = AC_READ;
	if (lseek(fd, start, SEEK_SET) == -1)
		ac->ac_read->r_left = 0;
	afile_pump(ac);
out:
	free(resolved);
}

/* Send more of the file while the link keeps up. */
static void
afile_pump(struct aconn *ac)
{
	static char	 chunk[AGENT_READ_CHUNK];
	struct aread	*rd = ac->ac_read;
	ssize_t		 n;
	size_t		 want;

	while (rd->r_left > 0 && fconn_pending(ac->ac_fc) < FCONN_HIGHWATER) {
		want = rd->r_left < (int64_t)sizeof(chunk) ?
		    (size_t)rd->r_left : sizeof(chunk);
		if ((n = read(rd->r_fd, chunk, want)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Shrunk or unreadable: e2b-local sees a short body. */
			aconn_finish(ac, agent_status_error(500, "error "
			    "reading file: %s", n == 0 ? "unexpected EOF" :
			    agent_strerror(errno)));
			return;
		}
		(void)fconn_send(ac->ac_fc, 0, chunk, (size_t)n);
		rd->r_left -= n;
	}
	if (rd->r_left == 0)
		aconn_finish(ac, json_object_new_object());
}

void
afile_drained(struct aconn *ac)
{
	if (ac->ac_read != NULL && ac->ac_state == AC_READ)
		afile_pump(ac);
}

/* The connection is going away: release the upload or download. */
void
afile_abort(struct aconn *ac)
{
	if (ac->ac_write != NULL) {
		if (ac->ac_write->w_fd != -1)
			close(ac->ac_write->w_fd);
		json_object_put(ac->ac_write->w_files);
		json_object_put(ac->ac_write->w_done);
		free(ac->ac_write->w_path);
		free(ac->ac_write);
		ac->ac_write = NULL;
	}
	if (ac->ac_read != NULL) {
		close(ac->ac_read->r_fd);
		free(ac->ac_read);
		ac->ac_read = NULL;
	}
}
