/*
 * authz.h: who may open a mailbox (design.md "The mailbox-state table and the logon decision",
 * protocol.md 8.1 and 8.6, seeds 000 and 002). Pure: the caller (the asynchronous mailbox
 * table) has already fetched the snapshot, the principal's group SIDs and, for every SID that
 * matters, the directory objects holding it; this module only decides. No I/O, no logging:
 * the reason text goes into the result and mbx_logon_decision_log() writes it (event 2105 for
 * an ambiguous SID).
 *
 * The rules, in the order they are applied:
 *   1. Ambiguity (seed 002, KB 870585). Every SID of the principal's token (its own SID and its
 *      group SIDs) that the directory returned for more than one object is ambiguous, unless
 *      it is a well-known or BUILTIN SID (mbx_sid_is_wellknown: S-1-5-32-*, SELF, Everyone,
 *      ...), which has the same value in every domain and resolves from the built-in table.
 *      An ambiguous token cannot be trusted for anything, the owner test included (Exchange
 *      refused the whole alias), so the result is AMBIGUOUS, which is a denial; the reason names
 *      the SID and the objects holding it.
 *   2. Owner. The mailbox is the principal's own when the principal's SID is
 *        - the mailbox's objectSid, unless the account is disabled (a disabled account cannot
 *          be the one logging on: its mailbox belongs to its master account), or
 *        - the msExchMasterAccountSid (linked and resource mailboxes), where SELF S-1-5-10
 *          stands for the mailbox's own objectSid (seed 000, KB 903158).
 *      A disabled account without msExchMasterAccountSid has no owner at all.
 *      The owner's access does not depend on the security descriptor (design.md: "must be the
 *      mailbox's owner ... or be granted full access").
 *   3. Full access: MBX_SD_RIGHT_FULL_ACCESS granted by msExchMailboxSecurityDescriptor to the
 *      principal or one of its group SIDs, by mbx_secdesc_check() (DACL order, deny ACEs win
 *      when they come first; ACEs for SELF name the mailbox's objectSid).
 *   Otherwise DENIED.
 */
#ifndef MBX_AUTHZ_H
#define MBX_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "mbx/sid.h"

struct mbx_mailbox;

/* What the directory returned for one SID (MBX_DIR_BY_SID): the DNs of the objects whose
 * objectSid it is. ndns 0 = no object (unresolved: not an error here), 1 = normal, 2 or more =
 * ambiguous unless the SID is well-known. */
struct mbx_authz_sid_dns {
	struct mbx_sid sid;
	const char *const *dns;
	size_t ndns;
};

/* The authenticated principal. Nothing is owned: all pointers stay the caller's. */
struct mbx_authz_principal {
	const char *name;             /* for reasons and logs ("alice@contoso.com"); may be NULL */
	const struct mbx_sid *sid;    /* the account's objectSid; NULL = not known (never owner) */
	const struct mbx_sid *groups; /* transitive group SIDs (the token); may be NULL if 0 */
	size_t ngroups;
	/* Resolver results for the SIDs of the token (entries for other SIDs are ignored). */
	const struct mbx_authz_sid_dns *resolved;
	size_t nresolved;
};

enum mbx_authz_result {
	MBX_AUTHZ_GRANTED,
	MBX_AUTHZ_DENIED,
	MBX_AUTHZ_AMBIGUOUS, /* denied because a SID of the token is held by several objects */
};

/* How access was granted (GRANTED) or why not (the others). */
enum mbx_authz_via {
	MBX_AUTHZ_VIA_NONE,           /* denied: neither owner nor full access */
	MBX_AUTHZ_VIA_OWNER,          /* principal SID = objectSid */
	MBX_AUTHZ_VIA_MASTER_ACCOUNT, /* principal SID = msExchMasterAccountSid (SELF resolved) */
	MBX_AUTHZ_VIA_FULL_ACCESS,    /* FullAccess in msExchMailboxSecurityDescriptor */
	MBX_AUTHZ_VIA_AMBIGUOUS_SID,  /* AMBIGUOUS */
	MBX_AUTHZ_VIA_BAD_INPUT,      /* no mailbox, or a descriptor that does not decode: DENIED */
};

#define MBX_AUTHZ_REASON_MAX 1024

struct mbx_authz {
	enum mbx_authz_result result;
	enum mbx_authz_via via;
	/* The mailbox is the principal's home mailbox (rule 2), whatever the descriptor says.
	 * False for AMBIGUOUS. */
	bool owner;
	/* Rights for the RopLogon ResponseFlags (protocol.md 2.1): OwnerRight when owner or full
	 * access, SendAsRight when owner or the descriptor grants MBX_SD_RIGHT_SEND_AS. */
	bool owner_right;
	bool send_as_right;
	/* Human-readable, log-safe (directory strings escaped): "alice@contoso.com is the owner
	 * (objectSid S-1-5-21-...-1101)", or for AMBIGUOUS "SID S-1-5-21-...-1200 is held by 2
	 * objects: \"cn=A,...\", \"cn=B,...\"". */
	char reason[MBX_AUTHZ_REASON_MAX];
};

const char *mbx_authz_result_name(enum mbx_authz_result r); /* "granted", "denied", "ambiguous" */
const char *mbx_authz_via_name(enum mbx_authz_via v);       /* "owner", "master account", ... */

/*
 * Decides whether principal p may open mailbox mbx (rules above). Always fills *res_r (never
 * fails): mbx NULL, or a security descriptor that does not decode (the snapshot builder
 * already rejects those), give DENIED with via BAD_INPUT. Allocates a decoded descriptor
 * (about 35 KB) on the heap for the duration of the call; if that allocation fails the result
 * is DENIED with the reason "out of memory". Does not log and does not call back.
 */
void mbx_authz_check(const struct mbx_mailbox *mbx, const struct mbx_authz_principal *p,
                     struct mbx_authz *res_r);

#endif
