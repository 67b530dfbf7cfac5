/*
 * The worker's end of the ZeroMQ link: a DEALER that speaks ZMTP 3.1
 * (rfc.zeromq.org/spec/37, NULL mechanism) itself, on the worker's own
 * libevent loop, over its one ipc connection to skillboxd's ROUTER.
 */
#ifndef SKILLBOX_WORKER_ZMTP_H
#define SKILLBOX_WORKER_ZMTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct zmtp;

#define ZMTP_GREETING_LEN	64
#define ZMTP_MORE		0x01	/* frame flags */
#define ZMTP_LONG		0x02
#define ZMTP_COMMAND		0x04

/* A whole message: its last frame (the ROUTER's envelope is not kept). */
typedef void	(*zmtp_msg_cb)(const char *, size_t, void *);
/* The connection is gone, or never came: why. */
typedef void	(*zmtp_lost_cb)(const char *, void *);

struct zmtp	*zmtp_connect(struct event_base *, const char *, const char *,
		    size_t, char **);
void		 zmtp_set_callbacks(struct zmtp *, zmtp_msg_cb, zmtp_lost_cb,
		    void *);
int		 zmtp_send(struct zmtp *, const void *, size_t);
int		 zmtp_flush(struct zmtp *, int);
void		 zmtp_free(struct zmtp **);

/* The wire format, shared with the tests. */
void		 zmtp_greeting(unsigned char *);
int		 zmtp_greeting_check(const unsigned char *, char **);
void		 zmtp_add_frame(struct evbuffer *, int, const void *, size_t);
int		 zmtp_frame_head(const unsigned char *, size_t, int *,
		    uint64_t *);
void		 zmtp_add_ready(struct evbuffer *, const char *, const char *);
int		 zmtp_ready_check(const unsigned char *, size_t, const char *,
		    char **);

#endif /* SKILLBOX_WORKER_ZMTP_H */
