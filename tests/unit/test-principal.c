/*
 * test-principal.c: the principal's token and the owners of its SIDs (src/store/principal.c;
 * protocol.md 8.6, seed 002, seed 004) against the fake directory of fake-dir.h on a real
 * libevent loop: nested groups with a cycle, the depth bound, groups without SIDs, BUILTIN SIDs
 * answered without the directory and never ambiguous, TEMPFAIL propagation, limits, cancel; and
 * the token fed to mbx_authz_check(). One test reads the sample forest (conf/directory.ldif)
 * through the ldif backend: Henry Hill of seed 002.
 */
#include "mbx-test.h"

#include <stdbool.h>

#include "fake-dir.h"
#include "mbx/authz.h"
#include "mbx/principal.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

#define USERS "cn=Users,dc=contoso,dc=com"
#define U_DN "cn=Ursula,cn=Users,dc=contoso,dc=com"
#define G1_DN "cn=G1," USERS
#define G2_DN "cn=G2," USERS
#define G3_DN "cn=G3," USERS
#define U_SID "S-1-5-21-1-2-3-1500"
#define G1_SID "S-1-5-21-1-2-3-2001"
#define G2_SID "S-1-5-21-1-2-3-2002"
#define G3_SID "S-1-5-21-1-2-3-2003"
#define RDU_SID "S-1-5-32-555"

struct rec {
	int calls;
	enum mbx_dir_status status;
	struct mbx_principal *p;
	char msg[320];
	/* owners */
	bool has_owners, wellknown;
	size_t ndns;
	char dn0[256];
};

struct fx {
	struct event_base *base;
	struct fake_dir *fd;
	struct mbx_principal_resolver *r;
	struct mbx_principal_config cfg;
	bool in_api;
	int reentrant;
};

static struct fx *g_fx;

static struct mbx_sid sid_of(const char *s)
{
	struct mbx_sid sid;

	assert_int_equal(mbx_sid_from_str(s, &sid), 0);
	return sid;
}

static void add_sid(struct mbx_dir_entry *e, const char *s)
{
	struct mbx_sid sid = sid_of(s);
	uint8_t buf[MBX_SID_MAX_BYTES];
	struct wr w;

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

/* group dn (SID sid or none) with these members */
static struct mbx_dir_entry *group(struct fx *fx, const char *dn, const char *sid, const char *m1,
                                   const char *m2)
{
	struct mbx_dir_entry *e = mk(dn, "group", sid);

	if (m1 != NULL)
		fake_entry_add(e, "member", m1);
	if (m2 != NULL)
		fake_entry_add(e, "member", m2);
	fake_dir_add(fx->fd, e);
	return e;
}

/* U in G1 in G2 in G3 in G1 (a cycle). */
static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->fd = fake_dir_new(fx->base);
	fake_dir_add(fx->fd, mk(U_DN, "user", U_SID));
	group(fx, G1_DN, G1_SID, U_DN, G3_DN);
	group(fx, G2_DN, G2_SID, G1_DN, NULL);
	group(fx, G3_DN, G3_SID, G2_DN, NULL);
	fx->cfg.group_depth = 3;
	fx->cfg.defer.ops = &fake_defer_ops;
	fx->cfg.defer.loop = fx->base;
	g_fx = fx;
	*state = fx;
	return 0;
}

static void fx_resolver(struct fx *fx)
{
	fx->r = mbx_principal_resolver_new(&fx->fd->head, &fx->cfg);
	assert_non_null(fx->r);
}

static void rec_clear(struct rec *r)
{
	mbx_principal_free(&r->p);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	struct mbx_dir *d = &fx->fd->head;

	mbx_principal_resolver_free(&fx->r);
	assert_null(fx->r);
	assert_int_equal(fx->reentrant, 0);
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

static void owners_cb(void *ctx, enum mbx_dir_status status, const struct mbx_principal_owners *o,
                      const char *message)
{
	struct rec *r = ctx;

	if (g_fx != NULL && g_fx->in_api)
		g_fx->reentrant++;
	r->calls++;
	r->status = status;
	r->has_owners = o != NULL;
	r->wellknown = o != NULL && o->wellknown;
	r->ndns = o != NULL ? o->ndns : 0;
	r->dn0[0] = '\0';
	if (o != NULL && o->ndns > 0)
		snprintf(r->dn0, sizeof(r->dn0), "%s", o->dns[0]);
	r->msg[0] = '\0';
	if (message != NULL)
		snprintf(r->msg, sizeof(r->msg), "%s", message);
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

static struct mbx_principal_req *owners(struct fx *fx, const char *sid, struct rec *r)
{
	struct mbx_sid s = sid_of(sid);
	struct mbx_principal_req *q;

	fx->in_api = true;
	q = mbx_principal_sid_owners(fx->r, &s, owners_cb, r);
	fx->in_api = false;
	assert_non_null(q);
	return q;
}

static void run(struct fx *fx)
{
	fake_dir_run(fx->fd);
}

static void assert_groups(const struct mbx_principal *p, const char *const *sids, size_t n)
{
	assert_int_equal(p->ngroups, n);
	for (size_t i = 0; i < n; i++) {
		struct mbx_sid s = sid_of(sids[i]);

		if (!mbx_sid_equal(&p->groups[i], &s)) {
			char buf[MBX_SID_STRMAX];

			fail_msg("group %zu is %s, expected %s", i,
			         mbx_sid_to_str(&p->groups[i], buf, sizeof(buf)), sids[i]);
		}
	}
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_nested_with_cycle(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	static const char *const want[] = {G1_SID, G2_SID, G3_SID};
	struct mbx_sid usid = sid_of(U_SID);

	fx_resolver(fx);
	lookup(fx, "CN=Ursula, cn=Users,dc=contoso,dc=com", &r);
	assert_int_equal(r.calls, 0);
	run(fx);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_string_equal(r.p->dn, U_DN); /* the directory's spelling */
	assert_true(r.p->has_sid);
	assert_true(mbx_sid_equal(&r.p->sid, &usid));
	assert_groups(r.p, want, 3);
	assert_int_equal(r.p->ngroup_dns, 3);
	assert_string_equal(r.p->group_dns[0], G1_DN);
	assert_string_equal(r.p->group_dns[2], G3_DN);
	assert_false(r.p->depth_exceeded); /* G3 leads back to G1 only */
	/* U, G1, G2, G3 (the last one only proves there is nothing deeper) */
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_MEMBER], 4);
	/* owners: the user's SID and each group's */
	assert_int_equal(r.p->nowners, 4);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_SID], 4);
	assert_int_equal(r.p->owners[0].ndns, 1);
	assert_string_equal(r.p->owners[0].dns[0], U_DN);
	assert_string_equal(r.p->owners[2].dns[0], G2_DN);
	assert_false(r.p->owners[1].wellknown);
	assert_int_equal(r.p->nresolved, 4);
	assert_true(mbx_sid_equal(&r.p->resolved[3].sid, &r.p->groups[2]));
	assert_int_equal(r.p->resolved[3].ndns, 1);
	assert_string_equal(r.p->resolved[3].dns[0], G3_DN);
	rec_clear(&r);
}

static void test_depth_bound(void **state)
{
	struct fx *fx = *state;
	static const char *const want[] = {G1_SID, G2_SID, G3_SID};

	for (unsigned depth = 0; depth <= 4; depth++) {
		struct rec r = {0};

		fx->cfg.group_depth = depth;
		fx_resolver(fx);
		lookup(fx, U_DN, &r);
		run(fx);
		assert_int_equal(r.status, MBX_DIR_FOUND);
		assert_groups(r.p, want, depth < 3 ? depth : 3);
		assert_int_equal(r.p->depth_exceeded, depth < 3);
		assert_int_equal(r.p->nowners, 1 + (depth < 3 ? depth : 3));
		rec_clear(&r);
		mbx_principal_resolver_free(&fx->r);
	}
}

static void test_lookup_entry(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	static const char *const want[] = {G1_SID, G2_SID, G3_SID};
	struct mbx_dir_entry *e = mk(U_DN, "user", U_SID);
	struct mbx_principal_req *q;

	fx_resolver(fx);
	fx->in_api = true;
	q = mbx_principal_lookup_entry(fx->r, e, rec_cb, &r);
	fx->in_api = false;
	mbx_dir_entry_free(&e); /* nothing of it is kept */
	assert_non_null(q);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_groups(r.p, want, 3);
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_DN], 0);
	rec_clear(&r);

	/* An entry without objectSid: groups still, no owner lookup for it. */
	e = mk(U_DN, "user", NULL);
	assert_non_null(mbx_principal_lookup_entry(fx->r, e, rec_cb, &r));
	mbx_dir_entry_free(&e);
	run(fx);
	assert_false(r.p->has_sid);
	assert_groups(r.p, want, 3);
	assert_int_equal(r.p->nowners, 3);
	rec_clear(&r);

	/* A broken objectSid: refused at once. */
	e = fake_entry_new(U_DN);
	fake_entry_add(e, "objectSid", "S-1-5-21-01");
	assert_null(mbx_principal_lookup_entry(fx->r, e, rec_cb, &r));
	mbx_dir_entry_free(&e);
	assert_int_equal(r.calls, 2);
}

static void test_group_without_sid_is_followed(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	static const char *const want[] = {G1_SID, G2_SID, "S-1-5-21-1-2-3-2005", G3_SID};

	/* U in G4 (plain LDAP group, no SID) in G5 (string-form SID) */
	group(fx, "cn=G4," USERS, NULL, U_DN, NULL);
	group(fx, "cn=G5," USERS, NULL, "cn=G4," USERS, NULL);
	fake_entry_add(fake_dir_find(fx->fd, "cn=G5," USERS), "objectSid", "S-1-5-21-1-2-3-2005");
	fx_resolver(fx);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_int_equal(r.p->ngroup_dns, 5);
	assert_groups(r.p, want, 4);
	rec_clear(&r);
}

static void test_builtin_never_looked_up(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0}, o = {0};
	static const char *const want[] = {G1_SID, RDU_SID, G2_SID, G3_SID};

	/* Seed 002: BUILTIN\Remote Desktop Users of two domains, one SID. */
	group(fx, "cn=Remote Desktop Users,cn=Builtin,dc=contoso,dc=com", RDU_SID, U_DN, NULL);
	group(fx, "cn=Remote Desktop Users,cn=Builtin,dc=child,dc=contoso,dc=com", RDU_SID, U_DN,
	      NULL);
	fx_resolver(fx);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_int_equal(r.p->ngroup_dns, 5);
	assert_groups(r.p, want, 4); /* the SID once */
	assert_int_equal(r.p->nowners, 5);
	assert_true(r.p->owners[2].wellknown);
	assert_int_equal(r.p->owners[2].ndns, 1);
	assert_string_equal(r.p->owners[2].dns[0], "BUILTIN\\Remote Desktop Users");
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_SID], 4); /* not for S-1-5-32-555 */
	rec_clear(&r);

	/* Alone: answered from the table, from the loop, even with the directory down. */
	fx->fd->down = true;
	owners(fx, RDU_SID, &o);
	assert_int_equal(o.calls, 0);
	run(fx);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.status, MBX_DIR_FOUND);
	assert_true(o.wellknown);
	assert_int_equal(o.ndns, 1);
	assert_string_equal(o.dn0, "BUILTIN\\Remote Desktop Users");
	owners(fx, "S-1-5-32-999", &o); /* a RID the table does not name */
	owners(fx, "S-1-1-0", &o);
	run(fx);
	assert_int_equal(o.calls, 3);
	assert_string_equal(o.dn0, "Everyone");
	assert_int_equal(fx->fd->calls[MBX_DIR_BY_SID], 4);
}

static void test_sid_owners(void **state)
{
	struct fx *fx = *state;
	struct rec o = {0};

	fx_resolver(fx);
	owners(fx, G2_SID, &o);
	run(fx);
	assert_int_equal(o.status, MBX_DIR_FOUND);
	assert_false(o.wellknown);
	assert_int_equal(o.ndns, 1);
	assert_string_equal(o.dn0, G2_DN);
	/* A domain SID held by two objects: both reported (ambiguous for authz). */
	group(fx, "cn=G2 copy,dc=child,dc=contoso,dc=com", G2_SID, NULL, NULL);
	owners(fx, G2_SID, &o);
	run(fx);
	assert_int_equal(o.ndns, 2);
	owners(fx, "S-1-5-21-9-9-9-9", &o);
	run(fx);
	assert_int_equal(o.status, MBX_DIR_NOT_FOUND);
	assert_true(o.has_owners);
	assert_int_equal(o.ndns, 0);
	fx->fd->down = true;
	owners(fx, G2_SID, &o);
	run(fx);
	assert_int_equal(o.status, MBX_DIR_TEMPFAIL);
	assert_false(o.has_owners);
	assert_string_equal(o.msg, "fake: server down");
	assert_int_equal(o.calls, 4);
}

static void test_tempfail_propagated(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	struct mbx_sid g1 = sid_of(G1_SID);
	uint8_t key[MBX_SID_MAX_BYTES];
	struct wr w;

	fx_resolver(fx);
	/* half-way up the groups */
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G2_DN, MBX_DIR_TEMPFAIL);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_TEMPFAIL); /* never "fewer groups" */
	assert_null(r.p);
	assert_string_equal(r.msg, "fake: server down");
	/* at the owners */
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G2_DN, MBX_DIR_FOUND);
	wr_init(&w, key, sizeof(key));
	wr_sid(&w, &g1);
	fake_dir_script(fx->fd, MBX_DIR_BY_SID, key, w.len, MBX_DIR_TEMPFAIL);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_TEMPFAIL);
	/* at the user */
	fake_dir_script(fx->fd, MBX_DIR_BY_SID, key, w.len, MBX_DIR_FOUND);
	fake_dir_script_str(fx->fd, MBX_DIR_BY_DN, U_DN, MBX_DIR_TEMPFAIL);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_TEMPFAIL);
	/* ERROR the same way */
	fake_dir_script_str(fx->fd, MBX_DIR_BY_DN, U_DN, MBX_DIR_FOUND);
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G1_DN, MBX_DIR_ERROR);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_ERROR);
	assert_string_equal(r.msg, "fake: scripted error");
	/* all well again */
	fake_dir_script_str(fx->fd, MBX_DIR_BY_MEMBER, G1_DN, MBX_DIR_FOUND);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_int_equal(r.calls, 5);
	assert_int_equal(fx->fd->pending, 0);
	rec_clear(&r);
}

static void test_not_found(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};

	fx_resolver(fx);
	lookup(fx, "cn=Nobody," USERS, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_NOT_FOUND);
	assert_null(r.p);
	/* A user in no group at all: FOUND with no groups (the directory said NOT_FOUND to
	 * the member lookup, which is an answer, not a failure). */
	fake_dir_add(fx->fd, mk("cn=Loner," USERS, "user", "S-1-5-21-1-2-3-1600"));
	lookup(fx, "cn=Loner," USERS, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_int_equal(r.p->ngroups, 0);
	assert_false(r.p->depth_exceeded);
	assert_int_equal(r.p->nowners, 1);
	rec_clear(&r);
}

static void test_limits_and_bad_data(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};

	fx->cfg.max_groups = 2;
	fx_resolver(fx);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_ERROR);
	assert_string_equal(r.msg, "more than 2 groups");
	mbx_principal_resolver_free(&fx->r);

	fx->cfg.max_groups = 0;
	fx_resolver(fx);
	fake_entry_del(fake_dir_find(fx->fd, G2_DN), "objectSid");
	fake_entry_add(fake_dir_find(fx->fd, G2_DN), "objectSid", "\x01\x09garbage");
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_ERROR);
	assert_non_null(strstr(r.msg, "cn=G2,cn=Users"));
	assert_non_null(strstr(r.msg, "objectSid does not decode"));

	/* The principal's own objectSid, read by DN */
	fake_entry_del(fake_dir_find(fx->fd, U_DN), "objectSid");
	fake_entry_add(fake_dir_find(fx->fd, U_DN), "objectSid", "S-1-5-x");
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_ERROR);
	assert_int_equal(fx->fd->pending, 0);
}

static void test_max_inflight(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	char dn[64], sid[64];
	unsigned max_pending = 0;

	/* U in six more groups at level 1 */
	for (int i = 0; i < 6; i++) {
		snprintf(dn, sizeof(dn), "cn=L%d," USERS, i);
		snprintf(sid, sizeof(sid), "S-1-5-21-1-2-3-%d", 3000 + i);
		group(fx, dn, sid, U_DN, NULL);
	}
	fx->cfg.max_inflight = 2;
	fx_resolver(fx);
	fx->fd->hold = true;
	lookup(fx, U_DN, &r);
	while (fx->fd->pending > 0) {
		if (fx->fd->pending > max_pending)
			max_pending = fx->fd->pending;
		fake_dir_release(fx->fd);
		run(fx);
	}
	assert_int_equal(max_pending, 2);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	assert_int_equal(r.p->ngroups, 9);
	assert_int_equal(r.p->nowners, 10);
	rec_clear(&r);
}

static void test_cancel(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0}, o = {0};
	struct mbx_principal_req *q;

	fx_resolver(fx);
	q = lookup(fx, U_DN, &r);
	mbx_principal_cancel(q);
	run(fx);
	assert_int_equal(r.calls, 0);
	/* half-way */
	fx->fd->hold = true;
	q = lookup(fx, U_DN, &r);
	fake_dir_release(fx->fd);
	run(fx);
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(fx->fd->pending, 1);
	mbx_principal_cancel(q);
	assert_int_equal(fx->fd->pending, 0);
	fx->fd->hold = false;
	q = owners(fx, RDU_SID, &o);
	mbx_principal_cancel(q);
	q = owners(fx, G1_SID, &o);
	mbx_principal_cancel(q);
	run(fx);
	assert_int_equal(r.calls, 0);
	assert_int_equal(o.calls, 0);
	mbx_principal_cancel(NULL);
	/* freeing the resolver drops what is pending */
	lookup(fx, U_DN, &r);
	owners(fx, RDU_SID, &o);
	owners(fx, G1_SID, &o);
	mbx_principal_resolver_free(&fx->r);
	run(fx);
	assert_int_equal(r.calls, 0);
	assert_int_equal(o.calls, 0);
}

static void test_bad_args(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	struct mbx_principal_config cfg = fx->cfg;
	struct mbx_sid bad = {.revision = 1, .count = 16};
	struct mbx_sid ok = sid_of(G1_SID);

	fx_resolver(fx);
	assert_null(mbx_principal_lookup(fx->r, NULL, rec_cb, &r));
	assert_null(mbx_principal_lookup(fx->r, "", rec_cb, &r));
	assert_null(mbx_principal_lookup(fx->r, U_DN, NULL, &r));
	assert_null(mbx_principal_lookup(NULL, U_DN, rec_cb, &r));
	assert_null(mbx_principal_lookup_entry(fx->r, NULL, rec_cb, &r));
	assert_null(mbx_principal_sid_owners(fx->r, NULL, owners_cb, &r));
	assert_null(mbx_principal_sid_owners(fx->r, &bad, owners_cb, &r));
	fx->fd->fail_start = true;
	assert_null(mbx_principal_lookup(fx->r, U_DN, rec_cb, &r));
	assert_null(mbx_principal_sid_owners(fx->r, &ok, owners_cb, &r));
	fx->fd->fail_start = false;
	cfg.defer.ops = NULL;
	assert_null(mbx_principal_resolver_new(&fx->fd->head, &cfg));
	assert_null(mbx_principal_resolver_new(NULL, &fx->cfg));
	mbx_principal_resolver_free(NULL);
	mbx_principal_free(NULL);
	run(fx);
	assert_int_equal(r.calls, 0);
}

/* A lookup that cannot start in the middle ends in ERROR, from the loop. */
static void test_start_fails_midway(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};

	fx_resolver(fx);
	fx->fd->hold = true;
	lookup(fx, U_DN, &r);
	fx->fd->fail_start = true;
	fake_dir_release(fx->fd);
	run(fx);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, MBX_DIR_ERROR);
}

/* The token as authorization sees it (authz.h rule 1, seed 002). */
static void test_authz(void **state)
{
	struct fx *fx = *state;
	struct rec r = {0};
	struct mbx_dir_entry *mbx_entry =
	        mk("cn=Mailbox,cn=Users,dc=contoso,dc=com", "user", "S-1-5-21-1-2-3-1700");
	struct mbx_mailbox *mbx = NULL;
	struct mbx_authz_principal ap;
	struct mbx_authz res;

	fake_entry_add(mbx_entry, "legacyExchangeDN", "/o=Contoso/cn=Recipients/cn=mailbox");
	assert_int_equal(mbx_mailbox_from_entries(mbx_entry, NULL, NULL, 0, &mbx, NULL, 0), 0);
	mbx_dir_entry_free(&mbx_entry);
	group(fx, "cn=Remote Desktop Users,cn=Builtin,dc=contoso,dc=com", RDU_SID, U_DN, NULL);
	group(fx, "cn=Remote Desktop Users,cn=Builtin,dc=child,dc=contoso,dc=com", RDU_SID, U_DN,
	      NULL);
	fx_resolver(fx);
	lookup(fx, U_DN, &r);
	run(fx);
	assert_int_equal(r.status, MBX_DIR_FOUND);
	mbx_principal_authz(r.p, "ursula", &ap);
	assert_ptr_equal(ap.sid, &r.p->sid);
	assert_int_equal(ap.ngroups, 4);
	mbx_authz_check(mbx, &ap, &res);
	/* not her mailbox, no descriptor: denied, but not for ambiguity */
	assert_int_equal(res.result, MBX_AUTHZ_DENIED);
	rec_clear(&r);

	/* A domain group SID held by two objects makes the token ambiguous. */
	group(fx, "cn=G2 copy,dc=child,dc=contoso,dc=com", G2_SID, NULL, NULL);
	lookup(fx, U_DN, &r);
	run(fx);
	mbx_principal_authz(r.p, "ursula", &ap);
	mbx_authz_check(mbx, &ap, &res);
	assert_int_equal(res.result, MBX_AUTHZ_AMBIGUOUS);
	assert_non_null(strstr(res.reason, G2_SID));
	rec_clear(&r);
	mbx_principal_authz(NULL, "x", &ap);
	assert_null(ap.sid);
	mbx_mailbox_free(&mbx);
}

/* Seed 002 on the sample forest, through the ldif backend. */
static void ldif_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                    const char *message)
{
	rec_cb(ctx, status, p, message);
	event_base_loopbreak(g_fx->base);
}

static void test_sample_forest_henry(void **state)
{
	struct fx *fx = *state;
	const char *src = getenv("MBX_SRCDIR");
	char path[4096], err[512];
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_dir *d;
	struct mbx_principal_resolver *r;
	struct rec rec = {0};
	struct mbx_sid rdu = sid_of(RDU_SID);

	snprintf(path, sizeof(path), "%s/conf/directory.ldif", src != NULL ? src : ".");
	dc.ldif_path = path;
	d = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (d == NULL)
		fail_msg("ldif backend on %s: %s", path, err);
	r = mbx_principal_resolver_new(d, &fx->cfg);
	assert_non_null(r);
	assert_non_null(mbx_principal_lookup(r, "cn=Henry Hill,cn=Users,dc=child,dc=contoso,dc=com",
	                                     ldif_cb, &rec));
	event_base_dispatch(fx->base);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.status, MBX_DIR_FOUND);
	assert_int_equal(rec.p->ngroup_dns, 2); /* both domains' Remote Desktop Users */
	assert_int_equal(rec.p->ngroups, 1);    /* one SID */
	assert_true(mbx_sid_equal(&rec.p->groups[0], &rdu));
	assert_true(rec.p->owners[1].wellknown);
	assert_int_equal(rec.p->owners[0].ndns, 1); /* Henry's own SID: only Henry */
	rec_clear(&rec);
	mbx_principal_resolver_free(&r);
	mbx_dir_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_nested_with_cycle),
	        T(test_depth_bound),
	        T(test_lookup_entry),
	        T(test_group_without_sid_is_followed),
	        T(test_builtin_never_looked_up),
	        T(test_sid_owners),
	        T(test_tempfail_propagated),
	        T(test_not_found),
	        T(test_limits_and_bad_data),
	        T(test_max_inflight),
	        T(test_cancel),
	        T(test_bad_args),
	        T(test_start_fails_midway),
	        T(test_authz),
	        T(test_sample_forest_henry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
