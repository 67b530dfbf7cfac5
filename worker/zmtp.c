/*
 * The worker's end of the ZeroMQ link, in the worker's own event loop:
 * a DEALER speaking ZMTP 3.1 (rfc.zeromq.org/spec/37) with the NULL
 * mechanism over its one ipc connection to skillboxd's ROUTER (libzmq).
 *
 * Why not libzmq here too: a worker lives for one job and talks to one
 * peer, and a libzmq context is two threads, their stacks and seven more
 * shared libraries; every message crosses threads twice.  Where skillbox
 * was measured, that was 1.5 ms of a worker's CPU, and ~35 us a message.
 * The part of ZMTP a DEALER needs is small: a greeting, a READY command
 * each way, then length-prefixed frames.
 *
 * Messages wait until the peer's READY is in (libzmq takes a message
 * before its own READY is out as a protocol error).  Then those sent in
 * one turn of the loop are written together once it has run its
 * callbacks, and only what the socket does not take is queued in the
 * bufferevent: queued at once, each burst would cost two changes of what
 * the loop watches and one more turn.  zmtp_flush() writes what is left,
 * bounded, before the worker exits, so its last message (the result) is
 * never dropped.  The end of the connection is the end of the link: the
 * supervisor never reconnects a worker, and a ROUTER that closes it is
 * gone or refusing the worker.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "xmalloc.h"
#include "zmtp.h"

#define ZMTP_RETRY_MS	50	/* connect again after a refusal */
#define ZMTP_TRIES	100	/* connects tried, 5 s in all */
#define ZMTP_QUEUE_MAX	(32 * 1024 * 1024)	/* bytes waiting to go */
#define ZMTP_NAME_MAX	255	/* a property's or command's name */

enum zmtp_state {
	Z_GREETING,		/* waiting for the peer's greeting */
	Z_READY,		/* ... and for its READY command */
	Z_OPEN,
	Z_LOST
};

struct zmtp {
	struct bufferevent	*z_bev;
	struct evbuffer		*z_held;	/* not yet given to z_bev */
	struct event		*z_send;	/* writes z_held once open */
	struct event		*z_retry;
	struct sockaddr_un	 z_sun;
	size_t			 z_max;		/* largest frame taken */
	enum zmtp_state		 z_state;
	int			 z_tries;
	char			*z_why;		/* why it was lost */
	zmtp_msg_cb		 z_msg_cb;
	zmtp_lost_cb		 z_lost_cb;
	void			*z_arg;
};

static int	zmtp_try(struct zmtp *, char **);
static void	zmtp_retry_cb(int, short, void *);
static void	zmtp_send_cb(int, short, void *);
static void	zmtp_read_cb(struct bufferevent *, void *);
static void	zmtp_event_cb(struct bufferevent *, short, void *);
static int	zmtp_step(struct zmtp *, struct evbuffer *, char **);
static int	zmtp_frame(struct zmtp *, int, const unsigned char *, size_t,
		    char **);
static int	zmtp_command(struct zmtp *, const unsigned char *, size_t,
		    char **);
static void	zmtp_lose(struct zmtp *, char *);
static int	zmtp_flush_step(struct zmtp *, struct evbuffer *);
static void	zmtp_drop_cb(const char *, size_t, void *);

/*
 * The 64-byte greeting: signature, version 3.1, the NULL mechanism, not
 * a server.
 */
void
zmtp_greeting(unsigned char *g)
{
	memset(g, 0, ZMTP_GREETING_LEN);
	g[0] = 0xff;
	g[8] = 0x01;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 1;
	memcpy(g + 12, "NULL", 4);
}

/* Check the peer's greeting: ZMTP 3.x with the NULL mechanism. */
int
zmtp_greeting_check(const unsigned char *g, char **cause)
{
	static const unsigned char	null[20] = "NULL";

	if (g[0] != 0xff || (g[9] & 0x01) != 0x01) {
		*cause = xstrdup("not a ZMTP peer");
		return (-1);
	}
	if (g[10] < 3) {
		xasprintf(cause, "ZMTP version %d is too old", g[10]);
		return (-1);
	}
	if (memcmp(g + 12, null, sizeof(null)) != 0) {
		*cause = xstrdup("the peer wants a security mechanism other "
		    "than NULL");
		return (-1);
	}
	return (0);
}

/* Append one frame: flags, its length (1 or 8 bytes) and the body. */
void
zmtp_add_frame(struct evbuffer *out, int flags, const void *data,
    size_t len)
{
	unsigned char	h[9];
	uint64_t	n = len;
	int		i;

	if (len > UINT8_MAX) {
		h[0] = (unsigned char)(flags | ZMTP_LONG);
		for (i = 8; i >= 1; i--, n >>= 8)
			h[i] = (unsigned char)(n & 0xff);
		evbuffer_add(out, h, 9);
	} else {
		h[0] = (unsigned char)(flags & ~ZMTP_LONG);
		h[1] = (unsigned char)len;
		evbuffer_add(out, h, 2);
	}
	evbuffer_add(out, data, len);
}

/*
 * Read a frame's head from the have bytes at p: the head's length, 0 if
 * more bytes are needed, -1 if the flags are not ZMTP's.
 */
int
zmtp_frame_head(const unsigned char *p, size_t have, int *flags,
    uint64_t *len)
{
	int	i;

	if (have < 1)
		return (0);
	if ((p[0] & ~(ZMTP_MORE | ZMTP_LONG | ZMTP_COMMAND)) != 0)
		return (-1);
	*flags = p[0];
	if (!(p[0] & ZMTP_LONG)) {
		if (have < 2)
			return (0);
		*len = p[1];
		return (2);
	}
	if (have < 9)
		return (0);
	for (*len = 0, i = 1; i <= 8; i++)
		*len = *len << 8 | p[i];
	return (9);
}

/* Append one property of a READY command. */
static void
zmtp_add_prop(struct evbuffer *b, const char *name, const char *value)
{
	unsigned char	n = (unsigned char)strlen(name), v[4];
	uint32_t	len = (uint32_t)strlen(value);

	v[0] = (unsigned char)(len >> 24);
	v[1] = (unsigned char)(len >> 16);
	v[2] = (unsigned char)(len >> 8);
	v[3] = (unsigned char)len;
	evbuffer_add(b, &n, 1);
	evbuffer_add(b, name, n);
	evbuffer_add(b, v, 4);
	evbuffer_add(b, value, len);
}

/* Append the READY command of a socket of this type and routing id. */
void
zmtp_add_ready(struct evbuffer *out, const char *type, const char *id)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatal("%s", __func__);
	evbuffer_add(b, "\5READY", 6);
	zmtp_add_prop(b, "Socket-Type", type);
	if (id != NULL)
		zmtp_add_prop(b, "Identity", id);
	zmtp_add_frame(out, ZMTP_COMMAND, evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
}

/*
 * Check a READY command's body: its properties are well formed and its
 * Socket-Type is want.
 */
int
zmtp_ready_check(const unsigned char *p, size_t len, const char *want,
    char **cause)
{
	const unsigned char	*end = p + len, *name;
	uint32_t		 vlen;
	size_t			 nlen;
	int			 typed = 0;

	if (len < 6 || memcmp(p, "\5READY", 6) != 0) {
		*cause = xstrdup("the peer's first command is not READY");
		return (-1);
	}
	for (p += 6; p < end; p += vlen) {
		nlen = *p++;
		if ((size_t)(end - p) < nlen + 4)
			goto bad;
		name = p;
		p += nlen;
		vlen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		p += 4;
		if ((size_t)(end - p) < vlen)
			goto bad;
		if (nlen == 11 && strncasecmp((const char *)name,
		    "Socket-Type", 11) == 0) {
			if (vlen != strlen(want) || memcmp(p, want, vlen)) {
				xasprintf(cause, "the peer is a %.*s, not a "
				    "%s", (int)(vlen < 32 ? vlen : 32), p,
				    want);
				return (-1);
			}
			typed = 1;
		}
	}
	if (typed)
		return (0);
	*cause = xstrdup("the peer's READY has no Socket-Type");
	return (-1);
bad:
	*cause = xstrdup("the peer's READY is malformed");
	return (-1);
}

/*
 * Connect to endpoint (ipc://path) as a DEALER with routing id id,
 * taking frames of at most max bytes.  The greeting and READY are queued
 * at once, so messages can be sent before the connection is up; a
 * refused connect is tried again for a while.
 */
struct zmtp *
zmtp_connect(struct event_base *base, const char *endpoint, const char *id,
    size_t max, char **cause)
{
	struct zmtp	*z;
	unsigned char	 g[ZMTP_GREETING_LEN];
	const char	*path = endpoint + 6;

	if (strncmp(endpoint, "ipc://", 6) != 0 || *path == '\0') {
		*cause = xstrdup("not an ipc:// endpoint");
		return (NULL);
	}
	if (*id == '\0' || strlen(id) > ZMTP_NAME_MAX) {
		*cause = xstrdup("a routing id is 1 to 255 bytes");
		return (NULL);
	}
	z = xcalloc(1, sizeof(*z));
	z->z_sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(z->z_sun.sun_path)) {
		free(z);
		*cause = xstrdup("the ipc path is too long");
		return (NULL);
	}
	memcpy(z->z_sun.sun_path, path, strlen(path) + 1);
	z->z_max = max;
	z->z_bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	z->z_held = evbuffer_new();
	z->z_send = event_new(base, -1, 0, zmtp_send_cb, z);
	z->z_retry = evtimer_new(base, zmtp_retry_cb, z);
	if (z->z_bev == NULL || z->z_held == NULL || z->z_send == NULL ||
	    z->z_retry == NULL)
		fatalx("%s: out of memory", __func__);
	bufferevent_setcb(z->z_bev, zmtp_read_cb, NULL, zmtp_event_cb, z);
	zmtp_greeting(g);
	evbuffer_add(bufferevent_get_output(z->z_bev), g, sizeof(g));
	zmtp_add_ready(bufferevent_get_output(z->z_bev), "DEALER", id);
	if (zmtp_try(z, cause) == -1) {
		zmtp_free(&z);
		return (NULL);
	}
	return (z);
}

/*
 * One connect.  A ROUTER not bound yet or with its backlog full is
 * tried again after ZMTP_RETRY_MS; any other failure is final.
 */
static int
zmtp_try(struct zmtp *z, char **cause)
{
	struct timeval	tv = { 0, ZMTP_RETRY_MS * 1000 };
	int		fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&z->z_sun, sizeof(z->z_sun)) ==
	    0) {
		bufferevent_setfd(z->z_bev, fd);
		bufferevent_enable(z->z_bev, EV_READ | EV_WRITE);
		return (0);
	}
	close(fd);
	if ((errno == ECONNREFUSED || errno == EAGAIN || errno == ENOENT) &&
	    ++z->z_tries < ZMTP_TRIES) {
		evtimer_add(z->z_retry, &tv);
		return (0);
	}
fail:
	xasprintf(cause, "connect %s: %s", z->z_sun.sun_path,
	    strerror(errno));
	return (-1);
}

static void
zmtp_retry_cb(int fd, short what, void *arg)
{
	struct zmtp	*z = arg;
	char		*cause = NULL;

	if (zmtp_try(z, &cause) == -1)
		zmtp_lose(z, cause);
}

/*
 * Set the callbacks.  Messages are taken from the socket only once they
 * are set; a loss before that is told now.
 */
void
zmtp_set_callbacks(struct zmtp *z, zmtp_msg_cb msg, zmtp_lost_cb lost,
    void *arg)
{
	z->z_msg_cb = msg;
	z->z_lost_cb = lost;
	z->z_arg = arg;
	if (z->z_state == Z_LOST && z->z_lost_cb != NULL)
		z->z_lost_cb(z->z_why, z->z_arg);
	else if (evbuffer_get_length(bufferevent_get_input(z->z_bev)) > 0)
		zmtp_read_cb(z->z_bev, z);
}

/* Queue one single-frame message: -1 if the link is gone or stalled. */
int
zmtp_send(struct zmtp *z, const void *data, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(z->z_bev);

	if (z->z_state == Z_LOST) {
		errno = EPIPE;
		return (-1);
	}
	if (evbuffer_get_length(out) + evbuffer_get_length(z->z_held) + len >
	    ZMTP_QUEUE_MAX) {
		errno = ENOBUFS;
		return (-1);
	}
	zmtp_add_frame(z->z_held, 0, data, len);
	if (z->z_state == Z_OPEN)
		event_active(z->z_send, EV_TIMEOUT, 1);
	return (0);
}

/*
 * Write the messages of this turn of the loop, straight to the socket if
 * nothing is queued before them; the bufferevent gets the rest, and any
 * error with it.
 */
static void
zmtp_send_cb(int fd, short what, void *arg)
{
	struct zmtp	*z = arg;
	struct evbuffer	*out = bufferevent_get_output(z->z_bev);

	if (z->z_state != Z_OPEN)
		return;
	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(z->z_held, bufferevent_getfd(z->z_bev));
	if (evbuffer_get_length(z->z_held) > 0)
		evbuffer_add_buffer(out, z->z_held);
}

/*
 * Write what is queued, waiting at most ms for the socket to take it
 * (and for the peer's READY, if it is not in yet).  Messages that come
 * meanwhile are dropped: this is the link's end.
 */
int
zmtp_flush(struct zmtp *z, int ms)
{
	struct evbuffer	*out = bufferevent_get_output(z->z_bev);
	struct pollfd	 pfd = { .fd = bufferevent_getfd(z->z_bev) };
	int64_t		 end = clock_mono_ms() + ms, left;
	int		 r;

	z->z_msg_cb = zmtp_drop_cb;
	z->z_lost_cb = NULL;
	while ((r = zmtp_flush_step(z, out)) == 1) {
		if ((left = end - clock_mono_ms()) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		pfd.events = evbuffer_get_length(out) > 0 ? POLLOUT : POLLIN;
		(void)poll(&pfd, 1, (int)left);
	}
	return (r);
}

/*
 * One turn of zmtp_flush: 0 when all is out, 1 to wait, -1 if lost.  The
 * bufferevent keeps its buffers' socket ends frozen for itself; they are
 * thawed for the moment this writes or reads.
 */
static int
zmtp_flush_step(struct zmtp *z, struct evbuffer *out)
{
	struct evbuffer	*in = bufferevent_get_input(z->z_bev);
	int		 fd = bufferevent_getfd(z->z_bev), n;

	if (z->z_state == Z_OPEN)
		evbuffer_add_buffer(out, z->z_held);
	if (evbuffer_get_length(out) + evbuffer_get_length(z->z_held) == 0)
		return (0);
	if (z->z_state == Z_LOST || fd == -1) {
		errno = ENOTCONN;
		return (-1);
	}
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, fd);
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		return (-1);
	if (z->z_state != Z_OPEN && evbuffer_get_length(out) == 0) {
		evbuffer_unfreeze(in, 0);
		n = evbuffer_read(in, fd, -1);
		evbuffer_freeze(in, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			errno = n == 0 ? ECONNRESET : errno;
			return (-1);
		}
		zmtp_read_cb(z->z_bev, z);
	}
	return (1);
}

static void
zmtp_drop_cb(const char *data, size_t len, void *arg)
{
}

void
zmtp_free(struct zmtp **zp)
{
	struct zmtp	*z = *zp;

	if (z == NULL)
		return;
	if (z->z_bev != NULL)
		bufferevent_free(z->z_bev);
	if (z->z_held != NULL)
		evbuffer_free(z->z_held);
	if (z->z_send != NULL)
		event_free(z->z_send);
	if (z->z_retry != NULL)
		event_free(z->z_retry);
	free(z->z_why);
	free(z);
	*zp = NULL;
}

/* Take every whole frame there is, while someone is listening. */
static void
zmtp_read_cb(struct bufferevent *bev, void *arg)
{
	struct zmtp	*z = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*why = NULL;
	int		 r;

	do {
		if (z->z_state == Z_LOST || z->z_msg_cb == NULL)
			return;
		r = zmtp_step(z, in, &why);
	} while (r == 1);
	if (r == -1)
		zmtp_lose(z, why);
}

static void
zmtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct zmtp	*z = arg;
	char		*why;

	if (what & BEV_EVENT_EOF)
		why = xstrdup("the supervisor closed the connection");
	else
		xasprintf(&why, "the connection failed: %s", strerror(errno));
	zmtp_lose(z, why);
}

/*
 * Take the greeting or one frame off the input: 1 when something was
 * taken, 0 when more bytes are needed, -1 (with why) on a protocol error.
 */
static int
zmtp_step(struct zmtp *z, struct evbuffer *in, char **why)
{
	const unsigned char	*p;
	size_t			 have = evbuffer_get_length(in);
	uint64_t		 len;
	int			 flags, head, r;

	if (z->z_state == Z_GREETING) {
		if (have < ZMTP_GREETING_LEN)
			return (0);
		p = evbuffer_pullup(in, ZMTP_GREETING_LEN);
		if (zmtp_greeting_check(p, why) == -1)
			return (-1);
		evbuffer_drain(in, ZMTP_GREETING_LEN);
		z->z_state = Z_READY;
		return (1);
	}
	p = evbuffer_pullup(in, have < 9 ? (ssize_t)have : 9);
	if ((head = zmtp_frame_head(p, have, &flags, &len)) <= 0) {
		if (head == -1)
			xasprintf(why, "bad frame flags 0x%02x", p[0]);
		return (head);
	}
	if (len > z->z_max) {
		xasprintf(why, "a %llu-byte frame is over the limit",
		    (unsigned long long)len);
		return (-1);
	}
	if (have - (size_t)head < len)
		return (0);
	p = evbuffer_pullup(in, head + (ssize_t)len);
	r = zmtp_frame(z, flags, p + head, (size_t)len, why);
	evbuffer_drain(in, head + len);
	return (r == -1 ? -1 : 1);
}

/*
 * One frame.  The first must be the peer's READY; then a message's last
 * frame is the message (a ROUTER's envelope frames come first, with
 * MORE).
 */
static int
zmtp_frame(struct zmtp *z, int flags, const unsigned char *body, size_t len,
    char **why)
{
	if (z->z_state == Z_READY) {
		if (!(flags & ZMTP_COMMAND)) {
			*why = xstrdup("a message before the peer's READY");
			return (-1);
		}
		if (zmtp_ready_check(body, len, "ROUTER", why) == -1)
			return (-1);
		z->z_state = Z_OPEN;
		evbuffer_add_buffer(bufferevent_get_output(z->z_bev),
		    z->z_held);
		return (0);
	}
	if (flags & ZMTP_COMMAND)
		return (zmtp_command(z, body, len, why));
	if (!(flags & ZMTP_MORE))
		z->z_msg_cb((const char *)body, len, z->z_arg);
	return (0);
}

/* A command once open: PING is answered, ERROR ends the link. */
static int
zmtp_command(struct zmtp *z, const unsigned char *p, size_t len, char **why)
{
	unsigned char	pong[5 + 16];	/* name, and at most 16 of context */
	size_t		n = len > 0 ? p[0] : 0, rlen;

	if (len < 1 + n) {
		*why = xstrdup("a malformed command");
		return (-1);
	}
	if (n == 4 && memcmp(p + 1, "PING", 4) == 0 && len >= 7) {
		rlen = len - 7 > 16 ? 16 : len - 7;
		memcpy(pong, "\4PONG", 5);
		memcpy(pong + 5, p + 7, rlen);
		zmtp_add_frame(bufferevent_get_output(z->z_bev), ZMTP_COMMAND,
		    pong, 5 + rlen);
	} else if (n == 5 && memcmp(p + 1, "ERROR", 5) == 0) {
		rlen = len > 7 ? p[6] : 0;
		if (rlen > len - 7)
			rlen = len - 7;
		xasprintf(why, "the supervisor refused the link: %.*s",
		    (int)rlen, rlen > 0 ? (const char *)p + 7 : "");
		return (-1);
	}
	return (0);
}

/* The link is gone: stop reading and writing, and say why once. */
static void
zmtp_lose(struct zmtp *z, char *why)
{
	if (z->z_state == Z_LOST) {
		free(why);
		return;
	}
	z->z_state = Z_LOST;
	z->z_why = why;
	bufferevent_disable(z->z_bev, EV_READ | EV_WRITE);
	if (z->z_lost_cb != NULL)
		z->z_lost_cb(z->z_why, z->z_arg);
}
