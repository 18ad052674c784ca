/*
 * logon-follow.c: what mbxlogon does as a MAPI client, hop by hop ([MS-OXMVMBX] 3.1.1,
 * [MS-OXCSTOR] 3.1.5.1; seed 001; protocol.md 3.2, 5):
 *
 *   start     Autodiscover for EMAIL (logon-discover.c), or --mailbox-url/--legacy-dn
 *   session   Connect, Execute(RopLogon), Disconnect at the settings' mailbox URL; an
 *             X-ResponseCode 10 (Context Not Found) on any request reconnects once
 *   follow    ecWrongServer: Autodiscover with the LegacyDN at the Autodiscover URL that gave
 *             the current settings, connect where it points, log on again.
 *             ecUnknownUser / ecLoginFailure: the same; nothing new learned (same mailbox URL
 *             and LegacyDN) ends the run: the logon is refused.
 *             ecMailboxInTransit: wait and retry in place up to --wait-transit seconds.
 *   limits    --max-hops (every request counts but Disconnect and the in-place retries), and
 *             a loop check: the same Autodiscover request to the same URL, or a logon at the
 *             same (mailbox URL, LegacyDN), twice.
 */
#include "mbxlogon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/random.h>

#include "mbx/mapihttp.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"

#define FOLLOW_TRANSIT_STEP 5u /* seconds between logons while the mailbox is in transit */
#define FOLLOW_BODY_MAX (MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 64u)

int logon_follow_end(struct logon_follow *f, int status, const char *result, const uint32_t *ec,
                     const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	snprintf(f->result, sizeof(f->result), "%s", result);
	f->has_ec = ec != NULL;
	f->ec = ec != NULL ? *ec : 0;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return status;
}

/* ---- small helpers --------------------------------------------------------------------------- */

/* Copies s (NULL: "") into dst, cut to size - 1 bytes; dst and s may overlap. */
void logon_follow_copy(char *dst, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memmove(dst, s, n);
	dst[n] = '\0';
}

/* Has this key been seen? Records it if not. false also when the table is full (the hop limit
 * ends such runs long before). */
bool logon_follow_seen(struct logon_follow *f, const char *kind, const char *url,
                       const char *subject)
{
	char key[LOGON_URL_MAX + LOGON_DN_MAX + 32];

	snprintf(key, sizeof(key), "%s\n%s\n%s", kind, url, subject);
	for (unsigned i = 0; i < f->nvisited; i++)
		if (strcasecmp(f->visited[i], key) == 0)
			return true;
	if (f->nvisited < LOGON_VISITED_MAX && (f->visited[f->nvisited] = strdup(key)) != NULL)
		f->nvisited++;
	return false;
}

/* Numbers the next hop; counted hops are refused past --max-hops (0 returned, f ended). */
unsigned logon_follow_hop_no(struct logon_follow *f, bool counted)
{
	if (counted) {
		if (f->counted >= f->o->max_hops) {
			logon_follow_end(f, LOGON_EXIT_HOPS, "too many hops", NULL,
			                 "stopped after %u hops (--max-hops %u)", f->counted,
			                 f->o->max_hops);
			return 0;
		}
		f->counted++;
	}
	return ++f->hop;
}

/* ---- MAPI over HTTP -------------------------------------------------------------------------- */

/* One MAPI/HTTP request at the current mailbox URL. Returns 0 with *o filled, or -1 on a
 * transport failure (o->cls TRANSPORT, o->msg set). */
static int follow_mapi(struct logon_follow *f, enum logon_mapi_req t, struct logon_mapi_outcome *o)
{
	static uint8_t body[FOLLOW_BODY_MAX];
	char type[48], reqid[80], info[80];
	const char *headers[] = {
	        "Content-Type: application/mapi-http",
	        type,
	        reqid,
	        info,
	        "X-ClientApplication: mbxlogon/" MBX_VERSION,
	        "Accept: application/mapi-http",
	        NULL,
	};
	struct logon_http_rsp rsp;
	int len = logon_mapi_body(t, f->cur.legacy_dn, body, sizeof(body));

	memset(o, 0, sizeof(*o));
	if (len < 0) {
		o->cls = LOGON_MAPI_TRANSPORT;
		snprintf(o->msg, sizeof(o->msg),
		         "%s: cannot encode the request for LegacyDN \"%.200s\" (printable ASCII, "
		         "below %u bytes)",
		         logon_mapi_req_name(t), f->cur.legacy_dn, MBX_MH_DN_MAX);
		return -1;
	}
	snprintf(type, sizeof(type), "X-RequestType: %s", logon_mapi_req_name(t));
	snprintf(reqid, sizeof(reqid), "X-RequestId: %s:%u", f->client_info, ++f->request_no);
	snprintf(info, sizeof(info), "X-ClientInfo: %s", f->client_info);
	if (logon_http_post(f->http, f->cur.mailbox_url, headers, body, (size_t)len, &rsp) != 0) {
		o->cls = LOGON_MAPI_TRANSPORT;
		snprintf(o->msg, sizeof(o->msg), "%s: %.400s", logon_mapi_req_name(t), rsp.err);
		return -1;
	}
	logon_mapi_check(t, &rsp, o);
	return 0;
}

/* The hop line of one MAPI request's outcome. */
static void follow_mapi_hop(struct logon_follow *f, unsigned n, const char *kind, bool with_dn,
                            const struct logon_mapi_outcome *o)
{
	char ecbuf[16], res[64], detail[LOGON_MSG_MAX];
	struct logon_hop h = {
	        .n = n,
	        .kind = kind,
	        .url = f->cur.mailbox_url,
	        .subject = with_dn ? f->cur.legacy_dn : NULL,
	};

	switch (o->cls) {
	case LOGON_MAPI_OK:
		h.result = "ok";
		h.detail = o->display_name[0] != '\0' ? o->display_name : NULL;
		break;
	case LOGON_MAPI_WRONG_SERVER:
	case LOGON_MAPI_REFUSED:
		snprintf(res, sizeof(res), "%s", mbx_ec_str(o->ec, ecbuf, sizeof(ecbuf)));
		h.result = res;
		h.has_ec = true;
		h.ec = o->ec;
		if (o->cls == LOGON_MAPI_WRONG_SERVER) {
			snprintf(detail, sizeof(detail), "(0x%08X) server %s", (unsigned)o->ec,
			         o->logon.server);
			h.server_dn = o->logon.server;
		} else {
			snprintf(detail, sizeof(detail), "(0x%08X)", (unsigned)o->ec);
		}
		h.detail = detail;
		break;
	case LOGON_MAPI_CONTEXT_LOST:
		h.result = "context-lost";
		h.detail = o->msg;
		break;
	case LOGON_MAPI_AUTH:
		h.result = "http";
		h.http_status = 401;
		h.detail = "401 (credentials refused)";
		break;
	case LOGON_MAPI_TRANSPORT:
		h.result = "failed";
		h.detail = o->msg;
		break;
	}
	logon_out_hop(f->out, &h);
}

/* Disconnect at the end of a session: a hop of its own that does not count; its failure is
 * only reported. */
static void follow_disconnect(struct logon_follow *f)
{
	struct logon_mapi_outcome o;

	follow_mapi(f, LOGON_REQ_DISCONNECT, &o);
	follow_mapi_hop(f, logon_follow_hop_no(f, false), "disconnect", false, &o);
}

/* The end of a session whose Connect or Execute failed for good: the authentication, the
 * transport, or a context lost again after one reconnection. Returns the exit status. */
static int follow_session_failed(struct logon_follow *f, const struct logon_mapi_outcome *lo)
{
	if (lo->cls == LOGON_MAPI_AUTH)
		return logon_follow_end(f, LOGON_EXIT_AUTH, "authentication failed", NULL,
		                        "%s at %s", lo->msg, f->cur.mailbox_url);
	if (lo->cls == LOGON_MAPI_CONTEXT_LOST)
		return logon_follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s",
		                        lo->msg);
	return logon_follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s at %s",
	                        lo->msg, f->cur.mailbox_url);
}

/*
 * Connect + RopLogon (+ Disconnect) at the current settings. Returns 0 with *lo the RopLogon (or
 * Connect) outcome: OK, REFUSED, WRONG_SERVER; or an exit status with f ended (transport, 401,
 * hops). in_place: a retry at the same place, whose hops do not count.
 */
static int follow_session(struct logon_follow *f, bool in_place, struct logon_mapi_outcome *lo)
{
	bool reconnected = false;
	unsigned n;

again:
	logon_http_clear_cookies(f->http);
	if ((n = logon_follow_hop_no(f, !in_place)) == 0)
		return f->status;
	follow_mapi(f, LOGON_REQ_CONNECT, lo);
	follow_mapi_hop(f, n, "connect", true, lo);
	switch (lo->cls) {
	case LOGON_MAPI_OK:
		if (f->cur.display_name[0] == '\0')
			logon_follow_copy(f->cur.display_name, sizeof(f->cur.display_name),
			                  lo->display_name);
		break;
	case LOGON_MAPI_REFUSED:
	case LOGON_MAPI_WRONG_SERVER:
		return 0; /* no session context was made */
	case LOGON_MAPI_CONTEXT_LOST:
		if (!reconnected) {
			reconnected = in_place = true;
			goto again;
		}
		return follow_session_failed(f, lo);
	case LOGON_MAPI_AUTH:
	case LOGON_MAPI_TRANSPORT:
		return follow_session_failed(f, lo);
	}

	if ((n = logon_follow_hop_no(f, !in_place)) == 0)
		return f->status;
	follow_mapi(f, LOGON_REQ_EXECUTE, lo);
	follow_mapi_hop(f, n, "logon", true, lo);
	switch (lo->cls) {
	case LOGON_MAPI_OK:
		logon_out_logon(f->out, &lo->logon);
		follow_disconnect(f);
		return 0;
	case LOGON_MAPI_REFUSED:
	case LOGON_MAPI_WRONG_SERVER:
		follow_disconnect(f);
		return 0;
	case LOGON_MAPI_CONTEXT_LOST:
		if (!reconnected) {
			reconnected = in_place = true;
			goto again;
		}
		break;
	case LOGON_MAPI_AUTH:
	case LOGON_MAPI_TRANSPORT:
		break;
	}
	return follow_session_failed(f, lo);
}

/* ---- the run --------------------------------------------------------------------------------- */

/*
 * After ecWrongServer / ecUnknownUser / ecLoginFailure: Autodiscover for the current LegacyDN at
 * the Autodiscover URL that gave the current settings (or --autodiscover-url, or the e-mail
 * domain's URLs). Returns 0 when new settings are in place, or the exit status (f ended).
 */
static int follow_rediscover(struct logon_follow *f, uint32_t ec, const char *server_dn)
{
	struct logon_ad_result res;
	char ad_url[LOGON_URL_MAX], ecbuf[16];
	const char *url = f->cur.autodiscover_url[0] != '\0' ? f->cur.autodiscover_url
	                                                     : f->o->autodiscover_url;
	const char *ecs = mbx_ec_str(ec, ecbuf, sizeof(ecbuf));
	char old_url[LOGON_URL_MAX], old_dn[LOGON_DN_MAX];
	int rc;

	if (url == NULL && f->o->email == NULL && f->cur.smtp[0] == '\0') {
		if (server_dn != NULL)
			return logon_follow_end(
			        f, LOGON_EXIT_REFUSED, "logon refused", &ec,
			        "cannot follow the redirect to %s: no Autodiscover URL to ask "
			        "for its mailbox URL (give --autodiscover-url or EMAIL)",
			        server_dn);
		return logon_follow_end(
		        f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		        "no Autodiscover URL to ask about %s (give --autodiscover-url or "
		        "EMAIL)",
		        f->cur.legacy_dn);
	}
	logon_follow_copy(old_url, sizeof(old_url), f->cur.mailbox_url);
	logon_follow_copy(old_dn, sizeof(old_dn), f->cur.legacy_dn);
	rc = logon_discover_run(f, true, f->cur.legacy_dn, url, &res, ad_url);
	if (rc == LOGON_EXIT_AUTODISCOVER) {
		char why[LOGON_MSG_MAX];

		logon_follow_copy(why, sizeof(why), f->msg);
		return logon_follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		                        "%s, and Autodiscover found nothing better: %s", ecs, why);
	}
	if (rc != 0)
		return rc;
	if (strcmp(logon_ad_mailbox_url(&res, f->o->external), old_url) == 0 &&
	    strcasecmp(res.legacy_dn, old_dn) == 0) {
		if (server_dn != NULL)
			return logon_follow_end(
			        f, LOGON_EXIT_HOPS, "loop", &ec,
			        "Autodiscover points back to %s, which redirected %s "
			        "to %s",
			        old_url, old_dn, server_dn);
		return logon_follow_end(
		        f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		        "Autodiscover learned nothing new about %s (same mailbox URL and "
		        "LegacyDN)",
		        old_dn);
	}
	logon_discover_apply(f, &res, ad_url);
	if (server_dn != NULL && res.server_dn[0] == '\0') {
		/* The server the redirect named is where the profile now points. */
		logon_follow_copy(f->cur.server_dn, sizeof(f->cur.server_dn), server_dn);
		logon_discover_server_name(&f->cur, res.server);
	}
	return 0;
}

static double follow_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void follow_sleep(unsigned s)
{
	struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = 0};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int follow_loop(struct logon_follow *f)
{
	struct logon_mapi_outcome lo;
	double transit_start = -1;
	bool in_place = false;
	int rc;

	for (;;) {
		if (!in_place &&
		    logon_follow_seen(f, "logon", f->cur.mailbox_url, f->cur.legacy_dn))
			return logon_follow_end(f, LOGON_EXIT_HOPS, "loop", NULL,
			                        "a logon as %s at %s was made before",
			                        f->cur.legacy_dn, f->cur.mailbox_url);
		rc = follow_session(f, in_place, &lo);
		if (rc != 0)
			return rc;
		in_place = false;
		if (lo.cls == LOGON_MAPI_OK) {
			f->cur.logged_on = true;
			f->cur.logon = lo.logon;
			return logon_follow_end(f, LOGON_EXIT_OK, "logged on", NULL, "%s at %s",
			                        f->cur.legacy_dn, f->cur.mailbox_url);
		}
		if (lo.cls == LOGON_MAPI_WRONG_SERVER) {
			transit_start = -1;
			if ((rc = follow_rediscover(f, lo.ec, lo.logon.server)) != 0)
				return rc;
			continue;
		}
		/* REFUSED */
		if (lo.ec == ecUnknownUser || lo.ec == ecLoginFailure || lo.ec == ecWrongServer) {
			transit_start = -1;
			if ((rc = follow_rediscover(f, lo.ec, NULL)) != 0)
				return rc;
			continue;
		}
		if (lo.ec == ecMailboxInTransit) {
			double now = follow_now();
			unsigned waited, step;
			struct logon_hop h = {.kind = "wait", .subject = f->cur.legacy_dn};

			if (transit_start < 0)
				transit_start = now;
			waited = (unsigned)(now - transit_start);
			if (waited >= f->o->wait_transit)
				return logon_follow_end(
				        f, LOGON_EXIT_TRANSIT, "mailbox in transit", &lo.ec,
				        "%s is still being moved after %u s (--wait-transit %u)",
				        f->cur.legacy_dn, waited, f->o->wait_transit);
			h.waited = waited;
			h.wait_limit = f->o->wait_transit;
			logon_out_hop(f->out, &h);
			step = f->o->wait_transit - waited;
			follow_sleep(step < FOLLOW_TRANSIT_STEP ? step : FOLLOW_TRANSIT_STEP);
			in_place = true;
			continue;
		}
		return logon_follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &lo.ec, "%s at %s",
		                        f->cur.legacy_dn, f->cur.mailbox_url);
	}
}

int logon_follow_run(const struct logon_opts *o, struct logon_http *http, struct logon_out *out)
{
	struct logon_follow *f = calloc(1, sizeof(*f));
	struct mbx_guid g;
	int rc;

	if (f == NULL) {
		logon_err("out of memory");
		return LOGON_EXIT_TRANSPORT;
	}
	f->o = o;
	f->http = http;
	f->out = out;
	if (getrandom(g.b, sizeof(g.b), 0) != (ssize_t)sizeof(g.b))
		memset(g.b, 0x5A, sizeof(g.b));
	g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40); /* version 4 (Data3 is little-endian) */
	g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
	f->client_info[0] = '{';
	mbx_guid_to_str(&g, f->client_info + 1);
	strcat(f->client_info, "}");
	if (o->email != NULL)
		logon_follow_copy(f->cur.smtp, sizeof(f->cur.smtp), o->email);

	if (o->mailbox_url != NULL) {
		logon_follow_copy(f->cur.mailbox_url, sizeof(f->cur.mailbox_url), o->mailbox_url);
		logon_follow_copy(f->cur.legacy_dn, sizeof(f->cur.legacy_dn), o->legacy_dn);
		logon_follow_copy(f->cur.autodiscover_url, sizeof(f->cur.autodiscover_url),
		                  o->autodiscover_url);
		logon_discover_server_name(&f->cur, NULL);
		rc = follow_loop(f);
	} else {
		struct logon_ad_result res;
		char ad_url[LOGON_URL_MAX];

		rc = logon_discover_run(f, false, o->email, o->autodiscover_url, &res, ad_url);
		if (rc == 0) {
			logon_discover_apply(f, &res, ad_url);
			rc = follow_loop(f);
		}
	}
	if (rc != LOGON_EXIT_OK) {
		char ecbuf[16], ecs[48] = "";

		if (f->has_ec)
			snprintf(ecs, sizeof(ecs), ": %s (0x%08X)",
			         mbx_ec_str(f->ec, ecbuf, sizeof(ecbuf)), (unsigned)f->ec);
		logon_err("%s%s%s%s", f->result, ecs, f->msg[0] != '\0' ? ": " : "", f->msg);
	}
	if (logon_out_finish(out, &f->cur, rc, f->result, f->ec, f->has_ec,
	                     f->msg[0] != '\0' ? f->msg : NULL) != 0 &&
	    rc == LOGON_EXIT_OK)
		rc = LOGON_EXIT_TRANSPORT;
	for (unsigned i = 0; i < f->nvisited; i++)
		free(f->visited[i]);
	free(f);
	return rc;
}
