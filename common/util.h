/*
 * util.h: small helpers shared by the daemon, the shims and ccslurmctl.
 * Functions return 0 on success and -1 on failure with errno set, unless
 * they say otherwise.
 */
#ifndef CCSLURM_UTIL_H
#define CCSLURM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Durations as the config writes them: an integer (seconds) or a number with
 * "ms", "s", "m" or "h" ("500ms", "1.5s", "5m").  Negative, empty, trailing
 * garbage and values above a week are refused (-1).
 */
int	 parse_duration_ms(const char *, uint64_t *);

uint64_t now_mono_ms(void);	/* CLOCK_MONOTONIC, milliseconds */
uint64_t now_wall_ms(void);	/* CLOCK_REALTIME, milliseconds */

int	 fd_set_nonblock(int);
int	 fd_set_cloexec(int);
/* Make fds 0, 1 and 2 valid (open /dev/null on any that are closed). */
void	 fd_ensure_std(void);

ssize_t	 read_full(int, void *, size_t);	/* until len, EOF or error */
int	 write_full(int, const void *, size_t);

/*
 * Write a whole file atomically: a new temporary file with a random name in
 * the same directory (O_EXCL), fsync, rename over path, fsync the directory.
 * The file gets mode.
 */
int	 write_file_atomic(const char *path, const void *, size_t, mode_t);

/*
 * Read a whole (small) file into a NUL-terminated buffer the caller frees.
 * Refuses files larger than max bytes (errno EFBIG) and anything but a
 * regular file (errno EINVAL; a FIFO is refused without waiting for it).
 */
int	 read_file(const char *path, size_t max, char **buf, size_t *len);

/*
 * Set *cause to an allocated message (the caller frees it), or do nothing
 * when cause is NULL: for functions whose callers may not want the reason.
 */
void	 cause_printf(char **cause, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* A random RFC 4122 version-4 UUID, 36 characters and a NUL. */
#define UUID_STR_LEN 37
void	 uuid_v4(char out[UUID_STR_LEN]);

#endif
