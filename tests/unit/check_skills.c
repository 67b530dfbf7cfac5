/*
 * Loading a Skills pack: bounds, links, special files, front matter
 * checks, digest stability; and the lint of the real pack in skills/.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobspec.h"
#include "skills.h"
#include "check_common.h"

#define DESC	"Use when a test needs a skill that does nothing."

static char	pack[64];

static void
put(const char *rel, const char *text, mode_t mode)
{
	char	 path[512], *slash;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", pack, rel);
	for (slash = strchr(path + strlen(pack) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
put_skill(const char *name)
{
	char	rel[128], text[512];

	snprintf(rel, sizeof(rel), "%s/SKILL.md", name);
	snprintf(text, sizeof(text), "---\nname: %s\ndescription: %s\n---\n"
	    "# %s\n", name, DESC, name);
	put(rel, text, 0644);
}

/* Make a new, empty pack directory. */
static void
pack_new(void)
{
	const char	*tmp = getenv("TMPDIR");

	snprintf(pack, sizeof(pack), "%s/skpackXXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(pack));
}

static void
pack_setup(void)
{
	pack_new();
	put_skill("alpha");
	put_skill("beta");
	put("beta/tool.sh", "#!/bin/sh\necho hi\n", 0755);
	put("beta/doc/notes.txt", "notes\n", 0644);
	put("Makefile.inc", "ignored\n", 0644);
}

static void
pack_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pack);
	(void)system(cmd);
}

/* Load the pack, expecting success; returns it. */
static struct skills *
load_ok(void)
{
	struct skills	*sp;
	char		*cause = NULL;

	ck_assert_msg(skills_load(pack, NULL, &sp, &cause) == 0, "%s", cause);
	return (sp);
}

static void
load_fail(const struct skills_limits *lim, const char *want)
{
	struct skills	*sp;
	char		*cause = NULL;

	ck_assert_int_eq(skills_load(pack, lim, &sp, &cause), -1);
	ck_assert_ptr_null(sp);
	ck_assert_msg(strstr(cause, want) != NULL, "cause \"%s\", want \"%s\"",
	    cause, want);
	free(cause);
}

/* The digest of the pack as it is now. */
static void
digest_now(char out[SHA256_HEX_LEN + 1])
{
	struct skills	*sp = load_ok();

	strcpy(out, skills_digest(sp));
	skills_free(&sp);
}

START_TEST(test_skills_load)
{
	struct skills		*sp = load_ok();
	const struct skill	*sk;
	const struct skill_file	*sf;
	struct json_object	*list;
	char			*v;

	ck_assert_uint_eq(skills_count(sp), 2);
	ck_assert_str_eq(skills_get(sp, 0)->sk_name, "alpha");
	sk = skills_find(sp, "beta");
	ck_assert_ptr_nonnull(sk);
	ck_assert_str_eq(sk->sk_description, DESC);
	ck_assert_str_eq(sk->sk_main->sf_path, "beta/SKILL.md");
	ck_assert_ptr_null(skills_find(sp, "gamma"));
	/* Sorted by path; the top-level Makefile.inc is not included. */
	ck_assert_uint_eq(skills_nfiles(sp), 4);
	ck_assert_str_eq(skills_file(sp, 0)->sf_path, "alpha/SKILL.md");
	ck_assert_str_eq(skills_file(sp, 2)->sf_path, "beta/doc/notes.txt");
	sf = skills_file(sp, 3);
	ck_assert_str_eq(sf->sf_path, "beta/tool.sh");
	ck_assert_int_eq(sf->sf_exec, 1);
	ck_assert_int_eq(skills_file(sp, 2)->sf_exec, 0);
	ck_assert_ptr_null(skills_file(sp, 4));
	v = skills_version(sp);
	ck_assert_int_eq(strncmp(v, PACKAGE_VERSION "+sha256:",
	    strlen(PACKAGE_VERSION) + 8), 0);
	ck_assert_uint_eq(strlen(v), strlen(PACKAGE_VERSION) + 8 + 64);
	free(v);
	list = skills_json(sp);
	ck_assert_str_eq(json_object_to_json_string_ext(
	    json_object_array_get_idx(list, 1), JSON_C_TO_STRING_PLAIN),
	    "{\"name\":\"beta\",\"description\":\"" DESC "\"}");
	json_object_put(list);
	skills_free(&sp);
	ck_assert_ptr_null(sp);
	skills_free(&sp);
}
END_TEST

/* Same bytes, same digest; content and exec bit change it; mtime not. */
START_TEST(test_skills_digest)
{
	char	d1[SHA256_HEX_LEN + 1], d2[SHA256_HEX_LEN + 1];
	char	d3[SHA256_HEX_LEN + 1], path[512];

	digest_now(d1);
	snprintf(path, sizeof(path), "%s/alpha/SKILL.md", pack);
	ck_assert_int_eq(utimes(path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	put("stray.txt", "top-level files do not count\n", 0644);
	digest_now(d2);
	ck_assert_str_eq(d1, d2);
	put("beta/tool.sh", "#!/bin/sh\necho hi\n", 0644);
	digest_now(d2);
	ck_assert_str_ne(d1, d2);
	put("beta/tool.sh", "#!/bin/sh\necho hi\n", 0700);
	digest_now(d3);
	ck_assert_str_eq(d1, d3);
	put("beta/tool.sh", "#!/bin/sh\necho ho\n", 0755);
	digest_now(d3);
	ck_assert_str_ne(d1, d3);
}
END_TEST

/* Files created in another order give the same digest. */
START_TEST(test_skills_digest_order)
{
	char	d1[SHA256_HEX_LEN + 1], d2[SHA256_HEX_LEN + 1];

	digest_now(d1);
	pack_teardown();
	pack_new();
	put("beta/doc/notes.txt", "notes\n", 0644);
	put("beta/tool.sh", "#!/bin/sh\necho hi\n", 0755);
	put_skill("beta");
	put_skill("alpha");
	digest_now(d2);
	ck_assert_str_eq(d1, d2);
}
END_TEST

START_TEST(test_skills_limits)
{
	struct skills_limits	lim = { 3, 1024, 4096 };

	load_fail(&lim, "more than 3 files");
	lim.sl_files = 100;
	lim.sl_file = 20;
	load_fail(&lim, "larger than 20 bytes");
	lim.sl_file = 1024;
	lim.sl_total = 100;
	load_fail(&lim, "larger than 100 bytes in all");
}
END_TEST

START_TEST(test_skills_links)
{
	char			 path[512], target[512];
	struct skills		*sp;

	/* A link to a file inside the pack is loaded as that file. */
	snprintf(path, sizeof(path), "%s/alpha/link.txt", pack);
	ck_assert_int_eq(symlink("../beta/doc/notes.txt", path), 0);
	sp = load_ok();
	ck_assert_str_eq(skills_file(sp, 1)->sf_path, "alpha/link.txt");
	ck_assert_str_eq(skills_file(sp, 1)->sf_data, "notes\n");
	skills_free(&sp);
	unlink(path);
	/* Outside, dangling, or to a directory: refused. */
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	load_fail(NULL, "alpha/link.txt: symbolic link points outside");
	unlink(path);
	ck_assert_int_eq(symlink("nowhere", path), 0);
	load_fail(NULL, "alpha/link.txt: symbolic link");
	unlink(path);
	snprintf(target, sizeof(target), "%s/beta/doc", pack);
	ck_assert_int_eq(symlink(target, path), 0);
	load_fail(NULL, "not a regular file");
}
END_TEST

START_TEST(test_skills_special)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/beta/fifo", pack);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	load_fail(NULL, "beta/fifo: not a regular file or directory");
}
END_TEST

START_TEST(test_skills_bad_skill)
{
	put("gamma/README", "no SKILL.md here\n", 0644);
	load_fail(NULL, "gamma: no SKILL.md");
	put("gamma/SKILL.md", "---\nname: delta\ndescription: " DESC
	    "\n---\n", 0644);
	load_fail(NULL, "gamma/SKILL.md: name \"delta\" differs");
	put("gamma/SKILL.md", "---\nname: gamma\n---\n", 0644);
	load_fail(NULL, "no description");
	put("gamma/SKILL.md", "---\nname: gamma\ndescription: short\n---\n",
	    0644);
	load_fail(NULL, "description must be 20 to 1024 bytes, not 5");
	put("gamma/SKILL.md", "---\ndescription: " DESC "\n---\n", 0644);
	load_fail(NULL, "no name");
	put("gamma/SKILL.md", "no front matter\n", 0644);
	load_fail(NULL, "gamma/SKILL.md: front matter line 1");
	put("Gamma/SKILL.md", "---\nname: Gamma\ndescription: " DESC
	    "\n---\n", 0644);
	load_fail(NULL, "must be lower-case");
}
END_TEST

START_TEST(test_skills_empty)
{
	struct skills	*sp;
	char		*cause = NULL;

	pack_teardown();
	ck_assert_int_eq(skills_load(pack, NULL, &sp, &cause), -1);
	free(cause);
	pack_new();
	load_fail(NULL, "no skills");
}
END_TEST

/* The shipped pack: every SKILL.md is valid and every job type has one. */
START_TEST(test_skills_shipped)
{
	struct skills		*sp;
	const struct skill	*sk;
	const char		*top = getenv("abs_top_srcdir"), *name;
	char			 dir[1024], *cause = NULL;
	size_t			 i;
	int			 t;

	snprintf(dir, sizeof(dir), "%s/skills", top != NULL ? top : SRCDIR);
	ck_assert_msg(skills_load(dir, NULL, &sp, &cause) == 0, "%s", cause);
	ck_assert_uint_ge(skills_count(sp), 5);
	for (t = 0; t < JOB_TYPE_MAX; t++) {
		name = jobspec_type_skill((enum job_type)t);
		ck_assert_msg(name != NULL && skills_find(sp, name) != NULL,
		    "job type %s: no skill %s", jobspec_type_name(t),
		    name != NULL ? name : "(none)");
	}
	ck_assert_ptr_nonnull(skills_find(sp, "report-result"));
	for (i = 0; i < skills_count(sp); i++) {
		sk = skills_get(sp, i);
		if (strcmp(sk->sk_name, "report-result") == 0)
			continue;
		ck_assert_msg(strstr(sk->sk_main->sf_data, "`report-result`")
		    != NULL, "%s does not point to report-result",
		    sk->sk_name);
		ck_assert_msg(strstr(sk->sk_main->sf_data, "## Never") != NULL,
		    "%s has no \"Never\" section", sk->sk_name);
	}
	skills_free(&sp);
}
END_TEST

Suite *
skills_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("skills");
	tc = tcase_create("load");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, pack_setup, pack_teardown);
	tcase_add_test(tc, test_skills_load);
	tcase_add_test(tc, test_skills_digest);
	tcase_add_test(tc, test_skills_digest_order);
	tcase_add_test(tc, test_skills_limits);
	tcase_add_test(tc, test_skills_links);
	tcase_add_test(tc, test_skills_special);
	tcase_add_test(tc, test_skills_bad_skill);
	tcase_add_test(tc, test_skills_empty);
	suite_add_tcase(s, tc);
	tc = tcase_create("shipped");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_skills_shipped);
	suite_add_tcase(s, tc);
	return (s);
}
