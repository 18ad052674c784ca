/*
 * logon-expect.h: the reader of tests/unit/data/logon-expect.tsv, the expected RopLogon
 * decisions for the sample forests (docs/directory.md), shared by test-logon-pipeline.c (ldif
 * backend) and test-logon-ldap.c (ldap backend against slapd) so that both check one table.
 * Header-only (static functions), cmocka assertions on errors. Also here: the server
 * identities the table names, and the comparison of a decision with its row.
 */
#ifndef MBX_LOGON_EXPECT_H
#define MBX_LOGON_EXPECT_H

#include "mbx-test.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "mbx/log.h"
#include "mbx/mailbox.h"
#include "mbx/oxcstor.h"
#include "mbx/rop-errors.h"

#define LX_MAX_VARS 32
#define LX_MAX_PRINCIPALS 32
#define LX_MAX_MAILBOXES 64
#define LX_MAX_FLAGS 16
#define LX_MAX_COLS 8
#define LX_MAX_ROWS 1024
#define LX_TEXT 512

/* --- identities -------------------------------------------------------------------------- */

#define LX_AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define LX_CONFIG_DN                                                                               \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define LX_FAG "/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define LX_FCONFIG_DN                                                                              \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Fabrikam,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=fabrikam,dc=com"

static const char *const lx_fabrikam_domains[] = {"fabrikam.com"};
static const char *const lx_contoso_domains[] = {"contoso.com", "child.contoso.com"};
static const struct mbx_foreign_forest lx_fabrikam = {
        "fabrikam", lx_fabrikam_domains, 1, "https://autodiscover.fabrikam.com/autodiscover/"};
static const struct mbx_foreign_forest lx_contoso = {
        "contoso", lx_contoso_domains, 2, "https://autodiscover.contoso.com/autodiscover/"};

enum lx_forest { LX_CONTOSO, LX_FABRIKAM, LX_NFORESTS };

struct lx_identity {
	const char *name;      /* as the table names it */
	enum lx_forest forest; /* which directory it runs on */
	struct mbx_server_identity id;
};

static const struct lx_identity lx_identities[] = {
        {"server1",
         LX_CONTOSO,
         {"SERVER1", LX_AG "/cn=Configuration/cn=Servers/cn=SERVER1",
          "cn=SERVER1,cn=Servers," LX_CONFIG_DN, &lx_fabrikam, 1, false}},
        {"server1-2003",
         LX_CONTOSO,
         {"SERVER1", LX_AG "/cn=Configuration/cn=Servers/cn=SERVER1",
          "cn=SERVER1,cn=Servers," LX_CONFIG_DN, &lx_fabrikam, 1, true}},
        {"server1-noforest",
         LX_CONTOSO,
         {"SERVER1", LX_AG "/cn=Configuration/cn=Servers/cn=SERVER1",
          "cn=SERVER1,cn=Servers," LX_CONFIG_DN, NULL, 0, false}},
        {"server2",
         LX_CONTOSO,
         {"SERVER2", LX_AG "/cn=Configuration/cn=Servers/cn=SERVER2",
          "cn=SERVER2,cn=Servers," LX_CONFIG_DN, &lx_fabrikam, 1, false}},
        {"server3",
         LX_FABRIKAM,
         {"SERVER3", LX_FAG "/cn=Configuration/cn=Servers/cn=SERVER3",
          "cn=SERVER3,cn=Servers," LX_FCONFIG_DN, &lx_contoso, 1, false}},
};
#define LX_NIDENTITIES (sizeof(lx_identities) / sizeof(lx_identities[0]))

static inline int lx_identity_index(const char *name)
{
	for (size_t i = 0; i < LX_NIDENTITIES; i++)
		if (strcmp(lx_identities[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* --- the table --------------------------------------------------------------------------- */

struct lx_principal {
	char alias[64];
	char dn[LX_TEXT]; /* "" = none */
	char name[128];   /* "" = none */
};

struct lx_mailbox {
	char alias[64];
	char essdn[LX_TEXT];
};

struct lx_flags {
	char name[32];
	uint8_t logon_flags;
	uint32_t open_flags;
};

struct lx_expect {
	uint32_t ec;
	char server[LX_TEXT]; /* ecWrongServer: the legacyExchangeDN; else "" */
	int events[MBX_LOGON_MAX_EVENTS + 1];
	unsigned nevents;
	uint8_t rflags;
	char text[96]; /* the cell as written */
};

/* One decision to check: a case line gives one row per result column. */
struct lx_row {
	unsigned line;
	int identity; /* index into lx_identities */
	const struct lx_principal *principal;
	const struct lx_mailbox *mailbox;
	const struct lx_flags *flags;
	struct lx_expect expect;
};

struct lx_table {
	struct {
		char name[32];
		char value[LX_TEXT];
	} vars[LX_MAX_VARS];
	size_t nvars;
	struct lx_principal principals[LX_MAX_PRINCIPALS];
	size_t nprincipals;
	struct lx_mailbox mailboxes[LX_MAX_MAILBOXES];
	size_t nmailboxes;
	struct lx_flags flags[LX_MAX_FLAGS];
	size_t nflags;
	const struct lx_flags *cols[LX_MAX_COLS];
	size_t ncols;
	struct lx_row rows[LX_MAX_ROWS];
	size_t nrows;
};

/* Expands ${NAME}, "\\", "\xNN", "-" (none: "" and *none_r true) and "" into out. */
static inline void lx_field(const struct lx_table *t, unsigned line, const char *in, char *out,
                            size_t size, bool *none_r)
{
	size_t n = 0;

	if (none_r != NULL)
		*none_r = strcmp(in, "-") == 0;
	if (strcmp(in, "-") == 0 || strcmp(in, "\"\"") == 0) {
		out[0] = '\0';
		return;
	}
	for (const char *s = in; *s != '\0';) {
		const char *add = NULL;
		char one[2] = {0, 0};

		if (s[0] == '$' && s[1] == '{') {
			const char *end = strchr(s, '}');
			size_t len;

			if (end == NULL)
				fail_msg("logon-expect.tsv:%u: unterminated ${", line);
			len = (size_t)(end - s - 2);
			for (size_t i = 0; i < t->nvars && add == NULL; i++)
				if (strlen(t->vars[i].name) == len &&
				    strncmp(t->vars[i].name, s + 2, len) == 0)
					add = t->vars[i].value;
			if (add == NULL)
				fail_msg("logon-expect.tsv:%u: unknown variable %.*s", line,
				         (int)len, s + 2);
			s = end + 1;
		} else if (s[0] == '\\' && s[1] == '\\') {
			one[0] = '\\';
			add = one;
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x') {
			unsigned v;

			if (sscanf(s + 2, "%2x", &v) != 1 || v == 0)
				fail_msg("logon-expect.tsv:%u: bad \\x escape", line);
			one[0] = (char)v;
			add = one;
			s += 4;
		} else if (s[0] == '\\') {
			fail_msg("logon-expect.tsv:%u: lone backslash (write \\\\)", line);
		} else {
			one[0] = *s++;
			add = one;
		}
		if (n + strlen(add) >= size)
			fail_msg("logon-expect.tsv:%u: field too long", line);
		memcpy(out + n, add, strlen(add));
		n += strlen(add);
	}
	out[n] = '\0';
}

static inline const struct lx_principal *lx_principal_get(const struct lx_table *t,
                                                          const char *alias)
{
	for (size_t i = 0; i < t->nprincipals; i++)
		if (strcmp(t->principals[i].alias, alias) == 0)
			return &t->principals[i];
	return NULL;
}

static inline const struct lx_mailbox *lx_mailbox_get(const struct lx_table *t, const char *alias)
{
	for (size_t i = 0; i < t->nmailboxes; i++)
		if (strcmp(t->mailboxes[i].alias, alias) == 0)
			return &t->mailboxes[i];
	return NULL;
}

static inline const struct lx_flags *lx_flags_get(const struct lx_table *t, const char *name)
{
	for (size_t i = 0; i < t->nflags; i++)
		if (strcmp(t->flags[i].name, name) == 0)
			return &t->flags[i];
	return NULL;
}

/* EC[>SERVERVAR][+EVENT...][:RFLAGS] */
static inline void lx_parse_result(const struct lx_table *t, unsigned line, const char *cell,
                                   struct lx_expect *x)
{
	char buf[96], *p, *rf, *ev, *srv;

	memset(x, 0, sizeof(*x));
	snprintf(x->text, sizeof(x->text), "%s", cell);
	snprintf(buf, sizeof(buf), "%s", cell);
	rf = strchr(buf, ':');
	if (rf != NULL) {
		*rf++ = '\0';
		x->rflags = (uint8_t)strtoul(rf, NULL, 16);
	}
	ev = strchr(buf, '+');
	if (ev != NULL)
		*ev++ = '\0';
	srv = strchr(buf, '>');
	if (srv != NULL) {
		char ref[64];

		*srv++ = '\0';
		snprintf(ref, sizeof(ref), "${%s}", srv);
		lx_field(t, line, ref, x->server, sizeof(x->server), NULL);
	}
	if (mbx_ec_from_name(buf, &x->ec) < 0)
		fail_msg("logon-expect.tsv:%u: unknown ec %s", line, buf);
	for (p = ev; p != NULL && *p != '\0';) {
		char *next = strchr(p, '+');

		if (next != NULL)
			*next++ = '\0';
		if (x->nevents == MBX_LOGON_MAX_EVENTS)
			fail_msg("logon-expect.tsv:%u: too many events", line);
		x->events[x->nevents++] = atoi(p);
		p = next;
	}
}

static inline void lx_load(struct lx_table *t)
{
	const char *src = getenv("MBX_SRCDIR");
	char path[4096], text[4096];
	unsigned line = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/tests/unit/data/logon-expect.tsv",
	         src != NULL ? src : ".");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set MBX_SRCDIR)", path);
	while (fgets(text, sizeof(text), f) != NULL) {
		char *fld[16], *s = text;
		size_t nf = 0;

		line++;
		text[strcspn(text, "\r\n")] = '\0';
		if (text[0] == '#' || text[0] == '\0')
			continue;
		while (nf < 16) {
			fld[nf++] = s;
			s = strchr(s, '\t');
			if (s == NULL)
				break;
			*s++ = '\0';
		}
		if (strcmp(fld[0], "set") == 0 && nf == 3) {
			assert_true(t->nvars < LX_MAX_VARS);
			snprintf(t->vars[t->nvars].name, sizeof(t->vars[0].name), "%s", fld[1]);
			lx_field(t, line, fld[2], t->vars[t->nvars].value, LX_TEXT, NULL);
			t->nvars++;
		} else if (strcmp(fld[0], "principal") == 0 && nf == 4) {
			struct lx_principal *p = &t->principals[t->nprincipals];

			assert_true(t->nprincipals < LX_MAX_PRINCIPALS);
			snprintf(p->alias, sizeof(p->alias), "%s", fld[1]);
			lx_field(t, line, fld[2], p->dn, sizeof(p->dn), NULL);
			lx_field(t, line, fld[3], p->name, sizeof(p->name), NULL);
			t->nprincipals++;
		} else if (strcmp(fld[0], "mailbox") == 0 && nf == 3) {
			struct lx_mailbox *m = &t->mailboxes[t->nmailboxes];

			assert_true(t->nmailboxes < LX_MAX_MAILBOXES);
			snprintf(m->alias, sizeof(m->alias), "%s", fld[1]);
			lx_field(t, line, fld[2], m->essdn, sizeof(m->essdn), NULL);
			t->nmailboxes++;
		} else if (strcmp(fld[0], "flags") == 0 && nf == 4) {
			struct lx_flags *fl = &t->flags[t->nflags];

			assert_true(t->nflags < LX_MAX_FLAGS);
			snprintf(fl->name, sizeof(fl->name), "%s", fld[1]);
			fl->logon_flags = (uint8_t)strtoul(fld[2], NULL, 0);
			fl->open_flags = (uint32_t)strtoul(fld[3], NULL, 0);
			t->nflags++;
		} else if (strcmp(fld[0], "columns") == 0 && nf >= 2 && nf - 1 <= LX_MAX_COLS) {
			t->ncols = 0;
			for (size_t i = 1; i < nf; i++) {
				t->cols[t->ncols] = lx_flags_get(t, fld[i]);
				if (t->cols[t->ncols] == NULL)
					fail_msg("logon-expect.tsv:%u: unknown flags %s", line,
					         fld[i]);
				t->ncols++;
			}
		} else if (strcmp(fld[0], "case") == 0 && nf == 4 + t->ncols) {
			int id = lx_identity_index(fld[1]);
			const struct lx_mailbox *m = lx_mailbox_get(t, fld[2]);
			const struct lx_principal *p = lx_principal_get(t, fld[3]);

			if (id < 0 || m == NULL || p == NULL)
				fail_msg("logon-expect.tsv:%u: unknown identity, mailbox or "
				         "principal",
				         line);
			for (size_t c = 0; c < t->ncols; c++) {
				struct lx_row *r = &t->rows[t->nrows];

				assert_true(t->nrows < LX_MAX_ROWS);
				r->line = line;
				r->identity = id;
				r->principal = p;
				r->mailbox = m;
				r->flags = t->cols[c];
				lx_parse_result(t, line, fld[4 + c], &r->expect);
				t->nrows++;
			}
		} else {
			fail_msg("logon-expect.tsv:%u: cannot read this line (%zu fields)", line,
			         nf);
		}
	}
	fclose(f);
}

/* --- checking ---------------------------------------------------------------------------- */

/* "ecWrongServer>/o=...+9548+1022:07" for a decision, in the table's form (server in full). */
static inline const char *lx_format(const struct mbx_logon_decision *d, char *buf, size_t size)
{
	char ec[16];
	size_t n;

	snprintf(buf, size, "%s", mbx_ec_str(d->ec, ec, sizeof(ec)));
	n = strlen(buf);
	if (d->ec == ecWrongServer && n < size)
		n += (size_t)snprintf(buf + n, size - n, ">%s", d->server);
	for (unsigned i = 0; i < d->nevents && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "+%d", (int)d->events[i]);
	if (d->response_flags != 0 && n < size)
		snprintf(buf + n, size - n, ":%02x", d->response_flags);
	return buf;
}

/* The response layout a row implies. */
static inline enum mbx_logon_resp_kind lx_kind(const struct lx_row *r)
{
	if (r->expect.ec == ecWrongServer)
		return MBX_LOGON_RESP_REDIRECT;
	if (r->expect.ec != ecNone)
		return MBX_LOGON_RESP_FAILURE;
	return (r->flags->logon_flags & MBX_LOGON_PRIVATE) != 0 ? MBX_LOGON_RESP_PRIVATE
	                                                        : MBX_LOGON_RESP_PUBLIC;
}

/* Whether d is what row r expects; if not, why (into why). */
static inline bool lx_matches(const struct lx_row *r, const struct mbx_logon_decision *d, char *why,
                              size_t size)
{
	const struct lx_expect *x = &r->expect;
	char got[LX_TEXT + 64];
	bool ok = d->ec == x->ec && d->kind == lx_kind(r) && d->nevents == x->nevents &&
	          d->response_flags == x->rflags && strcmp(d->server, x->server) == 0;

	for (unsigned i = 0; ok && i < x->nevents; i++)
		ok = (int)d->events[i] == x->events[i];
	if (!ok)
		snprintf(why, size,
		         "logon-expect.tsv:%u: %s %s -> %s [%s]: expected %s, got %s (%s)", r->line,
		         lx_identities[r->identity].name, r->principal->alias, r->mailbox->alias,
		         r->flags->name, x->text, lx_format(d, got, sizeof(got)),
		         d->reason != NULL ? d->reason : "");
	return ok;
}

/* Fills a RopLogon request for row r (essdn points into the table). */
static inline void lx_request(const struct lx_row *r, struct mbx_logon_req *req)
{
	memset(req, 0, sizeof(*req));
	req->logon_flags = r->flags->logon_flags;
	req->open_flags = r->flags->open_flags;
	req->essdn = r->mailbox->essdn;
	req->essdn_size = r->mailbox->essdn[0] != '\0' ? (uint16_t)(strlen(req->essdn) + 1) : 0;
}

#endif
