/*
 * log.c: logging to stderr or syslog with levels, trace categories, stable event ids and an
 * optional hook for tests. See include/mbx/log.h.
 */
#include "mbx/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

unsigned mbx_log_trace_mask;

static enum mbx_log_level log_level = MBX_LOG_INFO;
static bool log_syslog;
static const char *log_ident = "mbxstore";
static mbx_log_hook_fn *log_hook;
static void *log_hook_ctx;

void mbx_log_open_stderr(const char *ident)
{
	if (log_syslog)
		closelog();
	log_syslog = false;
	log_ident = ident;
}

void mbx_log_open_syslog(const char *ident, int facility)
{
	log_ident = ident;
	openlog(ident, LOG_PID | LOG_NDELAY, facility);
	log_syslog = true;
}

void mbx_log_set_level(enum mbx_log_level level) { log_level = level; }
enum mbx_log_level mbx_log_get_level(void) { return log_level; }

void mbx_log_set_trace(unsigned mask, bool on)
{
	if (on)
		mbx_log_trace_mask |= mask;
	else
		mbx_log_trace_mask &= ~mask;
}

unsigned mbx_log_get_trace(void) { return mbx_log_trace_mask; }

static const struct {
	unsigned cat;
	const char *name;
} trace_names[] = {
	{MBX_TRACE_ROP, "rop"},
	{MBX_TRACE_HTTP, "http"},
	{MBX_TRACE_LDAP, "ldap"},
	{MBX_TRACE_STORE, "store"},
};

int mbx_trace_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
		if (strcasecmp(name, trace_names[i].name) == 0)
			return (int)trace_names[i].cat;
	return -1;
}

const char *mbx_trace_name(unsigned cat)
{
	for (size_t i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
		if (trace_names[i].cat == cat)
			return trace_names[i].name;
	return NULL;
}

void mbx_log_set_hook(mbx_log_hook_fn *fn, void *ctx)
{
	log_hook = fn;
	log_hook_ctx = ctx;
}

static const char *const level_names[] = {"error", "warning", "notice", "info", "debug"};

void mbx_vlog(enum mbx_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_hook != NULL)
		log_hook(log_hook_ctx, level, line);
	if (log_syslog) {
		syslog(syslog_prio[level], "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp, ts.tv_nsec / 1000000, log_ident,
			level_names[level], line);
	}
}

void mbx_log(enum mbx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mbx_vlog(level, fmt, ap);
	va_end(ap);
}

static const struct {
	enum mbx_event ev;
	const char *name;
	enum mbx_log_level level;
} events[] = {
#define MBX_EVENT_ROW(id, name, level, text) {MBX_EV_##name, #name, level},
	MBX_EVENT_LIST(MBX_EVENT_ROW)
#undef MBX_EVENT_ROW
};

const char *mbx_event_name(enum mbx_event ev)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].ev == ev)
			return events[i].name;
	return "UNKNOWN_EVENT";
}

void mbx_log_event(enum mbx_event ev, const char *fmt, ...)
{
	enum mbx_log_level level = MBX_LOG_NOTICE;
	char text[1800];
	va_list ap;

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].ev == ev)
			level = events[i].level;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mbx_log(level, "event=%d %s: %s", (int)ev, mbx_event_name(ev), text);
}

static bool escape_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

const char *mbx_log_escape(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t lim, total = 0, k = 0;

	if (size == 0)
		return buf;
	lim = size - 1;
	for (size_t i = 0; i < len; i++)
		total += escape_plain((unsigned char)s[i]) ? 1 : 4;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = escape_plain(c);
		size_t need = plain ? 1 : 4;
		/* When the whole string does not fit, keep room for the "..." that marks the cut. */
		size_t reserve = total > lim ? 3 : 0;

		if (lim - k < need + reserve) {
			if (lim - k >= 3) {
				memcpy(buf + k, "...", 3);
				k += 3;
			}
			break;
		}
		if (plain) {
			buf[k++] = (char)c;
		} else {
			buf[k++] = '\\';
			buf[k++] = 'x';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
	}
	buf[k] = '\0';
	return buf;
}
