/*
 * config.c: load and check the YAML configuration (config.h).
 *
 * libyaml's document API builds the node tree; a table of keys (one line a
 * key: section, name, kind, where it goes in struct conf, bounds) drives the
 * walk, so adding a key is one table line and one field.  The walk never
 * stops at a problem: each is recorded with its line and the next key is
 * looked at, so an admin fixes a file in one round.  The tree is walked to a
 * fixed depth (section, key, list item), so aliases cannot make it loop or
 * blow up.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define MS_SECOND	1000ULL
#define MS_MINUTE	(60 * MS_SECOND)
#define MS_HOUR		(60 * MS_MINUTE)
#define MS_DAY		(24 * MS_HOUR)

enum kind {
	K_STRING,		/* any non-empty one-line string */
	K_URL,			/* http:// or https:// */
	K_PROXY,		/* http(s)://, socks4(a)://, socks5(h):// */
	K_PATH,			/* absolute path */
	K_SOCKET,		/* absolute path that fits sun_path */
	K_PROGRAM,		/* absolute path or a bare name for $PATH */
	K_PASSWORD_FILE,	/* absolute path, checked after the walk */
	K_BOOL,
	K_UINT,			/* unsigned, min..max */
	K_DURATION,		/* milliseconds, min..max */
	K_SHUTDOWN,
	K_LOGLEVEL,
	K_USERS,		/* list of user names */
	K_LISTEN,		/* HOST:PORT */
};

struct keydef {
	const char	*section;
	const char	*name;
	enum kind	 kind;
	size_t		 off;		/* offsetof(struct conf, ...) */
	int		 required;
	uint64_t	 min, max;	/* K_UINT, K_DURATION */
};

#define F(field) offsetof(struct conf, field)

static const char *const sections[] = {
	"cyclecloud", "slurm", "daemon", "log", "metrics"
};

static const struct keydef keys[] = {
	{ "cyclecloud", "url", K_URL, F(cc.url), 1, 0, 0 },
	{ "cyclecloud", "cluster", K_STRING, F(cc.cluster), 1, 0, 0 },
	{ "cyclecloud", "username", K_STRING, F(cc.username), 1, 0, 0 },
	{ "cyclecloud", "password_file", K_PASSWORD_FILE,
	    F(cc.password_file), 0, 0, 0 },
	{ "cyclecloud", "verify_tls", K_BOOL, F(cc.verify_tls), 0, 0, 0 },
	{ "cyclecloud", "ca_file", K_PATH, F(cc.ca_file), 0, 0, 0 },
	{ "cyclecloud", "timeout", K_DURATION, F(cc.timeout_ms), 0,
	    MS_SECOND, MS_HOUR },
	{ "cyclecloud", "proxy", K_PROXY, F(cc.proxy), 0, 0, 0 },
	{ "cyclecloud", "max_connections", K_UINT, F(cc.max_connections), 0,
	    1, 64 },
	{ "cyclecloud", "retry_max_attempts", K_UINT,
	    F(cc.retry_max_attempts), 0, 1, 100 },
	{ "cyclecloud", "retry_max_time", K_DURATION,
	    F(cc.retry_max_time_ms), 0, 0, MS_DAY },
	{ "slurm", "scontrol", K_PROGRAM, F(slurm.scontrol), 0, 0, 0 },
	{ "slurm", "config_dir", K_PATH, F(slurm.config_dir), 0, 0, 0 },
	{ "slurm", "scontrol_timeout", K_DURATION,
	    F(slurm.scontrol_timeout_ms), 0, MS_SECOND, MS_HOUR },
	{ "daemon", "socket", K_SOCKET, F(daemon.socket), 0, 0, 0 },
	{ "daemon", "state_dir", K_PATH, F(daemon.state_dir), 0, 0, 0 },
	{ "daemon", "spool_dir", K_PATH, F(daemon.spool_dir), 0, 0, 0 },
	/* Up to a minute: slurmctld has a job waiting on each request. */
	{ "daemon", "batch_window", K_DURATION, F(daemon.batch_window_ms), 0,
	    0, MS_MINUTE },
	/* At least 100ms: polling faster only loads CycleCloud. */
	{ "daemon", "poll_interval", K_DURATION, F(daemon.poll_interval_ms),
	    0, 100, 10 * MS_MINUTE },
	{ "daemon", "shutdown", K_SHUTDOWN, F(daemon.shutdown), 0, 0, 0 },
	{ "daemon", "allowed_users", K_USERS, 0, 0, 0, 0 },
	{ "daemon", "reconcile_interval", K_DURATION,
	    F(daemon.reconcile_interval_ms), 0, 10 * MS_SECOND, MS_DAY },
	/*
	 * At least a minute: a VM whose node slurmctld is just powering up
	 * must never look orphaned because of a race between the listings.
	 */
	{ "daemon", "orphan_grace", K_DURATION, F(daemon.orphan_grace_ms), 0,
	    MS_MINUTE, 7 * MS_DAY },
	{ "daemon", "auth_grace", K_DURATION, F(daemon.auth_grace_ms), 0,
	    0, MS_DAY },
	{ "daemon", "ha", K_BOOL, F(daemon.ha), 0, 0, 0 },
	{ "daemon", "ha_hostname", K_STRING, F(daemon.ha_hostname), 0, 0, 0 },
	/* At least a second: each check runs `scontrol ping` (an RPC to
	 * every controller); at most a minute: the takeover waits for it. */
	{ "daemon", "ha_check_interval", K_DURATION,
	    F(daemon.ha_check_interval_ms), 0, MS_SECOND, MS_MINUTE },
	{ "log", "level", K_LOGLEVEL, F(log.level), 0, 0, 0 },
	{ "metrics", "listen", K_LISTEN, F(metrics.listen), 0, 0, 0 },
};

#define NKEYS nitems(keys)
#define NSECTIONS nitems(sections)

struct loader {
	const char		*file;
	yaml_document_t		*doc;
	struct conf		*c;
	struct conf_errors	*errs;
	unsigned long		 root_line;
	unsigned long		 section_line[NSECTIONS]; /* 0: not seen */
	unsigned long		 key_line[NKEYS];	/* 0: not seen */
	int			 key_set[NKEYS];	/* a value was given */
	unsigned		 flags;		/* CONF_LOAD_* */
};

static int	conf_load_buffer_flags(const char *, const char *, size_t,
		    unsigned, struct conf **, struct conf_errors *);

/* ---- errors --------------------------------------------------------- */

static void
errors_add(struct conf_errors *errs, const char *file, unsigned long line,
    char *message)
{
	struct conf_error *e;

	errs->v = xreallocarray(errs->v, errs->n + 1, sizeof(*errs->v));
	e = &errs->v[errs->n++];
	e->file = xstrdup(file);
	e->line = line;
	e->message = message;
	if (line == 0)
		e->text = xprintf("%s: %s", file, message);
	else
		e->text = xprintf("%s:%lu: %s", file, line, message);
}

static void cerr(struct loader *, unsigned long, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
cerr(struct loader *l, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("%s: out of memory", __func__);
	va_end(ap);
	errors_add(l->errs, l->file, line, msg);
}

/* Order by line; keep the walk's order within a line (a stable sort). */
static void
errors_sort(struct conf_errors *errs)
{
	struct conf_error tmp;
	size_t i, j;

	for (i = 1; i < errs->n; i++) {
		tmp = errs->v[i];
		for (j = i; j > 0 && errs->v[j - 1].line > tmp.line; j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = tmp;
	}
}

void
conf_errors_free(struct conf_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].message);
		free(errs->v[i].text);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

void
conf_errors_print(const struct conf_errors *errs, FILE *fp)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(fp, "%s\n", errs->v[i].text);
}

/* ---- struct conf ------------------------------------------------------ */

static struct conf *
conf_new_defaults(const char *path)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	c->cc.verify_tls = CONF_DEFAULT_VERIFY_TLS;
	c->cc.timeout_ms = CONF_DEFAULT_CC_TIMEOUT_MS;
	c->cc.max_connections = CONF_DEFAULT_MAX_CONNECTIONS;
	c->cc.retry_max_attempts = CONF_DEFAULT_RETRY_MAX_ATTEMPTS;
	c->cc.retry_max_time_ms = CONF_DEFAULT_RETRY_MAX_TIME_MS;
	c->slurm.scontrol = xstrdup(CONF_DEFAULT_SCONTROL);
	c->slurm.config_dir = xstrdup(CONF_DEFAULT_SLURM_CONFIG_DIR);
	c->slurm.scontrol_timeout_ms = CONF_DEFAULT_SCONTROL_TIMEOUT_MS;
	c->daemon.socket = xstrdup(CONF_DEFAULT_SOCKET);
	c->daemon.state_dir = xstrdup(CONF_DEFAULT_STATE_DIR);
	c->daemon.spool_dir = xstrdup(CONF_DEFAULT_SPOOL_DIR);
	c->daemon.batch_window_ms = CONF_DEFAULT_BATCH_WINDOW_MS;
	c->daemon.poll_interval_ms = CONF_DEFAULT_POLL_INTERVAL_MS;
	c->daemon.shutdown = CONF_DEFAULT_SHUTDOWN;
	c->daemon.reconcile_interval_ms = CONF_DEFAULT_RECONCILE_MS;
	c->daemon.orphan_grace_ms = CONF_DEFAULT_ORPHAN_GRACE_MS;
	c->daemon.auth_grace_ms = CONF_DEFAULT_AUTH_GRACE_MS;
	c->daemon.ha_check_interval_ms = CONF_DEFAULT_HA_CHECK_INTERVAL_MS;
	c->log.level = CONF_DEFAULT_LOG_LEVEL;
	return c;
}

static void
conf_clear_users(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->daemon.nallowed; i++)
		free(c->daemon.allowed_names[i]);
	free(c->daemon.allowed_names);
	free(c->daemon.allowed_uids);
	c->daemon.allowed_names = NULL;
	c->daemon.allowed_uids = NULL;
	c->daemon.nallowed = 0;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->cc.url);
	free(c->cc.cluster);
	free(c->cc.username);
	free(c->cc.password_file);
	free(c->cc.ca_file);
	free(c->cc.proxy);
	free(c->slurm.scontrol);
	free(c->slurm.config_dir);
	free(c->daemon.socket);
	free(c->daemon.state_dir);
	free(c->daemon.spool_dir);
	free(c->daemon.ha_hostname);
	conf_clear_users(c);
	free(c->metrics.listen);
	free(c->metrics.host);
	free(c);
}

const char *
conf_shutdown_name(enum conf_shutdown s)
{
	switch (s) {
	case CONF_SHUTDOWN_POLICY:
		return "policy";
	case CONF_SHUTDOWN_TERMINATE:
		return "terminate";
	case CONF_SHUTDOWN_DEALLOCATE:
		return "deallocate";
	}
	return "unknown";
}

int
conf_user_allowed(const struct conf *c, uid_t uid)
{
	size_t i;

	if (uid == 0)
		return 1;
	for (i = 0; i < c->daemon.nallowed; i++)
		if (c->daemon.allowed_uids[i] == uid)
			return 1;
	return 0;
}

/* ---- scalar helpers ---------------------------------------------------- */

static unsigned long
node_line(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* A plain empty, "~" or "null" scalar: the key is given without a value. */
static int
node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

/*
 * The scalar's text, or NULL after recording why it is not usable as one:
 * not a scalar, or holding a NUL or a line break (every value here ends up
 * in a URL, a path or a log line, none of which can carry those).
 */
static const char *
scalar(struct loader *l, const char *what, const yaml_node_t *n)
{
	const char *v;
	size_t i;

	if (n->type != YAML_SCALAR_NODE) {
		cerr(l, node_line(n), "%s: expected a single value, not %s",
		    what, node_kind(n));
		return NULL;
	}
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		cerr(l, node_line(n), "%s: the value contains a NUL character",
		    what);
		return NULL;
	}
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\n' || v[i] == '\r') {
			cerr(l, node_line(n),
			    "%s: the value spans more than one line", what);
			return NULL;
		}
	}
	return v;
}

/* "500ms", "5s", "10m", "1h": the shortest exact way to write ms. */
static void
fmt_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % MS_HOUR == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / MS_HOUR));
	else if (ms != 0 && ms % MS_MINUTE == 0)
		snprintf(buf, len, "%llum",
		    (unsigned long long)(ms / MS_MINUTE));
	else if (ms % MS_SECOND == 0)
		snprintf(buf, len, "%llus",
		    (unsigned long long)(ms / MS_SECOND));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

static int
has_space_or_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return 1;
	return 0;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return 1;
	return 0;
}

/* SCHEME://HOST... with scheme one of schemes[] (case-insensitive). */
static int
url_ok(const char *v, const char *const *schemes, size_t nschemes)
{
	size_t i, n;

	if (has_space_or_control(v))
		return 0;
	for (i = 0; i < nschemes; i++) {
		n = strlen(schemes[i]);
		if (strncasecmp(v, schemes[i], n) == 0 &&
		    strncmp(v + n, "://", 3) == 0)
			return v[n + 3] != '\0' && v[n + 3] != '/';
	}
	return 0;
}

/*
 * metrics.listen: "HOST:PORT" or "[IPV6]:PORT".  The address is not
 * resolved here: a name that does not resolve yet is the daemon's to report
 * when it binds.
 */
static int
parse_listen(const char *v, char **host, uint16_t *port)
{
	const char *colon, *p;
	unsigned long n;
	char *end;

	if (*v == '[') {
		p = strchr(v, ']');
		if (p == NULL || p == v + 1 || p[1] != ':')
			return -1;
		colon = p + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL || colon == v || memchr(v, ':',
		    (size_t)(colon - v)) != NULL)
			return -1;
	}
	p = colon + 1;
	if (*p < '0' || *p > '9' || has_space_or_control(v))
		return -1;
	errno = 0;
	n = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > 65535)
		return -1;
	if (*v == '[')
		*host = xstrndup(v + 1, (size_t)(colon - v - 2));
	else
		*host = xstrndup(v, (size_t)(colon - v));
	*port = (uint16_t)n;
	return 0;
}

/* ---- one key ----------------------------------------------------------- */

static void
set_string(struct conf *c, size_t off, const char *v)
{
	char **field = (char **)((char *)c + off);

	free(*field);
	*field = xstrdup(v);
}

static int
lookup_user(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*uid = res->pw_uid;
	return 0;
}

static void
load_users(struct loader *l, const char *what, const yaml_node_t *n)
{
	struct conf *c = l->c;
	yaml_node_item_t *it;
	const yaml_node_t *item;
	const char *v;
	uid_t uid;
	size_t i;
	int dup;

	if (n->type != YAML_SEQUENCE_NODE) {
		cerr(l, node_line(n), "%s: expected a list of user names, "
		    "not %s", what, node_kind(n));
		return;
	}
	conf_clear_users(c);
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		item = yaml_document_get_node(l->doc, *it);
		if (item == NULL)
			continue;
		if ((v = scalar(l, what, item)) == NULL)
			continue;
		if (*v == '\0' || lookup_user(v, &uid) == -1) {
			cerr(l, node_line(item), "%s: unknown user \"%s\"",
			    what, log_esc(v));
			continue;
		}
		dup = 0;
		for (i = 0; i < c->daemon.nallowed; i++)
			if (strcmp(c->daemon.allowed_names[i], v) == 0)
				dup = 1;
		if (dup) {
			cerr(l, node_line(item), "%s: user \"%s\" is listed "
			    "twice", what, log_esc(v));
			continue;
		}
		c->daemon.allowed_names = xreallocarray(
		    c->daemon.allowed_names, c->daemon.nallowed + 1,
		    sizeof(char *));
		c->daemon.allowed_uids = xreallocarray(c->daemon.allowed_uids,
		    c->daemon.nallowed + 1, sizeof(uid_t));
		c->daemon.allowed_names[c->daemon.nallowed] = xstrdup(v);
		c->daemon.allowed_uids[c->daemon.nallowed] = uid;
		c->daemon.nallowed++;
	}
}

/* Convert and store one value; returns 1 when it was stored. */
static int
load_key(struct loader *l, const struct keydef *k, const yaml_node_t *n)
{
	static const char *const http[] = { "http", "https" };
	static const char *const proxies[] = { "http", "https", "socks4",
	    "socks4a", "socks5", "socks5h" };
	char what[64], lo[32], hi[32];
	void *field = (char *)l->c + k->off;
	unsigned long line = node_line(n);
	unsigned long long u;
	enum log_level lvl;
	const char *v;
	uint64_t ms;
	size_t len;
	char *end;

	snprintf(what, sizeof(what), "%s.%s", k->section, k->name);
	if (k->kind == K_USERS) {
		load_users(l, what, n);
		return 1;
	}
	if ((v = scalar(l, what, n)) == NULL)
		return 0;

	switch (k->kind) {
	case K_STRING:
		if (*v == '\0' || has_control(v)) {
			cerr(l, line, "%s: expected a non-empty name without "
			    "control characters, not \"%s\"", what,
			    log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_URL:
		if (!url_ok(v, http, nitems(http))) {
			cerr(l, line, "%s: expected a URL starting with "
			    "http:// or https://, not \"%s\"", what,
			    log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		/* The client appends "/clusters/...": no double slash. */
		len = strlen(*(char **)field);
		while (len > 0 && (*(char **)field)[len - 1] == '/')
			(*(char **)field)[--len] = '\0';
		return 1;
	case K_PROXY:
		if (!url_ok(v, proxies, nitems(proxies))) {
			cerr(l, line, "%s: expected a proxy URL (http://, "
			    "https://, socks4://, socks4a://, socks5:// or "
			    "socks5h://), not \"%s\"", what, log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_PATH:
	case K_PASSWORD_FILE:
		if (*v != '/') {
			cerr(l, line, "%s: expected an absolute path, not "
			    "\"%s\"", what, log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_SOCKET:
		if (*v != '/') {
			cerr(l, line, "%s: expected an absolute path, not "
			    "\"%s\"", what, log_esc(v));
			return 0;
		}
		if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			cerr(l, line, "%s: the path is longer than a Unix "
			    "socket allows (%zu bytes)", what,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_PROGRAM:
		if (*v == '\0' || (*v != '/' && strchr(v, '/') != NULL)) {
			cerr(l, line, "%s: expected an absolute path or a "
			    "program name, not \"%s\"", what, log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
		    strcmp(v, "TRUE") == 0)
			*(int *)field = 1;
		else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
		    strcmp(v, "FALSE") == 0)
			*(int *)field = 0;
		else {
			cerr(l, line, "%s: expected true or false, not \"%s\"",
			    what, log_esc(v));
			return 0;
		}
		return 1;
	case K_UINT:
		errno = 0;
		u = (*v >= '0' && *v <= '9') ? strtoull(v, &end, 10) : 0;
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
		    u < k->min || u > k->max) {
			cerr(l, line, "%s: expected an integer from %llu to "
			    "%llu, not \"%s\"", what,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, log_esc(v));
			return 0;
		}
		*(unsigned *)field = (unsigned)u;
		return 1;
	case K_DURATION:
		fmt_duration(k->min, lo, sizeof(lo));
		fmt_duration(k->max, hi, sizeof(hi));
		if (parse_duration_ms(v, &ms) == -1) {
			cerr(l, line, "%s: bad duration \"%s\" (seconds, or a "
			    "number with ms, s, m or h)", what, log_esc(v));
			return 0;
		}
		if (ms < k->min || ms > k->max) {
			cerr(l, line, "%s: %s is out of range (%s to %s)",
			    what, log_esc(v), lo, hi);
			return 0;
		}
		*(uint64_t *)field = ms;
		return 1;
	case K_SHUTDOWN:
		if (strcmp(v, "policy") == 0)
			*(enum conf_shutdown *)field = CONF_SHUTDOWN_POLICY;
		else if (strcmp(v, "terminate") == 0)
			*(enum conf_shutdown *)field = CONF_SHUTDOWN_TERMINATE;
		else if (strcmp(v, "deallocate") == 0)
			*(enum conf_shutdown *)field =
			    CONF_SHUTDOWN_DEALLOCATE;
		else {
			cerr(l, line, "%s: unknown value \"%s\" (policy, "
			    "terminate or deallocate)", what, log_esc(v));
			return 0;
		}
		return 1;
	case K_LOGLEVEL:
		if (log_level_parse(v, &lvl) == -1) {
			cerr(l, line, "%s: unknown value \"%s\" (error, "
			    "warning, info or debug)", what, log_esc(v));
			return 0;
		}
		*(enum log_level *)field = lvl;
		return 1;
	case K_LISTEN:
		free(l->c->metrics.host);
		l->c->metrics.host = NULL;
		if (parse_listen(v, &l->c->metrics.host,
		    &l->c->metrics.port) == -1) {
			cerr(l, line, "%s: expected HOST:PORT (e.g. "
			    "127.0.0.1:9469 or [::1]:9469), not \"%s\"", what,
			    log_esc(v));
			return 0;
		}
		set_string(l->c, k->off, v);
		return 1;
	case K_USERS:
		break;
	}
	return 0;
}

/* ---- the walk -------------------------------------------------------- */

static int
section_index(const char *name)
{
	size_t i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i], name) == 0)
			return (int)i;
	return -1;
}

static int
key_index(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* "url, cluster, username, ...": the keys a section allows. */
static char *
section_keys(const char *section)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		t = xprintf("%s%s%s", s, *s == '\0' ? "" : ", ", keys[i].name);
		free(s);
		s = t;
	}
	return s;
}

/*
 * An unknown key: say where it would be allowed when it is a known key of
 * another place (the most common mistake: a key under the wrong section),
 * otherwise list what this place allows.
 */
static void
unknown_key(struct loader *l, unsigned long line, const char *section,
    const char *name)
{
	char *allowed;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (section == NULL)
			cerr(l, line, "unknown key \"%s\": it belongs under "
			    "\"%s:\"", log_esc(name), keys[i].section);
		else
			cerr(l, line, "unknown key \"%s.%s\": %s is allowed "
			    "under \"%s:\"", section, log_esc(name),
			    log_esc(name), keys[i].section);
		return;
	}
	if (section == NULL) {
		cerr(l, line, "unknown key \"%s\" (allowed at the top level: "
		    "cyclecloud, slurm, daemon, log, metrics)", log_esc(name));
		return;
	}
	if (section_index(name) != -1) {
		cerr(l, line, "unknown key \"%s.%s\": %s is a top-level "
		    "section", section, log_esc(name), log_esc(name));
		return;
	}
	allowed = section_keys(section);
	cerr(l, line, "unknown key \"%s.%s\" (allowed under %s: %s)", section,
	    log_esc(name), section, allowed);
	free(allowed);
}

/*
 * The key of a mapping pair as a string, or NULL (recorded) when it is not
 * a plain scalar.
 */
static const char *
pair_key(struct loader *l, const yaml_node_t *k)
{
	const char *v;

	if (k->type != YAML_SCALAR_NODE) {
		cerr(l, node_line(k), "a key must be a name, not %s",
		    node_kind(k));
		return NULL;
	}
	v = (const char *)k->data.scalar.value;
	if (strlen(v) != k->data.scalar.length) {
		cerr(l, node_line(k), "a key contains a NUL character");
		return NULL;
	}
	return v;
}

static void
load_section(struct loader *l, int si, const yaml_node_t *map)
{
	const char *section = sections[si], *name;
	const yaml_node_t *k, *v;
	yaml_node_pair_t *p;
	int ki;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(l->doc, p->key);
		v = yaml_document_get_node(l->doc, p->value);
		if (k == NULL || v == NULL || (name = pair_key(l, k)) == NULL)
			continue;
		if ((ki = key_index(section, name)) == -1) {
			unknown_key(l, node_line(k), section, name);
			continue;
		}
		if (l->key_line[ki] != 0) {
			cerr(l, node_line(k), "duplicate key \"%s.%s\" (first "
			    "at line %lu)", section, name, l->key_line[ki]);
			continue;
		}
		l->key_line[ki] = node_line(k);
		/* Given without a value: as if absent (the default). */
		if (node_is_null(v))
			continue;
		l->key_set[ki] = load_key(l, &keys[ki], v);
		/* A bad value is reported; do not also call it missing. */
		if (!l->key_set[ki])
			l->key_set[ki] = -1;
	}
}

static void
load_root(struct loader *l, const yaml_node_t *root)
{
	const yaml_node_t *k, *v;
	yaml_node_pair_t *p;
	const char *name;
	int si;

	l->root_line = node_line(root);
	if (node_is_null(root))
		return;
	if (root->type != YAML_MAPPING_NODE) {
		cerr(l, node_line(root), "expected a mapping of sections "
		    "(cyclecloud:, daemon:, ...) at the top level, not %s",
		    node_kind(root));
		return;
	}
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(l->doc, p->key);
		v = yaml_document_get_node(l->doc, p->value);
		if (k == NULL || v == NULL || (name = pair_key(l, k)) == NULL)
			continue;
		if ((si = section_index(name)) == -1) {
			unknown_key(l, node_line(k), NULL, name);
			continue;
		}
		if (l->section_line[si] != 0) {
			cerr(l, node_line(k), "duplicate key \"%s\" (first at "
			    "line %lu)", name, l->section_line[si]);
			continue;
		}
		l->section_line[si] = node_line(k);
		if (node_is_null(v))
			continue;
		if (v->type != YAML_MAPPING_NODE) {
			cerr(l, node_line(v), "%s: expected a mapping of keys, "
			    "not %s", name, node_kind(v));
			continue;
		}
		load_section(l, si, v);
	}
}

/* ---- after the walk ----------------------------------------------------- */

static int
credential_present(void)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	char *path;
	int ok;

	if (dir == NULL || *dir == '\0')
		return 0;
	path = xprintf("%s/%s", dir, CONF_CREDENTIAL_NAME);
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return ok;
}

/*
 * The checks a password file must pass, on an open file (so the file that
 * is checked is the file that is read).  Returns NULL or an allocated
 * reason naming the path; never the content.
 */
static char *
password_file_problem(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return xprintf("%s is not a regular file", path);
	if ((st->st_mode & 077) != 0)
		return xprintf("%s has mode %04o: it must not be readable or "
		    "writable by group or others (chmod 600 %s)", path,
		    (unsigned)(st->st_mode & 07777), path);
	if (st->st_uid != geteuid())
		return xprintf("%s is owned by uid %lu, not by uid %lu that "
		    "ccslurmd runs as", path, (unsigned long)st->st_uid,
		    (unsigned long)geteuid());
	return NULL;
}

/*
 * Opening a FIFO or a device without O_NONBLOCK could hang; O_NOCTTY keeps
 * a terminal from becoming ours.
 */
static int
password_open(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

static void
check_password_file(struct loader *l)
{
	int ki = key_index("cyclecloud", "password_file");
	const char *path = l->c->cc.password_file;
	struct stat st;
	char *why;
	int fd;

	if (path == NULL)
		return;
	if ((fd = password_open(path)) == -1) {
		cerr(l, l->key_line[ki], "cyclecloud.password_file: %s: %s",
		    log_esc(path), strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1) {
		cerr(l, l->key_line[ki], "cyclecloud.password_file: %s: %s",
		    log_esc(path), strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	if ((why = password_file_problem(log_esc(path), &st)) != NULL) {
		cerr(l, l->key_line[ki], "cyclecloud.password_file: %s", why);
		free(why);
	} else if (st.st_size == 0)
		cerr(l, l->key_line[ki], "cyclecloud.password_file: %s is "
		    "empty", log_esc(path));
}

/* Where a missing key is reported: its own line, its section's, or 1. */
static unsigned long
missing_line(struct loader *l, int ki)
{
	int si;

	if (l->key_line[ki] != 0)
		return l->key_line[ki];
	si = section_index(keys[ki].section);
	if (si != -1 && l->section_line[si] != 0)
		return l->section_line[si];
	return l->root_line != 0 ? l->root_line : 1;
}

static void
finish(struct loader *l)
{
	struct conf *c = l->c;
	int ki;
	size_t i;
	uid_t uid;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].required && l->key_set[i] == 0)
			cerr(l, missing_line(l, (int)i),
			    "missing required key \"%s.%s\"", keys[i].section,
			    keys[i].name);

	c->cc.has_credential = credential_present();
	ki = key_index("cyclecloud", "password_file");
	if (l->flags & CONF_LOAD_NO_SECRET)
		;	/* a reader of paths only: the daemon checks it */
	else if (l->key_set[ki] == 0 && !c->cc.has_credential)
		cerr(l, missing_line(l, ki), "missing required key "
		    "\"cyclecloud.password_file\" (no systemd credential "
		    "\"%s\" was given either)", CONF_CREDENTIAL_NAME);
	/*
	 * A named password file is checked even when the credential wins:
	 * a secret readable by others on disk is a leak whichever source
	 * the daemon uses.
	 */
	if (l->key_set[ki] == 1 && !(l->flags & CONF_LOAD_NO_SECRET))
		check_password_file(l);

	ki = key_index("daemon", "allowed_users");
	if (l->key_set[ki] == 0 && lookup_user(CONF_DEFAULT_ALLOWED_USER,
	    &uid) == 0) {
		c->daemon.allowed_names = xcalloc(1, sizeof(char *));
		c->daemon.allowed_uids = xcalloc(1, sizeof(uid_t));
		c->daemon.allowed_names[0] = xstrdup(CONF_DEFAULT_ALLOWED_USER);
		c->daemon.allowed_uids[0] = uid;
		c->daemon.nallowed = 1;
	}
}

/* libyaml's reader errors carry a byte offset, not a line. */
static unsigned long
offset_line(const char *buf, size_t len, size_t off)
{
	unsigned long line = 1;
	size_t i;

	for (i = 0; i < off && i < len; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static void
yaml_error(struct loader *l, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	unsigned long line;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		fatalx("%s: out of memory parsing YAML", l->file);
	case YAML_READER_ERROR:
		line = offset_line(buf, len, p->problem_offset);
		cerr(l, line, "YAML syntax error: %s",
		    p->problem != NULL ? p->problem : "unreadable input");
		return;
	default:
		line = (unsigned long)p->problem_mark.line + 1;
		if (p->context != NULL)
			cerr(l, line, "YAML syntax error: %s %s (line %lu)",
			    p->problem != NULL ? p->problem : "error",
			    p->context,
			    (unsigned long)p->context_mark.line + 1);
		else
			cerr(l, line, "YAML syntax error: %s",
			    p->problem != NULL ? p->problem : "error");
		return;
	}
}

int
conf_load_buffer(const char *name, const char *buf, size_t len,
    struct conf **out, struct conf_errors *errs)
{
	return conf_load_buffer_flags(name, buf, len, 0, out, errs);
}

static int
conf_load_buffer_flags(const char *name, const char *buf, size_t len,
    unsigned flags, struct conf **out, struct conf_errors *errs)
{
	struct loader l;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	size_t before = errs->n;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.file = name;
	l.flags = flags;
	l.errs = errs;
	l.c = conf_new_defaults(name);
	l.doc = &doc;

	if (!yaml_parser_initialize(&parser))
		fatalx("%s: out of memory", __func__);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&l, &parser, buf, len);
		yaml_parser_delete(&parser);
		goto out;
	}
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		/* A second document would be silently ignored: refuse it. */
		if (!yaml_parser_load(&parser, &extra))
			yaml_error(&l, &parser, buf, len);
		else {
			if (yaml_document_get_root_node(&extra) != NULL)
				cerr(&l, (unsigned long)
				    extra.start_mark.line + 1, "more than one "
				    "YAML document (a second \"---\")");
			yaml_document_delete(&extra);
		}
		load_root(&l, root);
	}
	finish(&l);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out:
	if (errs->n != before) {
		errors_sort(errs);
		conf_free(l.c);
		return -1;
	}
	*out = l.c;
	return 0;
}

int
conf_load(const char *path, struct conf **out, struct conf_errors *errs)
{
	return conf_load_flags(path, 0, out, errs);
}

int
conf_load_flags(const char *path, unsigned flags, struct conf **out,
    struct conf_errors *errs)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (read_file(path, CONF_MAX_FILE_SIZE, &buf, &len) == -1) {
		if (errno == EFBIG)
			errors_add(errs, path, 0, xprintf("larger than %d "
			    "bytes: not a configuration file",
			    CONF_MAX_FILE_SIZE));
		else
			errors_add(errs, path, 0, xstrdup(strerror(errno)));
		return -1;
	}
	rc = conf_load_buffer_flags(path, buf, len, flags, out, errs);
	free(buf);
	return rc;
}

int
conf_check_print(const char *path, FILE *out, FILE *err)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c;

	if (conf_load(path, &c, &errs) == -1) {
		conf_errors_print(&errs, err);
		conf_errors_free(&errs);
		return 1;
	}
	conf_free(c);
	fprintf(out, "configuration OK\n");
	return 0;
}

int
conf_check_main(const char *path)
{
	int rc = conf_check_print(path, stdout, stderr);

	fflush(stdout);
	return rc;
}

/* ---- the password ------------------------------------------------------ */

/*
 * Read the secret from fd into a buffer that is never reallocated (a
 * realloc would leave copies of it behind).  Room for the longest password,
 * its "\r\n", one byte more to notice a longer one, and the NUL.
 */
#define SECRET_BUF (CONF_MAX_PASSWORD_LEN + 4)

static int
read_secret(int fd, const char *label, char **password, char **cause)
{
	char *buf = xmalloc(SECRET_BUF);
	ssize_t n;
	size_t len;

	n = read_full(fd, buf, SECRET_BUF - 1);
	if (n < 0) {
		*cause = xprintf("%s: %s", label, strerror(errno));
		goto fail;
	}
	len = (size_t)n;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	if (len > CONF_MAX_PASSWORD_LEN) {
		*cause = xprintf("%s: longer than %d bytes", label,
		    CONF_MAX_PASSWORD_LEN);
		goto fail;
	}
	if (len == 0) {
		*cause = xprintf("%s is empty", label);
		goto fail;
	}
	if (strlen(buf) != len) {
		*cause = xprintf("%s contains a NUL byte", label);
		goto fail;
	}
	*password = buf;
	return 0;
fail:
	explicit_bzero(buf, SECRET_BUF);
	free(buf);
	return -1;
}

int
conf_read_password(const struct conf *c, char **password, char **cause)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path, *label, *why;
	struct stat st;
	int fd, rc;

	*password = NULL;
	if (dir != NULL && *dir != '\0') {
		path = xprintf("%s/%s", dir, CONF_CREDENTIAL_NAME);
		fd = password_open(path);
		if (fd != -1) {
			/* systemd owns the credential's mode and owner. */
			label = xprintf("credential %s", log_esc(path));
			if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
				*cause = xprintf("%s is not a regular file",
				    label);
				rc = -1;
			} else
				rc = read_secret(fd, label, password, cause);
			close(fd);
			free(label);
			free(path);
			return rc;
		}
		if (errno != ENOENT) {
			*cause = xprintf("credential %s: %s", log_esc(path),
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}

	if (c->cc.password_file == NULL) {
		*cause = xprintf("no password: neither the systemd credential "
		    "\"%s\" nor cyclecloud.password_file is available",
		    CONF_CREDENTIAL_NAME);
		return -1;
	}
	label = xstrdup(log_esc(c->cc.password_file));
	if ((fd = password_open(c->cc.password_file)) == -1) {
		*cause = xprintf("%s: %s", label, strerror(errno));
		free(label);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xprintf("%s: %s", label, strerror(errno));
		rc = -1;
	} else if ((why = password_file_problem(label, &st)) != NULL) {
		*cause = why;
		rc = -1;
	} else
		rc = read_secret(fd, label, password, cause);
	close(fd);
	free(label);
	return rc;
}
