/* The event base of skillboxd and of the worker. */
#ifndef SKILLBOX_EVBASE_H
#define SKILLBOX_EVBASE_H

struct event_base;

/*
 * EVBASE_CHANGELIST batches epoll's changes until the loop waits: only
 * safe when no watched descriptor shares its file with another one
 * (libevent's warning about dup).  EVBASE_NO_EPOLL: something to watch
 * is a regular file, which epoll refuses.
 */
#define EVBASE_CHANGELIST	0x1
#define EVBASE_NO_EPOLL		0x2

struct event_base	*evbase_new(int);

#endif /* SKILLBOX_EVBASE_H */
