/*
 * The worker's link to whoever runs it: the supervisor over ZeroMQ, or,
 * in standalone mode, standard output as JSON lines.  Both carry the same
 * proto.h messages, so the pipeline never knows which it is talking to.
 * Every message passes through redact() on its way out.
 */
#ifndef SKILLBOX_WORKER_LINK_H
#define SKILLBOX_WORKER_LINK_H

#include <json-c/json.h>

#include "proto.h"

struct event_base;
struct link;

/* Called for each message from the supervisor (ZeroMQ mode only). */
typedef void	(*link_msg_cb)(struct proto_msg *, void *);
/* Called once when the supervisor has gone silent for too long. */
typedef void	(*link_lost_cb)(void *);

struct link	*link_open_stdio(struct event_base *, int);
struct link	*link_open_zmq(struct event_base *, const char *,
		    const char *, char **);
void		 link_close(struct link **);
void		 link_set_callbacks(struct link *, link_msg_cb, link_lost_cb,
		    void *);
struct json_object *link_msg(struct link *, enum proto_type);
int		 link_send(struct link *, struct json_object *);
int		 link_is_zmq(const struct link *);

#endif /* SKILLBOX_WORKER_LINK_H */
