/*
 * test-rop-ids.c: the ROP id list (include/mbx/rop-list.h, MS-OXCROPS 2.2.2) and
 * mbx_rop_name / mbx_rop_str.
 */
#include "mbx-test.h"

#include "mbx/rop-ids.h"

struct entry {
	unsigned id;
	const char *name;
};

static const struct entry list[] = {
#define ENTRY(id, name) {id, "Rop" #name},
        MBX_ROP_LIST(ENTRY)
#undef ENTRY
};

#define NLIST (sizeof(list) / sizeof(list[0]))

static void test_count(void **state)
{
	(void)state;
	assert_int_equal(NLIST, MBX_ROP_COUNT);
}

static void test_round_trip(void **state)
{
	char buf[16];

	(void)state;
	for (size_t i = 0; i < NLIST; i++) {
		assert_true(list[i].id <= 0xFF);
		assert_non_null(mbx_rop_name((uint8_t)list[i].id));
		assert_string_equal(mbx_rop_name((uint8_t)list[i].id), list[i].name);
		assert_string_equal(mbx_rop_str((uint8_t)list[i].id, buf, sizeof(buf)),
		                    list[i].name);
	}
}

static void test_unique_and_ordered(void **state)
{
	(void)state;
	for (size_t i = 0; i < NLIST; i++) {
		if (i > 0)
			assert_true(list[i - 1].id < list[i].id); /* id order, so ids are unique */
		for (size_t j = i + 1; j < NLIST; j++)
			assert_string_not_equal(list[i].name, list[j].name);
	}
}

static void test_known_values(void **state)
{
	(void)state;
	/* Spot checks against MS-OXCROPS 2.2.2 and protocol.md. */
	assert_int_equal(MBX_ROP_Release, 0x01);
	assert_int_equal(MBX_ROP_RemoveAllRecipients, 0x0D);
	assert_int_equal(MBX_ROP_ModifyRecipients, 0x0E);
	assert_int_equal(MBX_ROP_GetContentsTable, 0x05);
	assert_int_equal(MBX_ROP_SetColumns, 0x12);
	assert_int_equal(MBX_ROP_SubmitMessage, 0x32);
	assert_int_equal(MBX_ROP_Progress, 0x50);
	assert_int_equal(MBX_ROP_GetStoreState, 0x7B);
	assert_int_equal(MBX_ROP_FastTransferDestinationPutBufferExtended, 0x9D);
	assert_int_equal(MBX_ROP_WriteStreamExtended, 0xA3);
	assert_int_equal(MBX_ROP_Backoff, 0xF9);
	assert_int_equal(MBX_ROP_Logon, 0xFE);
	assert_int_equal(MBX_ROP_BufferTooSmall, 0xFF);
	assert_string_equal(mbx_rop_name(0xFE), "RopLogon");
	assert_string_equal(mbx_rop_name(0x70), "RopSynchronizationConfigure");
	assert_string_equal(mbx_rop_name(0x2A), "RopNotify");
	assert_string_equal(mbx_rop_name(0x6E), "RopPending");
}

static void test_unknown(void **state)
{
	static const uint8_t reserved[] = {0x00, 0x28, 0x3C, 0x3D, 0x62, 0x65, 0x6A, 0x71,
	                                   0x7C, 0x7D, 0x83, 0x87, 0x88, 0x8F, 0x94, 0x9C,
	                                   0x9E, 0xA2, 0xA4, 0xF8, 0xFA, 0xFD};
	char buf[16];
	unsigned known = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(reserved); i++) {
		assert_null(mbx_rop_name(reserved[i]));
		snprintf(buf, sizeof(buf), "xx");
		assert_ptr_equal(mbx_rop_str(reserved[i], buf, sizeof(buf)), buf);
	}
	assert_string_equal(mbx_rop_str(0x28, buf, sizeof(buf)), "Rop(0x28)");
	assert_string_equal(mbx_rop_str(0x00, buf, sizeof(buf)), "Rop(0x00)");
	assert_string_equal(mbx_rop_str(0xFD, buf, sizeof(buf)), "Rop(0xFD)");
	/* exactly 10 bytes are enough ("Rop(0xNN)" + NUL); a short buffer truncates */
	assert_string_equal(mbx_rop_str(0xAB, buf, 10), "Rop(0xAB)");
	assert_string_equal(mbx_rop_str(0xAB, buf, 4), "Rop");
	assert_non_null(mbx_rop_str(0xAB, NULL, 0));
	for (unsigned id = 0; id < 256; id++)
		known += mbx_rop_name((uint8_t)id) != NULL;
	assert_int_equal(known, MBX_ROP_COUNT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_count),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_unique_and_ordered),
	        cmocka_unit_test(test_known_values),
	        cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
