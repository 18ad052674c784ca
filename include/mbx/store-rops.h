/*
 * store-rops.h: the store side behind the session's Execute engine (include/mbx/session.h):
 *
 *   1. the mailbox's fixed store facts (src/store/mailbox-store.c): the special folders and
 *      their FIDs (protocol.md 2.1), MailboxGuid, ReplGuid and ReplId, derived from the
 *      directory snapshot alone, so that they survive a move to another database of the same
 *      server (protocol.md 2.6);
 *   2. the server objects of a session (Logon and Folder objects), as the handlers see them;
 *      the handle table bookkeeping is src/store/session.c's;
 *   3. the store ROP handlers (src/store/store-rops.c, with a file per spec family:
 *      store-rops-oxcstor.c, store-rops-oxcfold.c, store-rops-oxcprpt.c) for struct
 *      mbx_rop_handler: RopLogon (writes what the logon pipeline decided), RopRelease,
 *      RopGetReceiveFolder, RopGetStoreState, RopGetOwningServers, RopLongTermIdFromId,
 *      RopIdFromLongTermId (MS-OXCSTOR), RopOpenFolder (MS-OXCFOLD), RopGetPropertiesSpecific
 *      (MS-OXCPRPT).
 *
 * Parts 2 and 3 are the contract between session*.c and store-rops*.c, not an API for the
 * front end. Nothing here does I/O or includes event2/.
 */
#ifndef MBX_STORE_ROPS_H
#define MBX_STORE_ROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/mailbox.h"
#include "mbx/oxcstor.h"
#include "mbx/ropbuf.h"
#include "mbx/types.h"

/* --- 1. the store facts (mailbox-store.c) ------------------------------------------------- */

/* The ReplId of the store's own replica: in every FID of the RopLogon response and in its ReplId
 * field, mapped to the store's ReplGuid (MS-OXCSTOR 3.2.5.8: never 0). */
#define MBX_STORE_REPLID 0x0001

/* Namespace of the name-based (RFC 4122 version 5, SHA-1) GUIDs derived here. */
#define MBX_STORE_GUID_NAMESPACE "9b47b17b-73fe-49d5-abae-2983e7b499f2"

enum mbx_store_kind {
	MBX_STORE_PRIVATE,
	MBX_STORE_PUBLIC,
};

/* One special folder of a store (static tables in mailbox-store.c). */
struct mbx_store_folder {
	uint64_t globcnt;            /* its GLOBCNT (protocol.md 2.1) */
	const char *name;            /* PidTagDisplayName */
	int parent;                  /* index of the parent in the same table, -1 for the root */
	const char *container_class; /* PidTagContainerClass, NULL when not set */
	uint32_t folder_type;        /* PidTagFolderType: 0 root, 1 generic */
};

/* The facts a RopLogon success response and the store ROPs need. */
struct mbx_mailbox_store {
	enum mbx_store_kind kind;
	struct mbx_guid mailbox_guid; /* private: msExchMailboxGuid; public: zero */
	struct mbx_guid repl_guid;
	uint16_t replid;
	struct mbx_fid fids[MBX_LOGON_NFIDS];   /* the RopLogon FolderIds, in response order */
	const struct mbx_store_folder *folders; /* the special folders of the store */
	size_t nfolders;
};

/*
 * The facts of a private mailbox, from its snapshot only:
 *   MailboxGuid = msExchMailboxGuid;
 *   ReplGuid    = mbx_mailbox_store_repl_guid(MailboxGuid);
 *   ReplId      = MBX_STORE_REPLID;
 *   FIDs        = ReplId + the GLOBCNTs of protocol.md 2.1 (root 0x01 ... shortcuts 0x04).
 * Nothing depends on homeMDB, the database or the server, so a move to another database of
 * the same server keeps all of them (protocol.md 2.6). Returns 0, or -1 when the snapshot has
 * no msExchMailboxGuid (the object cannot be trusted as a mailbox: the caller answers
 * ecLoginFailure).
 */
int mbx_mailbox_store_private(const struct mbx_mailbox *mbx, struct mbx_mailbox_store *st_r);
/* The public folder store of this server: ReplGuid is the version-5 GUID of the name
 * "public:" + the server's legacyExchangeDN in lower case; FIDs root 0x01, IPM subtree 0x02,
 * non-IPM subtree 0x03, EForms registry 0x04, the other nine zero (as Exchange 2013 and later
 * send them, protocol.md 2.2). MailboxGuid is zero. */
void mbx_mailbox_store_public(const struct mbx_server_identity *id, struct mbx_mailbox_store *st_r);
/* ReplGuid of a private mailbox: the RFC 4122 version-5 GUID in the namespace
 * MBX_STORE_GUID_NAMESPACE of the name made of the 16 wire bytes of the MailboxGuid (SHA-1 of
 * the namespace's RFC byte order followed by the name; the result's version nibble set to 5
 * and its variant to 10b), written in the Windows GUID wire layout. A function of the
 * MailboxGuid alone. */
void mbx_mailbox_store_repl_guid(const struct mbx_guid *mailbox_guid, struct mbx_guid *guid_r);
/* The version-5 GUID of an arbitrary name in MBX_STORE_GUID_NAMESPACE (the primitive above). */
void mbx_mailbox_store_guid5(const void *name, size_t len, struct mbx_guid *guid_r);
/* Index of the special folder fid in st->folders, or -1 (another ReplId, an unknown GLOBCNT). */
int mbx_mailbox_store_folder(const struct mbx_mailbox_store *st, struct mbx_fid fid);
/* FID of folder i of st (i < st->nfolders). */
struct mbx_fid mbx_mailbox_store_fid(const struct mbx_mailbox_store *st, size_t i);
/* Number of folders whose parent is folder i (PidTagFolderChildCount). */
uint32_t mbx_mailbox_store_child_count(const struct mbx_mailbox_store *st, size_t i);
/* Messages in folder i, all and unread (PidTagContentCount, PidTagContentUnreadCount): the
 * store keeps no messages, so both are 0. */
uint32_t mbx_mailbox_store_content_count(const struct mbx_mailbox_store *st, size_t i);
uint32_t mbx_mailbox_store_unread_count(const struct mbx_mailbox_store *st, size_t i);
/* The receive folder of a message class (MS-OXCSTOR 3.2.5.2): the longest configured class
 * that equals msg_class or is a prefix of it ending at a '.', case-insensitive: "" and "IPM"
 * and "REPORT.IPM" -> Inbox, "IPC" -> the root. Returns the folder index and the configured
 * class (static) in *explicit_r; -1 for a public store (no receive folders). */
int mbx_mailbox_store_receive_folder(const struct mbx_mailbox_store *st, const char *msg_class,
                                     const char **explicit_r);
/* Whether msg_class is a valid MessageClass for RopGetReceiveFolder (MS-OXCSTOR 2.2.1.2.1):
 * at most 254 characters, each 32..126, no leading or trailing '.', no "..". */
bool mbx_mailbox_store_class_valid(const char *msg_class);

/* --- 2. server objects (session.c keeps them) -------------------------------------------- */

/* REPLID <-> REPLGUID mappings a Logon object hands out for RopIdFromLongTermId (MS-OXCSTOR
 * 3.2.5.9), beside the store's own ReplId; one more gets ecParameterOverflow. */
#define MBX_STORE_MAX_REPLIDS 256
/* ecParameterOverflow (MS-OXCSTOR 3.2.5.9); not in rop-errors.h's list. */
#define MBX_EC_PARAMETER_OVERFLOW 0x00000450u

enum mbx_store_obj_type {
	MBX_STORE_OBJ_LOGON = 1,
	MBX_STORE_OBJ_FOLDER = 2,
};

struct mbx_store_logon {
	uint8_t logon_id;
	uint8_t logon_flags;    /* as the request sent them */
	uint8_t response_flags; /* private: MBX_RESP_* of the decision */
	bool owner;             /* private: the principal's home mailbox */
	struct mbx_mailbox_store store;
	char *legacy_dn;    /* private: the mailbox's legacyExchangeDN (owned); public: NULL */
	char *display_name; /* private: its displayName (owned), may be NULL */
	/* Extra REPLGUIDs registered by RopIdFromLongTermId: REPLID 2 + i is extra[i]. */
	struct mbx_guid *extra_replguids;
	size_t nextra;
};

struct mbx_store_folder_obj {
	int idx; /* index in logon->store.folders */
	struct mbx_fid fid;
};

struct mbx_store_obj {
	uint32_t handle;
	enum mbx_store_obj_type type;
	struct mbx_store_obj *logon; /* the Logon object this belongs to (itself for a logon) */
	union {
		struct mbx_store_logon logon;
		struct mbx_store_folder_obj folder;
	} u;
	/* session.c's bookkeeping */
	struct mbx_store_obj *hnext;         /* hash chain by handle */
	struct mbx_store_obj *lprev, *lnext; /* the objects of one logon (not the logon) */
	struct mbx_store_obj *children;      /* logon: its objects */
};

struct mbx_session;
struct mbx_session_exec;

/* What the resolve step decided for one RopLogon of the list (session-exec.c). */
struct mbx_session_logon_answer {
	size_t off;               /* absolute offset of the request in the payload */
	bool malformed;           /* the request did not decode: answer ecRpcFormat */
	struct mbx_logon_req req; /* decoded (essdn points into the payload) */
	bool done;                /* the pipeline answered */
	struct mbx_logon_decision decision;
	struct mbx_mailbox *mbx; /* the snapshot (owned copy), for a private success */
};

/* For the handlers (implemented in session.c and session-exec.c). ctx of every handler is the
 * exec. */
struct mbx_session *mbx_session_exec_session(struct mbx_session_exec *e);
/* The answer for the RopLogon at absolute offset off, or NULL. */
const struct mbx_session_logon_answer *mbx_session_exec_answer(struct mbx_session_exec *e,
                                                               size_t off);
/* Counts one RopLogon response for the result's nlogons / logon_ecs. */
void mbx_session_exec_note_logon(struct mbx_session_exec *e, uint32_t ec);
/* The object with this handle, or NULL (never issued, released, or 0xFFFFFFFF). */
struct mbx_store_obj *mbx_session_obj_get(struct mbx_session *s, uint32_t handle);
/* The object in slot idx of the executor's table that belongs to logon_id, or NULL. */
struct mbx_store_obj *mbx_session_obj_at(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                         int idx, uint8_t logon_id);
/* A new Logon object from *lg (moved in: its owned pointers are the object's now, *lg is
 * cleared, also on failure, when they are freed). An active logon with the same LogonId is
 * released first (with all its objects), and the public-logon bitmap is updated. Returns the
 * object, or NULL when the session's object limit is reached, handles are exhausted or memory
 * is short. */
struct mbx_store_obj *mbx_session_logon_new(struct mbx_session *s, struct mbx_store_logon *lg);
/* A new Folder object under logon. NULL as above. */
struct mbx_store_obj *mbx_session_folder_new(struct mbx_session *s, struct mbx_store_obj *logon,
                                             int idx, struct mbx_fid fid);
/* Frees an object; a Logon object takes all its objects with it. */
void mbx_session_obj_release(struct mbx_session *s, struct mbx_store_obj *o);
/* The session's clock (UTC seconds), server identity and principal. */
time_t mbx_session_now(const struct mbx_session *s);
const struct mbx_server_identity *mbx_session_identity(const struct mbx_session *s);
const char *mbx_session_principal_legacy_dn(const struct mbx_session *s);

/* --- 3. the handlers (store-rops*.c) ------------------------------------------------------ */

/* The handler of rop_id, or NULL for a ROP the store does not implement (the executor answers
 * ecNotSupported). resp_max of the entries is a bound for any request; the session narrows it
 * per request with mbx_store_rops_resp_max. */
const struct mbx_rop_handler *mbx_store_rops_handler(uint8_t rop_id);
/* The response bound of this request, given the objects as they are now (the executor's table
 * ex): exact for RopLogon (from the answer), RopGetOwningServers and RopGetPropertiesSpecific
 * (whose response depends on the request and the object), the static bound otherwise. Pure:
 * called before the handler runs, to decide whether it fits. */
size_t mbx_store_rops_resp_max(struct mbx_session_exec *e, const struct mbx_rop_exec *ex,
                               const struct mbx_rop_req *req);

/* Property tags the store answers (MS-OXPROPS). */
#define MBX_PT_UNSPECIFIED 0x0000
#define MBX_PT_LONG 0x0003
#define MBX_PT_ERROR 0x000A
#define MBX_PT_BOOLEAN 0x000B
#define MBX_PT_I8 0x0014
#define MBX_PT_STRING8 0x001E
#define MBX_PT_UNICODE 0x001F
#define MBX_PT_BINARY 0x0102

#define MBX_PR_RECORD_KEY 0x0FF90102u
#define MBX_PR_ENTRYID 0x0FFF0102u
#define MBX_PR_DISPLAY_NAME 0x3001001Fu
#define MBX_PR_STORE_STATE 0x340E0003u
#define MBX_PR_FOLDER_TYPE 0x36010003u
#define MBX_PR_CONTENT_COUNT 0x36020003u
#define MBX_PR_CONTENT_UNREAD 0x36030003u
#define MBX_PR_SUBFOLDERS 0x360A000Bu
#define MBX_PR_CONTAINER_CLASS 0x3613001Fu
#define MBX_PR_ASSOC_CONTENT_COUNT 0x36170003u
#define MBX_PR_USER_ENTRYID 0x66190102u
#define MBX_PR_MAILBOX_OWNER_ENTRYID 0x661B0102u
#define MBX_PR_MAILBOX_OWNER_NAME 0x661C001Fu
#define MBX_PR_FOLDER_CHILD_COUNT 0x66380003u
#define MBX_PR_FOLDER_ID 0x67480014u
#define MBX_PR_PARENT_FOLDER_ID 0x67490014u

#endif
