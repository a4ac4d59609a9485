/*
 * xmalloc.h: allocation that cannot fail.
 *
 * Running out of memory on a controller is not something a daemon can
 * recover from sensibly, so every allocator here calls fatalx() instead of
 * returning NULL; callers never test the result.  Multiplications are
 * checked for overflow.  Everything returned is the caller's to free().
 */
#ifndef CCSLURM_XMALLOC_H
#define CCSLURM_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
