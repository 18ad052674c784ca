/*
 * sid.h: Windows security identifiers (MS-DTYP 2.4.2): binary <-> "S-1-..." string, and the
 * table of well-known and BUILTIN SIDs (protocol.md 8.6). BUILTIN aliases (S-1-5-32-*) and
 * well-known SIDs exist in every domain with the same value; the directory code uses
 * mbx_sid_is_wellknown() to resolve them from this table and never call them ambiguous
 * (seed 002, KB 870585). Pure functions, no allocation.
 */
#ifndef MBX_SID_H
#define MBX_SID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

#define MBX_SID_MAX_SUBAUTH 15
#define MBX_SID_MAX_BYTES (8 + 4 * MBX_SID_MAX_SUBAUTH) /* 68 */
/* "S-1-" + 0x + 12 hex + 15 * ("-" + 10 digits) + NUL, rounded up */
#define MBX_SID_STRMAX 192

struct mbx_sid {
	uint8_t revision;                      /* must be 1 */
	uint8_t count;                         /* sub-authority count, 0..15 */
	uint64_t authority;                    /* 48-bit identifier authority */
	uint32_t sub[MBX_SID_MAX_SUBAUTH];
};

/* Reads a binary SID (revision 1, count <= 15, then 6-byte big-endian authority and count
 * little-endian sub-authorities). Fails r with a message on a bad revision (at its offset),
 * count (at its offset) or length; *sid is all zero on failure. */
void rd_sid(struct rd *r, struct mbx_sid *sid, const char *what);
/* Decodes a whole buffer that must be exactly one SID (no trailing bytes). Returns 0 or -1. */
int mbx_sid_from_bytes(const void *buf, size_t len, struct mbx_sid *sid_r);
/* Writes mbx_sid_size(sid) bytes. A SID that cannot be encoded (count > 15, authority above
 * 48 bits: our own bug) is not written and puts w into overflow, so the caller's check fails. */
void wr_sid(struct wr *w, const struct mbx_sid *sid);
/* Binary size of sid: 8 + 4 * count. */
size_t mbx_sid_size(const struct mbx_sid *sid);

/* Formats the MS-DTYP 2.4.2.1 string form into buf (MBX_SID_STRMAX bytes suffice): authority
 * in decimal below 2^32, else "0x" + 12 lower-case hex digits; count 0 gives "S-1-5". If the
 * string does not fit in size bytes, buf gets "" (never a truncated, misleading SID). Returns
 * buf. */
char *mbx_sid_to_str(const struct mbx_sid *sid, char *buf, size_t size);
/* Parses "S-1-5-21-...". Accepts the authority in decimal (< 2^32) or "0x" + exactly 12 hex
 * digits; "S" and "x" in either case (ABNF literals); 0 to 15 sub-authorities of 1..10 digits,
 * each <= 4294967295. Rejects leading zeros in decimal numbers (MS-DTYP 2.4.2.1), signs,
 * whitespace, empty parts and anything after the last number. Returns 0 or -1 (*sid_r is left
 * untouched on failure). See sid.c for why each choice was made. */
int mbx_sid_from_str(const char *s, struct mbx_sid *sid_r);

bool mbx_sid_equal(const struct mbx_sid *a, const struct mbx_sid *b);
/* S-1-5-32-<rid>: a BUILTIN alias (any rid, exactly two sub-authorities). The BUILTIN domain
 * S-1-5-32 itself is not an alias and gives false (it is well-known, see below). */
bool mbx_sid_is_builtin(const struct mbx_sid *sid);
/* A SID with the same value in every domain: the BUILTIN domain and all its aliases (also
 * RIDs the table does not name), and the well-known SIDs of the table (Everyone, SELF,
 * SYSTEM, Authenticated Users, ...). Domain SIDs (S-1-5-21-...) are never well-known here. */
bool mbx_sid_is_wellknown(const struct mbx_sid *sid);
/* Name from the built-in table ("BUILTIN\\Remote Desktop Users", "NT AUTHORITY\\SELF",
 * "Everyone", "BUILTIN" for S-1-5-32, ...) or NULL when the SID is not in it. Names are the
 * account names Windows shows (LookupAccountSid). Static strings. */
const char *mbx_sid_wellknown_name(const struct mbx_sid *sid);

/* Common constants. */
extern const struct mbx_sid mbx_sid_self;     /* S-1-5-10 */
extern const struct mbx_sid mbx_sid_everyone; /* S-1-1-0 */

#endif
