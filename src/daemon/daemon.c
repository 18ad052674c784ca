/*
 * daemon.c: mbxstored's service behaviour (include/mbx/daemon.h; the contract is mbxstored(8)):
 * the start-up order, the long-lived objects and who owns them, the signals and the drain on
 * SIGTERM/SIGINT. The Unix process side (daemonizing, the pid file, the privilege drop, systemd
 * readiness) is daemon-process.c, the reload on SIGHUP daemon-reload.c, the control socket
 * daemon-admin.c (daemon-int.h is what they share).
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
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

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

#define DAEMON_DRAIN_TICK_MS 50

/* --- small helpers -------------------------------------------------------------------------- */

static uint64_t daemon_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
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
	/* Tokens cached like the mailboxes, and served stale while no directory server answers
	 * (a new Connect of a user seen recently still works during an outage). */
	pc.ttl_ms = (uint64_t)d->cfg.cache.ttl_seconds * 1000;
	pc.stale_max_ms = (uint64_t)d->cfg.cache.stale_max_seconds * 1000;
	pc.max_entries = d->cfg.cache.max_entries;
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
		struct mbx_httpd *http = mbx_listen_httpd(d->listen, i, &tls);

		if (mbx_frontend_attach(d->fe, http, tls) != 0) {
			daemon_fail(d, "front end: cannot attach to a listener");
			return -1;
		}
	}
	return 0;
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
	daemon_process_notify("STOPPING=1");
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
 * freeing a server closes its connections (detaching the requests the front end holds), and
 * the front end is freed once nothing can call into it. */
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
	if (daemon_listen(d) != 0 || daemon_admin_start(d) != 0 ||
	    daemon_process_write_pid(d) != 0 || daemon_process_drop_privileges(d) != 0 ||
	    daemon_signals(d) != 0)
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
	if (daemon_load_config(&d, path) != 0 || daemon_process_resolve_user(&d) != 0)
		goto out;
	mbx_log_set_level((enum mbx_log_level)d.cfg.log.level);
	mbx_log_set_trace(d.cfg.log.trace, true);
	if (!d.foreground) {
		if (daemon_process_detach(&d) != 0)
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
	daemon_process_notify("READY=1");
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
