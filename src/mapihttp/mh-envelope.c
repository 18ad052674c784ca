/*
 * mh-envelope.c: the text of MAPI/HTTP around the binary bodies ([MS-OXCMAPIHTTP]; protocol.md
 * 5.1-5.5): the response stream's meta-tags and additional headers (2.2.7, 2.2.2.2, examples
 * 4.1-4.5) written by the server and parsed by clients, the X-ResponseCode table (2.2.3.3.3),
 * X-RequestType names (2.2.3.3.1), and checks of request header values (2.2.3.2.2 Content-Type,
 * 2.2.3.3.2 X-RequestId, 2.2.3.3.4 X-ClientInfo, 2.2.3.3.6 X-ClientApplication) and of the
 * session cookies (example 4.2). No I/O: the HTTP handler feeds strings and buffers in.
 */
#include "mbx/mapihttp.h"
#include "mbx/textfmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- small character helpers (ASCII only, no locale) -------------------------------- */

static char mh_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool mh_eq_nocase(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (mh_lower(a[i]) != mh_lower(b[i]))
			return false;
	return true;
}

static bool mh_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 7230 tchar. */
static bool mh_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || mh_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool mh_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int mh_why(const char **why_r, const char *why)
{
	if (why_r != NULL)
		*why_r = why;
	return -1;
}

/* ---- writing the envelope ------------------------------------------------------------ */

/*
 * Every answer carries the date two or three times (X-StartTime, Date, the DONE block's
 * X-StartTime), nearly always of the same second: the last one formatted is kept, per thread
 * (mbxbench formats dates in two threads).
 */
static _Thread_local struct {
	bool ok;
	time_t t;
	char text[29];
} mh_date_last;

int mbx_mh_env_http_date(time_t t, char *buf, size_t size)
{
	if (size < 30)
		return -1;
	if (!mh_date_last.ok || mh_date_last.t != t) {
		if (mbx_fmt_http_date(t, mh_date_last.text) != 0)
			return -1;
		mh_date_last.t = t;
		mh_date_last.ok = true;
	}
	memcpy(buf, mh_date_last.text, 29);
	buf[29] = '\0';
	return 0;
}

int mbx_mh_env_done(struct wr *w, uint32_t response_code, uint64_t elapsed_ms, time_t start)
{
	static const char rc_h[] = MBX_MH_META_DONE "X-ResponseCode: ";
	static const char el_h[] = "\r\nX-ElapsedTime: ";
	static const char st_h[] = "\r\nX-StartTime: ";
	char text[MBX_MH_ENV_DONE_MAX], *p = text;
	size_t mark;

	/* The longest form: 22 + 10 + 17 + 20 + 15 + 29 + 4 = 117 bytes. */
	memcpy(p, rc_h, sizeof(rc_h) - 1);
	p += sizeof(rc_h) - 1;
	p = mbx_fmt_u64(p, response_code);
	memcpy(p, el_h, sizeof(el_h) - 1);
	p += sizeof(el_h) - 1;
	p = mbx_fmt_u64(p, elapsed_ms);
	memcpy(p, st_h, sizeof(st_h) - 1);
	p += sizeof(st_h) - 1;
	if (mbx_mh_env_http_date(start, p, 30) != 0)
		return MBX_MH_ERR_INVALID;
	p += 29;
	memcpy(p, "\r\n\r\n", 4);
	p += 4;
	if (!wr_ok(w))
		return MBX_MH_ERR_ROOM;
	mark = wr_mark(w);
	wr_bytes(w, text, (size_t)(p - text));
	if (!wr_ok(w)) {
		wr_rollback(w, mark);
		return MBX_MH_ERR_ROOM;
	}
	return 0;
}

int mbx_mh_env_write(struct wr *w, uint32_t response_code, uint64_t elapsed_ms, time_t start,
                     const uint8_t *body, size_t body_len)
{
	size_t mark;
	int rc;

	if (!wr_ok(w))
		return MBX_MH_ERR_ROOM;
	mark = wr_mark(w);
	wr_bytes(w, MBX_MH_META_PROCESSING, strlen(MBX_MH_META_PROCESSING));
	if (!wr_ok(w)) {
		wr_rollback(w, mark);
		return MBX_MH_ERR_ROOM;
	}
	rc = mbx_mh_env_done(w, response_code, elapsed_ms, start);
	if (rc != 0) {
		wr_rollback(w, mark);
		return rc;
	}
	if (body_len > 0)
		wr_bytes(w, body, body_len);
	if (!wr_ok(w)) {
		wr_rollback(w, mark);
		return MBX_MH_ERR_ROOM;
	}
	return 0;
}

/* ---- parsing the envelope (client side) ---------------------------------------------- */

/* Compares the available bytes with a literal: 1 = the literal is there in full, 0 = the
 * available bytes are a proper prefix of it, -1 = mismatch. */
static int mh_lit(const uint8_t *p, size_t avail, const char *lit)
{
	size_t n = strlen(lit);
	size_t k = avail < n ? avail : n;

	if (memcmp(p, lit, k) != 0)
		return -1;
	return avail >= n ? 1 : 0;
}

static int mh_parse_u64(const char *v, size_t len, unsigned maxdigits, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (len == 0 || len > maxdigits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (!mh_digit(v[i]))
			return -1;
		d = (unsigned)(v[i] - '0');
		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* One additional header line at p[0..avail): "Name: value\r\n". Returns 1 with the line's
 * length (CRLF included) and the trimmed name/value, 0 if the bytes so far are a valid start of
 * such a line, -1 with *why_r. */
static int mh_header_line(const uint8_t *p, size_t avail, size_t *line_len_r, size_t *name_len_r,
                          size_t *val_off_r, size_t *val_len_r, size_t *bad_at_r,
                          const char **why_r)
{
	const char *s = (const char *)p;
	size_t lim = avail < MBX_MH_ENV_LINE_MAX ? avail : MBX_MH_ENV_LINE_MAX;
	size_t i = 0, vstart, vend;

	while (i < lim && mh_tchar(s[i]))
		i++;
	if (i == lim)
		goto short_line;
	if (i == 0 || s[i] != ':') {
		*bad_at_r = i;
		*why_r = i == 0 ? "header line without a name" : "bad character in a header name";
		return -1;
	}
	*name_len_r = i++;
	while (i < lim && mh_blank(s[i]))
		i++;
	vstart = i;
	while (i < lim && (mh_blank(s[i]) || (s[i] >= 0x21 && s[i] <= 0x7E)))
		i++;
	if (i == lim)
		goto short_line;
	if (s[i] != '\r') {
		*bad_at_r = i;
		*why_r = "bad character in a header value";
		return -1;
	}
	vend = i;
	while (vend > vstart && mh_blank(s[vend - 1]))
		vend--;
	if (i + 1 == lim)
		goto short_line;
	if (s[i + 1] != '\n') {
		*bad_at_r = i + 1;
		*why_r = "CR without LF after a header";
		return -1;
	}
	*line_len_r = i + 2;
	*val_off_r = vstart;
	*val_len_r = vend - vstart;
	return 1;
short_line:
	if (lim == MBX_MH_ENV_LINE_MAX) {
		*bad_at_r = 0;
		*why_r = "header line longer than 1024 bytes";
		return -1;
	}
	return 0;
}

#define MH_ENV_BAD(off, ...)                                                                       \
	do {                                                                                       \
		rd_fail_at(r, base + (off), __VA_ARGS__);                                          \
		return MBX_MH_ENV_BAD;                                                             \
	} while (0)

int mbx_mh_env_parse(struct rd *r, struct mbx_mh_env *env_r)
{
	struct mbx_mh_env e;
	const uint8_t *p;
	size_t n, pos = 0, base;
	unsigned nheaders = 0;
	int m;

	if (!rd_ok(r))
		return MBX_MH_ENV_BAD;
	memset(&e, 0, sizeof(e));
	p = r->buf + r->off;
	n = rd_left(r);
	base = rd_pos(r);

	m = mh_lit(p, n, MBX_MH_META_PROCESSING);
	if (m < 0)
		MH_ENV_BAD(0, "response stream does not start with the PROCESSING meta-tag");
	if (m == 0)
		return MBX_MH_ENV_MORE;
	pos = strlen(MBX_MH_META_PROCESSING);

	/* PENDING lines until DONE. gromox sends "PENDING" without its CRLF (protocol.md 5.5):
	 * a PENDING directly followed by the next meta-tag is taken as well. */
	for (;;) {
		if (n - pos == 0)
			return MBX_MH_ENV_MORE;
		m = mh_lit(p + pos, n - pos, MBX_MH_META_DONE);
		if (m == 1) {
			pos += strlen(MBX_MH_META_DONE);
			break;
		}
		if (m == 0)
			return MBX_MH_ENV_MORE;
		m = mh_lit(p + pos, n - pos, "PENDING");
		if (m < 0)
			MH_ENV_BAD(pos, "expected a PENDING or DONE meta-tag");
		if (m == 0)
			return MBX_MH_ENV_MORE;
		pos += 7;
		if (e.pending < UINT32_MAX)
			e.pending++;
		if (n - pos >= 1 && p[pos] == '\r') {
			if (n - pos == 1)
				return MBX_MH_ENV_MORE;
			if (p[pos + 1] != '\n')
				MH_ENV_BAD(pos + 1, "CR without LF after PENDING");
			pos += 2;
		}
	}

	/* Additional headers, then an empty line. */
	for (;;) {
		size_t line_len = 0, name_len = 0, voff = 0, vlen = 0, bad_at = 0;
		const char *why = NULL;
		const char *name, *val;
		uint64_t x;

		if (n - pos == 0)
			return MBX_MH_ENV_MORE;
		if (p[pos] == '\r') {
			if (n - pos == 1)
				return MBX_MH_ENV_MORE;
			if (p[pos + 1] != '\n')
				MH_ENV_BAD(pos + 1, "CR without LF after the additional headers");
			pos += 2;
			break;
		}
		if (nheaders == MBX_MH_ENV_HEADERS_MAX)
			MH_ENV_BAD(pos, "more than %u additional headers", MBX_MH_ENV_HEADERS_MAX);
		m = mh_header_line(p + pos, n - pos, &line_len, &name_len, &voff, &vlen, &bad_at,
		                   &why);
		if (m < 0)
			MH_ENV_BAD(pos + bad_at, "%s", why);
		if (m == 0)
			return MBX_MH_ENV_MORE;
		nheaders++;
		name = (const char *)p + pos;
		val = name + voff;
		if (mh_eq_nocase(name, name_len, "X-ResponseCode")) {
			if (e.has_response_code)
				MH_ENV_BAD(pos, "X-ResponseCode given twice");
			if (mh_parse_u64(val, vlen, 10, UINT32_MAX, &x) != 0)
				MH_ENV_BAD(pos + voff, "X-ResponseCode is not a 32-bit decimal");
			e.has_response_code = true;
			e.response_code = (uint32_t)x;
		} else if (mh_eq_nocase(name, name_len, "X-ElapsedTime")) {
			if (e.has_elapsed)
				MH_ENV_BAD(pos, "X-ElapsedTime given twice");
			if (mh_parse_u64(val, vlen, 20, UINT64_MAX, &x) != 0)
				MH_ENV_BAD(pos + voff, "X-ElapsedTime is not a 64-bit decimal");
			e.has_elapsed = true;
			e.elapsed_ms = x;
		} else if (mh_eq_nocase(name, name_len, "X-StartTime")) {
			if (e.start_time != NULL)
				MH_ENV_BAD(pos, "X-StartTime given twice");
			if (vlen == 0)
				MH_ENV_BAD(pos + voff, "X-StartTime is empty");
			e.start_time = val;
			e.start_time_len = vlen;
		} else {
			e.other_headers++;
		}
		pos += line_len;
	}
	e.body_off = base + pos;
	rd_skip(r, pos, "envelope");
	*env_r = e;
	return MBX_MH_ENV_DONE;
}

/* ---- X-ResponseCode ----------------------------------------------------------------- */

static const struct {
	const char *name, *text;
} mh_rc_table[] = {
#define MBX_MH_RC_ROW(code, name, spec, text) [code] = {spec, text},
        MBX_MH_RC_LIST(MBX_MH_RC_ROW)
#undef MBX_MH_RC_ROW
};

const char *mbx_mh_rc_name(uint32_t code)
{
	return code <= MBX_MH_RC_MAX ? mh_rc_table[code].name : NULL;
}

const char *mbx_mh_rc_text(uint32_t code)
{
	return code <= MBX_MH_RC_MAX ? mh_rc_table[code].text : "unknown X-ResponseCode";
}

/* ---- X-RequestType ------------------------------------------------------------------ */

static const char *const mh_reqtype_names[] = {
        [MBX_MH_REQ_UNKNOWN] = "unknown",
        [MBX_MH_REQ_CONNECT] = "Connect",
        [MBX_MH_REQ_EXECUTE] = "Execute",
        [MBX_MH_REQ_DISCONNECT] = "Disconnect",
        [MBX_MH_REQ_NOTIFICATIONWAIT] = "NotificationWait",
        [MBX_MH_REQ_PING] = "PING",
        [MBX_MH_REQ_ADDRESS_BOOK] = "address book",
};

/* The address book endpoint's request types (2.2.3.3.1, 2.2.5.1-2.2.5.19). */
static const char *const mh_ab_types[] = {
        "Bind",        "Unbind",     "CompareMIds",     "DNToMId",           "GetMatches",
        "GetPropList", "GetProps",   "GetSpecialTable", "GetTemplateInfo",   "ModLinkAtt",
        "ModProps",    "QueryRows",  "QueryColumns",    "ResolveNames",      "ResortRestriction",
        "SeekEntries", "UpdateStat", "GetMailboxUrl",   "GetAddressBookUrl",
};

enum mbx_mh_reqtype mbx_mh_reqtype_parse(const char *value)
{
	size_t len;

	if (value == NULL)
		return MBX_MH_REQ_UNKNOWN;
	len = strlen(value);
	for (int t = MBX_MH_REQ_CONNECT; t <= MBX_MH_REQ_PING; t++)
		if (mh_eq_nocase(value, len, mh_reqtype_names[t]))
			return (enum mbx_mh_reqtype)t;
	for (size_t i = 0; i < sizeof(mh_ab_types) / sizeof(mh_ab_types[0]); i++)
		if (mh_eq_nocase(value, len, mh_ab_types[i]))
			return MBX_MH_REQ_ADDRESS_BOOK;
	return MBX_MH_REQ_UNKNOWN;
}

const char *mbx_mh_reqtype_name(enum mbx_mh_reqtype t)
{
	if ((int)t < MBX_MH_REQ_UNKNOWN || t > MBX_MH_REQ_ADDRESS_BOOK)
		return "unknown";
	return mh_reqtype_names[t];
}

/* ---- request header values ---------------------------------------------------------- */

static int mh_token_check(const char *v, size_t max, const char **why_r)
{
	size_t n = 0;

	if (v == NULL || v[0] == '\0')
		return mh_why(why_r, "empty value");
	for (; v[n] != '\0'; n++) {
		if (n == max)
			return mh_why(why_r, "value too long");
		if (v[n] < 0x21 || v[n] > 0x7E)
			return mh_why(why_r, "value holds a character outside visible ASCII");
	}
	return 0;
}

int mbx_mh_hdr_request_id_check(const char *v, const char **why_r)
{
	return mh_token_check(v, MBX_MH_REQUESTID_MAX, why_r);
}

int mbx_mh_hdr_client_info_check(const char *v, const char **why_r)
{
	return mh_token_check(v, MBX_MH_CLIENTINFO_MAX, why_r);
}

int mbx_mh_hdr_guid_counter(const char *v, struct mbx_guid *g_r, uint64_t *counter_r)
{
	char g[MBX_GUID_STRLEN + 3];
	struct mbx_guid guid;
	uint64_t counter;
	size_t len;

	if (v == NULL)
		return -1;
	len = strlen(v);
	if (len < MBX_GUID_STRLEN + 4 || v[0] != '{' || v[MBX_GUID_STRLEN + 1] != '}' ||
	    v[MBX_GUID_STRLEN + 2] != ':')
		return -1;
	memcpy(g, v, MBX_GUID_STRLEN + 2);
	g[MBX_GUID_STRLEN + 2] = '\0';
	if (mbx_guid_from_str(g, &guid) != 0)
		return -1;
	if (mh_parse_u64(v + MBX_GUID_STRLEN + 3, len - (MBX_GUID_STRLEN + 3), 19, UINT64_MAX,
	                 &counter) != 0)
		return -1;
	*g_r = guid;
	*counter_r = counter;
	return 0;
}

int mbx_mh_hdr_client_app_check(const char *v, const char **why_r)
{
	size_t n = 0;

	if (v == NULL || v[0] == '\0')
		return mh_why(why_r, "empty value");
	for (; v[n] != '\0'; n++) {
		if (n == MBX_MH_CLIENTAPP_MAX)
			return mh_why(why_r, "value too long");
		if (v[n] < 0x20 || v[n] > 0x7E)
			return mh_why(why_r, "value holds a character outside printable ASCII");
	}
	return 0;
}

int mbx_mh_hdr_client_version(const char *v, uint16_t ver_r[3])
{
	static const uint32_t max[4] = {0xFF, 0xFF, 0x7FFF, 0xFFFF};
	uint32_t part[4];
	size_t i = 8;

	if (v == NULL || strlen(v) < 8 || !mh_eq_nocase(v, 8, "Outlook/"))
		return -1;
	for (int k = 0; k < 4; k++) {
		size_t start = i;
		uint32_t x = 0;

		while (mh_digit(v[i]) && i - start < 5)
			x = x * 10 + (uint32_t)(v[i++] - '0');
		if (i == start || mh_digit(v[i]) || x > max[k])
			return -1;
		if (v[i] != (k < 3 ? '.' : '\0'))
			return -1;
		part[k] = x;
		i++;
	}
	ver_r[0] = (uint16_t)(part[0] << 8 | part[1]);
	ver_r[1] = (uint16_t)(part[2] | 0x8000);
	ver_r[2] = (uint16_t)part[3];
	return 0;
}

int mbx_mh_hdr_content_type_check(const char *v, const char **why_r)
{
	static const char type[] = "application/mapi-http";
	size_t i = 0, tl = sizeof(type) - 1;

	if (v == NULL)
		return mh_why(why_r, "empty value");
	while (mh_blank(v[i]))
		i++;
	if (strlen(v + i) < tl || !mh_eq_nocase(v + i, tl, type))
		return mh_why(why_r, "media type is not application/mapi-http");
	i += tl;
	for (;;) {
		while (mh_blank(v[i]))
			i++;
		if (v[i] == '\0')
			return 0;
		if (v[i] != ';')
			return mh_why(why_r, "media type is not application/mapi-http");
		i++;
		while (mh_blank(v[i]))
			i++;
		if (!mh_tchar(v[i]))
			return mh_why(why_r, "parameter without a name");
		while (mh_tchar(v[i]))
			i++;
		if (v[i] != '=')
			return mh_why(why_r, "parameter without '='");
		i++;
		if (v[i] == '"') {
			for (i++;; i++) {
				if (v[i] == '"')
					break;
				if (v[i] == '\\') {
					i++;
					if (v[i] != '\t' && (v[i] < 0x20 || v[i] > 0x7E))
						return mh_why(why_r,
						              "bad quoted-pair in a parameter");
					continue;
				}
				if (v[i] != '\t' && (v[i] < 0x20 || v[i] > 0x7E))
					return mh_why(why_r, "unterminated quoted parameter value");
			}
			i++;
		} else {
			if (!mh_tchar(v[i]))
				return mh_why(why_r, "parameter without a value");
			while (mh_tchar(v[i]))
				i++;
		}
	}
}

/* ---- cookies ------------------------------------------------------------------------ */

int mbx_mh_cookie_value_check(const char *v, size_t len, const char **why_r)
{
	if (v == NULL || len == 0)
		return mh_why(why_r, "empty cookie value");
	if (len > MBX_MH_COOKIE_VALUE_MAX)
		return mh_why(why_r, "cookie value too long");
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || mh_digit(c) || c == '-' ||
		      c == '_' || c == '.'))
			return mh_why(why_r, "cookie value holds a character we never issue");
	}
	return 0;
}

int mbx_mh_cookie_find(const char *header, const char *name, const char **val_r, size_t *len_r,
                       const char **why_r)
{
	size_t i = 0, nlen = strlen(name);
	int found = 0;

	if (header == NULL)
		return 0;
	while (header[i] != '\0') {
		size_t ps, pe, eq, ne, vs, ve;

		while (mh_blank(header[i]))
			i++;
		ps = i;
		while (header[i] != '\0' && header[i] != ';')
			i++;
		pe = i;
		if (header[i] == ';')
			i++;
		while (pe > ps && mh_blank(header[pe - 1]))
			pe--;
		if (pe == ps)
			continue; /* empty pair, e.g. a trailing ';' */
		for (eq = ps; eq < pe && header[eq] != '='; eq++)
			;
		if (eq == pe)
			return mh_why(why_r, "cookie pair without '='");
		for (ne = eq; ne > ps && mh_blank(header[ne - 1]); ne--)
			;
		if (ne == ps)
			return mh_why(why_r, "cookie pair without a name");
		for (vs = eq + 1; vs < pe && mh_blank(header[vs]); vs++)
			;
		ve = pe;
		if (ne - ps != nlen || memcmp(header + ps, name, nlen) != 0)
			continue;
		if (found)
			return mh_why(why_r, "cookie given twice");
		found = 1;
		*val_r = header + vs;
		*len_r = ve - vs;
	}
	return found;
}
