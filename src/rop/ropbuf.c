/*
 * ropbuf.c: the ROP input/output buffer (MS-OXCROPS 2.2.1, 3.2.5.2; protocol.md 4.2, 4.3, 4.6):
 * decoding RopSize / RopsList / handle table, and the executor that walks a request list,
 * runs one handler per ROP, writes the responses with rollback, cuts the list with
 * RopBufferTooSmall (MS-OXCROPS 2.2.15.1, 3.1.5.1.2) when the output limit is reached, and
 * appends the handle table. The contract is in include/mbx/ropbuf.h.
 *
 * SizeNeeded, our reading: MS-OXCROPS 3.1.5.1.2 says the client re-sends the unprocessed
 * requests with pcbOut (MaxRopOut) >= SizeNeeded, and 2.2.15.1 calls it the size required for
 * the ROP output buffer. pcbOut bounds the whole extended buffer, so we count the 8-byte
 * RPC_HEADER_EXT too, and we ask for what guarantees progress on the retry: RopSize, the first
 * unprocessed ROP's response bound, the RopBufferTooSmall room our executor keeps behind it,
 * and the handle table. A smaller value could make a client retry forever with a buffer in
 * which the same ROP again cannot run.
 */
#include "mbx/ropbuf.h"

#include <string.h>

#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"

int mbx_ropbuf_decode(struct rd *r, struct mbx_ropbuf *rb_r)
{
	size_t start, total, rest;
	uint16_t ropsize;

	rb_r->rops = NULL;
	rb_r->rops_len = 0;
	rb_r->rops_off = rd_pos(r);
	rb_r->nhandles = 0;
	rb_r->public_logons = NULL;
	if (!rd_ok(r))
		return -1;
	start = rd_pos(r);
	total = rd_left(r);
	ropsize = rd_u16le(r, "RopSize");
	if (!rd_ok(r))
		return -1;
	if (ropsize < 2) {
		rd_fail_at(r, start, "RopSize %u is less than 2 (it counts itself)", ropsize);
		return -1;
	}
	if (ropsize > total) {
		rd_fail_at(r, start, "RopSize %u exceeds the %zu-byte payload", ropsize, total);
		return -1;
	}
	rb_r->rops_off = rd_pos(r);
	rb_r->rops = rd_ptr(r, (size_t)ropsize - 2, "RopsList");
	rb_r->rops_len = (size_t)ropsize - 2;
	rest = rd_left(r);
	if (rest % 4 != 0) {
		rd_fail(r, "handle table of %zu bytes is not a multiple of 4", rest);
		return -1;
	}
	if (rest / 4 > MBX_ROP_MAX_HANDLES) {
		rd_fail(r, "handle table of %zu entries exceeds %d", rest / 4, MBX_ROP_MAX_HANDLES);
		return -1;
	}
	for (size_t i = 0; i < rest / 4; i++)
		rb_r->handles[i] = rd_u32le(r, "handle");
	rb_r->nhandles = (unsigned)(rest / 4);
	return rd_ok(r) ? 0 : -1;
}

uint16_t mbx_ropbuf_size_needed(size_t resp_max, size_t rest_after, unsigned nhandles)
{
	uint64_t n = (uint64_t)MBX_RHE_HDRLEN + 2 + resp_max + 4ull * nhandles;

	if (rest_after > 0)
		n += MBX_ROP_TOO_SMALL_HDR + (uint64_t)rest_after;
	return n > 0xFFFF ? 0xFFFF : (uint16_t)n;
}

int mbx_rop_exec_fail(struct mbx_rop_exec *ex, uint32_t ec)
{
	ex->ec = ec;
	return -1;
}

void mbx_rop_write_failure(struct wr *w, uint8_t rop_id, uint8_t idx, uint32_t ec)
{
	wr_u8(w, rop_id);
	wr_u8(w, idx);
	wr_u32le(w, ec);
	wr_zero(w, mbx_rop_failure_len(rop_id) - MBX_ROP_FAILURE_LEN);
}

/* The executor's state for one call. */
struct exec_run {
	const struct mbx_ropbuf *rb;
	struct wr *out;
	struct mbx_rop_exec *ex;
	size_t mark0; /* out->len at the start */
	size_t limit; /* payload bytes we may write */
	size_t tail;  /* the handle table */
};

static size_t run_room(const struct exec_run *x)
{
	return x->limit - (x->out->len - x->mark0);
}

static bool idx_ok(int idx, unsigned n)
{
	return idx < 0 || (unsigned)idx < n;
}

/* The room a ROP's response needs: its bound, and at least a failure response unless it is
 * RopRelease. */
static size_t resp_need(uint8_t rop_id, size_t resp_max)
{
	if (rop_id != MBX_ROP_Release && resp_max < mbx_rop_failure_len(rop_id))
		return mbx_rop_failure_len(rop_id);
	return resp_max;
}

/* The room a RopBufferTooSmall needs to carry rest request bytes (none when nothing is left). */
static size_t cut_need(size_t rest)
{
	return rest > 0 ? MBX_ROP_TOO_SMALL_HDR + rest : 0;
}

/* Cuts the list at start: RopBufferTooSmall with the requests from start on. Returns 0, or -1
 * when it does not fit. */
static int run_too_small(struct exec_run *x, size_t start, uint16_t size_needed)
{
	size_t rest = x->rb->rops_len - start;

	if (run_room(x) < cut_need(rest) + x->tail)
		return -1;
	wr_u8(x->out, MBX_ROP_BufferTooSmall);
	wr_u16le(x->out, size_needed);
	wr_bytes(x->out, x->rb->rops + start, rest);
	x->ex->too_small = true;
	x->ex->size_needed = size_needed;
	return 0;
}

/* Runs one handler in a writer of exactly resp_max bytes placed at the end of out. */
static int run_handler(struct exec_run *x, const struct mbx_rop_handler *h,
                       const struct mbx_rop_req *req, void *ctx)
{
	struct wr hw;
	int rc;

	wr_init(&hw, x->out->buf + x->out->len, h->resp_max);
	rc = h->fn(ctx, x->ex, req, &hw);
	if (rc != 0) {
		if (x->ex->ec == 0)
			x->ex->ec = ecError;
		return -1;
	}
	if (!wr_ok(&hw) || (hw.len == 0 && req->rop_id != MBX_ROP_Release)) {
		/* the handler broke its contract (wrote past resp_max, or no response): drop
		 * its bytes */
		x->ex->handler_bugs++;
		if (req->rop_id != MBX_ROP_Release)
			mbx_rop_write_failure(x->out, req->rop_id, (uint8_t)req->resp_idx, ecError);
		return 0;
	}
	/* hw wrote in place inside out's free space, within the room checked by the caller */
	x->out->len += hw.len;
	return 0;
}

int mbx_ropbuf_execute(const struct mbx_ropbuf *rb, struct wr *out, mbx_rop_lookup_fn *lookup,
                       void *ctx, struct mbx_rop_exec *ex)
{
	struct exec_run x = {.rb = rb, .out = out, .ex = ex};
	size_t ropsize_at, list_end;
	struct rd r;

	memset(ex, 0, sizeof(*ex));
	memcpy(ex->handles, rb->handles, rb->nhandles * sizeof(rb->handles[0]));
	ex->nhandles = rb->nhandles;
	rd_init(&ex->err, NULL, 0, 0);
	if (!wr_ok(out))
		return mbx_rop_exec_fail(ex, ecBufferTooSmall);
	x.mark0 = wr_mark(out);
	x.tail = 4u * rb->nhandles;
	x.limit = wr_room(out);
	if (x.limit > 0xFFFF + x.tail) /* RopSize is 16 bits */
		x.limit = 0xFFFF + x.tail;
	if (x.limit < 2 + x.tail)
		return mbx_rop_exec_fail(ex, ecBufferTooSmall);
	ropsize_at = wr_reserve(out, 2);

	rd_init(&r, rb->rops, rb->rops_len, rb->rops_off);
	while (rd_left(&r) > 0) {
		size_t start = r.off, rest_after, need;
		struct rd probe = r;
		struct mbx_rop_req req;
		const struct mbx_rop_handler *h;
		size_t resp_max;
		bool bad_idx;

		if (mbx_rop_req_parse_ex(&probe, rb->public_logons, &req) != 0) {
			uint32_t ec = req.layout_unknown ? ecNotSupported : ecRpcFormat;
			int idx = req.resp_idx;

			ex->err = probe;
			if (!mbx_rop_has_request(req.rop_id)) {
				ex->stopped_malformed = true;
				ex->ec = ecRpcFormat;
				goto fail;
			}
			if (idx < 0)
				idx = rb->rops_len - start >= 3 ? rb->rops[start + 2] : 0;
			if (req.layout_unknown)
				ex->stopped_unknown = true;
			else
				ex->stopped_malformed = true;
			if (req.rop_id == MBX_ROP_Release) /* no response to put the error in */
				break;
			if (run_room(&x) < mbx_rop_failure_len(req.rop_id) + x.tail) {
				uint16_t sn = mbx_ropbuf_size_needed(
				        mbx_rop_failure_len(req.rop_id), 0, rb->nhandles);

				if (start == 0 || run_too_small(&x, start, sn) != 0) {
					ex->ec = ecBufferTooSmall;
					goto fail;
				}
				break;
			}
			mbx_rop_write_failure(out, req.rop_id, (uint8_t)idx, ec);
			ex->nrops++;
			break;
		}
		rest_after = rb->rops_len - probe.off;
		h = lookup != NULL ? lookup(ctx, req.rop_id) : NULL;
		bad_idx = !idx_ok(req.in_idx, rb->nhandles) || !idx_ok(req.out_idx, rb->nhandles) ||
		          !idx_ok(req.dst_idx, rb->nhandles) || !idx_ok(req.resp_idx, rb->nhandles);
		resp_max = h != NULL && !bad_idx ? h->resp_max : 0;
		need = resp_need(req.rop_id, resp_max);
		if (run_room(&x) < need + cut_need(rest_after) + x.tail) {
			uint16_t sn = mbx_ropbuf_size_needed(need, rest_after, rb->nhandles);
			bool never = (size_t)sn - MBX_RHE_HDRLEN > MBX_RHE_MAX_PAYLOAD;

			if ((never && start == 0) || run_too_small(&x, start, sn) != 0) {
				ex->ec = ecBufferTooSmall;
				goto fail;
			}
			break;
		}
		r = probe;
		if (bad_idx) {
			if (req.rop_id != MBX_ROP_Release)
				mbx_rop_write_failure(out, req.rop_id, (uint8_t)req.resp_idx,
				                      ecNullObject);
		} else if (h == NULL || h->fn == NULL) {
			if (req.rop_id != MBX_ROP_Release)
				mbx_rop_write_failure(out, req.rop_id, (uint8_t)req.resp_idx,
				                      ecNotSupported);
		} else if (run_handler(&x, h, &req, ctx) != 0) {
			goto fail;
		}
		ex->nrops++;
	}

	list_end = out->len;
	for (unsigned i = 0; i < rb->nhandles; i++)
		wr_u32le(out, ex->handles[i]);
	if (!wr_ok(out)) { /* cannot happen: the room rule kept space for the table */
		ex->ec = ecBufferTooSmall;
		goto fail;
	}
	wr_patch_u16le(out, ropsize_at, (uint16_t)(list_end - ropsize_at));
	return 0;

fail:
	wr_rollback(out, x.mark0);
	if (ex->ec == 0)
		ex->ec = ecError;
	return -1;
}
