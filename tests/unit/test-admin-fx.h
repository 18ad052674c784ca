/*
 * test-admin-fx.h: the fixture of the admin command tests (test-admin.c, test-admin-move.c;
 * header-only): a temporary copy of conf/directory.ldif on the ldif backend, a real
 * event_base, the mailbox table and an admin for this server (SERVER1 of Contoso, with the
 * fabrikam forest of store-fixtures.h), a runner that checks the answer never comes from
 * inside mbx_admin_run, log lines captured through mbx_log_set_hook, and readers for the LDIF
 * file as it is on disk.
 */
#ifndef TEST_ADMIN_FX_H
#define TEST_ADMIN_FX_H

#include "store-fixtures.h"

#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/admin.h"
#include "mbx/config.h"
#include "mbx/control.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/mailbox-table.h"

#define ALICE RCPT("alice")
#define GINA RCPT("gina")
#define ALICE_DN "cn=Alice Anders,cn=Users,dc=contoso,dc=com"
#define GINA_DN "cn=Gina Gray,cn=Users,dc=contoso,dc=com"
#define CAROL_DN "cn=Carol Clark,cn=Users,dc=contoso,dc=com"
#define DB_LEG(n) AG "/cn=Configuration/cn=Databases/cn=" n

#define AFX_MAX_LINES 256

struct afx {
	struct event_base *base;
	char dir[64];
	char path[128];
	struct mbx_dir *d;
	struct mbx_mailbox_table *t;
	struct mbx_admin *a;
	struct mbx_config cfg; /* only [servers] is filled */
	struct mbx_config_server servers[2];
	char *lines[AFX_MAX_LINES];
	size_t nlines;
};

struct answer {
	int calls;
	int exit;
	char *body;
	size_t len;
};

static struct afx *g_afx;

static inline void afx_log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct afx *fx = ctx;

	(void)level;
	if (fx != NULL && fx->nlines < AFX_MAX_LINES)
		fx->lines[fx->nlines++] = strdup(line);
}

static inline void afx_clear_lines(struct afx *fx)
{
	for (size_t i = 0; i < fx->nlines; i++)
		free(fx->lines[i]);
	fx->nlines = 0;
}

/* The captured line holding needle, or NULL. */
static inline const char *afx_line(struct afx *fx, const char *needle)
{
	for (size_t i = 0; i < fx->nlines; i++)
		if (strstr(fx->lines[i], needle) != NULL)
			return fx->lines[i];
	return NULL;
}

static inline size_t afx_count(struct afx *fx, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->nlines; i++)
		if (strstr(fx->lines[i], needle) != NULL)
			n++;
	return n;
}

static inline const char *afx_srcdir(void)
{
	const char *s = getenv("MBX_SRCDIR");

	return s != NULL ? s : ".";
}

static inline char *afx_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The LDIF file now, with folded lines joined. */
static inline char *afx_ldif(struct afx *fx)
{
	char *s = afx_read(fx->path), *w, *r;

	assert_non_null(s);
	for (r = w = s; *r != '\0'; r++) {
		if (r[0] == '\n' && r[1] == ' ') {
			r++;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* The entry dn as it is in the file now ("dn: ...\n" up to the empty line), malloc'ed. */
static inline char *afx_entry(struct afx *fx, const char *dn)
{
	char *all = afx_ldif(fx), *p, *end, *out, key[512];

	snprintf(key, sizeof(key), "\ndn: %s\n", dn);
	p = strstr(all, key);
	if (p == NULL)
		fail_msg("entry %s not in the LDIF file", dn);
	p++;
	end = strstr(p, "\n\n");
	if (end == NULL)
		end = p + strlen(p);
	else
		end++;
	out = strndup(p, (size_t)(end - p));
	free(all);
	assert_non_null(out);
	return out;
}

/* Whether the entry block holds the line "name: value" (exact line). */
static inline bool afx_has_line(const char *block, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = block; (p = strstr(p, line)) != NULL; p++)
		if ((p == block || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* Removes the lines of attribute name ("name: " or "name:: ") from block, in place. */
static inline void afx_drop_lines(char *block, const char *name)
{
	size_t n = strlen(name);
	char *r = block, *w = block;

	while (*r != '\0') {
		char *eol = strchr(r, '\n');
		size_t len = eol != NULL ? (size_t)(eol - r) + 1 : strlen(r);

		if (!(strncmp(r, name, n) == 0 && r[n] == ':')) {
			memmove(w, r, len);
			w += len;
		}
		r += len;
	}
	*w = '\0';
}

/* Whether the entry block has an attribute (any value). */
static inline bool afx_has_attr(const char *block, const char *name)
{
	char k1[128], k2[128];

	snprintf(k1, sizeof(k1), "\n%s: ", name);
	snprintf(k2, sizeof(k2), "\n%s:: ", name);
	return strstr(block, k1) != NULL || strstr(block, k2) != NULL;
}

static inline void afx_copy(const char *from, const char *to)
{
	char *data = afx_read(from);
	FILE *f;

	if (data == NULL)
		fail_msg("cannot read %s", from);
	f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
	free(data);
}

static inline struct mbx_admin *afx_admin(struct afx *fx, struct mbx_dir *d,
                                          int (*reload)(void *, char *, size_t))
{
	struct mbx_admin_deps deps;

	memset(&deps, 0, sizeof(deps));
	deps.base = fx->base;
	deps.dir = d;
	deps.table = fx->t;
	deps.id = &server1;
	deps.cfg = &fx->cfg;
	deps.fe = NULL;
	deps.reload = reload;
	deps.hook_ctx = fx;
	return mbx_admin_new(&deps);
}

static inline int afx_setup(void **state)
{
	struct afx *fx = calloc(1, sizeof(*fx));
	struct mbx_dir_config dc;
	struct mbx_mailbox_table_config tc;
	char src[4096], err[512] = "";

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	strcpy(fx->dir, "/tmp/test-admin.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/directory.ldif", fx->dir);
	snprintf(src, sizeof(src), "%s/conf/directory.ldif", afx_srcdir());
	afx_copy(src, fx->path);
	memset(&dc, 0, sizeof(dc));
	dc.backend = "ldif";
	dc.ldif_path = fx->path;
	dc.group_depth = 8;
	fx->d = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (fx->d == NULL)
		fail_msg("ldif backend: %s", err);
	memset(&tc, 0, sizeof(tc));
	tc.ttl_ms = 60000;
	tc.negative_ttl_ms = 10000;
	tc.stale_max_ms = 3600000;
	tc.max_entries = 100;
	mbx_dir_defer_init(&tc.defer, fx->base);
	fx->t = mbx_mailbox_table_new(fx->d, &tc);
	assert_non_null(fx->t);
	fx->servers[0].name = (char *)"SERVER1";
	fx->servers[0].url = (char *)"https://server1.contoso.com";
	fx->servers[1].name = (char *)"SERVER2";
	fx->servers[1].url = (char *)"https://server2.contoso.com";
	fx->cfg.servers = fx->servers;
	fx->cfg.nservers = 2;
	fx->a = afx_admin(fx, fx->d, NULL);
	assert_non_null(fx->a);
	mbx_log_set_hook(afx_log_hook, fx);
	g_afx = fx;
	*state = fx;
	return 0;
}

static inline int afx_teardown(void **state)
{
	struct afx *fx = *state;
	DIR *dh;
	struct dirent *de;
	char p[512];

	mbx_log_set_hook(NULL, NULL);
	assert_int_equal(mbx_admin_pending(fx->a), 0);
	mbx_admin_free(&fx->a);
	assert_null(fx->a);
	mbx_mailbox_table_free(&fx->t);
	mbx_dir_free(&fx->d);
	event_base_free(fx->base);
	afx_clear_lines(fx);
	dh = opendir(fx->dir);
	if (dh != NULL) {
		while ((de = readdir(dh)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
			unlink(p);
		}
		closedir(dh);
	}
	rmdir(fx->dir);
	free(fx);
	g_afx = NULL;
	return 0;
}

static inline void afx_answer_cb(void *ctx, int exit, const char *body, size_t len)
{
	struct answer *ans = ctx;

	ans->calls++;
	ans->exit = exit;
	free(ans->body);
	ans->body = malloc(len + 1);
	assert_non_null(ans->body);
	memcpy(ans->body, body, len);
	ans->body[len] = '\0';
	ans->len = len;
	/* the body is one line when the command failed */
	if (exit != MBX_CTL_OK)
		assert_null(memchr(body, '\n', len));
}

/* Runs argv on admin a (NULL-terminated list) and loops until the answer came (10 s at most).
 * Returns the exit status; *body_r (if not NULL) gets the body (free it). */
static inline int afx_run_on(struct afx *fx, struct mbx_admin *a, bool json, char **body_r,
                             const char *arg0, ...)
{
	const char *argv[16];
	struct answer ans = {0};
	int argc = 0;
	va_list ap;
	time_t deadline = time(NULL) + 10;

	va_start(ap, arg0);
	for (const char *s = arg0; s != NULL && argc < 16; s = va_arg(ap, const char *))
		argv[argc++] = s;
	va_end(ap);
	mbx_admin_run(a, argc, argv, json, "uid 1000", afx_answer_cb, &ans);
	assert_int_equal(ans.calls, 0); /* never from inside the call */
	while (ans.calls == 0 && time(NULL) < deadline)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(ans.calls, 1);
	assert_int_equal(mbx_admin_pending(a), 0);
	if (body_r != NULL)
		*body_r = ans.body;
	else
		free(ans.body);
	return ans.exit;
}

#define afx_run(fx, body_r, ...) afx_run_on((fx), (fx)->a, false, (body_r), __VA_ARGS__, NULL)
#define afx_run_json(fx, body_r, ...) afx_run_on((fx), (fx)->a, true, (body_r), __VA_ARGS__, NULL)

/* The value of "key:" in a text answer (up to the end of its line), into buf. */
static inline const char *afx_value(const char *body, const char *key, char *buf, size_t size)
{
	char k[128];
	const char *p, *e;

	snprintf(k, sizeof(k), "%s:", key);
	for (p = body; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, k, strlen(k)) != 0)
			continue;
		p += strlen(k);
		while (*p == ' ')
			p++;
		e = strchr(p, '\n');
		snprintf(buf, size, "%.*s", (int)(e != NULL ? e - p : (ptrdiff_t)strlen(p)), p);
		return buf;
	}
	fail_msg("no \"%s\" line in:\n%s", key, body);
	return NULL;
}

#endif
