/*
 * test-dir-ldif.c: the common directory layer (src/directory/directory.c) and the embedded
 * `ldif` backend (src/directory/dir-ldif.c) of include/mbx/directory.h, design.md "Directory
 * backends": loading and its error messages, every lookup kind, delivery from the event loop,
 * cancellation, password schemes, atomic modification and write-back, reload notifications.
 * Fixtures: tests/unit/data/ldif/ (line numbers in basic.ldif matter).
 */
#include "mbx-test.h"

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "directory/dir-ldif.h"
#include "mbx/directory.h"
#include "mbx/log.h"

#define ALICE "CN=Alice Adams,OU=Users,DC=contoso,DC=example"
#define BOB "CN=Bob Brown,OU=Users,DC=contoso,DC=example"
#define CAROL "CN=Carol Clark,OU=Users,DC=contoso,DC=example"
#define SALES "CN=Sales,OU=Groups,DC=contoso,DC=example"
#define MANAGERS "CN=Managers,OU=Groups,DC=contoso,DC=example"
#define RDU_CONTOSO "CN=Remote Desktop Users,CN=Builtin,DC=contoso,DC=example"
#define RDU_FABRIKAM "CN=Remote Desktop Users,CN=Builtin,DC=fabrikam,DC=example"
#define LEG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
#define DOMSID "S-1-5-21-1004336348-1177238915-682003330"

/* --- helpers ----------------------------------------------------------------------------- */

struct fx {
	struct event_base *base;
	char dir[64];
	char path[128];
	struct mbx_dir *d;
};

static const char *srcdir(void)
{
	const char *s = getenv("MBX_SRCDIR");

	return s != NULL ? s : ".";
}

static char *read_all(const char *path, size_t *len_r)
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
	if (len_r != NULL)
		*len_r = (size_t)n;
	return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *fixture(const char *name, size_t *len_r)
{
	char path[4096];
	char *s;

	snprintf(path, sizeof(path), "%s/tests/unit/data/ldif/%s", srcdir(), name);
	s = read_all(path, len_r);
	if (s == NULL)
		fail_msg("cannot read fixture %s", path);
	return s;
}

/* A fresh folder with `name` copied in as dir.ldif (not loaded). */
static struct fx *fx_new(const char *name)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	size_t len;
	char *data;

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	strcpy(fx->dir, "/tmp/test-dir-ldif.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/dir.ldif", fx->dir);
	if (name != NULL) {
		data = fixture(name, &len);
		write_all(fx->path, data, len);
		free(data);
	}
	return fx;
}

static struct mbx_dir *fx_open(struct fx *fx, const struct mbx_dir_attrmap *map, size_t nmap,
			       char *err, size_t errsize)
{
	struct mbx_dir_config cfg = {
		.backend = "ldif",
		.ldif_path = fx->path,
		.attrmap = map,
		.nattrmap = nmap,
		.group_depth = 8,
	};

	return mbx_dir_new(fx->base, &cfg, err, errsize);
}

static void fx_load(struct fx *fx)
{
	char err[512] = "";

	fx->d = fx_open(fx, NULL, 0, err, sizeof(err));
	if (fx->d == NULL)
		fail_msg("load failed: %s", err);
}

static void fx_free(struct fx *fx)
{
	DIR *dh;
	struct dirent *de;
	char p[512];

	mbx_dir_free(&fx->d);
	assert_null(fx->d);
	event_base_free(fx->base);
	chmod(fx->dir, 0700);
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
}

/* Files in the folder besides dir.ldif (leftover temporary files). */
static int fx_stray_files(struct fx *fx)
{
	DIR *dh = opendir(fx->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(dh);
	while ((de = readdir(dh)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "dir.ldif") != 0)
			n++;
	}
	closedir(dh);
	return n;
}

/* What a callback saw. */
struct got {
	int calls;
	enum mbx_dir_status status;
	char message[256];
	size_t n;
	char dn[8][256];
	struct mbx_dir_entry *first; /* a copy of entries[0] */
	const bool *flag;            /* must be true when the callback runs */
	bool flag_seen;
};

static void got_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct got *g = ctx;

	g->calls++;
	g->status = res->status;
	snprintf(g->message, sizeof(g->message), "%s", res->message ? res->message : "");
	g->n = res->nentries;
	assert_non_null(res->server);
	if (res->status == MBX_DIR_FOUND)
		assert_true(res->nentries >= 1);
	else
		assert_int_equal(res->nentries, 0);
	for (size_t i = 0; i < res->nentries && i < 8; i++)
		snprintf(g->dn[i], sizeof(g->dn[i]), "%s", res->entries[i]->dn);
	mbx_dir_entry_free(&g->first);
	if (res->nentries > 0)
		g->first = mbx_dir_entry_dup(res->entries[0]);
	if (g->flag != NULL)
		g->flag_seen = *g->flag;
}

static void got_reset(struct got *g)
{
	mbx_dir_entry_free(&g->first);
	memset(g, 0, sizeof(*g));
}

/* One lookup, run to completion. */
static void lookup(struct fx *fx, enum mbx_dir_key kind, const void *key, size_t keylen,
		   struct got *g)
{
	got_reset(g);
	assert_non_null(mbx_dir_lookup(fx->d, kind, key, keylen, got_cb, g));
	assert_int_equal(g->calls, 0);
	assert_int_not_equal(event_base_dispatch(fx->base), -1);
	assert_int_equal(g->calls, 1);
}

static void lookup_s(struct fx *fx, enum mbx_dir_key kind, const char *key, struct got *g)
{
	lookup(fx, kind, key, strlen(key), g);
}

static void expect_found(struct fx *fx, enum mbx_dir_key kind, const char *key,
			 const char *dn)
{
	struct got g = {0};

	lookup_s(fx, kind, key, &g);
	if (g.status != MBX_DIR_FOUND)
		fail_msg("%s %s: %s (%s)", mbx_dir_key_name(kind), key,
			 mbx_dir_status_name(g.status), g.message);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.dn[0], dn);
	got_reset(&g);
}

static void expect_status(struct fx *fx, enum mbx_dir_key kind, const char *key,
			  enum mbx_dir_status st)
{
	struct got g = {0};

	lookup_s(fx, kind, key, &g);
	if (g.status != st)
		fail_msg("%s %s: %s, expected %s", mbx_dir_key_name(kind), key,
			 mbx_dir_status_name(g.status), mbx_dir_status_name(st));
	got_reset(&g);
}

/* S-1-5-... as bytes. */
static size_t sid_bytes(const char *s, uint8_t out[68])
{
	unsigned long long auth;
	size_t n = 0;
	const char *p;
	char *end;

	assert_int_equal(strncmp(s, "S-1-", 4), 0);
	auth = strtoull(s + 4, &end, 10);
	out[0] = 1;
	for (int i = 0; i < 6; i++)
		out[2 + i] = (uint8_t)(auth >> (8 * (5 - i)));
	for (p = end; *p == '-'; p = end) {
		unsigned long v = strtoul(p + 1, &end, 10);

		for (int i = 0; i < 4; i++)
			out[8 + 4 * n + i] = (uint8_t)(v >> (8 * i));
		n++;
	}
	out[1] = (uint8_t)n;
	return 8 + 4 * n;
}

/* Change notifications seen. */
struct changes {
	int n;
	char dn[32][256];
	char legacy[32][256];
};

static void changes_cb(void *ctx, const char *dn, const char *legacy)
{
	struct changes *c = ctx;

	assert_true(c->n < 32);
	snprintf(c->dn[c->n], sizeof(c->dn[0]), "%s", dn);
	snprintf(c->legacy[c->n], sizeof(c->legacy[0]), "%s", legacy ? legacy : "(none)");
	c->n++;
}

static int changes_count(const struct changes *c, const char *dn)
{
	int k = 0;

	for (int i = 0; i < c->n; i++)
		k += strcmp(c->dn[i], dn) == 0;
	return k;
}

/* Entries equal, attribute and value order included. */
static void assert_entry_equal(const struct mbx_dir_entry *a, const struct mbx_dir_entry *b)
{
	assert_string_equal(a->dn, b->dn);
	assert_int_equal(a->nattrs, b->nattrs);
	for (size_t i = 0; i < a->nattrs; i++) {
		assert_string_equal(a->attrs[i].name, b->attrs[i].name);
		assert_int_equal(a->attrs[i].nvals, b->attrs[i].nvals);
		for (size_t j = 0; j < a->attrs[i].nvals; j++) {
			assert_int_equal(a->attrs[i].vals[j].len, b->attrs[i].vals[j].len);
			assert_memory_equal(a->attrs[i].vals[j].data, b->attrs[i].vals[j].data,
					    a->attrs[i].vals[j].len);
			assert_int_equal(a->attrs[i].vals[j].data[a->attrs[i].vals[j].len], 0);
		}
	}
}

static void assert_dirs_equal(const struct mbx_dir *a, const struct mbx_dir *b)
{
	assert_int_equal(dir_ldif_count(a), dir_ldif_count(b));
	for (size_t i = 0; i < dir_ldif_count(a); i++)
		assert_entry_equal(dir_ldif_entry(a, i), dir_ldif_entry(b, i));
}

/* Loads fx->path again into a second directory and compares. */
static void assert_disk_equals_memory(struct fx *fx)
{
	char err[512];
	struct mbx_dir *again = fx_open(fx, NULL, 0, err, sizeof(err));

	if (again == NULL)
		fail_msg("written file does not load: %s", err);
	assert_dirs_equal(fx->d, again);
	mbx_dir_free(&again);
}

/* Log lines captured through the log hook. */
static char log_lines[4096];

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	size_t n = strlen(log_lines);

	snprintf(log_lines + n, sizeof(log_lines) - n, "%s\n", line);
}

/* --- loading ----------------------------------------------------------------------------- */

static void test_load_basic(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	const struct mbx_dir_entry *e;
	const uint8_t *guid;
	size_t len;

	fx_load(fx);
	assert_int_equal(dir_ldif_count(fx->d), 9);
	e = dir_ldif_entry(fx->d, 0);
	assert_string_equal(e->dn, "DC=contoso,DC=example");
	e = dir_ldif_entry(fx->d, 1);
	assert_string_equal(e->dn, ALICE);
	/* attributes in file order, multi-valued ones together */
	assert_string_equal(e->attrs[0].name, "objectClass");
	assert_int_equal(e->attrs[0].nvals, 3);
	assert_string_equal(e->attrs[1].name, "cn");
	assert_true(mbx_dir_entry_has_class(e, "USER"));
	assert_false(mbx_dir_entry_has_class(e, "group"));
	assert_string_equal(mbx_dir_entry_str(e, "legacyexchangedn"), LEG "alice");
	/* a folded line: the newline and one space go */
	assert_string_equal(mbx_dir_entry_str(e, "description"), "a folded line");
	guid = mbx_dir_entry_bin(e, "msExchMailboxGuid", &len);
	assert_int_equal(len, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(guid[i], 0x10 + i);
	assert_null(mbx_dir_entry_str(e, "telephoneNumber"));
	assert_null(mbx_dir_entry_bin(e, "telephoneNumber", &len));
	assert_int_equal(len, 0);
	assert_null(dir_ldif_entry(fx->d, 9));
	/* "changetype: add" record; base64 UTF-8 value */
	e = dir_ldif_entry(fx->d, 2);
	assert_string_equal(e->dn, BOB);
	assert_null(mbx_dir_entry_attr(e, "changetype"));
	assert_string_equal(mbx_dir_entry_str(e, "description"), "B\xc3\xbcro 3");
	fx_free(fx);
}

static void test_load_bad_files(void **state)
{
	static const struct {
		const char *file;
		const char *msg; /* after "dir.ldif:" */
	} rows[] = {
		{"bad-base64.ldif", "3: bad base64 value"},
		{"bad-truncated.ldif", "3: bad base64 value"},
		{"bad-nodn.ldif", "5: record does not start with dn:"},
		{"bad-nocolon.ldif", "3: line without ':'"},
		{"bad-continuation.ldif", "4: continuation line without a line to continue"},
		{"bad-nul.ldif", "2: NUL byte"},
		{"bad-dupdn.ldif", "4: duplicate dn \"CN=A , DC=Example\" (first at line 1)"},
		{"bad-member.ldif", "4: member value is not a DN"},
		{"bad-changetype.ldif", "2: changetype: modify is not supported"},
		{"bad-include.ldif", "4: include: is not supported"},
		{"bad-url.ldif", "3: URL values (:<) are not supported"},
		{"bad-seconddn.ldif", "3: second dn: line"},
		{"bad-dupvalue.ldif", "1: entry \"cn=a,dc=example\": attribute mail has a value"},
		{"bad-attrname.ldif", "3: bad attribute name \"bad name\""},
		{"bad-dn.ldif", "1: dn is not a DN"},
		{"crlf.ldif", "10: line without ':'"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fx *fx = fx_new(rows[i].file);
		char err[512] = "", want[512];

		snprintf(want, sizeof(want), "%s:%s", fx->path, rows[i].msg);
		assert_null(fx_open(fx, NULL, 0, err, sizeof(err)));
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: got \"%s\", want \"%s...\"", rows[i].file, err, want);
		fx_free(fx);
	}
}

static void test_load_limits(void **state)
{
	struct fx *fx = fx_new(NULL);
	char err[512] = "", want[256];
	size_t n = DIR_LDIF_MAX_LINE + 64;
	char *big = malloc(n + 1);
	int len;

	/* a line one byte over the limit fails, one at the limit loads */
	assert_non_null(big);
	len = snprintf(big, n, "dn: cn=a,dc=example\ndescription: ");
	memset(big + len, 'x', DIR_LDIF_MAX_LINE - 13 + 1);
	big[len + DIR_LDIF_MAX_LINE - 13 + 1] = '\n';
	write_all(fx->path, big, (size_t)len + DIR_LDIF_MAX_LINE - 13 + 2);
	assert_null(fx_open(fx, NULL, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: line longer than", fx->path);
	assert_non_null(strstr(err, want));
	big[len + DIR_LDIF_MAX_LINE - 13] = '\n';
	write_all(fx->path, big, (size_t)len + DIR_LDIF_MAX_LINE - 13 + 1);
	fx_load(fx);
	assert_int_equal(strlen(mbx_dir_entry_str(dir_ldif_entry(fx->d, 0), "description")),
			 DIR_LDIF_MAX_LINE - 13);
	mbx_dir_free(&fx->d);
	free(big);

	/* empty file, comment-only file, version-only file: empty directories */
	write_all(fx->path, "", 0);
	fx_load(fx);
	assert_int_equal(dir_ldif_count(fx->d), 0);
	expect_status(fx, MBX_DIR_BY_DN, "cn=a,dc=example", MBX_DIR_NOT_FOUND);
	mbx_dir_free(&fx->d);
	write_all(fx->path, "# nothing\n\n", 11);
	fx_load(fx);
	assert_int_equal(dir_ldif_count(fx->d), 0);
	mbx_dir_free(&fx->d);
	write_all(fx->path, "version: 1\n\ndn: cn=a,dc=x\n", 26);
	fx_load(fx);
	assert_int_equal(dir_ldif_count(fx->d), 1);
	mbx_dir_free(&fx->d);
	/* no newline at the end; an entry without attributes */
	write_all(fx->path, "dn: cn=a,dc=x\n\ndn: cn=b,dc=x\ncn: b", 34);
	fx_load(fx);
	assert_int_equal(dir_ldif_count(fx->d), 2);
	assert_int_equal(dir_ldif_entry(fx->d, 0)->nattrs, 0);
	assert_string_equal(mbx_dir_entry_str(dir_ldif_entry(fx->d, 1), "cn"), "b");
	mbx_dir_free(&fx->d);
	/* version 2 is refused; so is a missing file */
	write_all(fx->path, "version: 2\ndn: cn=a,dc=x\n", 25);
	assert_null(fx_open(fx, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "dir.ldif:1: unsupported LDIF version"));
	unlink(fx->path);
	assert_null(fx_open(fx, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "dir.ldif: cannot open: No such file"));
	fx_free(fx);
}

/* Every prefix of a valid file loads or fails with a message: never a crash or a leak. */
static void test_load_truncation_sweep(void **state)
{
	struct fx *fx = fx_new(NULL);
	size_t len;
	char *data = fixture("basic.ldif", &len);
	int ok = 0, bad = 0;

	for (size_t n = 0; n <= len; n++) {
		char err[512] = "";
		struct mbx_dir *d;

		write_all(fx->path, data, n);
		d = fx_open(fx, NULL, 0, err, sizeof(err));
		if (d != NULL) {
			ok++;
			mbx_dir_free(&d);
		} else {
			bad++;
			assert_int_equal(strncmp(err, fx->path, strlen(fx->path)), 0);
		}
	}
	assert_true(ok > 0 && bad > 0);
	free(data);
	fx_free(fx);
}

static void test_backend_names(void **state)
{
	struct event_base *base = event_base_new();
	struct mbx_dir_config cfg = {.backend = "ldap"};
	const struct mbx_dir_attrmap dupmap[] = {{"mail", "x-mail"}, {"mail", "y-mail"}};
	const struct mbx_dir_attrmap emptymap[] = {{"mail", ""}};
	char err[256];

	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	/* "ldap" is a built-in backend: mbx_dir_new reaches its constructor, which checks the
	 * configuration. */
	assert_string_equal(err, "ldap backend: no server URIs configured");
	cfg.backend = "ldapx";
	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	assert_string_equal(err, "unknown directory backend \"ldapx\"");
	cfg.backend = NULL;
	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	cfg.backend = "ldif";
	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	assert_string_equal(err, "ldif backend: no file configured");
	cfg.ldif_path = "/nonexistent";
	cfg.attrmap = dupmap;
	cfg.nattrmap = 2;
	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "conflicts"));
	cfg.attrmap = emptymap;
	cfg.nattrmap = 1;
	assert_null(mbx_dir_new(base, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
	assert_string_equal(mbx_dir_status_name(MBX_DIR_TEMPFAIL), "temporary failure");
	assert_string_equal(mbx_dir_key_name(MBX_DIR_BY_LEGACYDN), "legacyExchangeDN");
	mbx_dir_free(NULL);
	mbx_dir_cancel(NULL);
	event_base_free(base);
}

/* --- lookups ----------------------------------------------------------------------------- */

static void test_lookup_dn(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got g = {0};

	fx_load(fx);
	expect_found(fx, MBX_DIR_BY_DN, ALICE, ALICE);
	expect_found(fx, MBX_DIR_BY_DN, "cn=alice adams,ou=users,dc=contoso,dc=example", ALICE);
	expect_found(fx, MBX_DIR_BY_DN, " CN = Alice Adams , OU=USERS,DC=Contoso,DC=Example ",
		     ALICE);
	expect_found(fx, MBX_DIR_BY_DN, "cn=alice\\20adams,ou=users,dc=contoso,dc=example",
		     ALICE);
	expect_status(fx, MBX_DIR_BY_DN, "CN=Alice Adam,OU=Users,DC=contoso,DC=example",
		      MBX_DIR_NOT_FOUND);
	expect_status(fx, MBX_DIR_BY_DN, "CN=Alice Adams,OU=Users,DC=contoso",
		      MBX_DIR_NOT_FOUND);
	/* not a DN: a bad request, not "not found" */
	lookup_s(fx, MBX_DIR_BY_DN, "cn=a,,dc=x", &g);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	assert_string_equal(g.message, "invalid DN syntax");
	/* the copy handed out is complete */
	lookup_s(fx, MBX_DIR_BY_DN, ALICE, &g);
	assert_entry_equal(g.first, dir_ldif_entry(fx->d, 1));
	got_reset(&g);
	fx_free(fx);
}

static void test_lookup_strings(void **state)
{
	struct fx *fx = fx_new("basic.ldif");

	fx_load(fx);
	expect_found(fx, MBX_DIR_BY_LEGACYDN, LEG "alice", ALICE);
	expect_found(fx, MBX_DIR_BY_LEGACYDN,
		     "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/"
		     "CN=BOB",
		     BOB);
	expect_status(fx, MBX_DIR_BY_LEGACYDN, LEG "alic", MBX_DIR_NOT_FOUND);
	expect_status(fx, MBX_DIR_BY_LEGACYDN, LEG "alice ", MBX_DIR_NOT_FOUND);
	/* an X500 proxy address is an old legacyExchangeDN (test-dir-ldif-report.c) */
	expect_found(fx, MBX_DIR_BY_LEGACYDN,
		     "/o=Old/ou=First Administrative Group/cn=Recipients/cn=alice", ALICE);

	expect_found(fx, MBX_DIR_BY_SMTP, "alice@contoso.example", ALICE);  /* mail, SMTP: */
	expect_found(fx, MBX_DIR_BY_SMTP, "A.Adams@Contoso.Example", ALICE); /* smtp: */
	expect_found(fx, MBX_DIR_BY_SMTP, "bob.brown@contoso.example", BOB); /* mail only */
	expect_found(fx, MBX_DIR_BY_SMTP, "CAROL@contoso.example", CAROL);   /* SMTP: only */
	expect_status(fx, MBX_DIR_BY_SMTP, "smtp:alice@contoso.example", MBX_DIR_NOT_FOUND);
	expect_status(fx, MBX_DIR_BY_SMTP,
		      "/o=Old/ou=First Administrative Group/cn=Recipients/cn=alice",
		      MBX_DIR_NOT_FOUND);
	expect_status(fx, MBX_DIR_BY_SMTP, "", MBX_DIR_NOT_FOUND);

	expect_found(fx, MBX_DIR_BY_LOGIN, "alice", ALICE);
	expect_found(fx, MBX_DIR_BY_LOGIN, "ALICE", ALICE);
	expect_found(fx, MBX_DIR_BY_LOGIN, "Alice@Contoso.Example", ALICE);
	expect_found(fx, MBX_DIR_BY_LOGIN, "carol", CAROL);
	expect_status(fx, MBX_DIR_BY_LOGIN, "carol@contoso.example", MBX_DIR_NOT_FOUND);
	expect_status(fx, MBX_DIR_BY_LOGIN, "CONTOSO\\alice", MBX_DIR_NOT_FOUND);
	fx_free(fx);
}

static void test_lookup_sid(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	uint8_t sid[68];
	size_t n;
	struct got g = {0};

	fx_load(fx);
	n = sid_bytes(DOMSID "-1104", sid);
	lookup(fx, MBX_DIR_BY_SID, sid, n, &g);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.dn[0], ALICE);
	/* the same SID in two domains: both, in file order */
	n = sid_bytes("S-1-5-32-555", sid);
	lookup(fx, MBX_DIR_BY_SID, sid, n, &g);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.dn[0], RDU_CONTOSO);
	assert_string_equal(g.dn[1], RDU_FABRIKAM);
	/* a prefix of a SID, or a longer one, is another SID */
	lookup(fx, MBX_DIR_BY_SID, sid, n - 1, &g);
	assert_int_equal(g.status, MBX_DIR_NOT_FOUND);
	n = sid_bytes("S-1-5-32-555-1", sid);
	lookup(fx, MBX_DIR_BY_SID, sid, n, &g);
	assert_int_equal(g.status, MBX_DIR_NOT_FOUND);
	n = sid_bytes("S-1-5-32-544", sid);
	lookup(fx, MBX_DIR_BY_SID, sid, n, &g);
	assert_int_equal(g.status, MBX_DIR_NOT_FOUND);
	lookup(fx, MBX_DIR_BY_SID, sid, 0, &g);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	got_reset(&g);
	fx_free(fx);
}

static void test_lookup_member(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got g = {0};

	fx_load(fx);
	lookup_s(fx, MBX_DIR_BY_MEMBER, ALICE, &g);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.dn[0], SALES);
	assert_string_equal(g.dn[1], MANAGERS);
	/* the file spells bob's member value with other case and spaces */
	expect_found(fx, MBX_DIR_BY_MEMBER, BOB, SALES);
	expect_found(fx, MBX_DIR_BY_MEMBER, "cn=sales,ou=groups,dc=contoso,dc=example", MANAGERS);
	expect_found(fx, MBX_DIR_BY_MEMBER, CAROL, RDU_FABRIKAM);
	expect_status(fx, MBX_DIR_BY_MEMBER, MANAGERS, MBX_DIR_NOT_FOUND);
	lookup_s(fx, MBX_DIR_BY_MEMBER, "not a dn", &g);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	got_reset(&g);
	fx_free(fx);
}

static void test_lookup_bad_requests(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got g = {0};

	fx_load(fx);
	assert_null(mbx_dir_lookup(NULL, MBX_DIR_BY_DN, ALICE, 0, got_cb, &g));
	assert_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, NULL, 0, got_cb, &g));
	assert_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, NULL, &g));
	assert_null(mbx_dir_lookup(fx->d, (enum mbx_dir_key)99, ALICE, 0, got_cb, &g));
	assert_null(mbx_dir_check_password(fx->d, ALICE, NULL, got_cb, &g));
	assert_null(mbx_dir_modify(fx->d, ALICE, NULL, 1, got_cb, &g));
	assert_int_equal(event_base_loop(fx->base, EVLOOP_NONBLOCK), 1); /* nothing pending */
	assert_int_equal(g.calls, 0);
	fx_free(fx);
}

/* --- delivery ---------------------------------------------------------------------------- */

struct chain {
	struct fx *fx;
	bool started; /* set after mbx_dir_lookup returned */
	struct got inner;
	int outer_calls;
	bool inner_done_in_outer;
};

static void chain_outer_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct chain *c = ctx;

	assert_true(c->started);
	c->outer_calls++;
	/* a request started inside a callback completes later */
	c->inner.flag = NULL;
	assert_non_null(mbx_dir_lookup(c->fx->d, MBX_DIR_BY_LOGIN, "bob", 0, got_cb, &c->inner));
	c->inner_done_in_outer = c->inner.calls != 0;
}

static void test_never_reentrant(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got g = {0};
	bool flag = false;
	struct chain c = {.fx = fx};

	fx_load(fx);
	/* every kind of request, answer known at once: still delivered from the loop */
	g.flag = &flag;
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, got_cb, &g));
	flag = true;
	assert_int_equal(g.calls, 0);
	event_base_dispatch(fx->base);
	assert_int_equal(g.calls, 1);
	assert_true(g.flag_seen);

	flag = false;
	g.flag_seen = false;
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, "nobody", 0, got_cb, &g));
	assert_non_null(mbx_dir_check_password(fx->d, ALICE, "x", got_cb, &g));
	assert_non_null(mbx_dir_modify(fx->d, "cn=nobody", NULL, 0, got_cb, &g));
	flag = true;
	assert_int_equal(g.calls, 1);
	event_base_dispatch(fx->base);
	assert_int_equal(g.calls, 4);
	assert_true(g.flag_seen);

	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, chain_outer_cb, &c));
	c.started = true;
	event_base_dispatch(fx->base);
	assert_int_equal(c.outer_calls, 1);
	assert_false(c.inner_done_in_outer);
	assert_int_equal(c.inner.calls, 1);
	assert_string_equal(c.inner.dn[0], BOB);
	got_reset(&c.inner);
	got_reset(&g);
	fx_free(fx);
}

static void test_cancel(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got a = {0}, b = {0}, c = {0};
	struct mbx_dir_req *ra, *rc;
	const struct mbx_dir_value v = {(uint8_t *)"x", 1};
	const struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "description", &v, 1};

	fx_load(fx);
	ra = mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, got_cb, &a);
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, BOB, 0, got_cb, &b));
	rc = mbx_dir_check_password(fx->d, ALICE, "x", got_cb, &c);
	assert_non_null(ra);
	assert_non_null(rc);
	mbx_dir_cancel(ra);
	mbx_dir_cancel(rc);
	event_base_dispatch(fx->base);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 0);
	/* a cancelled modification is still applied: only its callback goes */
	ra = mbx_dir_modify(fx->d, ALICE, &mod, 1, got_cb, &a);
	assert_non_null(ra);
	mbx_dir_cancel(ra);
	event_base_dispatch(fx->base);
	assert_int_equal(a.calls, 0);
	assert_string_equal(mbx_dir_entry_str(dir_ldif_entry(fx->d, 1), "description"), "x");
	/* pending requests go with the directory, without callbacks */
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, got_cb, &a));
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_LOGIN, "bob", 0, got_cb, &a));
	mbx_dir_free(&fx->d);
	event_base_dispatch(fx->base);
	assert_int_equal(a.calls, 0);
	got_reset(&a);
	got_reset(&b);
	got_reset(&c);
	fx_free(fx);
}

/* A callback that frees the directory and cancels its own request: both must be safe. */
struct selfish {
	struct fx *fx;
	struct mbx_dir_req *req;
	int calls;
};

static void selfish_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct selfish *s = ctx;

	s->calls++;
	mbx_dir_cancel(s->req);
	mbx_dir_free(&s->fx->d);
}

static void test_free_inside_callback(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct selfish s = {.fx = fx};
	struct got g = {0};

	fx_load(fx);
	s.req = mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, ALICE, 0, selfish_cb, &s);
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_DN, BOB, 0, got_cb, &g));
	assert_non_null(s.req);
	event_base_dispatch(fx->base);
	assert_int_equal(s.calls + g.calls, 1);
	assert_null(fx->d);
	got_reset(&g);
	fx_free(fx);
}

/* --- passwords --------------------------------------------------------------------------- */

static void make_ssha(char *out, size_t size, const char *scheme, const EVP_MD *md,
		      const char *pw, const uint8_t *salt, size_t saltlen)
{
	uint8_t buf[EVP_MAX_MD_SIZE + 32];
	unsigned dlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char b64[256];
	int n;

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, pw, strlen(pw)), 1);
	assert_int_equal(EVP_DigestUpdate(c, salt, saltlen), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, buf, &dlen), 1);
	EVP_MD_CTX_free(c);
	memcpy(buf + dlen, salt, saltlen);
	n = EVP_EncodeBlock(b64, buf, (int)(dlen + saltlen));
	snprintf(out, size, "{%s}%.*s", scheme, n, b64);
}

static void make_crypt(char *out, size_t size, const char *pw, const char *setting)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	h = crypt_r(pw, setting, cd);
	assert_non_null(h);
	assert_true(h[0] != '*');
	snprintf(out, size, "{CRYPT}%s", h);
	free(cd);
}

/* dn must be spelled as in the file (the answer's entry is compared to it) unless it is
 * not found. */
static enum mbx_dir_status check_pw(struct fx *fx, const char *dn, const char *pw)
{
	struct got g = {0};
	enum mbx_dir_status st;

	assert_non_null(mbx_dir_check_password(fx->d, dn, pw, got_cb, &g));
	assert_int_equal(g.calls, 0);
	event_base_dispatch(fx->base);
	assert_int_equal(g.calls, 1);
	st = g.status;
	if (st == MBX_DIR_FOUND)
		assert_string_equal(g.dn[0], dn);
	got_reset(&g);
	return st;
}

static void test_passwords(void **state)
{
	struct fx *fx = fx_new(NULL);
	static const uint8_t salt4[] = {0xde, 0xad, 0x00, 0x0a};
	static const uint8_t salt8[] = {1, 2, 3, 4, 5, 6, 7, 8};
	char ssha[200], ssha256[200], ssha512[200], c6[300], c5[300], cy[300], gensalt[128];
	char file[8192];
	int len;

	make_ssha(ssha, sizeof(ssha), "SSHA", EVP_sha1(), "s3cret", salt4, sizeof(salt4));
	make_ssha(ssha256, sizeof(ssha256), "ssha256", EVP_sha256(), "pass word", salt8, 8);
	make_ssha(ssha512, sizeof(ssha512), "SSHA512", EVP_sha512(), "\xc3\xa9t\xc3\xa9", salt8,
		  8);
	make_crypt(c6, sizeof(c6), "sha512pw", "$6$saltsaltsalt$");
	make_crypt(c5, sizeof(c5), "sha256pw", "$5$rounds=1000$abcdefgh$");
	assert_non_null(crypt_gensalt_rn("$y$", 0, NULL, 0, gensalt, sizeof(gensalt)));
	make_crypt(cy, sizeof(cy), "yespw", gensalt);
	/* userPassword given both ways: plain text after "userPassword: " and base64 */
	len = snprintf(file, sizeof(file),
		       "dn: cn=ssha,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=ssha256,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=ssha512,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=c6,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=c5,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=cy,dc=x\nuserPassword: %s\n\n"
		       "dn: cn=md5,dc=x\nuserPassword: {MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==\n\n"
		       "dn: cn=plain,dc=x\nuserPassword: plainpw\n\n"
		       "dn: cn=two,dc=x\nuserPassword: {SHA}whatever\nuserPassword: %s\n\n"
		       "dn: cn=short,dc=x\nuserPassword: {SSHA}AAAA\n\n"
		       "dn: cn=badb64,dc=x\nuserPassword: {SSHA}!!!!\n\n"
		       "dn: cn=badcrypt,dc=x\nuserPassword: {CRYPT}\n\n"
		       "dn: cn=nopw,dc=x\ncn: nopw\n",
		       ssha, ssha256, ssha512, c6, c5, cy, ssha);
	write_all(fx->path, file, (size_t)len);
	fx_load(fx);
	log_lines[0] = '\0';
	mbx_log_set_hook(log_hook, NULL);

	assert_int_equal(check_pw(fx, "cn=ssha,dc=x", "s3cret"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha,dc=x", "s3cret "), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha,dc=x", "S3cret"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha,dc=x", ""), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha256,dc=x", "pass word"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha256,dc=x", "password"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha512,dc=x", "\xc3\xa9t\xc3\xa9"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=ssha512,dc=x", "ete"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=c6,dc=x", "sha512pw"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=c6,dc=x", "sha512pW"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=c5,dc=x", "sha256pw"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=c5,dc=x", "sha512pw"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=cy,dc=x", "yespw"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=cy,dc=x", "yespw2"), MBX_DIR_NOT_FOUND);
	/* a value in an unknown scheme does not stop a known one from matching */
	assert_int_equal(check_pw(fx, "cn=two,dc=x", "s3cret"), MBX_DIR_FOUND);
	assert_int_equal(check_pw(fx, "cn=short,dc=x", ""), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=short,dc=x", "x"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=badb64,dc=x", "x"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=badcrypt,dc=x", "x"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=badcrypt,dc=x", ""), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=nopw,dc=x", "x"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=nobody,dc=x", "x"), MBX_DIR_NOT_FOUND);
	assert_int_equal(check_pw(fx, "cn=,,", "x"), MBX_DIR_ERROR);
	/* unknown schemes and plain text: refused, with a log line naming the scheme */
	assert_null(strstr(log_lines, "MD5"));
	assert_int_equal(check_pw(fx, "cn=md5,dc=x", "password"), MBX_DIR_NOT_FOUND);
	assert_non_null(strstr(log_lines, "cn=md5,dc=x\" uses unsupported scheme {MD5}"));
	assert_int_equal(check_pw(fx, "cn=plain,dc=x", "plainpw"), MBX_DIR_NOT_FOUND);
	assert_non_null(strstr(log_lines, "cn=plain,dc=x\" has no {scheme} (plain text?)"));
	assert_null(strstr(log_lines, "plainpw")); /* the password is never logged */
	assert_non_null(strstr(log_lines, "unsupported scheme {SHA}"));
	mbx_log_set_hook(NULL, NULL);
	fx_free(fx);
}

/* --- modification ------------------------------------------------------------------------ */

static struct got modify(struct fx *fx, const char *dn, const struct mbx_dir_mod *mods,
			 size_t n)
{
	struct got g = {0};

	assert_non_null(mbx_dir_modify(fx->d, dn, mods, n, got_cb, &g));
	assert_int_equal(g.calls, 0);
	event_base_dispatch(fx->base);
	assert_int_equal(g.calls, 1);
	return g;
}

static void test_modify_roundtrip(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct changes ch = {0};
	static const uint8_t binv[] = {0x00, 0x0a, 0x0d, ' ', ':', 0xff, 'x', ' '};
	const struct mbx_dir_value mdb = {(uint8_t *)"CN=DB02,CN=Databases,DC=contoso,DC=example",
					  42};
	const struct mbx_dir_value leg = {(uint8_t *)LEG "alice2", sizeof(LEG "alice2") - 1};
	const struct mbx_dir_value px[] = {{(uint8_t *)"smtp:new@contoso.example", 24},
					   {(uint8_t *)" leading space", 14},
					   {(uint8_t *)":colon", 6},
					   {(uint8_t *)"<less", 5},
					   {(uint8_t *)"", 0}};
	const struct mbx_dir_value guid = {(uint8_t *)binv, sizeof(binv)};
	const struct mbx_dir_value oldpx = {(uint8_t *)"smtp:a.adams@contoso.example", 28};
	const struct mbx_dir_value member = {(uint8_t *)CAROL, sizeof(CAROL) - 1};
	const struct mbx_dir_mod mods[] = {
		{MBX_DIR_MOD_REPLACE, "homeMDB", &mdb, 1},
		{MBX_DIR_MOD_REPLACE, "legacyExchangeDN", &leg, 1},
		{MBX_DIR_MOD_ADD, "proxyAddresses", px, 5},
		{MBX_DIR_MOD_DELETE, "proxyAddresses", &oldpx, 1},
		{MBX_DIR_MOD_DELETE, "description", NULL, 0},
		{MBX_DIR_MOD_REPLACE, "msExchMailboxGuid", &guid, 1},
		{MBX_DIR_MOD_REPLACE, "msExchMailboxMoveStatus", NULL, 0}, /* absent: no-op */
		{MBX_DIR_MOD_ADD, "msExchMailboxMoveFlags", &(struct mbx_dir_value){
								    (uint8_t *)"6", 1},
		 1},
	};
	const struct mbx_dir_mod addmember = {MBX_DIR_MOD_ADD, "member", &member, 1};
	const struct mbx_dir_entry *e;
	struct got g;
	char *file;

	fx_load(fx);
	mbx_dir_set_change_cb(fx->d, changes_cb, &ch);
	g = modify(fx, ALICE, mods, sizeof(mods) / sizeof(mods[0]));
	assert_int_equal(g.status, MBX_DIR_FOUND);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.first->dn, ALICE);
	assert_string_equal(mbx_dir_entry_str(g.first, "homeMDB"), (const char *)mdb.data);
	got_reset(&g);
	/* notified before the modify callback: dn with the legacy DN before and after */
	assert_int_equal(ch.n, 2);
	assert_string_equal(ch.dn[0], ALICE);
	assert_string_equal(ch.legacy[0], LEG "alice");
	assert_string_equal(ch.dn[1], ALICE);
	assert_string_equal(ch.legacy[1], LEG "alice2");

	/* the indexes follow */
	expect_status(fx, MBX_DIR_BY_LEGACYDN, LEG "alice", MBX_DIR_NOT_FOUND);
	expect_found(fx, MBX_DIR_BY_LEGACYDN, LEG "ALICE2", ALICE);
	expect_status(fx, MBX_DIR_BY_SMTP, "a.adams@contoso.example", MBX_DIR_NOT_FOUND);
	expect_found(fx, MBX_DIR_BY_SMTP, "new@contoso.example", ALICE);
	expect_found(fx, MBX_DIR_BY_SMTP, "alice@contoso.example", ALICE);
	expect_found(fx, MBX_DIR_BY_LOGIN, "alice", ALICE);

	/* attribute order kept, new ones at the end, removed ones gone */
	e = dir_ldif_entry(fx->d, 1);
	assert_string_equal(e->attrs[0].name, "objectClass");
	assert_null(mbx_dir_entry_attr(e, "description"));
	assert_string_equal(e->attrs[e->nattrs - 1].name, "msExchMailboxMoveFlags");
	assert_int_equal(mbx_dir_entry_attr(e, "proxyAddresses")->nvals, 7);

	/* what is on disk reads back to what is in memory, entry for entry */
	assert_disk_equals_memory(fx);
	file = read_all(fx->path, NULL);
	assert_non_null(file);
	assert_int_equal(strncmp(file, "dn: DC=contoso,DC=example\n", 26), 0);
	assert_null(strchr(file, '#'));
	assert_non_null(strstr(file, "userAccountControl: 514\n"));
	assert_non_null(strstr(file, "proxyAddresses:: IGxlYWRpbmcgc3BhY2U=\n"));
	assert_non_null(strstr(file, "proxyAddresses:: OmNvbG9u\n"));
	assert_non_null(strstr(file, "proxyAddresses:: PGxlc3M=\n"));
	assert_non_null(strstr(file, "proxyAddresses:\n"));
	assert_non_null(strstr(file, "msExchMailboxGuid:: AAoNIDr/eCA=\n"));
	free(file);
	assert_int_equal(fx_stray_files(fx), 0);

	/* a member added: reverse index */
	ch.n = 0;
	g = modify(fx, MANAGERS, &addmember, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	assert_int_equal(ch.n, 1);
	assert_string_equal(ch.legacy[0], "(none)");
	lookup_s(fx, MBX_DIR_BY_MEMBER, CAROL, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.dn[0], MANAGERS);
	assert_string_equal(g.dn[1], RDU_FABRIKAM);
	got_reset(&g);

	/* a modification that changes nothing: found, no write, no notification */
	ch.n = 0;
	g = modify(fx, MANAGERS, NULL, 0);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	assert_int_equal(ch.n, 0);
	assert_disk_equals_memory(fx);
	fx_free(fx);
}

static void test_modify_errors(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct changes ch = {0};
	const struct mbx_dir_value v1 = {(uint8_t *)"alice@contoso.example", 21};
	const struct mbx_dir_value v2 = {(uint8_t *)"nope", 4};
	const struct mbx_dir_value two[] = {{(uint8_t *)"a", 1}, {(uint8_t *)"a", 1}};
	const struct mbx_dir_value notdn = {(uint8_t *)"not a dn", 8};
	const struct mbx_dir_value x = {(uint8_t *)"x", 1};
	const struct {
		struct mbx_dir_mod mod;
		const char *msg;
	} rows[] = {
		{{MBX_DIR_MOD_ADD, "mail", &v1, 1}, "mail: value already present"},
		{{MBX_DIR_MOD_DELETE, "mail", &v2, 1}, "mail: no such value"},
		{{MBX_DIR_MOD_DELETE, "telephoneNumber", NULL, 0}, "telephoneNumber: no such"},
		{{MBX_DIR_MOD_ADD, "description", NULL, 0}, "description: add without values"},
		{{MBX_DIR_MOD_REPLACE, "description", two, 2}, "description: a value is given"},
		{{MBX_DIR_MOD_REPLACE, "member", &notdn, 1}, "member value \"not a dn\" is not"},
		{{MBX_DIR_MOD_REPLACE, "dn", &x, 1}, "bad attribute name"},
		{{MBX_DIR_MOD_REPLACE, "bad name", &x, 1}, "bad attribute name"},
		{{MBX_DIR_MOD_REPLACE, NULL, &x, 1}, "bad attribute name"},
		{{(enum mbx_dir_mod_op)7, "cn", &x, 1}, "unknown modification"},
	};
	char *before, *after;
	struct got g;

	fx_load(fx);
	mbx_dir_set_change_cb(fx->d, changes_cb, &ch);
	before = read_all(fx->path, NULL);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* a good modification first: all or nothing */
		const struct mbx_dir_mod mods[] = {{MBX_DIR_MOD_REPLACE, "cn", &x, 1}, rows[i].mod};

		g = modify(fx, ALICE, mods, 2);
		assert_int_equal(g.status, MBX_DIR_ERROR);
		if (strstr(g.message, rows[i].msg) == NULL)
			fail_msg("row %zu: \"%s\"", i, g.message);
		got_reset(&g);
		assert_string_equal(mbx_dir_entry_str(dir_ldif_entry(fx->d, 1), "cn"),
				    "Alice Adams");
	}
	g = modify(fx, "cn=nobody,dc=example", NULL, 0);
	assert_int_equal(g.status, MBX_DIR_NOT_FOUND);
	got_reset(&g);
	g = modify(fx, "cn=,,", NULL, 0);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	got_reset(&g);
	after = read_all(fx->path, NULL);
	assert_string_equal(before, after);
	assert_int_equal(ch.n, 0);
	free(before);
	free(after);
	fx_free(fx);
}

/* The write-back fails: memory, indexes and file stay as they were. Root ignores folder
 * permissions, so the failure comes from a file size limit (EFBIG), which binds root too;
 * without root a read-only folder is tried as well. */
static void check_failed_write(struct fx *fx, const char *why)
{
	const struct mbx_dir_value v = {(uint8_t *)LEG "moved", sizeof(LEG "moved") - 1};
	const struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "legacyExchangeDN", &v, 1};
	struct changes ch = {0};
	char *before = read_all(fx->path, NULL), *after;
	struct mbx_dir_entry *copy = mbx_dir_entry_dup(dir_ldif_entry(fx->d, 1));
	struct got g;

	mbx_dir_set_change_cb(fx->d, changes_cb, &ch);
	g = modify(fx, ALICE, &mod, 1);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	if (strstr(g.message, why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", g.message, why);
	got_reset(&g);
	assert_entry_equal(copy, dir_ldif_entry(fx->d, 1));
	expect_found(fx, MBX_DIR_BY_LEGACYDN, LEG "alice", ALICE);
	expect_status(fx, MBX_DIR_BY_LEGACYDN, LEG "moved", MBX_DIR_NOT_FOUND);
	after = read_all(fx->path, NULL);
	assert_string_equal(before, after);
	assert_int_equal(ch.n, 0);
	assert_int_equal(fx_stray_files(fx), 0);
	mbx_dir_entry_free(&copy);
	free(before);
	free(after);
}

static void test_modify_write_fails(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct rlimit old, small;
	void (*oldsig)(int);
	const struct mbx_dir_value v = {(uint8_t *)"y", 1};
	const struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "description", &v, 1};
	struct got g;

	fx_load(fx);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 512;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	check_failed_write(fx, "File too large");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);

	if (geteuid() != 0) {
		assert_int_equal(chmod(fx->dir, 0500), 0);
		check_failed_write(fx, "Permission denied");
		assert_int_equal(chmod(fx->dir, 0700), 0);
	}

	/* the file was changed by someone else since it was loaded: refuse to overwrite */
	write_all(fx->path, "dn: cn=other,dc=example\n", 24);
	g = modify(fx, ALICE, &mod, 1);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	assert_non_null(strstr(g.message, "changed on disk since it was loaded"));
	got_reset(&g);
	/* the folder is gone */
	unlink(fx->path);
	rmdir(fx->dir);
	g = modify(fx, ALICE, &mod, 1);
	assert_int_equal(g.status, MBX_DIR_ERROR);
	assert_non_null(strstr(g.message, "No such file"));
	got_reset(&g);
	assert_string_equal(mbx_dir_entry_str(dir_ldif_entry(fx->d, 1), "description"),
			    "a folded line");
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	fx_free(fx);
}

/* Write-back follows a symbolic link and keeps the file mode. */
static void test_modify_symlink_mode(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	char real[160], link[160];
	const struct mbx_dir_value v = {(uint8_t *)"y", 1};
	const struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "description", &v, 1};
	struct stat st;
	struct got g;

	snprintf(real, sizeof(real), "%s/real.ldif", fx->dir);
	snprintf(link, sizeof(link), "%s/dir.ldif", fx->dir);
	assert_int_equal(rename(fx->path, real), 0);
	assert_int_equal(symlink("real.ldif", link), 0);
	assert_int_equal(chmod(real, 0640), 0);
	fx_load(fx);
	g = modify(fx, BOB, &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(real, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_disk_equals_memory(fx);
	fx_free(fx);
}

/* --- reload ------------------------------------------------------------------------------ */

static void test_reload_garbage(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct changes ch = {0};
	char err[512] = "", want[256];
	char *data;
	size_t len;

	fx_load(fx);
	mbx_dir_set_change_cb(fx->d, changes_cb, &ch);
	data = fixture("bad-base64.ldif", &len);
	write_all(fx->path, data, len);
	free(data);
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: bad base64 value", fx->path);
	assert_string_equal(err, want);
	expect_found(fx, MBX_DIR_BY_LOGIN, "alice", ALICE);
	assert_int_equal(dir_ldif_count(fx->d), 9);
	unlink(fx->path);
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
	expect_found(fx, MBX_DIR_BY_LOGIN, "bob", BOB);
	event_base_dispatch(fx->base);
	assert_int_equal(ch.n, 0);
	assert_int_equal(mbx_dir_reload(NULL, err, sizeof(err)), -1);
	fx_free(fx);
}

/* Replaces the first occurrence of from by to in s (a malloc'ed string). */
static char *replace(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from), *out;
	size_t n;

	assert_non_null(p);
	n = strlen(s) - strlen(from) + strlen(to) + 1;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	free(s);
	return out;
}

/* Removes the record starting with the line dnline. */
static char *remove_record(char *s, const char *dnline)
{
	char *p = strstr(s, dnline), *end;

	assert_non_null(p);
	end = strstr(p, "\n\n");
	assert_non_null(end);
	memmove(p, end + 2, strlen(end + 2) + 1);
	return s;
}

static void test_reload_changes(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct changes ch = {0};
	char err[512] = "";
	char *data;
	struct got g = {0};

	fx_load(fx);
	mbx_dir_set_change_cb(fx->d, changes_cb, &ch);
	/* unchanged file: nothing to tell */
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), 0);
	event_base_dispatch(fx->base);
	assert_int_equal(ch.n, 0);

	data = read_all(fx->path, NULL);
	/* bob: a value changed; carol: gone; dave: new; alice: only reordered and respelled
	 * in ways that are not changes (attribute order, value order, comments) */
	data = replace(data, "userAccountControl: 514", "userAccountControl: 512");
	data = remove_record(data, "dn: " CAROL "\n");
	data = replace(data, "dn: CN=Sales,",
		       "dn: cn=Dave,OU=Users,DC=contoso,DC=example\nlegacyExchangeDN: " LEG
		       "dave\nsAMAccountName: dave\n\ndn: CN=Sales,");
	data = replace(data,
		       "objectClass: top\nobjectClass: person\nobjectClass: user\ncn: Alice Adams\n",
		       "cn: Alice Adams\n# reordered\nobjectClass: user\nobjectClass: top\n"
		       "objectClass: person\n");
	/* the Managers group: legacy DN added */
	data = replace(data, "cn: Managers\n",
		       "cn: Managers\nlegacyExchangeDN: /o=x/cn=managers\n");
	write_all(fx->path, data, strlen(data));
	free(data);
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), 0);
	/* notifications come from the loop, not from inside reload */
	assert_int_equal(ch.n, 0);
	event_base_dispatch(fx->base);
	assert_int_equal(ch.n, 5);
	/* new file order (changed, added), then the removed ones */
	assert_string_equal(ch.dn[0], BOB);
	assert_string_equal(ch.legacy[0], LEG "bob");
	assert_string_equal(ch.dn[1], "cn=Dave,OU=Users,DC=contoso,DC=example");
	assert_string_equal(ch.legacy[1], LEG "dave");
	assert_string_equal(ch.dn[2], MANAGERS); /* legacy DN before and after */
	assert_string_equal(ch.legacy[2], "(none)");
	assert_string_equal(ch.dn[3], MANAGERS);
	assert_string_equal(ch.legacy[3], "/o=x/cn=managers");
	assert_string_equal(ch.dn[4], CAROL);
	assert_string_equal(ch.legacy[4], LEG "carol");
	assert_int_equal(changes_count(&ch, ALICE), 0);
	expect_status(fx, MBX_DIR_BY_LOGIN, "carol", MBX_DIR_NOT_FOUND);
	expect_found(fx, MBX_DIR_BY_LOGIN, "dave", "cn=Dave,OU=Users,DC=contoso,DC=example");
	/* carol's groups no longer... still list her as member (the file says so) */
	lookup_s(fx, MBX_DIR_BY_MEMBER, CAROL, &g);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	/* and after the reload, modification writes the new file */
	fx_free(fx);
}

/* A lookup answered before a reload keeps its answer. */
static void test_reload_pending(void **state)
{
	struct fx *fx = fx_new("basic.ldif");
	struct got g = {0};
	char err[256];

	fx_load(fx);
	assert_non_null(mbx_dir_lookup(fx->d, MBX_DIR_BY_LOGIN, "alice", 0, got_cb, &g));
	write_all(fx->path, "dn: cn=z,dc=x\n", 14);
	assert_int_equal(mbx_dir_reload(fx->d, err, sizeof(err)), 0);
	event_base_dispatch(fx->base);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	assert_string_equal(g.first->dn, ALICE);
	assert_int_equal(dir_ldif_count(fx->d), 1);
	got_reset(&g);
	fx_free(fx);
}

/* --- attribute map ----------------------------------------------------------------------- */

static void test_attrmap(void **state)
{
	struct fx *fx = fx_new(NULL);
	static const char file[] = "dn: cn=u,dc=x\n"
				   "x-ESSDN: /o=X/cn=u\n"
				   "rfc822Mailbox: U@X.example\n"
				   "cn: u\n";
	const struct mbx_dir_attrmap map[] = {
		{"legacyExchangeDN", "x-essdn"},
		{"mail", "rfc822Mailbox"},
	};
	const struct mbx_dir_value v = {(uint8_t *)"/o=X/cn=u2", 10};
	const struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "legacyExchangeDN", &v, 1};
	const struct mbx_dir_entry *e;
	char err[512];
	char *out;
	struct got g;

	write_all(fx->path, file, sizeof(file) - 1);
	fx->d = fx_open(fx, map, 2, err, sizeof(err));
	assert_non_null(fx->d);
	e = dir_ldif_entry(fx->d, 0);
	assert_string_equal(e->attrs[0].name, "legacyExchangeDN");
	assert_string_equal(e->attrs[1].name, "mail");
	assert_string_equal(mbx_dir_canonical_attr(fx->d, "X-EssDN"), "legacyExchangeDN");
	assert_string_equal(mbx_dir_canonical_attr(fx->d, "cn"), "cn");
	assert_string_equal(mbx_dir_server_attr(fx->d, "MAIL"), "rfc822Mailbox");
	assert_string_equal(mbx_dir_server_attr(fx->d, "cn"), "cn");
	expect_found(fx, MBX_DIR_BY_LEGACYDN, "/O=x/CN=U", "cn=u,dc=x");
	expect_found(fx, MBX_DIR_BY_SMTP, "u@x.example", "cn=u,dc=x");
	g = modify(fx, "cn=u,dc=x", &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	out = read_all(fx->path, NULL);
	/* server names on disk, a replaced attribute keeps its place */
	assert_string_equal(out, "dn: cn=u,dc=x\nx-essdn: /o=X/cn=u2\nrfc822Mailbox: U@X.example\n"
				 "cn: u\n");
	assert_null(strstr(out, "legacyExchangeDN"));
	free(out);
	mbx_dir_free(&fx->d);

	/* two file attributes that map to one canonical name */
	write_all(fx->path, "dn: cn=u,dc=x\nx-essdn: a\nlegacyExchangeDN: b\n", 45);
	assert_null(fx_open(fx, map, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "dir.ldif:1: entry \"cn=u,dc=x\": attributes x-essdn and "
				    "legacyExchangeDN are both legacyExchangeDN"));
	/* a mapped member attribute is checked as a DN */
	{
		const struct mbx_dir_attrmap mm[] = {{"member", "uniqueMember"}};

		write_all(fx->path, "dn: cn=g,dc=x\nuniqueMember: nope\n", 33);
		assert_null(fx_open(fx, mm, 1, err, sizeof(err)));
		assert_non_null(strstr(err, "dir.ldif:2: member value is not a DN"));
	}
	fx_free(fx);
}

/* --- entry helpers ----------------------------------------------------------------------- */

static void test_entry_helpers(void **state)
{
	struct mbx_dir_value vals[] = {{(uint8_t *)"top", 3}, {(uint8_t *)"User", 4}};
	struct mbx_dir_attr attrs[] = {{(char *)"objectClass", vals, 2},
				       {(char *)"empty", NULL, 0}};
	struct mbx_dir_entry e = {(char *)"cn=x", attrs, 2};
	struct mbx_dir_entry *c = mbx_dir_entry_dup(&e);
	size_t len = 99;

	assert_non_null(c);
	assert_entry_equal(&e, c);
	assert_true(mbx_dir_entry_has_class(c, "user"));
	assert_false(mbx_dir_entry_has_class(c, "use"));
	assert_null(mbx_dir_entry_str(c, "empty"));
	assert_null(mbx_dir_entry_bin(c, "empty", &len));
	assert_int_equal(len, 0);
	assert_non_null(mbx_dir_entry_attr(c, "EMPTY"));
	assert_null(mbx_dir_entry_attr(NULL, "x"));
	assert_null(mbx_dir_entry_dup(NULL));
	mbx_dir_entry_free(&c);
	assert_null(c);
	mbx_dir_entry_free(&c);
	mbx_dir_entry_free(NULL);
}

static void test_normalize_dn(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{"CN=Alice Adams,OU=Users,DC=contoso", "cn=alice adams,ou=users,dc=contoso"},
		{" cn = a , dc = x ", "cn=a,dc=x"},
		{"cn=a\\,b,dc=x", "cn=a\\2cb,dc=x"},
		{"cn=a\\2Cb,dc=x", "cn=a\\2cb,dc=x"},
		{"cn=\"a, b\",dc=x", "cn=a\\2c b,dc=x"},
		{"cn=\\41lice", "cn=alice"},
		{"cn=a+sn=b,dc=x", "cn=a+sn=b,dc=x"},
		{"cn=\xc3\x89,dc=x", "cn=\\c3\\89,dc=x"},
		{"cn=a\\20,dc=x", "cn=a\\20,dc=x"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *n = dir_ldif_normalize_dn(rows[i].in, strlen(rows[i].in));

		if (n == NULL || strcmp(n, rows[i].out) != 0)
			fail_msg("%s -> %s, want %s", rows[i].in, n ? n : "NULL", rows[i].out);
		free(n);
	}
	assert_null(dir_ldif_normalize_dn("cn=a,,dc=x", 10));
	assert_null(dir_ldif_normalize_dn("garbage", 7));
	assert_null(dir_ldif_normalize_dn("cn=a\0b", 6));
}

/* The sample directory of conf/, when it is there: loads, and a modification writes it back
 * so that it reads the same. */
static void test_conf_directory(void **state)
{
	char src[4096];
	struct fx *fx;
	char *data;
	size_t len;
	const struct mbx_dir_entry *e;
	const struct mbx_dir_value v = {(uint8_t *)"round trip", 10};
	struct mbx_dir_mod mod = {MBX_DIR_MOD_REPLACE, "description", &v, 1};
	struct got g;

	snprintf(src, sizeof(src), "%s/conf/directory.ldif", srcdir());
	data = read_all(src, &len);
	if (data == NULL) {
		skip();
		return;
	}
	fx = fx_new(NULL);
	write_all(fx->path, data, len);
	free(data);
	fx_load(fx);
	assert_true(dir_ldif_count(fx->d) > 0);
	e = dir_ldif_entry(fx->d, dir_ldif_count(fx->d) - 1);
	expect_found(fx, MBX_DIR_BY_DN, e->dn, e->dn);
	g = modify(fx, e->dn, &mod, 1);
	assert_int_equal(g.status, MBX_DIR_FOUND);
	got_reset(&g);
	assert_disk_equals_memory(fx);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_basic),
		cmocka_unit_test(test_load_bad_files),
		cmocka_unit_test(test_load_limits),
		cmocka_unit_test(test_load_truncation_sweep),
		cmocka_unit_test(test_backend_names),
		cmocka_unit_test(test_lookup_dn),
		cmocka_unit_test(test_lookup_strings),
		cmocka_unit_test(test_lookup_sid),
		cmocka_unit_test(test_lookup_member),
		cmocka_unit_test(test_lookup_bad_requests),
		cmocka_unit_test(test_never_reentrant),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_inside_callback),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_modify_roundtrip),
		cmocka_unit_test(test_modify_errors),
		cmocka_unit_test(test_modify_write_fails),
		cmocka_unit_test(test_modify_symlink_mode),
		cmocka_unit_test(test_reload_garbage),
		cmocka_unit_test(test_reload_changes),
		cmocka_unit_test(test_reload_pending),
		cmocka_unit_test(test_attrmap),
		cmocka_unit_test(test_entry_helpers),
		cmocka_unit_test(test_normalize_dn),
		cmocka_unit_test(test_conf_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
