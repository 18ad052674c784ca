/*
 * control-proto.c: the pure half of the control socket protocol (include/mbx/control.h,
 * "MBXCTL/1"): the request line parser the daemon runs on untrusted bytes from a local peer,
 * the writer mbxctl uses, and the status-line parser of mbxctl. No I/O, no allocation; the
 * fuzzer (tests/fuzz/fuzz-control.c) and both sides call exactly these functions.
 */
#include "mbx/control.h"

#include <string.h>

#include "mbx/errbuf.h"
#include "mbx/log.h"

#define PROTO_MAGIC_LEN (sizeof(MBX_CONTROL_MAGIC) - 1)

/* An argchar of the grammar: 0x20..0x7E and 0x80..0xFF. */
static bool proto_argchar(unsigned char b)
{
	return (b >= 0x20 && b != 0x7F);
}

/* The first byte of p[0..n) that is no argchar, or -1. */
static long proto_bad_byte(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!proto_argchar(p[i]))
			return (long)i;
	return -1;
}

int mbx_control_request_parse(const char *line, size_t len, struct mbx_control_request *req_r,
                              char *err, size_t errsize)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t scan = len < MBX_CONTROL_REQ_MAX ? len : MBX_CONTROL_REQ_MAX;
	const unsigned char *lf = scan > 0 ? memchr(p, '\n', scan) : NULL;
	size_t n, off, used = 0;
	int field = 0;

	req_r->json = false;
	req_r->argc = 0;
	req_r->argv[0] = NULL;
	if (lf == NULL) {
		if (len >= MBX_CONTROL_REQ_MAX)
			mbx_errbuf_set(err, errsize, "no LF within %d bytes", MBX_CONTROL_REQ_MAX);
		else if (len == 0)
			mbx_errbuf_set(err, errsize, "empty request");
		else
			mbx_errbuf_set(err, errsize, "request of %zu bytes ends without LF", len);
		return -1;
	}
	n = (size_t)(lf - p);
	/* fields separated by TAB over p[0..n) */
	for (off = 0;; field++) {
		const unsigned char *tab = n - off > 0 ? memchr(p + off, '\t', n - off) : NULL;
		size_t flen = tab != NULL ? (size_t)(tab - (p + off)) : n - off;
		const unsigned char *f = p + off;

		if (field == 0) {
			if (flen != PROTO_MAGIC_LEN || memcmp(f, MBX_CONTROL_MAGIC, flen) != 0) {
				char esc[64];

				mbx_errbuf_set(
				        err, errsize, "unknown protocol \"%s\"",
				        mbx_log_escape((const char *)f, flen, esc, sizeof(esc)));
				return -1;
			}
		} else if (field == 1) {
			if (flen == 4 && memcmp(f, "json", 4) == 0) {
				req_r->json = true;
			} else if (flen != 4 || memcmp(f, "text", 4) != 0) {
				mbx_errbuf_set(err, errsize, "format must be text or json");
				return -1;
			}
		} else {
			int argno = field - 1;
			long bad;

			if (req_r->argc == MBX_CONTROL_ARGS_MAX) {
				mbx_errbuf_set(err, errsize, "more than %d arguments",
				               MBX_CONTROL_ARGS_MAX);
				req_r->argc = 0;
				req_r->argv[0] = NULL;
				return -1;
			}
			if (flen == 0) {
				mbx_errbuf_set(err, errsize, "empty argument %d", argno);
				req_r->argc = 0;
				req_r->argv[0] = NULL;
				return -1;
			}
			bad = proto_bad_byte(f, flen);
			if (bad >= 0) {
				mbx_errbuf_set(err, errsize, "byte 0x%02X in argument %d", f[bad],
				               argno);
				req_r->argc = 0;
				req_r->argv[0] = NULL;
				return -1;
			}
			/* the args and their NULs take fewer bytes than the line: they fit */
			memcpy(req_r->buf + used, f, flen);
			req_r->buf[used + flen] = '\0';
			req_r->argv[req_r->argc++] = req_r->buf + used;
			used += flen + 1;
		}
		if (tab == NULL)
			break;
		off += flen + 1;
	}
	req_r->argv[req_r->argc] = NULL;
	if (field == 0) {
		mbx_errbuf_set(err, errsize, "format must be text or json");
		return -1;
	}
	if (req_r->argc == 0) {
		mbx_errbuf_set(err, errsize, "no command");
		return -1;
	}
	return 0;
}

int mbx_control_request_format(bool json, int argc, const char *const *argv, char *out, size_t size,
                               char *err, size_t errsize)
{
	size_t total = PROTO_MAGIC_LEN + 1 + 4 + 1; /* magic TAB format ... LF */
	size_t off;

	if (argc < 1) {
		mbx_errbuf_set(err, errsize, "no command");
		return -1;
	}
	if (argc > MBX_CONTROL_ARGS_MAX) {
		mbx_errbuf_set(err, errsize, "more than %d arguments", MBX_CONTROL_ARGS_MAX);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		size_t alen;
		long bad;

		if (argv[i] == NULL || argv[i][0] == '\0') {
			mbx_errbuf_set(err, errsize, "empty argument %d", i + 1);
			return -1;
		}
		alen = strlen(argv[i]);
		bad = proto_bad_byte((const unsigned char *)argv[i], alen);
		if (bad >= 0) {
			mbx_errbuf_set(err, errsize, "byte 0x%02X in argument %d",
			               (unsigned char)argv[i][bad], i + 1);
			return -1;
		}
		if (alen > MBX_CONTROL_REQ_MAX) {
			total = MBX_CONTROL_REQ_MAX + 1;
			break;
		}
		total += 1 + alen;
	}
	if (total > MBX_CONTROL_REQ_MAX) {
		mbx_errbuf_set(err, errsize, "request longer than %d bytes", MBX_CONTROL_REQ_MAX);
		return -1;
	}
	if (size <= total) {
		mbx_errbuf_set(err, errsize, "no room for a request of %zu bytes", total);
		return -1;
	}
	memcpy(out, MBX_CONTROL_MAGIC "\t", PROTO_MAGIC_LEN + 1);
	off = PROTO_MAGIC_LEN + 1;
	memcpy(out + off, json ? "json" : "text", 4);
	off += 4;
	for (int i = 0; i < argc; i++) {
		size_t alen = strlen(argv[i]);

		out[off++] = '\t';
		memcpy(out + off, argv[i], alen);
		off += alen;
	}
	out[off++] = '\n';
	out[off] = '\0';
	return (int)off;
}

int mbx_control_status_parse(const char *line, size_t len, int *exit_r, char *msg, size_t msgsize)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t i, digits, mlen;
	int v = 0;

	if (msg != NULL && msgsize > 0)
		msg[0] = '\0';
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len == 2 && memcmp(p, "OK", 2) == 0) {
		*exit_r = 0;
		return 0;
	}
	if (len < 4 || memcmp(p, "ERR ", 4) != 0)
		return -1;
	for (i = 4, digits = 0; i < len && p[i] >= '0' && p[i] <= '9' && digits < 4; i++, digits++)
		v = v * 10 + (p[i] - '0');
	if (digits == 0 || digits > 3 || v < 1 || v > 125)
		return -1;
	if (i == len || p[i] != ' ')
		return -1;
	i++;
	mlen = len - i;
	if (mlen > MBX_CONTROL_MSG_MAX || proto_bad_byte(p + i, mlen) >= 0)
		return -1;
	if (msg != NULL && msgsize > 0) {
		size_t k = mlen < msgsize - 1 ? mlen : msgsize - 1;

		memcpy(msg, p + i, k);
		msg[k] = '\0';
	}
	*exit_r = v;
	return 0;
}
