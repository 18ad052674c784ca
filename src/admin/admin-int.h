/*
 * admin-int.h: what the files of src/admin share (include/mbx/admin.h is the public side):
 * the admin, one running command with its output and its asynchronous steps, and the helpers
 * that fetch a mailbox, look entries up and modify the directory on the event loop. Each
 * command is a chain of steps: a step starts one directory or table request and names the step
 * that continues when it is answered; the last step calls admin_ok() or admin_fail(). Answers
 * reach the caller through a deferral (struct mbx_defer), never from inside mbx_admin_run().
 */
#ifndef MBX_ADMIN_INT_H
#define MBX_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/admin.h"
#include "mbx/control.h"
#include "mbx/directory.h"
#include "mbx/json.h"
#include "mbx/log.h"
#include "mbx/mailbox-table.h"
#include "mbx/mailbox.h"

/* Width of the key column of the text output ("key:" padded with spaces). */
#define ADMIN_KEY_WIDTH 22
/* Longest one-line message (MBX_CONTROL_MSG_MAX is what the socket carries; longer ones are
 * cut there, this only bounds our buffer). */
#define ADMIN_MSG_MAX 1024
/* Values a modification may carry (the largest: move complete cross-forest, 6 mods). */
#define ADMIN_MODS_MAX 8

struct mbx_admin {
	struct mbx_admin_deps deps;
	const struct mbx_config *cfg;
	struct admin_cmd *cmds; /* running commands, newest first */
	size_t ncmds;
};

/* Growable text; oom is sticky (the answer then becomes "out of memory"). */
struct admin_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

struct admin_cmd;
typedef void admin_step_fn(struct admin_cmd *c);

struct admin_cmd {
	struct mbx_admin *a;
	struct admin_cmd *prev, *next;
	int argc;
	char **argv;
	bool json;
	char who[64];
	mbx_admin_done_cb *cb;
	void *ctx;

	void *defer;   /* deferral handle that delivers the answer */
	bool finished; /* exit and out/msg are final */
	int exit;
	struct admin_out out; /* OK body (text) */
	struct mbx_json j;    /* OK body (json) */
	char msg[ADMIN_MSG_MAX];

	/* The request in flight (at most one) and the step that continues. */
	struct mbx_dir_req *dreq;
	struct mbx_mt_wait *wait;
	admin_step_fn *then;

	/* The mailbox argument and its fresh snapshot. */
	const char *mbx_arg;
	bool by_smtp;
	bool refetched;
	struct mbx_mailbox *mbx;

	/* The last lookup's answer (admin_lookup): status, message, copies of the entries. */
	enum mbx_dir_status st;
	char dirmsg[256];
	struct mbx_dir_entry **ents;
	size_t nents;

	/* Modification being applied (admin_modify): the values live here until answered. */
	struct mbx_dir_mod mods[ADMIN_MODS_MAX];
	struct mbx_dir_value vals[ADMIN_MODS_MAX];
	size_t nmods;
	bool mods_oom; /* a value could not be copied: the modification is not sent */

	/* Command state (admin-move.c etc.): database and server entries, strings. */
	struct mbx_dir_entry *db;     /* target database entry */
	struct mbx_dir_entry *server; /* its owning server entry */
	int db_try;                   /* database-by-cn candidate being tried */
	const char *db_arg;           /* the DATABASE argument */
	admin_step_fn *db_then;       /* runs when c->db is set */
	char *str[4];                 /* owned strings (values, addresses) */
	uint8_t *bin;                 /* owned binary value */
	unsigned dropped;             /* sessions dropped */
	bool ace_added;               /* associate-self: an ACE was added */
	unsigned naces;               /* associate-self: DACL entries after */
	unsigned nsessions;           /* sessions: listed */
};

/* --- admin.c: output --------------------------------------------------------------------- */

void admin_out_printf(struct admin_out *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* "key:" padded to ADMIN_KEY_WIDTH, then the value and LF (text output). */
void admin_kv(struct admin_cmd *c, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* One field in both formats: JSON member jkey (string, null when s is NULL) or the text line
 * "tkey: s" ("-" when s is NULL). */
void admin_field_str(struct admin_cmd *c, const char *jkey, const char *tkey, const char *s);
/* JSON unsigned member, or text line with the value as text (decimal when text is NULL). */
void admin_field_uint(struct admin_cmd *c, const char *jkey, const char *tkey, uint64_t v,
                      const char *text);
void admin_field_bool(struct admin_cmd *c, const char *jkey, const char *tkey, bool v);

/* --- admin.c: the end of a command -------------------------------------------------------- */

/* Answers OK with the output written so far (the JSON object begun by mbx_admin_run is closed
 * here). */
void admin_ok(struct admin_cmd *c);
/* Answers exit with a one-line message. */
void admin_fail(struct admin_cmd *c, int exit, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Answers a directory status that is not FOUND: NOT_FOUND exit 3 "no such <what>: <name>",
 * TEMPFAIL exit 4 "directory unavailable: ...", ERROR exit 1 "directory error: ...". */
void admin_fail_dir(struct admin_cmd *c, enum mbx_dir_status st, const char *msg, const char *what,
                    const char *name);
/* Usage error (exit 2) with the usage line of the command. */
void admin_usage(struct admin_cmd *c, const char *usage);

/* --- admin.c: asynchronous steps ----------------------------------------------------------- */

/* Reads the mailbox c->mbx_arg (legacyExchangeDN or SMTP address) fresh through the table
 * (cached entries invalidated first) into c->mbx, then runs then. Not found, TEMPFAIL and
 * ERROR end the command (exits 3, 4, 1). */
void admin_fetch_mailbox(struct admin_cmd *c, admin_step_fn *then);
/* Starts a lookup; its answer goes into c->st, c->dirmsg, c->ents/c->nents (copies), then
 * then runs (whatever the status). A lookup that cannot start ends the command (exit 1). */
void admin_lookup(struct admin_cmd *c, enum mbx_dir_key kind, const char *key, admin_step_fn *then);
/* Applies c->mods[0..c->nmods) to dn; on success then runs, otherwise the command ends
 * (NOT_FOUND 3, TEMPFAIL 4, ERROR 1 "the directory refused the change: ..."). */
void admin_modify(struct admin_cmd *c, const char *dn, admin_step_fn *then);
/* Adds a modification (value copied into c; s NULL or nvals 0: remove the attribute). */
void admin_mod_str(struct admin_cmd *c, const char *attr, const char *s);
void admin_mod_bin(struct admin_cmd *c, const char *attr, const void *p, size_t len);
/* Drops the lookup answer's copies. */
void admin_clear_lookup(struct admin_cmd *c);
/* A formatted string on the heap, or NULL when out of memory. */
char *admin_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log-safe copy of a directory or argument string (mbx_log_escape) into buf. */
const char *admin_esc(const char *s, char *buf, size_t size);

/* --- the commands ------------------------------------------------------------------------- */

void admin_mailbox_show(struct admin_cmd *c);           /* admin-mailbox.c */
void admin_move_start(struct admin_cmd *c);             /* admin-move.c */
void admin_move_complete(struct admin_cmd *c);          /* admin-move.c */
void admin_move_abort(struct admin_cmd *c);             /* admin-move.c */
void admin_mailbox_associate_self(struct admin_cmd *c); /* admin-fix.c */
void admin_report(struct admin_cmd *c);                 /* admin-report.c */
void admin_sessions(struct admin_cmd *c);               /* admin-session.c */
void admin_trace(struct admin_cmd *c);                  /* admin-session.c */
void admin_reload(struct admin_cmd *c);                 /* admin-session.c */

/* Whether s names a mailbox the way admin.h says (legacyExchangeDN or SMTP address). */
bool admin_is_mailbox_arg(const char *s);
/* Logs event 1009 (move refused) and answers exit 1 with the same text. */
void admin_move_refuse(struct admin_cmd *c, const char *step, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
