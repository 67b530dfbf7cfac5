/*
 * supervisor/http_ring.c: the events kept for Last-Event-ID replay stay
 * within their bounds, per stream and in all.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "check_supervisor.h"

static char	 blob[700 * 1024];

static void
add(struct http_ring *r, uint64_t seq, size_t len)
{
	const struct http_event	*ev = http_ring_add(r, seq, blob, len);

	ck_assert_uint_eq(ev->ev_seq, seq);
	ck_assert_uint_eq(ev->ev_len, len);
}

static void
teardown(void)
{
	http_rings_set_max(HTTP_RINGS_MAX);
	ck_assert_uint_eq(http_rings_bytes(), 0);
}

START_TEST(test_ring_events_bound)
{
	struct http_ring	r;
	uint64_t		seq;

	memset(&r, 0, sizeof(r));
	for (seq = 1; seq <= HTTP_RING_EVENTS + 2; seq++)
		add(&r, seq, 10);
	ck_assert_uint_eq(http_ring_count(&r), HTTP_RING_EVENTS);
	ck_assert_uint_eq(http_ring_get(&r, 0)->ev_seq, 3);
	ck_assert_uint_eq(http_ring_get(&r, HTTP_RING_EVENTS - 1)->ev_seq,
	    HTTP_RING_EVENTS + 2);
	ck_assert_uint_eq(http_rings_bytes(), HTTP_RING_EVENTS * 10);
	http_ring_free(&r);
}
END_TEST

START_TEST(test_ring_bytes_bound)
{
	struct http_ring	r;

	memset(&r, 0, sizeof(r));
	add(&r, 1, sizeof(blob));
	add(&r, 2, sizeof(blob));	/* both would pass HTTP_RING_BYTES */
	ck_assert_uint_eq(http_ring_count(&r), 1);
	ck_assert_uint_eq(http_ring_get(&r, 0)->ev_seq, 2);
	ck_assert_uint_eq(http_rings_bytes(), sizeof(blob));
	http_ring_free(&r);
}
END_TEST

/* Past the total, the rings written to least recently give way first. */
START_TEST(test_ring_total_bound)
{
	struct http_ring	a, b, c;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	http_rings_set_max(1000);
	add(&a, 1, 400);
	add(&b, 1, 400);
	add(&c, 1, 400);
	ck_assert_uint_eq(http_ring_count(&a), 0);
	ck_assert_uint_eq(http_rings_bytes(), 800);
	add(&c, 2, 100);		/* room enough: nothing goes */
	ck_assert_uint_eq(http_rings_bytes(), 900);
	add(&a, 2, 400);		/* b is now the least recent */
	ck_assert_uint_eq(http_ring_count(&b), 0);
	ck_assert_uint_eq(http_ring_count(&c), 2);
	ck_assert_uint_eq(http_ring_count(&a), 1);
	ck_assert_uint_eq(http_rings_bytes(), 900);
	add(&c, 3, 300);		/* c is the least recent: its oldest goes */
	ck_assert_uint_eq(http_ring_count(&a), 1);
	ck_assert_uint_eq(http_ring_count(&c), 2);
	ck_assert_uint_eq(http_ring_get(&c, 0)->ev_seq, 2);
	ck_assert_uint_eq(http_rings_bytes(), 800);
	http_ring_free(&a);
	http_ring_free(&b);
	http_ring_free(&c);
}
END_TEST

Suite *
http_ring_suite(void)
{
	Suite	*s = suite_create("http_ring");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_ring_events_bound);
	tcase_add_test(tc, test_ring_bytes_bound);
	tcase_add_test(tc, test_ring_total_bound);
	suite_add_tcase(s, tc);
	return (s);
}
