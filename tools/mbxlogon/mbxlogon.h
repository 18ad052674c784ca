/*
 * mbxlogon.h: the pieces of mbxlogon(1), the test MAPI client: Autodiscover POX ([MS-OXDSCLI];
 * protocol.md 7), MAPI over HTTP Connect / Execute (RopLogon) / Disconnect ([MS-OXCMAPIHTTP],
 * [MS-OXCSTOR] 2.2.1.1; protocol.md 1, 2, 5) and what a client does around a mailbox move
 * ([MS-OXMVMBX] 3.1.1, [MS-OXCSTOR] 3.1.5.1; seed 001): follow ecWrongServer, ask Autodiscover
 * again after ecUnknownUser / ecLoginFailure, wait out ecMailboxInTransit. Each file has one job:
 *
 *   mbxlogon.c      main(): options, password, --parse-autodiscover, the exit status
 *   logon-http.c    one libcurl easy handle: POST, TLS options, Basic auth, the session cookies
 *                   (libcurl's cookie engine), the X-ResponseCode header, a bounded body
 *   logon-ad.c      the Autodiscover request body and the response parser (libxml2, no network,
 *                   no entities, no DTD): pure
 *   logon-mapi.c    the MAPI/HTTP request bodies and the check of every response down to the
 *                   RopLogon ReturnValue, with the core's sans-I/O codecs: pure
 *   logon-follow.c  the client: sessions, ecWrongServer / ecUnknownUser / transit, hops, loops,
 *                   the final outcome
 *   logon-discover.c  the Autodiscover walk: candidate URLs, redirects, settings, server names
 *   logon-out.c     hop lines as they happen, the profile, --json
 */
#ifndef MBXLOGON_H
#define MBXLOGON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/oxcstor.h"
#include "mbx/types.h"

/* Exit statuses (mbxlogon(1), EXIT STATUS; --help). */
#define LOGON_EXIT_OK 0           /* logged on */
#define LOGON_EXIT_REFUSED 1      /* the logon was refused and following it led nowhere */
#define LOGON_EXIT_USAGE 2        /* bad command line, unreadable password file */
#define LOGON_EXIT_TRANSIT 3      /* the mailbox stayed in transit longer than --wait-transit */
#define LOGON_EXIT_HOPS 4         /* more than --max-hops hops, or a loop */
#define LOGON_EXIT_AUTODISCOVER 5 /* Autodiscover answered an error or nothing usable */
#define LOGON_EXIT_TRANSPORT 6    /* connection, TLS, HTTP status, X-ResponseCode, bad body */
#define LOGON_EXIT_AUTH 7         /* HTTP 401: the credentials were refused */

#define LOGON_URL_MAX 2048u  /* URLs we keep (Autodiscover, mailbox, redirects) */
#define LOGON_DN_MAX 1024u   /* legacyExchangeDNs, SMTP addresses (MBX_MH_DN_MAX) */
#define LOGON_NAME_MAX 1024u /* display names, server names */
#define LOGON_MSG_MAX 512u   /* one message line */

/* What the command line asks for (mbxlogon.c). Strings belong to argv or to main. */
struct logon_opts {
	const char *email;            /* EMAIL operand, NULL with --mailbox-url and no operand */
	const char *autodiscover_url; /* --autodiscover-url */
	const char *mailbox_url;      /* --mailbox-url */
	const char *legacy_dn;        /* --legacy-dn */
	const char *user;             /* --user, else EMAIL */
	const char *password;         /* --password-file's first line or MBXLOGON_PASSWORD */
	const char *ca_file;          /* --ca-file */
	bool insecure;                /* --insecure */
	const char *connect_to[8];    /* --connect-to HOST:PORT:HOST2:PORT2 (libcurl syntax) */
	unsigned nconnect_to;
	unsigned wait_transit; /* seconds, --wait-transit */
	unsigned max_hops;     /* --max-hops */
	unsigned timeout;      /* seconds per request, --timeout */
	bool external;         /* --external: prefer the MailStore ExternalUrl */
	bool json;             /* --json */
	bool verbose;          /* -v */
};

/* ---- logon-http.c ---------------------------------------------------------------------------- */

#define LOGON_HTTP_BODY_MAX (1u << 20) /* response bytes kept; more is a transport failure */

struct logon_http;

struct logon_http_rsp {
	long status;                  /* HTTP status code, 0 when nothing was received */
	bool has_rc;                  /* an X-ResponseCode header came */
	uint32_t rc;                  /* its value */
	bool rc_bad;                  /* X-ResponseCode was not a decimal number */
	bool set_context;             /* a Set-Cookie for MapiContext came */
	bool set_sequence;            /* ... for MapiSequence */
	char location[LOGON_URL_MAX]; /* Location header ("" when absent or too long) */
	char content_type[128];
	uint8_t *body; /* owned by the handle, valid until the next request */
	size_t len;
	char err[LOGON_MSG_MAX]; /* the transport error when logon_http_post returns -1 */
};

/* A handle with the options' TLS, authentication, timeout and --connect-to settings. Returns
 * NULL with a message in err. */
struct logon_http *logon_http_new(const struct logon_opts *o, char *err, size_t errsize);
/* NULL-safe; clears *h. */
void logon_http_free(struct logon_http **h);
/* Forgets every cookie (a new session context). */
void logon_http_clear_cookies(struct logon_http *h);
/* POSTs body (len bytes) to url with the extra header lines (NULL-terminated array of
 * "Name: value"). Returns 0 when a response came (whatever its status; *rsp_r filled, body
 * owned by h) or -1 on a transport failure (rsp_r->err says what: resolve, connect, TLS,
 * timeout, a body over LOGON_HTTP_BODY_MAX). With -v the request line and the status line go to
 * stderr. */
int logon_http_post(struct logon_http *h, const char *url, const char *const *headers,
                    const void *body, size_t len, struct logon_http_rsp *rsp_r);

/* ---- logon-ad.c ------------------------------------------------------------------------------ */

enum logon_ad_kind {
	LOGON_AD_SETTINGS,
	LOGON_AD_REDIRECT_URL,
	LOGON_AD_REDIRECT_ADDR,
	LOGON_AD_ERROR,
};

/* What an Autodiscover response said (protocol.md 7.4-7.6). Absent strings are "". */
struct logon_ad_result {
	enum logon_ad_kind kind;
	char display_name[LOGON_NAME_MAX];
	char legacy_dn[LOGON_DN_MAX];
	char smtp[LOGON_DN_MAX];          /* AutoDiscoverSMTPAddress */
	char server[LOGON_NAME_MAX];      /* EXCH Protocol Server */
	char server_dn[LOGON_DN_MAX];     /* EXCH Protocol ServerDN */
	char mdb_dn[LOGON_DN_MAX];        /* EXCH Protocol MdbDN */
	bool has_mapihttp;                /* a Protocol Type="mapiHttp" came */
	char internal_url[LOGON_URL_MAX]; /* its MailStore InternalUrl */
	char external_url[LOGON_URL_MAX]; /* its MailStore ExternalUrl */
	char redirect[LOGON_URL_MAX];     /* RedirectUrl or RedirectAddr */
	unsigned error_code;              /* Error ErrorCode */
	char error_msg[LOGON_NAME_MAX];   /* Error Message */
};

/* Writes the request body (protocol.md 7.3): EMailAddress when legacy_dn is NULL, else
 * LegacyDN; AcceptableResponseSchema outlook 2006a. The address is XML-escaped. Returns the
 * length written (NUL-terminated), or -1 if buf is too small or the address is empty, longer
 * than LOGON_DN_MAX - 1 bytes or holds a control character. */
int logon_ad_request(char *buf, size_t size, const char *email, const char *legacy_dn);
/* Parses a response body: well-formed XML (libxml2 without network access, entity expansion
 * or DTD loading; a DOCTYPE is refused), root Autodiscover in the response namespace, then
 * Response/Error, Response/Account/Action (settings, redirectUrl, redirectAddr) and its
 * fields. Settings need a LegacyDN. Values longer than their field are refused, not cut.
 * Returns 0, or -1 with a one-line reason in err. */
int logon_ad_parse(const void *xml, size_t len, struct logon_ad_result *res_r, char *err,
                   size_t errsize);
/* The settings' mailbox URL: InternalUrl (ExternalUrl with external), else the other one; NULL
 * when the settings have no mapiHttp MailStore URL. */
const char *logon_ad_mailbox_url(const struct logon_ad_result *res, bool external);
/* "redirectUrl" etc. */
const char *logon_ad_kind_name(enum logon_ad_kind k);

/* ---- logon-mapi.c ---------------------------------------------------------------------------- */

enum logon_mapi_req {
	LOGON_REQ_CONNECT,
	LOGON_REQ_EXECUTE,
	LOGON_REQ_DISCONNECT,
};

/* Outcome classes of one MAPI/HTTP response (protocol.md 5.7, layer by layer). */
enum logon_mapi_class {
	LOGON_MAPI_OK,           /* Connect, Execute with a successful RopLogon, Disconnect */
	LOGON_MAPI_REFUSED,      /* Connect ErrorCode or RopLogon ReturnValue (ec) */
	LOGON_MAPI_WRONG_SERVER, /* RopLogon ecWrongServer with a server DN */
	LOGON_MAPI_CONTEXT_LOST, /* X-ResponseCode 10: reconnect */
	LOGON_MAPI_AUTH,         /* HTTP 401 */
	LOGON_MAPI_TRANSPORT,    /* anything else: HTTP status, X-ResponseCode, malformed body */
};

struct logon_mapi_outcome {
	enum logon_mapi_class cls;
	uint32_t ec;                       /* REFUSED, WRONG_SERVER */
	char display_name[LOGON_NAME_MAX]; /* Connect's DisplayName (UTF-8) */
	struct mbx_logon_resp logon;       /* Execute: the decoded RopLogon response */
	char msg[LOGON_MSG_MAX];           /* what went wrong, for TRANSPORT / AUTH */
};

/* Request bodies into buf: Connect (UserDn, code page 1252, LCID 1033), Execute (one extended
 * buffer, compressed and XORed when that helps, holding RopLogon Private for legacy_dn with a
 * one-entry handle table), Disconnect (no aux). Returns the length or -1 (the DN is not
 * printable ASCII or too long). */
int logon_mapi_body(enum logon_mapi_req t, const char *legacy_dn, uint8_t *buf, size_t size);
/* Classifies a response (status, X-ResponseCode header, the envelope's DONE block and its
 * X-ResponseCode, StatusCode, ErrorCode, the RopBuffer down to RopLogon). */
void logon_mapi_check(enum logon_mapi_req t, const struct logon_http_rsp *rsp,
                      struct logon_mapi_outcome *o_r);
const char *logon_mapi_req_name(enum logon_mapi_req t);

/* ---- logon-out.c ----------------------------------------------------------------------------- */

/* One hop as printed and as put in the JSON "hops" array. */
struct logon_hop {
	unsigned n;          /* hop number (1..), 0 for a wait */
	const char *kind;    /* "autodiscover", "connect", "logon", "disconnect", "wait" */
	const char *url;     /* where (NULL for a wait) */
	const char *subject; /* the address or DN sent */
	const char *result;  /* "settings", "redirectUrl", "ok", "ecWrongServer", "http", ... */
	const char *detail;  /* the rest of the line after the result, may be NULL */
	long http_status;    /* 0 if none */
	bool has_ec;
	uint32_t ec;
	const char *server_dn;       /* ecWrongServer's server */
	const char *redirect;        /* redirectUrl / redirectAddr / Location */
	unsigned waited, wait_limit; /* a wait */
};

/* What a client profile stores after a successful logon (MS-OXMVMBX 3.1.1: "update the client
 * side profile with the new mailbox server name upon successful connection"). */
struct logon_profile {
	char server[LOGON_NAME_MAX];
	char server_dn[LOGON_DN_MAX];
	char mailbox_url[LOGON_URL_MAX];
	char autodiscover_url[LOGON_URL_MAX];
	char legacy_dn[LOGON_DN_MAX];
	char display_name[LOGON_NAME_MAX];
	char smtp[LOGON_DN_MAX];
	bool logged_on;
	struct mbx_logon_resp logon; /* the successful RopLogon response */
};

struct logon_out;

struct logon_out *logon_out_new(bool json);
void logon_out_free(struct logon_out **out);
/* Prints the hop line at once (text mode) and keeps it for --json. Strings are copied. */
void logon_out_hop(struct logon_out *out, const struct logon_hop *hop);
/* The RopLogon details after a successful logon (text: one "logon:" line). */
void logon_out_logon(struct logon_out *out, const struct mbx_logon_resp *lr);
/* The end: "profile:" lines (when logged on) and "result:" in text mode, or the JSON document
 * with "hops", "profile" and "result". Returns 0, or -1 if the JSON could not be written. */
int logon_out_finish(struct logon_out *out, const struct logon_profile *p, int status,
                     const char *result, uint32_t ec, bool has_ec, const char *message);
/* Printed on stdout for the offline --parse-autodiscover mode (text or JSON). */
int logon_out_ad_result(const struct logon_ad_result *res, bool json);
/* Folder id as PidTagFolderId shows it: 0x%016 of the 8 wire bytes read little-endian. */
void logon_out_fid(struct mbx_fid f, char *buf, size_t size);
/* The exit status's short name ("logged on", "refused", ...). */
const char *logon_out_status_name(int status);

/* ---- logon-follow.c ------------------------------------------------------------------------ */

#define LOGON_VISITED_MAX 256u /* (kind, URL, subject) keys the loop check remembers */

/* The state of one run, shared by logon-follow.c and logon-discover.c. */
struct logon_follow {
	const struct logon_opts *o;
	struct logon_http *http;
	struct logon_out *out;
	unsigned hop;     /* hop lines so far */
	unsigned counted; /* hops counted against --max-hops */
	char client_info[MBX_GUID_STRLEN + 3];
	unsigned request_no;
	char *visited[LOGON_VISITED_MAX];
	unsigned nvisited;
	struct logon_profile cur; /* the settings in use, and the profile once logged on */
	/* the end */
	int status;
	char result[64];
	uint32_t ec;
	bool has_ec;
	char msg[LOGON_MSG_MAX];
};

/* Runs the client: Autodiscover (or the given mailbox URL and DN), Connect, RopLogon,
 * Disconnect, following referrals as MS-OXMVMBX / MS-OXCSTOR 3.1.5.1 say. Prints as it goes.
 * Returns the exit status. */
int logon_follow_run(const struct logon_opts *o, struct logon_http *http, struct logon_out *out);
/* Ends the run: the exit status, the result's short name, the final ec (NULL: none) and the
 * message (printf format). Returns status. */
int logon_follow_end(struct logon_follow *f, int status, const char *result, const uint32_t *ec,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Copies s (NULL: "") into dst, cut to size - 1 bytes; dst and s may overlap. */
void logon_follow_copy(char *dst, size_t size, const char *s);
/* Has the key (kind, url, subject) been seen (case-insensitively)? Records it if not; false
 * also when the table is full (the hop limit ends such runs long before). */
bool logon_follow_seen(struct logon_follow *f, const char *kind, const char *url,
                       const char *subject);
/* Numbers the next hop. A counted hop past --max-hops is refused: 0 is returned and the run
 * ended with LOGON_EXIT_HOPS. */
unsigned logon_follow_hop_no(struct logon_follow *f, bool counted);

/* ---- logon-discover.c ---------------------------------------------------------------------- */

/* Autodiscover for addr (an SMTP address, or a LegacyDN when by_dn) starting at url (NULL: the
 * domain URLs of addr, or for a LegacyDN of the run's e-mail address), following redirects and
 * trying the candidate URLs in turn. Returns 0 with the settings in *res and the URL that gave
 * them in ad_url (LOGON_URL_MAX bytes); LOGON_EXIT_AUTODISCOVER for an error answer or nothing
 * usable; or another exit status (transport, 401, hops, loop). The run is ended (f->msg set)
 * whenever it does not return 0. */
int logon_discover_run(struct logon_follow *f, bool by_dn, const char *addr, const char *url,
                       struct logon_ad_result *res, char *ad_url);
/* Makes the settings the current ones (f->cur). */
void logon_discover_apply(struct logon_follow *f, const struct logon_ad_result *res,
                          const char *ad_url);
/* Names the profile's server: exch (the EXCH Server, may be NULL or ""), else the MailboxId of
 * c->mailbox_url, else the last cn of c->server_dn, else the mailbox URL's host. */
void logon_discover_server_name(struct logon_profile *c, const char *exch);

/* ---- mbxlogon.c ------------------------------------------------------------------------------ */

/* "mbxlogon: <message>" on stderr. */
void logon_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Trace line on stderr when -v is on. */
void logon_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool logon_verbose;

#endif
