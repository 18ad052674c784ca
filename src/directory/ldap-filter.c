/*
 * ldap-filter.c: RFC 4515 escaping of filter values and the filter of each directory lookup
 * kind (ldap-filter.h). Pure: no I/O, no libldap. The escaping is stricter than RFC 4515
 * section 3 asks (it also escapes every non-printable and non-ASCII byte), which RFC 4515
 * allows ("any octet may be escaped") and which keeps filters printable for logs.
 */
#include "mbx/ldap-filter.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ldap_filter_hex[] = "0123456789abcdef";

static bool ldap_filter_needs_escape(uint8_t c, bool binary)
{
	if (binary)
		return true;
	if (c < 0x20 || c > 0x7e)
		return true; /* NUL, control bytes, DEL, every byte of a non-ASCII character */
	return c == '*' || c == '(' || c == ')' || c == '\\';
}

size_t mbx_ldap_filter_escape(char *out, size_t size, const void *val, size_t len, bool binary)
{
	const uint8_t *p = val;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char buf[3];
		size_t k;

		if (ldap_filter_needs_escape(p[i], binary)) {
			buf[0] = '\\';
			buf[1] = ldap_filter_hex[p[i] >> 4];
			buf[2] = ldap_filter_hex[p[i] & 0x0f];
			k = 3;
		} else {
			buf[0] = (char)p[i];
			k = 1;
		}
		for (size_t j = 0; j < k; j++, n++) {
			if (size > 0 && n < size - 1)
				out[n] = buf[j];
		}
	}
	if (size > 0)
		out[n < size - 1 ? n : size - 1] = '\0';
	return n;
}

char *mbx_ldap_filter_escape_dup(const void *val, size_t len, bool binary)
{
	size_t n = mbx_ldap_filter_escape(NULL, 0, val, len, binary);
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	mbx_ldap_filter_escape(s, n + 1, val, len, binary);
	return s;
}

/* The filter templates: %1 to %4 stand for the attributes, %v for the escaped key. Only these
 * directives exist. A form without %v (nokey) ignores the key. */
#define LDAP_FILTER_MAX_ATTRS 4
struct ldap_filter_form {
	const char *tmpl;
	const char *attr[LDAP_FILTER_MAX_ATTRS];
	bool binary, nokey;
};

static bool ldap_filter_form(enum mbx_dir_key kind, struct ldap_filter_form *f)
{
	memset(f, 0, sizeof(*f));
	switch (kind) {
	case MBX_DIR_BY_DN:
		f->tmpl = "(%1=*)";
		f->attr[0] = "objectClass";
		return true;
	case MBX_DIR_BY_LEGACYDN:
		/* the legacyExchangeDN, or the one of an old forest kept as an X500 proxy */
		f->tmpl = "(|(%1=%v)(%2=x500:%v))";
		f->attr[0] = "legacyExchangeDN";
		f->attr[1] = "proxyAddresses";
		return true;
	case MBX_DIR_BY_SMTP:
		f->tmpl = "(|(%1=%v)(%2=smtp:%v))";
		f->attr[0] = "mail";
		f->attr[1] = "proxyAddresses";
		return true;
	case MBX_DIR_BY_LOGIN:
		f->tmpl = "(|(%1=%v)(%2=%v))";
		f->attr[0] = "userPrincipalName";
		f->attr[1] = "sAMAccountName";
		return true;
	case MBX_DIR_BY_SID:
		f->tmpl = "(%1=%v)";
		f->attr[0] = "objectSid";
		f->binary = true;
		return true;
	case MBX_DIR_BY_MEMBER:
		f->tmpl = "(%1=%v)";
		f->attr[0] = "member";
		return true;
	case MBX_DIR_DISABLED_NO_MASTER:
		/* seed 000's query; 1.2.840.113556.1.4.803 is LDAP_MATCHING_RULE_BIT_AND (MS-ADTS
		 * 3.1.1.3.4.4), which OpenLDAP also has (integerBitAndMatch) for INTEGER
		 * attributes. Computers are left out by the backends, not here (ldap-filter.h). */
		f->tmpl = "(&(%1=user)(|(%2=2)(%3:1.2.840.113556.1.4.803:=2))(!(%4=*)))";
		f->attr[0] = "objectClass";
		f->attr[1] = "msExchUserAccountControl";
		f->attr[2] = "userAccountControl";
		f->attr[3] = "msExchMasterAccountSid";
		f->nokey = true;
		return true;
	}
	return false;
}

/* An attribute description from the map must not be able to change the filter either: only
 * RFC 4512 descr/numericoid characters and ';' options are accepted. */
static bool ldap_filter_attr_ok(const char *a)
{
	if (a == NULL || a[0] == '\0')
		return false;
	for (const char *p = a; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ';'))
			return false;
	}
	return true;
}

char *mbx_ldap_filter_build(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                            size_t keylen, const char **why_r)
{
	struct ldap_filter_form f;
	const char *a[LDAP_FILTER_MAX_ATTRS] = {NULL};
	char *esc, *out;
	size_t n = 0, elen;

	if (!ldap_filter_form(kind, &f)) {
		*why_r = "unknown lookup kind";
		return NULL;
	}
	if (f.nokey) {
		key = "";
		keylen = 0;
	} else if (key == NULL || keylen == 0) {
		*why_r = "empty key";
		return NULL;
	}
	if (keylen > MBX_LDAP_FILTER_MAX_KEY) {
		*why_r = "key too long";
		return NULL;
	}
	for (int i = 0; i < LDAP_FILTER_MAX_ATTRS && f.attr[i] != NULL; i++) {
		a[i] = mbx_dir_server_attr(d, f.attr[i]);
		if (!ldap_filter_attr_ok(a[i])) {
			*why_r = "invalid attribute name in the attribute map";
			return NULL;
		}
	}
	esc = mbx_ldap_filter_escape_dup(key, keylen, f.binary);
	if (esc == NULL) {
		*why_r = "out of memory";
		return NULL;
	}
	elen = strlen(esc);
	/* Two passes: measure, then write. */
	for (int pass = 0; pass < 2; pass++) {
		size_t k = 0;

		out = pass == 0 ? NULL : malloc(n + 1);
		if (pass == 1 && out == NULL) {
			free(esc);
			*why_r = "out of memory";
			return NULL;
		}
		for (const char *t = f.tmpl; *t != '\0'; t++) {
			const char *s = t;
			size_t sl = 1;

			if (t[0] == '%' && t[1] == 'v') {
				s = esc;
				sl = elen;
				t++;
			} else if (t[0] == '%' && t[1] >= '1' &&
			           t[1] < '1' + LDAP_FILTER_MAX_ATTRS) {
				s = a[t[1] - '1'];
				sl = strlen(s);
				t++;
			}
			if (out != NULL)
				memcpy(out + k, s, sl);
			k += sl;
		}
		if (out != NULL)
			out[k] = '\0';
		n = k;
	}
	free(esc);
	return out;
}
