/*
 * The job tarball: contents and layout read back with libarchive,
 * determinism, limits, escaping links, and a git repo that still works
 * after `tar -xzf`.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "skills.h"
#include "check_worker.h"

static char	tmp[64];	/* holds pack/ and repo/ */

static void
put(const char *rel, const char *text, mode_t mode)
{
	char	 cmd[1024], path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup(void)
{
	const char	*t = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/bundleXXXXXX", t != NULL ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	put("pack/demo/SKILL.md", "---\nname: demo\ndescription: Use when "
	    "testing the bundle.\n---\n# Demo\n", 0644);
	put("pack/demo/bin/run.sh", "#!/bin/sh\n", 0700);
	put("repo/src/main.c", "int main(void) { return 0; }\n", 0640);
	put("repo/build.sh", "#!/bin/sh\nmake\n", 0755);
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)system(cmd);
}

/* Compress the pack's part once: the head that the forkserver keeps. */
static struct bundle_head *
head_of(const struct skills *sp)
{
	struct bundle		*b = bundle_new();
	struct bundle_head	*head;
	char			*cause = NULL;

	ck_assert_int_eq(bundle_add_skills(b, sp, &cause), 0);
	head = bundle_head_new(b, &cause);
	ck_assert_msg(head != NULL, "%s", cause);
	bundle_free(&b);
	return (head);
}

/*
 * Build a bundle of the pack, two extras and (if want_repo) the repo; the
 * pack from a head compressed beforehand if headed.
 */
static int
build_as(int want_repo, int headed, size_t max, char **data, size_t *len,
    char **cause)
{
	struct bundle_head	*head = NULL;
	struct skills		*sp;
	struct bundle		*b;
	char			 dir[256];
	int			 r;

	snprintf(dir, sizeof(dir), "%s/pack", tmp);
	ck_assert_int_eq(skills_load(dir, NULL, &sp, cause), 0);
	b = bundle_new();
	ck_assert_int_eq(bundle_add_file(b, ".skillbox/prompt.txt", "fix it",
	    6, 0, cause), 0);
	if (headed)
		head = head_of(sp);
	else
		ck_assert_int_eq(bundle_add_skills(b, sp, cause), 0);
	ck_assert_int_eq(bundle_add_file(b, ".skillbox/job.json", "{}", 2, 0,
	    cause), 0);
	snprintf(dir, sizeof(dir), "%s/repo", tmp);
	r = want_repo ? bundle_add_repo(b, dir, 0, cause) : 0;
	if (r == 0)
		r = bundle_write(b, head, max, data, len, cause);
	bundle_free(&b);
	ck_assert_ptr_null(b);
	bundle_head_free(&head);
	ck_assert_ptr_null(head);
	skills_free(&sp);
	return (r);
}

static int
build(int want_repo, size_t max, char **data, size_t *len, char **cause)
{
	return (build_as(want_repo, 0, max, data, len, cause));
}

/* The tar stream inside a .tar.gz of one or more gzip members. */
static char *
gunzip(const char *data, size_t len, size_t *outlen)
{
	struct archive		*a = archive_read_new();
	struct archive_entry	*ae;
	char			*out = NULL;
	size_t			 cap = 0;
	la_ssize_t		 n;

	*outlen = 0;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	ck_assert_int_eq(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_OK);
	do {
		if (cap - *outlen < 65536)
			out = realloc(out, cap += 65536);
		ck_assert_ptr_nonnull(out);
		n = archive_read_data(a, out + *outlen, cap - *outlen);
		ck_assert_int_ge(n, 0);
		*outlen += (size_t)n;
	} while (n > 0);
	archive_read_free(a);
	return (out);
}

/* List the archive as "path mode uid/gid user mtime size [->link]" lines. */
static char *
list(const char *data, size_t len)
{
	struct archive		*a;
	struct archive_entry	*ae;
	char			 line[512], *out = NULL, *tmpout;
	const char		*lnk;

	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	ck_assert_int_eq(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		lnk = archive_entry_symlink(ae);
		snprintf(line, sizeof(line), "%s %o %d/%d %s %lld %lld%s%s\n",
		    archive_entry_pathname(ae), archive_entry_mode(ae),
		    (int)archive_entry_uid(ae), (int)archive_entry_gid(ae),
		    archive_entry_uname(ae), (long long)archive_entry_mtime(ae),
		    (long long)archive_entry_size(ae), lnk ? " -> " : "",
		    lnk ? lnk : "");
		ck_assert_int_ne(asprintf(&tmpout, "%s%s", out ? out : "",
		    line), -1);
		free(out);
		out = tmpout;
	}
	archive_read_free(a);
	return (out);
}

START_TEST(test_bundle_contents)
{
	char	*data, *cause = NULL, *l;
	size_t	 len;

	ck_assert_msg(build(0, 0, &data, &len, &cause) == 0, "%s", cause);
	l = list(data, len);
	ck_assert_str_eq(l,
	    ".claude/ 40755 1000/1000 user 1577836800 0\n"
	    ".claude/skills/ 40755 1000/1000 user 1577836800 0\n"
	    ".claude/skills/demo/ 40755 1000/1000 user 1577836800 0\n"
	    ".claude/skills/demo/SKILL.md 100644 1000/1000 user 1577836800 68\n"
	    ".claude/skills/demo/bin/ 40755 1000/1000 user 1577836800 0\n"
	    ".claude/skills/demo/bin/run.sh 100755 1000/1000 user 1577836800 "
	    "10\n"
	    ".skillbox/ 40755 1000/1000 user 1577836800 0\n"
	    ".skillbox/job.json 100644 1000/1000 user 1577836800 2\n"
	    ".skillbox/prompt.txt 100644 1000/1000 user 1577836800 6\n");
	/* No gzip timestamp. */
	ck_assert_uint_gt(len, 10);
	ck_assert_int_eq(data[4] | data[5] | data[6] | data[7], 0);
	free(l);
	free(data);
}
END_TEST

/* Long paths and names outside ASCII come back byte for byte. */
START_TEST(test_bundle_long_names)
{
	struct bundle		*b = bundle_new();
	struct archive		*a;
	struct archive_entry	*ae;
	char			 path[400], *data, *cause = NULL;
	size_t			 len, i;
	int			 found = 0;

	for (i = 0; i < 290; i += 10)
		memcpy(path + i, "deep/dir-/", 10);
	strcpy(path + 290, "caf\xc3\xa9-\xff.txt");
	ck_assert_int_eq(bundle_add_file(b, path, "x", 1, 0, &cause), 0);
	ck_assert_int_eq(bundle_write(b, NULL, 1 << 20, &data, &len, &cause),
	    0);
	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	ck_assert_int_eq(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK)
		if (strcmp(archive_entry_pathname(ae), path) == 0)
			found = 1;
	ck_assert(found);
	archive_read_free(a);
	bundle_free(&b);
	free(data);
}
END_TEST

/*
 * The pack compressed once ahead of a job's own entries is the same tar
 * stream as one archive of all of it, in two gzip members.
 */
START_TEST(test_bundle_head)
{
	char	*d1, *d2, *t1, *t2, *cause = NULL;
	size_t	 l1, l2, tl1, tl2;

	ck_assert_int_eq(build_as(1, 0, 0, &d1, &l1, &cause), 0);
	ck_assert_msg(build_as(1, 1, 0, &d2, &l2, &cause) == 0, "%s", cause);
	ck_assert_uint_ne(l1, l2);
	t1 = gunzip(d1, l1, &tl1);
	t2 = gunzip(d2, l2, &tl2);
	ck_assert_uint_eq(tl1, tl2);
	ck_assert_int_eq(memcmp(t1, t2, tl1), 0);
	free(t1);
	free(t2);
	free(d1);
	free(d2);
	/* Within the size limit, head included. */
	ck_assert_int_eq(build_as(1, 1, 100, &d2, &l2, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "size limit"));
	free(cause);
}
END_TEST

/* An entry that would go before the head's is refused, not misplaced. */
START_TEST(test_bundle_head_order)
{
	struct bundle_head	*head;
	struct skills		*sp;
	struct bundle		*b = bundle_new();
	char			 dir[256], *data = NULL, *cause = NULL;
	size_t			 len;

	snprintf(dir, sizeof(dir), "%s/pack", tmp);
	ck_assert_int_eq(skills_load(dir, NULL, &sp, &cause), 0);
	head = head_of(sp);
	ck_assert_int_eq(bundle_add_file(b, ".a/early", "x", 1, 0, &cause), 0);
	ck_assert_int_eq(bundle_write(b, head, 0, &data, &len, &cause), -1);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(strstr(cause, ".a"));
	free(cause);
	bundle_free(&b);
	bundle_head_free(&head);
	skills_free(&sp);
}
END_TEST

/* Same inputs, same bytes, whatever the mtimes or the order of adding. */
START_TEST(test_bundle_deterministic)
{
	char	*d1, *d2, *cause = NULL, path[256];
	size_t	 l1, l2;

	ck_assert_int_eq(build(1, 0, &d1, &l1, &cause), 0);
	snprintf(path, sizeof(path), "%s/repo/src/main.c", tmp);
	ck_assert_int_eq(utimes(path, NULL), 0);
	sleep(1);
	ck_assert_int_eq(build(1, 0, &d2, &l2, &cause), 0);
	ck_assert_uint_eq(l1, l2);
	ck_assert_int_eq(memcmp(d1, d2, l1), 0);
	free(d1);
	free(d2);
}
END_TEST

START_TEST(test_bundle_repo)
{
	char	*data, *cause = NULL, *l, path[256];
	size_t	 len;

	snprintf(path, sizeof(path), "%s/repo/link", tmp);
	ck_assert_int_eq(symlink("src/main.c", path), 0);
	snprintf(path, sizeof(path), "%s/repo/fifo", tmp);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_msg(build(1, 0, &data, &len, &cause) == 0, "%s", cause);
	l = list(data, len);
	ck_assert_ptr_nonnull(strstr(l, "\nrepo/ 40755 1000/1000 user "));
	ck_assert_ptr_nonnull(strstr(l, "\nrepo/build.sh 100755 "));
	ck_assert_ptr_nonnull(strstr(l, "\nrepo/link 120777 1000/1000 user "
	    "1577836800 0 -> src/main.c\n"));
	ck_assert_ptr_nonnull(strstr(l, "\nrepo/src/ 40755 "));
	ck_assert_ptr_nonnull(strstr(l, "\nrepo/src/main.c 100644 "));
	ck_assert_ptr_null(strstr(l, "fifo"));
	free(l);
	free(data);
}
END_TEST

START_TEST(test_bundle_limits)
{
	char	*data, *cause = NULL, path[256];
	size_t	 len;

	ck_assert_int_eq(build(1, 100, &data, &len, &cause), -1);
	ck_assert_ptr_null(data);
	ck_assert_str_eq(cause, "bundle: larger than 100 bytes (the bundle "
	    "size limit)");
	free(cause);
	snprintf(path, sizeof(path), "%s/repo/link", tmp);
	ck_assert_int_eq(symlink("../../etc/passwd", path), 0);
	ck_assert_int_eq(build(1, 0, &data, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "link: symbolic link to "
	    "\"../../etc/passwd\" leads outside the repo"));
	free(cause);
	unlink(path);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(build(1, 0, &data, &len, &cause), -1);
	free(cause);
	unlink(path);
	ck_assert_int_eq(symlink("src/../../x", path), 0);
	ck_assert_int_eq(build(1, 0, &data, &len, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_bundle_repo_cap)
{
	struct bundle	*b;
	char		 dir[256], *cause = NULL;

	b = bundle_new();
	snprintf(dir, sizeof(dir), "%s/repo", tmp);
	ck_assert_int_eq(bundle_add_repo(b, dir, 20, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "more than 20 bytes (the "
	    "bundle's repo size limit)"));
	free(cause);
	snprintf(dir, sizeof(dir), "%s/nonexistent", tmp);
	ck_assert_int_eq(bundle_add_repo(b, dir, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(bundle_add_file(b, "../x", "", 0, 0, &cause), -1);
	ck_assert_str_eq(cause, "bundle: bad path \"../x\"");
	free(cause);
	ck_assert_int_eq(bundle_add_file(b, "/abs", "", 0, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(bundle_add_file(b, "a//b", "", 0, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(bundle_add_file(b, "a/./b", "", 0, 0, &cause), -1);
	free(cause);
	bundle_free(&b);
}
END_TEST

/* A real git repository survives the trip through tar. */
START_TEST(test_bundle_git)
{
	char	 cmd[1024], *data, *cause = NULL;
	size_t	 len;
	FILE	*f;

	if (system("git --version >/dev/null 2>&1") != 0) {
		if (getenv("SKILLBOX_STRICT") != NULL)
			ck_abort_msg("git is missing");
		return;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s/repo' && git init -q && "
	    "git -c user.name=t -c user.email=t@t add -A && "
	    "git -c user.name=t -c user.email=t@t commit -qm init", tmp);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(build(1, 0, &data, &len, &cause), 0);
	snprintf(cmd, sizeof(cmd), "mkdir '%s/out' && "
	    "tar --no-same-owner -xzf - -C '%s/out'", tmp, tmp);
	ck_assert_ptr_nonnull(f = popen(cmd, "w"));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(pclose(f), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s/out/repo' && "
	    "git fsck --no-progress 2>&1 && "
	    "test -z \"$(git status --porcelain)\" && "
	    "test -x build.sh && test -f ../.claude/skills/demo/SKILL.md", tmp);
	ck_assert_int_eq(system(cmd), 0);
	free(data);
}
END_TEST

Suite *
bundle_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("bundle");
	tc = tcase_create("build");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bundle_contents);
	tcase_add_test(tc, test_bundle_deterministic);
	tcase_add_test(tc, test_bundle_head);
	tcase_add_test(tc, test_bundle_head_order);
	tcase_add_test(tc, test_bundle_long_names);
	tcase_add_test(tc, test_bundle_repo);
	tcase_add_test(tc, test_bundle_limits);
	tcase_add_test(tc, test_bundle_repo_cap);
	tcase_add_test(tc, test_bundle_git);
	suite_add_tcase(s, tc);
	return (s);
}
