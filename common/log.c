/* log.c: see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "ccslurmd";
static enum log_level log_lvl = LOG_LVL_INFO;
static enum log_dest log_dst = LOG_TO_STDERR;
static int log_journal;		/* stderr is connected to journald */

static const char *const level_names[] = {
	"error", "warning", "info", "debug"
};
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/*
 * systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected
 * to our stderr; only then are "<N>" prefixes understood (sd-daemon(3)).
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, enum log_level lvl, enum log_dest dst)
{
	log_ident = ident;
	log_lvl = lvl;
	log_dst = dst;
	log_journal = stderr_is_journal();
	if (dst == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(enum log_level lvl)
{
	log_lvl = lvl;
}

enum log_level
log_getlevel(void)
{
	return log_lvl;
}

int
log_level_parse(const char *s, enum log_level *lvl)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*lvl = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level lvl)
{
	if ((unsigned)lvl > LOG_LVL_DEBUG)
		return "unknown";
	return level_names[lvl];
}

static void vlog(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	char msg[4096], *p;
	int saved = errno;
	size_t len;

	if (lvl > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
	}
	/*
	 * One message, one line: a cause or a library's text that slipped
	 * past log_esc() with a line break in it must not forge a second
	 * log line (or a terminal escape).
	 */
	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	if (log_dst == LOG_TO_SYSLOG) {
		syslog(level_prio[lvl], "%s", msg);
	} else if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level_prio[lvl], msg);
	} else {
		fprintf(stderr, "%s: %s%s\n", log_ident,
		    lvl == LOG_LVL_ERROR ? "error: " :
		    lvl == LOG_LVL_WARNING ? "warning: " : "", msg);
	}
	errno = saved;
}

#define LOGFN(name, lvl, err)					\
	void name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		va_start(ap, fmt);				\
		vlog(lvl, err, fmt, ap);			\
		va_end(ap);					\
	}

LOGFN(log_error, LOG_LVL_ERROR, 1)
LOGFN(log_errorx, LOG_LVL_ERROR, 0)
LOGFN(log_warn, LOG_LVL_WARNING, 1)
LOGFN(log_warnx, LOG_LVL_WARNING, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

#define LOG_ESC_MAX 256

char *
log_esc_buf(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	unsigned char c;

	if (size == 0)
		return buf;
	if (s == NULL)
		s = "(null)";
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (i >= LOG_ESC_MAX || o + 5 >= size) {
			if (o + 4 <= size)
				memcpy(buf + o, "...", 3), o += 3;
			break;
		}
		if (c == '\\') {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *
log_esc(const char *s)
{
	static char ring[LOG_ESC_RING][LOG_ESC_MAX * 4 + 8];
	static unsigned next;
	char *buf = ring[next++ % LOG_ESC_RING];

	return log_esc_buf(s, buf, sizeof(ring[0]));
}
