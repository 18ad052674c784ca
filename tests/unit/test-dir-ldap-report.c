/*
 * test-dir-ldap-report.c: the `ldap` directory backend (src/directory/dir-ldap*.c) against real
 * slapd instances for what tests/unit/test-dir-ldif-report.c checks in the ldif backend:
 *   - MBX_DIR_BY_LEGACYDN through proxyAddresses "X500:<key>" (filter
 *     (|(legacyExchangeDN=K)(proxyAddresses=x500:K))), no partial match, duplicates;
 *   - MBX_DIR_DISABLED_NO_MASTER, seed 000's report: the bitwise-AND matching rule
 *     1.2.840.113556.1.4.803 on slapd with the project's schema, computers left out by the
 *     backend, exact DNs on the sample directory, and a server size limit that would cut the
 *     list short: ERROR, never a partial FOUND;
 *   - mbx_dir_modify as the service account (tests/integration/lib/slapd.sh lets it write the
 *     attributes a move or `mbxctl mailbox associate-self` changes, on user entries only), the
 *     change replicated to the syncrepl replica, and what it may not write refused.
 * Skipped unless tests/integration/test-dir-ldap.sh runs it (after test-dir-ldap) with
 *   MBX_LDAP_URIS "PRIMARY REPLICA", MBX_LDAP_BASE, MBX_LDAP_BIND_DN, MBX_LDAP_PWFILE,
 *   MBX_LDAP_CTL ("CTL modify NAME < LDIF" as the rootdn), MBX_LDAP_SMALL_URI (a copy of the
 *   sample directory whose service account has a size limit of 2 entries).
 * The entries it adds are deleted at the end; gina is put back as she was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/directory.h"
#include "mbx/log.h"

#define CONTOSO "dc=contoso,dc=com"
#define USERS "cn=Users," CONTOSO
#define GINA "cn=Gina Gray," USERS
#define U(cn) "cn=" cn "," USERS
#define OLD "/o=Old/ou=First Administrative Group/cn=Recipients/cn="

static struct event_base *base;
static struct event *tick;
static char tmpdir[64], uris[512];
static const char *primary, *replica;
static bool extra_added;
static unsigned left_out;

/* --- the loop, answers ------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void run_until(const bool *flag, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!*flag && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	if (strstr(line, "left out") != NULL)
		left_out++;
}

#define MAX_E 32

struct answer {
	bool done, noentries;
	int calls;
	enum mbx_dir_status st;
	char msg[512];
	size_t n;
	struct mbx_dir_entry *e[MAX_E];
};

static void answer_reset(struct answer *a)
{
	for (size_t i = 0; i < MAX_E; i++)
		mbx_dir_entry_free(&a->e[i]);
	memset(a, 0, sizeof(*a));
}

static void answer_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct answer *a = ctx;

	a->calls++;
	a->done = true;
	a->st = res->status;
	snprintf(a->msg, sizeof(a->msg), "%s", res->message != NULL ? res->message : "");
	if (res->status == MBX_DIR_FOUND && !a->noentries)
		assert_true(res->nentries >= 1);
	if (res->status != MBX_DIR_FOUND)
		assert_int_equal(res->nentries, 0);
	a->n = res->nentries;
	for (size_t i = 0; i < res->nentries && i < MAX_E; i++) {
		a->e[i] = mbx_dir_entry_dup(res->entries[i]);
		assert_non_null(a->e[i]);
	}
}

static void lookup(struct mbx_dir *d, enum mbx_dir_key kind, const char *key, struct answer *a)
{
	answer_reset(a);
	assert_non_null(mbx_dir_lookup(d, kind, key, key != NULL ? strlen(key) : 0, answer_cb, a));
	assert_false(a->done);
	run_until(&a->done, 10000);
	assert_true(a->done);
	assert_int_equal(a->calls, 1);
}

static void modify(struct mbx_dir *d, const char *dn, const struct mbx_dir_mod *mods, size_t n,
                   struct answer *a)
{
	answer_reset(a);
	a->noentries = true;
	assert_non_null(mbx_dir_modify(d, dn, mods, n, answer_cb, a));
	run_until(&a->done, 10000);
	assert_true(a->done);
}

static int dn_cmp(const void *x, const void *y)
{
	return strcasecmp(*(const char *const *)x, *(const char *const *)y);
}

/* The lookup finds exactly these entries (any order: the server's), or NOT_FOUND for n 0. */
static void expect_dns(struct mbx_dir *d, enum mbx_dir_key kind, const char *key,
                       const char *const *want, size_t n)
{
	struct answer a = {0};
	const char *got[MAX_E], *w[MAX_E];

	lookup(d, kind, key, &a);
	if (n == 0 && a.st != MBX_DIR_NOT_FOUND)
		fail_msg("%s \"%s\": %s with %zu entries (first %s), expected not found",
		         mbx_dir_key_name(kind), key, mbx_dir_status_name(a.st), a.n,
		         a.n > 0 ? a.e[0]->dn : a.msg);
	if (n > 0 && a.st != MBX_DIR_FOUND)
		fail_msg("%s \"%s\": %s (%s)", mbx_dir_key_name(kind), key,
		         mbx_dir_status_name(a.st), a.msg);
	assert_true(n <= MAX_E);
	if (a.n != n) {
		for (size_t i = 0; i < a.n && i < MAX_E; i++)
			print_message("got %s\n", a.e[i]->dn);
		fail_msg("%s \"%s\": %zu entries, expected %zu", mbx_dir_key_name(kind), key, a.n,
		         n);
	}
	for (size_t i = 0; i < n; i++) {
		got[i] = a.e[i]->dn;
		w[i] = want[i];
	}
	qsort(got, n, sizeof(got[0]), dn_cmp);
	qsort(w, n, sizeof(w[0]), dn_cmp);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], w[i]);
	answer_reset(&a);
}

/* --- slapd ------------------------------------------------------------------------------- */

static bool have_slapd(void)
{
	const char *u = getenv("MBX_LDAP_URIS");

	if (u == NULL || u[0] == '\0')
		return false;
	if (primary == NULL) {
		snprintf(uris, sizeof(uris), "%s", u);
		primary = strtok(uris, " ");
		replica = strtok(NULL, " ");
	}
	return primary != NULL && replica != NULL;
}

#define NEED_SLAPD()                                                                               \
	do {                                                                                       \
		if (!have_slapd()) {                                                               \
			skip();                                                                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* LDIF applied as the rootdn of the primary (changetype add, modify, delete). */
static int rootdn_ldif(const char *ldif)
{
	char path[128], cmd[512];
	int fd;

	snprintf(path, sizeof(path), "%s/change.ldif", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ldif, strlen(ldif)), (ssize_t)strlen(ldif));
	close(fd);
	assert_non_null(getenv("MBX_LDAP_CTL"));
	snprintf(cmd, sizeof(cmd), "%s modify contoso < '%s'", getenv("MBX_LDAP_CTL"), path);
	return system(cmd);
}

static struct mbx_dir *dir_open(const char *uri)
{
	const char *list[2] = {uri, NULL};
	struct mbx_dir_config cfg;
	struct mbx_dir *d;
	char err[512] = "";

	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = "ldap";
	cfg.uris = list;
	cfg.base_dn = getenv("MBX_LDAP_BASE");
	cfg.bind_dn = getenv("MBX_LDAP_BIND_DN");
	cfg.bind_password_file = getenv("MBX_LDAP_PWFILE");
	cfg.network_timeout_ms = 2000;
	cfg.request_timeout_ms = 5000;
	cfg.group_depth = 8;
	d = mbx_dir_new(base, &cfg, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	return d;
}

/* Entries for the X500 and report cases (deleted in the group teardown). */
static const char extra_ldif[] = "dn: " U(
        "Xena X") "\nchangetype: add\nobjectClass: user\ncn: Xena X\nsn: X\n"
                  "legacyExchangeDN: /o=New/cn=xena\n"
                  "proxyAddresses: X500:" OLD "xena\n"
                  "proxyAddresses: x500:" OLD "xena2\n"
                  "proxyAddresses: X400:c=US;p=Old;s=xena;\n"
                  "userAccountControl: 512\n\n"
                  "dn: " U(
                          "Dup One") "\nchangetype: add\nobjectClass: user\ncn: Dup One\nsn: D\n"
                                     "legacyExchangeDN: /o=Dup/cn=dup\n\n"
                                     "dn: " U(
                                             "Dup Two") "\nchangetype: add\nobjectClass: "
                                                        "user\ncn: Dup Two\nsn: D\n"
                                                        "legacyExchangeDN: /o=New/cn=duptwo\n"
                                                        "proxyAddresses: X500:/O=DUP/CN=DUP\n\n"
                                                        "dn: " U(
                                                                "Dis Exch") "\nchangetype: "
                                                                            "add\nobjectClass: "
                                                                            "user\ncn: Dis "
                                                                            "Exch\nsn: D\n"
                                                                            "userAccountControl: "
                                                                            "512\nmsExchUserAccou"
                                                                            "ntControl: 2\n\n"
                                                                            "dn: " U(
                                                                                    "Dis "
                                                                                    "Negative") "\n"
                                                                                                "ch"
                                                                                                "an"
                                                                                                "ge"
                                                                                                "ty"
                                                                                                "pe"
                                                                                                ": "
                                                                                                "ad"
                                                                                                "d"
                                                                                                "\n"
                                                                                                "ob"
                                                                                                "je"
                                                                                                "ct"
                                                                                                "Cl"
                                                                                                "as"
                                                                                                "s:"
                                                                                                " u"
                                                                                                "se"
                                                                                                "r"
                                                                                                "\n"
                                                                                                "cn"
                                                                                                ": "
                                                                                                "Di"
                                                                                                "s "
                                                                                                "Ne"
                                                                                                "ga"
                                                                                                "ti"
                                                                                                "ve"
                                                                                                "\n"
                                                                                                "sn"
                                                                                                ": "
                                                                                                "D"
                                                                                                "\n"
                                                                                                "us"
                                                                                                "er"
                                                                                                "Ac"
                                                                                                "co"
                                                                                                "un"
                                                                                                "tC"
                                                                                                "on"
                                                                                                "tr"
                                                                                                "ol"
                                                                                                ": "
                                                                                                "-2"
                                                                                                "14"
                                                                                                "74"
                                                                                                "83"
                                                                                                "64"
                                                                                                "6"
                                                                                                "\n"
                                                                                                "\n"
                                                                                                "dn"
                                                                                                ":"
                                                                                                " " U("Dis Three") "\nchangetype: add\nobjectClass: user\ncn: Dis Three\nsn: D\n"
                                                                                                                   "userAccountControl: 3\n\n"
                                                                                                                   "dn: " U(
                                                                                                                           "Master") "\nchangetype: add\nobjectClass: user\ncn: Master\nsn: M\n"
                                                                                                                                     "userAccountControl: 514\nmsExchUserAccountControl: 2\n"
                                                                                                                                     "msExchMasterAccountSid:: AQEAAAAAAAUKAAAA\n\n"
                                                                                                                                     "dn: " U(
                                                                                                                                             "Exch Six") "\nchangetype: add\nobjectClass: user\ncn: Exch Six\nsn: E\n"
                                                                                                                                                         "msExchUserAccountControl: 6\n\n"
                                                                                                                                                         "dn: " U(
                                                                                                                                                                 "PC1") "\nchangetype: add\nobjectClass: top\nobjectClass: person\n"
                                                                                                                                                                        "objectClass: organizationalPerson\nobjectClass: user\nobjectClass: computer\n"
                                                                                                                                                                        "cn: PC1\nsn: PC1\nuserAccountControl: 4098\n\n"
                                                                                                                                                                        "dn: " U(
                                                                                                                                                                                "Contact") "\nchangetype: add\nobjectClass: contact\ncn: Contact\nsn: C\n"
                                                                                                                                                                                           "msExchRecipientTypeDetails: 64\n";

static const char extra_delete[] = "dn: " U(
        "Xena X") "\nchangetype: delete\n\n"
                  "dn: " U(
                          "Dup One") "\nchangetype: delete\n\n"
                                     "dn: " U(
                                             "Dup Two") "\nchangetype: delete\n\n"
                                                        "dn: " U(
                                                                "Dis Exch") "\nchangetype: "
                                                                            "delete\n\n"
                                                                            "dn: " U(
                                                                                    "Dis "
                                                                                    "Negative") "\n"
                                                                                                "ch"
                                                                                                "an"
                                                                                                "ge"
                                                                                                "ty"
                                                                                                "pe"
                                                                                                ": "
                                                                                                "de"
                                                                                                "le"
                                                                                                "te"
                                                                                                "\n"
                                                                                                "\n"
                                                                                                "dn"
                                                                                                ":"
                                                                                                " " U("Dis Three") "\nchangetype: delete\n\n"
                                                                                                                   "dn: " U(
                                                                                                                           "Master") "\nchangetype: delete\n\n"
                                                                                                                                     "dn: " U(
                                                                                                                                             "Exch Six") "\nchangetype: delete\n\n"
                                                                                                                                                         "dn: " U(
                                                                                                                                                                 "PC1") "\nchangetype: delete\n\n"
                                                                                                                                                                        "dn: " U(
                                                                                                                                                                                "Contact") "\nchangetype: delete\n";

static void add_extra(void)
{
	if (extra_added)
		return;
	if (rootdn_ldif(extra_ldif) != 0)
		fail_msg("adding the test entries failed");
	extra_added = true;
}

/* --- tests --------------------------------------------------------------------------------- */

/* The sample directory as loaded: gina alone (room1 is disabled with a master SID). Run
 * first, before any entry is added. */
static void test_report_sample(void **state)
{
	static const char *const gina[] = {GINA};
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	NEED_SLAPD();
	d = dir_open(primary);
	expect_dns(d, MBX_DIR_DISABLED_NO_MASTER, "", gina, 1);
	lookup(d, MBX_DIR_DISABLED_NO_MASTER, NULL, &a); /* the key is ignored */
	assert_int_equal(a.st, MBX_DIR_FOUND);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.e[0]->dn, GINA);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "userAccountControl"), "514");
	assert_non_null(mbx_dir_entry_attr(a.e[0], "msExchMailboxSecurityDescriptor"));
	assert_null(mbx_dir_entry_attr(a.e[0], "userPassword"));
	answer_reset(&a);
	mbx_dir_free(&d);
	/* the replica answers the same */
	d = dir_open(replica);
	expect_dns(d, MBX_DIR_DISABLED_NO_MASTER, "", gina, 1);
	mbx_dir_free(&d);
}

static void test_x500(void **state)
{
	static const char *const dup[] = {U("Dup One"), U("Dup Two")};
	static const char *const partial[] = {
	        OLD "xen",
	        OLD "xena ",
	        " " OLD "xena",
	        "/o=Old",
	        OLD,
	        "X500:" OLD "xena",
	        "x500:" OLD "xena",
	        "c=US;p=Old;s=xena;",
	        ("/o=Old/ou=First  Administrative Group/cn=Recipients/cn=xena"),
	};
	struct mbx_dir *d;
	unsigned before;

	(void)state;
	NEED_SLAPD();
	add_extra();
	d = dir_open(primary);
	expect_dns(d, MBX_DIR_BY_LEGACYDN, "/o=New/cn=xena", (const char *const[]){U("Xena X")}, 1);
	expect_dns(d, MBX_DIR_BY_LEGACYDN, OLD "xena", (const char *const[]){U("Xena X")}, 1);
	expect_dns(d, MBX_DIR_BY_LEGACYDN,
	           "/O=OLD/OU=FIRST ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=XENA2",
	           (const char *const[]){U("Xena X")}, 1);
	/* Erin's old Contoso ESSDN is no X500 proxy in Contoso: her mail user is found by her
	 * legacyExchangeDN only */
	expect_dns(d, MBX_DIR_BY_LEGACYDN,
	           "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
	           "cn=erin",
	           (const char *const[]){U("Erin Evans")}, 1);
	/* no partial value, no prefix in the key, no other address type; the ones slapd's
	 * caseIgnoreMatch would take (spaces) are left out by the backend */
	mbx_log_set_trace(MBX_TRACE_LDAP, true);
	mbx_log_set_level(MBX_LOG_DEBUG);
	before = left_out;
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++)
		expect_dns(d, MBX_DIR_BY_LEGACYDN, partial[i], NULL, 0);
	assert_int_equal(left_out - before, 2); /* "xena ", the double space */
	mbx_log_set_trace(MBX_TRACE_LDAP, false);
	mbx_log_set_level(MBX_LOG_NOTICE);
	/* one's legacyExchangeDN is the other's X500 proxy: both, as for two legacyExchangeDNs */
	expect_dns(d, MBX_DIR_BY_LEGACYDN, "/o=dup/cn=DUP", dup, 2);
	mbx_dir_free(&d);
}

/* Every border case of the predicate on the server: the filter finds the disabled users and
 * the computer; the backend leaves the computer out. */
static void test_report_extra(void **state)
{
	static const char *const want[] = {GINA, U("Dis Exch"), U("Dis Negative"), U("Dis Three")};
	struct mbx_dir *d;
	unsigned before;

	(void)state;
	NEED_SLAPD();
	add_extra();
	d = dir_open(primary);
	mbx_log_set_trace(MBX_TRACE_LDAP, true);
	mbx_log_set_level(MBX_LOG_DEBUG);
	before = left_out;
	expect_dns(d, MBX_DIR_DISABLED_NO_MASTER, "", want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(left_out - before, 1); /* PC1 */
	mbx_log_set_trace(MBX_TRACE_LDAP, false);
	mbx_log_set_level(MBX_LOG_NOTICE);
	mbx_dir_free(&d);
}

/* The service account writes what `mbxctl mailbox associate-self` and a move write; the
 * replica gets it; then gina is put back. What it may not write is refused (ERROR). */
static void test_service_modify(void **state)
{
	static const uint8_t self[] = {1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0};
	/* a self-relative descriptor with an empty DACL (MS-DTYP 2.4.6): 20 + 8 bytes */
	static const uint8_t sd[] = {1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                             0, 0, 20,   0,    0, 0, 2, 0, 8, 0, 0, 0, 0, 0};
	static const char *const others[] = {U("Dis Exch"), U("Dis Negative"), U("Dis Three")};
	static const char *const all[] = {GINA, U("Dis Exch"), U("Dis Negative"), U("Dis Three")};
	const struct mbx_dir_value v_self = {(uint8_t *)self, sizeof(self)};
	const struct mbx_dir_value v_sd = {(uint8_t *)sd, sizeof(sd)};
	const struct mbx_dir_value v_status = {(uint8_t *)"2", 1};
	const struct mbx_dir_value v_target = {(uint8_t *)"SMTP:gina@fabrikam.com", 22};
	const struct mbx_dir_value v_rtd = {(uint8_t *)"128", 3};
	const struct mbx_dir_value v_pw = {(uint8_t *)"x", 1};
	struct mbx_dir_mod mods[5] = {
	        {MBX_DIR_MOD_REPLACE, "msExchMasterAccountSid", &v_self, 1},
	        {MBX_DIR_MOD_REPLACE, "msExchMailboxSecurityDescriptor", &v_sd, 1},
	        {MBX_DIR_MOD_REPLACE, "msExchMailboxMoveStatus", &v_status, 1},
	        {MBX_DIR_MOD_REPLACE, "targetAddress", &v_target, 1},
	        {MBX_DIR_MOD_REPLACE, "msExchRecipientTypeDetails", &v_rtd, 1},
	};
	struct mbx_dir_mod put_back[5];
	struct mbx_dir_value old_sd, old_rtd;
	struct mbx_dir *d, *r;
	struct answer a = {0}, before = {0};
	const uint8_t *p;
	size_t len;
	uint64_t end;
	bool synced = false, never = false;

	(void)state;
	NEED_SLAPD();
	add_extra();
	d = dir_open(primary);
	r = dir_open(replica);
	lookup(d, MBX_DIR_BY_DN, GINA, &before);
	assert_int_equal(before.st, MBX_DIR_FOUND);
	assert_null(mbx_dir_entry_attr(before.e[0], "msExchMasterAccountSid"));
	modify(d, GINA, mods, 5, &a);
	if (a.st != MBX_DIR_FOUND)
		fail_msg("modify as the service account: %s (%s)", mbx_dir_status_name(a.st),
		         a.msg);
	expect_dns(d, MBX_DIR_DISABLED_NO_MASTER, "", others, 3);
	/* replicated (syncrepl refreshAndPersist): bounded wait */
	for (end = now_ms() + 10000; !synced && now_ms() < end;) {
		lookup(r, MBX_DIR_BY_DN, GINA, &a);
		p = mbx_dir_entry_bin(a.e[0], "msExchMasterAccountSid", &len);
		synced = p != NULL && len == sizeof(self) && memcmp(p, self, len) == 0;
		if (!synced)
			run_until(&never, 50);
	}
	assert_true(synced);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "targetAddress"), "SMTP:gina@fabrikam.com");
	expect_dns(r, MBX_DIR_DISABLED_NO_MASTER, "", others, 3);
	/* the replica refers writes to its provider: TEMPFAIL, never applied there */
	modify(r, GINA, &mods[2], 1, &a);
	assert_int_equal(a.st, MBX_DIR_TEMPFAIL);
	/* not writable by the service account: userPassword, other attributes, other entries */
	mods[0] = (struct mbx_dir_mod){MBX_DIR_MOD_REPLACE, "userPassword", &v_pw, 1};
	modify(d, GINA, mods, 1, &a);
	assert_int_equal(a.st, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "nsufficient"));
	mods[0] = (struct mbx_dir_mod){MBX_DIR_MOD_REPLACE, "description", &v_pw, 1};
	modify(d, GINA, mods, 1, &a);
	assert_int_equal(a.st, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "nsufficient"));
	modify(d, "cn=Helpdesk," USERS, &mods[4], 1, &a);
	assert_int_equal(a.st, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "nsufficient"));
	/* put gina back, as the service account too */
	p = mbx_dir_entry_bin(before.e[0], "msExchMailboxSecurityDescriptor", &len);
	assert_non_null(p);
	old_sd = (struct mbx_dir_value){(uint8_t *)p, len};
	old_rtd.data = (uint8_t *)mbx_dir_entry_str(before.e[0], "msExchRecipientTypeDetails");
	assert_non_null(old_rtd.data);
	old_rtd.len = strlen((const char *)old_rtd.data);
	put_back[0] = (struct mbx_dir_mod){MBX_DIR_MOD_DELETE, "msExchMasterAccountSid", NULL, 0};
	put_back[1] = (struct mbx_dir_mod){MBX_DIR_MOD_REPLACE, "msExchMailboxSecurityDescriptor",
	                                   &old_sd, 1};
	put_back[2] = (struct mbx_dir_mod){MBX_DIR_MOD_DELETE, "msExchMailboxMoveStatus", NULL, 0};
	put_back[3] = (struct mbx_dir_mod){MBX_DIR_MOD_DELETE, "targetAddress", NULL, 0};
	put_back[4] = (struct mbx_dir_mod){MBX_DIR_MOD_REPLACE, "msExchRecipientTypeDetails",
	                                   &old_rtd, 1};
	modify(d, GINA, put_back, 5, &a);
	if (a.st != MBX_DIR_FOUND)
		fail_msg("putting gina back: %s (%s)", mbx_dir_status_name(a.st), a.msg);
	expect_dns(d, MBX_DIR_DISABLED_NO_MASTER, "", all, 4);
	answer_reset(&a);
	answer_reset(&before);
	mbx_dir_free(&r);
	mbx_dir_free(&d);
}

/* A server size limit below the number of matches: ERROR saying the list would be
 * incomplete, no entries; a lookup of one entry still works there. */
static void test_report_size_limit(void **state)
{
	const char *uri = getenv("MBX_LDAP_SMALL_URI");
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	if (uri == NULL || uri[0] == '\0') {
		skip();
		return;
	}
	d = dir_open(uri);
	lookup(d, MBX_DIR_DISABLED_NO_MASTER, "", &a);
	if (a.st != MBX_DIR_ERROR)
		fail_msg("expected error, got %s with %zu entries", mbx_dir_status_name(a.st), a.n);
	assert_int_equal(a.n, 0);
	assert_non_null(strstr(a.msg, "Size limit exceeded"));
	assert_non_null(strstr(a.msg, "incomplete"));
	lookup(d, MBX_DIR_BY_LOGIN, "alice", &a);
	assert_int_equal(a.st, MBX_DIR_FOUND);
	answer_reset(&a);
	mbx_dir_free(&d);
}

static int group_setup(void **state)
{
	struct timeval tv = {0, 10000};

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	mbx_log_open_stderr("test-dir-ldap-report");
	mbx_log_set_level(MBX_LOG_NOTICE);
	mbx_log_set_hook(log_hook, NULL);
	base = event_base_new();
	assert_non_null(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	assert_non_null(tick);
	event_add(tick, &tv);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-dir-ldap-report.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int group_teardown(void **state)
{
	char path[128];
	int rc = 0;

	(void)state;
	if (extra_added && rootdn_ldif(extra_delete) != 0)
		rc = -1;
	event_free(tick);
	event_base_free(base);
	mbx_log_set_hook(NULL, NULL);
	snprintf(path, sizeof(path), "%s/change.ldif", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_report_sample),     cmocka_unit_test(test_x500),
	        cmocka_unit_test(test_report_extra),      cmocka_unit_test(test_service_modify),
	        cmocka_unit_test(test_report_size_limit),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
