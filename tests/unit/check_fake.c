/* Runs the Check suites of tests/fake-anthropic in one runner. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check_fake.h"
#include "fake.h"
#include "json.h"

/* Parse a scenario the test knows to be good. */
struct script *
fake_script(const char *text)
{
	struct script	*s;
	char		*cause = NULL;

	s = script_parse(text, strlen(text), &cause);
	ck_assert_msg(s != NULL, "script refused: %s", cause);
	return (s);
}

/* Parse JSON the test knows to be good. */
struct json_object *
fake_json(const char *text)
{
	struct json_object	*o;
	char			*cause = NULL;

	o = json_parse(text, strlen(text), &cause);
	ck_assert_msg(o != NULL, "bad test JSON: %s", cause);
	return (o);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(fake_script_suite());
	srunner_add_suite(sr, fake_reply_suite());
	srunner_add_suite(sr, fake_reqlog_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
