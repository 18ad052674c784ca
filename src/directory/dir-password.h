/*
 * dir-password.h: checking a password against a userPassword value (private to
 * src/directory; dir-password.c): {SSHA}, {SSHA256}, {SSHA512} and {CRYPT}.
 */
#ifndef MBX_DIR_PASSWORD_H
#define MBX_DIR_PASSWORD_H

#include <stdbool.h>

#include "mbx/directory.h"

/* Whether the userPassword value v (of the entry dn) accepts password. A value without a
 * {scheme} (plain text?), with a NUL byte or in an unsupported scheme is refused with a
 * warning in the log that names source (the directory, e.g. the LDIF file) and dn. Compares
 * in constant time; never logs the password or the value. */
bool dir_password_value_ok(const char *source, const char *dn, const struct mbx_dir_value *v,
                           const char *password);

#endif
