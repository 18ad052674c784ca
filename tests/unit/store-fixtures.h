/*
 * store-fixtures.h: hand-built directory entries for the store unit tests (test-mailbox.c,
 * test-authz.c, test-logon-decision.c; header-only, static functions). Attributes, binary SIDs
 * and GUIDs, and user, database and server entries that mirror conf/directory.ldif (Contoso,
 * this server is SERVER1; design.md state table, MS-OXCSTOR 3.2.5.1.1), plus the snapshot
 * builder and the worlds (alice, dave, erin, frank) the tests share.
 */
#ifndef MBX_STORE_FIXTURES_H
#define MBX_STORE_FIXTURES_H

#include "mbx-test.h"

#include <strings.h>

#include "mbx/mailbox.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

/* --- hand-built entries ------------------------------------------------------------------- */

static inline struct mbx_dir_entry *ent_new(const char *dn)
{
	struct mbx_dir_entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	if (dn != NULL) {
		e->dn = strdup(dn);
		assert_non_null(e->dn);
	}
	return e;
}

static inline void ent_del(struct mbx_dir_entry *e, const char *name)
{
	for (size_t i = 0; i < e->nattrs; i++) {
		struct mbx_dir_attr *a = &e->attrs[i];

		if (strcasecmp(a->name, name) != 0)
			continue;
		for (size_t j = 0; j < a->nvals; j++)
			free(a->vals[j].data);
		free(a->vals);
		free(a->name);
		memmove(a, a + 1, (e->nattrs - i - 1) * sizeof(*a));
		e->nattrs--;
		return;
	}
}

static inline void ent_add(struct mbx_dir_entry *e, const char *name, const void *val, size_t len)
{
	struct mbx_dir_attr *a = NULL;
	uint8_t *data;

	for (size_t i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			a = &e->attrs[i];
	if (a == NULL) {
		e->attrs = realloc(e->attrs, (e->nattrs + 1) * sizeof(*e->attrs));
		assert_non_null(e->attrs);
		a = &e->attrs[e->nattrs++];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
	}
	a->vals = realloc(a->vals, (a->nvals + 1) * sizeof(*a->vals));
	assert_non_null(a->vals);
	data = malloc(len + 1);
	assert_non_null(data);
	if (len > 0)
		memcpy(data, val, len);
	data[len] = '\0';
	a->vals[a->nvals].data = data;
	a->vals[a->nvals].len = len;
	a->nvals++;
}

static inline void ent_str(struct mbx_dir_entry *e, const char *name, const char *s)
{
	ent_add(e, name, s, strlen(s));
}

static inline void ent_set(struct mbx_dir_entry *e, const char *name, const char *s)
{
	ent_del(e, name);
	if (s != NULL)
		ent_str(e, name, s);
}

static inline void ent_hex(struct mbx_dir_entry *e, const char *name, const char *hex)
{
	size_t n;
	uint8_t *b = mbx_test_hex(hex, &n);

	ent_del(e, name);
	ent_add(e, name, b, n);
	free(b);
}

/* A binary SID attribute from its string form. */
static inline void ent_sid(struct mbx_dir_entry *e, const char *name, const char *sidstr)
{
	struct mbx_sid sid;
	uint8_t buf[MBX_SID_MAX_BYTES];
	struct wr w;

	assert_int_equal(mbx_sid_from_str(sidstr, &sid), 0);
	wr_init(&w, buf, sizeof(buf));
	wr_sid(&w, &sid);
	assert_true(wr_ok(&w));
	ent_del(e, name);
	ent_add(e, name, buf, w.len);
}

/* --- the Contoso world -------------------------------------------------------------------- */

#define CFG                                                                                        \
	",cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"            \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define SRV1_DN "cn=SERVER1,cn=Servers" CFG
#define SRV2_DN "cn=SERVER2,cn=Servers" CFG
#define DB01_DN "cn=DB01,cn=Databases" CFG
#define DB02_DN "cn=DB02,cn=Databases" CFG
#define DB03_DN "cn=DB03,cn=Databases" CFG
#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define SRV1_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define SRV2_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER2"
#define RCPT(alias) AG "/cn=Recipients/cn=" alias
#define DOM "S-1-5-21-3317830718-1158378736-3523176689"

static const char *const fabrikam_domains[] = {"fabrikam.com", "corp.fabrikam.com"};
static const struct mbx_foreign_forest forests[] = {
        {"fabrikam", fabrikam_domains, 2, "https://autodiscover.fabrikam.com/autodiscover/"},
};
static const struct mbx_server_identity server1 = {
        "SERVER1", SRV1_LEG, SRV1_DN, forests, 1, false,
};

static inline struct mbx_dir_entry *server_entry(const char *dn, const char *legdn)
{
	struct mbx_dir_entry *e = ent_new(dn);

	ent_str(e, "objectClass", "top");
	ent_str(e, "objectClass", "msExchExchangeServer");
	ent_str(e, "legacyExchangeDN", legdn);
	ent_str(e, "networkAddress", "ncacn_ip_tcp:server.contoso.com");
	return e;
}

static inline struct mbx_dir_entry *db_entry(const char *dn, const char *name, const char *owner)
{
	struct mbx_dir_entry *e = ent_new(dn);
	char leg[256];

	snprintf(leg, sizeof(leg), AG "/cn=Configuration/cn=Databases/cn=%s", name);
	ent_str(e, "objectClass", "msExchMDB");
	ent_str(e, "objectClass", "msExchPrivateMDB");
	ent_str(e, "legacyExchangeDN", leg);
	if (owner != NULL)
		ent_str(e, "msExchOwningServer", owner);
	return e;
}

/* A mailbox user like those of conf/directory.ldif: rid is the last sub-authority. */
static inline struct mbx_dir_entry *user_entry(const char *cn, const char *alias, unsigned rid,
                                               const char *home_mdb, const char *home_server_leg)
{
	char dn[256], buf[256];
	struct mbx_dir_entry *e;

	snprintf(dn, sizeof(dn), "cn=%s,cn=Users,dc=contoso,dc=com", cn);
	e = ent_new(dn);
	ent_str(e, "objectClass", "top");
	ent_str(e, "objectClass", "person");
	ent_str(e, "objectClass", "organizationalPerson");
	ent_str(e, "objectClass", "user");
	ent_str(e, "displayName", cn);
	snprintf(buf, sizeof(buf), "%s@contoso.com", alias);
	ent_str(e, "mail", buf);
	snprintf(buf, sizeof(buf), "smtp:%s.alt@contoso.com", alias);
	ent_str(e, "proxyAddresses", buf);
	snprintf(buf, sizeof(buf), "SMTP:%s@contoso.com", alias);
	ent_str(e, "proxyAddresses", buf);
	snprintf(buf, sizeof(buf), AG "/cn=Recipients/cn=%s", alias);
	ent_str(e, "legacyExchangeDN", buf);
	snprintf(buf, sizeof(buf), DOM "-%u", rid);
	ent_sid(e, "objectSid", buf);
	ent_str(e, "userAccountControl", "512");
	ent_str(e, "msExchUserAccountControl", "0");
	ent_str(e, "msExchRecipientTypeDetails", "1");
	if (home_mdb != NULL) {
		ent_str(e, "homeMDB", home_mdb);
		ent_hex(e, "msExchMailboxGuid", "40 e9 c0 9a 46 b8 ab 59 b1 b4 87 81 12 99 97 ed");
	}
	if (home_server_leg != NULL)
		ent_str(e, "msExchHomeServerName", home_server_leg);
	return e;
}

/* Everything a test needs: the entries and the snapshot built from them. */
struct world {
	struct mbx_dir_entry *user, *db, *srv;
};

static inline void world_free(struct world *w)
{
	mbx_dir_entry_free(&w->user);
	mbx_dir_entry_free(&w->db);
	mbx_dir_entry_free(&w->srv);
}

static inline struct mbx_mailbox *build(const struct world *w)
{
	struct mbx_mailbox *m = NULL;
	char err[512];

	if (mbx_mailbox_from_entries(w->user, w->db, w->srv, 1700000000, &m, err, sizeof(err)) != 0)
		fail_msg("snapshot failed: %s", err);
	assert_non_null(m);
	return m;
}

/* alice: normal, DB01 on SERVER1 (this server) */
static inline struct world alice(void)
{
	struct world w = {
	        user_entry("Alice Anders", "alice", 1101, DB01_DN, SRV1_LEG),
	        db_entry(DB01_DN, "DB01", SRV1_DN),
	        server_entry(SRV1_DN, SRV1_LEG),
	};
	return w;
}

/* dave: DB03 on SERVER2 */
static inline struct world dave(void)
{
	struct world w = {
	        user_entry("Dave Davis", "dave", 1104, DB03_DN, SRV2_LEG),
	        db_entry(DB03_DN, "DB03", SRV2_DN),
	        server_entry(SRV2_DN, SRV2_LEG),
	};
	return w;
}

/* erin: mail user moved to Fabrikam */
static inline struct world erin(void)
{
	struct world w = {user_entry("Erin Evans", "erin", 1105, NULL, NULL), NULL, NULL};

	ent_set(w.user, "msExchRecipientTypeDetails", "128");
	ent_set(w.user, "targetAddress", "SMTP:erin@fabrikam.com");
	return w;
}

/* frank: mail contact */
static inline struct world frank(void)
{
	struct world w = {ent_new("cn=Frank Fisher,cn=Users,dc=contoso,dc=com"), NULL, NULL};

	ent_str(w.user, "objectClass", "top");
	ent_str(w.user, "objectClass", "person");
	ent_str(w.user, "objectClass", "organizationalPerson");
	ent_str(w.user, "objectClass", "contact");
	ent_str(w.user, "legacyExchangeDN", RCPT("frank"));
	ent_str(w.user, "mail", "frank@partner.example");
	ent_str(w.user, "msExchRecipientTypeDetails", "64");
	ent_str(w.user, "targetAddress", "SMTP:frank@partner.example");
	return w;
}

#endif /* MBX_STORE_FIXTURES_H */
