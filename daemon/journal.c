/*
 * journal.c: the daemon's durability.
 *
 * One append-only file, <state_dir>/journal, of JSON lines.  A request is
 * acknowledged to a shim only after its line is written and fdatasync'd; a
 * cloud call is sent only after its requestId is.  At start the daemon
 * replays the file; a torn last line (a crash in the middle of a write) is
 * skipped with a warning, any other bad line too, so a damaged journal
 * never stops the daemon.  The engine compacts the file by rewriting it
 * with the records of what is still live (journal_rewrite()).
 *
 * Every record carries "v" (JOURNAL_VERSION).  A reader accepts its own
 * version and the previous one (decisions.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define JOURNAL_VERSION		1
#define JOURNAL_NAME		"journal"
#define JOURNAL_MAX_SIZE	(256U * 1024 * 1024)	/* refuse to replay more */

static int	 jfd = -1;
static int	 lockfd = -1;	/* flock'd: one daemon per state_dir */
static char	*jpath;
static size_t	 jrecords;

int
journal_open(const char *state_dir, char **cause)
{
	struct stat st;

	if (stat(state_dir, &st) == -1) {
		xasprintf(cause, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		xasprintf(cause, "state_dir %s: not a directory", state_dir);
		return -1;
	}
	/*
	 * Two daemons appending to one journal (a state_dir on shared
	 * storage, high-availability.md) would corrupt it: the second one
	 * refuses to start.
	 */
	if (lockfd == -1) {
		char *lpath, pid[32];

		xasprintf(&lpath, "%s/lock", state_dir);
		lockfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (lockfd == -1) {
			xasprintf(cause, "state_dir lock %s: %s", lpath,
			    strerror(errno));
			free(lpath);
			return -1;
		}
		if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
			xasprintf(cause, "state_dir %s is in use by another "
			    "ccslurmd (%s is locked)", state_dir, lpath);
			free(lpath);
			close(lockfd);
			lockfd = -1;
			return -1;
		}
		free(lpath);
		snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(lockfd, 0) == 0)
			(void)write_full(lockfd, pid, strlen(pid));
	}
	free(jpath);
	xasprintf(&jpath, "%s/%s", state_dir, JOURNAL_NAME);
	jfd = open(jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (jfd == -1) {
		xasprintf(cause, "journal %s: %s", jpath, strerror(errno));
		return -1;
	}
	return 0;
}

void
journal_close(void)
{
	if (jfd != -1) {
		(void)fdatasync(jfd);
		close(jfd);
	}
	jfd = -1;
	free(jpath);
	jpath = NULL;
	if (lockfd != -1)
		close(lockfd);
	lockfd = -1;
}

static char *
record_line(json_object *rec, size_t *len)
{
	const char *s;
	char *line;

	json_object_object_add(rec, "v", json_object_new_int(JOURNAL_VERSION));
	s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	*len = strlen(s);
	line = xmalloc(*len + 1);
	memcpy(line, s, *len);
	line[(*len)++] = '\n';
	return line;
}

int
journal_append(json_object *rec, char **cause)
{
	char *line;
	size_t len;
	off_t end;
	int saved;

	/* A compaction whose reopen failed (EMFILE, ENFILE) left it closed:
	 * try again rather than refuse every request until a restart. */
	if (jfd == -1 && jpath != NULL)
		jfd = open(jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
	if (jfd == -1) {
		if (jpath != NULL)
			xasprintf(cause, "journal %s: %s", jpath,
			    strerror(errno));
		else
			*cause = xstrdup("journal not open");
		return -1;
	}
	line = record_line(rec, &len);
	if ((end = lseek(jfd, 0, SEEK_END)) == -1) {
		xasprintf(cause, "journal %s: %s", jpath, strerror(errno));
		free(line);
		return -1;
	}
	if (write_full(jfd, line, len) == -1 || fdatasync(jfd) == -1) {
		saved = errno;
		/*
		 * Never leave half a record: the next one would be glued to
		 * it and lost at replay.  Cut the file back to where it was.
		 */
		if (ftruncate(jfd, end) == -1)
			log_warn("journal %s: cannot cut a partial record",
			    jpath);
		xasprintf(cause, "journal %s: %s", jpath, strerror(saved));
		free(line);
		return -1;
	}
	free(line);
	jrecords++;
	return 0;
}

int
journal_replay(journal_replay_cb cb, void *arg, char **cause)
{
	char *buf, *p, *nl;
	size_t len, lineno = 0, bad = 0;
	json_tokener *tok;
	json_object *rec, *v;

	if (read_file(jpath, JOURNAL_MAX_SIZE, &buf, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "journal %s: %s", jpath, strerror(errno));
		return -1;
	}
	tok = json_tokener_new();
	jrecords = 0;
	for (p = buf; p < buf + len; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL) {
			log_warnx("journal %s:%zu: torn last record skipped "
			    "(a crash while writing it)", jpath, lineno);
			/*
			 * Cut it off, or the next append is glued to it and
			 * lost with it at the next replay.
			 */
			if (jfd != -1 && ftruncate(jfd, (off_t)(p - buf)) == -1)
				log_warn("journal %s: cannot cut the torn "
				    "record", jpath);
			break;
		}
		json_tokener_reset(tok);
		rec = json_tokener_parse_ex(tok, p, (int)(nl - p));
		/* One whole object a line, with an integer version. */
		if (rec == NULL || !json_object_is_type(rec, json_type_object) ||
		    json_tokener_get_parse_end(tok) != (size_t)(nl - p) ||
		    !json_object_object_get_ex(rec, "v", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int(v) < JOURNAL_VERSION - 1 ||
		    json_object_get_int(v) > JOURNAL_VERSION) {
			log_warnx("journal %s:%zu: unreadable record skipped",
			    jpath, lineno);
			json_object_put(rec);
			bad++;
			continue;
		}
		jrecords++;
		cb(rec, arg);
		json_object_put(rec);
	}
	json_tokener_free(tok);
	free(buf);
	if (bad > 0)
		log_warnx("journal %s: %zu bad records", jpath, bad);
	return 0;
}

int
journal_rewrite(json_object **recs, size_t n, char **cause)
{
	char *tmp, *line;
	size_t i, len;
	int fd, dfd, saved;
	char *dir, *slash;

	xasprintf(&tmp, "%s.new", jpath);
	/* A stale one from a crash during compaction: never follow it. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		line = record_line(recs[i], &len);
		if (write_full(fd, line, len) == -1) {
			saved = errno;
			free(line);
			close(fd);
			errno = saved;	/* the write's reason, not close's */
			goto fail;
		}
		free(line);
	}
	if (fsync(fd) == -1) {
		saved = errno;
		close(fd);	/* not leaked: compaction retries */
		errno = saved;
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, jpath) == -1)
		goto fail;
	dir = xstrdup(jpath);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(tmp);
	/* The old fd points at the replaced file: reopen. */
	if (jfd != -1)
		close(jfd);
	jfd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (jfd == -1) {
		xasprintf(cause, "journal %s: %s", jpath, strerror(errno));
		return -1;
	}
	jrecords = n;
	return 0;
fail:
	xasprintf(cause, "journal %s: %s", tmp, strerror(errno));
	unlink(tmp);
	free(tmp);
	return -1;
}

size_t
journal_records(void)
{
	return jrecords;
}
