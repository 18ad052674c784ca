/*
 * rop-errors.c: names of the MAPI error codes of MS-OXCDATA 2.4 and MS-OXCSTOR 3.2.5.1.3
 * (include/mbx/rop-errors.h, protocol.md 3.1), so that logs say "ecWrongServer" and not
 * "0x478", and the reverse lookup for configuration and tools.
 */
#include "mbx/rop-errors.h"

#include <stddef.h>
#include <stdio.h>
#include <strings.h>

const char *mbx_ec_name(uint32_t ec)
{
	/* A switch, so that two entries with the same value fail to compile. */
	switch (ec) {
#define MBX_EC_CASE(name, value)                                                                   \
	case (value):                                                                              \
		return #name;
		MBX_EC_LIST(MBX_EC_CASE)
#undef MBX_EC_CASE
	default:
		return NULL;
	}
}

const char *mbx_ec_str(uint32_t ec, char *buf, unsigned size)
{
	const char *name = mbx_ec_name(ec);

	if (name != NULL)
		return name;
	if (buf == NULL || size < 11)
		return "0x????????";
	snprintf(buf, size, "0x%08X", (unsigned)ec);
	return buf;
}

static const struct {
	const char *name;
	uint32_t value;
} ec_names[] = {
#define MBX_EC_ROW(name, value) {#name, (value)},
        MBX_EC_LIST(MBX_EC_ROW)
#undef MBX_EC_ROW
};

/*
 * Other names of the same codes: the MS-OXCDATA 2.4 primary names and the alternate names it
 * lists in parentheses, the MAPI_E_* names of the MAPI headers, and the spellings openchange
 * and gromox use (protocol.md 3.1). "ServerBusy" is left out on purpose: MS-OXCDATA uses it
 * for both 0x8004010B (MAPI_E_BUSY, section 2.4) and 0x00000480 (section 2.4.1).
 */
static const struct {
	const char *name;
	uint32_t value;
} ec_aliases[] = {
        {"Success", ecNone},
        {"S_OK", ecNone},
        {"SUCCESS_SUCCESS", ecNone},
        {"GeneralFailure", ecError},
        {"E_FAIL", ecError},
        {"MAPI_E_CALL_FAILED", ecError},
        {"OutOfMemory", ecMAPIOOM},
        {"E_NOMEMORY", ecMAPIOOM},
        {"MAPI_E_NOT_ENOUGH_MEMORY", ecMAPIOOM},
        {"InvalidParameter", ecInvalidParameter},
        {"E_INVALIDARG", ecInvalidParameter},
        {"MAPI_E_INVALID_PARAMETER", ecInvalidParameter},
        {"ecInvalidParam", ecInvalidParameter},
        {"AccessDenied", ecAccessDenied},
        {"E_ACCESSDENIED", ecAccessDenied},
        {"MAPI_E_NO_ACCESS", ecAccessDenied},
        {"NotSupported", ecNotSupported},
        {"MAPI_E_NO_SUPPORT", ecNotSupported},
        {"ecNotImplemented", ecNotSupported},
        {"InvalidObject", ecInvalidObject},
        {"MAPI_E_INVALID_OBJECT", ecInvalidObject},
        {"NotFound", ecNotFound},
        {"MAPI_E_NOT_FOUND", ecNotFound},
        {"LogonFailed", ecLoginFailure},
        {"MAPI_E_LOGON_FAILED", ecLoginFailure},
        {"NetworkError", ecNetworkError},
        {"MAPI_E_NETWORK_ERROR", ecNetworkError},
        {"ecRpcFailed", ecNetworkError},
        {"ecNetwork", ecNetworkError},
        {"MAPI_E_FAILONEPROVIDER", ecFailOneProvider},
        {"EndOfSession", ecEndOfSession},
        {"MAPI_E_END_OF_SESSION", ecEndOfSession},
        {"TooBig", ecTooBig},
        {"MAPI_E_TOO_BIG", ecTooBig},
        {"ErrorsReturned", ecWarnWithErrors},
        {"MAPI_W_ERRORS_RETURNED", ecWarnWithErrors},
        {"UnknownUser", ecUnknownUser},
        {"WrongServer", ecWrongServer},
        {"MailboxInTransit", ecMailboxInTransit},
        {"UnknownCodePage", ecUnknownCodePage},
        {"LoginPermission", ecLoginPerm},
        {"ServerMemory", ecServerOOM},
        {"ecMemory", ecServerOOM},
        {"MailboxDisabled", ecMailboxDisabled},
        {"ServerPaused", ecServerPaused},
        {"RpcFormat", ecRpcFormat},
        {"NullObject", ecNullObject},
        {"BufferTooSmall", ecBufferTooSmall},
        {"NullDestinationObject", ecDstNullObject},
        {"InvalidRpcHandle", ecRpcInvalidHandle},
        {"RPC_X_BAD_STUB_DATA", ecRpcBadStubData},
};

int mbx_ec_from_name(const char *name, uint32_t *ec_r)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(ec_names) / sizeof(ec_names[0]); i++) {
		if (strcasecmp(name, ec_names[i].name) == 0) {
			if (ec_r != NULL)
				*ec_r = ec_names[i].value;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(ec_aliases) / sizeof(ec_aliases[0]); i++) {
		if (strcasecmp(name, ec_aliases[i].name) == 0) {
			if (ec_r != NULL)
				*ec_r = ec_aliases[i].value;
			return 0;
		}
	}
	return -1;
}
