/*
 * bench-target.c: the targets of mbxbench(1): an http:// or https:// URL of a MAPI/HTTP
 * mailbox endpoint ([MS-OXCMAPIHTTP] 2.2.1; protocol.md 5.1) taken apart into what the client
 * needs (address, Host header, path, TLS name), and the client TLS context it connects with.
 */
#include "mbxbench.h"

#include <netdb.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/err.h>

int bench_target_parse(struct bench_target *t, const char *name, const char *url, char *err,
                       size_t errsize)
{
	struct evhttp_uri *u;
	const char *scheme, *host, *path, *query;
	int port;
	char portstr[8];
	struct addrinfo hints, *ai = NULL;
	bool v6;
	int rc = -1, gai;

	memset(t, 0, sizeof(*t));
	t->name = name;
	if (strlen(url) >= sizeof(t->url)) {
		snprintf(err, errsize, "the URL is too long");
		return -1;
	}
	snprintf(t->url, sizeof(t->url), "%s", url);
	u = evhttp_uri_parse_with_flags(url, 0);
	if (u == NULL) {
		snprintf(err, errsize, "cannot parse the URL %s", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		snprintf(err, errsize, "the URL must start with http:// or https://");
		goto out;
	}
	t->tls = strcasecmp(scheme, "https") == 0;
	if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof(t->host)) {
		snprintf(err, errsize, "the URL has no host");
		goto out;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	if (port < 0)
		port = t->tls ? 443 : 80;
	if (port == 0 || port > 65535) {
		snprintf(err, errsize, "bad port in the URL");
		goto out;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	v6 = strchr(host, ':') != NULL;
	if (port == (t->tls ? 443 : 80))
		snprintf(t->hostport, sizeof(t->hostport), v6 ? "[%s]" : "%s", host);
	else
		snprintf(t->hostport, sizeof(t->hostport), v6 ? "[%s]:%s" : "%s:%s", host, portstr);
	if (path == NULL || path[0] == '\0')
		path = "/mapi/emsmdb/";
	if ((size_t)snprintf(t->path, sizeof(t->path), "%s%s%s", path, query != NULL ? "?" : "",
	                     query != NULL ? query : "") >= sizeof(t->path)) {
		snprintf(err, errsize, "the URL path is too long");
		goto out;
	}
	for (const char *p = t->path; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F) {
			snprintf(err, errsize, "the URL path holds a blank or a non-ASCII byte");
			goto out;
		}
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	gai = getaddrinfo(host, portstr, &hints, &ai);
	if (gai != 0 || ai == NULL) {
		snprintf(err, errsize, "cannot resolve %s: %s", host, gai_strerror(gai));
		goto out;
	}
	if (ai->ai_addrlen > sizeof(t->addr)) {
		snprintf(err, errsize, "address of %s too long", host);
		goto out;
	}
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->addrlen = (socklen_t)ai->ai_addrlen;
	rc = 0;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	evhttp_uri_free(u);
	return rc;
}

SSL_CTX *bench_tls_client_ctx(bool insecure, const char *ca_file, char *err, size_t errsize)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(err, errsize, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			snprintf(err, errsize, "cannot load CA file %s: %s", ca_file,
			         ERR_reason_error_string(ERR_peek_last_error()));
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errsize, "cannot load the system CA store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
