/*
 * oxcstor.h: RopLogon (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1; protocol.md 1, 2) and RopRelease
 * (MS-OXCROPS 2.2.15.3) codecs: decode and encode the request and all four RopLogon responses
 * (private success 166 bytes, public success 145 bytes, ecWrongServer redirect with the Wrong
 * Server Buffer, 6-byte failure). Pure: bytes in, struct out.
 */
#ifndef MBX_OXCSTOR_H
#define MBX_OXCSTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/types.h"
#include "mbx/wire.h"

/* LogonFlags (1 byte) */
#define MBX_LOGON_PRIVATE 0x01
#define MBX_LOGON_UNDERCOVER 0x02
#define MBX_LOGON_GHOSTED 0x04
#define MBX_LOGON_SPOOLER_PROCESS 0x08

/* OpenFlags (4 bytes) */
#define MBX_OPEN_USE_ADMIN_PRIVILEGE 0x00000001u
#define MBX_OPEN_PUBLIC 0x00000002u
#define MBX_OPEN_HOME_LOGON 0x00000004u
#define MBX_OPEN_TAKE_OWNERSHIP 0x00000008u
#define MBX_OPEN_ALTERNATE_SERVER 0x00000100u
#define MBX_OPEN_IGNORE_HOME_MDB 0x00000200u
#define MBX_OPEN_NO_MAIL 0x00000400u
#define MBX_OPEN_USE_PER_MDB_REPLID_MAPPING 0x01000000u
#define MBX_OPEN_SUPPORT_PROGRESS 0x20000000u

/* ResponseFlags (private success) */
#define MBX_RESP_RESERVED 0x01
#define MBX_RESP_OWNER_RIGHT 0x02
#define MBX_RESP_SEND_AS_RIGHT 0x04
#define MBX_RESP_OOF 0x10

#define MBX_LOGON_REQ_MIN 14
#define MBX_LOGON_RESP_PRIVATE_LEN 166
#define MBX_LOGON_RESP_PUBLIC_LEN 145
#define MBX_LOGON_RESP_FAILURE_LEN 6
#define MBX_LOGON_NFIDS 13
#define MBX_SERVERNAME_MAX 255 /* ServerNameSize is one byte and counts the NUL */
/* Largest RopLogon response: 8 + 255 bytes of redirect. */
#define MBX_LOGON_RESP_MAX (8 + MBX_SERVERNAME_MAX)

/* Private FolderIds order (protocol.md 2.1). */
enum mbx_private_folder {
	MBX_FOLDER_ROOT,
	MBX_FOLDER_DEFERRED_ACTION,
	MBX_FOLDER_SPOOLER_QUEUE,
	MBX_FOLDER_IPM_SUBTREE,
	MBX_FOLDER_INBOX,
	MBX_FOLDER_OUTBOX,
	MBX_FOLDER_SENT_ITEMS,
	MBX_FOLDER_DELETED_ITEMS,
	MBX_FOLDER_COMMON_VIEWS,
	MBX_FOLDER_SCHEDULE,
	MBX_FOLDER_SEARCH,
	MBX_FOLDER_VIEWS,
	MBX_FOLDER_SHORTCUTS,
};

struct mbx_logon_req {
	uint8_t logon_id;
	uint8_t out_idx; /* OutputHandleIndex */
	uint8_t logon_flags;
	uint32_t open_flags;
	uint32_t store_state;
	uint16_t essdn_size; /* including the NUL; 0 = no Essdn */
	const char *essdn;   /* NUL-terminated, points into the input; "" when essdn_size == 0 */
};

/* Decodes a RopLogon request at r's position (starting at RopId 0xFE): every field of
 * protocol.md 1.1. Fails r for a wrong RopId, a truncated request, an EssdnSize beyond the
 * bytes left, or an Essdn that does not end with a NUL exactly at EssdnSize or holds an
 * earlier NUL. LogonFlags bits outside 0x0F, unknown OpenFlags bits and a non-zero StoreState
 * are accepted and kept verbatim: MS-OXCSTOR 2.2.1.1.1 forbids them to the client only and has
 * the server ignore what it does not act on (and echo LogonFlags unchanged); the logon logic
 * ignores them. EssdnSize 1 (a lone NUL) gives essdn "" with essdn_size 1.
 * Returns 0 or -1; on -1 *req_r holds what was read before the error. */
int mbx_roplogon_req_decode(struct rd *r, struct mbx_logon_req *req_r);
/* Encodes a request (for clients and tests). EssdnSize is strlen(essdn) + 1; essdn NULL or ""
 * gives EssdnSize 0, or EssdnSize 1 and a lone NUL if essdn_size is 1 (so that a decoded
 * request re-encodes to the same bytes); essdn_size is otherwise not used.
 * Returns 0 or -1 on overflow / an Essdn longer than 65534 bytes. On overflow w stays in
 * overflow (the caller rolls back to its mark); an invalid Essdn writes nothing. */
int mbx_roplogon_req_encode(struct wr *w, const struct mbx_logon_req *req);

enum mbx_logon_resp_kind {
	MBX_LOGON_RESP_PRIVATE,  /* ReturnValue 0, Private */
	MBX_LOGON_RESP_PUBLIC,   /* ReturnValue 0, public folders */
	MBX_LOGON_RESP_REDIRECT, /* ecWrongServer + Wrong Server Buffer */
	MBX_LOGON_RESP_FAILURE,  /* any other ReturnValue, 6 bytes */
};

struct mbx_logon_resp {
	enum mbx_logon_resp_kind kind;
	uint8_t out_idx;
	uint32_t rv; /* ReturnValue */
	uint8_t logon_flags;
	struct mbx_fid fids[MBX_LOGON_NFIDS];
	/* private */
	uint8_t response_flags;
	struct mbx_guid mailbox_guid;
	uint16_t replid;
	struct mbx_guid repl_guid;
	struct mbx_logon_time logon_time;
	uint64_t gwart_time; /* FILETIME */
	uint32_t store_state;
	/* public */
	struct mbx_guid per_user_guid;
	/* redirect: the legacyExchangeDN of the server to use (NUL-terminated, <= 254 chars) */
	char server[MBX_SERVERNAME_MAX + 1];
};

/* Encodes resp according to resp->kind (the caller sets rv to 0, ecWrongServer or the error).
 * Fails without writing anything if kind disagrees with what a decoder would infer (PRIVATE
 * needs rv 0 and the Private bit in logon_flags, PUBLIC rv 0 without it, REDIRECT rv
 * ecWrongServer, FAILURE any other rv) or, for a redirect, if server is empty or longer than
 * 254 bytes, or for a private success, if mbx_logon_time_valid() rejects logon_time (the
 * decoder would refuse it). Returns 0 or -1; on overflow w stays in overflow (the caller rolls
 * back to its mark). */
int mbx_roplogon_resp_encode(struct wr *w, const struct mbx_logon_resp *resp);
/* Decodes a response at r's position. The layout follows from ReturnValue and, for success,
 * from the echoed LogonFlags' Private bit. A redirect needs ServerNameSize >= 2 (a non-empty
 * name and its NUL, no earlier NUL). A LogonTime outside the ranges of protocol.md 2.5 fails
 * (rd_logon_time validates). Fields a layout lacks are zero. Returns 0 or -1 with r's error
 * set. */
int mbx_roplogon_resp_decode(struct rd *r, struct mbx_logon_resp *resp_r);

/* RopRelease: RopId 0x01, LogonId, InputHandleIndex; no response. */
struct mbx_release_req {
	uint8_t logon_id;
	uint8_t in_idx;
};
/* Decodes the 3-byte request at r's position (RopId must be 0x01). Returns 0 or -1. */
int mbx_roprelease_req_decode(struct rd *r, struct mbx_release_req *req_r);
/* Returns 0 or -1 on overflow. */
int mbx_roprelease_req_encode(struct wr *w, const struct mbx_release_req *req);

/* "Private|Undercover" style names for logs and mbxctl, into buf: the names of protocol.md
 * 1.2 / 1.3 in bit order, then any unknown bits together as "0x%x"; "0" for no flags. The
 * text is truncated to fit size (NUL-terminated if size > 0). Return buf. */
const char *mbx_logon_flags_str(uint8_t flags, char *buf, size_t size);
const char *mbx_open_flags_str(uint32_t flags, char *buf, size_t size);

#endif
