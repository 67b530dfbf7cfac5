/* Cleaning: redaction before clipping, UTF-8 repair, bounded cost. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "redact.h"
#include "check_common.h"

START_TEST(test_clean_redacts_before_clipping)
{
	char	*out;

	ck_assert_int_eq(redact_add("canary-secret-value"), 0);
	/* The clip falls inside the secret: it must still be hidden. */
	out = clean_text("key canary-secret-value end", 27, 8, 0, NULL);
	ck_assert_ptr_null(strstr(out, "canary"));
	ck_assert_ptr_nonnull(strstr(out, "[truncated"));
	free(out);
	out = clean_text("canary-secret-value", 19, CLEAN_NOLIMIT, 0, NULL);
	ck_assert_str_eq(out, "[REDACTED]");
	free(out);
	redact_clear();
}
END_TEST

START_TEST(test_clean_bounded)
{
	struct json_object	*v;
	char			*big, *out;
	size_t			 n = 1024 * 1024, len;

	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	out = clean_text(big, n, 10, 0, &len);
	ck_assert_str_eq(out,
	    "xxxxxxxxxx\xe2\x80\xa6[truncated 1048566 bytes]");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	free(big);
	v = clean_json("a\xff", 2, 100);
	ck_assert_str_eq(json_object_get_string(v), "a\xef\xbf\xbd");
	json_object_put(v);
	v = json_object_new_object();
	clean_add(v, "k", "ghp_abcdefghijklmnop", 100);
	ck_assert_str_eq(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), "{\"k\":\"[REDACTED]\"}");
	json_object_put(v);
}
END_TEST

Suite *
clean_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("clean");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_clean_redacts_before_clipping);
	tcase_add_test(tc, test_clean_bounded);
	suite_add_tcase(s, tc);
	return (s);
}
