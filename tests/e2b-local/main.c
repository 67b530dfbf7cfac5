/*
 * e2b-local: a local E2B-compatible sandbox service for skillbox's tests.
 * See e2b-local.h and README.md.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "e2b-local.h"
#include "gofmt.h"
#include "log.h"
#include "xmalloc.h"

struct e2bl	e2bl;

static const struct option main_options[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "api-key", required_argument, NULL, 'k' },
	{ "template", required_argument, NULL, 't' },
	{ "state", required_argument, NULL, 's' },
	{ "agent", required_argument, NULL, 'a' },
	{ "bwrap", required_argument, NULL, 'b' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void	main_usage(FILE *, int) __attribute__((__noreturn__));
static void	main_template(const char *);
static void	main_statedir(const char *);
static char	*main_agent(const char *);
static void	main_reachable(const char *, const char *, mode_t);
static int	main_can_reach(const char *, mode_t, char **);
static char	*main_agent_copy(const char *);
static void	main_signal(evutil_socket_t, short, void *);
static void	main_cleanup(void);

static void
main_usage(FILE *f, int status)
{
	fprintf(f,
"usage: e2b-local --api-key KEY [--listen ADDR:PORT] [--template NAME=DIR]...\n"
"                 [--state DIR] [--agent PATH] [--bwrap PATH] [-v] [--help]\n"
"\n"
"A local E2B-compatible sandbox service: E2B's control-plane API and each\n"
"sandbox's envd on one loopback listener.  Point the e2b SDK at it with\n"
"E2B_API_URL and E2B_SANDBOX_URL (both http://ADDR:PORT).\n"
"\n"
"  --listen ADDR:PORT   loopback address; port 0 picks one (default\n"
"                       127.0.0.1:0); prints \"LISTENING <port>\" when ready\n"
"  --api-key KEY        the X-API-Key every API request must carry\n"
"  --template NAME=DIR  a template; DIR/bin goes first on PATH (repeatable)\n"
"  --state DIR          per-sandbox state (default: a temporary directory)\n"
"  --agent PATH         e2b-local-agent (default: next to this program)\n"
"  --bwrap PATH         bubblewrap (default: %s)\n"
"  -v, --verbose        debug logs on stderr\n", BWRAP_PATH);
	exit(status);
}

/* --template NAME=DIR: DIR must be a directory; kept as an absolute path. */
static void
main_template(const char *arg)
{
	struct template	*t;
	struct stat	 st;
	const char	*eq = strchr(arg, '=');
	char		*name, *dir;

	if (eq == NULL || eq == arg || eq[1] == '\0')
		fatalx("--template %s: expected NAME=DIR", arg);
	name = xstrndup(arg, (size_t)(eq - arg));
	if ((dir = realpath(eq + 1, NULL)) == NULL ||
	    stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx("--template %s: %s is not a directory", arg, eq + 1);
	if (template_find(name) != NULL)
		fatalx("--template %s: template %s given twice", arg, name);
	main_reachable("--template", dir, S_IROTH | S_IXOTH);
	t = xcalloc(1, sizeof(*t));
	t->t_name = name;
	t->t_dir = dir;
	TAILQ_INSERT_TAIL(&e2bl.e_templates, t, t_entry);
}

/*
 * As root, sandboxes are built by bwrap running as uid 1000: it must be
 * able to reach what it binds.  Say whether every directory above path is
 * searchable by others and path has the "others" bits in need; *where
 * gets the first directory in the way.
 */
static int
main_can_reach(const char *path, mode_t need, char **where)
{
	struct stat	 st;
	char		*p, *slash;

	*where = NULL;
	if (geteuid() != 0)
		return (1);
	p = xstrdup(path);
	while ((slash = strrchr(p, '/')) != NULL && slash != p) {
		*slash = '\0';
		if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH)) {
			*where = p;
			return (0);
		}
	}
	free(p);
	return (stat(path, &st) == 0 && (st.st_mode & need) == need);
}

/* As main_can_reach, but exit with a clear message when it cannot. */
static void
main_reachable(const char *what, const char *path, mode_t need)
{
	char	*where;

	if (main_can_reach(path, need, &where))
		return;
	if (where != NULL)
		fatalx("%s %s: %s is not searchable by the sandbox user "
		    "(uid %d); chmod o+x it or choose another place", what,
		    path, where, E2BL_UID);
	fatalx("%s %s: not accessible to the sandbox user (uid %d)", what,
	    path, E2BL_UID);
}

/* Create (or make) the state directory. */
static void
main_statedir(const char *arg)
{
	const char	*tmp = getenv("TMPDIR");
	char		*path;

	if (arg == NULL) {
		xasprintf(&path, "%s/e2b-local.XXXXXX", tmp != NULL &&
		    *tmp != '\0' ? tmp : "/tmp");
		if (mkdtemp(path) == NULL)
			fatal("mkdtemp %s", path);
		e2bl.e_statedir_tmp = 1;
	} else {
		if (mkdir(arg, 0700) == -1 && errno != EEXIST)
			fatal("--state %s", arg);
		if ((path = realpath(arg, NULL)) == NULL)
			fatal("--state %s", arg);
	}
	if (chmod(path, 0711) == -1)
		fatal("chmod %s", path);
	main_reachable("--state", path, S_IXOTH);
	e2bl.e_statedir = path;
}

/*
 * A copy of the agent in the state directory, for when the sandbox user
 * cannot reach the original (a build tree in a 0700 directory).
 */
static char *
main_agent_copy(const char *src)
{
	char	*dst, chunk[65536];
	ssize_t	 n;
	int	 in, out;

	xasprintf(&dst, "%s/e2b-local-agent", e2bl.e_statedir);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("agent %s", src);
	(void)unlink(dst);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0755)) == -1)
		fatal("agent copy %s", dst);
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, (size_t)n) != n)
			fatal("agent copy %s", dst);
	if (n == -1 || close(out) == -1)
		fatal("agent copy %s", dst);
	close(in);
	return (dst);
}

/*
 * The agent binary: --agent, or e2b-local-agent beside this program;
 * copied into the state directory when the sandbox user cannot reach it.
 */
static char *
main_agent(const char *arg)
{
	char	 self[PATH_MAX], *p, *dir, *where;
	ssize_t	 n;

	if (arg != NULL)
		p = xstrdup(arg);
	else {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) ==
		    -1)
			fatal("readlink /proc/self/exe");
		self[n] = '\0';
		dir = dirname(self);
		xasprintf(&p, "%s/e2b-local-agent", dir);
	}
	if (access(p, X_OK) == -1)
		fatal("agent %s", p);
	dir = realpath(p, NULL);
	free(p);
	if (dir == NULL)
		fatal("agent");
	if (main_can_reach(dir, S_IROTH | S_IXOTH, &where))
		return (dir);
	log_debug("agent %s: not reachable by uid %d (%s); using a copy",
	    dir, E2BL_UID, where != NULL ? where : dir);
	free(where);
	p = main_agent_copy(dir);
	free(dir);
	return (p);
}

static void
main_signal(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGCHLD) {
		sandbox_reap();
		return;
	}
	log_info("signal %d: exiting", (int)sig);
	e2bl.e_exiting = 1;
	event_base_loopbreak(e2bl.e_base);
}

/* Kill every sandbox and release everything, so leak checkers see none. */
static void
main_cleanup(void)
{
	struct template	*t;

	sandbox_shutdown();
	server_free_delayed();
	evhttp_free(e2bl.e_http);
	local_free();
	while ((t = TAILQ_FIRST(&e2bl.e_templates)) != NULL) {
		TAILQ_REMOVE(&e2bl.e_templates, t, t_entry);
		free(t->t_name);
		free(t->t_dir);
		free(t);
	}
	if (e2bl.e_statedir_tmp && gofmt_remove_all(e2bl.e_statedir) == -1)
		log_warn("remove %s", e2bl.e_statedir);
	free(e2bl.e_statedir);
	free(e2bl.e_agent);
	free(e2bl.e_bwrap);
	free(e2bl.e_apikey);
}

int
main(int argc, char *argv[])
{
	struct event	*ev[4];
	const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	const char	*listen = "127.0.0.1:0", *state = NULL, *agent = NULL;
	const char	*bwrap = BWRAP_PATH;
	int		 ch, i;

	memset(&e2bl, 0, sizeof(e2bl));
	TAILQ_INIT(&e2bl.e_templates);
	TAILQ_INIT(&e2bl.e_sandboxes);
	TAILQ_INIT(&e2bl.e_faults);
	TAILQ_INIT(&e2bl.e_stats);
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO, 0);
	log_procinit("e2b-local");
	while ((ch = getopt_long(argc, argv, "vh", main_options, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'k':
			free(e2bl.e_apikey);
			e2bl.e_apikey = xstrdup(optarg);
			break;
		case 't':
			main_template(optarg);
			break;
		case 's':
			state = optarg;
			break;
		case 'a':
			agent = optarg;
			break;
		case 'b':
			bwrap = optarg;
			break;
		case 'v':
			e2bl.e_verbose++;
			log_setlevel(LOG_LEVEL_INFO + e2bl.e_verbose);
			break;
		case 'h':
			main_usage(stdout, 0);
		default:
			main_usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc || e2bl.e_apikey == NULL || *e2bl.e_apikey == '\0')
		main_usage(stderr, EX_USAGE);
	if (access(bwrap, X_OK) == -1) {
		log_warn("bubblewrap %s", bwrap);
		exit(EX_UNAVAILABLE);
	}
	e2bl.e_bwrap = xstrdup(bwrap);
	main_statedir(state);
	e2bl.e_agent = main_agent(agent);
	signal(SIGPIPE, SIG_IGN);

	if ((e2bl.e_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < 4; i++) {
		ev[i] = evsignal_new(e2bl.e_base, sigs[i], main_signal, NULL);
		evsignal_add(ev[i], NULL);
	}
	server_init(listen);
	event_base_dispatch(e2bl.e_base);

	main_cleanup();
	for (i = 0; i < 4; i++)
		event_free(ev[i]);
	event_base_free(e2bl.e_base);
	return (0);
}
