/*
 * The worker's link: a ZeroMQ DEALER to the supervisor (zmtp.c; hello
 * first, heartbeats both ways, the supervisor declared lost when the
 * connection ends or after PROTO_LIVENESS silent intervals) or JSON lines
 * on a file descriptor.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"
#include "zmtp.h"

#define LINK_FLUSH_MS	2000	/* for the last messages to go out */

struct link {
	struct event_base	*l_base;
	int			 l_fd;		/* stdio mode: where lines go */
	struct zmtp		*l_z;		/* ZeroMQ mode from here on */
	struct event		*l_beat;	/* heartbeat timer */
	int			 l_silent;	/* intervals without a message */
	int64_t			 l_seq;
	link_msg_cb		 l_msg_cb;
	link_lost_cb		 l_lost_cb;
	void			*l_arg;
};

static void	link_beat_cb(int, short, void *);
static void	link_recv_cb(const char *, size_t, void *);
static void	link_lost(struct link *, const char *);
static void	link_gone_cb(const char *, void *);

/* Standalone mode: messages are printed, one JSON object per line. */
struct link *
link_open_stdio(struct event_base *base, int fd)
{
	struct link	*l;

	l = xcalloc(1, sizeof(*l));
	l->l_base = base;
	l->l_fd = fd;
	return (l);
}

/*
 * ZeroMQ mode: connect a DEALER whose routing id is the job id, say hello
 * and start beating.  Nothing is received until callbacks are set.
 */
struct link *
link_open_zmq(struct event_base *base, const char *endpoint,
    const char *job_id, char **cause)
{
	struct link		*l;
	struct json_object	*hello;
	struct timeval		 tv = { PROTO_HEARTBEAT_MS / 1000,
				    (PROTO_HEARTBEAT_MS % 1000) * 1000 };
	char			*why = NULL;

	l = xcalloc(1, sizeof(*l));
	l->l_base = base;
	l->l_fd = -1;
	if ((l->l_z = zmtp_connect(base, endpoint, job_id, PROTO_MAX_MSG +
	    1024, &why)) == NULL) {
		xasprintf(cause, "cannot connect to %s: %s", endpoint, why);
		free(why);
		free(l);
		return (NULL);
	}
	if ((l->l_beat = event_new(base, -1, EV_PERSIST, link_beat_cb,
	    l)) == NULL || event_add(l->l_beat, &tv) == -1)
		fatalx("%s: cannot start the heartbeat", __func__);
	hello = link_msg(l, MSG_HELLO);
	json_add_int(hello, "pid", getpid());
	json_add_string(hello, "build", PACKAGE_VERSION);
	(void)link_send(l, hello);
	return (l);
}

void
link_close(struct link **lp)
{
	struct link	*l = *lp;

	if (l == NULL)
		return;
	if (l->l_beat != NULL)
		event_free(l->l_beat);
	if (l->l_z != NULL && zmtp_flush(l->l_z, LINK_FLUSH_MS) == -1)
		log_warn("%s: the last messages were not sent", __func__);
	zmtp_free(&l->l_z);
	free(l);
	*lp = NULL;
}

void
link_set_callbacks(struct link *l, link_msg_cb msg, link_lost_cb lost,
    void *arg)
{
	l->l_msg_cb = msg;
	l->l_lost_cb = lost;
	l->l_arg = arg;
	if (l->l_z != NULL)
		zmtp_set_callbacks(l->l_z, link_recv_cb, link_gone_cb, l);
}

int
link_is_zmq(const struct link *l)
{
	return (l->l_z != NULL);
}

/* A new message of type t with the next sequence number. */
struct json_object *
link_msg(struct link *l, enum proto_type t)
{
	return (proto_new(t, ++l->l_seq));
}

/*
 * Send a message, redacted, and free it.  A message too large for the
 * protocol is a bug in the caller and is dropped with a warning.
 */
int
link_send(struct link *l, struct json_object *msg)
{
	struct buf	 b;
	char		*clean;
	size_t		 len;
	int		 r = -1;

	buf_init(&b, PROTO_MAX_MSG);
	if (proto_encode(msg, &b) == -1) {
		log_warnx("%s: %s message too large, dropped", __func__,
		    json_peek_string(msg, "type"));
		goto out;
	}
	clean = redact_mem(buf_str(&b), buf_len(&b), &len);
	if (l->l_z == NULL) {
		clean[len++] = '\n';	/* replaces the NUL redact_mem added */
		r = write_all(l->l_fd, clean, len);
	} else
		r = zmtp_send(l->l_z, clean, len);
	if (r == -1)
		log_warn("%s: %s", __func__, json_peek_string(msg, "type"));
	free(clean);
out:
	buf_free(&b);
	json_object_put(msg);
	return (r);
}

/* Beat, and count how long the supervisor has been silent. */
static void
link_beat_cb(int fd, short what, void *arg)
{
	struct link	*l = arg;
	char		*why;

	(void)link_send(l, link_msg(l, MSG_HEARTBEAT));
	if (++l->l_silent >= PROTO_LIVENESS) {
		xasprintf(&why, "supervisor silent for %d heartbeats",
		    l->l_silent);
		link_lost(l, why);
		free(why);
	}
}

/* The supervisor is gone: no more beats, and the worker hears it once. */
static void
link_lost(struct link *l, const char *why)
{
	link_lost_cb	cb = l->l_lost_cb;

	if (cb == NULL)
		return;
	log_warnx("%s", why);
	event_del(l->l_beat);
	l->l_lost_cb = NULL;
	cb(l->l_arg);
}

static void
link_gone_cb(const char *why, void *arg)
{
	link_lost(arg, why);
}

/* Deliver a decoded message; drop (and log) a malformed one. */
static void
link_recv_cb(const char *data, size_t len, void *arg)
{
	struct link		*l = arg;
	struct proto_msg	 pm;
	char			*cause = NULL;

	l->l_silent = 0;
	if (l->l_msg_cb == NULL)
		return;
	if (proto_decode(data, len, &pm, &cause) == -1) {
		log_warnx("bad message from supervisor: %s", cause);
		free(cause);
		return;
	}
	l->l_msg_cb(&pm, l->l_arg);
	proto_msg_clear(&pm);
}
