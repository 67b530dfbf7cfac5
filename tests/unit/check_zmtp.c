/*
 * The worker's ZMTP DEALER: its wire format, and the real thing against
 * a libzmq ROUTER (the supervisor's side) on an ipc path.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <zmq.h>

#include "xmalloc.h"
#include "zmtp.h"
#include "check_worker.h"
#include "tmpdir.h"

#define MAXMSG	(1024 * 1024)

/* A ROUTER bound in a scratch directory, and the DEALER's view of it. */
struct peer {
	char			*dir;
	char			*endpoint;
	void			*ctx;
	void			*router;
	struct event_base	*base;
	char			*got[16];	/* messages the DEALER took */
	size_t			 gotlen[16];
	int			 ngot;
	char			*lost;
};

static void
peer_msg_cb(const char *data, size_t len, void *arg)
{
	struct peer	*p = arg;

	ck_assert_int_lt(p->ngot, 16);
	p->got[p->ngot] = xmalloc(len + 1);
	memcpy(p->got[p->ngot], data, len);
	p->got[p->ngot][len] = '\0';
	p->gotlen[p->ngot++] = len;
}

static void
peer_lost_cb(const char *why, void *arg)
{
	struct peer	*p = arg;

	ck_assert_ptr_null(p->lost);
	p->lost = xstrdup(why);
}

static void
peer_open(struct peer *p)
{
	int	zero = 0;
	int64_t	max = MAXMSG;

	memset(p, 0, sizeof(*p));
	p->dir = test_tmpdir();
	xasprintf(&p->endpoint, "ipc://%s/w.sock", p->dir);
	p->ctx = zmq_ctx_new();
	p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
	ck_assert_int_eq(zmq_setsockopt(p->router, ZMQ_LINGER, &zero,
	    sizeof(zero)), 0);
	ck_assert_int_eq(zmq_setsockopt(p->router, ZMQ_MAXMSGSIZE, &max,
	    sizeof(max)), 0);
	ck_assert_int_eq(zmq_bind(p->router, p->endpoint), 0);
	p->base = event_base_new();
}

static void
peer_close(struct peer *p)
{
	int	i;

	for (i = 0; i < p->ngot; i++)
		free(p->got[i]);
	free(p->lost);
	zmq_close(p->router);
	zmq_ctx_term(p->ctx);
	event_base_free(p->base);
	free(p->endpoint);
	test_rmdir(p->dir);
}

/* A DEALER connected to ep on p's loop, its callbacks p's. */
static struct zmtp *
peer_dealer(struct peer *p, const char *ep, const char *id, size_t max)
{
	struct zmtp	*z;
	char		*cause = NULL;

	z = zmtp_connect(p->base, ep, id, max, &cause);
	ck_assert_msg(z != NULL, "%s", cause);
	zmtp_set_callbacks(z, peer_msg_cb, peer_lost_cb, p);
	return (z);
}

/* Turn the DEALER's loop for a while. */
static void
peer_spin(struct peer *p, int ms)
{
	struct timeval	tv = { 0, ms * 1000 };

	event_base_loopexit(p->base, &tv);
	event_base_dispatch(p->base);
}

/*
 * Receive one message on the ROUTER (routing id, then body), turning the
 * DEALER's loop meanwhile; the body's length, or -1 after 5 s.
 */
static int
router_recv(struct peer *p, char *id, size_t idsz, char *body, size_t bsz)
{
	int	i, n, more;
	size_t	sz = sizeof(more);

	for (i = 0; i < 500; i++) {
		n = zmq_recv(p->router, id, idsz, ZMQ_DONTWAIT);
		if (n >= 0) {
			id[n < (int)idsz ? n : (int)idsz - 1] = '\0';
			ck_assert_int_eq(zmq_getsockopt(p->router, ZMQ_RCVMORE,
			    &more, &sz), 0);
			ck_assert(more);
			n = zmq_recv(p->router, body, bsz, 0);
			return (n);
		}
		ck_assert_int_eq(errno, EAGAIN);
		peer_spin(p, 10);
	}
	return (-1);
}

START_TEST(test_zmtp_greeting)
{
	unsigned char	 g[ZMTP_GREETING_LEN];
	char		*cause = NULL;

	zmtp_greeting(g);
	ck_assert_int_eq(zmtp_greeting_check(g, &cause), 0);
	ck_assert_int_eq(g[0], 0xff);
	ck_assert_int_eq(g[9], 0x7f);
	ck_assert_int_eq(g[10], 3);
	ck_assert_mem_eq(g + 12, "NULL", 4);
	g[10] = 2;
	ck_assert_int_eq(zmtp_greeting_check(g, &cause), -1);
	ck_assert_str_eq(cause, "ZMTP version 2 is too old");
	free(cause);
	zmtp_greeting(g);
	memcpy(g + 12, "PLAIN", 5);
	ck_assert_int_eq(zmtp_greeting_check(g, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "other than NULL"));
	free(cause);
	g[0] = 'G';
	ck_assert_int_eq(zmtp_greeting_check(g, &cause), -1);
	ck_assert_str_eq(cause, "not a ZMTP peer");
	free(cause);
}
END_TEST

/* Short and long frames, and heads that need more bytes or are wrong. */
START_TEST(test_zmtp_frames)
{
	struct evbuffer	*b = evbuffer_new();
	unsigned char	*p;
	char		 big[300];
	uint64_t	 len;
	int		 flags;

	zmtp_add_frame(b, ZMTP_MORE, "abc", 3);
	p = evbuffer_pullup(b, -1);
	ck_assert_int_eq(evbuffer_get_length(b), 5);
	ck_assert_int_eq(zmtp_frame_head(p, 5, &flags, &len), 2);
	ck_assert_int_eq(flags, ZMTP_MORE);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(zmtp_frame_head(p, 1, &flags, &len), 0);
	evbuffer_drain(b, 5);
	memset(big, 'x', sizeof(big));
	zmtp_add_frame(b, 0, big, sizeof(big));
	p = evbuffer_pullup(b, -1);
	ck_assert_int_eq(evbuffer_get_length(b), 9 + sizeof(big));
	ck_assert_int_eq(p[0], ZMTP_LONG);
	ck_assert_int_eq(zmtp_frame_head(p, 8, &flags, &len), 0);
	ck_assert_int_eq(zmtp_frame_head(p, 9, &flags, &len), 9);
	ck_assert_int_eq(len, sizeof(big));
	p[0] = 0x80;
	ck_assert_int_eq(zmtp_frame_head(p, 9, &flags, &len), -1);
	ck_assert_int_eq(zmtp_frame_head(p, 0, &flags, &len), 0);
	evbuffer_free(b);
}
END_TEST

/* READY: what we send parses; a wrong type or a short body is refused. */
START_TEST(test_zmtp_ready)
{
	struct evbuffer	*b = evbuffer_new();
	unsigned char	*p;
	uint64_t	 len;
	int		 flags, head;
	char		*cause = NULL;

	zmtp_add_ready(b, "ROUTER", "j-1");
	p = evbuffer_pullup(b, -1);
	head = zmtp_frame_head(p, evbuffer_get_length(b), &flags, &len);
	ck_assert_int_eq(head, 2);
	ck_assert_int_eq(flags, ZMTP_COMMAND);
	ck_assert_int_eq(zmtp_ready_check(p + head, len, "ROUTER", &cause),
	    0);
	ck_assert_int_eq(zmtp_ready_check(p + head, len, "DEALER", &cause),
	    -1);
	ck_assert_str_eq(cause, "the peer is a ROUTER, not a DEALER");
	free(cause);
	ck_assert_int_eq(zmtp_ready_check(p + head, len - 1, "ROUTER",
	    &cause), -1);
	ck_assert_str_eq(cause, "the peer's READY is malformed");
	free(cause);
	ck_assert_int_eq(zmtp_ready_check(p + head, 6, "ROUTER", &cause), -1);
	ck_assert_str_eq(cause, "the peer's READY has no Socket-Type");
	free(cause);
	ck_assert_int_eq(zmtp_ready_check((const unsigned char *)"\5HELLO",
	    6, "ROUTER", &cause), -1);
	ck_assert_str_eq(cause, "the peer's first command is not READY");
	free(cause);
	evbuffer_free(b);
}
END_TEST

/*
 * Against libzmq: the ROUTER sees the DEALER's routing id and its
 * messages, short and long; what the ROUTER sends back (with an empty
 * delimiter frame, or without) reaches the DEALER whole.
 */
START_TEST(test_zmtp_libzmq_router)
{
	struct peer	 p;
	struct zmtp	*z;
	char		 id[64], body[4096], *big;
	int		 n;

	peer_open(&p);
	z = peer_dealer(&p, p.endpoint, "j-42", MAXMSG);
	ck_assert_int_eq(zmtp_send(z, "{\"hello\":1}", 11), 0);
	big = xmalloc(3000);
	memset(big, 'b', 3000);
	ck_assert_int_eq(zmtp_send(z, big, 3000), 0);
	n = router_recv(&p, id, sizeof(id), body, sizeof(body));
	ck_assert_int_eq(n, 11);
	ck_assert_str_eq(id, "j-42");
	ck_assert_mem_eq(body, "{\"hello\":1}", 11);
	n = router_recv(&p, id, sizeof(id), body, sizeof(body));
	ck_assert_int_eq(n, 3000);
	ck_assert_mem_eq(body, big, 3000);
	ck_assert_int_eq(zmq_send(p.router, "j-42", 4, ZMQ_SNDMORE), 4);
	ck_assert_int_eq(zmq_send(p.router, "{\"job\":1}", 9, 0), 9);
	ck_assert_int_eq(zmq_send(p.router, "j-42", 4, ZMQ_SNDMORE), 4);
	ck_assert_int_eq(zmq_send(p.router, "", 0, ZMQ_SNDMORE), 0);
	ck_assert_int_eq(zmq_send(p.router, big, 3000, 0), 3000);
	for (n = 0; n < 500 && p.ngot < 2; n++)
		peer_spin(&p, 10);
	ck_assert_int_eq(p.ngot, 2);
	ck_assert_str_eq(p.got[0], "{\"job\":1}");
	ck_assert_int_eq(p.gotlen[1], 3000);
	ck_assert_mem_eq(p.got[1], big, 3000);
	ck_assert_ptr_null(p.lost);
	ck_assert_int_eq(zmtp_flush(z, 1000), 0);
	zmtp_free(&z);
	free(big);
	peer_close(&p);
}
END_TEST

/*
 * Messages queued before the ROUTER exists go out once it is bound; what
 * is queued at the end goes out with zmtp_flush before the DEALER closes.
 */
START_TEST(test_zmtp_late_router_and_flush)
{
	struct peer	 p;
	struct zmtp	*z;
	char		 id[64], body[64], *dir, *ep;
	int		 i, n;

	dir = test_tmpdir();
	xasprintf(&ep, "ipc://%s/late.sock", dir);
	memset(&p, 0, sizeof(p));
	p.base = event_base_new();
	z = peer_dealer(&p, ep, "j-7", MAXMSG);
	ck_assert_int_eq(zmtp_send(z, "early", 5), 0);
	peer_spin(&p, 120);
	p.ctx = zmq_ctx_new();
	p.router = zmq_socket(p.ctx, ZMQ_ROUTER);
	ck_assert_int_eq(zmq_bind(p.router, ep), 0);
	p.dir = dir;
	p.endpoint = ep;
	n = router_recv(&p, id, sizeof(id), body, sizeof(body));
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(id, "j-7");
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(zmtp_send(z, "last", 4), 0);
	ck_assert_msg(zmtp_flush(z, 2000) == 0, "flush: %s", strerror(errno));
	zmtp_free(&z);
	for (i = 0; i < 100; i++) {
		n = router_recv(&p, id, sizeof(id), body, sizeof(body));
		ck_assert_int_eq(n, 4);
	}
	ck_assert_ptr_null(p.lost);
	peer_close(&p);
}
END_TEST

/*
 * Bursts far bigger than the socket takes: what the first write leaves
 * is queued, the next burst goes behind it, and the ROUTER gets every
 * message whole and in order.
 */
START_TEST(test_zmtp_burst_order)
{
	struct peer	 p;
	struct zmtp	*z;
	char		 id[64], *msg, *body;
	size_t		 len = 200 * 1024;
	int		 i, n;

	peer_open(&p);
	z = peer_dealer(&p, p.endpoint, "j-8", MAXMSG);
	msg = xmalloc(len);
	body = xmalloc(len + 1);
	ck_assert_int_eq(zmtp_send(z, "open", 4), 0);
	ck_assert_int_eq(router_recv(&p, id, sizeof(id), body, len), 4);
	for (i = 0; i < 40; i++) {
		memset(msg, 'a' + i % 26, len);
		memcpy(msg, &i, sizeof(i));
		ck_assert_int_eq(zmtp_send(z, msg, len), 0);
		if (i == 19)
			peer_spin(&p, 1);
	}
	for (i = 0; i < 40; i++) {
		n = router_recv(&p, id, sizeof(id), body, len + 1);
		ck_assert_int_eq(n, (int)len);
		ck_assert_int_eq(memcmp(body, &i, sizeof(i)), 0);
		ck_assert_int_eq(body[len - 1], 'a' + i % 26);
	}
	ck_assert_int_eq(zmtp_flush(z, 1000), 0);
	ck_assert_ptr_null(p.lost);
	zmtp_free(&z);
	free(msg);
	free(body);
	peer_close(&p);
}
END_TEST

/* The ROUTER going away is the end of the link, said once. */
START_TEST(test_zmtp_router_gone)
{
	struct peer	 p;
	struct zmtp	*z;
	char		 id[64], body[64];
	int		 i;

	peer_open(&p);
	z = peer_dealer(&p, p.endpoint, "j-9", MAXMSG);
	ck_assert_int_eq(zmtp_send(z, "hi", 2), 0);
	ck_assert_int_eq(router_recv(&p, id, sizeof(id), body, sizeof(body)),
	    2);
	zmq_close(p.router);
	zmq_ctx_term(p.ctx);
	for (i = 0; i < 300 && p.lost == NULL; i++)
		peer_spin(&p, 10);
	ck_assert_str_eq(p.lost, "the supervisor closed the connection");
	ck_assert_int_eq(zmtp_send(z, "more", 4), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(zmtp_flush(z, 100), 0);	/* nothing to send */
	zmtp_free(&z);
	p.ctx = zmq_ctx_new();
	p.router = zmq_socket(p.ctx, ZMQ_ROUTER);
	peer_close(&p);
}
END_TEST

/* A listening socket in dir for a raw peer to accept on; its endpoint. */
static int
raw_listen(const char *dir, const char *name, char **ep)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			ls;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	xasprintf(ep, "ipc://%s", sun.sun_path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	return (ls);
}

/* Append what a ROUTER says first: the greeting and its READY. */
static void
raw_hello(struct evbuffer *e, const char *type)
{
	unsigned char	g[ZMTP_GREETING_LEN];

	zmtp_greeting(g);
	evbuffer_add(e, g, sizeof(g));
	zmtp_add_ready(e, type, NULL);
}

/* Write all of e to the DEALER, and empty it. */
static void
raw_write(int c, struct evbuffer *e)
{
	size_t	n = evbuffer_get_length(e);

	ck_assert_int_eq(write(c, evbuffer_pullup(e, -1), n), (ssize_t)n);
	evbuffer_drain(e, n);
}

/* Read what the DEALER wrote up to its close; it must end with want. */
static void
raw_tail(int c, const void *want, size_t len)
{
	unsigned char	got[512];
	size_t		n = 0;
	ssize_t		r;

	while ((r = read(c, got + n, sizeof(got) - n)) > 0)
		n += (size_t)r;
	ck_assert_uint_ge(n, len);
	ck_assert_mem_eq(got + n - len, want, len);
}

/* A DEALER connected to a raw listener, and the raw side's connection. */
struct raw {
	struct peer	 p;
	struct zmtp	*z;
	char		*dir;
	char		*ep;
	int		 ls;
	int		 c;
};

static void
raw_open(struct raw *r, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->p.base = event_base_new();
	r->dir = test_tmpdir();
	r->ls = raw_listen(r->dir, "raw.sock", &r->ep);
	r->z = peer_dealer(&r->p, r->ep, id, 100);
	r->c = accept(r->ls, NULL, NULL);
	ck_assert_int_ge(r->c, 0);
}

/* Free the DEALER; its loop's end runs the finalizer that closes it. */
static void
raw_free_dealer(struct raw *r)
{
	zmtp_free(&r->z);
	if (r->p.base != NULL)
		event_base_free(r->p.base);
	r->p.base = NULL;
}

static void
raw_close(struct raw *r)
{
	raw_free_dealer(r);
	close(r->c);
	close(r->ls);
	free(r->p.lost);
	free(r->ep);
	test_rmdir(r->dir);
}

/* A raw peer that breaks the protocol: each case ends the link, why said. */
static void
raw_case(const void *reply, size_t len, const char *want)
{
	struct raw	r;
	int		i;

	raw_open(&r, "j-1");
	ck_assert_int_eq(write(r.c, reply, len), (ssize_t)len);
	for (i = 0; i < 300 && r.p.lost == NULL; i++)
		peer_spin(&r.p, 10);
	ck_assert_msg(r.p.lost != NULL && strstr(r.p.lost, want) != NULL,
	    "lost: %s, wanted %s", r.p.lost, want);
	ck_assert_int_eq(r.p.ngot, 0);
	raw_close(&r);
}

/* The greeting, then a command frame (flags 0x04) with this body. */
static size_t
raw_after_greeting(unsigned char *out, int flags, const void *body,
    size_t len)
{
	zmtp_greeting(out);
	out[ZMTP_GREETING_LEN] = (unsigned char)flags;
	out[ZMTP_GREETING_LEN + 1] = (unsigned char)len;
	memcpy(out + ZMTP_GREETING_LEN + 2, body, len);
	return (ZMTP_GREETING_LEN + 2 + len);
}

START_TEST(test_zmtp_bad_peers)
{
	static const struct {
		const char	*bytes;		/* after the ROUTER's READY */
		size_t		 len;
		const char	*want;
	} after[] = {
		{ "\x40\1", 2, "bad frame flags 0x40" },
		{ "\2\0\0\0\0\0\0\1\0", 9, "over the limit" },	/* 256 > 100 */
		{ "\4\17\5ERROR\10go away!", 17,
		    "the supervisor refused the link: go away!" },
	};
	unsigned char	 b[256];
	struct evbuffer	*e = evbuffer_new();
	size_t		 i, n;

	raw_case("HTTP/1.1 200 OK\r\n\r\n" "0123456789012345678901234567890"
	    "0123456789012345678", 64, "not a ZMTP peer");
	n = raw_after_greeting(b, 0, "data", 4);
	raw_case(b, n, "a message before the peer's READY");
	n = raw_after_greeting(b, ZMTP_COMMAND, "\5READY", 6);
	raw_case(b, n, "has no Socket-Type");
	raw_hello(e, "PUB");
	raw_case(evbuffer_pullup(e, -1), evbuffer_get_length(e),
	    "the peer is a PUB, not a ROUTER");
	for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		evbuffer_drain(e, evbuffer_get_length(e));
		raw_hello(e, "ROUTER");
		evbuffer_add(e, after[i].bytes, after[i].len);
		raw_case(evbuffer_pullup(e, -1), evbuffer_get_length(e),
		    after[i].want);
	}
	evbuffer_free(e);
}
END_TEST

/*
 * A message sent and flushed before the loop ever ran: zmtp_flush does
 * the handshake itself, and the message follows the peer's READY.
 */
START_TEST(test_zmtp_flush_before_ready)
{
	struct event_base	*base = event_base_new();
	struct evbuffer		*e = evbuffer_new();
	struct zmtp		*z;
	char			*dir = test_tmpdir(), *ep, *cause = NULL;
	int			 ls, c;

	ls = raw_listen(dir, "f.sock", &ep);
	z = zmtp_connect(base, ep, "j-3", 100, &cause);
	ck_assert_msg(z != NULL, "%s", cause);
	ck_assert_int_eq(zmtp_send(z, "result", 6), 0);
	c = accept(ls, NULL, NULL);
	raw_hello(e, "ROUTER");
	raw_write(c, e);
	ck_assert_int_eq(zmtp_flush(z, 2000), 0);
	zmtp_free(&z);
	event_base_free(base);		/* runs the finalizer that closes */
	raw_tail(c, "\0\6result", 8);
	close(c);
	close(ls);
	free(ep);
	evbuffer_free(e);
	test_rmdir(dir);
}
END_TEST

/* A PING (TTL, context) is answered with a PONG carrying the context. */
START_TEST(test_zmtp_ping)
{
	static const unsigned char	 ping[] = "\4\12\4PING\0\12abc";
	struct evbuffer			*e = evbuffer_new();
	struct raw			 r;
	int				 i;

	raw_open(&r, "j-5");
	raw_hello(e, "ROUTER");
	evbuffer_add(e, ping, sizeof(ping) - 1);
	raw_write(r.c, e);
	for (i = 0; i < 20; i++)
		peer_spin(&r.p, 10);
	ck_assert_ptr_null(r.p.lost);
	raw_free_dealer(&r);
	raw_tail(r.c, "\4\10\4PONGabc", 10);
	raw_close(&r);
	evbuffer_free(e);
}
END_TEST

START_TEST(test_zmtp_bad_endpoints)
{
	struct event_base	*base = event_base_new();
	char			*cause = NULL, path[200], *ep;

	ck_assert_ptr_null(zmtp_connect(base, "tcp://127.0.0.1:1", "j", 10,
	    &cause));
	ck_assert_str_eq(cause, "not an ipc:// endpoint");
	free(cause);
	ck_assert_ptr_null(zmtp_connect(base, "ipc:///tmp/x", "", 10,
	    &cause));
	ck_assert_str_eq(cause, "a routing id is 1 to 255 bytes");
	free(cause);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	xasprintf(&ep, "ipc:///%s", path);
	ck_assert_ptr_null(zmtp_connect(base, ep, "j", 10, &cause));
	ck_assert_str_eq(cause, "the ipc path is too long");
	free(cause);
	free(ep);
	ck_assert_ptr_null(zmtp_connect(base, "ipc:///proc/version/x", "j", 10,
	    &cause));
	ck_assert_ptr_nonnull(strstr(cause, "connect /proc/version"));
	free(cause);
	event_base_free(base);
}
END_TEST

Suite *
zmtp_suite(void)
{
	Suite	*s = suite_create("zmtp");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_zmtp_greeting);
	tcase_add_test(tc, test_zmtp_frames);
	tcase_add_test(tc, test_zmtp_ready);
	tcase_add_test(tc, test_zmtp_libzmq_router);
	tcase_add_test(tc, test_zmtp_late_router_and_flush);
	tcase_add_test(tc, test_zmtp_burst_order);
	tcase_add_test(tc, test_zmtp_router_gone);
	tcase_add_test(tc, test_zmtp_bad_peers);
	tcase_add_test(tc, test_zmtp_flush_before_ready);
	tcase_add_test(tc, test_zmtp_ping);
	tcase_add_test(tc, test_zmtp_bad_endpoints);
	suite_add_tcase(s, tc);
	return (s);
}
