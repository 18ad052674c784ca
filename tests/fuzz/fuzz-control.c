/*
 * fuzz-control.c: libFuzzer harness for the control socket protocol (include/mbx/control.h,
 * src/daemon/control-proto.c): the request line parser the daemon runs on bytes from local
 * peers, the request writer of mbxctl, and mbxctl's status-line parser.
 *
 * The first byte picks the mode, the rest is the input:
 *   0 mod 3  a request line: parsed; when it is accepted, every argument is 1.. bytes of
 *            argchars, there are 1..MBX_CONTROL_ARGS_MAX, and writing them again gives back
 *            exactly the input up to its first LF (the grammar has one spelling per request);
 *   1 mod 3  a status line: parsed; when accepted, the exit status is 0 only for "OK" and
 *            1..125 otherwise, and the message is at most MBX_CONTROL_MSG_MAX bytes without a
 *            control byte; parsing with a small message buffer gives the same status and a
 *            prefix of the message;
 *   2 mod 3  NUL-separated arguments (bit 2 of the first byte: json): written with the writer;
 *            when it accepts them, the parser gives them back unchanged.
 * Inputs are copied to buffers of their exact size so that ASan sees any read past the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz-control: %s\n", what);
	abort();
}

static bool argchar(unsigned char b)
{
	return b >= 0x20 && b != 0x7F;
}

static void fuzz_request(const char *in, size_t len)
{
	static struct mbx_control_request req;
	static char out[MBX_CONTROL_REQ_MAX + 1];
	char err[200] = "";
	const char *lf;
	size_t line_len;
	int n;

	if (mbx_control_request_parse(in, len, &req, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err) - 1)
			die("a refusal without a clear message");
		if (req.argc != 0 || req.argv[0] != NULL)
			die("a refusal left arguments behind");
		return;
	}
	if (req.argc < 1 || req.argc > MBX_CONTROL_ARGS_MAX || req.argv[req.argc] != NULL)
		die("argc out of range or argv not NULL-terminated");
	for (int i = 0; i < req.argc; i++) {
		size_t alen = strlen(req.argv[i]);

		if (alen == 0)
			die("an empty argument was accepted");
		if (req.argv[i] < req.buf || req.argv[i] + alen >= req.buf + sizeof(req.buf))
			die("an argument outside the request's buffer");
		for (size_t k = 0; k < alen; k++)
			if (!argchar((unsigned char)req.argv[i][k]))
				die("an argument holds a refused byte");
	}
	lf = memchr(in, '\n', len);
	if (lf == NULL)
		die("accepted without LF");
	line_len = (size_t)(lf - in) + 1;
	if (line_len > MBX_CONTROL_REQ_MAX)
		die("accepted a line longer than the limit");
	n = mbx_control_request_format(req.json, req.argc, req.argv, out, sizeof(out), err,
	                               sizeof(err));
	if (n < 0)
		die("the writer refuses what the parser accepted");
	if ((size_t)n != line_len || memcmp(out, in, line_len) != 0)
		die("format(parse(line)) is not the line");
}

static void fuzz_status(const char *in, size_t len)
{
	char msg[MBX_CONTROL_MSG_MAX + 1], small[5];
	int ex = -1, ex2 = -1;
	size_t mlen;

	if (mbx_control_status_parse(in, len, &ex, msg, sizeof(msg)) != 0) {
		if (mbx_control_status_parse(in, len, &ex2, NULL, 0) != -1)
			die("the outcome depends on the message buffer");
		return;
	}
	mlen = strlen(msg);
	if (ex == 0) {
		if (!((len == 2 || (len == 3 && in[2] == '\n')) && memcmp(in, "OK", 2) == 0))
			die("exit 0 for something else than OK");
		if (mlen != 0)
			die("a message with OK");
	} else {
		if (ex < 1 || ex > 125)
			die("exit status out of 1..125");
		if (len < 4 || memcmp(in, "ERR ", 4) != 0)
			die("an error status without ERR");
		if (mlen > MBX_CONTROL_MSG_MAX)
			die("a message longer than the limit");
		for (size_t k = 0; k < mlen; k++)
			if (!argchar((unsigned char)msg[k]))
				die("a message with a control byte");
	}
	if (mbx_control_status_parse(in, len, &ex2, small, sizeof(small)) != 0 || ex2 != ex ||
	    strncmp(small, msg, sizeof(small) - 1) != 0)
		die("a small message buffer changes the outcome");
}

static void fuzz_format(bool json, const char *in, size_t len)
{
	static char copy[MBX_CONTROL_REQ_MAX * 2 + 1];
	static char out[MBX_CONTROL_REQ_MAX + 1];
	static struct mbx_control_request req;
	const char *argv[MBX_CONTROL_ARGS_MAX + 8];
	char err[200];
	int argc = 0, n;

	if (len > sizeof(copy) - 1)
		len = sizeof(copy) - 1;
	memcpy(copy, in, len);
	copy[len] = '\0';
	for (size_t off = 0; off <= len && argc < (int)(sizeof(argv) / sizeof(argv[0]));) {
		argv[argc++] = copy + off;
		off += strlen(copy + off) + 1;
	}
	n = mbx_control_request_format(json, argc, argv, out, sizeof(out), err, sizeof(err));
	if (n < 0)
		return;
	if ((size_t)n != strlen(out) || out[n - 1] != '\n')
		die("the written request is not one line");
	if (mbx_control_request_parse(out, (size_t)n, &req, err, sizeof(err)) != 0)
		die("the parser refuses what the writer wrote");
	if (req.json != json || req.argc != argc)
		die("the format or the argument count changed");
	for (int i = 0; i < argc; i++)
		if (strcmp(req.argv[i], argv[i]) != 0)
			die("an argument changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;
	size_t len;

	if (size == 0)
		return 0;
	len = size - 1;
	in = malloc(len > 0 ? len : 1);
	if (in == NULL)
		return 0;
	memcpy(in, data + 1, len);
	switch (data[0] % 3) {
	case 0:
		fuzz_request(in, len);
		break;
	case 1:
		fuzz_status(in, len);
		break;
	default:
		fuzz_format((data[0] & 4) != 0, in, len);
		break;
	}
	free(in);
	return 0;
}
