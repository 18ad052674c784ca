/*
 * bench-client.c: the load of mbxbench(1). N session contexts, each on its own keep-alive
 * HTTP/1.1 connection (plain, or TLS through bufferevent_openssl), each doing one MAPI/HTTP
 * Connect ([MS-OXCMAPIHTTP] 2.2.4.1) and then Execute requests (2.2.4.2) of RopLogon +
 * RopRelease, with the session cookies of protocol.md 5.3 (MapiContext once, MapiSequence
 * taken from every response) and the request headers of 2.2.3.3 / protocol.md 5.2. One
 * request at a time per session context, as the server requires.
 *
 * Phases: CONNECT (every session's first Connect), WARMUP, MEASURE, DRAIN (no new requests;
 * the ones in flight finish), DISCONNECT (each session context is closed), END.
 *
 * Closed loop: a session sends its next Execute as soon as the previous one is answered;
 * latency runs from sending. Open loop (--rate): requests are due at fixed times
 * (t_warmup + k / rate); an idle session takes the oldest due request, and its latency runs
 * from the time it was due, so a slow server cannot hide its queueing (no coordinated
 * omission). Every response is validated (bench-mapi.c); failures are counted per kind.
 *
 * This file has the session contexts and the phases of a run; bench-client-conn.c their
 * connections, bench-client-sched.c the open loop's schedule, bench-target.c the targets
 * (bench-client-int.h is what they share).
 */
#include "bench-client-int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mbx/types.h"

#define BENCH_BACKOFF_MS 100 /* before a failed Connect is retried */
#define BENCH_REQ_HDR_MAX 4096

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_thread_cpu(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- results ------------------------------------------------------------------------------- */

void bench_result_fail(struct bench_result *res, const char *key, const char *detail)
{
	res->errors++;
	for (unsigned i = 0; i < res->nfails; i++) {
		if (strcmp(res->fails[i].key, key) == 0) {
			res->fails[i].count++;
			return;
		}
	}
	if (res->nfails == BENCH_FAIL_KINDS) {
		res->fails_dropped++;
		return;
	}
	snprintf(res->fails[res->nfails].key, sizeof(res->fails[0].key), "%s", key);
	snprintf(res->fails[res->nfails].detail, sizeof(res->fails[0].detail), "%s",
	         detail != NULL ? detail : "");
	res->fails[res->nfails].count = 1;
	res->nfails++;
}

void bench_result_deinit(struct bench_result *res)
{
	bench_hist_deinit(&res->hist);
}

static void client_advance(struct client_run *run);
static void client_sess_next(struct client_sess *s);
static void client_backoff(struct client_sess *s);
static void client_first_connect_done(struct client_run *run, struct client_sess *s);

void client_fail(struct client_run *run, const char *key, const char *detail)
{
	bench_result_fail(run->res, key, detail);
}

/* Sends one request; on a local failure (cannot open a connection) the request counts as
 * failed at once and the session backs off. */
void client_send(struct client_sess *s, enum bench_reqtype type, uint64_t origin, bool measured)
{
	struct client_run *run = s->run;
	const struct bench_mapi_bodies *b = run->load->bodies;
	const uint8_t *body;
	size_t blen, n;
	char req[BENCH_REQ_HDR_MAX];
	int k;

	switch (type) {
	case BENCH_REQ_CONNECT:
		body = b->connect;
		blen = b->connect_len;
		break;
	case BENCH_REQ_EXECUTE:
		body = b->execute;
		blen = b->execute_len;
		break;
	case BENCH_REQ_DISCONNECT:
	default:
		body = b->disconnect;
		blen = b->disconnect_len;
		break;
	}
	s->req = type;
	s->origin_ns = origin;
	s->measured = measured;
	s->state = SESS_BUSY;
	run->busy++;
	bench_http_rsp_reset(&s->rsp);
	if (s->bev == NULL && client_conn_open(s) != 0) {
		/* Counted by client_conn_open: the request failed at once; try again a little
		 * later. */
		s->state = SESS_IDLE;
		run->busy--;
		if (type == BENCH_REQ_EXECUTE && measured)
			run->res->failed++;
		if (type == BENCH_REQ_CONNECT)
			client_first_connect_done(run, s);
		if (type == BENCH_REQ_DISCONNECT)
			s->has_context = false;
		client_backoff(s);
		return;
	}
	s->counter++;
	k = snprintf(req, sizeof(req),
	             "POST %s HTTP/1.1\r\n"
	             "%s"
	             "X-RequestType: %s\r\n"
	             "X-RequestId: %s:%llu\r\n"
	             "X-ClientInfo: %s:1\r\n"
	             "Content-Length: %zu\r\n",
	             run->t->path, run->headers, bench_reqtype_name(type), s->guid,
	             (unsigned long long)s->counter, s->guid, blen);
	if (k > 0 && (size_t)k < sizeof(req) && type != BENCH_REQ_CONNECT && s->has_context)
		k += snprintf(req + k, sizeof(req) - (size_t)k, "Cookie: %s=%s; %s=%s\r\n",
		              MBX_MH_COOKIE_CONTEXT, s->context, MBX_MH_COOKIE_SEQUENCE, s->sequence);
	if (k > 0 && (size_t)k < sizeof(req))
		k += snprintf(req + k, sizeof(req) - (size_t)k, "\r\n");
	n = (size_t)k;
	if (k < 0 || n >= sizeof(req)) {
		/* Cannot happen: the cookies and the path are bounded well below this. */
		client_fail(run, "io:setup", "request headers too long");
		client_conn_close(s);
		s->state = SESS_IDLE;
		run->busy--;
		s->has_context = false;
		client_backoff(s);
		return;
	}
	/* One buffer, so that TLS sends one record. */
	if (blen <= sizeof(req) - n) {
		memcpy(req + n, body, blen);
		client_conn_write(s, req, n + blen);
	} else {
		client_conn_write(s, req, n);
		client_conn_write(s, body, blen);
	}
}

/* ---- session life ---------------------------------------------------------------------------- */

static void client_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_sess *s = arg;

	s->state = SESS_IDLE;
	client_sess_next(s);
	client_advance(s->run);
}

/* What an idle session does next. */
static void client_sess_next(struct client_sess *s)
{
	struct client_run *run = s->run;

	if (s->state != SESS_IDLE)
		return;
	switch (run->phase) {
	case PH_CONNECT:
		return;
	case PH_WARMUP:
	case PH_MEASURE:
		if (!s->has_context) {
			client_send(s, BENCH_REQ_CONNECT, bench_now_ns(), false);
			return;
		}
		break;
	case PH_DRAIN:
		if (!s->has_context || !run->open_loop)
			return;
		break;
	case PH_DISCONNECT:
		/* A Connect that ended after the load did: close that context too. */
		if (s->has_context)
			client_send(s, BENCH_REQ_DISCONNECT, bench_now_ns(), false);
		return;
	case PH_END:
		return;
	}
	if (run->open_loop) {
		if (run->q_len > 0) {
			struct client_due d = client_sched_q_pop(run);

			client_send(s, BENCH_REQ_EXECUTE, d.ns, d.measured);
		} else {
			run->idle[run->nidle++] = s;
		}
		return;
	}
	if (run->phase == PH_WARMUP) {
		client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), false);
	} else if (run->phase == PH_MEASURE) {
		if (run->load->requests > 0) {
			if (run->issued_measured >= run->load->requests)
				return;
			run->issued_measured++;
			client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), true);
			if (run->issued_measured == run->load->requests)
				client_start_drain(run);
		} else {
			client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), false);
		}
	}
}

static void client_backoff(struct client_sess *s)
{
	struct timeval tv = {0, BENCH_BACKOFF_MS * 1000};

	if (s->backoff == NULL)
		s->backoff = evtimer_new(s->run->base, client_backoff_cb, s);
	if (s->backoff == NULL) {
		s->state = SESS_IDLE;
		return;
	}
	s->state = SESS_WAIT;
	evtimer_add(s->backoff, &tv);
}

static void client_first_connect_done(struct client_run *run, struct client_sess *s)
{
	if (s->first_connect_done)
		return;
	s->first_connect_done = true;
	if (run->connect_pending > 0)
		run->connect_pending--;
}

/* A request of s ended (answered, failed or cut). ok and v describe the outcome. */
static void client_finish(struct client_sess *s, bool ok, const struct bench_verdict *v)
{
	struct client_run *run = s->run;
	struct bench_result *res = run->res;
	uint64_t now = bench_now_ns();
	bool measured;

	s->state = SESS_IDLE;
	run->busy--;
	if (!ok) {
		client_fail(run, v->key, v->detail);
		if (v->drop_context)
			s->has_context = false;
	}
	switch (s->req) {
	case BENCH_REQ_CONNECT:
		client_first_connect_done(run, s);
		if (ok) {
			res->sessions_connected++;
			if (s->ever_connected)
				res->session_restarts++;
			s->ever_connected = true;
			s->has_context = true;
		} else {
			if (run->first_connect_fail[0] == '\0')
				snprintf(run->first_connect_fail, sizeof(run->first_connect_fail),
				         "%s", v->detail);
			client_backoff(s);
		}
		break;
	case BENCH_REQ_EXECUTE:
		if (run->open_loop || run->load->requests > 0)
			measured = s->measured;
		else
			measured = run->phase == PH_MEASURE;
		if (measured) {
			if (ok) {
				uint64_t ns = now > s->origin_ns ? now - s->origin_ns : 0;

				res->ok++;
				bench_hist_record(&res->hist, (ns + 500) / 1000);
				res->rsp_bytes = evbuffer_get_length(s->rsp.body);
				res->rsp_wire_bytes = s->rsp.wire_bytes;
			} else {
				res->failed++;
			}
			run->last_done = now;
		}
		break;
	case BENCH_REQ_DISCONNECT:
		if (ok)
			res->disconnected++;
		s->has_context = false;
		break;
	}
	client_sess_next(s);
	client_advance(run);
}

void client_complete(struct client_sess *s)
{
	struct bench_verdict v;
	bool ok = bench_mapi_check(s->req, &s->rsp, &v) == 0;

	/* Like a cookie jar: the sequence cookie follows every response that sets one (the
	 * server issues a new one per request), and so does the context cookie, which normally
	 * comes once, with Connect. */
	if (s->rsp.has_sequence)
		memcpy(s->sequence, s->rsp.sequence, sizeof(s->sequence));
	if (s->rsp.has_context)
		memcpy(s->context, s->rsp.context, sizeof(s->context));
	if (s->rsp.close) {
		client_conn_close(s);
		s->run->res->conn_closed_by_server++;
	}
	client_finish(s, ok, &v);
}

void client_io_fail(struct client_sess *s, const char *key, const char *detail)
{
	struct bench_verdict v;

	memset(&v, 0, sizeof(v));
	snprintf(v.key, sizeof(v.key), "%s", key);
	snprintf(v.detail, sizeof(v.detail), "%s: %s", bench_reqtype_name(s->req), detail);
	client_conn_close(s);
	client_finish(s, false, &v);
}

/* ---- phases ---------------------------------------------------------------------------------- */

static void client_end(struct client_run *run)
{
	if (run->phase == PH_END)
		return;
	run->phase = PH_END;
	event_base_loopbreak(run->base);
}

static void client_phase_cb(evutil_socket_t fd, short what, void *arg);

static void client_phase_timer(struct client_run *run, uint64_t ns)
{
	struct timeval tv = client_tv(ns);

	evtimer_del(run->phase_timer);
	evtimer_add(run->phase_timer, &tv);
}

static void client_start_disconnect(struct client_run *run)
{
	run->phase = PH_DISCONNECT;
	evtimer_del(run->sched_timer);
	for (unsigned i = 0; i < run->nsess; i++) {
		struct client_sess *s = &run->sess[i];

		if (s->backoff != NULL)
			evtimer_del(s->backoff);
		if (s->state == SESS_WAIT)
			s->state = SESS_IDLE;
		if (s->state == SESS_IDLE && s->has_context)
			client_send(s, BENCH_REQ_DISCONNECT, bench_now_ns(), false);
	}
	client_phase_timer(run, client_secs_ns(run->load->timeout) + 1000000000u);
	client_advance(run);
}

/* The CPU readings at the start and at the end of the measured window. */
static void client_cpu_mark(struct client_run *run, bool start)
{
	const struct bench_target *t = run->t;
	double server = t->server_cpu != NULL ? t->server_cpu(t->server_cpu_arg) : -1;

	if (start) {
		run->server_cpu0 = server;
		run->client_cpu0 = bench_thread_cpu();
		run->cpu_started = true;
		return;
	}
	if (!run->cpu_started)
		return;
	run->res->client_cpu_s = bench_thread_cpu() - run->client_cpu0;
	if (t->server_cpu != NULL && run->server_cpu0 >= 0 && server >= run->server_cpu0) {
		run->res->has_server_cpu = true;
		run->res->server_cpu_s = server - run->server_cpu0;
	}
	run->cpu_started = false;
}

void client_start_drain(struct client_run *run)
{
	if (run->phase != PH_WARMUP && run->phase != PH_MEASURE)
		return;
	if (run->phase == PH_MEASURE)
		client_cpu_mark(run, false);
	/* Closed loop by duration: the window is [t0, now]. */
	if (run->phase == PH_MEASURE && !run->open_loop && run->load->requests == 0)
		run->last_done = bench_now_ns();
	run->phase = PH_DRAIN;
	run->sched_done = true;
	evtimer_del(run->sched_timer);
	client_phase_timer(run, client_secs_ns(run->load->timeout) + 1000000000u);
	client_advance(run);
}

void client_start_measure(struct client_run *run)
{
	if (run->phase != PH_WARMUP)
		return;
	run->phase = PH_MEASURE;
	client_cpu_mark(run, true);
	if (!run->open_loop) {
		run->t0 = bench_now_ns();
		if (run->load->requests == 0)
			client_phase_timer(run, client_secs_ns(run->load->duration));
		else
			evtimer_del(run->phase_timer);
		/* With --requests the sessions idle at the switch start the measured ones. */
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
	}
}

static void client_start_warmup(struct client_run *run)
{
	uint64_t warm = client_secs_ns(run->load->warmup);

	run->phase = PH_WARMUP;
	run->t_warm = bench_now_ns();
	if (run->open_loop) {
		run->t0 = run->t_warm + warm;
		run->t_end = run->load->requests > 0
		                     ? 0
		                     : run->t0 + client_secs_ns(run->load->duration);
		evtimer_del(run->phase_timer);
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
		client_sched_cb(-1, 0, run);
		return;
	}
	if (warm == 0) {
		client_start_measure(run);
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
		return;
	}
	client_phase_timer(run, warm);
	for (unsigned i = 0; i < run->nsess; i++)
		client_sess_next(&run->sess[i]);
}

static void client_connect_phase_over(struct client_run *run)
{
	if (run->res->sessions_connected == 0) {
		snprintf(run->res->abort_why, sizeof(run->res->abort_why),
		         "no session could Connect%s%.200s",
		         run->first_connect_fail[0] != '\0' ? ": " : "", run->first_connect_fail);
		run->res->aborted = true;
		client_start_disconnect(run);
		return;
	}
	client_start_warmup(run);
}

/* Moves to the next phase when the current one has nothing left to wait for. */
static void client_advance(struct client_run *run)
{
	switch (run->phase) {
	case PH_CONNECT:
		if (run->connect_pending == 0)
			client_connect_phase_over(run);
		break;
	case PH_DRAIN:
		if (run->busy == 0 && run->q_len == 0)
			client_start_disconnect(run);
		break;
	case PH_DISCONNECT:
		if (run->busy == 0)
			client_end(run);
		break;
	default:
		break;
	}
}

static void client_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;

	switch (run->phase) {
	case PH_CONNECT:
		/* Some first Connects did not finish in time; go on with those that did. */
		run->connect_pending = 0;
		client_connect_phase_over(run);
		break;
	case PH_WARMUP:
		client_start_measure(run);
		break;
	case PH_MEASURE:
		client_start_drain(run);
		break;
	case PH_DRAIN:
	case PH_DISCONNECT:
		/* Deadline: whatever is still queued or in flight is given up. */
		run->res->unsent += run->q_len;
		run->q_len = 0;
		for (unsigned i = 0; i < run->nsess; i++) {
			struct client_sess *s = &run->sess[i];

			if (s->state == SESS_BUSY) {
				if (run->phase == PH_DRAIN)
					run->res->unfinished++;
				client_conn_close(s);
				s->state = SESS_IDLE;
				run->busy--;
			}
		}
		if (run->phase == PH_DRAIN)
			client_start_disconnect(run);
		else
			client_end(run);
		break;
	case PH_END:
		break;
	}
}

static void client_sigint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;

	if (run->interrupted) {
		client_end(run);
		return;
	}
	run->interrupted = true;
	run->res->aborted = true;
	snprintf(run->res->abort_why, sizeof(run->res->abort_why), "interrupted");
	if (run->phase == PH_CONNECT)
		client_start_disconnect(run);
	else
		client_start_drain(run);
}

/* ---- entry --------------------------------------------------------------------------------- */

static int client_headers(struct client_run *run)
{
	const struct bench_load *l = run->load;
	size_t ul = strlen(l->user), pl = strlen(l->password), n = ul + 1 + pl;
	unsigned char *plain = malloc(n + 1), *b64 = malloc(4 * ((n + 2) / 3) + 1);
	int k = -1;

	if (plain != NULL && b64 != NULL) {
		memcpy(plain, l->user, ul);
		plain[ul] = ':';
		memcpy(plain + ul + 1, l->password, pl);
		EVP_EncodeBlock(b64, plain, (int)n);
		k = snprintf(run->headers, sizeof(run->headers),
		             "Host: %s\r\n"
		             "Content-Type: application/mapi-http\r\n"
		             "Authorization: Basic %s\r\n"
		             "X-ClientApplication: %s\r\n"
		             "User-Agent: mbxbench/%s\r\n",
		             run->t->hostport, (const char *)b64, l->client_app, MBX_VERSION);
		OPENSSL_cleanse(plain, n);
	}
	free(plain);
	free(b64);
	return k > 0 && (size_t)k < sizeof(run->headers) ? 0 : -1;
}

int bench_client_run(struct event_base *base, const struct bench_target *t,
                     const struct bench_load *load, struct bench_result *res)
{
	struct client_run run;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->name = t->name;
	snprintf(res->url, sizeof(res->url), "%s", t->url);
	res->tls = t->tls;
	res->rate = load->rate;
	if (bench_hist_init(&res->hist) != 0) {
		snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
		res->aborted = true;
		return -1;
	}

	memset(&run, 0, sizeof(run));
	run.base = base;
	run.t = t;
	run.load = load;
	run.res = res;
	run.nsess = load->concurrency;
	run.open_loop = load->rate > 0;
	if (run.open_loop)
		run.interval_ns_x1000 = (uint64_t)(1e12 / load->rate + 0.5);
	if (run.open_loop && run.interval_ns_x1000 == 0)
		run.interval_ns_x1000 = 1;
	if (client_headers(&run) != 0) {
		snprintf(res->abort_why, sizeof(res->abort_why), "request headers too long");
		res->aborted = true;
		return -1;
	}
	run.sess = calloc(run.nsess, sizeof(*run.sess));
	run.idle = calloc(run.nsess, sizeof(*run.idle));
	run.phase_timer = evtimer_new(base, client_phase_cb, &run);
	run.sched_timer = evtimer_new(base, client_sched_cb, &run);
	run.sigint = evsignal_new(base, SIGINT, client_sigint_cb, &run);
	if (run.sess == NULL || run.idle == NULL || run.phase_timer == NULL ||
	    run.sched_timer == NULL || run.sigint == NULL) {
		snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
		res->aborted = true;
		goto out;
	}
	evsignal_add(run.sigint, NULL);
	for (unsigned i = 0; i < run.nsess; i++) {
		struct client_sess *s = &run.sess[i];
		struct mbx_guid g;
		char gs[MBX_GUID_STRLEN + 1];

		s->run = &run;
		s->id = i;
		if (bench_http_rsp_init(&s->rsp) != 0) {
			snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
			res->aborted = true;
			goto out;
		}
		if (RAND_bytes(g.b, sizeof(g.b)) != 1)
			memset(g.b, (int)i, sizeof(g.b));
		g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40); /* version 4 (Data3 is little-endian) */
		g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
		snprintf(s->guid, sizeof(s->guid), "{%s}", mbx_guid_to_str(&g, gs));
	}

	run.phase = PH_CONNECT;
	run.connect_pending = run.nsess;
	client_phase_timer(&run, client_secs_ns(load->timeout) + 1000000000u);
	for (unsigned i = 0; i < run.nsess; i++)
		client_send(&run.sess[i], BENCH_REQ_CONNECT, bench_now_ns(), false);
	client_advance(&run);
	if (run.phase != PH_END)
		event_base_dispatch(base);

	if (run.open_loop || load->requests > 0)
		res->elapsed = run.last_done > run.t0 ? (double)(run.last_done - run.t0) / 1e9 : 0;
	else
		res->elapsed = run.last_done > run.t0 && run.t0 != 0
		                       ? (double)(run.last_done - run.t0) / 1e9
		                       : 0;
	res->rps = res->elapsed > 0 ? (double)res->ok / res->elapsed : 0;
	rc = res->sessions_connected == 0 ? -1 : 0;
out:
	if (run.sigint != NULL) {
		evsignal_del(run.sigint);
		event_free(run.sigint);
	}
	if (run.phase_timer != NULL)
		event_free(run.phase_timer);
	if (run.sched_timer != NULL)
		event_free(run.sched_timer);
	if (run.sess != NULL) {
		for (unsigned i = 0; i < run.nsess; i++) {
			client_conn_close(&run.sess[i]);
			if (run.sess[i].pending != NULL)
				evbuffer_free(run.sess[i].pending);
			if (run.sess[i].backoff != NULL)
				event_free(run.sess[i].backoff);
			bench_http_rsp_deinit(&run.sess[i].rsp);
		}
	}
	/* Let the loop finalize the freed bufferevents (and free their SSL objects). */
	event_base_loop(base, EVLOOP_NONBLOCK);
	free(run.sess);
	free(run.idle);
	free(run.q);
	return rc;
}
