/*
 * slurm_nodes.c: Slurm's view of its nodes, as reconciliation needs it.
 *
 * Two sources (issue 4, decisions.md "Slurm versions"):
 *  - `scontrol --json show nodes`, on Slurm 23.02 and later: each node has
 *    "name", "reason", and its state either as a base "state" string plus
 *    "state_flags" (23.02) or as one "state" array of every flag (23.11+);
 *  - `scontrol show nodes -o`, one line a node, which every Slurm prints
 *    the same way and the only form 22.05 has ("--json" is an unknown
 *    option there): "NodeName=x ... State=IDLE+CLOUD+POWERED_DOWN ...
 *    Reason=text [user@time]", the Reason last when set.
 * Both become the same struct slurm_node_info.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "ccslurmd.h"
#include "util.h"

static void
set_flag(struct slurm_node_info *sn, const char *flag, bool base)
{
	if (strcasecmp(flag, "POWERED_DOWN") == 0)
		sn->powered_down = true;
	else if (strcasecmp(flag, "POWERING_UP") == 0)
		sn->powering_up = true;
	else if (strcasecmp(flag, "POWERING_DOWN") == 0 ||
	    strcasecmp(flag, "POWER_DOWN") == 0)
		sn->powering_down = true;
	else if (strcasecmp(flag, "DOWN") == 0 && base)
		sn->down = true;
}

/* The value of " KEY=" in line, up to the next space, into buf. */
static bool
field(const char *line, const char *key, char *buf, size_t len)
{
	const char *p = line, *e;
	size_t klen = strlen(key), n;

	while ((p = strstr(p, key)) != NULL) {
		if (p == line || p[-1] == ' ')
			break;
		p += klen;
	}
	if (p == NULL)
		return false;
	p += klen;
	e = strchr(p, ' ');
	n = e != NULL ? (size_t)(e - p) : strlen(p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static void
parse_line(const char *line, struct slurm_node_info *sn)
{
	char state[512], *tok, *save = NULL;
	const char *r;
	bool first = true;

	if (field(line, "State=", state, sizeof(state))) {
		for (tok = strtok_r(state, "+", &save); tok != NULL;
		    tok = strtok_r(NULL, "+", &save)) {
			set_flag(sn, tok, first);
			first = false;
		}
	}
	/* The Reason runs to the end of the line: it may hold spaces. */
	if ((r = strstr(line, " Reason=")) != NULL &&
	    strncmp(r + 8, "ResumeTimeout reached", 21) == 0)
		sn->resume_timeout = true;
}

long
slurm_nodes_parse_text(const char *out, slurm_node_cb cb, void *arg)
{
	const char *line, *nl;
	char name[256], buf[16384];
	struct slurm_node_info sn;
	size_t len;
	long n = 0;

	for (line = out; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (field(buf, "NodeName=", name, sizeof(name))) {
			memset(&sn, 0, sizeof(sn));
			sn.name = name;
			parse_line(buf, &sn);
			cb(&sn, arg);
			n++;
		}
		if (nl == NULL)
			break;
	}
	return n;
}

long
slurm_nodes_parse_json(const char *out, size_t len, slurm_node_cb cb,
    void *arg)
{
	json_tokener *tok = json_tokener_new();
	json_object *doc, *arr, *nd, *v, *e;
	struct slurm_node_info sn;
	size_t i, k;
	long n = 0;

	doc = json_tokener_parse_ex(tok, out, (int)len);
	json_tokener_free(tok);
	if (doc == NULL || !json_object_object_get_ex(doc, "nodes", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(doc);
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		nd = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(nd, "name", &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		memset(&sn, 0, sizeof(sn));
		sn.name = json_object_get_string(v);
		if (json_object_object_get_ex(nd, "state", &v)) {
			if (json_object_is_type(v, json_type_string))
				set_flag(&sn, json_object_get_string(v), true);
			else if (json_object_is_type(v, json_type_array))
				for (k = 0; k < json_object_array_length(v);
				    k++) {
					e = json_object_array_get_idx(v, k);
					if (json_object_is_type(e,
					    json_type_string))
						set_flag(&sn,
						    json_object_get_string(e),
						    k == 0);
				}
		}
		if (json_object_object_get_ex(nd, "state_flags", &v) &&
		    json_object_is_type(v, json_type_array))
			for (k = 0; k < json_object_array_length(v); k++) {
				e = json_object_array_get_idx(v, k);
				if (json_object_is_type(e, json_type_string))
					set_flag(&sn,
					    json_object_get_string(e), false);
			}
		if (json_object_object_get_ex(nd, "reason", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strncmp(json_object_get_string(v),
		    "ResumeTimeout reached", 21) == 0)
			sn.resume_timeout = true;
		cb(&sn, arg);
		n++;
	}
	json_object_put(doc);
	return n;
}
