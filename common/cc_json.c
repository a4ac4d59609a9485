/*
 * cc_json.c: the CycleCloud REST client's JSON: typed parsers for every
 * answer, builders for every request body, and the one-line error text of
 * an error answer.
 *
 * Parsers are strict about types (a wrong type is an error naming the field
 * by its path, e.g. "nodes[3].KeepAlive") and lenient about presence: unknown
 * fields are ignored, and a null counts as absent (the API sends neither,
 * but a proxy or a later version might).  Only the fields the daemon reads
 * are copied, so a node's 2 KB Configuration is never kept.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cc.h"
#include "cc_stream.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* Longest error body quoted in a message. */
#define CC_ERROR_BODY_MAX	200

/* Path buffers for field names in errors. */
#define CC_PATH_MAX		128

/* ---- Frees ---------------------------------------------------------- */

void
cc_node_clear(struct cc_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->node_id);
	free(n->template_name);
	free(n->machine_type);
	free(n->status);
	free(n->state);
	free(n->target_state);
	free(n->private_ip);
	free(n->hostname);
	free(n->placement_group_id);
	free(n->instance_id);
	free(n->shutdown_policy);
	free(n->request_id);
	free(n->status_message);
	memset(n, 0, sizeof(*n));
}

static void
nodes_free(struct cc_node *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cc_node_clear(&nodes[i]);
	free(nodes);
}

static void
bucket_clear(struct cc_bucket *b)
{
	size_t i;

	free(b->bucket_id);
	free(b->machine_type);
	free(b->invalid_reason);
	for (i = 0; i < b->npgs; i++)
		free(b->pgs[i].name);
	free(b->pgs);
}

static void
nodearray_clear(struct cc_nodearray *na)
{
	size_t i;

	free(na->name);
	free(na->machine_type);
	free(na->partition);
	free(na->shutdown_policy);
	for (i = 0; i < na->nbuckets; i++)
		bucket_clear(&na->buckets[i]);
	free(na->buckets);
}

void
cc_cluster_status_free(struct cc_cluster_status *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	free(cs->state);
	free(cs->target_state);
	for (i = 0; i < cs->nnodearrays; i++)
		nodearray_clear(&cs->nodearrays[i]);
	free(cs->nodearrays);
	nodes_free(cs->nodes, cs->nnodes);
	free(cs);
}

void
cc_operation_free(struct cc_operation *op)
{
	if (op == NULL)
		return;
	free(op->id);
	free(op->action);
	free(op->start_time);
	free(op);
}

void
cc_node_list_free(struct cc_node_list *nl)
{
	if (nl == NULL)
		return;
	nodes_free(nl->nodes, nl->nnodes);
	cc_operation_free(nl->operation);
	free(nl);
}

void
cc_create_result_free(struct cc_create_result *cr)
{
	size_t i;

	if (cr == NULL)
		return;
	free(cr->operation_id);
	for (i = 0; i < cr->nsets; i++)
		free(cr->sets[i].message);
	free(cr->sets);
	free(cr);
}

void
cc_action_result_free(struct cc_action_result *ar)
{
	size_t i;

	if (ar == NULL)
		return;
	free(ar->operation_id);
	for (i = 0; i < ar->nnodes; i++) {
		free(ar->nodes[i].id);
		free(ar->nodes[i].name);
		free(ar->nodes[i].error);
	}
	free(ar->nodes);
	free(ar);
}

/* ---- Typed field access ---------------------------------------------- */

/* A field, or NULL when it is absent or null. */
static struct json_object *
field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;	/* NULL for a JSON null */
}

static int
type_error(const char *path, const char *key, const char *want,
    struct json_object *v, char **cause)
{
	*cause = xprintf("%s%s%s: expected %s, got %s", path,
	    *path != '\0' && key != NULL ? "." : "", key != NULL ? key : "",
	    want, json_type_to_name(json_object_get_type(v)));
	return -1;
}

static int
missing(const char *path, const char *key, char **cause)
{
	*cause = xprintf("%s%s%s: missing", path, *path != '\0' ? "." : "",
	    key);
	return -1;
}

/* A string field into *out (allocated; untouched when absent). */
static int
get_str(struct json_object *obj, const char *key, const char *path,
    int required, char **out, char **cause)
{
	struct json_object *v = field(obj, key);

	if (v == NULL)
		return required ? missing(path, key, cause) : 0;
	if (!json_object_is_type(v, json_type_string))
		return type_error(path, key, "a string", v, cause);
	free(*out);
	*out = xstrndup(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
	return 0;
}

static int
get_int(struct json_object *obj, const char *key, const char *path,
    int required, int *out, char **cause)
{
	struct json_object *v = field(obj, key);
	int64_t i;

	if (v == NULL)
		return required ? missing(path, key, cause) : 0;
	if (!json_object_is_type(v, json_type_int))
		return type_error(path, key, "an integer", v, cause);
	errno = 0;
	i = json_object_get_int64(v);
	if (errno != 0 || i < INT_MIN || i > INT_MAX) {
		*cause = xprintf("%s%s%s: integer out of range", path,
		    *path != '\0' ? "." : "", key);
		return -1;
	}
	*out = (int)i;
	return 0;
}

static int
get_double(struct json_object *obj, const char *key, const char *path,
    double *out, char **cause)
{
	struct json_object *v = field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return type_error(path, key, "a number", v, cause);
	*out = json_object_get_double(v);
	return 0;
}

static int
get_bool(struct json_object *obj, const char *key, const char *path,
    int *out, char **cause)
{
	struct json_object *v = field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return type_error(path, key, "a boolean", v, cause);
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

/* An object field (NULL when absent); a non-object is an error. */
static int
get_obj(struct json_object *obj, const char *key, const char *path,
    struct json_object **out, char **cause)
{
	struct json_object *v = field(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return type_error(path, key, "an object", v, cause);
	*out = v;
	return 0;
}

/* An array field: *len 0 when absent. */
static int
get_array(struct json_object *obj, const char *key, const char *path,
    int required, struct json_object **out, size_t *len, char **cause)
{
	struct json_object *v = field(obj, key);

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return required ? missing(path, key, cause) : 0;
	if (!json_object_is_type(v, json_type_array))
		return type_error(path, key, "an array", v, cause);
	*out = v;
	*len = json_object_array_length(v);
	return 0;
}

/* "prefix.key" (or "key" at the top) into buf. */
static const char *
subpath(char *buf, size_t size, const char *path, const char *key)
{
	/* A deep path is cut: it only names a field in a message. */
	if (snprintf(buf, size, "%s%s%s", path, *path != '\0' ? "." : "",
	    key) >= (int)size)
		buf[size - 1] = '\0';
	return buf;
}

static const char *
indexpath(char *buf, size_t size, const char *path, const char *key,
    size_t i)
{
	if (snprintf(buf, size, "%s%s%s[%zu]", path,
	    *path != '\0' ? "." : "", key, i) >= (int)size)
		buf[size - 1] = '\0';
	return buf;
}

/*
 * MachineType: a string, possibly "A, B", or a list of strings: the first
 * is used (spec).  Absent or empty: *out stays NULL.
 */
static int
get_machine_type(struct json_object *obj, const char *key, const char *path,
    char **out, char **cause)
{
	struct json_object *v = field(obj, key), *first;
	char pbuf[CC_PATH_MAX];
	const char *s, *end;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_array)) {
		if (json_object_array_length(v) == 0)
			return 0;
		first = json_object_array_get_idx(v, 0);
		if (first == NULL || !json_object_is_type(first,
		    json_type_string))
			return type_error(indexpath(pbuf, sizeof(pbuf), path,
			    key, 0), NULL, "a string", first, cause);
		v = first;
	} else if (!json_object_is_type(v, json_type_string))
		return type_error(path, key, "a string or a list", v, cause);
	s = json_object_get_string(v);
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strcspn(s, ",");
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end > s) {
		free(*out);
		*out = xstrndup(s, (size_t)(end - s));
	}
	return 0;
}

/* A string or a number, kept as text (startTime's format is undocumented). */
static int
get_text(struct json_object *obj, const char *key, const char *path,
    char **out, char **cause)
{
	struct json_object *v = field(obj, key);

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return get_str(obj, key, path, 0, out, cause);
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)) {
		free(*out);
		if (json_object_is_type(v, json_type_int))
			*out = xprintf("%lld",
			    (long long)json_object_get_int64(v));
		else
			*out = xprintf("%.17g", json_object_get_double(v));
		return 0;
	}
	return type_error(path, key, "a string or a number", v, cause);
}

/* ---- Documents -------------------------------------------------------- */

/*
 * Parse a whole document that must be a JSON object.  Trailing data other
 * than white space is an error (a truncated or concatenated answer).
 */
/*
 * The streamed parse (cc_stream.c) calls it on the answer with its node
 * elements cut out (total: the whole answer's length; nul: it held a NUL
 * byte), with the first syntax error json-c found inside a cut-out element
 * (elem_err, whose placeholder is at elem_err_at): whichever error comes
 * first in the answer is the one the whole answer would give.
 */
static struct json_object *
parse_doc_ex(const char *buf, size_t len, size_t total, int nul,
    const char *elem_err, size_t elem_err_at, char **cause)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (total > INT_MAX) {
		*cause = xprintf("answer too large (%zu bytes)", total);
		return NULL;
	}
	if (nul || memchr(buf, '\0', len) != NULL) {
		*cause = xstrdup("answer is not JSON: a NUL byte");
		return NULL;
	}
	tok = json_tokener_new_ex(CC_JSON_MAX_DEPTH);
	if (tok == NULL)
		fatalx("json_tokener_new_ex: out of memory");
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* An element's error counts when json-c got that far in buf. */
	if (elem_err != NULL && (obj == NULL ||
	    jerr != json_tokener_success) && (jerr == json_tokener_continue ||
	    elem_err_at < end)) {
		*cause = xstrdup(elem_err);
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			*cause = xstrdup("answer is not JSON: truncated");
		else
			*cause = xprintf("answer is not JSON: %s",
			    json_tokener_error_desc(jerr));
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	if (elem_err != NULL && elem_err_at < end) {
		*cause = xstrdup(elem_err);
		json_object_put(obj);
		return NULL;
	}
	while (end < len && isspace((unsigned char)buf[end]))
		end++;
	if (end != len) {
		*cause = xstrdup("answer is not JSON: data after the document");
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		*cause = xprintf("answer is a JSON %s, not an object",
		    json_type_to_name(json_object_get_type(obj)));
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *
parse_doc(const char *buf, size_t len, char **cause)
{
	return parse_doc_ex(buf, len, len, 0, NULL, 0, cause);
}

int
cc_json_parse_node(struct json_object *o, const char *path,
    struct cc_node *n, char **cause)
{
	if (!json_object_is_type(o, json_type_object))
		return type_error(path, NULL, "an object", o, cause);
	if (get_str(o, "Name", path, 1, &n->name, cause) == -1 ||
	    get_str(o, "NodeId", path, 0, &n->node_id, cause) == -1 ||
	    get_str(o, "Template", path, 0, &n->template_name, cause) == -1 ||
	    get_machine_type(o, "MachineType", path, &n->machine_type,
	    cause) == -1 ||
	    get_str(o, "Status", path, 0, &n->status, cause) == -1 ||
	    get_str(o, "State", path, 0, &n->state, cause) == -1 ||
	    get_str(o, "TargetState", path, 0, &n->target_state, cause) == -1 ||
	    get_str(o, "PrivateIp", path, 0, &n->private_ip, cause) == -1 ||
	    get_str(o, "Hostname", path, 0, &n->hostname, cause) == -1 ||
	    get_str(o, "PlacementGroupId", path, 0, &n->placement_group_id,
	    cause) == -1 ||
	    get_str(o, "InstanceId", path, 0, &n->instance_id, cause) == -1 ||
	    get_str(o, "ShutdownPolicy", path, 0, &n->shutdown_policy,
	    cause) == -1 ||
	    get_str(o, "RequestId", path, 0, &n->request_id, cause) == -1 ||
	    get_str(o, "StatusMessage", path, 0, &n->status_message,
	    cause) == -1 ||
	    get_bool(o, "KeepAlive", path, &n->keep_alive, cause) == -1 ||
	    get_bool(o, "Fixed", path, &n->fixed, cause) == -1)
		return -1;
	return 0;
}

/*
 * nodes[] of a streamed answer: the doc's array holds a null for each
 * element the stream cut out and parsed (sn), the element itself for any
 * other (never an object: those are all cut out).
 */
static int
streamed_nodes(struct json_object *arr, size_t len,
    struct cc_streamed_nodes *sn, struct cc_node **nodes, size_t *nnodes,
    char **cause)
{
	struct cc_node junk;
	char pbuf[CC_PATH_MAX];

	if (len != sn->nelems) {
		*cause = xprintf("nodes: %zu elements, but %zu streamed", len,
		    sn->nelems);
		return -1;
	}
	if (sn->bad_index < len && sn->bad_index < sn->err_index) {
		memset(&junk, 0, sizeof(junk));
		if (cc_json_parse_node(json_object_array_get_idx(arr,
		    sn->bad_index), indexpath(pbuf, sizeof(pbuf), "", "nodes",
		    sn->bad_index), &junk, cause) == 0) {
			cc_node_clear(&junk);
			*cause = xprintf("%s: not streamed", pbuf);
		}
		return -1;
	}
	if (sn->err_index < len) {
		*cause = xstrdup(sn->err != NULL ? sn->err : "nodes: error");
		return -1;
	}
	if (sn->nnodes != len) {
		*cause = xprintf("nodes: %zu elements, but %zu parsed", len,
		    sn->nnodes);
		return -1;
	}
	*nodes = sn->nodes;
	*nnodes = sn->nnodes;
	sn->nodes = NULL;
	sn->nnodes = 0;
	return 0;
}

/*
 * nodes[] of obj into a new array (*nodes NULL when there are none); from
 * sn when the answer was streamed.
 */
static int
parse_nodes(struct json_object *obj, int required, struct cc_node **nodes,
    size_t *nnodes, int *present, struct cc_streamed_nodes *sn, char **cause)
{
	struct json_object *arr;
	char pbuf[CC_PATH_MAX];
	size_t len, i;

	*nodes = NULL;
	*nnodes = 0;
	if (get_array(obj, "nodes", "", required, &arr, &len, cause) == -1)
		return -1;
	if (present != NULL)
		*present = arr != NULL;
	if (sn != NULL && arr != NULL)
		return streamed_nodes(arr, len, sn, nodes, nnodes, cause);
	if (len == 0)
		return 0;
	*nodes = xcalloc(len, sizeof(**nodes));
	for (i = 0; i < len; i++) {
		*nnodes = i + 1;
		if (cc_json_parse_node(json_object_array_get_idx(arr, i),
		    indexpath(pbuf, sizeof(pbuf), "", "nodes", i),
		    &(*nodes)[i], cause) == -1) {
			nodes_free(*nodes, *nnodes);
			*nodes = NULL;
			*nnodes = 0;
			return -1;
		}
	}
	return 0;
}

static int
parse_bucket(struct json_object *o, const char *path, struct cc_bucket *b,
    char **cause)
{
	struct json_object *def, *vm, *pgs, *pg;
	char pbuf[CC_PATH_MAX], qbuf[CC_PATH_MAX];
	size_t len, i;

	b->valid = 1;
	b->last_capacity_failure = -1;
	if (!json_object_is_type(o, json_type_object))
		return type_error(path, NULL, "an object", o, cause);
	if (get_text(o, "bucketId", path, &b->bucket_id, cause) == -1 ||
	    get_int(o, "maxCount", path, 0, &b->max_count, cause) == -1 ||
	    get_int(o, "maxCoreCount", path, 0, &b->max_core_count,
	    cause) == -1 ||
	    get_int(o, "activeCount", path, 0, &b->active_count, cause) == -1 ||
	    get_int(o, "activeCoreCount", path, 0, &b->active_core_count,
	    cause) == -1 ||
	    get_int(o, "availableCount", path, 0, &b->available_count,
	    cause) == -1 ||
	    get_int(o, "availableCoreCount", path, 0, &b->available_core_count,
	    cause) == -1 ||
	    get_int(o, "quotaCount", path, 0, &b->quota_count, cause) == -1 ||
	    get_int(o, "maxPlacementGroupSize", path, 0,
	    &b->max_placement_group_size, cause) == -1 ||
	    get_bool(o, "valid", path, &b->valid, cause) == -1 ||
	    get_str(o, "invalidReason", path, 0, &b->invalid_reason,
	    cause) == -1 ||
	    get_double(o, "lastCapacityFailure", path,
	    &b->last_capacity_failure, cause) == -1)
		return -1;

	if (get_obj(o, "definition", path, &def, cause) == -1 ||
	    get_machine_type(def, "machineType",
	    subpath(pbuf, sizeof(pbuf), path, "definition"), &b->machine_type,
	    cause) == -1)
		return -1;

	if (get_obj(o, "virtualMachine", path, &vm, cause) == -1)
		return -1;
	subpath(pbuf, sizeof(pbuf), path, "virtualMachine");
	if (get_int(vm, "vcpuCount", pbuf, 0, &b->vm.vcpu_count,
	    cause) == -1 ||
	    get_int(vm, "pcpuCount", pbuf, 0, &b->vm.pcpu_count, cause) == -1 ||
	    get_int(vm, "gpuCount", pbuf, 0, &b->vm.gpu_count, cause) == -1 ||
	    get_double(vm, "memory", pbuf, &b->vm.memory_gb, cause) == -1 ||
	    get_bool(vm, "infiniband", pbuf, &b->vm.infiniband, cause) == -1)
		return -1;

	if (get_array(o, "placementGroups", path, 0, &pgs, &len, cause) == -1)
		return -1;
	if (len > 0)
		b->pgs = xcalloc(len, sizeof(*b->pgs));
	for (i = 0; i < len; i++) {
		pg = json_object_array_get_idx(pgs, i);
		indexpath(qbuf, sizeof(qbuf), path, "placementGroups", i);
		b->npgs = i + 1;
		if (pg == NULL || !json_object_is_type(pg, json_type_object))
			return type_error(qbuf, NULL, "an object", pg, cause);
		if (get_str(pg, "name", qbuf, 1, &b->pgs[i].name,
		    cause) == -1 ||
		    get_int(pg, "activeCount", qbuf, 0, &b->pgs[i].active_count,
		    cause) == -1)
			return -1;
	}
	return 0;
}

static int
parse_nodearray(struct json_object *o, const char *path,
    struct cc_nodearray *na, char **cause)
{
	struct json_object *rec, *conf, *slurm, *azure, *buckets;
	char pbuf[CC_PATH_MAX], qbuf[CC_PATH_MAX];
	size_t len, i;

	/* Defaults of the spec, for fields a nodearray record leaves out. */
	na->hpc = 1;
	na->dampen_memory = 5;
	na->use_pcpu = 1;
	na->max_scaleset_size = 40;
	if (!json_object_is_type(o, json_type_object))
		return type_error(path, NULL, "an object", o, cause);
	if (get_str(o, "name", path, 1, &na->name, cause) == -1 ||
	    get_int(o, "maxCount", path, 0, &na->max_count, cause) == -1 ||
	    get_int(o, "maxCoreCount", path, 0, &na->max_core_count,
	    cause) == -1)
		return -1;

	if (get_obj(o, "nodearray", path, &rec, cause) == -1)
		return -1;
	subpath(pbuf, sizeof(pbuf), path, "nodearray");
	if (get_machine_type(rec, "MachineType", pbuf, &na->machine_type,
	    cause) == -1 ||
	    get_str(rec, "ShutdownPolicy", pbuf, 0, &na->shutdown_policy,
	    cause) == -1 ||
	    get_obj(rec, "Configuration", pbuf, &conf, cause) == -1 ||
	    get_obj(rec, "Azure", pbuf, &azure, cause) == -1)
		return -1;
	if (get_int(azure, "MaxScalesetSize", subpath(qbuf, sizeof(qbuf), pbuf,
	    "Azure"), 0, &na->max_scaleset_size, cause) == -1)
		return -1;
	subpath(qbuf, sizeof(qbuf), pbuf, "Configuration");
	if (get_obj(conf, "slurm", qbuf, &slurm, cause) == -1)
		return -1;
	subpath(pbuf, sizeof(pbuf), qbuf, "slurm");
	if (get_bool(slurm, "autoscale", pbuf, &na->autoscale, cause) == -1 ||
	    get_str(slurm, "partition", pbuf, 0, &na->partition, cause) == -1 ||
	    get_bool(slurm, "default_partition", pbuf, &na->default_partition,
	    cause) == -1 ||
	    get_bool(slurm, "hpc", pbuf, &na->hpc, cause) == -1 ||
	    get_double(slurm, "dampen_memory", pbuf, &na->dampen_memory,
	    cause) == -1 ||
	    get_bool(slurm, "use_pcpu", pbuf, &na->use_pcpu, cause) == -1)
		return -1;
	if (na->partition == NULL)
		na->partition = xstrdup(na->name);
	if (na->shutdown_policy == NULL)
		na->shutdown_policy = xstrdup("Terminate");
	if (na->max_scaleset_size < 1) {
		*cause = xprintf("%s.Azure.MaxScalesetSize: must be at least 1",
		    subpath(qbuf, sizeof(qbuf), path, "nodearray"));
		return -1;
	}
	if (na->dampen_memory < 0 || na->dampen_memory >= 100) {
		*cause = xprintf("%s.dampen_memory: must be in [0, 100)", pbuf);
		return -1;
	}

	if (get_array(o, "buckets", path, 0, &buckets, &len, cause) == -1)
		return -1;
	if (len > 0)
		na->buckets = xcalloc(len, sizeof(*na->buckets));
	for (i = 0; i < len; i++) {
		na->nbuckets = i + 1;
		if (parse_bucket(json_object_array_get_idx(buckets, i),
		    indexpath(pbuf, sizeof(pbuf), path, "buckets", i),
		    &na->buckets[i], cause) == -1)
			return -1;
	}
	return 0;
}

static int
status_from_doc(struct json_object *doc, struct cc_streamed_nodes *sn,
    struct cc_cluster_status **out, char **cause)
{
	struct json_object *arr;
	struct cc_cluster_status *cs;
	char pbuf[CC_PATH_MAX];
	size_t n, i;

	cs = xcalloc(1, sizeof(*cs));
	if (get_str(doc, "state", "", 0, &cs->state, cause) == -1 ||
	    get_str(doc, "targetState", "", 0, &cs->target_state,
	    cause) == -1 ||
	    get_int(doc, "maxCount", "", 0, &cs->max_count, cause) == -1 ||
	    get_int(doc, "maxCoreCount", "", 0, &cs->max_core_count,
	    cause) == -1 ||
	    get_array(doc, "nodearrays", "", 1, &arr, &n, cause) == -1)
		goto fail;
	if (n > 0)
		cs->nodearrays = xcalloc(n, sizeof(*cs->nodearrays));
	for (i = 0; i < n; i++) {
		cs->nnodearrays = i + 1;
		if (parse_nodearray(json_object_array_get_idx(arr, i),
		    indexpath(pbuf, sizeof(pbuf), "", "nodearrays", i),
		    &cs->nodearrays[i], cause) == -1)
			goto fail;
	}
	if (parse_nodes(doc, 0, &cs->nodes, &cs->nnodes, &cs->has_nodes, sn,
	    cause) == -1)
		goto fail;
	json_object_put(doc);
	*out = cs;
	return 0;
fail:
	json_object_put(doc);
	cc_cluster_status_free(cs);
	return -1;
}

int
cc_parse_cluster_status(const char *buf, size_t len,
    struct cc_cluster_status **out, char **cause)
{
	struct json_object *doc;

	*out = NULL;
	if ((doc = parse_doc(buf, len, cause)) == NULL)
		return -1;
	return status_from_doc(doc, NULL, out, cause);
}

int
cc_json_finish_status(const char *skel, size_t len, size_t total, int nul,
    const char *elem_err, size_t elem_err_at, struct cc_streamed_nodes *sn,
    struct cc_cluster_status **out, char **cause)
{
	struct json_object *doc;

	*out = NULL;
	if ((doc = parse_doc_ex(skel, len, total, nul, elem_err, elem_err_at,
	    cause)) == NULL)
		return -1;
	return status_from_doc(doc, sn, out, cause);
}

static int
parse_operation_obj(struct json_object *o, const char *path,
    struct cc_operation *op, char **cause)
{
	if (get_str(o, "operationId", path, 0, &op->id, cause) == -1 ||
	    get_str(o, "id", path, 0, &op->id, cause) == -1 ||
	    get_str(o, "action", path, 0, &op->action, cause) == -1 ||
	    get_text(o, "startTime", path, &op->start_time, cause) == -1)
		return -1;
	return 0;
}

static int
node_list_from_doc(struct json_object *doc, struct cc_streamed_nodes *sn,
    struct cc_node_list **out, char **cause)
{
	struct json_object *op;
	struct cc_node_list *nl;

	nl = xcalloc(1, sizeof(*nl));
	if (parse_nodes(doc, 1, &nl->nodes, &nl->nnodes, NULL, sn,
	    cause) == -1 ||
	    get_obj(doc, "operation", "", &op, cause) == -1)
		goto fail;
	if (op != NULL) {
		nl->operation = xcalloc(1, sizeof(*nl->operation));
		if (parse_operation_obj(op, "operation", nl->operation,
		    cause) == -1)
			goto fail;
	}
	json_object_put(doc);
	*out = nl;
	return 0;
fail:
	json_object_put(doc);
	cc_node_list_free(nl);
	return -1;
}

int
cc_parse_node_list(const char *buf, size_t len, struct cc_node_list **out,
    char **cause)
{
	struct json_object *doc;

	*out = NULL;
	if ((doc = parse_doc(buf, len, cause)) == NULL)
		return -1;
	return node_list_from_doc(doc, NULL, out, cause);
}

int
cc_json_finish_node_list(const char *skel, size_t len, size_t total,
    int nul, const char *elem_err, size_t elem_err_at,
    struct cc_streamed_nodes *sn, struct cc_node_list **out, char **cause)
{
	struct json_object *doc;

	*out = NULL;
	if ((doc = parse_doc_ex(skel, len, total, nul, elem_err, elem_err_at,
	    cause)) == NULL)
		return -1;
	return node_list_from_doc(doc, sn, out, cause);
}

int
cc_parse_operation(const char *buf, size_t len, struct cc_operation **out,
    char **cause)
{
	struct json_object *doc;
	struct cc_operation *op;

	*out = NULL;
	if ((doc = parse_doc(buf, len, cause)) == NULL)
		return -1;
	op = xcalloc(1, sizeof(*op));
	if (parse_operation_obj(doc, "", op, cause) == -1) {
		json_object_put(doc);
		cc_operation_free(op);
		return -1;
	}
	json_object_put(doc);
	*out = op;
	return 0;
}

int
cc_parse_create_result(const char *buf, size_t len,
    struct cc_create_result **out, char **cause)
{
	struct json_object *doc, *arr, *s;
	struct cc_create_result *cr;
	char pbuf[CC_PATH_MAX];
	size_t n, i;

	*out = NULL;
	if ((doc = parse_doc(buf, len, cause)) == NULL)
		return -1;
	cr = xcalloc(1, sizeof(*cr));
	if (get_str(doc, "operationId", "", 1, &cr->operation_id,
	    cause) == -1 ||
	    get_array(doc, "sets", "", 1, &arr, &n, cause) == -1)
		goto fail;
	if (n > 0)
		cr->sets = xcalloc(n, sizeof(*cr->sets));
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(arr, i);
		indexpath(pbuf, sizeof(pbuf), "", "sets", i);
		cr->nsets = i + 1;
		if (s == NULL || !json_object_is_type(s, json_type_object)) {
			type_error(pbuf, NULL, "an object", s, cause);
			goto fail;
		}
		if (get_int(s, "added", pbuf, 1, &cr->sets[i].added,
		    cause) == -1 ||
		    get_str(s, "message", pbuf, 0, &cr->sets[i].message,
		    cause) == -1)
			goto fail;
		if (cr->sets[i].added < 0) {
			*cause = xprintf("%s.added: negative", pbuf);
			goto fail;
		}
	}
	json_object_put(doc);
	*out = cr;
	return 0;
fail:
	json_object_put(doc);
	cc_create_result_free(cr);
	return -1;
}

int
cc_parse_action_result(const char *buf, size_t len,
    struct cc_action_result **out, char **cause)
{
	struct json_object *doc, *arr, *o;
	struct cc_action_result *ar;
	struct cc_node_outcome *no;
	char pbuf[CC_PATH_MAX], *status = NULL;
	size_t n, i;

	*out = NULL;
	if ((doc = parse_doc(buf, len, cause)) == NULL)
		return -1;
	ar = xcalloc(1, sizeof(*ar));
	if (get_str(doc, "operationId", "", 1, &ar->operation_id,
	    cause) == -1 ||
	    get_array(doc, "nodes", "", 0, &arr, &n, cause) == -1)
		goto fail;
	if (n > 0)
		ar->nodes = xcalloc(n, sizeof(*ar->nodes));
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		no = &ar->nodes[i];
		indexpath(pbuf, sizeof(pbuf), "", "nodes", i);
		ar->nnodes = i + 1;
		if (o == NULL || !json_object_is_type(o, json_type_object)) {
			type_error(pbuf, NULL, "an object", o, cause);
			goto fail;
		}
		free(status);
		status = NULL;
		if (get_text(o, "id", pbuf, &no->id, cause) == -1 ||
		    get_str(o, "name", pbuf, 0, &no->name, cause) == -1 ||
		    get_str(o, "status", pbuf, 1, &status, cause) == -1 ||
		    get_str(o, "error", pbuf, 0, &no->error, cause) == -1)
			goto fail;
		/* Anything but "OK" is a failure for that node. */
		no->ok = strcasecmp(status, "OK") == 0;
		if (!no->ok && no->error == NULL)
			no->error = xprintf("status %s", status);
	}
	free(status);
	json_object_put(doc);
	*out = ar;
	return 0;
fail:
	free(status);
	json_object_put(doc);
	cc_action_result_free(ar);
	return -1;
}

/* ---- Request bodies ----------------------------------------------------- */

static char *
to_string_put(struct json_object *o)
{
	char *s;

	s = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static void
add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

char *
cc_create_request_json(const struct cc_create_request *req, char **cause)
{
	const struct cc_create_set *s;
	struct json_object *o, *sets, *js, *def, *attr;
	size_t i;

	if (req->request_id == NULL || *req->request_id == '\0') {
		*cause = xstrdup("create: no requestId");
		return NULL;
	}
	if (req->nsets == 0 || req->sets == NULL) {
		*cause = xstrdup("create: no sets");
		return NULL;
	}
	for (i = 0; i < req->nsets; i++) {
		s = &req->sets[i];
		if (s->nodearray == NULL || *s->nodearray == '\0') {
			*cause = xprintf("create: sets[%zu]: no nodearray", i);
			return NULL;
		}
		if (s->count == 0 || s->count > INT_MAX) {
			*cause = xprintf("create: sets[%zu]: bad count %u", i,
			    s->count);
			return NULL;
		}
	}

	o = json_object_new_object();
	add_str(o, "requestId", req->request_id);
	sets = json_object_new_array();
	for (i = 0; i < req->nsets; i++) {
		s = &req->sets[i];
		js = json_object_new_object();
		add_str(js, "nodearray", s->nodearray);
		json_object_object_add(js, "count",
		    json_object_new_int((int)s->count));
		if (s->machine_type != NULL) {
			def = json_object_new_object();
			add_str(def, "machineType", s->machine_type);
			json_object_object_add(js, "definition", def);
		}
		if (s->name_format != NULL)
			add_str(js, "nameFormat", s->name_format);
		if (s->name_offset >= 0)
			json_object_object_add(js, "nameOffset",
			    json_object_new_int(s->name_offset));
		if (s->placement_group_id != NULL)
			add_str(js, "placementGroupId", s->placement_group_id);
		if (s->fixed >= 0 || s->start_automatically >= 0) {
			attr = json_object_new_object();
			if (s->fixed >= 0)
				json_object_object_add(attr, "Fixed",
				    json_object_new_boolean(s->fixed != 0));
			if (s->start_automatically >= 0)
				json_object_object_add(attr,
				    "StartAutomatically",
				    json_object_new_boolean(
				    s->start_automatically != 0));
			json_object_object_add(js, "nodeAttributes", attr);
		}
		json_object_array_add(sets, js);
	}
	json_object_object_add(o, "sets", sets);
	return to_string_put(o);
}

char *
cc_action_request_json(const char *request_id, const char *const *names,
    size_t n, char **cause)
{
	struct json_object *o, *arr;
	size_t i;

	if (request_id == NULL || *request_id == '\0') {
		*cause = xstrdup("node action: no requestId");
		return NULL;
	}
	if (n == 0 || names == NULL) {
		*cause = xstrdup("node action: no node names");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (names[i] == NULL || *names[i] == '\0') {
			*cause = xprintf("node action: names[%zu] is empty", i);
			return NULL;
		}
	}
	o = json_object_new_object();
	arr = json_object_new_array_ext((int)(n > INT_MAX ? INT_MAX : n));
	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(names[i]));
	json_object_object_add(o, "names", arr);
	add_str(o, "requestId", request_id);
	return to_string_put(o);
}

/* ---- Error bodies ------------------------------------------------------- */

/* Copy at most max bytes of s, control characters and runs of space
 * folded to one space, so the result is one line. */
static void
append_line(char **out, size_t *used, size_t *cap, const char *s, size_t len,
    size_t max)
{
	size_t i, start = *used;
	unsigned char c;

	for (i = 0; i < len && *used - start < max; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (*used == 0 || (*out)[*used - 1] == ' '))
			continue;
		if (*used + 2 > *cap) {
			*cap = *cap * 2 + 64;
			*out = xreallocarray(*out, *cap, 1);
		}
		(*out)[(*used)++] = (char)c;
	}
	if (i < len) {
		if (*used + 4 > *cap) {
			*cap = *used + 4;
			*out = xreallocarray(*out, *cap, 1);
		}
		memcpy(*out + *used, "...", 3);
		*used += 3;
	}
	(*out)[*used] = '\0';
}

char *
cc_error_body_text(const char *body, size_t len)
{
	struct json_object *doc = NULL, *msg, *det;
	char *out, *jcause = NULL;
	size_t used = 0, cap = 64;

	out = xmalloc(cap);
	out[0] = '\0';
	if (body == NULL || len == 0)
		return out;
	if (len <= 1024 * 1024)
		doc = parse_doc(body, len, &jcause);
	free(jcause);
	msg = field(doc, "Message");
	det = field(doc, "Detail");
	if (msg != NULL && !json_object_is_type(msg, json_type_string))
		msg = NULL;
	if (det != NULL && !json_object_is_type(det, json_type_string))
		det = NULL;
	if (msg != NULL || det != NULL) {
		if (msg != NULL)
			append_line(&out, &used, &cap,
			    json_object_get_string(msg),
			    (size_t)json_object_get_string_len(msg),
			    CC_ERROR_BODY_MAX);
		if (msg != NULL && det != NULL)
			append_line(&out, &used, &cap, ": ", 2, 2);
		if (det != NULL)
			append_line(&out, &used, &cap,
			    json_object_get_string(det),
			    (size_t)json_object_get_string_len(det),
			    CC_ERROR_BODY_MAX);
	} else
		append_line(&out, &used, &cap, body, len, CC_ERROR_BODY_MAX);
	json_object_put(doc);
	/* A trailing space left by folding. */
	while (used > 0 && out[used - 1] == ' ')
		out[--used] = '\0';
	return out;
}
