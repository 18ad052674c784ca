/*
 * bench-lz77.c: speed and ratio of the LZ77 + DIRECT2 codec (src/rop/lz77.c, MS-OXCRPC
 * 3.1.4.1.1.2) on 32 KB payloads shaped like real ROP buffers (protocol.md 4.2), as the server
 * compresses RopQueryRows / FastTransfer responses and decompresses requests.
 *
 * Payloads (deterministic, xorshift PRNG with a fixed seed; see build_* below):
 *   queryrows   a RopQueryRows response: ~140 rows of a contents table, each with a 70-byte
 *               PidTagEntryId (fixed store/folder GUIDs + a growing GLOBCNT), a UTF-16 subject
 *               and sender drawn from word lists, FILETIMEs a few minutes apart, sizes, flags,
 *               an 8-byte instance key, a random 16-byte search key and "IPM.Note"
 *   proptags    RopSetColumns / RopGetPropertiesSpecific style traffic: property-tag tables
 *               (u32 tags, many repeated), tagged PT_LONG / PT_BOOLEAN / PT_I8 values,
 *               GUIDs of named properties, small UTF-16 strings, handle tables
 *   fasttransfer a FastTransfer download stream: markers, tag/value pairs and message bodies
 *               of UTF-16 English-like text (sentences from a word list)
 *   random      incompressible bytes (worst case for the encoder; decode of its literal form)
 * Figures are MB/s of uncompressed bytes (1 MB = 10^6 bytes), best of --runs runs of
 * --iterations calls each, timed with clock_gettime(CLOCK_MONOTONIC).
 *
 * Usage: bench-lz77 [--iterations N] [--runs R] [--payload NAME]
 * (--iterations 10 --runs 1 is the small setting for valgrind --tool=callgrind; --payload
 * limits the run to one payload so instruction counts can be split by payload.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbx/lz77.h"

#define PAYLOAD 32768

static uint64_t rs = 0x2545F4914F6CDD1Du;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}

struct buf {
	uint8_t b[PAYLOAD + 4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	put(b, x, 2);
}

static void u32(struct buf *b, uint32_t v)
{
	u16(b, (uint16_t)v);
	u16(b, (uint16_t)(v >> 16));
}

static void u64(struct buf *b, uint64_t v)
{
	u32(b, (uint32_t)v);
	u32(b, (uint32_t)(v >> 32));
}

/* UTF-16LE of an ASCII string, with the terminating NUL. */
static void utf16z(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		u16(b, (uint8_t)*s);
	u16(b, 0);
}

static const char *const words[] = {
        "report", "meeting", "budget",  "project",  "Alpha",  "review",   "draft",  "quarterly",
        "the",    "for",     "and",     "update",   "server", "mailbox",  "move",   "status",
        "team",   "notes",   "invoice", "contract", "lunch",  "schedule", "Friday", "deadline",
        "new",    "please",  "see",     "attached", "with",   "about",    "our",    "release",
};
static const char *const names[] = {"Alice Martin",  "Bob Dupont",  "Carol Schmidt", "David Okafor",
                                    "Eve Johansson", "Frank Rossi", "Grace Kim",     "Heidi Novak"};

static void sentence(char *s, size_t cap, unsigned nwords)
{
	size_t n = 0;

	s[0] = '\0';
	for (unsigned i = 0; i < nwords && n + 16 < cap; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s%s", i ? " " : "",
		                      words[rnd() % (sizeof(words) / sizeof(words[0]))]);
}

static const uint8_t store_guid[16] = {0x27, 0x56, 0xa0, 0xd0, 0x72, 0x1e, 0x0c, 0x48,
                                       0xb8, 0x5a, 0x27, 0x44, 0x29, 0xfd, 0x40, 0x3f};
static const uint8_t db_guid[16] = {0x9c, 0x1b, 0x44, 0x2e, 0x05, 0x6e, 0x4a, 0x4f,
                                    0x8e, 0x6a, 0x21, 0x3d, 0x11, 0x02, 0xfa, 0x90};

static void build_queryrows(struct buf *b)
{
	uint64_t globcnt = 0x1A2B00, ft = 0x01D9F0A5C3B4E000u;
	char s[128];

	b->n = 0;
	u16(b, 0); /* RopSize, patched below */
	u8(b, 0x15);
	u8(b, 1);
	u32(b, 0);
	u8(b, 1);  /* Origin */
	u16(b, 0); /* RowCount, patched */
	unsigned rows = 0;

	while (b->n < PAYLOAD - 600) {
		u8(b, 0);   /* standard PropertyRow */
		u16(b, 70); /* PidTagEntryId */
		u32(b, 0);
		put(b, store_guid, 16);
		u16(b, 7);
		put(b, db_guid, 16);
		u64(b, 0x0000000000000001u); /* folder GLOBCNT */
		put(b, db_guid, 16);
		globcnt += 1 + rnd() % 3;
		for (int i = 5; i >= 0; i--)
			u8(b, (uint8_t)(globcnt >> (8 * i)));
		u16(b, 0);
		sentence(s, sizeof(s), 3 + rnd() % 6); /* PidTagSubject */
		utf16z(b, rnd() % 3 ? s : "Re: project status update");
		utf16z(b, names[rnd() % 8]); /* PidTagSenderName */
		ft += (uint64_t)(60 + rnd() % 900) * 10000000u;
		u64(b, ft);                    /* PidTagMessageDeliveryTime */
		u32(b, 1000 + rnd() % 90000);  /* PidTagMessageSize */
		u32(b, rnd() % 4 ? 0x1 : 0x9); /* PidTagMessageFlags */
		u32(b, 0);                     /* PidTagImportance etc. */
		u64(b, globcnt);               /* PidTagInstanceKey */
		for (int i = 0; i < 4; i++)    /* PidTagSearchKey */
			u32(b, rnd());
		utf16z(b, "IPM.Note");
		rows++;
	}
	b->b[0] = (uint8_t)b->n;
	b->b[1] = (uint8_t)(b->n >> 8);
	b->b[9] = (uint8_t)rows;
	b->b[10] = (uint8_t)(rows >> 8);
	while (b->n < PAYLOAD - 4) /* fill to size with the start of another row's entry id */
		u8(b, store_guid[b->n % 16]);
	u32(b, 0x00000045); /* handle table */
}

static void build_proptags(struct buf *b)
{
	static const uint32_t tags[] = {0x0FFF0102, 0x0037001F, 0x0C1A001F, 0x0E060040,
	                                0x0E080003, 0x0E070003, 0x30080040, 0x0E170003,
	                                0x0017000B, 0x65E00102, 0x67480014, 0x0E1B000B,
	                                0x3FDE0003, 0x10800003, 0x0E2D0003, 0x0FF90102};
	b->n = 0;
	u16(b, 0);
	while (b->n < PAYLOAD - 400) {
		unsigned kind = rnd() % 3, n = 4 + rnd() % 12;

		if (kind == 0) { /* RopSetColumns: tag table */
			u8(b, 0x12);
			u8(b, 0);
			u8(b, (uint8_t)(rnd() % 4));
			u16(b, (uint16_t)n);
			for (unsigned i = 0; i < n; i++)
				u32(b, tags[(i + rnd() % 2) % 16]);
		} else if (kind == 1) { /* RopGetPropertiesSpecific response: tagged values */
			u8(b, 0x07);
			u8(b, (uint8_t)(rnd() % 4));
			u32(b, 0);
			for (unsigned i = 0; i < n; i++) {
				uint32_t t = tags[rnd() % 16];

				u32(b, t);
				switch (t & 0xFFFF) {
				case 0x0003:
					u32(b, rnd() % 1000);
					break;
				case 0x000B:
					u8(b, (uint8_t)(rnd() & 1));
					break;
				case 0x0014:
				case 0x0040:
					u64(b, 0x01D9F0A500000000u + rnd());
					break;
				case 0x001F:
					utf16z(b, names[rnd() % 8]);
					break;
				default:
					u16(b, 16);
					put(b, rnd() % 2 ? store_guid : db_guid, 16);
				}
			}
		} else { /* RopGetIDsFromNames: named property GUIDs and ids */
			u8(b, 0x56);
			u8(b, 0);
			u8(b, 2);
			u16(b, (uint16_t)n);
			for (unsigned i = 0; i < n; i++) {
				u8(b, 0);
				put(b, i % 2 ? store_guid : db_guid, 16);
				u32(b, 0x8500 + rnd() % 64);
			}
		}
	}
	b->b[0] = (uint8_t)b->n;
	b->b[1] = (uint8_t)(b->n >> 8);
	while (b->n < PAYLOAD - 24)
		u8(b, 0);
	for (int i = 0; i < 6; i++)
		u32(b, i % 2 ? 0xFFFFFFFF : 0x70 + (uint32_t)i);
}

static void build_fasttransfer(struct buf *b)
{
	char s[200];

	b->n = 0;
	u16(b, 0);
	u8(b, 0x4E); /* RopFastTransferSourceGetBuffer response */
	u8(b, 1);
	u32(b, 0);
	u16(b, 1);
	u16(b, 0);
	u16(b, 0);
	u16(b, 0);
	while (b->n < PAYLOAD - 1200) {
		u32(b, 0x400C0003); /* StartMessage */
		u32(b, 0x0037001F);
		sentence(s, sizeof(s), 4 + rnd() % 5);
		utf16z(b, s);
		u32(b, 0x0E060040);
		u64(b, 0x01D9F0A500000000u + rnd());
		u32(b, 0x1000001F); /* PidTagBody */
		for (unsigned k = 0, nk = 3 + rnd() % 5; k < nk; k++) {
			sentence(s, sizeof(s), 8 + rnd() % 10);
			for (char *c = s; *c != '\0'; c++)
				u16(b, (uint8_t)*c);
			u16(b, '.');
			u16(b, ' ');
		}
		u16(b, 0);
		u32(b, 0x40010003); /* StartRecip */
		u32(b, 0x3001001F);
		utf16z(b, names[rnd() % 8]);
		u32(b, 0x40040003); /* EndToRecip */
		u32(b, 0x400D0003); /* EndMessage */
	}
	b->b[0] = (uint8_t)b->n;
	b->b[1] = (uint8_t)(b->n >> 8);
	while (b->n < PAYLOAD - 4)
		u8(b, 0);
	u32(b, 0x12);
}

static void build_random(struct buf *b)
{
	for (b->n = 0; b->n < PAYLOAD; b->n++)
		b->b[b->n] = (uint8_t)rnd();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct buf bufs[4];
	static uint8_t cz[MBX_LZ77_BOUND(PAYLOAD)], back[PAYLOAD];
	static const char *const names_[4] = {"queryrows", "proptags", "fasttransfer", "random"};
	void (*const build[4])(struct buf *) = {build_queryrows, build_proptags, build_fasttransfer,
	                                        build_random};
	long iters = 2000, runs = 7;
	const char *only = NULL;
	double sum_dec = 0, sum_enc = 0;
	size_t sum_plain = 0, sum_cz = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
			iters = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--payload") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--iterations N] [--runs R] [--payload NAME]\n",
			        argv[0]);
			return 2;
		}
	}
	if (iters < 1 || runs < 1) {
		fprintf(stderr, "iterations and runs must be >= 1\n");
		return 2;
	}

	printf("%-13s %7s %10s %6s %12s %12s\n", "payload", "bytes", "compressed", "ratio",
	       "decode MB/s", "encode MB/s");
	for (int k = 0; k < 4; k++) {
		struct buf *b = &bufs[k];
		double best_dec = 1e30, best_enc = 1e30;
		size_t cn = 0;

		build[k](b); /* always, so every payload is the same whatever is selected */
		if (only != NULL && strcmp(only, names_[k]) != 0)
			continue;
		if (b->n != PAYLOAD) {
			fprintf(stderr, "%s: built %zu bytes\n", names_[k], b->n);
			return 1;
		}
		for (long r = 0; r < runs; r++) {
			double t0 = now();

			for (long i = 0; i < iters; i++) {
				cn = mbx_lz77_compress(b->b, PAYLOAD, cz, sizeof(cz));
				__asm__ volatile("" ::: "memory");
			}
			double t1 = now();

			for (long i = 0; i < iters; i++) {
				if (mbx_lz77_decompress(cz, cn, back, PAYLOAD, NULL) != 0)
					return 1;
				__asm__ volatile("" ::: "memory");
			}
			double t2 = now();

			if (t1 - t0 < best_enc)
				best_enc = t1 - t0;
			if (t2 - t1 < best_dec)
				best_dec = t2 - t1;
		}
		if (cn == 0 || memcmp(back, b->b, PAYLOAD) != 0) {
			fprintf(stderr, "%s: round trip failed\n", names_[k]);
			return 1;
		}
		double dec = (double)PAYLOAD * (double)iters / best_dec / 1e6;
		double enc = (double)PAYLOAD * (double)iters / best_enc / 1e6;

		printf("%-13s %7d %10zu %6.3f %12.0f %12.0f\n", names_[k], PAYLOAD, cn,
		       (double)cn / PAYLOAD, dec, enc);
		if (k < 3) {
			sum_dec += best_dec;
			sum_enc += best_enc;
			sum_plain += PAYLOAD;
			sum_cz += cn;
		}
	}
	if (only == NULL)
		printf("%-13s %7zu %10zu %6.3f %12.0f %12.0f\n", "ROP mix (3)", sum_plain, sum_cz,
		       (double)sum_cz / (double)sum_plain,
		       (double)sum_plain * (double)iters / sum_dec / 1e6,
		       (double)sum_plain * (double)iters / sum_enc / 1e6);
	printf("(%ld iterations x best of %ld runs; MB = 10^6 bytes of uncompressed data)\n", iters,
	       runs);
	return 0;
}
