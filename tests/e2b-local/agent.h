/*
 * e2b-local-agent: envd's in-VM role inside one bubblewrap sandbox.
 *
 * e2b-local starts it as the sandbox's first program with three file
 * descriptors: 3, a listening unix socket; 4, its configuration (JSON:
 * sandboxID, templateID, user, home, envs); 5, a pipe on which it writes
 * one byte once it serves.  It runs as the sandbox user, so every process
 * and file operation happens inside the sandbox, with its own /tmp,
 * read-only mounts and permissions.
 *
 * The protocol: each connection carries one operation, in frames (Connect
 * envelopes: flags 0 = a message, ENV_FLAG_END = the last frame).  The
 * first frame from e2b-local is JSON {"op": NAME, ...}:
 *
 *   start    {"msg": StartRequest, "timeoutMs": N}	a process stream
 *   connect  {"msg": ConnectRequest}			a process stream
 *   list, signal, input, closestdin			{"msg": request}
 *   stat, listdir, mkdir, remove, move			{"msg": request}
 *   write    {"files": [path, ...]}, then each file's bytes in frames,
 *            a zero-length frame after each file, and an END frame
 *   read     {"path": p, "range": Range header or absent}
 *
 * Answers: a process stream is the ProcessEvent JSON of each event, one
 * per frame ({"event":{"start":{"pid":2}}} ...), then an END frame whose
 * JSON is the Connect end-of-stream message ({} or {"error":{...}}).  A
 * unary operation is one END frame: {"result": message} or {"error":
 * {"code": connect code, "message": ...}}.  write ends the same way with
 * {"result": [entry, ...]} or {"error": {"status": HTTP status,
 * "message": ...}}; read first sends a JSON header {"size", "mtime",
 * "offset", "length", "ranged"} (or an END error), then the bytes, then
 * an END frame {}.
 */
#ifndef E2BL_AGENT_H
#define E2BL_AGENT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "frame.h"

#define AGENT_FD_LISTEN		3
#define AGENT_FD_CONFIG		4
#define AGENT_FD_READY		5
#define AGENT_FRAME_MAX		(4 * 1024 * 1024)
#define AGENT_CONFIG_MAX	(1024 * 1024)
#define AGENT_OUTPUT_CHUNK	(32 * 1024)	/* envd's stdChunkSize */
#define AGENT_READ_CHUNK	(64 * 1024)
#define AGENT_RETAIN_SECS	30		/* for a late Connect */
#define AGENT_SHELL		"/bin/sh"

struct aproc;
struct awrite;
struct aread;

struct agent {
	struct event_base	*a_base;
	char			*a_id;
	char			*a_template;
	char			*a_user;
	char			*a_home;
	char			*a_path;	/* PATH for every process */
	struct json_object	*a_envs;	/* the sandbox's own envs */
};

enum aconn_state {
	AC_REQUEST,		/* waiting for the operation */
	AC_STREAM,		/* subscribed to a process */
	AC_WRITE,		/* receiving files */
	AC_READ,		/* sending a file */
	AC_DONE,		/* answered; closing */
};

/* One connection from e2b-local: one operation. */
struct aconn {
	struct fconn		*ac_fc;
	enum aconn_state	 ac_state;
	struct aproc		*ac_proc;	/* AC_STREAM */
	struct awrite		*ac_write;	/* AC_WRITE */
	struct aread		*ac_read;	/* AC_READ */
	TAILQ_ENTRY(aconn)	 ac_sub;	/* in the process's list */
};

extern struct agent	agent;

/* agent.c */
void			 aconn_finish(struct aconn *, struct json_object *);
struct json_object	*agent_error(const char *, const char *, ...)
			    __attribute__((__format__(printf, 2, 3)));
struct json_object	*agent_status_error(int, const char *, ...)
			    __attribute__((__format__(printf, 2, 3)));
struct json_object	*agent_result(struct json_object *);
char			*agent_resolve(const char *, char **);
const char		*agent_strerror(int);

/* aproc.c */
void	aproc_init(void);
void	aproc_start(struct aconn *, struct json_object *);
void	aproc_connect(struct aconn *, struct json_object *);
void	aproc_list(struct aconn *, struct json_object *);
void	aproc_signal(struct aconn *, struct json_object *);
void	aproc_input(struct aconn *, struct json_object *);
void	aproc_closestdin(struct aconn *, struct json_object *);
void	aproc_unsubscribe(struct aconn *);
void	aproc_drained(struct aconn *);

/* afs.c */
struct json_object	*afs_entry(const char *, struct json_object **);
int			 afs_ensure_dirs(const char *, char **);
void			 afs_stat(struct aconn *, struct json_object *);
void			 afs_listdir(struct aconn *, struct json_object *);
void			 afs_mkdir(struct aconn *, struct json_object *);
void			 afs_remove(struct aconn *, struct json_object *);
void			 afs_move(struct aconn *, struct json_object *);

/* afile.c */
void	afile_write(struct aconn *, struct json_object *);
void	afile_write_frame(struct aconn *, uint8_t, const char *, size_t);
void	afile_read(struct aconn *, struct json_object *);
void	afile_drained(struct aconn *);
void	afile_abort(struct aconn *);

#endif /* E2BL_AGENT_H */
