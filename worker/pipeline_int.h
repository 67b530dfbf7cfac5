/*
 * The pipeline's insides, shared by its files: pipeline.c (the life of a
 * job), agent.c (running Claude Code), collect.c (bringing results home)
 * and report.c (the result message).
 */
#ifndef SKILLBOX_WORKER_PIPELINE_INT_H
#define SKILLBOX_WORKER_PIPELINE_INT_H

#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "diffstat.h"
#include "envd.h"
#include "jobspec.h"

struct e2b;
struct e2b_sandbox;
struct event;
struct link;
struct result_file;
struct skills;
struct stream;
struct wjob;

#define PIPE_TAIL_MAX		4096	/* stderr kept for error reports */
#define PIPE_GRACE_S		5	/* after the result, for the exit */
#define PIPE_SCRIPT_MS		(15 * 60 * 1000) /* setup, collect */
#define PIPE_CATCHUP_S		10	/* degraded mode: transcript polls */
#define PIPE_SANDBOX_MARGIN_S	300	/* sandbox lifetime past deadline */
#define PIPE_SANDBOX_MAX_S	3600	/* what every E2B tier allows */
#define PIPE_REFRESH_S		600	/* refresh period when needed */
#define PIPE_DIFF_MAX		(8 * 1024 * 1024)
#define PIPE_COLLECT_MAX	(80 * 1024 * 1024)
#define PIPE_ARTIFACT_MAX	(16 * 1024 * 1024)
#define PIPE_ARTIFACTS_TOTAL	(64 * 1024 * 1024)

/* Why the agent run stopped early, if it did. */
enum agent_stop {
	AGENT_RUNNING,		/* not stopped */
	AGENT_RESULT,		/* result seen; the exit was too slow */
	AGENT_IDLE,		/* no output for the idle timeout */
	AGENT_DEADLINE,		/* the job's deadline passed */
	AGENT_CANCEL,		/* cancelled */
	AGENT_STOP_MAX
};

/* The agent's test command, run again by skillbox (verify.c). */
enum verify_state {
	VERIFY_NONE,		/* no tests reported, or no chance to run */
	VERIFY_RAN,		/* it ended: v_exit says how */
	VERIFY_FAILED,		/* it could not run, or did not end in time */
	VERIFY_SKIPPED		/* not tried: v_why says why */
};

struct pipe_verify {
	enum verify_state	 v_state;
	int			 v_exit;	/* -1: killed by a signal */
	int64_t			 v_ms;
	char			*v_why;		/* FAILED and SKIPPED */
};

struct pipeline {
	struct event_base	*p_base;
	struct link		*p_link;
	struct wjob		*p_job;
	struct http_ctx		*p_http;
	struct e2b		*p_e2b;
	struct envd		*p_envd;
	struct e2b_sandbox	*p_sbx;
	const struct skills	*p_skills;	/* p_skills_own or shared */
	struct skills		*p_skills_own;
	char			*p_bundle;
	size_t			 p_bundle_len;

	/* where the job stands */
	enum job_state		 p_phase;
	enum job_state		 p_status;	/* terminal, once decided */
	char			*p_reason;
	int			 p_cancelled;
	enum job_state		 p_cancel_status;
	char			*p_cancel_reason;
	int			 p_killed;	/* the sandbox is gone */
	int			 p_create_attempts; /* 0: create not tried */
	int			 p_exit;	/* exit code before a job ran */
	int64_t			 p_t0;
	int64_t			 p_phase_t0;
	int64_t			 p_timings[JOB_STATE_MAX];
	int64_t			 p_teardown_ms;
	struct event		*p_deadline_ev;

	/* the agent run */
	struct stream		*p_stream;
	struct envd_proc	 p_proc;
	struct event		*p_idle_ev;
	struct event		*p_grace_ev;
	struct event		*p_catchup_ev;
	struct event		*p_refresh_ev;
	enum agent_stop		 p_stop;
	uint64_t		 p_fed;		/* transcript bytes parsed */
	int			 p_degraded;	/* reading the transcript */
	int			 p_reattach_failures;
	int			 p_refreshing;
	struct buf		 p_stderr;

	/* what came back */
	struct diffstat		 p_diff;
	size_t			 p_diff_bytes;
	int			 p_diff_truncated;
	struct result_file	*p_rf;
	char			*p_rf_error;
	struct json_object	*p_artifacts;
	struct json_object	*p_skipped;
	struct pipe_verify	 p_verify;
};

/* pipeline.c */
int64_t	 pipe_now_ms(void);
void	 pipe_phase(struct pipeline *, enum job_state);
int	 pipe_fail(struct pipeline *, enum job_state, const char *, ...)
	    __attribute__((__format__(printf, 3, 4)));
int	 pipe_stopped(struct pipeline *);
void	 pipe_log(struct pipeline *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
int	 pipe_script(struct pipeline *, const char *, const char *,
	    struct json_object *, struct buf *, long, char **);
struct json_object *pipe_job_envs(struct pipeline *);
void	 pipe_tail(struct buf *, const char *, size_t);

/* agent.c */
int	 agent_run(struct pipeline *);
void	 agent_cancel(struct pipeline *);

/* collect.c */
int	 collect_run(struct pipeline *);
int	 collect_spool(int);
int	 collect_unpack(struct pipeline *, int, int, char **);

/* verify.c */
void	 verify_run(struct pipeline *);
void	 verify_judge(struct pipeline *);
struct json_object *verify_json(const struct pipeline *);

/* report.c */
struct json_object *report_result(struct pipeline *);

#endif /* SKILLBOX_WORKER_PIPELINE_INT_H */
