/*
 * req_reload.c: re-read the config, as SIGHUP does (ccsd_reload() in
 * main.c).  Success: {"ok": true}.  A config that does not load is refused
 * with a PROTO_ERROR whose "error" is one line and whose "errors" lists every
 * problem as FILE:LINE: message; the old config stays.
 */
#include "ccslurmd.h"

void
req_reload(struct peer *peer, json_object *payload)
{
	struct conf_errors errs = {NULL, 0};
	json_object *obj, *arr;
	size_t i;

	log_info("reload requested by %s", peer->name);
	if (ccsd_reload(&errs) == 0) {
		obj = json_object_new_object();
		json_object_object_add(obj, "ok", json_object_new_boolean(1));
		control_reply(peer, PROTO_RELOAD_REPLY, obj);
		json_object_put(obj);
		return;
	}
	obj = proto_error_json("configuration not reloaded (%zu error%s); "
	                       "the old one stays",
	    errs.n, errs.n == 1 ? "" : "s");
	arr = json_object_new_array();
	for (i = 0; i < errs.n; i++)
		json_object_array_add(
		    arr, json_object_new_string(errs.v[i].text));
	json_object_object_add(obj, "errors", arr);
	control_reply(peer, PROTO_ERROR, obj);
	json_object_put(obj);
	conf_errors_free(&errs);
}
