/*
 * metrics.c: every counter and gauge of the daemon in the Prometheus text
 * exposition format (version 0.0.4), and the optional local HTTP listener
 * (`metrics.listen`, off by default) that serves it at GET /metrics.
 *
 * Nothing is counted here: the numbers live with their owners (the
 * CycleCloud client, the engine, the node table, the control socket) and
 * are read when the text is asked for.  docs/metrics.md lists them all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ccslurmd.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

static struct evhttp *metrics_http;

static const char *const action_names[] = {
    [ACT_RESUME] = "resume",
    [ACT_SUSPEND] = "suspend",
    [ACT_RESUMEFAIL] = "resumefail",
};

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void
u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void
metrics_cc(FILE *f)
{
	struct cc_client *cc = engine_cc();
	const struct cc_endpoint_stats *ep;
	struct cc_stats st;
	int e, o, b;

	memset(&st, 0, sizeof(st));
	if (cc != NULL)
		cc_get_stats(cc, &st);

	head(f, "ccslurmd_cc_api_calls_total", "counter",
	    "CycleCloud API calls finished, by endpoint and outcome.");
	for (e = 0; e < CC_EP_COUNT; e++) {
		for (o = 0; o < CC_ERR_COUNT; o++)
			fprintf(f,
			    "ccslurmd_cc_api_calls_total{endpoint=\"%s\","
			    "outcome=\"%s\"} %llu\n",
			    cc_endpoint_name(e), cc_err_name(o),
			    (unsigned long long)st.ep[e].calls[o]);
	}
	head(f, "ccslurmd_cc_api_attempts_total", "counter",
	    "HTTP attempts sent to CycleCloud, by endpoint.");
	for (e = 0; e < CC_EP_COUNT; e++)
		fprintf(f,
		    "ccslurmd_cc_api_attempts_total{endpoint=\"%s\"} "
		    "%llu\n",
		    cc_endpoint_name(e), (unsigned long long)st.ep[e].attempts);
	head(f, "ccslurmd_cc_api_retries_total", "counter",
	    "HTTP attempts after the first of a call, by endpoint.");
	for (e = 0; e < CC_EP_COUNT; e++)
		fprintf(f,
		    "ccslurmd_cc_api_retries_total{endpoint=\"%s\"} "
		    "%llu\n",
		    cc_endpoint_name(e), (unsigned long long)st.ep[e].retries);
	head(f, "ccslurmd_cc_api_throttled_total", "counter",
	    "HTTP 429 answers from CycleCloud, by endpoint.");
	for (e = 0; e < CC_EP_COUNT; e++)
		fprintf(f,
		    "ccslurmd_cc_api_throttled_total{endpoint=\"%s\"} "
		    "%llu\n",
		    cc_endpoint_name(e),
		    (unsigned long long)st.ep[e].throttled);
	head(f, "ccslurmd_cc_api_throttle_waits_total", "counter",
	    "Attempts held back by the shared rate limiter.");
	u64(f, "ccslurmd_cc_api_throttle_waits_total", st.throttle_waits);

	head(f, "ccslurmd_cc_api_latency_seconds", "histogram",
	    "Latency of one HTTP attempt to CycleCloud, by endpoint.");
	for (e = 0; e < CC_EP_COUNT; e++) {
		ep = &st.ep[e];
		for (b = 0; b < CC_LATENCY_NBUCKETS; b++)
			fprintf(f,
			    "ccslurmd_cc_api_latency_seconds_bucket{"
			    "endpoint=\"%s\",le=\"%g\"} %llu\n",
			    cc_endpoint_name(e), cc_latency_bounds[b],
			    (unsigned long long)ep->latency_bucket[b]);
		fprintf(f,
		    "ccslurmd_cc_api_latency_seconds_bucket{"
		    "endpoint=\"%s\",le=\"+Inf\"} %llu\n",
		    cc_endpoint_name(e), (unsigned long long)ep->latency_count);
		fprintf(f,
		    "ccslurmd_cc_api_latency_seconds_sum{"
		    "endpoint=\"%s\"} %.6f\n",
		    cc_endpoint_name(e), ep->latency_sum);
		fprintf(f,
		    "ccslurmd_cc_api_latency_seconds_count{"
		    "endpoint=\"%s\"} %llu\n",
		    cc_endpoint_name(e), (unsigned long long)ep->latency_count);
	}
	head(f, "ccslurmd_cc_api_pending", "gauge",
	    "CycleCloud calls in flight or waiting for a retry.");
	u64(f, "ccslurmd_cc_api_pending", st.pending);
	head(f, "ccslurmd_cc_last_success_timestamp_seconds", "gauge",
	    "When a CycleCloud call last succeeded (0: never).");
	u64(f, "ccslurmd_cc_last_success_timestamp_seconds",
	    st.last_success_ms / 1000);
	head(f, "ccslurmd_cc_last_error_timestamp_seconds", "gauge",
	    "When a CycleCloud call last failed (0: never).");
	u64(f, "ccslurmd_cc_last_error_timestamp_seconds",
	    st.last_error_ms / 1000);
}

static void
metrics_nodes(FILE *f, const struct engine_counts *ec)
{
	size_t i;
	int s, b;

	head(f, "ccslurmd_nodes", "gauge", "Nodes in the table, by state.");
	for (s = 0; s < NS_COUNT; s++)
		fprintf(f, "ccslurmd_nodes{state=\"%s\"} %zu\n",
		    node_state_name(s), nodes.count[s]);

	head(f, "ccslurmd_resume_to_ready_seconds", "histogram",
	    "From a resume accepted to the node ready and Slurm told.");
	for (b = 0; b < ENGINE_READY_NBUCKETS; b++)
		fprintf(f,
		    "ccslurmd_resume_to_ready_seconds_bucket{le=\"%g\"} "
		    "%llu\n",
		    engine_ready_bounds[b],
		    (unsigned long long)ec->resume_to_ready_bucket[b]);
	fprintf(f,
	    "ccslurmd_resume_to_ready_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n",
	    (unsigned long long)ec->resume_to_ready_count);
	fprintf(f, "ccslurmd_resume_to_ready_seconds_sum %.3f\n",
	    ec->resume_to_ready_sum);
	u64(f, "ccslurmd_resume_to_ready_seconds_count",
	    ec->resume_to_ready_count);

	head(f, "ccslurmd_node_failures_total", "counter",
	    "Node start failures, by nodearray.");
	for (i = 0; i < nodes.narrays; i++) {
		fputs("ccslurmd_node_failures_total{nodearray=\"", f);
		label(f, nodes.arrays[i].desc.name);
		fprintf(f, "\"} %llu\n",
		    (unsigned long long)nodes.arrays[i].failures);
	}
	head(f, "ccslurmd_node_failures_by_reason_total", "counter",
	    "Node start failures, by reason.");
	for (s = 0; s < FAIL_COUNT; s++)
		fprintf(f,
		    "ccslurmd_node_failures_by_reason_total{"
		    "reason=\"%s\"} %llu\n",
		    engine_fail_name(s),
		    (unsigned long long)ec->failures_by_reason[s]);
}

static void
metrics_requests(FILE *f, const struct engine_counts *ec)
{
	const struct control_stats *cs = control_stats();
	const struct req_handler *h;
	size_t i;

	head(f, "ccslurmd_requests_total", "counter",
	    "Node requests accepted (shims, ccslurmctl, spool), by action.");
	for (i = 0; i < nitems(action_names); i++)
		fprintf(f, "ccslurmd_requests_total{action=\"%s\"} %llu\n",
		    action_names[i], (unsigned long long)ec->requests[i]);
	head(f, "ccslurmd_requests_refused_total", "counter",
	    "Node requests refused by the engine (bad hostlist, unknown "
	    "node, ...).");
	u64(f, "ccslurmd_requests_refused_total", ec->requests_refused);
	head(f, "ccslurmd_requests_duplicate_total", "counter",
	    "Node requests whose id was already taken (dropped).");
	u64(f, "ccslurmd_requests_duplicate_total", ec->requests_duplicate);
	head(f, "ccslurmd_requests_spooled_total", "counter",
	    "Node requests taken from the spool directory.");
	u64(f, "ccslurmd_requests_spooled_total", ec->spooled_taken);

	head(f, "ccslurmd_control_requests_total", "counter",
	    "Requests received on the control socket, by type.");
	for (h = req_handlers, i = 0; h->type != 0; h++, i++) {
		if (i >= nitems(cs->handled))
			break;
		fprintf(f,
		    "ccslurmd_control_requests_total{type=\"%s\"} "
		    "%llu\n",
		    proto_type_name(h->type),
		    (unsigned long long)cs->handled[i]);
	}
	head(f, "ccslurmd_control_connections_total", "counter",
	    "Connections accepted on the control socket.");
	u64(f, "ccslurmd_control_connections_total", cs->connections);
	head(f, "ccslurmd_control_refused_total", "counter",
	    "Control connections or requests refused, by reason.");
	fprintf(f,
	    "ccslurmd_control_refused_total{reason=\"permission\"} "
	    "%llu\n",
	    (unsigned long long)cs->refused_perm);
	fprintf(f, "ccslurmd_control_refused_total{reason=\"busy\"} %llu\n",
	    (unsigned long long)cs->refused_busy);
	fprintf(f,
	    "ccslurmd_control_refused_total{reason=\"bad_frame\"} "
	    "%llu\n",
	    (unsigned long long)cs->bad_frames);
	fprintf(f,
	    "ccslurmd_control_refused_total{reason=\"timeout\"} "
	    "%llu\n",
	    (unsigned long long)cs->timeouts);
	head(f, "ccslurmd_control_peers", "gauge",
	    "Clients connected to the control socket now.");
	u64(f, "ccslurmd_control_peers", control_npeers());
}

/* Returns the text; the caller frees it. */
char *
metrics_text(void)
{
	const struct engine_counts *ec = engine_counts();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("metrics: open_memstream");

	head(f, "ccslurmd_build_info", "gauge",
	    "Always 1; the version of the running daemon.");
	fprintf(f, "ccslurmd_build_info{version=\"%s\",protocol=\"%d\"} 1\n",
	    CCSLURMD_VERSION, PROTO_VERSION);
	head(f, "ccslurmd_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	u64(f, "ccslurmd_uptime_seconds",
	    (now_mono_ms() - ccsd.start_mono_ms) / 1000);
	head(f, "ccslurmd_start_time_seconds", "gauge",
	    "Unix time the daemon started.");
	u64(f, "ccslurmd_start_time_seconds", ccsd.start_wall_ms / 1000);

	head(f, "ccslurmd_ha_active", "gauge",
	    "1 when this daemon acts (always without daemon.ha), 0 when it "
	    "is passive.");
	u64(f, "ccslurmd_ha_active", ha_active() ? 1 : 0);

	metrics_cc(f);
	metrics_nodes(f, ec);
	metrics_requests(f, ec);

	head(f, "ccslurmd_requests_queued", "gauge",
	    "Node requests waiting for the batch window.");
	u64(f, "ccslurmd_requests_queued", engine_queued());
	head(f, "ccslurmd_operations_in_flight", "gauge",
	    "CycleCloud operations being polled.");
	u64(f, "ccslurmd_operations_in_flight", engine_ops_in_flight());
	head(f, "ccslurmd_spool_depth", "gauge",
	    "Request files waiting in the spool directory.");
	u64(f, "ccslurmd_spool_depth", engine_spool_depth());
	head(f, "ccslurmd_scontrol_calls_total", "counter",
	    "scontrol runs started.");
	u64(f, "ccslurmd_scontrol_calls_total", ec->scontrol_calls);
	head(f, "ccslurmd_scontrol_failures_total", "counter",
	    "scontrol runs that failed, timed out or could not start.");
	u64(f, "ccslurmd_scontrol_failures_total", ec->scontrol_failures);
	head(f, "ccslurmd_scontrol_running", "gauge",
	    "scontrol children running now.");
	u64(f, "ccslurmd_scontrol_running", scontrol_running());
	head(f, "ccslurmd_sweeps_total", "counter",
	    "Full cluster sweeps (status with nodes) done.");
	u64(f, "ccslurmd_sweeps_total", ec->sweeps);

	if (fclose(f) != 0)
		fatal("metrics: fclose");
	return buf;
}

/* ---- The HTTP listener -------------------------------------------------- */

static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out;
	char *text;

	if (!(evhttp_request_get_command(req) &
	        (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	text = metrics_text();
	out = evbuffer_new();
	evbuffer_add(out, text, strlen(text));
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
metrics_http_other(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, 404, "only /metrics");
}

int
metrics_listen_start(const struct conf *conf, char **cause)
{
	if (conf->metrics.host == NULL || conf->metrics.port == 0)
		return 0;
	if ((metrics_http = evhttp_new(ccsd.base)) == NULL) {
		*cause = xprintf("evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(
	    metrics_http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	/* Bounded: a scraper's request is small, and idle ones go. */
	evhttp_set_max_headers_size(metrics_http, 8192);
	evhttp_set_max_body_size(metrics_http, 0);
	evhttp_set_timeout(metrics_http, 10);
	evhttp_set_cb(metrics_http, "/metrics", metrics_http_cb, NULL);
	evhttp_set_gencb(metrics_http, metrics_http_other, NULL);
	if (evhttp_bind_socket(
	        metrics_http, conf->metrics.host, conf->metrics.port) == -1) {
		*cause = xprintf(
		    "cannot listen on %s", log_esc(conf->metrics.listen));
		evhttp_free(metrics_http);
		metrics_http = NULL;
		return -1;
	}
	log_info("metrics: serving http://%s/metrics",
	    log_esc(conf->metrics.listen));
	return 0;
}

void
metrics_listen_stop(void)
{
	if (metrics_http != NULL) {
		evhttp_free(metrics_http);
		metrics_http = NULL;
	}
}
