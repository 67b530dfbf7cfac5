/*
 * Retention: a finished job is kept for job-retention after it ended (30
 * days unless configured; 0 keeps jobs for ever), then removed from
 * memory and from the state directory, its diff and artifacts with it.
 * The sweep runs when skillboxd starts and then every hour.  A job whose
 * sandbox is still being reaped stays until the reaper is done.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "skillboxd.h"

#define RETAIN_PERIOD_S	3600

static struct {
	const struct sv_config	*cfg;
	struct event		*timer;
} rt;

static void	retain_timer_cb(int, short, void *);

/* Whether a job has had its time: finished, idle, and old enough. */
static int
retain_expired(const struct job *j, int64_t now, int64_t keep_ms)
{
	return (job_state_terminal(j->j_state) && j->j_worker == NULL &&
	    j->j_reap != JOB_REAP_PENDING && j->j_finished > 0 &&
	    j->j_finished + keep_ms <= now);
}

/*
 * Remove the jobs that ended more than job-retention before now (ms since
 * the epoch).  Returns how many went.
 */
size_t
retain_sweep(int64_t now)
{
	struct job	*j, *older;
	int64_t		 keep_ms = rt.cfg->c_job_retention_s * 1000;
	char		*cause = NULL;
	size_t		 n = 0;

	if (keep_ms == 0)
		return (0);
	for (j = jobs_newest(); j != NULL; j = older) {
		older = jobs_older(j);
		if (!retain_expired(j, now, keep_ms))
			continue;
		if (store_remove(j, &cause) == -1) {
			log_warnx("job %s: cannot remove: %s", j->j_id, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		job_remove(&j);
		n++;
	}
	if (n > 0)
		log_info("removed %zu job%s that ended over %llds ago", n,
		    n == 1 ? "" : "s", (long long)rt.cfg->c_job_retention_s);
	return (n);
}

static void
retain_timer_cb(int fd, short what, void *arg)
{
	struct timeval	tv = { RETAIN_PERIOD_S, 0 };

	if (retain_sweep(clock_now_ms()) > 0)
		tools_jobs_listed();
	evtimer_add(rt.timer, &tv);
}

/* Sweep now, and every hour from now on. */
void
retain_init(struct event_base *base, const struct sv_config *cfg)
{
	rt.cfg = cfg;
	rt.timer = evtimer_new(base, retain_timer_cb, NULL);
	retain_timer_cb(-1, 0, NULL);
}

void
retain_fini(void)
{
	if (rt.timer != NULL)
		event_free(rt.timer);
	rt.timer = NULL;
	rt.cfg = NULL;
}
