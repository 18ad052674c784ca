/*
 * test-mailbox-table.c: the mailbox-state table (src/store/mailbox-table.c; design.md "The
 * mailbox-state table and the logon decision", protocol.md 8.2 lookup chain, seed 004) against
 * the fake directory of fake-dir.h on a real libevent loop, with an injected clock: hits,
 * misses, coalescing, TTL, negative entries, the LRU bound, serve-stale, TEMPFAIL, invalidation
 * by change notification (user, database, server DN, legacyExchangeDN) and locally, cancel,
 * and that no callback ever runs inside a table call.
 */
#include "mbx-test.h"

#include <stdbool.h>

#include "fake-dir.h"
#include "mbx/mailbox-table.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

#define ORG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define CONF "cn=Configuration,dc=contoso,dc=com"
#define SRV1_DN "cn=SERVER1,cn=Servers,cn=AG,cn=Administrative Groups," CONF
#define SRV2_DN "cn=SERVER2,cn=Servers,cn=AG,cn=Administrative Groups," CONF
#define SRV1_LEGACY ORG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define SRV2_LEGACY ORG "/cn=Configuration/cn=Servers/cn=SERVER2"
#define DB1_DN "cn=DB01,cn=Databases,cn=AG,cn=Administrative Groups," CONF
#define DB2_DN "cn=DB02,cn=Databases,cn=AG,cn=Administrative Groups," CONF
#define ALICE_DN "cn=Alice Adams,cn=Users,dc=contoso,dc=com"
#define BOB_DN "cn=Bob Brown,cn=Users,dc=contoso,dc=com"
#define ALICE ORG "/cn=Recipients/cn=alice"
#define BOB ORG "/cn=Recipients/cn=bob"
#define NOBODY ORG "/cn=Recipients/cn=nobody"

/* --- fixture ------------------------------------------------------------------------------ */

struct rec {
	int calls;
	enum mbx_dir_status status;
	bool has_mbx, stale, cached;
	uint64_t age;
	char dn[256];
	char server[256];
	uint32_t move_status;
	char msg[256];
};

struct fx {
	struct event_base *base;
	struct fake_dir *fd;
	struct mbx_mailbox_table *t;
	struct mbx_mailbox_table_config cfg;
	uint64_t now;
	bool in_api;   /* set around every table call: a callback seeing it is re-entrant */
	int reentrant; /* callbacks that ran inside a table call */
};

static struct fx *g_fx; /* for callbacks that need the fixture */

static uint64_t fx_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void add_sid(struct mbx_dir_entry *e, const char *attr, const char *s)
{
	struct mbx_sid sid;
	uint8_t buf[MBX_SID_MAX_BYTES];
	struct wr w;

	assert_int_equal(mbx_sid_from_str(s, &sid), 0);
	wr_init(&w, buf, sizeof(buf));
	wr_sid(&w, &sid);
	assert_true(wr_ok(&w));
	fake_entry_add_bin(e, attr, buf, w.len);
}

static struct mbx_dir_entry *mk_server(const char *dn, const char *legacy, const char *host)
{
	struct mbx_dir_entry *e = fake_entry_new(dn);

	fake_entry_add(e, "objectClass", "msExchExchangeServer");
	fake_entry_add(e, "legacyExchangeDN", legacy);
	fake_entry_add(e, "networkAddress", host);
	return e;
}

static struct mbx_dir_entry *mk_db(const char *dn, const char *server_dn, const char *legacy)
{
	struct mbx_dir_entry *e = fake_entry_new(dn);

	fake_entry_add(e, "objectClass", "msExchPrivateMDB");
	fake_entry_add(e, "msExchOwningServer", server_dn);
	fake_entry_add(e, "legacyExchangeDN", legacy);
	return e;
}

static struct mbx_dir_entry *mk_user(const char *dn, const char *legacy, const char *alias,
                                     const char *sid)
{
	struct mbx_dir_entry *e = fake_entry_new(dn);
	char buf[256];

	fake_entry_add(e, "objectClass", "top");
	fake_entry_add(e, "objectClass", "person");
	fake_entry_add(e, "objectClass", "organizationalPerson");
	fake_entry_add(e, "objectClass", "user");
	fake_entry_add(e, "legacyExchangeDN", legacy);
	fake_entry_add(e, "homeMDB", DB1_DN);
	snprintf(buf, sizeof(buf), "%s@contoso.com", alias);
	fake_entry_add(e, "mail", buf);
	snprintf(buf, sizeof(buf), "SMTP:%s@contoso.com", alias);
	fake_entry_add(e, "proxyAddresses", buf);
	snprintf(buf, sizeof(buf), "smtp:%s.other@contoso.com", alias);
	fake_entry_add(e, "proxyAddresses", buf);
	fake_entry_add(e, "userAccountControl", "512");
	fake_entry_add(e, "msExchRecipientTypeDetails", "1");
	fake_entry_add_bin(e, "msExchMailboxGuid", "0123456789abcdef", 16);
	add_sid(e, "objectSid", sid);
	return e;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->fd = fake_dir_new(fx->base);
	fake_dir_add(fx->fd, mk_server(SRV1_DN, SRV1_LEGACY, "ncacn_ip_tcp:server1.contoso.com"));
	fake_dir_add(fx->fd, mk_server(SRV2_DN, SRV2_LEGACY, "ncacn_ip_tcp:server2.contoso.com"));
	fake_dir_add(fx->fd, mk_db(DB1_DN, SRV1_DN, SRV1_LEGACY "/cn=Microsoft Private MDB"));
	fake_dir_add(fx->fd, mk_db(DB2_DN, SRV2_DN, SRV2_LEGACY "/cn=Microsoft Private MDB"));
	fake_dir_add(fx->fd, mk_user(ALICE_DN, ALICE, "alice", "S-1-5-21-1-2-3-1101"));
	fake_dir_add(fx->fd, mk_user(BOB_DN, BOB, "bob", "S-1-5-21-1-2-3-1102"));
	fx->now = 1000000;
	fx->cfg.ttl_ms = 60000;
	fx->cfg.negative_ttl_ms = 10000;
	fx->cfg.stale_max_ms = 3600000;
	fx->cfg.max_entries = 100;
	fx->cfg.defer.ops = &fake_defer_ops;
	fx->cfg.defer.loop = fx->base;
	fx->cfg.clock = fx_clock;
	fx->cfg.clock_ctx = fx;
	g_fx = fx;
	*state = fx;
	return 0;
}

/* The table is made by each test (after it adjusted cfg). */
static void fx_table(struct fx *fx)
{
	fx->t = mbx_mailbox_table_new(&fx->fd->head, &fx->cfg);
	assert_non_null(fx->t);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	struct mbx_dir *d = &fx->fd->head;

	mbx_mailbox_table_free(&fx->t);
	assert_null(fx->t);
	assert_int_equal(fx->reentrant, 0);
	mbx_dir_free(&d);
	event_base_free(fx->base);
	free(fx);
	g_fx = NULL;
	return 0;
}

static void rec_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct rec *r = ctx;

	if (g_fx != NULL && g_fx->in_api)
		g_fx->reentrant++;
	r->calls++;
	r->status = res->status;
	r->has_mbx = res->mbx != NULL;
	r->stale = res->stale;
	r->cached = res->cached;
	r->age = res->age_ms;
	r->dn[0] = r->server[0] = r->msg[0] = '\0';
	if (res->mbx != NULL) {
		snprintf(r->dn, sizeof(r->dn), "%s", res->mbx->dn);
		snprintf(r->server, sizeof(r->server), "%s",
		         res->mbx->home_server_legacy_dn != NULL ? res->mbx->home_server_legacy_dn
		                                                 : "");
		r->move_status = res->mbx->move_status;
	}
	if (res->message != NULL)
		snprintf(r->msg, sizeof(r->msg), "%s", res->message);
	/* Only FOUND and stale TEMPFAIL carry a snapshot. */
	if (res->status == MBX_DIR_FOUND)
		assert_non_null(res->mbx);
	if (res->status == MBX_DIR_NOT_FOUND || res->status == MBX_DIR_ERROR)
		assert_null(res->mbx);
	assert_true(res->stale == (res->status == MBX_DIR_TEMPFAIL && res->mbx != NULL));
}

static struct mbx_mt_wait *get(struct fx *fx, const char *legacy, struct rec *r)
{
	struct mbx_mt_wait *w;

	fx->in_api = true;
	w = mbx_mailbox_table_get(fx->t, legacy, rec_cb, r);
	fx->in_api = false;
	assert_non_null(w);
	return w;
}

static struct mbx_mt_wait *get_smtp(struct fx *fx, const char *addr, struct rec *r)
{
	struct mbx_mt_wait *w;

	fx->in_api = true;
	w = mbx_mailbox_table_get_smtp(fx->t, addr, rec_cb, r);
	fx->in_api = false;
	assert_non_null(w);
	return w;
}

static void run(struct fx *fx)
{
	fake_dir_run(fx->fd);
}

static void notify(struct fx *fx, const char *dn, const char *legacy)
{
	fx->in_api = true;
	mbx_dir_notify_change(&fx->fd->head, dn, legacy);
	fx->in_api = false;
}

static struct mbx_mailbox_table_stats stats(struct fx *fx)
{
	struct mbx_mailbox_table_stats st;

	mbx_mailbox_table_stats(fx->t, &st);
	return st;
}

/* One whole fetch of a user with a mailbox: legacyExchangeDN, database, server. */
#define LOOKUPS_PER_FETCH 3

/* --- tests -------------------------------------------------------------------------------- */

static void test_miss_then_hit(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	struct mbx_mailbox_table_stats st;

	fx_table(fx);
	get(fx, ALICE, &a);
	assert_int_equal(a.calls, 0); /* never from inside the call */
	run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.cached);
	assert_false(a.stale);
	assert_string_equal(a.dn, ALICE_DN);
	assert_string_equal(a.server, SRV1_LEGACY); /* the whole chain was followed */
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_LEGACYDN], 1);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 2);

	fx->now += 1234;
	get(fx, ALICE, &b);
	assert_int_equal(b.calls, 0); /* a hit is deferred too */
	run(fx);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, MBX_DIR_FOUND);
	assert_true(b.cached);
	assert_int_equal(b.age, 1234);
	assert_int_equal(fx->fd->ncalls, LOOKUPS_PER_FETCH);

	st = stats(fx);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.fetches, 1);
	assert_int_equal(st.lookups, 3);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.inflight, 0);
}

static void test_case_insensitive_key(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	char upper[256];

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	snprintf(upper, sizeof(upper), "%s", ALICE);
	for (char *p = upper; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	get(fx, upper, &b);
	run(fx);
	assert_int_equal(b.status, MBX_DIR_FOUND);
	assert_true(b.cached);
	assert_int_equal(fx->fd->ncalls, LOOKUPS_PER_FETCH);
}

static void test_coalescing(void **state)
{
	struct fx *fx = *state;
	struct rec r[3] = {{0}};
	struct mbx_mailbox_table_stats st;

	fx_table(fx);
	fx->fd->hold = true;
	get(fx, ALICE, &r[0]);
	get(fx, ALICE, &r[1]);
	fake_dir_release(fx->fd);
	run(fx);               /* user answered, database lookup held */
	get(fx, ALICE, &r[2]); /* joins half-way */
	fx->fd->hold = false;
	fake_dir_release(fx->fd);
	run(fx);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, MBX_DIR_FOUND);
		assert_false(r[i].cached);
		assert_string_equal(r[i].server, SRV1_LEGACY);
	}
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_LEGACYDN], 1); /* one fetch */
	assert_int_equal(fx->fd->ncalls, LOOKUPS_PER_FETCH);
	st = stats(fx);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.coalesced, 2);
	assert_int_equal(st.fetches, 1);
}

static void test_ttl_expiry(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	/* The directory changes without telling: the cache answers until the TTL. */
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "msExchMailboxMoveStatus", "2");
	fx->now += fx->cfg.ttl_ms - 1;
	get(fx, ALICE, &a);
	run(fx);
	assert_true(a.cached);
	assert_int_equal(a.move_status, 0);
	assert_int_equal(fx->fd->ncalls, LOOKUPS_PER_FETCH);
	fx->now += 1;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.calls, 3);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.cached);
	assert_int_equal(a.move_status, 2);
	assert_int_equal(fx->fd->ncalls, 2 * LOOKUPS_PER_FETCH);
}

static void test_ttl_zero_always_asks(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx->cfg.ttl_ms = 0;
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.calls, 2);
	assert_false(a.cached);
	assert_int_equal(fx->fd->ncalls, 2 * LOOKUPS_PER_FETCH);
}

static void test_negative_entries(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_mailbox_table_stats st;

	fx_table(fx);
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	assert_false(a.has_mbx);
	assert_int_equal(fx->fd->ncalls, 1); /* no chain for nothing */
	fx->now += fx->cfg.negative_ttl_ms - 1;
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	assert_true(a.cached);
	assert_int_equal(fx->fd->ncalls, 1);
	fx->now += 1;
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.calls, 3);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	assert_false(a.cached);
	assert_int_equal(fx->fd->ncalls, 2);
	st = stats(fx);
	assert_int_equal(st.negative_hits, 1);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 1);
}

static void test_negative_ttl_zero(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx->cfg.negative_ttl_ms = 0;
	fx_table(fx);
	get(fx, NOBODY, &a);
	run(fx);
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	assert_false(a.cached);
	assert_int_equal(fx->fd->ncalls, 2);
	assert_int_equal(stats(fx).entries, 0); /* nothing kept */
}

static void test_negative_dropped_by_any_change(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_dir_entry *u;

	fx_table(fx);
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_NOT_FOUND);
	/* The object appears; its notification names it, whatever the backend says. */
	u = mk_user("cn=Nobody,cn=Users,dc=contoso,dc=com", NOBODY, "nobody",
	            "S-1-5-21-1-2-3-1109");
	fake_dir_add(fx->fd, u);
	notify(fx, u->dn, NULL);
	get(fx, NOBODY, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.cached);
}

static void test_lru_bound_one(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};
	struct mbx_mailbox_table_stats st;

	fx->cfg.max_entries = 1;
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, BOB, &b);
	run(fx);
	st = stats(fx);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.evictions, 1);
	get(fx, BOB, &b); /* kept: the newest */
	run(fx);
	assert_true(b.cached);
	get(fx, ALICE, &a); /* evicted */
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.cached);
	assert_int_equal(fx->fd->ncalls, 3 * LOOKUPS_PER_FETCH);
	assert_int_equal(stats(fx).evictions, 2);
}

static void test_lru_bound_two(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0}, c = {0};

	fx->cfg.max_entries = 2;
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, BOB, &b);
	run(fx);
	get(fx, ALICE, &a); /* Alice becomes the most recent */
	run(fx);
	assert_true(a.cached);
	get(fx, NOBODY, &c); /* a third key: Bob, the least recent, goes */
	run(fx);
	assert_int_equal(stats(fx).entries, 2);
	assert_int_equal(stats(fx).evictions, 1);
	get(fx, ALICE, &a);
	run(fx);
	assert_true(a.cached);
	get(fx, NOBODY, &c);
	run(fx);
	assert_true(c.cached);
	get(fx, BOB, &b);
	run(fx);
	assert_false(b.cached);
}

static void test_lru_never_evicts_inflight(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};

	fx->cfg.max_entries = 1;
	fx_table(fx);
	fx->fd->hold = true;
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	/* Both busy: the bound is exceeded rather than a fetch thrown away. */
	assert_int_equal(stats(fx).entries, 2);
	assert_int_equal(stats(fx).inflight, 2);
	assert_int_equal(stats(fx).evictions, 0);
	fx->fd->hold = false;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(b.status, MBX_DIR_FOUND);
	assert_int_equal(stats(fx).entries, 1);
	assert_int_equal(stats(fx).evictions, 1);
}

static void test_serve_stale_within(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_mailbox_table_stats st;

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	fx->now += fx->cfg.stale_max_ms - 1;
	fx->fd->down = true;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_true(a.has_mbx);
	assert_true(a.stale);
	assert_false(a.cached);
	assert_int_equal(a.age, fx->cfg.stale_max_ms - 1);
	assert_string_equal(a.server, SRV1_LEGACY);
	assert_string_equal(a.msg, "fake: server down");
	st = stats(fx);
	assert_int_equal(st.stale_served, 1);
	assert_int_equal(st.tempfail, 1);
	/* The directory is back: a fresh snapshot. */
	fx->fd->down = false;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_false(a.stale);
	assert_int_equal(a.age, 0);
}

static void test_serve_stale_beyond(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	fx->now += fx->cfg.stale_max_ms;
	fx->fd->down = true;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_false(a.has_mbx);
	assert_false(a.stale);
	assert_int_equal(stats(fx).stale_served, 0);
}

static void test_stale_in_later_step(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	fx->now += fx->cfg.ttl_ms;
	/* The user answers, its database does not: not a snapshot without a database. */
	fake_dir_script_str(fx->fd, MBX_DIR_BY_DN, DB1_DN, MBX_DIR_TEMPFAIL);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_true(a.stale);
	assert_string_equal(a.server, SRV1_LEGACY);
}

static void test_tempfail_nothing_cached(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, n = {0};

	fx_table(fx);
	fx->fd->down = true;
	get(fx, ALICE, &a);
	get(fx, NOBODY, &n);
	run(fx);
	/* Seed 004: the directory being down is never "unknown user". */
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_false(a.has_mbx);
	assert_int_equal(n.status, MBX_DIR_TEMPFAIL);
	assert_string_equal(n.msg, "fake: server down");
	/* Nothing is cached from a failure. */
	assert_int_equal(stats(fx).entries, 0);
	fx->fd->down = false;
	get(fx, NOBODY, &n);
	run(fx);
	assert_int_equal(n.status, MBX_DIR_NOT_FOUND);
}

static void test_tempfail_with_negative_entry(void **state)
{
	struct fx *fx = *state;
	struct rec n = {0};

	fx_table(fx);
	get(fx, NOBODY, &n);
	run(fx);
	fx->now += fx->cfg.negative_ttl_ms;
	fx->fd->down = true;
	get(fx, NOBODY, &n);
	run(fx);
	/* An expired "not found" is not served stale: the object may exist by now. */
	assert_int_equal(n.status, MBX_DIR_TEMPFAIL);
}

static void test_error_never_stale(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	/* The object now has a broken attribute: ERROR, and the old snapshot is not served. */
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "msExchMailboxGuid", "abc");
	fx->now += fx->cfg.ttl_ms;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_false(a.has_mbx);
	assert_non_null(strstr(a.msg, "msExchMailboxGuid"));
	/* ... nor later, when the directory is down. */
	fx->fd->down = true;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_TEMPFAIL);
	assert_false(a.has_mbx);
	assert_int_equal(stats(fx).errors, 1);
}

static void test_error_ambiguous_legacy_dn(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fake_dir_add(fx->fd, mk_user("cn=Alice Two,cn=Users,dc=contoso,dc=com", ALICE, "alice2",
	                             "S-1-5-21-1-2-3-1201"));
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_string_equal(a.msg, "2 directory objects hold this legacyExchangeDN");
}

static void test_scripted_error(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fake_dir_script_str(fx->fd, MBX_DIR_BY_DN, SRV1_DN, MBX_DIR_ERROR);
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_string_equal(a.msg, "fake: scripted error");
}

static void test_missing_database_and_server(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	/* The server object is gone: the snapshot says where the database is, nothing more. */
	fake_dir_remove(fx->fd, SRV1_DN);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_string_equal(a.server, ""); /* no msExchHomeServerName on our fake user */
	/* The database is gone too. */
	fake_dir_remove(fx->fd, DB1_DN);
	mbx_mailbox_table_invalidate(fx->t, ALICE);
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(fx->fd->ncalls, 3 + 2);
}

static void test_lookup_cannot_start(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	fx->fd->fail_start = true;
	get(fx, ALICE, &a);
	assert_int_equal(a.calls, 0);
	run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	fx->fd->fail_start = false;
	get(fx, ALICE, &a);
	run(fx);
	assert_int_equal(a.status, MBX_DIR_FOUND);
}

static void test_invalidate_user_dn(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "msExchMailboxMoveStatus", "2");
	/* Same DN, other spelling. */
	notify(fx, "CN=Alice Adams , cn=Users,DC=contoso, dc=com", NULL);
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	assert_false(a.cached);
	assert_int_equal(a.move_status, 2);
	assert_true(b.cached); /* untouched */
	assert_int_equal(stats(fx).invalidations, 1);
}

static void test_invalidate_legacy_dn(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	notify(fx, NULL, ALICE);
	get(fx, ALICE, &a);
	run(fx);
	assert_false(a.cached);
	/* An unrelated change invalidates nothing. */
	notify(fx, "cn=Someone,cn=Users,dc=contoso,dc=com", ORG "/cn=Recipients/cn=someone");
	get(fx, ALICE, &a);
	run(fx);
	assert_true(a.cached);
}

static void test_invalidate_database_dn(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	/* DB01 moves to SERVER2: every mailbox on it is elsewhere now. */
	fake_entry_set(fake_dir_find(fx->fd, DB1_DN), "msExchOwningServer", SRV2_DN);
	notify(fx, DB1_DN, SRV1_LEGACY "/cn=Microsoft Private MDB");
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	assert_false(a.cached);
	assert_false(b.cached);
	assert_string_equal(a.server, SRV2_LEGACY);
	assert_string_equal(b.server, SRV2_LEGACY);
	assert_int_equal(stats(fx).invalidations, 2);
}

static void test_invalidate_server_dn(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	fake_entry_set(fake_dir_find(fx->fd, SRV1_DN), "legacyExchangeDN",
	               ORG "/cn=Servers/cn=NEW");
	notify(fx, SRV1_DN, NULL);
	get(fx, ALICE, &a);
	get(fx, BOB, &b);
	run(fx);
	assert_false(a.cached);
	assert_false(b.cached);
	assert_string_equal(a.server, ORG "/cn=Servers/cn=NEW");
	assert_string_equal(b.server, ORG "/cn=Servers/cn=NEW");
}

static void test_invalidate_moved_database(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	/* After a move, Alice's snapshot depends on DB02 and SERVER2, no longer on DB01. */
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "homeMDB", DB2_DN);
	notify(fx, ALICE_DN, ALICE);
	get(fx, ALICE, &a);
	run(fx);
	assert_string_equal(a.server, SRV2_LEGACY);
	notify(fx, DB1_DN, NULL);
	get(fx, ALICE, &a);
	run(fx);
	assert_true(a.cached);
	notify(fx, SRV2_DN, NULL);
	get(fx, ALICE, &a);
	run(fx);
	assert_false(a.cached);
}

static void test_invalidate_local(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, s = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	get_smtp(fx, "alice.other@contoso.com", &s);
	run(fx);
	assert_int_equal(s.status, MBX_DIR_FOUND);
	assert_string_equal(s.dn, ALICE_DN);
	fx->in_api = true;
	mbx_mailbox_table_invalidate(fx->t, ALICE);
	fx->in_api = false;
	/* Both keys of the object are gone. */
	get(fx, ALICE, &a);
	get_smtp(fx, "alice.other@contoso.com", &s);
	run(fx);
	assert_false(a.cached);
	assert_false(s.cached);
	assert_int_equal(stats(fx).entries, 2);
	mbx_mailbox_table_invalidate_dn(fx->t, DB1_DN);
	assert_int_equal(stats(fx).entries, 0);
	mbx_mailbox_table_invalidate(fx->t, NOBODY); /* unknown: nothing happens */
	mbx_mailbox_table_invalidate(fx->t, NULL);
	mbx_mailbox_table_invalidate_dn(fx->t, NULL);
}

static void test_smtp(void **state)
{
	struct fx *fx = *state;
	struct rec s = {0}, n = {0};

	fx_table(fx);
	get_smtp(fx, "BOB@Contoso.COM", &s);
	run(fx);
	assert_int_equal(s.status, MBX_DIR_FOUND);
	assert_string_equal(s.dn, BOB_DN);
	assert_string_equal(fx->fd->last_key, SRV1_DN);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_SMTP], 1);
	get_smtp(fx, "bob@contoso.com", &s);
	run(fx);
	assert_true(s.cached);
	get_smtp(fx, "nobody@contoso.com", &n);
	run(fx);
	assert_int_equal(n.status, MBX_DIR_NOT_FOUND);
	/* Bob's user entry changes: his SMTP entry goes. */
	notify(fx, BOB_DN, BOB);
	get_smtp(fx, "bob@contoso.com", &s);
	run(fx);
	assert_false(s.cached);
	/* The legacyExchangeDN key space is another one. */
	get(fx, "bob@contoso.com", &n);
	run(fx);
	assert_int_equal(n.status, MBX_DIR_NOT_FOUND);
}

static void test_invalidate_while_in_flight(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	fx->fd->hold = true;
	get(fx, ALICE, &a);
	fake_dir_release(fx->fd);
	run(fx); /* the user entry was read; the database lookup is held */
	assert_int_equal(fx->fd->pending, 1);
	/* The user changes now: what the fetch read is old. */
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "msExchMailboxMoveStatus", "4");
	notify(fx, ALICE_DN, NULL);
	assert_int_equal(fx->fd->cancelled, 1);
	assert_int_equal(fx->fd->pending, 1); /* restarted at the user */
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_LEGACYDN], 2);
	fx->fd->hold = false;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MBX_DIR_FOUND);
	assert_int_equal(a.move_status, 4);
	/* And by legacyExchangeDN before anything was read. */
	fx->fd->hold = true;
	fx->now += fx->cfg.ttl_ms;
	get(fx, ALICE, &a);
	notify(fx, NULL, ALICE);
	assert_int_equal(fx->fd->cancelled, 2);
	fx->fd->hold = false;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(a.calls, 2);
	assert_int_equal(stats(fx).fetches, 4);
}

static void test_invalidate_restart_fails(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	fx->fd->hold = true;
	get(fx, ALICE, &a);
	fx->fd->fail_start = true;
	notify(fx, NULL, ALICE);
	assert_int_equal(a.calls, 0); /* not from inside the notification */
	run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MBX_DIR_ERROR);
	assert_int_equal(stats(fx).inflight, 0);
}

static void test_invalidate_between_hit_and_delivery(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, ALICE, &a); /* a hit, queued */
	fake_entry_set(fake_dir_find(fx->fd, ALICE_DN), "msExchMailboxMoveStatus", "2");
	notify(fx, ALICE_DN, ALICE);
	run(fx);
	/* Nothing older than the change is delivered after it. */
	assert_int_equal(a.calls, 2);
	assert_false(a.cached);
	assert_int_equal(a.move_status, 2);
}

static void test_cancel(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0}, c = {0};
	struct mbx_mt_wait *w;

	fx_table(fx);
	/* Cancel the only waiter of a fetch: the fetch goes on and fills the cache. */
	w = get(fx, ALICE, &a);
	mbx_mailbox_table_cancel(w);
	run(fx);
	assert_int_equal(a.calls, 0);
	get(fx, ALICE, &b);
	run(fx);
	assert_true(b.cached);
	/* Cancel a queued hit. */
	w = get(fx, ALICE, &a);
	mbx_mailbox_table_cancel(w);
	run(fx);
	assert_int_equal(a.calls, 0);
	/* Cancel one of two coalesced waiters. */
	w = get(fx, BOB, &a);
	get(fx, BOB, &c);
	mbx_mailbox_table_cancel(w);
	run(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, MBX_DIR_FOUND);
	/* Cancel a waiter whose fetch could not start (queued failure). */
	fx->fd->fail_start = true;
	w = get(fx, NOBODY, &a);
	mbx_mailbox_table_cancel(w);
	run(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(stats(fx).entries, 2);
	mbx_mailbox_table_cancel(NULL);
}

/* Callbacks that call the table. */
struct nest {
	struct fx *fx;
	struct rec inner;
	struct mbx_mt_wait *victim;
	int calls;
	bool inner_called_inside;
};

static void nest_get_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct nest *n = ctx;

	(void)res;
	n->calls++;
	get(n->fx, ALICE, &n->inner); /* a hit now, yet answered later */
	n->inner_called_inside = n->inner.calls != 0;
}

static void nest_cancel_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct nest *n = ctx;

	(void)res;
	n->calls++;
	if (n->victim != NULL)
		mbx_mailbox_table_cancel(n->victim);
	n->victim = NULL;
	mbx_mailbox_table_invalidate(n->fx->t, ALICE);
}

static void test_callbacks_not_reentrant(void **state)
{
	struct fx *fx = *state;
	struct nest n = {.fx = fx};
	struct nest m = {.fx = fx};
	struct rec r = {0};

	fx_table(fx);
	fx->in_api = true;
	assert_non_null(mbx_mailbox_table_get(fx->t, ALICE, nest_get_cb, &n));
	fx->in_api = false;
	run(fx);
	assert_int_equal(n.calls, 1);
	assert_false(n.inner_called_inside);
	assert_int_equal(n.inner.calls, 1);
	assert_true(n.inner.cached);

	/* A callback cancels the next waiter of its batch and invalidates the entry that is
	 * being delivered: the snapshot stays valid for the rest of the batch. */
	assert_non_null(mbx_mailbox_table_get(fx->t, ALICE, nest_cancel_cb, &m));
	m.victim = get(fx, ALICE, &r);
	run(fx);
	assert_int_equal(m.calls, 1);
	assert_int_equal(r.calls, 0);
	fx->now += fx->cfg.ttl_ms;
	m.victim = NULL;
	assert_non_null(mbx_mailbox_table_get(fx->t, ALICE, nest_cancel_cb, &m));
	get(fx, ALICE, &r);
	run(fx); /* a fetch batch this time */
	assert_int_equal(m.calls, 2);
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.server, SRV1_LEGACY);
}

static int g_prev_calls;
static void prev_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	(void)ctx, (void)dn, (void)legacy_dn;
	g_prev_calls++;
}

static void test_change_cb_chained(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	g_prev_calls = 0;
	mbx_dir_set_change_cb(&fx->fd->head, prev_change_cb, fx);
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	notify(fx, ALICE_DN, NULL);
	assert_int_equal(g_prev_calls, 1);
	get(fx, ALICE, &a);
	run(fx);
	assert_false(a.cached);
	mbx_mailbox_table_free(&fx->t);
	assert_true(fx->fd->head.change_cb == prev_change_cb);
	notify(fx, ALICE_DN, NULL);
	assert_int_equal(g_prev_calls, 2);
}

static void test_clear(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	get(fx, NOBODY, &b);
	run(fx);
	fx->fd->hold = true;
	get(fx, BOB, &b);
	mbx_mailbox_table_clear(fx->t);
	assert_int_equal(stats(fx).entries, 1); /* Bob's fetch, restarted */
	fx->fd->hold = false;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(b.status, MBX_DIR_FOUND);
}

static void test_free_with_pending(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0}, b = {0}, c = {0};

	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, ALICE, &a); /* queued hit */
	fx->fd->hold = true;
	get(fx, BOB, &b); /* fetch in flight */
	fx->fd->fail_start = true;
	get(fx, NOBODY, &c); /* queued failure */
	mbx_mailbox_table_free(&fx->t);
	fx->fd->fail_start = false;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(fx->fd->pending, 0); /* the fetch was cancelled */
}

static void test_bad_args(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};
	struct mbx_mailbox_table_config cfg = fx->cfg;
	struct mbx_mailbox_table_stats st;

	fx_table(fx);
	assert_null(mbx_mailbox_table_get(fx->t, "", rec_cb, &a));
	assert_null(mbx_mailbox_table_get(fx->t, NULL, rec_cb, &a));
	assert_null(mbx_mailbox_table_get(fx->t, ALICE, NULL, &a));
	assert_null(mbx_mailbox_table_get(NULL, ALICE, rec_cb, &a));
	assert_null(mbx_mailbox_table_get_smtp(fx->t, "", rec_cb, &a));
	cfg.defer.ops = NULL;
	assert_null(mbx_mailbox_table_new(&fx->fd->head, &cfg));
	assert_null(mbx_mailbox_table_new(NULL, &fx->cfg));
	assert_null(mbx_mailbox_table_new(&fx->fd->head, NULL));
	mbx_mailbox_table_stats(NULL, &st);
	assert_int_equal(st.entries, 0);
	mbx_mailbox_table_free(NULL);
	mbx_mailbox_table_clear(NULL);
	run(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(fx->fd->ncalls, 0);
}

static void test_real_clock(void **state)
{
	struct fx *fx = *state;
	struct rec a = {0};

	fx->cfg.clock = NULL;
	fx_table(fx);
	get(fx, ALICE, &a);
	run(fx);
	get(fx, ALICE, &a);
	run(fx);
	assert_true(a.cached);
	assert_true(a.age < 10000);
}

/* Many keys through a small bound: the hash tables grow, the bound holds, nothing leaks. */
static void test_many_keys(void **state)
{
	struct fx *fx = *state;
	static struct rec r[300];
	char key[128];

	fx->cfg.max_entries = 200;
	fx_table(fx);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), ORG "/cn=Recipients/cn=user%d", i);
		memset(&r[i], 0, sizeof(r[i]));
		get(fx, key, &r[i]);
	}
	assert_int_equal(stats(fx).entries, 300); /* all busy */
	run(fx);
	for (int i = 0; i < 300; i++)
		assert_int_equal(r[i].status, MBX_DIR_NOT_FOUND);
	assert_int_equal(stats(fx).entries, 200);
	assert_int_equal(stats(fx).evictions, 100);
	for (int i = 299; i >= 100; i--) {
		snprintf(key, sizeof(key), ORG "/cn=Recipients/cn=user%d", i);
		get(fx, key, &r[i]);
	}
	run(fx);
	for (int i = 100; i < 300; i++)
		assert_true(r[i].cached);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_miss_then_hit),
	        T(test_case_insensitive_key),
	        T(test_coalescing),
	        T(test_ttl_expiry),
	        T(test_ttl_zero_always_asks),
	        T(test_negative_entries),
	        T(test_negative_ttl_zero),
	        T(test_negative_dropped_by_any_change),
	        T(test_lru_bound_one),
	        T(test_lru_bound_two),
	        T(test_lru_never_evicts_inflight),
	        T(test_serve_stale_within),
	        T(test_serve_stale_beyond),
	        T(test_stale_in_later_step),
	        T(test_tempfail_nothing_cached),
	        T(test_tempfail_with_negative_entry),
	        T(test_error_never_stale),
	        T(test_error_ambiguous_legacy_dn),
	        T(test_scripted_error),
	        T(test_missing_database_and_server),
	        T(test_lookup_cannot_start),
	        T(test_invalidate_user_dn),
	        T(test_invalidate_legacy_dn),
	        T(test_invalidate_database_dn),
	        T(test_invalidate_server_dn),
	        T(test_invalidate_moved_database),
	        T(test_invalidate_local),
	        T(test_smtp),
	        T(test_invalidate_while_in_flight),
	        T(test_invalidate_restart_fails),
	        T(test_invalidate_between_hit_and_delivery),
	        T(test_cancel),
	        T(test_callbacks_not_reentrant),
	        T(test_change_cb_chained),
	        T(test_clear),
	        T(test_free_with_pending),
	        T(test_bad_args),
	        T(test_real_clock),
	        T(test_many_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
