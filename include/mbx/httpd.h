/*
 * httpd.h: mbxstore's HTTP/1.1 server (RFC 9112 message syntax, RFC 9110 semantics) on
 * libevent bufferevents, plain or TLS (bufferevent_openssl, made by the daemon's callback).
 * It replaces evhttp for the MAPI/HTTP and Autodiscover listeners: evhttp spends about two
 * thousand instructions on each response header (three allocations, a printf, a list walk per
 * lookup) and a MAPI/HTTP answer carries a dozen; here the handler's header lines are copied
 * into one buffer and the whole answer goes out in one evbuffer chain (one TLS record).
 *
 * The code is src/mapihttp/httpd.c (connections, answers) and src/mapihttp/http-parse.c (the
 * request syntax, sans I/O: src/mapihttp/http-parse.h).
 *
 * One connection serves one request at a time, in order (pipelined requests wait in the input
 * buffer, RFC 9112 9.3.2). For each connection:
 *   - the whole next request (head and body) must arrive within timeout_seconds of the
 *     connection being ready for it (accepted, or the previous answer written): otherwise 408
 *     (if some of it came) or a silent close (if nothing did); a keep-alive connection idle
 *     that long is closed the same way;
 *   - a head over max_head_bytes gets 431, a malformed one 400 (http-parse.h says what is
 *     refused and with which status), Content-Length or a chunked body over max_body_bytes 413,
 *     all followed by closing the connection (after the answer is written, with a lingering
 *     close: the rest of the input is read and dropped for up to 2 s, so that the client sees
 *     the answer and not a reset);
 *   - Expect: 100-continue gets "HTTP/1.1 100 Continue" before the body is read (unless the
 *     announced body is too large: then 413 at once);
 *   - while the handler holds a request, reading stops (as evhttp does): a client that goes
 *     away is noticed when writing to it fails or times out (timeout_seconds without progress);
 *     once a streamed answer has started (mbx_http_reply_start), reading resumes (as in evhttp)
 *     and a client that closes or resets is noticed at once; the request is then detached (its
 *     close callback runs) and stays valid until the handler answers it, which then only
 *     frees it;
 *   - HTTP/1.0 requests and requests with Connection: close are answered, then the connection
 *     closes; the answer says "Connection: close" then.
 * Every accepted socket gets TCP_NODELAY.
 */
#ifndef MBX_HTTPD_H
#define MBX_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

struct event_base;
struct bufferevent;
struct mbx_httpd;
struct mbx_http_req;

/* The request methods (case-sensitive tokens, RFC 9110 9.1). */
enum mbx_http_method {
	MBX_HTTP_GET,
	MBX_HTTP_HEAD,
	MBX_HTTP_POST,
	MBX_HTTP_PUT,
	MBX_HTTP_DELETE,
	MBX_HTTP_OPTIONS,
	MBX_HTTP_TRACE,
	MBX_HTTP_PATCH,
	MBX_HTTP_CONNECT,
	MBX_HTTP_OTHER, /* another token: mbx_http_req_method_name says which */
};

struct mbx_httpd_limits {
	unsigned timeout_seconds; /* see above; 0 = 60 */
	size_t max_head_bytes;    /* request line + fields; 0 = 65536 */
	size_t max_body_bytes;    /* 0 = no body allowed (413 for any) */
};

/* Makes the bufferevent of an accepted connection (fd: non-blocking, TCP_NODELAY already set),
 * e.g. bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
 * BEV_OPT_CLOSE_ON_FREE). NULL refuses the connection (the server closes fd). */
typedef struct bufferevent *mbx_httpd_bev_fn(struct event_base *base, evutil_socket_t fd,
                                             void *arg);
/* A complete request (head and body read). The handler answers it with one of the reply calls
 * below, now or later; until then the connection reads nothing more. */
typedef void mbx_httpd_req_fn(struct mbx_http_req *req, void *arg);
/* A connection was opened (+1) or closed (-1): for max_connections accounting. */
typedef void mbx_httpd_conn_fn(void *arg, int delta);
/* The connection of a request the handler still holds went away. req stays valid (detached)
 * until the handler answers it; the reply calls then only free it. Runs at most once. */
typedef void mbx_http_close_fn(struct mbx_http_req *req, void *arg);

/* NULL when out of memory. lim may be NULL (the defaults). */
struct mbx_httpd *mbx_httpd_new(struct event_base *base, const struct mbx_httpd_limits *lim);
/* Stops listening and closes every connection: requests the handler holds are detached first
 * (their close callbacks run). Detached requests outlive the server. NULL-safe; clears *h. */
void mbx_httpd_free(struct mbx_httpd **h);
/* New limits: for requests that start from now on. */
void mbx_httpd_set_limits(struct mbx_httpd *h, const struct mbx_httpd_limits *lim);
void mbx_httpd_set_max_body(struct mbx_httpd *h, size_t max_body_bytes);
/* Without a handler every request gets 404. */
void mbx_httpd_set_cb(struct mbx_httpd *h, mbx_httpd_req_fn *fn, void *arg);
/* Without one, connections are plain: bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE). */
void mbx_httpd_set_bevcb(struct mbx_httpd *h, mbx_httpd_bev_fn *fn, void *arg);
void mbx_httpd_set_conncb(struct mbx_httpd *h, mbx_httpd_conn_fn *fn, void *arg);
/* Accepts connections on fd (bound, listening, non-blocking; closed with the server). At most
 * 8 per server. Returns 0 or -1. */
int mbx_httpd_listen_fd(struct mbx_httpd *h, evutil_socket_t fd);
/* For tests: listens on addr (numeric IPv4 or IPv6) port (0: any); *port_r the port taken. */
int mbx_httpd_bind(struct mbx_httpd *h, const char *addr, uint16_t port, uint16_t *port_r);
/* Stops / resumes accepting on every listening socket (connections open are not affected). */
void mbx_httpd_pause(struct mbx_httpd *h, bool pause);
/* Closes every listening socket for good (the drain at stop: new clients are refused, not left
 * in the kernel's queue); connections open are not affected. */
void mbx_httpd_unlisten(struct mbx_httpd *h);
/* Serves a connected socket as if accepted (fuzzing, socketpairs). peer may be NULL. Returns 0,
 * or -1 (fd closed). */
int mbx_httpd_add_connection(struct mbx_httpd *h, evutil_socket_t fd, const struct sockaddr *peer,
                             socklen_t peerlen);
/* Connections open now. */
size_t mbx_httpd_connections(const struct mbx_httpd *h);

/* ---- a request ------------------------------------------------------------------------------ */

enum mbx_http_method mbx_http_req_method(const struct mbx_http_req *req);
const char *mbx_http_req_method_name(const struct mbx_http_req *req);
/* The request-target as sent ("/mapi/emsmdb/?MailboxId=..."). */
const char *mbx_http_req_target(const struct mbx_http_req *req);
/* Its path, percent-decoded (mbx_http_target_path); NULL when the target has none or is
 * malformed. Valid as long as req. */
const char *mbx_http_req_path(struct mbx_http_req *req);
/* 0 or 1: HTTP/1.0 or HTTP/1.1. */
unsigned mbx_http_req_minor(const struct mbx_http_req *req);
/* Header fields in the order received; names as sent. NULL past the end. */
size_t mbx_http_req_nfields(const struct mbx_http_req *req);
const char *mbx_http_req_field_name(const struct mbx_http_req *req, size_t i);
const char *mbx_http_req_field_value(const struct mbx_http_req *req, size_t i);
/* The first field of this name (case-insensitive), or NULL. */
const char *mbx_http_req_header(const struct mbx_http_req *req, const char *name);
/* The body (contiguous; "" and 0 when none). Valid as long as req. */
const uint8_t *mbx_http_req_body(const struct mbx_http_req *req, size_t *len_r);
/* The peer's address as accepted (family AF_UNSPEC when unknown), and as "host:port" ("-"
 * when unknown). Valid as long as req, also when detached. */
const struct sockaddr *mbx_http_req_peer(const struct mbx_http_req *req, socklen_t *len_r);
const char *mbx_http_req_peer_name(const struct mbx_http_req *req);
/* Whether the connection is still there. */
bool mbx_http_req_attached(const struct mbx_http_req *req);
void mbx_http_req_set_closecb(struct mbx_http_req *req, mbx_http_close_fn *fn, void *arg);

/* ---- the answer ---------------------------------------------------------------------------- */

/*
 * Adds a response header line. name must be a token and value must hold no CR, LF or NUL
 * (otherwise the line is dropped and logged: never a header injection). Lines are copied at
 * once. The server adds Date (unless one was added), Content-Length or Transfer-Encoding, and
 * Connection: close when the connection ends after the answer.
 */
void mbx_http_req_add_header(struct mbx_http_req *req, const char *name, const char *value);
/* The same with a value of known length (no NUL needed). */
void mbx_http_req_add_header_n(struct mbx_http_req *req, const char *name, const char *value,
                               size_t len);

/*
 * Answers in one piece: status line (reason NULL: the standard phrase), the headers added,
 * Content-Length: len, the body (not sent for HEAD, nor for 1xx, 204 and 304). Frees req.
 */
void mbx_http_reply(struct mbx_http_req *req, int status, const char *reason, const void *body,
                    size_t len);
/*
 * A streamed answer: the status line and headers with Transfer-Encoding: chunked (HTTP/1.1),
 * or without length (HTTP/1.0: the end of the body is the end of the connection). size_hint:
 * the bytes expected before the answer ends, so that they can be kept in one buffer chain (one
 * TLS record). Nothing leaves before the event loop runs again: an answer started and ended in
 * one turn goes out in one write.
 */
void mbx_http_reply_start(struct mbx_http_req *req, int status, const char *reason,
                          size_t size_hint);
/* One chunk (nothing for len 0). */
void mbx_http_reply_chunk(struct mbx_http_req *req, const void *data, size_t len);
/* The last chunk; frees req. */
void mbx_http_reply_end(struct mbx_http_req *req);
/* Drops the request: its connection (if still there) is closed without an answer, or, when an
 * answer was started, ended abruptly. Frees req. */
void mbx_http_req_abort(struct mbx_http_req *req);

#endif
