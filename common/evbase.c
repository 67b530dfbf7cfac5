/*
 * A libevent base with the options skillbox's programs choose; there is
 * nothing to do without one, so failing to make it is fatal.
 */
#include "config.h"

#include <event2/event.h>

#include "evbase.h"
#include "log.h"

struct event_base *
evbase_new(int flags)
{
	struct event_config	*ec;
	struct event_base	*base;

	if ((ec = event_config_new()) == NULL)
		fatalx("cannot configure the event base");
	if (flags & EVBASE_NO_EPOLL)
		event_config_avoid_method(ec, "epoll");
	if (flags & EVBASE_CHANGELIST)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("cannot create the event base");
	return (base);
}
