/*
 * ctl_resume.c: `ccslurmctl resume|suspend HOSTLIST [--wait]`: what the
 * shims do, for an admin.  --wait then asks for the nodes every
 * CTL_WAIT_POLL_MS and shows, on a terminal, one live line
 *
 *	ready 12/40, booting 20, failed 1
 *
 * until every node is done (resume: ready or failed, or powered down again
 * after it had moved; suspend: powered_down or failed), then a summary.
 * Exit 1 when any node failed (for a suspend: failed during it, not a node
 * that had already failed before, which the daemon leaves as it is).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "hostlist.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define CTL_WAIT_POLL_MS 750

static const char *const states[] = {
    "powered_down",
    "queued",
    "requested",
    "booting",
    "ready",
    "stopping",
    "failed",
};
#define NSTATES nitems(states)

struct waitnode {
	const char *name; /* in the hostnames */
	int state;        /* index in states[], -1: unknown */
	int moved;        /* seen out of powered_down */
	int was_failed;   /* failed at the first look (before our request) */
	int seen;         /* looked at once */
	char *error;
};

static int
state_index(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < NSTATES; i++) {
		if (strcmp(s, states[i]) == 0)
			return (int)i;
	}
	return -1;
}

static int
node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct waitnode *)a)->name,
	    ((const struct waitnode *)b)->name);
}

static int
done(const struct waitnode *w, int resume)
{
	if (w->state < 0)
		return 0;
	if (strcmp(states[w->state], "failed") == 0)
		return 1;
	if (resume)
		return strcmp(states[w->state], "ready") == 0 ||
		       (strcmp(states[w->state], "powered_down") == 0 &&
		           w->moved);
	return strcmp(states[w->state], "powered_down") == 0;
}

/* One NODES round trip: update ws; returns an exit status. */
static int
poll_nodes(
    const struct ctl *ctl, const char *hostlist, struct waitnode *ws, size_t n)
{
	json_object *req, *reply, *arr, *node, *v;
	struct waitnode key, *w;
	size_t i;
	int rc;

	req = json_object_new_object();
	json_object_object_add(
	    req, "hostlist", json_object_new_string(hostlist));
	rc = ctl_call(ctl, PROTO_NODES, req, &reply);
	json_object_put(req);
	if (rc != CTL_EXIT_OK) {
		json_object_put(reply);
		return rc;
	}
	if (!json_object_object_get_ex(reply, "nodes", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "ccslurmctl: no \"nodes\" array in the "
		                "answer\n");
		json_object_put(reply);
		return CTL_EXIT_FAILED;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		node = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(node, "name", &v))
			continue;
		key.name = json_object_get_string(v);
		if ((w = bsearch(&key, ws, n, sizeof(*ws), node_cmp)) == NULL)
			continue;
		w->state = json_object_object_get_ex(node, "state", &v)
		               ? state_index(json_object_get_string(v))
		               : -1;
		if (w->state >= 0 &&
		    strcmp(states[w->state], "powered_down") != 0)
			w->moved = 1;
		if (!w->seen && w->state >= 0 &&
		    strcmp(states[w->state], "failed") == 0)
			w->was_failed = 1;
		w->seen = 1;
		free(w->error);
		w->error = NULL;
		if (json_object_object_get_ex(node, "error", &v) && v != NULL &&
		    json_object_is_type(v, json_type_string))
			w->error = xstrdup(json_object_get_string(v));
	}
	json_object_put(reply);
	return CTL_EXIT_OK;
}

/* "ready 12/40, booting 20, failed 1" (the target state first). */
static char *
progress(const struct waitnode *ws, size_t n, int resume, size_t *ndone)
{
	size_t count[NSTATES], unknown = 0, i;
	const char *target = resume ? "ready" : "powered_down";
	char *line, *tmp;

	memset(count, 0, sizeof(count));
	*ndone = 0;
	for (i = 0; i < n; i++) {
		if (ws[i].state < 0)
			unknown++;
		else
			count[ws[i].state]++;
		if (done(&ws[i], resume))
			(*ndone)++;
	}
	line = xprintf("%s %zu/%zu", target, count[state_index(target)], n);
	for (i = 0; i < NSTATES; i++) {
		if (count[i] == 0 || strcmp(states[i], target) == 0)
			continue;
		tmp = xprintf("%s, %s %zu", line, states[i], count[i]);
		free(line);
		line = tmp;
	}
	if (unknown > 0) {
		tmp = xprintf("%s, unknown %zu", line, unknown);
		free(line);
		line = tmp;
	}
	return line;
}

static int
wait_nodes(const struct ctl *ctl, const char *verb, const char *hostlist,
    const struct hostnames *hn)
{
	int resume = strcmp(verb, "resume") == 0, tty = isatty(STDOUT_FILENO);
	struct timespec ts = {
	    CTL_WAIT_POLL_MS / 1000, (CTL_WAIT_POLL_MS % 1000) * 1000000L};
	uint64_t start = now_mono_ms();
	struct waitnode *ws;
	char *line, *last = NULL, age[32];
	size_t n = hn->n, ndone, nfailed = 0, i;
	int rc;

	ws = xcalloc(n > 0 ? n : 1, sizeof(*ws));
	for (i = 0; i < n; i++) {
		ws[i].name = hn->names[i];
		ws[i].state = -1;
	}
	qsort(ws, n, sizeof(*ws), node_cmp);
	for (;;) {
		if ((rc = poll_nodes(ctl, hostlist, ws, n)) != CTL_EXIT_OK)
			goto out;
		line = progress(ws, n, resume, &ndone);
		if (tty) {
			printf("\r%s\033[K", line);
			fflush(stdout);
		} else if (last == NULL || strcmp(line, last) != 0) {
			printf("%s\n", line);
			fflush(stdout);
		}
		free(last);
		last = line;
		if (ndone == n)
			break;
		/* The CLI has nothing to wait on but the clock. */
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ts.tv_sec = CTL_WAIT_POLL_MS / 1000;
		ts.tv_nsec = (CTL_WAIT_POLL_MS % 1000) * 1000000L;
	}
	if (tty)
		printf("\n");
	for (i = 0; i < n; i++) {
		if (ws[i].state < 0 ||
		    strcmp(states[ws[i].state], "failed") != 0)
			continue;
		/*
		 * A suspend leaves a node that had already failed as it is
		 * (it has no VM): that is not this suspend failing.
		 */
		if (!resume && ws[i].was_failed) {
			printf(
			    "still failed (before the suspend too): %s: %s\n",
			    log_esc(ws[i].name),
			    ws[i].error != NULL ? log_esc(ws[i].error)
			                        : "no reason given");
			continue;
		}
		nfailed++;
		printf("failed: %s: %s\n", log_esc(ws[i].name),
		    ws[i].error != NULL ? log_esc(ws[i].error)
		                        : "no reason given");
	}
	printf("%s %s: %zu node(s) done, %zu failed, in %s\n", verb,
	    log_esc(hostlist), n - nfailed, nfailed,
	    ctl_fmt_age(
	        (int64_t)((now_mono_ms() - start) / 1000), age, sizeof(age)));
	rc = nfailed > 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
out:
	free(last);
	for (i = 0; i < n; i++)
		free(ws[i].error);
	free(ws);
	return rc;
}

static int
node_request(struct ctl *ctl, int argc, char **argv, uint16_t type)
{
	static const struct option longopts[] = {
	    {"wait", no_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	static char program[] = "ccslurmctl";
	const char *verb = proto_node_action_name(type);
	struct proto_node_req req;
	struct proto_reply rep;
	struct hostnames hn;
	json_object *obj, *reply;
	char id[UUID_STR_LEN], *cause = NULL;
	int ch, rc, wait = 0;

	while ((ch = getopt_long(argc, argv, "w", longopts, NULL)) != -1) {
		if (ch != 'w')
			return ctl_usage(ctl);
		wait = 1;
	}
	if (argc - optind != 1)
		return ctl_usage(ctl);
	/* Refuse a malformed hostlist here, with the daemon untouched. */
	if (hostlist_expand(argv[optind], &hn, &cause) == -1) {
		fprintf(stderr, "ccslurmctl: %s: %s\n", verb, cause);
		free(cause);
		return CTL_EXIT_FAILED;
	}
	hostnames_uniq(&hn);
	if (hn.n == 0) {
		fprintf(stderr, "ccslurmctl: %s: empty hostlist\n", verb);
		hostnames_free(&hn);
		return CTL_EXIT_FAILED;
	}

	uuid_v4(id);
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.hostlist = argv[optind];
	req.program = program; /* copied by _to_json */
	req.pid = getpid();
	obj = proto_node_req_to_json(&req);
	rc = ctl_call(ctl, type, obj, &reply);
	json_object_put(obj);
	if (rc != CTL_EXIT_OK) {
		json_object_put(reply);
		hostnames_free(&hn);
		return rc;
	}
	if (proto_reply_from_json(reply, &rep, &cause) == -1) {
		fprintf(
		    stderr, "ccslurmctl: %s: bad answer: %s\n", verb, cause);
		free(cause);
		json_object_put(reply);
		hostnames_free(&hn);
		return CTL_EXIT_FAILED;
	}
	printf("%s %s: %" PRId64 " of %" PRId64 " node(s) taken on%s%s\n", verb,
	    log_esc(argv[optind]), rep.accepted, rep.nodes,
	    rep.message != NULL && *rep.message != '\0' ? ": " : "",
	    rep.message != NULL ? log_esc(rep.message) : "");
	proto_reply_free(&rep);
	json_object_put(reply);
	if (wait) {
		fflush(stdout);
		rc = wait_nodes(ctl, verb, argv[optind], &hn);
	}
	hostnames_free(&hn);
	return rc;
}

int
ctl_resume(struct ctl *ctl, int argc, char **argv)
{
	return node_request(ctl, argc, argv, PROTO_RESUME);
}

int
ctl_suspend(struct ctl *ctl, int argc, char **argv)
{
	return node_request(ctl, argc, argv, PROTO_SUSPEND);
}
