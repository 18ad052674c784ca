/*
 * ad-response.c: the Autodiscover POX answers ([MS-OXDSCLI] 2.2.4, protocol.md 7.4-7.6):
 * settings, redirectUrl, redirectAddr and the error response. Pure: strings in, a malloc'ed
 * document out. A small growing buffer with a sticky out-of-memory flag, and one escaping
 * routine that every text value goes through, so that the output is well-formed XML whatever
 * the directory or the client put into the strings.
 */
#include "mbx/autodiscover.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adw {
	char *data;
	size_t len, cap;
	bool oom;
};

static void adw_raw(struct adw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->cap - w->len < n + 1) {
		size_t cap = w->cap != 0 ? w->cap : 1024;
		char *p;

		while (cap - w->len < n + 1) {
			if (cap > SIZE_MAX / 2) {
				w->oom = true;
				return;
			}
			cap *= 2;
		}
		p = realloc(w->data, cap);
		if (p == NULL) {
			w->oom = true;
			return;
		}
		w->data = p;
		w->cap = cap;
	}
	memcpy(w->data + w->len, s, n);
	w->len += n;
	w->data[w->len] = '\0';
}

static void adw_str(struct adw *w, const char *s)
{
	adw_raw(w, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at s[0..n) that XML 1.0 allows (Char production:
 * #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), or 0. */
static size_t utf8_xml_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	uint32_t cp;
	size_t len;

	if (c < 0x80)
		return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0; /* overlong or out of range */
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return len;
}

/* Text or attribute value: escaped, invalid bytes replaced by U+FFFD. NULL writes nothing. */
static void adw_text(struct adw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	while (n > 0) {
		size_t k = utf8_xml_char(p, n);

		if (k == 0) {
			adw_str(w, "\xEF\xBF\xBD");
			p++;
			n--;
			continue;
		}
		switch (*p) {
		case '&':
			adw_str(w, "&amp;");
			break;
		case '<':
			adw_str(w, "&lt;");
			break;
		case '>':
			adw_str(w, "&gt;");
			break;
		case '"':
			adw_str(w, "&quot;");
			break;
		case '\'':
			adw_str(w, "&apos;");
			break;
		case '\r':
			adw_str(w, "&#13;"); /* kept through end-of-line normalisation */
			break;
		default:
			adw_raw(w, (const char *)p, k);
		}
		p += k;
		n -= k;
	}
}

/* <name>text</name> when text is not NULL. */
static void adw_elem(struct adw *w, const char *name, const char *text)
{
	if (text == NULL)
		return;
	adw_str(w, "<");
	adw_str(w, name);
	adw_str(w, ">");
	adw_text(w, text);
	adw_str(w, "</");
	adw_str(w, name);
	adw_str(w, ">");
}

static char *adw_finish(struct adw *w, size_t *len_r)
{
	if (w->oom || w->data == NULL) {
		free(w->data);
		return NULL;
	}
	if (len_r != NULL)
		*len_r = w->len;
	return w->data;
}

static void adw_open(struct adw *w, bool outlook_response)
{
	adw_str(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	           "<Autodiscover xmlns=\"" MBX_AD_NS_RESPONSE "\">");
	if (outlook_response)
		adw_str(w, "<Response xmlns=\"" MBX_AD_NS_OUTLOOK "\">");
	else
		adw_str(w, "<Response>");
}

static void adw_close(struct adw *w)
{
	adw_str(w, "</Response></Autodiscover>\r\n");
}

char *mbx_ad_response_settings(const struct mbx_ad_settings *s, size_t *len_r)
{
	struct adw w = {0};
	char ver[16];

	adw_open(&w, true);
	adw_str(&w, "<User>");
	adw_elem(&w, "DisplayName", s->display_name);
	adw_elem(&w, "LegacyDN", s->legacy_dn);
	adw_elem(&w, "AutoDiscoverSMTPAddress", s->smtp);
	adw_str(&w, "</User><Account><AccountType>email</AccountType><Action>settings</Action>");
	if (s->mapihttp_version > 0) {
		snprintf(ver, sizeof(ver), "%u", s->mapihttp_version);
		adw_str(&w, "<Protocol Type=\"mapiHttp\" Version=\"");
		adw_str(&w, ver);
		adw_str(&w, "\"><MailStore>");
		adw_elem(&w, "InternalUrl", s->mailstore_url);
		adw_elem(&w, "ExternalUrl", s->mailstore_url);
		adw_str(&w, "</MailStore></Protocol>");
	} else {
		adw_str(&w, "<Protocol><Type>EXCH</Type>");
		adw_elem(&w, "Server", s->exch_server);
		adw_elem(&w, "ServerDN", s->server_dn);
		adw_elem(&w, "MdbDN", s->mdb_dn);
		adw_str(&w, "<AuthPackage>Basic</AuthPackage></Protocol>");
		adw_str(&w, "<Protocol><Type>EXPR</Type>");
		adw_elem(&w, "Server", s->expr_server);
		adw_elem(&w, "SSL", s->expr_ssl ? "On" : "Off");
		adw_str(&w, "<AuthPackage>Basic</AuthPackage></Protocol>");
	}
	adw_str(&w, "</Account>");
	adw_close(&w);
	return adw_finish(&w, len_r);
}

static char *ad_redirect(const char *action, const char *elem, const char *value, size_t *len_r)
{
	struct adw w = {0};

	adw_open(&w, true);
	adw_str(&w, "<Account><AccountType>email</AccountType>");
	adw_elem(&w, "Action", action);
	adw_elem(&w, elem, value != NULL ? value : "");
	adw_str(&w, "</Account>");
	adw_close(&w);
	return adw_finish(&w, len_r);
}

char *mbx_ad_response_redirect_url(const char *url, size_t *len_r)
{
	return ad_redirect("redirectUrl", "RedirectUrl", url, len_r);
}

char *mbx_ad_response_redirect_addr(const char *addr, size_t *len_r)
{
	return ad_redirect("redirectAddr", "RedirectAddr", addr, len_r);
}

const char *mbx_ad_error_message(int code)
{
	switch (code) {
	case MBX_AD_ERR_NO_MAILBOX:
		return "The e-mail address cannot be found.";
	case MBX_AD_ERR_NO_SETTINGS:
		return "The e-mail address is known, but there are no settings for it.";
	case MBX_AD_ERR_INVALID:
		return "Invalid Request";
	case MBX_AD_ERR_SCHEMA:
		return "The requested response schema is not available.";
	case MBX_AD_ERR_CONFIG:
		return "The configuration for this e-mail address is in error.";
	default:
		return "Internal Server Error";
	}
}

char *mbx_ad_response_error(int code, const char *debug, const struct timespec *now,
                            uint32_t server_id, size_t *len_r)
{
	struct adw w = {0};
	struct tm tm;
	char attrs[96], num[16];
	time_t sec = now->tv_sec;
	long frac = now->tv_nsec / 100;

	if (frac < 0 || frac > 9999999)
		frac = 0;
	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(attrs, sizeof(attrs), " Time=\"%02d:%02d:%02d.%07ld\" Id=\"%lu\"", tm.tm_hour,
	         tm.tm_min, tm.tm_sec, frac, (unsigned long)server_id);
	snprintf(num, sizeof(num), "%d", code);
	adw_open(&w, false);
	adw_str(&w, "<Error");
	adw_str(&w, attrs);
	adw_str(&w, ">");
	adw_elem(&w, "ErrorCode", num);
	adw_elem(&w, "Message", mbx_ad_error_message(code));
	if (debug != NULL && debug[0] != '\0')
		adw_elem(&w, "DebugData", debug);
	else
		adw_str(&w, "<DebugData />");
	adw_str(&w, "</Error>");
	adw_close(&w);
	return adw_finish(&w, len_r);
}

uint32_t mbx_ad_server_id(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)(name != NULL ? name : ""); *p != 0;
	     p++) {
		h ^= (uint32_t)tolower(*p);
		h *= 16777619u;
	}
	return h;
}
