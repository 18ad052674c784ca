/*
 * config-views.c: what other modules are configured with, taken from a parsed configuration
 * (include/mbx/config.h "views"): the directory's struct mbx_dir_config, the store's server
 * identity, the mailbox table's cache settings and the [servers] URLs. The views point into
 * the configuration; nothing here allocates.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mbx/config.h"

#include "config-int.h"

void mbx_config_dir_config(const struct mbx_config *cfg, struct mbx_dir_config *dc_r)
{
	const struct mbx_config_key *k = mbx_config_key_find("directory", "backend");

	memset(dc_r, 0, sizeof(*dc_r));
	dc_r->backend = config_value_name(k->values, cfg->directory.backend);
	dc_r->ldif_path = cfg->directory.ldif_path;
	dc_r->uris = (const char *const *)cfg->directory.uris;
	dc_r->base_dn = cfg->directory.base_dn;
	dc_r->bind_dn = cfg->directory.bind_dn;
	dc_r->bind_password_file = cfg->directory.bind_password_file;
	dc_r->ca_file = cfg->directory.ca_file;
	dc_r->starttls = cfg->directory.starttls;
	dc_r->network_timeout_ms = cfg->directory.network_timeout_ms;
	dc_r->request_timeout_ms = cfg->directory.request_timeout_ms;
	dc_r->retry_min_ms = cfg->directory.retry_min_ms;
	dc_r->retry_max_ms = cfg->directory.retry_max_ms;
	dc_r->content_sync = cfg->directory.content_sync;
	dc_r->attrmap = cfg->attrs;
	dc_r->nattrmap = cfg->nattrs;
	dc_r->group_depth = cfg->directory.group_depth;
}

void mbx_config_server_identity(const struct mbx_config *cfg, struct mbx_server_identity *id_r)
{
	memset(id_r, 0, sizeof(*id_r));
	id_r->name = cfg->server.name;
	id_r->legacy_dn = cfg->server.legacy_dn;
	id_r->ldap_dn = cfg->server.ldap_dn;
	id_r->forests = cfg->foreign;
	id_r->nforests = cfg->nforests;
	id_r->exchange2003_compat = cfg->server.exchange2003_compat;
}

void mbx_config_table_config(const struct mbx_config *cfg, struct mbx_mailbox_table_config *tc_r)
{
	memset(tc_r, 0, sizeof(*tc_r));
	tc_r->ttl_ms = (uint64_t)cfg->cache.ttl_seconds * 1000;
	tc_r->negative_ttl_ms = (uint64_t)cfg->cache.negative_ttl_seconds * 1000;
	tc_r->stale_max_ms = (uint64_t)cfg->cache.stale_max_seconds * 1000;
	tc_r->max_entries = cfg->cache.max_entries;
}

const char *mbx_config_server_url(const struct mbx_config *cfg, const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->nservers; i++)
		if (strcasecmp(cfg->servers[i].name, name) == 0)
			return cfg->servers[i].url;
	return NULL;
}
