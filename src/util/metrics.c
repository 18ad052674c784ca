/*
 * metrics.c: the daemon's counters and their rendering in the Prometheus text exposition format,
 * version 0.0.4 (include/mbx/metrics.h; the format: prometheus.io "Exposition formats": one
 * "# HELP" and one "# TYPE" line per metric family, then `name{label="value",...} value` lines,
 * label values escaped as \\, \" and \n; histograms as cumulative `_bucket{le=...}` series with
 * `le="+Inf"`, `_sum` and `_count`).
 *
 * Pure: no I/O and no libevent; the daemon serves the text (src/daemon/listen.c). Label values
 * come from small fixed sets (request types, response codes, ec names) so that a client cannot
 * grow the series without bound: an X-RequestType outside the set is counted as "other",
 * response codes past MBX_METRICS_CODES as code="other", and RopLogon ec values past
 * MBX_METRICS_MAX_ECS distinct ones as ec="other". ec names come from src/rop/rop-errors.c.
 */
#include "mbx/metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/rop-errors.h"

/* The request types of the mailbox endpoint (protocol.md 5.1), then the catch-all. */
static const char *const metrics_types[] = {
	"Connect", "Execute", "Disconnect", "NotificationWait", "PING", "other",
};
#define METRICS_NTYPES (sizeof(metrics_types) / sizeof(metrics_types[0]))
#define METRICS_TYPE_OTHER (METRICS_NTYPES - 1)

/* X-ResponseCode 0..18 are defined (protocol.md 5.4); room for a few more, then "other". */
#define MBX_METRICS_CODES 32
/* Distinct RopLogon ec values counted one by one; more are summed as ec="other". */
#define MBX_METRICS_MAX_ECS 64

/* Upper bounds of the latency buckets, in microseconds (the last bucket is +Inf). */
static const uint64_t metrics_bounds_us[] = {
	500,    1000,    2500,    5000,    10000,    25000,    50000,    100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};
#define METRICS_NBOUNDS (sizeof(metrics_bounds_us) / sizeof(metrics_bounds_us[0]))

struct metrics_hist {
	uint64_t buckets[METRICS_NBOUNDS + 1]; /* not cumulative; the last one is past every bound */
	uint64_t sum_us;
	uint64_t count;
};

struct metrics_ec {
	uint32_t ec;
	uint64_t count;
};

struct mbx_metrics {
	uint64_t requests[METRICS_NTYPES][MBX_METRICS_CODES + 1]; /* last column: code "other" */
	struct metrics_hist hist[METRICS_NTYPES];
	struct metrics_ec ecs[MBX_METRICS_MAX_ECS];
	size_t necs;
	uint64_t ec_other;
	mbx_metrics_collect_fn *collect;
	void *collect_ctx;
};

struct mbx_metrics *mbx_metrics_new(void)
{
	return calloc(1, sizeof(struct mbx_metrics));
}

void mbx_metrics_free(struct mbx_metrics **m)
{
	if (m == NULL || *m == NULL)
		return;
	free(*m);
	*m = NULL;
}

void mbx_metrics_set_collector(struct mbx_metrics *m, mbx_metrics_collect_fn *fn, void *ctx)
{
	if (m == NULL)
		return;
	m->collect = fn;
	m->collect_ctx = ctx;
}

static size_t metrics_type_index(const char *type)
{
	for (size_t i = 0; type != NULL && i < METRICS_TYPE_OTHER; i++)
		if (strcmp(type, metrics_types[i]) == 0)
			return i;
	return METRICS_TYPE_OTHER;
}

void mbx_metrics_request(struct mbx_metrics *m, const char *type, unsigned response_code,
			 uint64_t duration_us)
{
	size_t t, b = 0;
	struct metrics_hist *h;

	if (m == NULL)
		return;
	t = metrics_type_index(type);
	m->requests[t][response_code < MBX_METRICS_CODES ? response_code : MBX_METRICS_CODES]++;
	h = &m->hist[t];
	while (b < METRICS_NBOUNDS && duration_us > metrics_bounds_us[b])
		b++;
	h->buckets[b]++;
	h->sum_us += duration_us;
	h->count++;
}

void mbx_metrics_logon(struct mbx_metrics *m, uint32_t ec)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->necs; i++) {
		if (m->ecs[i].ec == ec) {
			m->ecs[i].count++;
			return;
		}
	}
	if (m->necs == MBX_METRICS_MAX_ECS) {
		m->ec_other++;
		return;
	}
	m->ecs[m->necs].ec = ec;
	m->ecs[m->necs].count = 1;
	m->necs++;
}

size_t mbx_metrics_escape_label(const char *s, char *buf, size_t size)
{
	size_t k = 0, need = 1;

	for (const char *p = s; *p != '\0'; p++)
		need += (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
	if (size < need) {
		if (size > 0)
			buf[0] = '\0';
		return need;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"') {
			buf[k++] = '\\';
			buf[k++] = *p;
		} else if (*p == '\n') {
			buf[k++] = '\\';
			buf[k++] = 'n';
		} else {
			buf[k++] = *p;
		}
	}
	buf[k] = '\0';
	return need;
}

/* Writes a label value escaped (values here are short: names of types, codes and ecs). */
static void metrics_label(FILE *f, const char *v)
{
	char buf[128];

	if (mbx_metrics_escape_label(v, buf, sizeof(buf)) > sizeof(buf))
		snprintf(buf, sizeof(buf), "other");
	fputs(buf, f);
}

static void metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "0.0005", "1", "2.5", "60": a bucket bound in seconds, as Prometheus clients write them. */
static void metrics_seconds(FILE *f, uint64_t us)
{
	char buf[32];
	size_t n;

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
	fputs(buf, f);
}

static void metrics_render_requests(FILE *f, const struct mbx_metrics *m)
{
	metrics_family(f, "mbx_requests_total", "counter",
		       "MAPI/HTTP requests by X-RequestType and X-ResponseCode.");
	for (size_t t = 0; t < METRICS_NTYPES; t++) {
		for (size_t c = 0; c <= MBX_METRICS_CODES; c++) {
			if (m->requests[t][c] == 0)
				continue;
			fputs("mbx_requests_total{type=\"", f);
			metrics_label(f, metrics_types[t]);
			if (c < MBX_METRICS_CODES)
				fprintf(f, "\",code=\"%zu\"} %" PRIu64 "\n", c, m->requests[t][c]);
			else
				fprintf(f, "\",code=\"other\"} %" PRIu64 "\n", m->requests[t][c]);
		}
	}

	metrics_family(f, "mbx_request_duration_seconds", "histogram",
		       "Time from a MAPI/HTTP request's arrival to its last response byte.");
	for (size_t t = 0; t < METRICS_NTYPES; t++) {
		const struct metrics_hist *h = &m->hist[t];
		uint64_t cum = 0;

		if (h->count == 0)
			continue;
		for (size_t b = 0; b <= METRICS_NBOUNDS; b++) {
			cum += h->buckets[b];
			fputs("mbx_request_duration_seconds_bucket{type=\"", f);
			metrics_label(f, metrics_types[t]);
			fputs("\",le=\"", f);
			if (b < METRICS_NBOUNDS)
				metrics_seconds(f, metrics_bounds_us[b]);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %" PRIu64 "\n", cum);
		}
		fputs("mbx_request_duration_seconds_sum{type=\"", f);
		metrics_label(f, metrics_types[t]);
		fputs("\"} ", f);
		metrics_seconds(f, h->sum_us);
		fputs("\nmbx_request_duration_seconds_count{type=\"", f);
		metrics_label(f, metrics_types[t]);
		fprintf(f, "\"} %" PRIu64 "\n", h->count);
	}
}

static void metrics_render_logons(FILE *f, const struct mbx_metrics *m)
{
	char buf[16];

	metrics_family(f, "mbx_logons_total", "counter", "RopLogon answers by ec name.");
	for (size_t i = 0; i < m->necs; i++) {
		fputs("mbx_logons_total{ec=\"", f);
		metrics_label(f, mbx_ec_str(m->ecs[i].ec, buf, sizeof(buf)));
		fprintf(f, "\"} %" PRIu64 "\n", m->ecs[i].count);
	}
	if (m->ec_other > 0)
		fprintf(f, "mbx_logons_total{ec=\"other\"} %" PRIu64 "\n", m->ec_other);
}

static void metrics_render_gauges(FILE *f, const struct mbx_metrics_gauges *g)
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} rows[] = {
		{"mbx_sessions", "gauge", "Session contexts (MapiContext cookies) alive now.",
		 offsetof(struct mbx_metrics_gauges, sessions)},
		{"mbx_connections", "gauge", "Client connections open now (TLS and plain_http).",
		 offsetof(struct mbx_metrics_gauges, connections)},
		{"mbx_directory_lookups_total", "counter", "Directory lookups issued.",
		 offsetof(struct mbx_metrics_gauges, directory_lookups)},
		{"mbx_directory_tempfail_total", "counter",
		 "Mailbox fetches that ended in a temporary directory failure.",
		 offsetof(struct mbx_metrics_gauges, directory_tempfail)},
		{"mbx_cache_hits_total", "counter", "Mailbox lookups answered from the cache.",
		 offsetof(struct mbx_metrics_gauges, cache_hits)},
		{"mbx_cache_misses_total", "counter", "Mailbox lookups that needed the directory.",
		 offsetof(struct mbx_metrics_gauges, cache_misses)},
		{"mbx_cache_stale_served_total", "counter",
		 "Mailbox lookups answered with stale facts while the directory failed.",
		 offsetof(struct mbx_metrics_gauges, cache_stale_served)},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)g + rows[i].offset, sizeof(v));
		metrics_family(f, rows[i].name, rows[i].type, rows[i].help);
		fprintf(f, "%s %" PRIu64 "\n", rows[i].name, v);
	}
}

int mbx_metrics_render(struct mbx_metrics *m, char **text_r, size_t *len_r)
{
	struct mbx_metrics_gauges g;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	*text_r = NULL;
	*len_r = 0;
	if (m == NULL)
		return -1;
	memset(&g, 0, sizeof(g));
	if (m->collect != NULL)
		m->collect(m->collect_ctx, &g);
	f = open_memstream(&text, &len);
	if (f == NULL)
		return -1;
	metrics_render_requests(f, m);
	metrics_render_logons(f, m);
	metrics_render_gauges(f, &g);
	err = ferror(f);
	if (fclose(f) != 0 || err != 0 || text == NULL) {
		free(text);
		return -1;
	}
	*text_r = text;
	*len_r = len;
	return 0;
}
