/*
 * Starting worker processes.  Every worker is a process of its own,
 * started one of two ways:
 *
 *  - through the forkserver: skillbox-worker --forkserver, started once
 *    (below), forks each worker without loading its shared libraries
 *    again, and the worker is reparented to skillboxd, a child subreaper,
 *    so that SIGCHLD and waitpid see it as if skillboxd had forked it;
 *  - directly, with fork and exec, when the forkserver cannot be had (a
 *    worker program without one, a forkserver that died or stalls).
 *
 * Either way: signals blocked around fork, defaults and the mask restored
 * in the child, its own session, PR_SET_PDEATHSIG with a getppid()
 * recheck, stdin from /dev/null, no descriptor but 0-2 (and the control
 * socket for the forkserver), a clean environment.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define SPAWN_CTL_FD		3	/* the forkserver's control socket */
#define SPAWN_REPLY_MS		2000	/* longest a forkserver may take */
#define SPAWN_RETRY_MS		5000	/* before starting a new one */
#define SPAWN_MSG_MAX		(64 * 1024)
#define SPAWN_TITLE_ROOM	255	/* bytes kept for workers' titles */

static struct {
	char		*path;		/* the worker program */
	char		*skills_env;	/* SKILLBOX_SKILLS_DIR=, or NULL */
	int		 fd;		/* control socket, or -1 */
	pid_t		 pid;		/* the forkserver, or 0 */
	int		 noreaper;	/* no forkserver ever */
	int		 off;		/* none for this program */
	int64_t		 retry_at;	/* no new one before this */
} sp = { NULL, NULL, -1, 0, 0, 0, 0 };

static pid_t	spawn_exec(char *const [], char *const [], int, char **);
static void	spawn_child(char *const [], char *const [], int, int,
		    const sigset_t *, pid_t) __attribute__((__noreturn__));
static int	spawn_recv(struct json_object **, char **);
static void	spawn_fs_start(char *const []);
static void	spawn_fs_stop(const char *);
static pid_t	spawn_fs_request(char *const [], char *const [], char **);
static void	spawn_retarget(const char *);
static void	spawn_fs_close(void);

/*
 * Become the subreaper of what skillboxd starts, so that the workers the
 * forkserver forks come back to it; without that, workers are forked and
 * exec'd directly.
 */
void
spawn_init(const char *path, const char *skills)
{
	free(sp.path);
	sp.path = xstrdup(path);
	free(sp.skills_env);
	sp.skills_env = NULL;
	if (skills != NULL)
		xasprintf(&sp.skills_env, "SKILLBOX_SKILLS_DIR=%s", skills);
	sp.fd = -1;
	sp.off = 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		log_warn("cannot become a child subreaper; starting workers "
		    "without a forkserver");
		sp.noreaper = 1;
	}
}

/* The child of a fork, before exec: a clean process, then the program. */
static void
spawn_child(char *const argv[], char *const envp[], int devnull, int ctl,
    const sigset_t *mask, pid_t parent)
{
	struct sigaction	sa;
	int			sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	(void)sigprocmask(SIG_SETMASK, mask, NULL);
	if (setsid() == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != parent)
		_exit(EX_OSERR);
	if (dup2(devnull, STDIN_FILENO) == -1 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) == -1 ||
	    (ctl != -1 && dup2(ctl, SPAWN_CTL_FD) == -1))
		_exit(EX_OSERR);
#ifdef HAVE_CLOSEFROM
	closefrom(ctl != -1 ? SPAWN_CTL_FD + 1 : STDERR_FILENO + 1);
#else
	for (sig = ctl != -1 ? SPAWN_CTL_FD + 1 : STDERR_FILENO + 1;
	    sig < 1024; sig++)
		(void)close(sig);
#endif
	execve(argv[0], argv, envp);
	(void)write(STDERR_FILENO, "skillboxd: cannot execute the worker\n",
	    37);
	_exit(EX_OSERR);
}

/* Fork and exec argv, giving it ctl as fd 3 when ctl is not -1. */
static pid_t
spawn_exec(char *const argv[], char *const envp[], int ctl, char **cause)
{
	sigset_t	all, old;
	pid_t		pid, parent = getpid();
	int		devnull, saved;

	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		xasprintf(cause, "/dev/null: %s", strerror(errno));
		return (-1);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
		spawn_child(argv, envp, devnull, ctl, &old, parent);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	if (pid == -1)
		xasprintf(cause, "cannot start a worker: %s", strerror(saved));
	return (pid);
}

/* Wait (bounded) for one message from the forkserver. */
static int
spawn_recv(struct json_object **out, char **cause)
{
	struct pollfd	 pfd = { sp.fd, POLLIN, 0 };
	char		 msg[SPAWN_MSG_MAX];
	ssize_t		 n;
	int		 r;

	while ((r = poll(&pfd, 1, SPAWN_REPLY_MS)) == -1 && errno == EINTR)
		;
	if (r <= 0) {
		xasprintf(cause, "no answer within %d ms", SPAWN_REPLY_MS);
		return (-1);
	}
	if ((n = recv(sp.fd, msg, sizeof(msg), MSG_DONTWAIT)) <= 0) {
		xasprintf(cause, "%s", n == 0 ? "it exited" : strerror(errno));
		return (-1);
	}
	return ((*out = json_parse(msg, (size_t)n, cause)) == NULL ? -1 : 0);
}

/*
 * The forkserver's environment: the workers', LD_BIND_NOW so that the
 * dynamic linker binds every symbol of every library once, in the
 * forkserver (its workers then never look a symbol up: no lookups to pay
 * for, and the libraries' symbol tables stay out of their memory), and
 * SKILLBOX_SKILLS_DIR, the pack it reads once for all its workers.  The
 * workers get their own environment in place of this one.  Free the
 * array only: its strings are envp's and sp's.
 */
static char **
spawn_fs_env(char *const envp[])
{
	char	**env;
	size_t	  n;

	for (n = 0; envp[n] != NULL; n++)
		;
	env = xcalloc(n + 3, sizeof(*env));
	memcpy(env, envp, n * sizeof(*env));
	env[n++] = (char *)"LD_BIND_NOW=1";
	env[n] = sp.skills_env;
	return (env);
}

/*
 * Start the forkserver and wait for its "ready".  A worker program that
 * has none (a test double) is not asked again.
 */
static void
spawn_fs_start(char *const envp[])
{
	struct json_object	*ready = NULL;
	char			 room[SPAWN_TITLE_ROOM + 1], *cause = NULL;
	char			*argv[] = { (char *)sp.path,
				    (char *)"--forkserver", room, NULL };
	char			**fsenv;
	int			 pair[2], st;

	memset(room, ' ', SPAWN_TITLE_ROOM);
	room[SPAWN_TITLE_ROOM] = '\0';
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1) {
		log_warn("forkserver: socketpair");
		sp.retry_at = clock_now_ms() + SPAWN_RETRY_MS;
		return;
	}
	fsenv = spawn_fs_env(envp);
	sp.pid = spawn_exec(argv, fsenv, pair[1], &cause);
	free(fsenv);
	close(pair[1]);
	sp.fd = pair[0];
	if (sp.pid != -1 && spawn_recv(&ready, &cause) == 0 &&
	    json_object_object_get_ex(ready, "ready", NULL)) {
		json_object_put(ready);
		log_debug("forkserver: pid %ld", (long)sp.pid);
		return;
	}
	json_object_put(ready);
	log_info("workers are started without a forkserver (%s)",
	    cause != NULL ? cause : "it did not say it was ready");
	free(cause);
	if (sp.pid > 0) {
		(void)kill(sp.pid, SIGKILL);
		(void)waitpid(sp.pid, &st, 0);
	}
	sp.pid = 0;
	spawn_fs_close();
	sp.off = 1;
}

/* Close the control socket; the forkserver exits on end of file. */
static void
spawn_fs_close(void)
{
	if (sp.fd != -1)
		close(sp.fd);
	sp.fd = -1;
}

/* Give up on the running forkserver; a new one is tried later. */
static void
spawn_fs_stop(const char *why)
{
	log_warnx("forkserver: %s; starting workers directly for now", why);
	spawn_fs_close();
	if (sp.pid > 0)
		(void)kill(sp.pid, SIGKILL);
	/* Its exit is reaped with the other children (spawn_exited). */
	sp.retry_at = clock_now_ms() + SPAWN_RETRY_MS;
}

/*
 * The worker program changed (a reload): the forkserver runs the old one.
 * It is let go (it exits on end of file, and is reaped with the other
 * children); the new program gets its own once that one is gone.
 */
static void
spawn_retarget(const char *path)
{
	log_info("workers are now %s", path);
	spawn_fs_close();
	free(sp.path);
	sp.path = xstrdup(path);
	sp.off = 0;
}

/* Ask the forkserver for a worker; its pid, or -1 with *cause set. */
static pid_t
spawn_fs_request(char *const argv[], char *const envp[], char **cause)
{
	struct json_object	*req, *arr, *reply = NULL;
	const char		*s, *err;
	size_t			 i, len;
	int64_t			 pid = -1;

	req = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; argv[i] != NULL; i++)
		json_object_array_add(arr, json_object_new_string(argv[i]));
	json_object_object_add(req, "argv", arr);
	arr = json_object_new_array();
	for (i = 0; envp[i] != NULL; i++)
		json_object_array_add(arr, json_object_new_string(envp[i]));
	json_object_object_add(req, "env", arr);
	s = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN,
	    &len);
	if (send(sp.fd, s, len, MSG_NOSIGNAL) == -1)
		xasprintf(cause, "%s", strerror(errno));
	else if (spawn_recv(&reply, cause) == 0) {
		if ((err = json_peek_string(reply, "error")) != NULL)
			xasprintf(cause, "%s", err);
		else if ((pid = json_peek_int(reply, "pid", -1)) <= 0)
			xasprintf(cause, "a reply without a pid");
	}
	json_object_put(reply);
	json_object_put(req);
	return (pid > 0 ? (pid_t)pid : -1);
}

/*
 * Start a worker: through the forkserver when there is one (starting it
 * if need be), else directly.  Returns its pid, or -1 with *cause set.
 */
pid_t
spawn_worker(char *const argv[], char *const envp[], char **cause)
{
	char	*why = NULL;
	pid_t	 pid;

	if (strcmp(argv[0], sp.path) != 0)
		spawn_retarget(argv[0]);
	if (!sp.noreaper && !sp.off && sp.fd == -1 && sp.pid == 0 &&
	    clock_now_ms() >= sp.retry_at)
		spawn_fs_start(envp);
	if (sp.fd != -1) {
		if ((pid = spawn_fs_request(argv, envp, &why)) != -1)
			return (pid);
		spawn_fs_stop(why);
		free(why);
	}
	return (spawn_exec(argv, envp, -1, cause));
}

/* A child exited: 1 if it was the forkserver (now gone), else 0. */
int
spawn_exited(pid_t pid, int status)
{
	char	*how;

	if (sp.pid == 0 || pid != sp.pid)
		return (0);
	if (sp.fd != -1) {	/* it died on its own */
		how = worker_status_cause(status);
		log_warnx("forkserver: %s", how);
		free(how);
		spawn_fs_close();
		sp.retry_at = clock_now_ms() + SPAWN_RETRY_MS;
	}
	sp.pid = 0;
	return (1);
}

/* Let the forkserver go: it exits on end of file. */
void
spawn_fini(void)
{
	spawn_fs_close();
	free(sp.path);
	sp.path = NULL;
	free(sp.skills_env);
	sp.skills_env = NULL;
}
