/* The YAML front matter subset of SKILL.md files. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontmatter.h"
#include "check_common.h"

static const char *const keys[] = { "name", "description", NULL };

/* Parse text; expect name and description (NULL: absent). */
static void
expect_ok(const char *text, const char *name, const char *desc,
    const char *body)
{
	char	*vals[2], *cause = NULL;
	size_t	 off = 0;

	ck_assert_msg(frontmatter_parse(text, strlen(text), keys, vals, &off,
	    &cause) == 0, "%s", cause);
	if (name == NULL)
		ck_assert_ptr_null(vals[0]);
	else
		ck_assert_str_eq(vals[0], name);
	if (desc == NULL)
		ck_assert_ptr_null(vals[1]);
	else
		ck_assert_str_eq(vals[1], desc);
	ck_assert_str_eq(text + off, body);
	free(vals[0]);
	free(vals[1]);
}

static void
expect_fail(const char *text, const char *want)
{
	char	*vals[2], *cause = NULL;

	ck_assert_int_eq(frontmatter_parse(text, strlen(text), keys, vals,
	    NULL, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "cause \"%s\", want \"%s\"",
	    cause, want);
	ck_assert_ptr_null(vals[0]);
	ck_assert_ptr_null(vals[1]);
	free(cause);
}

START_TEST(test_fm_plain)
{
	expect_ok("---\nname: x\ndescription: Use it.\n---\nbody\n", "x",
	    "Use it.", "body\n");
	expect_ok("---\r\nname: x  \r\n---\r\n", "x", NULL, "");
	expect_ok("---\nname: x # comment\n# whole line\n\nother: 1\n---",
	    "x", NULL, "");
	/* A plain scalar continued on indented lines. */
	expect_ok("---\ndescription: one\n  two\n  three\nname: n\n---\n",
	    "n", "one two three", "");
}
END_TEST

START_TEST(test_fm_quoted_and_blocks)
{
	expect_ok("---\nname: 'it''s'\ndescription: \"a \\\"b\\\" c\"\n---\n",
	    "it's", "a \"b\" c", "");
	expect_ok("---\ndescription: >\n  folded\n  text\nname: n\n---\n",
	    "n", "folded text", "");
	expect_ok("---\ndescription: |-\n  line1\n  line2\n---\n", NULL,
	    "line1\nline2", "");
	expect_ok("---\ndescription: \"x: y\" # c\n---\n", NULL, "x: y", "");
}
END_TEST

START_TEST(test_fm_errors)
{
	expect_fail("name: x\n", "line 1: expected \"---\"");
	expect_fail("---\nname: x\n", "no closing");
	expect_fail("", "no closing");
	expect_fail("---\nname: x\nname: y\n---\n", "line 3: duplicate key");
	expect_fail("---\njust text\n---\n", "line 2: expected \"key: value\"");
	expect_fail("---\n  indented: x\n---\n", "unexpected indentation");
	expect_fail("---\nname: \"open\n---\n", "unterminated");
	expect_fail("---\nname: \"a\" b\n---\n", "text after");
	expect_fail("---\nname:x\n---\n", "space after");
	expect_fail("---\nbad key: x\n---\n", "bad key");
	expect_fail("---\nname: >2\n---\n", "unsupported block");
	expect_fail("---\nname: \"\\q\"\n---\n", "unsupported escape");
}
END_TEST

/* The fence must come within FRONTMATTER_MAX bytes. */
START_TEST(test_fm_bounded)
{
	char	*text;
	size_t	 n = FRONTMATTER_MAX + 100, i;

	text = malloc(n + 16);
	ck_assert_ptr_nonnull(text);
	strcpy(text, "---\n");
	for (i = 4; i < n; i += 8)
		memcpy(text + i, "# xxxxx\n", 8);
	strcpy(text + i, "---\n");
	expect_fail(text, "no closing");
	free(text);
}
END_TEST

Suite *
frontmatter_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("frontmatter");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_fm_plain);
	tcase_add_test(tc, test_fm_quoted_and_blocks);
	tcase_add_test(tc, test_fm_errors);
	tcase_add_test(tc, test_fm_bounded);
	suite_add_tcase(s, tc);
	return (s);
}
