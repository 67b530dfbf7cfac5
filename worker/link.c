/*
 * The worker's link: ZeroMQ DEALER to the supervisor (hello first,
 * heartbeats both ways, the supervisor declared lost after PROTO_LIVENESS
 * silent intervals) or JSON lines on a file descriptor.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <zmq.h>

#include "buf.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"
#include "zev.h"

struct link {
	struct event_base	*l_base;
	int			 l_fd;		/* stdio mode: where lines go */
	void			*l_ctx;		/* ZeroMQ mode from here on */
	void			*l_sock;
	struct zev		*l_zev;
	struct event		*l_beat;	/* heartbeat timer */
	int			 l_silent;	/* intervals without a message */
	int64_t			 l_seq;
	link_msg_cb		 l_msg_cb;
	link_lost_cb		 l_lost_cb;
	void			*l_arg;
};

static void	link_beat_cb(int, short, void *);
static void	link_recv_cb(struct zev *, void *);

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
	int			 zero = 0;
	int64_t			 maxsz = PROTO_MAX_MSG + 1024;

	l = xcalloc(1, sizeof(*l));
	l->l_base = base;
	l->l_fd = -1;
	if ((l->l_ctx = zmq_ctx_new()) == NULL ||
	    (l->l_sock = zmq_socket(l->l_ctx, ZMQ_DEALER)) == NULL)
		goto fail;
	if (zmq_setsockopt(l->l_sock, ZMQ_ROUTING_ID, job_id,
	    strlen(job_id)) == -1 ||
	    zmq_setsockopt(l->l_sock, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(l->l_sock, ZMQ_MAXMSGSIZE, &maxsz,
	    sizeof(maxsz)) == -1 ||
	    zmq_connect(l->l_sock, endpoint) == -1)
		goto fail;
	l->l_zev = zev_new(base, l->l_sock, link_recv_cb, l);
	l->l_beat = event_new(base, -1, EV_PERSIST, link_beat_cb, l);
	if (l->l_zev == NULL || l->l_beat == NULL ||
	    event_add(l->l_beat, &tv) == -1)
		goto fail;
	hello = link_msg(l, MSG_HELLO);
	json_add_int(hello, "pid", getpid());
	json_add_string(hello, "build", PACKAGE_VERSION);
	if (link_send(l, hello) == -1)
		goto fail;
	return (l);
fail:
	xasprintf(cause, "cannot connect to %s: %s", endpoint,
	    zmq_strerror(zmq_errno()));
	link_close(&l);
	return (NULL);
}

void
link_close(struct link **lp)
{
	struct link	*l = *lp;

	if (l == NULL)
		return;
	if (l->l_beat != NULL)
		event_free(l->l_beat);
	zev_free(&l->l_zev);
	if (l->l_sock != NULL)
		zmq_close(l->l_sock);
	if (l->l_ctx != NULL)
		zmq_ctx_term(l->l_ctx);
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
	if (l->l_zev != NULL)
		zev_check(l->l_zev);
}

int
link_is_zmq(const struct link *l)
{
	return (l->l_sock != NULL);
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
	if (l->l_sock == NULL) {
		clean[len++] = '\n';	/* replaces the NUL redact_mem added */
		r = write_all(l->l_fd, clean, len);
	} else
		r = zev_send(l->l_zev, NULL, 0, clean, len);
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

	(void)link_send(l, link_msg(l, MSG_HEARTBEAT));
	if (++l->l_silent >= PROTO_LIVENESS && l->l_lost_cb != NULL) {
		log_warnx("supervisor silent for %d heartbeats", l->l_silent);
		l->l_lost_cb(l->l_arg);
		l->l_lost_cb = NULL;
	}
}

/* Deliver each decoded message; drop (and log) malformed ones. */
static void
link_recv_cb(struct zev *z, void *arg)
{
	struct link		*l = arg;
	struct zev_msg		 m;
	struct proto_msg	 pm;
	char			*cause = NULL;

	if (l->l_msg_cb == NULL)
		return;
	while (zev_recv(z, &m) > 0) {
		l->l_silent = 0;
		if (proto_decode(zmq_msg_data(&m.zm_parts[m.zm_nparts - 1]),
		    zmq_msg_size(&m.zm_parts[m.zm_nparts - 1]), &pm,
		    &cause) == -1) {
			log_warnx("bad message from supervisor: %s", cause);
			free(cause);
			cause = NULL;
		} else {
			l->l_msg_cb(&pm, l->l_arg);
			proto_msg_clear(&pm);
		}
		zev_msg_close(&m);
		if (l->l_msg_cb == NULL)
			break;
	}
}
