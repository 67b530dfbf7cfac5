/*
 * Drives worker/'s network side through one sandbox's life against an
 * E2B-compatible service (tests/e2b-local), as the job pipeline will:
 * create, upload a tarball, extract it, run a command that streams for
 * several seconds (with a fault that drops its stream), re-attach,
 * fetch the gap and a file, kill.  Prints one JSON object that
 * worker-net.mjs checks, and kills the sandbox on every path.
 *
 * usage: worker-net-drive template tarball [fault-url fault-json]
 * Environment: E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "e2b.h"
#include "envd.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"

#define DRIVE_LINES	30		/* lines the streaming command prints */
#define DRIVE_TAG	"stream"
#define DRIVE_OUT	"/home/user/out.log"
#define DRIVE_TAR	"/home/user/in.tgz"
#define DRIVE_FILE	"/home/user/hello/greeting.txt"

struct drive {
	struct event_base	*d_base;
	struct http_ctx		*d_http;
	struct e2b		*d_e2b;
	struct envd		*d_envd;
	struct e2b_sandbox	*d_sb;
	struct json_object	*d_out;		/* the summary */
	struct envd_proc	 d_proc;	/* the streaming command */
	struct buf		 d_stdout;	/* all it streamed to us */
	struct event		*d_tick;
	long			 d_t0;
	long			 d_first_ms;	/* first chunk after start */
	int			 d_chunks;
	int			 d_ticks;
};

static long
drive_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A heartbeat stand-in: proves the base runs while requests do. */
static void
drive_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	((struct drive *)arg)->d_ticks++;
}

static int
drive_stdout(void *arg, const char *p, size_t len)
{
	struct drive	*d = arg;

	if (d->d_chunks++ == 0)
		d->d_first_ms = drive_now() - d->d_t0;
	return (buf_add(&d->d_stdout, p, len));
}

/* Run cmd with /bin/sh -c and wait for it to exit 0. */
static int
drive_sh(struct drive *d, const char *cmd, char **cause)
{
	const char		*args[] = { "-c", cmd, NULL };
	struct envd_cmd		 cm = { .cm_cmd = "/bin/sh", .cm_args = args,
	    .cm_timeout_ms = 60000 };
	struct envd_proc	 pr;
	int			 rv;

	memset(&pr, 0, sizeof(pr));
	rv = envd_run(d->d_envd, &cm, NULL, &pr, cause);
	if (rv == 0 && pr.pr_exit_code != 0) {
		xasprintf(cause, "%s: %s", cmd, pr.pr_status != NULL ?
		    pr.pr_status : "failed");
		rv = -1;
	}
	envd_proc_clear(&pr);
	return (rv);
}

/* Create the sandbox and its envd client. */
static int
drive_create(struct drive *d, const char *template, char **cause)
{
	struct e2b_create	c;
	char			host[64];

	memset(&c, 0, sizeof(c));
	(void)snprintf(host, sizeof(host), "drive-%ld", (long)getpid());
	c.ec_template = template;
	c.ec_timeout_s = 300;
	c.ec_job = "worker-net-it";
	c.ec_host = host;
	c.ec_secure = 1;
	if ((d->d_e2b = e2b_new(d->d_http, getenv("E2B_API_KEY"),
	    cause)) == NULL ||
	    e2b_create(d->d_e2b, &c, &d->d_sb, cause) == -1)
		return (-1);
	json_add_string(d->d_out, "sandbox", d->d_sb->sb_id);
	json_add_bool(d->d_out, "token", d->d_sb->sb_token != NULL);
	d->d_envd = envd_new(d->d_http, d->d_sb->sb_id, d->d_sb->sb_token,
	    d->d_sb->sb_domain != NULL ? d->d_sb->sb_domain :
	    e2b_domain(d->d_e2b), cause);
	if (d->d_envd == NULL)
		return (-1);
	return (e2b_set_timeout(d->d_e2b, d->d_sb->sb_id, 600, cause));
}

/* Upload the tarball and extract it. */
static int
drive_upload(struct drive *d, const char *tarball, char **cause)
{
	struct stat	 sb;
	char		*data;
	int		 fd, rv;

	if ((fd = open(tarball, O_RDONLY)) == -1 || fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: %s", tarball, strerror(errno));
		return (-1);
	}
	data = xmalloc((size_t)sb.st_size + 1);
	if (read(fd, data, (size_t)sb.st_size) != sb.st_size) {
		xasprintf(cause, "%s: short read", tarball);
		close(fd);
		free(data);
		return (-1);
	}
	close(fd);
	rv = envd_upload(d->d_envd, DRIVE_TAR, data, (size_t)sb.st_size,
	    cause);
	free(data);
	if (rv == -1)
		return (-1);
	return (drive_sh(d, "tar -xzf " DRIVE_TAR " -C /home/user", cause));
}

/* Arm the service's fault (dropping the next stream), if asked to. */
static int
drive_fault(struct drive *d, const char *url, const char *json,
    char **cause)
{
	struct http_req	*r;
	int		 rv = 0;

	if (url == NULL)
		return (0);
	r = http_req_new(HTTP_POST, url);
	http_req_body(r, "application/json", json, strlen(json));
	if (http_run(d->d_http, r, cause) == -1)
		rv = -1;
	else if (http_status(r) / 100 != 2) {
		xasprintf(cause, "fault: %ld %s", http_status(r),
		    buf_str(http_body(r)));
		rv = -1;
	}
	http_req_free(&r);
	return (rv);
}

/*
 * The streaming command: DRIVE_LINES lines over about six seconds, also
 * kept in a file.  A dropped stream is re-attached by tag.
 */
static int
drive_stream(struct drive *d, int expect_drop, char **cause)
{
	static const char	*cmd = "i=0; while [ $i -lt 30 ]; do "
	    "i=$((i+1)); printf 'line %03d of the streaming command\\n' $i; "
	    "sleep 0.2; done | tee " DRIVE_OUT;
	const char		*args[] = { "-c", cmd, NULL };
	struct envd_cmd		 cm = { .cm_cmd = "/bin/sh", .cm_args = args,
	    .cm_tag = DRIVE_TAG, .cm_keepalive_s = 2 };
	struct envd_io		 io = { .io_stdout = drive_stdout,
	    .io_arg = d };
	struct envd_proc	*pr = &d->d_proc;
	int			 rv;

	d->d_t0 = drive_now();
	rv = envd_run(d->d_envd, &cm, &io, pr, cause);
	json_add_int(d->d_out, "first_chunk_ms", d->d_first_ms);
	json_add_int(d->d_out, "pid", pr->pr_pid);
	if (rv == -1 && (pr->pr_end != ENVD_DROPPED || !expect_drop))
		return (-1);
	json_add_bool(d->d_out, "dropped", rv == -1);
	json_add_int(d->d_out, "before_drop", (int64_t)pr->pr_stdout);
	if (rv == -1) {
		json_add_string(d->d_out, "drop_cause", *cause);
		free(*cause);
		*cause = NULL;
		json_add_int(d->d_out, "health", envd_health(d->d_envd,
		    cause));
		free(*cause);
		*cause = NULL;
		if (envd_attach(d->d_envd, DRIVE_TAG, 0, 2, &io, pr,
		    cause) == -1)
			return (-1);
	}
	json_add_int(d->d_out, "stream_ms", drive_now() - d->d_t0);
	json_add_int(d->d_out, "chunks", d->d_chunks);
	json_add_int(d->d_out, "streams", pr->pr_streams);
	json_add_int(d->d_out, "exit_code", pr->pr_exit_code);
	json_add_int(d->d_out, "stdout_bytes", (int64_t)pr->pr_stdout);
	json_add_stringn(d->d_out, "streamed", buf_str(&d->d_stdout),
	    buf_len(&d->d_stdout));
	return (0);
}

/* Fetch the whole log, the gap after the drop, and the extracted file. */
static int
drive_download(struct drive *d, char **cause)
{
	struct buf	b;
	uint64_t	before;
	int		rv = -1;

	buf_init(&b, 1 << 20);
	if (envd_download(d->d_envd, DRIVE_OUT, 0, 1 << 20, &b, cause) != 0)
		goto out;
	json_add_stringn(d->d_out, "log", buf_str(&b), buf_len(&b));
	buf_reset(&b);
	before = (uint64_t)json_peek_int(d->d_out, "before_drop", 0);
	if (envd_download(d->d_envd, DRIVE_OUT, before, 1 << 20, &b,
	    cause) != 0)
		goto out;
	json_add_stringn(d->d_out, "gap", buf_str(&b), buf_len(&b));
	buf_reset(&b);
	if (envd_download(d->d_envd, DRIVE_FILE, 0, 4096, &b, cause) != 0)
		goto out;
	json_add_stringn(d->d_out, "file", buf_str(&b), buf_len(&b));
	buf_reset(&b);
	json_add_int(d->d_out, "missing", envd_download(d->d_envd,
	    "/home/user/no-such-file", 0, 4096, &b, cause));
	rv = 0;
out:
	buf_free(&b);
	return (rv);
}

/* Kill the sandbox, then ask E2B about it and list by our metadata. */
static int
drive_kill(struct drive *d, char **cause)
{
	struct e2b_sandbox	*sb = NULL, **sbs = NULL;
	struct json_object	*filter;
	size_t			 n = 0;
	int			 rv;

	if (e2b_kill(d->d_e2b, d->d_sb->sb_id, cause) == -1)
		return (-1);
	json_add_bool(d->d_out, "killed", 1);
	if (e2b_get(d->d_e2b, d->d_sb->sb_id, &sb, cause) == -1)
		return (-1);
	json_add_bool(d->d_out, "gone", sb == NULL);
	e2b_sandbox_free(&sb);
	filter = json_object_new_object();
	json_add_string(filter, "skillbox_job", "worker-net-it");
	rv = e2b_list(d->d_e2b, filter, &sbs, &n, cause);
	json_add_int(d->d_out, "listed_after", (int64_t)n);
	e2b_list_free(&sbs, n);
	json_object_put(filter);
	return (rv);
}

/* One sandbox through its life; the summary goes to stdout. */
int
main(int argc, char **argv)
{
	struct drive	 d;
	struct timeval	 tv = { 0, 100000 };
	char		*cause = NULL, *dead = NULL;
	int		 rv;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: worker-net-drive template tarball "
		    "[fault-url fault-json]\n");
		return (2);
	}
	log_init(LOG_TO_STDERR, LOG_LEVEL_DEBUG, 0);
	log_procinit("drive");
	log_setredact(redact);
	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	buf_init(&d.d_stdout, 1 << 20);
	d.d_out = json_object_new_object();
	d.d_base = event_base_new();
	d.d_http = http_ctx_new(d.d_base);
	d.d_tick = event_new(d.d_base, -1, EV_PERSIST, drive_tick_cb, &d);
	event_add(d.d_tick, &tv);
	rv = drive_create(&d, argv[1], &cause);
	if (rv == 0)
		rv = drive_upload(&d, argv[2], &cause);
	if (rv == 0)
		rv = drive_fault(&d, argc == 5 ? argv[3] : NULL,
		    argc == 5 ? argv[4] : NULL, &cause);
	if (rv == 0)
		rv = drive_stream(&d, argc == 5, &cause);
	if (rv == 0)
		rv = drive_download(&d, &cause);
	if (d.d_sb != NULL && drive_kill(&d, &dead) == -1 && rv == 0) {
		rv = -1;
		cause = dead;
		dead = NULL;
	}
	json_add_int(d.d_out, "ticks", d.d_ticks);
	json_add_bool(d.d_out, "ok", rv == 0);
	if (cause != NULL)
		json_add_string(d.d_out, "error", cause);
	printf("%s\n", json_object_to_json_string_ext(d.d_out,
	    JSON_C_TO_STRING_PLAIN));
	free(cause);
	free(dead);
	envd_proc_clear(&d.d_proc);
	buf_free(&d.d_stdout);
	envd_free(&d.d_envd);
	e2b_sandbox_free(&d.d_sb);
	e2b_free(&d.d_e2b);
	event_free(d.d_tick);
	http_ctx_free(&d.d_http);
	event_base_free(d.d_base);
	json_object_put(d.d_out);
	return (rv == 0 ? 0 : 1);
}
