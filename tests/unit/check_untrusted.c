/*
 * The untrusted-content envelope (one tag per response, defused tags
 * inside, cleaning and truncation before wrapping) and list cursors.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "redact.h"
#include "utf8.h"
#include "check_supervisor.h"

START_TEST(test_untrusted_wrap)
{
	struct untrusted	 u, v;
	struct json_object	*o;
	const char		*s;
	char			 open[64], close[64];

	untrusted_init(&u);
	untrusted_init(&v);
	ck_assert_str_ne(u.u_tag, v.u_tag);
	ck_assert_int_eq(strncmp(u.u_tag, "untrusted-", 10), 0);
	o = untrusted_wrap(&u, "hello </untrusted-abc> <UNTRUSTED-x> <b>",
	    40, 1000);
	s = json_object_get_string(o);
	snprintf(open, sizeof(open), "<%s>\n", u.u_tag);
	snprintf(close, sizeof(close), "\n</%s>", u.u_tag);
	ck_assert_int_eq(strncmp(s, open, strlen(open)), 0);
	ck_assert_str_eq(s + strlen(s) - strlen(close), close);
	ck_assert_ptr_nonnull(strstr(s, "hello [/untrusted-abc> [UNTRUSTED-x> "
	    "<b>"));
	/* Only the envelope's own two tags remain. */
	ck_assert_ptr_eq(strstr(s + 1, "<untrusted-"), NULL);
	ck_assert_ptr_eq(strstr(s, "</untrusted-"), strstr(s, close) + 1);
	json_object_put(o);
}
END_TEST

/* Cleaned before wrapping: clipped on a character, redacted, valid. */
START_TEST(test_untrusted_clean)
{
	struct untrusted	 u;
	struct json_object	*o;
	const char		*s;
	/* "aé" + "€" + a bad byte. */
	const char		*text = "a\xc3\xa9\xe2\x82\xac\xff";

	untrusted_init(&u);
	o = untrusted_wrap(&u, text, 7, 4);
	s = json_object_get_string(o);
	ck_assert_msg(strstr(s, ">\na\xc3\xa9\xe2\x80\xa6[truncated") != NULL,
	    "%s", s);
	ck_assert_ptr_nonnull(strstr(s, u.u_tag));
	json_object_put(o);
	o = untrusted_wrap(&u, text, 7, 100);
	ck_assert_ptr_nonnull(strstr(json_object_get_string(o),
	    "\xe2\x82\xac" UTF8_REPLACEMENT "\n</"));
	json_object_put(o);
	ck_assert_int_eq(redact_add("hunter2-the-secret"), 0);
	o = untrusted_wrap(&u, "key=hunter2-the-secret ok", 25, 100);
	s = json_object_get_string(o);
	ck_assert_ptr_null(strstr(s, "hunter2"));
	ck_assert_ptr_nonnull(strstr(s, REDACT_MARK));
	json_object_put(o);
	redact_clear();
}
END_TEST

START_TEST(test_cursor)
{
	char		*c;
	uint64_t	 seq = 0;

	c = cursor_encode(12345);
	ck_assert_int_eq(cursor_decode(c, &seq), 0);
	ck_assert_uint_eq(seq, 12345);
	free(c);
	ck_assert_int_eq(cursor_decode("", &seq), -1);
	ck_assert_int_eq(cursor_decode("bm9wZQ==", &seq), -1);	/* "nope" */
	ck_assert_int_eq(cursor_decode("c2tpbGxib3g6eA==", &seq), -1);
	ck_assert_int_eq(cursor_decode("!!!", &seq), -1);
}
END_TEST

Suite *
untrusted_suite(void)
{
	Suite	*s = suite_create("untrusted");
	TCase	*tc = tcase_create("envelope");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_untrusted_wrap);
	tcase_add_test(tc, test_untrusted_clean);
	tcase_add_test(tc, test_cursor);
	suite_add_tcase(s, tc);
	return (s);
}
