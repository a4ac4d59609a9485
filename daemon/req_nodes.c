/*
 * req_nodes.c: the node table, all of it or the nodes of {"hostlist": ...}.
 * The reply is always an object, {"nodes": [...]} (interfaces.md).  It is
 * written as text and sent as is: at 50,000 nodes (8 MB) building and
 * serialising a json-c tree was most of `ccslurmctl nodes --json`'s time.
 */
#include <stdlib.h>

#include "ccslurmd.h"
#include "log.h"

/* Bytes a node's object takes, about: the buffer then rarely grows. */
#define NODE_JSON_BYTES 192

void
req_nodes(struct peer *peer, json_object *payload)
{
	struct proto_jbuf buf;
	json_object *v;
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
	proto_jbuf_init(
	    &buf, hostlist != NULL ? 4096 : (nodes.n + 1) * NODE_JSON_BYTES);
	if (engine_nodes_json(hostlist, &buf, &cause) == -1) {
		control_reply_error(
		    peer, "%s", cause != NULL ? cause : "nodes: not available");
		free(cause);
		proto_jbuf_free(&buf);
		return;
	}
	control_reply_raw(peer, PROTO_NODES_REPLY, buf.s, buf.len);
	proto_jbuf_free(&buf);
}
