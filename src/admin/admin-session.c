/*
 * admin-session.c: the daemon-side commands of include/mbx/admin.h that are not about one
 * mailbox: `sessions` (the MAPI/HTTP session contexts of the front end, mbx_frontend_list),
 * `trace CATEGORY on|off` (mbx_log_set_trace: conventions.md "Logging", trace categories that
 * mbxctl switches at run time) and `reload` (the daemon's reload hook).
 *
 * Text output: sessions as a table (one line per session context, oldest first, then
 * "sessions: N"); trace as "category: on|off" lines; reload as "reload: done".
 * JSON keys (stable):
 *   sessions: sessions (array of {owner, ownerName, mailboxes (array of legacyExchangeDNs, ""
 *             for public folders), logons, ageMs, idleMs, requests, busy, waiting}), count
 *   trace:    trace (object: category name -> bool, for rop, http, ldap, store)
 *   reload:   reload ("done")
 */
#include "admin-int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mbx/frontend.h"

static const unsigned admin_trace_cats[] = {MBX_TRACE_ROP, MBX_TRACE_HTTP, MBX_TRACE_LDAP,
                                            MBX_TRACE_STORE};
#define ADMIN_NTRACE (sizeof(admin_trace_cats) / sizeof(admin_trace_cats[0]))

/* --- sessions ------------------------------------------------------------------------------ */

static void admin_session_one(void *ctx, const struct mbx_frontend_session_info *s)
{
	struct admin_cmd *c = ctx;

	c->nsessions++;
	if (c->json) {
		mbx_json_obj_begin(&c->j);
		mbx_json_kv_str(&c->j, "owner", s->owner_dn);
		mbx_json_kv_str(&c->j, "ownerName", s->owner_name);
		mbx_json_key(&c->j, "mailboxes");
		mbx_json_arr_begin(&c->j);
		for (size_t i = 0; i < s->nmailboxes && i < MBX_FRONTEND_LIST_LOGONS; i++)
			mbx_json_str(&c->j, s->mailboxes[i]);
		mbx_json_arr_end(&c->j);
		mbx_json_kv_uint(&c->j, "logons", s->nlogons);
		mbx_json_kv_uint(&c->j, "ageMs", s->age_ms);
		mbx_json_kv_uint(&c->j, "idleMs", s->idle_ms);
		mbx_json_kv_uint(&c->j, "requests", s->requests);
		mbx_json_kv_bool(&c->j, "busy", s->busy);
		mbx_json_kv_bool(&c->j, "waiting", s->waiting);
		mbx_json_obj_end(&c->j);
		return;
	}
	admin_out_printf(&c->out, "%-24s %8llu %8llu %8llu %-7s ",
	                 s->owner_name != NULL && s->owner_name[0] != '\0' ? s->owner_name
	                 : s->owner_dn != NULL                             ? s->owner_dn
	                                                                   : "-",
	                 (unsigned long long)(s->age_ms / 1000),
	                 (unsigned long long)(s->idle_ms / 1000), (unsigned long long)s->requests,
	                 s->busy      ? "busy"
	                 : s->waiting ? "waiting"
	                              : "idle");
	if (s->nmailboxes == 0)
		admin_out_printf(&c->out, "-");
	for (size_t i = 0; i < s->nmailboxes && i < MBX_FRONTEND_LIST_LOGONS; i++)
		admin_out_printf(&c->out, "%s%s", i > 0 ? ", " : "",
		                 s->mailboxes[i] != NULL && s->mailboxes[i][0] != '\0'
		                         ? s->mailboxes[i]
		                         : "(public folders)");
	if (s->nlogons > s->nmailboxes)
		admin_out_printf(&c->out, " (+%zu more)", s->nlogons - s->nmailboxes);
	admin_out_printf(&c->out, "\n");
}

void admin_sessions(struct admin_cmd *c)
{
	c->nsessions = 0;
	if (c->json) {
		mbx_json_key(&c->j, "sessions");
		mbx_json_arr_begin(&c->j);
	} else {
		admin_out_printf(&c->out, "%-24s %8s %8s %8s %-7s %s\n", "owner", "age(s)",
		                 "idle(s)", "requests", "state", "mailboxes");
	}
	if (c->a->deps.fe != NULL)
		mbx_frontend_list(c->a->deps.fe, admin_session_one, c);
	if (c->json) {
		mbx_json_arr_end(&c->j);
		mbx_json_kv_uint(&c->j, "count", c->nsessions);
	} else {
		admin_out_printf(&c->out, "sessions: %u\n", c->nsessions);
	}
	admin_ok(c);
}

/* --- trace --------------------------------------------------------------------------------- */

void admin_trace(struct admin_cmd *c)
{
	const char *name = c->argv[1], *onoff = c->argv[2];
	const char *label = "all";
	unsigned mask = 0, now;
	bool on;
	int cat;

	if (strcasecmp(onoff, "on") == 0) {
		on = true;
	} else if (strcasecmp(onoff, "off") == 0) {
		on = false;
	} else {
		admin_usage(c, "trace rop|http|ldap|store|all on|off");
		return;
	}
	if (strcasecmp(name, "all") == 0) {
		for (size_t i = 0; i < ADMIN_NTRACE; i++)
			mask |= admin_trace_cats[i];
	} else if ((cat = mbx_trace_from_name(name)) > 0) {
		mask = (unsigned)cat;
		label = mbx_trace_name(mask);
	} else {
		admin_usage(c, "trace rop|http|ldap|store|all on|off");
		return;
	}
	mbx_log_set_trace(mask, on);
	mbx_log(MBX_LOG_NOTICE, "admin: %s: trace %s %s", c->who, label, on ? "on" : "off");
	now = mbx_log_get_trace();
	if (c->json) {
		mbx_json_key(&c->j, "trace");
		mbx_json_obj_begin(&c->j);
	}
	for (size_t i = 0; i < ADMIN_NTRACE; i++) {
		const char *n = mbx_trace_name(admin_trace_cats[i]);
		bool v = (now & admin_trace_cats[i]) != 0;

		if (c->json)
			mbx_json_kv_bool(&c->j, n, v);
		else
			admin_kv(c, n, "%s", v ? "on" : "off");
	}
	if (c->json)
		mbx_json_obj_end(&c->j);
	admin_ok(c);
}

/* --- reload -------------------------------------------------------------------------------- */

void admin_reload(struct admin_cmd *c)
{
	char err[512] = "";

	if (c->a->deps.reload == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "reload is not available");
		return;
	}
	if (c->a->deps.reload(c->a->deps.hook_ctx, err, sizeof(err)) != 0) {
		admin_fail(c, MBX_CTL_FAILED, "reload failed: %s", err[0] != '\0' ? err : "error");
		return;
	}
	admin_field_str(c, "reload", "reload", "done");
	admin_ok(c);
}
