/*
 * sid.c: Windows security identifiers: the binary form of MS-DTYP 2.4.2.2, the string form of
 * MS-DTYP 2.4.2.1, and the table of well-known SIDs (MS-DTYP 2.4.2.4) and BUILTIN aliases
 * (protocol.md 8.6) that the directory code resolves without asking any domain.
 *
 * String syntax decisions (MS-DTYP 2.4.2.1 ABNF, RFC 5234):
 *  - "S-1-" and "0x" are ABNF literals and so case-insensitive: "s-1-5-10" and "S-1-0X..." parse.
 *  - Revision must be 1 (the ABNF fixes it; the binary form MUST be 1 too).
 *  - Decimal numbers have 1 to 10 digits and no leading zero ("0" itself is fine): the ABNF
 *    says "No leading "0" characters are allowed" for decimal authority and sub-authorities.
 *    No sign, no whitespace, nothing after the last number.
 *  - The authority is decimal below 2^32; "0x" + exactly 12 hex digits is accepted for any
 *    value (the ABNF allows the hex form syntactically), and we print hex only from 2^32 up.
 *    Printed hex digits are lower case, as Windows' ConvertSidToStringSid does.
 *  - Zero sub-authorities ("S-1-5") are accepted although the ABNF asks for at least one: the
 *    binary form allows a count of 0, MS-DTYP 2.4.2.4 itself lists S-1-3 and S-1-5, and this
 *    keeps every binary SID printable and parseable back.
 */
#include "mbx/sid.h"
#include "mbx/textfmt.h"

#include <stdio.h>
#include <string.h>

#define SID_AUTH_NT 5
#define SID_BUILTIN_RID 32
#define SID_AUTH_MAX 0xFFFFFFFFFFFFULL

const struct mbx_sid mbx_sid_self = {1, 1, SID_AUTH_NT, {10}};
const struct mbx_sid mbx_sid_everyone = {1, 1, 1, {0}};

/* --- binary form ----------------------------------------------------------------------- */

void rd_sid(struct rd *r, struct mbx_sid *sid, const char *what)
{
	size_t start = rd_pos(r);
	struct mbx_sid s;

	memset(sid, 0, sizeof(*sid));
	if (what == NULL)
		what = "SID";
	if (rd_left(r) < 8) {
		rd_fail(r, "%s: need 8 bytes for the SID header, %zu left", what, rd_left(r));
		return;
	}
	memset(&s, 0, sizeof(s));
	s.revision = rd_u8(r, what);
	s.count = rd_u8(r, what);
	if (s.revision != 1) {
		rd_fail_at(r, start, "%s: revision %u, expected 1", what, (unsigned)s.revision);
		return;
	}
	if (s.count > MBX_SID_MAX_SUBAUTH) {
		rd_fail_at(r, start + 1, "%s: SubAuthorityCount %u exceeds %d", what,
		           (unsigned)s.count, MBX_SID_MAX_SUBAUTH);
		return;
	}
	s.authority = rd_u48be(r, what);
	if (rd_left(r) < 4 * (size_t)s.count) {
		rd_fail(r, "%s: %u sub-authorities need %u bytes, %zu left", what,
		        (unsigned)s.count, 4u * s.count, rd_left(r));
		return;
	}
	for (unsigned i = 0; i < s.count; i++)
		s.sub[i] = rd_u32le(r, what);
	if (rd_ok(r))
		*sid = s;
}

int mbx_sid_from_bytes(const void *buf, size_t len, struct mbx_sid *sid_r)
{
	struct rd r;

	rd_init(&r, buf, len, 0);
	rd_sid(&r, sid_r, NULL);
	if (!rd_ok(&r))
		return -1;
	if (rd_left(&r) != 0) {
		memset(sid_r, 0, sizeof(*sid_r));
		return -1;
	}
	return 0;
}

void wr_sid(struct wr *w, const struct mbx_sid *sid)
{
	uint8_t b[MBX_SID_MAX_BYTES];

	if (sid->count > MBX_SID_MAX_SUBAUTH || sid->authority > SID_AUTH_MAX) {
		/* Our own bug: refuse to emit it, the same way a full buffer is refused. */
		w->overflow = true;
		return;
	}
	b[0] = sid->revision;
	b[1] = sid->count;
	for (int i = 0; i < 6; i++)
		b[2 + i] = (uint8_t)(sid->authority >> (40 - 8 * i));
	for (unsigned i = 0; i < sid->count; i++)
		mbx_put_le32(b + 8 + 4 * i, sid->sub[i]);
	wr_bytes(w, b, mbx_sid_size(sid));
}

size_t mbx_sid_size(const struct mbx_sid *sid)
{
	return 8 + 4 * (size_t)sid->count;
}

/* --- string form ----------------------------------------------------------------------- */

/* Formatted by hand: snprintf per number cost ~800 instructions, and the authorization of every
 * logon prints a SID. The longest form: "S-255-0x" + 12 + 15 x "-4294967295" = 185 bytes. */
char *mbx_sid_to_str(const struct mbx_sid *sid, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[MBX_SID_STRMAX], *p = tmp;
	size_t o;
	unsigned count = sid->count > MBX_SID_MAX_SUBAUTH ? MBX_SID_MAX_SUBAUTH : sid->count;

	if (size == 0)
		return buf;
	*p++ = 'S';
	*p++ = '-';
	p = mbx_fmt_u64(p, sid->revision);
	*p++ = '-';
	if (sid->authority < 0x100000000ULL) {
		p = mbx_fmt_u64(p, sid->authority);
	} else {
		uint64_t a = sid->authority & SID_AUTH_MAX;

		*p++ = '0';
		*p++ = 'x';
		for (int shift = 44; shift >= 0; shift -= 4)
			*p++ = hex[(a >> shift) & 0xf];
	}
	for (unsigned i = 0; i < count; i++) {
		*p++ = '-';
		p = mbx_fmt_u64(p, sid->sub[i]);
	}
	o = (size_t)(p - tmp);
	/* A truncated SID would read as another SID: print nothing rather than part of it. */
	if (o >= size)
		o = 0;
	memcpy(buf, tmp, o);
	buf[o] = '\0';
	return buf;
}

/* Parses 1..10 decimal digits without a leading zero, value <= max. Advances *sp. */
static bool parse_dec(const char **sp, uint64_t max, uint64_t *v_r)
{
	const char *s = *sp;
	uint64_t v = 0;
	int n = 0;

	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return false;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 10)
			return false;
		v = v * 10 + (uint64_t)(s[n] - '0');
		n++;
	}
	if (n == 0 || v > max)
		return false;
	*sp = s + n;
	*v_r = v;
	return true;
}

/* Parses exactly 12 hex digits (either case). Advances *sp. */
static bool parse_hex12(const char **sp, uint64_t *v_r)
{
	const char *s = *sp;
	uint64_t v = 0;

	for (int i = 0; i < 12; i++) {
		char c = s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*sp = s + 12;
	*v_r = v;
	return true;
}

int mbx_sid_from_str(const char *s, struct mbx_sid *sid_r)
{
	struct mbx_sid sid;
	uint64_t v;

	if (s == NULL)
		return -1;
	memset(&sid, 0, sizeof(sid));
	if ((s[0] != 'S' && s[0] != 's') || s[1] != '-' || s[2] != '1' || s[3] != '-')
		return -1;
	sid.revision = 1;
	s += 4;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!parse_hex12(&s, &v))
			return -1;
	} else if (!parse_dec(&s, 0xFFFFFFFFULL, &v)) {
		return -1;
	}
	sid.authority = v;
	while (*s == '-') {
		s++;
		if (sid.count == MBX_SID_MAX_SUBAUTH || !parse_dec(&s, 0xFFFFFFFFULL, &v))
			return -1;
		sid.sub[sid.count++] = (uint32_t)v;
	}
	if (*s != '\0')
		return -1;
	*sid_r = sid;
	return 0;
}

/* --- comparison and the well-known table ------------------------------------------------ */

bool mbx_sid_equal(const struct mbx_sid *a, const struct mbx_sid *b)
{
	if (a->revision != b->revision || a->count != b->count || a->authority != b->authority ||
	    a->count > MBX_SID_MAX_SUBAUTH)
		return false;
	for (unsigned i = 0; i < a->count; i++)
		if (a->sub[i] != b->sub[i])
			return false;
	return true;
}

/*
 * Well-known SIDs (MS-DTYP 2.4.2.4 constant in the comment). Names are the account names
 * Windows shows for them (LookupAccountSid, ACL editors, Get-MailboxPermission), with the
 * "NT AUTHORITY\" domain where Windows puts one.
 */
static const struct {
	uint8_t authority;
	uint8_t count;
	uint32_t sub;
	const char *name;
} wellknown[] = {
        {0, 1, 0, "NULL SID"},                                    /* NULL, S-1-0-0 */
        {1, 1, 0, "Everyone"},                                    /* EVERYONE, S-1-1-0 */
        {2, 1, 0, "LOCAL"},                                       /* LOCAL, S-1-2-0 */
        {3, 1, 0, "CREATOR OWNER"},                               /* CREATOR_OWNER, S-1-3-0 */
        {3, 1, 1, "CREATOR GROUP"},                               /* CREATOR_GROUP, S-1-3-1 */
        {5, 1, 2, "NT AUTHORITY\\NETWORK"},                       /* NETWORK, S-1-5-2 */
        {5, 1, 4, "NT AUTHORITY\\INTERACTIVE"},                   /* INTERACTIVE, S-1-5-4 */
        {5, 1, 6, "NT AUTHORITY\\SERVICE"},                       /* SERVICE, S-1-5-6 */
        {5, 1, 7, "NT AUTHORITY\\ANONYMOUS LOGON"},               /* ANONYMOUS, S-1-5-7 */
        {5, 1, 9, "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS"}, /* S-1-5-9 */
        {5, 1, 10, "NT AUTHORITY\\SELF"},                         /* PRINCIPAL_SELF, S-1-5-10 */
        {5, 1, 11, "NT AUTHORITY\\Authenticated Users"},          /* AUTHENTICATED_USERS */
        {5, 1, 18, "NT AUTHORITY\\SYSTEM"},                       /* LOCAL_SYSTEM, S-1-5-18 */
        {5, 1, 19, "NT AUTHORITY\\LOCAL SERVICE"},                /* LOCAL_SERVICE, S-1-5-19 */
        {5, 1, 20, "NT AUTHORITY\\NETWORK SERVICE"},              /* NETWORK_SERVICE, S-1-5-20 */
        {5, 1, 32, "BUILTIN"},                                    /* BUILTIN domain, S-1-5-32 */
};

/* BUILTIN aliases S-1-5-32-<rid> (protocol.md 8.6, samba security.idl). */
static const struct {
	uint32_t rid;
	const char *name;
} builtin[] = {
        {544, "BUILTIN\\Administrators"},
        {545, "BUILTIN\\Users"},
        {546, "BUILTIN\\Guests"},
        {547, "BUILTIN\\Power Users"},
        {548, "BUILTIN\\Account Operators"},
        {549, "BUILTIN\\Server Operators"},
        {550, "BUILTIN\\Print Operators"},
        {551, "BUILTIN\\Backup Operators"},
        {552, "BUILTIN\\Replicator"},
        {553, "BUILTIN\\RAS Servers"},
        {554, "BUILTIN\\Pre-Windows 2000 Compatible Access"},
        {555, "BUILTIN\\Remote Desktop Users"},
        {556, "BUILTIN\\Network Configuration Operators"},
        {557, "BUILTIN\\Incoming Forest Trust Builders"},
        {558, "BUILTIN\\Performance Monitor Users"},
        {559, "BUILTIN\\Performance Log Users"},
        {560, "BUILTIN\\Windows Authorization Access Group"},
        {561, "BUILTIN\\Terminal Server License Servers"},
        {562, "BUILTIN\\Distributed COM Users"},
        {569, "BUILTIN\\Cryptographic Operators"},
        {573, "BUILTIN\\Event Log Readers"},
        {574, "BUILTIN\\Certificate Service DCOM Access"},
};

bool mbx_sid_is_builtin(const struct mbx_sid *sid)
{
	return sid->revision == 1 && sid->authority == SID_AUTH_NT && sid->count == 2 &&
	       sid->sub[0] == SID_BUILTIN_RID;
}

const char *mbx_sid_wellknown_name(const struct mbx_sid *sid)
{
	if (sid->revision != 1)
		return NULL;
	if (mbx_sid_is_builtin(sid)) {
		for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
			if (builtin[i].rid == sid->sub[1])
				return builtin[i].name;
		return NULL;
	}
	if (sid->count != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(wellknown) / sizeof(wellknown[0]); i++)
		if (wellknown[i].authority == sid->authority && wellknown[i].sub == sid->sub[0])
			return wellknown[i].name;
	return NULL;
}

bool mbx_sid_is_wellknown(const struct mbx_sid *sid)
{
	return mbx_sid_is_builtin(sid) || mbx_sid_wellknown_name(sid) != NULL;
}
