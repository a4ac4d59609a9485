/*
 * reconcile.c: drift between Slurm and the cloud.
 *
 * After every successful cluster sweep (engine.c) this module reads Slurm's
 * view (`scontrol show nodes -o`, one line a node, which every Slurm from
 * 22.05 on prints the same way) and compares:
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

struct slurm_node {
	bool	 powered_down;	/* POWERED_DOWN (idle~ / down~) */
	bool	 powering_up;	/* POWERING_UP (#) */
	bool	 powering_down;	/* POWERING_DOWN (%) or POWER_DOWN (!) */
	bool	 down;
	bool	 resume_timeout; /* Reason "ResumeTimeout reached" */
};

/* The value of " KEY=" in line, up to the next space (into buf). */
static bool
field(const char *line, const char *key, char *buf, size_t len)
{
	const char *p = line, *e;
	size_t klen = strlen(key), n;

	while ((p = strstr(p, key)) != NULL) {
		if (p == line || p[-1] == ' ')
			break;
		p += klen;
	}
	if (p == NULL)
		return false;
	p += klen;
	e = strchr(p, ' ');
	n = e != NULL ? (size_t)(e - p) : strlen(p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static void
parse_line(const char *line, struct slurm_node *sn)
{
	char state[256];
	const char *r;

	memset(sn, 0, sizeof(*sn));
	if (field(line, "State=", state, sizeof(state))) {
		sn->powered_down = strstr(state, "POWERED_DOWN") != NULL;
		sn->powering_up = strstr(state, "POWERING_UP") != NULL;
		sn->powering_down = strstr(state, "POWERING_DOWN") != NULL ||
		    strstr(state, "POWER_DOWN") != NULL;
		sn->down = strncmp(state, "DOWN", 4) == 0;
	}
	if ((r = strstr(line, "Reason=")) != NULL &&
	    strncmp(r + 7, "ResumeTimeout reached", 21) == 0)
		sn->resume_timeout = true;
}

static void
on_nodes(int status, const char *out, void *arg)
{
	const char *line, *nl;
	char name[256];
	struct slurm_node sn;
	struct node *n;
	size_t seen = 0, acted = 0, held = 0, budget;
	uint64_t now = now_mono_ms();

	running = false;
	if (status != 0 || engine_recovering()) {
		log_warnx("reconcile: Slurm's node list unavailable: skipped");
		return;
	}
	budget = nodes.n * RECONCILE_MAX_PCT / 100;
	if (budget == 0)
		budget = 1;
	for (line = out; *line != '\0'; line = nl + 1) {
		char buf[4096];
		size_t len;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (field(buf, "NodeName=", name, sizeof(name)) &&
		    (n = node_find(name)) != NULL) {
			seen++;
			parse_line(buf, &sn);
			if (n->keep_alive || n->request_id != NULL ||
			    n->pending != NP_NONE)
				goto next;
			/* A VM Slurm does not want: powered down in Slurm and
			 * not on its way up (after a crash the daemon adopts
			 * such a VM as ready or booting). */
			if (node_vm_exists(n) && sn.powered_down &&
			    !sn.powering_up && (n->state == NS_POWERED_DOWN ||
			    n->state == NS_READY || n->state == NS_BOOTING)) {
				if (n->orphan_since_ms == 0)
					n->orphan_since_ms = now;
				if (now - n->orphan_since_ms >=
				    ccsd.conf->daemon.orphan_grace_ms) {
					if (acted >= budget) {
						held++;
						goto next;
					}
					log_warnx("reconcile: %s has a VM (%s) "
					    "but Slurm has it powered down: "
					    "shutting the VM down",
					    log_esc(n->name),
					    log_esc(n->cc_status));
					engine_shutdown_orphan(n);
					n->orphan_since_ms = 0;
					acted++;
				}
			} else
				n->orphan_since_ms = 0;
			if (!node_vm_exists(n) && !sn.powered_down &&
			    !sn.powering_up && !sn.powering_down &&
			    (n->state == NS_POWERED_DOWN ||
			    n->state == NS_FAILED)) {
				if (acted >= budget) {
					held++;
					goto next;
				}
				log_warnx("reconcile: Slurm has %s up but no "
				    "VM is behind it: powering it down",
				    log_esc(n->name));
				engine_queue_power_down(n->name,
				    "no VM behind the node (reconcile)");
				acted++;
			}
			if (sn.down && sn.powered_down && sn.resume_timeout &&
			    !node_vm_exists(n)) {
				log_info("reconcile: %s was left down by "
				    "ResumeTimeout and its VM is gone: "
				    "returning it to service",
				    log_esc(n->name));
				engine_queue_resume_state(n->name);
			}
		}
next:
		if (nl == NULL)
			break;
	}
	if (seen == 0 && nodes.n > 0)
		log_warnx("reconcile: Slurm lists none of our %zu nodes "
		    "(is cyclecloud.conf included?)", nodes.n);
	if (held > 0)
		log_warnx("reconcile: %zu actions held back (at most %zu a "
		    "pass)", held, budget);
	/* Info, not debug: the benchmarks (docs/performance.md) and admins
	 * of large clusters read the pass time from it. */
	log_info("reconcile: pass done: %zu nodes compared, %zu actions, "
	    "%llu ms for Slurm's list and the comparison", seen, acted,
	    (unsigned long long)(now_mono_ms() - started_ms));
}

void
reconcile_now(void)
{
	static char a0[] = "show", a1[] = "nodes", a2[] = "-o";
	char *argv[] = { a0, a1, a2, NULL };

	if (running || !nodes.loaded)
		return;
	running = true;
	started_ms = now_mono_ms();
	scontrol_run(argv, on_nodes, NULL);
}

void
reconcile_start(void)
{
	/* The engine calls reconcile_now() after each cluster sweep. */
}
