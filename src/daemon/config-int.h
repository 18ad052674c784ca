/*
 * config-int.h: what the files of mbxstored's configuration share (include/mbx/config.h;
 * conventions.md "Configuration"). Only src/daemon/config*.c include it; the rest of the
 * daemon sees mbx/config.h.
 *
 *   config.c         mbx_config_parse/_load/_defaults/_free, the error list, shared helpers
 *   config-views.c   the structures other modules are configured with, from the parsed file
 *   config-write.c   the sample file, the manual mbxstored.conf(5), the effective configuration
 *   config-addr.c    address:port values, host names, URLs, LDAP URIs
 *   config-types.c   the value parsers: one per key type of the table, and the name checks
 *   config-table.c   the table: every section and key with its type, default, bounds, help
 */
#ifndef MBX_CONFIG_INT_H
#define MBX_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mbx/config.h"

/* The field at byte offset off of a struct mbx_config or struct mbx_config_forest. */
#define CONFIG_AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))

/* --- config.c: small helpers ---------------------------------------------------------------- */

bool config_is_space(char c);
/* A value quoted for a message: escaped, at most about 60 bytes. */
const char *config_quote(const char *s, char *buf, size_t size);
/* Whether candidate is close enough to what was written to suggest it ("did you mean");
 * *best is the distance of the best suggestion so far (SIZE_MAX at first). */
bool config_close(const char *written, const char *candidate, size_t *best);
/* The name of value in a table's value list, "?" if it has none. */
const char *config_value_name(const struct mbx_config_value *v, int value);
/* Whether v holds only letters, digits and characters of extra. */
bool config_chars(const char *v, const char *extra);

/* --- config-addr.c ------------------------------------------------------------------------ */

/* Whether two addresses are the same (IP addresses compared as binary, names without case). */
bool config_addr_equal(const struct mbx_config_addr *a, const struct mbx_config_addr *b);
/* Whether an LDAP URI's host is on loopback (ldapi:// is local), with *tls_r set for ldaps://.
 * 1 or 0; -1: not an LDAP URI. */
int config_addr_ldap_uri_local(const char *v, bool *tls_r);

/* --- config-types.c ------------------------------------------------------------------------ */

/* Parses value for key k and stores it into base (struct mbx_config or struct
 * mbx_config_forest), replacing what was there. Returns 0, -1 with err (the field is left
 * as it was), or -2 when out of memory. */
int config_types_set(const struct mbx_config_key *k, void *base, const char *value, char *err,
                     size_t errsize);
/* Frees what a key's field owns and resets it. */
void config_types_clear(const struct mbx_config_key *k, void *base);
/* A control character (a tab is allowed where words are separated). */
bool config_types_has_control(const char *v, bool tab_ok);

#endif
