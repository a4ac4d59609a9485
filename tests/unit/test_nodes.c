/*
 * test_nodes.c: daemon/nodes.c, the node table and THE node state machine.
 *
 * The table is built by the real nodes_load() from a hand-made cluster
 * status: two autoscale nodearrays (HPC "hpc", 6 nodes in placement groups
 * of 4; HTC "htc", 5 nodes) and one that is not autoscale ("login").  Every
 * (state, event) pair is then driven through node_event() and checked
 * against the transition table below, written from docs/architecture.md
 * and the comment at the top of nodes.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ccslurmd.h"
#include "log.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

#define HPC_MAX		6	/* hpc-pg0-1..4, hpc-pg1-1..2 */
#define HPC_SSS		4	/* MaxScalesetSize */
#define HTC_MAX		5	/* htc-1..5 */

/* ---- A hand-made cluster status ---------------------------------------- */

static void
array_init(struct cc_nodearray *a, const char *name, const char *mt,
    int max_count, int hpc, int autoscale)
{
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->max_count = max_count;
	a->machine_type = xstrdup(mt);
	a->autoscale = autoscale;
	a->hpc = hpc;
	a->dampen_memory = 5;
	a->use_pcpu = 1;
	a->max_scaleset_size = HPC_SSS;
	a->shutdown_policy = xstrdup("Terminate");
	a->nbuckets = 1;
	a->buckets = xcalloc(1, sizeof(*a->buckets));
	a->buckets[0].machine_type = xstrdup(mt);
	a->buckets[0].max_count = max_count;
	a->buckets[0].valid = 1;
	a->buckets[0].last_capacity_failure = -1;
	a->buckets[0].vm.vcpu_count = 4;
	a->buckets[0].vm.pcpu_count = 2;
	a->buckets[0].vm.memory_gb = 16;
}

static void
array_clear(struct cc_nodearray *a)
{
	free(a->name);
	free(a->machine_type);
	free(a->shutdown_policy);
	free(a->buckets[0].machine_type);
	free(a->buckets);
}

/* Load the table: hpc (hpc_max nodes), htc, and the non-autoscale login. */
static void
load(int hpc_max)
{
	struct cc_nodearray arrays[3];
	struct cc_cluster_status st;
	char *cause = NULL;
	size_t i;

	array_init(&arrays[0], "hpc", "Standard_HB120rs_v3", hpc_max, 1, 1);
	array_init(&arrays[1], "htc", "Standard_F4s_v2", HTC_MAX, 0, 1);
	array_init(&arrays[2], "login", "Standard_D4s_v3", 3, 0, 0);
	memset(&st, 0, sizeof(st));
	st.nodearrays = arrays;
	st.nnodearrays = 3;
	ck_assert_msg(nodes_load(&st, &cause) == 0, "nodes_load: %s", cause);
	for (i = 0; i < 3; i++)
		array_clear(&arrays[i]);
}

static void
setup(void)
{
	log_init("test_nodes", LOG_LVL_ERROR, LOG_TO_STDERR);
	load(HPC_MAX);
}

static void
teardown(void)
{
	nodes_free();
}

/* Tell n what the cloud says: status and IP (NULL: absent). */
static void
cloud(struct node *n, const char *status, const char *ip)
{
	struct cc_node c;

	memset(&c, 0, sizeof(c));
	c.name = n->name;
	c.status = status != NULL ? xstrdup(status) : NULL;
	c.private_ip = ip != NULL ? xstrdup(ip) : NULL;
	node_set_cloud(n, &c);
	free(c.status);
	free(c.private_ip);
}

/* The counts must always add up, and agree with the nodes' states. */
static void
check_counts(void)
{
	size_t want[NS_COUNT] = { 0 }, i, sum = 0;

	for (i = 0; i < nodes.n; i++) {
		ck_assert_uint_lt(nodes.v[i].state, NS_COUNT);
		want[nodes.v[i].state]++;
	}
	for (i = 0; i < NS_COUNT; i++) {
		ck_assert_msg(nodes.count[i] == want[i],
		    "count[%s] is %zu, %zu nodes are in it",
		    node_state_name((enum node_state)i), nodes.count[i],
		    want[i]);
		sum += nodes.count[i];
	}
	ck_assert_uint_eq(sum, nodes.n);
}

/* ---- The transition table ---------------------------------------------- */

#define NONE	NS_COUNT	/* the event is ignored in that state */
#define PD	NS_POWERED_DOWN
#define QU	NS_QUEUED
#define RQ	NS_REQUESTED
#define BO	NS_BOOTING
#define RD	NS_READY
#define ST	NS_STOPPING
#define FA	NS_FAILED

#define NEVENTS	9
static const enum node_ev events[NEVENTS] = {
	EV_RESUME, EV_SUSPEND, EV_RESUMEFAIL, EV_SENT, EV_CLOUD_BOOTING,
	EV_CLOUD_READY, EV_CLOUD_FAILED, EV_CLOUD_GONE, EV_GIVE_UP,
};

/*
 * Where each event takes a node with no VM in the cloud (in_cloud false);
 * NO: ignored.  The one cell that depends on the cloud, queued +
 * suspend/resumefail, is powered_down here ("nothing was sent") and
 * stopping when a VM exists (queued_suspend_with_vm below).
 */
#define NO	NONE
static const enum node_state table[NS_COUNT][NEVENTS] = {
	/*      resume susp rfail sent boot ready failed gone giveup */
	[PD] = { QU,   NO,  NO,   NO,  NO,  NO,   NO,    NO,  NO },
	[QU] = { NO,   PD,  PD,   RQ,  NO,  NO,   FA,    NO,  FA },
	[RQ] = { NO,   ST,  ST,   NO,  BO,  RD,   FA,    NO,  FA },
	[BO] = { NO,   ST,  ST,   NO,  NO,  RD,   FA,    FA,  FA },
	[RD] = { NO,   ST,  ST,   NO,  NO,  NO,   FA,    FA,  FA },
	[ST] = { QU,   NO,  NO,   NO,  NO,  NO,   NO,    PD,  NO },
	[FA] = { QU,   NO,  NO,   NO,  NO,  NO,   NO,    NO,  NO },
};

/* Events that must leave an error text on the node when they move it. */
static bool
sets_error(enum node_ev ev, enum node_state to)
{
	return to == FA || ev == EV_RESUMEFAIL;
}

/* The shortest real path from powered_down to s (every step must move). */
static void
drive_to(struct node *n, enum node_state s)
{
	static const enum node_ev path[NS_COUNT][4] = {
		[PD] = { 0 },
		[QU] = { EV_RESUME },
		[RQ] = { EV_RESUME, EV_SENT },
		[BO] = { EV_RESUME, EV_SENT, EV_CLOUD_BOOTING },
		[RD] = { EV_RESUME, EV_SENT, EV_CLOUD_READY },
		[ST] = { EV_RESUME, EV_SENT, EV_CLOUD_READY, EV_SUSPEND },
		[FA] = { EV_RESUME, EV_GIVE_UP },
	};
	static const size_t len[NS_COUNT] = { 0, 1, 2, 3, 3, 4, 2 };
	size_t i;

	ck_assert_int_eq(n->state, PD);
	for (i = 0; i < len[s]; i++)
		ck_assert_msg(node_event(n, path[s][i], "path") == true,
		    "%s refused on the way to %s", node_ev_name(path[s][i]),
		    node_state_name(s));
	ck_assert_int_eq(n->state, s);
}

/* Apply ev to a node in state from and check everything table says. */
static void
check_cell(struct node *n, enum node_state from, size_t e,
    enum node_state want)
{
	enum node_ev ev = events[e];
	uint64_t since, before;
	size_t counts[NS_COUNT];
	char *error_before;
	bool moved;

	drive_to(n, from);
	check_counts();
	/* Make "since" observably old, and leave an error to watch. */
	n->since_ms = 1000;
	free(n->error);
	n->error = xstrdup("earlier error");
	memcpy(counts, nodes.count, sizeof(counts));
	error_before = xstrdup(n->error);
	since = n->since_ms;

	before = now_wall_ms();
	moved = node_event(n, ev, "detail text");
	if (want == NONE) {
		ck_assert_msg(!moved, "%s in %s: moved to %s, not ignored",
		    node_ev_name(ev), node_state_name(from),
		    node_state_name(n->state));
		ck_assert_int_eq(n->state, from);
		ck_assert_uint_eq(n->since_ms, since);
		ck_assert_str_eq(n->error, error_before);
		ck_assert_mem_eq(counts, nodes.count, sizeof(counts));
	} else {
		ck_assert_msg(moved, "%s in %s: ignored, should go to %s",
		    node_ev_name(ev), node_state_name(from),
		    node_state_name(want));
		ck_assert_msg(n->state == want, "%s in %s: went to %s, not %s",
		    node_ev_name(ev), node_state_name(from),
		    node_state_name(n->state), node_state_name(want));
		ck_assert_uint_ge(n->since_ms, before);
		ck_assert_uint_eq(nodes.count[from], counts[from] - 1);
		ck_assert_uint_eq(nodes.count[want], counts[want] + 1);
		if (sets_error(ev, want)) {
			ck_assert_ptr_nonnull(n->error);
			ck_assert_str_eq(n->error, "detail text");
		} else if (ev == EV_CLOUD_READY)
			ck_assert_ptr_null(n->error);
		else
			/* Only failures write and only ready clears it. */
			ck_assert_str_eq(n->error, error_before);
	}
	check_counts();
	free(error_before);
}

START_TEST(every_transition)
{
	char name[32];
	size_t s, e;

	/*
	 * One node per cell would need 63; reloading the table between cells
	 * gives each a fresh powered_down node with the same name.
	 */
	for (s = 0; s < NS_COUNT; s++) {
		for (e = 0; e < NEVENTS; e++) {
			struct node *n;

			nodes_free();
			load(HPC_MAX);
			snprintf(name, sizeof(name), "%s",
			    e % 2 ? "htc-3" : "hpc-pg1-2");
			ck_assert_ptr_nonnull(n = node_find(name));
			ck_assert(!n->in_cloud);
			check_cell(n, (enum node_state)s, e, table[s][e]);
		}
	}
}
END_TEST

/* queued + suspend/resumefail when a VM exists: it must be shut down. */
START_TEST(queued_suspend_with_vm)
{
	static const char *const up[] = { "Ready", "Failed", "Terminating",
	    "Acquiring" };
	static const char *const down[] = { "Off", "Deallocated" };
	struct node *n;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		enum node_ev ev = k ? EV_RESUMEFAIL : EV_SUSPEND;

		for (i = 0; i < nitems(up); i++) {
			ck_assert_ptr_nonnull(n = node_find("htc-1"));
			cloud(n, up[i], NULL);
			ck_assert(node_vm_exists(n));
			ck_assert(node_event(n, EV_RESUME, NULL));
			ck_assert(node_event(n, ev, "why"));
			ck_assert_msg(n->state == ST, "%s with VM %s: %s",
			    node_ev_name(ev), up[i], node_state_name(n->state));
			ck_assert(node_event(n, EV_CLOUD_GONE, NULL));
			ck_assert_int_eq(n->state, PD);
			check_counts();
		}
		for (i = 0; i < nitems(down); i++) {
			ck_assert_ptr_nonnull(n = node_find("htc-2"));
			cloud(n, down[i], NULL);
			ck_assert(!node_vm_exists(n));
			ck_assert(node_event(n, EV_RESUME, NULL));
			ck_assert(node_event(n, ev, NULL));
			ck_assert_int_eq(n->state, PD);
			check_counts();
		}
	}
}
END_TEST

/* The default texts when the caller gives no detail. */
START_TEST(default_errors)
{
	struct node *n;

	ck_assert_ptr_nonnull(n = node_find("hpc-pg0-1"));
	drive_to(n, RQ);
	ck_assert(node_event(n, EV_CLOUD_FAILED, NULL));
	ck_assert_ptr_nonnull(n->error);
	ck_assert_ptr_nonnull(strstr(n->error, "Failed"));
	/* A resume of a failed node queues it; ready clears the error. */
	ck_assert(node_event(n, EV_RESUME, NULL));
	ck_assert(node_event(n, EV_SENT, NULL));
	ck_assert(node_event(n, EV_CLOUD_READY, "10.0.0.5"));
	ck_assert_ptr_null(n->error);

	ck_assert(node_event(n, EV_CLOUD_GONE, NULL));
	ck_assert_int_eq(n->state, FA);
	ck_assert_ptr_nonnull(n->error);
	ck_assert_ptr_nonnull(strstr(n->error, "VM went away"));

	ck_assert_ptr_nonnull(n = node_find("hpc-pg0-2"));
	drive_to(n, BO);
	ck_assert(node_event(n, EV_RESUMEFAIL, NULL));
	ck_assert_int_eq(n->state, ST);
	ck_assert_ptr_nonnull(n->error);
	ck_assert_ptr_nonnull(strstr(n->error, "ResumeTimeout"));
	check_counts();
}
END_TEST

START_TEST(names)
{
	static const char *const want[] = { "hpc-pg0-1", "hpc-pg0-2",
	    "hpc-pg0-3", "hpc-pg0-4", "hpc-pg1-1", "hpc-pg1-2", "htc-1",
	    "htc-2", "htc-3", "htc-4", "htc-5" };
	struct node *n;
	size_t i;

	ck_assert(nodes.loaded);
	ck_assert_uint_eq(nodes.narrays, 2);	/* login is not autoscale */
	ck_assert_uint_eq(nodes.n, nitems(want));
	ck_assert_uint_eq(nodes.count[PD], nitems(want));
	ck_assert_str_eq(nodes.arrays[0].desc.name, "hpc");
	ck_assert_uint_eq(nodes.arrays[0].first, 0);
	ck_assert_uint_eq(nodes.arrays[0].n, HPC_MAX);
	ck_assert_str_eq(nodes.arrays[1].desc.name, "htc");
	ck_assert_uint_eq(nodes.arrays[1].first, HPC_MAX);
	ck_assert_uint_eq(nodes.arrays[1].n, HTC_MAX);
	for (i = 0; i < nitems(want); i++) {
		n = node_find(want[i]);
		ck_assert_msg(n != NULL, "%s not found", want[i]);
		ck_assert_ptr_eq(n, &nodes.v[i]);
		ck_assert_str_eq(n->name, want[i]);
		ck_assert_ptr_eq(n->na, &nodes.arrays[i < HPC_MAX ? 0 : 1]);
		ck_assert_int_eq(n->state, PD);
		ck_assert(!n->in_cloud);
		ck_assert_ptr_null(n->error);
	}
	ck_assert_uint_eq(node_find("hpc-pg1-2")->pg, 1);
	ck_assert_uint_eq(node_find("hpc-pg1-2")->index, 2);
	ck_assert_uint_eq(node_find("hpc-pg0-4")->pg, 0);
	ck_assert_uint_eq(node_find("hpc-pg0-4")->index, 4);
	ck_assert_uint_eq(node_find("htc-5")->index, 5);
}
END_TEST

START_TEST(names_refused)
{
	static const char *const bad[] = { "", "htc", "htc-", "htc-0",
	    "htc-6", "htc-01", "htc-1x", "htc-1 ", " htc-1", "HTC-1",
	    "htc--1", "htc-+1", "htc-4294967297", "hpc-1", "hpc-pg0-0",
	    "hpc-pg0-5", "hpc-pg1-3", "hpc-pg2-1", "hpc-pg00-1", "hpc-pg-1",
	    "login-1", "login-0", "other-1", "htc-1\n", "htc-1,htc-2",
	    "htc-[1-2]", "hpc-pg0-1-1", "htc-1.example.com" };
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(node_find(bad[i]) == NULL, "\"%s\" found",
		    bad[i]);
	/* A table not loaded finds nothing. */
	nodes_free();
	ck_assert_ptr_null(node_find("htc-1"));
}
END_TEST

START_TEST(adopt)
{
	static const struct {
		const char *status;
		enum node_state want;
	} cases[] = {
		{ "Ready", RD }, { "Acquiring", BO }, { "Preparing", BO },
		{ "Terminating", ST }, { "Failed", FA }, { "Off", PD },
		{ "Deallocated", PD }, { "Unknown", PD }, { NULL, PD },
	};
	struct node *n;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		n = &nodes.v[i];
		if (cases[i].status != NULL)
			cloud(n, cases[i].status, "10.1.0.7");
		node_adopt(n);
		ck_assert_msg(n->state == cases[i].want, "%s adopted as %s",
		    cases[i].status ? cases[i].status : "(absent)",
		    node_state_name(n->state));
		if (cases[i].want == FA)
			ck_assert_ptr_nonnull(n->error);
		else
			ck_assert_ptr_null(n->error);
		check_counts();
	}
	/* Only a powered_down node is adopted: a journal spoke for others. */
	n = &nodes.v[0];
	ck_assert_int_eq(n->state, RD);
	cloud(n, "Failed", NULL);
	node_adopt(n);
	ck_assert_int_eq(n->state, RD);
	check_counts();
}
END_TEST

START_TEST(set_cloud)
{
	struct cc_node c;
	struct node *n = node_find("htc-2");

	memset(&c, 0, sizeof(c));
	c.name = n->name;
	c.status = xstrdup("Ready");
	c.status_message = xstrdup("fine");
	c.node_id = xstrdup("id-42");
	c.private_ip = xstrdup("10.1.0.8");
	c.shutdown_policy = xstrdup("Deallocate");
	c.fixed = 1;
	c.keep_alive = 1;
	node_set_cloud(n, &c);
	free(c.status);
	free(c.status_message);
	free(c.node_id);
	free(c.private_ip);
	free(c.shutdown_policy);
	ck_assert(n->in_cloud);
	ck_assert_str_eq(n->cc_status, "Ready");
	ck_assert_str_eq(n->cc_message, "fine");
	ck_assert_str_eq(n->cc_node_id, "id-42");
	ck_assert_str_eq(n->ip, "10.1.0.8");
	ck_assert_str_eq(n->shutdown_policy, "Deallocate");
	ck_assert(n->fixed && n->keep_alive);
	ck_assert(node_vm_exists(n));
	/* No transition from what the cloud says alone. */
	ck_assert_int_eq(n->state, PD);
	node_set_cloud(n, NULL);
	ck_assert(!n->in_cloud);
	ck_assert_ptr_null(n->cc_status);
	ck_assert_ptr_null(n->ip);
	ck_assert(!node_vm_exists(n));
}
END_TEST

/* A bigger maxCount: the names that remain keep what the table knew. */
START_TEST(reload_keeps_states)
{
	struct node *n;
	uint32_t *jobs;

	n = node_find("hpc-pg0-3");
	drive_to(n, RD);
	cloud(n, "Ready", "10.1.0.9");
	jobs = xcalloc(2, sizeof(*jobs));
	jobs[0] = 17;
	jobs[1] = 18;
	n->jobs = jobs;
	n->njobs = 2;
	drive_to(node_find("htc-4"), FA);
	drive_to(node_find("hpc-pg1-2"), ST);

	load(HPC_MAX + 4);	/* hpc-pg1-3, -4, hpc-pg2-1, -2 appear */
	ck_assert_uint_eq(nodes.n, HPC_MAX + 4 + HTC_MAX);
	ck_assert_uint_eq(nodes.arrays[0].n, HPC_MAX + 4);
	ck_assert_uint_eq(nodes.arrays[1].first, HPC_MAX + 4);
	check_counts();
	ck_assert_uint_eq(nodes.count[RD], 1);
	ck_assert_uint_eq(nodes.count[FA], 1);
	ck_assert_uint_eq(nodes.count[ST], 1);
	n = node_find("hpc-pg0-3");
	ck_assert_int_eq(n->state, RD);
	ck_assert_str_eq(n->ip, "10.1.0.9");
	ck_assert_uint_eq(n->njobs, 2);
	ck_assert_uint_eq(n->jobs[1], 18);
	ck_assert_ptr_eq(n->na, &nodes.arrays[0]);
	n = node_find("htc-4");
	ck_assert_int_eq(n->state, FA);
	ck_assert_str_eq(n->error, "path");
	ck_assert_ptr_eq(n->na, &nodes.arrays[1]);
	ck_assert_int_eq(node_find("hpc-pg1-2")->state, ST);
	ck_assert_ptr_nonnull(n = node_find("hpc-pg2-2"));
	ck_assert_int_eq(n->state, PD);
	ck_assert_uint_eq(n->pg, 2);

	/* Smaller again: the names that go are dropped, the rest kept. */
	load(HPC_MAX - 2);
	ck_assert_ptr_null(node_find("hpc-pg1-2"));
	ck_assert_int_eq(node_find("hpc-pg0-3")->state, RD);
	ck_assert_int_eq(node_find("htc-4")->state, FA);
	ck_assert_uint_eq(nodes.count[ST], 0);
	check_counts();

	/* The same arrays again keep the very same table. */
	n = node_find("hpc-pg0-3");
	load(HPC_MAX - 2);
	ck_assert_ptr_eq(node_find("hpc-pg0-3"), n);
	ck_assert_int_eq(n->state, RD);
	check_counts();
}
END_TEST

static void
check_key(json_object *o, const char *key, json_type type)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s",
	    key);
	ck_assert_msg(json_object_is_type(v, type), "%s is %s, not %s", key,
	    json_type_to_name(json_object_get_type(v)),
	    json_type_to_name(type));
}

/*
 * interfaces.md: name, nodearray, state, cc_status, ip (null until known),
 * since (Unix seconds), error (null or text), jobs (array); plus the
 * documented additions: operation, and placement_group for HPC nodes.
 */
static void
check_keys(json_object *o, bool hpc)
{
	static const char *const keys[] = { "name", "nodearray", "state",
	    "cc_status", "ip", "since", "error", "jobs", "operation",
	    "placement_group" };
	size_t i, want = nitems(keys) - (hpc ? 0 : 1);

	json_object_object_foreach(o, k, v) {
		bool known = false;

		(void)v;
		for (i = 0; i < nitems(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		ck_assert_msg(known, "unexpected key %s", k);
	}
	ck_assert_uint_eq((size_t)json_object_object_length(o), want);
}

START_TEST(to_json)
{
	json_object *o, *v;
	struct node *n;
	uint64_t t0 = now_wall_ms() / 1000;
	int64_t since;

	n = node_find("htc-3");
	o = node_to_json(n);
	check_keys(o, false);
	check_key(o, "name", json_type_string);
	check_key(o, "nodearray", json_type_string);
	check_key(o, "state", json_type_string);
	check_key(o, "cc_status", json_type_null);
	check_key(o, "ip", json_type_null);
	check_key(o, "since", json_type_int);
	check_key(o, "error", json_type_null);
	check_key(o, "jobs", json_type_array);
	json_object_object_get_ex(o, "name", &v);
	ck_assert_str_eq(json_object_get_string(v), "htc-3");
	json_object_object_get_ex(o, "nodearray", &v);
	ck_assert_str_eq(json_object_get_string(v), "htc");
	json_object_object_get_ex(o, "state", &v);
	ck_assert_str_eq(json_object_get_string(v), "powered_down");
	json_object_object_get_ex(o, "jobs", &v);
	ck_assert_uint_eq(json_object_array_length(v), 0);
	json_object_put(o);

	/* Failed, with an IP, jobs, a cloud status, and an HPC node. */
	n = node_find("hpc-pg1-1");
	drive_to(n, RQ);
	cloud(n, "Failed", "10.2.0.4");
	ck_assert(node_event(n, EV_CLOUD_FAILED, "CycleCloud: no capacity"));
	n->jobs = xcalloc(3, sizeof(*n->jobs));
	n->jobs[0] = 7;
	n->jobs[1] = 4294967295u;
	n->jobs[2] = 9;
	n->njobs = 3;
	o = node_to_json(n);
	check_keys(o, true);
	check_key(o, "ip", json_type_string);
	check_key(o, "error", json_type_string);
	check_key(o, "cc_status", json_type_string);
	check_key(o, "placement_group", json_type_int);
	json_object_object_get_ex(o, "ip", &v);
	ck_assert_str_eq(json_object_get_string(v), "10.2.0.4");
	json_object_object_get_ex(o, "error", &v);
	ck_assert_str_eq(json_object_get_string(v), "CycleCloud: no capacity");
	json_object_object_get_ex(o, "state", &v);
	ck_assert_str_eq(json_object_get_string(v), "failed");
	json_object_object_get_ex(o, "placement_group", &v);
	ck_assert_int_eq(json_object_get_int(v), 1);
	json_object_object_get_ex(o, "since", &v);
	since = json_object_get_int64(v);
	/* Unix seconds, not milliseconds. */
	ck_assert_int_ge(since, (int64_t)t0);
	ck_assert_int_le(since, (int64_t)(now_wall_ms() / 1000));
	json_object_object_get_ex(o, "jobs", &v);
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert(json_object_is_type(json_object_array_get_idx(v, 0),
	    json_type_int));
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(v,
	    1)), 4294967295LL);
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(v,
	    2)), 9);
	json_object_put(o);
}
END_TEST

/* The names of states and events are public (interfaces.md, logs). */
START_TEST(state_names)
{
	static const char *const want[NS_COUNT] = { "powered_down", "queued",
	    "requested", "booting", "ready", "stopping", "failed" };
	size_t i;

	for (i = 0; i < NS_COUNT; i++)
		ck_assert_str_eq(node_state_name((enum node_state)i), want[i]);
	ck_assert_str_eq(node_state_name(NS_COUNT), "unknown");
	ck_assert_str_eq(node_state_name((enum node_state)-1), "unknown");
	for (i = 0; i < NEVENTS; i++)
		ck_assert_str_ne(node_ev_name(events[i]), "unknown");
	ck_assert_str_eq(node_ev_name((enum node_ev)NEVENTS), "unknown");
}
END_TEST

/* A cluster with no usable autoscale array: an empty table, no error. */
START_TEST(unusable_arrays)
{
	struct cc_nodearray a[2];
	struct cc_cluster_status st;
	char *cause = NULL;

	nodes_free();
	array_init(&a[0], "nobucket", "Standard_F4s_v2", 3, 0, 1);
	a[0].nbuckets = 0;			/* no bucket: skipped */
	array_init(&a[1], "bad name!", "Standard_F4s_v2", 3, 0, 1);
	memset(&st, 0, sizeof(st));
	st.nodearrays = a;
	st.nnodearrays = 2;
	ck_assert_int_eq(nodes_load(&st, &cause), 0);
	ck_assert_uint_eq(nodes.n, 0);
	ck_assert_uint_eq(nodes.narrays, 0);
	ck_assert_ptr_null(node_find("nobucket-1"));
	a[0].nbuckets = 1;
	array_clear(&a[0]);
	array_clear(&a[1]);
}
END_TEST

/* Two arrays whose names collide: refused with a reason, table kept. */
START_TEST(colliding_arrays)
{
	struct cc_nodearray a[2];
	struct cc_cluster_status st;
	char *cause = NULL;
	struct node *n = node_find("htc-1");

	drive_to(n, QU);
	array_init(&a[0], "x", "Standard_F4s_v2", 3, 1, 1);
	array_init(&a[1], "x-pg0", "Standard_F4s_v2", 3, 0, 1);
	memset(&st, 0, sizeof(st));
	st.nodearrays = a;
	st.nnodearrays = 2;
	ck_assert_int_eq(nodes_load(&st, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_null(strchr(cause, '\n'));
	free(cause);
	/* Nothing changed. */
	ck_assert_ptr_eq(node_find("htc-1"), n);
	ck_assert_int_eq(n->state, QU);
	ck_assert_uint_eq(nodes.n, HPC_MAX + HTC_MAX);
	check_counts();
	array_clear(&a[0]);
	array_clear(&a[1]);
}
END_TEST

static Suite *
nodes_suite(void)
{
	Suite *s = suite_create("nodes");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_transition);
	tcase_add_test(tc, queued_suspend_with_vm);
	tcase_add_test(tc, default_errors);
	tcase_add_test(tc, names);
	tcase_add_test(tc, adopt);
	tcase_add_test(tc, set_cloud);
	tcase_add_test(tc, reload_keeps_states);
	tcase_add_test(tc, to_json);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, names_refused);
	tcase_add_test(tc, unusable_arrays);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, colliding_arrays);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(nodes_suite());
}
