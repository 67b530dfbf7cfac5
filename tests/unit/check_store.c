/*
 * The state directory: job.json is replaced atomically (a write cut short
 * at any point leaves the old version readable; saves trade two files'
 * places rather than make new ones), events.jsonl appends and
 * reads back by offset, files of a job stay inside its directory.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "redact.h"
#include "xmalloc.h"
#include "check_supervisor.h"
#include "tmpdir.h"

#define SPEC	"{\"repo\":{\"url\":\"https://example.com/r.git\"}," \
		"\"job\":\"refactor\"}"

static char	*dir;
static int	 loaded;

static void
setup(void)
{
	dir = test_tmpdir();
	ck_assert_int_eq(store_init(dir, &(char *){ NULL }), 0);
	jobs_init();
	loaded = 0;
}

static void
teardown(void)
{
	jobs_clear();
	store_close();
	test_rmdir(dir);
}

static void
load_cb(struct json_object *doc, const char *id, void *arg)
{
	char	*cause = NULL;

	ck_assert_msg(job_load(doc, &cause) != NULL, "%s: %s", id, cause);
	loaded++;
}

/* Forget every job in memory, then load the state directory again. */
static void
reload(void)
{
	jobs_clear();
	jobs_init();
	loaded = 0;
	ck_assert_int_ge(store_load_all(load_cb, NULL), 0);
}

/* Load again: the one job there is, in state st. */
static void
reload_one(const char *id, enum job_state st)
{
	reload();
	ck_assert_int_eq(loaded, 1);
	ck_assert_ptr_nonnull(jobs_find(id));
	ck_assert_int_eq(jobs_find(id)->j_state, st);
}

START_TEST(test_store_save_load)
{
	struct job	*a, *b;
	struct buf	 f;
	char		 ida[JOB_ID_SIZE], idb[JOB_ID_SIZE], *path;
	int		 truncated;

	a = job_create(sv_test_spec(SPEC), NULL);
	a->j_created = 1000;
	b = job_create(sv_test_spec(SPEC), NULL);
	b->j_created = 500;
	memcpy(ida, a->j_id, sizeof(ida));
	memcpy(idb, b->j_id, sizeof(idb));
	job_save(a);
	job_save(b);
	ck_assert_int_eq(job_set_state(a, JOB_FAILED, "no"), 0);
	/* One line: the document and its newline, nothing else. */
	path = store_job_path(a, "job.json");
	buf_init(&f, 1 << 20);
	ck_assert_int_eq(buf_read_file(&f, path, 1 << 20, &truncated), 0);
	ck_assert_uint_gt(buf_len(&f), 2);
	ck_assert_ptr_eq(memchr(buf_str(&f), '\n', buf_len(&f)),
	    buf_str(&f) + buf_len(&f) - 1);
	ck_assert_int_eq(buf_str(&f)[0], '{');
	buf_free(&f);
	free(path);
	reload();
	ck_assert_int_eq(loaded, 2);
	/* Oldest first, whatever order the directory lists them in. */
	ck_assert_str_eq(jobs_newest()->j_id, ida);
	ck_assert_str_eq(jobs_older(jobs_newest())->j_id, idb);
	ck_assert_int_eq(jobs_find(ida)->j_state, JOB_FAILED);
	ck_assert_int_eq(jobs_find(idb)->j_state, JOB_QUEUED);
}
END_TEST

/* A leftover temporary file is a write cut short: the old one counts. */
START_TEST(test_store_interrupted_write)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	char		*tmp, id[JOB_ID_SIZE];
	FILE		*f;

	memcpy(id, j->j_id, sizeof(id));
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	job_save(j);
	tmp = store_job_path(j, "job.json.tmp");
	f = fopen(tmp, "w");
	fputs("{\"id\":\"", f);
	fclose(f);
	reload_one(id, JOB_STARTING);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	free(tmp);
}
END_TEST

/* A save that fails leaves the previous version in place. */
START_TEST(test_store_failed_write)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	char		*tmp, *cause = NULL, id[JOB_ID_SIZE];

	memcpy(id, j->j_id, sizeof(id));
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	job_save(j);
	tmp = store_job_path(j, "job.json.tmp");
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	j->j_state = JOB_RUNNING;
	ck_assert_int_eq(store_save(j, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	ck_assert_int_eq(rmdir(tmp), 0);
	free(tmp);
	reload();
	ck_assert_int_eq(jobs_find(id)->j_state, JOB_STARTING);
}
END_TEST

/* The inode numbers of the job's job.json and job.json.tmp (0: none). */
static void
store_inodes(struct job *j, ino_t *cur, ino_t *spare)
{
	struct stat	 sb;
	char		*p;

	p = store_job_path(j, "job.json");
	*cur = stat(p, &sb) == 0 ? sb.st_ino : 0;
	free(p);
	p = store_job_path(j, "job.json.tmp");
	*spare = stat(p, &sb) == 0 ? sb.st_ino : 0;
	free(p);
}

/*
 * The first save writes job.json itself; later ones swap a fresh version
 * in, and from the third on no save makes or deletes an inode: the two
 * files trade places.
 */
START_TEST(test_store_swaps)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	ino_t		 cur, spare, cur2, spare2;
	char		 id[JOB_ID_SIZE];

	memcpy(id, j->j_id, sizeof(id));
	job_save(j);
	store_inodes(j, &cur, &spare);
	ck_assert_uint_ne(cur, 0);
	ck_assert_uint_eq(spare, 0);
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	job_save(j);
	store_inodes(j, &cur2, &spare2);
#ifdef RENAME_EXCHANGE
	ck_assert_uint_eq(spare2, cur);		/* the old version is kept */
	ck_assert_uint_ne(cur2, cur);
	ck_assert_int_eq(job_set_state(j, JOB_RUNNING, NULL), 0);
	job_save(j);
	store_inodes(j, &cur, &spare);
	ck_assert_uint_eq(cur, spare2);
	ck_assert_uint_eq(spare, cur2);
#else
	ck_assert_int_eq(job_set_state(j, JOB_RUNNING, NULL), 0);
	job_save(j);
#endif
	reload_one(id, JOB_RUNNING);
}
END_TEST

/* A job whose directory exists without a job.json (a first save failed). */
START_TEST(test_store_save_no_doc)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	char		*d, id[JOB_ID_SIZE];

	memcpy(id, j->j_id, sizeof(id));
	d = store_job_path(j, NULL);
	ck_assert_int_eq(mkdir(d, 0700), 0);
	free(d);
	ck_assert_int_eq(job_set_state(j, JOB_STARTING, NULL), 0);
	job_save(j);
	reload_one(id, JOB_STARTING);
}
END_TEST

/*
 * A process killed at any moment while saving never leaves a job.json
 * that cannot be read: it is always one whole version or the other.
 */
START_TEST(test_store_killed_mid_write)
{
	struct job		*j = job_create(sv_test_spec(SPEC), NULL);
	struct json_object	*big;
	struct timespec		 ts;
	char			*pad, id[JOB_ID_SIZE];
	int			 round, status;
	pid_t			 pid;

	memcpy(id, j->j_id, sizeof(id));
	job_save(j);
	pad = xmalloc(256 * 1024);
	memset(pad, 'p', 256 * 1024 - 1);
	pad[256 * 1024 - 1] = '\0';
	for (round = 0; round < 12; round++) {
		if ((pid = fork()) == 0) {
			for (;;) {
				big = json_object_new_object();
				json_add_string(big, "pad", pad);
				job_set_result(j, big);
				j->j_updated++;
				job_save(j);
			}
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(1 + round * 7) * 1000000;
		nanosleep(&ts, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		reload();
		ck_assert_int_eq(loaded, 1);
		j = jobs_find(id);
		ck_assert_ptr_nonnull(j);
	}
	free(pad);
}
END_TEST

START_TEST(test_store_log)
{
	struct job		*j = job_create(sv_test_spec(SPEC), NULL);
	struct json_object	*e, *arr;
	char			 id[JOB_ID_SIZE], *path;
	struct buf		 b;
	int			 i, truncated;

	memcpy(id, j->j_id, sizeof(id));
	job_save(j);
	ck_assert_int_eq(redact_add("sekrit-value-123"), 0);
	for (i = 0; i < 10; i++) {
		e = json_object_new_object();
		json_add_int(e, "i", i);
		json_add_string(e, "msg", "token sekrit-value-123 here");
		job_add_entry(j, "log", e);
	}
	ck_assert_uint_eq(j->j_log.jl_count, 10);
	ck_assert_int_eq(store_log_read(j, 3, 4, 1 << 20, &arr), 4);
	ck_assert_int_eq(json_peek_int(json_object_array_get_idx(arr, 0), "n",
	    -1), 3);
	ck_assert_int_eq(json_peek_int(json_object_array_get_idx(arr, 3), "i",
	    -1), 6);
	json_object_put(arr);
	/* A byte budget still yields one entry. */
	ck_assert_int_eq(store_log_read(j, 0, 10, 1, &arr), 1);
	json_object_put(arr);
	ck_assert_int_eq(store_log_read(j, 10, 5, 1 << 20, &arr), 0);
	json_object_put(arr);
	/* Secrets never reach the file. */
	path = store_job_path(j, "events.jsonl");
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_read_file(&b, path, 1 << 20, &truncated), 0);
	ck_assert_ptr_null(strstr(buf_str(&b), "sekrit-value-123"));
	ck_assert_ptr_nonnull(strstr(buf_str(&b), REDACT_MARK));
	buf_free(&b);
	free(path);
	redact_clear();
	/* After a restart the log is indexed again from the file. */
	reload();
	j = jobs_find(id);
	ck_assert_int_eq(store_log_read(j, 8, 100, 1 << 20, &arr), 2);
	ck_assert_uint_eq(j->j_log.jl_count, 10);
	json_object_put(arr);
	e = json_object_new_object();
	job_add_entry(j, "state", e);
	ck_assert_uint_eq(j->j_log.jl_count, 11);
	ck_assert_int_eq(store_log_read(j, 10, 1, 1 << 20, &arr), 1);
	ck_assert_int_eq(json_peek_int(json_object_array_get_idx(arr, 0), "n",
	    -1), 10);
	json_object_put(arr);
}
END_TEST

START_TEST(test_store_read_file)
{
	struct job	*j = job_create(sv_test_spec(SPEC), NULL);
	struct buf	 b;
	char		*path, *cause = NULL;
	int		 truncated;
	FILE		*f;

	job_save(j);
	path = store_job_path(j, "diff.patch");
	f = fopen(path, "w");
	fputs("+new\n", f);
	fclose(f);
	free(path);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(store_read_file(j, "diff.patch", 1 << 20, &b,
	    &truncated, &cause), 0);
	ck_assert_str_eq(buf_str(&b), "+new\n");
	buf_reset(&b);
	/* A symlink out of the job's directory is refused. */
	path = store_job_path(j, "escape");
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	free(path);
	ck_assert_int_eq(store_read_file(j, "escape", 1 << 20, &b, &truncated,
	    &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(store_read_file(j, "missing", 1 << 20, &b,
	    &truncated, &cause), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(cause);
	buf_free(&b);
}
END_TEST

Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("statedir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_save_load);
	tcase_add_test(tc, test_store_interrupted_write);
	tcase_add_test(tc, test_store_failed_write);
	tcase_add_test(tc, test_store_swaps);
	tcase_add_test(tc, test_store_save_no_doc);
	tcase_add_test(tc, test_store_killed_mid_write);
	tcase_add_test(tc, test_store_log);
	tcase_add_test(tc, test_store_read_file);
	suite_add_tcase(s, tc);
	return (s);
}
