/*
 * nodes.c: the node table and THE node state machine.
 *
 * The table holds every node of every autoscale nodearray, named by the
 * naming rules (common/naming.c, the same code `generate` uses), whether or
 * not CycleCloud has a record for it yet.  Names map to nodes in O(1)
 * through a ccs_namemap.
 *
 * node_event() is the one place where a node changes state.  The engine
 * feeds it events and performs the side effects the new state asks for
 * (docs/architecture.md draws the machine):
 *
 *   powered_down --resume--> queued --sent--> requested --booting--> booting
 *   requested|booting --ready--> ready
 *   queued|requested|booting|ready --failed/give up--> failed
 *   booting|ready --gone (VM vanished)--> failed
 *   queued --suspend--> powered_down (nothing was sent) or stopping
 *   requested|booting|ready --suspend/resumefail--> stopping
 *   stopping --gone--> powered_down
 *   powered_down|failed|stopping --resume--> queued
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

struct nodetable nodes;

static const char *const state_names[NS_COUNT] = {
	"powered_down", "queued", "requested", "booting", "ready",
	"stopping", "failed",
};

static const char *const ev_names[] = {
	"resume", "suspend", "resumefail", "sent", "cloud-booting",
	"cloud-ready", "cloud-failed", "cloud-gone", "give-up",
};

const char *
node_state_name(enum node_state s)
{
	return (unsigned)s < NS_COUNT ? state_names[s] : "unknown";
}

const char *
node_ev_name(enum node_ev ev)
{
	return (unsigned)ev < nitems(ev_names) ? ev_names[ev] : "unknown";
}

/* Does the cloud hold a VM (or a failed one) for n that must be shut down? */
bool
node_vm_exists(const struct node *n)
{
	if (!n->in_cloud || n->cc_status == NULL)
		return false;
	return strcmp(n->cc_status, "Off") != 0 &&
	    strcmp(n->cc_status, "Deallocated") != 0;
}

static void
set_state(struct node *n, enum node_state to)
{
	nodes.count[n->state]--;
	nodes.count[to]++;
	n->state = to;
	n->since_ms = now_wall_ms();
}

static void
set_error(struct node *n, const char *detail)
{
	free(n->error);
	n->error = detail != NULL ? xstrdup(detail) : NULL;
}

bool
node_event(struct node *n, enum node_ev ev, const char *detail)
{
	enum node_state from = n->state, to = from;

	switch (ev) {
	case EV_RESUME:
		if (from == NS_POWERED_DOWN || from == NS_FAILED ||
		    from == NS_STOPPING)
			to = NS_QUEUED;
		break;
	case EV_SUSPEND:
	case EV_RESUMEFAIL:
		switch (from) {
		case NS_QUEUED:
			to = node_vm_exists(n) ? NS_STOPPING : NS_POWERED_DOWN;
			break;
		case NS_REQUESTED:
		case NS_BOOTING:
		case NS_READY:
			to = NS_STOPPING;
			break;
		default:
			/*
			 * failed: Slurm calls the SuspendProgram after our
			 * POWER_DOWN_FORCE; its VM is already being shut
			 * down.  powered_down, stopping: nothing to do.
			 */
			break;
		}
		if (ev == EV_RESUMEFAIL && to != from)
			set_error(n, detail != NULL ? detail :
			    "ResumeTimeout reached: slurmd did not register");
		break;
	case EV_SENT:
		if (from == NS_QUEUED)
			to = NS_REQUESTED;
		break;
	case EV_CLOUD_BOOTING:
		if (from == NS_REQUESTED)
			to = NS_BOOTING;
		break;
	case EV_CLOUD_READY:
		if (from == NS_REQUESTED || from == NS_BOOTING) {
			to = NS_READY;
			set_error(n, NULL);
		}
		break;
	case EV_CLOUD_FAILED:
	case EV_GIVE_UP:
		if (from == NS_QUEUED || from == NS_REQUESTED ||
		    from == NS_BOOTING || from == NS_READY) {
			to = NS_FAILED;
			set_error(n, detail != NULL ? detail :
			    "CycleCloud reported the node Failed");
		}
		break;
	case EV_CLOUD_GONE:
		if (from == NS_STOPPING)
			to = NS_POWERED_DOWN;
		else if (from == NS_BOOTING || from == NS_READY) {
			to = NS_FAILED;
			set_error(n, detail != NULL ? detail :
			    "the VM went away while Slurm wanted it");
		}
		break;
	}
	if (to == from) {
		log_debug("node %s: %s ignored in state %s", log_esc(n->name),
		    node_ev_name(ev), node_state_name(from));
		return false;
	}
	/* The engine logs transitions gathered by hostlist (one line for a
	 * thousand nodes); each node's own line is for debugging. */
	log_debug("node %s: %s -> %s (%s)%s%s", log_esc(n->name),
	    node_state_name(from), node_state_name(to), node_ev_name(ev),
	    to == NS_FAILED ? ": " : "",
	    to == NS_FAILED ? log_esc(n->error) : "");
	set_state(n, to);
	return true;
}

void
node_adopt(struct node *n)
{
	enum node_state to = NS_POWERED_DOWN;
	const char *st = n->cc_status;

	if (n->state != NS_POWERED_DOWN || st == NULL)
		return;
	if (strcmp(st, "Ready") == 0)
		to = NS_READY;
	else if (strcmp(st, "Acquiring") == 0 || strcmp(st, "Preparing") == 0)
		to = NS_BOOTING;
	else if (strcmp(st, "Terminating") == 0)
		to = NS_STOPPING;
	else if (strcmp(st, "Failed") == 0)
		to = NS_FAILED;
	if (to == NS_POWERED_DOWN)
		return;
	log_info("node %s: adopted as %s (CycleCloud status %s)",
	    log_esc(n->name), node_state_name(to), log_esc(st));
	if (to == NS_FAILED && n->error == NULL)
		set_error(n, "CycleCloud reported the node Failed");
	set_state(n, to);
}

static void
replace(char **dst, const char *src)
{
	if (*dst != NULL && src != NULL && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = src != NULL ? xstrdup(src) : NULL;
}

void
node_set_cloud(struct node *n, const struct cc_node *c)
{
	if (c == NULL) {
		n->in_cloud = false;
		replace(&n->cc_status, NULL);
		replace(&n->cc_message, NULL);
		replace(&n->cc_node_id, NULL);
		replace(&n->ip, NULL);
		return;
	}
	n->in_cloud = true;
	replace(&n->cc_status, c->status);
	replace(&n->cc_message, c->status_message);
	replace(&n->cc_node_id, c->node_id);
	replace(&n->ip, c->private_ip);
	replace(&n->shutdown_policy, c->shutdown_policy);
	n->fixed = c->fixed != 0;
	n->keep_alive = c->keep_alive != 0;
}

static void
node_clear(struct node *n)
{
	free(n->name);
	free(n->cc_status);
	free(n->cc_message);
	free(n->cc_node_id);
	free(n->ip);
	free(n->shutdown_policy);
	free(n->op_id);
	free(n->request_id);
	free(n->error);
	free(n->jobs);
	memset(n, 0, sizeof(*n));
}

/* Fill a naming description from a CycleCloud nodearray; -1: unusable. */
int
nodes_desc_from_cc(const struct cc_nodearray *a, struct ccs_nodearray *d,
    char **cause)
{
	const struct cc_bucket *b = NULL;
	size_t i;

	ccs_nodearray_init(d);
	for (i = 0; i < a->nbuckets; i++) {
		if (a->machine_type == NULL || (a->buckets[i].machine_type !=
		    NULL && strcmp(a->buckets[i].machine_type,
		    a->machine_type) == 0)) {
			b = &a->buckets[i];
			break;
		}
	}
	if (b == NULL && a->nbuckets > 0)
		b = &a->buckets[0];
	if (b == NULL) {
		xasprintf(cause, "nodearray %s: machine type %s has no "
		    "bucket in the cluster status", log_esc(a->name),
		    a->machine_type != NULL ? log_esc(a->machine_type) :
		    "(none)");
		return -1;
	}
	d->name = xstrdup(a->name);
	d->machine_type = xstrdup(a->machine_type != NULL ? a->machine_type :
	    b->machine_type != NULL ? b->machine_type : "unknown");
	d->vcpu = b->vm.vcpu_count > 0 ? (unsigned)b->vm.vcpu_count : 0;
	d->pcpu = b->vm.pcpu_count > 0 ? (unsigned)b->vm.pcpu_count : 0;
	d->gpu = b->vm.gpu_count > 0 ? (unsigned)b->vm.gpu_count : 0;
	d->memory_gb = b->vm.memory_gb;
	d->max_count = b->max_count > 0 ? (unsigned)b->max_count : 0;
	d->max_scaleset_size = a->max_scaleset_size > 0 ?
	    (unsigned)a->max_scaleset_size : CCS_DEFAULT_MAX_SCALESET_SIZE;
	d->hpc = a->hpc != 0;
	d->autoscale = a->autoscale != 0;
	d->partition = a->partition != NULL ? xstrdup(a->partition) : NULL;
	d->default_partition = a->default_partition != 0;
	d->dampen_memory = a->dampen_memory;
	d->use_pcpu = a->use_pcpu != 0;
	d->shutdown_policy = a->shutdown_policy != NULL &&
	    strcasecmp(a->shutdown_policy, "Deallocate") == 0 ?
	    CCS_SHUTDOWN_DEALLOCATE : CCS_SHUTDOWN_TERMINATE;
	if (ccs_nodearray_check(d, cause) == -1) {
		ccs_nodearray_clear(d);
		return -1;
	}
	return 0;
}

static bool
same_arrays(const struct ccs_nodearray *d, size_t n)
{
	size_t i;

	if (!nodes.loaded || n != nodes.narrays)
		return false;
	for (i = 0; i < n; i++) {
		const struct ccs_nodearray *o = &nodes.arrays[i].desc;
		if (strcmp(o->name, d[i].name) != 0 ||
		    strcmp(o->machine_type, d[i].machine_type) != 0 ||
		    o->max_count != d[i].max_count ||
		    o->max_scaleset_size != d[i].max_scaleset_size ||
		    o->hpc != d[i].hpc)
			return false;
	}
	return true;
}

int
nodes_load(const struct cc_cluster_status *st, char **cause)
{
	struct ccs_nodearray *d;
	struct nodetable nt;
	struct node *n, *old;
	struct ccs_namemap *map;
	size_t nd = 0, i, j, k, total = 0;
	char **names, *why;

	d = xcalloc(st->nnodearrays + 1, sizeof(*d));
	for (i = 0; i < st->nnodearrays; i++) {
		if (!st->nodearrays[i].autoscale)
			continue;
		if (nodes_desc_from_cc(&st->nodearrays[i], &d[nd], &why) ==
		    -1) {
			log_warnx("%s: its nodes are not managed", why);
			free(why);
			continue;
		}
		nd++;
	}
	if (same_arrays(d, nd)) {
		/* Keep the table; only the descriptions' details may differ. */
		for (i = 0; i < nd; i++) {
			ccs_nodearray_clear(&nodes.arrays[i].desc);
			nodes.arrays[i].desc = d[i];
		}
		free(d);
		return 0;
	}
	if ((map = ccs_namemap_new(d, nd, cause)) == NULL) {
		for (i = 0; i < nd; i++)
			ccs_nodearray_clear(&d[i]);
		free(d);
		return -1;
	}
	memset(&nt, 0, sizeof(nt));
	nt.map = map;
	nt.narrays = nd;
	nt.arrays = xcalloc(nd + 1, sizeof(*nt.arrays));
	for (i = 0; i < nd; i++) {
		nt.arrays[i].desc = d[i];
		nt.arrays[i].first = total;
		nt.arrays[i].n = d[i].max_count;
		total += d[i].max_count;
	}
	free(d);
	nt.v = xcalloc(total + 1, sizeof(*nt.v));
	nt.n = total;
	for (i = 0; i < nd; i++) {
		struct nodearray *na = &nt.arrays[i];
		size_t cnt;

		names = ccs_nodearray_names(&na->desc, &cnt);
		for (j = 0; j < cnt && j < na->n; j++) {
			struct ccs_node_ref ref;

			n = &nt.v[na->first + j];
			n->na = na;
			/* Hand the string over from the vector. */
			n->name = names[j];
			names[j] = NULL;
			if (ccs_namemap_lookup(map, n->name, &ref) == 0) {
				n->pg = ref.pg;
				n->index = ref.index;
			}
			n->state = NS_POWERED_DOWN;
			n->since_ms = now_wall_ms();
			nt.count[NS_POWERED_DOWN]++;
		}
		for (k = j; k < cnt; k++)
			free(names[k]);
		free(names);
	}
	/* Carry over what we knew about names that remain. */
	for (i = 0; i < nodes.n; i++) {
		old = &nodes.v[i];
		struct ccs_node_ref ref;
		if (ccs_namemap_lookup(map, old->name, &ref) == -1) {
			if (old->state != NS_POWERED_DOWN)
				log_warnx("node %s (%s) left the cluster's "
				    "autoscale nodearrays", log_esc(old->name),
				    node_state_name(old->state));
			continue;
		}
		n = &nt.v[nt.arrays[ref.array].first + ref.ordinal];
		nt.count[n->state]--;
		free(n->name);
		struct nodearray *na = n->na;
		*n = *old;
		n->na = na;
		nt.count[n->state]++;
		memset(old, 0, sizeof(*old));
	}
	nodes_free();
	nodes = nt;
	nodes.loaded = true;
	log_info("node table: %zu nodes in %zu autoscale nodearrays",
	    nodes.n, nodes.narrays);
	return 0;
}

void
nodes_free(void)
{
	size_t i;

	for (i = 0; i < nodes.n; i++)
		node_clear(&nodes.v[i]);
	for (i = 0; i < nodes.narrays; i++) {
		ccs_nodearray_clear(&nodes.arrays[i].desc);
		free(nodes.arrays[i].last_failure);
	}
	free(nodes.v);
	free(nodes.arrays);
	ccs_namemap_free(nodes.map);
	memset(&nodes, 0, sizeof(nodes));
}

struct node *
node_find(const char *name)
{
	struct ccs_node_ref ref;

	if (nodes.map == NULL || ccs_namemap_lookup(nodes.map, name, &ref) ==
	    -1)
		return NULL;
	return &nodes.v[nodes.arrays[ref.array].first + ref.ordinal];
}

static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *
node_to_json(const struct node *n)
{
	json_object *o = json_object_new_object(), *jobs;
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "nodearray",
	    json_object_new_string(n->na->desc.name));
	json_object_object_add(o, "state",
	    json_object_new_string(node_state_name(n->state)));
	json_object_object_add(o, "cc_status", str_or_null(n->cc_status));
	json_object_object_add(o, "ip", str_or_null(n->ip));
	json_object_object_add(o, "since",
	    json_object_new_int64((int64_t)(n->since_ms / 1000)));
	json_object_object_add(o, "error", str_or_null(n->error));
	jobs = json_object_new_array_ext((int)n->njobs);
	for (i = 0; i < n->njobs; i++)
		json_object_array_add(jobs, json_object_new_int64(n->jobs[i]));
	json_object_object_add(o, "jobs", jobs);
	json_object_object_add(o, "operation", str_or_null(n->op_id));
	if (n->na->desc.hpc)
		json_object_object_add(o, "placement_group",
		    json_object_new_int((int)n->pg));
	return o;
}

/* A string literal, its length counted by the compiler. */
#define JB_LIT(b, lit) proto_jbuf_add((b), (lit), sizeof(lit) - 1)

/*
 * node_to_json() without the tree, for `nodes --json` at scale: the same
 * keys in the same order, the same text as json-c prints (test_nodes_json
 * holds the two together).
 */
void
node_json_write(const struct node *n, struct proto_jbuf *b)
{
	size_t i;

	JB_LIT(b, "{\"name\":");
	proto_jbuf_string(b, n->name);
	JB_LIT(b, ",\"nodearray\":");
	proto_jbuf_string(b, n->na->desc.name);
	JB_LIT(b, ",\"state\":");
	proto_jbuf_string(b, node_state_name(n->state));
	JB_LIT(b, ",\"cc_status\":");
	proto_jbuf_string(b, n->cc_status);
	JB_LIT(b, ",\"ip\":");
	proto_jbuf_string(b, n->ip);
	JB_LIT(b, ",\"since\":");
	proto_jbuf_int(b, (int64_t)(n->since_ms / 1000));
	JB_LIT(b, ",\"error\":");
	proto_jbuf_string(b, n->error);
	JB_LIT(b, ",\"jobs\":[");
	for (i = 0; i < n->njobs; i++) {
		if (i > 0)
			JB_LIT(b, ",");
		proto_jbuf_int(b, n->jobs[i]);
	}
	JB_LIT(b, "],\"operation\":");
	proto_jbuf_string(b, n->op_id);
	if (n->na->desc.hpc) {
		JB_LIT(b, ",\"placement_group\":");
		proto_jbuf_int(b, (int)n->pg);
	}
	JB_LIT(b, "}");
}
