/*
 * mapihttp.h: the sans-I/O codecs of MAPI over HTTP for the mailbox endpoint ([MS-OXCMAPIHTTP];
 * protocol.md 5 and 6). No evhttp, no libevent: bytes and strings in, structs out, and back.
 *
 *   mh-codec.c     binary request and response bodies (2.2.4.1-2.2.4.4, 2.2.6 PING): decode
 *                  and encode both directions, so the daemon and the clients (mbxlogon,
 *                  mbxbench, tests) share one codec. Prefix mbx_mh_<body>_.
 *   mh-envelope.c  the text around a response body: meta-tags PROCESSING / PENDING / DONE and
 *                  the additional headers (2.2.7, 2.2.2.2, examples 4.1-4.5), the X-ResponseCode
 *                  table (2.2.3.3.3), X-RequestType names (2.2.3.3.1) and the checks of request
 *                  header and cookie values. Prefixes mbx_mh_env_, mbx_mh_rc_, mbx_mh_reqtype_,
 *                  mbx_mh_hdr_, mbx_mh_cookie_.
 *   mh-aux.c       AUX_HEADER blocks of the auxiliary buffers ([MS-OXCRPC] 2.2.2.2, 3.1.4.1.2):
 *                  parsing the client's rgbAuxIn, building the Connect rgbAuxOut. Prefix
 *                  mbx_mh_aux_.
 *
 * Decoders read from a struct rd and on failure leave its error (offset + message) set; they
 * never allocate: strings and byte fields point into the input, which must outlive the struct.
 * Every count from the wire is checked against the bytes left and against its named limit
 * below before it is used. Decoders of whole bodies require the body to end exactly after its
 * last field (trailing bytes are an error), so a successful decode re-encodes to the same
 * bytes.
 *
 * Encoders write into a struct wr and return 0, MBX_MH_ERR_ROOM (the writer is full; it is
 * rolled back to where it was) or MBX_MH_ERR_INVALID (a field breaks the format or a limit;
 * nothing is written).
 */
#ifndef MBX_MAPIHTTP_H
#define MBX_MAPIHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/types.h"
#include "mbx/wire.h"

#define MBX_MH_ERR_ROOM (-1)
#define MBX_MH_ERR_INVALID (-2)

/* ---- limits --------------------------------------------------------------------------- */

/* AuxiliaryBufferSize in every body, both ways: the range of cbAuxIn and pcbAuxOut of
 * EcDoConnectEx / EcDoRpcExt2 ([MS-OXCRPC] 3.1.4.1, 3.1.4.2: 0..0x1008). */
#define MBX_MH_AUX_MAX 0x1008u
/* RopBufferSize of an Execute request and response: the range of cbIn / pcbOut
 * (BIG_RANGE_ULONG 0..0x40000, [MS-OXCRPC] 3.1.4.2). MaxRopOut is decoded as sent; the
 * handler clamps it to this (protocol.md 4.6). */
#define MBX_MH_ROP_MAX 0x40000u
/* UserDn and DnPrefix: bytes including the NUL. A legacyExchangeDN is far shorter. */
#define MBX_MH_DN_MAX 1024u
/* DisplayName: UTF-16 code units including the NUL. */
#define MBX_MH_DISPLAYNAME_MAX 1024u
/* Bytes the UTF-8 form of the longest DisplayName needs, NUL included (a UTF-16 unit becomes at
 * most 3 bytes, a surrogate pair 4). A decode buffer of this size never runs short. */
#define MBX_MH_DISPLAYNAME_UTF8_MAX (3u * (MBX_MH_DISPLAYNAME_MAX - 1u) + 1u)

/* ---- bodies (mh-codec.c) --------------------------------------------------------------- */

/* Execute Flags (= EcDoRpcExt2 pulFlags, mbx/rhe.h MBX_RPC_*). */

/* Connect request body (2.2.4.1.1; protocol.md 5.6). */
struct mbx_mh_connect_req {
	const char *user_dn; /* NUL-terminated printable ASCII, into the body */
	size_t user_dn_len;  /* without the NUL */
	uint32_t flags;
	uint32_t cpid;        /* DefaultCodePage */
	uint32_t lcid_sort;   /* the first LCID on the wire (spec order: LcidSort, LcidString) */
	uint32_t lcid_string; /* the second */
	uint32_t aux_len;
	const uint8_t *aux; /* aux_len bytes into the body (an empty reader's buffer when 0) */
};

/* Decodes a Connect request body: UserDn must be NUL-terminated within MBX_MH_DN_MAX bytes and
 * printable ASCII (0x20..0x7E); AuxiliaryBufferSize is checked against the bytes left, then
 * against MBX_MH_AUX_MAX. The two LCIDs are kept as they come: gromox and ruler send LcidString
 * first, the spec LcidSort first (protocol.md 5.6), and clients send the same LCID in both, so
 * no value is judged here. Returns 0 or -1 (r's error says what and where). */
int mbx_mh_connect_req_decode(struct rd *r, struct mbx_mh_connect_req *req_r);
/* Client side. user_dn_len is ignored: strlen(user_dn) is used. */
int mbx_mh_connect_req_encode(struct wr *w, const struct mbx_mh_connect_req *req);

/* Connect success response body (2.2.4.1.2). StatusCode is 0 on the wire. */
struct mbx_mh_connect_rsp {
	uint32_t error_code; /* EcDoConnectEx return value */
	uint32_t polls_max;  /* ms */
	uint32_t retry_count;
	uint32_t retry_delay;  /* ms */
	const char *dn_prefix; /* printable ASCII; NULL encodes as "" */
	/* UTF-8; sent as NUL-terminated UTF-16LE. NULL encodes as "". On decode it points to the
	 * caller's name buffer. */
	const char *display_name;
	uint32_t aux_len;
	const uint8_t *aux;
};

/* Server side. display_name must be valid UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF) of at most MBX_MH_DISPLAYNAME_MAX - 1 UTF-16 units; dn_prefix printable ASCII
 * below MBX_MH_DN_MAX bytes; aux_len <= MBX_MH_AUX_MAX. Otherwise MBX_MH_ERR_INVALID. */
int mbx_mh_connect_rsp_encode(struct wr *w, const struct mbx_mh_connect_rsp *rsp);
/* Client side: StatusCode must be 0 (else r fails: decode the failure body instead), the
 * DisplayName is converted to UTF-8 into name_buf (name_cap bytes; MBX_MH_DISPLAYNAME_UTF8_MAX
 * always suffices) and rejected if it holds an unpaired surrogate. Returns 0 or -1. */
int mbx_mh_connect_rsp_decode(struct rd *r, struct mbx_mh_connect_rsp *rsp_r, char *name_buf,
                              size_t name_cap);

/* Execute request body (2.2.4.2.1). The RopBuffer is kept raw: one or more extended buffers
 * (RPC_HEADER_EXT + payload) for mbx_rhe_read / mbx_ropbuf_decode. */
struct mbx_mh_execute_req {
	uint32_t flags; /* MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC | MBX_RPC_CHAIN, as sent */
	uint32_t rop_len;
	const uint8_t *rop;
	uint32_t max_rop_out; /* as sent; clamp to MBX_MH_ROP_MAX before use */
	uint32_t aux_len;
	const uint8_t *aux;
};

/* RopBufferSize <= MBX_MH_ROP_MAX and AuxiliaryBufferSize <= MBX_MH_AUX_MAX, each checked
 * against the bytes left first. Returns 0 or -1. */
int mbx_mh_execute_req_decode(struct rd *r, struct mbx_mh_execute_req *req_r);
int mbx_mh_execute_req_encode(struct wr *w, const struct mbx_mh_execute_req *req);

/* Execute success response body (2.2.4.2.2). */
struct mbx_mh_execute_rsp {
	uint32_t error_code; /* EcDoRpcExt2 return value */
	uint32_t flags;      /* reserved: a server leaves it 0, a client ignores it */
	uint32_t rop_len;
	const uint8_t *rop;
	uint32_t aux_len;
	const uint8_t *aux;
};

int mbx_mh_execute_rsp_encode(struct wr *w, const struct mbx_mh_execute_rsp *rsp);
int mbx_mh_execute_rsp_decode(struct rd *r, struct mbx_mh_execute_rsp *rsp_r);
/* The same body written in place, so the ROP executor can write its RopBuffer straight into w:
 * _begin writes StatusCode 0, ErrorCode, Flags 0 and a placeholder RopBufferSize and returns
 * the offset of the body's start (or SIZE_MAX if w had no room); the caller writes the
 * RopBuffer; _finish patches RopBufferSize to what was written since, checks it against
 * MBX_MH_ROP_MAX and appends AuxiliaryBufferSize + aux. On failure w is rolled back to the
 * offset _begin returned. */
size_t mbx_mh_execute_rsp_begin(struct wr *w, uint32_t error_code);
int mbx_mh_execute_rsp_finish(struct wr *w, size_t begin, const uint8_t *aux, uint32_t aux_len);

/* Disconnect request body (2.2.4.3.1): AuxiliaryBufferSize + AuxiliaryBuffer. */
struct mbx_mh_disconnect_req {
	uint32_t aux_len;
	const uint8_t *aux;
};
int mbx_mh_disconnect_req_decode(struct rd *r, struct mbx_mh_disconnect_req *req_r);
int mbx_mh_disconnect_req_encode(struct wr *w, const struct mbx_mh_disconnect_req *req);

/* Disconnect success response body (2.2.4.3.2): StatusCode 0, ErrorCode, aux. */
struct mbx_mh_disconnect_rsp {
	uint32_t error_code;
	uint32_t aux_len;
	const uint8_t *aux;
};
int mbx_mh_disconnect_rsp_encode(struct wr *w, const struct mbx_mh_disconnect_rsp *rsp);
int mbx_mh_disconnect_rsp_decode(struct rd *r, struct mbx_mh_disconnect_rsp *rsp_r);

/* NotificationWait request body (2.2.4.4.1): Flags (reserved, sent 0) + aux. */
struct mbx_mh_nwait_req {
	uint32_t flags; /* reserved: kept as sent, not judged */
	uint32_t aux_len;
	const uint8_t *aux;
};
int mbx_mh_nwait_req_decode(struct rd *r, struct mbx_mh_nwait_req *req_r);
int mbx_mh_nwait_req_encode(struct wr *w, const struct mbx_mh_nwait_req *req);

/* NotificationWait success response body (2.2.4.4.2). */
#define MBX_MH_EVENT_PENDING 0x00000001u /* the client should send an Execute */
struct mbx_mh_nwait_rsp {
	uint32_t error_code;
	uint32_t event_pending; /* 0 or MBX_MH_EVENT_PENDING */
	uint32_t aux_len;
	const uint8_t *aux;
};
int mbx_mh_nwait_rsp_encode(struct wr *w, const struct mbx_mh_nwait_rsp *rsp);
int mbx_mh_nwait_rsp_decode(struct rd *r, struct mbx_mh_nwait_rsp *rsp_r);

/* PING (2.2.6) has no request body and no response body: the decoder accepts only an empty
 * body. Returns 0 or -1. */
int mbx_mh_ping_req_decode(struct rd *r);

/* The failure response body of every request type (2.2.4.1.3, 2.2.4.2.3, 2.2.4.3.3,
 * 2.2.4.4.3): StatusCode (MUST NOT be 0) + AuxiliaryBufferSize + aux. protocol.md 5.6: the
 * spec's layout, not gromox' (which writes the status where the size belongs). */
struct mbx_mh_failure {
	uint32_t status_code; /* non-zero */
	uint32_t aux_len;
	const uint8_t *aux;
};
/* MBX_MH_ERR_INVALID for status_code 0. */
int mbx_mh_failure_encode(struct wr *w, const struct mbx_mh_failure *f);
/* Fails r for StatusCode 0 (that is a success body). */
int mbx_mh_failure_decode(struct rd *r, struct mbx_mh_failure *f_r);

/* Client side: reads the leading StatusCode of a response body without consuming anything, so
 * the caller knows whether to decode a success or a failure body. Returns 0 and sets
 * *status_r, or -1 (fewer than 4 bytes; r fails). */
int mbx_mh_rsp_status(struct rd *r, uint32_t *status_r);

/* ---- envelope, response codes, request types, header values (mh-envelope.c) -------------- */

/* Meta-tag lines of the response stream (2.2.7). In a chunked response each goes out as its
 * own chunk (example 4.2: "C\r\nPROCESSING\r\n\r\n", "9\r\nPENDING\r\n\r\n"). */
#define MBX_MH_META_PROCESSING "PROCESSING\r\n"
#define MBX_MH_META_PENDING "PENDING\r\n"
#define MBX_MH_META_DONE "DONE\r\n"

/* Longest DONE block mbx_mh_env_done writes. */
#define MBX_MH_ENV_DONE_MAX 160u

/* Writes the text that follows the last PENDING and precedes the binary body, as in examples
 * 4.1, 4.4 and 4.5: "DONE\r\n", the additional headers "X-ResponseCode: <code>\r\n",
 * "X-ElapsedTime: <ms>\r\n", "X-StartTime: <RFC 1123 date, GMT>\r\n", then "\r\n". The
 * response code is repeated here although it is also an HTTP header (the examples do; gromox
 * does not, protocol.md 5.5), and the elapsed time is in milliseconds (gromox: seconds).
 * Returns 0 or MBX_MH_ERR_ROOM (rolled back); MBX_MH_ERR_INVALID if start cannot be broken
 * down into a date. */
int mbx_mh_env_done(struct wr *w, uint32_t response_code, uint64_t elapsed_ms, time_t start);
/* A whole non-chunked response stream: PROCESSING, DONE block, body (example 4.1). */
int mbx_mh_env_write(struct wr *w, uint32_t response_code, uint64_t elapsed_ms, time_t start,
                     const uint8_t *body, size_t body_len);
/* Formats t as an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT", always 29 characters) into
 * buf (at least 30 bytes). Returns 0, or -1 if t cannot be broken down or the year has more
 * than four digits. */
int mbx_mh_env_http_date(time_t t, char *buf, size_t size);

/* Limits of the client-side envelope parser. */
#define MBX_MH_ENV_LINE_MAX 1024u  /* one meta-tag or header line, CRLF included */
#define MBX_MH_ENV_HEADERS_MAX 32u /* additional header lines */

/* What the client-side parser found before the body. */
struct mbx_mh_env {
	unsigned pending;       /* PENDING lines */
	bool has_response_code; /* gromox omits the additional X-ResponseCode */
	uint32_t response_code;
	bool has_elapsed;
	uint64_t elapsed_ms;
	const char *start_time; /* X-StartTime value, into the input, not NUL-terminated */
	size_t start_time_len;  /* 0 if absent */
	unsigned other_headers; /* well-formed additional headers we do not know */
	size_t body_off;        /* absolute offset of the body (rd_pos when done) */
};

#define MBX_MH_ENV_DONE 1
#define MBX_MH_ENV_MORE 0
#define MBX_MH_ENV_BAD (-1)
/* Parses the (de-chunked) response stream at r's position: "PROCESSING\r\n", any number of
 * "PENDING\r\n", "DONE\r\n", additional headers "Name: value\r\n", "\r\n". Tolerant of PENDING
 * lines and of missing or unknown additional headers; strict about the rest: exact meta-tags
 * with CRLF, header names of token characters, values of visible characters and blanks,
 * decimal X-ResponseCode (at most 10 digits, fits 32 bits) and X-ElapsedTime (fits 64 bits),
 * no known header twice, bounded lines and header count.
 * Returns MBX_MH_ENV_DONE (r now at the body, env_r->body_off its offset), MBX_MH_ENV_MORE (all
 * bytes so far are a valid beginning: read more and call again from the same start; r and
 * env_r untouched) or MBX_MH_ENV_BAD (r fails with offset and reason). */
int mbx_mh_env_parse(struct rd *r, struct mbx_mh_env *env_r);

/* X-ResponseCode values (2.2.3.3.3; protocol.md 5.4): X(code, NAME, "spec name", "text"). The
 * text is our short diagnostic for the body of a non-zero response. */
#define MBX_MH_RC_LIST(X)                                                                          \
	X(0, SUCCESS, "Success", "the request was accepted")                                       \
	X(1, UNKNOWN_FAILURE, "Unknown Failure", "the server failed for an unknown reason")        \
	X(2, INVALID_VERB, "Invalid Verb", "the HTTP method must be POST")                         \
	X(3, INVALID_PATH, "Invalid Path", "the request path names no MAPI/HTTP endpoint")         \
	X(4, INVALID_HEADER, "Invalid Header", "a request header has an invalid value")            \
	X(5, INVALID_REQUEST_TYPE, "Invalid Request Type",                                         \
	  "X-RequestType names no request type of this endpoint")                                  \
	X(6, INVALID_CONTEXT_COOKIE, "Invalid Context Cookie",                                     \
	  "the session context cookie is malformed")                                               \
	X(7, MISSING_HEADER, "Missing Header", "a required request header is missing")             \
	X(8, ANONYMOUS_NOT_ALLOWED, "Anonymous Not Allowed", "the request must be authenticated")  \
	X(9, TOO_LARGE, "Too Large", "the request body exceeds the server's limit")                \
	X(10, CONTEXT_NOT_FOUND, "Context Not Found",                                              \
	  "the session context does not exist or has expired")                                     \
	X(11, NO_PRIVILEGE, "No Privilege", "the session context belongs to another user")         \
	X(12, INVALID_REQUEST_BODY, "Invalid Request Body", "the request body is malformed")       \
	X(13, MISSING_COOKIE, "Missing Cookie", "a required session cookie is missing")            \
	X(14, RESERVED, "Reserved", "reserved code")                                               \
	X(15, INVALID_SEQUENCE, "Invalid Sequence",                                                \
	  "the request sequence cookie does not match: one request at a time per session")         \
	X(16, ENDPOINT_DISABLED, "Endpoint Disabled", "the endpoint is disabled")                  \
	X(17, INVALID_RESPONSE, "Invalid Response", "the server produced an invalid response")     \
	X(18, ENDPOINT_SHUTTING_DOWN, "Endpoint Shutting Down", "the endpoint is shutting down")

enum mbx_mh_rc {
#define MBX_MH_RC_ENUM(code, name, spec, text) MBX_MH_RC_##name = (code),
	MBX_MH_RC_LIST(MBX_MH_RC_ENUM)
#undef MBX_MH_RC_ENUM
};
#define MBX_MH_RC_MAX 18u

/* "Invalid Sequence"; NULL for a code outside 0..18. */
const char *mbx_mh_rc_name(uint32_t code);
/* Our diagnostic sentence; "unknown X-ResponseCode" outside 0..18. */
const char *mbx_mh_rc_text(uint32_t code);

/* X-RequestType (2.2.3.3.1). */
enum mbx_mh_reqtype {
	MBX_MH_REQ_UNKNOWN = 0,
	MBX_MH_REQ_CONNECT,
	MBX_MH_REQ_EXECUTE,
	MBX_MH_REQ_DISCONNECT,
	MBX_MH_REQ_NOTIFICATIONWAIT,
	MBX_MH_REQ_PING,
	MBX_MH_REQ_ADDRESS_BOOK, /* a request type of the address book endpoint: not served here */
};
/* Matches the value case-insensitively (gromox does too) against the mailbox request types and
 * the address book ones (Bind, Unbind, CompareMIds, DNToMId, GetMatches, GetPropList, GetProps,
 * GetSpecialTable, GetTemplateInfo, ModLinkAtt, ModProps, QueryRows, QueryColumns,
 * ResolveNames, ResortRestriction, SeekEntries, UpdateStat, GetMailboxUrl,
 * GetAddressBookUrl). NULL gives MBX_MH_REQ_UNKNOWN. */
enum mbx_mh_reqtype mbx_mh_reqtype_parse(const char *value);
/* The canonical header value ("NotificationWait", "PING"); "address book" and "unknown" for the
 * other two. */
const char *mbx_mh_reqtype_name(enum mbx_mh_reqtype t);

/* Header value checks. Each returns 0, or -1 with *why_r (may be NULL) set to a static
 * sentence for the log and the diagnostic body. */
#define MBX_MH_REQUESTID_MAX 256u  /* X-RequestId characters */
#define MBX_MH_CLIENTINFO_MAX 256u /* X-ClientInfo characters */
#define MBX_MH_CLIENTAPP_MAX 256u  /* X-ClientApplication characters */
/* X-RequestId (2.2.3.3.2): the convention is "{GUID}:<counter>", but any token of visible
 * ASCII (0x21..0x7E), 1..MBX_MH_REQUESTID_MAX characters, is accepted and echoed. */
int mbx_mh_hdr_request_id_check(const char *v, const char **why_r);
/* X-ClientInfo (2.2.3.3.4): "{GUID}:<counter>" by the spec, "{GUID}" from ruler; the same
 * token rule, MBX_MH_CLIENTINFO_MAX. */
int mbx_mh_hdr_client_info_check(const char *v, const char **why_r);
/* Splits a "{GUID}:<counter>" value (X-RequestId, X-ClientInfo): returns 0 with the GUID and
 * the decimal counter (up to 19 digits), or -1 if the value does not follow the convention
 * (which is not an error by itself). */
int mbx_mh_hdr_guid_counter(const char *v, struct mbx_guid *g_r, uint64_t *counter_r);
/* X-ClientApplication (2.2.3.3.6): printable ASCII (0x20..0x7E), 1..MBX_MH_CLIENTAPP_MAX. */
int mbx_mh_hdr_client_app_check(const char *v, const char **why_r);
/* Derives the client version words of EcDoConnectEx rgwClientVersion from
 * "Outlook/a.b.c.d" the way gromox does: {a << 8 | b, c | 0x8000, d} ("Outlook/" matched
 * case-insensitively; each part 1..5 decimal digits; nothing after d). Unlike gromox, parts
 * that do not fit (a or b > 255, c > 0x7FFF, d > 0xFFFF) are refused instead of wrapping.
 * Returns 0 or -1 (not an Outlook version string). */
int mbx_mh_hdr_client_version(const char *v, uint16_t ver_r[3]);
/* Content-Type (2.2.3.2.2): "application/mapi-http", case-insensitive, optionally followed by
 * parameters (";" name "=" token or quoted-string, blanks around the ";"). */
int mbx_mh_hdr_content_type_check(const char *v, const char **why_r);

/* Session cookies (example 4.2; protocol.md 5.3: Exchange's names, not gromox' sid/sequence). */
#define MBX_MH_COOKIE_CONTEXT "MapiContext"
#define MBX_MH_COOKIE_SEQUENCE "MapiSequence"
#define MBX_MH_COOKIE_VALUE_MAX 128u
/* A cookie value we could have issued: 1..MBX_MH_COOKIE_VALUE_MAX characters of
 * A-Z a-z 0-9 '-' '_' '.'. The session layer generates values from this set. */
int mbx_mh_cookie_value_check(const char *v, size_t len, const char **why_r);
/* Finds the cookie `name` (exact case) in one Cookie header value ("a=b; c=d", RFC 6265
 * 4.2.1). Returns 1 with *val_r / *len_r pointing into the header (the value unchecked: use
 * mbx_mh_cookie_value_check), 0 if absent, -1 if the header is malformed (a pair without '=',
 * an empty name) or names the cookie twice. */
int mbx_mh_cookie_find(const char *header, const char *name, const char **val_r, size_t *len_r,
                       const char **why_r);

/* ---- auxiliary buffers (mh-aux.c) ------------------------------------------------------- */

/* AUX_HEADER (4 bytes: Size including the header, Version, Type), [MS-OXCRPC] 2.2.2.2. */
#define MBX_MH_AUX_HDRLEN 4u
#define MBX_MH_AUX_VERSION_1 0x01
#define MBX_MH_AUX_VERSION_2 0x02

#define MBX_MH_AUX_TYPE_PERF_REQUESTID 0x01
#define MBX_MH_AUX_TYPE_PERF_CLIENTINFO 0x02
#define MBX_MH_AUX_TYPE_PERF_SERVERINFO 0x03
#define MBX_MH_AUX_TYPE_PERF_SESSIONINFO 0x04
#define MBX_MH_AUX_TYPE_PERF_DEFMDB_SUCCESS 0x05
#define MBX_MH_AUX_TYPE_PERF_DEFGC_SUCCESS 0x06
#define MBX_MH_AUX_TYPE_PERF_MDB_SUCCESS 0x07
#define MBX_MH_AUX_TYPE_PERF_GC_SUCCESS 0x08
#define MBX_MH_AUX_TYPE_PERF_FAILURE 0x09
#define MBX_MH_AUX_TYPE_CLIENT_CONTROL 0x0A
#define MBX_MH_AUX_TYPE_PERF_PROCESSINFO 0x0B
#define MBX_MH_AUX_TYPE_PERF_BG_DEFMDB_SUCCESS 0x0C
#define MBX_MH_AUX_TYPE_PERF_BG_DEFGC_SUCCESS 0x0D
#define MBX_MH_AUX_TYPE_PERF_BG_MDB_SUCCESS 0x0E
#define MBX_MH_AUX_TYPE_PERF_BG_GC_SUCCESS 0x0F
#define MBX_MH_AUX_TYPE_PERF_BG_FAILURE 0x10
#define MBX_MH_AUX_TYPE_PERF_FG_DEFMDB_SUCCESS 0x11
#define MBX_MH_AUX_TYPE_PERF_FG_DEFGC_SUCCESS 0x12
#define MBX_MH_AUX_TYPE_PERF_FG_MDB_SUCCESS 0x13
#define MBX_MH_AUX_TYPE_PERF_FG_GC_SUCCESS 0x14
#define MBX_MH_AUX_TYPE_PERF_FG_FAILURE 0x15
#define MBX_MH_AUX_TYPE_OSVERSIONINFO 0x16
#define MBX_MH_AUX_TYPE_EXORGINFO 0x17
#define MBX_MH_AUX_TYPE_PERF_ACCOUNTINFO 0x18
#define MBX_MH_AUX_TYPE_SERVER_CAPABILITIES 0x46
#define MBX_MH_AUX_TYPE_ENDPOINT_CAPABILITIES 0x48
#define MBX_MH_AUX_TYPE_EXCEPTION_TRACE 0x49
#define MBX_MH_AUX_TYPE_CLIENT_CONNECTION_INFO 0x4A
#define MBX_MH_AUX_TYPE_SERVER_SESSION_INFO 0x4B
#define MBX_MH_AUX_TYPE_PROTOCOL_DEVICE_ID 0x4E

/* AUX_EXORGINFO OrgFlags (2.2.2.2.17) */
#define MBX_MH_AUX_PUBLIC_FOLDERS_ENABLED 0x00000001u
#define MBX_MH_AUX_USE_AUTODISCOVER_FOR_PUBLIC_FOLDERS 0x00000002u
/* AUX_CLIENT_CONTROL EnableFlags (2.2.2.2.15) */
#define MBX_MH_AUX_ENABLE_PERF_SENDTOSERVER 0x00000001u
#define MBX_MH_AUX_ENABLE_COMPRESSION 0x00000004u
#define MBX_MH_AUX_ENABLE_HTTP_TUNNELING 0x00000008u
#define MBX_MH_AUX_ENABLE_PERF_SENDGCDATA 0x00000010u
/* AUX_ENDPOINT_CAPABILITIES EndpointCapabilityFlags (2.2.2.2.20) */
#define MBX_MH_AUX_ENDPOINT_SINGLE 0x00000001u

/* One auxiliary block. */
struct mbx_mh_aux_block {
	uint16_t size; /* the AUX_HEADER Size: header + data */
	uint8_t version;
	uint8_t type;
	const uint8_t *data; /* size - 4 bytes after the header */
	size_t data_len;
	size_t off; /* absolute offset of the header (the reader's base counts) */
};

/* Walks the blocks of an aux payload (after mbx_rhe_read). */
struct mbx_mh_aux_iter {
	struct rd r;
	unsigned count; /* blocks returned so far */
};
/* The payload is payload[0..len); base is its absolute offset for error messages. */
void mbx_mh_aux_iter_init(struct mbx_mh_aux_iter *it, const uint8_t *payload, size_t len,
                          size_t base);
/* Returns 1 and the next block, 0 at the end of the payload, or -1 with it->r's error set: a
 * Size below 4 or beyond the bytes left. A block whose Version/Type we do not know is returned
 * like any other (3.1.4.1.2: the receiver MUST skip it without an error). */
int mbx_mh_aux_next(struct mbx_mh_aux_iter *it, struct mbx_mh_aux_block *blk_r);
/* Whether [MS-OXCRPC] 2.2.2.2 defines a block for this Version/Type pair. */
bool mbx_mh_aux_known(uint8_t version, uint8_t type);
/* "AUX_TYPE_PERF_CLIENTINFO" etc., NULL for a type number 2.2.2.2 does not name. */
const char *mbx_mh_aux_type_name(uint8_t type);

/* Reads a whole AuxiliaryBuffer from a request body (its aux/aux_len, base = its absolute
 * offset in the body): empty is fine (*len_r = 0); otherwise exactly one extended buffer with
 * Last set (3.1.4.1.1.1.1) and nothing after it, un-XORed and decompressed by mbx_rhe_read into
 * payload (MBX_RHE_MAX_PAYLOAD bytes), whose blocks must all be well formed (Size >= 4, within
 * the payload). Returns 0 or -1 (r, a reader over the aux bytes, holds the error). */
int mbx_mh_aux_in_read(struct rd *r, uint8_t *payload, size_t *len_r);

/* What the server puts in the Connect rgbAuxOut (protocol.md 6): AUX_EXORGINFO,
 * AUX_CLIENT_CONTROL, AUX_ENDPOINT_CAPABILITIES, all Version 1, in that order. */
struct mbx_mh_aux_connect {
	uint32_t org_flags;      /* AUX_EXORGINFO OrgFlags */
	uint32_t enable_flags;   /* AUX_CLIENT_CONTROL EnableFlags */
	uint32_t expiry_ms;      /* AUX_CLIENT_CONTROL ExpiryTime */
	uint32_t endpoint_flags; /* AUX_ENDPOINT_CAPABILITIES EndpointCapabilityFlags */
};
/* gromox' values: PUBLIC_FOLDERS_ENABLED | USE_AUTODISCOVER_FOR_PUBLIC_FOLDERS,
 * ENABLE_COMPRESSION | ENABLE_HTTP_TUNNELING, 604800000 ms (7 days), SINGLE_ENDPOINT. */
extern const struct mbx_mh_aux_connect mbx_mh_aux_connect_default;
/* Size of the buffer mbx_mh_aux_connect_write produces: 8 + 8 + 12 + 8. */
#define MBX_MH_AUX_CONNECT_LEN 36u
/* Writes the Connect rgbAuxOut: RPC_HEADER_EXT (Version 0, Flags Last, uncompressed and not
 * XORed: 28-byte payload) + the three blocks. c NULL means mbx_mh_aux_connect_default. Returns
 * 0 or MBX_MH_ERR_ROOM (rolled back). */
int mbx_mh_aux_connect_write(struct wr *w, const struct mbx_mh_aux_connect *c);
/* Client side: reads a Connect rgbAuxOut (as mbx_mh_aux_in_read does) and picks the three
 * Version 1 blocks out of it; a field whose block is absent is 0, other blocks are skipped. One
 * of the three that is shorter than its fields, or comes twice, fails. Returns 0 or -1. */
int mbx_mh_aux_connect_read(struct rd *r, struct mbx_mh_aux_connect *c_r);

#endif
