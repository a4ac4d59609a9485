/*
 * req_cluster.c: the autoscale nodearrays of the CycleCloud cluster, for
 * `ccslurmctl generate` (only the daemon talks to CycleCloud).
 */
#include <stdlib.h>

#include "ccslurmd.h"

void
req_cluster(struct peer *peer, json_object *payload)
{
	json_object *obj;
	char *cause = NULL;

	if ((obj = engine_cluster_json(&cause)) == NULL) {
		control_reply_error(peer, "cluster: %s",
		    cause != NULL ? cause : "not available");
		free(cause);
		return;
	}
	control_reply(peer, PROTO_CLUSTER_REPLY, obj);
	json_object_put(obj);
}
