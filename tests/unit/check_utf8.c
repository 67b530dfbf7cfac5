/* UTF-8 validation, replacement of bad bytes, and clipping. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "check_common.h"

static void
expect_clip(const char *in, size_t len, size_t max, const char *want)
{
	char	*out;
	size_t	 outlen;

	out = utf8_clip(in, len, max, 0, &outlen);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(outlen, strlen(want));
	ck_assert(utf8_valid(out, outlen));
	free(out);
}

START_TEST(test_utf8_seqlen)
{
	ck_assert_uint_eq(utf8_seqlen("a", 1), 1);
	ck_assert_uint_eq(utf8_seqlen("\xc3\xa9", 2), 2);
	ck_assert_uint_eq(utf8_seqlen("\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(utf8_seqlen("\xf0\x9f\x98\x80", 4), 4);
	/* Truncated, overlong, surrogate, past U+10FFFF, stray, NUL. */
	ck_assert_uint_eq(utf8_seqlen("\xe2\x82", 2), 0);
	ck_assert_uint_eq(utf8_seqlen("\xc0\xaf", 2), 0);
	ck_assert_uint_eq(utf8_seqlen("\xe0\x80\xaf", 3), 0);
	ck_assert_uint_eq(utf8_seqlen("\xed\xa0\x80", 3), 0);
	ck_assert_uint_eq(utf8_seqlen("\xf4\x90\x80\x80", 4), 0);
	ck_assert_uint_eq(utf8_seqlen("\x80", 1), 0);
	ck_assert_uint_eq(utf8_seqlen("\0", 1), 0);
	ck_assert_uint_eq(utf8_seqlen("", 0), 0);
	ck_assert(utf8_valid("h\xc3\xa9llo", 6));
	ck_assert(!utf8_valid("h\xc3llo", 5));
}
END_TEST

START_TEST(test_utf8_clip)
{
	expect_clip("hello", 5, 100, "hello");
	expect_clip("", 0, 100, "");
	expect_clip("hello world", 11, 5,
	    "hello\xe2\x80\xa6[truncated 6 bytes]");
	/* Never cut inside a character: "é" does not fit in one byte. */
	expect_clip("a\xc3\xa9z", 4, 2, "a\xe2\x80\xa6[truncated 3 bytes]");
	expect_clip("a\xc3\xa9z", 4, 3,
	    "a\xc3\xa9\xe2\x80\xa6[truncated 1 bytes]");
	/* Bad bytes and NULs become U+FFFD. */
	expect_clip("a\xff" "b", 3, 100, "a\xef\xbf\xbd" "b");
	expect_clip("a\0b", 3, 100, "a\xef\xbf\xbd" "b");
	expect_clip("\xe2\x82", 2, 100, "\xef\xbf\xbd\xef\xbf\xbd");
	/* A replacement that does not fit ends the text too. */
	expect_clip("ab\xff", 3, 4, "ab\xe2\x80\xa6[truncated 1 bytes]");
}
END_TEST

/* Bytes the caller cut off beforehand are counted in the marker. */
START_TEST(test_utf8_clip_dropped)
{
	char	*out;

	out = utf8_clip("abc", 3, 10, 7, NULL);
	ck_assert_str_eq(out, "abc\xe2\x80\xa6[truncated 7 bytes]");
	free(out);
	out = utf8_clip("abcdef", 6, 2, 10, NULL);
	ck_assert_str_eq(out, "ab\xe2\x80\xa6[truncated 14 bytes]");
	free(out);
}
END_TEST

/* Text split at every byte keeps its valid characters intact. */
START_TEST(test_utf8_clip_every_budget)
{
	const char	*in = "\xe2\x82\xac-\xf0\x9f\x98\x80-\xc3\xa9";
	char		*out;
	size_t		 max, len;

	for (max = 0; max <= strlen(in) + 1; max++) {
		out = utf8_clip(in, strlen(in), max, 0, &len);
		ck_assert(utf8_valid(out, len));
		ck_assert(max >= strlen(in) ||
		    strstr(out, "[truncated") != NULL);
		free(out);
	}
}
END_TEST

Suite *
utf8_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("utf8");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_utf8_seqlen);
	tcase_add_test(tc, test_utf8_clip);
	tcase_add_test(tc, test_utf8_clip_every_budget);
	tcase_add_test(tc, test_utf8_clip_dropped);
	suite_add_tcase(s, tc);
	return (s);
}
