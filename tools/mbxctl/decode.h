/*
 * decode.h: `mbxctl decode` in three steps: decode_run() turns captured bytes into the model
 * below (nothing is printed while decoding, so bad input leaves stdout empty), then
 * decode_print_text() or decode_print_json() render the same facts. Framing: MS-OXCRPC
 * 2.2.2.1 / 3.1.4.2 (protocol.md 4, 9.1); ROP buffers MS-OXCROPS 2.2.1; RopLogon MS-OXCROPS
 * 2.2.3.1 (protocol.md 1, 2).
 */
#ifndef MBXCTL_DECODE_H
#define MBXCTL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mbx/oxcstor.h"
#include "mbx/rhe.h"
#include "mbx/ropbuf.h"
#include "mbx/wire.h"
#include "stub.h"

#define DECODE_INPUT_MAX (4u << 20)    /* bytes of raw input */
#define DECODE_PAYLOAD_MAX (64u << 20) /* decoded payload bytes, all buffers together */

enum decode_format {
	DECODE_FORMAT_AUTO,
	DECODE_FORMAT_RHE,  /* one or more extended buffers */
	DECODE_FORMAT_STUB, /* EcDoRpcExt2 [in] NDR stub */
};

enum decode_rop_kind {
	DECODE_ROP_PLAIN,     /* name, LogonId, indexes (and ReturnValue for a response) */
	DECODE_ROP_LOGON,     /* RopLogon, every field */
	DECODE_ROP_TOO_SMALL, /* RopBufferTooSmall response */
	DECODE_ROP_UNKNOWN,   /* layout unknown: the walk of this RopsList stopped here */
};

struct decode_rop {
	enum decode_rop_kind kind;
	uint8_t rop_id;
	size_t off; /* of the RopId (see decode_buf.in_input) */
	size_t len; /* 0 for DECODE_ROP_UNKNOWN */
	const uint8_t *raw;
	/* requests */
	uint8_t logon_id;
	int in_idx;  /* -1 if none */
	int out_idx; /* -1 if none */
	int dst_idx; /* DestHandleIndex of move/copy ROPs, -1 if none */
	/* responses */
	int idx; /* the handle index the response echoes */
	uint32_t rv;
	union {
		struct mbx_logon_req req;
		struct mbx_logon_resp resp;
	} logon;
	uint16_t size_needed; /* RopBufferTooSmall */
	size_t unwalked;      /* DECODE_ROP_UNKNOWN: RopsList bytes from this ROP to its end */
};

struct decode_buf {
	size_t off; /* of its RPC_HEADER_EXT in the input */
	struct mbx_rhe hdr;
	uint8_t *payload; /* SizeActual bytes, owned */
	size_t payload_len;
	/* Offsets into this payload are input offsets when it was not compressed; otherwise they
	 * count from the first byte of the decompressed payload. */
	bool in_input;
	size_t payload_base; /* offset given to payload[0] */
	/* the ROP buffer (filled by the walk) */
	bool walked;
	uint16_t rop_size;
	struct decode_rop *rops;
	size_t nrops;
	uint32_t handles[MBX_ROP_MAX_HANDLES];
	unsigned nhandles;
	bool stopped; /* the last rop is DECODE_ROP_UNKNOWN */
};

struct decode_result {
	enum decode_format format; /* resolved: RHE or STUB */
	bool detected;             /* format came from autodetection */
	bool response;
	size_t input_len;
	/* stub only */
	struct stub stub;
	bool has_aux;
	struct decode_buf aux; /* its payload and header; no ROP walk */
	struct stub_aux_block *aux_blocks;
	size_t naux_blocks;
	/* the ROP extended buffers (rgbIn / rgbOut / RopBuffer) */
	struct decode_buf *bufs;
	size_t nbufs;
	size_t payload_total;
	/* the error that ended decoding */
	bool failed;
	size_t err_off;
	char err_msg[MBX_RD_ERRMAX + 96];
};

/* Step 1: the framing (stub, aux buffer, every extended buffer up to the one with Last):
 * un-XOR and decompress all payloads. Returns 0, or -1 with res->failed set. */
int decode_framing(const uint8_t *in, size_t len, enum decode_format format, bool response,
                   struct decode_result *res);
/* Step 2: the ROP buffer of every payload: RopSize, each ROP, the handle table. A ROP whose
 * layout is unknown ends the walk of its buffer without failing. Returns 0 or -1 (failed). */
int decode_walk(struct decode_result *res);
/* Frees what decode_* allocated. */
void decode_result_free(struct decode_result *res);

void decode_print_text(FILE *f, const struct decode_result *res);
/* Returns 0, or -1 if the JSON writer failed (message in *err_r). */
int decode_print_json(FILE *f, const struct decode_result *res, const char **err_r);

/* Names used by both renderers. */
const char *decode_private_folder_name(unsigned i);
const char *decode_public_folder_name(unsigned i);
const char *decode_response_flags_str(uint8_t flags, char *buf, size_t size);
const char *decode_logon_kind_name(enum mbx_logon_resp_kind kind);
const char *decode_wday_name(unsigned wday);
/* "2024-03-05 14:07:09.1234567 UTC" for a FILETIME on or after 1970, else NULL. */
const char *decode_filetime_str(uint64_t ft, char *buf, size_t size);

#endif
