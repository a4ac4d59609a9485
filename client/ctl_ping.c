/*
 * ctl_ping.c: `ccslurmctl ping`: is the daemon up and answering?  Exit 0,
 * or 3 when it cannot be reached.  Also ctl_call(), the one round trip
 * every daemon command makes, and ctl_fmt_age().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"

/* A daemon being restarted gets this long to come back. */

int
ctl_call_failed(const struct ctl *ctl, int rc, char *cause)
{
	int ex = CTL_EXIT_FAILED;

	switch (rc) {
	case PROTO_EUNREACH:
	case PROTO_ETIMEOUT:
		fprintf(stderr, "ccslurmctl: ccslurmd unreachable at %s: %s\n",
		    log_esc(ctl->socket_path), cause != NULL ? cause : "?");
		ex = CTL_EXIT_UNREACHABLE;
		break;
	case PROTO_EVERSION:
		fprintf(stderr,
		    "ccslurmctl: ccslurmd at %s speaks another "
		    "protocol version (is an upgrade half done?)\n",
		    log_esc(ctl->socket_path));
		break;
	default:
		fprintf(stderr, "ccslurmctl: %s\n",
		    cause != NULL ? cause : "bad answer from ccslurmd");
		break;
	}
	free(cause);
	return ex;
}

int
ctl_call(const struct ctl *ctl, uint16_t type, json_object *request,
    json_object **reply)
{
	json_object *obj = NULL;
	char *cause = NULL;
	uint16_t rtype = 0;
	int rc;

	*reply = NULL;
	rc = proto_call(ctl->socket_path, CTL_CALL_TIMEOUT_MS,
	    CTL_CALL_RETRY_MS, type, request, &rtype, &obj, &cause);
	if (rc != PROTO_OK)
		return ctl_call_failed(ctl, rc, cause);
	if (rtype == PROTO_ERROR) {
		fprintf(stderr, "ccslurmctl: %s: %s\n", ctl->cmd->name,
		    log_esc(proto_error_message(obj)));
		*reply = obj;
		return CTL_EXIT_FAILED;
	}
	if (rtype != proto_reply_type(type)) {
		fprintf(stderr, "ccslurmctl: unexpected answer %s to %s\n",
		    proto_type_name(rtype), proto_type_name(type));
		json_object_put(obj);
		return CTL_EXIT_FAILED;
	}
	*reply = obj;
	return CTL_EXIT_OK;
}

const char *
ctl_fmt_age(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(
		    buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	return buf;
}

int
ctl_ping(struct ctl *ctl, int argc, char **argv)
{
	json_object *reply, *v;
	char age[32];
	int rc;

	if (argc != 1)
		return ctl_usage(ctl);
	if ((rc = ctl_call(ctl, PROTO_PING, NULL, &reply)) != CTL_EXIT_OK) {
		json_object_put(reply);
		return rc;
	}
	printf("ccslurmd %s", json_object_object_get_ex(reply, "version", &v)
	                          ? log_esc(json_object_get_string(v))
	                          : "?");
	if (json_object_object_get_ex(reply, "pid", &v))
		printf(", pid %" PRId64, json_object_get_int64(v));
	if (json_object_object_get_ex(reply, "uptime", &v))
		printf(", up %s",
		    ctl_fmt_age(json_object_get_int64(v), age, sizeof(age)));
	printf("\n");
	json_object_put(reply);
	return CTL_EXIT_OK;
}
