/*
 * admin.h: the commands of mbxctl(8) as the daemon runs them (src/admin/), independent of
 * the control socket that carries them (include/mbx/control.h): a command is argv in, an exit
 * status and a body (text or JSON) out, through a callback from the event loop. The daemon glues
 * the two together; unit tests call mbx_admin_run() directly on the ldif backend.
 *
 * Commands (argv[0..]); MAILBOX is a legacyExchangeDN (starts with '/') or an SMTP address
 * (holds '@', an "smtp:" prefix is accepted); DATABASE is a database's LDAP DN (holds '='), its
 * legacyExchangeDN (starts with '/') or its cn ("DB02": letters, digits, " ._-()"), looked up
 * in the Exchange 2007+ layout beside this server's entries: first the DN
 * "cn=DB02,cn=Databases,<id->ldap_dn without its cn=SERVER,cn=Servers>", then the
 * legacyExchangeDN "<id->legacy_dn up to /cn=Configuration>/cn=Configuration/cn=Databases/
 * cn=DB02" (the directory compares both case-insensitively). The entry must be a mailbox
 * database (objectClass msExchPrivateMDB, or msExchMDB and not msExchPublicMDB):
 *
 *   mailbox show MAILBOX
 *       The directory facts of the snapshot (DN, legacyExchangeDN, kind, homeMDB, database and
 *       home server, account state, master account, move attributes, targetAddress, mailbox
 *       GUID), the derived state (mbx_mailbox_classify, with its why) and what a RopLogon from
 *       its owner would get here and why (the decision's ec code by name and value, and the
 *       redirect server or forest). Read fresh from the directory (the cached entry is
 *       invalidated first).
 *   move start MAILBOX --to DATABASE
 *       Refused (exit 1) when: the mailbox is a disabled account without msExchMasterAccountSid
 *       (message "Disabled user LEGACYDN does not have a master account SID; set one with
 *       `mbxctl mailbox associate-self LEGACYDN`", seed 000's fix; events 9548 then 1009
 *       logged); it has no mailbox; a move is already recorded (any msExchMailboxMoveStatus
 *       but none, Completed 10 and CompletedWithWarning 11: abort it first); the database is
 *       its current one or has no msExchOwningServer. Every refusal of a move step (start,
 *       complete, abort) logs event 1009 with the message. No such database: exit 3.
 *       Otherwise one atomic modification of the user entry:
 *       msExchMailboxMoveStatus 2 (InProgress), msExchMailboxMoveFlags 0x2 IntraOrg, Source =
 *       the current homeMDB, Target = the database's DN. Event 1006 logged (display name, source and
 *       destination databases' and the mailbox's legacyExchangeDNs, as Exchange's 1006). Then
 *       every session context holding a logon on it is destroyed (mbx_frontend_drop_mailbox)
 *       and the table entry invalidated, so a new logon gets ecMailboxInTransit. Prints what
 *       it did and the number of sessions dropped.
 *   move start MAILBOX --cross-forest
 *       The same for a move out of the forest (its target database is in the other forest):
 *       the same refusals but the database ones; status 2, flags 0x1 (CrossOrg), Source = the
 *       current homeMDB, no Target. Only `move complete --cross-forest` or `move abort` end it.
 *   move complete MAILBOX
 *       Needs a move in progress (status InProgress 2 or CompletionInProgress 4; otherwise
 *       refused, exit 1). homeMDB = the target, msExchHomeServerName = the target
 *       database's owning server's legacyExchangeDN, msExchMailboxMoveStatus 10 (Completed),
 *       source and target links kept as the record of the move. MailboxGuid untouched.
 *       Event 1007.
 *   move complete MAILBOX --cross-forest SMTP:user@other.example
 *       The same end for a move out of the forest: homeMDB, msExchHomeServerName deleted;
 *       targetAddress = the address; msExchRecipientTypeDetails 0x80 (MailUser);
 *       msExchMailboxMoveFlags 0x1 (CrossOrg); status 10. The domain should be one of a
 *       configured [forest.NAME] (a warning line otherwise, not an error; "SMTP:" may be left
 *       out). MailboxGuid and the source/target links kept. Event 1007.
 *   move abort MAILBOX
 *       Needs a move recorded (any status but none, Completed, CompletedWithWarning). Deletes
 *       the four move attributes: the entry is as before the start. Event 1008.
 *   mailbox associate-self MAILBOX
 *       msExchMasterAccountSid = S-1-5-10 (SELF), and an ACCESS_ALLOWED ACE for S-1-5-10 with
 *       full mailbox access and associated external account (MBX_SD_RIGHT_FULL_ACCESS |
 *       MBX_SD_RIGHT_EXTERNAL_ACCOUNT, seed 000) appended to the DACL of
 *       msExchMailboxSecurityDescriptor (created empty when absent; no ACE added when one
 *       already grants SELF both), one atomic modification. Refused (exit 1) when a master
 *       account SID is set already, for a contact or group, and when an ACE allows another
 *       account the associated external account right (seed 000: only one account at a time
 *       may hold it; the message names its SID: remove it first).
 *   report disabled-without-master-sid
 *       The disabled accounts without msExchMasterAccountSid (seed 000's ldifde query), as
 *       ldifde prints them with "-l nothing": for each, "dn: DN", "changetype: add", an empty
 *       line ("dn:: BASE64" for a DN that is not an LDIF SAFE-STRING); nothing when there are
 *       none. JSON: {"accounts": [{"dn": ..., "legacyExchangeDN": ..., "hasMailbox": ...}],
 *       "count": N}.
 *   sessions
 *       The session contexts (mbx_frontend_list): owner, mailboxes logged on, age, idle time,
 *       requests. JSON: {"sessions": [...], "count": N}.
 *   trace CATEGORY on|off
 *       mbx_log_set_trace (category names of mbx_trace_from_name, or "all").
 *   reload
 *       The daemon's reload (the deps' reload hook); prints the outcome.
 *   help
 *       The command list.
 * Unknown commands and wrong arguments: exit 2 with a one-line usage message.
 * Directory answers: NOT_FOUND exit 3 ("no such mailbox: ..."), TEMPFAIL exit 4 ("directory
 * unavailable: ..."; never "no such mailbox"), ERROR exit 1. Mailboxes are always read fresh
 * (the table entry is invalidated first) and invalidated again after each modification.
 * The JSON keys of each command are documented at the top of the file that writes them.
 */
#ifndef MBX_ADMIN_H
#define MBX_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct mbx_config;
struct mbx_dir;
struct mbx_mailbox_table;
struct mbx_server_identity;
struct mbx_frontend;

struct mbx_admin_deps {
	struct event_base *base;
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	const struct mbx_server_identity *id;
	/* Read at each command: [servers] (the redirect URL `mailbox show` prints); may be NULL.
	 * The forests come from id. The daemon keeps it current across reloads through
	 * mbx_admin_reconfigure. */
	const struct mbx_config *cfg;
	struct mbx_frontend *fe; /* sessions, drop on transit; NULL in unit tests */
	/* The daemon's reload; NULL: "reload" answers exit 1 "reload is not available". Called
	 * from the event loop, inside a command; it may call mbx_admin_reconfigure. Returns 0 or -1
	 * with a message in err. */
	int (*reload)(void *hook_ctx, char *err, size_t errsize);
	void *hook_ctx;
};

struct mbx_admin;

/* deps is copied; base, dir and table are required (NULL otherwise, or when out of memory). */
struct mbx_admin *mbx_admin_new(const struct mbx_admin_deps *deps);
/* A reloaded configuration (cfg pointer changes). */
void mbx_admin_reconfigure(struct mbx_admin *a, const struct mbx_config *cfg);

/* The answer of one command: exit status (enum mbx_control_exit), the body (OK: the output;
 * otherwise a one-line message, without its LF). body is valid during the call only. */
typedef void mbx_admin_done_cb(void *ctx, int exit, const char *body, size_t len);

/*
 * Runs argv[0..argc) (argv[0] is the command's first word; argv is copied). The callback runs
 * exactly once, from the event loop, never before this returns (unless the admin is freed
 * first: then it runs from mbx_admin_free; and when not even the command's memory can be
 * allocated, it runs at once with exit 1 "out of memory"). who names the requester for the
 * log lines ("uid 1000"). The callback must not free the admin.
 */
void mbx_admin_run(struct mbx_admin *a, int argc, const char *const *argv, bool json,
                   const char *who, mbx_admin_done_cb *cb, void *ctx);

/* Commands still running. */
size_t mbx_admin_pending(const struct mbx_admin *a);

/* Answers every running command (exit 1, "daemon stopping"; a command whose answer was ready
 * but not yet delivered gets that answer) and frees. NULL-safe; clears *a. */
void mbx_admin_free(struct mbx_admin **a);

#endif
