/*
 * bench-hist.c: the latency histogram of mbxbench(1): log-linear buckets in the manner of
 * HdrHistogram (exact below 2^(SUB_BITS+1) us, then 2^SUB_BITS sub-buckets per power of two),
 * microsecond resolution, so p50/p99/p999 cost one walk over ~28k counters and no stored
 * samples. Layout of the bucket index for a value v with most significant bit m:
 *   m <= SUB_BITS:  idx = v
 *   m >  SUB_BITS:  shift = m - SUB_BITS, idx = shift * 2^SUB_BITS + (v >> shift)
 * which is contiguous: (v >> shift) lies in [2^SUB_BITS, 2^(SUB_BITS+1)).
 */
#include "mbxbench.h"

#include <stdlib.h>
#include <string.h>

#define SUB (UINT64_C(1) << BENCH_HIST_SUB_BITS)

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(BENCH_HIST_BUCKETS, sizeof(h->counts[0]));
	if (h->counts == NULL)
		return -1;
	h->min = UINT64_MAX;
	return 0;
}

void bench_hist_deinit(struct bench_hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void bench_hist_reset(struct bench_hist *h)
{
	if (h->counts != NULL)
		memset(h->counts, 0, BENCH_HIST_BUCKETS * sizeof(h->counts[0]));
	h->total = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
	h->clamped = 0;
}

static unsigned hist_msb(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

size_t bench_hist_index(uint64_t us)
{
	unsigned m, shift;

	if (us > BENCH_HIST_MAX_US)
		us = BENCH_HIST_MAX_US;
	if (us < 2 * SUB)
		return (size_t)us;
	m = hist_msb(us);
	shift = m - BENCH_HIST_SUB_BITS;
	return (size_t)shift * SUB + (size_t)(us >> shift);
}

uint64_t bench_hist_lowest(size_t idx)
{
	uint64_t shift, q;

	if (idx < 2 * SUB)
		return idx;
	shift = (idx >> BENCH_HIST_SUB_BITS) - 1;
	q = idx - shift * SUB;
	return q << shift;
}

uint64_t bench_hist_highest(size_t idx)
{
	uint64_t shift, q;

	if (idx < 2 * SUB)
		return idx;
	shift = (idx >> BENCH_HIST_SUB_BITS) - 1;
	q = idx - shift * SUB;
	return ((q + 1) << shift) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t us)
{
	if (us > BENCH_HIST_MAX_US) {
		us = BENCH_HIST_MAX_US;
		h->clamped++;
	}
	h->counts[bench_hist_index(us)]++;
	h->total++;
	h->sum += us;
	if (us < h->min)
		h->min = us;
	if (us > h->max)
		h->max = us;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double pct)
{
	uint64_t want, seen = 0, v, ppm;

	if (h->total == 0)
		return 0;
	if (!(pct > 0.0))
		pct = 0.0;
	if (pct > 100.0)
		pct = 100.0;
	/* The rank: ceil(pct/100 * total), at least 1, in integers (pct in millionths of the
	 * whole) so that 99.9 % of 1000 is 999, not 1000 through rounding. */
	ppm = (uint64_t)(pct * 10000.0 + 0.5);
	want = (uint64_t)(((unsigned __int128)ppm * h->total + 999999u) / 1000000u);
	if (want == 0)
		want = 1;
	if (want > h->total)
		want = h->total;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			v = bench_hist_highest(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->total == 0 ? 0.0 : (double)h->sum / (double)h->total;
}
