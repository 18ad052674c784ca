/*
 * rop-size.c: the request and response layouts of the ROPs of MS-OXCROPS 2.2.3 to 2.2.15, to
 * walk a RopsList one ROP at a time (mbx_rop_req_parse, mbx_rop_resp_parse), with walkers for
 * the nested structures of MS-OXCDATA: restrictions (2.12), property values in ROP buffers
 * (2.11.1-2.11.4: 16-bit PtypBinary byte counts, 32-bit PtypMultiple value counts), property
 * names (2.6.1), property rows (2.8.1), recipient rows (2.8.3) and typed strings (2.11.3).
 *
 * Layouts were taken from MS-OXCROPS and cross-checked (facts only) against gromox's
 * rop_ext.cpp and Microsoft's MAPI Inspector parsers. Disagreements, resolved for the spec:
 * gromox answers a failed RopReadStream, RopWriteStream(Extended), RopWriteAndCommitStream and
 * RopSetReadFlags with 6 bytes and a failed RopFastTransferSourceGetBuffer with its whole
 * body, where MS-OXCROPS gives the first ones a single response buffer (DataSize,
 * WrittenSize, PartialCompletion present whatever the ReturnValue) and the last one a 6-byte
 * failure (BackoffTime only for ecServerBusy); MAPI Inspector reads RopRegisterNotification's
 * Reserved byte only for NotificationTypes 0x80, gromox always (so do we). PtypMultiple value
 * counts are 32-bit (current MS-OXCDATA 2.11.1; an older revision said 16).
 *
 * One table entry per ROP gives how its handle indexes are laid out and its request and
 * response bodies in a small walk language (below); the few layouts with conditional fields
 * have a function.
 *
 * Not walked: PtypObject (0x000D) and PtypRuleAction (0x00FE) property values (their request
 * fails as "layout not known"), RopNotify responses and the success responses whose layout
 * depends on the request's columns (RopGetPropertiesSpecific, RopQueryRows, RopFindRow,
 * RopExpandRow). Recipient rows inside RopOpenMessage/RopReadRecipients responses are skipped
 * by their size, not walked.
 */
#include "mbx/ropbuf.h"

#include <stdio.h>
#include <string.h>

#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"

/*
 * The walk language, one character per field:
 *   b u8   w u16   d u32   q u64   g 16 bytes (GUID)   L 24 bytes (LongTermId)   6 six bytes
 *   s NUL-terminated 8-bit string
 *   B u16 byte count + bytes          D u32 byte count + bytes
 *   T u16 count + 4-byte entries (property tags, attachment ids)
 *   I u16 count + u16 property ids    M u16 count + u64 ids    K u16 count + LongTermIds
 *   P u16 count + 10-byte PropertyProblems
 *   V u16 count + TaggedPropertyValues
 *   N u16 count + PropertyNames       U u16 count + u16 ids, then as many PropertyNames
 *   R u16 RestrictionDataSize + a restriction filling it exactly (0: none)
 *   Y TypedString
 *   O u8 count + OpenRecipientRows    Q u8 count + ReadRecipientRows
 *   G u8 IsGhosted, then if non-zero: Z
 *   Z u16 ServerCount, u16 CheapServerCount, ServerCount strings
 *   E u8 IsExistingFolder, then if non-zero: b G
 *   H u8 HasMessageId, then if non-zero: q
 *   F u8 ReadStatusChanged, then if non-zero: b L
 *   X u8 NoPropertiesReturned, then if zero: V
 *   W u32 RowCount + property rows of RopGetReceiveFolderTable's three columns
 *   h u16 HelpFileSize + bytes, then if non-zero: s
 */

enum rop_hk {
	HK_NONE,    /* no request: reserved id or response-only ROP */
	HK_IN,      /* RopId, LogonId, InputHandleIndex */
	HK_IN_OUT,  /* ..., InputHandleIndex, OutputHandleIndex; the response echoes the output */
	HK_LOGON,   /* RopId, LogonId, OutputHandleIndex */
	HK_RESP_IN, /* ..., ResponseHandleIndex, InputHandleIndex */
	HK_SRC_DST, /* ..., SourceHandleIndex, DestHandleIndex; the response echoes the source */
};

enum rop_rk {
	RK_UNKNOWN, /* no response layout (reserved ids, RopNotify) */
	RK_STD,     /* success: header + resp; failure: 6 bytes */
	RK_ALWAYS,  /* one response buffer: header + resp whatever the ReturnValue */
	RK_CTX,     /* success layout depends on the request; failure: 6 bytes */
	RK_NONE,    /* no response at all (RopRelease) */
	RK_SPECIAL, /* RopLogon, RopBackoff, RopPending, RopBufferTooSmall: in code */
};

struct walk {
	unsigned depth;
	bool unknown; /* set when a part has no known layout */
	const uint8_t *public_logons;
	uint8_t logon_id;
};

typedef void walk_fn(struct walk *k, struct rd *r);

struct rop_layout {
	uint8_t hk;
	uint8_t rk;
	const char *req;      /* request body after the handle indexes */
	walk_fn *req_fn;      /* instead of req */
	const char *resp;     /* response body after RopId, index, ReturnValue */
	uint32_t alt_rv;      /* a ReturnValue with its own body... */
	const char *alt_resp; /* ...this one */
};

static void walk_fmt(struct walk *k, struct rd *r, const char *fmt);
static void walk_restriction(struct walk *k, struct rd *r, unsigned depth);
static void walk_value(struct walk *k, struct rd *r, uint16_t type, unsigned depth);

/* --- small fields -------------------------------------------------------------------------- */

/* Skips count entries of size bytes each after checking they fit. */
static void skip_array(struct rd *r, uint64_t count, size_t size, const char *what)
{
	uint64_t n = count * size;

	if (!rd_ok(r))
		return;
	if (rd_left(r) < n) {
		rd_fail(r, "%s: %llu entries of %zu bytes need %llu bytes, %zu left", what,
		        (unsigned long long)count, size, (unsigned long long)n, rd_left(r));
		return;
	}
	rd_skip(r, (size_t)n, what);
}

static void walk_str8(struct rd *r, const char *what)
{
	if (!rd_ok(r))
		return;
	if (rd_left(r) == 0) {
		rd_fail(r, "%s: no NUL before the end of the buffer (0 bytes left)", what);
		return;
	}
	(void)rd_str8z(r, rd_left(r), NULL, what);
}

/* A NUL-terminated UTF-16LE string: ends at the first 16-bit zero unit. */
static void walk_str16(struct rd *r, const char *what)
{
	size_t left = rd_left(r);
	const uint8_t *p;

	if (!rd_ok(r))
		return;
	if (left < 2) { /* (and r->buf may be NULL) */
		rd_fail(r, "%s: no 16-bit NUL before the end of the buffer (%zu bytes left)", what,
		        left);
		return;
	}
	p = r->buf + r->off;
	for (size_t i = 0; left - i >= 2; i += 2) {
		if (p[i] == 0 && p[i + 1] == 0) {
			rd_skip(r, i + 2, what);
			return;
		}
	}
	rd_fail(r, "%s: no 16-bit NUL before the end of the buffer (%zu bytes left)", what, left);
}

static void walk_str(struct rd *r, bool unicode, const char *what)
{
	if (unicode)
		walk_str16(r, what);
	else
		walk_str8(r, what);
}

/* u16 or u32 byte count followed by that many bytes. */
static void walk_counted(struct rd *r, bool wide, const char *what)
{
	uint32_t n = wide ? rd_u32le(r, what) : rd_u16le(r, what);

	skip_array(r, n, 1, what);
}

/* --- property values (MS-OXCDATA 2.11) -------------------------------------------------------- */

#define PT_MV 0x1000
#define PT_MVI 0x2000

/* clang-format off */
static size_t fixed_size(uint16_t type)
{
	switch (type) {
	case 0x0001: return 0;  /* PtypNull */
	case 0x0002: return 2;  /* PtypInteger16 */
	case 0x0003: return 4;  /* PtypInteger32 */
	case 0x0004: return 4;  /* PtypFloating32 */
	case 0x0005: return 8;  /* PtypFloating64 */
	case 0x0006: return 8;  /* PtypCurrency */
	case 0x0007: return 8;  /* PtypFloatingTime */
	case 0x000A: return 4;  /* PtypErrorCode */
	case 0x000B: return 1;  /* PtypBoolean: one byte in ROP buffers */
	case 0x0014: return 8;  /* PtypInteger64 */
	case 0x0040: return 8;  /* PtypTime */
	case 0x0048: return 16; /* PtypGuid */
	default: return (size_t)-1;
	}
}
/* clang-format on */

static void walk_value(struct walk *k, struct rd *r, uint16_t type, unsigned depth)
{
	size_t fs;

	if (!rd_ok(r))
		return;
	fs = fixed_size(type);
	if (fs != (size_t)-1) {
		rd_skip(r, fs, "property value");
		return;
	}
	switch (type) {
	case 0x001E: /* PtypString8 */
		walk_str8(r, "PtypString8 value");
		return;
	case 0x001F: /* PtypString */
		walk_str16(r, "PtypString value");
		return;
	case 0x00FB: /* PtypServerId */
	case 0x0102: /* PtypBinary */
		walk_counted(r, false, "PtypBinary value");
		return;
	case 0x00FD: /* PtypRestriction */
		walk_restriction(k, r, depth + 1);
		return;
	case 0x000D: /* PtypObject */
	case 0x00FE: /* PtypRuleAction */
		k->unknown = true;
		rd_fail(r, "property type 0x%04X: value layout not known", type);
		return;
	default:
		break;
	}
	if ((type & PT_MV) && !(type & PT_MVI)) {
		uint16_t base = type & (uint16_t)~PT_MV;
		uint32_t count;

		fs = fixed_size(base);
		if (fs != (size_t)-1 && fs != 0 && base != 0x000A && base != 0x000B) {
			count = rd_u32le(r, "multi-value count");
			skip_array(r, count, fs, "multi-value property");
			return;
		}
		if (base == 0x001E || base == 0x001F || base == 0x0102) {
			/* each element needs at least 1 (PtypString8), 2 (PtypString, PtypBinary)
			 * bytes: check the count against what is left before looping */
			size_t minsz = base == 0x001E ? 1 : 2;

			count = rd_u32le(r, "multi-value count");
			if (rd_ok(r) && count > rd_left(r) / minsz) {
				rd_fail(r, "multi-value count %u exceeds the %zu bytes left", count,
				        rd_left(r));
				return;
			}
			for (uint32_t i = 0; i < count && rd_ok(r); i++)
				walk_value(k, r, base, depth);
			return;
		}
	}
	rd_fail(r, "property type 0x%04X is not a type of MS-OXCDATA 2.11.1", type);
}

/* TaggedPropertyValue (MS-OXCDATA 2.11.4). */
static void walk_tagged(struct walk *k, struct rd *r, unsigned depth)
{
	uint32_t tag = rd_u32le(r, "PropertyTag");

	if (!rd_ok(r))
		return;
	if ((tag & 0xFFFF) == 0x0000) {
		rd_fail(r, "PropertyTag 0x%08X: PtypUnspecified has no value layout", tag);
		return;
	}
	walk_value(k, r, (uint16_t)(tag & 0xFFFF), depth);
}

static void walk_tagged_array(struct walk *k, struct rd *r, uint32_t count, unsigned depth)
{
	/* a TaggedPropertyValue takes at least 4 bytes */
	if (rd_ok(r) && count > rd_left(r) / 4) {
		rd_fail(r, "%u property values cannot fit in %zu bytes", count, rd_left(r));
		return;
	}
	for (uint32_t i = 0; i < count && rd_ok(r); i++)
		walk_tagged(k, r, depth);
}

/* TypedPropertyValue (MS-OXCDATA 2.11.3): u16 type, value. */
static void walk_typed(struct walk *k, struct rd *r, unsigned depth)
{
	uint16_t type = rd_u16le(r, "PropertyType");

	if (!rd_ok(r))
		return;
	if (type == 0x0000) {
		rd_fail(r, "TypedPropertyValue of PtypUnspecified");
		return;
	}
	walk_value(k, r, type, depth);
}

/* --- restrictions (MS-OXCDATA 2.12; ROP buffers: 16-bit RestrictCount) ------------------------ */

static void walk_restriction(struct walk *k, struct rd *r, unsigned depth)
{
	uint8_t type;

	if (!rd_ok(r))
		return;
	if (depth >= MBX_ROP_MAX_DEPTH) {
		rd_fail(r, "restriction nested deeper than %d levels", MBX_ROP_MAX_DEPTH);
		return;
	}
	type = rd_u8(r, "RestrictType");
	if (!rd_ok(r))
		return;
	switch (type) {
	case 0x00:   /* AndRestriction */
	case 0x01: { /* OrRestriction */
		uint16_t count = rd_u16le(r, "RestrictCount");

		/* the smallest restriction (an empty And/Or) takes 3 bytes */
		if (rd_ok(r) && count > rd_left(r) / 3) {
			rd_fail(r, "RestrictCount %u cannot fit in %zu bytes", count, rd_left(r));
			return;
		}
		for (unsigned i = 0; i < count && rd_ok(r); i++)
			walk_restriction(k, r, depth + 1);
		return;
	}
	case 0x02: /* NotRestriction */
		walk_restriction(k, r, depth + 1);
		return;
	case 0x03: /* ContentRestriction: FuzzyLevelLow, FuzzyLevelHigh, PropertyTag, value */
		rd_skip(r, 8, "ContentRestriction");
		walk_tagged(k, r, depth + 1);
		return;
	case 0x04: /* PropertyRestriction: RelOp, PropTag, value */
		rd_skip(r, 5, "PropertyRestriction");
		walk_tagged(k, r, depth + 1);
		return;
	case 0x05: /* ComparePropertiesRestriction: RelOp, PropTag1, PropTag2 */
	case 0x06: /* BitMaskRestriction: BitmapRelOp, PropTag, Mask */
	case 0x07: /* SizeRestriction: RelOp, PropTag, Size */
		rd_skip(r, 9, "restriction");
		return;
	case 0x08: /* ExistRestriction: PropTag */
		rd_skip(r, 4, "ExistRestriction");
		return;
	case 0x09: /* SubObjectRestriction: Subobject, Restriction */
		rd_skip(r, 4, "SubObjectRestriction");
		walk_restriction(k, r, depth + 1);
		return;
	case 0x0A: { /* CommentRestriction */
		uint8_t count = rd_u8(r, "TaggedValuesCount");

		walk_tagged_array(k, r, count, depth + 1);
		if (rd_u8(r, "RestrictionPresent") != 0)
			walk_restriction(k, r, depth + 1);
		return;
	}
	case 0x0B: /* CountRestriction: Count, SubRestriction */
		rd_skip(r, 4, "CountRestriction");
		walk_restriction(k, r, depth + 1);
		return;
	default:
		rd_fail_at(r, rd_pos(r) - 1, "RestrictType 0x%02X is not defined", type);
		return;
	}
}

/* RestrictionDataSize (u16) and a restriction filling it exactly; 0 means none. */
static void walk_sized_restriction(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "RestrictionDataSize");
	struct rd sub;

	if (!rd_ok(r) || size == 0)
		return;
	rd_sub(r, size, &sub, "RestrictionData");
	walk_restriction(k, &sub, 0);
	if (rd_ok(&sub) && rd_left(&sub) != 0)
		rd_fail(&sub, "RestrictionData: %zu of its %u bytes are left over", rd_left(&sub),
		        size);
	rd_take_error(r, &sub);
}

/* --- names, rows ------------------------------------------------------------------------------ */

/* PropertyName (MS-OXCDATA 2.6.1): Kind, GUID, then LID (Kind 0) or NameSize + Name (Kind 1). */
static void walk_propname(struct rd *r)
{
	uint8_t kind = rd_u8(r, "PropertyName Kind");

	rd_skip(r, 16, "PropertyName GUID");
	if (!rd_ok(r))
		return;
	switch (kind) {
	case 0x00:
		rd_skip(r, 4, "PropertyName LID");
		break;
	case 0x01: {
		uint8_t n = rd_u8(r, "PropertyName NameSize");

		rd_skip(r, n, "PropertyName Name");
		break;
	}
	case 0xFF:
		break;
	default:
		rd_fail(r, "PropertyName Kind 0x%02X is not defined", kind);
		break;
	}
}

static void walk_propnames(struct rd *r, uint32_t count)
{
	if (rd_ok(r) && count > rd_left(r) / 17) {
		rd_fail(r, "%u property names cannot fit in %zu bytes", count, rd_left(r));
		return;
	}
	for (uint32_t i = 0; i < count && rd_ok(r); i++)
		walk_propname(r);
}

/* PropertyRow (MS-OXCDATA 2.8.1) for the columns tags[0..n). */
static void walk_proprow(struct walk *k, struct rd *r, const uint8_t *tags, unsigned n)
{
	uint8_t flag = rd_u8(r, "PropertyRow Flag");

	if (!rd_ok(r))
		return;
	if (flag > 1) {
		rd_fail_at(r, rd_pos(r) - 1, "PropertyRow Flag 0x%02X is neither 0 nor 1", flag);
		return;
	}
	for (unsigned i = 0; i < n && rd_ok(r); i++) {
		uint16_t type = (uint16_t)(mbx_le32(tags + 4 * i) & 0xFFFF);

		if (type & PT_MVI) /* a multi-value instance column holds one value */
			type &= (uint16_t) ~(PT_MV | PT_MVI);
		if (flag == 0) {
			if (type == 0x0000)
				walk_typed(k, r, 0);
			else
				walk_value(k, r, type, 0);
			continue;
		}
		/* FlaggedPropertyValue(WithType) */
		if (type == 0x0000) {
			type = rd_u16le(r, "PropertyType");
			if (rd_ok(r) && type == 0x0000) {
				rd_fail(r, "FlaggedPropertyValueWithType of PtypUnspecified");
				return;
			}
		}
		switch (rd_u8(r, "FlaggedPropertyValue Flag")) {
		case 0x00:
			walk_value(k, r, type, 0);
			break;
		case 0x01:
			break;
		case 0x0A:
			rd_skip(r, 4, "PtypErrorCode value");
			break;
		default:
			if (rd_ok(r))
				rd_fail_at(r, rd_pos(r) - 1,
				           "FlaggedPropertyValue Flag is not 0x00, 0x01 or 0x0A");
			break;
		}
	}
}

/* RecipientRow (MS-OXCDATA 2.8.3.2) with the RecipientFlags bits of 2.8.3.1, numbered from the
 * most significant bit of each byte: byte 0 = R S T D E Type(3), byte 1 = O Reserved(4) I U N. */
#define RF_TYPE_MASK 0x0007
#define RF_E 0x0008
#define RF_D 0x0010
#define RF_T 0x0020
#define RF_O 0x8000
#define RF_I 0x0400
#define RF_U 0x0200

static void walk_recipient_row(struct walk *k, struct rd *r, const uint8_t *cols, unsigned ncols)
{
	uint16_t flags = rd_u16le(r, "RecipientFlags");
	unsigned type = flags & RF_TYPE_MASK;
	bool u = (flags & RF_U) != 0;
	uint16_t colcount;

	if (!rd_ok(r))
		return;
	if (type == 1) { /* X500DN */
		rd_skip(r, 2, "AddressPrefixUsed, DisplayType");
		walk_str8(r, "X500DN");
	} else if (type == 6 || type == 7) { /* PersonalDistributionList1/2 */
		walk_counted(r, false, "EntryId");
		walk_counted(r, false, "SearchKey");
	} else if (type == 0 && (flags & RF_O)) {
		walk_str8(r, "AddressType");
	}
	if (flags & RF_E)
		walk_str(r, u, "EmailAddress");
	if (flags & RF_D)
		walk_str(r, u, "DisplayName");
	if (flags & RF_I)
		walk_str(r, u, "SimpleDisplayName");
	if (flags & RF_T)
		walk_str(r, u, "TransmittableDisplayName");
	colcount = rd_u16le(r, "RecipientColumnCount");
	if (!rd_ok(r))
		return;
	if (colcount > ncols) {
		rd_fail_at(r, rd_pos(r) - 2, "RecipientColumnCount %u exceeds the %u columns",
		           colcount, ncols);
		return;
	}
	walk_proprow(k, r, cols, colcount);
}

/* TypedString (MS-OXCDATA 2.11.3.1 in OpenMessage responses): StringType, then the string. */
static void walk_typed_string(struct rd *r)
{
	uint8_t t = rd_u8(r, "StringType");

	if (!rd_ok(r))
		return;
	switch (t) {
	case 0x00: /* no string */
	case 0x01: /* empty */
		break;
	case 0x02: /* 8-bit */
	case 0x03: /* reduced Unicode: 8-bit */
		walk_str8(r, "TypedString");
		break;
	case 0x04:
		walk_str16(r, "TypedString");
		break;
	default:
		rd_fail_at(r, rd_pos(r) - 1, "StringType 0x%02X is not defined", t);
		break;
	}
}

/* --- the walk language ------------------------------------------------------------------------ */

static void walk_ghost_servers(struct rd *r)
{
	uint16_t n = rd_u16le(r, "ServerCount");
	uint16_t cheap = rd_u16le(r, "CheapServerCount");

	if (!rd_ok(r))
		return;
	if (cheap > n) {
		rd_fail_at(r, rd_pos(r) - 2, "CheapServerCount %u exceeds ServerCount %u", cheap,
		           n);
		return;
	}
	if (n > rd_left(r)) {
		rd_fail(r, "ServerCount %u exceeds the %zu bytes left", n, rd_left(r));
		return;
	}
	for (unsigned i = 0; i < n && rd_ok(r); i++)
		walk_str8(r, "server name");
}

/* clang-format off */
static void walk_fmt(struct walk *k, struct rd *r, const char *fmt)
{
	for (const char *c = fmt; *c != '\0' && rd_ok(r); c++) {
		switch (*c) {
		case 'b': rd_skip(r, 1, "u8 field"); break;
		case 'w': rd_skip(r, 2, "u16 field"); break;
		case 'd': rd_skip(r, 4, "u32 field"); break;
		case 'q': rd_skip(r, 8, "u64 field"); break;
		case 'g': rd_skip(r, 16, "GUID"); break;
		case 'L': rd_skip(r, 24, "LongTermId"); break;
		case '6': rd_skip(r, 6, "GlobalCount"); break;
		case 's': walk_str8(r, "string"); break;
		case 'B': walk_counted(r, false, "u16-sized bytes"); break;
		case 'D': walk_counted(r, true, "u32-sized bytes"); break;
		case 'T': skip_array(r, rd_u16le(r, "count"), 4, "4-byte array"); break;
		case 'I': skip_array(r, rd_u16le(r, "count"), 2, "property id array"); break;
		case 'M': skip_array(r, rd_u16le(r, "count"), 8, "id array"); break;
		case 'K': skip_array(r, rd_u16le(r, "count"), 24, "LongTermId array"); break;
		case 'P': skip_array(r, rd_u16le(r, "count"), 10, "PropertyProblem array"); break;
		case 'V': walk_tagged_array(k, r, rd_u16le(r, "PropertyValueCount"), 0); break;
		case 'N': walk_propnames(r, rd_u16le(r, "PropertyNameCount")); break;
		case 'U': {
			uint16_t n = rd_u16le(r, "IdCount");

			skip_array(r, n, 2, "PropertyIds");
			walk_propnames(r, n);
			break;
		}
		case 'R': walk_sized_restriction(k, r); break;
		case 'Y': walk_typed_string(r); break;
		case 'O': { /* OpenRecipientRow: Type, CodePageId, Reserved, Size, RecipientRow */
			uint8_t n = rd_u8(r, "RowCount");

			for (unsigned i = 0; i < n && rd_ok(r); i++) {
				rd_skip(r, 5, "OpenRecipientRow");
				walk_counted(r, false, "RecipientRow");
			}
			break;
		}
		case 'Q': { /* ReadRecipientRow: RowId, Type, CodePageId, Reserved, Size, row */
			uint8_t n = rd_u8(r, "RowCount");

			for (unsigned i = 0; i < n && rd_ok(r); i++) {
				rd_skip(r, 9, "ReadRecipientRow");
				walk_counted(r, false, "RecipientRow");
			}
			break;
		}
		case 'G':
			if (rd_u8(r, "IsGhosted") != 0)
				walk_ghost_servers(r);
			break;
		case 'Z': walk_ghost_servers(r); break;
		case 'E':
			if (rd_u8(r, "IsExistingFolder") != 0)
				walk_fmt(k, r, "bG");
			break;
		case 'H':
			if (rd_u8(r, "HasMessageId") != 0)
				rd_skip(r, 8, "MessageId");
			break;
		case 'F':
			if (rd_u8(r, "ReadStatusChanged") != 0)
				rd_skip(r, 25, "LogonId, ClientData");
			break;
		case 'X':
			if (rd_u8(r, "NoPropertiesReturned") == 0 && rd_ok(r))
				walk_fmt(k, r, "V");
			break;
		case 'W': {
			/* PidTagFolderId, PidTagMessageClass (string8), PidTagLastModificationTime */
			static const uint8_t cols[12] = {0x14, 0x00, 0x48, 0x67, 0x1E, 0x00,
							 0x1A, 0x00, 0x40, 0x00, 0x08, 0x30};
			uint32_t n = rd_u32le(r, "RowCount");

			if (rd_ok(r) && n > rd_left(r)) {
				rd_fail(r, "RowCount %u exceeds the %zu bytes left", n, rd_left(r));
				break;
			}
			for (uint32_t i = 0; i < n && rd_ok(r); i++)
				walk_proprow(k, r, cols, 3);
			break;
		}
		case 'h': {
			uint16_t n = rd_u16le(r, "HelpFileSize");

			rd_skip(r, n, "HelpFile");
			if (n != 0)
				walk_str8(r, "HelpFileName");
			break;
		}
		default:
			/* a bug in a table below */
			rd_fail(r, "internal: walk code '%c'", *c);
			break;
		}
	}
}
/* clang-format on */

/* --- requests with conditional fields --------------------------------------------------------- */

static bool logon_public(const struct walk *k)
{
	return k->public_logons != NULL &&
	       (k->public_logons[k->logon_id / 8] & (1u << (k->logon_id % 8))) != 0;
}

/* RopSetProperties, RopSetPropertiesNoReplicate: PropertyValueSize counts PropertyValueCount
 * and the values. */
static void req_set_properties(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "PropertyValueSize");
	struct rd sub;

	rd_sub(r, size, &sub, "PropertyValues");
	walk_tagged_array(k, &sub, rd_u16le(&sub, "PropertyValueCount"), 0);
	if (rd_ok(&sub) && rd_left(&sub) != 0)
		rd_fail(&sub, "PropertyValueSize %u leaves %zu bytes unused", size, rd_left(&sub));
	rd_take_error(r, &sub);
}

/* RopModifyRecipients (MS-OXCROPS 2.2.6.5.1): columns, then ModifyRecipientRows of RowId,
 * RecipientType, RecipientRowSize and a RecipientRow (none when the size is 0: a deletion). */
static void req_modify_recipients(struct walk *k, struct rd *r)
{
	uint16_t ncols = rd_u16le(r, "ColumnCount");
	const uint8_t *cols;
	uint16_t nrows;

	if (!rd_ok(r))
		return;
	if (rd_left(r) / 4 < ncols) {
		rd_fail(r, "ColumnCount %u needs %u bytes, %zu left", ncols, 4u * ncols,
		        rd_left(r));
		return;
	}
	cols = rd_ptr(r, 4u * ncols, "RecipientColumns");
	nrows = rd_u16le(r, "RowCount");
	for (unsigned i = 0; i < nrows && rd_ok(r); i++) {
		uint16_t size;
		struct rd sub;

		rd_skip(r, 5, "RowId, RecipientType");
		size = rd_u16le(r, "RecipientRowSize");
		if (!rd_ok(r) || size == 0)
			continue;
		rd_sub(r, size, &sub, "RecipientRow");
		walk_recipient_row(k, &sub, cols, ncols);
		if (rd_ok(&sub) && rd_left(&sub) != 0)
			rd_fail(&sub, "RecipientRowSize %u leaves %zu bytes unused", size,
			        rd_left(&sub));
		rd_take_error(r, &sub);
	}
}

static void req_set_message_read_flag(struct walk *k, struct rd *r)
{
	rd_skip(r, 1, "ReadFlags");
	if (logon_public(k))
		rd_skip(r, 24, "ClientData");
}

static void req_write_per_user_information(struct walk *k, struct rd *r)
{
	uint32_t offset;

	rd_skip(r, 25, "FolderId, HasFinished");
	offset = rd_u32le(r, "DataOffset");
	walk_counted(r, false, "Data");
	if (offset == 0 && !logon_public(k))
		rd_skip(r, 16, "ReplGuid");
}

static void req_sort_table(struct walk *k, struct rd *r)
{
	uint16_t n;

	(void)k;
	rd_skip(r, 1, "SortTableFlags");
	n = rd_u16le(r, "SortOrderCount");
	rd_skip(r, 4, "CategorizedCount, ExpandedCount");
	skip_array(r, n, 5, "SortOrders");
}

static void req_register_notification(struct walk *k, struct rd *r)
{
	(void)k;
	rd_skip(r, 2, "NotificationTypes, Reserved");
	if (rd_u8(r, "WantWholeStore") == 0)
		rd_skip(r, 16, "FolderId, MessageId");
}

static void req_create_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 1, "FolderType");
	unicode = rd_u8(r, "UseUnicodeStrings") != 0;
	rd_skip(r, 2, "OpenExisting, Reserved");
	walk_str(r, unicode, "DisplayName");
	walk_str(r, unicode, "Comment");
}

static void req_move_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 1, "WantAsynchronous");
	unicode = rd_u8(r, "UseUnicode") != 0;
	rd_skip(r, 8, "FolderId");
	walk_str(r, unicode, "NewFolderName");
}

static void req_copy_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 2, "WantAsynchronous, WantRecursive");
	unicode = rd_u8(r, "UseUnicode") != 0;
	rd_skip(r, 8, "FolderId");
	walk_str(r, unicode, "NewFolderName");
}

/* RopReadStream: MaximumByteCount follows ByteCount 0xBABE. */
static void req_read_stream(struct walk *k, struct rd *r)
{
	(void)k;
	if (rd_u16le(r, "ByteCount") == 0xBABE)
		rd_skip(r, 4, "MaximumByteCount");
}

/* RopFastTransferSourceGetBuffer: MaximumBufferSize follows BufferSize 0xBABE. */
static void req_get_buffer(struct walk *k, struct rd *r)
{
	(void)k;
	if (rd_u16le(r, "BufferSize") == 0xBABE)
		rd_skip(r, 2, "MaximumBufferSize");
}

static void req_query_named_properties(struct walk *k, struct rd *r)
{
	(void)k;
	rd_skip(r, 1, "QueryFlags");
	if (rd_u8(r, "HasGuid") != 0)
		rd_skip(r, 16, "PropertyGuid");
}

/* RopModifyPermissions (PermissionData) and RopModifyRules (RuleData): flags, then a u16 count
 * of {u8 flags, u16 PropertyValueCount, TaggedPropertyValues}. */
static void req_modify_table(struct walk *k, struct rd *r)
{
	uint16_t n;

	rd_skip(r, 1, "ModifyFlags");
	n = rd_u16le(r, "count");
	if (rd_ok(r) && n > rd_left(r) / 3) {
		rd_fail(r, "%u rows cannot fit in %zu bytes", n, rd_left(r));
		return;
	}
	for (unsigned i = 0; i < n && rd_ok(r); i++) {
		rd_skip(r, 1, "row flags");
		walk_tagged_array(k, r, rd_u16le(r, "PropertyValueCount"), 0);
	}
}

/* RopSynchronizationImportReadStateChanges: MessageReadStates fill MessageReadStatesSize
 * exactly; each is a u16-sized MessageId and MarkAsRead. */
static void req_import_read_state_changes(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "MessageReadStatesSize");
	struct rd sub;

	(void)k;
	rd_sub(r, size, &sub, "MessageReadStates");
	while (rd_ok(&sub) && rd_left(&sub) > 0) {
		walk_counted(&sub, false, "MessageId");
		rd_skip(&sub, 1, "MarkAsRead");
	}
	rd_take_error(r, &sub);
}

/* RopSetLocalReplicaMidsetDeleted: DataSize counts LongTermIdRangeCount and the 48-byte
 * ranges. */
static void req_set_local_replica_midset_deleted(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "DataSize");
	struct rd sub;

	(void)k;
	rd_sub(r, size, &sub, "LongTermIdRanges");
	skip_array(&sub, rd_u32le(&sub, "LongTermIdRangeCount"), 48, "LongTermIdRanges");
	if (rd_ok(&sub) && rd_left(&sub) != 0)
		rd_fail(&sub, "DataSize %u leaves %zu bytes unused", size, rd_left(&sub));
	rd_take_error(r, &sub);
}

/* --- the table -------------------------------------------------------------------------------- */

/* clang-format off */
#define REQ(h, f) .hk = (h), .req = (f)
#define REQF(h, fn) .hk = (h), .req_fn = (fn)
#define STD(f) .rk = RK_STD, .resp = (f)
#define ALWAYS(f) .rk = RK_ALWAYS, .resp = (f)
#define NULLDST(f) .alt_rv = ecDstNullObject, .alt_resp = (f)

static const struct rop_layout layouts[256] = {
	[0x01] = {REQ(HK_IN, ""), .rk = RK_NONE},                     /* Release */
	[0x02] = {REQ(HK_IN_OUT, "qb"), STD("bG")},                   /* OpenFolder */
	[0x03] = {REQ(HK_IN_OUT, "wqbq"), STD("bYYwTO")},             /* OpenMessage */
	[0x04] = {REQ(HK_IN_OUT, "b"), STD("d")},                     /* GetHierarchyTable */
	[0x05] = {REQ(HK_IN_OUT, "b"), STD("d")},                     /* GetContentsTable */
	[0x06] = {REQ(HK_IN_OUT, "wqb"), STD("H")},                   /* CreateMessage */
	[0x07] = {REQ(HK_IN, "wwT"), .rk = RK_CTX},                   /* GetPropertiesSpecific */
	[0x08] = {REQ(HK_IN, "ww"), STD("V")},                        /* GetPropertiesAll */
	[0x09] = {REQ(HK_IN, ""), STD("T")},                          /* GetPropertiesList */
	[0x0A] = {REQF(HK_IN, req_set_properties), STD("P")},         /* SetProperties */
	[0x0B] = {REQ(HK_IN, "T"), STD("P")},                         /* DeleteProperties */
	[0x0C] = {REQ(HK_RESP_IN, "b"), STD("bq")},                   /* SaveChangesMessage */
	[0x0D] = {REQ(HK_IN, "d"), STD("")},                          /* RemoveAllRecipients */
	[0x0E] = {REQF(HK_IN, req_modify_recipients), STD("")},       /* ModifyRecipients */
	[0x0F] = {REQ(HK_IN, "dw"), STD("Q")},                        /* ReadRecipients */
	[0x10] = {REQ(HK_IN, "w"), STD("bYYwTO")},                    /* ReloadCachedInformation */
	[0x11] = {REQF(HK_RESP_IN, req_set_message_read_flag), STD("F")}, /* SetMessageReadFlag */
	[0x12] = {REQ(HK_IN, "bT"), STD("b")},                        /* SetColumns */
	[0x13] = {REQF(HK_IN, req_sort_table), STD("b")},             /* SortTable */
	[0x14] = {REQ(HK_IN, "bR"), STD("b")},                        /* Restrict */
	[0x15] = {REQ(HK_IN, "bbw"), .rk = RK_CTX},                   /* QueryRows */
	[0x16] = {REQ(HK_IN, ""), STD("b")},                          /* GetStatus */
	[0x17] = {REQ(HK_IN, ""), STD("dd")},                         /* QueryPosition */
	[0x18] = {REQ(HK_IN, "bdb"), STD("bd")},                      /* SeekRow */
	[0x19] = {REQ(HK_IN, "Bdb"), STD("bbd")},                     /* SeekRowBookmark */
	[0x1A] = {REQ(HK_IN, "dd"), STD("")},                         /* SeekRowFractional */
	[0x1B] = {REQ(HK_IN, ""), STD("B")},                          /* CreateBookmark */
	[0x1C] = {REQF(HK_IN_OUT, req_create_folder), STD("qE")},     /* CreateFolder */
	[0x1D] = {REQ(HK_IN, "bq"), ALWAYS("b")},                     /* DeleteFolder */
	[0x1E] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* DeleteMessages */
	[0x1F] = {REQ(HK_IN, "q"), STD("d")},                         /* GetMessageStatus */
	[0x20] = {REQ(HK_IN, "qdd"), STD("d")},                       /* SetMessageStatus */
	[0x21] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetAttachmentTable */
	[0x22] = {REQ(HK_IN_OUT, "bd"), STD("")},                     /* OpenAttachment */
	[0x23] = {REQ(HK_IN_OUT, ""), STD("d")},                      /* CreateAttachment */
	[0x24] = {REQ(HK_IN, "d"), STD("")},                          /* DeleteAttachment */
	[0x25] = {REQ(HK_RESP_IN, "b"), STD("")},                     /* SaveChangesAttachment */
	[0x26] = {REQ(HK_IN, "qs"), STD("")},                         /* SetReceiveFolder */
	[0x27] = {REQ(HK_IN, "s"), STD("qs")},                        /* GetReceiveFolder */
	[0x29] = {REQF(HK_IN_OUT, req_register_notification), STD("")}, /* RegisterNotification */
	[0x2A] = {.rk = RK_UNKNOWN},                                  /* Notify (response only) */
	[0x2B] = {REQ(HK_IN_OUT, "db"), STD("d")},                    /* OpenStream */
	[0x2C] = {REQF(HK_IN, req_read_stream), ALWAYS("B")},         /* ReadStream */
	[0x2D] = {REQ(HK_IN, "B"), ALWAYS("w")},                      /* WriteStream */
	[0x2E] = {REQ(HK_IN, "bq"), STD("q")},                        /* SeekStream */
	[0x2F] = {REQ(HK_IN, "q"), STD("")},                          /* SetStreamSize */
	[0x30] = {REQ(HK_IN, "RMd"), STD("")},                        /* SetSearchCriteria */
	[0x31] = {REQ(HK_IN, "bbb"), STD("RbMd")},                    /* GetSearchCriteria */
	[0x32] = {REQ(HK_IN, "b"), STD("")},                          /* SubmitMessage */
	[0x33] = {REQ(HK_SRC_DST, "Mbb"), ALWAYS("b"), NULLDST("db")}, /* MoveCopyMessages */
	[0x34] = {REQ(HK_IN, "qq"), STD("")},                         /* AbortSubmit */
	[0x35] = {REQF(HK_SRC_DST, req_move_folder), ALWAYS("b"), NULLDST("db")}, /* MoveFolder */
	[0x36] = {REQF(HK_SRC_DST, req_copy_folder), ALWAYS("b"), NULLDST("db")}, /* CopyFolder */
	[0x37] = {REQ(HK_IN, ""), STD("T")},                          /* QueryColumnsAll */
	[0x38] = {REQ(HK_IN, ""), STD("b")},                          /* Abort */
	[0x39] = {REQ(HK_SRC_DST, "bbbT"), STD("P"), NULLDST("d")},   /* CopyTo */
	[0x3A] = {REQ(HK_SRC_DST, "q"), STD("qq"), NULLDST("dqq")},   /* CopyToStream */
	[0x3B] = {REQ(HK_IN_OUT, ""), STD("")},                       /* CloneStream */
	[0x3E] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetPermissionsTable */
	[0x3F] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetRulesTable */
	[0x40] = {REQF(HK_IN, req_modify_table), STD("")},            /* ModifyPermissions */
	[0x41] = {REQF(HK_IN, req_modify_table), STD("")},            /* ModifyRules */
	[0x42] = {REQ(HK_IN, "q"), STD("Z")},                         /* GetOwningServers */
	[0x43] = {REQ(HK_IN, "q"), STD("L")},                         /* LongTermIdFromId */
	[0x44] = {REQ(HK_IN, "L"), STD("q")},                         /* IdFromLongTermId */
	[0x45] = {REQ(HK_IN, "q"), STD("G")},                         /* PublicFolderIsGhosted */
	[0x46] = {REQ(HK_IN_OUT, "wb"), STD("bqbYYwTO")},             /* OpenEmbeddedMessage */
	[0x47] = {REQ(HK_IN, ""), STD("")},                           /* SetSpooler */
	[0x48] = {REQ(HK_IN, "qb"), STD("")},                         /* SpoolerLockMessage */
	[0x49] = {REQ(HK_IN, ""), STD("wB")},                         /* GetAddressTypes */
	[0x4A] = {REQ(HK_IN, ""), STD("X")},                          /* TransportSend */
	[0x4B] = {REQ(HK_IN_OUT, "Mbb"), STD("")},          /* FastTransferSourceCopyMessages */
	[0x4C] = {REQ(HK_IN_OUT, "bb"), STD("")},           /* FastTransferSourceCopyFolder */
	[0x4D] = {REQ(HK_IN_OUT, "bdbT"), STD("")},         /* FastTransferSourceCopyTo */
	[0x4E] = {REQF(HK_IN, req_get_buffer), STD("wwwbB"), .alt_rv = ecServerBusy,
		  .alt_resp = "d"},                         /* FastTransferSourceGetBuffer */
	[0x4F] = {REQ(HK_IN, "bRbB"), .rk = RK_CTX},                  /* FindRow */
	[0x50] = {REQ(HK_IN, "b"), STD("bdd")},                       /* Progress */
	[0x51] = {REQ(HK_IN, "qqsd"), STD("")},                       /* TransportNewMail */
	[0x52] = {REQ(HK_IN, ""), STD("T")},                          /* GetValidAttachments */
	[0x53] = {REQ(HK_IN_OUT, "bb"), STD("")},        /* FastTransferDestinationConfigure */
	[0x54] = {REQ(HK_IN, "B"), ALWAYS("wwwbw")},     /* FastTransferDestinationPutBuffer */
	[0x55] = {REQ(HK_IN, "I"), STD("N")},                         /* GetNamesFromPropertyIds */
	[0x56] = {REQ(HK_IN, "bN"), STD("I"), .alt_rv = ecWarnWithErrors,
		  .alt_resp = "I"},                                   /* GetPropertyIdsFromNames */
	[0x57] = {REQ(HK_IN, "BB"), STD("")},                   /* UpdateDeferredActionMessages */
	[0x58] = {REQ(HK_IN, "bb"), ALWAYS("b")},                     /* EmptyFolder */
	[0x59] = {REQ(HK_IN, "wq"), .rk = RK_CTX},                    /* ExpandRow */
	[0x5A] = {REQ(HK_IN, "q"), STD("d")},                         /* CollapseRow */
	[0x5B] = {REQ(HK_IN, "qqd"), STD("")},                        /* LockRegionStream */
	[0x5C] = {REQ(HK_IN, "qqd"), STD("")},                        /* UnlockRegionStream */
	[0x5D] = {REQ(HK_IN, ""), STD("")},                           /* CommitStream */
	[0x5E] = {REQ(HK_IN, ""), STD("d")},                          /* GetStreamSize */
	[0x5F] = {REQF(HK_IN, req_query_named_properties), STD("U")}, /* QueryNamedProperties */
	[0x60] = {REQ(HK_IN, "g"), STD("K")},                         /* GetPerUserLongTermIds */
	[0x61] = {REQ(HK_IN, "L"), STD("g")},                         /* GetPerUserGuid */
	[0x63] = {REQ(HK_IN, "Lbdw"), STD("bB")},                     /* ReadPerUserInformation */
	[0x64] = {REQF(HK_IN, req_write_per_user_information), STD("")}, /* WritePerUserInfo.. */
	[0x66] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* SetReadFlags */
	[0x67] = {REQ(HK_SRC_DST, "bbT"), STD("P"), NULLDST("d")},    /* CopyProperties */
	[0x68] = {REQ(HK_IN, ""), STD("W")},                          /* GetReceiveFolderTable */
	[0x69] = {REQ(HK_IN_OUT, "bbbT"), STD("")},       /* FastTransferSourceCopyProperties */
	[0x6B] = {REQ(HK_IN, "qd"), STD("B")},                        /* GetCollapseState */
	[0x6C] = {REQ(HK_IN, "B"), STD("B")},                         /* SetCollapseState */
	[0x6D] = {REQ(HK_IN, ""), STD("q")},                          /* GetTransportFolder */
	[0x6E] = {.rk = RK_SPECIAL},                                  /* Pending (response only) */
	[0x6F] = {REQ(HK_IN, "sb"), STD("bBh")},                      /* OptionsData */
	[0x70] = {REQ(HK_IN_OUT, "bbwRdT"), STD("")},                 /* SynchronizationConfigure */
	[0x72] = {REQ(HK_IN_OUT, "bV"), STD("q")},      /* SynchronizationImportMessageChange */
	[0x73] = {REQ(HK_IN, "VV"), STD("q")},          /* SynchronizationImportHierarchyChange */
	[0x74] = {REQ(HK_IN, "bV"), STD("")},           /* SynchronizationImportDeletes */
	[0x75] = {REQ(HK_IN, "dd"), STD("")},           /* SynchronizationUploadStateStreamBegin */
	[0x76] = {REQ(HK_IN, "D"), STD("")},            /* ...UploadStateStreamContinue */
	[0x77] = {REQ(HK_IN, ""), STD("")},             /* ...UploadStateStreamEnd */
	[0x78] = {REQ(HK_IN, "DDDDD"), STD("q")},       /* SynchronizationImportMessageMove */
	[0x79] = {REQF(HK_IN, req_set_properties), STD("P")},         /* SetPropertiesNoReplicate */
	[0x7A] = {REQ(HK_IN, "T"), STD("P")},                      /* DeletePropertiesNoReplicate */
	[0x7B] = {REQ(HK_IN, ""), STD("d")},                          /* GetStoreState */
	[0x7E] = {REQ(HK_IN_OUT, "b"), STD("")},        /* SynchronizationOpenCollector */
	[0x7F] = {REQ(HK_IN, "d"), STD("g6")},                        /* GetLocalReplicaIds */
	[0x80] = {REQF(HK_IN, req_import_read_state_changes), STD("")}, /* ...ReadStateChanges */
	[0x81] = {REQ(HK_IN, ""), STD("")},                           /* ResetTable */
	[0x82] = {REQ(HK_IN_OUT, ""), STD("")},         /* SynchronizationGetTransferState */
	[0x86] = {REQ(HK_IN, "www"), STD("")},                        /* TellVersion */
	[0x89] = {REQ(HK_IN, "B"), STD("")},                          /* FreeBookmark */
	[0x90] = {REQ(HK_IN, "B"), ALWAYS("w")},                      /* WriteAndCommitStream */
	[0x91] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* HardDeleteMessages */
	[0x92] = {REQ(HK_IN, "bb"), ALWAYS("b")},       /* HardDeleteMessagesAndSubfolders */
	[0x93] = {REQF(HK_IN, req_set_local_replica_midset_deleted), STD("")}, /* SetLocalRepl.. */
	[0x9D] = {REQ(HK_IN, "B"), ALWAYS("wddbw")},    /* FastTransferDestinationPutBufferExt. */
	[0xA3] = {REQ(HK_IN, "B"), ALWAYS("d")},                      /* WriteStreamExtended */
	[0xF9] = {.rk = RK_SPECIAL},                                  /* Backoff (response only) */
	[0xFE] = {REQ(HK_LOGON, "bddB"), .rk = RK_SPECIAL},           /* Logon */
	[0xFF] = {.rk = RK_SPECIAL},                          /* BufferTooSmall (response only) */
};
/* clang-format on */

/* --- requests --------------------------------------------------------------------------------- */

/* Puts "RopXxx (0xNN): " in front of r's message (not for "cannot walk past", which names the
 * ROP already). */
static void name_error(struct rd *r, uint8_t id)
{
	char name[16], tmp[MBX_RD_ERRMAX];

	if (strncmp(r->err_msg, "cannot walk past", 16) == 0)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s (0x%02X): %s", mbx_rop_str(id, name, sizeof(name)), id,
	             r->err_msg) < 0)
		return;
	memcpy(r->err_msg, tmp, sizeof(tmp));
}

int mbx_rop_req_parse_ex(struct rd *r, const uint8_t *public_logons, struct mbx_rop_req *req_r)
{
	const struct rop_layout *lay;
	struct walk k = {.public_logons = public_logons};
	size_t start = r->off;
	char name[16];
	uint8_t id;

	req_r->rop_id = 0;
	req_r->logon_id = 0;
	req_r->in_idx = req_r->out_idx = req_r->dst_idx = req_r->resp_idx = -1;
	req_r->layout_unknown = false;
	req_r->raw = NULL;
	req_r->len = 0;
	req_r->off = rd_pos(r);
	if (!rd_ok(r))
		return -1;
	id = rd_u8(r, "RopId");
	if (!rd_ok(r))
		return -1;
	req_r->rop_id = id;
	req_r->raw = r->buf + start;
	lay = &layouts[id];
	if (lay->hk == HK_NONE) {
		req_r->layout_unknown = true;
		rd_fail_at(r, req_r->off, "cannot walk past %s (0x%02X): request layout not known",
		           mbx_rop_str(id, name, sizeof(name)), id);
		return -1;
	}
	req_r->logon_id = rd_u8(r, "LogonId");
	k.logon_id = req_r->logon_id;
	if (rd_ok(r) && rd_left(r) >= 1) {
		int a = rd_u8(r, "handle index");

		switch (lay->hk) {
		case HK_IN:
		case HK_SRC_DST:
			req_r->in_idx = req_r->resp_idx = a;
			break;
		case HK_LOGON:
			req_r->out_idx = req_r->resp_idx = a;
			break;
		case HK_IN_OUT:
			req_r->in_idx = a;
			break;
		case HK_RESP_IN:
			req_r->resp_idx = a;
			break;
		}
	} else {
		rd_skip(r, 1, "handle index");
	}
	if (lay->hk == HK_IN_OUT || lay->hk == HK_RESP_IN || lay->hk == HK_SRC_DST) {
		if (rd_ok(r) && rd_left(r) >= 1) {
			int b = rd_u8(r, "second handle index");

			if (lay->hk == HK_IN_OUT)
				req_r->out_idx = req_r->resp_idx = b;
			else if (lay->hk == HK_RESP_IN)
				req_r->in_idx = b;
			else
				req_r->dst_idx = b;
		} else {
			rd_skip(r, 1, "second handle index");
		}
	}
	if (lay->req_fn != NULL)
		lay->req_fn(&k, r);
	else
		walk_fmt(&k, r, lay->req);
	if (!rd_ok(r)) {
		req_r->layout_unknown = k.unknown;
		if (k.unknown) {
			char tmp[MBX_RD_ERRMAX];

			if (snprintf(tmp, sizeof(tmp), "cannot walk past %s (0x%02X): %s",
			             mbx_rop_str(id, name, sizeof(name)), id, r->err_msg) >= 0)
				memcpy(r->err_msg, tmp, sizeof(tmp));
		} else {
			name_error(r, id);
		}
		return -1;
	}
	req_r->len = r->off - start;
	return 0;
}

size_t mbx_rop_failure_len(uint8_t rop_id)
{
	const struct rop_layout *lay = &layouts[rop_id];
	size_t n = MBX_ROP_FAILURE_LEN;

	if (lay->rk != RK_ALWAYS)
		return n;
	/* the fields of the single response buffers, zeroed (a zero count for B) */
	for (const char *c = lay->resp; *c != '\0'; c++)
		n += *c == 'b' ? 1 : *c == 'd' ? 4 : 2; /* w, B */
	return n;
}

bool mbx_rop_has_request(uint8_t rop_id)
{
	return layouts[rop_id].hk != HK_NONE;
}

int mbx_rop_req_parse(struct rd *r, struct mbx_rop_req *req_r)
{
	return mbx_rop_req_parse_ex(r, NULL, req_r);
}

/* --- responses -------------------------------------------------------------------------------- */

#define LOGON_PRIVATE_BODY (166 - 7) /* after RopId, index, ReturnValue, LogonFlags */
#define LOGON_PUBLIC_BODY (145 - 7)

static void resp_logon(struct rd *r, uint32_t rv)
{
	if (rv == 0) {
		uint8_t flags = rd_u8(r, "LogonFlags");

		rd_skip(r, (flags & 0x01) ? LOGON_PRIVATE_BODY : LOGON_PUBLIC_BODY,
		        (flags & 0x01) ? "private logon response" : "public logon response");
	} else if (rv == ecWrongServer) {
		uint8_t n;

		rd_skip(r, 1, "LogonFlags");
		n = rd_u8(r, "ServerNameSize");
		rd_skip(r, n, "ServerName");
	}
}

int mbx_rop_resp_parse(struct rd *r, struct mbx_rop_resp *resp_r)
{
	const struct rop_layout *lay;
	struct walk k = {0};
	size_t start = r->off;
	char name[16];
	uint8_t id;

	resp_r->rop_id = 0;
	resp_r->idx = -1;
	resp_r->rv = 0;
	resp_r->raw = NULL;
	resp_r->len = 0;
	resp_r->off = rd_pos(r);
	if (!rd_ok(r))
		return -1;
	id = rd_u8(r, "RopId");
	if (!rd_ok(r))
		return -1;
	resp_r->rop_id = id;
	resp_r->raw = r->buf + start;
	lay = &layouts[id];
	switch (id) {
	case 0xFF: /* RopBufferTooSmall: SizeNeeded, then the rest of the list */
		rd_skip(r, 2, "SizeNeeded");
		rd_skip(r, rd_left(r), "RequestBuffers");
		break;
	case 0xF9: { /* RopBackoff: LogonId, Duration, BackoffRopData, AdditionalData */
		rd_skip(r, 5, "LogonId, Duration");
		skip_array(r, rd_u8(r, "BackoffRopCount"), 5, "BackoffRopData");
		walk_counted(r, false, "AdditionalData");
		break;
	}
	case 0x6E: /* RopPending: SessionIndex */
		rd_skip(r, 2, "SessionIndex");
		break;
	case 0x01:
		rd_fail_at(r, resp_r->off, "RopRelease (0x01) has no response");
		return -1;
	default:
		if (lay->rk == RK_UNKNOWN) {
			rd_fail_at(r, resp_r->off,
			           "cannot walk past %s (0x%02X): response layout not known",
			           mbx_rop_str(id, name, sizeof(name)), id);
			return -1;
		}
		resp_r->idx = rd_u8(r, "handle index");
		resp_r->rv = rd_u32le(r, "ReturnValue");
		if (!rd_ok(r))
			break;
		if (id == 0xFE) {
			resp_logon(r, resp_r->rv);
		} else if (lay->alt_resp != NULL && resp_r->rv == lay->alt_rv) {
			walk_fmt(&k, r, lay->alt_resp);
		} else if (lay->rk == RK_ALWAYS || (lay->rk == RK_STD && resp_r->rv == 0)) {
			walk_fmt(&k, r, lay->resp);
		} else if (lay->rk == RK_CTX && resp_r->rv == 0) {
			rd_fail_at(r, resp_r->off,
			           "cannot walk past %s (0x%02X): success response layout depends "
			           "on the request",
			           mbx_rop_str(id, name, sizeof(name)), id);
			return -1;
		}
		break;
	}
	if (!rd_ok(r)) {
		name_error(r, id);
		return -1;
	}
	resp_r->len = r->off - start;
	return 0;
}
