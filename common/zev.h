/*
 * A ZeroMQ socket driven by libevent.  ZMQ_FD is edge-triggered: zev
 * watches it and calls back whenever input may be pending, including
 * after every send and every receive that found a message, so that no
 * message is left waiting for an edge that will not come.  The callback
 * receives with zev_recv until it returns 0 (or is called again on the
 * next pass).  The fd itself is never read, written or closed.
 */
#ifndef SKILLBOX_ZEV_H
#define SKILLBOX_ZEV_H

#include <stddef.h>

#include <zmq.h>

struct event_base;
struct zev;

#define ZEV_MAXPARTS	4

/* One received multipart message. */
struct zev_msg {
	zmq_msg_t	zm_parts[ZEV_MAXPARTS];
	int		zm_nparts;
};

typedef void	(*zev_cb)(struct zev *, void *);

struct zev	*zev_new(struct event_base *, void *, zev_cb, void *);
void		 zev_free(struct zev **);
void		*zev_socket(struct zev *);
int		 zev_recv(struct zev *, struct zev_msg *);
int		 zev_send(struct zev *, const void *, size_t, const void *,
		     size_t);
void		 zev_msg_close(struct zev_msg *);

#endif /* SKILLBOX_ZEV_H */
