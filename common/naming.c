/*
 * naming.c: node names, placement groups and node sizes of a nodearray
 * (naming.h), and the name map the daemon uses to parse names back.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "xmalloc.h"

void
ccs_nodearray_init(struct ccs_nodearray *a)
{
	memset(a, 0, sizeof(*a));
	a->max_scaleset_size = CCS_DEFAULT_MAX_SCALESET_SIZE;
	a->hpc = true;
	a->dampen_memory = CCS_DEFAULT_DAMPEN_MEMORY;
	a->use_pcpu = true;
	a->shutdown_policy = CCS_SHUTDOWN_TERMINATE;
}

void
ccs_nodearray_clear(struct ccs_nodearray *a)
{
	free(a->name);
	free(a->machine_type);
	free(a->partition);
	ccs_nodearray_init(a);
}

void
ccs_nodearray_copy(struct ccs_nodearray *dst, const struct ccs_nodearray *src)
{
	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->machine_type =
	    src->machine_type != NULL ? xstrdup(src->machine_type) : NULL;
	dst->partition =
	    src->partition != NULL ? xstrdup(src->partition) : NULL;
}

const char *
ccs_nodearray_partition(const struct ccs_nodearray *a)
{
	if (a->partition != NULL && *a->partition != '\0')
		return a->partition;
	return a->name != NULL ? a->name : "";
}

/*
 * Names end up in slurm.conf lines, hostlist expressions, printf formats
 * (nameFormat) and file names, so only the characters safe in all of them
 * are allowed.  Slurm's hostlist treats the last number of a name as its
 * range, which the generated "-{i}" suffix always is.
 */
static int
valid_name(const char *s)
{
	size_t len = 0;

	if (s == NULL || *s == '\0')
		return 0;
	if (*s == '-')
		return 0;
	for (; *s != '\0'; s++, len++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	}
	return len <= 64;
}

static int
valid_machine_type(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	}
	return 1;
}

int
ccs_nodearray_check(const struct ccs_nodearray *a, char **cause)
{
	if (!valid_name(a->name)) {
		*cause = xprintf("nodearray name \"%s\" is not a valid Slurm "
		    "node name prefix (letters, digits, '_' and '-', at most "
		    "64)", a->name != NULL ? a->name : "");
		return -1;
	}
	if (!valid_name(ccs_nodearray_partition(a))) {
		*cause = xprintf("nodearray %s: partition name \"%s\" is not "
		    "valid (letters, digits, '_' and '-')", a->name,
		    ccs_nodearray_partition(a));
		return -1;
	}
	if (a->machine_type == NULL || *a->machine_type == '\0') {
		*cause = xprintf("nodearray %s has no machine type (no bucket)",
		    a->name);
		return -1;
	}
	if (!valid_machine_type(a->machine_type)) {
		*cause = xprintf("nodearray %s: machine type \"%s\" is not "
		    "valid", a->name, a->machine_type);
		return -1;
	}
	if (a->vcpu == 0 || !(a->memory_gb > 0) || !isfinite(a->memory_gb)) {
		*cause = xprintf("nodearray %s: machine type %s has no VM size "
		    "(vCPU count and memory unknown)", a->name,
		    a->machine_type);
		return -1;
	}
	if (a->max_count == 0) {
		*cause = xprintf("nodearray %s: the bucket for %s has maxCount "
		    "0, no node can be created", a->name, a->machine_type);
		return -1;
	}
	if (a->max_count > CCS_MAX_NODES_PER_ARRAY) {
		*cause = xprintf("nodearray %s: maxCount %u is above the limit "
		    "of %u", a->name, a->max_count, CCS_MAX_NODES_PER_ARRAY);
		return -1;
	}
	if (a->hpc && a->max_scaleset_size == 0) {
		*cause = xprintf("nodearray %s: MaxScalesetSize is 0", a->name);
		return -1;
	}
	if (!(a->dampen_memory >= 0 && a->dampen_memory < 100)) {
		*cause = xprintf("nodearray %s: dampen_memory %g is not a "
		    "percentage below 100", a->name, a->dampen_memory);
		return -1;
	}
	return 0;
}

unsigned
ccs_nodearray_pg_count(const struct ccs_nodearray *a)
{
	if (!a->hpc || a->max_scaleset_size == 0)
		return 0;
	return (a->max_count + a->max_scaleset_size - 1) / a->max_scaleset_size;
}

unsigned
ccs_nodearray_pg_size(const struct ccs_nodearray *a, unsigned pg)
{
	unsigned npg = ccs_nodearray_pg_count(a);

	if (pg >= npg)
		return 0;
	if (pg + 1 < npg)
		return a->max_scaleset_size;
	return a->max_count - pg * a->max_scaleset_size;
}

char *
ccs_node_name(const struct ccs_nodearray *a, unsigned pg, unsigned index)
{
	if (a->hpc)
		return xprintf("%s-pg%u-%u", a->name, pg, index);
	return xprintf("%s-%u", a->name, index);
}

char *
ccs_placement_group_id(const struct ccs_nodearray *a, unsigned pg)
{
	if (!a->hpc)
		return NULL;
	return xprintf("%s-%s-pg%u", a->name, a->machine_type, pg);
}

char **
ccs_nodearray_pg_names(const struct ccs_nodearray *a, unsigned pg, size_t *n)
{
	unsigned size = ccs_nodearray_pg_size(a, pg), i;
	char **v;

	v = xcalloc((size_t)size + 1, sizeof(*v));
	for (i = 0; i < size; i++)
		v[i] = ccs_node_name(a, pg, i + 1);
	*n = size;
	return v;
}

char **
ccs_nodearray_names(const struct ccs_nodearray *a, size_t *n)
{
	unsigned i, pg, k;
	char **v;

	v = xcalloc((size_t)a->max_count + 1, sizeof(*v));
	if (!a->hpc || a->max_scaleset_size == 0) {
		for (i = 0; i < a->max_count; i++)
			v[i] = ccs_node_name(a, 0, i + 1);
	} else {
		for (i = 0; i < a->max_count; i++) {
			pg = i / a->max_scaleset_size;
			k = i % a->max_scaleset_size;
			v[i] = ccs_node_name(a, pg, k + 1);
		}
	}
	*n = a->max_count;
	return v;
}

void
ccs_strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

uint64_t
ccs_real_memory_mib(const struct ccs_nodearray *a)
{
	double gb = a->memory_gb, keep, mib;

	if (!(gb > 0))
		return CCS_MIN_REAL_MEMORY;
	keep = gb * a->dampen_memory / 100.0;
	if (keep < 1)
		keep = 1;
	/*
	 * Sizes such as 448 GB at 5% are not exact in binary; a tiny bias
	 * keeps a result that is mathematically whole from flooring to the
	 * integer below it.
	 */
	mib = floor((gb - keep) * 1024.0 + 1e-6);
	if (mib < CCS_MIN_REAL_MEMORY)
		return CCS_MIN_REAL_MEMORY;
	return (uint64_t)mib;
}

unsigned
ccs_slurm_cpus(const struct ccs_nodearray *a)
{
	if (a->use_pcpu && a->pcpu > 0 && a->pcpu <= a->vcpu)
		return a->pcpu;
	return a->vcpu;
}

unsigned
ccs_slurm_threads_per_core(const struct ccs_nodearray *a)
{
	if (a->pcpu == 0 || a->pcpu > a->vcpu || a->vcpu % a->pcpu != 0)
		return 1;
	return a->vcpu / a->pcpu;
}

/* ---- The name map --------------------------------------------------- */

struct map_array {
	char	*name;
	size_t	 len;
	char	*machine_type;
	bool	 hpc;
	unsigned max_count;
	unsigned pgsize;
};

struct ccs_namemap {
	struct map_array *arrays;
	size_t	 narrays;
	size_t	*slots;		/* array index + 1; 0: free */
	size_t	 nslots;	/* a power of two */
};

static uint64_t
hash_mem(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The array named exactly s[0..len), or -1. */
static long
map_find(const struct ccs_namemap *m, const char *s, size_t len)
{
	size_t i, mask = m->nslots - 1, idx;

	for (i = hash_mem(s, len) & mask; m->slots[i] != 0;
	    i = (i + 1) & mask) {
		idx = m->slots[i] - 1;
		if (m->arrays[idx].len == len &&
		    memcmp(m->arrays[idx].name, s, len) == 0)
			return (long)idx;
	}
	return -1;
}

/*
 * Parse a decimal number at s[0..len): digits only, no leading zero, at
 * most UINT_MAX.  Generated names never have leading zeros, so "hpc-pg0-01"
 * is not a node of ours.
 */
static int
parse_uint(const char *s, size_t len, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * Split "<prefix>-<number>" at its last '-'.  Returns 0 with the prefix
 * length and the number, or -1.
 */
static int
split_last_number(const char *s, size_t len, size_t *plen, unsigned *num)
{
	size_t i = len;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i < 2 || i == len || s[i - 1] != '-')
		return -1;
	if (parse_uint(s + i, len - i, num) != 0)
		return -1;
	*plen = i - 1;
	return 0;
}

static int
map_parse(const struct ccs_namemap *m, const char *name,
    struct ccs_node_ref *ref)
{
	const struct map_array *ma;
	size_t len = strlen(name), plen, alen;
	unsigned index, pg;
	long idx;

	if (split_last_number(name, len, &plen, &index) != 0 || index == 0)
		return -1;

	/* HTC: "{array}-{i}". */
	idx = map_find(m, name, plen);
	if (idx >= 0 && !m->arrays[idx].hpc) {
		ma = &m->arrays[idx];
		if (index > ma->max_count)
			return -1;
		ref->array = (size_t)idx;
		ref->pg = 0;
		ref->index = index;
		ref->ordinal = index - 1;
		return 0;
	}

	/* HPC: "{array}-pg{P}-{i}". */
	alen = plen;
	while (alen > 0 && name[alen - 1] >= '0' && name[alen - 1] <= '9')
		alen--;
	if (alen < 4 || alen == plen || memcmp(name + alen - 3, "-pg", 3) != 0)
		return -1;
	if (parse_uint(name + alen, plen - alen, &pg) != 0)
		return -1;
	alen -= 3;
	idx = map_find(m, name, alen);
	if (idx < 0 || !m->arrays[idx].hpc)
		return -1;
	ma = &m->arrays[idx];
	if (index > ma->pgsize ||
	    (uint64_t)pg * ma->pgsize + index > ma->max_count)
		return -1;
	ref->array = (size_t)idx;
	ref->pg = pg;
	ref->index = index;
	ref->ordinal = pg * ma->pgsize + index - 1;
	return 0;
}

struct ccs_namemap *
ccs_namemap_new(const struct ccs_nodearray *arrays, size_t n, char **cause)
{
	struct ccs_namemap *m;
	struct map_array *ma;
	size_t i, j, mask;
	long idx;

	for (i = 0; i < n; i++) {
		if (ccs_nodearray_check(&arrays[i], cause) != 0)
			return NULL;
	}

	m = xcalloc(1, sizeof(*m));
	m->arrays = xcalloc(n > 0 ? n : 1, sizeof(*m->arrays));
	m->nslots = 16;
	while (m->nslots < n * 2)
		m->nslots *= 2;
	m->slots = xcalloc(m->nslots, sizeof(*m->slots));
	mask = m->nslots - 1;

	for (i = 0; i < n; i++) {
		ma = &m->arrays[i];
		ma->name = xstrdup(arrays[i].name);
		ma->len = strlen(ma->name);
		ma->machine_type = xstrdup(arrays[i].machine_type);
		ma->hpc = arrays[i].hpc;
		ma->max_count = arrays[i].max_count;
		ma->pgsize = arrays[i].max_scaleset_size;
		m->narrays = i + 1;
		if (map_find(m, ma->name, ma->len) >= 0) {
			*cause = xprintf("two nodearrays are named %s",
			    ma->name);
			ccs_namemap_free(m);
			return NULL;
		}
		for (j = hash_mem(ma->name, ma->len) & mask; m->slots[j] != 0;
		    j = (j + 1) & mask)
			;
		m->slots[j] = i + 1;
	}

	/*
	 * HPC names are "A-pgP-i" and HTC names "B-i"; a number never has
	 * leading zeros, so two names of one kind can only be equal when their
	 * arrays are.  The one collision is an HTC array named "A-pgP" beside
	 * an HPC array A, whatever P and however large A may grow.
	 */
	for (i = 0; i < n; i++) {
		ma = &m->arrays[i];
		if (ma->hpc)
			continue;
		j = ma->len;
		while (j > 0 && ma->name[j - 1] >= '0' &&
		    ma->name[j - 1] <= '9')
			j--;
		if (j == ma->len || j < 4 ||
		    memcmp(ma->name + j - 3, "-pg", 3) != 0)
			continue;
		idx = map_find(m, ma->name, j - 3);
		if (idx >= 0 && m->arrays[idx].hpc) {
			*cause = xprintf("nodearrays %s (HTC) and %s (HPC) "
			    "would share node names such as %s-1; rename one",
			    ma->name,
			    m->arrays[idx].name, ma->name);
			ccs_namemap_free(m);
			return NULL;
		}
	}
	return m;
}

void
ccs_namemap_free(struct ccs_namemap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->narrays; i++) {
		free(m->arrays[i].name);
		free(m->arrays[i].machine_type);
	}
	free(m->arrays);
	free(m->slots);
	free(m);
}

int
ccs_namemap_lookup(const struct ccs_namemap *m, const char *name,
    struct ccs_node_ref *ref)
{
	struct ccs_node_ref r;

	if (name == NULL || map_parse(m, name, &r) != 0)
		return -1;
	*ref = r;
	return 0;
}

/* ---- Create sets ---------------------------------------------------- */

static int
ref_cmp(const void *a, const void *b)
{
	const struct ccs_node_ref *x = a, *y = b;

	if (x->array != y->array)
		return x->array < y->array ? -1 : 1;
	if (x->ordinal != y->ordinal)
		return x->ordinal < y->ordinal ? -1 : 1;
	return 0;
}

int
ccs_create_sets(const struct ccs_namemap *m, char *const *names, size_t n,
    struct ccs_create_set **sets, size_t *nsets, char **cause)
{
	struct ccs_node_ref *refs;
	struct ccs_create_set *out = NULL, *s;
	const struct map_array *ma;
	size_t i, nout = 0, start;

	refs = xcalloc(n > 0 ? n : 1, sizeof(*refs));
	for (i = 0; i < n; i++) {
		if (map_parse(m, names[i], &refs[i]) != 0) {
			*cause = xprintf("%s is not a node of any autoscale "
			    "nodearray", names[i]);
			free(refs);
			return -1;
		}
	}
	qsort(refs, n, sizeof(*refs), ref_cmp);

	for (i = 0; i < n; i = start) {
		/* One run: same array and group, indices one apart. */
		start = i + 1;
		while (start < n && refs[start].array == refs[i].array &&
		    refs[start].pg == refs[i].pg &&
		    refs[start].index <= refs[start - 1].index + 1)
			start++;
		ma = &m->arrays[refs[i].array];
		out = xreallocarray(out, nout + 1, sizeof(*out));
		s = &out[nout++];
		s->array = refs[i].array;
		s->nodearray = xstrdup(ma->name);
		s->machine_type = xstrdup(ma->machine_type);
		s->name_offset = refs[i].index;
		s->count = refs[start - 1].index - refs[i].index + 1;
		if (ma->hpc) {
			s->name_format = xprintf("%s-pg%u-%%d", ma->name,
			    refs[i].pg);
			s->placement_group_id = xprintf("%s-%s-pg%u",
			    ma->name, ma->machine_type, refs[i].pg);
		} else {
			s->name_format = xprintf("%s-%%d", ma->name);
			s->placement_group_id = NULL;
		}
	}
	free(refs);
	*sets = out;
	*nsets = nout;
	return 0;
}

void
ccs_create_sets_free(struct ccs_create_set *sets, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(sets[i].nodearray);
		free(sets[i].machine_type);
		free(sets[i].name_format);
		free(sets[i].placement_group_id);
	}
	free(sets);
}
