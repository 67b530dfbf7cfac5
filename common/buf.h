/*
 * Bounded byte buffers, after curl's dynbuf: every buffer fed by a peer
 * has a hard cap set when it is created, and growing past the cap fails
 * with EMSGSIZE instead of allocating.  The data is always followed by a
 * NUL byte that is not counted in the length.
 */
#ifndef SKILLBOX_BUF_H
#define SKILLBOX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*b_data;	/* NULL until the first byte arrives */
	size_t	 b_len;		/* bytes held */
	size_t	 b_cap;		/* bytes allocated, excluding the NUL */
	size_t	 b_max;		/* hard cap on b_len */
};

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addstr(struct buf *, const char *);
int	 buf_addc(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
int	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
void	 buf_consume(struct buf *, size_t);
void	 buf_truncate(struct buf *, size_t);
char	*buf_detach(struct buf *, size_t *);
size_t	 buf_len(const struct buf *);
const char *buf_str(const struct buf *);
size_t	 buf_room(const struct buf *);
int	 buf_read_fd(struct buf *, int, size_t, int *);
int	 write_all(int, const void *, size_t);
int	 buf_read_file(struct buf *, const char *, size_t, int *);

#endif /* SKILLBOX_BUF_H */
