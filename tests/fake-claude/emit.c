/* fake-claude: the stream-json events, shaped as 2.1.330 prints them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "sha256.h"
#include "xmalloc.h"
#include "fake-claude.h"

/* The built-in skills 2.1.330 lists after the user's and project's. */
static const char *const emit_builtin_skills[] = {
	"deep-research", "dataviz", "update-config", "verify", "debug",
	"code-review", "simplify", "batch", "fewer-permission-prompts",
	"doctor", "loop", "claude-api", "workflow-authoring", "run",
	"run-skill-generator", "plugin-authoring", NULL
};

static struct json_object *emit_base(struct fc_run *, const char *);
static struct json_object *emit_message(struct fc_run *,
		    struct json_object *);
static struct json_object *emit_strings(const char *const *, size_t);
static struct json_object *emit_user(struct fc_run *, struct json_object *);

/* A deterministic UUID: the session and a sequence number, hashed. */
void
emit_uuid(struct fc_run *r, char out[37])
{
	char	seed[64], hex[SHA256_HEX_LEN + 1];

	snprintf(seed, sizeof(seed), "%s/%u", r->r_session, r->r_seq++);
	sha256_digest_hex(seed, strlen(seed), hex);
	snprintf(out, 37, "%.8s-%.4s-4%.3s-8%.3s-%.12s", hex, hex + 8,
	    hex + 12, hex + 15, hex + 18);
}

/* Print one event as a line (in stream-json mode) and free it. */
void
emit_line(struct fc_run *r, struct json_object *o)
{
	if (r->r_opts->o_format == FC_STREAM_JSON) {
		fputs(json_str(o), stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	json_object_put(o);
}

/* type, session_id, uuid and a timestamp: what every event carries. */
static struct json_object *
emit_base(struct fc_run *r, const char *type)
{
	struct json_object	*o;
	char			 uuid[37], ts[32];
	struct tm		 tm;
	int64_t			 ms = fc_now_ms();
	time_t			 t = (time_t)(ms / 1000);

	o = json_object_new_object();
	json_add_string(o, "type", type);
	json_add_string(o, "session_id", r->r_session);
	emit_uuid(r, uuid);
	json_add_string(o, "uuid", uuid);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ",
	    (int)(ms % 1000));
	json_add_string(o, "timestamp", ts);
	return (o);
}

static struct json_object *
emit_strings(const char *const *list, size_t n)
{
	struct json_object	*a;
	size_t			 i;

	a = json_object_new_array();
	for (i = 0; i < n && list[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(list[i]));
	return (a);
}

/* system/init: tools, model, permission mode, and the skills found. */
void
emit_init(struct fc_run *r)
{
	struct fc_opts		*op = r->r_opts;
	struct json_object	*o, *sk;
	const char		*mode;
	size_t			 i;

	o = emit_base(r, "system");
	json_add_string(o, "subtype", "init");
	json_add_string(o, "cwd", r->r_cwd);
	json_object_object_add(o, "tools", emit_strings(r->r_tools,
	    r->r_ntools));
	json_object_object_add(o, "mcp_servers", json_object_new_array());
	json_add_string(o, "model", r->r_model);
	mode = op->o_skip_perms ? "bypassPermissions" :
	    op->o_perm_mode != NULL ? op->o_perm_mode : "default";
	json_add_string(o, "permissionMode", mode);
	sk = json_object_new_array();
	for (i = 0; i < r->r_nskills; i++)
		json_object_array_add(sk,
		    json_object_new_string(r->r_skills[i].k_name));
	for (i = 0; !op->o_no_skills && emit_builtin_skills[i] != NULL; i++)
		json_object_array_add(sk,
		    json_object_new_string(emit_builtin_skills[i]));
	json_object_object_add(o, "slash_commands", json_object_get(sk));
	json_add_string(o, "apiKeySource", getenv("ANTHROPIC_API_KEY") ?
	    "ANTHROPIC_API_KEY" : "none");
	json_add_string(o, "claude_code_version", FC_VERSION);
	json_add_string(o, "output_style", "default");
	json_object_object_add(o, "agents", json_object_new_array());
	json_object_object_add(o, "skills", sk);
	json_object_object_add(o, "plugins", json_object_new_array());
	json_add_bool(o, "analytics_disabled",
	    getenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC") != NULL);
	emit_line(r, o);
}

/* An assistant event holding one content block. */
static struct json_object *
emit_message(struct fc_run *r, struct json_object *block)
{
	struct json_object	*o, *m, *c, *u;
	char			 id[32];

	o = emit_base(r, "assistant");
	m = json_object_new_object();
	snprintf(id, sizeof(id), "msg_fake%06u", r->r_msg);
	json_add_string(m, "id", id);
	json_add_string(m, "type", "message");
	json_add_string(m, "role", "assistant");
	json_add_string(m, "model", r->r_model);
	c = json_object_new_array();
	json_object_array_add(c, block);
	json_object_object_add(m, "content", c);
	json_object_object_add(m, "stop_reason", NULL);
	u = json_object_new_object();
	json_add_int(u, "input_tokens", 2800 + 80 * r->r_msg);
	json_add_int(u, "output_tokens", 24);
	json_object_object_add(m, "usage", u);
	json_object_object_add(o, "message", m);
	json_object_object_add(o, "parent_tool_use_id", NULL);
	snprintf(id, sizeof(id), "req_fake%06u", r->r_msg);
	json_add_string(o, "request_id", id);
	return (o);
}

/* Assistant text; synthetic marks the message an API error makes. */
void
emit_text(struct fc_run *r, const char *text, int synthetic)
{
	struct json_object	*b, *o, *m;

	b = json_object_new_object();
	json_add_string(b, "type", "text");
	json_add_string(b, "text", text);
	o = emit_message(r, b);
	if (synthetic) {
		json_object_object_get_ex(o, "message", &m);
		json_add_string(m, "model", "<synthetic>");
		json_add_bool(o, "is_api_error_message", 1);
	}
	emit_line(r, o);
}

/* A tool_use block; returns its id, which the caller frees. */
char *
emit_tool_use(struct fc_run *r, const char *name, struct json_object *input)
{
	struct json_object	*b;
	char			 id[32];

	snprintf(id, sizeof(id), "toolu_fake%06u", r->r_seq);
	b = json_object_new_object();
	json_add_string(b, "type", "tool_use");
	json_add_string(b, "id", id);
	json_add_string(b, "name", name);
	json_object_object_add(b, "input", input);
	emit_line(r, emit_message(r, b));
	return (xstrdup(id));
}

/* A user event holding one content block (taken over). */
static struct json_object *
emit_user(struct fc_run *r, struct json_object *block)
{
	struct json_object	*o, *m, *c;

	o = emit_base(r, "user");
	c = json_object_new_array();
	json_object_array_add(c, block);
	m = json_object_new_object();
	json_add_string(m, "role", "user");
	json_object_object_add(m, "content", c);
	json_object_object_add(o, "message", m);
	json_object_object_add(o, "parent_tool_use_id", NULL);
	return (o);
}

/* The user event with a tool's result; takes ownership of extra. */
void
emit_tool_result(struct fc_run *r, const char *id, const char *content,
    int is_error, struct json_object *extra)
{
	struct json_object	*o, *b;

	b = json_object_new_object();
	json_add_string(b, "tool_use_id", id);
	json_add_string(b, "type", "tool_result");
	json_add_string(b, "content", content);
	json_add_bool(b, "is_error", is_error);
	o = emit_user(r, b);
	if (extra != NULL)
		json_object_object_add(o, "tool_use_result", extra);
	emit_line(r, o);
}

/* A user event with a text block (the body of a launched skill). */
void
emit_user_text(struct fc_run *r, const char *text)
{
	struct json_object	*b;

	b = json_object_new_object();
	json_add_string(b, "type", "text");
	json_add_string(b, "text", text);
	emit_line(r, emit_user(r, b));
}

/* A system event of the given subtype with fields (taken over). */
void
emit_system(struct fc_run *r, const char *subtype, struct json_object *f)
{
	struct json_object	*o;

	o = emit_base(r, "system");
	json_add_string(o, "subtype", subtype);
	json_object_object_foreach(f, k, v)
		json_object_object_add(o, k, json_object_get(v));
	json_object_put(f);
	emit_line(r, o);
}

/*
 * The result, from the fields the scenario decided (taken over): in
 * stream-json and json formats the object, in text format its text.
 */
void
emit_result(struct fc_run *r, struct json_object *f)
{
	struct json_object	*o, *u;
	const char		*text;

	o = emit_base(r, "result");
	json_add_int(o, "duration_ms", fc_now_ms() - r->r_started_ms);
	json_add_int(o, "duration_api_ms", 60 * (int64_t)r->r_msg);
	json_add_string(o, "stop_reason", "end_turn");
	json_object_object_add(o, "total_cost_usd",
	    json_object_new_double(r->r_cost));
	u = json_object_new_object();
	json_add_int(u, "input_tokens", 2800 * (int64_t)r->r_msg);
	json_add_int(u, "output_tokens", 24 * (int64_t)r->r_msg);
	json_object_object_add(o, "usage", u);
	json_object_object_add(o, "permission_denials",
	    json_object_get(r->r_denials));
	json_object_object_foreach(f, k, v)
		json_object_object_add(o, k, json_object_get(v));
	json_object_put(f);
	if (r->r_opts->o_format == FC_JSON) {
		puts(json_str(o));
	} else if (r->r_opts->o_format == FC_TEXT) {
		text = json_peek_string(o, "result");
		puts(text != NULL ? text : "");
	}
	emit_line(r, o);
}

/* mb MiB of assistant text events, as fast as stdout takes them. */
void
emit_huge(struct fc_run *r, long mb)
{
	char	*text, *line;
	size_t	 len, done = 0, want = (size_t)mb << 20;

	text = xmalloc(4001);
	memset(text, 'x', 4000);
	text[4000] = '\0';
	r->r_msg++;
	xasprintf(&line, "{\"type\":\"assistant\",\"message\":{\"id\":"
	    "\"msg_fake%06u\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"%s\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"%s\"}],"
	    "\"stop_reason\":null},\"parent_tool_use_id\":null,"
	    "\"session_id\":\"%s\"}\n", r->r_msg, r->r_model, text,
	    r->r_session);
	len = strlen(line);
	while (done < want && r->r_opts->o_format == FC_STREAM_JSON) {
		if (fwrite(line, 1, len, stdout) != len)
			break;
		done += len;
	}
	fflush(stdout);
	free(line);
	free(text);
}

/* n lines that are not JSON objects, of several kinds. */
void
emit_garbage(long n)
{
	static const char *const junk[] = {
		"this is not json", "{\"type\":\"assistant\",\"message\":",
		"[1,2,3]", "\x01\x02\xff\xfe binary", "\"just a string\"",
		"{unquoted: keys}",
	};
	long	i;

	for (i = 0; i < n; i++)
		printf("%s\n", junk[i % (long)(sizeof(junk) /
		    sizeof(junk[0]))]);
	fflush(stdout);
}
