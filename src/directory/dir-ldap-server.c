/*
 * dir-ldap-server.c: the servers of the `ldap` directory backend (design.md "Directory
 * backends"): their state, the back-off of retries, which server lookups go to, and the
 * log events of the transitions.
 *
 * Servers and failover. The configured URIs are tried in order; the first is the primary.
 * A server is "down" when a connection to it fails, when its connection closes, or when a
 * request on it got no byte back for a network timeout (our own watchdog: a silent server is
 * found within about a second, not after TCP's back-off). Requests in flight on a connection
 * that dies are re-sent once on the next server (lookups only: they are idempotent; a modify
 * is answered TEMPFAIL, it may or may not have been applied). A down server is retried with
 * exponential back-off (retry_min_ms .. retry_max_ms) by a probe connection; when a server
 * before the current one answers again, lookups move back to it and the old connection is
 * closed once its requests are answered. With every server down, lookups are answered TEMPFAIL
 * at once, not after a timeout each. Transitions are logged once: MBX_EV_DIR_SERVER_DOWN,
 * MBX_EV_DIR_FAILOVER, MBX_EV_DIR_RECOVERED, MBX_EV_DIR_ALL_DOWN.
 */
#include "directory/dir-ldap-int.h"

#include "mbx/log.h"

/* --- servers ----------------------------------------------------------------------------- */

static void dir_ldap_server_schedule(struct dir_ldap_server *s)
{
	struct timeval tv = dir_ldap_tv(s->backoff_ms);

	if (!evtimer_pending(s->retry_ev, NULL))
		evtimer_add(s->retry_ev, &tv);
}

/* A server failed (connect, bind, closed connection, silence): down, retried later. */
void dir_ldap_server_down(struct dir_ldap *dl, size_t i, const char *why)
{
	struct dir_ldap_server *s = &dl->servers[i];

	if (s->state != DLS_DOWN) {
		s->state = DLS_DOWN;
		s->backoff_ms = dl->retry_min_ms;
		mbx_log_event(MBX_EV_DIR_SERVER_DOWN, "%s: %s", s->uri, why);
	} else {
		s->backoff_ms =
		        s->backoff_ms > dl->retry_max_ms / 2 ? dl->retry_max_ms : 2 * s->backoff_ms;
		if (s->backoff_ms < dl->retry_min_ms)
			s->backoff_ms = dl->retry_min_ms;
	}
	dir_ldap_server_schedule(s);
}

static void dir_ldap_server_up(struct dir_ldap *dl, size_t i)
{
	struct dir_ldap_server *s = &dl->servers[i];

	if (s->state == DLS_DOWN)
		mbx_log_event(MBX_EV_DIR_RECOVERED, "%s reachable again", s->uri);
	s->state = DLS_UP;
	s->backoff_ms = 0;
	evtimer_del(s->retry_ev);
}

/* Retry timer of a down server: a probe connection (connect + service bind). */
void dir_ldap_server_retry(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_server *s = arg;
	struct dir_ldap *dl = s->dl;
	size_t i = (size_t)(s - dl->servers);
	char why[320];

	(void)fd;
	(void)what;
	if (s->state != DLS_DOWN || s->probe != NULL)
		return;
	s->probe = dir_ldap_conn_new(dl, DLC_PROBE, i, why, sizeof(why));
	if (s->probe == NULL)
		dir_ldap_server_down(dl, i, why);
}

/* The service connection is bound: lookups go there. */
void dir_ldap_server_svc_ready(struct dir_ldap_conn *c)
{
	struct dir_ldap *dl = c->dl;
	char *attrs[] = {(char *)"supportedControl", NULL};
	struct timeval tv = dir_ldap_tv(dl->net_ms);

	dir_ldap_server_up(dl, c->server);
	if (dl->active != c->server) {
		if (dl->active != DIR_LDAP_NONE)
			mbx_log_event(MBX_EV_DIR_FAILOVER, "directory lookups moved from %s to %s",
			              dir_ldap_uri(dl, dl->active), dir_ldap_uri(dl, c->server));
		dl->active = c->server;
	}
	if (dl->all_down)
		mbx_log(MBX_LOG_NOTICE, "directory: %s serves lookups again",
		        dir_ldap_uri(dl, c->server));
	dl->all_down = false;
	if (dl->sync.conn != NULL && dl->sync.conn->server != c->server)
		dir_ldap_sync_stop(dl);
	if (dl->content_sync &&
	    ldap_search_ext(c->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
	                    &tv, 1, &c->dse_msgid) != LDAP_SUCCESS)
		c->dse_msgid = -1;
	dir_ldap_req_queue_pump(dl);
}

/* A probe of a down server succeeded: the server is up; lookups move back to it if it comes
 * before the server they use now. */
void dir_ldap_server_probe_ready(struct dir_ldap_conn *c)
{
	struct dir_ldap *dl = c->dl;
	struct dir_ldap_conn *old = dl->svc;

	dl->servers[c->server].probe = NULL;
	dir_ldap_server_up(dl, c->server);
	if (old != NULL && old->server <= c->server) {
		dir_ldap_conn_close(c);
		return;
	}
	if (old != NULL) {
		if (old->state == DLC_READY && old->inflight.n > 0) {
			old->draining = true; /* closed when its last request is answered */
			dl->svc = NULL;
		} else {
			dir_ldap_conn_close(old);
		}
	}
	c->kind = DLC_SERVICE;
	dl->svc = c;
	dir_ldap_server_svc_ready(c);
}

/* Picks a server for the service connection: the first one not known to be down. With none
 * left, everything waiting is answered TEMPFAIL and the retries go on in the background. */
void dir_ldap_server_connect_service(struct dir_ldap *dl)
{
	char why[320];

	while (dl->svc == NULL) {
		size_t i;

		for (i = 0; i < dl->nservers; i++) {
			if (dl->servers[i].state != DLS_DOWN && dl->servers[i].probe == NULL)
				break;
		}
		if (i == dl->nservers) {
			if (!dl->all_down) {
				dl->all_down = true;
				mbx_log_event(MBX_EV_DIR_ALL_DOWN,
				              "none of the %zu directory servers answers",
				              dl->nservers);
			}
			while (dl->queue.head != NULL)
				dir_ldap_req_done(dl->queue.head, MBX_DIR_TEMPFAIL,
				                  "no directory server reachable");
			return;
		}
		dl->svc = dir_ldap_conn_new(dl, DLC_SERVICE, i, why, sizeof(why));
		if (dl->svc == NULL)
			dir_ldap_server_down(dl, i, why);
	}
}
