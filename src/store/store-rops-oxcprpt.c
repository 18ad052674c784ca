/*
 * store-rops-oxcprpt.c: the property ROPs of MS-OXCPRPT, for the handler table of store-rops.c:
 *
 *   RopGetPropertiesSpecific 0x07  MS-OXCROPS 2.2.8.3, MS-OXCPRPT 3.2.5.1, MS-OXCDATA 2.8.1
 *
 * Properties: the row is a StandardPropertyRow when every value is there, else a
 * FlaggedPropertyRow whose missing values carry flag 0x0A and ecNotFound (MS-OXCDATA 2.8.1.1,
 * 2.8.1.2, 2.11.5); columns of type PtypUnspecified carry their type (TypedPropertyValue,
 * FlaggedPropertyValueWithType), strings as PtypString when WantUnicode is set and PtypString8
 * otherwise; a string property asked for as PtypString8 or PtypString comes in that type; any
 * other type that is not the property's own is ecNotFound. Non-ASCII characters become '?' in
 * PtypString8 (the store has no code page of the logon to map them to). PropertySizeLimit is
 * ignored (MS-OXCPRPT 3.2.5.1: SHOULD). The response size is worked out before the handler
 * runs (store_rops_oxcprpt_resp_max, for mbx_store_rops_resp_max), by the same code that
 * writes it.
 */
#include "store/store-rops-int.h"

#include <string.h>

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

/* --- MS-OXCPRPT ---------------------------------------------------------------------------- */

/* The tags of a RopGetPropertiesSpecific request: r at the first tag. Returns -1 if it does not
 * decode. */
static int props_req(const struct mbx_rop_req *req, struct rd *r, uint16_t *n_r, bool *unicode_r)
{
	store_rops_req_body(req, 3, r);
	(void)rd_u16le(r, "PropertySizeLimit"); /* ignored: SHOULD (MS-OXCPRPT 3.2.5.1) */
	*unicode_r = rd_u16le(r, "WantUnicode") != 0;
	*n_r = rd_u16le(r, "PropertyTagCount");
	if (!rd_ok(r) || rd_left(r) / 4 < *n_r)
		return -1;
	return 0;
}

int store_rops_oxcprpt_get_props_specific(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id);
	struct sink k = {NULL, 0};
	bool unicode;
	uint16_t n;
	struct rd r;

	if (o == NULL) {
		store_rops_write_fail(w, req, ecNullObject);
		return 0;
	}
	if (props_req(req, &r, &n, &unicode) != 0) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	props_row(&k, s, o, &r, n, unicode);
	if (LOGON_FIXED_RESP + k.n > wr_room(w)) {
		/* only when the session could not narrow the bound: the row does not fit */
		store_rops_write_fail(w, req, ecMAPIOOM);
		return 0;
	}
	store_rops_write_ok(w, req);
	k.w = w;
	k.n = 0;
	props_row(&k, s, o, &r, n, unicode);
	return 0;
}

size_t store_rops_oxcprpt_resp_max(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                   const struct mbx_rop_req *req)
{
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
