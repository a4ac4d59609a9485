/*
 * slurmgen.c: cyclecloud.conf, topology.conf, gres.conf and the HPC
 * partition list, generated from the nodearrays (slurmgen.h).
 *
 * Every text is a pure function of the arrays, with no date or version in
 * it, so "content changed" means the cluster changed, and regenerating an
 * unchanged cluster touches no file and makes no backup.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostlist.h"
#include "log.h"
#include "naming.h"
#include "slurmgen.h"
#include "util.h"
#include "xmalloc.h"

/* A growing string. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

static void buf_printf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_add(struct buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = b->cap == 0 ? 256 : b->cap;
		while (b->len + len + 1 > b->cap)
			b->cap *= 2;
		b->s = xreallocarray(b->s, 1, b->cap);
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0)
		fatalx("%s: vasprintf failed", __func__);
	buf_add(b, s, (size_t)len);
	free(s);
}

/* The buffer's string, "" when nothing was added; the buffer is reset. */
static char *
buf_take(struct buf *b)
{
	char *s = b->s != NULL ? b->s : xstrdup("");

	memset(b, 0, sizeof(*b));
	return s;
}

/* A partition and the (autoscale) arrays in it, in input order. */
struct part {
	const char *name;
	bool	 hpc;
	bool	 is_default;
	const struct ccs_nodearray **arrays;
	size_t	 narrays;
};

static void
parts_free(struct part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(parts[i].arrays);
	free(parts);
}

/* Group the autoscale arrays by partition, checking each. */
static int
group_partitions(const struct ccs_nodearray *arrays, size_t n,
    struct part **out, size_t *nout, char **cause)
{
	struct part *parts = NULL, *p;
	const struct ccs_nodearray *a, **used;
	struct ccs_namemap *map;
	const char *pname, *dflt = NULL;
	size_t i, j, np = 0, nused = 0;

	used = xcalloc(n > 0 ? n : 1, sizeof(*used));
	for (i = 0; i < n; i++) {
		if (arrays[i].autoscale)
			used[nused++] = &arrays[i];
	}
	if (nused == 0) {
		*cause = xstrdup("no nodearray has slurm.autoscale set: "
		    "nothing to generate");
		free(used);
		return -1;
	}

	/* The map checks each array and that no two share names. */
	{
		struct ccs_nodearray *copy;

		copy = xcalloc(nused, sizeof(*copy));
		for (i = 0; i < nused; i++)
			copy[i] = *used[i];	/* shallow: only read */
		map = ccs_namemap_new(copy, nused, cause);
		free(copy);
		if (map == NULL) {
			free(used);
			return -1;
		}
		ccs_namemap_free(map);
	}

	for (i = 0; i < nused; i++) {
		a = used[i];
		pname = ccs_nodearray_partition(a);
		for (j = 0; j < np; j++) {
			if (strcmp(parts[j].name, pname) == 0)
				break;
		}
		if (j == np) {
			parts = xreallocarray(parts, np + 1, sizeof(*parts));
			p = &parts[np++];
			memset(p, 0, sizeof(*p));
			p->name = pname;
			p->hpc = a->hpc;
		}
		p = &parts[j];
		if (p->hpc != a->hpc) {
			*cause = xprintf("partition %s mixes HPC and HTC "
			    "nodearrays (%s is %s)", pname, a->name,
			    a->hpc ? "HPC" : "HTC");
			goto fail;
		}
		if (a->default_partition) {
			if (dflt != NULL && strcmp(dflt, pname) != 0) {
				*cause = xprintf("more than one default "
				    "partition: %s and %s", dflt, pname);
				goto fail;
			}
			dflt = pname;
			p->is_default = true;
		}
		p->arrays = xreallocarray(p->arrays, p->narrays + 1,
		    sizeof(*p->arrays));
		p->arrays[p->narrays++] = a;
	}
	free(used);
	*out = parts;
	*nout = np;
	return 0;

fail:
	free(used);
	parts_free(parts, np);
	return -1;
}

static void
gen_node_lines(struct buf *b, const struct ccs_nodearray *a)
{
	unsigned pg, npg;
	char **names, *hl, *gres = NULL;
	size_t n;

	if (a->gpu > 0)
		gres = xprintf(" Gres=gpu:%u", a->gpu);
	npg = a->hpc ? ccs_nodearray_pg_count(a) : 1;
	for (pg = 0; pg < npg; pg++) {
		if (a->hpc)
			names = ccs_nodearray_pg_names(a, pg, &n);
		else
			names = ccs_nodearray_names(a, &n);
		hl = hostlist_compress(names, n);
		buf_printf(b, "NodeName=%s Feature=cloud State=CLOUD CPUs=%u "
		    "ThreadsPerCore=%u RealMemory=%llu%s\n", hl,
		    ccs_slurm_cpus(a), ccs_slurm_threads_per_core(a),
		    (unsigned long long)ccs_real_memory_mib(a),
		    gres != NULL ? gres : "");
		free(hl);
		ccs_strv_free(names);
	}
	free(gres);
}

static void
gen_partition(struct buf *conf, const struct part *p)
{
	const struct ccs_nodearray *a;
	char **all = NULL, **names, *hl;
	size_t i, k, n, nall = 0;
	uint64_t defmem = 0, mem;

	for (i = 0; i < p->narrays; i++) {
		a = p->arrays[i];
		buf_printf(conf, "# nodearray %s: %s, %u nodes", a->name,
		    a->machine_type, a->max_count);
		if (a->hpc) {
			buf_printf(conf, " in %u placement group%s of %u",
			    ccs_nodearray_pg_count(a),
			    ccs_nodearray_pg_count(a) == 1 ? "" : "s",
			    a->max_scaleset_size);
		}
		buf_printf(conf, "\n");
		gen_node_lines(conf, a);

		names = ccs_nodearray_names(a, &n);
		all = xreallocarray(all, nall + n, sizeof(*all));
		for (k = 0; k < n; k++)
			all[nall++] = names[k];
		free(names);	/* the strings moved to all */

		/* The smallest share, so the default fits every node. */
		mem = ccs_real_memory_mib(a) / ccs_slurm_cpus(a);
		if (i == 0 || mem < defmem)
			defmem = mem;
	}
	hl = hostlist_compress(all, nall);
	buf_printf(conf, "PartitionName=%s Nodes=%s Default=%s "
	    "DefMemPerCPU=%llu State=UP\n\n", p->name, hl,
	    p->is_default ? "YES" : "NO", (unsigned long long)defmem);
	free(hl);
	for (k = 0; k < nall; k++)
		free(all[k]);
	free(all);
}

static void
gen_topology(struct buf *topo, const struct part *parts, size_t np)
{
	const struct ccs_nodearray *a;
	char **names, **htc = NULL, *hl, *pgid;
	size_t i, j, k, n, nhtc = 0;
	unsigned pg;

	buf_printf(topo, "%s\n", CCS_TOPOLOGY_BEGIN);
	buf_printf(topo, "# One switch per placement group (a job with "
	    "--switches=1 stays in one),\n# \"htc\" for the nodes of HTC "
	    "nodearrays.\n");
	for (i = 0; i < np; i++) {
		for (j = 0; j < parts[i].narrays; j++) {
			a = parts[i].arrays[j];
			if (!a->hpc) {
				names = ccs_nodearray_names(a, &n);
				htc = xreallocarray(htc, nhtc + n,
				    sizeof(*htc));
				for (k = 0; k < n; k++)
					htc[nhtc++] = names[k];
				free(names);
				continue;
			}
			for (pg = 0; pg < ccs_nodearray_pg_count(a); pg++) {
				names = ccs_nodearray_pg_names(a, pg, &n);
				hl = hostlist_compress(names, n);
				pgid = ccs_placement_group_id(a, pg);
				buf_printf(topo, "SwitchName=%s Nodes=%s\n",
				    pgid, hl);
				free(pgid);
				free(hl);
				ccs_strv_free(names);
			}
		}
	}
	if (nhtc > 0) {
		hl = hostlist_compress(htc, nhtc);
		buf_printf(topo, "SwitchName=htc Nodes=%s\n", hl);
		free(hl);
		for (k = 0; k < nhtc; k++)
			free(htc[k]);
	}
	free(htc);
	buf_printf(topo, "%s\n", CCS_TOPOLOGY_END);
}

static bool
gen_gres(struct buf *gres, const struct part *parts, size_t np)
{
	const struct ccs_nodearray *a;
	char **names, *hl;
	size_t i, j, n;
	bool any = false;

	buf_printf(gres, "# Generated by ccslurmd (ccslurmctl generate): do "
	    "not edit.\n");
	for (i = 0; i < np; i++) {
		for (j = 0; j < parts[i].narrays; j++) {
			a = parts[i].arrays[j];
			if (a->gpu == 0)
				continue;
			names = ccs_nodearray_names(a, &n);
			hl = hostlist_compress(names, n);
			if (a->gpu == 1) {
				buf_printf(gres, "NodeName=%s Name=gpu "
				    "Count=1 File=/dev/nvidia0\n", hl);
			} else {
				buf_printf(gres, "NodeName=%s Name=gpu "
				    "Count=%u File=/dev/nvidia[0-%u]\n", hl,
				    a->gpu, a->gpu - 1);
			}
			free(hl);
			ccs_strv_free(names);
			any = true;
		}
	}
	return any;
}

int
ccs_slurm_texts_make(const struct ccs_nodearray *arrays, size_t n,
    struct ccs_slurm_texts **out, char **cause)
{
	struct ccs_slurm_texts *t;
	struct part *parts;
	struct buf conf = { 0 }, topo = { 0 }, gres = { 0 }, hpc = { 0 };
	size_t np, i;

	if (group_partitions(arrays, n, &parts, &np, cause) != 0)
		return -1;

	buf_printf(&conf, "# Generated by ccslurmd (ccslurmctl generate): do "
	    "not edit.\n");
	buf_printf(&conf, "# Included from slurm.conf.  Adding or removing "
	    "nodes or partitions needs a\n# slurmctld restart on Slurm 22.05 "
	    "(scontrol reconfigure is not enough).\n\n");
	buf_printf(&hpc, "# Cloud HPC partitions, for job_submit/cyclecloud "
	    "(one a line; '*': the default).\n");
	for (i = 0; i < np; i++) {
		gen_partition(&conf, &parts[i]);
		if (parts[i].hpc) {
			buf_printf(&hpc, "%s%s\n", parts[i].name,
			    parts[i].is_default ? "*" : "");
		}
	}
	gen_topology(&topo, parts, np);

	t = xcalloc(1, sizeof(*t));
	t->gres_types_needed = gen_gres(&gres, parts, np);
	t->cyclecloud_conf = buf_take(&conf);
	t->topology_block = buf_take(&topo);
	t->gres_conf = buf_take(&gres);
	t->hpc_partitions = buf_take(&hpc);
	parts_free(parts, np);
	*out = t;
	return 0;
}

void
ccs_slurm_texts_free(struct ccs_slurm_texts *t)
{
	if (t == NULL)
		return;
	free(t->cyclecloud_conf);
	free(t->topology_block);
	free(t->gres_conf);
	free(t->hpc_partitions);
	free(t);
}

/* ---- topology.conf: the marked block -------------------------------- */

/* Is the line s[0..len) the marker m (trailing blanks and '\r' allowed)? */
static bool
line_is(const char *s, size_t len, const char *m)
{
	size_t mlen = strlen(m);

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r'))
		len--;
	return len == mlen && memcmp(s, m, mlen) == 0;
}

char *
ccs_topology_merge(const char *old, const char *block, char **cause)
{
	const char *p, *eol, *begin = NULL, *end = NULL;
	struct buf b = { 0 };
	size_t len, lineno = 0, begin_line = 0;

	if (old == NULL)
		old = "";
	for (p = old; *p != '\0'; p = eol) {
		lineno++;
		eol = strchr(p, '\n');
		len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		eol = eol != NULL ? eol + 1 : p + len;
		if (line_is(p, len, CCS_TOPOLOGY_BEGIN)) {
			if (begin != NULL) {
				*cause = xprintf("topology.conf line %zu: a "
				    "second generated block begins; remove "
				    "one by hand", lineno);
				return NULL;
			}
			begin = p;
			begin_line = lineno;
		} else if (line_is(p, len, CCS_TOPOLOGY_END)) {
			if (begin == NULL || end != NULL) {
				*cause = xprintf("topology.conf line %zu: an "
				    "END marker without its BEGIN", lineno);
				return NULL;
			}
			end = eol;
		}
	}
	if (begin != NULL && end == NULL) {
		*cause = xprintf("topology.conf line %zu: the generated block "
		    "has no END marker (\"%s\")", begin_line,
		    CCS_TOPOLOGY_END);
		return NULL;
	}

	if (begin != NULL) {
		buf_add(&b, old, (size_t)(begin - old));
		buf_add(&b, block, strlen(block));
		buf_add(&b, end, strlen(end));
	} else {
		buf_add(&b, old, strlen(old));
		if (b.len > 0 && b.s[b.len - 1] != '\n')
			buf_add(&b, "\n", 1);
		buf_add(&b, block, strlen(block));
	}
	return buf_take(&b);
}

/* ---- Did the node set change? --------------------------------------- */

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The keys of a cyclecloud.conf that define the node set: the node names
 * of each NodeName= line and, per PartitionName= line, its name and Nodes=.
 * Returned sorted, so reordered lines are no change.
 */
static char **
node_set_keys(const char *text, size_t *nkeys)
{
	const char *p, *eol, *nodes;
	char **keys = NULL, *line, *sp;
	size_t n = 0, len;

	for (p = text; p != NULL && *p != '\0'; p = eol) {
		eol = strchr(p, '\n');
		len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		eol = eol != NULL ? eol + 1 : p + len;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (strncmp(p, "NodeName=", 9) != 0 &&
		    strncmp(p, "PartitionName=", 14) != 0)
			continue;
		line = xstrndup(p, len);
		if ((sp = strpbrk(line, " \t\r")) != NULL)
			*sp = '\0';
		if (strncmp(line, "PartitionName=", 14) == 0 &&
		    (nodes = strstr(p, " Nodes=")) != NULL &&
		    (size_t)(nodes - p) < len) {
			char *val = xstrndup(nodes + 7, len - (size_t)(nodes +
			    7 - p));

			if ((sp = strpbrk(val, " \t\r")) != NULL)
				*sp = '\0';
			sp = xprintf("%s %s", line, val);
			free(val);
			free(line);
			line = sp;
		}
		keys = xreallocarray(keys, n + 1, sizeof(*keys));
		keys[n++] = line;
	}
	if (n > 0)
		qsort(keys, n, sizeof(*keys), strp_cmp);
	*nkeys = n;
	return keys;
}

static bool
node_set_differs(const char *old, const char *new)
{
	char **a, **b;
	size_t na, nb, i;
	bool differs;

	a = node_set_keys(old, &na);
	b = node_set_keys(new, &nb);
	differs = na != nb;
	for (i = 0; !differs && i < na; i++)
		differs = strcmp(a[i], b[i]) != 0;
	for (i = 0; i < na; i++)
		free(a[i]);
	for (i = 0; i < nb; i++)
		free(b[i]);
	free(a);
	free(b);
	return differs;
}

/* ---- Writing -------------------------------------------------------- */

static void
gen_file_clear(struct ccs_gen_file *f)
{
	free(f->name);
	free(f->path);
	free(f->content);
	free(f->backup);
	memset(f, 0, sizeof(*f));
}

void
ccs_gen_result_free(struct ccs_gen_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfiles; i++)
		gen_file_clear(&r->files[i]);
	free(r->dir);
	free(r);
}

/* Read path into *text; a missing file is no error (*text NULL). */
static int
read_old(const char *path, char **text, char **cause)
{
	size_t len;

	*text = NULL;
	if (read_file(path, CCS_GEN_MAX_FILE, text, &len) == 0) {
		if (memchr(*text, '\0', len) != NULL) {
			*cause = xprintf("%s: not a text file", path);
			free(*text);
			*text = NULL;
			return -1;
		}
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	*cause = xprintf("%s: %s", path, strerror(errno));
	return -1;
}

/* "path.YYYYmmddTHHMMSS", or with "-N" when that name is taken. */
static char *
backup_name(const char *path, time_t now)
{
	struct tm tm;
	struct stat st;
	char stamp[32], *name;
	int i;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	name = xprintf("%s.%s", path, stamp);
	for (i = 1; lstat(name, &st) == 0 || errno != ENOENT; i++) {
		free(name);
		if (i > 1000)
			return NULL;
		name = xprintf("%s.%s-%d", path, stamp, i);
	}
	return name;
}

int
ccs_slurmgen(const char *dir, const struct ccs_nodearray *arrays, size_t n,
    int flags, time_t now, struct ccs_gen_result **result, char **cause)
{
	static const char *const names[] = { CCS_GEN_CYCLECLOUD_CONF,
	    CCS_GEN_TOPOLOGY_CONF, CCS_GEN_GRES_CONF, CCS_GEN_HPC_PARTITIONS };
	/* cyclecloud.conf last: it is what makes Slurm use the others. */
	static const size_t order[] = { 1, 2, 3, 0 };
	struct ccs_slurm_texts *t;
	struct ccs_gen_result *r;
	struct ccs_gen_file *f;
	char *old[4] = { NULL, NULL, NULL, NULL };
	struct stat st;
	size_t i, k;

	if (dir == NULL || *dir == '\0') {
		*cause = xstrdup("no output directory");
		return -1;
	}
	if (stat(dir, &st) != 0) {
		*cause = xprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xprintf("%s: not a directory", dir);
		return -1;
	}
	if (ccs_slurm_texts_make(arrays, n, &t, cause) != 0)
		return -1;

	r = xcalloc(1, sizeof(*r));
	r->dir = xstrdup(dir);
	r->dry_run = (flags & CCS_GEN_DRY_RUN) != 0;
	r->gres_types_needed = t->gres_types_needed;
	for (i = 0; i < n; i++) {
		if (arrays[i].autoscale)
			r->nnodes += arrays[i].max_count;
	}
	r->nfiles = nitems(names);
	for (i = 0; i < r->nfiles; i++) {
		f = &r->files[i];
		f->name = xstrdup(names[i]);
		f->path = xprintf("%s/%s", dir, names[i]);
		if (read_old(f->path, &old[i], cause) != 0)
			goto fail;
		f->existed = old[i] != NULL;
	}

	r->files[0].content = xstrdup(t->cyclecloud_conf);
	r->files[1].content = ccs_topology_merge(old[1], t->topology_block,
	    cause);
	if (r->files[1].content == NULL) {
		char *c = xprintf("%s: %s", r->files[1].path, *cause);

		free(*cause);
		*cause = c;
		goto fail;
	}
	r->files[2].content = xstrdup(t->gres_conf);
	r->files[3].content = xstrdup(t->hpc_partitions);
	for (i = 0; i < r->nfiles; i++) {
		f = &r->files[i];
		f->changed = old[i] == NULL || strcmp(old[i], f->content) != 0;
	}
	r->node_set_changed = old[0] == NULL ||
	    node_set_differs(old[0], r->files[0].content);

	for (k = 0; k < nitems(order) && !r->dry_run; k++) {
		f = &r->files[order[k]];
		if (!f->changed)
			continue;
		if (old[order[k]] != NULL) {
			if ((f->backup = backup_name(f->path, now)) == NULL) {
				*cause = xprintf("%s: no free backup name",
				    f->path);
				goto fail;
			}
			if (write_file_atomic(f->backup, old[order[k]],
			    strlen(old[order[k]]), 0644) != 0) {
				*cause = xprintf("%s: %s", f->backup,
				    strerror(errno));
				goto fail;
			}
		}
		if (write_file_atomic(f->path, f->content, strlen(f->content),
		    0644) != 0) {
			*cause = xprintf("%s: %s", f->path, strerror(errno));
			goto fail;
		}
	}

	for (i = 0; i < nitems(old); i++)
		free(old[i]);
	ccs_slurm_texts_free(t);
	*result = r;
	return 0;

fail:
	for (i = 0; i < nitems(old); i++)
		free(old[i]);
	ccs_slurm_texts_free(t);
	ccs_gen_result_free(r);
	return -1;
}

json_object *
ccs_gen_result_json(const struct ccs_gen_result *r, bool with_content)
{
	json_object *o, *files, *f;
	const struct ccs_gen_file *gf;
	size_t i;

	o = json_object_new_object();
	json_object_object_add(o, "dir", json_object_new_string(r->dir));
	json_object_object_add(o, "dry_run",
	    json_object_new_boolean(r->dry_run));
	json_object_object_add(o, "node_set_changed",
	    json_object_new_boolean(r->node_set_changed));
	json_object_object_add(o, "restart_needed",
	    json_object_new_boolean(r->node_set_changed));
	json_object_object_add(o, "gres_types_needed",
	    json_object_new_boolean(r->gres_types_needed));
	json_object_object_add(o, "nodes",
	    json_object_new_int64((int64_t)r->nnodes));
	files = json_object_new_array();
	for (i = 0; i < r->nfiles; i++) {
		gf = &r->files[i];
		f = json_object_new_object();
		json_object_object_add(f, "name",
		    json_object_new_string(gf->name));
		json_object_object_add(f, "path",
		    json_object_new_string(gf->path));
		json_object_object_add(f, "existed",
		    json_object_new_boolean(gf->existed));
		json_object_object_add(f, "changed",
		    json_object_new_boolean(gf->changed));
		json_object_object_add(f, "backup", gf->backup != NULL ?
		    json_object_new_string(gf->backup) : NULL);
		if (with_content) {
			json_object_object_add(f, "content",
			    json_object_new_string(gf->content));
		}
		json_object_array_add(files, f);
	}
	json_object_object_add(o, "files", files);
	return o;
}
