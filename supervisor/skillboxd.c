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

#include "evbase.h"
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
	const char		*conf;		/* -f or CONFIG_FILE */
	int			 conf_given;	/* -f: must exist */
	int			 check;		/* -n */
	int			 verbose;	/* how many -v */
	int			 serve_stdio;	/* --stdio */
	int			 no_auth;	/* --no-auth */
	const char		*listen;	/* --listen, or NULL */
} sv;

static void	usage(void) __attribute__((__noreturn__));
static void	sv_help(void) __attribute__((__noreturn__));
static void	sv_stop(const char *);
static void	sv_stopped(void);
static void	sv_eof(void);
static void	sv_signal_cb(int, short, void *);
static struct event_base *sv_base(void);
static int	sv_protocol_fd(void);
static int	sv_options(int, char **);
static int	sv_configure(struct sv_config *, char **);
static int	sv_check(void);
static void	sv_reload(void);
static char	*sv_status(void);
static void	sv_serve(int);

static void
usage(void)
{
	fprintf(stderr, "usage: skillboxd [-dv] [-f file] [--stdio] "
	    "[--listen address:port] [--no-auth]\n"
	    "       skillboxd -n [-v] [-f file]\n"
	    "       skillboxd --help | --version\n");
	exit(EX_USAGE);
}

static void
sv_help(void)
{
	printf("skillboxd %s: an MCP server that runs coding jobs in "
	    "sandboxes\n", PACKAGE_VERSION);
	printf("usage: skillboxd [-dv] [-f file] [--stdio] "
	    "[--listen address:port] [--no-auth]\n"
	    "       skillboxd -n [-v] [-f file]\n"
	    "  --stdio          serve MCP on stdin and stdout\n"
	    "  --listen A:P     serve Streamable HTTP at http://A:P/mcp "
	    "(also the `listen'\n"
	    "                   setting; sockets passed by systemd are used "
	    "instead)\n"
	    "  --no-auth        HTTP without a bearer token: loopback "
	    "development and\n"
	    "                   conformance runs only\n"
	    "  -d               stay in the foreground, log to stderr\n"
	    "  -f file          read this configuration file (default %s)\n"
	    "  -n               check the configuration and exit\n"
	    "  -v               log more (repeat for more); with -n, print "
	    "the settings\n", CONFIG_FILE);
	exit(0);
}

/* Begin a shutdown: stop accepting, stop the jobs, exit when done. */
static void
sv_stop(const char *why)
{
	if (sv.stopping)
		return;
	sv.stopping = 1;
	log_info("shutting down: %s", why);
	sdnotify_stopping();
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
		sv_reload();
		break;
	default:
		break;
	}
}

/*
 * One event base; epoll cannot watch regular files given as stdio.
 * Without stdio, epoll's changes are batched: a keep-alive HTTP request
 * then costs two epoll_ctl calls, not four.  That is only safe when no
 * watched descriptor shares its file with another one (libevent's
 * warning about dup): stdin and stdout may (a terminal, a socket), the
 * sockets of the HTTP host never do (workers close all but stdio before
 * exec).
 */
static struct event_base *
sv_base(void)
{
	struct stat	sb;
	int		fd, flags = 0;

	for (fd = 0; fd <= 1; fd++)
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			flags |= EVBASE_NO_EPOLL;
	if (!sv.serve_stdio)
		flags |= EVBASE_CHANGELIST;
	return (evbase_new(flags));
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

/* Parse the command line; returns the log level asked for. */
static int
sv_options(int argc, char **argv)
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

	sv.conf = CONFIG_FILE;
	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sv.serve_stdio = 1;
			break;
		case 'l':
			sv.listen = optarg;
			break;
		case 'A':
			sv.no_auth = 1;
			break;
		case 'd':
			break;
		case 'f':
			sv.conf = optarg;
			sv.conf_given = 1;
			break;
		case 'n':
			sv.check = 1;
			break;
		case 'v':
			sv.verbose++;
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
	if (optind != argc || (sv.check && (sv.serve_stdio ||
	    sv.listen != NULL || sv.no_auth)))
		usage();
	config_default_roots(sv.serve_stdio);
	return (LOG_LEVEL_INFO + (sv.check ? 0 : sv.verbose));
}

/* Load the settings; the command line goes over the file and environment. */
static int
sv_configure(struct sv_config *cfg, char **cause)
{
	if (config_load(cfg, sv.conf, sv.conf_given, cause) == -1)
		return (-1);
	if (sv.verbose > 0 && !sv.check)
		cfg->c_log_level = LOG_LEVEL_INFO + sv.verbose;
	if (sv.listen != NULL) {
		free(cfg->c_listen);
		cfg->c_listen = xstrdup(sv.listen);
	}
	return (0);
}

/* -n: check the configuration; with -v, print the effective settings. */
static int
sv_check(void)
{
	struct sv_config	 cfg;
	struct buf		 out;
	char			*cause = NULL;

	if (sv_configure(&cfg, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (1);
	}
	if (sv.verbose > 0) {
		buf_init(&out, 1024 * 1024);
		config_print(&cfg, &out);
		fputs(buf_str(&out), stdout);
		buf_free(&out);
	}
	config_clear(&cfg);
	fprintf(stderr, "configuration OK\n");
	return (0);
}

/* SIGHUP: re-read the settings; keep the running ones if there are errors. */
static void
sv_reload(void)
{
	struct sv_config	 fresh;
	char			*cause = NULL;

	sdnotify_reloading();
	if (sv_configure(&fresh, &cause) == -1) {
		config_log_errors(cause);
		log_warnx("%s has errors, not reloading", sv.conf);
		free(cause);
	} else {
		config_swap(&sv.cfg, &fresh);
		log_setlevel(sv.cfg.c_log_level);
		log_info("configuration reloaded");
	}
	sdnotify_ready();
}

/* What systemd shows in "systemctl status". */
static char *
sv_status(void)
{
	char	*s;

	xasprintf(&s, "%zu running, %zu queued", sched_running(),
	    sched_queued());
	return (s);
}

/*
 * Start the transports asked for: stdio, and HTTP on the listen address
 * or on sockets systemd passed in.
 */
static void
sv_serve(int outfd)
{
	char	*cause = NULL;

	if ((sv.cfg.c_listen != NULL || getenv("LISTEN_FDS") != NULL) &&
	    tr_http_new(sv.base, &sv.cfg, sv.no_auth, &sv.http,
	    &cause) == -1)
		fatalx("http: %s", cause);
	if (sv.serve_stdio) {
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
	char		*cause = NULL;
	int		 outfd = -1;
	size_t		 i;

	log_init(LOG_TO_STDERR, sv_options(argc, argv), LOG_DAEMON);
	log_procinit("skillboxd");
	log_setredact(redact);
	if (sv.check)
		exit(sv_check());
	signal(SIGPIPE, SIG_IGN);
	if (sv.serve_stdio)
		outfd = sv_protocol_fd();
	if (sv_configure(&sv.cfg, &cause) == -1) {
		config_log_errors(cause);
		log_warnx("cannot start: the configuration has errors");
		exit(EX_CONFIG);
	}
	log_setlevel(sv.cfg.c_log_level);
	if (!sv.serve_stdio && sv.cfg.c_listen == NULL &&
	    getenv("LISTEN_FDS") == NULL) {
		log_warnx("nothing to serve: give --stdio, --listen, or "
		    "listen in %s", sv.conf);
		usage();
	}
	if (store_init(sv.cfg.c_state_dir, &cause) == -1)
		fatalx("state directory: %s", cause);
	sv.base = sv_base();
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		sv.sigs[i] = evsignal_new(sv.base, signals[i], sv_signal_cb,
		    NULL);
		evsignal_add(sv.sigs[i], NULL);
	}
	sdnotify_init(sv.base, sv_status);
	pack_init(sv.cfg.c_skills_dir);
	jobs_init();
	mcp_init();
	tools_wait_init(sv.base);
	if (sched_init(sv.base, &sv.cfg, &cause) == -1)
		fatalx("%s", cause);
	sched_recover();
	retain_init(sv.base, &sv.cfg);
	sv_serve(outfd);
	sdnotify_ready();

	event_base_dispatch(sv.base);

	if (sv.stdio != NULL)
		tr_stdio_flush(sv.stdio);
	tr_stdio_free(&sv.stdio);
	tr_http_free(&sv.http);
	mcp_fini();
	retain_fini();
	sched_fini();
	jobs_clear();
	store_close();
	pack_init(NULL);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		event_free(sv.sigs[i]);
	sdnotify_fini();
	event_base_free(sv.base);
	config_clear(&sv.cfg);
	config_fini();
	redact_clear();
	log_info("exiting");
	return (0);
}
