/*
 * decode.c: `mbxctl decode` (mbxctl(8)), the offline decoder of captured ROP buffers: an
 * EcDoRpcExt2 request stub (MS-OXCRPC 3.1.4.2; protocol.md 9.1) or one or more extended
 * buffers (RPC_HEADER_EXT + payload, MS-OXCRPC 2.2.2.1, 3.1.4.1.1; protocol.md 4) holding ROP
 * requests or responses (MS-OXCROPS 2.2.1). The wire work is the core's (mbx_rhe_read,
 * mbx_ropbuf_decode, mbx_rop_req_parse / mbx_rop_resp_parse, mbx_roplogon_*); this file
 * drives it, keeps what it finds in struct decode_result and reports errors as
 * "mbxctl: decode: offset 0x1a (26): what was wrong".
 */
#include "decode.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"
#include "mbx/rop-ids.h"
#include "mbx/types.h"
#include "mbxctl.h"

/* --- errors ------------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int decode_fail(struct decode_result *res, size_t off,
                                                             const char *fmt, ...)
{
	va_list ap;

	if (res->failed)
		return -1;
	res->failed = true;
	res->err_off = off;
	va_start(ap, fmt);
	vsnprintf(res->err_msg, sizeof(res->err_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The error of a reader over the input itself. */
static int decode_fail_rd(struct decode_result *res, const struct rd *r)
{
	return decode_fail(res, r->err_off, "%s", r->err_msg);
}

/* The error of a reader over payload b (number index from 1): offsets there are input offsets
 * only when the payload was not compressed. */
static int decode_fail_payload(struct decode_result *res, const struct decode_buf *b, size_t index,
                               const struct rd *r)
{
	if (b->in_input)
		return decode_fail(res, r->err_off, "extended buffer %zu: %s", index, r->err_msg);
	return decode_fail(res, r->err_off,
	                   "extended buffer %zu (offset in its decompressed payload): %s", index,
	                   r->err_msg);
}

/* --- step 1: framing ---------------------------------------------------------------------- */

/* Reads one extended buffer at r's position into b (payload copied, SizeActual bytes). */
static int decode_read_buf(struct decode_result *res, struct rd *r, uint8_t *scratch,
                           struct decode_buf *b)
{
	size_t len = 0;

	memset(b, 0, sizeof(*b));
	b->off = rd_pos(r);
	if (mbx_rhe_read(r, &b->hdr, scratch, &len) != 0)
		return decode_fail_rd(res, r);
	if (DECODE_PAYLOAD_MAX - res->payload_total < len)
		return decode_fail(res, b->off, "the decoded payloads exceed %u bytes in all",
		                   DECODE_PAYLOAD_MAX);
	b->payload = malloc(len > 0 ? len : 1);
	if (b->payload == NULL)
		return decode_fail(res, b->off, "out of memory");
	memcpy(b->payload, scratch, len);
	b->payload_len = len;
	b->in_input = !(b->hdr.flags & MBX_RHE_COMPRESSED);
	b->payload_base = b->in_input ? b->off + MBX_RHE_HDRLEN : 0;
	res->payload_total += len;
	return 0;
}

/* Every extended buffer from r's position up to the one with Last, which must end r. */
static int decode_read_bufs(struct decode_result *res, struct rd *r, uint8_t *scratch)
{
	size_t cap = 0;

	for (;;) {
		struct decode_buf b;

		if (decode_read_buf(res, r, scratch, &b) != 0)
			return -1;
		if (res->nbufs == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 4;
			struct decode_buf *nb = realloc(res->bufs, ncap * sizeof(*nb));

			if (nb == NULL) {
				free(b.payload);
				return decode_fail(res, b.off, "out of memory");
			}
			res->bufs = nb;
			cap = ncap;
		}
		res->bufs[res->nbufs++] = b;
		if (b.hdr.flags & MBX_RHE_LAST)
			break;
		if (rd_left(r) == 0)
			return decode_fail(res, rd_pos(r),
			                   "the input ends after extended buffer %zu, which lacks "
			                   "the Last flag",
			                   res->nbufs);
	}
	if (rd_left(r) != 0)
		return decode_fail(res, rd_pos(r),
		                   "%zu byte%s after the extended buffer with the Last flag",
		                   rd_left(r), rd_left(r) == 1 ? "" : "s");
	return 0;
}

/* rgbAuxIn: one extended buffer with Last, then its AUX_HEADER blocks. */
static int decode_aux(struct decode_result *res, uint8_t *scratch)
{
	const struct stub *s = &res->stub;
	struct decode_buf *b = &res->aux;
	struct rd r, pr;
	size_t n = 0;

	rd_init(&r, s->rgbauxin, s->cbauxin, s->rgbauxin_off);
	if (decode_read_buf(res, &r, scratch, b) != 0)
		return -1;
	res->payload_total -= b->payload_len; /* not part of the ROP payload */
	res->has_aux = true;
	if (!(b->hdr.flags & MBX_RHE_LAST))
		return decode_fail(res, b->off + 2,
		                   "rgbAuxIn: the RPC_HEADER_EXT lacks the Last flag, which an "
		                   "auxiliary buffer must carry");
	if (rd_left(&r) != 0)
		return decode_fail(res, rd_pos(&r),
		                   "rgbAuxIn: %zu byte%s after its extended buffer", rd_left(&r),
		                   rd_left(&r) == 1 ? "" : "s");
	rd_init(&pr, b->payload, b->payload_len, b->payload_base);
	/* the blocks are at least 4 bytes each */
	res->aux_blocks = calloc(b->payload_len / 4 + 1, sizeof(*res->aux_blocks));
	if (res->aux_blocks == NULL)
		return decode_fail(res, b->off, "out of memory");
	if (stub_aux_walk(&pr, res->aux_blocks, b->payload_len / 4 + 1, &n) != 0) {
		if (b->in_input)
			return decode_fail(res, pr.err_off, "rgbAuxIn: %s", pr.err_msg);
		return decode_fail(res, pr.err_off,
		                   "rgbAuxIn (offset in its decompressed payload): %s", pr.err_msg);
	}
	res->naux_blocks = n;
	return 0;
}

int decode_framing(const uint8_t *in, size_t len, enum decode_format format, bool response,
                   struct decode_result *res)
{
	uint8_t *scratch;
	struct rd r;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->response = response;
	res->input_len = len;
	if (format == DECODE_FORMAT_AUTO) {
		res->detected = true;
		/* A stub holds a request; responses are always extended buffers. */
		format = !response && stub_detect(in, len) ? DECODE_FORMAT_STUB : DECODE_FORMAT_RHE;
	}
	res->format = format;
	if (len == 0)
		return decode_fail(res, 0, "empty input");
	scratch = malloc(MBX_RHE_MAX_PAYLOAD);
	if (scratch == NULL)
		return decode_fail(res, 0, "out of memory");
	rd_init(&r, in, len, 0);
	if (format == DECODE_FORMAT_RHE) {
		rc = decode_read_bufs(res, &r, scratch);
		goto out;
	}
	if (stub_decode(&r, &res->stub) != 0) {
		rc = decode_fail_rd(res, &r);
		goto out;
	}
	if (res->stub.cbin == 0) {
		rc = decode_fail(res, res->stub.rgbin_off - 4, "rgbIn is empty (cbIn 0)");
		goto out;
	}
	rd_init(&r, res->stub.rgbin, res->stub.cbin, res->stub.rgbin_off);
	if (decode_read_bufs(res, &r, scratch) != 0)
		goto out;
	rc = res->stub.cbauxin > 0 ? decode_aux(res, scratch) : 0;
out:
	free(scratch);
	return rc;
}

/* --- step 2: the ROP buffers --------------------------------------------------------------- */

static int decode_add_rop(struct decode_result *res, struct decode_buf *b,
                          const struct decode_rop *rop, size_t *cap)
{
	if (b->nrops == *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		struct decode_rop *nr = realloc(b->rops, ncap * sizeof(*nr));

		if (nr == NULL)
			return decode_fail(res, rop->off, "out of memory");
		b->rops = nr;
		*cap = ncap;
	}
	b->rops[b->nrops++] = *rop;
	return 0;
}

/* True if the response parser stopped because it does not know the layout of the ROP at hand
 * (as opposed to a response cut short): ropbuf.h promises "cannot walk past" for that case. */
static bool decode_resp_layout_unknown(const struct rd *r)
{
	return strstr(r->err_msg, "cannot walk past") != NULL;
}

/* Sets rop to "unknown layout" for the ROP at offset at, with left bytes of the list left. */
static void decode_unknown(struct decode_rop *rop, uint8_t id, size_t at, size_t left)
{
	rop->kind = DECODE_ROP_UNKNOWN;
	rop->rop_id = id;
	rop->off = at;
	rop->raw = NULL;
	rop->len = 0;
	rop->unwalked = left;
}

/* One request. Returns 0, 1 when its layout is unknown (rop says so), or -1 (res failed).
 * public_logons is the bitmap of struct mbx_ropbuf, kept up to date from the RopLogon
 * requests seen so far in this list. */
static int decode_walk_req(struct decode_result *res, struct decode_buf *b, size_t index,
                           struct rd *rr, uint8_t *public_logons, struct decode_rop *rop)
{
	size_t at = rd_pos(rr), left = rd_left(rr);
	struct mbx_rop_req q;

	memset(&q, 0, sizeof(q));
	q.in_idx = q.out_idx = q.dst_idx = q.resp_idx = -1;
	rop->idx = -1;
	if (mbx_rop_req_parse_ex(rr, public_logons, &q) != 0) {
		if (!q.layout_unknown)
			return decode_fail_payload(res, b, index, rr);
		decode_unknown(rop, rr->buf[at - rr->base], at, left);
		rop->logon_id = q.logon_id;
		rop->in_idx = q.in_idx;
		rop->out_idx = q.out_idx;
		rop->dst_idx = q.dst_idx;
		return 1;
	}
	rop->kind = DECODE_ROP_PLAIN;
	rop->rop_id = q.rop_id;
	rop->logon_id = q.logon_id;
	rop->in_idx = q.in_idx;
	rop->out_idx = q.out_idx;
	rop->dst_idx = q.dst_idx;
	rop->raw = q.raw;
	rop->len = q.len;
	rop->off = q.off;
	if (q.rop_id == MBX_ROP_Logon) {
		struct mbx_logon_req *lq = &rop->logon.req;
		struct rd lr;

		rd_init(&lr, q.raw, q.len, q.off);
		if (mbx_roplogon_req_decode(&lr, lq) != 0)
			return decode_fail_payload(res, b, index, &lr);
		rop->kind = DECODE_ROP_LOGON;
		/* later ROPs on this LogonId follow its kind (ropbuf.h, public_logons) */
		if (lq->logon_flags & MBX_LOGON_PRIVATE)
			public_logons[lq->logon_id / 8] &= (uint8_t) ~(1u << (lq->logon_id % 8));
		else
			public_logons[lq->logon_id / 8] |= (uint8_t)(1u << (lq->logon_id % 8));
	}
	return 0;
}

/* One response. Returns 0, 1 when its layout is unknown (rop says so), or -1 (res failed). */
static int decode_walk_resp(struct decode_result *res, struct decode_buf *b, size_t index,
                            struct rd *rr, struct decode_rop *rop)
{
	size_t at = rd_pos(rr), left = rd_left(rr);
	struct mbx_rop_resp p;

	rop->in_idx = rop->out_idx = rop->dst_idx = -1;
	rop->idx = -1;
	if (mbx_rop_resp_parse(rr, &p) != 0) {
		if (!decode_resp_layout_unknown(rr))
			return decode_fail_payload(res, b, index, rr);
		decode_unknown(rop, rr->buf[at - rr->base], at, left);
		return 1;
	}
	rop->kind = DECODE_ROP_PLAIN;
	rop->rop_id = p.rop_id;
	rop->idx = p.idx;
	rop->rv = p.rv;
	rop->raw = p.raw;
	rop->len = p.len;
	rop->off = p.off;
	if (p.rop_id == MBX_ROP_Logon) {
		struct rd lr;

		rd_init(&lr, p.raw, p.len, p.off);
		if (mbx_roplogon_resp_decode(&lr, &rop->logon.resp) != 0)
			return decode_fail_payload(res, b, index, &lr);
		rop->kind = DECODE_ROP_LOGON;
	} else if (p.rop_id == MBX_ROP_BufferTooSmall && p.len >= MBX_ROP_TOO_SMALL_HDR) {
		rop->kind = DECODE_ROP_TOO_SMALL;
		rop->size_needed = mbx_le16(p.raw + 1);
	}
	return 0;
}

static int decode_walk_buf(struct decode_result *res, struct decode_buf *b, size_t index)
{
	uint8_t public_logons[32] = {0};
	struct mbx_ropbuf rb;
	struct rd pr, rr;
	size_t cap = 0;

	rd_init(&pr, b->payload, b->payload_len, b->payload_base);
	if (mbx_ropbuf_decode(&pr, &rb) != 0)
		return decode_fail_payload(res, b, index, &pr);
	b->rop_size = (uint16_t)(rb.rops_len + 2);
	b->nhandles = rb.nhandles;
	memcpy(b->handles, rb.handles, rb.nhandles * sizeof(rb.handles[0]));
	rd_init(&rr, rb.rops, rb.rops_len, rb.rops_off);
	while (rd_left(&rr) > 0) {
		struct decode_rop rop;
		int rc;

		memset(&rop, 0, sizeof(rop));
		rc = res->response ? decode_walk_resp(res, b, index, &rr, &rop)
		                   : decode_walk_req(res, b, index, &rr, public_logons, &rop);
		if (rc < 0)
			return -1;
		if (decode_add_rop(res, b, &rop, &cap) != 0)
			return -1;
		if (rc > 0) {
			b->stopped = true;
			break;
		}
	}
	b->walked = true;
	return 0;
}

int decode_walk(struct decode_result *res)
{
	for (size_t i = 0; i < res->nbufs; i++)
		if (decode_walk_buf(res, &res->bufs[i], i + 1) != 0)
			return -1;
	return 0;
}

void decode_result_free(struct decode_result *res)
{
	for (size_t i = 0; i < res->nbufs; i++) {
		free(res->bufs[i].payload);
		free(res->bufs[i].rops);
	}
	free(res->bufs);
	res->bufs = NULL;
	res->nbufs = 0;
	free(res->aux.payload);
	res->aux.payload = NULL;
	free(res->aux_blocks);
	res->aux_blocks = NULL;
}

/* --- names shared by the renderers --------------------------------------------------------- */

const char *decode_private_folder_name(unsigned i)
{
	static const char *const names[MBX_LOGON_NFIDS] = {
	        "Root",   "Deferred Action", "Spooler Queue", "IPM Subtree",  "Inbox",
	        "Outbox", "Sent Items",      "Deleted Items", "Common Views", "Schedule",
	        "Search", "Views",           "Shortcuts",
	};

	return i < MBX_LOGON_NFIDS ? names[i] : "?";
}

const char *decode_public_folder_name(unsigned i)
{
	static const char *const names[MBX_LOGON_NFIDS] = {
	        "Public Root",
	        "IPM Subtree",
	        "Non-IPM Subtree",
	        "EForms Registry",
	        "Free/Busy",
	        "Offline Address Book",
	        "EForms Registry (user locale)",
	        "Local Site Free/Busy",
	        "Local Site Offline Address Book",
	        "NNTP Article Index",
	        "(unused)",
	        "(unused)",
	        "(unused)",
	};

	return i < MBX_LOGON_NFIDS ? names[i] : "?";
}

const char *decode_response_flags_str(uint8_t flags, char *buf, size_t size)
{
	static const struct mbxctl_flag names[] = {
	        {MBX_RESP_RESERVED, "Reserved"},
	        {MBX_RESP_OWNER_RIGHT, "OwnerRight"},
	        {MBX_RESP_SEND_AS_RIGHT, "SendAsRight"},
	        {MBX_RESP_OOF, "OOF"},
	        {0, NULL},
	};

	return mbxctl_flags_str(names, flags, buf, size);
}

const char *decode_logon_kind_name(enum mbx_logon_resp_kind kind)
{
	switch (kind) {
	case MBX_LOGON_RESP_PRIVATE:
		return "private";
	case MBX_LOGON_RESP_PUBLIC:
		return "public";
	case MBX_LOGON_RESP_REDIRECT:
		return "redirect";
	case MBX_LOGON_RESP_FAILURE:
		return "failure";
	}
	return "?";
}

const char *decode_wday_name(unsigned wday)
{
	static const char *const names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
	                                    "Thursday", "Friday", "Saturday"};

	return wday < 7 ? names[wday] : "?";
}

const char *decode_filetime_str(uint64_t ft, char *buf, size_t size)
{
	time_t sec;
	long nsec;
	struct tm tm;

	if (mbx_filetime_to_unix(ft, &sec, &nsec) != 0 || gmtime_r(&sec, &tm) == NULL)
		return NULL;
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%07ld UTC", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec / 100);
	return buf;
}

/* --- the command --------------------------------------------------------------------------- */

static void decode_usage(FILE *f)
{
	mbxctl_usage_of(f, &decode_cmd);
}

/* Prints the one error line; the message is ours, but keep it on one line whatever it holds. */
static void decode_print_error(size_t off, const char *msg)
{
	fprintf(stderr, "mbxctl: decode: offset 0x%zx (%zu): ", off, off);
	for (const char *p = msg; *p != '\0'; p++)
		fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
	fputc('\n', stderr);
}

static int decode_write_payload(const struct decode_result *res, const char *path)
{
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	bool ok = f != NULL;

	for (size_t i = 0; ok && i < res->nbufs; i++)
		if (res->bufs[i].payload_len > 0 &&
		    fwrite(res->bufs[i].payload, 1, res->bufs[i].payload_len, f) !=
		            res->bufs[i].payload_len)
			ok = false;
	if (f != NULL && (to_stdout ? fflush(f) != 0 : fclose(f) != 0))
		ok = false;
	if (!ok) {
		fprintf(stderr, "mbxctl: decode: cannot write %s: %s\n",
		        to_stdout ? "standard output" : path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The warning for a walk that stopped at a ROP of unknown layout (exit status stays 0). */
static void decode_print_warnings(const struct decode_result *res)
{
	for (size_t i = 0; i < res->nbufs; i++) {
		const struct decode_buf *b = &res->bufs[i];
		const struct decode_rop *rop;
		char name[16];

		if (!b->stopped || b->nrops == 0)
			continue;
		rop = &b->rops[b->nrops - 1];
		fprintf(stderr,
		        "mbxctl: decode: warning: offset 0x%zx (%zu)%s: %s (0x%02X) has no known "
		        "%s layout; the walk of extended buffer %zu stops there, %zu bytes not "
		        "walked\n",
		        rop->off, rop->off, b->in_input ? "" : " of the decompressed payload",
		        mbx_rop_str(rop->rop_id, name, sizeof(name)), rop->rop_id,
		        res->response ? "response" : "request", i + 1, rop->unwalked);
	}
}

static int decode_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"hex", no_argument, NULL, 'x'},
	        {"response", no_argument, NULL, 'r'},
	        {"payload", required_argument, NULL, 'p'},
	        {"format", required_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	bool json = false, hex = false, response = false;
	enum decode_format format = DECODE_FORMAT_AUTO;
	const char *payload_path = NULL, *path;
	struct decode_result res;
	uint8_t *in = NULL;
	size_t len = 0;
	char err[512];
	int c, status = MBXCTL_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jxrp:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'x':
			hex = true;
			break;
		case 'r':
			response = true;
			break;
		case 'p':
			payload_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "rhe") == 0) {
				format = DECODE_FORMAT_RHE;
			} else if (strcmp(optarg, "stub") == 0) {
				format = DECODE_FORMAT_STUB;
			} else if (strcmp(optarg, "auto") == 0) {
				format = DECODE_FORMAT_AUTO;
			} else {
				fprintf(stderr,
				        "mbxctl: decode: --format takes rhe, stub or auto, "
				        "not \"%s\"\n",
				        optarg);
				decode_usage(stderr);
				return MBXCTL_EXIT_USAGE;
			}
			break;
		case 'h':
			decode_usage(stdout);
			return MBXCTL_EXIT_OK;
		case ':':
			fprintf(stderr, "mbxctl: decode: option %s needs an argument\n",
			        argv[optind - 1]);
			decode_usage(stderr);
			return MBXCTL_EXIT_USAGE;
		default:
			fprintf(stderr, "mbxctl: decode: unknown option %s\n", argv[optind - 1]);
			decode_usage(stderr);
			return MBXCTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "mbxctl: decode: %s\n",
		        argc - optind == 0 ? "INPUT is missing" : "more than one INPUT");
		decode_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	if (response && format == DECODE_FORMAT_STUB) {
		fprintf(stderr, "mbxctl: decode: --response and --format stub exclude each other "
		                "(a stub carries a request)\n");
		decode_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	if (payload_path != NULL && payload_path[0] == '\0') {
		fprintf(stderr, "mbxctl: decode: --payload needs a file name\n");
		decode_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	path = argv[optind];

	if (input_read(path, hex ? 3 * (size_t)DECODE_INPUT_MAX : DECODE_INPUT_MAX, &in, &len, err,
	               sizeof(err)) != 0) {
		fprintf(stderr, "mbxctl: decode: %s\n", err);
		return MBXCTL_EXIT_FAIL;
	}
	if (hex) {
		struct rd r;

		rd_init(&r, in, len, 0);
		/* in place: the bytes never outrun the text they come from */
		if (input_hex_decode(&r, in, &len) != 0) {
			decode_print_error(r.err_off, r.err_msg);
			free(in);
			return MBXCTL_EXIT_FAIL;
		}
	}
	if (decode_framing(in, len, format, response, &res) != 0) {
		decode_print_error(res.err_off, res.err_msg);
		goto out;
	}
	if (payload_path != NULL && decode_write_payload(&res, payload_path) != 0)
		goto out;
	if (decode_walk(&res) != 0) {
		decode_print_error(res.err_off, res.err_msg);
		goto out;
	}
	if (payload_path == NULL || strcmp(payload_path, "-") != 0) {
		const char *jerr = NULL;

		if (json) {
			if (decode_print_json(stdout, &res, &jerr) != 0) {
				fprintf(stderr, "mbxctl: decode: JSON output: %s\n", jerr);
				goto out;
			}
		} else {
			decode_print_text(stdout, &res);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "mbxctl: decode: cannot write standard output: %s\n",
			        strerror(errno));
			goto out;
		}
	}
	decode_print_warnings(&res);
	status = MBXCTL_EXIT_OK;
out:
	decode_result_free(&res);
	free(in);
	return status;
}

const struct mbxctl_cmd decode_cmd = {
        .name = "decode",
        .usage = "[--json] [--hex] [--response] [--format rhe|stub|auto] [--payload FILE] INPUT",
        .help = "decode a captured ROP buffer or EcDoRpcExt2 request stub (offline)",
        .run = decode_run,
};
