/* Framed links: Connect envelopes over a bufferevent. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "frame.h"
#include "json.h"
#include "xmalloc.h"

static void	fconn_destroy(struct fconn *);
static int	fconn_header(struct fconn *, uint8_t, size_t);
static int	fconn_deliver(void *, uint8_t, const char *, size_t);
static void	fconn_closed(struct fconn *, const char *);
static void	fconn_read_cb(struct bufferevent *, void *);
static void	fconn_write_cb(struct bufferevent *, void *);
static void	fconn_event_cb(struct bufferevent *, short, void *);

/*
 * Wrap a connected socket; the link owns it.  Frames longer than maxframe
 * bytes are refused and close the link.
 */
struct fconn *
fconn_new(struct event_base *base, evutil_socket_t fd, size_t maxframe,
    fconn_frame_cb frame, fconn_closed_cb closed, void *arg)
{
	struct fconn	*fc;

	fc = xcalloc(1, sizeof(*fc));
	fc->fc_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (fc->fc_bev == NULL) {
		close(fd);
		free(fc);
		return (NULL);
	}
	env_decoder_init(&fc->fc_dec, maxframe);
	fc->fc_frame = frame;
	fc->fc_closed = closed;
	fc->fc_arg = arg;
	bufferevent_setwatermark(fc->fc_bev, EV_WRITE, FCONN_LOWWATER, 0);
	bufferevent_setcb(fc->fc_bev, fconn_read_cb, fconn_write_cb,
	    fconn_event_cb, fc);
	bufferevent_enable(fc->fc_bev, EV_READ | EV_WRITE);
	return (fc);
}

/* Connect to a listening unix socket without blocking. */
struct fconn *
fconn_connect(struct event_base *base, const char *path, size_t maxframe,
    fconn_frame_cb frame, fconn_closed_cb closed, void *arg, char **cause)
{
	struct sockaddr_un	 sun;
	struct fconn		*fc;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    path) >= sizeof(sun.sun_path)) {
		xasprintf(cause, "%s: socket path too long", path);
		return (NULL);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (NULL);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    errno != EINPROGRESS) {
		xasprintf(cause, "connect %s: %s", path, strerror(errno));
		close(fd);
		return (NULL);
	}
	if ((fc = fconn_new(base, fd, maxframe, frame, closed, arg)) == NULL)
		xasprintf(cause, "bufferevent_socket_new failed");
	return (fc);
}

static void
fconn_destroy(struct fconn *fc)
{
	bufferevent_free(fc->fc_bev);
	env_decoder_free(&fc->fc_dec);
	free(fc);
}

/* Close the link at once, dropping unsent output. */
void
fconn_free(struct fconn **fcp)
{
	struct fconn	*fc = *fcp;

	if (fc == NULL)
		return;
	*fcp = NULL;
	if (fc->fc_busy) {
		fc->fc_dead = 1;
		bufferevent_disable(fc->fc_bev, EV_READ | EV_WRITE);
		return;
	}
	fconn_destroy(fc);
}

void
fconn_set_drained(struct fconn *fc, fconn_drained_cb cb)
{
	fc->fc_drained = cb;
}

/* Queue the header of a frame whose payload follows. */
static int
fconn_header(struct fconn *fc, uint8_t flags, size_t len)
{
	uint8_t	hdr[ENV_HDRLEN];

	if (env_header(hdr, flags, len) == -1)
		return (-1);
	return (bufferevent_write(fc->fc_bev, hdr, sizeof(hdr)));
}

/* Queue one frame. */
int
fconn_send(struct fconn *fc, uint8_t flags, const void *data, size_t len)
{
	if (fconn_header(fc, flags, len) == -1)
		return (-1);
	if (len > 0 && bufferevent_write(fc->fc_bev, data, len) == -1)
		return (-1);
	return (0);
}

/* Queue one frame holding a JSON value. */
int
fconn_send_json(struct fconn *fc, uint8_t flags, struct json_object *o)
{
	const char	*s = json_str(o);

	return (fconn_send(fc, flags, s, strlen(s)));
}

/* Queue one frame whose payload is moved out of the front of src. */
int
fconn_send_buffer(struct fconn *fc, uint8_t flags, struct evbuffer *src,
    size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(fc->fc_bev);

	if (len > evbuffer_get_length(src) || fconn_header(fc, flags,
	    len) == -1)
		return (-1);
	if (len == 0)
		return (0);
	return (evbuffer_remove_buffer(src, out, len) == (int)len ? 0 : -1);
}

/* Bytes queued and not yet written to the socket. */
size_t
fconn_pending(const struct fconn *fc)
{
	return (evbuffer_get_length(bufferevent_get_output(fc->fc_bev)));
}

/* Stop or resume reading; frames already buffered follow on resume. */
void
fconn_pause(struct fconn *fc, int pause)
{
	if (fc->fc_paused == pause)
		return;
	fc->fc_paused = pause;
	if (pause) {
		bufferevent_disable(fc->fc_bev, EV_READ);
		return;
	}
	bufferevent_enable(fc->fc_bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(fc->fc_bev)) > 0)
		bufferevent_trigger(fc->fc_bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * Stop reading and report the link closed (cause NULL) once everything
 * queued has been written.
 */
void
fconn_close_flush(struct fconn *fc)
{
	fc->fc_flushing = 1;
	bufferevent_disable(fc->fc_bev, EV_READ);
	bufferevent_trigger(fc->fc_bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
}

/* Decoder callback: pass one frame on unless the link died meanwhile. */
static int
fconn_deliver(void *arg, uint8_t flags, const char *data, size_t len)
{
	struct fconn	*fc = arg;

	if (fc->fc_dead || fc->fc_flushing)
		return (-1);
	fc->fc_frame(fc, flags, data, len, fc->fc_arg);
	return (fc->fc_dead ? -1 : 0);
}

/* Tell the owner the link is gone; it usually frees the link. */
static void
fconn_closed(struct fconn *fc, const char *cause)
{
	bufferevent_disable(fc->fc_bev, EV_READ | EV_WRITE);
	fc->fc_busy++;
	fc->fc_closed(fc, cause, fc->fc_arg);
	fc->fc_busy--;
	if (fc->fc_dead)
		fconn_destroy(fc);
}

static void
fconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct fconn	*fc = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	unsigned char	*p;
	char		*cause = NULL;
	ssize_t		 n;
	int		 r = 0;

	fc->fc_busy++;
	while (!fc->fc_dead && !fc->fc_paused && !fc->fc_flushing &&
	    (n = evbuffer_get_contiguous_space(in)) > 0) {
		p = evbuffer_pullup(in, n);
		r = env_decoder_feed(&fc->fc_dec, p, (size_t)n, fconn_deliver,
		    fc, &cause);
		if (!fc->fc_dead)
			evbuffer_drain(in, (size_t)n);
		if (r == -1)
			break;
	}
	fc->fc_busy--;
	if (fc->fc_dead)
		fconn_destroy(fc);
	else if (r == -1 && !fc->fc_flushing)
		fconn_closed(fc, cause != NULL ? cause : "bad frame");
	else if (fc->fc_eof && evbuffer_get_length(in) == 0)
		fconn_event_cb(bev, BEV_EVENT_EOF, fc);
	free(cause);
}

static void
fconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct fconn	*fc = arg;

	if (fc->fc_flushing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			fconn_closed(fc, NULL);
		return;
	}
	if (fc->fc_drained == NULL)
		return;
	fc->fc_busy++;
	fc->fc_drained(fc, fc->fc_arg);
	fc->fc_busy--;
	if (fc->fc_dead)
		fconn_destroy(fc);
}

static void
fconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fconn	*fc = arg;
	char		*cause = NULL;

	if ((what & BEV_EVENT_EOF) && !fc->fc_flushing &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* Frames are still buffered behind a pause: read them first. */
		fc->fc_eof = 1;
		return;
	}
	if (what & BEV_EVENT_ERROR)
		xasprintf(&cause, "%s", strerror(EVUTIL_SOCKET_ERROR()));
	else if ((what & BEV_EVENT_EOF) && !fc->fc_flushing)
		(void)env_decoder_finish(&fc->fc_dec, &cause);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fconn_closed(fc, cause);
	free(cause);
}

/*
 * An error as the last frame of a link carries it, and as a Connect
 * end-of-stream message: {"error": {"code": code, "message": msg}}, or
 * with "status": N instead of a code when code is NULL.
 */
struct json_object *
frame_error(const char *code, int status, const char *msg)
{
	struct json_object	*o, *e;

	e = json_object_new_object();
	if (code != NULL)
		json_add_string(e, "code", code);
	else
		json_add_int(e, "status", status);
	json_add_string(e, "message", msg);
	o = json_object_new_object();
	json_object_object_add(o, "error", e);
	return (o);
}
