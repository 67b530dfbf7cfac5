/* Runs every Check suite of worker/ in one runner, for one summary line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "xmalloc.h"
#include "check_worker.h"

/* Read tests/unit/data/<name> from the source tree. */
char *
test_data(const char *name, size_t *len)
{
	const char	*top = getenv("abs_top_srcdir");
	char		*path, *data;
	FILE		*f;
	long		 n;

	xasprintf(&path, "%s/tests/unit/data/%s", top != NULL ? top : SRCDIR,
	    name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return (data);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(stream_suite());
	srunner_add_suite(sr, bundle_suite());
	srunner_add_suite(sr, diffstat_suite());
	srunner_add_suite(sr, result_suite());
	srunner_add_suite(sr, http_suite());
	srunner_add_suite(sr, e2b_suite());
	srunner_add_suite(sr, envd_suite());
	srunner_add_suite(sr, wjob_suite());
	srunner_add_suite(sr, link_suite());
	srunner_add_suite(sr, prompt_suite());
	srunner_add_suite(sr, collect_suite());
	srunner_add_suite(sr, verify_suite());
	srunner_add_suite(sr, zmtp_suite());
	srunner_add_suite(sr, forkserver_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
