/*
 * daemon-int.h: what the parts of mbxstored's daemon share (src/daemon/daemon.c owns the life
 * cycle; daemon-process.c the Unix process side: detaching, the pid file, the privilege drop,
 * systemd readiness; daemon-reload.c the reload on SIGHUP; daemon-admin.c the control socket,
 * the admin commands and the reaction to mailboxes entering transit elsewhere).
 */
#ifndef MBX_DAEMON_INT_H
#define MBX_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "mbx/config.h"
#include "mbx/mailbox.h"

struct event;
struct event_base;
struct mbx_dir;
struct mbx_mailbox_table;
struct mbx_principal_resolver;
struct mbx_logon_pipeline;
struct mbx_metrics;
struct mbx_tls;
struct mbx_frontend;
struct mbx_listeners;
struct mbx_autodiscover;
struct mbx_admin;
struct mbx_control;
struct daemon_transit_check;

#define DAEMON_ERR_MAX 8192 /* a configuration's error list, a start-up failure */

struct daemon {
	struct mbx_config cfg;
	bool cfg_loaded;
	bool foreground;

	/* [server] user, resolved before anything runs */
	bool switch_user;
	uid_t uid;
	gid_t gid;

	int ready_fd; /* daemonized: the pipe the waiting parent reads; else -1 */

	struct event_base *base;
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *resolver;
	struct mbx_server_identity id;
	struct mbx_logon_pipeline *pipeline;
	struct mbx_logon_limiter *limiter; /* ecServerPaused, shared by every logon */
	struct mbx_metrics *metrics;
	struct mbx_tls *tls;
	struct mbx_frontend *fe;
	struct mbx_listeners *listen;
	struct mbx_autodiscover *ad;

	/* mbxctl's side (daemon-admin.c) */
	struct mbx_admin *admin;
	struct mbx_control *ctl;
	struct daemon_transit_check *checks; /* change notifications being looked at */

	struct event *ev_hup, *ev_term, *ev_int, *ev_drain;
	bool draining;
	struct timespec drain_start;

	char *pid_file; /* written by us: removed at exit */
};


/* daemon-reload.c: SIGHUP's work, also run by `mbxctl reload`. Returns 0 when the configuration
 * file was applied (and the directory read again), -1 with the reason in err otherwise. */
int daemon_reload(struct daemon *d, char *err, size_t errsize);

/* daemon-process.c */
/* Looks up [server] user (if set) for the privilege drop. Returns 0, or -1 with a message on
 * stderr. */
int daemon_process_resolve_user(struct daemon *d);
/* Daemonizes (see daemon-process.c). Returns 0 in the daemon, -1 with a message on stderr; the
 * original process exits with the daemon's start-up status. */
int daemon_process_detach(struct daemon *d);
/* Writes [server] pid_file, if set. Returns 0, or -1 after daemon_fail(). */
int daemon_process_write_pid(struct daemon *d);
/* Switches to [server] user, if set, for good. Returns 0, or -1 after daemon_fail(). */
int daemon_process_drop_privileges(struct daemon *d);
/* Sends msg ("READY=1", "RELOADING=1", "STOPPING=1") to systemd, if NOTIFY_SOCKET names a
 * socket. */
void daemon_process_notify(const char *msg);

/* daemon-admin.c */
/* Registers the reaction to directory changes (before the mailbox table is made, which chains
 * it): a mailbox that some session context has a logon on and that is now in transit gets
 * those contexts destroyed, also when the move was started on another server. */
void daemon_watch_transit(struct daemon *d);
/* The admin commands and the control socket ([listen] control_socket), after the front end.
 * Returns 0, or -1 after daemon_fail(). */
int daemon_admin_start(struct daemon *d);
/* A reload changed d->cfg. */
void daemon_admin_reconfigure(struct daemon *d);
/* At the start of the drain: running commands are answered "daemon stopping". */
void daemon_admin_stop(struct daemon *d);
/* Control connections open (the drain waits for their answers to leave). */
size_t daemon_admin_clients(const struct daemon *d);
/* Answers running commands, closes the socket, cancels transit checks. */
void daemon_admin_free(struct daemon *d);

void daemon_fail(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
