/* The repository's own Skills pack, for the Check suites that ship it. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "repo_pack.h"
#include "skills.h"
#include "xmalloc.h"

char *
repo_pack(char *digest, size_t len)
{
	const char	*top = getenv("abs_top_srcdir");
	struct skills	*sk = NULL;
	char		*dir, *cause = NULL;

	xasprintf(&dir, "%s/skills", top != NULL ? top : SRCDIR);
	ck_assert_msg(skills_load(dir, NULL, &sk, &cause) == 0, "%s", cause);
	snprintf(digest, len, "%s", skills_digest(sk));
	skills_free(&sk);
	return (dir);
}
