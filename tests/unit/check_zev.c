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
	}
}

static void
timeout_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Messages sent before the watch starts are still delivered. */
START_TEST(test_zev_queued_before_watch)
{
	struct event_base	*base = event_base_new();
	struct peer		 p = { .base = base, .want = 50 };
	struct event		*tmo;
	struct timeval		 tv = { 5, 0 };
	void			*ctx = zmq_ctx_new(), *a, *b;
	char			 msg[16];
	int			 i;

	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	ck_assert_int_eq(zmq_bind(a, "inproc://zev1"), 0);
	ck_assert_int_eq(zmq_connect(b, "inproc://zev1"), 0);
	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		ck_assert_int_ge(zmq_send(b, msg, strlen(msg), 0), 0);
	}
	p.z = zev_new(base, a, peer_cb, &p);
	ck_assert_ptr_nonnull(p.z);
	tmo = evtimer_new(base, timeout_cb, base);
	evtimer_add(tmo, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(p.got, 50);
	ck_assert_str_eq(p.last, "m49");
	event_free(tmo);
	zev_free(&p.z);
	ck_assert_ptr_null(p.z);
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	event_base_free(base);
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
	tcase_add_test(tc, test_zev_router_dealer_pingpong);
	tcase_add_test(tc, test_zev_too_many_parts);
	suite_add_tcase(s, tc);
	return (s);
}
