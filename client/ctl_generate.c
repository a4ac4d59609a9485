/*
 * ctl_generate.c: `ccslurmctl generate [--output-dir DIR] [--dry-run]
 * [--json]`: write cyclecloud.conf, topology.conf, gres.conf and
 * cyclecloud-hpc-partitions from the cluster's autoscale nodearrays, as the
 * daemon last read them (only the daemon talks to CycleCloud), and say what
 * slurm.conf must hold for them to take effect.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "naming_json.h"
#include "proto.h"
#include "slurmgen.h"
#include "xmalloc.h"

/*
 * The directory to write: --output-dir, else the config's slurm.config_dir.
 * Returns an allocated path, or NULL after printing why.
 */
static char *
generate_dir(const struct ctl *ctl, const char *given)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf;
	char *dir;

	if (given != NULL)
		return xstrdup(given);
	if (access(ctl->config_path, F_OK) == -1) {
		fprintf(stderr, "ccslurmctl: generate: no configuration at %s "
		    "to take slurm.config_dir from: give --output-dir\n",
		    log_esc(ctl->config_path));
		return NULL;
	}
	/* Only slurm.config_dir is read: the password is the daemon's. */
	if (conf_load_flags(ctl->config_path, CONF_LOAD_NO_SECRET, &conf,
	    &errs) == -1) {
		conf_errors_print(&errs, stderr);
		conf_errors_free(&errs);
		fprintf(stderr, "ccslurmctl: generate: cannot read %s; fix it "
		    "or give --output-dir\n", log_esc(ctl->config_path));
		return NULL;
	}
	dir = xstrdup(conf->slurm.config_dir);
	conf_free(conf);
	return dir;
}

static void
print_site_lines(const struct ccs_gen_result *r, bool any_hpc)
{
	printf("slurm.conf must hold (once):\n");
	printf("  Include %s/%s\n", r->dir, CCS_GEN_CYCLECLOUD_CONF);
	if (r->gres_types_needed)
		printf("  GresTypes=gpu                   "
		    "# nodes with Gres=gpu are defined\n");
	printf("  TopologyPlugin=topology/tree    "
	    "# one switch per placement group\n");
	if (any_hpc)
		printf("  JobSubmitPlugins=job_submit/cyclecloud  "
		    "# keeps an MPI job in one placement group\n");
	printf("  ResumeProgram, SuspendProgram, ResumeFailProgram, "
	    "timeouts: see `ccslurmctl check`\n");
	printf("Slurm reads %s and %s from slurm.conf's directory: link them "
	    "there if %s is elsewhere.\n", CCS_GEN_TOPOLOGY_CONF,
	    CCS_GEN_GRES_CONF, r->dir);
}

static void
print_result(const struct ccs_gen_result *r, bool any_hpc)
{
	const struct ccs_gen_file *f;
	size_t i;

	for (i = 0; i < r->nfiles; i++) {
		f = &r->files[i];
		if (r->dry_run) {
			printf("==> %s (%s) <==\n%s", f->path, !f->existed ?
			    "new" : f->changed ? "changed" : "unchanged",
			    f->content);
			if (*f->content != '\0' &&
			    f->content[strlen(f->content) - 1] != '\n')
				printf("\n");
			continue;
		}
		if (!f->changed)
			printf("unchanged %s\n", f->path);
		else if (f->backup != NULL)
			printf("wrote %s (previous kept as %s)\n", f->path,
			    f->backup);
		else
			printf("wrote %s\n", f->path);
	}
	if (r->dry_run)
		printf("dry run: nothing written\n");
	printf("%zu cloud node(s)\n", r->nnodes);
	print_site_lines(r, any_hpc);
	if (r->node_set_changed)
		printf("node set changed: restart slurmctld (22.05 needs a "
		    "restart for new nodes)%s\n", r->dry_run ?
		    " once the files are written" : "");
	else
		printf("node set unchanged: `scontrol reconfigure` is "
		    "enough\n");
}

int
ctl_generate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output-dir", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct ccs_nodearray *arrays = NULL, *use;
	struct ccs_gen_result *res = NULL;
	json_object *reply = NULL, *plan;
	const char *outdir = NULL;
	char *dir = NULL, *cluster = NULL, *cause = NULL;
	size_t n = 0, nuse = 0, i;
	bool dry_run = false, json = ctl->json != 0, any_hpc = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "o:nj", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			outdir = optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage(ctl);
		}
	}
	if (optind != argc)
		return ctl_usage(ctl);
	if ((dir = generate_dir(ctl, outdir)) == NULL)
		return CTL_EXIT_FAILED;

	if ((rc = ctl_call(ctl, PROTO_CLUSTER, NULL, &reply)) != CTL_EXIT_OK)
		goto out;
	rc = CTL_EXIT_FAILED;
	if (ccs_cluster_from_json(reply, &cluster, &arrays, &n,
	    &cause) == -1) {
		fprintf(stderr, "ccslurmctl: generate: bad answer from "
		    "ccslurmd: %s\n", cause);
		goto out;
	}
	/* Only autoscale arrays become partitions; keep them in order. */
	use = xcalloc(n + 1, sizeof(*use));
	for (i = 0; i < n; i++) {
		if (!arrays[i].autoscale)
			continue;
		use[nuse++] = arrays[i];
		if (arrays[i].hpc)
			any_hpc = true;
	}
	if (nuse == 0) {
		fprintf(stderr, "ccslurmctl: generate: cluster %s has no "
		    "autoscale nodearray (%zu nodearray(s); set "
		    "Configuration.slurm.autoscale = true on the ones Slurm "
		    "may burst into)\n", cluster != NULL ?
		    log_esc(cluster) : "?", n);
		free(use);
		goto out;
	}
	/* use[] borrows arrays[]' strings: free only the vector. */
	if (ccs_slurmgen(dir, use, nuse, dry_run ? CCS_GEN_DRY_RUN : 0,
	    time(NULL), &res, &cause) == -1) {
		fprintf(stderr, "ccslurmctl: generate: %s\n", cause);
		free(use);
		goto out;
	}
	free(use);
	if (json) {
		plan = ccs_gen_result_json(res, dry_run);
		json_object_object_add(plan, "cluster", cluster != NULL ?
		    json_object_new_string(cluster) : NULL);
		printf("%s\n", json_object_to_json_string_ext(plan,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(plan);
	} else
		print_result(res, any_hpc);
	rc = CTL_EXIT_OK;
out:
	free(cause);
	free(cluster);
	free(dir);
	ccs_nodearrays_free(arrays, n);
	ccs_gen_result_free(res);
	json_object_put(reply);
	return rc;
}
