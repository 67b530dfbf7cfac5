/* Runs the Check suites of tests/e2b-local's library in one runner. */
#include "config.h"

#include <stdlib.h>

#include "check_e2bl.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(wire_suite());
	srunner_add_suite(sr, gofmt_suite());
	srunner_add_suite(sr, frame_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
