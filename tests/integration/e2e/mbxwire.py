# mbxwire.py: the byte formats an end-to-end client of mbxstored needs, written from
# protocol.md only and independently of the C codecs (so that a bug shared by our encoder and
# our decoder cannot hide): RPC_HEADER_EXT with XOR 0xA5 and LZ77 (protocol.md 4.1, 4.4, 4.5;
# MS-OXCRPC 2.2.2.1, 3.1.4.1.1.2, MS-XCA 2.3/2.4), the ROP buffer and its handle table (4.2,
# 4.3), RopLogon request and responses (1, 2; MS-OXCROPS 2.2.3.1), LogonTime, FIDs and
# name-based GUIDs. Python 3 standard library only.
import hashlib
import struct
import uuid

# --- RPC_HEADER_EXT (protocol.md 4.1) ------------------------------------------------------------

RHE_COMPRESSED = 0x0001
RHE_XORMAGIC = 0x0002
RHE_LAST = 0x0004
RHE_MAX_PAYLOAD = 0x8000

# Execute Flags (EcDoRpcExt2 pulFlags, protocol.md 5.6)
EXEC_NO_COMPRESSION = 0x0001
EXEC_NO_XORMAGIC = 0x0002
EXEC_CHAIN = 0x0004


class WireError(ValueError):
    pass


def xor_a5(data):
    return bytes(b ^ 0xA5 for b in data)


def rhe_pack(payload, compress=False, xor=False, last=True):
    """One extended buffer: compress (if asked and it shrinks), then XOR."""
    flags = RHE_LAST if last else 0
    body = payload
    if compress:
        c = lz77_compress(payload)
        if len(c) >= len(payload):
            raise WireError("the compressor did not shrink the payload (%d -> %d bytes)"
                            % (len(payload), len(c)))
        body = c
        flags |= RHE_COMPRESSED
    if xor:
        body = xor_a5(body)
        flags |= RHE_XORMAGIC
    return struct.pack("<HHHH", 0, flags, len(body), len(payload)) + body


def rhe_unpack_all(buf):
    """Every extended buffer of buf: a list of (flags, size, size_actual, payload) with the
    payload un-XORed and decompressed. Raises WireError on anything malformed."""
    out = []
    off = 0
    while True:
        if len(buf) - off < 8:
            raise WireError("RPC_HEADER_EXT truncated at offset %d" % off)
        version, flags, size, actual = struct.unpack_from("<HHHH", buf, off)
        off += 8
        if version != 0:
            raise WireError("RPC_HEADER_EXT Version %d" % version)
        if flags & ~(RHE_COMPRESSED | RHE_XORMAGIC | RHE_LAST):
            raise WireError("RPC_HEADER_EXT unknown flags 0x%04x" % flags)
        if len(buf) - off < size:
            raise WireError("payload of %d bytes, %d left" % (size, len(buf) - off))
        data = bytes(buf[off:off + size])
        off += size
        if flags & RHE_XORMAGIC:
            data = xor_a5(data)
        if flags & RHE_COMPRESSED:
            if size >= actual:
                raise WireError("compressed payload with Size %d >= SizeActual %d"
                                % (size, actual))
            data, used = lz77_decompress(data, actual)
            if used != size:
                raise WireError("LZ77 stream of %d bytes has %d unused at the end"
                                % (size, size - used))
        elif size != actual:
            raise WireError("uncompressed payload with Size %d != SizeActual %d"
                            % (size, actual))
        out.append((flags, size, actual, data))
        if flags & RHE_LAST:
            if off != len(buf):
                raise WireError("%d bytes after the Last extended buffer" % (len(buf) - off))
            return out


# --- LZ77 + DIRECT2 (protocol.md 4.5) ------------------------------------------------------------

def lz77_decompress(src, size_actual):
    """Decodes until size_actual bytes are out. Returns (data, bytes of src used, counting a
    trailing indicator word that holds only the end marker bits)."""
    out = bytearray()
    i = 0
    n = len(src)
    ind = 0
    ind_left = 0
    nibble_at = -1
    while len(out) < size_actual:
        if ind_left == 0:
            if n - i < 4:
                raise WireError("LZ77: indicator truncated at %d" % i)
            ind = int.from_bytes(src[i:i + 4], "little")
            i += 4
            ind_left = 32
        ind_left -= 1
        if ((ind >> ind_left) & 1) == 0:
            if n - i < 1:
                raise WireError("LZ77: literal missing at %d" % i)
            out.append(src[i])
            i += 1
            continue
        if n - i < 2:
            raise WireError("LZ77: match token truncated at %d" % i)
        token = src[i] | (src[i + 1] << 8)
        i += 2
        dist = (token >> 3) + 1
        length = token & 7
        if length == 7:
            if nibble_at < 0:
                if n - i < 1:
                    raise WireError("LZ77: nibble byte missing at %d" % i)
                nib = src[i] & 0x0F
                nibble_at = i
                i += 1
            else:
                nib = src[nibble_at] >> 4
                nibble_at = -1
            if nib == 15:
                if n - i < 1:
                    raise WireError("LZ77: length byte missing at %d" % i)
                b = src[i]
                i += 1
                if b == 255:
                    if n - i < 2:
                        raise WireError("LZ77: length word missing at %d" % i)
                    w = src[i] | (src[i + 1] << 8)
                    i += 2
                    if w == 0:
                        if n - i < 4:
                            raise WireError("LZ77: length dword missing at %d" % i)
                        w = int.from_bytes(src[i:i + 4], "little")
                        i += 4
                    if w < 22:
                        raise WireError("LZ77: length word %d < 22" % w)
                    length = w + 3
                else:
                    length = b + 25
            else:
                length = nib + 10
        else:
            length += 3
        if dist > len(out):
            raise WireError("LZ77: distance %d before the start (at output %d)"
                            % (dist, len(out)))
        if len(out) + length > size_actual:
            raise WireError("LZ77: match of %d passes SizeActual %d" % (length, size_actual))
        start = len(out) - dist
        for k in range(length):
            out.append(out[start + k])
    # The end marker: the rest of the current indicator is all ones; when the last indicator
    # was used up exactly, encoders append one more all-ones word (protocol.md 4.5 item 5).
    if ind_left == 0 and n - i == 4 and src[i:i + 4] == b"\xff\xff\xff\xff":
        i += 4
    return bytes(out), i


class _BitWriter:
    """The output stream of the compressor: indicator words reserved in place."""

    def __init__(self):
        self.out = bytearray(b"\0\0\0\0")
        self.ind_at = 0
        self.ind = 0
        self.nbits = 0
        self.nibble_at = -1

    def _bit(self, bit):
        self.ind = (self.ind << 1) | bit
        self.nbits += 1
        if self.nbits == 32:
            struct.pack_into("<I", self.out, self.ind_at, self.ind)
            self.ind_at = len(self.out)
            self.out += b"\0\0\0\0"
            self.ind = 0
            self.nbits = 0

    def literal(self, byte):
        self.out.append(byte)
        self._bit(0)

    def match(self, length, dist):
        assert 3 <= length <= 0xFFFF + 3 and 1 <= dist <= 8192
        base = (dist - 1) << 3
        if length - 3 < 7:
            self.out += struct.pack("<H", base | (length - 3))
        else:
            self.out += struct.pack("<H", base | 7)
            nib = min(length - 10, 15)
            if self.nibble_at < 0:
                self.nibble_at = len(self.out)
                self.out.append(nib)
            else:
                self.out[self.nibble_at] |= nib << 4
                self.nibble_at = -1
            if nib == 15:
                if length - 25 < 255:
                    self.out.append(length - 25)
                else:
                    self.out.append(255)
                    self.out += struct.pack("<H", length - 3)
        self._bit(1)

    def finish(self):
        rest = 32 - self.nbits
        word = ((self.ind << rest) | ((1 << rest) - 1)) & 0xFFFFFFFF
        struct.pack_into("<I", self.out, self.ind_at, word)
        return bytes(self.out)


def lz77_compress(data, max_chain=64):
    """A small greedy LZ77 + DIRECT2 compressor: literals and matches (minimum 3, window 8192,
    lengths up to 0xFFFF + 3 with the nibble/byte/word extensions). Its output is not
    canonical (protocol.md 4.5 item 6); what matters is that a decoder accepts it."""
    w = _BitWriter()
    heads = {}
    pos = 0
    n = len(data)
    while pos < n:
        best_len = 0
        best_dist = 0
        if n - pos >= 3:
            key = data[pos:pos + 3]
            chain = heads.get(key, [])
            for cand in reversed(chain[-max_chain:]):
                dist = pos - cand
                if dist > 8192:
                    break
                length = 0
                limit = min(n - pos, 0xFFFF + 3)
                while length < limit and data[cand + length] == data[pos + length]:
                    length += 1
                if length > best_len:
                    best_len = length
                    best_dist = dist
                    if length == limit:
                        break
        if best_len >= 3:
            w.match(best_len, best_dist)
            step = best_len
        else:
            w.literal(data[pos])
            step = 1
        for p in range(pos, min(pos + step, n - 2)):
            heads.setdefault(data[p:p + 3], []).append(p)
        pos += step
    return w.finish()


# --- ROP buffer (protocol.md 4.2, 4.3) -----------------------------------------------------------

def rop_buffer(rops, handles):
    """RopSize (2 + len(rops)), the ROP requests, the handle table."""
    return (struct.pack("<H", len(rops) + 2) + rops
            + b"".join(struct.pack("<I", h) for h in handles))


def rop_buffer_split(payload):
    """(rops bytes, list of handles) of a response payload."""
    if len(payload) < 2:
        raise WireError("ROP buffer of %d bytes" % len(payload))
    rop_size = struct.unpack_from("<H", payload, 0)[0]
    if rop_size < 2 or rop_size > len(payload):
        raise WireError("RopSize %d, payload %d bytes" % (rop_size, len(payload)))
    rest = len(payload) - rop_size
    if rest % 4:
        raise WireError("handle table of %d bytes is not a multiple of 4" % rest)
    handles = list(struct.unpack_from("<%dI" % (rest // 4), payload, rop_size))
    return bytes(payload[2:rop_size]), handles


# --- RopLogon (protocol.md 1 and 2) --------------------------------------------------------------

ROP_LOGON = 0xFE

LOGON_PRIVATE = 0x01
OPEN_USE_ADMIN_PRIVILEGE = 0x00000001
OPEN_PUBLIC = 0x00000002
OPEN_HOME_LOGON = 0x00000004
OPEN_TAKE_OWNERSHIP = 0x00000008
OPEN_USE_PER_MDB_REPLID_MAPPING = 0x01000000
# ruler's user logon (protocol.md 1.3)
OPEN_USER_DEFAULT = OPEN_USE_PER_MDB_REPLID_MAPPING | OPEN_HOME_LOGON | OPEN_TAKE_OWNERSHIP

EC_NONE = 0x00000000
EC_UNKNOWN_USER = 0x000003EB
EC_WRONG_SERVER = 0x00000478
EC_MAILBOX_IN_TRANSIT = 0x0000050C
EC_LOGIN_FAILURE = 0x80040111
EC_INVALID_PARAMETER = 0x80070057
EC_PROFILE_NOT_CONFIGURED = 0x0000011C
EC_ACCESS_DENIED = 0x80070005

# Private FolderIds order and GLOBCNTs (protocol.md 2.1)
PRIVATE_GLOBCNTS = [0x01, 0x02, 0x03, 0x09, 0x0D, 0x0C, 0x0A, 0x0B, 0x07, 0x08, 0x05, 0x06, 0x04]
PRIVATE_SUCCESS_LEN = 166
PUBLIC_SUCCESS_LEN = 145


def roplogon_request(essdn, logon_flags=LOGON_PRIVATE, open_flags=OPEN_USER_DEFAULT,
                     logon_id=0, out_idx=0, store_state=0):
    if isinstance(essdn, str):
        essdn = essdn.encode("ascii")
    dn = essdn + b"\0" if essdn else b""
    return (struct.pack("<BBBBIIH", ROP_LOGON, logon_id, out_idx, logon_flags, open_flags,
                        store_state, len(dn)) + dn)


def fid(replid, globcnt):
    """FID wire format: ReplId LE16, then GLOBCNT as 48-bit big-endian (protocol.md 2.1)."""
    return struct.pack("<H", replid) + globcnt.to_bytes(6, "big")


class LogonResponse:
    """A decoded RopLogon response; kind is 'private', 'public', 'redirect' or 'failure'."""

    def __init__(self, raw, private_request):
        self.raw = bytes(raw)
        if len(raw) < 6:
            raise WireError("RopLogon response of %d bytes" % len(raw))
        self.rop_id, self.out_idx, self.rv = struct.unpack_from("<BBI", raw, 0)
        if self.rop_id != ROP_LOGON:
            raise WireError("RopId 0x%02x, not 0xFE" % self.rop_id)
        if self.rv == EC_NONE and private_request:
            self.kind = "private"
            if len(raw) != PRIVATE_SUCCESS_LEN:
                raise WireError("private success of %d bytes, not 166" % len(raw))
            self.logon_flags = raw[6]
            self.fids = [bytes(raw[7 + 8 * k:15 + 8 * k]) for k in range(13)]
            self.response_flags = raw[111]
            self.mailbox_guid = bytes(raw[112:128])
            self.replid = struct.unpack_from("<H", raw, 128)[0]
            self.repl_guid = bytes(raw[130:146])
            self.logon_time = bytes(raw[146:154])
            self.gwart_time = struct.unpack_from("<Q", raw, 154)[0]
            self.store_state = struct.unpack_from("<I", raw, 162)[0]
        elif self.rv == EC_NONE:
            self.kind = "public"
            if len(raw) != PUBLIC_SUCCESS_LEN:
                raise WireError("public success of %d bytes, not 145" % len(raw))
            self.logon_flags = raw[6]
            self.fids = [bytes(raw[7 + 8 * k:15 + 8 * k]) for k in range(13)]
            self.replid = struct.unpack_from("<H", raw, 111)[0]
            self.repl_guid = bytes(raw[113:129])
            self.per_user_guid = bytes(raw[129:145])
        elif self.rv == EC_WRONG_SERVER:
            self.kind = "redirect"
            if len(raw) < 8:
                raise WireError("redirect of %d bytes" % len(raw))
            self.logon_flags = raw[6]
            size = raw[7]
            if len(raw) != 8 + size:
                raise WireError("redirect: ServerNameSize %d, %d bytes follow"
                                % (size, len(raw) - 8))
            name = bytes(raw[8:])
            if size == 0 or name[-1] != 0 or 0 in name[:-1]:
                raise WireError("redirect: ServerName is not one NUL-terminated string")
            self.server = name[:-1].decode("ascii")
        else:
            self.kind = "failure"
            if len(raw) != 6:
                raise WireError("failure response of %d bytes, not 6" % len(raw))


def logon_time_decode(b):
    """LogonTime (protocol.md 2.5) -> (datetime in UTC, day of week as sent)."""
    import datetime
    sec, minute, hour, dow, day, month = b[0], b[1], b[2], b[3], b[4], b[5]
    year = struct.unpack_from("<H", b, 6)[0]
    t = datetime.datetime(year, month, day, hour, minute, sec, tzinfo=datetime.timezone.utc)
    return t, dow


FILETIME_UNIX_EPOCH = 116444736000000000  # 100-ns intervals from 1601-01-01 to 1970-01-01


def filetime_to_unix(ft):
    return (ft - FILETIME_UNIX_EPOCH) / 1e7


# --- GUIDs ---------------------------------------------------------------------------------------

def guid_wire_to_str(b):
    return str(uuid.UUID(bytes_le=bytes(b)))


def uuid5_wire(namespace, name):
    """RFC 4122 4.3 version-5 GUID of name (bytes) in namespace (a GUID string), returned in
    the Windows wire layout (Data1..3 little-endian)."""
    digest = hashlib.sha1(uuid.UUID(namespace).bytes + bytes(name)).digest()
    b = bytearray(digest[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(b)).bytes_le
