/*
 * test-ldap-filter.c: unit tests of RFC 4515 filter escaping and of the filter built for each
 * directory lookup kind (ldap-filter.h): every special byte, NUL, every byte value, UTF-8,
 * binary SIDs, injection strings, snprintf-style truncation, the attribute map, limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbx/directory.h"
#include "mbx/ldap-filter.h"

static char *esc(const void *v, size_t len, bool binary)
{
	char *s = mbx_ldap_filter_escape_dup(v, len, binary);

	assert_non_null(s);
	return s;
}

static void expect_esc(const char *in, size_t len, bool binary, const char *want)
{
	char *s = esc(in, len, binary);

	assert_string_equal(s, want);
	assert_int_equal(mbx_ldap_filter_escape(NULL, 0, in, len, binary), strlen(want));
	free(s);
}

static void test_escape_specials(void **state)
{
	(void)state;
	expect_esc("*", 1, false, "\\2a");
	expect_esc("(", 1, false, "\\28");
	expect_esc(")", 1, false, "\\29");
	expect_esc("\\", 1, false, "\\5c");
	expect_esc("\0", 1, false, "\\00");
	expect_esc("", 0, false, "");
	expect_esc("alice", 5, false, "alice");
	/* Characters RFC 4515 leaves alone stay as they are. */
	expect_esc("a=b,c~d<e>f&g|h!i:j/k", 21, false, "a=b,c~d<e>f&g|h!i:j/k");
	expect_esc("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)", 61, false,
	           "/o=Contoso/ou=Exchange Administrative Group \\28FYDIBOHF23SPDLT\\29");
}

/* Every byte value on its own: printable ASCII but the four specials is kept, the rest is
 * \XX with lower-case hex. */
static void test_escape_every_byte(void **state)
{
	(void)state;
	for (unsigned b = 0; b < 256; b++) {
		uint8_t in = (uint8_t)b;
		char want[4], *s = esc(&in, 1, false);

		if (b >= 0x20 && b <= 0x7e && b != '*' && b != '(' && b != ')' && b != '\\')
			snprintf(want, sizeof(want), "%c", (int)b);
		else
			snprintf(want, sizeof(want), "\\%02x", b);
		assert_string_equal(s, want);
		free(s);
		/* Binary: always escaped. */
		s = esc(&in, 1, true);
		snprintf(want, sizeof(want), "\\%02x", b);
		assert_string_equal(s, want);
		free(s);
	}
}

static void test_escape_utf8(void **state)
{
	(void)state;
	/* "José Müller" in UTF-8, and an invalid sequence (a lone continuation byte). */
	expect_esc("Jos\xc3\xa9 M\xc3\xbcller", 13, false, "Jos\\c3\\a9 M\\c3\\bcller");
	expect_esc("\x80\xff", 2, false, "\\80\\ff");
	/* A 4-byte character (U+1F600). */
	expect_esc("\xf0\x9f\x98\x80", 4, false, "\\f0\\9f\\98\\80");
	expect_esc("\x7f\x1f\n", 3, false, "\\7f\\1f\\0a");
}

static void test_escape_binary_sid(void **state)
{
	/* S-1-5-21-3317830718-1158378736-3523176689-1101 (alice in conf/directory.ldif). */
	static const uint8_t sid[] = {0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00,
	                              0x00, 0x00, 0x3e, 0x14, 0xc2, 0xc5, 0xf0, 0x74, 0x0b, 0x45,
	                              0xf1, 0x68, 0xff, 0xd1, 0x4d, 0x04, 0x00, 0x00};
	char *s;

	(void)state;
	s = esc(sid, sizeof(sid), true);
	assert_string_equal(s, "\\01\\05\\00\\00\\00\\00\\00\\05\\15\\00\\00\\00\\3e\\14\\c2\\c5"
	                       "\\f0\\74\\0b\\45\\f1\\68\\ff\\d1\\4d\\04\\00\\00");
	free(s);
	/* Bytes that are printable ASCII ('>' 0x3e, 't' 0x74, 'E' 0x45, 'h' 0x68, 'M' 0x4d) are
	 * escaped too in binary mode. */
	s = esc(">tEhM*()\\", 9, true);
	assert_string_equal(s, "\\3e\\74\\45\\68\\4d\\2a\\28\\29\\5c");
	free(s);
}

/* snprintf semantics: the return value is the whole length, out is cut and terminated. */
static void test_escape_truncation(void **state)
{
	char buf[16];
	size_t n;

	(void)state;
	n = mbx_ldap_filter_escape(NULL, 0, "a*b", 3, false);
	assert_int_equal(n, 5);
	memset(buf, 'x', sizeof(buf));
	n = mbx_ldap_filter_escape(buf, 1, "a*b", 3, false);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "");
	memset(buf, 'x', sizeof(buf));
	n = mbx_ldap_filter_escape(buf, 3, "a*b", 3, false);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "a\\");
	assert_int_equal(buf[3], 'x');
	memset(buf, 'x', sizeof(buf));
	n = mbx_ldap_filter_escape(buf, 5, "a*b", 3, false);
	assert_string_equal(buf, "a\\2a");
	n = mbx_ldap_filter_escape(buf, 6, "a*b", 3, false);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "a\\2ab");
	/* Every output size from 0 to the full length + 1 keeps the prefix property. */
	for (size_t size = 1; size <= 7; size++) {
		memset(buf, 'x', sizeof(buf));
		mbx_ldap_filter_escape(buf, size, "a*b", 3, false);
		assert_int_equal(strlen(buf), size - 1 < 5 ? size - 1 : 5);
		assert_memory_equal(buf, "a\\2ab", strlen(buf));
	}
}

/* Counts the characters of a filter that are structural: unescaped '(' ')' '*' and '\\'
 * followed by anything but two hex digits (a broken escape). */
static void structure(const char *f, unsigned *open_r, unsigned *close_r, unsigned *star_r,
                      unsigned *bad_r)
{
	*open_r = *close_r = *star_r = *bad_r = 0;
	for (const char *p = f; *p != '\0'; p++) {
		if (*p == '\\') {
			if (strchr("0123456789abcdef", p[1]) == NULL || p[1] == '\0' ||
			    strchr("0123456789abcdef", p[2]) == NULL || p[2] == '\0')
				(*bad_r)++;
			else
				p += 2;
		} else if (*p == '(') {
			(*open_r)++;
		} else if (*p == ')') {
			(*close_r)++;
		} else if (*p == '*') {
			(*star_r)++;
		} else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			(*bad_r)++;
		}
	}
}

static void expect_filter(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                          size_t keylen, const char *want)
{
	const char *why = NULL;
	char *f = mbx_ldap_filter_build(d, kind, key, keylen, &why);

	if (f == NULL)
		fail_msg("filter for kind %d failed: %s", (int)kind, why);
	assert_string_equal(f, want);
	free(f);
}

static void expect_filter_error(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                                size_t keylen, const char *why_want)
{
	const char *why = NULL;
	char *f = mbx_ldap_filter_build(d, kind, key, keylen, &why);

	assert_null(f);
	assert_non_null(why);
	assert_non_null(strstr(why, why_want));
}

static void test_build_each_kind(void **state)
{
	static const uint8_t sid[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	                              0x20, 0x00, 0x00, 0x00, 0x2b, 0x02, 0x00, 0x00};
	const char *dn = "cn=Ivan Ives,cn=Users,dc=contoso,dc=com";

	(void)state;
	expect_filter(NULL, MBX_DIR_BY_DN, dn, strlen(dn), "(objectClass=*)");
	expect_filter(NULL, MBX_DIR_BY_LEGACYDN, "/o=Contoso/cn=alice", 19,
	              "(|(legacyExchangeDN=/o=Contoso/cn=alice)"
	              "(proxyAddresses=x500:/o=Contoso/cn=alice))");
	expect_filter(NULL, MBX_DIR_BY_SMTP, "alice@contoso.com", 17,
	              "(|(mail=alice@contoso.com)(proxyAddresses=smtp:alice@contoso.com))");
	expect_filter(NULL, MBX_DIR_BY_LOGIN, "alice", 5,
	              "(|(userPrincipalName=alice)(sAMAccountName=alice))");
	expect_filter(
	        NULL, MBX_DIR_BY_SID, sid, sizeof(sid),
	        "(objectSid=\\01\\02\\00\\00\\00\\00\\00\\05\\20\\00\\00\\00\\2b\\02\\00\\00)");
	expect_filter(NULL, MBX_DIR_BY_MEMBER, dn, strlen(dn),
	              "(member=cn=Ivan Ives,cn=Users,dc=contoso,dc=com)");
	/* A DN with RFC 4514 escapes: the backslashes are escaped again for the filter. */
	expect_filter(NULL, MBX_DIR_BY_MEMBER, "cn=a\\,b,dc=x", 12, "(member=cn=a\\5c,b,dc=x)");
	/* A login with a backslash (DOMAIN\user). */
	expect_filter(NULL, MBX_DIR_BY_LOGIN, "CONTOSO\\alice", 13,
	              "(|(userPrincipalName=CONTOSO\\5calice)(sAMAccountName=CONTOSO\\5calice))");
}

/* Injection attempts: whatever the key, the filter keeps exactly the structure of its
 * template and every key byte is inside one assertion value. */
static void test_build_injection(void **state)
{
	static const char *const keys[] = {
	        "*)(objectClass=*",
	        "*",
	        ")(|(objectClass=*)",
	        "x)(legacyExchangeDN=*))(|(cn=*",
	        "\\2a",
	        "\\",
	        "a\\",
	        "*)(&",
	        "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=*",
	        "\xff\xfe(\x00*)",
	};
	size_t lens[sizeof(keys) / sizeof(keys[0])];
	static const struct {
		enum mbx_dir_key kind;
		unsigned parens;
		unsigned stars;
	} kinds[] = {
	        {MBX_DIR_BY_LEGACYDN, 3, 0}, {MBX_DIR_BY_SMTP, 3, 0},   {MBX_DIR_BY_LOGIN, 3, 0},
	        {MBX_DIR_BY_SID, 1, 0},      {MBX_DIR_BY_MEMBER, 1, 0}, {MBX_DIR_BY_DN, 1, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		lens[i] = keys[i][0] == '\xff' ? 6 : strlen(keys[i]);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const char *why = NULL;
			char *f =
			        mbx_ldap_filter_build(NULL, kinds[k].kind, keys[i], lens[i], &why);
			unsigned o, c, s, bad;

			assert_non_null(f);
			structure(f, &o, &c, &s, &bad);
			assert_int_equal(o, kinds[k].parens);
			assert_int_equal(c, kinds[k].parens);
			assert_int_equal(s, kinds[k].stars);
			assert_int_equal(bad, 0);
			free(f);
		}
	}
	expect_filter(NULL, MBX_DIR_BY_LEGACYDN, keys[0], lens[0],
	              "(|(legacyExchangeDN=\\2a\\29\\28objectClass=\\2a)"
	              "(proxyAddresses=x500:\\2a\\29\\28objectClass=\\2a))");
	expect_filter(NULL, MBX_DIR_BY_SMTP, keys[0], lens[0],
	              "(|(mail=\\2a\\29\\28objectClass=\\2a)"
	              "(proxyAddresses=smtp:\\2a\\29\\28objectClass=\\2a))");
	/* A key with a backslash and a NUL (its length counts the NUL and what follows). */
	expect_filter(NULL, MBX_DIR_BY_LEGACYDN, "/o=C\\\0x", 7,
	              "(|(legacyExchangeDN=/o=C\\5c\\00x)(proxyAddresses=x500:/o=C\\5c\\00x))");
	expect_filter(NULL, MBX_DIR_BY_LEGACYDN, keys[9], lens[9],
	              "(|(legacyExchangeDN=\\ff\\fe\\28\\00\\2a\\29)"
	              "(proxyAddresses=x500:\\ff\\fe\\28\\00\\2a\\29))");
}

static void test_build_attrmap(void **state)
{
	static const struct mbx_dir_attrmap map[] = {
	        {"legacyExchangeDN", "exLegacyDN"}, {"mail", "email"},
	        {"sAMAccountName", "uid"},          {"objectSid", "sambaSID;binary"},
	        {"member", "uniqueMember"},
	};
	struct mbx_dir d;
	static const uint8_t sid[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05};

	(void)state;
	memset(&d, 0, sizeof(d));
	d.attrmap = map;
	d.nattrmap = sizeof(map) / sizeof(map[0]);
	expect_filter(&d, MBX_DIR_BY_LEGACYDN, "/o=C", 4,
	              "(|(exLegacyDN=/o=C)(proxyAddresses=x500:/o=C))");
	expect_filter(&d, MBX_DIR_BY_SMTP, "a@b", 3, "(|(email=a@b)(proxyAddresses=smtp:a@b))");
	expect_filter(&d, MBX_DIR_BY_LOGIN, "a", 1, "(|(userPrincipalName=a)(uid=a))");
	expect_filter(&d, MBX_DIR_BY_SID, sid, sizeof(sid),
	              "(sambaSID;binary=\\01\\00\\00\\00\\00\\00\\00\\05)");
	expect_filter(&d, MBX_DIR_BY_MEMBER, "cn=x", 4, "(uniqueMember=cn=x)");
	expect_filter(&d, MBX_DIR_BY_DN, "cn=x", 4, "(objectClass=*)");
}

/* A map entry that would change the filter's structure is refused. */
static void test_build_attrmap_refused(void **state)
{
	static const struct mbx_dir_attrmap bad[][1] = {
	        {{"mail", "mail)(cn=*"}},
	        {{"mail", "ma il"}},
	        {{"mail", "mail="}},
	        {{"mail", "m\\"}},
	};
	struct mbx_dir d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.attrmap = bad[i];
		d.nattrmap = 1;
		expect_filter_error(&d, MBX_DIR_BY_SMTP, "a@b", 3, "attribute map");
		/* Kinds that do not use the bad name are not affected. */
		expect_filter(&d, MBX_DIR_BY_LOGIN, "a", 1,
		              "(|(userPrincipalName=a)(sAMAccountName=a))");
	}
}

static void test_build_limits(void **state)
{
	char *big = malloc(MBX_LDAP_FILTER_MAX_KEY + 1);
	const char *why = NULL;
	char *f;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', MBX_LDAP_FILTER_MAX_KEY + 1);
	/* 0: empty key refused for every kind. */
	for (int k = MBX_DIR_BY_DN; k <= MBX_DIR_BY_MEMBER; k++) {
		expect_filter_error(NULL, (enum mbx_dir_key)k, "", 0, "empty key");
		expect_filter_error(NULL, (enum mbx_dir_key)k, NULL, 5, "empty key");
	}
	/* 1: one byte. */
	expect_filter(NULL, MBX_DIR_BY_LEGACYDN, "x", 1,
	              "(|(legacyExchangeDN=x)(proxyAddresses=x500:x))");
	/* max: accepted; max + 1: refused. */
	f = mbx_ldap_filter_build(NULL, MBX_DIR_BY_LEGACYDN, big, MBX_LDAP_FILTER_MAX_KEY, &why);
	assert_non_null(f);
	assert_int_equal(strlen(f), strlen("(|(legacyExchangeDN=)(proxyAddresses=x500:))") +
	                                    2 * MBX_LDAP_FILTER_MAX_KEY);
	free(f);
	f = mbx_ldap_filter_build(NULL, MBX_DIR_BY_SID, big, MBX_LDAP_FILTER_MAX_KEY, &why);
	assert_non_null(f);
	assert_int_equal(strlen(f), strlen("(objectSid=)") + 3 * MBX_LDAP_FILTER_MAX_KEY);
	free(f);
	expect_filter_error(NULL, MBX_DIR_BY_LEGACYDN, big, MBX_LDAP_FILTER_MAX_KEY + 1,
	                    "too long");
	expect_filter_error(NULL, (enum mbx_dir_key)99, "x", 1, "unknown lookup kind");
	expect_filter_error(NULL, (enum mbx_dir_key) - 1, "x", 1, "unknown lookup kind");
	free(big);
}

/* The report filter: seed 000's query, no key (whatever is passed), names through the map,
 * and a map entry that would break it refused. */
static void test_build_report(void **state)
{
	static const char want[] = "(&(objectClass=user)(|(msExchUserAccountControl=2)"
	                           "(userAccountControl:1.2.840.113556.1.4.803:=2))"
	                           "(!(msExchMasterAccountSid=*)))";
	static const struct mbx_dir_attrmap map[] = {
	        {"userAccountControl", "uac"},
	        {"msExchMasterAccountSid", "masterSid;binary"},
	};
	static const struct mbx_dir_attrmap bad[] = {{"msExchUserAccountControl", "x)(cn=*"}};
	struct mbx_dir d;
	unsigned o, c, st, b;
	char *f;
	const char *why = NULL;

	(void)state;
	expect_filter(NULL, MBX_DIR_DISABLED_NO_MASTER, "", 0, want);
	expect_filter(NULL, MBX_DIR_DISABLED_NO_MASTER, NULL, 0, want);
	expect_filter(NULL, MBX_DIR_DISABLED_NO_MASTER, "*)(cn=*", 7, want);
	expect_filter(NULL, MBX_DIR_DISABLED_NO_MASTER, NULL, MBX_LDAP_FILTER_MAX_KEY + 1, want);
	f = mbx_ldap_filter_build(NULL, MBX_DIR_DISABLED_NO_MASTER, NULL, 0, &why);
	assert_non_null(f);
	structure(f, &o, &c, &st, &b);
	assert_int_equal(o, 7);
	assert_int_equal(c, 7);
	assert_int_equal(st, 1);
	assert_int_equal(b, 0);
	free(f);
	memset(&d, 0, sizeof(d));
	d.attrmap = map;
	d.nattrmap = 2;
	expect_filter(&d, MBX_DIR_DISABLED_NO_MASTER, "", 0,
	              "(&(objectClass=user)(|(msExchUserAccountControl=2)"
	              "(uac:1.2.840.113556.1.4.803:=2))(!(masterSid;binary=*)))");
	d.attrmap = bad;
	d.nattrmap = 1;
	expect_filter_error(&d, MBX_DIR_DISABLED_NO_MASTER, "", 0, "attribute map");
	/* the X500 place of BY_LEGACYDN goes through the map too */
	d.attrmap = (const struct mbx_dir_attrmap[]){{"proxyAddresses", "otherMailbox"}};
	expect_filter(&d, MBX_DIR_BY_LEGACYDN, "/o=C", 4,
	              "(|(legacyExchangeDN=/o=C)(otherMailbox=x500:/o=C))");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_escape_specials),
	        cmocka_unit_test(test_escape_every_byte),
	        cmocka_unit_test(test_escape_utf8),
	        cmocka_unit_test(test_escape_binary_sid),
	        cmocka_unit_test(test_escape_truncation),
	        cmocka_unit_test(test_build_each_kind),
	        cmocka_unit_test(test_build_injection),
	        cmocka_unit_test(test_build_attrmap),
	        cmocka_unit_test(test_build_attrmap_refused),
	        cmocka_unit_test(test_build_limits),
	        cmocka_unit_test(test_build_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
