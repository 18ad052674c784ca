/*
 * logon-decision.c: the RopLogon answer (MS-OXCSTOR 3.2.5.1.1 and 3.2.5.1.3, protocol.md 3.1-3.2,
 * design.md "The mailbox-state table and the logon decision"), the ecServerPaused limiter, and
 * the event lines Exchange administrators know (9548, 1022, 1023, 9660, 2105; seeds 000, 003).
 * Pure: a classified state, the request and an authorization result in, a decision out. The
 * contract is in include/mbx/mailbox.h.
 *
 * Order of the checks (the spec's, with the choices it leaves to us):
 *   0. Public-folder logon (LogonFlags without Private, MS-OXCSTOR 3.2.5.1.2): every mbxstore
 *      server hosts a public folder store, so the answer is success with the public layout.
 *      There is no mailbox to classify; ALTERNATE_SERVER / IGNORE_HOME_MDB need no redirect
 *      because there is no other public store to prefer.
 *   1. Private logon without USE_PER_MDB_REPLID_MAPPING: ecInvalidParameter (3.2.5.1.3; the
 *      server MAY refuse, gromox does). First, because it is a property of the request alone.
 *   2. The directory facts, in the order of MS-OXCSTOR 3.2.5.1.1 as mbx_mailbox_classify
 *      applied it (lookup, no mailbox database, in transit, disabled, wrong server); the
 *      states map one to one onto answers.
 *   3. ecServerPaused (3.2.5.1.3: more than five attempts in 10 s "to log on to a mailbox that
 *      is not hosted on the server"): checked just before the answers that send the client
 *      elsewhere (ecWrongServer, and ecUnknownUser for a cross-forest move), since those are
 *      the answers a client loops on; the spec lists the check last, but after an
 *      ecWrongServer there would be nothing left to pause.
 *   4. For a mailbox hosted here: an ambiguous token (seed 002) is refused with
 *      ecAccessDenied first (we cannot even tell whose logon it is); then the spec's step 6:
 *      a mailbox that is not the principal's own ("nonhome message store") without
 *      USE_ADMIN_PRIVILEGE gets ecProfileNotConfigured, whether or not the principal has
 *      rights there (Outlook and MFCMAPI set USE_ADMIN_PRIVILEGE when they open another
 *      user's mailbox); then authorization: no owner and no full access is ecAccessDenied
 *      ("The user does not have sufficient permissions to the mailbox"; ecLoginPerm is for
 *      creating a mailbox, which we never do at logon).
 */
#include "mbx/mailbox.h"

#include <stdio.h>
#include <string.h>

#include "mbx/rop-errors.h"

/* --- the limiter -------------------------------------------------------------------------- */

#define LIMITER_FNV_OFFSET 0xcbf29ce484222325ULL
#define LIMITER_FNV_PRIME 0x100000001b3ULL

static uint64_t limiter_hash_str(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= LIMITER_FNV_PRIME;
	}
	return h;
}

static uint64_t limiter_key(const char *principal, const char *mailbox)
{
	uint64_t h = limiter_hash_str(LIMITER_FNV_OFFSET, principal);

	/* A byte no string holds separates the parts: ("ab", "c") and ("a", "bc") differ. */
	h ^= 0x100;
	h *= LIMITER_FNV_PRIME;
	h = limiter_hash_str(h, mailbox);
	/* Final mix (splitmix64) so that similar names spread over the whole range. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* An attempt at t counts at now if it lies less than the window before now. A time after now
 * (a clock that went back) counts too: refusing a little too much is the safe side. */
static bool limiter_in_window(uint64_t t, uint64_t now_ms)
{
	return t > now_ms || now_ms - t < MBX_LOGON_LIMIT_WINDOW_MS;
}

static bool limiter_slot_live(const struct mbx_logon_limiter_slot *s, uint64_t now_ms)
{
	return s->used && limiter_in_window(s->last_ms, now_ms);
}

void mbx_logon_limiter_init(struct mbx_logon_limiter *l)
{
	memset(l, 0, sizeof(*l));
}

enum mbx_logon_limit mbx_logon_limiter_hit(struct mbx_logon_limiter *l, const char *principal,
                                           const char *mailbox, uint64_t now_ms)
{
	uint64_t key = limiter_key(principal, mailbox);
	struct mbx_logon_limiter_slot *s = NULL, *spare = NULL, *lru = NULL;
	unsigned recent = 0;

	for (size_t i = 0; i < MBX_LOGON_LIMITER_SLOTS; i++) {
		struct mbx_logon_limiter_slot *c = &l->slots[i];

		if (c->used && c->key == key) {
			s = c;
			break;
		}
		if (!limiter_slot_live(c, now_ms)) {
			if (spare == NULL)
				spare = c;
		} else if (lru == NULL || c->last_ms < lru->last_ms) {
			lru = c;
		}
	}
	if (s == NULL) {
		if (spare != NULL) {
			s = spare;
		} else {
			s = lru;
			l->evictions++;
		}
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->key = key;
	}
	for (unsigned k = 0; k < s->ntimes; k++)
		if (limiter_in_window(s->times_ms[k], now_ms))
			recent++;
	s->times_ms[s->next] = now_ms;
	s->next = (uint8_t)((s->next + 1) % MBX_LOGON_LIMIT_ATTEMPTS);
	if (s->ntimes < MBX_LOGON_LIMIT_ATTEMPTS)
		s->ntimes++;
	s->last_ms = now_ms;
	return recent >= MBX_LOGON_LIMIT_ATTEMPTS ? MBX_LOGON_LIMIT_PAUSED : MBX_LOGON_LIMIT_OK;
}

size_t mbx_logon_limiter_count(const struct mbx_logon_limiter *l)
{
	size_t n = 0;

	for (size_t i = 0; i < MBX_LOGON_LIMITER_SLOTS; i++)
		if (l->slots[i].used)
			n++;
	return n;
}

/* --- the decision ------------------------------------------------------------------------- */

static void decision_set(struct mbx_logon_decision *d, uint32_t ec, const char *reason)
{
	d->ec = ec;
	d->reason = reason;
	d->kind = ec == ecWrongServer ? MBX_LOGON_RESP_REDIRECT : MBX_LOGON_RESP_FAILURE;
}

static void decision_event(struct mbx_logon_decision *d, enum mbx_event ev)
{
	if (d->nevents < MBX_LOGON_MAX_EVENTS)
		d->events[d->nevents++] = ev;
}

/* The mailbox the client asked for: the snapshot's legacyExchangeDN, else the Essdn. */
static const char *decision_mailbox_name(const struct mbx_logon_input *in)
{
	if (in->mbx != NULL && in->mbx->legacy_dn != NULL)
		return in->mbx->legacy_dn;
	if (in->req != NULL && in->req->essdn != NULL)
		return in->req->essdn;
	return "";
}

/* Step 3: true (and d set) when the limiter refuses this attempt. */
static bool decision_paused(const struct mbx_logon_input *in, struct mbx_logon_decision *d)
{
	if (in->limiter == NULL)
		return false;
	if (mbx_logon_limiter_hit(in->limiter, in->principal, decision_mailbox_name(in),
	                          in->now_ms) != MBX_LOGON_LIMIT_PAUSED)
		return false;
	decision_set(d, ecServerPaused,
	             "more than five logons within 10 seconds to a mailbox not hosted here");
	return true;
}

static bool decision_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void decision_redirect(const struct mbx_logon_input *in, struct mbx_logon_decision *d)
{
	const char *name = in->mbx != NULL ? in->mbx->home_server_legacy_dn : NULL;
	size_t len;

	if (name == NULL) {
		decision_set(d, ecLoginFailure, "the home server is not known");
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	}
	if (decision_paused(in, d))
		return;
	len = strlen(name);
	/* Wrong Server Buffer: ServerNameSize is one byte and counts the NUL (MS-OXCSTOR
	 * 2.2.1.1.2), so 254 characters at most; the name is an ASCII string. */
	if (len == 0 || len > MBX_SERVERNAME_MAX - 1 || !decision_printable(name)) {
		decision_set(d, ecLoginFailure, "the home server's name does not fit a redirect");
		if (len > MBX_SERVERNAME_MAX - 1)
			snprintf(d->detail, sizeof(d->detail),
			         "home server legacyExchangeDN is %zu bytes; the Wrong Server "
			         "Buffer holds at most %d",
			         len, MBX_SERVERNAME_MAX - 1);
		else
			snprintf(d->detail, sizeof(d->detail),
			         "home server legacyExchangeDN is empty or not printable ASCII");
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	}
	decision_set(d, ecWrongServer, "the mailbox is on another server of this forest");
	memcpy(d->server, name, len + 1);
}

static void decision_hosted(const struct mbx_logon_input *in, struct mbx_logon_decision *d)
{
	/* No result means "not authorized": denied, and not the principal's own mailbox. */
	static const struct mbx_authz no_result = {
	        .result = MBX_AUTHZ_DENIED,
	        .via = MBX_AUTHZ_VIA_NONE,
	        .reason = "no authorization result",
	};
	const struct mbx_authz *a = in->authz != NULL ? in->authz : &no_result;

	if (a->result == MBX_AUTHZ_AMBIGUOUS) {
		decision_set(d, ecAccessDenied, "a SID of the principal is ambiguous");
		snprintf(d->detail, sizeof(d->detail), "%s", a->reason);
		decision_event(d, MBX_EV_SID_AMBIGUOUS);
		return;
	}
	if (!a->owner && (in->req->open_flags & MBX_OPEN_USE_ADMIN_PRIVILEGE) == 0) {
		decision_set(d, ecProfileNotConfigured,
		             "not the principal's own mailbox and no USE_ADMIN_PRIVILEGE");
		return;
	}
	if (a->result != MBX_AUTHZ_GRANTED) {
		decision_set(d, ecAccessDenied, "the principal has no rights on the mailbox");
		snprintf(d->detail, sizeof(d->detail), "%s", a->reason);
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	}
	d->ec = ecNone;
	d->kind = MBX_LOGON_RESP_PRIVATE;
	d->reason = a->owner ? "the principal's own mailbox" : "access granted to the mailbox";
	d->owner = a->owner;
	d->response_flags = MBX_RESP_RESERVED;
	if (a->owner_right)
		d->response_flags |= MBX_RESP_OWNER_RIGHT;
	if (a->send_as_right)
		d->response_flags |= MBX_RESP_SEND_AS_RIGHT;
}

void mbx_logon_decide(const struct mbx_logon_input *in, struct mbx_logon_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (in == NULL || in->req == NULL) {
		decision_set(d, ecLoginFailure, "no request");
		return;
	}
	/* 0. public folders */
	if ((in->req->logon_flags & MBX_LOGON_PRIVATE) == 0) {
		d->ec = ecNone;
		d->kind = MBX_LOGON_RESP_PUBLIC;
		d->reason = "public folder logon";
		return;
	}
	/* 1. the request itself */
	if ((in->req->open_flags & MBX_OPEN_USE_PER_MDB_REPLID_MAPPING) == 0) {
		decision_set(d, ecInvalidParameter,
		             "private logon without USE_PER_MDB_REPLID_MAPPING");
		return;
	}
	/* 2.-4. the directory facts */
	switch (in->state) {
	case MBX_MAILBOX_UNKNOWN:
		decision_set(d, ecUnknownUser, "no such mailbox in the directory");
		return;
	case MBX_MAILBOX_DIR_UNREACHABLE:
		decision_set(d, ecNetworkError, "the directory is unreachable");
		return;
	case MBX_MAILBOX_DIR_ERROR:
		decision_set(d, ecLoginFailure, "the directory lookup failed");
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	case MBX_MAILBOX_MOVED_OTHER_FOREST:
		if (decision_paused(in, d))
			return;
		if (in->id != NULL && in->id->exchange2003_compat)
			decision_set(d, ecLoginFailure,
			             "the mailbox moved to another forest (Exchange 2003 answer)");
		else
			decision_set(d, ecUnknownUser, "the mailbox moved to another forest");
		return;
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		decision_set(d, ecUnknownUser, "the object has no mailbox");
		decision_event(d, MBX_EV_LOGON_FAILURE_AUDIT);
		return;
	case MBX_MAILBOX_IN_TRANSIT:
		decision_set(d, ecMailboxInTransit, "the mailbox is being moved");
		decision_event(d, MBX_EV_LOGON_IN_TRANSIT);
		return;
	case MBX_MAILBOX_DISABLED_NO_MASTER:
		decision_set(d, ecLoginFailure, "disabled account without a master account SID");
		decision_event(d, MBX_EV_NO_MASTER_ACCOUNT_SID);
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	case MBX_MAILBOX_HOME_UNKNOWN:
		decision_set(d, ecLoginFailure, "the mailbox's home server cannot be determined");
		decision_event(d, MBX_EV_LOGON_FAILURE);
		return;
	case MBX_MAILBOX_MOVED_SAME_FOREST:
		decision_redirect(in, d);
		return;
	case MBX_MAILBOX_NORMAL:
		decision_hosted(in, d);
		return;
	}
	decision_set(d, ecLoginFailure, "invalid mailbox state");
	decision_event(d, MBX_EV_LOGON_FAILURE);
}

/* --- event lines -------------------------------------------------------------------------- */

#define LINE_NAME_MAX 400

int mbx_logon_decision_line(const struct mbx_logon_decision *d, const struct mbx_logon_input *in,
                            unsigned i, char *buf, size_t size)
{
	char mailbox[LINE_NAME_MAX], principal[LINE_NAME_MAX], server[LINE_NAME_MAX];
	char db[LINE_NAME_MAX], ecbuf[16];
	const struct mbx_mailbox *m = in != NULL ? in->mbx : NULL;
	const char *s;
	enum mbx_event ev;

	if (buf == NULL || size == 0)
		return 0;
	buf[0] = '\0';
	if (d == NULL || in == NULL || i >= d->nevents)
		return 0;
	ev = d->events[i];
	s = decision_mailbox_name(in);
	mbx_log_escape(s, strlen(s), mailbox, sizeof(mailbox));
	s = in->principal != NULL ? in->principal : "(unknown principal)";
	mbx_log_escape(s, strlen(s), principal, sizeof(principal));
	s = in->id != NULL && in->id->name != NULL ? in->id->name : "(this server)";
	mbx_log_escape(s, strlen(s), server, sizeof(server));
	s = m != NULL && m->home_mdb_legacy_dn != NULL ? m->home_mdb_legacy_dn
	    : m != NULL && m->home_mdb_dn != NULL      ? m->home_mdb_dn
	                                               : "(no database)";
	mbx_log_escape(s, strlen(s), db, sizeof(db));

	switch (ev) {
	case MBX_EV_NO_MASTER_ACCOUNT_SID:
		snprintf(buf, size,
		         "disabled user %s does not have a master account SID "
		         "(msExchMasterAccountSid); set an active account as its master account, "
		         "or SELF for a resource mailbox; server %s",
		         mailbox, server);
		break;
	case MBX_EV_LOGON_FAILURE:
		snprintf(buf, size,
		         "logon failure on database \"%s\" on server %s: account %s; mailbox %s; "
		         "error %s (0x%08X, %d): %s%s%s",
		         db, server, principal, mailbox, mbx_ec_str(d->ec, ecbuf, sizeof(ecbuf)),
		         (unsigned)d->ec, (int)(int32_t)d->ec, d->reason != NULL ? d->reason : "",
		         d->detail[0] != '\0' ? ": " : "", d->detail);
		break;
	case MBX_EV_LOGON_FAILURE_AUDIT:
		snprintf(buf, size,
		         "%s was validated but was unable to log on to %s: it is a %s without a "
		         "mailbox; server %s",
		         principal, mailbox,
		         m != NULL ? mbx_mailbox_kind_name(m->kind) : "directory object", server);
		break;
	case MBX_EV_LOGON_IN_TRANSIT: {
		char st[32];
		const char *name = m != NULL ? mbx_move_status_name(m->move_status) : NULL;

		if (name == NULL)
			snprintf(st, sizeof(st), "%u", m != NULL ? (unsigned)m->move_status : 0u);
		snprintf(buf, size,
		         "user %s (%s) failed to log on because the mailbox is in the process of "
		         "being moved (msExchMailboxMoveStatus %s); server %s",
		         principal, mailbox, name != NULL ? name : st, server);
		break;
	}
	case MBX_EV_SID_AMBIGUOUS:
		snprintf(buf, size, "%s denied access to %s on server %s: %s", principal, mailbox,
		         server, d->detail);
		break;
	default:
		snprintf(buf, size, "%s: mailbox %s, account %s, server %s",
		         d->reason != NULL ? d->reason : "logon", mailbox, principal, server);
		break;
	}
	return (int)ev;
}

void mbx_logon_decision_log(const struct mbx_logon_decision *d, const struct mbx_logon_input *in)
{
	char line[1700];

	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->nevents; i++) {
		int ev = mbx_logon_decision_line(d, in, i, line, sizeof(line));

		if (ev != 0)
			mbx_log_event((enum mbx_event)ev, "%s", line);
	}
}
