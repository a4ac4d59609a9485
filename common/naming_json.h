/*
 * naming_json.h: a nodearray description (naming.h) as JSON, the form the
 * daemon's PROTO_CLUSTER reply carries it in to `ccslurmctl generate`:
 *
 *   {"cluster": "<name>", "nodearrays": [<ccs_nodearray_to_json()>, ...]}
 *
 * listing every nodearray of the cluster, autoscale or not.  The keys are
 * the struct's field names: name, machine_type (null: no bucket), vcpu,
 * pcpu, gpu, memory_gb, max_count, max_scaleset_size, hpc, autoscale,
 * partition (null: the array's name), default_partition, dampen_memory,
 * use_pcpu, shutdown_policy ("terminate" | "deallocate").
 */
#ifndef CCSLURM_NAMING_JSON_H
#define CCSLURM_NAMING_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "naming.h"

/* "terminate" or "deallocate". */
const char	*ccs_shutdown_policy_name(enum ccs_shutdown_policy);

/* A new object (the caller puts it) with every key above. */
json_object	*ccs_nodearray_to_json(const struct ccs_nodearray *);

/*
 * Fill na from obj, strictly: every key is optional except name (absent keys
 * keep naming.h's defaults), but a present key must have the right type
 * (integers in range, no fractions for counts; null only where the table
 * above says), and unknown keys are ignored (a newer daemon may add some).
 * na is ccs_nodearray_init()ed first.  Returns 0, or -1 with *cause
 * (allocated, one line: "max_count: expected an integer, got string")
 * and na cleared.
 */
int	 ccs_nodearray_from_json(json_object *obj, struct ccs_nodearray *na,
	    char **cause);

/*
 * A whole PROTO_CLUSTER reply.  On success returns 0, *arrays (n entries;
 * free with ccs_nodearrays_free()) and *cluster (allocated; may be NULL when
 * the reply names none).  -1 and *cause on a malformed reply; nothing is
 * returned then.
 */
int	 ccs_cluster_from_json(json_object *obj, char **cluster,
	    struct ccs_nodearray **arrays, size_t *n, char **cause);
/* The reply the daemon sends: a new object (caller puts it). */
json_object	*ccs_cluster_to_json(const char *cluster,
	    const struct ccs_nodearray *arrays, size_t n);
/* Clear and free n arrays.  NULL is fine. */
void	 ccs_nodearrays_free(struct ccs_nodearray *arrays, size_t n);

#endif
