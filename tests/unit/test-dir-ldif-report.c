/*
 * test-dir-ldif-report.c: two lookups of include/mbx/directory.h in the embedded `ldif` backend
 * (src/directory/dir-ldif.c, dir-ldif-index.c) and the predicate they share with the `ldap`
 * backend (src/directory/directory.c):
 *   - MBX_DIR_BY_LEGACYDN also finds an entry through a proxyAddresses value "X500:<key>"
 *     (the legacyExchangeDN of an old forest, kept after a cross-forest move): prefix in any
 *     case, the rest compared as legacyExchangeDN is (ASCII case only, whole value), each
 *     entry once, duplicates FOUND with every entry in file order; modifications re-index;
 *   - MBX_DIR_DISABLED_NO_MASTER, the report of seed 000 (disabled users without
 *     msExchMasterAccountSid, computers excluded), on a fixture with every border case and on
 *     the sample forests conf/directory.ldif (gina only) and conf/fabrikam.ldif (none).
 * The same cases run against slapd in tests/unit/test-dir-ldap-report.c.
 */
#include "mbx-test.h"

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/directory.h"
#include "mbx/secdesc.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

#define BASE "DC=test,DC=example"
#define U(cn) "CN=" cn ",OU=Users," BASE
#define OLD "/o=Old/ou=First Administrative Group/cn=Recipients/cn="
#define NEW "/o=New/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="

/* Every border case of both lookups, one entry each (names say what they test). */
static const char
        fixture_ldif[] =
                "version: 1\n"
                "\n"
                "dn: " U("Anna") "\n"
                                 "objectClass: top\nobjectClass: user\n"
                                 "legacyExchangeDN: " NEW "anna\n"
                                 "proxyAddresses: SMTP:anna@test.example\n"
                                 "proxyAddresses: X500:" OLD "anna\n"
                                 "proxyAddresses: X400:c=US;a= ;p=Old;o=Exchange;s=anna;\n"
                                 "userAccountControl: 512\n"
                                 "\n"
                                 "dn: " U(
                                         "Ben") "\n"
                                                "objectClass: user\n"
                                                "legacyExchangeDN: " NEW "ben\n"
                                                "proxyAddresses: x500:" OLD "ben\n"
                                                "proxyAddresses: X500:\n"
                                                "proxyAddresses: X500\n"
                                                "userAccountControl: 512\n"
                                                "\n"
                                                "# one's legacyExchangeDN is the other's X500 "
                                                "proxy: two entries, file order\n"
                                                "dn: " U(
                                                        "Dup One") "\n"
                                                                   "objectClass: user\n"
                                                                   "legacyExchangeDN: "
                                                                   "/o=Dup/cn=dup\n"
                                                                   "\n"
                                                                   "dn: " U(
                                                                           "Dup Two") "\n"
                                                                                      "objectClass:"
                                                                                      " user\n"
                                                                                      "legacyExchan"
                                                                                      "geDN: " NEW
                                                                                      "duptwo\n"
                                                                                      "proxyAddress"
                                                                                      "es: "
                                                                                      "X500:/O=DUP/"
                                                                                      "CN=DUP\n"
                                                                                      "\n"
                                                                                      "# the same "
                                                                                      "value as "
                                                                                      "legacyExchan"
                                                                                      "geDN and as "
                                                                                      "X500 proxy: "
                                                                                      "one entry\n"
                                                                                      "dn: " U(
                                                                                              "Sel"
                                                                                              "f") "\n"
                                                                                                   "objectClass: user\n"
                                                                                                   "legacyExchangeDN: /o=Self/cn=self\n"
                                                                                                   "proxyAddresses: X500:/o=Self/cn=self\n"
                                                                                                   "\n"
                                                                                                   "# the report: disabled by userAccountControl bit 0x2\n"
                                                                                                   "dn: " U(
                                                                                                           "Dis Uac") "\n"
                                                                                                                      "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"
                                                                                                                      "objectClass: user\n"
                                                                                                                      "userAccountControl: 514\n"
                                                                                                                      "msExchUserAccountControl: 0\n"
                                                                                                                      "\n"
                                                                                                                      "dn: " U(
                                                                                                                              "Dis Exch") "\n"
                                                                                                                                          "objectClass: User\n"
                                                                                                                                          "userAccountControl: 512\n"
                                                                                                                                          "msExchUserAccountControl: 2\n"
                                                                                                                                          "\n"
                                                                                                                                          "dn: " U(
                                                                                                                                                  "Dis Negative") "\n"
                                                                                                                                                                  "objectClass: user\n"
                                                                                                                                                                  "userAccountControl: -2147483646\n"
                                                                                                                                                                  "\n"
                                                                                                                                                                  "dn: " U("Dis Three") "\n"
                                                                                                                                                                                        "objectClass: user\n"
                                                                                                                                                                                        "userAccountControl: 3\n"
                                                                                                                                                                                        "\n"
                                                                                                                                                                                        "dn: " U("Master") "\n"
                                                                                                                                                                                                           "objectClass: user\n"
                                                                                                                                                                                                           "userAccountControl: 514\n"
                                                                                                                                                                                                           "msExchUserAccountControl: 2\n"
                                                                                                                                                                                                           "msExchMasterAccountSid:: AQEAAAAAAAUKAAAA\n"
                                                                                                                                                                                                           "\n"
                                                                                                                                                                                                           "dn: " U(
                                                                                                                                                                                                                   "Enabled") "\n"
                                                                                                                                                                                                                              "objectClass: user\n"
                                                                                                                                                                                                                              "userAccountControl: 512\n"
                                                                                                                                                                                                                              "msExchUserAccountControl: 0\n"
                                                                                                                                                                                                                              "\n"
                                                                                                                                                                                                                              "dn: " U(
                                                                                                                                                                                                                                      "Exch One") "\n"
                                                                                                                                                                                                                                                  "objectClass: user\n"
                                                                                                                                                                                                                                                  "userAccountControl: 512\n"
                                                                                                                                                                                                                                                  "msExchUserAccountControl: 1\n"
                                                                                                                                                                                                                                                  "\n"
                                                                                                                                                                                                                                                  "dn: " U(
                                                                                                                                                                                                                                                          "Exch Six") "\n"
                                                                                                                                                                                                                                                                      "objectClass: user\n"
                                                                                                                                                                                                                                                                      "msExchUserAccountControl: 6\n"
                                                                                                                                                                                                                                                                      "\n"
                                                                                                                                                                                                                                                                      "dn: CN=PC1,OU=Computers," BASE
                                                                                                                                                                                                                                                                      "\n"
                                                                                                                                                                                                                                                                      "objectClass: top\nobjectClass: user\nobjectClass: computer\n"
                                                                                                                                                                                                                                                                      "userAccountControl: 4098\n"
                                                                                                                                                                                                                                                                      "\n"
                                                                                                                                                                                                                                                                      "dn: " U(
                                                                                                                                                                                                                                                                              "Contact") "\n"
                                                                                                                                                                                                                                                                                         "objectClass: contact\n"
                                                                                                                                                                                                                                                                                         "msExchUserAccountControl: 2\n"
                                                                                                                                                                                                                                                                                         "\n"
                                                                                                                                                                                                                                                                                         "dn: " U(
                                                                                                                                                                                                                                                                                                 "Garbage") "\n"
                                                                                                                                                                                                                                                                                                            "objectClass: user\n"
                                                                                                                                                                                                                                                                                                            "userAccountControl: 2x\n"
                                                                                                                                                                                                                                                                                                            "msExchUserAccountControl: two\n"
                                                                                                                                                                                                                                                                                                            "\n"
                                                                                                                                                                                                                                                                                                            "dn: " U(
                                                                                                                                                                                                                                                                                                                    "Too Big") "\n"
                                                                                                                                                                                                                                                                                                                               "objectClass: user\n"
                                                                                                                                                                                                                                                                                                                               "userAccountControl: 4294967298\n"
                                                                                                                                                                                                                                                                                                                               "\n"
                                                                                                                                                                                                                                                                                                                               "dn: " U(
                                                                                                                                                                                                                                                                                                                                       "Empty") "\n"
                                                                                                                                                                                                                                                                                                                                                "objectClass: user\n"
                                                                                                                                                                                                                                                                                                                                                "userAccountControl: -\n";

/* The report's answer on the fixture, in file order. */
static const char *const fixture_report[] = {
        U("Dis Uac"),
        U("Dis Exch"),
        U("Dis Negative"),
        U("Dis Three"),
};

/* --- helpers ----------------------------------------------------------------------------- */

struct fx {
	struct event_base *base;
	char dir[64], path[128];
	struct mbx_dir *d;
};

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return buf;
}

/* A directory loaded from text (a copy in a folder of its own: modifications write it). */
static struct fx *fx_new(const char *text, size_t len)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct mbx_dir_config cfg = {.backend = "ldif", .group_depth = 8};
	char err[512] = "";

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	strcpy(fx->dir, "/tmp/test-dir-ldif-report.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/dir.ldif", fx->dir);
	write_all(fx->path, text, len);
	cfg.ldif_path = fx->path;
	fx->d = mbx_dir_new(fx->base, &cfg, err, sizeof(err));
	if (fx->d == NULL)
		fail_msg("load failed: %s", err);
	return fx;
}

/* The directory of a file of conf/, or NULL (test skipped) when the tree is not there. */
static struct fx *fx_conf(const char *name)
{
	const char *src = getenv("MBX_SRCDIR");
	char path[4096];
	size_t len;
	char *text;
	struct fx *fx;

	snprintf(path, sizeof(path), "%s/conf/%s", src != NULL ? src : ".", name);
	text = read_all(path, &len);
	if (text == NULL)
		return NULL;
	fx = fx_new(text, len);
	free(text);
	return fx;
}

static void fx_free(struct fx *fx)
{
	char p[256];

	mbx_dir_free(&fx->d);
	event_base_free(fx->base);
	unlink(fx->path);
	snprintf(p, sizeof(p), "%s", fx->dir);
	/* a failed write could leave a temporary file: remove whatever is there */
	{
		DIR *dh = opendir(p);
		struct dirent *de;

		while (dh != NULL && (de = readdir(dh)) != NULL) {
			char f[512];

			if (de->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
			unlink(f);
		}
		if (dh != NULL)
			closedir(dh);
	}
	rmdir(p);
	free(fx);
}

#define MAX_GOT 32

struct got {
	int calls;
	enum mbx_dir_status status;
	char message[256];
	size_t n;
	char dn[MAX_GOT][256];
	struct mbx_dir_entry *e[MAX_GOT];
};

static void got_reset(struct got *g)
{
	for (size_t i = 0; i < MAX_GOT; i++)
		mbx_dir_entry_free(&g->e[i]);
	memset(g, 0, sizeof(*g));
}

static void got_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct got *g = ctx;

	g->calls++;
	g->status = res->status;
	snprintf(g->message, sizeof(g->message), "%s", res->message ? res->message : "");
	g->n = res->nentries;
	if (res->status == MBX_DIR_FOUND)
		assert_true(res->nentries >= 1);
	else
		assert_int_equal(res->nentries, 0);
	for (size_t i = 0; i < res->nentries && i < MAX_GOT; i++) {
		snprintf(g->dn[i], sizeof(g->dn[i]), "%s", res->entries[i]->dn);
		g->e[i] = mbx_dir_entry_dup(res->entries[i]);
		assert_non_null(g->e[i]);
	}
}

static void lookup(struct fx *fx, enum mbx_dir_key kind, const void *key, size_t keylen,
                   struct got *g)
{
	got_reset(g);
	assert_non_null(mbx_dir_lookup(fx->d, kind, key, keylen, got_cb, g));
	assert_int_equal(g->calls, 0); /* from the loop, never from inside the call */
	assert_int_not_equal(event_base_dispatch(fx->base), -1);
	assert_int_equal(g->calls, 1);
}

/* The lookup finds exactly the entries dns[0..n) in this order (n 0: NOT_FOUND). */
static void expect_dns(struct fx *fx, enum mbx_dir_key kind, const char *key,
                       const char *const *dns, size_t n)
{
	struct got g = {0};

	lookup(fx, kind, key, key != NULL ? strlen(key) : 0, &g);
	if (n == 0 && g.status != MBX_DIR_NOT_FOUND)
		fail_msg("%s \"%s\": %s with %zu entries (first %s), expected not found",
		         mbx_dir_key_name(kind), key != NULL ? key : "(null)",
		         mbx_dir_status_name(g.status), g.n, g.n > 0 ? g.dn[0] : "-");
	if (n > 0 && g.status != MBX_DIR_FOUND)
		fail_msg("%s \"%s\": %s (%s), expected %s", mbx_dir_key_name(kind),
		         key != NULL ? key : "(null)", mbx_dir_status_name(g.status), g.message,
		         dns[0]);
	assert_int_equal(g.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(g.dn[i], dns[i]);
	got_reset(&g);
}

static void expect_one(struct fx *fx, enum mbx_dir_key kind, const char *key, const char *dn)
{
	expect_dns(fx, kind, key, &dn, 1);
}

static void expect_none(struct fx *fx, enum mbx_dir_key kind, const char *key)
{
	expect_dns(fx, kind, key, NULL, 0);
}

static struct got modify(struct fx *fx, const char *dn, const struct mbx_dir_mod *mods, size_t n)
{
	struct got g = {0};

	assert_non_null(mbx_dir_modify(fx->d, dn, mods, n, got_cb, &g));
	assert_int_not_equal(event_base_dispatch(fx->base), -1);
	assert_int_equal(g.calls, 1);
	return g;
}

/* --- BY_LEGACYDN through X500 proxies ---------------------------------------------------- */

static void test_x500_match(void **state)
{
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);

	(void)state;
	/* the legacyExchangeDN itself, as before */
	expect_one(fx, MBX_DIR_BY_LEGACYDN, NEW "anna", U("Anna"));
	/* the X500 proxy ("X500:" and "x500:"), any case of the DN's ASCII letters */
	expect_one(fx, MBX_DIR_BY_LEGACYDN, OLD "anna", U("Anna"));
	expect_one(fx, MBX_DIR_BY_LEGACYDN,
	           "/O=OLD/OU=FIRST ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ANNA", U("Anna"));
	expect_one(fx, MBX_DIR_BY_LEGACYDN, OLD "ben", U("Ben"));
	expect_one(fx, MBX_DIR_BY_LEGACYDN, "/o=self/cn=SELF", U("Self"));
	fx_free(fx);
}

/* Only the whole value matches: no part of a DN, no prefix, no extra space, no other address
 * type, and the prefix is not part of the key. */
static void test_x500_no_partial(void **state)
{
	static const char *const keys[] = {
	        OLD "ann",
	        OLD "annas",
	        OLD "anna ",
	        " " OLD "anna",
	        "/o=Old",
	        "/o=Old/ou=First Administrative Group",
	        OLD,
	        "X500:" OLD "anna",
	        "x500:" OLD "anna",
	        "c=US;a= ;p=Old;o=Exchange;s=anna;",
	        "anna@test.example",
	        "/o=Old/ou=First  Administrative Group/cn=Recipients/cn=anna",
	        "",
	        "X500",
	        "X500:",
	};
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		expect_none(fx, MBX_DIR_BY_LEGACYDN, keys[i]);
	/* X500 proxies are not SMTP addresses, nor logins */
	expect_none(fx, MBX_DIR_BY_SMTP, OLD "anna");
	expect_none(fx, MBX_DIR_BY_LOGIN, OLD "anna");
	fx_free(fx);
}

/* Two entries match: FOUND with both, in file order, as for any duplicate legacyExchangeDN;
 * an entry matching twice (legacyExchangeDN and X500) comes once. */
static void test_x500_duplicates(void **state)
{
	static const char *const dup[] = {U("Dup One"), U("Dup Two")};
	static const char dup_legacy[] = "version: 1\n\n"
	                                 "dn: cn=b," BASE "\nobjectClass: user\n"
	                                 "legacyExchangeDN: /o=X/cn=same\n\n"
	                                 "dn: cn=a," BASE "\nobjectClass: user\n"
	                                 "legacyExchangeDN: /O=x/CN=same\n";
	static const char *const both[] = {"cn=b," BASE, "cn=a," BASE};
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);

	(void)state;
	expect_dns(fx, MBX_DIR_BY_LEGACYDN, "/o=Dup/cn=dup", dup, 2);
	expect_dns(fx, MBX_DIR_BY_LEGACYDN, "/O=DUP/CN=DUP", dup, 2);
	expect_one(fx, MBX_DIR_BY_LEGACYDN, "/o=Self/cn=self", U("Self"));
	fx_free(fx);
	/* the behaviour X500 proxies follow: two legacyExchangeDNs alike */
	fx = fx_new(dup_legacy, sizeof(dup_legacy) - 1);
	expect_dns(fx, MBX_DIR_BY_LEGACYDN, "/o=x/cn=same", both, 2);
	fx_free(fx);
}

/* Modifications re-index the proxies: added, found; removed, gone; a reload too. */
static void test_x500_modify(void **state)
{
	static const struct mbx_dir_value add = {(uint8_t *)"X500:/o=Older/cn=ben", 20};
	struct mbx_dir_mod mod = {MBX_DIR_MOD_ADD, "proxyAddresses", &add, 1};
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);
	struct got g;
	char err[256];

	(void)state;
	expect_none(fx, MBX_DIR_BY_LEGACYDN, "/o=Older/cn=ben");
	g = modify(fx, U("Ben"), &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	expect_one(fx, MBX_DIR_BY_LEGACYDN, "/o=older/cn=BEN", U("Ben"));
	expect_one(fx, MBX_DIR_BY_LEGACYDN, OLD "ben", U("Ben"));
	/* and from the file written back */
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), 0);
	expect_one(fx, MBX_DIR_BY_LEGACYDN, "/o=Older/cn=ben", U("Ben"));
	mod.op = MBX_DIR_MOD_DELETE;
	g = modify(fx, U("Ben"), &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	expect_none(fx, MBX_DIR_BY_LEGACYDN, "/o=Older/cn=ben");
	expect_one(fx, MBX_DIR_BY_LEGACYDN, OLD "ben", U("Ben"));
	fx_free(fx);
}

/* The sample forests: Erin's Contoso ESSDN finds her Fabrikam mailbox in Fabrikam. */
static void test_x500_fabrikam(void **state)
{
	struct fx *fx = fx_conf("fabrikam.ldif");

	(void)state;
	if (fx == NULL) {
		skip();
		return;
	}
	expect_one(fx, MBX_DIR_BY_LEGACYDN,
	           "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
	           "cn=erin",
	           "cn=Erin Evans,cn=Users,dc=fabrikam,dc=com");
	expect_one(fx, MBX_DIR_BY_LEGACYDN,
	           "/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
	           "cn=erin",
	           "cn=Erin Evans,cn=Users,dc=fabrikam,dc=com");
	expect_none(fx, MBX_DIR_BY_LEGACYDN,
	            "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
	            "cn=alice");
	fx_free(fx);
}

/* --- the report -------------------------------------------------------------------------- */

static void test_report_fixture(void **state)
{
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);
	struct got g = {0};
	size_t n = sizeof(fixture_report) / sizeof(fixture_report[0]);

	(void)state;
	assert_string_equal(mbx_dir_key_name(MBX_DIR_DISABLED_NO_MASTER),
	                    "disabled-without-master-sid");
	expect_dns(fx, MBX_DIR_DISABLED_NO_MASTER, "", fixture_report, n);
	/* the key is ignored, whatever it is */
	expect_dns(fx, MBX_DIR_DISABLED_NO_MASTER, NULL, fixture_report, n);
	expect_dns(fx, MBX_DIR_DISABLED_NO_MASTER, U("Anna"), fixture_report, n);
	/* the entries come whole */
	lookup(fx, MBX_DIR_DISABLED_NO_MASTER, "", 0, &g);
	assert_int_equal(g.n, n);
	assert_string_equal(mbx_dir_entry_str(g.e[0], "userAccountControl"), "514");
	assert_true(mbx_dir_entry_has_class(g.e[0], "organizationalPerson"));
	for (size_t i = 0; i < n; i++)
		assert_true(mbx_dir_entry_disabled_no_master(g.e[i]));
	got_reset(&g);
	fx_free(fx);
}

/* The predicate on its own, entry by entry of the fixture. */
static void test_report_predicate(void **state)
{
	static const struct {
		const char *dn;
		bool want;
	} cases[] = {
	        {U("Anna"), false},     {U("Dis Uac"), true},
	        {U("Dis Exch"), true},  {U("Dis Negative"), true},
	        {U("Dis Three"), true}, {U("Master"), false},
	        {U("Enabled"), false},  {U("Exch One"), false},
	        {U("Exch Six"), false}, {"CN=PC1,OU=Computers," BASE, false},
	        {U("Contact"), false},  {U("Garbage"), false},
	        {U("Too Big"), false},  {U("Empty"), false},
	};
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);
	struct got g = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lookup(fx, MBX_DIR_BY_DN, cases[i].dn, strlen(cases[i].dn), &g);
		assert_int_equal(g.status, MBX_DIR_FOUND);
		if (mbx_dir_entry_disabled_no_master(g.e[0]) != cases[i].want)
			fail_msg("%s: expected %s", cases[i].dn, cases[i].want ? "true" : "false");
	}
	got_reset(&g);
	assert_false(mbx_dir_entry_disabled_no_master(NULL));
	fx_free(fx);
}

/* A directory with no such account, and an empty one: NOT_FOUND. */
static void test_report_none(void **state)
{
	static const char empty[] = "version: 1\n";
	static const char enabled[] = "version: 1\n\ndn: cn=x," BASE "\nobjectClass: user\n"
	                              "userAccountControl: 512\n";
	struct fx *fx = fx_new(empty, sizeof(empty) - 1);

	(void)state;
	expect_none(fx, MBX_DIR_DISABLED_NO_MASTER, "");
	fx_free(fx);
	fx = fx_new(enabled, sizeof(enabled) - 1);
	expect_none(fx, MBX_DIR_DISABLED_NO_MASTER, "");
	fx_free(fx);
}

/* conf/directory.ldif: gina is the one account of seed 000's story (room1 is disabled too,
 * but has msExchMasterAccountSid SELF). Her mailbox rights grant Alice full access, and
 * nobody yet the associated external account; once SELF is her master account (what
 * `mbxctl mailbox associate-self gina` writes), the report is empty. */
static void test_report_sample(void **state)
{
	static const char *const gina[] = {"cn=Gina Gray,cn=Users,dc=contoso,dc=com"};
	static const uint8_t self[] = {1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0};
	const struct mbx_dir_value v = {(uint8_t *)self, sizeof(self)};
	struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "msExchMasterAccountSid", &v, 1};
	struct fx *fx = fx_conf("directory.ldif");
	struct got g = {0};
	struct mbx_secdesc *sd;
	struct mbx_sid alice, sid_gina;
	struct rd err;
	const uint8_t *p;
	size_t len;

	(void)state;
	if (fx == NULL) {
		skip();
		return;
	}
	expect_dns(fx, MBX_DIR_DISABLED_NO_MASTER, "", gina, 1);
	lookup(fx, MBX_DIR_DISABLED_NO_MASTER, "", 0, &g);
	p = mbx_dir_entry_bin(g.e[0], "msExchMailboxSecurityDescriptor", &len);
	assert_non_null(p);
	sd = malloc(sizeof(*sd));
	assert_non_null(sd);
	assert_int_equal(mbx_secdesc_decode(p, len, sd, &err), 0);
	assert_int_equal(mbx_sid_from_str("S-1-5-21-3317830718-1158378736-3523176689-1101", &alice),
	                 0);
	assert_int_equal(
	        mbx_sid_from_str("S-1-5-21-3317830718-1158378736-3523176689-1106", &sid_gina), 0);
	assert_int_equal(
	        mbx_secdesc_check(sd, &alice, NULL, 0, &sid_gina, MBX_SD_RIGHT_FULL_ACCESS),
	        MBX_ACCESS_GRANTED);
	assert_int_equal(
	        mbx_secdesc_check(sd, &sid_gina, NULL, 0, &sid_gina, MBX_SD_RIGHT_EXTERNAL_ACCOUNT),
	        MBX_ACCESS_DENIED);
	free(sd);
	got_reset(&g);
	g = modify(fx, gina[0], &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	expect_none(fx, MBX_DIR_DISABLED_NO_MASTER, "");
	fx_free(fx);
	/* Fabrikam: nobody */
	fx = fx_conf("fabrikam.ldif");
	assert_non_null(fx);
	expect_none(fx, MBX_DIR_DISABLED_NO_MASTER, "");
	fx_free(fx);
}

/* Kinds past the last one are refused without a callback. */
static void test_report_bad_kind(void **state)
{
	struct fx *fx = fx_new(fixture_ldif, sizeof(fixture_ldif) - 1);
	struct got g = {0};

	(void)state;
	assert_null(mbx_dir_lookup(fx->d, (enum mbx_dir_key)(MBX_DIR_DISABLED_NO_MASTER + 1), "x",
	                           1, got_cb, &g));
	assert_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_LEGACYDN, NULL, 0, got_cb, &g));
	assert_int_equal(event_base_dispatch(fx->base), 1); /* nothing pending */
	assert_int_equal(g.calls, 0);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_x500_match),       cmocka_unit_test(test_x500_no_partial),
	        cmocka_unit_test(test_x500_duplicates),  cmocka_unit_test(test_x500_modify),
	        cmocka_unit_test(test_x500_fabrikam),    cmocka_unit_test(test_report_fixture),
	        cmocka_unit_test(test_report_predicate), cmocka_unit_test(test_report_none),
	        cmocka_unit_test(test_report_sample),    cmocka_unit_test(test_report_bad_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
