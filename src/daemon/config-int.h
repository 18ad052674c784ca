/*
 * config-int.h: what the files of mbxstored's configuration share (include/mbx/config.h;
 * conventions.md "Configuration"). Only src/daemon/config*.c include it; the rest of the
 * daemon sees mbx/config.h.
 *
 *   config.c         mbx_config_parse/_load/_defaults/_free, the error list, shared helpers
 *   config-table.c   the table: every section and key with its type, default, bounds, help
 *   config-ini.c     the file through inih: the line reader, section headers, the key handler
 *   config-types.c   the value parsers: one per key type of the table, and the name checks
 *   config-addr.c    address:port values, host names, URLs, LDAP URIs
 *   config-rules.c   the rules between keys, checked once the file has no other error
 *   config-write.c   the sample file, the manual mbxstored.conf(5), the effective configuration
 *   config-views.c   the structures other modules are configured with, from the parsed file
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

/* --- config.c: the parse -------------------------------------------------------------------- */

/* The errors of one parse, one per line. */
struct config_errors {
	char *buf;
	size_t len, cap;
	unsigned count;
	bool oom;
};

/* What the reader made of the current line. */
enum config_line {
	CONFIG_LINE_NONE, /* not yet classified */
	CONFIG_LINE_BLANK,
	CONFIG_LINE_SECTION,
	CONFIG_LINE_KEY,
	CONFIG_LINE_BAD,
};

/* The kind of the section the current line is in. */
enum config_sec {
	CONFIG_SEC_NONE, /* before the first header */
	CONFIG_SEC_KEYS,
	CONFIG_SEC_ATTRIBUTES,
	CONFIG_SEC_SERVERS,
	CONFIG_SEC_FOREST,
	CONFIG_SEC_IGNORED, /* a header in error: its keys are not looked at */
};

/* What the parse of one file knows: its text, where the reader is, and which line set what. */
struct config_state {
	const char *name; /* the file, for messages */
	const char *text;
	size_t len, off;
	unsigned line;
	struct mbx_config *cfg;
	struct config_errors errs;
	bool stop; /* too many errors */

	enum config_line kind; /* of the current line */
	unsigned calls;        /* handler calls for the current line */
	unsigned first_bad;    /* first line inih must find in error */

	enum config_sec sec;
	size_t sec_index; /* mbx_config_sections */
	size_t forest;    /* cfg->forests */

	unsigned *section_lines; /* per section of the table: line of its header */
	unsigned *key_lines;     /* per key of the table: line that set it */
	unsigned *attr_lines, *server_lines, *forest_lines;
	unsigned *forest_key_lines; /* nforests * mbx_config_nkeys */
};

/* Adds "file:line: what" (or "file: what" for line 0) to the errors; after
 * MBX_CONFIG_MAX_ERRORS, stops the parse. */
void config_error(struct config_state *st, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Notes that memory ran out (said once, at the end). */
void config_oom(struct config_state *st);
/* The line that set section.key (0 if none); for forest keys, of forest f. */
unsigned config_key_line(const struct config_state *st, const char *section, const char *key,
                         size_t f);
/* The line of a section header (0 if none). */
unsigned config_section_line(const struct config_state *st, const char *section);
/* Best line for an error about section.key: where it was set, else its section's header. */
unsigned config_where(const struct config_state *st, const char *section, const char *key);
/* The key of the table at k, as an index into mbx_config_keys. */
size_t config_key_index(const struct mbx_config_key *k);
/* The section of the table named name, or NULL. */
const struct mbx_config_section *config_section_find(const char *name);

/* --- config-ini.c --------------------------------------------------------------------------- */

/* Reads st->text with inih into st->cfg: every line, every header and every key, each error
 * into st->errs with its line. inih's options are set for the call and restored after it. */
void config_ini_parse(struct config_state *st);

#endif
