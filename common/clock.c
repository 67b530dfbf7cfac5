/* Time in milliseconds, and its ISO 8601 form. */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "clock.h"

/* Milliseconds since the epoch. */
int64_t
clock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Milliseconds on a clock that never jumps, for intervals. */
int64_t
clock_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Format ms since the epoch as UTC ISO 8601 with milliseconds into out,
 * which holds at least CLOCK_ISO_LEN bytes; returns out.
 */
char *
clock_iso(int64_t ms, char *out, size_t len)
{
	struct tm	tm;
	time_t		t;
	int64_t		frac;

	if (ms < 0)
		ms = 0;
	t = (time_t)(ms / 1000);
	frac = ms % 1000;
	if (gmtime_r(&t, &tm) == NULL ||
	    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac) >= (int)len) {
		if (len > 0)
			out[0] = '\0';
	}
	return (out);
}
