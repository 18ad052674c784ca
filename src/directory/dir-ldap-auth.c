/*
 * dir-ldap-auth.c: password checks of the `ldap` directory backend (design.md "Directory
 * backends", directory.h check_password): a simple bind as the user on a connection of its
 * own, closed afterwards, so the service connection's identity never changes; at most
 * DIR_LDAP_MAX_PASSWORD_CONNS run at once, more wait. An empty password is refused before
 * any bind (RFC 4513 5.1.2: a simple bind with a DN and no password is an unauthenticated
 * bind that "succeeds").
 */
#include "directory/dir-ldap-int.h"

#include <string.h>

/* Starts a password check on its own connection, or answers it. */
static void dir_ldap_auth_begin(struct dir_ldap_req *r)
{
	struct dir_ldap *dl = r->dl;
	size_t server = DIR_LDAP_NONE;
	struct dir_ldap_conn *c;
	char why[320];

	if (dl->svc != NULL && dl->svc->state == DLC_READY) {
		server = dl->svc->server;
	} else {
		for (size_t i = 0; i < dl->nservers; i++) {
			if (dl->servers[i].state != DLS_DOWN) {
				server = i;
				break;
			}
		}
	}
	if (server == DIR_LDAP_NONE) {
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "no directory server reachable");
		return;
	}
	r->res.server = dl->servers[server].uri;
	c = dir_ldap_conn_new(dl, DLC_PASSWORD, server, why, sizeof(why));
	if (c == NULL) {
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%s", why);
		return;
	}
	dl->npw++;
	c->pwreq = r;
	r->conn = c;
	r->state = DLR_SENT;
}

void dir_ldap_auth_pump(struct dir_ldap *dl)
{
	while (dl->pwqueue.head != NULL && dl->npw < DIR_LDAP_MAX_PASSWORD_CONNS) {
		struct dir_ldap_req *r = dl->pwqueue.head;

		dir_ldap_req_list_remove(r);
		dir_ldap_auth_begin(r);
	}
}

struct mbx_dir_req *dir_ldap_auth_check_password(struct mbx_dir *d, const char *dn,
                                                 const char *password, mbx_dir_cb *cb, void *ctx)
{
	struct dir_ldap *dl = (struct dir_ldap *)d;
	struct dir_ldap_req *r = dir_ldap_req_new(dl, DLR_PASSWORD, cb, ctx);
	LDAPDN parsed = NULL;

	if (r == NULL)
		return NULL;
	/* RFC 4513 5.1.2: a DN with an empty password is an unauthenticated bind, which
	 * servers answer with success. Never send one. */
	if (password[0] == '\0' || dn[0] == '\0') {
		dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, "empty password or DN refused");
		return &r->head;
	}
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
		dir_ldap_req_done(r, MBX_DIR_ERROR, "invalid DN syntax");
		return &r->head;
	}
	ldap_dnfree(parsed);
	r->dn = strdup(dn);
	r->password = strdup(password);
	if (r->dn == NULL || r->password == NULL)
		return dir_ldap_req_abort(r);
	if (dl->npw >= DIR_LDAP_MAX_PASSWORD_CONNS) {
		r->state = DLR_QUEUED;
		dir_ldap_req_list_push(&dl->pwqueue, r, false);
	} else {
		dir_ldap_auth_begin(r);
	}
	return &r->head;
}

/* The answer to the bind of a password check: the check is answered, the connection closed. */
void dir_ldap_auth_bound(struct dir_ldap_conn *c, int err, const char *why)
{
	struct dir_ldap *dl = c->dl;
	struct dir_ldap_req *r = c->pwreq;

	c->pwreq = NULL;
	if (r != NULL) {
		r->conn = NULL;
		r->res.server = dl->servers[c->server].uri;
		if (err == LDAP_SUCCESS)
			dir_ldap_req_done(r, MBX_DIR_FOUND, NULL);
		else if (err == LDAP_INVALID_CREDENTIALS || err == LDAP_INAPPROPRIATE_AUTH ||
		         err == LDAP_UNWILLING_TO_PERFORM || err == LDAP_NO_SUCH_OBJECT)
			dir_ldap_req_done(r, MBX_DIR_NOT_FOUND, "wrong password or no such entry");
		else if (dir_ldap_rc_tempfail(err))
			dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "%s: %s",
			                  dir_ldap_uri(dl, c->server), why);
		else
			dir_ldap_req_done(r, MBX_DIR_ERROR, "%s: %s", dir_ldap_uri(dl, c->server),
			                  why);
	}
	dir_ldap_conn_close(c);
	dir_ldap_auth_pump(dl);
}
