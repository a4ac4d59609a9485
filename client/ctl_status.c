/*
 * ctl_status.c: `ccslurmctl status [--json]`: the daemon's health on one
 * screen (version, uptime, the CycleCloud session, node counts by state,
 * queues), or its JSON as given.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"

static int64_t
geti(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return -1;
	return json_object_get_int64(v);
}

static const char *
getstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

/* "12s ago", or "never". */
static const char *
ago(int64_t t, char *buf, size_t len)
{
	char age[32];

	if (t <= 0)
		return "never";
	snprintf(buf, len, "%s ago",
	    ctl_fmt_age((int64_t)time(NULL) - t, age, sizeof(age)));
	return buf;
}

/* Keys of the engine's status that the lines above already show. */
static const char *const engine_shown[] = {
    "states",
    "nodes_total",
    "queued",
    "cyclecloud",
    "spool_depth",
    "nodearrays",
    "operations",
};

/* The engine's own facts: nodearrays in a line each, the rest as given. */
static void
print_engine(json_object *eng)
{
	json_object *arr, *na, *v;
	char key[64];
	size_t i, j;

	if (json_object_object_get_ex(eng, "nodearrays", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (i = 0; i < json_object_array_length(arr); i++) {
			na = json_object_array_get_idx(arr, i);
			printf("%-13s%s: %" PRId64 " nodes, %" PRId64
			       " failures",
			    i == 0 ? "nodearrays:" : "",
			    log_esc(
			        getstr(na, "name") ? getstr(na, "name") : "?"),
			    geti(na, "nodes"), geti(na, "failures"));
			if (getstr(na, "last_failure") != NULL)
				printf(" (last: %s)",
				    log_esc(getstr(na, "last_failure")));
			printf("\n");
		}
	}
	if (json_object_object_get_ex(eng, "cyclecloud", &v) &&
	    geti(v, "auth_failing_for") > 0)
		printf("WARNING:     CycleCloud authentication failing for "
		       "%" PRId64 "s\n",
		    geti(v, "auth_failing_for"));
	json_object_object_foreach(eng, k, val)
	{
		for (j = 0; j < sizeof(engine_shown) / sizeof(*engine_shown);
		     j++) {
			if (strcmp(k, engine_shown[j]) == 0)
				break;
		}
		if (j < sizeof(engine_shown) / sizeof(*engine_shown))
			continue;
		snprintf(key, sizeof(key), "%s:", k);
		printf("%-12s %s\n", log_esc(key),
		    log_esc(
		        val == NULL ? "null" : json_object_get_string(val)));
	}
}

static void
print_status(json_object *st)
{
	json_object *cc, *counts, *eng;
	const char *s;
	char age[32], b1[48], b2[48];
	int first = 1;

	printf("ccslurmd %s, pid %" PRId64 ", up %s\n",
	    log_esc(getstr(st, "version") ? getstr(st, "version") : "?"),
	    geti(st, "pid"), ctl_fmt_age(geti(st, "uptime"), age, sizeof(age)));
	if ((s = getstr(st, "config")) != NULL)
		printf("config:      %s\n", log_esc(s));
	if ((s = getstr(st, "socket")) != NULL)
		printf("socket:      %s\n", log_esc(s));
	if (json_object_object_get_ex(st, "cyclecloud", &cc)) {
		printf("cyclecloud:  %s cluster %s\n",
		    log_esc(getstr(cc, "url") ? getstr(cc, "url") : "?"),
		    log_esc(
		        getstr(cc, "cluster") ? getstr(cc, "cluster") : "?"));
		printf("  last success: %s\n",
		    ago(geti(cc, "last_success"), b1, sizeof(b1)));
		if ((s = getstr(cc, "last_error")) != NULL)
			printf("  last error:   %s: %s\n",
			    ago(geti(cc, "last_error_time"), b2, sizeof(b2)),
			    log_esc(s));
		else
			printf("  last error:   none\n");
		if (geti(cc, "pending") >= 0)
			printf("  calls pending %" PRId64 ", retries %" PRId64
			       ", throttled %" PRId64 "\n",
			    geti(cc, "pending"), geti(cc, "retries"),
			    geti(cc, "throttled"));
	}
	if (json_object_object_get_ex(st, "nodes", &counts) &&
	    json_object_is_type(counts, json_type_object)) {
		printf(
		    "nodes:       %" PRId64 " known:", geti(st, "nodes_total"));
		json_object_object_foreach(counts, k, v)
		{
			if (json_object_get_int64(v) == 0)
				continue;
			printf("%s %s %" PRId64, first ? "" : ",", k,
			    json_object_get_int64(v));
			first = 0;
		}
		printf("%s\n", first ? " none in any state" : "");
	}
	printf("requests:    %" PRId64 " queued, %" PRId64 " operations in "
	       "flight, %" PRId64 " spooled, %" PRId64 " clients connected\n",
	    geti(st, "requests_queued"), geti(st, "ops_in_flight"),
	    geti(st, "spool_depth"), geti(st, "peers"));
	if (json_object_object_get_ex(st, "engine", &eng) &&
	    json_object_is_type(eng, json_type_object))
		print_engine(eng);
}

int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	json_object *reply;
	int ch, rc, json = ctl->json;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'j')
			return ctl_usage(ctl);
		json = 1;
	}
	if (optind != argc)
		return ctl_usage(ctl);
	if ((rc = ctl_call(ctl, PROTO_STATUS, NULL, &reply)) != CTL_EXIT_OK) {
		json_object_put(reply);
		return rc;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(
		                   reply, JSON_C_TO_STRING_PRETTY |
		                              JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_status(reply);
	json_object_put(reply);
	return CTL_EXIT_OK;
}
