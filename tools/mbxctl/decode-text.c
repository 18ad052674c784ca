/*
 * decode-text.c: the human-readable report of `mbxctl decode` (mbxctl(8), OUTPUT): stub
 * parameters and aux headers (MS-OXCRPC 3.1.4.2, 2.2.2.2), each extended buffer's
 * RPC_HEADER_EXT (2.2.2.1), RopSize, every ROP (MS-OXCROPS 2.2.1), RopLogon in full
 * (MS-OXCROPS 2.2.3.1; protocol.md 1, 2) and the handle table.
 */
#include <inttypes.h>
#include <string.h>

#include "decode.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/types.h"

#define IND1 "  "
#define IND2 "    "
#define IND3 "      "
#define IND4 "        "

/* A wire string in double quotes; bytes outside printable ASCII, quote and backslash are
 * escaped (client-supplied text never reaches the terminal raw). */
static void text_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7F)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void text_rhe(FILE *f, const struct mbx_rhe *h)
{
	char flags[64];

	fprintf(f, "Version 0x%04X, Flags 0x%04X (%s), Size %u, SizeActual %u", h->version,
	        h->flags, mbx_rhe_flags_str(h->flags, flags, sizeof(flags)), h->size,
	        h->size_actual);
}

static void text_stub(FILE *f, const struct decode_result *res)
{
	const struct stub *s = &res->stub;
	char guid[MBX_GUID_STRLEN + 1], flags[64];

	fprintf(f, "EcDoRpcExt2 request stub:\n");
	fprintf(f, IND1 "pcxh: handle type 0x%08X, GUID %s\n", s->cxh_type,
	        mbx_guid_to_str(&s->cxh_guid, guid));
	fprintf(f, IND1 "pulFlags: 0x%08X (%s)\n", s->flags,
	        stub_flags_str(s->flags, flags, sizeof(flags)));
	fprintf(f, IND1 "rgbIn: offset 0x%zX, cbIn %u (0x%X)\n", s->rgbin_off, s->cbin, s->cbin);
	fprintf(f, IND1 "pcbOut: %u (0x%X)\n", s->pcbout, s->pcbout);
	fprintf(f, IND1 "rgbAuxIn: offset 0x%zX, cbAuxIn %u (0x%X)\n", s->rgbauxin_off, s->cbauxin,
	        s->cbauxin);
	fprintf(f, IND1 "pcbAuxOut: %u (0x%X)\n", s->pcbauxout, s->pcbauxout);
	if (!res->has_aux)
		return;
	fprintf(f, IND1 "auxiliary buffer at 0x%zX: ", res->aux.off);
	text_rhe(f, &res->aux.hdr);
	fprintf(f, "\n");
	for (size_t i = 0; i < res->naux_blocks; i++) {
		const struct stub_aux_block *a = &res->aux_blocks[i];
		const char *name = stub_aux_type_name(a->type);

		fprintf(f, IND2 "AUX_HEADER at 0x%zX%s: Size %u, Version %u, Type 0x%02X %s",
		        a->off, res->aux.in_input ? "" : " (decompressed)", a->size, a->version,
		        a->type, name != NULL ? name : "(unknown type)");
		if (a->has_ids)
			fprintf(f, ": SessionID %u, RequestID %u", a->session_id, a->request_id);
		fprintf(f, "\n");
	}
}

static void text_fid(FILE *f, const char *name, const struct mbx_fid *fid)
{
	fprintf(f, IND4 "%-32s ReplId 0x%04X, GLOBCNT 0x%012" PRIX64 " (0x%016" PRIX64 ")\n", name,
	        fid->replid, fid->globcnt, mbx_fid_to_u64(*fid));
}

static void text_logon_req(FILE *f, const struct mbx_logon_req *q)
{
	char buf[160];

	fprintf(f, IND3 "LogonFlags: 0x%02X (%s)\n", q->logon_flags,
	        mbx_logon_flags_str(q->logon_flags, buf, sizeof(buf)));
	fprintf(f, IND3 "OpenFlags: 0x%08X (%s)\n", q->open_flags,
	        mbx_open_flags_str(q->open_flags, buf, sizeof(buf)));
	fprintf(f, IND3 "StoreState: 0x%08X\n", q->store_state);
	fprintf(f, IND3 "EssdnSize: %u\n", q->essdn_size);
	fprintf(f, IND3 "Essdn: ");
	text_quoted(f, q->essdn != NULL ? q->essdn : "");
	fprintf(f, "\n");
}

static void text_logon_resp(FILE *f, const struct mbx_logon_resp *p)
{
	char buf[160], g[MBX_GUID_STRLEN + 1];
	const struct mbx_logon_time *t = &p->logon_time;

	fprintf(f, IND3 "layout: %s\n", decode_logon_kind_name(p->kind));
	if (p->kind == MBX_LOGON_RESP_FAILURE)
		return;
	fprintf(f, IND3 "LogonFlags: 0x%02X (%s)\n", p->logon_flags,
	        mbx_logon_flags_str(p->logon_flags, buf, sizeof(buf)));
	if (p->kind == MBX_LOGON_RESP_REDIRECT) {
		fprintf(f, IND3 "ServerNameSize: %zu\n", strlen(p->server) + 1);
		fprintf(f, IND3 "ServerName: ");
		text_quoted(f, p->server);
		fprintf(f, "\n");
		return;
	}
	fprintf(f, IND3 "FolderIds:\n");
	for (unsigned i = 0; i < MBX_LOGON_NFIDS; i++)
		text_fid(f,
		         p->kind == MBX_LOGON_RESP_PRIVATE ? decode_private_folder_name(i)
		                                           : decode_public_folder_name(i),
		         &p->fids[i]);
	if (p->kind == MBX_LOGON_RESP_PRIVATE) {
		fprintf(f, IND3 "ResponseFlags: 0x%02X (%s)\n", p->response_flags,
		        decode_response_flags_str(p->response_flags, buf, sizeof(buf)));
		fprintf(f, IND3 "MailboxGuid: %s\n", mbx_guid_to_str(&p->mailbox_guid, g));
	}
	fprintf(f, IND3 "ReplId: 0x%04X\n", p->replid);
	fprintf(f, IND3 "ReplGuid: %s\n", mbx_guid_to_str(&p->repl_guid, g));
	if (p->kind == MBX_LOGON_RESP_PUBLIC) {
		fprintf(f, IND3 "PerUserGuid: %s\n", mbx_guid_to_str(&p->per_user_guid, g));
		return;
	}
	fprintf(f, IND3 "LogonTime: %04u-%02u-%02u %02u:%02u:%02u (%s)\n", t->year, t->month,
	        t->mday, t->hour, t->min, t->sec, decode_wday_name(t->wday));
	fprintf(f, IND3 "GwartTime: 0x%016" PRIX64, p->gwart_time);
	if (decode_filetime_str(p->gwart_time, buf, sizeof(buf)) != NULL)
		fprintf(f, " (%s)", buf);
	fprintf(f, "\n");
	fprintf(f, IND3 "StoreState: 0x%08X\n", p->store_state);
}

static void text_rop(FILE *f, const struct decode_result *res, const struct decode_rop *rop,
                     size_t i)
{
	char name[16], ec[16];

	fprintf(f, IND2 "#%zu at 0x%zX: %s (0x%02X)", i, rop->off,
	        mbx_rop_str(rop->rop_id, name, sizeof(name)), rop->rop_id);
	if (rop->kind == DECODE_ROP_UNKNOWN) {
		fprintf(f, ": %s layout unknown; the walk stops here, %zu bytes not walked\n",
		        res->response ? "response" : "request", rop->unwalked);
		return;
	}
	if (!res->response) {
		fprintf(f, " LogonId %u", rop->logon_id);
		if (rop->in_idx >= 0)
			fprintf(f, ", InputHandleIndex %d", rop->in_idx);
		if (rop->out_idx >= 0)
			fprintf(f, ", OutputHandleIndex %d", rop->out_idx);
		if (rop->dst_idx >= 0)
			fprintf(f, ", DestHandleIndex %d", rop->dst_idx);
		fprintf(f, ", %zu bytes\n", rop->len);
		if (rop->kind == DECODE_ROP_LOGON)
			text_logon_req(f, &rop->logon.req);
		return;
	}
	if (rop->kind == DECODE_ROP_TOO_SMALL) {
		fprintf(f, " SizeNeeded %u, %zu bytes of unprocessed requests\n", rop->size_needed,
		        rop->len - 3);
		return;
	}
	/* RopBackoff, RopPending and RopNotify have neither a handle index nor a ReturnValue */
	if (rop->idx >= 0)
		fprintf(f, " %s %d, ReturnValue 0x%08X %s,",
		        rop->rop_id == MBX_ROP_Logon ? "OutputHandleIndex" : "HandleIndex",
		        rop->idx, rop->rv, mbx_ec_str(rop->rv, ec, sizeof(ec)));
	fprintf(f, " %zu bytes\n", rop->len);
	if (rop->kind == DECODE_ROP_LOGON)
		text_logon_resp(f, &rop->logon.resp);
}

static void text_buf(FILE *f, const struct decode_result *res, const struct decode_buf *b,
                     size_t index)
{
	fprintf(f, "extended buffer %zu at 0x%zX: ", index, b->off);
	text_rhe(f, &b->hdr);
	fprintf(f, "\n");
	fprintf(f, IND1 "payload: %zu bytes%s\n", b->payload_len,
	        b->in_input ? "" : " (decompressed; the offsets below count from its first byte)");
	fprintf(f, IND1 "RopSize: %u (0x%04X)\n", b->rop_size, b->rop_size);
	fprintf(f, IND1 "%s: %zu%s\n", res->response ? "ROP responses" : "ROP requests", b->nrops,
	        b->stopped ? " (walk stopped at a ROP of unknown layout)" : "");
	for (size_t i = 0; i < b->nrops; i++)
		text_rop(f, res, &b->rops[i], i);
	fprintf(f, IND1 "handle table (%u):", b->nhandles);
	fprintf(f, " [");
	for (unsigned i = 0; i < b->nhandles; i++)
		fprintf(f, "%s0x%08X", i > 0 ? ", " : "", b->handles[i]);
	fprintf(f, "]\n");
}

void decode_print_text(FILE *f, const struct decode_result *res)
{
	fprintf(f, "input: %zu bytes, %s%s, %s\n", res->input_len,
	        res->format == DECODE_FORMAT_STUB ? "EcDoRpcExt2 request stub" : "extended buffers",
	        res->detected ? " (detected)" : "", res->response ? "responses" : "requests");
	if (res->format == DECODE_FORMAT_STUB)
		text_stub(f, res);
	for (size_t i = 0; i < res->nbufs; i++)
		text_buf(f, res, &res->bufs[i], i + 1);
	fprintf(f, "payload total: %zu bytes in %zu extended buffer%s\n", res->payload_total,
	        res->nbufs, res->nbufs == 1 ? "" : "s");
}
