/*
 * log.h: the one logging vocabulary of ccslurmd (after OpenBSD's log.c).
 *
 *   log_warn*, log_error* append strerror(errno); the "x" forms do not.
 *   fatal()/fatalx() log and exit(1).
 *
 * Output goes to stderr.  Under systemd (JOURNAL_STREAM names our stderr)
 * each line carries a "<N>" priority prefix that journald understands.  A
 * program whose stderr is closed (the shims, started by slurmctld) can log
 * through syslog(3) instead: log_init(..., LOG_TO_SYSLOG).
 *
 * Untrusted text (node names, cloud error bodies, client input) goes
 * through log_esc() before it reaches a format string argument, so a hostile
 * string cannot forge log lines or write terminal escapes.
 */
#ifndef CCSLURM_LOG_H
#define CCSLURM_LOG_H

#include <stddef.h>
#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

enum log_dest {
	LOG_TO_STDERR = 0,	/* prefixes <N> when JOURNAL_STREAM matches */
	LOG_TO_SYSLOG = 1,	/* syslog(3), LOG_DAEMON */
};

void	 log_init(const char *ident, enum log_level, enum log_dest);
void	 log_setlevel(enum log_level);
enum log_level log_getlevel(void);
int	 log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);

void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape an untrusted string for logging: printable ASCII passes, anything
 * else becomes \xNN (and \\ for a backslash); cut at 256 characters with
 * "...".  Returns one of a small ring of static buffers, valid until
 * LOG_ESC_RING more calls: use it inside one log call only.
 */
#define LOG_ESC_RING 8
const char *log_esc(const char *);

/* Escape into a caller's buffer (always NUL-terminated); returns buf. */
char	*log_esc_buf(const char *, char *, size_t);

#endif
