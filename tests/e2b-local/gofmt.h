/*
 * Text exactly as E2B's Go services print it: timestamps (Go's JSON time
 * and protobuf's JSON Timestamp), file modes (os.FileMode.String), wait
 * statuses (os.ProcessState.String), signal names, errno texts, and
 * filepath.Clean and os.RemoveAll.
 */
#ifndef E2BL_GOFMT_H
#define E2BL_GOFMT_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#define GOFMT_TIME_GO		0	/* time.Time JSON: trailing zeros cut */
#define GOFMT_TIME_PROTO	1	/* Timestamp: 0, 3, 6 or 9 digits */
#define GOFMT_TIME_MAX		40
#define GOFMT_MODE_MAX		24
#define GOFMT_STATUS_MAX	64

void		 gofmt_time(char *, size_t, const struct timespec *, int);
void		 gofmt_filemode(char *, size_t, mode_t);
const char	*gofmt_signame(int, char *, size_t);
void		 gofmt_wait_status(char *, size_t, int);
int		 gofmt_exit_code(int);
const char	*gofmt_errno(int, char *, size_t);
char		*gofmt_path_clean(const char *);
int		 gofmt_remove_all(const char *);

#endif /* E2BL_GOFMT_H */
