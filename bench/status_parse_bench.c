/*
 * status_parse_bench.c: what parsing a large `status?nodes=true` answer
 * costs today, against the element-by-element parse docs/performance.md
 * proposes.
 *
 *   status_parse_bench tree|stream|stream-skip FILE
 *
 *   tree         the daemon's parser, cc_parse_cluster_status(), on the
 *                whole answer read into memory (as common/cc.c does)
 *   stream       a prototype: FILE read in 64 KiB chunks through a small
 *                string-aware scanner that cuts out each element of the
 *                top-level "nodes" array and parses that element alone
 *                with json-c, keeping Name, NodeId, Status and PrivateIp
 *   stream-skip  the same, with each node's "Configuration" value dropped
 *                by the scanner before json-c sees it (the daemon reads
 *                nothing from it)
 *
 * Run one mode a process: it prints the nodes found, the wall time and the
 * process's VmHWM.  The prototype is a measurement, not product code: it
 * does not validate the rest of the document.
 */
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "util.h"
#include "xmalloc.h"

#define CHUNK 65536
#define KEY_MAX 32

struct kept {
	char *name, *node_id, *status, *ip;
};

static struct kept *kept;
static size_t nkept, capkept;

/* The element scanner's state, carried from one chunk to the next. */
struct scan {
	int skip_conf; /* stream-skip */
	int depth;     /* of the character being read */
	int in_str, esc;
	int top_key;       /* 1 reading a depth-1 key, 2 read */
	char key[KEY_MAX]; /* the depth-1 key or element key */
	size_t klen;
	int in_nodes;   /* inside the top-level "nodes" */
	int collecting; /* inside one element */
	int el_key;     /* 1 reading an element key, 2 read, 3 : */
	int skipping;   /* inside the element's Configuration */
	char *el;       /* the element's bytes */
	size_t ellen, elcap;
	struct json_tokener *tok;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
vm_hwm_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static char *
str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static void
keep(json_object *node)
{
	struct kept *k;

	if (nkept == capkept) {
		capkept = capkept == 0 ? 1024 : capkept * 2;
		kept = xreallocarray(kept, capkept, sizeof(*kept));
	}
	k = &kept[nkept++];
	k->name = str_of(node, "Name");
	k->node_id = str_of(node, "NodeId");
	k->status = str_of(node, "Status");
	k->ip = str_of(node, "PrivateIp");
}

static void
el_add(struct scan *s, const char *p, size_t n)
{
	if (s->ellen + n > s->elcap) {
		while (s->ellen + n > s->elcap)
			s->elcap = s->elcap == 0 ? 4096 : s->elcap * 2;
		s->el = xreallocarray(s->el, s->elcap, 1);
	}
	memcpy(s->el + s->ellen, p, n);
	s->ellen += n;
}

static void
el_done(struct scan *s)
{
	json_object *o;

	o = json_tokener_parse_ex(s->tok, s->el, (int)s->ellen);
	json_tokener_reset(s->tok);
	if (o != NULL) {
		keep(o);
		json_object_put(o);
	}
	s->collecting = 0;
}

/* Feed n bytes; complete elements are parsed as soon as they close. */
static void
scan_feed(struct scan *s, const char *p, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (s->collecting && !s->skipping)
			el_add(s, &c, 1);
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (c == '\\')
				s->esc = 1;
			else if (c == '"') {
				s->in_str = 0;
				if (s->top_key == 1)
					s->top_key = 2;
				if (s->el_key == 1)
					s->el_key = 2;
			} else if ((s->top_key == 1 || s->el_key == 1) &&
			           s->klen < KEY_MAX - 1)
				s->key[s->klen++] = c;
			continue;
		}
		switch (c) {
		case '"':
			s->in_str = 1;
			if (s->depth == 1 && !s->in_nodes) {
				s->top_key = 1;
				s->klen = 0;
			} else if (s->collecting && s->depth == 3 &&
			           s->el_key == 0) {
				s->el_key = 1;
				s->klen = 0;
			}
			break;
		case ':':
			if (s->depth == 1 && s->top_key == 2)
				s->key[s->klen] = '\0';
			if (s->collecting && s->depth == 3 && s->el_key == 2) {
				s->key[s->klen] = '\0';
				s->el_key = 3;
			}
			break;
		case ',':
			if (s->depth == 1)
				s->top_key = 0;
			if (s->depth == 3)
				s->el_key = 0;
			break;
		case '{':
		case '[':
			if (s->depth == 1 && c == '[' && s->top_key == 2 &&
			    strcmp(s->key, "nodes") == 0)
				s->in_nodes = 1;
			else if (s->in_nodes && s->depth == 2 && c == '{') {
				s->collecting = 1;
				s->el_key = 0;
				s->ellen = 0;
				el_add(s, &c, 1);
			} else if (s->skip_conf && s->collecting &&
			           s->depth == 3 && s->el_key == 3 &&
			           strcmp(s->key, "Configuration") == 0) {
				/* Drop the value: "null" stands in for it. */
				s->ellen--;
				el_add(s, "null", 4);
				s->skipping = 1;
			}
			s->depth++;
			break;
		case '}':
		case ']':
			s->depth--;
			if (s->skipping && s->depth == 3) {
				s->skipping = 0;
				s->el_key = 0;
			} else if (s->collecting && s->depth == 2)
				el_done(s);
			else if (s->in_nodes && s->depth == 1)
				s->in_nodes = 0;
			if (s->depth == 1)
				s->top_key = 0;
			break;
		}
	}
}

static int
run_tree(const char *path)
{
	struct cc_cluster_status *st;
	char *buf, *cause;
	size_t len, i;

	if (read_file(path, (size_t)1 << 30, &buf, &len) == -1) {
		perror(path);
		return -1;
	}
	if (cc_parse_cluster_status(buf, len, &st, &cause) == -1) {
		fprintf(stderr, "status_parse_bench: %s\n", cause);
		return -1;
	}
	free(buf);
	for (i = 0; i < st->nnodes; i++) {
		json_object *o = json_object_new_object();

		/* The same copies the prototype makes. */
		if (st->nodes[i].name != NULL)
			json_object_object_add(o, "Name",
			    json_object_new_string(st->nodes[i].name));
		keep(o);
		json_object_put(o);
	}
	cc_cluster_status_free(st);
	return 0;
}

static int
run_stream(const char *path, int skip_conf)
{
	struct scan s;
	char *buf;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.skip_conf = skip_conf;
	if ((s.tok = json_tokener_new()) == NULL)
		return -1;
	buf = xmalloc(CHUNK);
	while ((n = fread(buf, 1, CHUNK, f)) > 0)
		scan_feed(&s, buf, n);
	fclose(f);
	free(buf);
	free(s.el);
	json_tokener_free(s.tok);
	return 0;
}

int
main(int argc, char **argv)
{
	double t;
	size_t i;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: status_parse_bench tree|stream|"
		                "stream-skip FILE\n");
		return 2;
	}
	t = now_s();
	if (strcmp(argv[1], "tree") == 0)
		rc = run_tree(argv[2]);
	else if (strcmp(argv[1], "stream") == 0)
		rc = run_stream(argv[2], 0);
	else if (strcmp(argv[1], "stream-skip") == 0)
		rc = run_stream(argv[2], 1);
	else {
		fprintf(
		    stderr, "status_parse_bench: unknown mode %s\n", argv[1]);
		return 2;
	}
	t = now_s() - t;
	if (rc == -1)
		return 1;
	printf("  %-12s %zu nodes  %.3f s  VmHWM %.1f MiB  (first %s, last "
	       "%s)\n",
	    argv[1], nkept, t, (double)vm_hwm_kib() / 1024.0,
	    nkept > 0 && kept[0].name != NULL ? kept[0].name : "-",
	    nkept > 0 && kept[nkept - 1].name != NULL ? kept[nkept - 1].name
	                                              : "-");
	for (i = 0; i < nkept; i++) {
		free(kept[i].name);
		free(kept[i].node_id);
		free(kept[i].status);
		free(kept[i].ip);
	}
	free(kept);
	return 0;
}
