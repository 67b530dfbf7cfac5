/*
 * The job table and each job's state machine.  A state change is written
 * to the state directory before anyone hears of it, and a terminal state
 * never changes.  Lookups by id go through a hash table; the list keeps
 * creation order for listing.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "rnd.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define JOBS_BUCKETS_MIN	256

static struct jobq	  jobs_list = TAILQ_HEAD_INITIALIZER(jobs_list);
static struct job	**jobs_hash;
static size_t		  jobs_nbuckets;
static size_t		  jobs_n;
static uint64_t		  jobs_seq;
static job_hook		  jobs_hook;

static const char *job_reaps[JOB_REAP_MAX] = {
	[JOB_REAP_NONE] = "none", [JOB_REAP_PENDING] = "pending",
	[JOB_REAP_DONE] = "done", [JOB_REAP_FAILED] = "failed",
};

static size_t	jobs_bucket(const char *, size_t);
static void	jobs_insert(struct job *);
static void	jobs_grow(void);
static void	job_announce(struct job *, enum job_change);
static int	job_load_times(struct job *, struct json_object *, char **);
static int	job_load_sandbox(struct job *, struct json_object *, char **);
static void	job_load_recent(struct job *, struct json_object *);
static struct job *job_alloc(struct json_object *, const char *,
		    const char *);

/* Start with an empty table. */
void
jobs_init(void)
{
	jobs_nbuckets = JOBS_BUCKETS_MIN;
	jobs_hash = xcalloc(jobs_nbuckets, sizeof(*jobs_hash));
	jobs_n = 0;
	jobs_seq = 0;
}

/* Forget every job (at exit, and between tests). */
void
jobs_clear(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&jobs_list)) != NULL)
		job_remove(&j);
	free(jobs_hash);
	jobs_hash = NULL;
	jobs_nbuckets = 0;
	jobs_hook = NULL;
}

/* Install the function told of every change, after it is persisted. */
void
jobs_set_hook(job_hook hook)
{
	jobs_hook = hook;
}

/* FNV-1a over the id. */
static size_t
jobs_bucket(const char *id, size_t nbuckets)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return ((size_t)(h % nbuckets));
}

/* Double the buckets once the chains grow long. */
static void
jobs_grow(void)
{
	struct job	**old = jobs_hash, *j, *next;
	size_t		  i, n = jobs_nbuckets;

	jobs_nbuckets = n * 2;
	jobs_hash = xcalloc(jobs_nbuckets, sizeof(*jobs_hash));
	for (i = 0; i < n; i++) {
		for (j = old[i]; j != NULL; j = next) {
			next = j->j_idnext;
			j->j_idnext = jobs_hash[jobs_bucket(j->j_id,
			    jobs_nbuckets)];
			jobs_hash[jobs_bucket(j->j_id, jobs_nbuckets)] = j;
		}
	}
	free(old);
}

/* Add a job to the table, numbered in creation order. */
static void
jobs_insert(struct job *j)
{
	size_t	b;

	if (jobs_hash == NULL)
		jobs_init();
	if (jobs_n >= jobs_nbuckets * 2)
		jobs_grow();
	b = jobs_bucket(j->j_id, jobs_nbuckets);
	j->j_idnext = jobs_hash[b];
	jobs_hash[b] = j;
	j->j_seq = ++jobs_seq;
	TAILQ_INSERT_TAIL(&jobs_list, j, j_entry);
	jobs_n++;
}

/* The job with this id, or NULL. */
struct job *
jobs_find(const char *id)
{
	struct job	*j;

	if (jobs_hash == NULL || id == NULL)
		return (NULL);
	for (j = jobs_hash[jobs_bucket(id, jobs_nbuckets)]; j != NULL;
	    j = j->j_idnext)
		if (strcmp(j->j_id, id) == 0)
			return (j);
	return (NULL);
}

/* The job submitted with this idempotency key, if any. */
struct job *
jobs_find_key(const char *key)
{
	struct job	*j;

	TAILQ_FOREACH(j, &jobs_list, j_entry)
		if (j->j_idem != NULL && strcmp(j->j_idem, key) == 0)
			return (j);
	return (NULL);
}

struct job *
jobs_newest(void)
{
	return (TAILQ_LAST(&jobs_list, jobq));
}

struct job *
jobs_older(struct job *j)
{
	return (TAILQ_PREV(j, jobq, j_entry));
}

/* The newest job created before seq (for cursors); NULL if none. */
struct job *
jobs_find_seq(uint64_t seq)
{
	struct job	*j;

	TAILQ_FOREACH_REVERSE(j, &jobs_list, jobq, j_entry)
		if (j->j_seq < seq)
			return (j);
	return (NULL);
}

size_t
jobs_count(void)
{
	return (jobs_n);
}

/* A connection went away: its jobs run on, owned by nobody. */
void
jobs_forget_owner(struct mcp_conn *c)
{
	struct job	*j;

	TAILQ_FOREACH(j, &jobs_list, j_entry)
		if (j->j_owner == c)
			j->j_owner = NULL;
}

/* True for "j-" and JOB_ID_HEX lowercase hex digits, nothing else. */
int
job_id_valid(const char *id)
{
	size_t	i;

	if (id == NULL || strncmp(id, "j-", 2) != 0 ||
	    strlen(id) != JOB_ID_SIZE - 1)
		return (0);
	for (i = 2; id[i] != '\0'; i++)
		if (!isxdigit((unsigned char)id[i]) ||
		    isupper((unsigned char)id[i]))
			return (0);
	return (1);
}

const char *
job_reap_name(enum job_reap r)
{
	return (r < JOB_REAP_MAX ? job_reaps[r] : "unknown");
}

/* A new queued job with the given id, or a fresh random one. */
static struct job *
job_alloc(struct json_object *spec, const char *key, const char *id)
{
	struct job	*j;
	const char	*type;

	j = xcalloc(1, sizeof(*j));
	if (id != NULL)
		memcpy(j->j_id, id, JOB_ID_SIZE);
	else {
		do {
			memcpy(j->j_id, "j-", 2);
			rnd_hex(j->j_id + 2, JOB_ID_HEX);
		} while (jobs_find(j->j_id) != NULL);
	}
	j->j_state = JOB_QUEUED;
	j->j_spec = spec;
	type = json_peek_string(spec, "job");
	if (type == NULL || jobspec_type_parse(type, &j->j_type) == -1)
		j->j_type = JOB_CUSTOM;
	j->j_idem = key != NULL ? xstrdup(key) : NULL;
	j->j_created = j->j_updated = clock_now_ms();
	j->j_log.jl_fd = -1;
	j->j_log.jl_indexed = 1;
	jobs_insert(j);
	return (j);
}

/*
 * A new queued job for a validated spec (as JSON).  Takes ownership of
 * spec.  The job is in the table but not yet persisted; the caller saves
 * it.
 */
struct job *
job_create(struct json_object *spec, const char *key)
{
	return (job_alloc(spec, key, NULL));
}

/* Take a job out of the table and free it. */
void
job_remove(struct job **jp)
{
	struct job	*j = *jp, **pp;
	unsigned	 i;

	if (j == NULL)
		return;
	if (jobs_hash != NULL) {
		pp = &jobs_hash[jobs_bucket(j->j_id, jobs_nbuckets)];
		while (*pp != NULL && *pp != j)
			pp = &(*pp)->j_idnext;
		if (*pp == j)
			*pp = j->j_idnext;
	}
	TAILQ_REMOVE(&jobs_list, j, j_entry);
	jobs_n--;
	store_log_free(j);
	free(j->j_reason);
	json_object_put(j->j_spec);
	json_object_put(j->j_result);
	free(j->j_idem);
	free(j->j_sandbox);
	free(j->j_template);
	for (i = 0; i < JOB_RECENT; i++)
		free(j->j_recent[i]);
	tools_view_forget(j);
	free(j);
	*jp = NULL;
}

/* Write the job to the state directory; a failure is logged. */
void
job_save(struct job *j)
{
	char	*cause = NULL;

	if (store_save(j, &cause) == -1) {
		log_warnx("job %s: cannot save: %s", j->j_id, cause);
		free(cause);
	}
}

static void
job_announce(struct job *j, enum job_change what)
{
	if (jobs_hook != NULL)
		jobs_hook(j, what);
}

/*
 * Move a job to a new state.  States only move forward and a terminal
 * state is final: -1 with EINVAL otherwise.  The change is persisted
 * before it is announced: every change in the job's log, and job.json
 * rewritten for a terminal state (submission and the sandbox are saved
 * where they happen).  A restart turns an unfinished job interrupted,
 * so the phases between need not cost a rewrite each.
 */
int
job_set_state(struct job *j, enum job_state st, const char *reason)
{
	struct json_object	*e;
	int64_t			 now = clock_now_ms();

	if (st >= JOB_STATE_MAX || job_state_terminal(j->j_state) ||
	    st < j->j_state) {
		errno = EINVAL;
		return (-1);
	}
	if (st == j->j_state)
		return (0);
	j->j_state = st;
	j->j_gen++;
	free(j->j_reason);
	j->j_reason = reason != NULL ? xstrdup(reason) : NULL;
	j->j_updated = now;
	if (st == JOB_STARTING)
		j->j_started = now;
	if (job_state_terminal(st)) {
		j->j_finished = now;
		job_save(j);
	}
	e = json_object_new_object();
	json_add_string(e, "state", job_state_name(st));
	if (reason != NULL)
		json_add_string(e, "reason", reason);
	job_add_entry(j, "state", e);
	job_announce(j, JOB_CHANGE_STATE);
	if (job_state_terminal(st))
		store_log_close(j);
	return (0);
}

/* Record the sandbox a worker created; persisted before anything else. */
void
job_set_sandbox(struct job *j, const char *id, const char *tmpl)
{
	struct json_object	*e;

	free(j->j_sandbox);
	free(j->j_template);
	j->j_sandbox = xstrdup(id);
	j->j_template = xstrdup(tmpl);
	j->j_updated = clock_now_ms();
	j->j_gen++;
	job_save(j);
	e = json_object_new_object();
	json_add_string(e, "id", id);
	json_add_string(e, "template", tmpl);
	job_add_entry(j, "sandbox", e);
	job_announce(j, JOB_CHANGE_SANDBOX);
}

/* Record how reaping the job's orphaned sandbox went. */
void
job_set_reap(struct job *j, enum job_reap r)
{
	j->j_reap = r;
	j->j_updated = clock_now_ms();
	j->j_gen++;
	job_save(j);
	job_announce(j, JOB_CHANGE_SANDBOX);
	if (r != JOB_REAP_PENDING && job_state_terminal(j->j_state))
		store_log_close(j);
}

/* Keep the worker's result; takes ownership.  Saved with the state. */
void
job_set_result(struct job *j, struct json_object *result)
{
	json_object_put(j->j_result);
	j->j_result = result;
	j->j_gen++;
}

/*
 * Append an entry of the given kind to the job's log; takes ownership of
 * e, which gets "at" and "kind" added (and "n" from the store).
 */
void
job_add_entry(struct job *j, const char *kind, struct json_object *e)
{
	char	at[CLOCK_ISO_LEN];

	json_add_string(e, "at", clock_iso(clock_now_ms(), at, sizeof(at)));
	json_add_string(e, "kind", kind);
	j->j_gen++;
	if (store_log_append(j, e) == 0)
		job_announce(j, JOB_CHANGE_LOG);
	json_object_put(e);
}

/* Remember one line of recent activity (not agent-trusted text). */
void
job_add_recent(struct job *j, const char *line)
{
	char	**slot = &j->j_recent[j->j_nrecent % JOB_RECENT];

	free(*slot);
	*slot = xstrndup(line, JOB_RECENT_MAX);
	j->j_nrecent++;
	j->j_gen++;
}

/* The i-th most recent activity line (0 = newest), or NULL. */
const char *
job_recent(const struct job *j, unsigned i)
{
	if (i >= JOB_RECENT || i >= j->j_nrecent)
		return (NULL);
	return (j->j_recent[(j->j_nrecent - 1 - i) % JOB_RECENT]);
}

/*
 * One line that says what an agent event was: its type, its tool or
 * name, and the start of its text, with whitespace folded.
 */
void
job_summarize_event(struct json_object *ev, struct buf *out)
{
	static const char	*texts[] = { "text", "summary", "command",
	    "input", "content", "message", "result" };
	const char		*type, *name, *text = NULL, *p;
	size_t			 i;
	int			 space = 0;

	type = json_peek_string(ev, "type");
	if (type == NULL)
		type = json_peek_string(ev, "kind");
	if ((name = json_peek_string(ev, "name")) == NULL)
		name = json_peek_string(ev, "tool");
	for (i = 0; text == NULL && i < sizeof(texts) / sizeof(texts[0]); i++)
		text = json_peek_string(ev, texts[i]);
	(void)buf_printf(out, "%s", type != NULL ? type : "event");
	if (name != NULL)
		(void)buf_printf(out, " %s", name);
	if (text == NULL)
		return;
	(void)buf_addstr(out, ": ");
	for (p = text; *p != '\0' && buf_len(out) < JOB_RECENT_MAX; p++) {
		if (isspace((unsigned char)*p)) {
			space = 1;
			continue;
		}
		if (space && buf_addc(out, ' ') == -1)
			break;
		space = 0;
		if (buf_addc(out, *p) == -1)
			break;
	}
}

/* The job as stored in job.json. */
struct json_object *
job_to_json(const struct job *j)
{
	struct json_object	*o, *sb, *recent;
	const char		*line;
	unsigned		 i;

	o = json_object_new_object();
	json_add_int(o, "format", 1);
	json_add_string(o, "id", j->j_id);
	json_add_string(o, "state", job_state_name(j->j_state));
	if (j->j_reason != NULL)
		json_add_string(o, "reason", j->j_reason);
	json_add_string(o, "job", jobspec_type_name(j->j_type));
	json_object_object_add(o, "spec", json_object_get(j->j_spec));
	if (j->j_idem != NULL)
		json_add_string(o, "idempotency_key", j->j_idem);
	json_add_int(o, "created_ms", j->j_created);
	json_add_int(o, "started_ms", j->j_started);
	json_add_int(o, "updated_ms", j->j_updated);
	json_add_int(o, "finished_ms", j->j_finished);
	json_add_int(o, "deadline_ms", j->j_deadline);
	json_add_bool(o, "cancel_requested", j->j_cancel);
	if (j->j_sandbox != NULL) {
		sb = json_object_new_object();
		json_add_string(sb, "id", j->j_sandbox);
		json_add_string(sb, "template", j->j_template);
		json_add_string(sb, "reap", job_reap_name(j->j_reap));
		json_object_object_add(o, "sandbox", sb);
	}
	recent = json_object_new_array();
	for (i = JOB_RECENT; i-- > 0;)
		if ((line = job_recent(j, i)) != NULL)
			json_object_array_add(recent,
			    json_object_new_string(line));
	json_object_object_add(o, "recent", recent);
	if (j->j_result != NULL)
		json_object_object_add(o, "result",
		    json_object_get(j->j_result));
	return (o);
}

/* The timestamps of a stored job. */
static int
job_load_times(struct job *j, struct json_object *o, char **cause)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} times[] = {
		{ "created_ms", offsetof(struct job, j_created) },
		{ "started_ms", offsetof(struct job, j_started) },
		{ "updated_ms", offsetof(struct job, j_updated) },
		{ "finished_ms", offsetof(struct job, j_finished) },
		{ "deadline_ms", offsetof(struct job, j_deadline) },
	};
	size_t	i;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (json_get_int(o, NULL, times[i].key, J_REQUIRED, 0,
		    INT64_MAX, (int64_t *)(void *)((char *)j + times[i].off),
		    cause) == -1)
			return (-1);
	return (0);
}

/* The sandbox a stored job recorded, if any. */
static int
job_load_sandbox(struct job *j, struct json_object *o, char **cause)
{
	struct json_object	*sb;
	const char		*id, *tmpl, *reap;
	int			 r, i;

	if ((r = json_get_object(o, NULL, "sandbox", J_OPTIONAL, &sb,
	    cause)) != 1)
		return (r);
	if (json_get_string(sb, "sandbox", "id", J_NONEMPTY | J_REQUIRED,
	    256, &id, cause) == -1 ||
	    json_get_string(sb, "sandbox", "template", J_REQUIRED, 256, &tmpl,
	    cause) == -1 ||
	    json_get_string(sb, "sandbox", "reap", J_REQUIRED, 16, &reap,
	    cause) == -1)
		return (-1);
	for (i = 0; i < JOB_REAP_MAX; i++)
		if (strcmp(reap, job_reaps[i]) == 0)
			break;
	if (i == JOB_REAP_MAX) {
		xasprintf(cause, "sandbox.reap: unknown value '%.16s'", reap);
		return (-1);
	}
	j->j_sandbox = xstrdup(id);
	j->j_template = xstrdup(tmpl);
	j->j_reap = (enum job_reap)i;
	return (0);
}

/* The recent activity lines a stored job kept. */
static void
job_load_recent(struct job *j, struct json_object *o)
{
	struct json_object	*arr, *el;
	size_t			 i;

	if (!json_object_object_get_ex(o, "recent", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		el = json_object_array_get_idx(arr, i);
		if (json_object_is_type(el, json_type_string))
			job_add_recent(j, json_object_get_string(el));
	}
}

/*
 * A job read back from its job.json, added to the table.  The document is
 * checked as strictly as anything from outside: -1 with *cause if it is
 * not a job skillboxd wrote.
 */
struct job *
job_load(struct json_object *o, char **cause)
{
	struct job		*j;
	struct json_object	*spec, *result = NULL;
	const char		*id, *state, *reason = NULL, *key = NULL;
	int			 cancel = 0;

	if (json_get_string(o, NULL, "id", J_REQUIRED, 64, &id, cause) == -1)
		return (NULL);
	if (!job_id_valid(id) || jobs_find(id) != NULL) {
		xasprintf(cause, "id: '%.64s' is not valid or not unique", id);
		return (NULL);
	}
	if (json_get_string(o, NULL, "state", J_REQUIRED, 32, &state,
	    cause) == -1 ||
	    json_get_string(o, NULL, "reason", J_OPTIONAL, 0, &reason,
	    cause) == -1 ||
	    json_get_object(o, NULL, "spec", J_REQUIRED, &spec, cause) == -1 ||
	    json_get_object(o, NULL, "result", J_OPTIONAL, &result,
	    cause) == -1 ||
	    json_get_string(o, NULL, "idempotency_key", J_OPTIONAL,
	    JOBSPEC_STRING_MAX, &key, cause) == -1 ||
	    json_get_bool(o, NULL, "cancel_requested", J_OPTIONAL, &cancel,
	    cause) == -1)
		return (NULL);
	j = job_alloc(json_object_get(spec), key, id);
	if (job_state_parse(state, &j->j_state) == -1) {
		xasprintf(cause, "state: unknown state '%.32s'", state);
		goto fail;
	}
	if (job_load_times(j, o, cause) == -1 ||
	    job_load_sandbox(j, o, cause) == -1)
		goto fail;
	j->j_reason = reason != NULL ? xstrdup(reason) : NULL;
	j->j_result = result != NULL ? json_object_get(result) : NULL;
	j->j_cancel = cancel;
	j->j_log.jl_indexed = 0;
	job_load_recent(j, o);
	return (j);
fail:
	job_remove(&j);
	return (NULL);
}
