/*
 * rop-list.h: the X-macro list of every ROP id in MS-OXCROPS 2.2 (X(id, Name) gives RopName).
 * Kept in id order. Placeholder: completed from the spec's ROP table.
 */
#ifndef MBX_ROP_LIST_H
#define MBX_ROP_LIST_H

#define MBX_ROP_LIST(X)               \
	X(0x01, Release)              \
	X(0xFE, Logon)                \
	X(0xFF, BufferTooSmall)

#endif
