/*
 * test-principal-cache.c: the principal resolver's token cache (src/store/principal-cache.c,
 * principal-index.c; include/mbx/principal.h; seed 004 and the failover scenario: with
 * the directory down, a principal resolved a minute ago is still served, marked stale) against
 * the fake directory of fake-dir.h on a real libevent loop with an injected clock: hits,
 * misses, expiry, serve-stale within stale_max_ms and not after (with its rate-limited log
 * line), NOT_FOUND and ERROR never answered stale, coalescing, the LRU bound, invalidation by
 * a change of the user entry, of a group in the token, of an object read by a walk in flight,
 * free with pending requests, and the chaining of change callbacks with the mailbox table in
 * both orders.
 */
#include "mbx-test.h"

#include <stdbool.h>

#include "fake-dir.h"
#include "mbx/log.h"
#include "mbx/mailbox-table.h"
#include "mbx/principal.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

#define USERS "cn=Users,dc=contoso,dc=com"
#define U_DN "cn=Ursula," USERS
#define V_DN "cn=Victor," USERS
#define W_DN "cn=Wanda," USERS
#define G1_DN "cn=G1," USERS
#define G2_DN "cn=G2," USERS
#define G9_DN "cn=G9," USERS
#define U_SID "S-1-5-21-1-2-3-1500"
#define V_SID "S-1-5-21-1-2-3-1501"
#define W_SID "S-1-5-21-1-2-3-1502"
#define G1_SID "S-1-5-21-1-2-3-2001"
#define G2_SID "S-1-5-21-1-2-3-2002"
#define G9_SID "S-1-5-21-1-2-3-2009"

#define TTL 60000u
#define STALE_MAX 600000u

struct rec {
	int calls;
	enum mbx_dir_status status;
	struct mbx_principal *p;
	char msg[320];
};

struct fx {
	struct event_base *base;
	struct fake_dir *fd;
	struct mbx_principal_resolver *r;
	struct mbx_principal_config cfg;
	uint64_t now;
	bool in_api;
	int reentrant;
	/* log lines about stale tokens */
	int stale_lines;
	char last_line[512];
	/* change callbacks seen by the "daemon" callback */
	int prev_calls;
	char prev_dn[256];
};

static struct fx *g_fx;

static uint64_t fx_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct fx *fx = ctx;

	if (strstr(line, "serving the cached token") != NULL) {
		assert_int_equal(level, MBX_LOG_WARNING);
		fx->stale_lines++;
		snprintf(fx->last_line, sizeof(fx->last_line), "%s", line);
	}
}

static void add_sid(struct mbx_dir_entry *e, const char *s)
{
	struct mbx_sid sid;
	uint8_t buf[MBX_SID_MAX_BYTES];
	struct wr w;

	assert_int_equal(mbx_sid_from_str(s, &sid), 0);
	wr_init(&w, buf, sizeof(buf));
	wr_sid(&w, &sid);
	assert_true(wr_ok(&w));
	fake_entry_add_bin(e, "objectSid", buf, w.len);
}

static struct mbx_dir_entry *mk(const char *dn, const char *cls, const char *sid)
{
	struct mbx_dir_entry *e = fake_entry_new(dn);

	fake_entry_add(e, "objectClass", cls);
	if (sid != NULL)
		add_sid(e, sid);
	return e;
}

static void group(struct fx *fx, const char *dn, const char *sid, const char *m1, const char *m2)
{
	struct mbx_dir_entry *e = mk(dn, "group", sid);

	if (m1 != NULL)
		fake_entry_add(e, "member", m1);
	if (m2 != NULL)
		fake_entry_add(e, "member", m2);
	fake_dir_add(fx->fd, e);
}

/* U in G1 in G2; V and W in G1; G9 holds nobody we ask for. */
static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->fd = fake_dir_new(fx->base);
	fake_dir_add(fx->fd, mk(U_DN, "user", U_SID));
	fake_dir_add(fx->fd, mk(V_DN, "user", V_SID));
	fake_dir_add(fx->fd, mk(W_DN, "user", W_SID));
	group(fx, G1_DN, G1_SID, U_DN, V_DN);
	fake_entry_add(fake_dir_find(fx->fd, G1_DN), "member", W_DN);
	group(fx, G2_DN, G2_SID, G1_DN, NULL);
	group(fx, G9_DN, G9_SID, NULL, NULL);
	fx->cfg.group_depth = 4;
	fx->cfg.defer.ops = &fake_defer_ops;
	fx->cfg.defer.loop = fx->base;
	fx->cfg.ttl_ms = TTL;
	fx->cfg.stale_max_ms = STALE_MAX;
	fx->cfg.clock = fx_clock;
	fx->cfg.clock_ctx = fx;
	fx->now = 1000000;
	mbx_log_set_hook(log_hook, fx);
	g_fx = fx;
	*state = fx;
	return 0;
}

static void fx_resolver(struct fx *fx)
{
	fx->r = mbx_principal_resolver_new(&fx->fd->head, &fx->cfg);
	assert_non_null(fx->r);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	struct mbx_dir *d = &fx->fd->head;

	mbx_log_set_hook(NULL, NULL);
	mbx_principal_resolver_free(&fx->r);
	assert_null(fx->r);
	assert_int_equal(fx->reentrant, 0);
	assert_null(fx->fd->head.change_cb); /* every registration undone */
	mbx_dir_free(&d);
	event_base_free(fx->base);
	free(fx);
	g_fx = NULL;
	return 0;
}

static void rec_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                   const char *message)
{
	struct rec *r = ctx;

	if (g_fx != NULL && g_fx->in_api)
		g_fx->reentrant++;
	r->calls++;
	r->status = status;
	mbx_principal_free(&r->p);
	r->p = p;
	r->msg[0] = '\0';
	if (message != NULL)
		snprintf(r->msg, sizeof(r->msg), "%s", message);
	assert_true((status == MBX_DIR_FOUND) == (p != NULL));
}

static struct mbx_principal_req *lookup(struct fx *fx, const char *dn, struct rec *r)
{
	struct mbx_principal_req *q;

	fx->in_api = true;
	q = mbx_principal_lookup(fx->r, dn, rec_cb, r);
	fx->in_api = false;
	assert_non_null(q);
	return q;
}

static void run(struct fx *fx)
{
	fake_dir_run(fx->fd);
}

/* One lookup, run to its answer. */
static void resolve(struct fx *fx, const char *dn, struct rec *r)
{
	int calls = r->calls;

	lookup(fx, dn, r);
	assert_int_equal(r->calls, calls);
	run(fx);
	assert_int_equal(r->calls, calls + 1);
}

static struct mbx_principal_resolver_stats stats(struct fx *fx)
{
	struct mbx_principal_resolver_stats st;

	mbx_principal_resolver_stats(fx->r, &st);
	return st;
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_hit_miss_expiry(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	unsigned n;
	struct mbx_sid g2;

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.p->cached);
	assert_false(a.p->stale);
	assert_int_equal(a.p->ngroups, 2);
	n = fx->fd->ncalls;
	assert_true(n >= 4); /* the entry, the groups, the owners */

	/* A hit: no lookup, a copy of its own, from the loop. */
	fx->now += TTL - 1;
	resolve(fx, "CN=Ursula, CN=Users,DC=contoso,DC=com", &b);
	assert_int_equal(fx->fd->ncalls, n);
	assert_int_equal(b.status, MBX_DIR_FOUND);
	assert_true(b.p->cached);
	assert_false(b.p->stale);
	assert_int_equal(b.p->age_ms, TTL - 1);
	assert_ptr_not_equal(a.p, b.p);
	assert_string_equal(b.p->dn, U_DN);
	assert_int_equal(b.p->ngroups, 2);
	assert_int_equal(mbx_sid_from_str(G2_SID, &g2), 0);
	assert_true(mbx_sid_equal(&b.p->groups[1], &g2));
	assert_int_equal(b.p->nresolved, 3);
	assert_ptr_equal(b.p->resolved[1].dns, b.p->owners[1].dns); /* into the copy */
	assert_string_equal(b.p->resolved[1].dns[0], G1_DN);

	/* Expired: walked again. */
	fx->now += 1;
	resolve(fx, U_DN, &b);
	assert_true(fx->fd->ncalls > n);
	assert_false(b.p->cached);
	assert_int_equal(b.p->age_ms, 0);
	assert_int_equal(stats(fx).hits, 1);
	assert_int_equal(stats(fx).misses, 2);
	assert_int_equal(stats(fx).fetches, 2);
	assert_int_equal(stats(fx).entries, 1);
	assert_int_equal(stats(fx).lookups, fx->fd->ncalls);
	mbx_principal_free(&a.p);
	mbx_principal_free(&b.p);
}

/* The failover scenario: both directory servers down, a new session of a user resolved a
 * minute ago still gets the token; after stale_max it does not. */
static void test_stale_on_tempfail(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	fx->fd->down = true;
	fx->now += TTL + 5000;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_true(a.p->stale);
	assert_false(a.p->cached);
	assert_int_equal(a.p->age_ms, TTL + 5000);
	assert_int_equal(a.p->ngroups, 2);
	assert_string_equal(a.msg, "fake: server down");
	assert_int_equal(fx->stale_lines, 1);
	assert_non_null(strstr(fx->last_line, "\"" U_DN "\""));
	assert_non_null(strstr(fx->last_line, "fake: server down"));
	assert_non_null(strstr(fx->last_line, "read 65 s ago"));

	/* Again within the minute: served, not logged again. */
	fx->now += 59000;
	resolve(fx, U_DN, &a);
	assert_true(a.p->stale);
	assert_int_equal(fx->stale_lines, 1);
	/* A minute after the line: logged again. */
	fx->now += 1000;
	resolve(fx, U_DN, &a);
	assert_true(a.p->stale);
	assert_int_equal(fx->stale_lines, 2);
	assert_int_equal(stats(fx).stale_served, 3);
	assert_int_equal(stats(fx).tempfail, 3);

	/* Just under stale_max: still; at stale_max: TEMPFAIL, never "not found". */
	fx->now = 1000000 + STALE_MAX - 1;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(a.p->age_ms, STALE_MAX - 1);
	fx->now += 1;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_null(a.p);
	assert_string_equal(a.msg, "fake: server down");
	assert_int_equal(stats(fx).entries, 0); /* nothing left to serve */

	/* The directory back: fresh again. */
	fx->fd->down = false;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.p->stale);
	mbx_principal_free(&a.p);
}

static void test_stale_needs_stale_max(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx->cfg.stale_max_ms = 0; /* [cache] stale_max_seconds = 0 */
	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	fx->fd->down = true;
	fx->now += TTL;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_int_equal(fx->stale_lines, 0);
}

/* NOT_FOUND and ERROR drop the token: never answered stale, not even later. */
static void test_not_found_and_error_never_stale(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	resolve(fx, V_DN, &a);
	fx->now += TTL;
	fake_dir_remove(fx->fd, U_DN);
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	fx->fd->down = true;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);

	/* ERROR (a group that cannot be trusted) the same way */
	fx->fd->down = false;
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G1_DN, MBX_DIR_ERROR);
	resolve(fx, V_DN, &a);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_string_equal(a.msg, "fake: scripted error");
	fx->fd->down = true;
	resolve(fx, V_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_int_equal(fx->stale_lines, 0);
	assert_int_equal(stats(fx).stale_served, 0);
	assert_int_equal(stats(fx).errors, 1);
}

/* A TEMPFAIL half-way (the groups) is TEMPFAIL for the walk: stale token served. */
static void test_stale_when_groups_fail(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	fx->now += TTL;
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G1_DN, MBX_DIR_TEMPFAIL);
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_true(a.p->stale);
	assert_int_equal(a.p->ngroups, 2);
	mbx_principal_free(&a.p);
}

static void test_coalescing(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0}, c = {0};

	fx_resolver(fx);
	fx->fd->hold = true;
	lookup(fx, U_DN, &a);
	lookup(fx, "cn=ursula,cn=users,dc=contoso,dc=com", &b);
	lookup(fx, U_DN, &c);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 1);
	assert_int_equal(stats(fx).inflight, 1);
	while (fx->fd->pending > 0) {
		fake_dir_release(fx->fd);
		run(fx);
	}
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 1);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_MEMBER], 3); /* U, G1, G2 */
	assert_int_equal(a.calls + b.calls + c.calls, 3);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(b.status, MBX_DIR_FOUND);
	assert_int_equal(c.status, MBX_DIR_FOUND);
	assert_ptr_not_equal(a.p, b.p);
	assert_ptr_not_equal(b.p, c.p);
	assert_int_equal(c.p->ngroups, 2);
	assert_int_equal(stats(fx).misses, 3);
	assert_int_equal(stats(fx).coalesced, 2);
	assert_int_equal(stats(fx).fetches, 1);
	assert_int_equal(stats(fx).inflight, 0);
	mbx_principal_free(&a.p);
	mbx_principal_free(&b.p);
	mbx_principal_free(&c.p);
}

/* A cancelled request: no callback; the shared walk goes on for the others and fills the
 * cache even with nobody left. */
static void test_cancel_keeps_walk(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	struct mbx_principal_req *q;
	unsigned n;

	fx_resolver(fx);
	q = lookup(fx, U_DN, &a);
	mbx_principal_cancel(q);
	run(fx);
	assert_int_equal(a.calls, 0);
	n = fx->fd->ncalls;
	resolve(fx, U_DN, &b);
	assert_int_equal(fx->fd->ncalls, n);
	assert_true(b.p->cached);
	/* a queued hit cancelled */
	q = lookup(fx, U_DN, &a);
	mbx_principal_cancel(q);
	run(fx);
	assert_int_equal(a.calls, 0);
	mbx_principal_free(&b.p);
}

static void test_lru_bound(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	unsigned n;

	fx->cfg.max_entries = 2;
	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	resolve(fx, V_DN, &a);
	resolve(fx, U_DN, &a); /* U most recently used */
	assert_true(a.p->cached);
	resolve(fx, W_DN, &a); /* evicts V */
	assert_int_equal(stats(fx).entries, 2);
	assert_int_equal(stats(fx).evictions, 1);
	n = fx->fd->ncalls;
	resolve(fx, U_DN, &a);
	assert_true(a.p->cached);
	resolve(fx, W_DN, &a);
	assert_true(a.p->cached);
	assert_int_equal(fx->fd->ncalls, n);
	resolve(fx, V_DN, &a); /* walked again, evicts U */
	assert_false(a.p->cached);
	assert_true(fx->fd->ncalls > n);
	assert_int_equal(stats(fx).entries, 2);
	assert_int_equal(stats(fx).evictions, 2);

	/* Busy entries are never evicted: the bound may be exceeded meanwhile. */
	fx->fd->hold = true;
	fx->now += TTL;
	{
		struct rec b = {0}, c = {0};

		lookup(fx, U_DN, &a);
		lookup(fx, V_DN, &b);
		lookup(fx, W_DN, &c);
		assert_int_equal(stats(fx).entries, 3);
		fx->fd->hold = false;
		while (fx->fd->pending > 0) {
			fake_dir_release(fx->fd);
			run(fx);
		}
		assert_int_equal(a.status, MBX_DIR_FOUND);
		assert_int_equal(b.status, MBX_DIR_FOUND);
		assert_int_equal(c.status, MBX_DIR_FOUND);
		assert_int_equal(stats(fx).entries, 2);
		mbx_principal_free(&b.p);
		mbx_principal_free(&c.p);
	}
	mbx_principal_free(&a.p);
}

/* A change of the user's entry, or of a group of the token, drops the token at once; a change
 * of something else does not. */
static void test_invalidation(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	unsigned n;

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	resolve(fx, V_DN, &a);
	n = fx->fd->ncalls;
	mbx_dir_notify_change(&fx->fd->head, G9_DN, NULL);
	mbx_dir_notify_change(&fx->fd->head, "cn=Someone else," USERS, "/o=x/cn=y");
	resolve(fx, U_DN, &a);
	assert_true(a.p->cached);
	assert_int_equal(fx->fd->ncalls, n);

	/* the user entry (spelled differently) */
	mbx_dir_notify_change(&fx->fd->head, "CN=Ursula ,cn=users, dc=contoso,dc=com", NULL);
	assert_int_equal(stats(fx).invalidations, 1);
	resolve(fx, U_DN, &a);
	assert_false(a.p->cached);
	resolve(fx, V_DN, &a); /* V untouched */
	assert_true(a.p->cached);

	/* a group two levels up: U and V both hold it */
	fake_entry_del(fake_dir_find(fx->fd, G2_DN), "member");
	mbx_dir_notify_change(&fx->fd->head, G2_DN, NULL);
	assert_int_equal(stats(fx).invalidations, 3);
	resolve(fx, U_DN, &a);
	assert_false(a.p->cached);
	assert_int_equal(a.p->ngroups, 1); /* read after the change */
	resolve(fx, V_DN, &a);
	assert_false(a.p->cached);

	/* an invalidated token is gone for good: nothing stale to serve */
	mbx_principal_resolver_invalidate(fx->r, G1_DN);
	fx->fd->down = true;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	fx->fd->down = false;

	/* clear */
	resolve(fx, U_DN, &a);
	mbx_principal_resolver_clear(fx->r);
	assert_int_equal(stats(fx).entries, 0);
	mbx_principal_free(&a.p);
}

/* A hit queued for the loop and invalidated before it is answered: walked again. */
static void test_invalidated_before_flush(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	fake_entry_del(fake_dir_find(fx->fd, G1_DN), "member");
	lookup(fx, U_DN, &a);
	mbx_dir_notify_change(&fx->fd->head, G1_DN, NULL);
	run(fx);
	assert_int_equal(a.calls, 2);
	assert_false(a.p->cached);
	assert_int_equal(a.p->ngroups, 0);
	mbx_principal_free(&a.p);
}

/* A walk in flight that has already read the changed group starts over. */
static void test_invalidation_in_flight(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_resolver(fx);
	fx->fd->hold = true;
	lookup(fx, U_DN, &a);
	fake_dir_release(fx->fd); /* the entry */
	run(fx);
	fake_dir_release(fx->fd); /* U's groups: G1 */
	run(fx);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 1);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_MEMBER], 2);
	/* G1 loses U; the change is announced while the walk is at G1's groups */
	fake_entry_del(fake_dir_find(fx->fd, G1_DN), "member");
	mbx_dir_notify_change(&fx->fd->head, G9_DN, NULL); /* not read: nothing happens */
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 1);
	mbx_dir_notify_change(&fx->fd->head, G1_DN, NULL);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 2);
	assert_int_equal(fx->fd->pending, 1); /* the old lookups cancelled */
	fx->fd->hold = false;
	while (fx->fd->pending > 0) {
		fake_dir_release(fx->fd);
		run(fx);
	}
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(a.p->ngroups, 0);
	assert_int_equal(stats(fx).fetches, 2);

	/* the restart cannot start: ERROR from the loop */
	fx->fd->hold = true;
	fx->now += TTL;
	lookup(fx, U_DN, &a);
	fx->fd->fail_start = true;
	fx->in_api = true;
	mbx_principal_resolver_invalidate(fx->r, U_DN);
	fx->in_api = false;
	assert_int_equal(a.calls, 1);
	fx->fd->fail_start = false;
	run(fx);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_int_equal(fx->fd->pending, 0);
	assert_int_equal(stats(fx).inflight, 0);
}

static void owners_cb(void *ctx, enum mbx_dir_status status, const struct mbx_principal_owners *o,
                      const char *message)
{
	(void)status, (void)o, (void)message;
	(*(int *)ctx)++;
}

static void test_free_with_pending(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0}, c = {0}, d = {0};
	struct mbx_sid g1;
	int owners_calls = 0;

	fx_resolver(fx);
	resolve(fx, V_DN, &d);
	fx->fd->hold = true;
	lookup(fx, U_DN, &a); /* a walk */
	lookup(fx, U_DN, &b); /* coalesced */
	lookup(fx, V_DN, &c); /* a queued hit */
	assert_int_equal(mbx_sid_from_str(G1_SID, &g1), 0);
	assert_non_null(mbx_principal_sid_owners(fx->r, &g1, owners_cb, &owners_calls));
	mbx_principal_resolver_free(&fx->r);
	assert_int_equal(fx->fd->pending, 0);
	assert_null(fx->fd->head.change_cb);
	fx->fd->hold = false;
	run(fx);
	assert_int_equal(a.calls + b.calls + c.calls, 0);
	assert_int_equal(owners_calls, 0);
	mbx_principal_free(&d.p);
}

/* --- change callbacks chained with the mailbox table -------------------------------------- */

static void prev_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	struct fx *fx = ctx;

	(void)legacy_dn;
	fx->prev_calls++;
	snprintf(fx->prev_dn, sizeof(fx->prev_dn), "%s", dn != NULL ? dn : "");
}

static void mt_cb(void *ctx, const struct mbx_mt_result *res)
{
	int *n = ctx;

	(void)res;
	(*n)++;
}

static struct mbx_mailbox_table *mk_table(struct fx *fx)
{
	struct mbx_mailbox_table_config tc = {
	        .ttl_ms = TTL,
	        .stale_max_ms = STALE_MAX,
	        .defer = fx->cfg.defer,
	        .clock = fx_clock,
	        .clock_ctx = fx,
	};
	struct mbx_mailbox_table *t = mbx_mailbox_table_new(&fx->fd->head, &tc);

	assert_non_null(t);
	return t;
}

/* Both get the change and the daemon's callback once, whichever registered first. */
static void check_chain(struct fx *fx, struct mbx_mailbox_table *t)
{
	struct rec a = {0};
	struct mbx_mailbox_table_stats ts;
	int got = 0;
	unsigned n;

	resolve(fx, U_DN, &a);
	assert_non_null(
	        mbx_mailbox_table_get(t, "/o=Contoso/cn=Recipients/cn=ursula", mt_cb, &got));
	run(fx);
	assert_int_equal(got, 1);
	n = fx->fd->ncalls;
	mbx_dir_notify_change(&fx->fd->head, U_DN, "/o=Contoso/cn=Recipients/cn=ursula");
	assert_int_equal(fx->prev_calls, 1);
	assert_string_equal(fx->prev_dn, U_DN);
	assert_int_equal(stats(fx).invalidations, 1);
	mbx_mailbox_table_stats(t, &ts);
	assert_int_equal(ts.negative_hits, 0);
	resolve(fx, U_DN, &a);
	assert_false(a.p->cached);
	assert_true(fx->fd->ncalls > n);
	mbx_principal_free(&a.p);
}

static void test_chain_table_then_resolver(void **state)
{
	struct fx *fx = *state;
	struct mbx_mailbox_table *t;

	/* the daemon's order: its own callback, the table, the resolver */
	mbx_dir_set_change_cb(&fx->fd->head, prev_change_cb, fx);
	t = mk_table(fx);
	fx_resolver(fx);
	check_chain(fx, t);
	/* freed in reverse order: each restores the one before */
	mbx_principal_resolver_free(&fx->r);
	assert_ptr_not_equal(fx->fd->head.change_cb, prev_change_cb);
	assert_ptr_equal(fx->fd->head.change_ctx, t);
	mbx_dir_notify_change(&fx->fd->head, G1_DN, NULL);
	assert_int_equal(fx->prev_calls, 2);
	mbx_mailbox_table_free(&t);
	assert_ptr_equal(fx->fd->head.change_cb, prev_change_cb);
	assert_ptr_equal(fx->fd->head.change_ctx, fx);
	mbx_dir_set_change_cb(&fx->fd->head, NULL, NULL);
}

static void test_chain_resolver_then_table(void **state)
{
	struct fx *fx = *state;
	struct mbx_mailbox_table *t;

	mbx_dir_set_change_cb(&fx->fd->head, prev_change_cb, fx);
	fx_resolver(fx);
	t = mk_table(fx);
	check_chain(fx, t);
	mbx_mailbox_table_free(&t);
	assert_ptr_equal(fx->fd->head.change_ctx, fx->r);
	mbx_dir_notify_change(&fx->fd->head, G1_DN, NULL);
	assert_int_equal(fx->prev_calls, 2);
	assert_int_equal(stats(fx).invalidations, 2);
	mbx_principal_resolver_free(&fx->r);
	assert_ptr_equal(fx->fd->head.change_cb, prev_change_cb);
	assert_ptr_equal(fx->fd->head.change_ctx, fx);
	mbx_dir_set_change_cb(&fx->fd->head, NULL, NULL);
}

/* ttl 0: no cache, no registration, every lookup walks (the behaviour before the cache). */
static void test_no_cache(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	struct mbx_principal_req *q;
	unsigned n;

	fx->cfg.ttl_ms = 0;
	fx_resolver(fx);
	assert_null(fx->fd->head.change_cb);
	resolve(fx, U_DN, &a);
	n = fx->fd->ncalls;
	resolve(fx, U_DN, &a);
	assert_int_equal(fx->fd->ncalls, 2 * n);
	assert_false(a.p->cached);
	fx->fd->down = true;
	resolve(fx, U_DN, &a);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	fx->fd->down = false;
	/* each request its own walk; a cancel cancels it */
	fx->fd->hold = true;
	q = lookup(fx, U_DN, &b);
	mbx_principal_cancel(q);
	assert_int_equal(fx->fd->pending, 0);
	assert_int_equal(stats(fx).entries, 0);
}

/* lookup_entry shares the cache with lookup (the key is the entry's DN). */
static void test_lookup_entry_cached(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_dir_entry *e = mk(U_DN, "user", U_SID);
	struct mbx_dir_entry *bad = fake_entry_new(U_DN);
	unsigned n;

	fx_resolver(fx);
	fx->in_api = true;
	assert_non_null(mbx_principal_lookup_entry(fx->r, e, rec_cb, &a));
	fx->in_api = false;
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 0);
	n = fx->fd->ncalls;
	resolve(fx, U_DN, &a);
	assert_true(a.p->cached);
	assert_non_null(mbx_principal_lookup_entry(fx->r, e, rec_cb, &a));
	run(fx);
	assert_true(a.p->cached);
	assert_int_equal(fx->fd->ncalls, n);
	/* a broken objectSid is refused even though the DN is cached */
	fake_entry_add(bad, "objectSid", "S-1-5-21-01");
	assert_null(mbx_principal_lookup_entry(fx->r, bad, rec_cb, &a));
	/* a lookup that cannot start: NULL, nothing called */
	fx->now += TTL;
	fx->fd->fail_start = true;
	assert_null(mbx_principal_lookup(fx->r, U_DN, rec_cb, &a));
	assert_null(mbx_principal_lookup_entry(fx->r, e, rec_cb, &a));
	fx->fd->fail_start = false;
	run(fx);
	assert_int_equal(a.calls, 3);
	mbx_dir_entry_free(&e);
	mbx_dir_entry_free(&bad);
	mbx_principal_free(&a.p);
}

/* A callback that asks again for the same principal gets a hit, from the loop. */
static struct rec g_again;

static void again_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                     const char *message)
{
	struct fx *fx = g_fx;

	rec_cb(ctx, status, p, message);
	fx->in_api = true;
	assert_non_null(mbx_principal_lookup(fx->r, U_DN, rec_cb, &g_again));
	fx->in_api = false;
}

static void test_lookup_from_callback(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	unsigned n;

	fx_resolver(fx);
	memset(&g_again, 0, sizeof(g_again));
	assert_non_null(mbx_principal_lookup(fx->r, U_DN, again_cb, &a));
	run(fx);
	n = fx->fd->ncalls;
	assert_int_equal(a.calls, 1);
	assert_int_equal(g_again.calls, 1);
	assert_true(g_again.p->cached);
	assert_int_equal(fx->fd->ncalls, n);
	mbx_principal_free(&a.p);
	mbx_principal_free(&g_again.p);
}

static void test_dup(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_principal *d;

	(void)fx;
	assert_null(mbx_principal_dup(NULL));
	fx_resolver(fx);
	resolve(fx, U_DN, &a);
	d = mbx_principal_dup(a.p);
	assert_non_null(d);
	mbx_principal_free(&a.p);
	assert_string_equal(d->dn, U_DN);
	assert_int_equal(d->ngroup_dns, 2);
	assert_string_equal(d->group_dns[1], G2_DN);
	assert_int_equal(d->nowners, 3);
	assert_string_equal(d->resolved[2].dns[0], G2_DN);
	mbx_principal_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_hit_miss_expiry),
	        T(test_stale_on_tempfail),
	        T(test_stale_needs_stale_max),
	        T(test_not_found_and_error_never_stale),
	        T(test_stale_when_groups_fail),
	        T(test_coalescing),
	        T(test_cancel_keeps_walk),
	        T(test_lru_bound),
	        T(test_invalidation),
	        T(test_invalidated_before_flush),
	        T(test_invalidation_in_flight),
	        T(test_free_with_pending),
	        T(test_chain_table_then_resolver),
	        T(test_chain_resolver_then_table),
	        T(test_no_cache),
	        T(test_lookup_entry_cached),
	        T(test_lookup_from_callback),
	        T(test_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
