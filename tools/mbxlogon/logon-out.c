/*
 * logon-out.c: what mbxlogon(1) prints. Text mode: one "hop N:" line per request as it happens,
 * "waiting for the move of ..." lines, a "logon:" line with the RopLogon details (MailboxGuid,
 * ReplId/ReplGuid, the folder ids of protocol.md 2.1), the "profile:" lines a client would store
 * after a successful logon ([MS-OXMVMBX] 3.1.1) and a "result:" line. --json: one document
 * (include/mbx/json.h) with "hops", "profile" and "result", written at the end.
 */
#include "mbxlogon.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/json.h"
#include "mbx/rop-errors.h"

struct out_hop {
	struct logon_hop h; /* strings point to the copies below */
	char *strs[7];
};

struct logon_out {
	bool json;
	struct out_hop *hops;
	size_t nhops, cap;
	bool have_logon;
	struct mbx_logon_resp logon;
	bool oom;
};

static const char *const out_folder_names[MBX_LOGON_NFIDS] = {
        "root",   "deferred-action", "spooler-queue", "ipm-subtree",  "inbox",
        "outbox", "sent-items",      "deleted-items", "common-views", "schedule",
        "search", "views",           "shortcuts",
};

const char *logon_out_status_name(int status)
{
	switch (status) {
	case LOGON_EXIT_OK:
		return "logged on";
	case LOGON_EXIT_REFUSED:
		return "logon refused";
	case LOGON_EXIT_USAGE:
		return "usage";
	case LOGON_EXIT_TRANSIT:
		return "mailbox in transit";
	case LOGON_EXIT_HOPS:
		return "too many hops or a loop";
	case LOGON_EXIT_AUTODISCOVER:
		return "Autodiscover failed";
	case LOGON_EXIT_TRANSPORT:
		return "transport failure";
	case LOGON_EXIT_AUTH:
		return "authentication failed";
	}
	return "?";
}

void logon_out_fid(struct mbx_fid f, char *buf, size_t size)
{
	snprintf(buf, size, "0x%016" PRIX64, mbx_fid_to_u64(f));
}

struct logon_out *logon_out_new(bool json)
{
	struct logon_out *out = calloc(1, sizeof(*out));

	if (out != NULL)
		out->json = json;
	return out;
}

void logon_out_free(struct logon_out **outp)
{
	struct logon_out *out = *outp;

	if (out == NULL)
		return;
	for (size_t i = 0; i < out->nhops; i++)
		for (size_t k = 0; k < 7; k++)
			free(out->hops[i].strs[k]);
	free(out->hops);
	free(out);
	*outp = NULL;
}

static const char *out_dup(struct logon_out *out, struct out_hop *oh, size_t k, const char *s)
{
	if (s == NULL)
		return NULL;
	oh->strs[k] = strdup(s);
	if (oh->strs[k] == NULL)
		out->oom = true;
	return oh->strs[k];
}

void logon_out_hop(struct logon_out *out, const struct logon_hop *hop)
{
	struct out_hop *oh;

	if (!out->json) {
		if (hop->n == 0)
			printf("waiting for the move of %s (%u s of %u)\n", hop->subject,
			       hop->waited, hop->wait_limit);
		else
			printf("hop %u: %s %s%s%s -> %s%s%s\n", hop->n, hop->kind,
			       hop->url != NULL ? hop->url : "", hop->subject != NULL ? " " : "",
			       hop->subject != NULL ? hop->subject : "", hop->result,
			       hop->detail != NULL ? " " : "",
			       hop->detail != NULL ? hop->detail : "");
		fflush(stdout);
	}
	if (out->nhops == out->cap) {
		size_t cap = out->cap > 0 ? out->cap * 2 : 16;
		struct out_hop *p = realloc(out->hops, cap * sizeof(*p));

		if (p == NULL) {
			out->oom = true;
			return;
		}
		out->hops = p;
		out->cap = cap;
	}
	oh = &out->hops[out->nhops++];
	memset(oh, 0, sizeof(*oh));
	oh->h = *hop;
	oh->h.kind = out_dup(out, oh, 0, hop->kind);
	oh->h.url = out_dup(out, oh, 1, hop->url);
	oh->h.subject = out_dup(out, oh, 2, hop->subject);
	oh->h.result = out_dup(out, oh, 3, hop->result);
	oh->h.detail = out_dup(out, oh, 4, hop->detail);
	oh->h.server_dn = out_dup(out, oh, 5, hop->server_dn);
	oh->h.redirect = out_dup(out, oh, 6, hop->redirect);
}

void logon_out_logon(struct logon_out *out, const struct mbx_logon_resp *lr)
{
	char g1[MBX_GUID_STRLEN + 1], g2[MBX_GUID_STRLEN + 1], f[24];

	out->have_logon = true;
	out->logon = *lr;
	if (out->json)
		return;
	printf("logon: mailbox-guid %s replid %u replguid %s response-flags 0x%02X",
	       mbx_guid_to_str(&lr->mailbox_guid, g1), (unsigned)lr->replid,
	       mbx_guid_to_str(&lr->repl_guid, g2), (unsigned)lr->response_flags);
	for (size_t i = 0; i < MBX_LOGON_NFIDS; i++) {
		if (i != MBX_FOLDER_ROOT && i != MBX_FOLDER_IPM_SUBTREE && i != MBX_FOLDER_INBOX &&
		    i != MBX_FOLDER_OUTBOX && i != MBX_FOLDER_SENT_ITEMS &&
		    i != MBX_FOLDER_DELETED_ITEMS)
			continue;
		logon_out_fid(lr->fids[i], f, sizeof(f));
		printf(" %s %s", out_folder_names[i], f);
	}
	printf("\n");
	fflush(stdout);
}

static void out_json_hop(struct mbx_json *j, const struct logon_hop *h)
{
	mbx_json_obj_begin(j);
	if (h->n != 0)
		mbx_json_kv_uint(j, "n", h->n);
	mbx_json_kv_str(j, "kind", h->kind);
	if (h->url != NULL)
		mbx_json_kv_str(j, "url", h->url);
	if (h->subject != NULL)
		mbx_json_kv_str(j, h->n == 0 ? "legacy_dn" : "subject", h->subject);
	if (h->result != NULL)
		mbx_json_kv_str(j, "result", h->result);
	if (h->detail != NULL)
		mbx_json_kv_str(j, "detail", h->detail);
	if (h->http_status != 0)
		mbx_json_kv_int(j, "http_status", h->http_status);
	if (h->has_ec) {
		mbx_json_kv_hexnum(j, "ec", h->ec, 8);
		mbx_json_kv_str(j, "ec_name", mbx_ec_name(h->ec));
	}
	if (h->server_dn != NULL)
		mbx_json_kv_str(j, "server_dn", h->server_dn);
	if (h->redirect != NULL)
		mbx_json_kv_str(j, "redirect", h->redirect);
	if (h->n == 0) {
		mbx_json_kv_uint(j, "waited_seconds", h->waited);
		mbx_json_kv_uint(j, "wait_limit_seconds", h->wait_limit);
	}
	mbx_json_obj_end(j);
}

/* A key whose value is a string, or null when the string is empty. */
static void out_json_kv_opt(struct mbx_json *j, const char *key, const char *s)
{
	mbx_json_key(j, key);
	if (s[0] != '\0')
		mbx_json_str(j, s);
	else
		mbx_json_null(j);
}

static void out_json_logon(struct mbx_json *j, const struct mbx_logon_resp *lr)
{
	char g[MBX_GUID_STRLEN + 1], f[24];

	mbx_json_key(j, "logon");
	mbx_json_obj_begin(j);
	mbx_json_kv_str(j, "mailbox_guid", mbx_guid_to_str(&lr->mailbox_guid, g));
	mbx_json_kv_uint(j, "replid", lr->replid);
	mbx_json_kv_str(j, "replguid", mbx_guid_to_str(&lr->repl_guid, g));
	mbx_json_kv_hexnum(j, "response_flags", lr->response_flags, 2);
	mbx_json_kv_hexnum(j, "logon_flags", lr->logon_flags, 2);
	mbx_json_key(j, "folders");
	mbx_json_obj_begin(j);
	for (size_t i = 0; i < MBX_LOGON_NFIDS; i++) {
		logon_out_fid(lr->fids[i], f, sizeof(f));
		mbx_json_kv_str(j, out_folder_names[i], f);
	}
	mbx_json_obj_end(j);
	mbx_json_obj_end(j);
}

static int out_json(struct logon_out *out, const struct logon_profile *p, int status,
                    const char *result, uint32_t ec, bool has_ec, const char *message)
{
	struct mbx_json j;
	const char *why = NULL;
	char g[MBX_GUID_STRLEN + 1];
	int rc;

	mbx_json_init_file(&j, stdout, MBX_JSON_PRETTY);
	mbx_json_obj_begin(&j);
	mbx_json_key(&j, "hops");
	mbx_json_arr_begin(&j);
	for (size_t i = 0; i < out->nhops; i++)
		out_json_hop(&j, &out->hops[i].h);
	mbx_json_arr_end(&j);
	mbx_json_key(&j, "profile");
	if (p != NULL && p->logged_on) {
		mbx_json_obj_begin(&j);
		out_json_kv_opt(&j, "server", p->server);
		out_json_kv_opt(&j, "server_dn", p->server_dn);
		out_json_kv_opt(&j, "mailbox_url", p->mailbox_url);
		out_json_kv_opt(&j, "autodiscover_url", p->autodiscover_url);
		out_json_kv_opt(&j, "legacy_dn", p->legacy_dn);
		out_json_kv_opt(&j, "display_name", p->display_name);
		out_json_kv_opt(&j, "smtp_address", p->smtp);
		mbx_json_kv_str(&j, "mailbox_guid", mbx_guid_to_str(&p->logon.mailbox_guid, g));
		out_json_logon(&j, &p->logon);
		mbx_json_obj_end(&j);
	} else {
		mbx_json_null(&j);
	}
	mbx_json_key(&j, "result");
	mbx_json_obj_begin(&j);
	mbx_json_kv_int(&j, "exit_status", status);
	mbx_json_kv_str(&j, "status", logon_out_status_name(status));
	mbx_json_kv_str(&j, "result", result);
	if (has_ec) {
		mbx_json_kv_hexnum(&j, "ec", ec, 8);
		mbx_json_kv_str(&j, "ec_name", mbx_ec_name(ec));
	}
	if (message != NULL)
		mbx_json_kv_str(&j, "message", message);
	mbx_json_obj_end(&j);
	mbx_json_obj_end(&j);
	rc = mbx_json_finish(&j, &why);
	mbx_json_deinit(&j);
	if (rc != 0 || out->oom) {
		logon_err("cannot write the JSON document: %s",
		          why != NULL ? why : "out of memory");
		return -1;
	}
	return 0;
}

int logon_out_finish(struct logon_out *out, const struct logon_profile *p, int status,
                     const char *result, uint32_t ec, bool has_ec, const char *message)
{
	char g[MBX_GUID_STRLEN + 1], ecbuf[16];

	if (out->json)
		return out_json(out, p, status, result, ec, has_ec, message);
	if (p != NULL && p->logged_on) {
		printf("profile: server %s\n", p->server[0] != '\0' ? p->server : "-");
		if (p->server_dn[0] != '\0')
			printf("profile: server-dn %s\n", p->server_dn);
		printf("profile: mailbox-url %s\n", p->mailbox_url);
		if (p->autodiscover_url[0] != '\0')
			printf("profile: autodiscover-url %s\n", p->autodiscover_url);
		printf("profile: legacy-dn %s\n", p->legacy_dn);
		printf("profile: display-name %s\n",
		       p->display_name[0] != '\0' ? p->display_name : "-");
		if (p->smtp[0] != '\0')
			printf("profile: smtp-address %s\n", p->smtp);
		printf("profile: mailbox-guid %s\n", mbx_guid_to_str(&p->logon.mailbox_guid, g));
	}
	if (has_ec)
		printf("result: %s: %s (0x%08X)%s%s\n", result,
		       mbx_ec_str(ec, ecbuf, sizeof(ecbuf)), (unsigned)ec,
		       message != NULL ? ": " : "", message != NULL ? message : "");
	else
		printf("result: %s%s%s\n", result, message != NULL ? ": " : "",
		       message != NULL ? message : "");
	fflush(stdout);
	return ferror(stdout) ? -1 : 0;
}

int logon_out_ad_result(const struct logon_ad_result *res, bool json)
{
	if (json) {
		struct mbx_json j;
		const char *why = NULL;
		int rc;

		mbx_json_init_file(&j, stdout, MBX_JSON_PRETTY);
		mbx_json_obj_begin(&j);
		mbx_json_kv_str(&j, "kind", logon_ad_kind_name(res->kind));
		if (res->kind == LOGON_AD_ERROR) {
			mbx_json_kv_uint(&j, "error_code", res->error_code);
			mbx_json_kv_str(&j, "message", res->error_msg);
		} else if (res->kind != LOGON_AD_SETTINGS) {
			mbx_json_kv_str(&j, "redirect", res->redirect);
		} else {
			out_json_kv_opt(&j, "display_name", res->display_name);
			out_json_kv_opt(&j, "legacy_dn", res->legacy_dn);
			out_json_kv_opt(&j, "smtp_address", res->smtp);
			out_json_kv_opt(&j, "server", res->server);
			out_json_kv_opt(&j, "server_dn", res->server_dn);
			out_json_kv_opt(&j, "mdb_dn", res->mdb_dn);
			mbx_json_kv_bool(&j, "mapihttp", res->has_mapihttp);
			out_json_kv_opt(&j, "internal_url", res->internal_url);
			out_json_kv_opt(&j, "external_url", res->external_url);
		}
		mbx_json_obj_end(&j);
		rc = mbx_json_finish(&j, &why);
		mbx_json_deinit(&j);
		return rc;
	}
	printf("kind: %s\n", logon_ad_kind_name(res->kind));
	switch (res->kind) {
	case LOGON_AD_ERROR:
		printf("error-code: %u\nmessage: %s\n", res->error_code, res->error_msg);
		break;
	case LOGON_AD_REDIRECT_URL:
	case LOGON_AD_REDIRECT_ADDR:
		printf("redirect: %s\n", res->redirect);
		break;
	case LOGON_AD_SETTINGS:
		printf("display-name: %s\nlegacy-dn: %s\nsmtp-address: %s\nserver: %s\n"
		       "server-dn: %s\nmdb-dn: %s\nmapihttp: %s\ninternal-url: %s\n"
		       "external-url: %s\n",
		       res->display_name, res->legacy_dn, res->smtp, res->server, res->server_dn,
		       res->mdb_dn, res->has_mapihttp ? "yes" : "no", res->internal_url,
		       res->external_url);
		break;
	}
	fflush(stdout);
	return ferror(stdout) ? -1 : 0;
}
