/*
 * e2b-local-agent: serves e2b-local's operations from inside one sandbox.
 * See agent.h for the protocol.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "agent.h"
#include "buf.h"
#include "gofmt.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

struct agent_op {
	const char	*name;
	void		(*fn)(struct aconn *, struct json_object *);
	int		 whole;		/* takes the request, not "msg" */
};

static const struct agent_op agent_ops[] = {
	{ "start", aproc_start, 1 },
	{ "connect", aproc_connect, 0 },
	{ "list", aproc_list, 0 },
	{ "signal", aproc_signal, 0 },
	{ "input", aproc_input, 0 },
	{ "closestdin", aproc_closestdin, 0 },
	{ "stat", afs_stat, 0 },
	{ "listdir", afs_listdir, 0 },
	{ "mkdir", afs_mkdir, 0 },
	{ "remove", afs_remove, 0 },
	{ "move", afs_move, 0 },
	{ "write", afile_write, 1 },
	{ "read", afile_read, 1 },
};

struct agent	agent;

static void	agent_config(void);
static void	agent_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	agent_signal(evutil_socket_t, short, void *);
static void	aconn_frame(struct fconn *, uint8_t, const char *, size_t,
		    void *);
static void	aconn_closed(struct fconn *, const char *, void *);
static void	aconn_drained(struct fconn *, void *);
static void	aconn_dispatch(struct aconn *, const char *, size_t);
static void	aconn_free(struct aconn *);
static struct json_object *agent_verror(const char *, int, const char *,
		    va_list) __attribute__((__format__(printf, 3, 0)));
static __attribute__((__noreturn__)) void agent_usage(void);

static void
agent_usage(void)
{
	fprintf(stderr, "usage: e2b-local-agent [-v]\n"
	    "Started by e2b-local inside a sandbox; not for direct use.\n");
	exit(2);
}

/* Read the configuration e2b-local left on fd 4. */
static void
agent_config(void)
{
	struct json_object	*cfg, *envs;
	struct buf		 b;
	char			 chunk[8192], *cause = NULL;
	const char		*s;
	ssize_t			 n;

	buf_init(&b, AGENT_CONFIG_MAX);
	while ((n = read(AGENT_FD_CONFIG, chunk, sizeof(chunk))) > 0) {
		if (buf_add(&b, chunk, (size_t)n) == -1)
			fatalx("configuration too large");
	}
	if (n == -1)
		fatal("read configuration");
	close(AGENT_FD_CONFIG);
	if ((cfg = json_parse(buf_str(&b), buf_len(&b), &cause)) == NULL)
		fatalx("configuration: %s", cause);
	buf_free(&b);
	if (json_get_string(cfg, "", "sandboxID", J_REQUIRED, 64, &s,
	    &cause) != 1)
		fatalx("configuration: %s", cause);
	agent.a_id = xstrdup(s);
	if (json_get_string(cfg, "", "templateID", J_REQUIRED, 0, &s,
	    &cause) != 1)
		fatalx("configuration: %s", cause);
	agent.a_template = xstrdup(s);
	if (json_get_string(cfg, "", "user", J_REQUIRED, 0, &s, &cause) != 1)
		fatalx("configuration: %s", cause);
	agent.a_user = xstrdup(s);
	if (json_get_string(cfg, "", "home", J_REQUIRED, 0, &s, &cause) != 1)
		fatalx("configuration: %s", cause);
	agent.a_home = xstrdup(s);
	if (json_get_object(cfg, "", "envs", J_REQUIRED, &envs, &cause) != 1)
		fatalx("configuration: %s", cause);
	agent.a_envs = json_object_get(envs);
	json_object_put(cfg);
	s = getenv("PATH");
	agent.a_path = xstrdup(s != NULL ? s : "/usr/bin:/bin");
}

int
main(int argc, char *argv[])
{
	struct evconnlistener	*lev;
	struct event		*sigterm, *sigint;
	static char		 procname[96];
	int			 ch, level = LOG_LEVEL_INFO;

	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			level++;
			break;
		default:
			agent_usage();
		}
	}
	log_init(LOG_TO_STDERR, level, 0);
	agent_config();
	snprintf(procname, sizeof(procname), "e2b-local-agent[%s]",
	    agent.a_id);
	log_procinit(procname);
	signal(SIGPIPE, SIG_IGN);

	if ((agent.a_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	evutil_make_socket_nonblocking(AGENT_FD_LISTEN);
	evutil_make_socket_closeonexec(AGENT_FD_LISTEN);
	lev = evconnlistener_new(agent.a_base, agent_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, AGENT_FD_LISTEN);
	if (lev == NULL)
		fatalx("cannot listen on fd %d", AGENT_FD_LISTEN);
	aproc_init();
	sigterm = evsignal_new(agent.a_base, SIGTERM, agent_signal, NULL);
	sigint = evsignal_new(agent.a_base, SIGINT, agent_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	if (write(AGENT_FD_READY, "R", 1) != 1)
		fatal("ready pipe");
	close(AGENT_FD_READY);
	log_debug("serving as %s in %s", agent.a_user, agent.a_home);
	event_base_dispatch(agent.a_base);
	return (0);
}

static void
agent_signal(evutil_socket_t sig, short what, void *arg)
{
	log_debug("signal %d, exiting", (int)sig);
	exit(0);
}

static void
agent_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct aconn	*ac;

	evutil_make_socket_closeonexec(fd);
	ac = xcalloc(1, sizeof(*ac));
	ac->ac_fc = fconn_new(agent.a_base, fd, AGENT_FRAME_MAX, aconn_frame,
	    aconn_closed, ac);
	if (ac->ac_fc == NULL) {
		free(ac);
		return;
	}
	fconn_set_drained(ac->ac_fc, aconn_drained);
}

/* Run the operation the first frame names. */
static void
aconn_dispatch(struct aconn *ac, const char *data, size_t len)
{
	struct json_object	*req, *msg = NULL;
	const char		*op;
	char			*cause = NULL;
	size_t			 i;

	if ((req = json_parse(data, len, &cause)) == NULL ||
	    json_get_string(req, "", "op", J_REQUIRED, 32, &op, &cause) != 1) {
		aconn_finish(ac, agent_error("invalid_argument", "%s", cause));
		goto out;
	}
	for (i = 0; i < sizeof(agent_ops) / sizeof(agent_ops[0]); i++) {
		if (strcmp(op, agent_ops[i].name) != 0)
			continue;
		if (!agent_ops[i].whole &&
		    json_get_object(req, "", "msg", J_OPTIONAL, &msg,
		    &cause) == -1) {
			aconn_finish(ac, agent_error("invalid_argument", "%s",
			    cause));
			goto out;
		}
		log_debug("op %s", op);
		agent_ops[i].fn(ac, agent_ops[i].whole ? req : msg);
		goto out;
	}
	aconn_finish(ac, agent_error("unimplemented", "unknown operation %s",
	    op));
out:
	free(cause);
	json_object_put(req);
}

static void
aconn_frame(struct fconn *fc, uint8_t flags, const char *data, size_t len,
    void *arg)
{
	struct aconn	*ac = arg;

	switch (ac->ac_state) {
	case AC_REQUEST:
		aconn_dispatch(ac, data, len);
		break;
	case AC_WRITE:
		afile_write_frame(ac, flags, data, len);
		break;
	default:
		log_debug("ignoring a frame in state %d", ac->ac_state);
		break;
	}
}

static void
aconn_closed(struct fconn *fc, const char *cause, void *arg)
{
	struct aconn	*ac = arg;

	if (cause != NULL)
		log_debug("connection closed: %s", cause);
	aconn_free(ac);
}

static void
aconn_drained(struct fconn *fc, void *arg)
{
	struct aconn	*ac = arg;

	if (ac->ac_state == AC_STREAM)
		aproc_drained(ac);
	else if (ac->ac_state == AC_READ)
		afile_drained(ac);
}

static void
aconn_free(struct aconn *ac)
{
	if (ac->ac_proc != NULL)
		aproc_unsubscribe(ac);
	afile_abort(ac);
	fconn_free(&ac->ac_fc);
	free(ac);
}

/*
 * Send the last frame (takes ownership of msg) and close the connection
 * once it is written.
 */
void
aconn_finish(struct aconn *ac, struct json_object *msg)
{
	if (ac->ac_proc != NULL)
		aproc_unsubscribe(ac);
	ac->ac_state = AC_DONE;
	(void)fconn_send_json(ac->ac_fc, ENV_FLAG_END, msg);
	json_object_put(msg);
	fconn_close_flush(ac->ac_fc);
}

static struct json_object *
agent_verror(const char *code, int status, const char *fmt, va_list ap)
{
	struct json_object	*o;
	char			*msg;

	xvasprintf(&msg, fmt, ap);
	o = frame_error(code, status, msg);
	free(msg);
	return (o);
}

/* {"error": {"code": code, "message": ...}}: a Connect error. */
struct json_object *
agent_error(const char *code, const char *fmt, ...)
{
	struct json_object	*o;
	va_list			 ap;

	va_start(ap, fmt);
	o = agent_verror(code, 0, fmt, ap);
	va_end(ap);
	return (o);
}

/* {"error": {"status": N, "message": ...}}: an envd HTTP error. */
struct json_object *
agent_status_error(int status, const char *fmt, ...)
{
	struct json_object	*o;
	va_list			 ap;

	va_start(ap, fmt);
	o = agent_verror(NULL, status, fmt, ap);
	va_end(ap);
	return (o);
}

/* {"result": msg}; takes ownership of msg. */
struct json_object *
agent_result(struct json_object *msg)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "result", msg);
	return (o);
}

/*
 * Resolve a path as envd's ExpandAndResolve does: "~" is the user's home,
 * a relative path is taken from the home, an absolute one is kept as is.
 */
char *
agent_resolve(const char *path, char **cause)
{
	char	*joined, *clean;

	if (path[0] == '~') {
		if (path[1] != '\0' && path[1] != '/') {
			xasprintf(cause, "failed to expand path '%s' for user "
			    "'%s': cannot expand user-specific home dir", path,
			    agent.a_user);
			return (NULL);
		}
		xasprintf(&joined, "%s/%s", agent.a_home, path + 1);
	} else if (path[0] == '/')
		return (xstrdup(path));
	else
		xasprintf(&joined, "%s/%s", agent.a_home, path);
	clean = gofmt_path_clean(joined);
	free(joined);
	return (clean);
}

/* Go's text for an errno value. */
const char *
agent_strerror(int error)
{
	static char	buf[128];

	return (gofmt_errno(error, buf, sizeof(buf)));
}
