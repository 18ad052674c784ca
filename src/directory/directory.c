/*
 * directory.c: the common directory layer behind include/mbx/directory.h (design.md "Directory
 * backends", conventions.md "Backends behind an interface"): status and key names, the entry
 * helpers, the attribute map, and the mbx_dir_* calls that dispatch to the backend chosen by
 * name in the configuration.
 */
#include "mbx/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory/dir-ldap.h"
#include "directory/dir-ldif.h"

typedef struct mbx_dir *dir_create_fn(struct event_base *base, const struct mbx_dir_config *cfg,
				      char *err, size_t errsize);

/* The backends, by configuration name. A backend whose constructor is NULL is known but not
 * built in. To plug one in, give its constructor here (and include its private header). */
static const struct {
	const char *name;
	dir_create_fn *create;
} directory_backends[] = {
	{"ldif", dir_ldif_new},
	{"ldap", dir_ldap_new},
};

const char *mbx_dir_status_name(enum mbx_dir_status st)
{
	switch (st) {
	case MBX_DIR_FOUND:
		return "found";
	case MBX_DIR_NOT_FOUND:
		return "not found";
	case MBX_DIR_TEMPFAIL:
		return "temporary failure";
	case MBX_DIR_ERROR:
		return "error";
	}
	return "unknown";
}

const char *mbx_dir_key_name(enum mbx_dir_key key)
{
	switch (key) {
	case MBX_DIR_BY_DN:
		return "dn";
	case MBX_DIR_BY_LEGACYDN:
		return "legacyExchangeDN";
	case MBX_DIR_BY_SMTP:
		return "smtp";
	case MBX_DIR_BY_LOGIN:
		return "login";
	case MBX_DIR_BY_SID:
		return "sid";
	case MBX_DIR_BY_MEMBER:
		return "member";
	case MBX_DIR_DISABLED_NO_MASTER:
		return "disabled-without-master-sid";
	}
	return "unknown";
}

/* --- entries ----------------------------------------------------------------------------- */

const struct mbx_dir_attr *mbx_dir_entry_attr(const struct mbx_dir_entry *e, const char *name)
{
	if (e == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < e->nattrs; i++) {
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	}
	return NULL;
}

const char *mbx_dir_entry_str(const struct mbx_dir_entry *e, const char *name)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, name);

	if (a == NULL || a->nvals == 0)
		return NULL;
	return (const char *)a->vals[0].data;
}

const uint8_t *mbx_dir_entry_bin(const struct mbx_dir_entry *e, const char *name, size_t *len_r)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, name);

	if (a == NULL || a->nvals == 0) {
		if (len_r != NULL)
			*len_r = 0;
		return NULL;
	}
	if (len_r != NULL)
		*len_r = a->vals[0].len;
	return a->vals[0].data;
}

bool mbx_dir_entry_has_class(const struct mbx_dir_entry *e, const char *cls)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, "objectClass");
	size_t n;

	if (a == NULL || cls == NULL)
		return false;
	n = strlen(cls);
	for (size_t i = 0; i < a->nvals; i++) {
		if (a->vals[i].len == n && strncasecmp((const char *)a->vals[i].data, cls, n) == 0)
			return true;
	}
	return false;
}

/* An INTEGER value as src/store/mailbox.c reads it: optional '-', decimal digits, within
 * INT32_MIN..UINT32_MAX; a negative value as its two's complement in 32 bits. */
static bool directory_int32(const struct mbx_dir_value *v, uint32_t *u_r)
{
	const uint8_t *p = v->data;
	size_t i = 0;
	bool neg = false;
	uint64_t mag = 0;

	if (v->len > 0 && p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == v->len)
		return false;
	for (; i < v->len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		mag = mag * 10 + (uint64_t)(p[i] - '0');
		if (mag > UINT32_MAX)
			return false;
	}
	if (neg && mag > (uint64_t)INT32_MAX + 1)
		return false;
	*u_r = neg ? (uint32_t)(0 - mag) : (uint32_t)mag;
	return true;
}

bool mbx_dir_entry_disabled_no_master(const struct mbx_dir_entry *e)
{
	const struct mbx_dir_attr *a;
	bool disabled = false;
	uint32_t u;

	if (!mbx_dir_entry_has_class(e, "user") || mbx_dir_entry_has_class(e, "computer"))
		return false;
	a = mbx_dir_entry_attr(e, "msExchMasterAccountSid");
	if (a != NULL && a->nvals > 0)
		return false;
	a = mbx_dir_entry_attr(e, "msExchUserAccountControl");
	for (size_t i = 0; a != NULL && i < a->nvals && !disabled; i++)
		disabled = directory_int32(&a->vals[i], &u) && u == 2;
	a = mbx_dir_entry_attr(e, "userAccountControl");
	for (size_t i = 0; a != NULL && i < a->nvals && !disabled; i++)
		disabled = directory_int32(&a->vals[i], &u) && (u & 0x2u) != 0;
	return disabled;
}

static uint8_t *directory_memdup0(const void *p, size_t len)
{
	uint8_t *q = malloc(len + 1);

	if (q == NULL)
		return NULL;
	if (len > 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

struct mbx_dir_entry *mbx_dir_entry_dup(const struct mbx_dir_entry *e)
{
	struct mbx_dir_entry *c;

	if (e == NULL)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->dn = (char *)directory_memdup0(e->dn, strlen(e->dn));
	if (c->dn == NULL)
		goto fail;
	if (e->nattrs > 0) {
		c->attrs = calloc(e->nattrs, sizeof(*c->attrs));
		if (c->attrs == NULL)
			goto fail;
	}
	for (size_t i = 0; i < e->nattrs; i++) {
		const struct mbx_dir_attr *a = &e->attrs[i];
		struct mbx_dir_attr *ca = &c->attrs[i];

		c->nattrs = i + 1;
		ca->name = (char *)directory_memdup0(a->name, strlen(a->name));
		if (ca->name == NULL)
			goto fail;
		if (a->nvals == 0)
			continue;
		ca->vals = calloc(a->nvals, sizeof(*ca->vals));
		if (ca->vals == NULL)
			goto fail;
		for (size_t j = 0; j < a->nvals; j++) {
			ca->vals[j].data = directory_memdup0(a->vals[j].data, a->vals[j].len);
			if (ca->vals[j].data == NULL)
				goto fail;
			ca->vals[j].len = a->vals[j].len;
			ca->nvals = j + 1;
		}
	}
	return c;
fail:
	mbx_dir_entry_free(&c);
	return NULL;
}

void mbx_dir_entry_free(struct mbx_dir_entry **ep)
{
	struct mbx_dir_entry *e;

	if (ep == NULL || *ep == NULL)
		return;
	e = *ep;
	for (size_t i = 0; i < e->nattrs; i++) {
		for (size_t j = 0; j < e->attrs[i].nvals; j++)
			free(e->attrs[i].vals[j].data);
		free(e->attrs[i].vals);
		free(e->attrs[i].name);
	}
	free(e->attrs);
	free(e->dn);
	free(e);
	*ep = NULL;
}

/* --- dispatch ---------------------------------------------------------------------------- */

struct mbx_dir_req *mbx_dir_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
				   size_t keylen, mbx_dir_cb *cb, void *ctx)
{
	if (d == NULL || cb == NULL || (unsigned)kind > MBX_DIR_DISABLED_NO_MASTER)
		return NULL;
	if (kind == MBX_DIR_DISABLED_NO_MASTER) {
		key = ""; /* ignored: the backends see "" and 0 whatever was passed */
		keylen = 0;
	} else if (key == NULL) {
		return NULL;
	}
	return d->ops->lookup(d, kind, key, keylen, cb, ctx);
}

struct mbx_dir_req *mbx_dir_check_password(struct mbx_dir *d, const char *dn,
					   const char *password, mbx_dir_cb *cb, void *ctx)
{
	if (d == NULL || dn == NULL || password == NULL || cb == NULL)
		return NULL;
	return d->ops->check_password(d, dn, password, cb, ctx);
}

struct mbx_dir_req *mbx_dir_modify(struct mbx_dir *d, const char *dn,
				   const struct mbx_dir_mod *mods, size_t nmods, mbx_dir_cb *cb,
				   void *ctx)
{
	if (d == NULL || dn == NULL || (mods == NULL && nmods > 0) || cb == NULL)
		return NULL;
	return d->ops->modify(d, dn, mods, nmods, cb, ctx);
}

void mbx_dir_cancel(struct mbx_dir_req *req)
{
	if (req == NULL || req->dir == NULL)
		return;
	req->dir->ops->cancel(req);
}

void mbx_dir_set_change_cb(struct mbx_dir *d, mbx_dir_change_cb *cb, void *ctx)
{
	if (d == NULL)
		return;
	d->change_cb = cb;
	d->change_ctx = ctx;
}

void mbx_dir_notify_change(struct mbx_dir *d, const char *dn, const char *legacy_dn)
{
	if (d != NULL && d->change_cb != NULL)
		d->change_cb(d->change_ctx, dn, legacy_dn);
}

/* --- attribute map ----------------------------------------------------------------------- */

const char *mbx_dir_canonical_attr(const struct mbx_dir *d, const char *server_name)
{
	for (size_t i = 0; d != NULL && i < d->nattrmap; i++) {
		if (strcasecmp(d->attrmap[i].server, server_name) == 0)
			return d->attrmap[i].canonical;
	}
	return server_name;
}

const char *mbx_dir_server_attr(const struct mbx_dir *d, const char *canonical)
{
	for (size_t i = 0; d != NULL && i < d->nattrmap; i++) {
		if (strcasecmp(d->attrmap[i].canonical, canonical) == 0)
			return d->attrmap[i].server;
	}
	return canonical;
}

/* The directory keeps its own copy of the map (one block: the array, then the strings), so
 * the configuration it came from may be freed. Both directions must be unambiguous. */
static struct mbx_dir_attrmap *directory_attrmap_copy(const struct mbx_dir_attrmap *map,
						       size_t n, char *err, size_t errsize)
{
	struct mbx_dir_attrmap *copy;
	size_t size = n * sizeof(*copy);
	char *p;

	for (size_t i = 0; i < n; i++) {
		if (map[i].canonical == NULL || map[i].server == NULL ||
		    map[i].canonical[0] == '\0' || map[i].server[0] == '\0') {
			snprintf(err, errsize, "attribute map entry %zu is empty", i + 1);
			return NULL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(map[i].canonical, map[j].canonical) == 0 ||
			    strcasecmp(map[i].server, map[j].server) == 0) {
				snprintf(err, errsize,
					 "attribute map: %s -> %s conflicts with %s -> %s",
					 map[i].canonical, map[i].server, map[j].canonical,
					 map[j].server);
				return NULL;
			}
		}
		size += strlen(map[i].canonical) + strlen(map[i].server) + 2;
	}
	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	p = (char *)(copy + n);
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(map[i].canonical) + 1, ls = strlen(map[i].server) + 1;

		memcpy(p, map[i].canonical, lc);
		copy[i].canonical = p;
		p += lc;
		memcpy(p, map[i].server, ls);
		copy[i].server = p;
		p += ls;
	}
	return copy;
}

/* --- backends ---------------------------------------------------------------------------- */

struct mbx_dir *mbx_dir_new(struct event_base *base, const struct mbx_dir_config *cfg, char *err,
			    size_t errsize)
{
	struct mbx_dir_config c;
	struct mbx_dir_attrmap *map;
	struct mbx_dir *d;
	size_t i, n = sizeof(directory_backends) / sizeof(directory_backends[0]);

	if (base == NULL || cfg == NULL || cfg->backend == NULL) {
		snprintf(err, errsize, "no directory backend configured");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(directory_backends[i].name, cfg->backend) == 0)
			break;
	}
	if (i == n) {
		snprintf(err, errsize, "unknown directory backend \"%s\"", cfg->backend);
		return NULL;
	}
	if (directory_backends[i].create == NULL) {
		snprintf(err, errsize, "backend %s not available", cfg->backend);
		return NULL;
	}
	if (cfg->attrmap == NULL && cfg->nattrmap > 0) {
		snprintf(err, errsize, "attribute map missing");
		return NULL;
	}
	map = directory_attrmap_copy(cfg->attrmap, cfg->nattrmap, err, errsize);
	if (map == NULL)
		return NULL;
	c = *cfg;
	c.attrmap = map;
	d = directory_backends[i].create(base, &c, err, errsize);
	if (d == NULL) {
		free(map);
		return NULL;
	}
	/* The backend filled the head from c; make sure the map is ours to free. */
	d->base = base;
	d->attrmap = map;
	d->nattrmap = c.nattrmap;
	d->group_depth = c.group_depth;
	return d;
}

void mbx_dir_free(struct mbx_dir **dp)
{
	struct mbx_dir *d;
	void *map;

	if (dp == NULL || *dp == NULL)
		return;
	d = *dp;
	map = (void *)d->attrmap;
	d->ops->free(d);
	free(map);
	*dp = NULL;
}

int mbx_dir_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	if (d == NULL) {
		snprintf(err, errsize, "no directory");
		return -1;
	}
	return d->ops->reload(d, err, errsize);
}
