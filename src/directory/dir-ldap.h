/*
 * dir-ldap.h: the `ldap` directory backend (private to src/directory; design.md "Directory
 * backends"): OpenLDAP's libldap driven asynchronously by the daemon's libevent loop, with a
 * list of servers and failover, StartTLS or ldaps://, service binds only, and LDAP Content
 * Sync (RFC 4533) to follow changes.
 */
#ifndef MBX_DIR_LDAP_H
#define MBX_DIR_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "mbx/directory.h"

/* Defaults for configuration values left at 0. */
#define DIR_LDAP_DEFAULT_NETWORK_TIMEOUT_MS 1000
#define DIR_LDAP_DEFAULT_REQUEST_TIMEOUT_MS 3000
#define DIR_LDAP_DEFAULT_RETRY_MIN_MS 250
#define DIR_LDAP_DEFAULT_RETRY_MAX_MS 30000

/* Limits (named so messages and tests can refer to them). */
#define DIR_LDAP_MAX_URIS 16            /* servers in the list */
#define DIR_LDAP_MAX_ENTRIES 10000      /* entries one lookup may return (size limit) */
#define DIR_LDAP_MAX_QUEUE 10000        /* requests waiting for a connection */
#define DIR_LDAP_MAX_PASSWORD_CONNS 16  /* password checks running at once (more wait) */
#define DIR_LDAP_MAX_PASSWORD_FILE 4096 /* bytes in the service password file */

/* Creates the backend: checks the configuration and the service password file (a regular
 * file, no permission bits for group or others, one line), then starts connecting in the
 * background; lookups made before the first connection is up wait for it (up to their
 * request timeout). Returns NULL with a message in err on a configuration error. Never
 * blocks: the connections are made later, from the loop. */
struct mbx_dir *dir_ldap_new(struct event_base *base, const struct mbx_dir_config *cfg, char *err,
                             size_t errsize);

/* Reads a service password file: the first line, without its line ending. Refuses a file
 * that group or others may read, write or execute, anything but a regular file, an empty
 * password and files over DIR_LDAP_MAX_PASSWORD_FILE bytes. Returns a malloc'ed string (the
 * caller wipes and frees it) or NULL with "PATH: what" in err. */
char *dir_ldap_read_password_file(const char *path, char *err, size_t errsize);

/* For tests and mbxctl: the URI of the server lookups go to right now (NULL when none is
 * connected), whether Content Sync is following changes (refresh done, persisting), and the
 * URI of the server it follows them on (NULL unless persisting). */
const char *dir_ldap_active_uri(const struct mbx_dir *d);
bool dir_ldap_sync_persisting(const struct mbx_dir *d);
const char *dir_ldap_sync_uri(const struct mbx_dir *d);

/* For tests and tools: the filter a lookup of this kind and key sends (the string
 * mbx_ldap_filter_build gives for d's attribute map), malloc'ed; NULL with *why_r (static
 * text) set, as mbx_ldap_filter_build, or "not an ldap directory". */
char *dir_ldap_filter(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                      size_t keylen, const char **why_r);

#endif
