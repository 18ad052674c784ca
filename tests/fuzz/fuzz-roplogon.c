/*
 * fuzz-roplogon.c: libFuzzer harness for the RopLogon / RopRelease codecs (src/rop/oxcstor.c;
 * MS-OXCROPS 2.2.3.1, 2.2.15.3). The input is tried as a request, as a response and as a
 * RopRelease. Whatever decodes must re-encode to exactly the bytes the decoder consumed;
 * whatever fails must leave an error message with an offset inside the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/oxcstor.h"
#include "mbx/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest request: 14 bytes and an Essdn of 0xFFFF bytes. */
static uint8_t out[MBX_LOGON_REQ_MIN + 0xFFFF];

static void check_failed(const struct rd *r, size_t size, const char *what)
{
	if (rd_ok(r) || r->err_msg[0] == '\0' || r->err_off > size) {
		fprintf(stderr, "%s: failed without a proper error (off %zu of %zu: \"%s\")\n", what,
			r->err_off, size, r->err_msg);
		abort();
	}
}

static void check_same(const struct wr *w, const struct rd *r, const uint8_t *data,
		       const char *what)
{
	if (w->len != r->off || memcmp(out, data, r->off) != 0) {
		fprintf(stderr, "%s: re-encoded %zu bytes differ from the %zu decoded\n", what,
			w->len, r->off);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbx_logon_req req;
	struct mbx_logon_resp resp;
	struct mbx_release_req rel;
	char names[256];
	struct rd r;
	struct wr w;

	rd_init(&r, data, size, 0);
	if (mbx_roplogon_req_decode(&r, &req) == 0) {
		if (strlen(req.essdn) + (req.essdn_size > 0) != req.essdn_size)
			abort();
		wr_init(&w, out, sizeof(out));
		if (mbx_roplogon_req_encode(&w, &req) != 0)
			abort();
		check_same(&w, &r, data, "request");
		mbx_logon_flags_str(req.logon_flags, names, sizeof(names));
		mbx_open_flags_str(req.open_flags, names, sizeof(names));
	} else {
		check_failed(&r, size, "request");
	}

	rd_init(&r, data, size, 0);
	if (mbx_roplogon_resp_decode(&r, &resp) == 0) {
		wr_init(&w, out, MBX_LOGON_RESP_MAX);
		if (mbx_roplogon_resp_encode(&w, &resp) != 0)
			abort();
		check_same(&w, &r, data, "response");
	} else {
		check_failed(&r, size, "response");
	}

	rd_init(&r, data, size, 0);
	if (mbx_roprelease_req_decode(&r, &rel) == 0) {
		wr_init(&w, out, sizeof(out));
		if (mbx_roprelease_req_encode(&w, &rel) != 0)
			abort();
		check_same(&w, &r, data, "release");
	} else {
		check_failed(&r, size, "release");
	}

	/* Tiny name buffers: truncation must stay in bounds. */
	if (size > 0)
		mbx_open_flags_str((uint32_t)data[0] * 0x01010101u, names, data[0] % 8);
	return 0;
}
