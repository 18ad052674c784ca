/*
 * dir-ldap-sync.c: the LDAP Content Sync (RFC 4533) client of the `ldap` directory backend
 * (design.md "Directory backends"), and the root DSE check that tells whether the server
 * offers it.
 *
 * Content Sync (RFC 4533). When the server lists 1.3.6.1.4.1.4203.1.9.1.1 in the root DSE's
 * supportedControl, a third connection runs a refreshAndPersist search of the base, asking
 * only for legacyExchangeDN, and every entry added, modified, renamed or deleted is passed to
 * mbx_dir_notify_change with its legacyExchangeDN before and after. This is our own client of
 * the protocol over ldap_search_ext, not libldap's ldap_sync_init/ldap_sync_poll: ldap_sync_init
 * runs the whole refresh phase in a blocking loop (ldap_result with 100 ms waits until
 * refreshDone), which would stall the event loop for as long as the server takes to send the
 * directory, and ldap_sync_poll reads with LDAP_MSG_RECEIVED, which chains every message that
 * is already buffered and then passes the head of the chain, not each message, to its
 * handlers, so two changes arriving together lose one (ldap_sync.c in 2.5 and later). The
 * entryUUID -> (DN, legacyExchangeDN) map kept here also gives the old legacyExchangeDN of a
 * changed or deleted entry, which a delete message does not carry (it costs a DN and a
 * legacyExchangeDN per directory object). The cookie survives reconnections: after a failover
 * the sync restarts on the new server with it; a server that cannot resume from it gets a
 * full refresh, and then every entry is reported, since what changed meanwhile is unknown.
 * The first refresh after start-up reports nothing (there is nothing cached to invalidate
 * yet); a change made between the first lookup and the end of that refresh is not reported.
 */
#include "directory/dir-ldap-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/log.h"

/* --- Content Sync (RFC 4533) ------------------------------------------------------------- */

static uint64_t dir_ldap_sync_uuid_hash(const uint8_t *u)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < 16; i++)
		h = (h ^ u[i]) * 1099511628211ull;
	return h;
}

static struct dir_ldap_uuid **dir_ldap_sync_uuid_slot(struct dir_ldap_sync *s, const uint8_t *u)
{
	struct dir_ldap_uuid **p;

	if (s->nbuckets == 0)
		return NULL;
	p = &s->buckets[dir_ldap_sync_uuid_hash(u) % s->nbuckets];
	while (*p != NULL && memcmp((*p)->uuid, u, 16) != 0)
		p = &(*p)->next;
	return p;
}

static struct dir_ldap_uuid *dir_ldap_sync_uuid_find(struct dir_ldap_sync *s, const uint8_t *u)
{
	struct dir_ldap_uuid **p = dir_ldap_sync_uuid_slot(s, u);

	return p != NULL ? *p : NULL;
}

static void dir_ldap_sync_uuid_free(struct dir_ldap_uuid *e)
{
	free(e->dn);
	free(e->legacy);
	free(e);
}

static void dir_ldap_sync_uuid_remove(struct dir_ldap_sync *s, const uint8_t *u)
{
	struct dir_ldap_uuid **p = dir_ldap_sync_uuid_slot(s, u), *e;

	if (p == NULL || *p == NULL)
		return;
	e = *p;
	*p = e->next;
	dir_ldap_sync_uuid_free(e);
	s->count--;
}

static int dir_ldap_sync_uuid_grow(struct dir_ldap_sync *s)
{
	size_t n = s->nbuckets == 0 ? 256 : 2 * s->nbuckets;
	struct dir_ldap_uuid **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < s->nbuckets; i++) {
		while (s->buckets[i] != NULL) {
			struct dir_ldap_uuid *e = s->buckets[i];

			s->buckets[i] = e->next;
			e->next = b[dir_ldap_sync_uuid_hash(e->uuid) % n];
			b[dir_ldap_sync_uuid_hash(e->uuid) % n] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
	return 0;
}

void dir_ldap_sync_uuid_clear(struct dir_ldap_sync *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		while (s->buckets[i] != NULL) {
			struct dir_ldap_uuid *e = s->buckets[i];

			s->buckets[i] = e->next;
			dir_ldap_sync_uuid_free(e);
		}
	}
	free(s->buckets);
	s->buckets = NULL;
	s->nbuckets = s->count = 0;
}

static bool dir_ldap_sync_str_eq(const char *a, const char *b, bool nocase)
{
	if (a == NULL || b == NULL)
		return a == b;
	return nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* An entry was added or modified (or is present in a full refresh): tell every name it had
 * and has. */
static void dir_ldap_sync_upsert(struct dir_ldap *dl, const uint8_t *uuid, const char *dn,
                                 const char *legacy, bool notify)
{
	struct dir_ldap_sync *s = &dl->sync;
	struct dir_ldap_uuid *e = dir_ldap_sync_uuid_find(s, uuid);
	char *ndn, *nlegacy = NULL;

	if (notify) {
		dir_ldap_change_queue(dl, dn, legacy);
		if (e != NULL && !dir_ldap_sync_str_eq(e->dn, dn, false))
			dir_ldap_change_queue(dl, e->dn, e->legacy); /* renamed */
		else if (e != NULL && e->legacy != NULL &&
		         !dir_ldap_sync_str_eq(e->legacy, legacy, true))
			dir_ldap_change_queue(dl, dn, e->legacy); /* the old legacyExchangeDN */
	}
	ndn = strdup(dn);
	if (legacy != NULL)
		nlegacy = strdup(legacy);
	if (ndn == NULL || (legacy != NULL && nlegacy == NULL)) {
		free(ndn);
		free(nlegacy);
		return;
	}
	if (e == NULL) {
		struct dir_ldap_uuid **p;

		if ((s->count + 1 > 2 * s->nbuckets && dir_ldap_sync_uuid_grow(s) < 0) ||
		    (p = dir_ldap_sync_uuid_slot(s, uuid)) == NULL ||
		    (e = calloc(1, sizeof(*e))) == NULL) {
			free(ndn);
			free(nlegacy);
			return;
		}
		memcpy(e->uuid, uuid, 16);
		*p = e;
		s->count++;
	}
	free(e->dn);
	free(e->legacy);
	e->dn = ndn;
	e->legacy = nlegacy;
	e->seen = true;
}

static void dir_ldap_sync_delete(struct dir_ldap *dl, const uint8_t *uuid, const char *dn)
{
	struct dir_ldap_uuid *e = dir_ldap_sync_uuid_find(&dl->sync, uuid);

	if (e != NULL)
		dir_ldap_change_queue(dl, e->dn, e->legacy);
	else if (dn != NULL && dn[0] != '\0')
		dir_ldap_change_queue(dl, dn, NULL);
	dir_ldap_sync_uuid_remove(&dl->sync, uuid);
}

static void dir_ldap_sync_cookie(struct dir_ldap *dl, const struct berval *cookie)
{
	char *v;

	if (cookie == NULL || cookie->bv_val == NULL)
		return;
	v = malloc(cookie->bv_len + 1);
	if (v == NULL)
		return;
	memcpy(v, cookie->bv_val, cookie->bv_len);
	v[cookie->bv_len] = '\0';
	free(dl->sync.cookie.bv_val);
	dl->sync.cookie.bv_val = v;
	dl->sync.cookie.bv_len = cookie->bv_len;
}

/* End of a present phase: every entry we knew that the server did not list is gone. */
static void dir_ldap_sync_sweep(struct dir_ldap *dl)
{
	struct dir_ldap_sync *s = &dl->sync;

	for (size_t i = 0; i < s->nbuckets; i++) {
		struct dir_ldap_uuid **p = &s->buckets[i];

		while (*p != NULL) {
			struct dir_ldap_uuid *e = *p;

			if (e->seen) {
				e->seen = false;
				p = &e->next;
				continue;
			}
			dir_ldap_change_queue(dl, e->dn, e->legacy);
			*p = e->next;
			dir_ldap_sync_uuid_free(e);
			s->count--;
		}
	}
}

/* A search entry of the sync: its Sync State control says what happened to it. */
void dir_ldap_sync_entry(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg)
{
	struct dir_ldap_sync *s = &dl->sync;
	LDAPControl **ctrls = NULL, *ctl = NULL;
	BerElement *ber = NULL;
	struct berval uuid = {0}, cookie = {0}, **vals = NULL;
	ber_int_t state = -1;
	ber_len_t len;
	char *dn = NULL, *legacy = NULL;

	if (ldap_get_entry_controls(ld, msg, &ctrls) != LDAP_SUCCESS || ctrls == NULL)
		goto out;
	for (size_t i = 0; ctrls[i] != NULL; i++) {
		if (strcmp(ctrls[i]->ldctl_oid, LDAP_CONTROL_SYNC_STATE) == 0)
			ctl = ctrls[i];
	}
	if (ctl == NULL || (ber = ber_init(&ctl->ldctl_value)) == NULL)
		goto out;
	if (ber_scanf(ber, "{em", &state, &uuid) == LBER_ERROR || uuid.bv_len != 16)
		goto out;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    ber_scanf(ber, "m", &cookie) != LBER_ERROR)
		dir_ldap_sync_cookie(dl, &cookie);
	dn = ldap_get_dn(ld, msg);
	vals = ldap_get_values_len(ld, msg, dl->legacy_attr);
	if (vals != NULL && vals[0] != NULL &&
	    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) == NULL) {
		legacy = malloc(vals[0]->bv_len + 1);
		if (legacy != NULL) {
			memcpy(legacy, vals[0]->bv_val, vals[0]->bv_len);
			legacy[vals[0]->bv_len] = '\0';
		}
	}
	switch (state) {
	case LDAP_SYNC_PRESENT: {
		struct dir_ldap_uuid *e = dir_ldap_sync_uuid_find(s, (const uint8_t *)uuid.bv_val);

		if (e != NULL)
			e->seen = true;
		break;
	}
	case LDAP_SYNC_ADD:
	case LDAP_SYNC_MODIFY:
		if (dn != NULL)
			dir_ldap_sync_upsert(dl, (const uint8_t *)uuid.bv_val, dn, legacy,
			                     !s->quiet);
		break;
	case LDAP_SYNC_DELETE:
		dir_ldap_sync_delete(dl, (const uint8_t *)uuid.bv_val, dn);
		break;
	default:
		break;
	}
out:
	ldap_memfree(dn);
	free(legacy);
	ldap_value_free_len(vals);
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_controls_free(ctrls);
}

static void dir_ldap_sync_refresh_done(struct dir_ldap *dl)
{
	struct dir_ldap_sync *s = &dl->sync;

	if (!s->refreshing)
		return;
	s->refreshing = false;
	s->persisting = true;
	s->quiet = false;
	s->backoff_ms = 0;
	mbx_log(MBX_LOG_INFO, "directory: following changes on %s (%zu entries)",
	        s->conn != NULL ? dir_ldap_uri(dl, s->conn->server) : "?", s->count);
}

/* A Sync Info message (intermediate response). */
void dir_ldap_sync_info(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL, cookie = {0};
	BerElement *ber = NULL;
	BerVarray uuids = NULL;
	ber_tag_t tag;
	ber_len_t len;
	ber_int_t done = 1, deletes = 0;

	if (ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) != LDAP_SUCCESS || oid == NULL ||
	    strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL || (ber = ber_init(data)) == NULL)
		goto out;
	tag = ber_peek_tag(ber, &len);
	switch (tag) {
	case LDAP_TAG_SYNC_NEW_COOKIE:
		if (ber_scanf(ber, "m", &cookie) != LBER_ERROR)
			dir_ldap_sync_cookie(dl, &cookie);
		break;
	case LDAP_TAG_SYNC_REFRESH_DELETE:
	case LDAP_TAG_SYNC_REFRESH_PRESENT:
		if (ber_scanf(ber, "{") == LBER_ERROR)
			break;
		if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
		    ber_scanf(ber, "m", &cookie) != LBER_ERROR)
			dir_ldap_sync_cookie(dl, &cookie);
		if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE &&
		    ber_scanf(ber, "b", &done) == LBER_ERROR)
			break;
		mbx_trace(MBX_TRACE_LDAP, "ldap: sync: end of the %s phase%s",
		          tag == LDAP_TAG_SYNC_REFRESH_PRESENT ? "present" : "delete",
		          done ? ", refresh done" : "");
		if (tag == LDAP_TAG_SYNC_REFRESH_PRESENT)
			dir_ldap_sync_sweep(dl);
		if (done)
			dir_ldap_sync_refresh_done(dl);
		break;
	case LDAP_TAG_SYNC_ID_SET:
		if (ber_scanf(ber, "{") == LBER_ERROR)
			break;
		if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
		    ber_scanf(ber, "m", &cookie) != LBER_ERROR)
			dir_ldap_sync_cookie(dl, &cookie);
		if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES &&
		    ber_scanf(ber, "b", &deletes) == LBER_ERROR)
			break;
		if (ber_scanf(ber, "[W]", &uuids) == LBER_ERROR || uuids == NULL)
			break;
		mbx_trace(MBX_TRACE_LDAP, "ldap: sync: set of entries %s",
		          deletes ? "deleted" : "present");
		for (size_t i = 0; uuids[i].bv_val != NULL; i++) {
			struct dir_ldap_uuid *e;

			if (uuids[i].bv_len != 16)
				continue;
			if (deletes) {
				dir_ldap_sync_delete(dl, (const uint8_t *)uuids[i].bv_val, NULL);
			} else if ((e = dir_ldap_sync_uuid_find(
			                    &dl->sync, (const uint8_t *)uuids[i].bv_val)) != NULL) {
				e->seen = true;
			}
		}
		break;
	default:
		break;
	}
out:
	ber_bvarray_free(uuids);
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_memfree(oid);
	ber_bvfree(data);
}

/* The sync search ended (refreshAndPersist never ends by itself). */
void dir_ldap_sync_result(struct dir_ldap *dl, struct dir_ldap_conn *c, LDAPMessage *msg)
{
	int err = LDAP_OTHER;
	char *text = NULL, why[320];
	LDAPControl **ctrls = NULL;

	if (ldap_parse_result(c->ld, msg, &err, NULL, &text, NULL, &ctrls, 0) != LDAP_SUCCESS)
		err = LDAP_DECODING_ERROR;
	snprintf(why, sizeof(why), "sync search ended: %s%s%s%s", ldap_err2string(err),
	         text != NULL && text[0] != '\0' ? " (" : "", text != NULL ? text : "",
	         text != NULL && text[0] != '\0' ? ")" : "");
	ldap_memfree(text);
	ldap_controls_free(ctrls);
	dl->sync.msgid = -1;
	if (err == LDAP_SYNC_REFRESH_REQUIRED ||
	    (dl->sync.cookie.bv_val != NULL && err != LDAP_SUCCESS && !dir_ldap_rc_tempfail(err))) {
		/* The server cannot resume from our cookie (e-syncRefreshRequired; or, e.g.,
		 * "consumer state is newer than provider" from a provider that lost its last
		 * changes in a crash, or a cookie of another server after a failover): a full
		 * refresh, and since we cannot tell what changed meanwhile, every entry it sends
		 * is reported. Without a cookie the next failure is handled as any other. */
		free(dl->sync.cookie.bv_val);
		dl->sync.cookie.bv_val = NULL;
		dl->sync.cookie.bv_len = 0;
		mbx_log(MBX_LOG_NOTICE,
		        "directory: %s cannot resume the content sync (%s); full "
		        "refresh",
		        dir_ldap_uri(dl, c->server), why);
		dir_ldap_sync_restart(dl);
		return;
	}
	dir_ldap_conn_failed(c, why);
}

/* Starts (or restarts) the sync search on the sync connection, or the connection first. */
void dir_ldap_sync_restart(struct dir_ldap *dl)
{
	struct dir_ldap_sync *s = &dl->sync;
	struct dir_ldap_conn *c = s->conn;
	BerElement *ber = NULL;
	LDAPControl ctrl, *ctrls[2] = {&ctrl, NULL};
	char *attrs[] = {(char *)dl->legacy_attr, NULL};
	char why[320];
	int rc;

	if (!dl->content_sync || !s->supported || dl->svc == NULL || dl->svc->state != DLC_READY)
		return;
	if (c != NULL && c->server != dl->svc->server) {
		dir_ldap_sync_stop(dl);
		c = NULL;
	}
	if (c == NULL) {
		s->conn = dir_ldap_conn_new(dl, DLC_SYNC, dl->svc->server, why, sizeof(why));
		if (s->conn == NULL) {
			mbx_log(MBX_LOG_WARNING, "directory: cannot start content sync: %s", why);
			dir_ldap_sync_schedule(dl);
		}
		return;
	}
	if (c->state != DLC_READY)
		return; /* restarted when bound */
	if (s->msgid >= 0) {
		ldap_abandon_ext(c->ld, s->msgid, NULL, NULL);
		s->msgid = -1;
	}
	memset(&ctrl, 0, sizeof(ctrl));
	ber = ber_alloc_t(LBER_USE_DER);
	if (ber == NULL)
		goto failed;
	if (s->cookie.bv_val != NULL)
		rc = ber_printf(ber, "{eO}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST, &s->cookie);
	else
		rc = ber_printf(ber, "{e}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST);
	if (rc < 0 || ber_flatten2(ber, &ctrl.ldctl_value, 0) < 0)
		goto failed;
	ctrl.ldctl_oid = (char *)LDAP_CONTROL_SYNC;
	ctrl.ldctl_iscritical = 1;
	/* A first refresh (nothing known yet) only fills the map; after that, or when the
	 * server refused our cookie, every entry it sends is a change. */
	s->quiet = s->count == 0 && s->cookie.bv_val == NULL;
	s->refreshing = true;
	s->persisting = false;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct dir_ldap_uuid *e = s->buckets[i]; e != NULL; e = e->next)
			e->seen = false;
	}
	rc = ldap_search_ext(c->ld, dl->base_dn, LDAP_SCOPE_SUBTREE, "(objectClass=*)", attrs, 0,
	                     ctrls, NULL, NULL, 0, &s->msgid);
	ber_free(ber, 1);
	if (rc != LDAP_SUCCESS) {
		s->msgid = -1;
		dir_ldap_ld_error(c->ld, rc, why, sizeof(why));
		dir_ldap_conn_failed(c, why);
		return;
	}
	mbx_trace(MBX_TRACE_LDAP, "ldap: content sync of %s on %s (%s)", dl->base_dn,
	          dir_ldap_uri(dl, c->server), s->cookie.bv_val != NULL ? "with cookie" : "full");
	return;
failed:
	if (ber != NULL)
		ber_free(ber, 1);
	dir_ldap_conn_failed(c, "cannot encode the sync request control");
}

void dir_ldap_sync_stop(struct dir_ldap *dl)
{
	struct dir_ldap_conn *c = dl->sync.conn;

	dl->sync.msgid = -1;
	dl->sync.refreshing = dl->sync.persisting = false;
	if (c != NULL)
		dir_ldap_conn_close(c);
	dl->sync.conn = NULL;
}

void dir_ldap_sync_retry(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap *dl = arg;

	(void)fd;
	(void)what;
	if (dl->sync.conn == NULL || dl->sync.msgid < 0)
		dir_ldap_sync_restart(dl);
}

void dir_ldap_sync_schedule(struct dir_ldap *dl)
{
	struct dir_ldap_sync *s = &dl->sync;
	struct timeval tv;

	s->backoff_ms = s->backoff_ms == 0                     ? dl->retry_min_ms
	                : s->backoff_ms > dl->retry_max_ms / 2 ? dl->retry_max_ms
	                                                       : 2 * s->backoff_ms;
	tv = dir_ldap_tv(s->backoff_ms);
	evtimer_del(s->retry_ev);
	evtimer_add(s->retry_ev, &tv);
}

/* The root DSE: does the server offer Content Sync? */
void dir_ldap_sync_dse_entry(struct dir_ldap *dl, LDAP *ld, LDAPMessage *msg)
{
	struct berval **vals = ldap_get_values_len(ld, msg, "supportedControl");

	dl->sync.supported = false;
	for (size_t i = 0; vals != NULL && vals[i] != NULL; i++) {
		if (vals[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
		    memcmp(vals[i]->bv_val, LDAP_CONTROL_SYNC, vals[i]->bv_len) == 0)
			dl->sync.supported = true;
	}
	ldap_value_free_len(vals);
}

void dir_ldap_sync_dse_done(struct dir_ldap_conn *c)
{
	struct dir_ldap *dl = c->dl;

	c->dse_msgid = -1;
	if (!dl->sync.supported) {
		if (!dl->sync.logged_unsupported)
			mbx_log(MBX_LOG_NOTICE,
			        "directory: %s does not offer Content Sync (RFC 4533): changes "
			        "made "
			        "on the server are not followed",
			        dir_ldap_uri(dl, c->server));
		dl->sync.logged_unsupported = true;
		return;
	}
	if (dl->sync.conn == NULL || dl->sync.conn->server != c->server || dl->sync.msgid < 0)
		dir_ldap_sync_restart(dl);
}

bool dir_ldap_sync_persisting(const struct mbx_dir *d)
{
	const struct dir_ldap *dl = (const struct dir_ldap *)d;

	return d != NULL && d->ops == &dir_ldap_ops && dl->sync.persisting;
}

const char *dir_ldap_sync_uri(const struct mbx_dir *d)
{
	const struct dir_ldap *dl = (const struct dir_ldap *)d;

	if (!dir_ldap_sync_persisting(d) || dl->sync.conn == NULL)
		return NULL;
	return dir_ldap_uri(dl, dl->sync.conn->server);
}
