/*
 * fuzz-snapshot.c: libFuzzer harness for the mailbox snapshot builder and everything that reads
 * a snapshot (include/mbx/mailbox.h, include/mbx/authz.h): directory entries made from the input
 * go through mbx_mailbox_from_entries, mbx_mailbox_dup, mbx_mailbox_classify, mbx_authz_check,
 * mbx_logon_decide and mbx_logon_decision_line, as the mailbox table and the RopLogon handler
 * call them. Directory values are untrusted too (a hand-edited LDIF, a hostile directory).
 *
 * Input: byte 0 = request flags (bit 0 Private, 1 USE_PER_MDB_REPLID_MAPPING, 2
 * USE_ADMIN_PRIVILEGE, 3 Exchange 2003 switch, 4-5 lookup status), byte 1 = which principal,
 * then records until the end: entry (1 byte: 0 user, 1 database, 2 server, 3 an ambiguous-DN
 * count), attribute (1 byte, index into the table below), value length (1 byte), value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/authz.h"
#include "mbx/mailbox.h"
#include "mbx/wire.h"

static const char *const attrs[] = {
        "objectClass",
        "legacyExchangeDN",
        "displayName",
        "mail",
        "proxyAddresses",
        "homeMDB",
        "msExchHomeServerName",
        "targetAddress",
        "msExchMailboxMoveSourceMDBLink",
        "msExchMailboxMoveTargetMDBLink",
        "msExchRecipientTypeDetails",
        "userAccountControl",
        "msExchUserAccountControl",
        "objectSid",
        "msExchMasterAccountSid",
        "msExchMailboxGuid",
        "msExchMailboxMoveStatus",
        "msExchMailboxMoveFlags",
        "msExchMailboxSecurityDescriptor",
        "msExchOwningServer",
};
#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))

#define CFG ",cn=Servers,cn=AG,cn=Administrative Groups,cn=Contoso,dc=contoso,dc=com"
static const char *const fabrikam[] = {"fabrikam.com"};
static const struct mbx_foreign_forest forest = {"fabrikam", fabrikam, 1, "https://a.example/"};

static void add(struct mbx_dir_entry *e, const char *name, const uint8_t *val, size_t len)
{
	struct mbx_dir_attr *a = NULL;
	struct mbx_dir_value *v;

	for (size_t i = 0; i < e->nattrs; i++)
		if (strcmp(e->attrs[i].name, name) == 0)
			a = &e->attrs[i];
	if (a == NULL) {
		struct mbx_dir_attr *na = realloc(e->attrs, (e->nattrs + 1) * sizeof(*na));

		if (na == NULL)
			abort();
		e->attrs = na;
		a = &e->attrs[e->nattrs++];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
	}
	v = realloc(a->vals, (a->nvals + 1) * sizeof(*v));
	if (v == NULL || a->name == NULL)
		abort();
	a->vals = v;
	v = &a->vals[a->nvals++];
	v->data = malloc(len + 1);
	if (v->data == NULL)
		abort();
	if (len > 0)
		memcpy(v->data, val, len);
	v->data[len] = '\0';
	v->len = len;
}

static struct mbx_dir_entry *entry(const char *dn)
{
	struct mbx_dir_entry *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->dn = strdup(dn)) == NULL)
		abort();
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mbx_logon_limiter lim;
	static const enum mbx_dir_status statuses[] = {MBX_DIR_FOUND, MBX_DIR_NOT_FOUND,
	                                               MBX_DIR_TEMPFAIL, MBX_DIR_ERROR};
	static const char *const amb_dns[] = {"cn=a,dc=x", "cn=b,dc=y", "cn=c,dc=z"};
	const struct mbx_server_identity id_new = {
	        "SERVER1", "/o=Contoso/cn=Servers/cn=SERVER1", "cn=SERVER1" CFG, &forest, 1, false};
	struct mbx_server_identity id = id_new;
	struct mbx_dir_entry *e[3];
	struct mbx_mailbox *m = NULL, *c;
	struct mbx_sid psid, groups[2];
	struct mbx_authz_sid_dns resolved[1];
	struct mbx_authz_principal p = {"fuzz@contoso.com", &psid, groups, 2, resolved, 1};
	struct mbx_authz az;
	struct mbx_logon_req req = {0};
	struct mbx_logon_input in;
	struct mbx_logon_decision d;
	enum mbx_dir_status status;
	char err[512], line[2048];
	struct rd r;
	uint8_t flags, who;

	if (size < 2)
		return 0;
	flags = data[0];
	who = data[1];
	e[0] = entry("cn=User,cn=Users,dc=contoso,dc=com");
	e[1] = entry("cn=DB01,cn=Databases,cn=AG,dc=contoso,dc=com");
	e[2] = entry("cn=SERVER1" CFG);
	resolved[0].dns = amb_dns;
	resolved[0].ndns = 0;
	rd_init(&r, data + 2, size - 2, 2);
	while (rd_left(&r) > 0) {
		uint8_t which = rd_u8(&r, NULL), ai = rd_u8(&r, NULL), len = rd_u8(&r, NULL);
		const uint8_t *val = rd_ptr(&r, len, NULL);

		if (!rd_ok(&r))
			break;
		if (which % 4 == 3) {
			resolved[0].ndns = ai % 4;
			continue;
		}
		add(e[which % 4], attrs[ai % NATTRS], val, len);
	}

	status = statuses[(flags >> 4) & 3];
	if (mbx_mailbox_from_entries(e[0], e[1]->nattrs > 0 ? e[1] : NULL,
	                             e[1]->nattrs > 0 && e[2]->nattrs > 0 ? e[2] : NULL, 0, &m, err,
	                             sizeof(err)) == 0) {
		c = mbx_mailbox_dup(m);
		if (c == NULL || strcmp(c->dn, m->dn) != 0 || c->sd_len != m->sd_len)
			abort();
		mbx_mailbox_free(&c);
	} else if (m != NULL || err[0] == '\0') {
		abort(); /* a failure must say why and leave nothing behind */
	}

	id.exchange2003_compat = (flags & 8) != 0;
	in.state = mbx_mailbox_classify(m, status, &id, NULL);
	if ((unsigned)in.state >= MBX_MAILBOX_NSTATES)
		abort();

	/* the principal: the mailbox's own SID, its master, or somebody else */
	memset(&psid, 0, sizeof(psid));
	if (m != NULL && (who & 3) == 0 && m->has_object_sid)
		psid = m->object_sid;
	else if (m != NULL && (who & 3) == 1)
		psid = m->master_sid;
	else
		mbx_sid_from_str("S-1-5-21-1-2-3-1000", &psid);
	mbx_sid_from_str((who & 4) ? "S-1-5-32-555" : "S-1-5-21-1-2-3-1200", &groups[0]);
	mbx_sid_from_str("S-1-5-21-1-2-3-1201", &groups[1]);
	resolved[0].sid = groups[(who >> 3) & 1];
	mbx_authz_check(m, &p, &az);
	if (az.result == MBX_AUTHZ_GRANTED && m == NULL)
		abort();
	if (az.owner && az.result != MBX_AUTHZ_GRANTED)
		abort();

	req.logon_flags = (flags & 1) ? MBX_LOGON_PRIVATE : 0;
	req.open_flags = ((flags & 2) ? MBX_OPEN_USE_PER_MDB_REPLID_MAPPING : 0) |
	                 ((flags & 4) ? MBX_OPEN_USE_ADMIN_PRIVILEGE : 0);
	req.essdn = "/o=Contoso/cn=Recipients/cn=fuzz";
	in.mbx = m;
	in.req = &req;
	in.id = &id;
	in.authz = &az;
	in.principal = p.name;
	in.limiter = &lim;
	in.now_ms = who;
	mbx_logon_decide(&in, &d);
	if (d.ec == 0 && az.result != MBX_AUTHZ_GRANTED && (flags & 1))
		abort(); /* a private logon never succeeds without authorization */
	if (d.kind == MBX_LOGON_RESP_REDIRECT &&
	    (strlen(d.server) == 0 || strlen(d.server) > MBX_SERVERNAME_MAX - 1))
		abort();
	for (unsigned i = 0; i < d.nevents; i++)
		if (mbx_logon_decision_line(&d, &in, i, line, sizeof(line)) == 0)
			abort();

	mbx_mailbox_free(&m);
	for (int i = 0; i < 3; i++)
		mbx_dir_entry_free(&e[i]);
	return 0;
}
