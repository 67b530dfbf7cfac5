/*
 * supervisor/retain.c: finished jobs older than job-retention leave
 * memory and the state directory; nothing else does.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define SPEC	"{\"repo\":{\"url\":\"https://example.com/r.git\"}," \
		"\"job\":\"refactor\"}"
#define HOUR_MS	(3600 * 1000)

static char			*dir;
static struct sv_config		 cfg;
static struct event_base	*base;

static void
setup(void)
{
	dir = test_tmpdir();
	ck_assert_int_eq(store_init(dir, &(char *){ NULL }), 0);
	jobs_init();
	sv_test_config(&cfg, dir);
	cfg.c_job_retention_s = 3600;
	base = event_base_new();
	retain_init(base, &cfg);
}

static void
teardown(void)
{
	retain_fini();
	event_base_free(base);
	jobs_clear();
	store_close();
	config_clear(&cfg);
	test_rmdir(dir);
}

/* A job in state st, with a log entry, a diff and an artifact on disk. */
static struct job *
job_in(enum job_state st, char id[JOB_ID_SIZE])
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	char		*path;
	FILE		*f;

	memcpy(id, j->j_id, JOB_ID_SIZE);
	job_save(j);
	job_add_entry(j, "log", json_parse("{\"msg\":\"hi\"}", 13, NULL));
	path = store_job_path(j, "artifacts");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	free(path);
	path = store_job_path(j, "artifacts/out.csv");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("a,b\n", f);
	fclose(f);
	free(path);
	if (st != JOB_QUEUED)
		ck_assert_int_eq(job_set_state(j, st, "test"), 0);
	return (j);
}

static int
on_disk(const char *id)
{
	char	*path;
	int	 r;

	xasprintf(&path, "%s/jobs/%s", dir, id);
	r = access(path, F_OK) == 0;
	free(path);
	return (r);
}

START_TEST(test_retain_old_finished)
{
	struct job	*j, *y;
	char		 old[JOB_ID_SIZE], young[JOB_ID_SIZE];
	int64_t		 now;

	j = job_in(JOB_SUCCEEDED, old);
	y = job_in(JOB_FAILED, young);
	now = y->j_finished;
	j->j_finished = now - 2 * HOUR_MS;
	ck_assert_uint_eq(retain_sweep(now + HOUR_MS - 1), 1);
	ck_assert_ptr_null(jobs_find(old));
	ck_assert(!on_disk(old));
	ck_assert_ptr_nonnull(jobs_find(young));
	ck_assert(on_disk(young));
	/* An hour after the young one ended, it goes too. */
	ck_assert_uint_eq(retain_sweep(now + HOUR_MS), 1);
	ck_assert_uint_eq(jobs_count(), 0);
	ck_assert(!on_disk(young));
}
END_TEST

/* Unfinished jobs, and those still being reaped, stay however old. */
START_TEST(test_retain_keeps_unfinished)
{
	struct job	*q, *r;
	char		 a[JOB_ID_SIZE], b[JOB_ID_SIZE];
	int64_t		 later;

	q = job_in(JOB_QUEUED, a);
	r = job_in(JOB_INTERRUPTED, b);
	r->j_reap = JOB_REAP_PENDING;
	later = q->j_created + 1000 * (int64_t)HOUR_MS;
	ck_assert_uint_eq(retain_sweep(later), 0);
	ck_assert_uint_eq(jobs_count(), 2);
	r->j_reap = JOB_REAP_DONE;
	ck_assert_uint_eq(retain_sweep(later), 1);
	ck_assert_ptr_nonnull(jobs_find(a));
	ck_assert(on_disk(a));
}
END_TEST

/* A retention of 0 keeps everything for ever. */
START_TEST(test_retain_forever)
{
	char	id[JOB_ID_SIZE];

	cfg.c_job_retention_s = 0;
	job_in(JOB_CANCELLED, id);
	ck_assert_uint_eq(retain_sweep(INT64_MAX / 2), 0);
	ck_assert(on_disk(id));
}
END_TEST

Suite *
retain_suite(void)
{
	Suite	*s = suite_create("retain");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retain_old_finished);
	tcase_add_test(tc, test_retain_keeps_unfinished);
	tcase_add_test(tc, test_retain_forever);
	suite_add_tcase(s, tc);
	return (s);
}
