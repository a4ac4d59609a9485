/*
 * req_create_nodes.c: PROTO_CREATE_NODES, `ccslurmctl create-nodes`: the
 * seed's pre-creation of every partition node in CycleCloud (Fixed: true,
 * StartAutomatically: false), in one create call whose sets are the
 * contiguous name runs (naming.h ccs_create_sets()).
 *
 *   request: {"policy": "error" | "allow-existing", "dry_run": bool}
 *   reply:   {"created": N, "existing": N, "to_create": N,
 *             "sets": [{nodearray, name_format, name_offset, count,
 *                       placement_group_id}],
 *             "mismatched": [names], "invalid": [names],
 *             "removed": [names], "operation": id | null,
 *             "dry_run": bool, "messages": [create set messages]}
 *
 * Nodes of an autoscale nodearray that exist in CycleCloud but whose
 * MachineType is no longer the array's ("mismatched"), or whose name the
 * naming rules no longer produce ("invalid": the array shrank or was
 * renamed) are reported and never touched while they hold a VM; only once
 * they are Off (terminated) are they removed, since a removed node is gone
 * for good and an admin may still want what it holds.
 *
 * The handler answers later (control_defer()): it reads the cluster status
 * with nodes, then creates and removes, and replies when both are done.
 * One create-nodes runs at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccslurmd.h"
#include "log.h"
#include "naming_json.h"
#include "util.h"
#include "xmalloc.h"

enum cn_policy {
	CN_POLICY_ERROR = 0,	/* refuse when any partition node exists */
	CN_POLICY_ALLOW_EXISTING, /* create only the missing ones */
};

struct cn_job {
	struct peer	*peer;		/* NULL once the peer went away */
	enum cn_policy	 policy;
	bool		 dry_run;
	int		 pending;	/* cloud calls not answered yet */
	json_object	*reply;		/* the summary being built */
	char		*error;		/* first failure of a cloud call */
};

/* The one create-nodes in progress, or NULL. */
static struct cn_job *cn_busy;

static void
cn_job_free(struct cn_job *job)
{
	if (job == NULL)
		return;
	json_object_put(job->reply);
	free(job->error);
	free(job);
	if (cn_busy == job)
		cn_busy = NULL;
}

static void
cn_gone(void *arg)
{
	struct cn_job *job = arg;

	/* The cloud calls go on; their answers are only logged. */
	log_info("create-nodes: the requester went away before the answer");
	job->peer = NULL;
}

/* Reply with the summary (or the error) and free the job. */
static void
cn_finish(struct cn_job *job)
{
	if (job->peer != NULL) {
		if (job->error != NULL)
			control_reply_error(job->peer, "create-nodes: %s",
			    job->error);
		else
			control_reply(job->peer, PROTO_CREATE_NODES_REPLY,
			    job->reply);
	}
	cn_job_free(job);
}

static void
cn_fail(struct cn_job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cn_fail(struct cn_job *job, const char *fmt, ...)
{
	va_list ap;

	if (job->error != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&job->error, fmt, ap) == -1)
		fatalx("create-nodes: vasprintf failed");
	va_end(ap);
	log_warnx("create-nodes: %s", job->error);
}

static void
cn_on_create(const struct cc_result *res, void *data, void *arg)
{
	struct cn_job *job = arg;
	struct cc_create_result *cr = data;
	json_object *msgs;
	int64_t added = 0;
	size_t i;

	if (res->err != CC_OK)
		cn_fail(job, "CycleCloud create failed (%s): %s",
		    cc_err_name(res->err),
		    res->message != NULL ? res->message : "?");
	else {
		msgs = json_object_new_array();
		for (i = 0; i < cr->nsets; i++) {
			added += cr->sets[i].added;
			if (cr->sets[i].message != NULL)
				json_object_array_add(msgs,
				    json_object_new_string(
				    cr->sets[i].message));
		}
		/* A recovered create (409 + look-up) reports no sets. */
		if (cr->nsets == 0)
			added = json_object_get_int64(json_object_object_get(
			    job->reply, "to_create"));
		json_object_object_add(job->reply, "created",
		    json_object_new_int64(added));
		json_object_object_add(job->reply, "messages", msgs);
		json_object_object_add(job->reply, "operation",
		    cr->operation_id != NULL ?
		    json_object_new_string(cr->operation_id) : NULL);
		log_info("create-nodes: %lld node(s) created, operation %s",
		    (long long)added, cr->operation_id != NULL ?
		    log_esc(cr->operation_id) : "(recovered)");
		cc_create_result_free(cr);
		/* The engine must learn the new records before a resume
		 * tries to create them again. */
		engine_sweep_soon();
	}
	if (--job->pending == 0)
		cn_finish(job);
}

static void
cn_on_remove(const struct cc_result *res, void *data, void *arg)
{
	struct cn_job *job = arg;
	struct cc_action_result *ar = data;
	json_object *removed;
	size_t i;

	if (res->err != CC_OK)
		cn_fail(job, "CycleCloud remove failed (%s): %s",
		    cc_err_name(res->err),
		    res->message != NULL ? res->message : "?");
	else {
		/* Report what CycleCloud took, not what was asked. */
		removed = json_object_new_array();
		for (i = 0; i < ar->nnodes; i++) {
			if (ar->nodes[i].ok && ar->nodes[i].name != NULL)
				json_object_array_add(removed,
				    json_object_new_string(ar->nodes[i].name));
			else
				log_warnx("create-nodes: remove %s: %s",
				    log_esc(ar->nodes[i].name != NULL ?
				    ar->nodes[i].name : "?"),
				    ar->nodes[i].error != NULL ?
				    log_esc(ar->nodes[i].error) : "error");
		}
		json_object_object_add(job->reply, "removed", removed);
		cc_action_result_free(ar);
	}
	if (--job->pending == 0)
		cn_finish(job);
}

static int
cmp_node_name(const void *a, const void *b)
{
	return strcmp(((const struct cc_node *)a)->name,
	    ((const struct cc_node *)b)->name);
}

/* Is a CycleCloud node without a VM (so removing it loses nothing)? */
static bool
cn_node_off(const struct cc_node *cn)
{
	return (cn->status != NULL && strcmp(cn->status, "Off") == 0) ||
	    (cn->state != NULL && strcmp(cn->state, "Terminated") == 0);
}

static json_object *
strv_json(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/*
 * The cluster status is here: sort the nodes into existing, mismatched and
 * invalid, refuse or go on by policy, and send the create and remove calls.
 */
static void
cn_plan(struct cn_job *job, struct cc_cluster_status *st)
{
	struct ccs_nodearray *d;
	struct ccs_namemap *map = NULL;
	struct ccs_create_set *sets = NULL;
	struct cc_create_set *csets = NULL;
	struct cc_create_request creq;
	struct ccs_node_ref ref;
	struct cc_node key, *cn;
	char **want = NULL, **mism = NULL, **inval = NULL, **rm = NULL;
	char **names, *why = NULL, rid[UUID_STR_LEN];
	size_t nd = 0, nwant = 0, nmism = 0, ninval = 0, nrm = 0, nexist = 0;
	size_t nsets = 0, nn, i, j, k;
	json_object *jsets, *js;

	d = xcalloc(st->nnodearrays + 1, sizeof(*d));
	for (i = 0; i < st->nnodearrays; i++) {
		if (!st->nodearrays[i].autoscale)
			continue;
		if (nodes_desc_from_cc(&st->nodearrays[i], &d[nd],
		    &why) == -1) {
			cn_fail(job, "%s", why);
			free(why);
			goto out;
		}
		nd++;
	}
	if (nd == 0) {
		cn_fail(job, "cluster %s has no autoscale nodearray "
		    "(Configuration.slurm.autoscale)",
		    log_esc(ccsd.conf->cc.cluster));
		goto out;
	}
	if ((map = ccs_namemap_new(d, nd, &why)) == NULL) {
		cn_fail(job, "%s", why);
		free(why);
		goto out;
	}

	/* Existing nodes, sorted by name for the look-ups below. */
	qsort(st->nodes, st->nnodes, sizeof(*st->nodes), cmp_node_name);
	for (i = 0; i < st->nnodes; i++) {
		cn = &st->nodes[i];
		if (ccs_namemap_lookup(map, cn->name, &ref) == 0) {
			if (cn->machine_type != NULL &&
			    d[ref.array].machine_type != NULL &&
			    strcmp(cn->machine_type,
			    d[ref.array].machine_type) != 0) {
				mism = xreallocarray(mism, nmism + 1,
				    sizeof(*mism));
				mism[nmism++] = cn->name;
				if (cn_node_off(cn)) {
					rm = xreallocarray(rm, nrm + 1,
					    sizeof(*rm));
					rm[nrm++] = cn->name;
				}
			} else
				nexist++;
			continue;
		}
		/* Not a name of ours: report it if it is in one of our
		 * arrays; nodes of other arrays are none of our business. */
		for (j = 0; j < nd; j++) {
			if (cn->template_name != NULL &&
			    strcmp(cn->template_name, d[j].name) == 0)
				break;
		}
		if (j == nd)
			continue;
		inval = xreallocarray(inval, ninval + 1, sizeof(*inval));
		inval[ninval++] = cn->name;
		if (cn_node_off(cn)) {
			rm = xreallocarray(rm, nrm + 1, sizeof(*rm));
			rm[nrm++] = cn->name;
		}
	}

	/* The names the rules give that CycleCloud does not hold. */
	for (j = 0; j < nd; j++) {
		names = ccs_nodearray_names(&d[j], &nn);
		for (k = 0; k < nn; k++) {
			key.name = names[k];
			if (bsearch(&key, st->nodes, st->nnodes,
			    sizeof(*st->nodes), cmp_node_name) != NULL)
				continue;
			want = xreallocarray(want, nwant + 1, sizeof(*want));
			want[nwant++] = xstrdup(names[k]);
		}
		ccs_strv_free(names);
	}

	if (job->policy == CN_POLICY_ERROR && nexist + nmism > 0) {
		cn_fail(job, "%zu partition node(s) already exist in "
		    "CycleCloud; use --policy allow-existing to create only "
		    "the missing ones", nexist + nmism);
		goto out;
	}
	if (nwant > 0 && ccs_create_sets(map, want, nwant, &sets, &nsets,
	    &why) == -1) {
		cn_fail(job, "%s", why);
		free(why);
		goto out;
	}

	jsets = json_object_new_array();
	for (i = 0; i < nsets; i++) {
		js = json_object_new_object();
		json_object_object_add(js, "nodearray",
		    json_object_new_string(sets[i].nodearray));
		json_object_object_add(js, "machine_type",
		    json_object_new_string(sets[i].machine_type));
		json_object_object_add(js, "name_format",
		    json_object_new_string(sets[i].name_format));
		json_object_object_add(js, "name_offset",
		    json_object_new_int64(sets[i].name_offset));
		json_object_object_add(js, "count",
		    json_object_new_int64(sets[i].count));
		json_object_object_add(js, "placement_group_id",
		    sets[i].placement_group_id != NULL ?
		    json_object_new_string(sets[i].placement_group_id) : NULL);
		json_object_array_add(jsets, js);
	}
	json_object_object_add(job->reply, "cluster",
	    json_object_new_string(ccsd.conf->cc.cluster));
	json_object_object_add(job->reply, "dry_run",
	    json_object_new_boolean(job->dry_run));
	json_object_object_add(job->reply, "to_create",
	    json_object_new_int64((int64_t)nwant));
	json_object_object_add(job->reply, "created", json_object_new_int64(0));
	json_object_object_add(job->reply, "existing",
	    json_object_new_int64((int64_t)nexist));
	json_object_object_add(job->reply, "sets", jsets);
	json_object_object_add(job->reply, "mismatched", strv_json(mism, nmism));
	json_object_object_add(job->reply, "invalid", strv_json(inval, ninval));
	/* Dry run: what would be removed. */
	json_object_object_add(job->reply, job->dry_run ? "would_remove" :
	    "removed", strv_json(job->dry_run ? rm : NULL,
	    job->dry_run ? nrm : 0));
	json_object_object_add(job->reply, "operation", NULL);
	if (job->dry_run)
		goto out;

	if (nsets > 0) {
		csets = xcalloc(nsets, sizeof(*csets));
		for (i = 0; i < nsets; i++) {
			csets[i].nodearray = sets[i].nodearray;
			csets[i].count = sets[i].count;
			csets[i].machine_type = sets[i].machine_type;
			csets[i].name_format = sets[i].name_format;
			csets[i].name_offset = (int)sets[i].name_offset;
			csets[i].placement_group_id =
			    sets[i].placement_group_id;
			csets[i].fixed = 1;
			csets[i].start_automatically = 0;
		}
		uuid_v4(rid);
		memset(&creq, 0, sizeof(creq));
		creq.request_id = rid;
		creq.sets = csets;
		creq.nsets = nsets;
		if (cc_create(engine_cc(), &creq, cn_on_create, job,
		    &why) == -1) {
			cn_fail(job, "create: %s", why);
			free(why);
			goto out;
		}
		job->pending++;
		log_info("create-nodes: creating %zu node(s) in %zu set(s), "
		    "requestId %s", nwant, nsets, rid);
	}
	if (nrm > 0) {
		if (cc_node_action(engine_cc(), CC_ACTION_REMOVE, NULL,
		    (const char *const *)rm, nrm, cn_on_remove, job,
		    &why) == -1) {
			cn_fail(job, "remove: %s", why);
			free(why);
		} else {
			job->pending++;
			log_info("create-nodes: removing %zu terminated node(s) "
			    "the naming rules no longer match", nrm);
		}
	}
out:
	free(csets);
	ccs_create_sets_free(sets, nsets);
	for (i = 0; i < nwant; i++)
		free(want[i]);
	free(want);
	free(mism);
	free(inval);
	free(rm);
	ccs_namemap_free(map);
	ccs_nodearrays_free(d, nd);
	/* cc_create()/cc_node_action() copied their input: st may go. */
	cc_cluster_status_free(st);
	if (job->pending == 0)
		cn_finish(job);
}

static void
cn_on_status(const struct cc_result *res, void *data, void *arg)
{
	struct cn_job *job = arg;

	job->pending--;
	if (res->err != CC_OK) {
		cn_fail(job, "cannot read the cluster status (%s): %s",
		    cc_err_name(res->err),
		    res->message != NULL ? res->message : "?");
		cn_finish(job);
		return;
	}
	cn_plan(job, data);
}

void
req_create_nodes(struct peer *peer, json_object *payload)
{
	struct cn_job *job;
	json_object *v;
	const char *s;
	char *cause = NULL;
	enum cn_policy policy = CN_POLICY_ERROR;
	bool dry_run = false;

	if (json_object_object_get_ex(payload, "policy", &v)) {
		s = json_object_is_type(v, json_type_string) ?
		    json_object_get_string(v) : "";
		if (strcmp(s, "error") == 0)
			policy = CN_POLICY_ERROR;
		else if (strcmp(s, "allow-existing") == 0)
			policy = CN_POLICY_ALLOW_EXISTING;
		else {
			control_reply_error(peer, "create-nodes: policy must "
			    "be \"error\" or \"allow-existing\"");
			return;
		}
	}
	if (json_object_object_get_ex(payload, "dry_run", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			control_reply_error(peer, "create-nodes: dry_run must "
			    "be a boolean");
			return;
		}
		dry_run = json_object_get_boolean(v);
	}
	if (engine_cc() == NULL) {
		control_reply_error(peer, "create-nodes: no CycleCloud client "
		    "(see ccslurmctl status)");
		return;
	}
	if (cn_busy != NULL) {
		control_reply_error(peer, "create-nodes: another create-nodes "
		    "is in progress");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->peer = peer;
	job->policy = policy;
	job->dry_run = dry_run;
	job->reply = json_object_new_object();
	if (cc_get_status(engine_cc(), 1, cn_on_status, job, &cause) == -1) {
		control_reply_error(peer, "create-nodes: %s", cause);
		free(cause);
		cn_job_free(job);
		return;
	}
	job->pending = 1;
	cn_busy = job;
	control_defer(peer, cn_gone, job);
	log_info("create-nodes (policy %s%s) from %s",
	    policy == CN_POLICY_ERROR ? "error" : "allow-existing",
	    dry_run ? ", dry run" : "", peer->name);
}
