/*
 * test-mh-auth.c: HTTP Basic authentication of the MAPI/HTTP front end (src/mapihttp/
 * mh-auth.c; RFC 7617, RFC 4648 section 4): the Authorization parser (valid values, every
 * malformation with its reason, a truncation sweep, the length bounds at max and max + 1), the
 * lookup key of each user name form, the positive cache (salted keys, TTL, refresh, eviction),
 * and the authenticator against the sample directory (conf/directory.ldif through the ldif
 * backend: right and wrong passwords, every name form, cache hits without the directory,
 * cancel) and against the fake backend (directory down is TEMPFAIL, never DENIED; ambiguous
 * names; a password check that cannot start).
 */
#include "mbx-test.h"

#include <stdbool.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "fake-dir.h"
#include "mapihttp/mh-frontend-int.h"
#include "mbx/directory.h"

#define ALICE_DN "cn=Alice Anders,cn=Users,dc=contoso,dc=com"
#define ALICE_LEG                                                                                  \
	"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"

/* base64 of s (standard alphabet, padded) into out. */
static void b64(const char *s, size_t len, char *out, size_t cap)
{
	int n;

	assert_true(cap >= 4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	assert_true(n >= 0);
	out[n] = '\0';
}

static int parse(const char *hdr, char *user, char *pass, const char **why)
{
	return mbx_mh_auth_parse_basic(hdr, user, MBX_MH_AUTH_USER_MAX + 1, pass,
	                               MBX_MH_AUTH_PASS_MAX + 1, why);
}

/* "Basic " + base64(cred) */
static int parse_cred(const char *cred, size_t len, char *user, char *pass, const char **why)
{
	char hdr[2048];

	strcpy(hdr, "Basic ");
	b64(cred, len, hdr + 6, sizeof(hdr) - 6);
	return parse(hdr, user, pass, why);
}

/* ---- the parser --------------------------------------------------------------------------- */

static void test_parse_valid(void **state)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const char *why = "x";

	(void)state;
	/* RFC 7617 section 2's example */
	assert_int_equal(parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, pass, &why),
	                 MBX_MH_AUTH_BASIC);
	assert_null(why);
	assert_string_equal(user, "Aladdin");
	assert_string_equal(pass, "open sesame");
	/* scheme in any case, several blanks and tabs, trailing blanks */
	assert_int_equal(parse("  bAsIc \t QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ", user, pass, &why),
	                 MBX_MH_AUTH_BASIC);
	assert_string_equal(user, "Aladdin");
	/* the first colon splits; the password may hold colons */
	assert_int_equal(parse_cred("alice@contoso.com:a:b:c", 23, user, pass, &why),
	                 MBX_MH_AUTH_BASIC);
	assert_string_equal(user, "alice@contoso.com");
	assert_string_equal(pass, "a:b:c");
	/* paddings 0, 1 and 2 */
	assert_int_equal(parse_cred("ab:cd", 5, user, pass, &why), MBX_MH_AUTH_BASIC); /* 1 */
	assert_string_equal(pass, "cd");
	assert_int_equal(parse_cred("ab:cde", 6, user, pass, &why), MBX_MH_AUTH_BASIC); /* 0 */
	assert_string_equal(pass, "cde");
	assert_int_equal(parse_cred("ab:c", 4, user, pass, &why), MBX_MH_AUTH_BASIC); /* 2 */
	assert_string_equal(pass, "c");
	/* UTF-8 and a down-level name pass through */
	assert_int_equal(parse_cred("CONTOSO\\j\xc3\xbcrgen:p\xc3\xa4ss", 21, user, pass, &why),
	                 MBX_MH_AUTH_BASIC);
	assert_string_equal(user, "CONTOSO\\j\xc3\xbcrgen");
	assert_string_equal(pass, "p\xc3\xa4ss");
}

static void test_parse_none(void **state)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const char *why;

	(void)state;
	assert_int_equal(parse(NULL, user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("", user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("Negotiate TlRMTVNTUAABAAAA", user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("NTLM TlRMTVNTUAABAAAA", user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("Bearer abc", user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("Basic", user, pass, &why), MBX_MH_AUTH_NONE);
	assert_int_equal(parse("BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, pass, &why),
	                 MBX_MH_AUTH_NONE);
	assert_string_equal(user, "");
	assert_string_equal(pass, "");
	/* why_r may be NULL */
	assert_int_equal(
	        mbx_mh_auth_parse_basic("Basic !", user, sizeof(user), pass, sizeof(pass), NULL),
	        MBX_MH_AUTH_BAD);
}

static void expect_bad(const char *hdr, const char *reason)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const char *why = NULL;

	assert_int_equal(parse(hdr, user, pass, &why), MBX_MH_AUTH_BAD);
	assert_non_null(why);
	if (strstr(why, reason) == NULL)
		fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", hdr, why, reason);
	assert_string_equal(user, "");
	assert_string_equal(pass, "");
}

static void expect_bad_cred(const char *cred, size_t len, const char *reason)
{
	char hdr[2048];

	strcpy(hdr, "Basic ");
	b64(cred, len, hdr + 6, sizeof(hdr) - 6);
	expect_bad(hdr, reason);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("Basic ", "empty");
	expect_bad("Basic  \t ", "empty");
	/* base64: length, alphabet, padding placement, trailing bits */
	expect_bad("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=", "base64");
	expect_bad("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", "base64");
	expect_bad("Basic QWxh ZGRpbjpvcGVuIHNlc2FtZQ==", "base64");
	expect_bad("Basic QWxh-GRpbjpvcGVuIHNlc2FtZQ==", "base64"); /* base64url is not Basic */
	expect_bad("Basic QW=hZGRp", "base64");
	expect_bad("Basic ====", "base64");
	expect_bad("Basic YWI6Y2Q=YWI6", "base64"); /* padding inside */
	expect_bad("Basic YWI6Yw=a", "base64");
	expect_bad("Basic YWI6Yx==", "base64"); /* "ab:c" with a non-zero unused bit */
	expect_bad("Basic YWI6Y2R=", "base64"); /* "ab:cd" likewise */
	/* the decoded value */
	expect_bad_cred("alice", 5, "no colon");
	expect_bad_cred(":secret", 7, "user name is empty");
	expect_bad_cred("alice:", 6, "password is empty");
	expect_bad_cred("al\x01ice:x", 8, "control character");
	expect_bad_cred("al\x7f"
	                "ice:x",
	                8, "control character");
	expect_bad_cred("al\nice:x", 8, "control character");
	expect_bad_cred("alice:se\0cret", 13, "NUL");
	expect_bad_cred("\0lice:secret", 12, "control character");
}

/* Boundary rows: user and password at 1, max and max + 1 bytes; the header at its limit. */
static void test_parse_bounds(void **state)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	char cred[MBX_MH_AUTH_USER_MAX + MBX_MH_AUTH_PASS_MAX + 8];
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(parse_cred("a:b", 3, user, pass, &why), MBX_MH_AUTH_BASIC);
	assert_string_equal(user, "a");
	assert_string_equal(pass, "b");
	/* 256-byte user, 256-byte password: 513 bytes decode from 684 characters (< 1024) */
	memset(cred, 'u', MBX_MH_AUTH_USER_MAX);
	cred[MBX_MH_AUTH_USER_MAX] = ':';
	memset(cred + MBX_MH_AUTH_USER_MAX + 1, 'p', MBX_MH_AUTH_PASS_MAX);
	n = MBX_MH_AUTH_USER_MAX + 1 + MBX_MH_AUTH_PASS_MAX;
	assert_int_equal(parse_cred(cred, n, user, pass, &why), MBX_MH_AUTH_BASIC);
	assert_int_equal(strlen(user), MBX_MH_AUTH_USER_MAX);
	assert_int_equal(strlen(pass), MBX_MH_AUTH_PASS_MAX);
	/* 257-byte user */
	memset(cred, 'u', MBX_MH_AUTH_USER_MAX + 1);
	cred[MBX_MH_AUTH_USER_MAX + 1] = ':';
	cred[MBX_MH_AUTH_USER_MAX + 2] = 'p';
	expect_bad_cred(cred, MBX_MH_AUTH_USER_MAX + 3, "user name is too long");
	/* 257-byte password */
	cred[0] = 'u';
	cred[1] = ':';
	memset(cred + 2, 'p', MBX_MH_AUTH_PASS_MAX + 1);
	expect_bad_cred(cred, MBX_MH_AUTH_PASS_MAX + 3, "password is too long");
	/* a caller's buffer smaller than the limit is respected */
	assert_int_equal(mbx_mh_auth_parse_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, 7,
	                                         pass, sizeof(pass), &why),
	                 MBX_MH_AUTH_BAD);
	assert_int_equal(mbx_mh_auth_parse_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", user, 8,
	                                         pass, sizeof(pass), &why),
	                 MBX_MH_AUTH_BASIC);
	/* the header: 1024 base64 characters pass the length test, 1028 do not */
	{
		char hdr[1100];

		strcpy(hdr, "Basic ");
		memset(hdr + 6, 'A', 1024);
		hdr[6 + 1024] = '\0';
		expect_bad(hdr, "no colon"); /* long enough to be read, decodes to zeros */
		memset(hdr + 6, 'A', 1028);
		hdr[6 + 1028] = '\0';
		expect_bad(hdr, "too long");
	}
}

/* Every prefix of a valid value fails cleanly or parses to a prefix of it. */
static void test_parse_truncation(void **state)
{
	const char *full = "Basic YWxpY2VAY29udG9zby5jb206YWxpY2UtU2VjcmV0MQ==";
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1], hdr[128];
	const char *why;
	unsigned ok = 0;

	(void)state;
	assert_int_equal(parse(full, user, pass, &why), MBX_MH_AUTH_BASIC);
	assert_string_equal(user, "alice@contoso.com");
	assert_string_equal(pass, "alice-Secret1");
	for (size_t n = 0; n < strlen(full); n++) {
		int rc;

		memcpy(hdr, full, n);
		hdr[n] = '\0';
		rc = parse(hdr, user, pass, &why);
		if (rc == MBX_MH_AUTH_BASIC) {
			assert_string_equal(user, "alice@contoso.com");
			assert_true(strncmp(pass, "alice-Secret1", strlen(pass)) == 0);
			assert_true(strlen(pass) < strlen("alice-Secret1"));
			ok++;
		} else {
			assert_true(rc == MBX_MH_AUTH_BAD || rc == MBX_MH_AUTH_NONE);
			assert_string_equal(user, "");
			assert_string_equal(pass, "");
		}
	}
	assert_true(ok > 0); /* "alice@contoso.com:ali" and the like */
}

static void test_login_key(void **state)
{
	const char *key;

	(void)state;
	assert_int_equal(mbx_mh_auth_login_key("alice@contoso.com", &key), MBX_DIR_BY_LOGIN);
	assert_string_equal(key, "alice@contoso.com");
	assert_int_equal(mbx_mh_auth_login_key("alice", &key), MBX_DIR_BY_LOGIN);
	assert_string_equal(key, "alice");
	assert_int_equal(mbx_mh_auth_login_key("CONTOSO\\alice", &key), MBX_DIR_BY_LOGIN);
	assert_string_equal(key, "alice");
	assert_int_equal(mbx_mh_auth_login_key("CONTOSO\\", &key), MBX_DIR_BY_LOGIN);
	assert_string_equal(key, "CONTOSO\\");
	assert_int_equal(mbx_mh_auth_login_key(ALICE_LEG, &key), MBX_DIR_BY_LEGACYDN);
	assert_string_equal(key, ALICE_LEG);
}

/* ---- principals and the cache ------------------------------------------------------------- */

static void test_principal_dup(void **state)
{
	char dn[] = "cn=A";
	struct mbx_mh_principal p = {dn, NULL, NULL, NULL}, *d;

	(void)state;
	d = mbx_mh_principal_dup(&p);
	assert_non_null(d);
	assert_string_equal(d->dn, "cn=A");
	assert_string_equal(d->name, "cn=A"); /* the DN stands in for a missing name */
	assert_null(d->legacy_dn);
	assert_null(d->display_name);
	mbx_mh_principal_free(&d);
	assert_null(d);
	mbx_mh_principal_free(&d);
	mbx_mh_principal_free(NULL);
	p.dn = NULL;
	assert_null(mbx_mh_principal_dup(&p));
	assert_null(mbx_mh_principal_dup(NULL));
}

static void test_cache_keys(void **state)
{
	struct mbx_mh_auth_cache *c1 = mbx_mh_auth_cache_new(1000, 4);
	struct mbx_mh_auth_cache *c2 = mbx_mh_auth_cache_new(1000, 4);
	uint8_t k1[32], k2[32], k3[32];

	(void)state;
	assert_non_null(c1);
	assert_non_null(c2);
	assert_int_equal(mbx_mh_auth_cache_key(c1, "alice", "pw", k1), 0);
	assert_int_equal(mbx_mh_auth_cache_key(c1, "alice", "pw", k2), 0);
	assert_memory_equal(k1, k2, 32);
	/* another salt */
	assert_int_equal(mbx_mh_auth_cache_key(c2, "alice", "pw", k3), 0);
	assert_memory_not_equal(k1, k3, 32);
	/* the NUL separates name and password: "ab"+"c" is not "a"+"bc" */
	assert_int_equal(mbx_mh_auth_cache_key(c1, "ab", "c", k2), 0);
	assert_int_equal(mbx_mh_auth_cache_key(c1, "a", "bc", k3), 0);
	assert_memory_not_equal(k2, k3, 32);
	assert_int_equal(mbx_mh_auth_cache_key(c1, "alice", "pW", k2), 0);
	assert_memory_not_equal(k1, k2, 32);
	mbx_mh_auth_cache_free(&c1);
	mbx_mh_auth_cache_free(&c2);
	assert_null(c1);
	mbx_mh_auth_cache_free(NULL);
}

static void test_cache_ttl_evict(void **state)
{
	struct mbx_mh_auth_cache *c = mbx_mh_auth_cache_new(100, 3);
	char dn[] = "cn=A", leg[] = "/o=A", name0[] = "a@x", disp[] = "A";
	struct mbx_mh_principal p = {dn, leg, name0, disp};
	const struct mbx_mh_principal *got;
	uint8_t k[5][32];
	char name[8];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(mbx_mh_auth_cache_key(c, name, "pw", k[i]), 0);
	}
	assert_null(mbx_mh_auth_cache_lookup(c, k[0], 1000));
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[0], &p, 1000), 0);
	got = mbx_mh_auth_cache_lookup(c, k[0], 1000);
	assert_non_null(got);
	assert_string_equal(got->dn, "cn=A");
	assert_string_equal(got->legacy_dn, "/o=A");
	assert_string_equal(got->name, "a@x");
	assert_string_equal(got->display_name, "A");
	/* TTL: 99 ms later still, 100 ms later gone (and dropped) */
	assert_non_null(mbx_mh_auth_cache_lookup(c, k[0], 1099));
	assert_null(mbx_mh_auth_cache_lookup(c, k[0], 1100));
	assert_int_equal(mbx_mh_auth_cache_count(c), 0);
	/* a clock going backwards is no reason to trust an entry */
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[0], &p, 1000), 0);
	assert_null(mbx_mh_auth_cache_lookup(c, k[0], 999));
	/* eviction: max 3, the oldest goes; a refresh makes an entry the newest */
	for (int i = 0; i < 3; i++)
		assert_int_equal(mbx_mh_auth_cache_insert(c, k[i], &p, 2000), 0);
	assert_int_equal(mbx_mh_auth_cache_count(c), 3);
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[0], &p, 2001), 0); /* refresh */
	assert_int_equal(mbx_mh_auth_cache_count(c), 3);
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[3], &p, 2002), 0); /* evicts k[1] */
	assert_null(mbx_mh_auth_cache_lookup(c, k[1], 2003));
	assert_non_null(mbx_mh_auth_cache_lookup(c, k[0], 2003));
	assert_non_null(mbx_mh_auth_cache_lookup(c, k[2], 2003));
	assert_non_null(mbx_mh_auth_cache_lookup(c, k[3], 2003));
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[4], &p, 2004), 0); /* evicts k[2] */
	assert_null(mbx_mh_auth_cache_lookup(c, k[2], 2005));
	assert_int_equal(mbx_mh_auth_cache_count(c), 3);
	mbx_mh_auth_cache_clear(c);
	assert_int_equal(mbx_mh_auth_cache_count(c), 0);
	assert_null(mbx_mh_auth_cache_lookup(c, k[0], 2005));
	/* a principal without DN cannot be cached */
	p.dn = NULL;
	assert_int_equal(mbx_mh_auth_cache_insert(c, k[0], &p, 3000), -1);
	assert_int_equal(mbx_mh_auth_cache_count(c), 0);
	mbx_mh_auth_cache_free(&c);
}

/* ---- the authenticator -------------------------------------------------------------------- */

struct afx {
	struct event_base *base;
	struct mbx_dir *dir;
	struct fake_dir *fake;
	struct mbx_mh_authn *a;
	uint64_t now;
	/* the last answer */
	unsigned calls;
	enum mbx_mh_authn_status st;
	char dn[256], name[128], display[128], legacy[256], why[128];
};

static uint64_t afx_clock(void *ctx)
{
	return ((struct afx *)ctx)->now;
}

static void afx_cb(void *ctx, enum mbx_mh_authn_status st, const struct mbx_mh_principal *p,
                   const char *why)
{
	struct afx *fx = ctx;

	fx->calls++;
	fx->st = st;
	fx->dn[0] = fx->name[0] = fx->display[0] = fx->legacy[0] = fx->why[0] = '\0';
	if (st == MBX_MH_AUTHN_OK) {
		assert_non_null(p);
		assert_null(why);
		snprintf(fx->dn, sizeof(fx->dn), "%s", p->dn);
		snprintf(fx->name, sizeof(fx->name), "%s", p->name);
		snprintf(fx->display, sizeof(fx->display), "%s",
		         p->display_name != NULL ? p->display_name : "");
		snprintf(fx->legacy, sizeof(fx->legacy), "%s",
		         p->legacy_dn != NULL ? p->legacy_dn : "");
	} else {
		assert_null(p);
		assert_non_null(why);
		snprintf(fx->why, sizeof(fx->why), "%s", why);
	}
}

static struct afx *afx_new(bool fake)
{
	struct afx *fx = calloc(1, sizeof(*fx));
	struct mbx_mh_authn_config ac = {0};
	char path[4096], err[512];
	const char *src = getenv("MBX_SRCDIR");

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->now = 5000;
	if (fake) {
		fx->fake = fake_dir_new(fx->base);
		fx->dir = &fx->fake->head;
	} else {
		struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};

		snprintf(path, sizeof(path), "%s/conf/directory.ldif", src != NULL ? src : ".");
		dc.ldif_path = path;
		fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
		if (fx->dir == NULL)
			fail_msg("ldif backend on %s: %s", path, err);
	}
	ac.dir = fx->dir;
	ac.ttl_ms = 1000;
	ac.clock = afx_clock;
	ac.clock_ctx = fx;
	fx->a = mbx_mh_authn_new(&ac);
	assert_non_null(fx->a);
	return fx;
}

static void afx_free(struct afx *fx)
{
	mbx_mh_authn_free(&fx->a);
	assert_null(fx->a);
	mbx_dir_free(&fx->dir);
	event_base_free(fx->base);
	free(fx);
}

static void afx_run(struct afx *fx)
{
	for (int i = 0;
	     i < 100 && event_base_get_num_events(fx->base, EVENT_BASE_COUNT_ADDED |
	                                                            EVENT_BASE_COUNT_ACTIVE) > 0;
	     i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Starts a check; returns 1 (cache), or 0 after running the loop to its answer. */
static int afx_check(struct afx *fx, const char *user, const char *pass)
{
	struct mbx_mh_authn_req *req = NULL;
	const struct mbx_mh_principal *p = NULL;
	unsigned before = fx->calls;
	int rc = mbx_mh_authn_check(fx->a, user, pass, afx_cb, fx, &req, &p);

	if (rc == 1) {
		assert_non_null(p);
		assert_null(req);
		snprintf(fx->dn, sizeof(fx->dn), "%s", p->dn);
		snprintf(fx->name, sizeof(fx->name), "%s", p->name);
		fx->st = MBX_MH_AUTHN_OK;
		return 1;
	}
	assert_int_equal(rc, 0);
	assert_non_null(req);
	assert_null(p);
	assert_int_equal(fx->calls, before); /* never from inside the call */
	afx_run(fx);
	assert_int_equal(fx->calls, before + 1);
	return 0;
}

static void test_authn_ldif(void **state)
{
	struct afx *fx = afx_new(false);

	(void)state;
	/* UPN: right password */
	assert_int_equal(afx_check(fx, "alice@contoso.com", "alice-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_string_equal(fx->dn, ALICE_DN);
	assert_string_equal(fx->name, "alice@contoso.com");
	assert_string_equal(fx->display, "Alice Anders");
	assert_string_equal(fx->legacy, ALICE_LEG);
	assert_int_equal(mbx_mh_authn_cached(fx->a), 1);
	/* the same again: from the cache, no callback */
	assert_int_equal(afx_check(fx, "alice@contoso.com", "alice-Secret1"), 1);
	assert_string_equal(fx->dn, ALICE_DN);
	/* wrong password: denied, and not from the cache */
	assert_int_equal(afx_check(fx, "alice@contoso.com", "alice-Secret2"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_DENIED);
	assert_string_equal(fx->why, "wrong password");
	/* sAMAccountName, down-level, legacyExchangeDN: the same principal; the name is the UPN */
	assert_int_equal(afx_check(fx, "alice", "alice-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_string_equal(fx->dn, ALICE_DN);
	assert_string_equal(fx->name, "alice@contoso.com");
	assert_int_equal(afx_check(fx, "CONTOSO\\alice", "alice-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_string_equal(fx->dn, ALICE_DN);
	assert_int_equal(afx_check(fx, ALICE_LEG, "alice-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_string_equal(fx->dn, ALICE_DN);
	/* other schemes of userPassword: {SSHA256} bob, {CRYPT} dave, a child domain's henry */
	assert_int_equal(afx_check(fx, "bob@contoso.com", "bob-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_int_equal(afx_check(fx, "dave@contoso.com", "dave-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	assert_int_equal(afx_check(fx, "henry@child.contoso.com", "henry-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	/* no such user; a contact without a password; a user name that is a DN nobody has */
	assert_int_equal(afx_check(fx, "nobody@contoso.com", "x"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_DENIED);
	assert_string_equal(fx->why, "no such user");
	assert_int_equal(afx_check(fx, "frank@contoso.com", "x"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_DENIED);
	assert_int_equal(afx_check(fx, "/o=Nowhere/cn=x", "x"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_DENIED);
	/* the cache ages out: the directory is asked again */
	fx->now += 1000;
	assert_int_equal(afx_check(fx, "alice@contoso.com", "alice-Secret1"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_OK);
	/* flush */
	assert_true(mbx_mh_authn_cached(fx->a) > 0);
	mbx_mh_authn_flush(fx->a);
	assert_int_equal(mbx_mh_authn_cached(fx->a), 0);
	afx_free(fx);
}

static void test_authn_cancel(void **state)
{
	struct afx *fx = afx_new(false);
	struct mbx_mh_authn_req *req = NULL, *req2 = NULL;
	const struct mbx_mh_principal *p;

	(void)state;
	assert_int_equal(mbx_mh_authn_check(fx->a, "alice", "alice-Secret1", afx_cb, fx, &req, &p),
	                 0);
	mbx_mh_authn_cancel(req);
	afx_run(fx);
	assert_int_equal(fx->calls, 0);
	assert_int_equal(mbx_mh_authn_cached(fx->a), 0);
	/* cancelled between the lookup and the password check */
	assert_int_equal(mbx_mh_authn_check(fx->a, "alice", "alice-Secret1", afx_cb, fx, &req, &p),
	                 0);
	event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK); /* the lookup's answer */
	if (fx->calls == 0) { /* (unless the backend answered both in one round) */
		mbx_mh_authn_cancel(req);
		afx_run(fx);
		assert_int_equal(fx->calls, 0);
	}
	fx->calls = 0;
	mbx_mh_authn_cancel(NULL);
	/* pending checks go with the authenticator, without callbacks */
	assert_int_equal(mbx_mh_authn_check(fx->a, "bob", "bob-Secret1", afx_cb, fx, &req, &p), 0);
	assert_int_equal(mbx_mh_authn_check(fx->a, "dave", "dave-Secret1", afx_cb, fx, &req2, &p),
	                 0);
	mbx_mh_authn_free(&fx->a);
	afx_run(fx);
	assert_int_equal(fx->calls, 0);
	/* bad arguments */
	{
		struct mbx_mh_authn_config ac = {0};

		assert_null(mbx_mh_authn_new(NULL));
		assert_null(mbx_mh_authn_new(&ac));
	}
	afx_free(fx);
}

static void test_authn_fake(void **state)
{
	struct afx *fx = afx_new(true);
	struct mbx_dir_entry *e;
	struct mbx_mh_authn_req *req;
	const struct mbx_mh_principal *p;

	(void)state;
	e = fake_entry_new("cn=A1,dc=x");
	fake_entry_add(e, "sAMAccountName", "dup");
	fake_dir_add(fx->fake, e);
	e = fake_entry_new("cn=A2,dc=y");
	fake_entry_add(e, "sAMAccountName", "dup");
	fake_dir_add(fx->fake, e);
	e = fake_entry_new("cn=Solo,dc=x");
	fake_entry_add(e, "userPrincipalName", "solo@x");
	fake_dir_add(fx->fake, e);
	/* the directory is down: TEMPFAIL, never DENIED (seed 004) */
	fx->fake->down = true;
	assert_int_equal(afx_check(fx, "solo@x", "pw"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_TEMPFAIL);
	fx->fake->down = false;
	fake_dir_script_str(fx->fake, MBX_DIR_BY_LOGIN, "solo@x", MBX_DIR_ERROR);
	assert_int_equal(afx_check(fx, "solo@x", "pw"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_ERROR);
	fake_dir_script_str(fx->fake, MBX_DIR_BY_LOGIN, "solo@x", MBX_DIR_FOUND);
	/* two accounts of that name (CONTOSO\dup and CHILD\dup): refused */
	assert_int_equal(afx_check(fx, "CHILD\\dup", "pw"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_DENIED);
	assert_non_null(strstr(fx->why, "more than one"));
	/* found, but the password check cannot be started: TEMPFAIL */
	assert_int_equal(afx_check(fx, "solo@x", "pw"), 0);
	assert_int_equal(fx->st, MBX_MH_AUTHN_TEMPFAIL);
	assert_int_equal(mbx_mh_authn_cached(fx->a), 0);
	/* the lookup cannot be started: -1 at once */
	fx->fake->fail_start = true;
	assert_int_equal(mbx_mh_authn_check(fx->a, "solo@x", "pw", afx_cb, fx, &req, &p), -1);
	assert_null(req);
	assert_int_equal(mbx_mh_authn_check(NULL, "solo@x", "pw", afx_cb, fx, &req, &p), -1);
	assert_int_equal(mbx_mh_authn_check(fx->a, NULL, "pw", afx_cb, fx, &req, &p), -1);
	assert_int_equal(mbx_mh_authn_check(fx->a, "solo@x", NULL, afx_cb, fx, &req, &p), -1);
	assert_int_equal(mbx_mh_authn_check(fx->a, "solo@x", "pw", NULL, fx, &req, &p), -1);
	assert_string_equal(mbx_mh_authn_status_name(MBX_MH_AUTHN_OK), "ok");
	assert_string_equal(mbx_mh_authn_status_name(MBX_MH_AUTHN_DENIED), "denied");
	assert_string_equal(mbx_mh_authn_status_name(MBX_MH_AUTHN_TEMPFAIL), "tempfail");
	assert_string_equal(mbx_mh_authn_status_name(MBX_MH_AUTHN_ERROR), "error");
	assert_string_equal(mbx_mh_authn_status_name((enum mbx_mh_authn_status)7), "unknown");
	afx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_valid),      cmocka_unit_test(test_parse_none),
	        cmocka_unit_test(test_parse_bad),        cmocka_unit_test(test_parse_bounds),
	        cmocka_unit_test(test_parse_truncation), cmocka_unit_test(test_login_key),
	        cmocka_unit_test(test_principal_dup),    cmocka_unit_test(test_cache_keys),
	        cmocka_unit_test(test_cache_ttl_evict),  cmocka_unit_test(test_authn_ldif),
	        cmocka_unit_test(test_authn_cancel),     cmocka_unit_test(test_authn_fake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
