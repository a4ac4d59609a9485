/*
 * reconcile.c: drift between Slurm and the cloud.
 *
 * After every successful cluster sweep (engine.c) this module reads Slurm's
 * view (`scontrol --json show nodes` where the installed Slurm has it,
 * 23.02 on; else `scontrol show nodes -o`, one line a node, the only form
 * 22.05 has: daemon/slurm_nodes.c parses both) and compares:
 *
 *  - a VM running while Slurm has the node powered down and nothing is in
 *    flight: an orphan; shut down after daemon.orphan_grace;
 *  - a node Slurm thinks is up (not powered down, not powering up or down)
 *    with no VM behind it: POWER_DOWN_FORCE with a reason;
 *  - a node left down~ by "ResumeTimeout reached" whose VM is gone:
 *    State=RESUME, back to service.
 *
 * Safety (decisions.md): it acts only on a complete, successful listing
 * from both sides; never on KeepAlive nodes or nodes with a call in flight;
 * at most RECONCILE_MAX_PCT percent of the nodes (at least one) per pass.
 * What it held back is logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define RECONCILE_MAX_PCT	10

static bool running;
static uint64_t started_ms;	/* mono: when this pass asked Slurm */
static int json_ok = -1;	/* --json works: -1 unknown, 0 no, 1 yes */

struct pass {
	uint64_t	 now;
	size_t		 seen, acted, held, budget;
};

static void
compare(const struct slurm_node_info *sn, void *arg)
{
	struct pass *p = arg;
	struct node *n;

	if ((n = node_find(sn->name)) == NULL)
		return;		/* on-prem, or not ours */
	p->seen++;
	if (n->keep_alive || n->request_id != NULL || n->pending != NP_NONE)
		return;
	/* A VM Slurm does not want: powered down in Slurm and not on its way
	 * up (after a crash the daemon adopts such a VM as ready or booting). */
	if (node_vm_exists(n) && sn->powered_down && !sn->powering_up &&
	    (n->state == NS_POWERED_DOWN || n->state == NS_READY ||
	    n->state == NS_BOOTING)) {
		if (n->orphan_since_ms == 0)
			n->orphan_since_ms = p->now;
		if (p->now - n->orphan_since_ms >=
		    ccsd.conf->daemon.orphan_grace_ms) {
			if (p->acted >= p->budget) {
				p->held++;
				return;
			}
			log_warnx("reconcile: %s has a VM (%s) but Slurm has it "
			    "powered down: shutting the VM down",
			    log_esc(n->name), log_esc(n->cc_status));
			engine_shutdown_orphan(n);
			n->orphan_since_ms = 0;
			p->acted++;
		}
	} else
		n->orphan_since_ms = 0;
	if (!node_vm_exists(n) && !sn->powered_down && !sn->powering_up &&
	    !sn->powering_down && (n->state == NS_POWERED_DOWN ||
	    n->state == NS_FAILED)) {
		if (p->acted >= p->budget) {
			p->held++;
			return;
		}
		log_warnx("reconcile: Slurm has %s up but no VM is behind it: "
		    "powering it down", log_esc(n->name));
		engine_queue_power_down(n->name,
		    "no VM behind the node (reconcile)");
		p->acted++;
	}
	if (sn->down && sn->powered_down && sn->resume_timeout &&
	    !node_vm_exists(n)) {
		log_info("reconcile: %s was left down by ResumeTimeout and its "
		    "VM is gone: returning it to service", log_esc(n->name));
		engine_queue_resume_state(n->name);
	}
}

static void	ask_slurm(void);

static void
on_nodes(int status, const char *out, void *arg)
{
	struct pass p;
	bool json = arg != NULL;
	long n;

	running = false;
	if (json && json_ok == -1) {
		/* 22.05: "unrecognized option '--json'": the text form. */
		json_ok = status == 0 && out[0] == '{';
		log_info("reconcile: Slurm's node list read with %s",
		    json_ok ? "scontrol --json show nodes" :
		    "scontrol show nodes -o");
		if (!json_ok) {
			ask_slurm();
			return;
		}
	}
	if (status != 0 || engine_recovering()) {
		log_warnx("reconcile: Slurm's node list unavailable: skipped");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.now = now_mono_ms();
	p.budget = nodes.n * RECONCILE_MAX_PCT / 100;
	if (p.budget == 0)
		p.budget = 1;
	n = json ? slurm_nodes_parse_json(out, strlen(out), compare, &p) :
	    slurm_nodes_parse_text(out, compare, &p);
	if (n < 0) {
		/* Acts only on a complete, readable listing (decisions.md). */
		log_warnx("reconcile: Slurm's node list unreadable: skipped");
		return;
	}
	if (p.seen == 0 && nodes.n > 0)
		log_warnx("reconcile: Slurm lists none of our %zu nodes "
		    "(is cyclecloud.conf included?)", nodes.n);
	if (p.held > 0)
		log_warnx("reconcile: %zu actions held back (at most %zu a "
		    "pass)", p.held, p.budget);
	/* Info, not debug: the benchmarks (docs/performance.md) and admins
	 * of large clusters read the pass time from it. */
	log_info("reconcile: pass done: %zu nodes compared, %zu actions, "
	    "%llu ms for Slurm's list and the comparison", p.seen, p.acted,
	    (unsigned long long)(now_mono_ms() - started_ms));
}

static void
ask_slurm(void)
{
	static char j0[] = "--json", a0[] = "show", a1[] = "nodes",
	    a2[] = "-o";
	char *jargv[] = { j0, a0, a1, NULL };
	char *targv[] = { a0, a1, a2, NULL };
	static int json_tag;

	running = true;
	if (json_ok != 0)
		scontrol_run(jargv, on_nodes, &json_tag);
	else
		scontrol_run(targv, on_nodes, NULL);
}

void
reconcile_now(void)
{
	if (running || !nodes.loaded)
		return;
	started_ms = now_mono_ms();
	ask_slurm();
}

void
reconcile_start(void)
{
	/* The engine calls reconcile_now() after each cluster sweep. */
}
