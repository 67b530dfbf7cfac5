/*
 * Socket activation, systemd's protocol (sd_listen_fds(3)), without
 * libsystemd: when LISTEN_PID names this process, LISTEN_FDS sockets
 * start at descriptor 3.  The variables are removed, so that nothing
 * started later believes they are its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skillboxd.h"
#include "xmalloc.h"

#define SD_LISTEN_FDS_START	3
#define SD_LISTEN_FDS_MAX	16

/* A decimal number from an environment variable, or -1. */
static long
sd_number(const char *name)
{
	const char	*s = getenv(name);
	char		*end;
	long		 n;

	if (s == NULL || *s == '\0')
		return (-1);
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return (-1);
	return (n);
}

/*
 * The sockets passed to this process: how many (0 when none were), the
 * first at SD_LISTEN_FDS_START, each made close-on-exec.  -1 with
 * *cause when the variables are there but make no sense.
 */
int
sd_listen_fds(int *first, char **cause)
{
	long	pid, n;
	int	fd, fl;

	*first = SD_LISTEN_FDS_START;
	if (getenv("LISTEN_PID") == NULL)
		return (0);
	pid = sd_number("LISTEN_PID");
	n = sd_number("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != (long)getpid())
		return (0);
	if (n < 1 || n > SD_LISTEN_FDS_MAX) {
		xasprintf(cause, "LISTEN_FDS: expected 1 to %d sockets",
		    SD_LISTEN_FDS_MAX);
		return (-1);
	}
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if ((fl = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1) {
			xasprintf(cause, "LISTEN_FDS: descriptor %d: %s", fd,
			    strerror(errno));
			return (-1);
		}
	}
	return ((int)n);
}
