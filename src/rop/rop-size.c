/*
 * rop-size.c: the request and response layouts of the ROPs of MS-OXCROPS 2.2.3 to 2.2.15, to
 * walk a RopsList one ROP at a time, and the request walker (mbx_rop_req_parse). The response
 * walker over the same table is in rop-resp.c; the walk language the table is written in and
 * the walkers of the nested MS-OXCDATA structures are in rop-size-int.h and rop-walk.c.
 *
 * Layouts were taken from MS-OXCROPS and cross-checked (facts only) against gromox's
 * rop_ext.cpp and Microsoft's MAPI Inspector parsers. Disagreements, resolved for the spec:
 * gromox answers a failed RopReadStream, RopWriteStream(Extended), RopWriteAndCommitStream and
 * RopSetReadFlags with 6 bytes and a failed RopFastTransferSourceGetBuffer with its whole
 * body, where MS-OXCROPS gives the first ones a single response buffer (DataSize,
 * WrittenSize, PartialCompletion present whatever the ReturnValue) and the last one a 6-byte
 * failure (BackoffTime only for ecServerBusy); MAPI Inspector reads RopRegisterNotification's
 * Reserved byte only for NotificationTypes 0x80, gromox always (so do we).
 *
 * One table entry per ROP gives how its handle indexes are laid out and its request and
 * response bodies in a small walk language (rop-size-int.h); the few layouts with conditional
 * fields have a function.
 *
 * Not walked: PtypObject (0x000D) and PtypRuleAction (0x00FE) property values (their request
 * fails as "layout not known"), RopNotify responses and the success responses whose layout
 * depends on the request's columns (RopGetPropertiesSpecific, RopQueryRows, RopFindRow,
 * RopExpandRow). Recipient rows inside RopOpenMessage/RopReadRecipients responses are skipped
 * by their size, not walked.
 */
#include "mbx/ropbuf.h"

#include <stdio.h>
#include <string.h>

#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "rop/rop-size-int.h"

/* --- requests with conditional fields --------------------------------------------------------- */

static bool logon_public(const struct walk *k)
{
	return k->public_logons != NULL &&
	       (k->public_logons[k->logon_id / 8] & (1u << (k->logon_id % 8))) != 0;
}

/* RopSetProperties, RopSetPropertiesNoReplicate: PropertyValueSize counts PropertyValueCount
 * and the values. */
static void req_set_properties(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "PropertyValueSize");
	struct rd sub;

	rd_sub(r, size, &sub, "PropertyValues");
	rop_walk_tagged_array(k, &sub, rd_u16le(&sub, "PropertyValueCount"), 0);
	if (rd_ok(&sub) && rd_left(&sub) != 0)
		rd_fail(&sub, "PropertyValueSize %u leaves %zu bytes unused", size, rd_left(&sub));
	rd_take_error(r, &sub);
}

/* RopModifyRecipients (MS-OXCROPS 2.2.6.5.1): columns, then ModifyRecipientRows of RowId,
 * RecipientType, RecipientRowSize and a RecipientRow (none when the size is 0: a deletion). */
static void req_modify_recipients(struct walk *k, struct rd *r)
{
	uint16_t ncols = rd_u16le(r, "ColumnCount");
	const uint8_t *cols;
	uint16_t nrows;

	if (!rd_ok(r))
		return;
	if (rd_left(r) / 4 < ncols) {
		rd_fail(r, "ColumnCount %u needs %u bytes, %zu left", ncols, 4u * ncols,
		        rd_left(r));
		return;
	}
	cols = rd_ptr(r, 4u * ncols, "RecipientColumns");
	nrows = rd_u16le(r, "RowCount");
	for (unsigned i = 0; i < nrows && rd_ok(r); i++) {
		uint16_t size;
		struct rd sub;

		rd_skip(r, 5, "RowId, RecipientType");
		size = rd_u16le(r, "RecipientRowSize");
		if (!rd_ok(r) || size == 0)
			continue;
		rd_sub(r, size, &sub, "RecipientRow");
		rop_walk_recipient_row(k, &sub, cols, ncols);
		if (rd_ok(&sub) && rd_left(&sub) != 0)
			rd_fail(&sub, "RecipientRowSize %u leaves %zu bytes unused", size,
			        rd_left(&sub));
		rd_take_error(r, &sub);
	}
}

static void req_set_message_read_flag(struct walk *k, struct rd *r)
{
	rd_skip(r, 1, "ReadFlags");
	if (logon_public(k))
		rd_skip(r, 24, "ClientData");
}

static void req_write_per_user_information(struct walk *k, struct rd *r)
{
	uint32_t offset;

	rd_skip(r, 25, "FolderId, HasFinished");
	offset = rd_u32le(r, "DataOffset");
	rop_walk_counted(r, false, "Data");
	if (offset == 0 && !logon_public(k))
		rd_skip(r, 16, "ReplGuid");
}

static void req_sort_table(struct walk *k, struct rd *r)
{
	uint16_t n;

	(void)k;
	rd_skip(r, 1, "SortTableFlags");
	n = rd_u16le(r, "SortOrderCount");
	rd_skip(r, 4, "CategorizedCount, ExpandedCount");
	rop_walk_skip_array(r, n, 5, "SortOrders");
}

static void req_register_notification(struct walk *k, struct rd *r)
{
	(void)k;
	rd_skip(r, 2, "NotificationTypes, Reserved");
	if (rd_u8(r, "WantWholeStore") == 0)
		rd_skip(r, 16, "FolderId, MessageId");
}

static void req_create_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 1, "FolderType");
	unicode = rd_u8(r, "UseUnicodeStrings") != 0;
	rd_skip(r, 2, "OpenExisting, Reserved");
	rop_walk_str(r, unicode, "DisplayName");
	rop_walk_str(r, unicode, "Comment");
}

static void req_move_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 1, "WantAsynchronous");
	unicode = rd_u8(r, "UseUnicode") != 0;
	rd_skip(r, 8, "FolderId");
	rop_walk_str(r, unicode, "NewFolderName");
}

static void req_copy_folder(struct walk *k, struct rd *r)
{
	bool unicode;

	(void)k;
	rd_skip(r, 2, "WantAsynchronous, WantRecursive");
	unicode = rd_u8(r, "UseUnicode") != 0;
	rd_skip(r, 8, "FolderId");
	rop_walk_str(r, unicode, "NewFolderName");
}

/* RopReadStream: MaximumByteCount follows ByteCount 0xBABE. */
static void req_read_stream(struct walk *k, struct rd *r)
{
	(void)k;
	if (rd_u16le(r, "ByteCount") == 0xBABE)
		rd_skip(r, 4, "MaximumByteCount");
}

/* RopFastTransferSourceGetBuffer: MaximumBufferSize follows BufferSize 0xBABE. */
static void req_get_buffer(struct walk *k, struct rd *r)
{
	(void)k;
	if (rd_u16le(r, "BufferSize") == 0xBABE)
		rd_skip(r, 2, "MaximumBufferSize");
}

static void req_query_named_properties(struct walk *k, struct rd *r)
{
	(void)k;
	rd_skip(r, 1, "QueryFlags");
	if (rd_u8(r, "HasGuid") != 0)
		rd_skip(r, 16, "PropertyGuid");
}

/* RopModifyPermissions (PermissionData) and RopModifyRules (RuleData): flags, then a u16 count
 * of {u8 flags, u16 PropertyValueCount, TaggedPropertyValues}. */
static void req_modify_table(struct walk *k, struct rd *r)
{
	uint16_t n;

	rd_skip(r, 1, "ModifyFlags");
	n = rd_u16le(r, "count");
	if (rd_ok(r) && n > rd_left(r) / 3) {
		rd_fail(r, "%u rows cannot fit in %zu bytes", n, rd_left(r));
		return;
	}
	for (unsigned i = 0; i < n && rd_ok(r); i++) {
		rd_skip(r, 1, "row flags");
		rop_walk_tagged_array(k, r, rd_u16le(r, "PropertyValueCount"), 0);
	}
}

/* RopSynchronizationImportReadStateChanges: MessageReadStates fill MessageReadStatesSize
 * exactly; each is a u16-sized MessageId and MarkAsRead. */
static void req_import_read_state_changes(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "MessageReadStatesSize");
	struct rd sub;

	(void)k;
	rd_sub(r, size, &sub, "MessageReadStates");
	while (rd_ok(&sub) && rd_left(&sub) > 0) {
		rop_walk_counted(&sub, false, "MessageId");
		rd_skip(&sub, 1, "MarkAsRead");
	}
	rd_take_error(r, &sub);
}

/* RopSetLocalReplicaMidsetDeleted: DataSize counts LongTermIdRangeCount and the 48-byte
 * ranges. */
static void req_set_local_replica_midset_deleted(struct walk *k, struct rd *r)
{
	uint16_t size = rd_u16le(r, "DataSize");
	struct rd sub;

	(void)k;
	rd_sub(r, size, &sub, "LongTermIdRanges");
	rop_walk_skip_array(&sub, rd_u32le(&sub, "LongTermIdRangeCount"), 48, "LongTermIdRanges");
	if (rd_ok(&sub) && rd_left(&sub) != 0)
		rd_fail(&sub, "DataSize %u leaves %zu bytes unused", size, rd_left(&sub));
	rd_take_error(r, &sub);
}

/* --- the table -------------------------------------------------------------------------------- */

/* clang-format off */
#define REQ(h, f) .hk = (h), .req = (f)
#define REQF(h, fn) .hk = (h), .req_fn = (fn)
#define STD(f) .rk = RK_STD, .resp = (f)
#define ALWAYS(f) .rk = RK_ALWAYS, .resp = (f)
#define NULLDST(f) .alt_rv = ecDstNullObject, .alt_resp = (f)

const struct rop_layout rop_size_layouts[256] = {
	[0x01] = {REQ(HK_IN, ""), .rk = RK_NONE},                     /* Release */
	[0x02] = {REQ(HK_IN_OUT, "qb"), STD("bG")},                   /* OpenFolder */
	[0x03] = {REQ(HK_IN_OUT, "wqbq"), STD("bYYwTO")},             /* OpenMessage */
	[0x04] = {REQ(HK_IN_OUT, "b"), STD("d")},                     /* GetHierarchyTable */
	[0x05] = {REQ(HK_IN_OUT, "b"), STD("d")},                     /* GetContentsTable */
	[0x06] = {REQ(HK_IN_OUT, "wqb"), STD("H")},                   /* CreateMessage */
	[0x07] = {REQ(HK_IN, "wwT"), .rk = RK_CTX},                   /* GetPropertiesSpecific */
	[0x08] = {REQ(HK_IN, "ww"), STD("V")},                        /* GetPropertiesAll */
	[0x09] = {REQ(HK_IN, ""), STD("T")},                          /* GetPropertiesList */
	[0x0A] = {REQF(HK_IN, req_set_properties), STD("P")},         /* SetProperties */
	[0x0B] = {REQ(HK_IN, "T"), STD("P")},                         /* DeleteProperties */
	[0x0C] = {REQ(HK_RESP_IN, "b"), STD("bq")},                   /* SaveChangesMessage */
	[0x0D] = {REQ(HK_IN, "d"), STD("")},                          /* RemoveAllRecipients */
	[0x0E] = {REQF(HK_IN, req_modify_recipients), STD("")},       /* ModifyRecipients */
	[0x0F] = {REQ(HK_IN, "dw"), STD("Q")},                        /* ReadRecipients */
	[0x10] = {REQ(HK_IN, "w"), STD("bYYwTO")},                    /* ReloadCachedInformation */
	[0x11] = {REQF(HK_RESP_IN, req_set_message_read_flag), STD("F")}, /* SetMessageReadFlag */
	[0x12] = {REQ(HK_IN, "bT"), STD("b")},                        /* SetColumns */
	[0x13] = {REQF(HK_IN, req_sort_table), STD("b")},             /* SortTable */
	[0x14] = {REQ(HK_IN, "bR"), STD("b")},                        /* Restrict */
	[0x15] = {REQ(HK_IN, "bbw"), .rk = RK_CTX},                   /* QueryRows */
	[0x16] = {REQ(HK_IN, ""), STD("b")},                          /* GetStatus */
	[0x17] = {REQ(HK_IN, ""), STD("dd")},                         /* QueryPosition */
	[0x18] = {REQ(HK_IN, "bdb"), STD("bd")},                      /* SeekRow */
	[0x19] = {REQ(HK_IN, "Bdb"), STD("bbd")},                     /* SeekRowBookmark */
	[0x1A] = {REQ(HK_IN, "dd"), STD("")},                         /* SeekRowFractional */
	[0x1B] = {REQ(HK_IN, ""), STD("B")},                          /* CreateBookmark */
	[0x1C] = {REQF(HK_IN_OUT, req_create_folder), STD("qE")},     /* CreateFolder */
	[0x1D] = {REQ(HK_IN, "bq"), ALWAYS("b")},                     /* DeleteFolder */
	[0x1E] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* DeleteMessages */
	[0x1F] = {REQ(HK_IN, "q"), STD("d")},                         /* GetMessageStatus */
	[0x20] = {REQ(HK_IN, "qdd"), STD("d")},                       /* SetMessageStatus */
	[0x21] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetAttachmentTable */
	[0x22] = {REQ(HK_IN_OUT, "bd"), STD("")},                     /* OpenAttachment */
	[0x23] = {REQ(HK_IN_OUT, ""), STD("d")},                      /* CreateAttachment */
	[0x24] = {REQ(HK_IN, "d"), STD("")},                          /* DeleteAttachment */
	[0x25] = {REQ(HK_RESP_IN, "b"), STD("")},                     /* SaveChangesAttachment */
	[0x26] = {REQ(HK_IN, "qs"), STD("")},                         /* SetReceiveFolder */
	[0x27] = {REQ(HK_IN, "s"), STD("qs")},                        /* GetReceiveFolder */
	[0x29] = {REQF(HK_IN_OUT, req_register_notification), STD("")}, /* RegisterNotification */
	[0x2A] = {.rk = RK_UNKNOWN},                                  /* Notify (response only) */
	[0x2B] = {REQ(HK_IN_OUT, "db"), STD("d")},                    /* OpenStream */
	[0x2C] = {REQF(HK_IN, req_read_stream), ALWAYS("B")},         /* ReadStream */
	[0x2D] = {REQ(HK_IN, "B"), ALWAYS("w")},                      /* WriteStream */
	[0x2E] = {REQ(HK_IN, "bq"), STD("q")},                        /* SeekStream */
	[0x2F] = {REQ(HK_IN, "q"), STD("")},                          /* SetStreamSize */
	[0x30] = {REQ(HK_IN, "RMd"), STD("")},                        /* SetSearchCriteria */
	[0x31] = {REQ(HK_IN, "bbb"), STD("RbMd")},                    /* GetSearchCriteria */
	[0x32] = {REQ(HK_IN, "b"), STD("")},                          /* SubmitMessage */
	[0x33] = {REQ(HK_SRC_DST, "Mbb"), ALWAYS("b"), NULLDST("db")}, /* MoveCopyMessages */
	[0x34] = {REQ(HK_IN, "qq"), STD("")},                         /* AbortSubmit */
	[0x35] = {REQF(HK_SRC_DST, req_move_folder), ALWAYS("b"), NULLDST("db")}, /* MoveFolder */
	[0x36] = {REQF(HK_SRC_DST, req_copy_folder), ALWAYS("b"), NULLDST("db")}, /* CopyFolder */
	[0x37] = {REQ(HK_IN, ""), STD("T")},                          /* QueryColumnsAll */
	[0x38] = {REQ(HK_IN, ""), STD("b")},                          /* Abort */
	[0x39] = {REQ(HK_SRC_DST, "bbbT"), STD("P"), NULLDST("d")},   /* CopyTo */
	[0x3A] = {REQ(HK_SRC_DST, "q"), STD("qq"), NULLDST("dqq")},   /* CopyToStream */
	[0x3B] = {REQ(HK_IN_OUT, ""), STD("")},                       /* CloneStream */
	[0x3E] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetPermissionsTable */
	[0x3F] = {REQ(HK_IN_OUT, "b"), STD("")},                      /* GetRulesTable */
	[0x40] = {REQF(HK_IN, req_modify_table), STD("")},            /* ModifyPermissions */
	[0x41] = {REQF(HK_IN, req_modify_table), STD("")},            /* ModifyRules */
	[0x42] = {REQ(HK_IN, "q"), STD("Z")},                         /* GetOwningServers */
	[0x43] = {REQ(HK_IN, "q"), STD("L")},                         /* LongTermIdFromId */
	[0x44] = {REQ(HK_IN, "L"), STD("q")},                         /* IdFromLongTermId */
	[0x45] = {REQ(HK_IN, "q"), STD("G")},                         /* PublicFolderIsGhosted */
	[0x46] = {REQ(HK_IN_OUT, "wb"), STD("bqbYYwTO")},             /* OpenEmbeddedMessage */
	[0x47] = {REQ(HK_IN, ""), STD("")},                           /* SetSpooler */
	[0x48] = {REQ(HK_IN, "qb"), STD("")},                         /* SpoolerLockMessage */
	[0x49] = {REQ(HK_IN, ""), STD("wB")},                         /* GetAddressTypes */
	[0x4A] = {REQ(HK_IN, ""), STD("X")},                          /* TransportSend */
	[0x4B] = {REQ(HK_IN_OUT, "Mbb"), STD("")},          /* FastTransferSourceCopyMessages */
	[0x4C] = {REQ(HK_IN_OUT, "bb"), STD("")},           /* FastTransferSourceCopyFolder */
	[0x4D] = {REQ(HK_IN_OUT, "bdbT"), STD("")},         /* FastTransferSourceCopyTo */
	[0x4E] = {REQF(HK_IN, req_get_buffer), STD("wwwbB"), .alt_rv = ecServerBusy,
		  .alt_resp = "d"},                         /* FastTransferSourceGetBuffer */
	[0x4F] = {REQ(HK_IN, "bRbB"), .rk = RK_CTX},                  /* FindRow */
	[0x50] = {REQ(HK_IN, "b"), STD("bdd")},                       /* Progress */
	[0x51] = {REQ(HK_IN, "qqsd"), STD("")},                       /* TransportNewMail */
	[0x52] = {REQ(HK_IN, ""), STD("T")},                          /* GetValidAttachments */
	[0x53] = {REQ(HK_IN_OUT, "bb"), STD("")},        /* FastTransferDestinationConfigure */
	[0x54] = {REQ(HK_IN, "B"), ALWAYS("wwwbw")},     /* FastTransferDestinationPutBuffer */
	[0x55] = {REQ(HK_IN, "I"), STD("N")},                         /* GetNamesFromPropertyIds */
	[0x56] = {REQ(HK_IN, "bN"), STD("I"), .alt_rv = ecWarnWithErrors,
		  .alt_resp = "I"},                                   /* GetPropertyIdsFromNames */
	[0x57] = {REQ(HK_IN, "BB"), STD("")},                   /* UpdateDeferredActionMessages */
	[0x58] = {REQ(HK_IN, "bb"), ALWAYS("b")},                     /* EmptyFolder */
	[0x59] = {REQ(HK_IN, "wq"), .rk = RK_CTX},                    /* ExpandRow */
	[0x5A] = {REQ(HK_IN, "q"), STD("d")},                         /* CollapseRow */
	[0x5B] = {REQ(HK_IN, "qqd"), STD("")},                        /* LockRegionStream */
	[0x5C] = {REQ(HK_IN, "qqd"), STD("")},                        /* UnlockRegionStream */
	[0x5D] = {REQ(HK_IN, ""), STD("")},                           /* CommitStream */
	[0x5E] = {REQ(HK_IN, ""), STD("d")},                          /* GetStreamSize */
	[0x5F] = {REQF(HK_IN, req_query_named_properties), STD("U")}, /* QueryNamedProperties */
	[0x60] = {REQ(HK_IN, "g"), STD("K")},                         /* GetPerUserLongTermIds */
	[0x61] = {REQ(HK_IN, "L"), STD("g")},                         /* GetPerUserGuid */
	[0x63] = {REQ(HK_IN, "Lbdw"), STD("bB")},                     /* ReadPerUserInformation */
	[0x64] = {REQF(HK_IN, req_write_per_user_information), STD("")}, /* WritePerUserInfo.. */
	[0x66] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* SetReadFlags */
	[0x67] = {REQ(HK_SRC_DST, "bbT"), STD("P"), NULLDST("d")},    /* CopyProperties */
	[0x68] = {REQ(HK_IN, ""), STD("W")},                          /* GetReceiveFolderTable */
	[0x69] = {REQ(HK_IN_OUT, "bbbT"), STD("")},       /* FastTransferSourceCopyProperties */
	[0x6B] = {REQ(HK_IN, "qd"), STD("B")},                        /* GetCollapseState */
	[0x6C] = {REQ(HK_IN, "B"), STD("B")},                         /* SetCollapseState */
	[0x6D] = {REQ(HK_IN, ""), STD("q")},                          /* GetTransportFolder */
	[0x6E] = {.rk = RK_SPECIAL},                                  /* Pending (response only) */
	[0x6F] = {REQ(HK_IN, "sb"), STD("bBh")},                      /* OptionsData */
	[0x70] = {REQ(HK_IN_OUT, "bbwRdT"), STD("")},                 /* SynchronizationConfigure */
	[0x72] = {REQ(HK_IN_OUT, "bV"), STD("q")},      /* SynchronizationImportMessageChange */
	[0x73] = {REQ(HK_IN, "VV"), STD("q")},          /* SynchronizationImportHierarchyChange */
	[0x74] = {REQ(HK_IN, "bV"), STD("")},           /* SynchronizationImportDeletes */
	[0x75] = {REQ(HK_IN, "dd"), STD("")},           /* SynchronizationUploadStateStreamBegin */
	[0x76] = {REQ(HK_IN, "D"), STD("")},            /* ...UploadStateStreamContinue */
	[0x77] = {REQ(HK_IN, ""), STD("")},             /* ...UploadStateStreamEnd */
	[0x78] = {REQ(HK_IN, "DDDDD"), STD("q")},       /* SynchronizationImportMessageMove */
	[0x79] = {REQF(HK_IN, req_set_properties), STD("P")},         /* SetPropertiesNoReplicate */
	[0x7A] = {REQ(HK_IN, "T"), STD("P")},                      /* DeletePropertiesNoReplicate */
	[0x7B] = {REQ(HK_IN, ""), STD("d")},                          /* GetStoreState */
	[0x7E] = {REQ(HK_IN_OUT, "b"), STD("")},        /* SynchronizationOpenCollector */
	[0x7F] = {REQ(HK_IN, "d"), STD("g6")},                        /* GetLocalReplicaIds */
	[0x80] = {REQF(HK_IN, req_import_read_state_changes), STD("")}, /* ...ReadStateChanges */
	[0x81] = {REQ(HK_IN, ""), STD("")},                           /* ResetTable */
	[0x82] = {REQ(HK_IN_OUT, ""), STD("")},         /* SynchronizationGetTransferState */
	[0x86] = {REQ(HK_IN, "www"), STD("")},                        /* TellVersion */
	[0x89] = {REQ(HK_IN, "B"), STD("")},                          /* FreeBookmark */
	[0x90] = {REQ(HK_IN, "B"), ALWAYS("w")},                      /* WriteAndCommitStream */
	[0x91] = {REQ(HK_IN, "bbM"), ALWAYS("b")},                    /* HardDeleteMessages */
	[0x92] = {REQ(HK_IN, "bb"), ALWAYS("b")},       /* HardDeleteMessagesAndSubfolders */
	[0x93] = {REQF(HK_IN, req_set_local_replica_midset_deleted), STD("")}, /* SetLocalRepl.. */
	[0x9D] = {REQ(HK_IN, "B"), ALWAYS("wddbw")},    /* FastTransferDestinationPutBufferExt. */
	[0xA3] = {REQ(HK_IN, "B"), ALWAYS("d")},                      /* WriteStreamExtended */
	[0xF9] = {.rk = RK_SPECIAL},                                  /* Backoff (response only) */
	[0xFE] = {REQ(HK_LOGON, "bddB"), .rk = RK_SPECIAL},           /* Logon */
	[0xFF] = {.rk = RK_SPECIAL},                          /* BufferTooSmall (response only) */
};
/* clang-format on */

/* --- requests --------------------------------------------------------------------------------- */

/* Puts "RopXxx (0xNN): " in front of r's message (not for "cannot walk past", which names the
 * ROP already). */
void rop_size_name_error(struct rd *r, uint8_t id)
{
	char name[16], tmp[MBX_RD_ERRMAX];

	if (strncmp(r->err_msg, "cannot walk past", 16) == 0)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s (0x%02X): %s", mbx_rop_str(id, name, sizeof(name)), id,
	             r->err_msg) < 0)
		return;
	memcpy(r->err_msg, tmp, sizeof(tmp));
}

int mbx_rop_req_parse_ex(struct rd *r, const uint8_t *public_logons, struct mbx_rop_req *req_r)
{
	const struct rop_layout *lay;
	struct walk k = {.public_logons = public_logons};
	size_t start = r->off;
	char name[16];
	uint8_t id;

	req_r->rop_id = 0;
	req_r->logon_id = 0;
	req_r->in_idx = req_r->out_idx = req_r->dst_idx = req_r->resp_idx = -1;
	req_r->layout_unknown = false;
	req_r->raw = NULL;
	req_r->len = 0;
	req_r->off = rd_pos(r);
	if (!rd_ok(r))
		return -1;
	id = rd_u8(r, "RopId");
	if (!rd_ok(r))
		return -1;
	req_r->rop_id = id;
	req_r->raw = r->buf + start;
	lay = &rop_size_layouts[id];
	if (lay->hk == HK_NONE) {
		req_r->layout_unknown = true;
		rd_fail_at(r, req_r->off, "cannot walk past %s (0x%02X): request layout not known",
		           mbx_rop_str(id, name, sizeof(name)), id);
		return -1;
	}
	req_r->logon_id = rd_u8(r, "LogonId");
	k.logon_id = req_r->logon_id;
	if (rd_ok(r) && rd_left(r) >= 1) {
		int a = rd_u8(r, "handle index");

		switch (lay->hk) {
		case HK_IN:
		case HK_SRC_DST:
			req_r->in_idx = req_r->resp_idx = a;
			break;
		case HK_LOGON:
			req_r->out_idx = req_r->resp_idx = a;
			break;
		case HK_IN_OUT:
			req_r->in_idx = a;
			break;
		case HK_RESP_IN:
			req_r->resp_idx = a;
			break;
		}
	} else {
		rd_skip(r, 1, "handle index");
	}
	if (lay->hk == HK_IN_OUT || lay->hk == HK_RESP_IN || lay->hk == HK_SRC_DST) {
		if (rd_ok(r) && rd_left(r) >= 1) {
			int b = rd_u8(r, "second handle index");

			if (lay->hk == HK_IN_OUT)
				req_r->out_idx = req_r->resp_idx = b;
			else if (lay->hk == HK_RESP_IN)
				req_r->in_idx = b;
			else
				req_r->dst_idx = b;
		} else {
			rd_skip(r, 1, "second handle index");
		}
	}
	if (lay->req_fn != NULL)
		lay->req_fn(&k, r);
	else
		rop_walk_fmt(&k, r, lay->req);
	if (!rd_ok(r)) {
		req_r->layout_unknown = k.unknown;
		if (k.unknown) {
			char tmp[MBX_RD_ERRMAX];

			if (snprintf(tmp, sizeof(tmp), "cannot walk past %s (0x%02X): %s",
			             mbx_rop_str(id, name, sizeof(name)), id, r->err_msg) >= 0)
				memcpy(r->err_msg, tmp, sizeof(tmp));
		} else {
			rop_size_name_error(r, id);
		}
		return -1;
	}
	req_r->len = r->off - start;
	return 0;
}

bool mbx_rop_has_request(uint8_t rop_id)
{
	return rop_size_layouts[rop_id].hk != HK_NONE;
}

int mbx_rop_req_parse(struct rd *r, struct mbx_rop_req *req_r)
{
	return mbx_rop_req_parse_ex(r, NULL, req_r);
}
