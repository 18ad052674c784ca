/*
 * autodiscover.h: Autodiscover POX ([MS-OXDSCLI], protocol.md 7) for mbxstored
 * (src/autodiscover/ad-*.c). The front end (src/mapihttp) owns HTTP: it routes
 * POST /autodiscover/autodiscover.xml (path matched without regard to case), authenticates the
 * request (HTTP Basic against the directory, as for /mapi/emsmdb/) and hands the body here; this
 * module parses it, looks the mailbox up through the mailbox table and builds the XML answer.
 *
 *   ad-request.c   the request parser (libxml2: XML_PARSE_NONET, no entity substitution, no DTD
 *                  loading, DOCTYPE refused, size-limited before parsing, depth-limited): pure.
 *   ad-response.c  the response writers (settings, redirectUrl, redirectAddr, error): pure.
 *   ad-server.c    mbx_autodiscover_*: lookups and the decision, asynchronous on the table.
 *
 * Decision for a well-formed request (LegacyDN wins when both are present, OXDSCLI 3.2.5),
 * from mbx_mailbox_classify's state:
 *   a mailbox of this forest (hosted here, or on another server of
 *   this directory), or one being moved (in transit: clients wait
 *   at its current home)                                         -> settings (HTTP 200) for its
 *                                                                   home server: the cn= of the
 *                                                                   home server's
 *                                                                   legacyExchangeDN, looked up
 *                                                                   in [servers]
 *     ... that home server is not in [servers], or (mapiHttp) the
 *     mailbox has no msExchMailboxGuid or SMTP domain for MailboxId -> error 602 + a log line
 *   a mail user / moved mailbox whose targetAddress domain is a
 *   configured [forest.NAME] with autodiscover_url               -> redirectUrl to it
 *   ... with no autodiscover_url, or a targetAddress in no
 *   configured forest                                            -> redirectAddr targetAddress
 *                                                                   (without "SMTP:")
 *   ... whose targetAddress is the address itself (a loop)        -> error 501
 *   a custom recipient (contact, mail user without target), a
 *   disabled account without a master SID, a home that cannot be
 *   told                                                          -> error 501 (no settings)
 *   no such address                                               -> error 500
 *   malformed XML, wrong root/namespace, no address, no
 *   AcceptableResponseSchema                                      -> error 600
 *   AcceptableResponseSchema other than outlook 2006a             -> error 601
 *   the directory cannot answer (and nothing usable is cached)    -> error 603 and a warning
 * Every POX answer, errors included, is HTTP 200 with the XML body.
 * Settings: User {DisplayName, LegacyDN, AutoDiscoverSMTPAddress}, Account {AccountType email,
 * Action settings}; with X-MapiHttpCapability >= 1 one Protocol Type="mapiHttp" Version="1"
 * whose MailStore InternalUrl = ExternalUrl = <server URL>/mapi/emsmdb/?MailboxId=<mailbox
 * GUID, lower-case 8-4-4-4-12>@<domain of the primary SMTP address>; without it EXCH (Server =
 * the server URL's host, ServerDN, MdbDN) and EXPR (Server, SSL, AuthPackage Basic). No
 * AddressBook (this server has no /mapi/nspi/).
 * Every answer is logged (one line: requester, address, outcome).
 */
#ifndef MBX_AUTODISCOVER_H
#define MBX_AUTODISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/mailbox-table.h"

struct mbx_config;
struct mbx_mailbox_table;
struct mbx_server_identity;

#define MBX_AD_BODY_MAX (64u * 1024u) /* request bodies larger than this: error 600 */
#define MBX_AD_ADDR_MAX 1024u         /* EMailAddress / LegacyDN bytes */

#define MBX_AD_NS_REQUEST                                                                          \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define MBX_AD_NS_RESPONSE "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define MBX_AD_NS_OUTLOOK                                                                          \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

/* --- the request (ad-request.c) ------------------------------------------------------------ */

struct mbx_ad_request {
	char email[MBX_AD_ADDR_MAX + 1];     /* EMailAddress, "" when absent */
	char legacy_dn[MBX_AD_ADDR_MAX + 1]; /* LegacyDN, "" when absent */
	char schema[256];                    /* AcceptableResponseSchema, "" when absent */
};

/* Error codes of the POX error response (OXDSCLI 2.2.4.1.1.3.2). */
#define MBX_AD_ERR_NO_MAILBOX 500  /* email address cannot be found */
#define MBX_AD_ERR_NO_SETTINGS 501 /* known, but no configuration for it */
#define MBX_AD_ERR_INVALID 600     /* invalid request */
#define MBX_AD_ERR_SCHEMA 601      /* provider for the requested schema unavailable */
#define MBX_AD_ERR_CONFIG 602      /* configuration errors for the address */
#define MBX_AD_ERR_INTERNAL 603    /* internal server error */

/* Parses a request body. Returns 0 with *req_r filled, or the POX error code (600, 601) with a
 * log-safe one-line reason in err. */
int mbx_ad_request_parse(const char *body, size_t len, struct mbx_ad_request *req_r, char *err,
                         size_t errsize);

/* --- the answers (ad-response.c) ------------------------------------------------------------ */

/*
 * Each writer returns a malloc'ed, NUL-terminated XML document (the caller frees it) with its
 * length in *len_r, or NULL when out of memory. Every text value is escaped: & < > " ' become
 * entities, and bytes that XML 1.0 cannot carry (invalid UTF-8, control characters other than
 * tab, CR and LF, U+FFFE/U+FFFF) become U+FFFD, so the output is well-formed for any input.
 * Every document starts with the XML declaration (clients such as exchangelib test for it).
 */

/* A settings answer (OXDSCLI 2.2.4.1.1.2, protocol.md 7.4). NULL strings are left out. */
struct mbx_ad_settings {
	/* User */
	const char *display_name;
	const char *legacy_dn;
	const char *smtp; /* AutoDiscoverSMTPAddress */
	/* mapihttp_version > 0: <Protocol Type="mapiHttp" Version="N"> with MailStore
	 * InternalUrl and ExternalUrl = mailstore_url, and no EXCH/EXPR (as Exchange 2019 does
	 * when the client sent X-MapiHttpCapability). 0: EXCH and EXPR instead. */
	unsigned mapihttp_version;
	const char *mailstore_url;
	/* EXCH: Server (the RPC server name), ServerDN (home server legacyExchangeDN), MdbDN
	 * (database legacyExchangeDN). EXPR: Server (the RPC/HTTP proxy host), SSL, AuthPackage
	 * basic. */
	const char *exch_server;
	const char *server_dn;
	const char *mdb_dn;
	const char *expr_server;
	bool expr_ssl;
};
char *mbx_ad_response_settings(const struct mbx_ad_settings *s, size_t *len_r);
/* Action redirectUrl with RedirectUrl url (OXDSCLI 2.2.4.1.1.2.9). */
char *mbx_ad_response_redirect_url(const char *url, size_t *len_r);
/* Action redirectAddr with RedirectAddr addr (OXDSCLI 2.2.4.1.1.2, example 4.2). */
char *mbx_ad_response_redirect_addr(const char *addr, size_t *len_r);
/* The error answer (OXDSCLI 2.2.4.1.1.3): Error Time="HH:MM:SS.fffffff" (UTC of now) and
 * Id="server_id", ErrorCode code, Message (the standard text of code), DebugData debug (NULL:
 * empty). */
char *mbx_ad_response_error(int code, const char *debug, const struct timespec *now,
                            uint32_t server_id, size_t *len_r);
/* The Message text of an error code ("Invalid Request" for 600, ...; 500 says "The e-mail
 * address cannot be found.", the text exchangelib maps to ErrorNonExistentMailbox). */
const char *mbx_ad_error_message(int code);
/* The Id attribute for a server name: FNV-1a 32 of the name, lower-cased. */
uint32_t mbx_ad_server_id(const char *name);

/* --- the service (ad-server.c) ------------------------------------------------------------- */

struct mbx_autodiscover_deps {
	struct mbx_mailbox_table *table;      /* required */
	const struct mbx_server_identity *id; /* required: forests, this server */
	const struct mbx_config *cfg;         /* [servers] base URLs; copied what is needed */
	/* Added, required: answers that need no lookup (600, 601) are delivered through it, so
	 * that the callback never runs inside mbx_autodiscover_serve (the daemon:
	 * mbx_dir_defer_init(&deps.defer, base), include/mbx/defer-event.h). */
	struct mbx_defer defer;
};

struct mbx_autodiscover;

/* Returns the service, or NULL with a message in err. The identity (name, legacy DN, forests)
 * and [servers] of cfg are copied: both may be freed afterwards. */
struct mbx_autodiscover *mbx_autodiscover_new(const struct mbx_autodiscover_deps *deps, char *err,
                                              size_t errsize);
/* A reloaded configuration: [servers] and forests again. */
void mbx_autodiscover_reconfigure(struct mbx_autodiscover *ad, const struct mbx_config *cfg,
                                  const struct mbx_server_identity *id);
/* Pending requests are cancelled without callbacks. Not from inside a callback. NULL-safe;
 * clears *ad. */
void mbx_autodiscover_free(struct mbx_autodiscover **ad);

/* One request as the front end saw it. */
struct mbx_ad_http_request {
	const char *body; /* len bytes */
	size_t len;
	const char *principal_dn; /* the authenticated user's entry DN (for the log) */
	const char *principal_name;
	/* X-MapiHttpCapability: 0 when absent or not a number 1..; else its value. */
	unsigned mapihttp_capability;
	const char *peer; /* for the log */
};

/* The answer: HTTP status (200 for every POX answer, errors included), and the XML body
 * (Content-Type text/xml; charset=utf-8). Valid during the callback only. */
typedef void mbx_ad_done_cb(void *ctx, int http_status, const char *xml, size_t len);

struct mbx_ad_req;

/* Serves a request. Returns a handle valid until cb has run, or NULL when nothing will be
 * called (out of memory: the front end answers 500). cb never runs before this returns. */
struct mbx_ad_req *mbx_autodiscover_serve(struct mbx_autodiscover *ad,
                                          const struct mbx_ad_http_request *in, mbx_ad_done_cb *cb,
                                          void *ctx);
/* cb of r will not run. NULL-safe. */
void mbx_autodiscover_cancel(struct mbx_ad_req *r);

#endif
