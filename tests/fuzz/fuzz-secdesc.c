/*
 * fuzz-secdesc.c: libFuzzer harness for self-relative security descriptors (src/util/secdesc.c;
 * MS-DTYP 2.4.6, 2.4.5, 2.4.4, access check after 2.5.3.2).
 *
 * The input is decoded as msExchMailboxSecurityDescriptor is. A failure must leave a message
 * and an offset inside the input. A success must be encodable; the encoding must decode to an
 * equal descriptor and re-encode to the same bytes; the access check, run for a fixed
 * principal with groups and a SELF SID, must give the same answers on both decodings, and a
 * grant of FullAccess|ExternalAccount must imply a grant of FullAccess alone. Any mismatch
 * aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/secdesc.h"
#include "mbx/sid.h"
#include "mbx/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Header, two SIDs of 68 bytes, two ACLs of at most 65535 bytes. */
#define ENC_MAX (MBX_SD_HEADER_SIZE + 2 * MBX_SID_MAX_BYTES + 2 * 65535)

static struct mbx_secdesc sd1, sd2;
static uint8_t enc1[ENC_MAX], enc2[ENC_MAX];

static const struct mbx_sid principal = {1, 5, 5, {21, 1, 2, 3, 1104}};
static const struct mbx_sid groups[] = {
        {1, 5, 5, {21, 1, 2, 3, 513}},
        {1, 2, 5, {32, 545}},
        {1, 5, 5, {21, 1, 2, 3, 1105}},
};
static const struct mbx_sid self_sid = {1, 5, 5, {21, 1, 2, 3, 1104}};

static void die(const char *what)
{
	fprintf(stderr, "fuzz-secdesc: %s\n", what);
	abort();
}

static size_t encode(const struct mbx_secdesc *sd, uint8_t *out)
{
	struct wr w;
	size_t want = mbx_secdesc_encoded_size(sd);

	if (mbx_secdesc_invalid(sd) != NULL || want < MBX_SD_HEADER_SIZE || want > ENC_MAX)
		die("a decoded descriptor is not encodable");
	wr_init(&w, out, ENC_MAX);
	if (mbx_secdesc_encode(&w, sd) != 0 || w.len != want)
		die("encode failed or wrote another size than encoded_size");
	return w.len;
}

static void check_both(uint32_t wanted)
{
	size_t ng = sizeof(groups) / sizeof(groups[0]);
	enum mbx_access a = mbx_secdesc_check(&sd1, &principal, groups, ng, &self_sid, wanted);
	enum mbx_access b = mbx_secdesc_check(&sd2, &principal, groups, ng, &self_sid, wanted);

	if (a != b)
		die("the check differs after a round trip");
	if (wanted == 0 && a != MBX_ACCESS_DENIED)
		die("wanted 0 was granted");
	if (wanted != 0 && (!sd1.dacl.present || sd1.dacl.null) && a != MBX_ACCESS_GRANTED)
		die("no DACL but not granted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd err;
	size_t n1, n2;
	uint32_t wanted;

	if (mbx_secdesc_decode(data, size, &sd1, &err) != 0) {
		if (rd_ok(&err) || err.err_msg[0] == '\0' || err.err_off > size)
			die("decode failed without a proper error");
		return 0;
	}
	if (sd1.nace > MBX_SD_MAX_ACES || sd1.nace != sd1.dacl.nace + sd1.sacl.nace ||
	    !(sd1.control & MBX_SD_SELF_RELATIVE))
		die("decoded descriptor breaks its invariants");

	n1 = encode(&sd1, enc1);
	if (mbx_secdesc_decode(enc1, n1, &sd2, &err) != 0) {
		fprintf(stderr, "re-decode: %s at %zu\n", err.err_msg, err.err_off);
		die("our own encoding does not decode");
	}
	if (!mbx_secdesc_equal(&sd1, &sd2))
		die("decode(encode(sd)) differs from sd");
	n2 = encode(&sd2, enc2);
	if (n1 != n2 || memcmp(enc1, enc2, n1) != 0)
		die("the encoding is not a fixed point");

	check_both(0);
	check_both(MBX_SD_RIGHT_FULL_ACCESS);
	check_both(MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT);
	if (mbx_secdesc_check(&sd1, &principal, groups, 3, &self_sid,
	                      MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT) ==
	            MBX_ACCESS_GRANTED &&
	    mbx_secdesc_check(&sd1, &principal, groups, 3, &self_sid, MBX_SD_RIGHT_FULL_ACCESS) !=
	            MBX_ACCESS_GRANTED)
		die("granting two rights but not one of them");
	/* A mask taken from the input's last bytes. */
	wanted = size >= 4 ? (uint32_t)data[size - 4] | (uint32_t)data[size - 3] << 8 |
	                             (uint32_t)data[size - 2] << 16 | (uint32_t)data[size - 1] << 24
	                   : 0;
	check_both(wanted);
	/* No principal, no groups, no SELF: only Everyone and Authenticated Users. */
	if (mbx_secdesc_check(&sd1, NULL, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS) !=
	    mbx_secdesc_check(&sd2, NULL, NULL, 0, NULL, MBX_SD_RIGHT_FULL_ACCESS))
		die("anonymous check differs after a round trip");
	return 0;
}
