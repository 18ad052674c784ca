/*
 * log.h: the one log module (conventions.md "Logging"): to syslog or stderr, printf-checked,
 * with levels and trace categories that can be switched at run time (mbxctl trace). Events that
 * Exchange administrators know carry a stable event id (documented in mbxstored(8)); the ids
 * live in the MBX_EVENT_LIST below so code, tests and docs share them.
 *
 * Client-supplied strings are escaped with mbx_log_escape() before they go into a line.
 */
#ifndef MBX_LOG_H
#define MBX_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum mbx_log_level {
	MBX_LOG_ERROR,
	MBX_LOG_WARNING,
	MBX_LOG_NOTICE,
	MBX_LOG_INFO,
	MBX_LOG_DEBUG,
};

/* Trace categories, off by default; a bit mask. */
enum mbx_trace {
	MBX_TRACE_ROP = 1 << 0,
	MBX_TRACE_HTTP = 1 << 1,
	MBX_TRACE_LDAP = 1 << 2,
	MBX_TRACE_STORE = 1 << 3,
};

/* Stable event ids: X(id, NAME, level, "what it means"). Ids mirror the Exchange ones where
 * Exchange has one (9548, 1022, 1023, 9660), so an administrator recognises them. */
#define MBX_EVENT_LIST(X)                                                                      \
	X(9548, NO_MASTER_ACCOUNT_SID, MBX_LOG_WARNING,                                        \
	  "disabled user has no master account SID")                                           \
	X(1022, LOGON_FAILURE, MBX_LOG_ERROR, "logon failure on a mailbox")                   \
	X(1023, LOGON_FAILURE_AUDIT, MBX_LOG_WARNING,                                          \
	  "validated principal could not log on to an object without a mailbox")              \
	X(9660, LOGON_IN_TRANSIT, MBX_LOG_NOTICE, "logon refused: mailbox is being moved")    \
	X(2101, DIR_SERVER_DOWN, MBX_LOG_ERROR, "directory server unreachable")              \
	X(2102, DIR_FAILOVER, MBX_LOG_WARNING, "directory lookups moved to another server")  \
	X(2103, DIR_RECOVERED, MBX_LOG_NOTICE, "directory server reachable again")           \
	X(2104, DIR_ALL_DOWN, MBX_LOG_ERROR, "no directory server reachable")                \
	X(2105, SID_AMBIGUOUS, MBX_LOG_WARNING, "a SID is held by more than one object")     \
	X(1006, MOVE_STARTED, MBX_LOG_NOTICE, "mailbox move started")                         \
	X(1007, MOVE_COMPLETED, MBX_LOG_NOTICE, "mailbox move completed")                     \
	X(1008, MOVE_ABORTED, MBX_LOG_NOTICE, "mailbox move aborted")                         \
	X(1009, MOVE_REFUSED, MBX_LOG_ERROR, "mailbox move refused")

enum mbx_event {
#define MBX_EVENT_ENUM(id, name, level, text) MBX_EV_##name = (id),
	MBX_EVENT_LIST(MBX_EVENT_ENUM)
#undef MBX_EVENT_ENUM
};

/* Where lines go. ident is the syslog identity ("mbxstored"). */
void mbx_log_open_stderr(const char *ident);
void mbx_log_open_syslog(const char *ident, int facility);
/* Lines at or below level are written (default MBX_LOG_INFO). */
void mbx_log_set_level(enum mbx_log_level level);
enum mbx_log_level mbx_log_get_level(void);
void mbx_log_set_trace(unsigned mask, bool on);
unsigned mbx_log_get_trace(void);
static inline bool mbx_trace_on(unsigned cat)
{
	extern unsigned mbx_log_trace_mask;
	return (mbx_log_trace_mask & cat) != 0;
}
/* Names for config files and mbxctl: "rop", "http", "ldap", "store"; -1/NULL if unknown. */
int mbx_trace_from_name(const char *name);
const char *mbx_trace_name(unsigned cat);

/* Optional hook that sees every line written (tests capture lines through it). */
typedef void mbx_log_hook_fn(void *ctx, enum mbx_log_level level, const char *line);
void mbx_log_set_hook(mbx_log_hook_fn *fn, void *ctx);

void mbx_log(enum mbx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbx_vlog(enum mbx_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* "event=<id> <NAME>: <text>" at the event's level. */
void mbx_log_event(enum mbx_event ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Trace line in a category, written only when that category is on. */
#define mbx_trace(cat, ...)                                                                    \
	do {                                                                                   \
		if (mbx_trace_on(cat))                                                         \
			mbx_log(MBX_LOG_DEBUG, __VA_ARGS__);                                   \
	} while (0)

const char *mbx_event_name(enum mbx_event ev);

/* Escapes an untrusted string for a log line: printable ASCII except '"' and '\\' is kept,
 * everything else becomes \xNN; the result is cut at size-1 bytes with "..." at the end when
 * truncated. Returns buf. */
const char *mbx_log_escape(const char *s, size_t len, char *buf, size_t size);

#endif
