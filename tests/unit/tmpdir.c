/*
 * Scratch directories for the Check suites: one place that makes them and
 * one that removes them, so no run leaves anything behind in /tmp.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "xmalloc.h"
#include "tmpdir.h"

char *
test_tmpdir(void)
{
	char	*dir = xstrdup("/tmp/skillbox-check.XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return (dir);
}

void
test_rmdir(char *dir)
{
	char	*cmd;

	xasprintf(&cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}
