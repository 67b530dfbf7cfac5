/* The Connect envelope codec: framing, splits, limits, bad frames. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "check_common.h"

struct collect {
	int		 frames;
	uint8_t		 flags[16];
	struct buf	 payload[16];
	int		 reject_at;	/* -1: accept every frame */
};

static void
collect_init(struct collect *c)
{
	int	i;

	memset(c, 0, sizeof(*c));
	c->reject_at = -1;
	for (i = 0; i < 16; i++)
		buf_init(&c->payload[i], 1 << 20);
}

static void
collect_free(struct collect *c)
{
	int	i;

	for (i = 0; i < 16; i++)
		buf_free(&c->payload[i]);
}

static int
collect_cb(void *arg, uint8_t flags, const char *p, size_t len)
{
	struct collect	*c = arg;

	if (c->frames == c->reject_at)
		return (-1);
	ck_assert_int_lt(c->frames, 16);
	c->flags[c->frames] = flags;
	buf_add(&c->payload[c->frames], p, len);
	c->frames++;
	return (0);
}

/* A stream of three frames: two messages and the end-of-stream. */
static void
make_stream(struct buf *s)
{
	buf_init(s, 1 << 20);
	env_encode(s, 0, "{\"event\":{\"start\":{\"pid\":1}}}", 29);
	env_encode(s, 0, "", 0);
	env_encode(s, ENV_FLAG_END, "{}", 2);
}

START_TEST(test_env_encode_header)
{
	struct buf	b;
	const uint8_t	*p;

	buf_init(&b, 1024);
	env_encode(&b, ENV_FLAG_END, "abc", 3);
	p = (const uint8_t *)buf_str(&b);
	ck_assert_uint_eq(buf_len(&b), 8);
	ck_assert_uint_eq(p[0], 0x02);
	ck_assert_uint_eq(p[1], 0);
	ck_assert_uint_eq(p[4], 3);
	ck_assert_int_eq(memcmp(p + 5, "abc", 3), 0);
	buf_reset(&b);
	env_encode(&b, 0, NULL, 0);
	ck_assert_uint_eq(buf_len(&b), 5);
	buf_free(&b);
}
END_TEST

START_TEST(test_env_header_alone)
{
	uint8_t	hdr[ENV_HDRLEN];

	ck_assert_int_eq(env_header(hdr, ENV_FLAG_END, 0x01020304), 0);
	ck_assert_uint_eq(hdr[0], ENV_FLAG_END);
	ck_assert_uint_eq(hdr[1], 1);
	ck_assert_uint_eq(hdr[2], 2);
	ck_assert_uint_eq(hdr[3], 3);
	ck_assert_uint_eq(hdr[4], 4);
	ck_assert_int_eq(env_header(hdr, 0, UINT32_MAX), 0);
	ck_assert_uint_eq(hdr[1], 0xff);
	ck_assert_uint_eq(hdr[4], 0xff);
	errno = 0;
	ck_assert_int_eq(env_header(hdr, 0, (size_t)UINT32_MAX + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(test_env_whole_stream)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			*cause;

	make_stream(&s);
	collect_init(&c);
	env_decoder_init(&ed, 1024);
	ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), buf_len(&s),
	    collect_cb, &c, &cause), 0);
	ck_assert_int_eq(c.frames, 3);
	ck_assert_str_eq(buf_str(&c.payload[0]),
	    "{\"event\":{\"start\":{\"pid\":1}}}");
	ck_assert_uint_eq(buf_len(&c.payload[1]), 0);
	ck_assert_uint_eq(c.flags[2], ENV_FLAG_END);
	ck_assert_int_eq(env_decoder_finish(&ed, &cause), 0);
	env_decoder_free(&ed);
	collect_free(&c);
	buf_free(&s);
}
END_TEST

/* Split the stream at every pair of points: frames must come out equal. */
START_TEST(test_env_split_everywhere)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	const char		*p;
	char			*cause;
	size_t			 i, j, len;

	make_stream(&s);
	p = buf_str(&s);
	len = buf_len(&s);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			collect_init(&c);
			env_decoder_init(&ed, 1024);
			ck_assert_int_eq(env_decoder_feed(&ed, p, i,
			    collect_cb, &c, &cause), 0);
			ck_assert_int_eq(env_decoder_feed(&ed, p + i, j - i,
			    collect_cb, &c, &cause), 0);
			ck_assert_int_eq(env_decoder_feed(&ed, p + j, len - j,
			    collect_cb, &c, &cause), 0);
			ck_assert_int_eq(c.frames, 3);
			ck_assert_str_eq(buf_str(&c.payload[0]),
			    "{\"event\":{\"start\":{\"pid\":1}}}");
			ck_assert_str_eq(buf_str(&c.payload[2]), "{}");
			ck_assert_int_eq(env_decoder_finish(&ed, &cause), 0);
			env_decoder_free(&ed);
			collect_free(&c);
		}
	}
	buf_free(&s);
}
END_TEST

START_TEST(test_env_byte_at_a_time_large)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			*big, *cause;
	size_t			 i, n = 100000;

	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	buf_init(&s, 1 << 20);
	env_encode(&s, 0, big, n);
	env_encode(&s, ENV_FLAG_END, "{}", 2);
	collect_init(&c);
	env_decoder_init(&ed, n);
	for (i = 0; i < buf_len(&s); i++)
		ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s) + i, 1,
		    collect_cb, &c, &cause), 0);
	ck_assert_int_eq(c.frames, 2);
	ck_assert_uint_eq(buf_len(&c.payload[0]), n);
	ck_assert_int_eq(memcmp(buf_str(&c.payload[0]), big, n), 0);
	env_decoder_free(&ed);
	collect_free(&c);
	buf_free(&s);
	free(big);
}
END_TEST

START_TEST(test_env_max_length)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			 data[64], *cause;

	memset(data, 'x', sizeof(data));
	buf_init(&s, 1024);
	env_encode(&s, 0, data, 64);
	collect_init(&c);
	env_decoder_init(&ed, 64);
	ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), buf_len(&s),
	    collect_cb, &c, &cause), 0);
	ck_assert_int_eq(c.frames, 1);
	env_decoder_free(&ed);
	collect_free(&c);

	collect_init(&c);
	env_decoder_init(&ed, 63);
	ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), buf_len(&s),
	    collect_cb, &c, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "exceeds the limit"));
	ck_assert_int_eq(c.frames, 0);
	free(cause);
	env_decoder_free(&ed);
	collect_free(&c);
	buf_free(&s);
}
END_TEST

/* A header announcing 4 GiB must be refused before anything is read. */
START_TEST(test_env_oversized_header)
{
	struct env_decoder	 ed;
	struct collect		 c;
	const uint8_t		 hdr[5] = { 0, 0xff, 0xff, 0xff, 0xff };
	char			*cause;

	collect_init(&c);
	env_decoder_init(&ed, ENV_MAX_DEFAULT);
	ck_assert_int_eq(env_decoder_feed(&ed, hdr, 5, collect_cb, &c,
	    &cause), -1);
	free(cause);
	ck_assert_int_eq(env_decoder_feed(&ed, "x", 1, collect_cb, &c,
	    &cause), -1);
	free(cause);
	env_decoder_free(&ed);
	collect_free(&c);
}
END_TEST

static const uint8_t bad_flags[] = { 0x01, 0x03, 0x04, 0x80, 0xff };

START_TEST(test_env_bad_flags)
{
	struct env_decoder	 ed;
	struct collect		 c;
	uint8_t			 hdr[7] = { 0, 0, 0, 0, 2, '{', '}' };
	char			*cause;

	hdr[0] = bad_flags[_i];
	collect_init(&c);
	env_decoder_init(&ed, 1024);
	ck_assert_int_eq(env_decoder_feed(&ed, hdr, sizeof(hdr), collect_cb,
	    &c, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_int_eq(c.frames, 0);
	free(cause);
	env_decoder_free(&ed);
	collect_free(&c);
}
END_TEST

START_TEST(test_env_truncated)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			*cause;
	size_t			 cut;

	make_stream(&s);
	/* Every prefix that is not the whole stream is incomplete. */
	for (cut = 0; cut < buf_len(&s); cut++) {
		collect_init(&c);
		env_decoder_init(&ed, 1024);
		ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), cut,
		    collect_cb, &c, &cause), 0);
		ck_assert_int_eq(env_decoder_finish(&ed, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		env_decoder_free(&ed);
		collect_free(&c);
	}
	buf_free(&s);
}
END_TEST

START_TEST(test_env_data_after_end)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			*cause;

	make_stream(&s);
	buf_addc(&s, 0);
	collect_init(&c);
	env_decoder_init(&ed, 1024);
	ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), buf_len(&s),
	    collect_cb, &c, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "after the end"));
	ck_assert_int_eq(c.frames, 3);
	free(cause);
	env_decoder_free(&ed);
	collect_free(&c);
	buf_free(&s);
}
END_TEST

START_TEST(test_env_callback_rejects)
{
	struct env_decoder	 ed;
	struct collect		 c;
	struct buf		 s;
	char			*cause;

	make_stream(&s);
	collect_init(&c);
	c.reject_at = 1;
	env_decoder_init(&ed, 1024);
	ck_assert_int_eq(env_decoder_feed(&ed, buf_str(&s), buf_len(&s),
	    collect_cb, &c, &cause), -1);
	ck_assert_int_eq(c.frames, 1);
	free(cause);
	ck_assert_int_eq(env_decoder_finish(&ed, &cause), -1);
	free(cause);
	env_decoder_free(&ed);
	collect_free(&c);
	buf_free(&s);
}
END_TEST

Suite *
envelope_suite(void)
{
	Suite	*s = suite_create("envelope");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_env_encode_header);
	tcase_add_test(tc, test_env_header_alone);
	tcase_add_test(tc, test_env_whole_stream);
	tcase_add_test(tc, test_env_split_everywhere);
	tcase_add_test(tc, test_env_byte_at_a_time_large);
	tcase_add_test(tc, test_env_max_length);
	tcase_add_test(tc, test_env_oversized_header);
	tcase_add_loop_test(tc, test_env_bad_flags, 0, sizeof(bad_flags));
	tcase_add_test(tc, test_env_truncated);
	tcase_add_test(tc, test_env_data_after_end);
	tcase_add_test(tc, test_env_callback_rejects);
	suite_add_tcase(s, tc);
	return (s);
}
