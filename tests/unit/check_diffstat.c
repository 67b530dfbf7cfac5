/* git --numstat (with and without -z) and --shortstat parsing. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diffstat.h"
#include "check_worker.h"

static void
numstat_ok(struct diffstat *ds, const char *text, size_t len)
{
	char	*cause = NULL;

	diffstat_init(ds);
	ck_assert_msg(diffstat_numstat(ds, text, len, &cause) == 0, "%s",
	    cause);
}

static void
expect_file(const struct diffstat *ds, size_t i, const char *path,
    const char *from, int64_t ins, int64_t del, int bin)
{
	const struct diffstat_file	*df = &ds->ds_list[i];

	ck_assert_uint_lt(i, ds->ds_nlist);
	ck_assert_str_eq(df->df_path, path);
	if (from == NULL)
		ck_assert_ptr_null(df->df_from);
	else
		ck_assert_str_eq(df->df_from, from);
	ck_assert_int_eq(df->df_insertions, ins);
	ck_assert_int_eq(df->df_deletions, del);
	ck_assert_int_eq(df->df_binary, bin);
}

START_TEST(test_numstat_lines)
{
	struct diffstat	 ds;
	const char	*t = "10\t2\tsrc/a.c\n-\t-\timg/logo.png\n"
	    "3\t3\told.c => new.c\n1\t0\tsrc/{lib => core}/x.c\n"
	    "0\t0\tdir/{ => sub}/f.txt\n2\t1\t{a => b}/g\n"
	    "4\t0\t\"sp ace\\tand\\303\\251\"\n";

	numstat_ok(&ds, t, strlen(t));
	ck_assert_uint_eq(ds.ds_files, 7);
	ck_assert_int_eq(ds.ds_insertions, 20);
	ck_assert_int_eq(ds.ds_deletions, 6);
	ck_assert_uint_eq(ds.ds_binary, 1);
	ck_assert_uint_eq(ds.ds_renamed, 4);
	expect_file(&ds, 0, "src/a.c", NULL, 10, 2, 0);
	expect_file(&ds, 1, "img/logo.png", NULL, 0, 0, 1);
	expect_file(&ds, 2, "new.c", "old.c", 3, 3, 0);
	expect_file(&ds, 3, "src/core/x.c", "src/lib/x.c", 1, 0, 0);
	expect_file(&ds, 4, "dir/sub/f.txt", "dir/f.txt", 0, 0, 0);
	expect_file(&ds, 5, "b/g", "a/g", 2, 1, 0);
	expect_file(&ds, 6, "sp ace\tand\xc3\xa9", NULL, 4, 0, 0);
	diffstat_free(&ds);
	ck_assert_uint_eq(ds.ds_files, 0);
}
END_TEST

START_TEST(test_numstat_z)
{
	struct diffstat		 ds;
	struct json_object	*o;
	static const char	 t[] = "10\t2\tsrc/a.c\0-\t-\tbin.dat\0"
	    "3\t1\t\0old name.c\0new => name.c\0";

	numstat_ok(&ds, t, sizeof(t) - 1);
	ck_assert_uint_eq(ds.ds_files, 3);
	ck_assert_uint_eq(ds.ds_renamed, 1);
	expect_file(&ds, 1, "bin.dat", NULL, 0, 0, 1);
	expect_file(&ds, 2, "new => name.c", "old name.c", 3, 1, 0);
	o = diffstat_json(&ds);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"files_changed\":3,\"insertions\":13,\"deletions\":3,"
	    "\"binary_files\":1,\"renamed\":1,\"files\":[{\"path\":\"src/a.c\","
	    "\"insertions\":10,\"deletions\":2,\"binary\":false},{\"path\":"
	    "\"bin.dat\",\"insertions\":0,\"deletions\":0,\"binary\":true},"
	    "{\"path\":\"new => name.c\",\"from\":\"old name.c\",\"insertions\""
	    ":3,\"deletions\":1,\"binary\":false}],\"files_truncated\":false}");
	json_object_put(o);
	diffstat_free(&ds);
}
END_TEST

START_TEST(test_numstat_errors)
{
	struct diffstat	 ds;
	const char	*t;
	char		*cause = NULL;
	static const char z[] = "1\t1\t\0only-old\0";

	diffstat_init(&ds);
	ck_assert_int_eq(diffstat_numstat(&ds, "1\t2\ta\nx\t2\tb\n", 12,
	    &cause), -1);
	ck_assert_str_eq(cause, "numstat line 2: malformed");
	free(cause);
	ck_assert_uint_eq(ds.ds_files, 1);
	ck_assert_int_eq(diffstat_numstat(&ds, "1\t-\tc\n", 6, &cause), -1);
	free(cause);
	ck_assert_int_eq(diffstat_numstat(&ds, "1\t2\t\n", 5, &cause), -1);
	free(cause);
	t = "99999999999999999\t2\tc\n";
	ck_assert_int_eq(diffstat_numstat(&ds, t, strlen(t), &cause), -1);
	free(cause);
	ck_assert_int_eq(diffstat_numstat(&ds, z, sizeof(z) - 1, &cause), -1);
	ck_assert_str_eq(cause, "numstat record 1: malformed");
	free(cause);
	diffstat_free(&ds);
}
END_TEST

/* Only the first DIFFSTAT_LIST_MAX files are listed; totals count all. */
START_TEST(test_numstat_many)
{
	struct diffstat		 ds;
	struct json_object	*o, *v;
	struct buf		 b;
	int			 i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < DIFFSTAT_LIST_MAX + 50; i++)
		buf_printf(&b, "1\t1\tf%d\n", i);
	numstat_ok(&ds, buf_str(&b), buf_len(&b));
	ck_assert_uint_eq(ds.ds_files, DIFFSTAT_LIST_MAX + 50);
	ck_assert_uint_eq(ds.ds_nlist, DIFFSTAT_LIST_MAX);
	o = diffstat_json(&ds);
	ck_assert(json_object_object_get_ex(o, "files_truncated", &v));
	ck_assert(json_object_get_boolean(v));
	json_object_put(o);
	diffstat_free(&ds);
	buf_free(&b);
}
END_TEST

START_TEST(test_shortstat)
{
	struct diffstat	 ds;
	const char	*t;
	char		*cause = NULL;

	diffstat_init(&ds);
	t = " 3 files changed, 10 insertions(+), 2 deletions(-)\n";
	ck_assert_int_eq(diffstat_shortstat(&ds, t, strlen(t), &cause), 0);
	ck_assert_uint_eq(ds.ds_files, 3);
	ck_assert_int_eq(ds.ds_insertions, 10);
	ck_assert_int_eq(ds.ds_deletions, 2);
	diffstat_init(&ds);
	t = " 1 file changed, 1 deletion(-)";
	ck_assert_int_eq(diffstat_shortstat(&ds, t, strlen(t), &cause), 0);
	ck_assert_uint_eq(ds.ds_files, 1);
	ck_assert_int_eq(ds.ds_deletions, 1);
	diffstat_init(&ds);
	ck_assert_int_eq(diffstat_shortstat(&ds, "", 0, &cause), 0);
	ck_assert_uint_eq(ds.ds_files, 0);
	ck_assert_int_eq(diffstat_shortstat(&ds, "lots of changes", 15,
	    &cause), -1);
	ck_assert_str_eq(cause, "shortstat: cannot read \"lots of changes\"");
	free(cause);
}
END_TEST

Suite *
diffstat_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("diffstat");
	tc = tcase_create("parse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_numstat_lines);
	tcase_add_test(tc, test_numstat_z);
	tcase_add_test(tc, test_numstat_errors);
	tcase_add_test(tc, test_numstat_many);
	tcase_add_test(tc, test_shortstat);
	suite_add_tcase(s, tc);
	return (s);
}
