/*
 * The stdio transport: newline-delimited JSON-RPC on stdin and a private
 * copy of stdout.  A line longer than MCP_LINE_MAX is skipped as it
 * arrives (never buffered whole), answered with an error, and the lines
 * after it are read as usual.  Output is buffered and written as stdout
 * drains; end of input (or a client that stops reading) ends the session.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define TR_STDIO_OUT_MAX	(256 * 1024 * 1024)	/* unread output */
#define TR_STDIO_READ		(256 * 1024)		/* bytes per read */

struct tr_stdio {
	struct bufferevent	*ts_in;
	struct bufferevent	*ts_out;
	struct mcp_conn		*ts_conn;
	void			(*ts_eof)(void);
	size_t			 ts_scanned;	/* input searched for EOL */
	int			 ts_discarding;	/* inside a too-long line */
	size_t			 ts_discarded;
	int			 ts_ended;
};

static void	tr_stdio_send(void *, struct mcp_req *, struct json_object *);
static void	tr_stdio_read_cb(struct bufferevent *, void *);
static void	tr_stdio_event_cb(struct bufferevent *, short, void *);
static void	tr_stdio_end(struct tr_stdio *, const char *);
static int	tr_stdio_line(struct tr_stdio *, struct evbuffer *);
static void	tr_stdio_too_long(struct tr_stdio *);

static const struct mcp_transport tr_stdio_ops = {
	"stdio", tr_stdio_send
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
	ts->ts_eof = eof;
	evutil_make_socket_nonblocking(infd);
	evutil_make_socket_nonblocking(outfd);
	ts->ts_in = bufferevent_socket_new(base, infd, 0);
	ts->ts_out = bufferevent_socket_new(base, outfd, 0);
	if (ts->ts_in == NULL || ts->ts_out == NULL)
		fatalx("stdio: cannot set up the streams");
	bufferevent_set_max_single_read(ts->ts_in, TR_STDIO_READ);
	bufferevent_setcb(ts->ts_in, tr_stdio_read_cb, NULL,
	    tr_stdio_event_cb, ts);
	bufferevent_setcb(ts->ts_out, NULL, NULL, tr_stdio_event_cb, ts);
	bufferevent_enable(ts->ts_in, EV_READ);
	bufferevent_enable(ts->ts_out, EV_WRITE);
	ts->ts_conn = mcp_conn_new(&tr_stdio_ops, ts);
	return (ts);
}

/* Write out what is buffered, blocking, before exit. */
void
tr_stdio_flush(struct tr_stdio *ts)
{
	struct evbuffer	*out = bufferevent_get_output(ts->ts_out);
	int		 fd = bufferevent_getfd(ts->ts_out), fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	/* The bufferevent keeps its output's front frozen to itself. */
	evbuffer_unfreeze(out, 1);
	while (!ts->ts_ended && evbuffer_get_length(out) > 0) {
		errno = 0;
		if (evbuffer_write(out, fd) <= 0 && errno != EINTR)
			break;
	}
	evbuffer_freeze(out, 1);
}

void
tr_stdio_free(struct tr_stdio **tsp)
{
	struct tr_stdio	*ts = *tsp;

	if (ts == NULL)
		return;
	mcp_conn_free(&ts->ts_conn);
	bufferevent_free(ts->ts_in);
	bufferevent_free(ts->ts_out);
	free(ts);
	*tsp = NULL;
}

/* The client is gone: stop reading and tell the owner once. */
static void
tr_stdio_end(struct tr_stdio *ts, const char *why)
{
	if (ts->ts_ended)
		return;
	ts->ts_ended = 1;
	log_info("stdio: %s", why);
	bufferevent_disable(ts->ts_in, EV_READ);
	if (ts->ts_eof != NULL)
		ts->ts_eof();
}

static void
tr_stdio_send(void *arg, struct mcp_req *r, struct json_object *msg)
{
	struct tr_stdio	*ts = arg;
	struct evbuffer	*out = bufferevent_get_output(ts->ts_out);
	const char	*s;
	size_t		 len;

	if (ts->ts_ended)
		return;
	if (evbuffer_get_length(out) > TR_STDIO_OUT_MAX) {
		tr_stdio_end(ts, "the client stopped reading");
		return;
	}
	s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	log_trace("> %.*s", len > 512 ? 512 : (int)len, s);
	evbuffer_add(out, s, len);
	evbuffer_add(out, "\n", 1);
}

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
tr_stdio_line(struct tr_stdio *ts, struct evbuffer *in)
{
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
		mcp_conn_input(ts->ts_conn, line, len);
	}
	evbuffer_drain(in, (size_t)eol.pos + eol_len);
	return (1);
}

static void
tr_stdio_read_cb(struct bufferevent *bev, void *arg)
{
	struct tr_stdio	*ts = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	while (!ts->ts_ended && tr_stdio_line(ts, in))
		;
}

static void
tr_stdio_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tr_stdio	*ts = arg;

	if (bev == ts->ts_in && (what & BEV_EVENT_EOF)) {
		/* A last line without its newline still counts. */
		if (!ts->ts_ended &&
		    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			(void)evbuffer_add(bufferevent_get_input(bev), "\n", 1);
		tr_stdio_read_cb(bev, ts);
		tr_stdio_end(ts, "end of input");
	} else if (what & BEV_EVENT_ERROR)
		tr_stdio_end(ts, bev == ts->ts_in ? "input error" :
		    "output error (client gone)");
}
