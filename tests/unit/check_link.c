/* The worker's link, standalone mode: JSON lines, numbered, redacted. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "link.h"
#include "redact.h"
#include "check_worker.h"

START_TEST(test_link_stdio_lines)
{
	struct event_base	*base = event_base_new();
	struct link		*l;
	struct json_object	*m;
	char			 text[4096];
	FILE			*f = tmpfile();
	size_t			 n;

	ck_assert_int_eq(redact_add("super-secret-value"), 0);
	l = link_open_stdio(base, fileno(f));
	ck_assert(!link_is_zmq(l));
	m = link_msg(l, MSG_PHASE);
	json_add_string(m, "phase", "running");
	json_add_int(m, "at", 5);
	ck_assert_int_eq(link_send(l, m), 0);
	m = link_msg(l, MSG_LOG);
	json_add_string(m, "level", "info");
	json_add_string(m, "msg", "token super-secret-value here");
	ck_assert_int_eq(link_send(l, m), 0);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	ck_assert_str_eq(text,
	    "{\"v\":1,\"type\":\"phase\",\"seq\":1,\"phase\":\"running\","
	    "\"at\":5}\n"
	    "{\"v\":1,\"type\":\"log\",\"seq\":2,\"level\":\"info\","
	    "\"msg\":\"token [REDACTED] here\"}\n");
	link_close(&l);
	ck_assert_ptr_null(l);
	fclose(f);
	event_base_free(base);
	redact_clear();
}
END_TEST

/* A message over the protocol's limit is dropped, not sent half. */
START_TEST(test_link_too_large)
{
	struct event_base	*base = event_base_new();
	struct link		*l;
	struct json_object	*m;
	FILE			*f = tmpfile();
	char			*big;

	big = malloc(PROTO_MAX_MSG + 10);
	memset(big, 'x', PROTO_MAX_MSG + 9);
	big[PROTO_MAX_MSG + 9] = '\0';
	l = link_open_stdio(base, fileno(f));
	m = link_msg(l, MSG_LOG);
	json_add_string(m, "level", "info");
	json_add_string(m, "msg", big);
	ck_assert_int_eq(link_send(l, m), -1);
	ck_assert_int_eq(ftell(f), 0);
	link_close(&l);
	fclose(f);
	free(big);
	event_base_free(base);
}
END_TEST

START_TEST(test_link_zmq_refused)
{
	struct event_base	*base = event_base_new();
	char			*cause = NULL;

	ck_assert_ptr_null(link_open_zmq(base, "nonsense://x", "j-1",
	    &cause));
	ck_assert_ptr_nonnull(strstr(cause, "cannot connect to nonsense://x"));
	free(cause);
	event_base_free(base);
}
END_TEST

Suite *
link_suite(void)
{
	Suite	*s = suite_create("link");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_link_stdio_lines);
	tcase_add_test(tc, test_link_too_large);
	tcase_add_test(tc, test_link_zmq_refused);
	suite_add_tcase(s, tc);
	return (s);
}
