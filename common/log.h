/*
 * Logging in the manner of OpenBSD's log.c: to stderr or to syslog, with
 * levels, and every line passed through the redaction hook before it
 * leaves the process.
 */
#ifndef SKILLBOX_LOG_H
#define SKILLBOX_LOG_H

#include <stdarg.h>

#define LOG_TO_STDERR	1
#define LOG_TO_SYSLOG	0

#define LOG_LEVEL_WARN	0	/* warnings and errors only */
#define LOG_LEVEL_INFO	1	/* the default */
#define LOG_LEVEL_DEBUG	2	/* -v */
#define LOG_LEVEL_TRACE	3	/* -vv */

/* A hook every line passes through; returns a string it allocated. */
typedef char	*(*log_redact_fn)(const char *);

void	log_init(int to_stderr, int level, int facility);
void	log_procinit(const char *);
void	log_setlevel(int);
int	log_getlevel(void);
void	log_setredact(log_redact_fn);

void	log_warn(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_trace(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
void	fatal(const char *, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));
void	fatalx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));

#endif /* SKILLBOX_LOG_H */
