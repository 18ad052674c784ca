/*
 * test-config.c: unit tests of mbxstored's configuration (src/daemon/config.c and the table
 * of src/daemon/config-table.c; conventions.md "Configuration"): the table itself, every
 * type's parser (valid, invalid, bounds 0/1/max/max+1), the INI syntax as inih reads it,
 * unknown sections and keys with suggestions, duplicates, every error of a file with its
 * line, the rules between keys, the sample file, a full realistic file, the views for the
 * modules, round trips through mbx_config_write, and loading from disk.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "mbx-test.h"
#include "mbx/config.h"
#include "mbx/log.h"

#define REQ_SERVER                                                                                 \
	"[server]\n"                                                                               \
	"name = SERVER1\n"                                                                         \
	"legacy_dn = /o=Contoso/ou=AG/cn=Configuration/cn=Servers/cn=SERVER1\n"                    \
	"ldap_dn = cn=SERVER1,cn=Servers,dc=contoso,dc=com\n"

static char errbuf[65536];

static int parse(const char *text, struct mbx_config *cfg)
{
	return mbx_config_parse("t.conf", text, strlen(text), cfg, errbuf, sizeof(errbuf));
}

/* The required [server] keys, then section.key = value (section "server": no new header). */
static int parse_kv(const char *section, const char *key, const char *value, struct mbx_config *cfg)
{
	char text[16384];

	if (strcmp(section, "server") == 0)
		snprintf(text, sizeof(text), "%s%s = %s\n", REQ_SERVER, key, value);
	else
		snprintf(text, sizeof(text), "%s[%s]\n%s = %s\n", REQ_SERVER, section, key, value);
	return parse(text, cfg);
}

static void kv_ok(const char *section, const char *key, const char *value, struct mbx_config *cfg)
{
	if (parse_kv(section, key, value, cfg) != 0)
		fail_msg("[%s] %s = %s: %s", section, key, value, errbuf);
}

/* One error, on the key's line (line 6: four lines of REQ_SERVER, the header, the key; 5
 * for [server] keys), containing what. */
static void kv_bad(const char *section, const char *key, const char *value, const char *what)
{
	struct mbx_config cfg;
	char prefix[32];

	if (parse_kv(section, key, value, &cfg) == 0)
		fail_msg("[%s] %s = %s loaded", section, key, value);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", strcmp(section, "server") == 0 ? 5 : 6);
	if (strncmp(errbuf, prefix, strlen(prefix)) != 0 || strstr(errbuf, what) == NULL ||
	    strchr(errbuf, '\n') != NULL)
		fail_msg("[%s] %s = %s: got \"%s\", want \"%s...%s\"", section, key, value, errbuf,
		         prefix, what);
	/* a failed load leaves the structure zeroed */
	assert_null(cfg.file);
	assert_null(cfg.server.name);
}

static void expect_errors(const char *text, const char *want)
{
	struct mbx_config cfg;

	if (parse(text, &cfg) == 0)
		fail_msg("loaded:\n%s", text);
	if (strcmp(errbuf, want) != 0)
		fail_msg("errors:\n%s\nwant:\n%s", errbuf, want);
}

static char *write_cfg(const struct mbx_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(mbx_config_write(f, cfg), 0);
	fclose(f);
	return buf;
}

/* The configuration loaded back from what mbx_config_write printed is the same. */
static void round_trip(const struct mbx_config *cfg)
{
	char *a = write_cfg(cfg), *b, *pa, *pb;
	struct mbx_config again;

	if (mbx_config_parse("t.conf", a, strlen(a), &again, errbuf, sizeof(errbuf)) != 0)
		fail_msg("reload failed: %s\n%s", errbuf, a);
	b = write_cfg(&again);
	/* first lines name the file */
	pa = strchr(a, '\n');
	pb = strchr(b, '\n');
	assert_non_null(pa);
	assert_non_null(pb);
	assert_string_equal(pa, pb);
	free(a);
	free(b);
	mbx_config_free(&again);
}

/* --- the table ------------------------------------------------------------------------------ */

static void test_table(void **state)
{
	size_t nreq = 0;

	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];
		bool sec = false;

		for (size_t s = 0; s < mbx_config_nsections; s++)
			if (strcmp(mbx_config_sections[s].name, k->section) == 0 &&
			    (mbx_config_sections[s].kind == MBX_CONFIG_SECTION_KEYS ||
			     mbx_config_sections[s].kind == MBX_CONFIG_SECTION_FOREST))
				sec = true;
		if (!sec)
			fail_msg("%s: section %s is not a section of keys", k->name, k->section);
		assert_true(k->help != NULL && strlen(k->help) > 10);
		assert_true(mbx_config_key_find(k->section, k->name) == k); /* no duplicates */
		if (k->flags & MBX_CONFIG_F_REQUIRED) {
			nreq++;
			assert_non_null(k->example);
			assert_null(k->def);
		}
		if (k->type == MBX_CONFIG_ENUM || k->type == MBX_CONFIG_FLAGS)
			assert_non_null(k->values);
		if (k->type == MBX_CONFIG_UINT)
			assert_true(k->min <= k->max && k->max <= 0xffffffffu);
		if (k->type == MBX_CONFIG_LIST || k->type == MBX_CONFIG_ADDR_LIST)
			assert_true(k->count_offset != 0);
		/* durations say their unit in their name */
		if (strstr(k->name, "_seconds") != NULL)
			assert_string_equal(k->unit, "seconds");
		if (strstr(k->name, "_ms") != NULL)
			assert_string_equal(k->unit, "milliseconds");
	}
	assert_int_equal(nreq, 5);
	for (size_t i = 0; mbx_config_canonical_attrs[i] != NULL; i++)
		for (size_t j = 0; j < i; j++)
			assert_true(strcasecmp(mbx_config_canonical_attrs[i],
			                       mbx_config_canonical_attrs[j]) != 0);
	assert_int_equal(mbx_config_nrules, 11);
	for (size_t i = 0; i < mbx_config_nrules; i++)
		assert_non_null(mbx_config_rules[i].doc);
	/* the trace words are log.h's */
	{
		const struct mbx_config_key *k = mbx_config_key_find("log", "trace");

		for (const struct mbx_config_value *v = k->values; v->name != NULL; v++)
			assert_int_equal(mbx_trace_from_name(v->name), v->value);
	}
	assert_null(mbx_config_key_find("server", "nope"));
	assert_null(mbx_config_key_find("nope", "name"));
}

static void test_defaults(void **state)
{
	struct mbx_config cfg;

	assert_int_equal(mbx_config_defaults(&cfg), 0);
	assert_string_equal(cfg.file, "(defaults)");
	assert_null(cfg.server.name);
	assert_null(cfg.server.legacy_dn);
	assert_null(cfg.server.organization);
	assert_false(cfg.server.exchange2003_compat);
	assert_string_equal(cfg.server.server_application, "Exchange/15.01.2176.009");
	assert_string_equal(cfg.server.state_dir, "/var/lib/mbxstored");
	assert_null(cfg.server.user);
	assert_null(cfg.server.pid_file);
	assert_int_equal(cfg.listen.nhttps, 1);
	assert_string_equal(cfg.listen.https[0].host, "0.0.0.0");
	assert_int_equal(cfg.listen.https[0].port, 443);
	assert_int_equal(cfg.listen.https[0].family, AF_INET);
	assert_null(cfg.listen.tls_cert);
	assert_int_equal(cfg.listen.tls_min_version, 0x0303);
	assert_false(cfg.listen.plain_http.set);
	assert_false(cfg.listen.metrics.set);
	assert_string_equal(cfg.listen.control_socket, "/run/mbxstored/control.sock");
	assert_int_equal(cfg.listen.control_socket_mode, 0660);
	assert_int_equal(cfg.limits.max_connections, 1024);
	assert_int_equal(cfg.limits.request_timeout_seconds, 60);
	assert_int_equal(cfg.limits.max_body_bytes, 1048576);
	assert_int_equal(cfg.limits.max_rops_per_execute, 1024);
	assert_int_equal(cfg.limits.max_contexts, 10000);
	assert_int_equal(cfg.limits.max_contexts_per_user, 32);
	assert_int_equal(cfg.limits.context_idle_seconds, 900);
	assert_int_equal(cfg.limits.pending_period_ms, 15000);
	assert_int_equal(cfg.limits.notification_wait_seconds, 300);
	assert_int_equal(cfg.directory.backend, MBX_CONFIG_BACKEND_LDIF);
	assert_string_equal(cfg.directory.ldif_path, "/var/lib/mbxstored/directory.ldif");
	assert_int_equal(cfg.directory.nuris, 0);
	assert_true(cfg.directory.starttls);
	assert_false(cfg.directory.cleartext_bind);
	assert_int_equal(cfg.directory.network_timeout_ms, 1000);
	assert_int_equal(cfg.directory.request_timeout_ms, 3000);
	assert_int_equal(cfg.directory.retry_min_ms, 250);
	assert_int_equal(cfg.directory.retry_max_ms, 30000);
	assert_true(cfg.directory.content_sync);
	assert_int_equal(cfg.directory.group_depth, 8);
	assert_int_equal(cfg.cache.ttl_seconds, 60);
	assert_int_equal(cfg.cache.negative_ttl_seconds, 10);
	assert_int_equal(cfg.cache.stale_max_seconds, 3600);
	assert_int_equal(cfg.cache.max_entries, 100000);
	assert_int_equal(cfg.nattrs, 0);
	assert_int_equal(cfg.nservers, 0);
	assert_int_equal(cfg.nforests, 0);
	assert_int_equal(cfg.log.target, MBX_CONFIG_LOG_SYSLOG);
	assert_int_equal(cfg.log.facility, LOG_DAEMON);
	assert_int_equal(cfg.log.level, MBX_LOG_INFO);
	assert_int_equal(cfg.log.trace, 0);
	mbx_config_free(&cfg);
	assert_null(cfg.file);
	mbx_config_free(&cfg); /* twice: zeroed */
	mbx_config_free(NULL);
}

/* --- the sample file ------------------------------------------------------------------------ */

static char *sample_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(mbx_config_write_sample(f), 0);
	fclose(f);
	return buf;
}

static void test_sample(void **state)
{
	char *text = sample_text(), *a, *b;
	struct mbx_config cfg, req;

	if (parse(text, &cfg) != 0)
		fail_msg("the sample does not load: %s", errbuf);
	/* the sample gives the defaults: the same as a file with only the required keys */
	assert_int_equal(parse(REQ_SERVER, &req), 0);
	free(req.server.legacy_dn);
	free(req.server.ldap_dn);
	free(req.server.organization);
	req.server.legacy_dn = strdup(cfg.server.legacy_dn);
	req.server.ldap_dn = strdup(cfg.server.ldap_dn);
	req.server.organization = strdup("Contoso");
	a = write_cfg(&cfg);
	b = write_cfg(&req);
	assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
	assert_string_equal(cfg.server.name, "SERVER1");
	assert_string_equal(cfg.server.organization, "Contoso");
	assert_int_equal(cfg.limits.pending_period_ms, 15000);
	/* every key is in it, commented out or (required) set */
	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];
		char line[1200];

		const char *v = k->flags & MBX_CONFIG_F_REQUIRED ? k->example
		                : k->def != NULL                 ? k->def
		                                                 : "";

		snprintf(line, sizeof(line), "\n%s%s =%s%s\n",
		         (k->flags & MBX_CONFIG_F_REQUIRED) && strcmp(k->section, "forest") != 0
		                 ? ""
		                 : "#",
		         k->name, v[0] != '\0' ? " " : "", v);
		if (strstr(text, line) == NULL)
			fail_msg("sample lacks \"%s\"", line + 1);
	}
	free(a);
	free(b);
	free(text);
	mbx_config_free(&cfg);
	mbx_config_free(&req);
}

static void test_man(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(mbx_config_write_man(f), 0);
	fclose(f);
	assert_non_null(strstr(buf, ".TH MBXSTORED.CONF 5"));
	assert_non_null(strstr(buf, ".SH \"[server] SECTION\""));
	assert_non_null(strstr(buf, ".SH \"[forest.NAME] SECTIONS\""));
	assert_non_null(strstr(buf, ".SH \"RULES BETWEEN KEYS\""));
	assert_non_null(strstr(buf, ".SH FILES"));
	assert_non_null(strstr(buf, ".BR mbxctl (8),\n.BR mbxstored (8)"));
	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		char key[160], esc[128];
		size_t n = 0;

		for (const char *p = mbx_config_keys[i].name; *p != '\0'; p++)
			if (*p == '-') {
				esc[n++] = '\\';
				esc[n++] = '-';
			} else {
				esc[n++] = *p;
			}
		esc[n] = '\0';
		snprintf(key, sizeof(key), ".TP\n.B \\%%%s\n", esc);
		if (strstr(buf, key) == NULL)
			fail_msg("man page lacks %s", mbx_config_keys[i].name);
	}
	for (size_t i = 0; i < mbx_config_nrules; i++)
		assert_non_null(strstr(buf, mbx_config_rules[i].doc));
	/* every line that starts with a dot is a request of man(7) */
	for (const char *p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		static const char *const macros[] = {".TH", ".SH", ".TP", ".B",  ".BR", ".I",
		                                     ".IB", ".BI", ".RB", ".RI", ".IP", ".PP",
		                                     ".br", ".RS", ".RE", ".nf", ".fi", ".\\\""};
		size_t n = strcspn(p, " \n");
		bool ok = false;

		if (*p != '.')
			continue;
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i]) == n && strncmp(p, macros[i], n) == 0)
				ok = true;
		if (!ok)
			fail_msg("not a man(7) request: %.*s", (int)n, p);
	}
	free(buf);
}

/* --- types ---------------------------------------------------------------------------------- */

static void test_string(void **state)
{
	struct mbx_config cfg;
	char name[80];

	kv_ok("server", "organization", "Contoso", &cfg);
	assert_string_equal(cfg.server.organization, "Contoso");
	mbx_config_free(&cfg);
	/* empty: an optional key stays not set; one with a default needs a value */
	kv_ok("server", "user", "", &cfg);
	assert_null(cfg.server.user);
	mbx_config_free(&cfg);
	kv_bad("server", "server_application", "", "server_application: needs a value");
	/* length bounds of name: 1 (empty needs a value), 63, 64 */
	kv_bad("server", "name", "", "duplicate key \"name\"");
	assert_int_equal(parse("[server]\nname =\nlegacy_dn = /o=A/cn=X\nldap_dn = cn=X\n", &cfg),
	                 -1);
	assert_string_equal(errbuf, "t.conf:2: name: needs a value");
	memset(name, 'A', 63);
	name[63] = '\0';
	{
		char text[512];

		snprintf(text, sizeof(text),
		         "[server]\nname = %s\nlegacy_dn = /o=A/cn=%s\nldap_dn = cn=X\n", name,
		         name);
		assert_int_equal(parse(text, &cfg), 0);
		assert_string_equal(cfg.server.name, name);
		mbx_config_free(&cfg);
		name[63] = 'A';
		name[64] = '\0';
		snprintf(text, sizeof(text),
		         "[server]\nname = %s\nlegacy_dn = /o=A/cn=%s\nldap_dn = cn=X\n", name,
		         name);
		assert_int_equal(parse(text, &cfg), -1);
		assert_string_equal(errbuf,
		                    "t.conf:2: name: value too long (64 bytes, at most 63)");
		snprintf(text, sizeof(text),
		         "[server]\nname = A\nlegacy_dn = /o=A/cn=A\nldap_dn = cn=X\n");
		assert_int_equal(parse(text, &cfg), 0);
		mbx_config_free(&cfg);
	}
	/* control characters */
	kv_bad("server", "organization", "Con\ttoso", "control character");
	kv_bad("server", "organization", "Con\x7ftoso", "control character");
	/* UTF-8 is fine */
	kv_ok("server", "pid_file", "/run/\xc3\xa9.pid", &cfg);
	assert_string_equal(cfg.server.pid_file, "/run/\xc3\xa9.pid");
	mbx_config_free(&cfg);
	kv_bad("server", "server_application", "Exchange 15", "printable ASCII without spaces");
	kv_bad("listen", "tls_ciphers", "HIGH:!aNULL \xc3\xa9", "printable ASCII");
	kv_ok("listen", "tls_ciphers", "HIGH:!aNULL:!MD5", &cfg);
	assert_string_equal(cfg.listen.tls_ciphers, "HIGH:!aNULL:!MD5");
	mbx_config_free(&cfg);
	kv_bad("server", "user", "9lives", "not a user or group name");
	kv_bad("listen", "control_socket_group", "a b", "not a user or group name");
	kv_ok("listen", "control_socket_group", "mbx-admin", &cfg);
	mbx_config_free(&cfg);
	kv_bad("directory", "base_dn", "not a dn", "not an LDAP DN");
	kv_ok("directory", "base_dn", "dc=contoso,dc=com", &cfg);
	assert_string_equal(cfg.directory.base_dn, "dc=contoso,dc=com");
	mbx_config_free(&cfg);
}

static void test_path(void **state)
{
	struct mbx_config cfg;
	char path[200];

	kv_ok("server", "pid_file", "/run/mbxstored.pid", &cfg);
	assert_string_equal(cfg.server.pid_file, "/run/mbxstored.pid");
	mbx_config_free(&cfg);
	kv_bad("server", "pid_file", "run/mbxstored.pid", "is not an absolute path");
	kv_bad("server", "state_dir", "", "state_dir: needs a value");
	/* control_socket: at most 107 bytes (sun_path) */
	path[0] = '/';
	memset(path + 1, 's', 106);
	path[107] = '\0';
	kv_ok("listen", "control_socket", path, &cfg);
	assert_int_equal(strlen(cfg.listen.control_socket), 107);
	mbx_config_free(&cfg);
	path[107] = 's';
	path[108] = '\0';
	kv_bad("listen", "control_socket", path, "value too long (108 bytes, at most 107)");
	kv_ok("listen", "control_socket", "/", &cfg); /* 1 byte */
	mbx_config_free(&cfg);
}

static void test_bool(void **state)
{
	static const char *const yes[] = {"yes", "true", "on", "1", "YES", "True", "oN"};
	static const char *const no[] = {"no", "false", "off", "0", "NO", "False", "OFF"};
	struct mbx_config cfg;

	for (size_t i = 0; i < 7; i++) {
		kv_ok("server", "exchange2003_compat", yes[i], &cfg);
		assert_true(cfg.server.exchange2003_compat);
		mbx_config_free(&cfg);
		kv_ok("directory", "starttls", no[i], &cfg);
		assert_false(cfg.directory.starttls);
		mbx_config_free(&cfg);
	}
	kv_bad("server", "exchange2003_compat", "maybe",
	       "exchange2003_compat: expected yes or no (true/false, on/off, 1/0), got \"maybe\"");
	kv_bad("server", "exchange2003_compat", "2", "expected yes or no");
	kv_bad("server", "exchange2003_compat", "", "expected yes or no");
	kv_bad("server", "exchange2003_compat", "y", "expected yes or no");
}

static void test_uint(void **state)
{
	struct mbx_config cfg;

	/* max_contexts 1..1000000: 0, 1, max, max+1 */
	kv_bad("limits", "max_contexts", "0", "max_contexts: 0 is out of range (1 to 1000000)");
	kv_ok("limits", "max_contexts", "1", &cfg);
	assert_int_equal(cfg.limits.max_contexts, 1);
	mbx_config_free(&cfg);
	kv_ok("limits", "max_contexts", "1000000", &cfg);
	assert_int_equal(cfg.limits.max_contexts, 1000000);
	mbx_config_free(&cfg);
	kv_bad("limits", "max_contexts", "1000001", "1000001 is out of range (1 to 1000000)");
	/* group_depth 0..64 */
	kv_ok("directory", "group_depth", "0", &cfg);
	assert_int_equal(cfg.directory.group_depth, 0);
	mbx_config_free(&cfg);
	kv_ok("directory", "group_depth", "1", &cfg);
	assert_int_equal(cfg.directory.group_depth, 1);
	mbx_config_free(&cfg);
	kv_ok("directory", "group_depth", "64", &cfg);
	assert_int_equal(cfg.directory.group_depth, 64);
	mbx_config_free(&cfg);
	kv_bad("directory", "group_depth", "65", "65 is out of range (0 to 64)");
	/* units in the message */
	kv_bad("limits", "pending_period_ms", "99",
	       "pending_period_ms: 99 is out of range (100 to 300000 milliseconds)");
	kv_ok("limits", "pending_period_ms", "300000", &cfg);
	assert_int_equal(cfg.limits.pending_period_ms, 300000);
	mbx_config_free(&cfg);
	kv_bad("limits", "pending_period_ms", "300001", "out of range");
	kv_bad("limits", "max_body_bytes", "4095", "(4096 to 67108864 bytes)");
	kv_ok("limits", "max_body_bytes", "67108864", &cfg);
	mbx_config_free(&cfg);
	kv_bad("limits", "max_body_bytes", "67108865", "out of range");
	kv_bad("directory", "retry_max_ms", "3600001", "(10 to 3600000 milliseconds)");
	kv_ok("cache", "stale_max_seconds", "0", &cfg);
	assert_int_equal(cfg.cache.stale_max_seconds, 0);
	mbx_config_free(&cfg);
	/* not numbers */
	kv_bad("limits", "max_contexts", "-1", "expected an unsigned decimal integer, got \"-1\"");
	kv_bad("limits", "max_contexts", "+1", "expected an unsigned decimal integer");
	kv_bad("limits", "max_contexts", "0x10", "expected an unsigned decimal integer");
	kv_bad("limits", "max_contexts", "1e3", "expected an unsigned decimal integer");
	kv_bad("limits", "max_contexts", "1 000", "expected an unsigned decimal integer");
	kv_bad("limits", "max_contexts", "ten", "got \"ten\"");
	kv_bad("limits", "max_contexts", "", "expected an unsigned decimal integer");
	/* huge numbers do not wrap */
	kv_bad("limits", "max_contexts", "4294967297", "out of range");
	kv_bad("limits", "max_contexts", "18446744073709551617", "out of range");
	kv_bad("limits", "max_contexts", "99999999999999999999999999999999", "out of range");
	/* leading zeros are decimal */
	kv_ok("limits", "max_contexts", "0010", &cfg);
	assert_int_equal(cfg.limits.max_contexts, 10);
	mbx_config_free(&cfg);
}

static void test_mode(void **state)
{
	struct mbx_config cfg;

	kv_ok("listen", "control_socket_mode", "0600", &cfg);
	assert_int_equal(cfg.listen.control_socket_mode, 0600);
	mbx_config_free(&cfg);
	kv_ok("listen", "control_socket_mode", "660", &cfg);
	assert_int_equal(cfg.listen.control_socket_mode, 0660);
	mbx_config_free(&cfg);
	kv_ok("listen", "control_socket_mode", "0", &cfg);
	assert_int_equal(cfg.listen.control_socket_mode, 0);
	mbx_config_free(&cfg);
	kv_ok("listen", "control_socket_mode", "0777", &cfg);
	assert_int_equal(cfg.listen.control_socket_mode, 0777);
	mbx_config_free(&cfg);
	kv_bad("listen", "control_socket_mode", "1000", "mode 1000 is above 0777");
	kv_bad("listen", "control_socket_mode", "0680", "expected an octal mode like 0660");
	kv_bad("listen", "control_socket_mode", "00660", "expected an octal mode");
	kv_bad("listen", "control_socket_mode", "rw", "expected an octal mode");
}

static void test_enum(void **state)
{
	struct mbx_config cfg;

	kv_ok("directory", "backend", "ldif", &cfg);
	assert_int_equal(cfg.directory.backend, MBX_CONFIG_BACKEND_LDIF);
	mbx_config_free(&cfg);
	kv_bad("directory", "backend", "ldapp",
	       "backend: unknown value \"ldapp\" (one of: ldif, ldap); did you mean \"ldap\"?");
	kv_bad("directory", "backend", "sql", "unknown value \"sql\" (one of: ldif, ldap)");
	kv_bad("directory", "backend", "", "unknown value \"\"");
	kv_ok("log", "level", "DEBUG", &cfg);
	assert_int_equal(cfg.log.level, MBX_LOG_DEBUG);
	mbx_config_free(&cfg);
	kv_ok("log", "facility", "local3", &cfg);
	assert_int_equal(cfg.log.facility, LOG_LOCAL3);
	mbx_config_free(&cfg);
	kv_ok("log", "target", "stderr", &cfg);
	assert_int_equal(cfg.log.target, MBX_CONFIG_LOG_STDERR);
	mbx_config_free(&cfg);
	kv_ok("listen", "tls_min_version", "1.3", &cfg);
	assert_int_equal(cfg.listen.tls_min_version, 0x0304);
	mbx_config_free(&cfg);
	kv_bad("listen", "tls_min_version", "1.1", "(one of: 1.2, 1.3)");
	kv_bad("log", "level", "warn", "did you mean \"warning\"?");
}

static void test_flags(void **state)
{
	struct mbx_config cfg;

	kv_ok("log", "trace", "rop  http\tstore", &cfg);
	assert_int_equal(cfg.log.trace, MBX_TRACE_ROP | MBX_TRACE_HTTP | MBX_TRACE_STORE);
	mbx_config_free(&cfg);
	kv_ok("log", "trace", "", &cfg);
	assert_int_equal(cfg.log.trace, 0);
	mbx_config_free(&cfg);
	kv_ok("log", "trace", "LDAP", &cfg);
	assert_int_equal(cfg.log.trace, MBX_TRACE_LDAP);
	mbx_config_free(&cfg);
	kv_bad("log", "trace", "rop htp", "unknown value \"htp\" (one of: rop, http, ldap, store)");
	kv_bad("log", "trace", "rop,http", "unknown value \"rop,http\"");
}

static void test_list(void **state)
{
	struct mbx_config cfg;
	char text[4096];
	size_t used = 0;

	kv_ok("directory", "uris", "ldaps://dc1.contoso.com ldap://127.0.0.1:3890 ldapi:///", &cfg);
	assert_int_equal(cfg.directory.nuris, 3);
	assert_string_equal(cfg.directory.uris[0], "ldaps://dc1.contoso.com");
	assert_string_equal(cfg.directory.uris[1], "ldap://127.0.0.1:3890");
	assert_string_equal(cfg.directory.uris[2], "ldapi:///");
	assert_null(cfg.directory.uris[3]);
	mbx_config_free(&cfg);
	/* 0 items */
	kv_ok("directory", "uris", "", &cfg);
	assert_int_equal(cfg.directory.nuris, 0);
	mbx_config_free(&cfg);
	/* 1, 16, 17 */
	kv_ok("directory", "uris", "ldap://h1", &cfg);
	assert_int_equal(cfg.directory.nuris, 1);
	mbx_config_free(&cfg);
	for (int i = 1; i <= 16; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%sldap://h%d",
		                         i > 1 ? " " : "", i);
	kv_ok("directory", "uris", text, &cfg);
	assert_int_equal(cfg.directory.nuris, 16);
	mbx_config_free(&cfg);
	snprintf(text + used, sizeof(text) - used, " ldap://h17");
	kv_bad("directory", "uris", text, "uris: 17 items; 0 to 16 expected");
	/* items */
	kv_bad("directory", "uris", "ldap://a ldap://A", "\"ldap://A\" is listed twice");
	kv_bad("directory", "uris", "ldap://a,ldap://b", "separated by spaces");
	kv_bad("directory", "uris", "http://dc1", "not an ldap://, ldaps:// or ldapi:// URI");
	kv_bad("directory", "uris", "dc1.contoso.com", "not an ldap://, ldaps:// or ldapi:// URI");
	kv_bad("directory", "uris", "ldap://dc1:port", "not an LDAP URI");
	kv_bad("directory", "uris", "ldap://dc1/dc=contoso", "no DN");
	kv_bad("directory", "uris", "ldap://", "names no host");
	/* forest domains: 1..64 items, each a domain of at most 253 bytes */
	assert_int_equal(
	        parse(REQ_SERVER "[forest.f]\ndomains =\nautodiscover_url = https://a.b\n", &cfg),
	        -1);
	assert_string_equal(errbuf, "t.conf:6: domains: 0 items; 1 to 64 expected");
	assert_int_equal(parse(REQ_SERVER
	                       "[forest.f]\ndomains = a..b\nautodiscover_url = https://a.b\n",
	                       &cfg),
	                 -1);
	assert_string_equal(errbuf, "t.conf:6: domains: \"a..b\": not a DNS domain name");
	{
		char dom[300];

		memset(dom, 'a', 254);
		for (int i = 63; i < 254; i += 64)
			dom[i] = '.';
		dom[254] = '\0';
		snprintf(text, sizeof(text),
		         REQ_SERVER "[forest.f]\ndomains = %s\nautodiscover_url = https://a.b\n",
		         dom);
		assert_int_equal(parse(text, &cfg), -1);
		assert_string_equal(
		        errbuf, "t.conf:6: domains: item 1 is too long (254 bytes, at most 253)");
		dom[253] = '\0';
		snprintf(text, sizeof(text),
		         REQ_SERVER "[forest.f]\ndomains = %s\nautodiscover_url = https://a.b\n",
		         dom);
		if (parse(text, &cfg) != 0)
			fail_msg("%s", errbuf);
		assert_int_equal(strlen(cfg.forests[0].domains[0]), 253);
		mbx_config_free(&cfg);
	}
}

static void test_addr(void **state)
{
	struct mbx_config cfg;
	struct mbx_config_addr a;
	char buf[300], text[2048];
	size_t used = 0;

	kv_ok("listen", "plain_http", "127.0.0.1:8080", &cfg);
	assert_true(cfg.listen.plain_http.set);
	assert_int_equal(cfg.listen.plain_http.family, AF_INET);
	assert_string_equal(cfg.listen.plain_http.host, "127.0.0.1");
	assert_int_equal(cfg.listen.plain_http.port, 8080);
	mbx_config_free(&cfg);
	kv_ok("listen", "plain_http", "[::1]:1", &cfg);
	assert_int_equal(cfg.listen.plain_http.family, AF_INET6);
	assert_string_equal(cfg.listen.plain_http.host, "::1");
	assert_int_equal(cfg.listen.plain_http.port, 1);
	mbx_config_free(&cfg);
	kv_ok("listen", "metrics", "localhost:65535", &cfg);
	assert_int_equal(cfg.listen.metrics.family, AF_UNSPEC);
	assert_int_equal(cfg.listen.metrics.port, 65535);
	mbx_config_free(&cfg);
	kv_ok("listen", "metrics", "127.1.2.3:9180", &cfg);
	mbx_config_free(&cfg);
	kv_ok("listen", "metrics", "[::ffff:127.0.0.1]:9180", &cfg);
	mbx_config_free(&cfg);
	kv_ok("listen", "metrics", "", &cfg); /* not set */
	assert_false(cfg.listen.metrics.set);
	mbx_config_free(&cfg);
	kv_bad("listen", "plain_http", "192.0.2.1:8080",
	       "plain_http: 192.0.2.1:8080 is not a loopback address");
	kv_bad("listen", "plain_http", "[::]:8080", "not a loopback address");
	kv_bad("listen", "metrics", "server1.contoso.com:9180", "not a loopback address");
	kv_bad("listen", "plain_http", "127.0.0.1:0", "the port is a number from 1 to 65535");
	kv_bad("listen", "plain_http", "127.0.0.1:65536", "the port is a number from 1 to 65535");
	kv_bad("listen", "plain_http", "127.0.0.1:", "the port is a number");
	kv_bad("listen", "plain_http", "127.0.0.1:80x", "the port is a number");
	kv_bad("listen", "plain_http", "127.0.0.1", "has no :port");
	kv_bad("listen", "plain_http", "::1:8080", "an IPv6 address goes in brackets");
	kv_bad("listen", "plain_http", "[::1]8080", "is not [IPv6]:port");
	kv_bad("listen", "plain_http", "[zz]:8080", "not an IP address or host name");
	kv_bad("listen", "plain_http", "127.0.0.256:80", "not an IP address or host name");
	kv_bad("listen", "plain_http", "-bad-:80", "not an IP address or host name");
	/* lists */
	kv_ok("listen", "https", "0.0.0.0:443 [::]:443 server1.contoso.com:8443", &cfg);
	assert_int_equal(cfg.listen.nhttps, 3);
	assert_int_equal(cfg.listen.https[1].family, AF_INET6);
	assert_string_equal(cfg.listen.https[2].host, "server1.contoso.com");
	assert_int_equal(cfg.listen.https[2].port, 8443);
	mbx_config_free(&cfg);
	kv_bad("listen", "https", "0.0.0.0:443 0.0.0.0:443", "0.0.0.0:443 is listed twice");
	kv_bad("listen", "https", "[::]:443 [0::0]:443", "[0::0]:443 is listed twice");
	kv_bad("listen", "https", "0.0.0.0:443 nope", "has no :port");
	for (int i = 1; i <= 16; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s127.0.0.1:%d",
		                         i > 1 ? " " : "", 1000 + i);
	kv_ok("listen", "https", text, &cfg);
	assert_int_equal(cfg.listen.nhttps, 16);
	mbx_config_free(&cfg);
	snprintf(text + used, sizeof(text) - used, " 127.0.0.1:2000");
	kv_bad("listen", "https", text, "https: 17 addresses; 0 to 16 expected");
	/* the functions */
	assert_int_equal(mbx_config_addr_parse("[2001:db8::1]:443", &a, buf, sizeof(buf)), 0);
	assert_string_equal(mbx_config_addr_format(&a, buf, sizeof(buf)), "[2001:db8::1]:443");
	assert_false(mbx_config_addr_is_loopback(&a));
	assert_int_equal(mbx_config_addr_parse("LocalHost:80", &a, buf, sizeof(buf)), 0);
	assert_true(mbx_config_addr_is_loopback(&a));
	assert_string_equal(mbx_config_addr_format(&a, buf, sizeof(buf)), "LocalHost:80");
	assert_int_equal(mbx_config_addr_parse("127.0.0.1:80", &a, buf, sizeof(buf)), 0);
	assert_true(mbx_config_addr_is_loopback(&a));
	assert_int_equal(mbx_config_addr_parse("128.0.0.1:80", &a, buf, sizeof(buf)), 0);
	assert_false(mbx_config_addr_is_loopback(&a));
	assert_int_equal(mbx_config_addr_parse("[::ffff:10.0.0.1]:80", &a, buf, sizeof(buf)), 0);
	assert_false(mbx_config_addr_is_loopback(&a));
	assert_int_equal(mbx_config_addr_parse("1.2.3:80", &a, buf, sizeof(buf)), -1);
	assert_int_equal(mbx_config_addr_parse(":80", &a, buf, sizeof(buf)), -1);
	assert_int_equal(mbx_config_addr_parse("[]:80", &a, buf, sizeof(buf)), -1);
	memset(&a, 0, sizeof(a));
	assert_string_equal(mbx_config_addr_format(&a, buf, sizeof(buf)), "");
	assert_false(mbx_config_addr_is_loopback(&a));
	assert_false(mbx_config_addr_is_loopback(NULL));
}

static void test_checks(void **state)
{
	char e[256];

	assert_int_equal(mbx_config_check_server_name("SERVER-1", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_server_name("-S", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_server_name("S-", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_server_name("S_1", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_server_name("", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_legacy_dn("/o=Contoso", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_legacy_dn("/O=Contoso/ou=A B (C)/cn=x", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_legacy_dn("o=Contoso", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_legacy_dn("/o=Contoso//cn=x", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_legacy_dn("/o=Contoso/cn=", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_legacy_dn("/o=Contoso/=x", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_legacy_dn("/o=", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_dn("cn=a\\,b,dc=x", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_dn("", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_dn("cn", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_unix_name("_mbxstore", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_unix_name("host$", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_unix_name("a$b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_unix_name("a:b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_domain("fabrikam.com", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_domain("x-1.fabrikam.com", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_domain("fabrikam.com.", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_domain("-a.com", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_domain("a-.com", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_domain("a_b.com", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_domain("@a.com", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b/x/y.xml", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_url("HTTPS://[2001:db8::1]:8443", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_url("http://127.0.0.1:8080/", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_url("http://localhost", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_url("http://a.b", e, sizeof(e)), -1);
	assert_string_equal(e, "http:// is for loopback hosts only; use https://");
	assert_int_equal(mbx_config_check_url("ftp://a.b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b:0", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b:65536", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b:", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://u@a.b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b/x@y", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_url("https://a.b/?q", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a.b/#f", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://a b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_url("https://::1/", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_attr_name("x-msExchMailboxGuid", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_attr_name("1.3.6.1.4.1.1", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_attr_name("1..3", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_attr_name("1.3.", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_attr_name("-x", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_attr_name("a_b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_token("Exchange/15", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_token("a b", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_ldap_uri("ldaps://[::1]:636", e, sizeof(e)), 0);
	assert_int_equal(mbx_config_check_ldap_uri("ldap://h/??sub?(cn=x)", e, sizeof(e)), -1);
	assert_int_equal(mbx_config_check_ldap_uri("LDAPI://%2fvar%2frun%2fldapi", e, sizeof(e)),
	                 0);
}

/* --- syntax --------------------------------------------------------------------------------- */

static void test_syntax(void **state)
{
	struct mbx_config cfg;
	char *text;
	size_t len;

	/* comments (# and ; at the start and after whitespace), indentation, "key: value",
	 * CR LF, a BOM, a last line without a newline */
	assert_int_equal(parse("\xef\xbb\xbf# comment\r\n"
	                       "; another\r\n"
	                       "[server] ; the server\r\n"
	                       "   name = SERVER1 # inline\r\n"
	                       "\tlegacy_dn: /o=Contoso/cn=SERVER1 ;inline\r\n"
	                       "ldap_dn=cn=SERVER1,dc=x\r\n"
	                       "\r\n"
	                       "[listen]\n"
	                       "tls_ciphers = HIGH:!aNULL;x#y\n"
	                       "[log]\n"
	                       "trace = rop",
	                       &cfg),
	                 0);
	assert_string_equal(cfg.server.name, "SERVER1");
	assert_string_equal(cfg.server.legacy_dn, "/o=Contoso/cn=SERVER1");
	assert_string_equal(cfg.server.ldap_dn, "cn=SERVER1,dc=x");
	assert_string_equal(cfg.server.organization, "Contoso");
	assert_string_equal(cfg.listen.tls_ciphers, "HIGH:!aNULL;x#y"); /* no space before */
	assert_int_equal(cfg.log.trace, MBX_TRACE_ROP);
	mbx_config_free(&cfg);

	/* an indented line is never a continuation of the previous value */
	expect_errors(REQ_SERVER "[log]\ntrace = rop\n    http\n",
	              "t.conf:7: expected \"key = value\", \"[section]\" or a comment");
	/* a BOM only at the start */
	expect_errors(REQ_SERVER "\xef\xbb\xbf[log]\n",
	              "t.conf:5: expected \"key = value\", \"[section]\" or a comment");
	/* section header syntax */
	expect_errors(REQ_SERVER "[log\n", "t.conf:5: section header without a closing ]");
	expect_errors(REQ_SERVER "[log ;]\n", "t.conf:5: section header without a closing ]");
	expect_errors(REQ_SERVER "[log] trace = rop\n", "t.conf:5: text after the section header");
	assert_int_equal(parse(REQ_SERVER "[log]#c\n[cache];c\n[limits] # c\n", &cfg), 0);
	mbx_config_free(&cfg);
	/* keys */
	expect_errors("name = SERVER1\n" REQ_SERVER,
	              "t.conf:1: key \"name\" before the first [section]");
	expect_errors(REQ_SERVER "= x\n", "t.conf:5: missing key name before =");
	expect_errors(REQ_SERVER "just words\n",
	              "t.conf:5: expected \"key = value\", \"[section]\" or a comment");
	expect_errors(REQ_SERVER "user ;= x\n",
	              "t.conf:5: expected \"key = value\", \"[section]\" or a comment");
	/* the value is the rest of the line: no quotes */
	expect_errors(REQ_SERVER "organization = \"Contoso\"\n",
	              "t.conf:5: organization \"\"Contoso\"\" is not the /o= part of legacy_dn");

	/* NUL byte and line length: 4096 bytes fine, 4097 not */
	text = malloc(8192);
	assert_non_null(text);
	len = (size_t)snprintf(text, 8192, REQ_SERVER "[listen]\n");
	memcpy(text + len, "tls_ciphers = ", 14);
	memset(text + len + 14, 'A', 4096 - 14);
	text[len + 4096] = '\n';
	assert_int_equal(mbx_config_parse("t.conf", text, len + 4097, &cfg, errbuf, sizeof(errbuf)),
	                 -1);
	/* the line is read: the value is too long for the key (1023), not for the line */
	assert_string_equal(errbuf, "t.conf:6: tls_ciphers: value too long (4082 bytes, at most "
	                            "1023)");
	text[len + 4096] = 'A';
	text[len + 4097] = '\n';
	memcpy(text + len + 4098, "[nope]\n", 7);
	assert_int_equal(mbx_config_parse("t.conf", text, len + 4105, &cfg, errbuf, sizeof(errbuf)),
	                 -1);
	assert_string_equal(errbuf, "t.conf:6: line longer than 4096 bytes\n"
	                            "t.conf:7: unknown section [nope]");
	len = (size_t)snprintf(text, 8192, REQ_SERVER "[log]\ntrace = rop\n");
	text[len - 3] = '\0';
	assert_int_equal(mbx_config_parse("t.conf", text, len, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, "t.conf:6: NUL byte in the line");
	/* a file bigger than the bound */
	assert_int_equal(mbx_config_parse("t.conf", text, MBX_CONFIG_FILE_MAX + 1, &cfg, errbuf,
	                                  sizeof(errbuf)),
	                 -1);
	assert_string_equal(errbuf, "t.conf: larger than 1048576 bytes");
	free(text);

	/* an empty file lacks the required keys */
	expect_errors("", "t.conf: [server] needs name\n"
	                  "t.conf: [server] needs legacy_dn\n"
	                  "t.conf: [server] needs ldap_dn");
	expect_errors("[server]\n", "t.conf:1: [server] needs name\n"
	                            "t.conf:1: [server] needs legacy_dn\n"
	                            "t.conf:1: [server] needs ldap_dn");
}

/* --- unknown, duplicates, every error ------------------------------------------------------- */

static void test_unknown(void **state)
{
	expect_errors(REQ_SERVER "nmae = x\n",
	              "t.conf:5: unknown key \"nmae\" in [server]; did you mean \"name\"?");
	expect_errors(REQ_SERVER "Name = x\n",
	              "t.conf:5: unknown key \"Name\" in [server]; did you mean \"name\"?");
	expect_errors(REQ_SERVER "uris = ldap://a\n",
	              "t.conf:5: unknown key \"uris\" in [server]; it belongs in [directory]");
	expect_errors(REQ_SERVER "colour = blue\n", "t.conf:5: unknown key \"colour\" in [server]");
	expect_errors(REQ_SERVER "[directory]\nbackend = ldap\nbind_pasword_file = /x\n",
	              "t.conf:7: unknown key \"bind_pasword_file\" in [directory]; did you mean "
	              "\"bind_password_file\"?");
	expect_errors(REQ_SERVER "[limits]\ncontext_idle_second = 5\n",
	              "t.conf:6: unknown key \"context_idle_second\" in [limits]; did you mean "
	              "\"context_idle_seconds\"?");
	expect_errors(REQ_SERVER "[forest.f]\ndomain = a.b\n",
	              "t.conf:6: unknown key \"domain\" in [forest.NAME]; did you mean "
	              "\"domains\"?");
	expect_errors(REQ_SERVER "[log]\ndomains = a.b\n",
	              "t.conf:6: unknown key \"domains\" in [log]; it belongs in [forest.NAME]");
	/* sections; the keys of an unknown section are not looked at */
	expect_errors(REQ_SERVER "[sever]\nx = 1\n",
	              "t.conf:5: unknown section [sever]; did you mean [server]?");
	expect_errors(REQ_SERVER "[ log ]\n", "t.conf:5: unknown section [ log ]; did you mean "
	                                      "[log]?");
	expect_errors(REQ_SERVER "[Limits]\n",
	              "t.conf:5: unknown section [Limits]; did you mean [limits]?");
	expect_errors(REQ_SERVER "[database]\n", "t.conf:5: unknown section [database]");
	expect_errors(REQ_SERVER "[forest]\n", "t.conf:5: a forest section is named [forest.NAME]");
	expect_errors(REQ_SERVER "[forest.]\n",
	              "t.conf:5: [forest.]: a forest name is 1 to 63 letters, digits, '.', '_' "
	              "and '-'");
	expect_errors(REQ_SERVER "[forest.a b]\n",
	              "t.conf:5: [forest.a b]: a forest name is 1 to 63 letters, digits, '.', '_' "
	              "and '-'");
	/* [attributes] */
	expect_errors(REQ_SERVER "[attributes]\nmsExchMailboxGuide = x\n",
	              "t.conf:6: unknown attribute \"msExchMailboxGuide\" in [attributes]; did you "
	              "mean \"msExchMailboxGuid\"?");
	expect_errors(REQ_SERVER "[attributes]\nfavouriteColour = x\n",
	              "t.conf:6: unknown attribute \"favouriteColour\" in [attributes] (see "
	              "mbxstored.conf(5) for the list)");
}

static void test_duplicates(void **state)
{
	expect_errors(REQ_SERVER "name = SERVER2\n",
	              "t.conf:5: duplicate key \"name\" (first set at line 2)");
	expect_errors(REQ_SERVER "[limits]\nmax_contexts = 5\n\nmax_contexts = 5\n",
	              "t.conf:8: duplicate key \"max_contexts\" (first set at line 6)");
	/* a repeated section is an error, and its keys are still checked */
	expect_errors(REQ_SERVER "[log]\nlevel = info\n[log]\nlevel = debug\ntarget = x\n",
	              "t.conf:7: section [log] appears twice (first at line 5)\n"
	              "t.conf:8: duplicate key \"level\" (first set at line 6)\n"
	              "t.conf:9: target: unknown value \"x\" (one of: stderr, syslog)");
	expect_errors(REQ_SERVER "[forest.f]\ndomains = a.b\nautodiscover_url = https://a.b\n"
	                         "[forest.F]\n",
	              "t.conf:8: section [forest.F] appears twice (first at line 5)");
	expect_errors(REQ_SERVER "[forest.f]\ndomains = a.b\ndomains = c.d\n"
	                         "autodiscover_url = https://a.b\n",
	              "t.conf:7: duplicate key \"domains\" (first set at line 6)");
	expect_errors(REQ_SERVER "[servers]\nSERVER1 = https://a.b\nserver1 = https://c.d\n",
	              "t.conf:7: duplicate key \"server1\" (first set at line 6)");
	expect_errors(REQ_SERVER "[attributes]\nmail = x-mail\nMAIL = y-mail\n",
	              "t.conf:7: duplicate key \"MAIL\" (first set at line 6)");
	expect_errors(REQ_SERVER "[attributes]\nmail = x-mail\nmailNickname = X-MAIL\n",
	              "t.conf:7: [attributes] mailNickname: \"X-MAIL\" already stands for mail (line 6)");
}

/* A file with one error of each kind: all are listed, in order, with their lines. */
static void test_all_errors(void **state)
{
	expect_errors("# a file full of mistakes\n"
	              "[server]\n"
	              "name = SERVER1\n"
	              "nmae = SERVER2\n" /* 4 */
	              "legacy_dn = /o=Contoso/cn=SERVER1\n"
	              "ldap_dn = not a dn\n" /* 6 */
	              "[listen]\n"
	              "plain_http = 192.0.2.1:80\n"  /* 8 */
	              "control_socket_mode = 0999\n" /* 9 */
	              "[limits]\n"
	              "max_contexts = 0\n"      /* 11 */
	              "max_body_bytes = lots\n" /* 12 */
	              "max_contexts = 2\n"      /* 13 */
	              "[directroy]\n"           /* 14 */
	              "backend = ldap\n"
	              "[directory]\n"
	              "backend = sql\n"      /* 17 */
	              "starttls = perhaps\n" /* 18 */
	              "this line is wrong\n" /* 19 */
	              "[log\n"               /* 20 */
	              "[servers]\n"
	              "SERVER_2 = https://a.b\n" /* 22 */
	              "SERVER3 = ftp://a.b\n"    /* 23 */
	              "[forest.fabrikam]\n"
	              "domains = fabrikam.com fabrikam.com\n" /* 25 */
	              "[log]\n"
	              "trace = rop sql\n", /* 27 */
	              "t.conf:4: unknown key \"nmae\" in [server]; did you mean \"name\"?\n"
	              "t.conf:6: ldap_dn: not an LDAP DN (RFC 4514)\n"
	              "t.conf:8: plain_http: 192.0.2.1:80 is not a loopback address (127.0.0.0/8, "
	              "[::1], localhost)\n"
	              "t.conf:9: control_socket_mode: expected an octal mode like 0660, got "
	              "\"0999\"\n"
	              "t.conf:11: max_contexts: 0 is out of range (1 to 1000000)\n"
	              "t.conf:12: max_body_bytes: expected an unsigned decimal integer, got "
	              "\"lots\"\n"
	              "t.conf:13: duplicate key \"max_contexts\" (first set at line 11)\n"
	              "t.conf:14: unknown section [directroy]; did you mean [directory]?\n"
	              "t.conf:17: backend: unknown value \"sql\" (one of: ldif, ldap)\n"
	              "t.conf:18: starttls: expected yes or no (true/false, on/off, 1/0), got "
	              "\"perhaps\"\n"
	              "t.conf:19: expected \"key = value\", \"[section]\" or a comment\n"
	              "t.conf:20: section header without a closing ]\n"
	              "t.conf:22: [servers] \"SERVER_2\": a server name is 1 to 63 letters, digits "
	              "and inner hyphens\n"
	              "t.conf:23: [servers] SERVER3: \"ftp://a.b\": not an https:// URL\n"
	              "t.conf:25: domains: \"fabrikam.com\" is listed twice\n"
	              "t.conf:27: trace: unknown value \"sql\" (one of: rop, http, ldap, store)");
}

static void test_error_buffer(void **state)
{
	struct mbx_config cfg;
	char text[8192], small[120];
	size_t used = 0;

	used += (size_t)snprintf(text + used, sizeof(text) - used, REQ_SERVER "[limits]\n");
	for (int i = 0; i < 5; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "bad%d = 1\n", i);
	/* cut at a line boundary, with the count of what is left out */
	assert_int_equal(mbx_config_parse("t.conf", text, used, &cfg, small, sizeof(small)), -1);
	assert_string_equal(small, "t.conf:6: unknown key \"bad0\" in [limits]\n"
	                           "t.conf:7: unknown key \"bad1\" in [limits]\n"
	                           "(3 more errors)");
	assert_int_equal(mbx_config_parse("t.conf", text, used, &cfg, small, 20), -1);
	assert_string_equal(small, "(5 more errors)");
	assert_int_equal(mbx_config_parse("t.conf", text, used, &cfg, small, 8), -1);
	assert_string_equal(small, "(5 more");
	assert_int_equal(mbx_config_parse("t.conf", text, used, &cfg, NULL, 0), -1);
	/* exactly fitting */
	assert_int_equal(parse(text, &cfg), -1);
	{
		size_t n = strlen(errbuf) + 1;
		char *exact = malloc(n);

		assert_non_null(exact);
		assert_int_equal(mbx_config_parse("t.conf", text, used, &cfg, exact, n), -1);
		assert_string_equal(exact, errbuf);
		free(exact);
	}
	/* too many errors: the parse stops */
	used = (size_t)snprintf(text, sizeof(text), REQ_SERVER "[limits]\n");
	for (int i = 0; i < 150; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "x\n");
	assert_int_equal(parse(text, &cfg), -1);
	assert_non_null(strstr(errbuf, "t.conf:105: expected"));
	assert_null(strstr(errbuf, "t.conf:106:"));
	assert_non_null(strstr(errbuf, "\ntoo many errors; the rest of the file was not read"));
}

/* --- rules between keys --------------------------------------------------------------------- */

static void test_rules(void **state)
{
	struct mbx_config cfg;

	/* required */
	expect_errors("[server]\nname = S\nldap_dn = cn=S\n[forest.f]\n",
	              "t.conf:1: [server] needs legacy_dn\n"
	              "t.conf:4: [forest.f] needs domains\n"
	              "t.conf:4: [forest.f] needs autodiscover_url");
	/* server name and legacy DN */
	expect_errors("[server]\nname = SERVER2\nlegacy_dn = /o=C/cn=SERVER1\nldap_dn = cn=x\n",
	              "t.conf:3: legacy_dn does not end with /cn=SERVER2 (the server's name)");
	assert_int_equal(parse("[server]\nname = server1\nlegacy_dn = /o=C/CN=SERVER1\nldap_dn = "
	                       "cn=x\norganization = c\n",
	                       &cfg),
	                 0);
	assert_string_equal(cfg.server.organization, "c");
	mbx_config_free(&cfg);
	expect_errors(REQ_SERVER "organization = Fabrikam\n",
	              "t.conf:5: organization \"Fabrikam\" is not the /o= part of legacy_dn");
	expect_errors(REQ_SERVER "organization = Contos\n",
	              "t.conf:5: organization \"Contos\" is not the /o= part of legacy_dn");
	/* TLS pair */
	expect_errors(REQ_SERVER "[listen]\ntls_cert = /etc/c.pem\n",
	              "t.conf:6: tls_cert and tls_key go together: set both or neither");
	expect_errors(REQ_SERVER "[listen]\ntls_key = /etc/k.pem\n",
	              "t.conf:6: tls_cert and tls_key go together: set both or neither");
	assert_int_equal(parse(REQ_SERVER "[listen]\ntls_key = /k\ntls_cert = /c\n", &cfg), 0);
	mbx_config_free(&cfg);
	/* listeners */
	expect_errors(REQ_SERVER "[listen]\nhttps =\n",
	              "t.conf:6: no listener: https is empty and plain_http is not set");
	assert_int_equal(parse(REQ_SERVER "[listen]\nhttps =\nplain_http = 127.0.0.1:8080\n", &cfg),
	                 0);
	assert_int_equal(cfg.listen.nhttps, 0);
	mbx_config_free(&cfg);
	expect_errors(REQ_SERVER "[listen]\nhttps = 127.0.0.1:443\nmetrics = 127.0.0.1:443\n",
	              "t.conf:7: metrics 127.0.0.1:443 is also an https address");
	expect_errors(REQ_SERVER "[listen]\nplain_http = [::1]:80\nmetrics = [0:0::1]:80\n",
	              "t.conf:7: metrics and plain_http are the same address");
	/* limits */
	expect_errors(REQ_SERVER "[limits]\nnotification_wait_seconds = 900\n",
	              "t.conf:6: notification_wait_seconds (900) must be below "
	              "context_idle_seconds (900): a context would expire while its client waits");
	assert_int_equal(parse(REQ_SERVER "[limits]\nnotification_wait_seconds = 899\n", &cfg), 0);
	mbx_config_free(&cfg);
	/* ldap needs */
	expect_errors(REQ_SERVER "[directory]\nbackend = ldap\n",
	              "t.conf:6: backend = ldap needs uris\n"
	              "t.conf:6: backend = ldap needs base_dn\n"
	              "t.conf:6: backend = ldap needs bind_dn\n"
	              "t.conf:6: backend = ldap needs bind_password_file");
	/* retry */
	expect_errors(REQ_SERVER "[directory]\nretry_min_ms = 30001\n",
	              "t.conf:6: retry_min_ms (30001) is above retry_max_ms (30000)");
	assert_int_equal(
	        parse(REQ_SERVER "[directory]\nretry_min_ms = 500\nretry_max_ms = 500\n", &cfg), 0);
	mbx_config_free(&cfg);
	/* clear text */
	expect_errors(REQ_SERVER "[directory]\nbackend = ldap\nuris = ldap://127.0.0.1 "
	                         "ldap://dc1.contoso.com ldaps://dc2.contoso.com ldap://[::1]:389 "
	                         "ldapi:///\nbase_dn = dc=x\nbind_dn = cn=y\nbind_password_file = "
	                         "/pw\nstarttls = no\n",
	              "t.conf:7: ldap://dc1.contoso.com with starttls = no would send the service "
	              "password in clear; use ldaps://, starttls = yes, or cleartext_bind = yes");
	assert_int_equal(parse(REQ_SERVER
	                       "[directory]\nbackend = ldap\nuris = ldap://dc1\n"
	                       "base_dn = dc=x\nbind_dn = cn=y\nbind_password_file = /pw\n"
	                       "starttls = no\ncleartext_bind = yes\n",
	                       &cfg),
	                 0);
	mbx_config_free(&cfg);
	/* the ldif backend does not care */
	assert_int_equal(parse(REQ_SERVER "[directory]\nuris = ldap://dc1\nstarttls = no\n", &cfg),
	                 0);
	mbx_config_free(&cfg);
	/* cache */
	expect_errors(REQ_SERVER "[cache]\nttl_seconds = 600\nstale_max_seconds = 599\n",
	              "t.conf:7: stale_max_seconds (599) is below ttl_seconds (600): stale facts "
	              "would never be served; set it to 0 to mean that");
	assert_int_equal(
	        parse(REQ_SERVER "[cache]\nttl_seconds = 600\nstale_max_seconds = 0\n", &cfg), 0);
	mbx_config_free(&cfg);
	/* attributes */
	expect_errors(REQ_SERVER "[attributes]\nmail = displayName\n",
	              "t.conf:6: mail = displayName: displayName is read under its own name too; "
	              "map displayName to another name as well");
	assert_int_equal(parse(REQ_SERVER "[attributes]\nmail = displayName\ndisplayName = cn2\n"
	                                  "cn = cn\n",
	                       &cfg),
	                 0);
	assert_int_equal(cfg.nattrs, 3);
	mbx_config_free(&cfg);
	/* forests */
	expect_errors(REQ_SERVER
	              "[forest.a]\ndomains = a.com shared.com\nautodiscover_url = "
	              "https://a.com\n[forest.b]\ndomains = SHARED.com\nautodiscover_url "
	              "= https://b.com\n",
	              "t.conf:9: domain SHARED.com is in [forest.a] and [forest.b]");
	/* the rules wait until the file has no other error */
	expect_errors(REQ_SERVER "[directory]\nbackend = ldap\nuris = http://x\n",
	              "t.conf:7: uris: \"http://x\": not an ldap://, ldaps:// or ldapi:// URI");
}

/* --- a full, realistic file ----------------------------------------------------------------- */

static const char full_conf[] =
        "# SERVER2 of Contoso, LDAP directory with two domain controllers\n"
        "[server]\n"
        "name = SERVER2\n"
        "legacy_dn = /o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
        "cn=Configuration/cn=Servers/cn=SERVER2\n"
        "ldap_dn = cn=SERVER2,cn=Servers,cn=Exchange Administrative Group (FYDIBOHF23SPDLT),"
        "cn=Administrative Groups,cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,"
        "dc=contoso,dc=com\n"
        "organization = Contoso\n"
        "exchange2003_compat = yes\n"
        "server_application = Exchange/15.02.1118.007\n"
        "user = _mbxstore\n"
        "pid_file = /run/mbxstored/mbxstored.pid\n"
        "state_dir = /var/lib/mbxstore\n"
        "\n"
        "[listen]\n"
        "https = 0.0.0.0:443 [::]:443\n"
        "tls_cert = /etc/mbxstore/tls/server2.pem\n"
        "tls_key = /etc/mbxstore/tls/server2.key\n"
        "tls_ciphers = ECDHE+AESGCM:!aNULL\n"
        "tls_min_version = 1.3\n"
        "plain_http = 127.0.0.1:8080\n"
        "metrics = [::1]:9180\n"
        "control_socket = /run/mbxstored/ctl.sock\n"
        "control_socket_mode = 0600\n"
        "control_socket_group = mbxadmin\n"
        "\n"
        "[limits]\n"
        "max_connections = 4096\n"
        "request_timeout_seconds = 30\n"
        "max_body_bytes = 524288\n"
        "max_rops_per_execute = 512\n"
        "max_contexts = 20000\n"
        "max_contexts_per_user = 16\n"
        "context_idle_seconds = 1800\n"
        "pending_period_ms = 30000\n"
        "notification_wait_seconds = 600\n"
        "\n"
        "[directory]\n"
        "backend = ldap\n"
        "ldif_path = /srv/unused.ldif\n"
        "uris = ldaps://dc1.contoso.com ldap://dc2.contoso.com:3268\n"
        "base_dn = dc=contoso,dc=com\n"
        "bind_dn = cn=mbxstored,cn=Users,dc=contoso,dc=com\n"
        "bind_password_file = /etc/mbxstore/bind.pw\n"
        "ca_file = /etc/ssl/certs/contoso-ca.pem\n"
        "starttls = yes\n"
        "cleartext_bind = no\n"
        "network_timeout_ms = 800\n"
        "request_timeout_ms = 2500\n"
        "retry_min_ms = 100\n"
        "retry_max_ms = 60000\n"
        "content_sync = no\n"
        "group_depth = 4\n"
        "\n"
        "[attributes]\n"
        "msExchMailboxGuid = x-msExchMailboxGuid\n"
        "msExchMailboxMoveStatus = 1.3.6.1.4.1.99999.2.1\n"
        "\n"
        "[cache]\n"
        "ttl_seconds = 120\n"
        "negative_ttl_seconds = 0\n"
        "stale_max_seconds = 7200\n"
        "max_entries = 0\n"
        "\n"
        "[servers]\n"
        "SERVER1 = https://server1.contoso.com/\n"
        "SERVER2 = https://server2.contoso.com:8443/exchange\n"
        "\n"
        "[forest.fabrikam]\n"
        "domains = fabrikam.com fabrikam.net\n"
        "autodiscover_url = https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml\n"
        "\n"
        "[forest.tailspin]\n"
        "domains = tailspintoys.com\n"
        "autodiscover_url = https://mail.tailspintoys.com/autodiscover/autodiscover.xml\n"
        "\n"
        "[log]\n"
        "target = stderr\n"
        "facility = local2\n"
        "level = notice\n"
        "trace = ldap store\n";

static void test_full(void **state)
{
	struct mbx_config cfg;
	struct mbx_dir_config dc;
	struct mbx_server_identity id;
	struct mbx_mailbox_table_config tc;

	if (parse(full_conf, &cfg) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.file, "t.conf");
	assert_string_equal(cfg.server.name, "SERVER2");
	assert_string_equal(cfg.server.organization, "Contoso");
	assert_true(cfg.server.exchange2003_compat);
	assert_string_equal(cfg.server.server_application, "Exchange/15.02.1118.007");
	assert_string_equal(cfg.server.user, "_mbxstore");
	assert_string_equal(cfg.server.pid_file, "/run/mbxstored/mbxstored.pid");
	assert_string_equal(cfg.server.state_dir, "/var/lib/mbxstore");
	assert_int_equal(cfg.listen.nhttps, 2);
	assert_string_equal(cfg.listen.https[1].host, "::");
	assert_string_equal(cfg.listen.tls_cert, "/etc/mbxstore/tls/server2.pem");
	assert_string_equal(cfg.listen.tls_key, "/etc/mbxstore/tls/server2.key");
	assert_string_equal(cfg.listen.tls_ciphers, "ECDHE+AESGCM:!aNULL");
	assert_int_equal(cfg.listen.tls_min_version, 0x0304);
	assert_int_equal(cfg.listen.plain_http.port, 8080);
	assert_string_equal(cfg.listen.metrics.host, "::1");
	assert_string_equal(cfg.listen.control_socket, "/run/mbxstored/ctl.sock");
	assert_int_equal(cfg.listen.control_socket_mode, 0600);
	assert_string_equal(cfg.listen.control_socket_group, "mbxadmin");
	assert_int_equal(cfg.limits.max_connections, 4096);
	assert_int_equal(cfg.limits.request_timeout_seconds, 30);
	assert_int_equal(cfg.limits.max_body_bytes, 524288);
	assert_int_equal(cfg.limits.max_rops_per_execute, 512);
	assert_int_equal(cfg.limits.max_contexts, 20000);
	assert_int_equal(cfg.limits.max_contexts_per_user, 16);
	assert_int_equal(cfg.limits.context_idle_seconds, 1800);
	assert_int_equal(cfg.limits.pending_period_ms, 30000);
	assert_int_equal(cfg.limits.notification_wait_seconds, 600);
	assert_int_equal(cfg.directory.backend, MBX_CONFIG_BACKEND_LDAP);
	assert_int_equal(cfg.directory.nuris, 2);
	assert_string_equal(cfg.directory.ca_file, "/etc/ssl/certs/contoso-ca.pem");
	assert_false(cfg.directory.content_sync);
	assert_int_equal(cfg.nattrs, 2);
	assert_string_equal(cfg.attrs[0].canonical, "msExchMailboxGuid");
	assert_string_equal(cfg.attrs[0].server, "x-msExchMailboxGuid");
	assert_string_equal(cfg.attrs[1].server, "1.3.6.1.4.1.99999.2.1");
	assert_int_equal(cfg.cache.max_entries, 0);
	assert_int_equal(cfg.nservers, 2);
	assert_string_equal(mbx_config_server_url(&cfg, "server1"), "https://server1.contoso.com");
	assert_string_equal(mbx_config_server_url(&cfg, "SERVER2"),
	                    "https://server2.contoso.com:8443/exchange");
	assert_null(mbx_config_server_url(&cfg, "SERVER3"));
	assert_null(mbx_config_server_url(&cfg, NULL));
	assert_int_equal(cfg.nforests, 2);
	assert_string_equal(cfg.forests[0].name, "fabrikam");
	assert_int_equal(cfg.forests[0].ndomains, 2);
	assert_string_equal(cfg.forests[0].domains[1], "fabrikam.net");
	assert_null(cfg.forests[0].domains[2]);
	assert_string_equal(cfg.forests[1].autodiscover_url,
	                    "https://mail.tailspintoys.com/autodiscover/autodiscover.xml");
	assert_int_equal(cfg.log.target, MBX_CONFIG_LOG_STDERR);
	assert_int_equal(cfg.log.facility, LOG_LOCAL2);
	assert_int_equal(cfg.log.level, MBX_LOG_NOTICE);
	assert_int_equal(cfg.log.trace, MBX_TRACE_LDAP | MBX_TRACE_STORE);

	/* the views */
	mbx_config_dir_config(&cfg, &dc);
	assert_string_equal(dc.backend, "ldap");
	assert_string_equal(dc.ldif_path, "/srv/unused.ldif");
	assert_string_equal(dc.uris[0], "ldaps://dc1.contoso.com");
	assert_string_equal(dc.uris[1], "ldap://dc2.contoso.com:3268");
	assert_null(dc.uris[2]);
	assert_string_equal(dc.base_dn, "dc=contoso,dc=com");
	assert_string_equal(dc.bind_dn, "cn=mbxstored,cn=Users,dc=contoso,dc=com");
	assert_string_equal(dc.bind_password_file, "/etc/mbxstore/bind.pw");
	assert_string_equal(dc.ca_file, "/etc/ssl/certs/contoso-ca.pem");
	assert_true(dc.starttls);
	assert_int_equal(dc.network_timeout_ms, 800);
	assert_int_equal(dc.request_timeout_ms, 2500);
	assert_int_equal(dc.retry_min_ms, 100);
	assert_int_equal(dc.retry_max_ms, 60000);
	assert_false(dc.content_sync);
	assert_int_equal(dc.nattrmap, 2);
	assert_ptr_equal(dc.attrmap, cfg.attrs);
	assert_int_equal(dc.group_depth, 4);
	mbx_config_server_identity(&cfg, &id);
	assert_string_equal(id.name, "SERVER2");
	assert_ptr_equal(id.legacy_dn, cfg.server.legacy_dn);
	assert_ptr_equal(id.ldap_dn, cfg.server.ldap_dn);
	assert_true(id.exchange2003_compat);
	assert_int_equal(id.nforests, 2);
	assert_string_equal(id.forests[0].name, "fabrikam");
	assert_int_equal(id.forests[0].nsmtp_domains, 2);
	assert_string_equal(id.forests[0].smtp_domains[0], "fabrikam.com");
	assert_string_equal(id.forests[1].autodiscover_url,
	                    "https://mail.tailspintoys.com/autodiscover/autodiscover.xml");
	/* the store's own lookup finds the forests */
	assert_ptr_equal(mbx_server_identity_forest(&id, "FABRIKAM.NET"), &id.forests[0]);
	assert_ptr_equal(mbx_server_identity_forest(&id, "tailspintoys.com"), &id.forests[1]);
	assert_null(mbx_server_identity_forest(&id, "contoso.com"));
	mbx_config_table_config(&cfg, &tc);
	assert_int_equal(tc.ttl_ms, 120000);
	assert_int_equal(tc.negative_ttl_ms, 0);
	assert_int_equal(tc.stale_max_ms, 7200000);
	assert_int_equal(tc.max_entries, 0);
	assert_null(tc.defer.ops);
	assert_null(tc.clock);

	round_trip(&cfg);
	mbx_config_free(&cfg);
	assert_null(cfg.forests);
	assert_null(cfg.foreign);
}

static void test_round_trip(void **state)
{
	struct mbx_config cfg;
	char *text = sample_text();

	assert_int_equal(parse(text, &cfg), 0);
	round_trip(&cfg);
	mbx_config_free(&cfg);
	free(text);
	assert_int_equal(parse(REQ_SERVER "[listen]\nhttps =\nplain_http = localhost:80\n"
	                                  "[log]\ntrace = store rop http ldap\n",
	                       &cfg),
	                 0);
	round_trip(&cfg);
	mbx_config_free(&cfg);
}

/* --- from disk ------------------------------------------------------------------------------ */

static void test_load(void **state)
{
	char dir[] = "/tmp/test-config.XXXXXX", path[64];
	struct mbx_config cfg;
	FILE *f;
	char *big;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full_conf, f);
	fclose(f);
	assert_int_equal(mbx_config_load(path, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.file, path);
	assert_string_equal(cfg.server.name, "SERVER2");
	mbx_config_free(&cfg);
	/* errors name the file */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(REQ_SERVER "[cache]\nttl = 5\n", f);
	fclose(f);
	assert_int_equal(mbx_config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	{
		char want[256];

		snprintf(want, sizeof(want),
		         "%s:6: unknown key \"ttl\" in [cache]; did you mean \"ttl_seconds\"?",
		         path);
		assert_string_equal(errbuf, want);
	}
	/* too big */
	big = malloc(MBX_CONFIG_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '\n', MBX_CONFIG_FILE_MAX + 1);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(big, 1, MBX_CONFIG_FILE_MAX + 1, f), MBX_CONFIG_FILE_MAX + 1);
	fclose(f);
	free(big);
	assert_int_equal(mbx_config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, ": larger than 1048576 bytes"));
	/* not there, not a file */
	unlink(path);
	assert_int_equal(mbx_config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, ": No such file or directory"));
	assert_int_equal(mbx_config_load(dir, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, ": not a regular file"));
	assert_int_equal(mbx_config_load(path, &cfg, NULL, 0), -1);
	assert_null(cfg.file);
	rmdir(dir);
}

/* inih's options are restored after a parse */
static void test_inih_options(void **state)
{
	struct mbx_config cfg;

	assert_true(ini_allow_multiline);
	assert_int_equal(ini_max_line, 200);
	assert_int_equal(parse(REQ_SERVER, &cfg), 0);
	mbx_config_free(&cfg);
	assert_true(ini_allow_multiline);
	assert_int_equal(ini_max_line, 200);
	assert_true(ini_use_stack);
	assert_string_equal(ini_inline_comment_prefixes, ";");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_sample),       cmocka_unit_test(test_man),
	        cmocka_unit_test(test_string),       cmocka_unit_test(test_path),
	        cmocka_unit_test(test_bool),         cmocka_unit_test(test_uint),
	        cmocka_unit_test(test_mode),         cmocka_unit_test(test_enum),
	        cmocka_unit_test(test_flags),        cmocka_unit_test(test_list),
	        cmocka_unit_test(test_addr),         cmocka_unit_test(test_checks),
	        cmocka_unit_test(test_syntax),       cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_duplicates),   cmocka_unit_test(test_all_errors),
	        cmocka_unit_test(test_error_buffer), cmocka_unit_test(test_rules),
	        cmocka_unit_test(test_full),         cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_load),         cmocka_unit_test(test_inih_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
