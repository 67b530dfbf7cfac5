/*
 * fake-anthropic: a scripted Anthropic Messages API on loopback, for
 * driving the real Claude Code CLI with only the model scripted.
 *
 * script.c  loads and checks the scenario (a JSON array of entries);
 * reply.c   renders an entry as a Messages API answer: one JSON message,
 *           a list of SSE events, or an Anthropic-shaped error body;
 * reqlog.c  summarises each request into one JSON log line;
 * server.c  the evhttp side: routing, delays, streaming, broken streams.
 */
#ifndef FAKE_H
#define FAKE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define FAKE_BODY_MAX		(8 * 1024 * 1024)	/* request body cap */
#define FAKE_SCRIPT_MAX		(4 * 1024 * 1024)	/* scenario file cap */
#define FAKE_DELAY_MAX		600000			/* ms */
#define FAKE_DEFAULT_MODEL	"claude-fake"
#define FAKE_DEFAULT_IN		100	/* input_tokens reported */
#define FAKE_DEFAULT_OUT	20	/* output_tokens reported */
#define REPLY_CHUNK		24	/* bytes per text or JSON delta */

/* One tool call an entry makes. */
struct tool {
	const char		*t_name;
	struct json_object	*t_input;	/* an object, borrowed */
	char			*t_id;		/* stable: from the index */
};

/* One scripted answer: entry i answers requests with i assistant turns. */
struct entry {
	size_t		 e_index;
	const char	*e_text;	/* NULL: no text block */
	struct tool	*e_tools;
	size_t		 e_ntools;
	int		 e_status;	/* non-zero: answer with this error */
	const char	*e_etype;
	const char	*e_emsg;
	int64_t		 e_retry_after;	/* seconds; -1: no header */
	const char	*e_stop;	/* NULL: end_turn or tool_use */
	int64_t		 e_delay_ms;
	int64_t		 e_break_after;	/* SSE events before a cut; -1: none */
	int64_t		 e_in_tokens;
	int64_t		 e_out_tokens;
	int64_t		 e_cache_read;
	int64_t		 e_cache_create;
};

/* The whole scenario, plus the answer for requests past its end. */
struct script {
	struct json_object	*s_root;	/* owns every borrowed string */
	struct entry		*s_entries;
	size_t			 s_n;
	struct entry		 s_done;
};

struct script	*script_parse(const char *, size_t, char **);
struct script	*script_load(const char *, char **);
const struct entry *script_pick(const struct script *, size_t);
void		 script_free(struct script **);

/* The rendered SSE stream of one answer. */
struct sse {
	char	**ss_events;	/* "event: …\ndata: …\n\n" each */
	size_t	  ss_n;
};

struct json_object *reply_message(const struct entry *, const char *);
void		 reply_events(const struct entry *, const char *,
		    struct sse *);
void		 reply_sse_clear(struct sse *);
struct json_object *reply_error(const char *, const char *, const char *);
const char	*reply_error_type(int);

/* What the log says about one request's body. */
struct json_object *reqlog_summary(struct json_object *);
size_t		 reqlog_assistant_turns(struct json_object *);
int		 reqlog_wants_stream(struct json_object *);
void		 reqlog_add_header(struct json_object *, const char *,
		    const char *);
int		 reqlog_write(int, struct json_object *);
int		 reqlog_dump(const char *, unsigned int, const void *, size_t,
		    char **);

/* The HTTP side. */
struct event_base;
struct server;

struct server	*server_new(struct event_base *, struct script *, int,
		    const char *);
int		 server_listen(struct server *, const char *, int, int *,
		    char **);
void		 server_free(struct server **);

#endif /* FAKE_H */
