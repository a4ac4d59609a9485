/*
 * req.c: the request table (one line a request type, its handler in
 * req_<name>.c) and the body the three node requests share.
 */
#include <stdlib.h>
#include <string.h>

#include "ccslurmd.h"
#include "hostlist.h"
#include "log.h"
#include "xmalloc.h"

const struct req_handler req_handlers[] = {
    {.type = PROTO_RESUME, .privileged = true, .handle = req_resume},
    {.type = PROTO_SUSPEND, .privileged = true, .handle = req_suspend},
    {.type = PROTO_RESUMEFAIL, .privileged = true, .handle = req_resumefail},
    {.type = PROTO_STATUS, .privileged = false, .handle = req_status},
    {.type = PROTO_NODES, .privileged = false, .handle = req_nodes},
    {.type = PROTO_METRICS, .privileged = false, .handle = req_metrics},
    {.type = PROTO_PING, .privileged = false, .handle = req_ping},
    {.type = PROTO_CLUSTER, .privileged = false, .handle = req_cluster},
    {.type = PROTO_RELOAD, .privileged = true, .handle = req_reload},
    {.type = PROTO_CREATE_NODES,
        .privileged = true,
        .handle = req_create_nodes},
    {.type = 0},
};

const struct req_handler *
req_find(uint16_t type)
{
	const struct req_handler *h;

	for (h = req_handlers; h->type != 0; h++) {
		if (h->type == type)
			return h;
	}
	return NULL;
}

static const uint16_t action_types[] = {
    [ACT_RESUME] = PROTO_RESUME,
    [ACT_SUSPEND] = PROTO_SUSPEND,
    [ACT_RESUMEFAIL] = PROTO_RESUMEFAIL,
};

void
req_node_action(struct peer *peer, json_object *payload, int action)
{
	struct proto_node_req req;
	struct proto_reply reply;
	json_object *obj;
	const char *name;
	char *cause = NULL, *who;

	name = proto_node_action_name(action_types[action]);
	/* daemon.ha, passive: "busy" makes the shim spool the request; this
	 * daemon takes the spool when it becomes active (ha.c). */
	if (!ha_active()) {
		control_reply_error(peer, "ccslurmd is busy: passive (the "
		    "active daemon is on %s)", ha_active_host() != NULL ?
		    ha_active_host() : "an unknown host");
		return;
	}
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	if (proto_node_req_from_json(payload, &req, &cause) == -1) {
		log_warnx("%s from %s refused: %s", name, peer->name, cause);
		control_reply_error(peer, "%s: %s", name, cause);
		free(cause);
		return;
	}
	/* Who asked, for the audit trail (decisions.md): the credentials
	 * are the kernel's, the program name is the client's word. */
	who = xprintf("%s (%s)", peer->name,
	    req.program != NULL ? log_esc(req.program) : "unknown program");
	if (engine_submit(action, &req, peer->uid, who, &reply, &cause) == -1) {
		log_warnx("%s %s from %s, id %s: refused: %s", name,
		    log_esc(req.hostlist), who, log_esc(req.id), cause);
		control_reply_error(peer, "%s", cause);
		free(cause);
		goto out;
	}
	log_info("%s %s from %s, id %s: %lld of %lld node(s) taken on", name,
	    log_esc(req.hostlist), who, log_esc(req.id),
	    (long long)reply.accepted, (long long)reply.nodes);
	obj = proto_reply_to_json(&reply);
	control_reply(peer, proto_reply_type(action_types[action]), obj);
	json_object_put(obj);
out:
	free(who);
	proto_reply_free(&reply);
	proto_node_req_free(&req);
}
