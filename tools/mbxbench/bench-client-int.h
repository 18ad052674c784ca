/*
 * bench-client-int.h: what the files of mbxbench(1)'s load client share (bench-client.c: the
 * session contexts and the phases of a run; bench-client-conn.c: their connections;
 * bench-client-sched.c: the open loop's schedule). The API is mbxbench.h's bench_client_run.
 */
#ifndef BENCH_CLIENT_INT_H
#define BENCH_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include <event2/util.h>

#include "mbx/types.h"
#include "mbxbench.h"

struct bufferevent;
struct evbuffer;
struct event;

/* ns as a struct timeval (timers, bufferevent timeouts). */
static inline struct timeval client_tv(uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000u),
	                     .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};
	return tv;
}

/* Seconds of an option as ns: 0 unless positive, at most 1e9 s. */
static inline uint64_t client_secs_ns(double s)
{
	if (!(s > 0))
		return 0;
	if (s > 1e9)
		s = 1e9;
	return (uint64_t)(s * 1e9);
}

enum client_phase {
	PH_CONNECT,
	PH_WARMUP,
	PH_MEASURE,
	PH_DRAIN,
	PH_DISCONNECT,
	PH_END,
};

enum sess_state {
	SESS_IDLE,
	SESS_BUSY,
	SESS_WAIT, /* backing off after a failed Connect */
};

struct client_run;

struct client_sess {
	struct client_run *run;
	unsigned id;
	struct bufferevent *bev;
	bool ever_opened;
	bool conn_up; /* TCP connected (and TLS handshake done) on the current connection */
	bool tcp_only; /* TLS connection waiting for its TCP connect: bev is the socket */
	struct evbuffer *pending; /* request bytes written meanwhile */
	enum sess_state state;
	enum bench_reqtype req;
	bool has_context;
	bool ever_connected;
	bool first_connect_done;
	char context[BENCH_COOKIE_MAX];
	char sequence[BENCH_COOKIE_MAX];
	char guid[MBX_GUID_STRLEN + 3];
	uint64_t counter;
	uint64_t origin_ns; /* when the request was sent (closed loop) or due (open loop) */
	bool measured;
	struct bench_http_rsp rsp;
	struct event *backoff;
};

struct client_due {
	uint64_t ns;
	bool measured;
};

struct client_run {
	struct event_base *base;
	const struct bench_target *t;
	const struct bench_load *load;
	struct bench_result *res;
	struct client_sess *sess;
	unsigned nsess;
	enum client_phase phase;
	bool open_loop;
	uint64_t t_warm, t0, t_end; /* t_end: end of the measured window (0 = by count) */
	uint64_t issued_measured;   /* closed loop with --requests */
	uint64_t last_done;
	double server_cpu0, client_cpu0; /* at the start of the measured window */
	bool cpu_started;
	unsigned busy;
	unsigned connect_pending;
	char first_connect_fail[300];
	struct event *phase_timer;
	struct event *sched_timer;
	struct event *sigint;
	bool interrupted;
	/* open loop */
	uint64_t interval_ns_x1000; /* ns per request, times 1000 for sub-ns precision */
	uint64_t sched_k;           /* requests scheduled so far (index of the next one) */
	uint64_t sched_measured;
	bool sched_done;
	struct client_due *q;
	size_t q_cap, q_head, q_len;
	struct client_sess **idle;
	unsigned nidle;
	/* constant request parts */
	char headers[1024];
};

/* bench-client.c */
/* Counts one failure of kind key for the run. */
void client_fail(struct client_run *run, const char *key, const char *detail);
/* Sends one request on s (opening its connection first if it has none); origin is when its
 * latency starts. */
void client_send(struct client_sess *s, enum bench_reqtype type, uint64_t origin, bool measured);
/* The response of s is complete in s->rsp: validate it, take its cookies, finish the request. */
void client_complete(struct client_sess *s);
/* The request of s failed on the connection (closed): finish it as failure key. */
void client_io_fail(struct client_sess *s, const char *key, const char *detail);
void client_start_measure(struct client_run *run);
void client_start_drain(struct client_run *run);

/* bench-client-conn.c */
/* Opens the connection of s (TCP, then TLS on top when the target wants it). Returns 0, or -1
 * with the failure counted. */
int client_conn_open(struct client_sess *s);
/* Closes the connection of s, if any, and drops request bytes still waiting for it. */
void client_conn_close(struct client_sess *s);
void client_conn_write(struct client_sess *s, const void *data, size_t len);

/* bench-client-sched.c */
/* The oldest due request (the queue must not be empty). */
struct client_due client_sched_q_pop(struct client_run *run);
/* The schedule timer: queues what is due, hands it to idle sessions, ends the schedule. */
void client_sched_cb(evutil_socket_t fd, short what, void *arg);

#endif
