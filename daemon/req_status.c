/*
 * req_status.c: what `ccslurmctl status` shows.  The daemon's own facts
 * (version, uptime, socket, peers, queues), the CycleCloud session's health
 * from the client's statistics, node counts by state, and under "engine"
 * whatever engine_status_json() adds, as it gives it.
 *
 * Times are Unix seconds, null for "never".
 */
#include <unistd.h>

#include "ccslurmd.h"
#include "util.h"

static json_object *
time_or_null(uint64_t wall_ms)
{
	return wall_ms == 0 ? NULL
	                    : json_object_new_int64((int64_t)(wall_ms / 1000));
}

static json_object *
status_cc(void)
{
	struct cc_client *cc = engine_cc();
	struct cc_stats st;
	json_object *o;
	uint64_t throttled = 0, retries = 0;
	size_t i;

	o = json_object_new_object();
	json_object_object_add(
	    o, "url", json_object_new_string(ccsd.conf->cc.url));
	json_object_object_add(
	    o, "cluster", json_object_new_string(ccsd.conf->cc.cluster));
	if (cc == NULL) {
		json_object_object_add(
		    o, "connected", json_object_new_boolean(0));
		return o;
	}
	cc_get_stats(cc, &st);
	for (i = 0; i < CC_EP_COUNT; i++) {
		throttled += st.ep[i].throttled;
		retries += st.ep[i].retries;
	}
	json_object_object_add(
	    o, "last_success", time_or_null(st.last_success_ms));
	json_object_object_add(
	    o, "last_error_time", time_or_null(st.last_error_ms));
	json_object_object_add(o, "last_error",
	    st.last_error[0] == '\0' ? NULL
	                             : json_object_new_string(st.last_error));
	json_object_object_add(
	    o, "throttled", json_object_new_int64((int64_t)throttled));
	json_object_object_add(o, "throttle_waits",
	    json_object_new_int64((int64_t)st.throttle_waits));
	json_object_object_add(
	    o, "retries", json_object_new_int64((int64_t)retries));
	json_object_object_add(
	    o, "pending", json_object_new_int64((int64_t)st.pending));
	return o;
}

void
req_status(struct peer *peer, json_object *payload)
{
	json_object *o, *counts, *eng;
	int i;

	o = json_object_new_object();
	json_object_object_add(
	    o, "version", json_object_new_string(CCSLURMD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "started",
	    json_object_new_int64((int64_t)(ccsd.start_wall_ms / 1000)));
	json_object_object_add(o, "uptime",
	    json_object_new_int64(
	        (int64_t)((now_mono_ms() - ccsd.start_mono_ms) / 1000)));
	json_object_object_add(
	    o, "config", json_object_new_string(ccsd.config_path));
	json_object_object_add(
	    o, "socket", json_object_new_string(ccsd.conf->daemon.socket));
	json_object_object_add(
	    o, "peers", json_object_new_int64((int64_t)control_npeers()));
	json_object_object_add(o, "requests_queued",
	    json_object_new_int64((int64_t)engine_queued()));
	json_object_object_add(o, "ops_in_flight",
	    json_object_new_int64((int64_t)engine_ops_in_flight()));
	json_object_object_add(o, "spool_depth",
	    json_object_new_int64((int64_t)engine_spool_depth()));
	json_object_object_add(o, "cyclecloud", status_cc());

	counts = json_object_new_object();
	for (i = 0; i < NS_COUNT; i++)
		json_object_object_add(counts, node_state_name(i),
		    json_object_new_int64((int64_t)nodes.count[i]));
	json_object_object_add(o, "nodes", counts);
	json_object_object_add(
	    o, "nodes_total", json_object_new_int64((int64_t)nodes.n));

	if (ha_enabled()) {
		json_object *ha = json_object_new_object();

		json_object_object_add(ha, "role",
		    json_object_new_string(ha_role_name()));
		json_object_object_add(ha, "hostname",
		    json_object_new_string(ha_hostname()));
		json_object_object_add(ha, "active_host",
		    ha_active_host() != NULL ?
		    json_object_new_string(ha_active_host()) : NULL);
		json_object_object_add(o, "ha", ha);
	}
	if ((eng = engine_status_json()) != NULL)
		json_object_object_add(o, "engine", eng);
	control_reply(peer, PROTO_STATUS_REPLY, o);
	json_object_put(o);
}
