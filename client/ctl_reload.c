/*
 * ctl_reload.c: `ccslurmctl reload`: the daemon re-reads its config, as on
 * SIGHUP.  A config that does not load is listed, error by error, and the
 * daemon keeps the old one (exit 1).
 */
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"

int
ctl_reload(struct ctl *ctl, int argc, char **argv)
{
	json_object *reply, *errs;
	size_t i;
	int rc;

	if (argc != 1)
		return ctl_usage(ctl);
	rc = ctl_call(ctl, PROTO_RELOAD, NULL, &reply);
	if (rc == CTL_EXIT_OK)
		printf("configuration reloaded\n");
	else if (reply != NULL &&
	         json_object_object_get_ex(reply, "errors", &errs) &&
	         json_object_is_type(errs, json_type_array)) {
		for (i = 0; i < json_object_array_length(errs); i++)
			fprintf(stderr, "%s\n",
			    log_esc(json_object_get_string(
			        json_object_array_get_idx(errs, i))));
	}
	json_object_put(reply);
	return rc;
}
