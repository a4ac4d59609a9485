/*
 * spool.h: requests the shims leave for the daemon while it cannot be
 * reached (decisions.md, "Finding the daemon without a config").
 *
 * One request a file in the spool directory, named
 *
 *	<time>-<id>.req		time: Unix milliseconds, 16 digits, zero-padded
 *
 * so that names sort oldest first.  The content is the node request payload
 * (proto.h) plus
 *
 *	"version": PROTO_VERSION of the writer,
 *	"type": "resume" | "suspend" | "resumefail",
 *	"time": Unix milliseconds when it was spooled,
 *	"uid": the writer's uid.
 *
 * A file appears whole or not at all: it is written to a hidden temporary
 * file (O_EXCL, mode 0600) in the same directory, fsync'ed, linked to its
 * final name (never over an existing one) and the directory fsync'ed.
 * Readers skip hidden files and anything not ending in ".req".  A file that
 * cannot be read back is renamed to "<name>.bad" and reported, once.
 *
 * The daemon reads the spool at start (and when a file appears), journals
 * each request, then removes its file: a crash in between only repeats a
 * request, whose id the daemon then drops as already taken.
 */
#ifndef CCSLURM_SPOOL_H
#define CCSLURM_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define SPOOL_SUFFIX		".req"
#define SPOOL_BAD_SUFFIX	".bad"
#define SPOOL_MAX_FILE		PROTO_MAX_PAYLOAD /* bytes in one request */

/* One spooled request, as spool_scan() hands it over. */
struct spool_entry {
	char			*path;	/* dir/name */
	char			*name;	/* the file name only */
	uint16_t		 type;	/* PROTO_RESUME, _SUSPEND, _RESUMEFAIL */
	uint64_t		 time_ms; /* when it was spooled (Unix ms) */
	uid_t			 uid;	/* the file's owner (checked against
					   the "uid" key) */
	int			 version; /* writer's PROTO_VERSION */
	struct proto_node_req	 req;
};

/* Free e's members and zero it.  NULL is fine. */
void	 spool_entry_free(struct spool_entry *e);

/*
 * Spool one node request of type (PROTO_RESUME, ...) into dir.  On success
 * returns 0 and, if pathp is not NULL, *pathp (allocated, caller frees) is
 * the new file.  On failure returns -1 with *cause set (allocated, caller
 * frees) and leaves nothing behind in dir.
 */
int	 spool_write(const char *dir, uint16_t type,
	    const struct proto_node_req *req, char **pathp, char **cause);

/*
 * Called for each good request, oldest first.  e is valid during the call
 * only (copy what you keep).  Return 0 to go on, -1 to stop the scan.
 */
typedef int (*spool_cb)(const struct spool_entry *e, void *arg);

/*
 * Read every request in dir, oldest first (by time, then name), and call cb
 * for each.  Corrupt files (unreadable JSON, missing keys, a uid that is not
 * the file's owner, not a regular file) are logged with log_warnx() and
 * renamed to *.bad; they never stop the scan.  A request written by a
 * newer protocol version is logged and left where it is, for the newer
 * daemon that an upgrade in progress is about to start.  Returns the number of
 * requests handed to cb, or -1 with *cause when dir cannot be read.
 */
int	 spool_scan(const char *dir, spool_cb cb, void *arg, char **cause);

/*
 * Remove a request once it is journaled (unlink, then fsync the directory).
 * A file already gone is not an error.  Returns 0, or -1 with *cause.
 */
int	 spool_remove(const struct spool_entry *e, char **cause);

#endif
