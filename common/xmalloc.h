/*
 * Allocators that never return NULL: out of memory is fatal (tmux's
 * xmalloc.c).  Sizes that come from input are still bounded by the caller
 * before they reach these.
 */
#ifndef SKILLBOX_XMALLOC_H
#define SKILLBOX_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
/* Free a string that may hold a secret, wiping it first. */
void	 freezero_str(char *);

#endif /* SKILLBOX_XMALLOC_H */
