/* The scripted HTTP server of the worker's Check suites. */
#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "base64.h"
#include "buf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mock_http.h"
#include "redact.h"
#include "xmalloc.h"

struct mock {
	pid_t			 m_pid;
	int			 m_port;
	char			 m_url[64];
	char			 m_log[64];
	struct json_object	*m_reqs;	/* parsed log */
};

/* A reply being sent piece by piece. */
struct mock_reply {
	struct evhttp_request	*mr_req;
	const struct mock_step	*mr_step;
	const char		*mr_body;
	size_t			 mr_len;	/* bytes to send */
	size_t			 mr_off;
	struct event		*mr_ev;
};

struct event_base		*mock_base;
struct http_ctx			*mock_ctx;

static const struct mock_step	*mock_steps;
static size_t			 mock_nsteps;
static int			*mock_used;
static int			 mock_logfd = -1;

/* The request method as a name. */
static const char *
mock_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return ("GET");
	case EVHTTP_REQ_POST:
		return ("POST");
	case EVHTTP_REQ_PUT:
		return ("PUT");
	case EVHTTP_REQ_DELETE:
		return ("DELETE");
	default:
		return ("OTHER");
	}
}

/* Append the request to the log, one JSON object a line. */
static void
mock_record(struct evhttp_request *req)
{
	struct json_object	*o, *h;
	struct evkeyvalq	*hdrs = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct buf		 b64, line;
	char			*name, *p;
	size_t			 len = evbuffer_get_length(in);

	o = json_object_new_object();
	json_add_string(o, "method", mock_method(req));
	json_add_string(o, "uri", evhttp_request_get_uri(req));
	h = json_object_new_object();
	TAILQ_FOREACH(kv, hdrs, next) {
		name = xstrdup(kv->key);
		for (p = name; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		json_add_string(h, name, kv->value);
		free(name);
	}
	json_object_object_add(o, "headers", h);
	buf_init(&b64, (size_t)-1 / 2);
	(void)base64_encode(&b64, evbuffer_pullup(in, -1), len);
	json_add_string(o, "body64", buf_len(&b64) ? buf_str(&b64) : "");
	buf_free(&b64);
	buf_init(&line, (size_t)-1 / 2);
	(void)buf_printf(&line, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	(void)write(mock_logfd, buf_str(&line), buf_len(&line));
	buf_free(&line);
	json_object_put(o);
}

/* The first step that still answers this method and path. */
static const struct mock_step *
mock_find(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = evhttp_uri_get_path(uri);
	const struct mock_step	*st;
	size_t			 i;

	for (i = 0; i < mock_nsteps; i++) {
		st = &mock_steps[i];
		if (st->ms_method != NULL &&
		    strcmp(st->ms_method, mock_method(req)) != 0)
			continue;
		if (st->ms_path != NULL && strcmp(st->ms_path, path) != 0)
			continue;
		if (st->ms_times != 0 && mock_used[i] >= st->ms_times)
			continue;
		mock_used[i]++;
		return (st);
	}
	return (NULL);
}

/* Add a step's "Name: value" lines to the reply. */
static void
mock_add_headers(struct evhttp_request *req, const char *lines)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	char			*copy, *line, *next, *colon;

	if (lines == NULL)
		return;
	copy = xstrdup(lines);
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		evhttp_add_header(out, line, colon);
	}
	free(copy);
}

/* Send the next piece of a reply, then end it, drop it or wait. */
static void
mock_piece_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mock_reply	*mr = arg;
	const struct mock_step	*st = mr->mr_step;
	struct evbuffer		*b;
	struct timeval		 tv;
	size_t			 n = mr->mr_len - mr->mr_off;

	if (st->ms_chunk != 0 && n > st->ms_chunk)
		n = st->ms_chunk;
	if (n > 0) {
		b = evbuffer_new();
		evbuffer_add(b, mr->mr_body + mr->mr_off, n);
		evhttp_send_reply_chunk(mr->mr_req, b);
		evbuffer_free(b);
		mr->mr_off += n;
	}
	if (mr->mr_off < mr->mr_len) {
		tv.tv_sec = st->ms_delay_ms / 1000;
		tv.tv_usec = (st->ms_delay_ms % 1000) * 1000;
		evtimer_add(mr->mr_ev, &tv);
		return;
	}
	if (st->ms_drop)
		evhttp_connection_free(evhttp_request_get_connection(
		    mr->mr_req));
	else
		evhttp_send_reply_end(mr->mr_req);
	event_free(mr->mr_ev);
	free(mr);
}

/* Apply "Range: bytes=N-" as Go's ServeContent would. */
static int
mock_range(struct evhttp_request *req, const char **body, size_t *len)
{
	const char	*h;
	char		 cr[96];
	unsigned long	 off;
	size_t		 total = *len;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Range");
	if (h == NULL || sscanf(h, "bytes=%lu-", &off) != 1)
		return (200);
	if (off >= total) {
		(void)snprintf(cr, sizeof(cr), "bytes */%zu", total);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Range", cr);
		return (416);
	}
	(void)snprintf(cr, sizeof(cr), "bytes %lu-%zu/%zu", off, total - 1,
	    total);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Range", cr);
	*body += off;
	*len -= off;
	return (206);
}

/* Every request: record it, then answer with its step. */
static void
mock_handle(struct evhttp_request *req, void *arg)
{
	struct event_base	*base = arg;
	const struct mock_step	*st;
	struct mock_reply	*mr;
	struct evbuffer		*b;
	const char		*body;
	size_t			 len;
	int			 status;

	mock_record(req);
	if ((st = mock_find(req)) == NULL) {
		evhttp_send_reply(req, 599, "No mock step", NULL);
		return;
	}
	body = st->ms_body != NULL ? st->ms_body : "";
	len = st->ms_bodylen != 0 ? st->ms_bodylen : strlen(body);
	status = st->ms_status;
	if (st->ms_ranged && (status = mock_range(req, &body, &len)) == 416)
		len = 0;
	mock_add_headers(req, st->ms_headers);
	if (!st->ms_chunk && !st->ms_drop && !st->ms_hang &&
	    !st->ms_delay_ms) {
		b = evbuffer_new();
		evbuffer_add(b, body, len);
		evhttp_send_reply(req, status, "Mock", b);
		evbuffer_free(b);
		return;
	}
	evhttp_send_reply_start(req, status, "Mock");
	if (st->ms_hang)
		return;
	mr = xcalloc(1, sizeof(*mr));
	mr->mr_req = req;
	mr->mr_step = st;
	mr->mr_body = body;
	mr->mr_len = st->ms_drop && st->ms_drop_at < len ? st->ms_drop_at :
	    len;
	mr->mr_ev = evtimer_new(base, mock_piece_cb, mr);
	mock_piece_cb(-1, 0, mr);
}

/* The child: serve until killed. */
static void __attribute__((__noreturn__))
mock_serve(int wfd)
{
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof(sin);
	int				 port;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	if ((bs = evhttp_bind_socket_with_handle(http, "127.0.0.1",
	    0)) == NULL)
		_exit(1);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &slen);
	port = ntohs(sin.sin_port);
	evhttp_set_gencb(http, mock_handle, base);
	(void)write(wfd, &port, sizeof(port));
	close(wfd);
	event_base_dispatch(base);
	_exit(0);
}

/* Fork a server that follows the n steps; the steps must stay alive. */
struct mock *
mock_start(const struct mock_step *steps, size_t n)
{
	struct mock	*m;
	int		 fds[2];

	m = xcalloc(1, sizeof(*m));
	(void)snprintf(m->m_log, sizeof(m->m_log), "/tmp/mock-http.XXXXXX");
	ck_assert_int_ne(mock_logfd = mkstemp(m->m_log), -1);
	mock_steps = steps;
	mock_nsteps = n;
	mock_used = xcalloc(n + 1, sizeof(*mock_used));
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(m->m_pid = fork(), -1);
	if (m->m_pid == 0) {
		close(fds[0]);
		mock_serve(fds[1]);
	}
	close(fds[1]);
	close(mock_logfd);
	ck_assert_int_eq(read(fds[0], &m->m_port, sizeof(m->m_port)),
	    sizeof(m->m_port));
	close(fds[0]);
	(void)snprintf(m->m_url, sizeof(m->m_url), "http://127.0.0.1:%d",
	    m->m_port);
	return (m);
}

/* Kill the server and forget its log. */
void
mock_stop(struct mock **mp)
{
	struct mock	*m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	kill(m->m_pid, SIGKILL);
	waitpid(m->m_pid, NULL, 0);
	unlink(m->m_log);
	json_object_put(m->m_reqs);
	free(mock_used);
	mock_used = NULL;
	free(m);
}

const char *
mock_url(const struct mock *m)
{
	return (m->m_url);
}

int
mock_port(const struct mock *m)
{
	return (m->m_port);
}

/* Read the request log again. */
static void
mock_load(struct mock *m)
{
	FILE	*f;
	char	*line = NULL, *cause = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	json_object_put(m->m_reqs);
	m->m_reqs = json_object_new_array();
	ck_assert_ptr_nonnull(f = fopen(m->m_log, "r"));
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json_object *o = json_parse(line, (size_t)n, &cause);

		ck_assert_msg(o != NULL, "mock log: %s", cause);
		json_object_array_add(m->m_reqs, o);
	}
	free(line);
	fclose(f);
}

/* How many requests the server has seen. */
int
mock_count(struct mock *m)
{
	mock_load(m);
	return ((int)json_object_array_length(m->m_reqs));
}

/* The i-th request seen: {"method", "uri", "headers", "body64"}. */
struct json_object *
mock_request(struct mock *m, int i)
{
	mock_load(m);
	ck_assert_int_lt(i, (int)json_object_array_length(m->m_reqs));
	return (json_object_array_get_idx(m->m_reqs, (size_t)i));
}

/* A header of a recorded request (name in lower case), or NULL. */
const char *
mock_req_header(struct json_object *req, const char *name)
{
	struct json_object	*h;

	if (!json_object_object_get_ex(req, "headers", &h))
		return (NULL);
	return (json_peek_string(h, name));
}

/* The body of a recorded request; the caller frees it. */
char *
mock_req_body(struct json_object *req, size_t *len)
{
	const char	*b64 = json_peek_string(req, "body64");
	struct buf	 b;

	buf_init(&b, (size_t)-1 / 2);
	ck_assert_int_eq(base64_decode(&b, b64, strlen(b64)), 0);
	(void)buf_addstr(&b, "");
	return (buf_detach(&b, len));
}

/* Point stderr at a temp file, with logging at debug level and redacted. */
FILE *
mock_capture_log(void)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = tmpfile());
	ck_assert_int_ne(dup2(fileno(f), STDERR_FILENO), -1);
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_TO_STDERR, LOG_LEVEL_DEBUG, 0);
	log_procinit("test");
	log_setredact(redact);
	return (f);
}

/* Everything logged since mock_capture_log(); the caller frees it. */
char *
mock_captured(FILE *f)
{
	struct buf	 b;
	char		 chunk[4096];
	size_t		 n;

	buf_init(&b, (size_t)-1 / 2);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_add(&b, chunk, n);
	return (buf_detach(&b, NULL));
}

/* A checked fixture: a fresh base and context, no E2B settings. */
void
mock_setup(void)
{
	mock_base = event_base_new();
	mock_ctx = http_ctx_new(mock_base);
	unsetenv("E2B_API_URL");
	unsetenv("E2B_DOMAIN");
	unsetenv("E2B_SANDBOX_URL");
}

void
mock_teardown(void)
{
	http_ctx_free(&mock_ctx);
	event_base_free(mock_base);
	mock_base = NULL;
}
