# mbxhttp.py: an independent MAPI over HTTP client for the end-to-end tests of mbxstored:
# TLS over a real socket (TCP_NODELAY), HTTP/1.1 with keep-alive, Content-Length and chunked
# bodies, the MAPI/HTTP request headers, the MapiContext/MapiSequence cookies, the response
# envelope (PROCESSING/PENDING/DONE meta-tags and additional headers) and the Connect, Execute
# and Disconnect bodies (protocol.md 5; MS-OXCMAPIHTTP 2.2.2-2.2.7, examples 4.1-4.5). Written
# from the specification, not from our C code. Python 3 standard library only.
import base64
import socket
import ssl
import struct
import time
import uuid

import mbxwire

# X-ResponseCode values (protocol.md 5.4)
RC_SUCCESS = 0
RC_UNKNOWN_FAILURE = 1
RC_INVALID_VERB = 2
RC_INVALID_PATH = 3
RC_INVALID_HEADER = 4
RC_INVALID_REQUEST_TYPE = 5
RC_INVALID_CONTEXT_COOKIE = 6
RC_MISSING_HEADER = 7
RC_ANONYMOUS_NOT_ALLOWED = 8
RC_TOO_LARGE = 9
RC_CONTEXT_NOT_FOUND = 10
RC_NO_PRIVILEGE = 11
RC_INVALID_REQUEST_BODY = 12
RC_MISSING_COOKIE = 13
RC_INVALID_SEQUENCE = 15

ENDPOINT = "/mapi/emsmdb/"
CLIENT_APP = "Outlook/15.0.4815.1002"


class HttpError(Exception):
    pass


def client_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the daemon's self-signed certificate
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


_TLS = None


def tls_context():
    global _TLS
    if _TLS is None:
        _TLS = client_tls_context()
    return _TLS


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []  # (name, value) in order
        self.body = b""
        self.chunks = None  # list of chunk payloads when chunked
        self.elapsed = 0.0
        self.interim = 0  # 1xx responses skipped before this one

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def response_code(self):
        v = self.header("X-ResponseCode")
        return int(v) if v is not None else None

    def summary(self):
        return "HTTP %d %s, X-ResponseCode %s, body %r" % (
            self.status, self.reason, self.header("X-ResponseCode"), self.body[:160])


class Conn:
    """One client connection (TLS by default) with an HTTP/1.1 reader."""

    def __init__(self, host, port, tls=True, timeout=15.0):
        self.host = host
        self.port = port
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.sock = tls_context().wrap_socket(raw, server_hostname="localhost")
        else:
            self.sock = raw
        self.buf = bytearray()
        self.closed_by_peer = False

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data, piece=0, delay=0.0):
        """Sends data at once, or piece bytes at a time with delay seconds between."""
        if piece <= 0:
            self.sock.sendall(data)
            return
        for k in range(0, len(data), piece):
            self.sock.sendall(data[k:k + piece])
            if delay:
                time.sleep(delay)

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except (ssl.SSLZeroReturnError, ConnectionResetError):
            d = b""
        except ssl.SSLError as e:
            if "UNEXPECTED_EOF" in str(e) or "EOF" in str(e):
                d = b""
            else:
                raise
        if not d:
            self.closed_by_peer = True
            raise HttpError("connection closed by the server")
        self.buf += d

    def wait_closed(self, timeout):
        """Reads until the server closes; returns (seconds waited, bytes received) or raises
        socket.timeout."""
        t0 = time.monotonic()
        self.sock.settimeout(timeout)
        got = bytearray()
        try:
            while True:
                self._fill()
                got += self.buf
                self.buf.clear()
        except HttpError:
            return time.monotonic() - t0, bytes(got)

    def _line(self, limit=65536):
        while True:
            k = self.buf.find(b"\r\n")
            if k >= 0:
                line = bytes(self.buf[:k])
                del self.buf[:k + 2]
                return line
            if len(self.buf) > limit:
                raise HttpError("line longer than %d bytes" % limit)
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def read_response(self, head_request=False, skip_1xx=True):
        """Reads one response; interim 1xx responses (100 Continue) are skipped and counted
        in Response.interim."""
        interim = 0
        while True:
            r = self._read_one(head_request)
            if not (skip_1xx and 100 <= r.status < 200):
                r.interim = interim
                return r
            interim += 1

    def _read_one(self, head_request):
        t0 = time.monotonic()
        r = Response()
        status = self._line().decode("latin-1")
        parts = status.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError("bad status line %r" % status)
        r.version = parts[0]
        r.status = int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        while True:
            line = self._line().decode("latin-1")
            if line == "":
                break
            if ":" not in line:
                raise HttpError("bad header line %r" % line)
            k, v = line.split(":", 1)
            r.headers.append((k.strip(), v.strip()))
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if head_request or r.status in (204, 304) or 100 <= r.status < 200:
            pass
        elif te == "chunked":
            r.chunks = []
            body = bytearray()
            while True:
                size_line = self._line().decode("latin-1")
                size = int(size_line.split(";", 1)[0].strip(), 16)
                if size == 0:
                    while self._line() != b"":  # trailers
                        pass
                    break
                data = self._exact(size)
                if self._exact(2) != b"\r\n":
                    raise HttpError("chunk not followed by CRLF")
                r.chunks.append(data)
                body += data
            r.body = bytes(body)
        elif cl is not None:
            r.body = self._exact(int(cl))
        else:
            try:
                while True:
                    self._fill()
            except HttpError:
                pass
            r.body = bytes(self.buf)
            self.buf.clear()
        r.elapsed = time.monotonic() - t0
        return r

    def request(self, method, path, headers, body=b"", piece=0, delay=0.0):
        self.send(build_request(method, path, headers, body, self.host), piece, delay)
        return self.read_response(head_request=(method == "HEAD"))


def build_request(method, path, headers, body=b"", host="localhost", content_length=None):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    lines.append("Content-Length: %d" % (len(body) if content_length is None else content_length))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def basic_auth(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


# --- the response envelope (protocol.md 5.5) -----------------------------------------------------

class Envelope:
    def __init__(self, body):
        self.tags = []
        self.headers = {}
        pos = 0
        while True:
            k = body.find(b"\r\n", pos)
            if k < 0:
                raise HttpError("envelope: meta-tag without CRLF at %d" % pos)
            tag = body[pos:k]
            pos = k + 2
            if tag in (b"PROCESSING", b"PENDING"):
                self.tags.append(tag.decode())
                continue
            if tag == b"DONE":
                self.tags.append("DONE")
                break
            raise HttpError("envelope: unexpected meta-tag %r" % tag[:40])
        if not self.tags or self.tags[0] != "PROCESSING":
            raise HttpError("envelope does not start with PROCESSING: %r" % self.tags)
        while True:
            k = body.find(b"\r\n", pos)
            if k < 0:
                raise HttpError("envelope: additional header without CRLF")
            line = body[pos:k].decode("latin-1")
            pos = k + 2
            if line == "":
                break
            if ": " not in line:
                raise HttpError("envelope: bad additional header %r" % line)
            name, value = line.split(": ", 1)
            self.headers[name] = value
        self.body = body[pos:]

    @property
    def response_code(self):
        return int(self.headers["X-ResponseCode"])


# --- request and response bodies (protocol.md 5.6) -----------------------------------------------

def connect_body(user_dn, flags=0, cpid=1252, lcid_sort=1033, lcid_string=1033, aux=b""):
    if isinstance(user_dn, str):
        user_dn = user_dn.encode("ascii")
    return (user_dn + b"\0" + struct.pack("<IIIII", flags, cpid, lcid_sort, lcid_string,
                                          len(aux)) + aux)


def execute_body(rop_buffer, flags=0, max_rop_out=0x10008, aux=b""):
    return (struct.pack("<II", flags, len(rop_buffer)) + rop_buffer
            + struct.pack("<II", max_rop_out, len(aux)) + aux)


def disconnect_body(aux=b""):
    return struct.pack("<I", len(aux)) + aux


class _Reader:
    def __init__(self, b):
        self.b = b
        self.off = 0

    def u32(self):
        if len(self.b) - self.off < 4:
            raise mbxwire.WireError("u32 truncated at %d" % self.off)
        v = struct.unpack_from("<I", self.b, self.off)[0]
        self.off += 4
        return v

    def take(self, n):
        if len(self.b) - self.off < n:
            raise mbxwire.WireError("%d bytes wanted at %d, %d left"
                                    % (n, self.off, len(self.b) - self.off))
        d = self.b[self.off:self.off + n]
        self.off += n
        return d

    def asciiz(self):
        k = self.b.find(b"\0", self.off)
        if k < 0:
            raise mbxwire.WireError("ASCII string without NUL at %d" % self.off)
        s = self.b[self.off:k].decode("ascii")
        self.off = k + 1
        return s

    def utf16z(self):
        k = self.off
        while True:
            if len(self.b) - k < 2:
                raise mbxwire.WireError("UTF-16 string without NUL at %d" % self.off)
            if self.b[k] == 0 and self.b[k + 1] == 0:
                break
            k += 2
        s = self.b[self.off:k].decode("utf-16-le")
        self.off = k + 2
        return s

    def end(self):
        if self.off != len(self.b):
            raise mbxwire.WireError("%d bytes after the body" % (len(self.b) - self.off))


class ConnectResult:
    def __init__(self, body):
        r = _Reader(body)
        self.status_code = r.u32()
        if self.status_code != 0:
            self.aux = r.take(r.u32())
            r.end()
            return
        self.error_code = r.u32()
        self.polls_max = r.u32()
        self.retry_count = r.u32()
        self.retry_delay = r.u32()
        self.dn_prefix = r.asciiz()
        self.display_name = r.utf16z()
        self.aux = r.take(r.u32())
        r.end()


class ExecuteResult:
    def __init__(self, body):
        r = _Reader(body)
        self.status_code = r.u32()
        if self.status_code != 0:
            self.aux = r.take(r.u32())
            r.end()
            return
        self.error_code = r.u32()
        self.flags = r.u32()
        self.rop_buffer = r.take(r.u32())
        self.aux = r.take(r.u32())
        r.end()
        self.buffers = None
        self.rops = None
        self.handles = None
        if self.error_code == 0 and self.rop_buffer:
            self.buffers = mbxwire.rhe_unpack_all(self.rop_buffer)
            payload = b"".join(b[3] for b in self.buffers)
            self.rops, self.handles = mbxwire.rop_buffer_split(payload)


class DisconnectResult:
    def __init__(self, body):
        r = _Reader(body)
        self.status_code = r.u32()
        if self.status_code != 0:
            self.aux = r.take(r.u32())
            r.end()
            return
        self.error_code = r.u32()
        self.aux = r.take(r.u32())
        r.end()


# --- a MAPI/HTTP client session ------------------------------------------------------------------

def parse_set_cookie(value):
    """(name, value, expired) of one Set-Cookie header."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    expired = False
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k.strip().lower() == "expires" and "1970" in v:
            expired = True
        if k.strip().lower() == "max-age" and v.strip().startswith(("0", "-")):
            expired = True
    return name.strip(), val.strip(), expired


class Session:
    """A MAPI/HTTP client: one user, one connection (reopened when the server closes it), a
    cookie jar and the request counter of X-RequestId."""

    def __init__(self, env, user, password, mailbox_id=None):
        self.env = env
        self.user = user
        self.password = password
        self.cookies = {}
        self.client_info = "{%s}" % str(uuid.uuid4()).upper()
        self.counter = 0
        self.conn = None
        self.path = ENDPOINT + ("?MailboxId=%s" % mailbox_id if mailbox_id else "")
        self.last_request_id = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = Conn(self.env.host, self.env.port)
        return self.conn

    def next_request_id(self):
        self.counter += 1
        self.last_request_id = "%s:%d" % (self.client_info, self.counter)
        return self.last_request_id

    def cookie_header(self):
        if not self.cookies:
            return None
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    def headers(self, reqtype, auth=True):
        h = [("Content-Type", "application/mapi-http"),
             ("X-RequestType", reqtype),
             ("X-RequestId", self.next_request_id()),
             ("X-ClientInfo", self.client_info),
             ("X-ClientApplication", CLIENT_APP)]
        if auth:
            h.append(("Authorization", basic_auth(self.user, self.password)))
        c = self.cookie_header()
        if c:
            h.append(("Cookie", c))
        return h

    def take_cookies(self, resp):
        for v in resp.header_all("Set-Cookie"):
            name, val, expired = parse_set_cookie(v)
            if expired or val == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = val

    def post(self, reqtype, body, headers=None, piece=0, delay=0.0):
        """Sends one request on the kept-alive connection; returns the Response."""
        if headers is None:
            headers = self.headers(reqtype)
        data = build_request("POST", self.path, headers, body)
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.send(data, piece, delay)
                resp = c.read_response()
                break
            except (HttpError, BrokenPipeError, ConnectionResetError):
                # a kept-alive connection the server closed meanwhile: once more on a new one
                self.close()
                if attempt == 1:
                    raise
        if (resp.header("Connection") or "").lower() == "close":
            self.close()
        self.take_cookies(resp)
        return resp

    def _envelope(self, resp, what):
        if resp.status != 200 or resp.response_code != 0:
            raise HttpError("%s: %s" % (what, resp.summary()))
        env = Envelope(resp.body)
        if env.response_code != 0:
            raise HttpError("%s: DONE block X-ResponseCode %d: %r"
                            % (what, env.response_code, env.body[:160]))
        return env

    def connect(self, user_dn, **kw):
        resp = self.post("Connect", connect_body(user_dn, **kw))
        env = self._envelope(resp, "Connect")
        return resp, ConnectResult(env.body)

    def execute(self, rop_buffer, flags=0, max_rop_out=0x10008, **kw):
        resp = self.post("Execute", execute_body(rop_buffer, flags, max_rop_out), **kw)
        env = self._envelope(resp, "Execute")
        return resp, ExecuteResult(env.body)

    def disconnect(self):
        resp = self.post("Disconnect", disconnect_body())
        env = self._envelope(resp, "Disconnect")
        return resp, DisconnectResult(env.body)

    def ping(self):
        return self.post("PING", b"")

    def logon(self, essdn, logon_flags=mbxwire.LOGON_PRIVATE,
              open_flags=mbxwire.OPEN_USER_DEFAULT, compress=False, xor=False, flags=0,
              handles=None):
        """Execute with one RopLogon; returns (Response, ExecuteResult, LogonResponse)."""
        rops = mbxwire.roplogon_request(essdn, logon_flags, open_flags)
        payload = mbxwire.rop_buffer(rops, handles if handles is not None else [0xFFFFFFFF])
        resp, ex = self.execute(mbxwire.rhe_pack(payload, compress, xor), flags=flags)
        if ex.status_code != 0 or ex.error_code != 0:
            raise HttpError("Execute: StatusCode 0x%x ErrorCode 0x%x"
                            % (ex.status_code, getattr(ex, "error_code", 0)))
        return resp, ex, mbxwire.LogonResponse(ex.rops, logon_flags & mbxwire.LOGON_PRIVATE)
