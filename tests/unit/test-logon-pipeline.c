/*
 * test-logon-pipeline.c: the RopLogon resolve step (src/store/logon-pipeline.c) on the sample
 * forests (conf/directory.ldif, conf/fabrikam.ldif) through the embedded ldif backend and a
 * real libevent loop, with the libevent deferral of src/directory/dir-defer.c.
 *
 * The expected decisions are the table tests/unit/data/logon-expect.tsv (logon-expect.h),
 * which test-logon-ldap.c checks again through the ldap backend: every row is run with the
 * principal given by DN, by entry and as a resolved token, and the events logged are compared
 * with the decision's. Then the behaviour around the table: answers from the request alone
 * make no lookups, a directory outage is never "unknown user" (seed 004: stale snapshots,
 * ecNetworkError), principal failures, a directory change reaching the table, the
 * ecServerPaused limiter, cancel and free at every stage, re-entrant callbacks, log escaping,
 * and the deferral itself.
 *
 * A small proxy backend sits between the table and the ldif backend: it forwards lookups, and
 * on request answers TEMPFAIL or ERROR (for everything or one kind of lookup) or holds
 * lookups of one kind until released.
 */
#include "mbx-test.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "logon-expect.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/principal.h"

#define RCPT LX_AG "/cn=Recipients"
#define USERS "cn=Users,dc=contoso,dc=com"
#define ALICE_DN "cn=Alice Anders," USERS
#define CAROL_DN "cn=Carol Clark," USERS
#define IVAN_DN "cn=Ivan Ives," USERS
#define SERVER2_LEG LX_AG "/cn=Configuration/cn=Servers/cn=SERVER2"

static struct lx_table table_data;

/* --- log capture ------------------------------------------------------------------------- */

#define LOG_MAX 32

static struct {
	int events[LOG_MAX];
	unsigned n;
	char last[2048];
	bool trace_seen;
	char trace[2048];
} logcap;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	const char *ev = strstr(line, "event=");

	(void)ctx;
	(void)level;
	if (ev != NULL && logcap.n < LOG_MAX)
		logcap.events[logcap.n++] = atoi(ev + 6);
	if (ev != NULL)
		snprintf(logcap.last, sizeof(logcap.last), "%s", line);
	if (strstr(line, "logon: ") != NULL) {
		logcap.trace_seen = true;
		snprintf(logcap.trace, sizeof(logcap.trace), "%s", line);
	}
}

/* --- the proxy backend ------------------------------------------------------------------- */

#define NKINDS 6

struct proxy_req;

struct proxy_dir {
	struct mbx_dir head;
	struct mbx_dir *inner;
	bool down;                        /* everything TEMPFAIL */
	enum mbx_dir_status fail[NKINDS]; /* per kind: FOUND = forward, else this status */
	bool hold[NKINDS];                /* per kind: wait for proxy_release */
	unsigned lookups, per_kind[NKINDS];
	unsigned pending;
	struct proxy_req *reqs;
};

struct proxy_req {
	struct mbx_dir_req head;
	struct proxy_dir *pd;
	struct proxy_req *prev, *next;
	struct mbx_dir_req *inner;
	struct event *ev;
	enum mbx_dir_key kind;
	uint8_t *key;
	size_t keylen;
	mbx_dir_cb *cb;
	void *ctx;
};

static void proxy_unlink(struct proxy_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->pd->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->pd->pending--;
}

static void proxy_req_free(struct proxy_req *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	free(r->key);
	free(r);
}

static void proxy_inner_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct proxy_req *r = ctx;

	r->inner = NULL;
	proxy_unlink(r);
	r->cb(r->ctx, res);
	proxy_req_free(r);
}

static bool proxy_failing(const struct proxy_dir *pd, enum mbx_dir_key kind,
                          enum mbx_dir_status *st_r)
{
	if (pd->down) {
		*st_r = MBX_DIR_TEMPFAIL;
		return true;
	}
	if (pd->fail[kind] != MBX_DIR_FOUND) {
		*st_r = pd->fail[kind];
		return true;
	}
	return false;
}

/* From the loop: a failure, or the forward of a held lookup. */
static void proxy_fire(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_req *r = arg;
	struct proxy_dir *pd = r->pd;
	enum mbx_dir_status st;

	(void)fd;
	(void)what;
	if (!proxy_failing(pd, r->kind, &st)) {
		r->inner = mbx_dir_lookup(pd->inner, r->kind, r->key, r->keylen, proxy_inner_cb, r);
		if (r->inner != NULL)
			return;
		st = MBX_DIR_ERROR;
	}
	{
		struct mbx_dir_result res = {
		        .status = st,
		        .message = st == MBX_DIR_TEMPFAIL ? "proxy: server down" : "proxy: error",
		        .server = "proxy",
		};

		proxy_unlink(r);
		r->cb(r->ctx, &res);
		proxy_req_free(r);
	}
}

static struct mbx_dir_req *proxy_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                                        size_t keylen, mbx_dir_cb *cb, void *ctx)
{
	struct proxy_dir *pd = (struct proxy_dir *)d;
	struct proxy_req *r = calloc(1, sizeof(*r));
	enum mbx_dir_status st;

	assert_non_null(r);
	pd->lookups++;
	pd->per_kind[kind]++;
	r->head.dir = d;
	r->pd = pd;
	r->kind = kind;
	r->key = malloc(keylen + 1);
	assert_non_null(r->key);
	memcpy(r->key, key, keylen);
	r->key[keylen] = '\0';
	r->keylen = keylen;
	r->cb = cb;
	r->ctx = ctx;
	if (pd->hold[kind] || proxy_failing(pd, kind, &st)) {
		r->ev = event_new(d->base, -1, 0, proxy_fire, r);
		assert_non_null(r->ev);
		if (!pd->hold[kind])
			event_active(r->ev, EV_TIMEOUT, 1);
	} else {
		r->inner = mbx_dir_lookup(pd->inner, kind, key, keylen, proxy_inner_cb, r);
		if (r->inner == NULL) {
			proxy_req_free(r);
			return NULL;
		}
	}
	r->next = pd->reqs;
	if (r->next != NULL)
		r->next->prev = r;
	pd->reqs = r;
	pd->pending++;
	return &r->head;
}

static void proxy_cancel(struct mbx_dir_req *req)
{
	struct proxy_req *r = (struct proxy_req *)req;

	if (r->inner != NULL)
		mbx_dir_cancel(r->inner);
	proxy_unlink(r);
	proxy_req_free(r);
}

static struct mbx_dir_req *proxy_no_pw(struct mbx_dir *d, const char *dn, const char *pw,
                                       mbx_dir_cb *cb, void *ctx)
{
	(void)d, (void)dn, (void)pw, (void)cb, (void)ctx;
	return NULL;
}

static struct mbx_dir_req *proxy_no_modify(struct mbx_dir *d, const char *dn,
                                           const struct mbx_dir_mod *mods, size_t n, mbx_dir_cb *cb,
                                           void *ctx)
{
	(void)d, (void)dn, (void)mods, (void)n, (void)cb, (void)ctx;
	return NULL;
}

static int proxy_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	return mbx_dir_reload(((struct proxy_dir *)d)->inner, err, errsize);
}

static void proxy_free(struct mbx_dir *d)
{
	struct proxy_dir *pd = (struct proxy_dir *)d;

	while (pd->reqs != NULL)
		proxy_cancel(&pd->reqs->head);
	mbx_dir_free(&pd->inner);
	free(pd);
}

static const struct mbx_dir_ops proxy_ops = {
        .name = "proxy",
        .lookup = proxy_lookup,
        .check_password = proxy_no_pw,
        .modify = proxy_no_modify,
        .cancel = proxy_cancel,
        .reload = proxy_reload,
        .free = proxy_free,
};

static void proxy_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	mbx_dir_notify_change(ctx, dn, legacy_dn);
}

static struct proxy_dir *proxy_new(struct event_base *base, struct mbx_dir *inner)
{
	struct proxy_dir *pd = calloc(1, sizeof(*pd));

	assert_non_null(pd);
	pd->head.ops = &proxy_ops;
	pd->head.base = base;
	pd->head.group_depth = 8;
	pd->inner = inner;
	mbx_dir_set_change_cb(inner, proxy_change_cb, &pd->head);
	return pd;
}

/* Lets the held lookups of kind go (they are forwarded from the next loop run). */
static void proxy_release(struct proxy_dir *pd, enum mbx_dir_key kind)
{
	pd->hold[kind] = false;
	for (struct proxy_req *r = pd->reqs; r != NULL; r = r->next)
		if (r->kind == kind && r->ev != NULL && r->inner == NULL)
			event_active(r->ev, EV_TIMEOUT, 1);
}

/* --- the fixture ------------------------------------------------------------------------- */

struct fx {
	struct event_base *base;
	char tmp[256];
	char path[LX_NFORESTS][512];
	struct proxy_dir *pd[LX_NFORESTS];
	struct mbx_mailbox_table *table[LX_NFORESTS];
	struct mbx_principal_resolver *res[LX_NFORESTS];
	struct mbx_logon_pipeline *pl[LX_NIDENTITIES];
	struct mbx_logon_limiter limiter;
	uint64_t now;     /* the tables' clock, ms */
	uint64_t lim_now; /* the limiter's clock, ms */
	bool lim_step;    /* advance the limiter's clock by 20 s per reading */
};

static uint64_t fx_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static uint64_t fx_lim_clock(void *ctx)
{
	struct fx *fx = ctx;

	if (fx->lim_step)
		fx->lim_now += 20000;
	return fx->lim_now;
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[8192];
	size_t n;

	if (in == NULL)
		fail_msg("cannot open %s", from);
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static const struct mbx_mailbox_table_config *table_cfg(struct fx *fx)
{
	static struct mbx_mailbox_table_config tc;

	memset(&tc, 0, sizeof(tc));
	tc.ttl_ms = 60000;
	tc.negative_ttl_ms = 1000;
	tc.stale_max_ms = 3600000;
	tc.max_entries = 1000;
	mbx_dir_defer_init(&tc.defer, fx->base);
	tc.clock = fx_clock;
	tc.clock_ctx = fx;
	return &tc;
}

static int fx_setup(void **state)
{
	static const char *const files[LX_NFORESTS] = {"directory.ldif", "fabrikam.ldif"};
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *src = getenv("MBX_SRCDIR");
	struct mbx_principal_config pc = {.group_depth = 8};

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->now = 1000000;
	fx->lim_step = true;
	mbx_logon_limiter_init(&fx->limiter);
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/test-logon-pipeline.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	mbx_dir_defer_init(&pc.defer, fx->base);
	for (int f = 0; f < LX_NFORESTS; f++) {
		char from[4096], err[512];
		struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
		struct mbx_dir *d;

		/* A copy: modifications are written back to the file. */
		snprintf(from, sizeof(from), "%s/conf/%s", src != NULL ? src : ".", files[f]);
		snprintf(fx->path[f], sizeof(fx->path[f]), "%s/%s", fx->tmp, files[f]);
		copy_file(from, fx->path[f]);
		dc.ldif_path = fx->path[f];
		d = mbx_dir_new(fx->base, &dc, err, sizeof(err));
		if (d == NULL)
			fail_msg("ldif backend on %s: %s", fx->path[f], err);
		fx->pd[f] = proxy_new(fx->base, d);
		fx->table[f] = mbx_mailbox_table_new(&fx->pd[f]->head, table_cfg(fx));
		assert_non_null(fx->table[f]);
		fx->res[f] = mbx_principal_resolver_new(&fx->pd[f]->head, &pc);
		assert_non_null(fx->res[f]);
	}
	for (size_t i = 0; i < LX_NIDENTITIES; i++) {
		struct mbx_logon_pipeline_config cfg = {0};

		cfg.table = fx->table[lx_identities[i].forest];
		cfg.resolver = fx->res[lx_identities[i].forest];
		cfg.id = &lx_identities[i].id;
		cfg.limiter = &fx->limiter;
		mbx_dir_defer_init(&cfg.defer, fx->base);
		cfg.clock = fx_lim_clock;
		cfg.clock_ctx = fx;
		fx->pl[i] = mbx_logon_pipeline_new(&cfg);
		assert_non_null(fx->pl[i]);
	}
	memset(&logcap, 0, sizeof(logcap));
	mbx_log_set_hook(log_hook, NULL);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[400];

	mbx_log_set_hook(NULL, NULL);
	mbx_log_set_trace(MBX_TRACE_STORE, false);
	for (size_t i = 0; i < LX_NIDENTITIES; i++)
		mbx_logon_pipeline_free(&fx->pl[i]);
	for (int f = 0; f < LX_NFORESTS; f++) {
		mbx_principal_resolver_free(&fx->res[f]);
		mbx_mailbox_table_free(&fx->table[f]);
		{
			struct mbx_dir *d = &fx->pd[f]->head;

			mbx_dir_free(&d);
		}
	}
	event_base_free(fx->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Runs the loop until nothing is active any more (the ldif backend and the deferrals only use
 * zero-delay events). */
static void fx_run(struct fx *fx)
{
	do
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	while (event_base_get_num_events(fx->base, EVENT_BASE_COUNT_ACTIVE) > 0);
}

/* --- one logon --------------------------------------------------------------------------- */

struct outcome {
	int calls;
	struct mbx_logon_decision d;
	bool looked_up, stale, cached, principal_needed, has_authz, has_mbx, has_token;
	enum mbx_dir_status mstatus, pstatus;
	enum mbx_mailbox_state state;
	enum mbx_authz_via via;
	char mbx_legacy[512];
	int logged[LOG_MAX];
	unsigned nlogged;
	/* for the re-entrancy test */
	struct mbx_logon_pipeline *start_pl;
	struct mbx_logon_pipeline_req *cancel_me;
	struct outcome *started;
};

static bool starting; /* a callback while a request is being started is a bug */

static void outcome_cb(void *ctx, const struct mbx_logon_pipeline_result *res)
{
	struct outcome *o = ctx;

	assert_false(starting);
	o->calls++;
	o->d = res->decision;
	o->looked_up = res->mailbox_looked_up;
	o->stale = res->stale;
	o->cached = res->cached;
	o->principal_needed = res->principal_needed;
	o->has_authz = res->has_authz;
	o->mstatus = res->mailbox_status;
	o->pstatus = res->principal_status;
	o->state = res->state;
	o->via = res->has_authz ? res->authz.via : MBX_AUTHZ_VIA_NONE;
	o->has_mbx = res->mbx != NULL;
	o->has_token = res->principal != NULL;
	if (res->mbx != NULL && res->mbx->legacy_dn != NULL)
		snprintf(o->mbx_legacy, sizeof(o->mbx_legacy), "%s", res->mbx->legacy_dn);
	/* The events were logged just before the callback. */
	memcpy(o->logged, logcap.events, sizeof(o->logged));
	o->nlogged = logcap.n;
	logcap.n = 0;
	if (o->cancel_me != NULL) {
		mbx_logon_pipeline_cancel(o->cancel_me);
		o->cancel_me = NULL;
	}
	if (o->start_pl != NULL) {
		struct mbx_logon_req req = {.logon_flags = 0, .open_flags = 0, .essdn = "x"};
		struct mbx_logon_pipeline_who who = {.name = "nested"};

		assert_non_null(
		        mbx_logon_pipeline_start(o->start_pl, &req, &who, outcome_cb, o->started));
		o->start_pl = NULL;
	}
}

static struct mbx_logon_pipeline_req *start(struct mbx_logon_pipeline *pl,
                                            const struct mbx_logon_req *req,
                                            const struct mbx_logon_pipeline_who *who,
                                            struct outcome *o)
{
	struct mbx_logon_pipeline_req *r;

	starting = true;
	r = mbx_logon_pipeline_start(pl, req, who, outcome_cb, o);
	starting = false;
	assert_non_null(r);
	assert_int_equal(o->calls, 0);
	return r;
}

/* Starts, runs the loop, checks it was called back once. */
static void logon(struct fx *fx, size_t idn, const struct mbx_logon_req *req,
                  const struct mbx_logon_pipeline_who *who, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	logcap.n = 0;
	start(fx->pl[idn], req, who, o);
	fx_run(fx);
	assert_int_equal(o->calls, 1);
	assert_int_equal(mbx_logon_pipeline_pending(fx->pl[idn]), 0);
}

static struct mbx_logon_req private_req(const char *essdn, uint32_t open_flags)
{
	struct mbx_logon_req req = {0};

	req.logon_flags = MBX_LOGON_PRIVATE;
	req.open_flags = MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | open_flags;
	req.essdn = essdn;
	req.essdn_size = (uint16_t)(strlen(essdn) + 1);
	return req;
}

static const char *ecname(uint32_t ec)
{
	static char buf[16];

	return mbx_ec_str(ec, buf, sizeof(buf));
}

#define assert_ec(o, want)                                                                         \
	do {                                                                                       \
		if ((o)->d.ec != (uint32_t)(want))                                                 \
			fail_msg("expected %s, got %s (%s)", ecname(want), ecname((o)->d.ec),      \
			         (o)->d.reason != NULL ? (o)->d.reason : "");                      \
	} while (0)

/* --- the table of expected decisions ----------------------------------------------------- */

enum mode { BY_DN, BY_ENTRY, BY_TOKEN };

struct entry_ans {
	bool done;
	enum mbx_dir_status st;
	struct mbx_dir_entry *e;
};

static void entry_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct entry_ans *a = ctx;

	a->done = true;
	a->st = res->status;
	if (res->status == MBX_DIR_FOUND)
		a->e = mbx_dir_entry_dup(res->entries[0]);
}

struct token_ans {
	bool done;
	enum mbx_dir_status st;
	struct mbx_principal *p;
};

static void token_cb(void *ctx, enum mbx_dir_status st, struct mbx_principal *p, const char *msg)
{
	struct token_ans *a = ctx;

	(void)msg;
	a->done = true;
	a->st = st;
	a->p = p;
}

/* The principal's entry in forest f (NULL when it has none there). */
static struct mbx_dir_entry *fetch_entry(struct fx *fx, int f, const char *dn)
{
	struct entry_ans a = {0};

	if (dn[0] == '\0')
		return NULL;
	assert_non_null(
	        mbx_dir_lookup(&fx->pd[f]->head, MBX_DIR_BY_DN, dn, strlen(dn), entry_cb, &a));
	fx_run(fx);
	assert_true(a.done);
	assert_true(a.st == MBX_DIR_FOUND || a.st == MBX_DIR_NOT_FOUND);
	return a.e;
}

static struct mbx_principal *fetch_token(struct fx *fx, int f, const char *dn)
{
	struct token_ans a = {0};

	if (dn[0] == '\0')
		return NULL;
	assert_non_null(mbx_principal_lookup(fx->res[f], dn, token_cb, &a));
	fx_run(fx);
	assert_true(a.done);
	assert_true(a.st == MBX_DIR_FOUND || a.st == MBX_DIR_NOT_FOUND);
	return a.p;
}

/* The event lines of ~500 decisions go to /dev/null (the hook still sees them) unless
 * MBX_TEST_VERBOSE is set; returns the descriptor to give back to quiet_end. */
static int quiet_begin(void)
{
	int saved, null;

	if (getenv("MBX_TEST_VERBOSE") != NULL)
		return -1;
	fflush(stderr);
	saved = dup(2);
	null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0 || dup2(null, 2) < 0)
		fail_msg("cannot redirect stderr");
	close(null);
	return saved;
}

static void quiet_end(int saved)
{
	if (saved < 0)
		return;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static void run_table(struct fx *fx, enum mode mode)
{
	const struct lx_table *t = &table_data;
	unsigned bad = 0;
	char why[2048], msgs[20][2048];
	int quiet;

	assert_true(t->nrows > 400);
	quiet = quiet_begin();
	for (size_t i = 0; i < t->nrows; i++) {
		const struct lx_row *r = &t->rows[i];
		int f = lx_identities[r->identity].forest;
		struct mbx_logon_pipeline_who who = {0};
		struct mbx_dir_entry *e = NULL;
		struct mbx_principal *tok = NULL;
		struct mbx_logon_req req;
		struct outcome o;

		who.name = r->principal->name[0] != '\0' ? r->principal->name : NULL;
		switch (mode) {
		case BY_DN:
			who.dn = r->principal->dn[0] != '\0' ? r->principal->dn : NULL;
			break;
		case BY_ENTRY:
			who.entry = e = fetch_entry(fx, f, r->principal->dn);
			break;
		case BY_TOKEN:
			who.token = tok = fetch_token(fx, f, r->principal->dn);
			break;
		}
		lx_request(r, &req);
		logon(fx, (size_t)r->identity, &req, &who, &o);
		if (lx_matches(r, &o.d, why, sizeof(why))) {
			/* What was logged is what the decision lists. */
			bool same = o.nlogged == o.d.nevents;

			for (unsigned k = 0; same && k < o.nlogged; k++)
				same = o.logged[k] == (int)o.d.events[k];
			if (!same)
				snprintf(why, sizeof(why),
				         "logon-expect.tsv:%u: %u events logged, "
				         "the decision has %u",
				         r->line, o.nlogged, o.d.nevents);
			else
				why[0] = '\0';
		}
		if (why[0] != '\0' && bad++ < 20)
			snprintf(msgs[bad - 1], sizeof(msgs[0]), "%s", why);
		mbx_dir_entry_free(&e);
		mbx_principal_free(&tok);
	}
	quiet_end(quiet);
	for (unsigned k = 0; k < bad && k < 20; k++)
		print_message("MISMATCH %s\n", msgs[k]);
	if (bad > 0)
		fail_msg("%u of %zu decisions differ from logon-expect.tsv", bad, t->nrows);
	print_message("%zu decisions as logon-expect.tsv\n", t->nrows);
}

static void test_table_by_dn(void **state)
{
	run_table(*state, BY_DN);
}

static void test_table_by_entry(void **state)
{
	run_table(*state, BY_ENTRY);
}

static void test_table_by_token(void **state)
{
	run_table(*state, BY_TOKEN);
}

/* --- details of one answer --------------------------------------------------------------- */

static void test_result_details(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_req req = private_req(RCPT "/cn=room1", MBX_OPEN_USE_ADMIN_PRIVILEGE);
	struct mbx_logon_pipeline_who who = {.name = "ivan@contoso.com", .dn = IVAN_DN};
	struct outcome o;

	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecNone);
	assert_int_equal(o.d.kind, MBX_LOGON_RESP_PRIVATE);
	assert_true(o.looked_up);
	assert_int_equal(o.mstatus, MBX_DIR_FOUND);
	assert_false(o.cached);
	assert_false(o.stale);
	assert_int_equal(o.state, MBX_MAILBOX_NORMAL);
	assert_true(o.principal_needed);
	assert_int_equal(o.pstatus, MBX_DIR_FOUND);
	assert_true(o.has_token);
	assert_true(o.has_authz);
	assert_int_equal(o.via, MBX_AUTHZ_VIA_FULL_ACCESS);
	assert_false(o.d.owner);
	assert_string_equal(o.mbx_legacy, RCPT "/cn=room1");
	/* The second time from the cache. */
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecNone);
	assert_true(o.cached);
	/* A state that does not need the principal says so. */
	req = private_req(RCPT "/cn=dave", 0);
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecWrongServer);
	assert_string_equal(o.d.server, SERVER2_LEG);
	assert_int_equal(o.d.kind, MBX_LOGON_RESP_REDIRECT);
	assert_false(o.principal_needed);
	assert_false(o.has_authz);
	assert_int_equal(o.state, MBX_MAILBOX_MOVED_SAME_FOREST);
}

/* Public logons and private ones without USE_PER_MDB_REPLID_MAPPING ask nothing. */
static void test_request_alone_no_lookup(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_req req = {
	        .logon_flags = 0, .open_flags = MBX_OPEN_PUBLIC, .essdn = RCPT "/cn=alice"};
	struct mbx_logon_pipeline_who who = {.name = "alice", .dn = ALICE_DN};
	struct outcome o;

	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecNone);
	assert_int_equal(o.d.kind, MBX_LOGON_RESP_PUBLIC);
	assert_false(o.looked_up);
	req.logon_flags = MBX_LOGON_PRIVATE;
	req.open_flags = 0;
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecInvalidParameter);
	assert_false(o.looked_up);
	assert_int_equal(fx->pd[0]->lookups, 0);
	/* No Essdn on a private logon: unknown, without a lookup either. */
	req = private_req("", 0);
	req.essdn_size = 0;
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecUnknownUser);
	assert_int_equal(o.state, MBX_MAILBOX_UNKNOWN);
	assert_int_equal(fx->pd[0]->lookups, 0);
	/* essdn NULL is taken as "" */
	req.essdn = NULL;
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecUnknownUser);
}

/* The Essdn is copied: the caller's buffer may go away before the answer. */
static void test_essdn_copied(void **state)
{
	struct fx *fx = *state;
	char buf[256];
	struct mbx_logon_req req;
	struct mbx_logon_pipeline_who who = {.name = "carol", .dn = CAROL_DN};
	struct outcome o = {0};

	snprintf(buf, sizeof(buf), "%s", RCPT "/cn=carol");
	req = private_req(buf, 0);
	start(fx->pl[0], &req, &who, &o);
	memset(buf, 'x', sizeof(buf) - 1);
	fx_run(fx);
	assert_int_equal(o.calls, 1);
	assert_ec(&o, ecMailboxInTransit);
	assert_string_equal(o.mbx_legacy, RCPT "/cn=carol");
}

/* Two logons for one mailbox share one fetch. */
static void test_coalesced(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_req req = private_req(RCPT "/cn=alice", 0);
	struct mbx_logon_pipeline_who who = {.name = "alice", .dn = ALICE_DN};
	struct outcome a = {0}, b = {0};
	struct mbx_mailbox_table_stats st;

	start(fx->pl[0], &req, &who, &a);
	start(fx->pl[0], &req, &who, &b);
	assert_int_equal(mbx_logon_pipeline_pending(fx->pl[0]), 2);
	fx_run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_ec(&a, ecNone);
	assert_ec(&b, ecNone);
	mbx_mailbox_table_stats(fx->table[0], &st);
	assert_int_equal(st.fetches, 1);
	assert_int_equal(st.coalesced, 1);
}

/* --- directory failures (seed 004) ------------------------------------------------------- */

static void test_directory_down(void **state)
{
	struct fx *fx = *state;
	struct mbx_principal *alice_tok = fetch_token(fx, 0, ALICE_DN);
	struct mbx_logon_pipeline_who tok = {.name = "alice", .token = alice_tok};
	struct mbx_logon_pipeline_who bydn = {.name = "alice", .dn = ALICE_DN};
	static const char *const cached[] = {"alice", "carol", "dave", "frank", "gina", "erin"};
	struct mbx_logon_req req;
	struct outcome o;
	char essdn[512];

	assert_non_null(alice_tok);
	/* Fill the cache (and one negative entry). */
	for (size_t i = 0; i < sizeof(cached) / sizeof(cached[0]); i++) {
		snprintf(essdn, sizeof(essdn), RCPT "/cn=%s", cached[i]);
		req = private_req(essdn, 0);
		logon(fx, 0, &req, &tok, &o);
		assert_false(o.stale);
	}
	req = private_req(RCPT "/cn=nobody", 0);
	logon(fx, 0, &req, &tok, &o);
	assert_ec(&o, ecUnknownUser);
	/* Past the TTL and the negative TTL; the directory goes down. */
	fx->now += 120000;
	fx->pd[0]->down = true;

	req = private_req(RCPT "/cn=alice", 0);
	logon(fx, 0, &req, &tok, &o);
	assert_ec(&o, ecNone); /* stale, with the session's token */
	assert_true(o.stale);
	assert_int_equal(o.mstatus, MBX_DIR_TEMPFAIL);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecNetworkError); /* the token cannot be read */
	assert_string_equal(o.d.detail, "principal lookup: proxy: server down");
	assert_true(o.stale);
	assert_int_equal(o.pstatus, MBX_DIR_TEMPFAIL);
	assert_int_equal(o.state, MBX_MAILBOX_DIR_UNREACHABLE);
	assert_int_equal(o.d.nevents, 0);
	/* States that need no principal are answered from the stale snapshot. */
	req = private_req(RCPT "/cn=carol", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecMailboxInTransit);
	assert_true(o.stale);
	assert_false(o.principal_needed);
	req = private_req(RCPT "/cn=dave", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecWrongServer);
	assert_string_equal(o.d.server, SERVER2_LEG);
	req = private_req(RCPT "/cn=frank", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecUnknownUser); /* a contact: the stale snapshot says so */
	assert_true(o.stale);
	req = private_req(RCPT "/cn=gina", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecLoginFailure);
	req = private_req(RCPT "/cn=erin", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecUnknownUser); /* moved to Fabrikam, as cached */
	assert_true(o.stale);
	/* Nothing cached: ecNetworkError, never ecUnknownUser. */
	static const char *const uncached[] = {"bob",   "ivan",   "henry",
	                                       "room1", "nobody", "never-heard-of"};
	for (size_t i = 0; i < sizeof(uncached) / sizeof(uncached[0]); i++) {
		snprintf(essdn, sizeof(essdn), RCPT "/cn=%s", uncached[i]);
		req = private_req(essdn, 0);
		logon(fx, 0, &req, &tok, &o);
		if (o.d.ec != ecNetworkError)
			fail_msg("%s while the directory is down: %s (%s)", uncached[i],
			         ecname(o.d.ec), o.d.reason);
		assert_int_equal(o.state, MBX_MAILBOX_DIR_UNREACHABLE);
		assert_false(o.stale);
		assert_int_equal(o.d.nevents, 0);
		assert_string_equal(o.d.detail, "mailbox lookup: proxy: server down");
	}
	/* Too old to be served: ecNetworkError too. */
	fx->now += 3600000;
	req = private_req(RCPT "/cn=alice", 0);
	logon(fx, 0, &req, &tok, &o);
	assert_ec(&o, ecNetworkError);
	assert_false(o.stale);
	/* Back: fresh answers. */
	fx->pd[0]->down = false;
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecNone);
	assert_false(o.stale);
	mbx_principal_free(&alice_tok);
}

/* The mailbox is fine, the principal's lookups fail. */
static void test_principal_failures(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who bydn = {.name = "ivan", .dn = IVAN_DN};
	struct mbx_logon_req req = private_req(RCPT "/cn=ivan", 0);
	struct outcome o;

	fx->pd[0]->fail[MBX_DIR_BY_MEMBER] = MBX_DIR_TEMPFAIL;
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecNetworkError);
	assert_int_equal(o.pstatus, MBX_DIR_TEMPFAIL);
	assert_int_equal(o.d.nevents, 0);
	/* Not needed for a redirect. */
	req = private_req(RCPT "/cn=dave", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecWrongServer);
	/* An error in the principal's data: ecLoginFailure and the logon-failure event. */
	fx->pd[0]->fail[MBX_DIR_BY_MEMBER] = MBX_DIR_ERROR;
	req = private_req(RCPT "/cn=ivan", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecLoginFailure);
	assert_int_equal(o.state, MBX_MAILBOX_DIR_ERROR);
	assert_int_equal(o.d.nevents, 1);
	assert_int_equal(o.d.events[0], MBX_EV_LOGON_FAILURE);
	assert_int_equal(o.logged[0], MBX_EV_LOGON_FAILURE);
	assert_string_equal(o.d.detail, "principal lookup: proxy: error");
	assert_non_null(strstr(logcap.last, "principal lookup: proxy: error"));
	/* A principal that is not in the directory: no rights, not unknown. */
	fx->pd[0]->fail[MBX_DIR_BY_MEMBER] = MBX_DIR_FOUND;
	bydn.dn = "cn=Gone,cn=Users,dc=contoso,dc=com";
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecProfileNotConfigured);
	assert_int_equal(o.pstatus, MBX_DIR_NOT_FOUND);
	assert_true(o.has_authz);
	req = private_req(RCPT "/cn=ivan", MBX_OPEN_USE_ADMIN_PRIVILEGE);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecAccessDenied);
	/* A mailbox lookup that fails with ERROR: ecLoginFailure + 1022, not unknown. */
	fx->pd[0]->fail[MBX_DIR_BY_LEGACYDN] = MBX_DIR_ERROR;
	req = private_req(RCPT "/cn=henry", 0);
	logon(fx, 0, &req, &bydn, &o);
	assert_ec(&o, ecLoginFailure);
	assert_int_equal(o.mstatus, MBX_DIR_ERROR);
	assert_int_equal(o.d.events[0], MBX_EV_LOGON_FAILURE);
}

/* A change made through the directory reaches the table at once (ldif: its own modify). */
static void mod_cb(void *ctx, const struct mbx_dir_result *res)
{
	*(enum mbx_dir_status *)ctx = res->status;
}

static void modify_alice(struct fx *fx, const char *status)
{
	struct mbx_dir_value v = {(uint8_t *)(uintptr_t)status,
	                          status != NULL ? strlen(status) : 0};
	struct mbx_dir_mod m = {status != NULL ? MBX_DIR_MOD_REPLACE : MBX_DIR_MOD_DELETE,
	                        "msExchMailboxMoveStatus", status != NULL ? &v : NULL,
	                        status != NULL ? 1 : 0};
	enum mbx_dir_status st = MBX_DIR_ERROR;

	assert_non_null(mbx_dir_modify(fx->pd[0]->inner, ALICE_DN, &m, 1, mod_cb, &st));
	fx_run(fx);
	assert_int_equal(st, MBX_DIR_FOUND);
}

static void test_change_reaches_table(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "alice", .dn = ALICE_DN};
	struct mbx_logon_req req = private_req(RCPT "/cn=alice", 0);
	struct outcome o;

	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecNone);
	logon(fx, 0, &req, &who, &o);
	assert_true(o.cached);
	modify_alice(fx, "2");
	logon(fx, 0, &req, &who, &o); /* TTL is a minute: only the change tells */
	assert_ec(&o, ecMailboxInTransit);
	assert_false(o.cached);
	assert_int_equal(o.d.events[0], MBX_EV_LOGON_IN_TRANSIT);
	modify_alice(fx, NULL);
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecNone);
}

/* MS-OXCSTOR 3.2.5.1.3: the sixth logon within 10 s to a mailbox that is elsewhere. */
static void test_limiter(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "alice@contoso.com", .dn = ALICE_DN};
	struct mbx_logon_req req = private_req(RCPT "/cn=dave", 0);
	struct outcome o;

	fx->lim_step = false;
	for (int i = 0; i < MBX_LOGON_LIMIT_ATTEMPTS; i++) {
		fx->lim_now += 100;
		logon(fx, 0, &req, &who, &o);
		assert_ec(&o, ecWrongServer);
	}
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecServerPaused);
	/* Another principal is not paused; the same one is again after the window. */
	who.name = "bob@contoso.com";
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecWrongServer);
	who.name = "alice@contoso.com";
	fx->lim_now += MBX_LOGON_LIMIT_WINDOW_MS + 1;
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecWrongServer);
	/* A mailbox hosted here is never paused. */
	req = private_req(RCPT "/cn=alice", 0);
	for (int i = 0; i < 10; i++) {
		logon(fx, 0, &req, &who, &o);
		assert_ec(&o, ecNone);
	}
}

/* --- cancel, free, re-entrancy ----------------------------------------------------------- */

static void test_cancel(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "ivan", .dn = IVAN_DN};
	struct mbx_logon_req req = private_req(RCPT "/cn=ivan", 0);
	struct mbx_logon_req pub = {.logon_flags = 0, .essdn = ""};
	struct mbx_logon_pipeline_req *r;
	struct outcome o = {0};

	/* While the mailbox is being fetched. */
	r = start(fx->pl[0], &req, &who, &o);
	mbx_logon_pipeline_cancel(r);
	assert_int_equal(mbx_logon_pipeline_pending(fx->pl[0]), 0);
	fx_run(fx);
	assert_int_equal(o.calls, 0);
	assert_int_equal(fx->pd[0]->pending, 0);
	/* While the principal's groups are being read (the mailbox is in). */
	fx->pd[0]->hold[MBX_DIR_BY_MEMBER] = true;
	r = start(fx->pl[0], &req, &who, &o);
	fx_run(fx);
	assert_int_equal(o.calls, 0);
	assert_true(fx->pd[0]->pending > 0);
	mbx_logon_pipeline_cancel(r);
	assert_int_equal(fx->pd[0]->pending, 0); /* the principal lookup went with it */
	fx_run(fx);
	assert_int_equal(o.calls, 0);
	/* A state that does not need the principal: answered without waiting for it. */
	req = private_req(RCPT "/cn=carol", 0);
	start(fx->pl[0], &req, &who, &o);
	fx_run(fx);
	assert_int_equal(o.calls, 1);
	assert_ec(&o, ecMailboxInTransit);
	assert_int_equal(fx->pd[0]->pending, 0);
	proxy_release(fx->pd[0], MBX_DIR_BY_MEMBER);
	/* Answered from the request alone, cancelled before the loop ran. */
	memset(&o, 0, sizeof(o));
	r = start(fx->pl[0], &pub, &who, &o);
	mbx_logon_pipeline_cancel(r);
	fx_run(fx);
	assert_int_equal(o.calls, 0);
	mbx_logon_pipeline_cancel(NULL);
}

static void test_free_pending(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "ivan", .dn = IVAN_DN};
	struct mbx_logon_req req = private_req(RCPT "/cn=ivan", 0);
	struct mbx_logon_req pub = {.logon_flags = 0, .essdn = ""};
	struct outcome a = {0}, b = {0}, c = {0};

	fx->pd[0]->hold[MBX_DIR_BY_MEMBER] = true;
	start(fx->pl[0], &req, &who, &a);
	fx_run(fx);                       /* a waits for the principal */
	start(fx->pl[0], &req, &who, &b); /* b waits for the mailbox */
	start(fx->pl[0], &pub, &who, &c); /* c is on the ready list */
	assert_int_equal(mbx_logon_pipeline_pending(fx->pl[0]), 3);
	mbx_logon_pipeline_free(&fx->pl[0]);
	assert_null(fx->pl[0]);
	fx_run(fx);
	assert_int_equal(a.calls + b.calls + c.calls, 0);
	assert_int_equal(fx->pd[0]->pending, 0);
	mbx_logon_pipeline_free(NULL);
}

/* A callback starts another request and cancels one that is due in the same round. */
static void test_reentrant_callbacks(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "x"};
	struct mbx_logon_req pub = {.logon_flags = 0, .essdn = ""};
	struct outcome a = {0}, b = {0}, c = {0};
	struct mbx_logon_pipeline_req *rb;

	start(fx->pl[0], &pub, &who, &a);
	rb = start(fx->pl[0], &pub, &who, &b);
	a.cancel_me = rb;
	a.start_pl = fx->pl[0];
	a.started = &c;
	fx_run(fx);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(mbx_logon_pipeline_pending(fx->pl[0]), 0);
}

static void test_bad_args(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_config cfg = {0};
	struct mbx_logon_req req = private_req(RCPT "/cn=alice", 0);
	struct mbx_logon_pipeline_who who = {0};
	struct outcome o = {0};

	assert_null(mbx_logon_pipeline_new(NULL));
	assert_null(mbx_logon_pipeline_new(&cfg));
	cfg.table = fx->table[0];
	assert_null(mbx_logon_pipeline_new(&cfg));
	cfg.id = &lx_identities[0].id;
	assert_null(mbx_logon_pipeline_new(&cfg)); /* no deferral */
	assert_null(mbx_logon_pipeline_start(NULL, &req, &who, outcome_cb, &o));
	assert_null(mbx_logon_pipeline_start(fx->pl[0], NULL, &who, outcome_cb, &o));
	assert_null(mbx_logon_pipeline_start(fx->pl[0], &req, NULL, outcome_cb, &o));
	assert_null(mbx_logon_pipeline_start(fx->pl[0], &req, &who, NULL, &o));
	assert_int_equal(mbx_logon_pipeline_pending(NULL), 0);
	/* No resolver: a principal by DN is an error, a token is fine. */
	mbx_dir_defer_init(&cfg.defer, fx->base);
	{
		struct mbx_logon_pipeline *pl = mbx_logon_pipeline_new(&cfg);
		struct mbx_logon_pipeline_who bydn = {.name = "alice", .dn = ALICE_DN};
		struct mbx_principal *tok = fetch_token(fx, 0, ALICE_DN);
		struct mbx_logon_pipeline_who bytok = {.name = "alice", .token = tok};

		assert_non_null(pl);
		starting = true;
		assert_non_null(mbx_logon_pipeline_start(pl, &req, &bydn, outcome_cb, &o));
		starting = false;
		fx_run(fx);
		assert_int_equal(o.calls, 1);
		assert_ec(&o, ecLoginFailure);
		memset(&o, 0, sizeof(o));
		starting = true;
		assert_non_null(mbx_logon_pipeline_start(pl, &req, &bytok, outcome_cb, &o));
		starting = false;
		fx_run(fx);
		assert_int_equal(o.calls, 1);
		assert_ec(&o, ecNone);
		mbx_logon_pipeline_free(&pl);
		mbx_principal_free(&tok);
	}
}

/* Log lines name the mailbox escaped; the trace line too. */
static void test_log_lines(void **state)
{
	struct fx *fx = *state;
	struct mbx_logon_pipeline_who who = {.name = "gina\x01@contoso.com",
	                                     .dn = "cn=Gina Gray," USERS};
	struct mbx_logon_req req = private_req(RCPT "/cn=gina", 0);
	struct outcome o;

	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecLoginFailure);
	assert_int_equal(o.nlogged, 2);
	assert_int_equal(o.logged[0], MBX_EV_NO_MASTER_ACCOUNT_SID);
	assert_int_equal(o.logged[1], MBX_EV_LOGON_FAILURE);
	assert_non_null(strstr(logcap.last, "cn=gina"));
	assert_non_null(strstr(logcap.last, "gina\\x01@contoso.com"));
	assert_null(strchr(logcap.last, '\x01'));
	mbx_log_set_trace(MBX_TRACE_STORE, true);
	mbx_log_set_level(MBX_LOG_DEBUG);
	logcap.trace_seen = false;
	req = private_req(RCPT "/cn=al\x01ice", 0);
	logon(fx, 0, &req, &who, &o);
	assert_ec(&o, ecUnknownUser);
	assert_true(logcap.trace_seen);
	assert_non_null(strstr(logcap.trace, "cn=al\\x01ice"));
	assert_non_null(strstr(logcap.trace, "ecUnknownUser"));
	assert_null(strchr(logcap.trace, '\x01'));
	mbx_log_set_level(MBX_LOG_INFO);
}

/* --- the deferral ------------------------------------------------------------------------ */

struct dcount {
	int n;
	void *self;
	bool destroy_self, again;
	const struct mbx_defer *d;
};

static void dcount_fn(void *arg)
{
	struct dcount *c = arg;

	c->n++;
	if (c->again) {
		c->again = false;
		c->d->ops->schedule(c->self);
	}
	if (c->destroy_self) {
		c->d->ops->destroy(c->self);
		c->self = NULL;
	}
}

static void test_defer(void **state)
{
	struct fx *fx = *state;
	struct mbx_defer d;
	struct dcount c = {0};
	void *h;

	mbx_dir_defer_init(&d, fx->base);
	assert_ptr_equal(d.ops, &mbx_dir_defer_ops);
	assert_ptr_equal(d.loop, fx->base);
	assert_null(d.ops->create(NULL, dcount_fn, &c));
	assert_null(d.ops->create(fx->base, NULL, &c));
	c.d = &d;
	h = c.self = d.ops->create(fx->base, dcount_fn, &c);
	assert_non_null(h);
	assert_false(mbx_dir_defer_pending(h));
	/* twice before it runs: once */
	d.ops->schedule(h);
	d.ops->schedule(h);
	assert_true(mbx_dir_defer_pending(h));
	assert_int_equal(c.n, 0);
	fx_run(fx);
	assert_int_equal(c.n, 1);
	assert_false(mbx_dir_defer_pending(h));
	/* cancelled, then scheduled again */
	d.ops->schedule(h);
	mbx_dir_defer_cancel(h);
	assert_false(mbx_dir_defer_pending(h));
	fx_run(fx);
	assert_int_equal(c.n, 1);
	d.ops->schedule(h);
	fx_run(fx);
	assert_int_equal(c.n, 2);
	/* rescheduled from its own function: runs again */
	c.again = true;
	d.ops->schedule(h);
	fx_run(fx);
	assert_int_equal(c.n, 4);
	/* destroyed while scheduled: never runs */
	d.ops->schedule(h);
	d.ops->destroy(h);
	fx_run(fx);
	assert_int_equal(c.n, 4);
	/* destroyed from its own function */
	c.self = d.ops->create(fx->base, dcount_fn, &c);
	assert_non_null(c.self);
	c.destroy_self = true;
	d.ops->schedule(c.self);
	fx_run(fx);
	assert_int_equal(c.n, 5);
	assert_null(c.self);
	d.ops->destroy(NULL);
	mbx_dir_defer_cancel(NULL);
	d.ops->schedule(NULL);
	assert_false(mbx_dir_defer_pending(NULL));
}

static int group_setup(void **state)
{
	(void)state;
	mbx_log_open_stderr("test-logon-pipeline");
	mbx_log_set_level(MBX_LOG_INFO);
	/* The table is loaded once, outside the tests, so that a bad line fails loudly. */
	lx_load(&table_data);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_table_by_dn),
	        T(test_table_by_entry),
	        T(test_table_by_token),
	        T(test_result_details),
	        T(test_request_alone_no_lookup),
	        T(test_essdn_copied),
	        T(test_coalesced),
	        T(test_directory_down),
	        T(test_principal_failures),
	        T(test_change_reaches_table),
	        T(test_limiter),
	        T(test_cancel),
	        T(test_free_pending),
	        T(test_reentrant_callbacks),
	        T(test_bad_args),
	        T(test_log_lines),
	        T(test_defer),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
