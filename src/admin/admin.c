/*
 * admin.c: the commands of mbxctl(8) as the daemon runs them (include/mbx/admin.h; issue #5
 * "Control socket and mbxctl", design.md "Moves"): the admin object, the command table and its
 * usage lines, the life of one command (argv in, exit status and body out, always through a
 * deferral on the event loop), and the asynchronous steps the commands share (admin-int.h).
 * The commands themselves are in admin-mailbox.c, admin-move.c, admin-fix.c, admin-report.c
 * and admin-session.c.
 */
#include "admin-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/defer-event.h"

/* --- the command table ------------------------------------------------------------------- */

struct admin_command {
	const char *word1, *word2; /* word2 NULL: a one-word command */
	int min_args, max_args;    /* argc bounds, the words included */
	const char *usage;
	void (*run)(struct admin_cmd *c);
};

static void admin_help(struct admin_cmd *c);

static const struct admin_command admin_commands[] = {
        {"mailbox", "show", 3, 3, "mailbox show MAILBOX", admin_mailbox_show},
        {"mailbox", "associate-self", 3, 3, "mailbox associate-self MAILBOX",
         admin_mailbox_associate_self},
        {"move", "start", 4, 5, "move start MAILBOX --to DATABASE | --cross-forest",
         admin_move_start},
        {"move", "complete", 3, 5, "move complete MAILBOX [--cross-forest SMTP:ADDRESS]",
         admin_move_complete},
        {"move", "abort", 3, 3, "move abort MAILBOX", admin_move_abort},
        {"report", "disabled-without-master-sid", 2, 2, "report disabled-without-master-sid",
         admin_report},
        {"sessions", NULL, 1, 1, "sessions", admin_sessions},
        {"trace", NULL, 3, 3, "trace rop|http|ldap|store|all on|off", admin_trace},
        {"reload", NULL, 1, 1, "reload", admin_reload},
        {"help", NULL, 1, 1, "help", admin_help},
};
#define ADMIN_NCOMMANDS (sizeof(admin_commands) / sizeof(admin_commands[0]))

static const char *const admin_help_text[] = {
        "show the directory facts, the state and the RopLogon answer of a mailbox",
        "set msExchMasterAccountSid to SELF and grant SELF full access (fixes event 9548)",
        "start a move: the mailbox is in transit until complete or abort",
        "end a move: homeMDB = the target, or a mail user in another forest",
        "clear the move attributes: the mailbox is as before the start",
        "list disabled accounts without msExchMasterAccountSid (ldifde format)",
        "list the MAPI/HTTP session contexts",
        "switch a trace category at run time",
        "reload the configuration and the directory",
        "this list",
};

static void admin_help(struct admin_cmd *c)
{
	if (c->json) {
		mbx_json_key(&c->j, "commands");
		mbx_json_arr_begin(&c->j);
		for (size_t i = 0; i < ADMIN_NCOMMANDS; i++) {
			mbx_json_obj_begin(&c->j);
			mbx_json_kv_str(&c->j, "usage", admin_commands[i].usage);
			mbx_json_kv_str(&c->j, "help", admin_help_text[i]);
			mbx_json_obj_end(&c->j);
		}
		mbx_json_arr_end(&c->j);
	} else {
		admin_out_printf(&c->out, "commands:\n");
		for (size_t i = 0; i < ADMIN_NCOMMANDS; i++)
			admin_out_printf(&c->out, "  %-52s %s\n", admin_commands[i].usage,
			                 admin_help_text[i]);
	}
	admin_ok(c);
}

/* --- output ------------------------------------------------------------------------------- */

static void admin_out_vprintf(struct admin_out *o, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void admin_out_vprintf(struct admin_out *o, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (o->oom)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(o->buf != NULL ? o->buf + o->len : NULL, o->buf != NULL ? o->cap - o->len : 0,
	              fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		o->oom = true;
		return;
	}
	if (o->buf == NULL || (size_t)n >= o->cap - o->len) {
		size_t cap = o->cap != 0 ? o->cap : 1024;
		char *nb;

		while (cap - o->len <= (size_t)n)
			cap *= 2;
		nb = realloc(o->buf, cap);
		if (nb == NULL) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = cap;
		vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	}
	o->len += (size_t)n;
}

void admin_out_printf(struct admin_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	admin_out_vprintf(o, fmt, ap);
	va_end(ap);
}

void admin_kv(struct admin_cmd *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	char k[64];

	snprintf(k, sizeof(k), "%s:", key);
	admin_out_printf(&c->out, "%-*s ", ADMIN_KEY_WIDTH, k);
	va_start(ap, fmt);
	admin_out_vprintf(&c->out, fmt, ap);
	va_end(ap);
	admin_out_printf(&c->out, "\n");
}

void admin_field_str(struct admin_cmd *c, const char *jkey, const char *tkey, const char *s)
{
	if (c->json)
		mbx_json_kv_str(&c->j, jkey, s);
	else
		admin_kv(c, tkey, "%s", s != NULL ? s : "-");
}

void admin_field_uint(struct admin_cmd *c, const char *jkey, const char *tkey, uint64_t v,
                      const char *text)
{
	if (c->json)
		mbx_json_kv_uint(&c->j, jkey, v);
	else if (text != NULL)
		admin_kv(c, tkey, "%s", text);
	else
		admin_kv(c, tkey, "%llu", (unsigned long long)v);
}

void admin_field_bool(struct admin_cmd *c, const char *jkey, const char *tkey, bool v)
{
	if (c->json)
		mbx_json_kv_bool(&c->j, jkey, v);
	else
		admin_kv(c, tkey, "%s", v ? "yes" : "no");
}

char *admin_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

const char *admin_esc(const char *s, char *buf, size_t size)
{
	if (s == NULL)
		s = "(none)";
	return mbx_log_escape(s, strlen(s), buf, size);
}

/* --- the end of a command ----------------------------------------------------------------- */

static void admin_finish(struct admin_cmd *c, int exit)
{
	if (c->finished)
		return; /* our bug: a command answers once */
	c->finished = true;
	c->exit = exit;
	mbx_dir_defer_ops.schedule(c->defer);
}

void admin_ok(struct admin_cmd *c)
{
	if (c->json)
		mbx_json_obj_end(&c->j);
	admin_finish(c, MBX_CTL_OK);
}

static void admin_vfail(struct admin_cmd *c, int exit, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

static void admin_vfail(struct admin_cmd *c, int exit, const char *fmt, va_list ap)
{
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	/* one line: a directory message might hold a line break */
	for (char *p = c->msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	admin_finish(c, exit);
}

void admin_fail(struct admin_cmd *c, int exit, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	admin_vfail(c, exit, fmt, ap);
	va_end(ap);
}

void admin_fail_dir(struct admin_cmd *c, enum mbx_dir_status st, const char *msg, const char *what,
                    const char *name)
{
	switch (st) {
	case MBX_DIR_NOT_FOUND:
		admin_fail(c, MBX_CTL_NOT_FOUND, "no such %s: %s", what, name);
		return;
	case MBX_DIR_TEMPFAIL:
		admin_fail(c, MBX_CTL_TEMPFAIL, "directory unavailable: %s",
		           msg != NULL && *msg != '\0' ? msg : "no answer");
		return;
	case MBX_DIR_FOUND: /* found but unusable */
	case MBX_DIR_ERROR:
		break;
	}
	admin_fail(c, MBX_CTL_FAILED, "directory error on %s %s: %s", what, name,
	           msg != NULL && *msg != '\0' ? msg : "no usable entry");
}

void admin_usage(struct admin_cmd *c, const char *usage)
{
	admin_fail(c, MBX_CTL_USAGE, "usage: mbxctl %s", usage);
}

/* --- life of a command -------------------------------------------------------------------- */

static void admin_cmd_clear_mods(struct admin_cmd *c)
{
	for (size_t i = 0; i < c->nmods; i++)
		free(c->vals[i].data);
	c->nmods = 0;
}

void admin_clear_lookup(struct admin_cmd *c)
{
	for (size_t i = 0; i < c->nents; i++)
		mbx_dir_entry_free(&c->ents[i]);
	free(c->ents);
	c->ents = NULL;
	c->nents = 0;
	c->dirmsg[0] = '\0';
}

/* Stops what is in flight (no callback will come). */
static void admin_cmd_cancel(struct admin_cmd *c)
{
	if (c->dreq != NULL) {
		mbx_dir_cancel(c->dreq);
		c->dreq = NULL;
	}
	if (c->wait != NULL) {
		mbx_mailbox_table_cancel(c->wait);
		c->wait = NULL;
	}
}

static void admin_cmd_free(struct admin_cmd *c)
{
	admin_cmd_cancel(c);
	if (c->defer != NULL)
		mbx_dir_defer_ops.destroy(c->defer);
	for (int i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->out.buf);
	mbx_json_deinit(&c->j);
	mbx_mailbox_free(&c->mbx);
	admin_clear_lookup(c);
	admin_cmd_clear_mods(c);
	mbx_dir_entry_free(&c->db);
	mbx_dir_entry_free(&c->server);
	for (size_t i = 0; i < sizeof(c->str) / sizeof(c->str[0]); i++)
		free(c->str[i]);
	free(c->bin);
	free(c);
}

static void admin_cmd_unlink(struct admin_cmd *c)
{
	struct mbx_admin *a = c->a;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->cmds = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	a->ncmds--;
}

/* The words of the command, escaped, for the log line. */
static void admin_cmd_words(const struct admin_cmd *c, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < c->argc && len + 1 < size; i++) {
		char esc[256];

		admin_esc(c->argv[i], esc, sizeof(esc));
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i > 0 ? " " : "", esc);
		if (len >= size)
			len = size - 1;
	}
}

/* Hands the answer to the caller, then frees the command. */
static void admin_cmd_deliver(struct admin_cmd *c, int exit, const char *msg)
{
	char words[512], esc[ADMIN_MSG_MAX];
	const char *body;
	size_t len;

	admin_cmd_words(c, words, sizeof(words));
	if (exit == MBX_CTL_OK) {
		if (c->json) {
			const char *err = NULL;

			if (mbx_json_finish(&c->j, &err) != 0) {
				exit = MBX_CTL_FAILED;
				snprintf(c->msg, sizeof(c->msg), "cannot write the JSON answer: %s",
				         err != NULL ? err : "error");
				msg = c->msg;
			}
		} else if (c->out.oom) {
			exit = MBX_CTL_FAILED;
			msg = "out of memory";
		}
	}
	if (exit == MBX_CTL_OK) {
		if (c->json) {
			body = mbx_json_text(&c->j, &len);
		} else {
			body = c->out.buf != NULL ? c->out.buf : "";
			len = c->out.len;
		}
		mbx_log(MBX_LOG_INFO, "admin: %s: %s: done", c->who, words);
	} else {
		body = msg;
		len = strlen(msg);
		mbx_log(MBX_LOG_INFO, "admin: %s: %s: exit %d: %s", c->who, words, exit,
		        mbx_log_escape(msg, len, esc, sizeof(esc)));
	}
	admin_cmd_unlink(c);
	c->cb(c->ctx, exit, body, len);
	admin_cmd_free(c);
}

static void admin_cmd_fire(void *arg)
{
	struct admin_cmd *c = arg;

	admin_cmd_deliver(c, c->exit, c->msg);
}

struct mbx_admin *mbx_admin_new(const struct mbx_admin_deps *deps)
{
	struct mbx_admin *a;

	if (deps == NULL || deps->base == NULL || deps->dir == NULL || deps->table == NULL)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->deps = *deps;
	a->cfg = deps->cfg;
	return a;
}

void mbx_admin_reconfigure(struct mbx_admin *a, const struct mbx_config *cfg)
{
	if (a != NULL) {
		a->cfg = cfg;
		a->deps.cfg = cfg;
	}
}

size_t mbx_admin_pending(const struct mbx_admin *a)
{
	return a != NULL ? a->ncmds : 0;
}

void mbx_admin_free(struct mbx_admin **ap)
{
	struct mbx_admin *a;

	if (ap == NULL || *ap == NULL)
		return;
	a = *ap;
	*ap = NULL;
	while (a->cmds != NULL) {
		struct admin_cmd *c = a->cmds;

		admin_cmd_cancel(c);
		if (c->finished)
			admin_cmd_deliver(c, c->exit, c->msg);
		else
			admin_cmd_deliver(c, MBX_CTL_FAILED, "daemon stopping");
	}
	free(a);
}

bool admin_is_mailbox_arg(const char *s)
{
	return s != NULL && (s[0] == '/' || (strchr(s, '@') != NULL && s[0] != '@'));
}

void mbx_admin_run(struct mbx_admin *a, int argc, const char *const *argv, bool json,
                   const char *who, mbx_admin_done_cb *cb, void *ctx)
{
	const struct admin_command *cmd = NULL;
	struct admin_cmd *c;
	bool word1_known = false;

	if (cb == NULL)
		return;
	c = a != NULL ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		/* nothing to defer with: the only answer given from inside the call */
		cb(ctx, MBX_CTL_FAILED, "out of memory", strlen("out of memory"));
		return;
	}
	c->a = a;
	c->cb = cb;
	c->ctx = ctx;
	c->json = json;
	snprintf(c->who, sizeof(c->who), "%s", who != NULL ? who : "unknown");
	c->defer = mbx_dir_defer_ops.create(a->deps.base, admin_cmd_fire, c);
	c->argv = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(*c->argv));
	if (c->defer == NULL || c->argv == NULL) {
		admin_cmd_free(c);
		cb(ctx, MBX_CTL_FAILED, "out of memory", strlen("out of memory"));
		return;
	}
	/* linked before any answer, so that mbx_admin_free finds it */
	c->next = a->cmds;
	if (a->cmds != NULL)
		a->cmds->prev = c;
	a->cmds = c;
	a->ncmds++;
	for (int i = 0; i < argc; i++) {
		c->argv[i] = strdup(argv[i] != NULL ? argv[i] : "");
		if (c->argv[i] == NULL) {
			admin_fail(c, MBX_CTL_FAILED, "out of memory");
			return;
		}
		c->argc = i + 1;
	}
	if (json) {
		mbx_json_init_buf(&c->j, MBX_JSON_PRETTY);
		mbx_json_obj_begin(&c->j);
	}
	if (argc < 1) {
		admin_fail(c, MBX_CTL_USAGE,
		           "usage: mbxctl COMMAND ...; \"mbxctl help\" lists them");
		return;
	}
	for (size_t i = 0; i < ADMIN_NCOMMANDS; i++) {
		const struct admin_command *e = &admin_commands[i];

		if (strcmp(e->word1, c->argv[0]) != 0)
			continue;
		word1_known = true;
		if (e->word2 == NULL || (argc >= 2 && strcmp(e->word2, c->argv[1]) == 0)) {
			cmd = e;
			break;
		}
	}
	if (cmd == NULL) {
		char esc[128];

		if (word1_known) {
			/* list the sub-commands of this word */
			char list[256] = "";
			size_t len = 0;

			for (size_t i = 0; i < ADMIN_NCOMMANDS; i++)
				if (strcmp(admin_commands[i].word1, c->argv[0]) == 0 &&
				    len < sizeof(list))
					len += (size_t)snprintf(list + len, sizeof(list) - len,
					                        "%s%s", len > 0 ? "|" : "",
					                        admin_commands[i].word2);
			admin_fail(c, MBX_CTL_USAGE, "usage: mbxctl %s %s ...", c->argv[0], list);
		} else {
			admin_fail(c, MBX_CTL_USAGE,
			           "unknown command \"%s\"; \"mbxctl help\" lists the commands",
			           admin_esc(c->argv[0], esc, sizeof(esc)));
		}
		return;
	}
	if (argc < cmd->min_args || argc > cmd->max_args) {
		admin_usage(c, cmd->usage);
		return;
	}
	cmd->run(c);
}

/* --- asynchronous steps ------------------------------------------------------------------- */

static void admin_fetch_start(struct admin_cmd *c);

static void admin_fetch_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct admin_cmd *c = ctx;
	struct mbx_mailbox_table *t = c->a->deps.table;

	c->wait = NULL;
	if (res->status != MBX_DIR_FOUND || res->mbx == NULL) {
		admin_fail_dir(c, res->status, res->message, "mailbox", c->mbx_arg);
		return;
	}
	if (res->cached && !c->refetched) {
		/* an SMTP key answered from the cache: read it again, fresh */
		c->refetched = true;
		mbx_mailbox_table_invalidate_dn(t, res->mbx->dn);
		if (res->mbx->legacy_dn != NULL)
			mbx_mailbox_table_invalidate(t, res->mbx->legacy_dn);
		admin_fetch_start(c);
		return;
	}
	c->mbx = mbx_mailbox_dup(res->mbx);
	if (c->mbx == NULL) {
		admin_fail(c, MBX_CTL_FAILED, "out of memory");
		return;
	}
	c->then(c);
}

static void admin_fetch_start(struct admin_cmd *c)
{
	struct mbx_mailbox_table *t = c->a->deps.table;
	const char *key = c->mbx_arg;

	if (c->by_smtp) {
		if (strncasecmp(key, "smtp:", 5) == 0)
			key += 5;
		c->wait = mbx_mailbox_table_get_smtp(t, key, admin_fetch_cb, c);
	} else {
		mbx_mailbox_table_invalidate(t, key);
		c->wait = mbx_mailbox_table_get(t, key, admin_fetch_cb, c);
	}
	if (c->wait == NULL)
		admin_fail(c, MBX_CTL_FAILED, "cannot start the lookup of %s", c->mbx_arg);
}

void admin_fetch_mailbox(struct admin_cmd *c, admin_step_fn *then)
{
	c->then = then;
	c->by_smtp = c->mbx_arg[0] != '/';
	c->refetched = false;
	mbx_mailbox_free(&c->mbx);
	admin_fetch_start(c);
}

static void admin_lookup_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct admin_cmd *c = ctx;

	c->dreq = NULL;
	admin_clear_lookup(c);
	c->st = res->status;
	snprintf(c->dirmsg, sizeof(c->dirmsg), "%s", res->message != NULL ? res->message : "");
	if (res->status == MBX_DIR_FOUND && res->nentries > 0) {
		c->ents = calloc(res->nentries, sizeof(*c->ents));
		if (c->ents == NULL) {
			admin_fail(c, MBX_CTL_FAILED, "out of memory");
			return;
		}
		for (size_t i = 0; i < res->nentries; i++) {
			c->ents[i] = mbx_dir_entry_dup(res->entries[i]);
			if (c->ents[i] == NULL) {
				c->nents = i;
				admin_fail(c, MBX_CTL_FAILED, "out of memory");
				return;
			}
		}
		c->nents = res->nentries;
	} else if (res->status == MBX_DIR_FOUND) {
		c->st = MBX_DIR_NOT_FOUND;
	}
	c->then(c);
}

void admin_lookup(struct admin_cmd *c, enum mbx_dir_key kind, const char *key, admin_step_fn *then)
{
	c->then = then;
	admin_clear_lookup(c);
	c->dreq = mbx_dir_lookup(c->a->deps.dir, kind, key, strlen(key), admin_lookup_cb, c);
	if (c->dreq == NULL)
		admin_fail(c, MBX_CTL_FAILED, "cannot start a directory lookup (%s)",
		           mbx_dir_key_name(kind));
}

static void admin_modify_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct admin_cmd *c = ctx;

	c->dreq = NULL;
	admin_cmd_clear_mods(c);
	switch (res->status) {
	case MBX_DIR_FOUND:
		c->then(c);
		return;
	case MBX_DIR_NOT_FOUND:
		admin_fail(c, MBX_CTL_NOT_FOUND, "the entry is gone: %s",
		           c->mbx != NULL ? c->mbx->dn : "?");
		return;
	case MBX_DIR_TEMPFAIL:
		admin_fail(c, MBX_CTL_TEMPFAIL, "directory unavailable: %s",
		           res->message != NULL ? res->message : "no answer");
		return;
	case MBX_DIR_ERROR:
		break;
	}
	admin_fail(c, MBX_CTL_FAILED, "the directory refused the change: %s",
	           res->message != NULL ? res->message : "error");
}

void admin_modify(struct admin_cmd *c, const char *dn, admin_step_fn *then)
{
	c->then = then;
	if (c->mods_oom) {
		admin_cmd_clear_mods(c);
		admin_fail(c, MBX_CTL_FAILED, "out of memory");
		return;
	}
	c->dreq = mbx_dir_modify(c->a->deps.dir, dn, c->mods, c->nmods, admin_modify_cb, c);
	if (c->dreq == NULL) {
		admin_cmd_clear_mods(c);
		admin_fail(c, MBX_CTL_FAILED, "cannot start the directory modification");
	}
}

void admin_mod_bin(struct admin_cmd *c, const char *attr, const void *p, size_t len)
{
	struct mbx_dir_mod *m;
	struct mbx_dir_value *v;

	if (c->nmods >= ADMIN_MODS_MAX) {
		c->mods_oom = true; /* our bug: refuse the whole modification */
		return;
	}
	m = &c->mods[c->nmods];
	v = &c->vals[c->nmods];
	memset(m, 0, sizeof(*m));
	memset(v, 0, sizeof(*v));
	m->op = MBX_DIR_MOD_REPLACE;
	m->attr = attr;
	if (p != NULL) {
		v->data = malloc(len + 1);
		if (v->data == NULL) {
			c->mods_oom = true;
			return;
		}
		memcpy(v->data, p, len);
		v->data[len] = '\0';
		v->len = len;
		m->vals = v;
		m->nvals = 1;
	}
	c->nmods++;
}

void admin_mod_str(struct admin_cmd *c, const char *attr, const char *s)
{
	admin_mod_bin(c, attr, s, s != NULL ? strlen(s) : 0);
}
