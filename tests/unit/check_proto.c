/* The supervisor <-> worker message codec. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "check_common.h"

START_TEST(test_proto_roundtrip)
{
	struct json_object	*o;
	struct proto_msg	 msg;
	struct buf		 b;
	char			*cause = NULL;

	o = proto_new(MSG_SANDBOX, 3);
	json_add_string(o, "id", "isbx1");
	json_add_string(o, "template", "claude");
	buf_init(&b, PROTO_MAX_MSG);
	ck_assert_int_eq(proto_encode(o, &b), 0);
	json_object_put(o);
	ck_assert_int_eq(proto_decode(buf_str(&b), buf_len(&b), &msg,
	    &cause), 0);
	ck_assert_int_eq(msg.pm_type, MSG_SANDBOX);
	ck_assert_int_eq(msg.pm_seq, 3);
	ck_assert_str_eq(json_peek_string(msg.pm_obj, "id"), "isbx1");
	proto_msg_clear(&msg);
	ck_assert_ptr_null(msg.pm_obj);
	buf_free(&b);
}
END_TEST

START_TEST(test_proto_every_type_named)
{
	int	t;

	for (t = 1; t < MSG_TYPE_MAX; t++)
		ck_assert_str_ne(proto_type_name(t), "unknown");
	ck_assert_str_eq(proto_type_name(0), "unknown");
	ck_assert_str_eq(proto_type_name(MSG_TYPE_MAX), "unknown");
}
END_TEST

static const char *bad_msgs[][2] = {
	{ "", "end of JSON" },
	{ "nope", "offset" },
	{ "[]", "parent is not an object" },
	{ "{\"type\":\"heartbeat\",\"seq\":1}", "v: is required" },
	{ "{\"v\":1,\"seq\":1}", "type: is required" },
	{ "{\"v\":1,\"type\":\"heartbeat\"}", "seq: is required" },
	{ "{\"v\":1,\"type\":\"heartbeat\",\"seq\":0}", "seq: out of range" },
	{ "{\"v\":1,\"type\":\"dance\",\"seq\":1}", "unknown message type" },
	{ "{\"v\":2,\"type\":\"heartbeat\",\"seq\":1}", "protocol version 2" },
	{ "{\"v\":1,\"type\":\"sandbox\",\"seq\":1,\"id\":\"x\"}",
	  "field template missing" },
	{ "{\"v\":1,\"type\":\"hello\",\"seq\":1,\"pid\":\"12\","
	  "\"build\":\"x\"}", "field pid missing or of the wrong type" },
	{ "{\"v\":1,\"type\":\"job\",\"seq\":1,\"job_id\":\"j\","
	  "\"spec\":{},\"secrets\":{}}", "field config" },
	{ "{\"v\":1,\"type\":\"result\",\"seq\":1,\"result\":[]}",
	  "field result" },
};

START_TEST(test_proto_bad)
{
	struct proto_msg	 msg;
	char			*cause = NULL;
	const char		*m = bad_msgs[_i][0];

	ck_assert_int_eq(proto_decode(m, strlen(m), &msg, &cause), -1);
	ck_assert_ptr_null(msg.pm_obj);
	ck_assert_msg(strstr(cause, bad_msgs[_i][1]) != NULL,
	    "cause '%s' lacks '%s'", cause, bad_msgs[_i][1]);
	free(cause);
}
END_TEST

/* A hello of another version passes, so the receiver can answer it. */
START_TEST(test_proto_hello_other_version)
{
	struct proto_msg	 msg;
	const char		*m = "{\"v\":9,\"type\":\"hello\",\"seq\":1,"
	    "\"pid\":42,\"build\":\"0.9\"}";
	char			*cause = NULL;

	ck_assert_int_eq(proto_decode(m, strlen(m), &msg, &cause), 0);
	ck_assert_int_eq(json_peek_int(msg.pm_obj, "v", 0), 9);
	proto_msg_clear(&msg);
}
END_TEST

START_TEST(test_proto_size_limit)
{
	struct json_object	*o;
	struct proto_msg	 msg;
	struct buf		 b;
	char			*big, *cause = NULL;

	big = malloc(PROTO_MAX_MSG + 1);
	memset(big, 'x', PROTO_MAX_MSG);
	big[PROTO_MAX_MSG] = '\0';
	o = proto_new(MSG_LOG, 1);
	json_add_string(o, "level", "info");
	json_add_string(o, "msg", big);
	buf_init(&b, 2 * PROTO_MAX_MSG);
	errno = 0;
	ck_assert_int_eq(proto_encode(o, &b), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(proto_decode(big, PROTO_MAX_MSG + 1, &msg, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "too large"));
	free(cause);
	json_object_put(o);
	buf_free(&b);
	free(big);
}
END_TEST

Suite *
proto_suite(void)
{
	Suite	*s = suite_create("proto");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_proto_roundtrip);
	tcase_add_test(tc, test_proto_every_type_named);
	tcase_add_loop_test(tc, test_proto_bad, 0,
	    sizeof(bad_msgs) / sizeof(bad_msgs[0]));
	tcase_add_test(tc, test_proto_hello_other_version);
	tcase_add_test(tc, test_proto_size_limit);
	suite_add_tcase(s, tc);
	return (s);
}
