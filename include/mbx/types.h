/*
 * types.h: small wire types shared by all MS-OX* codecs: GUID (MS-DTYP 2.3.4, Windows byte
 * layout), FILETIME (100 ns since 1601-01-01 UTC), the RopLogon LogonTime (MS-OXCROPS
 * 2.2.3.1.2.1) and folder ids (MS-OXCDATA 2.2.1.1: ReplId LE16 + GLOBCNT 48-bit big-endian).
 * Pure functions, no allocation.
 */
#ifndef MBX_TYPES_H
#define MBX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/wire.h"

/* A GUID as 16 bytes in wire order: Data1 LE32, Data2 LE16, Data3 LE16, Data4[8]. Keeping the
 * wire bytes avoids conversions in codecs; formatting reads the fields from them. */
struct mbx_guid {
	uint8_t b[16];
};

#define MBX_GUID_STRLEN 36 /* xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx */

void rd_guid(struct rd *r, struct mbx_guid *g, const char *what);
void wr_guid(struct wr *w, const struct mbx_guid *g);
bool mbx_guid_equal(const struct mbx_guid *a, const struct mbx_guid *b);
bool mbx_guid_is_null(const struct mbx_guid *g);
/* Formats lower-case "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (no braces) into buf, which must
 * hold MBX_GUID_STRLEN + 1 bytes. Returns buf. */
char *mbx_guid_to_str(const struct mbx_guid *g, char *buf);
/* Parses that form, with or without surrounding braces, any case. Rejects anything else
 * (one brace, whitespace, missing or extra digits, a misplaced dash). Returns 0 or -1; *g_r is
 * left untouched on failure. */
int mbx_guid_from_str(const char *s, struct mbx_guid *g_r);

/* FILETIME: 100-ns intervals since 1601-01-01 00:00:00 UTC. */
#define MBX_FILETIME_UNIX_EPOCH 116444736000000000ULL
/* nsec may be outside 0..999999999 (whole seconds are carried into sec); sub-100-ns digits
 * are dropped. Times before 1601 give 0, times past the FILETIME range give UINT64_MAX. */
uint64_t mbx_filetime_from_unix(time_t sec, long nsec);
/* Returns -1 if ft is before 1970 (or does not fit time_t). sec_r and nsec_r may be NULL. */
int mbx_filetime_to_unix(uint64_t ft, time_t *sec_r, long *nsec_r);

/* RopLogon LogonTime (MS-OXCROPS 2.2.3.1.2.1). */
struct mbx_logon_time {
	uint8_t sec, min, hour, wday, mday, month; /* month 1..12, wday Sunday = 0 */
	uint16_t year;
};

/* The years a LogonTime may carry: the range of the Windows SYSTEMTIME it mirrors. */
#define MBX_LOGON_TIME_YEAR_MIN 1601
#define MBX_LOGON_TIME_YEAR_MAX 30827

/* Breaks t down in UTC (protocol.md 2.5: gromox does the same; openchange uses local time).
 * If gmtime_r fails or the year is outside the range above, *lt_r is all zero, which
 * mbx_logon_time_valid rejects. */
void mbx_logon_time_from_unix(time_t t, struct mbx_logon_time *lt_r);
/* Reads the 8 bytes and validates them like mbx_logon_time_valid; a bad field fails r at that
 * field's offset ("LogonTime: Month 13 out of range 1..12"). *lt is all zero on failure. */
void rd_logon_time(struct rd *r, struct mbx_logon_time *lt, const char *what);
/* Writes the fields as they are (no validation: the caller built them). */
void wr_logon_time(struct wr *w, const struct mbx_logon_time *lt);
/* Checks the ranges of protocol.md 2.5 (Seconds/Minutes 0..59, Hour 0..23, DayOfWeek 0..6,
 * Month 1..12), the year range above, and Day 1..length of that month (leap years counted;
 * DayOfWeek is not cross-checked against the date). Returns false and names the first bad
 * field in *what_r ("Seconds", "Minutes", "Hour", "DayOfWeek", "Day", "Month", "Year");
 * what_r may be NULL. */
bool mbx_logon_time_valid(const struct mbx_logon_time *lt, const char **what_r);

/* Folder/message id: ReplId (16 bits) and GLOBCNT (48 bits). The wire form is ReplId LE16
 * followed by GLOBCNT as 48-bit big-endian. */
struct mbx_fid {
	uint16_t replid;
	uint64_t globcnt;
};

static inline struct mbx_fid mbx_fid_make(uint16_t replid, uint64_t globcnt)
{
	struct mbx_fid f = {replid, globcnt & 0xFFFFFFFFFFFFULL};
	return f;
}
/* Reads 8 bytes; *f is zero on failure. */
void rd_fid(struct rd *r, struct mbx_fid *f, const char *what);
/* Writes 8 bytes; GLOBCNT bits above 47 are dropped. */
void wr_fid(struct wr *w, struct mbx_fid f);
/* The 64-bit value a client sees when it reads the 8 wire bytes as a little-endian integer
 * (what logs and PidTagFolderId show). */
uint64_t mbx_fid_to_u64(struct mbx_fid f);
/* The inverse: mbx_fid_from_u64(mbx_fid_to_u64(f)) == f for every f with a 48-bit GLOBCNT. */
struct mbx_fid mbx_fid_from_u64(uint64_t v);

#endif
