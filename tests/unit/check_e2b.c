#include "config.h"
#include "check_worker.h"
Suite *
e2b_suite(void)
{
	return (suite_create("e2b"));
}
