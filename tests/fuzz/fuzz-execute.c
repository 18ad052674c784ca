/*
 * fuzz-execute.c: libFuzzer harness for the whole Execute path behind the MAPI/HTTP body
 * decoder (include/mbx/session.h; MS-OXCRPC 3.1.4.2 rgbIn/rgbOut, MS-OXCROPS 2.2.1): RopBuffer
 * bytes -> mbx_session_execute -> RPC_HEADER_EXT, LZ77, ROP list, RopLogon resolve through the
 * logon pipeline (mailbox table, principal, authorization) on the ldif backend over
 * conf/directory.ldif, the store ROP handlers, the response RopBuffer. A libevent loop drives
 * it, as in the daemon.
 *
 * Input: byte 0 is a mode, bytes 1-2 MaxRopOut (little-endian), the rest the RopBuffer.
 *   mode & 0x03  Execute Flags: NoCompression 0x1, NoXorMagic 0x2
 *   mode & 0x04  the rest is a ROP buffer payload (RopSize, ROPs, handle table) that the
 *                harness wraps in one extended buffer with Last, so that mutations reach the
 *                ROPs; then mode & 0x08 compresses it (when that shrinks it), 0x10 XORs it
 *   mode & 0x20  MaxRopOut is 0x8007 (Outlook's pcbOut) instead of bytes 1-2
 * Each input runs twice on one session (alice@contoso.com, max_rops 64, max_objects 32), so
 * the second run meets the objects of the first; then the session is freed.
 *
 * Checked: the callback runs exactly once, never inside mbx_session_execute; an error is one of
 * ecRpcFormat, ecBufferTooSmall, ecServerOOM with no output; otherwise the output is at most
 * MaxRopOut bytes, one extended buffer with Last that decodes, whose payload has a RopSize
 * inside it, a handle table of as many entries as the request's, and a RopsList that the
 * response walker reads to its end (up to a response it cannot walk past: the property rows of
 * RopGetPropertiesSpecific); no handler breaks its size bound (logged as an error). ASan and
 * LeakSanitizer find the rest.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/lz77.h"
#include "mbx/mailbox-table.h"
#include "mbx/principal.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"
#include "mbx/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define CONFIG_DN                                                                                  \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"

static const struct mbx_server_identity server1 = {"SERVER1",
                                                   AG "/cn=Configuration/cn=Servers/cn=SERVER1",
                                                   "cn=SERVER1,cn=Servers," CONFIG_DN,
                                                   NULL,
                                                   0,
                                                   false};

static struct {
	struct event_base *base;
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
} g;

static bool handler_bug;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	if (level == MBX_LOG_ERROR && strstr(line, "size bound") != NULL)
		handler_bug = true;
}

static const char *find_ldif(void)
{
	static char path[4096];
	static const char *const rel[] = {"conf/directory.ldif", "../conf/directory.ldif",
	                                  "../../conf/directory.ldif"};
	const char *src = getenv("MBX_SRCDIR");

	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/conf/directory.ldif", src);
		if (access(path, R_OK) == 0)
			return path;
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (access(rel[i], R_OK) == 0)
			return rel[i];
	return NULL;
}

static void setup(void)
{
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_mailbox_table_config tc = {
	        .ttl_ms = 60000, .stale_max_ms = 3600000, .max_entries = 64};
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_logon_pipeline_config lc = {0};
	char err[512];

	mbx_log_set_level(MBX_LOG_ERROR);
	mbx_log_set_hook(log_hook, NULL);
	g.base = event_base_new();
	dc.ldif_path = find_ldif();
	if (g.base == NULL || dc.ldif_path == NULL) {
		fprintf(stderr, "fuzz-execute: no event base or no conf/directory.ldif (set "
		                "MBX_SRCDIR)\n");
		abort();
	}
	g.dir = mbx_dir_new(g.base, &dc, err, sizeof(err));
	if (g.dir == NULL) {
		fprintf(stderr, "fuzz-execute: %s: %s\n", dc.ldif_path, err);
		abort();
	}
	mbx_dir_defer_init(&tc.defer, g.base);
	g.table = mbx_mailbox_table_new(g.dir, &tc);
	mbx_dir_defer_init(&pc.defer, g.base);
	g.res = mbx_principal_resolver_new(g.dir, &pc);
	lc.table = g.table;
	lc.resolver = g.res;
	lc.id = &server1;
	mbx_dir_defer_init(&lc.defer, g.base);
	g.pl = mbx_logon_pipeline_new(&lc);
	if (g.table == NULL || g.res == NULL || g.pl == NULL)
		abort();
}

struct run {
	int calls;
	bool inside;
	uint32_t max_out;
	unsigned req_handles; /* -1u: the request did not decode */
};

static void check_output(const struct run *x, const struct mbx_session_exec_result *res)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_rhe hdr;
	size_t plen;
	uint16_t ropsize;
	struct rd r;

	if (res->rop_out_len > x->max_out || res->rop_out == NULL)
		abort();
	rd_init(&r, res->rop_out, res->rop_out_len, 0);
	if (mbx_rhe_read(&r, &hdr, payload, &plen) != 0 || !(hdr.flags & MBX_RHE_LAST) ||
	    rd_left(&r) != 0) {
		fprintf(stderr, "response RopBuffer does not decode: %s\n", r.err_msg);
		abort();
	}
	if (plen < 2)
		abort();
	ropsize = mbx_le16(payload);
	if (ropsize < 2 || ropsize > plen || (plen - ropsize) % 4 != 0)
		abort();
	if (x->req_handles != (unsigned)-1 && (plen - ropsize) / 4 != x->req_handles) {
		fprintf(stderr, "response has %zu handles, request %u\n", (plen - ropsize) / 4,
		        x->req_handles);
		abort();
	}
	rd_init(&r, payload + 2, (size_t)ropsize - 2, 2);
	while (rd_left(&r) > 0) {
		struct mbx_rop_resp resp;

		if (mbx_rop_resp_parse(&r, &resp) != 0) {
			if (strstr(r.err_msg, "cannot walk past") != NULL)
				break;
			fprintf(stderr, "response list: %s at %zu\n", r.err_msg, r.err_off);
			abort();
		}
	}
}

static void exec_cb(void *ctx, const struct mbx_session_exec_result *res)
{
	struct run *x = ctx;

	if (x->inside || x->calls != 0)
		abort();
	x->calls++;
	if (res->error_code != 0) {
		if (res->error_code != ecRpcFormat && res->error_code != ecBufferTooSmall &&
		    res->error_code != ecServerOOM) {
			fprintf(stderr, "unexpected Execute error 0x%08X\n", res->error_code);
			abort();
		}
		if (res->rop_out_len != 0 || res->why == NULL)
			abort();
		return;
	}
	check_output(x, res);
}

/* The request's handle count, or -1u when it does not decode. */
static unsigned request_handles(const uint8_t *rb, size_t len)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_ropbuf b;
	struct mbx_rhe hdr;
	size_t plen;
	struct rd r;

	rd_init(&r, rb, len, 0);
	if (mbx_rhe_read(&r, &hdr, payload, &plen) != 0 || !(hdr.flags & MBX_RHE_LAST) ||
	    rd_left(&r) != 0)
		return (unsigned)-1;
	rd_init(&r, payload, plen, 0);
	if (mbx_ropbuf_decode(&r, &b) != 0)
		return (unsigned)-1;
	return b.nhandles;
}

static void run_once(struct mbx_session *s, const uint8_t *rb, size_t len, uint32_t flags,
                     uint32_t max_out)
{
	struct mbx_session_exec_req req = {flags, rb, len, max_out};
	struct run x = {0, true, max_out, request_handles(rb, len)};
	int i;

	if (mbx_session_execute(s, &req, exec_cb, &x) == NULL)
		abort(); /* nothing pending, memory is there */
	x.inside = false;
	for (i = 0; i < 1000000 && x.calls == 0; i++)
		event_base_loop(g.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (x.calls != 1) {
		fprintf(stderr, "no answer after %d loop rounds\n", i);
		abort();
	}
	if (handler_bug)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t wrapped[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	struct mbx_session_config sc = {0};
	const uint8_t *rb;
	size_t len;
	uint32_t flags, max_out;
	uint8_t mode;
	struct mbx_session *s;

	if (g.base == NULL)
		setup();
	if (size < 3)
		return 0;
	mode = data[0];
	flags = mode & (MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC);
	max_out = (mode & 0x20) ? 0x8007 : (uint32_t)(data[1] | data[2] << 8);
	rb = data + 3;
	len = size - 3;
	if (mode & 0x04) {
		uint16_t hflags = MBX_RHE_LAST;
		size_t n = len;

		if (len > MBX_RHE_MAX_PAYLOAD)
			return 0;
		memcpy(wrapped + MBX_RHE_HDRLEN, rb, len);
		if ((mode & 0x08) && len > 4) {
			size_t c = mbx_lz77_compress(rb, len, wrapped + MBX_RHE_HDRLEN, len - 1);

			if (c > 0) {
				n = c;
				hflags |= MBX_RHE_COMPRESSED;
			} else {
				memcpy(wrapped + MBX_RHE_HDRLEN, rb, len);
			}
		}
		if (mode & 0x10) {
			mbx_xor_a5(wrapped + MBX_RHE_HDRLEN, n);
			hflags |= MBX_RHE_XORMAGIC;
		}
		mbx_put_le16(wrapped, 0);
		mbx_put_le16(wrapped + 2, hflags);
		mbx_put_le16(wrapped + 4, (uint16_t)n);
		mbx_put_le16(wrapped + 6, (uint16_t)len);
		rb = wrapped;
		len = MBX_RHE_HDRLEN + n;
	}

	sc.pipeline = g.pl;
	sc.id = &server1;
	mbx_dir_defer_init(&sc.defer, g.base);
	sc.principal_dn = "cn=Alice Anders,cn=Users,dc=contoso,dc=com";
	sc.principal_legacy_dn = AG "/cn=Recipients/cn=alice";
	sc.principal_name = "alice@contoso.com";
	sc.max_rops = 64;
	sc.max_objects = 32;
	s = mbx_session_new(&sc);
	if (s == NULL)
		abort();
	run_once(s, rb, len, flags, max_out);
	run_once(s, rb, len, flags, max_out);
	mbx_session_free(&s);
	return 0;
}
