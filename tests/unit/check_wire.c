/* HTTP text by Go's rules: queries, media types, multipart, ranges, ... */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wire.h"
#include "check_e2bl.h"

START_TEST(test_wire_query)
{
	struct wire_query	 q;
	char			*cause = NULL;

	ck_assert_int_eq(wire_query_parse(&q, "path=%2Fhome%2Fuser%2Fa+b&"
	    "x=&flag&&username=user", &cause), 0);
	ck_assert_uint_eq(q.wq_n, 4);
	ck_assert_str_eq(wire_query_get(&q, "path"), "/home/user/a b");
	ck_assert_str_eq(wire_query_get(&q, "x"), "");
	ck_assert_str_eq(wire_query_get(&q, "flag"), "");
	ck_assert_ptr_null(wire_query_get(&q, "nope"));
	wire_query_free(&q);
	ck_assert_int_eq(wire_query_parse(&q, NULL, &cause), 0);
	ck_assert_uint_eq(q.wq_n, 0);
	ck_assert_int_eq(wire_query_parse(&q, "a=%zz", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "escape"));
	free(cause);
	ck_assert_int_eq(wire_query_parse(&q, "a=1;b=2", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "semicolon"));
	free(cause);
	ck_assert_int_eq(wire_query_parse(&q, "a=%4", &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_wire_media)
{
	char	*type, *v;

	ck_assert_int_eq(wire_media_type(" Multipart/Form-Data; boundary=x",
	    &type, NULL), 0);
	ck_assert_str_eq(type, "multipart/form-data");
	free(type);
	ck_assert_int_eq(wire_media_type("", &type, NULL), -1);
	ck_assert_int_eq(wire_media_param("multipart/form-data; boundary="
	    "----formdata-undici-0123", "boundary", &v), 1);
	ck_assert_str_eq(v, "----formdata-undici-0123");
	free(v);
	ck_assert_int_eq(wire_media_param("form-data; name=\"file\"; "
	    "filename=\"/home/user/a \\\"q\\\".txt\"", "filename", &v), 1);
	ck_assert_str_eq(v, "/home/user/a \"q\".txt");
	free(v);
	ck_assert_int_eq(wire_media_param("form-data; filename*=utf-8''%C3%A9; "
	    "filename=\"e\"", "filename", &v), 1);
	ck_assert_str_eq(v, "\xc3\xa9");
	free(v);
	ck_assert_int_eq(wire_media_param("text/plain", "charset", &v), 0);
	ck_assert_int_eq(wire_media_param("text/plain; charset", "charset",
	    &v), -1);
	ck_assert_int_eq(wire_media_param("text/plain; a=\"open", "a", &v),
	    -1);
}
END_TEST

START_TEST(test_wire_multipart)
{
	static const char body[] =
	    "preamble\r\n"
	    "--B\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"/home/user/m1\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "one\r\n--not-it\r\n"
	    "--B\r\n"
	    "Content-Disposition: form-data; name=\"other\"\r\n"
	    "\r\n"
	    "\r\n"
	    "--B\r\n"
	    "\r\n"
	    "bare\r\n"
	    "--B--\r\n";
	struct wire_multipart	 mp;
	char			*cause = NULL;

	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data; "
	    "boundary=B", body, sizeof(body) - 1, &cause), 0);
	ck_assert_uint_eq(mp.mp_n, 3);
	ck_assert_str_eq(mp.mp_parts[0].mp_name, "file");
	ck_assert_str_eq(mp.mp_parts[0].mp_filename, "/home/user/m1");
	ck_assert_uint_eq(mp.mp_parts[0].mp_len, 13);
	ck_assert_int_eq(memcmp(mp.mp_parts[0].mp_data, "one\r\n--not-it", 13),
	    0);
	ck_assert_str_eq(mp.mp_parts[1].mp_name, "other");
	ck_assert_ptr_null(mp.mp_parts[1].mp_filename);
	ck_assert_uint_eq(mp.mp_parts[1].mp_len, 0);
	ck_assert_str_eq(mp.mp_parts[2].mp_name, "");
	ck_assert_uint_eq(mp.mp_parts[2].mp_len, 4);
	wire_multipart_free(&mp);
}
END_TEST

START_TEST(test_wire_multipart_bad)
{
	struct wire_multipart	 mp;
	char			*cause = NULL;
	const char		*good = "--B\r\n\r\nx\r\n--B--";
	const char		*noblank = "--B\r\nno blank line\r\n--B--";

	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data", good,
	    strlen(good), &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "boundary"));
	free(cause);
	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data; "
	    "boundary=B", "no delimiter", 12, &cause), -1);
	free(cause);
	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data; "
	    "boundary=B", good, strlen(good) - 8, &cause), -1);
	free(cause);
	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data; "
	    "boundary=B", noblank, strlen(noblank), &cause), -1);
	free(cause);
	ck_assert_int_eq(wire_multipart_parse(&mp, "multipart/form-data; "
	    "boundary=B", good, strlen(good), &cause), 0);
	ck_assert_uint_eq(mp.mp_n, 1);
	wire_multipart_free(&mp);
}
END_TEST

START_TEST(test_wire_range)
{
	int64_t	st, len;

	ck_assert_int_eq(wire_range_parse(NULL, 10, &st, &len),
	    WIRE_RANGE_NONE);
	ck_assert_int_eq(wire_range_parse("bytes=2-4", 10, &st, &len),
	    WIRE_RANGE_ONE);
	ck_assert_int_eq(st, 2);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(wire_range_parse("bytes=7-", 10, &st, &len),
	    WIRE_RANGE_ONE);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(wire_range_parse("bytes=-4", 10, &st, &len),
	    WIRE_RANGE_ONE);
	ck_assert_int_eq(st, 6);
	ck_assert_int_eq(wire_range_parse("bytes=5-100", 10, &st, &len),
	    WIRE_RANGE_ONE);
	ck_assert_int_eq(len, 5);
	ck_assert_int_eq(wire_range_parse("bytes=0-1, 4-5", 10, &st, &len),
	    WIRE_RANGE_MANY);
	ck_assert_int_eq(wire_range_parse("bytes=0-8, 2-9", 10, &st, &len),
	    WIRE_RANGE_NONE);
	ck_assert_int_eq(wire_range_parse("bytes=10-", 10, &st, &len),
	    WIRE_RANGE_NOOVERLAP);
	ck_assert_int_eq(wire_range_parse("bytes=4-2", 10, &st, &len),
	    WIRE_RANGE_INVALID);
	ck_assert_int_eq(wire_range_parse("items=1-2", 10, &st, &len),
	    WIRE_RANGE_INVALID);
	ck_assert_int_eq(wire_range_parse("bytes=x-2", 10, &st, &len),
	    WIRE_RANGE_INVALID);
	ck_assert_int_eq(wire_range_parse("bytes=-", 10, &st, &len),
	    WIRE_RANGE_INVALID);
}
END_TEST

START_TEST(test_wire_accept_encoding)
{
	ck_assert_int_eq(wire_accept_encoding(NULL, 0), WIRE_ENC_IDENTITY);
	ck_assert_int_eq(wire_accept_encoding("gzip, deflate", 0),
	    WIRE_ENC_GZIP);
	ck_assert_int_eq(wire_accept_encoding("gzip, deflate", 1),
	    WIRE_ENC_IDENTITY);
	ck_assert_int_eq(wire_accept_encoding("deflate, br", 0),
	    WIRE_ENC_IDENTITY);
	ck_assert_int_eq(wire_accept_encoding("identity;q=1, gzip;q=0.5", 0),
	    WIRE_ENC_IDENTITY);
	ck_assert_int_eq(wire_accept_encoding("GZIP;q=0.9, identity;q=0.1", 0),
	    WIRE_ENC_GZIP);
	ck_assert_int_eq(wire_accept_encoding("*;q=0", 0), WIRE_ENC_NONE);
	ck_assert_int_eq(wire_accept_encoding("identity;q=0, *", 0),
	    WIRE_ENC_GZIP);
	ck_assert_int_eq(wire_accept_encoding("identity;q=0", 1),
	    WIRE_ENC_NONE);
	ck_assert_int_eq(wire_accept_encoding("br;q=1, identity;q=0", 0),
	    WIRE_ENC_NONE);
}
END_TEST

START_TEST(test_wire_mime_and_disposition)
{
	struct buf	b;

	ck_assert_str_eq(wire_mime_ext("/a/b.JSON"), "application/json");
	ck_assert_ptr_null(wire_mime_ext("/a/b"));
	ck_assert_ptr_null(wire_mime_ext("/a.d/b"));
	ck_assert_str_eq(wire_mime_sniff("", 0), "text/plain; charset=utf-8");
	ck_assert_str_eq(wire_mime_sniff("hello\n", 6),
	    "text/plain; charset=utf-8");
	ck_assert_str_eq(wire_mime_sniff("\x00\x01", 2),
	    "application/octet-stream");
	ck_assert_str_eq(wire_mime_sniff("%PDF-1.4", 8), "application/pdf");
	buf_init(&b, 1024);
	wire_disposition(&b, "inline", "a.txt");
	ck_assert_str_eq(buf_str(&b), "inline; filename=a.txt");
	buf_reset(&b);
	wire_disposition(&b, "inline", "a b\".txt");
	ck_assert_str_eq(buf_str(&b), "inline; filename=\"a b\\\".txt\"");
	buf_reset(&b);
	wire_disposition(&b, "inline", "\xc3\xa9 x");
	ck_assert_str_eq(buf_str(&b), "inline; filename*=utf-8''%C3%A9%20x");
	buf_free(&b);
}
END_TEST

START_TEST(test_wire_basic_and_date)
{
	char	*user, date[64];

	ck_assert_int_eq(wire_basic_user("Basic dXNlcjo=", &user), 1);
	ck_assert_str_eq(user, "user");
	free(user);
	ck_assert_int_eq(wire_basic_user("basic cm9vdDpwdw==", &user), 1);
	ck_assert_str_eq(user, "root");
	free(user);
	ck_assert_int_eq(wire_basic_user("Basic bm9jb2xvbg==", &user), 0);
	ck_assert_int_eq(wire_basic_user("Bearer x", &user), 0);
	ck_assert_int_eq(wire_basic_user("Basic !!!", &user), 0);
	ck_assert_int_eq(wire_basic_user(NULL, &user), 0);
	wire_http_date(date, sizeof(date), 1700000000);
	ck_assert_str_eq(date, "Tue, 14 Nov 2023 22:13:20 GMT");
}
END_TEST

Suite *
wire_suite(void)
{
	Suite	*s = suite_create("wire");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_wire_query);
	tcase_add_test(tc, test_wire_media);
	tcase_add_test(tc, test_wire_multipart);
	tcase_add_test(tc, test_wire_multipart_bad);
	tcase_add_test(tc, test_wire_range);
	tcase_add_test(tc, test_wire_accept_encoding);
	tcase_add_test(tc, test_wire_mime_and_disposition);
	tcase_add_test(tc, test_wire_basic_and_date);
	suite_add_tcase(s, tc);
	return (s);
}
