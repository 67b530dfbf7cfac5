/*
 * The scheduler with real processes: at most SKILLBOX_MAX_JOBS workers,
 * the rest queued first in first out, a full queue refused, idempotent
 * submissions, cancellation, recovery of an interrupted state directory
 * and shutdown.  Workers are small shell scripts.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

static char			*dir;
static struct sv_config		 cfg;
static struct event_base	*base;
static struct event		*chld;
static int			 stopped;

static void
chld_cb(int sig, short what, void *arg)
{
	worker_reap();
}

/* A worker script dir/name that runs `body` whatever its arguments. */
static char *
script_at(const char *name, const char *body)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", dir, name);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0700);
	return (path);
}

static char *
script(const char *body)
{
	return (script_at("worker.sh", body));
}

static void
setup(void)
{
	char	*cause = NULL;

	dir = test_tmpdir();
	sv_test_config(&cfg, dir);
	free(cfg.c_worker_path);
	cfg.c_worker_path = script("exec sleep 30");
	ck_assert_int_eq(store_init(dir, &cause), 0);
	jobs_init();
	base = event_base_new();
	chld = evsignal_new(base, SIGCHLD, chld_cb, NULL);
	evsignal_add(chld, NULL);
	ck_assert_msg(sched_init(base, &cfg, &cause) == 0, "%s", cause);
	stopped = 0;
}

static void
teardown(void)
{
	worker_kill_all();
	sched_fini();
	event_free(chld);
	event_base_free(base);
	jobs_clear();
	store_close();
	config_clear(&cfg);
	test_rmdir(dir);
}

static struct job *
submit_spec(const char *text, int *created, char **cause)
{
	struct json_object	*o;
	struct jobspec		*js;

	o = sv_test_spec(text);
	ck_assert_int_eq(jobspec_parse(o, &js, cause), 0);
	json_object_put(o);
	return (sched_submit(js, NULL, created, cause));
}

static struct job *
submit(const char *extra, int *created, char **cause)
{
	struct job	*j;
	char		*text;

	xasprintf(&text, "{\"repo\":{\"url\":\"https://example.com/r.git\"},"
	    "\"job\":\"fix-tests\"%s}", extra);
	j = submit_spec(text, created, cause);
	free(text);
	return (j);
}

static void
stopped_cb(void)
{
	stopped = 1;
}

/* Run the loop until cond holds or 10 s pass. */
#define RUN_UNTIL(cond) do {						\
	struct timeval	 tv_ = { 10, 0 };				\
	event_base_loopexit(base, &tv_);				\
	while (!(cond) && event_base_loop(base, EVLOOP_ONCE) == 0)	\
		;							\
	ck_assert_msg((cond), "timed out waiting for " #cond);		\
} while (0)

START_TEST(test_sched_queue)
{
	struct job	*j[6], *k;
	char		*cause = NULL;
	int		 created, i;

	for (i = 0; i < 5; i++) {
		j[i] = submit("", &created, &cause);
		ck_assert_msg(j[i] != NULL, "%s", cause);
		ck_assert(created);
	}
	ck_assert_uint_eq(sched_running(), 2);
	ck_assert_int_eq(j[0]->j_state, JOB_STARTING);
	ck_assert_int_eq(j[1]->j_state, JOB_STARTING);
	ck_assert_int_eq(j[2]->j_state, JOB_QUEUED);
	ck_assert_uint_eq(sched_queue_position(j[2]), 1);
	ck_assert_uint_eq(sched_queue_position(j[4]), 3);
	/* Two running, three waiting: the queue (3) is full. */
	ck_assert_ptr_null(submit("", &created, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "queue is full"));
	free(cause);
	cause = NULL;
	/* A queued job is cancelled at once. */
	ck_assert_int_eq(sched_cancel(j[3], NULL, &cause), 0);
	ck_assert_int_eq(j[3]->j_state, JOB_CANCELLED);
	ck_assert_uint_eq(sched_queue_position(j[4]), 2);
	ck_assert_int_eq(sched_cancel(j[3], NULL, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "already finished"));
	free(cause);
	cause = NULL;
	/* Cancelling a running one stops its worker; the next one starts. */
	ck_assert_int_eq(sched_cancel(j[0], "enough", &cause), 0);
	RUN_UNTIL(job_state_terminal(j[0]->j_state) &&
	    j[2]->j_state == JOB_STARTING);
	ck_assert_int_eq(j[0]->j_state, JOB_CANCELLED);
	ck_assert_ptr_nonnull(strstr(j[0]->j_reason, "enough"));
	ck_assert_uint_eq(sched_running(), 2);
	ck_assert_int_eq(j[4]->j_state, JOB_QUEUED);
	/* First in, first out. */
	k = submit("", &created, &cause);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(sched_queue_position(k), 2);
}
END_TEST

START_TEST(test_sched_idempotent_and_roots)
{
	struct job		*a, *b;
	struct json_object	*repo;
	char			*cause = NULL, *text;
	int			 created;

	a = submit(",\"idempotency_key\":\"k1\"", &created, &cause);
	ck_assert(created);
	b = submit(",\"idempotency_key\":\"k1\"", &created, &cause);
	ck_assert(!created);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(jobs_count(), 1);
	/* A local repo must lie under the allowed roots. */
	ck_assert_ptr_null(submit_spec("{\"repo\":{\"path\":\"/etc\"},"
	    "\"job\":\"bootstrap\"}", &created, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "allowed roots"));
	free(cause);
	cause = NULL;
	xasprintf(&text, "{\"repo\":{\"path\":\"%s/.\"},\"job\":"
	    "\"bootstrap\"}", dir);
	b = submit_spec(text, &created, &cause);
	free(text);
	ck_assert_msg(b != NULL, "%s", cause);
	/* The spec keeps the resolved path. */
	ck_assert_str_eq(json_peek_string(json_object_object_get_ex(b->j_spec,
	    "repo", &repo) ? repo : NULL, "path"), dir);
}
END_TEST

/*
 * A job that cannot be saved is refused, not taken: nothing runs, nothing
 * is left in the table, and the next submission works once the state
 * directory does.
 */
START_TEST(test_sched_unsaved)
{
	char	*jobs, *aside, *cause = NULL;
	int	 created, fd;

	xasprintf(&jobs, "%s/jobs", dir);
	xasprintf(&aside, "%s/jobs.aside", dir);
	ck_assert_int_eq(rename(jobs, aside), 0);
	ck_assert_int_ne(fd = open(jobs, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	ck_assert_ptr_null(submit("", &created, &cause));
	ck_assert(!created);
	ck_assert_ptr_nonnull(strstr(cause, "cannot keep the job"));
	ck_assert_uint_eq(jobs_count(), 0);
	ck_assert_uint_eq(sched_running(), 0);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(unlink(jobs), 0);
	ck_assert_int_eq(rename(aside, jobs), 0);
	ck_assert_ptr_nonnull(submit("", &created, &cause));
	ck_assert(created);
	ck_assert_uint_eq(jobs_count(), 1);
	free(jobs);
	free(aside);
}
END_TEST

/* Workers that die at once: each job crashes with its cause. */
START_TEST(test_sched_worker_dies)
{
	struct job	*j;
	char		*cause = NULL;
	int		 created;

	free(cfg.c_worker_path);
	cfg.c_worker_path = script("echo dying >&2; exit 70");
	j = submit("", &created, &cause);
	RUN_UNTIL(job_state_terminal(j->j_state));
	ck_assert_int_eq(j->j_state, JOB_CRASHED);
	ck_assert_str_eq(j->j_reason,
	    "internal error in the worker (EX_SOFTWARE)");
	RUN_UNTIL(sched_running() == 0);
}
END_TEST

START_TEST(test_sched_shutdown)
{
	struct job	*j[3];
	char		*cause = NULL;
	int		 created, i;

	for (i = 0; i < 3; i++)
		j[i] = submit("", &created, &cause);
	ck_assert_int_eq(j[2]->j_state, JOB_QUEUED);
	sched_shutdown(stopped_cb);
	ck_assert_int_eq(j[2]->j_state, JOB_CANCELLED);
	ck_assert(sched_stopping());
	ck_assert_ptr_null(submit("", &created, &cause));
	free(cause);
	RUN_UNTIL(stopped);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(j[i]->j_state, JOB_CANCELLED);
		ck_assert_str_eq(j[i]->j_reason,
		    "cancelled: skillboxd shut down");
	}
	ck_assert_uint_eq(sched_running(), 0);
}
END_TEST

/* A job past its deadline is stopped and ends timed out. */
START_TEST(test_sched_deadline)
{
	struct job	*j;
	struct worker	*w;
	char		*cause = NULL;

	j = job_create(sv_test_spec("{\"repo\":{\"url\":"
	    "\"https://x.org/r.git\"},\"job\":\"refactor\",\"timeout_s\":600}"),
	    NULL);
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	/* Past even the slack the worker gets to clean up itself. */
	j->j_deadline = 1;
	w = worker_new(WORKER_JOB, j);
	ck_assert_int_eq(worker_spawn(w, &cause), 0);
	RUN_UNTIL(job_state_terminal(j->j_state));
	ck_assert_int_eq(j->j_state, JOB_TIMED_OUT);
	ck_assert_str_eq(j->j_reason,
	    "the job's deadline passed (timeout_s 600)");
}
END_TEST

/* Jobs left unfinished by a previous run are interrupted and reaped. */
START_TEST(test_sched_recover)
{
	struct json_object	*spec;
	struct job		*a, *b, *c;
	char			 ida[JOB_ID_SIZE], idb[JOB_ID_SIZE];
	char			 idc[JOB_ID_SIZE];

	spec = sv_test_spec("{\"repo\":{\"url\":\"https://x.org/r.git\"},"
	    "\"job\":\"custom\",\"instructions\":\"x\"}");
	a = job_create(json_object_get(spec), NULL);
	ck_assert_int_eq(job_set_state(a, JOB_RUNNING, NULL), 0);
	job_set_sandbox(a, "sbx-a", "claude");
	b = job_create(json_object_get(spec), NULL);
	job_save(b);
	c = job_create(spec, NULL);
	ck_assert_int_eq(job_set_state(c, JOB_SUCCEEDED, "ok"), 0);
	memcpy(ida, a->j_id, sizeof(ida));
	memcpy(idb, b->j_id, sizeof(idb));
	memcpy(idc, c->j_id, sizeof(idc));
	jobs_clear();
	jobs_init();
	free(cfg.c_worker_path);
	cfg.c_worker_path = script("exit 69");
	sched_recover();
	a = jobs_find(ida);
	b = jobs_find(idb);
	c = jobs_find(idc);
	ck_assert_int_eq(a->j_state, JOB_INTERRUPTED);
	ck_assert_str_eq(a->j_reason,
	    "skillboxd restarted while the job was running");
	ck_assert_int_eq(b->j_state, JOB_INTERRUPTED);
	ck_assert_int_eq(c->j_state, JOB_SUCCEEDED);
	ck_assert_int_eq(b->j_reap, JOB_REAP_NONE);
	/* The reaper runs (and here fails, so it says so). */
	ck_assert_int_eq(a->j_reap, JOB_REAP_PENDING);
	ck_assert_uint_eq(worker_count(WORKER_REAPER), 1);
	RUN_UNTIL(a->j_reap != JOB_REAP_PENDING);
	ck_assert_int_eq(a->j_reap, JOB_REAP_FAILED);
	ck_assert_uint_eq(sched_running(), 0);
}
END_TEST

/* Whether a line of dir/name is text, or starts with it if prefix. */
static int
file_has_line(const char *name, const char *text, int prefix)
{
	char	 line[1024], *path;
	FILE	*f;
	int	 found = 0;

	xasprintf(&path, "%s/%s", dir, name);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (!prefix)
			line[strcspn(line, "\n")] = '\0';
		found = strncmp(line, text, prefix ? strlen(text) :
		    sizeof(line)) == 0;
	}
	fclose(f);
	return (found);
}

/*
 * Workers get the log level as a number, as it is when they start.  Each
 * start appends a line: a worker started late (this script is also
 * tried as a forkserver, and that try may still be running) cannot hide
 * a later one's line.
 */
START_TEST(test_sched_log_level)
{
	char	*cause = NULL, *body, *path;
	int	 created;

	xasprintf(&path, "%s/levels", dir);
	xasprintf(&body, "echo \"$SKILLBOX_LOG_LEVEL\" >>%s; exec sleep 30",
	    path);
	free(cfg.c_worker_path);
	cfg.c_worker_path = script(body);
	cfg.c_log_level = 1;
	ck_assert_ptr_nonnull(submit("", &created, &cause));
	RUN_UNTIL(file_has_line("levels", "1", 0));
	cfg.c_log_level = 3;	/* as a reload would */
	ck_assert_ptr_nonnull(submit("", &created, &cause));
	RUN_UNTIL(file_has_line("levels", "3", 0));
	free(body);
	free(path);
}
END_TEST

/* A worker script at name: as a forkserver it records its environment. */
static char *
fs_script(const char *name)
{
	char	*path, *body;

	xasprintf(&body, "if [ \"$1\" = --forkserver ]; then env >%s/%s.fs; "
	    "exit 0; fi; env >%s/%s.tmp && mv %s/%s.tmp %s/%s.env; "
	    "exec sleep 30", dir, name, dir, name, dir, name, dir, name);
	path = script_at(name, body);
	free(body);
	return (path);
}

/*
 * The forkserver binds every symbol when it starts, so that the workers
 * it forks never look one up, and it is told where the Skills pack is;
 * workers get their own environment only.
 * A worker program changed by a reload gets a forkserver of its own.
 */
START_TEST(test_sched_forkserver)
{
	char	*cause = NULL;
	int	 created;

	free(cfg.c_worker_path);
	cfg.c_worker_path = fs_script("a");
	ck_assert_ptr_nonnull(submit("", &created, &cause));
	RUN_UNTIL(file_has_line("a.env", "PATH=", 1));
	ck_assert(file_has_line("a.fs", "LD_BIND_NOW=1", 1));
	ck_assert(!file_has_line("a.env", "LD_BIND_NOW=", 1));
	/* It reads the Skills pack once for its workers. */
	ck_assert(file_has_line("a.fs", "SKILLBOX_SKILLS_DIR=", 1));
	ck_assert(!file_has_line("a.env", "SKILLBOX_SKILLS_DIR=", 1));

	free(cfg.c_worker_path);	/* as a reload would */
	cfg.c_worker_path = fs_script("b");
	ck_assert_ptr_nonnull(submit("", &created, &cause));
	RUN_UNTIL(file_has_line("b.env", "PATH=", 1));
	ck_assert(file_has_line("b.fs", "LD_BIND_NOW=1", 1));
}
END_TEST

Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc = tcase_create("jobs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sched_queue);
	tcase_add_test(tc, test_sched_idempotent_and_roots);
	tcase_add_test(tc, test_sched_unsaved);
	tcase_add_test(tc, test_sched_worker_dies);
	tcase_add_test(tc, test_sched_shutdown);
	tcase_add_test(tc, test_sched_recover);
	tcase_add_test(tc, test_sched_deadline);
	tcase_add_test(tc, test_sched_log_level);
	tcase_add_test(tc, test_sched_forkserver);
	suite_add_tcase(s, tc);
	return (s);
}
