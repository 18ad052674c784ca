/*
 * mailbox-classify.c: a mailbox snapshot against this server's identity (design.md, the
 * mailbox-state table; MS-OXCSTOR 3.2.5.1.1; MS-OXMVMBX 3.1.1; protocol.md 8.1-8.6): DN
 * comparison, the target domain of a mail user and its forest, whether the mailbox is hosted
 * here, and the state of a snapshot. Pure: snapshot in, state out. The contract is in
 * include/mbx/mailbox.h.
 */
#include "mbx/mailbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- names and places --------------------------------------------------------------------- */

static bool dn_is_sep(char c)
{
	return c == ',' || c == '+' || c == '=' || c == ';';
}

/*
 * Next significant character of a DN at *ip, lower-cased; 0 at the end. Spaces are dropped at
 * both ends and around unescaped separators; a backslash and the character it escapes are
 * returned as the escaped character with bit 0x100 set, so "\," and "," differ and the escaped
 * one is never a separator.
 */
static int dn_next(const char *s, size_t *ip, bool *prev_sep)
{
	size_t i = *ip;

	for (;;) {
		char c = s[i];

		if (c == '\0') {
			*ip = i;
			return 0;
		}
		if (c == ' ') {
			size_t j = i;

			while (s[j] == ' ')
				j++;
			if (*prev_sep || s[j] == '\0' || dn_is_sep(s[j])) {
				i = j;
				continue;
			}
			*prev_sep = false;
			*ip = i + 1;
			return ' ';
		}
		if (c == '\\' && s[i + 1] != '\0') {
			*prev_sep = false;
			*ip = i + 2;
			return 0x100 | (unsigned char)(s[i + 1] >= 'A' && s[i + 1] <= 'Z'
			                                       ? s[i + 1] - 'A' + 'a'
			                                       : s[i + 1]);
		}
		*prev_sep = dn_is_sep(c);
		*ip = i + 1;
		return (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
}

bool mbx_mailbox_dn_equal(const char *a, const char *b)
{
	size_t i = 0, j = 0;
	bool psa = true, psb = true; /* leading spaces are dropped like those after a separator */

	if (a == NULL || b == NULL)
		return false;
	/* Fast path, the usual case (a DN compared with the same DN from another source): equal
	 * but for the case of ASCII letters, byte for byte, is equal, since the normal form below
	 * depends only on the characters, and on letters only through their lower case. Any other
	 * difference (spaces, escapes, non-letters) goes to the full comparison. */
	if (strcmp(a, b) == 0)
		return true;
	for (size_t k = 0;; k++) {
		unsigned char x = (unsigned char)a[k], y = (unsigned char)b[k];

		if (x != y) {
			if (x >= 'A' && x <= 'Z')
				x = (unsigned char)(x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (unsigned char)(y - 'A' + 'a');
			if (x != y)
				break;
		}
		if (x == '\0')
			return true;
	}
	for (;;) {
		int ca = dn_next(a, &i, &psa);
		int cb = dn_next(b, &j, &psb);

		if (ca != cb)
			return false;
		if (ca == 0)
			return true;
	}
}

char *mbx_mailbox_dn_key(const char *dn, char prefix)
{
	size_t i = 0, k = 0;
	bool ps = true;
	char *p;
	int c;

	if (dn == NULL)
		return NULL;
	/* The normal form is never longer than the DN; the prefix takes one byte more. */
	p = malloc(strlen(dn) + 2);
	if (p == NULL)
		return NULL;
	if (prefix != '\0')
		p[k++] = prefix;
	while ((c = dn_next(dn, &i, &ps)) != 0) {
		if (c & 0x100)
			p[k++] = '\\';
		p[k++] = (char)(c & 0xff);
	}
	p[k] = '\0';
	return p;
}

const char *mbx_mailbox_target_domain(const struct mbx_mailbox *mbx, char *buf, size_t size)
{
	const char *t, *colon, *at;
	size_t n;

	if (mbx == NULL || mbx->target_address == NULL || buf == NULL || size == 0)
		return NULL;
	t = mbx->target_address;
	colon = strchr(t, ':');
	if (colon != NULL) {
		if ((size_t)(colon - t) != 4 || strncasecmp(t, "smtp", 4) != 0)
			return NULL;
		t = colon + 1;
	}
	at = strrchr(t, '@');
	if (at == NULL || at == t || at[1] == '\0')
		return NULL;
	n = strlen(at + 1);
	if (n >= size)
		return NULL;
	memcpy(buf, at + 1, n + 1);
	return buf;
}

const struct mbx_foreign_forest *mbx_server_identity_forest(const struct mbx_server_identity *id,
                                                            const char *domain)
{
	if (id == NULL || domain == NULL)
		return NULL;
	for (size_t i = 0; i < id->nforests; i++) {
		const struct mbx_foreign_forest *f = &id->forests[i];

		for (size_t k = 0; k < f->nsmtp_domains; k++)
			if (f->smtp_domains[k] != NULL &&
			    strcasecmp(f->smtp_domains[k], domain) == 0)
				return f;
	}
	return NULL;
}

const struct mbx_foreign_forest *mbx_mailbox_foreign_forest(const struct mbx_mailbox *mbx,
                                                            const struct mbx_server_identity *id)
{
	char domain[256];

	return mbx_server_identity_forest(id,
	                                  mbx_mailbox_target_domain(mbx, domain, sizeof(domain)));
}

bool mbx_mailbox_hosted_here(const struct mbx_mailbox *mbx, const struct mbx_server_identity *id)
{
	if (mbx == NULL || id == NULL || !mbx->has_mailbox)
		return false;
	/* The database's owning server is the authority; the user's msExchHomeServerName only
	 * stands in when the database entry is not known. */
	if (mbx->home_server_dn != NULL && id->ldap_dn != NULL)
		return mbx_mailbox_dn_equal(mbx->home_server_dn, id->ldap_dn);
	if (mbx->home_server_legacy_dn != NULL && id->legacy_dn != NULL)
		return strcasecmp(mbx->home_server_legacy_dn, id->legacy_dn) == 0;
	return false;
}

/* --- classification ----------------------------------------------------------------------- */

/*
 * The order of the checks is that of MS-OXCSTOR 3.2.5.1.1 (protocol.md 3.2):
 *   1. Look the Essdn up. Not found -> ecUnknownUser (UNKNOWN); any other failure: the
 *      directory is down (DIR_UNREACHABLE, answered ecNetworkError as design.md and seed 004
 *      want) or gave something we cannot use (DIR_ERROR, ecLoginFailure as the spec says).
 *      A cached snapshot stands in for a directory that does not answer.
 *   2. No mailbox database configured -> ecUnknownUser: a mail user moved to a configured
 *      foreign forest (MOVED_OTHER_FOREST, MS-OXMVMBX 3.1.1) or anything else without a
 *      mailbox (CUSTOM_RECIPIENT, seed 003). "Database offline" has no equivalent here: a
 *      database we cannot place ends at step 5 as HOME_UNKNOWN (ecLoginFailure, as the spec
 *      wants for an offline one).
 *   3. Mailbox in transit -> ecMailboxInTransit (IN_TRANSIT). Before the disabled test and
 *      the redirect: a moving mailbox is locked whatever else is true of it.
 *   4. Mailbox disabled -> the spec's SHOULD is ecUnknownUser; seed 000 (Exchange's behaviour
 *      that the project follows) refines it: a disabled account WITH msExchMasterAccountSid is
 *      a linked/resource/shared mailbox and is served normally; one WITHOUT it is
 *      DISABLED_NO_MASTER (ecLoginFailure, events 9548 and 1022).
 *   5. Not hosted here -> ecWrongServer with the home server (MOVED_SAME_FOREST); if the home
 *      server cannot be named, or the name we would send is our own (a stale
 *      msExchHomeServerName would make the client loop), HOME_UNKNOWN.
 *   Otherwise NORMAL. Steps 6 and 7 of the spec (ecProfileNotConfigured, ecServerPaused) and
 *   authorization depend on the request and the principal: mbx_logon_decide.
 */
enum mbx_mailbox_state mbx_mailbox_classify(const struct mbx_mailbox *mbx,
                                            enum mbx_dir_status status,
                                            const struct mbx_server_identity *id,
                                            const char **why_r)
{
	const char *why_dummy;
	const char **why = why_r != NULL ? why_r : &why_dummy;

	if (status == MBX_DIR_NOT_FOUND) {
		*why = "no directory object has this legacyExchangeDN";
		return MBX_MAILBOX_UNKNOWN;
	}
	if (mbx == NULL) {
		if (status == MBX_DIR_TEMPFAIL) {
			*why = "the directory is unreachable and nothing is cached";
			return MBX_MAILBOX_DIR_UNREACHABLE;
		}
		*why = status == MBX_DIR_FOUND ? "the directory entry could not be used"
		                               : "the directory failed and nothing is cached";
		return MBX_MAILBOX_DIR_ERROR;
	}
	if (!mbx->has_mailbox) {
		if (mbx->kind == MBX_MAILBOX_KIND_MAIL_USER &&
		    mbx_mailbox_foreign_forest(mbx, id) != NULL) {
			*why = "mail user whose targetAddress is in a foreign forest";
			return MBX_MAILBOX_MOVED_OTHER_FOREST;
		}
		*why = mbx->kind == MBX_MAILBOX_KIND_MAIL_USER
		               ? "mail user whose targetAddress is in no configured forest"
		               : "the object has no mailbox (homeMDB)";
		return MBX_MAILBOX_CUSTOM_RECIPIENT;
	}
	if (mbx_move_status_locks(mbx->move_status)) {
		*why = mbx_move_status_name(mbx->move_status) != NULL
		               ? "a move that locks the mailbox is running"
		               : "msExchMailboxMoveStatus has a value we do not know";
		return MBX_MAILBOX_IN_TRANSIT;
	}
	if (mbx->disabled && mbx->master == MBX_MASTER_NONE) {
		*why = "disabled account without msExchMasterAccountSid";
		return MBX_MAILBOX_DISABLED_NO_MASTER;
	}
	if (mbx_mailbox_hosted_here(mbx, id)) {
		*why = "the mailbox database is on this server";
		return MBX_MAILBOX_NORMAL;
	}
	if (mbx->home_server_legacy_dn == NULL) {
		*why = "the home server's legacyExchangeDN is not known";
		return MBX_MAILBOX_HOME_UNKNOWN;
	}
	if (id != NULL && id->legacy_dn != NULL &&
	    strcasecmp(mbx->home_server_legacy_dn, id->legacy_dn) == 0) {
		*why = "the home server named is this server, but its database is not here";
		return MBX_MAILBOX_HOME_UNKNOWN;
	}
	*why = "the mailbox database is on another server";
	return MBX_MAILBOX_MOVED_SAME_FOREST;
}
