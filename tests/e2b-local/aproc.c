/*
 * The agent's processes, as envd's process service runs them: each one is
 * "/bin/sh -c <oom wrapper> -- cmd args" with a fresh environment; its
 * stdout and stderr go, in chunks of at most 32 KiB, to whoever is
 * subscribed at that moment (output nobody listens to is discarded); its
 * end is reported once it has exited and both outputs are closed, and is
 * kept for a while so that a late Connect still learns the exit code.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "agent.h"
#include "base64.h"
#include "buf.h"
#include "gofmt.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define APROC_WRAPPER \
	"echo 100 > /proc/$$/oom_score_adj && exec \"${@}\""
#define APROC_ARGS_MAX	4096
#define APROC_ENVS_MAX	4096
#define APROC_INPUT_MAX	(4 * 1024 * 1024)

struct aproc {
	pid_t			 p_pid;
	char			*p_tag;
	struct json_object	*p_config;	/* ProcessConfig, for List */
	int			 p_fd[2];	/* stdout, stderr; -1: closed */
	struct event		*p_ev[2];
	int			 p_in;		/* stdin pipe; -1: none */
	struct evbuffer		*p_inbuf;
	struct event		*p_inev;
	int			 p_inclose;	/* close stdin once written */
	int			 p_exited;
	int			 p_status;
	int			 p_paused;	/* a subscriber is behind */
	struct event		*p_deadline;
	struct aconn		*p_starter;	/* the Start stream, if still on */
	struct event		*p_evict;
	struct json_object	*p_end;		/* the EndEvent, once over */
	TAILQ_HEAD(, aconn)	 p_subs;
	TAILQ_ENTRY(aproc)	 p_entry;
};

/* What a Start request asks for. */
struct aproc_spec {
	const char		*s_cmd;
	struct json_object	*s_args;
	struct json_object	*s_envs;
	const char		*s_cwd;		/* NULL: not given */
	const char		*s_tag;
	int			 s_stdin;
	int64_t			 s_timeout_ms;
};

static TAILQ_HEAD(, aproc)	aproc_live = TAILQ_HEAD_INITIALIZER(aproc_live);
static TAILQ_HEAD(, aproc)	aproc_ended =
				    TAILQ_HEAD_INITIALIZER(aproc_ended);
static struct event		*aproc_sigchld_ev;

static int	aproc_parse(struct json_object *, struct aproc_spec *,
		    struct json_object **);
static struct json_object *aproc_config(const struct aproc_spec *);
static char	**aproc_environ(struct json_object *);
static char	**aproc_argv(const struct aproc_spec *);
static void	aproc_closefd(int *);
static void	aproc_strv_free(char **);
static void	aproc_forget(pid_t, const char *);
static void	aproc_send_end(struct aconn *, struct json_object *);
static struct aproc *aproc_spawn(const struct aproc_spec *,
		    struct json_object **);
static pid_t	aproc_fork(char **, char **, const char *, int, int[2], int[2],
		    int *);
static void	aproc_child(char **, char **, const char *, int, int[2],
		    int[2], int) __attribute__((__noreturn__));
static struct aproc *aproc_find(struct json_object *, struct aproc **,
		    struct json_object **);
static struct aproc *aproc_find_live(struct aconn *, struct json_object *);
static void	aproc_subscribe(struct aproc *, struct aconn *);
static void	aproc_send_start(struct aconn *, pid_t);
static void	aproc_output_cb(evutil_socket_t, short, void *);
static void	aproc_input_cb(evutil_socket_t, short, void *);
static void	aproc_deadline_cb(evutil_socket_t, short, void *);
static void	aproc_evict_cb(evutil_socket_t, short, void *);
static void	aproc_sigchld(evutil_socket_t, short, void *);
static void	aproc_close_output(struct aproc *, int);
static void	aproc_close_input(struct aproc *);
static void	aproc_check_done(struct aproc *);
static void	aproc_end(struct aproc *);
static void	aproc_free(struct aproc *);
static void	aproc_backpressure(struct aproc *);

void
aproc_init(void)
{
	aproc_sigchld_ev = evsignal_new(agent.a_base, SIGCHLD, aproc_sigchld,
	    NULL);
	evsignal_add(aproc_sigchld_ev, NULL);
}

/* Check a StartRequest; 0, or -1 with *err set to a Connect error. */
static int
aproc_parse(struct json_object *req, struct aproc_spec *spec,
    struct json_object **err)
{
	struct json_object	*msg = NULL, *proc = NULL, *v;
	char			*cause = NULL;
	size_t			 i;

	memset(spec, 0, sizeof(*spec));
	spec->s_cmd = "";
	spec->s_stdin = 1;
	if (json_get_int(req, "", "timeoutMs", J_OPTIONAL, 0, INT64_MAX,
	    &spec->s_timeout_ms, &cause) == -1 ||
	    json_get_object(req, "", "msg", J_OPTIONAL, &msg, &cause) == -1 ||
	    json_get_object(msg, "", "process", J_OPTIONAL, &proc,
	    &cause) == -1 ||
	    json_get_string(msg, "", "tag", J_OPTIONAL, 4096, &spec->s_tag,
	    &cause) == -1 ||
	    json_get_bool(msg, "", "stdin", J_OPTIONAL, &spec->s_stdin,
	    &cause) == -1 ||
	    json_get_string(proc, "process", "cmd", J_OPTIONAL, 4096,
	    &spec->s_cmd, &cause) == -1 ||
	    json_get_array(proc, "process", "args", J_OPTIONAL, APROC_ARGS_MAX,
	    &spec->s_args, &cause) == -1 ||
	    json_get_object(proc, "process", "envs", J_OPTIONAL,
	    &spec->s_envs, &cause) == -1 ||
	    json_get_string(proc, "process", "cwd", J_OPTIONAL, 4096,
	    &spec->s_cwd, &cause) == -1)
		goto bad;
	for (i = 0; spec->s_args != NULL &&
	    i < json_object_array_length(spec->s_args); i++) {
		v = json_object_array_get_idx(spec->s_args, i);
		if (!json_object_is_type(v, json_type_string)) {
			xasprintf(&cause, "process.args: expected strings");
			goto bad;
		}
	}
	if (spec->s_envs != NULL) {
		json_object_object_foreach(spec->s_envs, key, val) {
			(void)key;
			if (!json_object_is_type(val, json_type_string)) {
				xasprintf(&cause, "process.envs: expected "
				    "string values");
				goto bad;
			}
		}
	}
	if (json_object_object_get_ex(msg, "pty", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		*err = agent_error("unimplemented",
		    "e2b-local does not support PTY processes");
		return (-1);
	}
	return (0);
bad:
	*err = agent_error("invalid_argument", "%s", cause);
	free(cause);
	return (-1);
}

/* The ProcessConfig List reports, in protobuf field order. */
static struct json_object *
aproc_config(const struct aproc_spec *spec)
{
	struct json_object	*o;

	o = json_object_new_object();
	if (*spec->s_cmd != '\0')
		json_add_string(o, "cmd", spec->s_cmd);
	if (spec->s_args != NULL && json_object_array_length(spec->s_args) > 0)
		json_object_object_add(o, "args",
		    json_object_get(spec->s_args));
	if (spec->s_envs != NULL && json_object_object_length(spec->s_envs) > 0)
		json_object_object_add(o, "envs",
		    json_object_get(spec->s_envs));
	if (spec->s_cwd != NULL)
		json_add_string(o, "cwd", spec->s_cwd);
	return (o);
}

/*
 * The environment envd gives a process: PATH, HOME, USER, LOGNAME, the
 * sandbox's variables, then the request's; a later value wins.
 */
static char **
aproc_environ(struct json_object *envs)
{
	struct json_object	*all;
	char			**env;
	size_t			 n = 0;

	all = json_object_new_object();
	json_add_string(all, "PATH", agent.a_path);
	json_add_string(all, "HOME", agent.a_home);
	json_add_string(all, "USER", agent.a_user);
	json_add_string(all, "LOGNAME", agent.a_user);
	json_object_object_foreach(agent.a_envs, k1, v1)
		json_object_object_add(all, k1, json_object_get(v1));
	if (envs != NULL) {
		json_object_object_foreach(envs, k2, v2)
			json_object_object_add(all, k2, json_object_get(v2));
	}
	env = xcalloc((size_t)json_object_object_length(all) + 1,
	    sizeof(*env));
	json_object_object_foreach(all, k, v)
		xasprintf(&env[n++], "%s=%s", k, json_object_get_string(v));
	json_object_put(all);
	return (env);
}

/* argv for /bin/sh -c <wrapper> -- cmd args... */
static char **
aproc_argv(const struct aproc_spec *spec)
{
	size_t	 nargs, i;
	char	**argv;

	nargs = spec->s_args != NULL ? json_object_array_length(spec->s_args) :
	    0;
	argv = xcalloc(nargs + 6, sizeof(*argv));
	argv[0] = xstrdup(AGENT_SHELL);
	argv[1] = xstrdup("-c");
	argv[2] = xstrdup(APROC_WRAPPER);
	argv[3] = xstrdup("--");
	argv[4] = xstrdup(spec->s_cmd);
	for (i = 0; i < nargs; i++)
		argv[5 + i] = xstrdup(json_object_get_string(
		    json_object_array_get_idx(spec->s_args, i)));
	return (argv);
}

static void
aproc_closefd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static void
aproc_strv_free(char **v)
{
	size_t	i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* In the child: wire up stdio and exec, or report errno and exit. */
static void
aproc_child(char **argv, char **env, const char *cwd, int in, int out[2],
    int err[2], int report)
{
	sigset_t	set;
	int		sig, e, stage = 0;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if (in == -1 && (in = open("/dev/null", O_RDONLY)) == -1)
		goto fail;
	if (dup2(in, 0) == -1 || dup2(out[1], 1) == -1 ||
	    dup2(err[1], 2) == -1 || dup2(report, 3) == -1 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
#ifdef HAVE_CLOSEFROM
	closefrom(4);
#else
	for (sig = 4; sig < 1024; sig++)
		(void)close(sig);
#endif
	stage = 1;
	if (chdir(cwd) == -1)
		goto fail;
	stage = 2;
	execve(argv[0], argv, env);
fail:
	e = errno;
	(void)write(3, &stage, sizeof(stage));
	(void)write(3, &e, sizeof(e));
	_exit(127);
}

/*
 * Fork the process with its pipes.  Returns the pid, or -1 with *stage and
 * errno telling what failed (0 setup, 1 chdir, 2 exec).
 */
static pid_t
aproc_fork(char **argv, char **env, const char *cwd, int in, int out[2],
    int err[2], int *stage)
{
	int	report[2], r[2] = { 0, 0 };
	pid_t	pid;
	ssize_t	n;

	*stage = 0;
	if (pipe2(report, O_CLOEXEC) == -1)
		return (-1);
	if ((pid = fork()) == -1) {
		close(report[0]);
		close(report[1]);
		return (-1);
	}
	if (pid == 0)
		aproc_child(argv, env, cwd, in, out, err, report[1]);
	close(report[1]);
	n = read(report[0], r, sizeof(r));
	close(report[0]);
	if (n == (ssize_t)sizeof(r)) {
		(void)waitpid(pid, NULL, 0);
		*stage = r[0];
		errno = r[1];
		return (-1);
	}
	return (pid);
}

/* Start the process a request describes; NULL with *err on failure. */
static struct aproc *
aproc_spawn(const struct aproc_spec *spec, struct json_object **err)
{
	struct aproc	*p = NULL;
	struct stat	 sb;
	char		*cwd, *cause = NULL, **argv, **env;
	int		 out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int		 in[2] = { -1, -1 }, stage, i;
	pid_t		 pid;

	if ((cwd = agent_resolve(spec->s_cwd != NULL ? spec->s_cwd : "",
	    &cause)) == NULL) {
		*err = agent_error("invalid_argument", "%s", cause);
		free(cause);
		return (NULL);
	}
	if (stat(cwd, &sb) == -1 && errno == ENOENT) {
		*err = agent_error("invalid_argument", "cwd '%s' does not "
		    "exist", cwd);
		free(cwd);
		return (NULL);
	}
	argv = aproc_argv(spec);
	env = aproc_environ(spec->s_envs);
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    (spec->s_stdin && pipe2(in, O_CLOEXEC) == -1)) {
		stage = 0;
		pid = -1;
	} else
		pid = aproc_fork(argv, env, cwd, in[0], out, errp, &stage);
	if (pid == -1)
		*err = agent_error("invalid_argument", "error starting process "
		    "'%s': %s %s: %s", spec->s_cmd, stage == 1 ? "chdir" :
		    "fork/exec", stage == 1 ? cwd : AGENT_SHELL,
		    agent_strerror(errno));
	/* The child's ends; on failure ours too. */
	aproc_closefd(&out[1]);
	aproc_closefd(&errp[1]);
	aproc_closefd(&in[0]);
	if (pid == -1) {
		aproc_closefd(&out[0]);
		aproc_closefd(&errp[0]);
		aproc_closefd(&in[1]);
	}
	aproc_strv_free(argv);
	aproc_strv_free(env);
	free(cwd);
	if (pid == -1)
		return (NULL);

	p = xcalloc(1, sizeof(*p));
	p->p_pid = pid;
	p->p_tag = spec->s_tag != NULL ? xstrdup(spec->s_tag) : NULL;
	p->p_config = aproc_config(spec);
	p->p_fd[0] = out[0];
	p->p_fd[1] = errp[0];
	p->p_in = in[1];
	TAILQ_INIT(&p->p_subs);
	for (i = 0; i < 2; i++) {
		evutil_make_socket_nonblocking(p->p_fd[i]);
		p->p_ev[i] = event_new(agent.a_base, p->p_fd[i],
		    EV_READ | EV_PERSIST, aproc_output_cb, p);
		event_add(p->p_ev[i], NULL);
	}
	if (p->p_in != -1) {
		evutil_make_socket_nonblocking(p->p_in);
		p->p_inbuf = evbuffer_new();
		p->p_inev = event_new(agent.a_base, p->p_in, EV_WRITE,
		    aproc_input_cb, p);
	}
	return (p);
}

/* Forget ended processes a new one replaces (same pid or tag). */
static void
aproc_forget(pid_t pid, const char *tag)
{
	struct aproc	*p, *next;

	for (p = TAILQ_FIRST(&aproc_ended); p != NULL; p = next) {
		next = TAILQ_NEXT(p, p_entry);
		if (p->p_pid == pid || (tag != NULL && p->p_tag != NULL &&
		    strcmp(p->p_tag, tag) == 0)) {
			TAILQ_REMOVE(&aproc_ended, p, p_entry);
			aproc_free(p);
		}
	}
}

/* The Start operation: spawn, then stream the process's events. */
void
aproc_start(struct aconn *ac, struct json_object *req)
{
	struct aproc_spec	 spec;
	struct aproc		*p;
	struct json_object	*err = NULL;
	struct timeval		 tv;

	if (aproc_parse(req, &spec, &err) == -1 ||
	    (p = aproc_spawn(&spec, &err)) == NULL) {
		aconn_finish(ac, err);
		return;
	}
	log_debug("started pid %d: %s", (int)p->p_pid, spec.s_cmd);
	aproc_forget(p->p_pid, p->p_tag);
	TAILQ_INSERT_TAIL(&aproc_live, p, p_entry);
	if (spec.s_timeout_ms > 0) {
		tv.tv_sec = spec.s_timeout_ms / 1000;
		tv.tv_usec = (spec.s_timeout_ms % 1000) * 1000;
		p->p_deadline = evtimer_new(agent.a_base, aproc_deadline_cb, p);
		evtimer_add(p->p_deadline, &tv);
	}
	aproc_send_start(ac, p->p_pid);
	aproc_subscribe(p, ac);
	p->p_starter = ac;
}

/*
 * Find a live process by selector {"pid": N} or {"tag": T}.  If ended is
 * not NULL, an ended one still retained is returned there instead.  NULL
 * with *err if there is none.
 */
static struct aproc *
aproc_find(struct json_object *msg, struct aproc **ended,
    struct json_object **err)
{
	struct json_object	*sel = NULL, *v;
	struct aproc		*p;
	const char		*tag = NULL;
	int64_t			 pid = -1;
	char			*end;

	if (ended != NULL)
		*ended = NULL;
	if (json_object_object_get_ex(msg, "process", &sel) &&
	    json_object_is_type(sel, json_type_object)) {
		if (json_object_object_get_ex(sel, "pid", &v) &&
		    json_object_is_type(v, json_type_int))
			pid = json_object_get_int64(v);
		else if (json_object_object_get_ex(sel, "pid", &v) &&
		    json_object_is_type(v, json_type_string)) {
			pid = strtoll(json_object_get_string(v), &end, 10);
			if (*end != '\0')
				pid = -1;
		} else
			tag = json_peek_string(sel, "tag");
	}
	if (pid < 0 && tag == NULL) {
		*err = agent_error("unimplemented", "invalid input type <nil>");
		return (NULL);
	}
	TAILQ_FOREACH(p, &aproc_live, p_entry) {
		if (tag == NULL ? p->p_pid == pid : (p->p_tag != NULL &&
		    strcmp(p->p_tag, tag) == 0))
			return (p);
	}
	TAILQ_FOREACH(p, &aproc_ended, p_entry) {
		if (ended != NULL && (tag == NULL ? p->p_pid == pid :
		    (p->p_tag != NULL && strcmp(p->p_tag, tag) == 0))) {
			*ended = p;
			return (NULL);
		}
	}
	if (tag == NULL)
		*err = agent_error("not_found", "process with pid %lld not "
		    "found", (long long)pid);
	else
		*err = agent_error("not_found", "process with tag %s not found",
		    tag);
	return (NULL);
}

/* A live process, or NULL after answering the operation with an error. */
static struct aproc *
aproc_find_live(struct aconn *ac, struct json_object *msg)
{
	struct json_object	*err = NULL;
	struct aproc		*p;

	if ((p = aproc_find(msg, NULL, &err)) == NULL)
		aconn_finish(ac, err);
	return (p);
}

static void
aproc_send_start(struct aconn *ac, pid_t pid)
{
	char	ev[96];

	snprintf(ev, sizeof(ev), "{\"event\":{\"start\":{\"pid\":%d}}}",
	    (int)pid);
	(void)fconn_send(ac->ac_fc, 0, ev, strlen(ev));
}

/* The end of a process as a ProcessEvent. */
static void
aproc_send_end(struct aconn *ac, struct json_object *end)
{
	struct json_object	*ev, *inner;

	inner = json_object_new_object();
	json_object_object_add(inner, "end", json_object_get(end));
	ev = json_object_new_object();
	json_object_object_add(ev, "event", inner);
	(void)fconn_send_json(ac->ac_fc, 0, ev);
	json_object_put(ev);
}

/* The Connect operation: re-attach to a process by pid or tag. */
void
aproc_connect(struct aconn *ac, struct json_object *msg)
{
	struct aproc		*p, *ended;
	struct json_object	*err = NULL;

	if ((p = aproc_find(msg, &ended, &err)) != NULL) {
		aproc_send_start(ac, p->p_pid);
		aproc_subscribe(p, ac);
		return;
	}
	if (ended == NULL) {
		aconn_finish(ac, err);
		return;
	}
	aproc_send_start(ac, ended->p_pid);
	aproc_send_end(ac, ended->p_end);
	aconn_finish(ac, json_object_new_object());
}

void
aproc_list(struct aconn *ac, struct json_object *msg)
{
	struct json_object	*list, *info, *res;
	struct aproc		*p;

	list = json_object_new_array();
	TAILQ_FOREACH(p, &aproc_live, p_entry) {
		info = json_object_new_object();
		json_object_object_add(info, "config",
		    json_object_get(p->p_config));
		json_add_int(info, "pid", p->p_pid);
		if (p->p_tag != NULL)
			json_add_string(info, "tag", p->p_tag);
		json_object_array_add(list, info);
	}
	res = json_object_new_object();
	json_object_object_add(res, "processes", list);
	aconn_finish(ac, agent_result(res));
}

/* SendSignal: SIGKILL and SIGTERM also stop the output, as in envd. */
void
aproc_signal(struct aconn *ac, struct json_object *msg)
{
	struct json_object	*v;
	struct aproc		*p;
	const char		*name = "SIGNAL_UNSPECIFIED";
	int			 sig = 0;

	if ((p = aproc_find_live(ac, msg)) == NULL)
		return;
	if (json_object_object_get_ex(msg, "signal", &v)) {
		if (json_object_is_type(v, json_type_int))
			sig = json_object_get_int(v);
		else if (json_object_is_type(v, json_type_string)) {
			name = json_object_get_string(v);
			if (strcmp(name, "SIGNAL_SIGKILL") == 0)
				sig = SIGKILL;
			else if (strcmp(name, "SIGNAL_SIGTERM") == 0)
				sig = SIGTERM;
		}
	}
	if (sig != SIGKILL && sig != SIGTERM) {
		aconn_finish(ac, agent_error("unimplemented", "invalid signal: "
		    "%s", name));
		return;
	}
	aproc_close_output(p, 0);
	aproc_close_output(p, 1);
	if (kill(p->p_pid, sig) == -1) {
		aconn_finish(ac, agent_error("internal", "error sending "
		    "signal: %s", agent_strerror(errno)));
		return;
	}
	aproc_check_done(p);
	aconn_finish(ac, agent_result(json_object_new_object()));
}

/* SendInput: queue bytes for the process's stdin. */
void
aproc_input(struct aconn *ac, struct json_object *msg)
{
	struct json_object	*err = NULL, *input = NULL;
	struct aproc		*p;
	struct buf		 b;
	const char		*s = NULL;
	char			*t, *q;

	if ((p = aproc_find_live(ac, msg)) == NULL)
		return;
	(void)json_get_object(msg, "", "input", J_OPTIONAL, &input, NULL);
	if (json_peek_string(input, "pty") != NULL) {
		aconn_finish(ac, agent_error("internal", "error writing to "
		    "tty: tty not assigned to process — input should be "
		    "written to the stdin, not the tty"));
		return;
	}
	if ((s = json_peek_string(input, "stdin")) == NULL) {
		aconn_finish(ac, agent_error("unimplemented",
		    "invalid input type <nil>"));
		return;
	}
	t = xstrdup(s);
	for (q = t; *q != '\0'; q++)
		*q = *q == '-' ? '+' : *q == '_' ? '/' : *q;
	buf_init(&b, APROC_INPUT_MAX);
	if (base64_decode(&b, t, strlen(t)) == -1)
		err = agent_error("invalid_argument", "input.stdin: bad "
		    "base64");
	else if (p->p_in == -1 || p->p_inclose)
		err = agent_error("internal", "error writing to stdin: stdin "
		    "not enabled or closed");
	else {
		evbuffer_add(p->p_inbuf, buf_str(&b), buf_len(&b));
		event_add(p->p_inev, NULL);
	}
	free(t);
	buf_free(&b);
	aconn_finish(ac, err != NULL ? err :
	    agent_result(json_object_new_object()));
}

/* CloseStdin: EOF on stdin once queued input is written. */
void
aproc_closestdin(struct aconn *ac, struct json_object *msg)
{
	struct aproc	*p;

	if ((p = aproc_find_live(ac, msg)) == NULL)
		return;
	if (p->p_in != -1) {
		p->p_inclose = 1;
		if (evbuffer_get_length(p->p_inbuf) == 0)
			aproc_close_input(p);
	}
	aconn_finish(ac, agent_result(json_object_new_object()));
}

static void
aproc_subscribe(struct aproc *p, struct aconn *ac)
{
	ac->ac_state = AC_STREAM;
	ac->ac_proc = p;
	TAILQ_INSERT_TAIL(&p->p_subs, ac, ac_sub);
	aproc_check_done(p);
}

void
aproc_unsubscribe(struct aconn *ac)
{
	struct aproc	*p = ac->ac_proc;

	TAILQ_REMOVE(&p->p_subs, ac, ac_sub);
	ac->ac_proc = NULL;
	if (p->p_starter == ac)
		p->p_starter = NULL;
	aproc_backpressure(p);
}

void
aproc_drained(struct aconn *ac)
{
	aproc_backpressure(ac->ac_proc);
}

/*
 * Stop reading output while any subscriber has a large backlog, so a slow
 * reader slows the process down instead of growing memory.
 */
static void
aproc_backpressure(struct aproc *p)
{
	struct aconn	*ac;
	int		 behind = 0, i;

	TAILQ_FOREACH(ac, &p->p_subs, ac_sub) {
		if (fconn_pending(ac->ac_fc) > FCONN_HIGHWATER)
			behind = 1;
	}
	if (behind == p->p_paused)
		return;
	p->p_paused = behind;
	for (i = 0; i < 2; i++) {
		if (p->p_ev[i] == NULL)
			continue;
		if (behind)
			event_del(p->p_ev[i]);
		else
			event_add(p->p_ev[i], NULL);
	}
}

static void
aproc_output_cb(evutil_socket_t fd, short what, void *arg)
{
	static char	 chunk[AGENT_OUTPUT_CHUNK];
	struct aproc	*p = arg;
	struct aconn	*ac;
	struct buf	 b;
	ssize_t		 n;
	int		 which = fd == p->p_fd[0] ? 0 : 1;

	n = read(fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		aproc_close_output(p, which);
		aproc_check_done(p);
		return;
	}
	if (TAILQ_EMPTY(&p->p_subs))
		return;		/* nobody listens: discarded, as envd does */
	buf_init(&b, base64_encoded_len(sizeof(chunk)) + 64);
	(void)buf_printf(&b, "{\"event\":{\"data\":{\"%s\":\"",
	    which == 0 ? "stdout" : "stderr");
	(void)base64_encode(&b, chunk, (size_t)n);
	(void)buf_addstr(&b, "\"}}}");
	TAILQ_FOREACH(ac, &p->p_subs, ac_sub)
		(void)fconn_send(ac->ac_fc, 0, buf_str(&b), buf_len(&b));
	buf_free(&b);
	aproc_backpressure(p);
}

static void
aproc_input_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aproc	*p = arg;

	if (evbuffer_write(p->p_inbuf, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		evbuffer_drain(p->p_inbuf, evbuffer_get_length(p->p_inbuf));
		aproc_close_input(p);
		return;
	}
	if (evbuffer_get_length(p->p_inbuf) > 0)
		event_add(p->p_inev, NULL);
	else if (p->p_inclose)
		aproc_close_input(p);
}

static void
aproc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aproc	*p = arg;
	struct aconn	*ac = p->p_starter;

	log_debug("pid %d reached its deadline", (int)p->p_pid);
	/* Start shares the deadline: its stream ends now, as in envd. */
	if (ac != NULL)
		aconn_finish(ac, frame_error("deadline_exceeded", 0,
		    "context deadline exceeded"));
	aproc_close_output(p, 0);
	aproc_close_output(p, 1);
	(void)kill(p->p_pid, SIGKILL);
	aproc_check_done(p);
}

static void
aproc_evict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aproc	*p = arg;

	TAILQ_REMOVE(&aproc_ended, p, p_entry);
	aproc_free(p);
}

/* Reap every child that exited; signals coalesce. */
static void
aproc_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct aproc	*p;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(p, &aproc_live, p_entry) {
			if (p->p_pid == pid)
				break;
		}
		if (p == NULL) {
			log_debug("reaped unknown pid %d", (int)pid);
			continue;
		}
		p->p_exited = 1;
		p->p_status = status;
		aproc_check_done(p);
	}
}

static void
aproc_close_output(struct aproc *p, int which)
{
	if (p->p_fd[which] == -1)
		return;
	event_free(p->p_ev[which]);
	p->p_ev[which] = NULL;
	close(p->p_fd[which]);
	p->p_fd[which] = -1;
}

static void
aproc_close_input(struct aproc *p)
{
	if (p->p_in == -1)
		return;
	event_free(p->p_inev);
	p->p_inev = NULL;
	close(p->p_in);
	p->p_in = -1;
}

static void
aproc_check_done(struct aproc *p)
{
	if (p->p_exited && p->p_fd[0] == -1 && p->p_fd[1] == -1 &&
	    p->p_end == NULL)
		aproc_end(p);
}

/*
 * The process exited and its output is closed: send the end event to the
 * subscribers, close their streams and keep the end for late Connects.
 */
static void
aproc_end(struct aproc *p)
{
	struct json_object	*end;
	struct aconn		*ac;
	struct timeval		 tv = { AGENT_RETAIN_SECS, 0 };
	char			 status[GOFMT_STATUS_MAX];
	int			 code;

	gofmt_wait_status(status, sizeof(status), p->p_status);
	code = gofmt_exit_code(p->p_status);
	end = json_object_new_object();
	if (code != 0)
		json_add_int(end, "exitCode", code);
	if (WIFEXITED(p->p_status))
		json_add_bool(end, "exited", 1);
	json_add_string(end, "status", status);
	if (code != 0)
		json_add_string(end, "error", status);
	p->p_end = end;
	log_debug("pid %d ended: %s", (int)p->p_pid, status);

	while ((ac = TAILQ_FIRST(&p->p_subs)) != NULL) {
		aproc_unsubscribe(ac);
		aproc_send_end(ac, end);
		aconn_finish(ac, json_object_new_object());
	}
	aproc_close_input(p);
	if (p->p_deadline != NULL) {
		event_free(p->p_deadline);
		p->p_deadline = NULL;
	}
	TAILQ_REMOVE(&aproc_live, p, p_entry);
	TAILQ_INSERT_TAIL(&aproc_ended, p, p_entry);
	p->p_evict = evtimer_new(agent.a_base, aproc_evict_cb, p);
	evtimer_add(p->p_evict, &tv);
}

static void
aproc_free(struct aproc *p)
{
	aproc_close_output(p, 0);
	aproc_close_output(p, 1);
	aproc_close_input(p);
	if (p->p_inbuf != NULL)
		evbuffer_free(p->p_inbuf);
	if (p->p_deadline != NULL)
		event_free(p->p_deadline);
	if (p->p_evict != NULL)
		event_free(p->p_evict);
	json_object_put(p->p_config);
	json_object_put(p->p_end);
	free(p->p_tag);
	free(p);
}
