/*
 * admin-report.c: `mbxctl report disabled-without-master-sid` (include/mbx/admin.h): the
 * disabled user accounts without msExchMasterAccountSid, found with seed 000's ldifde query
 * (MBX_DIR_DISABLED_NO_MASTER, include/mbx/directory.h), printed as ldifde prints them with
 * "-l nothing": for each, "dn: DN", "changetype: add" and an empty line. A DN that is not an
 * RFC 2849 SAFE-STRING (non-ASCII, or starting with a space, ':' or '<', or ending with a
 * space) is written "dn:: BASE64" as LDIF requires. No accounts: empty output, exit 0.
 *
 * JSON keys (stable): accounts (array of {dn, legacyExchangeDN (string or null), hasMailbox
 * (bool: homeMDB present)}), count (number).
 */
#include "admin-int.h"

#include <string.h>

static bool admin_ldif_safe(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return true;
	if (s[0] == ' ' || s[0] == ':' || s[0] == '<' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch > 127 || ch == '\n' || ch == '\r')
			return false;
	}
	return true;
}

static void admin_base64(struct admin_out *o, const char *s)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char q[5];

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		q[4] = '\0';
		admin_out_printf(o, "%s", q);
	}
}

static void admin_report_answer(struct admin_cmd *c)
{
	if (c->st != MBX_DIR_FOUND && c->st != MBX_DIR_NOT_FOUND) {
		admin_fail_dir(c, c->st, c->dirmsg, "report", "disabled-without-master-sid");
		return;
	}
	if (c->json) {
		mbx_json_key(&c->j, "accounts");
		mbx_json_arr_begin(&c->j);
	}
	for (size_t i = 0; i < c->nents; i++) {
		const struct mbx_dir_entry *e = c->ents[i];

		if (c->json) {
			mbx_json_obj_begin(&c->j);
			mbx_json_kv_str(&c->j, "dn", e->dn);
			mbx_json_kv_str(&c->j, "legacyExchangeDN",
			                mbx_dir_entry_str(e, "legacyExchangeDN"));
			mbx_json_kv_bool(&c->j, "hasMailbox",
			                 mbx_dir_entry_attr(e, "homeMDB") != NULL);
			mbx_json_obj_end(&c->j);
		} else if (admin_ldif_safe(e->dn)) {
			admin_out_printf(&c->out, "dn: %s\nchangetype: add\n\n", e->dn);
		} else {
			admin_out_printf(&c->out, "dn:: ");
			admin_base64(&c->out, e->dn);
			admin_out_printf(&c->out, "\nchangetype: add\n\n");
		}
	}
	if (c->json) {
		mbx_json_arr_end(&c->j);
		mbx_json_kv_uint(&c->j, "count", c->nents);
	}
	admin_ok(c);
}

void admin_report(struct admin_cmd *c)
{
	admin_lookup(c, MBX_DIR_DISABLED_NO_MASTER, "", admin_report_answer);
}
