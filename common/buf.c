/* Bounded byte buffers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "xmalloc.h"

#define BUF_MINCAP	64

static int	buf_grow(struct buf *, size_t);

/* Start an empty buffer that may hold at most max bytes. */
void
buf_init(struct buf *b, size_t max)
{
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	b->b_max = max;
}

/* Release the buffer's memory; it is empty and reusable afterwards. */
void
buf_free(struct buf *b)
{
	free(b->b_data);
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
}

/* Empty the buffer but keep its memory. */
void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

/* Make room for need more bytes, doubling, never past the cap. */
static int
buf_grow(struct buf *b, size_t need)
{
	size_t	cap;

	if (need > b->b_max || b->b_len > b->b_max - need) {
		errno = EMSGSIZE;
		return (-1);
	}
	if (b->b_len + need <= b->b_cap)
		return (0);
	cap = b->b_cap < BUF_MINCAP ? BUF_MINCAP : b->b_cap;
	while (cap < b->b_len + need)
		cap = cap > b->b_max / 2 ? b->b_max : cap * 2;
	b->b_data = xreallocarray(b->b_data, 1, cap + 1);
	b->b_cap = cap;
	return (0);
}

/* Append len bytes; -1 with EMSGSIZE if the cap would be exceeded. */
int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) == -1)
		return (-1);
	if (b->b_data == NULL)
		b->b_data = xmalloc(1);
	if (len > 0)
		memcpy(b->b_data + b->b_len, data, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return (0);
}

int
buf_addstr(struct buf *b, const char *s)
{
	return (buf_add(b, s, strlen(s)));
}

int
buf_addc(struct buf *b, char c)
{
	return (buf_add(b, &c, 1));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return (r);
}

/* Append formatted text, formatting straight into the buffer. */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	ap2;
	int	n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return (-1);
	if (buf_grow(b, (size_t)n) == -1)
		return (-1);
	if (b->b_data == NULL)
		b->b_data = xmalloc(1);
	(void)vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	b->b_len += (size_t)n;
	return (0);
}

/* Drop n bytes from the front. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->b_len) {
		buf_reset(b);
		return;
	}
	memmove(b->b_data, b->b_data + n, b->b_len - n);
	b->b_len -= n;
	b->b_data[b->b_len] = '\0';
}

/* Shorten the buffer to len bytes. */
void
buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->b_len)
		return;
	b->b_len = len;
	b->b_data[len] = '\0';
}

/*
 * Hand the data to the caller, who must free it; the buffer is left empty.
 * The result is never NULL.
 */
char *
buf_detach(struct buf *b, size_t *lenp)
{
	char	*p;

	p = b->b_data != NULL ? b->b_data : xstrdup("");
	if (lenp != NULL)
		*lenp = b->b_len;
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	return (p);
}

size_t
buf_len(const struct buf *b)
{
	return (b->b_len);
}

/* The data as a NUL-terminated string; "" when empty. */
const char *
buf_str(const struct buf *b)
{
	return (b->b_data != NULL ? b->b_data : "");
}

/* How many more bytes the cap allows. */
size_t
buf_room(const struct buf *b)
{
	return (b->b_max - b->b_len);
}

/*
 * Append what fd holds, at most max bytes (and never past the cap).
 * *truncated is set when more was left.  -1 with errno on a read error.
 */
int
buf_read_fd(struct buf *b, int fd, size_t max, int *truncated)
{
	char	chunk[16384];
	size_t	got = 0, want;
	ssize_t	n;

	*truncated = 0;
	if (max > buf_room(b))
		max = buf_room(b);
	for (;;) {
		want = max - got + 1 < sizeof(chunk) ? max - got + 1 :
		    sizeof(chunk);
		if ((n = read(fd, chunk, want)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			return (0);
		if (got + (size_t)n > max) {
			(void)buf_add(b, chunk, max - got);
			*truncated = 1;
			return (0);
		}
		(void)buf_add(b, chunk, (size_t)n);
		got += (size_t)n;
	}
}

/* Append a file's contents, as buf_read_fd; symlinks are not followed. */
int
buf_read_file(struct buf *b, const char *path, size_t max, int *truncated)
{
	int	fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return (-1);
	r = buf_read_fd(b, fd, max, truncated);
	saved = errno;
	close(fd);
	errno = saved;
	return (r);
}

/* Write all of len bytes, whatever write(2) takes at a time. */
int
write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}
