/*
 * daemon.h: mbxstored itself (src/daemon/daemon.c with daemon-process.c and daemon-reload.c,
 * tls.c, listen.c; main() is src/daemon/main.c).
 * The manual mbxstored(8) is the contract for options, signals, files and log events.
 *
 * Start-up order (mbx_daemon_run): load the configuration, open the log, daemonize (unless
 * foreground; the parent waits until start-up has finished and exits 0 or 1 with it), create the
 * event loop, the directory backend (ldif or ldap), the mailbox table (deferral on libevent), the
 * principal resolver, the logon pipeline, the metrics, the TLS context (making a self-signed
 * certificate in state_dir on first start when none is configured), the front end; bind every
 * listener; write the pid file; drop privileges to [server] user; ignore SIGPIPE; tell systemd
 * READY=1 when NOTIFY_SOCKET is set; run the loop.
 *
 * Signals go through libevent (evsignal_new): the handlers do nothing but set libevent's flag,
 * the work runs from the loop. SIGHUP reloads (mbx_daemon_reload), SIGTERM and SIGINT drain and
 * stop: stop accepting, mbx_frontend_drain(), wait for the open connections to finish up to
 * MBX_DAEMON_DRAIN_MS, free everything, remove the pid file, exit 0.
 */
#ifndef MBX_DAEMON_H
#define MBX_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;
struct evhttp;
struct ssl_st;
struct mbx_config;
struct mbx_metrics;

#define MBX_DAEMON_DRAIN_MS 5000 /* longest wait for open connections at stop */

/* --- the daemon (src/daemon/daemon*.c) ------------------------------------------------------ */

struct mbx_daemon_options {
	const char *config_path; /* NULL: MBX_CONFIG_DEFAULT_PATH */
	bool foreground;         /* -f: no fork, log lines to stderr */
};

/*
 * `mbxstored -n`: loads the configuration and reports. Returns the exit status: 0 (and, with
 * verbose, the effective configuration on out), or 1 with every error on errf, one per line,
 * "FILE:LINE: message".
 */
int mbx_daemon_check(const char *config_path, bool verbose, FILE *out, FILE *errf);

/* Runs the daemon until SIGTERM or SIGINT. Returns the process exit status: 0 after a clean
 * stop, 1 when start-up failed (the reason is logged, and printed on stderr). */
int mbx_daemon_run(const struct mbx_daemon_options *opt);

/* --- TLS (src/daemon/tls.c) --------------------------------------------------------------- */

struct mbx_tls;

/* Where the self-signed certificate and its key live in state_dir. */
#define MBX_TLS_SELF_CERT "selfsigned-cert.pem"
#define MBX_TLS_SELF_KEY "selfsigned-key.pem"

/*
 * The server's TLS context (TLS 1.2 and 1.3 only; [listen] tls_min_version, tls_ciphers) with
 * tls_cert and tls_key, or when neither is set with the self-signed pair in state_dir, made on
 * the first start (mbx_tls_make_self_signed). owner_uid/owner_gid: who the files made get to
 * belong to (the user the daemon switches to, so that a reload can read them), or -1 to leave
 * them to the caller. Returns NULL with a message in err on failure.
 */
struct mbx_tls *mbx_tls_new(const struct mbx_config *cfg, long owner_uid, long owner_gid,
			    char *err, size_t errsize);
/* Reads the certificate and key again (with cfg's TLS keys) into a new context used for new
 * connections from now on; open connections keep the context they started with. Returns 0, or
 * -1 with a message in err (then the old context stays). */
int mbx_tls_reload(struct mbx_tls *t, const struct mbx_config *cfg, char *err, size_t errsize);
/* A server SSL object on the current context, or NULL (out of memory). */
struct ssl_st *mbx_tls_ssl_new(struct mbx_tls *t);
/* The certificate file in use (configured or self-signed). */
const char *mbx_tls_cert_file(const struct mbx_tls *t);
/* NULL-safe; clears *t. Open connections keep their context alive (OpenSSL counts references). */
void mbx_tls_free(struct mbx_tls **t);

/*
 * Makes a self-signed certificate for name: an EC P-256 key, CN = name, subjectAltName DNS
 * localhost, DNS name (lower case), IP 127.0.0.1, serverAuth, valid from an hour ago for
 * MBX_TLS_SELF_DAYS days. The key is written with mode 0600, the certificate 0644, each through
 * a temporary file renamed into place. Returns 0 or -1 with a message in err.
 */
#define MBX_TLS_SELF_DAYS 825
int mbx_tls_make_self_signed(const char *name, const char *cert_path, const char *key_path,
			     char *err, size_t errsize);

/* --- listeners (src/daemon/listen.c) ------------------------------------------------------- */

struct mbx_listeners;
struct mbx_httpd;

struct mbx_listen_config {
	struct event_base *base;
	const struct mbx_config *cfg; /* addresses and limits; need not outlive the call */
	struct mbx_tls *tls;          /* required when [listen] https is not empty */
	struct mbx_metrics *metrics;  /* required when [listen] metrics is set */
};

/*
 * Binds every listener of cfg: one HTTP server (include/mbx/httpd.h) per https address (TLS
 * through bufferevent_openssl), one for plain_http (only loopback addresses are accepted, also
 * after a host name is resolved), one evhttp for metrics (loopback; GET /metrics answers
 * mbx_metrics_render()). Every accepted socket gets TCP_NODELAY. At most max_connections
 * connections (TLS and plain_http) are open at a time; past that the MAPI listeners stop
 * accepting (clients wait in the kernel's queue) until one closes. Returns NULL with a message
 * in err on failure.
 */
struct mbx_listeners *mbx_listen_new(const struct mbx_listen_config *lc, char *err,
				     size_t errsize);
/* The MAPI listeners (https and plain_http, not metrics), for mbx_frontend_attach(). */
size_t mbx_listen_count(const struct mbx_listeners *l);
struct mbx_httpd *mbx_listen_httpd(const struct mbx_listeners *l, size_t i, bool *tls_r);
/* Applies limits of a reloaded configuration (timeouts, body size, max_connections) to
 * connections accepted from now on. */
void mbx_listen_reconfigure(struct mbx_listeners *l, const struct mbx_config *cfg);
/* Stops accepting on every listener, for good (the drain at stop). */
void mbx_listen_stop(struct mbx_listeners *l);
/* Connections open now on the MAPI listeners. */
size_t mbx_listen_connections(const struct mbx_listeners *l);
/* Frees every server (their connections with them). NULL-safe; clears *l. */
void mbx_listen_free(struct mbx_listeners **l);

#endif
