/*
 * Logging: stderr (with <N> priority prefixes under systemd's journal) or
 * syslog.  Every line is formatted into one buffer, passed through the
 * redaction hook and written with a single write(2), so lines from
 * concurrent processes do not interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	8192

static int		 log_stderr = 1;
static int		 log_level = LOG_LEVEL_INFO;
static int		 log_journal;
static const char	*log_procname = "skillbox";
static log_redact_fn	 log_redact;

static void	log_emit(int, const char *);
static void	log_vformat(int, int, const char *, va_list)
		    __attribute__((__format__(printf, 3, 0)));

/* Set where logs go and how much is said. */
void
log_init(int to_stderr, int level, int facility)
{
	log_stderr = to_stderr;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (!log_stderr)
		openlog(log_procname, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

/* Name this process in every line, e.g. "worker[j-1234]". */
void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return (log_level);
}

/* Install the hook that every line passes through before output. */
void
log_setredact(log_redact_fn fn)
{
	log_redact = fn;
}

/* Write one finished line to its destination. */
static void
log_emit(int pri, const char *line)
{
	char	*clean = NULL, out[LOG_LINE_MAX + 64];
	int	 n;

	if (log_redact != NULL && (clean = log_redact(line)) != NULL)
		line = clean;
	if (!log_stderr)
		syslog(pri, "%s", line);
	else {
		if (log_journal)
			n = snprintf(out, sizeof(out), "<%d>%s: %s\n", pri,
			    log_procname, line);
		else
			n = snprintf(out, sizeof(out), "%s: %s\n",
			    log_procname, line);
		if (n > 0) {
			if ((size_t)n >= sizeof(out)) {
				n = sizeof(out) - 1;
				out[n - 1] = '\n';
			}
			(void)write(STDERR_FILENO, out, (size_t)n);
		}
	}
	free(clean);
}

/* Format a message, optionally followed by strerror(errno). */
static void
log_vformat(int pri, int with_errno, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	int	saved_errno = errno, n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_errno && (size_t)n < sizeof(line))
		(void)snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved_errno));
	log_emit(pri, line);
	errno = saved_errno;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	log_vformat(pri, 0, fmt, ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_ERR, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_ERR, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vformat(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vformat(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_TRACE)
		return;
	va_start(ap, fmt);
	log_vformat(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* Log an error with errno and exit EX_SOFTWARE: broken invariants only. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_CRIT, 1, fmt, ap);
	va_end(ap);
	exit(EX_SOFTWARE);
}

/* Log an error and exit EX_SOFTWARE: broken invariants only. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(EX_SOFTWARE);
}
