/* Framed links over a socketpair: order, pausing, ends, bad frames. */
#include "config.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"
#include "json.h"
#include "check_e2bl.h"

struct peer {
	struct fconn	*fc;
	char		 got[4096];	/* "flags:payload|" per frame */
	int		 frames;
	int		 closed;
	char		*cause;
	int		 free_on;	/* free the link at this frame */
	int		 pause_on;	/* pause reading at this frame */
};

static struct event_base	*base;

static void
on_frame(struct fconn *fc, uint8_t flags, const char *data, size_t len,
    void *arg)
{
	struct peer	*p = arg;
	size_t		 n = strlen(p->got);

	snprintf(p->got + n, sizeof(p->got) - n, "%u:%.*s|", flags, (int)len,
	    data);
	p->frames++;
	if (p->frames == p->pause_on)
		fconn_pause(fc, 1);
	if (p->frames == p->free_on)
		fconn_free(&p->fc);
}

static void
on_closed(struct fconn *fc, const char *cause, void *arg)
{
	struct peer	*p = arg;

	p->closed++;
	p->cause = cause != NULL ? strdup(cause) : NULL;
	fconn_free(&p->fc);
}

/* Run the loop until nothing is pending or a short while has passed. */
static void
spin(void)
{
	struct timeval	tv = { 0, 200000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
pair(struct peer *a, struct peer *b, size_t max)
{
	int	sv[2];

	base = event_base_new();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->fc = fconn_new(base, sv[0], max, on_frame, on_closed, a);
	b->fc = fconn_new(base, sv[1], max, on_frame, on_closed, b);
	ck_assert_ptr_nonnull(a->fc);
	ck_assert_ptr_nonnull(b->fc);
}

static void
unpair(struct peer *a, struct peer *b)
{
	fconn_free(&a->fc);
	fconn_free(&b->fc);
	free(a->cause);
	free(b->cause);
	event_base_free(base);
}

START_TEST(test_frame_order_and_clean_end)
{
	struct peer		 a, b;
	struct json_object	*o;

	pair(&a, &b, 1024);
	o = json_object_new_object();
	json_add_string(o, "op", "read");
	ck_assert_int_eq(fconn_send_json(a.fc, 0, o), 0);
	json_object_put(o);
	ck_assert_int_eq(fconn_send(a.fc, 0, "bytes", 5), 0);
	ck_assert_int_eq(fconn_send(a.fc, 0, NULL, 0), 0);
	ck_assert_int_eq(fconn_send(a.fc, ENV_FLAG_END, "{}", 2), 0);
	fconn_close_flush(a.fc);
	spin();
	ck_assert_str_eq(b.got, "0:{\"op\":\"read\"}|0:bytes|0:|2:{}|");
	ck_assert_int_eq(a.closed, 1);
	ck_assert_ptr_null(a.cause);
	ck_assert_int_eq(b.closed, 1);
	ck_assert_ptr_null(b.cause);
	unpair(&a, &b);
}
END_TEST

START_TEST(test_frame_truncated_and_oversized)
{
	struct peer	a, b;

	pair(&a, &b, 16);
	ck_assert_int_eq(fconn_send(a.fc, 0, "0123456789abcdefXX", 18), 0);
	spin();
	ck_assert_int_eq(b.closed, 1);
	ck_assert_ptr_nonnull(strstr(b.cause, "exceeds"));
	unpair(&a, &b);

	pair(&a, &b, 16);
	ck_assert_int_eq(fconn_send(a.fc, 0, "whole", 5), 0);
	spin();
	ck_assert_int_eq(write(bufferevent_getfd(a.fc->fc_bev), "\0\0\0\0\x09"
	    "part", 9), 9);
	fconn_free(&a.fc);
	spin();
	ck_assert_str_eq(b.got, "0:whole|");
	ck_assert_int_eq(b.closed, 1);
	ck_assert_ptr_nonnull(strstr(b.cause, "truncated"));
	unpair(&a, &b);
}
END_TEST

START_TEST(test_frame_pause_keeps_frames_and_end)
{
	struct peer	a, b;

	pair(&a, &b, 1024);
	b.pause_on = 1;
	ck_assert_int_eq(fconn_send(a.fc, 0, "one", 3), 0);
	spin();
	ck_assert_int_eq(fconn_send(a.fc, 0, "two", 3), 0);
	ck_assert_int_eq(fconn_send(a.fc, ENV_FLAG_END, "{}", 2), 0);
	fconn_close_flush(a.fc);
	spin();
	ck_assert_str_eq(b.got, "0:one|");
	ck_assert_int_eq(b.closed, 0);
	fconn_pause(b.fc, 0);
	spin();
	ck_assert_str_eq(b.got, "0:one|0:two|2:{}|");
	ck_assert_int_eq(b.closed, 1);
	ck_assert_ptr_null(b.cause);
	unpair(&a, &b);
}
END_TEST

START_TEST(test_frame_free_inside_callback)
{
	struct peer	a, b;

	pair(&a, &b, 1024);
	b.free_on = 1;
	ck_assert_int_eq(fconn_send(a.fc, 0, "one", 3), 0);
	ck_assert_int_eq(fconn_send(a.fc, 0, "two", 3), 0);
	spin();
	ck_assert_str_eq(b.got, "0:one|");
	ck_assert_ptr_null(b.fc);
	spin();
	ck_assert_int_eq(a.closed, 1);	/* it saw the other end go */
	unpair(&a, &b);
}
END_TEST

START_TEST(test_frame_error_json)
{
	struct json_object	*o;

	o = frame_error("not_found", 0, "no such pid");
	ck_assert_str_eq(json_str(o),
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no such pid\"}}");
	json_object_put(o);
	o = frame_error(NULL, 507, "full");
	ck_assert_str_eq(json_str(o),
	    "{\"error\":{\"status\":507,\"message\":\"full\"}}");
	json_object_put(o);
}
END_TEST

Suite *
frame_suite(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_frame_order_and_clean_end);
	tcase_add_test(tc, test_frame_truncated_and_oversized);
	tcase_add_test(tc, test_frame_pause_keeps_frames_and_end);
	tcase_add_test(tc, test_frame_free_inside_callback);
	tcase_add_test(tc, test_frame_error_json);
	suite_add_tcase(s, tc);
	return (s);
}
