/*
 * dir-ldap-int.h: the private structures of the `ldap` directory backend and the functions
 * its files share (design.md "Directory backends"). Only src/directory/dir-ldap*.c include
 * it; the rest of the daemon sees dir-ldap.h.
 *
 *   dir-ldap.c         the backend operations, configuration, life cycle, small helpers and
 *                      the change notifications
 *   dir-ldap-req.c     requests: life cycle, the queue, sending, LDAP results as answers
 *   dir-ldap-conn.c    connections: the worker-thread connect, binds, reading, the watchdog
 *   dir-ldap-server.c  server state, back-off, failover and their log events
 *   dir-ldap-sync.c    the Content Sync (RFC 4533) client
 *   dir-ldap-auth.c    password checks, each on a connection of its own
 *   dir-ldap-pwfile.c  the service password file (dir_ldap_read_password_file, dir-ldap.h)
 */
#ifndef MBX_DIR_LDAP_INT_H
#define MBX_DIR_LDAP_INT_H

#include "directory/dir-ldap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <event2/event.h>
#include <lber.h>
#include <ldap.h>

/* Requests sent on one connection and not yet answered; more wait in the queue (so a stalled
 * server can never fill the socket's send buffer). */
#define DIR_LDAP_MAX_INFLIGHT 256
#define DIR_LDAP_HASH 256 /* buckets of the msgid -> request map of a connection */
#define DIR_LDAP_NONE SIZE_MAX

struct dir_ldap;
struct dir_ldap_conn;

/* --- requests ---------------------------------------------------------------------------- */

enum dir_ldap_req_kind { DLR_LOOKUP, DLR_MODIFY, DLR_PASSWORD };
enum dir_ldap_req_state { DLR_NEW, DLR_QUEUED, DLR_SENT, DLR_DONE };

struct dir_ldap_list {
	struct dir_ldap_req *head, *tail;
	size_t n;
};

struct dir_ldap_req {
	struct mbx_dir_req head;
	struct dir_ldap *dl;
	enum dir_ldap_req_kind kind;
	enum dir_ldap_req_state state;
	mbx_dir_cb *cb;
	void *ctx;
	struct dir_ldap_req *aprev, *anext; /* dl->reqs: every live request */
	struct dir_ldap_list *list;         /* the queue or a connection's in-flight list */
	struct dir_ldap_req *lprev, *lnext;
	struct dir_ldap_req *hnext; /* msgid map bucket chain */
	struct dir_ldap_conn *conn; /* sent on (or, password: its own connection) */
	int msgid;
	bool resent, firing;
	uint64_t sent_us;
	struct event *timer_ev; /* the request's deadline */
	struct event *fire_ev;  /* delivery of the result, from the loop */
	/* the operation */
	enum mbx_dir_key key;
	/* lookup: the filter (one block with a copy of a string key after its NUL), the search
	 * base (that copy for BY_DN, else dl->base_dn: neither is freed on its own), and the key
	 * entries must hold exactly (dir_ldap_req_exact), or NULL */
	char *filter;
	const char *base, *match;
	size_t matchlen;
	int scope;
	const char *broken; /* lookup: why an entry of the answer was lost (then ERROR) */
	char *dn;           /* modify, password */
	LDAPMod **mods;     /* modify */
	char *password;
	char *change_legacy; /* modify: the new legacyExchangeDN, if the mods set one */
	/* the answer */
	struct mbx_dir_result res;
	size_t cap;
	char message[320];
};

/* --- connections ------------------------------------------------------------------------- */

enum dir_ldap_conn_kind { DLC_SERVICE, DLC_PROBE, DLC_SYNC, DLC_PASSWORD };
enum dir_ldap_conn_state { DLC_CONNECTING, DLC_BINDING, DLC_READY };

/* One connection attempt in a worker thread. Shared by the loop and the worker under mu;
 * freed by whichever drops the last reference. */
struct dir_ldap_job {
	pthread_mutex_t mu;
	int refs;
	bool done, abandoned;
	int pipefd[2];
	char *uri, *ca_file;
	bool starttls;
	unsigned net_ms;
	LDAP *ld;
	int rc;
	char err[256];
};

struct dir_ldap_conn {
	struct dir_ldap *dl;
	struct dir_ldap_conn *prev, *next; /* dl->conns */
	enum dir_ldap_conn_kind kind;
	enum dir_ldap_conn_state state;
	size_t server;
	LDAP *ld;
	int fd;
	struct event *io_ev;    /* socket readable (persistent) */
	struct event *wr_ev;    /* socket writable: only while libldap holds a partial write */
	struct event *done_ev;  /* the worker's pipe */
	struct event *timer_ev; /* connect or bind deadline, then the watchdog */
	struct dir_ldap_job *job;
	int bind_msgid, dse_msgid;
	struct dir_ldap_list inflight;
	struct dir_ldap_req *byid[DIR_LDAP_HASH];
	struct dir_ldap_req *pwreq; /* DLC_PASSWORD: the check it serves */
	uint64_t last_rx_us;
	bool draining, write_blocked, in_read, closed;
};

/* --- servers, sync, changes -------------------------------------------------------------- */

enum dir_ldap_server_state { DLS_UNKNOWN, DLS_UP, DLS_DOWN };

struct dir_ldap_server {
	struct dir_ldap *dl;
	char *uri;
	enum dir_ldap_server_state state;
	unsigned backoff_ms;
	struct event *retry_ev;
	struct dir_ldap_conn *probe;
};

struct dir_ldap_uuid {
	struct dir_ldap_uuid *next;
	uint8_t uuid[16];
	char *dn, *legacy;
	bool seen;
};

struct dir_ldap_sync {
	struct dir_ldap_conn *conn;
	int msgid;
	bool supported, refreshing, persisting, quiet, logged_unsupported;
	struct berval cookie;
	struct dir_ldap_uuid **buckets;
	size_t nbuckets, count;
	struct event *retry_ev;
	unsigned backoff_ms;
};

struct dir_ldap_change {
	struct dir_ldap_change *next;
	char *dn, *legacy;
};

/* The filter of a lookup kind, made once by mbx_ldap_filter_build with the key "*": the key
 * goes where its escaped form DIR_LDAP_FORM_MARK stands (dir_ldap_filter_new). */
#define DIR_LDAP_FORM_MARK "\\2a"
#define DIR_LDAP_FORM_MAX_KEYS 4
struct dir_ldap_form {
	char *text;      /* NULL: no filter for this kind, why says why */
	const char *why; /* static text from mbx_ldap_filter_build */
	size_t len, nkeys, at[DIR_LDAP_FORM_MAX_KEYS]; /* offsets of the marks in text */
	bool binary;                                   /* every byte of the key escaped (SID) */
};

/* One name or value of the entry being converted (dir-ldap-req.c): bytes of the message (or
 * the canonical name from the map); for a name, how many values follow it. */
struct dir_ldap_scan {
	const char *p;
	size_t len, nvals;
};

struct dir_ldap {
	struct mbx_dir head;
	struct dir_ldap_server *servers;
	size_t nservers;
	char *base_dn, *base_norm, *bind_dn, *pwfile, *ca_file, *password;
	size_t base_rdns;
	bool starttls, content_sync, all_down;
	unsigned flushing; /* inside dir_ldap_changes_flush (the change callback may free us) */
	bool free_pending;
	unsigned net_ms, req_ms, retry_min_ms, retry_max_ms;
	struct dir_ldap_conn *conns;  /* every connection */
	struct dir_ldap_conn *svc;    /* the service connection lookups go to (maybe connecting) */
	size_t active;                /* server lookups last went to, or DIR_LDAP_NONE */
	struct dir_ldap_list queue;   /* lookups and modifies waiting for the service connection */
	struct dir_ldap_list pwqueue; /* password checks waiting for a free slot */
	size_t npw;                   /* password connections open */
	struct dir_ldap_req *reqs;
	struct dir_ldap_sync sync;
	struct dir_ldap_change *changes, **changes_tail;
	struct event *change_ev;
	const char *legacy_attr; /* the server's name of legacyExchangeDN */
	struct dir_ldap_form forms[MBX_DIR_DISABLED_NO_MASTER + 1]; /* by enum mbx_dir_key */
	struct dir_ldap_scan *scan; /* entry conversion scratch, grown as needed, kept */
	size_t scan_cap;
};

extern const struct mbx_dir_ops dir_ldap_ops;

/* --- dir-ldap.c -------------------------------------------------------------------------- */

uint64_t dir_ldap_now_us(void);          /* CLOCK_MONOTONIC, microseconds */
struct timeval dir_ldap_tv(unsigned ms); /* ms as a struct timeval */
char *dir_ldap_strdup(const char *s);    /* strdup, NULL for NULL */
void dir_ldap_wipe_free(char *s);        /* zeroes, then frees a secret (NULL-safe) */
/* The URI of server number server, or "(no server)". */
const char *dir_ldap_uri(const struct dir_ldap *dl, size_t server);
/* The message of an LDAP handle's last error: the diagnostic text if there is one. */
void dir_ldap_ld_error(LDAP *ld, int rc, char *buf, size_t size);
/* 1 if dn is the base DN or below it, 0 if not, -1 if dn is not a DN. */
int dir_ldap_dn_under_base(const struct dir_ldap *dl, const char *dn);
/* Whether an LDAP result code means "try again later". */
bool dir_ldap_rc_tempfail(int rc);
/* Queues a change for the change callback (delivered from the loop, in order). */
void dir_ldap_change_queue(struct dir_ldap *dl, const char *dn, const char *legacy);
/* Tells the queued changes; true if the change callback freed the directory. */
bool dir_ldap_changes_flush(struct dir_ldap *dl);
/* The filter of a lookup (what mbx_ldap_filter_build gives, made in one pass from the kind's
 * form), in a malloc'ed block with extra more bytes after its NUL, where *extra_r points
 * (may be NULL). NULL with *why_r (static text) set: "key too long", "out of memory", or
 * mbx_ldap_filter_build's reason (a bad attribute map). */
char *dir_ldap_filter_new(const struct dir_ldap *dl, enum mbx_dir_key kind, const void *key,
                          size_t keylen, size_t extra, char **extra_r, const char **why_r);

/* --- dir-ldap-req.c ---------------------------------------------------------------------- */

void dir_ldap_req_list_push(struct dir_ldap_list *l, struct dir_ldap_req *r, bool front);
void dir_ldap_req_list_remove(struct dir_ldap_req *r);
struct dir_ldap_req *dir_ldap_req_new(struct dir_ldap *dl, enum dir_ldap_req_kind kind,
                                      mbx_dir_cb *cb, void *ctx);
void dir_ldap_req_free(struct dir_ldap_req *r);
void dir_ldap_req_unlink(struct dir_ldap_req *r); /* off dl->reqs */
/* Sets the outcome and schedules the callback (never called from here). */
void dir_ldap_req_done(struct dir_ldap_req *r, enum mbx_dir_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A request that could not even be started: freed, nothing is called back. */
struct mbx_dir_req *dir_ldap_req_abort(struct dir_ldap_req *r);
/* Queues a lookup or modify, or answers it at once when no server is reachable. */
struct mbx_dir_req *dir_ldap_req_start(struct dir_ldap_req *r);
/* Sends what waits in the queue, as far as the service connection takes it. */
void dir_ldap_req_queue_pump(struct dir_ldap *dl);
/* Drops what a lookup received so far (its entries, a lost entry): before it is sent again. */
void dir_ldap_req_forget_answer(struct dir_ldap_req *r);
/* A search entry of a lookup, and the final message of a lookup or modify. */
void dir_ldap_req_entry(struct dir_ldap_req *r, struct dir_ldap_conn *c, LDAPMessage *msg);
/* An entry as this backend builds it: one malloc'ed block (freed with free(), not with
 * mbx_dir_entry_free, which frees every part on its own), or NULL without memory or on a
 * malformed message. userPassword is left out; names are canonical. */
struct mbx_dir_entry *dir_ldap_req_entry_new(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg);
/* Whether an entry found for the request's string key holds it exactly (see the function). */
bool dir_ldap_req_exact(const struct dir_ldap_req *r, const struct mbx_dir_entry *e);
void dir_ldap_req_result(struct dir_ldap_req *r, struct dir_ldap_conn *c, LDAPMessage *msg);

/* --- dir-ldap-conn.c --------------------------------------------------------------------- */

/* Starts a connection to a server; its worker connects, then the loop binds. NULL with why
 * set if it could not even start. */
struct dir_ldap_conn *dir_ldap_conn_new(struct dir_ldap *dl, enum dir_ldap_conn_kind kind,
                                        size_t server, char *why, size_t whysize);
/* Takes a connection out of service (requests left on it are answered TEMPFAIL). */
void dir_ldap_conn_close(struct dir_ldap_conn *c);
/* A connection failed or died. */
void dir_ldap_conn_failed(struct dir_ldap_conn *c, const char *why);
/* Puts a sent request on a connection (msgid map, in-flight list), or takes it off. */
void dir_ldap_conn_attach(struct dir_ldap_conn *c, struct dir_ldap_req *r, int msgid);
void dir_ldap_conn_detach(struct dir_ldap_req *r);

/* --- dir-ldap-server.c ------------------------------------------------------------------- */

/* A server failed (connect, bind, closed connection, silence): down, retried later. */
void dir_ldap_server_down(struct dir_ldap *dl, size_t i, const char *why);
/* Retry timer of a down server (the event's argument is the struct dir_ldap_server). */
void dir_ldap_server_retry(evutil_socket_t fd, short what, void *arg);
/* Picks a server for the service connection and starts connecting to it. */
void dir_ldap_server_connect_service(struct dir_ldap *dl);
/* A service connection, or a probe of a down server, is bound. */
void dir_ldap_server_svc_ready(struct dir_ldap_conn *c);
void dir_ldap_server_probe_ready(struct dir_ldap_conn *c);

/* --- dir-ldap-sync.c --------------------------------------------------------------------- */

void dir_ldap_sync_restart(struct dir_ldap *dl);  /* starts or restarts the sync search */
void dir_ldap_sync_stop(struct dir_ldap *dl);     /* closes the sync connection */
void dir_ldap_sync_schedule(struct dir_ldap *dl); /* restart later, with back-off */
/* Retry timer of the sync (the event's argument is the struct dir_ldap). */
void dir_ldap_sync_retry(evutil_socket_t fd, short what, void *arg);
void dir_ldap_sync_uuid_clear(struct dir_ldap_sync *s); /* empties the entryUUID map */
/* Messages of the sync search: entry, intermediate (Sync Info), final result. */
void dir_ldap_sync_entry(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg);
void dir_ldap_sync_info(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg);
void dir_ldap_sync_result(struct dir_ldap *dl, struct dir_ldap_conn *c, LDAPMessage *msg);
/* The root DSE search of a service connection: its entry, its end. */
void dir_ldap_sync_dse_entry(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg);
void dir_ldap_sync_dse_done(struct dir_ldap_conn *c);

/* --- dir-ldap-auth.c --------------------------------------------------------------------- */

/* The check_password operation of the backend. */
struct mbx_dir_req *dir_ldap_auth_check_password(struct mbx_dir *d, const char *dn,
                                                 const char *password, mbx_dir_cb *cb, void *ctx);
/* The answer to the bind of a password check: the check is answered, the connection closed. */
void dir_ldap_auth_bound(struct dir_ldap_conn *c, int err, const char *why);
/* Starts waiting password checks while connections are free. */
void dir_ldap_auth_pump(struct dir_ldap *dl);

#endif
