/*
 * test_cc.c: the CycleCloud REST client (common/cc.c) against the fake
 * CycleCloud (tests/fake/fakecc.py) over real HTTPS with a test CA.
 *
 * Each test starts its own fake on 127.0.0.1 (a port it picks, written to a
 * port file we wait for with inotify), drives one client on a libevent loop,
 * and asks the fake's control API (/__fake/counters, /__fake/log) what
 * really reached it.  The TLS material is made once by mkcerts.sh.
 */
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "cc.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define PASSWORD	"s3cret-Pa55word!"
#define FAKE_START_MS	15000

static char	 tmpdir[64];	/* certs and fakes' files */
static const char *srcdir;

struct fake {
	pid_t		 pid;
	int		 port;
	char		 dir[128];
	char		 url[64];
};

/* ---- The fake ------------------------------------------------------------ */

static int
port_file_wait(const char *dir, const char *path, pid_t pid)
{
	struct pollfd pfd;
	char buf[4096], *s;
	size_t len;
	uint64_t end = now_mono_ms() + FAKE_START_MS;
	int fd, port, status;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(inotify_add_watch(fd, dir, IN_MOVED_TO |
	    IN_CLOSE_WRITE), 0);
	for (;;) {
		if (read_file(path, 64, &s, &len) == 0) {
			port = atoi(s);
			free(s);
			if (port > 0) {
				close(fd);
				return port;
			}
		}
		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
		    "the fake exited at start (see %s/fake.log)", dir);
		ck_assert_msg(now_mono_ms() < end, "the fake did not start");
		pfd.fd = fd;
		pfd.events = POLLIN;
		/* Wake on the rename, or now and then to see the child. */
		if (poll(&pfd, 1, 200) > 0)
			while (read(fd, buf, sizeof(buf)) > 0)
				;
	}
}

static void
fake_start(struct fake *f, const char *cert, const char *key)
{
	char script[PATH_MAX], arrays[PATH_MAX], pwfile[PATH_MAX];
	char portfile[PATH_MAX], logfile[PATH_MAX], certp[PATH_MAX];
	char keyp[PATH_MAX];
	int fd;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/fake-XXXXXX", tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(script, sizeof(script), "%s/tests/fake/fakecc.py", srcdir);
	snprintf(arrays, sizeof(arrays), "%s/tests/fake/arrays-default.json",
	    srcdir);
	snprintf(pwfile, sizeof(pwfile), "%s/password", f->dir);
	snprintf(portfile, sizeof(portfile), "%s/port", f->dir);
	snprintf(logfile, sizeof(logfile), "%s/fake.log", f->dir);
	snprintf(certp, sizeof(certp), "%s/%s", tmpdir, cert);
	snprintf(keyp, sizeof(keyp), "%s/%s", tmpdir, key);
	ck_assert_int_eq(write_file_atomic(pwfile, PASSWORD, strlen(PASSWORD),
	    0600), 0);

	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0) {
		/* The fake dies with us even when a failed check exits. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl("/usr/bin/python3", "python3", script, "--listen",
		    "127.0.0.1:0", "--port-file", portfile, "--cluster",
		    "burst", "--username", "ccslurmd-api", "--password-file",
		    pwfile, "--nodearrays", arrays, "--tls-cert", certp,
		    "--tls-key", keyp, "--stop-delay", "30", (char *)NULL);
		_exit(127);
	}
	f->port = port_file_wait(f->dir, portfile, f->pid);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d", f->port);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
fake_stop(struct fake *f)
{
	int status;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &status, 0);
	f->pid = 0;
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t
ctl_write(char *p, size_t size, size_t n, void *arg)
{
	char **buf = arg;
	size_t old = *buf != NULL ? strlen(*buf) : 0;

	*buf = xreallocarray(*buf, old + size * n + 1, 1);
	memcpy(*buf + old, p, size * n);
	(*buf)[old + size * n] = '\0';
	return size * n;
}

/* The fake's control API (blocking is fine in a test); returns parsed JSON. */
static struct json_object *
ctl(struct fake *f, const char *path, const char *post)
{
	char url[256], ca[PATH_MAX], *buf = NULL;
	struct json_object *o;
	long status = 0;
	CURL *e;

	snprintf(url, sizeof(url), "%s/__fake/%s", f->url, path);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
	e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ctl_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
	if (post != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	ck_assert_int_eq(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	ck_assert_msg(status == 200, "fake %s: %ld %s", path, status, buf);
	o = json_tokener_parse(buf);
	ck_assert_ptr_nonnull(o);
	free(buf);
	return o;
}

static int64_t
counter(struct fake *f, const char *group, const char *key)
{
	struct json_object *o = ctl(f, "counters", NULL), *g, *v;
	int64_t n = 0;

	if (json_object_object_get_ex(o, group, &g)) {
		if (key == NULL)
			n = json_object_get_int64(g);
		else if (json_object_object_get_ex(g, key, &v))
			n = json_object_get_int64(v);
	}
	json_object_put(o);
	return n;
}

/* Times (fake's clock) of the requests whose path starts with prefix. */
static size_t
request_times(struct fake *f, const char *prefix, double *t, size_t max)
{
	struct json_object *o = ctl(f, "log", NULL), *reqs, *r, *v;
	size_t i, n = 0;

	ck_assert(json_object_object_get_ex(o, "requests", &reqs));
	for (i = 0; i < json_object_array_length(reqs) && n < max; i++) {
		r = json_object_array_get_idx(reqs, i);
		json_object_object_get_ex(r, "path", &v);
		if (strncmp(json_object_get_string(v), prefix,
		    strlen(prefix)) != 0)
			continue;
		json_object_object_get_ex(r, "time", &v);
		t[n++] = json_object_get_double(v);
	}
	json_object_put(o);
	return n;
}

/* ---- The client ---------------------------------------------------------- */

struct got {
	int		 done;
	enum cc_err	 err;
	long		 status;
	unsigned	 attempts;
	int		 recovered;
	char		*msg;
	void		*data;
};

static int	ndone;

static void
got_cb(const struct cc_result *res, void *data, void *arg)
{
	struct got *g = arg;

	ck_assert_int_eq(g->done, 0);
	g->done = 1;
	g->err = res->err;
	g->status = res->http_status;
	g->attempts = res->attempts;
	g->recovered = res->recovered;
	g->msg = res->message != NULL ? xstrdup(res->message) : NULL;
	g->data = data;
	ck_assert((res->err == CC_OK) == (data != NULL));
	ck_assert((res->err == CC_OK) == (res->message == NULL));
	ndone++;
}

static void
got_clear(struct got *g)
{
	free(g->msg);
	memset(g, 0, sizeof(*g));
}

static struct event_base *base;

static void
settings(struct cc_settings *s, struct fake *f, const char *ca)
{
	static char cap[PATH_MAX];

	cc_settings_defaults(s);
	snprintf(cap, sizeof(cap), "%s/%s", tmpdir, ca);
	s->url = f->url;
	s->cluster = "burst";
	s->username = "ccslurmd-api";
	s->password = PASSWORD;
	s->ca_file = cap;
	s->backoff_base_ms = 50;
	s->backoff_max_ms = 200;
	s->timeout_ms = 10000;
}

static struct cc_client *
client(struct cc_settings *s)
{
	struct cc_client *cc;
	char *cause = NULL;

	cc = cc_client_new(base, s, &cause);
	ck_assert_msg(cc != NULL, "cc_client_new: %s", cause);
	return cc;
}

/* Run the loop until n callbacks came (a test's timeout bounds it). */
static void
run_until(int n)
{
	while (ndone < n)
		ck_assert_int_ne(event_base_loop(base, EVLOOP_ONCE), -1);
}

static void
setup(void)
{
	base = event_base_new();
	ndone = 0;
}

static void
teardown(void)
{
	event_base_free(base);
}

/* ---- core: every endpoint ------------------------------------------------ */

START_TEST(endpoints)
{
	struct cc_create_set set = { .nodearray = "hpc", .count = 2,
	    .machine_type = "Standard_HB120rs_v3", .name_format = "hpc-pg0-%d",
	    .name_offset = 1, .placement_group_id =
	    "hpc-Standard_HB120rs_v3-pg0", .fixed = -1,
	    .start_automatically = -1 };
	struct cc_create_request req = { "req-create-1", &set, 1 };
	const char *login[] = { "login-1" }, *hpc1[] = { "hpc-pg0-1" };
	const char *hpc2[] = { "hpc-pg0-2" };
	struct cc_cluster_status *cs;
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	struct cc_node_list *nl;
	struct cc_operation *op;
	struct cc_nodearray *na = NULL;
	struct cc_settings s;
	struct cc_client *cc;
	struct cc_stats st;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL, opid[64];
	size_t i;

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "ca.pem");
	cc = client(&s);

	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	ck_assert_int_eq(g.done, 0);	/* never from inside the call */
	run_until(1);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cs = g.data;
	ck_assert_int_eq(cs->has_nodes, 0);
	ck_assert_uint_eq(cs->nnodearrays, 4);
	for (i = 0; i < cs->nnodearrays; i++)
		if (strcmp(cs->nodearrays[i].name, "hpc") == 0)
			na = &cs->nodearrays[i];
	ck_assert_ptr_nonnull(na);
	ck_assert_str_eq(na->machine_type, "Standard_HB120rs_v3");
	ck_assert_str_eq(na->partition, "hpc");
	ck_assert_int_eq(na->autoscale, 1);
	ck_assert_int_eq(na->default_partition, 1);
	ck_assert_int_eq(na->max_scaleset_size, 8);
	ck_assert_uint_eq(na->nbuckets, 1);
	ck_assert_int_eq(na->buckets[0].max_count, 16);
	ck_assert_int_eq(na->buckets[0].vm.vcpu_count, 120);
	ck_assert_int_eq(na->buckets[0].vm.infiniband, 1);
	cc_cluster_status_free(cs);
	got_clear(&g);

	ck_assert_int_eq(cc_create(cc, &req, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cr = g.data;
	ck_assert_ptr_nonnull(cr->operation_id);
	ck_assert_uint_eq(cr->nsets, 1);
	ck_assert_int_eq(cr->sets[0].added, 2);
	snprintf(opid, sizeof(opid), "%s", cr->operation_id);
	cc_create_result_free(cr);
	got_clear(&g);
	ck_assert_int_eq(counter(&f, "node_creates", "hpc-pg0-1"), 1);
	ck_assert_int_eq(counter(&f, "node_creates", "hpc-pg0-2"), 1);

	ck_assert_int_eq(cc_list_nodes(cc, opid, NULL, got_cb, &g, &cause), 0);
	run_until(3);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	nl = g.data;
	ck_assert_uint_eq(nl->nnodes, 2);
	ck_assert_ptr_nonnull(nl->operation);
	ck_assert_str_eq(nl->operation->action, "create");
	ck_assert_str_eq(nl->nodes[0].template_name, "hpc");
	ck_assert_str_eq(nl->nodes[0].request_id, "req-create-1");
	ck_assert_str_eq(nl->nodes[0].placement_group_id,
	    "hpc-Standard_HB120rs_v3-pg0");
	cc_node_list_free(nl);
	got_clear(&g);

	ck_assert_int_eq(cc_list_nodes(cc, NULL, "req-create-1", got_cb, &g,
	    &cause), 0);
	run_until(4);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	nl = g.data;
	ck_assert_uint_eq(nl->nnodes, 2);
	cc_node_list_free(nl);
	got_clear(&g);

	ck_assert_int_eq(cc_get_operation(cc, opid, got_cb, &g, &cause), 0);
	run_until(5);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	op = g.data;
	ck_assert_str_eq(op->action, "create");
	ck_assert_ptr_nonnull(op->start_time);
	cc_operation_free(op);
	got_clear(&g);

	ck_assert_int_eq(cc_get_operation(cc, "no-such-op", got_cb, &g,
	    &cause), 0);
	run_until(6);
	ck_assert_int_eq(g.err, CC_ERR_NOTFOUND);
	ck_assert_int_eq(g.status, 404);
	ck_assert_int_eq(g.attempts, 1);
	ck_assert_ptr_nonnull(strstr(g.msg, "unknown operation no-such-op"));
	got_clear(&g);

	/* The precreated login-1 is Off: start boots it. */
	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_START, "req-start-1",
	    login, 1, got_cb, &g, &cause), 0);
	run_until(7);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ar = g.data;
	ck_assert_ptr_nonnull(ar->operation_id);
	ck_assert_uint_eq(ar->nnodes, 1);
	ck_assert_str_eq(ar->nodes[0].name, "login-1");
	ck_assert_int_eq(ar->nodes[0].ok, 1);
	cc_action_result_free(ar);
	got_clear(&g);
	ck_assert_int_eq(counter(&f, "node_starts", "login-1"), 1);

	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_SHUTDOWN, NULL, login, 1,
	    got_cb, &g, &cause), 0);
	run_until(8);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cc_action_result_free(g.data);
	got_clear(&g);

	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_DEALLOCATE, NULL, hpc1,
	    1, got_cb, &g, &cause), 0);
	run_until(9);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ar = g.data;
	ck_assert_int_eq(ar->nodes[0].ok, 1);
	cc_action_result_free(ar);
	got_clear(&g);

	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_TERMINATE, NULL, hpc2,
	    1, got_cb, &g, &cause), 0);
	run_until(10);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cc_action_result_free(g.data);
	got_clear(&g);

	/* login-1 is Terminating (stop delay 30 s): remove refuses it. */
	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_REMOVE, NULL, login, 1,
	    got_cb, &g, &cause), 0);
	run_until(11);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ar = g.data;
	ck_assert_int_eq(ar->nodes[0].ok, 0);
	ck_assert_ptr_nonnull(strstr(ar->nodes[0].error, "terminated"));
	cc_action_result_free(ar);
	got_clear(&g);

	ck_assert_int_eq(cc_get_status(cc, 1, got_cb, &g, &cause), 0);
	run_until(12);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cs = g.data;
	ck_assert_int_eq(cs->has_nodes, 1);
	ck_assert_uint_ge(cs->nnodes, 3);
	for (i = 0; i < cs->nnodes; i++)
		if (strcmp(cs->nodes[i].name, "login-1") == 0)
			ck_assert_str_eq(cs->nodes[i].status, "Terminating");
	cc_cluster_status_free(cs);
	got_clear(&g);

	/* Each endpoint was counted once per call, by outcome. */
	cc_get_stats(cc, &st);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].calls[CC_OK], 2);
	ck_assert_uint_eq(st.ep[CC_EP_CREATE].calls[CC_OK], 1);
	ck_assert_uint_eq(st.ep[CC_EP_NODES].calls[CC_OK], 2);
	ck_assert_uint_eq(st.ep[CC_EP_OPERATION].calls[CC_OK], 1);
	ck_assert_uint_eq(st.ep[CC_EP_OPERATION].calls[CC_ERR_NOTFOUND], 1);
	ck_assert_uint_eq(st.ep[CC_EP_REMOVE].calls[CC_OK], 1);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].latency_count, 2);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].latency_bucket[
	    CC_LATENCY_NBUCKETS - 1], 2);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_int_eq(counter(&f, "requests", "total"), 12);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(capacity_and_conflict)
{
	struct cc_create_set set = { .nodearray = "htc", .count = 3,
	    .name_offset = -1, .fixed = -1, .start_automatically = -1 };
	struct cc_create_request req = { "req-cap", &set, 1 };
	struct cc_create_result *cr;
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	json_object_put(ctl(&f, "faults", "{\"kind\":\"capacity\","
	    "\"nodearray\":\"htc\",\"count\":2,\"message\":\"no F2s today\"}"));
	settings(&s, &f, "ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_create(cc, &req, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cr = g.data;
	ck_assert_int_eq(cr->sets[0].added, 1);
	ck_assert_ptr_nonnull(strstr(cr->sets[0].message, "no F2s today"));
	cc_create_result_free(cr);
	got_clear(&g);

	/* A 409 that is not ours: no such nodearray; the look-up finds no
	 * operation for this requestId, so it stays a conflict. */
	set.nodearray = "nosucharray";
	req.request_id = "req-bad";
	ck_assert_int_eq(cc_create(cc, &req, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_int_eq(g.err, CC_ERR_CONFLICT);
	ck_assert_int_eq(g.attempts, 2);	/* the POST and the look-up */
	ck_assert_ptr_nonnull(strstr(g.msg, "HTTP 409"));
	ck_assert_ptr_nonnull(strstr(g.msg, "nosucharray"));
	ck_assert_int_eq(counter(&f, "requests", "create"), 2);
	ck_assert_int_eq(counter(&f, "requests", "nodes"), 1);
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(bad_input)
{
	const char *names[] = { "a" };
	struct cc_settings s;
	struct cc_client *cc;
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "ca.pem");
	s.url = "https://user:pw@127.0.0.1:1";
	ck_assert_ptr_null(cc_client_new(base, &s, &cause));
	ck_assert_ptr_null(strstr(cause, "pw@"));
	ck_assert_ptr_nonnull(strstr(cause, "must not contain"));
	free(cause);
	s.url = "ftp://x";
	ck_assert_ptr_null(cc_client_new(base, &s, &cause));
	free(cause);
	s.url = f.url;
	s.cluster = "";
	ck_assert_ptr_null(cc_client_new(base, &s, &cause));
	ck_assert_str_eq(cause, "cyclecloud cluster: missing");
	free(cause);
	s.cluster = "burst";

	cc = client(&s);
	ck_assert_int_eq(cc_list_nodes(cc, "o", "r", got_cb, NULL, &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_START, "r", names, 0,
	    got_cb, NULL, &cause), -1);
	ck_assert_str_eq(cause, "node action: no node names");
	free(cause);
	ck_assert_int_eq(cc_node_action(cc, (enum cc_action)99, "r", names, 1,
	    got_cb, NULL, &cause), -1);
	free(cause);
	ck_assert_int_eq(cc_get_operation(cc, "", got_cb, NULL, &cause), -1);
	free(cause);
	ck_assert_uint_eq(cc_pending(cc), 0);
	cc_client_free(cc);
	/* Nothing reached the server. */
	ck_assert_int_eq(counter(&f, "requests", "total"), 0);
	ck_assert_int_eq(ndone, 0);
	fake_stop(&f);
}
END_TEST

START_TEST(cancel)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct got g1 = { 0 }, g2 = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	json_object_put(ctl(&f, "faults", "{\"kind\":\"hang\",\"count\":2,"
	    "\"endpoint\":\"status\"}"));
	settings(&s, &f, "ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g1, &cause), 0);
	ck_assert_int_eq(cc_get_status(cc, 1, got_cb, &g2, &cause), 0);
	/* Wait until both reached the server, then cancel. */
	while (counter(&f, "requests", "status") < 2)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(cc_pending(cc), 2);
	cc_cancel_all(cc);
	ck_assert_int_eq(g1.err, CC_ERR_CANCELLED);
	ck_assert_int_eq(g2.err, CC_ERR_CANCELLED);
	ck_assert_uint_eq(cc_pending(cc), 0);
	got_clear(&g1);
	got_clear(&g2);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(sync_status)
{
	struct cc_cluster_status *cs;
	struct cc_settings s;
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "ca.pem");
	ck_assert_int_eq(cc_sync_get_status(&s, 1, &cs, &cause), CC_OK);
	ck_assert_uint_eq(cs->nnodearrays, 4);
	ck_assert_int_eq(cs->has_nodes, 1);
	cc_cluster_status_free(cs);
	settings(&s, &f, "wrong-ca.pem");
	ck_assert_int_eq(cc_sync_get_status(&s, 0, &cs, &cause), CC_ERR_TLS);
	ck_assert_ptr_null(cs);
	ck_assert_ptr_nonnull(strstr(cause, "not trusted"));
	free(cause);
	fake_stop(&f);
}
END_TEST

/* ---- errors: TLS, auth, faults ------------------------------------------- */

START_TEST(tls_wrong_ca)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL, want[PATH_MAX + 64];

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "wrong-ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_int_eq(g.err, CC_ERR_TLS);
	ck_assert_int_eq(g.attempts, 1);	/* not retried */
	snprintf(want, sizeof(want), "TLS certificate of %s not trusted "
	    "(ca_file %s/wrong-ca.pem)", f.url, tmpdir);
	ck_assert_msg(strstr(g.msg, want) != NULL, "message: %s", g.msg);
	got_clear(&g);
	cc_client_free(cc);
	ck_assert_int_eq(counter(&f, "requests", "total"), 0);

	/* verify_tls: false accepts the same server. */
	s.verify_tls = 0;
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cc_cluster_status_free(g.data);
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(tls_expired)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "expired.pem", "expired-key.pem");
	settings(&s, &f, "ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_int_eq(g.err, CC_ERR_TLS);
	ck_assert_int_eq(g.attempts, 1);
	ck_assert_msg(strstr(g.msg, "not trusted") != NULL &&
	    strstr(g.msg, "expired") != NULL, "message: %s", g.msg);
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(wrong_password)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct cc_stats st;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "ca.pem");
	s.password = "not-the-Password-42";
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_int_eq(g.err, CC_ERR_AUTH);
	ck_assert_int_eq(g.status, 401);
	ck_assert_int_eq(g.attempts, 1);
	ck_assert_ptr_nonnull(strstr(g.msg, "HTTP 401"));
	ck_assert_ptr_null(strstr(g.msg, "not-the-Password-42"));
	ck_assert_ptr_null(strstr(g.msg, PASSWORD));
	got_clear(&g);
	/* Exactly one request: no retry storm. */
	ck_assert_int_eq(counter(&f, "requests", "total"), 1);
	ck_assert_int_eq(counter(&f, "requests", "unauthorized"), 1);
	cc_get_stats(cc, &st);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].calls[CC_ERR_AUTH], 1);
	ck_assert_ptr_null(strstr(st.last_error, "not-the-Password-42"));

	/* A reload with the right password fixes it. */
	cc_set_password(cc, PASSWORD);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	cc_cluster_status_free(g.data);
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(throttle_retry_after)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct cc_stats st;
	struct got g1 = { 0 }, g2 = { 0 };
	struct fake f;
	char *cause = NULL;
	double ts[8], tn[8];

	fake_start(&f, "server.pem", "server-key.pem");
	json_object_put(ctl(&f, "faults", "{\"kind\":\"http\",\"status\":429,"
	    "\"retry_after\":2,\"count\":1,\"endpoint\":\"status\"}"));
	settings(&s, &f, "ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g1, &cause), 0);
	/* Once the 429 is in, a second, unrelated call waits as well. */
	do {
		ck_assert_int_ne(event_base_loop(base, EVLOOP_ONCE), -1);
		cc_get_stats(cc, &st);
	} while (st.ep[CC_EP_STATUS].throttled == 0);
	ck_assert_int_eq(cc_list_nodes(cc, NULL, NULL, got_cb, &g2, &cause),
	    0);
	run_until(2);
	ck_assert_msg(g1.err == CC_OK, "%s", g1.msg);
	ck_assert_msg(g2.err == CC_OK, "%s", g2.msg);
	ck_assert_int_eq(g1.attempts, 2);
	ck_assert_int_eq(g2.attempts, 1);
	ck_assert_uint_eq(request_times(&f, "/clusters/burst/status", ts, 8),
	    2);
	ck_assert_uint_eq(request_times(&f, "/clusters/burst/nodes", tn, 8),
	    1);
	/* The fake logs a request when it ends; its 429 took no time. */
	ck_assert_msg(ts[1] - ts[0] >= 2.0, "retried after %.3f s",
	    ts[1] - ts[0]);
	ck_assert_msg(tn[0] - ts[0] >= 2.0, "other call after %.3f s",
	    tn[0] - ts[0]);
	cc_get_stats(cc, &st);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].throttled, 1);
	ck_assert_uint_eq(st.ep[CC_EP_STATUS].retries, 1);
	ck_assert_uint_ge(st.throttle_waits, 1);
	cc_cluster_status_free(g1.data);
	cc_node_list_free(g2.data);
	got_clear(&g1);
	got_clear(&g2);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(server_errors)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	json_object_put(ctl(&f, "faults", "{\"kind\":\"http\",\"status\":503,"
	    "\"count\":2,\"endpoint\":\"status\"}"));
	settings(&s, &f, "ca.pem");
	s.max_attempts = 3;
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ck_assert_int_eq(g.attempts, 3);
	cc_cluster_status_free(g.data);
	got_clear(&g);

	/* More failures than attempts: the last error, with the body. */
	json_object_put(ctl(&f, "faults", "{\"kind\":\"http\",\"status\":500,"
	    "\"count\":5,\"endpoint\":\"operation\"}"));
	ck_assert_int_eq(cc_get_operation(cc, "x", got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_int_eq(g.err, CC_ERR_SERVER);
	ck_assert_int_eq(g.attempts, 3);
	ck_assert_int_eq(g.status, 500);
	ck_assert_msg(strstr(g.msg, "GET /operations/x: HTTP 500: injected "
	    "fault: fault injected by fakecc (gave up after 3 attempts)") !=
	    NULL, "message: %s", g.msg);
	ck_assert_int_eq(counter(&f, "requests", "operation"), 3);
	got_clear(&g);

	/* Other 4xx are not retried. */
	json_object_put(ctl(&f, "clear-faults", ""));
	json_object_put(ctl(&f, "faults", "{\"kind\":\"http\",\"status\":400,"
	    "\"count\":5,\"endpoint\":\"nodes\"}"));
	ck_assert_int_eq(cc_list_nodes(cc, NULL, NULL, got_cb, &g, &cause), 0);
	run_until(3);
	ck_assert_int_eq(g.err, CC_ERR_CLIENT);
	ck_assert_int_eq(g.attempts, 1);
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(drop_and_hang)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;
	uint64_t t0;

	fake_start(&f, "server.pem", "server-key.pem");
	json_object_put(ctl(&f, "faults", "{\"kind\":\"drop\",\"count\":1,"
	    "\"endpoint\":\"status\"}"));
	settings(&s, &f, "ca.pem");
	s.timeout_ms = 700;
	s.max_attempts = 2;
	cc = client(&s);
	ck_assert_int_eq(cc_get_status(cc, 0, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ck_assert_int_eq(g.attempts, 2);
	cc_cluster_status_free(g.data);
	got_clear(&g);

	json_object_put(ctl(&f, "faults", "{\"kind\":\"hang\",\"count\":2,"
	    "\"endpoint\":\"nodes\"}"));
	t0 = now_mono_ms();
	ck_assert_int_eq(cc_list_nodes(cc, NULL, NULL, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_int_eq(g.err, CC_ERR_TIMEOUT);
	ck_assert_int_eq(g.attempts, 2);
	ck_assert_uint_ge(now_mono_ms() - t0, 2 * 700);
	ck_assert_ptr_nonnull(strstr(g.msg, "within 700 ms"));
	got_clear(&g);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

START_TEST(create_answer_lost)
{
	struct cc_create_set set = { .nodearray = "hpc", .count = 3,
	    .name_format = "hpc-pg1-%d", .name_offset = 1,
	    .placement_group_id = "hpc-Standard_HB120rs_v3-pg1", .fixed = -1,
	    .start_automatically = -1 };
	struct cc_create_request req = { "req-lost-1", &set, 1 };
	const char *names[] = { "hpc-pg1-1", "hpc-pg1-2" };
	struct cc_create_result *cr;
	struct cc_action_result *ar;
	struct cc_settings s;
	struct cc_client *cc;
	struct got g = { 0 };
	struct fake f;
	char *cause = NULL;

	fake_start(&f, "server.pem", "server-key.pem");
	/* The server creates the nodes, then the answer is lost. */
	json_object_put(ctl(&f, "faults", "{\"kind\":\"drop\",\"count\":1,"
	    "\"when\":\"after\",\"endpoint\":\"create\"}"));
	settings(&s, &f, "ca.pem");
	cc = client(&s);
	ck_assert_int_eq(cc_create(cc, &req, got_cb, &g, &cause), 0);
	run_until(1);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ck_assert_int_eq(g.recovered, 1);
	ck_assert_int_eq(g.attempts, 3);	/* POST, POST (409), look-up */
	cr = g.data;
	ck_assert_uint_eq(cr->nsets, 0);
	cc_create_result_free(cr);
	got_clear(&g);
	ck_assert_int_eq(counter(&f, "requests", "create"), 2);
	ck_assert_int_eq(counter(&f, "node_creates", "hpc-pg1-1"), 1);
	ck_assert_int_eq(counter(&f, "node_creates", "hpc-pg1-2"), 1);
	ck_assert_int_eq(counter(&f, "node_creates", "hpc-pg1-3"), 1);
	ck_assert_int_eq(counter(&f, "node_starts", "hpc-pg1-1"), 1);

	/* The same for a start whose answer is lost. */
	json_object_put(ctl(&f, "faults", "{\"kind\":\"drop\",\"count\":1,"
	    "\"when\":\"after\",\"endpoint\":\"terminate\"}"));
	ck_assert_int_eq(cc_node_action(cc, CC_ACTION_TERMINATE, "req-term-1",
	    names, 2, got_cb, &g, &cause), 0);
	run_until(2);
	ck_assert_msg(g.err == CC_OK, "%s", g.msg);
	ck_assert_int_eq(g.recovered, 1);
	ar = g.data;
	ck_assert_uint_eq(ar->nnodes, 2);
	ck_assert_int_eq(ar->nodes[0].ok, 1);
	cc_action_result_free(ar);
	got_clear(&g);
	ck_assert_int_eq(counter(&f, "requests", "terminate"), 2);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

/* ---- limits: many requests on few connections ---------------------------- */

#define MANY	1000

START_TEST(many_requests)
{
	struct cc_settings s;
	struct cc_client *cc;
	struct cc_stats st;
	struct got *g;
	struct fake f;
	char *cause = NULL;
	int64_t conns;
	size_t i;

	fake_start(&f, "server.pem", "server-key.pem");
	settings(&s, &f, "ca.pem");
	s.timeout_ms = 120000;	/* queued calls wait for a connection */
	cc = client(&s);
	g = xcalloc(MANY, sizeof(*g));
	for (i = 0; i < MANY; i++) {
		if (i % 2 == 0)
			ck_assert_int_eq(cc_list_nodes(cc, NULL, NULL, got_cb,
			    &g[i], &cause), 0);
		else
			ck_assert_int_eq(cc_get_operation(cc, "nope", got_cb,
			    &g[i], &cause), 0);
	}
	ck_assert_uint_eq(cc_pending(cc), MANY);
	run_until(MANY);
	for (i = 0; i < MANY; i++) {
		if (i % 2 == 0) {
			ck_assert_msg(g[i].err == CC_OK, "%zu: %s", i,
			    g[i].msg);
			cc_node_list_free(g[i].data);
		} else
			ck_assert_int_eq(g[i].err, CC_ERR_NOTFOUND);
		ck_assert_int_eq(g[i].attempts, 1);
		got_clear(&g[i]);
	}
	free(g);
	cc_get_stats(cc, &st);
	ck_assert_uint_eq(st.ep[CC_EP_NODES].latency_count +
	    st.ep[CC_EP_OPERATION].latency_count, MANY);
	ck_assert_int_eq(counter(&f, "requests", "total"), MANY);
	/* The fake counts connections that carried an API request apart
	 * from the control calls': ours are at most max_host_connections. */
	conns = counter(&f, "api_connections", NULL);
	ck_assert_msg(conns >= 1 && conns <= 4, "%lld connections for %d "
	    "requests", (long long)conns, MANY);
	printf("many_requests: %d requests over %lld connections\n", MANY,
	    (long long)conns);
	cc_client_free(cc);
	fake_stop(&f);
}
END_TEST

static Suite *
cc_suite(void)
{
	Suite *s = suite_create("cc");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, endpoints);
	tcase_add_test(tc, capacity_and_conflict);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, cancel);
	tcase_add_test(tc, sync_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tls_wrong_ca);
	tcase_add_test(tc, tls_expired);
	tcase_add_test(tc, wrong_password);
	tcase_add_test(tc, throttle_retry_after);
	tcase_add_test(tc, server_errors);
	tcase_add_test(tc, drop_and_hang);
	tcase_add_test(tc, create_answer_lost);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, many_requests);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char cmd[PATH_MAX * 2];
	SRunner *sr;
	int failed;

	log_init("test_cc", LOG_LVL_WARNING, LOG_TO_STDERR);
	if ((srcdir = getenv("CCS_SOURCE_DIR")) == NULL)
		srcdir = ".";
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ccs-cc-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "sh %s/tests/fake/mkcerts.sh %s >/dev/null",
	    srcdir, tmpdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "mkcerts.sh failed\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sr = srunner_create(cc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
