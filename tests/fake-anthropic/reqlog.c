/*
 * The request log: one JSON line per request, with what tests assert on
 * (which model, which tools and skills the CLI offered, what came back
 * from a tool) and never the value of a key.
 */
#include "config.h"

#include <ctype.h>
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

static struct json_object *reqlog_text(struct json_object *);
static struct json_object *reqlog_texts(struct json_object *,
		    const char *);
static struct json_object *reqlog_tool_names(struct json_object *);
static struct json_object *reqlog_tail(struct json_object *);
static void	reqlog_tail_add(struct json_object *, const char *,
		    struct json_object *);
static int	reqlog_is_role(struct json_object *, const char *);

/* Headers worth logging besides every anthropic-* and x-* one. */
static const char *reqlog_headers[] = {
	"user-agent", "content-type", "content-length", "authorization",
	"accept",
};

/* Words that mark a header whose value must never be logged. */
static const char *reqlog_secret_words[] = {
	"key", "auth", "token", "secret", "cookie",
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Summarise a request body (already known to be an object). */
struct json_object *
reqlog_summary(struct json_object *body)
{
	struct json_object	*s, *v, *msgs = NULL;

	s = json_object_new_object();
	json_add_string(s, "model", json_peek_string(body, "model") != NULL ?
	    json_peek_string(body, "model") : "");
	json_add_bool(s, "stream", reqlog_wants_stream(body));
	json_add_int(s, "max_tokens", json_peek_int(body, "max_tokens", -1));
	json_object_object_get_ex(body, "messages", &msgs);
	json_add_int(s, "n_messages", json_object_is_type(msgs,
	    json_type_array) ? (int64_t)json_object_array_length(msgs) : 0);
	json_add_int(s, "n_assistant", (int64_t)reqlog_assistant_turns(body));
	json_object_object_get_ex(body, "tools", &v);
	json_object_object_add(s, "tools", reqlog_tool_names(v));
	v = NULL;
	json_object_object_get_ex(body, "system", &v);
	json_object_object_add(s, "system", reqlog_texts(v, NULL));
	json_object_object_add(s, "system_messages", reqlog_texts(msgs,
	    "system"));
	json_object_object_add(s, "tail", reqlog_tail(msgs));
	return (s);
}

/* Whether the body asks for SSE ("stream": true). */
int
reqlog_wants_stream(struct json_object *body)
{
	struct json_object	*v;

	return (json_object_object_get_ex(body, "stream", &v) &&
	    json_object_get_boolean(v));
}

/* How many assistant turns the request already holds. */
size_t
reqlog_assistant_turns(struct json_object *body)
{
	struct json_object	*msgs;
	size_t			 i, n = 0;

	if (!json_object_object_get_ex(body, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array))
		return (0);
	for (i = 0; i < json_object_array_length(msgs); i++)
		if (reqlog_is_role(json_object_array_get_idx(msgs, i),
		    "assistant"))
			n++;
	return (n);
}

/* Add one request header to obj if it is worth logging, keys redacted. */
void
reqlog_add_header(struct json_object *obj, const char *name,
    const char *value)
{
	char	*lower, *redacted;
	size_t	 i;
	int	 keep;

	lower = xstrdup(name);
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	keep = strncmp(lower, "x-", 2) == 0 ||
	    strncmp(lower, "anthropic-", 10) == 0;
	for (i = 0; !keep && i < nitems(reqlog_headers); i++)
		keep = strcmp(lower, reqlog_headers[i]) == 0;
	if (!keep)
		goto out;
	for (i = 0; i < nitems(reqlog_secret_words); i++)
		if (strstr(lower, reqlog_secret_words[i]) != NULL)
			break;
	if (i == nitems(reqlog_secret_words))
		json_add_string(obj, lower, value);
	else {
		xasprintf(&redacted, "<redacted len=%zu>", strlen(value));
		json_add_string(obj, lower, redacted);
		free(redacted);
	}
out:
	free(lower);
}

/* Write one object as one line with a single write where possible. */
int
reqlog_write(int fd, struct json_object *line)
{
	char	*text;
	int	 r;

	xasprintf(&text, "%s\n", json_str(line));
	r = write_all(fd, text, strlen(text));
	free(text);
	return (r);
}

/* Keep a request body as DIR/request-NNNN.json. */
int
reqlog_dump(const char *dir, unsigned int n, const void *body, size_t len,
    char **cause)
{
	char	*path;
	int	 fd, r = -1;

	xasprintf(&path, "%s/request-%04u.json", dir, n);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write_all(fd, body, len) == -1)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	else
		r = 0;
	if (fd != -1)
		close(fd);
	free(path);
	return (r);
}

static int
reqlog_is_role(struct json_object *msg, const char *role)
{
	const char	*r;

	r = json_peek_string(msg, "role");
	return (r != NULL && strcmp(r, role) == 0);
}

/*
 * The text of a content value: a string, or the text blocks of an array
 * (tool_result contents included), joined by newlines.  NULL if none.
 */
static struct json_object *
reqlog_text(struct json_object *content)
{
	struct json_object	*b, *out = NULL;
	struct buf		 t;
	const char		*s;
	size_t			 i;

	if (json_object_is_type(content, json_type_string))
		return (json_object_get(content));
	if (!json_object_is_type(content, json_type_array))
		return (NULL);
	buf_init(&t, FAKE_BODY_MAX);
	for (i = 0; i < json_object_array_length(content); i++) {
		b = json_object_array_get_idx(content, i);
		if ((s = json_peek_string(b, "text")) == NULL)
			continue;
		if (buf_len(&t) != 0)
			buf_addc(&t, '\n');
		buf_addstr(&t, s);
	}
	if (buf_len(&t) != 0)
		out = json_object_new_string_len(buf_str(&t),
		    (int)buf_len(&t));
	buf_free(&t);
	return (out);
}

/* The texts of a list: the system blocks (role NULL), or role's messages. */
static struct json_object *
reqlog_texts(struct json_object *list, const char *role)
{
	struct json_object	*out, *item, *t;
	size_t			 i;

	out = json_object_new_array();
	if (json_object_is_type(list, json_type_string))
		json_object_array_add(out, json_object_get(list));
	for (i = 0; json_object_is_type(list, json_type_array) &&
	    i < json_object_array_length(list); i++) {
		item = json_object_array_get_idx(list, i);
		if (role != NULL && !reqlog_is_role(item, role))
			continue;
		if (role == NULL)
			t = json_object_get(json_object_object_get(item,
			    "text"));
		else
			t = reqlog_text(json_object_object_get(item,
			    "content"));
		if (json_object_is_type(t, json_type_string))
			json_object_array_add(out, t);
		else
			json_object_put(t);
	}
	return (out);
}

/* The names of the tools offered. */
static struct json_object *
reqlog_tool_names(struct json_object *tools)
{
	struct json_object	*out;
	const char		*name;
	size_t			 i;

	out = json_object_new_array();
	for (i = 0; json_object_is_type(tools, json_type_array) &&
	    i < json_object_array_length(tools); i++) {
		name = json_peek_string(json_object_array_get_idx(tools, i),
		    "name");
		if (name != NULL)
			json_object_array_add(out,
			    json_object_new_string(name));
	}
	return (out);
}

/*
 * What is new since the model last spoke: every text and tool_result in
 * the messages after the last assistant turn, system messages aside.
 */
static struct json_object *
reqlog_tail(struct json_object *msgs)
{
	struct json_object	*out, *m, *content;
	const char		*role;
	size_t			 i, k, n, start = 0;

	out = json_object_new_array();
	if (!json_object_is_type(msgs, json_type_array))
		return (out);
	n = json_object_array_length(msgs);
	for (i = 0; i < n; i++)
		if (reqlog_is_role(json_object_array_get_idx(msgs, i),
		    "assistant"))
			start = i + 1;
	for (i = start; i < n; i++) {
		m = json_object_array_get_idx(msgs, i);
		role = json_peek_string(m, "role");
		if (role == NULL || strcmp(role, "system") == 0)
			continue;
		content = json_object_object_get(m, "content");
		if (!json_object_is_type(content, json_type_array)) {
			reqlog_tail_add(out, role, content);
			continue;
		}
		for (k = 0; k < json_object_array_length(content); k++)
			reqlog_tail_add(out, role,
			    json_object_array_get_idx(content, k));
	}
	return (out);
}

/* One tail item: a text, or a tool_result with its id and error flag. */
static void
reqlog_tail_add(struct json_object *out, const char *role,
    struct json_object *block)
{
	struct json_object	*item, *text, *v;
	const char		*type;

	if (json_object_is_type(block, json_type_string)) {
		type = "text";
		text = json_object_get(block);
	} else if ((type = json_peek_string(block, "type")) != NULL)
		text = strcmp(type, "tool_result") == 0 ?
		    reqlog_text(json_object_object_get(block, "content")) :
		    json_object_get(json_object_object_get(block, "text"));
	else
		return;
	item = json_object_new_object();
	json_add_string(item, "role", role);
	json_add_string(item, "type", type);
	if (json_object_is_type(text, json_type_string))
		json_object_object_add(item, "text", text);
	else
		json_object_put(text);
	if (strcmp(type, "tool_result") == 0) {
		if (json_peek_string(block, "tool_use_id") != NULL)
			json_add_string(item, "tool_use_id",
			    json_peek_string(block, "tool_use_id"));
		v = json_object_object_get(block, "is_error");
		json_add_bool(item, "is_error", v != NULL &&
		    json_object_get_boolean(v));
	}
	json_object_array_add(out, item);
}
