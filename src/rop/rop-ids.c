/*
 * rop-ids.c: ROP names by id (MS-OXCROPS 2.2.2), a 256-entry table built from the X-macro list
 * in include/mbx/rop-list.h, so that every ROP can be named in logs whether we implement it or
 * not.
 */
#include "mbx/rop-ids.h"

#include <stdio.h>

static const char *const rop_names[256] = {
#define MBX_ROP_NAME(id, name) [id] = "Rop" #name,
        MBX_ROP_LIST(MBX_ROP_NAME)
#undef MBX_ROP_NAME
};

const char *mbx_rop_name(uint8_t id)
{
	return rop_names[id];
}

const char *mbx_rop_str(uint8_t id, char *buf, unsigned size)
{
	const char *name = rop_names[id];

	if (name != NULL)
		return name;
	if (buf == NULL || size == 0)
		return "Rop(?)";
	snprintf(buf, size, "Rop(0x%02X)", id);
	return buf;
}
