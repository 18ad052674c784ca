/*
 * daemon.c: mbxstored's service behaviour (include/mbx/daemon.h; the contract is mbxstored(8)):
 * the start-up order, the long-lived objects and who owns them, daemonizing, the pid file, the
 * privilege drop, systemd readiness, the reload on SIGHUP and the drain on SIGTERM/SIGINT.
 * Design: design.md "Programs" and "One request, end to end"; conventions.md "The event loop is
 * sacred" (signals arrive through libevent, nothing is done in a signal handler) and
 * "Configuration" (-n, file:line errors).
 *
 * Ownership: struct daemon owns the configuration and every object; the objects borrow from it
 * (the server identity and the directory's attribute map point into the configuration, which is
 * therefore never replaced: a reload copies the keys that may change at run time into it).
 */
#include "mbx/daemon.h"
#include "daemon/daemon-int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "mbx/autodiscover.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/mailbox.h"
#include "mbx/metrics.h"
#include "mbx/principal.h"

#ifndef MBX_VERSION
#define MBX_VERSION "dev"
#endif

#define DAEMON_ERR_MAX 8192 /* a configuration's error list, a start-up failure */
#define DAEMON_DRAIN_TICK_MS 50


/* --- small helpers -------------------------------------------------------------------------- */

static uint64_t daemon_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to the socket
 * named by NOTIFY_SOCKET, if any. */
static void daemon_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

/* Prints a multi-line error list (the configuration's) on f, line by line. */
static void daemon_print_lines(FILE *f, const char *text)
{
	fputs(text, f);
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
}

/* A start-up failure: logged, and sent to the waiting parent, which prints it on stderr. */
void daemon_fail(struct daemon *d, const char *fmt, ...)
{
	char msg[DAEMON_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mbx_log(MBX_LOG_ERROR, "start-up failed: %s", msg);
	if (d->ready_fd >= 0) {
		char status = '1';

		(void)!write(d->ready_fd, &status, 1);
		(void)!write(d->ready_fd, msg, strlen(msg));
		close(d->ready_fd);
		d->ready_fd = -1;
	}
}

/* --- -n ------------------------------------------------------------------------------------- */

int mbx_daemon_check(const char *config_path, bool verbose, FILE *out, FILE *errf)
{
	struct mbx_config cfg;
	char *err = malloc(DAEMON_ERR_MAX);
	int status = 0;

	if (err == NULL) {
		fprintf(errf, "mbxstored: out of memory\n");
		return 1;
	}
	if (config_path == NULL)
		config_path = MBX_CONFIG_DEFAULT_PATH;
	if (mbx_config_load(config_path, &cfg, err, DAEMON_ERR_MAX) != 0) {
		daemon_print_lines(errf, err);
		free(err);
		return 1;
	}
	if (verbose) {
		if (mbx_config_write(out, &cfg) != 0 || fflush(out) != 0) {
			fprintf(errf, "mbxstored: cannot write the configuration: %s\n",
				strerror(errno));
			status = 1;
		}
	} else {
		fprintf(out, "%s: configuration OK\n", config_path);
	}
	mbx_config_free(&cfg);
	free(err);
	return status;
}

/* --- start-up pieces -------------------------------------------------------------------------- */

static int daemon_load_config(struct daemon *d, const char *path)
{
	char *err = malloc(DAEMON_ERR_MAX);
	char *abs = NULL;

	/* A reload reads the file again after the daemon has changed to /. */
	if (path[0] != '/') {
		abs = realpath(path, NULL);
		if (abs != NULL)
			path = abs;
	}
	if (err == NULL) {
		fprintf(stderr, "mbxstored: out of memory\n");
		free(abs);
		return -1;
	}
	if (mbx_config_load(path, &d->cfg, err, DAEMON_ERR_MAX) != 0) {
		daemon_print_lines(stderr, err);
		free(err);
		free(abs);
		return -1;
	}
	free(err);
	free(abs);
	d->cfg_loaded = true;
	return 0;
}

static int daemon_resolve_user(struct daemon *d)
{
	const struct passwd *pw;

	if (d->cfg.server.user == NULL)
		return 0;
	errno = 0;
	pw = getpwnam(d->cfg.server.user);
	if (pw == NULL) {
		fprintf(stderr, "mbxstored: %s: [server] user %s: %s\n", d->cfg.file,
			d->cfg.server.user, errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	d->switch_user = true;
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	return 0;
}

/*
 * fork, setsid, fork again (the daemon is no session leader, so it never gets a controlling
 * terminal), chdir /, stdin and stdout (and stderr unless logs go there) to /dev/null. The
 * original process waits on a pipe until the daemon has started or failed, and exits with
 * that status, so that `mbxstored && echo started` tells the truth. Returns 0 in the daemon.
 */
static int daemon_detach(struct daemon *d)
{
	int p[2], nul;
	pid_t pid;

	if (pipe(p) != 0 || fcntl(p[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "mbxstored: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "mbxstored: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		char buf[DAEMON_ERR_MAX];
		size_t n = 0;
		ssize_t k;

		close(p[1]);
		while (n < sizeof(buf) - 1 &&
		       ((k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
			(k < 0 && errno == EINTR)))
			if (k > 0)
				n += (size_t)k;
		buf[n] = '\0';
		if (n > 0 && buf[0] == '0')
			_exit(0);
		if (n > 1)
			fprintf(stderr, "mbxstored: %s\n", buf + 1);
		else
			fprintf(stderr, "mbxstored: the daemon exited during start-up (see the log)\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0); /* the parent keeps waiting on the pipe, which the daemon holds */
	d->ready_fd = p[1];
	if (chdir("/") != 0)
		_exit(1);
	umask(022);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (d->cfg.log.target != MBX_CONFIG_LOG_STDERR)
			dup2(nul, STDERR_FILENO);
		if (nul > STDERR_FILENO)
			close(nul);
	}
	return 0;
}

static void daemon_collect(void *ctx, struct mbx_metrics_gauges *g)
{
	struct daemon *d = ctx;
	struct mbx_mailbox_table_stats st;

	if (d->fe != NULL)
		g->sessions = mbx_frontend_sessions(d->fe);
	if (d->listen != NULL)
		g->connections = mbx_listen_connections(d->listen);
	if (d->table != NULL) {
		mbx_mailbox_table_stats(d->table, &st);
		g->directory_lookups = st.lookups;
		g->directory_tempfail = st.tempfail;
		g->cache_hits = st.hits + st.negative_hits;
		g->cache_misses = st.misses;
		g->cache_stale_served = st.stale_served;
	}
}

/* The directory, the mailbox table, the principal resolver, the logon pipeline, the metrics. */
static int daemon_store(struct daemon *d)
{
	struct mbx_dir_config dc;
	struct mbx_mailbox_table_config tc;
	struct mbx_principal_config pc;
	struct mbx_logon_pipeline_config lc;
	char err[1024];

	mbx_config_dir_config(&d->cfg, &dc);
	d->dir = mbx_dir_new(d->base, &dc, err, sizeof(err));
	if (d->dir == NULL) {
		daemon_fail(d, "directory (%s backend): %s", dc.backend, err);
		return -1;
	}
	mbx_config_table_config(&d->cfg, &tc);
	mbx_dir_defer_init(&tc.defer, d->base);
	daemon_watch_transit(d); /* before the table, which chains it */
	d->table = mbx_mailbox_table_new(d->dir, &tc);

	memset(&pc, 0, sizeof(pc));
	pc.group_depth = d->cfg.directory.group_depth;
	mbx_dir_defer_init(&pc.defer, d->base);
	d->resolver = mbx_principal_resolver_new(d->dir, &pc);

	mbx_config_server_identity(&d->cfg, &d->id);
	memset(&lc, 0, sizeof(lc));
	lc.table = d->table;
	lc.resolver = d->resolver;
	lc.id = &d->id;
	/* ecServerPaused: MS-OXCSTOR 3.2.5.1.3, more than five logons in 10 s at a mailbox not
	 * hosted here. */
	d->limiter = malloc(sizeof(*d->limiter));
	if (d->limiter != NULL)
		mbx_logon_limiter_init(d->limiter);
	lc.limiter = d->limiter;
	mbx_dir_defer_init(&lc.defer, d->base);
	d->pipeline = d->table != NULL && d->resolver != NULL ? mbx_logon_pipeline_new(&lc) : NULL;

	d->metrics = mbx_metrics_new();
	if (d->table == NULL || d->resolver == NULL || d->pipeline == NULL || d->metrics == NULL ||
	    d->limiter == NULL) {
		daemon_fail(d, "out of memory");
		return -1;
	}
	mbx_metrics_set_collector(d->metrics, daemon_collect, d);
	return 0;
}

static int daemon_frontend(struct daemon *d)
{
	struct mbx_autodiscover_deps ad = {.table = d->table, .id = &d->id, .cfg = &d->cfg};
	struct mbx_frontend_deps deps = {
		.base = d->base,
		.cfg = &d->cfg,
		.dir = d->dir,
		.table = d->table,
		.resolver = d->resolver,
		.pipeline = d->pipeline,
		.id = &d->id,
		.metrics = d->metrics,
	};
	char err[1024];

	mbx_dir_defer_init(&ad.defer, d->base);
	d->ad = mbx_autodiscover_new(&ad, err, sizeof(err));
	if (d->ad == NULL) {
		daemon_fail(d, "Autodiscover: %s", err);
		return -1;
	}
	deps.autodiscover = d->ad;
	d->fe = mbx_frontend_new(&deps, err, sizeof(err));
	if (d->fe == NULL) {
		daemon_fail(d, "front end: %s", err);
		return -1;
	}
	return 0;
}

static int daemon_listen(struct daemon *d)
{
	struct mbx_listen_config lc = {
		.base = d->base,
		.cfg = &d->cfg,
		.tls = d->tls,
		.metrics = d->metrics,
	};
	char err[1024];

	d->listen = mbx_listen_new(&lc, err, sizeof(err));
	if (d->listen == NULL) {
		daemon_fail(d, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < mbx_listen_count(d->listen); i++) {
		bool tls;
		struct evhttp *http = mbx_listen_http(d->listen, i, &tls);

		if (mbx_frontend_attach(d->fe, http, tls) != 0) {
			daemon_fail(d, "front end: cannot attach to a listener");
			return -1;
		}
	}
	return 0;
}

static int daemon_write_pid(struct daemon *d)
{
	const char *path = d->cfg.server.pid_file;
	char buf[32];
	int fd, n;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		daemon_fail(d, "pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0) {
		daemon_fail(d, "pid_file %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	d->pid_file = strdup(path);
	if (d->pid_file == NULL) {
		unlink(path);
		daemon_fail(d, "out of memory");
		return -1;
	}
	return 0;
}

/* setgroups (the user's groups), setgid, setuid; then make sure root cannot come back. */
static int daemon_drop_privileges(struct daemon *d)
{
	if (!d->switch_user)
		return 0;
	if (geteuid() != 0) {
		if (geteuid() != d->uid)
			mbx_log(MBX_LOG_WARNING,
				"not started as root: cannot switch to user %s, running as uid %ld",
				d->cfg.server.user, (long)geteuid());
		return 0;
	}
	if (initgroups(d->cfg.server.user, d->gid) != 0 || setgid(d->gid) != 0 ||
	    setuid(d->uid) != 0) {
		daemon_fail(d, "cannot switch to user %s: %s; refusing to run as root",
			    d->cfg.server.user, strerror(errno));
		return -1;
	}
	if (d->uid != 0 && (getuid() == 0 || geteuid() == 0 || setuid(0) == 0)) {
		daemon_fail(d, "still root after switching to user %s; refusing to run",
			    d->cfg.server.user);
		return -1;
	}
	mbx_log(MBX_LOG_INFO, "running as user %s (uid %ld, gid %ld)", d->cfg.server.user,
		(long)d->uid, (long)d->gid);
	return 0;
}

/* --- reload (SIGHUP) ------------------------------------------------------------------------- */

/* Keys applied at run time; every other key needs a restart. */
static bool daemon_key_reloadable(const struct mbx_config_key *k)
{
	static const char *const listen_keys[] = {"tls_cert", "tls_key", "tls_ciphers",
						  "tls_min_version"};

	if (strcmp(k->section, "limits") == 0)
		return true;
	if (strcmp(k->section, "log") == 0)
		return strcmp(k->name, "level") == 0 || strcmp(k->name, "trace") == 0;
	if (strcmp(k->section, "listen") == 0)
		for (size_t i = 0; i < sizeof(listen_keys) / sizeof(listen_keys[0]); i++)
			if (strcmp(k->name, listen_keys[i]) == 0)
				return true;
	return false;
}

static bool daemon_str_equal(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool daemon_addr_equal(const struct mbx_config_addr *a, const struct mbx_config_addr *b)
{
	if (a->set != b->set)
		return false;
	return !a->set || (a->family == b->family && a->port == b->port &&
			   strcmp(a->host, b->host) == 0);
}

/* Whether key k has the same value in the structures a and b. */
static bool daemon_key_equal(const struct mbx_config_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;

	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH: {
		const char *sa, *sb;

		memcpy(&sa, pa, sizeof(sa));
		memcpy(&sb, pb, sizeof(sb));
		return daemon_str_equal(sa, sb);
	}
	case MBX_CONFIG_BOOL:
		return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
	case MBX_CONFIG_UINT:
	case MBX_CONFIG_MODE:
	case MBX_CONFIG_FLAGS:
		return *(const unsigned *)(const void *)pa == *(const unsigned *)(const void *)pb;
	case MBX_CONFIG_ENUM:
		return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
	case MBX_CONFIG_LIST: {
		char **la, **lb;

		memcpy(&la, pa, sizeof(la));
		memcpy(&lb, pb, sizeof(lb));
		if (la == NULL || lb == NULL)
			return la == lb;
		for (; *la != NULL && *lb != NULL; la++, lb++)
			if (strcmp(*la, *lb) != 0)
				return false;
		return *la == NULL && *lb == NULL;
	}
	case MBX_CONFIG_ADDR:
		return daemon_addr_equal((const struct mbx_config_addr *)(const void *)pa,
					 (const struct mbx_config_addr *)(const void *)pb);
	case MBX_CONFIG_ADDR_LIST: {
		const struct mbx_config_addr *la, *lb;
		size_t na, nb;

		memcpy(&la, pa, sizeof(la));
		memcpy(&lb, pb, sizeof(lb));
		memcpy(&na, (const char *)a + k->count_offset, sizeof(na));
		memcpy(&nb, (const char *)b + k->count_offset, sizeof(nb));
		if (na != nb)
			return false;
		for (size_t i = 0; i < na; i++)
			if (!daemon_addr_equal(&la[i], &lb[i]))
				return false;
		return true;
	}
	}
	return false;
}

static bool daemon_dynamic_equal(const struct mbx_config *a, const struct mbx_config *b,
				 const char **what_r)
{
	if (a->nattrs != b->nattrs) {
		*what_r = "attributes";
		return false;
	}
	for (size_t i = 0; i < a->nattrs; i++)
		if (!daemon_str_equal(a->attrs[i].canonical, b->attrs[i].canonical) ||
		    !daemon_str_equal(a->attrs[i].server, b->attrs[i].server)) {
			*what_r = "attributes";
			return false;
		}
	if (a->nservers != b->nservers) {
		*what_r = "servers";
		return false;
	}
	for (size_t i = 0; i < a->nservers; i++)
		if (!daemon_str_equal(a->servers[i].name, b->servers[i].name) ||
		    !daemon_str_equal(a->servers[i].url, b->servers[i].url)) {
			*what_r = "servers";
			return false;
		}
	if (a->nforests != b->nforests) {
		*what_r = "forest.*";
		return false;
	}
	for (size_t i = 0; i < a->nforests; i++) {
		const struct mbx_config_forest *fa = &a->forests[i], *fb = &b->forests[i];

		if (!daemon_str_equal(fa->name, fb->name) ||
		    !daemon_str_equal(fa->autodiscover_url, fb->autodiscover_url) ||
		    fa->ndomains != fb->ndomains) {
			*what_r = "forest.*";
			return false;
		}
		for (size_t j = 0; j < fa->ndomains; j++)
			if (!daemon_str_equal(fa->domains[j], fb->domains[j])) {
				*what_r = "forest.*";
				return false;
			}
	}
	return true;
}

static void daemon_swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* Takes the TLS keys of n into d->cfg and reloads the context; on failure puts them back. */
static void daemon_reload_tls(struct daemon *d, struct mbx_config *n)
{
	char err[1024];
	int old_min = d->cfg.listen.tls_min_version;

	if (d->tls == NULL)
		return;
	daemon_swap_str(&d->cfg.listen.tls_cert, &n->listen.tls_cert);
	daemon_swap_str(&d->cfg.listen.tls_key, &n->listen.tls_key);
	daemon_swap_str(&d->cfg.listen.tls_ciphers, &n->listen.tls_ciphers);
	d->cfg.listen.tls_min_version = n->listen.tls_min_version;
	if (mbx_tls_reload(d->tls, &d->cfg, err, sizeof(err)) == 0) {
		mbx_log(MBX_LOG_NOTICE, "reload: TLS certificate %s loaded for new connections",
			mbx_tls_cert_file(d->tls));
		return;
	}
	mbx_log(MBX_LOG_ERROR, "reload: TLS: %s; new connections keep the certificate they had",
		err);
	daemon_swap_str(&d->cfg.listen.tls_cert, &n->listen.tls_cert);
	daemon_swap_str(&d->cfg.listen.tls_key, &n->listen.tls_key);
	daemon_swap_str(&d->cfg.listen.tls_ciphers, &n->listen.tls_ciphers);
	d->cfg.listen.tls_min_version = old_min;
}

/*
 * SIGHUP: reads the configuration file again. Limits, the log level and trace categories and
 * the TLS files are applied (to new connections and requests; nothing open is dropped); every
 * other key that changed is logged as needing a restart and keeps its running value. Then the
 * certificate and the directory are read again (ldif: the file, with change notifications for
 * what differs; ldap: reconnect with the password file read again).
 */
int daemon_reload(struct daemon *d, char *msg, size_t msgsize)
{
	struct mbx_config n;
	char *err = malloc(DAEMON_ERR_MAX);
	const char *what;
	int rc = -1;

	daemon_notify("RELOADING=1");
	mbx_log(MBX_LOG_NOTICE, "reload: reading %s", d->cfg.file);
	snprintf(msg, msgsize, "reload: done");
	if (err == NULL) {
		mbx_log(MBX_LOG_ERROR, "reload: out of memory");
		snprintf(msg, msgsize, "reload: out of memory");
		goto out;
	}
	if (mbx_config_load(d->cfg.file, &n, err, DAEMON_ERR_MAX) != 0) {
		char *save = NULL;

		snprintf(msg, msgsize, "%.*s (configuration not applied; see the log)",
		         (int)strcspn(err, "\n"), err);

		for (char *line = strtok_r(err, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			mbx_log(MBX_LOG_ERROR, "reload: %s", line);
		mbx_log(MBX_LOG_ERROR, "reload: configuration not applied; still running with "
				       "the one loaded before");
		goto dir;
	}
	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];

		if (strcmp(k->section, "forest") == 0 || daemon_key_reloadable(k))
			continue;
		if (!daemon_key_equal(k, &d->cfg, &n))
			mbx_log(MBX_LOG_WARNING, "reload: [%s] %s changed: needs a restart",
				k->section, k->name);
	}
	if (!daemon_dynamic_equal(&d->cfg, &n, &what))
		mbx_log(MBX_LOG_WARNING, "reload: [%s] changed: needs a restart", what);

	d->cfg.limits = n.limits;
	d->cfg.log.level = n.log.level;
	d->cfg.log.trace = n.log.trace;
	mbx_log_set_level((enum mbx_log_level)d->cfg.log.level);
	mbx_log_set_trace(~0u, false);
	mbx_log_set_trace(d->cfg.log.trace, true);
	daemon_reload_tls(d, &n);
	mbx_listen_reconfigure(d->listen, &d->cfg);
	mbx_frontend_reconfigure(d->fe, &d->cfg);
	daemon_admin_reconfigure(d);
	mbx_config_free(&n);
	mbx_log(MBX_LOG_NOTICE, "reload: limits, log level and trace applied");
	rc = 0;
dir:
	if (err != NULL && mbx_dir_reload(d->dir, err, DAEMON_ERR_MAX) != 0) {
		mbx_log(MBX_LOG_ERROR, "reload: directory: %s; keeping what was loaded before",
			err);
		if (rc == 0)
			snprintf(msg, msgsize, "directory: %.*s (keeping what was loaded before)",
			         (int)strcspn(err, "\n"), err);
		rc = -1;
	} else if (err != NULL) {
		mbx_log(MBX_LOG_NOTICE, "reload: directory read again");
		if (rc == 0)
			snprintf(msg, msgsize,
			         "configuration %s applied (limits, log level, trace, TLS files); "
			         "directory read again",
			         d->cfg.file);
	}
out:
	free(err);
	daemon_notify("READY=1");
	return rc;
}

/* --- signals, drain --------------------------------------------------------------------------- */

static void daemon_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char msg[512];

	(void)sig;
	(void)what;
	if (!d->draining)
		(void)daemon_reload(d, msg, sizeof(msg));
}

static void daemon_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t open = mbx_listen_connections(d->listen) + daemon_admin_clients(d);
	uint64_t ms = daemon_ms_since(&d->drain_start);

	(void)fd;
	(void)what;
	if (open == 0) {
		mbx_log(MBX_LOG_INFO, "stop: every connection closed after %llu ms",
			(unsigned long long)ms);
		event_base_loopbreak(d->base);
	} else if (ms >= MBX_DAEMON_DRAIN_MS) {
		mbx_log(MBX_LOG_WARNING, "stop: %zu connection%s still open after %u ms: closing",
			open, open == 1 ? "" : "s", (unsigned)MBX_DAEMON_DRAIN_MS);
		event_base_loopbreak(d->base);
	}
}

static void daemon_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = {0, DAEMON_DRAIN_TICK_MS * 1000};

	(void)what;
	if (d->draining) {
		mbx_log(MBX_LOG_NOTICE, "stop: signal %d again: stopping now", (int)sig);
		event_base_loopbreak(d->base);
		return;
	}
	d->draining = true;
	daemon_notify("STOPPING=1");
	mbx_log(MBX_LOG_NOTICE, "stop: signal %d: no new connections, draining (at most %u ms)",
		(int)sig, (unsigned)MBX_DAEMON_DRAIN_MS);
	mbx_listen_stop(d->listen);
	mbx_frontend_drain(d->fe);
	daemon_admin_stop(d);
	clock_gettime(CLOCK_MONOTONIC, &d->drain_start);
	d->ev_drain = event_new(d->base, -1, EV_PERSIST, daemon_drain_tick, d);
	if (d->ev_drain == NULL || event_add(d->ev_drain, &tick) != 0)
		event_base_loopbreak(d->base);
	else
		daemon_drain_tick(-1, 0, d);
}

static int daemon_signals(struct daemon *d)
{
	d->ev_hup = evsignal_new(d->base, SIGHUP, daemon_hup_cb, d);
	d->ev_term = evsignal_new(d->base, SIGTERM, daemon_stop_cb, d);
	d->ev_int = evsignal_new(d->base, SIGINT, daemon_stop_cb, d);
	if (d->ev_hup == NULL || d->ev_term == NULL || d->ev_int == NULL ||
	    event_add(d->ev_hup, NULL) != 0 || event_add(d->ev_term, NULL) != 0 ||
	    event_add(d->ev_int, NULL) != 0) {
		daemon_fail(d, "cannot set up the signal handlers");
		return -1;
	}
	return 0;
}

/* --- run ------------------------------------------------------------------------------------- */

static void daemon_free_event(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

/* Frees everything in the reverse order of start-up. The listeners go before the front end:
 * freeing an evhttp closes its connections (running their close callbacks, which may be the
 * front end's), and the front end is freed once nothing can call into it. */
static void daemon_free(struct daemon *d)
{
	daemon_free_event(&d->ev_drain);
	daemon_free_event(&d->ev_hup);
	daemon_free_event(&d->ev_term);
	daemon_free_event(&d->ev_int);
	daemon_admin_free(d);
	mbx_listen_free(&d->listen);
	mbx_frontend_free(&d->fe);
	mbx_autodiscover_free(&d->ad);
	mbx_logon_pipeline_free(&d->pipeline);
	free(d->limiter);
	d->limiter = NULL;
	mbx_principal_resolver_free(&d->resolver);
	mbx_mailbox_table_free(&d->table);
	mbx_dir_free(&d->dir);
	mbx_metrics_free(&d->metrics);
	mbx_tls_free(&d->tls);
	if (d->base != NULL)
		event_base_free(d->base); /* runs the finalizers of closed connections */
	d->base = NULL;
	if (d->pid_file != NULL && unlink(d->pid_file) != 0 && errno != ENOENT)
		mbx_log(MBX_LOG_WARNING, "cannot remove pid_file %s: %s", d->pid_file,
			strerror(errno));
	free(d->pid_file);
	d->pid_file = NULL;
	if (d->ready_fd >= 0)
		close(d->ready_fd);
	d->ready_fd = -1;
	if (d->cfg_loaded)
		mbx_config_free(&d->cfg);
	d->cfg_loaded = false;
}

static int daemon_start(struct daemon *d)
{
	char err[1024];

	d->base = event_base_new();
	if (d->base == NULL) {
		daemon_fail(d, "cannot create the event loop");
		return -1;
	}
	if (daemon_store(d) != 0 || daemon_frontend(d) != 0)
		return -1;
	if (d->cfg.listen.nhttps > 0) {
		d->tls = mbx_tls_new(&d->cfg, d->switch_user ? (long)d->uid : -1,
				     d->switch_user ? (long)d->gid : -1, err, sizeof(err));
		if (d->tls == NULL) {
			daemon_fail(d, "TLS: %s", err);
			return -1;
		}
	}
	if (daemon_listen(d) != 0 || daemon_admin_start(d) != 0 || daemon_write_pid(d) != 0 ||
	    daemon_drop_privileges(d) != 0 || daemon_signals(d) != 0)
		return -1;
	return 0;
}

int mbx_daemon_run(const struct mbx_daemon_options *opt)
{
	struct daemon d;
	const char *path = opt->config_path != NULL ? opt->config_path : MBX_CONFIG_DEFAULT_PATH;
	int status = 1;

	memset(&d, 0, sizeof(d));
	d.ready_fd = -1;
	d.foreground = opt->foreground;
	/* A client that goes away must not kill the daemon with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	mbx_log_open_stderr("mbxstored");
	if (daemon_load_config(&d, path) != 0 || daemon_resolve_user(&d) != 0)
		goto out;
	mbx_log_set_level((enum mbx_log_level)d.cfg.log.level);
	mbx_log_set_trace(d.cfg.log.trace, true);
	if (!d.foreground) {
		if (daemon_detach(&d) != 0)
			goto out;
		if (d.cfg.log.target == MBX_CONFIG_LOG_SYSLOG)
			mbx_log_open_syslog("mbxstored", d.cfg.log.facility);
	}
	if (daemon_start(&d) != 0)
		goto out;

	mbx_log(MBX_LOG_NOTICE, "mbxstored %s started: server %s, configuration %s", MBX_VERSION,
		d.cfg.server.name, d.cfg.file);
	if (d.ready_fd >= 0) {
		char ok = '0';

		(void)!write(d.ready_fd, &ok, 1);
		close(d.ready_fd);
		d.ready_fd = -1;
	}
	daemon_notify("READY=1");
	if (event_base_dispatch(d.base) < 0)
		mbx_log(MBX_LOG_ERROR, "the event loop failed");
	else
		status = 0;
	mbx_log(MBX_LOG_NOTICE, "mbxstored stopped");
out:
	daemon_free(&d);
	libevent_global_shutdown();
	if (!d.foreground)
		closelog();
	return status;
}
