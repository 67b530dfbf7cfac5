/*
 * The HTTP host's connections.  evhttp makes each connection's
 * bufferevent through peers_bev, which keeps a reference to it and
 * watches its input buffer: so a request must arrive whole within the
 * read timeout from its first byte (a client that sends one byte a
 * second is cut off, however long evhttp's idle timeout is), and the
 * connections can be counted and bounded.  Cutting off is a shutdown(2)
 * of the socket: evhttp then sees the end of input and frees the
 * connection itself.  When evhttp has let go of a bufferevent (its
 * callbacks are cleared), a sweep drops our reference, which closes the
 * socket.  While we hold it, a descriptor names one connection only.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "clock.h"
#include "http_int.h"
#include "log.h"
#include "xmalloc.h"

#define PEERS_SWEEP_MS	100

struct http_peer {
	struct bufferevent	*p_bev;
	int			 p_fd;		/* -1 until its first read */
	int64_t			 p_since;	/* a request began, or 0 */
	int			 p_over;	/* beyond the limit */
	int			 p_cut;
	LIST_ENTRY(http_peer)	 p_entry;
};

static struct {
	int64_t			 timeout_ms;
	size_t			 max;
	size_t			 n;
	struct http_peer	**byfd;
	size_t			 nbyfd;
	struct event		*sweep;
	LIST_HEAD(, http_peer)	 all;
} peers;

static void	peers_sweep_cb(int, short, void *);

/* Requests must arrive within timeout_s; at most max connections. */
void
peers_init(struct event_base *base, int timeout_s, size_t max)
{
	struct timeval	tv = { 0, PEERS_SWEEP_MS * 1000 };

	peers.timeout_ms = (int64_t)timeout_s * 1000;
	peers.max = max;
	peers.n = 0;
	LIST_INIT(&peers.all);
	peers.sweep = event_new(base, -1, EV_PERSIST, peers_sweep_cb, NULL);
	evtimer_add(peers.sweep, &tv);
}

/* Forget a peer: its socket closes once evhttp has let go too. */
static void
peer_free(struct http_peer *p)
{
	if (p->p_fd >= 0 && (size_t)p->p_fd < peers.nbyfd &&
	    peers.byfd[p->p_fd] == p)
		peers.byfd[p->p_fd] = NULL;
	LIST_REMOVE(p, p_entry);
	peers.n--;
	(void)bufferevent_decref(p->p_bev);
	free(p);
}

/* After evhttp_free: every connection is gone. */
void
peers_fini(void)
{
	struct http_peer	*p;

	while ((p = LIST_FIRST(&peers.all)) != NULL)
		peer_free(p);
	if (peers.sweep != NULL)
		event_free(peers.sweep);
	peers.sweep = NULL;
	free(peers.byfd);
	peers.byfd = NULL;
	peers.nbyfd = 0;
}

size_t
peers_count(void)
{
	return (peers.n);
}

/* Has evhttp let go of the bufferevent (bufferevent_free clears it)? */
static int
peer_released(const struct http_peer *p)
{
	bufferevent_data_cb	rcb, wcb;
	bufferevent_event_cb	ecb;
	void			*arg;

	bufferevent_getcb(p->p_bev, &rcb, &wcb, &ecb, &arg);
	return (rcb == NULL && ecb == NULL);
}

/* Drop the connections evhttp has freed. */
static void
peers_sweep_cb(int fd, short what, void *arg)
{
	struct http_peer	*p, *next;

	for (p = LIST_FIRST(&peers.all); p != NULL; p = next) {
		next = LIST_NEXT(p, p_entry);
		if (peer_released(p))
			peer_free(p);
	}
}

/* Know the peer by its socket from its first read on. */
static void
peer_register(struct http_peer *p)
{
	size_t	n;
	int	fd = bufferevent_getfd(p->p_bev);

	if (fd < 0)
		return;
	if ((size_t)fd >= peers.nbyfd) {
		n = (size_t)fd * 2 + 64;
		peers.byfd = xreallocarray(peers.byfd, n, sizeof(*peers.byfd));
		memset(peers.byfd + peers.nbyfd, 0,
		    (n - peers.nbyfd) * sizeof(*peers.byfd));
		peers.nbyfd = n;
	}
	peers.byfd[fd] = p;
	p->p_fd = fd;
}

/* Cut a connection off: evhttp sees the end and frees it. */
static void
peer_cut(struct http_peer *p, const char *why)
{
	if (p->p_cut)
		return;
	p->p_cut = 1;
	log_info("http: connection cut off: %s", why);
	if (p->p_fd >= 0)
		(void)shutdown(p->p_fd, SHUT_RDWR);
}

/* Input arrived: is the request taking too long, or one too many? */
static void
peer_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_peer	*p = arg;
	int64_t			 now;

	if (info->n_added == 0 || p->p_cut || peer_released(p))
		return;
	now = clock_mono_ms();
	if (p->p_fd == -1)
		peer_register(p);
	if (p->p_over)
		peer_cut(p, "too many connections");
	else if (p->p_since == 0)
		p->p_since = now;
	else if (now - p->p_since > peers.timeout_ms)
		peer_cut(p, "the request did not arrive in time");
}

/* evhttp's bufferevent maker (evhttp_set_bevcb) for a new connection. */
struct bufferevent *
peers_bev(struct event_base *base, void *arg)
{
	struct http_peer	*p;

	p = xcalloc(1, sizeof(*p));
	p->p_fd = -1;
	p->p_over = peers.n >= peers.max;
	if ((p->p_bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(p->p_bev), peer_input_cb,
	    p) == NULL)
		fatalx("http: cannot make a bufferevent");
	bufferevent_incref(p->p_bev);
	LIST_INSERT_HEAD(&peers.all, p, p_entry);
	peers.n++;
	return (p->p_bev);
}

/* A request arrived whole: its connection is not reading one now. */
void
peers_request_read(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	int				 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 || (size_t)fd >= peers.nbyfd ||
	    peers.byfd[fd] == NULL || peers.byfd[fd]->p_bev != bev)
		return;
	peers.byfd[fd]->p_since = 0;
}
