/*
 * A framed link over a stream socket: Connect envelopes (common/envelope.h)
 * carried by a libevent bufferevent.  e2b-local and the agent inside each
 * sandbox talk over these links, one operation per connection; see
 * agent.h for what the frames mean.
 *
 * Callbacks may free the link (fconn_free) from inside; the link notices
 * and finishes the free once the callback returns.
 */
#ifndef E2BL_FRAME_H
#define E2BL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "envelope.h"

#define FCONN_HIGHWATER	(1024 * 1024)	/* "slow down" above this backlog */
#define FCONN_LOWWATER	(256 * 1024)	/* the drained callback fires below */

struct fconn;
struct bufferevent;
struct evbuffer;

/* One complete frame arrived. */
typedef void	(*fconn_frame_cb)(struct fconn *, uint8_t, const char *, size_t,
		    void *);
/* The link closed: cause is NULL after a clean end, else what went wrong. */
typedef void	(*fconn_closed_cb)(struct fconn *, const char *, void *);
/* The output backlog fell below FCONN_LOWWATER. */
typedef void	(*fconn_drained_cb)(struct fconn *, void *);

struct fconn {
	struct bufferevent	*fc_bev;
	struct env_decoder	 fc_dec;
	fconn_frame_cb		 fc_frame;
	fconn_closed_cb		 fc_closed;
	fconn_drained_cb	 fc_drained;
	void			*fc_arg;
	int			 fc_busy;	/* inside a callback */
	int			 fc_dead;	/* freed while busy */
	int			 fc_flushing;	/* close once output is sent */
	int			 fc_paused;	/* reading stopped */
	int			 fc_eof;	/* peer closed; input remains */
};

struct fconn	*fconn_new(struct event_base *, evutil_socket_t, size_t,
		    fconn_frame_cb, fconn_closed_cb, void *);
struct fconn	*fconn_connect(struct event_base *, const char *, size_t,
		    fconn_frame_cb, fconn_closed_cb, void *, char **);
void		 fconn_free(struct fconn **);
void		 fconn_set_drained(struct fconn *, fconn_drained_cb);
int		 fconn_send(struct fconn *, uint8_t, const void *, size_t);
int		 fconn_send_json(struct fconn *, uint8_t, struct json_object *);
int		 fconn_send_buffer(struct fconn *, uint8_t, struct evbuffer *,
		    size_t);
size_t		 fconn_pending(const struct fconn *);
void		 fconn_pause(struct fconn *, int);
void		 fconn_close_flush(struct fconn *);
struct json_object *frame_error(const char *, int, const char *);

#endif /* E2BL_FRAME_H */
