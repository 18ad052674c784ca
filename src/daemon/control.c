/*
 * control.c: the daemon's side of the local control socket (include/mbx/control.h; mbxctl(8)
 * "CONTROL SOCKET"): an AF_UNIX stream listener on the event loop, one request line per
 * connection (parsed by control-proto.c), the peer check with SO_PEERCRED, and the answer
 * "OK\n" + body or "ERR n message\n" (+ a JSON error body), written before the connection is
 * closed. The commands are not here: a well-formed request from a permitted peer goes to the
 * handler of the configuration (the daemon glues it to src/admin/).
 *
 * A connection's life: accepted (at most MBX_CONTROL_MAX_CLIENTS at once, others get "ERR 1
 * busy" at once) -> reading its line (MBX_CONTROL_TIMEOUT_MS) -> pending (the handler has the
 * reply; no read timeout, a move may wait for the directory) -> answered (flushing, then
 * closed). A reply is its own object: when the connection dies first (client error, write
 * error, mbx_control_free), the reply is only unhooked, and answering it later frees it and
 * drops the answer. A client that half-closes after its request still gets its answer.
 *
 * The daemon ignores SIGPIPE (daemon.c): a client that left makes the write fail with EPIPE,
 * which ends that connection only.
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "mbx/control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "mbx/errbuf.h"
#include "mbx/json.h"
#include "mbx/log.h"

#define CTL_BACKLOG 16
#define CTL_WRITE_TIMEOUT_MS 30000    /* a client that does not read its answer */
#define CTL_NSS_BUF_MAX (1024 * 1024) /* getgrgid_r / getpwuid_r buffer growth limit */

struct ctl_conn {
	struct mbx_control *c;
	struct ctl_conn *prev, *next;
	struct bufferevent *bev;
	struct mbx_control_reply *reply; /* pending: the handler has it */
	uid_t uid;
	gid_t gid;
	bool denied;   /* the peer check failed: every request gets ERR 5 */
	bool answered; /* the answer is written; closed once flushed */
};

struct mbx_control_reply {
	struct ctl_conn *conn; /* NULL: the connection is gone, the answer is dropped */
	uid_t uid;
	struct mbx_control_request req; /* valid until answered */
};

struct mbx_control {
	struct event_base *base;
	struct evconnlistener *lev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we made, removed at free only if it is still ours */
	ino_t ino;
	uid_t allowed_uid;
	gid_t sock_gid;
	mbx_control_handler *handler;
	void *ctx;
	struct ctl_conn *conns;
	size_t nconns;
};

/* --- who may talk to us ---------------------------------------------------------------------- */

/* One NSS lookup (getgrgid_r, getpwuid_r, getgrnam_r) into ent with the caller's buffer:
 * returns the lookup's error number, *found_r whether there is such an entry. */
typedef int ctl_nss_fn(const void *key, void *ent, char *buf, size_t size, bool *found_r);

static int ctl_nss_grgid(const void *key, void *ent, char *buf, size_t size, bool *found_r)
{
	struct group *res = NULL;
	int rc = getgrgid_r(*(const gid_t *)key, ent, buf, size, &res);

	*found_r = res != NULL;
	return rc;
}

static int ctl_nss_grnam(const void *key, void *ent, char *buf, size_t size, bool *found_r)
{
	struct group *res = NULL;
	int rc = getgrnam_r(key, ent, buf, size, &res);

	*found_r = res != NULL;
	return rc;
}

static int ctl_nss_pwuid(const void *key, void *ent, char *buf, size_t size, bool *found_r)
{
	struct passwd *res = NULL;
	int rc = getpwuid_r(*(const uid_t *)key, ent, buf, size, &res);

	*found_r = res != NULL;
	return rc;
}

/* Runs fn with a buffer grown on ERANGE (up to CTL_NSS_BUF_MAX). Returns the buffer that ent
 * points into (free it) with *found_r set, or NULL with the error number in *rc_r. */
static char *ctl_nss(ctl_nss_fn *fn, const void *key, void *ent, bool *found_r, int *rc_r)
{
	for (size_t size = 1024;; size *= 2) {
		char *buf = malloc(size);
		int rc;

		if (buf == NULL) {
			*rc_r = ENOMEM;
			return NULL;
		}
		rc = fn(key, ent, buf, size, found_r);
		if (rc == 0)
			return buf;
		free(buf);
		if (rc != ERANGE || size >= CTL_NSS_BUF_MAX) {
			*rc_r = rc;
			return NULL;
		}
	}
}

bool mbx_control_peer_allowed(uid_t uid, gid_t gid, uid_t allowed_uid, gid_t sock_gid)
{
	struct group gr;
	struct passwd pw;
	char *grbuf, *pwbuf;
	bool found = false, member = false;
	int rc;

	if (uid == 0)
		return true;
	if (allowed_uid != (uid_t)-1 && uid == allowed_uid)
		return true;
	if (sock_gid == (gid_t)-1)
		return false;
	if (gid == sock_gid)
		return true;
	grbuf = ctl_nss(ctl_nss_grgid, &sock_gid, &gr, &found, &rc);
	if (grbuf == NULL || !found || gr.gr_mem == NULL || gr.gr_mem[0] == NULL) {
		free(grbuf);
		return false;
	}
	pwbuf = ctl_nss(ctl_nss_pwuid, &uid, &pw, &found, &rc);
	if (pwbuf != NULL && found && pw.pw_name != NULL)
		for (char **m = gr.gr_mem; *m != NULL && !member; m++)
			member = strcmp(*m, pw.pw_name) == 0;
	free(pwbuf);
	free(grbuf);
	return member;
}

/* --- connections ----------------------------------------------------------------------------- */

static void ctl_conn_free(struct ctl_conn *k)
{
	struct mbx_control *c = k->c;

	if (k->reply != NULL) {
		k->reply->conn = NULL; /* the handler still holds it; its answer is dropped */
		k->reply = NULL;
	}
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	c->nconns--;
	bufferevent_free(k->bev);
	free(k);
}

/* Writes the answer; the connection closes once it is flushed (ctl_write_cb). */
static void ctl_send(struct ctl_conn *k, const char *status, size_t slen, const char *body,
                     size_t blen)
{
	struct timeval wtv = {CTL_WRITE_TIMEOUT_MS / 1000, (CTL_WRITE_TIMEOUT_MS % 1000) * 1000};

	k->answered = true;
	bufferevent_set_timeouts(k->bev, NULL, &wtv);
	if (bufferevent_write(k->bev, status, slen) != 0 ||
	    (blen > 0 && bufferevent_write(k->bev, body, blen) != 0)) {
		mbx_log(MBX_LOG_ERROR, "control: uid %u: out of memory writing the answer",
		        (unsigned)k->uid);
		ctl_conn_free(k); /* callers do not touch k after ctl_send */
		return;
	}
	/* bytes the client sent after its line are read and dropped until the close */
	bufferevent_enable(k->bev, EV_WRITE);
}

/* "ERR exit message\n" (message made one printable line) and, for json, the error body. */
static void ctl_send_error(struct ctl_conn *k, bool json, int exit, const char *message)
{
	char status[MBX_CONTROL_MSG_MAX + 32];
	char msg[MBX_CONTROL_MSG_MAX + 1];
	size_t mlen = strlen(message), n;
	int slen;

	if (mlen > MBX_CONTROL_MSG_MAX)
		mlen = MBX_CONTROL_MSG_MAX;
	for (size_t i = 0; i < mlen; i++) {
		unsigned char b = (unsigned char)message[i];

		msg[i] = (b < 0x20 || b == 0x7F) ? '?' : (char)b;
	}
	msg[mlen] = '\0';
	if (exit < 1 || exit > 125) {
		mbx_log(MBX_LOG_ERROR, "control: bug: exit status %d answered as 1", exit);
		exit = 1;
	}
	slen = snprintf(status, sizeof(status), "ERR %d %s\n", exit, msg);
	n = slen > 0 ? (size_t)slen : 0;
	if (json) {
		struct mbx_json j;
		const char *text;
		size_t tlen = 0;

		mbx_json_init_buf(&j, 0);
		mbx_json_obj_begin(&j);
		mbx_json_kv_str(&j, "error", msg);
		mbx_json_kv_int(&j, "status", exit);
		mbx_json_obj_end(&j);
		text = mbx_json_finish(&j, NULL) == 0 ? mbx_json_text(&j, &tlen) : NULL;
		ctl_send(k, status, n, text, text != NULL ? tlen : 0);
		mbx_json_deinit(&j);
		return;
	}
	ctl_send(k, status, n, NULL, 0);
}

static void ctl_log_command(const struct ctl_conn *k, const struct mbx_control_request *req)
{
	char a0[80], a1[80];

	mbx_log_escape(req->argv[0], strlen(req->argv[0]), a0, sizeof(a0));
	if (req->argc > 1) {
		mbx_log_escape(req->argv[1], strlen(req->argv[1]), a1, sizeof(a1));
		mbx_log(MBX_LOG_INFO, "control: uid %u runs \"%s\" \"%s\"%s", (unsigned)k->uid, a0,
		        a1, req->argc > 2 ? " ..." : "");
	} else {
		mbx_log(MBX_LOG_INFO, "control: uid %u runs \"%s\"", (unsigned)k->uid, a0);
	}
}

/* A complete line (or the first MBX_CONTROL_REQ_MAX bytes without LF, or what came before an
 * EOF), in the connection's input buffer: parse it, refuse it or hand it to the handler. The
 * input is drained. k may be freed when this returns (an answer that could not be written, or
 * a handler that answered at once): callers do not touch it after. */
static void ctl_request(struct ctl_conn *k, const char *line, size_t len)
{
	struct mbx_control *c = k->c;
	struct evbuffer *in = bufferevent_get_input(k->bev);
	struct mbx_control_reply *r = calloc(1, sizeof(*r));
	char err[160];
	int rc;

	if (r == NULL) {
		evbuffer_drain(in, evbuffer_get_length(in));
		mbx_log(MBX_LOG_ERROR, "control: uid %u: out of memory", (unsigned)k->uid);
		ctl_send_error(k, false, MBX_CTL_FAILED, "out of memory");
		return;
	}
	rc = mbx_control_request_parse(line, len, &r->req, err, sizeof(err));
	/* the line is copied (or refused): drop it and whatever came after it */
	evbuffer_drain(in, evbuffer_get_length(in));
	if (rc != 0) {
		if (k->denied) {
			ctl_send_error(k, false, MBX_CTL_DENIED, "permission denied");
		} else {
			mbx_log(MBX_LOG_WARNING, "control: uid %u: bad request: %s",
			        (unsigned)k->uid, err);
			ctl_send_error(k, false, MBX_CTL_USAGE, err);
		}
		free(r);
		return;
	}
	if (k->denied) {
		ctl_send_error(k, r->req.json, MBX_CTL_DENIED, "permission denied");
		free(r);
		return;
	}
	ctl_log_command(k, &r->req);
	r->conn = k;
	r->uid = k->uid;
	k->reply = r;
	/* pending: no read timeout any more (a move waits for the directory) */
	bufferevent_set_timeouts(k->bev, NULL, NULL);
	c->handler(c->ctx, &r->req, k->uid, r); /* may answer at once: k may be answered now */
}

static void ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t avail = evbuffer_get_length(in), n;
	struct evbuffer_ptr lf;
	unsigned char *line;

	if (k->reply != NULL || k->answered) { /* bytes after the line are ignored */
		evbuffer_drain(in, avail);
		return;
	}
	lf = evbuffer_search(in, "\n", 1, NULL);
	if (lf.pos < 0 && avail < MBX_CONTROL_REQ_MAX)
		return; /* wait for the rest of the line */
	n = lf.pos >= 0 ? (size_t)lf.pos + 1 : avail;
	if (n > MBX_CONTROL_REQ_MAX)
		n = MBX_CONTROL_REQ_MAX; /* the parser says "no LF within ..." */
	line = evbuffer_pullup(in, (ev_ssize_t)n);
	if (line == NULL) {
		ctl_conn_free(k);
		return;
	}
	ctl_request(k, (const char *)line, n); /* k may be freed now */
}

static void ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *k = arg;

	if (k->answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_conn_free(k);
}

static void ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (what & BEV_EVENT_ERROR) {
		if (!k->answered || k->reply != NULL)
			mbx_log(MBX_LOG_INFO, "control: uid %u: connection error: %s",
			        (unsigned)k->uid, strerror(errno));
		ctl_conn_free(k);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && !k->answered && k->reply == NULL) {
			mbx_log(MBX_LOG_INFO, "control: uid %u: request timed out",
			        (unsigned)k->uid);
			if (k->denied)
				ctl_send_error(k, false, MBX_CTL_DENIED, "permission denied");
			else
				ctl_send_error(k, false, MBX_CTL_USAGE, "request timed out");
			return;
		}
		mbx_log(MBX_LOG_INFO, "control: uid %u: answer not read in time, closed",
		        (unsigned)k->uid);
		ctl_conn_free(k);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		size_t avail = evbuffer_get_length(in);

		if (k->answered || k->reply != NULL)
			return; /* half-closed after its request: the answer still goes out */
		if (avail == 0) {
			ctl_conn_free(k); /* nothing sent (a probe of a starting daemon) */
			return;
		}
		{
			unsigned char *line = evbuffer_pullup(in, -1);

			if (line == NULL) {
				ctl_conn_free(k);
				return;
			}
			ctl_request(k, (const char *)line, avail);
		}
	}
}

/* --- the listener ---------------------------------------------------------------------------- */

static void ctl_refuse_busy(struct mbx_control *c, evutil_socket_t fd)
{
	static const char busy[] = "ERR 1 busy\n";
	ssize_t w;

	mbx_log(MBX_LOG_WARNING, "control: %zu connections open, one more refused (busy)",
	        c->nconns);
	w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* best effort: the client sees the close either way */
	close(fd);
}

static void ctl_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
	struct mbx_control *c = arg;
	struct timeval rtv = {MBX_CONTROL_TIMEOUT_MS / 1000,
	                      (MBX_CONTROL_TIMEOUT_MS % 1000) * 1000};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_conn *k;

	(void)lev;
	(void)sa;
	(void)salen;
	if (c->nconns >= MBX_CONTROL_MAX_CLIENTS) {
		ctl_refuse_busy(c, fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || clen != sizeof(cred)) {
		mbx_log(MBX_LOG_ERROR, "control: SO_PEERCRED: %s: connection closed",
		        strerror(errno));
		close(fd);
		return;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL ||
	    (k->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		mbx_log(MBX_LOG_ERROR, "control: out of memory: connection closed");
		free(k);
		close(fd);
		return;
	}
	k->c = c;
	k->uid = cred.uid;
	k->gid = cred.gid;
	k->denied = !mbx_control_peer_allowed(cred.uid, cred.gid, c->allowed_uid, c->sock_gid);
	if (k->denied)
		mbx_log(MBX_LOG_WARNING,
		        "control: refused uid %u gid %u pid %ld: permission denied (not root, "
		        "the daemon's user or in the socket's group)",
		        (unsigned)cred.uid, (unsigned)cred.gid, (long)cred.pid);
	k->next = c->conns;
	if (c->conns != NULL)
		c->conns->prev = k;
	c->conns = k;
	c->nconns++;
	bufferevent_setcb(k->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, k);
	bufferevent_setwatermark(k->bev, EV_READ, 0, MBX_CONTROL_REQ_MAX);
	bufferevent_set_timeouts(k->bev, &rtv, NULL);
	bufferevent_enable(k->bev, EV_READ);
}

static void ctl_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	mbx_log(MBX_LOG_ERROR, "control: accept: %s", strerror(errno));
}

/* What is at path: nothing (0), a stale socket that was removed (0), or an error (-1). */
static int ctl_clear_path(const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		mbx_errbuf_set(err, errsize, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		mbx_errbuf_set(err, errsize, "control socket %s: exists and is not a socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		mbx_errbuf_set(err, errsize, "control socket: socket(): %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		mbx_errbuf_set(
		        err, errsize,
		        "control socket %s: another daemon is listening on it (stop it first)",
		        path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		mbx_errbuf_set(err, errsize,
		               "control socket %s: cannot tell whether it is in use: %s", path,
		               strerror(e));
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		mbx_errbuf_set(err, errsize,
		               "control socket %s: cannot remove the stale socket: %s", path,
		               strerror(errno));
		return -1;
	}
	mbx_log(MBX_LOG_NOTICE, "control: removed the stale socket %s", path);
	return 0;
}

static int ctl_group(const char *name, gid_t *gid_r, char *err, size_t errsize)
{
	struct group gr;
	bool found = false;
	int rc = 0;
	char *buf = ctl_nss(ctl_nss_grnam, name, &gr, &found, &rc);

	if (buf == NULL || !found) {
		mbx_errbuf_set(err, errsize, "control_socket_group %s: %s", name,
		               buf == NULL ? strerror(rc) : "no such group");
		free(buf);
		return -1;
	}
	*gid_r = gr.gr_gid;
	free(buf);
	return 0;
}

struct mbx_control *mbx_control_new(const struct mbx_control_config *cfg, char *err, size_t errsize)
{
	struct mbx_control *c;
	struct sockaddr_un sun;
	struct stat st;
	gid_t gid = cfg->owner_gid;
	size_t plen;
	int fd;

	if (cfg->base == NULL || cfg->path == NULL || cfg->handler == NULL) {
		mbx_errbuf_set(err, errsize, "control socket: incomplete configuration");
		return NULL;
	}
	plen = strlen(cfg->path);
	if (plen == 0 || plen >= sizeof(sun.sun_path)) {
		mbx_errbuf_set(err, errsize, "control socket %s: the path must be 1..%zu bytes",
		               cfg->path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (cfg->group != NULL && ctl_group(cfg->group, &gid, err, errsize) != 0)
		return NULL;
	if (ctl_clear_path(cfg->path, err, errsize) != 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		mbx_errbuf_set(err, errsize, "out of memory");
		return NULL;
	}
	c->base = cfg->base;
	memcpy(c->path, cfg->path, plen + 1);
	c->allowed_uid = cfg->allowed_uid;
	c->handler = cfg->handler;
	c->ctx = cfg->ctx;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, cfg->path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		mbx_errbuf_set(err, errsize, "control socket: socket(): %s", strerror(errno));
		free(c);
		return NULL;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		mbx_errbuf_set(err, errsize, "control socket %s: bind: %s", cfg->path,
		               strerror(errno));
		goto fail_close;
	}
	/* mode and owner before listen(): nobody can connect in between */
	if (chmod(cfg->path, cfg->mode & 07777) != 0) {
		mbx_errbuf_set(err, errsize, "control socket %s: chmod %04o: %s", cfg->path,
		               cfg->mode, strerror(errno));
		goto fail_unlink;
	}
	if ((cfg->owner_uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(cfg->path, cfg->owner_uid, gid) != 0) {
		mbx_errbuf_set(err, errsize, "control socket %s: chown %ld:%ld: %s", cfg->path,
		               cfg->owner_uid == (uid_t)-1 ? -1L : (long)cfg->owner_uid,
		               gid == (gid_t)-1 ? -1L : (long)gid, strerror(errno));
		goto fail_unlink;
	}
	if (lstat(cfg->path, &st) != 0) {
		mbx_errbuf_set(err, errsize, "control socket %s: %s", cfg->path, strerror(errno));
		goto fail_unlink;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->sock_gid = st.st_gid;
	if (listen(fd, CTL_BACKLOG) != 0) {
		mbx_errbuf_set(err, errsize, "control socket %s: listen: %s", cfg->path,
		               strerror(errno));
		goto fail_unlink;
	}
	c->lev = evconnlistener_new(c->base, ctl_accept_cb, c,
	                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (c->lev == NULL) {
		mbx_errbuf_set(err, errsize, "control socket %s: cannot watch it on the event loop",
		               cfg->path);
		goto fail_unlink;
	}
	evconnlistener_set_error_cb(c->lev, ctl_accept_error_cb);
	mbx_log(MBX_LOG_INFO, "control: listening on %s (mode %04o, gid %ld)", c->path,
	        (unsigned)(st.st_mode & 07777), (long)st.st_gid);
	return c;

fail_unlink:
	unlink(cfg->path);
fail_close:
	close(fd);
	free(c);
	return NULL;
}

void mbx_control_reply_ok(struct mbx_control_reply *reply, const char *body, size_t len)
{
	struct ctl_conn *k;

	if (reply == NULL)
		return;
	k = reply->conn;
	if (k != NULL) {
		k->reply = NULL;
		ctl_send(k, "OK\n", 3, body, body != NULL ? len : 0);
	}
	free(reply);
}

void mbx_control_reply_error(struct mbx_control_reply *reply, int exit, const char *fmt, ...)
{
	char msg[MBX_CONTROL_MSG_MAX + 1];
	struct ctl_conn *k;
	va_list ap;

	if (reply == NULL)
		return;
	k = reply->conn;
	if (k != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		k->reply = NULL;
		ctl_send_error(k, reply->req.json, exit, msg);
	}
	free(reply);
}

bool mbx_control_reply_json(const struct mbx_control_reply *reply)
{
	return reply != NULL && reply->req.json;
}

size_t mbx_control_clients(const struct mbx_control *c)
{
	return c != NULL ? c->nconns : 0;
}

void mbx_control_free(struct mbx_control **cp)
{
	struct mbx_control *c;
	struct stat st;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	while (c->conns != NULL)
		ctl_conn_free(c->conns);
	if (c->lev != NULL)
		evconnlistener_free(c->lev);
	/* remove the file only if it is still the socket we made */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c);
}
