/*
 * test-rop-errors.c: the ec* table of include/mbx/rop-errors.h against values copied by hand
 * from MS-OXCDATA 2.4 / 2.4.1 / 2.4.2 / 2.4.3, MS-OXCSTOR 3.2.5.1.3 and MS-OXCROPS 3.2.5.4
 * (protocol.md 3.1), and mbx_ec_name / mbx_ec_str / mbx_ec_from_name.
 */
#include "mbx-test.h"

#include <ctype.h>

#include "mbx/rop-errors.h"
#include "mbx/wire.h"

/* Independent of the header: if someone edits a value there, this table disagrees. */
static const struct {
	const char *name;
	uint32_t value;
} spec[] = {
        {"ecNone", 0x00000000},                 /* OXCDATA 2.4 Success; OXCSTOR */
        {"ecWrongServer", 0x00000478},          /* OXCDATA 2.4.1 WrongServer; OXCSTOR */
        {"ecMailboxInTransit", 0x0000050C},     /* OXCDATA 2.4.1; OXCSTOR */
        {"ecUnknownUser", 0x000003EB},          /* OXCDATA 2.4.1; OXCSTOR */
        {"ecLoginFailure", 0x80040111},         /* OXCDATA 2.4 LogonFailed; OXCSTOR */
        {"ecUnknownCodePage", 0x000003EF},      /* OXCDATA 2.4.1; OXCSTOR */
        {"ecLoginPerm", 0x000003F2},            /* OXCDATA 2.4.1 LoginPermission; OXCSTOR */
        {"ecProfileNotConfigured", 0x0000011C}, /* OXCSTOR 3.2.5.1.3 */
        {"ecMailboxDisabled", 0x0000096C},      /* OXCDATA 2.4.1; OXCSTOR */
        {"ecServerPaused", 0x0000047F},         /* OXCDATA 2.4.1; OXCSTOR */
        {"ecInvalidParameter", 0x80070057},     /* OXCDATA 2.4 InvalidParameter; OXCSTOR */
        {"ecAccessDenied", 0x80070005},         /* OXCDATA 2.4; OXCSTOR; OXCROPS 3.2.5.4 */
        {"ecNetworkError", 0x80040115},         /* OXCDATA 2.4 NetworkError */
        {"ecEndOfSession", 0x80040200},         /* OXCDATA 2.4 EndOfSession */
        {"ecFailOneProvider", 0x8004011D},      /* MAPI_E_FAILONEPROVIDER (mapicode.h) */
        {"ecNotFound", 0x8004010F},             /* OXCDATA 2.4 / 2.4.2 NotFound */
        {"ecNullObject", 0x000004B9},           /* OXCDATA 2.4.1 NullObject; OXCROPS 3.2.5.4 */
        {"ecRpcFormat", 0x000004B6},            /* OXCDATA 2.4.1 RpcFormat */
        {"ecBufferTooSmall", 0x0000047D},       /* OXCDATA 2.4.1 BufferTooSmall */
        {"ecServerBusy", 0x00000480},           /* OXCDATA 2.4.1 ServerBusy */
        {"ecNotSupported", 0x80040102},         /* OXCDATA 2.4 NotSupported */
        {"ecError", 0x80004005},                /* OXCDATA 2.4 GeneralFailure */
        {"ecServerOOM", 0x000003F0},            /* OXCDATA 2.4.1 ServerMemory */
        {"ecMAPIOOM", 0x8007000E},              /* OXCDATA 2.4 OutOfMemory */
        {"ecDstNullObject", 0x00000503},        /* OXCDATA 2.4.1 NullDestinationObject */
        {"ecWarnWithErrors", 0x00040380},       /* OXCDATA 2.4.3 ErrorsReturned */
        {"ecRpcInvalidHandle", 0x00000A2E},     /* OXCDATA 2.4.1 InvalidRpcHandle */
        {"ecTooBig", 0x80040305},               /* OXCDATA 2.4.2 TooBig */
        {"ecInvalidObject", 0x80040108},        /* OXCDATA 2.4; OXCROPS 3.2.5.4 */
        {"NotImplemented", 0x80040FFF},         /* OXCDATA 2.4 NotImplemented */
        {"ecRpcBadStubData", 0x000006F7},       /* RPC_X_BAD_STUB_DATA (1783) */
};
#define NSPEC (sizeof(spec) / sizeof(spec[0]))

static void test_spec_values(void **state)
{
	size_t n = 0;

	for (size_t i = 0; i < NSPEC; i++) {
		uint32_t v = 0xDEADBEEF;

		assert_non_null(mbx_ec_name(spec[i].value));
		assert_string_equal(mbx_ec_name(spec[i].value), spec[i].name);
		assert_int_equal(mbx_ec_from_name(spec[i].name, &v), 0);
		assert_int_equal(v, spec[i].value);
	}
	/* Same number of entries as the header's list: a new entry needs a row here. */
#define COUNT(name, value) n++;
	MBX_EC_LIST(COUNT)
#undef COUNT
	assert_int_equal(n, NSPEC);
}

static void test_enum_constants(void **state)
{
	/* The enum is what code uses; check some through the constants themselves. */
	assert_int_equal((uint32_t)ecWrongServer, 0x478);
	assert_int_equal((uint32_t)ecLoginFailure, 0x80040111u);
	assert_int_equal((uint32_t)ecMailboxInTransit, 0x50C);
	assert_int_equal((uint32_t)ecNotSupported, 0x80040102u);
	assert_int_equal((uint32_t)NotImplemented, 0x80040FFFu);
	assert_true(sizeof(enum mbx_ec) >= 4);
	/* An enum constant above INT_MAX keeps its value when converted to uint32_t. */
	assert_true((uint32_t)ecError == 0x80004005u);
}

static void test_every_entry_round_trips(void **state)
{
	/* Straight from the X list, in every case spelling. */
#define CHECK(name, value)                                                                         \
	do {                                                                                       \
		char up[64], low[64];                                                              \
		uint32_t v = 0;                                                                    \
		size_t k;                                                                          \
		assert_string_equal(mbx_ec_name(value), #name);                                    \
		for (k = 0; #name[k] != '\0'; k++) {                                               \
			up[k] = (char)toupper((unsigned char)#name[k]);                            \
			low[k] = (char)tolower((unsigned char)#name[k]);                           \
		}                                                                                  \
		up[k] = low[k] = '\0';                                                             \
		assert_int_equal(mbx_ec_from_name(up, &v), 0);                                     \
		assert_int_equal(v, (uint32_t)(value));                                            \
		v = 0;                                                                             \
		assert_int_equal(mbx_ec_from_name(low, &v), 0);                                    \
		assert_int_equal(v, (uint32_t)(value));                                            \
	} while (0);
	MBX_EC_LIST(CHECK)
#undef CHECK
}

static void test_unknown_values(void **state)
{
	static const uint32_t unknown[] = {1,          0x477,      0x479,      0x80040FFE,
	                                   0x8004010B, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_null(mbx_ec_name(unknown[i]));
}

static void test_ec_str(void **state)
{
	char buf[16];

	memset(buf, 'z', sizeof(buf));
	assert_string_equal(mbx_ec_str(0x478, buf, sizeof(buf)), "ecWrongServer");
	assert_int_equal(buf[0], 'z'); /* a known name does not touch buf */
	assert_string_equal(mbx_ec_str(0xDEADBEEF, buf, sizeof(buf)), "0xDEADBEEF");
	assert_string_equal(buf, "0xDEADBEEF");
	assert_string_equal(mbx_ec_str(1, buf, 11), "0x00000001");
	assert_string_equal(mbx_ec_str(0x8004010B, buf, 11), "0x8004010B");
	/* Too small or no buffer: never NULL, never a truncated number. */
	assert_string_equal(mbx_ec_str(1, buf, 10), "0x????????");
	assert_string_equal(mbx_ec_str(1, buf, 0), "0x????????");
	assert_string_equal(mbx_ec_str(1, NULL, 11), "0x????????");
	assert_string_equal(mbx_ec_str(0, NULL, 0), "ecNone");
}

static void test_from_name_invalid(void **state)
{
	static const char *const bad[] = {
	        "",
	        "ec",
	        "ecWrongServer ",
	        " ecWrongServer",
	        "ecWrongServerX",
	        "ecWrong",
	        "0x478",
	        "1144",
	        "ecWrong Server",
	        "ServerBusy", /* ambiguous in MS-OXCDATA */
	        "ecNotImplementedX",
	        "MAPI_E_",
	        "ecNone\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 0x12345678;

		assert_int_equal(mbx_ec_from_name(bad[i], &v), -1);
		assert_int_equal(v, 0x12345678); /* untouched */
	}
	assert_int_equal(mbx_ec_from_name(NULL, NULL), -1);
	assert_int_equal(mbx_ec_from_name("ecWrongServer", NULL), 0);
}

static void test_aliases(void **state)
{
	static const struct {
		const char *name;
		uint32_t value;
	} rows[] = {
	        {"ecInvalidParam", 0x80070057},
	        {"MAPI_E_INVALID_PARAMETER", 0x80070057},
	        {"InvalidParameter", 0x80070057},
	        {"ecNotImplemented", 0x80040102},
	        {"ECNOTIMPLEMENTED", 0x80040102},
	        {"MAPI_E_NO_SUPPORT", 0x80040102},
	        {"notimplemented", 0x80040FFF},
	        {"MAPI_E_LOGON_FAILED", 0x80040111},
	        {"LogonFailed", 0x80040111},
	        {"ecRpcFailed", 0x80040115},
	        {"ecNetwork", 0x80040115},
	        {"MAPI_E_NETWORK_ERROR", 0x80040115},
	        {"ecMemory", 0x000003F0},
	        {"MAPI_E_NOT_ENOUGH_MEMORY", 0x8007000E},
	        {"Success", 0},
	        {"S_OK", 0},
	        {"GeneralFailure", 0x80004005},
	        {"MAPI_E_CALL_FAILED", 0x80004005},
	        {"MAPI_E_NO_ACCESS", 0x80070005},
	        {"MAPI_E_NOT_FOUND", 0x8004010F},
	        {"MAPI_E_END_OF_SESSION", 0x80040200},
	        {"MAPI_E_FAILONEPROVIDER", 0x8004011D},
	        {"MAPI_W_ERRORS_RETURNED", 0x00040380},
	        {"MAPI_E_TOO_BIG", 0x80040305},
	        {"NullDestinationObject", 0x503},
	        {"InvalidRpcHandle", 0xA2E},
	        {"RPC_X_BAD_STUB_DATA", 0x6F7},
	        {"WrongServer", 0x478},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t v = 0xDEADBEEF;

		assert_int_equal(mbx_ec_from_name(rows[i].name, &v), 0);
		assert_int_equal(v, rows[i].value);
		/* Every alias names a code of the list, so it has a log name. */
		assert_non_null(mbx_ec_name(v));
	}
}

static void test_wire_bytes(void **state)
{
	/* protocol.md 2.4: failure responses carry the code little-endian. */
	static const struct {
		uint32_t ec;
		const char *hex;
	} rows[] = {
	        {ecMailboxInTransit, "0C 05 00 00"},
	        {ecUnknownUser, "EB 03 00 00"},
	        {ecLoginFailure, "11 01 04 80"},
	        {ecWrongServer, "78 04 00 00"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t out[4];
		size_t n;
		uint8_t *want = mbx_test_hex(rows[i].hex, &n);
		struct wr w;
		struct rd r;

		wr_init(&w, out, sizeof(out));
		wr_u32le(&w, rows[i].ec);
		assert_true(wr_ok(&w));
		assert_memory_equal(out, want, 4);
		rd_init(&r, want, n, 0);
		assert_int_equal(rd_u32le(&r, "ec"), rows[i].ec);
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_spec_values),
	        cmocka_unit_test(test_enum_constants),
	        cmocka_unit_test(test_every_entry_round_trips),
	        cmocka_unit_test(test_unknown_values),
	        cmocka_unit_test(test_ec_str),
	        cmocka_unit_test(test_from_name_invalid),
	        cmocka_unit_test(test_aliases),
	        cmocka_unit_test(test_wire_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
