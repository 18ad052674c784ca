/*
 * admin-move.c: `mbxctl move start|complete|abort` (include/mbx/admin.h; design.md "Moves";
 * MS-OXMVMBX 3.1.1, seed 001; the refusal of seed 000). A move is directory state: start
 * records it in the four move attributes of protocol.md 8.4/8.5 (the mailbox is then in
 * transit on every server), complete points homeMDB and msExchHomeServerName at the target
 * (MailboxGuid untouched: protocol.md 2.6) or turns the object into a mail user of another
 * forest, abort removes the record. Each step is one atomic modification of the user entry,
 * logged with its event (1006, 1007, 1008; 1009 for a refusal) in the words of Exchange's
 * "Move Mailbox" events, and followed by the invalidation of the mailbox table entry.
 *
 * Text output: "key: value" lines. JSON keys (stable; absent values null):
 *   legacyExchangeDN, dn        the mailbox
 *   action                      "start", "complete", "abort"
 *   sourceDatabase, targetDatabase   legacyExchangeDNs (the DN when the entry has none)
 *   sourceMDB, targetMDB        the databases' LDAP DNs
 *   homeServer                  complete: msExchHomeServerName written (null cross-forest)
 *   crossForest                 complete: bool
 *   targetAddress, forest       complete --cross-forest: the address, the configured forest
 *   warning                     complete --cross-forest: text when the domain is in no
 *                               configured forest, else null
 *   moveStatus, moveFlags       the values written (0 after abort)
 *   crossForest                 start: bool (--cross-forest: flags 0x1, no target database)
 *   sessionsDropped             start: session contexts destroyed (mbx_frontend_drop_mailbox)
 */
#include "admin-int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/frontend.h"

#define ATTR_STATUS "msExchMailboxMoveStatus"
#define ATTR_FLAGS "msExchMailboxMoveFlags"
#define ATTR_SOURCE "msExchMailboxMoveSourceMDBLink"
#define ATTR_TARGET "msExchMailboxMoveTargetMDBLink"

#define MOVE_FLAG_CROSS_ORG 0x1u
#define MOVE_FLAG_INTRA_ORG 0x2u
#define RTD_MAIL_USER 0x80u

/* --- shared ------------------------------------------------------------------------------ */

static const char *admin_mbx_name(const struct mbx_mailbox *m)
{
	return m->legacy_dn != NULL ? m->legacy_dn : m->dn;
}

static const char *admin_status_text(uint32_t st, char *buf, size_t size)
{
	const char *name = mbx_move_status_name(st);

	snprintf(buf, size, "%u (%s)", (unsigned)st, name != NULL ? name : "unknown value");
	return buf;
}

void admin_move_refuse(struct admin_cmd *c, const char *step, const char *fmt, ...)
{
	char text[ADMIN_MSG_MAX], esc[ADMIN_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mbx_log_event(MBX_EV_MOVE_REFUSED, "move %s refused (requested by %s): %s", step, c->who,
	              admin_esc(text, esc, sizeof(esc)));
	admin_fail(c, MBX_CTL_FAILED, "%s", text);
}

/* A move is recorded: any status but None, Completed and CompletedWithWarning. */
static bool admin_move_recorded(uint32_t st)
{
	return st != MBX_MOVE_NONE && st != MBX_MOVE_COMPLETED &&
	       st != MBX_MOVE_COMPLETED_WITH_WARNING;
}

/* The four event lines share their shape (seed 000's event 1006). */
static void admin_move_event(struct admin_cmd *c, enum mbx_event ev, const char *verb,
                             const char *source, const char *target)
{
	const struct mbx_mailbox *m = c->mbx;
	char name[256], src[512], dst[512], leg[512];

	mbx_log_event(
	        ev,
	        "%s mailbox '%s' (requested by %s). Source Database: %s. Destination "
	        "Database: %s. Exchange DN: %s",
	        verb,
	        admin_esc(m->display_name != NULL ? m->display_name : m->dn, name, sizeof(name)),
	        c->who, admin_esc(source, src, sizeof(src)), admin_esc(target, dst, sizeof(dst)),
	        admin_esc(admin_mbx_name(m), leg, sizeof(leg)));
}

/* Forgets the cached state of the mailbox: the next logon reads the change. */
static void admin_move_invalidate(struct admin_cmd *c)
{
	struct mbx_mailbox_table *t = c->a->deps.table;

	if (c->mbx->legacy_dn != NULL)
		mbx_mailbox_table_invalidate(t, c->mbx->legacy_dn);
	mbx_mailbox_table_invalidate_dn(t, c->mbx->dn);
}

static const char *admin_db_legacy(const struct mbx_dir_entry *db)
{
	const char *s = db != NULL ? mbx_dir_entry_str(db, "legacyExchangeDN") : NULL;

	return s != NULL ? s : db != NULL ? db->dn : NULL;
}

/* --- DATABASE: DN, legacyExchangeDN or cn --------------------------------------------------- */

/* Skips one RDN of an LDAP DN (backslash escapes honoured): the rest after its ',', or NULL. */
static const char *admin_dn_parent(const char *dn)
{
	for (const char *p = dn; p != NULL && *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == ',')
			return p + 1;
	}
	return NULL;
}

static bool admin_db_cn_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(" ._-()", s[i]) == NULL)
			return false;
	return true;
}

/* Candidate i for a database named by its cn, under this server's Exchange 2007+ layout:
 * 0: "cn=NAME,cn=Databases,<administrative group DN>" (id->ldap_dn is
 *    "cn=SERVER,cn=Servers,<administrative group DN>");
 * 1: "<administrative group>/cn=Configuration/cn=Databases/cn=NAME" (from id->legacy_dn).
 * Returns the lookup kind, or -1 when there is no such candidate. */
static int admin_db_candidate(struct admin_cmd *c, int i, char *buf, size_t size)
{
	const struct mbx_server_identity *id = c->a->deps.id;
	const char *name = c->db_arg;

	if (i == 0 && id != NULL && id->ldap_dn != NULL) {
		const char *servers = admin_dn_parent(id->ldap_dn);
		const char *ag = servers != NULL ? admin_dn_parent(servers) : NULL;

		if (ag != NULL && strncasecmp(servers, "cn=Servers,", 11) == 0) {
			snprintf(buf, size, "cn=%s,cn=Databases,%s", name, ag);
			return MBX_DIR_BY_DN;
		}
		i = 1;
	}
	if (i == 1 && id != NULL && id->legacy_dn != NULL) {
		const char *p = id->legacy_dn;

		while (*p != '\0' && strncasecmp(p, "/cn=Configuration/", 18) != 0)
			p++;
		if (*p == '\0')
			p = NULL;

		if (p != NULL) {
			snprintf(buf, size, "%.*s/cn=Configuration/cn=Databases/cn=%s",
			         (int)(p - id->legacy_dn), id->legacy_dn, name);
			return MBX_DIR_BY_LEGACYDN;
		}
	}
	return -1;
}

static void admin_db_try(struct admin_cmd *c);

static void admin_db_answer(struct admin_cmd *c)
{
	struct mbx_dir_entry *e;

	if (c->st == MBX_DIR_NOT_FOUND && c->db_try >= 0) {
		c->db_try++;
		admin_db_try(c);
		return;
	}
	if (c->st != MBX_DIR_FOUND) {
		admin_fail_dir(c, c->st, c->dirmsg, "database", c->db_arg);
		return;
	}
	e = c->ents[0];
	if (!mbx_dir_entry_has_class(e, "msExchPrivateMDB") &&
	    !(mbx_dir_entry_has_class(e, "msExchMDB") &&
	      !mbx_dir_entry_has_class(e, "msExchPublicMDB"))) {
		admin_fail(c, MBX_CTL_FAILED, "%s is not a mailbox database", e->dn);
		return;
	}
	c->ents[0] = NULL; /* kept as c->db */
	mbx_dir_entry_free(&c->db);
	c->db = e;
	admin_clear_lookup(c);
	c->db_then(c);
}

static void admin_db_try(struct admin_cmd *c)
{
	char key[1024];
	int kind = admin_db_candidate(c, c->db_try, key, sizeof(key));

	if (kind < 0) {
		admin_fail(c, MBX_CTL_NOT_FOUND, "no such database: %s", c->db_arg);
		return;
	}
	admin_lookup(c, (enum mbx_dir_key)kind, key, admin_db_answer);
}

/* Looks the DATABASE argument up into c->db, then runs then. */
static void admin_db_resolve(struct admin_cmd *c, const char *arg, admin_step_fn *then)
{
	c->db_arg = arg;
	c->db_then = then;
	if (arg[0] == '/') {
		c->db_try = -1;
		admin_lookup(c, MBX_DIR_BY_LEGACYDN, arg, admin_db_answer);
	} else if (strchr(arg, '=') != NULL) {
		c->db_try = -1;
		admin_lookup(c, MBX_DIR_BY_DN, arg, admin_db_answer);
	} else if (admin_db_cn_ok(arg)) {
		c->db_try = 0;
		admin_db_try(c);
	} else {
		admin_usage(c, "move start MAILBOX --to DATABASE (a database's DN, "
		               "legacyExchangeDN or name)");
	}
}

/* --- move start --------------------------------------------------------------------------- */

static void admin_start_applied(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	const char *source = m->home_mdb_legacy_dn != NULL ? m->home_mdb_legacy_dn : m->home_mdb_dn;
	bool cross = c->db == NULL; /* --cross-forest: no database of this forest */
	const char *target = cross ? "(another forest)" : admin_db_legacy(c->db);
	char buf[64];

	admin_move_event(c, MBX_EV_MOVE_STARTED, "Started to move", source, target);
	admin_move_invalidate(c);
	if (c->a->deps.fe != NULL && m->legacy_dn != NULL)
		c->dropped = mbx_frontend_drop_mailbox(c->a->deps.fe, m->legacy_dn);
	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "action", "action", c->json ? "start" : "move started");
	admin_field_str(c, "sourceDatabase", "source database", source);
	admin_field_str(c, "targetDatabase", "target database", target);
	admin_field_str(c, "sourceMDB", "source DN", m->home_mdb_dn);
	admin_field_str(c, "targetMDB", "target DN", cross ? NULL : c->db->dn);
	admin_field_bool(c, "crossForest", "cross-forest", cross);
	admin_field_uint(c, "moveStatus", "move status", MBX_MOVE_IN_PROGRESS,
	                 admin_status_text(MBX_MOVE_IN_PROGRESS, buf, sizeof(buf)));
	if (cross)
		admin_field_uint(c, "moveFlags", "move flags", MOVE_FLAG_CROSS_ORG,
		                 "0x1 (CrossOrg)");
	else
		admin_field_uint(c, "moveFlags", "move flags", MOVE_FLAG_INTRA_ORG,
		                 "0x2 (IntraOrg)");
	admin_field_uint(c, "sessionsDropped", "sessions dropped", c->dropped, NULL);
	admin_ok(c);
}

static void admin_start_have_db(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;

	if (mbx_mailbox_dn_equal(m->home_mdb_dn, c->db->dn)) {
		admin_move_refuse(c, "start", "%s is already on database %s", admin_mbx_name(m),
		                  admin_db_legacy(c->db));
		return;
	}
	if (mbx_dir_entry_str(c->db, "msExchOwningServer") == NULL) {
		admin_move_refuse(c, "start", "database %s has no msExchOwningServer",
		                  admin_db_legacy(c->db));
		return;
	}
	admin_mod_str(c, ATTR_STATUS, "2");
	admin_mod_str(c, ATTR_FLAGS, "2");
	admin_mod_str(c, ATTR_SOURCE, m->home_mdb_dn);
	admin_mod_str(c, ATTR_TARGET, c->db->dn);
	admin_modify(c, m->dn, admin_start_applied);
}

static void admin_start_have_mailbox(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	const char *name = admin_mbx_name(m);
	char buf[64], esc[512];

	if (m->disabled && m->master == MBX_MASTER_NONE) {
		/* seed 000: Exchange logs 9548 and the move fails; we refuse before starting */
		mbx_log_event(MBX_EV_NO_MASTER_ACCOUNT_SID,
		              "disabled user %s does not have a master account SID "
		              "(msExchMasterAccountSid); set one with `mbxctl mailbox "
		              "associate-self` or set an active account as its master account",
		              admin_esc(name, esc, sizeof(esc)));
		admin_move_refuse(c, "start",
		                  "Disabled user %s does not have a master account SID; set one "
		                  "with `mbxctl mailbox associate-self %s`",
		                  name, name);
		return;
	}
	if (!m->has_mailbox) {
		admin_move_refuse(c, "start", "%s has no mailbox (no homeMDB): nothing to move",
		                  name);
		return;
	}
	if (admin_move_recorded(m->move_status)) {
		admin_move_refuse(c, "start",
		                  "a move of %s is already recorded (msExchMailboxMoveStatus %s); "
		                  "complete or abort it first",
		                  name, admin_status_text(m->move_status, buf, sizeof(buf)));
		return;
	}
	if (c->argc == 4) { /* --cross-forest: the target is in another forest */
		admin_mod_str(c, ATTR_STATUS, "2");
		admin_mod_str(c, ATTR_FLAGS, "1");
		admin_mod_str(c, ATTR_SOURCE, m->home_mdb_dn);
		admin_mod_str(c, ATTR_TARGET, NULL);
		admin_modify(c, m->dn, admin_start_applied);
		return;
	}
	admin_db_resolve(c, c->argv[4], admin_start_have_db);
}

void admin_move_start(struct admin_cmd *c)
{
	bool cross = c->argc == 4 && strcmp(c->argv[3], "--cross-forest") == 0;

	if (!admin_is_mailbox_arg(c->argv[2]) ||
	    (!cross && (c->argc != 5 || strcmp(c->argv[3], "--to") != 0 ||
	                c->argv[4][0] == '\0'))) {
		admin_usage(c, "move start MAILBOX --to DATABASE | --cross-forest");
		return;
	}
	c->mbx_arg = c->argv[2];
	admin_fetch_mailbox(c, admin_start_have_mailbox);
}

/* --- move complete ------------------------------------------------------------------------ */

static const char *admin_source_name(const struct mbx_mailbox *m)
{
	if (m->home_mdb_legacy_dn != NULL &&
	    (m->move_source_mdb_dn == NULL ||
	     mbx_mailbox_dn_equal(m->home_mdb_dn, m->move_source_mdb_dn)))
		return m->home_mdb_legacy_dn;
	return m->move_source_mdb_dn != NULL ? m->move_source_mdb_dn : m->home_mdb_dn;
}

static void admin_complete_applied(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	const char *target = admin_db_legacy(c->db);
	const char *server = c->str[0];
	char buf[64];

	admin_move_event(c, MBX_EV_MOVE_COMPLETED, "Completed the move of", admin_source_name(m),
	                 target);
	admin_move_invalidate(c);
	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "action", "action", c->json ? "complete" : "move completed");
	admin_field_bool(c, "crossForest", "cross-forest", false);
	admin_field_str(c, "sourceDatabase", "source database", admin_source_name(m));
	admin_field_str(c, "targetDatabase", "target database", target);
	admin_field_str(c, "sourceMDB", "source DN",
	                m->move_source_mdb_dn != NULL ? m->move_source_mdb_dn : m->home_mdb_dn);
	admin_field_str(c, "targetMDB", "target DN", c->db->dn);
	admin_field_str(c, "homeServer", "home server", server);
	admin_field_uint(c, "moveStatus", "move status", MBX_MOVE_COMPLETED,
	                 admin_status_text(MBX_MOVE_COMPLETED, buf, sizeof(buf)));
	admin_ok(c);
}

static void admin_complete_have_server(struct admin_cmd *c)
{
	const char *owner = mbx_dir_entry_str(c->db, "msExchOwningServer");
	const char *leg;

	if (c->st != MBX_DIR_FOUND) {
		admin_fail_dir(c, c->st, c->dirmsg, "server", owner);
		return;
	}
	leg = mbx_dir_entry_str(c->ents[0], "legacyExchangeDN");
	if (leg == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "server %s has no legacyExchangeDN", c->ents[0]->dn);
		return;
	}
	c->str[0] = strdup(leg);
	if (c->str[0] == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "out of memory");
		return;
	}
	/* the source and target links stay as the record of the move */
	admin_mod_str(c, "homeMDB", c->db->dn);
	admin_mod_str(c, "msExchHomeServerName", c->str[0]);
	admin_mod_str(c, ATTR_STATUS, "10");
	admin_modify(c, c->mbx->dn, admin_complete_applied);
}

static void admin_complete_have_db(struct admin_cmd *c)
{
	const char *owner = mbx_dir_entry_str(c->db, "msExchOwningServer");

	if (owner == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "database %s has no msExchOwningServer",
		           admin_db_legacy(c->db));
		return;
	}
	admin_lookup(c, MBX_DIR_BY_DN, owner, admin_complete_have_server);
}

static void admin_cross_applied(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	const char *addr = c->str[1], *forest = c->str[2], *warning = c->str[3];
	char buf[64];

	admin_move_event(c, MBX_EV_MOVE_COMPLETED, "Completed the cross-forest move of",
	                 admin_source_name(m), addr);
	admin_move_invalidate(c);
	if (!c->json && warning != NULL)
		admin_out_printf(&c->out, "warning: %s\n", warning);
	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "action", "action", c->json ? "complete" : "move completed");
	admin_field_bool(c, "crossForest", "cross-forest", true);
	admin_field_str(c, "sourceDatabase", "source database", admin_source_name(m));
	admin_field_str(c, "sourceMDB", "source DN",
	                m->move_source_mdb_dn != NULL ? m->move_source_mdb_dn : m->home_mdb_dn);
	admin_field_str(c, "targetAddress", "target address", addr);
	admin_field_str(c, "forest", "forest", forest);
	if (c->json) {
		mbx_json_kv_str(&c->j, "homeServer", NULL);
		mbx_json_kv_str(&c->j, "warning", warning);
	}
	admin_field_uint(c, "moveStatus", "move status", MBX_MOVE_COMPLETED,
	                 admin_status_text(MBX_MOVE_COMPLETED, buf, sizeof(buf)));
	admin_field_uint(c, "moveFlags", "move flags", MOVE_FLAG_CROSS_ORG, "0x1 (CrossOrg)");
	admin_ok(c);
}

/* "SMTP:user@domain" or "user@domain" -> "SMTP:user@domain" in c->str[1], domain's forest in
 * c->str[2], a warning in c->str[3]. Returns -1 for an address that is not one. */
static int admin_cross_address(struct admin_cmd *c, const char *arg)
{
	const struct mbx_foreign_forest *forest;
	const char *at, *addr = arg;

	if (strncasecmp(addr, "smtp:", 5) == 0)
		addr += 5;
	at = strchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strlen(addr) > 320)
		return -1;
	for (const char *p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return -1;
	c->str[1] = admin_strf("SMTP:%s", addr);
	if (c->str[1] == NULL)
		return -2;
	forest = mbx_server_identity_forest(c->a->deps.id, at + 1);
	if (forest != NULL)
		c->str[2] = admin_strf("%s", forest->name);
	else
		c->str[3] = admin_strf("%s is not a domain of a configured [forest.NAME]: logons "
		                       "will get ecUnknownUser without an Autodiscover redirect",
		                       at + 1);
	return 0;
}

static void admin_complete_have_mailbox(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	char buf[64];

	if (m->move_status != MBX_MOVE_IN_PROGRESS &&
	    m->move_status != MBX_MOVE_COMPLETION_IN_PROGRESS) {
		admin_move_refuse(
		        c, "complete", "no move in progress for %s (msExchMailboxMoveStatus %s)",
		        admin_mbx_name(m),
		        m->move_status == 0 ? "absent"
		                            : admin_status_text(m->move_status, buf, sizeof(buf)));
		return;
	}
	if (c->argc == 5) {
		if (c->str[3] != NULL) {
			char esc[512];

			mbx_log(MBX_LOG_WARNING, "admin: move complete of %s: %s",
			        admin_esc(admin_mbx_name(m), esc, sizeof(esc)), c->str[3]);
		}
		admin_mod_str(c, "homeMDB", NULL);
		admin_mod_str(c, "msExchHomeServerName", NULL);
		admin_mod_str(c, "targetAddress", c->str[1]);
		admin_mod_str(c, "msExchRecipientTypeDetails", "128");
		admin_mod_str(c, ATTR_FLAGS, "1");
		admin_mod_str(c, ATTR_STATUS, "10");
		admin_modify(c, m->dn, admin_cross_applied);
		return;
	}
	if (m->move_target_mdb_dn == NULL) {
		admin_move_refuse(c, "complete",
		                  "the move of %s names no target database (%s is absent)",
		                  admin_mbx_name(m), ATTR_TARGET);
		return;
	}
	c->db_arg = m->move_target_mdb_dn;
	c->db_then = admin_complete_have_db;
	c->db_try = -1;
	admin_lookup(c, MBX_DIR_BY_DN, m->move_target_mdb_dn, admin_db_answer);
}

void admin_move_complete(struct admin_cmd *c)
{
	if (!admin_is_mailbox_arg(c->argv[2]) ||
	    (c->argc != 3 && (c->argc != 5 || strcmp(c->argv[3], "--cross-forest") != 0))) {
		admin_usage(c, "move complete MAILBOX [--cross-forest SMTP:user@domain]");
		return;
	}
	if (c->argc == 5) {
		int rc = admin_cross_address(c, c->argv[4]);

		if (rc == -1) {
			admin_usage(c, "move complete MAILBOX --cross-forest SMTP:user@domain");
			return;
		}
		if (rc < 0) {
			admin_fail(c, MBX_CTL_FAILED, "out of memory");
			return;
		}
	}
	c->mbx_arg = c->argv[2];
	admin_fetch_mailbox(c, admin_complete_have_mailbox);
}

/* --- move abort --------------------------------------------------------------------------- */

static void admin_abort_applied(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	const char *target = c->db != NULL ? admin_db_legacy(c->db) : m->move_target_mdb_dn;

	admin_move_event(c, MBX_EV_MOVE_ABORTED, "Aborted the move of", admin_source_name(m),
	                 target);
	admin_move_invalidate(c);
	admin_field_str(c, "legacyExchangeDN", "mailbox", m->legacy_dn);
	admin_field_str(c, "dn", "dn", m->dn);
	admin_field_str(c, "action", "action", c->json ? "abort" : "move aborted");
	admin_field_str(c, "sourceDatabase", "source database", admin_source_name(m));
	admin_field_str(c, "targetDatabase", "target database", target);
	admin_field_str(c, "sourceMDB", "source DN", m->move_source_mdb_dn);
	admin_field_str(c, "targetMDB", "target DN", m->move_target_mdb_dn);
	admin_field_uint(c, "moveStatus", "move status", 0, "none");
	admin_ok(c);
}

static void admin_abort_modify(struct admin_cmd *c)
{
	admin_mod_str(c, ATTR_STATUS, NULL);
	admin_mod_str(c, ATTR_FLAGS, NULL);
	admin_mod_str(c, ATTR_SOURCE, NULL);
	admin_mod_str(c, ATTR_TARGET, NULL);
	admin_modify(c, c->mbx->dn, admin_abort_applied);
}

/* The target database's legacyExchangeDN is only for the event: a database that is gone
 * does not keep a move from being aborted. */
static void admin_abort_have_target(struct admin_cmd *c)
{
	if (c->st == MBX_DIR_TEMPFAIL) {
		admin_fail_dir(c, c->st, c->dirmsg, "database", c->mbx->move_target_mdb_dn);
		return;
	}
	if (c->st == MBX_DIR_FOUND) {
		c->db = c->ents[0];
		c->ents[0] = NULL;
	}
	admin_clear_lookup(c);
	admin_abort_modify(c);
}

static void admin_abort_have_mailbox(struct admin_cmd *c)
{
	const struct mbx_mailbox *m = c->mbx;
	char buf[64];

	if (!admin_move_recorded(m->move_status)) {
		admin_move_refuse(
		        c, "abort", "no move recorded for %s (msExchMailboxMoveStatus %s)",
		        admin_mbx_name(m),
		        m->move_status == 0 ? "absent"
		                            : admin_status_text(m->move_status, buf, sizeof(buf)));
		return;
	}
	if (m->move_target_mdb_dn != NULL)
		admin_lookup(c, MBX_DIR_BY_DN, m->move_target_mdb_dn, admin_abort_have_target);
	else
		admin_abort_modify(c);
}

void admin_move_abort(struct admin_cmd *c)
{
	if (!admin_is_mailbox_arg(c->argv[2])) {
		admin_usage(c, "move abort MAILBOX");
		return;
	}
	c->mbx_arg = c->argv[2];
	admin_fetch_mailbox(c, admin_abort_have_mailbox);
}
