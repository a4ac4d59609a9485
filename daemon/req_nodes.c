/*
 * req_nodes.c: the node table, all of it or the nodes of {"hostlist": ...}.
 * The reply is always an object, {"nodes": [...]} (interfaces.md).
 */
#include <stdlib.h>

#include "ccslurmd.h"
#include "log.h"

void
req_nodes(struct peer *peer, json_object *payload)
{
	json_object *v, *obj, *wrap;
	const char *hostlist = NULL;
	char *cause = NULL;

	if (json_object_object_get_ex(payload, "hostlist", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string)) {
			control_reply_error(peer, "nodes: \"hostlist\" must be "
			                          "a string");
			return;
		}
		hostlist = json_object_get_string(v);
		if (*hostlist == '\0')
			hostlist = NULL;
	}
	if ((obj = engine_nodes_json(hostlist, &cause)) == NULL) {
		control_reply_error(
		    peer, "%s", cause != NULL ? cause : "nodes: not available");
		free(cause);
		return;
	}
	if (json_object_is_type(obj, json_type_array)) {
		wrap = json_object_new_object();
		json_object_object_add(wrap, "nodes", obj);
		obj = wrap;
	}
	control_reply(peer, PROTO_NODES_REPLY, obj);
	json_object_put(obj);
}
