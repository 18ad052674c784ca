/*
 * bench-responder.c: the baseline of mbxbench(1): a trivial evhttp server in its own thread
 * (own event_base, as the daemon is its own process) that answers the mailbox endpoint of MAPI
 * over HTTP ([MS-OXCMAPIHTTP] 2.2.4.1-2.2.4.3; protocol.md 5) with canned bodies built once by
 * the core's encoders: a Connect response with the session cookies, an Execute response whose
 * RopBuffer holds a 166-byte private RopLogon success (protocol.md 2.1), a Disconnect response.
 * It does no store, directory or ROP work; it checks only what is cheap and catches client
 * bugs: POST, Basic credentials present, the MapiContext cookie known and the MapiSequence
 * cookie the one it issued last (a new one with every Execute). The Execute body can be padded
 * (an extra additional header in the envelope, 2.2.7) to the size of the daemon's, so both
 * sides move the same bytes. TLS uses a self-signed P-256 certificate made at start.
 */
#include "mbxbench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mbx/oxcstor.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"
#include "mbx/types.h"

#define RESP_CONTEXTS_MAX (1u << 20)
#define RESP_PAD_LINE 1000u /* bytes of one padding header line, CRLF included */
/* Padding beyond this is not done: the envelope parser allows MBX_MH_ENV_HEADERS_MAX lines. */
#define RESP_PAD_MAX (20u * RESP_PAD_LINE)

struct resp_body {
	uint8_t *p;
	size_t len;
};

struct bench_responder {
	pthread_t thread;
	bool running;
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	X509 *cert;
	EVP_PKEY *key;
	char url[128];
	struct resp_body connect, execute, disconnect;
	size_t execute_natural; /* before padding */
	uint64_t *seq;          /* per context: the MapiSequence value issued last, 0 = closed */
	size_t nctx, capctx;
	uint64_t requests; /* __atomic */
	unsigned close_every;
	uint64_t executes;
	struct evbuffer *chunk;
};

/* ---- canned bodies --------------------------------------------------------------------------- */

/* The envelope (PROCESSING, DONE, additional headers) and body into a heap buffer; pad extra
 * bytes added to the additional headers: up to 19 as digits of X-ElapsedTime, more as
 * "X-Pad: xxx" lines. */
static int resp_wrap(struct resp_body *out, const uint8_t *body, size_t len, size_t pad,
                     time_t now)
{
	static uint8_t buf[MBX_MH_ROP_MAX + 4096];
	struct wr w;
	uint64_t elapsed = 0;
	size_t lines_pad = 0;

	if (pad >= 1 && pad <= 19) {
		elapsed = 1;
		for (size_t i = 0; i < pad; i++)
			elapsed *= 10;
	} else if (pad >= 20 && pad <= RESP_PAD_MAX) {
		lines_pad = pad;
	}
	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, MBX_MH_META_PROCESSING, strlen(MBX_MH_META_PROCESSING));
	if (mbx_mh_env_done(&w, 0, elapsed, now) != 0 || w.len < 2)
		return -1;
	w.len -= 2; /* the blank line goes after the padding */
	while (lines_pad > 0) {
		/* "X-Pad: " + n x + CRLF; keep the last line at least 10 bytes long. */
		size_t line = lines_pad > RESP_PAD_LINE ? RESP_PAD_LINE : lines_pad;

		if (lines_pad > RESP_PAD_LINE && lines_pad - RESP_PAD_LINE < 10)
			line = lines_pad - 10;
		wr_bytes(&w, "X-Pad: ", 7);
		for (size_t i = 0; i < line - 9; i++)
			wr_u8(&w, 'x');
		wr_bytes(&w, "\r\n", 2);
		lines_pad -= line;
	}
	wr_bytes(&w, "\r\n", 2);
	wr_bytes(&w, body, len);
	if (!wr_ok(&w))
		return -1;
	out->p = malloc(w.len);
	if (out->p == NULL)
		return -1;
	memcpy(out->p, buf, w.len);
	out->len = w.len;
	return 0;
}

static int resp_build(struct bench_responder *r, const struct bench_responder_opts *o, char *err,
                      size_t errsize)
{
	static const uint64_t globcnt[MBX_LOGON_NFIDS] = {0x01, 0x02, 0x03, 0x09, 0x0d, 0x0c, 0x0a,
	                                                  0x0b, 0x07, 0x08, 0x05, 0x06, 0x04};
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t ropbuf[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	static uint8_t body[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 256];
	time_t now = time(NULL);
	struct mbx_logon_resp lr;
	struct mbx_mh_execute_rsp x;
	struct mbx_mh_connect_rsp c;
	struct mbx_mh_disconnect_rsp d = {0, 0, NULL};
	uint8_t aux[64];
	struct wr w, aw;
	size_t at, pad = 0;
	struct resp_body probe;

	memset(&lr, 0, sizeof(lr));
	lr.out_idx = 0;
	lr.rv = o->logon_ec;
	if (o->logon_ec == 0) {
		lr.kind = MBX_LOGON_RESP_PRIVATE;
		lr.logon_flags = MBX_LOGON_PRIVATE;
		for (unsigned i = 0; i < MBX_LOGON_NFIDS; i++)
			lr.fids[i] = mbx_fid_make(1, globcnt[i]);
		lr.response_flags = MBX_RESP_RESERVED | MBX_RESP_OWNER_RIGHT | MBX_RESP_SEND_AS_RIGHT;
		if (RAND_bytes(lr.mailbox_guid.b, 16) != 1 || RAND_bytes(lr.repl_guid.b, 16) != 1)
			memset(lr.mailbox_guid.b, 0x42, 16);
		lr.replid = 5;
		mbx_logon_time_from_unix(now, &lr.logon_time);
		lr.gwart_time = mbx_filetime_from_unix(now, 0);
	} else if (o->logon_ec == ecWrongServer) {
		lr.kind = MBX_LOGON_RESP_REDIRECT;
		lr.logon_flags = MBX_LOGON_PRIVATE;
		snprintf(lr.server, sizeof(lr.server),
		         "/o=mbxbench/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
		         "/cn=Configuration/cn=Servers/cn=elsewhere");
	} else {
		lr.kind = MBX_LOGON_RESP_FAILURE;
	}
	wr_init(&w, payload, sizeof(payload));
	at = wr_reserve(&w, 2);
	if (mbx_roplogon_resp_encode(&w, &lr) != 0) {
		snprintf(err, errsize, "cannot encode the canned RopLogon response");
		return -1;
	}
	wr_patch_u16le(&w, at, (uint16_t)w.len);
	wr_u32le(&w, o->logon_ec == 0 ? 0x00000001u : MBX_HANDLE_NONE);
	{
		struct wr rw;

		wr_init(&rw, ropbuf, sizeof(ropbuf));
		if (!wr_ok(&w) || mbx_rhe_write(&rw, payload, w.len, o->exec_flags, o->xor, true,
		                                scratch) != 0) {
			snprintf(err, errsize, "cannot frame the canned RopBuffer");
			return -1;
		}
		x = (struct mbx_mh_execute_rsp){0, 0, (uint32_t)rw.len, ropbuf, 0, NULL};
	}
	wr_init(&w, body, sizeof(body));
	if (mbx_mh_execute_rsp_encode(&w, &x) != 0) {
		snprintf(err, errsize, "cannot encode the canned Execute response");
		return -1;
	}
	if (resp_wrap(&probe, body, w.len, 0, now) != 0) {
		snprintf(err, errsize, "cannot wrap the canned Execute response");
		return -1;
	}
	r->execute_natural = probe.len;
	if (o->body_size > probe.len) {
		pad = o->body_size - probe.len;
		free(probe.p);
		if (resp_wrap(&r->execute, body, w.len, pad, now) != 0) {
			snprintf(err, errsize, "cannot pad the canned Execute response");
			return -1;
		}
	} else {
		r->execute = probe;
	}

	wr_init(&aw, aux, sizeof(aux));
	if (mbx_mh_aux_connect_write(&aw, NULL) != 0) {
		snprintf(err, errsize, "cannot build the Connect auxiliary buffer");
		return -1;
	}
	c = (struct mbx_mh_connect_rsp){
	        .error_code = 0,
	        .polls_max = 60000,
	        .retry_count = 6,
	        .retry_delay = 10000,
	        .dn_prefix = "",
	        .display_name = "mbxbench baseline",
	        .aux_len = (uint32_t)aw.len,
	        .aux = aux,
	};
	wr_init(&w, body, sizeof(body));
	if (mbx_mh_connect_rsp_encode(&w, &c) != 0 || resp_wrap(&r->connect, body, w.len, 0, now) != 0) {
		snprintf(err, errsize, "cannot build the canned Connect response");
		return -1;
	}
	wr_init(&w, body, sizeof(body));
	if (mbx_mh_disconnect_rsp_encode(&w, &d) != 0 ||
	    resp_wrap(&r->disconnect, body, w.len, 0, now) != 0) {
		snprintf(err, errsize, "cannot build the canned Disconnect response");
		return -1;
	}
	return 0;
}

/* ---- TLS ------------------------------------------------------------------------------------- */

static int resp_tls(struct bench_responder *r, char *err, size_t errsize)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name;
	uint32_t serial = 0;

	r->key = EVP_EC_gen("P-256");
	r->cert = X509_new();
	if (r->key == NULL || r->cert == NULL)
		goto fail;
	(void)RAND_bytes((unsigned char *)&serial, sizeof(serial));
	X509_set_version(r->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(r->cert), (long)(serial >> 1) + 1);
	X509_gmtime_adj(X509_getm_notBefore(r->cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(r->cert), 7L * 86400);
	X509_set_pubkey(r->cert, r->key);
	name = X509_get_subject_name(r->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"mbxbench baseline", -1, -1, 0);
	X509_set_issuer_name(r->cert, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, r->cert, r->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	                          "IP:127.0.0.1,IP:::1,DNS:localhost");
	if (ext == NULL || X509_add_ext(r->cert, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(r->cert, r->key, EVP_sha256()) == 0)
		goto fail;
	r->ssl = SSL_CTX_new(TLS_server_method());
	if (r->ssl == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(r->ssl, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate(r->ssl, r->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(r->ssl, r->key) != 1)
		goto fail;
	return 0;
fail:
	snprintf(err, errsize, "cannot make the baseline's TLS certificate: %s",
	         ERR_reason_error_string(ERR_peek_last_error()));
	return -1;
}

static struct bufferevent *resp_bev_cb(struct event_base *base, void *arg)
{
	struct bench_responder *r = arg;
	SSL *ssl = SSL_new(r->ssl);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ---- requests -------------------------------------------------------------------------------- */

static void resp_echo(struct evhttp_request *req, struct evkeyvalq *out, const char *type)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *v;

	evhttp_add_header(out, "X-RequestType", type);
	if ((v = evhttp_find_header(in, "X-RequestId")) != NULL)
		evhttp_add_header(out, "X-RequestId", v);
	if ((v = evhttp_find_header(in, "X-ClientInfo")) != NULL)
		evhttp_add_header(out, "X-ClientInfo", v);
	evhttp_add_header(out, "X-ServerApplication", "mbxbench/" MBX_VERSION);
}

static void resp_error(struct bench_responder *r, struct evhttp_request *req, unsigned rc,
                       const char *type)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	char num[12];

	snprintf(num, sizeof(num), "%u", rc);
	evhttp_add_header(out, "Content-Type", "text/plain");
	resp_echo(req, out, type != NULL ? type : "");
	evhttp_add_header(out, "X-ResponseCode", num);
	if (b != NULL)
		evbuffer_add_printf(b, "%s\r\n", mbx_mh_rc_text(rc));
	evhttp_send_reply(req, 200, "OK", b);
	if (b != NULL)
		evbuffer_free(b);
}

static void resp_send(struct bench_responder *r, struct evhttp_request *req,
                      const struct resp_body *body)
{
	size_t first = strlen(MBX_MH_META_PROCESSING);

	/* Chunked as MS-OXCMAPIHTTP 4.2 shows: PROCESSING first, then the rest. The bytes are
	 * copied, not referenced, so that they join the headers in the output buffer's chains:
	 * over TLS each chain becomes a record and a write(2) of its own. */
	evhttp_send_reply_start(req, 200, "OK");
	evbuffer_add(r->chunk, body->p, first);
	evhttp_send_reply_chunk(req, r->chunk);
	evbuffer_add(r->chunk, body->p + first, body->len - first);
	evhttp_send_reply_chunk(req, r->chunk);
	evhttp_send_reply_end(req);
}

/* The context index from "b<decimal>", or -1. */
static long resp_ctx(const struct bench_responder *r, const char *v, size_t n)
{
	uint64_t x = 0;

	if (n < 2 || n > 12 || v[0] != 'b')
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	return x < r->nctx ? (long)x : -1;
}

static int resp_seq(const char *v, size_t n, uint64_t *seq_r)
{
	uint64_t x = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*seq_r = x;
	return 0;
}

static void resp_cookie_seq(struct evkeyvalq *out, uint64_t seq)
{
	char c[64];

	snprintf(c, sizeof(c), MBX_MH_COOKIE_SEQUENCE "=%llu; path=/mapi/emsmdb/; HttpOnly",
	         (unsigned long long)seq);
	evhttp_add_header(out, "Set-Cookie", c);
}

static void resp_cb(struct evhttp_request *req, void *arg)
{
	struct bench_responder *r = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *typev = evhttp_find_header(in, "X-RequestType");
	const char *auth = evhttp_find_header(in, "Authorization");
	const char *cookie, *cv, *sv;
	size_t cl, sl;
	enum mbx_mh_reqtype type;
	long ctx;
	uint64_t seq;
	char c[64];

	__atomic_fetch_add(&r->requests, 1, __ATOMIC_RELAXED);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		resp_error(r, req, MBX_MH_RC_INVALID_VERB, typev);
		return;
	}
	if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0) {
		evhttp_add_header(out, "WWW-Authenticate", "Basic realm=\"mbxbench\"");
		evhttp_send_reply(req, 401, "Unauthorized", NULL);
		return;
	}
	type = mbx_mh_reqtype_parse(typev);
	if (type == MBX_MH_REQ_CONNECT) {
		if (r->nctx == r->capctx) {
			size_t ncap = r->capctx == 0 ? 256 : r->capctx * 2;
			uint64_t *ns;

			if (ncap > RESP_CONTEXTS_MAX ||
			    (ns = realloc(r->seq, ncap * sizeof(*ns))) == NULL) {
				evhttp_send_reply(req, 503, "Service Unavailable", NULL);
				return;
			}
			r->seq = ns;
			r->capctx = ncap;
		}
		ctx = (long)r->nctx++;
		r->seq[ctx] = 1;
		evhttp_add_header(out, "Content-Type", "application/mapi-http");
		resp_echo(req, out, "Connect");
		evhttp_add_header(out, "X-ResponseCode", "0");
		snprintf(c, sizeof(c), MBX_MH_COOKIE_CONTEXT "=b%ld; path=/mapi/emsmdb/; HttpOnly",
		         ctx);
		evhttp_add_header(out, "Set-Cookie", c);
		resp_cookie_seq(out, 1);
		resp_send(r, req, &r->connect);
		return;
	}
	if (type != MBX_MH_REQ_EXECUTE && type != MBX_MH_REQ_DISCONNECT) {
		resp_error(r, req, MBX_MH_RC_INVALID_REQUEST_TYPE, typev);
		return;
	}
	cookie = evhttp_find_header(in, "Cookie");
	if (cookie == NULL ||
	    mbx_mh_cookie_find(cookie, MBX_MH_COOKIE_CONTEXT, &cv, &cl, NULL) != 1 ||
	    mbx_mh_cookie_find(cookie, MBX_MH_COOKIE_SEQUENCE, &sv, &sl, NULL) != 1) {
		resp_error(r, req, MBX_MH_RC_MISSING_COOKIE, typev);
		return;
	}
	ctx = resp_ctx(r, cv, cl);
	if (ctx < 0 || r->seq[ctx] == 0) {
		resp_error(r, req, MBX_MH_RC_CONTEXT_NOT_FOUND, typev);
		return;
	}
	if (resp_seq(sv, sl, &seq) != 0 || seq != r->seq[ctx]) {
		resp_error(r, req, MBX_MH_RC_INVALID_SEQUENCE, typev);
		return;
	}
	evhttp_add_header(out, "Content-Type", "application/mapi-http");
	if (type == MBX_MH_REQ_DISCONNECT) {
		r->seq[ctx] = 0;
		resp_echo(req, out, "Disconnect");
		evhttp_add_header(out, "X-ResponseCode", "0");
		resp_send(r, req, &r->disconnect);
		return;
	}
	r->seq[ctx]++;
	r->executes++;
	if (r->close_every > 0 && r->executes % r->close_every == 0)
		evhttp_add_header(out, "Connection", "close");
	resp_echo(req, out, "Execute");
	evhttp_add_header(out, "X-ResponseCode", "0");
	resp_cookie_seq(out, r->seq[ctx]);
	resp_send(r, req, &r->execute);
}

/* ---- life ------------------------------------------------------------------------------------ */

static void *resp_thread(void *arg)
{
	struct bench_responder *r = arg;

	event_base_loop(r->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void resp_free(struct bench_responder *r)
{
	if (r->http != NULL)
		evhttp_free(r->http);
	/* Freed bufferevents are finalized by the loop: let it run their callbacks once more,
	 * or the SSL objects of the last connections leak. */
	if (r->base != NULL)
		event_base_loop(r->base, EVLOOP_NONBLOCK);
	if (r->chunk != NULL)
		evbuffer_free(r->chunk);
	if (r->base != NULL)
		event_base_free(r->base);
	if (r->ssl != NULL)
		SSL_CTX_free(r->ssl);
	X509_free(r->cert);
	EVP_PKEY_free(r->key);
	free(r->connect.p);
	free(r->execute.p);
	free(r->disconnect.p);
	free(r->seq);
	free(r);
}

struct bench_responder *bench_responder_start(const struct bench_responder_opts *o, char *err,
                                              size_t errsize)
{
	struct bench_responder *r = calloc(1, sizeof(*r));
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64] = "127.0.0.1", *colon;
	unsigned port = 0;
	int fd, one = 1;

	if (r == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if (o->listen != NULL) {
		if (strlen(o->listen) >= sizeof(host) || (colon = strrchr(o->listen, ':')) == NULL ||
		    sscanf(colon + 1, "%u", &port) != 1 || port > 65535) {
			snprintf(err, errsize, "--listen wants ADDRESS:PORT");
			goto fail;
		}
		memcpy(host, o->listen, (size_t)(colon - o->listen));
		host[colon - o->listen] = '\0';
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			if (host[0] != '\0' && host[strlen(host) - 1] == ']')
				host[strlen(host) - 1] = '\0';
		}
	}
	r->close_every = o->close_every;
	if (resp_build(r, o, err, errsize) != 0)
		goto fail;
	if (o->tls && resp_tls(r, err, errsize) != 0)
		goto fail;
	r->base = event_base_new();
	r->chunk = evbuffer_new();
	if (r->base == NULL || r->chunk == NULL || (r->http = evhttp_new(r->base)) == NULL) {
		snprintf(err, errsize, "cannot create the responder's event loop");
		goto fail;
	}
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	evhttp_set_max_body_size(r->http, 1 << 20);
	evhttp_set_gencb(r->http, resp_cb, r);
	if (o->tls)
		evhttp_set_bevcb(r->http, resp_bev_cb, r);
	bound = evhttp_bind_socket_with_handle(r->http, host, (ev_uint16_t)port);
	if (bound == NULL) {
		snprintf(err, errsize, "cannot listen on %s:%u: %s", host, port, strerror(errno));
		goto fail;
	}
	fd = (int)evhttp_bound_socket_get_fd(bound);
	/* Accepted sockets inherit TCP_NODELAY from the listener on Linux. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(err, errsize, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(r->url, sizeof(r->url), "%s://[%s]:%u/mapi/emsmdb/", o->tls ? "https" : "http",
		         a, ntohs(s6->sin6_port));
	} else {
		char a[INET_ADDRSTRLEN];
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(r->url, sizeof(r->url), "%s://%s:%u/mapi/emsmdb/", o->tls ? "https" : "http",
		         a, ntohs(s4->sin_port));
	}
	if (pthread_create(&r->thread, NULL, resp_thread, r) != 0) {
		snprintf(err, errsize, "cannot start the responder thread");
		goto fail;
	}
	r->running = true;
	return r;
fail:
	resp_free(r);
	return NULL;
}

const char *bench_responder_url(const struct bench_responder *r)
{
	return r->url;
}

X509 *bench_responder_cert(const struct bench_responder *r)
{
	return r->cert;
}

size_t bench_responder_body_size(const struct bench_responder *r)
{
	return r->execute.len;
}

size_t bench_responder_natural_size(const struct bench_responder *r)
{
	return r->execute_natural;
}

uint64_t bench_responder_requests(const struct bench_responder *r)
{
	return __atomic_load_n(&r->requests, __ATOMIC_RELAXED);
}

double bench_responder_cpu(void *arg)
{
	const struct bench_responder *r = arg;
	clockid_t cid;
	struct timespec ts;

	if (r == NULL || pthread_getcpuclockid(r->thread, &cid) != 0 ||
	    clock_gettime(cid, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_responder_stop(struct bench_responder **rp)
{
	struct bench_responder *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (r->running) {
		event_base_loopbreak(r->base);
		pthread_join(r->thread, NULL);
	}
	resp_free(r);
}
