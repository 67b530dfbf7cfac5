/* dir_each: one level of a walk, relative and full paths, stopping. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dir.h"
#include "check_common.h"

static char	root[64];

struct seen {
	int	n;
	int	stop_at;	/* return -1 on this call (0: never) */
	char	rels[8][64];
};

static int
seen_cb(void *arg, const char *rel, const char *path, const char *name)
{
	struct seen	*sn = arg;
	char		 want[256];

	snprintf(want, sizeof(want), "%s/%s", root, rel);
	ck_assert_str_eq(path, want);
	ck_assert_str_eq(strrchr(path, '/') + 1, name);
	if (sn->n < 8)
		snprintf(sn->rels[sn->n], sizeof(sn->rels[0]), "%s", rel);
	return (++sn->n == sn->stop_at ? -1 : 0);
}

static int
rel_cmp(const void *a, const void *b)
{
	return (strcmp(a, b));
}

START_TEST(test_dir_each)
{
	struct seen	 sn;
	char		 sub[128], file[128];
	FILE		*f;

	snprintf(root, sizeof(root), "%s/dirXXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(sub, sizeof(sub), "%s/sub", root);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(file, sizeof(file), "%s/sub/f", root);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fclose(f);
	snprintf(file, sizeof(file), "%s/g", root);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fclose(f);

	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(dir_each(root, NULL, seen_cb, &sn), 0);
	ck_assert_int_eq(sn.n, 2);
	qsort(sn.rels, 2, sizeof(sn.rels[0]), rel_cmp);
	ck_assert_str_eq(sn.rels[0], "g");
	ck_assert_str_eq(sn.rels[1], "sub");

	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(dir_each(sub, "sub", seen_cb, &sn), 0);
	ck_assert_int_eq(sn.n, 1);
	ck_assert_str_eq(sn.rels[0], "sub/f");

	memset(&sn, 0, sizeof(sn));
	sn.stop_at = 1;
	ck_assert_int_eq(dir_each(root, NULL, seen_cb, &sn), -1);
	ck_assert_int_eq(sn.n, 1);
	ck_assert_int_eq(errno, 0);

	ck_assert_int_eq(dir_each(file, NULL, seen_cb, &sn), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	unlink(file);
	ck_assert_int_eq(dir_each(file, NULL, seen_cb, &sn), -1);
	ck_assert_int_eq(errno, ENOENT);
	snprintf(file, sizeof(file), "rm -rf '%s'", root);
	ck_assert_int_eq(system(file), 0);
}
END_TEST

Suite *
dir_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("dir");
	tc = tcase_create("each");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_dir_each);
	suite_add_tcase(s, tc);
	return (s);
}
