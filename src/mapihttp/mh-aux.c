/*
 * mh-aux.c: auxiliary buffers of MAPI/HTTP bodies (the rgbAuxIn / rgbAuxOut of [MS-OXCRPC]
 * 3.1.4.1.1.1.x and 3.1.4.1.2, reused by [MS-OXCMAPIHTTP] 2.2.4.x; protocol.md 6): one extended
 * buffer (RPC_HEADER_EXT with Last, rhe.c) whose payload is a sequence of blocks, each an
 * AUX_HEADER (2.2.2.2: Size including the header, Version, Type) and its data. Parsing the
 * client's blocks and building the server's Connect rgbAuxOut (AUX_EXORGINFO 2.2.2.2.17,
 * AUX_CLIENT_CONTROL 2.2.2.2.15, AUX_ENDPOINT_CAPABILITIES 2.2.2.2.20).
 *
 * A block whose Version/Type pair we do not know is not an error: 3.1.4.1.2 says the receiver
 * MUST skip it. Only the framing is checked: Size >= 4 and within the payload.
 */
#include "mbx/mapihttp.h"

#include <string.h>

#include "mbx/rhe.h"

/* ---- walking blocks ----------------------------------------------------------------- */

void mbx_mh_aux_iter_init(struct mbx_mh_aux_iter *it, const uint8_t *payload, size_t len,
                          size_t base)
{
	rd_init(&it->r, payload, len, base);
	it->count = 0;
}

int mbx_mh_aux_next(struct mbx_mh_aux_iter *it, struct mbx_mh_aux_block *blk_r)
{
	struct rd *r = &it->r;
	struct mbx_mh_aux_block b;
	size_t at = rd_pos(r);

	if (!rd_ok(r))
		return -1;
	if (rd_left(r) == 0)
		return 0;
	if (rd_left(r) < MBX_MH_AUX_HDRLEN) {
		rd_fail(r, "AUX_HEADER %u: need 4 bytes, %zu left", it->count, rd_left(r));
		return -1;
	}
	b.off = at;
	b.size = rd_u16le(r, "AUX_HEADER Size");
	b.version = rd_u8(r, "AUX_HEADER Version");
	b.type = rd_u8(r, "AUX_HEADER Type");
	if (b.size < MBX_MH_AUX_HDRLEN) {
		rd_fail_at(r, at, "AUX_HEADER %u: Size %u is smaller than the 4-byte header",
		           it->count, b.size);
		return -1;
	}
	b.data_len = (size_t)b.size - MBX_MH_AUX_HDRLEN;
	if (rd_left(r) < b.data_len) {
		rd_fail_at(r, at, "AUX_HEADER %u: Size %u exceeds the %zu bytes left", it->count,
		           b.size, rd_left(r) + MBX_MH_AUX_HDRLEN);
		return -1;
	}
	b.data = rd_ptr(r, b.data_len, "auxiliary block");
	it->count++;
	*blk_r = b;
	return 1;
}

static const char *const mh_aux_names[0x4F] = {
        [0x01] = "AUX_TYPE_PERF_REQUESTID",
        [0x02] = "AUX_TYPE_PERF_CLIENTINFO",
        [0x03] = "AUX_TYPE_PERF_SERVERINFO",
        [0x04] = "AUX_TYPE_PERF_SESSIONINFO",
        [0x05] = "AUX_TYPE_PERF_DEFMDB_SUCCESS",
        [0x06] = "AUX_TYPE_PERF_DEFGC_SUCCESS",
        [0x07] = "AUX_TYPE_PERF_MDB_SUCCESS",
        [0x08] = "AUX_TYPE_PERF_GC_SUCCESS",
        [0x09] = "AUX_TYPE_PERF_FAILURE",
        [0x0A] = "AUX_TYPE_CLIENT_CONTROL",
        [0x0B] = "AUX_TYPE_PERF_PROCESSINFO",
        [0x0C] = "AUX_TYPE_PERF_BG_DEFMDB_SUCCESS",
        [0x0D] = "AUX_TYPE_PERF_BG_DEFGC_SUCCESS",
        [0x0E] = "AUX_TYPE_PERF_BG_MDB_SUCCESS",
        [0x0F] = "AUX_TYPE_PERF_BG_GC_SUCCESS",
        [0x10] = "AUX_TYPE_PERF_BG_FAILURE",
        [0x11] = "AUX_TYPE_PERF_FG_DEFMDB_SUCCESS",
        [0x12] = "AUX_TYPE_PERF_FG_DEFGC_SUCCESS",
        [0x13] = "AUX_TYPE_PERF_FG_MDB_SUCCESS",
        [0x14] = "AUX_TYPE_PERF_FG_GC_SUCCESS",
        [0x15] = "AUX_TYPE_PERF_FG_FAILURE",
        [0x16] = "AUX_TYPE_OSVERSIONINFO",
        [0x17] = "AUX_TYPE_EXORGINFO",
        [0x18] = "AUX_TYPE_PERF_ACCOUNTINFO",
        [0x46] = "AUX_TYPE_SERVER_CAPABILITIES",
        [0x48] = "AUX_TYPE_ENDPOINT_CAPABILITIES",
        [0x49] = "AUX_TYPE_EXCEPTION_TRACE",
        [0x4A] = "AUX_CLIENT_CONNECTION_INFO",
        [0x4B] = "AUX_SERVER_SESSION_INFO",
        [0x4E] = "AUX_PROTOCOL_DEVICE_IDENTIFICATION",
};

const char *mbx_mh_aux_type_name(uint8_t type)
{
	return type < sizeof(mh_aux_names) / sizeof(mh_aux_names[0]) ? mh_aux_names[type] : NULL;
}

bool mbx_mh_aux_known(uint8_t version, uint8_t type)
{
	switch (version) {
	case MBX_MH_AUX_VERSION_1:
		/* 2.2.2.2: every named type has a Version 1 block. */
		return mbx_mh_aux_type_name(type) != NULL;
	case MBX_MH_AUX_VERSION_2:
		/* The _V2 blocks (SESSIONINFO_V2, *_MDB_SUCCESS_V2, *_GC_SUCCESS_V2,
		 * *_FAILURE_V2) and PROCESSINFO, as gromox' aux parser reads them. */
		switch (type) {
		case MBX_MH_AUX_TYPE_PERF_SESSIONINFO:
		case MBX_MH_AUX_TYPE_PERF_MDB_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_GC_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_FAILURE:
		case MBX_MH_AUX_TYPE_PERF_PROCESSINFO:
		case MBX_MH_AUX_TYPE_PERF_BG_MDB_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_BG_GC_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_BG_FAILURE:
		case MBX_MH_AUX_TYPE_PERF_FG_MDB_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_FG_GC_SUCCESS:
		case MBX_MH_AUX_TYPE_PERF_FG_FAILURE:
			return true;
		default:
			return false;
		}
	default:
		return false;
	}
}

/* ---- a whole auxiliary buffer ------------------------------------------------------- */

int mbx_mh_aux_in_read(struct rd *r, uint8_t *payload, size_t *len_r)
{
	size_t at = rd_pos(r);
	struct mbx_mh_aux_iter it;
	struct mbx_mh_aux_block b;
	struct mbx_rhe h;
	size_t len = 0;
	int rc;

	if (!rd_ok(r))
		return -1;
	if (rd_left(r) == 0) {
		*len_r = 0;
		return 0;
	}
	if (mbx_rhe_read(r, &h, payload, &len) != 0)
		return -1;
	if (!(h.flags & MBX_RHE_LAST)) {
		rd_fail_at(r, at + 2, "auxiliary RPC_HEADER_EXT lacks the Last flag");
		return -1;
	}
	if (rd_left(r) != 0) {
		rd_fail(r, "%zu bytes after the auxiliary extended buffer", rd_left(r));
		return -1;
	}
	/* Offsets of blocks count from the payload's first byte after the header (for a
	 * compressed payload they are offsets into the decompressed bytes). */
	mbx_mh_aux_iter_init(&it, payload, len, at + MBX_RHE_HDRLEN);
	while ((rc = mbx_mh_aux_next(&it, &b)) == 1)
		;
	if (rc < 0) {
		rd_take_error(r, &it.r);
		return -1;
	}
	*len_r = len;
	return 0;
}

/* ---- the Connect rgbAuxOut ---------------------------------------------------------- */

const struct mbx_mh_aux_connect mbx_mh_aux_connect_default = {
        .org_flags =
                MBX_MH_AUX_PUBLIC_FOLDERS_ENABLED | MBX_MH_AUX_USE_AUTODISCOVER_FOR_PUBLIC_FOLDERS,
        .enable_flags = MBX_MH_AUX_ENABLE_COMPRESSION | MBX_MH_AUX_ENABLE_HTTP_TUNNELING,
        .expiry_ms = 604800000u,
        .endpoint_flags = MBX_MH_AUX_ENDPOINT_SINGLE,
};

static void mh_aux_header(struct wr *w, uint16_t size, uint8_t type)
{
	wr_u16le(w, size);
	wr_u8(w, MBX_MH_AUX_VERSION_1);
	wr_u8(w, type);
}

int mbx_mh_aux_connect_write(struct wr *w, const struct mbx_mh_aux_connect *c)
{
	uint8_t payload[MBX_MH_AUX_CONNECT_LEN - MBX_RHE_HDRLEN];
	uint8_t scratch[MBX_RHE_MAX_PAYLOAD];
	struct wr pw;

	if (c == NULL)
		c = &mbx_mh_aux_connect_default;
	wr_init(&pw, payload, sizeof(payload));
	mh_aux_header(&pw, 8, MBX_MH_AUX_TYPE_EXORGINFO);
	wr_u32le(&pw, c->org_flags);
	mh_aux_header(&pw, 12, MBX_MH_AUX_TYPE_CLIENT_CONTROL);
	wr_u32le(&pw, c->enable_flags);
	wr_u32le(&pw, c->expiry_ms);
	mh_aux_header(&pw, 8, MBX_MH_AUX_TYPE_ENDPOINT_CAPABILITIES);
	wr_u32le(&pw, c->endpoint_flags);
	if (!wr_ok(&pw) || pw.len != sizeof(payload))
		return MBX_MH_ERR_INVALID; /* our bug: the sizes above and the #define disagree */
	/* Neither compressed nor XORed: a 28-byte payload gains nothing, and so the buffer is
	 * the same for every client (protocol.md 4.1: gromox does the same). */
	if (mbx_rhe_write(w, payload, pw.len, MBX_RPC_NOCOMPRESSION, false, true, scratch) != 0)
		return MBX_MH_ERR_ROOM;
	return 0;
}

int mbx_mh_aux_connect_read(struct rd *r, struct mbx_mh_aux_connect *c_r)
{
	uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_mh_aux_connect c;
	struct mbx_mh_aux_iter it;
	struct mbx_mh_aux_block b;
	size_t at = rd_pos(r);
	size_t len = 0;
	unsigned seen = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	if (mbx_mh_aux_in_read(r, payload, &len) != 0)
		return -1;
	mbx_mh_aux_iter_init(&it, payload, len, at + MBX_RHE_HDRLEN);
	while ((rc = mbx_mh_aux_next(&it, &b)) == 1) {
		unsigned bit;
		size_t need;

		if (b.version != MBX_MH_AUX_VERSION_1)
			continue;
		switch (b.type) {
		case MBX_MH_AUX_TYPE_EXORGINFO:
			bit = 1;
			need = 4;
			break;
		case MBX_MH_AUX_TYPE_CLIENT_CONTROL:
			bit = 2;
			need = 8;
			break;
		case MBX_MH_AUX_TYPE_ENDPOINT_CAPABILITIES:
			bit = 4;
			need = 4;
			break;
		default:
			continue;
		}
		if (b.data_len < need) {
			rd_fail_at(r, b.off, "%s: %zu data bytes, need %zu",
			           mbx_mh_aux_type_name(b.type), b.data_len, need);
			return -1;
		}
		if (seen & bit) {
			rd_fail_at(r, b.off, "%s given twice", mbx_mh_aux_type_name(b.type));
			return -1;
		}
		seen |= bit;
		if (b.type == MBX_MH_AUX_TYPE_EXORGINFO) {
			c.org_flags = mbx_le32(b.data);
		} else if (b.type == MBX_MH_AUX_TYPE_CLIENT_CONTROL) {
			c.enable_flags = mbx_le32(b.data);
			c.expiry_ms = mbx_le32(b.data + 4);
		} else {
			c.endpoint_flags = mbx_le32(b.data);
		}
	}
	if (rc < 0) { /* mbx_mh_aux_in_read walked the same blocks already */
		rd_take_error(r, &it.r);
		return -1;
	}
	*c_r = c;
	return 0;
}
