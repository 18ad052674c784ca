/*
 * ropbuf.h: the ROP input/output buffer inside an extended buffer's payload (MS-OXCROPS 2.2.1;
 * protocol.md 4.2, 4.3, 4.6): RopSize, the RopsList, the server object handle table; walking a
 * request list ROP by ROP; writing the responses with rollback and RopBufferTooSmall when the
 * output limit is reached. Pure: no I/O, no store access (handlers get a context pointer).
 *
 * src/rop/rop-size.c knows the request layouts of every ROP of MS-OXCROPS 2.2 (except the
 * parts listed there) and the response layouts used to walk an output RopsList;
 * src/rop/ropbuf.c decodes the buffer and runs the executor.
 */
#ifndef MBX_ROPBUF_H
#define MBX_ROPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

#define MBX_ROP_MAX_HANDLES 255
#define MBX_HANDLE_NONE 0xFFFFFFFFu
/* Deepest nesting of restrictions (MS-OXCDATA 2.12) and of restriction-typed property values
 * the request walker accepts; deeper input fails as malformed. */
#define MBX_ROP_MAX_DEPTH 32
/* Size of a RopBufferTooSmall response without its RequestBuffers (RopId, SizeNeeded). */
#define MBX_ROP_TOO_SMALL_HDR 3
/* Size of the generic failure response (RopId, handle index, ReturnValue); see
 * mbx_rop_failure_len for the ROPs whose failure carries more. */
#define MBX_ROP_FAILURE_LEN 6

struct mbx_ropbuf {
	const uint8_t *rops; /* the RopsList (points into the decoded payload) */
	size_t rops_len;
	size_t rops_off; /* absolute offset of the RopsList, for messages */
	uint32_t handles[MBX_ROP_MAX_HANDLES];
	unsigned nhandles;
	/* Optional, set by the caller after decoding (decode sets NULL): a 32-byte bitmap of the
	 * LogonIds that were opened as public-folder logons (bit id % 8 of byte id / 8). Two
	 * request layouts depend on it (RopSetMessageReadFlag's ClientData, RopWritePerUser-
	 * Information's ReplGuid). NULL means every logon is private. It may point at session
	 * state that a RopLogon handler updates while the list runs. */
	const uint8_t *public_logons;
};

/* Decodes a whole payload (SizeActual bytes after un-XOR/decompression): every byte left in r,
 * as RopSize (>= 2, counts itself, <= the payload), the RopsList, then the handle table (a
 * multiple of 4 bytes, at most 255 entries). rb_r points into r's buffer. Returns 0, or -1
 * with r's error set (absolute offsets). */
int mbx_ropbuf_decode(struct rd *r, struct mbx_ropbuf *rb_r);

/* One ROP of a list. Index fields are -1 where the ROP has none. */
struct mbx_rop_req {
	uint8_t rop_id;
	uint8_t logon_id;
	int in_idx;   /* InputHandleIndex (SourceHandleIndex of move/copy ROPs) */
	int out_idx;  /* OutputHandleIndex (RopLogon's handle index is an output index) */
	int dst_idx;  /* DestHandleIndex of the move/copy ROPs */
	int resp_idx; /* the handle index the response echoes: OutputHandleIndex for ROPs that
	               * create an object, ResponseHandleIndex for RopSaveChangesMessage,
	               * RopSaveChangesAttachment and RopSetMessageReadFlag, else the input index */
	/* Set when parsing failed because the ROP, or a part of it (a PtypRuleAction value, a
	 * response-only or reserved RopId), has no known request layout; clear for a truncated or
	 * malformed request. Meaningful only when the parse failed. */
	bool layout_unknown;
	const uint8_t *raw; /* the whole request, RopId included */
	size_t len;
	size_t off; /* absolute offset of raw[0] */
};

/* Parses one request at r's position (which starts at its RopId) and advances past it, using
 * the request layouts of src/rop/rop-size.c; nested structures (restrictions, property values,
 * recipient rows) are walked and checked, sized sections must be filled exactly. Fails r for a
 * truncated or malformed request and for a ROP whose request layout is not known ("cannot walk
 * past RopXxx (0xNN): request layout not known"; req_r->layout_unknown is then set). On
 * failure req_r still holds rop_id, logon_id and the index fields that could be read.
 * Every logon is taken as private. Returns 0 or -1. */
int mbx_rop_req_parse(struct rd *r, struct mbx_rop_req *req_r);
/* Same, with the public-logon bitmap of struct mbx_ropbuf (NULL: all private). */
int mbx_rop_req_parse_ex(struct rd *r, const uint8_t *public_logons, struct mbx_rop_req *req_r);
/* False for the reserved RopIds and the response-only ROPs (RopNotify, RopPending, RopBackoff,
 * RopBufferTooSmall): ids that can never start a request. */
bool mbx_rop_has_request(uint8_t rop_id);

/* One ROP response of an output RopsList, for decoding what a server sent. */
struct mbx_rop_resp {
	uint8_t rop_id;
	int idx;     /* the handle index the response echoes; -1 for RopBackoff, RopPending,
	              * RopNotify and RopBufferTooSmall */
	uint32_t rv; /* ReturnValue; 0 for ROPs without one */
	const uint8_t *raw;
	size_t len;
	size_t off;
};

/* Parses one response at r's position. Knows every failure response (6 bytes, except the ROPs
 * with their own failure body), RopLogon's four layouts, RopBufferTooSmall (which takes every
 * byte left: it is always last), RopBackoff, RopPending, and the success layouts listed in
 * rop-size.c. Success responses whose layout depends on the request (RopGetPropertiesSpecific,
 * RopQueryRows, RopFindRow, RopExpandRow) and RopNotify fail with "cannot walk past".
 * Returns 0 or -1 with r's error set. */
int mbx_rop_resp_parse(struct rd *r, struct mbx_rop_resp *resp_r);

/* --- executing a request list ---------------------------------------------------------- */

struct mbx_rop_exec;

/* A ROP handler writes exactly one response (RopRelease writes none) into w, and may change the
 * handle table. It returns 0 when a response (success or failure) was written, or -1 to stop
 * processing this list (the executor then fails the whole call with ex->ec as set by the
 * handler through mbx_rop_exec_fail; ecError if it did not). w's capacity is exactly the
 * handler's resp_max: a write past it overflows w, and the executor then drops what the
 * handler wrote and answers with an ecError failure (a handler bug, counted in
 * ex->handler_bugs; so is returning 0 without a response for a ROP that has one). The
 * executor has already checked that every handle index of req is below ex->nhandles. */
typedef int mbx_rop_handler_fn(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                               struct wr *w);

struct mbx_rop_handler {
	mbx_rop_handler_fn *fn;
	/* Upper bound of the response size: the executor runs the handler only when that much room
	 * is left, so a ROP with side effects never runs without room for its answer. At most
	 * MBX_RHE_MAX_PAYLOAD - 2 - 4 * nhandles, or the ROP can never run (ecBufferTooSmall). */
	size_t resp_max;
};

/* Handler lookup: returns NULL for a ROP the server does not implement; the executor answers
 * those with a 6-byte ecNotSupported failure response (RopRelease: no response at all). */
typedef const struct mbx_rop_handler *mbx_rop_lookup_fn(void *ctx, uint8_t rop_id);

struct mbx_rop_exec {
	uint32_t handles[MBX_ROP_MAX_HANDLES]; /* the table, updated by handlers */
	unsigned nhandles;      /* as in the request; the output table has the same count */
	uint32_t ec;            /* whole-call error (0 when the list was processed) */
	unsigned nrops;         /* requests that got a response (error responses included) or
	                         * were released */
	bool too_small;         /* RopBufferTooSmall was appended */
	uint16_t size_needed;   /* its SizeNeeded */
	bool stopped_unknown;   /* a ROP with an unknown request layout ended the walk */
	bool stopped_malformed; /* a truncated or malformed request ended the walk */
	unsigned handler_bugs;  /* handlers that wrote past their resp_max or no response */
	struct rd err;          /* when the walk stopped on a request: the parse error (err_off,
	                         * err_msg), for the log line */
};

/* Processes rb's requests in order and writes the response payload (RopSize, responses, handle
 * table) into out, whose capacity is the payload limit for this response (the client's MaxRopOut
 * less the extended-buffer header, at most 32 KB). ex is output only (fully initialised here).
 *
 * Room: a ROP runs only when its resp_max (at least mbx_rop_failure_len for a ROP that has a
 * response, so that a failure can always be written), the handle table, and a RopBufferTooSmall
 * carrying every request after it all fit in the room left, so that the list can always be cut
 * cleanly after it. When the next ROP does not fit, the walk stops and RopBufferTooSmall is
 * appended with SizeNeeded (mbx_ropbuf_size_needed) and the unprocessed requests verbatim. The call
 * fails with ecBufferTooSmall when even that cannot be written, or when the first ROP of the list
 * could not run in any output buffer (MBX_RHE_MAX_PAYLOAD); such a ROP later in the list gets
 * a RopBufferTooSmall, so the responses of the ROPs that ran are not lost.
 *
 * Failure responses below are those of mbx_rop_write_failure (6 bytes for most ROPs).
 * Requests: a ROP whose request cannot be parsed ends the list with a failure response,
 * ecNotSupported for an unknown layout, ecRpcFormat for a truncated or malformed one; its
 * handle index is the request's response index if that byte could be read, else the byte at
 * offset 2 of the request if present, else 0 (a cut RopRelease, which has no response, just
 * ends the list). A reserved or response-only RopId (MS-OXCROPS
 * 2.2.2: the server SHOULD fail the RPC) fails the whole call with ecRpcFormat, since a
 * response starting with such an id would be misread. A request naming a handle index that is
 * not below the table's entry count gets an ecNullObject failure without running the
 * handler (RopRelease: ignored). A ROP without a handler gets an ecNotSupported failure
 * (RopRelease: no response). Then the handle table follows (same count as the request) and
 * RopSize is patched.
 *
 * Returns 0 when out holds a response payload, -1 when the whole call failed (ex->ec; out is
 * rolled back to where it was). */
int mbx_ropbuf_execute(const struct mbx_ropbuf *rb, struct wr *out, mbx_rop_lookup_fn *lookup,
                       void *ctx, struct mbx_rop_exec *ex);

/* SizeNeeded of a RopBufferTooSmall, as we read MS-OXCROPS 2.2.15.1 and 3.1.5.1.2 (the client
 * must retry with pcbOut/MaxRopOut >= SizeNeeded, re-sending only the unprocessed requests with
 * the same handle table): the output buffer size that lets the first unprocessed ROP run under
 * the room rule above, i.e. the extended-buffer header (8), RopSize (2), its response bound
 * resp_max, a RopBufferTooSmall for the rest_after request bytes behind it (3 + rest_after, if
 * any) and the handle table (4 * nhandles); capped at 0xFFFF. */
uint16_t mbx_ropbuf_size_needed(size_t resp_max, size_t rest_after, unsigned nhandles);

/* For handlers: fail the whole call with ec. Returns -1. */
int mbx_rop_exec_fail(struct mbx_rop_exec *ex, uint32_t ec);
/* For handlers and the executor: the failure response of rop_id with ReturnValue ec: RopId,
 * handle index, ReturnValue (6 bytes), followed, for the ROPs whose single response buffer
 * always carries more fields (RopReadStream's DataSize, RopWriteStream's WrittenSize, the
 * PartialCompletion of the delete/move/copy ROPs, RopFastTransferDestinationPutBuffer's
 * status fields...), by those fields zeroed: mbx_rop_failure_len(rop_id) bytes in all. Not
 * for the ReturnValues with their own failure body (RopLogon's ecWrongServer, the move/copy
 * ROPs' ecDstNullObject, RopFastTransferSourceGetBuffer's ecServerBusy,
 * RopGetPropertyIdsFromNames' ecWarnWithErrors): their writers build those. */
void mbx_rop_write_failure(struct wr *w, uint8_t rop_id, uint8_t idx, uint32_t ec);
/* Length of that failure response (6 for most ROPs). */
size_t mbx_rop_failure_len(uint8_t rop_id);

#endif
