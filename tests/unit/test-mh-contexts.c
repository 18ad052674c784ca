/*
 * test-mh-contexts.c: the session contexts of the MAPI/HTTP front end (src/mapihttp/
 * mh-contexts.c; [MS-OXCMAPIHTTP] 3.2.1, example 4.2, protocol.md 5.3): cookie values, the
 * X-ResponseCode of every way a request's cookies can be wrong (6, 10, 11, 13, 15), sequence
 * rotation and one Execute at a time, one held NotificationWait at a time, bounds per user
 * and in all, idle expiry on a real libevent loop (milliseconds here), the gone callback.
 * Contexts here hold no session (NULL): drop_mailbox with real sessions is in
 * test-mapihttp-server.c.
 */
#include "mbx-test.h"

#include <stdbool.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "mapihttp/mh-frontend-int.h"
#include "mbx/mapihttp.h"

#define ALICE "cn=Alice Anders,cn=Users,dc=contoso,dc=com"
#define BOB "cn=Bob Brown,cn=Users,dc=contoso,dc=com"

struct fx {
	struct event_base *base;
	struct mbx_mh_ctxs *t;
	unsigned gone[4];
	struct mbx_mh_ctx *last_gone;
	void *gone_busy, *gone_waiter;
};

static void gone_cb(void *arg, struct mbx_mh_ctx *ctx, enum mbx_mh_ctx_gone why)
{
	struct fx *fx = arg;

	assert_true((unsigned)why < 4);
	fx->gone[why]++;
	fx->last_gone = ctx;
	fx->gone_busy = ctx->busy;
	fx->gone_waiter = ctx->waiter;
}

static struct fx *fx_new(unsigned max, unsigned per_user, uint64_t idle_ms)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct mbx_mh_ctxs_config cc = {0};

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	cc.base = fx->base;
	cc.max_contexts = max;
	cc.max_per_user = per_user;
	cc.idle_ms = idle_ms;
	cc.gone = gone_cb;
	cc.gone_arg = fx;
	fx->t = mbx_mh_ctxs_new(&cc);
	assert_non_null(fx->t);
	return fx;
}

static void fx_free(struct fx *fx)
{
	mbx_mh_ctxs_free(&fx->t);
	assert_null(fx->t);
	event_base_free(fx->base);
	free(fx);
}

/* Runs the loop for about ms milliseconds. */
static void run_ms(struct fx *fx, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static struct mbx_mh_ctx *mk(struct fx *fx, const char *owner)
{
	struct mbx_mh_ctx *c = NULL;

	assert_int_equal(mbx_mh_ctx_create(fx->t, owner, "name", NULL, &c), MBX_MH_CTX_OK);
	assert_non_null(c);
	return c;
}

/* Finds with one Cookie header built from printf. */
static uint32_t find1(struct fx *fx, const char *owner, enum mbx_mh_ctx_need need,
                      struct mbx_mh_ctx **c_r, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static uint32_t find1(struct fx *fx, const char *owner, enum mbx_mh_ctx_need need,
                      struct mbx_mh_ctx **c_r, const char *fmt, ...)
{
	char hdr[1024];
	const char *cookies[1] = {hdr};
	const char *why = NULL;
	struct mbx_mh_ctx *c = NULL;
	va_list ap;
	uint32_t rc;

	va_start(ap, fmt);
	vsnprintf(hdr, sizeof(hdr), fmt, ap);
	va_end(ap);
	rc = mbx_mh_ctx_find(fx->t, cookies, 1, owner, need, &c, &why);
	if (rc != 0)
		assert_non_null(why);
	else
		assert_null(why);
	if (c_r != NULL)
		*c_r = c;
	return rc;
}

/* ---- cookie values ------------------------------------------------------------------------ */

static void test_random_value(void **state)
{
	char a[MBX_MH_CTX_COOKIE_LEN + 1], b[MBX_MH_CTX_COOKIE_LEN + 1];
	char s[MBX_MH_CTX_SEQ_LEN + 1], small[MBX_MH_CTX_SEQ_LEN];
	const char *why;

	(void)state;
	assert_int_equal(mbx_mh_ctx_random_value(a, sizeof(a), MBX_MH_CTX_COOKIE_BYTES), 0);
	assert_int_equal(mbx_mh_ctx_random_value(b, sizeof(b), MBX_MH_CTX_COOKIE_BYTES), 0);
	assert_int_equal(strlen(a), MBX_MH_CTX_COOKIE_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(mbx_mh_cookie_value_check(a, strlen(a), &why), 0);
	for (size_t i = 0; a[i] != '\0'; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                       "0123456789-_",
		                       a[i]));
	assert_int_equal(mbx_mh_ctx_random_value(s, sizeof(s), MBX_MH_CTX_SEQ_BYTES), 0);
	assert_int_equal(strlen(s), MBX_MH_CTX_SEQ_LEN);
	assert_int_equal(mbx_mh_cookie_value_check(s, strlen(s), &why), 0);
	/* one byte short of room, zero bytes, too many bytes */
	assert_int_equal(mbx_mh_ctx_random_value(small, sizeof(small), MBX_MH_CTX_SEQ_BYTES), -1);
	assert_string_equal(small, "");
	assert_int_equal(mbx_mh_ctx_random_value(s, sizeof(s), 0), -1);
	assert_int_equal(mbx_mh_ctx_random_value(a, sizeof(a), 65), -1);
	/* 1 byte: 2 characters, 2 bytes: 3, 3 bytes: 4 */
	assert_int_equal(mbx_mh_ctx_random_value(s, sizeof(s), 1), 0);
	assert_int_equal(strlen(s), 2);
	assert_int_equal(mbx_mh_ctx_random_value(s, sizeof(s), 2), 0);
	assert_int_equal(strlen(s), 3);
	assert_int_equal(mbx_mh_ctx_random_value(s, sizeof(s), 3), 0);
	assert_int_equal(strlen(s), 4);
}

static void test_gone_names(void **state)
{
	(void)state;
	assert_string_equal(mbx_mh_ctx_gone_name(MBX_MH_CTX_GONE_IDLE), "idle");
	assert_string_equal(mbx_mh_ctx_gone_name(MBX_MH_CTX_GONE_DISCONNECT), "disconnect");
	assert_string_equal(mbx_mh_ctx_gone_name(MBX_MH_CTX_GONE_DROPPED), "mailbox dropped");
	assert_string_equal(mbx_mh_ctx_gone_name(MBX_MH_CTX_GONE_SHUTDOWN), "shutdown");
	assert_string_equal(mbx_mh_ctx_gone_name((enum mbx_mh_ctx_gone)9), "unknown");
}

/* ---- the table ---------------------------------------------------------------------------- */

static void test_new_args(void **state)
{
	struct mbx_mh_ctxs_config cc = {0};

	(void)state;
	assert_null(mbx_mh_ctxs_new(NULL));
	assert_null(mbx_mh_ctxs_new(&cc)); /* no base */
	mbx_mh_ctxs_free(NULL);
	assert_int_equal(mbx_mh_ctxs_count(NULL), 0);
	assert_int_equal(mbx_mh_ctxs_owner_count(NULL, ALICE), 0);
	assert_int_equal(mbx_mh_ctxs_drop_mailbox(NULL, "/o=x"), 0);
	mbx_mh_ctx_destroy(NULL, MBX_MH_CTX_GONE_IDLE);
}

static void test_create_lookup(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	struct mbx_mh_ctx *a, *b, *c;
	const char *why;

	(void)state;
	a = mk(fx, ALICE);
	b = mk(fx, ALICE);
	c = mk(fx, BOB);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 3);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, ALICE), 2);
	/* owners compare case-insensitively, as DNs do */
	assert_int_equal(
	        mbx_mh_ctxs_owner_count(fx->t, "CN=alice anders,CN=Users,DC=contoso,DC=com"), 2);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, BOB), 1);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, "cn=nobody"), 0);
	assert_string_not_equal(a->cookie, b->cookie);
	assert_string_not_equal(a->sequence, b->sequence);
	assert_int_equal(strlen(a->cookie), MBX_MH_CTX_COOKIE_LEN);
	assert_int_equal(strlen(a->sequence), MBX_MH_CTX_SEQ_LEN);
	assert_int_equal(mbx_mh_cookie_value_check(a->cookie, strlen(a->cookie), &why), 0);
	assert_string_equal(a->owner_dn, ALICE);
	assert_string_equal(a->owner_name, "name");
	assert_ptr_equal(mbx_mh_ctx_lookup(fx->t, a->cookie, strlen(a->cookie)), a);
	assert_ptr_equal(mbx_mh_ctx_lookup(fx->t, c->cookie, strlen(c->cookie)), c);
	/* a prefix, a longer value, NULL */
	assert_null(mbx_mh_ctx_lookup(fx->t, a->cookie, strlen(a->cookie) - 1));
	assert_null(mbx_mh_ctx_lookup(fx->t, a->cookie, strlen(a->cookie) + 1));
	assert_null(mbx_mh_ctx_lookup(fx->t, NULL, 0));
	assert_int_equal(mbx_mh_ctx_create(fx->t, NULL, NULL, NULL, &c), MBX_MH_CTX_ERROR);
	assert_null(c);
	/* NULL name: the DN stands for it */
	c = NULL;
	assert_int_equal(mbx_mh_ctx_create(fx->t, "cn=Carol", NULL, NULL, &c), MBX_MH_CTX_OK);
	assert_string_equal(c->owner_name, "cn=Carol");
	mbx_mh_ctx_destroy(&b, MBX_MH_CTX_GONE_DISCONNECT);
	assert_null(b);
	assert_int_equal(fx->gone[MBX_MH_CTX_GONE_DISCONNECT], 1);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 3);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, ALICE), 1);
	fx_free(fx);
}

/* Many contexts: the hash tables grow and every one is still found. */
static void test_many(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	enum { N = 700 };
	struct mbx_mh_ctx **cs = calloc(N, sizeof(*cs));
	char owner[64];

	(void)state;
	assert_non_null(cs);
	for (int i = 0; i < N; i++) {
		snprintf(owner, sizeof(owner), "cn=user%d", i % 150);
		assert_int_equal(mbx_mh_ctx_create(fx->t, owner, NULL, NULL, &cs[i]),
		                 MBX_MH_CTX_OK);
	}
	assert_int_equal(mbx_mh_ctxs_count(fx->t), N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(mbx_mh_ctx_lookup(fx->t, cs[i]->cookie, strlen(cs[i]->cookie)),
		                 cs[i]);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, "cn=user7"), 5);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, "cn=user149"), 4);
	for (int i = 0; i < N; i += 2)
		mbx_mh_ctx_destroy(&cs[i], MBX_MH_CTX_GONE_DISCONNECT);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), N / 2);
	for (int i = 1; i < N; i += 2)
		assert_ptr_equal(mbx_mh_ctx_lookup(fx->t, cs[i]->cookie, strlen(cs[i]->cookie)),
		                 cs[i]);
	free(cs);
	fx_free(fx);
	/* the rest went with gone SHUTDOWN, without leaks (ASan) */
}

static void test_bounds(void **state)
{
	struct fx *fx = fx_new(5, 2, 0);
	struct mbx_mh_ctx *c, *a1, *a2;

	(void)state;
	/* per user: 0, 1, max (2), max + 1 */
	assert_int_equal(mbx_mh_ctxs_room(fx->t, ALICE), MBX_MH_CTX_OK);
	a1 = mk(fx, ALICE);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, ALICE), MBX_MH_CTX_OK);
	a2 = mk(fx, ALICE);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, ALICE), MBX_MH_CTX_USER_FULL);
	c = (struct mbx_mh_ctx *)1;
	assert_int_equal(mbx_mh_ctx_create(fx->t, ALICE, NULL, NULL, &c), MBX_MH_CTX_USER_FULL);
	assert_null(c);
	assert_int_equal(mbx_mh_ctx_create(fx->t, "CN=ALICE ANDERS,cn=users,dc=contoso,dc=com",
	                                   NULL, NULL, &c),
	                 MBX_MH_CTX_USER_FULL);
	/* another user still fits; in all: 5 */
	mk(fx, BOB);
	mk(fx, BOB);
	mk(fx, "cn=Carol");
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 5);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, "cn=Dave"), MBX_MH_CTX_FULL);
	assert_int_equal(mbx_mh_ctx_create(fx->t, "cn=Dave", NULL, NULL, &c), MBX_MH_CTX_FULL);
	/* one goes: room again */
	mbx_mh_ctx_destroy(&a1, MBX_MH_CTX_GONE_DISCONNECT);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, "cn=Dave"), MBX_MH_CTX_OK);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, ALICE), MBX_MH_CTX_OK);
	/* reconfigured: lower bounds apply to new contexts only; 0 = no bound */
	mbx_mh_ctxs_reconfigure(fx->t, 0, 1, 0);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, ALICE), MBX_MH_CTX_USER_FULL);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, "cn=Dave"), MBX_MH_CTX_OK);
	mbx_mh_ctxs_reconfigure(fx->t, 0, 0, 0);
	assert_int_equal(mbx_mh_ctxs_room(fx->t, BOB), MBX_MH_CTX_OK);
	assert_ptr_equal(mbx_mh_ctx_lookup(fx->t, a2->cookie, strlen(a2->cookie)), a2);
	fx_free(fx);
	/* every context left went with SHUTDOWN */
}

/* ---- finding a request's context ---------------------------------------------------------- */

static void test_find_codes(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	struct mbx_mh_ctx *a = mk(fx, ALICE), *c;
	char bad[MBX_MH_COOKIE_VALUE_MAX + 2];

	(void)state;
	/* right cookies: every need */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=%s",
	                       a->cookie, a->sequence),
	                 MBX_MH_RC_SUCCESS);
	assert_ptr_equal(c, a);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", a->cookie),
	                 MBX_MH_RC_SUCCESS);
	assert_ptr_equal(c, a);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_NONE, &c, "MapiContext=%s", a->cookie),
	                 MBX_MH_RC_SUCCESS);
	assert_ptr_equal(c, a);
	/* the owner test is case-insensitive like DNs */
	assert_int_equal(find1(fx, "CN=ALICE ANDERS,CN=USERS,DC=CONTOSO,DC=COM",
	                       MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", a->cookie),
	                 MBX_MH_RC_SUCCESS);
	/* other cookies around ours are ignored */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "X-BackEndCookie=abc; "
	                       "MapiSequence=%s;MapiContext=%s; other=1",
	                       a->sequence, a->cookie),
	                 MBX_MH_RC_SUCCESS);
	/* 13: no context cookie (no header value at all, or other cookies only) */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "other=1"),
	                 MBX_MH_RC_MISSING_COOKIE);
	assert_null(c);
	assert_int_equal(mbx_mh_ctx_find(fx->t, NULL, 0, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                                 &(const char *){NULL}),
	                 MBX_MH_RC_MISSING_COOKIE);
	/* ... which PING does not need */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_NONE, &c, "other=1"), MBX_MH_RC_SUCCESS);
	assert_null(c);
	/* 6: a malformed header, a malformed value, a value too long */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext"),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_NONE, &c, "=x"),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=a$b"),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext="),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	memset(bad, 'A', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0'; /* 129 characters */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", bad),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	/* ... and 128 is well-formed but unknown: 10 */
	bad[sizeof(bad) - 2] = '\0';
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", bad),
	                 MBX_MH_RC_CONTEXT_NOT_FOUND);
	/* named twice in one header: 6 */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c,
	                       "MapiContext=%s; "
	                       "MapiContext=%s",
	                       a->cookie, a->cookie),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	/* 10: a well-formed value never issued; the cookie of another case */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=abc"),
	                 MBX_MH_RC_CONTEXT_NOT_FOUND);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "mapicontext=%s", a->cookie),
	                 MBX_MH_RC_MISSING_COOKIE);
	/* 11: someone else's context (also for PING) */
	assert_int_equal(find1(fx, BOB, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=%s",
	                       a->cookie, a->sequence),
	                 MBX_MH_RC_NO_PRIVILEGE);
	assert_null(c);
	assert_int_equal(find1(fx, BOB, MBX_MH_CTX_NEED_NONE, &c, "MapiContext=%s", a->cookie),
	                 MBX_MH_RC_NO_PRIVILEGE);
	assert_int_equal(find1(fx, NULL, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", a->cookie),
	                 MBX_MH_RC_NO_PRIVILEGE);
	/* 13: the sequence missing for Execute; not needed for Disconnect */
	assert_int_equal(
	        find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c, "MapiContext=%s", a->cookie),
	        MBX_MH_RC_MISSING_COOKIE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT_SEQ_IF_SENT, &c, "MapiContext=%s",
	                       a->cookie),
	                 MBX_MH_RC_SUCCESS);
	assert_ptr_equal(c, a);
	/* 6: the sequence malformed */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=a b",
	                       a->cookie),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	/* 15: a wrong sequence, for Execute and for a Disconnect that sends one */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=AAAAAAAAAAAAAAAAAAAAAA",
	                       a->cookie),
	                 MBX_MH_RC_INVALID_SEQUENCE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT_SEQ_IF_SENT, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=x",
	                       a->cookie),
	                 MBX_MH_RC_INVALID_SEQUENCE);
	/* a prefix of the right sequence is wrong too */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=%.21s",
	                       a->cookie, a->sequence),
	                 MBX_MH_RC_INVALID_SEQUENCE);
	/* NotificationWait ignores the sequence */
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=x",
	                       a->cookie),
	                 MBX_MH_RC_SUCCESS);
	fx_free(fx);
}

/* The spec's example sends each cookie in a Cookie header of its own. */
static void test_find_headers(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	struct mbx_mh_ctx *a = mk(fx, ALICE), *c;
	char h1[128], h2[128], h3[128];
	const char *why;
	const char *two[2] = {h1, h2}, *three[3] = {h1, h2, h3}, *withnull[3] = {NULL, h1, h2};

	(void)state;
	snprintf(h1, sizeof(h1), "MapiContext=%s", a->cookie);
	snprintf(h2, sizeof(h2), "MapiSequence=%s", a->sequence);
	snprintf(h3, sizeof(h3), "MapiSequence=%s", a->sequence);
	assert_int_equal(mbx_mh_ctx_find(fx->t, two, 2, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c, &why),
	                 MBX_MH_RC_SUCCESS);
	assert_ptr_equal(c, a);
	assert_int_equal(
	        mbx_mh_ctx_find(fx->t, withnull, 3, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c, &why),
	        MBX_MH_RC_SUCCESS);
	/* the same cookie in two headers: 6 */
	assert_int_equal(
	        mbx_mh_ctx_find(fx->t, three, 3, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c, &why),
	        MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	assert_non_null(strstr(why, "twice"));
	/* a malformed second header spoils the lot */
	snprintf(h2, sizeof(h2), "garbage");
	assert_int_equal(mbx_mh_ctx_find(fx->t, two, 2, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, &why),
	                 MBX_MH_RC_INVALID_CONTEXT_COOKIE);
	fx_free(fx);
}

/* ---- the sequence, one request at a time --------------------------------------------------- */

static void test_claim_rotates(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	struct mbx_mh_ctx *a = mk(fx, ALICE), *c;
	char old[MBX_MH_CTX_SEQ_LEN + 1];
	int req1, req2;

	(void)state;
	snprintf(old, sizeof(old), "%s", a->sequence);
	assert_int_equal(mbx_mh_ctx_claim(a, &req1), 0);
	assert_ptr_equal(a->busy, &req1);
	assert_string_not_equal(a->sequence, old);
	assert_int_equal(strlen(a->sequence), MBX_MH_CTX_SEQ_LEN);
	/* a second Execute: busy; the old sequence is refused (15) */
	assert_int_equal(mbx_mh_ctx_claim(a, &req2), -1);
	assert_ptr_equal(a->busy, &req1);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=%s",
	                       a->cookie, old),
	                 MBX_MH_RC_INVALID_SEQUENCE);
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_SEQUENCE, &c,
	                       "MapiContext=%s; "
	                       "MapiSequence=%s",
	                       a->cookie, a->sequence),
	                 MBX_MH_RC_SUCCESS);
	/* release by someone else: nothing happens */
	mbx_mh_ctx_release(a, &req2);
	assert_ptr_equal(a->busy, &req1);
	mbx_mh_ctx_release(a, &req1);
	assert_null(a->busy);
	snprintf(old, sizeof(old), "%s", a->sequence);
	assert_int_equal(mbx_mh_ctx_claim(a, &req2), 0);
	assert_string_not_equal(a->sequence, old);
	mbx_mh_ctx_release(a, &req2);
	assert_int_equal(a->nrequests, 2);
	/* a held NotificationWait does not hold the sequence, and one at a time */
	assert_int_equal(mbx_mh_ctx_wait(a, &req1), 0);
	assert_ptr_equal(a->waiter, &req1);
	assert_int_equal(mbx_mh_ctx_wait(a, &req2), -1);
	assert_int_equal(mbx_mh_ctx_claim(a, &req2), 0);
	mbx_mh_ctx_unwait(a, &req2); /* not the waiter */
	assert_ptr_equal(a->waiter, &req1);
	mbx_mh_ctx_unwait(a, &req1);
	assert_null(a->waiter);
	/* destroyed while held: the callback sees both */
	assert_int_equal(mbx_mh_ctx_wait(a, &req1), 0);
	mbx_mh_ctx_destroy(&a, MBX_MH_CTX_GONE_DROPPED);
	assert_int_equal(fx->gone[MBX_MH_CTX_GONE_DROPPED], 1);
	assert_ptr_equal(fx->gone_busy, &req2);
	assert_ptr_equal(fx->gone_waiter, &req1);
	fx_free(fx);
}

/* ---- idle expiry -------------------------------------------------------------------------- */

static void test_idle_expiry(void **state)
{
	struct fx *fx = fx_new(0, 0, 40);
	struct mbx_mh_ctx *a = mk(fx, ALICE), *b = mk(fx, ALICE), *w = mk(fx, BOB), *c;
	char cookie[MBX_MH_CTX_COOKIE_LEN + 1];
	int req;

	(void)state;
	snprintf(cookie, sizeof(cookie), "%s", a->cookie);
	/* b is busy, w holds a NotificationWait: neither expires */
	assert_int_equal(mbx_mh_ctx_claim(b, &req), 0);
	assert_int_equal(mbx_mh_ctx_wait(w, &req), 0);
	run_ms(fx, 150);
	assert_int_equal(fx->gone[MBX_MH_CTX_GONE_IDLE], 1);
	assert_null(mbx_mh_ctx_lookup(fx->t, cookie, strlen(cookie)));
	assert_int_equal(find1(fx, ALICE, MBX_MH_CTX_NEED_CONTEXT, &c, "MapiContext=%s", cookie),
	                 MBX_MH_RC_CONTEXT_NOT_FOUND);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 2);
	assert_int_equal(mbx_mh_ctxs_owner_count(fx->t, ALICE), 1);
	/* released: the timer starts again */
	mbx_mh_ctx_release(b, &req);
	mbx_mh_ctx_unwait(w, &req);
	run_ms(fx, 150);
	assert_int_equal(fx->gone[MBX_MH_CTX_GONE_IDLE], 3);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 0);
	fx_free(fx);
}

/* PING's touch moves the deadline on (read from the timer itself: no race with the clock). */
static void test_touch_keeps_alive(void **state)
{
	struct fx *fx = fx_new(0, 0, 60000);
	struct mbx_mh_ctx *a = mk(fx, ALICE);
	struct timeval d1, d2;
	/* libevent reads CLOCK_MONOTONIC_COARSE (ticks of up to 10 ms): sleep well past one */
	struct timespec ts = {0, 30 * 1000 * 1000};
	int req;

	(void)state;
	assert_true(event_pending(a->idle_ev, EV_TIMEOUT, &d1));
	nanosleep(&ts, NULL);
	mbx_mh_ctx_touch(a);
	assert_true(event_pending(a->idle_ev, EV_TIMEOUT, &d2));
	assert_true(timercmp(&d2, &d1, >));
	assert_int_equal(a->nrequests, 1);
	/* while held, no timer; touch does not start one */
	assert_int_equal(mbx_mh_ctx_claim(a, &req), 0);
	assert_false(event_pending(a->idle_ev, EV_TIMEOUT, NULL));
	mbx_mh_ctx_touch(a);
	assert_false(event_pending(a->idle_ev, EV_TIMEOUT, NULL));
	mbx_mh_ctx_release(a, &req);
	assert_true(event_pending(a->idle_ev, EV_TIMEOUT, NULL));
	assert_int_equal(fx->gone[MBX_MH_CTX_GONE_IDLE], 0);
	fx_free(fx);
}

/* idle 0: never expires */
static void test_idle_zero(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);

	(void)state;
	mk(fx, ALICE);
	run_ms(fx, 30);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 1);
	fx_free(fx);
	/* freed: one SHUTDOWN */
}

static void test_free_shutdown(void **state)
{
	struct fx *fx = fx_new(0, 0, 1000);
	unsigned *gone;

	(void)state;
	mk(fx, ALICE);
	mk(fx, BOB);
	mk(fx, BOB);
	gone = fx->gone;
	mbx_mh_ctxs_free(&fx->t);
	assert_int_equal(gone[MBX_MH_CTX_GONE_SHUTDOWN], 3);
	event_base_free(fx->base);
	free(fx);
}

static void test_drop_without_sessions(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);

	(void)state;
	mk(fx, ALICE);
	assert_int_equal(mbx_mh_ctxs_drop_mailbox(fx->t, "/o=Contoso/cn=alice"), 0);
	assert_int_equal(mbx_mh_ctxs_drop_mailbox(fx->t, ""), 0);
	assert_int_equal(mbx_mh_ctxs_drop_mailbox(fx->t, NULL), 0);
	assert_int_equal(mbx_mh_ctxs_count(fx->t), 1);
	fx_free(fx);
}

/* mbx_mh_ctxs_foreach: every context, oldest first; busy/idle times kept. */
struct seen {
	const struct mbx_mh_ctx *ctx[8];
	size_t n;
};

static void seen_one(void *arg, const struct mbx_mh_ctx *c)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	s->ctx[s->n++] = c;
}

static void test_foreach_oldest_first(void **state)
{
	struct fx *fx = fx_new(0, 0, 0);
	struct mbx_mh_ctx *a, *b, *c;
	struct seen s = {0};
	uint64_t now = mbx_mh_ctx_now_ms();
	int x;

	(void)state;
	mbx_mh_ctxs_foreach(fx->t, seen_one, &s);
	assert_int_equal(s.n, 0);
	a = mk(fx, ALICE);
	b = mk(fx, "cn=Bob");
	c = mk(fx, ALICE);
	assert_true(a->created_ms >= now && a->last_ms == a->created_ms);
	mbx_mh_ctxs_foreach(fx->t, seen_one, &s);
	assert_int_equal(s.n, 3);
	assert_ptr_equal(s.ctx[0], a);
	assert_ptr_equal(s.ctx[1], b);
	assert_ptr_equal(s.ctx[2], c);
	/* A claimed context counts a request; its release stamps the idle start. */
	assert_int_equal(mbx_mh_ctx_claim(b, &x), 0);
	assert_int_equal(b->nrequests, 1);
	run_ms(fx, 20);
	mbx_mh_ctx_release(b, &x);
	assert_true(b->last_ms >= b->created_ms + 15);
	/* Destroying the middle one keeps the order of the others. */
	mbx_mh_ctx_destroy(&b, MBX_MH_CTX_GONE_DISCONNECT);
	s.n = 0;
	mbx_mh_ctxs_foreach(fx->t, seen_one, &s);
	assert_int_equal(s.n, 2);
	assert_ptr_equal(s.ctx[0], a);
	assert_ptr_equal(s.ctx[1], c);
	mbx_mh_ctxs_foreach(NULL, seen_one, &s); /* NULL-safe */
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_random_value),
	        cmocka_unit_test(test_gone_names),
	        cmocka_unit_test(test_new_args),
	        cmocka_unit_test(test_create_lookup),
	        cmocka_unit_test(test_many),
	        cmocka_unit_test(test_bounds),
	        cmocka_unit_test(test_find_codes),
	        cmocka_unit_test(test_find_headers),
	        cmocka_unit_test(test_claim_rotates),
	        cmocka_unit_test(test_idle_expiry),
	        cmocka_unit_test(test_touch_keeps_alive),
	        cmocka_unit_test(test_idle_zero),
	        cmocka_unit_test(test_free_shutdown),
	        cmocka_unit_test(test_drop_without_sessions),
	        cmocka_unit_test(test_foreach_oldest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
