/* The stream-json parser: lines in, compact redacted events out. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clean.h"
#include "json.h"
#include "log.h"
#include "stream.h"
#include "xmalloc.h"

struct stream {
	stream_event_cb		 s_cb;
	void			*s_arg;
	struct buf		 s_line;	/* a line split across chunks */
	int			 s_skipping;	/* inside an overlong line */
	size_t			 s_text_max;
	struct stream_init	 s_init;
	struct stream_result	 s_result;
	struct stream_stats	 s_stats;
	char			**s_used;	/* skills the agent invoked */
	size_t			 s_nused;
};

static void	stream_hold(struct stream *, const char *, size_t);
static void	stream_take(struct stream *, const char *, size_t);
static void	stream_line(struct stream *, const char *, size_t);
static void	stream_garbage(struct stream *, const char *, size_t);
static void	stream_dispatch(struct stream *, struct json_object *);
static void	stream_on_init(struct stream *, struct json_object *);
static void	stream_on_system(struct stream *, struct json_object *);
static void	stream_on_assistant(struct stream *, struct json_object *);
static void	stream_on_user(struct stream *, struct json_object *);
static void	stream_on_result(struct stream *, struct json_object *);
static void	stream_tool_use(struct stream *, struct json_object *);
static void	stream_tool_result(struct stream *, struct json_object *);
static void	stream_emit(struct stream *, enum stream_kind,
		    struct json_object *);
static void	stream_note_skill(struct stream *, const char *);
static struct json_object *stream_new_event(enum stream_kind);
static size_t	 add_some(struct buf *, struct json_object *);
static int	 peek_bool(struct json_object *, const char *);
static struct json_object *stream_content(struct json_object *);
static void	 add_text(struct json_object *, const char *, const char *,
		    size_t, size_t);
static char	*dup_clean(struct json_object *, const char *, size_t);
static size_t	 dup_list(struct json_object *, const char *, size_t, size_t,
		    char ***);
static struct json_object *stream_result_json(const struct stream *, int);
static struct json_object *string_array(char **, size_t);
static void	 add_opt(struct json_object *, const char *, const char *);
static void	 free_list(char **, size_t);

static const char *stream_kinds[STREAM_KIND_MAX] = {
	[STREAM_INIT] = "init",
	[STREAM_TEXT] = "text",
	[STREAM_TOOL_USE] = "tool_use",
	[STREAM_TOOL_RESULT] = "tool_result",
	[STREAM_SYSTEM] = "system",
	[STREAM_RESULT] = "result",
};

/* A parser that hands events to cb(arg, event). */
struct stream *
stream_new(stream_event_cb cb, void *arg)
{
	struct stream	*s;

	s = xcalloc(1, sizeof(*s));
	s->s_cb = cb;
	s->s_arg = arg;
	buf_init(&s->s_line, STREAM_LINE_MAX);
	s->s_text_max = STREAM_TEXT_MAX;
	s->s_result.sr_api_error_status = -1;
	return (s);
}

/* Change the line cap and the per-event text bound (for tests). */
void
stream_set_limits(struct stream *s, size_t line_max, size_t text_max)
{
	buf_free(&s->s_line);
	buf_init(&s->s_line, line_max);
	s->s_text_max = text_max;
}

/* Free a parser and everything it recorded; NULL the pointer. */
void
stream_free(struct stream **sp)
{
	struct stream	*s = *sp;

	if (s == NULL)
		return;
	buf_free(&s->s_line);
	free(s->s_init.si_session_id);
	free(s->s_init.si_model);
	free(s->s_init.si_version);
	free(s->s_init.si_permission_mode);
	free_list(s->s_init.si_tools, s->s_init.si_ntools);
	free_list(s->s_init.si_skills, s->s_init.si_nskills);
	free(s->s_result.sr_subtype);
	free(s->s_result.sr_text);
	free(s->s_result.sr_session_id);
	free(s->s_result.sr_terminal_reason);
	free_list(s->s_result.sr_errors, s->s_result.sr_nerrors);
	free_list(s->s_used, s->s_nused);
	free(s);
	*sp = NULL;
}

/* Keep the start of a line whose end has not arrived yet. */
static void
stream_hold(struct stream *s, const char *p, size_t n)
{
	if (s->s_skipping)
		return;
	if (buf_add(&s->s_line, p, n) == -1) {
		s->s_stats.st_overlong++;
		s->s_skipping = 1;
		buf_reset(&s->s_line);
	}
}

/* A line ends here: parse it, joined with what was held if anything. */
static void
stream_take(struct stream *s, const char *p, size_t n)
{
	if (s->s_skipping)
		s->s_skipping = 0;
	else if (buf_len(&s->s_line) == 0 && n > s->s_line.b_max)
		s->s_stats.st_overlong++;
	else if (buf_len(&s->s_line) == 0)
		stream_line(s, p, n);
	else if (buf_add(&s->s_line, p, n) == -1)
		s->s_stats.st_overlong++;
	else
		stream_line(s, buf_str(&s->s_line), buf_len(&s->s_line));
	buf_reset(&s->s_line);
}

/*
 * Feed len bytes of output.  Lines that lie whole in the chunk are parsed
 * in place; only a line split across chunks is copied, up to the cap.
 * After the result, bytes are only counted.
 */
void
stream_feed(struct stream *s, const void *data, size_t len)
{
	const char	*p = data, *end = p + len, *nl;

	s->s_stats.st_bytes += len;
	while (p < end && !s->s_result.sr_seen) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			stream_hold(s, p, (size_t)(end - p));
			return;
		}
		stream_take(s, p, (size_t)(nl - p));
		p = nl + 1;
	}
	s->s_stats.st_ignored += (uint64_t)(end - p);
}

/* The output ended: parse a last line that had no newline. */
void
stream_finish(struct stream *s)
{
	if (!s->s_skipping && !s->s_result.sr_seen && buf_len(&s->s_line) > 0)
		stream_line(s, buf_str(&s->s_line), buf_len(&s->s_line));
	s->s_skipping = 0;
	buf_free(&s->s_line);
}

/* Count a line that is not a JSON object, keeping the first as a sample. */
static void
stream_garbage(struct stream *s, const char *line, size_t len)
{
	char	*txt;

	if (s->s_stats.st_garbage++ == 0) {
		txt = clean_text(line, len, STREAM_SAMPLE_MAX, 0, NULL);
		snprintf(s->s_stats.st_sample, sizeof(s->s_stats.st_sample),
		    "%s", txt);
		free(txt);
		log_debug("stream: not a JSON object: %s",
		    s->s_stats.st_sample);
	}
}

/* Parse one complete line. */
static void
stream_line(struct stream *s, const char *line, size_t len)
{
	struct json_object	*o;
	char			*cause = NULL;

	while (len > 0 && strchr(" \t\r", line[len - 1]) != NULL)
		len--;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0)
		return;
	s->s_stats.st_lines++;
	if (line[0] != '{' || (o = json_parse(line, len, &cause)) == NULL) {
		free(cause);
		stream_garbage(s, line, len);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		stream_garbage(s, line, len);
	else
		stream_dispatch(s, o);
	json_object_put(o);
}

/* Route an event by its type (and subtype for system events). */
static void
stream_dispatch(struct stream *s, struct json_object *o)
{
	const char	*type = json_peek_string(o, "type");
	const char	*sub = json_peek_string(o, "subtype");

	if (type == NULL)
		s->s_stats.st_other++;
	else if (strcmp(type, "system") == 0 && sub != NULL &&
	    strcmp(sub, "init") == 0)
		stream_on_init(s, o);
	else if (strcmp(type, "system") == 0)
		stream_on_system(s, o);
	else if (strcmp(type, "assistant") == 0)
		stream_on_assistant(s, o);
	else if (strcmp(type, "user") == 0)
		stream_on_user(s, o);
	else if (strcmp(type, "result") == 0)
		stream_on_result(s, o);
	else
		s->s_stats.st_other++;
}

/* Append as much of string v as b has room for; returns what did not fit. */
static size_t
add_some(struct buf *b, struct json_object *v)
{
	size_t	len, n;

	if (!json_object_is_type(v, json_type_string))
		return (0);
	len = (size_t)json_object_get_string_len(v);
	n = len < buf_room(b) ? len : buf_room(b);
	(void)buf_add(b, json_object_get_string(v), n);
	return (len - n);
}

/* The boolean at key; anything else counts as false. */
static int
peek_bool(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v));
}

/* Add key: the cleaned text (clipped to max). */
static void
add_text(struct json_object *o, const char *key, const char *text,
    size_t len, size_t max)
{
	json_object_object_add(o, key, clean_json(text, len, max));
}

/* A cleaned copy of the string at key (NULL if absent or not a string). */
static char *
dup_clean(struct json_object *o, const char *key, size_t max)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (clean_text(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), max, 0, NULL));
}

/* Copy (cleaned) at most max strings of the array at key. */
static size_t
dup_list(struct json_object *o, const char *key, size_t max, size_t len_max,
    char ***listp)
{
	struct json_object	*a, *v;
	size_t			 i, n, len;

	*listp = NULL;
	if (!json_object_object_get_ex(o, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return (0);
	len = json_object_array_length(a);
	if (len > max)
		len = max;
	*listp = xcalloc(len + 1, sizeof(**listp));
	for (i = n = 0; i < len; i++) {
		v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_string))
			(*listp)[n++] = clean_text(json_object_get_string(v),
			    (size_t)json_object_get_string_len(v), len_max,
			    0, NULL);
	}
	return (n);
}

static void
free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static struct json_object *
stream_new_event(enum stream_kind kind)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "kind", stream_kinds[kind]);
	return (o);
}

/* Hand an event to the callback; takes ownership of o. */
static void
stream_emit(struct stream *s, enum stream_kind kind, struct json_object *o)
{
	struct stream_event	ev;

	ev.se_kind = kind;
	ev.se_json = o;
	s->s_stats.st_events++;
	if (s->s_cb != NULL)
		s->s_cb(s->s_arg, &ev);
	json_object_put(o);
}

/* system/init: remember the session, model, tools and skills offered. */
static void
stream_on_init(struct stream *s, struct json_object *o)
{
	struct stream_init	*si = &s->s_init;
	struct json_object	*ev, *a;
	size_t			 i;

	if (si->si_seen) {
		s->s_stats.st_other++;
		return;
	}
	si->si_seen = 1;
	si->si_session_id = dup_clean(o, "session_id", 128);
	si->si_model = dup_clean(o, "model", 128);
	si->si_version = dup_clean(o, "claude_code_version", 64);
	si->si_permission_mode = dup_clean(o, "permissionMode", 64);
	si->si_ntools = dup_list(o, "tools", STREAM_LIST_MAX, 128,
	    &si->si_tools);
	si->si_nskills = dup_list(o, "skills", STREAM_LIST_MAX, 128,
	    &si->si_skills);
	ev = stream_new_event(STREAM_INIT);
	json_add_string(ev, "session_id", si->si_session_id ?
	    si->si_session_id : "");
	json_add_string(ev, "model", si->si_model ? si->si_model : "");
	if (si->si_version != NULL)
		json_add_string(ev, "claude_code_version", si->si_version);
	a = json_object_new_array();
	for (i = 0; i < si->si_nskills; i++)
		json_object_array_add(a,
		    json_object_new_string(si->si_skills[i]));
	json_object_object_add(ev, "skills", a);
	json_add_int(ev, "tools", (int64_t)si->si_ntools);
	stream_emit(s, STREAM_INIT, ev);
}

/* Other system events: the subtype and the fields worth showing. */
static void
stream_on_system(struct stream *s, struct json_object *o)
{
	static const char *const ints[] = { "attempt", "max_retries",
	    "retry_delay_ms", "error_status" };
	static const char *const strs[] = { "error", "tool_name", "message" };
	struct json_object	*ev, *v;
	const char		*sub = json_peek_string(o, "subtype");
	size_t			 i;

	if (sub == NULL || strcmp(sub, "status") == 0) {
		s->s_stats.st_other++;
		return;
	}
	ev = stream_new_event(STREAM_SYSTEM);
	add_text(ev, "subtype", sub, strlen(sub), 64);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (json_object_object_get_ex(o, ints[i], &v) &&
		    json_object_is_type(v, json_type_int))
			json_add_int(ev, ints[i], json_object_get_int64(v));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (json_object_object_get_ex(o, strs[i], &v) &&
		    json_object_is_type(v, json_type_string))
			add_text(ev, strs[i], json_object_get_string(v),
			    (size_t)json_object_get_string_len(v),
			    s->s_text_max);
	stream_emit(s, STREAM_SYSTEM, ev);
}

/* The content array of message, or NULL. */
static struct json_object *
stream_content(struct json_object *o)
{
	struct json_object	*msg, *content;

	if (!json_object_object_get_ex(o, "message", &msg) ||
	    !json_object_object_get_ex(msg, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		return (NULL);
	return (content);
}

/* assistant: one event per text or tool_use block. */
static void
stream_on_assistant(struct stream *s, struct json_object *o)
{
	struct json_object	*content, *blk, *ev, *v;
	const char		*type;
	size_t			 i, n;

	if ((content = stream_content(o)) == NULL) {
		s->s_stats.st_other++;
		return;
	}
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		blk = json_object_array_get_idx(content, i);
		type = json_peek_string(blk, "type");
		if (type != NULL && strcmp(type, "tool_use") == 0)
			stream_tool_use(s, blk);
		else if (type != NULL && strcmp(type, "text") == 0 &&
		    json_object_object_get_ex(blk, "text", &v) &&
		    json_object_is_type(v, json_type_string)) {
			ev = stream_new_event(STREAM_TEXT);
			add_text(ev, "text", json_object_get_string(v),
			    (size_t)json_object_get_string_len(v),
			    s->s_text_max);
			stream_emit(s, STREAM_TEXT, ev);
		}
	}
}

/* A tool_use block; a Skill use also records the skill's name. */
static void
stream_tool_use(struct stream *s, struct json_object *blk)
{
	struct json_object	*ev, *input = NULL;
	const char		*name, *id, *in, *skill = NULL;

	name = json_peek_string(blk, "name");
	id = json_peek_string(blk, "id");
	ev = stream_new_event(STREAM_TOOL_USE);
	add_text(ev, "tool", name ? name : "", name ? strlen(name) : 0, 128);
	if (id != NULL)
		add_text(ev, "id", id, strlen(id), 128);
	if (json_object_object_get_ex(blk, "input", &input) &&
	    input != NULL) {
		in = json_str(input);
		add_text(ev, "input", in, strlen(in), s->s_text_max);
		skill = json_peek_string(input, "skill");
	}
	if (name != NULL && strcmp(name, "Skill") == 0 && skill != NULL) {
		add_text(ev, "skill", skill, strlen(skill), 128);
		stream_note_skill(s, json_object_get_string(
		    json_object_object_get(ev, "skill")));
	}
	stream_emit(s, STREAM_TOOL_USE, ev);
}

/* Remember that the agent invoked a skill (once per name). */
static void
stream_note_skill(struct stream *s, const char *name)
{
	size_t	i;

	for (i = 0; i < s->s_nused; i++)
		if (strcmp(s->s_used[i], name) == 0)
			return;
	if (s->s_nused == STREAM_LIST_MAX)
		return;
	s->s_used = xreallocarray(s->s_used, s->s_nused + 1,
	    sizeof(*s->s_used));
	s->s_used[s->s_nused++] = xstrdup(name);
}

/* user: one event per tool_result block; other user content is skipped. */
static void
stream_on_user(struct stream *s, struct json_object *o)
{
	struct json_object	*content, *blk;
	const char		*type;
	size_t			 i, n, seen = 0;

	if ((content = stream_content(o)) != NULL) {
		n = json_object_array_length(content);
		for (i = 0; i < n; i++) {
			blk = json_object_array_get_idx(content, i);
			type = json_peek_string(blk, "type");
			if (type == NULL || strcmp(type, "tool_result") != 0)
				continue;
			stream_tool_result(s, blk);
			seen++;
		}
	}
	if (seen == 0)
		s->s_stats.st_other++;
}

/* A tool_result block: its content is a string or text blocks. */
static void
stream_tool_result(struct stream *s, struct json_object *blk)
{
	struct json_object	*ev, *c = NULL, *part, *v;
	struct buf		 b;
	const char		*id;
	char			*txt;
	size_t			 i, n, dropped = 0;

	buf_init(&b, s->s_text_max + CLEAN_SLACK);
	if (json_object_object_get_ex(blk, "content", &c) &&
	    json_object_is_type(c, json_type_string))
		dropped += add_some(&b, c);
	else if (c != NULL && json_object_is_type(c, json_type_array)) {
		n = json_object_array_length(c);
		for (i = 0; i < n; i++) {
			part = json_object_array_get_idx(c, i);
			if (json_object_object_get_ex(part, "text", &v))
				dropped += add_some(&b, v);
		}
	}
	ev = stream_new_event(STREAM_TOOL_RESULT);
	if ((id = json_peek_string(blk, "tool_use_id")) != NULL)
		add_text(ev, "id", id, strlen(id), 128);
	json_add_bool(ev, "is_error", peek_bool(blk, "is_error"));
	txt = clean_text(buf_str(&b), buf_len(&b), s->s_text_max, dropped,
	    &n);
	json_add_stringn(ev, "text", txt, n);
	free(txt);
	buf_free(&b);
	stream_emit(s, STREAM_TOOL_RESULT, ev);
}

/* The first result: record it, emit it, and stop parsing. */
static void
stream_on_result(struct stream *s, struct json_object *o)
{
	struct stream_result	*sr = &s->s_result;
	struct json_object	*v;

	sr->sr_seen = 1;
	sr->sr_subtype = dup_clean(o, "subtype", 64);
	sr->sr_is_error = peek_bool(o, "is_error");
	sr->sr_text = dup_clean(o, "result", STREAM_RESULT_MAX);
	sr->sr_num_turns = json_peek_int(o, "num_turns", 0);
	sr->sr_duration_ms = json_peek_int(o, "duration_ms", 0);
	if (json_object_object_get_ex(o, "total_cost_usd", &v) &&
	    (json_object_is_type(v, json_type_double) ||
	    json_object_is_type(v, json_type_int)))
		sr->sr_cost_usd = json_object_get_double(v);
	sr->sr_session_id = dup_clean(o, "session_id", 128);
	sr->sr_terminal_reason = dup_clean(o, "terminal_reason", 64);
	sr->sr_nerrors = dup_list(o, "errors", STREAM_ERRORS_MAX, 512,
	    &sr->sr_errors);
	sr->sr_api_error_status = json_peek_int(o, "api_error_status", -1);
	if (json_object_object_get_ex(o, "permission_denials", &v) &&
	    json_object_is_type(v, json_type_array))
		sr->sr_permission_denials = json_object_array_length(v);
	stream_emit(s, STREAM_RESULT, stream_result_json(s, 1));
	buf_free(&s->s_line);
}

static struct json_object *
string_array(char **list, size_t n)
{
	struct json_object	*a;
	size_t			 i;

	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(list[i]));
	return (a);
}

static void
add_opt(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s != NULL ?
	    json_object_new_string(s) : NULL);
}

/*
 * The result as JSON: for the result event (with "kind" and the text) or
 * for the job result's "agent" part (with the model and skills used).
 */
static struct json_object *
stream_result_json(const struct stream *s, int event)
{
	const struct stream_result	*sr = &s->s_result;
	struct json_object		*o;

	o = event ? stream_new_event(STREAM_RESULT) : json_object_new_object();
	add_opt(o, "session_id", sr->sr_session_id != NULL ?
	    sr->sr_session_id : s->s_init.si_session_id);
	if (!event) {
		add_opt(o, "model", s->s_init.si_model);
		add_opt(o, "claude_code_version", s->s_init.si_version);
	}
	add_opt(o, "subtype", sr->sr_subtype);
	json_add_bool(o, "is_error", sr->sr_is_error);
	add_opt(o, "terminal_reason", sr->sr_terminal_reason);
	json_add_int(o, "num_turns", sr->sr_num_turns);
	json_object_object_add(o, "total_cost_usd",
	    json_object_new_double(sr->sr_cost_usd));
	json_add_int(o, "duration_ms", sr->sr_duration_ms);
	json_object_object_add(o, "api_error_status",
	    sr->sr_api_error_status >= 0 ?
	    json_object_new_int64(sr->sr_api_error_status) : NULL);
	json_add_int(o, "permission_denials",
	    (int64_t)sr->sr_permission_denials);
	json_object_object_add(o, "errors",
	    string_array(sr->sr_errors, sr->sr_nerrors));
	if (event)
		add_opt(o, "text", sr->sr_text);
	else
		json_object_object_add(o, "skills_used",
		    string_array(s->s_used, s->s_nused));
	return (o);
}

/* The "agent" part of a job result; the caller owns it. */
struct json_object *
stream_agent_json(const struct stream *s)
{
	return (stream_result_json(s, 0));
}

/* True once the terminal result was seen. */
int
stream_done(const struct stream *s)
{
	return (s->s_result.sr_seen);
}

const struct stream_init *
stream_init(const struct stream *s)
{
	return (&s->s_init);
}

const struct stream_result *
stream_result(const struct stream *s)
{
	return (&s->s_result);
}

const struct stream_stats *
stream_stats(const struct stream *s)
{
	return (&s->s_stats);
}

/* True if system/init listed the skill name. */
int
stream_offers_skill(const struct stream *s, const char *name)
{
	size_t	i;

	for (i = 0; i < s->s_init.si_nskills; i++)
		if (strcmp(s->s_init.si_skills[i], name) == 0)
			return (1);
	return (0);
}

/*
 * Check that init offered every skill of the pack; -1 with *cause naming
 * the missing ones (or saying that init never came) if not.
 */
int
stream_check_skills(const struct stream *s, const struct skills *sp,
    char **cause)
{
	struct buf		 b;
	const struct skill	*sk;
	size_t			 i;

	*cause = NULL;
	if (!s->s_init.si_seen) {
		xasprintf(cause, "Claude Code sent no init event");
		return (-1);
	}
	buf_init(&b, 64 * 1024);
	for (i = 0; i < skills_count(sp); i++) {
		sk = skills_get(sp, i);
		if (!stream_offers_skill(s, sk->sk_name))
			(void)buf_printf(&b, "%s%s", buf_len(&b) ? ", " : "",
			    sk->sk_name);
	}
	if (buf_len(&b) > 0)
		xasprintf(cause, "Claude Code did not offer the bundle's "
		    "skills: %s", buf_str(&b));
	buf_free(&b);
	return (*cause != NULL ? -1 : 0);
}

/* How many distinct skills the agent invoked, and which. */
size_t
stream_nused(const struct stream *s)
{
	return (s->s_nused);
}

const char *
stream_used(const struct stream *s, size_t i)
{
	return (i < s->s_nused ? s->s_used[i] : NULL);
}

const char *
stream_kind_name(enum stream_kind kind)
{
	return (kind < STREAM_KIND_MAX ? stream_kinds[kind] : "unknown");
}
