/*
 * fake-claude: loading a scenario and playing it (the format is in
 * README).  Unknown step kinds and bad fields are errors: a test that
 * mistypes a scenario should fail, not pass by accident.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "xmalloc.h"
#include "fake-claude.h"

#define SCENARIO_MAX		(1024 * 1024)
#define SCENARIO_PROMPT_KEY	"fake-claude-scenario:"
#define SCENARIO_TURN_COST	0.0117

/* What to do when no scenario is given: look, report, succeed. */
static const char scenario_default[] =
    "{\"steps\":["
    "{\"text\":\"I'll look at the repository first.\"},"
    "{\"bash\":\"ls\",\"description\":\"List the files\"},"
    "{\"result_json\":{\"summary\":\"fake-claude default scenario: "
    "looked at the repository and changed nothing.\"}}],"
    "\"final_text\":\"Done: I looked at the repository and changed "
    "nothing.\"}";

static struct json_object *scenario_parse(const char *, char **);
static int	scenario_step(struct fc_run *, struct json_object *, size_t);
static void	scenario_finish(struct fc_run *, struct json_object *);
static void	scenario_hang(void) __attribute__((__noreturn__));
static void	scenario_die(size_t, const char *)
		    __attribute__((__noreturn__));
static void	message_open(struct fc_run *);
static void	long_line(struct fc_run *, long);
static void	api_retries(struct fc_run *, int64_t);
static int	scenario_plain(struct fc_run *, struct json_object *);
static void	result_fields(struct json_object *, const char *, int,
		    const char *, const char *);
static struct json_object *result_kind(struct fc_run *, const char *,
		    struct json_object *, const char *);

/* A scenario given inline (starting with "{") or as a file's path. */
static struct json_object *
scenario_parse(const char *src, char **cause)
{
	struct buf	 b;
	char		 chunk[8192];
	FILE		*f;
	size_t		 n;
	struct json_object *o;

	while (*src == ' ' || *src == '\t')
		src++;
	if (*src == '{')
		return (json_parse(src, strlen(src), cause));
	if ((f = fopen(src, "r")) == NULL) {
		xasprintf(cause, "%s: %s", src, strerror(errno));
		return (NULL);
	}
	buf_init(&b, SCENARIO_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) == -1) {
			xasprintf(cause, "%s: larger than %d bytes", src,
			    SCENARIO_MAX);
			break;
		}
	fclose(f);
	o = *cause == NULL ? json_parse(buf_str(&b), buf_len(&b), cause) :
	    NULL;
	buf_free(&b);
	return (o);
}

/*
 * The scenario: $FAKE_CLAUDE_SCENARIO, else a prompt line
 * "fake-claude-scenario: <path or JSON>", else the default.
 */
struct json_object *
scenario_load(const char *prompt, char **cause)
{
	const char		*env = getenv("FAKE_CLAUDE_SCENARIO");
	const char		*line;
	char			*src;
	struct json_object	*o;

	*cause = NULL;
	if (env != NULL && *env != '\0')
		o = scenario_parse(env, cause);
	else if ((line = strstr(prompt, SCENARIO_PROMPT_KEY)) != NULL) {
		line += strlen(SCENARIO_PROMPT_KEY);
		src = xstrndup(line, strcspn(line, "\n"));
		o = scenario_parse(src, cause);
		free(src);
	} else
		o = json_parse(scenario_default, sizeof(scenario_default) - 1,
		    cause);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		xasprintf(cause, "expected an object");
		json_object_put(o);
		o = NULL;
	}
	return (o);
}

static void
scenario_die(size_t i, const char *what)
{
	fflush(stdout);
	fprintf(stderr, "fake-claude: scenario: steps[%zu]: %s\n", i, what);
	exit(2);
}

/* Sleep until killed, without output. */
static void
scenario_hang(void)
{
	fflush(stdout);
	for (;;)
		pause();
}

/* Start a new assistant message unless one is open. */
static void
message_open(struct fc_run *r)
{
	if (!r->r_open) {
		r->r_msg++;
		r->r_cost += SCENARIO_TURN_COST;
		r->r_open = 1;
	}
}

/* One assistant text event whose line is kb KiB long. */
static void
long_line(struct fc_run *r, long kb)
{
	char	*text;
	size_t	 n = (size_t)kb * 1024;

	text = xmalloc(n + 1);
	memset(text, 'y', n);
	text[n] = '\0';
	message_open(r);
	emit_text(r, text, 0);
	free(text);
}

/* Emit n system/api_retry events. */
static void
api_retries(struct fc_run *r, int64_t n)
{
	struct json_object	*v;

	for (; n > 0; n--) {
		v = json_object_new_object();
		json_add_int(v, "attempt", 1);
		json_add_int(v, "max_retries", 10);
		json_add_int(v, "retry_delay_ms", 500);
		json_add_int(v, "error_status", 529);
		json_add_string(v, "error", "overloaded");
		emit_system(r, "api_retry", v);
	}
}

/* A step that is not a tool call; returns 0 if st is not one. */
static int
scenario_plain(struct fc_run *r, struct json_object *st)
{
	struct json_object	*v;
	int64_t			 n;

	if ((n = json_peek_int(st, "exit", -1)) >= 0) {
		fflush(stdout);
		if (json_peek_string(st, "stderr") != NULL)
			fprintf(stderr, "%s\n", json_peek_string(st, "stderr"));
		exit((int)n);
	}
	if (json_object_object_get_ex(st, "hang", &v))
		scenario_hang();
	if (json_object_object_get_ex(st, "text", &v)) {
		message_open(r);
		emit_text(r, json_object_get_string(v), 0);
	} else if ((n = json_peek_int(st, "sleep_ms", -1)) >= 0) {
		fflush(stdout);
		usleep((useconds_t)n * 1000);
	} else if ((n = json_peek_int(st, "garbage", -1)) >= 0)
		emit_garbage(n);
	else if ((n = json_peek_int(st, "huge_mb", -1)) >= 0)
		emit_huge(r, n);
	else if ((n = json_peek_int(st, "long_line_kb", -1)) >= 0)
		long_line(r, n);
	else if ((n = json_peek_int(st, "api_retry", -1)) >= 0)
		api_retries(r, n);
	else
		return (0);
	return (1);
}

/* Play step i. Returns 1 if it was a tool turn. */
static int
scenario_step(struct fc_run *r, struct json_object *st, size_t i)
{
	struct json_object	*v;
	int			 n;

	if (!json_object_is_type(st, json_type_object))
		scenario_die(i, "expected an object");
	if (scenario_plain(r, st))
		return (0);
	message_open(r);
	if (json_object_object_get_ex(st, "bash", &v))
		n = tool_bash(r, st);
	else if (json_object_object_get_ex(st, "write", &v) ||
	    json_object_object_get_ex(st, "result_json", &v))
		n = tool_write(r, st);
	else if (json_object_object_get_ex(st, "edit", &v))
		n = tool_edit(r, st);
	else if (json_object_object_get_ex(st, "skill", &v))
		n = tool_skill(r, st);
	else
		scenario_die(i, "unknown step");
	if (n == -1)
		scenario_die(i, "bad fields for this step");
	r->r_open = 0;
	return (1);
}

/* The fields every result has; api_error_status starts as null. */
static void
result_fields(struct json_object *f, const char *subtype, int is_error,
    const char *reason, const char *text)
{
	json_add_string(f, "subtype", subtype);
	json_add_bool(f, "is_error", is_error);
	if (text != NULL)
		json_add_string(f, "result", text);
	json_add_string(f, "terminal_reason", reason);
	json_object_object_add(f, "api_error_status", NULL);
}

/*
 * The fields of a result of the given kind, after emitting the last
 * assistant message the kind calls for.  res (may be NULL) holds the
 * scenario's own result fields, e.g. api_error_status.
 */
static struct json_object *
result_kind(struct fc_run *r, const char *kind, struct json_object *res,
    const char *text)
{
	struct json_object	*f, *a;
	char			 msg[256];
	int64_t			 code;

	f = json_object_new_object();
	if (strcmp(kind, "api_error") == 0) {
		code = res != NULL ? json_peek_int(res, "api_error_status",
		    500) : 500;
		snprintf(msg, sizeof(msg), "API Error: %lld "
		    "{\"type\":\"error\",\"error\":{\"type\":"
		    "\"api_error\",\"message\":\"Internal server error\"}}",
		    (long long)code);
		r->r_msg++;
		emit_text(r, msg, 1);
		result_fields(f, "success", 1, "api_error", msg);
		json_add_int(f, "api_error_status", code);
	} else if (strcmp(kind, "max_turns") == 0) {
		result_fields(f, "error_max_turns", 1, "max_turns", NULL);
		snprintf(msg, sizeof(msg), "Reached maximum number of turns "
		    "(%ld)", r->r_opts->o_max_turns > 0 ?
		    r->r_opts->o_max_turns : r->r_turns);
		a = json_object_new_array();
		json_object_array_add(a, json_object_new_string(msg));
		json_object_object_add(f, "errors", a);
	} else if (strcmp(kind, "success") == 0) {
		text = text != NULL ? text : "Done.";
		message_open(r);
		emit_text(r, text, 0);
		result_fields(f, "success", 0, "completed", text);
	} else {
		fprintf(stderr, "fake-claude: scenario: result: unknown kind "
		    "\"%s\"\n", kind);
		exit(2);
	}
	return (f);
}

/* Emit the result the scenario asks for, then what follows it; exit. */
static void
scenario_finish(struct fc_run *r, struct json_object *sc)
{
	struct json_object	*f, *res = NULL;
	const char		*kind = "success", *after;
	int			 is_error;

	if (json_object_object_get_ex(sc, "result", &res) &&
	    json_object_is_type(res, json_type_string)) {
		kind = json_object_get_string(res);
		res = NULL;
	} else if (res != NULL && json_peek_string(res, "kind") != NULL)
		kind = json_peek_string(res, "kind");
	if (strcmp(kind, "none") == 0) {
		fflush(stdout);
		exit((int)json_peek_int(sc, "exit_code", 0));
	}
	f = result_kind(r, kind, res, json_peek_string(sc, "final_text"));
	json_add_int(f, "num_turns", r->r_msg);
	if (res != NULL) {
		json_object_object_foreach(res, k, v)
			if (strcmp(k, "kind") != 0)
				json_object_object_add(f, k,
				    json_object_get(v));
	}
	is_error = json_object_get_boolean(json_object_object_get(f,
	    "is_error"));
	emit_result(r, f);
	fflush(stdout);
	after = json_peek_string(sc, "after_result");
	if (after != NULL && strcmp(after, "hang") == 0)
		scenario_hang();
	if (after != NULL && strcmp(after, "garbage") == 0) {
		emit_garbage(3);
		emit_text(r, "after the result", 0);
	}
	exit((int)json_peek_int(sc, "exit_code", is_error ? 1 : 0));
}

/* Play the scenario from init to result, then exit. */
int
scenario_run(struct fc_run *r, struct json_object *sc)
{
	struct json_object	*steps = NULL;
	size_t			 i, n = 0;

	emit_init(r);
	if (json_object_object_get_ex(sc, "steps", &steps)) {
		if (!json_object_is_type(steps, json_type_array))
			scenario_die(0, "\"steps\" is not an array");
		n = json_object_array_length(steps);
	}
	for (i = 0; i < n; i++) {
		if (!scenario_step(r, json_object_array_get_idx(steps, i), i))
			continue;
		r->r_turns++;
		if (r->r_opts->o_max_turns > 0 &&
		    r->r_turns >= r->r_opts->o_max_turns) {
			json_object_object_add(sc, "result",
			    json_object_new_string("max_turns"));
			break;
		}
	}
	scenario_finish(r, sc);
	return (0);
}
