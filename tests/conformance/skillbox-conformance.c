/*
 * skillbox-conformance: skillboxd with the tools, resources and prompts
 * that the official MCP conformance suite (@modelcontextprotocol/
 * conformance) calls by name, for its server scenarios.  It is the real
 * skillboxd (its main is compiled in as skillboxd_main) with these
 * registered through the MCP core's registries before it serves; the
 * product binary never has them.
 *
 *	skill-conformance --listen 127.0.0.1:0 --no-auth
 */
#undef main

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define FX_STEP_MS	50

int	skillboxd_main(int, char **);

/* A 1x1 PNG and an empty 8 kHz WAV. */
#define FX_PNG	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk" \
		"YAAAAAYAAjCB0C8AAAAASUVORK5CYII="
#define FX_WAV	"UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="

#define FX_NOARGS	"{\"type\":\"object\",\"properties\":{}}"

static const char fx_text[] =
    "{\"content\":[{\"type\":\"text\",\"text\":\"This is a simple text "
    "response for testing.\"}]}";
static const char fx_image[] =
    "{\"content\":[{\"type\":\"image\",\"data\":\"" FX_PNG "\","
    "\"mimeType\":\"image/png\"}]}";
static const char fx_audio[] =
    "{\"content\":[{\"type\":\"audio\",\"data\":\"" FX_WAV "\","
    "\"mimeType\":\"audio/wav\"}]}";
static const char fx_embedded[] =
    "{\"content\":[{\"type\":\"resource\",\"resource\":{\"uri\":"
    "\"test://embedded-resource\",\"mimeType\":\"text/plain\",\"text\":"
    "\"This is an embedded resource content.\"}}]}";
static const char fx_mixed[] =
    "{\"content\":[{\"type\":\"text\",\"text\":\"Multiple content types "
    "test:\"},{\"type\":\"image\",\"data\":\"" FX_PNG "\",\"mimeType\":"
    "\"image/png\"},{\"type\":\"resource\",\"resource\":{\"uri\":"
    "\"test://mixed-content-resource\",\"mimeType\":\"application/json\","
    "\"text\":\"{\\\"test\\\":\\\"data\\\",\\\"value\\\":123}\"}}]}";
static const char fx_error[] =
    "{\"content\":[{\"type\":\"text\",\"text\":\"This tool intentionally "
    "returns an error for testing\"}],\"isError\":true}";

static const char fx_elicit_schema[] =
    "{\"type\":\"object\",\"properties\":{\"username\":{\"type\":\"string\","
    "\"description\":\"User's response\"},\"email\":{\"type\":\"string\","
    "\"description\":\"User's email address\"}},\"required\":[\"username\","
    "\"email\"]}";
static const char fx_defaults_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"default\":\"John Doe\"},"
    "\"age\":{\"type\":\"integer\",\"default\":30},"
    "\"score\":{\"type\":\"number\",\"default\":95.5},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"active\",\"inactive\","
    "\"pending\"],\"default\":\"active\"},"
    "\"verified\":{\"type\":\"boolean\",\"default\":true}}}";
static const char fx_enums_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"untitledSingle\":{\"type\":\"string\",\"enum\":[\"option1\","
    "\"option2\",\"option3\"]},"
    "\"titledSingle\":{\"type\":\"string\",\"oneOf\":["
    "{\"const\":\"value1\",\"title\":\"First Option\"},"
    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
    "\"legacyEnum\":{\"type\":\"string\",\"enum\":[\"opt1\",\"opt2\","
    "\"opt3\"],\"enumNames\":[\"Option One\",\"Option Two\","
    "\"Option Three\"]},"
    "\"untitledMulti\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
    "\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
    "\"titledMulti\":{\"type\":\"array\",\"items\":{\"anyOf\":["
    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}}}";
static const char fx_schema_2020[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"type\":\"object\",\"$defs\":{\"address\":{\"$anchor\":\"addr\","
    "\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
    "\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"
    "\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},\"kind\":"
    "{\"anyOf\":[{\"const\":\"a\"},{\"const\":\"b\"}]}},\"allOf\":[{"
    "\"required\":[\"name\"]}],\"if\":{\"properties\":{\"kind\":{\"const\":"
    "\"a\"}}},\"then\":{\"required\":[\"address\"]},\"else\":{},"
    "\"additionalProperties\":false}";

/* Answer with one text content block. */
static void
fx_text_result(struct mcp_req *r, const char *text)
{
	struct json_object	*res = tools_error_result(text);

	json_object_object_del(res, "isError");
	mcp_reply(r, res);
}

/* A tool answering with fixed JSON text. */
static void
fx_reply(struct mcp_req *r, const char *text)
{
	mcp_reply_text(r, text, strlen(text));
}

static void
fx_simple_text(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_text);
}

static void
fx_image_content(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_image);
}

static void
fx_audio_content(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_audio);
}

static void
fx_embedded_resource(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_embedded);
}

static void
fx_multiple(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_mixed);
}

static void
fx_error_handling(struct mcp_req *r, struct json_object *args)
{
	fx_reply(r, fx_error);
}

static void
fx_schema_tool(struct mcp_req *r, struct json_object *args)
{
	fx_text_result(r, json_str(args));
}

/* A tool that works in steps FX_STEP_MS apart: logging, progress. */
struct fx_steps {
	struct mcp_req	*fs_req;
	struct event	*fs_ev;
	int		 fs_step;
	void		(*fs_fn)(struct fx_steps *);
};

static void
fx_steps_free(void *arg)
{
	struct fx_steps	*fs = arg;

	event_free(fs->fs_ev);
	free(fs);
}

/* Answer the request and stop stepping. */
static void
fx_steps_done(struct fx_steps *fs, const char *text)
{
	struct mcp_req	*r = fs->fs_req;

	mcp_req_pend(r, NULL, NULL);
	fx_steps_free(fs);
	fx_text_result(r, text);
}

static void
fx_step_cb(int fd, short what, void *arg)
{
	struct fx_steps	*fs = arg;
	struct timeval	 tv = { 0, FX_STEP_MS * 1000 };

	fs->fs_step++;
	evtimer_add(fs->fs_ev, &tv);
	fs->fs_fn(fs);
}

/* Start a stepping tool: step 0 now, the next ones on a timer. */
static void
fx_steps_start(struct mcp_req *r, void (*fn)(struct fx_steps *))
{
	struct timeval	 tv = { 0, FX_STEP_MS * 1000 };
	struct fx_steps	*fs;

	fs = xcalloc(1, sizeof(*fs));
	fs->fs_req = r;
	fs->fs_fn = fn;
	fs->fs_ev = evtimer_new(tools_base(), fx_step_cb, fs);
	mcp_req_pend(r, fs, fx_steps_free);
	evtimer_add(fs->fs_ev, &tv);
	fn(fs);
}

static void
fx_logging_step(struct fx_steps *fs)
{
	static const char *msgs[] = { "Tool execution started",
	    "Tool processing data", "Tool execution completed" };

	mcp_req_log(fs->fs_req, MCP_INFO, "conformance",
	    json_object_new_string(msgs[fs->fs_step]));
	if (fs->fs_step == 2)
		fx_steps_done(fs, "Tool with logging executed successfully");
}

static void
fx_with_logging(struct mcp_req *r, struct json_object *args)
{
	fx_steps_start(r, fx_logging_step);
}

static void
fx_progress_step(struct fx_steps *fs)
{
	mcp_progress_at(fs->fs_req, fs->fs_step * 50, 100, NULL);
	if (fs->fs_step == 2)
		fx_steps_done(fs, "Tool with progress executed successfully");
}

static void
fx_with_progress(struct mcp_req *r, struct json_object *args)
{
	fx_steps_start(r, fx_progress_step);
}

/* A text result: prefix followed by JSON (borrowed), or an error. */
static void
fx_answer(struct mcp_req *r, const char *prefix, struct json_object *v,
    struct json_object *err)
{
	char	*text;

	if (err != NULL) {
		xasprintf(&text, "%s: the client answered %s", prefix,
		    json_str(err));
		mcp_reply(r, tools_error_result(text));
	} else {
		xasprintf(&text, "%s%s", prefix, json_str(v));
		fx_text_result(r, text);
	}
	free(text);
}

/* sampling/createMessage answered: "LLM response: <its text>". */
static void
fx_sampled(struct mcp_req *r, struct json_object *res,
    struct json_object *err, void *arg)
{
	struct json_object	*content, *text = NULL;

	if (res != NULL && json_object_object_get_ex(res, "content",
	    &content))
		(void)json_object_object_get_ex(content, "text", &text);
	fx_answer(r, "LLM response: ", text, err);
}

/* Ask the client something on behalf of r; answer r's failure now. */
static void
fx_ask(struct mcp_req *r, const char *method, struct json_object *params,
    mcp_response_cb cb)
{
	if (mcp_request(r, method, params, cb, NULL) == -1)
		mcp_error(r, MCP_INTERNAL_ERROR, "Internal error: too many "
		    "requests to the client", NULL);
	else
		mcp_req_pend(r, NULL, NULL);
}

static void
fx_sampling(struct mcp_req *r, struct json_object *args)
{
	struct json_object	*p, *msgs, *m, *c;
	const char		*prompt = NULL;
	char			*cause = NULL;

	if (json_get_string(args, NULL, "prompt", J_REQUIRED, 4096, &prompt,
	    &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	c = json_object_new_object();
	json_add_string(c, "type", "text");
	json_add_string(c, "text", prompt);
	m = json_object_new_object();
	json_add_string(m, "role", "user");
	json_object_object_add(m, "content", c);
	msgs = json_object_new_array();
	json_object_array_add(msgs, m);
	p = json_object_new_object();
	json_object_object_add(p, "messages", msgs);
	json_add_int(p, "maxTokens", 100);
	fx_ask(r, "sampling/createMessage", p, fx_sampled);
}

/* elicitation/create answered: say what the user did. */
static void
fx_elicited(struct mcp_req *r, struct json_object *res,
    struct json_object *err, void *arg)
{
	fx_answer(r, "Elicitation completed: ", res, err);
}

/* elicitation/create with a message and a schema (JSON text). */
static void
fx_elicit(struct mcp_req *r, const char *message, const char *schema)
{
	struct json_object	*p;
	char			*cause = NULL;

	p = json_object_new_object();
	json_add_string(p, "message", message);
	json_object_object_add(p, "requestedSchema", json_parse(schema,
	    strlen(schema), &cause));
	fx_ask(r, "elicitation/create", p, fx_elicited);
}

static void
fx_elicitation(struct mcp_req *r, struct json_object *args)
{
	const char	*msg = NULL;
	char		*cause = NULL;

	if (json_get_string(args, NULL, "message", J_REQUIRED, 4096, &msg,
	    &cause) == -1) {
		tools_fail(r, cause);
		return;
	}
	fx_elicit(r, msg, fx_elicit_schema);
}

static void
fx_elicitation_defaults(struct mcp_req *r, struct json_object *args)
{
	fx_elicit(r, "Please review and update the form fields with "
	    "defaults", fx_defaults_schema);
}

static void
fx_elicitation_enums(struct mcp_req *r, struct json_object *args)
{
	fx_elicit(r, "Please select options from the enum fields",
	    fx_enums_schema);
}

static const struct mcp_tool fx_tools[] = {
	{ "test_simple_text", NULL, "Returns simple text content.",
	  FX_NOARGS, NULL, T_RO, fx_simple_text, NULL },
	{ "test_image_content", NULL, "Returns image content.",
	  FX_NOARGS, NULL, T_RO, fx_image_content, NULL },
	{ "test_audio_content", NULL, "Returns audio content.",
	  FX_NOARGS, NULL, T_RO, fx_audio_content, NULL },
	{ "test_embedded_resource", NULL, "Returns an embedded resource.",
	  FX_NOARGS, NULL, T_RO, fx_embedded_resource, NULL },
	{ "test_multiple_content_types", NULL, "Returns text, an image and "
	  "a resource.", FX_NOARGS, NULL, T_RO, fx_multiple, NULL },
	{ "test_tool_with_logging", NULL, "Sends three log messages while "
	  "it runs.", FX_NOARGS, NULL, T_RO, fx_with_logging, NULL },
	{ "test_tool_with_progress", NULL, "Reports progress while it runs.",
	  FX_NOARGS, NULL, T_RO, fx_with_progress, NULL },
	{ "test_error_handling", NULL, "Always returns a tool error.",
	  FX_NOARGS, NULL, T_RO, fx_error_handling, NULL },
	{ "test_sampling", NULL, "Asks the client's LLM (sampling).",
	  "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":"
	  "\"string\",\"description\":\"The prompt\"}},\"required\":"
	  "[\"prompt\"]}", NULL, T_RO, fx_sampling, NULL },
	{ "test_elicitation", NULL, "Asks the user (elicitation).",
	  "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":"
	  "\"string\",\"description\":\"What to ask\"}},\"required\":"
	  "[\"message\"]}", NULL, T_RO, fx_elicitation, NULL },
	{ "test_elicitation_sep1034_defaults", NULL, "Elicitation with "
	  "defaults (SEP-1034).", FX_NOARGS, NULL, T_RO,
	  fx_elicitation_defaults, NULL },
	{ "test_elicitation_sep1330_enums", NULL, "Elicitation with enum "
	  "schemas (SEP-1330).", FX_NOARGS, NULL, T_RO, fx_elicitation_enums,
	  NULL },
	{ "json_schema_2020_12_tool", NULL, "Takes a JSON Schema 2020-12 "
	  "input schema, kept verbatim.", fx_schema_2020, NULL, T_RO,
	  fx_schema_tool, NULL },
};

/* Resources: two static ones, a template, one to subscribe to. */
static const struct {
	const char	*uri;
	const char	*name;
	const char	*mime;
} fx_resources[] = {
	{ "test://static-text", "static-text", "text/plain" },
	{ "test://static-binary", "static-binary", "image/png" },
	{ "test://watched-resource", "watched-resource", "text/plain" },
};

#define FX_TEMPLATE_PREFIX	"test://template/"
#define FX_TEMPLATE_SUFFIX	"/data"

static void
fx_res_list(struct json_object *arr)
{
	struct json_object	*o;
	size_t			 i;

	for (i = 0; i < sizeof(fx_resources) / sizeof(fx_resources[0]); i++) {
		o = json_object_new_object();
		json_add_string(o, "uri", fx_resources[i].uri);
		json_add_string(o, "name", fx_resources[i].name);
		json_add_string(o, "description", "A conformance test "
		    "resource.");
		json_add_string(o, "mimeType", fx_resources[i].mime);
		json_object_array_add(arr, o);
	}
}

static void
fx_res_templates(struct json_object *arr)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_string(o, "uriTemplate", FX_TEMPLATE_PREFIX "{id}"
	    FX_TEMPLATE_SUFFIX);
	json_add_string(o, "name", "template");
	json_add_string(o, "description", "A conformance test template.");
	json_add_string(o, "mimeType", "application/json");
	json_object_array_add(arr, o);
}

/* The id in test://template/{id}/data, or NULL. */
static char *
fx_template_id(const char *uri)
{
	size_t	plen = strlen(FX_TEMPLATE_PREFIX);
	size_t	slen = strlen(FX_TEMPLATE_SUFFIX), len = strlen(uri);

	if (len <= plen + slen || strncmp(uri, FX_TEMPLATE_PREFIX,
	    plen) != 0 || strcmp(uri + len - slen, FX_TEMPLATE_SUFFIX) != 0)
		return (NULL);
	return (xstrndup(uri + plen, len - plen - slen));
}

/* resources/read of ours: {"contents":[item]}. */
static int
fx_res_read(struct mcp_req *r, const char *uri)
{
	struct json_object	*item, *res, *arr, *data;
	char			*id;

	item = json_object_new_object();
	json_add_string(item, "uri", uri);
	if (strcmp(uri, "test://static-text") == 0 ||
	    strcmp(uri, "test://watched-resource") == 0) {
		json_add_string(item, "mimeType", "text/plain");
		json_add_string(item, "text", "This is the content of the "
		    "static text resource.");
	} else if (strcmp(uri, "test://static-binary") == 0) {
		json_add_string(item, "mimeType", "image/png");
		json_add_string(item, "blob", FX_PNG);
	} else if ((id = fx_template_id(uri)) != NULL) {
		data = json_object_new_object();
		json_add_string(data, "id", id);
		json_add_bool(data, "templateTest", 1);
		free(id);
		xasprintf(&id, "Data for ID: %s", json_peek_string(data, "id"));
		json_add_string(data, "data", id);
		free(id);
		json_add_string(item, "mimeType", "application/json");
		json_add_string(item, "text", json_str(data));
		json_object_put(data);
	} else {
		json_object_put(item);
		return (-1);
	}
	arr = json_object_new_array();
	json_object_array_add(arr, item);
	res = json_object_new_object();
	json_object_object_add(res, "contents", arr);
	mcp_reply(r, res);
	return (0);
}

static int
fx_res_exists(const char *uri)
{
	char	*id;
	size_t	 i;

	for (i = 0; i < sizeof(fx_resources) / sizeof(fx_resources[0]); i++)
		if (strcmp(uri, fx_resources[i].uri) == 0)
			return (1);
	if ((id = fx_template_id(uri)) == NULL)
		return (0);
	free(id);
	return (1);
}

static const struct res_provider fx_provider = {
	fx_res_list, fx_res_templates, fx_res_read, fx_res_exists
};

/* Prompts: their listing, and each one's messages. */
static const char fx_prompts[] =
    "{\"prompts\":["
    "{\"name\":\"test_simple_prompt\",\"description\":\"A simple prompt.\"},"
    "{\"name\":\"test_prompt_with_arguments\",\"description\":\"A prompt "
    "with arguments.\",\"arguments\":[{\"name\":\"arg1\",\"description\":"
    "\"First argument\",\"required\":true},{\"name\":\"arg2\","
    "\"description\":\"Second argument\",\"required\":true}]},"
    "{\"name\":\"test_prompt_with_embedded_resource\",\"description\":"
    "\"A prompt with an embedded resource.\",\"arguments\":[{\"name\":"
    "\"resourceUri\",\"description\":\"The resource to embed\","
    "\"required\":true}]},"
    "{\"name\":\"test_prompt_with_image\",\"description\":\"A prompt with "
    "an image.\"}]}";

static void
fx_prompts_list(struct mcp_req *r, struct json_object *params)
{
	fx_reply(r, fx_prompts);
}

/* A prompt message: role user, the content given (taken). */
static void
fx_message(struct json_object *msgs, struct json_object *content)
{
	struct json_object	*m = json_object_new_object();

	json_add_string(m, "role", "user");
	json_object_object_add(m, "content", content);
	json_object_array_add(msgs, m);
}

static struct json_object *
fx_text_block(const char *text)
{
	struct json_object	*c = json_object_new_object();

	json_add_string(c, "type", "text");
	json_add_string(c, "text", text);
	return (c);
}

/* The string argument name of a prompt, or NULL. */
static const char *
fx_arg(struct json_object *params, const char *name)
{
	struct json_object	*args;

	if (!json_object_object_get_ex(params, "arguments", &args))
		return (NULL);
	return (json_peek_string(args, name));
}

/* The messages of the prompt params.name, or NULL if it is unknown. */
static struct json_object *
fx_prompt_messages(const char *name, struct json_object *params)
{
	struct json_object	*msgs = json_object_new_array(), *c, *res;
	const char		*a1, *a2;
	char			*text;

	if (strcmp(name, "test_simple_prompt") == 0)
		fx_message(msgs, fx_text_block("This is a simple prompt for "
		    "testing."));
	else if (strcmp(name, "test_prompt_with_arguments") == 0) {
		a1 = fx_arg(params, "arg1");
		a2 = fx_arg(params, "arg2");
		xasprintf(&text, "Prompt with arguments: arg1='%s', arg2='%s'",
		    a1 != NULL ? a1 : "", a2 != NULL ? a2 : "");
		fx_message(msgs, fx_text_block(text));
		free(text);
	} else if (strcmp(name, "test_prompt_with_embedded_resource") == 0) {
		a1 = fx_arg(params, "resourceUri");
		res = json_object_new_object();
		json_add_string(res, "uri", a1 != NULL ? a1 :
		    "test://example-resource");
		json_add_string(res, "mimeType", "text/plain");
		json_add_string(res, "text", "Embedded resource content for "
		    "testing.");
		c = json_object_new_object();
		json_add_string(c, "type", "resource");
		json_object_object_add(c, "resource", res);
		fx_message(msgs, c);
		fx_message(msgs, fx_text_block("Please process the embedded "
		    "resource above."));
	} else if (strcmp(name, "test_prompt_with_image") == 0) {
		c = json_object_new_object();
		json_add_string(c, "type", "image");
		json_add_string(c, "data", FX_PNG);
		json_add_string(c, "mimeType", "image/png");
		fx_message(msgs, c);
		fx_message(msgs, fx_text_block("Please analyze the image "
		    "above."));
	} else {
		json_object_put(msgs);
		return (NULL);
	}
	return (msgs);
}

static void
fx_prompts_get(struct mcp_req *r, struct json_object *params)
{
	struct json_object	*res, *msgs;
	const char		*name = NULL;
	char			*cause = NULL;

	if (json_get_string(params, "params", "name", J_REQUIRED, 128, &name,
	    &cause) == -1) {
		mcp_invalid_params(r, cause);
		return;
	}
	if ((msgs = fx_prompt_messages(name, params)) == NULL) {
		mcp_errorf(r, MCP_INVALID_PARAMS, "Invalid params: unknown "
		    "prompt %.128s", name);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "messages", msgs);
	mcp_reply(r, res);
}

/* completion/complete: no suggestions, which is a valid answer. */
static void
fx_complete(struct mcp_req *r, struct json_object *params)
{
	fx_reply(r, "{\"completion\":{\"values\":[],\"total\":0,"
	    "\"hasMore\":false}}");
}

/* Register the fixtures with the MCP core (from mcp_init). */
static void
fx_register(void)
{
	tools_register(fx_tools, sizeof(fx_tools) / sizeof(fx_tools[0]));
	res_register(&fx_provider);
	mcp_add_method("prompts/list", fx_prompts_list);
	mcp_add_method("prompts/get", fx_prompts_get);
	mcp_add_method("completion/complete", fx_complete);
	mcp_add_capability("prompts", json_object_new_object());
	mcp_add_capability("completions", json_object_new_object());
}

int
main(int argc, char **argv)
{
	mcp_extend = fx_register;
	return (skillboxd_main(argc, argv));
}
