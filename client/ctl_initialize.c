/*
 * ctl_initialize.c: `ccslurmctl initialize --url U --cluster C --username N
 * --password-file F [--ca-file F] [--no-verify-tls] [--force]`: check the
 * CycleCloud connection and write the daemon's configuration.
 *
 * The one command that talks to CycleCloud itself (decisions.md,
 * "Credentials"): no daemon runs yet.  Order matters: every refusal
 * (a password file others may read, a config that exists, a cluster
 * that cannot be read) comes before anything is written, and the text is
 * checked with the daemon's own loader before and after it is written.
 * The password is read from its file into memory only, wiped after use,
 * and never printed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cc.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

struct init_opts {
	const char	*url;
	const char	*cluster;
	const char	*username;
	const char	*password_file;
	const char	*ca_file;
	int		 verify_tls;
	int		 force;
};

/*
 * Read the password from path after checking, on the open file, that only
 * its owner (the invoking user or root) may read it.  Returns the password
 * (allocated; the caller wipes it with explicit_bzero() and frees it) or
 * NULL with *cause (which never quotes the content).
 */
static char *
read_password(const char *path, char **cause)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		*cause = xprintf("password file %s: %s", log_esc(path),
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xprintf("password file %s: %s", log_esc(path),
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xprintf("password file %s is not a regular file",
		    log_esc(path));
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		*cause = xprintf("password file %s has mode %04o: it must not "
		    "be readable or writable by group or others (chmod 600 %s)",
		    log_esc(path), (unsigned)(st.st_mode & 07777),
		    log_esc(path));
		close(fd);
		return NULL;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		*cause = xprintf("password file %s is owned by uid %lu, "
		    "neither you (uid %lu) nor root", log_esc(path),
		    (unsigned long)st.st_uid, (unsigned long)getuid());
		close(fd);
		return NULL;
	}
	buf = xmalloc(CONF_MAX_PASSWORD_LEN + 2);
	n = read_full(fd, buf, CONF_MAX_PASSWORD_LEN + 2);
	close(fd);
	if (n < 0) {
		*cause = xprintf("password file %s: %s", log_esc(path),
		    strerror(errno));
		goto bad;
	}
	len = (size_t)n;
	/*
	 * One trailing "\n" or "\r\n", exactly as the daemon's reader
	 * (config.c) removes it: a lone trailing "\r" is part of the
	 * password there, so it must be here, or initialize would verify a
	 * password the daemon never sends.
	 */
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > CONF_MAX_PASSWORD_LEN) {
		*cause = xprintf("password file %s: longer than %d bytes",
		    log_esc(path), CONF_MAX_PASSWORD_LEN);
		goto bad;
	}
	if (len == 0) {
		*cause = xprintf("password file %s is empty", log_esc(path));
		goto bad;
	}
	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL) {
		*cause = xprintf("password file %s: the password holds a NUL "
		    "or a line break", log_esc(path));
		goto bad;
	}
	buf[len] = '\0';
	return buf;
bad:
	explicit_bzero(buf, CONF_MAX_PASSWORD_LEN + 2);
	free(buf);
	return NULL;
}

/* A YAML double-quoted scalar (allocated): any text survives it. */
static char *
yq(const char *s)
{
	size_t len = strlen(s), i, o = 0;
	char *q = xmalloc(len * 4 + 3);

	q[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q[o++] = '\\';
			q[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			o += (size_t)sprintf(q + o, "\\x%02x", c);
		else
			q[o++] = (char)c;
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* The configuration text, commented like etc/ccslurmd.yaml (allocated). */
static char *
config_text(const struct init_opts *o, const char *pwfile, const char *ca,
    time_t now)
{
	char *url = yq(o->url), *cl = yq(o->cluster), *us = yq(o->username);
	char *pw = yq(pwfile), *caq = ca != NULL ? yq(ca) : NULL, *t, when[64];

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	t = xprintf(
"# ccslurmd.yaml: configuration of ccslurmd, the bridge that bursts Slurm\n"
"# nodes into Azure CycleCloud.  Written by `ccslurmctl initialize` on %s\n"
"# after it read cluster %s at %s.\n"
"# Every key is shown with its default; docs/configuration.md says more.\n"
"# Check a change before reloading:\n"
"#\n"
"#     ccslurmd -n -c THIS_FILE      # prints \"configuration OK\"\n"
"#     ccslurmctl reload\n"
"#\n"
"# Durations are an integer (seconds) or a number with ms, s, m or h.\n"
"\n"
"cyclecloud:\n"
"  # CycleCloud's address, http:// or https://.\n"
"  url: %s\n"
"  # The CycleCloud cluster whose nodearrays become Slurm partitions.\n"
"  cluster: %s\n"
"  # The CycleCloud user ccslurmd authenticates as (HTTP Basic).\n"
"  username: %s\n"
"  # File holding the password, owned by the daemon's user, mode 0600 or\n"
"  # stricter.  A systemd credential \"cyclecloud-password\"\n"
"  # (LoadCredential=) wins over it when present.\n"
"  password_file: %s\n"
"  # Verify CycleCloud's TLS certificate.  Turn off only to test.\n"
"  verify_tls: %s\n"
"  # CA bundle for CycleCloud's certificate.  Default: the system's CAs.\n"
"  %sca_file: %s\n"
"  # Longest one HTTP request to CycleCloud may take (1s to 1h).\n"
"  timeout: 60s\n"
"  # Proxy to reach CycleCloud through.  Default: none.\n"
"  # proxy: http://proxy.example.com:3128\n"
"  # Most connections open at once to the CycleCloud host (1 to 64).\n"
"  max_connections: %d\n"
"  # Tries of one request that failed retryably (429, 5xx, network).\n"
"  retry_max_attempts: %d\n"
"  # Stop retrying a request after this long.\n"
"  retry_max_time: 5m\n"
"\n"
"slurm:\n"
"  # The scontrol to run: an absolute path, or a name looked up in $PATH.\n"
"  scontrol: %s\n"
"  # Where `ccslurmctl generate` writes cyclecloud.conf, topology.conf,\n"
"  # gres.conf and cyclecloud-hpc-partitions (shared with the VMs).\n"
"  config_dir: %s\n"
"  # One scontrol run is killed after this long.\n"
"  scontrol_timeout: 60s\n"
"\n"
"daemon:\n"
"  # The control socket.  The shims use the built-in path: change this\n"
"  # only together with the build's default.\n"
"  socket: %s\n"
"  # The journal of accepted requests.\n"
"  state_dir: %s\n"
"  # Where the shims leave requests while the daemon is down.\n"
"  spool_dir: %s\n"
"  # How long resume/suspend requests are gathered into one cloud call.\n"
"  batch_window: 500ms\n"
"  # How often in-flight cloud operations are polled.\n"
"  poll_interval: 5s\n"
"  # policy (each node's ShutdownPolicy), terminate or deallocate.\n"
"  shutdown: policy\n"
"  # Who besides root may resume, suspend and reload.  Default: slurm,\n"
"  # when that user exists on this machine.\n"
"  # allowed_users: [slurm]\n"
"  # How often cloud and Slurm are compared in full.\n"
"  reconcile_interval: 5m\n"
"  # A running VM with no powered-up Slurm node is shut down after this.\n"
"  orphan_grace: 10m\n"
"  # How long requests wait out CycleCloud authentication failures.\n"
"  auth_grace: 60s\n"
"\n"
"log:\n"
"  # error, warning, info or debug.\n"
"  level: info\n",
	    when, cl, url, url, cl, us, pw, o->verify_tls ? "true" : "false",
	    caq != NULL ? "" : "# ", caq != NULL ? caq : "/etc/ccslurmd/ca.pem",
	    CONF_DEFAULT_MAX_CONNECTIONS, CONF_DEFAULT_RETRY_MAX_ATTEMPTS,
	    CONF_DEFAULT_SCONTROL, CONF_DEFAULT_SLURM_CONFIG_DIR,
	    CONF_DEFAULT_SOCKET, CONF_DEFAULT_STATE_DIR, CONF_DEFAULT_SPOOL_DIR);
	free(url);
	free(cl);
	free(us);
	free(pw);
	free(caq);
	return t;
}

/* What the cluster holds, for the admin to check before going on. */
static void
report_cluster(const struct cc_cluster_status *st, const char *cluster)
{
	const struct cc_nodearray *a;
	const struct cc_bucket *b;
	size_t i, nauto = 0;

	printf("cluster %s: %zu nodearray(s)\n", log_esc(cluster),
	    st->nnodearrays);
	for (i = 0; i < st->nnodearrays; i++) {
		a = &st->nodearrays[i];
		b = a->nbuckets > 0 ? &a->buckets[0] : NULL;
		printf("  %-16s %-10s %-24s max %d%s%s%s\n", log_esc(a->name),
		    a->autoscale ? "autoscale" : "-",
		    a->machine_type != NULL ? log_esc(a->machine_type) :
		    "(no machine type)", b != NULL ? b->max_count :
		    a->max_count, a->autoscale ? (a->hpc ? ", hpc" : ", htc") :
		    "", a->autoscale && a->partition != NULL ?
		    ", partition " : "", a->autoscale && a->partition != NULL ?
		    log_esc(a->partition) : "");
		if (a->autoscale)
			nauto++;
	}
	if (nauto == 0)
		printf("warning: no nodearray has Configuration.slurm."
		    "autoscale = true: Slurm will get no cloud partition\n");
}

/* Copy path to "path.YYYYmmddTHHMMSS[-N]" keeping its mode. */
static char *
backup_file(const char *path, time_t now, char **cause)
{
	struct stat st;
	char stamp[32], *dst = NULL, *buf = NULL;
	size_t len;
	int i;

	if (stat(path, &st) == -1 || read_file(path, CONF_MAX_FILE_SIZE * 16,
	    &buf, &len) == -1) {
		*cause = xprintf("%s: %s", log_esc(path), strerror(errno));
		return NULL;
	}
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", localtime(&now));
	for (i = 0; i < 1000; i++) {
		free(dst);
		dst = i == 0 ? xprintf("%s.%s", path, stamp) :
		    xprintf("%s.%s-%d", path, stamp, i);
		if (access(dst, F_OK) == -1 && errno == ENOENT)
			break;
	}
	if (write_file_atomic(dst, buf, len, st.st_mode & 07777) == -1) {
		*cause = xprintf("%s: %s", log_esc(dst), strerror(errno));
		free(dst);
		dst = NULL;
	}
	free(buf);
	return dst;
}

int
ctl_initialize(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "cluster", required_argument, NULL, 'C' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "no-verify-tls", no_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct init_opts o = { .verify_tls = 1 };
	struct conf_errors errs = { NULL, 0 };
	struct cc_cluster_status *st = NULL;
	struct cc_settings set;
	struct conf *conf = NULL;
	const char *path = ctl->config_path;
	char *password = NULL, *cause = NULL, *text = NULL, *backup = NULL;
	char pwabs[PATH_MAX], caabs[PATH_MAX];
	enum cc_err err;
	time_t now = time(NULL);
	int ch, rc = CTL_EXIT_FAILED, exists;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o.url = optarg;
			break;
		case 'C':
			o.cluster = optarg;
			break;
		case 'U':
			o.username = optarg;
			break;
		case 'p':
			o.password_file = optarg;
			break;
		case 'a':
			o.ca_file = optarg;
			break;
		case 'k':
			o.verify_tls = 0;
			break;
		case 'f':
			o.force = 1;
			break;
		default:
			return ctl_usage(ctl);
		}
	}
	if (optind != argc || o.url == NULL || o.cluster == NULL ||
	    o.username == NULL || o.password_file == NULL) {
		fprintf(stderr, "ccslurmctl: initialize: --url, --cluster, "
		    "--username and --password-file are required\n");
		return ctl_usage(ctl);
	}

	/* Refusals first: nothing is contacted or written before them. */
	exists = access(path, F_OK) == 0;
	if (exists && !o.force) {
		fprintf(stderr, "ccslurmctl: initialize: %s exists; "
		    "--force replaces it (keeping a dated backup)\n",
		    log_esc(path));
		return CTL_EXIT_FAILED;
	}
	if (realpath(o.password_file, pwabs) == NULL) {
		fprintf(stderr, "ccslurmctl: initialize: password file %s: "
		    "%s\n", log_esc(o.password_file), strerror(errno));
		return CTL_EXIT_FAILED;
	}
	if (o.ca_file != NULL && realpath(o.ca_file, caabs) == NULL) {
		fprintf(stderr, "ccslurmctl: initialize: CA file %s: %s\n",
		    log_esc(o.ca_file), strerror(errno));
		return CTL_EXIT_FAILED;
	}
	if ((password = read_password(pwabs, &cause)) == NULL) {
		fprintf(stderr, "ccslurmctl: initialize: %s\n", cause);
		free(cause);
		return CTL_EXIT_FAILED;
	}

	cc_settings_defaults(&set);
	set.url = o.url;
	set.cluster = o.cluster;
	set.username = o.username;
	set.password = password;
	set.ca_file = o.ca_file != NULL ? caabs : NULL;
	set.verify_tls = o.verify_tls;
	/* An admin is waiting: fail in tens of seconds, not minutes. */
	set.max_attempts = 2;
	set.retry_budget_ms = 30000;
	set.timeout_ms = 30000;
	printf("connecting to %s (TLS verification %s)...\n", log_esc(o.url),
	    o.verify_tls ? "on" : "OFF");
	err = cc_sync_get_status(&set, 0, &st, &cause);
	explicit_bzero(password, strlen(password));
	free(password);
	if (err != CC_OK) {
		fprintf(stderr, "ccslurmctl: initialize: cannot read cluster "
		    "%s at %s (%s): %s; nothing written\n",
		    log_esc(o.cluster), log_esc(o.url), cc_err_name(err),
		    cause != NULL ? cause : "?");
		goto out;
	}
	report_cluster(st, o.cluster);

	text = config_text(&o, pwabs, o.ca_file != NULL ? caabs : NULL, now);
	/* The daemon's own loader judges the text before it is written. */
	if (conf_load_buffer(path, text, strlen(text), &conf, &errs) == -1) {
		conf_errors_print(&errs, stderr);
		fprintf(stderr, "ccslurmctl: initialize: the configuration "
		    "would not load; nothing written\n");
		goto out;
	}
	conf_free(conf);
	conf = NULL;
	if (exists) {
		if ((backup = backup_file(path, now, &cause)) == NULL) {
			fprintf(stderr, "ccslurmctl: initialize: cannot back "
			    "up the old configuration: %s; nothing written\n",
			    cause);
			goto out;
		}
		printf("previous configuration kept as %s\n", log_esc(backup));
	}
	if (write_file_atomic(path, text, strlen(text), 0644) == -1) {
		fprintf(stderr, "ccslurmctl: initialize: writing %s: %s\n",
		    log_esc(path), strerror(errno));
		goto out;
	}
	if (conf_load(path, &conf, &errs) == -1) {
		conf_errors_print(&errs, stderr);
		fprintf(stderr, "ccslurmctl: initialize: %s was written but "
		    "does not load\n", log_esc(path));
		goto out;
	}
	printf("wrote %s: configuration OK\n", log_esc(path));
	printf("next: start ccslurmd, then `ccslurmctl generate` and "
	    "`ccslurmctl check`\n");
	rc = CTL_EXIT_OK;
out:
	free(cause);
	free(text);
	free(backup);
	conf_free(conf);
	conf_errors_free(&errs);
	cc_cluster_status_free(st);
	return rc;
}
