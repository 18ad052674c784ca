/*
 * frontend.h: the MAPI over HTTP front end (src/mapihttp: the only code that knows evhttp),
 * seen from the daemon. The daemon (src/daemon) owns the event loop, the configuration, the
 * listening sockets and TLS; it builds the shared store objects and hands them here. The front
 * end serves POST /mapi/emsmdb/ (Connect, Execute, Disconnect, PING, NotificationWait), owns
 * the session contexts (MapiContext/MapiSequence cookies) and authenticates requests (HTTP Basic
 * checked against the directory).
 */
#ifndef MBX_FRONTEND_H
#define MBX_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct mbx_config;
struct mbx_dir;
struct mbx_mailbox_table;
struct mbx_principal_resolver;
struct mbx_logon_pipeline;
struct mbx_server_identity;
struct mbx_metrics;

struct mbx_frontend_deps {
	struct event_base *base;
	const struct mbx_config *cfg; /* limits, server application string, ... */
	struct mbx_dir *dir;          /* password checks, principal lookups */
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *resolver;
	struct mbx_logon_pipeline *pipeline;
	const struct mbx_server_identity *id;
	struct mbx_metrics *metrics; /* may be NULL */
};

struct mbx_frontend;

/* Creates the front end; NULL with a message in err on failure. */
struct mbx_frontend *mbx_frontend_new(const struct mbx_frontend_deps *deps, char *err,
				      size_t errsize);
/* Registers the front end's handlers on an evhttp instance the daemon created and bound (one per
 * listener: TLS or plain loopback). `tls` says whether requests on it arrive over TLS (Basic auth
 * is refused in clear text except on loopback). Returns 0 or -1. */
int mbx_frontend_attach(struct mbx_frontend *fe, struct evhttp *http, bool tls);
/* Applies a reloaded configuration (limits; nothing that would drop sessions). */
void mbx_frontend_reconfigure(struct mbx_frontend *fe, const struct mbx_config *cfg);
/* Destroys every session context that holds a logon on this mailbox: the next request on such a
 * context gets X-ResponseCode 10 (Context Not Found). Returns how many were destroyed. */
unsigned mbx_frontend_drop_mailbox(struct mbx_frontend *fe, const char *legacy_dn);
/* Session contexts now (for metrics and `mbxctl sessions`). */
size_t mbx_frontend_sessions(const struct mbx_frontend *fe);
/* Starts draining: new Connects get X-ResponseCode 18 (Endpoint Shutting Down); held
 * NotificationWait requests are answered at once. */
void mbx_frontend_drain(struct mbx_frontend *fe);
void mbx_frontend_free(struct mbx_frontend **fe);

#endif
