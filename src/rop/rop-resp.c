/*
 * rop-resp.c: walking an output RopsList one ROP response at a time (mbx_rop_resp_parse;
 * MS-OXCROPS 2.2.3 to 2.2.15) with the response layouts of rop-size.c's table, and the length
 * of each ROP's failure response (mbx_rop_failure_len: 6 bytes, or a whole single response
 * buffer for the ROPs that have one). The layouts of RopLogon, RopBufferTooSmall, RopBackoff
 * and RopPending are in code here.
 */
#include "mbx/ropbuf.h"

#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "rop/rop-size-int.h"

/* --- responses -------------------------------------------------------------------------------- */

#define LOGON_PRIVATE_BODY (166 - 7) /* after RopId, index, ReturnValue, LogonFlags */
#define LOGON_PUBLIC_BODY (145 - 7)

static void resp_logon(struct rd *r, uint32_t rv)
{
	if (rv == 0) {
		uint8_t flags = rd_u8(r, "LogonFlags");

		rd_skip(r, (flags & 0x01) ? LOGON_PRIVATE_BODY : LOGON_PUBLIC_BODY,
		        (flags & 0x01) ? "private logon response" : "public logon response");
	} else if (rv == ecWrongServer) {
		uint8_t n;

		rd_skip(r, 1, "LogonFlags");
		n = rd_u8(r, "ServerNameSize");
		rd_skip(r, n, "ServerName");
	}
}

int mbx_rop_resp_parse(struct rd *r, struct mbx_rop_resp *resp_r)
{
	const struct rop_layout *lay;
	struct walk k = {0};
	size_t start = r->off;
	char name[16];
	uint8_t id;

	resp_r->rop_id = 0;
	resp_r->idx = -1;
	resp_r->rv = 0;
	resp_r->raw = NULL;
	resp_r->len = 0;
	resp_r->off = rd_pos(r);
	if (!rd_ok(r))
		return -1;
	id = rd_u8(r, "RopId");
	if (!rd_ok(r))
		return -1;
	resp_r->rop_id = id;
	resp_r->raw = r->buf + start;
	lay = &rop_size_layouts[id];
	switch (id) {
	case 0xFF: /* RopBufferTooSmall: SizeNeeded, then the rest of the list */
		rd_skip(r, 2, "SizeNeeded");
		rd_skip(r, rd_left(r), "RequestBuffers");
		break;
	case 0xF9: { /* RopBackoff: LogonId, Duration, BackoffRopData, AdditionalData */
		rd_skip(r, 5, "LogonId, Duration");
		rop_walk_skip_array(r, rd_u8(r, "BackoffRopCount"), 5, "BackoffRopData");
		rop_walk_counted(r, false, "AdditionalData");
		break;
	}
	case 0x6E: /* RopPending: SessionIndex */
		rd_skip(r, 2, "SessionIndex");
		break;
	case 0x01:
		rd_fail_at(r, resp_r->off, "RopRelease (0x01) has no response");
		return -1;
	default:
		if (lay->rk == RK_UNKNOWN) {
			rd_fail_at(r, resp_r->off,
			           "cannot walk past %s (0x%02X): response layout not known",
			           mbx_rop_str(id, name, sizeof(name)), id);
			return -1;
		}
		resp_r->idx = rd_u8(r, "handle index");
		resp_r->rv = rd_u32le(r, "ReturnValue");
		if (!rd_ok(r))
			break;
		if (id == 0xFE) {
			resp_logon(r, resp_r->rv);
		} else if (lay->alt_resp != NULL && resp_r->rv == lay->alt_rv) {
			rop_walk_fmt(&k, r, lay->alt_resp);
		} else if (lay->rk == RK_ALWAYS || (lay->rk == RK_STD && resp_r->rv == 0)) {
			rop_walk_fmt(&k, r, lay->resp);
		} else if (lay->rk == RK_CTX && resp_r->rv == 0) {
			rd_fail_at(r, resp_r->off,
			           "cannot walk past %s (0x%02X): success response layout depends "
			           "on the request",
			           mbx_rop_str(id, name, sizeof(name)), id);
			return -1;
		}
		break;
	}
	if (!rd_ok(r)) {
		rop_size_name_error(r, id);
		return -1;
	}
	resp_r->len = r->off - start;
	return 0;
}

size_t mbx_rop_failure_len(uint8_t rop_id)
{
	const struct rop_layout *lay = &rop_size_layouts[rop_id];
	size_t n = MBX_ROP_FAILURE_LEN;

	if (lay->rk != RK_ALWAYS)
		return n;
	/* the fields of the single response buffers, zeroed (a zero count for B) */
	for (const char *c = lay->resp; *c != '\0'; c++)
		n += *c == 'b' ? 1 : *c == 'd' ? 4 : 2; /* w, B */
	return n;
}
