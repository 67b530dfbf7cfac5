/*
 * Rendering one scripted entry as a Messages API answer: a whole message
 * (stream:false), the same message as SSE events (stream:true), or an
 * Anthropic-shaped error body.  Both shapes carry the same ids, so a
 * retry or a fallback to stream:false sees the same answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "json.h"
#include "xmalloc.h"

static struct json_object *reply_usage(const struct entry *, int64_t);
static struct json_object *reply_head(const struct entry *, const char *);
static struct json_object *reply_block(const struct entry *, size_t, int);
static const char *reply_stop(const struct entry *);
static size_t	reply_nblocks(const struct entry *);
static size_t	reply_cut(const char *, size_t);
static void	sse_add(struct sse *, const char *, struct json_object *);
static void	sse_block(struct sse *, const struct entry *, size_t);
static void	sse_deltas(struct sse *, size_t, const char *, const char *,
		    const char *);

static const struct {
	int		 status;
	const char	*type;
} reply_types[] = {
	{ 400, "invalid_request_error" },
	{ 401, "authentication_error" },
	{ 403, "permission_error" },
	{ 404, "not_found_error" },
	{ 413, "request_too_large" },
	{ 429, "rate_limit_error" },
	{ 529, "overloaded_error" },
};

/* The whole message, for a request with stream:false. */
struct json_object *
reply_message(const struct entry *e, const char *model)
{
	struct json_object	*msg, *content;
	size_t			 i;

	msg = reply_head(e, model);
	content = json_object_new_array();
	for (i = 0; i < reply_nblocks(e); i++)
		json_object_array_add(content, reply_block(e, i, 1));
	json_object_object_add(msg, "content", content);
	json_add_string(msg, "stop_reason", reply_stop(e));
	json_object_object_add(msg, "stop_sequence", NULL);
	json_object_object_add(msg, "usage", reply_usage(e, e->e_out_tokens));
	return (msg);
}

/* The same message as SSE events, in the order the real API sends them. */
void
reply_events(const struct entry *e, const char *model, struct sse *ss)
{
	struct json_object	*o, *msg, *delta;
	size_t			 i;

	memset(ss, 0, sizeof(*ss));
	msg = reply_head(e, model);
	json_object_object_add(msg, "content", json_object_new_array());
	json_object_object_add(msg, "stop_reason", NULL);
	json_object_object_add(msg, "stop_sequence", NULL);
	json_object_object_add(msg, "usage", reply_usage(e, 1));
	o = json_object_new_object();
	json_add_string(o, "type", "message_start");
	json_object_object_add(o, "message", msg);
	sse_add(ss, "message_start", o);

	o = json_object_new_object();
	json_add_string(o, "type", "ping");
	sse_add(ss, "ping", o);

	for (i = 0; i < reply_nblocks(e); i++)
		sse_block(ss, e, i);

	delta = json_object_new_object();
	json_add_string(delta, "stop_reason", reply_stop(e));
	json_object_object_add(delta, "stop_sequence", NULL);
	o = json_object_new_object();
	json_add_string(o, "type", "message_delta");
	json_object_object_add(o, "delta", delta);
	json_object_object_add(o, "usage", reply_usage(e, e->e_out_tokens));
	sse_add(ss, "message_delta", o);

	o = json_object_new_object();
	json_add_string(o, "type", "message_stop");
	sse_add(ss, "message_stop", o);
}

void
reply_sse_clear(struct sse *ss)
{
	size_t	i;

	for (i = 0; i < ss->ss_n; i++)
		free(ss->ss_events[i]);
	free(ss->ss_events);
	ss->ss_events = NULL;
	ss->ss_n = 0;
}

/* An Anthropic-shaped error body. */
struct json_object *
reply_error(const char *type, const char *message, const char *request_id)
{
	struct json_object	*o, *err;

	err = json_object_new_object();
	json_add_string(err, "type", type);
	json_add_string(err, "message", message);
	o = json_object_new_object();
	json_add_string(o, "type", "error");
	json_object_object_add(o, "error", err);
	if (request_id != NULL)
		json_add_string(o, "request_id", request_id);
	return (o);
}

/* The error type the real API uses for an HTTP status. */
const char *
reply_error_type(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(reply_types) / sizeof(*reply_types); i++)
		if (reply_types[i].status == status)
			return (reply_types[i].type);
	return ("api_error");
}

/* The fields every message starts with; ids follow the entry index. */
static struct json_object *
reply_head(const struct entry *e, const char *model)
{
	struct json_object	*msg;
	char			 id[48];

	snprintf(id, sizeof(id), "msg_fake_%03zu", e->e_index);
	msg = json_object_new_object();
	json_add_string(msg, "id", id);
	json_add_string(msg, "type", "message");
	json_add_string(msg, "role", "assistant");
	json_add_string(msg, "model", model);
	return (msg);
}

static struct json_object *
reply_usage(const struct entry *e, int64_t out)
{
	struct json_object	*u;

	u = json_object_new_object();
	json_add_int(u, "input_tokens", e->e_in_tokens);
	json_add_int(u, "cache_creation_input_tokens", e->e_cache_create);
	json_add_int(u, "cache_read_input_tokens", e->e_cache_read);
	json_add_int(u, "output_tokens", out);
	return (u);
}

static const char *
reply_stop(const struct entry *e)
{
	if (e->e_stop != NULL)
		return (e->e_stop);
	return (e->e_ntools != 0 ? "tool_use" : "end_turn");
}

/* Blocks: the text (if any) first, then one per tool call. */
static size_t
reply_nblocks(const struct entry *e)
{
	return ((e->e_text != NULL ? 1 : 0) + e->e_ntools);
}

/*
 * Content block i.  Filled, it is what stream:false returns; empty, it is
 * what content_block_start carries before the deltas.
 */
static struct json_object *
reply_block(const struct entry *e, size_t i, int filled)
{
	struct json_object	*b;
	const struct tool	*t;

	b = json_object_new_object();
	if (e->e_text != NULL && i == 0) {
		json_add_string(b, "type", "text");
		json_add_string(b, "text", filled ? e->e_text : "");
		return (b);
	}
	t = &e->e_tools[i - (e->e_text != NULL ? 1 : 0)];
	json_add_string(b, "type", "tool_use");
	json_add_string(b, "id", t->t_id);
	json_add_string(b, "name", t->t_name);
	json_object_object_add(b, "input", filled ?
	    json_object_get(t->t_input) : json_object_new_object());
	return (b);
}

/* content_block_start, the deltas, content_block_stop for block i. */
static void
sse_block(struct sse *ss, const struct entry *e, size_t i)
{
	struct json_object	*o;
	const struct tool	*t;

	o = json_object_new_object();
	json_add_string(o, "type", "content_block_start");
	json_add_int(o, "index", (int64_t)i);
	json_object_object_add(o, "content_block", reply_block(e, i, 0));
	sse_add(ss, "content_block_start", o);

	if (e->e_text != NULL && i == 0)
		sse_deltas(ss, i, "text_delta", "text", e->e_text);
	else {
		t = &e->e_tools[i - (e->e_text != NULL ? 1 : 0)];
		sse_deltas(ss, i, "input_json_delta", "partial_json",
		    json_str(t->t_input));
	}

	o = json_object_new_object();
	json_add_string(o, "type", "content_block_stop");
	json_add_int(o, "index", (int64_t)i);
	sse_add(ss, "content_block_stop", o);
}

/* Split s into deltas of at most REPLY_CHUNK bytes, whole characters. */
static void
sse_deltas(struct sse *ss, size_t i, const char *type, const char *key,
    const char *s)
{
	struct json_object	*o, *delta;
	size_t			 left, n;

	left = strlen(s);
	do {
		n = reply_cut(s, left);
		delta = json_object_new_object();
		json_add_string(delta, "type", type);
		json_add_stringn(delta, key, s, n);
		o = json_object_new_object();
		json_add_string(o, "type", "content_block_delta");
		json_add_int(o, "index", (int64_t)i);
		json_object_object_add(o, "delta", delta);
		sse_add(ss, "content_block_delta", o);
		s += n;
		left -= n;
	} while (left > 0);
}

/* How many bytes of s (left long) to send, never splitting a character. */
static size_t
reply_cut(const char *s, size_t left)
{
	size_t	n;

	if (left <= REPLY_CHUNK)
		return (left);
	n = REPLY_CHUNK;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (n == 0 ? REPLY_CHUNK : n);
}

/* Append one event; takes ownership of data. */
static void
sse_add(struct sse *ss, const char *event, struct json_object *data)
{
	ss->ss_events = xreallocarray(ss->ss_events, ss->ss_n + 1,
	    sizeof(*ss->ss_events));
	xasprintf(&ss->ss_events[ss->ss_n++], "event: %s\ndata: %s\n\n",
	    event, json_str(data));
	json_object_put(data);
}
