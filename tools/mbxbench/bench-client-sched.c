/*
 * bench-client-sched.c: the open loop of mbxbench(1) (--rate): requests are due at fixed times
 * t_warmup + k / rate, whether or not the server keeps up; due requests wait in a queue until a
 * session context is idle, and each one's latency runs from the time it was due, not from when
 * it could be sent (no coordinated omission). The sessions are bench-client.c's.
 */
#include "bench-client-int.h"

#include <stdlib.h>

#include <event2/event.h>

#define BENCH_QUEUE_MAX (1u << 20) /* open loop: due requests waiting for an idle session */

static int client_sched_q_push(struct client_run *run, uint64_t ns, bool measured)
{
	if (run->q_len == run->q_cap) {
		size_t ncap = run->q_cap == 0 ? 1024 : run->q_cap * 2;
		struct client_due *nq;

		if (run->q_cap >= BENCH_QUEUE_MAX)
			return -1;
		nq = malloc(ncap * sizeof(*nq));
		if (nq == NULL)
			return -1;
		for (size_t i = 0; i < run->q_len; i++)
			nq[i] = run->q[(run->q_head + i) % run->q_cap];
		free(run->q);
		run->q = nq;
		run->q_cap = ncap;
		run->q_head = 0;
	}
	run->q[(run->q_head + run->q_len) % run->q_cap] = (struct client_due){ns, measured};
	run->q_len++;
	if (run->q_len > run->res->backlog_max)
		run->res->backlog_max = run->q_len;
	return 0;
}

struct client_due client_sched_q_pop(struct client_run *run)
{
	struct client_due d = run->q[run->q_head];

	run->q_head = (run->q_head + 1) % run->q_cap;
	run->q_len--;
	return d;
}

static uint64_t client_sched_time(const struct client_run *run, uint64_t k)
{
	/* t_warm + k * interval, with the interval kept in thousandths of a nanosecond. */
	return run->t_warm + (uint64_t)((unsigned __int128)k * run->interval_ns_x1000 / 1000u);
}

static void client_sched_dispatch_due(struct client_run *run)
{
	while (run->q_len > 0 && run->nidle > 0) {
		struct client_sess *s = run->idle[--run->nidle];
		struct client_due d = client_sched_q_pop(run);

		client_send(s, BENCH_REQ_EXECUTE, d.ns, d.measured);
	}
}

void client_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;
	uint64_t now = bench_now_ns(), next;

	while (!run->sched_done) {
		uint64_t ts = client_sched_time(run, run->sched_k);
		bool measured;

		if (ts > now)
			break;
		if (ts >= run->t0 && run->phase == PH_WARMUP)
			client_start_measure(run);
		measured = ts >= run->t0;
		if (measured && run->load->requests > 0 && run->sched_measured >= run->load->requests)
			measured = false;
		if (measured && run->t_end != 0 && ts >= run->t_end)
			measured = false;
		if (ts >= run->t0 && !measured) {
			/* The measured window is full: nothing more is scheduled. */
			run->sched_done = true;
			break;
		}
		run->sched_k++;
		if (measured)
			run->sched_measured++;
		if (client_sched_q_push(run, ts, measured) != 0) {
			run->res->unsent++;
			if (measured)
				run->res->failed++;
			client_fail(run, "load:backlog-full",
			            "more than 1048576 requests were due and no session was free: the "
			            "rate is far above what the server answers");
		}
	}
	client_sched_dispatch_due(run);
	if (run->sched_done) {
		if (run->phase == PH_WARMUP || run->phase == PH_MEASURE)
			client_start_drain(run);
		return;
	}
	next = client_sched_time(run, run->sched_k);
	{
		struct timeval tv = client_tv(next > now ? next - now : 0);

		evtimer_add(run->sched_timer, &tv);
	}
}
