/*
 * systemd's notify protocol, without libsystemd: one datagram per
 * message to $NOTIFY_SOCKET (a path, or @name in the abstract namespace)
 * saying READY=1, RELOADING=1, STOPPING=1 or STATUS=...  When the unit
 * sets WatchdogSec=, a timer on the event loop sends WATCHDOG=1 at half of
 * $WATCHDOG_USEC, so a loop that stops turning stops the pings.  The same
 * timer refreshes STATUS= when it changed.  Without $NOTIFY_SOCKET every
 * call does nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define SDNOTIFY_STATUS_S	2	/* status refresh, no watchdog */

static struct {
	int			 fd;
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	struct event		*timer;
	int			 watchdog;	/* ping on each tick */
	sdnotify_status_fn	 status;
	char			*last;		/* last STATUS= */
} sdn = { .fd = -1 };

static int	sdnotify_address(const char *);
static int64_t	sdnotify_watchdog_usec(void);
static char	*sdnotify_status(int);
static void	sdnotify_tick_cb(int, short, void *);

/* Fill the address from $NOTIFY_SOCKET; -1 if it is not one we can use. */
static int
sdnotify_address(const char *s)
{
	size_t	len = strlen(s);

	memset(&sdn.sun, 0, sizeof(sdn.sun));
	sdn.sun.sun_family = AF_UNIX;
	if ((s[0] != '/' && s[0] != '@') || len < 2 ||
	    len >= sizeof(sdn.sun.sun_path))
		return (-1);
	memcpy(sdn.sun.sun_path, s, len);
	if (s[0] == '@')
		sdn.sun.sun_path[0] = '\0';
	sdn.sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (s[0] == '/'));
	return (0);
}

/* The watchdog interval asked of this process, or 0 for none. */
static int64_t
sdnotify_watchdog_usec(void)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	char		*end;
	long long	 n;

	if (usec == NULL)
		return (0);
	errno = 0;
	n = strtoll(usec, &end, 10);
	if (errno != 0 || *end != '\0' || end == usec || n <= 0) {
		log_warnx("WATCHDOG_USEC: '%.32s' is not a number of "
		    "microseconds; no watchdog pings", usec);
		return (0);
	}
	if (pid != NULL && strtoll(pid, NULL, 10) != (long long)getpid())
		return (0);
	return (n);
}

/*
 * Open the socket and start the timer; 1 if systemd listens, 0 if not.
 * status is asked for the STATUS= text (which it allocates) on each tick.
 */
int
sdnotify_init(struct event_base *base, sdnotify_status_fn status)
{
	struct timeval	 tv = { SDNOTIFY_STATUS_S, 0 };
	const char	*path = getenv("NOTIFY_SOCKET");
	int64_t		 usec;

	sdn.status = status;
	if (path == NULL)
		return (0);
	if (sdnotify_address(path) == -1) {
		log_warnx("NOTIFY_SOCKET: '%.64s' is not a socket path; not "
		    "notifying systemd", path);
		return (0);
	}
	if ((sdn.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return (0);
	}
	if ((usec = sdnotify_watchdog_usec()) > 0) {
		sdn.watchdog = 1;
		tv.tv_sec = (time_t)(usec / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
		log_debug("watchdog: a ping every %lld ms",
		    (long long)(usec / 2000));
	}
	sdn.timer = event_new(base, -1, EV_PERSIST, sdnotify_tick_cb, NULL);
	event_add(sdn.timer, &tv);
	return (1);
}

/* Send one message (several NAME=value lines); failures are only logged. */
void
sdnotify_send(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 len;

	if (sdn.fd == -1)
		return;
	va_start(ap, fmt);
	len = xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (sendto(sdn.fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sdn.sun, sdn.sunlen) == -1)
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
	free(msg);
}

/* The status now, if it changed since the last one sent (or force). */
static char *
sdnotify_status(int force)
{
	char	*s;

	if (sdn.status == NULL)
		return (NULL);
	s = sdn.status();
	if (!force && sdn.last != NULL && strcmp(s, sdn.last) == 0) {
		free(s);
		return (NULL);
	}
	free(sdn.last);
	sdn.last = s;
	return (s);
}

/* The timer: a watchdog ping, and the status when it changed. */
static void
sdnotify_tick_cb(int fd, short what, void *arg)
{
	const char	*status = sdnotify_status(0);

	if (sdn.watchdog && status != NULL)
		sdnotify_send("WATCHDOG=1\nSTATUS=%s", status);
	else if (sdn.watchdog)
		sdnotify_send("WATCHDOG=1");
	else if (status != NULL)
		sdnotify_send("STATUS=%s", status);
}

/* Startup or a reload is complete. */
void
sdnotify_ready(void)
{
	const char	*status = sdnotify_status(1);

	if (status != NULL)
		sdnotify_send("READY=1\nSTATUS=%s", status);
	else
		sdnotify_send("READY=1");
}

/* A reload begins; systemd 253 and later want the time with it. */
void
sdnotify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
}

/* A shutdown begins. */
void
sdnotify_stopping(void)
{
	sdnotify_send("STOPPING=1\nSTATUS=shutting down");
}

/* Stop the timer and close the socket. */
void
sdnotify_fini(void)
{
	if (sdn.timer != NULL)
		event_free(sdn.timer);
	sdn.timer = NULL;
	if (sdn.fd != -1)
		close(sdn.fd);
	sdn.fd = -1;
	free(sdn.last);
	sdn.last = NULL;
	sdn.watchdog = 0;
}
