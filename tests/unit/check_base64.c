/* base64: RFC 4648 vectors, binary round trips, bad input. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "check_common.h"

static const char *vectors[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(test_base64_vectors)
{
	struct buf	b;
	const char	*plain = vectors[_i][0], *enc = vectors[_i][1];

	buf_init(&b, 100);
	ck_assert_int_eq(base64_encode(&b, plain, strlen(plain)), 0);
	ck_assert_str_eq(buf_str(&b), enc);
	buf_reset(&b);
	ck_assert_int_eq(base64_decode(&b, enc, strlen(enc)), 0);
	ck_assert_uint_eq(buf_len(&b), strlen(plain));
	ck_assert_int_eq(memcmp(buf_str(&b), plain, strlen(plain)), 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_base64_binary_roundtrip)
{
	struct buf	enc, dec;
	unsigned char	data[1000];
	size_t		i, n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n < 10; n++) {
		buf_init(&enc, 4096);
		buf_init(&dec, 4096);
		ck_assert_int_eq(base64_encode(&enc, data, 990 + n), 0);
		ck_assert_uint_eq(buf_len(&enc), base64_encoded_len(990 + n));
		ck_assert_int_eq(base64_decode(&dec, buf_str(&enc),
		    buf_len(&enc)), 0);
		ck_assert_uint_eq(buf_len(&dec), 990 + n);
		ck_assert_int_eq(memcmp(buf_str(&dec), data, 990 + n), 0);
		buf_free(&enc);
		buf_free(&dec);
	}
}
END_TEST

START_TEST(test_base64_unpadded)
{
	struct buf	b;

	buf_init(&b, 100);
	ck_assert_int_eq(base64_decode(&b, "Zm8", 3), 0);
	ck_assert_str_eq(buf_str(&b), "fo");
	buf_free(&b);
}
END_TEST

static const char *bad_inputs[] = {
	"Z", "Zm9v!", "Zg=a", "Z===", "Zm9vY", "=Zg=", "Zg==Zg==", "Zm 9v",
};

START_TEST(test_base64_bad)
{
	struct buf	b;

	buf_init(&b, 100);
	errno = 0;
	ck_assert_int_eq(base64_decode(&b, bad_inputs[_i],
	    strlen(bad_inputs[_i])), -1);
	ck_assert_int_eq(errno, EINVAL);
	buf_free(&b);
}
END_TEST

START_TEST(test_base64_cap)
{
	struct buf	b;

	buf_init(&b, 3);
	ck_assert_int_eq(base64_encode(&b, "foo", 3), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	buf_reset(&b);
	ck_assert_int_eq(base64_decode(&b, "Zm9vYmFy", 8), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	buf_free(&b);
}
END_TEST

Suite *
base64_suite(void)
{
	Suite	*s = suite_create("base64");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_base64_vectors, 0,
	    sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(tc, test_base64_binary_roundtrip);
	tcase_add_test(tc, test_base64_unpadded);
	tcase_add_loop_test(tc, test_base64_bad, 0,
	    sizeof(bad_inputs) / sizeof(bad_inputs[0]));
	tcase_add_test(tc, test_base64_cap);
	suite_add_tcase(s, tc);
	return (s);
}
