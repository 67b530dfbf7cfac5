/*
 * The job pipeline: one job's life in one sandbox, from create to kill.
 * pipeline_run() reads like that life; it spins the worker's event base
 * through every step, so heartbeats, cancel messages and signals are
 * handled throughout.  The sandbox is killed on every path it controls.
 */
#ifndef SKILLBOX_WORKER_PIPELINE_H
#define SKILLBOX_WORKER_PIPELINE_H

#include "jobspec.h"

struct event_base;
struct link;
struct pipeline;
struct wjob;

struct pipeline	*pipeline_new(struct event_base *, struct link *,
		    struct wjob *);
int		 pipeline_run(struct pipeline *);
void		 pipeline_cancel(struct pipeline *, enum job_state,
		    const char *);
void		 pipeline_free(struct pipeline **);

#endif /* SKILLBOX_WORKER_PIPELINE_H */
