/*
 * rop-walk.c: the walkers of the structures nested in ROP request and response bodies
 * (MS-OXCDATA): restrictions (2.12), property values in ROP buffers (2.11.1-2.11.4: 16-bit
 * PtypBinary byte counts, 32-bit PtypMultiple value counts), property names (2.6.1), property
 * rows (2.8.1), recipient rows (2.8.3) and typed strings (2.11.3), and the interpreter of the
 * walk language that the layouts table of rop-size.c is written in (rop-size-int.h).
 *
 * PtypMultiple value counts are 32-bit (current MS-OXCDATA 2.11.1; an older revision said 16).
 * Not walked: PtypObject (0x000D) and PtypRuleAction (0x00FE) property values (they fail as
 * "layout not known" and set struct walk's unknown flag).
 */
#include "rop/rop-size-int.h"

#include "mbx/ropbuf.h"

static void walk_restriction(struct walk *k, struct rd *r, unsigned depth);
static void walk_value(struct walk *k, struct rd *r, uint16_t type, unsigned depth);

/* --- small fields -------------------------------------------------------------------------- */

/* Skips count entries of size bytes each after checking they fit. */
void rop_walk_skip_array(struct rd *r, uint64_t count, size_t size, const char *what)
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

void rop_walk_str(struct rd *r, bool unicode, const char *what)
{
	if (unicode)
		walk_str16(r, what);
	else
		walk_str8(r, what);
}

/* u16 or u32 byte count followed by that many bytes. */
void rop_walk_counted(struct rd *r, bool wide, const char *what)
{
	uint32_t n = wide ? rd_u32le(r, what) : rd_u16le(r, what);

	rop_walk_skip_array(r, n, 1, what);
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
		rop_walk_counted(r, false, "PtypBinary value");
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
			rop_walk_skip_array(r, count, fs, "multi-value property");
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

void rop_walk_tagged_array(struct walk *k, struct rd *r, uint32_t count, unsigned depth)
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

		rop_walk_tagged_array(k, r, count, depth + 1);
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

void rop_walk_recipient_row(struct walk *k, struct rd *r, const uint8_t *cols, unsigned ncols)
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
		rop_walk_counted(r, false, "EntryId");
		rop_walk_counted(r, false, "SearchKey");
	} else if (type == 0 && (flags & RF_O)) {
		walk_str8(r, "AddressType");
	}
	if (flags & RF_E)
		rop_walk_str(r, u, "EmailAddress");
	if (flags & RF_D)
		rop_walk_str(r, u, "DisplayName");
	if (flags & RF_I)
		rop_walk_str(r, u, "SimpleDisplayName");
	if (flags & RF_T)
		rop_walk_str(r, u, "TransmittableDisplayName");
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
void rop_walk_fmt(struct walk *k, struct rd *r, const char *fmt)
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
		case 'B': rop_walk_counted(r, false, "u16-sized bytes"); break;
		case 'D': rop_walk_counted(r, true, "u32-sized bytes"); break;
		case 'T': rop_walk_skip_array(r, rd_u16le(r, "count"), 4, "4-byte array"); break;
		case 'I': rop_walk_skip_array(r, rd_u16le(r, "count"), 2, "property id array"); break;
		case 'M': rop_walk_skip_array(r, rd_u16le(r, "count"), 8, "id array"); break;
		case 'K': rop_walk_skip_array(r, rd_u16le(r, "count"), 24, "LongTermId array"); break;
		case 'P': rop_walk_skip_array(r, rd_u16le(r, "count"), 10, "PropertyProblem array"); break;
		case 'V': rop_walk_tagged_array(k, r, rd_u16le(r, "PropertyValueCount"), 0); break;
		case 'N': walk_propnames(r, rd_u16le(r, "PropertyNameCount")); break;
		case 'U': {
			uint16_t n = rd_u16le(r, "IdCount");

			rop_walk_skip_array(r, n, 2, "PropertyIds");
			walk_propnames(r, n);
			break;
		}
		case 'R': walk_sized_restriction(k, r); break;
		case 'Y': walk_typed_string(r); break;
		case 'O': { /* OpenRecipientRow: Type, CodePageId, Reserved, Size, RecipientRow */
			uint8_t n = rd_u8(r, "RowCount");

			for (unsigned i = 0; i < n && rd_ok(r); i++) {
				rd_skip(r, 5, "OpenRecipientRow");
				rop_walk_counted(r, false, "RecipientRow");
			}
			break;
		}
		case 'Q': { /* ReadRecipientRow: RowId, Type, CodePageId, Reserved, Size, row */
			uint8_t n = rd_u8(r, "RowCount");

			for (unsigned i = 0; i < n && rd_ok(r); i++) {
				rd_skip(r, 9, "ReadRecipientRow");
				rop_walk_counted(r, false, "RecipientRow");
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
				rop_walk_fmt(k, r, "bG");
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
				rop_walk_fmt(k, r, "V");
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
