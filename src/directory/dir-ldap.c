/*
 * dir-ldap.c: the `ldap` directory backend (design.md "Directory backends", directory.h):
 * OpenLDAP's libldap on the daemon's libevent loop. This file holds the backend's operations,
 * its configuration and life cycle, the service password file, small helpers and the change
 * notifications; the other parts are in dir-ldap-req.c (requests), dir-ldap-conn.c
 * (connections), dir-ldap-server.c (server state and failover), dir-ldap-sync.c (Content Sync)
 * and dir-ldap-auth.c (password checks), and dir-ldap-int.h is what they share.
 *
 * Identity. Lookups, modifies and the sync always run as the configured service account (seed
 * 004: a directory client must never fall back to a user's credentials). A password check
 * binds as the user on a connection of its own, closed afterwards, so the service connection's
 * identity never changes; an empty password is refused before any bind (RFC 4513 5.1.2: a
 * simple bind with a DN and no password is an unauthenticated bind that "succeeds").
 */
#include "directory/dir-ldap-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

bool dir_ldap_rc_tempfail(int rc)
{
	return rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE || rc == LDAP_SERVER_DOWN ||
	       rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED || rc == LDAP_CONNECT_ERROR;
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

/* --- filters ----------------------------------------------------------------------------- */

/* The form of each lookup kind: mbx_ldap_filter_build (ldap-filter.c keeps the templates, the
 * attribute map's translation and its checks) run once with the key "*", whose escaped form
 * "\\2a" can stand nowhere else in a filter (attribute names are letters, digits, '-', '.' and
 * ';' there, and the templates hold no backslash). A lookup then copies the text around the
 * marks and escapes its key once into the same block: one allocation, one pass over the key
 * (mbx_ldap_filter_build escapes it twice, measure then write, then copies it again). The
 * result is the same string; the unit test compares the two over every byte value. */
static int dir_ldap_forms_init(struct dir_ldap *dl)
{
	for (int k = 0; k <= MBX_DIR_DISABLED_NO_MASTER; k++) {
		struct dir_ldap_form *f = &dl->forms[k];
		const char *why = NULL, *p;

		f->binary = k == MBX_DIR_BY_SID; /* ldap-filter.h: SIDs have every byte escaped */
		f->text = mbx_ldap_filter_build(&dl->head, (enum mbx_dir_key)k, "*", 1, &why);
		if (f->text == NULL) {
			f->why = why != NULL ? why : "cannot build the filter";
			if (strcmp(f->why, "out of memory") == 0)
				return -1;
			continue;
		}
		f->len = strlen(f->text);
		for (p = f->text; (p = strstr(p, DIR_LDAP_FORM_MARK)) != NULL;
		     p += strlen(DIR_LDAP_FORM_MARK)) {
			if (f->nkeys == DIR_LDAP_FORM_MAX_KEYS) {
				free(f->text);
				f->text = NULL;
				f->why = "unexpected filter form";
				break;
			}
			f->at[f->nkeys++] = (size_t)(p - f->text);
		}
	}
	return 0;
}

static void dir_ldap_forms_free(struct dir_ldap *dl)
{
	for (int k = 0; k <= MBX_DIR_DISABLED_NO_MASTER; k++) {
		free(dl->forms[k].text);
		dl->forms[k].text = NULL;
	}
}

char *dir_ldap_filter_new(const struct dir_ldap *dl, enum mbx_dir_key kind, const void *key,
                          size_t keylen, size_t extra, char **extra_r, const char **why_r)
{
	const struct dir_ldap_form *f;
	const size_t ml = strlen(DIR_LDAP_FORM_MARK);
	size_t size, from = 0, esc = 0;
	char *out, *w, *first = NULL;

	if ((unsigned)kind > MBX_DIR_DISABLED_NO_MASTER) {
		*why_r = "unknown lookup kind";
		return NULL;
	}
	f = &dl->forms[kind];
	if (kind == MBX_DIR_DISABLED_NO_MASTER) {
		key = ""; /* a form without a key (mbx_ldap_filter_build ignores it too) */
		keylen = 0;
	} else if (key == NULL || keylen == 0) {
		*why_r = "empty key";
		return NULL;
	}
	if (keylen > MBX_LDAP_FILTER_MAX_KEY) {
		*why_r = "key too long";
		return NULL;
	}
	if (f->text == NULL) {
		*why_r = f->why;
		return NULL;
	}
	/* Room for the longest escaped form (3 bytes per key byte) at every mark: bounded by
	 * MBX_LDAP_FILTER_MAX_KEY, so no overflow. */
	size = f->len - f->nkeys * ml + f->nkeys * 3 * keylen + 1 + extra;
	out = malloc(size);
	if (out == NULL) {
		*why_r = "out of memory";
		return NULL;
	}
	w = out;
	for (size_t i = 0; i < f->nkeys; i++) {
		memcpy(w, f->text + from, f->at[i] - from);
		w += f->at[i] - from;
		from = f->at[i] + ml;
		if (first == NULL) {
			first = w;
			esc = mbx_ldap_filter_escape(w, 3 * keylen + 1, key, keylen, f->binary);
		} else {
			memcpy(w, first, esc);
		}
		w += esc;
	}
	memcpy(w, f->text + from, f->len - from);
	w += f->len - from;
	*w++ = '\0';
	if (extra_r != NULL)
		*extra_r = extra > 0 ? w : NULL;
	return out;
}

char *dir_ldap_filter(const struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                      size_t keylen, const char **why_r)
{
	if (d == NULL || d->ops != &dir_ldap_ops) {
		*why_r = "not an ldap directory";
		return NULL;
	}
	return dir_ldap_filter_new((const struct dir_ldap *)d, kind, key, keylen, 0, NULL, why_r);
}

/* --- the operations ---------------------------------------------------------------------- */

static struct mbx_dir_req *dir_ldap_lookup(struct mbx_dir *d, enum mbx_dir_key kind,
                                           const void *key, size_t keylen, mbx_dir_cb *cb,
                                           void *ctx)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;
	struct dir_ldap_req *r;
	const char *why = NULL;
	char *kcopy = NULL;
	size_t len;
	bool copy;

	if ((unsigned)kind > MBX_DIR_DISABLED_NO_MASTER)
		return NULL;
	r = dir_ldap_req_new(dl, DLR_LOOKUP, cb, ctx);
	if (r == NULL)
		return NULL;
	r->key = kind;
	if (kind == MBX_DIR_DISABLED_NO_MASTER) {
		/* The report: one subtree search, no key; what the server sends is checked again
		 * with mbx_dir_entry_disabled_no_master (dir_ldap_req_exact), which also leaves the
		 * computers out. */
		r->filter = dir_ldap_filter_new(dl, kind, "", 0, 0, NULL, &why);
		if (r->filter == NULL) {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
			return &r->head;
		}
		r->base = dl->base_dn;
		r->scope = LDAP_SCOPE_SUBTREE;
		return dir_ldap_req_start(r);
	}
	/* String keys are NUL-terminated (directory.h); only a SID's length counts. */
	len = kind == MBX_DIR_BY_SID ? keylen : strlen(key);
	if (len == 0) {
		if (kind == MBX_DIR_BY_SID)
			dir_ldap_req_done(r, MBX_DIR_ERROR, "empty SID");
		else
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, NULL);
		return &r->head;
	}
	/* A string key is kept after the filter, in its block: the base of a BY_DN search, the
	 * value entries must hold for the string kinds (dir_ldap_req_exact). */
	copy = kind != MBX_DIR_BY_SID && kind != MBX_DIR_BY_MEMBER;
	r->filter = dir_ldap_filter_new(dl, kind, key, len, copy ? len + 1 : 0, &kcopy, &why);
	if (r->filter == NULL) {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "%s", why);
		return &r->head;
	}
	if (copy) {
		memcpy(kcopy, key, len);
		kcopy[len] = '\0';
	}
	if (kind == MBX_DIR_BY_DN) {
		LDAPDN parsed = NULL;

		if (ldap_str2dn(key, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
			dir_ldap_req_done(r, MBX_DIR_ERROR, "invalid DN syntax");
			return &r->head;
		}
		ldap_dnfree(parsed);
		r->base = kcopy;
		r->scope = LDAP_SCOPE_BASE;
	} else {
		r->base = dl->base_dn;
		r->scope = LDAP_SCOPE_SUBTREE;
		if (copy) {
			r->match = kcopy;
			r->matchlen = len;
		}
	}
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
	dir_ldap_forms_free(dl);
	free(dl->scan);
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
	if (dir_ldap_forms_init(dl) < 0 || dl->base_dn == NULL || dl->base_norm == NULL ||
	    dl->bind_dn == NULL || dl->pwfile == NULL ||
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
