/*
 * admin-fix.c: `mbxctl mailbox associate-self MAILBOX` (include/mbx/admin.h), the fix seed 000
 * gives for a disabled account whose mailbox has no msExchMasterAccountSid (events 9548 and
 * 1022, moves that fail): "grant the SELF account Associated External Account and Full Mailbox
 * Access permissions". In directory terms, one atomic modification: msExchMasterAccountSid =
 * S-1-5-10 (SELF, protocol.md 8.1) and an ACCESS_ALLOWED ACE for S-1-5-10 with
 * MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT appended to the DACL of
 * msExchMailboxSecurityDescriptor (an empty descriptor is created when there is none;
 * docs/secdesc.md). An existing master account SID is never overwritten: it may be a linked
 * mailbox's real owner. Seed 000: "Only one account at a time can have the Associated External
 * Account permission": when another account holds it, the command refuses (exit 1, naming its
 * SID) and the administrator removes it first.
 *
 * Text output: "key: value" lines. JSON keys (stable): legacyExchangeDN, dn, action
 * ("associate-self"), masterAccountSid ("S-1-5-10"), aceAdded (false when the descriptor
 * already granted SELF both rights), aces (DACL entries after the change).
 */
#include "admin-int.h"

#include <stdlib.h>
#include <string.h>

#include "mbx/secdesc.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

#define SELF_RIGHTS (MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT)

static void admin_self_applied(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	struct mbx_mailbox_table *t = c->a->deps.table;
	char esc[512];
	bool added = c->ace_added;

	mbx_log(MBX_LOG_NOTICE, "admin: %s: msExchMasterAccountSid of %s set to SELF (S-1-5-10)%s",
	        c->who, admin_esc(m->legacy_dn != NULL ? m->legacy_dn : m->dn, esc, sizeof(esc)),
	        added ? "; SELF granted full mailbox access and associated external account" : "");
	if (m->legacy_dn != NULL)
		mbx_mailbox_table_invalidate(t, m->legacy_dn);
	mbx_mailbox_table_invalidate_dn(t, m->dn);
	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "action", "action", c->json ? "associate-self" : "associated SELF");
	admin_field_str(c, "masterAccountSid", "master account",
	                c->json ? "S-1-5-10" : "S-1-5-10 (SELF)");
	if (c->json) {
		mbx_json_kv_bool(&c->j, "aceAdded", added);
		mbx_json_kv_uint(&c->j, "aces", c->naces);
	} else {
		admin_kv(c, "mailbox rights", "%s",
		         added ? "SELF: full mailbox access, associated external account (added)"
		               : "SELF: full mailbox access, associated external account (already "
		                 "granted)");
		admin_kv(c, "DACL entries", "%u", c->naces);
	}
	admin_ok(c);
}

/* Whether the DACL already allows SELF both rights in one plain ACE that applies to the
 * object. */
static bool admin_self_granted(const struct mbx_secdesc *sd)
{
	for (unsigned i = 0; i < sd->dacl.nace; i++) {
		const struct mbx_ace *ace = &sd->aces[i];

		if (ace->type == MBX_SD_ACE_ACCESS_ALLOWED &&
		    (ace->flags & MBX_SD_ACE_INHERIT_ONLY) == 0 &&
		    (ace->mask & SELF_RIGHTS) == SELF_RIGHTS &&
		    mbx_sid_equal(&ace->sid, &mbx_sid_self))
			return true;
	}
	return false;
}

/* The first plain ACE that allows another account than SELF the associated external account
 * right, or NULL. */
static const struct mbx_ace *admin_other_external(const struct mbx_secdesc *sd)
{
	for (unsigned i = 0; i < sd->dacl.nace; i++) {
		const struct mbx_ace *ace = &sd->aces[i];

		if (ace->type == MBX_SD_ACE_ACCESS_ALLOWED &&
		    (ace->flags & MBX_SD_ACE_INHERIT_ONLY) == 0 &&
		    (ace->mask & MBX_SD_RIGHT_EXTERNAL_ACCOUNT) != 0 &&
		    !mbx_sid_equal(&ace->sid, &mbx_sid_self))
			return ace;
	}
	return NULL;
}

/* Builds the new descriptor into c->bin; returns its size, or 0 with the command answered. */
static size_t admin_self_secdesc(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	struct mbx_secdesc *sd = malloc(sizeof(*sd));
	const struct mbx_ace *other;
	struct mbx_ace ace;
	struct wr w;
	size_t n;

	if (sd == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "out of memory");
		return 0;
	}
	if (m->sd != NULL) {
		if (mbx_secdesc_decode(m->sd, m->sd_len, sd, NULL) != 0) {
			free(sd);
			admin_fail(c, MBX_CTL_FAILED,
			           "msExchMailboxSecurityDescriptor of %s does not decode", m->dn);
			return 0;
		}
	} else {
		mbx_secdesc_init(sd);
	}
	c->ace_added = false;
	other = admin_other_external(sd);
	if (other != NULL) {
		/* seed 000: only one account at a time may hold it; the administrator removes it */
		char sid[MBX_SID_STRMAX];

		admin_fail(c, MBX_CTL_FAILED,
		           "%s holds the associated external account right on the mailbox of %s "
		           "(only one account may); remove it first",
		           mbx_sid_to_str(&other->sid, sid, sizeof(sid)),
		           m->legacy_dn != NULL ? m->legacy_dn : m->dn);
		free(sd);
		return 0;
	}
	if (!admin_self_granted(sd)) {
		mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, SELF_RIGHTS, &mbx_sid_self);
		if (mbx_secdesc_dacl_add(sd, &ace) != 0) {
			free(sd);
			admin_fail(c, MBX_CTL_FAILED, "the mailbox security descriptor is full");
			return 0;
		}
		c->ace_added = true;
	}
	c->naces = sd->dacl.nace;
	n = mbx_secdesc_encoded_size(sd);
	c->bin = n > 0 ? malloc(n) : NULL;
	if (c->bin == NULL) {
		const char *why = mbx_secdesc_invalid(sd);

		free(sd);
		admin_fail(c, MBX_CTL_FAILED, "cannot encode the security descriptor: %s",
		           why != NULL ? why : "out of memory");
		return 0;
	}
	wr_init(&w, c->bin, n);
	if (mbx_secdesc_encode(&w, sd) != 0 || w.len != n) {
		free(sd);
		admin_fail(c, MBX_CTL_FAILED, "cannot encode the security descriptor");
		return 0;
	}
	free(sd);
	return n;
}

static void admin_self_have_mailbox(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	uint8_t sidbuf[MBX_SID_MAX_BYTES];
	char sid[MBX_SID_STRMAX];
	struct wr w;
	size_t n;

	if (m->master != MBX_MASTER_NONE) {
		admin_fail(c, MBX_CTL_FAILED,
		           "%s already has a master account SID (%s%s); it is not replaced",
		           m->legacy_dn != NULL ? m->legacy_dn : m->dn,
		           mbx_sid_to_str(&m->master_sid, sid, sizeof(sid)),
		           m->master == MBX_MASTER_SELF ? ", SELF" : "");
		return;
	}
	if (m->kind == MBX_MAILBOX_KIND_CONTACT || m->kind == MBX_MAILBOX_KIND_GROUP) {
		admin_fail(c, MBX_CTL_FAILED, "%s is a %s, not an account", m->dn,
		           mbx_mailbox_kind_name(m->kind));
		return;
	}
	n = admin_self_secdesc(c);
	if (n == 0)
		return;
	wr_init(&w, sidbuf, sizeof(sidbuf));
	wr_sid(&w, &mbx_sid_self);
	admin_mod_bin(c, "msExchMasterAccountSid", sidbuf, w.len);
	admin_mod_bin(c, "msExchMailboxSecurityDescriptor", c->bin, n);
	admin_modify(c, m->dn, admin_self_applied);
}

void admin_mailbox_associate_self(struct admin_cmd *c)
{
	if (!admin_is_mailbox_arg(c->argv[2])) {
		admin_usage(c, "mailbox associate-self MAILBOX");
		return;
	}
	c->mbx_arg = c->argv[2];
	admin_fetch_mailbox(c, admin_self_have_mailbox);
}
