/*
 * fake-dir.h: a small fake directory backend for unit tests (conventions.md "Backends behind
 * an interface, with a fake"), header-only. It implements struct mbx_dir_ops (directory.h) over
 * a list of entries the test builds, and keeps the backend rules: every answer is delivered
 * from the libevent loop (a zero-delay event per request, never re-entrantly), the answer is
 * computed when it is delivered (so a test can change the data while a request is in flight),
 * cancelled requests are never called back. The test scripts failures per (kind, key) or for
 * everything ("down"), can hold answers back until it releases them, and reads call counters.
 *
 * Also here: fake_defer, the libevent implementation of struct mbx_defer (mailbox-table.h)
 * that the daemon needs too.
 */
#ifndef MBX_FAKE_DIR_H
#define MBX_FAKE_DIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "mbx/directory.h"
#include "mbx/mailbox-table.h"
#include "mbx/mailbox.h"

/* --- the libevent deferral ---------------------------------------------------------------- */

struct fake_defer {
	struct event *ev;
	mbx_defer_fn *fn;
	void *arg;
};

static inline void fake_defer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_defer *d = arg;

	(void)fd;
	(void)what;
	d->fn(d->arg);
}

static inline void *fake_defer_create(void *loop, mbx_defer_fn *fn, void *arg)
{
	struct fake_defer *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->fn = fn;
	d->arg = arg;
	d->ev = event_new(loop, -1, 0, fake_defer_fire, d);
	if (d->ev == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static inline void fake_defer_schedule(void *h)
{
	struct fake_defer *d = h;

	event_active(d->ev, EV_TIMEOUT, 1);
}

static inline void fake_defer_destroy(void *h)
{
	struct fake_defer *d = h;

	if (d == NULL)
		return;
	event_free(d->ev);
	free(d);
}

static const struct mbx_defer_ops fake_defer_ops = {
        .create = fake_defer_create,
        .schedule = fake_defer_schedule,
        .destroy = fake_defer_destroy,
};

/* --- entries ------------------------------------------------------------------------------ */

static inline struct mbx_dir_entry *fake_entry_new(const char *dn)
{
	struct mbx_dir_entry *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->dn = strdup(dn)) == NULL)
		abort();
	return e;
}

/* Adds one value (binary, len bytes) to attribute name, creating it. */
static inline void fake_entry_add_bin(struct mbx_dir_entry *e, const char *name, const void *data,
                                      size_t len)
{
	struct mbx_dir_attr *a = NULL;
	struct mbx_dir_value *v;

	for (size_t i = 0; i < e->nattrs; i++) {
		if (strcasecmp(e->attrs[i].name, name) == 0)
			a = &e->attrs[i];
	}
	if (a == NULL) {
		struct mbx_dir_attr *n = realloc(e->attrs, (e->nattrs + 1) * sizeof(*n));

		if (n == NULL)
			abort();
		e->attrs = n;
		a = &e->attrs[e->nattrs++];
		memset(a, 0, sizeof(*a));
		if ((a->name = strdup(name)) == NULL)
			abort();
	}
	v = realloc(a->vals, (a->nvals + 1) * sizeof(*v));
	if (v == NULL)
		abort();
	a->vals = v;
	v = &a->vals[a->nvals++];
	v->data = malloc(len + 1);
	if (v->data == NULL)
		abort();
	memcpy(v->data, data, len);
	v->data[len] = '\0';
	v->len = len;
}

static inline void fake_entry_add(struct mbx_dir_entry *e, const char *name, const char *value)
{
	fake_entry_add_bin(e, name, value, strlen(value));
}

/* Removes attribute name (all values). */
static inline void fake_entry_del(struct mbx_dir_entry *e, const char *name)
{
	for (size_t i = 0; i < e->nattrs; i++) {
		struct mbx_dir_attr *a = &e->attrs[i];

		if (strcasecmp(a->name, name) != 0)
			continue;
		for (size_t j = 0; j < a->nvals; j++)
			free(a->vals[j].data);
		free(a->vals);
		free(a->name);
		e->attrs[i] = e->attrs[--e->nattrs];
		return;
	}
}

static inline void fake_entry_set(struct mbx_dir_entry *e, const char *name, const char *value)
{
	fake_entry_del(e, name);
	fake_entry_add(e, name, value);
}

/* --- the backend -------------------------------------------------------------------------- */

#define FAKE_DIR_MAX_ENTRIES 64
#define FAKE_DIR_MAX_SCRIPTS 16
#define FAKE_DIR_NKINDS 6

struct fake_script {
	enum mbx_dir_key kind;
	uint8_t key[256];
	size_t keylen;
	enum mbx_dir_status status;
};

struct fake_req;

struct fake_dir {
	struct mbx_dir head;
	struct mbx_dir_entry *entries[FAKE_DIR_MAX_ENTRIES];
	size_t nentries;
	struct fake_script scripts[FAKE_DIR_MAX_SCRIPTS];
	size_t nscripts;
	bool down;       /* everything answers TEMPFAIL */
	bool hold;       /* answers wait for fake_dir_release */
	bool fail_start; /* lookups cannot be started (return NULL) */
	/* counters */
	unsigned calls[FAKE_DIR_NKINDS];
	unsigned ncalls;
	unsigned delivered;
	unsigned cancelled;
	unsigned pending;
	struct fake_req *reqs; /* pending, newest first */
	char last_key[512];    /* last string key looked up */
};

struct fake_req {
	struct mbx_dir_req head;
	struct fake_req *next;
	struct fake_dir *fd;
	struct event *ev;
	enum mbx_dir_key kind;
	uint8_t *key;
	size_t keylen;
	mbx_dir_cb *cb;
	void *ctx;
};

static inline void fake_dir_add(struct fake_dir *fd, struct mbx_dir_entry *e)
{
	if (fd->nentries == FAKE_DIR_MAX_ENTRIES)
		abort();
	fd->entries[fd->nentries++] = e;
}

static inline struct mbx_dir_entry *fake_dir_find(struct fake_dir *fd, const char *dn)
{
	for (size_t i = 0; i < fd->nentries; i++) {
		if (mbx_mailbox_dn_equal(fd->entries[i]->dn, dn))
			return fd->entries[i];
	}
	return NULL;
}

/* Removes (and frees) the entry dn. */
static inline void fake_dir_remove(struct fake_dir *fd, const char *dn)
{
	for (size_t i = 0; i < fd->nentries; i++) {
		if (mbx_mailbox_dn_equal(fd->entries[i]->dn, dn)) {
			mbx_dir_entry_free(&fd->entries[i]);
			fd->entries[i] = fd->entries[--fd->nentries];
			return;
		}
	}
}

/* Lookups of (kind, string key) answer status (TEMPFAIL, ERROR, NOT_FOUND, or FOUND: answer
 * from the entries as usual, i.e. removes an earlier script). */
static inline void fake_dir_script(struct fake_dir *fd, enum mbx_dir_key kind, const void *key,
                                   size_t keylen, enum mbx_dir_status status)
{
	for (size_t i = 0; i < fd->nscripts; i++) {
		struct fake_script *s = &fd->scripts[i];

		if (s->kind == kind && s->keylen == keylen && memcmp(s->key, key, keylen) == 0) {
			s->status = status;
			return;
		}
	}
	if (fd->nscripts == FAKE_DIR_MAX_SCRIPTS || keylen > sizeof(fd->scripts[0].key))
		abort();
	fd->scripts[fd->nscripts].kind = kind;
	memcpy(fd->scripts[fd->nscripts].key, key, keylen);
	fd->scripts[fd->nscripts].keylen = keylen;
	fd->scripts[fd->nscripts].status = status;
	fd->nscripts++;
}

static inline void fake_dir_script_str(struct fake_dir *fd, enum mbx_dir_key kind, const char *key,
                                       enum mbx_dir_status status)
{
	fake_dir_script(fd, kind, key, strlen(key), status);
}

static inline bool fake_attr_has(const struct mbx_dir_entry *e, const char *name, const char *v,
                                 bool dn)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, name);

	for (size_t i = 0; a != NULL && i < a->nvals; i++) {
		const char *s = (const char *)a->vals[i].data;

		if (dn ? mbx_mailbox_dn_equal(s, v) : strcasecmp(s, v) == 0)
			return true;
	}
	return false;
}

static inline bool fake_match(const struct mbx_dir_entry *e, enum mbx_dir_key kind,
                              const uint8_t *key, size_t keylen)
{
	const char *k = (const char *)key;
	char smtp[300];

	switch (kind) {
	case MBX_DIR_BY_DN:
		return mbx_mailbox_dn_equal(e->dn, k);
	case MBX_DIR_BY_LEGACYDN:
		return fake_attr_has(e, "legacyExchangeDN", k, false);
	case MBX_DIR_BY_SMTP:
		snprintf(smtp, sizeof(smtp), "smtp:%s", k);
		return fake_attr_has(e, "mail", k, false) ||
		       fake_attr_has(e, "proxyAddresses", smtp, false);
	case MBX_DIR_BY_LOGIN:
		return fake_attr_has(e, "userPrincipalName", k, false) ||
		       fake_attr_has(e, "sAMAccountName", k, false);
	case MBX_DIR_BY_SID: {
		size_t len;
		const uint8_t *sid = mbx_dir_entry_bin(e, "objectSid", &len);

		return sid != NULL && len == keylen && memcmp(sid, key, len) == 0;
	}
	case MBX_DIR_BY_MEMBER:
		return fake_attr_has(e, "member", k, true);
	case MBX_DIR_DISABLED_NO_MASTER: /* the report search: not used by the table's tests */
		return false;
	}
	return false;
}

static inline void fake_req_unlink(struct fake_req *r)
{
	struct fake_req **pp;

	for (pp = &r->fd->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	r->fd->pending--;
}

static inline void fake_req_free(struct fake_req *r)
{
	event_free(r->ev);
	free(r->key);
	free(r);
}

static inline void fake_req_fire(evutil_socket_t sock, short what, void *arg)
{
	struct fake_req *r = arg;
	struct fake_dir *fd = r->fd;
	struct mbx_dir_entry *found[FAKE_DIR_MAX_ENTRIES];
	struct mbx_dir_result res = {.status = MBX_DIR_NOT_FOUND, .server = "fake"};
	size_t n = 0;
	bool scripted = false;

	(void)sock;
	(void)what;
	fake_req_unlink(r);
	if (fd->down) {
		res.status = MBX_DIR_TEMPFAIL;
		scripted = true;
	}
	for (size_t i = 0; !scripted && i < fd->nscripts; i++) {
		const struct fake_script *s = &fd->scripts[i];

		if (s->kind == r->kind && s->keylen == r->keylen &&
		    memcmp(s->key, r->key, r->keylen) == 0 && s->status != MBX_DIR_FOUND) {
			res.status = s->status;
			scripted = true;
		}
	}
	if (res.status == MBX_DIR_TEMPFAIL)
		res.message = "fake: server down";
	else if (res.status == MBX_DIR_ERROR)
		res.message = "fake: scripted error";
	if (!scripted) {
		/* Copies, so that a caller keeping a pointer past the callback trips ASan. */
		for (size_t i = 0; i < fd->nentries; i++) {
			if (fake_match(fd->entries[i], r->kind, r->key, r->keylen))
				found[n++] = mbx_dir_entry_dup(fd->entries[i]);
		}
		if (n > 0) {
			res.status = MBX_DIR_FOUND;
			res.entries = found;
			res.nentries = n;
		}
	}
	fd->delivered++;
	r->cb(r->ctx, &res);
	for (size_t i = 0; i < n; i++)
		mbx_dir_entry_free(&found[i]);
	fake_req_free(r);
}

static inline struct mbx_dir_req *fake_lookup(struct mbx_dir *d, enum mbx_dir_key kind,
                                              const void *key, size_t keylen, mbx_dir_cb *cb,
                                              void *ctx)
{
	struct fake_dir *fd = (struct fake_dir *)d;
	struct fake_req *r;

	fd->ncalls++;
	fd->calls[kind]++;
	if (kind != MBX_DIR_BY_SID)
		snprintf(fd->last_key, sizeof(fd->last_key), "%s", (const char *)key);
	if (fd->fail_start)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		abort();
	r->head.dir = d;
	r->fd = fd;
	r->kind = kind;
	r->key = malloc(keylen + 1);
	if (r->key == NULL)
		abort();
	memcpy(r->key, key, keylen);
	r->key[keylen] = '\0';
	r->keylen = keylen;
	r->cb = cb;
	r->ctx = ctx;
	r->ev = event_new(d->base, -1, 0, fake_req_fire, r);
	if (r->ev == NULL)
		abort();
	r->next = fd->reqs;
	fd->reqs = r;
	fd->pending++;
	if (!fd->hold)
		event_active(r->ev, EV_TIMEOUT, 1);
	return &r->head;
}

static inline struct mbx_dir_req *fake_check_password(struct mbx_dir *d, const char *dn,
                                                      const char *password, mbx_dir_cb *cb,
                                                      void *ctx)
{
	(void)d, (void)dn, (void)password, (void)cb, (void)ctx;
	return NULL;
}

static inline struct mbx_dir_req *fake_modify(struct mbx_dir *d, const char *dn,
                                              const struct mbx_dir_mod *mods, size_t nmods,
                                              mbx_dir_cb *cb, void *ctx)
{
	(void)d, (void)dn, (void)mods, (void)nmods, (void)cb, (void)ctx;
	return NULL;
}

static inline void fake_cancel(struct mbx_dir_req *req)
{
	struct fake_req *r = (struct fake_req *)req;

	r->fd->cancelled++;
	fake_req_unlink(r);
	fake_req_free(r);
}

static inline int fake_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	(void)d, (void)err, (void)errsize;
	return 0;
}

static inline void fake_free(struct mbx_dir *d)
{
	struct fake_dir *fd = (struct fake_dir *)d;

	while (fd->reqs != NULL) {
		struct fake_req *r = fd->reqs;

		fake_req_unlink(r);
		fake_req_free(r);
	}
	for (size_t i = 0; i < fd->nentries; i++)
		mbx_dir_entry_free(&fd->entries[i]);
	free(fd);
}

static const struct mbx_dir_ops fake_dir_ops = {
        .name = "fake",
        .lookup = fake_lookup,
        .check_password = fake_check_password,
        .modify = fake_modify,
        .cancel = fake_cancel,
        .reload = fake_reload,
        .free = fake_free,
};

static inline struct fake_dir *fake_dir_new(struct event_base *base)
{
	struct fake_dir *fd = calloc(1, sizeof(*fd));

	if (fd == NULL)
		abort();
	fd->head.ops = &fake_dir_ops;
	fd->head.base = base;
	fd->head.group_depth = 8;
	return fd;
}

/* Lets the answers held so far go (delivered by the next loop run); later requests are still
 * held while fd->hold is set. */
static inline void fake_dir_release(struct fake_dir *fd)
{
	for (struct fake_req *r = fd->reqs; r != NULL; r = r->next)
		event_active(r->ev, EV_TIMEOUT, 1);
}

/* Runs the loop until nothing is active (no deferred call, no answer due). */
static inline void fake_dir_run(struct fake_dir *fd)
{
	do
		event_base_loop(fd->head.base, EVLOOP_NONBLOCK);
	while (event_base_get_num_events(fd->head.base, EVENT_BASE_COUNT_ACTIVE) > 0);
}

#endif
