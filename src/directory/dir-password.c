/*
 * dir-password.c: checking a password against a userPassword value in the schemes that
 * OpenLDAP's slappasswd and common tools write (design.md "Directory backends"): {SSHA},
 * {SSHA256} and {SSHA512} (a salted SHA digest, base64) and {CRYPT} (crypt(3)). Plain text
 * and unknown schemes never match. Used by the `ldif` backend; the `ldap` backend checks
 * passwords by binding instead.
 */
#include "directory/dir-password.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mbx/log.h"

/* --- passwords --------------------------------------------------------------------------- */

static const struct {
	const char *scheme;
	const EVP_MD *(*md)(void);
} dir_password_salted[] = {
        {"SSHA", EVP_sha1},
        {"SSHA256", EVP_sha256},
        {"SSHA512", EVP_sha512},
};

/* {SSHA*}: base64 of digest(password || salt) || salt. */
static bool dir_password_check_salted(const EVP_MD *md, const char *b64, const char *password)
{
	size_t inlen = strlen(b64), dlen = (size_t)EVP_MD_get_size(md);
	unsigned char *raw = NULL, digest[EVP_MAX_MD_SIZE];
	EVP_ENCODE_CTX *dc = NULL;
	EVP_MD_CTX *mc = NULL;
	int n1 = 0, n2 = 0;
	bool ok = false;

	if (inlen > 4096 || dlen == 0 || dlen > sizeof(digest))
		return false;
	raw = malloc(inlen / 4 * 3 + 4);
	dc = EVP_ENCODE_CTX_new();
	mc = EVP_MD_CTX_new();
	if (raw == NULL || dc == NULL || mc == NULL)
		goto out;
	EVP_DecodeInit(dc);
	if (EVP_DecodeUpdate(dc, raw, &n1, (const unsigned char *)b64, (int)inlen) < 0 ||
	    EVP_DecodeFinal(dc, raw + n1, &n2) < 0)
		goto out;
	if ((size_t)(n1 + n2) < dlen)
		goto out;
	if (EVP_DigestInit_ex(mc, md, NULL) != 1 ||
	    EVP_DigestUpdate(mc, password, strlen(password)) != 1 ||
	    EVP_DigestUpdate(mc, raw + dlen, (size_t)(n1 + n2) - dlen) != 1 ||
	    EVP_DigestFinal_ex(mc, digest, NULL) != 1)
		goto out;
	ok = CRYPTO_memcmp(digest, raw, dlen) == 0;
out:
	EVP_MD_CTX_free(mc);
	EVP_ENCODE_CTX_free(dc);
	free(raw);
	return ok;
}

/* {CRYPT}: crypt(3) of the password with the stored hash as setting. */
static bool dir_password_check_crypt(const char *hash, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok = false;

	if (cd == NULL)
		return false;
	out = crypt_r(password, hash, cd);
	if (out != NULL && out[0] != '*' && strlen(out) == strlen(hash))
		ok = CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Whether one userPassword value accepts password. Unknown schemes and plain text are
 * refused with a log line. */
bool dir_password_value_ok(const char *source, const char *dn, const struct mbx_dir_value *v,
                           const char *password)
{
	const char *s = (const char *)v->data, *close;
	char scheme[32], esc[300], escs[80];
	size_t slen;

	mbx_log_escape(dn, strlen(dn), esc, sizeof(esc));
	if (v->len == 0 || s[0] != '{' || (close = memchr(s, '}', v->len)) == NULL ||
	    (slen = (size_t)(close - s - 1)) == 0 || slen >= sizeof(scheme)) {
		mbx_log(MBX_LOG_WARNING,
			"directory %s: userPassword of \"%s\" has no {scheme} (plain text?): "
			"refused",
			source, esc);
		return false;
	}
	memcpy(scheme, s + 1, slen);
	scheme[slen] = '\0';
	if (memchr(s, '\0', v->len) != NULL) {
		mbx_log(MBX_LOG_WARNING, "directory %s: userPassword of \"%s\" holds a NUL byte",
			source, esc);
		return false;
	}
	for (size_t i = 0; i < sizeof(dir_password_salted) / sizeof(dir_password_salted[0]); i++) {
		if (strcasecmp(scheme, dir_password_salted[i].scheme) == 0)
			return dir_password_check_salted(dir_password_salted[i].md(), close + 1,
			                                 password);
	}
	if (strcasecmp(scheme, "CRYPT") == 0)
		return dir_password_check_crypt(close + 1, password);
	mbx_log(MBX_LOG_WARNING,
		"directory %s: userPassword of \"%s\" uses unsupported scheme {%s}: refused",
		source, esc, mbx_log_escape(scheme, slen, escs, sizeof(escs)));
	return false;
}
