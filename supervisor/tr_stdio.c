/*
 * The stdio transport: newline-delimited JSON-RPC on stdin and a private
 * copy of stdout.  A line longer than MCP_LINE_MAX is skipped as it
 * arrives (never buffered whole), answered with an error, and the lines
 * after it are read as usual.  A message is written at once when stdout
 * takes it; only what it does not take is buffered, and write interest
 * is armed only while something is buffered (one read, one write and
 * one wait per request).  End of input, or a client that stops reading,
 * ends the session.
 */
#include "config.h"

#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define TR_STDIO_OUT_MAX	(256 * 1024 * 1024)	/* unread output */
#define TR_STDIO_READ		(256 * 1024)		/* bytes per read */

struct tr_stdio {
	int		 ts_infd;
	int		 ts_outfd;
	struct event	*ts_rev;
	struct event	*ts_wev;
	struct evbuffer	*ts_in;
	struct evbuffer	*ts_out;	/* what stdout has not taken yet */
	struct mcp_conn	*ts_conn;
	void		(*ts_eof)(void);
	size_t		 ts_scanned;	/* input searched for EOL */
	int		 ts_discarding;	/* inside a too-long line */
	size_t		 ts_discarded;
	int		 ts_ended;
};

static void	tr_stdio_send(void *, void *, enum mcp_send, const char *,
		    size_t);
static void	tr_stdio_read_cb(int, short, void *);
static void	tr_stdio_write_cb(int, short, void *);
static void	tr_stdio_end(struct tr_stdio *, const char *);
static int	tr_stdio_line(struct tr_stdio *);
static void	tr_stdio_lines(struct tr_stdio *);
static void	tr_stdio_too_long(struct tr_stdio *);

static const struct mcp_transport tr_stdio_ops = {
	"stdio", tr_stdio_send, NULL
};

/*
 * Serve MCP on infd and outfd; eof is called once when the client is
 * gone (end of input, or output it no longer reads).
 */
struct tr_stdio *
tr_stdio_new(struct event_base *base, int infd, int outfd, void (*eof)(void))
{
	struct tr_stdio	*ts;

	ts = xcalloc(1, sizeof(*ts));
	ts->ts_infd = infd;
	ts->ts_outfd = outfd;
	ts->ts_eof = eof;
	evutil_make_socket_nonblocking(infd);
	evutil_make_socket_nonblocking(outfd);
	ts->ts_in = evbuffer_new();
	ts->ts_out = evbuffer_new();
	ts->ts_rev = event_new(base, infd, EV_READ | EV_PERSIST,
	    tr_stdio_read_cb, ts);
	ts->ts_wev = event_new(base, outfd, EV_WRITE | EV_PERSIST,
	    tr_stdio_write_cb, ts);
	if (ts->ts_in == NULL || ts->ts_out == NULL || ts->ts_rev == NULL ||
	    ts->ts_wev == NULL || event_add(ts->ts_rev, NULL) == -1)
		fatalx("stdio: cannot set up the streams");
	ts->ts_conn = mcp_conn_new(&tr_stdio_ops, ts);
	return (ts);
}

/* Write out what is buffered, blocking, before exit. */
void
tr_stdio_flush(struct tr_stdio *ts)
{
	int	fl;

	if ((fl = fcntl(ts->ts_outfd, F_GETFL)) != -1)
		(void)fcntl(ts->ts_outfd, F_SETFL, fl & ~O_NONBLOCK);
	while (!ts->ts_ended && evbuffer_get_length(ts->ts_out) > 0) {
		errno = 0;
		if (evbuffer_write(ts->ts_out, ts->ts_outfd) <= 0 &&
		    errno != EINTR)
			break;
	}
}

/* Close the session and free the transport. */
void
tr_stdio_free(struct tr_stdio **tsp)
{
	struct tr_stdio	*ts = *tsp;

	if (ts == NULL)
		return;
	mcp_conn_free(&ts->ts_conn);
	event_free(ts->ts_rev);
	event_free(ts->ts_wev);
	evbuffer_free(ts->ts_in);
	evbuffer_free(ts->ts_out);
	free(ts);
	*tsp = NULL;
}

/* The client is gone: stop reading and writing, tell the owner once. */
static void
tr_stdio_end(struct tr_stdio *ts, const char *why)
{
	if (ts->ts_ended)
		return;
	ts->ts_ended = 1;
	log_info("stdio: %s", why);
	event_del(ts->ts_rev);
	event_del(ts->ts_wev);
	if (ts->ts_eof != NULL)
		ts->ts_eof();
}

/* One message: straight to stdout if it takes it, else buffered. */
static void
tr_stdio_send(void *arg, void *ctx, enum mcp_send kind, const char *s,
    size_t len)
{
	struct tr_stdio	*ts = arg;
	struct iovec	 iov[2];
	size_t		 done = 0;
	ssize_t		 n = 0;

	if (ts->ts_ended)
		return;
	log_trace("> %.*s", len > 512 ? 512 : (int)len, s);
	if (evbuffer_get_length(ts->ts_out) == 0) {
		iov[0].iov_base = (void *)s;
		iov[0].iov_len = len;
		iov[1].iov_base = (void *)"\n";
		iov[1].iov_len = 1;
		while ((n = writev(ts->ts_outfd, iov, 2)) == -1 &&
		    errno == EINTR)
			;
		if (n == -1 && errno != EAGAIN) {
			tr_stdio_end(ts, "output error (client gone)");
			return;
		}
		done = n > 0 ? (size_t)n : 0;
	}
	if (done == len + 1)
		return;
	if (evbuffer_get_length(ts->ts_out) > TR_STDIO_OUT_MAX) {
		tr_stdio_end(ts, "the client stopped reading");
		return;
	}
	if (done < len)
		evbuffer_add(ts->ts_out, s + done, len - done);
	evbuffer_add(ts->ts_out, "\n", 1);
	event_add(ts->ts_wev, NULL);
}

/* stdout can take more: write what is buffered, disarm when empty. */
static void
tr_stdio_write_cb(int fd, short what, void *arg)
{
	struct tr_stdio	*ts = arg;

	if (evbuffer_write(ts->ts_out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		tr_stdio_end(ts, "output error (client gone)");
		return;
	}
	if (evbuffer_get_length(ts->ts_out) == 0)
		event_del(ts->ts_wev);
}

/* Answer a line that was too long, once it has been skipped. */
static void
tr_stdio_too_long(struct tr_stdio *ts)
{
	char	*msg;

	xasprintf(&msg, "Invalid Request: message of %zu bytes or more "
	    "refused (the limit is %d bytes per line)", ts->ts_discarded,
	    MCP_LINE_MAX);
	log_warnx("stdio: %s", msg);
	mcp_conn_refuse(ts->ts_conn, MCP_INVALID_REQUEST, msg);
	free(msg);
	ts->ts_discarding = 0;
	ts->ts_discarded = 0;
}

/*
 * Take one line off the input if a whole one is there: 1 if one was
 * handled, 0 if more input is needed.
 */
static int
tr_stdio_line(struct tr_stdio *ts)
{
	struct evbuffer		*in = ts->ts_in;
	struct evbuffer_ptr	 start, eol;
	size_t			 avail = evbuffer_get_length(in), eol_len;
	size_t			 len;
	char			*line;

	evbuffer_ptr_set(in, &start, ts->ts_scanned, EVBUFFER_PTR_SET);
	eol = evbuffer_search_eol(in, &start, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		ts->ts_scanned = avail;
		if (ts->ts_discarding || avail > MCP_LINE_MAX) {
			ts->ts_discarding = 1;
			ts->ts_discarded += avail;
			evbuffer_drain(in, avail);
			ts->ts_scanned = 0;
		}
		return (0);
	}
	len = (size_t)eol.pos;
	ts->ts_scanned = 0;
	if (ts->ts_discarding || len > MCP_LINE_MAX) {
		ts->ts_discarded += len;
		evbuffer_drain(in, len + eol_len);
		tr_stdio_too_long(ts);
		return (1);
	}
	line = (char *)evbuffer_pullup(in, (ssize_t)(len + eol_len));
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	if (len > 0) {
		log_trace("< %.*s", len > 512 ? 512 : (int)len, line);
		mcp_conn_input(ts->ts_conn, line, len, NULL);
	}
	evbuffer_drain(in, (size_t)eol.pos + eol_len);
	return (1);
}

static void
tr_stdio_lines(struct tr_stdio *ts)
{
	while (!ts->ts_ended && tr_stdio_line(ts))
		;
}

/* Read what stdin has, then handle every whole line. */
static void
tr_stdio_read_cb(int fd, short what, void *arg)
{
	struct tr_stdio	*ts = arg;
	struct iovec	 iov;
	ssize_t		 n;

	if (evbuffer_reserve_space(ts->ts_in, TR_STDIO_READ, &iov, 1) < 1)
		fatalx("stdio: out of memory");
	while ((n = read(fd, iov.iov_base, iov.iov_len)) == -1 &&
	    errno == EINTR)
		;
	iov.iov_len = n > 0 ? (size_t)n : 0;
	evbuffer_commit_space(ts->ts_in, &iov, 1);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == -1) {
		tr_stdio_end(ts, "input error");
		return;
	}
	if (n == 0) {
		/* A last line without its newline still counts. */
		if (evbuffer_get_length(ts->ts_in) > 0)
			(void)evbuffer_add(ts->ts_in, "\n", 1);
		tr_stdio_lines(ts);
		tr_stdio_end(ts, "end of input");
		return;
	}
	tr_stdio_lines(ts);
}
