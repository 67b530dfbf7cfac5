/* Time in milliseconds, ISO 8601 formatting, and random hex ids. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "clock.h"
#include "rnd.h"
#include "check_common.h"

START_TEST(test_clock_iso)
{
	char	buf[CLOCK_ISO_LEN], small[8];

	ck_assert_str_eq(clock_iso(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(clock_iso(1795000000123LL, buf, sizeof(buf)),
	    "2026-11-18T11:06:40.123Z");
	ck_assert_str_eq(clock_iso(-5, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(clock_iso(1, small, sizeof(small)), "");
	ck_assert_int_gt(clock_now_ms(), 1700000000000LL);
	ck_assert_int_ge(clock_mono_ms(), 0);
}
END_TEST

START_TEST(test_rnd_hex)
{
	char	a[200], b[200];
	size_t	i;

	rnd_hex(a, 150);
	rnd_hex(b, 150);
	ck_assert_uint_eq(strlen(a), 150);
	for (i = 0; i < 150; i++)
		ck_assert(isxdigit((unsigned char)a[i]) &&
		    !isupper((unsigned char)a[i]));
	ck_assert_str_ne(a, b);
	rnd_hex(a, 0);
	ck_assert_str_eq(a, "");
}
END_TEST

Suite *
clock_suite(void)
{
	Suite	*s = suite_create("clock");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_clock_iso);
	tcase_add_test(tc, test_rnd_hex);
	suite_add_tcase(s, tc);
	return (s);
}
