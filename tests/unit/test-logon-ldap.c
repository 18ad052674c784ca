/*
 * test-logon-ldap.c: the RopLogon resolve pipeline (src/store/logon-pipeline.c) through the
 * `ldap` directory backend against real slapd instances, compared with the embedded `ldif`
 * backend (design.md "Directory backends": one interface, two backends, the same answers;
 * seed 004: a directory outage is never "unknown user").
 *
 * Skipped unless MBX_LDAP_URIS is set; tests/integration/test-logon-ldap.sh starts the
 * instances (project schema; Contoso provider and syncrepl replica with conf/directory.ldif,
 * Fabrikam with conf/fabrikam.ldif) and sets:
 *   MBX_LDAP_URIS             "PROVIDER REPLICA" (Contoso)
 *   MBX_LDAP_BASE, MBX_LDAP_BIND_DN, MBX_LDAP_PWFILE       the Contoso service account
 *   MBX_LDAP_ROOT_DN, MBX_LDAP_ROOT_PWFILE                  the rootdn, for ldapmodify
 *   MBX_LDAP_FABRIKAM_URI, MBX_LDAP_FABRIKAM_BASE, MBX_LDAP_FABRIKAM_BIND_DN,
 *   MBX_LDAP_FABRIKAM_PWFILE                                the Fabrikam instance
 *   MBX_LDAP_PIDFILES         "PROVIDER_PIDFILE REPLICA_PIDFILE" (slapd's pid, to SIGKILL it)
 *   MBX_LDAP_CTL              a command: "CTL restart NAME" (contoso, contoso2)
 *   MBX_SRCDIR                the source tree (conf/, tests/unit/data/logon-expect.tsv)
 *
 * The tests run in order and share the slapd instances:
 *   1. the table of tests/unit/data/logon-expect.tsv through both backends in one process:
 *      the same decisions field by field (ec, layout, redirect server, events, response
 *      flags, reason, state), the same snapshots and the same principal tokens;
 *   2. a change made with ldapmodify (a move starts on alice) reaches the mailbox table
 *      through Content Sync: a cached ecNone becomes ecMailboxInTransit within 1 s; and back;
 *   3. logons streaming through provider + replica, the provider SIGKILLed: no crash, never
 *      ecUnknownUser, every logon started 2 s after the kill answered fresh by the replica;
 *   4. both servers killed: cached mailboxes answered from stale snapshots, uncached ones
 *      ecNetworkError, never ecUnknownUser;
 *   5. the provider restarted: the same directory, table and pipeline recover by themselves,
 *      and Content Sync follows changes again.
 * Timing assertions poll with deadlines; the bounds are the (1 s for a change, 2 s
 * for failover). Timings are printed as "name: ..." lines for the integration script.
 */
#include "mbx-test.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "directory/dir-ldap.h"
#include "logon-expect.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/principal.h"
#include "mbx/sid.h"

extern char **environ;

#define RCPT LX_AG "/cn=Recipients"
#define USERS "cn=Users,dc=contoso,dc=com"
#define ALICE_DN "cn=Alice Anders," USERS

static struct event_base *base;
static struct event *tick;
static struct lx_table tab;
static char tmpdir[256];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

/* Runs the loop until *flag or ms have passed (the 5 ms tick bounds each round). */
static void run_until(const bool *flag, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while ((flag == NULL || !*flag) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static void run_for(unsigned ms)
{
	run_until(NULL, ms);
}

/* --- log capture ------------------------------------------------------------------------- */

static struct {
	int events[64];
	unsigned n;
	unsigned down, failover, recovered, alldown;
} logcap;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	const char *ev = strstr(line, "event=");
	int id;

	(void)ctx;
	(void)level;
	if (ev == NULL)
		return;
	id = atoi(ev + 6);
	if (logcap.n < 64)
		logcap.events[logcap.n++] = id;
	logcap.down += id == MBX_EV_DIR_SERVER_DOWN;
	logcap.failover += id == MBX_EV_DIR_FAILOVER;
	logcap.recovered += id == MBX_EV_DIR_RECOVERED;
	logcap.alldown += id == MBX_EV_DIR_ALL_DOWN;
}

/* --- environment ------------------------------------------------------------------------- */

static char uris_buf[1024], pidfiles_buf[1024];
static const char *primary, *replica, *primary_pidfile, *replica_pidfile;

static bool have_slapd(void)
{
	const char *u = getenv("MBX_LDAP_URIS");

	if (u == NULL || u[0] == '\0')
		return false;
	if (primary == NULL) {
		snprintf(uris_buf, sizeof(uris_buf), "%s", u);
		primary = strtok(uris_buf, " ");
		replica = strtok(NULL, " ");
		snprintf(pidfiles_buf, sizeof(pidfiles_buf), "%s",
		         getenv("MBX_LDAP_PIDFILES") != NULL ? getenv("MBX_LDAP_PIDFILES") : "");
		primary_pidfile = strtok(pidfiles_buf, " ");
		replica_pidfile = strtok(NULL, " ");
	}
	return primary != NULL && replica != NULL && primary_pidfile != NULL &&
	       replica_pidfile != NULL && getenv("MBX_LDAP_FABRIKAM_URI") != NULL;
}

#define NEED_SLAPD()                                                                               \
	do {                                                                                       \
		if (!have_slapd()) {                                                               \
			skip();                                                                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set", name);
	return v;
}

static void ctl(const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s", env("MBX_LDAP_CTL"), args);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

/* SIGKILL of an instance, by the pid its harness recorded; returns the time of the kill. */
static uint64_t kill_instance(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	long pid = 0;
	uint64_t t;

	if (f == NULL || fscanf(f, "%ld", &pid) != 1 || pid <= 1)
		fail_msg("cannot read a pid from %s", pidfile);
	fclose(f);
	t = now_ms();
	if (kill((pid_t)pid, SIGKILL) != 0)
		fail_msg("kill %ld: %s", pid, strerror(errno));
	return t;
}

/* ldapmodify as the rootdn on uri, in the background; the LDIF is written to a file first.
 * Returns the child's pid; *t_r gets the time it was started. */
static pid_t ldapmodify_start(const char *uri, const char *ldif, uint64_t *t_r)
{
	static unsigned seq;
	char path[400], logpath[400], pw[256];
	FILE *f;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	/* the rootdn password: the file's first line */
	f = fopen(env("MBX_LDAP_ROOT_PWFILE"), "r");
	assert_non_null(f);
	assert_non_null(fgets(pw, sizeof(pw), f));
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	snprintf(path, sizeof(path), "%s/change-%u.ldif", tmpdir, seq);
	snprintf(logpath, sizeof(logpath), "%s/ldapmodify-%u.log", tmpdir, seq++);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(ldif, f);
	assert_int_equal(fclose(f), 0);
	{
		/* posix_spawn wants char *const argv[]: writable copies */
		char a0[] = "ldapmodify", a1[] = "-x", a2[] = "-H", a4[] = "-D", a6[] = "-w";
		char a8[] = "-f", huri[512], rootdn[512];
		char *argv[] = {a0, a1, a2, huri, a4, rootdn, a6, pw, a8, path, NULL};

		snprintf(huri, sizeof(huri), "%s", uri);
		snprintf(rootdn, sizeof(rootdn), "%s", env("MBX_LDAP_ROOT_DN"));
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_TRUNC,
		                                 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		*t_r = now_ms();
		rc = posix_spawnp(&pid, "ldapmodify", &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (rc != 0)
		fail_msg("posix_spawnp ldapmodify: %s", strerror(rc));
	return pid;
}

/* Whether the child has ended (then *t_r is set once and its status checked). */
static bool child_done(pid_t pid, bool *done, uint64_t *t_r)
{
	int st;

	if (*done)
		return true;
	if (waitpid(pid, &st, WNOHANG) != pid)
		return false;
	*done = true;
	*t_r = now_ms();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("ldapmodify failed (status %d)", st);
	return true;
}

/* Waits (bounded) for the child to end, unless *done says it has; *t_r: when it ended. */
static void ldapmodify_wait(pid_t pid, bool *done, uint64_t *t_r)
{
	uint64_t end = now_ms() + 10000;

	while (!child_done(pid, done, t_r) && now_ms() < end)
		run_for(5);
	if (!*done)
		fail_msg("ldapmodify still running after 10 s");
}

/* --- stacks: directory, table, resolver, pipelines ---------------------------------------- */

struct stack {
	const char *backend;
	struct mbx_dir *dir[LX_NFORESTS];
	struct mbx_mailbox_table *table[LX_NFORESTS];
	struct mbx_principal_resolver *res[LX_NFORESTS];
	struct mbx_logon_pipeline *pl[LX_NIDENTITIES];
	struct mbx_logon_limiter limiter;
	uint64_t lim_now;
};

/* A limiter clock 20 s further on at every reading: the table's rows never pause. */
static uint64_t step_clock(void *ctx)
{
	struct stack *s = ctx;

	return s->lim_now += 20000;
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

static struct mbx_dir *ldap_dir(enum lx_forest f, bool both, bool sync)
{
	const char *uris[3] = {NULL, NULL, NULL};
	struct mbx_dir_config dc = {0};
	struct mbx_dir *d;
	char err[512];

	dc.backend = "ldap";
	if (f == LX_CONTOSO) {
		uris[0] = primary;
		uris[1] = both ? replica : NULL;
		dc.base_dn = env("MBX_LDAP_BASE");
		dc.bind_dn = env("MBX_LDAP_BIND_DN");
		dc.bind_password_file = env("MBX_LDAP_PWFILE");
	} else {
		uris[0] = env("MBX_LDAP_FABRIKAM_URI");
		dc.base_dn = env("MBX_LDAP_FABRIKAM_BASE");
		dc.bind_dn = env("MBX_LDAP_FABRIKAM_BIND_DN");
		dc.bind_password_file = env("MBX_LDAP_FABRIKAM_PWFILE");
	}
	dc.uris = uris;
	dc.network_timeout_ms = 1000;
	dc.request_timeout_ms = 3000;
	dc.retry_min_ms = 100;
	dc.retry_max_ms = 1000;
	dc.content_sync = sync;
	dc.group_depth = 8;
	d = mbx_dir_new(base, &dc, err, sizeof(err));
	if (d == NULL)
		fail_msg("ldap backend: %s", err);
	return d;
}

static struct mbx_dir *ldif_dir(enum lx_forest f)
{
	static const char *const files[LX_NFORESTS] = {"directory.ldif", "fabrikam.ldif"};
	const char *src = getenv("MBX_SRCDIR");
	char from[4096], to[600], err[512];
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_dir *d;

	snprintf(from, sizeof(from), "%s/conf/%s", src != NULL ? src : ".", files[f]);
	snprintf(to, sizeof(to), "%s/%s", tmpdir, files[f]);
	copy_file(from, to);
	dc.ldif_path = to;
	d = mbx_dir_new(base, &dc, err, sizeof(err));
	if (d == NULL)
		fail_msg("ldif backend on %s: %s", to, err);
	return d;
}

/* ttl_ms etc. for the tables; limiter: step_clock, or none. */
static void stack_init(struct stack *s, const char *backend, bool both, bool sync, uint64_t ttl_ms,
                       uint64_t neg_ms, bool limiter)
{
	struct mbx_principal_config pc = {.group_depth = 8};

	memset(s, 0, sizeof(*s));
	s->backend = backend;
	mbx_logon_limiter_init(&s->limiter);
	mbx_dir_defer_init(&pc.defer, base);
	for (int f = 0; f < LX_NFORESTS; f++) {
		struct mbx_mailbox_table_config tc = {0};

		s->dir[f] = strcmp(backend, "ldap") == 0 ? ldap_dir(f, both, sync) : ldif_dir(f);
		tc.ttl_ms = ttl_ms;
		tc.negative_ttl_ms = neg_ms;
		tc.stale_max_ms = 3600000;
		tc.max_entries = 10000;
		mbx_dir_defer_init(&tc.defer, base);
		s->table[f] = mbx_mailbox_table_new(s->dir[f], &tc);
		assert_non_null(s->table[f]);
		s->res[f] = mbx_principal_resolver_new(s->dir[f], &pc);
		assert_non_null(s->res[f]);
	}
	for (size_t i = 0; i < LX_NIDENTITIES; i++) {
		struct mbx_logon_pipeline_config cfg = {0};

		cfg.table = s->table[lx_identities[i].forest];
		cfg.resolver = s->res[lx_identities[i].forest];
		cfg.id = &lx_identities[i].id;
		cfg.limiter = limiter ? &s->limiter : NULL;
		cfg.clock = step_clock;
		cfg.clock_ctx = s;
		mbx_dir_defer_init(&cfg.defer, base);
		s->pl[i] = mbx_logon_pipeline_new(&cfg);
		assert_non_null(s->pl[i]);
	}
}

static void stack_deinit(struct stack *s)
{
	for (size_t i = 0; i < LX_NIDENTITIES; i++)
		mbx_logon_pipeline_free(&s->pl[i]);
	for (int f = 0; f < LX_NFORESTS; f++) {
		mbx_principal_resolver_free(&s->res[f]);
		mbx_mailbox_table_free(&s->table[f]);
		mbx_dir_free(&s->dir[f]);
	}
}

/* --- one logon, rendered ------------------------------------------------------------------ */

#define RENDER 8192

struct outcome {
	bool done;
	int calls;
	uint64_t t0, t1;
	struct mbx_logon_decision d;
	bool looked_up, stale, cached, principal_needed;
	enum mbx_dir_status mstatus, pstatus;
	enum mbx_mailbox_state state;
	char mbx[RENDER];   /* the snapshot, rendered ("" when none) */
	char token[RENDER]; /* the principal's token, rendered ("" when none) */
	const struct lx_row *row;
};

static void cat(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

static const char *sidstr(const struct mbx_sid *sid, char *buf, size_t size)
{
	return mbx_sid_to_str(sid, buf, size);
}

/* Every field of the snapshot but the fetch time, one "name=value" per line. */
static void render_mbx(const struct mbx_mailbox *m, char *buf, size_t size)
{
	char s1[200], s2[200], g[40];

	buf[0] = '\0';
	if (m == NULL)
		return;
#define S(x) ((x) != NULL ? (x) : "(null)")
	cat(buf, size, "dn=%s\nlegacy=%s\ndisplay=%s\nsmtp=%s\nkind=%s\nrtd=%d/%llu\n", S(m->dn),
	    S(m->legacy_dn), S(m->display_name), S(m->smtp), mbx_mailbox_kind_name(m->kind),
	    m->has_rtd, (unsigned long long)m->recipient_type_details);
	cat(buf, size,
	    "mailbox=%d\nhomeMDB=%s\nmdb-legacy=%s\nserver-dn=%s\nserver-legacy=%s (%d)\n",
	    m->has_mailbox, S(m->home_mdb_dn), S(m->home_mdb_legacy_dn), S(m->home_server_dn),
	    S(m->home_server_legacy_dn), m->home_server_from_attr);
	cat(buf, size, "disabled=%d uac=%u sid=%s master=%d %s\n", m->disabled,
	    m->user_account_control,
	    m->has_object_sid ? sidstr(&m->object_sid, s1, sizeof(s1)) : "-", (int)m->master,
	    sidstr(&m->master_sid, s2, sizeof(s2)));
	cat(buf, size, "guid=%s\nmove=%u/%u %s -> %s\ntarget=%s\nsd=%zu:",
	    m->has_mailbox_guid ? mbx_guid_to_str(&m->mailbox_guid, g) : "-", m->move_status,
	    m->move_flags, S(m->move_source_mdb_dn), S(m->move_target_mdb_dn), S(m->target_address),
	    m->sd_len);
	for (size_t i = 0; i < m->sd_len; i++)
		cat(buf, size, "%02x", m->sd[i]);
	cat(buf, size, "\n");
#undef S
}

/* The token: SID, groups and group DNs (lower-cased: the order is the resolver's, breadth
 * first and sorted by level, so it must not depend on the backend), owners. */
static void render_token(const struct mbx_principal *p, char *buf, size_t size)
{
	char s[200];

	buf[0] = '\0';
	if (p == NULL)
		return;
	cat(buf, size, "dn=%s\nsid=%s\n", p->dn, p->has_sid ? sidstr(&p->sid, s, sizeof(s)) : "-");
	for (size_t i = 0; i < p->ngroups; i++)
		cat(buf, size, "group %s\n", sidstr(&p->groups[i], s, sizeof(s)));
	for (size_t i = 0; i < p->ngroup_dns; i++) {
		char low[600];
		size_t k;

		for (k = 0; p->group_dns[i][k] != '\0' && k < sizeof(low) - 1; k++)
			low[k] = (char)tolower((unsigned char)p->group_dns[i][k]);
		low[k] = '\0';
		cat(buf, size, "group-dn %s\n", low);
	}
	cat(buf, size, "depth-exceeded=%d\n", p->depth_exceeded);
	for (size_t i = 0; i < p->nowners; i++) {
		cat(buf, size, "owners %s%s:", sidstr(&p->owners[i].sid, s, sizeof(s)),
		    p->owners[i].wellknown ? " (well-known)" : "");
		for (size_t k = 0; k < p->owners[i].ndns; k++)
			cat(buf, size, " [%s]", p->owners[i].dns[k]);
		cat(buf, size, "\n");
	}
}

static void outcome_cb(void *ctx, const struct mbx_logon_pipeline_result *res)
{
	struct outcome *o = ctx;

	o->calls++;
	o->done = true;
	o->t1 = now_ms();
	o->d = res->decision;
	o->looked_up = res->mailbox_looked_up;
	o->stale = res->stale;
	o->cached = res->cached;
	o->principal_needed = res->principal_needed;
	o->mstatus = res->mailbox_status;
	o->pstatus = res->principal_status;
	o->state = res->state;
	render_mbx(res->mbx, o->mbx, sizeof(o->mbx));
	render_token(res->principal, o->token, sizeof(o->token));
}

static struct mbx_logon_pipeline_req *start_row(struct stack *s, const struct lx_row *r,
                                                const struct mbx_principal *tok, struct outcome *o)
{
	struct mbx_logon_pipeline_who who = {0};
	struct mbx_logon_req req;
	struct mbx_logon_pipeline_req *pr;

	memset(o, 0, sizeof(*o));
	o->row = r;
	who.name = r->principal->name[0] != '\0' ? r->principal->name : NULL;
	if (tok != NULL)
		who.token = tok;
	else
		who.dn = r->principal->dn[0] != '\0' ? r->principal->dn : NULL;
	lx_request(r, &req);
	o->t0 = now_ms();
	pr = mbx_logon_pipeline_start(s->pl[r->identity], &req, &who, outcome_cb, o);
	assert_non_null(pr);
	assert_false(o->done);
	return pr;
}

static void run_row(struct stack *s, const struct lx_row *r, const struct mbx_principal *tok,
                    struct outcome *o)
{
	start_row(s, r, tok, o);
	run_until(&o->done, 10000);
	if (!o->done)
		fail_msg("logon-expect.tsv:%u: no answer within 10 s (%s)", r->line, s->backend);
	assert_int_equal(o->calls, 1);
}

static const char *ecname(uint32_t ec)
{
	static char buf[4][16];
	static unsigned k;

	k = (k + 1) % 4;
	return mbx_ec_str(ec, buf[k], sizeof(buf[k]));
}

/* The first line where two renderings differ. */
static void first_diff(const char *a, const char *b, char *out, size_t size)
{
	while (*a != '\0' && *b != '\0') {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la) != 0) {
			snprintf(out, size, "\"%.*s\" vs \"%.*s\"", (int)la, a, (int)lb, b);
			return;
		}
		a += la + (a[la] != '\0');
		b += lb + (b[lb] != '\0');
	}
	snprintf(out, size, "\"%.80s\" vs \"%.80s\"", a, b);
}

/* Field by field; "" when the same. */
static void compare(const struct outcome *a, const struct outcome *b, char *why, size_t size)
{
	char d[1200];

	why[0] = '\0';
	if (a->d.ec != b->d.ec)
		snprintf(why, size, "ec %s vs %s", ecname(a->d.ec), ecname(b->d.ec));
	else if (a->d.kind != b->d.kind)
		snprintf(why, size, "layout %d vs %d", a->d.kind, b->d.kind);
	else if (strcmp(a->d.server, b->d.server) != 0)
		snprintf(why, size, "redirect \"%.300s\" vs \"%.300s\"", a->d.server, b->d.server);
	else if (a->d.nevents != b->d.nevents ||
	         memcmp(a->d.events, b->d.events, a->d.nevents * sizeof(a->d.events[0])) != 0)
		snprintf(why, size, "events (%u vs %u)", a->d.nevents, b->d.nevents);
	else if (a->d.response_flags != b->d.response_flags || a->d.owner != b->d.owner)
		snprintf(why, size, "response flags %02x/%d vs %02x/%d", a->d.response_flags,
		         a->d.owner, b->d.response_flags, b->d.owner);
	else if ((a->d.reason == NULL) != (b->d.reason == NULL) ||
	         (a->d.reason != NULL && strcmp(a->d.reason, b->d.reason) != 0))
		snprintf(why, size, "reason \"%s\" vs \"%s\"", a->d.reason, b->d.reason);
	else if (strcmp(a->d.detail, b->d.detail) != 0)
		snprintf(why, size, "detail \"%.400s\" vs \"%.400s\"", a->d.detail, b->d.detail);
	else if (a->looked_up != b->looked_up || a->mstatus != b->mstatus || a->state != b->state ||
	         a->principal_needed != b->principal_needed ||
	         (a->principal_needed && a->pstatus != b->pstatus))
		snprintf(why, size, "mailbox %s/%s, principal %s vs %s/%s, %s",
		         mbx_dir_status_name(a->mstatus), mbx_mailbox_state_name(a->state),
		         mbx_dir_status_name(a->pstatus), mbx_dir_status_name(b->mstatus),
		         mbx_mailbox_state_name(b->state), mbx_dir_status_name(b->pstatus));
	else if (strcmp(a->mbx, b->mbx) != 0) {
		first_diff(a->mbx, b->mbx, d, sizeof(d));
		snprintf(why, size, "snapshot: %s", d);
	} else if (strcmp(a->token, b->token) != 0) {
		first_diff(a->token, b->token, d, sizeof(d));
		snprintf(why, size, "token: %s", d);
	}
}

/* --- 1. the same decisions ---------------------------------------------------------------- */

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

static struct mbx_principal *resolve(struct stack *s, enum lx_forest f, const char *dn,
                                     enum mbx_dir_status *st_r)
{
	struct token_ans a = {0};

	assert_non_null(mbx_principal_lookup(s->res[f], dn, token_cb, &a));
	run_until(&a.done, 10000);
	assert_true(a.done);
	if (st_r != NULL)
		*st_r = a.st;
	return a.p;
}

static struct stack *ldif_stack, *ldap_stack;

static void test_same_decisions(void **state)
{
	static struct outcome a, b;
	unsigned diffs = 0, unexpected = 0, tokens = 0;
	uint64_t t_ldif = 0, t_ldap = 0, t;
	char why[2048];

	(void)state;
	NEED_SLAPD();
	ldif_stack = calloc(1, sizeof(*ldif_stack));
	ldap_stack = calloc(1, sizeof(*ldap_stack));
	assert_non_null(ldif_stack);
	assert_non_null(ldap_stack);
	stack_init(ldif_stack, "ldif", false, false, 3600000, 1000, true);
	stack_init(ldap_stack, "ldap", true, true, 3600000, 1000, true);
	/* Every row, principal by DN: both backends, one after the other. */
	for (size_t i = 0; i < tab.nrows; i++) {
		const struct lx_row *r = &tab.rows[i];

		t = now_ms();
		run_row(ldif_stack, r, NULL, &a);
		t_ldif += now_ms() - t;
		t = now_ms();
		run_row(ldap_stack, r, NULL, &b);
		t_ldap += now_ms() - t;
		compare(&a, &b, why, sizeof(why));
		if (why[0] != '\0' && diffs++ < 20)
			print_message(
			        "DIFFERENT logon-expect.tsv:%u %s %s -> %s [%s]: ldif vs ldap: "
			        "%s\n",
			        r->line, lx_identities[r->identity].name, r->principal->alias,
			        r->mailbox->alias, r->flags->name, why);
		if (!lx_matches(r, &b.d, why, sizeof(why)) && unexpected++ < 20)
			print_message("UNEXPECTED (ldap) %s\n", why);
	}
	/* Every principal's token, in both forests. */
	for (size_t i = 0; i < tab.nprincipals; i++) {
		const struct lx_principal *p = &tab.principals[i];

		if (p->dn[0] == '\0')
			continue;
		for (int f = 0; f < LX_NFORESTS; f++) {
			enum mbx_dir_status sa, sb;
			struct mbx_principal *pa = resolve(ldif_stack, f, p->dn, &sa);
			struct mbx_principal *pb = resolve(ldap_stack, f, p->dn, &sb);

			render_token(pa, a.token, sizeof(a.token));
			render_token(pb, b.token, sizeof(b.token));
			if (sa != sb || strcmp(a.token, b.token) != 0) {
				first_diff(a.token, b.token, why, sizeof(why));
				print_message("DIFFERENT token of %s in forest %d: %s/%s %s\n",
				              p->alias, f, mbx_dir_status_name(sa),
				              mbx_dir_status_name(sb), why);
				diffs++;
			}
			tokens += sb == MBX_DIR_FOUND;
			mbx_principal_free(&pa);
			mbx_principal_free(&pb);
		}
	}
	print_message("equivalence: %zu logons through ldif (%llu ms) and ldap (%llu ms), "
	              "%u tokens: %u differences, %u unexpected\n",
	              tab.nrows, (unsigned long long)t_ldif, (unsigned long long)t_ldap, tokens,
	              diffs, unexpected);
	assert_true(tokens >= 9); /* 8 in Contoso, Erin in Fabrikam */
	if (diffs > 0 || unexpected > 0)
		fail_msg("ldif and ldap disagree (%u) or differ from the table (%u)", diffs,
		         unexpected);
}

/*
 * Regression: slapd compares legacyExchangeDN with caseIgnoreMatch, which drops leading and
 * trailing spaces and folds runs of spaces (RFC 4518 insignificant space handling), so an Essdn
 * that differs from alice's only in spaces used to find her through the ldap backend while the
 * ldif backend (exact, ASCII case folded) answered NOT_FOUND. The ldap backend now keeps only
 * entries whose value equals the key with ASCII case folded, so both must give ecUnknownUser.
 */
static void test_space_variants(void **state)
{
#define DOUBLE_SPACE "/o=Contoso/ou=Exchange Administrative  Group (FYDIBOHF23SPDLT)"
	static const char *const variants[] = {
	        RCPT "/cn=alice ",
	        " " RCPT "/cn=alice",
	        DOUBLE_SPACE "/cn=Recipients/cn=alice",
	};
#undef DOUBLE_SPACE
	static struct outcome a, b;
	unsigned diffs = 0;

	(void)state;
	NEED_SLAPD();
	if (ldap_stack == NULL) {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct mbx_logon_pipeline_who who = {.name = "alice", .dn = ALICE_DN};
		struct mbx_logon_req req = {0};
		struct outcome *o[2] = {&a, &b};
		struct stack *st[2] = {ldif_stack, ldap_stack};

		req.logon_flags = MBX_LOGON_PRIVATE;
		req.open_flags = MBX_OPEN_USE_PER_MDB_REPLID_MAPPING;
		req.essdn = variants[i];
		req.essdn_size = (uint16_t)(strlen(variants[i]) + 1);
		for (int k = 0; k < 2; k++) {
			memset(o[k], 0, sizeof(*o[k]));
			assert_non_null(mbx_logon_pipeline_start(st[k]->pl[0], &req, &who,
			                                         outcome_cb, o[k]));
			run_until(&o[k]->done, 10000);
			assert_true(o[k]->done);
		}
		if (a.d.ec != b.d.ec || a.d.ec != ecUnknownUser) {
			diffs++;
			print_message("space variant: Essdn \"%s\": ldif %s, ldap %s\n", variants[i],
			              ecname(a.d.ec), ecname(b.d.ec));
		}
	}
	if (diffs > 0)
		fail_msg("%u Essdns that differ from alice's only in spaces did not get ecUnknownUser "
		         "from both backends",
		         diffs);
}

/* --- 2. a change reaches the table -------------------------------------------------------- */

static const struct lx_row *find_row(const char *identity, const char *mailbox,
                                     const char *principal, const char *flags)
{
	for (size_t i = 0; i < tab.nrows; i++) {
		const struct lx_row *r = &tab.rows[i];

		if (strcmp(lx_identities[r->identity].name, identity) == 0 &&
		    strcmp(r->mailbox->alias, mailbox) == 0 &&
		    strcmp(r->principal->alias, principal) == 0 &&
		    strcmp(r->flags->name, flags) == 0)
			return r;
	}
	fail_msg("no row %s %s %s %s in logon-expect.tsv", identity, mailbox, principal, flags);
	return NULL;
}

static void wait_persisting(struct mbx_dir *d, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!dir_ldap_sync_persisting(d) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	if (!dir_ldap_sync_persisting(d))
		fail_msg("Content Sync not persisting after %u ms", ms);
}

/*
 * Starts ldapmodify with ldif and logs alice on again and again (every 5 ms, the token
 * resolved before) until the answer is want. Returns the delay from the start of
 * ldapmodify; *exit_r gets the delay from its end (negative: the answer came first). The
 * change is committed somewhere between the two, so the propagation delay lies between them:
 * the first is an upper bound that includes starting a process (slow on a loaded machine),
 * the second is the bound that is asserted.
 */
static uint64_t propagate(struct stack *s, const struct lx_row *r, const struct mbx_principal *tok,
                          const char *ldif, uint32_t want, long long *exit_r)
{
	struct outcome o;
	uint64_t t0, t_exit = 0, t_seen = 0, end;
	bool exited = false;
	pid_t pid = ldapmodify_start(primary, ldif, &t0);

	end = t0 + 5000;
	while (now_ms() < end) {
		run_row(s, r, tok, &o);
		child_done(pid, &exited, &t_exit);
		if (o.d.ec == want) {
			t_seen = o.t1;
			break;
		}
		run_for(5);
	}
	ldapmodify_wait(pid, &exited, &t_exit);
	if (t_seen == 0)
		fail_msg("%s never seen within 5 s of ldapmodify", ecname(want));
	*exit_r = (long long)t_seen - (long long)t_exit;
	return t_seen - t0;
}

static void test_change_within_a_second(void **state)
{
	const struct lx_row *r;
	struct outcome o;
	struct mbx_principal *tok;
	struct mbx_mailbox_table_stats st0, st1;
	uint64_t d1, d2;
	long long e1, e2;

	(void)state;
	NEED_SLAPD();
	if (ldap_stack == NULL) {
		skip();
		return;
	}
	r = find_row("server1", "alice", "alice", "home");
	tok = resolve(ldap_stack, LX_CONTOSO, ALICE_DN, NULL);
	assert_non_null(tok);
	wait_persisting(ldap_stack->dir[LX_CONTOSO], 5000);
	/* Cached: the TTL is an hour, so only a change notification can alter the answer. */
	run_row(ldap_stack, r, tok, &o);
	assert_int_equal(o.d.ec, ecNone);
	run_row(ldap_stack, r, tok, &o);
	assert_int_equal(o.d.ec, ecNone);
	assert_true(o.cached);
	mbx_mailbox_table_stats(ldap_stack->table[LX_CONTOSO], &st0);
	d1 = propagate(ldap_stack, r, tok,
	               "dn: " ALICE_DN "\nchangetype: modify\nreplace: msExchMailboxMoveStatus\n"
	               "msExchMailboxMoveStatus: 2\n-\nreplace: msExchMailboxMoveFlags\n"
	               "msExchMailboxMoveFlags: 2\n",
	               ecMailboxInTransit, &e1);
	mbx_mailbox_table_stats(ldap_stack->table[LX_CONTOSO], &st1);
	assert_true(st1.invalidations > st0.invalidations);
	run_row(ldap_stack, r, tok, &o);
	assert_int_equal(o.d.ec, ecMailboxInTransit);
	assert_int_equal(o.d.events[0], MBX_EV_LOGON_IN_TRANSIT);
	/* The move is aborted: back to ecNone. */
	d2 = propagate(ldap_stack, r, tok,
	               "dn: " ALICE_DN "\nchangetype: modify\ndelete: msExchMailboxMoveStatus\n"
	               "-\ndelete: msExchMailboxMoveFlags\n",
	               ecNone, &e2);
	print_message(
	        "propagation: move start seen %llu ms after ldapmodify started (%lld ms after "
	        "it exited); move abort seen %llu ms (%lld ms)\n",
	        (unsigned long long)d1, e1, (unsigned long long)d2, e2);
	mbx_principal_free(&tok);
	if (e1 >= 1000 || e2 >= 1000)
		fail_msg("a change took %lld / %lld ms after ldapmodify to reach the mailbox table "
		         "(bound: 1000)",
		         e1, e2);
	/* Done with the comparison stacks. */
	stack_deinit(ldif_stack);
	stack_deinit(ldap_stack);
	free(ldif_stack);
	free(ldap_stack);
	ldif_stack = ldap_stack = NULL;
}

/* --- 3-5. failover, outage, recovery ------------------------------------------------------ */

/* The stack that lives through 3, 4 and 5: provider + replica, Content Sync, a short TTL so
 * that logons keep reaching the directory, serve-stale for an hour, no limiter (the stream
 * logs on to moved mailboxes over and over). */
static struct stack *rs;
/* Rows streamed in 3: SERVER1, every principal, not henry's and ivan's mailboxes (kept
 * uncached for 4) and no row that expects ecUnknownUser (so any ecUnknownUser is wrong). */
static const struct lx_row *srows[LX_MAX_ROWS];
static size_t nsrows;
static struct mbx_principal *tokens[LX_MAX_PRINCIPALS];

static bool streamed(const struct lx_row *r)
{
	return strcmp(lx_identities[r->identity].name, "server1") == 0 &&
	       r->expect.ec != ecUnknownUser && strcmp(r->mailbox->alias, "henry") != 0 &&
	       strcmp(r->mailbox->alias, "ivan") != 0;
}

/* Waits until a replica-only directory shows alice without a move (the abort of 2 reached
 * it), so that the replica answers what the table expects. */
static void dn_cb(void *ctx, const struct mbx_dir_result *res)
{
	int *v = ctx;

	*v = res->status == MBX_DIR_FOUND
	             ? (mbx_dir_entry_str(res->entries[0], "msExchMailboxMoveStatus") == NULL ? 1
	                                                                                      : 2)
	             : 3;
}

static void wait_replica_synced(void)
{
	const char *uris[2] = {replica, NULL};
	struct mbx_dir_config dc = {0};
	struct mbx_dir *d;
	uint64_t end = now_ms() + 10000;
	char err[512];
	int v = 0;

	dc.backend = "ldap";
	dc.uris = uris;
	dc.base_dn = env("MBX_LDAP_BASE");
	dc.bind_dn = env("MBX_LDAP_BIND_DN");
	dc.bind_password_file = env("MBX_LDAP_PWFILE");
	dc.group_depth = 8;
	d = mbx_dir_new(base, &dc, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	while (now_ms() < end) {
		v = 0;
		assert_non_null(
		        mbx_dir_lookup(d, MBX_DIR_BY_DN, ALICE_DN, strlen(ALICE_DN), dn_cb, &v));
		while (v == 0)
			event_base_loop(base, EVLOOP_ONCE);
		if (v == 1)
			break;
		run_for(50);
	}
	mbx_dir_free(&d);
	if (v != 1)
		fail_msg("the replica still shows a move on alice after 10 s");
}

#define NSTREAM 1000

static struct {
	struct outcome o[NSTREAM];
	const struct mbx_principal *tok[NSTREAM];
	unsigned started;
} stream;

static const struct mbx_principal *token_of(const struct lx_principal *p)
{
	return tokens[p - tab.principals];
}

static void test_failover(void **state)
{
	unsigned fresh_after = 0, netfail = 0, stale = 0, ok = 0;
	uint64_t t_kill = 0, end, worst = 0, first_fresh_replica = 0;
	bool killed = false;

	(void)state;
	NEED_SLAPD();
	wait_replica_synced();
	rs = calloc(1, sizeof(*rs));
	assert_non_null(rs);
	stack_init(rs, "ldap", true, true, 100, 100, false);
	for (size_t i = 0; i < tab.nrows; i++)
		if (streamed(&tab.rows[i]))
			srows[nsrows++] = &tab.rows[i];
	assert_true(nsrows > 100);
	/* The sessions' tokens (half the stream uses them, half resolves by DN). */
	for (size_t i = 0; i < tab.nprincipals; i++)
		if (tab.principals[i].dn[0] != '\0')
			tokens[i] = resolve(rs, LX_CONTOSO, tab.principals[i].dn, NULL);
	wait_persisting(rs->dir[LX_CONTOSO], 5000);
	assert_string_equal(dir_ldap_active_uri(rs->dir[LX_CONTOSO]), primary);
	memset(&logcap, 0, sizeof(logcap));
	memset(&stream, 0, sizeof(stream));
	/* A logon every 5 ms for 3 s; the provider is SIGKILLed after 0.5 s. */
	{
		uint64_t t_start = now_ms(), next = t_start;

		end = t_start + 3000;
		while (stream.started < NSTREAM && now_ms() < end) {
			if (!killed && now_ms() >= t_start + 500) {
				t_kill = kill_instance(primary_pidfile);
				killed = true;
			}
			if (now_ms() >= next) {
				unsigned k = stream.started++;
				const struct lx_row *r = srows[k % nsrows];

				stream.tok[k] =
				        (k / nsrows) % 2 == 0 ? token_of(r->principal) : NULL;
				start_row(rs, r, stream.tok[k], &stream.o[k]);
				next += 5;
			}
			event_base_loop(base, EVLOOP_NONBLOCK);
			if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) == 0)
				event_base_loop(base, EVLOOP_ONCE);
		}
	}
	/* Let the last ones finish. */
	end = now_ms() + 10000;
	for (bool all = false; !all && now_ms() < end;) {
		all = true;
		for (unsigned k = 0; all && k < stream.started; k++)
			all = stream.o[k].done;
		if (!all)
			event_base_loop(base, EVLOOP_ONCE);
	}
	assert_true(killed);
	for (unsigned k = 0; k < stream.started; k++) {
		const struct outcome *o = &stream.o[k];
		const struct lx_row *r = o->row;
		char why[2048];

		if (!o->done)
			fail_msg("logon %u (logon-expect.tsv:%u) never answered", k, r->line);
		assert_int_equal(o->calls, 1);
		if (o->d.ec == ecUnknownUser)
			fail_msg("logon %u, %lld ms after the kill: ecUnknownUser for %s -> %s", k,
			         (long long)o->t0 - (long long)t_kill, r->principal->alias,
			         r->mailbox->alias);
		if (o->t1 - o->t0 > worst)
			worst = o->t1 - o->t0;
		if (o->d.ec == ecNetworkError) {
			netfail++;
		} else if (!lx_matches(r, &o->d, why, sizeof(why))) {
			fail_msg("logon %u during failover: %s", k, why);
		} else {
			ok++;
			stale += o->stale;
		}
		if (o->t0 > t_kill && !o->stale && o->d.ec != ecNetworkError && o->looked_up &&
		    !o->cached && first_fresh_replica == 0)
			first_fresh_replica = o->t1;
		/* Two seconds after the kill every logon gets its expected answer, fresh. */
		if (o->t0 >= t_kill + 2000) {
			if (o->d.ec == ecNetworkError || o->stale)
				fail_msg("logon %u, %llu ms after the kill: %s%s (%s -> %s)", k,
				         (unsigned long long)(o->t0 - t_kill), ecname(o->d.ec),
				         o->stale ? " from a stale snapshot" : "",
				         r->principal->alias, r->mailbox->alias);
			fresh_after++;
		}
	}
	print_message("failover: %u logons (%zu kinds), %u as expected (%u from stale snapshots), "
	              "%u ecNetworkError, 0 ecUnknownUser; first fresh answer %lld ms after the "
	              "kill; slowest logon %llu ms; %u logons started 2 s or more after the kill, "
	              "all fresh and as expected\n",
	              stream.started, nsrows, ok, stale, netfail,
	              first_fresh_replica != 0 ? (long long)(first_fresh_replica - t_kill) : -1LL,
	              (unsigned long long)worst, fresh_after);
	assert_true(fresh_after >= 20);
	assert_string_equal(dir_ldap_active_uri(rs->dir[LX_CONTOSO]), replica);
	assert_int_equal(logcap.down, 1);
	assert_int_equal(logcap.failover, 1);
	assert_int_equal(logcap.alldown, 0);
}

static void test_both_down(void **state)
{
	static const char *const uncached[] = {"henry", "ivan", "nobody", "never-seen"};
	uint64_t t_kill, worst = 0;
	unsigned n_stale = 0, n_really_stale = 0, n_net = 0, n_uncached = 0;
	char essdn[512];

	(void)state;
	NEED_SLAPD();
	if (rs == NULL) {
		skip();
		return;
	}
	/* A negative entry made while the replica still answers: once it has expired (100 ms),
	 * the outage must not turn it into "unknown user" again. */
	{
		const struct lx_row *nb = find_row("server1", "nobody", "alice", "home");
		struct outcome o;

		run_row(rs, nb, NULL, &o);
		assert_int_equal(o.d.ec, ecUnknownUser);
		run_for(150);
	}
	/* The snapshots of the stream are older than the TTL from here on. */
	t_kill = kill_instance(replica_pidfile);
	/* Every mailbox the stream cached: answered from its stale snapshot with the session's
	 * token; by DN the token cannot be had, which is ecNetworkError for a mailbox hosted
	 * here and irrelevant for the others. */
	for (size_t i = 0; i < nsrows; i++) {
		const struct lx_row *r = srows[i];
		const struct mbx_principal *tok = token_of(r->principal);

		/* With the session's token (when it has one), then by DN. */
		for (int pass = 0; pass < 2; pass++) {
			bool by_dn = pass == 1 || tok == NULL;
			struct outcome o;
			char why[2048];

			run_row(rs, r, by_dn ? NULL : tok, &o);
			if (o.t1 - o.t0 > worst)
				worst = o.t1 - o.t0;
			if (o.d.ec == ecUnknownUser)
				fail_msg("ecUnknownUser for %s -> %s with the directory down",
				         r->principal->alias, r->mailbox->alias);
			if (o.looked_up && !o.stale && !o.cached)
				fail_msg(
				        "%s -> %s: neither stale nor cached (%s) with both servers "
				        "down",
				        r->principal->alias, r->mailbox->alias, ecname(o.d.ec));
			if (by_dn && o.principal_needed && r->principal->dn[0] != '\0') {
				/* hosted here: the token cannot be read */
				if (o.d.ec != ecNetworkError)
					fail_msg("%s -> %s by DN, hosted here: %s, not "
					         "ecNetworkError",
					         r->principal->alias, r->mailbox->alias,
					         ecname(o.d.ec));
				n_net++;
			} else if (!lx_matches(r, &o.d, why, sizeof(why))) {
				fail_msg("stale answer differs: %s", why);
			} else {
				n_stale++;
				n_really_stale += o.stale;
			}
		}
	}
	/* Never cached (nobody: only as an expired negative entry): ecNetworkError. */
	for (size_t i = 0; i < sizeof(uncached) / sizeof(uncached[0]); i++) {
		struct mbx_logon_pipeline_who who = {.name = "alice", .token = tokens[0]};
		struct mbx_logon_req req = {0};
		struct outcome o = {0};

		snprintf(essdn, sizeof(essdn), RCPT "/cn=%s", uncached[i]);
		req.logon_flags = MBX_LOGON_PRIVATE;
		req.open_flags = MBX_OPEN_USE_PER_MDB_REPLID_MAPPING;
		req.essdn = essdn;
		req.essdn_size = (uint16_t)(strlen(essdn) + 1);
		o.t0 = now_ms();
		assert_non_null(mbx_logon_pipeline_start(rs->pl[0], &req, &who, outcome_cb, &o));
		run_until(&o.done, 10000);
		assert_true(o.done);
		if (o.t1 - o.t0 > worst)
			worst = o.t1 - o.t0;
		if (o.d.ec != ecNetworkError)
			fail_msg("%s, never cached, both servers down: %s (%s)", uncached[i],
			         ecname(o.d.ec), o.d.reason);
		assert_int_equal(o.state, MBX_MAILBOX_DIR_UNREACHABLE);
		n_uncached++;
	}
	print_message("outage: both servers down: %u logons answered as expected (%u from stale "
	              "snapshots, the others from the cache or the request), %u ecNetworkError (a "
	              "principal by DN on a mailbox hosted "
	              "here, or a mailbox never cached: %u), none ecUnknownUser; slowest answer "
	              "%llu ms; %llu ms in all\n",
	              n_stale, n_really_stale, n_net + n_uncached, n_uncached,
	              (unsigned long long)worst, (unsigned long long)(now_ms() - t_kill));
	assert_int_equal(logcap.alldown, 1);
}

static void test_recovery(void **state)
{
	const struct lx_row *r;
	struct outcome o;
	struct mbx_mailbox_table_stats st0, st1;
	uint64_t t0, end, t_ok = 0;
	long long e;
	uint64_t d;

	(void)state;
	NEED_SLAPD();
	if (rs == NULL) {
		skip();
		return;
	}
	r = find_row("server1", "alice", "alice", "home");
	ctl("restart contoso");
	t0 = now_ms();
	/* The same directory, table and pipeline: fresh answers again, by themselves. */
	end = t0 + 10000;
	while (now_ms() < end) {
		run_row(rs, r, NULL, &o);
		if (o.d.ec == ecNone && !o.stale) {
			t_ok = o.t1;
			break;
		}
		assert_true(o.d.ec != ecUnknownUser);
		run_for(20);
	}
	if (t_ok == 0)
		fail_msg("no fresh answer within 10 s of the provider's restart");
	assert_string_equal(dir_ldap_active_uri(rs->dir[LX_CONTOSO]), primary);
	assert_true(logcap.recovered >= 1);
	/* Mailboxes never cached before, by DN. */
	{
		const struct lx_row *h = find_row("server1", "henry", "henry", "home");
		const struct lx_row *iv = find_row("server1", "room1", "ivan", "admin");
		char why[2048];

		run_row(rs, h, NULL, &o);
		if (!lx_matches(h, &o.d, why, sizeof(why)))
			fail_msg("after recovery: %s", why);
		run_row(rs, iv, NULL, &o);
		if (!lx_matches(iv, &o.d, why, sizeof(why)))
			fail_msg("after recovery: %s", why);
	}
	/* Content Sync follows the provider again. The TTL of this table is short, so the
	 * answer alone does not show it: the table's invalidation counter does. */
	wait_persisting(rs->dir[LX_CONTOSO], 5000);
	mbx_mailbox_table_stats(rs->table[LX_CONTOSO], &st0);
	d = propagate(rs, r, tokens[0],
	              "dn: " ALICE_DN "\nchangetype: modify\nreplace: msExchMailboxMoveStatus\n"
	              "msExchMailboxMoveStatus: 4\n",
	              ecMailboxInTransit, &e);
	end = now_ms() + 2000;
	do {
		mbx_mailbox_table_stats(rs->table[LX_CONTOSO], &st1);
		if (st1.invalidations > st0.invalidations)
			break;
		run_for(5);
	} while (now_ms() < end);
	if (st1.invalidations == st0.invalidations)
		fail_msg("no change notification reached the table after the restart");
	print_message("recovery: fresh answers %llu ms after the provider's restart returned; "
	              "Content Sync resumed on it (a change seen %llu ms after ldapmodify started, "
	              "%lld ms after it exited)\n",
	              (unsigned long long)(t_ok - t0), (unsigned long long)d, e);
	{
		pid_t pid;
		uint64_t t;
		bool done = false;

		pid = ldapmodify_start(primary,
		                       "dn: " ALICE_DN "\nchangetype: modify\n"
		                       "delete: msExchMailboxMoveStatus\n",
		                       &t);
		ldapmodify_wait(pid, &done, &t);
	}
	for (size_t i = 0; i < LX_MAX_PRINCIPALS; i++)
		mbx_principal_free(&tokens[i]);
	stack_deinit(rs);
	free(rs);
	rs = NULL;
}

/* --- setup -------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	struct timeval tv = {0, 5000};

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	mbx_log_open_stderr("test-logon-ldap");
	mbx_log_set_level(getenv("MBX_TEST_VERBOSE") != NULL ? MBX_LOG_DEBUG : MBX_LOG_NOTICE);
	if (getenv("MBX_TEST_VERBOSE") != NULL)
		mbx_log_set_trace(MBX_TRACE_LDAP | MBX_TRACE_STORE, true);
	mbx_log_set_hook(log_hook, NULL);
	base = event_base_new();
	assert_non_null(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	assert_non_null(tick);
	event_add(tick, &tv);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-logon-ldap.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	if (have_slapd())
		lx_load(&tab);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[400];

	(void)state;
	for (size_t i = 0; i < LX_MAX_PRINCIPALS; i++)
		mbx_principal_free(&tokens[i]);
	if (ldif_stack != NULL) {
		stack_deinit(ldif_stack);
		free(ldif_stack);
	}
	if (ldap_stack != NULL) {
		stack_deinit(ldap_stack);
		free(ldap_stack);
	}
	if (rs != NULL) {
		stack_deinit(rs);
		free(rs);
	}
	event_free(tick);
	event_base_free(base);
	mbx_log_set_hook(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_decisions),
	        cmocka_unit_test(test_space_variants),
	        cmocka_unit_test(test_change_within_a_second),
	        cmocka_unit_test(test_failover),
	        cmocka_unit_test(test_both_down),
	        cmocka_unit_test(test_recovery),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
