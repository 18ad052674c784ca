#!/usr/bin/env python3
# make-fixtures.py: writes the hand-built inputs of tests/cli/mbxctl-decode.sh as hex text
# (the form `mbxctl decode --hex` reads). Every byte is spelled out here from protocol.md
# sections 1, 2, 4 and 9.1 (MS-OXCROPS 2.2.3.1, MS-OXCRPC 2.2.2.1, 3.1.4.2), so the .hex files
# can be regenerated and reviewed: python3 make-fixtures.py (in this folder).
import struct

ESSDN = b"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
SERVER = (b"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
          b"/cn=Configuration/cn=Servers/cn=EXMBX02")
MAILBOX_GUID = bytes.fromhex("78563412" "3412" "7856" "9abcdef012345678")  # 12345678-1234-5678-9abc-def012345678
REPL_GUID = bytes.fromhex("efbeadde" "adde" "efbe" "0102030405060708")     # deadbeef-dead-beef-0102-030405060708


def rhe(payload, flags=0x0004):
    """An extended buffer, uncompressed (XORed if flags has 0x0002)."""
    if flags & 0x0002:
        payload = bytes(b ^ 0xA5 for b in payload)
    return struct.pack("<HHHH", 0, flags, len(payload), len(payload)) + payload


def ropbuf(rops, handles):
    return struct.pack("<H", len(rops) + 2) + rops + b"".join(struct.pack("<I", h) for h in handles)


def fid(replid, globcnt):
    return struct.pack("<H", replid) + globcnt.to_bytes(6, "big")


def logon_req(essdn=ESSDN):
    # protocol.md 1.4: LogonId 0, OutputHandleIndex 0, Private, OpenFlags 0x0100000C
    return (bytes([0xFE, 0x00, 0x00, 0x01]) + struct.pack("<II", 0x0100000C, 0)
            + struct.pack("<H", len(essdn) + 1) + essdn + b"\0")


LOGON_TIME = bytes([0x09, 0x07, 0x0E, 0x02, 0x05, 0x03, 0xE8, 0x07])  # 2024-03-05 (Tue) 14:07:09
GWART = (1709647629 * 10**7) + 116444736000000000                      # the same instant, FILETIME


def logon_private():
    globcnts = [0x01, 0x02, 0x03, 0x09, 0x0D, 0x0C, 0x0A, 0x0B, 0x07, 0x08, 0x05, 0x06, 0x04]
    b = bytes([0xFE, 0x00]) + struct.pack("<I", 0) + bytes([0x01])
    b += b"".join(fid(1, g) for g in globcnts)
    b += bytes([0x07]) + MAILBOX_GUID + struct.pack("<H", 5) + REPL_GUID
    b += LOGON_TIME + struct.pack("<Q", GWART) + struct.pack("<I", 0)
    assert len(b) == 166
    return b


def logon_public():
    b = bytes([0xFE, 0x01]) + struct.pack("<I", 0) + bytes([0x00])
    b += b"".join(fid(1, g) for g in [0x01, 0x02, 0x03, 0x04]) + bytes(8 * 9)
    b += struct.pack("<H", 1) + REPL_GUID + bytes(16)
    assert len(b) == 145
    return b


def logon_redirect():
    return (bytes([0xFE, 0x00]) + struct.pack("<I", 0x478) + bytes([0x01, len(SERVER) + 1])
            + SERVER + b"\0")


def logon_failure():
    return bytes([0xFE, 0x00]) + struct.pack("<I", 0x50C)  # ecMailboxInTransit


def stub(rgbin, aux, flags=0):
    def arr(b):
        out = struct.pack("<I", len(b)) + b
        return out + bytes((4 - len(out) % 4) % 4)
    cxh = struct.pack("<I", 0) + bytes.fromhex("2756a0d0721e0c48b85a274429fd403f")
    return (cxh + struct.pack("<I", flags) + arr(rgbin) + struct.pack("<II", len(rgbin), 0x8007)
            + arr(aux) + struct.pack("<II", len(aux), 0x88))


def write(name, data, per_line=16, prefix=""):
    lines = []
    for i in range(0, len(data), per_line):
        lines.append(" ".join(prefix + "%02x" % b for b in data[i:i + per_line]))
    with open(name, "w") as f:
        f.write("\n".join(lines) + "\n")


# valid inputs
write("logon-req.hex", rhe(ropbuf(logon_req(), [0xFFFFFFFF])))
write("logon-resp-private.hex", rhe(ropbuf(logon_private(), [0x00000101])))
write("logon-resp-public.hex", rhe(ropbuf(logon_public(), [0xFFFFFFFF, 0x00000202])),
      per_line=8, prefix="0x")
write("logon-resp-redirect.hex", rhe(ropbuf(logon_redirect(), [0xFFFFFFFF])))
write("logon-resp-failure.hex", rhe(ropbuf(logon_failure(), [0xFFFFFFFF])))
# an Essdn with bytes that need escaping: a control byte, quote, backslash, a byte that is not
# UTF-8, a well-formed "e acute", DEL
write("logon-req-escapes.hex",
      rhe(ropbuf(logon_req(b'/o=T\x01"\\\xff\xc3\xa9\x7f'), [0xFFFFFFFF])))
# two buffers: the first without Last (a chained response), the second XORed
write("two-buffers-resp.hex",
      rhe(ropbuf(logon_failure(), [0xFFFFFFFF]), flags=0x0000)
      + rhe(ropbuf(logon_redirect(), [0xFFFFFFFF]), flags=0x0006))
# a stub around an XORed RopLogon request, with an aux buffer of two blocks
aux_blocks = (struct.pack("<HBBHH", 8, 1, 0x01, 1, 7)             # PERF_REQUESTID 1/7
              + struct.pack("<HBB", 12, 1, 0x4A) + bytes(8))      # CLIENT_CONNECTION_INFO
write("logon-stub.hex", stub(rhe(ropbuf(logon_req(), [0xFFFFFFFF]), flags=0x0006),
                             rhe(aux_blocks, flags=0x0006), flags=0x0003))

# bad inputs
write("bad-truncated-header.hex", bytes([0x00, 0x00, 0x04]))
write("bad-version.hex", bytes.fromhex("0100040002000200ffff"))
write("bad-flags.hex", bytes.fromhex("0000140002000200ffff"))
write("bad-size-beyond.hex", bytes.fromhex("000004001000100002000000"))
# Compressed|Last, SizeActual 16: indicator says "match" first, which reaches before the start
write("bad-lz77.hex", bytes.fromhex("000005000600100000000080" "0800"))
write("bad-ropsize.hex", rhe(bytes.fromhex("ff00" "01000000")))
write("bad-truncated-rop.hex", rhe(bytes.fromhex("0400" "fe00" "ffffffff")))
write("bad-trailing.hex", rhe(ropbuf(logon_failure(), [0xFFFFFFFF])) + b"\x00")
write("bad-no-last.hex", rhe(ropbuf(logon_failure(), [0xFFFFFFFF]), flags=0x0002))
good = bytearray(stub(rhe(ropbuf(logon_req(), [0xFFFFFFFF])), b""))
rgbin_len = struct.unpack_from("<I", good, 24)[0]
struct.pack_into("<I", good, 28 + rgbin_len + (4 - rgbin_len % 4) % 4, rgbin_len + 1)
write("bad-stub-cbin.hex", bytes(good))
with open("bad-odd.hex", "w") as f:
    f.write("00 00 04 00\n02 00 02 0\n")
with open("bad-char.hex", "w") as f:
    f.write("0x0000 0x0400\n0x0600 0x06zz\n")

# ROPs whose layout cannot be walked: the walk stops there, with a warning, exit status 0
write("unknown-req.hex", rhe(ropbuf(bytes.fromhex("010000" "ff0000aabbcc"), [0x00000033])))
# RopQueryRows (0x15) success: its rows need the column set of an earlier request
write("unknown-resp.hex", rhe(ropbuf(logon_failure() + bytes.fromhex("1500000000000201000000"),
                                     [0xFFFFFFFF])))
# RopPending (0x6E, SessionIndex 1) has no handle index and no ReturnValue
write("pending-resp.hex", rhe(ropbuf(logon_failure() + bytes.fromhex("6e0100"), [0xFFFFFFFF])))
