/*
 * The ZeroMQ <-> libevent bridge.
 *
 * ZMQ_FD becomes readable when commands reach the socket's mailbox, and
 * only libzmq's processing of those commands rearms it: a receive that
 * fails with EAGAIN processes them all, while a send, or a receive that
 * takes a message, may process some.  So the socket counts as drained only
 * while the last thing done with it was a receive that found nothing;
 * whenever it is not, the watcher is made to fire on the next pass
 * (event_active, no system call) and the callback receives until it finds
 * nothing.  Asking ZMQ_EVENTS after every message instead cost a poll()
 * and a getpid() each time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "log.h"
#include "xmalloc.h"
#include "zev.h"

struct zev {
	void		*z_sock;
	struct event	*z_ev;
	zev_cb		 z_cb;
	void		*z_arg;
	int		 z_drained;	/* the last receive found nothing */
	int		 z_in_cb;
};

static void	zev_ready_cb(int, short, void *);
static void	zev_undrained(struct zev *);

/* Watch sock on base; cb runs whenever a message may be received. */
struct zev *
zev_new(struct event_base *base, void *sock, zev_cb cb, void *arg)
{
	struct zev	*z;
	int		 fd;
	size_t		 len = sizeof(fd);

	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) == -1)
		return (NULL);
	z = xcalloc(1, sizeof(*z));
	z->z_sock = sock;
	z->z_cb = cb;
	z->z_arg = arg;
	z->z_ev = event_new(base, fd, EV_READ | EV_PERSIST, zev_ready_cb, z);
	if (z->z_ev == NULL || event_add(z->z_ev, NULL) == -1)
		fatalx("%s: cannot watch the ZeroMQ fd", __func__);
	/* Messages may have queued before the watch began. */
	zev_undrained(z);
	return (z);
}

/* Stop watching; the socket stays open and belongs to the caller. */
void
zev_free(struct zev **zp)
{
	struct zev	*z = *zp;

	if (z == NULL)
		return;
	event_free(z->z_ev);
	free(z);
	*zp = NULL;
}

void *
zev_socket(struct zev *z)
{
	return (z->z_sock);
}

/*
 * Input may be pending with no edge to come: have the callback run on the
 * next pass, or, from inside it, once it returns.
 */
static void
zev_undrained(struct zev *z)
{
	z->z_drained = 0;
	if (!z->z_in_cb)
		event_active(z->z_ev, EV_READ, 0);
}

static void
zev_ready_cb(int fd, short what, void *arg)
{
	struct zev	*z = arg;

	z->z_in_cb = 1;
	z->z_cb(z, z->z_arg);
	z->z_in_cb = 0;
	if (!z->z_drained)	/* it stopped early, or sent since */
		event_active(z->z_ev, EV_READ, 0);
}

/*
 * Receive one whole message without blocking.  Returns the number of
 * parts, 0 if nothing is pending, -1 on error.  A message of more than
 * ZEV_MAXPARTS parts is drained and refused with EPROTO.  Any other error
 * is the socket's end, and counts as drained: nothing will come.
 */
int
zev_recv(struct zev *z, struct zev_msg *m)
{
	int	more, n = 0, r = -1, extra = 0;
	size_t	len = sizeof(more);

	memset(m, 0, sizeof(*m));
	do {
		if (n == ZEV_MAXPARTS) {
			extra = 1;
			zmq_msg_close(&m->zm_parts[--n]);
		}
		zmq_msg_init(&m->zm_parts[n]);
		if (zmq_msg_recv(&m->zm_parts[n], z->z_sock,
		    ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&m->zm_parts[n]);
			if (errno == EAGAIN && n == 0)
				r = 0;
			goto out;
		}
		n++;
		if (zmq_getsockopt(z->z_sock, ZMQ_RCVMORE, &more, &len) == -1)
			goto out;
	} while (more);
	m->zm_nparts = n;
	r = n;
	if (extra) {
		errno = EPROTO;
		r = -1;
	}
out:
	if (r <= 0) {
		while (n > 0)
			zmq_msg_close(&m->zm_parts[--n]);
		m->zm_nparts = 0;
	}
	if (r > 0 || extra)
		zev_undrained(z);
	else
		z->z_drained = 1;
	return (r);
}

void
zev_msg_close(struct zev_msg *m)
{
	while (m->zm_nparts > 0)
		zmq_msg_close(&m->zm_parts[--m->zm_nparts]);
}

/*
 * Send a message without blocking: an optional first part (a routing id
 * on a ROUTER, NULL on a DEALER) and the payload.  -1 with errno on
 * failure (EAGAIN at the high-water mark, EHOSTUNREACH for a gone peer
 * with ZMQ_ROUTER_MANDATORY).
 */
int
zev_send(struct zev *z, const void *id, size_t idlen, const void *data,
    size_t len)
{
	int	r = 0;

	if (id != NULL && zmq_send(z->z_sock, id, idlen,
	    ZMQ_DONTWAIT | ZMQ_SNDMORE) == -1)
		r = -1;
	if (r == 0 && zmq_send(z->z_sock, data, len, ZMQ_DONTWAIT) == -1)
		r = -1;
	zev_undrained(z);	/* the send may have taken the mailbox's news */
	return (r);
}
