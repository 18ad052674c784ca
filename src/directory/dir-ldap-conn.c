/*
 * dir-ldap-conn.c: connections of the `ldap` directory backend (design.md "Directory
 * backends"): the worker-thread connect, the bind, reading answers on the loop, the
 * watchdog, and what happens to the requests of a connection that fails.
 *
 * Connections. Each connection attempt runs in a short-lived worker thread: ldap_initialize,
 * the options (network timeout, API timeout, TLS CA file, REQUIRE_CERT demand, a new TLS
 * context), ldap_connect (TCP, and the TLS handshake for ldaps://) and, with StartTLS,
 * ldap_start_tls_s. LDAP_OPT_CONNECT_ASYNC (libldap 2.5 has it) would only make the TCP
 * connect asynchronous: libldap still resolves the host name with a blocking getaddrinfo() and
 * waits inside the library for the TLS handshake (ldaps) and for the StartTLS response and
 * handshake, so on the loop it could still stall for a network timeout or, with a resolver
 * that hangs, longer. In a worker all of that may block; the loop gives up on the worker after
 * its own deadline. The worker hands the connected LDAP* back through a pipe, and from then on
 * everything runs on the loop: the socket is made non-blocking, the binds (ldap_sasl_bind,
 * simple), searches (ldap_search_ext), modifies, abandons and the Content Sync search are
 * asynchronous calls, and when the socket is readable ldap_result(LDAP_RES_ANY, LDAP_MSG_ONE,
 * zero timeout) is called until it has nothing more; each message goes to the request its
 * msgid maps to.
 */
#include "directory/dir-ldap-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mbx/log.h"

static void dir_ldap_conn_destroy(struct dir_ldap_conn *c);

/* --- the msgid map of a connection ------------------------------------------------------- */

static struct dir_ldap_req **dir_ldap_conn_bucket(struct dir_ldap_conn *c, int msgid)
{
	return &c->byid[(unsigned)msgid % DIR_LDAP_HASH];
}

static struct dir_ldap_req *dir_ldap_conn_find(struct dir_ldap_conn *c, int msgid)
{
	for (struct dir_ldap_req *r = *dir_ldap_conn_bucket(c, msgid); r != NULL; r = r->hnext) {
		if (r->msgid == msgid)
			return r;
	}
	return NULL;
}

static void dir_ldap_conn_watchdog_arm(struct dir_ldap_conn *c);

void dir_ldap_conn_attach(struct dir_ldap_conn *c, struct dir_ldap_req *r, int msgid)
{
	struct dir_ldap_req **b = dir_ldap_conn_bucket(c, msgid);

	r->conn = c;
	r->msgid = msgid;
	r->state = DLR_SENT;
	r->sent_us = dir_ldap_now_us();
	r->hnext = *b;
	*b = r;
	dir_ldap_req_list_push(&c->inflight, r, false);
	dir_ldap_conn_watchdog_arm(c);
}

/* Takes a sent request off its connection (msgid map and in-flight list). */
void dir_ldap_conn_detach(struct dir_ldap_req *r)
{
	struct dir_ldap_conn *c = r->conn;

	if (c == NULL)
		return;
	if (r->kind != DLR_PASSWORD) {
		for (struct dir_ldap_req **p = dir_ldap_conn_bucket(c, r->msgid); *p != NULL;
		     p = &(*p)->hnext) {
			if (*p == r) {
				*p = r->hnext;
				break;
			}
		}
		dir_ldap_req_list_remove(r);
	}
	r->hnext = NULL;
	r->conn = NULL;
	r->msgid = -1;
}

/* --- worker threads ---------------------------------------------------------------------- */

static void dir_ldap_conn_job_unref(struct dir_ldap_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	if (j->ld != NULL)
		ldap_unbind_ext(j->ld, NULL, NULL);
	close(j->pipefd[0]);
	close(j->pipefd[1]);
	free(j->uri);
	free(j->ca_file);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

/* Runs in the worker: everything that may block while connecting. */
static void *dir_ldap_conn_job_run(void *arg)
{
	struct dir_ldap_job *j = arg;
	struct timeval tv = dir_ldap_tv(j->net_ms);
	LDAP *ld = NULL;
	int rc, v3 = LDAP_VERSION3, ival;
	bool ldaps = strncasecmp(j->uri, "ldaps:", 6) == 0;
	bool ldapi = strncasecmp(j->uri, "ldapi:", 6) == 0;

	rc = ldap_initialize(&ld, j->uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(j->err, sizeof(j->err), "%s", ldap_err2string(rc));
		goto out;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	if (!ldapi) {
		ival = 10;
		ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &ival);
		ival = 3;
		ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &ival);
		ival = 2;
		ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &ival);
	}
	if (ldaps || j->starttls) {
		ival = LDAP_OPT_X_TLS_DEMAND;
		if (j->ca_file != NULL &&
		    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, j->ca_file)) != 0)
			goto failed;
		if ((rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &ival)) != 0)
			goto failed;
		ival = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
		ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &ival);
		ival = 0;
		if ((rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &ival)) != 0)
			goto failed;
	}
	rc = ldap_connect(ld);
	if (rc == LDAP_SUCCESS && j->starttls && !ldaps && !ldapi)
		rc = ldap_start_tls_s(ld, NULL, NULL);
failed:
	if (rc != LDAP_SUCCESS) {
		dir_ldap_ld_error(ld, rc, j->err, sizeof(j->err));
		/* libldap says little about TLS failures ("Connect error (unknown error code)"). */
		if ((ldaps && rc == LDAP_SERVER_DOWN) ||
		    ((ldaps || j->starttls) && rc == LDAP_CONNECT_ERROR)) {
			size_t n = strlen(j->err);

			snprintf(j->err + n, sizeof(j->err) - n,
			         "; TLS handshake or certificate check failed? (CA file %s)",
			         j->ca_file != NULL ? j->ca_file : "of ldap.conf");
		}
		ldap_unbind_ext(ld, NULL, NULL);
		ld = NULL;
	}
out:
	pthread_mutex_lock(&j->mu);
	j->done = true;
	j->rc = rc;
	if (j->abandoned) {
		if (ld != NULL)
			ldap_unbind_ext(ld, NULL, NULL);
	} else {
		char b = 'x';

		j->ld = ld;
		if (write(j->pipefd[1], &b, 1) < 0) {
			/* cannot happen with an empty pipe; the loop's deadline covers it */
		}
	}
	pthread_mutex_unlock(&j->mu);
	dir_ldap_conn_job_unref(j);
	return NULL;
}

static void dir_ldap_conn_job_done(evutil_socket_t fd, short what, void *arg);

static int dir_ldap_conn_job_start(struct dir_ldap_conn *c, char *why, size_t whysize)
{
	struct dir_ldap *dl = c->dl;
	struct dir_ldap_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (j == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	j->pipefd[0] = j->pipefd[1] = -1;
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		free(j);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	j->refs = 1;
	j->uri = strdup(dl->servers[c->server].uri);
	j->ca_file = dir_ldap_strdup(dl->ca_file);
	j->starttls = dl->starttls;
	j->net_ms = dl->net_ms;
	if (j->uri == NULL || (dl->ca_file != NULL && j->ca_file == NULL) || pipe(j->pipefd) < 0) {
		snprintf(why, whysize, "cannot start a connection: %s", strerror(errno));
		dir_ldap_conn_job_unref(j);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(j->pipefd[i], F_SETFD, FD_CLOEXEC);
		fcntl(j->pipefd[i], F_SETFL, fcntl(j->pipefd[i], F_GETFL) | O_NONBLOCK);
	}
	c->done_ev = event_new(dl->head.base, j->pipefd[0], EV_READ, dir_ldap_conn_job_done, c);
	if (c->done_ev == NULL) {
		snprintf(why, whysize, "cannot start a connection: out of memory");
		dir_ldap_conn_job_unref(j);
		return -1;
	}
	j->refs = 2;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, dir_ldap_conn_job_run, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		j->refs = 1;
		event_free(c->done_ev);
		c->done_ev = NULL;
		snprintf(why, whysize, "cannot start a connection thread: %s", strerror(rc));
		dir_ldap_conn_job_unref(j);
		return -1;
	}
	/* From here the connection owns the job: failures below are cleaned up by the caller
	 * (the worker's result is then thrown away). */
	c->job = j;
	if (event_add(c->done_ev, NULL) < 0) {
		snprintf(why, whysize, "cannot start a connection: cannot watch the worker");
		return -1;
	}
	return 0;
}

/* The loop gives up on a job: the worker unbinds its result, or we do if it is there. */
static void dir_ldap_conn_job_abandon(struct dir_ldap_job *j)
{
	LDAP *ld = NULL;

	pthread_mutex_lock(&j->mu);
	j->abandoned = true;
	if (j->done) {
		ld = j->ld;
		j->ld = NULL;
	}
	pthread_mutex_unlock(&j->mu);
	if (ld != NULL)
		ldap_unbind_ext(ld, NULL, NULL);
	dir_ldap_conn_job_unref(j);
}

/* --- connections ------------------------------------------------------------------------- */

static void dir_ldap_conn_timer(evutil_socket_t fd, short what, void *arg);
static void dir_ldap_conn_readable(evutil_socket_t fd, short what, void *arg);
static void dir_ldap_conn_writable(evutil_socket_t fd, short what, void *arg);

static const char *dir_ldap_conn_kind_name(enum dir_ldap_conn_kind k)
{
	switch (k) {
	case DLC_SERVICE:
		return "service";
	case DLC_PROBE:
		return "probe";
	case DLC_SYNC:
		return "sync";
	case DLC_PASSWORD:
		return "password";
	}
	return "?";
}

/* Starts a connection to a server; its worker connects, then the loop binds. NULL with why
 * set if it could not even start. */
struct dir_ldap_conn *dir_ldap_conn_new(struct dir_ldap *dl, enum dir_ldap_conn_kind kind,
                                        size_t server, char *why, size_t whysize)
{
	struct dir_ldap_conn *c = calloc(1, sizeof(*c));
	struct timeval tv = dir_ldap_tv(2 * dl->net_ms + 250);

	if (c == NULL) {
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	c->dl = dl;
	c->kind = kind;
	c->server = server;
	c->state = DLC_CONNECTING;
	c->fd = -1;
	c->bind_msgid = c->dse_msgid = -1;
	c->timer_ev = event_new(dl->head.base, -1, 0, dir_ldap_conn_timer, c);
	if (c->timer_ev == NULL || event_add(c->timer_ev, &tv) < 0) {
		snprintf(why, whysize, "out of memory");
		dir_ldap_conn_destroy(c);
		return NULL;
	}
	if (dir_ldap_conn_job_start(c, why, whysize) < 0) {
		dir_ldap_conn_destroy(c);
		return NULL;
	}
	c->next = dl->conns;
	if (dl->conns != NULL)
		dl->conns->prev = c;
	dl->conns = c;
	mbx_trace(MBX_TRACE_LDAP, "ldap: connecting to %s (%s)", dir_ldap_uri(dl, server),
	          dir_ldap_conn_kind_name(kind));
	return c;
}

static void dir_ldap_conn_destroy(struct dir_ldap_conn *c)
{
	if (c->io_ev != NULL)
		event_free(c->io_ev);
	if (c->wr_ev != NULL)
		event_free(c->wr_ev);
	if (c->done_ev != NULL)
		event_free(c->done_ev);
	if (c->timer_ev != NULL)
		event_free(c->timer_ev);
	if (c->job != NULL)
		dir_ldap_conn_job_abandon(c->job);
	if (c->ld != NULL)
		ldap_unbind_ext(c->ld, NULL, NULL);
	free(c);
}

/* Takes a connection out of service. Requests still on it must have been moved or answered
 * by the caller; any left are answered TEMPFAIL. Inside the connection's own read loop the
 * memory is released when the loop returns. */
void dir_ldap_conn_close(struct dir_ldap_conn *c)
{
	struct dir_ldap *dl = c->dl;

	if (c->closed)
		return;
	c->closed = true;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (dl->conns == c)
		dl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (dl->svc == c)
		dl->svc = NULL;
	if (dl->sync.conn == c) {
		dl->sync.conn = NULL;
		dl->sync.msgid = -1;
		dl->sync.persisting = dl->sync.refreshing = false;
	}
	if (c->server < dl->nservers && dl->servers[c->server].probe == c)
		dl->servers[c->server].probe = NULL;
	if (c->kind == DLC_PASSWORD && dl->npw > 0)
		dl->npw--;
	while (c->inflight.head != NULL)
		dir_ldap_req_done(c->inflight.head, MBX_DIR_TEMPFAIL, "connection to %s closed",
		                  dir_ldap_uri(dl, c->server));
	if (c->pwreq != NULL) {
		struct dir_ldap_req *r = c->pwreq;

		c->pwreq = NULL;
		r->conn = NULL;
		dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "connection to %s closed",
		                  dir_ldap_uri(dl, c->server));
	}
	if (c->io_ev != NULL)
		event_del(c->io_ev);
	if (c->wr_ev != NULL)
		event_del(c->wr_ev);
	if (c->timer_ev != NULL)
		event_del(c->timer_ev);
	if (!c->in_read)
		dir_ldap_conn_destroy(c);
}

static int dir_ldap_conn_bind(struct dir_ldap_conn *c, const char *dn, const char *password)
{
	struct berval cred;
	struct timeval tv = dir_ldap_tv(c->dl->net_ms + (c->kind == DLC_PASSWORD ? 1000 : 0));
	int rc;

	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind(c->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &c->bind_msgid);
	if (rc != LDAP_SUCCESS)
		return rc;
	c->state = DLC_BINDING;
	event_del(c->timer_ev);
	event_add(c->timer_ev, &tv);
	return LDAP_SUCCESS;
}

/* The worker finished: the connection is there (bind next) or it failed. */
static void dir_ldap_conn_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_conn *c = arg;
	struct dir_ldap *dl = c->dl;
	struct dir_ldap_job *j = c->job;
	Sockbuf *sb = NULL;
	char why[320];
	int rc;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&j->mu);
	c->ld = j->ld;
	j->ld = NULL;
	rc = j->rc;
	snprintf(why, sizeof(why), "%s", j->err);
	pthread_mutex_unlock(&j->mu);
	c->job = NULL;
	event_free(c->done_ev); /* before the job (and its pipe) may go */
	c->done_ev = NULL;
	dir_ldap_conn_job_unref(j);
	if (c->ld == NULL) {
		dir_ldap_conn_failed(c, why[0] != '\0' ? why : ldap_err2string(rc));
		return;
	}
	if (ldap_get_option(c->ld, LDAP_OPT_DESC, &c->fd) != LDAP_OPT_SUCCESS || c->fd < 0 ||
	    ldap_get_option(c->ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL) {
		dir_ldap_conn_failed(c, "connected, but libldap has no socket");
		return;
	}
	/* From now on nothing may block: partial messages wait in libldap's buffer. */
	ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_NONBLOCK, (void *)1);
	c->io_ev = event_new(dl->head.base, c->fd, EV_READ | EV_PERSIST, dir_ldap_conn_readable, c);
	c->wr_ev = event_new(dl->head.base, c->fd, EV_WRITE, dir_ldap_conn_writable, c);
	if (c->io_ev == NULL || c->wr_ev == NULL || event_add(c->io_ev, NULL) < 0) {
		dir_ldap_conn_failed(c, "out of memory");
		return;
	}
	c->last_rx_us = dir_ldap_now_us();
	if (c->kind == DLC_PASSWORD)
		rc = dir_ldap_conn_bind(c, c->pwreq->dn, c->pwreq->password);
	else
		rc = dir_ldap_conn_bind(c, dl->bind_dn, dl->password);
	if (rc != LDAP_SUCCESS) {
		dir_ldap_ld_error(c->ld, rc, why, sizeof(why));
		dir_ldap_conn_failed(c, why);
	}
}

/* A connection failed or died. */
void dir_ldap_conn_failed(struct dir_ldap_conn *c, const char *why)
{
	struct dir_ldap *dl = c->dl;
	struct dir_ldap_list again = {0};
	size_t server = c->server;

	if (c->closed)
		return;
	mbx_trace(MBX_TRACE_LDAP, "ldap: %s connection to %s failed: %s",
	          dir_ldap_conn_kind_name(c->kind), dir_ldap_uri(dl, c->server), why);
	switch (c->kind) {
	case DLC_SERVICE:
		dir_ldap_server_down(dl, c->server, why);
		/* Lookups in flight are sent once more, on the next server; a modify may have
		 * been applied or not, so it is not repeated. */
		while (c->inflight.head != NULL) {
			struct dir_ldap_req *r = c->inflight.head;

			if (r->kind == DLR_LOOKUP && !r->resent) {
				dir_ldap_conn_detach(r);
				dir_ldap_req_forget_answer(r); /* entries come again */
				r->resent = true;
				r->state = DLR_QUEUED;
				dir_ldap_req_list_push(&again, r, false);
			} else {
				dir_ldap_req_done(
				        r, MBX_DIR_TEMPFAIL,
				        r->kind == DLR_MODIFY
				                ? "connection to %s lost: the modification "
				                  "may or may not have been applied"
				                : "connection to %s lost",
				        dir_ldap_uri(dl, c->server));
			}
		}
		while (again.tail != NULL) {
			struct dir_ldap_req *r = again.tail;

			dir_ldap_req_list_remove(r);
			dir_ldap_req_list_push(&dl->queue, r, true);
		}
		dir_ldap_conn_close(c);
		if (dl->sync.conn != NULL && dl->sync.conn->server == server)
			dir_ldap_sync_stop(dl);
		dir_ldap_server_connect_service(dl);
		break;
	case DLC_PROBE:
		dir_ldap_conn_close(c);
		dir_ldap_server_down(dl, server, why);
		break;
	case DLC_SYNC:
		mbx_log(MBX_LOG_WARNING, "directory: content sync with %s stopped: %s",
		        dir_ldap_uri(dl, c->server), why);
		dir_ldap_conn_close(c);
		dir_ldap_sync_schedule(dl);
		break;
	case DLC_PASSWORD:
		if (c->pwreq != NULL) {
			struct dir_ldap_req *r = c->pwreq;

			c->pwreq = NULL;
			r->conn = NULL;
			dir_ldap_req_done(r, MBX_DIR_TEMPFAIL, "password check on %s: %s",
			                  dir_ldap_uri(dl, c->server), why);
		}
		dir_ldap_conn_close(c);
		dir_ldap_auth_pump(dl);
		break;
	}
}

/* Connection timer: the connect or bind deadline; then, on service connections, the
 * watchdog: a request that got nothing back for a network timeout, while the server sent
 * nothing else either, means the server is gone. */
static void dir_ldap_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_conn *c = arg;
	struct dir_ldap *dl = c->dl;
	uint64_t now = dir_ldap_now_us();
	char why[128];

	(void)fd;
	(void)what;
	if (c->state == DLC_CONNECTING) {
		snprintf(why, sizeof(why), "no connection within %u ms", 2 * dl->net_ms + 250);
		dir_ldap_conn_failed(c, why);
		return;
	}
	if (c->state == DLC_BINDING) {
		snprintf(why, sizeof(why), "no answer to the bind within %u ms", dl->net_ms);
		dir_ldap_conn_failed(c, why);
		return;
	}
	for (struct dir_ldap_req *r = c->inflight.head; r != NULL; r = r->lnext) {
		if (r->sent_us > c->last_rx_us &&
		    now - r->sent_us >= 1000u * (uint64_t)dl->net_ms) {
			snprintf(why, sizeof(why), "no answer for %llu ms",
			         (unsigned long long)(now - r->sent_us) / 1000u);
			dir_ldap_conn_failed(c, why);
			return;
		}
	}
	dir_ldap_conn_watchdog_arm(c);
}

static void dir_ldap_conn_watchdog_arm(struct dir_ldap_conn *c)
{
	unsigned ms = c->dl->net_ms / 4 > 50 ? c->dl->net_ms / 4 : 50;
	struct timeval tv = dir_ldap_tv(ms);

	if (c->state == DLC_READY && c->inflight.n > 0 && !evtimer_pending(c->timer_ev, NULL))
		evtimer_add(c->timer_ev, &tv);
}

/* The answer to a bind. */
static void dir_ldap_conn_bound(struct dir_ldap_conn *c, LDAPMessage *msg)
{
	struct dir_ldap *dl = c->dl;
	int err = LDAP_OTHER;
	char *text = NULL, why[320];

	c->bind_msgid = -1;
	if (ldap_parse_result(c->ld, msg, &err, NULL, &text, NULL, NULL, 0) != LDAP_SUCCESS)
		err = LDAP_DECODING_ERROR;
	if (text != NULL && text[0] != '\0')
		snprintf(why, sizeof(why), "bind: %s (%s)", ldap_err2string(err), text);
	else
		snprintf(why, sizeof(why), "bind: %s", ldap_err2string(err));
	ldap_memfree(text);
	if (c->kind == DLC_PASSWORD) {
		dir_ldap_auth_bound(c, err, why);
		return;
	}
	if (err != LDAP_SUCCESS) {
		if (err == LDAP_INVALID_CREDENTIALS)
			mbx_log(MBX_LOG_ERROR, "directory: %s refuses the service account %s: %s",
			        dir_ldap_uri(dl, c->server), dl->bind_dn, why);
		dir_ldap_conn_failed(c, why);
		return;
	}
	c->state = DLC_READY;
	evtimer_del(c->timer_ev);
	mbx_trace(MBX_TRACE_LDAP, "ldap: %s connection to %s ready",
	          dir_ldap_conn_kind_name(c->kind), dir_ldap_uri(dl, c->server));
	switch (c->kind) {
	case DLC_SERVICE:
		dir_ldap_server_svc_ready(c);
		break;
	case DLC_PROBE:
		dir_ldap_server_probe_ready(c);
		break;
	case DLC_SYNC:
		dir_ldap_sync_restart(dl);
		break;
	case DLC_PASSWORD:
		break;
	}
}

/* --- reading ----------------------------------------------------------------------------- */

static void dir_ldap_conn_message(struct dir_ldap_conn *c, LDAPMessage *msg)
{
	struct dir_ldap *dl = c->dl;
	int msgid = ldap_msgid(msg), type = ldap_msgtype(msg);
	struct dir_ldap_req *r;

	if (msgid == c->bind_msgid) {
		dir_ldap_conn_bound(c, msg);
		return;
	}
	if (msgid == c->dse_msgid && msgid >= 0) {
		if (type == LDAP_RES_SEARCH_ENTRY)
			dir_ldap_sync_dse_entry(dl, c->ld, msg);
		else if (type == LDAP_RES_SEARCH_RESULT)
			dir_ldap_sync_dse_done(c);
		return;
	}
	if (c->kind == DLC_SYNC && dl->sync.conn == c && msgid == dl->sync.msgid && msgid >= 0) {
		if (type == LDAP_RES_SEARCH_ENTRY)
			dir_ldap_sync_entry(dl, c->ld, msg);
		else if (type == LDAP_RES_INTERMEDIATE)
			dir_ldap_sync_info(dl, c->ld, msg);
		else if (type == LDAP_RES_SEARCH_RESULT)
			dir_ldap_sync_result(dl, c, msg);
		return;
	}
	r = dir_ldap_conn_find(c, msgid);
	if (r == NULL)
		return; /* an abandoned request's late answer */
	switch (type) {
	case LDAP_RES_SEARCH_ENTRY:
		dir_ldap_req_entry(r, c, msg);
		break;
	case LDAP_RES_SEARCH_RESULT:
	case LDAP_RES_MODIFY:
		dir_ldap_req_result(r, c, msg);
		break;
	default:
		break; /* references (we do not chase referrals), intermediates */
	}
}

/* Drains the connection: every complete message libldap can read now. */
static void dir_ldap_conn_drain(struct dir_ldap_conn *c)
{
	struct timeval zero = {0, 0};

	c->in_read = true;
	while (!c->closed) {
		LDAPMessage *msg = NULL;
		int rc = ldap_result(c->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);

		if (rc == 0)
			break;
		if (rc < 0) {
			int err = LDAP_SERVER_DOWN;
			char why[320];

			ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
			dir_ldap_ld_error(c->ld, err, why, sizeof(why));
			dir_ldap_conn_failed(c, why);
			break;
		}
		c->last_rx_us = dir_ldap_now_us();
		dir_ldap_conn_message(c, msg);
		ldap_msgfree(msg);
	}
	c->in_read = false;
	if (c->closed) {
		dir_ldap_conn_destroy(c);
		return;
	}
	if (c->kind == DLC_SERVICE || c->draining)
		dir_ldap_req_queue_pump(c->dl);
}

static void dir_ldap_conn_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_ldap_conn_drain(arg);
}

/* libldap held a partial write: ldap_result sends the rest, then the queue goes on. */
static void dir_ldap_conn_writable(evutil_socket_t fd, short what, void *arg)
{
	struct dir_ldap_conn *c = arg;

	(void)fd;
	(void)what;
	c->write_blocked = false;
	dir_ldap_conn_drain(c);
}
