/*
 * directory.h: the one asynchronous interface between mbxstore and its directory (design.md
 * "Directory backends", conventions.md "Backends behind an interface"). Two backends implement
 * it: `ldif` (src/directory/dir-ldif*.c, the embedded default: an LDIF file loaded with libldap's
 * own LDIF reader and indexed in memory) and `ldap` (src/directory/dir-ldap*.c: libldap on the
 * daemon's libevent loop, with failover). Tests may add a small fake.
 *
 * Rules every backend keeps:
 * - Results are delivered from the event loop, never re-entrantly: a request started inside a
 *   callback completes in a later loop iteration, even when the answer is in memory.
 * - Four outcomes: found, not found, temporary failure (server down, timeout: the caller may
 *   serve stale data or answer ecNetworkError), error (a bad request or a bad entry). The
 *   directory being down is never "not found" (seed 004).
 * - Entries come back with canonical attribute names (the AD/Exchange ones of protocol.md 8),
 *   whatever names the server uses: the attribute map of the configuration is applied by the
 *   backend.
 */
#ifndef MBX_DIRECTORY_H
#define MBX_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct mbx_dir;
struct mbx_dir_req;

enum mbx_dir_status {
	MBX_DIR_FOUND,
	MBX_DIR_NOT_FOUND,
	MBX_DIR_TEMPFAIL,
	MBX_DIR_ERROR,
};
const char *mbx_dir_status_name(enum mbx_dir_status st);

/* --- entries ----------------------------------------------------------------------------- */

struct mbx_dir_value {
	uint8_t *data; /* always followed by a NUL byte not counted in len (string convenience) */
	size_t len;
};

struct mbx_dir_attr {
	char *name; /* canonical name, e.g. "legacyExchangeDN" */
	struct mbx_dir_value *vals;
	size_t nvals;
};

struct mbx_dir_entry {
	char *dn;
	struct mbx_dir_attr *attrs;
	size_t nattrs;
};

/* Attribute access (names compared case-insensitively). NULL when absent. */
const struct mbx_dir_attr *mbx_dir_entry_attr(const struct mbx_dir_entry *e, const char *name);
/* First value as a string, or NULL. */
const char *mbx_dir_entry_str(const struct mbx_dir_entry *e, const char *name);
/* First value, or NULL; *len_r gets its length. */
const uint8_t *mbx_dir_entry_bin(const struct mbx_dir_entry *e, const char *name, size_t *len_r);
/* True if objectClass has this value (case-insensitive). */
bool mbx_dir_entry_has_class(const struct mbx_dir_entry *e, const char *cls);
/* The predicate of MBX_DIR_DISABLED_NO_MASTER on one entry: objectClass has "user" and not
 * "computer"; no msExchMasterAccountSid value; and msExchUserAccountControl has a value that
 * is the integer 2, or userAccountControl a value with bit 0x2 set. Integers are read as
 * src/store/mailbox.c reads them (optional '-', decimal digits, within INT32_MIN..UINT32_MAX;
 * a negative value by its two's complement); a value that is not such an integer matches
 * nothing, as an LDAP server's integer rules give Undefined for it. */
bool mbx_dir_entry_disabled_no_master(const struct mbx_dir_entry *e);
struct mbx_dir_entry *mbx_dir_entry_dup(const struct mbx_dir_entry *e);
void mbx_dir_entry_free(struct mbx_dir_entry **e);

/* --- lookups ----------------------------------------------------------------------------- */

enum mbx_dir_key {
	MBX_DIR_BY_DN,        /* the entry itself (base search) */
	/* legacyExchangeDN, or a proxyAddresses value "X500:<key>" (the prefix in any case): the
	 * legacyExchangeDN a mailbox had in its old forest or organisation, as Exchange keeps it
	 * after a cross-forest move. Both compared the same way: the whole value equals the key
	 * but for the case of ASCII letters (no other folding: no trimming of spaces, no
	 * Unicode case), so a part of a DN never matches. Every entry that matches either way
	 * comes back once (file order in ldif, the server's order in ldap); two or more
	 * entries (two objects with the same legacyExchangeDN, or one's legacyExchangeDN being
	 * another's X500 proxy) are FOUND with nentries > 1, in both backends, as for any
	 * duplicate legacyExchangeDN: the caller decides (the mailbox table treats it as an
	 * ambiguity, DIR_ERROR, never picks one). */
	MBX_DIR_BY_LEGACYDN,
	MBX_DIR_BY_SMTP,      /* mail, or proxyAddresses "smtp:<addr>" any case */
	MBX_DIR_BY_LOGIN,     /* userPrincipalName or sAMAccountName */
	MBX_DIR_BY_SID,       /* objectSid, binary (key = the SID bytes) */
	MBX_DIR_BY_MEMBER,    /* groups whose member attribute holds the DN given as key */
	/* Every user object that is disabled (msExchUserAccountControl 2, or userAccountControl
	 * with bit 0x2) and has no msExchMasterAccountSid: seed 000's ldifde query
	 * (&(objectClass=user)(|(msExchUserAccountControl=2)
	 *   (userAccountControl:1.2.840.113556.1.4.803:=2))(!(msExchMasterAccountSid=*)))
	 * under the base DN, computers (objectClass computer) excluded: exactly the entries
	 * for which mbx_dir_entry_disabled_no_master is true. The key is ignored (pass "" and
	 * 0). FOUND with the entries (all of them, each once; ldif: file order, ldap: the
	 * server's order), or NOT_FOUND when there are none. Never a partial list: ldap asks
	 * for at most DIR_LDAP_MAX_ENTRIES (10000) with the request timeout of every lookup as
	 * its time limit, on one subtree search without paging; more entries than the
	 * server's size limit (slapd's sizelimit, AD's MaxPageSize, 1000 by default) or than
	 * DIR_LDAP_MAX_ENTRIES is ERROR with a message saying the list would be incomplete; no
	 * answer in time is TEMPFAIL. For `mbxctl report`. */
	MBX_DIR_DISABLED_NO_MASTER,
};
const char *mbx_dir_key_name(enum mbx_dir_key key);

struct mbx_dir_result {
	enum mbx_dir_status status;
	const char *message; /* why, for TEMPFAIL and ERROR; NULL otherwise */
	struct mbx_dir_entry **entries; /* FOUND: nentries >= 1 (several for BY_SID, BY_MEMBER) */
	size_t nentries;
	const char *server; /* which directory server answered (URI or file), for logs */
};

/* Called once per request, from the event loop. The result and its entries belong to the
 * backend and are freed when the callback returns; keep copies (mbx_dir_entry_dup). */
typedef void mbx_dir_cb(void *ctx, const struct mbx_dir_result *res);

/* Starts a lookup. key is a NUL-terminated string for every kind but BY_SID (binary, keylen
 * bytes). Returns a request handle that stays valid until the callback has run, or NULL when
 * the request could not even be started (then nothing is called back). */
struct mbx_dir_req *mbx_dir_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
				   size_t keylen, mbx_dir_cb *cb, void *ctx);

/* Checks a password for the entry dn (the ldap backend binds as that user on a separate
 * connection; the ldif backend verifies userPassword: {SSHA}, {SSHA256}, {SSHA512}, {CRYPT}).
 * FOUND = the password is right; NOT_FOUND = wrong password or no such entry. */
struct mbx_dir_req *mbx_dir_check_password(struct mbx_dir *d, const char *dn,
					   const char *password, mbx_dir_cb *cb, void *ctx);

/* Modifications: what a move needs (replace, add or delete values of attributes). */
enum mbx_dir_mod_op { MBX_DIR_MOD_REPLACE, MBX_DIR_MOD_ADD, MBX_DIR_MOD_DELETE };
struct mbx_dir_mod {
	enum mbx_dir_mod_op op;
	const char *attr; /* canonical name */
	const struct mbx_dir_value *vals; /* REPLACE with nvals 0 / DELETE with nvals 0: remove all */
	size_t nvals;
};
/* Applies all mods to dn atomically (all or nothing) and persists them (ldif: temporary file,
 * fsync, rename). FOUND = applied. */
struct mbx_dir_req *mbx_dir_modify(struct mbx_dir *d, const char *dn,
				   const struct mbx_dir_mod *mods, size_t nmods, mbx_dir_cb *cb,
				   void *ctx);

/* Cancels a pending request: its callback will not run. */
void mbx_dir_cancel(struct mbx_dir_req *req);

/* --- change notification ----------------------------------------------------------------- */

/* Called (from the event loop) when an entry changed, was added or deleted, whether by a local
 * modification, a reload, or LDAP Content Sync. legacy_dn is the entry's legacyExchangeDN
 * before or after the change (NULL if it has none or the backend does not know it). */
typedef void mbx_dir_change_cb(void *ctx, const char *dn, const char *legacy_dn);
void mbx_dir_set_change_cb(struct mbx_dir *d, mbx_dir_change_cb *cb, void *ctx);

/* --- backends ---------------------------------------------------------------------------- */

/* Attribute remapping: canonical name -> the server's name, from the configuration. */
struct mbx_dir_attrmap {
	const char *canonical;
	const char *server;
};

struct mbx_dir_config {
	const char *backend; /* "ldif" or "ldap" */
	/* ldif */
	const char *ldif_path;
	/* ldap */
	const char *const *uris; /* NULL-terminated list, tried in order */
	const char *base_dn;
	const char *bind_dn;
	const char *bind_password_file; /* must not be readable by group or others */
	const char *ca_file;
	bool starttls;
	unsigned network_timeout_ms; /* connect timeout: a dead server is found within this */
	unsigned request_timeout_ms; /* per request; then abandoned -> TEMPFAIL */
	unsigned retry_min_ms, retry_max_ms; /* back-off for dead servers */
	bool content_sync;                    /* follow changes with RFC 4533 when offered */
	/* both */
	const struct mbx_dir_attrmap *attrmap;
	size_t nattrmap;
	unsigned group_depth; /* nesting bound for group SIDs */
};

/* The operations a backend provides; mbx_dir_* above dispatch to them. */
struct mbx_dir_ops {
	const char *name;
	struct mbx_dir_req *(*lookup)(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
				      size_t keylen, mbx_dir_cb *cb, void *ctx);
	struct mbx_dir_req *(*check_password)(struct mbx_dir *d, const char *dn,
					      const char *password, mbx_dir_cb *cb, void *ctx);
	struct mbx_dir_req *(*modify)(struct mbx_dir *d, const char *dn,
				      const struct mbx_dir_mod *mods, size_t nmods, mbx_dir_cb *cb,
				      void *ctx);
	void (*cancel)(struct mbx_dir_req *req);
	/* Re-reads the source (ldif) or reconnects (ldap). Returns 0 or -1 with *err_r set. */
	int (*reload)(struct mbx_dir *d, char *err, size_t errsize);
	void (*free)(struct mbx_dir *d);
};

/* Common head of every backend's request (the backend's own request struct starts with it):
 * mbx_dir_cancel() gets only the request, and finds the backend through it. */
struct mbx_dir_req {
	struct mbx_dir *dir;
};

/* Common head of every backend's state. */
struct mbx_dir {
	const struct mbx_dir_ops *ops;
	struct event_base *base;
	mbx_dir_change_cb *change_cb;
	void *change_ctx;
	const struct mbx_dir_attrmap *attrmap;
	size_t nattrmap;
	unsigned group_depth;
};

/* Creates the backend named by cfg->backend on the event loop base. Returns NULL with a message
 * in err on failure (unknown backend, unreadable file, garbage LDIF with file:line, password
 * file readable by others, ...). */
struct mbx_dir *mbx_dir_new(struct event_base *base, const struct mbx_dir_config *cfg, char *err,
			    size_t errsize);
/* Frees the backend; pending requests are cancelled without callbacks. NULL-safe, clears *d. */
void mbx_dir_free(struct mbx_dir **d);
int mbx_dir_reload(struct mbx_dir *d, char *err, size_t errsize);

/* For backends: tells the change callback (if any). */
void mbx_dir_notify_change(struct mbx_dir *d, const char *dn, const char *legacy_dn);
/* For backends: the canonical name of a server attribute name, or the name itself. */
const char *mbx_dir_canonical_attr(const struct mbx_dir *d, const char *server_name);
/* For backends: the server's name for a canonical attribute. */
const char *mbx_dir_server_attr(const struct mbx_dir *d, const char *canonical);

#endif
