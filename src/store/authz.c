/*
 * authz.c: may this principal open this mailbox (design.md, authorization after the state allows
 * a logon; protocol.md 8.1 msExchMasterAccountSid / msExchMailboxSecurityDescriptor, 8.6 SIDs;
 * seed 000 for SELF as master account, seed 002 for BUILTIN SIDs held by several domains).
 * The rules and their order are in include/mbx/authz.h. Pure; the descriptor walk is
 * mbx_secdesc_check (src/util/secdesc.c).
 */
#include "mbx/authz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/log.h"
#include "mbx/mailbox.h"
#include "mbx/secdesc.h"

const char *mbx_authz_result_name(enum mbx_authz_result r)
{
	switch (r) {
	case MBX_AUTHZ_GRANTED:
		return "granted";
	case MBX_AUTHZ_DENIED:
		return "denied";
	case MBX_AUTHZ_AMBIGUOUS:
		return "ambiguous";
	}
	return "invalid";
}

const char *mbx_authz_via_name(enum mbx_authz_via v)
{
	switch (v) {
	case MBX_AUTHZ_VIA_NONE:
		return "no rights";
	case MBX_AUTHZ_VIA_OWNER:
		return "owner";
	case MBX_AUTHZ_VIA_MASTER_ACCOUNT:
		return "master account";
	case MBX_AUTHZ_VIA_FULL_ACCESS:
		return "full access";
	case MBX_AUTHZ_VIA_AMBIGUOUS_SID:
		return "ambiguous SID";
	case MBX_AUTHZ_VIA_BAD_INPUT:
		return "bad input";
	}
	return "invalid";
}

static void authz_reason(struct mbx_authz *res, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void authz_reason(struct mbx_authz *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

static bool authz_in_token(const struct mbx_authz_principal *p, const struct mbx_sid *sid)
{
	if (p->sid != NULL && mbx_sid_equal(p->sid, sid))
		return true;
	for (size_t i = 0; i < p->ngroups; i++)
		if (mbx_sid_equal(&p->groups[i], sid))
			return true;
	return false;
}

/* Rule 1: the first resolver entry that makes the token ambiguous, or NULL. */
static const struct mbx_authz_sid_dns *authz_ambiguous(const struct mbx_authz_principal *p)
{
	for (size_t i = 0; i < p->nresolved; i++) {
		const struct mbx_authz_sid_dns *r = &p->resolved[i];

		if (r->ndns < 2 || mbx_sid_is_wellknown(&r->sid) || !authz_in_token(p, &r->sid))
			continue;
		return r;
	}
	return NULL;
}

static void authz_ambiguous_reason(struct mbx_authz *res, const struct mbx_authz_sid_dns *r)
{
	char sid[MBX_SID_STRMAX];
	size_t off;

	mbx_sid_to_str(&r->sid, sid, sizeof(sid));
	authz_reason(res, "SID %s is held by %zu objects:", sid, r->ndns);
	/* Name them all while they fit; a DN is cut (with "...") rather than dropped. */
	for (size_t i = 0; i < r->ndns; i++) {
		const char *dn = r->dns[i] != NULL ? r->dns[i] : "";
		char esc[400];

		off = strlen(res->reason);
		if (sizeof(res->reason) - off < 8)
			break;
		mbx_log_escape(dn, strlen(dn), esc, sizeof(esc));
		snprintf(res->reason + off, sizeof(res->reason) - off, "%s \"%s\"",
		         i > 0 ? "," : "", esc);
	}
}

/* The master account's SID (rule 2, SELF resolved to the objectSid), or NULL. */
static const struct mbx_sid *authz_master_sid(const struct mbx_mailbox *m)
{
	switch (m->master) {
	case MBX_MASTER_SID:
		return &m->master_sid;
	case MBX_MASTER_SELF:
		return m->has_object_sid ? &m->object_sid : NULL;
	case MBX_MASTER_NONE:
		break;
	}
	return NULL;
}

void mbx_authz_check(const struct mbx_mailbox *mbx, const struct mbx_authz_principal *p,
                     struct mbx_authz *res_r)
{
	static const struct mbx_authz_principal nobody;
	const struct mbx_authz_sid_dns *amb;
	const struct mbx_sid *owner, *self;
	struct mbx_secdesc *sd = NULL;
	const char *who;
	char whobuf[256], sidstr[MBX_SID_STRMAX];
	bool full = false;

	memset(res_r, 0, sizeof(*res_r));
	res_r->result = MBX_AUTHZ_DENIED;
	res_r->via = MBX_AUTHZ_VIA_NONE;
	if (p == NULL)
		p = &nobody;
	who = p->name != NULL ? p->name : "the principal";
	mbx_log_escape(who, strlen(who), whobuf, sizeof(whobuf));
	if (mbx == NULL) {
		res_r->via = MBX_AUTHZ_VIA_BAD_INPUT;
		authz_reason(res_r, "no mailbox");
		return;
	}

	/* 1. ambiguity */
	amb = authz_ambiguous(p);
	if (amb != NULL) {
		res_r->result = MBX_AUTHZ_AMBIGUOUS;
		res_r->via = MBX_AUTHZ_VIA_AMBIGUOUS_SID;
		authz_ambiguous_reason(res_r, amb);
		return;
	}

	/* 2. owner: the enabled account itself, or the master account */
	owner = NULL;
	if (p->sid != NULL && !mbx->disabled && mbx->has_object_sid &&
	    mbx_sid_equal(&mbx->object_sid, p->sid)) {
		owner = &mbx->object_sid;
		res_r->via = MBX_AUTHZ_VIA_OWNER;
	} else if (p->sid != NULL && authz_master_sid(mbx) != NULL &&
	           mbx_sid_equal(authz_master_sid(mbx), p->sid)) {
		owner = authz_master_sid(mbx);
		res_r->via = MBX_AUTHZ_VIA_MASTER_ACCOUNT;
	}
	if (owner != NULL) {
		res_r->result = MBX_AUTHZ_GRANTED;
		res_r->owner = true;
		res_r->owner_right = true;
		res_r->send_as_right = true;
		mbx_sid_to_str(owner, sidstr, sizeof(sidstr));
		if (res_r->via == MBX_AUTHZ_VIA_OWNER)
			authz_reason(res_r, "%s is the owner (objectSid %s)", whobuf, sidstr);
		else if (mbx->master == MBX_MASTER_SELF)
			authz_reason(res_r,
			             "%s is the owner (msExchMasterAccountSid SELF = objectSid %s)",
			             whobuf, sidstr);
		else
			authz_reason(res_r, "%s is the owner (msExchMasterAccountSid %s)", whobuf,
			             sidstr);
		return;
	}

	/* 3. full access through the mailbox security descriptor */
	if (mbx->sd == NULL || mbx->sd_len == 0) {
		authz_reason(res_r,
		             "%s is not the owner and the mailbox has no security descriptor",
		             whobuf);
		return;
	}
	sd = malloc(sizeof(*sd));
	if (sd == NULL) {
		authz_reason(res_r, "out of memory");
		return;
	}
	if (mbx_secdesc_decode(mbx->sd, mbx->sd_len, sd, NULL) != 0) {
		free(sd);
		res_r->via = MBX_AUTHZ_VIA_BAD_INPUT;
		authz_reason(res_r, "the mailbox security descriptor does not decode");
		return;
	}
	self = mbx->has_object_sid ? &mbx->object_sid : NULL;
	full = mbx_secdesc_check(sd, p->sid, p->groups, p->ngroups, self,
	                         MBX_SD_RIGHT_FULL_ACCESS) == MBX_ACCESS_GRANTED;
	res_r->send_as_right = mbx_secdesc_check(sd, p->sid, p->groups, p->ngroups, self,
	                                         MBX_SD_RIGHT_SEND_AS) == MBX_ACCESS_GRANTED;
	free(sd);
	if (full) {
		res_r->result = MBX_AUTHZ_GRANTED;
		res_r->via = MBX_AUTHZ_VIA_FULL_ACCESS;
		res_r->owner_right = true;
		authz_reason(res_r, "%s has full access through the mailbox security descriptor",
		             whobuf);
		return;
	}
	res_r->send_as_right = false; /* rights are reported for granted logons only */
	authz_reason(res_r, "%s is not the owner and has no full access to the mailbox", whobuf);
}
