/*
 * secdesc.c: self-relative security descriptors (MS-DTYP 2.4.6 SECURITY_DESCRIPTOR, 2.4.5 ACL,
 * 2.4.4 ACEs) as found in msExchMailboxSecurityDescriptor: decoder, encoder, equality, small
 * builders, and the DACL walk of MS-DTYP 2.5.3.2 that decides mailbox access. The contract and
 * the rules are in include/mbx/secdesc.h and docs/secdesc.md.
 */
#include "mbx/secdesc.h"

#include <stdio.h>
#include <string.h>

/* Positions of the offset fields in the 20-byte header. */
#define OFF_OWNER_POS 4
#define OFF_GROUP_POS 8
#define OFF_SACL_POS 12
#define OFF_DACL_POS 16

/* Authenticated Users, S-1-5-11: in every authenticated logon token. */
static const struct mbx_sid sid_authenticated_users = {1, 1, 5, {11}};

bool mbx_secdesc_ace_is_object(uint8_t type)
{
	switch (type) {
	case MBX_SD_ACE_ACCESS_ALLOWED_OBJECT:
	case MBX_SD_ACE_ACCESS_DENIED_OBJECT:
	case MBX_SD_ACE_SYSTEM_AUDIT_OBJECT:
	case MBX_SD_ACE_SYSTEM_ALARM_OBJECT:
	case MBX_SD_ACE_ACCESS_ALLOWED_CALLBACK_OBJECT:
	case MBX_SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT:
	case MBX_SD_ACE_SYSTEM_AUDIT_CALLBACK_OBJECT:
	case MBX_SD_ACE_SYSTEM_ALARM_CALLBACK_OBJECT:
		return true;
	default:
		return false;
	}
}

/* MS-DTYP 2.4.4.1 lists 0x00-0x13; 0x04 (compound) is reserved and has no defined layout. */
static bool ace_type_known(uint8_t type)
{
	return type <= MBX_SD_ACE_SYSTEM_SCOPED_POLICY_ID &&
	       type != MBX_SD_ACE_ACCESS_ALLOWED_COMPOUND;
}

/* Bytes of an ACE before its SID: header, Mask, and for object ACEs Flags and the GUIDs that
 * the flags announce. */
static size_t ace_fixed_size(bool object, uint32_t object_flags)
{
	size_t n = MBX_SD_ACE_HEADER_SIZE + 4;

	if (object) {
		n += 4;
		if (object_flags & MBX_SD_ACE_OBJECT_TYPE_PRESENT)
			n += 16;
		if (object_flags & MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT)
			n += 16;
	}
	return n;
}

/* ---- decoder ------------------------------------------------------------------------- */

struct sd_range {
	const char *name;
	size_t start, end; /* relative to the descriptor */
};

struct sd_dec {
	struct rd *s; /* the whole descriptor; offsets are relative to its buf */
	struct mbx_secdesc *sd;
	struct sd_range ranges[4];
	unsigned nrange;
};

/* Checks a nonzero offset field and opens a reader from that offset to the end. */
static bool dec_at(struct sd_dec *d, const char *field, size_t field_pos, uint32_t off,
                   struct rd *c)
{
	struct rd *s = d->s;

	if (off < MBX_SD_HEADER_SIZE)
		return rd_fail_at(s, s->base + field_pos, "%s %u points into the %d-byte header",
		                  field, (unsigned)off, MBX_SD_HEADER_SIZE);
	if (off >= s->len)
		return rd_fail_at(s, s->base + field_pos, "%s %u points past the end (%zu bytes)",
		                  field, (unsigned)off, s->len);
	rd_init(c, s->buf + off, s->len - off, s->base + off);
	return true;
}

static void dec_add_range(struct sd_dec *d, const char *name, size_t start, size_t len)
{
	d->ranges[d->nrange].name = name;
	d->ranges[d->nrange].start = start;
	d->ranges[d->nrange].end = start + len;
	d->nrange++;
}

static void dec_owner_group(struct sd_dec *d, const char *field, size_t field_pos, uint32_t off,
                            const char *name, struct mbx_sid *sid, bool *has)
{
	struct rd c;

	if (off == 0 || !rd_ok(d->s))
		return;
	if (!dec_at(d, field, field_pos, off, &c))
		return;
	rd_sid(&c, sid, name);
	if (!rd_ok(&c)) {
		rd_take_error(d->s, &c);
		return;
	}
	*has = true;
	dec_add_range(d, name, off, mbx_sid_size(sid));
}

/* One ACE from a, which covers the rest of the ACL's ACE area. */
static void dec_ace(struct rd *a, const char *acl_name, unsigned idx, unsigned acl_rev,
                    struct mbx_ace *ace)
{
	char label[24];
	size_t start = rd_pos(a);
	size_t left = rd_left(a);
	unsigned size;
	struct rd b;

	snprintf(label, sizeof(label), "%s ACE %u", acl_name, idx);
	if (left < MBX_SD_ACE_HEADER_SIZE) {
		rd_fail(a, "%s: need %d bytes for the ACE header, %zu left in the ACL", label,
		        MBX_SD_ACE_HEADER_SIZE, left);
		return;
	}
	ace->type = rd_u8(a, NULL);
	ace->flags = rd_u8(a, NULL);
	size = rd_u16le(a, NULL);
	if (size < MBX_SD_ACE_HEADER_SIZE) {
		rd_fail_at(a, start + 2, "%s: AceSize %u is smaller than the %d-byte header", label,
		           size, MBX_SD_ACE_HEADER_SIZE);
		return;
	}
	if (size % 4 != 0) {
		rd_fail_at(a, start + 2, "%s: AceSize %u is not a multiple of 4", label, size);
		return;
	}
	if (size > left) {
		rd_fail_at(a, start + 2, "%s: AceSize %u exceeds the %zu bytes left in the ACL",
		           label, size, left);
		return;
	}
	if (!ace_type_known(ace->type)) {
		rd_fail_at(a, start, "%s: unsupported AceType 0x%02x", label, ace->type);
		return;
	}
	ace->object = mbx_secdesc_ace_is_object(ace->type);
	if (ace->object && acl_rev < MBX_SD_ACL_REVISION_DS) {
		rd_fail_at(a, start,
		           "%s: object AceType 0x%02x needs AclRevision 4, the ACL has %u", label,
		           ace->type, acl_rev);
		return;
	}

	rd_sub(a, size - MBX_SD_ACE_HEADER_SIZE, &b, label);
	if (rd_left(&b) < 4) {
		rd_fail(&b, "%s: AceSize %u leaves no room for the Mask", label, size);
		goto out;
	}
	ace->mask = rd_u32le(&b, NULL);
	if (ace->object) {
		if (rd_left(&b) < 4) {
			rd_fail(&b, "%s: AceSize %u leaves no room for the object Flags", label,
			        size);
			goto out;
		}
		ace->object_flags = rd_u32le(&b, NULL);
		if (ace->object_flags & MBX_SD_ACE_OBJECT_TYPE_PRESENT) {
			if (rd_left(&b) < 16) {
				rd_fail(&b, "%s: AceSize %u leaves no room for the ObjectType GUID",
				        label, size);
				goto out;
			}
			rd_bytes(&b, ace->object_type.b, 16, NULL);
		}
		if (ace->object_flags & MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT) {
			if (rd_left(&b) < 16) {
				rd_fail(&b,
				        "%s: AceSize %u leaves no room for the InheritedObjectType "
				        "GUID",
				        label, size);
				goto out;
			}
			rd_bytes(&b, ace->inherited_object_type.b, 16, NULL);
		}
	}
	rd_sid(&b, &ace->sid, label);
	if (rd_ok(&b) && rd_left(&b) > 0) {
		ace->extra_len = (uint16_t)rd_left(&b);
		ace->extra = rd_ptr(&b, ace->extra_len, label);
	}
out:
	rd_take_error(a, &b);
}

static void dec_acl(struct sd_dec *d, const char *name, const char *field, size_t field_pos,
                    uint16_t present_bit, uint32_t off, struct mbx_acl *acl)
{
	struct rd *s = d->s;
	struct mbx_secdesc *sd = d->sd;
	unsigned rev, size, count;
	struct rd c, a;

	if (!rd_ok(s))
		return;
	acl->present = (sd->control & present_bit) != 0;
	if (off == 0) {
		acl->null = acl->present;
		return;
	}
	if (!acl->present) {
		rd_fail_at(s, s->base + field_pos, "%s %u is set but %s is clear", field,
		           (unsigned)off,
		           present_bit == MBX_SD_DACL_PRESENT ? "SE_DACL_PRESENT"
		                                              : "SE_SACL_PRESENT");
		return;
	}
	if (!dec_at(d, field, field_pos, off, &c))
		return;
	if (rd_left(&c) < MBX_SD_ACL_HEADER_SIZE) {
		rd_fail_at(s, s->base + off, "%s at %u: need %d bytes for the ACL header, %zu left",
		           name, (unsigned)off, MBX_SD_ACL_HEADER_SIZE, rd_left(&c));
		return;
	}
	rev = rd_u8(&c, NULL);
	(void)rd_u8(&c, NULL); /* Sbz1: MUST be zero, ignored */
	size = rd_u16le(&c, NULL);
	count = rd_u16le(&c, NULL);
	(void)rd_u16le(&c, NULL); /* Sbz2: MUST be zero, ignored */
	if (rev != MBX_SD_ACL_REVISION && rev != MBX_SD_ACL_REVISION_DS) {
		rd_fail_at(s, s->base + off, "%s AclRevision %u, expected 2 or 4", name, rev);
		return;
	}
	if (size < MBX_SD_ACL_HEADER_SIZE) {
		rd_fail_at(s, s->base + off + 2, "%s AclSize %u is smaller than the %d-byte header",
		           name, size, MBX_SD_ACL_HEADER_SIZE);
		return;
	}
	if (size > s->len - off) {
		rd_fail_at(s, s->base + off + 2,
		           "%s AclSize %u exceeds the %zu bytes left in the descriptor", name, size,
		           s->len - off);
		return;
	}
	if (count > (size - MBX_SD_ACL_HEADER_SIZE) / MBX_SD_ACE_MIN_SIZE) {
		rd_fail_at(
		        s, s->base + off + 4,
		        "%s AceCount %u cannot fit in AclSize %u (an ACE takes at least %d bytes)",
		        name, count, size, MBX_SD_ACE_MIN_SIZE);
		return;
	}
	if (count > MBX_SD_MAX_ACES - sd->nace) {
		rd_fail_at(s, s->base + off + 4, "%s AceCount %u exceeds the limit of %d ACEs%s",
		           name, count, MBX_SD_MAX_ACES, sd->nace > 0 ? " per descriptor" : "");
		return;
	}
	acl->revision = (uint8_t)rev;
	rd_init(&a, s->buf + off + MBX_SD_ACL_HEADER_SIZE, size - MBX_SD_ACL_HEADER_SIZE,
	        s->base + off + MBX_SD_ACL_HEADER_SIZE);
	for (unsigned i = 0; i < count && rd_ok(&a); i++)
		dec_ace(&a, name, i, rev, &sd->aces[sd->nace + i]);
	if (!rd_ok(&a)) {
		rd_take_error(s, &a);
		return;
	}
	/* Bytes after the last ACE, up to AclSize, are free space in the ACL (ignored). */
	acl->nace = count;
	sd->nace += count;
	dec_add_range(d, name, off, size);
}

static void dec_check_overlap(struct sd_dec *d)
{
	struct rd *s = d->s;

	for (unsigned i = 0; i < d->nrange && rd_ok(s); i++) {
		for (unsigned j = i + 1; j < d->nrange; j++) {
			const struct sd_range *x = &d->ranges[i], *y = &d->ranges[j];

			if (x->start < y->end && y->start < x->end) {
				rd_fail_at(s, s->base + y->start,
				           "%s at %zu..%zu overlaps %s at %zu..%zu", y->name,
				           y->start, y->end, x->name, x->start, x->end);
				break;
			}
		}
	}
}

void rd_secdesc(struct rd *r, size_t n, struct mbx_secdesc *sd, const char *what)
{
	struct rd s;
	struct sd_dec d = {.s = &s, .sd = sd};
	unsigned rev;
	uint32_t off_owner, off_group, off_sacl, off_dacl;

	memset(sd, 0, sizeof(*sd));
	rd_sub(r, n, &s, what != NULL ? what : "SECURITY_DESCRIPTOR");
	if (!rd_ok(&s))
		return;
	if (rd_left(&s) < MBX_SD_HEADER_SIZE) {
		rd_fail_at(r, s.base,
		           "SECURITY_DESCRIPTOR: need %d bytes for the header, %zu given",
		           MBX_SD_HEADER_SIZE, rd_left(&s));
		return;
	}
	rev = rd_u8(&s, NULL);
	sd->rm_control = rd_u8(&s, NULL);
	sd->control = rd_u16le(&s, NULL);
	off_owner = rd_u32le(&s, NULL);
	off_group = rd_u32le(&s, NULL);
	off_sacl = rd_u32le(&s, NULL);
	off_dacl = rd_u32le(&s, NULL);
	if (rev != 1) {
		rd_fail_at(r, s.base, "SECURITY_DESCRIPTOR Revision %u, expected 1", rev);
		return;
	}
	if (!(sd->control & MBX_SD_SELF_RELATIVE)) {
		rd_fail_at(r, s.base + 2,
		           "Control 0x%04x lacks SE_SELF_RELATIVE 0x8000: not a self-relative "
		           "descriptor",
		           sd->control);
		return;
	}
	dec_owner_group(&d, "OffsetOwner", OFF_OWNER_POS, off_owner, "OwnerSid", &sd->owner,
	                &sd->has_owner);
	dec_owner_group(&d, "OffsetGroup", OFF_GROUP_POS, off_group, "GroupSid", &sd->group,
	                &sd->has_group);
	/* DACL first: its ACEs come first in sd->aces whatever the order in the buffer. */
	dec_acl(&d, "DACL", "OffsetDacl", OFF_DACL_POS, MBX_SD_DACL_PRESENT, off_dacl, &sd->dacl);
	dec_acl(&d, "SACL", "OffsetSacl", OFF_SACL_POS, MBX_SD_SACL_PRESENT, off_sacl, &sd->sacl);
	dec_check_overlap(&d);
	rd_take_error(r, &s);
}

int mbx_secdesc_decode(const void *buf, size_t len, struct mbx_secdesc *sd_r, struct rd *err_r)
{
	struct rd r;

	rd_init(&r, buf, len, 0);
	rd_secdesc(&r, len, sd_r, NULL);
	if (err_r != NULL)
		*err_r = r;
	return rd_ok(&r) ? 0 : -1;
}

/* ---- validation and encoder ------------------------------------------------------------ */

static bool sid_encodable(const struct mbx_sid *sid)
{
	return sid->revision == 1 && sid->count <= MBX_SID_MAX_SUBAUTH &&
	       sid->authority <= 0xFFFFFFFFFFFFULL;
}

static size_t ace_size(const struct mbx_ace *ace)
{
	return ace_fixed_size(ace->object, ace->object_flags) + mbx_sid_size(&ace->sid) +
	       ace->extra_len;
}

static const char *ace_invalid(const struct mbx_ace *ace, unsigned acl_rev)
{
	size_t size;

	if (!ace_type_known(ace->type))
		return "an ACE has an unsupported AceType";
	if (ace->object != mbx_secdesc_ace_is_object(ace->type))
		return "an ACE's object field does not match its AceType";
	if (ace->object && acl_rev < MBX_SD_ACL_REVISION_DS)
		return "an object ACE is in an ACL of revision 2 (needs 4)";
	if (!sid_encodable(&ace->sid))
		return "an ACE's SID is invalid (revision not 1, over 15 sub-authorities, or "
		       "authority over 48 bits)";
	if (ace->extra_len > 0 && ace->extra == NULL)
		return "an ACE has extra_len but no extra bytes";
	size = ace_size(ace);
	if (size > UINT16_MAX)
		return "an ACE is larger than 65535 bytes";
	if (size % 4 != 0)
		return "an ACE's size is not a multiple of 4";
	return NULL;
}

/* Checks one ACL and its ACEs; *size_r gets its encoded size (0 when absent or NULL). */
static const char *acl_invalid(const struct mbx_secdesc *sd, const struct mbx_acl *acl,
                               uint16_t present_bit, const struct mbx_ace *aces, size_t *size_r)
{
	size_t size = MBX_SD_ACL_HEADER_SIZE;
	const char *why;

	*size_r = 0;
	if (acl->present != ((sd->control & present_bit) != 0))
		return "Control's SE_DACL_PRESENT/SE_SACL_PRESENT disagrees with the ACL's present";
	if (!acl->present) {
		if (acl->null || acl->nace > 0)
			return "an absent ACL is marked NULL or holds ACEs";
		return NULL;
	}
	if (acl->null) {
		if (acl->nace > 0)
			return "a NULL ACL holds ACEs";
		return NULL;
	}
	if (acl->revision != MBX_SD_ACL_REVISION && acl->revision != MBX_SD_ACL_REVISION_DS)
		return "an ACL revision is not 2 or 4";
	for (unsigned i = 0; i < acl->nace; i++) {
		why = ace_invalid(&aces[i], acl->revision);
		if (why != NULL)
			return why;
		size += ace_size(&aces[i]);
	}
	if (size > UINT16_MAX)
		return "an ACL is larger than 65535 bytes";
	*size_r = size;
	return NULL;
}

/* Validates sd and computes the sizes of its parts. */
static const char *sd_layout(const struct mbx_secdesc *sd, size_t *dacl_size_r, size_t *sacl_size_r)
{
	const char *why;

	if (!(sd->control & MBX_SD_SELF_RELATIVE))
		return "Control lacks SE_SELF_RELATIVE";
	if (sd->dacl.nace > MBX_SD_MAX_ACES || sd->sacl.nace > MBX_SD_MAX_ACES - sd->dacl.nace)
		return "more than MBX_SD_MAX_ACES ACEs";
	if (sd->nace != sd->dacl.nace + sd->sacl.nace)
		return "nace is not dacl.nace + sacl.nace";
	if (sd->has_owner && !sid_encodable(&sd->owner))
		return "the owner SID is invalid";
	if (sd->has_group && !sid_encodable(&sd->group))
		return "the group SID is invalid";
	why = acl_invalid(sd, &sd->dacl, MBX_SD_DACL_PRESENT, sd->aces, dacl_size_r);
	if (why != NULL)
		return why;
	return acl_invalid(sd, &sd->sacl, MBX_SD_SACL_PRESENT, sd->aces + sd->dacl.nace,
	                   sacl_size_r);
}

const char *mbx_secdesc_invalid(const struct mbx_secdesc *sd)
{
	size_t dsize, ssize;

	return sd_layout(sd, &dsize, &ssize);
}

size_t mbx_secdesc_encoded_size(const struct mbx_secdesc *sd)
{
	size_t dsize, ssize;

	if (sd_layout(sd, &dsize, &ssize) != NULL)
		return 0;
	return MBX_SD_HEADER_SIZE + (sd->has_owner ? mbx_sid_size(&sd->owner) : 0) +
	       (sd->has_group ? mbx_sid_size(&sd->group) : 0) + ssize + dsize;
}

static void enc_acl(struct wr *w, const struct mbx_acl *acl, const struct mbx_ace *aces,
                    size_t size)
{
	wr_u8(w, acl->revision);
	wr_u8(w, 0);
	wr_u16le(w, (uint16_t)size);
	wr_u16le(w, (uint16_t)acl->nace);
	wr_u16le(w, 0);
	for (unsigned i = 0; i < acl->nace; i++) {
		const struct mbx_ace *ace = &aces[i];

		wr_u8(w, ace->type);
		wr_u8(w, ace->flags);
		wr_u16le(w, (uint16_t)ace_size(ace));
		wr_u32le(w, ace->mask);
		if (ace->object) {
			wr_u32le(w, ace->object_flags);
			if (ace->object_flags & MBX_SD_ACE_OBJECT_TYPE_PRESENT)
				wr_bytes(w, ace->object_type.b, 16);
			if (ace->object_flags & MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT)
				wr_bytes(w, ace->inherited_object_type.b, 16);
		}
		wr_sid(w, &ace->sid);
		if (ace->extra_len > 0)
			wr_bytes(w, ace->extra, ace->extra_len);
	}
}

int mbx_secdesc_encode(struct wr *w, const struct mbx_secdesc *sd)
{
	size_t dsize, ssize, pos = MBX_SD_HEADER_SIZE;
	size_t owner_size = sd->has_owner ? mbx_sid_size(&sd->owner) : 0;
	size_t group_size = sd->has_group ? mbx_sid_size(&sd->group) : 0;
	uint32_t off_owner = 0, off_group = 0, off_sacl = 0, off_dacl = 0;

	if (sd_layout(sd, &dsize, &ssize) != NULL)
		return -1;
	if (sd->has_owner) {
		off_owner = (uint32_t)pos;
		pos += owner_size;
	}
	if (sd->has_group) {
		off_group = (uint32_t)pos;
		pos += group_size;
	}
	if (ssize > 0) {
		off_sacl = (uint32_t)pos;
		pos += ssize;
	}
	if (dsize > 0)
		off_dacl = (uint32_t)pos;

	wr_u8(w, 1);
	wr_u8(w, sd->rm_control);
	wr_u16le(w, sd->control);
	wr_u32le(w, off_owner);
	wr_u32le(w, off_group);
	wr_u32le(w, off_sacl);
	wr_u32le(w, off_dacl);
	if (sd->has_owner)
		wr_sid(w, &sd->owner);
	if (sd->has_group)
		wr_sid(w, &sd->group);
	if (ssize > 0)
		enc_acl(w, &sd->sacl, sd->aces + sd->dacl.nace, ssize);
	if (dsize > 0)
		enc_acl(w, &sd->dacl, sd->aces, dsize);
	return wr_ok(w) ? 0 : -1;
}

/* ---- equality and builders ------------------------------------------------------------- */

static bool ace_equal(const struct mbx_ace *a, const struct mbx_ace *b)
{
	if (a->type != b->type || a->flags != b->flags || a->mask != b->mask ||
	    a->object != b->object || a->extra_len != b->extra_len ||
	    !mbx_sid_equal(&a->sid, &b->sid))
		return false;
	if (a->object) {
		if (a->object_flags != b->object_flags)
			return false;
		if ((a->object_flags & MBX_SD_ACE_OBJECT_TYPE_PRESENT) &&
		    memcmp(a->object_type.b, b->object_type.b, 16) != 0)
			return false;
		if ((a->object_flags & MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT) &&
		    memcmp(a->inherited_object_type.b, b->inherited_object_type.b, 16) != 0)
			return false;
	}
	return a->extra_len == 0 || memcmp(a->extra, b->extra, a->extra_len) == 0;
}

static bool acl_equal(const struct mbx_acl *a, const struct mbx_acl *b)
{
	if (a->present != b->present || a->null != b->null || a->nace != b->nace)
		return false;
	return !a->present || a->null || a->revision == b->revision;
}

bool mbx_secdesc_equal(const struct mbx_secdesc *a, const struct mbx_secdesc *b)
{
	if (a->control != b->control || a->rm_control != b->rm_control ||
	    a->has_owner != b->has_owner || a->has_group != b->has_group || a->nace != b->nace ||
	    a->nace > MBX_SD_MAX_ACES)
		return false;
	if (a->has_owner && !mbx_sid_equal(&a->owner, &b->owner))
		return false;
	if (a->has_group && !mbx_sid_equal(&a->group, &b->group))
		return false;
	if (!acl_equal(&a->dacl, &b->dacl) || !acl_equal(&a->sacl, &b->sacl))
		return false;
	for (unsigned i = 0; i < a->nace; i++) {
		if (!ace_equal(&a->aces[i], &b->aces[i]))
			return false;
	}
	return true;
}

void mbx_secdesc_init(struct mbx_secdesc *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->control = MBX_SD_SELF_RELATIVE | MBX_SD_DACL_PRESENT;
	sd->dacl.present = true;
	sd->dacl.revision = MBX_SD_ACL_REVISION;
}

void mbx_secdesc_ace_set(struct mbx_ace *ace, uint8_t type, uint8_t flags, uint32_t mask,
                         const struct mbx_sid *sid)
{
	memset(ace, 0, sizeof(*ace));
	ace->type = type;
	ace->flags = flags;
	ace->mask = mask;
	ace->object = mbx_secdesc_ace_is_object(type);
	ace->sid = *sid;
}

int mbx_secdesc_dacl_add(struct mbx_secdesc *sd, const struct mbx_ace *ace)
{
	unsigned at = sd->dacl.nace;

	if (sd->nace >= MBX_SD_MAX_ACES || at > sd->nace)
		return -1;
	memmove(&sd->aces[at + 1], &sd->aces[at], (sd->nace - at) * sizeof(sd->aces[0]));
	sd->aces[at] = *ace;
	sd->dacl.nace++;
	sd->nace++;
	sd->control |= MBX_SD_DACL_PRESENT;
	if (!sd->dacl.present || sd->dacl.null || sd->dacl.revision < MBX_SD_ACL_REVISION)
		sd->dacl.revision = MBX_SD_ACL_REVISION;
	sd->dacl.present = true;
	sd->dacl.null = false;
	if (ace->object)
		sd->dacl.revision = MBX_SD_ACL_REVISION_DS;
	return 0;
}

/* ---- access check ---------------------------------------------------------------------- */

const char *mbx_access_name(enum mbx_access a)
{
	return a == MBX_ACCESS_GRANTED ? "granted" : "denied";
}

enum ace_effect { EFFECT_NONE, EFFECT_ALLOW, EFFECT_DENY };

/* What an ACE does to the object itself during the DACL walk (see secdesc.h). */
static enum ace_effect ace_effect(const struct mbx_ace *ace)
{
	bool has_object_type =
	        ace->object && (ace->object_flags & MBX_SD_ACE_OBJECT_TYPE_PRESENT) != 0;

	if (ace->flags & MBX_SD_ACE_INHERIT_ONLY)
		return EFFECT_NONE;
	switch (ace->type) {
	case MBX_SD_ACE_ACCESS_ALLOWED:
		return EFFECT_ALLOW;
	case MBX_SD_ACE_ACCESS_ALLOWED_OBJECT:
		return has_object_type ? EFFECT_NONE : EFFECT_ALLOW;
	case MBX_SD_ACE_ACCESS_DENIED:
	case MBX_SD_ACE_ACCESS_DENIED_CALLBACK:
		return EFFECT_DENY;
	case MBX_SD_ACE_ACCESS_DENIED_OBJECT:
	case MBX_SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT:
		return has_object_type ? EFFECT_NONE : EFFECT_DENY;
	default:
		return EFFECT_NONE;
	}
}

/* Does the principal hold the SID an ACE names? */
static bool holds_sid(const struct mbx_sid *ace_sid, const struct mbx_sid *principal,
                      const struct mbx_sid *groups, size_t ngroups, const struct mbx_sid *self_sid)
{
	const struct mbx_sid *sid = ace_sid;

	if (mbx_sid_equal(sid, &mbx_sid_self)) {
		if (self_sid == NULL)
			return false;
		sid = self_sid;
	}
	if (mbx_sid_equal(sid, &mbx_sid_everyone) || mbx_sid_equal(sid, &sid_authenticated_users))
		return true;
	if (principal != NULL && mbx_sid_equal(sid, principal))
		return true;
	for (size_t i = 0; i < ngroups; i++) {
		if (mbx_sid_equal(sid, &groups[i]))
			return true;
	}
	return false;
}

enum mbx_access mbx_secdesc_check(const struct mbx_secdesc *sd, const struct mbx_sid *principal,
                                  const struct mbx_sid *groups, size_t ngroups,
                                  const struct mbx_sid *self_sid, uint32_t wanted)
{
	uint32_t remaining = wanted;
	unsigned n;

	if (wanted == 0)
		return MBX_ACCESS_DENIED;
	if (!sd->dacl.present || sd->dacl.null)
		return MBX_ACCESS_GRANTED;
	if (groups == NULL)
		ngroups = 0;
	n = sd->dacl.nace <= MBX_SD_MAX_ACES ? sd->dacl.nace : MBX_SD_MAX_ACES;
	for (unsigned i = 0; i < n && remaining != 0; i++) {
		const struct mbx_ace *ace = &sd->aces[i];
		enum ace_effect effect = ace_effect(ace);

		if (effect == EFFECT_NONE ||
		    !holds_sid(&ace->sid, principal, groups, ngroups, self_sid))
			continue;
		if (effect == EFFECT_DENY && (ace->mask & remaining) != 0)
			return MBX_ACCESS_DENIED;
		if (effect == EFFECT_ALLOW)
			remaining &= ~ace->mask;
	}
	return remaining == 0 ? MBX_ACCESS_GRANTED : MBX_ACCESS_DENIED;
}
