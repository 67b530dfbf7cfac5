/*
 * Redaction: the one function every byte passes through before it leaves
 * a process as a log line, an event or a result.  Registered secrets are
 * replaced wherever they appear; so are credentials in URLs and strings
 * shaped like well-known API keys, as a second line of defence.
 */
#ifndef SKILLBOX_REDACT_H
#define SKILLBOX_REDACT_H

#include <stddef.h>

#define REDACT_MARK	"[REDACTED]"
#define REDACT_MINLEN	6	/* shorter secrets are refused */
#define REDACT_MAX	32	/* secrets one process may register */

int	 redact_add(const char *);
void	 redact_clear(void);
char	*redact(const char *);
char	*redact_mem(const char *, size_t, size_t *);
int	 redact_needed(const char *, size_t);

#endif /* SKILLBOX_REDACT_H */
