/*
 * rop-list.h: the X-macro list of every ROP id in MS-OXCROPS 2.2.2 ("The Table of RopIds"),
 * X(id, Name) for RopName, kept in id order. The ids not listed (0x00, 0x28, 0x3C, 0x3D,
 * 0x62, 0x65, 0x6A, 0x71, 0x7C, 0x7D, 0x83..0x85, 0x87, 0x88, 0x8A..0x8F, 0x94..0x9C,
 * 0x9E..0xA2, 0xA4..0xF8, 0xFA..0xFD) are reserved or unused. Cross-checked against the ROP id
 * enums of Microsoft's MAPI Inspector and of gromox (facts only).
 */
#ifndef MBX_ROP_LIST_H
#define MBX_ROP_LIST_H

#define MBX_ROP_LIST(X)                                                                            \
	X(0x01, Release)                                                                           \
	X(0x02, OpenFolder)                                                                        \
	X(0x03, OpenMessage)                                                                       \
	X(0x04, GetHierarchyTable)                                                                 \
	X(0x05, GetContentsTable)                                                                  \
	X(0x06, CreateMessage)                                                                     \
	X(0x07, GetPropertiesSpecific)                                                             \
	X(0x08, GetPropertiesAll)                                                                  \
	X(0x09, GetPropertiesList)                                                                 \
	X(0x0A, SetProperties)                                                                     \
	X(0x0B, DeleteProperties)                                                                  \
	X(0x0C, SaveChangesMessage)                                                                \
	X(0x0D, RemoveAllRecipients)                                                               \
	X(0x0E, ModifyRecipients)                                                                  \
	X(0x0F, ReadRecipients)                                                                    \
	X(0x10, ReloadCachedInformation)                                                           \
	X(0x11, SetMessageReadFlag)                                                                \
	X(0x12, SetColumns)                                                                        \
	X(0x13, SortTable)                                                                         \
	X(0x14, Restrict)                                                                          \
	X(0x15, QueryRows)                                                                         \
	X(0x16, GetStatus)                                                                         \
	X(0x17, QueryPosition)                                                                     \
	X(0x18, SeekRow)                                                                           \
	X(0x19, SeekRowBookmark)                                                                   \
	X(0x1A, SeekRowFractional)                                                                 \
	X(0x1B, CreateBookmark)                                                                    \
	X(0x1C, CreateFolder)                                                                      \
	X(0x1D, DeleteFolder)                                                                      \
	X(0x1E, DeleteMessages)                                                                    \
	X(0x1F, GetMessageStatus)                                                                  \
	X(0x20, SetMessageStatus)                                                                  \
	X(0x21, GetAttachmentTable)                                                                \
	X(0x22, OpenAttachment)                                                                    \
	X(0x23, CreateAttachment)                                                                  \
	X(0x24, DeleteAttachment)                                                                  \
	X(0x25, SaveChangesAttachment)                                                             \
	X(0x26, SetReceiveFolder)                                                                  \
	X(0x27, GetReceiveFolder)                                                                  \
	X(0x29, RegisterNotification)                                                              \
	X(0x2A, Notify)                                                                            \
	X(0x2B, OpenStream)                                                                        \
	X(0x2C, ReadStream)                                                                        \
	X(0x2D, WriteStream)                                                                       \
	X(0x2E, SeekStream)                                                                        \
	X(0x2F, SetStreamSize)                                                                     \
	X(0x30, SetSearchCriteria)                                                                 \
	X(0x31, GetSearchCriteria)                                                                 \
	X(0x32, SubmitMessage)                                                                     \
	X(0x33, MoveCopyMessages)                                                                  \
	X(0x34, AbortSubmit)                                                                       \
	X(0x35, MoveFolder)                                                                        \
	X(0x36, CopyFolder)                                                                        \
	X(0x37, QueryColumnsAll)                                                                   \
	X(0x38, Abort)                                                                             \
	X(0x39, CopyTo)                                                                            \
	X(0x3A, CopyToStream)                                                                      \
	X(0x3B, CloneStream)                                                                       \
	X(0x3E, GetPermissionsTable)                                                               \
	X(0x3F, GetRulesTable)                                                                     \
	X(0x40, ModifyPermissions)                                                                 \
	X(0x41, ModifyRules)                                                                       \
	X(0x42, GetOwningServers)                                                                  \
	X(0x43, LongTermIdFromId)                                                                  \
	X(0x44, IdFromLongTermId)                                                                  \
	X(0x45, PublicFolderIsGhosted)                                                             \
	X(0x46, OpenEmbeddedMessage)                                                               \
	X(0x47, SetSpooler)                                                                        \
	X(0x48, SpoolerLockMessage)                                                                \
	X(0x49, GetAddressTypes)                                                                   \
	X(0x4A, TransportSend)                                                                     \
	X(0x4B, FastTransferSourceCopyMessages)                                                    \
	X(0x4C, FastTransferSourceCopyFolder)                                                      \
	X(0x4D, FastTransferSourceCopyTo)                                                          \
	X(0x4E, FastTransferSourceGetBuffer)                                                       \
	X(0x4F, FindRow)                                                                           \
	X(0x50, Progress)                                                                          \
	X(0x51, TransportNewMail)                                                                  \
	X(0x52, GetValidAttachments)                                                               \
	X(0x53, FastTransferDestinationConfigure)                                                  \
	X(0x54, FastTransferDestinationPutBuffer)                                                  \
	X(0x55, GetNamesFromPropertyIds)                                                           \
	X(0x56, GetPropertyIdsFromNames)                                                           \
	X(0x57, UpdateDeferredActionMessages)                                                      \
	X(0x58, EmptyFolder)                                                                       \
	X(0x59, ExpandRow)                                                                         \
	X(0x5A, CollapseRow)                                                                       \
	X(0x5B, LockRegionStream)                                                                  \
	X(0x5C, UnlockRegionStream)                                                                \
	X(0x5D, CommitStream)                                                                      \
	X(0x5E, GetStreamSize)                                                                     \
	X(0x5F, QueryNamedProperties)                                                              \
	X(0x60, GetPerUserLongTermIds)                                                             \
	X(0x61, GetPerUserGuid)                                                                    \
	X(0x63, ReadPerUserInformation)                                                            \
	X(0x64, WritePerUserInformation)                                                           \
	X(0x66, SetReadFlags)                                                                      \
	X(0x67, CopyProperties)                                                                    \
	X(0x68, GetReceiveFolderTable)                                                             \
	X(0x69, FastTransferSourceCopyProperties)                                                  \
	X(0x6B, GetCollapseState)                                                                  \
	X(0x6C, SetCollapseState)                                                                  \
	X(0x6D, GetTransportFolder)                                                                \
	X(0x6E, Pending)                                                                           \
	X(0x6F, OptionsData)                                                                       \
	X(0x70, SynchronizationConfigure)                                                          \
	X(0x72, SynchronizationImportMessageChange)                                                \
	X(0x73, SynchronizationImportHierarchyChange)                                              \
	X(0x74, SynchronizationImportDeletes)                                                      \
	X(0x75, SynchronizationUploadStateStreamBegin)                                             \
	X(0x76, SynchronizationUploadStateStreamContinue)                                          \
	X(0x77, SynchronizationUploadStateStreamEnd)                                               \
	X(0x78, SynchronizationImportMessageMove)                                                  \
	X(0x79, SetPropertiesNoReplicate)                                                          \
	X(0x7A, DeletePropertiesNoReplicate)                                                       \
	X(0x7B, GetStoreState)                                                                     \
	X(0x7E, SynchronizationOpenCollector)                                                      \
	X(0x7F, GetLocalReplicaIds)                                                                \
	X(0x80, SynchronizationImportReadStateChanges)                                             \
	X(0x81, ResetTable)                                                                        \
	X(0x82, SynchronizationGetTransferState)                                                   \
	X(0x86, TellVersion)                                                                       \
	X(0x89, FreeBookmark)                                                                      \
	X(0x90, WriteAndCommitStream)                                                              \
	X(0x91, HardDeleteMessages)                                                                \
	X(0x92, HardDeleteMessagesAndSubfolders)                                                   \
	X(0x93, SetLocalReplicaMidsetDeleted)                                                      \
	X(0x9D, FastTransferDestinationPutBufferExtended)                                          \
	X(0xA3, WriteStreamExtended)                                                               \
	X(0xF9, Backoff)                                                                           \
	X(0xFE, Logon)                                                                             \
	X(0xFF, BufferTooSmall)

/* Number of entries in MBX_ROP_LIST. */
#define MBX_ROP_COUNT 132

#endif
