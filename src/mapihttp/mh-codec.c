/*
 * mh-codec.c: the binary request and response bodies of the MAPI/HTTP mailbox endpoint
 * ([MS-OXCMAPIHTTP] 2.2.4.1 Connect, 2.2.4.2 Execute, 2.2.4.3 Disconnect, 2.2.4.4
 * NotificationWait, 2.2.6 PING, and the failure bodies 2.2.4.x.3; protocol.md 5.6). Sans-I/O:
 * struct rd in, struct out, and back through struct wr. See include/mbx/mapihttp.h.
 *
 * Rules for every sized field (AuxiliaryBufferSize, RopBufferSize): the count is first checked
 * against the bytes left, then against its limit, and only then taken (as a pointer into the
 * body: nothing is allocated or copied). Every body must end exactly after its last field.
 */
#include "mbx/mapihttp.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

/* Reads a u32 byte count followed by that many bytes. The count is checked against the bytes
 * left before its limit, and fails r at the count's offset. */
static const uint8_t *mh_rd_sized(struct rd *r, uint32_t limit, uint32_t *len_r, const char *what)
{
	size_t at = rd_pos(r);
	uint32_t n = rd_u32le(r, what);

	*len_r = 0;
	if (!rd_ok(r))
		return NULL;
	if (rd_left(r) < n) {
		rd_fail_at(r, at, "%s %u exceeds the %zu bytes left", what, n, rd_left(r));
		return NULL;
	}
	if (n > limit) {
		rd_fail_at(r, at, "%s %u exceeds the limit %u (0x%x)", what, n, limit, limit);
		return NULL;
	}
	*len_r = n;
	return rd_ptr(r, n, what);
}

static int mh_aux_field(struct rd *r, uint32_t *len_r, const uint8_t **aux_r)
{
	*aux_r = mh_rd_sized(r, MBX_MH_AUX_MAX, len_r, "AuxiliaryBufferSize");
	return rd_ok(r) ? 0 : -1;
}

/* A body ends after its last field. */
static int mh_rd_end(struct rd *r, const char *last)
{
	if (!rd_ok(r))
		return -1;
	if (rd_left(r) != 0) {
		rd_fail(r, "%zu trailing bytes after %s", rd_left(r), last);
		return -1;
	}
	return 0;
}

static bool mh_printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7E;
}

/* A NUL-terminated printable ASCII string of at most max bytes with the NUL. */
static const char *mh_rd_ascii(struct rd *r, size_t max, size_t *len_r, const char *what)
{
	size_t at = rd_pos(r);
	const char *s = rd_str8z(r, max, len_r, what);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < *len_r; i++) {
		if (!mh_printable((uint8_t)s[i])) {
			rd_fail_at(r, at + i, "%s: byte 0x%02x at index %zu is not printable ASCII",
			           what, (unsigned)(uint8_t)s[i], i);
			return NULL;
		}
	}
	return s;
}

/* Whether s (may be NULL = "") is printable ASCII shorter than max bytes with its NUL. */
static bool mh_ascii_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return true;
	for (; s[n] != '\0'; n++)
		if (!mh_printable((uint8_t)s[n]) || n + 1 >= max)
			return false;
	return true;
}

static int mh_enc_start(struct wr *w, size_t *mark_r)
{
	if (!wr_ok(w))
		return MBX_MH_ERR_ROOM;
	*mark_r = wr_mark(w);
	return 0;
}

static int mh_enc_end(struct wr *w, size_t mark)
{
	if (!wr_ok(w)) {
		wr_rollback(w, mark);
		return MBX_MH_ERR_ROOM;
	}
	return 0;
}

static void mh_wr_sized(struct wr *w, const uint8_t *p, uint32_t n)
{
	wr_u32le(w, n);
	if (n > 0)
		wr_bytes(w, p, n);
}

/* ---- UTF-8 <-> UTF-16LE ------------------------------------------------------------- */

/* Decodes one scalar value from a NUL-terminated UTF-8 string at s[*i]: the shortest form only,
 * no surrogates, nothing above U+10FFFF. Returns 0 and advances *i, or -1. */
static int mh_utf8_next(const uint8_t *s, size_t *i, uint32_t *cp_r)
{
	uint8_t c = s[*i];
	uint32_t cp;
	unsigned n;

	if (c < 0x80) {
		*cp_r = c;
		*i += 1;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		cp = c & 0x07;
	} else {
		return -1; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	for (unsigned k = 1; k <= n; k++) {
		uint8_t cc = s[*i + k]; /* a NUL stops here: it is no continuation byte */

		if ((cc & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (cc & 0x3F);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*cp_r = cp;
	*i += n + 1;
	return 0;
}

/* Counts the UTF-16 units of a UTF-8 string (without the NUL), or returns SIZE_MAX if it is not
 * valid UTF-8. */
static size_t mh_utf16_units(const char *s)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, units = 0;

	while (u[i] != '\0') {
		uint32_t cp;

		if (mh_utf8_next(u, &i, &cp) != 0)
			return SIZE_MAX;
		units += cp >= 0x10000 ? 2 : 1;
	}
	return units;
}

/* Writes a valid UTF-8 string as UTF-16LE with a NUL unit. */
static void mh_wr_utf16z(struct wr *w, const char *s)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;

	while (u[i] != '\0') {
		uint32_t cp = 0;

		(void)mh_utf8_next(u, &i, &cp); /* validated by mh_utf16_units */
		if (cp >= 0x10000) {
			cp -= 0x10000;
			wr_u16le(w, (uint16_t)(0xD800 | cp >> 10));
			wr_u16le(w, (uint16_t)(0xDC00 | (cp & 0x3FF)));
		} else {
			wr_u16le(w, (uint16_t)cp);
		}
	}
	wr_u16le(w, 0);
}

static size_t mh_put_utf8(char *out, size_t o, uint32_t cp)
{
	if (cp < 0x80) {
		out[o++] = (char)cp;
	} else if (cp < 0x800) {
		out[o++] = (char)(0xC0 | cp >> 6);
		out[o++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[o++] = (char)(0xE0 | cp >> 12);
		out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[o++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[o++] = (char)(0xF0 | cp >> 18);
		out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[o++] = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Reads a NUL-terminated UTF-16LE string of at most max_units units with the NUL and converts
 * it to UTF-8 in out[0..cap). Unpaired surrogates fail. */
static const char *mh_rd_utf16z(struct rd *r, size_t max_units, char *out, size_t cap,
                                const char *what)
{
	size_t at = rd_pos(r);
	size_t left = rd_left(r);
	const uint8_t *p;
	size_t units = 0, o = 0;

	if (!rd_ok(r))
		return NULL;
	p = r->buf + r->off;
	for (;;) {
		if (left - 2 * units < 2) {
			rd_fail(r, "%s: no NUL before the end of the buffer (%zu bytes left)", what,
			        left);
			return NULL;
		}
		if (mbx_le16(p + 2 * units) == 0)
			break;
		if (++units == max_units) {
			rd_fail(r, "%s: no NUL within %zu code units", what, max_units);
			return NULL;
		}
	}
	for (size_t k = 0; k < units; k++) {
		uint32_t cp = mbx_le16(p + 2 * k);
		size_t need;

		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			rd_fail_at(r, at + 2 * k, "%s: unpaired low surrogate 0x%04x", what,
			           (unsigned)cp);
			return NULL;
		}
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			uint32_t lo = k + 1 < units ? mbx_le16(p + 2 * (k + 1)) : 0;

			if (lo < 0xDC00 || lo > 0xDFFF) {
				rd_fail_at(r, at + 2 * k, "%s: unpaired high surrogate 0x%04x",
				           what, (unsigned)cp);
				return NULL;
			}
			cp = 0x10000 + ((cp - 0xD800) << 10 | (lo - 0xDC00));
			k++;
		}
		need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (cap - o < need + 1) { /* the character and the NUL */
			rd_fail_at(r, at, "%s: its UTF-8 form does not fit %zu bytes", what, cap);
			return NULL;
		}
		o = mh_put_utf8(out, o, cp);
	}
	out[o] = '\0'; /* room kept by the checks above (cap >= 1 for the empty string) */
	rd_skip(r, 2 * (units + 1), what);
	return out;
}

/* ---- StatusCode ---------------------------------------------------------------------- */

int mbx_mh_rsp_status(struct rd *r, uint32_t *status_r)
{
	if (!rd_ok(r))
		return -1;
	if (rd_left(r) < 4) {
		rd_fail(r, "StatusCode: need 4 bytes, %zu left", rd_left(r));
		return -1;
	}
	*status_r = mbx_le32(r->buf + r->off);
	return 0;
}

/* Reads the StatusCode of a success body, which MUST be 0. */
static int mh_rd_success_status(struct rd *r)
{
	size_t at = rd_pos(r);
	uint32_t st = rd_u32le(r, "StatusCode");

	if (!rd_ok(r))
		return -1;
	if (st != 0) {
		rd_fail_at(r, at, "StatusCode 0x%08x is not 0: a failure body", st);
		return -1;
	}
	return 0;
}

/* ---- Connect ------------------------------------------------------------------------- */

int mbx_mh_connect_req_decode(struct rd *r, struct mbx_mh_connect_req *req_r)
{
	struct mbx_mh_connect_req q;

	memset(&q, 0, sizeof(q));
	q.user_dn = mh_rd_ascii(r, MBX_MH_DN_MAX, &q.user_dn_len, "UserDn");
	q.flags = rd_u32le(r, "Flags");
	q.cpid = rd_u32le(r, "DefaultCodePage");
	q.lcid_sort = rd_u32le(r, "LcidSort");
	q.lcid_string = rd_u32le(r, "LcidString");
	if (!rd_ok(r) || mh_aux_field(r, &q.aux_len, &q.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*req_r = q;
	return 0;
}

int mbx_mh_connect_req_encode(struct wr *w, const struct mbx_mh_connect_req *req)
{
	const char *dn = req->user_dn != NULL ? req->user_dn : "";
	size_t mark;

	if (!mh_ascii_ok(dn, MBX_MH_DN_MAX) || req->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_str8z(w, dn);
	wr_u32le(w, req->flags);
	wr_u32le(w, req->cpid);
	wr_u32le(w, req->lcid_sort);
	wr_u32le(w, req->lcid_string);
	mh_wr_sized(w, req->aux, req->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_connect_rsp_encode(struct wr *w, const struct mbx_mh_connect_rsp *rsp)
{
	const char *name = rsp->display_name != NULL ? rsp->display_name : "";
	size_t units = mh_utf16_units(name);
	size_t mark;

	if (units == SIZE_MAX || units >= MBX_MH_DISPLAYNAME_MAX ||
	    !mh_ascii_ok(rsp->dn_prefix, MBX_MH_DN_MAX) || rsp->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, 0); /* StatusCode */
	wr_u32le(w, rsp->error_code);
	wr_u32le(w, rsp->polls_max);
	wr_u32le(w, rsp->retry_count);
	wr_u32le(w, rsp->retry_delay);
	wr_str8z(w, rsp->dn_prefix != NULL ? rsp->dn_prefix : "");
	mh_wr_utf16z(w, name);
	mh_wr_sized(w, rsp->aux, rsp->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_connect_rsp_decode(struct rd *r, struct mbx_mh_connect_rsp *rsp_r, char *name_buf,
                              size_t name_cap)
{
	struct mbx_mh_connect_rsp s;
	size_t len;

	memset(&s, 0, sizeof(s));
	if (mh_rd_success_status(r) != 0)
		return -1;
	s.error_code = rd_u32le(r, "ErrorCode");
	s.polls_max = rd_u32le(r, "PollsMax");
	s.retry_count = rd_u32le(r, "RetryCount");
	s.retry_delay = rd_u32le(r, "RetryDelay");
	s.dn_prefix = mh_rd_ascii(r, MBX_MH_DN_MAX, &len, "DnPrefix");
	if (!rd_ok(r))
		return -1;
	if (name_buf == NULL || name_cap == 0) {
		rd_fail(r, "DisplayName: no buffer to decode into");
		return -1;
	}
	s.display_name = mh_rd_utf16z(r, MBX_MH_DISPLAYNAME_MAX, name_buf, name_cap, "DisplayName");
	if (!rd_ok(r) || mh_aux_field(r, &s.aux_len, &s.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*rsp_r = s;
	return 0;
}

/* ---- Execute ------------------------------------------------------------------------- */

int mbx_mh_execute_req_decode(struct rd *r, struct mbx_mh_execute_req *req_r)
{
	struct mbx_mh_execute_req q;

	memset(&q, 0, sizeof(q));
	q.flags = rd_u32le(r, "Flags");
	q.rop = mh_rd_sized(r, MBX_MH_ROP_MAX, &q.rop_len, "RopBufferSize");
	q.max_rop_out = rd_u32le(r, "MaxRopOut");
	if (!rd_ok(r) || mh_aux_field(r, &q.aux_len, &q.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*req_r = q;
	return 0;
}

int mbx_mh_execute_req_encode(struct wr *w, const struct mbx_mh_execute_req *req)
{
	size_t mark;

	if (req->rop_len > MBX_MH_ROP_MAX || req->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, req->flags);
	mh_wr_sized(w, req->rop, req->rop_len);
	wr_u32le(w, req->max_rop_out);
	mh_wr_sized(w, req->aux, req->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_execute_rsp_encode(struct wr *w, const struct mbx_mh_execute_rsp *rsp)
{
	size_t mark;

	if (rsp->rop_len > MBX_MH_ROP_MAX || rsp->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, 0); /* StatusCode */
	wr_u32le(w, rsp->error_code);
	wr_u32le(w, rsp->flags);
	mh_wr_sized(w, rsp->rop, rsp->rop_len);
	mh_wr_sized(w, rsp->aux, rsp->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_execute_rsp_decode(struct rd *r, struct mbx_mh_execute_rsp *rsp_r)
{
	struct mbx_mh_execute_rsp s;

	memset(&s, 0, sizeof(s));
	if (mh_rd_success_status(r) != 0)
		return -1;
	s.error_code = rd_u32le(r, "ErrorCode");
	s.flags = rd_u32le(r, "Flags");
	s.rop = mh_rd_sized(r, MBX_MH_ROP_MAX, &s.rop_len, "RopBufferSize");
	if (!rd_ok(r) || mh_aux_field(r, &s.aux_len, &s.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*rsp_r = s;
	return 0;
}

size_t mbx_mh_execute_rsp_begin(struct wr *w, uint32_t error_code)
{
	size_t begin;

	if (!wr_ok(w))
		return SIZE_MAX;
	begin = wr_mark(w);
	wr_u32le(w, 0); /* StatusCode */
	wr_u32le(w, error_code);
	wr_u32le(w, 0); /* Flags */
	wr_u32le(w, 0); /* RopBufferSize, patched by _finish */
	if (!wr_ok(w)) {
		wr_rollback(w, begin);
		return SIZE_MAX;
	}
	return begin;
}

int mbx_mh_execute_rsp_finish(struct wr *w, size_t begin, const uint8_t *aux, uint32_t aux_len)
{
	size_t rop_at = begin + 12;
	size_t rop_len;

	if (begin == SIZE_MAX || begin > w->len || w->len - begin < 16) {
		if (begin != SIZE_MAX && begin <= w->len)
			wr_rollback(w, begin);
		return MBX_MH_ERR_INVALID;
	}
	if (!wr_ok(w)) {
		wr_rollback(w, begin);
		return MBX_MH_ERR_ROOM;
	}
	rop_len = w->len - (begin + 16);
	if (rop_len > MBX_MH_ROP_MAX || aux_len > MBX_MH_AUX_MAX) {
		wr_rollback(w, begin);
		return MBX_MH_ERR_INVALID;
	}
	wr_patch_u32le(w, rop_at, (uint32_t)rop_len);
	mh_wr_sized(w, aux, aux_len);
	if (!wr_ok(w)) {
		wr_rollback(w, begin);
		return MBX_MH_ERR_ROOM;
	}
	return 0;
}

/* ---- Disconnect ---------------------------------------------------------------------- */

int mbx_mh_disconnect_req_decode(struct rd *r, struct mbx_mh_disconnect_req *req_r)
{
	struct mbx_mh_disconnect_req q;

	memset(&q, 0, sizeof(q));
	if (mh_aux_field(r, &q.aux_len, &q.aux) != 0 || mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*req_r = q;
	return 0;
}

int mbx_mh_disconnect_req_encode(struct wr *w, const struct mbx_mh_disconnect_req *req)
{
	size_t mark;

	if (req->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	mh_wr_sized(w, req->aux, req->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_disconnect_rsp_encode(struct wr *w, const struct mbx_mh_disconnect_rsp *rsp)
{
	size_t mark;

	if (rsp->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, 0); /* StatusCode */
	wr_u32le(w, rsp->error_code);
	mh_wr_sized(w, rsp->aux, rsp->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_disconnect_rsp_decode(struct rd *r, struct mbx_mh_disconnect_rsp *rsp_r)
{
	struct mbx_mh_disconnect_rsp s;

	memset(&s, 0, sizeof(s));
	if (mh_rd_success_status(r) != 0)
		return -1;
	s.error_code = rd_u32le(r, "ErrorCode");
	if (!rd_ok(r) || mh_aux_field(r, &s.aux_len, &s.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*rsp_r = s;
	return 0;
}

/* ---- NotificationWait ---------------------------------------------------------------- */

int mbx_mh_nwait_req_decode(struct rd *r, struct mbx_mh_nwait_req *req_r)
{
	struct mbx_mh_nwait_req q;

	memset(&q, 0, sizeof(q));
	q.flags = rd_u32le(r, "Flags");
	if (!rd_ok(r) || mh_aux_field(r, &q.aux_len, &q.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*req_r = q;
	return 0;
}

int mbx_mh_nwait_req_encode(struct wr *w, const struct mbx_mh_nwait_req *req)
{
	size_t mark;

	if (req->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, req->flags);
	mh_wr_sized(w, req->aux, req->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_nwait_rsp_encode(struct wr *w, const struct mbx_mh_nwait_rsp *rsp)
{
	size_t mark;

	if (rsp->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, 0); /* StatusCode */
	wr_u32le(w, rsp->error_code);
	wr_u32le(w, rsp->event_pending);
	mh_wr_sized(w, rsp->aux, rsp->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_nwait_rsp_decode(struct rd *r, struct mbx_mh_nwait_rsp *rsp_r)
{
	struct mbx_mh_nwait_rsp s;

	memset(&s, 0, sizeof(s));
	if (mh_rd_success_status(r) != 0)
		return -1;
	s.error_code = rd_u32le(r, "ErrorCode");
	s.event_pending = rd_u32le(r, "EventPending");
	if (!rd_ok(r) || mh_aux_field(r, &s.aux_len, &s.aux) != 0 ||
	    mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*rsp_r = s;
	return 0;
}

/* ---- PING and failure bodies --------------------------------------------------------- */

int mbx_mh_ping_req_decode(struct rd *r)
{
	if (!rd_ok(r))
		return -1;
	if (rd_left(r) != 0) {
		rd_fail(r, "PING has no request body, %zu bytes sent", rd_left(r));
		return -1;
	}
	return 0;
}

int mbx_mh_failure_encode(struct wr *w, const struct mbx_mh_failure *f)
{
	size_t mark;

	if (f->status_code == 0 || f->aux_len > MBX_MH_AUX_MAX)
		return MBX_MH_ERR_INVALID;
	if (mh_enc_start(w, &mark) != 0)
		return MBX_MH_ERR_ROOM;
	wr_u32le(w, f->status_code);
	mh_wr_sized(w, f->aux, f->aux_len);
	return mh_enc_end(w, mark);
}

int mbx_mh_failure_decode(struct rd *r, struct mbx_mh_failure *f_r)
{
	struct mbx_mh_failure f;
	size_t at = rd_pos(r);

	memset(&f, 0, sizeof(f));
	f.status_code = rd_u32le(r, "StatusCode");
	if (!rd_ok(r))
		return -1;
	if (f.status_code == 0) {
		rd_fail_at(r, at, "StatusCode 0 in a failure body");
		return -1;
	}
	if (mh_aux_field(r, &f.aux_len, &f.aux) != 0 || mh_rd_end(r, "AuxiliaryBuffer") != 0)
		return -1;
	*f_r = f;
	return 0;
}
