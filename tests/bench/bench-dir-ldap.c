/*
 * bench-dir-ldap.c: lookups per second through the `ldap` directory backend (directory.h,
 * src/directory/dir-ldap*.c; design.md "Directory backends") against a real slapd, beside raw
 * asynchronous libldap searches at the same concurrency in the same process and run, so the
 * ratio of the two is the cost of the backend itself (docs/performance.md "Directory lookups
 * (ldap backend)"). No cache sits in front of the backend: every lookup is a search.
 *
 * One libevent loop, one process, one LDAP connection per phase, closed loop (a lookup that
 * completes starts the next one, so exactly N are in flight):
 *   A  mbx_dir_lookup(MBX_DIR_BY_LEGACYDN) over the sample recipients' legacyExchangeDNs
 *      (conf/directory.ldif), round robin; the backend's callback checks the entry.
 *   B  ldap_search_ext on a connection of our own with exactly what the backend sends: base
 *      DN, subtree scope, the filter mbx_ldap_filter_build() gives the backend, all user
 *      attributes (attrs NULL, as dir_ldap_req_send in dir-ldap-req.c asks), the same size
 *      and time limits; ldap_result(LDAP_MSG_ONE, zero timeout) called from a persistent
 *      EV_READ event on the LDAP socket until it has nothing more (as dir-ldap-conn.c reads),
 *      each answer starting the next search at once; every entry parsed the usual libldap
 *      way: ldap_get_dn, ldap_first/next_attribute, ldap_get_values_len for all but
 *      userPassword, and checked; the final result with ldap_parse_result. It does not copy
 *      the values into struct mbx_dir_entry. The backend parsed entries this way too until it
 *      moved to one pass over each entry (ldap_get_dn_ber and ber_first/next_element in
 *      dir_ldap_req_entry_new, dir-ldap-req.c), which costs far fewer instructions than
 *      ldap_get_values_len per attribute: since then B is the common client, not the backend's
 *      own parse, and A/B above 1 says so (docs/performance.md).
 * Each phase runs a warm-up, then T seconds (or a fixed number of lookups with --iterations,
 * for callgrind: --collect-atstart=no --toggle-collect='bench_measure_dir*' or
 * 'bench_measure_raw*'), then lets the lookups still in flight finish uncounted. Per phase:
 * lookups/s; latency per lookup, from the start to the callback (A) or to the parsed final
 * result (B), CLOCK_MONOTONIC, p50/p99 nearest-rank and the mean (which by Little's law is
 * about N / throughput); and this process's CPU time per lookup (CLOCK_PROCESS_CPUTIME_ID:
 * the client's own cost, whatever slapd and the other load on the machine do).
 *
 * Usage: bench-dir-ldap --uri URI --password-file FILE [--base DN] [--bind-dn DN]
 *   [--concurrency N] [--seconds T] [--warmup S] [--iterations M] [--rounds R] [--phase a|b|ab]
 * Exit status 0 when every lookup found its entry, 1 on a failed lookup, 2 on bad usage or
 * setup failure.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <lber.h>
#include <ldap.h>

#include "directory/dir-ldap.h"
#include "mbx/directory.h"
#include "mbx/ldap-filter.h"
#include "mbx/log.h"

#define BENCH_MAX_CONCURRENCY 1024
#define BENCH_MSGID_MAP 4096 /* msgid -> slot map of phase B (a power of two) */

/* The recipients of conf/directory.ldif (docs/directory.md "Contoso"). */
static const char bench_legacy_prefix[] =
        "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=";
static const char *const bench_aliases[] = {"alice", "bob",  "carol", "dave", "erin",
                                            "frank", "gina", "room1", "ivan", "henry"};
#define BENCH_NKEYS (sizeof(bench_aliases) / sizeof(bench_aliases[0]))

enum bench_mode { BENCH_DIR, BENCH_RAW };

struct bench;

struct bench_slot {
	struct bench *b;
	bool busy;
	uint64_t start_ns;
	size_t key;
	int msgid;      /* B */
	size_t entries; /* B: entries seen for this search */
	bool matched;   /* B: an entry carried the key as legacyExchangeDN */
};

struct bench_stats {
	uint64_t lookups;
	uint64_t ns;     /* measured wall time */
	uint64_t cpu_ns; /* this process's CPU time (user + system) meanwhile */
	uint64_t *lat;
	size_t nlat, cap;
	bool lat_oom;
};

struct bench {
	struct event_base *base;
	enum bench_mode mode;
	/* options */
	const char *uri, *base_dn, *bind_dn, *pwfile;
	unsigned conc;
	double seconds, warmup;
	uint64_t iterations;
	/* keys and the filters the backend builds for them */
	char *keys[BENCH_NKEYS];
	char *filters[BENCH_NKEYS];
	size_t next_key;
	/* A */
	struct mbx_dir *dir;
	/* B */
	LDAP *ld;
	int fd;
	struct event *rd_ev;
	struct event *resume_ev; /* the read loop goes on after the loop's other events */
	struct bench_slot *byid[BENCH_MSGID_MAP];
	struct timeval limit; /* the server-side time limit the backend sends */
	/* the running phase */
	struct bench_slot slots[BENCH_MAX_CONCURRENCY];
	size_t inflight;
	bool measuring, stopping, draining;
	uint64_t t0_ns, t0_cpu_ns, measured, started_measured;
	struct event *timer;
	struct bench_stats *stats;
	uint64_t errors;
	char first_error[512];
	/* setup checks */
	size_t pending_checks;
};

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the process (the event loop: libldap's worker threads are idle by then). */
static uint64_t bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_error(struct bench *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void bench_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->errors++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof(b->first_error), fmt, ap);
	va_end(ap);
}

/* --- recording --------------------------------------------------------------------------- */

static void bench_record(struct bench *b, struct bench_slot *s, uint64_t now)
{
	struct bench_stats *st = b->stats;

	if (!b->measuring || b->stopping)
		return;
	b->measured++;
	st->lookups++;
	if (st->nlat == st->cap && !st->lat_oom) {
		size_t cap = st->cap == 0 ? 65536 : 2 * st->cap;
		uint64_t *n = realloc(st->lat, cap * sizeof(*n));

		if (n == NULL) {
			st->lat_oom = true;
		} else {
			st->lat = n;
			st->cap = cap;
		}
	}
	if (st->nlat < st->cap)
		st->lat[st->nlat++] = now - s->start_ns;
	if (b->iterations > 0 && b->measured >= b->iterations) {
		st->ns += now - b->t0_ns;
		st->cpu_ns += bench_cpu_ns() - b->t0_cpu_ns;
		b->stopping = true;
		event_base_loopbreak(b->base);
	}
}

/* Whether a new lookup may start now. */
static bool bench_may_start(struct bench *b)
{
	if (b->stopping || b->draining)
		return false;
	if (b->measuring && b->iterations > 0)
		return b->started_measured < b->iterations;
	return true;
}

static void bench_slot_done(struct bench *b, struct bench_slot *s)
{
	s->busy = false;
	b->inflight--;
	if (b->draining && b->inflight == 0)
		event_base_loopbreak(b->base);
}

static size_t bench_next_key(struct bench *b)
{
	size_t k = b->next_key;

	b->next_key = (k + 1) % BENCH_NKEYS;
	return k;
}

/* --- phase A: the backend ---------------------------------------------------------------- */

static void bench_dir_start(struct bench *b, struct bench_slot *s);

static void bench_dir_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct bench_slot *s = ctx;
	struct bench *b = s->b;
	uint64_t now = bench_now_ns();
	const char *got;

	if (res->status != MBX_DIR_FOUND || res->nentries != 1) {
		bench_error(b, "A: %s: %s (%zu entries)%s%s", b->keys[s->key],
		            mbx_dir_status_name(res->status), res->nentries,
		            res->message != NULL ? ": " : "",
		            res->message != NULL ? res->message : "");
	} else if ((got = mbx_dir_entry_str(res->entries[0], "legacyExchangeDN")) == NULL ||
	           strcasecmp(got, b->keys[s->key]) != 0) {
		bench_error(b, "A: %s: entry %s has legacyExchangeDN %s", b->keys[s->key],
		            res->entries[0]->dn, got != NULL ? got : "(none)");
	} else {
		bench_record(b, s, now);
	}
	bench_slot_done(b, s);
	if (bench_may_start(b))
		bench_dir_start(b, s);
}

static void bench_dir_start(struct bench *b, struct bench_slot *s)
{
	s->b = b;
	s->key = bench_next_key(b);
	s->busy = true;
	b->inflight++;
	if (b->measuring)
		b->started_measured++;
	s->start_ns = bench_now_ns();
	if (mbx_dir_lookup(b->dir, MBX_DIR_BY_LEGACYDN, b->keys[s->key], 0, bench_dir_cb, s) ==
	    NULL) {
		bench_error(b, "A: mbx_dir_lookup could not start a lookup");
		b->stopping = true;
		bench_slot_done(b, s);
		event_base_loopbreak(b->base);
	}
}

/* --- phase B: raw libldap ---------------------------------------------------------------- */

static void bench_raw_start(struct bench *b, struct bench_slot *s);

static struct bench_slot *bench_raw_find(struct bench *b, int msgid)
{
	struct bench_slot *s = b->byid[(unsigned)msgid & (BENCH_MSGID_MAP - 1)];

	if (s != NULL && s->busy && s->msgid == msgid)
		return s;
	for (unsigned i = 0; i < b->conc; i++) {
		if (b->slots[i].busy && b->slots[i].msgid == msgid)
			return &b->slots[i];
	}
	return NULL;
}

/* An entry: every attribute and value read out the usual libldap way (the backend reads the
 * same in one pass, dir_ldap_req_entry_new; it leaves out userPassword, so this does too). */
static void bench_raw_entry(struct bench *b, struct bench_slot *s, LDAPMessage *msg)
{
	BerElement *ber = NULL;
	char *dn = ldap_get_dn(b->ld, msg), *a;

	s->entries++;
	for (a = ldap_first_attribute(b->ld, msg, &ber); a != NULL;
	     a = ldap_next_attribute(b->ld, msg, ber)) {
		struct berval **vals;

		if (strcasecmp(a, "userPassword") == 0) {
			ldap_memfree(a);
			continue;
		}
		vals = ldap_get_values_len(b->ld, msg, a);
		if (vals != NULL && vals[0] != NULL && strcasecmp(a, "legacyExchangeDN") == 0 &&
		    vals[0]->bv_len == strlen(b->keys[s->key]) &&
		    strncasecmp(vals[0]->bv_val, b->keys[s->key], vals[0]->bv_len) == 0)
			s->matched = true;
		ldap_value_free_len(vals);
		ldap_memfree(a);
	}
	if (ber != NULL)
		ber_free(ber, 0);
	if (dn == NULL)
		bench_error(b, "B: %s: entry without a DN", b->keys[s->key]);
	ldap_memfree(dn);
}

static void bench_raw_result(struct bench *b, struct bench_slot *s, LDAPMessage *msg)
{
	uint64_t now = bench_now_ns();
	int err = LDAP_OTHER;
	char *matched = NULL, *text = NULL;

	if (ldap_parse_result(b->ld, msg, &err, &matched, &text, NULL, NULL, 0) != LDAP_SUCCESS)
		err = LDAP_DECODING_ERROR;
	if (err != LDAP_SUCCESS)
		bench_error(b, "B: %s: %s%s%s", b->keys[s->key], ldap_err2string(err),
		            text != NULL ? ": " : "", text != NULL ? text : "");
	else if (s->entries != 1 || !s->matched)
		bench_error(b, "B: %s: %zu entries, %s", b->keys[s->key], s->entries,
		            s->matched ? "matched" : "no matching legacyExchangeDN");
	else
		bench_record(b, s, now);
	ldap_memfree(matched);
	ldap_memfree(text);
	bench_slot_done(b, s);
	if (bench_may_start(b))
		bench_raw_start(b, s);
}

static void bench_raw_readable(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct timeval zero = {0, 0};

	(void)fd;
	(void)what;
	/* Each answer starts the next search at once, so answers could keep coming for ever:
	 * after 2N messages (N entries and N results) the loop gets its turn (our timer) and
	 * this runs again from a zero timeout (libldap may hold bytes the socket no longer
	 * shows as readable). Not event_active: libevent would run it again in the same pass,
	 * before any timer. */
	for (unsigned n = 0;; n++) {
		LDAPMessage *msg = NULL;
		struct bench_slot *s;
		int rc;

		if (n == 2 * b->conc) {
			evtimer_add(b->resume_ev, &zero);
			break;
		}
		rc = ldap_result(b->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);
		if (rc == 0)
			break;
		if (rc < 0) {
			int err = LDAP_SERVER_DOWN;

			ldap_get_option(b->ld, LDAP_OPT_RESULT_CODE, &err);
			bench_error(b, "B: ldap_result: %s", ldap_err2string(err));
			b->stopping = true;
			event_del(b->rd_ev);
			evtimer_del(b->resume_ev);
			event_base_loopbreak(b->base);
			return;
		}
		s = bench_raw_find(b, ldap_msgid(msg));
		if (s != NULL && rc == LDAP_RES_SEARCH_ENTRY)
			bench_raw_entry(b, s, msg);
		else if (s != NULL && rc == LDAP_RES_SEARCH_RESULT)
			bench_raw_result(b, s, msg);
		ldap_msgfree(msg);
	}
}

static void bench_raw_start(struct bench *b, struct bench_slot *s)
{
	int rc, msgid = -1;

	s->b = b;
	s->key = bench_next_key(b);
	s->entries = 0;
	s->matched = false;
	s->busy = true;
	b->inflight++;
	if (b->measuring)
		b->started_measured++;
	s->start_ns = bench_now_ns();
	rc = ldap_search_ext(b->ld, b->base_dn, LDAP_SCOPE_SUBTREE, b->filters[s->key], NULL, 0,
	                     NULL, NULL, &b->limit, DIR_LDAP_MAX_ENTRIES, &msgid);
	if (rc != LDAP_SUCCESS) {
		bench_error(b, "B: ldap_search_ext: %s", ldap_err2string(rc));
		b->stopping = true;
		bench_slot_done(b, s);
		event_base_loopbreak(b->base);
		return;
	}
	s->msgid = msgid;
	b->byid[(unsigned)msgid & (BENCH_MSGID_MAP - 1)] = s;
}

/* Connects and binds as the service account (blocking: this is set-up, outside any figure),
 * with the options the backend's worker sets that matter on a healthy loopback server, then
 * makes the socket non-blocking as the backend does. */
static int bench_raw_connect(struct bench *b)
{
	char err[256];
	char *pw = dir_ldap_read_password_file(b->pwfile, err, sizeof(err));
	struct berval cred;
	struct timeval tv = {1, 0};
	Sockbuf *sb = NULL;
	int rc, v3 = LDAP_VERSION3;

	if (pw == NULL) {
		fprintf(stderr, "bench-dir-ldap: %s\n", err);
		return -1;
	}
	rc = ldap_initialize(&b->ld, b->uri);
	if (rc == LDAP_SUCCESS) {
		ldap_set_option(b->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
		ldap_set_option(b->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
		ldap_set_option(b->ld, LDAP_OPT_RESTART, LDAP_OPT_OFF);
		ldap_set_option(b->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
		cred.bv_val = pw;
		cred.bv_len = strlen(pw);
		rc = ldap_sasl_bind_s(b->ld, b->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	}
	explicit_bzero(pw, strlen(pw));
	free(pw);
	if (rc != LDAP_SUCCESS) {
		fprintf(stderr, "bench-dir-ldap: B: bind to %s as %s: %s\n", b->uri, b->bind_dn,
		        ldap_err2string(rc));
		return -1;
	}
	if (ldap_get_option(b->ld, LDAP_OPT_DESC, &b->fd) != LDAP_OPT_SUCCESS || b->fd < 0 ||
	    ldap_get_option(b->ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL) {
		fprintf(stderr, "bench-dir-ldap: B: no socket\n");
		return -1;
	}
	ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_NONBLOCK, (void *)1);
	b->rd_ev = event_new(b->base, b->fd, EV_READ | EV_PERSIST, bench_raw_readable, b);
	b->resume_ev = evtimer_new(b->base, bench_raw_readable, b);
	if (b->rd_ev == NULL || b->resume_ev == NULL || event_add(b->rd_ev, NULL) < 0) {
		fprintf(stderr, "bench-dir-ldap: B: cannot watch the socket\n");
		return -1;
	}
	return 0;
}

/* --- running a phase --------------------------------------------------------------------- */

static void bench_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd;
	(void)what;
	if (b->measuring && !b->stopping) {
		b->stats->ns += bench_now_ns() - b->t0_ns;
		b->stats->cpu_ns += bench_cpu_ns() - b->t0_cpu_ns;
		b->stopping = true;
	}
	event_base_loopbreak(b->base);
}

static int bench_timer_add(struct bench *b, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return evtimer_add(b->timer, &tv);
}

/* The measured part of a phase runs in a function of its own per phase, so callgrind can
 * count just it (--toggle-collect='bench_measure_dir*' or 'bench_measure_raw*': gcc may add a
 * .constprop suffix). The two differ in the mode they set, so identical code folding cannot
 * merge them into one symbol. */
static void bench_measure(struct bench *b, enum bench_mode mode)
{
	b->mode = mode;
	b->measuring = true;
	b->measured = b->started_measured = 0;
	b->t0_ns = bench_now_ns();
	b->t0_cpu_ns = bench_cpu_ns();
	if (b->iterations == 0)
		bench_timer_add(b, b->seconds);
	event_base_dispatch(b->base);
	evtimer_del(b->timer);
}

__attribute__((noinline)) static void bench_measure_dir(struct bench *b)
{
	bench_measure(b, BENCH_DIR);
}

__attribute__((noinline)) static void bench_measure_raw(struct bench *b)
{
	bench_measure(b, BENCH_RAW);
}

static void bench_phase(struct bench *b, enum bench_mode mode, struct bench_stats *st)
{
	b->mode = mode;
	b->stats = st;
	b->measuring = b->stopping = b->draining = false;
	b->inflight = 0;
	for (unsigned i = 0; i < b->conc; i++) {
		if (mode == BENCH_DIR)
			bench_dir_start(b, &b->slots[i]);
		else
			bench_raw_start(b, &b->slots[i]);
	}
	if (b->warmup > 0 && !b->stopping) {
		bench_timer_add(b, b->warmup);
		event_base_dispatch(b->base);
	}
	if (!b->stopping) {
		if (mode == BENCH_DIR)
			bench_measure_dir(b);
		else
			bench_measure_raw(b);
	}
	/* Let the lookups in flight finish, uncounted. */
	b->stopping = b->draining = true;
	if (b->inflight > 0) {
		bench_timer_add(b, 10.0);
		event_base_dispatch(b->base);
		evtimer_del(b->timer);
	}
	if (b->inflight > 0)
		bench_error(b, "%zu lookups still in flight 10 s after the end", b->inflight);
	b->measuring = false;
}

/* Before phase A: one lookup of each key, waiting for the connection, outside any figure. */
static void bench_dir_check_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct bench_slot *s = ctx;
	struct bench *b = s->b;

	if (res->status != MBX_DIR_FOUND || res->nentries != 1)
		bench_error(b, "A: %s: %s (%zu entries)%s%s", b->keys[s->key],
		            mbx_dir_status_name(res->status), res->nentries,
		            res->message != NULL ? ": " : "",
		            res->message != NULL ? res->message : "");
	if (--b->pending_checks == 0)
		event_base_loopbreak(b->base);
}

static int bench_dir_setup(struct bench *b)
{
	char err[512];
	const char *uris[2] = {b->uri, NULL};
	struct mbx_dir_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = "ldap";
	cfg.uris = uris;
	cfg.base_dn = b->base_dn;
	cfg.bind_dn = b->bind_dn;
	cfg.bind_password_file = b->pwfile;
	cfg.network_timeout_ms = 1000;
	cfg.request_timeout_ms = DIR_LDAP_DEFAULT_REQUEST_TIMEOUT_MS;
	cfg.content_sync = false; /* no third connection: only lookups are measured */
	b->dir = mbx_dir_new(b->base, &cfg, err, sizeof(err));
	if (b->dir == NULL) {
		fprintf(stderr, "bench-dir-ldap: A: %s\n", err);
		return -1;
	}
	/* The filters the backend sends, for phase B. */
	for (size_t i = 0; i < BENCH_NKEYS; i++) {
		const char *why = NULL;

		b->filters[i] = mbx_ldap_filter_build(b->dir, MBX_DIR_BY_LEGACYDN, b->keys[i],
		                                      strlen(b->keys[i]), &why);
		if (b->filters[i] == NULL) {
			fprintf(stderr, "bench-dir-ldap: filter: %s\n", why);
			return -1;
		}
	}
	/* dir_ldap_req_send (dir-ldap-req.c): the server's time limit is the request timeout in
	 * whole seconds, rounded up. */
	b->limit.tv_sec = (time_t)((cfg.request_timeout_ms + 999) / 1000);
	b->limit.tv_usec = 0;
	b->pending_checks = BENCH_NKEYS;
	for (size_t i = 0; i < BENCH_NKEYS; i++) {
		b->slots[i].b = b;
		b->slots[i].key = i;
		if (mbx_dir_lookup(b->dir, MBX_DIR_BY_LEGACYDN, b->keys[i], 0, bench_dir_check_cb,
		                   &b->slots[i]) == NULL) {
			fprintf(stderr, "bench-dir-ldap: A: mbx_dir_lookup failed\n");
			return -1;
		}
	}
	bench_timer_add(b, 10.0);
	event_base_dispatch(b->base);
	evtimer_del(b->timer);
	if (b->pending_checks > 0 || b->errors > 0) {
		fprintf(stderr, "bench-dir-ldap: A: the check lookups failed: %s\n",
		        b->errors > 0 ? b->first_error : "no answer within 10 s");
		return -1;
	}
	return 0;
}

/* --- report ------------------------------------------------------------------------------ */

static int bench_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;

	return a < c ? -1 : a > c;
}

static double bench_pct_us(const struct bench_stats *st, double p)
{
	size_t rank;

	if (st->nlat == 0)
		return 0;
	rank = (size_t)(p * (double)st->nlat + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > st->nlat)
		rank = st->nlat;
	return (double)st->lat[rank - 1] / 1000.0;
}

static double bench_rate(const struct bench_stats *st)
{
	return st->ns > 0 ? (double)st->lookups * 1e9 / (double)st->ns : 0;
}

static void bench_row(const char *name, struct bench_stats *st)
{
	double sum = 0;

	for (size_t i = 0; i < st->nlat; i++)
		sum += (double)st->lat[i];
	qsort(st->lat, st->nlat, sizeof(*st->lat), bench_cmp_u64);
	printf("%-16s %9" PRIu64 " %8.3f %11.0f %8.0f %8.0f %8.0f %8.1f\n", name, st->lookups,
	       (double)st->ns / 1e9, bench_rate(st), bench_pct_us(st, 0.50), bench_pct_us(st, 0.99),
	       st->nlat > 0 ? sum / (double)st->nlat / 1000.0 : 0,
	       st->lookups > 0 ? (double)st->cpu_ns / (double)st->lookups / 1000.0 : 0);
}

static void bench_stats_add(struct bench_stats *to, const struct bench_stats *from)
{
	to->lookups += from->lookups;
	to->ns += from->ns;
	to->cpu_ns += from->cpu_ns;
	if (from->nlat > 0 && !to->lat_oom) {
		uint64_t *n = realloc(to->lat, (to->nlat + from->nlat) * sizeof(*n));

		if (n == NULL) {
			to->lat_oom = true;
			return;
		}
		memcpy(n + to->nlat, from->lat, from->nlat * sizeof(*n));
		to->lat = n;
		to->nlat += from->nlat;
		to->cap = to->nlat;
	}
}

/* --- main -------------------------------------------------------------------------------- */

static void bench_usage(FILE *f)
{
	fprintf(f,
	        "usage: bench-dir-ldap --uri URI --password-file FILE [--base DN] [--bind-dn DN]\n"
	        "  [--concurrency N] [--seconds T] [--warmup S] [--iterations M] [--rounds R]\n"
	        "  [--phase a|b|ab]\n"
	        "  --concurrency  lookups kept in flight (1..%d, default 16)\n"
	        "  --seconds      measured time per phase (default 5)\n"
	        "  --warmup       seconds of lookups before measuring, per phase (default 1)\n"
	        "  --iterations   measure a fixed number of lookups instead of --seconds\n"
	        "  --rounds       run A then B this many times; totals over all rounds (default "
	        "1)\n"
	        "  --phase        a: the backend only, b: raw libldap only, ab: both (default)\n"
	        "  --base         default dc=contoso,dc=com\n"
	        "  --bind-dn      default cn=mbxstored,cn=Users,<base>\n",
	        BENCH_MAX_CONCURRENCY);
}

static bool bench_num(const char *s, double min, double max, double *v_r)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		return false;
	*v_r = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"concurrency", required_argument, NULL, 'c'},
	        {"seconds", required_argument, NULL, 's'},
	        {"warmup", required_argument, NULL, 'w'},
	        {"iterations", required_argument, NULL, 'i'},
	        {"rounds", required_argument, NULL, 'r'},
	        {"phase", required_argument, NULL, 'p'},
	        {"uri", required_argument, NULL, 'u'},
	        {"base", required_argument, NULL, 'b'},
	        {"bind-dn", required_argument, NULL, 'D'},
	        {"password-file", required_argument, NULL, 'y'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static struct bench bench; /* large (the slots): not on the stack */
	struct bench *b = &bench;
	struct bench_stats tot_a = {0}, tot_b = {0};
	char bind_default[512];
	double v;
	unsigned rounds = 1;
	bool run_a = true, run_b = true;
	int o, status = 0;

	b->conc = 16;
	b->seconds = 5;
	b->warmup = 1;
	b->base_dn = "dc=contoso,dc=com";
	b->fd = -1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (!bench_num(optarg, 1, BENCH_MAX_CONCURRENCY, &v))
				goto usage;
			b->conc = (unsigned)v;
			break;
		case 's':
			if (!bench_num(optarg, 0.001, 3600, &b->seconds))
				goto usage;
			break;
		case 'w':
			if (!bench_num(optarg, 0, 3600, &b->warmup))
				goto usage;
			break;
		case 'i':
			if (!bench_num(optarg, 1, 1e12, &v))
				goto usage;
			b->iterations = (uint64_t)v;
			break;
		case 'r':
			if (!bench_num(optarg, 1, 1000, &v))
				goto usage;
			rounds = (unsigned)v;
			break;
		case 'p':
			run_a = strchr(optarg, 'a') != NULL;
			run_b = strchr(optarg, 'b') != NULL;
			if (strspn(optarg, "ab") != strlen(optarg) || (!run_a && !run_b))
				goto usage;
			break;
		case 'u':
			b->uri = optarg;
			break;
		case 'b':
			b->base_dn = optarg;
			break;
		case 'D':
			b->bind_dn = optarg;
			break;
		case 'y':
			b->pwfile = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc || b->uri == NULL || b->pwfile == NULL)
		goto usage;
	if (b->bind_dn == NULL) {
		snprintf(bind_default, sizeof(bind_default), "cn=mbxstored,cn=Users,%s",
		         b->base_dn);
		b->bind_dn = bind_default;
	}
	mbx_log_open_stderr("bench-dir-ldap");
	mbx_log_set_level(MBX_LOG_ERROR); /* not the plain-ldap:// warning */
	for (size_t i = 0; i < BENCH_NKEYS; i++) {
		size_t n = sizeof(bench_legacy_prefix) + strlen(bench_aliases[i]);

		b->keys[i] = malloc(n);
		if (b->keys[i] == NULL)
			return 2;
		snprintf(b->keys[i], n, "%s%s", bench_legacy_prefix, bench_aliases[i]);
	}
	b->base = event_base_new();
	b->timer = b->base != NULL ? evtimer_new(b->base, bench_timer_cb, b) : NULL;
	if (b->timer == NULL) {
		fprintf(stderr, "bench-dir-ldap: no event loop\n");
		return 2;
	}
	/* The backend is set up even for --phase b: it gives the filters phase B sends. */
	if (bench_dir_setup(b) < 0 || (run_b && bench_raw_connect(b) < 0))
		return 2;
	printf("bench-dir-ldap: %s base %s, BY_LEGACYDN over %zu keys, concurrency %u, ", b->uri,
	       b->base_dn, BENCH_NKEYS, b->conc);
	if (b->iterations > 0)
		printf("%" PRIu64 " lookups", b->iterations);
	else
		printf("%.3g s", b->seconds);
	printf(" per phase after %.3g s warm-up, %u round(s)\n", b->warmup, rounds);
	printf("filter B: %s\n", b->filters[0]);
	printf("%-16s %9s %8s %11s %8s %8s %8s %8s\n", "phase", "lookups", "seconds", "lookups/s",
	       "p50 us", "p99 us", "mean us", "cpu us");
	for (unsigned r = 0; r < rounds; r++) {
		struct bench_stats sa = {0}, sb = {0};
		char name[32];

		if (run_a) {
			bench_phase(b, BENCH_DIR, &sa);
			snprintf(name, sizeof(name), "A mbx_dir #%u", r + 1);
			bench_row(name, &sa);
			bench_stats_add(&tot_a, &sa);
		}
		if (run_b) {
			bench_phase(b, BENCH_RAW, &sb);
			snprintf(name, sizeof(name), "B raw ldap #%u", r + 1);
			bench_row(name, &sb);
			bench_stats_add(&tot_b, &sb);
		}
		if (run_a && run_b)
			printf("ratio A/B #%u: %.3f\n", r + 1,
			       bench_rate(&sb) > 0 ? bench_rate(&sa) / bench_rate(&sb) : 0);
		free(sa.lat);
		free(sb.lat);
	}
	if (rounds > 1) {
		if (run_a)
			bench_row("A mbx_dir all", &tot_a);
		if (run_b)
			bench_row("B raw ldap all", &tot_b);
	}
	if (run_a && run_b)
		printf("ratio A/B: %.3f\n",
		       bench_rate(&tot_b) > 0 ? bench_rate(&tot_a) / bench_rate(&tot_b) : 0);
	if (tot_a.lat_oom || tot_b.lat_oom)
		printf("note: out of memory for latency samples; percentiles are partial\n");
	if (b->errors > 0) {
		fprintf(stderr, "bench-dir-ldap: %" PRIu64 " failed lookups; the first: %s\n",
		        b->errors, b->first_error);
		status = 1;
	}
	free(tot_a.lat);
	free(tot_b.lat);
	mbx_dir_free(&b->dir);
	if (b->rd_ev != NULL)
		event_free(b->rd_ev);
	if (b->resume_ev != NULL)
		event_free(b->resume_ev);
	if (b->ld != NULL)
		ldap_unbind_ext(b->ld, NULL, NULL);
	for (size_t i = 0; i < BENCH_NKEYS; i++) {
		free(b->keys[i]);
		free(b->filters[i]);
	}
	event_free(b->timer);
	event_base_free(b->base);
	return status;
usage:
	bench_usage(stderr);
	return 2;
}
