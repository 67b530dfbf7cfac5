/*
 * The events a stream keeps for Last-Event-ID replay.  Each stream's ring
 * holds at most HTTP_RING_EVENTS events and HTTP_RING_BYTES bytes; all
 * rings together hold at most HTTP_RINGS_MAX bytes, however many sessions
 * and streams there are.  Past that bound the rings written to least
 * recently give up their oldest events first: a client that comes back
 * late to an idle stream may find less to replay, and memory stays
 * bounded.
 */
#include "config.h"

#include <stdlib.h>

#include "http_int.h"
#include "xmalloc.h"

static TAILQ_HEAD(, http_ring)	rings_lru = TAILQ_HEAD_INITIALIZER(rings_lru);
static size_t			rings_bytes;
static size_t			rings_max = HTTP_RINGS_MAX;

/* Drop the ring's oldest event. */
static void
ring_drop(struct http_ring *r)
{
	struct http_event	*ev = &r->r_ev[r->r_first];

	r->r_bytes -= ev->ev_len;
	rings_bytes -= ev->ev_len;
	free(ev->ev_data);
	ev->ev_data = NULL;
	r->r_first = (r->r_first + 1) % HTTP_RING_EVENTS;
	if (--r->r_count == 0 && r->r_listed) {
		TAILQ_REMOVE(&rings_lru, r, r_lru);
		r->r_listed = 0;
	}
}

/* Make room for len more bytes in r, within its bounds and the total. */
static void
ring_room(struct http_ring *r, size_t len)
{
	struct http_ring	*old;

	while (r->r_count > 0 && (r->r_count == HTTP_RING_EVENTS ||
	    r->r_bytes + len > HTTP_RING_BYTES))
		ring_drop(r);
	while (rings_bytes + len > rings_max &&
	    (old = TAILQ_FIRST(&rings_lru)) != NULL)
		ring_drop(old);
}

/* Keep a copy of an event as number seq; returns it. */
const struct http_event *
http_ring_add(struct http_ring *r, uint64_t seq, const char *data,
    size_t len)
{
	struct http_event	*ev;

	if (r->r_ev == NULL)
		r->r_ev = xcalloc(HTTP_RING_EVENTS, sizeof(*r->r_ev));
	ring_room(r, len);
	ev = &r->r_ev[(r->r_first + r->r_count) % HTTP_RING_EVENTS];
	ev->ev_seq = seq;
	ev->ev_data = xmemdup(data, len);
	ev->ev_len = len;
	r->r_count++;
	r->r_bytes += len;
	rings_bytes += len;
	if (r->r_listed)
		TAILQ_REMOVE(&rings_lru, r, r_lru);
	TAILQ_INSERT_TAIL(&rings_lru, r, r_lru);
	r->r_listed = 1;
	return (ev);
}

size_t
http_ring_count(const struct http_ring *r)
{
	return (r->r_count);
}

/* The i-th event kept, oldest first. */
const struct http_event *
http_ring_get(const struct http_ring *r, size_t i)
{
	return (&r->r_ev[(r->r_first + i) % HTTP_RING_EVENTS]);
}

void
http_ring_free(struct http_ring *r)
{
	while (r->r_count > 0)
		ring_drop(r);
	free(r->r_ev);
	r->r_ev = NULL;
	r->r_first = 0;
}

/* What all rings hold now, in bytes. */
size_t
http_rings_bytes(void)
{
	return (rings_bytes);
}

/* The bound on all rings together (HTTP_RINGS_MAX unless set). */
void
http_rings_set_max(size_t max)
{
	rings_max = max;
}
