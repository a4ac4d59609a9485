/*
 * engine.c: the burst engine.
 *
 * Requests from the shims and ccslurmctl (engine_submit) are journaled,
 * then turned into node events.  Nodes that need a cloud call wait in the
 * table (node->pending) until the batch timer fires, batch_window after the
 * first of them: then one create (a set per nodearray, placement group and
 * contiguous name run), one start and one call of the shutdown family go
 * out, whatever the number of nodes (split above ENGINE_MAX_NAMES names).
 * Each call's requestId is journaled before the POST, so a crash at any
 * point leaves enough to find out whether it went through.
 *
 * Operations in flight are polled every poll_interval (GET nodes?operation=
 * per operation).  Nodes with an address are handed to Slurm together (one
 * scontrol update per round); nodes that fail are set POWER_DOWN_FORCE with
 * the cloud's reason at once, so Slurm requeues their jobs now.
 *
 * At start: read the journal, fetch the cluster with its nodes, adopt what
 * the cloud shows, resolve journaled calls whose answer was lost, replay
 * the accepted requests, read the spool, compact the journal, carry on.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "ccslurmd.h"
#include "failpoint.h"
#include "hostlist.h"
#include "log.h"
#include "naming_json.h"
#include "spool.h"
#include "util.h"
#include "xmalloc.h"

#define ENGINE_MAX_NAMES	1000	/* names per start/shutdown call */
/*
 * Nodes per scontrol update: NodeAddr= and NodeHostName= each stay well
 * under the kernel's 128 KiB limit for one argument, and fewer calls matter
 * because slurmctld serialises them (~10 s each when a NodeAddr does not
 * resolve, slurm-power-save.md).
 */
#define ENGINE_SLURM_CHUNK	2000
#define ENGINE_SEEN_MAX		20000	/* request ids remembered */
#define ENGINE_COMPACT_AT	5000	/* journal records before compaction */
/* An update slurmctld did not take for lack of an answer is re-run this
 * long (slurmctld restarting, or a fail-over), then given up. */
#define ENGINE_SLURM_RETRY_MS	600000
#define ENGINE_REASON_MAX	200	/* characters of a Slurm Reason */
#define ENGINE_START_RETRY_MAX_MS 60000	/* start-up cluster read back-off */
#define ENGINE_POLL_FAILS_MAX	10	/* failed polls in a row: drop the op */

const double engine_ready_bounds[ENGINE_READY_NBUCKETS] = {
	30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600
};

static const char *const fail_names[FAIL_COUNT] = {
	"capacity", "cloud", "api", "auth", "vm_gone", "resume_timeout",
};

const char *
engine_fail_name(enum engine_fail f)
{
	return (unsigned)f < FAIL_COUNT ? fail_names[f] : "unknown";
}

/* ---- Operations --------------------------------------------------------- */

enum op_kind {
	OPK_CREATE = 0,
	OPK_START,
	OPK_SHUTDOWN,
	OPK_DEALLOCATE,
	OPK_TERMINATE,
	OPK_COUNT
};
static const char *const opk_names[OPK_COUNT] = {
	"create", "start", "shutdown", "deallocate", "terminate",
};

struct op {
	TAILQ_ENTRY(op)	 entry;
	enum op_kind	 kind;
	char		*rid;		/* our requestId, journaled */
	char		*op_id;		/* the cloud's operationId */
	char		**names;	/* nodes it acts on (owned) */
	size_t		 n;
	bool		 answered;	/* the POST came back OK */
	bool		 in_call;	/* a POST, poll or look-up in flight */
	bool		 resolving;	/* recovery: looking up by request_id */
	char		*shortfall;	/* create: why fewer were added */
	uint64_t	 sent_ms;	/* mono */
	unsigned	 polls;
	unsigned	 poll_failures;	/* in a row */
};
TAILQ_HEAD(opq, op);

/* A request accepted before the node table was ready. */
struct held {
	TAILQ_ENTRY(held) entry;
	enum node_action act;
	struct hostnames hn;
	json_object	*jobs;
};
TAILQ_HEAD(heldq, held);

/* One pending scontrol update. */
struct slurm_upd {
	TAILQ_ENTRY(slurm_upd) entry;
	char		**argv;
	unsigned	 tries;
	uint64_t	 first_fail_ms;	/* mono; 0: not failed yet */
};
TAILQ_HEAD(updq, slurm_upd);

/* Names waiting for one kind of scontrol update. */
struct namebuf {
	char		**names;
	char		**vals;		/* ips, for address updates */
	size_t		 n, cap;
};

struct reasonbuf {
	char		*reason;
	struct namebuf	 nb;
};

/* Transitions of one kind gathered for one log line. */
struct tlog {
	enum node_state	 from, to;
	char		*error;		/* for failed */
	struct namebuf	 nb;
};

static struct {
	struct cc_client *cc;
	struct cc_client *old_cc;	/* after a reload: finishing its calls */
	struct opq	 ops;
	struct heldq	 held;
	bool		 recovering;	/* until the first sweep and replay */
	unsigned	 resolving;	/* look-ups still out */
	bool		 sweep_in_call;
	struct event	*ev_batch;
	struct event	*ev_poll;
	struct event	*ev_sweep;
	struct event	*ev_slurm;
	bool		 batch_armed;
	/* Requests replayed from the journal, applied after the sweep. */
	json_object	*replay_reqs;	/* array of records */
	json_object	*replay_ops;	/* object rid -> record */
	/* Request ids taken (dedupe for retried shims and the spool). */
	char		**seen;
	size_t		 nseen, seen_next;
	struct namebuf	 addr_set;	/* names -> ips */
	struct namebuf	 addr_reset;
	struct reasonbuf *downs;	/* POWER_DOWN_FORCE by reason */
	size_t		 ndowns;
	struct namebuf	 resumes;	/* State=RESUME */
	struct tlog	*tlogs;		/* transitions to log */
	size_t		 ntlogs;
	struct updq	 upds;
	unsigned	 upds_running;
	bool		 upd_waiting;	/* the head update waits to retry */
	struct event	*ev_upd_retry;
	uint64_t	 auth_fail_since; /* mono; 0: auth fine */
	uint64_t	 start_fail_since; /* mono: first failed start-up read */
	uint64_t	 start_retry_ms;  /* its back-off */
	size_t		 spool_depth;
	struct engine_counts counts;
} E;

static void	 arm_batch(uint64_t delay_ms);
static void	 arm_poll(uint64_t delay_ms);
static void	 arm_slurm(void);
static void	 effects(struct node *, enum node_state from);
static void	 sweep(void);
static void	 compact(void);
static void	 engine_keep_arrays(const struct cc_cluster_status *);

/* ---- Small helpers ------------------------------------------------------ */

static void
timer_in(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}

static void
nb_add(struct namebuf *nb, const char *name, const char *val)
{
	if (nb->n == nb->cap) {
		nb->cap = nb->cap ? nb->cap * 2 : 16;
		nb->names = xreallocarray(nb->names, nb->cap, sizeof(char *));
		nb->vals = xreallocarray(nb->vals, nb->cap, sizeof(char *));
	}
	nb->names[nb->n] = xstrdup(name);
	nb->vals[nb->n] = val != NULL ? xstrdup(val) : NULL;
	nb->n++;
}

static void
nb_clear(struct namebuf *nb)
{
	size_t i;

	for (i = 0; i < nb->n; i++) {
		free(nb->names[i]);
		free(nb->vals[i]);
	}
	free(nb->names);
	free(nb->vals);
	memset(nb, 0, sizeof(*nb));
}

static char *
names_hostlist(char *const *names, size_t n)
{
	return hostlist_compress(names, n);
}

static bool
seen_has(const char *id)
{
	size_t i;

	/* Ids are checked once per request: a scan of 20,000 is ~20 us. */
	for (i = 0; i < E.nseen; i++)
		if (strcmp(E.seen[i], id) == 0)
			return true;
	return false;
}

static void
seen_add(const char *id)
{
	if (E.seen == NULL)
		E.seen = xcalloc(ENGINE_SEEN_MAX, sizeof(char *));
	if (E.nseen < ENGINE_SEEN_MAX) {
		E.seen[E.nseen++] = xstrdup(id);
		return;
	}
	free(E.seen[E.seen_next]);
	E.seen[E.seen_next] = xstrdup(id);
	E.seen_next = (E.seen_next + 1) % ENGINE_SEEN_MAX;
}

static const char *
action_name(enum node_action act)
{
	switch (act) {
	case ACT_RESUME:
		return "resume";
	case ACT_SUSPEND:
		return "suspend";
	case ACT_RESUMEFAIL:
		return "resumefail";
	}
	return "unknown";
}

static int
action_parse(const char *s, enum node_action *act)
{
	if (strcmp(s, "resume") == 0)
		*act = ACT_RESUME;
	else if (strcmp(s, "suspend") == 0)
		*act = ACT_SUSPEND;
	else if (strcmp(s, "resumefail") == 0)
		*act = ACT_RESUMEFAIL;
	else
		return -1;
	return 0;
}

/* A Slurm Reason: one line, no quotes, bounded. */
static char *
slurm_reason(const char *msg)
{
	char *r, *p;

	xasprintf(&r, "ccslurmd: %.*s", ENGINE_REASON_MAX,
	    msg != NULL ? msg : "start failed");
	for (p = r; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\'')
			*p = ' ';
	return r;
}

/* ---- Telling Slurm -------------------------------------------------------- */

static void
queue_down(const char *name, const char *msg)
{
	char *reason = slurm_reason(msg);
	size_t i;

	for (i = 0; i < E.ndowns; i++)
		if (strcmp(E.downs[i].reason, reason) == 0)
			break;
	if (i == E.ndowns) {
		E.downs = xreallocarray(E.downs, E.ndowns + 1,
		    sizeof(*E.downs));
		memset(&E.downs[i], 0, sizeof(E.downs[i]));
		E.downs[i].reason = reason;
		E.ndowns++;
	} else
		free(reason);
	nb_add(&E.downs[i].nb, name, NULL);
	arm_slurm();
}

static void
queue_addr(struct node *n)
{
	nb_add(&E.addr_set, n->name, n->ip);
	n->addr_set = true;
	arm_slurm();
}

static void
queue_addr_reset(struct node *n)
{
	if (!n->addr_set)
		return;		/* never reset what we did not set */
	nb_add(&E.addr_reset, n->name, NULL);
	n->addr_set = false;
	arm_slurm();
}

void
engine_queue_resume_state(const char *name)
{
	nb_add(&E.resumes, name, NULL);
	arm_slurm();
}

void
engine_queue_power_down(const char *name, const char *msg)
{
	queue_down(name, msg);
}

/*
 * Did scontrol fail for lack of a slurmctld (worth running the same update
 * again), or did slurmctld refuse it (an invalid state for that node: never
 * better on a retry)?
 */
static bool
scontrol_transient(int status, const char *out)
{
	if (status == -1)
		return true;	/* killed at the timeout, or could not run */
	return strstr(out, "Unable to contact slurm controller") != NULL ||
	    strstr(out, "Socket timed out") != NULL ||
	    strstr(out, "Connection refused") != NULL ||
	    strstr(out, "Zero Bytes were transmitted") != NULL ||
	    strstr(out, "Communication connection failure") != NULL;
}

static void upd_next(void);

static void
upd_done(int status, const char *output, void *arg)
{
	struct slurm_upd *u = arg;
	size_t i;

	uint64_t now = now_mono_ms(), backoff;

	E.upds_running--;
	E.counts.scontrol_calls++;
	if (status != 0) {
		E.counts.scontrol_failures++;
		if (u->first_fail_ms == 0)
			u->first_fail_ms = now;
		u->tries++;
		if (scontrol_transient(status, output) && !ccsd.stopping &&
		    now - u->first_fail_ms < ENGINE_SLURM_RETRY_MS) {
			/*
			 * slurmctld is down or restarting: the same update
			 * again, first in line (an address reset must never
			 * overtake the set it undoes), after a pause.
			 */
			if (u->tries == 1)
				log_warnx("slurm: slurmctld does not answer; "
				    "retrying the update for up to %d s",
				    ENGINE_SLURM_RETRY_MS / 1000);
			TAILQ_INSERT_HEAD(&E.upds, u, entry);
			backoff = 500ULL << (u->tries < 6 ? u->tries : 6);
			E.upd_waiting = true;
			timer_in(E.ev_upd_retry, backoff);
			return;
		}
		log_warnx("slurm: update given up after %u tr%s: %s", u->tries,
		    u->tries == 1 ? "y" : "ies", log_esc(output));
	}
	for (i = 0; u->argv[i] != NULL; i++)
		free(u->argv[i]);
	free(u->argv);
	free(u);
	upd_next();
}

static void
upd_next(void)
{
	struct slurm_upd *u;

	/* One at a time, in order (scontrol.c keeps the order too). */
	if (E.upds_running > 0 || E.upd_waiting ||
	    (u = TAILQ_FIRST(&E.upds)) == NULL)
		return;
	TAILQ_REMOVE(&E.upds, u, entry);
	E.upds_running++;
	scontrol_run(u->argv, upd_done, u);
}

static void
on_upd_retry(evutil_socket_t fd, short what, void *arg)
{
	E.upd_waiting = false;
	upd_next();
}

static void
upd_push(char **argv)
{
	struct slurm_upd *u = xcalloc(1, sizeof(*u));

	u->argv = argv;
	TAILQ_INSERT_TAIL(&E.upds, u, entry);
}

/* Make "update NodeName=... <extra>" updates, ENGINE_SLURM_CHUNK names each. */
static void
emit_updates(struct namebuf *nb, const char *what)
{
	size_t i, j, k, cnt;
	char **argv, *hl, *addrs, *hosts, *p;
	size_t alen, hlen;

	for (i = 0; i < nb->n; i += ENGINE_SLURM_CHUNK) {
		cnt = nb->n - i < ENGINE_SLURM_CHUNK ? nb->n - i :
		    ENGINE_SLURM_CHUNK;
		hl = names_hostlist(nb->names + i, cnt);
		argv = xcalloc(6, sizeof(char *));
		k = 0;
		argv[k++] = xstrdup("update");
		argv[k++] = xprintf("NodeName=%s", hl);
		if (strcmp(what, "addr") == 0 || strcmp(what, "reset") == 0) {
			alen = hlen = 16;
			for (j = i; j < i + cnt; j++) {
				alen += strlen(nb->vals[j] != NULL ?
				    nb->vals[j] : nb->names[j]) + 1;
				hlen += strlen(nb->names[j]) + 1;
			}
			addrs = xmalloc(alen);
			hosts = xmalloc(hlen);
			p = stpcpy(addrs, "NodeAddr=");
			for (j = i; j < i + cnt; j++) {
				if (j > i)
					*p++ = ',';
				p = stpcpy(p, nb->vals[j] != NULL &&
				    strcmp(what, "addr") == 0 ? nb->vals[j] :
				    nb->names[j]);
			}
			p = stpcpy(hosts, "NodeHostName=");
			for (j = i; j < i + cnt; j++) {
				if (j > i)
					*p++ = ',';
				p = stpcpy(p, nb->names[j]);
			}
			argv[k++] = addrs;
			argv[k++] = hosts;
		} else if (strcmp(what, "resume") == 0) {
			argv[k++] = xstrdup("State=RESUME");
		}
		log_info("slurm: %s %s (%zu nodes)", what, log_esc(hl), cnt);
		free(hl);
		upd_push(argv);
	}
}

static void
emit_downs(void)
{
	size_t i, j, cnt;
	char **argv, *hl;

	for (i = 0; i < E.ndowns; i++) {
		struct namebuf *nb = &E.downs[i].nb;
		for (j = 0; j < nb->n; j += ENGINE_SLURM_CHUNK) {
			cnt = nb->n - j < ENGINE_SLURM_CHUNK ? nb->n - j :
			    ENGINE_SLURM_CHUNK;
			hl = names_hostlist(nb->names + j, cnt);
			argv = xcalloc(5, sizeof(char *));
			argv[0] = xstrdup("update");
			argv[1] = xprintf("NodeName=%s", hl);
			argv[2] = xstrdup("State=POWER_DOWN_FORCE");
			argv[3] = xprintf("Reason=%s", E.downs[i].reason);
			log_info("slurm: power down %s: %s", log_esc(hl),
			    log_esc(E.downs[i].reason));
			free(hl);
			upd_push(argv);
		}
		nb_clear(nb);
		free(E.downs[i].reason);
	}
	free(E.downs);
	E.downs = NULL;
	E.ndowns = 0;
}

/* Gather a transition for the log: one line per kind and hostlist. */
static void
tlog_add(struct node *n, enum node_state from)
{
	const char *err = n->state == NS_FAILED ? n->error : NULL;
	struct tlog *t;
	size_t i;

	for (i = 0; i < E.ntlogs; i++) {
		t = &E.tlogs[i];
		if (t->from == from && t->to == n->state &&
		    ((t->error == NULL && err == NULL) || (t->error != NULL &&
		    err != NULL && strcmp(t->error, err) == 0)))
			break;
	}
	if (i == E.ntlogs) {
		E.tlogs = xreallocarray(E.tlogs, E.ntlogs + 1,
		    sizeof(*E.tlogs));
		t = &E.tlogs[E.ntlogs++];
		memset(t, 0, sizeof(*t));
		t->from = from;
		t->to = n->state;
		t->error = err != NULL ? xstrdup(err) : NULL;
	}
	nb_add(&E.tlogs[i].nb, n->name, NULL);
	arm_slurm();
}

static void
tlog_flush(void)
{
	struct tlog *t;
	char *hl;
	size_t i;

	for (i = 0; i < E.ntlogs; i++) {
		t = &E.tlogs[i];
		hl = names_hostlist(t->nb.names, t->nb.n);
		if (t->to == NS_FAILED)
			log_warnx("nodes %s: %s -> failed (%zu): %s",
			    log_esc(hl), node_state_name(t->from), t->nb.n,
			    log_esc(t->error));
		else
			log_info("nodes %s: %s -> %s (%zu)", log_esc(hl),
			    node_state_name(t->from), node_state_name(t->to),
			    t->nb.n);
		free(hl);
		free(t->error);
		nb_clear(&t->nb);
	}
	free(E.tlogs);
	E.tlogs = NULL;
	E.ntlogs = 0;
}

static void
on_slurm(evutil_socket_t fd, short what, void *arg)
{
	tlog_flush();
	/* Order: failures first (jobs requeue sooner), then addresses. */
	emit_downs();
	emit_updates(&E.addr_reset, "reset");
	nb_clear(&E.addr_reset);
	emit_updates(&E.addr_set, "addr");
	nb_clear(&E.addr_set);
	emit_updates(&E.resumes, "resume");
	nb_clear(&E.resumes);
	upd_next();
}

static void
arm_slurm(void)
{
	/* Gather everything this loop pass produced into one update. */
	if (!evtimer_pending(E.ev_slurm, NULL))
		timer_in(E.ev_slurm, 20);
}

/* ---- Side effects of state changes ------------------------------------- */

static void
count_failure(struct node *n, enum engine_fail why)
{
	E.counts.failures_by_reason[why]++;
	n->na->failures++;
	free(n->na->last_failure);
	n->na->last_failure = n->error != NULL ? xstrdup(n->error) : NULL;
}

static void
journal_fail(struct node *n)
{
	json_object *rec = json_object_new_object();
	char *cause;

	json_object_object_add(rec, "t", json_object_new_string("fail"));
	json_object_object_add(rec, "hostlist",
	    json_object_new_string(n->name));
	json_object_object_add(rec, "error",
	    json_object_new_string(n->error != NULL ? n->error : ""));
	if (journal_append(rec, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	json_object_put(rec);
}

static void
fail_node(struct node *n, enum node_ev ev, const char *msg,
    enum engine_fail why)
{
	enum node_state from = n->state;

	if (!node_event(n, ev, msg))
		return;
	count_failure(n, why);
	if (!E.recovering)
		journal_fail(n);
	effects(n, from);
}

/*
 * What a node's new state asks for.  Called after every transition that
 * node_event() made; from is the state it left.
 */
static void
effects(struct node *n, enum node_state from)
{
	double secs;
	size_t i;

	tlog_add(n, from);
	switch (n->state) {
	case NS_QUEUED:
		n->resume_ms = now_mono_ms();
		n->pending = n->in_cloud ? NP_START : NP_CREATE;
		arm_batch(ccsd.conf->daemon.batch_window_ms);
		break;
	case NS_STOPPING:
		queue_addr_reset(n);
		n->pending = NP_SHUTDOWN;
		arm_batch(ccsd.conf->daemon.batch_window_ms);
		break;
	case NS_FAILED:
		/* Slurm requeues the jobs now, not at ResumeTimeout. */
		queue_down(n->name, n->error);
		queue_addr_reset(n);
		/* No cloud record (a create that added fewer): nothing to
		 * shut down, and a shutdown by name would be refused again
		 * and again. */
		if (node_vm_exists(n) || (from != NS_QUEUED && n->in_cloud)) {
			n->pending = NP_SHUTDOWN;
			arm_batch(ccsd.conf->daemon.batch_window_ms);
		} else
			n->pending = NP_NONE;
		break;
	case NS_READY:
		if (n->resume_ms != 0) {
			secs = (double)(now_mono_ms() - n->resume_ms) / 1000.0;
			for (i = 0; i < ENGINE_READY_NBUCKETS; i++)
				if (secs <= engine_ready_bounds[i])
					E.counts.resume_to_ready_bucket[i]++;
			E.counts.resume_to_ready_count++;
			E.counts.resume_to_ready_sum += secs;
			n->resume_ms = 0;
		}
		break;
	case NS_POWERED_DOWN:
		n->pending = NP_NONE;
		free(n->op_id);
		n->op_id = NULL;
		break;
	default:
		break;
	}
}

static void
apply_event(struct node *n, enum node_ev ev, const char *detail)
{
	enum node_state from = n->state;

	if (node_event(n, ev, detail)) {
		if (ev == EV_RESUMEFAIL)
			count_failure(n, FAIL_RESUME_TIMEOUT);
		effects(n, from);
	}
}

/* Record the job ids SLURM_RESUME_FILE gave for each node. */
static void
note_jobs(json_object *jobs)
{
	json_object *j, *id, *hl;
	struct hostnames hn;
	struct node *n;
	size_t i, k;

	if (jobs == NULL || !json_object_is_type(jobs, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(jobs); i++) {
		j = json_object_array_get_idx(jobs, i);
		if (!json_object_object_get_ex(j, "job_id", &id) ||
		    !json_object_object_get_ex(j, "nodes", &hl))
			continue;
		if (hostlist_expand(json_object_get_string(hl), &hn, NULL) ==
		    -1)
			continue;
		for (k = 0; k < hn.n; k++) {
			if ((n = node_find(hn.names[k])) == NULL)
				continue;
			n->jobs = xreallocarray(n->jobs, n->njobs + 1,
			    sizeof(*n->jobs));
			n->jobs[n->njobs++] = (uint32_t)json_object_get_int64(id);
		}
		hostnames_free(&hn);
	}
}

static size_t
apply_request(enum node_action act, const struct hostnames *hn,
    json_object *jobs)
{
	static const enum node_ev evs[] = { EV_RESUME, EV_SUSPEND,
	    EV_RESUMEFAIL };
	struct node *n;
	size_t i, moved = 0;
	enum node_state from;

	for (i = 0; i < hn->n; i++) {
		if ((n = node_find(hn->names[i])) == NULL) {
			log_warnx("%s: node %s is not in an autoscale "
			    "nodearray (any more): ignored", action_name(act),
			    log_esc(hn->names[i]));
			continue;
		}
		if (act == ACT_RESUME) {
			free(n->jobs);
			n->jobs = NULL;
			n->njobs = 0;
		}
		from = n->state;
		if (node_event(n, evs[act], NULL)) {
			moved++;
			if (act == ACT_RESUMEFAIL)
				count_failure(n, FAIL_RESUME_TIMEOUT);
			effects(n, from);
		}
	}
	if (act == ACT_RESUME)
		note_jobs(jobs);
	return moved;
}

/* ---- Requests ------------------------------------------------------------ */

/* The jobs of a SLURM_RESUME_FILE (22.05 and 23.02+ forms) as
 * [{"job_id": N, "nodes": "hostlist"}]. */
static json_object *
resume_file_jobs(json_object *rf)
{
	json_object *jobs, *out, *j, *id, *hl, *e;
	size_t i;

	if (rf == NULL || !json_object_object_get_ex(rf, "jobs", &jobs) ||
	    !json_object_is_type(jobs, json_type_array))
		return NULL;
	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(jobs); i++) {
		j = json_object_array_get_idx(jobs, i);
		if (!json_object_is_type(j, json_type_object) ||
		    !json_object_object_get_ex(j, "job_id", &id))
			continue;
		if (!json_object_object_get_ex(j, "nodes_resume", &hl) &&
		    !json_object_object_get_ex(j, "nodes", &hl) &&
		    !json_object_object_get_ex(j, "nodes_alloc", &hl))
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "job_id",
		    json_object_new_int64(json_object_get_int64(id)));
		json_object_object_add(e, "nodes",
		    json_object_new_string(json_object_get_string(hl)));
		json_object_array_add(out, e);
	}
	return out;
}

static int
take_request(enum node_action act, const char *id, const char *hostlist,
    json_object *rf, uid_t uid, const char *who, struct proto_reply *reply,
    char **cause)
{
	struct hostnames hn;
	json_object *rec, *jobs;
	char *norm, *why, *unknown = NULL;
	size_t i, nunknown = 0, moved = 0, count;
	struct held *h;

	memset(reply, 0, sizeof(*reply));
	if (seen_has(id)) {
		/* A retried shim, or the spooled copy of an acknowledged one:
		 * nothing to expand or check. */
		E.counts.requests_duplicate++;
		reply->message = xstrdup("request already taken (same id)");
		return 0;
	}
	if (hostlist_expand(hostlist, &hn, &why) == -1) {
		E.counts.requests_refused++;
		xasprintf(cause, "%s", why);
		free(why);
		return -1;
	}
	if (hn.n == 0) {
		E.counts.requests_refused++;
		*cause = xstrdup("empty hostlist");
		hostnames_free(&hn);
		return -1;
	}
	count = hostnames_uniq(&hn);
	if (nodes.loaded) {
		for (i = 0; i < hn.n; i++) {
			if (node_find(hn.names[i]) != NULL)
				continue;
			if (nunknown++ < 5) {
				char *u;
				xasprintf(&u, "%s%s%s", unknown ? unknown : "",
				    unknown ? "," : "", hn.names[i]);
				free(unknown);
				unknown = u;
			}
		}
		if (nunknown > 0) {
			E.counts.requests_refused++;
			xasprintf(cause, "unknown node%s %s%s: not in an "
			    "autoscale nodearray of cluster %s",
			    nunknown > 1 ? "s" : "", log_esc(unknown),
			    nunknown > 5 ? ",..." : "",
			    ccsd.conf->cc.cluster);
			free(unknown);
			hostnames_free(&hn);
			return -1;
		}
	}
	norm = names_hostlist(hn.names, hn.n);
	jobs = resume_file_jobs(rf);
	rec = json_object_new_object();
	json_object_object_add(rec, "t", json_object_new_string("req"));
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "act",
	    json_object_new_string(action_name(act)));
	json_object_object_add(rec, "hostlist", json_object_new_string(norm));
	if (jobs != NULL)
		json_object_object_add(rec, "jobs", json_object_get(jobs));
	json_object_object_add(rec, "uid", json_object_new_int64(uid));
	json_object_object_add(rec, "time",
	    json_object_new_int64((int64_t)(now_wall_ms() / 1000)));
	if (journal_append(rec, cause) == -1) {
		/* Not durable, so not taken: the caller keeps it (-2). */
		json_object_put(rec);
		json_object_put(jobs);
		free(norm);
		hostnames_free(&hn);
		return -2;
	}
	json_object_put(rec);
	FAILPOINT("after-journal");
	seen_add(id);
	E.counts.requests[act]++;
	if (!nodes.loaded || E.recovering) {
		h = xcalloc(1, sizeof(*h));
		h->act = act;
		h->hn = hn;
		h->jobs = jobs;
		TAILQ_INSERT_TAIL(&E.held, h, entry);
		reply->message = xstrdup("accepted; the daemon is starting "
		    "and will act on it shortly");
	} else {
		moved = apply_request(act, &hn, jobs);
		json_object_put(jobs);
		hostnames_free(&hn);
	}
	/* Requests from peers are logged by their handler with the uid. */
	if (strncmp(who, "spool", 5) == 0)
		log_info("%s %s from %s, id %s: %zu nodes, %zu taken on",
		    action_name(act), log_esc(norm), who, log_esc(id), count,
		    moved);
	else
		log_debug("%s %s from %s: %zu nodes, %zu taken on",
		    action_name(act), log_esc(norm), who, count, moved);
	reply->accepted = (int64_t)moved;
	reply->nodes = (int64_t)count;
	free(norm);
	if (journal_records() > ENGINE_COMPACT_AT && !E.recovering)
		compact();
	return 0;
}

int
engine_submit(enum node_action act, const struct proto_node_req *req,
    uid_t uid, const char *who, struct proto_reply *reply, char **cause)
{
	char *why;
	int rc;

	if (req->id == NULL || req->hostlist == NULL) {
		E.counts.requests_refused++;
		*cause = xstrdup("request without id or hostlist");
		return -1;
	}
	rc = take_request(act, req->id, req->hostlist, req->resume_file,
	    uid, who, reply, cause);
	if (rc == -2) {
		/*
		 * The journal cannot take it (full disk, I/O error): a shim
		 * told "busy" spools the request instead of failing it.
		 */
		why = *cause;
		xasprintf(cause, "ccslurmd is busy: cannot journal the request "
		    "(%s)", why);
		free(why);
		return -1;
	}
	return rc;
}

/* ---- Operations: sending -------------------------------------------------- */

static struct op *
op_new(enum op_kind kind, char *const *names, size_t n)
{
	struct op *op = xcalloc(1, sizeof(*op));
	char rid[UUID_STR_LEN];
	size_t i;

	op->kind = kind;
	uuid_v4(rid);
	op->rid = xstrdup(rid);
	op->names = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		op->names[i] = xstrdup(names[i]);
	op->n = n;
	return op;
}

static void
op_free(struct op *op)
{
	size_t i;

	for (i = 0; i < op->n; i++)
		free(op->names[i]);
	free(op->names);
	free(op->rid);
	free(op->op_id);
	free(op->shortfall);
	free(op);
}

static void
journal_simple(const char *t, const char *rid, const char *key,
    const char *val)
{
	json_object *rec = json_object_new_object();
	char *cause;

	json_object_object_add(rec, "t", json_object_new_string(t));
	json_object_object_add(rec, "rid", json_object_new_string(rid));
	if (key != NULL)
		json_object_object_add(rec, key, json_object_new_string(val));
	if (journal_append(rec, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	json_object_put(rec);
}

static void
op_done(struct op *op)
{
	struct node *n;
	size_t i;

	log_debug("operation %s (%s, %zu nodes) done", op->rid,
	    opk_names[op->kind], op->n);
	/* Its nodes are free again (the sweep observes them). */
	for (i = 0; i < op->n; i++) {
		if ((n = node_find(op->names[i])) == NULL ||
		    n->request_id == NULL || strcmp(n->request_id, op->rid) != 0)
			continue;
		free(n->request_id);
		n->request_id = NULL;
		free(n->op_id);
		n->op_id = NULL;
	}
	journal_simple("opdone", op->rid, NULL, NULL);
	TAILQ_REMOVE(&E.ops, op, entry);
	op_free(op);
}

static bool
kind_is_up(enum op_kind k)
{
	return k == OPK_CREATE || k == OPK_START;
}

static enum node_pending
kind_pending(enum op_kind k)
{
	return k == OPK_CREATE ? NP_CREATE : k == OPK_START ? NP_START :
	    NP_SHUTDOWN;
}

static enum cc_action
kind_action(enum op_kind k)
{
	switch (k) {
	case OPK_START:
		return CC_ACTION_START;
	case OPK_DEALLOCATE:
		return CC_ACTION_DEALLOCATE;
	case OPK_TERMINATE:
		return CC_ACTION_TERMINATE;
	default:
		return CC_ACTION_SHUTDOWN;
	}
}

/* Nodes of op that still belong to it (a newer call may have taken one). */
static struct node *
op_node(const struct op *op, size_t i)
{
	struct node *n = node_find(op->names[i]);

	if (n == NULL || n->request_id == NULL ||
	    strcmp(n->request_id, op->rid) != 0)
		return NULL;
	return n;
}

static void	on_sent(const struct cc_result *, void *, void *);

static void
op_fail_all(struct op *op, const struct cc_result *res)
{
	struct node *n;
	char *msg;
	size_t i;
	bool auth = res->err == CC_ERR_AUTH;
	uint64_t now = now_mono_ms();

	if (auth && E.auth_fail_since == 0)
		E.auth_fail_since = now;
	for (i = 0; i < op->n; i++) {
		if ((n = op_node(op, i)) == NULL)
			continue;
		if (kind_is_up(op->kind) && n->state == NS_QUEUED &&
		    (!auth || now - E.auth_fail_since >=
		    ccsd.conf->daemon.auth_grace_ms)) {
			if (auth)
				msg = xstrdup("CycleCloud authentication "
				    "failed");
			else
				xasprintf(&msg, "CycleCloud %s failed: %s",
				    opk_names[op->kind], res->message ?
				    res->message : cc_err_name(res->err));
			fail_node(n, EV_GIVE_UP, msg, auth ? FAIL_AUTH :
			    FAIL_API);
			free(msg);
		} else if (!kind_is_up(op->kind) &&
		    (res->err == CC_ERR_CLIENT || res->err == CC_ERR_NOTFOUND ||
		    res->err == CC_ERR_CONFLICT ||
		    res->err == CC_ERR_BAD_RESPONSE)) {
			/* Permanent: do not loop; the next sweep tells what
			 * the VM really is and reconciliation acts on it. */
			log_errorx("cloud: giving up %s of %s: %s",
			    opk_names[op->kind], log_esc(n->name),
			    res->message ? log_esc(res->message) :
			    cc_err_name(res->err));
			n->pending = NP_NONE;
		} else if (n->state == NS_QUEUED || n->state == NS_STOPPING ||
		    n->state == NS_FAILED) {
			/* Try again with the next batch; VMs must not leak. */
			n->pending = kind_pending(op->kind);
			arm_batch(ccsd.conf->daemon.poll_interval_ms);
		}
	}
}

static void
op_send(struct op *op)
{
	struct cc_create_request req;
	struct ccs_create_set *sets = NULL;
	struct cc_create_set *cs;
	struct cc_result res;
	size_t nsets = 0, i;
	char *cause = NULL;
	int rc;

	op->sent_ms = now_mono_ms();
	op->in_call = true;
	if (op->kind == OPK_CREATE) {
		rc = ccs_create_sets(nodes.map, op->names, op->n, &sets, &nsets,
		    &cause);
		if (rc == 0) {
			cs = xcalloc(nsets, sizeof(*cs));
			for (i = 0; i < nsets; i++) {
				cs[i].nodearray = sets[i].nodearray;
				cs[i].count = sets[i].count;
				cs[i].machine_type = sets[i].machine_type;
				cs[i].name_format = sets[i].name_format;
				cs[i].name_offset = (int)sets[i].name_offset;
				cs[i].placement_group_id =
				    sets[i].placement_group_id;
				cs[i].fixed = -1;
				cs[i].start_automatically = -1;
			}
			req.request_id = op->rid;
			req.sets = cs;
			req.nsets = nsets;
			rc = cc_create(E.cc, &req, on_sent, op, &cause);
			free(cs);
			ccs_create_sets_free(sets, nsets);
		}
	} else {
		rc = cc_node_action(E.cc, kind_action(op->kind), op->rid,
		    (const char *const *)op->names, op->n, on_sent, op, &cause);
	}
	if (rc == -1) {
		op->in_call = false;
		log_warnx("%s of %zu nodes not sent: %s", opk_names[op->kind],
		    op->n, cause);
		memset(&res, 0, sizeof(res));
		res.err = CC_ERR_CLIENT;
		res.message = cause;
		op_fail_all(op, &res);
		free(cause);
		op_done(op);
	}
}

static void
issue(enum op_kind kind, char **names, size_t n)
{
	struct op *op;
	struct node *nd;
	json_object *rec;
	char *hl, *cause;
	size_t i, off, cnt, max;

	max = kind == OPK_CREATE ? n : ENGINE_MAX_NAMES;
	for (off = 0; off < n; off += cnt) {
		cnt = n - off < max ? n - off : max;
		op = op_new(kind, names + off, cnt);
		hl = names_hostlist(op->names, op->n);
		rec = json_object_new_object();
		json_object_object_add(rec, "t", json_object_new_string("op"));
		json_object_object_add(rec, "rid",
		    json_object_new_string(op->rid));
		json_object_object_add(rec, "kind",
		    json_object_new_string(opk_names[kind]));
		json_object_object_add(rec, "hostlist",
		    json_object_new_string(hl));
		if (journal_append(rec, &cause) == -1) {
			/* Not durable: do not send; try again later. */
			log_warnx("%s not sent: %s", opk_names[kind], cause);
			free(cause);
			json_object_put(rec);
			free(hl);
			op_free(op);
			arm_batch(ccsd.conf->daemon.poll_interval_ms);
			continue;
		}
		json_object_put(rec);
		FAILPOINT("after-op-journal");
		log_info("cloud: %s %s (%zu nodes, request %s)",
		    opk_names[kind], log_esc(hl), op->n, op->rid);
		free(hl);
		for (i = 0; i < op->n; i++) {
			if ((nd = node_find(op->names[i])) == NULL)
				continue;
			nd->pending = NP_NONE;
			free(nd->request_id);
			nd->request_id = xstrdup(op->rid);
		}
		TAILQ_INSERT_TAIL(&E.ops, op, entry);
		op_send(op);
	}
}

static void
on_sent(const struct cc_result *res, void *data, void *arg)
{
	struct op *op = arg;
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	struct node *n;
	const char *opid = NULL;
	char *msg;
	size_t i;

	op->in_call = false;
	if (res->err == CC_ERR_CANCELLED)
		return;		/* stopping: the journal keeps the op */
	FAILPOINT("after-post");
	if (res->err != CC_OK) {
		log_warnx("cloud: %s of %zu nodes failed: %s",
		    opk_names[op->kind], op->n,
		    res->message ? log_esc(res->message) :
		    cc_err_name(res->err));
		op_fail_all(op, res);
		op_done(op);
		return;
	}
	E.auth_fail_since = 0;
	op->answered = true;
	if (op->kind == OPK_CREATE) {
		cr = data;
		if (cr != NULL) {
			opid = cr->operation_id;
			for (i = 0; i < cr->nsets; i++) {
				if (cr->sets[i].message == NULL ||
				    op->shortfall != NULL)
					continue;
				op->shortfall = xstrdup(cr->sets[i].message);
			}
		}
	} else {
		ar = data;
		if (ar != NULL) {
			opid = ar->operation_id;
			for (i = 0; i < ar->nnodes; i++) {
				if (ar->nodes[i].ok || ar->nodes[i].name == NULL)
					continue;
				if ((n = node_find(ar->nodes[i].name)) == NULL)
					continue;
				if (kind_is_up(op->kind)) {
					xasprintf(&msg, "CycleCloud: %s",
					    ar->nodes[i].error ?
					    ar->nodes[i].error :
					    "start refused");
					fail_node(n, EV_CLOUD_FAILED, msg,
					    FAIL_CAPACITY);
					free(msg);
				} else {
					log_warnx("cloud: %s of %s refused: "
					    "%s; trying again later",
					    opk_names[op->kind],
					    log_esc(n->name),
					    log_esc(ar->nodes[i].error));
					n->pending = NP_SHUTDOWN;
					arm_batch(
					    ccsd.conf->daemon.poll_interval_ms);
				}
			}
		}
	}
	if (opid != NULL) {
		op->op_id = xstrdup(opid);
		journal_simple("opid", op->rid, "op", opid);
	}
	for (i = 0; i < op->n; i++) {
		if ((n = op_node(op, i)) == NULL)
			continue;
		free(n->op_id);
		n->op_id = op->op_id != NULL ? xstrdup(op->op_id) : NULL;
		if (kind_is_up(op->kind))
			apply_event(n, EV_SENT, NULL);
	}
	if (op->kind == OPK_CREATE)
		cc_create_result_free(data);
	else
		cc_action_result_free(data);
	/* A shortfall is known now: poll at once, so failures are told
	 * within one poll interval. */
	arm_poll(op->shortfall != NULL ? 0 :
	    ccsd.conf->daemon.poll_interval_ms);
}

/* ---- Batching ------------------------------------------------------------ */

static void
arm_batch(uint64_t delay_ms)
{
	if (E.ev_batch == NULL || ccsd.stopping)
		return;
	if (evtimer_pending(E.ev_batch, NULL))
		return;
	timer_in(E.ev_batch, delay_ms);
}

static enum op_kind
shutdown_kind(void)
{
	switch (ccsd.conf->daemon.shutdown) {
	case CONF_SHUTDOWN_TERMINATE:
		return OPK_TERMINATE;
	case CONF_SHUTDOWN_DEALLOCATE:
		return OPK_DEALLOCATE;
	default:
		return OPK_SHUTDOWN;
	}
}

/* Send what waits: one create, one start, one shutdown call. */
static void
on_batch(evutil_socket_t fd, short what, void *arg)
{
	struct namebuf create = { 0 }, start = { 0 }, down = { 0 };
	struct node *n;
	bool deferred = false;
	size_t i;

	if (E.recovering || !nodes.loaded)
		return;		/* finish_recovery() arms it again */
	for (i = 0; i < nodes.n; i++) {
		n = &nodes.v[i];
		switch (n->pending) {
		case NP_NONE:
			break;
		case NP_START:
		case NP_CREATE:
			if (n->state != NS_QUEUED) {
				n->pending = NP_NONE;
				break;
			}
			/* A VM still going away cannot start yet. */
			if (n->cc_status != NULL &&
			    strcmp(n->cc_status, "Terminating") == 0) {
				deferred = true;
				break;
			}
			nb_add(n->in_cloud ? &start : &create, n->name, NULL);
			break;
		case NP_SHUTDOWN:
			if (n->state != NS_STOPPING && n->state != NS_FAILED) {
				n->pending = NP_NONE;
				break;
			}
			nb_add(&down, n->name, NULL);
			break;
		}
	}
	if (create.n > 0)
		issue(OPK_CREATE, create.names, create.n);
	if (start.n > 0)
		issue(OPK_START, start.names, start.n);
	if (down.n > 0)
		issue(shutdown_kind(), down.names, down.n);
	nb_clear(&create);
	nb_clear(&start);
	nb_clear(&down);
	if (deferred) {
		/* Learn when Terminating ends. */
		arm_poll(ccsd.conf->daemon.poll_interval_ms);
		arm_batch(ccsd.conf->daemon.poll_interval_ms);
	}
}

void
engine_shutdown_orphan(struct node *n)
{
	struct namebuf one = { 0 };

	if (n->pending != NP_NONE || n->request_id != NULL)
		return;
	if (n->state == NS_REQUESTED || n->state == NS_BOOTING ||
	    n->state == NS_READY) {
		/* Slurm does not want it: the ordinary way down. */
		apply_event(n, EV_SUSPEND, NULL);
		return;
	}
	/* Powered down for Slurm already: only its VM goes. */
	nb_add(&one, n->name, NULL);
	issue(shutdown_kind(), one.names, one.n);
	nb_clear(&one);
}

/* ---- Observing the cloud ------------------------------------------------- */

static bool
st_is(const char *st, const char *what)
{
	return st != NULL && strcmp(st, what) == 0;
}

/*
 * Compare what the cloud says about n with the state n is in, and move it.
 * The one place where cloud statuses become node events.
 */
static void
observe(struct node *n)
{
	const char *st = n->in_cloud ? n->cc_status : NULL;
	char *msg;

	switch (n->state) {
	case NS_REQUESTED:
	case NS_BOOTING:
	case NS_READY:
		if (st_is(st, "Failed")) {
			xasprintf(&msg, "CycleCloud: %s", n->cc_message ?
			    n->cc_message : "the node failed to start "
			    "(status Failed)");
			fail_node(n, EV_CLOUD_FAILED, msg, FAIL_CLOUD);
			free(msg);
			return;
		}
		if (n->ip != NULL && !n->addr_set &&
		    (st_is(st, "Ready") || st_is(st, "Preparing") ||
		    st_is(st, "Acquiring")))
			queue_addr(n);
		if (st_is(st, "Ready") && n->ip != NULL)
			apply_event(n, EV_CLOUD_READY, n->ip);
		else if (st_is(st, "Acquiring") || st_is(st, "Preparing") ||
		    st_is(st, "Ready"))
			apply_event(n, EV_CLOUD_BOOTING, NULL);
		else if (n->state != NS_REQUESTED && (st == NULL ||
		    st_is(st, "Off") || st_is(st, "Deallocated"))) {
			xasprintf(&msg, "the VM went away (CycleCloud status "
			    "%s)", st != NULL ? st : "absent");
			fail_node(n, EV_CLOUD_GONE, msg, FAIL_VM_GONE);
			free(msg);
		}
		break;
	case NS_STOPPING:
		if (st == NULL || st_is(st, "Off") || st_is(st, "Deallocated"))
			apply_event(n, EV_CLOUD_GONE, NULL);
		break;
	default:
		break;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is every node of op where op wants it (or taken over by a newer call)? */
static bool
op_settled(const struct op *op)
{
	struct node *n;
	size_t i;

	for (i = 0; i < op->n; i++) {
		if ((n = op_node(op, i)) == NULL)
			continue;
		if (kind_is_up(op->kind)) {
			if (n->state == NS_REQUESTED || n->state == NS_BOOTING ||
			    n->state == NS_QUEUED)
				return false;
		} else if (node_vm_exists(n) && (n->state == NS_STOPPING ||
		    n->state == NS_FAILED || n->state == NS_POWERED_DOWN ||
		    st_is(n->cc_status, "Terminating")))
			return false;	/* a queued resume waits for Off too */
	}
	return true;
}

static void
on_polled(const struct cc_result *res, void *data, void *arg)
{
	struct op *op = arg;
	struct cc_node_list *l = data;
	struct node *n;
	char **sorted;
	bool *listed;
	size_t i;
	char *key, **hit;

	op->in_call = false;
	if (res->err == CC_ERR_CANCELLED)
		return;
	op->polls++;
	if (res->err != CC_OK) {
		log_warnx("cloud: polling %s %s failed: %s",
		    opk_names[op->kind], log_esc(op->op_id ? op->op_id :
		    op->rid), res->message ? log_esc(res->message) :
		    cc_err_name(res->err));
		/*
		 * An operation the cloud no longer knows, or one that cannot
		 * be polled for long: give it up; the cluster sweep (now)
		 * tells what its nodes became and moves them on.
		 */
		if (res->err == CC_ERR_NOTFOUND ||
		    ++op->poll_failures >= ENGINE_POLL_FAILS_MAX) {
			log_warnx("cloud: %s %s given up after %u failed "
			    "polls; reading the whole cluster instead",
			    opk_names[op->kind], op->rid, op->poll_failures);
			op_done(op);
			engine_sweep_soon();
		}
		return;
	}
	op->poll_failures = 0;
	/* Which of op's names did the listing show? */
	sorted = xcalloc(op->n + 1, sizeof(char *));
	memcpy(sorted, op->names, op->n * sizeof(char *));
	qsort(sorted, op->n, sizeof(char *), cmp_str);
	listed = xcalloc(op->n + 1, sizeof(bool));
	for (i = 0; i < l->nnodes; i++) {
		if (l->nodes[i].name == NULL ||
		    (n = node_find(l->nodes[i].name)) == NULL)
			continue;
		node_set_cloud(n, &l->nodes[i]);
		key = l->nodes[i].name;
		hit = bsearch(&key, sorted, op->n, sizeof(char *), cmp_str);
		if (hit != NULL)
			listed[hit - sorted] = true;
		observe(n);
	}
	for (i = 0; i < op->n; i++) {
		if (listed[i] || (n = node_find(sorted[i])) == NULL ||
		    n->request_id == NULL || strcmp(n->request_id, op->rid) != 0)
			continue;
		if (op->kind == OPK_CREATE && op->shortfall != NULL)
			fail_node(n, EV_CLOUD_FAILED, op->shortfall,
			    FAIL_CAPACITY);
		else if (op->kind == OPK_CREATE && op->polls > 3)
			fail_node(n, EV_CLOUD_FAILED, "CycleCloud did not "
			    "create the node", FAIL_CLOUD);
		else if (!kind_is_up(op->kind)) {
			/* Removed: a terminated node created on demand. */
			node_set_cloud(n, NULL);
			observe(n);
		}
	}
	free(sorted);
	free(listed);
	cc_node_list_free(l);
	if (op_settled(op))
		op_done(op);
}

static void
poll_op(struct op *op)
{
	char *cause;

	op->in_call = true;
	if (cc_list_nodes(E.cc, op->op_id, op->op_id ? NULL : op->rid,
	    on_polled, op, &cause) == -1) {
		op->in_call = false;
		log_warnx("cloud: cannot poll %s: %s", op->rid, cause);
		free(cause);
	}
}

static void	spool_take(void);

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct op *op;

	if (E.old_cc != NULL && cc_pending(E.old_cc) == 0) {
		cc_client_free(E.old_cc);	/* a reload's old settings */
		E.old_cc = NULL;
	}
	if (!E.recovering) {
		TAILQ_FOREACH(op, &E.ops, entry)
			if (op->answered && !op->in_call)
				poll_op(op);
		spool_take();
		upd_next();
	}
	/* Always: the spool is read every round (a shim spools when the
	 * daemon was slow to answer, not only when it was down). */
	arm_poll(ccsd.conf->daemon.poll_interval_ms);
}

static void
arm_poll(uint64_t delay_ms)
{
	if (E.ev_poll == NULL || ccsd.stopping)
		return;
	if (evtimer_pending(E.ev_poll, NULL)) {
		if (delay_ms > 0)
			return;
		evtimer_del(E.ev_poll);
	}
	timer_in(E.ev_poll, delay_ms);
}

/* ---- The spool ------------------------------------------------------------ */

static int
spool_one(const struct spool_entry *e, void *arg)
{
	struct proto_reply reply;
	enum node_action act;
	char *cause = NULL, who[64];
	const char *name = proto_node_action_name(e->type);
	int rc;

	E.spool_depth++;
	if (name == NULL || action_parse(name, &act) == -1) {
		log_warnx("spool %s: not a node request: dropped",
		    log_esc(e->name));
	} else {
		snprintf(who, sizeof(who), "spool (uid %ld, %s)",
		    (long)e->uid, e->req.program ?
		    log_esc(e->req.program) : "shim");
		rc = take_request(act, e->req.id, e->req.hostlist,
		    e->req.resume_file, e->uid, who, &reply, &cause);
		if (rc == 0) {
			E.counts.spooled_taken++;
			proto_reply_free(&reply);
		} else if (rc == -2) {
			/* Not journaled: keep the file for the next round. */
			log_warnx("spool %s: kept: %s", log_esc(e->name),
			    cause);
			free(cause);
			return 0;
		} else {
			log_warnx("spool %s: refused: %s", log_esc(e->name),
			    cause);
			free(cause);
		}
	}
	if (spool_remove(e, &cause) == -1) {
		log_warnx("spool: %s", cause);
		free(cause);
		return 0;
	}
	E.spool_depth--;
	return 0;
}

static void
spool_take(void)
{
	char *cause;

	E.spool_depth = 0;
	if (spool_scan(ccsd.conf->daemon.spool_dir, spool_one, NULL, &cause) ==
	    -1) {
		log_debug("spool: %s", cause);
		free(cause);
	}
}

size_t
engine_spool_depth(void)
{
	return E.spool_depth;
}

/* ---- The sweep and recovery ----------------------------------------------- */

static void
journal_cb(json_object *rec, void *arg)
{
	json_object *t, *id, *rid, *op;
	const char *type;

	if (!json_object_object_get_ex(rec, "t", &t) ||
	    !json_object_is_type(t, json_type_string))
		return;
	type = json_object_get_string(t);
	if (strcmp(type, "req") == 0 || strcmp(type, "fail") == 0) {
		if (strcmp(type, "req") == 0 &&
		    json_object_object_get_ex(rec, "id", &id) &&
		    json_object_is_type(id, json_type_string))
			seen_add(json_object_get_string(id));
		json_object_array_add(E.replay_reqs, json_object_get(rec));
	} else if (strcmp(type, "ids") == 0 &&
	    json_object_object_get_ex(rec, "ids", &id) &&
	    json_object_is_type(id, json_type_array)) {
		size_t i;
		for (i = 0; i < json_object_array_length(id); i++) {
			json_object *one = json_object_array_get_idx(id, i);
			if (json_object_is_type(one, json_type_string))
				seen_add(json_object_get_string(one));
		}
	} else if (json_object_object_get_ex(rec, "rid", &rid) &&
	    json_object_is_type(rid, json_type_string)) {
		const char *r = json_object_get_string(rid);
		if (strcmp(type, "op") == 0)
			json_object_object_add(E.replay_ops, r,
			    json_object_get(rec));
		else if (strcmp(type, "opid") == 0 &&
		    json_object_object_get_ex(E.replay_ops, r, &op) &&
		    json_object_object_get_ex(rec, "op", &id))
			json_object_object_add(op, "op", json_object_get(id));
		else if (strcmp(type, "opdone") == 0)
			json_object_object_del(E.replay_ops, r);
	}
}

static int
kind_parse(const char *s, enum op_kind *k)
{
	int i;

	for (i = 0; i < OPK_COUNT; i++) {
		if (strcmp(opk_names[i], s) == 0) {
			*k = (enum op_kind)i;
			return 0;
		}
	}
	return -1;
}

static void	finish_recovery(void);

/* Make a live op of a journal record; its nodes belong to it. */
static struct op *
attach_op(json_object *rec)
{
	json_object *v;
	struct hostnames hn;
	enum op_kind kind;
	struct op *op;
	struct node *n;
	size_t i;

	if (!json_object_object_get_ex(rec, "kind", &v) ||
	    kind_parse(json_object_get_string(v), &kind) == -1 ||
	    !json_object_object_get_ex(rec, "hostlist", &v) ||
	    hostlist_expand(json_object_get_string(v), &hn, NULL) == -1)
		return NULL;
	op = op_new(kind, hn.names, hn.n);
	hostnames_free(&hn);
	free(op->rid);
	json_object_object_get_ex(rec, "rid", &v);
	op->rid = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(rec, "op", &v))
		op->op_id = xstrdup(json_object_get_string(v));
	op->sent_ms = now_mono_ms();
	for (i = 0; i < op->n; i++) {
		if ((n = node_find(op->names[i])) == NULL)
			continue;
		free(n->request_id);
		n->request_id = xstrdup(op->rid);
	}
	TAILQ_INSERT_TAIL(&E.ops, op, entry);
	return op;
}

static void
on_resolved(const struct cc_result *res, void *data, void *arg)
{
	struct op *op = arg;
	struct cc_node_list *l = data;

	op->in_call = false;
	if (res->err == CC_ERR_CANCELLED)
		return;
	if (res->err != CC_OK && res->err != CC_ERR_NOTFOUND) {
		/* Cannot tell yet: ask again shortly. */
		log_warnx("recovery: looking up request %s failed: %s; "
		    "retrying", op->rid, res->message ? log_esc(res->message) :
		    cc_err_name(res->err));
		op->in_call = true;
		if (cc_list_nodes(E.cc, NULL, op->rid, on_resolved, op,
		    NULL) == -1)
			op->in_call = false;
		return;
	}
	if (res->err == CC_OK && (l->operation != NULL || l->nnodes > 0)) {
		log_info("recovery: %s %s went through before the restart",
		    opk_names[op->kind], op->rid);
		op->answered = true;
		if (l->operation != NULL && l->operation->id != NULL) {
			op->op_id = xstrdup(l->operation->id);
			journal_simple("opid", op->rid, "op", op->op_id);
		}
		op->resolving = false;
	} else {
		log_info("recovery: %s %s never reached CycleCloud; it will "
		    "be sent again", opk_names[op->kind], op->rid);
		op->resolving = false;
		op->answered = false;
		op->n = op->n;	/* dropped in finish_recovery() */
	}
	if (l != NULL)
		cc_node_list_free(l);
	if (--E.resolving == 0)
		finish_recovery();
}

static void
start_recovery(void)
{
	struct json_object_iterator it, end;
	struct op *op;
	char *cause;

	it = json_object_iter_begin(E.replay_ops);
	end = json_object_iter_end(E.replay_ops);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		if ((op = attach_op(json_object_iter_peek_value(&it))) == NULL)
			continue;
		if (op->op_id != NULL) {
			op->answered = true;
			continue;
		}
		/* The answer was lost: did the POST go through? */
		op->resolving = true;
		op->in_call = true;
		E.resolving++;
		if (cc_list_nodes(E.cc, NULL, op->rid, on_resolved, op,
		    &cause) == -1) {
			log_warnx("recovery: %s", cause);
			free(cause);
			op->in_call = false;
			op->resolving = false;
			E.resolving--;
		}
	}
	if (E.resolving == 0)
		finish_recovery();
}

static void
finish_recovery(void)
{
	struct op *op, *tmp;
	struct held *h;
	struct node *n;
	json_object *rec, *v, *jobs;
	struct hostnames hn;
	enum node_action act;
	size_t i, k;

	/* Replay the accepted requests, oldest first, without effects on
	 * Slurm for states they only pass through. */
	for (i = 0; i < json_object_array_length(E.replay_reqs); i++) {
		rec = json_object_array_get_idx(E.replay_reqs, i);
		if (!json_object_object_get_ex(rec, "hostlist", &v) ||
		    hostlist_expand(json_object_get_string(v), &hn, NULL) == -1)
			continue;
		json_object_object_get_ex(rec, "t", &v);
		if (strcmp(json_object_get_string(v), "fail") == 0) {
			json_object_object_get_ex(rec, "error", &v);
			for (k = 0; k < hn.n; k++)
				if ((n = node_find(hn.names[k])) != NULL &&
				    n->state == NS_QUEUED) {
					node_event(n, EV_GIVE_UP,
					    json_object_get_string(v));
					n->pending = NP_NONE;
				}
		} else if (json_object_object_get_ex(rec, "act", &v) &&
		    action_parse(json_object_get_string(v), &act) == 0) {
			jobs = NULL;
			json_object_object_get_ex(rec, "jobs", &jobs);
			apply_request(act, &hn, jobs);
		}
		hostnames_free(&hn);
	}
	/* Calls in flight own their nodes; calls that never went out are
	 * dropped and their nodes sent again by the batch. */
	for (op = TAILQ_FIRST(&E.ops); op != NULL; op = tmp) {
		tmp = TAILQ_NEXT(op, entry);
		for (i = 0; i < op->n; i++) {
			if ((n = op_node(op, i)) == NULL)
				continue;
			if (!op->answered) {
				free(n->request_id);
				n->request_id = NULL;
				continue;
			}
			n->pending = NP_NONE;
			if (kind_is_up(op->kind) && n->state == NS_QUEUED)
				node_event(n, EV_SENT, NULL);
		}
		if (!op->answered)
			op_done(op);
	}
	E.recovering = false;
	json_object_put(E.replay_reqs);
	json_object_put(E.replay_ops);
	E.replay_reqs = json_object_new_array();
	E.replay_ops = json_object_new_object();
	/* Requests that arrived while we were starting. */
	while ((h = TAILQ_FIRST(&E.held)) != NULL) {
		TAILQ_REMOVE(&E.held, h, entry);
		apply_request(h->act, &h->hn, h->jobs);
		hostnames_free(&h->hn);
		json_object_put(h->jobs);
		free(h);
	}
	/* Slurm may not have heard about addresses before the restart. */
	for (i = 0; i < nodes.n; i++) {
		n = &nodes.v[i];
		if (n->ip != NULL && (n->state == NS_READY ||
		    n->state == NS_BOOTING))
			queue_addr(n);
		if (n->state == NS_QUEUED && n->pending == NP_NONE)
			n->pending = n->in_cloud ? NP_START : NP_CREATE;
		if ((n->state == NS_STOPPING || n->state == NS_FAILED) &&
		    n->request_id == NULL && node_vm_exists(n))
			n->pending = NP_SHUTDOWN;
		if (n->pending != NP_NONE)
			arm_batch(0);
	}
	spool_take();
	compact();
	arm_poll(0);
	log_info("recovery done: %zu operations in flight, %zu nodes queued",
	    engine_ops_in_flight(), nodes.count[NS_QUEUED]);
	notify_status("running: %zu nodes, %zu ready", nodes.n,
	    nodes.count[NS_READY]);
}

/*
 * The daemon cannot read the cluster at start (CycleCloud refuses the
 * credentials, the TLS certificate is not trusted, the service is down).
 * The resumes taken meanwhile wait out a grace (a fixed password and a
 * reload, or the service coming back, let them through), then their nodes
 * are powered down in Slurm so that their jobs requeue, and a "fail" record
 * after their request keeps a later start from creating them after all.
 * Requests replayed from the journal are left alone: without the cloud's
 * listing they cannot be told from ones carried out long ago.
 */
static void
start_fail_held(const struct cc_result *res)
{
	static const char auth_msg[] = "CycleCloud authentication failed";
	struct held *h, *tmp;
	json_object *rec;
	uint64_t now = now_mono_ms(), grace;
	char *hl, *cause, *msg;
	size_t k;

	/*
	 * Authentication gets daemon.auth_grace (time to fix the password
	 * and reload); anything else (TLS, network, a server in trouble)
	 * the client's own retry budget, cyclecloud.retry_max_time.
	 */
	if (res->err == CC_ERR_AUTH) {
		if (E.auth_fail_since == 0)
			E.auth_fail_since = now;
		grace = ccsd.conf->daemon.auth_grace_ms;
		if (now - E.auth_fail_since < grace)
			return;
		msg = xstrdup(auth_msg);
	} else {
		grace = ccsd.conf->cc.retry_max_time_ms;
		if (now - E.start_fail_since < grace)
			return;
		xasprintf(&msg, "CycleCloud unreachable: %s",
		    res->message != NULL ? res->message :
		    cc_err_name(res->err));
	}
	for (h = TAILQ_FIRST(&E.held); h != NULL; h = tmp) {
		tmp = TAILQ_NEXT(h, entry);
		if (h->act != ACT_RESUME)
			continue;
		TAILQ_REMOVE(&E.held, h, entry);
		hl = names_hostlist(h->hn.names, h->hn.n);
		for (k = 0; k < h->hn.n; k++)
			queue_down(h->hn.names[k], msg);
		E.counts.failures_by_reason[res->err == CC_ERR_AUTH ?
		    FAIL_AUTH : FAIL_API] += h->hn.n;
		log_warnx("resume %s given up after %llu ms: %s", log_esc(hl),
		    (unsigned long long)grace, log_esc(msg));
		rec = json_object_new_object();
		json_object_object_add(rec, "t", json_object_new_string("fail"));
		json_object_object_add(rec, "hostlist",
		    json_object_new_string(hl));
		json_object_object_add(rec, "error", json_object_new_string(msg));
		if (journal_append(rec, &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
		}
		json_object_put(rec);
		free(hl);
		hostnames_free(&h->hn);
		json_object_put(h->jobs);
		free(h);
	}
	free(msg);
}

static void
on_status(const struct cc_result *res, void *data, void *arg)
{
	struct cc_cluster_status *st = data;
	static unsigned gen;
	struct node *n;
	char *cause;
	size_t i;

	E.sweep_in_call = false;
	if (res->err == CC_ERR_CANCELLED)
		return;
	E.counts.sweeps++;
	if (res->err != CC_OK || st == NULL || !st->has_nodes) {
		log_warnx("cloud: cluster status of %s failed: %s%s",
		    ccsd.conf->cc.cluster, res->message ?
		    log_esc(res->message) : cc_err_name(res->err),
		    E.recovering ? "; retrying (requests are kept)" : "");
		if (st != NULL)
			cc_cluster_status_free(st);
		if (E.recovering) {
			if (E.start_fail_since == 0)
				E.start_fail_since = now_mono_ms();
			start_fail_held(res);
			/* Again soon, backing off to a minute. */
			E.start_retry_ms = E.start_retry_ms == 0 ?
			    ccsd.conf->daemon.poll_interval_ms :
			    E.start_retry_ms * 2;
			if (E.start_retry_ms > ENGINE_START_RETRY_MAX_MS)
				E.start_retry_ms = ENGINE_START_RETRY_MAX_MS;
			timer_in(E.ev_sweep, E.start_retry_ms);
		} else
			timer_in(E.ev_sweep,
			    ccsd.conf->daemon.reconcile_interval_ms);
		return;
	}
	if (nodes_load(st, &cause) == -1) {
		log_warnx("cloud: cluster %s: %s", ccsd.conf->cc.cluster,
		    cause);
		free(cause);
		cc_cluster_status_free(st);
		timer_in(E.ev_sweep, ccsd.conf->daemon.poll_interval_ms);
		return;
	}
	engine_keep_arrays(st);
	E.auth_fail_since = 0;
	E.start_fail_since = 0;
	E.start_retry_ms = 0;
	gen++;
	for (i = 0; i < st->nnodes; i++) {
		if (st->nodes[i].name == NULL ||
		    (n = node_find(st->nodes[i].name)) == NULL)
			continue;
		node_set_cloud(n, &st->nodes[i]);
		n->sweep_gen = gen;
	}
	for (i = 0; i < nodes.n; i++) {
		n = &nodes.v[i];
		if (n->sweep_gen != gen)
			node_set_cloud(n, NULL);
		if (E.recovering)
			node_adopt(n);
		else if (n->request_id == NULL || n->state == NS_READY)
			observe(n);
	}
	cc_cluster_status_free(st);
	/* The listing's parse tree (~20 KB of small blocks a node record,
	 * docs/performance.md) is free now: hand it back to the system, or
	 * the daemon keeps its peak for good and malloc's consolidation of
	 * those blocks slows every later large allocation. */
	malloc_trim(0);
	timer_in(E.ev_sweep, ccsd.conf->daemon.reconcile_interval_ms);
	if (E.recovering)
		start_recovery();
	else
		reconcile_now();
}

static void
sweep(void)
{
	char *cause;

	if (E.sweep_in_call)
		return;
	E.sweep_in_call = true;
	if (cc_get_status(E.cc, 1, on_status, NULL, &cause) == -1) {
		E.sweep_in_call = false;
		log_warnx("cloud: %s", cause);
		free(cause);
		timer_in(E.ev_sweep, ccsd.conf->daemon.poll_interval_ms);
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	sweep();
}

void
engine_sweep_soon(void)
{
	if (E.ev_sweep == NULL || E.sweep_in_call)
		return;
	evtimer_del(E.ev_sweep);
	timer_in(E.ev_sweep, 0);
}

/* ---- Compaction ------------------------------------------------------------ */

static json_object *
rec_req(const char *act, struct namebuf *nb)
{
	json_object *rec = json_object_new_object();
	char id[UUID_STR_LEN], *hl;

	uuid_v4(id);
	hl = names_hostlist(nb->names, nb->n);
	json_object_object_add(rec, "t", json_object_new_string("req"));
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "act", json_object_new_string(act));
	json_object_object_add(rec, "hostlist", json_object_new_string(hl));
	free(hl);
	return rec;
}

/* Rewrite the journal as what is live now: request ids, waiting nodes,
 * calls in flight. */
static void
compact(void)
{
	json_object **recs, *ids, *rec;
	struct namebuf up = { 0 }, down = { 0 };
	size_t nrec = 0, cap, i;
	struct op *op;
	struct node *n;
	char *hl, *cause;

	cap = 8;
	TAILQ_FOREACH(op, &E.ops, entry)
		cap += 2;
	recs = xcalloc(cap, sizeof(*recs));
	ids = json_object_new_array();
	for (i = 0; i < E.nseen; i++)
		json_object_array_add(ids, json_object_new_string(
		    E.seen[(E.seen_next + i) % E.nseen]));
	rec = json_object_new_object();
	json_object_object_add(rec, "t", json_object_new_string("ids"));
	json_object_object_add(rec, "ids", ids);
	recs[nrec++] = rec;
	for (i = 0; i < nodes.n; i++) {
		n = &nodes.v[i];
		if (n->state == NS_QUEUED && n->request_id == NULL)
			nb_add(&up, n->name, NULL);
		else if (n->state == NS_STOPPING && n->request_id == NULL)
			nb_add(&down, n->name, NULL);
	}
	if (up.n > 0)
		recs[nrec++] = rec_req("resume", &up);
	if (down.n > 0)
		recs[nrec++] = rec_req("suspend", &down);
	TAILQ_FOREACH(op, &E.ops, entry) {
		rec = json_object_new_object();
		hl = names_hostlist(op->names, op->n);
		json_object_object_add(rec, "t", json_object_new_string("op"));
		json_object_object_add(rec, "rid",
		    json_object_new_string(op->rid));
		json_object_object_add(rec, "kind",
		    json_object_new_string(opk_names[op->kind]));
		json_object_object_add(rec, "hostlist",
		    json_object_new_string(hl));
		free(hl);
		recs[nrec++] = rec;
		if (op->op_id != NULL) {
			rec = json_object_new_object();
			json_object_object_add(rec, "t",
			    json_object_new_string("opid"));
			json_object_object_add(rec, "rid",
			    json_object_new_string(op->rid));
			json_object_object_add(rec, "op",
			    json_object_new_string(op->op_id));
			recs[nrec++] = rec;
		}
	}
	if (journal_rewrite(recs, nrec, &cause) == -1) {
		log_warnx("compaction: %s", cause);
		free(cause);
	} else
		log_debug("journal compacted to %zu records", nrec);
	for (i = 0; i < nrec; i++)
		json_object_put(recs[i]);
	free(recs);
	nb_clear(&up);
	nb_clear(&down);
}

/* ---- What the daemon shows ---------------------------------------------- */

static struct ccs_nodearray *all_arrays;	/* every nodearray, last sweep */
static size_t nall_arrays;

static void
free_all_arrays(void)
{
	size_t i;

	for (i = 0; i < nall_arrays; i++)
		ccs_nodearray_clear(&all_arrays[i]);
	free(all_arrays);
	all_arrays = NULL;
	nall_arrays = 0;
}

static void
engine_keep_arrays(const struct cc_cluster_status *st)
{
	char *cause;
	size_t i;

	free_all_arrays();
	all_arrays = xcalloc(st->nnodearrays + 1, sizeof(*all_arrays));
	for (i = 0; i < st->nnodearrays; i++) {
		if (nodes_desc_from_cc(&st->nodearrays[i],
		    &all_arrays[nall_arrays], &cause) == -1) {
			log_debug("%s", cause);
			free(cause);
			/* Keep what is known, so generate can say why. */
			ccs_nodearray_init(&all_arrays[nall_arrays]);
			all_arrays[nall_arrays].name =
			    xstrdup(st->nodearrays[i].name);
			all_arrays[nall_arrays].autoscale =
			    st->nodearrays[i].autoscale != 0;
		}
		nall_arrays++;
	}
}

json_object *
engine_cluster_json(char **cause)
{
	json_object *o, *arr;
	size_t i;

	if (!nodes.loaded && nall_arrays == 0) {
		*cause = xstrdup("the cluster status has not been read yet "
		    "(is CycleCloud reachable? see ccslurmctl status)");
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "cluster",
	    json_object_new_string(ccsd.conf->cc.cluster));
	arr = json_object_new_array();
	for (i = 0; i < nall_arrays; i++)
		json_object_array_add(arr,
		    ccs_nodearray_to_json(&all_arrays[i]));
	json_object_object_add(o, "nodearrays", arr);
	return o;
}

static json_object *
ms_to_json(uint64_t wall_ms)
{
	return wall_ms ? json_object_new_int64((int64_t)(wall_ms / 1000)) :
	    NULL;
}

json_object *
engine_status_json(void)
{
	json_object *o, *states, *ops, *op_o, *cc, *arrays, *a;
	struct cc_stats stats;
	struct op *op;
	uint64_t now = now_mono_ms();
	size_t i;
	int s;

	o = json_object_new_object();
	json_object_object_add(o, "cluster",
	    json_object_new_string(ccsd.conf->cc.cluster));
	json_object_object_add(o, "starting",
	    json_object_new_boolean(E.recovering));
	json_object_object_add(o, "nodes_total",
	    json_object_new_int64((int64_t)nodes.n));
	states = json_object_new_object();
	for (s = 0; s < NS_COUNT; s++)
		json_object_object_add(states, node_state_name(s),
		    json_object_new_int64((int64_t)nodes.count[s]));
	json_object_object_add(o, "states", states);
	json_object_object_add(o, "queued",
	    json_object_new_int64((int64_t)engine_queued()));
	ops = json_object_new_array();
	TAILQ_FOREACH(op, &E.ops, entry) {
		op_o = json_object_new_object();
		json_object_object_add(op_o, "action",
		    json_object_new_string(opk_names[op->kind]));
		json_object_object_add(op_o, "request_id",
		    json_object_new_string(op->rid));
		json_object_object_add(op_o, "operation_id",
		    op->op_id ? json_object_new_string(op->op_id) : NULL);
		json_object_object_add(op_o, "nodes",
		    json_object_new_int64((int64_t)op->n));
		json_object_object_add(op_o, "age",
		    json_object_new_double((double)(now - op->sent_ms) /
		    1000.0));
		json_object_array_add(ops, op_o);
	}
	json_object_object_add(o, "operations", ops);
	cc = json_object_new_object();
	if (E.cc != NULL) {
		cc_get_stats(E.cc, &stats);
		json_object_object_add(cc, "last_success",
		    ms_to_json(stats.last_success_ms));
		json_object_object_add(cc, "last_error_time",
		    ms_to_json(stats.last_error_ms));
		json_object_object_add(cc, "last_error", stats.last_error[0] ?
		    json_object_new_string(stats.last_error) : NULL);
		uint64_t thr = 0;
		for (i = 0; i < CC_EP_COUNT; i++)
			thr += stats.ep[i].throttled;
		json_object_object_add(cc, "throttled",
		    json_object_new_int64((int64_t)thr));
		json_object_object_add(cc, "pending_calls",
		    json_object_new_int64((int64_t)stats.pending));
	}
	json_object_object_add(cc, "auth_failing_for",
	    E.auth_fail_since ? json_object_new_double(
	    (double)(now - E.auth_fail_since) / 1000.0) : NULL);
	json_object_object_add(o, "cyclecloud", cc);
	arrays = json_object_new_array();
	for (i = 0; i < nodes.narrays; i++) {
		a = json_object_new_object();
		json_object_object_add(a, "name",
		    json_object_new_string(nodes.arrays[i].desc.name));
		json_object_object_add(a, "nodes",
		    json_object_new_int64((int64_t)nodes.arrays[i].n));
		json_object_object_add(a, "failures",
		    json_object_new_int64((int64_t)nodes.arrays[i].failures));
		json_object_object_add(a, "last_failure",
		    nodes.arrays[i].last_failure ? json_object_new_string(
		    nodes.arrays[i].last_failure) : NULL);
		json_object_array_add(arrays, a);
	}
	json_object_object_add(o, "nodearrays", arrays);
	json_object_object_add(o, "journal_records",
	    json_object_new_int64((int64_t)journal_records()));
	json_object_object_add(o, "spool_depth",
	    json_object_new_int64((int64_t)E.spool_depth));
	json_object_object_add(o, "scontrol_queue",
	    json_object_new_int64((int64_t)scontrol_running()));
	return o;
}

int
engine_nodes_json(const char *hostlist, struct proto_jbuf *out, char **cause)
{
	struct hostnames hn;
	struct node *n;
	size_t i, mark = out->len;

	/*
	 * Text, not a json-c tree: at 50,000 nodes the tree cost the daemon
	 * 110 - 170 ms of malloc a call (docs/performance.md, "Scale").
	 */
	proto_jbuf_puts(out, "{\"nodes\":[");
	if (hostlist != NULL && *hostlist != '\0') {
		if (hostlist_expand(hostlist, &hn, cause) == -1)
			goto fail;
		for (i = 0; i < hn.n; i++) {
			if ((n = node_find(hn.names[i])) == NULL) {
				xasprintf(cause, "unknown node %s",
				    log_esc(hn.names[i]));
				hostnames_free(&hn);
				goto fail;
			}
			if (i > 0)
				proto_jbuf_add(out, ",", 1);
			node_json_write(n, out);
		}
		hostnames_free(&hn);
	} else {
		for (i = 0; i < nodes.n; i++) {
			if (i > 0)
				proto_jbuf_add(out, ",", 1);
			node_json_write(&nodes.v[i], out);
		}
	}
	proto_jbuf_puts(out, "]}");
	return 0;
fail:
	out->len = mark;
	out->s[mark] = '\0';
	return -1;
}

const struct engine_counts *
engine_counts(void)
{
	return &E.counts;
}

size_t
engine_queued(void)
{
	struct held *h;
	size_t n = nodes.count[NS_QUEUED];

	TAILQ_FOREACH(h, &E.held, entry)
		n += h->hn.n;
	return n;
}

size_t
engine_ops_in_flight(void)
{
	struct op *op;
	size_t n = 0;

	TAILQ_FOREACH(op, &E.ops, entry)
		n++;
	return n;
}

struct cc_client *
engine_cc(void)
{
	return E.cc;
}

bool
engine_recovering(void)
{
	return E.recovering;
}

/* ---- Life cycle ------------------------------------------------------------ */

static int
make_client(const struct conf *c, struct cc_client **out, char **cause)
{
	struct cc_settings s;
	char *pw = NULL;

	if (conf_read_password(c, &pw, cause) == -1)
		return -1;
	cc_settings_defaults(&s);
	s.url = c->cc.url;
	s.cluster = c->cc.cluster;
	s.username = c->cc.username;
	s.password = pw;
	s.ca_file = c->cc.ca_file;
	s.verify_tls = c->cc.verify_tls;
	s.proxy = c->cc.proxy;
	s.timeout_ms = c->cc.timeout_ms;
	s.max_host_connections = c->cc.max_connections;
	s.max_attempts = c->cc.retry_max_attempts;
	s.retry_budget_ms = c->cc.retry_max_time_ms;
	*out = cc_client_new(ccsd.base, &s, cause);
	explicit_bzero(pw, strlen(pw));
	free(pw);
	return *out == NULL ? -1 : 0;
}

int
engine_init(void)
{
	char *cause;

	TAILQ_INIT(&E.ops);
	TAILQ_INIT(&E.held);
	TAILQ_INIT(&E.upds);
	if (make_client(ccsd.conf, &E.cc, &cause) == -1) {
		log_errorx("CycleCloud client: %s", cause);
		free(cause);
		return -1;
	}
	if (journal_open(ccsd.conf->daemon.state_dir, &cause) == -1) {
		log_errorx("%s", cause);
		free(cause);
		return -1;
	}
	E.replay_reqs = json_object_new_array();
	E.replay_ops = json_object_new_object();
	if (journal_replay(journal_cb, NULL, &cause) == -1) {
		log_errorx("%s", cause);
		free(cause);
		return -1;
	}
	log_info("journal: %zu requests and %d calls in flight to resume",
	    json_object_array_length(E.replay_reqs),
	    json_object_object_length(E.replay_ops));
	E.ev_batch = evtimer_new(ccsd.base, on_batch, NULL);
	E.ev_poll = evtimer_new(ccsd.base, on_poll, NULL);
	E.ev_sweep = evtimer_new(ccsd.base, on_sweep, NULL);
	E.ev_slurm = evtimer_new(ccsd.base, on_slurm, NULL);
	E.ev_upd_retry = evtimer_new(ccsd.base, on_upd_retry, NULL);
	E.recovering = true;
	sweep();
	return 0;
}

static bool
str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Settings of the CycleCloud connection a reload can change. */
static bool
cc_settings_differ(const struct conf *a, const struct conf *b)
{
	return str_differ(a->cc.url, b->cc.url) ||
	    str_differ(a->cc.username, b->cc.username) ||
	    str_differ(a->cc.ca_file, b->cc.ca_file) ||
	    str_differ(a->cc.proxy, b->cc.proxy) ||
	    a->cc.verify_tls != b->cc.verify_tls ||
	    a->cc.timeout_ms != b->cc.timeout_ms ||
	    a->cc.max_connections != b->cc.max_connections ||
	    a->cc.retry_max_attempts != b->cc.retry_max_attempts ||
	    a->cc.retry_max_time_ms != b->cc.retry_max_time_ms;
}

/*
 * A reload (SIGHUP, ccslurmctl reload).  What cannot change while running
 * is refused (the cluster: the node table is that cluster's) or applies at
 * the next start (paths), with a warning.  New CycleCloud settings get a
 * new client; calls in flight finish on the old one, freed once idle.
 */
int
engine_reconfigure(const struct conf *c, char **cause)
{
	const struct conf *old = ccsd.conf;
	struct cc_client *ncc;
	char *pw = NULL;

	if (strcmp(c->cc.cluster, old->cc.cluster) != 0) {
		xasprintf(cause, "cyclecloud.cluster cannot change on reload "
		    "(%s -> %s): restart ccslurmd", old->cc.cluster,
		    c->cc.cluster);
		return -1;
	}
	if (strcmp(c->daemon.state_dir, old->daemon.state_dir) != 0 ||
	    strcmp(c->daemon.socket, old->daemon.socket) != 0)
		log_warnx("reload: daemon.state_dir and daemon.socket apply at "
		    "the next start");
	if (cc_settings_differ(old, c)) {
		if (E.old_cc != NULL) {
			*cause = xstrdup("the previous reload's CycleCloud "
			    "calls are still finishing: try again shortly");
			return -1;
		}
		if (make_client(c, &ncc, cause) == -1)
			return -1;
		log_info("reload: new CycleCloud settings (%s as %s); %zu "
		    "call(s) in flight finish with the old ones",
		    c->cc.url, c->cc.username, cc_pending(E.cc));
		E.old_cc = E.cc;
		E.cc = ncc;
	} else {
		/* Calls in flight keep going; a new password applies now. */
		if (conf_read_password(c, &pw, cause) == -1)
			return -1;
		cc_set_password(E.cc, pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	if (E.auth_fail_since != 0) {
		log_info("reload: new credentials; retrying what waited");
		E.auth_fail_since = 0;
		arm_batch(0);
	}
	return 0;
}

void
engine_shutdown(void)
{
	struct op *op;
	struct held *h;
	size_t i;

	/* Slurm first: what is queued for it is what it must know. */
	if (E.ev_slurm != NULL && evtimer_pending(E.ev_slurm, NULL))
		on_slurm(-1, 0, NULL);
	tlog_flush();
	cc_client_free(E.cc);	/* callbacks see CC_ERR_CANCELLED */
	E.cc = NULL;
	cc_client_free(E.old_cc);
	E.old_cc = NULL;
	while ((op = TAILQ_FIRST(&E.ops)) != NULL) {
		TAILQ_REMOVE(&E.ops, op, entry);
		op_free(op);	/* the journal keeps them */
	}
	while ((h = TAILQ_FIRST(&E.held)) != NULL) {
		TAILQ_REMOVE(&E.held, h, entry);
		hostnames_free(&h->hn);
		json_object_put(h->jobs);
		free(h);
	}
	scontrol_shutdown();
	while (!TAILQ_EMPTY(&E.upds)) {
		struct slurm_upd *u = TAILQ_FIRST(&E.upds);
		TAILQ_REMOVE(&E.upds, u, entry);
		for (i = 0; u->argv[i] != NULL; i++)
			free(u->argv[i]);
		free(u->argv);
		free(u);
	}
	journal_close();
	if (E.ev_batch)
		event_free(E.ev_batch);
	if (E.ev_poll)
		event_free(E.ev_poll);
	if (E.ev_sweep)
		event_free(E.ev_sweep);
	if (E.ev_slurm)
		event_free(E.ev_slurm);
	if (E.ev_upd_retry)
		event_free(E.ev_upd_retry);
	json_object_put(E.replay_reqs);
	json_object_put(E.replay_ops);
	for (i = 0; i < E.nseen; i++)
		free(E.seen[i]);
	free(E.seen);
	nb_clear(&E.addr_set);
	nb_clear(&E.addr_reset);
	nb_clear(&E.resumes);
	for (i = 0; i < E.ndowns; i++) {
		nb_clear(&E.downs[i].nb);
		free(E.downs[i].reason);
	}
	free(E.downs);
	free_all_arrays();
	nodes_free();
	memset(&E, 0, sizeof(E));
}
