/* The ZeroMQ <-> libevent bridge: nothing queued is ever missed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "zev.h"
#include "check_common.h"

struct peer {
	struct event_base	*base;
	struct zev		*z;
	int			 got;
	int			 want;
	int			 echo;		/* reply to each message */
	int			 one;		/* take one message a call */
	char			 last[64];
};

static void
peer_cb(struct zev *z, void *arg)
{
	struct peer	*p = arg;
	struct zev_msg	 m;
	size_t		 len;
	int		 n;

	while ((n = zev_recv(z, &m)) > 0) {
		len = zmq_msg_size(&m.zm_parts[n - 1]);
		if (len >= sizeof(p->last))
			len = sizeof(p->last) - 1;
		memcpy(p->last, zmq_msg_data(&m.zm_parts[n - 1]), len);
		p->last[len] = '\0';
		if (p->echo)
			ck_assert_int_eq(zev_send(z, n == 2 ?
			    zmq_msg_data(&m.zm_parts[0]) : NULL, n == 2 ?
			    zmq_msg_size(&m.zm_parts[0]) : 0, "pong", 4), 0);
		zev_msg_close(&m);
		if (++p->got == p->want)
			event_base_loopbreak(p->base);
		if (p->one)
			break;
	}
}

static void
timeout_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* A PAIR a, bound on endpoint ep, and its peer b. */
static void *
pair_open(void *ctx, const char *ep, void **b)
{
	void	*a = zmq_socket(ctx, ZMQ_PAIR);

	*b = zmq_socket(ctx, ZMQ_PAIR);
	ck_assert_int_eq(zmq_bind(a, ep), 0);
	ck_assert_int_eq(zmq_connect(*b, ep), 0);
	return (a);
}

/* Run p's loop until it has all it wants, or for at most 5 s. */
static void
peer_run(struct peer *p)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*tmo = evtimer_new(p->base, timeout_cb, p->base);

	evtimer_add(tmo, &tv);
	event_base_dispatch(p->base);
	event_free(tmo);
}

/* Free p's watcher, the pair, the context and the base. */
static void
pair_close(struct peer *p, void *ctx, void *a, void *b)
{
	zev_free(&p->z);
	ck_assert_ptr_null(p->z);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	event_base_free(p->base);
}

/* Messages sent before the watch starts are still delivered. */
START_TEST(test_zev_queued_before_watch)
{
	struct peer	 p = { .base = event_base_new(), .want = 50 };
	void		*ctx = zmq_ctx_new(), *a, *b;
	char		 msg[16];
	int		 i;

	a = pair_open(ctx, "inproc://zev1", &b);
	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		ck_assert_int_ge(zmq_send(b, msg, strlen(msg), 0), 0);
	}
	p.z = zev_new(p.base, a, peer_cb, &p);
	ck_assert_ptr_nonnull(p.z);
	peer_run(&p);
	ck_assert_int_eq(p.got, 50);
	ck_assert_str_eq(p.last, "m49");
	pair_close(&p, ctx, a, b);
}
END_TEST

/*
 * A callback that stops after one message is called again for the rest:
 * no edge will come for messages already in.
 */
START_TEST(test_zev_one_per_call)
{
	struct peer	 p = { .base = event_base_new(), .want = 30, .one = 1 };
	void		*ctx = zmq_ctx_new(), *a, *b;
	int		 i;

	a = pair_open(ctx, "inproc://zev4", &b);
	p.z = zev_new(p.base, a, peer_cb, &p);
	for (i = 0; i < 30; i++)
		ck_assert_int_ge(zmq_send(b, "m", 1, 0), 0);
	peer_run(&p);
	ck_assert_int_eq(p.got, 30);
	pair_close(&p, ctx, a, b);
}
END_TEST

/* ROUTER and DEALER both on zev, ping-ponging: no stall on either side. */
START_TEST(test_zev_router_dealer_pingpong)
{
	struct event_base	*base = event_base_new();
	struct peer		 r = { .base = base, .want = 200, .echo = 1 };
	struct peer		 d = { .base = base, .want = 200 };
	struct event		*tmo;
	struct timeval		 tv = { 10, 0 };
	void			*ctx = zmq_ctx_new(), *rs, *ds;
	int			 i;

	rs = zmq_socket(ctx, ZMQ_ROUTER);
	ds = zmq_socket(ctx, ZMQ_DEALER);
	ck_assert_int_eq(zmq_setsockopt(ds, ZMQ_ROUTING_ID, "job-1", 5), 0);
	ck_assert_int_eq(zmq_bind(rs, "inproc://zev2"), 0);
	ck_assert_int_eq(zmq_connect(ds, "inproc://zev2"), 0);
	r.z = zev_new(base, rs, peer_cb, &r);
	d.z = zev_new(base, ds, peer_cb, &d);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(zev_send(d.z, NULL, 0, "ping", 4), 0);
	tmo = evtimer_new(base, timeout_cb, base);
	evtimer_add(tmo, &tv);
	while (d.got < 200 && evtimer_pending(tmo, NULL))
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(r.got, 200);
	ck_assert_int_eq(d.got, 200);
	ck_assert_str_eq(d.last, "pong");
	event_free(tmo);
	zev_free(&r.z);
	zev_free(&d.z);
	zmq_close(rs);
	zmq_close(ds);
	zmq_ctx_term(ctx);
	event_base_free(base);
}
END_TEST

/* Too many parts: drained and refused, and the next message still comes. */
START_TEST(test_zev_too_many_parts)
{
	struct event_base	*base = event_base_new();
	void			*ctx = zmq_ctx_new(), *a, *b;
	struct zev		*z;
	struct zev_msg		 m;
	int			 i;

	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	ck_assert_int_eq(zmq_bind(a, "inproc://zev3"), 0);
	ck_assert_int_eq(zmq_connect(b, "inproc://zev3"), 0);
	for (i = 0; i < ZEV_MAXPARTS + 2; i++)
		zmq_send(b, "x", 1, i < ZEV_MAXPARTS + 1 ? ZMQ_SNDMORE : 0);
	zmq_send(b, "ok", 2, 0);
	z = zev_new(base, a, peer_cb, NULL);
	ck_assert_int_eq(zev_recv(z, &m), -1);
	ck_assert_int_eq(zev_recv(z, &m), 1);
	ck_assert_int_eq(zmq_msg_size(&m.zm_parts[0]), 2);
	zev_msg_close(&m);
	ck_assert_int_eq(zev_recv(z, &m), 0);
	zev_free(&z);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	event_base_free(base);
}
END_TEST

Suite *
zev_suite(void)
{
	Suite	*s = suite_create("zev");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_zev_queued_before_watch);
	tcase_add_test(tc, test_zev_one_per_call);
	tcase_add_test(tc, test_zev_router_dealer_pingpong);
	tcase_add_test(tc, test_zev_too_many_parts);
	suite_add_tcase(s, tc);
	return (s);
}
