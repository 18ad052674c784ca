/*
 * types.c: the small wire types shared by the MS-OX* codecs: GUID (MS-DTYP 2.3.4.2, Windows
 * byte layout), FILETIME (MS-DTYP 2.3.3), the RopLogon LogonTime (MS-OXCROPS 2.2.3.1.2.1,
 * protocol.md 2.5) and folder/message ids (MS-OXCDATA 2.2.1.1, protocol.md 2.1).
 * Pure functions over struct rd / struct wr; nothing here allocates.
 */
#include "mbx/types.h"

#include <string.h>

/* --- GUID ------------------------------------------------------------------------------ */

void rd_guid(struct rd *r, struct mbx_guid *g, const char *what)
{
	rd_bytes(r, g->b, sizeof(g->b), what != NULL ? what : "GUID");
}

void wr_guid(struct wr *w, const struct mbx_guid *g)
{
	wr_bytes(w, g->b, sizeof(g->b));
}

bool mbx_guid_equal(const struct mbx_guid *a, const struct mbx_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool mbx_guid_is_null(const struct mbx_guid *g)
{
	for (size_t i = 0; i < sizeof(g->b); i++)
		if (g->b[i] != 0)
			return false;
	return true;
}

/*
 * The string form lists Data1, Data2 and Data3 as numbers (most significant digit first) and
 * Data4 byte by byte, so the first 8 wire bytes appear reversed in groups of 4, 2, 2. This
 * table gives, for each pair of hex digits of the string in order, the wire byte it shows.
 */
static const uint8_t guid_str_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

/* Byte k of the string (in guid_str_order) is preceded by a dash when k is one of these. */
static bool guid_dash_before(size_t k)
{
	return k == 4 || k == 6 || k == 8 || k == 10;
}

char *mbx_guid_to_str(const struct mbx_guid *g, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t k = 0; k < 16; k++) {
		uint8_t v = g->b[guid_str_order[k]];

		if (guid_dash_before(k))
			buf[o++] = '-';
		buf[o++] = hex[v >> 4];
		buf[o++] = hex[v & 0x0F];
	}
	buf[o] = '\0';
	return buf;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mbx_guid_from_str(const char *s, struct mbx_guid *g_r)
{
	struct mbx_guid g;
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == MBX_GUID_STRLEN + 2 && s[0] == '{' && s[len - 1] == '}') {
		s++;
		len -= 2;
	}
	if (len != MBX_GUID_STRLEN)
		return -1;
	for (size_t k = 0, i = 0; k < 16; k++) {
		int hi, lo;

		if (guid_dash_before(k) && s[i++] != '-')
			return -1;
		hi = hex_value(s[i++]);
		lo = hex_value(s[i++]);
		if (hi < 0 || lo < 0)
			return -1;
		g.b[guid_str_order[k]] = (uint8_t)(hi << 4 | lo);
	}
	*g_r = g;
	return 0;
}

/* --- FILETIME -------------------------------------------------------------------------- */

#define FT_PER_SEC 10000000ULL
#define NSEC_PER_SEC 1000000000L
/* Seconds from 1601-01-01 to 1970-01-01. */
#define FT_EPOCH_SECS ((int64_t)(MBX_FILETIME_UNIX_EPOCH / FT_PER_SEC))

uint64_t mbx_filetime_from_unix(time_t sec, long nsec)
{
	int64_t s = (int64_t)sec;
	uint64_t secs_since_1601;

	/* Normalise nsec into 0..999999999 (moving whole seconds into s, saturating). */
	if (nsec >= NSEC_PER_SEC || nsec <= -NSEC_PER_SEC) {
		long carry = nsec / NSEC_PER_SEC;

		nsec -= carry * NSEC_PER_SEC;
		if (carry > 0 && s > INT64_MAX - carry)
			return UINT64_MAX;
		if (carry < 0 && s < INT64_MIN - carry)
			return 0;
		s += carry;
	}
	if (nsec < 0) {
		if (s == INT64_MIN)
			return 0;
		nsec += NSEC_PER_SEC;
		s--;
	}
	if (s < -FT_EPOCH_SECS)
		return 0; /* before 1601: clamp to the FILETIME epoch */
	secs_since_1601 = (uint64_t)s + (uint64_t)FT_EPOCH_SECS; /* s >= -FT_EPOCH_SECS */
	if (secs_since_1601 > (UINT64_MAX - (uint64_t)nsec / 100) / FT_PER_SEC)
		return UINT64_MAX;
	return secs_since_1601 * FT_PER_SEC + (uint64_t)nsec / 100;
}

int mbx_filetime_to_unix(uint64_t ft, time_t *sec_r, long *nsec_r)
{
	uint64_t d, s;

	if (ft < MBX_FILETIME_UNIX_EPOCH)
		return -1;
	d = ft - MBX_FILETIME_UNIX_EPOCH;
	s = d / FT_PER_SEC;
	/* s <= 1.8e12, so it fits any 64-bit time_t; refuse if time_t is narrower. */
	if ((uint64_t)(time_t)s != s || (time_t)s < 0)
		return -1;
	if (sec_r != NULL)
		*sec_r = (time_t)s;
	if (nsec_r != NULL)
		*nsec_r = (long)(d % FT_PER_SEC) * 100;
	return 0;
}

/* --- LogonTime ------------------------------------------------------------------------- */

void mbx_logon_time_from_unix(time_t t, struct mbx_logon_time *lt_r)
{
	struct tm tm;

	memset(lt_r, 0, sizeof(*lt_r));
	if (gmtime_r(&t, &tm) == NULL)
		return;
	if (tm.tm_year < MBX_LOGON_TIME_YEAR_MIN - 1900 ||
	    tm.tm_year > MBX_LOGON_TIME_YEAR_MAX - 1900)
		return;
	lt_r->sec = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec); /* no leap second on the wire */
	lt_r->min = (uint8_t)tm.tm_min;
	lt_r->hour = (uint8_t)tm.tm_hour;
	lt_r->wday = (uint8_t)tm.tm_wday;
	lt_r->mday = (uint8_t)tm.tm_mday;
	lt_r->month = (uint8_t)(tm.tm_mon + 1);
	lt_r->year = (uint16_t)(tm.tm_year + 1900);
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned month, unsigned year)
{
	static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* The fields in wire order with their ranges; Day's upper bound is refined per month. */
static const struct {
	const char *name;
	unsigned min, max;
} logon_time_fields[7] = {
        {"Seconds", 0, 59},
        {"Minutes", 0, 59},
        {"Hour", 0, 23},
        {"DayOfWeek", 0, 6},
        {"Day", 1, 31},
        {"Month", 1, 12},
        {"Year", MBX_LOGON_TIME_YEAR_MIN, MBX_LOGON_TIME_YEAR_MAX},
};

static void logon_time_values(const struct mbx_logon_time *lt, unsigned v[7])
{
	v[0] = lt->sec;
	v[1] = lt->min;
	v[2] = lt->hour;
	v[3] = lt->wday;
	v[4] = lt->mday;
	v[5] = lt->month;
	v[6] = lt->year;
}

/* Returns the wire offset (0..6) of the first bad field and its upper bound, or -1. */
static int logon_time_check(const struct mbx_logon_time *lt, unsigned *max_r)
{
	unsigned v[7];

	logon_time_values(lt, v);
	for (int i = 0; i < 7; i++) {
		if (v[i] < logon_time_fields[i].min || v[i] > logon_time_fields[i].max) {
			*max_r = logon_time_fields[i].max;
			return i;
		}
	}
	if (lt->mday > days_in_month(lt->month, lt->year)) {
		*max_r = days_in_month(lt->month, lt->year);
		return 4;
	}
	return -1;
}

bool mbx_logon_time_valid(const struct mbx_logon_time *lt, const char **what_r)
{
	unsigned max;
	int bad = logon_time_check(lt, &max);

	if (bad >= 0 && what_r != NULL)
		*what_r = logon_time_fields[bad].name;
	return bad < 0;
}

void rd_logon_time(struct rd *r, struct mbx_logon_time *lt, const char *what)
{
	size_t start = rd_pos(r);
	struct mbx_logon_time t;
	unsigned v[7], max;
	int bad;

	if (what == NULL)
		what = "LogonTime";
	memset(lt, 0, sizeof(*lt));
	if (rd_left(r) < 8) {
		/* One message for the whole field rather than for whichever byte ran out. */
		rd_skip(r, 8, what);
		return;
	}
	t.sec = rd_u8(r, what);
	t.min = rd_u8(r, what);
	t.hour = rd_u8(r, what);
	t.wday = rd_u8(r, what);
	t.mday = rd_u8(r, what);
	t.month = rd_u8(r, what);
	t.year = rd_u16le(r, what);
	bad = logon_time_check(&t, &max);
	if (bad >= 0) {
		logon_time_values(&t, v);
		rd_fail_at(r, start + (size_t)bad, "%s: %s %u out of range %u..%u", what,
		           logon_time_fields[bad].name, v[bad], logon_time_fields[bad].min, max);
		return;
	}
	*lt = t;
}

void wr_logon_time(struct wr *w, const struct mbx_logon_time *lt)
{
	uint8_t b[8];

	b[0] = lt->sec;
	b[1] = lt->min;
	b[2] = lt->hour;
	b[3] = lt->wday;
	b[4] = lt->mday;
	b[5] = lt->month;
	mbx_put_le16(b + 6, lt->year);
	wr_bytes(w, b, sizeof(b));
}

/* --- FID ------------------------------------------------------------------------------- */

void rd_fid(struct rd *r, struct mbx_fid *f, const char *what)
{
	if (what == NULL)
		what = "FID";
	if (rd_left(r) < 8) {
		f->replid = 0;
		f->globcnt = 0;
		rd_skip(r, 8, what);
		return;
	}
	f->replid = rd_u16le(r, what);
	f->globcnt = rd_u48be(r, what);
}

void wr_fid(struct wr *w, struct mbx_fid f)
{
	uint8_t b[8];

	mbx_put_le16(b, f.replid);
	for (int i = 7; i >= 2; i--) {
		b[i] = (uint8_t)f.globcnt;
		f.globcnt >>= 8;
	}
	wr_bytes(w, b, sizeof(b));
}

uint64_t mbx_fid_to_u64(struct mbx_fid f)
{
	uint64_t v = (uint64_t)f.replid;

	/* Wire byte 2 + i holds GLOBCNT bits 47-8i..40-8i; as LE64 it lands at bits 16+8i. */
	for (int i = 0; i < 6; i++)
		v |= ((f.globcnt >> (40 - 8 * i)) & 0xFF) << (16 + 8 * i);
	return v;
}

struct mbx_fid mbx_fid_from_u64(uint64_t v)
{
	struct mbx_fid f = {(uint16_t)v, 0};

	for (int i = 0; i < 6; i++)
		f.globcnt = (f.globcnt << 8) | ((v >> (16 + 8 * i)) & 0xFF);
	return f;
}
