/*
 * skillboxd: an MCP server that runs coding jobs in E2B sandboxes with
 * Claude Code, one skillbox-worker process per job.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "redact.h"
#include "skillboxd.h"
#include "xmalloc.h"

static struct {
	struct event_base	*base;
	struct sv_config	 cfg;
	struct tr_stdio		*stdio;
	struct tr_http		*http;
	struct event		*sigs[5];
	int			 stopping;
} sv;

/* What the command line asked for. */
struct sv_opts {
	int		 o_stdio;
	int		 o_no_auth;
	const char	*o_listen;	/* --listen, or NULL */
	int		 o_level;
};

static void	usage(void) __attribute__((__noreturn__));
static void	sv_help(void) __attribute__((__noreturn__));
static void	sv_stop(const char *);
static void	sv_stopped(void);
static void	sv_eof(void);
static void	sv_signal_cb(int, short, void *);
static struct event_base *sv_base(void);
static int	sv_protocol_fd(void);
static void	sv_options(int, char **, struct sv_opts *);
static void	sv_serve(const struct sv_opts *, int);

static void
usage(void)
{
	fprintf(stderr, "usage: skillboxd [-dv] [--stdio] [--listen "
	    "ADDRESS:PORT] [--no-auth]\n"
	    "       skillboxd --help | --version\n");
	exit(EX_USAGE);
}

/* Begin a shutdown: stop accepting, stop the jobs, exit when done. */
static void
sv_stop(const char *why)
{
	if (sv.stopping)
		return;
	sv.stopping = 1;
	log_info("shutting down: %s", why);
	sched_shutdown(sv_stopped);
}

static void
sv_stopped(void)
{
	event_base_loopexit(sv.base, NULL);
}

static void
sv_eof(void)
{
	sv_stop("the client closed stdin");
}

/* Signals arrive here in loop context, so real work is allowed. */
static void
sv_signal_cb(int sig, short what, void *arg)
{
	switch (sig) {
	case SIGCHLD:
		worker_reap();
		break;
	case SIGTERM:
	case SIGINT:
		sv_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		log_info("SIGHUP: there is no configuration file to reload");
		break;
	default:
		break;
	}
}

/* One event base; epoll cannot watch regular files given as stdio. */
static struct event_base *
sv_base(void)
{
	struct event_config	*ec;
	struct event_base	*base;
	struct stat		 sb;
	int			 fd;

	ec = event_config_new();
	for (fd = 0; fd <= 1; fd++)
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			event_config_avoid_method(ec, "epoll");
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("cannot create the event base");
	return (base);
}

/*
 * Keep a private descriptor for the MCP stream and point fd 1 at stderr,
 * so that nothing but protocol can ever reach the client's stdout.
 */
static int
sv_protocol_fd(void)
{
	int	fd;

	if ((fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) == -1)
		fatal("stdout");
	if (dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
		fatal("dup2");
	return (fd);
}

static void
sv_help(void)
{
	printf("skillboxd %s: an MCP server that runs coding jobs in "
	    "sandboxes\n", PACKAGE_VERSION);
	printf("usage: skillboxd [-dv] [--stdio] [--listen ADDRESS:PORT] "
	    "[--no-auth]\n"
	    "  --stdio          serve MCP on stdin and stdout\n"
	    "  --listen A:P     serve Streamable HTTP at http://A:P/mcp "
	    "(or SKILLBOX_LISTEN;\n"
	    "                   sockets passed by systemd are used "
	    "instead)\n"
	    "  --no-auth        HTTP without a bearer token: loopback "
	    "development and\n"
	    "                   conformance runs only\n"
	    "  -d               stay in the foreground, log to stderr\n"
	    "  -v               log more (repeat for more)\n");
	exit(0);
}

/* Parse the command line. */
static void
sv_options(int argc, char **argv, struct sv_opts *o)
{
	static const struct option longopts[] = {
		{ "stdio", no_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "no-auth", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	memset(o, 0, sizeof(*o));
	o->o_level = LOG_LEVEL_INFO;
	while ((ch = getopt_long(argc, argv, "dv", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->o_stdio = 1;
			break;
		case 'l':
			o->o_listen = optarg;
			break;
		case 'A':
			o->o_no_auth = 1;
			break;
		case 'd':
			break;
		case 'v':
			o->o_level++;
			break;
		case 'h':
			sv_help();
		case 'V':
			printf("skillboxd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc || (!o->o_stdio && o->o_listen == NULL &&
	    getenv("SKILLBOX_LISTEN") == NULL && getenv("LISTEN_FDS") == NULL))
		usage();
}

/*
 * Start the transports asked for (HTTP also on sockets systemd passed
 * in).  An HTTP host alone takes local repositories only from
 * SKILLBOX_ALLOWED_ROOTS, never from where it happened to be started.
 */
static void
sv_serve(const struct sv_opts *o, int outfd)
{
	char	*cause = NULL;

	if (o->o_listen != NULL) {
		free(sv.cfg.c_listen);
		sv.cfg.c_listen = xstrdup(o->o_listen);
	}
	if (!o->o_stdio && getenv("SKILLBOX_ALLOWED_ROOTS") == NULL) {
		free(sv.cfg.c_allowed_roots);
		sv.cfg.c_allowed_roots = NULL;
	}
	if ((sv.cfg.c_listen != NULL || getenv("LISTEN_FDS") != NULL) &&
	    tr_http_new(sv.base, &sv.cfg, o->o_no_auth, &sv.http,
	    &cause) == -1)
		fatalx("http: %s", cause);
	if (o->o_stdio) {
		sv.stdio = tr_stdio_new(sv.base, STDIN_FILENO, outfd, sv_eof);
		log_info("serving MCP on stdio");
	}
	log_info("state in %s, at most %lld jobs at once", store_dir(),
	    (long long)sv.cfg.c_max_jobs);
}

int
main(int argc, char **argv)
{
	static const int signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sv_opts	 opts;
	char		*cause = NULL;
	int		 outfd = -1;
	size_t		 i;

	sv_options(argc, argv, &opts);
	log_init(LOG_TO_STDERR, opts.o_level, LOG_DAEMON);
	log_procinit("skillboxd");
	log_setredact(redact);
	signal(SIGPIPE, SIG_IGN);
	if (opts.o_stdio)
		outfd = sv_protocol_fd();
	if (config_load(&sv.cfg, &cause) == -1)
		fatalx("%s", cause);
	if (store_init(sv.cfg.c_state_dir, &cause) == -1)
		fatalx("state directory: %s", cause);
	sv.base = sv_base();
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		sv.sigs[i] = evsignal_new(sv.base, signals[i], sv_signal_cb,
		    NULL);
		evsignal_add(sv.sigs[i], NULL);
	}
	pack_init(sv.cfg.c_skills_dir);
	jobs_init();
	mcp_init();
	tools_wait_init(sv.base);
	if (sched_init(sv.base, &sv.cfg, &cause) == -1)
		fatalx("%s", cause);
	sched_recover();
	sv_serve(&opts, outfd);

	event_base_dispatch(sv.base);

	if (sv.stdio != NULL)
		tr_stdio_flush(sv.stdio);
	tr_stdio_free(&sv.stdio);
	tr_http_free(&sv.http);
	mcp_fini();
	sched_fini();
	jobs_clear();
	store_close();
	pack_init(NULL);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		event_free(sv.sigs[i]);
	event_base_free(sv.base);
	config_clear(&sv.cfg);
	redact_clear();
	log_info("exiting");
	return (0);
}
