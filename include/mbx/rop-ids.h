/*
 * rop-ids.h: every ROP of MS-OXCROPS by id and name, from one X-macro list
 * (include/mbx/rop-list.h), so that logs and `mbxctl decode` name any ROP, implemented or not.
 */
#ifndef MBX_ROP_IDS_H
#define MBX_ROP_IDS_H

#include <stdint.h>

#include "mbx/rop-list.h" /* MBX_ROP_LIST(X): X(0x01, Release) ... X(0xFF, BufferTooSmall) */

enum mbx_rop_id {
#define MBX_ROP_ENUM(id, name) MBX_ROP_##name = (id),
	MBX_ROP_LIST(MBX_ROP_ENUM)
#undef MBX_ROP_ENUM
};

/* "RopLogon" for 0xFE; NULL for an id MS-OXCROPS does not define. */
const char *mbx_rop_name(uint8_t id);
/* Like mbx_rop_name but never NULL: "Rop(0xNN)" for an undefined id, in buf (>= 10 bytes). */
const char *mbx_rop_str(uint8_t id, char *buf, unsigned size);

#endif
