/*
 * naming_json.c: struct ccs_nodearray to and from JSON (naming_json.h).
 *
 * Strict on types because the JSON crosses a process boundary: a daemon and
 * a ccslurmctl from different package versions must fail with a clear line,
 * never generate a slurm.conf from a misread number.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "naming_json.h"
#include "xmalloc.h"

const char *
ccs_shutdown_policy_name(enum ccs_shutdown_policy p)
{
	return p == CCS_SHUTDOWN_DEALLOCATE ? "deallocate" : "terminate";
}

static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *
ccs_nodearray_to_json(const struct ccs_nodearray *na)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", str_or_null(na->name));
	json_object_object_add(o, "machine_type", str_or_null(na->machine_type));
	json_object_object_add(o, "vcpu", json_object_new_int64(na->vcpu));
	json_object_object_add(o, "pcpu", json_object_new_int64(na->pcpu));
	json_object_object_add(o, "gpu", json_object_new_int64(na->gpu));
	json_object_object_add(o, "memory_gb",
	    json_object_new_double(na->memory_gb));
	json_object_object_add(o, "max_count",
	    json_object_new_int64(na->max_count));
	json_object_object_add(o, "max_scaleset_size",
	    json_object_new_int64(na->max_scaleset_size));
	json_object_object_add(o, "hpc", json_object_new_boolean(na->hpc));
	json_object_object_add(o, "autoscale",
	    json_object_new_boolean(na->autoscale));
	json_object_object_add(o, "partition", str_or_null(na->partition));
	json_object_object_add(o, "default_partition",
	    json_object_new_boolean(na->default_partition));
	json_object_object_add(o, "dampen_memory",
	    json_object_new_double(na->dampen_memory));
	json_object_object_add(o, "use_pcpu",
	    json_object_new_boolean(na->use_pcpu));
	json_object_object_add(o, "shutdown_policy",
	    json_object_new_string(ccs_shutdown_policy_name(
	    na->shutdown_policy)));
	return o;
}

static const char *
type_name(json_object *v)
{
	if (v == NULL)
		return "null";
	return json_type_to_name(json_object_get_type(v));
}

/*
 * Each getter: 1 when key is present and was stored, 0 when absent (the
 * default stays), -1 with *cause on a wrong type or value.
 */
static int
get_uint(json_object *o, const char *key, unsigned *out, char **cause)
{
	json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		*cause = xprintf("%s: expected an integer, got %s", key,
		    type_name(v));
		return -1;
	}
	errno = 0;
	i = json_object_get_int64(v);
	if (errno != 0 || i < 0 || i > (int64_t)UINT32_MAX) {
		*cause = xprintf("%s: %s out of range", key,
		    json_object_get_string(v));
		return -1;
	}
	*out = (unsigned)i;
	return 1;
}

static int
get_double(json_object *o, const char *key, double *out, char **cause)
{
	json_object *v;
	double d;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int)) {
		*cause = xprintf("%s: expected a number, got %s", key,
		    type_name(v));
		return -1;
	}
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0) {
		*cause = xprintf("%s: %s out of range", key,
		    json_object_get_string(v));
		return -1;
	}
	*out = d;
	return 1;
}

static int
get_bool(json_object *o, const char *key, bool *out, char **cause)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		*cause = xprintf("%s: expected a boolean, got %s", key,
		    type_name(v));
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 1;
}

/* null allowed when nullable (then *out stays NULL). */
static int
get_str(json_object *o, const char *key, int nullable, char **out,
    char **cause)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (v == NULL && nullable)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		*cause = xprintf("%s: expected a string, got %s", key,
		    type_name(v));
		return -1;
	}
	if (json_object_get_string_len(v) == 0 ||
	    memchr(json_object_get_string(v), '\0',
	    (size_t)json_object_get_string_len(v)) != NULL) {
		*cause = xprintf("%s: empty or binary string", key);
		return -1;
	}
	free(*out);
	*out = xstrdup(json_object_get_string(v));
	return 1;
}

int
ccs_nodearray_from_json(json_object *o, struct ccs_nodearray *na,
    char **cause)
{
	char *policy = NULL, *why = NULL;

	ccs_nodearray_init(na);
	if (!json_object_is_type(o, json_type_object)) {
		*cause = xprintf("nodearray: expected an object, got %s",
		    type_name(o));
		return -1;
	}
	if (get_str(o, "name", 0, &na->name, &why) != 1) {
		if (why == NULL)
			why = xstrdup("name: missing");
		goto bad;
	}
	if (get_str(o, "machine_type", 1, &na->machine_type, &why) == -1 ||
	    get_uint(o, "vcpu", &na->vcpu, &why) == -1 ||
	    get_uint(o, "pcpu", &na->pcpu, &why) == -1 ||
	    get_uint(o, "gpu", &na->gpu, &why) == -1 ||
	    get_double(o, "memory_gb", &na->memory_gb, &why) == -1 ||
	    get_uint(o, "max_count", &na->max_count, &why) == -1 ||
	    get_uint(o, "max_scaleset_size", &na->max_scaleset_size,
	    &why) == -1 ||
	    get_bool(o, "hpc", &na->hpc, &why) == -1 ||
	    get_bool(o, "autoscale", &na->autoscale, &why) == -1 ||
	    get_str(o, "partition", 1, &na->partition, &why) == -1 ||
	    get_bool(o, "default_partition", &na->default_partition,
	    &why) == -1 ||
	    get_double(o, "dampen_memory", &na->dampen_memory, &why) == -1 ||
	    get_bool(o, "use_pcpu", &na->use_pcpu, &why) == -1 ||
	    get_str(o, "shutdown_policy", 0, &policy, &why) == -1)
		goto bad;
	if (policy != NULL) {
		if (strcmp(policy, "terminate") == 0)
			na->shutdown_policy = CCS_SHUTDOWN_TERMINATE;
		else if (strcmp(policy, "deallocate") == 0)
			na->shutdown_policy = CCS_SHUTDOWN_DEALLOCATE;
		else {
			why = xprintf("shutdown_policy: \"%s\" is neither "
			    "terminate nor deallocate", log_esc(policy));
			goto bad;
		}
	}
	if (na->dampen_memory >= 100) {
		why = xprintf("dampen_memory: %g is not below 100",
		    na->dampen_memory);
		goto bad;
	}
	free(policy);
	return 0;
bad:
	if (na->name != NULL)
		*cause = xprintf("nodearray %s: %s", log_esc(na->name), why);
	else
		*cause = xprintf("nodearray: %s", why);
	free(why);
	free(policy);
	ccs_nodearray_clear(na);
	return -1;
}

void
ccs_nodearrays_free(struct ccs_nodearray *arrays, size_t n)
{
	size_t i;

	if (arrays == NULL)
		return;
	for (i = 0; i < n; i++)
		ccs_nodearray_clear(&arrays[i]);
	free(arrays);
}

json_object *
ccs_cluster_to_json(const char *cluster, const struct ccs_nodearray *arrays,
    size_t n)
{
	json_object *o, *a;
	size_t i;

	o = json_object_new_object();
	json_object_object_add(o, "cluster", str_or_null(cluster));
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, ccs_nodearray_to_json(&arrays[i]));
	json_object_object_add(o, "nodearrays", a);
	return o;
}

int
ccs_cluster_from_json(json_object *o, char **cluster,
    struct ccs_nodearray **arrays, size_t *n, char **cause)
{
	struct ccs_nodearray *v = NULL;
	json_object *a;
	char *name = NULL, *why = NULL;
	size_t i, len;

	*cluster = NULL;
	*arrays = NULL;
	*n = 0;
	if (!json_object_is_type(o, json_type_object)) {
		*cause = xprintf("cluster: expected an object, got %s",
		    type_name(o));
		return -1;
	}
	if (get_str(o, "cluster", 1, &name, &why) == -1) {
		*cause = why;
		return -1;
	}
	if (!json_object_object_get_ex(o, "nodearrays", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		*cause = xprintf("nodearrays: expected an array, got %s",
		    json_object_object_get_ex(o, "nodearrays", &a) ?
		    type_name(a) : "nothing");
		free(name);
		return -1;
	}
	len = json_object_array_length(a);
	v = xcalloc(len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		if (ccs_nodearray_from_json(json_object_array_get_idx(a, i),
		    &v[i], &why) == -1) {
			*cause = xprintf("nodearrays[%zu]: %s", i, why);
			free(why);
			ccs_nodearrays_free(v, i);
			free(name);
			return -1;
		}
	}
	*cluster = name;
	*arrays = v;
	*n = len;
	return 0;
}
