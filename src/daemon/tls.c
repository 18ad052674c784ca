/*
 * tls.c: the daemon's OpenSSL server context (include/mbx/daemon.h "TLS", mbxstored(8) FILES,
 * mbxstored.conf(5) [listen] tls_*): TLS 1.2 and 1.3 only, the certificate chain and key from
 * the configuration or, when none is configured, a self-signed certificate made on the first
 * start in state_dir; a reload swaps in a new SSL_CTX for new connections while open ones keep
 * theirs (SSL_new takes a reference on its context).
 */
#include "mbx/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mbx/config.h"
#include "mbx/log.h"

struct mbx_tls {
	SSL_CTX *ctx;
	char *cert_file;
	char *key_file;
	long owner_uid, owner_gid;
};

/* The first OpenSSL error queued, or "unknown error"; the queue is emptied. */
static const char *tls_ossl_error(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* --- the self-signed certificate ------------------------------------------------------------ */

static int tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *tls_self_cert(EVP_PKEY *key, const char *name)
{
	X509 *x = X509_new();
	X509_NAME *subject;
	BIGNUM *serial = BN_new();
	char san[200], lower[MBX_CONFIG_NAME_MAX + 1];
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	lower[i] = '\0';
	snprintf(san, sizeof(san), "DNS:localhost,DNS:%s,IP:127.0.0.1", lower);
	if (x == NULL || serial == NULL)
		goto fail;
	/* A positive random serial of 127 bits (RFC 5280 4.1.2.2: at most 20 bytes). */
	if (!X509_set_version(x, 2) || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)MBX_TLS_SELF_DAYS * 86400) == NULL)
		goto fail;
	subject = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)name,
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key))
		goto fail;
	if (tls_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_add_ext(x, NID_key_usage, "critical,digitalSignature") != 0 ||
	    tls_add_ext(x, NID_ext_key_usage, "serverAuth") != 0 ||
	    tls_add_ext(x, NID_subject_key_identifier, "hash") != 0 ||
	    tls_add_ext(x, NID_subject_alt_name, san) != 0)
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/* Writes a PEM file through path.tmp (mode), fsync, rename. is_key: key, else certificate. */
static int tls_write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err,
			 size_t errsize)
{
	char tmp[4200];
	FILE *f;
	int fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errsize, "%s: path too long", path);
		return -1;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		char e[256];

		snprintf(err, errsize, "%s: %s", tmp,
			 ok ? strerror(errno) : tls_ossl_error(e, sizeof(e)));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int mbx_tls_make_self_signed(const char *name, const char *cert_path, const char *key_path,
			     char *err, size_t errsize)
{
	EVP_PKEY *key;
	X509 *cert = NULL;
	char e[256];
	int rc = -1;

	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		snprintf(err, errsize, "cannot make an EC P-256 key: %s", tls_ossl_error(e, sizeof(e)));
		return -1;
	}
	cert = tls_self_cert(key, name);
	if (cert == NULL) {
		snprintf(err, errsize, "cannot make a self-signed certificate: %s",
			 tls_ossl_error(e, sizeof(e)));
		goto out;
	}
	/* The key first: a certificate without its key is never left behind. */
	if (tls_write_pem(key_path, 0600, key, NULL, err, errsize) != 0 ||
	    tls_write_pem(cert_path, 0644, NULL, cert, err, errsize) != 0)
		goto out;
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* --- the context -------------------------------------------------------------------------- */

/* ALPN: the server speaks HTTP/1.1 only; choose it when offered, else negotiate no protocol. */
static int tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = "\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_ctx_new(const struct mbx_config *cfg, const char *cert, const char *key,
			    char *err, size_t errsize)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int min = cfg->listen.tls_min_version == TLS1_3_VERSION ? TLS1_3_VERSION : TLS1_2_VERSION;
	struct stat st;
	char e[256];

	ERR_clear_error();
	if (ctx == NULL) {
		snprintf(err, errsize, "SSL_CTX_new: %s", tls_ossl_error(e, sizeof(e)));
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, min) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		snprintf(err, errsize, "cannot limit TLS versions: %s", tls_ossl_error(e, sizeof(e)));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"mbxstored", 9);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	if (cfg->listen.tls_ciphers != NULL &&
	    !SSL_CTX_set_cipher_list(ctx, cfg->listen.tls_ciphers)) {
		snprintf(err, errsize, "tls_ciphers \"%s\": %s", cfg->listen.tls_ciphers,
			 tls_ossl_error(e, sizeof(e)));
		goto fail;
	}
	if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
		snprintf(err, errsize, "%s: cannot load the certificate chain: %s", cert,
			 tls_ossl_error(e, sizeof(e)));
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
		snprintf(err, errsize, "%s: cannot load the private key: %s", key,
			 tls_ossl_error(e, sizeof(e)));
		goto fail;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
		snprintf(err, errsize, "%s does not belong to the certificate %s: %s", key, cert,
			 tls_ossl_error(e, sizeof(e)));
		goto fail;
	}
	if (stat(key, &st) == 0 && (st.st_mode & 0077) != 0)
		mbx_log(MBX_LOG_WARNING, "tls: %s can be read by others than its owner (mode %04o)",
			key, (unsigned)(st.st_mode & 07777));
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The certificate and key to use: configured, or the self-signed pair (made when missing). */
static int tls_files(struct mbx_tls *t, const struct mbx_config *cfg, char *err, size_t errsize)
{
	char cert[4200], key[4200];
	const char *dir = cfg->server.state_dir;
	bool have_cert, have_key;

	if (cfg->listen.tls_cert != NULL) {
		t->cert_file = strdup(cfg->listen.tls_cert);
		t->key_file = strdup(cfg->listen.tls_key);
		goto done;
	}
	if (dir == NULL) {
		snprintf(err, errsize, "no tls_cert and no state_dir for a self-signed certificate");
		return -1;
	}
	snprintf(cert, sizeof(cert), "%s/%s", dir, MBX_TLS_SELF_CERT);
	snprintf(key, sizeof(key), "%s/%s", dir, MBX_TLS_SELF_KEY);
	have_cert = access(cert, F_OK) == 0;
	have_key = access(key, F_OK) == 0;
	if (!have_cert || !have_key) {
		if (mkdir(dir, 0750) == 0) {
			/* made here: it belongs to the daemon's user, as the files in it */
			if (t->owner_uid >= 0 &&
			    chown(dir, (uid_t)t->owner_uid, (gid_t)t->owner_gid) != 0) {
				snprintf(err, errsize, "state_dir %s: chown: %s", dir,
					 strerror(errno));
				return -1;
			}
		} else if (errno != EEXIST) {
			snprintf(err, errsize, "state_dir %s: %s", dir, strerror(errno));
			return -1;
		}
		if (mbx_tls_make_self_signed(cfg->server.name, cert, key, err, errsize) != 0)
			return -1;
		if (t->owner_uid >= 0 &&
		    (chown(key, (uid_t)t->owner_uid, (gid_t)t->owner_gid) != 0 ||
		     chown(cert, (uid_t)t->owner_uid, (gid_t)t->owner_gid) != 0)) {
			snprintf(err, errsize, "%s: chown: %s", key, strerror(errno));
			return -1;
		}
		mbx_log(MBX_LOG_NOTICE,
			"tls: made a self-signed certificate for %s in %s (clients must be told to "
			"trust it; set tls_cert and tls_key for a real one)",
			cfg->server.name, cert);
	}
	t->cert_file = strdup(cert);
	t->key_file = strdup(key);
done:
	if (t->cert_file == NULL || t->key_file == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

struct mbx_tls *mbx_tls_new(const struct mbx_config *cfg, long owner_uid, long owner_gid,
			    char *err, size_t errsize)
{
	struct mbx_tls *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	t->owner_uid = owner_uid;
	t->owner_gid = owner_gid;
	if (tls_files(t, cfg, err, errsize) != 0) {
		mbx_tls_free(&t);
		return NULL;
	}
	t->ctx = tls_ctx_new(cfg, t->cert_file, t->key_file, err, errsize);
	if (t->ctx == NULL) {
		mbx_tls_free(&t);
		return NULL;
	}
	return t;
}

int mbx_tls_reload(struct mbx_tls *t, const struct mbx_config *cfg, char *err, size_t errsize)
{
	struct mbx_tls fresh = {.owner_uid = t->owner_uid, .owner_gid = t->owner_gid};

	if (tls_files(&fresh, cfg, err, errsize) != 0)
		goto fail;
	fresh.ctx = tls_ctx_new(cfg, fresh.cert_file, fresh.key_file, err, errsize);
	if (fresh.ctx == NULL)
		goto fail;
	SSL_CTX_free(t->ctx);
	free(t->cert_file);
	free(t->key_file);
	*t = fresh;
	return 0;
fail:
	free(fresh.cert_file);
	free(fresh.key_file);
	return -1;
}

struct ssl_st *mbx_tls_ssl_new(struct mbx_tls *t)
{
	return SSL_new(t->ctx);
}

const char *mbx_tls_cert_file(const struct mbx_tls *t)
{
	return t->cert_file;
}

void mbx_tls_free(struct mbx_tls **t)
{
	if (t == NULL || *t == NULL)
		return;
	SSL_CTX_free((*t)->ctx);
	free((*t)->cert_file);
	free((*t)->key_file);
	free(*t);
	*t = NULL;
}
