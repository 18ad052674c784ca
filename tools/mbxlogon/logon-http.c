/*
 * logon-http.c: mbxlogon's HTTP client, one libcurl easy handle used for one request at a time
 * ([MS-OXCMAPIHTTP] 2.2.1 transport, 2.2.3.3 headers; protocol.md 5.2, 5.3, 7.1): POST over
 * TLS (--ca-file or --insecure), HTTP Basic authentication, libcurl's cookie engine for the
 * MapiContext / MapiSequence session cookies (protocol.md 5.3), the X-ResponseCode and
 * Location headers, and a response body bounded by LOGON_HTTP_BODY_MAX. libcurl de-chunks the
 * chunked Execute responses; redirects are not followed here (the caller decides).
 */
#include "mbxlogon.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mbx/mapihttp.h"

struct logon_http {
	CURL *curl;
	struct curl_slist *connect_to;
	struct logon_http_rsp *rsp; /* the response being received */
	uint8_t *body;
	size_t len, cap;
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static bool http_global_done;

static size_t http_body_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct logon_http *h = ctx;
	size_t n = size * nmemb;

	if (n > LOGON_HTTP_BODY_MAX - h->len) {
		h->too_big = true;
		return 0; /* libcurl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap > 0 ? h->cap : 4096;
		uint8_t *p;

		while (cap < h->len + n + 1)
			cap *= 2;
		p = realloc(h->body, cap);
		if (p == NULL)
			return 0;
		h->body = p;
		h->cap = cap;
	}
	memcpy(h->body + h->len, data, n);
	h->len += n;
	h->body[h->len] = 0;
	return n;
}

/* Copies a header value without the line end and surrounding blanks into dst; false if it does
 * not fit. */
static bool http_header_value(const char *v, size_t n, char *dst, size_t size)
{
	while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		n--;
	}
	while (n > 0 &&
	       (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= size) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* "Name:" at the start of a header line (case-insensitive); returns the value's offset or 0. */
static size_t http_header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return 0;
	return k + 1;
}

/* Does a Set-Cookie value set the cookie `name` (name=value, value not empty)? */
static bool http_sets_cookie(const char *v, size_t n, const char *name)
{
	size_t k = strlen(name);

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	return n > k + 1 && strncmp(v, name, k) == 0 && v[k] == '=' && v[k + 1] != ';' &&
	       v[k + 1] != '\r' && v[k + 1] != '\n';
}

static size_t http_header_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct logon_http *h = ctx;
	struct logon_http_rsp *rsp = h->rsp;
	size_t n = size * nmemb, at;
	char val[32];

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new status line (also after a 100 Continue): forget the headers before it. */
		rsp->has_rc = false;
		rsp->rc = 0;
		rsp->rc_bad = false;
		rsp->location[0] = '\0';
		rsp->content_type[0] = '\0';
		rsp->set_context = false;
		rsp->set_sequence = false;
		if (logon_verbose) {
			char line[256];

			http_header_value(data, n < sizeof(line) ? n : sizeof(line) - 1, line,
			                  sizeof(line));
			logon_trace("< %s", line);
		}
		return n;
	}
	if ((at = http_header_is(data, n, "X-ResponseCode")) != 0) {
		char *end;
		unsigned long v;

		rsp->has_rc = true;
		if (!http_header_value(data + at, n - at, val, sizeof(val)) || val[0] < '0' ||
		    val[0] > '9') {
			rsp->rc_bad = true;
			return n;
		}
		v = strtoul(val, &end, 10);
		if (*end != '\0' || v > UINT32_MAX)
			rsp->rc_bad = true;
		else
			rsp->rc = (uint32_t)v;
	} else if ((at = http_header_is(data, n, "Location")) != 0) {
		http_header_value(data + at, n - at, rsp->location, sizeof(rsp->location));
	} else if ((at = http_header_is(data, n, "Content-Type")) != 0) {
		http_header_value(data + at, n - at, rsp->content_type, sizeof(rsp->content_type));
	} else if ((at = http_header_is(data, n, "Set-Cookie")) != 0) {
		if (http_sets_cookie(data + at, n - at, MBX_MH_COOKIE_CONTEXT))
			rsp->set_context = true;
		if (http_sets_cookie(data + at, n - at, MBX_MH_COOKIE_SEQUENCE))
			rsp->set_sequence = true;
	}
	return n;
}

struct logon_http *logon_http_new(const struct logon_opts *o, char *err, size_t errsize)
{
	struct logon_http *h;
	CURL *c;
	CURLcode e = CURLE_OK;

	if (!http_global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errsize, "libcurl cannot be initialised");
			return NULL;
		}
		http_global_done = true;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
		free(h);
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	c = h->curl;
	for (unsigned i = 0; i < o->nconnect_to; i++) {
		struct curl_slist *l = curl_slist_append(h->connect_to, o->connect_to[i]);

		if (l == NULL) {
			snprintf(err, errsize, "out of memory");
			logon_http_free(&h);
			return NULL;
		}
		h->connect_to = l;
	}
#define HTTP_SET(opt, val)                                                                         \
	do {                                                                                       \
		if (e == CURLE_OK)                                                                 \
			e = curl_easy_setopt(c, opt, val);                                         \
	} while (0)
	HTTP_SET(CURLOPT_ERRORBUFFER, h->errbuf);
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SET(CURLOPT_TIMEOUT, (long)o->timeout);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT, (long)(o->timeout < 10 ? o->timeout : 10));
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_body_cb);
	HTTP_SET(CURLOPT_WRITEDATA, h);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SET(CURLOPT_HEADERDATA, h);
	HTTP_SET(CURLOPT_COOKIEFILE, ""); /* the cookie engine, in memory only */
	HTTP_SET(CURLOPT_USERAGENT, "mbxlogon/" MBX_VERSION);
	HTTP_SET(CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
	HTTP_SET(CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
	HTTP_SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_file != NULL)
		HTTP_SET(CURLOPT_CAINFO, o->ca_file);
	if (h->connect_to != NULL)
		HTTP_SET(CURLOPT_CONNECT_TO, h->connect_to);
	if (o->user != NULL) {
		HTTP_SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		HTTP_SET(CURLOPT_USERNAME, o->user);
		HTTP_SET(CURLOPT_PASSWORD, o->password != NULL ? o->password : "");
	}
#undef HTTP_SET
	if (e != CURLE_OK) {
		snprintf(err, errsize, "libcurl option: %s", curl_easy_strerror(e));
		logon_http_free(&h);
		return NULL;
	}
	return h;
}

void logon_http_free(struct logon_http **hp)
{
	struct logon_http *h = *hp;

	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->connect_to);
	free(h->body);
	free(h);
	*hp = NULL;
}

void logon_http_clear_cookies(struct logon_http *h)
{
	curl_easy_setopt(h->curl, CURLOPT_COOKIELIST, "ALL");
}

int logon_http_post(struct logon_http *h, const char *url, const char *const *headers,
                    const void *body, size_t len, struct logon_http_rsp *rsp_r)
{
	struct curl_slist *hl = NULL;
	CURLcode e;
	long status = 0;

	memset(rsp_r, 0, sizeof(*rsp_r));
	h->rsp = rsp_r;
	h->len = 0;
	h->too_big = false;
	h->errbuf[0] = '\0';
	/* No "Expect: 100-continue" round trip. */
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; hl != NULL && headers != NULL && headers[i] != NULL; i++) {
		struct curl_slist *l = curl_slist_append(hl, headers[i]);

		if (l == NULL) {
			curl_slist_free_all(hl);
			hl = NULL;
			break;
		}
		hl = l;
	}
	if (hl == NULL) {
		snprintf(rsp_r->err, sizeof(rsp_r->err), "out of memory");
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	logon_trace("> POST %s (%zu bytes)", url, len);
	e = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	h->rsp = NULL;
	rsp_r->body = h->body;
	rsp_r->len = h->len;
	if (e != CURLE_OK) {
		if (h->too_big)
			snprintf(rsp_r->err, sizeof(rsp_r->err),
			         "the response body is larger than %u bytes", LOGON_HTTP_BODY_MAX);
		else
			snprintf(rsp_r->err, sizeof(rsp_r->err), "%s",
			         h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(e));
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	rsp_r->status = status;
	if (rsp_r->body == NULL) {
		static uint8_t empty[1];

		rsp_r->body = empty;
	}
	return 0;
}
