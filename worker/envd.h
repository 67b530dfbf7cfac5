/*
 * envd, the daemon inside an E2B sandbox: processes (Connect RPC over
 * HTTP, JSON codec) and files.  Every call runs to completion on the
 * worker's event base; a process's output is handed to callbacks as it
 * arrives, while heartbeats and timers keep firing.
 *
 * The base URL is E2B_SANDBOX_URL, with the sandbox chosen by the
 * E2b-Sandbox-Id and E2b-Sandbox-Port headers, else
 * https://49983-<id>.<domain>.  Every call carries X-Access-Token when
 * the sandbox has one; the token is registered with redact_add().
 */
#ifndef WORKER_ENVD_H
#define WORKER_ENVD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "http.h"

#define ENVD_KEEPALIVE_S	30	/* Keepalive-Ping-Interval default */
#define ENVD_LOWSPEED_FACTOR	3	/* silent keepalives before giving up */
#define ENVD_FRAME_MAX		(1024 * 1024)	/* largest event accepted */

/* A command to start. */
struct envd_cmd {
	const char		*cm_cmd;	/* program, e.g. "/bin/bash" */
	const char *const	*cm_args;	/* NULL-terminated, or NULL */
	struct json_object	*cm_envs;	/* string map, or NULL */
	const char		*cm_cwd;	/* NULL: the user's home */
	const char		*cm_tag;	/* to find it again, or NULL */
	const char		*cm_user;	/* NULL: the template's user */
	int			 cm_keepalive_s; /* 0: ENVD_KEEPALIVE_S */
	long			 cm_timeout_ms;	/* process lifetime; 0: none */
};

/*
 * Where a process's output goes.  Each callback may be NULL.  The output
 * callbacks return -1 to stop reading (the process keeps running).
 */
struct envd_io {
	void	(*io_start)(void *, int64_t);
	int	(*io_stdout)(void *, const char *, size_t);
	int	(*io_stderr)(void *, const char *, size_t);
	void	 *io_arg;
};

/* How a stream ended. */
enum envd_end {
	ENVD_RUNNING,		/* not ended */
	ENVD_EXITED,		/* the process ended; see pr_exit_code */
	ENVD_DROPPED,		/* the stream broke; re-attach may work */
	ENVD_FAILED,		/* envd refused, or a Connect error */
	ENVD_CANCELLED,		/* envd_cancel() or the context's cancel */
	ENVD_STOPPED,		/* an output callback returned -1 */
	ENVD_END_MAX
};

/* What is known of a process; zero it before envd_run(). */
struct envd_proc {
	enum envd_end	 pr_end;
	int64_t		 pr_pid;	/* from the start event, 0 before */
	int		 pr_exit_code;	/* -1 when killed by a signal */
	int		 pr_exited;	/* it exited (not signalled) */
	char		*pr_status;	/* "exit status 3", "signal: killed" */
	char		*pr_error;	/* envd's error text, or NULL */
	char		*pr_code;	/* Connect error code, or NULL */
	uint64_t	 pr_stdout;	/* stdout bytes delivered, in all */
	uint64_t	 pr_stderr;	/* stderr bytes delivered, in all */
	uint64_t	 pr_keepalives;
	int		 pr_streams;	/* streams read: 1 + re-attaches */
};

struct envd;
struct envd_stream;

struct envd	*envd_new(struct http_ctx *, const char *, const char *,
		    const char *, char **);
void		 envd_free(struct envd **);
const char	*envd_url(const struct envd *);
void		 envd_cancel(struct envd *);

int	envd_run(struct envd *, const struct envd_cmd *,
	    const struct envd_io *, struct envd_proc *, char **);
int	envd_attach(struct envd *, const char *, int64_t, int,
	    const struct envd_io *, struct envd_proc *, char **);
void	envd_proc_clear(struct envd_proc *);
int	envd_signal(struct envd *, int64_t, int, char **);
int	envd_signal_async(struct envd *, int64_t, int, http_result_cb,
	    void *, char **);
int	envd_upload(struct envd *, const char *, const void *, size_t,
	    char **);
int	envd_download(struct envd *, const char *, uint64_t, size_t,
	    struct buf *, char **);
int	envd_download_fd(struct envd *, const char *, uint64_t, uint64_t,
	    int, uint64_t *, char **);
int	envd_health(struct envd *, char **);

/* The stream reader alone, for tests: bytes in, callbacks out. */
struct envd_stream *envd_stream_new(const struct envd_io *,
		    struct envd_proc *);
void		 envd_stream_free(struct envd_stream **);
int		 envd_stream_feed(struct envd_stream *, const char *, size_t,
		    char **);
int		 envd_stream_finish(struct envd_stream *, char **);

#endif /* WORKER_ENVD_H */
