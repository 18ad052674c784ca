/*
 * rop-errors.h: the MAPI error codes (ec*) of MS-OXCDATA 2.4 and MS-OXCSTOR 3.2.5.1.3 that
 * mbxstore sends or logs, in one X-macro list (protocol.md 3.1), and their names for logs:
 * logs say "ecWrongServer", not "0x478". Only src/rop/rop-errors.c maps directory and store
 * results to these codes.
 */
#ifndef MBX_ROP_ERRORS_H
#define MBX_ROP_ERRORS_H

#include <stdint.h>

/*
 * X(name, value). Names are the ec* names of MS-OXCDATA 2.4 / MS-OXCSTOR, except where the
 * spec has none: 0x80040FFF is "NotImplemented" (MS-OXCDATA 2.4). It is NOT "ecNotImplemented":
 * MS-OXCDATA lists ecNotImplemented as another name of NotSupported, 0x80040102
 * (MAPI_E_NO_SUPPORT, ecNotSupported, ecNotImplemented); mbx_ec_from_name knows that alias.
 * Values are unique (mbx_ec_name's switch would not compile otherwise).
 */
#define MBX_EC_LIST(X)                                \
	X(ecNone, 0x00000000)                         \
	X(ecWrongServer, 0x00000478)                  \
	X(ecMailboxInTransit, 0x0000050C)             \
	X(ecUnknownUser, 0x000003EB)                  \
	X(ecLoginFailure, 0x80040111)                 \
	X(ecUnknownCodePage, 0x000003EF)              \
	X(ecLoginPerm, 0x000003F2)                    \
	X(ecProfileNotConfigured, 0x0000011C)         \
	X(ecMailboxDisabled, 0x0000096C)              \
	X(ecServerPaused, 0x0000047F)                 \
	X(ecInvalidParameter, 0x80070057)             \
	X(ecAccessDenied, 0x80070005)                 \
	X(ecNetworkError, 0x80040115)                 \
	X(ecEndOfSession, 0x80040200)                 \
	X(ecFailOneProvider, 0x8004011D)              \
	X(ecNotFound, 0x8004010F)                     \
	X(ecNullObject, 0x000004B9)                   \
	X(ecRpcFormat, 0x000004B6)                    \
	X(ecBufferTooSmall, 0x0000047D)               \
	X(ecServerBusy, 0x00000480)                   \
	X(ecNotSupported, 0x80040102)                 \
	X(ecError, 0x80004005)                        \
	X(ecServerOOM, 0x000003F0)                    \
	X(ecMAPIOOM, 0x8007000E)                      \
	X(ecDstNullObject, 0x00000503)                \
	X(ecWarnWithErrors, 0x00040380)               \
	X(ecRpcInvalidHandle, 0x00000A2E)             \
	X(ecTooBig, 0x80040305)                       \
	X(ecInvalidObject, 0x80040108)                \
	X(NotImplemented, 0x80040FFF)                 \
	X(ecRpcBadStubData, 0x000006F7)

/* Values above INT_MAX make this an unsigned enum (a GCC/Clang extension we rely on). */
enum mbx_ec {
#define MBX_EC_ENUM(name, value) name = (value),
	MBX_EC_LIST(MBX_EC_ENUM)
#undef MBX_EC_ENUM
};

/* "ecWrongServer" for 0x478; NULL for a value not in the list. */
const char *mbx_ec_name(uint32_t ec);
/* Like mbx_ec_name, but never NULL: unknown values are formatted as "0x%08X" into buf
 * (at least 11 bytes; with a smaller or NULL buf the result is "0x????????"). */
const char *mbx_ec_str(uint32_t ec, char *buf, unsigned size);
/* Looks up a name ("ecWrongServer", case-insensitive). Also accepts the alternate names
 * MS-OXCDATA gives for the codes of the list ("ecInvalidParam", "MAPI_E_LOGON_FAILED",
 * "ecRpcFailed", "ecNotImplemented" = ecNotSupported, ...). Returns 0 and the value in *ec_r
 * (which may be NULL), or -1. */
int mbx_ec_from_name(const char *name, uint32_t *ec_r);

#endif
