/*
 * Sandboxes: each is a bubblewrap process tree (own pid, ipc, uts and
 * mount namespaces; a private network unless internet access is allowed)
 * running e2b-local-agent as uid 1000, with a private writable /home/user
 * and /tmp from its state directory, read-only system directories and a
 * synthetic passwd.  A sandbox dies with everything in it on kill, on
 * expiry and when e2b-local exits (bwrap --die-with-parent).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2b-local.h"
#include "agent.h"
#include "gofmt.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define SANDBOX_ID_LEN		20
#define SANDBOX_TOKEN_LEN	32

struct argv {
	char	**a_v;
	size_t	  a_n;
};

static const char *sandbox_sysdirs[] = {
	"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
};

static void	sandbox_random(char *, size_t, const char *);
static void	argv_add(struct argv *, ...);
static void	argv_free(struct argv *);
static int	sandbox_write(const char *, const char *, const char *,
		    char **);
static int	sandbox_files(struct sandbox *, char **);
static int	sandbox_listen(struct sandbox *, char **);
static int	sandbox_config(struct sandbox *, char **);
static void	sandbox_args(struct sandbox *, struct argv *);
static char	**sandbox_environ(struct sandbox *);
static void	sandbox_exec(struct sandbox *, int, int, int, struct argv *)
		    __attribute__((__noreturn__));
static void	sandbox_ready_cb(evutil_socket_t, short, void *);
static void	sandbox_expire_cb(evutil_socket_t, short, void *);
static void	sandbox_destroy(struct sandbox *);

struct template *
template_find(const char *name)
{
	struct template	*t;

	TAILQ_FOREACH(t, &e2bl.e_templates, t_entry) {
		if (strcmp(t->t_name, name) == 0)
			return (t);
	}
	return (NULL);
}

/* len random characters from an alphabet. */
static void
sandbox_random(char *out, size_t len, const char *alphabet)
{
	unsigned char	r[64];
	size_t		i, n = strlen(alphabet);

	if (len > sizeof(r) || getrandom(r, len, 0) != (ssize_t)len)
		fatal("getrandom");
	for (i = 0; i < len; i++)
		out[i] = alphabet[r[i] % n];
	out[len] = '\0';
}

/* A new sandbox, not yet started; secure ones get an access token. */
struct sandbox *
sandbox_new(struct template *t, int secure)
{
	struct sandbox	*sb;
	char		 tok[SANDBOX_TOKEN_LEN + 1];

	sb = xcalloc(1, sizeof(*sb));
	sb->sb_id[0] = 'i';
	sandbox_random(sb->sb_id + 1, SANDBOX_ID_LEN,
	    "abcdefghijklmnopqrstuvwxyz0123456789");
	if (secure) {
		sandbox_random(tok, SANDBOX_TOKEN_LEN, "0123456789abcdef");
		sb->sb_token = xstrdup(tok);
	}
	sb->sb_tmpl = t;
	sb->sb_state = SB_STARTING;
	sb->sb_pid = -1;
	sb->sb_ready_fd = -1;
	clock_gettime(CLOCK_REALTIME, &sb->sb_start);
	sb->sb_end = sb->sb_start;
	TAILQ_INIT(&sb->sb_calls);
	TAILQ_INSERT_TAIL(&e2bl.e_sandboxes, sb, sb_entry);
	return (sb);
}

/* A running sandbox by id. */
struct sandbox *
sandbox_find(const char *id)
{
	struct sandbox	*sb;

	TAILQ_FOREACH(sb, &e2bl.e_sandboxes, sb_entry) {
		if (sb->sb_state == SB_RUNNING && strcmp(sb->sb_id, id) == 0)
			return (sb);
	}
	return (NULL);
}

/*
 * Expire secs seconds from now; the first timeout, set at creation,
 * counts from the start, so that endAt is startedAt plus the timeout
 * exactly, as E2B says it.
 */
void
sandbox_set_timeout(struct sandbox *sb, int64_t secs)
{
	struct timeval	tv;

	if (sb->sb_timer == NULL)
		sb->sb_end = sb->sb_start;
	else
		clock_gettime(CLOCK_REALTIME, &sb->sb_end);
	sb->sb_end.tv_sec += secs;
	if (sb->sb_timer == NULL)
		sb->sb_timer = evtimer_new(e2bl.e_base, sandbox_expire_cb, sb);
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(sb->sb_timer, &tv);
}

static void
sandbox_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	sandbox_kill(arg, "timeout expired");
}

static void
argv_add(struct argv *a, ...)
{
	va_list		 ap;
	const char	*s;

	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL) {
		a->a_v = xreallocarray(a->a_v, a->a_n + 2, sizeof(*a->a_v));
		a->a_v[a->a_n++] = xstrdup(s);
		a->a_v[a->a_n] = NULL;
	}
	va_end(ap);
}

static void
argv_free(struct argv *a)
{
	size_t	i;

	for (i = 0; i < a->a_n; i++)
		free(a->a_v[i]);
	free(a->a_v);
	a->a_v = NULL;
	a->a_n = 0;
}

/* Write dir/name (mode 0644). */
static int
sandbox_write(const char *dir, const char *name, const char *text,
    char **cause)
{
	char	*path;
	FILE	*f;
	int	 r = 0;

	xasprintf(&path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		r = -1;
	}
	free(path);
	return (r);
}

/*
 * The state directory: home/ (uid 1000), tmp/ (mode 1777) and the
 * synthetic files laid over /etc.  /etc/profile is the host's with the
 * template's bin directory put first on PATH, so that login shells
 * ("bash -l", as the SDK runs commands) find the template's programs.
 */
static int
sandbox_files(struct sandbox *sb, char **cause)
{
	char	*p, *etc, *profile = NULL, *text;
	FILE	*f;
	size_t	 len = 0;
	int	 r = -1, root = geteuid() == 0;

	xasprintf(&sb->sb_dir, "%s/%s", e2bl.e_statedir, sb->sb_id);
	xasprintf(&etc, "%s/etc", sb->sb_dir);
	if (mkdir(sb->sb_dir, 0711) == -1 || mkdir(etc, 0755) == -1) {
		xasprintf(cause, "mkdir %s: %s", sb->sb_dir, strerror(errno));
		goto out;
	}
	xasprintf(&p, "%s/home", sb->sb_dir);
	if (mkdir(p, 0750) == -1 || (root && chown(p, E2BL_UID,
	    E2BL_UID) == -1)) {
		xasprintf(cause, "%s: %s", p, strerror(errno));
		free(p);
		goto out;
	}
	free(p);
	xasprintf(&p, "%s/tmp", sb->sb_dir);
	if (mkdir(p, 0700) == -1 || chmod(p, 01777) == -1) {
		xasprintf(cause, "%s: %s", p, strerror(errno));
		free(p);
		goto out;
	}
	free(p);
	if ((f = fopen("/etc/profile", "r")) != NULL) {
		(void)getdelim(&profile, &len, '\0', f);
		fclose(f);
	}
	xasprintf(&text, "%s\nPATH=\"%s/bin:$PATH\"\nexport PATH\n",
	    profile != NULL ? profile : "", sb->sb_tmpl->t_dir);
	free(profile);
	if (sandbox_write(etc, "passwd", "root:x:0:0:root:/root:/bin/bash\n"
	    "user:x:1000:1000::/home/user:/bin/bash\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	    cause) == 0 && sandbox_write(etc, "group", "root:x:0:\n"
	    "user:x:1000:\nnogroup:x:65534:\n", cause) == 0 &&
	    sandbox_write(etc, "hostname", E2BL_HOSTNAME "\n", cause) == 0 &&
	    sandbox_write(etc, "hosts", "127.0.0.1\tlocalhost\n"
	    "::1\tlocalhost ip6-localhost ip6-loopback\n"
	    "127.0.1.1\t" E2BL_HOSTNAME "\n", cause) == 0 &&
	    sandbox_write(etc, "profile", text, cause) == 0)
		r = 0;
	free(text);
out:
	free(etc);
	return (r);
}

/* The listening socket the agent will serve on; its fd, or -1. */
static int
sandbox_listen(struct sandbox *sb, char **cause)
{
	struct sockaddr_un	sun;
	int			fd;

	xasprintf(&sb->sb_sock, "%s/agent.sock", sb->sb_dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    sb->sb_sock) >= sizeof(sun.sun_path)) {
		xasprintf(cause, "%s: path too long for a socket (use a "
		    "shorter --state)", sb->sb_sock);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 128) == -1) {
		xasprintf(cause, "agent socket %s: %s", sb->sb_sock,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	return (fd);
}

/* The agent's configuration, in a memfd; its fd, or -1. */
static int
sandbox_config(struct sandbox *sb, char **cause)
{
	struct json_object	*cfg, *envs;
	const char		*s;
	int			 fd;

	envs = json_object_new_object();
	json_object_object_foreach(sb->sb_envs, k, v)
		json_object_object_add(envs, k, json_object_get(v));
	json_add_string(envs, "E2B_SANDBOX", "true");
	json_add_string(envs, "E2B_SANDBOX_ID", sb->sb_id);
	json_add_string(envs, "E2B_TEMPLATE_ID", sb->sb_tmpl->t_name);
	cfg = json_object_new_object();
	json_add_string(cfg, "sandboxID", sb->sb_id);
	json_add_string(cfg, "templateID", sb->sb_tmpl->t_name);
	json_add_string(cfg, "user", E2BL_USER);
	json_add_string(cfg, "home", E2BL_HOME);
	json_object_object_add(cfg, "envs", envs);
	s = json_str(cfg);
	if ((fd = memfd_create("e2b-local-config", MFD_CLOEXEC)) == -1 ||
	    write(fd, s, strlen(s)) != (ssize_t)strlen(s) ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		xasprintf(cause, "agent configuration: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	json_object_put(cfg);
	return (fd);
}

/* bwrap's arguments for this sandbox. */
static void
sandbox_args(struct sandbox *sb, struct argv *a)
{
	static const char	*etc[] = { "passwd", "group", "hostname",
				    "hosts", "profile" };
	struct stat		 st;
	char			 link[PATH_MAX], *p, *q;
	ssize_t			 n;
	size_t			 i;

	argv_add(a, e2bl.e_bwrap, "--die-with-parent", "--new-session",
	    "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
	    "--unshare-cgroup-try", NULL);
	if (!sb->sb_internet)
		argv_add(a, "--unshare-net", NULL);
	argv_add(a, "--ro-bind", "/usr", "/usr", NULL);
	for (i = 0; i < sizeof(sandbox_sysdirs) / sizeof(*sandbox_sysdirs);
	    i++) {
		if (lstat(sandbox_sysdirs[i], &st) == -1)
			continue;
		if (S_ISLNK(st.st_mode) && (n = readlink(sandbox_sysdirs[i],
		    link, sizeof(link) - 1)) > 0) {
			link[n] = '\0';
			argv_add(a, "--symlink", link, sandbox_sysdirs[i],
			    NULL);
		} else if (S_ISDIR(st.st_mode))
			argv_add(a, "--ro-bind", sandbox_sysdirs[i],
			    sandbox_sysdirs[i], NULL);
	}
	argv_add(a, "--ro-bind", "/etc", "/etc", NULL);
	for (i = 0; i < sizeof(etc) / sizeof(*etc); i++) {
		xasprintf(&p, "%s/etc/%s", sb->sb_dir, etc[i]);
		xasprintf(&q, "/etc/%s", etc[i]);
		argv_add(a, "--ro-bind", p, q, NULL);
		free(p);
		free(q);
	}
	xasprintf(&p, "%s/home", sb->sb_dir);
	xasprintf(&q, "%s/tmp", sb->sb_dir);
	argv_add(a, "--proc", "/proc", "--dev", "/dev", "--bind", p, E2BL_HOME,
	    "--bind", q, "/tmp", "--dir", "/var", "--symlink", "../tmp",
	    "/var/tmp", NULL);
	free(p);
	free(q);
	argv_add(a, "--ro-bind", sb->sb_tmpl->t_dir, sb->sb_tmpl->t_dir,
	    "--ro-bind", e2bl.e_agent, E2BL_AGENT_PATH,
	    "--hostname", E2BL_HOSTNAME, "--uid", "1000", "--gid", "1000",
	    "--chdir", E2BL_HOME, E2BL_AGENT_PATH, NULL);
	if (e2bl.e_verbose)
		argv_add(a, "-v", NULL);
}

/* The agent's environment: PATH, and sanitizer settings passed on. */
static char **
sandbox_environ(struct sandbox *sb)
{
	static const char	*keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
				    "LSAN_OPTIONS" };
	char			**env;
	const char		*v;
	size_t			 i, n = 0;

	env = xcalloc(2 + sizeof(keep) / sizeof(*keep), sizeof(*env));
	xasprintf(&env[n++], "PATH=%s/bin:%s", sb->sb_tmpl->t_dir,
	    E2BL_SYS_PATH);
	for (i = 0; i < sizeof(keep) / sizeof(*keep); i++) {
		if ((v = getenv(keep[i])) != NULL)
			xasprintf(&env[n++], "%s=%s", keep[i], v);
	}
	return (env);
}

/*
 * In the child: fds 3, 4 and 5 for the agent, then exec bwrap.  As root,
 * bwrap runs as uid 1000 itself, so that the sandbox's user namespace maps
 * its uid 1000 to the host's uid 1000, never to root.
 */
static void
sandbox_exec(struct sandbox *sb, int lfd, int cfd, int rfd, struct argv *a)
{
	char		**env = sandbox_environ(sb);
	sigset_t	  set;
	gid_t		  gid = E2BL_UID;
	int		  sig, null;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	(void)setpgid(0, 0);
	if (geteuid() == 0 && (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(E2BL_UID, E2BL_UID, E2BL_UID) == -1))
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) == -1 ||
	    dup2(lfd, AGENT_FD_LISTEN) == -1 ||
	    dup2(cfd, AGENT_FD_CONFIG) == -1 ||
	    dup2(rfd, AGENT_FD_READY) == -1)
		_exit(127);
#ifdef HAVE_CLOSEFROM
	closefrom(AGENT_FD_READY + 1);
#else
	for (sig = AGENT_FD_READY + 1; sig < 1024; sig++)
		(void)close(sig);
#endif
	execve(e2bl.e_bwrap, a->a_v, env);
	dprintf(STDERR_FILENO, "e2b-local: exec %s: %s\n", e2bl.e_bwrap,
	    strerror(errno));
	_exit(127);
}

/*
 * Start the sandbox.  The agent tells it serves by writing to the ready
 * pipe; sandbox_ready_cb then answers the create.
 */
int
sandbox_spawn(struct sandbox *sb, char **cause)
{
	struct argv	 a = { NULL, 0 };
	struct timeval	 tv = { E2BL_READY_SECS, 0 };
	int		 lfd = -1, cfd = -1, ready[2] = { -1, -1 }, r = -1;
	pid_t		 pid;

	if (sandbox_files(sb, cause) == -1 ||
	    (lfd = sandbox_listen(sb, cause)) == -1 ||
	    (cfd = sandbox_config(sb, cause)) == -1)
		goto out;
	if (pipe2(ready, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto out;
	}
	sandbox_args(sb, &a);
	if ((pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		sandbox_exec(sb, lfd, cfd, ready[1], &a);
	log_info("sandbox %s: started (template %s, pid %d)", sb->sb_id,
	    sb->sb_tmpl->t_name, (int)pid);
	sb->sb_pid = pid;
	sb->sb_ready_fd = ready[0];
	ready[0] = -1;
	sb->sb_ready_ev = event_new(e2bl.e_base, sb->sb_ready_fd, EV_READ,
	    sandbox_ready_cb, sb);
	event_add(sb->sb_ready_ev, &tv);
	r = 0;
out:
	argv_free(&a);
	if (lfd != -1)
		close(lfd);
	if (cfd != -1)
		close(cfd);
	if (ready[0] != -1)
		close(ready[0]);
	if (ready[1] != -1)
		close(ready[1]);
	return (r);
}

static void
sandbox_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sandbox	*sb = arg;
	char		 c;
	const char	*why;

	if ((what & EV_READ) && read(fd, &c, 1) == 1) {
		sb->sb_state = SB_RUNNING;
		log_debug("sandbox %s: agent ready", sb->sb_id);
		api_created(sb);
		return;
	}
	why = (what & EV_TIMEOUT) ? "the sandbox did not start in time" :
	    "the sandbox exited while starting";
	api_create_failed(sb, why);
	sandbox_kill(sb, why);
}

/*
 * Kill a sandbox: drop its requests in flight as its edge would, and kill
 * its process tree.  It is gone for the API at once and freed once reaped.
 */
void
sandbox_kill(struct sandbox *sb, const char *why)
{
	struct call	*c;

	if (sb->sb_state == SB_DYING)
		return;
	log_info("sandbox %s: %s", sb->sb_id, why);
	sb->sb_state = SB_DYING;
	if (sb->sb_create != NULL)
		api_create_failed(sb, why);
	if (sb->sb_timer != NULL)
		evtimer_del(sb->sb_timer);
	if (sb->sb_ready_ev != NULL)
		event_del(sb->sb_ready_ev);
	while ((c = TAILQ_FIRST(&sb->sb_calls)) != NULL)
		call_abort(c);
	if (sb->sb_pid == -1) {
		sandbox_destroy(sb);
		return;
	}
	if (kill(-sb->sb_pid, SIGKILL) == -1)
		(void)kill(sb->sb_pid, SIGKILL);
}

/* Reap exited sandboxes; one that died by itself is killed for good. */
void
sandbox_reap(void)
{
	struct sandbox	*sb;
	char		 status[GOFMT_STATUS_MAX];
	pid_t		 pid;
	int		 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		TAILQ_FOREACH(sb, &e2bl.e_sandboxes, sb_entry) {
			if (sb->sb_pid == pid)
				break;
		}
		if (sb == NULL) {
			log_debug("reaped unknown pid %d", (int)pid);
			continue;
		}
		sb->sb_pid = -1;
		if (sb->sb_state == SB_DYING) {
			sandbox_destroy(sb);
			continue;
		}
		gofmt_wait_status(status, sizeof(status), st);
		log_warnx("sandbox %s: bwrap ended (%s)", sb->sb_id, status);
		sandbox_kill(sb, "its process tree ended");
	}
}

static void
sandbox_destroy(struct sandbox *sb)
{
	if (sb->sb_dir != NULL && gofmt_remove_all(sb->sb_dir) == -1)
		log_warn("remove %s", sb->sb_dir);
	TAILQ_REMOVE(&e2bl.e_sandboxes, sb, sb_entry);
	if (sb->sb_timer != NULL)
		event_free(sb->sb_timer);
	if (sb->sb_ready_ev != NULL)
		event_free(sb->sb_ready_ev);
	if (sb->sb_ready_fd != -1)
		close(sb->sb_ready_fd);
	json_object_put(sb->sb_metadata);
	json_object_put(sb->sb_envs);
	free(sb->sb_token);
	free(sb->sb_dir);
	free(sb->sb_sock);
	free(sb);
}

/* At exit: kill every sandbox and wait for each to be gone. */
void
sandbox_shutdown(void)
{
	struct sandbox	*sb, *next;
	int		 st;

	for (sb = TAILQ_FIRST(&e2bl.e_sandboxes); sb != NULL; sb = next) {
		next = TAILQ_NEXT(sb, sb_entry);
		sandbox_kill(sb, "e2b-local is exiting");
	}
	while ((sb = TAILQ_FIRST(&e2bl.e_sandboxes)) != NULL) {
		if (sb->sb_pid != -1)
			(void)waitpid(sb->sb_pid, &st, 0);
		sb->sb_pid = -1;
		sandbox_destroy(sb);
	}
}
