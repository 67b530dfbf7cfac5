/*
 * fake-anthropic: a scripted Anthropic Messages API on loopback.  It
 * prints "LISTENING <port>" on stdout once it accepts connections (and
 * nothing else there), and serves until SIGTERM, SIGINT or SIGHUP, or
 * until its parent dies.  See README in this directory.
 */
#include "config.h"

#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "fake.h"
#include "log.h"
#include "xmalloc.h"

struct options {
	char		*o_host;
	int		 o_port;
	const char	*o_script;
	const char	*o_log;
	const char	*o_dumpdir;
	int		 o_verbose;
};

static void	usage(void) __attribute__((__noreturn__));
static void	options_parse(int, char **, struct options *);
static int	listen_parse(const char *, char **, int *);
static void	signal_cb(evutil_socket_t, short, void *);

static const struct option longopts[] = {
	{ "listen",	required_argument,	NULL,	'l' },
	{ "script",	required_argument,	NULL,	's' },
	{ "log",	required_argument,	NULL,	'L' },
	{ "dump-dir",	required_argument,	NULL,	'd' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: fake-anthropic [-v] [--listen host:port] "
	    "[--script file] [--log file]\n"
	    "                      [--dump-dir dir]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	struct event_base	*base;
	struct event		*sigs[3];
	struct script		*script;
	struct server		*srv;
	char			*cause = NULL;
	int			 logfd = -1, port, i;
	static const int	 signos[] = { SIGTERM, SIGINT, SIGHUP };

#ifdef HAVE_SYS_PRCTL_H
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	options_parse(argc, argv, &o);
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO + o.o_verbose, 0);
	log_procinit("fake-anthropic");
	signal(SIGPIPE, SIG_IGN);

	if (o.o_script != NULL)
		script = script_load(o.o_script, &cause);
	else
		script = script_parse("[]", 2, &cause);
	if (script == NULL)
		fatalx("%s", cause);
	if (o.o_log != NULL && (logfd = open(o.o_log, O_WRONLY | O_CREAT |
	    O_APPEND | O_CLOEXEC, 0644)) == -1)
		fatal("%s", o.o_log);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signos[i], signal_cb, base);
		evsignal_add(sigs[i], NULL);
	}
	srv = server_new(base, script, logfd, o.o_dumpdir);
	if (server_listen(srv, o.o_host, o.o_port, &port, &cause) == -1)
		fatalx("%s", cause);
	log_debug("%zu entries, listening on %s port %d", script->s_n,
	    o.o_host, port);
	printf("LISTENING %d\n", port);
	if (fflush(stdout) == EOF)
		fatal("stdout");

	event_base_dispatch(base);

	server_free(&srv);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
	libevent_global_shutdown();
	script_free(&script);
	if (logfd != -1)
		close(logfd);
	free(o.o_host);
	return (0);
}

static void
options_parse(int argc, char **argv, struct options *o)
{
	const char	*listen = "127.0.0.1:0";
	int		 ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "d:hL:l:s:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->o_dumpdir = optarg;
			break;
		case 'L':
			o->o_log = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 's':
			o->o_script = optarg;
			break;
		case 'v':
			o->o_verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (listen_parse(listen, &o->o_host, &o->o_port) == -1) {
		fprintf(stderr, "fake-anthropic: bad --listen address: %s\n",
		    listen);
		usage();
	}
}

/* Split "host:port" or "[v6 host]:port". */
static int
listen_parse(const char *s, char **host, int *port)
{
	const char	*colon, *end;
	char		*ep;
	long		 n;

	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return (-1);
	errno = 0;
	n = strtol(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || n < 0 ||
	    n > 65535)
		return (-1);
	end = colon;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return (-1);
		s++;
		end--;
	}
	*host = xstrndup(s, (size_t)(end - s));
	*port = (int)n;
	return (0);
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	log_debug("signal %d, exiting", (int)sig);
	event_base_loopexit(arg, NULL);
}
