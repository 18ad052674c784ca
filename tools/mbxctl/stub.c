/*
 * stub.c: the EcDoRpcExt2 [in] NDR stub (MS-OXCRPC 3.1.4.2; protocol.md 9.1) and the AUX_HEADER
 * walk of an auxiliary buffer (MS-OXCRPC 2.2.2.2; protocol.md 6), for `mbxctl decode`.
 */
#include "stub.h"

#include <stdio.h>
#include <string.h>

#include "mbx/rhe.h"
#include "mbxctl.h"

/* Skips the NDR pad up to the next multiple of 4 (relative to the start of the stub). */
static void stub_align4(struct rd *r)
{
	size_t pad = (4 - (r->off & 3)) & 3;

	rd_skip(r, pad, "NDR pad");
}

/* A conformant byte array: max count, the bytes, the pad; then the size_is parameter, which
 * must equal the max count. */
static const uint8_t *stub_array(struct rd *r, const char *name, const char *count_name,
                                 uint32_t *count_r, size_t *off_r)
{
	char what[48];
	uint32_t max, count;
	size_t count_at;
	const uint8_t *p;

	snprintf(what, sizeof(what), "%s max count", name);
	stub_align4(r);
	max = rd_u32le(r, what);
	*off_r = rd_pos(r);
	if (rd_ok(r) && rd_left(r) < max) {
		rd_fail_at(r, rd_pos(r) - 4, "%s max count %u exceeds the %zu bytes left", name,
		           max, rd_left(r));
		return NULL;
	}
	p = rd_ptr(r, max, name);
	stub_align4(r);
	count_at = rd_pos(r);
	count = rd_u32le(r, count_name);
	if (rd_ok(r) && count != max)
		rd_fail_at(r, count_at, "%s %u differs from the max count %u of %s", count_name,
		           count, max, name);
	*count_r = max;
	return p;
}

int stub_decode(struct rd *r, struct stub *s_r)
{
	size_t at;

	memset(s_r, 0, sizeof(*s_r));
	s_r->cxh_type = rd_u32le(r, "CXH handle type");
	rd_guid(r, &s_r->cxh_guid, "CXH GUID");
	s_r->flags = rd_u32le(r, "pulFlags");
	s_r->rgbin = stub_array(r, "rgbIn", "cbIn", &s_r->cbin, &s_r->rgbin_off);
	at = rd_pos(r);
	s_r->pcbout = rd_u32le(r, "pcbOut");
	if (rd_ok(r) && s_r->pcbout > STUB_PCBOUT_MAX)
		rd_fail_at(r, at, "pcbOut 0x%X is above its range limit 0x%X", s_r->pcbout,
		           STUB_PCBOUT_MAX);
	s_r->rgbauxin = stub_array(r, "rgbAuxIn", "cbAuxIn", &s_r->cbauxin, &s_r->rgbauxin_off);
	if (rd_ok(r) && s_r->cbauxin > STUB_AUX_MAX)
		rd_fail_at(r, rd_pos(r) - 4, "cbAuxIn 0x%X is above the limit 0x%X", s_r->cbauxin,
		           STUB_AUX_MAX);
	at = rd_pos(r);
	s_r->pcbauxout = rd_u32le(r, "pcbAuxOut");
	if (rd_ok(r) && s_r->pcbauxout > STUB_AUX_MAX)
		rd_fail_at(r, at, "pcbAuxOut 0x%X is above its range limit 0x%X", s_r->pcbauxout,
		           STUB_AUX_MAX);
	if (rd_ok(r) && rd_left(r) != 0)
		rd_fail(r, "%zu bytes after pcbAuxOut, the last [in] parameter", rd_left(r));
	return rd_ok(r) ? 0 : -1;
}

bool stub_detect(const uint8_t *in, size_t len)
{
	return len >= STUB_MIN_LEN && in[0] == 0 && in[1] == 0 && in[2] == 0 && in[3] == 0;
}

const char *stub_flags_str(uint32_t flags, char *buf, size_t size)
{
	static const struct mbxctl_flag names[] = {
	        {MBX_RPC_NOCOMPRESSION, "NoCompression"},
	        {MBX_RPC_NOXORMAGIC, "NoXorMagic"},
	        {MBX_RPC_CHAIN, "Chain"},
	        {0, NULL},
	};

	return mbxctl_flags_str(names, flags, buf, size);
}

const char *stub_aux_type_name(uint8_t type)
{
	switch (type) {
	case 0x01:
		return "AUX_TYPE_PERF_REQUESTID";
	case 0x02:
		return "AUX_TYPE_PERF_CLIENTINFO";
	case 0x03:
		return "AUX_TYPE_PERF_SERVERINFO";
	case 0x04:
		return "AUX_TYPE_PERF_SESSIONINFO";
	case 0x05:
		return "AUX_TYPE_PERF_DEFMDB_SUCCESS";
	case 0x06:
		return "AUX_TYPE_PERF_DEFGC_SUCCESS";
	case 0x07:
		return "AUX_TYPE_PERF_MDB_SUCCESS";
	case 0x08:
		return "AUX_TYPE_PERF_GC_SUCCESS";
	case 0x09:
		return "AUX_TYPE_PERF_FAILURE";
	case 0x0A:
		return "AUX_TYPE_CLIENT_CONTROL";
	case 0x0B:
		return "AUX_TYPE_PERF_PROCESSINFO";
	case 0x0C:
		return "AUX_TYPE_PERF_BG_DEFMDB_SUCCESS";
	case 0x0D:
		return "AUX_TYPE_PERF_BG_DEFGC_SUCCESS";
	case 0x0E:
		return "AUX_TYPE_PERF_BG_MDB_SUCCESS";
	case 0x0F:
		return "AUX_TYPE_PERF_BG_GC_SUCCESS";
	case 0x10:
		return "AUX_TYPE_PERF_BG_FAILURE";
	case 0x11:
		return "AUX_TYPE_PERF_FG_DEFMDB_SUCCESS";
	case 0x12:
		return "AUX_TYPE_PERF_FG_DEFGC_SUCCESS";
	case 0x13:
		return "AUX_TYPE_PERF_FG_MDB_SUCCESS";
	case 0x14:
		return "AUX_TYPE_PERF_FG_GC_SUCCESS";
	case 0x15:
		return "AUX_TYPE_PERF_FG_FAILURE";
	case 0x16:
		return "AUX_TYPE_OSVERSIONINFO";
	case 0x17:
		return "AUX_TYPE_EXORGINFO";
	case 0x18:
		return "AUX_TYPE_PERF_ACCOUNTINFO";
	case 0x46:
		return "AUX_TYPE_SERVER_CAPABILITIES";
	case 0x48:
		return "AUX_TYPE_ENDPOINT_CAPABILITIES";
	case 0x49:
		return "AUX_TYPE_EXCEPTION_TRACE";
	case 0x4A:
		return "AUX_TYPE_CLIENT_CONNECTION_INFO";
	case 0x4B:
		return "AUX_TYPE_SERVER_SESSION_INFO";
	case 0x4E:
		return "AUX_TYPE_PROTOCOL_DEVICE_IDENTIFICATION";
	default:
		return NULL;
	}
}

int stub_aux_walk(struct rd *r, struct stub_aux_block *blocks, size_t max, size_t *n_r)
{
	size_t n = 0;

	while (rd_ok(r) && rd_left(r) > 0) {
		struct stub_aux_block b = {0};
		size_t at = rd_pos(r);
		struct rd body;

		b.off = at;
		b.size = rd_u16le(r, "AUX_HEADER Size");
		b.version = rd_u8(r, "AUX_HEADER Version");
		b.type = rd_u8(r, "AUX_HEADER Type");
		if (!rd_ok(r))
			break;
		if (b.size < 4) {
			rd_fail_at(r, at, "AUX_HEADER Size %u is smaller than the header itself",
			           b.size);
			break;
		}
		if (rd_left(r) < (size_t)b.size - 4) {
			rd_fail_at(r, at, "AUX_HEADER Size %u exceeds the %zu bytes left", b.size,
			           rd_left(r) + 4);
			break;
		}
		rd_sub(r, (size_t)b.size - 4, &body, "auxiliary block");
		if (b.type == 0x01 && b.size >= 8) {
			b.has_ids = true;
			b.session_id = rd_u16le(&body, "SessionID");
			b.request_id = rd_u16le(&body, "RequestID");
		}
		if (n < max)
			blocks[n] = b;
		n++;
	}
	*n_r = n;
	return rd_ok(r) ? 0 : -1;
}
