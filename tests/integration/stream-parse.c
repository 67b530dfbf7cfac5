/*
 * stream-parse: run worker/stream.c over stdin and print what the worker
 * would see: one line per compact event, then one line
 * {"offered": [...], "agent": {...}, "stats": {...}}.  For tests, and for
 * looking at a captured `claude -p --output-format stream-json` run.
 *
 * usage: claude -p ... --output-format stream-json --verbose | stream-parse
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "json.h"
#include "stream.h"

static void
print_cb(void *arg, const struct stream_event *ev)
{
	(void)arg;
	puts(json_str(ev->se_json));
}

int
main(void)
{
	struct stream			*s;
	const struct stream_init	*si;
	const struct stream_stats	*st;
	struct json_object		*o, *a, *stats;
	char				 chunk[16384];
	ssize_t				 n;
	size_t				 i;

	s = stream_new(print_cb, NULL);
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		stream_feed(s, chunk, (size_t)n);
	stream_finish(s);
	si = stream_init(s);
	st = stream_stats(s);
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < si->si_nskills; i++)
		json_object_array_add(a, json_object_new_string(
		    si->si_skills[i]));
	json_object_object_add(o, "offered", a);
	json_object_object_add(o, "agent", stream_agent_json(s));
	stats = json_object_new_object();
	json_add_int(stats, "lines", (int64_t)st->st_lines);
	json_add_int(stats, "events", (int64_t)st->st_events);
	json_add_int(stats, "garbage", (int64_t)st->st_garbage);
	json_add_int(stats, "overlong", (int64_t)st->st_overlong);
	json_add_int(stats, "ignored", (int64_t)st->st_ignored);
	json_add_bool(stats, "done", stream_done(s));
	json_object_object_add(o, "stats", stats);
	puts(json_str(o));
	json_object_put(o);
	stream_free(&s);
	return (0);
}
