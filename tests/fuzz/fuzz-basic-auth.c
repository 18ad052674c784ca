/*
 * fuzz-basic-auth.c: libFuzzer harness for the HTTP Basic credentials parser of the MAPI/HTTP
 * front end, mbx_mh_auth_parse_basic (src/mapihttp/mh-auth.c; RFC 7617, RFC 4648 section 4;
 * [MS-OXCMAPIHTTP] 2.2.1), and mbx_mh_auth_login_key on what it returns.
 *
 * The first byte picks the mode, the rest is the input:
 *   even  an Authorization header value as evhttp hands it over (a C string: it ends at the
 *         first NUL);
 *   odd   raw credentials "user:password" that the harness encodes in base64 behind one of
 *         eight spellings of the scheme (case, blanks before and after), so that mutations
 *         reach the checks behind the base64 layer; the outcome must then be exactly what
 *         RFC 7617 plus our limits say (a model below).
 *
 * Checked on every call: the outcome is one of BASIC / NONE / BAD; for BASIC the user name is
 * 1..MBX_MH_AUTH_USER_MAX bytes without control characters, the password
 * 1..MBX_MH_AUTH_PASS_MAX bytes without NUL, no reason is given, and base64 of "user:password"
 * is exactly the credentials token of the header (strict base64 is canonical: padding, zero
 * unused bits); for NONE and BAD both outputs are "" and BAD gives a reason. A BASIC result
 * parses the same into buffers of exactly the needed size, and fails cleanly (BAD) with a
 * buffer one byte short (the buffers are malloc'd to size, so ASan sees any overrun).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "mapihttp/mh-frontend-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_MAX (2 * MBX_MH_AUTH_HEADER_MAX + 64)

static void die(const char *what, const char *header)
{
	fprintf(stderr, "fuzz-basic-auth: %s (header \"%.200s\")\n", what, header);
	abort();
}

/* The credentials token: the value after the scheme and its blanks, without trailing blanks.
 * Only called for a BASIC outcome (the scheme is there). */
static void token_of(const char *h, const char **tok_r, size_t *len_r)
{
	size_t len;

	while (*h == ' ' || *h == '\t')
		h++;
	h += 5; /* "Basic" */
	while (*h == ' ' || *h == '\t')
		h++;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	*tok_r = h;
	*len_r = len;
}

/* Parses header into buffers of exactly usize / psize bytes; returns the outcome and checks the
 * invariants of every call. On BASIC, user and pass (of MAX + 1 bytes) get the results. */
static int parse(const char *header, size_t usize, size_t psize, char *user_r, char *pass_r)
{
	char *user = malloc(usize > 0 ? usize : 1), *pass = malloc(psize > 0 ? psize : 1);
	const char *why = "unset";
	int rc;

	if (user == NULL || pass == NULL)
		die("out of memory", header);
	rc = mbx_mh_auth_parse_basic(header, user, usize, pass, psize, &why);
	switch (rc) {
	case MBX_MH_AUTH_BASIC: {
		size_t ulen = strnlen(user, usize), plen = strnlen(pass, psize);
		const char *key;

		if (why != NULL)
			die("BASIC with a reason", header);
		if (ulen == usize || plen == psize)
			die("an output is not NUL-terminated", header);
		if (ulen == 0 || ulen > MBX_MH_AUTH_USER_MAX)
			die("BASIC with a user name of a bad length", header);
		if (plen == 0 || plen > MBX_MH_AUTH_PASS_MAX)
			die("BASIC with a password of a bad length", header);
		for (size_t i = 0; i < ulen; i++)
			if ((uint8_t)user[i] < 0x20 || user[i] == 0x7F)
				die("BASIC with a control character in the user name", header);
		if (mbx_mh_auth_login_key(user, &key) == MBX_DIR_BY_LEGACYDN) {
			if (key != user)
				die("a legacyExchangeDN key is not the whole name", header);
		} else if (key < user || key >= user + ulen || *key == '\0') {
			die("the login key is empty or outside the name", header);
		}
		if (user_r != NULL) {
			memcpy(user_r, user, ulen + 1);
			memcpy(pass_r, pass, plen + 1);
		}
		break;
	}
	case MBX_MH_AUTH_NONE:
	case MBX_MH_AUTH_BAD:
		if ((usize > 0 && user[0] != '\0') || (psize > 0 && pass[0] != '\0'))
			die("no credentials, but an output is not empty", header);
		if (rc == MBX_MH_AUTH_NONE && why != NULL)
			die("NONE with a reason", header);
		if (rc == MBX_MH_AUTH_BAD && (why == NULL || why[0] == '\0'))
			die("BAD without a reason", header);
		break;
	default:
		die("an outcome that is none of BASIC, NONE, BAD", header);
	}
	free(user);
	free(pass);
	return rc;
}

/* Every check on one header value; returns its outcome, user and pass filled on BASIC. */
static int check(const char *header, char *user, char *pass)
{
	static char cred[MBX_MH_AUTH_USER_MAX + 1 + MBX_MH_AUTH_PASS_MAX + 1];
	static char enc[HDR_MAX];
	const char *tok;
	size_t toklen, ulen, plen, n;
	int rc = parse(header, MBX_MH_AUTH_USER_MAX + 1, MBX_MH_AUTH_PASS_MAX + 1, user, pass);

	if (rc != MBX_MH_AUTH_BASIC)
		return rc;
	ulen = strlen(user);
	plen = strlen(pass);
	/* canonical: base64("user:pass") is the token, byte for byte */
	memcpy(cred, user, ulen);
	cred[ulen] = ':';
	memcpy(cred + ulen + 1, pass, plen);
	n = (size_t)EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)cred,
	                            (int)(ulen + 1 + plen));
	token_of(header, &tok, &toklen);
	if (n != toklen || memcmp(enc, tok, n) != 0)
		die("the accepted token is not the base64 of what it decoded to", header);
	/* exact buffers: the same; one byte short: BAD, and no byte written past them */
	if (parse(header, ulen + 1, plen + 1, NULL, NULL) != MBX_MH_AUTH_BASIC)
		die("exactly sized buffers are refused", header);
	if (parse(header, ulen, plen + 1, NULL, NULL) != MBX_MH_AUTH_BAD)
		die("a user buffer one byte short is not refused", header);
	if (parse(header, ulen + 1, plen, NULL, NULL) != MBX_MH_AUTH_BAD)
		die("a password buffer one byte short is not refused", header);
	return rc;
}

/* Raw credentials behind a spelling of the scheme: the outcome the model predicts. */
static void check_raw(unsigned spelling, const uint8_t *raw, size_t len)
{
	static const char *const pre[] = {"Basic ",   "basic ",     "BASIC\t",   "  Basic   ",
	                                  "bAsIc \t", "\tBasic\t ", "Basic    ", "Basic\t"};
	static const char *const post[] = {"", "", "", " ", "\t", " \t ", "", "  "};
	static char header[HDR_MAX + 64];
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const uint8_t *colon;
	size_t n, enclen, ulen = 0, plen = 0;
	bool ok;
	int rc;

	if (len > MBX_MH_AUTH_HEADER_MAX) /* its base64 is too long anyway: no need to build it */
		len = MBX_MH_AUTH_HEADER_MAX;
	n = (size_t)snprintf(header, sizeof(header), "%s", pre[spelling]);
	enclen = (size_t)EVP_EncodeBlock((unsigned char *)header + n, raw, (int)len);
	snprintf(header + n + enclen, sizeof(header) - n - enclen, "%s", post[spelling]);

	/* the model: RFC 7617 user-pass, our limits */
	colon = len > 0 ? memchr(raw, ':', len) : NULL;
	ok = len > 0 && enclen <= MBX_MH_AUTH_HEADER_MAX && colon != NULL;
	if (ok) {
		ulen = (size_t)(colon - raw);
		plen = len - ulen - 1;
		ok = ulen >= 1 && ulen <= MBX_MH_AUTH_USER_MAX && plen >= 1 &&
		     plen <= MBX_MH_AUTH_PASS_MAX && memchr(colon + 1, '\0', plen) == NULL;
		for (size_t i = 0; ok && i < ulen; i++)
			ok = raw[i] >= 0x20 && raw[i] != 0x7F;
	}
	rc = check(header, user, pass);
	if (rc == MBX_MH_AUTH_NONE)
		die("the Basic scheme was not recognised", header);
	if (ok != (rc == MBX_MH_AUTH_BASIC))
		die(ok ? "valid credentials are refused" : "invalid credentials are accepted",
		    header);
	if (ok && (strlen(user) != ulen || memcmp(user, raw, ulen) != 0 || strlen(pass) != plen ||
	           memcmp(pass, colon + 1, plen) != 0))
		die("the user name or password is not what was sent", header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char header[HDR_MAX + 1];
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	size_t n;

	if (size == 0) {
		if (parse(NULL, sizeof(user), sizeof(pass), NULL, NULL) != MBX_MH_AUTH_NONE)
			die("no header is not NONE", "(null)");
		return 0;
	}
	if (data[0] & 1) {
		check_raw((data[0] >> 1) & 7u, data + 1, size - 1);
		return 0;
	}
	n = size - 1 < HDR_MAX ? size - 1 : HDR_MAX;
	memcpy(header, data + 1, n);
	header[n] = '\0';
	(void)check(header, user, pass);
	return 0;
}
