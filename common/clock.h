/*
 * Wall-clock and monotonic time in milliseconds, and the ISO 8601 form
 * used in every timestamp skillbox shows to a client.
 */
#ifndef SKILLBOX_CLOCK_H
#define SKILLBOX_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_ISO_LEN	25	/* "2026-11-22T10:00:00.123Z" and NUL */

int64_t	 clock_now_ms(void);
int64_t	 clock_mono_ms(void);
char	*clock_iso(int64_t, char *, size_t);

#endif /* SKILLBOX_CLOCK_H */
