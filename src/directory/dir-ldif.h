/*
 * dir-ldif.h: the embedded `ldif` directory backend (private to src/directory; design.md
 * "Directory backends"). An LDIF file read with libldap's own LDIF reader, indexed in memory,
 * written back atomically on modification.
 */
#ifndef MBX_DIR_LDIF_H
#define MBX_DIR_LDIF_H

#include <stddef.h>

#include "mbx/directory.h"

/* Limits on the file (named so messages and tests can refer to them). */
#define DIR_LDIF_MAX_FILE (256u << 20)  /* bytes in the whole file */
#define DIR_LDIF_MAX_LINE (1u << 20)    /* bytes in one physical line */
#define DIR_LDIF_MAX_RECORD (16u << 20) /* bytes in one record (an entry, folded lines joined) */

/* Loads cfg->ldif_path. Returns NULL with "FILE:LINE: what" (or "FILE: what") in err. */
struct mbx_dir *dir_ldif_new(struct event_base *base, const struct mbx_dir_config *cfg,
			     char *err, size_t errsize);

/* For tests, the fuzzer and tools: the entries in file order (0 and NULL if d is not an
 * ldif backend or i is out of range). The entry belongs to the directory and lives until the
 * next modification or reload. */
size_t dir_ldif_count(const struct mbx_dir *d);
const struct mbx_dir_entry *dir_ldif_entry(const struct mbx_dir *d, size_t i);

/* Normalises a DN for comparison (the form the DN and member indexes use): parsed with
 * libldap's ldap_str2dn (RFC 4514, lenient as LDAP_DN_FORMAT_LDAP: spaces around ',' '=' '+'
 * are dropped, "quoted" and \XX-escaped values are decoded), printed back with ldap_dn2str in
 * the RFC 4514 form (which escapes the same way whatever the input did), then folded to
 * lower case byte by byte for ASCII only. Attribute types given as OIDs are not turned into
 * names and the AVAs of a multi-valued RDN are not sorted. Returns a malloc'ed string, or NULL
 * if dn is not a DN (or on memory exhaustion). */
char *dir_ldif_normalize_dn(const char *dn, size_t len);

#endif
