/* Bounded buffers: growth, the cap, consume, detach. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check_common.h"

START_TEST(test_buf_add_and_str)
{
	struct buf	b;

	buf_init(&b, 1024);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_addstr(&b, "hello"), 0);
	ck_assert_int_eq(buf_addc(&b, ' '), 0);
	ck_assert_int_eq(buf_printf(&b, "%s %d", "world", 42), 0);
	ck_assert_str_eq(buf_str(&b), "hello world 42");
	ck_assert_uint_eq(buf_len(&b), 14);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_cap_refuses)
{
	struct buf	b;
	char		big[100];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 64);
	ck_assert_int_eq(buf_add(&b, big, 64), 0);
	errno = 0;
	ck_assert_int_eq(buf_add(&b, "y", 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(buf_len(&b), 64);
	ck_assert_uint_eq(buf_room(&b), 0);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_cap_exact_grow)
{
	struct buf	b;
	size_t		i;

	buf_init(&b, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_addc(&b, (char)('a' + i % 26)), 0);
	ck_assert_int_eq(buf_addc(&b, 'z'), -1);
	ck_assert_uint_le(b.b_cap, 1000);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_huge_request)
{
	struct buf	b;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_add(&b, "", (size_t)-1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume_truncate_detach)
{
	struct buf	b;
	char		*p;
	size_t		 len;

	buf_init(&b, 100);
	buf_addstr(&b, "line1\nline2\n");
	buf_consume(&b, 6);
	ck_assert_str_eq(buf_str(&b), "line2\n");
	buf_truncate(&b, 5);
	ck_assert_str_eq(buf_str(&b), "line2");
	buf_consume(&b, 99);
	ck_assert_uint_eq(buf_len(&b), 0);
	buf_addstr(&b, "abc");
	p = buf_detach(&b, &len);
	ck_assert_str_eq(p, "abc");
	ck_assert_uint_eq(len, 3);
	ck_assert_ptr_null(b.b_data);
	free(p);
	p = buf_detach(&b, &len);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
}
END_TEST

START_TEST(test_buf_binary)
{
	struct buf	b;
	const char	data[] = { 'a', '\0', 'b' };

	buf_init(&b, 10);
	ck_assert_int_eq(buf_add(&b, data, 3), 0);
	ck_assert_uint_eq(buf_len(&b), 3);
	ck_assert_int_eq(memcmp(buf_str(&b), data, 3), 0);
	ck_assert_int_eq(buf_str(&b)[3], '\0');
	buf_free(&b);
}
END_TEST

/* Reading a file: whole, capped with the truncation said, missing. */
START_TEST(test_buf_read_file)
{
	char		 path[] = "/tmp/check_buf.XXXXXX";
	struct buf	 b;
	int		 fd, truncated;
	size_t		 i;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_read_file(&b, path, 1 << 20, &truncated), 0);
	ck_assert_int_eq(truncated, 0);
	ck_assert_uint_eq(buf_len(&b), 100000);
	ck_assert_int_eq(memcmp(buf_str(&b) + 99990, "0123456789", 10), 0);
	buf_reset(&b);
	ck_assert_int_eq(buf_read_file(&b, path, 25, &truncated), 0);
	ck_assert_int_eq(truncated, 1);
	ck_assert_str_eq(buf_str(&b), "0123456789012345678901234");
	buf_free(&b);
	buf_init(&b, 7);
	ck_assert_int_eq(buf_read_file(&b, path, 100, &truncated), 0);
	ck_assert_int_eq(truncated, 1);
	ck_assert_uint_eq(buf_len(&b), 7);
	buf_free(&b);
	unlink(path);
	ck_assert_int_eq(buf_read_file(&b, path, 100, &truncated), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_buf_add_and_str);
	tcase_add_test(tc, test_buf_cap_refuses);
	tcase_add_test(tc, test_buf_cap_exact_grow);
	tcase_add_test(tc, test_buf_huge_request);
	tcase_add_test(tc, test_buf_consume_truncate_detach);
	tcase_add_test(tc, test_buf_binary);
	tcase_add_test(tc, test_buf_read_file);
	suite_add_tcase(s, tc);
	return (s);
}
