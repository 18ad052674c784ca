/*
 * tls-fixture.h: a TLS server context for unit tests that run a real TLS server in process
 * (test-httpd.c, test-httpd-review.c): a self-signed P-256 certificate for "localhost", made on
 * the spot, valid from a minute ago for an hour. Include after mbx-test.h.
 */
#ifndef MBX_TLS_FIXTURE_H
#define MBX_TLS_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static inline SSL_CTX *tls_fixture_server_ctx(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	SSL_CTX *ctx;

	assert_non_null(pkey);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
	                           -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

#endif
