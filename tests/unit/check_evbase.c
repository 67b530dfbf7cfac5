/* The event base's options reach libevent. */
#include "config.h"

#include <string.h>

#include <event2/event.h>

#include "evbase.h"
#include "check_common.h"

/* Each flag gives the backend it asks for; none gives plain epoll. */
START_TEST(test_evbase_methods)
{
	static const struct {
		int		 flags;
		const char	*method;
	} t[] = {
		{ 0, "epoll" },
		{ EVBASE_CHANGELIST, "epoll (with changelist)" },
		{ EVBASE_NO_EPOLL, "poll" },
		{ EVBASE_NO_EPOLL | EVBASE_CHANGELIST, "poll" },
	};
	struct event_base	*b;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = evbase_new(t[i].flags);
		ck_assert_str_eq(event_base_get_method(b), t[i].method);
		event_base_free(b);
	}
}
END_TEST

Suite *
evbase_suite(void)
{
	Suite	*s = suite_create("evbase");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_evbase_methods);
	suite_add_tcase(s, tc);
	return (s);
}
