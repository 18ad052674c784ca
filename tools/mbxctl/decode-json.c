/*
 * decode-json.c: `mbxctl decode --json` (mbxctl(8), JSON OUTPUT): the facts of the text
 * report as one JSON document, through the writer of include/mbx/json.h. Numbers are JSON
 * integers; flags come with their names; handles, FIDs, FILETIMEs and raw bytes are hex
 * strings; GUIDs are strings in the usual 8-4-4-4-12 form.
 */
#include <string.h>

#include "decode.h"
#include "mbx/json.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/types.h"

static void json_guid(struct mbx_json *j, const char *key, const struct mbx_guid *g)
{
	char buf[MBX_GUID_STRLEN + 1];

	mbx_json_kv_str(j, key, mbx_guid_to_str(g, buf));
}

static void json_rhe(struct mbx_json *j, const struct decode_buf *b)
{
	char flags[64];

	mbx_json_kv_uint(j, "offset", b->off);
	mbx_json_kv_uint(j, "version", b->hdr.version);
	mbx_json_kv_uint(j, "flags", b->hdr.flags);
	mbx_json_kv_str(j, "flags_names", mbx_rhe_flags_str(b->hdr.flags, flags, sizeof(flags)));
	mbx_json_kv_uint(j, "size", b->hdr.size);
	mbx_json_kv_uint(j, "size_actual", b->hdr.size_actual);
	mbx_json_kv_uint(j, "payload_size", b->payload_len);
	mbx_json_kv_str(j, "payload_offsets", b->in_input ? "input" : "decompressed");
}

static void json_stub(struct mbx_json *j, const struct decode_result *res)
{
	const struct stub *s = &res->stub;
	char flags[64];

	mbx_json_key(j, "stub");
	mbx_json_obj_begin(j);
	mbx_json_kv_hexnum(j, "cxh_handle_type", s->cxh_type, 8);
	json_guid(j, "cxh_guid", &s->cxh_guid);
	mbx_json_kv_uint(j, "pulFlags", s->flags);
	mbx_json_kv_str(j, "pulFlags_names", stub_flags_str(s->flags, flags, sizeof(flags)));
	mbx_json_kv_uint(j, "rgbIn_offset", s->rgbin_off);
	mbx_json_kv_uint(j, "cbIn", s->cbin);
	mbx_json_kv_uint(j, "pcbOut", s->pcbout);
	mbx_json_kv_uint(j, "rgbAuxIn_offset", s->rgbauxin_off);
	mbx_json_kv_uint(j, "cbAuxIn", s->cbauxin);
	mbx_json_kv_uint(j, "pcbAuxOut", s->pcbauxout);
	mbx_json_key(j, "aux");
	if (!res->has_aux) {
		mbx_json_null(j);
	} else {
		mbx_json_obj_begin(j);
		json_rhe(j, &res->aux);
		mbx_json_key(j, "blocks");
		mbx_json_arr_begin(j);
		for (size_t i = 0; i < res->naux_blocks; i++) {
			const struct stub_aux_block *a = &res->aux_blocks[i];

			mbx_json_obj_begin(j);
			mbx_json_kv_uint(j, "offset", a->off);
			mbx_json_kv_uint(j, "size", a->size);
			mbx_json_kv_uint(j, "version", a->version);
			mbx_json_kv_uint(j, "type", a->type);
			mbx_json_kv_str(j, "type_name", stub_aux_type_name(a->type));
			if (a->has_ids) {
				mbx_json_kv_uint(j, "session_id", a->session_id);
				mbx_json_kv_uint(j, "request_id", a->request_id);
			}
			mbx_json_obj_end(j);
		}
		mbx_json_arr_end(j);
		mbx_json_obj_end(j);
	}
	mbx_json_obj_end(j);
}

static void json_logon_req(struct mbx_json *j, const struct mbx_logon_req *q)
{
	char buf[160];

	mbx_json_key(j, "logon");
	mbx_json_obj_begin(j);
	mbx_json_kv_uint(j, "logon_flags", q->logon_flags);
	mbx_json_kv_str(j, "logon_flags_names",
	                mbx_logon_flags_str(q->logon_flags, buf, sizeof(buf)));
	mbx_json_kv_uint(j, "open_flags", q->open_flags);
	mbx_json_kv_str(j, "open_flags_names", mbx_open_flags_str(q->open_flags, buf, sizeof(buf)));
	mbx_json_kv_uint(j, "store_state", q->store_state);
	mbx_json_kv_uint(j, "essdn_size", q->essdn_size);
	mbx_json_kv_str(j, "essdn", q->essdn != NULL ? q->essdn : "");
	mbx_json_obj_end(j);
}

static void json_logon_resp(struct mbx_json *j, const struct mbx_logon_resp *p)
{
	const struct mbx_logon_time *t = &p->logon_time;
	char buf[160];

	mbx_json_key(j, "logon");
	mbx_json_obj_begin(j);
	mbx_json_kv_str(j, "kind", decode_logon_kind_name(p->kind));
	if (p->kind == MBX_LOGON_RESP_FAILURE)
		goto out;
	mbx_json_kv_uint(j, "logon_flags", p->logon_flags);
	mbx_json_kv_str(j, "logon_flags_names",
	                mbx_logon_flags_str(p->logon_flags, buf, sizeof(buf)));
	if (p->kind == MBX_LOGON_RESP_REDIRECT) {
		mbx_json_kv_uint(j, "server_name_size", strlen(p->server) + 1);
		mbx_json_kv_str(j, "server_name", p->server);
		goto out;
	}
	mbx_json_key(j, "folder_ids");
	mbx_json_arr_begin(j);
	for (unsigned i = 0; i < MBX_LOGON_NFIDS; i++) {
		mbx_json_obj_begin(j);
		mbx_json_kv_str(j, "folder",
		                p->kind == MBX_LOGON_RESP_PRIVATE ? decode_private_folder_name(i)
		                                                  : decode_public_folder_name(i));
		mbx_json_kv_uint(j, "replid", p->fids[i].replid);
		mbx_json_kv_hexnum(j, "globcnt", p->fids[i].globcnt, 12);
		mbx_json_kv_hexnum(j, "fid", mbx_fid_to_u64(p->fids[i]), 16);
		mbx_json_obj_end(j);
	}
	mbx_json_arr_end(j);
	if (p->kind == MBX_LOGON_RESP_PRIVATE) {
		mbx_json_kv_uint(j, "response_flags", p->response_flags);
		mbx_json_kv_str(j, "response_flags_names",
		                decode_response_flags_str(p->response_flags, buf, sizeof(buf)));
		json_guid(j, "mailbox_guid", &p->mailbox_guid);
	}
	mbx_json_kv_uint(j, "replid", p->replid);
	json_guid(j, "repl_guid", &p->repl_guid);
	if (p->kind == MBX_LOGON_RESP_PUBLIC) {
		json_guid(j, "per_user_guid", &p->per_user_guid);
		goto out;
	}
	mbx_json_key(j, "logon_time");
	mbx_json_obj_begin(j);
	mbx_json_kv_uint(j, "year", t->year);
	mbx_json_kv_uint(j, "month", t->month);
	mbx_json_kv_uint(j, "day", t->mday);
	mbx_json_kv_uint(j, "hour", t->hour);
	mbx_json_kv_uint(j, "minute", t->min);
	mbx_json_kv_uint(j, "second", t->sec);
	mbx_json_kv_uint(j, "day_of_week", t->wday);
	mbx_json_kv_str(j, "day_of_week_name", decode_wday_name(t->wday));
	mbx_json_obj_end(j);
	mbx_json_kv_hexnum(j, "gwart_time", p->gwart_time, 16);
	mbx_json_kv_str(j, "gwart_time_utc", decode_filetime_str(p->gwart_time, buf, sizeof(buf)));
	mbx_json_kv_uint(j, "store_state", p->store_state);
out:
	mbx_json_obj_end(j);
}

static void json_idx(struct mbx_json *j, const char *key, int idx)
{
	mbx_json_key(j, key);
	if (idx >= 0)
		mbx_json_uint(j, (unsigned)idx);
	else
		mbx_json_null(j);
}

static void json_rop(struct mbx_json *j, const struct decode_result *res,
                     const struct decode_rop *rop, size_t i)
{
	char name[16];

	mbx_json_obj_begin(j);
	mbx_json_kv_uint(j, "index", i);
	mbx_json_kv_uint(j, "offset", rop->off);
	mbx_json_kv_uint(j, "rop_id", rop->rop_id);
	mbx_json_kv_str(j, "name", mbx_rop_str(rop->rop_id, name, sizeof(name)));
	mbx_json_kv_bool(j, "layout_known", rop->kind != DECODE_ROP_UNKNOWN);
	if (rop->kind == DECODE_ROP_UNKNOWN) {
		mbx_json_kv_uint(j, "bytes_not_walked", rop->unwalked);
		goto out;
	}
	mbx_json_kv_uint(j, "length", rop->len);
	if (!res->response) {
		mbx_json_kv_uint(j, "logon_id", rop->logon_id);
		json_idx(j, "input_handle_index", rop->in_idx);
		json_idx(j, "output_handle_index", rop->out_idx);
		json_idx(j, "dest_handle_index", rop->dst_idx);
	} else if (rop->kind == DECODE_ROP_TOO_SMALL) {
		mbx_json_kv_uint(j, "size_needed", rop->size_needed);
	} else {
		char ec[16];

		json_idx(j, "handle_index", rop->idx);
		mbx_json_key(j, "return_value");
		if (rop->idx >= 0)
			mbx_json_uint(j, rop->rv);
		else
			mbx_json_null(j); /* RopBackoff, RopPending, RopNotify */
		mbx_json_kv_str(j, "return_value_name",
		                rop->idx >= 0 ? mbx_ec_str(rop->rv, ec, sizeof(ec)) : NULL);
	}
	mbx_json_kv_hex(j, "raw", rop->raw, rop->len);
	if (rop->kind == DECODE_ROP_LOGON) {
		if (res->response)
			json_logon_resp(j, &rop->logon.resp);
		else
			json_logon_req(j, &rop->logon.req);
	}
out:
	mbx_json_obj_end(j);
}

static void json_buf(struct mbx_json *j, const struct decode_result *res,
                     const struct decode_buf *b)
{
	mbx_json_obj_begin(j);
	json_rhe(j, b);
	mbx_json_kv_uint(j, "rop_size", b->rop_size);
	mbx_json_kv_bool(j, "walk_complete", !b->stopped);
	mbx_json_key(j, "rops");
	mbx_json_arr_begin(j);
	for (size_t i = 0; i < b->nrops; i++)
		json_rop(j, res, &b->rops[i], i);
	mbx_json_arr_end(j);
	mbx_json_key(j, "handles");
	mbx_json_arr_begin(j);
	for (unsigned i = 0; i < b->nhandles; i++)
		mbx_json_hexnum(j, b->handles[i], 8);
	mbx_json_arr_end(j);
	mbx_json_obj_end(j);
}

int decode_print_json(FILE *f, const struct decode_result *res, const char **err_r)
{
	struct mbx_json j;

	mbx_json_init_file(&j, f, MBX_JSON_PRETTY);
	mbx_json_obj_begin(&j);
	mbx_json_kv_uint(&j, "input_size", res->input_len);
	mbx_json_kv_str(&j, "format", res->format == DECODE_FORMAT_STUB ? "stub" : "rhe");
	mbx_json_kv_bool(&j, "format_detected", res->detected);
	mbx_json_kv_str(&j, "direction", res->response ? "response" : "request");
	if (res->format == DECODE_FORMAT_STUB)
		json_stub(&j, res);
	mbx_json_key(&j, "buffers");
	mbx_json_arr_begin(&j);
	for (size_t i = 0; i < res->nbufs; i++)
		json_buf(&j, res, &res->bufs[i]);
	mbx_json_arr_end(&j);
	mbx_json_kv_uint(&j, "payload_size", res->payload_total);
	mbx_json_obj_end(&j);
	return mbx_json_finish(&j, err_r);
}
