/*
 * bench-rusage: run a command and write what it cost, from wait4(2): exit
 * status, peak RSS, user and system CPU, wall time, as one JSON object.
 * The benchmarks use it to measure a child exactly, where sampling /proc
 * would miss the end of its life.
 *
 * usage: bench-rusage OUTFILE COMMAND [ARG...]
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
ms(struct timeval tv)
{
	return (tv.tv_sec * 1e3 + tv.tv_usec / 1e3);
}

int
main(int argc, char **argv)
{
	struct rusage	 ru;
	struct timespec	 t0, t1;
	FILE		*f;
	pid_t		 pid;
	int		 st;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-rusage OUTFILE COMMAND [ARG...]\n");
		return (64);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1) {
		perror("fork");
		return (71);
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench-rusage: %s: %s\n", argv[2],
		    strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &st, 0, &ru) == -1)
		if (errno != EINTR) {
			perror("wait4");
			return (71);
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((f = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return (73);
	}
	fprintf(f, "{\"status\":%d,\"signal\":%d,\"maxrss_kib\":%ld,"
	    "\"user_ms\":%.1f,\"sys_ms\":%.1f,\"wall_ms\":%.1f}\n",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0, ru.ru_maxrss, ms(ru.ru_utime),
	    ms(ru.ru_stime), (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6);
	fclose(f);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
