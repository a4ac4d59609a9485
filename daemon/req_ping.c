/*
 * req_ping.c: is the daemon up and answering?  Its version and uptime.
 */
#include <unistd.h>

#include "ccslurmd.h"
#include "util.h"

void
req_ping(struct peer *peer, json_object *payload)
{
	json_object *obj;

	obj = json_object_new_object();
	json_object_object_add(
	    obj, "version", json_object_new_string(CCSLURMD_VERSION));
	json_object_object_add(obj, "pid", json_object_new_int64(getpid()));
	json_object_object_add(obj, "uptime",
	    json_object_new_int64(
	        (int64_t)((now_mono_ms() - ccsd.start_mono_ms) / 1000)));
	control_reply(peer, PROTO_PING_REPLY, obj);
	json_object_put(obj);
}
