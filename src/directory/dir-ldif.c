/*
 * dir-ldif.c: the embedded `ldif` directory backend (design.md "Directory backends",
 * directory.h; the attributes are those of protocol.md section 8). This file holds the
 * backend's operations (lookups, password checks, modifications, reload), its requests and
 * change notifications; the other parts are in dir-ldif-index.c (the hash indexes),
 * dir-ldif-load.c (reading and checking the file), dir-ldif-write.c (writing it back),
 * dir-ldif-entry.c (comparing entries, applying a modification) and dir-password.c
 * (userPassword schemes).
 *
 * Every answer is computed when the request is made (from copies, so a later modification
 * or reload does not disturb it) and delivered from a zero-timeout timer on the event loop,
 * never from inside the call that made the request. (A timer event of our own rather than
 * event_base_once: once-events can be neither cancelled nor freed with the directory.)
 *
 * Modifications are applied to a copy of the entry, swapped in, written back (temporary file
 * in the same folder, fsync, rename, fsync of the folder) and swapped back out if the write
 * fails, so memory and file stay as they were. File I/O and password hashing run on the
 * loop: this backend is meant for small directories and tests; big ones use `ldap`.
 */
#include "directory/dir-ldif-int.h"
#include "directory/dir-password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <ldap.h>

#include "mbx/log.h"

static const struct mbx_dir_ops dir_ldif_ops;

/* --- keys -------------------------------------------------------------------------------- */

char *dir_ldif_normalize_dn(const char *dn, size_t len)
{
	struct berval bv;
	LDAPDN parsed = NULL;
	char *out = NULL, *copy;

	if (dn == NULL || memchr(dn, '\0', len) != NULL)
		return NULL;
	/* ldap_bv2dn reads len bytes; give it its own NUL-terminated copy anyway */
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, dn, len);
	copy[len] = '\0';
	bv.bv_val = copy;
	bv.bv_len = len;
	if (ldap_bv2dn(&bv, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
		free(copy);
		return NULL;
	}
	if (ldap_dn2str(parsed, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || out == NULL) {
		ldap_dnfree(parsed);
		free(copy);
		return NULL;
	}
	ldap_dnfree(parsed);
	free(copy);
	/* into our own allocator's memory, folded */
	len = strlen(out);
	copy = malloc(len + 1);
	if (copy != NULL) {
		for (size_t i = 0; i <= len; i++) {
			unsigned char c = (unsigned char)out[i];

			copy[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		}
	}
	ldap_memfree(out);
	return copy;
}

/* --- requests and notifications ---------------------------------------------------------- */

static void dl_changes_flush(struct dir_ldif *dl)
{
	struct dl_change *c;

	while ((c = dl->changes) != NULL) {
		dl->changes = c->next;
		if (dl->changes == NULL)
			dl->changes_tail = &dl->changes;
		mbx_dir_notify_change(&dl->head, c->dn, c->legacy);
		free(c->dn);
		free(c->legacy);
		free(c);
	}
}

static void dl_change_fire(evutil_socket_t fd, short what, void *arg)
{
	dl_changes_flush(arg);
}

/* Queues a change notification (delivered from the loop). Without memory it is dropped with
 * a log line: the caller has already changed the directory. */
static void dl_change_queue(struct dir_ldif *dl, const char *dn, const char *legacy)
{
	static const struct timeval zero;
	struct dl_change *c = calloc(1, sizeof(*c));

	if (c != NULL) {
		c->dn = strdup(dn);
		c->legacy = legacy != NULL ? strdup(legacy) : NULL;
	}
	if (c == NULL || c->dn == NULL || (legacy != NULL && c->legacy == NULL)) {
		mbx_log(MBX_LOG_ERROR, "directory %s: out of memory: change notification lost",
			dl->path);
		if (c != NULL) {
			free(c->dn);
			free(c->legacy);
			free(c);
		}
		return;
	}
	*dl->changes_tail = c;
	dl->changes_tail = &c->next;
	event_add(dl->change_ev, &zero);
}

/* Notifications for an entry that went from old to new (either may be NULL). */
static void dl_change_entry(struct dir_ldif *dl, const struct mbx_dir_entry *old,
			    const struct mbx_dir_entry *new)
{
	const char *lo = old != NULL ? dir_ldif_entry_legacy(old) : NULL;
	const char *ln = new != NULL ? dir_ldif_entry_legacy(new) : NULL;

	if (old != NULL)
		dl_change_queue(dl, old->dn, lo);
	if (new != NULL &&
	    (old == NULL || strcmp(old->dn, new->dn) != 0 ||
	     (lo == NULL) != (ln == NULL) || (lo != NULL && strcasecmp(lo, ln) != 0)))
		dl_change_queue(dl, new->dn, ln);
}

static void dl_req_unlink(struct dir_ldif_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (r->dl != NULL && r->dl->reqs == r)
		r->dl->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void dl_req_free(struct dir_ldif_req *r)
{
	for (size_t i = 0; i < r->res.nentries; i++)
		mbx_dir_entry_free(&r->res.entries[i]);
	free(r->res.entries);
	if (r->ev != NULL)
		event_free(r->ev);
	free(r->message);
	free(r->server);
	free(r);
}

static void dl_req_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldif_req *r = arg;

	dl_req_unlink(r);
	if (r->flush_changes)
		dl_changes_flush(r->dl);
	r->firing = true;
	r->cb(r->ctx, &r->res);
	dl_req_free(r);
}

static struct dir_ldif_req *dl_req_new(struct dir_ldif *dl, mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldif_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->head.dir = &dl->head;
	r->dl = dl;
	r->cb = cb;
	r->ctx = ctx;
	r->server = strdup(dl->path);
	r->ev = event_new(dl->head.base, -1, 0, dl_req_fire, r);
	if (r->server == NULL || r->ev == NULL) {
		dl_req_free(r);
		return NULL;
	}
	r->res.server = r->server;
	return r;
}

/* Sets the outcome; message is copied. */
static void dl_req_set(struct dir_ldif_req *r, enum mbx_dir_status st, const char *message)
{
	r->res.status = st;
	free(r->message);
	r->message = message != NULL ? strdup(message) : NULL;
	if (message != NULL && r->message == NULL)
		r->res.message = "out of memory";
	else
		r->res.message = r->message;
}

/* Copies the entries at positions idx[0..n) into the result: FOUND (NOT_FOUND if n is 0). */
static void dl_req_found(struct dir_ldif_req *r, const struct dl_db *db, const size_t *idx,
			 size_t n)
{
	if (n == 0) {
		dl_req_set(r, MBX_DIR_NOT_FOUND, NULL);
		return;
	}
	r->res.entries = calloc(n, sizeof(*r->res.entries));
	if (r->res.entries == NULL) {
		dl_req_set(r, MBX_DIR_ERROR, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		r->res.entries[i] = mbx_dir_entry_dup(db->ents[idx[i]]);
		if (r->res.entries[i] == NULL) {
			dl_req_set(r, MBX_DIR_ERROR, "out of memory");
			return;
		}
		r->res.nentries = i + 1;
	}
	dl_req_set(r, MBX_DIR_FOUND, NULL);
}

/* Queues the request for delivery; NULL (and nothing called back) if that fails. */
static struct mbx_dir_req *dl_req_start(struct dir_ldif_req *r)
{
	static const struct timeval zero;
	struct dir_ldif *dl = r->dl;

	if (event_add(r->ev, &zero) < 0) {
		dl_req_free(r);
		return NULL;
	}
	r->next = dl->reqs;
	if (dl->reqs != NULL)
		dl->reqs->prev = r;
	dl->reqs = r;
	return &r->head;
}

static void dir_ldif_cancel(struct mbx_dir_req *req)
{
	struct dir_ldif_req *r = (struct dir_ldif_req *)req;

	if (r->firing)
		return; /* its callback is running: freed when it returns */
	dl_req_unlink(r);
	dl_req_free(r);
}

/* --- lookups ----------------------------------------------------------------------------- */

/* MBX_DIR_DISABLED_NO_MASTER: a scan of every entry (no index: the report is rare, and its
 * predicate is not one key), in file order. The ldif backend has no base DN: the whole file. */
static void dl_lookup_report(struct dir_ldif_req *r, const struct dl_db *db)
{
	size_t *idx = NULL, n = 0;

	for (size_t i = 0; i < db->nents; i++) {
		if (!mbx_dir_entry_disabled_no_master(db->ents[i]))
			continue;
		if (idx == NULL) {
			idx = calloc(db->nents - i, sizeof(*idx));
			if (idx == NULL) {
				dl_req_set(r, MBX_DIR_ERROR, "out of memory");
				return;
			}
		}
		idx[n++] = i;
	}
	dl_req_found(r, db, idx, n);
	free(idx);
}

static struct mbx_dir_req *dir_ldif_lookup(struct mbx_dir *d, enum mbx_dir_key kind,
					   const void *key, size_t keylen, mbx_dir_cb *cb,
					   void *ctx)
{
	struct dir_ldif *dl = (struct dir_ldif *)d;
	struct dir_ldif_req *r = dl_req_new(dl, cb, ctx);
	struct dl_node *k = NULL;
	char *norm = NULL;
	size_t *idx = NULL, n;
	enum dl_ix ix;

	if (r == NULL)
		return NULL;
	switch (kind) {
	case MBX_DIR_DISABLED_NO_MASTER:
		dl_lookup_report(r, dl->db);
		return dl_req_start(r);
	case MBX_DIR_BY_DN:
	case MBX_DIR_BY_MEMBER:
		ix = kind == MBX_DIR_BY_DN ? DL_IX_DN : DL_IX_MEMBER;
		norm = dir_ldif_normalize_dn(key, strlen(key));
		if (norm == NULL) {
			dl_req_set(r, MBX_DIR_ERROR, "invalid DN syntax");
			return dl_req_start(r);
		}
		k = dir_ldif_index_node_new(ix, 0, (const uint8_t *)norm, strlen(norm), false);
		free(norm);
		break;
	case MBX_DIR_BY_LEGACYDN:
	case MBX_DIR_BY_SMTP:
	case MBX_DIR_BY_LOGIN:
		ix = kind == MBX_DIR_BY_LEGACYDN ? DL_IX_LEGACY
		     : kind == MBX_DIR_BY_SMTP	 ? DL_IX_SMTP
						 : DL_IX_LOGIN;
		k = dir_ldif_index_node_new(ix, 0, key, strlen(key), true);
		break;
	case MBX_DIR_BY_SID:
		if (keylen == 0) {
			dl_req_set(r, MBX_DIR_ERROR, "empty SID");
			return dl_req_start(r);
		}
		ix = DL_IX_SID;
		k = dir_ldif_index_node_new(ix, 0, key, keylen, false);
		break;
	default:
		dl_req_free(r);
		return NULL;
	}
	if (k == NULL) {
		dl_req_set(r, MBX_DIR_ERROR, "out of memory");
		return dl_req_start(r);
	}
	n = dir_ldif_index_find(&dl->db->ix[ix], k->key, k->keylen, &idx);
	free(k);
	if (n == (size_t)-1)
		dl_req_set(r, MBX_DIR_ERROR, "out of memory");
	else
		dl_req_found(r, dl->db, idx, n);
	free(idx);
	return dl_req_start(r);
}

/* --- password checks --------------------------------------------------------------------- */

static struct mbx_dir_req *dir_ldif_check_password(struct mbx_dir *d, const char *dn,
						   const char *password, mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldif *dl = (struct dir_ldif *)d;
	struct dir_ldif_req *r = dl_req_new(dl, cb, ctx);
	long pos;
	size_t idx;
	const struct mbx_dir_attr *a;
	bool ok = false;

	if (r == NULL)
		return NULL;
	pos = dir_ldif_index_db_find_dn(dl->db, dn, strlen(dn));
	if (pos == -2) {
		dl_req_set(r, MBX_DIR_ERROR, "invalid DN syntax");
		return dl_req_start(r);
	}
	if (pos == -3) {
		dl_req_set(r, MBX_DIR_ERROR, "out of memory");
		return dl_req_start(r);
	}
	if (pos < 0) {
		dl_req_set(r, MBX_DIR_NOT_FOUND, NULL);
		return dl_req_start(r);
	}
	idx = (size_t)pos;
	a = mbx_dir_entry_attr(dl->db->ents[idx], "userPassword");
	/* An empty password never authenticates (an LDAP "unauthenticated bind"). */
	for (size_t i = 0; a != NULL && password[0] != '\0' && i < a->nvals && !ok; i++)
		ok = dir_password_value_ok(dl->path, dl->db->ents[idx]->dn, &a->vals[i], password);
	if (ok)
		dl_req_found(r, dl->db, &idx, 1);
	else
		dl_req_set(r, MBX_DIR_NOT_FOUND, NULL);
	return dl_req_start(r);
}

/* --- modifications ----------------------------------------------------------------------- */

static struct mbx_dir_req *dir_ldif_modify(struct mbx_dir *d, const char *dn,
					   const struct mbx_dir_mod *mods, size_t nmods,
					   mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldif *dl = (struct dir_ldif *)d;
	struct dl_db *db = dl->db;
	struct dir_ldif_req *r = dl_req_new(dl, cb, ctx);
	struct mbx_dir_entry *old, *new = NULL;
	struct dl_node *old_nodes, *new_nodes = NULL;
	char err[512];
	long pos;
	size_t idx;

	if (r == NULL)
		return NULL;
	r->flush_changes = true;
	pos = dir_ldif_index_db_find_dn(db, dn, strlen(dn));
	if (pos < 0) {
		if (pos == -1)
			dl_req_set(r, MBX_DIR_NOT_FOUND, NULL);
		else
			dl_req_set(r, MBX_DIR_ERROR,
				   pos == -2 ? "invalid DN syntax" : "out of memory");
		return dl_req_start(r);
	}
	idx = (size_t)pos;
	old = db->ents[idx];
	old_nodes = db->enodes[idx];
	/* validate everything on a copy first */
	new = mbx_dir_entry_dup(old);
	if (new == NULL) {
		dl_req_set(r, MBX_DIR_ERROR, "out of memory");
		return dl_req_start(r);
	}
	for (size_t i = 0; i < nmods; i++) {
		if (dir_ldif_entry_apply_mod(new, &mods[i], err, sizeof(err)) < 0)
			goto fail;
	}
	if (dir_ldif_entry_same(old, new)) {
		mbx_dir_entry_free(&new);
		dl_req_found(r, db, &idx, 1);
		return dl_req_start(r);
	}
	if (dir_ldif_index_entry_nodes(new, idx, &new_nodes, err, sizeof(err)) < 0)
		goto fail;
	/* swap in, write, swap back on failure */
	dir_ldif_index_db_unlink(db, old_nodes);
	dir_ldif_index_db_link(db, new_nodes);
	db->ents[idx] = new;
	db->enodes[idx] = new_nodes;
	if (dir_ldif_write(dl, db, err, sizeof(err)) < 0) {
		dir_ldif_index_db_unlink(db, new_nodes);
		dir_ldif_index_db_link(db, old_nodes);
		db->ents[idx] = old;
		db->enodes[idx] = old_nodes;
		dir_ldif_index_nodes_free(new_nodes);
		mbx_log(MBX_LOG_ERROR, "directory %s: modification not saved: %s", dl->path, err);
		goto fail;
	}
	dl_change_entry(dl, old, new);
	dir_ldif_index_nodes_free(old_nodes);
	mbx_dir_entry_free(&old);
	dl_req_found(r, db, &idx, 1);
	return dl_req_start(r);
fail:
	mbx_dir_entry_free(&new);
	dl_req_set(r, MBX_DIR_ERROR, err);
	return dl_req_start(r);
}

/* --- reload, free, new ------------------------------------------------------------------- */

static int dir_ldif_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	struct dir_ldif *dl = (struct dir_ldif *)d;
	struct dl_db *old = dl->db, *new;
	struct stat st;

	new = dir_ldif_load(dl, &st, err, errsize);
	if (new == NULL)
		return -1;
	for (size_t i = 0; i < new->nents; i++) {
		const struct mbx_dir_entry *e = new->ents[i];
		long pos = dir_ldif_index_db_find_dn(old, e->dn, strlen(e->dn));

		if (pos < 0)
			dl_change_entry(dl, NULL, e);
		else if (!dir_ldif_entry_same(old->ents[pos], e))
			dl_change_entry(dl, old->ents[pos], e);
	}
	for (size_t i = 0; i < old->nents; i++) {
		const struct mbx_dir_entry *e = old->ents[i];

		if (dir_ldif_index_db_find_dn(new, e->dn, strlen(e->dn)) < 0)
			dl_change_entry(dl, e, NULL);
	}
	dl->db = new;
	dl->st = st;
	dir_ldif_index_db_free(old);
	return 0;
}

static void dir_ldif_free(struct mbx_dir *d)
{
	struct dir_ldif *dl = (struct dir_ldif *)d;
	struct dl_change *c, *next;

	while (dl->reqs != NULL) {
		struct dir_ldif_req *r = dl->reqs;

		dl_req_unlink(r);
		dl_req_free(r);
	}
	for (c = dl->changes; c != NULL; c = next) {
		next = c->next;
		free(c->dn);
		free(c->legacy);
		free(c);
	}
	if (dl->change_ev != NULL)
		event_free(dl->change_ev);
	dir_ldif_index_db_free(dl->db);
	free(dl->path);
	free(dl);
}

static const struct mbx_dir_ops dir_ldif_ops = {
	.name = "ldif",
	.lookup = dir_ldif_lookup,
	.check_password = dir_ldif_check_password,
	.modify = dir_ldif_modify,
	.cancel = dir_ldif_cancel,
	.reload = dir_ldif_reload,
	.free = dir_ldif_free,
};

struct mbx_dir *dir_ldif_new(struct event_base *base, const struct mbx_dir_config *cfg,
			     char *err, size_t errsize)
{
	struct dir_ldif *dl;

	if (cfg->ldif_path == NULL || cfg->ldif_path[0] == '\0') {
		snprintf(err, errsize, "ldif backend: no file configured");
		return NULL;
	}
	dl = calloc(1, sizeof(*dl));
	if (dl == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	dl->head.ops = &dir_ldif_ops;
	dl->head.base = base;
	dl->head.attrmap = cfg->attrmap;
	dl->head.nattrmap = cfg->nattrmap;
	dl->head.group_depth = cfg->group_depth;
	dl->changes_tail = &dl->changes;
	dl->path = strdup(cfg->ldif_path);
	dl->change_ev = event_new(base, -1, 0, dl_change_fire, dl);
	if (dl->path == NULL || dl->change_ev == NULL) {
		snprintf(err, errsize, "out of memory");
		dir_ldif_free(&dl->head);
		return NULL;
	}
	dl->db = dir_ldif_load(dl, &dl->st, err, errsize);
	if (dl->db == NULL) {
		dir_ldif_free(&dl->head);
		return NULL;
	}
	return &dl->head;
}

size_t dir_ldif_count(const struct mbx_dir *d)
{
	if (d == NULL || d->ops != &dir_ldif_ops)
		return 0;
	return ((const struct dir_ldif *)d)->db->nents;
}

const struct mbx_dir_entry *dir_ldif_entry(const struct mbx_dir *d, size_t i)
{
	if (i >= dir_ldif_count(d))
		return NULL;
	return ((const struct dir_ldif *)d)->db->ents[i];
}
