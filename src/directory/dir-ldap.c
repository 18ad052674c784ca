/*
 * dir-ldap.c: the `ldap` directory backend (design.md "Directory backends", directory.h):
 * OpenLDAP's libldap on the daemon's libevent loop. This file holds the backend's operations,
 * its configuration and life cycle, the service password file, small helpers and the change
 * notifications; the other parts are in dir-ldap-conn.c (connections), dir-ldap-server.c
 * (server state and failover), dir-ldap-sync.c (Content Sync) and dir-ldap-auth.c (password
 * checks), and dir-ldap-int.h is what they share.
 *
 * Identity. Lookups, modifies and the sync always run as the configured service account (seed
 * 004: a directory client must never fall back to a user's credentials). A password check
 * binds as the user on a connection of its own, closed afterwards, so the service connection's
 * identity never changes; an empty password is refused before any bind (RFC 4513 5.1.2: a
 * simple bind with a DN and no password is an unauthenticated bind that "succeeds").
 */
#include "directory/dir-ldap-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mbx/ldap-filter.h"
#include "mbx/log.h"

/* --- small helpers ----------------------------------------------------------------------- */

uint64_t dir_ldap_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct timeval dir_ldap_tv(unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000u);
	tv.tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
	return tv;
}

char *dir_ldap_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void dir_ldap_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

const char *dir_ldap_uri(const struct dir_ldap *dl, size_t server)
{
	return server < dl->nservers ? dl->servers[server].uri : "(no server)";
}

/* The message of an LDAP handle's last error: the diagnostic text if there is one. */
void dir_ldap_ld_error(LDAP *ld, int rc, char *buf, size_t size)
{
	char *diag = NULL;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && diag[0] == '(')
		snprintf(buf, size, "%s %s", ldap_err2string(rc), diag);
	else if (diag != NULL && diag[0] != '\0')
		snprintf(buf, size, "%s (%s)", ldap_err2string(rc), diag);
	else
		snprintf(buf, size, "%s", ldap_err2string(rc));
	ldap_memfree(diag);
}

/* Normalises a DN for comparisons: RFC 4514 form, ASCII folded to lower case. With tail > 0,
 * only the last tail RDNs. NULL if not a DN. *nrdns_r (if given) gets the RDN count. */
static char *dir_ldap_dn_norm(const char *dn, size_t tail, size_t *nrdns_r)
{
	LDAPDN parsed = NULL;
	char *s = NULL, *out;
	size_t n = 0;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS)
		return NULL;
	while (parsed != NULL && parsed[n] != NULL)
		n++;
	if (nrdns_r != NULL)
		*nrdns_r = n;
	if (tail > n || (n > 0 && ldap_dn2str(&parsed[tail > 0 ? n - tail : 0], &s,
	                                      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)) {
		ldap_dnfree(parsed);
		return NULL;
	}
	ldap_dnfree(parsed);
	out = strdup(s != NULL ? s : "");
	ldap_memfree(s);
	for (char *p = out; p != NULL && *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return out;
}

/* 1 if dn is the base DN or below it, 0 if not, -1 if dn is not a DN. */
int dir_ldap_dn_under_base(const struct dir_ldap *dl, const char *dn)
{
	size_t n = 0;
	char *all = dir_ldap_dn_norm(dn, 0, &n), *tail;
	int r;

	if (all == NULL)
		return -1;
	free(all);
	if (n < dl->base_rdns)
		return 0;
	tail = dir_ldap_dn_norm(dn, dl->base_rdns, NULL);
	r = tail != NULL && strcmp(tail, dl->base_norm) == 0;
	free(tail);
	return r;
}

/* --- request lists and the msgid map ----------------------------------------------------- */

void dir_ldap_req_list_push(struct dir_ldap_list *l, struct dir_ldap_req *r, bool front)
{
	r->list = l;
	if (front) {
		r->lprev = NULL;
		r->lnext = l->head;
		if (l->head != NULL)
			l->head->lprev = r;
		else
			l->tail = r;
		l->head = r;
	} else {
		r->lnext = NULL;
		r->lprev = l->tail;
		if (l->tail != NULL)
			l->tail->lnext = r;
		else
			l->head = r;
		l->tail = r;
	}
	l->n++;
}

void dir_ldap_req_list_remove(struct dir_ldap_req *r)
{
	struct dir_ldap_list *l = r->list;

	if (l == NULL)
		return;
	if (r->lprev != NULL)
		r->lprev->lnext = r->lnext;
	else
		l->head = r->lnext;
	if (r->lnext != NULL)
		r->lnext->lprev = r->lprev;
	else
		l->tail = r->lprev;
	l->n--;
	r->list = NULL;
	r->lprev = r->lnext = NULL;
}

/* --- requests: life cycle ---------------------------------------------------------------- */

static void dir_ldap_req_mods_free(LDAPMod **mods)
{
	if (mods == NULL)
		return;
	for (size_t i = 0; mods[i] != NULL; i++) {
		struct berval **bv = mods[i]->mod_bvalues;

		for (size_t j = 0; bv != NULL && bv[j] != NULL; j++) {
			free(bv[j]->bv_val);
			free(bv[j]);
		}
		free(bv);
		free(mods[i]->mod_type);
		free(mods[i]);
	}
	free(mods);
}

void dir_ldap_req_free(struct dir_ldap_req *r)
{
	for (size_t i = 0; i < r->res.nentries; i++)
		mbx_dir_entry_free(&r->res.entries[i]);
	free(r->res.entries);
	if (r->timer_ev != NULL)
		event_free(r->timer_ev);
	if (r->fire_ev != NULL)
		event_free(r->fire_ev);
	free(r->base);
	free(r->filter);
	free(r->dn);
	dir_ldap_req_mods_free(r->mods);
	dir_ldap_wipe_free(r->password);
	free(r->change_legacy);
	free(r);
}

void dir_ldap_req_unlink(struct dir_ldap_req *r)
{
	if (r->aprev != NULL)
		r->aprev->anext = r->anext;
	else if (r->dl->reqs == r)
		r->dl->reqs = r->anext;
	if (r->anext != NULL)
		r->anext->aprev = r->aprev;
	r->aprev = r->anext = NULL;
}

static void dir_ldap_req_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_req *r = arg;
	struct dir_ldap *dl = r->dl;

	(void)fd;
	(void)what;
	dir_ldap_req_unlink(r);
	/* The change is told before the modify's answer (and if the change callback freed the
	 * directory, there is no answer: its requests are cancelled). */
	if (r->kind == DLR_MODIFY && dir_ldap_changes_flush(dl)) {
		dir_ldap_req_free(r);
		return;
	}
	r->firing = true;
	r->cb(r->ctx, &r->res);
	dir_ldap_req_free(r);
}

static void dir_ldap_req_timeout(evutil_socket_t fd, short what, void *arg);

struct dir_ldap_req *dir_ldap_req_new(struct dir_ldap *dl, enum dir_ldap_req_kind kind,
                                      mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldap_req *r = calloc(1, sizeof(*r));
	struct timeval tv = dir_ldap_tv(dl->req_ms);

	if (r == NULL)
		return NULL;
	r->head.dir = &dl->head;
	r->dl = dl;
	r->kind = kind;
	r->cb = cb;
	r->ctx = ctx;
	r->msgid = -1;
	r->res.server = "(none)";
	r->timer_ev = event_new(dl->head.base, -1, 0, dir_ldap_req_timeout, r);
	r->fire_ev = event_new(dl->head.base, -1, 0, dir_ldap_req_fire, r);
	if (r->timer_ev == NULL || r->fire_ev == NULL || event_add(r->timer_ev, &tv) < 0) {
		dir_ldap_req_free(r);
		return NULL;
	}
	r->anext = dl->reqs;
	if (dl->reqs != NULL)
		dl->reqs->aprev = r;
	dl->reqs = r;
	return r;
}

/* Sets the outcome and schedules the callback (never called from here). */
void dir_ldap_req_done(struct dir_ldap_req *r, enum mbx_dir_status st, const char *fmt, ...)
{
	if (r->state == DLR_DONE)
		return;
	dir_ldap_conn_detach(r);
	dir_ldap_req_list_remove(r);
	r->state = DLR_DONE;
	r->res.status = st;
	if (st != MBX_DIR_FOUND) {
		for (size_t i = 0; i < r->res.nentries; i++)
			mbx_dir_entry_free(&r->res.entries[i]);
		r->res.nentries = 0;
	}
	if (fmt != NULL) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(r->message, sizeof(r->message), fmt, ap);
		va_end(ap);
		r->res.message = r->message;
	} else {
		r->res.message = NULL;
	}
	event_del(r->timer_ev);
	event_active(r->fire_ev, EV_TIMEOUT, 0);
}

/* A request that could not even be started: freed, nothing is called back. */
struct mbx_dir_req *dir_ldap_req_abort(struct dir_ldap_req *r)
{
	dir_ldap_req_unlink(r);
	dir_ldap_req_free(r);
	return NULL;
}

/* The deadline of a request passed: abandon it and answer TEMPFAIL. */
static void dir_ldap_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_req *r = arg;
	struct dir_ldap_conn *c = r->conn;

	(void)fd;
	(void)what;
	if (r->kind == DLR_PASSWORD) {
		if (c != NULL) {
			c->pwreq = NULL;
			r->conn = NULL;
			dir_ldap_conn_close(c);
		}
	} else if (r->state == DLR_SENT && c != NULL && c->ld != NULL) {
		ldap_abandon_ext(c->ld, r->msgid, NULL, NULL);
	}
	dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "no answer from the directory within %u ms",
	                  r->dl->req_ms);
	if (r->kind == DLR_PASSWORD)
		dir_ldap_auth_pump(r->dl);
	else if (c != NULL)
		dir_ldap_req_queue_pump(r->dl);
}

/* --- sending ----------------------------------------------------------------------------- */

/* Sends a lookup or modify on a ready connection. Returns 0 when sent (or answered with an
 * error), 1 when the connection cannot take it now (busy writing), -1 when the connection is
 * dead (the request is untouched). */
static int dir_ldap_req_send(struct dir_ldap_req *r, struct dir_ldap_conn *c)
{
	struct dir_ldap *dl = r->dl;
	struct timeval tl = dir_ldap_tv(dl->req_ms + 999);
	int msgid = -1, rc, err = LDAP_SUCCESS;
	char why[320];

	tl.tv_usec = 0; /* the server's time limit: whole seconds, rounded up */
	if (r->kind == DLR_LOOKUP)
		rc = ldap_search_ext(c->ld, r->base, r->scope, r->filter, NULL, 0, NULL, NULL, &tl,
		                     DIR_LDAP_MAX_ENTRIES, &msgid);
	else
		rc = ldap_modify_ext(c->ld, r->dn, r->mods, NULL, NULL, &msgid);
	if (rc == LDAP_BUSY) {
		c->write_blocked = true;
		event_add(c->wr_ev, NULL);
		return 1;
	}
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT)
		return -1;
	if (rc != LDAP_SUCCESS) {
		dir_ldap_ld_error(c->ld, rc, why, sizeof(why));
		r->res.server = dl->servers[c->server].uri;
		dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
		return 0;
	}
	dir_ldap_req_list_remove(r);
	r->res.server = dl->servers[c->server].uri;
	dir_ldap_conn_attach(c, r, msgid);
	mbx_trace(MBX_TRACE_LDAP, "ldap: msgid %d to %s: %s %s", msgid, dir_ldap_uri(dl, c->server),
	          r->kind == DLR_LOOKUP ? "search" : "modify",
	          r->kind == DLR_LOOKUP ? r->filter : r->dn);
	/* The request went out only partly: libldap sends the rest when the socket is writable
	 * and ldap_result is called. */
	if (ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err) == LDAP_OPT_SUCCESS &&
	    err == LDAP_BUSY) {
		c->write_blocked = true;
		event_add(c->wr_ev, NULL);
	}
	return 0;
}

/* Sends what waits in the queue, as far as the service connection takes it. */
void dir_ldap_req_queue_pump(struct dir_ldap *dl)
{
	struct dir_ldap_conn *c = dl->svc;

	while (dl->queue.head != NULL && c != NULL && c == dl->svc && c->state == DLC_READY &&
	       !c->write_blocked && c->inflight.n < DIR_LDAP_MAX_INFLIGHT) {
		int rc = dir_ldap_req_send(dl->queue.head, c);

		if (rc > 0)
			break;
		if (rc < 0) {
			dir_ldap_conn_failed(c, "connection lost while sending");
			break;
		}
	}
	/* Draining connections close once their last request is answered. */
	for (struct dir_ldap_conn *d = dl->conns, *next; d != NULL; d = next) {
		next = d->next;
		if (d->draining && d->inflight.n == 0)
			dir_ldap_conn_close(d);
	}
}

/* Queues a lookup or modify, or answers it at once when no server is reachable. */
struct mbx_dir_req *dir_ldap_req_start(struct dir_ldap_req *r)
{
	struct dir_ldap *dl = r->dl;

	if (dl->queue.n >= DIR_LDAP_MAX_QUEUE) {
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%d directory requests waiting already",
		                  DIR_LDAP_MAX_QUEUE);
		return &r->head;
	}
	if (dl->svc == NULL && !dl->all_down)
		dir_ldap_server_connect_service(dl);
	if (dl->svc == NULL) {
		if (dl->active != DIR_LDAP_NONE)
			r->res.server = dl->servers[dl->active].uri;
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "no directory server reachable");
		return &r->head;
	}
	r->state = DLR_QUEUED;
	dir_ldap_req_list_push(&dl->queue, r, false);
	dir_ldap_req_queue_pump(dl);
	return &r->head;
}

/* --- answers ----------------------------------------------------------------------------- */

static int dir_ldap_req_attr_add(struct mbx_dir_entry *e, const char *name, struct berval **vals)
{
	struct mbx_dir_attr *a, *na;
	size_t n = 0;

	while (vals != NULL && vals[n] != NULL)
		n++;
	na = realloc(e->attrs, (e->nattrs + 1) * sizeof(*na));
	if (na == NULL)
		return -1;
	e->attrs = na;
	a = &e->attrs[e->nattrs];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	if (a->name == NULL)
		return -1;
	e->nattrs++;
	if (n == 0)
		return 0;
	a->vals = calloc(n, sizeof(*a->vals));
	if (a->vals == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		a->vals[i].data = malloc(vals[i]->bv_len + 1);
		if (a->vals[i].data == NULL)
			return -1;
		if (vals[i]->bv_len > 0)
			memcpy(a->vals[i].data, vals[i]->bv_val, vals[i]->bv_len);
		a->vals[i].data[vals[i]->bv_len] = '\0';
		a->vals[i].len = vals[i]->bv_len;
		a->nvals = i + 1;
	}
	return 0;
}

/* An LDAP entry as a directory entry with canonical attribute names. userPassword is left
 * out: this backend checks passwords by binding, never by reading hashes. */
static struct mbx_dir_entry *dir_ldap_req_entry_new(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg)
{
	struct mbx_dir_entry *e = calloc(1, sizeof(*e));
	BerElement *ber = NULL;
	char *dn, *a;
	int bad = 0;

	if (e == NULL)
		return NULL;
	dn = ldap_get_dn(ld, msg);
	e->dn = strdup(dn != NULL ? dn : "");
	ldap_memfree(dn);
	if (e->dn == NULL)
		bad = 1;
	for (a = ldap_first_attribute(ld, msg, &ber); a != NULL && !bad;
	     a = ldap_next_attribute(ld, msg, ber)) {
		const char *canon = mbx_dir_canonical_attr(&dl->head, a);

		if (strcasecmp(canon, "userPassword") != 0) {
			struct berval **vals = ldap_get_values_len(ld, msg, a);

			bad = dir_ldap_req_attr_add(e, canon, vals) < 0;
			ldap_value_free_len(vals);
		}
		ldap_memfree(a);
	}
	ldap_memfree(a);
	if (ber != NULL)
		ber_free(ber, 0);
	if (bad)
		mbx_dir_entry_free(&e);
	return e;
}

void dir_ldap_req_entry(struct dir_ldap_req *r, struct dir_ldap_conn *c, LDAPMessage *msg)
{
	struct mbx_dir_entry *e;

	if (r->kind != DLR_LOOKUP || r->res.nentries >= DIR_LDAP_MAX_ENTRIES)
		return;
	if (r->res.nentries == r->cap) {
		size_t cap = r->cap == 0 ? 4 : 2 * r->cap;
		struct mbx_dir_entry **ne = realloc(r->res.entries, cap * sizeof(*ne));

		if (ne == NULL)
			return;
		r->res.entries = ne;
		r->cap = cap;
	}
	e = dir_ldap_req_entry_new(r->dl, c->ld, msg);
	if (e != NULL)
		r->res.entries[r->res.nentries++] = e;
}

bool dir_ldap_rc_tempfail(int rc)
{
	return rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE || rc == LDAP_SERVER_DOWN ||
	       rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED || rc == LDAP_CONNECT_ERROR;
}

/* The final message of a lookup or modify. */
void dir_ldap_req_result(struct dir_ldap_req *r, struct dir_ldap_conn *c, LDAPMessage *msg)
{
	struct dir_ldap *dl = r->dl;
	int err = LDAP_OTHER;
	char *matched = NULL, *text = NULL, why[320];
	const char *uri = dir_ldap_uri(dl, c->server);

	if (ldap_parse_result(c->ld, msg, &err, &matched, &text, NULL, NULL, 0) != LDAP_SUCCESS)
		err = LDAP_DECODING_ERROR;
	if (text != NULL && text[0] != '\0')
		snprintf(why, sizeof(why), "%s: %s (%s)", uri, ldap_err2string(err), text);
	else
		snprintf(why, sizeof(why), "%s: %s", uri, ldap_err2string(err));
	if (r->kind == DLR_MODIFY) {
		if (err == LDAP_SUCCESS) {
			/* Told to the change callback before the modify's own callback runs. */
			dir_ldap_change_queue(dl, r->dn, r->change_legacy);
			dir_ldap_req_done(r, MBX_DIR_FOUND, NULL);
		} else if (err == LDAP_NO_SUCH_OBJECT) {
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, "%s", why);
		} else if (err == LDAP_REFERRAL || dir_ldap_rc_tempfail(err)) {
			/* A read-only replica refers writes to its provider: try again later. */
			dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%s", why);
		} else {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
		}
	} else if (err == LDAP_SUCCESS) {
		if (r->res.nentries > 0)
			dir_ldap_req_done(r, MBX_DIR_FOUND, NULL);
		else
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, NULL);
	} else if (err == LDAP_NO_SUCH_OBJECT) {
		/* For a DN: not found if the server holds the part of the tree the DN belongs
		 * to. A server that lacks the base DN itself (a replica not filled yet, a wrong
		 * server) is not an answer about the entry. */
		bool holds = matched != NULL && matched[0] != '\0' &&
		             dir_ldap_dn_under_base(dl, matched) == 1;

		if (r->key == MBX_DIR_BY_DN && (holds || dir_ldap_dn_under_base(dl, r->base) != 1))
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, NULL);
		else
			dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%s does not hold %s", uri,
			                  dl->base_dn);
	} else if (dir_ldap_rc_tempfail(err) || err == LDAP_REFERRAL) {
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%s", why);
	} else {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
	}
	ldap_memfree(matched);
	ldap_memfree(text);
}

/* --- change notifications ---------------------------------------------------------------- */

/* Queues a change for the change callback (delivered from the loop, in order). */
void dir_ldap_change_queue(struct dir_ldap *dl, const char *dn, const char *legacy)
{
	struct dir_ldap_change *ch = calloc(1, sizeof(*ch));

	if (ch == NULL || (ch->dn = strdup(dn)) == NULL ||
	    (legacy != NULL && (ch->legacy = strdup(legacy)) == NULL)) {
		if (ch != NULL)
			free(ch->dn);
		free(ch);
		return;
	}
	*dl->changes_tail = ch;
	dl->changes_tail = &ch->next;
	event_active(dl->change_ev, EV_TIMEOUT, 0);
}

/* Tells the queued changes. The change callback may free the directory: then the rest is
 * dropped, the directory's memory goes when the loop ends, and true is returned. */
bool dir_ldap_changes_flush(struct dir_ldap *dl)
{
	struct dir_ldap_change *ch = dl->changes;

	dl->changes = NULL;
	dl->changes_tail = &dl->changes;
	dl->flushing++;
	while (ch != NULL) {
		struct dir_ldap_change *next = ch->next;

		if (!dl->free_pending)
			mbx_dir_notify_change(&dl->head, ch->dn, ch->legacy);
		free(ch->dn);
		free(ch->legacy);
		free(ch);
		ch = next;
	}
	if (--dl->flushing == 0 && dl->free_pending) {
		free(dl);
		return true;
	}
	return false;
}

static void dir_ldap_change_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_ldap_changes_flush(arg);
}

/* --- the operations ---------------------------------------------------------------------- */

static struct mbx_dir_req *dir_ldap_lookup(struct mbx_dir *d, enum mbx_dir_key kind,
                                           const void *key, size_t keylen, mbx_dir_cb *cb,
                                           void *ctx)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;
	struct dir_ldap_req *r;
	const char *why = NULL;
	size_t len;

	if ((unsigned)kind > MBX_DIR_BY_MEMBER)
		return NULL;
	r = dir_ldap_req_new(dl, DLR_LOOKUP, cb, ctx);
	if (r == NULL)
		return NULL;
	r->key = kind;
	/* String keys are NUL-terminated (directory.h); only a SID's length counts. */
	len = kind == MBX_DIR_BY_SID ? keylen : strlen(key);
	if (len == 0) {
		if (kind == MBX_DIR_BY_SID)
			dir_ldap_req_done(r, MBX_DIR_ERROR, "empty SID");
		else
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, NULL);
		return &r->head;
	}
	r->filter = mbx_ldap_filter_build(d, kind, key, len, &why);
	if (r->filter == NULL) {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
		return &r->head;
	}
	if (kind == MBX_DIR_BY_DN) {
		LDAPDN parsed = NULL;

		if (ldap_str2dn(key, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "invalid DN syntax");
			return &r->head;
		}
		ldap_dnfree(parsed);
		r->base = strdup(key);
		r->scope = LDAP_SCOPE_BASE;
	} else {
		r->base = strdup(dl->base_dn);
		r->scope = LDAP_SCOPE_SUBTREE;
	}
	if (r->base == NULL)
		return dir_ldap_req_abort(r);
	return dir_ldap_req_start(r);
}

static struct berval *dir_ldap_bv_new(const struct mbx_dir_value *v)
{
	struct berval *bv = calloc(1, sizeof(*bv));

	if (bv == NULL)
		return NULL;
	bv->bv_val = malloc(v->len + 1);
	if (bv->bv_val == NULL) {
		free(bv);
		return NULL;
	}
	if (v->len > 0)
		memcpy(bv->bv_val, v->data, v->len);
	bv->bv_val[v->len] = '\0';
	bv->bv_len = v->len;
	return bv;
}

static struct mbx_dir_req *dir_ldap_modify(struct mbx_dir *d, const char *dn,
                                           const struct mbx_dir_mod *mods, size_t nmods,
                                           mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;
	struct dir_ldap_req *r = dir_ldap_req_new(dl, DLR_MODIFY, cb, ctx);
	LDAPDN parsed = NULL;

	if (r == NULL)
		return NULL;
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS || dn[0] == '\0') {
		ldap_dnfree(parsed);
		dir_ldap_req_done(r, MBX_DIR_ERROR, "invalid DN syntax");
		return &r->head;
	}
	ldap_dnfree(parsed);
	if (nmods == 0) {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "no modifications");
		return &r->head;
	}
	r->dn = strdup(dn);
	r->mods = calloc(nmods + 1, sizeof(*r->mods));
	if (r->dn == NULL || r->mods == NULL)
		return dir_ldap_req_abort(r);
	for (size_t i = 0; i < nmods; i++) {
		const struct mbx_dir_mod *m = &mods[i];
		LDAPMod *lm = calloc(1, sizeof(*lm));

		if (lm == NULL)
			return dir_ldap_req_abort(r);
		r->mods[i] = lm;
		if (m->attr == NULL || m->attr[0] == '\0' || (m->nvals > 0 && m->vals == NULL)) {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "modification %zu is empty", i + 1);
			return &r->head;
		}
		if (m->op == MBX_DIR_MOD_ADD && m->nvals == 0) {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "modification %zu adds no value",
			                  i + 1);
			return &r->head;
		}
		lm->mod_op = LDAP_MOD_BVALUES | (m->op == MBX_DIR_MOD_REPLACE ? LDAP_MOD_REPLACE
		                                 : m->op == MBX_DIR_MOD_ADD   ? LDAP_MOD_ADD
		                                                              : LDAP_MOD_DELETE);
		lm->mod_type = strdup(mbx_dir_server_attr(d, m->attr));
		lm->mod_bvalues = calloc(m->nvals + 1, sizeof(*lm->mod_bvalues));
		if (lm->mod_type == NULL || lm->mod_bvalues == NULL)
			return dir_ldap_req_abort(r);
		for (size_t j = 0; j < m->nvals; j++) {
			lm->mod_bvalues[j] = dir_ldap_bv_new(&m->vals[j]);
			if (lm->mod_bvalues[j] == NULL)
				return dir_ldap_req_abort(r);
		}
		if (strcasecmp(m->attr, "legacyExchangeDN") == 0 && m->op != MBX_DIR_MOD_DELETE &&
		    m->nvals > 0 && memchr(m->vals[0].data, '\0', m->vals[0].len) == NULL) {
			free(r->change_legacy);
			r->change_legacy = strndup((const char *)m->vals[0].data, m->vals[0].len);
		}
	}
	return dir_ldap_req_start(r);
}

static void dir_ldap_cancel(struct mbx_dir_req *req)
{
	struct dir_ldap_req *r = (struct dir_ldap_req *)req;
	struct dir_ldap *dl = r->dl;
	struct dir_ldap_conn *c = r->conn;
	bool password = r->kind == DLR_PASSWORD, pump = c != NULL;

	if (r->firing)
		return; /* its callback is running: freed when it returns */
	if (password && c != NULL) {
		c->pwreq = NULL;
		r->conn = NULL;
		dir_ldap_conn_close(c);
	} else if (r->state == DLR_SENT && c != NULL && c->ld != NULL) {
		ldap_abandon_ext(c->ld, r->msgid, NULL, NULL);
	}
	dir_ldap_conn_detach(r);
	dir_ldap_req_list_remove(r);
	dir_ldap_req_unlink(r);
	dir_ldap_req_free(r);
	if (pump && password)
		dir_ldap_auth_pump(dl);
	else if (pump)
		dir_ldap_req_queue_pump(dl);
}

/* --- configuration and life cycle -------------------------------------------------------- */

char *dir_ldap_read_password_file(const char *path, char *err, size_t errsize)
{
	struct stat st;
	char buf[DIR_LDAP_MAX_PASSWORD_FILE + 1], *pw;
	size_t n = 0, len;
	int fd;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errsize, "ldap backend: no bind password file configured");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errsize,
		         "%s: mode %04o lets group or others at the service password; refusing "
		         "to start (chmod 600 %s)",
		         path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	while (n < sizeof(buf)) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			explicit_bzero(buf, sizeof(buf));
			close(fd);
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n > DIR_LDAP_MAX_PASSWORD_FILE) {
		snprintf(err, errsize, "%s: longer than %u bytes", path,
		         DIR_LDAP_MAX_PASSWORD_FILE);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	len = 0;
	while (len < n && buf[len] != '\n' && buf[len] != '\r')
		len++;
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errsize, "%s: NUL byte in the password", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	if (len == 0) {
		snprintf(err, errsize, "%s: empty password", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	pw = strndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	if (pw == NULL)
		snprintf(err, errsize, "%s: out of memory", path);
	return pw;
}

static void dir_ldap_free(struct mbx_dir *d)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;

	while (dl->reqs != NULL) {
		struct dir_ldap_req *r = dl->reqs;

		if (r->conn != NULL && r->kind == DLR_PASSWORD)
			r->conn->pwreq = NULL;
		dir_ldap_conn_detach(r);
		dir_ldap_req_list_remove(r);
		dir_ldap_req_unlink(r);
		dir_ldap_req_free(r);
	}
	while (dl->conns != NULL)
		dir_ldap_conn_close(dl->conns);
	for (size_t i = 0; i < dl->nservers; i++) {
		if (dl->servers[i].retry_ev != NULL)
			event_free(dl->servers[i].retry_ev);
		free(dl->servers[i].uri);
	}
	free(dl->servers);
	while (dl->changes != NULL) {
		struct dir_ldap_change *ch = dl->changes;

		dl->changes = ch->next;
		free(ch->dn);
		free(ch->legacy);
		free(ch);
	}
	if (dl->change_ev != NULL)
		event_free(dl->change_ev);
	if (dl->sync.retry_ev != NULL)
		event_free(dl->sync.retry_ev);
	dir_ldap_sync_uuid_clear(&dl->sync);
	free(dl->sync.cookie.bv_val);
	free(dl->base_dn);
	free(dl->base_norm);
	free(dl->bind_dn);
	free(dl->pwfile);
	free(dl->ca_file);
	dir_ldap_wipe_free(dl->password);
	dl->password = NULL;
	if (dl->flushing > 0)
		dl->free_pending = true; /* freed when the change callback returns */
	else
		free(dl);
}

/* Reconnects everything with the password file read again. Requests in flight are answered
 * on the connections they went out on, which then close. */
static int dir_ldap_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;
	char *pw = dir_ldap_read_password_file(dl->pwfile, err, errsize);
	struct dir_ldap_conn *old = dl->svc;

	if (pw == NULL)
		return -1;
	dir_ldap_wipe_free(dl->password);
	dl->password = pw;
	dir_ldap_sync_stop(dl);
	for (struct dir_ldap_conn *c = dl->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == DLC_PROBE)
			dir_ldap_conn_close(c);
	}
	if (old != NULL) {
		dl->svc = NULL;
		if (old->state == DLC_READY && old->inflight.n > 0)
			old->draining = true;
		else
			dir_ldap_conn_close(old);
	}
	for (size_t i = 0; i < dl->nservers; i++) {
		dl->servers[i].state = DLS_UNKNOWN;
		dl->servers[i].backoff_ms = 0;
		evtimer_del(dl->servers[i].retry_ev);
	}
	dl->all_down = false;
	dir_ldap_server_connect_service(dl);
	mbx_log(MBX_LOG_NOTICE, "directory: reconnecting to %s after a reload",
	        dl->svc != NULL ? dir_ldap_uri(dl, dl->svc->server) : "(no server)");
	return 0;
}

static int dir_ldap_check_uri(const char *uri, char *err, size_t errsize)
{
	LDAPURLDesc *lud = NULL;
	int ok;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS) {
		snprintf(err, errsize, "ldap backend: bad server URI \"%s\"", uri);
		return -1;
	}
	ok = lud->lud_scheme != NULL && (strcasecmp(lud->lud_scheme, "ldap") == 0 ||
	                                 strcasecmp(lud->lud_scheme, "ldaps") == 0 ||
	                                 strcasecmp(lud->lud_scheme, "ldapi") == 0);
	ldap_free_urldesc(lud);
	if (!ok) {
		snprintf(err, errsize,
		         "ldap backend: \"%s\" is not an ldap://, ldaps:// or ldapi:// URI", uri);
		return -1;
	}
	return 0;
}

struct mbx_dir *dir_ldap_new(struct event_base *base, const struct mbx_dir_config *cfg, char *err,
                             size_t errsize)
{
	struct dir_ldap *dl;
	size_t n = 0;
	LDAPDN parsed = NULL;
	bool clear = false;
	int debug = 0;

	if (base == NULL || cfg == NULL) {
		snprintf(err, errsize, "ldap backend: no event loop or configuration");
		return NULL;
	}
	while (cfg->uris != NULL && cfg->uris[n] != NULL)
		n++;
	if (n == 0) {
		snprintf(err, errsize, "ldap backend: no server URIs configured");
		return NULL;
	}
	if (n > DIR_LDAP_MAX_URIS) {
		snprintf(err, errsize, "ldap backend: %zu server URIs, at most %d", n,
		         DIR_LDAP_MAX_URIS);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (dir_ldap_check_uri(cfg->uris[i], err, errsize) < 0)
			return NULL;
		if (strncasecmp(cfg->uris[i], "ldap:", 5) == 0 && !cfg->starttls)
			clear = true;
	}
	if (cfg->base_dn == NULL || cfg->base_dn[0] == '\0' ||
	    ldap_str2dn(cfg->base_dn, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
		snprintf(err, errsize, "ldap backend: base DN \"%s\" is not a DN",
		         cfg->base_dn != NULL ? cfg->base_dn : "");
		return NULL;
	}
	ldap_dnfree(parsed);
	parsed = NULL;
	if (cfg->bind_dn == NULL || cfg->bind_dn[0] == '\0' ||
	    ldap_str2dn(cfg->bind_dn, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
		snprintf(err, errsize,
		         "ldap backend: a service bind DN is required (lookups never run "
		         "anonymously or as a user)%s",
		         cfg->bind_dn != NULL && cfg->bind_dn[0] != '\0' ? "; it is not a DN" : "");
		return NULL;
	}
	ldap_dnfree(parsed);
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0' && access(cfg->ca_file, R_OK) < 0) {
		snprintf(err, errsize, "ldap backend: CA file %s: %s", cfg->ca_file,
		         strerror(errno));
		return NULL;
	}
	if (cfg->retry_min_ms != 0 && cfg->retry_max_ms != 0 &&
	    cfg->retry_min_ms > cfg->retry_max_ms) {
		snprintf(err, errsize, "ldap backend: retry_min_ms %u is above retry_max_ms %u",
		         cfg->retry_min_ms, cfg->retry_max_ms);
		return NULL;
	}
	/* libldap's global state is set up here, on the loop's thread, before any worker. */
	ldap_get_option(NULL, LDAP_OPT_DEBUG_LEVEL, &debug);
	dl = calloc(1, sizeof(*dl));
	if (dl == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	dl->head.ops = &dir_ldap_ops;
	dl->head.base = base;
	dl->head.attrmap = cfg->attrmap;
	dl->head.nattrmap = cfg->nattrmap;
	dl->head.group_depth = cfg->group_depth;
	dl->active = DIR_LDAP_NONE;
	dl->changes_tail = &dl->changes;
	dl->sync.msgid = -1;
	dl->password = dir_ldap_read_password_file(cfg->bind_password_file, err, errsize);
	if (dl->password == NULL) {
		free(dl);
		return NULL;
	}
	dl->net_ms = cfg->network_timeout_ms != 0 ? cfg->network_timeout_ms
	                                          : DIR_LDAP_DEFAULT_NETWORK_TIMEOUT_MS;
	dl->req_ms = cfg->request_timeout_ms != 0 ? cfg->request_timeout_ms
	                                          : DIR_LDAP_DEFAULT_REQUEST_TIMEOUT_MS;
	dl->retry_min_ms =
	        cfg->retry_min_ms != 0 ? cfg->retry_min_ms : DIR_LDAP_DEFAULT_RETRY_MIN_MS;
	dl->retry_max_ms =
	        cfg->retry_max_ms != 0 ? cfg->retry_max_ms : DIR_LDAP_DEFAULT_RETRY_MAX_MS;
	if (dl->retry_max_ms < dl->retry_min_ms)
		dl->retry_max_ms = dl->retry_min_ms;
	dl->starttls = cfg->starttls;
	dl->content_sync = cfg->content_sync;
	dl->base_dn = strdup(cfg->base_dn);
	dl->base_norm = dir_ldap_dn_norm(cfg->base_dn, 0, &dl->base_rdns);
	dl->bind_dn = strdup(cfg->bind_dn);
	dl->pwfile = strdup(cfg->bind_password_file);
	dl->ca_file = cfg->ca_file != NULL && cfg->ca_file[0] != '\0' ? strdup(cfg->ca_file) : NULL;
	dl->servers = calloc(n, sizeof(*dl->servers));
	dl->change_ev = event_new(base, -1, 0, dir_ldap_change_fire, dl);
	dl->sync.retry_ev = evtimer_new(base, dir_ldap_sync_retry, dl);
	dl->legacy_attr = mbx_dir_server_attr(&dl->head, "legacyExchangeDN");
	if (dl->base_dn == NULL || dl->base_norm == NULL || dl->bind_dn == NULL ||
	    dl->pwfile == NULL ||
	    (cfg->ca_file != NULL && cfg->ca_file[0] != '\0' && dl->ca_file == NULL) ||
	    dl->servers == NULL || dl->change_ev == NULL || dl->sync.retry_ev == NULL)
		goto oom;
	dl->nservers = n;
	for (size_t i = 0; i < n; i++) {
		dl->servers[i].dl = dl;
		dl->servers[i].uri = strdup(cfg->uris[i]);
		dl->servers[i].retry_ev = evtimer_new(base, dir_ldap_server_retry, &dl->servers[i]);
		if (dl->servers[i].uri == NULL || dl->servers[i].retry_ev == NULL)
			goto oom;
	}
	if (clear)
		mbx_log(MBX_LOG_WARNING,
		        "directory: the service password goes to an ldap:// server without "
		        "StartTLS");
	dir_ldap_server_connect_service(dl);
	return &dl->head;
oom:
	snprintf(err, errsize, "out of memory");
	dir_ldap_free(&dl->head);
	return NULL;
}

const char *dir_ldap_active_uri(const struct mbx_dir *d)
{
	const struct dir_ldap *dl = (const struct dir_ldap *)d;

	if (d == NULL || d->ops != &dir_ldap_ops || dl->svc == NULL || dl->svc->state != DLC_READY)
		return NULL;
	return dl->servers[dl->svc->server].uri;
}

const struct mbx_dir_ops dir_ldap_ops = {
        .name = "ldap",
        .lookup = dir_ldap_lookup,
        .check_password = dir_ldap_auth_check_password,
        .modify = dir_ldap_modify,
        .cancel = dir_ldap_cancel,
        .reload = dir_ldap_reload,
        .free = dir_ldap_free,
};
