/*
 * naming.h: how the Slurm integration names cloud nodes, and what Slurm is
 * told about them.
 *
 * A nodearray is described here in plain C, independent of the CycleCloud
 * client's types: the daemon fills one struct ccs_nodearray per autoscale
 * nodearray from the cluster status, and both the node table and
 * "ccslurmctl generate" derive everything from it, so the names Slurm knows
 * and the names created in CycleCloud can never drift apart.
 *
 * Names (the seed's scheme, docs/slurm-config.md):
 *   HPC (hpc = true):  {array}-pg{P}-{i}, P from 0, i from 1 to
 *                      max_scaleset_size in each placement group, max_count
 *                      names in all (the last group may be partial);
 *   HTC (hpc = false): {array}-{i}, i from 1 to max_count.
 * Placement group id: {array}-{machine_type}-pg{P} (HPC only).
 */
#ifndef CCSLURM_NAMING_H
#define CCSLURM_NAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CCS_DEFAULT_MAX_SCALESET_SIZE	40	/* VMs per placement group */
#define CCS_DEFAULT_DAMPEN_MEMORY	5.0	/* percent kept from Slurm */
#define CCS_MIN_REAL_MEMORY		1024	/* MiB, floor of RealMemory */
/* Above this a nodearray is surely a typo; keeps name tables bounded. */
#define CCS_MAX_NODES_PER_ARRAY		1000000

enum ccs_shutdown_policy {
	CCS_SHUTDOWN_TERMINATE = 0,	/* CycleCloud's default */
	CCS_SHUTDOWN_DEALLOCATE,
};

struct ccs_nodearray {
	char	*name;		/* nodearray name */
	char	*machine_type;	/* first of MachineType; NULL: no bucket */
	unsigned vcpu;		/* virtualMachine.vcpuCount */
	unsigned pcpu;		/* virtualMachine.pcpuCount (0: unknown) */
	unsigned gpu;		/* virtualMachine.gpuCount */
	double	 memory_gb;	/* virtualMachine.memory, GB */
	unsigned max_count;	/* the bucket's maxCount: total nodes */
	unsigned max_scaleset_size; /* Azure.MaxScalesetSize, default 40 */
	bool	 hpc;		/* slurm.hpc, default true */
	bool	 autoscale;	/* slurm.autoscale */
	char	*partition;	/* slurm.partition; NULL: the array's name */
	bool	 default_partition; /* slurm.default_partition */
	double	 dampen_memory;	/* slurm.dampen_memory, percent, default 5 */
	bool	 use_pcpu;	/* slurm.use_pcpu, default true */
	enum ccs_shutdown_policy shutdown_policy;
};

/* Set every field to its default (strings NULL, hpc/use_pcpu true...). */
void	 ccs_nodearray_init(struct ccs_nodearray *);
/* Free the strings a struct holds and reset it (the struct is not freed). */
void	 ccs_nodearray_clear(struct ccs_nodearray *);
/* Deep copy into dst (dst is overwritten, not cleared first). */
void	 ccs_nodearray_copy(struct ccs_nodearray *dst,
	    const struct ccs_nodearray *src);

/* The partition the array's nodes go to (never NULL; borrowed). */
const char *ccs_nodearray_partition(const struct ccs_nodearray *);

/*
 * Check that an array can be turned into Slurm nodes: a valid name and
 * partition name (letters, digits, '_' and '-'), a machine type with a VM
 * size (vcpu > 0, memory > 0), max_count above 0, a placement group size
 * above 0.  Returns 0, or -1 and *cause (allocated, one line).
 * Autoscale is not checked here: callers skip non-autoscale arrays.
 */
int	 ccs_nodearray_check(const struct ccs_nodearray *, char **cause);

/* Number of placement groups of an HPC array (0 for HTC). */
unsigned ccs_nodearray_pg_count(const struct ccs_nodearray *);
/* Number of nodes in placement group pg (HPC; the last may be partial). */
unsigned ccs_nodearray_pg_size(const struct ccs_nodearray *, unsigned pg);

/*
 * All node names of an array, in order.  Returns a vector of *n strings
 * followed by NULL; the caller frees it with ccs_strv_free().
 */
char	**ccs_nodearray_names(const struct ccs_nodearray *, size_t *n);
/* The names of one placement group (HPC), as above. */
char	**ccs_nodearray_pg_names(const struct ccs_nodearray *, unsigned pg,
	    size_t *n);
void	 ccs_strv_free(char **);

/* One node's name (allocated).  pg is ignored for HTC arrays. */
char	*ccs_node_name(const struct ccs_nodearray *, unsigned pg,
	    unsigned index);
/* The placement group id of group pg (allocated), NULL for HTC arrays. */
char	*ccs_placement_group_id(const struct ccs_nodearray *, unsigned pg);

/*
 * What Slurm is told about a node of this array:
 * RealMemory (MiB) = max(1024, floor((GB - max(1, GB * dampen/100)) * 1024)).
 * CPUs = pcpu when use_pcpu (and pcpu is known) else vcpu: with use_pcpu
 * Slurm allocates whole cores, each with all its hardware threads.
 * ThreadsPerCore = vcpu / pcpu (1 when pcpu is unknown or does not divide
 * vcpu): it describes the hardware, whatever CPUs counts; slurm.conf(5)
 * lets CPUs be either the core or the thread count.
 */
uint64_t ccs_real_memory_mib(const struct ccs_nodearray *);
unsigned ccs_slurm_cpus(const struct ccs_nodearray *);
unsigned ccs_slurm_threads_per_core(const struct ccs_nodearray *);

/*
 * A name map: node name -> (array, placement group, index) in O(1), for the
 * daemon's table of tens of thousands of names.  It copies what it needs
 * from the arrays; they may be freed afterwards.
 */
struct ccs_namemap;

struct ccs_node_ref {
	size_t	 array;		/* index in the arrays given to _new() */
	unsigned pg;		/* placement group (0 for HTC) */
	unsigned index;		/* i in the name, from 1 */
	unsigned ordinal;	/* position among the array's names, from 0 */
};

/*
 * Build a map over n arrays.  Refuses (-1, *cause) arrays that fail
 * ccs_nodearray_check(), two arrays of one name, and arrays whose names
 * could collide (an HTC array "x-pg0" beside an HPC array "x").
 * Returns NULL with *cause set on error; free with ccs_namemap_free().
 */
struct ccs_namemap *ccs_namemap_new(const struct ccs_nodearray *, size_t n,
	    char **cause);
void	 ccs_namemap_free(struct ccs_namemap *);

/*
 * Parse a node name back.  Returns 0 and fills *ref, or -1 when the name is
 * not one of the map's nodes (unknown array, index out of range, leading
 * zeros, trailing junk).
 */
int	 ccs_namemap_lookup(const struct ccs_namemap *, const char *name,
	    struct ccs_node_ref *ref);

/*
 * One CycleCloud create set: nodes of one array and placement group whose
 * indices are contiguous.  Names are name_format with %d = name_offset + k,
 * k from 0 to count - 1.
 */
struct ccs_create_set {
	size_t	 array;			/* index in the map's arrays */
	char	*nodearray;		/* the nodearray's name */
	char	*machine_type;
	char	*name_format;		/* "hpc-pg0-%d", "htc-%d" */
	unsigned name_offset;		/* first index */
	unsigned count;
	char	*placement_group_id;	/* NULL for HTC */
};

/*
 * Split node names into create sets, ordered by array, placement group and
 * index; duplicates count once.  Returns 0 with *sets (free with
 * ccs_create_sets_free()) and *nsets, or -1 with *cause naming the first
 * name that is not a node of the map (nothing is returned then).
 */
int	 ccs_create_sets(const struct ccs_namemap *, char *const *names,
	    size_t n, struct ccs_create_set **sets, size_t *nsets,
	    char **cause);
void	 ccs_create_sets_free(struct ccs_create_set *, size_t);

#endif
