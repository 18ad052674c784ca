/*
 * stub.h: the NDR-encoded [in] parameters of EcDoRpcExt2 (MS-OXCRPC 3.1.4.2, opnum 11;
 * protocol.md 9.1) as a capture tool writes them out, e.g. OpenChange's mapitest lzxpress
 * *_comp.dat files, and the auxiliary buffer they carry (MS-OXCRPC 2.2.2.2, 3.1.4.1.1.1.1).
 *
 *   CXH pcxh          20  context handle: handle type (4) + GUID (16)
 *   pulFlags           4  NoCompression 0x1, NoXorMagic 0x2, Chain 0x4
 *   rgbIn         4 + n   conformant array: max count, then cbIn bytes, padded to 4
 *   cbIn               4  must equal the max count
 *   pcbOut             4  BIG_RANGE_ULONG, 0..0x40000
 *   rgbAuxIn      4 + m   conformant array, padded to 4
 *   cbAuxIn            4  must equal its max count, at most 0x1008
 *   pcbAuxOut          4  SMALL_RANGE_ULONG, 0..0x1008
 *
 * NDR aligns each 4-byte scalar on a 4-byte boundary of the stub; the pad bytes are not
 * checked. Nothing may follow pcbAuxOut.
 */
#ifndef MBXCTL_STUB_H
#define MBXCTL_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/types.h"
#include "mbx/wire.h"

#define STUB_MIN_LEN 48         /* everything, with both arrays empty */
#define STUB_PCBOUT_MAX 0x40000 /* BIG_RANGE_ULONG */
#define STUB_AUX_MAX 0x1008     /* SMALL_RANGE_ULONG, and the cbAuxIn limit */

struct stub {
	uint32_t cxh_type;
	struct mbx_guid cxh_guid;
	uint32_t flags;       /* pulFlags */
	const uint8_t *rgbin; /* points into the input */
	uint32_t cbin;
	size_t rgbin_off; /* offset of rgbIn[0] in the input */
	uint32_t pcbout;
	const uint8_t *rgbauxin;
	uint32_t cbauxin;
	size_t rgbauxin_off;
	uint32_t pcbauxout;
};

/* Decodes a whole stub from r (which must end where the stub ends). Fails r for a truncated
 * stub, a max count that differs from cbIn / cbAuxIn, a value outside its range, or bytes
 * after pcbAuxOut. Returns 0 or -1. */
int stub_decode(struct rd *r, struct stub *s_r);

/* True when the input looks like a stub rather than extended buffers: at least STUB_MIN_LEN
 * bytes and the first four are zero (a context handle's type; an RPC_HEADER_EXT there would
 * need Flags 0, which only a non-final buffer of a packed series can have). */
bool stub_detect(const uint8_t *in, size_t len);

/* "NoCompression|NoXorMagic|Chain" (and "|0x..." for unknown bits, "none" for 0) into buf. */
const char *stub_flags_str(uint32_t flags, char *buf, size_t size);

/* One AUX_HEADER (MS-OXCRPC 2.2.2.2) and what mbxctl shows of its block. */
struct stub_aux_block {
	size_t off; /* of the AUX_HEADER in the aux payload */
	uint16_t size;
	uint8_t version;
	uint8_t type;
	bool has_ids; /* AUX_PERF_REQUESTID: SessionID, RequestID */
	uint16_t session_id;
	uint16_t request_id;
};

/* Walks the AUX_HEADERs of a decoded aux payload (r over it). Stores at most max blocks in
 * blocks[] and the total count in *n_r. Fails r for a header cut short, a Size below 4, or a
 * Size beyond the payload. Returns 0 or -1. */
int stub_aux_walk(struct rd *r, struct stub_aux_block *blocks, size_t max, size_t *n_r);

/* "AUX_TYPE_PERF_REQUESTID" for 0x01; NULL for a type MS-OXCRPC does not define. */
const char *stub_aux_type_name(uint8_t type);

#endif
