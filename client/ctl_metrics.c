/*
 * ctl_metrics.c: `ccslurmctl metrics`: the daemon's Prometheus text, as is
 * (for node_exporter's textfile collector, say).
 */
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"
#include "proto.h"

int
ctl_metrics(struct ctl *ctl, int argc, char **argv)
{
	json_object *reply, *v;
	int rc;

	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = ctl_call(ctl, PROTO_METRICS, NULL, &reply)) != CTL_EXIT_OK) {
		json_object_put(reply);
		return rc;
	}
	if (!json_object_object_get_ex(reply, "text", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		fprintf(stderr, "ccslurmctl: metrics: no text in the answer\n");
		json_object_put(reply);
		return CTL_EXIT_FAILED;
	}
	fputs(json_object_get_string(v), stdout);
	json_object_put(reply);
	return CTL_EXIT_OK;
}
