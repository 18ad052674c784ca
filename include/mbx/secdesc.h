/*
 * secdesc.h: self-relative Windows security descriptors (MS-DTYP 2.4.6) as stored in the
 * msExchMailboxSecurityDescriptor attribute, with their ACLs (2.4.5) and ACEs (2.4.4); an
 * encoder; and the DACL access check (after MS-DTYP 2.5.3.2) that mbxstore uses to decide
 * whether a principal has full mailbox access. docs/secdesc.md has the format, the sources of
 * the mailbox-rights bits and the exact rules of the check.
 *
 * Pure functions. Nothing here allocates; a decoded descriptor may point into the input
 * buffer (mbx_ace.extra) and is valid only as long as that buffer.
 */
#ifndef MBX_SECDESC_H
#define MBX_SECDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/sid.h"
#include "mbx/types.h"
#include "mbx/wire.h"

/* Most ACEs one descriptor may hold, DACL and SACL together. A descriptor with more is an
 * error, never silently truncated. Real mailbox descriptors hold a handful; an ACL of the
 * maximum size (65535 bytes) could hold about 4000 of the smallest ACEs. */
#define MBX_SD_MAX_ACES 256

/* Fixed part of a self-relative SECURITY_DESCRIPTOR, of an ACL, of an ACE_HEADER. */
#define MBX_SD_HEADER_SIZE 20
#define MBX_SD_ACL_HEADER_SIZE 8
#define MBX_SD_ACE_HEADER_SIZE 4
/* Smallest ACE: header, Mask and a SID without sub-authorities. */
#define MBX_SD_ACE_MIN_SIZE 16

/* SECURITY_DESCRIPTOR Control bits (MS-DTYP 2.4.6). */
#define MBX_SD_OWNER_DEFAULTED 0x0001
#define MBX_SD_GROUP_DEFAULTED 0x0002
#define MBX_SD_DACL_PRESENT 0x0004
#define MBX_SD_DACL_DEFAULTED 0x0008
#define MBX_SD_SACL_PRESENT 0x0010
#define MBX_SD_SACL_DEFAULTED 0x0020
#define MBX_SD_DACL_TRUSTED 0x0040
#define MBX_SD_SERVER_SECURITY 0x0080
#define MBX_SD_DACL_AUTO_INHERIT_REQ 0x0100
#define MBX_SD_SACL_AUTO_INHERIT_REQ 0x0200
#define MBX_SD_DACL_AUTO_INHERITED 0x0400
#define MBX_SD_SACL_AUTO_INHERITED 0x0800
#define MBX_SD_DACL_PROTECTED 0x1000
#define MBX_SD_SACL_PROTECTED 0x2000
#define MBX_SD_RM_CONTROL_VALID 0x4000 /* Sbz1 holds resource-manager control bits */
#define MBX_SD_SELF_RELATIVE 0x8000

/* AclRevision (MS-DTYP 2.4.5): the only two values allowed on the wire. Object ACEs need
 * ACL_REVISION_DS. */
#define MBX_SD_ACL_REVISION 2
#define MBX_SD_ACL_REVISION_DS 4

/* AceType (MS-DTYP 2.4.4.1). 0x04 (compound, "reserved") and values above 0x13 are rejected
 * by the decoder. */
enum mbx_sd_ace_type {
	MBX_SD_ACE_ACCESS_ALLOWED = 0x00,
	MBX_SD_ACE_ACCESS_DENIED = 0x01,
	MBX_SD_ACE_SYSTEM_AUDIT = 0x02,
	MBX_SD_ACE_SYSTEM_ALARM = 0x03,
	MBX_SD_ACE_ACCESS_ALLOWED_COMPOUND = 0x04,
	MBX_SD_ACE_ACCESS_ALLOWED_OBJECT = 0x05,
	MBX_SD_ACE_ACCESS_DENIED_OBJECT = 0x06,
	MBX_SD_ACE_SYSTEM_AUDIT_OBJECT = 0x07,
	MBX_SD_ACE_SYSTEM_ALARM_OBJECT = 0x08,
	MBX_SD_ACE_ACCESS_ALLOWED_CALLBACK = 0x09,
	MBX_SD_ACE_ACCESS_DENIED_CALLBACK = 0x0A,
	MBX_SD_ACE_ACCESS_ALLOWED_CALLBACK_OBJECT = 0x0B,
	MBX_SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT = 0x0C,
	MBX_SD_ACE_SYSTEM_AUDIT_CALLBACK = 0x0D,
	MBX_SD_ACE_SYSTEM_ALARM_CALLBACK = 0x0E,
	MBX_SD_ACE_SYSTEM_AUDIT_CALLBACK_OBJECT = 0x0F,
	MBX_SD_ACE_SYSTEM_ALARM_CALLBACK_OBJECT = 0x10,
	MBX_SD_ACE_SYSTEM_MANDATORY_LABEL = 0x11,
	MBX_SD_ACE_SYSTEM_RESOURCE_ATTRIBUTE = 0x12,
	MBX_SD_ACE_SYSTEM_SCOPED_POLICY_ID = 0x13,
};

/* AceFlags (MS-DTYP 2.4.4.1). */
#define MBX_SD_ACE_OBJECT_INHERIT 0x01
#define MBX_SD_ACE_CONTAINER_INHERIT 0x02
#define MBX_SD_ACE_NO_PROPAGATE_INHERIT 0x04
#define MBX_SD_ACE_INHERIT_ONLY 0x08 /* does not apply to the object itself */
#define MBX_SD_ACE_INHERITED 0x10
#define MBX_SD_ACE_CRITICAL 0x20
#define MBX_SD_ACE_SUCCESSFUL_ACCESS 0x40
#define MBX_SD_ACE_FAILED_ACCESS 0x80

/* Flags of the object ACEs (MS-DTYP 2.4.4.3): which GUIDs follow. */
#define MBX_SD_ACE_OBJECT_TYPE_PRESENT 0x00000001
#define MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT 0x00000002

/*
 * ACCESS_MASK bits with the meanings Exchange gives them in msExchMailboxSecurityDescriptor
 * ("mailbox rights"; Get-MailboxPermission AccessRights). Sources, detailed in
 * docs/secdesc.md: Exchange SDK EDKMDB.H (fsdpermUserMailboxOwner 0x1, fsdpermUserSendAs 0x2,
 * fsdpermUserPrimaryUser 0x4, fsdpermUserDeleteMailbox = DELETE); Microsoft KB Q252459's
 * sample (RIGHT_DS_MAILBOX_OWNER &H1, RIGHT_DS_SEND_AS &H2, RIGHT_DS_PRIMARY_OWNER &H4,
 * RIGHT_DS_DELETE &H10000, RIGHT_DS_READ &H20000, RIGHT_DS_CHANGE &H40000,
 * RIGHT_DS_TAKE_OWNERSHIP &H80000); the Adaxes ADM_EXCHANGE_MAILBOX_RIGHTS_ENUM; a Microsoft
 * engineer's Get-MailboxPermissionsDetailed.ps1 (all seven). All agree on every value; only
 * SendAs is disputed as a *mailbox* right: since Exchange 2007 Send As is the AD extended right
 * on the user object, and the current AccessRights lists leave SendAs out (docs/secdesc.md).
 */
#define MBX_SD_RIGHT_FULL_ACCESS 0x00000001       /* "Full mailbox access" (MailboxOwner) */
#define MBX_SD_RIGHT_SEND_AS 0x00000002           /* legacy Exchange 2000/2003 mailbox right */
#define MBX_SD_RIGHT_EXTERNAL_ACCOUNT 0x00000004  /* "Associated external account" */
#define MBX_SD_RIGHT_DELETE_ITEM 0x00010000       /* "Delete mailbox storage" = DELETE */
#define MBX_SD_RIGHT_READ_PERMISSION 0x00020000   /* "Read permissions" = READ_CONTROL */
#define MBX_SD_RIGHT_CHANGE_PERMISSION 0x00040000 /* "Change permissions" = WRITE_DAC */
#define MBX_SD_RIGHT_CHANGE_OWNER 0x00080000      /* "Take ownership" = WRITE_OWNER */

struct mbx_ace {
	uint8_t type;  /* enum mbx_sd_ace_type */
	uint8_t flags; /* AceFlags, MBX_SD_ACE_* */
	uint32_t mask;
	/* Object layout (types 0x05-0x08, 0x0B, 0x0C, 0x0F, 0x10): Flags and the optional GUIDs
	 * follow the Mask. Always equal to mbx_secdesc_ace_is_object(type). */
	bool object;
	uint32_t object_flags;                 /* MBX_SD_ACE_*OBJECT_TYPE_PRESENT */
	struct mbx_guid object_type;           /* zero unless OBJECT_TYPE_PRESENT */
	struct mbx_guid inherited_object_type; /* zero unless INHERITED_OBJECT_TYPE_PRESENT */
	struct mbx_sid sid;
	/* Bytes between the end of the SID and AceSize: a callback ACE's ApplicationData, a
	 * resource attribute ACE's attribute data, or padding. The decoder points into the input;
	 * the encoder writes them back, so AceSize round-trips. NULL when extra_len is 0. */
	const uint8_t *extra;
	uint16_t extra_len;
};

struct mbx_acl {
	/* SE_DACL_PRESENT / SE_SACL_PRESENT. Not present and present-but-NULL (offset 0) both mean
	 * "no DACL" to the access check: everyone is granted. */
	bool present;
	bool null;        /* present with offset 0: a NULL ACL, nace is 0 */
	uint8_t revision; /* 2 or 4 when present and not null, else 0 */
	unsigned nace;
};

/*
 * A decoded descriptor. The ACEs of both ACLs share aces[]: the DACL's are
 * aces[0 .. dacl.nace), the SACL's follow at aces[dacl.nace .. dacl.nace + sacl.nace), whatever
 * the order of the ACLs in the buffer. About 35 KB: callers on small stacks keep it static or
 * in an arena.
 */
struct mbx_secdesc {
	uint16_t control;   /* raw Control; SE_SELF_RELATIVE is always set */
	uint8_t rm_control; /* raw Sbz1: resource-manager control bits when SE_RM_CONTROL_VALID */
	bool has_owner, has_group;
	struct mbx_sid owner, group;
	struct mbx_acl dacl, sacl;
	unsigned nace; /* dacl.nace + sacl.nace */
	struct mbx_ace aces[MBX_SD_MAX_ACES];
};

/* True for the AceTypes that use the object layout (Flags + optional GUIDs). */
bool mbx_secdesc_ace_is_object(uint8_t type);

/*
 * Reads the next n bytes of r as one self-relative descriptor (offsets inside it are relative
 * to its first byte) and advances r past them. Bytes of the n not referenced by any offset
 * (slack) are allowed and ignored. On a malformed descriptor r fails with the absolute offset
 * and a message such as "OffsetDacl 120 points past the end (100 bytes)" or "DACL ACE 1:
 * AceSize 6 is not a multiple of 4"; *sd is then unspecified. What is checked: Revision 1,
 * SE_SELF_RELATIVE set; every nonzero offset outside the 20-byte header and inside the n
 * bytes; an ACL offset set only with its *_PRESENT bit; owner, group and ACLs not overlapping;
 * AclRevision 2 or 4 (object ACEs only in 4); 8 <= AclSize <= bytes left; AceCount small enough
 * for AclSize and MBX_SD_MAX_ACES; each AceSize >= 4, a multiple of 4, inside the ACL and large
 * enough for its fields and SID; AceType known (0x00-0x13 but 0x04); SIDs via rd_sid().
 * sd->aces[].extra point into r's buffer.
 */
void rd_secdesc(struct rd *r, size_t n, struct mbx_secdesc *sd, const char *what);

/* Decodes a whole buffer as one descriptor. Returns 0, or -1 with the error in *err_r (offset
 * and message; err_r may be NULL). *sd_r points into buf afterwards (mbx_ace.extra). */
int mbx_secdesc_decode(const void *buf, size_t len, struct mbx_secdesc *sd_r, struct rd *err_r);

/*
 * Why sd cannot be encoded (a static string such as "an ACE's SID has more than 15
 * sub-authorities"), or NULL if it can. Everything the encoder writes decodes again, so this
 * rejects what the decoder rejects: Control without SE_SELF_RELATIVE or disagreeing with
 * dacl/sacl.present, a bad ACL revision, an object ACE in a revision-2 ACL, more than
 * MBX_SD_MAX_ACES ACEs, an unknown AceType, mbx_ace.object not matching the type, a bad SID,
 * an AceSize or AclSize over 65535 or an AceSize not a multiple of 4 (fix with extra_len).
 */
const char *mbx_secdesc_invalid(const struct mbx_secdesc *sd);
/* Bytes mbx_secdesc_encode writes for sd, or 0 if sd is invalid. */
size_t mbx_secdesc_encoded_size(const struct mbx_secdesc *sd);
/*
 * Writes sd in self-relative form: the 20-byte header, then owner SID, group SID, SACL and
 * DACL, each present one right after the previous (no slack, no padding). Returns 0; -1 if sd
 * is invalid (nothing written, wr_ok(w) unchanged) or if w overflowed (wr_ok(w) is then false;
 * the caller rolls back to its mark).
 */
int mbx_secdesc_encode(struct wr *w, const struct mbx_secdesc *sd);

/* Semantic equality: same control and Sbz1, owner, group, ACL presence/revision and ACEs (GUIDs
 * compared only where their PRESENT flag is set, extra bytes by content). */
bool mbx_secdesc_equal(const struct mbx_secdesc *a, const struct mbx_secdesc *b);

/* Builders, for tests, the sample directory generator and `mbxctl mailbox associate-self`. */
/* An empty descriptor: Control SE_SELF_RELATIVE | SE_DACL_PRESENT, a revision-2 DACL with no
 * ACEs (denies everyone), no owner, group or SACL. */
void mbx_secdesc_init(struct mbx_secdesc *sd);
/* Fills a non-object ACE (no extra bytes). */
void mbx_secdesc_ace_set(struct mbx_ace *ace, uint8_t type, uint8_t flags, uint32_t mask,
                         const struct mbx_sid *sid);
/* Appends a copy of *ace to the DACL (after its last ACE, before the SACL's ACEs), setting
 * SE_DACL_PRESENT and giving a NULL DACL a revision. Raises the DACL to revision 4 for an object
 * ACE. Returns 0, or -1 when MBX_SD_MAX_ACES ACEs are already there. */
int mbx_secdesc_dacl_add(struct mbx_secdesc *sd, const struct mbx_ace *ace);

enum mbx_access {
	MBX_ACCESS_DENIED = 0,
	MBX_ACCESS_GRANTED = 1,
};

/* "granted" / "denied". */
const char *mbx_access_name(enum mbx_access a);

/*
 * Decides whether a principal holds every bit of wanted on the object sd protects, walking the
 * DACL in order as Windows does (MS-DTYP 2.5.3.2):
 *   - no DACL, or a NULL DACL: GRANTED (no policy); an empty DACL: DENIED;
 *   - ACEs with INHERIT_ONLY are skipped, as are ACEs whose SID the principal does not hold;
 *   - an allow ACE (ACCESS_ALLOWED, or ACCESS_ALLOWED_OBJECT without an ObjectType GUID)
 *     grants its bits;
 *   - a deny ACE (ACCESS_DENIED, ACCESS_DENIED_OBJECT without an ObjectType GUID, and, since
 *     their conditions are not evaluated, ACCESS_DENIED_CALLBACK[_OBJECT] without an
 *     ObjectType) that names any wanted bit not yet granted: DENIED at once;
 *   - all wanted bits granted: GRANTED; DACL exhausted first: DENIED.
 * Object ACEs with an ObjectType GUID (they govern a property or extended right, not the
 * object) and allow-callback, audit, alarm, label and other SACL-type ACEs are ignored.
 * The principal holds: *principal (may be NULL), groups[0..ngroups) (may be NULL if ngroups is
 * 0), and, being an authenticated user, Everyone S-1-1-0 and Authenticated Users S-1-5-11. An
 * ACE for SELF S-1-5-10 (PRINCIPAL_SELF) names self_sid, the SID of the account the object
 * belongs to (the mailbox's objectSid); with self_sid NULL it matches nobody.
 * wanted == 0 gives DENIED (asking for nothing is a caller bug, never a grant). Generic bits
 * are compared as they are, not mapped. The owner's implied rights are not modelled.
 */
enum mbx_access mbx_secdesc_check(const struct mbx_secdesc *sd, const struct mbx_sid *principal,
                                  const struct mbx_sid *groups, size_t ngroups,
                                  const struct mbx_sid *self_sid, uint32_t wanted);

#endif
