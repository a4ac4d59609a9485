/*
 * req_resume.c: a resume request (slurmctld's ResumeProgram, or ccslurmctl
 * resume). Privileged (req.c); the common body is req_node_action().
 */
#include "ccslurmd.h"

void
req_resume(struct peer *peer, json_object *payload)
{
	req_node_action(peer, payload, ACT_RESUME);
}
