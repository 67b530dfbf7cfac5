/* Go-compatible text for times, file modes, wait statuses and errors. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gofmt.h"

static int	gofmt_remove_cb(const char *, const struct stat *, int,
		    struct FTW *);
#include "xmalloc.h"

/* Go's syscall.Signal names on Linux (zerrors_linux.go). */
static const char *gofmt_signames[] = {
	[SIGHUP] = "hangup", [SIGINT] = "interrupt", [SIGQUIT] = "quit",
	[SIGILL] = "illegal instruction", [SIGTRAP] = "trace/breakpoint trap",
	[SIGABRT] = "aborted", [SIGBUS] = "bus error",
	[SIGFPE] = "floating point exception", [SIGKILL] = "killed",
	[SIGUSR1] = "user defined signal 1", [SIGSEGV] = "segmentation fault",
	[SIGUSR2] = "user defined signal 2", [SIGPIPE] = "broken pipe",
	[SIGALRM] = "alarm clock", [SIGTERM] = "terminated",
	[SIGSTKFLT] = "stack fault", [SIGCHLD] = "child exited",
	[SIGCONT] = "continued", [SIGSTOP] = "stopped (signal)",
	[SIGTSTP] = "stopped", [SIGTTIN] = "stopped (tty input)",
	[SIGTTOU] = "stopped (tty output)", [SIGURG] = "urgent I/O condition",
	[SIGXCPU] = "CPU time limit exceeded",
	[SIGXFSZ] = "file size limit exceeded",
	[SIGVTALRM] = "virtual timer expired",
	[SIGPROF] = "profiling timer expired", [SIGWINCH] = "window changed",
	[SIGIO] = "I/O possible", [SIGPWR] = "power failure",
	[SIGSYS] = "bad system call",
};

/*
 * Format a UTC time as RFC 3339 with nanoseconds: Go's time JSON trims
 * trailing zeros, protobuf's Timestamp uses 0, 3, 6 or 9 digits.
 */
void
gofmt_time(char *out, size_t len, const struct timespec *ts, int style)
{
	struct tm	tm;
	char		date[32], frac[16];
	long		ns = ts->tv_nsec;
	int		digits = 9;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	frac[0] = '\0';
	if (ns != 0) {
		if (style == GOFMT_TIME_GO) {
			while (ns % 10 == 0) {
				ns /= 10;
				digits--;
			}
		} else if (ns % 1000000 == 0) {
			ns /= 1000000;
			digits = 3;
		} else if (ns % 1000 == 0) {
			ns /= 1000;
			digits = 6;
		}
		snprintf(frac, sizeof(frac), ".%0*ld", digits, ns);
	}
	snprintf(out, len, "%s%sZ", date, frac);
}

/* os.FileMode.String() of a stat(2) mode. */
void
gofmt_filemode(char *out, size_t len, mode_t mode)
{
	static const char	 rwx[] = "rwxrwxrwx";
	char			 s[GOFMT_MODE_MAX];
	size_t			 n = 0;
	int			 i;

	switch (mode & S_IFMT) {
	case S_IFDIR:
		s[n++] = 'd';
		break;
	case S_IFLNK:
		s[n++] = 'L';
		break;
	case S_IFBLK:
		s[n++] = 'D';
		break;
	case S_IFCHR:
		s[n++] = 'D';
		break;
	case S_IFIFO:
		s[n++] = 'p';
		break;
	case S_IFSOCK:
		s[n++] = 'S';
		break;
	}
	if (mode & S_ISUID)
		s[n++] = 'u';
	if (mode & S_ISGID)
		s[n++] = 'g';
	if ((mode & S_IFMT) == S_IFCHR)
		s[n++] = 'c';
	if (mode & S_ISVTX)
		s[n++] = 't';
	if (n == 0)
		s[n++] = '-';
	for (i = 0; i < 9; i++)
		s[n++] = (mode & (1U << (8 - i))) ? rwx[i] : '-';
	s[n] = '\0';
	snprintf(out, len, "%s", s);
}

/* syscall.Signal.String(). */
const char *
gofmt_signame(int sig, char *buf, size_t len)
{
	if (sig > 0 && (size_t)sig < sizeof(gofmt_signames) /
	    sizeof(gofmt_signames[0]) && gofmt_signames[sig] != NULL)
		return (gofmt_signames[sig]);
	snprintf(buf, len, "signal %d", sig);
	return (buf);
}

/* os.ProcessState.String(): "exit status 3", "signal: killed". */
void
gofmt_wait_status(char *out, size_t len, int status)
{
	char	name[32];

	if (WIFEXITED(status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "signal: %s%s", gofmt_signame(
		    WTERMSIG(status), name, sizeof(name)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(out, len, "continued");
}

/* os.ProcessState.ExitCode(): -1 unless the process exited. */
int
gofmt_exit_code(int status)
{
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* syscall.Errno.Error(): the C text with a lower-case first letter. */
const char *
gofmt_errno(int error, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(error));
	if (buf[0] != '\0' && isupper((unsigned char)buf[0]) &&
	    !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return (buf);
}

/*
 * filepath.Clean, by Go's own algorithm: collapse slashes, drop "." and
 * resolve ".." lexically.  The caller frees the result.
 */
char *
gofmt_path_clean(const char *path)
{
	char	*out;
	size_t	 r = 0, n = 0, dotdot, len;
	int	 rooted = path[0] == '/';

	out = xmalloc(strlen(path) + 2);
	if (rooted)
		out[n++] = '/';
	dotdot = n;
	while (path[r] != '\0') {
		len = strcspn(path + r, "/");
		if (len == 0 || (len == 1 && path[r] == '.')) {
			/* Empty or ".": nothing to add. */
		} else if (len == 2 && path[r] == '.' && path[r + 1] == '.') {
			if (n > dotdot) {
				n--;
				while (n > dotdot && out[n] != '/')
					n--;
			} else if (!rooted) {
				if (n > 0)
					out[n++] = '/';
				out[n++] = '.';
				out[n++] = '.';
				dotdot = n;
			}
		} else {
			if (n != (size_t)rooted)
				out[n++] = '/';
			memcpy(out + n, path + r, len);
			n += len;
		}
		r += len;
		while (path[r] == '/')
			r++;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return (out);
}

static int
gofmt_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return (remove(path) == -1 && errno != ENOENT ? -1 : 0);
}

/*
 * os.RemoveAll: remove path and everything below it, without following
 * symlinks; a missing path is not an error.  -1 with errno on failure.
 */
int
gofmt_remove_all(const char *path)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISDIR(st.st_mode))
		return (unlink(path) == -1 && errno != ENOENT ? -1 : 0);
	return (nftw(path, gofmt_remove_cb, 32, FTW_DEPTH | FTW_PHYS));
}
