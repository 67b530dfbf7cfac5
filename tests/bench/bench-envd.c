/*
 * How much CPU and memory the envd stream reader costs: feeds a
 * process.Process/Start stream carrying MB megabytes of stdout, in data
 * events of CHUNK bytes, through envd_stream_feed() in pieces of about
 * 16 KiB as libcurl would, ROUNDS times, and prints CPU milliseconds per
 * megabyte and the peak RSS.  The stream is made block by block, so the
 * RSS is the reader's own.  Not a test: numbers for the notes.
 *
 * usage: bench-envd [MB [CHUNK [ROUNDS]]]	(defaults 1 200 20)
 */
#include "config.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "envd.h"
#include "envelope.h"
#include "xmalloc.h"

#define PIECE	16384

static int
sink(void *arg, const char *p, size_t len)
{
	*(size_t *)arg += len;
	return (0);
}

/* A block of about PIECE bytes of identical data events; returns them. */
static size_t
build(struct buf *s, size_t chunk)
{
	struct buf	 b64, json;
	char		*line;
	size_t		 n = 0;

	line = xmalloc(chunk);
	memset(line, 'x', chunk);
	line[chunk - 1] = '\n';
	buf_init(&b64, 4 * chunk + 16);
	buf_init(&json, 4 * chunk + 64);
	(void)base64_encode(&b64, line, chunk);
	(void)buf_printf(&json, "{\"event\":{\"data\":{\"stdout\":\"%s\"}}}",
	    buf_str(&b64));
	do {
		env_encode(s, 0, buf_str(&json), buf_len(&json));
		n++;
	} while (buf_len(s) < PIECE);
	buf_free(&b64);
	buf_free(&json);
	free(line);
	return (n);
}

/* Feed len bytes; exit on failure. */
static void
feed(struct envd_stream *st, const char *p, size_t len)
{
	char	*cause = NULL;

	if (envd_stream_feed(st, p, len, &cause) == -1) {
		fprintf(stderr, "bench-envd: %s\n", cause);
		exit(1);
	}
}

static double
cpu_ms(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
}

int
main(int argc, char **argv)
{
	static const char	 start[] = "{\"event\":{\"start\":{\"pid\":1}}}";
	static const char	 end[] = "{\"event\":{\"end\":{\"exited\":true}}}";
	struct buf		 blk, edges;
	struct envd_io		 io = { .io_stdout = sink };
	struct envd_proc	 pr;
	struct envd_stream	*st;
	struct rusage		 ru;
	size_t			 mb, chunk, rounds, i, per, done, got = 0;
	char			*cause = NULL;
	double			 t0, t;

	mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
	chunk = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 20;
	if (mb == 0 || chunk < 2 || rounds == 0)
		return (2);
	io.io_arg = &got;
	buf_init(&blk, 1 << 30);
	per = build(&blk, chunk) * chunk;
	buf_init(&edges, 1024);
	t0 = cpu_ms();
	for (i = 0; i < rounds; i++) {
		memset(&pr, 0, sizeof(pr));
		st = envd_stream_new(&io, &pr);
		buf_reset(&edges);
		env_encode(&edges, 0, start, strlen(start));
		feed(st, buf_str(&edges), buf_len(&edges));
		for (done = 0; done < mb << 20; done += per)
			feed(st, buf_str(&blk), buf_len(&blk));
		buf_reset(&edges);
		env_encode(&edges, 0, end, strlen(end));
		env_encode(&edges, ENV_FLAG_END, "{}", 2);
		feed(st, buf_str(&edges), buf_len(&edges));
		if (envd_stream_finish(st, &cause) == -1) {
			fprintf(stderr, "bench-envd: %s\n", cause);
			return (1);
		}
		envd_stream_free(&st);
		envd_proc_clear(&pr);
	}
	t = (cpu_ms() - t0) / (double)rounds / (double)mb;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"mb\":%zu,\"chunk\":%zu,\"rounds\":%zu,"
	    "\"cpu_ms_per_mb\":%.2f,\"maxrss_kib\":%ld,\"delivered\":%zu}\n",
	    mb, chunk, rounds, t, ru.ru_maxrss, got);
	buf_free(&blk);
	buf_free(&edges);
	return (0);
}
