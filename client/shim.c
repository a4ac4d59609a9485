/*
 * shim.c: ccslurm-resume, ccslurm-suspend and ccslurm-resumefail, one binary
 * under three names (the action is the name it was run by).
 *
 * slurmctld runs these as ResumeProgram, SuspendProgram and
 * ResumeFailProgram with one hostlist argument, almost no environment, and
 * stdout and stderr closed (docs: slurm-power-save.md).  A shim hands the
 * request to ccslurmd and returns at once: it never waits for VMs, reads no
 * config and calls no cloud.
 *
 *   exit 0  the daemon acknowledged the request, or the request is safely
 *           in the spool because the daemon could not be reached, did not
 *           acknowledge in time, or speaks another protocol version
 *   exit 1  a malformed hostlist, a request the daemon refused, or a
 *           request that could be neither sent nor spooled
 *   exit 2  usage
 *
 * Environment (all optional; slurmctld passes none of the first three):
 *   CCSLURMD_SOCKET        the daemon's socket (default: built in)
 *   CCSLURMD_SPOOL         the spool directory (default: built in)
 *   CCSLURM_SHIM_RETRY_MS  how long to retry connecting while the daemon
 *                          restarts (default 10000; tests set it low)
 *   CCSLURM_SHIM_TIMEOUT_MS how long to wait for the acknowledgement
 *                          (default 5000)
 *   SLURM_RESUME_FILE      (resume) the jobs behind the request: its
 *                          content is forwarded, never its path
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlist.h"
#include "log.h"
#include "paths.h"
#include "proto.h"
#include "spool.h"
#include "util.h"
#include "xmalloc.h"

#define SHIM_RETRY_MS 10000  /* ms: connect retries while restarting */
#define SHIM_TIMEOUT_MS 5000 /* ms: wait for the acknowledgement */
#define SHIM_RESUME_FILE_MAX (8 * 1024 * 1024) /* bytes */

enum shim_exit {
	SHIM_OK = 0,
	SHIM_FAILED = 1,
	SHIM_USAGE = 2,
};

static const struct {
	const char *name;
	uint16_t type;
} shim_names[] = {
    {"ccslurm-resume", PROTO_RESUME},
    {"ccslurm-suspend", PROTO_SUSPEND},
    {"ccslurm-resumefail", PROTO_RESUMEFAIL},
};

/* An environment variable, or dflt when unset or empty. */
static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

/* A millisecond count from the environment; a bad value keeps dflt. */
static int
env_ms(const char *name, int dflt)
{
	const char *v = getenv(name);
	unsigned long ms;
	char *end;

	if (v == NULL || *v == '\0')
		return dflt;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || v[0] == '-' || ms > 600000) {
		log_warnx("ignoring %s=%s: not a count of milliseconds "
		          "(0 to 600000)",
		    name, log_esc(v));
		return dflt;
	}
	return (int)ms;
}

/*
 * The parsed content of $SLURM_RESUME_FILE, or NULL.  A file we cannot use
 * is worth a warning, not a failed resume: the daemon only records the jobs.
 */
static json_object *
read_resume_file(void)
{
	const char *path = getenv("SLURM_RESUME_FILE");
	enum json_tokener_error jerr;
	json_object *o;
	char *buf;
	size_t len;

	if (path == NULL || *path == '\0')
		return NULL;
	if (read_file(path, SHIM_RESUME_FILE_MAX, &buf, &len) == -1) {
		log_warn(
		    "SLURM_RESUME_FILE %s: sending without it", log_esc(path));
		return NULL;
	}
	o = json_tokener_parse_verbose(buf, &jerr);
	free(buf);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		log_warnx("SLURM_RESUME_FILE %s: not a JSON object (%s); "
		          "sending without it",
		    log_esc(path),
		    o == NULL ? json_tokener_error_desc(jerr) : "wrong type");
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Spool the request for the daemon to pick up later. */
static enum shim_exit
spool(uint16_t type, const struct proto_node_req *req, size_t nnodes,
    const char *why)
{
	const char *dir = env_or("CCSLURMD_SPOOL", CCSLURMD_SPOOL_DIR);
	char *path, *cause;

	if (spool_write(dir, type, req, &path, &cause) == -1) {
		log_errorx("%s %s: no acknowledgement from ccslurmd (%s) and "
		           "the request could not be spooled: %s",
		    proto_node_action_name(type), log_esc(req->hostlist),
		    log_esc(why), log_esc(cause));
		free(cause);
		return SHIM_FAILED;
	}
	log_warnx("%s %s (%zu nodes): no acknowledgement from ccslurmd "
	          "(%s); spooled as %s",
	    proto_node_action_name(type), log_esc(req->hostlist), nnodes,
	    log_esc(why), log_esc(path));
	free(path);
	return SHIM_OK;
}

int
main(int argc, char **argv)
{
	struct proto_node_req req = {0};
	struct proto_reply reply;
	struct hostnames hn;
	json_object *js, *rjs = NULL;
	const char *prog, *sock;
	char id[UUID_STR_LEN], *cause = NULL;
	enum shim_exit ex;
	uint16_t type = 0, rtype;
	size_t i, nnodes;
	int stderr_closed, rc;

	/*
	 * slurmctld closes stdout and stderr: fill the holes before any
	 * open() or socket() lands on fd 1 or 2 and gets our messages.
	 */
	stderr_closed = fcntl(STDERR_FILENO, F_GETFD) == -1;
	fd_ensure_std();

	prog = argc > 0 && argv[0] != NULL ? argv[0] : "";
	if (strrchr(prog, '/') != NULL)
		prog = strrchr(prog, '/') + 1;
	for (i = 0; i < nitems(shim_names); i++) {
		if (strcmp(prog, shim_names[i].name) == 0)
			type = shim_names[i].type;
	}
	log_init(type != 0 ? prog : "ccslurm-shim", LOG_LVL_INFO,
	    stderr_closed ? LOG_TO_SYSLOG : LOG_TO_STDERR);
	if (type == 0) {
		log_errorx("run as ccslurm-resume, ccslurm-suspend or "
		           "ccslurm-resumefail, not as %s",
		    log_esc(prog));
		return SHIM_USAGE;
	}
	if (argc != 2) {
		log_errorx("usage: %s HOSTLIST", prog);
		return SHIM_USAGE;
	}

	/* Expand once: it validates the expression and counts the nodes. */
	if (hostlist_expand(argv[1], &hn, &cause) == -1) {
		log_errorx("%s", log_esc(cause));
		free(cause);
		return SHIM_FAILED;
	}
	nnodes = hn.n;
	hostnames_free(&hn);
	if (nnodes == 0) {
		log_errorx("empty hostlist \"%s\"", log_esc(argv[1]));
		return SHIM_FAILED;
	}

	uuid_v4(id);
	req.id = id;
	req.hostlist = argv[1];
	req.program = (char *)(uintptr_t)prog;
	req.pid = (int64_t)getpid();
	if (type == PROTO_RESUME)
		req.resume_file = read_resume_file();

	sock = env_or("CCSLURMD_SOCKET", CCSLURMD_SOCKET_PATH);
	js = proto_node_req_to_json(&req);
	rc =
	    proto_call(sock, env_ms("CCSLURM_SHIM_TIMEOUT_MS", SHIM_TIMEOUT_MS),
	        env_ms("CCSLURM_SHIM_RETRY_MS", SHIM_RETRY_MS), type, js,
	        &rtype, &rjs, &cause);
	json_object_put(js);

	if (rc == PROTO_OK && rtype == proto_reply_type(type) &&
	    proto_reply_from_json(rjs, &reply, NULL) == 0) {
		log_info("%s %s (%zu nodes): accepted %lld%s%s",
		    proto_node_action_name(type), log_esc(argv[1]), nnodes,
		    (long long)reply.accepted,
		    reply.message != NULL && *reply.message != '\0' ? ": " : "",
		    log_esc(reply.message != NULL ? reply.message : ""));
		proto_reply_free(&reply);
		ex = SHIM_OK;
	} else if (rc == PROTO_OK && rtype == PROTO_ERROR &&
	    strncmp(proto_error_message(rjs), "ccslurmd is busy",
	        strlen("ccslurmd is busy")) != 0) {
		log_errorx("%s %s: refused by ccslurmd: %s",
		    proto_node_action_name(type), log_esc(argv[1]),
		    log_esc(proto_error_message(rjs)));
		ex = SHIM_FAILED;
	} else {
		/*
		 * No usable acknowledgement: maybe the daemon has the request,
		 * maybe not.  Spooling is safe either way, since the daemon
		 * drops a second copy of an id it already took.
		 */
		if (rc == PROTO_OK && rtype == PROTO_ERROR) {
			/*
			 * "busy" (control.c, over CONTROL_MAX_PEERS) is said
			 * before our frame is read: the daemon has nothing, and
			 * takes the spool on its next poll round.
			 */
			free(cause);
			cause = xstrdup(proto_error_message(rjs));
		} else if (rc == PROTO_OK) {
			free(cause);
			cause = xprintf("%s %s reply",
			    rtype == proto_reply_type(type) ? "malformed"
			                                    : "unexpected",
			    proto_type_name(rtype));
		}
		ex = spool(type, &req, nnodes, cause != NULL ? cause : "?");
	}
	free(cause);
	json_object_put(rjs);
	json_object_put(req.resume_file);
	return ex;
}
