/* Runs every Check suite of common/ in one runner, for one summary line. */
#include "config.h"

#include <stdlib.h>

#include "check_common.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(buf_suite());
	srunner_add_suite(sr, base64_suite());
	srunner_add_suite(sr, clean_suite());
	srunner_add_suite(sr, clock_suite());
	srunner_add_suite(sr, dir_suite());
	srunner_add_suite(sr, envelope_suite());
	srunner_add_suite(sr, evbase_suite());
	srunner_add_suite(sr, frontmatter_suite());
	srunner_add_suite(sr, jobspec_suite());
	srunner_add_suite(sr, json_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, redact_suite());
	srunner_add_suite(sr, sha256_suite());
	srunner_add_suite(sr, skills_suite());
	srunner_add_suite(sr, utf8_suite());
	srunner_add_suite(sr, zev_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
