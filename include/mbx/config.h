/*
 * config.h: mbxstored's configuration (conventions.md "Configuration", after tmux's
 * options-table.c, Dovecot's settings and OpenSMTPD's -n): one declarative table
 * (src/daemon/config-table.c) gives every key its section, type, default, bounds and help.
 * From it come the parser (src/daemon/config.c), the sample file conf/mbxstored.conf and the
 * manual mbxstored.conf(5) (both printed by tools/mbxconfgen), so the three cannot drift.
 *
 * The file is INI: inih (Debian's libinih, whose syntax options are switched at run time)
 * splits it into `[section]` headers and `key = value` lines; mbxstored.conf(5) "SYNTAX" says
 * exactly what is accepted. Every error names FILE:LINE; all errors of a file are collected
 * (up to MBX_CONFIG_MAX_ERRORS) before the load fails. A validation pass then checks the
 * rules between keys (mbx_config_rules).
 *
 * Loading reads nothing but the configuration file itself: whether the files and folders it
 * names exist is for the code that opens them.
 */
#ifndef MBX_CONFIG_H
#define MBX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mbx/directory.h"
#include "mbx/mailbox-table.h"
#include "mbx/mailbox.h"

#define MBX_CONFIG_DEFAULT_PATH "/etc/mbxstore/mbxstored.conf"

#define MBX_CONFIG_FILE_MAX (1024 * 1024) /* bytes in a configuration file */
#define MBX_CONFIG_LINE_MAX 4096          /* bytes in one line, without its line ending */
#define MBX_CONFIG_MAX_ERRORS 100         /* errors collected before the parse gives up */
#define MBX_CONFIG_HOST_MAX 253           /* host part of an address (a DNS name at most) */
#define MBX_CONFIG_NAME_MAX 63            /* server and forest names */

/* --- typed values ------------------------------------------------------------------------ */

/* An address to listen on: "192.0.2.1:443", "[2001:db8::1]:443" or "host.example:443". */
struct mbx_config_addr {
	bool set;   /* false: not configured (the optional listeners) */
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC for a host name (resolved at start) */
	uint16_t port;
	char host[MBX_CONFIG_HOST_MAX + 1]; /* without the brackets of an IPv6 address */
};

/* One line of [servers]: a server of this forest and the base URL of its MAPI/HTTP and
 * Autodiscover endpoints (no trailing slash). */
struct mbx_config_server {
	char *name;
	char *url;
};

/* A [forest.NAME] section: a foreign forest that cross-forest moves lead to. */
struct mbx_config_forest {
	char *name;
	char **domains; /* NULL-terminated */
	size_t ndomains;
	char *autodiscover_url;
};

enum mbx_config_backend {
	MBX_CONFIG_BACKEND_LDIF,
	MBX_CONFIG_BACKEND_LDAP,
};

enum mbx_config_log_target {
	MBX_CONFIG_LOG_STDERR,
	MBX_CONFIG_LOG_SYSLOG,
};

/*
 * The configuration. Every string is owned by the structure (mbx_config_free); NULL means not
 * set. Lists are NULL-terminated arrays with their count beside them. Durations carry their
 * unit in their name, as the keys do.
 */
struct mbx_config {
	char *file; /* the file it was loaded from ("(defaults)" for mbx_config_defaults) */

	struct {
		char *name;
		char *legacy_dn;
		char *ldap_dn;
		char *organization; /* from legacy_dn's /o= part when not set in the file */
		bool exchange2003_compat;
		char *server_application;
		char *user;
		char *pid_file;
		char *state_dir;
	} server;

	struct {
		struct mbx_config_addr *https;
		size_t nhttps;
		char *tls_cert;
		char *tls_key;
		char *tls_ciphers;
		int tls_min_version; /* 0x0303 TLS 1.2, 0x0304 TLS 1.3 (OpenSSL's TLS1_x_VERSION) */
		struct mbx_config_addr plain_http;
		struct mbx_config_addr metrics;
		char *control_socket;
		unsigned control_socket_mode;
		char *control_socket_group;
	} listen;

	struct {
		unsigned max_connections;
		unsigned request_timeout_seconds;
		unsigned max_body_bytes;
		unsigned max_rops_per_execute;
		unsigned max_contexts;
		unsigned max_contexts_per_user;
		unsigned context_idle_seconds;
		unsigned pending_period_ms;
		unsigned notification_wait_seconds;
	} limits;

	struct {
		int backend; /* enum mbx_config_backend */
		char *ldif_path;
		char **uris;
		size_t nuris;
		char *base_dn;
		char *bind_dn;
		char *bind_password_file;
		char *ca_file;
		bool starttls;
		bool cleartext_bind;
		unsigned network_timeout_ms;
		unsigned request_timeout_ms;
		unsigned retry_min_ms;
		unsigned retry_max_ms;
		bool content_sync;
		unsigned group_depth;
	} directory;

	/* [attributes]: canonical name (the spelling of mbx_config_canonical_attrs) -> the
	 * server's name. */
	struct mbx_dir_attrmap *attrs;
	size_t nattrs;

	struct {
		unsigned ttl_seconds;
		unsigned negative_ttl_seconds;
		unsigned stale_max_seconds;
		unsigned max_entries;
	} cache;

	struct mbx_config_server *servers;
	size_t nservers;

	struct mbx_config_forest *forests;
	size_t nforests;
	/* The same forests as mbx_server_identity wants them (pointing into forests). */
	struct mbx_foreign_forest *foreign;

	struct {
		int target;     /* enum mbx_config_log_target */
		int facility;   /* LOG_DAEMON, LOG_LOCAL0, ... (syslog.h) */
		int level;      /* enum mbx_log_level */
		unsigned trace; /* enum mbx_trace bits */
	} log;
};

/* --- loading ----------------------------------------------------------------------------- */

/*
 * Loads the configuration file path (at most MBX_CONFIG_FILE_MAX bytes). Returns 0 with
 * *cfg_r filled (free it with mbx_config_free), or -1 with *cfg_r zeroed and the errors in
 * err, one per line, each "PATH:LINE: what" (or "PATH: what" when no line is at fault), in
 * file order, then the errors of the rules between keys. When err is too small the list is
 * cut at a line boundary and ends with "(N more errors)". err may be NULL.
 * Not thread-safe: it sets inih's run-time options, which are process-wide.
 */
int mbx_config_load(const char *path, struct mbx_config *cfg_r, char *err, size_t errsize);

/* The same for text in memory (len bytes; need not be NUL-terminated; a NUL byte in it is an
 * error). name stands for the file in messages. For tests, the fuzzer and `mbxstored -n`. */
int mbx_config_parse(const char *name, const char *text, size_t len, struct mbx_config *cfg_r,
                     char *err, size_t errsize);

/* Every key at its default, nothing in the dynamic sections, and the required keys not set
 * (so this alone does not pass the validation). Returns 0, or -1 when out of memory (then
 * *cfg_r is zeroed). */
int mbx_config_defaults(struct mbx_config *cfg_r);

/* Frees everything cfg owns and zeroes it. NULL-safe; safe on a zeroed structure. */
void mbx_config_free(struct mbx_config *cfg);

/* --- views for the modules --------------------------------------------------------------- */

/* The directory's configuration. It points into cfg, which must outlive it. */
void mbx_config_dir_config(const struct mbx_config *cfg, struct mbx_dir_config *dc_r);
/* This server's identity with the foreign forests. It points into cfg. */
void mbx_config_server_identity(const struct mbx_config *cfg, struct mbx_server_identity *id_r);
/* The mailbox table's configuration, in milliseconds; defer and clock are left zero for the
 * caller to fill. */
void mbx_config_table_config(const struct mbx_config *cfg, struct mbx_mailbox_table_config *tc_r);
/* The base URL of the server of this forest named name ([servers], case-insensitive), or
 * NULL. */
const char *mbx_config_server_url(const struct mbx_config *cfg, const char *name);

/* --- addresses --------------------------------------------------------------------------- */

/* Parses "IPv4:port", "[IPv6]:port" or "host:port" (port 1..65535). Returns 0, or -1 with a
 * message in err. */
int mbx_config_addr_parse(const char *s, struct mbx_config_addr *addr_r, char *err, size_t errsize);
/* 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or the name "localhost". */
bool mbx_config_addr_is_loopback(const struct mbx_config_addr *addr);
/* "192.0.2.1:443", "[::1]:443"; "" when not set. Returns buf. */
const char *mbx_config_addr_format(const struct mbx_config_addr *addr, char *buf, size_t size);

/* --- writers ------------------------------------------------------------------------------ */

/* The sample configuration file (conf/mbxstored.conf): every key in table order, commented
 * out at its default, with its help; required keys set to their example. Returns 0, or -1 on
 * a write error. */
int mbx_config_write_sample(FILE *f);
/* The manual page mbxstored.conf(5), in man(7) roff. Returns 0 or -1. */
int mbx_config_write_man(FILE *f);
/* The effective configuration as a file that loads back to the same configuration (every
 * key, defaults included): what `mbxstored -n -v` prints. Returns 0 or -1. */
int mbx_config_write(FILE *f, const struct mbx_config *cfg);

/* --- the table (src/daemon/config-table.c) ----------------------------------------------- */

enum mbx_config_type {
	MBX_CONFIG_STRING,    /* char *; min..max = length in bytes */
	MBX_CONFIG_PATH,      /* char *, an absolute path; max = length */
	MBX_CONFIG_BOOL,      /* bool: yes/no, true/false, on/off, 1/0 */
	MBX_CONFIG_UINT,      /* unsigned, decimal, min..max */
	MBX_CONFIG_MODE,      /* unsigned, octal file mode, at most max */
	MBX_CONFIG_ENUM,      /* int: the value of one of values[] */
	MBX_CONFIG_FLAGS,     /* unsigned: values[] of the words of a list, OR'ed */
	MBX_CONFIG_LIST,      /* char ** (NULL-terminated) + size_t at count_offset; min..max
	                       * items, each at most maxlen bytes */
	MBX_CONFIG_ADDR,      /* struct mbx_config_addr */
	MBX_CONFIG_ADDR_LIST, /* struct mbx_config_addr * + size_t at count_offset */
};

struct mbx_config_value {
	const char *name;
	int value;
	const char *help; /* for the manual; may be NULL */
};

#define MBX_CONFIG_F_REQUIRED (1u << 0) /* must be set (example gives the sample's value) */
#define MBX_CONFIG_F_LOOPBACK (1u << 1) /* addresses: loopback only */

struct mbx_config_key {
	const char *section; /* "server", ...; "forest" for the keys of every [forest.NAME] */
	const char *name;
	enum mbx_config_type type;
	size_t offset;       /* in struct mbx_config, or in struct mbx_config_forest */
	size_t count_offset; /* LIST, ADDR_LIST: where the count goes */
	const char *def;     /* the default, as it would be written in the file; NULL: not set */
	uint64_t min, max;   /* see the types */
	size_t maxlen;       /* LIST: bytes in one item */
	const struct mbx_config_value *values; /* ENUM, FLAGS; ends with a NULL name */
	const char *unit; /* "seconds", "milliseconds", "bytes": for the documentation */
	unsigned flags;
	const char *example; /* REQUIRED keys: the value the sample file sets */
	/* Extra check of a string value or of each item of a list; returns 0 or -1 with a
	 * message (without the key name) in err. May be NULL. */
	int (*check)(const char *value, char *err, size_t errsize);
	const char *check_doc; /* what check demands, for the manual ("an LDAP DN") */
	const char *help;
};

enum mbx_config_section_kind {
	MBX_CONFIG_SECTION_KEYS,       /* the keys of the table */
	MBX_CONFIG_SECTION_ATTRIBUTES, /* canonical attribute = server attribute */
	MBX_CONFIG_SECTION_SERVERS,    /* server name = base URL */
	MBX_CONFIG_SECTION_FOREST,     /* [forest.NAME], any number, keys of section "forest" */
};

struct mbx_config_section {
	const char *name; /* as in the file; "forest" is written [forest.NAME] */
	enum mbx_config_section_kind kind;
	const char *help;
	const char *const *sample; /* dynamic sections: example lines for the sample file */
};

/* A rule between keys, checked after the whole file is read (src/daemon/config.c, where
 * the table of rules lives beside their code); doc is its text in the manual. */
struct mbx_config_rule {
	const char *doc;
	void (*check)(void *state); /* internal */
};

extern const struct mbx_config_key mbx_config_keys[];
extern const size_t mbx_config_nkeys;
extern const struct mbx_config_section mbx_config_sections[];
extern const size_t mbx_config_nsections;
/* The canonical attribute names [attributes] accepts (protocol.md 8, docs/directory.md), NULL
 * at the end. */
extern const char *const mbx_config_canonical_attrs[];
/* The rules between keys, in the order they are checked (src/daemon/config.c). */
extern const struct mbx_config_rule mbx_config_rules[];
extern const size_t mbx_config_nrules;

/* The key, or NULL (names compared exactly; section "forest" for forest keys). */
const struct mbx_config_key *mbx_config_key_find(const char *section, const char *name);

/* Value checks used by the table (exported for the tests). Each returns 0 or -1 with err. */
int mbx_config_check_server_name(const char *v, char *err, size_t errsize);
int mbx_config_check_legacy_dn(const char *v, char *err, size_t errsize);
int mbx_config_check_dn(const char *v, char *err, size_t errsize);
int mbx_config_check_unix_name(const char *v, char *err, size_t errsize);
int mbx_config_check_ldap_uri(const char *v, char *err, size_t errsize);
int mbx_config_check_domain(const char *v, char *err, size_t errsize);
int mbx_config_check_url(const char *v, char *err, size_t errsize);
int mbx_config_check_attr_name(const char *v, char *err, size_t errsize);
int mbx_config_check_token(const char *v, char *err, size_t errsize);

#endif
