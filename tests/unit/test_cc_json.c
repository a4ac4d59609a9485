/* test_cc_json.c: common/cc_json.c, the CycleCloud client's JSON. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cc.h"
#include "testutil.h"
#include "util.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* A status document as the real server writes it (cut down), with
 * fields we do not read and a node Configuration we must not keep. */
static const char status_doc[] =
    "{\"state\":\"Started\",\"targetState\":\"Started\",\"maxCount\":52,"
    "\"maxCoreCount\":2048,\"someNewField\":{\"x\":[1,2]},"
    "\"nodearrays\":[{\"name\":\"hpc\",\"maxCount\":16,\"maxCoreCount\":1920,"
    " \"nodearray\":{\"MachineType\":\"Standard_HB120rs_v3, Standard_HB176\","
    "  \"ShutdownPolicy\":\"Deallocate\",\"Azure\":{\"MaxScalesetSize\":8,"
    "  \"Other\":1},\"Configuration\":{\"slurm\":{\"autoscale\":true,"
    "  \"hpc\":true,\"partition\":\"big\",\"default_partition\":true,"
    "  \"dampen_memory\":7.5,\"use_pcpu\":false,\"unknown\":\"x\"},"
    "  \"cyclecloud\":{\"a\":1}}},"
    " \"buckets\":[{\"bucketId\":\"b1\",\"definition\":{\"machineType\":"
    "  \"Standard_HB120rs_v3\"},\"maxCount\":16,\"maxCoreCount\":1920,"
    "  \"activeCount\":2,\"activeCoreCount\":240,\"availableCount\":14,"
    "  \"availableCoreCount\":1680,\"quotaCount\":100,"
    "  \"maxPlacementGroupSize\":8,\"placementGroups\":[{\"name\":"
    "  \"hpc-Standard_HB120rs_v3-pg0\",\"activeCount\":2}],\"valid\":true,"
    "  \"lastCapacityFailure\":-1,\"activeNodes\":[\"hpc-pg0-1\"],"
    "  \"virtualMachine\":{\"vcpuCount\":120,\"pcpuCount\":120,"
    "  \"gpuCount\":0,\"memory\":448.0,\"infiniband\":true}}]},"
    " {\"name\":\"htc\",\"maxCount\":32,\"nodearray\":{\"MachineType\":"
    "  [\"Standard_F2s_v2\",\"Standard_F4s_v2\"],\"Configuration\":{}},"
    "  \"buckets\":[{\"definition\":{\"machineType\":\"Standard_F2s_v2\"},"
    "  \"virtualMachine\":{\"vcpuCount\":2,\"pcpuCount\":1,\"memory\":4}}]}],"
    "\"nodes\":[{\"Name\":\"hpc-pg0-1\",\"NodeId\":\"id-1\","
    " \"Template\":\"hpc\",\"MachineType\":\"Standard_HB120rs_v3\","
    " \"Status\":\"Ready\",\"State\":\"Started\",\"TargetState\":\"Started\","
    " \"PrivateIp\":\"10.0.0.4\",\"Hostname\":\"ip-0a000004\","
    " \"PlacementGroupId\":\"hpc-Standard_HB120rs_v3-pg0\","
    " \"InstanceId\":\"vm-1\",\"KeepAlive\":true,\"Fixed\":true,"
    " \"ShutdownPolicy\":\"Terminate\",\"RequestId\":\"r-1\","
    " \"Configuration\":{\"slurm\":{\"autoscale\":true},\"big\":\"xxxx\"},"
    " \"Unknown\":[null]},"
    " {\"Name\":\"htc-1\",\"Status\":\"Off\",\"PrivateIp\":null}]}";

START_TEST(status_full)
{
	struct cc_cluster_status *cs;
	struct cc_nodearray *na;
	struct cc_bucket *b;
	struct cc_node *n;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_cluster_status(S(status_doc), &cs, &cause),
	    0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(cs->state, "Started");
	ck_assert_int_eq(cs->max_count, 52);
	ck_assert_uint_eq(cs->nnodearrays, 2);
	na = &cs->nodearrays[0];
	ck_assert_str_eq(na->name, "hpc");
	ck_assert_str_eq(na->machine_type, "Standard_HB120rs_v3");
	ck_assert_str_eq(na->partition, "big");
	ck_assert_str_eq(na->shutdown_policy, "Deallocate");
	ck_assert_int_eq(na->autoscale, 1);
	ck_assert_int_eq(na->default_partition, 1);
	ck_assert_int_eq(na->hpc, 1);
	ck_assert_int_eq(na->use_pcpu, 0);
	ck_assert_double_eq(na->dampen_memory, 7.5);
	ck_assert_int_eq(na->max_scaleset_size, 8);
	ck_assert_uint_eq(na->nbuckets, 1);
	b = &na->buckets[0];
	ck_assert_str_eq(b->bucket_id, "b1");
	ck_assert_str_eq(b->machine_type, "Standard_HB120rs_v3");
	ck_assert_int_eq(b->available_count, 14);
	ck_assert_int_eq(b->max_placement_group_size, 8);
	ck_assert_int_eq(b->vm.vcpu_count, 120);
	ck_assert_double_eq(b->vm.memory_gb, 448.0);
	ck_assert_int_eq(b->vm.infiniband, 1);
	ck_assert_double_eq(b->last_capacity_failure, -1);
	ck_assert_uint_eq(b->npgs, 1);
	ck_assert_str_eq(b->pgs[0].name, "hpc-Standard_HB120rs_v3-pg0");
	ck_assert_int_eq(b->pgs[0].active_count, 2);

	/* Defaults where the record is silent. */
	na = &cs->nodearrays[1];
	ck_assert_str_eq(na->machine_type, "Standard_F2s_v2");
	ck_assert_str_eq(na->partition, "htc");
	ck_assert_str_eq(na->shutdown_policy, "Terminate");
	ck_assert_int_eq(na->autoscale, 0);
	ck_assert_int_eq(na->hpc, 1);
	ck_assert_int_eq(na->use_pcpu, 1);
	ck_assert_double_eq(na->dampen_memory, 5);
	ck_assert_int_eq(na->max_scaleset_size, 40);
	ck_assert_int_eq(na->buckets[0].valid, 1);
	ck_assert_ptr_null(na->buckets[0].bucket_id);
	ck_assert_double_eq(na->buckets[0].vm.memory_gb, 4.0);

	ck_assert_int_eq(cs->has_nodes, 1);
	ck_assert_uint_eq(cs->nnodes, 2);
	n = &cs->nodes[0];
	ck_assert_str_eq(n->name, "hpc-pg0-1");
	ck_assert_str_eq(n->node_id, "id-1");
	ck_assert_str_eq(n->template_name, "hpc");
	ck_assert_str_eq(n->machine_type, "Standard_HB120rs_v3");
	ck_assert_str_eq(n->status, "Ready");
	ck_assert_str_eq(n->state, "Started");
	ck_assert_str_eq(n->target_state, "Started");
	ck_assert_str_eq(n->private_ip, "10.0.0.4");
	ck_assert_str_eq(n->hostname, "ip-0a000004");
	ck_assert_str_eq(n->placement_group_id, "hpc-Standard_HB120rs_v3-pg0");
	ck_assert_str_eq(n->instance_id, "vm-1");
	ck_assert_str_eq(n->shutdown_policy, "Terminate");
	ck_assert_str_eq(n->request_id, "r-1");
	ck_assert_int_eq(n->keep_alive, 1);
	ck_assert_int_eq(n->fixed, 1);
	/* Absent and null are the same: not set. */
	n = &cs->nodes[1];
	ck_assert_str_eq(n->status, "Off");
	ck_assert_ptr_null(n->private_ip);
	ck_assert_ptr_null(n->state);
	ck_assert_int_eq(n->fixed, 0);
	cc_cluster_status_free(cs);
}
END_TEST

START_TEST(status_without_nodes)
{
	struct cc_cluster_status *cs;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_cluster_status(S("{\"nodearrays\":[]}"),
	    &cs, &cause), 0);
	ck_assert_int_eq(cs->has_nodes, 0);
	ck_assert_uint_eq(cs->nnodes, 0);
	ck_assert_uint_eq(cs->nnodearrays, 0);
	ck_assert_ptr_null(cs->state);
	cc_cluster_status_free(cs);
	cc_cluster_status_free(NULL);
}
END_TEST

START_TEST(node_list_and_operation)
{
	static const char doc[] =
	    "{\"nodes\":[{\"Name\":\"a\",\"MachineType\":[]},"
	    "{\"Name\":\"b\",\"MachineType\":\" X , Y\"}],"
	    "\"operation\":{\"action\":\"start\","
	    "\"startTime\":\"2024-01-02T03:04:05Z\"}}";
	struct cc_node_list *nl;
	struct cc_operation *op;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_node_list(S(doc), &nl, &cause), 0);
	ck_assert_uint_eq(nl->nnodes, 2);
	ck_assert_ptr_null(nl->nodes[0].machine_type);
	ck_assert_str_eq(nl->nodes[1].machine_type, "X");
	ck_assert_ptr_nonnull(nl->operation);
	ck_assert_str_eq(nl->operation->action, "start");
	ck_assert_str_eq(nl->operation->start_time, "2024-01-02T03:04:05Z");
	ck_assert_ptr_null(nl->operation->id);
	cc_node_list_free(nl);

	ck_assert_int_eq(cc_parse_node_list(S("{\"nodes\":[]}"), &nl, &cause),
	    0);
	ck_assert_ptr_null(nl->operation);
	cc_node_list_free(nl);

	ck_assert_int_eq(cc_parse_operation(S("{\"action\":\"create\","
	    "\"startTime\":1700000000.5,\"requestId\":\"r\"}"), &op, &cause),
	    0);
	ck_assert_str_eq(op->action, "create");
	ck_assert_str_eq(op->start_time, "1700000000.5");
	cc_operation_free(op);
}
END_TEST

START_TEST(create_and_action_results)
{
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_create_result(S("{\"operationId\":\"op1\","
	    "\"sets\":[{\"added\":4},{\"added\":1,\"message\":"
	    "\"3 node(s) not added: no capacity\"}]}"), &cr, &cause), 0);
	ck_assert_str_eq(cr->operation_id, "op1");
	ck_assert_uint_eq(cr->nsets, 2);
	ck_assert_int_eq(cr->sets[0].added, 4);
	ck_assert_ptr_null(cr->sets[0].message);
	ck_assert_str_eq(cr->sets[1].message,
	    "3 node(s) not added: no capacity");
	cc_create_result_free(cr);

	ck_assert_int_eq(cc_parse_action_result(S("{\"operationId\":\"op2\","
	    "\"nodes\":[{\"id\":\"i1\",\"name\":\"a\",\"status\":\"OK\"},"
	    "{\"id\":\"i2\",\"name\":\"b\",\"status\":\"Error\",\"error\":"
	    "\"This node must be terminated before it can be removed\"},"
	    "{\"name\":\"c\",\"status\":\"Error\"}]}"), &ar, &cause), 0);
	ck_assert_str_eq(ar->operation_id, "op2");
	ck_assert_uint_eq(ar->nnodes, 3);
	ck_assert_int_eq(ar->nodes[0].ok, 1);
	ck_assert_ptr_null(ar->nodes[0].error);
	ck_assert_int_eq(ar->nodes[1].ok, 0);
	ck_assert_str_eq(ar->nodes[1].error,
	    "This node must be terminated before it can be removed");
	ck_assert_int_eq(ar->nodes[2].ok, 0);
	ck_assert_str_eq(ar->nodes[2].error, "status Error");
	cc_action_result_free(ar);
}
END_TEST

START_TEST(request_bodies)
{
	struct cc_create_set sets[2] = {
		{ .nodearray = "hpc", .count = 4, .machine_type = "Standard_X",
		  .name_format = "hpc-pg0-%d", .name_offset = 1,
		  .placement_group_id = "hpc-Standard_X-pg0", .fixed = -1,
		  .start_automatically = -1 },
		{ .nodearray = "htc", .count = 1, .name_offset = -1,
		  .fixed = 1, .start_automatically = 0 },
	};
	struct cc_create_request req = { "rid-1", sets, 2 };
	const char *names[] = { "a", "b\"c" };
	struct json_object *o, *s0, *s1, *v;
	char *body, *cause = NULL;

	body = cc_create_request_json(&req, &cause);
	ck_assert_ptr_nonnull(body);
	o = json_tokener_parse(body);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "requestId")), "rid-1");
	s0 = json_object_array_get_idx(json_object_object_get(o, "sets"), 0);
	s1 = json_object_array_get_idx(json_object_object_get(o, "sets"), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(s0,
	    "count")), 4);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(s0,
	    "nameOffset")), 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    json_object_object_get(s0, "definition"), "machineType")),
	    "Standard_X");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(s0,
	    "placementGroupId")), "hpc-Standard_X-pg0");
	ck_assert_int_eq(json_object_object_get_ex(s0, "nodeAttributes", &v),
	    0);
	ck_assert_int_eq(json_object_object_get_ex(s1, "nameOffset", &v), 0);
	ck_assert_int_eq(json_object_object_get_ex(s1, "nameFormat", &v), 0);
	v = json_object_object_get(s1, "nodeAttributes");
	ck_assert_int_eq(json_object_get_boolean(json_object_object_get(v,
	    "Fixed")), 1);
	ck_assert_int_eq(json_object_get_boolean(json_object_object_get(v,
	    "StartAutomatically")), 0);
	json_object_put(o);
	free(body);

	body = cc_action_request_json("rid-2", names, 2, &cause);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body,
	    "{\"names\":[\"a\",\"b\\\"c\"],\"requestId\":\"rid-2\"}");
	free(body);
}
END_TEST

START_TEST(error_bodies)
{
	char *t, big[600];

	t = cc_error_body_text(S("{\"Message\":\"Bad\\nthing\","
	    "\"Detail\":\"more\"}"));
	ck_assert_str_eq(t, "Bad thing: more");
	free(t);
	t = cc_error_body_text(S("{\"Message\":\"only\"}"));
	ck_assert_str_eq(t, "only");
	free(t);
	t = cc_error_body_text(S("<html>\r\n<b>502 Bad Gateway</b>\r\n"
	    "</html>\r\n"));
	ck_assert_str_eq(t, "<html> <b>502 Bad Gateway</b> </html>");
	free(t);
	t = cc_error_body_text(NULL, 0);
	ck_assert_str_eq(t, "");
	free(t);
	memset(big, 'x', sizeof(big));
	t = cc_error_body_text(big, sizeof(big));
	ck_assert_uint_eq(strlen(t), 203);
	ck_assert_str_eq(t + 200, "...");
	free(t);
}
END_TEST

/* ---- limits ---- */

START_TEST(many_nodes)
{
	struct cc_node_list *nl;
	char *doc, *p, *cause = NULL;
	size_t n = 20000, i, cap = n * 300 + 64;

	doc = malloc(cap);
	ck_assert_ptr_nonnull(doc);
	p = doc + sprintf(doc, "{\"nodes\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"Name\":\"hpc-pg%zu-%zu\",\"Status\":"
		    "\"Ready\",\"PrivateIp\":\"10.1.%zu.%zu\",\"Configuration\":"
		    "{\"slurm\":{\"autoscale\":true},\"pad\":\"%0100d\"}}",
		    i ? "," : "", i / 8, i % 8 + 1, i / 256, i % 256, 0);
	p += sprintf(p, "]}");
	ck_assert_int_eq(cc_parse_node_list(doc, (size_t)(p - doc), &nl,
	    &cause), 0);
	ck_assert_uint_eq(nl->nnodes, n);
	ck_assert_str_eq(nl->nodes[n - 1].name, "hpc-pg2499-8");
	ck_assert_str_eq(nl->nodes[n - 1].private_ip, "10.1.78.31");
	cc_node_list_free(nl);
	free(doc);
}
END_TEST

START_TEST(deep_nesting)
{
	char doc[4096], *cause = NULL;
	struct cc_node_list *nl;
	size_t i, n = 1000;

	for (i = 0; i < n; i++)
		doc[i] = '[';
	for (i = 0; i < n; i++)
		doc[n + i] = ']';
	ck_assert_int_eq(cc_parse_node_list(doc, 2 * n, &nl, &cause), -1);
	ck_assert_ptr_null(nl);
	ck_assert_ptr_nonnull(strstr(cause, "not JSON"));
	free(cause);
}
END_TEST

START_TEST(int_range)
{
	struct cc_cluster_status *cs;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_cluster_status(S("{\"nodearrays\":[],"
	    "\"maxCount\":99999999999}"), &cs, &cause), -1);
	ck_assert_str_eq(cause, "maxCount: integer out of range");
	free(cause);
}
END_TEST

/* ---- errors ---- */

struct bad_case {
	const char	*doc;
	const char	*cause;
};

START_TEST(status_bad)
{
	static const struct bad_case cases[] = {
		{ "", "answer is not JSON: truncated" },
		{ "[]", "answer is a JSON array, not an object" },
		{ "{}", "nodearrays: missing" },
		{ "{\"nodearrays\":null}", "nodearrays: missing" },
		{ "{\"nodearrays\":{}}",
		  "nodearrays: expected an array, got object" },
		{ "{\"nodearrays\":[] } x",
		  "answer is not JSON: data after the document" },
		{ "{\"nodearrays\":[{\"maxCount\":1}]}",
		  "nodearrays[0].name: missing" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"maxCount\":\"1\"}]}",
		  "nodearrays[0].maxCount: expected an integer, got string" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"nodearray\":{"
		  "\"Configuration\":{\"slurm\":{\"autoscale\":\"true\"}}}}]}",
		  "nodearrays[0].nodearray.Configuration.slurm.autoscale: "
		  "expected a boolean, got string" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"nodearray\":{"
		  "\"MachineType\":5}}]}",
		  "nodearrays[0].nodearray.MachineType: expected a string or "
		  "a list, got int" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"nodearray\":{"
		  "\"Azure\":{\"MaxScalesetSize\":0}}}]}",
		  "nodearrays[0].nodearray.Azure.MaxScalesetSize: must be at "
		  "least 1" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"buckets\":[{"
		  "\"virtualMachine\":{\"memory\":\"4\"}}]}]}",
		  "nodearrays[0].buckets[0].virtualMachine.memory: expected a "
		  "number, got string" },
		{ "{\"nodearrays\":[{\"name\":\"a\",\"buckets\":[{"
		  "\"placementGroups\":[{\"activeCount\":1}]}]}]}",
		  "nodearrays[0].buckets[0].placementGroups[0].name: missing" },
		{ "{\"nodearrays\":[],\"nodes\":[{\"Name\":\"a\"},"
		  "{\"Name\":\"b\",\"KeepAlive\":\"no\"}]}",
		  "nodes[1].KeepAlive: expected a boolean, got string" },
		{ "{\"nodearrays\":[],\"nodes\":[{\"Status\":\"Off\"}]}",
		  "nodes[0].Name: missing" },
		{ "{\"nodearrays\":[],\"nodes\":[7]}",
		  "nodes[0]: expected an object, got int" },
	};
	struct cc_cluster_status *cs = (void *)1;
	char *cause;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		cause = NULL;
		ck_assert_msg(cc_parse_cluster_status(cases[i].doc,
		    strlen(cases[i].doc), &cs, &cause) == -1, "accepted %s",
		    cases[i].doc);
		ck_assert_ptr_null(cs);
		ck_assert_ptr_nonnull(cause);
		ck_assert_str_eq(cause, cases[i].cause);
		free(cause);
	}
}
END_TEST

START_TEST(results_bad)
{
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	struct cc_node_list *nl;
	char *cause = NULL;

	ck_assert_int_eq(cc_parse_create_result(S("{\"sets\":[]}"), &cr,
	    &cause), -1);
	ck_assert_str_eq(cause, "operationId: missing");
	free(cause);
	ck_assert_int_eq(cc_parse_create_result(S("{\"operationId\":\"o\","
	    "\"sets\":[{\"added\":-1}]}"), &cr, &cause), -1);
	ck_assert_str_eq(cause, "sets[0].added: negative");
	free(cause);
	ck_assert_int_eq(cc_parse_create_result(S("{\"operationId\":\"o\","
	    "\"sets\":[{\"added\":1.5}]}"), &cr, &cause), -1);
	ck_assert_str_eq(cause,
	    "sets[0].added: expected an integer, got double");
	free(cause);
	ck_assert_int_eq(cc_parse_action_result(S("{\"operationId\":1}"), &ar,
	    &cause), -1);
	ck_assert_str_eq(cause, "operationId: expected a string, got int");
	free(cause);
	ck_assert_int_eq(cc_parse_action_result(S("{\"operationId\":\"o\","
	    "\"nodes\":[{\"name\":\"a\"}]}"), &ar, &cause), -1);
	ck_assert_str_eq(cause, "nodes[0].status: missing");
	free(cause);
	ck_assert_int_eq(cc_parse_node_list(S("{\"operation\":{}}"), &nl,
	    &cause), -1);
	ck_assert_str_eq(cause, "nodes: missing");
	free(cause);
	ck_assert_int_eq(cc_parse_node_list(S("{\"nodes\":[],"
	    "\"operation\":[]}"), &nl, &cause), -1);
	ck_assert_str_eq(cause, "operation: expected an object, got array");
	free(cause);
	/* A NUL inside the answer is not JSON. */
	ck_assert_int_eq(cc_parse_node_list("{\"nodes\":[]}\0", 13, &nl,
	    &cause), -1);
	free(cause);
}
END_TEST

START_TEST(requests_bad)
{
	struct cc_create_set set = { .nodearray = "hpc", .count = 0,
	    .name_offset = -1, .fixed = -1, .start_automatically = -1 };
	struct cc_create_request req = { "r", &set, 1 };
	const char *names[] = { "a", "" };
	char *cause = NULL;

	ck_assert_ptr_null(cc_create_request_json(&req, &cause));
	ck_assert_str_eq(cause, "create: sets[0]: bad count 0");
	free(cause);
	req.nsets = 0;
	ck_assert_ptr_null(cc_create_request_json(&req, &cause));
	ck_assert_str_eq(cause, "create: no sets");
	free(cause);
	set.count = 1;
	set.nodearray = NULL;
	req.nsets = 1;
	ck_assert_ptr_null(cc_create_request_json(&req, &cause));
	ck_assert_str_eq(cause, "create: sets[0]: no nodearray");
	free(cause);
	ck_assert_ptr_null(cc_action_request_json("r", names, 2, &cause));
	ck_assert_str_eq(cause, "node action: names[1] is empty");
	free(cause);
	ck_assert_ptr_null(cc_action_request_json("r", names, 0, &cause));
	ck_assert_str_eq(cause, "node action: no node names");
	free(cause);
	ck_assert_ptr_null(cc_action_request_json(NULL, names, 1, &cause));
	ck_assert_str_eq(cause, "node action: no requestId");
	free(cause);
}
END_TEST

static Suite *
cc_json_suite(void)
{
	Suite *s = suite_create("cc_json");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, status_full);
	tcase_add_test(tc, status_without_nodes);
	tcase_add_test(tc, node_list_and_operation);
	tcase_add_test(tc, create_and_action_results);
	tcase_add_test(tc, request_bodies);
	tcase_add_test(tc, error_bodies);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, many_nodes);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, int_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, status_bad);
	tcase_add_test(tc, results_bad);
	tcase_add_test(tc, requests_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(cc_json_suite());
}
