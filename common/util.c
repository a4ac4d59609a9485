/* util.c: see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "xmalloc.h"

#define DURATION_MAX_MS (7ULL * 24 * 3600 * 1000)	/* one week */

int
parse_duration_ms(const char *s, uint64_t *out)
{
	const char *p = s;
	double v, mult;
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	/* Digits and at most one dot only: no sign, no exponent, no hex. */
	if (!(*p >= '0' && *p <= '9'))
		return -1;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end != p || !isfinite(v) || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else
		return -1;
	v *= mult;
	if (v > (double)DURATION_MAX_MS)
		return -1;
	*out = (uint64_t)(v + 0.5);
	return 0;
}

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t
now_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int
fd_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
fd_set_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

void
fd_ensure_std(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* open() returns the lowest free fd: exactly this one. */
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == -1)
			abort();
	}
}

ssize_t
read_full(int fd, void *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

int
write_full(int fd, const void *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, (const char *)buf + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int
write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char *tmp, *dcopy, id[UUID_STR_LEN];
	int fd, dfd, saved;

	/*
	 * A fresh, unguessable name, created with O_EXCL: whoever else can
	 * write to the directory cannot have placed a file or a hard link
	 * there for us to truncate and chmod (a predictable "path.tmp.PID"
	 * opened with O_TRUNC let them aim us at any file we may write).
	 */
	uuid_v4(id);
	xasprintf(&tmp, "%s.tmp-%s", path, id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1) {
		saved = errno;
		free(tmp);
		errno = saved;
		return -1;
	}
	if (fchmod(fd, mode) == -1 || write_full(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	dcopy = xstrdup(path);
	dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dcopy);
	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
read_file(const char *path, size_t max, char **bufp, size_t *lenp)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, saved;

	/*
	 * O_NONBLOCK: open() of a FIFO would otherwise wait for a writer
	 * forever (a shim must never hang); it changes nothing for the
	 * regular files we accept.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = read_full(fd, buf, (size_t)st.st_size);
	if (n == -1) {
		saved = errno;
		free(buf);
		close(fd);
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	close(fd);
	*bufp = buf;
	if (lenp != NULL)
		*lenp = (size_t)n;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void
uuid_v4(char out[UUID_STR_LEN])
{
	unsigned char b[16];
	size_t off = 0;
	ssize_t n;

	while (off < sizeof(b)) {
		n = getrandom(b + off, sizeof(b) - off, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		off += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_STR_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
cause_printf(char **cause, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = xstrdup("out of memory");
	va_end(ap);
	*cause = s;
}
