/*
 * slurmgen.h: the Slurm configuration generated from the nodearrays.
 *
 * Files (docs/slurm-config.md, "Generating Slurm configuration"):
 *   cyclecloud.conf           PartitionName= and NodeName= lines (Include'd
 *                             from slurm.conf);
 *   topology.conf             one SwitchName= per placement group, and
 *                             "htc" for HTC arrays, inside a marked block;
 *                             every line outside the block is the site's
 *                             and is kept byte for byte;
 *   gres.conf                 Name=gpu lines for GPU machine types (always
 *                             written, possibly with no node line, so an
 *                             Include of it never breaks);
 *   cyclecloud-hpc-partitions the cloud HPC partitions, one a line, for
 *                             the job_submit plugin; the default partition
 *                             (when it is one of them) carries a trailing
 *                             '*', as sinfo shows it.
 * Only arrays with autoscale set are used; at least one is required.
 */
#ifndef CCSLURM_SLURMGEN_H
#define CCSLURM_SLURMGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "naming.h"

#define CCS_GEN_CYCLECLOUD_CONF	"cyclecloud.conf"
#define CCS_GEN_TOPOLOGY_CONF	"topology.conf"
#define CCS_GEN_GRES_CONF	"gres.conf"
#define CCS_GEN_HPC_PARTITIONS	"cyclecloud-hpc-partitions"

#define CCS_TOPOLOGY_BEGIN \
	"# BEGIN ccslurmd generated -- do not edit inside this block"
#define CCS_TOPOLOGY_END	"# END ccslurmd generated"

/* The largest existing file generate will read (topology.conf, ...). */
#define CCS_GEN_MAX_FILE	(16 * 1024 * 1024)

/* The generated texts, before any file is read or written. */
struct ccs_slurm_texts {
	char	*cyclecloud_conf;
	char	*topology_block;	/* BEGIN line ... END line, with '\n' */
	char	*gres_conf;
	char	*hpc_partitions;
	bool	 gres_types_needed;	/* some node has Gres=: GresTypes=gpu */
};

/*
 * Generate the texts from n arrays (non-autoscale ones are skipped).
 * Errors (-1, *cause allocated, one line): no autoscale nodearray, an array
 * failing ccs_nodearray_check() (no machine type or VM size, maxCount 0,
 * bad name), colliding names, one partition mixing HPC and HTC arrays, and
 * more than one default partition.  On success *out is the caller's to
 * free with ccs_slurm_texts_free().
 */
int	 ccs_slurm_texts_make(const struct ccs_nodearray *, size_t n,
	    struct ccs_slurm_texts **out, char **cause);
void	 ccs_slurm_texts_free(struct ccs_slurm_texts *);

/*
 * Put block into an existing topology.conf text: the first marked block is
 * replaced in place; without one, block is appended (after a '\n' when the
 * text does not end with one).  old may be NULL (no file).  Returns the new
 * text (allocated), or NULL and *cause when old has a BEGIN line without an
 * END line or a second block (nothing would be safe to replace).
 */
char	*ccs_topology_merge(const char *old, const char *block, char **cause);

/* One file of a generation, planned or written. */
struct ccs_gen_file {
	char	*name;		/* "cyclecloud.conf" */
	char	*path;		/* dir/name */
	char	*content;	/* the whole new file */
	bool	 existed;	/* a previous version was there */
	bool	 changed;	/* content differs from it (or it was absent) */
	char	*backup;	/* where the previous version went, or NULL */
};

struct ccs_gen_result {
	char	*dir;
	bool	 dry_run;
	struct ccs_gen_file files[4];	/* in CCS_GEN_* order above */
	size_t	 nfiles;
	/*
	 * The set of nodes or partitions differs from the previous
	 * cyclecloud.conf (or there was none): Slurm 22.05 needs a slurmctld
	 * restart, "scontrol reconfigure" is not enough.
	 */
	bool	 node_set_changed;
	bool	 gres_types_needed;
	size_t	 nnodes;		/* cloud nodes in the new config */
};

#define CCS_GEN_DRY_RUN	0x1	/* read the old files, write nothing */

/*
 * Generate into dir.  Each file whose content changed is written with
 * write_file_atomic() (mode 0644) after its previous version is copied to
 * "<name>.<YYYYmmddTHHMMSS>" (local time of now; "-1", "-2"... appended if
 * that exists); an unchanged file is not touched.  With CCS_GEN_DRY_RUN
 * nothing is written and the result holds the texts.  Returns 0 and
 * *result (free with ccs_gen_result_free()), or -1 and *cause; a failure
 * part way leaves every file either old or new, never partial.
 */
int	 ccs_slurmgen(const char *dir, const struct ccs_nodearray *, size_t n,
	    int flags, time_t now, struct ccs_gen_result **result,
	    char **cause);
void	 ccs_gen_result_free(struct ccs_gen_result *);

/*
 * The result as a JSON plan (a new reference the caller puts):
 * {"dir", "dry_run", "node_set_changed", "restart_needed",
 *  "gres_types_needed", "nodes", "files": [{"name", "path", "existed",
 *  "changed", "backup", "content"}]}; content only when with_content.
 */
json_object *ccs_gen_result_json(const struct ccs_gen_result *,
	    bool with_content);

#endif
