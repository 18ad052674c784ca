/*
 * admin-mailbox.c: `mbxctl mailbox show MAILBOX` (include/mbx/admin.h): the directory facts of
 * a fresh snapshot (protocol.md 8.1, 8.4, 8.5), the state mbx_mailbox_classify gives it from
 * this server, and what a RopLogon from the mailbox's owner would get here
 * (mbx_logon_decide; MS-OXCSTOR 3.2.5.1.1, MS-OXMVMBX 3.1.1). Nothing is logged but the
 * command line: the decision is a preview, not a logon.
 *
 * Text output: one "key: value" line each, keys padded to one column, "-" for an absent value.
 * JSON output (keys stable; absent values are null):
 *   legacyExchangeDN, dn, displayName, smtp        strings
 *   kind                                           "user", "mail user", "contact", "group", "other"
 *   recipientTypeDetails                           number or null
 *   hasMailbox                                     bool
 *   homeMDB, database, homeServer                  strings: homeMDB's DN, the database's and the
 *                                                  home server's legacyExchangeDN
 *   homeServerFromAttribute                        bool: homeServer is msExchHomeServerName
 *   hostedHere                                     bool
 *   disabled                                       bool
 *   userAccountControl                             number
 *   objectSid                                      string or null
 *   masterAccountSid                               string ("S-1-5-10" for SELF) or null
 *   mailboxGuid                                    string or null
 *   moveStatus, moveFlags                          numbers (0 when absent)
 *   moveStatusName                                 string ("InProgress") or null
 *   moveSource, moveTarget, targetAddress          strings or null
 *   state, stateWhy                                strings (mbx_mailbox_state_name, its why)
 *   logon                                          object: ec (number), ecName, reason,
 *                                                  redirectServer, redirectUrl, forest,
 *                                                  autodiscoverUrl (strings or null)
 */
#include "admin-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/authz.h"
#include "mbx/config.h"
#include "mbx/oxcstor.h"
#include "mbx/rop-errors.h"
#include "mbx/types.h"

/* RequestFlags names (protocol.md 8.5), "0x2 (IntraOrg)". */
static const char *admin_move_flags_text(uint32_t flags, char *buf, size_t size)
{
	static const char *const names[] = {
	        "CrossOrg",
	        "IntraOrg",
	        "Push",
	        "Pull",
	        "Offline",
	        "Protected",
	        "RemoteLegacy",
	        "HighPriority",
	        "Suspend",
	        "SuspendWhenReadyToComplete",
	        "MoveOnlyPrimaryMailbox",
	        "MoveOnlyArchiveMailbox",
	        "TargetIsAggregatedMailbox",
	        "Join",
	        "Split",
	};
	size_t len;

	len = (size_t)snprintf(buf, size, "0x%X (", (unsigned)flags);
	if (flags == 0)
		len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "None");
	for (unsigned i = 0; i < 32 && len < size; i++) {
		if ((flags & (1u << i)) == 0)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		                        buf[len - 1] == '(' ? "" : ", ",
		                        i < sizeof(names) / sizeof(names[0]) ? names[i] : "?");
	}
	if (len < size)
		snprintf(buf + len, size - len, ")");
	return buf;
}

static const char *admin_move_status_text(uint32_t st, char *buf, size_t size)
{
	const char *name = mbx_move_status_name(st);

	if (st == MBX_MOVE_NONE)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%u (%s)", (unsigned)st, name != NULL ? name : "unknown value");
	return buf;
}

/* The cn of the last "/cn=" of a server's legacyExchangeDN ("SERVER2"), into buf. */
static const char *admin_server_name(const char *legacy_dn, char *buf, size_t size)
{
	const char *p = NULL;

	for (const char *s = legacy_dn; s != NULL && (s = strstr(s, "/cn=")) != NULL; s++)
		p = s;
	if (p == NULL)
		return NULL;
	snprintf(buf, size, "%s", p + 4);
	return buf;
}

static void admin_show_facts(struct admin_cmd *c, const struct mbx_mailbox *m)
{
	const struct mbx_server_identity *id = c->a->deps.id;
	char buf[MBX_SID_STRMAX + 64], sid[MBX_SID_STRMAX], guid[MBX_GUID_STRLEN + 1];

	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "displayName", "display name", m->display_name);
	admin_field_str(c, "smtp", "smtp", m->smtp);
	admin_field_str(c, "kind", "kind", mbx_mailbox_kind_name(m->kind));
	if (c->json) {
		mbx_json_key(&c->j, "recipientTypeDetails");
		if (m->has_rtd)
			mbx_json_uint(&c->j, m->recipient_type_details);
		else
			mbx_json_null(&c->j);
	} else if (m->has_rtd) {
		admin_kv(c, "recipient type", "0x%llX",
		         (unsigned long long)m->recipient_type_details);
	} else {
		admin_kv(c, "recipient type", "-");
	}
	admin_field_bool(c, "hasMailbox", "has mailbox", m->has_mailbox);
	admin_field_str(c, "homeMDB", "homeMDB", m->home_mdb_dn);
	admin_field_str(c, "database", "database", m->home_mdb_legacy_dn);
	if (c->json) {
		mbx_json_kv_str(&c->j, "homeServer", m->home_server_legacy_dn);
		mbx_json_kv_bool(&c->j, "homeServerFromAttribute", m->home_server_from_attr);
	} else {
		admin_kv(c, "home server", "%s%s",
		         m->home_server_legacy_dn != NULL ? m->home_server_legacy_dn : "-",
		         m->home_server_from_attr ? " (from msExchHomeServerName)" : "");
	}
	admin_field_bool(c, "hostedHere", "hosted here", mbx_mailbox_hosted_here(m, id));
	if (c->json) {
		mbx_json_kv_bool(&c->j, "disabled", m->disabled);
		mbx_json_kv_uint(&c->j, "userAccountControl", m->user_account_control);
	} else {
		admin_kv(c, "account", "%s (userAccountControl 0x%X)",
		         m->disabled ? "disabled" : "enabled", (unsigned)m->user_account_control);
	}
	admin_field_str(c, "objectSid", "object SID",
	                m->has_object_sid ? mbx_sid_to_str(&m->object_sid, sid, sizeof(sid))
	                                  : NULL);
	mbx_sid_to_str(&m->master_sid, sid, sizeof(sid));
	if (c->json) {
		mbx_json_kv_str(&c->j, "masterAccountSid",
		                m->master != MBX_MASTER_NONE ? sid : NULL);
	} else if (m->master == MBX_MASTER_NONE) {
		admin_kv(c, "master account", "none (msExchMasterAccountSid absent)");
	} else {
		admin_kv(c, "master account", "%s%s", sid,
		         m->master == MBX_MASTER_SELF ? " (SELF)" : "");
	}
	admin_field_str(c, "mailboxGuid", "mailbox GUID",
	                m->has_mailbox_guid ? mbx_guid_to_str(&m->mailbox_guid, guid) : NULL);
	admin_field_uint(c, "moveStatus", "move status", m->move_status,
	                 admin_move_status_text(m->move_status, buf, sizeof(buf)));
	if (c->json)
		mbx_json_kv_str(&c->j, "moveStatusName",
		                m->move_status != 0 ? mbx_move_status_name(m->move_status) : NULL);
	admin_field_uint(c, "moveFlags", "move flags", m->move_flags,
	                 admin_move_flags_text(m->move_flags, buf, sizeof(buf)));
	admin_field_str(c, "moveSource", "move source", m->move_source_mdb_dn);
	admin_field_str(c, "moveTarget", "move target", m->move_target_mdb_dn);
	admin_field_str(c, "targetAddress", "target address", m->target_address);
}

/* What a RopLogon from the owner (its objectSid, or the master account) would get. */
static void admin_show_logon(struct admin_cmd *c, const struct mbx_mailbox *m,
                             enum mbx_mailbox_state state)
{
	const struct mbx_server_identity *id = c->a->deps.id;
	const struct mbx_config *cfg = c->a->cfg;
	const struct mbx_foreign_forest *forest = NULL;
	struct mbx_logon_req req;
	struct mbx_authz_principal p;
	struct mbx_logon_input in;
	struct mbx_logon_decision d;
	struct mbx_authz *authz;
	char ecbuf[16], name[128];
	const char *url = NULL;

	authz = calloc(1, sizeof(*authz));
	if (authz == NULL) {
		c->out.oom = true;
		return;
	}
	memset(&req, 0, sizeof(req));
	req.logon_flags = MBX_LOGON_PRIVATE;
	req.open_flags =
	        MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_HOME_LOGON | MBX_OPEN_TAKE_OWNERSHIP;
	req.essdn = m->legacy_dn != NULL ? m->legacy_dn : "";
	req.essdn_size = (uint16_t)(strlen(req.essdn) < 65535 ? strlen(req.essdn) + 1 : 0);
	memset(&p, 0, sizeof(p));
	p.name = m->smtp != NULL ? m->smtp : m->dn;
	if (m->master == MBX_MASTER_SID)
		p.sid = &m->master_sid;
	else if (m->has_object_sid)
		p.sid = &m->object_sid;
	mbx_authz_check(m, &p, authz);
	memset(&in, 0, sizeof(in));
	in.state = state;
	in.mbx = m;
	in.req = &req;
	in.id = id;
	in.authz = authz;
	in.principal = p.name;
	mbx_logon_decide(&in, &d);
	free(authz);

	if (d.ec == ecWrongServer && cfg != NULL &&
	    admin_server_name(d.server, name, sizeof(name)) != NULL)
		url = mbx_config_server_url(cfg, name);
	if (state == MBX_MAILBOX_MOVED_OTHER_FOREST)
		forest = mbx_mailbox_foreign_forest(m, id);
	if (c->json) {
		mbx_json_key(&c->j, "logon");
		mbx_json_obj_begin(&c->j);
		mbx_json_kv_uint(&c->j, "ec", d.ec);
		mbx_json_kv_str(&c->j, "ecName", mbx_ec_str(d.ec, ecbuf, sizeof(ecbuf)));
		mbx_json_kv_str(&c->j, "reason", d.reason);
		mbx_json_kv_str(&c->j, "redirectServer", d.ec == ecWrongServer ? d.server : NULL);
		mbx_json_kv_str(&c->j, "redirectUrl", url);
		mbx_json_kv_str(&c->j, "forest", forest != NULL ? forest->name : NULL);
		mbx_json_kv_str(&c->j, "autodiscoverUrl",
		                forest != NULL ? forest->autodiscover_url : NULL);
		mbx_json_obj_end(&c->j);
		return;
	}
	admin_kv(c, "logon", "%s (0x%08X)", mbx_ec_str(d.ec, ecbuf, sizeof(ecbuf)), (unsigned)d.ec);
	admin_kv(c, "logon reason", "%s", d.reason != NULL ? d.reason : "-");
	if (d.ec == ecWrongServer) {
		admin_kv(c, "redirect server", "%s", d.server);
		if (url != NULL)
			admin_kv(c, "redirect url", "%s", url);
	}
	if (forest != NULL) {
		admin_kv(c, "forest", "%s", forest->name);
		admin_kv(c, "autodiscover url", "%s",
		         forest->autodiscover_url != NULL ? forest->autodiscover_url : "-");
	}
}

static void admin_show_snapshot(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	enum mbx_mailbox_state state;
	const char *why = NULL;

	state = mbx_mailbox_classify(m, MBX_DIR_FOUND, c->a->deps.id, &why);
	admin_show_facts(c, m);
	admin_field_str(c, "state", "state", mbx_mailbox_state_name(state));
	admin_field_str(c, "stateWhy", "why", why);
	admin_show_logon(c, m, state);
	admin_ok(c);
}

void admin_mailbox_show(struct admin_cmd *c)
{
	if (!admin_is_mailbox_arg(c->argv[2])) {
		admin_usage(c, "mailbox show MAILBOX (a legacyExchangeDN or an SMTP address)");
		return;
	}
	c->mbx_arg = c->argv[2];
	admin_fetch_mailbox(c, admin_show_snapshot);
}
