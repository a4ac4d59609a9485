/*
 * ctl_create_nodes.c: `ccslurmctl create-nodes [--policy error|
 * allow-existing] [--dry-run] [--json]`: have the daemon pre-create every
 * partition node in CycleCloud (Fixed, not started), as the seed does, and
 * show what it did (daemon/req_create_nodes.c does the cloud work).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"

/*
 * Listing a large cluster and creating thousands of nodes takes longer
 * than the usual round trip; the daemon's own cloud retries are bounded.
 */
#define CTL_CREATE_TIMEOUT_MS	(10 * 60 * 1000)
#define CTL_CREATE_RETRY_MS	2000

static int64_t
geti(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	    json_object_get_int64(v) : 0;
}

/* Print "label: a, b, c" (at most 20 names, then "and N more"). */
static void
print_names(const char *label, json_object *o, const char *key)
{
	json_object *a;
	size_t i, n;

	if (!json_object_object_get_ex(o, key, &a) ||
	    !json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) == 0)
		return;
	printf("%s (%zu):", label, n);
	for (i = 0; i < n && i < 20; i++)
		printf(" %s", log_esc(json_object_get_string(
		    json_object_array_get_idx(a, i))));
	if (n > 20)
		printf(" and %zu more", n - 20);
	printf("\n");
}

static void
print_summary(json_object *r, bool dry_run)
{
	json_object *sets, *s, *v;
	size_t i;

	if (json_object_object_get_ex(r, "sets", &sets)) {
		for (i = 0; i < json_object_array_length(sets); i++) {
			s = json_object_array_get_idx(sets, i);
			printf("  set: nodearray %s, %" PRId64 " x %s from %"
			    PRId64 " (%s)",
			    log_esc(json_object_get_string(
			    json_object_object_get(s, "nodearray"))),
			    geti(s, "count"),
			    log_esc(json_object_get_string(
			    json_object_object_get(s, "name_format"))),
			    geti(s, "name_offset"),
			    log_esc(json_object_get_string(
			    json_object_object_get(s, "machine_type"))));
			if (json_object_object_get_ex(s, "placement_group_id",
			    &v) && v != NULL)
				printf(", placement group %s",
				    log_esc(json_object_get_string(v)));
			printf("\n");
		}
	}
	if (dry_run)
		printf("dry run: would create %" PRId64 " node(s) in %zu "
		    "set(s); %" PRId64 " already exist\n",
		    geti(r, "to_create"), json_object_object_get_ex(r, "sets",
		    &sets) ? json_object_array_length(sets) : 0,
		    geti(r, "existing"));
	else {
		if (!json_object_object_get_ex(r, "operation", &v))
			v = NULL;
		printf("created %" PRId64 " of %" PRId64 " node(s); %" PRId64
		    " already existed%s%s\n", geti(r, "created"),
		    geti(r, "to_create"), geti(r, "existing"),
		    v != NULL ? "; operation " : "",
		    v != NULL ? log_esc(json_object_get_string(v)) : "");
	}
	if (json_object_object_get_ex(r, "messages", &v)) {
		for (i = 0; i < json_object_array_length(v); i++)
			printf("CycleCloud: %s\n", log_esc(
			    json_object_get_string(
			    json_object_array_get_idx(v, i))));
	}
	print_names("machine type differs from the nodearray's (left alone)",
	    r, "mismatched");
	print_names("names the naming rules no longer give (left alone)", r,
	    "invalid");
	print_names("terminated, removed", r, "removed");
	print_names("terminated, would be removed", r, "would_remove");
}

int
ctl_create_nodes(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_object *req, *reply = NULL;
	const char *policy = "error";
	char *cause = NULL;
	uint16_t rtype = 0;
	bool dry_run = false, json = ctl->json != 0;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "p:nj", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (strcmp(optarg, "error") != 0 &&
			    strcmp(optarg, "allow-existing") != 0) {
				fprintf(stderr, "ccslurmctl: create-nodes: "
				    "--policy is error or allow-existing, not "
				    "%s\n", log_esc(optarg));
				return CTL_EXIT_USAGE;
			}
			policy = optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage(ctl);
		}
	}
	if (optind != argc)
		return ctl_usage(ctl);

	req = json_object_new_object();
	json_object_object_add(req, "policy", json_object_new_string(policy));
	json_object_object_add(req, "dry_run",
	    json_object_new_boolean(dry_run));
	rc = proto_call(ctl->socket_path, CTL_CREATE_TIMEOUT_MS,
	    CTL_CREATE_RETRY_MS, PROTO_CREATE_NODES, req, &rtype, &reply,
	    &cause);
	json_object_put(req);
	if (rc == PROTO_EUNREACH || rc == PROTO_ETIMEOUT) {
		fprintf(stderr, "ccslurmctl: ccslurmd unreachable at %s: %s\n",
		    log_esc(ctl->socket_path), cause != NULL ? cause : "?");
		free(cause);
		return CTL_EXIT_UNREACHABLE;
	}
	if (rc != PROTO_OK) {
		fprintf(stderr, "ccslurmctl: create-nodes: %s\n",
		    cause != NULL ? cause : "bad answer from ccslurmd");
		free(cause);
		return CTL_EXIT_FAILED;
	}
	rc = CTL_EXIT_FAILED;
	if (rtype == PROTO_ERROR)
		fprintf(stderr, "ccslurmctl: %s\n",
		    log_esc(proto_error_message(reply)));
	else if (rtype != PROTO_CREATE_NODES_REPLY)
		fprintf(stderr, "ccslurmctl: unexpected answer %s to "
		    "CREATE_NODES\n", proto_type_name(rtype));
	else {
		if (json)
			printf("%s\n", json_object_to_json_string_ext(reply,
			    JSON_C_TO_STRING_PRETTY |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_summary(reply, dry_run);
		rc = CTL_EXIT_OK;
	}
	json_object_put(reply);
	return rc;
}
