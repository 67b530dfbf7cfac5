/*
 * The parser for `claude -p --output-format stream-json --verbose`.
 *
 * Fed raw stdout bytes as they arrive (split anywhere), it cuts lines with
 * a bounded buffer, parses each as JSON, and turns the interesting ones
 * into compact events handed to a callback: assistant text and tool uses
 * (noting which skills the agent invoked), tool results, and system
 * notices.  It records the `system/init` event wherever it comes, and the
 * first `result`, which is terminal: everything after it is ignored.
 *
 * Nothing is kept per line: memory stays bounded by the line cap whatever
 * the volume of output.  A line longer than the cap is skipped and
 * counted, as is a line that is not a JSON object.  Every string that
 * leaves the parser has passed through redact() and is valid UTF-8,
 * clipped to a bound with a truncation marker.
 */
#ifndef SKILLBOX_STREAM_H
#define SKILLBOX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "skills.h"

#define STREAM_LINE_MAX		(1024 * 1024)	/* longest line parsed */
#define STREAM_TEXT_MAX		2048		/* text in one event */
#define STREAM_RESULT_MAX	(16 * 1024)	/* the final result text */
#define STREAM_LIST_MAX		256		/* tools, skills kept */
#define STREAM_ERRORS_MAX	8		/* result errors kept */
#define STREAM_SAMPLE_MAX	160		/* garbage sample kept */

enum stream_kind {
	STREAM_INIT,		/* system/init: session, model, skills */
	STREAM_TEXT,		/* assistant text */
	STREAM_TOOL_USE,	/* assistant tool_use (Skill included) */
	STREAM_TOOL_RESULT,	/* user tool_result */
	STREAM_SYSTEM,		/* api_retry, permission_denied, ... */
	STREAM_RESULT,		/* the terminal result */
	STREAM_KIND_MAX
};

/*
 * One compact event.  se_json is an object with "kind" and the kind's
 * fields; it belongs to the parser and lives until the callback returns
 * (take a reference with json_object_get() to keep it).
 */
struct stream_event {
	enum stream_kind	 se_kind;
	struct json_object	*se_json;
};

typedef void	(*stream_event_cb)(void *, const struct stream_event *);

/* What system/init said. */
struct stream_init {
	int	  si_seen;
	char	 *si_session_id;
	char	 *si_model;
	char	 *si_version;		/* claude_code_version */
	char	 *si_permission_mode;
	char	**si_tools;
	size_t	  si_ntools;
	char	**si_skills;
	size_t	  si_nskills;
};

/* What the first result said. */
struct stream_result {
	int	  sr_seen;
	char	 *sr_subtype;
	int	  sr_is_error;
	char	 *sr_text;
	int64_t	  sr_num_turns;
	double	  sr_cost_usd;
	int64_t	  sr_duration_ms;
	char	 *sr_session_id;
	char	 *sr_terminal_reason;
	char	**sr_errors;
	size_t	  sr_nerrors;
	int64_t	  sr_api_error_status;	/* -1 when null or absent */
	size_t	  sr_permission_denials;
};

struct stream_stats {
	uint64_t	st_bytes;	/* bytes fed */
	uint64_t	st_lines;	/* non-empty lines before the result */
	uint64_t	st_events;	/* events handed to the callback */
	uint64_t	st_garbage;	/* lines that were not JSON objects */
	uint64_t	st_overlong;	/* lines longer than the cap */
	uint64_t	st_other;	/* JSON lines of no interest */
	uint64_t	st_ignored;	/* bytes after the result */
	char		st_sample[STREAM_SAMPLE_MAX + 64]; /* first garbage */
};

struct stream;

struct stream	*stream_new(stream_event_cb, void *);
void		 stream_set_limits(struct stream *, size_t, size_t);
void		 stream_free(struct stream **);
void		 stream_feed(struct stream *, const void *, size_t);
void		 stream_finish(struct stream *);
int		 stream_done(const struct stream *);
const struct stream_init *stream_init(const struct stream *);
const struct stream_result *stream_result(const struct stream *);
const struct stream_stats *stream_stats(const struct stream *);
int		 stream_offers_skill(const struct stream *, const char *);
int		 stream_check_skills(const struct stream *,
		    const struct skills *, char **);
size_t		 stream_nused(const struct stream *);
const char	*stream_used(const struct stream *, size_t);
struct json_object *stream_agent_json(const struct stream *);
const char	*stream_kind_name(enum stream_kind);

#endif /* SKILLBOX_STREAM_H */
