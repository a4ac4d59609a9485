/*
 * req_metrics.c: the Prometheus text of metrics.c, as {"text": "..."}.
 */
#include <stdlib.h>

#include "ccslurmd.h"

void
req_metrics(struct peer *peer, json_object *payload)
{
	json_object *obj;
	char *text;

	text = metrics_text();
	obj = json_object_new_object();
	json_object_object_add(obj, "text", json_object_new_string(text));
	free(text);
	control_reply(peer, PROTO_METRICS_REPLY, obj);
	json_object_put(obj);
}
