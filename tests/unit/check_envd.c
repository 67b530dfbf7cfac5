#include "config.h"
#include "check_worker.h"
Suite *
envd_suite(void)
{
	return (suite_create("envd"));
}
