/*
 * ctl_check.c: `ccslurmctl check [--slurm-conf FILE] [--no-daemon]
 * [--json]`: what in slurm.conf, the control socket or the CycleCloud
 * connection is wrong for bursting, one finding a line with a severity
 * (error, warning, ok).  Exit 1 when any finding is an error.
 *
 * slurm.conf is FILE, else the file $SLURM_CONF names, else the one
 * `scontrol show config` reports (SLURM_CONF = ...), else
 * CCSLURMD_SLURM_CONF_DIR/slurm.conf.  Include lines are followed (relative
 * to the including file's directory, globs allowed), as slurmctld does.
 * The reference for each finding is the seed's prescription in
 * /work/shared/spec/slurm-power-save.md.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "hostlist.h"
#include "log.h"
#include "paths.h"
#include "proto.h"
#include "slurmgen.h"
#include "util.h"
#include "xmalloc.h"

#define CHECK_MAX_INCLUDE_DEPTH	16
#define CHECK_MAX_FILE		(16 * 1024 * 1024)
/* A VM boots in 3 to 10 minutes; the seed sets ResumeTimeout=1800. */
#define CHECK_MIN_RESUME_TIMEOUT 600	/* seconds */
/* A VM takes minutes to stop; the seed sets SuspendTimeout=600. */
#define CHECK_MIN_SUSPEND_TIMEOUT 120	/* seconds */
#define CHECK_TREE_WIDTH	65533
#define CHECK_PING_TIMEOUT_MS	5000

enum sev { SEV_OK = 0, SEV_WARNING, SEV_ERROR };
static const char *sev_names[] = { "ok", "warning", "error" };

struct finding {
	enum sev	 sev;
	char		*what;		/* "ResumeProgram", "socket", ... */
	char		*msg;
};

/* One global Key=Value as slurmctld would take it (the last one wins). */
struct kv {
	char		*key;
	char		*value;
	char		*file;
	unsigned	 line;
};

struct sconf {
	char		*path;		/* the top file */
	struct kv	*kv;
	size_t		 nkv;
	char		**files;	/* every file read, top first */
	size_t		 nfiles;
	bool		 cyclecloud_included;
	char		*cyclecloud_path; /* the cyclecloud.conf included */
	bool		 node_gres;	/* a NodeName line has Gres= */
	char		**node_exprs;	/* every NodeName= value but DEFAULT */
	size_t		 nnode_exprs;
	char		*gres_where;	/* file:line of the first one */
};

struct check {
	struct finding	*v;
	size_t		 n;
	size_t		 nerr, nwarn;
};

static void
add(struct check *c, enum sev sev, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add(struct check *c, enum sev sev, const char *what, const char *fmt, ...)
{
	va_list ap;
	struct finding *f;

	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	f = &c->v[c->n++];
	f->sev = sev;
	f->what = xstrdup(what);
	va_start(ap, fmt);
	if (vasprintf(&f->msg, fmt, ap) == -1)
		fatalx("vasprintf failed");
	va_end(ap);
	if (sev == SEV_ERROR)
		c->nerr++;
	else if (sev == SEV_WARNING)
		c->nwarn++;
}

static void
check_free(struct check *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].what);
		free(c->v[i].msg);
	}
	free(c->v);
}

static void	strv_free_n(char **, size_t);

static void
sconf_free(struct sconf *s)
{
	size_t i;

	for (i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
		free(s->kv[i].file);
	}
	free(s->kv);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->path);
	free(s->cyclecloud_path);
	free(s->gres_where);
	strv_free_n(s->node_exprs, s->nnode_exprs);
}

/* The last value of key (case-insensitive, as Slurm), or NULL. */
static const struct kv *
sconf_get(const struct sconf *s, const char *key)
{
	size_t i;

	for (i = s->nkv; i > 0; i--) {
		if (strcasecmp(s->kv[i - 1].key, key) == 0)
			return &s->kv[i - 1];
	}
	return NULL;
}

/*
 * Split a line into whitespace-separated tokens; double quotes group
 * (and are removed).  A '#' outside quotes starts a comment ("\#" is a
 * literal '#', as slurm.conf(5) allows).  Tokens are allocated.
 */
static char **
tokenize(const char *line, size_t *n)
{
	char **v = NULL, *tok;
	size_t len = strlen(line), i = 0, o;
	int quoted;

	*n = 0;
	tok = xmalloc(len + 1);
	for (;;) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i >= len || line[i] == '#')
			break;
		o = 0;
		quoted = 0;
		while (i < len) {
			char ch = line[i];

			if (ch == '"') {
				quoted = !quoted;
				i++;
				continue;
			}
			if (!quoted && (isspace((unsigned char)ch) ||
			    ch == '#'))
				break;
			if (ch == '\\' && i + 1 < len && line[i + 1] == '#') {
				tok[o++] = '#';
				i += 2;
				continue;
			}
			tok[o++] = ch;
			i++;
		}
		tok[o] = '\0';
		v = xreallocarray(v, *n + 2, sizeof(*v));
		v[(*n)++] = xstrdup(tok);
		v[*n] = NULL;
	}
	free(tok);
	return v;
}

static void
strv_free_n(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int sconf_read(struct sconf *, const char *path, int depth,
    struct check *);

/* "Include PATTERN": relative to the including file's directory. */
static void
sconf_include(struct sconf *s, const char *from, unsigned line,
    const char *pattern, int depth, struct check *c)
{
	char *copy, *full;
	glob_t g;
	size_t i;
	int rc;

	if (pattern[0] == '/')
		full = xstrdup(pattern);
	else {
		copy = xstrdup(from);
		full = xprintf("%s/%s", dirname(copy), pattern);
		free(copy);
	}
	memset(&g, 0, sizeof(g));
	rc = glob(full, GLOB_NOCHECK, NULL, &g);
	if (rc != 0) {
		add(c, SEV_ERROR, "Include", "%s:%u: Include %s: cannot "
		    "expand", log_esc(from), line, log_esc(pattern));
		free(full);
		return;
	}
	for (i = 0; i < g.gl_pathc; i++)
		sconf_read(s, g.gl_pathv[i], depth + 1, c);
	globfree(&g);
	free(full);
}

static int
sconf_read(struct sconf *s, const char *path, int depth, struct check *c)
{
	char *buf, *p, *eol, **tok, *eq, *base, *copy;
	size_t len, ntok, i;
	unsigned line = 0;
	bool node_line;

	if (depth > CHECK_MAX_INCLUDE_DEPTH) {
		add(c, SEV_ERROR, "Include", "%s: Include nested deeper than "
		    "%d (a loop?)", log_esc(path), CHECK_MAX_INCLUDE_DEPTH);
		return -1;
	}
	if (read_file(path, CHECK_MAX_FILE, &buf, &len) == -1) {
		add(c, SEV_ERROR, depth == 0 ? "slurm.conf" : "Include",
		    "%s: %s", log_esc(path), strerror(errno));
		return -1;
	}
	s->files = xreallocarray(s->files, s->nfiles + 1, sizeof(*s->files));
	s->files[s->nfiles++] = xstrdup(path);
	copy = xstrdup(path);
	base = basename(copy);
	if (strcmp(base, CCS_GEN_CYCLECLOUD_CONF) == 0 && depth > 0) {
		s->cyclecloud_included = true;
		free(s->cyclecloud_path);
		s->cyclecloud_path = xstrdup(path);
	}
	free(copy);

	for (p = buf; p < buf + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			eol = buf + len;
		*eol = '\0';
		line++;
		tok = tokenize(p, &ntok);
		if (ntok == 0) {
			free(tok);
			continue;
		}
		if (strcasecmp(tok[0], "include") == 0) {
			if (ntok < 2)
				add(c, SEV_ERROR, "Include", "%s:%u: Include "
				    "without a file", log_esc(path), line);
			else
				sconf_include(s, path, line, tok[1], depth,
				    c);
			strv_free_n(tok, ntok);
			continue;
		}
		node_line = strncasecmp(tok[0], "NodeName=", 9) == 0;
		if (node_line || strncasecmp(tok[0], "PartitionName=", 14) ==
		    0 || strncasecmp(tok[0], "NodeSet=", 8) == 0 ||
		    strncasecmp(tok[0], "DownNodes=", 10) == 0 ||
		    strncasecmp(tok[0], "FrontendName=", 13) == 0) {
			if (node_line && strcasecmp(tok[0] + 9, "DEFAULT") !=
			    0) {
				s->node_exprs = xreallocarray(s->node_exprs,
				    s->nnode_exprs + 1, sizeof(char *));
				s->node_exprs[s->nnode_exprs++] =
				    xstrdup(tok[0] + 9);
			}
			for (i = 1; node_line && i < ntok; i++) {
				if (strncasecmp(tok[i], "Gres=", 5) == 0 &&
				    !s->node_gres) {
					s->node_gres = true;
					s->gres_where = xprintf("%s:%u", path,
					    line);
				}
			}
			strv_free_n(tok, ntok);
			continue;
		}
		for (i = 0; i < ntok; i++) {
			if ((eq = strchr(tok[i], '=')) == NULL)
				continue;
			s->kv = xreallocarray(s->kv, s->nkv + 1,
			    sizeof(*s->kv));
			s->kv[s->nkv].key = xstrndup(tok[i],
			    (size_t)(eq - tok[i]));
			s->kv[s->nkv].value = xstrdup(eq + 1);
			s->kv[s->nkv].file = xstrdup(path);
			s->kv[s->nkv].line = line;
			s->nkv++;
		}
		strv_free_n(tok, ntok);
	}
	free(buf);
	return 0;
}

/*
 * `scontrol show config`'s "SLURM_CONF = /etc/slurm/slurm.conf" line
 * (allocated), or NULL when scontrol cannot say (no slurmctld).
 */
static char *
scontrol_slurm_conf(void)
{
	FILE *f;
	char line[4096], *path = NULL, *p, *e;
	int status;

	/* stdin from /dev/null, stderr dropped: only its answer matters. */
	if ((f = popen("scontrol show config </dev/null 2>/dev/null",
	    "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "SLURM_CONF", 10) != 0 || path != NULL)
			continue;
		if ((p = strchr(line, '=')) == NULL)
			continue;
		for (p++; *p == ' '; p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)
		    e[-1]); e--)
			;
		*e = '\0';
		if (*p == '/')
			path = xstrdup(p);
	}
	status = pclose(f);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* Seconds of a slurm.conf time value ("600"); -1 when not a number. */
static long
secs(const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return -1;
	return n;
}

/* Does a comma-separated value hold word (case-insensitive)? */
static bool
list_has(const char *list, const char *word)
{
	char *copy = xstrdup(list), *save = NULL, *t;
	bool found = false;

	for (t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(t, word) == 0) {
			found = true;
			break;
		}
	}
	free(copy);
	return found;
}

/*
 * Is path ccslurmd's shim named shim: the installed one, one of that name
 * (a build tree, another prefix), or a script that execs one?
 */
static bool
is_shim(const char *path, const char *shim)
{
	char *copy, *buf = NULL, *p;
	size_t len;
	bool yes = false;

	copy = xstrdup(path);
	if (strcmp(basename(copy), shim) == 0)
		yes = true;
	free(copy);
	if (yes)
		return true;
	/* A wrapper (e.g. setting CCSLURMD_SOCKET): "exec .../shim". */
	if (read_file(path, 64 * 1024, &buf, &len) == -1)
		return false;
	if (len > 2 && buf[0] == '#' && buf[1] == '!') {
		for (p = buf; (p = strstr(p, "exec")) != NULL; p += 4) {
			char *eol = strchr(p, '\n');
			char *hit = strstr(p, shim);

			if (hit != NULL && (eol == NULL || hit < eol)) {
				yes = true;
				break;
			}
		}
	}
	free(buf);
	return yes;
}

static void
check_program(struct check *c, const struct sconf *s, const char *key,
    const char *shim, enum sev missing)
{
	const struct kv *kv = sconf_get(s, key);
	char *want = xprintf("%s/%s", CCSLURMD_LIBEXECDIR, shim);

	if (kv == NULL || *kv->value == '\0')
		add(c, missing, key, "not set: set %s=%s", key, want);
	else if (access(kv->value, X_OK) == -1)
		add(c, SEV_ERROR, key, "%s (%s:%u): %s", log_esc(kv->value),
		    log_esc(kv->file), kv->line, strerror(errno));
	else if (!is_shim(kv->value, shim))
		add(c, SEV_ERROR, key, "%s is not ccslurmd's shim: set "
		    "%s=%s (or a script that execs it)", log_esc(kv->value),
		    key, want);
	else
		add(c, SEV_OK, key, "%s", log_esc(kv->value));
	free(want);
}

static void
check_rate(struct check *c, const struct sconf *s, const char *key,
    const char *dflt)
{
	const struct kv *kv = sconf_get(s, key);

	if (kv == NULL)
		add(c, SEV_WARNING, key, "not set: Slurm's default %s nodes a "
		    "minute splits large jobs over calls; set %s=0 (ccslurmd "
		    "paces the cloud calls)", dflt, key);
	else if (secs(kv->value) != 0)
		add(c, SEV_WARNING, key, "%s limits how many nodes Slurm "
		    "hands over a minute; set %s=0 (ccslurmd paces the cloud "
		    "calls)", log_esc(kv->value), key);
	else
		add(c, SEV_OK, key, "0 (unlimited)");
}

static void
check_timeout(struct check *c, const struct sconf *s, const char *key,
    long dflt, long min, long seed, const char *why)
{
	const struct kv *kv = sconf_get(s, key);
	long v = kv != NULL ? secs(kv->value) : dflt;

	if (kv != NULL && v < 0)
		add(c, SEV_ERROR, key, "%s is not a number of seconds",
		    log_esc(kv->value));
	else if (v < min)
		add(c, SEV_WARNING, key, "%ld s%s is shorter than %s; the "
		    "seed uses %ld", v, kv == NULL ? " (Slurm's default)" : "",
		    why, seed);
	else
		add(c, SEV_OK, key, "%ld s", v);
}

/* How many HPC partitions generate listed beside cyclecloud.conf: -1
 * when that cannot be told. */
static int
hpc_partitions(const struct sconf *s)
{
	char *copy, *path, *buf;
	size_t len, i;
	int n = 0;

	if (s->cyclecloud_path == NULL)
		return -1;
	copy = xstrdup(s->cyclecloud_path);
	path = xprintf("%s/%s", dirname(copy), CCS_GEN_HPC_PARTITIONS);
	free(copy);
	if (read_file(path, CHECK_MAX_FILE, &buf, &len) == -1) {
		free(path);
		return -1;
	}
	/* Lines that name a partition: not blank, not a comment. */
	for (i = 0; i < len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] != '#' &&
		    !isspace((unsigned char)buf[i]))
			n++;
	}
	free(buf);
	free(path);
	return n;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * With topology/tree every node must sit in some switch of topology.conf:
 * Slurm warns "switches lack access" and cannot place a job on the others.
 * Sites bursting from on-prem have their own nodes too (decisions.md).
 */
static void
check_switches(struct check *c, const struct sconf *s)
{
	struct hostnames hn;
	char *copy, *path, *buf, *p, *eol, **tok, **sorted = NULL;
	char *sample = NULL, *t;
	size_t len, ntok, i, j, nsw = 0, missing = 0;

	copy = xstrdup(s->path);
	path = xprintf("%s/topology.conf", dirname(copy));
	free(copy);
	if (read_file(path, CHECK_MAX_FILE, &buf, &len) == -1) {
		add(c, SEV_WARNING, "switches", "%s: %s: with topology/tree "
		    "every node must be in a switch", log_esc(path),
		    strerror(errno));
		free(path);
		return;
	}
	for (p = buf; p < buf + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			eol = buf + len;
		*eol = '\0';
		tok = tokenize(p, &ntok);
		for (i = 1; i < ntok && strncasecmp(tok[0], "SwitchName=", 11) ==
		    0; i++) {
			if (strncasecmp(tok[i], "Nodes=", 6) != 0 ||
			    hostlist_expand(tok[i] + 6, &hn, NULL) == -1)
				continue;
			sorted = xreallocarray(sorted, nsw + hn.n + 1,
			    sizeof(char *));
			for (j = 0; j < hn.n; j++)
				sorted[nsw++] = xstrdup(hn.names[j]);
			hostnames_free(&hn);
		}
		strv_free_n(tok, ntok);
	}
	free(buf);
	if (nsw > 0)
		qsort(sorted, nsw, sizeof(char *), cmp_strp);
	for (i = 0; i < s->nnode_exprs; i++) {
		if (hostlist_expand(s->node_exprs[i], &hn, NULL) == -1)
			continue;
		for (j = 0; j < hn.n; j++) {
			if (nsw > 0 && bsearch(&hn.names[j], sorted, nsw,
			    sizeof(char *), cmp_strp) != NULL)
				continue;
			if (missing++ < 5) {
				t = xprintf("%s%s%s", sample ? sample : "",
				    sample ? "," : "", hn.names[j]);
				free(sample);
				sample = t;
			}
		}
		hostnames_free(&hn);
	}
	if (missing > 0)
		add(c, SEV_WARNING, "switches", "%zu node(s) in no switch of "
		    "%s (%s%s): with topology/tree Slurm cannot place jobs "
		    "on them; add the site's own switches outside the "
		    "ccslurmd block", missing, log_esc(path), log_esc(sample),
		    missing > 5 ? ",..." : "");
	else
		add(c, SEV_OK, "switches", "every node is in a switch of %s",
		    log_esc(path));
	for (i = 0; i < nsw; i++)
		free(sorted[i]);
	free(sorted);
	free(sample);
	free(path);
}

static void
check_slurm_conf(struct check *c, const struct sconf *s)
{
	const struct kv *kv;
	int nhpc;

	check_program(c, s, "ResumeProgram", "ccslurm-resume", SEV_ERROR);
	check_program(c, s, "SuspendProgram", "ccslurm-suspend", SEV_ERROR);
	check_program(c, s, "ResumeFailProgram", "ccslurm-resumefail",
	    SEV_WARNING);
	check_rate(c, s, "ResumeRate", "300");
	check_rate(c, s, "SuspendRate", "60");
	check_timeout(c, s, "ResumeTimeout", 60, CHECK_MIN_RESUME_TIMEOUT,
	    1800, "a VM boot (3 to 10 minutes)");
	check_timeout(c, s, "SuspendTimeout", 30, CHECK_MIN_SUSPEND_TIMEOUT,
	    600, "a VM takes to stop");

	kv = sconf_get(s, "SuspendTime");
	if (kv == NULL || secs(kv->value) < 0)
		add(c, SEV_WARNING, "SuspendTime", "%s: idle cloud nodes are "
		    "never powered down unless a partition sets SuspendTime; "
		    "the seed uses 300", kv == NULL ? "not set" :
		    log_esc(kv->value));
	else
		add(c, SEV_OK, "SuspendTime", "%s s", log_esc(kv->value));

	kv = sconf_get(s, "SlurmctldParameters");
	if (kv != NULL && list_has(kv->value, "cloud_dns"))
		add(c, SEV_ERROR, "SlurmctldParameters", "cloud_dns (%s:%u): "
		    "Slurm then resolves node names by DNS and srun fails "
		    "without it; remove it so slurmctld hands out NodeAddr",
		    log_esc(kv->file), kv->line);
	if (kv != NULL && list_has(kv->value, "cloud_reg_addrs"))
		add(c, SEV_OK, "addresses", "cloud_reg_addrs: slurmd sets "
		    "NodeAddr when a cloud node registers");
	else
		add(c, SEV_OK, "addresses", "ccslurmd sets NodeAddr from "
		    "CycleCloud's PrivateIp (no cloud_reg_addrs)");

	if (s->cyclecloud_included)
		add(c, SEV_OK, "Include", "%s",
		    log_esc(s->cyclecloud_path));
	else
		add(c, SEV_ERROR, "Include", "%s is not Included: add "
		    "\"Include %s/%s\" (written by ccslurmctl generate)",
		    CCS_GEN_CYCLECLOUD_CONF, "/sched",
		    CCS_GEN_CYCLECLOUD_CONF);

	kv = sconf_get(s, "TreeWidth");
	if (kv == NULL || secs(kv->value) < CHECK_TREE_WIDTH)
		add(c, SEV_WARNING, "TreeWidth", "%s: set TreeWidth=%d, so "
		    "slurmctld talks to cloud nodes directly instead of "
		    "through other nodes that may be powered down",
		    kv == NULL ? "not set" : log_esc(kv->value),
		    CHECK_TREE_WIDTH);
	else
		add(c, SEV_OK, "TreeWidth", "%s", log_esc(kv->value));

	kv = sconf_get(s, "PrivateData");
	if (kv == NULL || !list_has(kv->value, "cloud"))
		add(c, SEV_WARNING, "PrivateData", "%s: add \"cloud\" so "
		    "sinfo and squeue show powered-down cloud nodes",
		    kv == NULL ? "not set" : log_esc(kv->value));
	else
		add(c, SEV_OK, "PrivateData", "%s", log_esc(kv->value));

	nhpc = hpc_partitions(s);
	kv = sconf_get(s, "TopologyPlugin");
	if (kv != NULL && strcasecmp(kv->value, "topology/tree") == 0) {
		add(c, SEV_OK, "TopologyPlugin", "topology/tree");
		check_switches(c, s);
	}
	else if (nhpc != 0)
		add(c, SEV_WARNING, "TopologyPlugin", "%s: with HPC "
		    "partitions set TopologyPlugin=topology/tree, so a job "
		    "stays in one placement group", kv == NULL ? "not set" :
		    log_esc(kv->value));
	else
		add(c, SEV_OK, "TopologyPlugin", "no HPC partition");

	kv = sconf_get(s, "JobSubmitPlugins");
	if (kv != NULL && (list_has(kv->value, "job_submit/cyclecloud") ||
	    list_has(kv->value, "cyclecloud")))
		add(c, SEV_OK, "JobSubmitPlugins", "%s", log_esc(kv->value));
	else if (nhpc != 0)
		add(c, SEV_WARNING, "JobSubmitPlugins", "%s: add "
		    "job_submit/cyclecloud so an MPI job stays in one "
		    "placement group", kv == NULL ? "not set" :
		    log_esc(kv->value));
	else
		add(c, SEV_OK, "JobSubmitPlugins", "no HPC partition");

	kv = sconf_get(s, "GresTypes");
	if (s->node_gres && (kv == NULL || !list_has(kv->value, "gpu")))
		add(c, SEV_ERROR, "GresTypes", "%s: a node line has Gres= "
		    "(%s): set GresTypes=gpu", kv == NULL ? "not set" :
		    log_esc(kv->value), log_esc(s->gres_where));
	else if (s->node_gres)
		add(c, SEV_OK, "GresTypes", "%s", log_esc(kv->value));
}

static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		return pw->pw_name;
	snprintf(buf, len, "%lu", (unsigned long)uid);
	return buf;
}

static const char *
group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		return gr->gr_name;
	snprintf(buf, len, "%lu", (unsigned long)gid);
	return buf;
}

/* The socket, the daemon behind it, and CycleCloud as the daemon sees it. */
static void
check_daemon(struct check *c, const char *sock)
{
	struct stat st;
	json_object *reply = NULL, *cc, *v;
	char *cause = NULL, ub[32], gb[32], age[32];
	uint16_t rtype;
	int64_t ok_t = 0, err_t = 0;
	const char *err = NULL;

	if (stat(sock, &st) == -1) {
		add(c, SEV_ERROR, "socket", "%s: %s (is ccslurmd running?)",
		    log_esc(sock), strerror(errno));
		return;
	}
	if (!S_ISSOCK(st.st_mode)) {
		add(c, SEV_ERROR, "socket", "%s is not a socket",
		    log_esc(sock));
		return;
	}
	add(c, (st.st_mode & 0002) ? SEV_WARNING : SEV_OK, "socket",
	    "%s mode %04o owner %s:%s%s", log_esc(sock),
	    (unsigned)(st.st_mode & 07777), user_name(st.st_uid, ub,
	    sizeof(ub)), group_name(st.st_gid, gb, sizeof(gb)),
	    (st.st_mode & 0002) ? ": any local user may connect (ccslurmd "
	    "still checks who may change nodes)" : "");

	if (proto_call(sock, CHECK_PING_TIMEOUT_MS, 0, PROTO_PING, NULL,
	    &rtype, &reply, &cause) != PROTO_OK ||
	    rtype != PROTO_PING_REPLY) {
		add(c, SEV_ERROR, "ccslurmd", "does not answer on %s: %s",
		    log_esc(sock), cause != NULL ? cause :
		    reply != NULL ? log_esc(proto_error_message(reply)) :
		    "unexpected answer");
		free(cause);
		json_object_put(reply);
		return;
	}
	add(c, SEV_OK, "ccslurmd", "%s answers",
	    json_object_object_get_ex(reply, "version", &v) ?
	    log_esc(json_object_get_string(v)) : "?");
	json_object_put(reply);
	reply = NULL;

	if (proto_call(sock, CTL_CALL_TIMEOUT_MS, 0, PROTO_STATUS, NULL,
	    &rtype, &reply, &cause) != PROTO_OK ||
	    rtype != PROTO_STATUS_REPLY ||
	    !json_object_object_get_ex(reply, "cyclecloud", &cc)) {
		add(c, SEV_ERROR, "CycleCloud", "ccslurmd gave no status: %s",
		    cause != NULL ? cause : "unexpected answer");
		free(cause);
		json_object_put(reply);
		return;
	}
	if (json_object_object_get_ex(cc, "last_success", &v) && v != NULL)
		ok_t = json_object_get_int64(v);
	if (json_object_object_get_ex(cc, "last_error_time", &v) && v != NULL)
		err_t = json_object_get_int64(v);
	if (json_object_object_get_ex(cc, "last_error", &v) && v != NULL)
		err = json_object_get_string(v);
	if (err_t > 0 && err_t >= ok_t)
		add(c, SEV_ERROR, "CycleCloud", "the last call failed %s ago: "
		    "%s", ctl_fmt_age((int64_t)time(NULL) - err_t, age,
		    sizeof(age)), err != NULL ? log_esc(err) : "?");
	else if (ok_t == 0)
		add(c, SEV_WARNING, "CycleCloud", "ccslurmd has not reached "
		    "CycleCloud yet");
	else
		add(c, SEV_OK, "CycleCloud", "reachable: last success %s ago",
		    ctl_fmt_age((int64_t)time(NULL) - ok_t, age, sizeof(age)));
	json_object_put(reply);
}

static void
print_text(const struct check *c, const char *path)
{
	size_t i;

	printf("slurm.conf: %s\n", path != NULL ? log_esc(path) : "(none)");
	for (i = 0; i < c->n; i++)
		printf("%-7s %s: %s\n", sev_names[c->v[i].sev],
		    c->v[i].what, c->v[i].msg);
	printf("%zu error(s), %zu warning(s)\n", c->nerr, c->nwarn);
}

static void
print_json(const struct check *c, const struct sconf *s)
{
	json_object *o, *a, *f;
	size_t i;

	o = json_object_new_object();
	json_object_object_add(o, "slurm_conf", s->path != NULL ?
	    json_object_new_string(s->path) : NULL);
	a = json_object_new_array();
	for (i = 0; i < s->nfiles; i++)
		json_object_array_add(a, json_object_new_string(s->files[i]));
	json_object_object_add(o, "files", a);
	a = json_object_new_array();
	for (i = 0; i < c->n; i++) {
		f = json_object_new_object();
		json_object_object_add(f, "severity",
		    json_object_new_string(sev_names[c->v[i].sev]));
		json_object_object_add(f, "check",
		    json_object_new_string(c->v[i].what));
		json_object_object_add(f, "message",
		    json_object_new_string(c->v[i].msg));
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "findings", a);
	json_object_object_add(o, "errors",
	    json_object_new_int64((int64_t)c->nerr));
	json_object_object_add(o, "warnings",
	    json_object_new_int64((int64_t)c->nwarn));
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "slurm-conf", required_argument, NULL, 'f' },
		{ "no-daemon", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct check c;
	struct sconf s;
	const char *env;
	bool json = ctl->json != 0, daemon = true;
	int ch;

	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	while ((ch = getopt_long(argc, argv, "f:Dj", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			free(s.path);
			s.path = xstrdup(optarg);
			break;
		case 'D':
			daemon = false;
			break;
		case 'j':
			json = true;
			break;
		default:
			free(s.path);
			return ctl_usage(ctl);
		}
	}
	if (optind != argc) {
		free(s.path);
		return ctl_usage(ctl);
	}
	if (s.path == NULL && (env = getenv("SLURM_CONF")) != NULL &&
	    *env != '\0')
		s.path = xstrdup(env);
	if (s.path == NULL)
		s.path = scontrol_slurm_conf();
	if (s.path == NULL)
		s.path = xstrdup(CCSLURMD_SLURM_CONF_DIR "/slurm.conf");

	if (sconf_read(&s, s.path, 0, &c) == 0)
		check_slurm_conf(&c, &s);
	if (daemon)
		check_daemon(&c, ctl->socket_path);
	else
		add(&c, SEV_WARNING, "ccslurmd", "not checked (--no-daemon)");

	if (json)
		print_json(&c, &s);
	else
		print_text(&c, s.path);
	ch = c.nerr > 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	check_free(&c);
	sconf_free(&s);
	return ch;
}
