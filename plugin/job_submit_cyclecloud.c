/*
 * job_submit_cyclecloud.c: Slurm job_submit plugin "job_submit/cyclecloud".
 *
 * An MPI job in a cloud HPC partition must stay inside one Azure placement
 * group (one InfiniBand fabric).  topology.conf has one switch per
 * placement group, so asking for one switch is enough: for each new job
 * whose partitions are all cloud HPC partitions, unless the user asked for
 * --switches or the job's --network holds "sn_single", set req_switch = 1.
 * Every other job is left exactly as submitted; job_modify changes nothing.
 *
 * The cloud HPC partitions come from "cyclecloud-hpc-partitions" beside
 * slurm.conf (dirname of $SLURM_CONF, else the build-time default), one
 * name a line, '#' comments; a trailing '*' marks the default partition.
 * The file is read at init() and again whenever its modification time
 * changes, so "ccslurmctl generate" takes effect without a restart.
 *
 * A job that names no partition goes to the default partition.  slurmctld
 * (22.05 to 24.x) exports its name as the global default_part_name; we use
 * it through a weak reference, and fall back to the file's '*' mark when
 * the symbol is absent.
 *
 * The plugin links nothing from Slurm: slurmctld's own symbols are only
 * referenced weakly (logging through slurm_info/slurm_error when present),
 * so it loads into any slurmctld it was built for.  It allocates nothing in
 * the job description.
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "paths.h"

/* Internal to slurmctld: only ever passed through. */
struct job_record;
typedef struct job_record job_record_t;

/* What slurmctld exports, when it does. */
extern char *default_part_name __attribute__((weak));
extern void slurm_info(const char *, ...) __attribute__((weak));
extern void slurm_error(const char *, ...) __attribute__((weak));

/* The plugin's identity, read by Slurm's plugin loader. */
extern const char plugin_name[];
extern const char plugin_type[];
extern const uint32_t plugin_version;
const char plugin_name[] = "CycleCloud: keep HPC jobs in one placement group";
const char plugin_type[] = "job_submit/cyclecloud";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

#define HPC_PARTITIONS_FILE	"cyclecloud-hpc-partitions"
#define MAX_PARTITIONS		4096
#define MAX_NAME		256
/*
 * How often (seconds) a job submission may look at the file again.  The
 * file usually lives on NFS (/sched): a stat() per job would stall every
 * submission behind a hung mount.  CCSLURM_PLUGIN_RECHECK_SECONDS in
 * slurmctld's environment overrides it (tests use 0).
 */
#define RECHECK_SECONDS		10

int	init(void);
int	fini(void);
int	job_submit(job_desc_msg_t *, uint32_t, char **);
int	job_modify(job_desc_msg_t *, job_record_t *, uint32_t, char **);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char path[4096];
static char **parts;		/* the cloud HPC partitions */
static size_t nparts;
static char *file_default;	/* the one marked '*', or NULL */
static struct timespec loaded_mtime;
static bool loaded;		/* parts reflect the file at loaded_mtime */
static time_t last_check;	/* CLOCK_MONOTONIC seconds of the last stat */
static long recheck = RECHECK_SECONDS;

#define LOG(fn, ...) do {						\
	if ((fn) != NULL)						\
		(fn)("job_submit/cyclecloud: " __VA_ARGS__);		\
} while (0)

static void
free_parts(void)
{
	size_t i;

	for (i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
	parts = NULL;
	nparts = 0;
	file_default = NULL;
}

static void
set_path(void)
{
	const char *conf = getenv("SLURM_CONF");
	char *copy;

	if (conf != NULL && *conf != '\0' && (copy = strdup(conf)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dirname(copy),
		    HPC_PARTITIONS_FILE);
		free(copy);
	} else {
		snprintf(path, sizeof(path), "%s/%s", CCSLURMD_SLURM_CONF_DIR,
		    HPC_PARTITIONS_FILE);
	}
}

/*
 * (Re)load the file when its modification time differs from what was
 * loaded.  A file that cannot be read empties the list: with no list no job
 * is touched, which is the safe side.  Called with lock held.
 */
static void
reload(void)
{
	struct stat st;
	char line[MAX_NAME + 2], *s, *e, **v = NULL, **nv;
	size_t n = 0, dflt = SIZE_MAX;
	bool star;
	FILE *f;

	if (stat(path, &st) != 0) {
		/* Say so once, not on every job. */
		if (loaded || loaded_mtime.tv_sec != -1) {
			LOG(slurm_error, "%s: %s; no job will be changed",
			    path, strerror(errno));
		}
		free_parts();
		loaded = false;
		loaded_mtime.tv_sec = -1;
		return;
	}
	if (loaded && st.st_mtim.tv_sec == loaded_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == loaded_mtime.tv_nsec)
		return;

	if ((f = fopen(path, "re")) == NULL) {
		LOG(slurm_error, "%s: %s; no job will be changed", path,
		    strerror(errno));
		free_parts();
		loaded = false;
		loaded_mtime.tv_sec = -1;
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		e = line + strcspn(line, "\n");
		if (*e == '\0' && !feof(f)) {
			/* Over-long line: no partition name; skip it. */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r'))
			e--;
		*e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		star = e[-1] == '*';
		if (star)
			*--e = '\0';
		if (*s == '\0' || n >= MAX_PARTITIONS)
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(s)) == NULL)
			break;
		if (star && dflt == SIZE_MAX)
			dflt = n;
		n++;
	}
	fclose(f);

	free_parts();
	parts = v;
	nparts = n;
	file_default = dflt != SIZE_MAX ? parts[dflt] : NULL;
	loaded = true;
	loaded_mtime = st.st_mtim;
	LOG(slurm_info, "%zu cloud HPC partition(s) from %s", nparts, path);
}

static bool
is_hpc_partition(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < nparts; i++) {
		if (strlen(parts[i]) == len && memcmp(parts[i], name, len) == 0)
			return true;
	}
	return false;
}

/*
 * Are all the job's partitions cloud HPC partitions?  A job may name
 * several ("hpc,onprem"); one that may run elsewhere is not ours to
 * constrain.  No partition means the default partition.
 */
static bool
job_is_cloud_hpc(const char *partition)
{
	const char *p, *end;
	size_t len;
	bool any = false;

	if (partition == NULL || *partition == '\0') {
		if (&default_part_name != NULL)
			partition = default_part_name;
		else
			partition = file_default;
		if (partition == NULL)
			return false;
	}
	for (p = partition; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		if (len == 0)
			continue;
		if (!is_hpc_partition(p, len))
			return false;
		any = true;
	}
	return any;
}

int
init(void)
{
	const char *env = getenv("CCSLURM_PLUGIN_RECHECK_SECONDS");
	char *end;
	long v;

	pthread_mutex_lock(&lock);
	if (env != NULL && *env != '\0') {
		v = strtol(env, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 3600)
			recheck = v;
	}
	set_path();
	loaded = false;
	loaded_mtime.tv_sec = 0;
	reload();
	pthread_mutex_unlock(&lock);
	return SLURM_SUCCESS;
}

int
fini(void)
{
	pthread_mutex_lock(&lock);
	free_parts();
	loaded = false;
	pthread_mutex_unlock(&lock);
	return SLURM_SUCCESS;
}

int
job_submit(job_desc_msg_t *job, uint32_t submit_uid, char **err_msg)
{
	struct timespec now;

	(void)submit_uid;
	(void)err_msg;

	if (job->req_switch != NO_VAL)
		return SLURM_SUCCESS;	/* the user chose --switches */
	if (job->network != NULL && strstr(job->network, "sn_single") != NULL)
		return SLURM_SUCCESS;

	pthread_mutex_lock(&lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - last_check >= recheck) {
		last_check = now.tv_sec;
		reload();
	}
	if (job_is_cloud_hpc(job->partition))
		job->req_switch = 1;
	pthread_mutex_unlock(&lock);
	return SLURM_SUCCESS;
}

int
job_modify(job_desc_msg_t *job, job_record_t *job_ptr, uint32_t submit_uid,
    char **err_msg)
{
	(void)job;
	(void)job_ptr;
	(void)submit_uid;
	(void)err_msg;
	return SLURM_SUCCESS;
}
