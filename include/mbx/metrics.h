/*
 * metrics.h: the daemon's counters, rendered in the Prometheus text exposition format at
 * /metrics on a separate loopback listener. Pure (src/util/metrics.c): no I/O, no libevent; the
 * daemon serves the text. Single-threaded like the rest of the daemon.
 *
 * Series:
 *   mbx_requests_total{type="Execute",code="0"}          MAPI/HTTP requests by X-RequestType and X-ResponseCode
 *   mbx_request_duration_seconds_bucket{type=...,le=...} latency histogram (+ _sum, _count)
 *   mbx_logons_total{ec="ecWrongServer"}                 RopLogon answers by ec name
 *   mbx_sessions                                          session contexts now
 *   mbx_directory_lookups_total, mbx_cache_hits_total, mbx_cache_misses_total,
 *   mbx_directory_tempfail_total, mbx_cache_stale_served_total   pulled from a collector
 */
#ifndef MBX_METRICS_H
#define MBX_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct mbx_metrics;

/* Values a collector reports at render time (what other modules count themselves). */
struct mbx_metrics_gauges {
	uint64_t sessions;
	uint64_t directory_lookups;
	uint64_t directory_tempfail;
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t cache_stale_served;
	uint64_t connections;
};
typedef void mbx_metrics_collect_fn(void *ctx, struct mbx_metrics_gauges *g);

struct mbx_metrics *mbx_metrics_new(void);
void mbx_metrics_free(struct mbx_metrics **m); /* NULL-safe, clears *m */
void mbx_metrics_set_collector(struct mbx_metrics *m, mbx_metrics_collect_fn *fn, void *ctx);

/* One MAPI/HTTP request: its X-RequestType name ("Connect", "Execute", ..., or "other"), its
 * X-ResponseCode, and how long it took in microseconds. NULL-safe on m. */
void mbx_metrics_request(struct mbx_metrics *m, const char *type, unsigned response_code,
			 uint64_t duration_us);
/* One RopLogon answer. NULL-safe on m. */
void mbx_metrics_logon(struct mbx_metrics *m, uint32_t ec);

/* Renders every series as Prometheus text (version 0.0.4) into a malloc'ed NUL-terminated
 * buffer the caller frees. Returns 0 or -1 (allocation failure). */
int mbx_metrics_render(struct mbx_metrics *m, char **text_r, size_t *len_r);

/* Escapes a label value for the text format (backslash, double quote and newline become \\,
 * \" and \n) into buf. Returns the bytes the escaped value needs with its NUL; when that is more
 * than size, buf gets "" (if size > 0) and nothing else is written. For tests and the daemon. */
size_t mbx_metrics_escape_label(const char *s, char *buf, size_t size);

#endif
