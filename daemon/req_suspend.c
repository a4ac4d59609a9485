/*
 * req_suspend.c: a suspend request (SuspendProgram, ccslurmctl suspend).
 * Privileged (req.c); the common body is req_node_action().
 */
#include "ccslurmd.h"

void
req_suspend(struct peer *peer, json_object *payload)
{
	req_node_action(peer, payload, ACT_SUSPEND);
}
