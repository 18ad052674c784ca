/*
 * mbxbench.h: the pieces of mbxbench(1), the load generator for mbxstored's MAPI over HTTP
 * mailbox endpoint ([MS-OXCMAPIHTTP] 2.2.2-2.2.4; protocol.md 5). Each file has one job:
 *
 *   mbxbench.c        main(): options, the order of the runs, the exit status
 *   bench-hist.c      a log-linear latency histogram (HDR-like, microseconds)
 *   bench-http.c      an incremental HTTP/1.1 response parser (status line, headers, chunked or
 *                     Content-Length bodies, the Set-Cookie values of the session context)
 *   bench-mapi.c      the request bodies (Connect, Execute of RopLogon + RopRelease, Disconnect)
 *                     and the validation of every response, with the core's sans-I/O codecs
 *   bench-target.c    the targets (URL -> address, Host, path) and the client TLS context
 *   bench-client.c    the libevent client: N session contexts on keep-alive connections
 *                     (plain or bufferevent_openssl), closed loop or an open-loop request rate;
 *                     its connections are bench-client-conn.c, the open loop's schedule
 *                     bench-client-sched.c (bench-client-int.h)
 *   bench-responder.c the in-process baseline: an evhttp responder in its own thread that
 *                     answers like a MAPI/HTTP server with canned bodies of the real size
 *   bench-report.c    text and JSON output
 *   bench-selftest.c  --self-test: known answers for the histogram and the HTTP parser
 */
#ifndef MBXBENCH_H
#define MBXBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "mbx/mapihttp.h"

struct event_base;
struct evbuffer;

#define BENCH_EXIT_OK 0
#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2

/* ---- bench-hist.c ------------------------------------------------------------------------- */

/* Buckets: values below 2^(SUB_BITS+1) us are exact; above, each power of two is split into
 * 2^SUB_BITS equal sub-buckets, so a recorded value is off by less than 1/1024 (0.1%, three
 * significant digits, like HdrHistogram's default). Values above BENCH_HIST_MAX_US (about 19
 * hours) are clamped to it and counted in `clamped`. */
#define BENCH_HIST_SUB_BITS 10
#define BENCH_HIST_MAX_BITS 36
#define BENCH_HIST_MAX_US ((UINT64_C(1) << BENCH_HIST_MAX_BITS) - 1)
#define BENCH_HIST_BUCKETS                                                                         \
	((size_t)(BENCH_HIST_MAX_BITS - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS)

struct bench_hist {
	uint64_t *counts; /* BENCH_HIST_BUCKETS, owned */
	uint64_t total;
	uint64_t min, max; /* exact, microseconds; min is UINT64_MAX while empty */
	uint64_t sum;
	uint64_t clamped;
};

/* Returns 0 or -1 (allocation failure). */
int bench_hist_init(struct bench_hist *h);
/* NULL-safe for a zeroed struct. */
void bench_hist_deinit(struct bench_hist *h);
void bench_hist_reset(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t us);
/* Bucket of a value (clamped), and the lowest and highest values a bucket stands for. */
size_t bench_hist_index(uint64_t us);
uint64_t bench_hist_lowest(size_t idx);
uint64_t bench_hist_highest(size_t idx);
/* The smallest recorded value v (as its bucket's highest equivalent, at most the exact
 * maximum) such that at least pct percent of the recorded values are <= v; 0 when empty.
 * pct is clamped to 0..100. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);
double bench_hist_mean(const struct bench_hist *h);

/* ---- bench-http.c ------------------------------------------------------------------------- */

#define BENCH_HTTP_LINE_MAX 8192u    /* status line, one header, one chunk-size line */
#define BENCH_HTTP_HEADERS_MAX 100u  /* header lines of one response (trailers too) */
#define BENCH_HTTP_BODY_MAX (1u << 20) /* de-chunked body bytes kept */
#define BENCH_HTTP_ERR_MAX 192u
#define BENCH_COOKIE_MAX (MBX_MH_COOKIE_VALUE_MAX + 1u)

enum bench_http_state {
	BENCH_HTTP_STATUS,
	BENCH_HTTP_HEADERS,
	BENCH_HTTP_BODY_LENGTH,
	BENCH_HTTP_BODY_CLOSE, /* no length, not chunked: the body ends when the server closes */
	BENCH_HTTP_CHUNK_SIZE,
	BENCH_HTTP_CHUNK_DATA,
	BENCH_HTTP_CHUNK_CRLF,
	BENCH_HTTP_TRAILERS,
	BENCH_HTTP_DONE,
	BENCH_HTTP_ERROR,
};

/* One response being read. Only what mbxbench looks at is kept. */
struct bench_http_rsp {
	enum bench_http_state state;
	unsigned status; /* 100..599 */
	unsigned minor;  /* HTTP/1.minor */
	bool chunked;
	bool has_length;
	bool close; /* Connection: close, HTTP/1.0 without keep-alive, or a read-until-close body */
	uint64_t left; /* body or chunk bytes still to come */
	unsigned nheaders;
	bool has_rc; /* X-ResponseCode header */
	uint32_t rc;
	bool has_context, has_sequence; /* Set-Cookie MapiContext / MapiSequence */
	char context[BENCH_COOKIE_MAX];
	char sequence[BENCH_COOKIE_MAX];
	size_t wire_bytes; /* bytes of the response consumed from the connection */
	struct evbuffer *body; /* the de-chunked body, owned */
	char err[BENCH_HTTP_ERR_MAX];
};

/* Returns 0 or -1 (allocation failure). */
int bench_http_rsp_init(struct bench_http_rsp *rsp);
void bench_http_rsp_deinit(struct bench_http_rsp *rsp);
/* Ready for the next response on the connection (the body buffer is emptied). */
void bench_http_rsp_reset(struct bench_http_rsp *rsp);

#define BENCH_HTTP_MORE 0
#define BENCH_HTTP_DONE_RC 1
#define BENCH_HTTP_BAD (-1)
/* Consumes bytes of `in` (what the connection delivered) as far as they belong to this
 * response. Returns BENCH_HTTP_DONE_RC (complete; bytes after it stay in `in`),
 * BENCH_HTTP_MORE, or BENCH_HTTP_BAD (rsp->err says why; the connection must be closed).
 * 1xx responses are skipped. */
int bench_http_rsp_feed(struct bench_http_rsp *rsp, struct evbuffer *in);
/* The server closed the connection: completes a read-until-close body (DONE_RC) or fails. */
int bench_http_rsp_eof(struct bench_http_rsp *rsp);

/* ---- bench-mapi.c ------------------------------------------------------------------------- */

/* What the request bodies are built from. */
struct bench_mapi_opts {
	const char *legacy_dn; /* Essdn of RopLogon: the mailbox */
	const char *user_dn;   /* UserDn of Connect: the account's own DN; NULL = legacy_dn */
	bool compress;         /* send the RopBuffer compressed, let the server compress */
	bool xor;              /* send the RopBuffer XORed, let the server XOR */
};

/* The three bodies, built once per run (heap, owned). */
struct bench_mapi_bodies {
	uint8_t *connect;
	size_t connect_len;
	uint8_t *execute;
	size_t execute_len;
	uint8_t *disconnect;
	size_t disconnect_len;
	size_t payload_len;  /* ROP payload (RopSize + RopLogon + RopRelease + handle table) */
	size_t ropbuf_len;   /* the RopBuffer as sent (header + payload as compressed/XORed) */
	uint16_t rhe_flags;  /* RPC_HEADER_EXT Flags as sent */
	uint32_t exec_flags; /* Execute Flags */
};

/* Returns 0, or -1 with a message in err. */
int bench_mapi_build(const struct bench_mapi_opts *o, struct bench_mapi_bodies *b_r, char *err,
                     size_t errsize);
void bench_mapi_free(struct bench_mapi_bodies *b);

/* The outcome of one response: 0 and key "" when it validates, else -1 with a failure key for
 * the per-kind counts ("http:401", "rc:15", "status:0x0000047d", "execute:ecRpcFormat",
 * "logon:ecUnknownUser", "proto:envelope", ...) and a sentence for the first one of each key. */
struct bench_verdict {
	char key[48];
	char detail[256];
	bool drop_context; /* the session context is gone or out of step: Connect again */
};

enum bench_reqtype {
	BENCH_REQ_CONNECT,
	BENCH_REQ_EXECUTE,
	BENCH_REQ_DISCONNECT,
};

const char *bench_reqtype_name(enum bench_reqtype t);
/* Validates a complete response of request type t: HTTP 200, X-ResponseCode 0, the envelope,
 * StatusCode 0, ErrorCode 0 and, for Execute, one RopLogon success response (the RopRelease
 * has none) with a one-entry handle table. Returns 0 or -1 (v says what). */
int bench_mapi_check(enum bench_reqtype t, struct bench_http_rsp *rsp, struct bench_verdict *v);

/* ---- bench-target.c, bench-client.c ------------------------------------------------------ */

struct bench_target {
	const char *name;  /* "daemon", "baseline" */
	char url[1200];    /* as printed */
	bool tls;
	char host[256];    /* from the URL, brackets removed */
	char hostport[300]; /* Host header */
	char path[1024];   /* path and query */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	SSL_CTX *ssl; /* client context when tls, not owned */
	/* The server's CPU time so far in seconds (user + system), or < 0 when it cannot be
	 * read; NULL when not measured. Read at the start and at the end of the measured
	 * window. */
	double (*server_cpu)(void *arg);
	void *server_cpu_arg;
};

/* Fills t from an http:// or https:// URL (resolving the host once, numerically if possible).
 * Returns 0 or -1 with a message in err. */
int bench_target_parse(struct bench_target *t, const char *name, const char *url, char *err,
                       size_t errsize);
/* A client TLS context: verification on unless insecure; ca_file, if given, replaces the
 * system store. Returns NULL with a message in err. */
SSL_CTX *bench_tls_client_ctx(bool insecure, const char *ca_file, char *err, size_t errsize);

struct bench_load {
	unsigned concurrency;
	double duration; /* s; ignored when requests > 0 */
	double warmup;   /* s */
	uint64_t requests; /* fixed measured count, 0 = by duration */
	double rate;       /* requests per second (open loop), 0 = closed loop */
	double timeout;    /* s: per response, and for the drain at the end */
	const char *user;
	const char *password;
	const char *client_app;
	bool quiet;
	const struct bench_mapi_bodies *bodies;
};

#define BENCH_FAIL_KINDS 64

struct bench_fail {
	char key[48];
	uint64_t count;
	char detail[256]; /* the first one */
};

struct bench_result {
	const char *name;
	char url[1200];
	bool tls;
	uint64_t ok;        /* measured Execute successes */
	uint64_t failed;    /* measured Execute failures */
	uint64_t errors;    /* every failure of the run (Connect, warmup, drain, Disconnect too) */
	double elapsed;     /* s, of the measurement */
	double rps;         /* ok / elapsed */
	struct bench_hist hist; /* latency of the measured successes, us */
	uint64_t conn_opened;   /* TCP (+TLS) connections opened */
	uint64_t conn_reopened; /* ... of which reopened after a close */
	uint64_t conn_closed_by_server;
	uint64_t sessions_connected; /* successful Connect requests */
	uint64_t session_restarts;   /* Connects after a lost context */
	uint64_t disconnected;       /* successful Disconnect requests at the end */
	uint64_t unsent;             /* open loop: scheduled but never sent before the drain ended */
	uint64_t unfinished;         /* in flight when the drain timed out */
	uint64_t backlog_max;        /* open loop: the longest queue of due requests */
	uint64_t rsp_bytes;          /* size of the last Execute response body (de-chunked) */
	uint64_t rsp_wire_bytes;     /* ... and of the whole HTTP response */
	double rate;                 /* the requested rate, 0 = closed loop */
	struct bench_fail fails[BENCH_FAIL_KINDS];
	unsigned nfails;
	uint64_t fails_dropped; /* failures of kinds beyond the table */
	bool aborted;           /* no session could Connect, or interrupted */
	char abort_why[256];
	/* CPU seconds over the measured window (from its start to the start of the drain): the
	 * server's (has_server_cpu: the target has a probe and both readings worked) and the
	 * client's event loop thread. */
	bool has_server_cpu;
	double server_cpu_s;
	double client_cpu_s;
};

/* Runs the load against t on base (a fresh run: res is initialised here; free it with
 * bench_result_deinit). Returns 0 when the run completed (failures may be counted), -1 when it
 * could not run at all (res->abort_why). */
int bench_client_run(struct event_base *base, const struct bench_target *t,
                     const struct bench_load *load, struct bench_result *res);
void bench_result_deinit(struct bench_result *res);
/* Counts one failure of kind key. */
void bench_result_fail(struct bench_result *res, const char *key, const char *detail);

/* ---- bench-responder.c -------------------------------------------------------------------- */

struct bench_responder;

struct bench_responder_opts {
	bool tls;
	const char *listen;   /* "ADDRESS:PORT"; NULL = 127.0.0.1 on a port the OS picks */
	size_t body_size;     /* Execute response body to match (0 = the natural size) */
	uint32_t logon_ec;    /* RopLogon ReturnValue to answer (0 = private success) */
	uint32_t exec_flags;  /* the client's Execute Flags: compress the canned RopBuffer if they
	                       * allow it and it shrinks */
	bool xor;             /* ... and XOR it if they allow it */
	unsigned close_every; /* answer every n-th Execute with Connection: close (0 = never) */
};

/* Starts the responder in its own thread. Returns NULL with a message in err. */
struct bench_responder *bench_responder_start(const struct bench_responder_opts *o, char *err,
                                              size_t errsize);
/* "http://127.0.0.1:PORT/mapi/emsmdb/" */
const char *bench_responder_url(const struct bench_responder *r);
/* The self-signed certificate of a TLS responder (PEM), to trust in the client context. */
X509 *bench_responder_cert(const struct bench_responder *r);
/* The canned Execute response body (envelope included) as sent, and before padding. */
size_t bench_responder_body_size(const struct bench_responder *r);
size_t bench_responder_natural_size(const struct bench_responder *r);
/* Requests answered so far (any type). */
uint64_t bench_responder_requests(const struct bench_responder *r);
/* The responder thread's CPU time so far, in seconds, or -1 (a server_cpu probe: arg is the
 * responder). */
double bench_responder_cpu(void *arg);
/* Stops the thread and frees everything. NULL-safe, clears *r. */
void bench_responder_stop(struct bench_responder **r);

/* ---- bench-report.c ----------------------------------------------------------------------- */

struct bench_report {
	const struct bench_load *load;
	const struct bench_mapi_bodies *bodies;
	const struct bench_result *daemon;   /* may be NULL */
	const struct bench_result *baseline; /* may be NULL */
	size_t baseline_body;                /* the baseline's Execute response body size */
};

void bench_report_text(FILE *f, const struct bench_report *rep);
/* Returns 0 or -1 (the JSON writer failed). */
int bench_report_json(FILE *f, const struct bench_report *rep);

/* ---- bench-selftest.c --------------------------------------------------------------------- */

/* Prints "N passed, M failed" and returns the exit status. */
int bench_selftest(void);

/* ---- shared helpers (bench-client.c) ------------------------------------------------------ */

uint64_t bench_now_ns(void);
/* The calling thread's CPU time in seconds. */
double bench_thread_cpu(void);

#endif
