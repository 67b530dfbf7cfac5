/*
 * skillbox-worker: runs one job in one E2B sandbox, from create to kill.
 * Started by skillboxd (one process per job, ZeroMQ link), or by hand with
 * --job FILE, when it prints the job's events and result as JSON lines.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "forkserver.h"
#include "json.h"
#include "link.h"
#include "evbase.h"
#include "log.h"
#include "pipeline.h"
#include "redact.h"
#include "wjob.h"
#include "xmalloc.h"

#define WORKER_JOB_WAIT_S	30	/* for the supervisor's job message */

struct worker {
	struct event_base	*w_base;
	struct link		*w_link;
	struct wjob		*w_job;
	struct pipeline		*w_pipe;
	int			 w_exit;	/* set when done before a job */
	int			 w_signals;
};

static void	usage(FILE *, int) __attribute__((__noreturn__));
static void	worker_msg_cb(struct proto_msg *, void *);
static void	worker_lost_cb(void *);
static void	worker_signal_cb(int, short, void *);
static void	worker_wait_cb(int, short, void *);
static int	worker_take_job(struct worker *, struct json_object *);
static int	worker_standalone(struct worker *, const char *, const char *,
		    const char *);
static int	worker_connected(struct worker *, const char *, const char *);
static int	worker_main(int, char **);

static void
usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: skillbox-worker [-v] --job FILE [--out DIR]\n"
	    "       skillbox-worker [-v] --reap SANDBOX-ID\n"
	    "       skillbox-worker [-v] --connect ENDPOINT --job-id ID "
	    "[--reap SANDBOX-ID]\n"
	    "       skillbox-worker --forkserver\n"
	    "\n"
	    "Runs one skillbox job in one E2B sandbox, from create to kill.\n"
	    "Standalone (--job) it reads the job spec from FILE, takes its\n"
	    "settings and keys from the environment (E2B_API_KEY,\n"
	    "ANTHROPIC_API_KEY, E2B_API_URL, E2B_SANDBOX_URL, E2B_DOMAIN,\n"
	    "SKILLBOX_TEMPLATE, ...), prints the job's events and result as\n"
	    "JSON lines and leaves the diff and artifacts in DIR.\n"
	    "See skillbox-worker(8).\n");
	exit(status);
}

/* Parse the job message and make the pipeline; -1 on a bad message. */
static int
worker_take_job(struct worker *w, struct json_object *msg)
{
	char	*cause = NULL;

	if (wjob_parse(msg, &w->w_job, &cause) == -1) {
		log_warnx("invalid job: %s", cause);
		free(cause);
		return (-1);
	}
	wjob_export(w->w_job);
	w->w_pipe = pipeline_new(w->w_base, w->w_link, w->w_job);
	return (0);
}

/* A message from the supervisor. */
static void
worker_msg_cb(struct proto_msg *m, void *arg)
{
	struct worker	*w = arg;

	switch (m->pm_type) {
	case MSG_JOB:
		if (w->w_job != NULL) {
			log_warnx("second job message ignored");
			break;
		}
		if (worker_take_job(w, m->pm_obj) == -1)
			w->w_exit = EX_DATAERR;
		event_base_loopbreak(w->w_base);
		break;
	case MSG_CANCEL:
		if (w->w_pipe != NULL)
			pipeline_cancel(w->w_pipe, JOB_CANCELLED,
			    json_peek_string(m->pm_obj, "reason"));
		else {
			w->w_exit = EX_TEMPFAIL;
			event_base_loopbreak(w->w_base);
		}
		break;
	case MSG_VERSION:
		log_warnx("supervisor speaks protocol %lld, not %d",
		    (long long)json_peek_int(m->pm_obj, "version", 0),
		    PROTO_VERSION);
		w->w_exit = EX_SOFTWARE;
		if (w->w_pipe != NULL)
			pipeline_cancel(w->w_pipe, JOB_FAILED,
			    "protocol version mismatch");
		event_base_loopbreak(w->w_base);
		break;
	case MSG_HEARTBEAT:
		break;
	default:
		log_warnx("unexpected %s message from the supervisor",
		    proto_type_name(m->pm_type));
		break;
	}
}

/* The supervisor went silent: nobody will read the result; clean up. */
static void
worker_lost_cb(void *arg)
{
	struct worker	*w = arg;

	if (w->w_pipe != NULL)
		pipeline_cancel(w->w_pipe, JOB_CANCELLED,
		    "lost the supervisor");
	else {
		w->w_exit = EX_TEMPFAIL;
		event_base_loopbreak(w->w_base);
	}
}

/* SIGTERM/SIGINT: cancel the job (the sandbox is still killed); twice: go. */
static void
worker_signal_cb(int sig, short what, void *arg)
{
	struct worker	*w = arg;

	if (++w->w_signals > 1 || w->w_pipe == NULL) {
		log_warnx("%s, exiting now", strsignal(sig));
		_exit(EX_TEMPFAIL);
	}
	log_info("%s: cancelling the job", strsignal(sig));
	pipeline_cancel(w->w_pipe, JOB_CANCELLED, strsignal(sig));
}

static void
worker_wait_cb(int fd, short what, void *arg)
{
	struct worker	*w = arg;

	log_warnx("no job message within %d s", WORKER_JOB_WAIT_S);
	w->w_exit = EX_TEMPFAIL;
	event_base_loopbreak(w->w_base);
}

/* Standalone: the job message is built from the file and environment. */
static int
worker_standalone(struct worker *w, const char *file, const char *out,
    const char *reap)
{
	struct json_object	*msg;
	char			*cause = NULL, *dir = NULL;
	int			 r;

	w->w_link = link_open_stdio(w->w_base, STDOUT_FILENO);
	if (reap != NULL)
		msg = wjob_reap_msg(reap);
	else {
		if (out == NULL) {
			xasprintf(&dir, "skillbox-job-%ld", (long)getpid());
			out = dir;
		}
		if ((msg = wjob_from_file(file, out, &cause)) == NULL) {
			log_warnx("%s", cause);
			free(cause);
			free(dir);
			return (EX_DATAERR);
		}
	}
	r = worker_take_job(w, msg);
	json_object_put(msg);
	free(dir);
	return (r == -1 ? EX_DATAERR : 0);
}

/* Connected: say hello, then wait (bounded) for the job message. */
static int
worker_connected(struct worker *w, const char *endpoint, const char *id)
{
	struct event	*ev;
	struct timeval	 tv = { WORKER_JOB_WAIT_S, 0 };
	char		*cause = NULL;

	if ((w->w_link = link_open_zmq(w->w_base, endpoint, id,
	    &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (EX_UNAVAILABLE);
	}
	link_set_callbacks(w->w_link, worker_msg_cb, worker_lost_cb, w);
	ev = evtimer_new(w->w_base, worker_wait_cb, w);
	evtimer_add(ev, &tv);
	event_base_dispatch(w->w_base);
	event_free(ev);
	if (w->w_pipe == NULL && w->w_exit == 0)
		w->w_exit = EX_TEMPFAIL;
	return (w->w_exit);
}

/* One worker: parse the arguments, get the job, run it. */
static int
worker_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "job", required_argument, NULL, 'j' },
		{ "job-id", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "reap", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct worker	 w;
	struct event	*sigterm, *sigint;
	const char	*connect = NULL, *file = NULL, *id = NULL, *out = NULL;
	const char	*reap = NULL, *lvl;
	int		 ch, verbose = LOG_LEVEL_INFO, r;

	if ((lvl = getenv("SKILLBOX_LOG_LEVEL")) != NULL)
		verbose = (int)strtol(lvl, NULL, 10);
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			connect = optarg;
			break;
		case 'j':
			file = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			reap = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("skillbox-worker %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, EX_USAGE);
		}
	}
	/* --connect with --job-id (a reaper adds --reap); else --job or --reap. */
	if (optind != argc || (connect != NULL && (id == NULL ||
	    file != NULL || out != NULL)) || (connect == NULL && (id != NULL ||
	    (file == NULL) == (reap == NULL))))
		usage(stderr, EX_USAGE);

	log_init(LOG_TO_STDERR, verbose, 0);
	log_procinit("skillbox-worker");
	log_setredact(redact);
	signal(SIGPIPE, SIG_IGN);
	memset(&w, 0, sizeof(w));
	/*
	 * epoll changes are batched until the loop waits: curl changes what
	 * a socket is watched for at every turn of a transfer.  No watched
	 * descriptor shares its file: curl's sockets, the link's, libevent's
	 * own signal socket.
	 */
	w.w_base = evbase_new(EVBASE_CHANGELIST);
	sigterm = evsignal_new(w.w_base, SIGTERM, worker_signal_cb, &w);
	sigint = evsignal_new(w.w_base, SIGINT, worker_signal_cb, &w);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	r = connect != NULL ? worker_connected(&w, connect, id) :
	    worker_standalone(&w, file, out, reap);
	if (r == 0)
		r = pipeline_run(w.w_pipe);

	pipeline_free(&w.w_pipe);
	wjob_free(&w.w_job);
	link_close(&w.w_link);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(w.w_base);
	redact_clear();
	return (r);
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--forkserver") == 0)
		return (forkserver_run(argc, argv, worker_main));
	return (worker_main(argc, argv));
}
