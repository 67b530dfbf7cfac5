/*
 * notify-recv: play systemd's side of the notify protocol for a test.
 * It binds a datagram socket at SOCKET, runs the command with
 * NOTIFY_SOCKET pointing at it (and WATCHDOG_PID set to the command's pid
 * when WATCHDOG_USEC is in the environment), appends every message it
 * receives to LOG (one line "PID=n" first, then each message followed by
 * a line "--"), and exits with the command's status.
 *
 * usage: notify-recv SOCKET LOG command [argument ...]
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int	recv_bind(const char *);
static void	recv_drain(int, FILE *);

/* A datagram socket bound at path. */
static int
recv_bind(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify-recv: %s: too long\n", path);
		exit(2);
	}
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "notify-recv: %s: %s\n", path,
		    strerror(errno));
		exit(2);
	}
	return (fd);
}

/* Log every datagram waiting on fd. */
static void
recv_drain(int fd, FILE *log)
{
	char	msg[4096];
	ssize_t	n;

	while ((n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
		msg[n] = '\0';
		fprintf(log, "%s\n--\n", msg);
		fflush(log);
	}
}

int
main(int argc, char **argv)
{
	struct pollfd	 pfd;
	FILE		*log;
	char		 pid[32];
	pid_t		 child;
	int		 fd, status;

	if (argc < 4) {
		fprintf(stderr, "usage: notify-recv SOCKET LOG command "
		    "[argument ...]\n");
		return (2);
	}
	fd = recv_bind(argv[1]);
	if ((log = fopen(argv[2], "a")) == NULL) {
		fprintf(stderr, "notify-recv: %s: %s\n", argv[2],
		    strerror(errno));
		return (2);
	}
	if ((child = fork()) == 0) {
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		setenv("NOTIFY_SOCKET", argv[1], 1);
		if (getenv("WATCHDOG_USEC") != NULL)
			setenv("WATCHDOG_PID", pid, 1);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "notify-recv: %s: %s\n", argv[3],
		    strerror(errno));
		_exit(127);
	}
	fprintf(log, "PID=%ld\n", (long)child);
	fflush(log);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (waitpid(child, &status, WNOHANG) == 0) {
		if (poll(&pfd, 1, 50) > 0)
			recv_drain(fd, log);
	}
	recv_drain(fd, log);
	fclose(log);
	unlink(argv[1]);
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (WEXITSTATUS(status));
}
