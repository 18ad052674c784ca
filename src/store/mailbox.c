/*
 * mailbox.c: the mailbox snapshot built from directory entries (protocol.md 8.1-8.6): the
 * builder, copy and free. Pure: entries in, snapshot out. Its classification against this
 * server's identity and the DN comparison are mailbox-classify.c. The contract is in
 * include/mbx/mailbox.h.
 */
#include "mbx/mailbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/secdesc.h"

/* userAccountControl ADS_UF_ACCOUNTDISABLE (MS-ADTS 2.2.16); msExchUserAccountControl value of a
 * disabled mailbox user (protocol.md 8.1). */
#define MAILBOX_UF_ACCOUNTDISABLE 0x2u
#define MAILBOX_EXCH_UAC_DISABLED 2u

/* msExchRecipientTypeDetails groups (protocol.md 8.3). */
#define RTD_CONTACTS (0x40ULL | 0x8000ULL | 0x20000ULL)
#define RTD_MAIL_USERS                                                                             \
	(0x80ULL | 0x80000000ULL | 0x200000000ULL | 0x400000000ULL | 0x800000000ULL |              \
	 0x4000000000ULL | 0x80000000000ULL)
#define RTD_GROUPS                                                                                 \
	(0x100ULL | 0x200ULL | 0x400ULL | 0x800ULL | 0x40000ULL | 0x80000ULL | 0x100000ULL |       \
	 0x10000000ULL | 0x40000000ULL)

const char *mbx_mailbox_kind_name(enum mbx_mailbox_kind k)
{
	switch (k) {
	case MBX_MAILBOX_KIND_USER:
		return "user";
	case MBX_MAILBOX_KIND_MAIL_USER:
		return "mail user";
	case MBX_MAILBOX_KIND_CONTACT:
		return "contact";
	case MBX_MAILBOX_KIND_GROUP:
		return "group";
	case MBX_MAILBOX_KIND_OTHER:
		return "other";
	}
	return "unknown";
}

const char *mbx_move_status_name(uint32_t status)
{
	switch (status) {
	case MBX_MOVE_NONE:
		return "None";
	case MBX_MOVE_QUEUED:
		return "Queued";
	case MBX_MOVE_IN_PROGRESS:
		return "InProgress";
	case MBX_MOVE_AUTO_SUSPENDED:
		return "AutoSuspended";
	case MBX_MOVE_COMPLETION_IN_PROGRESS:
		return "CompletionInProgress";
	case MBX_MOVE_SYNCED:
		return "Synced";
	case MBX_MOVE_COMPLETED:
		return "Completed";
	case MBX_MOVE_COMPLETED_WITH_WARNING:
		return "CompletedWithWarning";
	case MBX_MOVE_SUSPENDED:
		return "Suspended";
	case MBX_MOVE_FAILED:
		return "Failed";
	}
	return NULL;
}

bool mbx_move_status_locks(uint32_t status)
{
	switch (status) {
	case MBX_MOVE_IN_PROGRESS:
	case MBX_MOVE_COMPLETION_IN_PROGRESS:
		return true;
	case MBX_MOVE_NONE:
	case MBX_MOVE_QUEUED:
	case MBX_MOVE_AUTO_SUSPENDED:
	case MBX_MOVE_SYNCED:
	case MBX_MOVE_COMPLETED:
	case MBX_MOVE_COMPLETED_WITH_WARNING:
	case MBX_MOVE_SUSPENDED:
	case MBX_MOVE_FAILED:
		return false;
	}
	return true; /* not understood: refuse rather than risk writes during a move */
}

const char *mbx_mailbox_state_name(enum mbx_mailbox_state st)
{
	switch (st) {
	case MBX_MAILBOX_NORMAL:
		return "normal";
	case MBX_MAILBOX_IN_TRANSIT:
		return "in transit";
	case MBX_MAILBOX_MOVED_SAME_FOREST:
		return "moved, same forest";
	case MBX_MAILBOX_MOVED_OTHER_FOREST:
		return "moved, other forest";
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		return "custom recipient";
	case MBX_MAILBOX_DISABLED_NO_MASTER:
		return "disabled without master account SID";
	case MBX_MAILBOX_HOME_UNKNOWN:
		return "home server unknown";
	case MBX_MAILBOX_UNKNOWN:
		return "unknown";
	case MBX_MAILBOX_DIR_UNREACHABLE:
		return "directory unreachable";
	case MBX_MAILBOX_DIR_ERROR:
		return "directory error";
	}
	return "invalid";
}

/* --- building ----------------------------------------------------------------------------- */

/* Where errors go while building: the entry at fault and the caller's buffer. */
struct mailbox_err {
	char *buf;
	size_t size;
};

static int mailbox_fail(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

static int mailbox_fail(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *fmt,
                        ...)
{
	char dn[320], msg[320];
	va_list ap;

	if (e->buf == NULL || e->size == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (entry != NULL && entry->dn != NULL)
		mbx_log_escape(entry->dn, strlen(entry->dn), dn, sizeof(dn));
	else
		snprintf(dn, sizeof(dn), "(entry without DN)");
	snprintf(e->buf, e->size, "%s: %s", dn, msg);
	return -1;
}

/*
 * The single value of a single-valued attribute: 0 absent (no attribute or no values), 1 found
 * (*v_r set), -1 error (several values, or an empty one: no single-valued attribute we read may
 * be empty).
 */
static int mailbox_attr1(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *name,
                         const struct mbx_dir_value **v_r)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(entry, name);

	*v_r = NULL;
	if (a == NULL || a->nvals == 0)
		return 0;
	if (a->nvals > 1)
		return mailbox_fail(e, entry, "%s has %zu values; it is single-valued", name,
		                    a->nvals);
	if (a->vals[0].len == 0 || a->vals[0].data == NULL)
		return mailbox_fail(e, entry, "%s is empty", name);
	*v_r = &a->vals[0];
	return 1;
}

/* A single-valued string attribute copied into *s_r (NULL when absent). Rejects embedded NULs. */
static int mailbox_str(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *name,
                       char **s_r)
{
	const struct mbx_dir_value *v;
	int rc = mailbox_attr1(e, entry, name, &v);

	*s_r = NULL;
	if (rc <= 0)
		return rc;
	if (memchr(v->data, '\0', v->len) != NULL)
		return mailbox_fail(e, entry, "%s holds a NUL byte", name);
	*s_r = malloc(v->len + 1);
	if (*s_r == NULL)
		return mailbox_fail(e, entry, "out of memory");
	memcpy(*s_r, v->data, v->len);
	(*s_r)[v->len] = '\0';
	return 1;
}

/*
 * A single-valued integer (LDAP INTEGER, RFC 4517 3.3.16: an optional '-' and decimal digits)
 * within [min, max]. *u_r gets the value as a two's-complement 64-bit pattern, so a negative
 * 32-bit value cast to uint32_t comes out as its unsigned form.
 */
static int mailbox_int(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *name,
                       int64_t min, uint64_t max, uint64_t *u_r)
{
	const struct mbx_dir_value *v;
	int rc = mailbox_attr1(e, entry, name, &v);
	const uint8_t *p;
	size_t n, i = 0;
	bool neg = false;
	uint64_t mag = 0;
	char shown[64];

	*u_r = 0;
	if (rc <= 0)
		return rc;
	p = v->data;
	n = v->len;
	if (p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n)
		goto bad;
	for (; i < n; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			goto bad;
		d = (unsigned)(p[i] - '0');
		if (mag > (UINT64_MAX - d) / 10)
			goto range;
		mag = mag * 10 + d;
	}
	if (neg) {
		/* -mag >= min, with min <= 0: mag <= -min, computed without overflow */
		uint64_t lim = min >= 0 ? 0 : (uint64_t)(-(min + 1)) + 1;

		if (mag > lim || (mag == 0 && min > 0))
			goto range;
		*u_r = (uint64_t)0 - mag;
		return 1;
	}
	if (mag > max || (min > 0 && mag < (uint64_t)min))
		goto range;
	*u_r = mag;
	return 1;
bad:
	mbx_log_escape((const char *)p, n, shown, sizeof(shown));
	return mailbox_fail(e, entry, "%s \"%s\" is not a decimal number", name, shown);
range:
	mbx_log_escape((const char *)p, n, shown, sizeof(shown));
	return mailbox_fail(e, entry, "%s %s is out of range", name, shown);
}

/* A SID attribute: the binary form (MS-DTYP 2.4.2.2, what AD stores) or, for hand-written
 * directories, the string form. A binary SID starts with revision byte 0x01, a string with 'S',
 * so the two cannot be confused. */
static int mailbox_sid(struct mailbox_err *e, const struct mbx_dir_entry *entry, const char *name,
                       struct mbx_sid *sid_r)
{
	const struct mbx_dir_value *v;
	int rc = mailbox_attr1(e, entry, name, &v);

	memset(sid_r, 0, sizeof(*sid_r));
	if (rc <= 0)
		return rc;
	if (v->data[0] == 'S' || v->data[0] == 's') {
		char s[MBX_SID_STRMAX];

		if (v->len < sizeof(s) && memchr(v->data, '\0', v->len) == NULL) {
			memcpy(s, v->data, v->len);
			s[v->len] = '\0';
			if (mbx_sid_from_str(s, sid_r) == 0)
				return 1;
		}
		return mailbox_fail(e, entry, "%s is not a valid SID string", name);
	}
	if (mbx_sid_from_bytes(v->data, v->len, sid_r) != 0)
		return mailbox_fail(e, entry, "%s is not a valid binary SID (%zu bytes)", name,
		                    v->len);
	return 1;
}

/* Primary SMTP address: the proxyAddresses value with the upper-case "SMTP:" prefix (the
 * Exchange convention for the primary one), else mail. */
static int mailbox_primary_smtp(struct mailbox_err *e, const struct mbx_dir_entry *entry,
                                char **s_r)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(entry, "proxyAddresses");

	*s_r = NULL;
	for (size_t i = 0; a != NULL && i < a->nvals; i++) {
		const struct mbx_dir_value *v = &a->vals[i];

		if (v->len > 5 && memcmp(v->data, "SMTP:", 5) == 0 &&
		    memchr(v->data, '\0', v->len) == NULL) {
			*s_r = malloc(v->len - 5 + 1);
			if (*s_r == NULL)
				return mailbox_fail(e, entry, "out of memory");
			memcpy(*s_r, v->data + 5, v->len - 5);
			(*s_r)[v->len - 5] = '\0';
			return 1;
		}
	}
	/* mail is single-valued in AD, but some directories allow several: take the first. */
	a = mbx_dir_entry_attr(entry, "mail");
	if (a == NULL || a->nvals == 0 || a->vals[0].len == 0)
		return 0;
	if (memchr(a->vals[0].data, '\0', a->vals[0].len) != NULL)
		return mailbox_fail(e, entry, "mail holds a NUL byte");
	*s_r = malloc(a->vals[0].len + 1);
	if (*s_r == NULL)
		return mailbox_fail(e, entry, "out of memory");
	memcpy(*s_r, a->vals[0].data, a->vals[0].len);
	(*s_r)[a->vals[0].len] = '\0';
	return 1;
}

static enum mbx_mailbox_kind mailbox_kind(const struct mbx_dir_entry *user, bool has_rtd,
                                          uint64_t rtd, bool has_home_mdb, bool has_target)
{
	if (mbx_dir_entry_has_class(user, "computer"))
		return MBX_MAILBOX_KIND_OTHER;
	if (mbx_dir_entry_has_class(user, "contact"))
		return MBX_MAILBOX_KIND_CONTACT;
	if (mbx_dir_entry_has_class(user, "group"))
		return MBX_MAILBOX_KIND_GROUP;
	if (mbx_dir_entry_has_class(user, "user") ||
	    mbx_dir_entry_has_class(user, "inetOrgPerson")) {
		if ((has_rtd && (rtd & RTD_MAIL_USERS) != 0) || (!has_home_mdb && has_target))
			return MBX_MAILBOX_KIND_MAIL_USER;
		return MBX_MAILBOX_KIND_USER;
	}
	if (has_rtd && (rtd & RTD_CONTACTS) != 0)
		return MBX_MAILBOX_KIND_CONTACT;
	if (has_rtd && (rtd & RTD_GROUPS) != 0)
		return MBX_MAILBOX_KIND_GROUP;
	return MBX_MAILBOX_KIND_OTHER;
}

/* Checks that the descriptor decodes, and keeps its bytes. */
static int mailbox_sd(struct mailbox_err *e, const struct mbx_dir_entry *entry,
                      struct mbx_mailbox *m)
{
	const struct mbx_dir_value *v;
	int rc = mailbox_attr1(e, entry, "msExchMailboxSecurityDescriptor", &v);
	struct mbx_secdesc *sd;
	struct rd err;

	if (rc <= 0)
		return rc;
	sd = malloc(sizeof(*sd));
	if (sd == NULL)
		return mailbox_fail(e, entry, "out of memory");
	rc = mbx_secdesc_decode(v->data, v->len, sd, &err);
	free(sd);
	if (rc != 0)
		return mailbox_fail(
		        e, entry, "msExchMailboxSecurityDescriptor does not decode: offset %zu: %s",
		        err.err_off, err.err_msg);
	m->sd = malloc(v->len);
	if (m->sd == NULL)
		return mailbox_fail(e, entry, "out of memory");
	memcpy(m->sd, v->data, v->len);
	m->sd_len = v->len;
	return 1;
}

static int mailbox_user(struct mailbox_err *e, const struct mbx_dir_entry *u, struct mbx_mailbox *m)
{
	const struct mbx_dir_value *v;
	uint64_t n;
	bool disabled = false;
	int rc;

	if (mailbox_str(e, u, "legacyExchangeDN", &m->legacy_dn) < 0 ||
	    mailbox_str(e, u, "displayName", &m->display_name) < 0 ||
	    mailbox_primary_smtp(e, u, &m->smtp) < 0 ||
	    mailbox_str(e, u, "homeMDB", &m->home_mdb_dn) < 0 ||
	    mailbox_str(e, u, "msExchHomeServerName", &m->home_server_legacy_dn) < 0 ||
	    mailbox_str(e, u, "targetAddress", &m->target_address) < 0 ||
	    mailbox_str(e, u, "msExchMailboxMoveSourceMDBLink", &m->move_source_mdb_dn) < 0 ||
	    mailbox_str(e, u, "msExchMailboxMoveTargetMDBLink", &m->move_target_mdb_dn) < 0)
		return -1;
	m->home_server_from_attr = m->home_server_legacy_dn != NULL;

	rc = mailbox_int(e, u, "msExchRecipientTypeDetails", 0, INT64_MAX, &n);
	if (rc < 0)
		return -1;
	m->has_rtd = rc > 0;
	m->recipient_type_details = n;

	rc = mailbox_int(e, u, "userAccountControl", INT32_MIN, UINT32_MAX, &n);
	if (rc < 0)
		return -1;
	m->user_account_control = (uint32_t)n;
	if (rc > 0 && (m->user_account_control & MAILBOX_UF_ACCOUNTDISABLE) != 0)
		disabled = true;
	rc = mailbox_int(e, u, "msExchUserAccountControl", INT32_MIN, UINT32_MAX, &n);
	if (rc < 0)
		return -1;
	if (rc > 0 && (uint32_t)n == MAILBOX_EXCH_UAC_DISABLED)
		disabled = true;
	m->disabled = disabled;

	rc = mailbox_sid(e, u, "objectSid", &m->object_sid);
	if (rc < 0)
		return -1;
	m->has_object_sid = rc > 0;
	rc = mailbox_sid(e, u, "msExchMasterAccountSid", &m->master_sid);
	if (rc < 0)
		return -1;
	if (rc == 0)
		m->master = MBX_MASTER_NONE;
	else if (mbx_sid_equal(&m->master_sid, &mbx_sid_self))
		m->master = MBX_MASTER_SELF;
	else
		m->master = MBX_MASTER_SID;

	rc = mailbox_attr1(e, u, "msExchMailboxGuid", &v);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (v->len != sizeof(m->mailbox_guid.b))
			return mailbox_fail(e, u, "msExchMailboxGuid is %zu bytes, not 16", v->len);
		memcpy(m->mailbox_guid.b, v->data, sizeof(m->mailbox_guid.b));
		m->has_mailbox_guid = true;
	}

	if (mailbox_int(e, u, "msExchMailboxMoveStatus", 0, UINT32_MAX, &n) < 0)
		return -1;
	m->move_status = (uint32_t)n;
	if (mailbox_int(e, u, "msExchMailboxMoveFlags", INT32_MIN, UINT32_MAX, &n) < 0)
		return -1;
	m->move_flags = (uint32_t)n;

	if (mailbox_sd(e, u, m) < 0)
		return -1;

	m->kind = mailbox_kind(u, m->has_rtd, m->recipient_type_details, m->home_mdb_dn != NULL,
	                       m->target_address != NULL);
	m->has_mailbox = m->home_mdb_dn != NULL && m->kind != MBX_MAILBOX_KIND_CONTACT &&
	                 m->kind != MBX_MAILBOX_KIND_GROUP;
	return 0;
}

static int mailbox_database(struct mailbox_err *e, const struct mbx_dir_entry *user,
                            const struct mbx_dir_entry *db, const struct mbx_dir_entry *srv,
                            struct mbx_mailbox *m)
{
	char *srv_legacy = NULL;

	if (db == NULL) {
		if (srv != NULL)
			return mailbox_fail(e, srv, "server entry given without a database entry");
		return 0;
	}
	if (db->dn == NULL)
		return mailbox_fail(e, db, "database entry has no DN");
	if (m->home_mdb_dn == NULL)
		return mailbox_fail(e, user,
		                    "a database entry was given, but the user has no "
		                    "homeMDB");
	if (!mbx_mailbox_dn_equal(db->dn, m->home_mdb_dn))
		return mailbox_fail(e, db, "database entry is not the user's homeMDB");
	if (mailbox_str(e, db, "legacyExchangeDN", &m->home_mdb_legacy_dn) < 0 ||
	    mailbox_str(e, db, "msExchOwningServer", &m->home_server_dn) < 0)
		return -1;
	if (srv == NULL)
		return 0;
	if (srv->dn == NULL)
		return mailbox_fail(e, srv, "server entry has no DN");
	if (m->home_server_dn == NULL)
		return mailbox_fail(e, db,
		                    "server entry given, but the database has no "
		                    "msExchOwningServer");
	if (!mbx_mailbox_dn_equal(srv->dn, m->home_server_dn))
		return mailbox_fail(e, srv,
		                    "server entry is not the database's msExchOwningServer");
	if (mailbox_str(e, srv, "legacyExchangeDN", &srv_legacy) < 0)
		return -1;
	if (srv_legacy != NULL) {
		/* The server's own name beats the user's msExchHomeServerName, which can lag
		 * behind a move. */
		free(m->home_server_legacy_dn);
		m->home_server_legacy_dn = srv_legacy;
		m->home_server_from_attr = false;
	}
	return 0;
}

int mbx_mailbox_from_entries(const struct mbx_dir_entry *user, const struct mbx_dir_entry *database,
                             const struct mbx_dir_entry *server, time_t fetched,
                             struct mbx_mailbox **mbx_r, char *err, size_t errsize)
{
	struct mailbox_err e = {err, errsize};
	struct mbx_mailbox *m;

	*mbx_r = NULL;
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (user == NULL)
		return mailbox_fail(&e, NULL, "no user entry");
	if (user->dn == NULL || user->dn[0] == '\0')
		return mailbox_fail(&e, user, "entry has no DN");
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return mailbox_fail(&e, user, "out of memory");
	m->fetched = fetched;
	m->dn = strdup(user->dn);
	if (m->dn == NULL) {
		mailbox_fail(&e, user, "out of memory");
		goto fail;
	}
	if (mailbox_user(&e, user, m) < 0 || mailbox_database(&e, user, database, server, m) < 0)
		goto fail;
	*mbx_r = m;
	return 0;
fail:
	mbx_mailbox_free(&m);
	return -1;
}

static bool mailbox_dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

struct mbx_mailbox *mbx_mailbox_dup(const struct mbx_mailbox *mbx)
{
	struct mbx_mailbox *c;

	if (mbx == NULL)
		return NULL;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	*c = *mbx;
	/* Clear every owned pointer first, so a failure half-way frees only copies. */
	c->dn = c->legacy_dn = c->display_name = c->smtp = NULL;
	c->home_mdb_dn = c->home_mdb_legacy_dn = c->home_server_dn = NULL;
	c->home_server_legacy_dn = c->move_source_mdb_dn = c->move_target_mdb_dn = NULL;
	c->target_address = NULL;
	c->sd = NULL;
	if (!mailbox_dup_str(&c->dn, mbx->dn) || !mailbox_dup_str(&c->legacy_dn, mbx->legacy_dn) ||
	    !mailbox_dup_str(&c->display_name, mbx->display_name) ||
	    !mailbox_dup_str(&c->smtp, mbx->smtp) ||
	    !mailbox_dup_str(&c->home_mdb_dn, mbx->home_mdb_dn) ||
	    !mailbox_dup_str(&c->home_mdb_legacy_dn, mbx->home_mdb_legacy_dn) ||
	    !mailbox_dup_str(&c->home_server_dn, mbx->home_server_dn) ||
	    !mailbox_dup_str(&c->home_server_legacy_dn, mbx->home_server_legacy_dn) ||
	    !mailbox_dup_str(&c->move_source_mdb_dn, mbx->move_source_mdb_dn) ||
	    !mailbox_dup_str(&c->move_target_mdb_dn, mbx->move_target_mdb_dn) ||
	    !mailbox_dup_str(&c->target_address, mbx->target_address))
		goto fail;
	if (mbx->sd != NULL && mbx->sd_len > 0) {
		c->sd = malloc(mbx->sd_len);
		if (c->sd == NULL)
			goto fail;
		memcpy(c->sd, mbx->sd, mbx->sd_len);
	}
	return c;
fail:
	mbx_mailbox_free(&c);
	return NULL;
}

void mbx_mailbox_free(struct mbx_mailbox **mbx)
{
	struct mbx_mailbox *m;

	if (mbx == NULL || *mbx == NULL)
		return;
	m = *mbx;
	free(m->dn);
	free(m->legacy_dn);
	free(m->display_name);
	free(m->smtp);
	free(m->home_mdb_dn);
	free(m->home_mdb_legacy_dn);
	free(m->home_server_dn);
	free(m->home_server_legacy_dn);
	free(m->move_source_mdb_dn);
	free(m->move_target_mdb_dn);
	free(m->target_address);
	free(m->sd);
	free(m);
	*mbx = NULL;
}
