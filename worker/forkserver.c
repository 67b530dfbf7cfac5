/*
 * The forkserver: a skillbox-worker that skillboxd starts once (fork and
 * exec, like any worker) and that then starts each job's worker for it
 * with fork alone.  A worker so started has a fresh process of its own,
 * but not the cost of loading and relocating some fifty shared libraries
 * again: most of a job's CPU and, shared copy-on-write, much of its
 * memory.  The forkserver itself never creates a libevent base or a
 * curl handle, so neither ever crosses fork().
 *
 * Each worker is forked by a middle process (a vfork child of the
 * forkserver) that exits at once, so that the worker is reparented to
 * skillboxd (a child subreaper): skillboxd sees its exit through SIGCHLD
 * and waitpid as for any worker it forked itself, and its
 * PR_SET_PDEATHSIG watches skillboxd.  Before forking, the
 * forkserver initialises libcurl once (no handle, only the library and
 * OpenSSL's tables): that too would cost each worker a millisecond.  It
 * also reads the Skills pack ($SKILLBOX_SKILLS_DIR) once, and compresses
 * its part of every job's bundle once: reading, hashing and compressing
 * it was half of a worker's instructions.  A worker uses that copy only
 * when skillboxd's job names the same directory and digest (skillboxd
 * reads the pack once too, so they agree unless the pack changed in
 * between); otherwise it reads the pack itself.
 *
 * The control socket (SOCK_SEQPACKET, fd 3) carries one JSON object per
 * message: {"ready":true} once at start; then requests
 * {"argv":[...],"env":["K=V",...]} answered by {"pid":N} or
 * {"error":"..."}.  End of file on it ends the forkserver.
 */
#include "config.h"

#include <sys/prctl.h>
#ifdef HAVE_SYS_RSEQ_H
#include <sys/rseq.h>
#endif
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bundle.h"
#include "forkserver.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "skills.h"
#include "xmalloc.h"

#define FS_CTL_FD	3
#define FS_MSG_MAX	(64 * 1024)
#define FS_ARGS_MAX	32
#define FS_REPARENT_MS	2000	/* for the middle process to be gone */
#define FS_RSEQ_LEN	32	/* the first struct rseq, as glibc registers */

extern char	**environ;

static pid_t	 fs_parent;	/* skillboxd */
static char	*pt_base;	/* the process title's area (argv, environ) */
static size_t	 pt_len;
static char	**pt_env;	/* environ, copied out of that area */
static struct skills *fs_pack;	/* the Skills pack, read once */
static char	*fs_pack_dir;
static struct bundle_head *fs_pack_head; /* and compressed once, or NULL */

static void	fs_reply(const char *, long long);
static int	fs_strings(struct json_object *, const char *, char **,
		    size_t, char **);
static pid_t	fs_fork(struct json_object *, char **, char **,
		    forkserver_main, char **);
static void	fs_middle(volatile pid_t *, struct json_object *, char **,
		    char **, forkserver_main, const sigset_t *)
		    __attribute__((__noreturn__, __noinline__));
static void	fs_child(struct json_object *, char **, char **,
		    forkserver_main, const sigset_t *)
		    __attribute__((__noreturn__));
static void	fs_rseq(void);
static void	fs_env(char **);
static void	fs_request(const char *, size_t, forkserver_main);
static void	fs_pack_load(void);
static int	fs_vfork_shares(void);

/*
 * Make the memory of argv and environ (contiguous, as the kernel lays
 * them out) available for process titles: environ is copied elsewhere.
 */
void
proctitle_init(int argc, char **argv)
{
	char	**env;
	size_t	  i, n;
	char	 *end;

	if (argc == 0)
		return;
	end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		if (environ[n] == end)
			end += strlen(environ[n]) + 1;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0; i < n; i++)
		env[i] = xstrdup(environ[i]);
	environ = pt_env = env;
	pt_base = argv[0];
	pt_len = (size_t)(end - argv[0]);
}

/*
 * Show args as this process's command line (/proc/PID/cmdline and ps),
 * NUL-separated as real arguments are, cut to the room there is.
 */
void
proctitle_set(char *const args[])
{
	size_t	i, n, at = 0;

	if (pt_base == NULL || pt_len == 0)
		return;
	memset(pt_base, 0, pt_len);
	for (i = 0; args[i] != NULL && at + 1 < pt_len; i++) {
		n = strlen(args[i]);
		if (n > pt_len - at - 1)
			n = pt_len - at - 1;
		memcpy(pt_base + at, args[i], n);
		at += n + 1;
	}
}

/* Send one reply (an error text, or a pid when text is NULL). */
static void
fs_reply(const char *error, long long pid)
{
	struct json_object	*o;
	const char		*s;
	size_t			 len;

	o = json_object_new_object();
	if (error != NULL)
		json_add_string(o, "error", error);
	else
		json_add_int(o, "pid", pid);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	if (send(FS_CTL_FD, s, len, MSG_NOSIGNAL) == -1)
		log_warn("forkserver: reply");
	json_object_put(o);
}

/* Copy the strings of array key into out (NULL-terminated). */
static int
fs_strings(struct json_object *o, const char *key, char **out, size_t max,
    char **cause)
{
	struct json_object	*arr, *v;
	size_t			 i, n;

	if (json_get_array(o, "request", key, J_REQUIRED, max - 1, &arr,
	    cause) == -1)
		return (-1);
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string)) {
			xasprintf(cause, "request.%s[%zu]: not a string", key,
			    i);
			return (-1);
		}
		out[i] = (char *)json_object_get_string(v);
	}
	out[n] = NULL;
	return ((int)n);
}

/*
 * Replace the environment with env.  What the forkserver held (its copy
 * from proctitle_init) is freed, so that leak checkers see nothing lost.
 */
static void
fs_env(char **env)
{
	size_t	i;

	(void)clearenv();
	for (i = 0; pt_env != NULL && pt_env[i] != NULL; i++)
		free(pt_env[i]);
	free(pt_env);
	pt_env = NULL;
	for (i = 0; env[i] != NULL; i++)
		(void)putenv(xstrdup(env[i]));
}

/*
 * Register again the rseq area that glibc set up at start.  The kernel
 * drops the registration of a child that shares its parent's memory (the
 * vfork middle), a fork copies that, and glibc cannot know: the area's
 * cpu_id would be left stale and sched_getcpu() would read it for ever.
 * glibc registers at least the 32 bytes of the first struct rseq though
 * it may report only the 20 it uses in __rseq_size; the kernel refuses
 * less (EINVAL).  A failure (EBUSY: still registered) changes nothing.
 */
static void
fs_rseq(void)
{
#if defined(RSEQ_SIG) && defined(SYS_rseq)
	unsigned int	len = __rseq_size;

	if (len == 0)
		return;		/* glibc did not register one */
	if (len < FS_RSEQ_LEN)
		len = FS_RSEQ_LEN;
	(void)syscall(SYS_rseq, (char *)__builtin_thread_pointer() +
	    __rseq_offset, len, 0, RSEQ_SIG);
#endif
}

/*
 * The worker, once its middle parent is gone: make sure skillboxd is its
 * parent now and kill it if skillboxd dies, take the environment, the
 * arguments and the title, and run the worker's main.  It ends with
 * _exit(): exit() would run the destructors of some fifty libraries the
 * worker mostly never used, and their writes to pages shared with the
 * forkserver would copy them (half a worker's page faults, ~0.7 ms).
 */
static void
fs_child(struct json_object *req, char **argv, char **env,
    forkserver_main mainfn, const sigset_t *mask)
{
	size_t	argc;
	int	waited, status;

	fs_rseq();
	(void)sigprocmask(SIG_SETMASK, mask, NULL);
	for (waited = 0; getppid() != fs_parent &&
	    waited < FS_REPARENT_MS * 10; waited++)
		usleep(100);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != fs_parent)
		_exit(EX_OSERR);
	(void)setsid();
	fs_env(env);
	for (argc = 0; argv[argc] != NULL; argc++)
		argv[argc] = xstrdup(argv[argc]);
	json_object_put(req);
	proctitle_set(argv);
	status = mainfn((int)argc, argv);
#ifdef __SANITIZE_ADDRESS__
	exit(status);		/* LeakSanitizer checks in exit() */
#else
	(void)fflush(NULL);
	_exit(status);
#endif
}

/*
 * The middle process, on the forkserver's memory: fork the worker, leave
 * its pid (or -errno) in *res, and go.  A function of its own, so that
 * nothing it does can reuse a register or stack slot of fs_fork's frame.
 */
static void
fs_middle(volatile pid_t *res, struct json_object *req, char **argv,
    char **env, forkserver_main mainfn, const sigset_t *mask)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		close(FS_CTL_FD);
		fs_child(req, argv, env, mainfn, mask);
	}
	*res = pid == -1 ? -errno : pid;
	_exit(0);
}

/*
 * Fork the worker through a middle process that exits at once; return the
 * worker's pid.
 *
 * The middle is a vfork child: it borrows the forkserver's memory rather
 * than copying it, which saves building and tearing down the page tables
 * of some fifty libraries: 0.8 to 1 ms of CPU per worker on a nested
 * virtual machine.  This is safe because the forkserver has one thread and
 * is suspended until the middle exits: the locks and atfork handlers of
 * the middle's fork() act on memory nobody else touches, as if the
 * forkserver had forked itself.  The middle never returns into this frame
 * (fs_middle does not return) and never calls exit(), which would run the
 * forkserver's atexit handlers: only _exit().  It leaves the pid in res,
 * shared memory, hence volatile.  Signals stay blocked until it is gone, so
 * that no handler runs in it on that memory; the worker restores the mask
 * and registers its rseq area again (fs_rseq).
 */
static pid_t
fs_fork(struct json_object *req, char **argv, char **env,
    forkserver_main mainfn, char **cause)
{
	volatile pid_t	res = -EAGAIN;
	sigset_t	all, old;
	pid_t		mid;
	int		st, saved;

	sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	if ((mid = vfork()) == 0)
		fs_middle(&res, req, argv, env, mainfn, &old);
	saved = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (mid == -1) {
		xasprintf(cause, "vfork: %s", strerror(saved));
		return (-1);
	}
	(void)waitpid(mid, &st, 0);
	if (res < 0) {
		xasprintf(cause, "fork: %s", strerror(-res));
		return (-1);
	}
	return (res);
}

/*
 * Does a vfork child share this process's memory, as fs_fork needs?  Not
 * under valgrind, which makes vfork a fork: the middle's pid would be
 * lost, and a worker left running that skillboxd thinks never started.
 */
static int
fs_vfork_shares(void)
{
	volatile int	shared = 0;
	pid_t		pid;
	int		st;

	if ((pid = vfork()) == 0) {
		shared = 1;
		_exit(0);
	}
	if (pid == -1)
		return (0);
	(void)waitpid(pid, &st, 0);
	return (shared);
}

/* Read the Skills pack that skillboxd named, if it did and it can be. */
static void
fs_pack_load(void)
{
	const char	*dir = getenv("SKILLBOX_SKILLS_DIR");
	struct bundle	*b;
	char		*cause = NULL;

	if (dir == NULL || *dir == '\0')
		return;
	if (skills_load(dir, NULL, &fs_pack, &cause) == -1) {
		log_debug("forkserver: skills directory %s: %s", dir, cause);
		free(cause);
		return;
	}
	fs_pack_dir = xstrdup(dir);
	b = bundle_new();
	if (bundle_add_skills(b, fs_pack, &cause) == -1 ||
	    (fs_pack_head = bundle_head_new(b, &cause)) == NULL) {
		log_debug("forkserver: %s", cause);
		free(cause);
	}
	bundle_free(&b);
}

/*
 * The pack the forkserver read, if it read dir and its digest is digest,
 * with *head its compressed entries (or NULL); NULL otherwise (and in a
 * worker that no forkserver started).
 */
const struct skills *
forkserver_skills(const char *dir, const char *digest,
    const struct bundle_head **head)
{
	*head = NULL;
	if (fs_pack == NULL || dir == NULL || digest == NULL ||
	    strcmp(dir, fs_pack_dir) != 0 ||
	    strcmp(digest, skills_digest(fs_pack)) != 0)
		return (NULL);
	*head = fs_pack_head;
	return (fs_pack);
}

/* One request: start a worker with these arguments and environment. */
static void
fs_request(const char *data, size_t len, forkserver_main mainfn)
{
	struct json_object	*o;
	char			*argv[FS_ARGS_MAX], *env[FS_ARGS_MAX];
	char			*cause = NULL;
	pid_t			 pid;

	if ((o = json_parse(data, len, &cause)) == NULL ||
	    fs_strings(o, "argv", argv, FS_ARGS_MAX, &cause) < 1 ||
	    fs_strings(o, "env", env, FS_ARGS_MAX, &cause) == -1) {
		fs_reply(cause != NULL ? cause : "request.argv: empty", 0);
		goto out;
	}
	if ((pid = fs_fork(o, argv, env, mainfn, &cause)) == -1)
		fs_reply(cause, 0);
	else
		fs_reply(NULL, pid);
out:
	free(cause);
	json_object_put(o);
}

/*
 * Serve skillboxd until it closes the control socket.  Returns the exit
 * status of the forkserver.
 */
int
forkserver_run(int argc, char **argv, forkserver_main mainfn)
{
	static char	*title[] = { (char *)"skillbox-worker",
			    (char *)"--forkserver", NULL };
	char		 msg[FS_MSG_MAX];
	ssize_t		 n;
	int		 type;
	socklen_t	 tlen = sizeof(type);

	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("skillbox-worker[forkserver]");
	fs_parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != fs_parent ||
	    getsockopt(FS_CTL_FD, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_SEQPACKET) {
		log_warnx("forkserver: no control socket on fd %d", FS_CTL_FD);
		return (EX_USAGE);
	}
	signal(SIGPIPE, SIG_IGN);
	if (!fs_vfork_shares()) {
		log_warnx("forkserver: vfork does not share memory here "
		    "(valgrind?); skillboxd starts its workers itself");
		return (EX_UNAVAILABLE);
	}
	http_global_init();
	fs_pack_load();
	proctitle_init(argc, argv);
	proctitle_set(title);
	if (send(FS_CTL_FD, "{\"ready\":true}", 14, MSG_NOSIGNAL) == -1)
		return (EX_OSERR);
	while ((n = recv(FS_CTL_FD, msg, sizeof(msg), 0)) > 0)
		fs_request(msg, (size_t)n, mainfn);
	return (n == 0 ? 0 : EX_OSERR);
}
