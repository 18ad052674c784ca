/*
 * daemon-admin.c: the daemon's administrative side: the control socket (include/mbx/control.h)
 * carrying mbxctl's commands to the admin commands (include/mbx/admin.h), and the reaction to a
 * mailbox entering transit through the directory (MS-OXMVMBX 3.1.1: the mailbox is locked for
 * client access for the whole move; design.md "Moves"; protocol.md 3.3).
 *
 * A move started here destroys the session contexts on the mailbox itself (the admin command
 * calls mbx_frontend_drop_mailbox). A move started on another server reaches this one as a
 * directory change notification (ldap Content Sync, an ldif reload): the mailbox table has
 * already forgotten its entry when the callback below runs, so a lookup reads the new state,
 * and contexts holding a logon on a mailbox now in transit are destroyed the same way. Changes
 * to mailboxes nobody here has a logon on cost nothing but the check.
 */
#include "daemon/daemon-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbx/admin.h"
#include "mbx/autodiscover.h"
#include "mbx/control.h"
#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/log.h"
#include "mbx/mailbox-table.h"

/* --- mailboxes entering transit elsewhere ----------------------------------------------------- */

struct daemon_transit_check {
	struct daemon *d;
	struct mbx_mt_wait *w;
	struct daemon_transit_check *prev, *next;
	char legacy_dn[]; /* NUL-terminated */
};

static void transit_unlink(struct daemon_transit_check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->d->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void transit_checked(void *arg, const struct mbx_mt_result *res)
{
	struct daemon_transit_check *c = arg;
	struct daemon *d = c->d;
	const char *why = NULL;

	transit_unlink(c);
	if (res->status == MBX_DIR_FOUND && res->mbx != NULL && d->fe != NULL &&
	    mbx_mailbox_classify(res->mbx, res->status, &d->id, &why) == MBX_MAILBOX_IN_TRANSIT) {
		unsigned n = mbx_frontend_drop_mailbox(d->fe, c->legacy_dn);
		char esc[512];

		mbx_log(MBX_LOG_NOTICE,
		        "move: mailbox %s entered transit (directory change): %u session "
		        "context%s destroyed",
		        mbx_log_escape(c->legacy_dn, strlen(c->legacy_dn), esc, sizeof(esc)), n,
		        n == 1 ? "" : "s");
	}
	free(c);
}

static void transit_changed(void *arg, const char *dn, const char *legacy_dn)
{
	struct daemon *d = arg;
	struct daemon_transit_check *c;
	size_t len;

	(void)dn;
	if (legacy_dn == NULL || legacy_dn[0] == '\0' || d->fe == NULL || d->table == NULL ||
	    !mbx_frontend_holds_mailbox(d->fe, legacy_dn))
		return;
	len = strlen(legacy_dn);
	c = calloc(1, sizeof(*c) + len + 1);
	if (c == NULL) {
		char esc[512];

		mbx_log(MBX_LOG_ERROR, "move: out of memory checking %s for a move",
		        mbx_log_escape(legacy_dn, len, esc, sizeof(esc)));
		return;
	}
	memcpy(c->legacy_dn, legacy_dn, len + 1);
	c->d = d;
	c->next = d->checks;
	if (d->checks != NULL)
		d->checks->prev = c;
	d->checks = c;
	c->w = mbx_mailbox_table_get(d->table, c->legacy_dn, transit_checked, c);
	if (c->w == NULL) {
		transit_unlink(c);
		free(c);
	}
}

void daemon_watch_transit(struct daemon *d)
{
	mbx_dir_set_change_cb(d->dir, transit_changed, d);
}

/* --- the control socket and the commands ------------------------------------------------------ */

static int admin_reload(void *arg, char *err, size_t errsize)
{
	return daemon_reload(arg, err, errsize);
}

static void admin_done(void *arg, int exit, const char *body, size_t len)
{
	struct mbx_control_reply *reply = arg;

	if (exit == 0)
		mbx_control_reply_ok(reply, body, len);
	else
		mbx_control_reply_error(reply, exit, "%.*s", (int)(len > 4096 ? 4096 : len),
		                        body != NULL ? body : "");
}

static void admin_request(void *arg, const struct mbx_control_request *req, uid_t peer_uid,
                          struct mbx_control_reply *reply)
{
	struct daemon *d = arg;
	char who[32];

	snprintf(who, sizeof(who), "uid %ld", (long)peer_uid);
	if (d->admin == NULL) {
		mbx_control_reply_error(reply, MBX_CTL_FAILED, "daemon stopping");
		return;
	}
	mbx_admin_run(d->admin, req->argc, req->argv, req->json, who, admin_done, reply);
}

int daemon_admin_start(struct daemon *d)
{
	struct mbx_admin_deps ad = {
		.base = d->base,
		.dir = d->dir,
		.table = d->table,
		.id = &d->id,
		.cfg = &d->cfg,
		.fe = d->fe,
		.reload = admin_reload,
		.hook_ctx = d,
	};
	struct mbx_control_config cc = {
		.base = d->base,
		.path = d->cfg.listen.control_socket,
		.mode = d->cfg.listen.control_socket_mode,
		.group = d->cfg.listen.control_socket_group,
		.allowed_uid = d->switch_user ? d->uid : geteuid(),
		.owner_uid = d->switch_user && geteuid() == 0 ? d->uid : (uid_t)-1,
		.owner_gid = d->switch_user && geteuid() == 0 ? d->gid : (gid_t)-1,
		.handler = admin_request,
		.ctx = d,
	};
	char err[1024];

	d->admin = mbx_admin_new(&ad);
	if (d->admin == NULL) {
		daemon_fail(d, "admin commands: out of memory");
		return -1;
	}
	d->ctl = mbx_control_new(&cc, err, sizeof(err));
	if (d->ctl == NULL) {
		daemon_fail(d, "%s", err); /* the message names the socket */
		return -1;
	}
	return 0;
}

void daemon_admin_reconfigure(struct daemon *d)
{
	if (d->admin != NULL)
		mbx_admin_reconfigure(d->admin, &d->cfg);
	if (d->ad != NULL)
		mbx_autodiscover_reconfigure(d->ad, &d->cfg, &d->id);
}

void daemon_admin_stop(struct daemon *d)
{
	/* Running commands are answered "daemon stopping" now, while the loop still runs to send
	 * the answers; new ones get the same (admin_request). */
	mbx_admin_free(&d->admin);
}

size_t daemon_admin_clients(const struct daemon *d)
{
	return d->ctl != NULL ? mbx_control_clients(d->ctl) : 0;
}

void daemon_admin_free(struct daemon *d)
{
	/* The commands first: they answer through replies the socket still holds. */
	mbx_admin_free(&d->admin);
	mbx_control_free(&d->ctl);
	while (d->checks != NULL) {
		struct daemon_transit_check *c = d->checks;

		d->checks = c->next;
		mbx_mailbox_table_cancel(c->w);
		free(c);
	}
}
