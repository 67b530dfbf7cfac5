/*
 * e2b-local: a local stand-in for E2B.  One loopback HTTP listener serves
 * E2B's control-plane REST API, envd's API for each sandbox (picked by the
 * E2b-Sandbox-Id header or a 49983-<id>.<domain> Host), and test-only
 * extras under /_local/.  Each sandbox is a bubblewrap process tree whose
 * first program is e2b-local-agent (agent.h), which does envd's work
 * inside; e2b-local is the edge and the control plane.
 */
#ifndef E2BL_E2B_LOCAL_H
#define E2BL_E2B_LOCAL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "frame.h"
#include "wire.h"

#define E2BL_ENVD_PORT		49983
#define E2BL_ENVD_VERSION	"0.5.7"
#define E2BL_CLIENT_ID		"6532622b"
#define E2BL_HOSTNAME		"e2b.local"
#define E2BL_USER		"user"
#define E2BL_UID		1000
#define E2BL_HOME		"/home/user"
#define E2BL_AGENT_PATH		"/run/e2b-local-agent"
#define E2BL_SYS_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define E2BL_CPU_COUNT		2
#define E2BL_MEMORY_MB		512
#define E2BL_DISK_MB		10240
#define E2BL_JSON_MAX		(1024 * 1024)		/* API and RPC bodies */
#define E2BL_BODY_MAX		(1024UL * 1024 * 1024)	/* any request */
#define E2BL_HEADERS_MAX	(64 * 1024)
#define E2BL_UPLOAD_CHUNK	(1024 * 1024)
#define E2BL_HTTP_IDLE_SECS	610	/* E2B's edge idles out near this */
#define E2BL_MAX_LIFETIME	(24 * 3600)	/* Pro: 24 hours */
#define E2BL_READY_SECS		30
#define E2BL_KEEPALIVE_SECS	90	/* envd's default */
#define E2BL_TIMEOUT_V1		15	/* POST /sandboxes default */
#define E2BL_TIMEOUT_V2		300	/* POST /v2/sandboxes default */

struct call;
struct request;

struct template {
	char			*t_name;
	char			*t_dir;
	TAILQ_ENTRY(template)	 t_entry;
};

enum sb_state {
	SB_STARTING,		/* waiting for the agent to serve */
	SB_RUNNING,
	SB_DYING,		/* killed; waiting to reap it */
};

struct sandbox {
	char			 sb_id[24];
	struct template		*sb_tmpl;
	enum sb_state		 sb_state;
	char			*sb_token;	/* NULL: not secured */
	struct json_object	*sb_metadata;	/* object */
	struct json_object	*sb_envs;	/* object: envVars */
	int			 sb_internet;
	struct timespec		 sb_start;
	struct timespec		 sb_end;
	pid_t			 sb_pid;	/* bwrap; -1 once reaped */
	char			*sb_dir;	/* its state directory */
	char			*sb_sock;	/* the agent's socket */
	int			 sb_ready_fd;
	struct event		*sb_ready_ev;
	struct event		*sb_timer;	/* expiry */
	struct evhttp_request	*sb_create;	/* the create to answer */
	TAILQ_HEAD(, call)	 sb_calls;	/* envd requests in flight */
	TAILQ_ENTRY(sandbox)	 sb_entry;
};

/* What a call does with the agent's frames. */
struct call_ops {
	void	(*co_frame)(struct call *, uint8_t, const char *, size_t);
	void	(*co_drained)(struct call *);	/* a reply chunk was sent */
	void	(*co_free)(struct call *);	/* release c_state */
};

/* One envd request in flight to a sandbox's agent. */
struct call {
	struct evhttp_request	*c_req;		/* NULL once it is gone */
	struct sandbox		*c_sb;
	struct fconn		*c_link;
	const struct call_ops	*c_ops;
	void			*c_state;
	int			 c_started;	/* reply headers are out */
	size_t			 c_queued;	/* reply bytes not yet sent */
	int			 c_client_paused;
	TAILQ_ENTRY(call)	 c_entry;
};

/* A handler of a route. */
typedef void	(*route_fn)(struct request *);

struct route {
	int		 r_method;	/* EVHTTP_REQ_* */
	const char	*r_pattern;	/* "{id}" matches one segment */
	route_fn	 r_fn;
	const char	*r_key;		/* the name in stats and faults */
	const char	*r_arg;		/* for the handler */
};

/* Which plane a request is for. */
#define PLANE_API	0
#define PLANE_ENVD	1
#define PLANE_BAD	-1	/* meant for envd, but unroutable */

/* An HTTP request being routed. */
struct request {
	struct evhttp_request	*q_req;
	const struct route	*q_route;
	char			*q_path;	/* decoded path */
	struct wire_query	 q_query;
	char			 q_id[128];	/* the {id} segment */
	int			 q_plane;
	char			 q_target[64];	/* envd: the sandbox id */
	uint64_t		 q_port;	/* envd: the port */
	const char		*q_bad;		/* PLANE_BAD: why */
	struct sandbox		*q_sb;		/* envd: the target */
	struct event		*q_delay;
};

struct fault {
	char			*f_route;	/* a route key, or "*" */
	int			 f_status;	/* 429 or 500; 0: drop */
	int			 f_retry_after;
	int			 f_count;	/* requests or streams left */
	int64_t			 f_drop_after;	/* bytes of output */
	TAILQ_ENTRY(fault)	 f_entry;
};

struct stat_entry {
	char			*s_route;
	uint64_t		 s_count;
	TAILQ_ENTRY(stat_entry)	 s_entry;
};

struct e2bl {
	struct event_base	*e_base;
	struct evhttp		*e_http;
	char			*e_apikey;
	char			*e_statedir;
	int			 e_statedir_tmp;	/* remove at exit */
	char			*e_agent;
	char			*e_bwrap;
	int			 e_verbose;
	TAILQ_HEAD(, template)	 e_templates;
	TAILQ_HEAD(, sandbox)	 e_sandboxes;
	TAILQ_HEAD(, fault)	 e_faults;
	TAILQ_HEAD(, stat_entry) e_stats;
	int			 e_latency_ms;
	int			 e_exiting;
};

extern struct e2bl	e2bl;

/* server.c */
void		 server_init(const char *);
void		 server_free_delayed(void);
void		 server_reply_json(struct evhttp_request *, int,
		    struct json_object *);
void		 server_reply_connect(struct evhttp_request *,
		    struct json_object *);
void		 server_reply_text(struct evhttp_request *, int, const char *,
		    const char *);
void		 server_api_error(struct evhttp_request *, int, const char *,
		    ...) __attribute__((__format__(printf, 3, 4)));
void		 server_envd_error(struct evhttp_request *, int, const char *,
		    ...) __attribute__((__format__(printf, 3, 4)));
void		 server_connect_error(struct evhttp_request *, const char *,
		    const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
void		 server_proxy_gone(struct evhttp_request *, const char *);
int		 server_connect_status(const char *);
const char	*server_header(struct evhttp_request *, const char *);
int		 server_body(struct evhttp_request *, size_t,
		    struct json_object **, char **);
void		 server_not_found(struct evhttp_request *);

/* api.c */
extern const struct route	api_routes[];
void		 api_created(struct sandbox *);
void		 api_create_failed(struct sandbox *, const char *);

/* sandbox.c */
struct sandbox	*sandbox_new(struct template *, int);
int		 sandbox_spawn(struct sandbox *, char **);
struct sandbox	*sandbox_find(const char *);
void		 sandbox_kill(struct sandbox *, const char *);
void		 sandbox_set_timeout(struct sandbox *, int64_t);
void		 sandbox_reap(void);
void		 sandbox_shutdown(void);
struct template	*template_find(const char *);

/* envd.c */
extern const struct route	envd_routes[];
void		 envd_target(struct request *);
void		 envd_gate(struct request *);
const char	*envd_user(const char *, int, int *, char **);

/* call.c */
struct call	*call_new(struct request *, const struct call_ops *, void *,
		    struct json_object *);
void		 call_free(struct call *);
void		 call_abort(struct call *);
void		 call_reply_start(struct call *, int, const char *);
void		 call_reply_chunk(struct call *, struct evbuffer *);
size_t		 call_client_backlog(struct call *);
void		 call_reply_end(struct call *);

/* stream.c */
void		 stream_start(struct request *);
void		 stream_connect(struct request *);

/* files.c */
void		 files_get(struct request *);
void		 files_post(struct request *);

/* local.c */
void		 local_dispatch(struct evhttp_request *, const char *);
void		 local_count(const char *);
int		 local_fault_take(const char *, int, struct fault *);
void		 local_free(void);

/* gz.c */
struct gz;
int		 gz_inflate(const char *, size_t, size_t, struct evbuffer *,
		    char **);
struct gz	*gz_deflate_new(void);
int		 gz_deflate(struct gz *, const void *, size_t, int,
		    struct evbuffer *);
void		 gz_deflate_free(struct gz **);

#endif /* E2BL_E2B_LOCAL_H */
