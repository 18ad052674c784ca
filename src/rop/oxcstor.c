/*
 * oxcstor.c: RopLogon and RopRelease codecs (MS-OXCROPS 2.2.3.1.1-2.2.3.1.4 and 2.2.15.3,
 * MS-OXCSTOR 2.2.1.1.1-2.2.1.1.4; protocol.md 1 and 2). Decoders are pure: bytes in through
 * struct rd, struct out; encoders write through struct wr. No I/O, no store access.
 *
 * Choices where the specifications leave room (each tested in tests/unit/test-oxcstor.c):
 *  - LogonFlags bits outside 0x0F are accepted and kept verbatim. MS-OXCSTOR 2.2.1.1.1 only
 *    says the client MUST NOT set them; it gives the server no rule to reject them (the three
 *    defined "ignored" bits show the server is expected to ignore what it does not act on), and
 *    2.2.1.1.2-2.2.1.1.4 have the server return the request's LogonFlags unchanged while the
 *    client ignores the other bits. Failing the decode would turn a harmless bit into
 *    ecRpcFormat for the whole call. The same goes for unknown OpenFlags bits and a non-zero
 *    StoreState ("not used and ignored by the server").
 *  - EssdnSize counts the NUL, so EssdnSize 1 with a lone NUL is an empty DN: accepted, essdn
 *    is "" and essdn_size stays 1 (the encoder writes it back as 01 00 00).
 *  - Essdn bytes are not checked for ASCII: the directory lookup decides whether the DN exists.
 *  - LogonTime: rd_logon_time() (types.h, shared by all codecs) validates the ranges of
 *    protocol.md 2.5, so a response whose LogonTime is out of range fails to decode, with the
 *    field and its offset in the message ("LogonTime: Month 13 out of range 1..12"). That is
 *    as informative for a client tool as decoding and flagging it, and it keeps one rule for
 *    LogonTime in the code base. To stay symmetric the encoder refuses a LogonTime that
 *    mbx_logon_time_valid() rejects (e.g. the all-zero value mbx_logon_time_from_unix() gives
 *    for an impossible clock): we never send what our own decoder would refuse.
 *  - A redirect's ServerName must hold at least one character besides its NUL, both ways: a
 *    redirect without a target is useless to a client, and keeping encode and decode
 *    symmetric lets the fuzzer check round trips.
 */
#include "mbx/oxcstor.h"

#include <stdio.h>
#include <string.h>

#include "mbx/rop-errors.h"

#define ROPID_LOGON 0xFE
#define ROPID_RELEASE 0x01

int mbx_roplogon_req_decode(struct rd *r, struct mbx_logon_req *req_r)
{
	size_t start = rd_pos(r);
	uint8_t rop_id;

	memset(req_r, 0, sizeof(*req_r));
	req_r->essdn = "";
	rop_id = rd_u8(r, "RopId");
	if (rd_ok(r) && rop_id != ROPID_LOGON)
		rd_fail_at(r, start, "RopId 0x%02X is not RopLogon (0xFE)", rop_id);
	req_r->logon_id = rd_u8(r, "LogonId");
	req_r->out_idx = rd_u8(r, "OutputHandleIndex");
	req_r->logon_flags = rd_u8(r, "LogonFlags"); /* unknown bits kept: see the top comment */
	req_r->open_flags = rd_u32le(r, "OpenFlags");
	req_r->store_state = rd_u32le(r, "StoreState");
	req_r->essdn_size = rd_u16le(r, "EssdnSize");
	if (!rd_ok(r))
		return -1;
	if (req_r->essdn_size > 0) {
		const char *s;

		if (rd_left(r) < req_r->essdn_size) {
			rd_fail_at(r, rd_pos(r) - 2, "EssdnSize %u exceeds the %zu bytes left",
				   req_r->essdn_size, rd_left(r));
			return -1;
		}
		s = rd_str8z_n(r, req_r->essdn_size, "Essdn");
		if (s == NULL)
			return -1;
		req_r->essdn = s;
	}
	return 0;
}

int mbx_roplogon_req_encode(struct wr *w, const struct mbx_logon_req *req)
{
	size_t n = req->essdn != NULL ? strlen(req->essdn) : 0;

	if (n > 65534)
		return -1;
	wr_u8(w, ROPID_LOGON);
	wr_u8(w, req->logon_id);
	wr_u8(w, req->out_idx);
	wr_u8(w, req->logon_flags);
	wr_u32le(w, req->open_flags);
	wr_u32le(w, req->store_state);
	if (n == 0) {
		/* "" goes out as EssdnSize 0, or as a lone NUL if the caller asked for size 1. */
		if (req->essdn_size == 1) {
			wr_u16le(w, 1);
			wr_u8(w, 0);
		} else {
			wr_u16le(w, 0);
		}
	} else {
		wr_u16le(w, (uint16_t)(n + 1));
		wr_bytes(w, req->essdn, n + 1);
	}
	return wr_ok(w) ? 0 : -1;
}

/* The layout follows from rv and the Private bit; a struct whose kind disagrees with them
 * would be decoded as a different layout, so the encoder refuses it. */
static bool logon_resp_consistent(const struct mbx_logon_resp *resp)
{
	switch (resp->kind) {
	case MBX_LOGON_RESP_PRIVATE:
		return resp->rv == 0 && (resp->logon_flags & MBX_LOGON_PRIVATE) != 0;
	case MBX_LOGON_RESP_PUBLIC:
		return resp->rv == 0 && (resp->logon_flags & MBX_LOGON_PRIVATE) == 0;
	case MBX_LOGON_RESP_REDIRECT:
		return resp->rv == ecWrongServer;
	case MBX_LOGON_RESP_FAILURE:
		return resp->rv != 0 && resp->rv != ecWrongServer;
	}
	return false;
}

int mbx_roplogon_resp_encode(struct wr *w, const struct mbx_logon_resp *resp)
{
	size_t n = 0;

	if (!logon_resp_consistent(resp))
		return -1;
	if (resp->kind == MBX_LOGON_RESP_PRIVATE && !mbx_logon_time_valid(&resp->logon_time, NULL))
		return -1;
	if (resp->kind == MBX_LOGON_RESP_REDIRECT) {
		n = strnlen(resp->server, sizeof(resp->server));
		if (n == 0 || n > MBX_SERVERNAME_MAX - 1)
			return -1;
	}
	wr_u8(w, ROPID_LOGON);
	wr_u8(w, resp->out_idx);
	wr_u32le(w, resp->rv);
	switch (resp->kind) {
	case MBX_LOGON_RESP_PRIVATE:
		wr_u8(w, resp->logon_flags);
		for (int i = 0; i < MBX_LOGON_NFIDS; i++)
			wr_fid(w, resp->fids[i]);
		wr_u8(w, resp->response_flags);
		wr_guid(w, &resp->mailbox_guid);
		wr_u16le(w, resp->replid);
		wr_guid(w, &resp->repl_guid);
		wr_logon_time(w, &resp->logon_time);
		wr_u64le(w, resp->gwart_time);
		wr_u32le(w, resp->store_state);
		break;
	case MBX_LOGON_RESP_PUBLIC:
		wr_u8(w, resp->logon_flags);
		for (int i = 0; i < MBX_LOGON_NFIDS; i++)
			wr_fid(w, resp->fids[i]);
		wr_u16le(w, resp->replid);
		wr_guid(w, &resp->repl_guid);
		wr_guid(w, &resp->per_user_guid);
		break;
	case MBX_LOGON_RESP_REDIRECT:
		wr_u8(w, resp->logon_flags);
		wr_u8(w, (uint8_t)(n + 1));
		wr_bytes(w, resp->server, n);
		wr_u8(w, 0);
		break;
	case MBX_LOGON_RESP_FAILURE:
		break;
	}
	return wr_ok(w) ? 0 : -1;
}

static void logon_resp_decode_fids(struct rd *r, struct mbx_logon_resp *resp)
{
	char what[24]; /* rd copies it into its message */

	for (int i = 0; i < MBX_LOGON_NFIDS; i++) {
		snprintf(what, sizeof(what), "FolderIds[%d]", i);
		rd_fid(r, &resp->fids[i], what);
	}
}

static int logon_resp_decode_redirect(struct rd *r, struct mbx_logon_resp *resp)
{
	size_t size_off = rd_pos(r);
	uint8_t size = rd_u8(r, "ServerNameSize");
	const char *s;

	if (!rd_ok(r))
		return -1;
	if (size == 0) {
		rd_fail_at(r, size_off, "ServerNameSize 0: ServerName needs at least its NUL");
		return -1;
	}
	if (rd_left(r) < size) {
		rd_fail_at(r, size_off, "ServerNameSize %u exceeds the %zu bytes left", size,
			   rd_left(r));
		return -1;
	}
	if (size == 1) {
		rd_fail_at(r, size_off, "ServerNameSize 1: ServerName is empty");
		return -1;
	}
	s = rd_str8z_n(r, size, "ServerName");
	if (s == NULL)
		return -1;
	memcpy(resp->server, s, size); /* size <= 255 < sizeof(server), NUL included */
	return 0;
}

int mbx_roplogon_resp_decode(struct rd *r, struct mbx_logon_resp *resp_r)
{
	size_t start = rd_pos(r);
	uint8_t rop_id;

	memset(resp_r, 0, sizeof(*resp_r));
	rop_id = rd_u8(r, "RopId");
	if (rd_ok(r) && rop_id != ROPID_LOGON)
		rd_fail_at(r, start, "RopId 0x%02X is not RopLogon (0xFE)", rop_id);
	resp_r->out_idx = rd_u8(r, "OutputHandleIndex");
	resp_r->rv = rd_u32le(r, "ReturnValue");
	if (!rd_ok(r))
		return -1;
	if (resp_r->rv != 0 && resp_r->rv != ecWrongServer) {
		resp_r->kind = MBX_LOGON_RESP_FAILURE;
		return 0;
	}
	resp_r->logon_flags = rd_u8(r, "LogonFlags");
	if (resp_r->rv == ecWrongServer) {
		resp_r->kind = MBX_LOGON_RESP_REDIRECT;
		return logon_resp_decode_redirect(r, resp_r);
	}
	logon_resp_decode_fids(r, resp_r);
	if (resp_r->logon_flags & MBX_LOGON_PRIVATE) {
		resp_r->kind = MBX_LOGON_RESP_PRIVATE;
		resp_r->response_flags = rd_u8(r, "ResponseFlags");
		rd_guid(r, &resp_r->mailbox_guid, "MailboxGuid");
		resp_r->replid = rd_u16le(r, "ReplId");
		rd_guid(r, &resp_r->repl_guid, "ReplGuid");
		rd_logon_time(r, &resp_r->logon_time, "LogonTime");
		resp_r->gwart_time = rd_u64le(r, "GwartTime");
		resp_r->store_state = rd_u32le(r, "StoreState");
	} else {
		resp_r->kind = MBX_LOGON_RESP_PUBLIC;
		resp_r->replid = rd_u16le(r, "ReplId");
		rd_guid(r, &resp_r->repl_guid, "ReplGuid");
		rd_guid(r, &resp_r->per_user_guid, "PerUserGuid");
	}
	return rd_ok(r) ? 0 : -1;
}

int mbx_roprelease_req_decode(struct rd *r, struct mbx_release_req *req_r)
{
	size_t start = rd_pos(r);
	uint8_t rop_id;

	memset(req_r, 0, sizeof(*req_r));
	rop_id = rd_u8(r, "RopId");
	if (rd_ok(r) && rop_id != ROPID_RELEASE)
		rd_fail_at(r, start, "RopId 0x%02X is not RopRelease (0x01)", rop_id);
	req_r->logon_id = rd_u8(r, "LogonId");
	req_r->in_idx = rd_u8(r, "InputHandleIndex");
	return rd_ok(r) ? 0 : -1;
}

int mbx_roprelease_req_encode(struct wr *w, const struct mbx_release_req *req)
{
	wr_u8(w, ROPID_RELEASE);
	wr_u8(w, req->logon_id);
	wr_u8(w, req->in_idx);
	return wr_ok(w) ? 0 : -1;
}

struct flag_name {
	uint32_t bit;
	const char *name;
};

static const struct flag_name logon_flag_names[] = {
	{MBX_LOGON_PRIVATE, "Private"},
	{MBX_LOGON_UNDERCOVER, "Undercover"},
	{MBX_LOGON_GHOSTED, "Ghosted"},
	{MBX_LOGON_SPOOLER_PROCESS, "SpoolerProcess"},
};

static const struct flag_name open_flag_names[] = {
	{MBX_OPEN_USE_ADMIN_PRIVILEGE, "USE_ADMIN_PRIVILEGE"},
	{MBX_OPEN_PUBLIC, "PUBLIC"},
	{MBX_OPEN_HOME_LOGON, "HOME_LOGON"},
	{MBX_OPEN_TAKE_OWNERSHIP, "TAKE_OWNERSHIP"},
	{MBX_OPEN_ALTERNATE_SERVER, "ALTERNATE_SERVER"},
	{MBX_OPEN_IGNORE_HOME_MDB, "IGNORE_HOME_MDB"},
	{MBX_OPEN_NO_MAIL, "NO_MAIL"},
	{MBX_OPEN_USE_PER_MDB_REPLID_MAPPING, "USE_PER_MDB_REPLID_MAPPING"},
	{MBX_OPEN_SUPPORT_PROGRESS, "SUPPORT_PROGRESS"},
};

/* Appends s to buf (truncating, always NUL-terminated when size > 0); *len tracks the length
 * that would have been written, so truncation never moves the write position past the end. */
static void flags_append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len < size) {
		size_t room = size - *len - 1;
		size_t k = n < room ? n : room;

		memcpy(buf + *len, s, k);
		buf[*len + k] = '\0';
	}
	*len += n;
}

static const char *flags_str(uint32_t flags, const struct flag_name *names, size_t nnames,
			     char *buf, size_t size)
{
	size_t len = 0;
	char hex[16];

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (flags == 0) {
		flags_append(buf, size, &len, "0");
		return buf;
	}
	for (size_t i = 0; i < nnames; i++) {
		if ((flags & names[i].bit) == 0)
			continue;
		if (len > 0)
			flags_append(buf, size, &len, "|");
		flags_append(buf, size, &len, names[i].name);
		flags &= ~names[i].bit;
	}
	if (flags != 0) {
		if (len > 0)
			flags_append(buf, size, &len, "|");
		snprintf(hex, sizeof(hex), "0x%x", (unsigned)flags);
		flags_append(buf, size, &len, hex);
	}
	return buf;
}

const char *mbx_logon_flags_str(uint8_t flags, char *buf, size_t size)
{
	return flags_str(flags, logon_flag_names,
			 sizeof(logon_flag_names) / sizeof(logon_flag_names[0]), buf, size);
}

const char *mbx_open_flags_str(uint32_t flags, char *buf, size_t size)
{
	return flags_str(flags, open_flag_names,
			 sizeof(open_flag_names) / sizeof(open_flag_names[0]), buf, size);
}
