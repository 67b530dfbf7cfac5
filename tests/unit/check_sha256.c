/* SHA-256 against the FIPS 180-4 examples and padding boundaries. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "check_common.h"

/* Hash msg in chunks of step bytes (0: all at once) and compare. */
static void
expect_chunked(const char *msg, size_t len, size_t step, const char *want)
{
	struct sha256	sh;
	uint8_t		md[SHA256_DIGEST_LEN];
	char		hex[SHA256_HEX_LEN + 1];
	size_t		off, n;

	sha256_init(&sh);
	if (step == 0)
		step = len == 0 ? 1 : len;
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		sha256_update(&sh, msg + off, n);
	}
	sha256_final(&sh, md);
	sha256_hex(md, hex);
	ck_assert_str_eq(hex, want);
}

static void
expect(const char *msg, size_t len, const char *want)
{
	char	hex[SHA256_HEX_LEN + 1];
	size_t	steps[] = { 0, 1, 3, 63, 64, 65 };
	size_t	i;

	sha256_digest_hex(msg, len, hex);
	ck_assert_str_eq(hex, want);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		expect_chunked(msg, len, steps[i], want);
}

START_TEST(test_sha256_fips)
{
	const char	*two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmn"
	    "lmnomnopnopq";
	const char	*four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijk"
	    "lmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
	    "nopqrstu";

	expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
	    "1b7852b855");
	expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb41"
	    "0ff61f20015ad");
	expect(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff"
	    "2167f6ecedd419db06c1");
	expect(four, strlen(four), "cf5b16a778af8380036ce59e7b0492370b249b11e"
	    "8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_sha256_million)
{
	char	*a;

	a = malloc(1000000);
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', 1000000);
	expect(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e0"
	    "46d39ccc7112cd0");
	free(a);
}
END_TEST

/* Lengths around the 55/56/64-byte padding boundaries. */
START_TEST(test_sha256_boundaries)
{
	static const struct {
		size_t		 len;
		const char	*hex;
	} v[] = {
		{ 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989"
		    "fac77e4072" },
		{ 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a"
		    "377c16888e" },
		{ 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48"
		    "d89776d6f2" },
		{ 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd621"
		    "9506b5393c" },
		{ 65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633a"
		    "d565aed7e9" },
		{ 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029"
		    "e0d9fa5fb0c" },
		{ 120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37"
		    "308b276ba98" },
	};
	char	x[128];
	size_t	i;

	memset(x, 'x', sizeof(x));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect(x, v[i].len, v[i].hex);
}
END_TEST

Suite *
sha256_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sha256");
	tc = tcase_create("vectors");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sha256_fips);
	tcase_add_test(tc, test_sha256_million);
	tcase_add_test(tc, test_sha256_boundaries);
	suite_add_tcase(s, tc);
	return (s);
}
