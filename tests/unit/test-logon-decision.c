/*
 * test-logon-decision.c: the RopLogon answer of src/store/logon-decision.c (MS-OXCSTOR
 * 3.2.5.1.1 / 3.2.5.1.3, design.md state table, seeds 000, 001, 003, 004): the whole table of
 * states x LogonFlags/OpenFlags x the 2003 switch x authorization results, the Wrong Server
 * Buffer limit, the ecServerPaused limiter, and every event line as the log hook sees it.
 * Snapshots are built from hand-made entries that mirror conf/directory.ldif and classified
 * for real, so the table checks classification and decision together.
 */
#include "mbx-test.h"

#include "mbx/mailbox.h"
#include "mbx/rop-errors.h"

#include "store-fixtures.h"

/* carol: in transit (InProgress), DB01 */
static struct world carol(void)
{
	struct world w = {
	        user_entry("Carol Clark", "carol", 1103, DB01_DN, SRV1_LEG),
	        db_entry(DB01_DN, "DB01", SRV1_DN),
	        server_entry(SRV1_DN, SRV1_LEG),
	};

	ent_set(w.user, "msExchMailboxMoveStatus", "2");
	ent_set(w.user, "msExchMailboxMoveFlags", "2");
	ent_set(w.user, "msExchMailboxMoveSourceMDBLink", DB01_DN);
	ent_set(w.user, "msExchMailboxMoveTargetMDBLink", DB03_DN);
	return w;
}

/* gina: disabled, no msExchMasterAccountSid (seed 000), DB01 */
static struct world gina(void)
{
	struct world w = {
	        user_entry("Gina Gray", "gina", 1106, DB01_DN, SRV1_LEG),
	        db_entry(DB01_DN, "DB01", SRV1_DN),
	        server_entry(SRV1_DN, SRV1_LEG),
	};

	ent_set(w.user, "userAccountControl", "514");
	ent_set(w.user, "msExchUserAccountControl", "2");
	return w;
}

/* The snapshot the mailbox table would hand over in each state, and the lookup status. */
static struct mbx_mailbox *snapshot_for(enum mbx_mailbox_state st, const char **essdn_r)
{
	static const enum mbx_dir_status none_status[] = {
	        [MBX_MAILBOX_UNKNOWN] = MBX_DIR_NOT_FOUND,
	        [MBX_MAILBOX_DIR_UNREACHABLE] = MBX_DIR_TEMPFAIL,
	        [MBX_MAILBOX_DIR_ERROR] = MBX_DIR_ERROR,
	};
	struct world w;
	struct mbx_mailbox *m;

	*essdn_r = RCPT("nobody");
	switch (st) {
	case MBX_MAILBOX_NORMAL:
		w = alice();
		break;
	case MBX_MAILBOX_IN_TRANSIT:
		w = carol();
		break;
	case MBX_MAILBOX_MOVED_SAME_FOREST:
		w = dave();
		break;
	case MBX_MAILBOX_MOVED_OTHER_FOREST:
		w = erin();
		break;
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		w = frank();
		break;
	case MBX_MAILBOX_DISABLED_NO_MASTER:
		w = gina();
		break;
	case MBX_MAILBOX_HOME_UNKNOWN:
		w = alice();
		mbx_dir_entry_free(&w.db);
		mbx_dir_entry_free(&w.srv);
		ent_del(w.user, "msExchHomeServerName");
		break;
	default:
		assert_int_equal(mbx_mailbox_classify(NULL, none_status[st], &server1, NULL), st);
		return NULL;
	}
	m = build(&w);
	world_free(&w);
	*essdn_r = m->legacy_dn;
	assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_FOUND, &server1, NULL), st);
	return m;
}

/* Authorization results as mbx_authz_check would give them. */
enum av {
	AV_OWNER,
	AV_DELEGATE, /* full access, not the owner */
	AV_DENIED,
	AV_AMBIGUOUS,
	AV_NULL, /* no result given */
	AV_COUNT,
};

static const struct mbx_authz *authz_for(enum av v, struct mbx_authz *a)
{
	memset(a, 0, sizeof(*a));
	switch (v) {
	case AV_OWNER:
		a->result = MBX_AUTHZ_GRANTED;
		a->via = MBX_AUTHZ_VIA_OWNER;
		a->owner = a->owner_right = a->send_as_right = true;
		snprintf(a->reason, sizeof(a->reason), "owner");
		return a;
	case AV_DELEGATE:
		a->result = MBX_AUTHZ_GRANTED;
		a->via = MBX_AUTHZ_VIA_FULL_ACCESS;
		a->owner_right = true;
		snprintf(a->reason, sizeof(a->reason), "full access");
		return a;
	case AV_DENIED:
		a->result = MBX_AUTHZ_DENIED;
		snprintf(a->reason, sizeof(a->reason), "no rights at all");
		return a;
	case AV_AMBIGUOUS:
		a->result = MBX_AUTHZ_AMBIGUOUS;
		a->via = MBX_AUTHZ_VIA_AMBIGUOUS_SID;
		snprintf(a->reason, sizeof(a->reason), "SID S-1-5-21-1-2-3-4 is held by 2 objects");
		return a;
	default:
		return NULL;
	}
}

/* The spec, written out independently of logon-decision.c (protocol.md 3.2 + design.md). */
static uint32_t oracle(enum mbx_mailbox_state st, bool priv, bool permdb, bool admin, bool compat,
                       enum av v)
{
	if (!priv)
		return ecNone;
	if (!permdb)
		return ecInvalidParameter;
	switch (st) {
	case MBX_MAILBOX_UNKNOWN:
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		return ecUnknownUser;
	case MBX_MAILBOX_DIR_UNREACHABLE:
		return ecNetworkError;
	case MBX_MAILBOX_DIR_ERROR:
	case MBX_MAILBOX_HOME_UNKNOWN:
	case MBX_MAILBOX_DISABLED_NO_MASTER:
		return ecLoginFailure;
	case MBX_MAILBOX_MOVED_OTHER_FOREST:
		return compat ? ecLoginFailure : ecUnknownUser;
	case MBX_MAILBOX_IN_TRANSIT:
		return ecMailboxInTransit;
	case MBX_MAILBOX_MOVED_SAME_FOREST:
		return ecWrongServer;
	case MBX_MAILBOX_NORMAL:
		if (v == AV_AMBIGUOUS)
			return ecAccessDenied;
		if (v != AV_OWNER && !admin)
			return ecProfileNotConfigured;
		if (v == AV_DENIED || v == AV_NULL)
			return ecAccessDenied;
		return ecNone;
	}
	return 0xFFFFFFFF;
}

static unsigned oracle_events(enum mbx_mailbox_state st, uint32_t ec, enum mbx_event ev[2])
{
	if (ec == ecInvalidParameter || ec == ecNone || ec == ecProfileNotConfigured)
		return 0;
	switch (st) {
	case MBX_MAILBOX_DIR_ERROR:
	case MBX_MAILBOX_HOME_UNKNOWN:
		ev[0] = MBX_EV_LOGON_FAILURE;
		return 1;
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		ev[0] = MBX_EV_LOGON_FAILURE_AUDIT;
		return 1;
	case MBX_MAILBOX_IN_TRANSIT:
		ev[0] = MBX_EV_LOGON_IN_TRANSIT;
		return 1;
	case MBX_MAILBOX_DISABLED_NO_MASTER:
		ev[0] = MBX_EV_NO_MASTER_ACCOUNT_SID;
		ev[1] = MBX_EV_LOGON_FAILURE;
		return 2;
	case MBX_MAILBOX_NORMAL: /* ecAccessDenied (the caller fixes up the ambiguous case) */
		ev[0] = MBX_EV_LOGON_FAILURE;
		return 1;
	default:
		return 0;
	}
}

static void test_decision_table(void **state)
{
	unsigned rows = 0;

	(void)state;
	for (int st = 0; st < MBX_MAILBOX_NSTATES; st++) {
		const char *essdn;
		struct mbx_mailbox *m = snapshot_for((enum mbx_mailbox_state)st, &essdn);

		for (unsigned flags = 0; flags < 16; flags++) {
			bool priv = flags & 1, permdb = flags & 2, admin = flags & 4,
			     compat = flags & 8;
			struct mbx_server_identity id = server1;
			struct mbx_logon_req req = {0};

			id.exchange2003_compat = compat;
			req.logon_flags = priv ? MBX_LOGON_PRIVATE : 0;
			req.open_flags = (permdb ? MBX_OPEN_USE_PER_MDB_REPLID_MAPPING : 0) |
			                 (admin ? MBX_OPEN_USE_ADMIN_PRIVILEGE : 0) |
			                 (priv ? 0 : MBX_OPEN_PUBLIC);
			req.essdn = essdn;
			req.essdn_size = (uint16_t)(strlen(essdn) + 1);
			for (int v = 0; v < AV_COUNT; v++) {
				struct mbx_authz a;
				struct mbx_logon_input in = {
				        (enum mbx_mailbox_state)st,
				        m,
				        &req,
				        &id,
				        authz_for((enum av)v, &a),
				        "alice@contoso.com",
				        NULL,
				        0,
				};
				struct mbx_logon_decision d;
				uint32_t want = oracle((enum mbx_mailbox_state)st, priv, permdb,
				                       admin, compat, (enum av)v);
				enum mbx_event ev[2] = {0, 0};
				unsigned nev;
				enum mbx_logon_resp_kind kind;
				char b1[16], b2[16];

				memset(&d, 0xA5, sizeof(d));
				mbx_logon_decide(&in, &d);
				rows++;
				if (d.ec != want)
					fail_msg("%s flags %u authz %d: %s, expected %s",
					         mbx_mailbox_state_name((enum mbx_mailbox_state)st),
					         flags, v, mbx_ec_str(d.ec, b1, sizeof(b1)),
					         mbx_ec_str(want, b2, sizeof(b2)));
				kind = want == ecWrongServer ? MBX_LOGON_RESP_REDIRECT
				       : want != ecNone      ? MBX_LOGON_RESP_FAILURE
				       : priv                ? MBX_LOGON_RESP_PRIVATE
				                             : MBX_LOGON_RESP_PUBLIC;
				assert_int_equal(d.kind, kind);
				assert_non_null(d.reason);
				nev = oracle_events((enum mbx_mailbox_state)st, want, ev);
				if (st == MBX_MAILBOX_NORMAL && want == ecAccessDenied &&
				    v == AV_AMBIGUOUS)
					ev[0] = MBX_EV_SID_AMBIGUOUS;
				if (d.nevents != nev)
					fail_msg("%s flags %u authz %d: %u events, expected %u",
					         mbx_mailbox_state_name((enum mbx_mailbox_state)st),
					         flags, v, d.nevents, nev);
				for (unsigned k = 0; k < nev; k++)
					assert_int_equal(d.events[k], ev[k]);
				if (kind == MBX_LOGON_RESP_REDIRECT)
					assert_string_equal(d.server, SRV2_LEG);
				else
					assert_string_equal(d.server, "");
				if (kind == MBX_LOGON_RESP_PRIVATE) {
					assert_int_equal(d.response_flags,
					                 v == AV_OWNER ? 0x07 : 0x03);
					assert_int_equal(d.owner, v == AV_OWNER);
				} else {
					assert_int_equal(d.response_flags, 0);
					assert_false(d.owner);
				}
			}
		}
		mbx_mailbox_free(&m);
	}
	assert_int_equal(rows, MBX_MAILBOX_NSTATES * 16 * AV_COUNT);
}

/* Public-folder logons succeed with the public layout whatever the state (no Essdn needed). */
static void test_public_logon(void **state)
{
	struct mbx_logon_req req = {0};
	struct mbx_logon_limiter lim;

	(void)state;
	mbx_logon_limiter_init(&lim);
	req.open_flags = MBX_OPEN_PUBLIC | MBX_OPEN_IGNORE_HOME_MDB;
	req.essdn = "";
	for (int st = 0; st < MBX_MAILBOX_NSTATES; st++) {
		struct mbx_logon_input in = {
		        (enum mbx_mailbox_state)st, NULL, &req, &server1, NULL, NULL, &lim, 0,
		};
		struct mbx_logon_decision d;

		for (int i = 0; i < 10; i++) {
			mbx_logon_decide(&in, &d);
			assert_int_equal(d.ec, ecNone);
			assert_int_equal(d.kind, MBX_LOGON_RESP_PUBLIC);
			assert_int_equal(d.nevents, 0);
		}
	}
	assert_int_equal(mbx_logon_limiter_count(&lim), 0);
}

/* A RopLogon request as a client sends it. */
static struct mbx_logon_req private_req(const char *essdn, uint32_t extra)
{
	struct mbx_logon_req req = {0};

	req.logon_flags = MBX_LOGON_PRIVATE;
	req.open_flags = MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_HOME_LOGON |
	                 MBX_OPEN_TAKE_OWNERSHIP | extra;
	req.essdn = essdn;
	req.essdn_size = (uint16_t)(strlen(essdn) + 1);
	return req;
}

/* A "moved, same forest" snapshot whose home server has a name of n bytes. */
static struct mbx_mailbox *moved_with_server_name(size_t n, char fill)
{
	struct world w = dave();
	struct mbx_mailbox *m;
	char *name = malloc(n + 1);

	assert_non_null(name);
	memset(name, fill, n);
	memcpy(name, "/o=Contoso", n < 10 ? n : 10);
	name[n] = '\0';
	ent_set(w.srv, "legacyExchangeDN", name);
	m = build(&w);
	world_free(&w);
	free(name);
	assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_FOUND, &server1, NULL),
	                 MBX_MAILBOX_MOVED_SAME_FOREST);
	return m;
}

/* Wrong Server Buffer: ServerNameSize is one byte counting the NUL, so 254 characters. */
static void test_redirect_name_length(void **state)
{
	static const struct {
		size_t n;
		uint32_t ec;
	} rows[] = {
	        {1, ecWrongServer},     {100, ecWrongServer},  {253, ecWrongServer},
	        {254, ecWrongServer},   {255, ecLoginFailure}, {256, ecLoginFailure},
	        {1000, ecLoginFailure},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mbx_mailbox *m = moved_with_server_name(rows[i].n, 'x');
		struct mbx_logon_req req = private_req(RCPT("dave"), 0);
		struct mbx_logon_input in = {
		        MBX_MAILBOX_MOVED_SAME_FOREST, m, &req, &server1, NULL, "alice", NULL, 0,
		};
		struct mbx_logon_decision d;

		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, rows[i].ec);
		if (rows[i].ec == ecWrongServer) {
			struct mbx_logon_resp resp;
			uint8_t buf[MBX_LOGON_RESP_MAX];
			struct wr w;

			assert_int_equal(d.kind, MBX_LOGON_RESP_REDIRECT);
			assert_int_equal(strlen(d.server), rows[i].n);
			assert_string_equal(d.server, m->home_server_legacy_dn);
			assert_int_equal(d.nevents, 0);
			/* and it really goes on the wire: 8 + n + 1 bytes */
			memset(&resp, 0, sizeof(resp));
			resp.kind = d.kind;
			resp.rv = d.ec;
			resp.logon_flags = req.logon_flags;
			memcpy(resp.server, d.server, sizeof(resp.server));
			wr_init(&w, buf, sizeof(buf));
			assert_int_equal(mbx_roplogon_resp_encode(&w, &resp), 0);
			assert_int_equal(w.len, 8 + rows[i].n + 1);
			assert_int_equal(buf[2], 0x78);
			assert_int_equal(buf[3], 0x04);
			assert_int_equal(buf[7], rows[i].n + 1);
			assert_int_equal(buf[w.len - 1], 0);
		} else {
			char want[128];

			assert_int_equal(d.kind, MBX_LOGON_RESP_FAILURE);
			assert_string_equal(d.server, "");
			assert_int_equal(d.nevents, 1);
			assert_int_equal(d.events[0], MBX_EV_LOGON_FAILURE);
			snprintf(want, sizeof(want), "home server legacyExchangeDN is %zu bytes",
			         rows[i].n);
			assert_non_null(strstr(d.detail, want));
			assert_non_null(strstr(d.detail, "at most 254"));
		}
		mbx_mailbox_free(&m);
	}
	/* a name that is not printable ASCII cannot go in the buffer either */
	{
		struct mbx_mailbox *m = moved_with_server_name(40, '\x7f');
		struct mbx_logon_req req = private_req(RCPT("dave"), 0);
		struct mbx_logon_input in = {
		        MBX_MAILBOX_MOVED_SAME_FOREST, m, &req, &server1, NULL, "alice", NULL, 0,
		};
		struct mbx_logon_decision d;

		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecLoginFailure);
		assert_non_null(strstr(d.detail, "not printable ASCII"));
		/* nor can an empty one (not from a builder, but from a hand-made snapshot) */
		m->home_server_legacy_dn[0] = '\0';
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecLoginFailure);
		/* or none: a caller that classified without one */
		free(m->home_server_legacy_dn);
		m->home_server_legacy_dn = NULL;
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecLoginFailure);
		assert_int_equal(d.events[0], MBX_EV_LOGON_FAILURE);
		in.mbx = NULL;
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecLoginFailure);
		mbx_mailbox_free(&m);
	}
}

/* --- the limiter -------------------------------------------------------------------------- */

#define S(x) ((uint64_t)(x)*1000)

static enum mbx_logon_limit hit(struct mbx_logon_limiter *l, uint64_t ms)
{
	return mbx_logon_limiter_hit(l, "alice@contoso.com", RCPT("dave"), ms);
}

static void test_limiter_window(void **state)
{
	struct mbx_logon_limiter l;

	(void)state;
	/* 5 within 10 s pass, the 6th within 10 s is paused */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(i)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(hit(&l, S(10) - 1), MBX_LOGON_LIMIT_PAUSED);

	/* the 6th exactly 10 s after the first: the first is out of the window */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(i)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(hit(&l, S(10)), MBX_LOGON_LIMIT_OK);
	/* ... and the 7th at 10.5 s sees 1, 2, 3, 4, 10: five in the window */
	assert_int_equal(hit(&l, S(10) + 500), MBX_LOGON_LIMIT_PAUSED);

	/* 6 all at once: the 6th is paused */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(100)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(hit(&l, S(100)), MBX_LOGON_LIMIT_PAUSED);

	/* refused attempts count: a client retrying every second stays paused ... */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(i)), MBX_LOGON_LIMIT_OK);
	for (int i = 5; i < 30; i++)
		assert_int_equal(hit(&l, S(i)), MBX_LOGON_LIMIT_PAUSED);
	/* ... until it waits 10 s */
	assert_int_equal(hit(&l, S(39)), MBX_LOGON_LIMIT_OK);
	/* slow clients are never paused: one attempt every 2.5 s is 4 per window */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 100; i++)
		assert_int_equal(hit(&l, (uint64_t)i * 2500), MBX_LOGON_LIMIT_OK);
	/* one every 2 s is 5 per window plus the current one: paused from the 6th on */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(2 * i)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(hit(&l, S(10) - 1), MBX_LOGON_LIMIT_PAUSED);
	/* a clock that went back counts the future attempts (the safe side) */
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(1000)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(hit(&l, S(5)), MBX_LOGON_LIMIT_PAUSED);
	assert_int_equal(mbx_logon_limiter_count(&l), 1);
	assert_int_equal(l.evictions, 0);
}

static void test_limiter_keys(void **state)
{
	struct mbx_logon_limiter l;

	(void)state;
	mbx_logon_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hit(&l, S(1)), MBX_LOGON_LIMIT_OK);
	/* another principal, another mailbox: counted apart */
	assert_int_equal(mbx_logon_limiter_hit(&l, "bob@contoso.com", RCPT("dave"), S(1)),
	                 MBX_LOGON_LIMIT_OK);
	assert_int_equal(mbx_logon_limiter_hit(&l, "alice@contoso.com", RCPT("erin"), S(1)),
	                 MBX_LOGON_LIMIT_OK);
	/* the parts do not run into each other */
	assert_int_equal(mbx_logon_limiter_hit(&l, "alice@contoso.com/o", "=Contoso", S(1)),
	                 MBX_LOGON_LIMIT_OK);
	/* both parts compare case-insensitively: this is the 6th attempt of the same key */
	assert_int_equal(mbx_logon_limiter_hit(&l, "ALICE@contoso.COM",
	                                       "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP "
	                                       "(FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=DAVE",
	                                       S(1)),
	                 MBX_LOGON_LIMIT_PAUSED);
	assert_int_equal(mbx_logon_limiter_count(&l), 4);
	/* NULL principal is the empty one */
	for (int i = 0; i < 5; i++)
		assert_int_equal(mbx_logon_limiter_hit(&l, NULL, "m", S(2)), MBX_LOGON_LIMIT_OK);
	assert_int_equal(mbx_logon_limiter_hit(&l, "", "M", S(2)), MBX_LOGON_LIMIT_PAUSED);
}

static void test_limiter_bounded_lru(void **state)
{
	static struct mbx_logon_limiter l; /* 16 KB: keep it off the stack */
	char name[32];

	(void)state;
	mbx_logon_limiter_init(&l);
	/* key 0 is paused-to-be: five attempts at t = 0 */
	for (int i = 0; i < 5; i++)
		assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key0", 0), MBX_LOGON_LIMIT_OK);
	/* fill every slot with live keys, each hit later than the previous */
	for (unsigned k = 1; k < MBX_LOGON_LIMITER_SLOTS; k++) {
		snprintf(name, sizeof(name), "key%u", k);
		assert_int_equal(mbx_logon_limiter_hit(&l, "p", name, k), MBX_LOGON_LIMIT_OK);
	}
	assert_int_equal(mbx_logon_limiter_count(&l), MBX_LOGON_LIMITER_SLOTS);
	assert_int_equal(l.evictions, 0);
	/* key0 is used again: now key1 is the least recently used */
	assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key0", 1000), MBX_LOGON_LIMIT_PAUSED);
	/* a new key evicts key1, not key0: memory stays bounded */
	assert_int_equal(mbx_logon_limiter_hit(&l, "p", "new", 1001), MBX_LOGON_LIMIT_OK);
	assert_int_equal(mbx_logon_limiter_count(&l), MBX_LOGON_LIMITER_SLOTS);
	assert_int_equal(l.evictions, 1);
	assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key0", 1002), MBX_LOGON_LIMIT_PAUSED);
	/* key1 was forgotten: it starts again from one attempt (and evicts key2) */
	for (int i = 0; i < 4; i++)
		assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key1", 1003), MBX_LOGON_LIMIT_OK);
	assert_int_equal(l.evictions, 2);
	assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key1", 1003), MBX_LOGON_LIMIT_OK);
	assert_int_equal(mbx_logon_limiter_hit(&l, "p", "key1", 1003), MBX_LOGON_LIMIT_PAUSED);
	/* once everything is older than the window, slots are reused without eviction */
	for (unsigned k = 0; k < 3 * MBX_LOGON_LIMITER_SLOTS; k++) {
		snprintf(name, sizeof(name), "later%u", k);
		assert_int_equal(mbx_logon_limiter_hit(&l, "p", name, S(100) + S(20) * k),
		                 MBX_LOGON_LIMIT_OK);
	}
	assert_int_equal(l.evictions, 2);
	assert_int_equal(mbx_logon_limiter_count(&l), MBX_LOGON_LIMITER_SLOTS);
}

/* ecServerPaused through the decision: only for mailboxes this server does not host. */
static void test_decide_server_paused(void **state)
{
	static struct mbx_logon_limiter lim;
	static const enum mbx_mailbox_state moved[] = {MBX_MAILBOX_MOVED_SAME_FOREST,
	                                               MBX_MAILBOX_MOVED_OTHER_FOREST};

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		const char *essdn;
		struct mbx_mailbox *m = snapshot_for(moved[s], &essdn);
		struct mbx_logon_req req = private_req(essdn, 0);
		struct mbx_logon_input in = {
		        moved[s], m, &req, &server1, NULL, "alice@contoso.com", &lim, S(50),
		};
		struct mbx_logon_decision d;
		uint32_t normal =
		        moved[s] == MBX_MAILBOX_MOVED_SAME_FOREST ? ecWrongServer : ecUnknownUser;

		mbx_logon_limiter_init(&lim);
		for (int i = 0; i < 5; i++) {
			in.now_ms = S(50) + (uint64_t)i * 100;
			mbx_logon_decide(&in, &d);
			assert_int_equal(d.ec, normal);
		}
		in.now_ms = S(51);
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecServerPaused);
		assert_int_equal(d.kind, MBX_LOGON_RESP_FAILURE);
		assert_int_equal(d.nevents, 0);
		assert_string_equal(d.server, "");
		/* another principal is not paused */
		in.principal = "bob@contoso.com";
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, normal);
		/* 10 s of quiet later, alice is redirected again */
		in.principal = "alice@contoso.com";
		in.now_ms = S(62);
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, normal);
		/* without a limiter nothing is ever paused */
		in.limiter = NULL;
		for (int i = 0; i < 20; i++) {
			mbx_logon_decide(&in, &d);
			assert_int_equal(d.ec, normal);
		}
		mbx_mailbox_free(&m);
	}
	/* hosted or refused for another reason: the limiter is not touched */
	mbx_logon_limiter_init(&lim);
	for (int st = 0; st < MBX_MAILBOX_NSTATES; st++) {
		const char *essdn;
		struct mbx_mailbox *m;
		struct mbx_logon_req req;
		struct mbx_authz a;
		struct mbx_logon_input in;
		struct mbx_logon_decision d;

		if (st == MBX_MAILBOX_MOVED_SAME_FOREST || st == MBX_MAILBOX_MOVED_OTHER_FOREST)
			continue;
		m = snapshot_for((enum mbx_mailbox_state)st, &essdn);
		req = private_req(essdn, 0);
		in = (struct mbx_logon_input){
		        (enum mbx_mailbox_state)st, m,    &req, &server1, authz_for(AV_OWNER, &a),
		        "alice@contoso.com",        &lim, S(1),
		};
		for (int i = 0; i < 20; i++) {
			mbx_logon_decide(&in, &d);
			assert_int_not_equal(d.ec, ecServerPaused);
		}
		mbx_mailbox_free(&m);
	}
	assert_int_equal(mbx_logon_limiter_count(&lim), 0);
	/* ecInvalidParameter comes before the limiter */
	{
		const char *essdn;
		struct mbx_mailbox *m = snapshot_for(MBX_MAILBOX_MOVED_SAME_FOREST, &essdn);
		struct mbx_logon_req req = private_req(essdn, 0);
		struct mbx_logon_input in = {
		        MBX_MAILBOX_MOVED_SAME_FOREST, m, &req, &server1, NULL, "x", &lim, 0,
		};
		struct mbx_logon_decision d;

		req.open_flags &= ~MBX_OPEN_USE_PER_MDB_REPLID_MAPPING;
		for (int i = 0; i < 10; i++) {
			mbx_logon_decide(&in, &d);
			assert_int_equal(d.ec, ecInvalidParameter);
		}
		assert_int_equal(mbx_logon_limiter_count(&lim), 0);
		mbx_mailbox_free(&m);
	}
}

/* --- event lines -------------------------------------------------------------------------- */

struct capture {
	unsigned n;
	enum mbx_log_level level[8];
	char line[8][2048];
};

static void capture_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct capture *c = ctx;

	if (c->n < 8) {
		c->level[c->n] = level;
		snprintf(c->line[c->n], sizeof(c->line[c->n]), "%s", line);
	}
	c->n++;
}

/* Decides, logs through the hook, and returns what was captured. */
static void decide_and_log(const struct mbx_logon_input *in, struct mbx_logon_decision *d,
                           struct capture *c)
{
	memset(c, 0, sizeof(*c));
	mbx_logon_decide(in, d);
	mbx_log_set_hook(capture_hook, c);
	mbx_logon_decision_log(d, in);
	mbx_log_set_hook(NULL, NULL);
}

static void expect_line(const struct capture *c, unsigned i, enum mbx_log_level level,
                        const char *prefix, const char *const *parts)
{
	assert_true(i < c->n);
	assert_int_equal(c->level[i], level);
	if (strncmp(c->line[i], prefix, strlen(prefix)) != 0)
		fail_msg("line \"%s\" does not start with \"%s\"", c->line[i], prefix);
	for (; parts != NULL && *parts != NULL; parts++)
		if (strstr(c->line[i], *parts) == NULL)
			fail_msg("line \"%s\" does not contain \"%s\"", c->line[i], *parts);
}

/* Seed 000: 9548 (warning) then 1022 (error) with MAPI_E_LOGON_FAILED as Exchange shows it. */
static void test_events_disabled_no_master(void **state)
{
	struct world w = gina();
	struct mbx_mailbox *m = build(&w);
	struct mbx_logon_req req = private_req(RCPT("gina"), 0);
	struct mbx_logon_input in = {
	        MBX_MAILBOX_DISABLED_NO_MASTER, m,    &req, &server1, NULL,
	        "administrator@contoso.com",    NULL, 0,
	};
	struct mbx_logon_decision d;
	struct capture c;
	const char *const p9548[] = {
	        "disabled user " RCPT("gina") " does not have a master account SID",
	        "msExchMasterAccountSid", "server SERVER1", NULL};
	const char *const p1022[] = {"logon failure on database \"" AG
	                             "/cn=Configuration/cn=Databases/cn=DB01\"",
	                             "on server SERVER1",
	                             "account administrator@contoso.com",
	                             "mailbox " RCPT("gina"),
	                             "error ecLoginFailure (0x80040111, -2147221231)",
	                             "disabled account without a master account SID",
	                             NULL};

	(void)state;
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecLoginFailure);
	assert_int_equal(c.n, 2);
	expect_line(&c, 0, MBX_LOG_WARNING, "event=9548 NO_MASTER_ACCOUNT_SID: ", p9548);
	expect_line(&c, 1, MBX_LOG_ERROR, "event=1022 LOGON_FAILURE: ", p1022);
	mbx_mailbox_free(&m);
	world_free(&w);
}

/* Seed 003: failure audit 1023 for a custom recipient. */
static void test_events_custom_recipient(void **state)
{
	struct world w = frank();
	struct mbx_mailbox *m = build(&w);
	struct mbx_logon_req req = private_req(RCPT("frank"), 0);
	struct mbx_logon_input in = {
	        MBX_MAILBOX_CUSTOM_RECIPIENT, m, &req, &server1, NULL, "alice@contoso.com", NULL, 0,
	};
	struct mbx_logon_decision d;
	struct capture c;
	const char *const parts[] = {
	        "alice@contoso.com was validated but was unable to log on to " RCPT("frank"),
	        "it is a contact without a mailbox", "server SERVER1", NULL};

	(void)state;
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecUnknownUser);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, MBX_LOG_WARNING, "event=1023 LOGON_FAILURE_AUDIT: ", parts);
	mbx_mailbox_free(&m);
	world_free(&w);
}

static void test_events_in_transit(void **state)
{
	struct world w = carol();
	struct mbx_mailbox *m;
	struct mbx_logon_req req = private_req(RCPT("carol"), 0);
	struct mbx_logon_input in = {
	        MBX_MAILBOX_IN_TRANSIT, NULL, &req, &server1, NULL, "carol@contoso.com", NULL, 0,
	};
	struct mbx_logon_decision d;
	struct capture c;
	const char *const parts[] = {
	        "user carol@contoso.com (" RCPT(
	                "carol") ") failed to log on "
	                         "because the mailbox is in the process of being moved",
	        "(msExchMailboxMoveStatus InProgress)", "server SERVER1", NULL};
	const char *const parts7[] = {"(msExchMailboxMoveStatus 7)", NULL};

	(void)state;
	m = build(&w);
	in.mbx = m;
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecMailboxInTransit);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, MBX_LOG_NOTICE, "event=9660 LOGON_IN_TRANSIT: ", parts);
	mbx_mailbox_free(&m);
	ent_set(w.user, "msExchMailboxMoveStatus", "7");
	m = build(&w);
	in.mbx = m;
	decide_and_log(&in, &d, &c);
	expect_line(&c, 0, MBX_LOG_NOTICE, "event=9660 LOGON_IN_TRANSIT: ", parts7);
	mbx_mailbox_free(&m);
	world_free(&w);
}

static void test_events_ambiguous_and_denied(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	struct mbx_logon_req req = private_req(RCPT("alice"), MBX_OPEN_USE_ADMIN_PRIVILEGE);
	struct mbx_authz a;
	struct mbx_logon_input in = {
	        MBX_MAILBOX_NORMAL, m, &req, &server1, &a, "henry@child.contoso.com", NULL, 0,
	};
	struct mbx_logon_decision d;
	struct capture c;
	const char *const p2105[] = {
	        "henry@child.contoso.com denied access to " RCPT(
	                "alice") " on server SERVER1: SID S-1-5-21-1-2-3-4 is held by 2 "
	                         "objects",
	        NULL};
	const char *const p1022[] = {"error ecAccessDenied (0x80070005, -2147024891)",
	                             "the principal has no rights on the mailbox: no rights at all",
	                             NULL};

	(void)state;
	authz_for(AV_AMBIGUOUS, &a);
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecAccessDenied);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, MBX_LOG_WARNING, "event=2105 SID_AMBIGUOUS: ", p2105);
	authz_for(AV_DENIED, &a);
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecAccessDenied);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, MBX_LOG_ERROR, "event=1022 LOGON_FAILURE: ", p1022);
	mbx_mailbox_free(&m);
	world_free(&w);
}

static void test_events_other_failures(void **state)
{
	struct mbx_logon_req req = private_req(RCPT("x"), 0);
	struct mbx_logon_input in = {
	        MBX_MAILBOX_DIR_ERROR, NULL, &req, &server1, NULL, "alice@contoso.com", NULL, 0,
	};
	struct mbx_logon_decision d;
	struct capture c;
	char essdn[64];
	const char *const pdir[] = {"mailbox /o=A\\x0aB\\x22C\\x5c;", "(no database)",
	                            "the directory lookup failed", NULL};
	const char *const phome[] = {"mailbox " RCPT("alice"), "\"" DB01_DN "\"",
	                             "the mailbox's home server cannot be determined", NULL};
	const char *const plong[] = {"home server legacyExchangeDN is 300 bytes", NULL};

	(void)state;
	/* DIR_ERROR: no snapshot, so the Essdn names the mailbox, escaped */
	snprintf(essdn, sizeof(essdn), "/o=A\nB\"C\\");
	req = private_req(essdn, 0);
	decide_and_log(&in, &d, &c);
	assert_int_equal(d.ec, ecLoginFailure);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, MBX_LOG_ERROR, "event=1022 LOGON_FAILURE: ", pdir);
	/* HOME_UNKNOWN: the database is named by its LDAP DN when its legacy DN is unknown */
	{
		const char *e;
		struct mbx_mailbox *m = snapshot_for(MBX_MAILBOX_HOME_UNKNOWN, &e);

		req = private_req(e, 0);
		in.state = MBX_MAILBOX_HOME_UNKNOWN;
		in.mbx = m;
		decide_and_log(&in, &d, &c);
		assert_int_equal(c.n, 1);
		expect_line(&c, 0, MBX_LOG_ERROR, "event=1022 LOGON_FAILURE: ", phome);
		mbx_mailbox_free(&m);
	}
	/* a redirect that does not fit */
	{
		struct mbx_mailbox *m = moved_with_server_name(300, 'y');

		in.state = MBX_MAILBOX_MOVED_SAME_FOREST;
		in.mbx = m;
		decide_and_log(&in, &d, &c);
		assert_int_equal(c.n, 1);
		expect_line(&c, 0, MBX_LOG_ERROR, "event=1022 LOGON_FAILURE: ", plong);
		mbx_mailbox_free(&m);
	}
}

/* Answers that are not failures an administrator must see: no event line at all. */
static void test_events_silent(void **state)
{
	static const struct {
		enum mbx_mailbox_state st;
		enum av v;
		uint32_t extra, drop;
		uint32_t ec;
	} rows[] = {
	        {MBX_MAILBOX_NORMAL, AV_OWNER, 0, 0, ecNone},
	        {MBX_MAILBOX_NORMAL, AV_DELEGATE, MBX_OPEN_USE_ADMIN_PRIVILEGE, 0, ecNone},
	        {MBX_MAILBOX_NORMAL, AV_DELEGATE, 0, 0, ecProfileNotConfigured},
	        {MBX_MAILBOX_NORMAL, AV_OWNER, 0, MBX_OPEN_USE_PER_MDB_REPLID_MAPPING,
	         ecInvalidParameter},
	        {MBX_MAILBOX_UNKNOWN, AV_NULL, 0, 0, ecUnknownUser},
	        {MBX_MAILBOX_DIR_UNREACHABLE, AV_NULL, 0, 0, ecNetworkError},
	        {MBX_MAILBOX_MOVED_SAME_FOREST, AV_NULL, 0, 0, ecWrongServer},
	        {MBX_MAILBOX_MOVED_OTHER_FOREST, AV_NULL, 0, 0, ecUnknownUser},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *essdn;
		struct mbx_mailbox *m = snapshot_for(rows[i].st, &essdn);
		struct mbx_logon_req req = private_req(essdn, rows[i].extra);
		struct mbx_authz a;
		struct mbx_logon_input in = {
		        rows[i].st, m, &req, &server1, authz_for(rows[i].v, &a), "alice", NULL, 0,
		};
		struct mbx_logon_decision d;
		struct capture c;

		req.open_flags &= ~rows[i].drop;
		decide_and_log(&in, &d, &c);
		assert_int_equal(d.ec, rows[i].ec);
		assert_int_equal(d.nevents, 0);
		assert_int_equal(c.n, 0);
		mbx_mailbox_free(&m);
	}
}

static void test_decision_line_bounds(void **state)
{
	struct world w = gina();
	struct mbx_mailbox *m = build(&w);
	struct mbx_logon_req req = private_req(RCPT("gina"), 0);
	struct mbx_logon_input in = {
	        MBX_MAILBOX_DISABLED_NO_MASTER, m, &req, &server1, NULL, NULL, NULL, 0,
	};
	struct mbx_logon_decision d;
	char buf[2048], small[20];

	(void)state;
	mbx_logon_decide(&in, &d);
	assert_int_equal(mbx_logon_decision_line(&d, &in, 0, buf, sizeof(buf)), 9548);
	assert_int_equal(mbx_logon_decision_line(&d, &in, 1, buf, sizeof(buf)), 1022);
	assert_non_null(strstr(buf, "account (unknown principal)"));
	assert_int_equal(mbx_logon_decision_line(&d, &in, 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(mbx_logon_decision_line(&d, &in, 0, small, sizeof(small)), 9548);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(mbx_logon_decision_line(&d, &in, 0, NULL, 0), 0);
	assert_int_equal(mbx_logon_decision_line(NULL, &in, 0, buf, sizeof(buf)), 0);
	assert_int_equal(mbx_logon_decision_line(&d, NULL, 0, buf, sizeof(buf)), 0);
	/* no identity name */
	in.id = NULL;
	assert_int_equal(mbx_logon_decision_line(&d, &in, 0, buf, sizeof(buf)), 9548);
	assert_non_null(strstr(buf, "server (this server)"));
	mbx_logon_decision_log(NULL, &in);
	/* no request at all: a caller bug, answered without crashing */
	mbx_logon_decide(NULL, &d);
	assert_int_equal(d.ec, ecLoginFailure);
	in.req = NULL;
	mbx_logon_decide(&in, &d);
	assert_int_equal(d.ec, ecLoginFailure);
	/* an invalid state */
	in.req = &req;
	in.state = (enum mbx_mailbox_state)MBX_MAILBOX_NSTATES;
	mbx_logon_decide(&in, &d);
	assert_int_equal(d.ec, ecLoginFailure);
	mbx_mailbox_free(&m);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_decision_table),
	        cmocka_unit_test(test_public_logon),
	        cmocka_unit_test(test_redirect_name_length),
	        cmocka_unit_test(test_limiter_window),
	        cmocka_unit_test(test_limiter_keys),
	        cmocka_unit_test(test_limiter_bounded_lru),
	        cmocka_unit_test(test_decide_server_paused),
	        cmocka_unit_test(test_events_disabled_no_master),
	        cmocka_unit_test(test_events_custom_recipient),
	        cmocka_unit_test(test_events_in_transit),
	        cmocka_unit_test(test_events_ambiguous_and_denied),
	        cmocka_unit_test(test_events_other_failures),
	        cmocka_unit_test(test_events_silent),
	        cmocka_unit_test(test_decision_line_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
