/*
 * ctl_nodes.c: `ccslurmctl nodes [--json] [HOSTLIST]`: one row a node,
 * aligned so a person reads it at a glance:
 *
 *	NAME        NODEARRAY  STATE    CC-STATUS  IP         AGE    ERROR
 *	hpc-pg0-1   hpc        ready    Ready      10.88.0.4  3m12s  -
 *
 * AGE is how long the node has been in its STATE.  --json prints the
 * daemon's answer as given ({"nodes": [...]}, interfaces.md).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

enum { C_NAME, C_ARRAY, C_STATE, C_CC, C_IP, C_AGE, C_ERROR, C_N };
static const char *const headers[C_N] = {
    "NAME", "NODEARRAY", "STATE", "CC-STATUS", "IP", "AGE", "ERROR"};
#define CELL_MAX 128 /* a cell is cut (log_esc) at about this */

/* A string member, escaped for a terminal, "-" when null or absent. */
static void
cell(json_object *node, const char *key, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(node, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null)) {
		snprintf(buf, len, "-");
		return;
	}
	log_esc_buf(json_object_get_string(v), buf, len);
}

static void
print_table(json_object *arr)
{
	size_t n = json_object_array_length(arr), i, c, w[C_N];
	char(*cells)[C_N][CELL_MAX];
	time_t now = time(NULL);
	json_object *node, *v;

	cells = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*cells));
	for (c = 0; c < C_N; c++)
		w[c] = strlen(headers[c]);
	for (i = 0; i < n; i++) {
		node = json_object_array_get_idx(arr, i);
		cell(node, "name", cells[i][C_NAME], CELL_MAX);
		cell(node, "nodearray", cells[i][C_ARRAY], CELL_MAX);
		cell(node, "state", cells[i][C_STATE], CELL_MAX);
		cell(node, "cc_status", cells[i][C_CC], CELL_MAX);
		cell(node, "ip", cells[i][C_IP], CELL_MAX);
		cell(node, "error", cells[i][C_ERROR], CELL_MAX);
		if (json_object_object_get_ex(node, "since", &v) && v != NULL &&
		    json_object_get_int64(v) > 0)
			ctl_fmt_age((int64_t)now - json_object_get_int64(v),
			    cells[i][C_AGE], CELL_MAX);
		else
			snprintf(cells[i][C_AGE], CELL_MAX, "-");
		for (c = 0; c < C_N; c++) {
			if (strlen(cells[i][c]) > w[c])
				w[c] = strlen(cells[i][c]);
		}
	}
	for (c = 0; c < C_N - 1; c++)
		printf("%-*s  ", (int)w[c], headers[c]);
	printf("%s\n", headers[C_N - 1]);
	for (i = 0; i < n; i++) {
		for (c = 0; c < C_N - 1; c++)
			printf("%-*s  ", (int)w[c], cells[i][c]);
		printf("%s\n", cells[i][C_N - 1]);
	}
	free(cells);
}

int
ctl_nodes(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	json_object *req, *reply, *arr;
	int ch, rc, json = ctl->json;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'j')
			return ctl_usage(ctl);
		json = 1;
	}
	if (argc - optind > 1)
		return ctl_usage(ctl);
	req = json_object_new_object();
	if (optind < argc)
		json_object_object_add(
		    req, "hostlist", json_object_new_string(argv[optind]));
	rc = ctl_call(ctl, PROTO_NODES, req, &reply);
	json_object_put(req);
	if (rc != CTL_EXIT_OK) {
		json_object_put(reply);
		return rc;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(
		                   reply, JSON_C_TO_STRING_PLAIN |
		                              JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(reply);
		return CTL_EXIT_OK;
	}
	if (!json_object_object_get_ex(reply, "nodes", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "ccslurmctl: nodes: no \"nodes\" array in the "
		                "answer\n");
		json_object_put(reply);
		return CTL_EXIT_FAILED;
	}
	print_table(arr);
	json_object_put(reply);
	return CTL_EXIT_OK;
}
