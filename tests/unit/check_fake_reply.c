/* fake-anthropic answers: the whole message, the SSE events, errors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_fake.h"
#include "fake.h"
#include "json.h"

/* The JSON of event i, checking its "event:" line names its type. */
static struct json_object *
event_data(struct sse *ss, size_t i, const char *want)
{
	const char	*ev = ss->ss_events[i], *data;
	size_t		 n = strlen(ev);

	ck_assert_msg(strncmp(ev, "event: ", 7) == 0, "event %zu: %s", i, ev);
	ck_assert_msg(strncmp(ev + 7, want, strlen(want)) == 0 &&
	    ev[7 + strlen(want)] == '\n', "event %zu is not %s: %s", i, want,
	    ev);
	ck_assert(n > 2 && ev[n - 1] == '\n' && ev[n - 2] == '\n');
	data = strstr(ev, "\ndata: ");
	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_eq(strchr(data + 1, '\n'), ev + n - 2);
	return (fake_json(data + 7));
}

START_TEST(test_reply_message)
{
	struct script		*s;
	struct json_object	*m;

	s = fake_script("[{\"text\":\"Hi.\",\"tool_use\":{\"name\":\"Bash\","
	    "\"input\":{\"command\":\"ls\"}}},{\"text\":\"x\","
	    "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":0,"
	    "\"output_tokens\":0}}]");
	m = reply_message(script_pick(s, 0), "claude-opus-5-5");
	ck_assert_str_eq(json_str(m), "{\"id\":\"msg_fake_000\","
	    "\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"claude-opus-5-5\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"Hi.\"},"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_fake_000_0\","
	    "\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}],"
	    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
	    "\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0,\"output_tokens\":20}}");
	json_object_put(m);
	m = reply_message(script_pick(s, 1), "m");
	ck_assert_str_eq(json_peek_string(m, "stop_reason"), "max_tokens");
	ck_assert_str_eq(json_peek_string(m, "id"), "msg_fake_001");
	ck_assert_int_eq(json_peek_int(json_object_object_get(m, "usage"),
	    "output_tokens", -1), 0);
	json_object_put(m);
	script_free(&s);
}
END_TEST

START_TEST(test_reply_events)
{
	struct script		*s;
	struct sse		 ss;
	struct json_object	*o, *d;
	static const char	*names[] = {
		"message_start", "ping", "content_block_start",
		"content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop",
	};
	size_t			 i;

	s = fake_script("[{\"text\":\"Hi.\",\"tool_use\":{\"name\":\"Bash\","
	    "\"input\":{\"command\":\"ls\"}}}]");
	reply_events(script_pick(s, 0), "m", &ss);
	ck_assert_uint_eq(ss.ss_n, sizeof(names) / sizeof(names[0]));
	for (i = 0; i < ss.ss_n; i++) {
		o = event_data(&ss, i, names[i]);
		ck_assert_str_eq(json_peek_string(o, "type"), names[i]);
		json_object_put(o);
	}
	o = event_data(&ss, 0, "message_start");
	d = json_object_object_get(o, "message");
	ck_assert_str_eq(json_str(json_object_object_get(d, "content")), "[]");
	ck_assert_ptr_null(json_object_object_get(d, "stop_reason"));
	ck_assert_int_eq(json_peek_int(json_object_object_get(d, "usage"),
	    "output_tokens", -1), 1);
	json_object_put(o);
	o = event_data(&ss, 5, "content_block_start");
	ck_assert_str_eq(json_str(o), "{\"type\":\"content_block_start\","
	    "\"index\":1,\"content_block\":{\"type\":\"tool_use\","
	    "\"id\":\"toolu_fake_000_0\",\"name\":\"Bash\",\"input\":{}}}");
	json_object_put(o);
	o = event_data(&ss, 6, "content_block_delta");
	ck_assert_str_eq(json_str(json_object_object_get(o, "delta")),
	    "{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{\\\"command\\\":\\\"ls\\\"}\"}");
	json_object_put(o);
	o = event_data(&ss, 8, "message_delta");
	ck_assert_str_eq(json_str(json_object_object_get(o, "delta")),
	    "{\"stop_reason\":\"tool_use\",\"stop_sequence\":null}");
	json_object_put(o);
	reply_sse_clear(&ss);
	ck_assert_ptr_null(ss.ss_events);
	script_free(&s);
}
END_TEST

/* Texts are cut into deltas of whole characters that add up exactly. */
START_TEST(test_reply_deltas)
{
	struct script		*s;
	struct sse		 ss;
	struct json_object	*o, *d;
	struct buf		 all;
	const char		*piece;
	const char		*text = "aaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9"
	    "b\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93"
	    "\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xf0\x9f\x98\x80 end";
	size_t			 i, ndelta = 0;

	o = json_object_new_array();
	d = json_object_new_object();
	json_add_string(d, "text", text);
	json_object_array_add(o, d);
	s = fake_script(json_str(o));
	json_object_put(o);
	reply_events(script_pick(s, 0), "m", &ss);
	buf_init(&all, 4096);
	for (i = 0; i < ss.ss_n; i++) {
		if (strncmp(ss.ss_events[i], "event: content_block_delta\n",
		    27) != 0)
			continue;
		o = event_data(&ss, i, "content_block_delta");
		d = json_object_object_get(o, "delta");
		piece = json_peek_string(d, "text");
		ck_assert_ptr_nonnull(piece);
		ck_assert_uint_le(strlen(piece), REPLY_CHUNK);
		ck_assert_msg(((unsigned char)piece[0] & 0xc0) != 0x80,
		    "delta %zu starts inside a character", ndelta);
		buf_addstr(&all, piece);
		ndelta++;
		json_object_put(o);
	}
	ck_assert_uint_gt(ndelta, 2);
	ck_assert_str_eq(buf_str(&all), text);
	buf_free(&all);
	reply_sse_clear(&ss);
	script_free(&s);

	s = fake_script("[{\"text\":\"\"}]");
	reply_events(script_pick(s, 0), "m", &ss);
	ck_assert_uint_eq(ss.ss_n, 7);
	o = event_data(&ss, 3, "content_block_delta");
	ck_assert_str_eq(json_peek_string(json_object_object_get(o, "delta"),
	    "text"), "");
	json_object_put(o);
	reply_sse_clear(&ss);
	script_free(&s);
}
END_TEST

START_TEST(test_reply_error)
{
	struct json_object	*o;

	o = reply_error("api_error", "boom \"quoted\"", "req_1");
	ck_assert_str_eq(json_str(o), "{\"type\":\"error\",\"error\":"
	    "{\"type\":\"api_error\",\"message\":\"boom \\\"quoted\\\"\"},"
	    "\"request_id\":\"req_1\"}");
	json_object_put(o);
	o = reply_error("not_found_error", "Not found", NULL);
	ck_assert_ptr_null(json_object_object_get(o, "request_id"));
	json_object_put(o);
	ck_assert_str_eq(reply_error_type(400), "invalid_request_error");
	ck_assert_str_eq(reply_error_type(401), "authentication_error");
	ck_assert_str_eq(reply_error_type(413), "request_too_large");
	ck_assert_str_eq(reply_error_type(529), "overloaded_error");
	ck_assert_str_eq(reply_error_type(502), "api_error");
}
END_TEST

Suite *
fake_reply_suite(void)
{
	Suite	*s = suite_create("fake_reply");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_reply_message);
	tcase_add_test(tc, test_reply_events);
	tcase_add_test(tc, test_reply_deltas);
	tcase_add_test(tc, test_reply_error);
	suite_add_tcase(s, tc);
	return (s);
}
