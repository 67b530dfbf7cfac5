/*
 * The stream-json parser's cost: feed N MiB of realistic agent output (a
 * mix of text, tool uses, tool results of a few KiB, and now and then a
 * 40 KiB one) in 16 KiB chunks, as envd delivers it, then the result.
 * Prints the CPU time and peak RSS of the whole process, so run it from a
 * build without sanitizers.  Not a test: it asserts nothing.
 *
 * usage: bench-stream [MiB]	(default 1)
 */
#include "config.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"

#define CHUNK	(16 * 1024)

static unsigned long	events;

static void
count_cb(void *arg, const struct stream_event *ev)
{
	(void)arg;
	(void)ev;
	events++;
}

/* About 1 MiB of events of the kinds a coding agent emits. */
static void
make_events(struct buf *b)
{
	char	text[40 * 1024 + 1];
	int	i;

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; buf_len(b) < 1024 * 1024; i++) {
		buf_printf(b, "{\"type\":\"assistant\",\"message\":{\"id\":"
		    "\"msg_%d\",\"content\":[{\"type\":\"text\",\"text\":"
		    "\"Step %d: looking at src/file%d.c, the failing test is "
		    "test_%d; the cause is an off-by-one.\"}]},"
		    "\"session_id\":\"s\",\"uuid\":\"u%d\"}\n", i, i, i, i, i);
		buf_printf(b, "{\"type\":\"assistant\",\"message\":"
		    "{\"content\":[{\"type\":\"tool_use\",\"id\":"
		    "\"toolu_%d\",\"name\":\"Bash\",\"input\":"
		    "{\"command\":\"make -j2 check TESTS=t%d\"}}]},"
		    "\"session_id\":\"s\"}\n", i, i);
		buf_printf(b, "{\"type\":\"user\",\"message\":{\"content\":[{"
		    "\"type\":\"tool_result\",\"tool_use_id\":\"toolu_%d\","
		    "\"content\":\"%.*s\",\"is_error\":false}]},"
		    "\"session_id\":\"s\"}\n", i, i % 20 == 0 ? 40 * 1024 :
		    3000, text);
	}
}

int
main(int argc, char **argv)
{
	struct stream	*s;
	struct buf	 b;
	struct rusage	 ru;
	const char	*result = "{\"type\":\"result\","
	    "\"subtype\":\"success\",\"is_error\":false,"
	    "\"result\":\"done\",\"num_turns\":9}\n";
	long		 mib = argc > 1 ? atol(argv[1]) : 1, i;
	size_t		 off, n;

	buf_init(&b, 4 * 1024 * 1024);
	make_events(&b);
	s = stream_new(count_cb, NULL);
	for (i = 0; i < mib; i++)
		for (off = 0; off < buf_len(&b); off += n) {
			n = buf_len(&b) - off < CHUNK ? buf_len(&b) - off :
			    CHUNK;
			stream_feed(s, buf_str(&b) + off, n);
		}
	stream_feed(s, result, strlen(result));
	stream_finish(s);
	getrusage(RUSAGE_SELF, &ru);
	printf("stream: %ld x %zu bytes, %lu events, result %s; "
	    "cpu %.1f ms, peak rss %ld KiB\n", mib, buf_len(&b), events,
	    stream_done(s) ? "seen" : "missing",
	    ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3,
	    ru.ru_maxrss);
	stream_free(&s);
	buf_free(&b);
	return (0);
}
