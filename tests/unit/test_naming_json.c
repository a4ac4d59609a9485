/* test_naming_json.c: common/naming_json.c, nodearrays to and from JSON. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "naming_json.h"
#include "slurmgen.h"
#include "testutil.h"
#include "xmalloc.h"

static void
mk(struct ccs_nodearray *a)
{
	ccs_nodearray_init(a);
	a->name = xstrdup("gpu");
	a->machine_type = xstrdup("Standard_NC24ads_A100_v4");
	a->vcpu = 24;
	a->pcpu = 12;
	a->gpu = 1;
	a->memory_gb = 220.5;
	a->max_count = 7;
	a->max_scaleset_size = 3;
	a->hpc = false;
	a->autoscale = true;
	a->partition = xstrdup("gpupart");
	a->default_partition = true;
	a->dampen_memory = 7.5;
	a->use_pcpu = false;
	a->shutdown_policy = CCS_SHUTDOWN_DEALLOCATE;
}

/* Parse text as one nodearray; returns the rc, *cause when it fails. */
static int
parse(const char *text, struct ccs_nodearray *na, char **cause)
{
	json_object *o = json_tokener_parse(text);
	int rc;

	ck_assert_ptr_nonnull(o);
	*cause = NULL;
	rc = ccs_nodearray_from_json(o, na, cause);
	json_object_put(o);
	return rc;
}

START_TEST(roundtrip)
{
	struct ccs_nodearray a, b;
	json_object *o, *v;
	char *cause = NULL;

	mk(&a);
	o = ccs_nodearray_to_json(&a);
	/* The keys are the struct's field names. */
	ck_assert(json_object_object_get_ex(o, "max_scaleset_size", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	ck_assert(json_object_object_get_ex(o, "shutdown_policy", &v));
	ck_assert_str_eq(json_object_get_string(v), "deallocate");
	ck_assert(json_object_object_get_ex(o, "use_pcpu", &v));
	ck_assert(!json_object_get_boolean(v));

	ck_assert_int_eq(ccs_nodearray_from_json(o, &b, &cause), 0);
	ck_assert_str_eq(b.name, "gpu");
	ck_assert_str_eq(b.machine_type, "Standard_NC24ads_A100_v4");
	ck_assert_uint_eq(b.vcpu, 24);
	ck_assert_uint_eq(b.pcpu, 12);
	ck_assert_uint_eq(b.gpu, 1);
	ck_assert(b.memory_gb == 220.5);
	ck_assert_uint_eq(b.max_count, 7);
	ck_assert_uint_eq(b.max_scaleset_size, 3);
	ck_assert(!b.hpc);
	ck_assert(b.autoscale);
	ck_assert_str_eq(b.partition, "gpupart");
	ck_assert(b.default_partition);
	ck_assert(b.dampen_memory == 7.5);
	ck_assert(!b.use_pcpu);
	ck_assert_int_eq(b.shutdown_policy, CCS_SHUTDOWN_DEALLOCATE);
	/* Same derived Slurm values on both sides of the socket. */
	ck_assert_uint_eq(ccs_real_memory_mib(&a), ccs_real_memory_mib(&b));
	json_object_put(o);
	ccs_nodearray_clear(&a);
	ccs_nodearray_clear(&b);
}
END_TEST

START_TEST(defaults_and_nulls)
{
	struct ccs_nodearray b;
	char *cause;

	/* Only name is required; null machine_type and partition are the
	 * daemon's way to say "no bucket" and "the array's name". */
	ck_assert_int_eq(parse("{\"name\": \"htc\", \"machine_type\": null,"
	    " \"partition\": null, \"future_key\": [1]}", &b, &cause), 0);
	ck_assert_str_eq(b.name, "htc");
	ck_assert_ptr_null(b.machine_type);
	ck_assert_ptr_null(b.partition);
	ck_assert(b.hpc);
	ck_assert(b.use_pcpu);
	ck_assert(!b.autoscale);
	ck_assert_uint_eq(b.max_scaleset_size, CCS_DEFAULT_MAX_SCALESET_SIZE);
	ck_assert(b.dampen_memory == CCS_DEFAULT_DAMPEN_MEMORY);
	ck_assert_int_eq(b.shutdown_policy, CCS_SHUTDOWN_TERMINATE);
	ck_assert_str_eq(ccs_nodearray_partition(&b), "htc");
	ccs_nodearray_clear(&b);
}
END_TEST

START_TEST(cluster_roundtrip)
{
	struct ccs_nodearray in[2], *out;
	json_object *o;
	char *cluster, *cause = NULL;
	size_t n;

	mk(&in[0]);
	mk(&in[1]);
	free(in[1].name);
	in[1].name = xstrdup("login");
	in[1].autoscale = false;
	o = ccs_cluster_to_json("burst", in, 2);
	ck_assert_int_eq(ccs_cluster_from_json(o, &cluster, &out, &n, &cause),
	    0);
	ck_assert_str_eq(cluster, "burst");
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].name, "gpu");
	ck_assert_str_eq(out[1].name, "login");
	ck_assert(!out[1].autoscale);
	free(cluster);
	ccs_nodearrays_free(out, n);
	json_object_put(o);
	ccs_nodearray_clear(&in[0]);
	ccs_nodearray_clear(&in[1]);
}
END_TEST

/* The generator takes what came over the wire: max_count 0 is its error. */
START_TEST(to_generator)
{
	struct ccs_gen_result *r = NULL;
	struct ccs_nodearray b;
	char *cause, dir[] = "/tmp/test_naming_json.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(parse("{\"name\": \"hpc\", \"machine_type\": "
	    "\"Standard_F2s_v2\", \"vcpu\": 2, \"pcpu\": 1, \"memory_gb\": 4,"
	    " \"max_count\": 0, \"autoscale\": true}", &b, &cause), 0);
	ck_assert_int_eq(ccs_slurmgen(dir, &b, 1, CCS_GEN_DRY_RUN,
	    0, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "maxCount") != NULL ||
	    strstr(cause, "max_count") != NULL, "cause: %s", cause);
	free(cause);
	ccs_nodearray_clear(&b);
	ck_assert_int_eq(rmdir(dir), 0);	/* nothing was written */
}
END_TEST

START_TEST(big_values)
{
	struct ccs_nodearray b;
	char *cause;

	ck_assert_int_eq(parse("{\"name\": \"x\", \"max_count\": 4294967295}",
	    &b, &cause), 0);
	ck_assert_uint_eq(b.max_count, 4294967295U);
	ccs_nodearray_clear(&b);
	ck_assert_int_eq(parse("{\"name\": \"x\", \"max_count\": 4294967296}",
	    &b, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "max_count"));
	ck_assert_ptr_nonnull(strstr(cause, "out of range"));
	free(cause);
	ck_assert_int_eq(parse("{\"name\": \"x\", \"dampen_memory\": 100}",
	    &b, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "dampen_memory"));
	free(cause);
}
END_TEST

struct bad {
	const char	*json;
	const char	*want;		/* in the cause */
};

static const struct bad bads[] = {
	{ "{}", "name: missing" },
	{ "{\"name\": null}", "name: expected a string, got null" },
	{ "{\"name\": 3}", "name: expected a string, got int" },
	{ "{\"name\": \"\"}", "name: empty" },
	{ "{\"name\": \"a\", \"vcpu\": \"4\"}",
	  "nodearray a: vcpu: expected an integer, got string" },
	{ "{\"name\": \"a\", \"vcpu\": 4.5}",
	  "vcpu: expected an integer, got double" },
	{ "{\"name\": \"a\", \"vcpu\": -1}", "vcpu: -1 out of range" },
	{ "{\"name\": \"a\", \"hpc\": 1}", "hpc: expected a boolean, got int" },
	{ "{\"name\": \"a\", \"memory_gb\": \"4\"}",
	  "memory_gb: expected a number, got string" },
	{ "{\"name\": \"a\", \"memory_gb\": -4}", "memory_gb: -4 out of range" },
	{ "{\"name\": \"a\", \"shutdown_policy\": \"Terminate\"}",
	  "shutdown_policy: \"Terminate\" is neither" },
	{ "{\"name\": \"a\", \"shutdown_policy\": null}",
	  "shutdown_policy: expected a string, got null" },
	{ "{\"name\": \"a\", \"machine_type\": []}",
	  "machine_type: expected a string, got array" },
};

START_TEST(bad_nodearray)
{
	struct ccs_nodearray b;
	char *cause;

	ck_assert_int_eq(parse(bads[_i].json, &b, &cause), -1);
	ck_assert_msg(strstr(cause, bads[_i].want) != NULL,
	    "%s: got \"%s\", want \"%s\"", bads[_i].json, cause,
	    bads[_i].want);
	ck_assert_ptr_null(strchr(cause, '\n'));
	/* Nothing is left half-filled. */
	ck_assert_ptr_null(b.name);
	ck_assert_ptr_null(b.machine_type);
	free(cause);
}
END_TEST

START_TEST(bad_cluster)
{
	static const char *const texts[] = {
		"[]", "{\"cluster\": \"c\"}",
		"{\"cluster\": \"c\", \"nodearrays\": {}}",
		"{\"cluster\": 1, \"nodearrays\": []}",
		("{\"cluster\": \"c\", \"nodearrays\": [{\"name\": \"a\"}, "
		"{\"name\": \"b\", \"gpu\": true}]}"),
	};
	static const char *const want[] = {
		"cluster: expected an object", "nodearrays: expected an array",
		"nodearrays: expected an array, got object",
		"cluster: expected a string",
		"nodearrays[1]: nodearray b: gpu: expected an integer",
	};
	struct ccs_nodearray *v;
	json_object *o;
	char *cluster, *cause = NULL;
	size_t n;

	o = json_tokener_parse(texts[_i]);
	ck_assert_int_eq(ccs_cluster_from_json(o, &cluster, &v, &n, &cause),
	    -1);
	ck_assert_msg(strstr(cause, want[_i]) != NULL, "got \"%s\"", cause);
	ck_assert_ptr_null(v);
	ck_assert_ptr_null(cluster);
	ck_assert_uint_eq(n, 0);
	free(cause);
	json_object_put(o);
}
END_TEST

static Suite *
naming_json_suite(void)
{
	Suite *s = suite_create("naming_json");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, defaults_and_nulls);
	tcase_add_test(tc, cluster_roundtrip);
	tcase_add_test(tc, to_generator);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, big_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, bad_nodearray, 0,
	    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_loop_test(tc, bad_cluster, 0, 5);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(naming_json_suite());
}
