/*
 * test-secdesc.c: self-relative security descriptors (include/mbx/secdesc.h; MS-DTYP 2.4.6
 * SECURITY_DESCRIPTOR, 2.4.5 ACL, 2.4.4 ACEs) and the mailbox access check (MS-DTYP 2.5.3.2
 * order). Every valid vector below was written by hand from the spec layout; the comments give
 * each field.
 */
#include "mbx-test.h"

#include "mbx/secdesc.h"
#include "mbx/sid.h"

/* --- SIDs (MS-DTYP 2.4.2.2: revision, count, 6-byte BE authority, LE sub-authorities) ---- */

#define SID_1104                                                                                   \
	"01 05 00 00 00 00 00 05 15 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 50 04 00 00"
#define SID_1105                                                                                   \
	"01 05 00 00 00 00 00 05 15 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 51 04 00 00"
#define SID_513                                                                                    \
	"01 05 00 00 00 00 00 05 15 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 01 02 00 00"
#define SID_EVERYONE "01 01 00 00 00 00 00 01 00 00 00 00"
#define SID_SELF "01 01 00 00 00 00 00 05 0a 00 00 00"
#define SID_ADMINS "01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00"
#define SID_SYSTEM "01 01 00 00 00 00 00 05 12 00 00 00"
#define SID_AUTH_USERS "01 01 00 00 00 00 00 05 0b 00 00 00"

/* Send-As extended right ab721a54-1e2f-11d0-9819-00aa0040529b and the user class
 * bf967aba-0de6-11d0-a285-00aa003049e2, in GUID wire order (MS-DTYP 2.3.4.2). */
#define GUID_SEND_AS "54 1a 72 ab 2f 1e d0 11 98 19 00 aa 00 40 52 9b"
#define GUID_USER "ba 7a 96 bf e6 0d d0 11 a2 85 00 aa 00 30 49 e2"

/* A: one ACCESS_ALLOWED ACE granting FullAccess (0x1) to S-1-5-21-1-2-3-1104. 64 bytes. */
static const char vec_a[] =
        /* Revision 1, Sbz1 0, Control 0x8004 (SELF_RELATIVE | DACL_PRESENT) */
        "01 00 04 80"
        /* OffsetOwner 0, OffsetGroup 0, OffsetSacl 0, OffsetDacl 20 */
        "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
        /* @20 ACL: AclRevision 2, Sbz1, AclSize 44, AceCount 1, Sbz2 */
        "02 00 2c 00 01 00 00 00"
        /* @28 ACE: type 0 ALLOWED, flags 0, AceSize 36, Mask 0x00000001, SID */
        "00 00 24 00 01 00 00 00" SID_1104;

/* B: owner BUILTIN\Administrators, group SYSTEM, DACL: deny 1104 FullAccess, then allow
 * Everyone FullAccess|ReadPermission. 112 bytes. */
static const char vec_b[] =
        /* Revision 1, Sbz1 0, Control 0x8004 */
        "01 00 04 80"
        /* OffsetOwner 20, OffsetGroup 36, OffsetSacl 0, OffsetDacl 48 */
        "14 00 00 00 24 00 00 00 00 00 00 00 30 00 00 00"
        /* @20 owner, @36 group */
        SID_ADMINS SID_SYSTEM
        /* @48 ACL: rev 2, AclSize 64, AceCount 2 */
        "02 00 40 00 02 00 00 00"
        /* @56 DENIED, AceSize 36, Mask 0x1 */
        "01 00 24 00 01 00 00 00" SID_1104
        /* @92 ALLOWED, AceSize 20, Mask 0x00020001 */
        "00 00 14 00 01 00 02 00" SID_EVERYONE;

/* C: an INHERIT_ONLY|CONTAINER_INHERIT allow for 1104 (skipped for the object itself), then an
 * allow FullAccess for the group S-1-5-21-1-2-3-513. 100 bytes. */
static const char vec_c[] = "01 00 04 80"
                            "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                            /* @20 ACL: rev 2, AclSize 80, AceCount 2 */
                            "02 00 50 00 02 00 00 00"
                            /* @28 ALLOWED, flags 0x0a, AceSize 36, Mask 0x1 */
                            "00 0a 24 00 01 00 00 00" SID_1104
                            /* @64 ALLOWED, flags 0, AceSize 36, Mask 0x1 */
                            "00 00 24 00 01 00 00 00" SID_513;

/* D: SELF granted FullAccess|ExternalAccount|ReadPermission (0x00020005), the shape of an
 * "associated external account = SELF" mailbox. 48 bytes. */
static const char vec_d[] = "01 00 04 80"
                            "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                            /* @20 ACL: rev 2, AclSize 28, AceCount 1 */
                            "02 00 1c 00 01 00 00 00"
                            /* @28 ALLOWED, AceSize 20, Mask 0x00020005 */
                            "00 00 14 00 05 00 02 00" SID_SELF;

/* E: object ACEs in a revision-4 DACL and a SACL placed after the DACL. Control 0x8014
 * (SELF_RELATIVE | SACL_PRESENT | DACL_PRESENT). 192 bytes. */
static const char vec_e[] =
        "01 00 14 80"
        /* OffsetOwner 0, OffsetGroup 0, OffsetSacl 164, OffsetDacl 20 */
        "00 00 00 00 00 00 00 00 a4 00 00 00 14 00 00 00"
        /* @20 DACL: rev 4, AclSize 144, AceCount 3 */
        "04 00 90 00 03 00 00 00"
        /* @28 DENIED_OBJECT, AceSize 40, Mask 0x1, Flags 1 (ObjectType), Send-As, Everyone */
        "06 00 28 00 01 00 00 00 01 00 00 00" GUID_SEND_AS SID_EVERYONE
        /* @68 ALLOWED_OBJECT, AceSize 40, Mask 0x1, Flags 0 (no GUIDs), 1104 */
        "05 00 28 00 01 00 00 00 00 00 00 00" SID_1104
        /* @108 DENIED_OBJECT, AceSize 56, Mask 0x1, Flags 2 (InheritedObjectType), user, 1105 */
        "06 00 38 00 01 00 00 00 02 00 00 00" GUID_USER SID_1105
        /* @164 SACL: rev 2, AclSize 28, AceCount 1 */
        "02 00 1c 00 01 00 00 00"
        /* @172 SYSTEM_AUDIT, flags 0xc0 (success|failure), AceSize 20, Mask 0x00010000 */
        "02 c0 14 00 00 00 01 00" SID_EVERYONE;

/* F: callback ACEs with ApplicationData and a plain ACE with 4 bytes of padding. 132 bytes. */
static const char vec_f[] = "01 00 04 80"
                            "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                            /* @20 ACL: rev 2, AclSize 112, AceCount 3 */
                            "02 00 70 00 03 00 00 00"
                            /* @28 ALLOWED_CALLBACK, AceSize 24, Mask 0x1, Everyone, "artx" */
                            "09 00 18 00 01 00 00 00" SID_EVERYONE "61 72 74 78"
                            /* @52 DENIED_CALLBACK, AceSize 40, Mask 0x1, 1105, "artx" */
                            "0a 00 28 00 01 00 00 00" SID_1105 "61 72 74 78"
                            /* @92 ALLOWED, AceSize 40, Mask 0x1, 1104, 4 padding bytes */
                            "00 00 28 00 01 00 00 00" SID_1104 "00 00 00 00";

/* NULL DACL: DACL_PRESENT with OffsetDacl 0. */
static const char vec_null_dacl[] = "01 00 04 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
/* No DACL at all. */
static const char vec_no_dacl[] = "01 00 00 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
/* Empty DACL: present, no ACEs. */
static const char vec_empty_dacl[] = "01 00 04 80 00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                                     "02 00 08 00 00 00 00 00";
/* A with resource-manager control bits: Sbz1 0x01, Control 0xc004 (RM_CONTROL_VALID). */
static const char vec_rm[] = "01 01 04 c0"
                             "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                             "02 00 2c 00 01 00 00 00"
                             "00 00 24 00 01 00 00 00" SID_1104;

/* Valid vectors that the encoder writes back byte for byte (owner, group, SACL, DACL order). */
static const char *const canonical_vectors[] = {
        vec_a, vec_b, vec_c, vec_d, vec_f, vec_null_dacl, vec_no_dacl, vec_empty_dacl, vec_rm};

/* Large structures live here rather than on the stack. */
static struct mbx_secdesc sd1, sd2;

static struct mbx_sid sid(const char *s)
{
	struct mbx_sid v;

	if (mbx_sid_from_str(s, &v) != 0)
		fail_msg("bad SID string %s", s);
	return v;
}

/* Decodes hex; fails the test if it does not decode. The buffer stays allocated (ACE extra
 * bytes point into it) and is returned. */
static uint8_t *decode_ok(const char *hex, size_t *len_r, struct mbx_secdesc *sd)
{
	uint8_t *buf = mbx_test_hex(hex, len_r);
	struct rd err;

	if (mbx_secdesc_decode(buf, *len_r, sd, &err) != 0)
		fail_msg("decode failed at %zu: %s", err.err_off, err.err_msg);
	return buf;
}

static void expect_bytes_error(const uint8_t *buf, size_t len, size_t off, const char *substr)
{
	uint8_t *copy = malloc(len > 0 ? len : 1); /* exact size: ASan sees any overread */
	struct rd err;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	assert_int_equal(mbx_secdesc_decode(copy, len, &sd1, &err), -1);
	assert_false(rd_ok(&err));
	if (strstr(err.err_msg, substr) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.err_msg, substr);
	if (err.err_off != off)
		fail_msg("error \"%s\" at offset %zu, expected %zu", err.err_msg, err.err_off, off);
	free(copy);
}

static void expect_hex_error(const char *hex, size_t off, const char *substr)
{
	size_t n;
	uint8_t *buf = mbx_test_hex(hex, &n);

	expect_bytes_error(buf, n, off, substr);
	free(buf);
}

enum patch_width { P8 = 1, P16 = 2, P32 = 4 };

/* A copy of hex with one little-endian field replaced. */
static uint8_t *patched(const char *hex, size_t *len_r, size_t at, enum patch_width width,
                        uint32_t v)
{
	uint8_t *buf = mbx_test_hex(hex, len_r);

	assert_true(at + width <= *len_r);
	for (unsigned i = 0; i < width; i++)
		buf[at + i] = (uint8_t)(v >> (8 * i));
	return buf;
}

static void expect_patch_error(const char *hex, size_t at, enum patch_width width, uint32_t v,
                               size_t off, const char *substr)
{
	size_t n;
	uint8_t *buf = patched(hex, &n, at, width, v);

	expect_bytes_error(buf, n, off, substr);
	free(buf);
}

static void expect_patch_ok(const char *hex, size_t at, enum patch_width width, uint32_t v,
                            struct mbx_secdesc *sd)
{
	size_t n;
	uint8_t *buf = patched(hex, &n, at, width, v);
	struct rd err;

	if (mbx_secdesc_decode(buf, n, sd, &err) != 0)
		fail_msg("patched vector failed at %zu: %s", err.err_off, err.err_msg);
	free(buf);
}

/* Encodes sd into a fresh buffer; checks the size function agrees. */
static uint8_t *encode(const struct mbx_secdesc *sd, size_t *len_r)
{
	size_t size = mbx_secdesc_encoded_size(sd);
	uint8_t *out = malloc(size + 16);
	struct wr w;

	assert_non_null(out);
	assert_true(size >= MBX_SD_HEADER_SIZE);
	wr_init(&w, out, size + 16);
	assert_int_equal(mbx_secdesc_encode(&w, sd), 0);
	assert_int_equal(w.len, size);
	*len_r = size;
	return out;
}

/* --- valid vectors ----------------------------------------------------------------------- */

static void test_vector_a(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_a, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104");

	assert_int_equal(n, 64);
	assert_int_equal(sd1.control, 0x8004);
	assert_int_equal(sd1.rm_control, 0);
	assert_false(sd1.has_owner);
	assert_false(sd1.has_group);
	assert_true(sd1.dacl.present);
	assert_false(sd1.dacl.null);
	assert_int_equal(sd1.dacl.revision, 2);
	assert_int_equal(sd1.dacl.nace, 1);
	assert_false(sd1.sacl.present);
	assert_int_equal(sd1.nace, 1);
	assert_int_equal(sd1.aces[0].type, MBX_SD_ACE_ACCESS_ALLOWED);
	assert_int_equal(sd1.aces[0].flags, 0);
	assert_int_equal(sd1.aces[0].mask, MBX_SD_RIGHT_FULL_ACCESS);
	assert_false(sd1.aces[0].object);
	assert_true(mbx_sid_equal(&sd1.aces[0].sid, &s1104));
	assert_int_equal(sd1.aces[0].extra_len, 0);
	assert_null(sd1.aces[0].extra);

	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	struct mbx_sid other = sid("S-1-5-21-1-2-3-1105");
	assert_int_equal(mbx_secdesc_check(&sd1, &other, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	/* Only FullAccess is granted: asking for more is denied. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL,
	                                   MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_READ_PERMISSION),
	                 MBX_ACCESS_DENIED);
	free(buf);
}

static void test_vector_b_deny_then_allow(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_b, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s1105 = sid("S-1-5-21-1-2-3-1105");
	struct mbx_sid admins = sid("S-1-5-32-544"), system = sid("S-1-5-18");

	assert_int_equal(n, 112);
	assert_true(sd1.has_owner);
	assert_true(mbx_sid_equal(&sd1.owner, &admins));
	assert_true(sd1.has_group);
	assert_true(mbx_sid_equal(&sd1.group, &system));
	assert_int_equal(sd1.dacl.nace, 2);
	assert_int_equal(sd1.aces[0].type, MBX_SD_ACE_ACCESS_DENIED);
	assert_int_equal(sd1.aces[1].type, MBX_SD_ACE_ACCESS_ALLOWED);
	assert_int_equal(sd1.aces[1].mask, 0x00020001);
	assert_true(mbx_sid_equal(&sd1.aces[1].sid, &mbx_sid_everyone));

	/* The deny comes first and names a wanted bit. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	/* Everyone else gets it through the Everyone ACE. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	/* The deny names only FullAccess: ReadPermission still comes through for 1104. */
	assert_int_equal(
	        mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_READ_PERMISSION),
	        MBX_ACCESS_GRANTED);
	/* Denied also when 1104 arrives as a group of another principal. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, &s1104, 1, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);

	/* The same ACEs in the other order: the allow is met first and wins. */
	struct mbx_ace deny = sd1.aces[0];
	sd1.aces[0] = sd1.aces[1];
	sd1.aces[1] = deny;
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	free(buf);
}

static void test_vector_c_group_and_inherit_only(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_c, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s513 = sid("S-1-5-21-1-2-3-513");
	struct mbx_sid groups[3] = {sid("S-1-5-32-545"), s513, sid("S-1-5-21-1-2-3-1200")};

	assert_int_equal(sd1.aces[0].flags, MBX_SD_ACE_INHERIT_ONLY | MBX_SD_ACE_CONTAINER_INHERIT);
	/* The only ACE naming 1104 itself is INHERIT_ONLY. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, groups, 1, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, groups, 3, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	/* No principal SID, only groups. */
	assert_int_equal(
	        mbx_secdesc_check(&sd1, NULL, &groups[1], 1, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	        MBX_ACCESS_GRANTED);
	free(buf);
}

static void test_vector_d_self(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_d, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s1105 = sid("S-1-5-21-1-2-3-1105");
	uint32_t want = MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT;

	assert_true(mbx_sid_equal(&sd1.aces[0].sid, &mbx_sid_self));
	assert_int_equal(sd1.aces[0].mask, 0x00020005);
	/* SELF names the account the mailbox belongs to. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, &s1104, want),
	                 MBX_ACCESS_GRANTED);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, NULL, 0, &s1104, want), MBX_ACCESS_DENIED);
	/* Through a group: the mailbox account is one of the principal's SIDs. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, &s1104, 1, &s1104, want),
	                 MBX_ACCESS_GRANTED);
	/* Without a self SID, SELF matches nobody, not even a principal holding S-1-5-10. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, want), MBX_ACCESS_DENIED);
	assert_int_equal(mbx_secdesc_check(&sd1, &mbx_sid_self, NULL, 0, NULL, want),
	                 MBX_ACCESS_DENIED);
	free(buf);
}

static void test_vector_e_object_aces_and_sacl(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_e, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s1105 = sid("S-1-5-21-1-2-3-1105");
	struct mbx_sid s1106 = sid("S-1-5-21-1-2-3-1106");
	struct mbx_guid send_as, user;
	size_t gn;
	uint8_t *g;

	g = mbx_test_hex(GUID_SEND_AS, &gn);
	memcpy(send_as.b, g, 16);
	free(g);
	g = mbx_test_hex(GUID_USER, &gn);
	memcpy(user.b, g, 16);
	free(g);

	assert_int_equal(n, 192);
	assert_int_equal(sd1.control, 0x8014);
	assert_int_equal(sd1.dacl.revision, 4);
	assert_int_equal(sd1.dacl.nace, 3);
	assert_true(sd1.sacl.present);
	assert_int_equal(sd1.sacl.revision, 2);
	assert_int_equal(sd1.sacl.nace, 1);
	assert_int_equal(sd1.nace, 4);

	assert_true(sd1.aces[0].object);
	assert_int_equal(sd1.aces[0].type, MBX_SD_ACE_ACCESS_DENIED_OBJECT);
	assert_int_equal(sd1.aces[0].object_flags, MBX_SD_ACE_OBJECT_TYPE_PRESENT);
	assert_memory_equal(sd1.aces[0].object_type.b, send_as.b, 16);
	assert_true(mbx_sid_equal(&sd1.aces[0].sid, &mbx_sid_everyone));

	assert_true(sd1.aces[1].object);
	assert_int_equal(sd1.aces[1].object_flags, 0);
	assert_true(mbx_sid_equal(&sd1.aces[1].sid, &s1104));

	assert_int_equal(sd1.aces[2].object_flags, MBX_SD_ACE_INHERITED_OBJECT_TYPE_PRESENT);
	assert_memory_equal(sd1.aces[2].inherited_object_type.b, user.b, 16);
	assert_true(mbx_guid_is_null(&sd1.aces[2].object_type));
	assert_true(mbx_sid_equal(&sd1.aces[2].sid, &s1105));

	/* The SACL's ACE follows the DACL's in aces[]. */
	assert_int_equal(sd1.aces[3].type, MBX_SD_ACE_SYSTEM_AUDIT);
	assert_int_equal(sd1.aces[3].flags,
	                 MBX_SD_ACE_SUCCESSFUL_ACCESS | MBX_SD_ACE_FAILED_ACCESS);
	assert_int_equal(sd1.aces[3].mask, 0x00010000);

	/* ACE 0 (deny Everyone with an ObjectType) concerns the Send-As right, not the object:
	 * ignored. ACE 1 (allow, no ObjectType) acts as a plain allow. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	/* ACE 2 (deny, only an InheritedObjectType) acts as a plain deny. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1106, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	/* The SACL's audit ACE for Everyone grants nothing. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1106, NULL, 0, NULL, 0x00010000),
	                 MBX_ACCESS_DENIED);
	free(buf);
}

static void test_vector_f_callback_and_padding(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_f, &n, &sd1);
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s1105 = sid("S-1-5-21-1-2-3-1105");
	struct mbx_sid s1106 = sid("S-1-5-21-1-2-3-1106");

	assert_int_equal(sd1.dacl.nace, 3);
	assert_int_equal(sd1.aces[0].type, MBX_SD_ACE_ACCESS_ALLOWED_CALLBACK);
	assert_int_equal(sd1.aces[0].extra_len, 4);
	assert_ptr_equal(sd1.aces[0].extra, buf + 48);
	assert_memory_equal(sd1.aces[0].extra, "artx", 4);
	assert_int_equal(sd1.aces[1].extra_len, 4);
	assert_int_equal(sd1.aces[2].extra_len, 4);
	assert_memory_equal(sd1.aces[2].extra, "\0\0\0\0", 4);

	/* Allow-callback ACEs are not applied (their condition is not evaluated)... */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1106, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	/* ...deny-callback ACEs are, to fail safe. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1105, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	free(buf);
}

static void test_dacl_presence(void **state)
{
	size_t n;
	uint8_t *buf;
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104");

	buf = decode_ok(vec_null_dacl, &n, &sd1);
	assert_true(sd1.dacl.present);
	assert_true(sd1.dacl.null);
	assert_int_equal(sd1.nace, 0);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	assert_int_equal(mbx_secdesc_check(&sd1, NULL, NULL, 0, NULL, 0xFFFFFFFF),
	                 MBX_ACCESS_GRANTED);
	free(buf);

	buf = decode_ok(vec_no_dacl, &n, &sd1);
	assert_false(sd1.dacl.present);
	assert_false(sd1.dacl.null);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	free(buf);

	buf = decode_ok(vec_empty_dacl, &n, &sd1);
	assert_true(sd1.dacl.present);
	assert_false(sd1.dacl.null);
	assert_int_equal(sd1.dacl.nace, 0);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);
	free(buf);

	/* SACL_PRESENT with OffsetSacl 0: a NULL SACL. */
	expect_patch_ok(vec_a, 2, P16, 0x8014, &sd1);
	assert_true(sd1.sacl.present);
	assert_true(sd1.sacl.null);
	assert_int_equal(sd1.nace, 1);
}

static void test_rm_control_and_slack(void **state)
{
	size_t n;
	uint8_t *buf = decode_ok(vec_rm, &n, &sd1);
	uint8_t *big;
	struct rd err;

	assert_int_equal(sd1.rm_control, 1);
	assert_int_equal(sd1.control, 0xc004);
	free(buf);

	/* Bytes after the last part are slack and ignored. */
	buf = decode_ok(vec_a, &n, &sd2);
	big = calloc(1, n + 8);
	assert_non_null(big);
	memcpy(big, buf, n);
	assert_int_equal(mbx_secdesc_decode(big, n + 8, &sd1, &err), 0);
	assert_true(mbx_secdesc_equal(&sd1, &sd2));
	free(big);

	/* Free space inside the ACL (AclSize beyond the last ACE) too: AclSize 48 + 4 bytes. */
	big = calloc(1, n + 4);
	assert_non_null(big);
	memcpy(big, buf, n);
	big[22] = 48;
	assert_int_equal(mbx_secdesc_decode(big, n + 4, &sd1, &err), 0);
	assert_true(mbx_secdesc_equal(&sd1, &sd2));
	free(big);
	free(buf);
}

/* rd_secdesc inside a larger buffer: offsets are relative to the descriptor, errors absolute. */
static void test_rd_secdesc_embedded(void **state)
{
	size_t n;
	uint8_t *sdb = mbx_test_hex(vec_a, &n);
	uint8_t buf[3 + 64 + 2];
	struct rd r;

	memset(buf, 0xEE, sizeof(buf));
	memcpy(buf + 3, sdb, n);
	rd_init(&r, buf, sizeof(buf), 100);
	rd_skip(&r, 3, NULL);
	rd_secdesc(&r, n, &sd1, "msExchMailboxSecurityDescriptor");
	assert_true(rd_ok(&r));
	assert_int_equal(rd_left(&r), 2);
	assert_int_equal(sd1.dacl.nace, 1);

	buf[3 + 30] = 5; /* AceSize 5 */
	rd_init(&r, buf, sizeof(buf), 100);
	rd_skip(&r, 3, NULL);
	rd_secdesc(&r, n, &sd1, NULL);
	assert_false(rd_ok(&r));
	assert_int_equal(r.err_off, 100 + 3 + 30);
	assert_non_null(strstr(r.err_msg, "AceSize 5 is not a multiple of 4"));

	/* Fewer bytes than n. */
	rd_init(&r, buf, 10, 0);
	rd_secdesc(&r, 64, &sd1, "msExchMailboxSecurityDescriptor");
	assert_false(rd_ok(&r));
	assert_non_null(strstr(r.err_msg, "msExchMailboxSecurityDescriptor"));
	free(sdb);
}

/* --- malformed descriptors -------------------------------------------------------------- */

static void test_bad_header(void **state)
{
	expect_hex_error("", 0, "need 20 bytes for the header, 0 given");
	expect_hex_error("01 00 04 80 00 00", 0, "need 20 bytes for the header, 6 given");
	expect_patch_error(vec_a, 0, P8, 2, 0, "Revision 2, expected 1");
	expect_patch_error(vec_a, 0, P8, 0, 0, "Revision 0, expected 1");
	expect_patch_error(vec_a, 2, P16, 0x0004, 2, "lacks SE_SELF_RELATIVE");
	expect_patch_error(vec_a, 2, P16, 0x7fff, 2, "lacks SE_SELF_RELATIVE");
}

/* Every offset field: past the end, into the header, at len - 1 (vector B, 112 bytes). */
static void test_bad_offsets(void **state)
{
	static const struct {
		size_t field;
		const char *name;
	} fields[] = {
	        {4, "OffsetOwner"}, {8, "OffsetGroup"}, {12, "OffsetSacl"}, {16, "OffsetDacl"}};
	char msg[96];

	for (size_t i = 0; i < 4; i++) {
		size_t n, f = fields[i].field;
		/* The SACL offset counts only with SACL_PRESENT. */
		uint8_t *base = patched(vec_b, &n, 2, P16, 0x8014);
		static const uint32_t past[] = {112, 113, 0x7FFFFFFF, 0xFFFFFFFF};
		static const uint32_t inside[] = {1, 8, 19};

		for (size_t k = 0; k < sizeof(past) / sizeof(past[0]); k++) {
			mbx_put_le32(base + f, past[k]);
			snprintf(msg, sizeof(msg), "%s %u points past the end (112 bytes)",
			         fields[i].name, past[k]);
			expect_bytes_error(base, n, f, msg);
		}
		for (size_t k = 0; k < sizeof(inside) / sizeof(inside[0]); k++) {
			mbx_put_le32(base + f, inside[k]);
			snprintf(msg, sizeof(msg), "%s %u points into the 20-byte header",
			         fields[i].name, inside[k]);
			expect_bytes_error(base, n, f, msg);
		}
		/* len - 1: one byte left, for a SID or an ACL header. */
		mbx_put_le32(base + f, 111);
		if (f == 4)
			expect_bytes_error(base, n, 111,
			                   "OwnerSid: need 8 bytes for the SID header");
		else if (f == 8)
			expect_bytes_error(base, n, 111,
			                   "GroupSid: need 8 bytes for the SID header");
		else if (f == 12)
			expect_bytes_error(base, n, 111,
			                   "SACL at 111: need 8 bytes for the ACL header, 1 left");
		else
			expect_bytes_error(base, n, 111,
			                   "DACL at 111: need 8 bytes for the ACL header, 1 left");
		free(base);
	}

	/* An ACL offset without its PRESENT bit. */
	expect_patch_error(vec_b, 12, P32, 48, 12,
	                   "OffsetSacl 48 is set but SE_SACL_PRESENT is clear");
	expect_patch_error(vec_b, 2, P16, 0x8000, 16,
	                   "OffsetDacl 48 is set but SE_DACL_PRESENT is clear");
	/* Owner SID cut by the end: OffsetOwner 100 is the Everyone SID of the last ACE, made to
	 * claim 2 sub-authorities (16 bytes) with 12 left. */
	{
		size_t n;
		uint8_t *b = patched(vec_b, &n, 4, P32, 100);

		b[101] = 2;
		expect_bytes_error(b, n, 108, "OwnerSid: 2 sub-authorities need 8 bytes, 4 left");
		free(b);
	}
}

static void test_overlap(void **state)
{
	/* DACL at 20 with AclSize 40 (12 bytes of free space), owner SID inside that free space. */
	expect_hex_error("01 00 04 80 30 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
	                 "02 00 28 00 01 00 00 00"
	                 "00 00 14 00 01 00 00 00" SID_EVERYONE SID_SYSTEM,
	                 20, "DACL at 20..60 overlaps OwnerSid at 48..60");
	/* Owner and group at the same offset. */
	expect_patch_error(vec_b, 8, P32, 20, 20, "GroupSid at 20..36 overlaps OwnerSid at 20..36");
	/* Group SID (12 bytes at 40) overlapping the owner's last bytes... no: starting inside the
	 * owner is caught as well when it parses (S-1-0-... here would not); use the SACL. */
	{
		size_t n;
		uint8_t *b = patched(vec_b, &n, 2, P16, 0x8014);

		mbx_put_le32(b + 12, 48); /* SACL = DACL */
		expect_bytes_error(b, n, 48, "SACL at 48..112 overlaps DACL at 48..112");
		free(b);
	}
}

/* AclSize, AceCount rows on vector A (ACL at 20: AclSize at 22, AceCount at 24; 44 bytes
 * from the ACL to the end). */
static void test_bad_acl(void **state)
{
	expect_patch_error(vec_a, 20, P8, 3, 20, "DACL AclRevision 3, expected 2 or 4");
	expect_patch_error(vec_a, 20, P8, 1, 20, "DACL AclRevision 1, expected 2 or 4");
	expect_patch_error(vec_a, 20, P8, 0, 20, "DACL AclRevision 0");
	expect_patch_ok(vec_a, 20, P8, 4, &sd1); /* plain ACEs are fine in a revision-4 ACL */
	assert_int_equal(sd1.dacl.revision, 4);

	expect_patch_error(vec_a, 22, P16, 0, 22,
	                   "DACL AclSize 0 is smaller than the 8-byte header");
	expect_patch_error(vec_a, 22, P16, 1, 22, "DACL AclSize 1 is smaller");
	expect_patch_error(vec_a, 22, P16, 7, 22, "DACL AclSize 7 is smaller");
	expect_patch_error(vec_a, 22, P16, 8, 24, "DACL AceCount 1 cannot fit in AclSize 8");
	expect_patch_error(vec_a, 22, P16, 43, 30,
	                   "DACL ACE 0: AceSize 36 exceeds the 35 bytes left in the ACL");
	expect_patch_ok(vec_a, 22, P16, 44, &sd1);
	expect_patch_error(vec_a, 22, P16, 45, 22,
	                   "DACL AclSize 45 exceeds the 44 bytes left in the descriptor");
	expect_patch_error(vec_a, 22, P16, 64, 22, "DACL AclSize 64 exceeds the 44 bytes left");
	expect_patch_error(vec_a, 22, P16, 65, 22, "DACL AclSize 65 exceeds the 44 bytes left");
	expect_patch_error(vec_a, 22, P16, 0xFFFF, 22, "DACL AclSize 65535 exceeds");

	/* AceCount 0: the ACE's bytes become free space. */
	expect_patch_ok(vec_a, 24, P16, 0, &sd1);
	assert_int_equal(sd1.dacl.nace, 0);
	assert_int_equal(sd1.nace, 0);
	expect_patch_ok(vec_a, 24, P16, 1, &sd1);
	assert_int_equal(sd1.dacl.nace, 1);
	/* 2 would fit 36 bytes of minimal ACEs, but the first one takes all of them. */
	expect_patch_error(vec_a, 24, P16, 2, 64,
	                   "DACL ACE 1: need 4 bytes for the ACE header, 0 left in the ACL");
	expect_patch_error(vec_a, 24, P16, 3, 24, "DACL AceCount 3 cannot fit in AclSize 44");
	expect_patch_error(vec_a, 24, P16, 65535, 24,
	                   "DACL AceCount 65535 cannot fit in AclSize 44");
}

/* AceSize rows on vector A (ACE at 28: AceSize at 30, Mask at 32, SID at 36). */
static void test_bad_ace(void **state)
{
	expect_patch_error(vec_a, 30, P16, 0, 30,
	                   "DACL ACE 0: AceSize 0 is smaller than the 4-byte header");
	expect_patch_error(vec_a, 30, P16, 3, 30, "DACL ACE 0: AceSize 3 is smaller");
	expect_patch_error(vec_a, 30, P16, 4, 32,
	                   "DACL ACE 0: AceSize 4 leaves no room for the Mask");
	expect_patch_error(vec_a, 30, P16, 5, 30, "DACL ACE 0: AceSize 5 is not a multiple of 4");
	expect_patch_error(vec_a, 30, P16, 35, 30, "AceSize 35 is not a multiple of 4");
	expect_patch_error(vec_a, 30, P16, 38, 30, "AceSize 38 is not a multiple of 4");
	expect_patch_error(vec_a, 30, P16, 8, 36,
	                   "DACL ACE 0: need 8 bytes for the SID header, 0 left");
	expect_patch_error(vec_a, 30, P16, 12, 36,
	                   "DACL ACE 0: need 8 bytes for the SID header, 4 left");
	expect_patch_error(vec_a, 30, P16, 32, 44,
	                   "DACL ACE 0: 5 sub-authorities need 20 bytes, 16 left");
	expect_patch_error(vec_a, 30, P16, 40, 30,
	                   "DACL ACE 0: AceSize 40 exceeds the 36 bytes left in the ACL");
	expect_patch_error(vec_a, 30, P16, 0xFFFC, 30, "AceSize 65532 exceeds the 36 bytes left");

	/* The SID inside the ACE. */
	expect_patch_error(vec_a, 37, P8, 16, 37, "DACL ACE 0: SubAuthorityCount 16 exceeds 15");
	expect_patch_error(vec_a, 37, P8, 255, 37, "SubAuthorityCount 255 exceeds 15");
	expect_patch_error(vec_a, 37, P8, 6, 44,
	                   "DACL ACE 0: 6 sub-authorities need 24 bytes, 20 left");
	expect_patch_error(vec_a, 36, P8, 2, 36, "DACL ACE 0: revision 2, expected 1");
	/* Fewer sub-authorities than AceSize leaves room for: the rest is extra bytes. */
	expect_patch_ok(vec_a, 37, P8, 4, &sd1);
	assert_int_equal(sd1.aces[0].sid.count, 4);
	assert_int_equal(sd1.aces[0].extra_len, 4);

	/* AceType. */
	expect_patch_error(vec_a, 28, P8, 0x04, 28, "DACL ACE 0: unsupported AceType 0x04");
	expect_patch_error(vec_a, 28, P8, 0x14, 28, "DACL ACE 0: unsupported AceType 0x14");
	expect_patch_error(vec_a, 28, P8, 0xff, 28, "unsupported AceType 0xff");
	expect_patch_error(vec_a, 28, P8, 0x05, 28,
	                   "DACL ACE 0: object AceType 0x05 needs AclRevision 4, the ACL has 2");
	expect_patch_error(vec_a, 28, P8, 0x0b, 28, "object AceType 0x0b needs AclRevision 4");
	for (unsigned t = 0; t <= 0x13; t++) {
		if (t == 0x04 || mbx_secdesc_ace_is_object((uint8_t)t))
			continue;
		expect_patch_ok(vec_a, 28, P8, t, &sd1);
		assert_int_equal(sd1.aces[0].type, t);
	}
}

/* Object ACE layout rows on vector E (ACE 0 at 28, ACE 2 at 108). */
static void test_bad_object_ace(void **state)
{
	expect_patch_error(vec_e, 20, P8, 2, 28,
	                   "DACL ACE 0: object AceType 0x06 needs AclRevision 4, the ACL has 2");
	expect_patch_error(vec_e, 30, P16, 8, 36,
	                   "DACL ACE 0: AceSize 8 leaves no room for the object Flags");
	expect_patch_error(vec_e, 30, P16, 24, 40,
	                   "DACL ACE 0: AceSize 24 leaves no room for the ObjectType GUID");
	expect_patch_error(
	        vec_e, 110, P16, 24, 120,
	        "DACL ACE 2: AceSize 24 leaves no room for the InheritedObjectType GUID");
	/* Both GUIDs announced: the SID's first 16 bytes become the second GUID and the SID is
	 * read from its last 12 (revision 2). */
	expect_patch_error(vec_e, 116, P32, 3, 152, "DACL ACE 2: revision 2, expected 1");
	/* No GUID announced in ACE 0: the GUID's bytes are read as the SID (revision 0x54). */
	expect_patch_error(vec_e, 36, P32, 0, 40, "DACL ACE 0: revision 84, expected 1");
	/* The SACL's ACE is checked the same way. */
	expect_patch_error(vec_e, 174, P16, 6, 174, "SACL ACE 0: AceSize 6 is not a multiple of 4");
	expect_patch_error(vec_e, 164, P8, 5, 164, "SACL AclRevision 5, expected 2 or 4");
}

/* Builds a descriptor with ndacl + nsacl minimal ACEs (ALLOWED Everyone, 20 bytes each). */
static uint8_t *many_aces(unsigned ndacl, unsigned nsacl, size_t *len_r)
{
	size_t dsize = 8 + 20 * (size_t)ndacl, ssize = nsacl > 0 ? 8 + 20 * (size_t)nsacl : 0;
	size_t len = 20 + dsize + ssize, pos;
	uint8_t *b = calloc(1, len);
	size_t en;
	uint8_t *everyone = mbx_test_hex(SID_EVERYONE, &en);

	assert_non_null(b);
	b[0] = 1;
	mbx_put_le16(b + 2, nsacl > 0 ? 0x8014 : 0x8004);
	mbx_put_le32(b + 16, 20);
	if (nsacl > 0)
		mbx_put_le32(b + 12, (uint32_t)(20 + dsize));
	pos = 20;
	for (unsigned acl = 0; acl < (nsacl > 0 ? 2u : 1u); acl++) {
		unsigned count = acl == 0 ? ndacl : nsacl;

		b[pos] = 2;
		mbx_put_le16(b + pos + 2, (uint16_t)(8 + 20 * count));
		mbx_put_le16(b + pos + 4, (uint16_t)count);
		pos += 8;
		for (unsigned i = 0; i < count; i++) {
			b[pos + 0] = acl == 0 ? 0x00 : 0x02;
			mbx_put_le16(b + pos + 2, 20);
			mbx_put_le32(b + pos + 4, 1);
			memcpy(b + pos + 8, everyone, 12);
			pos += 20;
		}
	}
	assert_int_equal(pos, len);
	free(everyone);
	*len_r = len;
	return b;
}

static void test_ace_limit(void **state)
{
	size_t n;
	uint8_t *b;
	struct rd err;

	b = many_aces(MBX_SD_MAX_ACES, 0, &n);
	assert_int_equal(mbx_secdesc_decode(b, n, &sd1, &err), 0);
	assert_int_equal(sd1.nace, MBX_SD_MAX_ACES);
	assert_int_equal(mbx_secdesc_check(&sd1, NULL, NULL, 0, NULL, 1), MBX_ACCESS_GRANTED);
	free(b);

	b = many_aces(MBX_SD_MAX_ACES + 1, 0, &n);
	expect_bytes_error(b, n, 24, "DACL AceCount 257 exceeds the limit of 256 ACEs");
	free(b);

	b = many_aces(200, 56, &n);
	assert_int_equal(mbx_secdesc_decode(b, n, &sd1, &err), 0);
	assert_int_equal(sd1.dacl.nace, 200);
	assert_int_equal(sd1.sacl.nace, 56);
	assert_int_equal(sd1.aces[199].type, MBX_SD_ACE_ACCESS_ALLOWED);
	assert_int_equal(sd1.aces[200].type, MBX_SD_ACE_SYSTEM_AUDIT);
	free(b);

	b = many_aces(200, 57, &n);
	expect_bytes_error(b, n, 20 + 8 + 200 * 20 + 4,
	                   "SACL AceCount 57 exceeds the limit of 256 ACEs per descriptor");
	free(b);

	/* AclSize at its maximum, 65535: AceCount 4095 fits 65527 bytes of minimal ACEs (and
	 * then hits the limit), 4096 does not. */
	n = 20 + 65535;
	b = calloc(1, n);
	assert_non_null(b);
	b[0] = 1;
	mbx_put_le16(b + 2, 0x8004);
	mbx_put_le32(b + 16, 20);
	b[20] = 2;
	mbx_put_le16(b + 22, 0xFFFF);
	assert_int_equal(mbx_secdesc_decode(b, n, &sd1, &err), 0); /* AceCount 0 */
	assert_int_equal(sd1.dacl.nace, 0);
	mbx_put_le16(b + 24, 4096);
	expect_bytes_error(b, n, 24, "DACL AceCount 4096 cannot fit in AclSize 65535");
	mbx_put_le16(b + 24, 4095);
	expect_bytes_error(b, n, 24, "DACL AceCount 4095 exceeds the limit of 256 ACEs");
	free(b);
}

/* Every proper prefix of every valid vector fails cleanly (each vector ends with the end of
 * one of its parts). */
static void test_truncation_sweep(void **state)
{
	static const char *const all[] = {vec_a,          vec_b, vec_c,         vec_d,
	                                  vec_e,          vec_f, vec_null_dacl, vec_no_dacl,
	                                  vec_empty_dacl, vec_rm};

	for (size_t v = 0; v < sizeof(all) / sizeof(all[0]); v++) {
		size_t n;
		uint8_t *full = mbx_test_hex(all[v], &n);
		struct rd err;

		assert_int_equal(mbx_secdesc_decode(full, n, &sd1, &err), 0);
		for (size_t k = 0; k < n; k++) {
			uint8_t *p = malloc(k > 0 ? k : 1);

			assert_non_null(p);
			memcpy(p, full, k);
			if (mbx_secdesc_decode(p, k, &sd1, &err) == 0)
				fail_msg("vector %zu: prefix of %zu bytes decoded", v, k);
			assert_false(rd_ok(&err));
			assert_true(err.err_msg[0] != '\0');
			assert_true(err.err_off <= k);
			free(p);
		}
		free(full);
	}
}

/* --- encoder ---------------------------------------------------------------------------- */

static void test_round_trip_vectors(void **state)
{
	for (size_t v = 0; v < sizeof(canonical_vectors) / sizeof(canonical_vectors[0]); v++) {
		size_t n, m;
		uint8_t *in = decode_ok(canonical_vectors[v], &n, &sd1);
		uint8_t *out = encode(&sd1, &m);

		assert_int_equal(m, n);
		assert_memory_equal(out, in, n);
		assert_int_equal(mbx_secdesc_decode(out, m, &sd2, NULL), 0);
		assert_true(mbx_secdesc_equal(&sd1, &sd2));
		free(out);
		free(in);
	}

	/* E has its SACL after the DACL; the encoder writes the SACL first. */
	{
		size_t n, m;
		uint8_t *in = decode_ok(vec_e, &n, &sd1);
		uint8_t *out = encode(&sd1, &m);
		uint8_t *want =
		        mbx_test_hex("01 00 14 80 00 00 00 00 00 00 00 00 14 00 00 00 30 00 00 00"
		                     /* @20 SACL */
		                     "02 00 1c 00 01 00 00 00 02 c0 14 00 00 00 01 00" SID_EVERYONE
		                     /* @48 DACL */
		                     "04 00 90 00 03 00 00 00"
		                     "06 00 28 00 01 00 00 00 01 00 00 00" GUID_SEND_AS SID_EVERYONE
		                     "05 00 28 00 01 00 00 00 00 00 00 00" SID_1104
		                     "06 00 38 00 01 00 00 00 02 00 00 00" GUID_USER SID_1105,
		                     &n);

		assert_int_equal(m, n);
		assert_memory_equal(out, want, n);
		assert_int_equal(mbx_secdesc_decode(out, m, &sd2, NULL), 0);
		assert_true(mbx_secdesc_equal(&sd1, &sd2));
		free(want);
		free(out);
		free(in);
	}
}

static void test_builder_associate_self(void **state)
{
	struct mbx_ace ace;
	size_t n, m;
	uint8_t *out, *want;
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104");

	mbx_secdesc_init(&sd1);
	assert_null(mbx_secdesc_invalid(&sd1));
	assert_int_equal(mbx_secdesc_encoded_size(&sd1), 28);
	/* An empty DACL denies everyone. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, &s1104, 1), MBX_ACCESS_DENIED);

	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0,
	                    MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT,
	                    &mbx_sid_self);
	assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
	out = encode(&sd1, &m);
	want = mbx_test_hex("01 00 04 80 00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
	                    "02 00 1c 00 01 00 00 00"
	                    "00 00 14 00 05 00 00 00" SID_SELF,
	                    &n);
	assert_int_equal(m, n);
	assert_memory_equal(out, want, n);
	assert_int_equal(mbx_secdesc_decode(out, m, &sd2, NULL), 0);
	assert_true(mbx_secdesc_equal(&sd1, &sd2));
	assert_int_equal(
	        mbx_secdesc_check(&sd2, &s1104, NULL, 0, &s1104,
	                          MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT),
	        MBX_ACCESS_GRANTED);
	free(want);
	free(out);

	/* Adding to a descriptor with a SACL keeps the SACL's ACEs after the DACL's. */
	free(decode_ok(vec_e, &n, &sd1));
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_DENIED, 0, 1, &s1104);
	assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
	assert_int_equal(sd1.dacl.nace, 4);
	assert_int_equal(sd1.sacl.nace, 1);
	assert_int_equal(sd1.aces[3].type, MBX_SD_ACE_ACCESS_DENIED);
	assert_int_equal(sd1.aces[4].type, MBX_SD_ACE_SYSTEM_AUDIT);

	/* Adding to a NULL DACL gives it a revision; an object ACE raises it to 4. */
	free(decode_ok(vec_null_dacl, &n, &sd1));
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED_OBJECT, 0, 1, &s1104);
	assert_true(ace.object);
	assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
	assert_false(sd1.dacl.null);
	assert_int_equal(sd1.dacl.revision, 4);
	assert_null(mbx_secdesc_invalid(&sd1));

	/* Full. */
	mbx_secdesc_init(&sd1);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, 1, &s1104);
	for (unsigned i = 0; i < MBX_SD_MAX_ACES; i++)
		assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
	assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), -1);
	assert_int_equal(sd1.nace, MBX_SD_MAX_ACES);
	assert_int_equal(mbx_secdesc_encoded_size(&sd1), 20 + 8 + 36 * MBX_SD_MAX_ACES);
}

static void expect_invalid(const struct mbx_secdesc *sd, const char *substr)
{
	uint8_t buf[64];
	struct wr w;
	const char *why = mbx_secdesc_invalid(sd);

	if (why == NULL || strstr(why, substr) == NULL)
		fail_msg("invalid() gave \"%s\", expected \"%s\"", why ? why : "(null)", substr);
	assert_int_equal(mbx_secdesc_encoded_size(sd), 0);
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(mbx_secdesc_encode(&w, sd), -1);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 0);
}

static void test_encoder_rejects(void **state)
{
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104");
	static uint8_t extra[4] = {1, 2, 3, 4};

	free(decode_ok(vec_a, &(size_t){0}, &sd2));

	sd1 = sd2;
	sd1.control &= (uint16_t)~MBX_SD_SELF_RELATIVE;
	expect_invalid(&sd1, "SE_SELF_RELATIVE");

	sd1 = sd2;
	sd1.control &= (uint16_t)~MBX_SD_DACL_PRESENT;
	expect_invalid(&sd1, "disagrees");

	sd1 = sd2;
	sd1.dacl.revision = 3;
	expect_invalid(&sd1, "revision is not 2 or 4");

	sd1 = sd2;
	sd1.dacl.null = true;
	expect_invalid(&sd1, "NULL ACL holds ACEs");

	sd1 = sd2;
	sd1.nace = 2;
	expect_invalid(&sd1, "nace");

	sd1 = sd2;
	sd1.aces[0].type = 0x04;
	expect_invalid(&sd1, "unsupported AceType");

	sd1 = sd2;
	sd1.aces[0].object = true;
	expect_invalid(&sd1, "object field does not match");

	sd1 = sd2;
	sd1.aces[0].type = MBX_SD_ACE_ACCESS_ALLOWED_OBJECT;
	sd1.aces[0].object = true;
	expect_invalid(&sd1, "revision 2 (needs 4)");

	sd1 = sd2;
	sd1.aces[0].sid.count = 16;
	expect_invalid(&sd1, "SID is invalid");

	sd1 = sd2;
	sd1.aces[0].sid.revision = 2;
	expect_invalid(&sd1, "SID is invalid");

	sd1 = sd2;
	sd1.aces[0].sid.authority = 1ULL << 48;
	expect_invalid(&sd1, "SID is invalid");

	sd1 = sd2;
	sd1.has_owner = true;
	sd1.owner = s1104;
	sd1.owner.count = 20;
	expect_invalid(&sd1, "owner SID is invalid");

	sd1 = sd2;
	sd1.has_group = true;
	sd1.group.revision = 0;
	expect_invalid(&sd1, "group SID is invalid");

	sd1 = sd2;
	sd1.aces[0].extra_len = 2;
	sd1.aces[0].extra = extra;
	expect_invalid(&sd1, "not a multiple of 4");

	sd1 = sd2;
	sd1.aces[0].extra_len = 4;
	sd1.aces[0].extra = NULL;
	expect_invalid(&sd1, "no extra bytes");

	sd1 = sd2;
	sd1.aces[0].extra_len = 65532;
	sd1.aces[0].extra = extra; /* never read: rejected on size first */
	expect_invalid(&sd1, "larger than 65535");

	sd1 = sd2;
	sd1.sacl.nace = 1;
	sd1.nace = 2;
	expect_invalid(&sd1, "absent ACL");

	sd1 = sd2;
	sd1.dacl.nace = MBX_SD_MAX_ACES + 1;
	sd1.nace = MBX_SD_MAX_ACES + 1;
	expect_invalid(&sd1, "MBX_SD_MAX_ACES");

	/* An ACL over 65535 bytes: two ACEs of 33000 bytes (each one valid). */
	mbx_secdesc_init(&sd1);
	{
		static uint8_t pad[33000];
		struct mbx_ace ace;

		mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, 1, &mbx_sid_everyone);
		ace.extra = pad;
		ace.extra_len = 33000 - 20;
		assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
		assert_null(mbx_secdesc_invalid(&sd1));
		assert_int_equal(mbx_secdesc_dacl_add(&sd1, &ace), 0);
		expect_invalid(&sd1, "ACL is larger than 65535");
	}
}

static void test_encoder_overflow(void **state)
{
	size_t n;
	uint8_t *in = decode_ok(vec_b, &n, &sd1);
	uint8_t out[112];

	for (size_t cap = 0; cap < n; cap++) {
		struct wr w;

		wr_init(&w, out, cap);
		assert_int_equal(mbx_secdesc_encode(&w, &sd1), -1);
		assert_false(wr_ok(&w));
	}
	free(in);
}

/* A small deterministic generator so failures are reproducible. */
static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void random_sid(struct mbx_sid *s)
{
	memset(s, 0, sizeof(*s));
	s->revision = 1;
	s->count = (uint8_t)(rnd() % 16);
	s->authority = ((uint64_t)rnd() << 16 | (rnd() & 0xFFFF)) & 0xFFFFFFFFFFFFULL;
	for (unsigned i = 0; i < s->count; i++)
		s->sub[i] = rnd();
}

static void test_round_trip_random(void **state)
{
	static uint8_t extra_pool[64];
	static uint8_t out[200000];

	for (size_t i = 0; i < sizeof(extra_pool); i++)
		extra_pool[i] = (uint8_t)rnd();
	for (int iter = 0; iter < 400; iter++) {
		unsigned ndacl = rnd() % 12, nsacl = rnd() % 6;
		struct wr w;
		size_t size;

		memset(&sd1, 0, sizeof(sd1));
		sd1.control = (uint16_t)((rnd() & 0x7FEB) | MBX_SD_SELF_RELATIVE);
		sd1.rm_control = (uint8_t)rnd();
		if (rnd() & 1) {
			sd1.has_owner = true;
			random_sid(&sd1.owner);
		}
		if (rnd() & 1) {
			sd1.has_group = true;
			random_sid(&sd1.group);
		}
		for (int a = 0; a < 2; a++) {
			struct mbx_acl *acl = a == 0 ? &sd1.dacl : &sd1.sacl;
			unsigned n = a == 0 ? ndacl : nsacl;
			unsigned mode = rnd() % 4; /* absent, NULL, rev 2, rev 4 */

			if (mode == 0)
				continue;
			acl->present = true;
			sd1.control |= a == 0 ? MBX_SD_DACL_PRESENT : MBX_SD_SACL_PRESENT;
			if (mode == 1) {
				acl->null = true;
				continue;
			}
			acl->revision = mode == 2 ? 2 : 4;
			for (unsigned k = 0; k < n; k++) {
				struct mbx_ace *ace = &sd1.aces[sd1.nace];
				uint8_t type;

				do {
					type = (uint8_t)(rnd() % 0x14);
				} while (type == 0x04 ||
				         (acl->revision == 2 && mbx_secdesc_ace_is_object(type)));
				random_sid(&ace->sid);
				ace->type = type;
				ace->flags = (uint8_t)rnd();
				ace->mask = rnd();
				ace->object = mbx_secdesc_ace_is_object(type);
				if (ace->object) {
					ace->object_flags = rnd() % 8;
					for (int b = 0; b < 16; b++) {
						if (ace->object_flags & 1)
							ace->object_type.b[b] = (uint8_t)rnd();
						if (ace->object_flags & 2)
							ace->inherited_object_type.b[b] =
							        (uint8_t)rnd();
					}
				}
				ace->extra_len = (uint16_t)(4 * (rnd() % 5));
				ace->extra = ace->extra_len > 0 ? extra_pool + rnd() % 44 : NULL;
				acl->nace++;
				sd1.nace++;
			}
		}
		/* The SACL was filled after the DACL, so the order in aces[] is right only if
		 * the DACL took its ACEs first: it did (a == 0 first). */
		assert_null(mbx_secdesc_invalid(&sd1));
		size = mbx_secdesc_encoded_size(&sd1);
		wr_init(&w, out, sizeof(out));
		assert_int_equal(mbx_secdesc_encode(&w, &sd1), 0);
		assert_int_equal(w.len, size);
		assert_int_equal(mbx_secdesc_decode(out, w.len, &sd2, NULL), 0);
		if (!mbx_secdesc_equal(&sd1, &sd2))
			fail_msg("iteration %d: round trip differs", iter);
	}
}

/* --- access check corners ---------------------------------------------------------------- */

static void test_check_rules(void **state)
{
	struct mbx_sid s1104 = sid("S-1-5-21-1-2-3-1104"), s1105 = sid("S-1-5-21-1-2-3-1105");
	struct mbx_sid auth = sid("S-1-5-11");
	struct mbx_ace ace;

	/* allow 1104 FullAccess; deny 1104 FullAccess|ReadPermission; allow 1104 ReadPermission */
	mbx_secdesc_init(&sd1);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_DENIED, 0,
	                    MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_READ_PERMISSION, &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_READ_PERMISSION,
	                    &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);

	/* FullAccess alone is decided by the first ACE. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	/* ReadPermission is still undecided when the deny names it. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL,
	                                   MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_READ_PERMISSION),
	                 MBX_ACCESS_DENIED);
	/* Asking for nothing is never a grant, even with a NULL DACL. */
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, 0), MBX_ACCESS_DENIED);
	free(decode_ok(vec_null_dacl, &(size_t){0}, &sd2));
	assert_int_equal(mbx_secdesc_check(&sd2, &s1104, NULL, 0, NULL, 0), MBX_ACCESS_DENIED);

	/* Two allows add up. */
	mbx_secdesc_init(&sd1);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_EXTERNAL_ACCOUNT,
	                    &auth);
	mbx_secdesc_dacl_add(&sd1, &ace);
	assert_int_equal(
	        mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL,
	                          MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT),
	        MBX_ACCESS_GRANTED);
	/* Authenticated Users matches any principal, even one given no SIDs at all. */
	assert_int_equal(
	        mbx_secdesc_check(&sd1, NULL, NULL, 0, NULL, MBX_SD_RIGHT_EXTERNAL_ACCOUNT),
	        MBX_ACCESS_GRANTED);
	assert_int_equal(
	        mbx_secdesc_check(&sd1, &s1105, NULL, 0, NULL,
	                          MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT),
	        MBX_ACCESS_DENIED);

	/* A deny for Everyone denies everybody; INHERIT_ONLY deny does not. */
	mbx_secdesc_init(&sd1);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_DENIED, MBX_SD_ACE_INHERIT_ONLY,
	                    MBX_SD_RIGHT_FULL_ACCESS, &mbx_sid_everyone);
	mbx_secdesc_dacl_add(&sd1, &ace);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, MBX_SD_ACE_INHERITED,
	                    MBX_SD_RIGHT_FULL_ACCESS, &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_GRANTED);
	sd1.aces[0].flags = 0;
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);

	/* ACEs of SACL types in a DACL grant nothing. */
	mbx_secdesc_init(&sd1);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_SYSTEM_AUDIT, 0, MBX_SD_RIGHT_FULL_ACCESS, &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_SYSTEM_MANDATORY_LABEL, 0, MBX_SD_RIGHT_FULL_ACCESS,
	                    &s1104);
	mbx_secdesc_dacl_add(&sd1, &ace);
	assert_int_equal(mbx_secdesc_check(&sd1, &s1104, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS),
	                 MBX_ACCESS_DENIED);

	assert_string_equal(mbx_access_name(MBX_ACCESS_GRANTED), "granted");
	assert_string_equal(mbx_access_name(MBX_ACCESS_DENIED), "denied");
}

static void test_rights_values(void **state)
{
	/* Sources in docs/secdesc.md: EDKMDB.H, KB Q252459, Adaxes, Get-MailboxPermissionsDetailed.
	 */
	assert_int_equal(MBX_SD_RIGHT_FULL_ACCESS, 0x1);
	assert_int_equal(MBX_SD_RIGHT_SEND_AS, 0x2);
	assert_int_equal(MBX_SD_RIGHT_EXTERNAL_ACCOUNT, 0x4);
	assert_int_equal(MBX_SD_RIGHT_DELETE_ITEM, 0x10000);
	assert_int_equal(MBX_SD_RIGHT_READ_PERMISSION, 0x20000);
	assert_int_equal(MBX_SD_RIGHT_CHANGE_PERMISSION, 0x40000);
	assert_int_equal(MBX_SD_RIGHT_CHANGE_OWNER, 0x80000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vector_a),
	        cmocka_unit_test(test_vector_b_deny_then_allow),
	        cmocka_unit_test(test_vector_c_group_and_inherit_only),
	        cmocka_unit_test(test_vector_d_self),
	        cmocka_unit_test(test_vector_e_object_aces_and_sacl),
	        cmocka_unit_test(test_vector_f_callback_and_padding),
	        cmocka_unit_test(test_dacl_presence),
	        cmocka_unit_test(test_rm_control_and_slack),
	        cmocka_unit_test(test_rd_secdesc_embedded),
	        cmocka_unit_test(test_bad_header),
	        cmocka_unit_test(test_bad_offsets),
	        cmocka_unit_test(test_overlap),
	        cmocka_unit_test(test_bad_acl),
	        cmocka_unit_test(test_bad_ace),
	        cmocka_unit_test(test_bad_object_ace),
	        cmocka_unit_test(test_ace_limit),
	        cmocka_unit_test(test_truncation_sweep),
	        cmocka_unit_test(test_round_trip_vectors),
	        cmocka_unit_test(test_builder_associate_self),
	        cmocka_unit_test(test_encoder_rejects),
	        cmocka_unit_test(test_encoder_overflow),
	        cmocka_unit_test(test_round_trip_random),
	        cmocka_unit_test(test_check_rules),
	        cmocka_unit_test(test_rights_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
