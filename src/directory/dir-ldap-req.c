/*
 * dir-ldap-req.c: requests of the `ldap` directory backend (design.md "Directory
 * backends", directory.h): their life cycle and deadline, the queue of lookups and modifies
 * waiting for the service connection, sending them (at most DIR_LDAP_MAX_INFLIGHT on a
 * connection) and turning the server's answers into directory results: entries with
 * canonical attribute names (never userPassword), result codes as found / not found /
 * temporary failure / error. Every answer is delivered from the loop, never from inside the
 * call that made the request.
 */
#include "directory/dir-ldap-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/log.h"

/* --- request lists ----------------------------------------------------------------------- */

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
		free(r->res.entries[i]); /* one block each (dir_ldap_req_entry_new) */
	free(r->res.entries);
	if (r->timer_ev != NULL)
		event_free(r->timer_ev);
	if (r->fire_ev != NULL)
		event_free(r->fire_ev);
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
			free(r->res.entries[i]);
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

/* --- answers: entries ------------------------------------------------------------------ */

/* The entry block's parts follow each other: the entry, the attributes, the values, then the
 * bytes (DN, names, values, each with a NUL). Each part starts suitably aligned: */
_Static_assert(sizeof(struct mbx_dir_entry) % _Alignof(struct mbx_dir_attr) == 0 &&
                       sizeof(struct mbx_dir_entry) % _Alignof(struct mbx_dir_value) == 0 &&
                       sizeof(struct mbx_dir_attr) % _Alignof(struct mbx_dir_value) == 0,
               "entry block layout");

/* The canonical name of a server attribute name of len bytes (not NUL-terminated), and its
 * length: mbx_dir_canonical_attr for a name in place. */
static const char *dir_ldap_req_canon(const struct dir_ldap *dl, const char *name, size_t len,
                                      size_t *len_r)
{
	for (size_t i = 0; i < dl->head.nattrmap; i++) {
		const char *s = dl->head.attrmap[i].server;

		if (strlen(s) == len && strncasecmp(s, name, len) == 0) {
			*len_r = strlen(dl->head.attrmap[i].canonical);
			return dl->head.attrmap[i].canonical;
		}
	}
	*len_r = len;
	return name;
}

/* Appends a name or value to the scratch list (grown by doubling, kept for the next entry). */
static int dir_ldap_req_scan_push(struct dir_ldap *dl, size_t *n, const char *p, size_t len)
{
	if (*n == dl->scan_cap) {
		size_t cap = dl->scan_cap == 0 ? 64 : 2 * dl->scan_cap;
		struct dir_ldap_scan *ns;

		if (cap > SIZE_MAX / sizeof(*ns))
			return -1;
		ns = realloc(dl->scan, cap * sizeof(*ns));
		if (ns == NULL)
			return -1;
		dl->scan = ns;
		dl->scan_cap = cap;
	}
	dl->scan[*n].p = p;
	dl->scan[*n].len = len;
	dl->scan[*n].nvals = 0;
	(*n)++;
	return 0;
}

/* An LDAP entry as a directory entry with canonical attribute names, in one block. userPassword
 * is left out: this backend checks passwords by binding, never by reading hashes.
 *
 * The message is read once, in place: ldap_get_dn_ber gives the DN and leaves ber on the
 * attribute list (RFC 4511 4.5.2: SEQUENCE OF PartialAttribute ::= SEQUENCE { type, vals SET
 * OF value }), which is walked with ber_first_element / ber_next_element / ber_skip_element;
 * names and values stay in the message's buffer (dl->scan points at them) until they are
 * copied into the block, whose size is known by then. Not ldap_first_attribute +
 * ldap_get_values_len: ldap_get_values_len scans the entry from its start again for every
 * attribute (quadratic in their number, 64% of the backend's instructions per lookup), and each
 * call allocates. Every element must end within the one that holds it. */
struct mbx_dir_entry *dir_ldap_req_entry_new(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg)
{
	BerElement *ber = NULL;
	struct berval dn = {0, NULL};
	struct mbx_dir_entry *e = NULL;
	struct mbx_dir_attr *attrs;
	struct mbx_dir_value *vals;
	size_t n = 0, nattrs = 0, nvals = 0, bytes, size;
	char *t;

	if (ldap_get_dn_ber(ld, msg, &ber, &dn) != LDAP_SUCCESS || ber == NULL)
		goto out;
	bytes = dn.bv_len + 1;
	for (;;) {
		ber_len_t len, rest = 0;
		char *alast = NULL, *vlast = NULL;
		struct berval name, v;
		const char *canon;
		size_t clen, at = n;
		ber_tag_t tag;
		bool keep;

		/* ldap_get_dn_ber ended ber with the attribute list */
		if (ber_get_option(ber, LBER_OPT_REMAINING_BYTES, &rest) != LBER_OPT_SUCCESS)
			goto out;
		if (rest == 0)
			break;
		if (ber_first_element(ber, &len, &alast) == LBER_DEFAULT ||
		    ber_skip_element(ber, &name) == LBER_DEFAULT ||
		    name.bv_val + name.bv_len > alast ||
		    ber_next_element(ber, &len, alast) == LBER_DEFAULT)
			goto out; /* no type, or no value set */
		canon = dir_ldap_req_canon(dl, name.bv_val, name.bv_len, &clen);
		/* userPassword, also with options ("userPassword;binary") */
		keep = !(clen >= 12 && strncasecmp(canon, "userPassword", 12) == 0 &&
		         (clen == 12 || canon[12] == ';'));
		if (keep) {
			if (dir_ldap_req_scan_push(dl, &n, canon, clen) < 0)
				goto out;
			nattrs++;
			bytes += clen + 1;
		}
		for (tag = ber_first_element(ber, &len, &vlast); tag != LBER_DEFAULT;
		     tag = ber_next_element(ber, &len, vlast)) {
			if (ber_skip_element(ber, &v) == LBER_DEFAULT ||
			    v.bv_val + v.bv_len > vlast)
				goto out;
			if (!keep)
				continue;
			if (dir_ldap_req_scan_push(dl, &n, v.bv_val, v.bv_len) < 0)
				goto out;
			dl->scan[at].nvals++;
			nvals++;
			bytes += v.bv_len + 1;
		}
		if (vlast == NULL || vlast > alast)
			goto out;
		/* Elements after the value set (none in RFC 4511) are skipped. */
		while (ber_next_element(ber, &len, alast) != LBER_DEFAULT) {
			if (ber_skip_element(ber, &v) == LBER_DEFAULT ||
			    v.bv_val + v.bv_len > alast)
				goto out;
		}
	}
	/* Sizes of what is in memory already: they cannot overflow short of corruption. */
	size = sizeof(*e) + nattrs * sizeof(*attrs) + nvals * sizeof(*vals) + bytes;
	e = malloc(size);
	if (e == NULL)
		goto out;
	attrs = (struct mbx_dir_attr *)(e + 1);
	vals = (struct mbx_dir_value *)(attrs + nattrs);
	t = (char *)(vals + nvals);
	e->dn = t;
	if (dn.bv_len > 0)
		memcpy(t, dn.bv_val, dn.bv_len);
	t[dn.bv_len] = '\0';
	t += dn.bv_len + 1;
	e->attrs = nattrs > 0 ? attrs : NULL;
	e->nattrs = nattrs;
	for (size_t i = 0; i < n;) {
		const struct dir_ldap_scan *s = &dl->scan[i++];

		attrs->name = t;
		memcpy(t, s->p, s->len);
		t[s->len] = '\0';
		t += s->len + 1;
		attrs->vals = s->nvals > 0 ? vals : NULL;
		attrs->nvals = s->nvals;
		for (size_t j = 0; j < s->nvals; j++, i++) {
			const struct dir_ldap_scan *x = &dl->scan[i];

			vals->data = (uint8_t *)t;
			vals->len = x->len;
			if (x->len > 0)
				memcpy(t, x->p, x->len);
			t[x->len] = '\0';
			t += x->len + 1;
			vals++;
		}
		attrs++;
	}
out:
	if (ber != NULL)
		ber_free(ber, 0); /* the buffer is the message's */
	return e;
}

/* The ldif backend's equality for the string keys (dir-ldif-index.c: keys folded to lower
 * case byte by byte, ASCII A-Z only, then compared with their lengths): len bytes at v against
 * the key. */
static bool dir_ldap_req_fold_eq(const uint8_t *v, size_t len, const char *key, size_t keylen)
{
	if (len != keylen)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t a = v[i], b = (uint8_t)key[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + ('a' - 'A'));
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b + ('a' - 'A'));
		if (a != b)
			return false;
	}
	return true;
}

/* Whether a value of attribute name (after prefix, itself compared the same way) equals the
 * key under that rule. */
static bool dir_ldap_req_attr_holds(const struct mbx_dir_entry *e, const char *name,
                                    const char *prefix, const char *key, size_t keylen)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, name);
	size_t pl = prefix != NULL ? strlen(prefix) : 0;

	for (size_t i = 0; a != NULL && i < a->nvals; i++) {
		const struct mbx_dir_value *v = &a->vals[i];

		if (v->len >= pl && dir_ldap_req_fold_eq(v->data, pl, prefix, pl) &&
		    dir_ldap_req_fold_eq(v->data + pl, v->len - pl, key, keylen))
			return true;
	}
	return false;
}

/* The server compares legacyExchangeDN, mail, proxyAddresses, userPrincipalName and
 * sAMAccountName with its own equality rule: slapd's caseIgnoreMatch (RFC 4517 4.2.11, with
 * the RFC 4518 preparation) also drops leading and trailing spaces, collapses inner runs of
 * spaces and folds non-ASCII case, and AD's rules differ again. The ldif backend folds ASCII
 * case only, and the mailbox table keys its cache on the string. So that both backends find
 * the same entries for the same key (and "/...cn=alice " is not a second name for alice), an
 * entry is kept only when one of the attributes the filter asked about holds the key under the
 * ldif backend's rule: BY_LEGACYDN legacyExchangeDN, or a proxyAddresses value "x500:" + key
 * (prefix in any case); BY_SMTP mail, or a proxyAddresses value "smtp:" + key; BY_LOGIN
 * userPrincipalName or sAMAccountName. DISABLED_NO_MASTER keeps the entries for which
 * mbx_dir_entry_disabled_no_master holds: the filter cannot leave computers out (ldap-filter.h),
 * and the server's integer rules are not the ldif backend's. Other kinds keep every entry (DNs
 * and SIDs have their own rules). */
bool dir_ldap_req_exact(const struct dir_ldap_req *r, const struct mbx_dir_entry *e)
{
	const char *k = r->match;
	size_t n = r->matchlen;

	if (r->key == MBX_DIR_DISABLED_NO_MASTER)
		return mbx_dir_entry_disabled_no_master(e);
	if (k == NULL)
		return true;
	switch (r->key) {
	case MBX_DIR_BY_LEGACYDN:
		return dir_ldap_req_attr_holds(e, "legacyExchangeDN", NULL, k, n) ||
		       dir_ldap_req_attr_holds(e, "proxyAddresses", "x500:", k, n);
	case MBX_DIR_BY_SMTP:
		return dir_ldap_req_attr_holds(e, "mail", NULL, k, n) ||
		       dir_ldap_req_attr_holds(e, "proxyAddresses", "smtp:", k, n);
	case MBX_DIR_BY_LOGIN:
		return dir_ldap_req_attr_holds(e, "userPrincipalName", NULL, k, n) ||
		       dir_ldap_req_attr_holds(e, "sAMAccountName", NULL, k, n);
	default:
		return true;
	}
}

void dir_ldap_req_forget_answer(struct dir_ldap_req *r)
{
	for (size_t i = 0; i < r->res.nentries; i++)
		free(r->res.entries[i]);
	r->res.nentries = 0;
	r->broken = NULL;
}

void dir_ldap_req_entry(struct dir_ldap_req *r, struct dir_ldap_conn *c, LDAPMessage *msg)
{
	struct mbx_dir_entry *e;

	if (r->kind != DLR_LOOKUP)
		return;
	if (r->res.nentries >= DIR_LDAP_MAX_ENTRIES) {
		/* The search asked for at most that many: a server that sends more anyway must
		 * not make a part of the answer look like all of it. */
		r->broken = "the server sent more entries than the size limit it was given: the "
		            "answer would be incomplete";
		return;
	}
	if (r->res.nentries == r->cap) {
		size_t cap = r->cap == 0 ? 4 : 2 * r->cap;
		struct mbx_dir_entry **ne = realloc(r->res.entries, cap * sizeof(*ne));

		if (ne == NULL) {
			r->broken = "out of memory";
			return;
		}
		r->res.entries = ne;
		r->cap = cap;
	}
	e = dir_ldap_req_entry_new(r->dl, c->ld, msg);
	if (e == NULL) {
		/* Not dropped silently: that could turn an entry into "not found". */
		r->broken = "an entry of the answer is malformed (or out of memory)";
		return;
	}
	if (!dir_ldap_req_exact(r, e)) {
		mbx_trace(MBX_TRACE_LDAP,
		          "ldap: msgid %d: %s left out: it matches the %s key only under the "
		          "server's matching rule",
		          r->msgid, e->dn, mbx_dir_key_name(r->key));
		free(e);
		return;
	}
	r->res.entries[r->res.nentries++] = e;
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
	why[0] = '\0'; /* only a failure needs it */
	if (err != LDAP_SUCCESS && text != NULL && text[0] != '\0')
		snprintf(why, sizeof(why), "%s: %s (%s)", uri, ldap_err2string(err), text);
	else if (err != LDAP_SUCCESS)
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
	} else if (err == LDAP_SIZELIMIT_EXCEEDED || err == LDAP_ADMINLIMIT_EXCEEDED) {
		/* The server stopped at its size limit (slapd's sizelimit, AD's MaxPageSize) or
		 * ours: what came is only a part, and never passes for the whole answer. No
		 * paged results (RFC 2696): raise the service account's limit on the server. */
		dir_ldap_req_done(
		        r, MBX_DIR_ERROR,
		        "%s: %s after %zu entries: the answer would be incomplete (at most "
		        "%d entries per lookup; raise the server's size limit for the "
		        "service account if it is lower)",
		        uri, ldap_err2string(err), r->res.nentries, DIR_LDAP_MAX_ENTRIES);
	} else if (err == LDAP_SUCCESS && r->broken != NULL) {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "%s: %s", uri, r->broken);
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
