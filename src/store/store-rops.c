/*
 * store-rops.c: the store ROP handlers a client sends right after logon (include/mbx/
 * store-rops.h), run by mbx_ropbuf_execute against the objects of src/store/session.c:
 *
 *   RopLogon 0xFE            MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1 / 3.2.5.1: writes what the
 *                            logon pipeline decided (private 166 bytes, public 145, ecWrongServer
 *                            redirect, 6-byte failure) and makes the Logon object
 *   RopRelease 0x01          MS-OXCROPS 2.2.15.3: frees the object in the slot; no response
 *   RopGetReceiveFolder 0x27 MS-OXCROPS 2.2.3.2, MS-OXCSTOR 2.2.1.2 / 3.2.5.2
 *   RopGetStoreState 0x7B    MS-OXCROPS 2.2.3.5, MS-OXCSTOR 3.2.5.5 (implemented: MAY)
 *   RopGetOwningServers 0x42 MS-OXCROPS 2.2.3.6, MS-OXCSTOR 3.2.5.6
 *   RopLongTermIdFromId 0x43 MS-OXCROPS 2.2.3.8, MS-OXCSTOR 3.2.5.8
 *   RopIdFromLongTermId 0x44 MS-OXCROPS 2.2.3.9, MS-OXCSTOR 3.2.5.9
 *   RopOpenFolder 0x02       MS-OXCROPS 2.2.4.1, MS-OXCFOLD 2.2.1.1 / 3.2.5.1
 *   RopGetPropertiesSpecific 0x07  MS-OXCROPS 2.2.8.3, MS-OXCPRPT 3.2.5.1, MS-OXCDATA 2.8.1
 *
 * Rules common to all: the object comes from the request's input slot and must belong to the
 * request's LogonId (else ecNullObject); the ROPs that MS-OXCROPS runs on a Logon object answer
 * ecNotSupported when the slot holds a folder (as gromox does). Requests were walked by the
 * executor already, so a decode failure here is our bug; it is answered ecRpcFormat all the same.
 *
 * Properties (RopGetPropertiesSpecific): the row is a StandardPropertyRow when every value is
 * there, else a FlaggedPropertyRow whose missing values carry flag 0x0A and ecNotFound
 * (MS-OXCDATA 2.8.1.1, 2.8.1.2, 2.11.5); columns of type PtypUnspecified carry their type
 * (TypedPropertyValue, FlaggedPropertyValueWithType), strings as PtypString when WantUnicode
 * is set and PtypString8 otherwise; a string property asked for as PtypString8 or PtypString
 * comes in that type; any other type that is not the property's own is ecNotFound. Non-ASCII
 * characters become '?' in PtypString8 (the store has no code page of the logon to map them
 * to). PropertySizeLimit is ignored (MS-OXCPRPT 3.2.5.1: SHOULD). The response size is worked
 * out before the handler runs (mbx_store_rops_resp_max), by the same code that writes it.
 */
#include "mbx/store-rops.h"

#include <stdlib.h>
#include <string.h>

#include "mbx/log.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"

/* MS-OXCDATA 2.2.5.2: the ProviderUID of Address Book EntryIDs. */
static const uint8_t ab_provider_uid[16] = {0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A,
                                            0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1, 0x82};
/* MS-OXCDATA 2.2.4.1: the ProviderUID of public folder EntryIDs. */
static const uint8_t pf_provider_uid[16] = {0x1A, 0x44, 0x73, 0x90, 0xAA, 0x66, 0x11, 0xCD,
                                            0x9B, 0xC8, 0x00, 0xAA, 0x00, 0x2F, 0xC4, 0x5A};
#define EID_FOLDER_PRIVATE 0x0001 /* eitLTPrivateFolder */
#define EID_FOLDER_PUBLIC 0x0003  /* eitLTPublicFolder */
#define FOLDER_EID_LEN 46
#define AB_EID_HDR 28

#define LOGON_FIXED_RESP 6 /* RopId, handle index, ReturnValue */

/* --- a writer that may only count --------------------------------------------------------- */

struct sink {
	struct wr *w; /* NULL: count only */
	size_t n;
};

static void sk_u8(struct sink *k, uint8_t v)
{
	if (k->w != NULL)
		wr_u8(k->w, v);
	k->n += 1;
}

static void sk_u16(struct sink *k, uint16_t v)
{
	if (k->w != NULL)
		wr_u16le(k->w, v);
	k->n += 2;
}

static void sk_u32(struct sink *k, uint32_t v)
{
	if (k->w != NULL)
		wr_u32le(k->w, v);
	k->n += 4;
}

static void sk_bytes(struct sink *k, const void *p, size_t n)
{
	if (k->w != NULL)
		wr_bytes(k->w, p, n);
	k->n += n;
}

static void sk_fid(struct sink *k, struct mbx_fid f)
{
	if (k->w != NULL)
		wr_fid(k->w, f);
	k->n += 8;
}

static void sk_guid(struct sink *k, const struct mbx_guid *g)
{
	sk_bytes(k, g->b, sizeof(g->b));
}

/* --- strings -------------------------------------------------------------------------------- */

/* The next code point of the UTF-8 string s at *i (advanced past it); a byte that does not
 * start a well-formed sequence (overlong, surrogate, past U+10FFFF, cut short) is U+FFFD. */
static uint32_t utf8_next(const unsigned char *s, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp, min;
	int n;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0)
		n = 1, cp = c & 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		n = 2, cp = c & 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		goto bad;
	for (int k = 1; k <= n; k++) {
		unsigned char d = s[*i + (size_t)k]; /* the NUL stops a cut sequence */

		if ((d & 0xC0) != 0x80)
			goto bad;
		cp = cp << 6 | (d & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		goto bad;
	*i += (size_t)n + 1;
	return cp;
bad:
	(*i)++;
	return 0xFFFD;
}

/* Writes the UTF-8 string s (NULL: nothing) as PtypString8 or PtypString, without the NUL. */
static void sk_str_part(struct sink *k, const char *s, uint16_t type)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (s == NULL)
		return;
	while (u[i] != '\0') {
		uint32_t cp = utf8_next(u, &i);

		if (type == MBX_PT_STRING8) {
			sk_u8(k, cp < 0x80 ? (uint8_t)cp : (uint8_t)'?');
		} else if (cp > 0xFFFF) {
			cp -= 0x10000;
			sk_u16(k, (uint16_t)(0xD800 | (cp >> 10)));
			sk_u16(k, (uint16_t)(0xDC00 | (cp & 0x3FF)));
		} else {
			sk_u16(k, (uint16_t)cp);
		}
	}
}

/* --- property values ---------------------------------------------------------------------- */

enum pv_kind {
	PV_ERROR,
	PV_U32,
	PV_BOOL,
	PV_FID,
	PV_STR,
	PV_BIN,
	PV_ABEID,
	PV_FOLDER_EID,
};

struct pv {
	enum pv_kind k;
	uint16_t type; /* the wire type: the column's, or the resolved one for PtypUnspecified */
	uint32_t u32;  /* PV_ERROR: the error code; PV_U32, PV_BOOL: the value */
	struct mbx_fid fid;
	const char *pre, *str; /* PV_STR: pre + str */
	const uint8_t *bin;    /* PV_BIN */
	size_t binlen;
	const char *dn;                     /* PV_ABEID */
	const struct mbx_store_obj *folder; /* PV_FOLDER_EID */
};

static void pv_error(struct pv *v, uint32_t ec)
{
	memset(v, 0, sizeof(*v));
	v->k = PV_ERROR;
	v->type = MBX_PT_ERROR;
	v->u32 = ec;
}

/* The property id's value on object o, in its own type; false when o has none. */
static bool prop_native(struct mbx_session *s, const struct mbx_store_obj *o, uint16_t id,
                        struct pv *v)
{
	const struct mbx_store_logon *lg = &o->logon->u.logon;
	const struct mbx_mailbox_store *st = &lg->store;
	bool priv = st->kind == MBX_STORE_PRIVATE;

	memset(v, 0, sizeof(*v));
	if (o->type == MBX_STORE_OBJ_LOGON) {
		switch (id) {
		case MBX_PR_DISPLAY_NAME >> 16:
			v->k = PV_STR, v->type = MBX_PT_UNICODE;
			if (!priv) {
				v->str = "Public Folders";
			} else {
				v->pre = "Mailbox - ";
				v->str = lg->display_name;
				if (v->str == NULL)
					v->str = lg->legacy_dn;
			}
			return true;
		case MBX_PR_MAILBOX_OWNER_NAME >> 16:
			if (!priv || lg->display_name == NULL)
				return false;
			v->k = PV_STR, v->type = MBX_PT_UNICODE, v->str = lg->display_name;
			return true;
		case MBX_PR_MAILBOX_OWNER_ENTRYID >> 16:
			if (!priv || lg->legacy_dn == NULL)
				return false;
			v->k = PV_ABEID, v->type = MBX_PT_BINARY, v->dn = lg->legacy_dn;
			return true;
		case MBX_PR_USER_ENTRYID >> 16:
			if (mbx_session_principal_legacy_dn(s) == NULL)
				return false;
			v->k = PV_ABEID, v->type = MBX_PT_BINARY;
			v->dn = mbx_session_principal_legacy_dn(s);
			return true;
		case MBX_PR_STORE_STATE >> 16:
			if (!priv)
				return false;
			v->k = PV_U32, v->type = MBX_PT_LONG, v->u32 = 0;
			return true;
		case MBX_PR_RECORD_KEY >> 16:
			v->k = PV_BIN, v->type = MBX_PT_BINARY, v->binlen = 16;
			v->bin = priv ? st->mailbox_guid.b : st->repl_guid.b;
			return true;
		default:
			return false;
		}
	}
	/* a folder */
	{
		size_t i = (size_t)o->u.folder.idx;
		const struct mbx_store_folder *f = &st->folders[i];
		uint32_t children = mbx_mailbox_store_child_count(st, i);

		switch (id) {
		case MBX_PR_DISPLAY_NAME >> 16:
			v->k = PV_STR, v->type = MBX_PT_UNICODE, v->str = f->name;
			return true;
		case MBX_PR_CONTAINER_CLASS >> 16:
			if (f->container_class == NULL)
				return false;
			v->k = PV_STR, v->type = MBX_PT_UNICODE, v->str = f->container_class;
			return true;
		case MBX_PR_FOLDER_ID >> 16:
			v->k = PV_FID, v->type = MBX_PT_I8, v->fid = o->u.folder.fid;
			return true;
		case MBX_PR_PARENT_FOLDER_ID >> 16:
			if (f->parent < 0)
				return false;
			v->k = PV_FID, v->type = MBX_PT_I8;
			v->fid = mbx_mailbox_store_fid(st, (size_t)f->parent);
			return true;
		case MBX_PR_CONTENT_COUNT >> 16:
			v->k = PV_U32, v->type = MBX_PT_LONG;
			v->u32 = mbx_mailbox_store_content_count(st, i);
			return true;
		case MBX_PR_CONTENT_UNREAD >> 16:
			v->k = PV_U32, v->type = MBX_PT_LONG;
			v->u32 = mbx_mailbox_store_unread_count(st, i);
			return true;
		case MBX_PR_ASSOC_CONTENT_COUNT >> 16:
			v->k = PV_U32, v->type = MBX_PT_LONG, v->u32 = 0;
			return true;
		case MBX_PR_FOLDER_CHILD_COUNT >> 16:
			v->k = PV_U32, v->type = MBX_PT_LONG, v->u32 = children;
			return true;
		case MBX_PR_SUBFOLDERS >> 16:
			v->k = PV_BOOL, v->type = MBX_PT_BOOLEAN, v->u32 = children > 0;
			return true;
		case MBX_PR_FOLDER_TYPE >> 16:
			v->k = PV_U32, v->type = MBX_PT_LONG, v->u32 = f->folder_type;
			return true;
		case MBX_PR_ENTRYID >> 16:
		case MBX_PR_RECORD_KEY >> 16:
			v->k = PV_FOLDER_EID, v->type = MBX_PT_BINARY, v->folder = o;
			return true;
		default:
			return false;
		}
	}
}

static size_t pv_binary_len(const struct pv *v)
{
	switch (v->k) {
	case PV_BIN:
		return v->binlen;
	case PV_ABEID:
		return AB_EID_HDR + strlen(v->dn) + 1;
	case PV_FOLDER_EID:
		return FOLDER_EID_LEN;
	default:
		return 0;
	}
}

/* The value of tag on o as the row will carry it: type resolved, or an error. */
static void prop_get(struct mbx_session *s, const struct mbx_store_obj *o, uint32_t tag,
                     bool want_unicode, struct pv *v)
{
	uint16_t type = (uint16_t)(tag & 0xFFFF);
	bool is_str;

	if (!prop_native(s, o, (uint16_t)(tag >> 16), v)) {
		pv_error(v, ecNotFound);
		return;
	}
	is_str = v->type == MBX_PT_UNICODE || v->type == MBX_PT_STRING8;
	if (type == MBX_PT_UNSPECIFIED)
		type = is_str ? (want_unicode ? MBX_PT_UNICODE : MBX_PT_STRING8) : v->type;
	else if (!(is_str && (type == MBX_PT_UNICODE || type == MBX_PT_STRING8)) &&
	         type != v->type) {
		pv_error(v, ecNotFound);
		return;
	}
	v->type = type;
	if (v->type == MBX_PT_BINARY && pv_binary_len(v) > 0xFFFF)
		pv_error(v, ecMAPIOOM); /* NotEnoughMemory: a COUNT is 16 bits */
}

static void pv_write(struct sink *k, const struct pv *v)
{
	const struct mbx_store_logon *lg;

	switch (v->k) {
	case PV_ERROR:
	case PV_U32:
		sk_u32(k, v->u32);
		break;
	case PV_BOOL:
		sk_u8(k, v->u32 != 0);
		break;
	case PV_FID:
		sk_fid(k, v->fid);
		break;
	case PV_STR:
		sk_str_part(k, v->pre, v->type);
		sk_str_part(k, v->str, v->type);
		if (v->type == MBX_PT_STRING8)
			sk_u8(k, 0);
		else
			sk_u16(k, 0);
		break;
	case PV_BIN:
		sk_u16(k, (uint16_t)v->binlen);
		sk_bytes(k, v->bin, v->binlen);
		break;
	case PV_ABEID: /* MS-OXCDATA 2.2.5.2 */
		sk_u16(k, (uint16_t)pv_binary_len(v));
		sk_u32(k, 0);
		sk_bytes(k, ab_provider_uid, sizeof(ab_provider_uid));
		sk_u32(k, 1); /* Version */
		sk_u32(k, 0); /* Type: DT_MAILUSER */
		sk_bytes(k, v->dn, strlen(v->dn) + 1);
		break;
	case PV_FOLDER_EID: /* MS-OXCDATA 2.2.4.1 */
		lg = &v->folder->logon->u.logon;
		sk_u16(k, FOLDER_EID_LEN);
		sk_u32(k, 0);
		if (lg->store.kind == MBX_STORE_PRIVATE) {
			sk_guid(k, &lg->store.mailbox_guid);
			sk_u16(k, EID_FOLDER_PRIVATE);
		} else {
			sk_bytes(k, pf_provider_uid, sizeof(pf_provider_uid));
			sk_u16(k, EID_FOLDER_PUBLIC);
		}
		sk_guid(k, &lg->store.repl_guid);
		if (k->w != NULL)
			wr_u48be(k->w, v->folder->u.folder.fid.globcnt);
		k->n += 6;
		sk_u16(k, 0); /* Pad */
		break;
	}
}

/* The property row for the tags of a RopGetPropertiesSpecific request (r at the first tag). */
static void props_row(struct sink *k, struct mbx_session *s, const struct mbx_store_obj *o,
                      const struct rd *tags, uint16_t n, bool want_unicode)
{
	bool flagged = false;
	struct rd r = *tags;
	struct pv v;

	for (uint16_t i = 0; i < n; i++) {
		prop_get(s, o, rd_u32le(&r, "PropertyTag"), want_unicode, &v);
		if (v.k == PV_ERROR)
			flagged = true;
	}
	sk_u8(k, flagged ? 0x01 : 0x00);
	r = *tags;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t tag = rd_u32le(&r, "PropertyTag");

		prop_get(s, o, tag, want_unicode, &v);
		if ((tag & 0xFFFF) == MBX_PT_UNSPECIFIED)
			sk_u16(k, v.type);
		if (flagged)
			sk_u8(k, v.k == PV_ERROR ? 0x0A : 0x00);
		pv_write(k, &v);
	}
}

/* --- request helpers -------------------------------------------------------------------------- */

/* A reader over the request after RopId, LogonId and the handle index byte(s). */
static void req_body(const struct mbx_rop_req *req, size_t skip, struct rd *r)
{
	rd_init(r, req->raw, req->len, req->off);
	rd_skip(r, skip, "ROP header");
}

static void write_fail(struct wr *w, const struct mbx_rop_req *req, uint32_t ec)
{
	mbx_rop_write_failure(w, req->rop_id, (uint8_t)req->resp_idx, ec);
}

static void write_ok(struct wr *w, const struct mbx_rop_req *req)
{
	wr_u8(w, req->rop_id);
	wr_u8(w, (uint8_t)req->resp_idx);
	wr_u32le(w, ecNone);
}

/* The object in the input slot for a ROP that needs a Logon object; NULL after writing the
 * failure response. */
static struct mbx_store_obj *logon_in(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                      const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_store_obj *o = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id);

	if (o == NULL) {
		write_fail(w, req, ecNullObject);
		return NULL;
	}
	if (o->type != MBX_STORE_OBJ_LOGON) {
		write_fail(w, req, ecNotSupported);
		return NULL;
	}
	return o;
}

/* --- RopLogon -------------------------------------------------------------------------------- */

static size_t logon_resp_len(const struct mbx_session_logon_answer *a)
{
	if (a == NULL || !a->done || a->malformed)
		return LOGON_FIXED_RESP;
	switch (a->decision.kind) {
	case MBX_LOGON_RESP_PRIVATE:
		return MBX_LOGON_RESP_PRIVATE_LEN;
	case MBX_LOGON_RESP_PUBLIC:
		return MBX_LOGON_RESP_PUBLIC_LEN;
	case MBX_LOGON_RESP_REDIRECT:
		return 8 + strnlen(a->decision.server, MBX_SERVERNAME_MAX) + 1;
	default:
		return LOGON_FIXED_RESP;
	}
}

static int logon_failure(struct mbx_session_exec *e, struct wr *w, const struct mbx_rop_req *req,
                         uint32_t ec)
{
	write_fail(w, req, ec);
	mbx_session_exec_note_logon(e, ec);
	return 0;
}

static int rop_logon(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                     struct wr *w)
{
	struct mbx_session_exec *e = ctx;
	struct mbx_session *s = mbx_session_exec_session(e);
	const struct mbx_session_logon_answer *a = mbx_session_exec_answer(e, req->off);
	struct mbx_logon_resp resp;
	struct mbx_store_logon lg;
	struct mbx_store_obj *o = NULL;
	size_t mark = wr_mark(w);
	time_t now;

	if (a == NULL || !a->done)
		return logon_failure(e, w, req, ecError); /* the walk missed it: our bug */
	if (a->malformed)
		return logon_failure(e, w, req, ecRpcFormat);
	memset(&resp, 0, sizeof(resp));
	resp.kind = a->decision.kind;
	resp.out_idx = (uint8_t)req->out_idx;
	resp.rv = a->decision.ec;
	resp.logon_flags = a->req.logon_flags;
	memset(&lg, 0, sizeof(lg));
	lg.logon_id = req->logon_id;
	lg.logon_flags = a->req.logon_flags;
	switch (resp.kind) {
	case MBX_LOGON_RESP_FAILURE:
		if (resp.rv == ecNone || resp.rv == ecWrongServer) /* cannot be encoded as such */
			return logon_failure(e, w, req, ecLoginFailure);
		break;
	case MBX_LOGON_RESP_REDIRECT:
		memcpy(resp.server, a->decision.server, sizeof(resp.server));
		break;
	case MBX_LOGON_RESP_PRIVATE:
		if (mbx_mailbox_store_private(a->mbx, &lg.store) != 0) {
			char esc[512];
			const char *dn = a->mbx != NULL ? a->mbx->dn : a->req.essdn;

			mbx_log(MBX_LOG_WARNING,
			        "logon: mailbox %s has no msExchMailboxGuid: answered "
			        "ecLoginFailure",
			        mbx_log_escape(dn, strlen(dn), esc, sizeof(esc)));
			return logon_failure(e, w, req, ecLoginFailure);
		}
		lg.response_flags = a->decision.response_flags;
		lg.owner = a->decision.owner;
		if (a->mbx->legacy_dn != NULL)
			lg.legacy_dn = strdup(a->mbx->legacy_dn);
		if (a->mbx->display_name != NULL)
			lg.display_name = strdup(a->mbx->display_name);
		if ((a->mbx->legacy_dn != NULL && lg.legacy_dn == NULL) ||
		    (a->mbx->display_name != NULL && lg.display_name == NULL)) {
			free(lg.legacy_dn);
			free(lg.display_name);
			return logon_failure(e, w, req, ecMAPIOOM);
		}
		memcpy(resp.fids, lg.store.fids, sizeof(resp.fids));
		resp.response_flags = lg.response_flags;
		resp.mailbox_guid = lg.store.mailbox_guid;
		resp.replid = lg.store.replid;
		resp.repl_guid = lg.store.repl_guid;
		now = mbx_session_now(s);
		mbx_logon_time_from_unix(now, &resp.logon_time);
		resp.gwart_time = mbx_filetime_from_unix(now, 0);
		resp.store_state = 0;
		break;
	case MBX_LOGON_RESP_PUBLIC:
		mbx_mailbox_store_public(mbx_session_identity(s), &lg.store);
		memcpy(resp.fids, lg.store.fids, sizeof(resp.fids));
		resp.replid = lg.store.replid;
		resp.repl_guid = lg.store.repl_guid;
		break;
	}
	if (resp.kind == MBX_LOGON_RESP_PRIVATE || resp.kind == MBX_LOGON_RESP_PUBLIC) {
		o = mbx_session_logon_new(s, &lg); /* takes lg's strings, also on failure */
		if (o == NULL)
			return logon_failure(e, w, req, ecMAPIOOM);
	}
	if (mbx_roplogon_resp_encode(w, &resp) != 0) {
		/* a decision we cannot encode (a LogonTime out of range, a bad server name) */
		wr_rollback(w, mark);
		mbx_session_obj_release(s, o);
		return logon_failure(e, w, req, ecLoginFailure);
	}
	if (o != NULL)
		ex->handles[req->out_idx] = o->handle;
	mbx_session_exec_note_logon(e, resp.rv);
	return 0;
}

/* --- RopRelease ------------------------------------------------------------------------------ */

static int rop_release(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                       struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);

	(void)w;
	/* An empty slot or a stale handle: nothing to do, and no response to say so. */
	mbx_session_obj_release(s, mbx_session_obj_at(s, ex, req->in_idx, req->logon_id));
	return 0;
}

/* --- MS-OXCSTOR ---------------------------------------------------------------------------- */

static int rop_get_receive_folder(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                                  struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	const char *cls, *explicit_cls = NULL;
	const struct mbx_mailbox_store *st;
	size_t len;
	int idx;
	struct rd r;

	if (o == NULL)
		return 0;
	st = &o->u.logon.store;
	if (st->kind != MBX_STORE_PRIVATE) { /* 2.2.1.2.1: only on a private mailbox logon */
		write_fail(w, req, ecNotSupported);
		return 0;
	}
	req_body(req, 3, &r);
	cls = rd_str8z(&r, rd_left(&r), &len, "MessageClass");
	if (cls == NULL || !rd_ok(&r)) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (!mbx_mailbox_store_class_valid(cls)) {
		write_fail(w, req, ecInvalidParameter);
		return 0;
	}
	idx = mbx_mailbox_store_receive_folder(st, cls, &explicit_cls);
	write_ok(w, req);
	wr_fid(w, mbx_mailbox_store_fid(st, (size_t)idx));
	wr_str8z(w, explicit_cls);
	return 0;
}

static int rop_get_store_state(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                               struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);

	if (o == NULL)
		return 0;
	if (o->u.logon.store.kind != MBX_STORE_PRIVATE) {
		write_fail(w, req, ecNotSupported); /* 3.2.5.5 */
		return 0;
	}
	write_ok(w, req);
	wr_u32le(w, 0); /* no persisted search folders: STORE_HAS_SEARCHES clear */
	return 0;
}

static const char *owning_server(struct mbx_session *s)
{
	const struct mbx_server_identity *id = mbx_session_identity(s);

	return id != NULL && id->legacy_dn != NULL ? id->legacy_dn : "";
}

/* 3.2.5.6: a private store may fail; we do, with ecNotSupported. A public folder of ours is
 * held by this server alone, which is also the cheapest. */
static int rop_get_owning_servers(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                                  struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	struct mbx_fid fid;
	struct rd r;

	if (o == NULL)
		return 0;
	if (o->u.logon.store.kind != MBX_STORE_PUBLIC) {
		write_fail(w, req, ecNotSupported);
		return 0;
	}
	req_body(req, 3, &r);
	rd_fid(&r, &fid, "FolderId");
	if (!rd_ok(&r)) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (mbx_mailbox_store_folder(&o->u.logon.store, fid) < 0) {
		write_fail(w, req, ecNotFound);
		return 0;
	}
	write_ok(w, req);
	wr_u16le(w, 1); /* OwningServersCount */
	wr_u16le(w, 1); /* CheapServersCount */
	wr_str8z(w, owning_server(s));
	return 0;
}

/* The REPLGUID of replid on logon lg, or NULL. */
static const struct mbx_guid *replid_guid(const struct mbx_store_logon *lg, uint16_t replid)
{
	if (replid == lg->store.replid)
		return &lg->store.repl_guid;
	if (replid >= 2 && (size_t)(replid - 2) < lg->nextra)
		return &lg->extra_replguids[replid - 2];
	return NULL;
}

static int rop_long_term_id_from_id(void *ctx, struct mbx_rop_exec *ex,
                                    const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	const struct mbx_guid *g;
	struct mbx_fid id;
	struct rd r;

	if (o == NULL)
		return 0;
	req_body(req, 3, &r);
	rd_fid(&r, &id, "ObjectId");
	if (!rd_ok(&r)) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	g = replid_guid(&o->u.logon, id.replid);
	if (g == NULL) { /* 3.2.5.8; REPLID 0 is never mapped */
		write_fail(w, req, ecNotFound);
		return 0;
	}
	write_ok(w, req);
	wr_guid(w, g);
	wr_u48be(w, id.globcnt);
	wr_u16le(w, 0);
	return 0;
}

static int rop_id_from_long_term_id(void *ctx, struct mbx_rop_exec *ex,
                                    const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	struct mbx_store_logon *lg;
	struct mbx_guid g;
	uint64_t globcnt;
	uint16_t replid = 0;
	struct rd r;

	if (o == NULL)
		return 0;
	lg = &o->u.logon;
	req_body(req, 3, &r);
	rd_guid(&r, &g, "DatabaseGuid");
	globcnt = rd_u48be(&r, "GlobalCounter");
	rd_skip(&r, 2, "Pad"); /* ignored (3.2.5.9) */
	if (!rd_ok(&r)) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (mbx_guid_is_null(&g)) { /* SHOULD ecInvalidParam */
		write_fail(w, req, ecInvalidParameter);
		return 0;
	}
	if (globcnt == 0) { /* MUST answer 0 in ReturnValue: with ObjectId 0 */
		write_ok(w, req);
		wr_zero(w, 8);
		return 0;
	}
	if (mbx_guid_equal(&g, &lg->store.repl_guid)) {
		replid = lg->store.replid;
	} else {
		for (size_t i = 0; i < lg->nextra; i++)
			if (mbx_guid_equal(&g, &lg->extra_replguids[i]))
				replid = (uint16_t)(2 + i);
	}
	if (replid == 0) { /* a new mapping */
		struct mbx_guid *p;

		if (lg->nextra >= MBX_STORE_MAX_REPLIDS - 1) {
			write_fail(w, req, MBX_EC_PARAMETER_OVERFLOW);
			return 0;
		}
		p = realloc(lg->extra_replguids, (lg->nextra + 1) * sizeof(*p));
		if (p == NULL) {
			write_fail(w, req, ecMAPIOOM);
			return 0;
		}
		lg->extra_replguids = p;
		p[lg->nextra] = g;
		replid = (uint16_t)(2 + lg->nextra);
		lg->nextra++;
	}
	write_ok(w, req);
	wr_fid(w, mbx_fid_make(replid, globcnt));
	return 0;
}

/* --- MS-OXCFOLD ------------------------------------------------------------------------------ */

static int rop_open_folder(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                           struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *in = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id), *o;
	struct mbx_fid fid;
	struct rd r;
	int idx;

	if (in == NULL) {
		write_fail(w, req, ecNullObject);
		return 0;
	}
	req_body(req, 4, &r);
	rd_fid(&r, &fid, "FolderId");
	(void)rd_u8(&r, "OpenModeFlags"); /* read-only is all there is; soft-deleted: none */
	if (!rd_ok(&r)) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	idx = mbx_mailbox_store_folder(&in->logon->u.logon.store, fid);
	if (idx < 0) {
		write_fail(w, req, ecNotFound);
		return 0;
	}
	o = mbx_session_folder_new(s, in->logon, idx, fid);
	if (o == NULL) {
		write_fail(w, req, ecMAPIOOM);
		return 0;
	}
	ex->handles[req->out_idx] = o->handle;
	write_ok(w, req);
	wr_u8(w, 0); /* HasRules */
	wr_u8(w, 0); /* IsGhosted: every folder of ours is here */
	return 0;
}

/* --- MS-OXCPRPT ---------------------------------------------------------------------------- */

/* The tags of a RopGetPropertiesSpecific request: r at the first tag. Returns -1 if it does not
 * decode. */
static int props_req(const struct mbx_rop_req *req, struct rd *r, uint16_t *n_r, bool *unicode_r)
{
	req_body(req, 3, r);
	(void)rd_u16le(r, "PropertySizeLimit"); /* ignored: SHOULD (MS-OXCPRPT 3.2.5.1) */
	*unicode_r = rd_u16le(r, "WantUnicode") != 0;
	*n_r = rd_u16le(r, "PropertyTagCount");
	if (!rd_ok(r) || rd_left(r) / 4 < *n_r)
		return -1;
	return 0;
}

static int rop_get_props_specific(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                                  struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id);
	struct sink k = {NULL, 0};
	bool unicode;
	uint16_t n;
	struct rd r;

	if (o == NULL) {
		write_fail(w, req, ecNullObject);
		return 0;
	}
	if (props_req(req, &r, &n, &unicode) != 0) {
		write_fail(w, req, ecRpcFormat);
		return 0;
	}
	props_row(&k, s, o, &r, n, unicode);
	if (LOGON_FIXED_RESP + k.n > wr_room(w)) {
		/* only when the session could not narrow the bound: the row does not fit */
		write_fail(w, req, ecMAPIOOM);
		return 0;
	}
	write_ok(w, req);
	k.w = w;
	k.n = 0;
	props_row(&k, s, o, &r, n, unicode);
	return 0;
}

/* --- the table ------------------------------------------------------------------------------ */

/* Static bounds: what any request can need, except where noted. */
#define RESP_RECEIVE_FOLDER (LOGON_FIXED_RESP + 8 + 255)
#define RESP_STORE_STATE (LOGON_FIXED_RESP + 4)
#define RESP_OWNING_SERVERS (LOGON_FIXED_RESP + 4 + 256) /* narrowed per session */
#define RESP_LONG_TERM_ID (LOGON_FIXED_RESP + 24)
#define RESP_ID (LOGON_FIXED_RESP + 8)
#define RESP_OPEN_FOLDER (LOGON_FIXED_RESP + 2)
#define RESP_PROPS 4096 /* narrowed per request */

static const struct mbx_rop_handler handlers[256] = {
        [MBX_ROP_Logon] = {rop_logon, MBX_LOGON_RESP_MAX},
        [MBX_ROP_Release] = {rop_release, 0},
        [MBX_ROP_GetReceiveFolder] = {rop_get_receive_folder, RESP_RECEIVE_FOLDER},
        [MBX_ROP_GetStoreState] = {rop_get_store_state, RESP_STORE_STATE},
        [MBX_ROP_GetOwningServers] = {rop_get_owning_servers, RESP_OWNING_SERVERS},
        [MBX_ROP_LongTermIdFromId] = {rop_long_term_id_from_id, RESP_LONG_TERM_ID},
        [MBX_ROP_IdFromLongTermId] = {rop_id_from_long_term_id, RESP_ID},
        [MBX_ROP_OpenFolder] = {rop_open_folder, RESP_OPEN_FOLDER},
        [MBX_ROP_GetPropertiesSpecific] = {rop_get_props_specific, RESP_PROPS},
};

const struct mbx_rop_handler *mbx_store_rops_handler(uint8_t rop_id)
{
	return handlers[rop_id].fn != NULL ? &handlers[rop_id] : NULL;
}

size_t mbx_store_rops_resp_max(struct mbx_session_exec *e, const struct mbx_rop_exec *ex,
                               const struct mbx_rop_req *req)
{
	struct mbx_session *s = mbx_session_exec_session(e);

	switch (req->rop_id) {
	case MBX_ROP_Logon:
		return logon_resp_len(mbx_session_exec_answer(e, req->off));
	case MBX_ROP_GetOwningServers:
		return LOGON_FIXED_RESP + 4 + strlen(owning_server(s)) + 1;
	case MBX_ROP_GetPropertiesSpecific: {
		struct mbx_store_obj *o = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id);
		struct sink k = {NULL, 0};
		bool unicode;
		uint16_t n;
		struct rd r;

		if (o == NULL || props_req(req, &r, &n, &unicode) != 0)
			return LOGON_FIXED_RESP;
		props_row(&k, s, o, &r, n, unicode);
		return LOGON_FIXED_RESP + k.n;
	}
	default: {
		const struct mbx_rop_handler *h = mbx_store_rops_handler(req->rop_id);

		return h != NULL ? h->resp_max : 0;
	}
	}
}
