/*
 * control.h: the local control socket between mbxctl(8) and a running mbxstored
 * (src/daemon/control.c, the daemon's side; tools/mbxctl/ctl-client.c, the tool's side; the
 * commands themselves are include/mbx/admin.h). conventions.md: OpenSMTPD's smtpctl and tmux's
 * client talk to their daemon the same way: a Unix stream socket, one request, one answer.
 *
 * The protocol (version 1), one request per connection:
 *
 *   request  = "MBXCTL/1" TAB format *(TAB arg) LF
 *   format   = "text" / "json"
 *   arg      = 1*argchar       ; bytes 0x20..0x7E and 0x80..0xFF (no TAB, LF, CR, NUL, DEL,
 *                              ; no other control byte); UTF-8 is not checked here
 *   answer   = status-line body, then the server closes the connection
 *   status-line = "OK" LF / "ERR" SP exit SP message LF
 *   exit     = 1*3DIGIT        ; the exit status mbxctl returns (1..125)
 *   message  = one line of printable text, at most MBX_CONTROL_MSG_MAX bytes
 *   body     = OK: the command's output (text lines or one JSON document, per format);
 *              ERR: nothing (text), or a JSON object {"error": message, "status": exit}
 *              (json; not for answers given before the format is known: a bad request, a
 *              timeout, busy; mbxctl --json then makes that object itself)
 *
 * The whole request line, LF included, is at most MBX_CONTROL_REQ_MAX bytes, with at most
 * MBX_CONTROL_ARGS_MAX args (at least one: the command). Anything else is answered
 * "ERR 2 <what is wrong>" and closed; a client that sends nothing complete within
 * MBX_CONTROL_TIMEOUT_MS is closed after "ERR 2 request timed out". Bytes after the LF are
 * ignored.
 *
 * Exit statuses (also mbxctl's, documented in mbxctl(8)):
 *   0 OK; 1 the command ran and failed or was refused (a move of a disabled account without a
 *   master SID, a mailbox already moving...); 2 usage: unknown command, wrong arguments, bad
 *   request; 3 no such mailbox / database; 4 the directory cannot answer now (TEMPFAIL);
 *   5 permission denied (peer uid); 6 cannot reach the daemon (mbxctl only).
 */
#ifndef MBX_CONTROL_H
#define MBX_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MBX_CONTROL_MAGIC "MBXCTL/1"
#define MBX_CONTROL_REQ_MAX 4096
#define MBX_CONTROL_ARGS_MAX 32
#define MBX_CONTROL_MSG_MAX 512
#define MBX_CONTROL_TIMEOUT_MS 5000
#define MBX_CONTROL_MAX_CLIENTS 64 /* connections at once; more are closed with ERR 1 busy */
#define MBX_CONTROL_BODY_MAX (16u * 1024u * 1024u) /* longest answer body mbxctl accepts */

enum mbx_control_exit {
	MBX_CTL_OK = 0,
	MBX_CTL_FAILED = 1,
	MBX_CTL_USAGE = 2,
	MBX_CTL_NOT_FOUND = 3,
	MBX_CTL_TEMPFAIL = 4,
	MBX_CTL_DENIED = 5,
	MBX_CTL_UNREACHABLE = 6,
};

/* --- the request (pure: parser and writer, for both sides and the fuzzer) -------------------- */

struct mbx_control_request {
	bool json;                            /* format "json" */
	int argc;                             /* >= 1 */
	const char *argv[MBX_CONTROL_ARGS_MAX + 1]; /* into buf, NULL-terminated */
	char buf[MBX_CONTROL_REQ_MAX];        /* the args, each NUL-terminated */
};

/*
 * Parses one request line: len bytes at line, which must end with its LF (bytes after the first
 * LF are not looked at). Returns 0 with *req_r filled, or -1 with a one-line message in err
 * (e.g. "byte 0x09 in argument 2", "no LF within 4096 bytes", "unknown protocol \"...\"",
 * "more than 32 arguments", "format must be text or json").
 */
int mbx_control_request_parse(const char *line, size_t len, struct mbx_control_request *req_r,
                              char *err, size_t errsize);

/* Writes the request line for argv[0..argc) into out (size bytes). Returns its length, or -1
 * with a message in err when an argument holds a byte the protocol refuses, there are too many
 * or none, or it does not fit. */
int mbx_control_request_format(bool json, int argc, const char *const *argv, char *out,
                               size_t size, char *err, size_t errsize);

/* Parses a status line (without or with its LF; len bytes). Returns 0 and *exit_r 0 for "OK",
 * the exit status (1..125) and the message in msg for "ERR"; -1 when it is neither. */
int mbx_control_status_parse(const char *line, size_t len, int *exit_r, char *msg,
                             size_t msgsize);

/* --- the daemon's side (src/daemon/control.c) ------------------------------------------------ */

struct event_base;
struct mbx_control;
struct mbx_control_reply;

/*
 * Called once per well-formed request from a permitted peer. The handler answers exactly once,
 * now or later from the loop, with mbx_control_reply_ok() or mbx_control_reply_error(); reply
 * stays valid until then, also when the client has gone (the answer is then dropped). req
 * (argv included) also stays valid until the reply is answered. peer_uid is the client's uid
 * (SO_PEERCRED), for logs. The handler may answer from inside this call.
 */
typedef void mbx_control_handler(void *ctx, const struct mbx_control_request *req, uid_t peer_uid,
                                 struct mbx_control_reply *reply);

struct mbx_control_config {
	struct event_base *base;
	const char *path;  /* [listen] control_socket */
	unsigned mode;     /* [listen] control_socket_mode */
	const char *group; /* [listen] control_socket_group, or NULL: the daemon's group */
	/* Who may talk to it (checked with SO_PEERCRED on every connection): uid 0, allowed_uid
	 * (the daemon's own, after the switch), and members of the socket's group (the peer's
	 * primary gid, or the group's member list holding the peer's user name). Others get
	 * "ERR 5 permission denied" and a log line naming the uid. */
	uid_t allowed_uid;
	/* The socket file's owner: (uid_t)-1 / (gid_t)-1 to leave as created. */
	uid_t owner_uid;
	gid_t owner_gid;
	mbx_control_handler *handler;
	void *ctx;
};

/*
 * The peer check of every connection, on SO_PEERCRED's uid and (primary) gid: true for uid 0,
 * for allowed_uid (unless (uid_t)-1), for gid == sock_gid, and for a user whose name
 * (getpwuid_r) is in sock_gid's member list (getgrgid_r: may ask NSS, only when the cheap
 * checks failed). sock_gid (gid_t)-1: no group check. Exposed for tests, which run as one uid.
 */
bool mbx_control_peer_allowed(uid_t uid, gid_t gid, uid_t allowed_uid, gid_t sock_gid);

/*
 * Binds the socket: a stale socket file at path (nothing listening on it) is removed first; a
 * live one (another daemon answers) is an error; a path that exists and is not a socket is an
 * error. The file gets mode and group (chown) at once, before listen(). Returns NULL with a
 * message in err. The group is cfg->group when set (looked up with getgrnam_r), otherwise
 * owner_gid; the socket file's group after the chown is the group of the peer check. The
 * process must ignore SIGPIPE (a client that left fails the write with EPIPE).
 */
struct mbx_control *mbx_control_new(const struct mbx_control_config *cfg, char *err,
                                    size_t errsize);
/* Answers OK with len bytes of body (copied). Frees reply. */
void mbx_control_reply_ok(struct mbx_control_reply *reply, const char *body, size_t len);
/* Answers ERR exit message (message: one line; longer ones are cut, control bytes replaced);
 * in json format with the JSON error body. Frees reply. */
void mbx_control_reply_error(struct mbx_control_reply *reply, int exit, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Whether the reply's format is json. */
bool mbx_control_reply_json(const struct mbx_control_reply *reply);
/* Connections open now. */
size_t mbx_control_clients(const struct mbx_control *c);
/* Closes the socket, removes its file, drops every connection (pending replies stay valid and
 * are dropped when answered: the admin answers them at its own free). NULL-safe; clears *c. */
void mbx_control_free(struct mbx_control **c);

/* --- mbxctl's side (tools/mbxctl/ctl-client.c) ----------------------------------------------- */

/* The default socket path (the configuration's default). */
#define MBX_CONTROL_DEFAULT_PATH "/run/mbxstored/control.sock"

#endif
