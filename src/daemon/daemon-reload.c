/*
 * daemon-reload.c: mbxstored's reload, on SIGHUP and for `mbxctl reload` (mbxstored(8)
 * "SIGNALS"; design.md "Programs"; conventions.md "Configuration"): the configuration file read
 * again and compared key by key with the running one, the keys that may change at run time
 * (limits, log level and trace, the TLS files) applied, the others logged as needing a
 * restart; then the directory read again.
 */
#include "daemon/daemon-int.h"

#include <stdlib.h>
#include <string.h>

#include "mbx/config.h"
#include "mbx/daemon.h"
#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/log.h"


/* Keys applied at run time; every other key needs a restart. */
static bool daemon_reload_key_reloadable(const struct mbx_config_key *k)
{
	static const char *const listen_keys[] = {"tls_cert", "tls_key", "tls_ciphers",
						  "tls_min_version"};

	if (strcmp(k->section, "limits") == 0)
		return true;
	if (strcmp(k->section, "log") == 0)
		return strcmp(k->name, "level") == 0 || strcmp(k->name, "trace") == 0;
	if (strcmp(k->section, "listen") == 0)
		for (size_t i = 0; i < sizeof(listen_keys) / sizeof(listen_keys[0]); i++)
			if (strcmp(k->name, listen_keys[i]) == 0)
				return true;
	return false;
}

static bool daemon_reload_str_equal(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool daemon_reload_addr_equal(const struct mbx_config_addr *a,
				     const struct mbx_config_addr *b)
{
	if (a->set != b->set)
		return false;
	return !a->set || (a->family == b->family && a->port == b->port &&
			   strcmp(a->host, b->host) == 0);
}

/* Whether key k has the same value in the structures a and b. */
static bool daemon_reload_key_equal(const struct mbx_config_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;

	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH: {
		const char *sa, *sb;

		memcpy(&sa, pa, sizeof(sa));
		memcpy(&sb, pb, sizeof(sb));
		return daemon_reload_str_equal(sa, sb);
	}
	case MBX_CONFIG_BOOL:
		return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
	case MBX_CONFIG_UINT:
	case MBX_CONFIG_MODE:
	case MBX_CONFIG_FLAGS:
		return *(const unsigned *)(const void *)pa == *(const unsigned *)(const void *)pb;
	case MBX_CONFIG_ENUM:
		return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
	case MBX_CONFIG_LIST: {
		char **la, **lb;

		memcpy(&la, pa, sizeof(la));
		memcpy(&lb, pb, sizeof(lb));
		if (la == NULL || lb == NULL)
			return la == lb;
		for (; *la != NULL && *lb != NULL; la++, lb++)
			if (strcmp(*la, *lb) != 0)
				return false;
		return *la == NULL && *lb == NULL;
	}
	case MBX_CONFIG_ADDR:
		return daemon_reload_addr_equal((const struct mbx_config_addr *)(const void *)pa,
					 (const struct mbx_config_addr *)(const void *)pb);
	case MBX_CONFIG_ADDR_LIST: {
		const struct mbx_config_addr *la, *lb;
		size_t na, nb;

		memcpy(&la, pa, sizeof(la));
		memcpy(&lb, pb, sizeof(lb));
		memcpy(&na, (const char *)a + k->count_offset, sizeof(na));
		memcpy(&nb, (const char *)b + k->count_offset, sizeof(nb));
		if (na != nb)
			return false;
		for (size_t i = 0; i < na; i++)
			if (!daemon_reload_addr_equal(&la[i], &lb[i]))
				return false;
		return true;
	}
	}
	return false;
}

static bool daemon_reload_dynamic_equal(const struct mbx_config *a, const struct mbx_config *b,
				 const char **what_r)
{
	if (a->nattrs != b->nattrs) {
		*what_r = "attributes";
		return false;
	}
	for (size_t i = 0; i < a->nattrs; i++)
		if (!daemon_reload_str_equal(a->attrs[i].canonical, b->attrs[i].canonical) ||
		    !daemon_reload_str_equal(a->attrs[i].server, b->attrs[i].server)) {
			*what_r = "attributes";
			return false;
		}
	if (a->nservers != b->nservers) {
		*what_r = "servers";
		return false;
	}
	for (size_t i = 0; i < a->nservers; i++)
		if (!daemon_reload_str_equal(a->servers[i].name, b->servers[i].name) ||
		    !daemon_reload_str_equal(a->servers[i].url, b->servers[i].url)) {
			*what_r = "servers";
			return false;
		}
	if (a->nforests != b->nforests) {
		*what_r = "forest.*";
		return false;
	}
	for (size_t i = 0; i < a->nforests; i++) {
		const struct mbx_config_forest *fa = &a->forests[i], *fb = &b->forests[i];

		if (!daemon_reload_str_equal(fa->name, fb->name) ||
		    !daemon_reload_str_equal(fa->autodiscover_url, fb->autodiscover_url) ||
		    fa->ndomains != fb->ndomains) {
			*what_r = "forest.*";
			return false;
		}
		for (size_t j = 0; j < fa->ndomains; j++)
			if (!daemon_reload_str_equal(fa->domains[j], fb->domains[j])) {
				*what_r = "forest.*";
				return false;
			}
	}
	return true;
}

static void daemon_reload_swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* Takes the TLS keys of n into d->cfg and reloads the context; on failure puts them back. */
static void daemon_reload_tls(struct daemon *d, struct mbx_config *n)
{
	char err[1024];
	int old_min = d->cfg.listen.tls_min_version;

	if (d->tls == NULL)
		return;
	daemon_reload_swap_str(&d->cfg.listen.tls_cert, &n->listen.tls_cert);
	daemon_reload_swap_str(&d->cfg.listen.tls_key, &n->listen.tls_key);
	daemon_reload_swap_str(&d->cfg.listen.tls_ciphers, &n->listen.tls_ciphers);
	d->cfg.listen.tls_min_version = n->listen.tls_min_version;
	if (mbx_tls_reload(d->tls, &d->cfg, err, sizeof(err)) == 0) {
		mbx_log(MBX_LOG_NOTICE, "reload: TLS certificate %s loaded for new connections",
			mbx_tls_cert_file(d->tls));
		return;
	}
	mbx_log(MBX_LOG_ERROR, "reload: TLS: %s; new connections keep the certificate they had",
		err);
	daemon_reload_swap_str(&d->cfg.listen.tls_cert, &n->listen.tls_cert);
	daemon_reload_swap_str(&d->cfg.listen.tls_key, &n->listen.tls_key);
	daemon_reload_swap_str(&d->cfg.listen.tls_ciphers, &n->listen.tls_ciphers);
	d->cfg.listen.tls_min_version = old_min;
}

/*
 * SIGHUP: reads the configuration file again. Limits, the log level and trace categories and
 * the TLS files are applied (to new connections and requests; nothing open is dropped); every
 * other key that changed is logged as needing a restart and keeps its running value. Then the
 * certificate and the directory are read again (ldif: the file, with change notifications for
 * what differs; ldap: reconnect with the password file read again).
 */
int daemon_reload(struct daemon *d, char *msg, size_t msgsize)
{
	struct mbx_config n;
	char *err = malloc(DAEMON_ERR_MAX);
	const char *what;
	int rc = -1;

	daemon_process_notify("RELOADING=1");
	mbx_log(MBX_LOG_NOTICE, "reload: reading %s", d->cfg.file);
	snprintf(msg, msgsize, "reload: done");
	if (err == NULL) {
		mbx_log(MBX_LOG_ERROR, "reload: out of memory");
		snprintf(msg, msgsize, "reload: out of memory");
		goto out;
	}
	if (mbx_config_load(d->cfg.file, &n, err, DAEMON_ERR_MAX) != 0) {
		char *save = NULL;

		snprintf(msg, msgsize, "%.*s (configuration not applied; see the log)",
		         (int)strcspn(err, "\n"), err);

		for (char *line = strtok_r(err, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			mbx_log(MBX_LOG_ERROR, "reload: %s", line);
		mbx_log(MBX_LOG_ERROR, "reload: configuration not applied; still running with "
				       "the one loaded before");
		goto dir;
	}
	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];

		if (strcmp(k->section, "forest") == 0 || daemon_reload_key_reloadable(k))
			continue;
		if (!daemon_reload_key_equal(k, &d->cfg, &n))
			mbx_log(MBX_LOG_WARNING, "reload: [%s] %s changed: needs a restart",
				k->section, k->name);
	}
	if (!daemon_reload_dynamic_equal(&d->cfg, &n, &what))
		mbx_log(MBX_LOG_WARNING, "reload: [%s] changed: needs a restart", what);

	d->cfg.limits = n.limits;
	d->cfg.log.level = n.log.level;
	d->cfg.log.trace = n.log.trace;
	mbx_log_set_level((enum mbx_log_level)d->cfg.log.level);
	mbx_log_set_trace(~0u, false);
	mbx_log_set_trace(d->cfg.log.trace, true);
	daemon_reload_tls(d, &n);
	mbx_listen_reconfigure(d->listen, &d->cfg);
	mbx_frontend_reconfigure(d->fe, &d->cfg);
	daemon_admin_reconfigure(d);
	mbx_config_free(&n);
	mbx_log(MBX_LOG_NOTICE, "reload: limits, log level and trace applied");
	rc = 0;
dir:
	if (err != NULL && mbx_dir_reload(d->dir, err, DAEMON_ERR_MAX) != 0) {
		mbx_log(MBX_LOG_ERROR, "reload: directory: %s; keeping what was loaded before",
			err);
		if (rc == 0)
			snprintf(msg, msgsize, "directory: %.*s (keeping what was loaded before)",
			         (int)strcspn(err, "\n"), err);
		rc = -1;
	} else if (err != NULL) {
		mbx_log(MBX_LOG_NOTICE, "reload: directory read again");
		if (rc == 0)
			snprintf(msg, msgsize,
			         "configuration %s applied (limits, log level, trace, TLS files); "
			         "directory read again",
			         d->cfg.file);
	}
out:
	free(err);
	daemon_process_notify("READY=1");
	return rc;
}
