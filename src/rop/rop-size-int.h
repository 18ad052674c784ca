/*
 * rop-size-int.h: what the three files of the ROP layout walker share (private to src/rop;
 * MS-OXCROPS 2.2.3 to 2.2.15, MS-OXCDATA 2.6, 2.8, 2.11, 2.12). The public side is
 * include/mbx/ropbuf.h.
 *
 *   rop-size.c   the layouts table (one entry per ROP) and the request walker
 *   rop-resp.c   the response walker and the failure-response lengths
 *   rop-walk.c   the walk language below and the walkers of the nested MS-OXCDATA structures
 */
#ifndef MBX_ROP_SIZE_INT_H
#define MBX_ROP_SIZE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

/*
 * The walk language, one character per field:
 *   b u8   w u16   d u32   q u64   g 16 bytes (GUID)   L 24 bytes (LongTermId)   6 six bytes
 *   s NUL-terminated 8-bit string
 *   B u16 byte count + bytes          D u32 byte count + bytes
 *   T u16 count + 4-byte entries (property tags, attachment ids)
 *   I u16 count + u16 property ids    M u16 count + u64 ids    K u16 count + LongTermIds
 *   P u16 count + 10-byte PropertyProblems
 *   V u16 count + TaggedPropertyValues
 *   N u16 count + PropertyNames       U u16 count + u16 ids, then as many PropertyNames
 *   R u16 RestrictionDataSize + a restriction filling it exactly (0: none)
 *   Y TypedString
 *   O u8 count + OpenRecipientRows    Q u8 count + ReadRecipientRows
 *   G u8 IsGhosted, then if non-zero: Z
 *   Z u16 ServerCount, u16 CheapServerCount, ServerCount strings
 *   E u8 IsExistingFolder, then if non-zero: b G
 *   H u8 HasMessageId, then if non-zero: q
 *   F u8 ReadStatusChanged, then if non-zero: b L
 *   X u8 NoPropertiesReturned, then if zero: V
 *   W u32 RowCount + property rows of RopGetReceiveFolderTable's three columns
 *   h u16 HelpFileSize + bytes, then if non-zero: s
 */

enum rop_hk {
	HK_NONE,    /* no request: reserved id or response-only ROP */
	HK_IN,      /* RopId, LogonId, InputHandleIndex */
	HK_IN_OUT,  /* ..., InputHandleIndex, OutputHandleIndex; the response echoes the output */
	HK_LOGON,   /* RopId, LogonId, OutputHandleIndex */
	HK_RESP_IN, /* ..., ResponseHandleIndex, InputHandleIndex */
	HK_SRC_DST, /* ..., SourceHandleIndex, DestHandleIndex; the response echoes the source */
};

enum rop_rk {
	RK_UNKNOWN, /* no response layout (reserved ids, RopNotify) */
	RK_STD,     /* success: header + resp; failure: 6 bytes */
	RK_ALWAYS,  /* one response buffer: header + resp whatever the ReturnValue */
	RK_CTX,     /* success layout depends on the request; failure: 6 bytes */
	RK_NONE,    /* no response at all (RopRelease) */
	RK_SPECIAL, /* RopLogon, RopBackoff, RopPending, RopBufferTooSmall: in code */
};

struct walk {
	unsigned depth;
	bool unknown; /* set when a part has no known layout */
	const uint8_t *public_logons;
	uint8_t logon_id;
};

typedef void walk_fn(struct walk *k, struct rd *r);

struct rop_layout {
	uint8_t hk;
	uint8_t rk;
	const char *req;      /* request body after the handle indexes */
	walk_fn *req_fn;      /* instead of req */
	const char *resp;     /* response body after RopId, index, ReturnValue */
	uint32_t alt_rv;      /* a ReturnValue with its own body... */
	const char *alt_resp; /* ...this one */
};

/* --- rop-size.c ------------------------------------------------------------------------- */

/* The layouts of every RopId (zeroed for the ids without one: HK_NONE, RK_UNKNOWN). */
extern const struct rop_layout rop_size_layouts[256];

/* Puts "RopXxx (0xNN): " in front of r's message (not for "cannot walk past", which names the
 * ROP already). */
void rop_size_name_error(struct rd *r, uint8_t id);

/* --- rop-walk.c ------------------------------------------------------------------------- */

/* Each walker advances r past one structure, or fails r (a no-op once r has failed). */

/* Walks fields in the walk language above. */
void rop_walk_fmt(struct walk *k, struct rd *r, const char *fmt);
/* Skips count entries of size bytes each after checking they fit. */
void rop_walk_skip_array(struct rd *r, uint64_t count, size_t size, const char *what);
/* A NUL-terminated string: UTF-16LE if unicode, else 8-bit. */
void rop_walk_str(struct rd *r, bool unicode, const char *what);
/* u16 (or with wide, u32) byte count followed by that many bytes. */
void rop_walk_counted(struct rd *r, bool wide, const char *what);
/* count TaggedPropertyValues (MS-OXCDATA 2.11.4). */
void rop_walk_tagged_array(struct walk *k, struct rd *r, uint32_t count, unsigned depth);
/* A RecipientRow (MS-OXCDATA 2.8.3.2) whose property row has the columns cols[0..ncols) (4
 * bytes each). */
void rop_walk_recipient_row(struct walk *k, struct rd *r, const uint8_t *cols, unsigned ncols);

#endif
