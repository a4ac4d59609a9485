/* spool.c: requests left for a daemon that could not be reached; spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "util.h"
#include "xmalloc.h"

/* fsync a directory so a new or removed name survives a crash. */
static int
fsync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

void
spool_entry_free(struct spool_entry *e)
{
	if (e == NULL)
		return;
	free(e->path);
	free(e->name);
	proto_node_req_free(&e->req);
	memset(e, 0, sizeof(*e));
}

int
spool_write(const char *dir, uint16_t type, const struct proto_node_req *req,
    char **pathp, char **cause)
{
	const char *action = proto_node_action_name(type);
	char *tmp = NULL, *path = NULL;
	char tid[UUID_STR_LEN];
	json_object *o;
	const char *js;
	size_t jlen;
	uint64_t now;
	int fd = -1, rc = -1;

	if (action == NULL) {
		cause_printf(
		    cause, "spool: %u is not a node request", (unsigned)type);
		return -1;
	}
	now = now_wall_ms();
	o = proto_node_req_to_json(req);
	json_object_object_add(
	    o, "version", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "type", json_object_new_string(action));
	json_object_object_add(o, "time", json_object_new_int64((int64_t)now));
	json_object_object_add(
	    o, "uid", json_object_new_int64((int64_t)getuid()));
	js = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jlen);
	if (jlen > SPOOL_MAX_FILE) {
		cause_printf(
		    cause, "spool: request of %zu bytes is too large", jlen);
		goto out;
	}

	/* Hidden, so a scan running meanwhile never reads a partial file. */
	uuid_v4(tid);
	xasprintf(&tmp, "%s/.tmp-%s", dir, tid);
	xasprintf(
	    &path, "%s/%016" PRIu64 "-%s%s", dir, now, req->id, SPOOL_SUFFIX);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		cause_printf(cause, "spool: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || write_full(fd, js, jlen) == -1 ||
	    fsync(fd) == -1) {
		cause_printf(cause, "spool: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		cause_printf(cause, "spool: %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* link(), unlike rename(), never replaces a file already there. */
	if (link(tmp, path) == -1) {
		cause_printf(cause, "spool: %s: %s", path, strerror(errno));
		goto out;
	}
	if (fsync_dir(dir) == -1) {
		cause_printf(
		    cause, "spool: fsync %s: %s", dir, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	json_object_put(o);
	if (rc == 0 && pathp != NULL)
		*pathp = path;
	else
		free(path);
	return rc;
}

/* Is name a request file: not hidden, ends in ".req"? */
static int
is_request_name(const char *name)
{
	size_t n = strlen(name), s = strlen(SPOOL_SUFFIX);

	return name[0] != '.' && n > s &&
	       strcmp(name + n - s, SPOOL_SUFFIX) == 0;
}

/*
 * Read and check one file into e (e->path and e->name already set).
 * Returns 0; -2 when the file is gone (another scan took it); -3 with
 * *cause when a newer version wrote it; -1 with *cause when it is corrupt.
 */
static int
spool_read(int dfd, struct spool_entry *e, char **cause)
{
	struct json_tokener *tok = NULL;
	json_object *o = NULL, *v;
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, rc = -1;
	int64_t i;

	fd = openat(
	    dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return -2;
		cause_printf(cause, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		cause_printf(cause, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cause_printf(cause, "not a regular file");
		goto out;
	}
	if (st.st_size == 0 || st.st_size > SPOOL_MAX_FILE) {
		cause_printf(cause, "size %jd is out of range (1 to %u)",
		    (intmax_t)st.st_size, (unsigned)SPOOL_MAX_FILE);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	if ((n = read_full(fd, buf, (size_t)st.st_size)) != st.st_size) {
		cause_printf(cause, "short read");
		goto out;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL) {
		cause_printf(cause, "holds a NUL byte");
		goto out;
	}
	if ((tok = json_tokener_new_ex(PROTO_MAX_DEPTH)) == NULL)
		abort();
	json_tokener_set_flags(
	    tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)n);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != (size_t)n ||
	    !json_object_is_type(o, json_type_object)) {
		cause_printf(cause, "not one JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (e->type = proto_node_action_type(json_object_get_string(v))) ==
	        0) {
		cause_printf(cause, "\"type\" is missing or unknown");
		goto out;
	}
	/* Files without "version" are from version 1 (this one). */
	e->version = 1;
	if (json_object_object_get_ex(o, "version", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1) {
			cause_printf(cause, "\"version\" is not a version");
			goto out;
		}
		if (json_object_get_int64(v) > PROTO_VERSION) {
			/* From a newer shim: keep it for the newer daemon. */
			cause_printf(cause,
			    "request of version %jd, this daemon "
			    "reads 1 to %d; left for a newer daemon",
			    (intmax_t)json_object_get_int64(v), PROTO_VERSION);
			rc = -3;
			goto out;
		}
		e->version = (int)json_object_get_int64(v);
	}
	if (!json_object_object_get_ex(o, "time", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (i = json_object_get_int64(v)) < 0) {
		cause_printf(cause, "\"time\" is missing or not a time");
		goto out;
	}
	e->time_ms = (uint64_t)i;
	/*
	 * The owner is what the kernel says; the key must agree, so a file
	 * cannot claim to come from someone else (the daemon logs the uid).
	 */
	if (!json_object_object_get_ex(o, "uid", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != (int64_t)st.st_uid) {
		cause_printf(cause,
		    "\"uid\" is missing or is not the file's "
		    "owner %ju",
		    (uintmax_t)st.st_uid);
		goto out;
	}
	e->uid = st.st_uid;
	if (proto_node_req_from_json(o, &e->req, cause) == -1)
		goto out;
	rc = 0;
out:
	if (tok != NULL)
		json_tokener_free(tok);
	json_object_put(o);
	free(buf);
	close(fd);
	return rc;
}

/* Sort by the time in the name (fixed width), then the rest: strcmp. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_scan(const char *dir, spool_cb cb, void *arg, char **cause)
{
	struct spool_entry e;
	struct dirent *de;
	char **names = NULL, *why, *bad;
	size_t n = 0, i;
	int count = 0, stop = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		cause_printf(cause, "spool: %s: %s", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_request_name(de->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		cause_printf(cause, "spool: %s: %s", dir, strerror(errno));
		closedir(d);
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);

	for (i = 0; i < n; i++) {
		if (stop)
			goto next;
		memset(&e, 0, sizeof(e));
		e.name = xstrdup(names[i]);
		xasprintf(&e.path, "%s/%s", dir, names[i]);
		why = NULL;
		switch (spool_read(dirfd(d), &e, &why)) {
		case -2:
			spool_entry_free(&e);
			goto next;
		case -3:
			log_warnx(
			    "spool: %s: %s", log_esc(e.path), log_esc(why));
			free(why);
			spool_entry_free(&e);
			goto next;
		case -1:
			xasprintf(&bad, "%s%s", e.path, SPOOL_BAD_SUFFIX);
			log_warnx("spool: %s: %s; moved aside to %s",
			    log_esc(e.path), log_esc(why != NULL ? why : "?"),
			    log_esc(bad));
			if (rename(e.path, bad) == -1)
				log_warn("spool: rename %s", log_esc(e.path));
			free(bad);
			free(why);
			spool_entry_free(&e);
			goto next;
		}
		count++;
		if (cb(&e, arg) == -1)
			stop = 1;
		spool_entry_free(&e);
	next:
		free(names[i]);
	}
	free(names);
	closedir(d);
	return count;
}

int
spool_remove(const struct spool_entry *e, char **cause)
{
	const char *dname;
	char *dir, *slash;
	int rc = 0;

	if (unlink(e->path) == -1 && errno != ENOENT) {
		cause_printf(
		    cause, "spool: unlink %s: %s", e->path, strerror(errno));
		return -1;
	}
	dir = xstrdup(e->path);
	if ((slash = strrchr(dir, '/')) == NULL)
		dname = ".";
	else if (slash == dir)
		dname = "/";
	else {
		*slash = '\0';
		dname = dir;
	}
	if (fsync_dir(dname) == -1) {
		cause_printf(
		    cause, "spool: fsync %s: %s", dname, strerror(errno));
		rc = -1;
	}
	free(dir);
	return rc;
}
