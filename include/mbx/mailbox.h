/*
 * mailbox.h: the pure heart of the logon logic (design.md "The mailbox-state table and the
 * logon decision"; MS-OXCSTOR 3.2.5.1.1 and 3.2.5.1.3, protocol.md 3.1-3.2; MS-OXMVMBX, seed
 * 001):
 *   - struct mbx_mailbox, the snapshot of the directory facts about one mailbox, built from
 *     the user entry and (when it has a mailbox) its database and server entries
 *     (src/store/mailbox.c);
 *   - struct mbx_server_identity, who this server is and which foreign forests it knows;
 *   - mbx_mailbox_classify(), the state of a snapshot as seen from this server;
 *   - mbx_logon_decide(), the RopLogon answer for a state, a request and an authorization
 *     result, with the ecServerPaused limiter, and the event lines to log
 *     (src/store/logon-decision.c).
 * Everything here is pure: no I/O, no event loop, no clock (times are inputs). The
 * asynchronous mailbox table fetches the entries and calls in.
 */
#ifndef MBX_MAILBOX_H
#define MBX_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/authz.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/oxcstor.h"
#include "mbx/sid.h"
#include "mbx/types.h"

/* --- the snapshot ------------------------------------------------------------------------- */

/*
 * What kind of directory object the snapshot is, from objectClass first and
 * msExchRecipientTypeDetails (protocol.md 8.3) second:
 *   objectClass computer                  -> OTHER (AD computers are also class user)
 *   objectClass contact, or RTD MailContact 0x40 / MailForestContact 0x8000 / Contact
 *     0x20000 on an object of no known class -> CONTACT
 *   objectClass group (or an RTD group value on an object of no known class) -> GROUP
 *   objectClass user / inetOrgPerson:
 *     RTD MailUser 0x80 or a Remote*Mailbox value, or no homeMDB but a targetAddress
 *                                         -> MAIL_USER
 *     otherwise                           -> USER
 *   anything else                         -> OTHER
 */
enum mbx_mailbox_kind {
	MBX_MAILBOX_KIND_USER,
	MBX_MAILBOX_KIND_MAIL_USER,
	MBX_MAILBOX_KIND_CONTACT,
	MBX_MAILBOX_KIND_GROUP,
	MBX_MAILBOX_KIND_OTHER,
};
const char *mbx_mailbox_kind_name(enum mbx_mailbox_kind k); /* "user", "mail user", ... */

/* msExchMasterAccountSid: absent, SELF S-1-5-10 (the account itself: resource and shared
 * mailboxes), or another account's SID (linked mailboxes). */
enum mbx_master_account {
	MBX_MASTER_NONE,
	MBX_MASTER_SELF,
	MBX_MASTER_SID,
};

/* msExchMailboxMoveStatus values (protocol.md 8.4, Exchange's RequestStatus). */
enum mbx_move_status {
	MBX_MOVE_NONE = 0,
	MBX_MOVE_QUEUED = 1,
	MBX_MOVE_IN_PROGRESS = 2,
	MBX_MOVE_AUTO_SUSPENDED = 3,
	MBX_MOVE_COMPLETION_IN_PROGRESS = 4,
	MBX_MOVE_SYNCED = 5,
	MBX_MOVE_COMPLETED = 10,
	MBX_MOVE_COMPLETED_WITH_WARNING = 11,
	MBX_MOVE_SUSPENDED = 98,
	MBX_MOVE_FAILED = 99,
};
/* "InProgress" etc.; NULL for a value not in the table. */
const char *mbx_move_status_name(uint32_t status);
/*
 * Whether a move in this status locks the mailbox (answer ecMailboxInTransit). Locked:
 * InProgress 2 and CompletionInProgress 4 (design.md; MS-OXMVMBX 3.1.1: "locked for client
 * access for the entire duration of the move"), and any value not in the table (a status we do
 * not understand might be a move: refusing logons is safe, writing into a mailbox being copied
 * is not). Not locked: None, Queued (nothing copied yet: the source is the mailbox),
 * AutoSuspended and Synced (the copy paused or waits for its final pass while the source stays
 * the live mailbox; the lock is taken when completion starts, status 4), Completed,
 * CompletedWithWarning, Suspended and Failed (the move is over or stopped; homeMDB tells where
 * the mailbox is).
 */
bool mbx_move_status_locks(uint32_t status);

/*
 * The snapshot. Strings are NUL-terminated copies owned by the snapshot; NULL when the
 * attribute (or the entry it comes from) was absent. Attributes are the canonical names of
 * directory.h / protocol.md 8.
 */
struct mbx_mailbox {
	char *dn;           /* the user entry's LDAP DN (never NULL) */
	char *legacy_dn;    /* legacyExchangeDN */
	char *display_name; /* displayName */
	char *smtp;         /* primary SMTP address: proxyAddresses "SMTP:" value, else mail */
	enum mbx_mailbox_kind kind;
	bool has_rtd;
	uint64_t recipient_type_details; /* msExchRecipientTypeDetails (0 if absent) */

	/* Mailbox location. has_mailbox: homeMDB present on a user, mail user or other object
	 * (a contact or group cannot own a mailbox, whatever homeMDB says). */
	bool has_mailbox;
	char *home_mdb_dn;        /* homeMDB */
	char *home_mdb_legacy_dn; /* the database entry's legacyExchangeDN */
	char *home_server_dn;     /* the database entry's msExchOwningServer */
	/* The home server's legacyExchangeDN: the server entry's, else msExchHomeServerName. */
	char *home_server_legacy_dn;
	bool home_server_from_attr; /* home_server_legacy_dn came from msExchHomeServerName */

	/* Account. */
	bool disabled; /* userAccountControl & 0x2 (ADS_UF_ACCOUNTDISABLE) or
	                * msExchUserAccountControl == 2 */
	uint32_t user_account_control;
	bool has_object_sid;
	struct mbx_sid object_sid;
	enum mbx_master_account master;
	struct mbx_sid master_sid; /* MBX_MASTER_SID: the SID; SELF: S-1-5-10; NONE: zero */

	bool has_mailbox_guid;
	struct mbx_guid mailbox_guid; /* msExchMailboxGuid, exactly 16 bytes */

	/* Move (protocol.md 8.4, 8.5). */
	uint32_t move_status; /* 0 if absent */
	uint32_t move_flags;  /* 0 if absent */
	char *move_source_mdb_dn;
	char *move_target_mdb_dn;

	char *target_address; /* targetAddress, e.g. "SMTP:erin@fabrikam.com" */

	/* msExchMailboxSecurityDescriptor, raw (validated by the builder: it decodes). */
	uint8_t *sd;
	size_t sd_len;

	time_t fetched; /* when the entries were fetched (the caller's clock) */
};

/*
 * Builds a snapshot. user is required; database is the entry homeMDB names and server the one
 * the database's msExchOwningServer names, each NULL when not fetched (no homeMDB, or the
 * lookup found nothing). Returns 0 and a new snapshot in *mbx_r, or -1 with a message in err
 * (prefixed with the DN of the entry at fault) and *mbx_r NULL. A -1 is a directory ERROR
 * (MBX_DIR_ERROR): the object exists but the logic cannot trust it; never "unknown user".
 * Rejected: a missing DN; a single-valued attribute with several values or an empty value;
 * msExchMailboxGuid not exactly 16 bytes; objectSid or msExchMasterAccountSid that is neither a
 * binary SID (MS-DTYP 2.4.2.2) nor its "S-1-..." string form; userAccountControl,
 * msExchUserAccountControl, msExchMailboxMoveStatus, msExchMailboxMoveFlags or
 * msExchRecipientTypeDetails that is not a decimal number in range; a security descriptor
 * that does not decode; a database entry whose DN is not homeMDB, or a server entry whose DN
 * is not the database's msExchOwningServer (DNs compared with mbx_mailbox_dn_equal); out of
 * memory. err may be NULL; errsize 256 is plenty for all but the longest DNs.
 */
int mbx_mailbox_from_entries(const struct mbx_dir_entry *user, const struct mbx_dir_entry *database,
                             const struct mbx_dir_entry *server, time_t fetched,
                             struct mbx_mailbox **mbx_r, char *err, size_t errsize);
/* A deep copy, or NULL when out of memory. */
struct mbx_mailbox *mbx_mailbox_dup(const struct mbx_mailbox *mbx);
/* NULL-safe; clears *mbx. */
void mbx_mailbox_free(struct mbx_mailbox **mbx);

/* LDAP DN equality as directories treat it for our purposes: case-insensitive, spaces around
 * the separators ',', '+' and '=' and at both ends ignored, backslash escapes kept as they are
 * (so "\," never separates). NULL equals nothing. */
bool mbx_mailbox_dn_equal(const char *a, const char *b);
/* The normal form mbx_mailbox_dn_equal() compares (lower case, spaces dropped at both ends and
 * around unescaped separators, an escape kept with the character it escapes), malloc'ed,
 * after prefix when that is not '\0': two DNs are equal exactly when their keys are, so the
 * key can index a hash table. NULL when dn is NULL or out of memory. */
char *mbx_mailbox_dn_key(const char *dn, char prefix);

/* The domain of targetAddress ("SMTP:erin@fabrikam.com" -> "fabrikam.com", into buf), or NULL
 * when there is none, the address type is not SMTP, or it does not fit size. */
const char *mbx_mailbox_target_domain(const struct mbx_mailbox *mbx, char *buf, size_t size);

/* --- who we are ------------------------------------------------------------------------- */

/* A forest the administrator configured as a destination of cross-forest moves. */
struct mbx_foreign_forest {
	const char *name;                /* "fabrikam" */
	const char *const *smtp_domains; /* exact domains, compared case-insensitively */
	size_t nsmtp_domains;
	const char *autodiscover_url; /* its Autodiscover endpoint, for redirectUrl */
};

/* This server. Nothing is owned: the configuration keeps the strings. */
struct mbx_server_identity {
	const char *name;      /* "SERVER1", for logs */
	const char *legacy_dn; /* /o=.../cn=Configuration/cn=Servers/cn=SERVER1 */
	const char *ldap_dn;   /* cn=SERVER1,cn=Servers,... (what msExchOwningServer holds) */
	const struct mbx_foreign_forest *forests;
	size_t nforests;
	/* Cross-forest moves answer ecLoginFailure as Exchange 2003 did (MS-OXMVMBX note <1>)
	 * instead of ecUnknownUser. Clients treat both alike (note <2>). */
	bool exchange2003_compat;
};

/* The configured forest that owns this SMTP domain, or NULL. */
const struct mbx_foreign_forest *mbx_server_identity_forest(const struct mbx_server_identity *id,
                                                            const char *domain);
/* The forest a mail user was moved to: its targetAddress's domain's forest, or NULL. */
const struct mbx_foreign_forest *mbx_mailbox_foreign_forest(const struct mbx_mailbox *mbx,
                                                            const struct mbx_server_identity *id);
/* Whether the mailbox's database is on this server: the database's msExchOwningServer is
 * id->ldap_dn, or, when that is not known, the home server's legacyExchangeDN is
 * id->legacy_dn (case-insensitive). False without a mailbox. */
bool mbx_mailbox_hosted_here(const struct mbx_mailbox *mbx, const struct mbx_server_identity *id);

/* --- classification ----------------------------------------------------------------------- */

enum mbx_mailbox_state {
	MBX_MAILBOX_NORMAL,             /* hosted here (a same-server database move lands here) */
	MBX_MAILBOX_IN_TRANSIT,         /* a move that locks it (mbx_move_status_locks) */
	MBX_MAILBOX_MOVED_SAME_FOREST,  /* its database is on another server of this directory */
	MBX_MAILBOX_MOVED_OTHER_FOREST, /* mail user whose targetAddress is in a foreign forest */
	MBX_MAILBOX_CUSTOM_RECIPIENT,   /* exists but has no mailbox and is not a known move */
	MBX_MAILBOX_DISABLED_NO_MASTER, /* disabled account without msExchMasterAccountSid */
	MBX_MAILBOX_HOME_UNKNOWN,       /* has homeMDB, but where it lives cannot be told */
	MBX_MAILBOX_UNKNOWN,            /* no directory object (NOT_FOUND) */
	MBX_MAILBOX_DIR_UNREACHABLE,    /* TEMPFAIL and nothing cached */
	MBX_MAILBOX_DIR_ERROR, /* ERROR (or a FOUND without a snapshot) and nothing cached */
};
#define MBX_MAILBOX_NSTATES 10
const char *mbx_mailbox_state_name(enum mbx_mailbox_state st); /* "normal", "in transit", ... */

/*
 * The state of a mailbox as seen from this server. status is the result of the latest
 * lookup; mbx is the snapshot the caller has: fresh when status is FOUND, cached (stale) when
 * the directory answered TEMPFAIL or ERROR, NULL when there is none.
 *   NOT_FOUND                        -> UNKNOWN (the object is gone; a cache is ignored)
 *   TEMPFAIL / ERROR, mbx NULL       -> DIR_UNREACHABLE / DIR_ERROR (seed 004: never UNKNOWN)
 *   FOUND, mbx NULL                  -> DIR_ERROR (the snapshot could not be built)
 *   otherwise                        -> the snapshot's state, checks in this order, which is
 *                                       the order of MS-OXCSTOR 3.2.5.1.1 (see mailbox.c)
 * why_r, if not NULL, gets a static text saying which rule decided.
 */
enum mbx_mailbox_state mbx_mailbox_classify(const struct mbx_mailbox *mbx,
                                            enum mbx_dir_status status,
                                            const struct mbx_server_identity *id,
                                            const char **why_r);

/* --- the ecServerPaused limiter ----------------------------------------------------------- */

/*
 * MS-OXCSTOR 3.2.5.1.3: "The client has made more than five attempts within a 10-second period
 * to log on to a mailbox that is not hosted on the server" -> ecServerPaused. A fixed-size
 * table (no allocation, bounded memory: about 16 KB) keyed by (principal, mailbox
 * legacyExchangeDN), both case-insensitive, stored as a 64-bit hash (two keys that collide
 * share one counter: at worst a client is paused early, nothing is ever granted by it). Each
 * slot keeps the times of the last five attempts; an attempt is refused when five earlier
 * attempts, refused ones included (they are attempts too, so a client hammering stays paused
 * until it backs off), lie less than 10 s before it. When the table is full, the least
 * recently used slot is evicted. Times are the caller's monotonic clock in milliseconds.
 */
#define MBX_LOGON_LIMIT_ATTEMPTS 5
#define MBX_LOGON_LIMIT_WINDOW_MS 10000
#define MBX_LOGON_LIMITER_SLOTS 256

struct mbx_logon_limiter_slot {
	uint64_t key;
	uint64_t last_ms; /* time of the latest attempt, for LRU eviction */
	uint64_t times_ms[MBX_LOGON_LIMIT_ATTEMPTS]; /* ring of the latest attempts */
	uint8_t ntimes;                              /* 0..MBX_LOGON_LIMIT_ATTEMPTS */
	uint8_t next;                                /* ring position of the next write */
	bool used;
};

struct mbx_logon_limiter {
	struct mbx_logon_limiter_slot slots[MBX_LOGON_LIMITER_SLOTS];
	uint64_t evictions; /* slots taken from a key still in use (for metrics) */
};

enum mbx_logon_limit {
	MBX_LOGON_LIMIT_OK,
	MBX_LOGON_LIMIT_PAUSED,
};

void mbx_logon_limiter_init(struct mbx_logon_limiter *l);
/* Records one attempt of principal (NULL = "") at mailbox at now_ms and says whether it is
 * over the limit. */
enum mbx_logon_limit mbx_logon_limiter_hit(struct mbx_logon_limiter *l, const char *principal,
                                           const char *mailbox, uint64_t now_ms);
/* Slots in use (for tests and metrics). */
size_t mbx_logon_limiter_count(const struct mbx_logon_limiter *l);

/* --- the RopLogon decision ---------------------------------------------------------------- */

struct mbx_logon_input {
	enum mbx_mailbox_state state;  /* from mbx_mailbox_classify */
	const struct mbx_mailbox *mbx; /* the snapshot classified (NULL for UNKNOWN and DIR_*) */
	const struct mbx_logon_req *req;
	const struct mbx_server_identity *id;
	/* mbx_authz_check's result for this principal and mailbox; needed only when the state
	 * allows a logon (NORMAL): NULL there means "not authorized". */
	const struct mbx_authz *authz;
	const char *principal;             /* the authenticated user, for logs and the limiter */
	struct mbx_logon_limiter *limiter; /* NULL: no ecServerPaused */
	uint64_t now_ms;                   /* the limiter's clock */
};

#define MBX_LOGON_MAX_EVENTS 2

struct mbx_logon_decision {
	uint32_t ec;                                 /* ReturnValue (enum mbx_ec) */
	enum mbx_logon_resp_kind kind;               /* which RopLogon response layout to send */
	const char *reason;                          /* static, short: which rule decided */
	uint8_t response_flags;                      /* success, private: MBX_RESP_* */
	bool owner;                                  /* success: the principal's home mailbox */
	enum mbx_event events[MBX_LOGON_MAX_EVENTS]; /* to log, in this order */
	unsigned nevents;
	/* ecWrongServer: the home server's legacyExchangeDN for the Wrong Server Buffer
	 * (1..254 printable ASCII bytes). */
	char server[MBX_SERVERNAME_MAX + 1];
	/* Extra detail for the log lines (already log-safe), e.g. the ambiguous SID and its
	 * objects, or the length of an oversized server name. */
	char detail[MBX_AUTHZ_REASON_MAX];
};

/*
 * The RopLogon answer (MS-OXCSTOR 3.2.5.1.1; the full order is written out in
 * logon-decision.c):
 *   public logon (no Private flag)   -> success, public layout (every server hosts a public
 *                                       folder store; state, authz and flags are not looked at)
 *   private without USE_PER_MDB_REPLID_MAPPING -> ecInvalidParameter (3.2.5.1.3, as gromox)
 *   UNKNOWN                          -> ecUnknownUser
 *   DIR_UNREACHABLE                  -> ecNetworkError (seed 004)
 *   DIR_ERROR, HOME_UNKNOWN          -> ecLoginFailure + event 1022
 *   MOVED_OTHER_FOREST               -> ecUnknownUser (ecLoginFailure under exchange2003_compat),
 *                                       or ecServerPaused past the limit
 *   CUSTOM_RECIPIENT                 -> ecUnknownUser + failure audit event 1023 (seed 003)
 *   IN_TRANSIT                       -> ecMailboxInTransit + event 9660
 *   DISABLED_NO_MASTER               -> ecLoginFailure + events 9548 and 1022 (seed 000)
 *   MOVED_SAME_FOREST                -> ecWrongServer + the home server's legacyExchangeDN, or
 *                                       ecServerPaused past the limit, or ecLoginFailure +
 *                                       event 1022 when the name does not fit 254 bytes
 *   NORMAL: ambiguous token          -> ecAccessDenied + event 2105
 *           not the principal's home mailbox and no USE_ADMIN_PRIVILEGE
 *                                    -> ecProfileNotConfigured
 *           not authorized           -> ecAccessDenied + event 1022
 *           otherwise                -> success, private layout
 * Fills *d completely. Only side effect: the limiter records the attempt (for the two "moved"
 * states). Does not log: call mbx_logon_decision_log.
 */
void mbx_logon_decide(const struct mbx_logon_input *in, struct mbx_logon_decision *d);

/*
 * The text of event number i (0 .. d->nevents - 1) of a decision, without the "event=<id>
 * <NAME>: " prefix mbx_log_event adds, into buf (truncated to size). Names the mailbox
 * (legacyExchangeDN from the snapshot, else the request's Essdn), the principal and the
 * server; every string that came from a client or the directory is escaped with
 * mbx_log_escape. Returns the event id, or 0 (and buf "") when i is out of range.
 */
int mbx_logon_decision_line(const struct mbx_logon_decision *d, const struct mbx_logon_input *in,
                            unsigned i, char *buf, size_t size);
/* Writes every event of d with mbx_log_event, in order. */
void mbx_logon_decision_log(const struct mbx_logon_decision *d, const struct mbx_logon_input *in);

#endif
