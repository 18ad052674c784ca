/*
 * ldap-filter.h: LDAP search filters for directory lookups (RFC 4515), pure functions with no
 * I/O, used by the `ldap` directory backend (src/directory/dir-ldap*.c) and its unit tests.
 *
 * Every value placed in a filter is escaped: besides the four characters RFC 4515 section 3
 * requires ('*', '(', ')', '\\') and NUL, every byte outside printable ASCII (0x20-0x7e) becomes
 * \XX (two lower-case hex digits), so UTF-8 text, control bytes and invalid UTF-8 reach the
 * server as escapes and never change the filter's structure. Binary values (SIDs) are escaped
 * byte by byte, all of them. A value can therefore never match another object than the one
 * whose attribute holds exactly those bytes (under the attribute's equality rule).
 */
#ifndef MBX_LDAP_FILTER_H
#define MBX_LDAP_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "mbx/directory.h"

/* Longest lookup key accepted (bytes before escaping); longer keys are an error. */
#define MBX_LDAP_FILTER_MAX_KEY 4096

/* Writes the escaped form of the len bytes at val into out (at most size bytes, always
 * NUL-terminated when size > 0) and returns the length of the whole escaped form, like
 * snprintf: the output was complete if the return value is < size. binary: escape every
 * byte, not only the special and non-ASCII ones. */
size_t mbx_ldap_filter_escape(char *out, size_t size, const void *val, size_t len, bool binary);

/* The same into a malloc'ed string; NULL on memory exhaustion. */
char *mbx_ldap_filter_escape_dup(const void *val, size_t len, bool binary);

/* Builds the filter of a lookup (directory.h enum mbx_dir_key), attribute names translated to
 * the server's names through d's attribute map (d may be NULL: canonical names):
 *   BY_DN        (objectClass=*)          (the key is the search base, scope base)
 *   BY_LEGACYDN  (|(legacyExchangeDN=K)(proxyAddresses=x500:K))
 *   BY_SMTP      (|(mail=K)(proxyAddresses=smtp:K))
 *   BY_LOGIN     (|(userPrincipalName=K)(sAMAccountName=K))
 *   BY_SID       (objectSid=\01\05...)    (every byte escaped)
 *   BY_MEMBER    (member=K)
 *   DISABLED_NO_MASTER (no key: key and keylen are ignored, NULL and 0 are fine)
 *     (&(objectClass=user)(|(msExchUserAccountControl=2)
 *       (userAccountControl:1.2.840.113556.1.4.803:=2))(!(msExchMasterAccountSid=*)))
 *     1.2.840.113556.1.4.803 is the bitwise-AND matching rule (AD's
 *     LDAP_MATCHING_RULE_BIT_AND, OpenLDAP's integerBitAndMatch, which slapd applies to
 *     attributes of INTEGER syntax such as userAccountControl in conf/schema/mbxstore.schema;
 *     tests/integration/test-dir-ldap.sh runs it against slapd). Computers (objectClass
 *     computer, a subclass of user in AD) are not excluded by the filter: a filter naming
 *     an object class the server's schema does not define, (!(objectClass=computer)), is
 *     Undefined in slapd and then the whole AND matches nothing; the backends drop them
 *     with mbx_dir_entry_disabled_no_master (directory.h) instead.
 * key is keylen bytes for every kind (string kinds: the caller passes the string's length;
 * an embedded NUL is escaped like any byte and so matches nothing). Returns a malloc'ed
 * string, or NULL with *why_r set (static text): "empty key", "key too long", "unknown lookup
 * kind", "invalid attribute name in the attribute map", "out of memory". */
char *mbx_ldap_filter_build(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                            size_t keylen, const char **why_r);

#endif
