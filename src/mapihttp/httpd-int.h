/*
 * httpd-int.h: what httpd.c (the server, its connections and their states), httpd-read.c
 * (reading a request) and httpd-reply.c (requests' accessors, response headers, answers)
 * share. Not a public header: the API is
 * include/mbx/httpd.h, whose opening comment is the behaviour specification.
 */
#ifndef MBX_HTTPD_INT_H
#define MBX_HTTPD_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mapihttp/http-parse.h"
#include "mbx/httpd.h"
#include "mbx/textfmt.h"

struct event;
struct evbuffer;
struct evconnlistener;

#define HTTPD_MAX_LISTENERS 8
#define HTTPD_PEER_NAME_MAX 64   /* "[" INET6_ADDRSTRLEN "]:" port NUL fits */
#define HTTPD_HDR_INLINE 1536    /* response header lines kept in the request itself */
#define HTTPD_LINGER_SECONDS 2   /* reading and dropping after the last answer */
#define HTTPD_DATE_LEN MBX_FMT_HTTP_DATE_LEN /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTPD_READ_AHEAD 16384   /* input kept beyond max_head_bytes before reading stops */

/* A connection's state (one request at a time). */
enum httpd_state {
	HTTPD_HEAD,    /* reading a request head (or waiting for one: keep-alive) */
	HTTPD_BODY,    /* reading its body (c->req holds it) */
	HTTPD_HANDLED, /* the handler holds c->req (EV_READ off once it returns without answering) */
	HTTPD_WRITING, /* the answer is queued; waiting for the output to drain (input waits) */
	HTTPD_REFUSED, /* an error answer is queued; the input is dropped; then HTTPD_LINGER */
	HTTPD_LINGER,  /* write side shut; reading and dropping until EOF or 2 s */
};

struct httpd_conn {
	struct mbx_httpd *h;
	struct httpd_conn *prev, *next;
	struct bufferevent *bev;
	struct event *timer; /* request deadline, then the lingering close (lazy: see deadline) */
	struct event *flush; /* moves a streamed answer from stage to the output (lazy) */
	struct evbuffer *stage; /* a streamed answer being built (lazy) */
	struct mbx_http_req *req; /* being read (HTTPD_BODY) or with the handler */
	enum httpd_state state;
	bool close_after; /* the connection ends once the answer is written */
	bool peer_eof;    /* the client half-closed (seen while an answer was written) */
	bool dead;        /* freed while a callback of ours runs: free(c) when busy drops to 0 */
	unsigned busy;
	size_t scan;      /* input bytes already searched for the end of the head */
	struct mbx_httpd_limits lim; /* for the request being read */
	const struct timeval *req_tv; /* common timeout the timer was last armed with */
	int64_t deadline; /* monotonic ms: request deadline or end of lingering; 0: none */
	socklen_t peerlen;
	struct sockaddr_storage peer;
	char peer_name[HTTPD_PEER_NAME_MAX];
};

struct mbx_httpd {
	struct event_base *base;
	struct mbx_httpd_limits lim; /* defaults applied */
	const struct timeval *req_tv, *linger_tv; /* common timeouts */
	mbx_httpd_req_fn *req_fn;
	void *req_arg;
	mbx_httpd_bev_fn *bev_fn;
	void *bev_arg;
	mbx_httpd_conn_fn *conn_fn;
	void *conn_arg;
	struct evconnlistener *listeners[HTTPD_MAX_LISTENERS];
	size_t nlisteners;
	struct event *backoff; /* accepting stopped for a while after an accept error */
	bool paused, backing_off;
	struct httpd_conn *conns;
	size_t nconns;
	int64_t date_sec; /* second the cached Date was formatted for */
	char date[HTTPD_DATE_LEN + 1];
};

enum httpd_phase {
	HTTPD_REQ_READING, /* body being read: not the handler's yet */
	HTTPD_REQ_HELD,    /* with the handler, no answer started */
	HTTPD_REQ_STREAM,  /* reply_start called */
};

struct mbx_http_req {
	struct httpd_conn *conn; /* NULL once detached */
	enum httpd_phase phase;
	mbx_http_close_fn *close_fn;
	void *close_arg;
	bool has_date;     /* the handler added Date */
	bool close;        /* the handler added Connection: close */
	bool path_done;
	bool stream_body;  /* a streamed answer carries a body */
	bool stream_chunked;
	bool stream_close;
	/* the body: in data[] for Content-Length, in body_heap for a chunked one */
	uint8_t *body;
	size_t body_len, body_want, body_cap;
	uint8_t *body_heap;
	struct mbx_http_chunked chunked;
	char *path;    /* decoded path in data[] (NULL: none or malformed) */
	char *pathbuf;
	size_t pathcap;
	/* response header lines "Name: value\r\n" */
	char *hdr;
	size_t hdr_len, hdr_cap;
	socklen_t peerlen;
	struct sockaddr_storage peer;
	char peer_name[HTTPD_PEER_NAME_MAX];
	struct mbx_http_head head; /* only nfields entries of fields[] are copied */
	char hdr_inline[HTTPD_HDR_INLINE];
	char data[]; /* the head as parsed, the path buffer, a Content-Length body */
};

/* httpd.c */
void httpd_conn_free(struct httpd_conn *c);
/* Takes the server's limits (mbx_httpd_set_limits) for the request about to start. */
void httpd_conn_limits(struct httpd_conn *c);
/* Logs the refusal, drops the request being read and the input, queues the error answer
 * (Connection: close); the connection then lingers and closes. */
void httpd_conn_refuse(struct httpd_conn *c, int status, const char *why);
/* The answer in the output is complete (or the stage holds its end): once it is written the
 * connection reads the next request or closes. */
void httpd_conn_answered(struct httpd_conn *c, bool close);
/* Reading resumes (a streamed answer started) unless the input is full or the client is done. */
void httpd_conn_read_resume(struct httpd_conn *c);
/* Schedules moving c->stage into the output (from the event loop). */
void httpd_conn_schedule_flush(struct httpd_conn *c);
const char *httpd_date(struct mbx_httpd *h);

/* httpd-read.c: each returns one of these; after HTTPD_READ_FAILED the connection was refused
 * (or freed) */
enum { HTTPD_READ_MORE, HTTPD_READ_NEXT, HTTPD_READ_DONE, HTTPD_READ_FAILED };
/* HTTPD_READ_NEXT: the head is in c->req and its body is to be read (state HTTPD_BODY), or
 * empty lines were dropped; HTTPD_READ_DONE: c->req is complete. */
int httpd_read_head(struct httpd_conn *c, struct evbuffer *in);
int httpd_read_body(struct httpd_conn *c, struct evbuffer *in);

/* httpd-reply.c */
void httpd_req_free(struct mbx_http_req *req);
/* Detaches a request the handler holds from its dying connection; runs its close callback. */
void httpd_req_detach(struct mbx_http_req *req);
/* Writes an answer made by the server itself (error statuses) with Connection: close. */
int httpd_write_error(struct httpd_conn *c, int status);
const char *httpd_reason(int status);

#endif
