/*
 * config-rules.c: the rules between keys of mbxstored's configuration (include/mbx/config.h
 * mbx_config_rules; conventions.md "Configuration"), checked once the file has no other
 * error. Each rule has the sentence that documents it in mbxstored.conf(5) (config-write.c
 * prints them under RULES BETWEEN KEYS) and reports with the line of the key at fault.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "mbx/config.h"

#include "config-int.h"

static void config_rules_required(void *state)
{
	struct config_state *st = state;

	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];

		if (!(k->flags & MBX_CONFIG_F_REQUIRED))
			continue;
		if (strcmp(k->section, "forest") == 0) {
			for (size_t f = 0; f < st->cfg->nforests; f++)
				if (st->forest_key_lines[f * mbx_config_nkeys + i] == 0)
					config_error(st, st->forest_lines[f],
					             "[forest.%s] needs %s",
					             st->cfg->forests[f].name, k->name);
		} else if (st->key_lines[i] == 0) {
			config_error(st, config_section_line(st, k->section), "[%s] needs %s",
			             k->section, k->name);
		}
	}
}

static void config_rules_server(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;
	const char *last, *org, *end;
	size_t orglen;

	if (cfg->server.name == NULL || cfg->server.legacy_dn == NULL)
		return;
	last = strrchr(cfg->server.legacy_dn, '/');
	if (last == NULL || strncasecmp(last, "/cn=", 4) != 0 ||
	    strcasecmp(last + 4, cfg->server.name) != 0)
		config_error(st, config_where(st, "server", "legacy_dn"),
		             "legacy_dn does not end with /cn=%s (the server's name)",
		             cfg->server.name);
	org = cfg->server.legacy_dn + 3; /* after "/o=" (checked by the key's check) */
	end = strchr(org, '/');
	orglen = end != NULL ? (size_t)(end - org) : strlen(org);
	if (cfg->server.organization == NULL) {
		cfg->server.organization = strndup(org, orglen);
		if (cfg->server.organization == NULL)
			config_oom(st);
	} else if (strlen(cfg->server.organization) != orglen ||
	           strncasecmp(cfg->server.organization, org, orglen) != 0) {
		config_error(st, config_where(st, "server", "organization"),
		             "organization \"%s\" is not the /o= part of legacy_dn",
		             cfg->server.organization);
	}
}

static void config_rules_tls(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	if ((cfg->listen.tls_cert == NULL) != (cfg->listen.tls_key == NULL))
		config_error(st,
		             config_where(st, "listen",
		                          cfg->listen.tls_cert != NULL ? "tls_cert" : "tls_key"),
		             "tls_cert and tls_key go together: set both or neither");
}

static void config_rules_listeners(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;
	const struct mbx_config_addr *one[2] = {&cfg->listen.plain_http, &cfg->listen.metrics};
	static const char *const names[2] = {"plain_http", "metrics"};
	char a[300];

	if (cfg->listen.nhttps == 0 && !cfg->listen.plain_http.set)
		config_error(st, config_where(st, "listen", "https"),
		             "no listener: https is empty and plain_http is not set");
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < cfg->listen.nhttps; j++)
			if (config_addr_equal(one[i], &cfg->listen.https[j]))
				config_error(st, config_where(st, "listen", names[i]),
				             "%s %s is also an https address", names[i],
				             mbx_config_addr_format(one[i], a, sizeof(a)));
	}
	if (config_addr_equal(one[0], one[1]))
		config_error(st, config_where(st, "listen", "metrics"),
		             "metrics and plain_http are the same address");
}

static void config_rules_limits(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	if (cfg->limits.notification_wait_seconds >= cfg->limits.context_idle_seconds)
		config_error(st, config_where(st, "limits", "notification_wait_seconds"),
		             "notification_wait_seconds (%u) must be below context_idle_seconds "
		             "(%u): a context would expire while its client waits",
		             cfg->limits.notification_wait_seconds,
		             cfg->limits.context_idle_seconds);
}

static void config_rules_ldap(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;
	unsigned at = config_where(st, "directory", "backend");

	if (cfg->directory.backend != MBX_CONFIG_BACKEND_LDAP)
		return;
	if (cfg->directory.nuris == 0)
		config_error(st, at, "backend = ldap needs uris");
	if (cfg->directory.base_dn == NULL)
		config_error(st, at, "backend = ldap needs base_dn");
	if (cfg->directory.bind_dn == NULL)
		config_error(st, at, "backend = ldap needs bind_dn");
	if (cfg->directory.bind_password_file == NULL)
		config_error(st, at, "backend = ldap needs bind_password_file");
}

static void config_rules_retry(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	if (cfg->directory.retry_min_ms > cfg->directory.retry_max_ms)
		config_error(st, config_where(st, "directory", "retry_min_ms"),
		             "retry_min_ms (%u) is above retry_max_ms (%u)",
		             cfg->directory.retry_min_ms, cfg->directory.retry_max_ms);
}

static void config_rules_cleartext(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	if (cfg->directory.backend != MBX_CONFIG_BACKEND_LDAP || cfg->directory.starttls ||
	    cfg->directory.cleartext_bind)
		return;
	for (size_t i = 0; i < cfg->directory.nuris; i++) {
		bool tls = false;
		int local = config_addr_ldap_uri_local(cfg->directory.uris[i], &tls);

		if (local == 0 && !tls)
			config_error(
			        st, config_where(st, "directory", "uris"),
			        "%s with starttls = no would send the service password in clear; "
			        "use ldaps://, starttls = yes, or cleartext_bind = yes",
			        cfg->directory.uris[i]);
	}
}

static void config_rules_cache(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	if (cfg->cache.stale_max_seconds != 0 &&
	    cfg->cache.stale_max_seconds < cfg->cache.ttl_seconds)
		config_error(st, config_where(st, "cache", "stale_max_seconds"),
		             "stale_max_seconds (%u) is below ttl_seconds (%u): stale facts would "
		             "never be served; set it to 0 to mean that",
		             cfg->cache.stale_max_seconds, cfg->cache.ttl_seconds);
}

static void config_rules_attributes(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	/* A server name that is another canonical name, itself not remapped, would make that
	 * attribute mean two things. */
	for (size_t i = 0; i < cfg->nattrs; i++) {
		const char *server = cfg->attrs[i].server;
		bool remapped = false;
		const char *clash = NULL;

		for (size_t c = 0; mbx_config_canonical_attrs[c] != NULL; c++)
			if (strcasecmp(mbx_config_canonical_attrs[c], server) == 0 &&
			    mbx_config_canonical_attrs[c] != cfg->attrs[i].canonical)
				clash = mbx_config_canonical_attrs[c];
		if (clash == NULL)
			continue;
		for (size_t j = 0; j < cfg->nattrs; j++)
			if (cfg->attrs[j].canonical == clash)
				remapped = true;
		if (!remapped)
			config_error(
			        st, st->attr_lines[i],
			        "%s = %s: %s is read under its own name too; map %s to another "
			        "name as well",
			        cfg->attrs[i].canonical, server, clash, clash);
	}
}

static void config_rules_forests(void *state)
{
	struct config_state *st = state;
	struct mbx_config *cfg = st->cfg;

	for (size_t f = 0; f < cfg->nforests; f++)
		for (size_t d = 0; d < cfg->forests[f].ndomains; d++)
			for (size_t g = 0; g < f; g++)
				for (size_t e = 0; e < cfg->forests[g].ndomains; e++)
					if (strcasecmp(cfg->forests[f].domains[d],
					               cfg->forests[g].domains[e]) == 0)
						config_error(
						        st,
						        config_key_line(st, "forest", "domains", f),
						        "domain %s is in [forest.%s] and "
						        "[forest.%s]",
						        cfg->forests[f].domains[d],
						        cfg->forests[g].name, cfg->forests[f].name);
}

const struct mbx_config_rule mbx_config_rules[] = {
        {"Required keys are set: [server] name, legacy_dn and ldap_dn, and in every "
         "[forest.NAME] domains and autodiscover_url.",
         config_rules_required},
        {"[server] legacy_dn ends with /cn=name. organization, when set, is the /o= part of "
         "legacy_dn (compared case-insensitively); not set, it is taken from there.",
         config_rules_server},
        {"[listen] tls_cert and tls_key are both set or both not set.", config_rules_tls},
        {"[listen] has at least one listener (https or plain_http), and plain_http and metrics "
         "share no address with https or each other.",
         config_rules_listeners},
        {"[limits] notification_wait_seconds is below context_idle_seconds.", config_rules_limits},
        {"[directory] backend = ldap needs uris, base_dn, bind_dn and bind_password_file.",
         config_rules_ldap},
        {"[directory] retry_min_ms is at most retry_max_ms.", config_rules_retry},
        {"[directory] with backend = ldap and starttls = no, every ldap:// URI is on loopback "
         "unless cleartext_bind = yes (ldaps:// and ldapi:// are always fine).",
         config_rules_cleartext},
        {"[cache] stale_max_seconds is 0 or at least ttl_seconds.", config_rules_cache},
        {"[attributes] maps no attribute to the name of another canonical attribute that keeps "
         "its own name. Two attributes never map to the same name (checked as the lines are "
         "read).",
         config_rules_attributes},
        {"No domain belongs to two [forest.NAME] sections.", config_rules_forests},
};

const size_t mbx_config_nrules = sizeof(mbx_config_rules) / sizeof(mbx_config_rules[0]);
