/*
 * test_config.c: common/config.c, the YAML configuration and the password.
 *
 * Each test runs in its own forked process (Check's default), so setenv()
 * of CREDENTIALS_DIRECTORY cannot leak between tests.  Fixtures are written
 * into a fresh temporary directory by the test itself; "@D@" in a YAML text
 * or an expected error stands for that directory.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"
#include "util.h"
#include "xmalloc.h"

#define PASSWORD "s3cret-Pa55"

static char dir[] = "/tmp/ccs-config-XXXXXX";
static char tdir[sizeof(dir)];

/* A config with exactly the required keys. */
#define MINIMAL							\
	"cyclecloud:\n"						\
	"  url: https://cc.example.com\n"			\
	"  cluster: burst\n"					\
	"  username: api\n"					\
	"  password_file: @D@/pw\n"

/* ---- helpers ----------------------------------------------------------- */

/* Strings made by subst(), freed by teardown(). */
static char *scratch[256];
static size_t nscratch;

/*
 * s with every "@D@" replaced by the test's directory; freed at the end of
 * the test, so it can be used inside an assertion.
 */
static char *
subst(const char *s)
{
	size_t n = 0, dl = strlen(tdir);
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, "@D@")) != NULL; p += 3)
		n++;
	out = o = xmalloc(strlen(s) + n * dl + 1);
	while (*s != '\0') {
		if (strncmp(s, "@D@", 3) == 0) {
			memcpy(o, tdir, dl);
			o += dl;
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	ck_assert_uint_lt(nscratch, nitems(scratch));
	scratch[nscratch++] = out;
	return out;
}

static void
write_mode(const char *name, const char *content, mode_t mode)
{
	char *path = xprintf("%s/%s", tdir, name);

	ck_assert_int_eq(write_file_atomic(path, content, strlen(content),
	    mode), 0);
	/* write_file_atomic honours mode but the umask might not: force. */
	ck_assert_int_eq(chmod(path, mode), 0);
	free(path);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	memcpy(tdir, dir, sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	write_mode("pw", PASSWORD "\n", 0600);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void
teardown(void)
{
	nftw(tdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	while (nscratch > 0)
		free(scratch[--nscratch]);
}

static int
load(const char *yaml, struct conf **c, struct conf_errors *errs)
{
	char *text = subst(yaml);
	int rc;

	rc = conf_load_buffer("t.yaml", text, strlen(text), c, errs);
	return rc;
}

static struct conf *
load_ok(const char *yaml)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c = NULL;
	int rc = load(yaml, &c, &errs);

	if (rc != 0) {
		conf_errors_print(&errs, stderr);
		ck_abort_msg("unexpected errors: first \"%s\"", errs.v[0].text);
	}
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(errs.n, 0);
	return c;
}

/* The file must be refused with exactly these errors, in this order. */
static void
expect_errors(const char *yaml, const char *const *want, size_t nwant)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c = (struct conf *)1;
	char *w;
	size_t i;

	ck_assert_int_eq(load(yaml, &c, &errs), -1);
	ck_assert_ptr_null(c);
	for (i = 0; i < errs.n && i < nwant; i++) {
		w = subst(want[i]);
		ck_assert_str_eq(errs.v[i].text, w);
	}
	if (errs.n != nwant) {
		conf_errors_print(&errs, stderr);
		ck_abort_msg("%zu errors, expected %zu", errs.n, nwant);
	}
	conf_errors_free(&errs);
	ck_assert_ptr_null(errs.v);
	ck_assert_uint_eq(errs.n, 0);
}

#define EXPECT(yaml, ...) do {						\
	static const char *const w_[] = { __VA_ARGS__ };		\
	expect_errors((yaml), w_, nitems(w_));				\
} while (0)

static void
check_defaults_except_required(const struct conf *c)
{
	uid_t slurm_uid;
	struct passwd *pw;

	ck_assert_int_eq(c->cc.verify_tls, 1);
	ck_assert_ptr_null(c->cc.ca_file);
	ck_assert_uint_eq(c->cc.timeout_ms, 60000);
	ck_assert_ptr_null(c->cc.proxy);
	ck_assert_uint_eq(c->cc.max_connections, 4);
	ck_assert_uint_eq(c->cc.retry_max_attempts, 5);
	ck_assert_uint_eq(c->cc.retry_max_time_ms, 300000);
	ck_assert_str_eq(c->slurm.scontrol, "scontrol");
	ck_assert_str_eq(c->slurm.config_dir, "/sched");
	ck_assert_uint_eq(c->slurm.scontrol_timeout_ms, 60000);
	ck_assert_str_eq(c->daemon.socket, CCSLURMD_SOCKET_PATH);
	ck_assert_str_eq(c->daemon.state_dir, CCSLURMD_STATE_DIR);
	ck_assert_str_eq(c->daemon.spool_dir, CCSLURMD_SPOOL_DIR);
	ck_assert_uint_eq(c->daemon.batch_window_ms, 500);
	ck_assert_uint_eq(c->daemon.poll_interval_ms, 5000);
	ck_assert_int_eq(c->daemon.shutdown, CONF_SHUTDOWN_POLICY);
	ck_assert_uint_eq(c->daemon.reconcile_interval_ms, 300000);
	ck_assert_uint_eq(c->daemon.orphan_grace_ms, 600000);
	ck_assert_uint_eq(c->daemon.auth_grace_ms, 60000);
	ck_assert_int_eq(c->daemon.ha, 0);
	ck_assert_ptr_null(c->daemon.ha_hostname);
	ck_assert_uint_eq(c->daemon.ha_check_interval_ms, 5000);
	ck_assert_int_eq(c->log.level, LOG_LVL_INFO);
	ck_assert_ptr_null(c->metrics.listen);
	ck_assert_ptr_null(c->metrics.host);
	ck_assert_uint_eq(c->metrics.port, 0);

	/* The default user counts only where it exists. */
	pw = getpwnam(CONF_DEFAULT_ALLOWED_USER);
	if (pw != NULL) {
		slurm_uid = pw->pw_uid;
		ck_assert_uint_eq(c->daemon.nallowed, 1);
		ck_assert_str_eq(c->daemon.allowed_names[0], "slurm");
		ck_assert_uint_eq(c->daemon.allowed_uids[0], slurm_uid);
		ck_assert_int_eq(conf_user_allowed(c, slurm_uid), 1);
	} else
		ck_assert_uint_eq(c->daemon.nallowed, 0);
}

/* ---- core -------------------------------------------------------------- */

START_TEST(minimal_defaults)
{
	struct conf *c = load_ok(MINIMAL);
	char *pwf = subst("@D@/pw");

	ck_assert_str_eq(c->path, "t.yaml");
	ck_assert_str_eq(c->cc.url, "https://cc.example.com");
	ck_assert_str_eq(c->cc.cluster, "burst");
	ck_assert_str_eq(c->cc.username, "api");
	ck_assert_str_eq(c->cc.password_file, pwf);
	ck_assert_int_eq(c->cc.has_credential, 0);
	check_defaults_except_required(c);
	ck_assert_int_eq(conf_user_allowed(c, 0), 1);
	ck_assert_int_eq(conf_user_allowed(c, 4242), 0);
	conf_free(c);
}
END_TEST

START_TEST(full)
{
	struct conf *c;
	struct passwd *nobody = getpwnam("nobody");

	ck_assert_ptr_nonnull(nobody);
	write_mode("ca.pem", "not checked here\n", 0644);
	c = load_ok("# every key\n"
	    "cyclecloud:\n"
	    "  url: http://cc.example.com:8080/base//\n"
	    "  cluster: \"my cluster\"\n"
	    "  username: 'api user'\n"
	    "  password_file: @D@/pw\n"
	    "  verify_tls: false\n"
	    "  ca_file: @D@/ca.pem\n"
	    "  timeout: 90\n"
	    "  proxy: socks5h://proxy:1080\n"
	    "  max_connections: 16\n"
	    "  retry_max_attempts: 1\n"
	    "  retry_max_time: 1.5m\n"
	    "slurm:\n"
	    "  scontrol: /opt/slurm/bin/scontrol\n"
	    "  config_dir: /shared/slurm\n"
	    "  scontrol_timeout: 2m\n"
	    "daemon:\n"
	    "  socket: /tmp/x.sock\n"
	    "  state_dir: /srv/state\n"
	    "  spool_dir: /srv/spool\n"
	    "  batch_window: 0\n"
	    "  poll_interval: 250ms\n"
	    "  shutdown: deallocate\n"
	    "  allowed_users:\n"
	    "    - root\n"
	    "    - nobody\n"
	    "  reconcile_interval: 1h\n"
	    "  orphan_grace: 30m\n"
	    "  auth_grace: 0\n"
	    "log:\n"
	    "  level: debug\n"
	    "metrics:\n"
	    "  listen: \"[::1]:9469\"\n");

	/* Trailing slashes go: the client appends "/clusters/...". */
	ck_assert_str_eq(c->cc.url, "http://cc.example.com:8080/base");
	ck_assert_str_eq(c->cc.cluster, "my cluster");
	ck_assert_str_eq(c->cc.username, "api user");
	ck_assert_int_eq(c->cc.verify_tls, 0);
	ck_assert_str_eq(c->cc.ca_file, subst("@D@/ca.pem"));
	ck_assert_uint_eq(c->cc.timeout_ms, 90000);
	ck_assert_str_eq(c->cc.proxy, "socks5h://proxy:1080");
	ck_assert_uint_eq(c->cc.max_connections, 16);
	ck_assert_uint_eq(c->cc.retry_max_attempts, 1);
	ck_assert_uint_eq(c->cc.retry_max_time_ms, 90000);
	ck_assert_str_eq(c->slurm.scontrol, "/opt/slurm/bin/scontrol");
	ck_assert_str_eq(c->slurm.config_dir, "/shared/slurm");
	ck_assert_uint_eq(c->slurm.scontrol_timeout_ms, 120000);
	ck_assert_str_eq(c->daemon.socket, "/tmp/x.sock");
	ck_assert_str_eq(c->daemon.state_dir, "/srv/state");
	ck_assert_str_eq(c->daemon.spool_dir, "/srv/spool");
	ck_assert_uint_eq(c->daemon.batch_window_ms, 0);
	ck_assert_uint_eq(c->daemon.poll_interval_ms, 250);
	ck_assert_int_eq(c->daemon.shutdown, CONF_SHUTDOWN_DEALLOCATE);
	ck_assert_str_eq(conf_shutdown_name(c->daemon.shutdown),
	    "deallocate");
	ck_assert_uint_eq(c->daemon.nallowed, 2);
	ck_assert_str_eq(c->daemon.allowed_names[0], "root");
	ck_assert_uint_eq(c->daemon.allowed_uids[0], 0);
	ck_assert_str_eq(c->daemon.allowed_names[1], "nobody");
	ck_assert_uint_eq(c->daemon.allowed_uids[1], nobody->pw_uid);
	ck_assert_int_eq(conf_user_allowed(c, nobody->pw_uid), 1);
	ck_assert_int_eq(conf_user_allowed(c, 4242), 0);
	ck_assert_uint_eq(c->daemon.reconcile_interval_ms, 3600000);
	ck_assert_uint_eq(c->daemon.orphan_grace_ms, 1800000);
	ck_assert_uint_eq(c->daemon.auth_grace_ms, 0);
	ck_assert_int_eq(c->log.level, LOG_LVL_DEBUG);
	ck_assert_str_eq(c->metrics.listen, "[::1]:9469");
	ck_assert_str_eq(c->metrics.host, "::1");
	ck_assert_uint_eq(c->metrics.port, 9469);
	conf_free(c);
}
END_TEST

START_TEST(nulls_and_empty_sections)
{
	struct conf *c;

	/* A key or section given without a value keeps its default. */
	c = load_ok(MINIMAL
	    "  proxy:\n"
	    "  ca_file: ~\n"
	    "  timeout: null\n"
	    "slurm:\n"
	    "log:\n"
	    "metrics:\n"
	    "  listen:\n"
	    "daemon:\n"
	    "  allowed_users: []\n");
	ck_assert_ptr_null(c->cc.proxy);
	ck_assert_ptr_null(c->cc.ca_file);
	ck_assert_uint_eq(c->cc.timeout_ms, CONF_DEFAULT_CC_TIMEOUT_MS);
	ck_assert_int_eq(c->log.level, LOG_LVL_INFO);
	ck_assert_ptr_null(c->metrics.listen);
	/* An explicit empty list: nobody but root. */
	ck_assert_uint_eq(c->daemon.nallowed, 0);
	ck_assert_int_eq(conf_user_allowed(c, 0), 1);
	conf_free(c);

	/* Flow style and the ipv4 listen form. */
	c = load_ok("{cyclecloud: {url: 'https://h', cluster: c, "
	    "username: u, password_file: '@D@/pw'}, "
	    "metrics: {listen: '127.0.0.1:9469'}, log: {level: WARNING}}");
	ck_assert_str_eq(c->metrics.host, "127.0.0.1");
	ck_assert_uint_eq(c->metrics.port, 9469);
	ck_assert_int_eq(c->log.level, LOG_LVL_WARNING);
	conf_free(c);
}
END_TEST

/* The shipped example passes and documents exactly the defaults. */
START_TEST(example_config)
{
	const char *src = getenv("CCS_SOURCE_DIR");
	char *path, *buf, *p, *pw, *text;
	struct conf_errors errs = { NULL, 0 };
	struct conf *c;
	size_t len;

	ck_assert_msg(src != NULL, "CCS_SOURCE_DIR is not set");
	path = xprintf("%s/etc/ccslurmd.yaml", src);
	ck_assert_int_eq(read_file(path, CONF_MAX_FILE_SIZE, &buf, &len), 0);
	/* The key's value, not a mention in a comment. */
	p = strstr(buf, "password_file: /etc/ccslurmd/cyclecloud.password");
	ck_assert_ptr_nonnull(p);
	p += strlen("password_file: ");
	*p = '\0';
	pw = subst("@D@/pw");
	text = xprintf("%s%s%s", buf, pw,
	    p + strlen("/etc/ccslurmd/cyclecloud.password"));
	ck_assert_int_eq(conf_load_buffer(path, text, strlen(text), &c, &errs),
	    0);
	ck_assert_str_eq(c->cc.url, "https://cyclecloud.example.com");
	ck_assert_str_eq(c->cc.cluster, "burst");
	ck_assert_str_eq(c->cc.username, "ccslurmd-api");
	check_defaults_except_required(c);
	conf_free(c);
	free(path);
	free(buf);
	free(text);
}
END_TEST

START_TEST(check_print)
{
	char *good = subst("@D@/good.yaml"), *bad = subst("@D@/bad.yaml");
	char *obuf = NULL, *ebuf = NULL, *want;
	size_t olen = 0, elen = 0;
	FILE *out, *err;
	char *text = subst(MINIMAL);

	write_mode("good.yaml", text, 0644);
	write_mode("bad.yaml", "log:\n  level: loud\n", 0644);

	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	ck_assert_int_eq(conf_check_print(good, out, err), 0);
	fflush(out);
	fflush(err);
	ck_assert_str_eq(obuf, "configuration OK\n");
	ck_assert_uint_eq(elen, 0);
	ck_assert_int_eq(conf_check_print(bad, out, err), 1);
	fclose(out);
	fclose(err);
	ck_assert_str_eq(obuf, "configuration OK\n");
	/* Sorted by line: the four line-1 errors come first. */
	want = xprintf("%s:1: missing required key \"cyclecloud.url\"\n"
	    "%s:1: missing required key \"cyclecloud.cluster\"\n"
	    "%s:1: missing required key \"cyclecloud.username\"\n"
	    "%s:1: missing required key \"cyclecloud.password_file\" (no "
	    "systemd credential \"cyclecloud-password\" was given either)\n"
	    "%s:2: log.level: unknown value \"loud\" (error, "
	    "warning, info or debug)\n",
	    bad, bad, bad, bad, bad);
	ck_assert_str_eq(ebuf, want);
	free(want);
	free(obuf);
	free(ebuf);
}
END_TEST

START_TEST(password_from_file)
{
	struct conf *c = load_ok(MINIMAL);
	char *pw = NULL, *cause = NULL;

	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, PASSWORD);	/* one "\n" stripped */
	explicit_bzero(pw, strlen(pw));
	free(pw);

	/* "\r\n" is one newline; only one is stripped. */
	write_mode("pw", "a b\r\n", 0600);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, "a b");
	free(pw);
	write_mode("pw", "x\n\n", 0400);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, "x\n");
	free(pw);
	conf_free(c);
}
END_TEST

START_TEST(credential_precedence)
{
	char *pw = NULL, *cause = NULL, *cred;
	struct conf *c;

	ck_assert_int_eq(mkdir(subst("@D@/creds"), 0700), 0);
	write_mode("creds/cyclecloud-password", "from-credential\n", 0400);
	cred = subst("@D@/creds");

	/* The credential wins over a password_file. */
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", cred, 1), 0);
	c = load_ok(MINIMAL);
	ck_assert_int_eq(c->cc.has_credential, 1);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, "from-credential");
	free(pw);
	conf_free(c);

	/* With the credential, password_file may be left out. */
	c = load_ok("cyclecloud:\n  url: https://h\n  cluster: c\n"
	    "  username: u\n");
	ck_assert_ptr_null(c->cc.password_file);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, "from-credential");
	free(pw);

	/* The credential gone: nothing left to read. */
	write_mode("creds/other", "x", 0600);
	ck_assert_int_eq(unlink(subst("@D@/creds/cyclecloud-password")), 0);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(cause, "no password: neither the systemd credential "
	    "\"cyclecloud-password\" nor cyclecloud.password_file is "
	    "available");
	free(cause);
	conf_free(c);

	/* A directory without the credential: the file is used. */
	c = load_ok(MINIMAL);
	ck_assert_int_eq(c->cc.has_credential, 0);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_str_eq(pw, PASSWORD);
	free(pw);
	conf_free(c);

	/* And without it, no config is complete. */
	EXPECT("cyclecloud:\n  url: https://h\n  cluster: c\n  username: u\n",
	    "t.yaml:1: missing required key \"cyclecloud.password_file\" (no "
	    "systemd credential \"cyclecloud-password\" was given either)");
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

/* daemon.ha, .ha_hostname, .ha_check_interval (high-availability.md). */
START_TEST(ha_keys)
{
	struct conf *c;

	c = load_ok(MINIMAL "daemon:\n  ha: true\n  ha_hostname: ctl2\n"
	    "  ha_check_interval: 1s\n");
	ck_assert_int_eq(c->daemon.ha, 1);
	ck_assert_str_eq(c->daemon.ha_hostname, "ctl2");
	ck_assert_uint_eq(c->daemon.ha_check_interval_ms, 1000);
	conf_free(c);
	c = load_ok(MINIMAL "daemon:\n  ha: false\n  ha_check_interval: 1m\n");
	ck_assert_int_eq(c->daemon.ha, 0);
	ck_assert_ptr_null(c->daemon.ha_hostname);
	ck_assert_uint_eq(c->daemon.ha_check_interval_ms, 60000);
	conf_free(c);

	EXPECT(MINIMAL "daemon:\n  ha_check_interval: 999ms\n",
	    "t.yaml:7: daemon.ha_check_interval: 999ms is out of range (1s to "
	    "1m)");
	EXPECT(MINIMAL "daemon:\n  ha_check_interval: 61s\n",
	    "t.yaml:7: daemon.ha_check_interval: 61s is out of range (1s to "
	    "1m)");
	EXPECT(MINIMAL "daemon:\n  ha: yes\n  ha_hostname: \"\"\n",
	    "t.yaml:7: daemon.ha: expected true or false, not \"yes\"",
	    "t.yaml:8: daemon.ha_hostname: expected a non-empty name without "
	    "control characters, not \"\"");
}
END_TEST

START_TEST(bounds)
{
	struct conf *c;

	c = load_ok(MINIMAL "  max_connections: 64\n  retry_max_attempts: 100\n"
	    "  timeout: 1s\n  retry_max_time: 24h\n"
	    "daemon:\n  batch_window: 1m\n  poll_interval: 100ms\n"
	    "  reconcile_interval: 10s\n  orphan_grace: 1m\n"
	    "  auth_grace: 24h\n"
	    "metrics:\n  listen: localhost:65535\n");
	ck_assert_uint_eq(c->cc.max_connections, 64);
	ck_assert_uint_eq(c->cc.retry_max_attempts, 100);
	ck_assert_uint_eq(c->cc.timeout_ms, 1000);
	ck_assert_uint_eq(c->daemon.batch_window_ms, 60000);
	ck_assert_uint_eq(c->daemon.poll_interval_ms, 100);
	ck_assert_uint_eq(c->daemon.orphan_grace_ms, 60000);
	ck_assert_uint_eq(c->metrics.port, 65535);
	conf_free(c);

	EXPECT(MINIMAL "  max_connections: 65\n  retry_max_attempts: 0\n"
	    "  timeout: 999ms\n"
	    "daemon:\n  batch_window: 61s\n  poll_interval: 99ms\n"
	    "  reconcile_interval: 9s\n  orphan_grace: 59s\n"
	    "  auth_grace: 25h\n"
	    "metrics:\n  listen: localhost:65536\n",
	    "t.yaml:6: cyclecloud.max_connections: expected an integer from "
	    "1 to 64, not \"65\"",
	    "t.yaml:7: cyclecloud.retry_max_attempts: expected an integer "
	    "from 1 to 100, not \"0\"",
	    "t.yaml:8: cyclecloud.timeout: 999ms is out of range (1s to 1h)",
	    "t.yaml:10: daemon.batch_window: 61s is out of range (0s to 1m)",
	    "t.yaml:11: daemon.poll_interval: 99ms is out of range (100ms to "
	    "10m)",
	    "t.yaml:12: daemon.reconcile_interval: 9s is out of range (10s to "
	    "24h)",
	    "t.yaml:13: daemon.orphan_grace: 59s is out of range (1m to 168h)",
	    "t.yaml:14: daemon.auth_grace: 25h is out of range (0s to 24h)",
	    "t.yaml:16: metrics.listen: expected HOST:PORT (e.g. "
	    "127.0.0.1:9469 or [::1]:9469), not \"localhost:65536\"");
}
END_TEST

START_TEST(password_lengths)
{
	struct conf *c = load_ok(MINIMAL);
	char *big = xmalloc(CONF_MAX_PASSWORD_LEN + 2);
	char *pw = NULL, *cause = NULL;

	/* Exactly the maximum, plus the newline that is stripped. */
	memset(big, 'p', CONF_MAX_PASSWORD_LEN);
	big[CONF_MAX_PASSWORD_LEN] = '\n';
	big[CONF_MAX_PASSWORD_LEN + 1] = '\0';
	write_mode("pw", big, 0600);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), 0);
	ck_assert_uint_eq(strlen(pw), CONF_MAX_PASSWORD_LEN);
	free(pw);

	big[CONF_MAX_PASSWORD_LEN] = 'p';
	write_mode("pw", big, 0600);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(cause, subst("@D@/pw: longer than 4096 bytes"));
	free(cause);
	free(big);
	conf_free(c);
}
END_TEST

START_TEST(many_errors)
{
	char *text = xstrdup(""), *t;
	struct conf_errors errs = { NULL, 0 };
	struct conf *c;
	int i;

	/* 1,000 unknown keys: every one is reported, in order. */
	for (i = 0; i < 1000; i++) {
		t = xprintf("%sk%d: 1\n", text, i);
		free(text);
		text = t;
	}
	ck_assert_int_eq(conf_load_buffer("m.yaml", text, strlen(text), &c,
	    &errs), -1);
	/*
	 * + 4 missing required keys, reported at line 1 after the walk's
	 * own line-1 error.
	 */
	ck_assert_uint_eq(errs.n, 1004);
	ck_assert_str_eq(errs.v[1].text, "m.yaml:1: missing required key "
	    "\"cyclecloud.url\"");
	ck_assert_str_eq(errs.v[0].text, "m.yaml:1: unknown key \"k0\" "
	    "(allowed at the top level: cyclecloud, slurm, daemon, log, "
	    "metrics)");
	ck_assert_uint_eq(errs.v[1003].line, 1000);
	conf_errors_free(&errs);
	free(text);
}
END_TEST

START_TEST(file_too_large)
{
	struct conf_errors errs = { NULL, 0 };
	char *big = xmalloc(CONF_MAX_FILE_SIZE + 2), *path;
	struct conf *c;

	memset(big, '#', CONF_MAX_FILE_SIZE + 1);
	big[CONF_MAX_FILE_SIZE + 1] = '\0';
	write_mode("big.yaml", big, 0644);
	path = subst("@D@/big.yaml");
	ck_assert_int_eq(conf_load(path, &c, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.v[0].text, subst("@D@/big.yaml: larger than "
	    "1048576 bytes: not a configuration file"));
	ck_assert_uint_eq(errs.v[0].line, 0);
	conf_errors_free(&errs);
	free(big);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

START_TEST(err_unknown_keys)
{
	EXPECT(MINIMAL "  colour: blue\n"
	    "  level: debug\n"
	    "  daemon: {}\n"
	    "url: https://x\n"
	    "extras: 1\n",
	    "t.yaml:6: unknown key \"cyclecloud.colour\" (allowed under "
	    "cyclecloud: url, cluster, username, password_file, verify_tls, "
	    "ca_file, timeout, proxy, max_connections, retry_max_attempts, "
	    "retry_max_time)",
	    "t.yaml:7: unknown key \"cyclecloud.level\": level is allowed "
	    "under \"log:\"",
	    "t.yaml:8: unknown key \"cyclecloud.daemon\": daemon is a "
	    "top-level section",
	    "t.yaml:9: unknown key \"url\": it belongs under \"cyclecloud:\"",
	    "t.yaml:10: unknown key \"extras\" (allowed at the top level: "
	    "cyclecloud, slurm, daemon, log, metrics)");
}
END_TEST

START_TEST(err_types)
{
	EXPECT("cyclecloud:\n"
	    "  url: [https://x]\n"
	    "  cluster: {a: b}\n"
	    "  username: u\n"
	    "  password_file: @D@/pw\n"
	    "  verify_tls: yes\n"
	    "  max_connections: four\n"
	    "  retry_max_attempts: -1\n"
	    "  timeout: {s: 1}\n"
	    "slurm: /usr/bin\n"
	    "daemon:\n"
	    "  allowed_users: root\n"
	    "log: [info]\n"
	    "? [complex]\n"
	    ": key\n",
	    "t.yaml:2: cyclecloud.url: expected a single value, not a list",
	    "t.yaml:3: cyclecloud.cluster: expected a single value, not a "
	    "mapping",
	    "t.yaml:6: cyclecloud.verify_tls: expected true or false, not "
	    "\"yes\"",
	    "t.yaml:7: cyclecloud.max_connections: expected an integer from "
	    "1 to 64, not \"four\"",
	    "t.yaml:8: cyclecloud.retry_max_attempts: expected an integer "
	    "from 1 to 100, not \"-1\"",
	    "t.yaml:9: cyclecloud.timeout: expected a single value, not a "
	    "mapping",
	    "t.yaml:10: slurm: expected a mapping of keys, not a single value",
	    "t.yaml:12: daemon.allowed_users: expected a list of user names, "
	    "not a single value",
	    "t.yaml:13: log: expected a mapping of keys, not a list",
	    "t.yaml:14: a key must be a name, not a list");
	/* A bad value is not also reported as missing. */
	EXPECT("[1, 2]\n",
	    "t.yaml:1: expected a mapping of sections (cyclecloud:, daemon:, "
	    "...) at the top level, not a list",
	    "t.yaml:1: missing required key \"cyclecloud.url\"",
	    "t.yaml:1: missing required key \"cyclecloud.cluster\"",
	    "t.yaml:1: missing required key \"cyclecloud.username\"",
	    "t.yaml:1: missing required key \"cyclecloud.password_file\" (no "
	    "systemd credential \"cyclecloud-password\" was given either)");
}
END_TEST

START_TEST(err_values)
{
	EXPECT("\n"
	    "cyclecloud:\n"
	    "  url: ftp://cc.example.com\n"
	    "  cluster: \"a\\tb\"\n"
	    "  username: \"u\\0v\"\n"
	    "  password_file: relative/pw\n"
	    "  ca_file: \"line1\\nline2\"\n"
	    "  proxy: gopher://p\n"
	    "slurm:\n"
	    "  scontrol: bin/scontrol\n"
	    "  scontrol_timeout: 5x\n"
	    "daemon:\n"
	    "  socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n"
	    "  state_dir: var/lib\n"
	    "  shutdown: delete\n"
	    "  batch_window: -1s\n"
	    "log:\n"
	    "  level: verbose\n"
	    "metrics:\n"
	    "  listen: 9469\n",
	    "t.yaml:3: cyclecloud.url: expected a URL starting with http:// "
	    "or https://, not \"ftp://cc.example.com\"",
	    "t.yaml:4: cyclecloud.cluster: expected a non-empty name without "
	    "control characters, not \"a\\x09b\"",
	    "t.yaml:5: cyclecloud.username: the value contains a NUL "
	    "character",
	    "t.yaml:6: cyclecloud.password_file: expected an absolute path, "
	    "not \"relative/pw\"",
	    "t.yaml:7: cyclecloud.ca_file: the value spans more than one line",
	    "t.yaml:8: cyclecloud.proxy: expected a proxy URL (http://, "
	    "https://, socks4://, socks4a://, socks5:// or socks5h://), not "
	    "\"gopher://p\"",
	    "t.yaml:10: slurm.scontrol: expected an absolute path or a "
	    "program name, not \"bin/scontrol\"",
	    "t.yaml:11: slurm.scontrol_timeout: bad duration \"5x\" (seconds, "
	    "or a number with ms, s, m or h)",
	    "t.yaml:13: daemon.socket: the path is longer than a Unix socket "
	    "allows (107 bytes)",
	    "t.yaml:14: daemon.state_dir: expected an absolute path, not "
	    "\"var/lib\"",
	    "t.yaml:15: daemon.shutdown: unknown value \"delete\" (policy, "
	    "terminate or deallocate)",
	    "t.yaml:16: daemon.batch_window: bad duration \"-1s\" (seconds, or "
	    "a number with ms, s, m or h)",
	    "t.yaml:18: log.level: unknown value \"verbose\" (error, warning, "
	    "info or debug)",
	    "t.yaml:20: metrics.listen: expected HOST:PORT (e.g. "
	    "127.0.0.1:9469 or [::1]:9469), not \"9469\"");
	EXPECT(MINIMAL "  url: https://\n",
	    "t.yaml:6: duplicate key \"cyclecloud.url\" (first at line 2)");
	EXPECT("cyclecloud:\n  url: https:///path\n  cluster: c\n"
	    "  username: u\n  password_file: @D@/pw\n",
	    "t.yaml:2: cyclecloud.url: expected a URL starting with http:// "
	    "or https://, not \"https:///path\"");
}
END_TEST

START_TEST(err_missing)
{
	EXPECT("",
	    "t.yaml:1: missing required key \"cyclecloud.url\"",
	    "t.yaml:1: missing required key \"cyclecloud.cluster\"",
	    "t.yaml:1: missing required key \"cyclecloud.username\"",
	    "t.yaml:1: missing required key \"cyclecloud.password_file\" (no "
	    "systemd credential \"cyclecloud-password\" was given either)");
	/* At the section's line, or at the key's when it has no value. */
	EXPECT("log:\n  level: info\n"
	    "cyclecloud:\n  url: https://h\n  username:\n",
	    "t.yaml:3: missing required key \"cyclecloud.cluster\"",
	    "t.yaml:3: missing required key \"cyclecloud.password_file\" (no "
	    "systemd credential \"cyclecloud-password\" was given either)",
	    "t.yaml:5: missing required key \"cyclecloud.username\"");
}
END_TEST

START_TEST(err_duplicates)
{
	EXPECT(MINIMAL "  cluster: other\nlog:\n  level: info\n"
	    "log:\n  level: debug\n",
	    "t.yaml:6: duplicate key \"cyclecloud.cluster\" (first at line 3)",
	    "t.yaml:9: duplicate key \"log\" (first at line 7)");
}
END_TEST

START_TEST(err_syntax)
{
	EXPECT("cyclecloud:\n  url: https://h\n  cluster: [a, b\n"
	    "  username: u\n",
	    "t.yaml:4: YAML syntax error: did not find expected ',' or ']' "
	    "while parsing a flow sequence (line 3)");
	EXPECT("cyclecloud:\n  url: \"https://h\n",
	    "t.yaml:3: YAML syntax error: found unexpected end of stream "
	    "while scanning a quoted scalar (line 2)");
	EXPECT("a: 1\n\tb: 2\n",
	    "t.yaml:2: YAML syntax error: found a tab character that "
	    "violates indentation while scanning a plain scalar (line 1)");
	EXPECT("cyclecloud: *nowhere\n",
	    "t.yaml:1: YAML syntax error: found undefined alias");
	/* Invalid UTF-8 at line 3: libyaml's reader reports an offset. */
	EXPECT("log:\n  level: info\n# \xff\n",
	    "t.yaml:3: YAML syntax error: invalid leading UTF-8 octet");
	EXPECT(MINIMAL "---\nlog: {}\n",
	    "t.yaml:6: more than one YAML document (a second \"---\")");
}
END_TEST

/*
 * Found by fuzz_config: YAML counts "\r\n" and a lone "\r" as line breaks
 * too, so line numbers must follow libyaml's count, not the "\n"s.
 */
START_TEST(err_line_breaks)
{
	EXPECT("cyclecloud:\r\n  url: ftp://x\r\n  cluster: c\r\n"
	    "  username: u\r\n  password_file: @D@/pw\r\n  timeout: 0\r\n",
	    "t.yaml:2: cyclecloud.url: expected a URL starting with http:// "
	    "or https://, not \"ftp://x\"",
	    "t.yaml:6: cyclecloud.timeout: 0 is out of range (1s to 1h)");
	EXPECT("cyclecloud:\r  url: https://x\r  cluster: c\r  username: u\r"
	    "  password_file: @D@/pw\r\r\rlog: {level: x}\r",
	    "t.yaml:8: log.level: unknown value \"x\" (error, warning, info "
	    "or debug)");
}
END_TEST

START_TEST(err_users)
{
	EXPECT(MINIMAL "daemon:\n  allowed_users: [root, no-such-user-ccs, "
	    "root, '', [x]]\n",
	    "t.yaml:7: daemon.allowed_users: unknown user \"no-such-user-ccs\"",
	    "t.yaml:7: daemon.allowed_users: user \"root\" is listed twice",
	    "t.yaml:7: daemon.allowed_users: unknown user \"\"",
	    "t.yaml:7: daemon.allowed_users: expected a single value, not a "
	    "list");
}
END_TEST

START_TEST(err_password_file)
{
	EXPECT("cyclecloud:\n  url: https://h\n  cluster: c\n  username: u\n"
	    "  password_file: @D@/absent\n",
	    "t.yaml:5: cyclecloud.password_file: @D@/absent: No such file or "
	    "directory");
	EXPECT("cyclecloud:\n  url: https://h\n  cluster: c\n  username: u\n"
	    "  password_file: @D@\n",
	    "t.yaml:5: cyclecloud.password_file: @D@ is not a regular file");
	write_mode("pw", PASSWORD, 0640);
	EXPECT(MINIMAL,
	    "t.yaml:5: cyclecloud.password_file: @D@/pw has mode 0640: it "
	    "must not be readable or writable by group or others (chmod 600 "
	    "@D@/pw)");
	write_mode("pw", PASSWORD, 0604);
	EXPECT(MINIMAL,
	    "t.yaml:5: cyclecloud.password_file: @D@/pw has mode 0604: it "
	    "must not be readable or writable by group or others (chmod 600 "
	    "@D@/pw)");
	write_mode("pw", "", 0600);
	EXPECT(MINIMAL, "t.yaml:5: cyclecloud.password_file: @D@/pw is empty");
}
END_TEST

/* Tools that read only paths (ccslurmctl generate) skip the secret. */
START_TEST(no_secret_flag)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c = NULL;
	char *path = subst("@D@/c.yaml"), *text;

	write_mode("pw", PASSWORD, 0644);	/* would be refused */
	text = subst(MINIMAL);
	write_mode("c.yaml", text, 0644);
	ck_assert_int_eq(conf_load(path, &c, &errs), -1);
	ck_assert_ptr_null(c);
	conf_errors_free(&errs);
	ck_assert_int_eq(conf_load_flags(path, CONF_LOAD_NO_SECRET, &c, &errs),
	    0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->slurm.config_dir, "/sched");
	conf_free(c);
	/* Everything else is still checked. */
	write_mode("c.yaml", "slurm:\n  bogus: 1\n", 0644);
	ck_assert_int_eq(conf_load_flags(path, CONF_LOAD_NO_SECRET, &c, &errs),
	    -1);
	ck_assert_uint_ge(errs.n, 1);
	conf_errors_free(&errs);
}
END_TEST

START_TEST(err_password_owner)
{
	char *path = subst("@D@/pw"), *want;

	if (geteuid() != 0)
		return;	/* only root can give a file away */
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	want = xprintf("t.yaml:5: cyclecloud.password_file: @D@/pw is owned "
	    "by uid 65534, not by uid %lu that ccslurmd runs as",
	    (unsigned long)geteuid());
	expect_errors(MINIMAL, (const char *const *)&want, 1);
	free(want);
}
END_TEST

/* The password file changed after load: checked again when read. */
START_TEST(err_password_read)
{
	struct conf *c = load_ok(MINIMAL);
	char *pw = (char *)1, *cause = NULL, *path = subst("@D@/pw");

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(cause, subst("@D@/pw has mode 0644: it must not be "
	    "readable or writable by group or others (chmod 600 @D@/pw)"));
	ck_assert_ptr_null(strstr(cause, PASSWORD));
	free(cause);

	write_mode("pw", "\n", 0600);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_str_eq(cause, subst("@D@/pw is empty"));
	free(cause);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_str_eq(cause, subst("@D@/pw: No such file or directory"));
	free(cause);

	/* A NUL inside: the password would be cut short, so refuse it. */
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

		ck_assert_int_ne(fd, -1);
		ck_assert_int_eq(write(fd, "ab\0cd", 5), 5);
		close(fd);
	}
	ck_assert_int_eq(conf_read_password(c, &pw, &cause), -1);
	ck_assert_str_eq(cause, subst("@D@/pw contains a NUL byte"));
	free(cause);
	conf_free(c);
}
END_TEST

START_TEST(err_unreadable_file)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c = (struct conf *)1;
	char *path = subst("@D@/nope.yaml");

	ck_assert_int_eq(conf_load(path, &c, &errs), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.v[0].text,
	    subst("@D@/nope.yaml: No such file or directory"));
	conf_errors_free(&errs);
}
END_TEST

/* Many problems in one file: all of them, each at its line, in order. */
START_TEST(err_all_reported)
{
	EXPECT("cyclecloud:\n"
	    "  url: cyclecloud.example.com\n"
	    "  username: api\n"
	    "  password_file: @D@/missing\n"
	    "  verify_tls: maybe\n"
	    "daemon:\n"
	    "  poll_interval: soon\n"
	    "  shutdown: halt\n"
	    "  allowed_users: [nosuchuser-xyz]\n"
	    "  batch_window: 1s\n"
	    "  batch_window: 2s\n"
	    "log:\n"
	    "  level: chatty\n"
	    "  colour: red\n",
	    "t.yaml:1: missing required key \"cyclecloud.cluster\"",
	    "t.yaml:2: cyclecloud.url: expected a URL starting with http:// "
	    "or https://, not \"cyclecloud.example.com\"",
	    "t.yaml:4: cyclecloud.password_file: @D@/missing: No such file or "
	    "directory",
	    "t.yaml:5: cyclecloud.verify_tls: expected true or false, not "
	    "\"maybe\"",
	    "t.yaml:7: daemon.poll_interval: bad duration \"soon\" (seconds, "
	    "or a number with ms, s, m or h)",
	    "t.yaml:8: daemon.shutdown: unknown value \"halt\" (policy, "
	    "terminate or deallocate)",
	    "t.yaml:9: daemon.allowed_users: unknown user \"nosuchuser-xyz\"",
	    "t.yaml:11: duplicate key \"daemon.batch_window\" (first at line "
	    "10)",
	    "t.yaml:13: log.level: unknown value \"chatty\" (error, warning, "
	    "info or debug)",
	    "t.yaml:14: unknown key \"log.colour\" (allowed under log: level)");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_defaults);
	tcase_add_test(tc, full);
	tcase_add_test(tc, nulls_and_empty_sections);
	tcase_add_test(tc, example_config);
	tcase_add_test(tc, check_print);
	tcase_add_test(tc, password_from_file);
	tcase_add_test(tc, credential_precedence);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, ha_keys);
	tcase_add_test(tc, password_lengths);
	tcase_add_test(tc, many_errors);
	tcase_add_test(tc, file_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, err_unknown_keys);
	tcase_add_test(tc, err_types);
	tcase_add_test(tc, err_values);
	tcase_add_test(tc, err_missing);
	tcase_add_test(tc, err_duplicates);
	tcase_add_test(tc, err_syntax);
	tcase_add_test(tc, err_line_breaks);
	tcase_add_test(tc, err_users);
	tcase_add_test(tc, err_password_file);
	tcase_add_test(tc, no_secret_flag);
	tcase_add_test(tc, err_password_owner);
	tcase_add_test(tc, err_password_read);
	tcase_add_test(tc, err_unreadable_file);
	tcase_add_test(tc, err_all_reported);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(config_suite());
}
