/*
 * The scenario: a JSON array whose entry i answers the request that
 * already holds i assistant turns.  Everything is checked when the file
 * is loaded, so a typo fails the test at once instead of mid-run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fake.h"
#include "json.h"
#include "xmalloc.h"

#define SCRIPT_TEXT_MAX		(1024 * 1024)
#define SCRIPT_NAME_MAX		256
#define SCRIPT_TOKENS_MAX	1000000000

static int	entry_parse(struct json_object *, size_t, struct entry *,
		    char **);
static int	entry_check_keys(struct json_object *, const char *, char **);
static int	entry_tools(struct json_object *, const char *, struct entry *,
		    char **);
static int	entry_tool(struct json_object *, const char *, size_t, size_t,
		    struct tool *, char **);
static int	entry_error(struct json_object *, const char *,
		    struct entry *, char **);
static int	entry_usage(struct json_object *, const char *,
		    struct entry *, char **);
static void	entry_defaults(struct entry *, size_t);
static void	entry_clear(struct entry *);

static const char *entry_keys[] = {
	"text", "tool_use", "tool_uses", "error", "stop_reason", "delay_ms",
	"break_after", "usage", "comment",
};

/* Parse a scenario from memory; NULL with *cause set if it is wrong. */
struct script *
script_parse(const char *text, size_t len, char **cause)
{
	struct script	*s;
	size_t		 i, n;

	s = xcalloc(1, sizeof(*s));
	entry_defaults(&s->s_done, 0);
	s->s_done.e_text = "done";
	if ((s->s_root = json_parse(text, len, cause)) == NULL)
		goto fail;
	if (!json_object_is_type(s->s_root, json_type_array)) {
		xasprintf(cause, "script: expected an array, got %s",
		    json_type_label(s->s_root));
		goto fail;
	}
	n = json_object_array_length(s->s_root);
	s->s_entries = xcalloc(n == 0 ? 1 : n, sizeof(*s->s_entries));
	for (i = 0; i < n; i++) {
		if (entry_parse(json_object_array_get_idx(s->s_root, i), i,
		    &s->s_entries[i], cause) == -1)
			goto fail;
		s->s_n++;
	}
	s->s_done.e_index = n;
	return (s);
fail:
	script_free(&s);
	return (NULL);
}

/* Read and parse a scenario file. */
struct script *
script_load(const char *path, char **cause)
{
	struct script	*s = NULL;
	struct buf	 b;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd;

	buf_init(&b, FAKE_SCRIPT_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || buf_add(&b, chunk, (size_t)n) == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	s = script_parse(buf_len(&b) == 0 ? "" : buf_str(&b), buf_len(&b),
	    cause);
out:
	close(fd);
	buf_free(&b);
	return (s);
}

/* The entry that answers a request holding nassistant assistant turns. */
const struct entry *
script_pick(const struct script *s, size_t nassistant)
{
	if (nassistant < s->s_n)
		return (&s->s_entries[nassistant]);
	return (&s->s_done);
}

void
script_free(struct script **sp)
{
	struct script	*s = *sp;
	size_t		 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->s_n; i++)
		entry_clear(&s->s_entries[i]);
	free(s->s_entries);
	json_object_put(s->s_root);
	free(s);
	*sp = NULL;
}

static void
entry_defaults(struct entry *e, size_t index)
{
	memset(e, 0, sizeof(*e));
	e->e_index = index;
	e->e_retry_after = -1;
	e->e_break_after = -1;
	e->e_in_tokens = FAKE_DEFAULT_IN;
	e->e_out_tokens = FAKE_DEFAULT_OUT;
}

static void
entry_clear(struct entry *e)
{
	size_t	i;

	for (i = 0; i < e->e_ntools; i++)
		free(e->e_tools[i].t_id);
	free(e->e_tools);
	e->e_tools = NULL;
	e->e_ntools = 0;
}

/* Parse entry number index; strings stay owned by the JSON tree. */
static int
entry_parse(struct json_object *o, size_t index, struct entry *e,
    char **cause)
{
	char	 where[32];
	int	 has_text = 0;

	entry_defaults(e, index);
	snprintf(where, sizeof(where), "script[%zu]", index);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		xasprintf(cause, "%s: expected an object, got %s", where,
		    json_type_label(o));
		return (-1);
	}
	if (entry_check_keys(o, where, cause) == -1 ||
	    (has_text = json_get_string(o, where, "text", J_OPTIONAL,
	    SCRIPT_TEXT_MAX, &e->e_text, cause)) == -1 ||
	    entry_tools(o, where, e, cause) == -1 ||
	    entry_error(o, where, e, cause) == -1 ||
	    entry_usage(o, where, e, cause) == -1 ||
	    json_get_string(o, where, "stop_reason", J_NONEMPTY,
	    SCRIPT_NAME_MAX, &e->e_stop, cause) == -1 ||
	    json_get_int(o, where, "delay_ms", J_OPTIONAL, 0, FAKE_DELAY_MAX,
	    &e->e_delay_ms, cause) == -1 ||
	    json_get_int(o, where, "break_after", J_OPTIONAL, 0, 100000,
	    &e->e_break_after, cause) == -1)
		goto fail;
	if (!has_text && e->e_ntools == 0 && e->e_status == 0) {
		xasprintf(cause, "%s: needs text, tool_use, tool_uses or "
		    "error", where);
		goto fail;
	}
	if (e->e_status != 0 && (has_text || e->e_ntools != 0)) {
		xasprintf(cause, "%s: an error entry has no text or tools",
		    where);
		goto fail;
	}
	return (0);
fail:
	entry_clear(e);
	return (-1);
}

/* Refuse keys the fake does not know, so typos do not go unnoticed. */
static int
entry_check_keys(struct json_object *o, const char *where, char **cause)
{
	size_t	i;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; i < sizeof(entry_keys) / sizeof(*entry_keys); i++)
			if (strcmp(key, entry_keys[i]) == 0)
				break;
		if (i == sizeof(entry_keys) / sizeof(*entry_keys)) {
			xasprintf(cause, "%s.%s: unknown key", where, key);
			return (-1);
		}
	}
	return (0);
}

/* Collect "tool_use" (one object) or "tool_uses" (an array of them). */
static int
entry_tools(struct json_object *o, const char *where, struct entry *e,
    char **cause)
{
	struct json_object	*one = NULL, *many = NULL;
	char			 sub[64];
	int			 r1, r2;
	size_t			 i, n;

	if ((r1 = json_get_object(o, where, "tool_use", J_OPTIONAL, &one,
	    cause)) == -1 || (r2 = json_get_array(o, where, "tool_uses",
	    J_OPTIONAL, 64, &many, cause)) == -1)
		return (-1);
	if (r1 == 1 && r2 == 1) {
		xasprintf(cause, "%s: tool_use and tool_uses together", where);
		return (-1);
	}
	n = r1 == 1 ? 1 : r2 == 1 ? json_object_array_length(many) : 0;
	if (n == 0)
		return (0);
	e->e_tools = xcalloc(n, sizeof(*e->e_tools));
	for (i = 0; i < n; i++) {
		if (r1 == 1)
			snprintf(sub, sizeof(sub), "%s.tool_use", where);
		else
			snprintf(sub, sizeof(sub), "%s.tool_uses[%zu]", where,
			    i);
		if (entry_tool(r1 == 1 ? one : json_object_array_get_idx(many,
		    i), sub, e->e_index, i, &e->e_tools[i], cause) == -1)
			return (-1);
		e->e_ntools++;
	}
	return (0);
}

/* One tool call: name, input (an object, {} if absent) and a stable id. */
static int
entry_tool(struct json_object *o, const char *where, size_t index, size_t k,
    struct tool *t, char **cause)
{
	const char	*id = NULL;
	int		 r;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		xasprintf(cause, "%s: expected an object, got %s", where,
		    json_type_label(o));
		return (-1);
	}
	if (json_get_string(o, where, "name", J_REQUIRED | J_NONEMPTY,
	    SCRIPT_NAME_MAX, &t->t_name, cause) == -1 ||
	    (r = json_get_object(o, where, "input", J_OPTIONAL, &t->t_input,
	    cause)) == -1 ||
	    json_get_string(o, where, "id", J_NONEMPTY, SCRIPT_NAME_MAX, &id,
	    cause) == -1)
		return (-1);
	if (r == 0) {
		t->t_input = json_object_new_object();
		json_object_object_add(o, "input", t->t_input);
	}
	if (id != NULL)
		t->t_id = xstrdup(id);
	else
		xasprintf(&t->t_id, "toolu_fake_%03zu_%zu", index, k);
	return (0);
}

/* "error": {"status", "type", "message", "retry_after"}, all optional. */
static int
entry_error(struct json_object *o, const char *where, struct entry *e,
    char **cause)
{
	struct json_object	*err;
	char			 sub[48];
	int64_t			 status = 500;
	int			 r;

	if ((r = json_get_object(o, where, "error", J_OPTIONAL, &err,
	    cause)) != 1)
		return (r);
	snprintf(sub, sizeof(sub), "%s.error", where);
	if (json_get_int(err, sub, "status", J_OPTIONAL, 400, 599, &status,
	    cause) == -1 ||
	    json_get_string(err, sub, "type", J_NONEMPTY, SCRIPT_NAME_MAX,
	    &e->e_etype, cause) == -1 ||
	    json_get_string(err, sub, "message", J_OPTIONAL, SCRIPT_TEXT_MAX,
	    &e->e_emsg, cause) == -1 ||
	    json_get_int(err, sub, "retry_after", J_OPTIONAL, 0, 86400,
	    &e->e_retry_after, cause) == -1)
		return (-1);
	e->e_status = (int)status;
	if (e->e_etype == NULL)
		e->e_etype = reply_error_type(e->e_status);
	if (e->e_emsg == NULL)
		e->e_emsg = "scripted error";
	return (0);
}

/* "usage": the token counts reported, which the CLI turns into cost. */
static int
entry_usage(struct json_object *o, const char *where, struct entry *e,
    char **cause)
{
	struct json_object	*u;
	char			 sub[48];
	int			 r;

	if ((r = json_get_object(o, where, "usage", J_OPTIONAL, &u,
	    cause)) != 1)
		return (r);
	snprintf(sub, sizeof(sub), "%s.usage", where);
	if (json_get_int(u, sub, "input_tokens", J_OPTIONAL, 0,
	    SCRIPT_TOKENS_MAX, &e->e_in_tokens, cause) == -1 ||
	    json_get_int(u, sub, "output_tokens", J_OPTIONAL, 0,
	    SCRIPT_TOKENS_MAX, &e->e_out_tokens, cause) == -1 ||
	    json_get_int(u, sub, "cache_read_input_tokens", J_OPTIONAL, 0,
	    SCRIPT_TOKENS_MAX, &e->e_cache_read, cause) == -1 ||
	    json_get_int(u, sub, "cache_creation_input_tokens", J_OPTIONAL, 0,
	    SCRIPT_TOKENS_MAX, &e->e_cache_create, cause) == -1)
		return (-1);
	return (0);
}
