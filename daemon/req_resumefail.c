/*
 * req_resumefail.c: a resume-fail request (ResumeFailProgram: Slurm gave up
 * waiting). Privileged (req.c); the common body is req_node_action().
 */
#include "ccslurmd.h"

void
req_resumefail(struct peer *peer, json_object *payload)
{
	req_node_action(peer, payload, ACT_RESUMEFAIL);
}
