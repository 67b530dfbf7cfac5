/* Runs every Check suite of worker/ in one runner, for one summary line. */
#include "config.h"

#include <stdlib.h>

#include "check_worker.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(http_suite());
	srunner_add_suite(sr, e2b_suite());
	srunner_add_suite(sr, envd_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
