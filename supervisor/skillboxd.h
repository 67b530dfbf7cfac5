/*
 * skillboxd: the supervisor.  It serves MCP to its clients, keeps the job
 * table, the queue and the state directory, and runs one skillbox-worker
 * process per job over a ZeroMQ ROUTER.  Everything runs on one
 * event_base; nothing here ever blocks on the network.
 */
#ifndef SKILLBOXD_H
#define SKILLBOXD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "jobspec.h"

struct event;
struct event_base;
struct mcp_input;
struct mcp_conn;
struct mcp_req;
struct worker;

/* config.c */

/*
 * Settings: defaults < skillbox.conf < the environment < the command
 * line; each comment names the variable (the file's keywords are in
 * config.c and skillbox.conf(5)).  The HTTP ones are read by the
 * Streamable HTTP transport (skillboxd --listen); a stdio launch ignores
 * them.  A reload (SIGHUP) never changes those config.c marks as needing
 * a restart: state and runtime dirs, skills dir, queue-max, the HTTP ones.
 */
struct sv_config {
	char	*c_state_dir;		/* SKILLBOX_STATE_DIR */
	char	*c_runtime_dir;		/* SKILLBOX_RUNTIME_DIR, or NULL */
	char	*c_worker_path;		/* SKILLBOX_WORKER */
	char	*c_skills_dir;		/* SKILLBOX_SKILLS_DIR */
	char	*c_allowed_roots;	/* SKILLBOX_ALLOWED_ROOTS */
	char	*c_template;		/* SKILLBOX_TEMPLATE */
	char	*c_e2b_api_url;		/* E2B_API_URL, or NULL */
	char	*c_e2b_domain;		/* E2B_DOMAIN, or NULL */
	char	*c_e2b_sandbox_url;	/* E2B_SANDBOX_URL, or NULL */
	char	*c_anthropic_base_url;	/* ANTHROPIC_BASE_URL, or NULL */
	char	*c_e2b_api_key;		/* secret: E2B_API_KEY */
	char	*c_anthropic_api_key;	/* secret: ANTHROPIC_API_KEY */
	char	*c_git_token;		/* secret: SKILLBOX_GIT_TOKEN */
	char	*c_host;		/* this host's name, for sandbox tags */
	char	*c_listen;		/* SKILLBOX_LISTEN: HTTP address:port */
	char	*c_token_file;		/* SKILLBOX_TOKEN_FILE: bearer token */
	char	*c_allowed_hosts;	/* SKILLBOX_ALLOWED_HOSTS: Host: list */
	char	*c_allowed_origins;	/* SKILLBOX_ALLOWED_ORIGINS */
	int64_t	 c_max_jobs;		/* SKILLBOX_MAX_JOBS */
	int64_t	 c_queue_max;		/* SKILLBOX_QUEUE_MAX */
	int64_t	 c_idle_timeout_s;	/* SKILLBOX_IDLE_TIMEOUT_S */
	int64_t	 c_stop_grace_ms;	/* SKILLBOX_STOP_GRACE_MS */
	int64_t	 c_shutdown_grace_ms;	/* SKILLBOX_SHUTDOWN_GRACE_MS */
	int64_t	 c_http_body_max;	/* SKILLBOX_HTTP_BODY_MAX: bytes */
	int64_t	 c_http_timeout_s;	/* SKILLBOX_HTTP_TIMEOUT_S: reads */
	int64_t	 c_max_sessions;	/* SKILLBOX_MAX_SESSIONS */
	int64_t	 c_job_retention_s;	/* SKILLBOX_JOB_RETENTION: 0 for ever */
	int	 c_log_level;		/* SKILLBOX_LOG_LEVEL: LOG_LEVEL_* */
};

/* Read when it exists, unless -f names another file. */
#define CONFIG_FILE	SKILLBOX_SYSCONFDIR "/skillbox/skillbox.conf"

int		 config_load(struct sv_config *, const char *, int, char **);
void		 config_default_roots(int);
void		 config_swap(struct sv_config *, struct sv_config *);
void		 config_print(const struct sv_config *, struct buf *);
void		 config_log_errors(const char *);
void		 config_clear(struct sv_config *);
void		 config_fini(void);
const char	*config_log_level_name(int);

/* sd_notify.c */

/* The STATUS= text, allocated; asked for on each timer tick. */
typedef char	*(*sdnotify_status_fn)(void);

int		 sdnotify_init(struct event_base *, sdnotify_status_fn);
void		 sdnotify_send(const char *, ...)
		     __attribute__((__format__(printf, 1, 2)));
void		 sdnotify_ready(void);
void		 sdnotify_reloading(void);
void		 sdnotify_stopping(void);
void		 sdnotify_fini(void);

/* job.c */

#define JOB_ID_HEX	16
#define JOB_ID_SIZE	(2 + JOB_ID_HEX + 1)	/* "j-" + hex + NUL */
#define JOB_RECENT	5		/* recent activity lines kept */
#define JOB_RECENT_MAX	240		/* bytes per recent activity line */

enum job_reap {
	JOB_REAP_NONE,		/* no sandbox was left to reap */
	JOB_REAP_PENDING,	/* a reaper is (or must be) running */
	JOB_REAP_DONE,		/* the reaper killed the sandbox */
	JOB_REAP_FAILED,	/* the reaper could not kill it */
	JOB_REAP_MAX
};

enum job_change {
	JOB_CHANGE_STATE,	/* state, reason or result */
	JOB_CHANGE_LOG,		/* a new entry in the log */
	JOB_CHANGE_SANDBOX,	/* sandbox announced or reaped */
	JOB_CHANGE_MAX
};

/* The append-only event log of one job, events.jsonl. */
struct joblog {
	int		 jl_fd;		/* open while the job runs, or -1 */
	uint64_t	 jl_count;	/* entries */
	off_t		 jl_size;	/* bytes */
	off_t		*jl_offs;	/* offset of each entry, or NULL */
	size_t		 jl_noffs;	/* entries indexed in jl_offs */
	size_t		 jl_capoffs;
	int		 jl_indexed;	/* jl_offs covers the whole file */
	uint64_t	 jl_dropped;	/* entries refused past the caps */
};

/*
 * get_job's answer as last sent, kept until the job changes: polling
 * clients (CI systems poll, many at once) then cost a lookup and a copy.
 * Valid while the job's generation, queue position and indexed event
 * count are those it was made with.  Only the most recently asked for
 * are kept (TOOLS_VIEWS_MAX), on a list, most recent first.
 */
#define TOOLS_VIEWS_MAX	256	/* jobs whose get_job answer is kept */

struct job_view {
	char			*jv_text;	/* or NULL: none kept */
	size_t			 jv_len;
	uint64_t		 jv_gen;
	size_t			 jv_qpos;
	size_t			 jv_events;
	TAILQ_ENTRY(job)	 jv_entry;
};

struct job {
	char			 j_id[JOB_ID_SIZE];
	uint64_t		 j_seq;		/* creation order, from 1 */
	enum job_state		 j_state;
	enum job_type		 j_type;
	char			*j_reason;	/* why it is in this state */
	struct json_object	*j_spec;	/* the validated spec */
	struct json_object	*j_result;	/* the worker's result */
	char			*j_idem;	/* idempotency key, or NULL */
	char			*j_sandbox;	/* sandbox id, or NULL */
	char			*j_template;
	enum job_reap		 j_reap;
	int64_t			 j_created;	/* ms since the epoch */
	int64_t			 j_started;
	int64_t			 j_updated;
	int64_t			 j_finished;
	int64_t			 j_deadline;
	int			 j_cancel;	/* a cancel was requested */
	struct worker		*j_worker;	/* its process, or NULL */
	struct mcp_conn		*j_owner;	/* who submitted it, or NULL */
	struct joblog		 j_log;
	char			*j_recent[JOB_RECENT];
	unsigned		 j_nrecent;	/* total ever added */
	uint64_t		 j_gen;		/* bumped by every change */
	struct job_view		 j_view;

	TAILQ_ENTRY(job)	 j_entry;	/* all jobs, oldest first */
	TAILQ_ENTRY(job)	 j_qentry;	/* the queue */
	struct job		*j_idnext;	/* hash chain by id */
};
TAILQ_HEAD(jobq, job);

typedef void	(*job_hook)(struct job *, enum job_change);

void		 jobs_init(void);
void		 jobs_clear(void);
void		 jobs_set_hook(job_hook);
struct job	*jobs_find(const char *);
struct job	*jobs_find_key(const char *);
struct job	*jobs_newest(void);
struct job	*jobs_older(struct job *);
struct job	*jobs_find_seq(uint64_t);
size_t		 jobs_count(void);
void		 jobs_forget_owner(struct mcp_conn *);
int		 job_id_valid(const char *);
struct job	*job_create(struct json_object *, const char *);
struct job	*job_load(struct json_object *, char **);
void		 job_remove(struct job **);
void		 job_save(struct job *);
int		 job_set_state(struct job *, enum job_state, const char *);
void		 job_set_sandbox(struct job *, const char *, const char *);
void		 job_set_reap(struct job *, enum job_reap);
void		 job_set_result(struct job *, struct json_object *);
void		 job_add_entry(struct job *, const char *,
		     struct json_object *);
void		 job_add_recent(struct job *, const char *);
const char	*job_recent(const struct job *, unsigned);
struct json_object *job_to_json(const struct job *);
const char	*job_reap_name(enum job_reap);
void		 job_summarize_event(struct json_object *, struct buf *);

/* queue.c */

/* The jobs waiting for a worker slot, first in first out, bounded. */
struct queue {
	struct jobq	q_jobs;
	size_t		q_len;
	size_t		q_max;
};

void		 queue_init(struct queue *, size_t);
int		 queue_push(struct queue *, struct job *);
struct job	*queue_pop(struct queue *);
void		 queue_remove(struct queue *, struct job *);
size_t		 queue_position(const struct queue *, const struct job *);
int		 queue_full(const struct queue *);

/* store.c */

#define STORE_LOG_MAX_ENTRIES	100000	/* entries per job log */
#define STORE_LOG_MAX_BYTES	(64 * 1024 * 1024)
#define STORE_FILE_MAX		(8 * 1024 * 1024)

typedef void	(*store_load_cb)(struct json_object *, const char *, void *);

int		 store_init(const char *, char **);
void		 store_close(void);
const char	*store_dir(void);
char		*store_job_path(const struct job *, const char *);
int		 store_save(struct job *, char **);
int		 store_remove(struct job *, char **);
int		 store_load_all(store_load_cb, void *);
int		 store_log_append(struct job *, struct json_object *);
uint64_t	 store_log_count(struct job *);
int		 store_log_read(struct job *, uint64_t, uint64_t, size_t,
		     struct json_object **);
void		 store_log_close(struct job *);
void		 store_log_free(struct job *);
int		 store_read_file(const struct job *, const char *, size_t,
		     struct buf *, int *, char **);

/* rundir.c */
#define RUNDIR_SOCK	"workers.sock"
int		 rundir_create(const char *, size_t, char **, char **);
int		 rundir_remove(const char *);

/* worker.c */

enum worker_kind {
	WORKER_JOB,		/* runs a job */
	WORKER_REAPER,		/* kills an orphaned sandbox */
	WORKER_KIND_MAX
};

enum worker_state {
	W_SPAWNED,		/* forked, waiting for hello */
	W_HELLO,		/* hello in; the job not sent yet */
	W_RUNNING,		/* the job was sent; it is working */
	W_STOPPING,		/* being stopped: cancel, then signals */
	W_FINISHED,		/* its result is in; waiting for its exit */
	W_STATE_MAX
};

/* Why the supervisor stopped a worker, if it did. */
enum worker_intent {
	WI_NONE,
	WI_CANCEL,		/* a client cancelled the job */
	WI_DEADLINE,		/* the job's deadline passed */
	WI_HUNG,		/* it stopped sending heartbeats */
	WI_FAULT,		/* it sent a malformed message */
	WI_VERSION,		/* it speaks another protocol version */
	WI_SHUTDOWN,		/* skillboxd is shutting down */
	WI_MAX
};

/* How far the stop sequence has gone. */
enum worker_stop {
	WS_NONE,
	WS_CANCEL,		/* cancel sent, waiting a grace period */
	WS_TERM,		/* SIGTERM sent to its process group */
	WS_KILL,		/* SIGKILL sent */
	WS_MAX
};

#define W_EXITED	0x1	/* waitpid reported it */
#define W_CLOSED	0x2	/* its final message is in, or never will be */

struct worker {
	enum worker_kind	 w_kind;
	enum worker_state	 w_state;
	enum worker_intent	 w_intent;
	enum worker_stop	 w_stop;
	int			 w_flags;	/* W_EXITED | W_CLOSED */
	struct job		*w_job;
	char			 w_id[JOB_ID_SIZE];
	pid_t			 w_pid;
	int			 w_status;	/* from waitpid */
	int			 w_liveness;
	int			 w_sendtries;	/* job sends that failed */
	int64_t			 w_seq_in;	/* last seq received */
	int64_t			 w_seq_out;	/* last seq sent */
	char			*w_cause;	/* why it was stopped */
	char			*w_lasterr;	/* its last error log line */
	struct json_object	*w_result;	/* its result message */
	struct event		*w_timer;	/* stop sequence and linger */
	struct event		*w_deadline;	/* the job's deadline */
	LIST_ENTRY(worker)	 w_entry;
};

typedef void	(*worker_done_cb)(struct worker *);

int		 worker_init(struct event_base *, const struct sv_config *,
		     worker_done_cb, char **);
void		 worker_fini(void);
const char	*worker_endpoint(void);
struct worker	*worker_new(enum worker_kind, struct job *);
int		 worker_spawn(struct worker *, char **);
void		 worker_stop(struct worker *, enum worker_intent,
		     const char *);
void		 worker_exited(struct worker *, int);
void		 worker_final(struct worker *, struct json_object *);
void		 worker_free(struct worker **);
void		 worker_reap(void);
void		 worker_kill_all(void);
size_t		 worker_count(enum worker_kind);
enum job_state	 worker_outcome(const struct worker *, char **);
char		*worker_status_cause(int);
int		 worker_handle(struct worker *, const char *, size_t);

/* sched.c */

int		 sched_init(struct event_base *, const struct sv_config *,
		     char **);
void		 sched_fini(void);
struct job	*sched_submit(struct jobspec *, struct mcp_conn *, int *,
		     char **);
int		 sched_cancel(struct job *, const char *, char **);
void		 sched_recover(void);
void		 sched_shutdown(void (*)(void));
int		 sched_stopping(void);
size_t		 sched_running(void);
size_t		 sched_queued(void);
size_t		 sched_queue_position(const struct job *);
void		 sched_worker_done(struct worker *);

/* retain.c */

void		 retain_init(struct event_base *, const struct sv_config *);
void		 retain_fini(void);
size_t		 retain_sweep(int64_t);

/* untrusted.c */

#define UNTRUSTED_TAG_LEN	24

/* One response's envelope: every piece of agent text in it shares a tag. */
struct untrusted {
	char	u_tag[UNTRUSTED_TAG_LEN];
};

void		 untrusted_init(struct untrusted *);
struct json_object *untrusted_wrap(const struct untrusted *, const char *,
		     size_t, size_t);
void		 untrusted_wrap_buf(const struct untrusted *, const char *,
		     size_t, size_t, struct buf *);

/* pack.c */

void		 pack_init(const char *);
int		 pack_list(struct json_object **, char **, char **);
int		 pack_read(const char *, const char **, size_t *, char **);
int		 pack_exists(const char *);
const char	*pack_digest(void);

/* mcp.c */

#define MCP_PARSE_ERROR		-32700
#define MCP_INVALID_REQUEST	-32600
#define MCP_METHOD_NOT_FOUND	-32601
#define MCP_INVALID_PARAMS	-32602
#define MCP_INTERNAL_ERROR	-32603
#define MCP_RESOURCE_NOT_FOUND	-32002

#define MCP_LINE_MAX		(4 * 1024 * 1024)	/* one message */
#define MCP_BATCH_MAX		64
#define MCP_SUBS_MAX		1024

enum mcp_level {
	MCP_DEBUG,
	MCP_INFO,
	MCP_NOTICE,
	MCP_WARNING,
	MCP_ERROR,
	MCP_CRITICAL,
	MCP_ALERT,
	MCP_EMERGENCY,
	MCP_LEVEL_MAX
};

/* What a message the core sends is, to the transport. */
enum mcp_send {
	MCP_SEND_REPLY,		/* the response to a request of the input */
	MCP_SEND_ERROR,		/* the input refused before it was a request */
	MCP_SEND_RELATED,	/* a notification or request about a request */
	MCP_SEND_CONN,		/* a message tied to no request */
	MCP_SEND_MAX
};

/*
 * What a transport gives the MCP core.  mt_send delivers one message
 * (len bytes of serialised JSON, no newline) to the client: ctx is the
 * one given with the input the message belongs to (NULL for
 * MCP_SEND_CONN), kind says what it is.  mt_done (may be NULL) says that
 * an input is finished: everything it caused has been sent.  The core
 * never knows which transport it talks to.
 */
struct mcp_transport {
	const char	*mt_name;
	void		(*mt_send)(void *, void *, enum mcp_send,
			    const char *, size_t);
	void		(*mt_done)(void *, void *);
};

/* Per request: what the request itself says, apart from its connection. */
struct mcp_req {
	struct mcp_conn		*mr_conn;
	struct mcp_input	*mr_input;	/* the input it came in */
	struct json_object	*mr_id;		/* NULL for a notification */
	struct json_object	*mr_token;	/* progressToken, or NULL */
	const char		*mr_version;	/* protocol version */
	enum mcp_level		 mr_level;	/* least level to send */
	struct json_object	*mr_caps;	/* client capabilities */
	int64_t			 mr_progress;	/* last progress sent */
	void			*mr_ctx; /* the handler's pending state */
	void			(*mr_ctx_free)(void *);
	TAILQ_ENTRY(mcp_req)	 mr_entry;
};

typedef void	(*mcp_handler)(struct mcp_req *, struct json_object *);
/* A response to the server's own request: result or error (borrowed). */
typedef void	(*mcp_response_cb)(struct mcp_req *, struct json_object *,
		    struct json_object *, void *);

/* Set before mcp_init by a program adding tools, resources, methods. */
extern void	(*mcp_extend)(void);

void		 mcp_init(void);
void		 mcp_fini(void);
struct mcp_conn	*mcp_conn_new(const struct mcp_transport *, void *);
void		 mcp_conn_free(struct mcp_conn **);
void		 mcp_conn_input(struct mcp_conn *, const char *, size_t,
		     void *);
void		 mcp_conn_refuse(struct mcp_conn *, int, const char *);
int		 mcp_conn_ready(const struct mcp_conn *);
int		 mcp_conn_busy(const struct mcp_conn *);
const char	*mcp_conn_version(const struct mcp_conn *);
int		 mcp_conn_subscribed(const struct mcp_conn *, const char *);
int		 mcp_conn_subscribe(struct mcp_conn *, const char *, int);
struct mcp_conn	*mcp_conn_first(void);
struct mcp_conn	*mcp_conn_next(struct mcp_conn *);
void		 mcp_reply(struct mcp_req *, struct json_object *);
void		 mcp_reply_text(struct mcp_req *, const char *, size_t);
void		 mcp_error(struct mcp_req *, int, const char *,
		     struct json_object *);
void		 mcp_errorf(struct mcp_req *, int, const char *, ...)
		     __attribute__((__format__(printf, 3, 4)));
void		 mcp_invalid_params(struct mcp_req *, char *);
struct json_object *mcp_error_new(struct json_object *, int, const char *,
		     struct json_object *);
void		 mcp_req_pend(struct mcp_req *, void *, void (*)(void *));

/* mcp_life.c */

int		 mcp_level_parse(const char *, enum mcp_level *);
const char	*mcp_level_name(enum mcp_level);
const char	*mcp_version_supported(const char *);
void		 mcp_add_method(const char *, mcp_handler);
void		 mcp_add_capability(const char *, struct json_object *);

/* mcp_out.c */

void		 mcp_notify(struct mcp_conn *, const char *,
		     struct json_object *);
void		 mcp_req_notify(struct mcp_req *, const char *,
		     struct json_object *);
void		 mcp_progress(struct mcp_req *, const char *);
void		 mcp_progress_at(struct mcp_req *, int64_t, int64_t,
		     const char *);
void		 mcp_log(struct mcp_conn *, enum mcp_level, const char *,
		     struct json_object *);
void		 mcp_req_log(struct mcp_req *, enum mcp_level, const char *,
		     struct json_object *);
int		 mcp_request(struct mcp_req *, const char *,
		     struct json_object *, mcp_response_cb, void *);

/* mcp_tools.c */

#define T_RO	0x1	/* readOnlyHint */
#define T_DESTR	0x2	/* destructiveHint */
#define T_IDEM	0x4	/* idempotentHint */
#define T_OPEN	0x8	/* openWorldHint */

/* A task-augmented tool call: the arguments, then params.task. */
typedef void	(*mcp_task_handler)(struct mcp_req *, struct json_object *,
		    struct json_object *);

/*
 * A tool: what tools/list says of it and its handlers.  t_task_fn, when
 * set, runs a call made as a task (execution.taskSupport "optional").
 */
struct mcp_tool {
	const char	*t_name;
	const char	*t_title;	/* or NULL */
	const char	*t_desc;
	const char	*t_in;		/* inputSchema, JSON text */
	const char	*t_out;		/* outputSchema, or NULL */
	int		 t_hints;	/* T_* */
	mcp_handler	 t_fn;
	mcp_task_handler t_task_fn;	/* or NULL */
};

void		 tools_init(void);
void		 tools_register(const struct mcp_tool *, size_t);
void		 tools_fini(void);
void		 tools_list(struct mcp_req *, struct json_object *);
void		 tools_call(struct mcp_req *, struct json_object *);
void		 tools_result(struct mcp_req *, struct json_object *);
void		 tools_result_job(struct mcp_req *, struct job *);
void		 tools_view_forget(struct job *);
void		 tools_error(struct mcp_req *, const char *, ...)
		     __attribute__((__format__(printf, 2, 3)));
void		 tools_fail(struct mcp_req *, char *);
struct json_object *tools_error_result(const char *);
struct job	*tools_job_args(struct mcp_req *, struct json_object *,
		     const char *const *);
struct json_object *tools_view(const struct job *);
struct job	*tools_submit(struct mcp_conn *, struct json_object *, int *,
		     char **);
char		*tools_result_text(struct json_object *, int, const char *);
void		 tools_jobs_listed(void);

/* mcp_wait.c */

void		 tools_wait_init(struct event_base *);
struct event_base *tools_base(void);
void		 tools_wait(struct mcp_req *, struct json_object *);
void		 tools_wait_fini(void);
void		 tools_job_changed(struct job *, enum job_change);

/* mcp_job.c */

#define VIEW_SUMMARY_MAX	(8 * 1024)
#define VIEW_EVENT_MAX		(2 * 1024)
#define VIEW_LOG_BYTES_MAX	(256 * 1024)

struct json_object *view_job(const struct job *, const struct untrusted *);
struct json_object *view_job_brief(const struct job *);
struct json_object *view_log_entry(struct json_object *,
		     const struct untrusted *);
char		*view_uri(const struct job *, const char *);
char		*view_progress(const struct job *);
char		*cursor_encode(uint64_t);
int		 cursor_decode(const char *, uint64_t *);
int		 cursor_param(struct mcp_req *, struct json_object *,
		     uint64_t *);

/* mcp_task.c */

#define TASKS_MAX		4096	/* tasks kept at once */
#define TASK_TTL_DEFAULT_MS	(24 * 3600 * 1000LL)
#define TASK_TTL_MAX_MS		(7 * 24 * 3600 * 1000LL)
#define TASK_POLL_MS		1000

void		 tasks_init(void);
void		 tasks_fini(void);
int		 tasks_enabled(const struct mcp_req *);
struct json_object *tasks_capability(void);
void		 tasks_submit(struct mcp_req *, struct json_object *,
		     struct json_object *);
void		 tasks_get(struct mcp_req *, struct json_object *);
void		 tasks_result(struct mcp_req *, struct json_object *);
void		 tasks_list(struct mcp_req *, struct json_object *);
void		 tasks_cancel(struct mcp_req *, struct json_object *);
void		 tasks_job_changed(struct job *);
void		 tasks_forget_owner(struct mcp_conn *);

/* mcp_res.c */

/*
 * Resources a program adds beside skillbox's own (a test fixture's):
 * entries appended to resources/list and resources/templates/list, and
 * the reads and subscriptions of URIs skillbox does not know.  rp_read
 * returns 0 after answering, -1 if the URI is not its.
 */
struct res_provider {
	void	(*rp_list)(struct json_object *);
	void	(*rp_templates)(struct json_object *);
	int	(*rp_read)(struct mcp_req *, const char *);
	int	(*rp_exists)(const char *);
};

void		 res_register(const struct res_provider *);

void		 res_list(struct mcp_req *, struct json_object *);
void		 res_templates(struct mcp_req *, struct json_object *);
void		 res_read(struct mcp_req *, struct json_object *);
void		 res_subscribe(struct mcp_req *, struct json_object *);
void		 res_unsubscribe(struct mcp_req *, struct json_object *);
int		 res_exists(const char *);

/* spawn.c */
void		 spawn_init(const char *, const char *);
pid_t		 spawn_worker(char *const [], char *const [], char **);
int		 spawn_exited(pid_t, int);
void		 spawn_fini(void);

/* tr_stdio.c */

struct tr_stdio;

struct tr_stdio	*tr_stdio_new(struct event_base *, int, int,
		     void (*)(void));
void		 tr_stdio_flush(struct tr_stdio *);
void		 tr_stdio_free(struct tr_stdio **);

/* tr_http.c */

struct tr_http;

int		 tr_http_new(struct event_base *, const struct sv_config *,
		     int, struct tr_http **, char **);
void		 tr_http_free(struct tr_http **);

/* sd_listen.c */

int		 sd_listen_fds(int *, char **);

#endif /* SKILLBOXD_H */
