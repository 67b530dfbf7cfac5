/*
 * The forkserver (forkserver.c): skillbox-worker --forkserver, started
 * once by skillboxd, starts each job's worker with fork alone, and reads
 * the Skills pack once for all of them.  And the
 * process title, so that every worker shows its own arguments in ps.
 */
#ifndef SKILLBOX_WORKER_FORKSERVER_H
#define SKILLBOX_WORKER_FORKSERVER_H

/* What runs in each forked worker: skillbox-worker's own main. */
typedef int	(*forkserver_main)(int, char **);

struct skills;
struct bundle_head;

int	forkserver_run(int, char **, forkserver_main);
const struct skills *forkserver_skills(const char *, const char *,
	    const struct bundle_head **);
void	proctitle_init(int, char **);
void	proctitle_set(char *const []);

#endif /* SKILLBOX_WORKER_FORKSERVER_H */
