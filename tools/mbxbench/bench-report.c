/*
 * bench-report.c: what mbxbench(1) prints: a text report (stable "label: value" lines that
 * scripts can match) or one JSON object (RFC 8259; --json). The formats are documented in
 * mbxbench(1), OUTPUT. JSON is written here rather than with mbx/json.h because the figures
 * are fractional (requests per second, the ratio) and that writer has integers only.
 */
#include "mbxbench.h"

#include <math.h>
#include <string.h>

#include "mbx/rhe.h"

static void report_load_line(FILE *f, const struct bench_load *l)
{
	fprintf(f, "mbxbench %s: %u session%s, ", MBX_VERSION, l->concurrency,
	        l->concurrency == 1 ? "" : "s");
	if (l->rate > 0)
		fprintf(f, "open loop at %.6g requests/s, ", l->rate);
	else
		fprintf(f, "closed loop, ");
	fprintf(f, "warmup %.6g s, ", l->warmup);
	if (l->requests > 0)
		fprintf(f, "%llu requests\n", (unsigned long long)l->requests);
	else
		fprintf(f, "duration %.6g s\n", l->duration);
}

static void report_run_text(FILE *f, const struct bench_result *r, const char *what)
{
	const struct bench_hist *h = &r->hist;

	fprintf(f, "%s: %s%s\n", r->name, r->url, what != NULL ? what : "");
	if (r->aborted)
		fprintf(f, "  aborted:     %s\n", r->abort_why);
	fprintf(f, "  requests:    %llu ok, %llu failed in %.3f s\n", (unsigned long long)r->ok,
	        (unsigned long long)r->failed, r->elapsed);
	fprintf(f, "  throughput:  %.1f requests/s\n", r->rps);
	fprintf(f,
	        "  latency:     p50 %llu us, p90 %llu us, p99 %llu us, p999 %llu us, max %llu us, "
	        "mean %.1f us\n",
	        (unsigned long long)bench_hist_percentile(h, 50),
	        (unsigned long long)bench_hist_percentile(h, 90),
	        (unsigned long long)bench_hist_percentile(h, 99),
	        (unsigned long long)bench_hist_percentile(h, 99.9), (unsigned long long)h->max,
	        bench_hist_mean(h));
	fprintf(f, "  connections: %llu opened, %llu reopened, %llu closed by the server\n",
	        (unsigned long long)r->conn_opened, (unsigned long long)r->conn_reopened,
	        (unsigned long long)r->conn_closed_by_server);
	fprintf(f, "  sessions:    %llu Connect, %llu restarted, %llu Disconnect\n",
	        (unsigned long long)r->sessions_connected, (unsigned long long)r->session_restarts,
	        (unsigned long long)r->disconnected);
	fprintf(f, "  response:    %llu bytes of Execute body, %llu bytes on the wire\n",
	        (unsigned long long)r->rsp_bytes, (unsigned long long)r->rsp_wire_bytes);
	if (r->rate > 0)
		fprintf(f, "  schedule:    backlog max %llu, unsent %llu, unfinished %llu\n",
		        (unsigned long long)r->backlog_max, (unsigned long long)r->unsent,
		        (unsigned long long)r->unfinished);
	else if (r->unfinished > 0)
		fprintf(f, "  unfinished:  %llu\n", (unsigned long long)r->unfinished);
	if (r->has_server_cpu && r->ok > 0 && r->elapsed > 0)
		fprintf(f, "  server CPU:  %.1f us per request (%.0f%% of one core)\n",
		        r->server_cpu_s * 1e6 / (double)r->ok,
		        100.0 * r->server_cpu_s / r->elapsed);
	if (r->ok > 0 && r->elapsed > 0)
		fprintf(f, "  client CPU:  %.1f us per request (%.0f%% of one core)\n",
		        r->client_cpu_s * 1e6 / (double)r->ok,
		        100.0 * r->client_cpu_s / r->elapsed);
	fprintf(f, "  errors:      %llu\n", (unsigned long long)r->errors);
	for (unsigned i = 0; i < r->nfails; i++)
		fprintf(f, "  failure:     %s x%llu (first: %s)\n", r->fails[i].key,
		        (unsigned long long)r->fails[i].count, r->fails[i].detail);
	if (r->fails_dropped > 0)
		fprintf(f, "  failure:     other kinds x%llu\n", (unsigned long long)r->fails_dropped);
}

static bool report_has_ratio(const struct bench_report *rep)
{
	return rep->daemon != NULL && rep->baseline != NULL && rep->baseline->rps > 0 &&
	       rep->load->rate == 0;
}

void bench_report_text(FILE *f, const struct bench_report *rep)
{
	const struct bench_mapi_bodies *b = rep->bodies;
	char flags[64];

	report_load_line(f, rep->load);
	fprintf(f,
	        "request: Execute of RopLogon + RopRelease, RopBuffer %zu bytes (payload %zu, "
	        "%s), body %zu bytes\n",
	        b->ropbuf_len, b->payload_len, mbx_rhe_flags_str(b->rhe_flags, flags, sizeof(flags)),
	        b->execute_len);
	if (rep->daemon != NULL)
		report_run_text(f, rep->daemon, NULL);
	if (rep->baseline != NULL) {
		char what[96];

		snprintf(what, sizeof(what), " (in-process evhttp responder, %zu-byte Execute body)",
		         rep->baseline_body);
		report_run_text(f, rep->baseline, what);
	}
	/* In an open loop both runs were asked for the same rate: their ratio says nothing. */
	if (report_has_ratio(rep))
		fprintf(f, "ratio: %.3f (daemon requests/s / baseline requests/s)\n",
		        rep->daemon->rps / rep->baseline->rps);
	/* The servers' capacity, whatever else ran on the machine: CPU per request. */
	if (rep->daemon != NULL && rep->baseline != NULL && rep->daemon->has_server_cpu &&
	    rep->baseline->has_server_cpu && rep->daemon->ok > 0 && rep->baseline->ok > 0 &&
	    rep->daemon->server_cpu_s > 0)
		fprintf(f,
		        "cpu ratio: %.3f (baseline server CPU per request / daemon server CPU per "
		        "request)\n",
		        (rep->baseline->server_cpu_s / (double)rep->baseline->ok) /
		                (rep->daemon->server_cpu_s / (double)rep->daemon->ok));
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7F)
			fprintf(f, "\\u%04x", *p); /* our strings are ASCII; anything else as Latin-1 */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_u(FILE *f, const char *key, uint64_t v, bool comma)
{
	fprintf(f, "\"%s\": %llu%s", key, (unsigned long long)v, comma ? ", " : "");
}

static void json_d(FILE *f, const char *key, double v, bool comma)
{
	if (!isfinite(v))
		v = 0; /* JSON has no inf or nan */
	fprintf(f, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
}

static void report_run_json(FILE *f, const struct bench_result *r, size_t body)
{
	const struct bench_hist *h = &r->hist;

	fprintf(f, "    {\"name\": ");
	json_str(f, r->name);
	fprintf(f, ", \"url\": ");
	json_str(f, r->url);
	fprintf(f, ", \"tls\": %s, ", r->tls ? "true" : "false");
	json_u(f, "ok", r->ok, true);
	json_u(f, "failed", r->failed, true);
	json_u(f, "errors", r->errors, true);
	json_d(f, "elapsed_s", r->elapsed, true);
	json_d(f, "rps", r->rps, true);
	fprintf(f, "\n     \"latency_us\": {");
	json_u(f, "p50", bench_hist_percentile(h, 50), true);
	json_u(f, "p90", bench_hist_percentile(h, 90), true);
	json_u(f, "p99", bench_hist_percentile(h, 99), true);
	json_u(f, "p999", bench_hist_percentile(h, 99.9), true);
	json_u(f, "min", h->total > 0 ? h->min : 0, true);
	json_u(f, "max", h->max, true);
	json_d(f, "mean", bench_hist_mean(h), false);
	fprintf(f, "},\n     ");
	json_u(f, "connections_opened", r->conn_opened, true);
	json_u(f, "connections_reopened", r->conn_reopened, true);
	json_u(f, "closed_by_server", r->conn_closed_by_server, true);
	json_u(f, "sessions_connected", r->sessions_connected, true);
	json_u(f, "session_restarts", r->session_restarts, true);
	json_u(f, "disconnected", r->disconnected, true);
	fprintf(f, "\n     ");
	json_u(f, "response_body_bytes", r->rsp_bytes, true);
	json_u(f, "response_wire_bytes", r->rsp_wire_bytes, true);
	if (r->has_server_cpu)
		json_d(f, "server_cpu_s", r->server_cpu_s, true);
	else
		fprintf(f, "\"server_cpu_s\": null, ");
	json_d(f, "client_cpu_s", r->client_cpu_s, true);
	if (body > 0)
		json_u(f, "responder_body_bytes", body, true);
	json_u(f, "backlog_max", r->backlog_max, true);
	json_u(f, "unsent", r->unsent, true);
	json_u(f, "unfinished", r->unfinished, true);
	fprintf(f, "\"aborted\": %s, \"abort_reason\": ", r->aborted ? "true" : "false");
	if (r->aborted)
		json_str(f, r->abort_why);
	else
		fprintf(f, "null");
	fprintf(f, ",\n     \"failures\": {");
	for (unsigned i = 0; i < r->nfails; i++) {
		fprintf(f, "%s", i > 0 ? ", " : "");
		json_str(f, r->fails[i].key);
		fprintf(f, ": {\"count\": %llu, \"first\": ", (unsigned long long)r->fails[i].count);
		json_str(f, r->fails[i].detail);
		fprintf(f, "}");
	}
	if (r->fails_dropped > 0)
		fprintf(f, "%s\"other\": {\"count\": %llu, \"first\": \"\"}", r->nfails > 0 ? ", " : "",
		        (unsigned long long)r->fails_dropped);
	fprintf(f, "}}");
}

int bench_report_json(FILE *f, const struct bench_report *rep)
{
	const struct bench_load *l = rep->load;
	const struct bench_mapi_bodies *b = rep->bodies;
	bool first = true;

	fprintf(f, "{\"mbxbench\": ");
	json_str(f, MBX_VERSION);
	fprintf(f, ",\n  \"config\": {");
	json_u(f, "concurrency", l->concurrency, true);
	fprintf(f, "\"mode\": \"%s\", ", l->rate > 0 ? "open" : "closed");
	json_d(f, "rate", l->rate, true);
	json_d(f, "warmup_s", l->warmup, true);
	json_d(f, "duration_s", l->requests > 0 ? 0 : l->duration, true);
	json_u(f, "requests", l->requests, true);
	json_d(f, "timeout_s", l->timeout, true);
	fprintf(f, "\"compress\": %s, \"xor\": %s, ",
	        (b->exec_flags & MBX_RPC_NOCOMPRESSION) ? "false" : "true",
	        (b->exec_flags & MBX_RPC_NOXORMAGIC) ? "false" : "true");
	json_u(f, "ropbuffer_bytes", b->ropbuf_len, true);
	json_u(f, "rop_payload_bytes", b->payload_len, true);
	json_u(f, "rhe_flags", b->rhe_flags, true);
	json_u(f, "execute_body_bytes", b->execute_len, false);
	fprintf(f, "},\n  \"runs\": [\n");
	if (rep->daemon != NULL) {
		report_run_json(f, rep->daemon, 0);
		first = false;
	}
	if (rep->baseline != NULL) {
		fprintf(f, "%s", first ? "" : ",\n");
		report_run_json(f, rep->baseline, rep->baseline_body);
	}
	fprintf(f, "\n  ],\n  \"ratio\": ");
	if (report_has_ratio(rep))
		fprintf(f, "%.6g", rep->daemon->rps / rep->baseline->rps);
	else
		fprintf(f, "null");
	fprintf(f, "}\n");
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
