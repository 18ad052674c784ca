/*
 * ropbuf.h: the ROP input/output buffer inside an extended buffer's payload (MS-OXCROPS 2.2.1;
 * protocol.md 4.2, 4.3, 4.6): RopSize, the RopsList, the server object handle table; walking a
 * request list ROP by ROP; writing the responses with rollback and RopBufferTooSmall when the
 * output limit is reached. Pure: no I/O, no store access (handlers get a context pointer).
 */
#ifndef MBX_ROPBUF_H
#define MBX_ROPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

#define MBX_ROP_MAX_HANDLES 255
#define MBX_HANDLE_NONE 0xFFFFFFFFu

struct mbx_ropbuf {
	const uint8_t *rops; /* the RopsList (points into the decoded payload) */
	size_t rops_len;
	size_t rops_off; /* absolute offset of the RopsList, for messages */
	uint32_t handles[MBX_ROP_MAX_HANDLES];
	unsigned nhandles;
};

/* Decodes a whole payload (SizeActual bytes after un-XOR/decompression): RopSize (>= 2, counts
 * itself), the RopsList, then the handle table (a multiple of 4 bytes, at most 255 entries).
 * Returns 0, or -1 with r's error set. */
int mbx_ropbuf_decode(struct rd *r, struct mbx_ropbuf *rb_r);

/* One ROP of a list. Index fields are -1 where the ROP has none. */
struct mbx_rop_req {
	uint8_t rop_id;
	uint8_t logon_id;
	int in_idx;  /* InputHandleIndex */
	int out_idx; /* OutputHandleIndex (RopLogon's handle index is an output index) */
	const uint8_t *raw; /* the whole request, RopId included */
	size_t len;
	size_t off; /* absolute offset of raw[0] */
};

/* Parses one request at r's position (which starts at its RopId) and advances past it, using
 * the request layouts of src/rop/rop-size.c. Fails r for a truncated request and for a ROP
 * whose request layout is not known ("cannot walk past RopXxx"). Returns 0 or -1. */
int mbx_rop_req_parse(struct rd *r, struct mbx_rop_req *req_r);

/* One ROP response of an output RopsList, for decoding what a server sent. */
struct mbx_rop_resp {
	uint8_t rop_id;
	int idx; /* the handle index the response echoes (Input- or OutputHandleIndex) */
	uint32_t rv; /* ReturnValue; 0 for ROPs without one */
	const uint8_t *raw;
	size_t len;
	size_t off;
};

/* Parses one response at r's position. Knows every failure response (6 bytes, except the ROPs
 * with their own failure body), RopLogon's four layouts, RopBufferTooSmall, and the success
 * layouts listed in rop-size.c. Returns 0 or -1 with r's error set. */
int mbx_rop_resp_parse(struct rd *r, struct mbx_rop_resp *resp_r);

/* --- executing a request list ---------------------------------------------------------- */

struct mbx_rop_exec;

/* A ROP handler writes exactly one response (RopRelease writes none) into w, and may change the
 * handle table. It returns 0 when a response (success or failure) was written, or -1 to stop
 * processing this list (the executor then fails the whole call with *ec_r as set by the
 * handler through mbx_rop_exec_fail). It must not write more than its resp_max. */
typedef int mbx_rop_handler_fn(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
			       struct wr *w);

struct mbx_rop_handler {
	mbx_rop_handler_fn *fn;
	/* Upper bound of the response size: the executor runs the handler only when that much room
	 * is left, so a ROP with side effects never runs without room for its answer. */
	size_t resp_max;
};

/* Handler lookup: returns NULL for a ROP the server does not implement; the executor answers
 * those with a 6-byte ecNotSupported failure response. */
typedef const struct mbx_rop_handler *mbx_rop_lookup_fn(void *ctx, uint8_t rop_id);

struct mbx_rop_exec {
	uint32_t handles[MBX_ROP_MAX_HANDLES]; /* the table, updated by handlers */
	unsigned nhandles;
	uint32_t ec;           /* whole-call error (0 when the list was processed) */
	unsigned nrops;        /* requests processed (responses written or release done) */
	bool too_small;        /* RopBufferTooSmall was appended */
	uint16_t size_needed;  /* its SizeNeeded */
	bool stopped_unknown;  /* a ROP with an unknown request layout ended the walk */
};

/* Processes rb's requests in order and writes the response payload (RopSize, responses, handle
 * table) into out, whose capacity is the payload limit for this response (the client's MaxRopOut
 * less the extended-buffer header, at most 32 KB). When the next ROP's resp_max does not fit,
 * stops and appends RopBufferTooSmall with SizeNeeded and the unprocessed requests verbatim;
 * when even that does not fit, fails the call with ecBufferTooSmall. A ROP whose request cannot
 * be parsed ends the list with an ecRpcFormat failure response (or ecNotSupported for an unknown
 * layout). Returns 0 when out holds a response payload, -1 when the whole call failed (ex->ec). */
int mbx_ropbuf_execute(const struct mbx_ropbuf *rb, struct wr *out, mbx_rop_lookup_fn *lookup,
		       void *ctx, struct mbx_rop_exec *ex);

/* For handlers: fail the whole call with ec. Returns -1. */
int mbx_rop_exec_fail(struct mbx_rop_exec *ex, uint32_t ec);
/* For handlers: the generic 6-byte failure response RopId, handle index, ReturnValue. */
void mbx_rop_write_failure(struct wr *w, uint8_t rop_id, uint8_t idx, uint32_t ec);

#endif
