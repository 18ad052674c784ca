#!/usr/bin/env python3
# e2e.py: end-to-end tests of a running mbxstored over real TLS sockets, as an independent
# MAPI/HTTP client (mbxhttp.py, mbxwire.py: Python standard library only, written from
# protocol.md sections 1, 2, 4 and 5, not from our C codecs). Started by test-e2e.sh, which
# runs the daemon on the sample directory (conf/directory.ldif) on free loopback ports.
#
# Phase "main": every X-ResponseCode path of the front end (2-13, 15) with its status line,
# echoed X-RequestId/X-ClientInfo and a PING afterwards; Connect/Execute(RopLogon)/Disconnect
# for every mailbox state of the sample directory with the exact RopLogon response bytes;
# HTTP/TLS variants (HEAD, 100-continue, chunked bodies, HTTP/1.0, pipelining, TLS 1.2),
# held NotificationWaits, RopBufferTooSmall, racing Executes, compressed and XORed requests
# and responses, a request sent one byte per TLS record, bodies over the limit, slow clients
# timed out while others are served, idle session contexts expiring.
# Phase "load" (after SIGHUP): a context made before the reload still works; 1,000 concurrent
# TLS connections each completing a PING, twice, with the daemon's VmRSS bounded.
# Phase "drain": SIGTERM answers a held request at once and closes the listeners.
# Prints PASS/FAIL per case and "e2e-PHASE: N passed, M failed"; exits 1 on any failure.
# Usage (normally through test-e2e.sh): e2e.py --phase main|load|drain --port ... (see main()).
import argparse
import datetime
import os
import re
import resource
import selectors
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ldif  # noqa: E402
import mbxhttp as mh  # noqa: E402
import mbxwire as mw  # noqa: E402

NPASS = 0
NFAIL = 0
CASES = []


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def case(phase):
    def deco(fn):
        CASES.append((phase, fn))
        return fn
    return deco


def run_case(env, fn):
    global NPASS, NFAIL
    name = fn.__name__
    t0 = time.monotonic()
    try:
        detail = fn(env)
    except Fail as e:
        NFAIL += 1
        print("FAIL: %s: %s" % (name, e), flush=True)
        return
    except Exception as e:  # a client-side exception is a failure too, with where it came from
        NFAIL += 1
        tb = traceback.format_exc().strip().splitlines()
        print("FAIL: %s: %s: %s [%s]" % (name, type(e).__name__, e, " | ".join(tb[-3:])),
              flush=True)
        return
    NPASS += 1
    print("PASS: %s%s (%.2f s)" % (name, ": " + detail if detail else "",
                                    time.monotonic() - t0), flush=True)


# --- the environment -----------------------------------------------------------------------------

class Env:
    def __init__(self, a):
        self.host = "127.0.0.1"
        self.port = a.port
        self.plain_port = a.plain_port
        self.metrics_port = a.metrics_port
        self.pid = a.pid
        self.max_body = a.max_body
        self.request_timeout = a.request_timeout
        self.dir = ldif.Directory(a.ldif)
        self.connections = a.connections
        self.server = self.dir.by_cn(a.server_name)
        self.idle_seconds = a.idle_seconds
        self.state_file = a.state_file
        self.idle_ctx = None
        self.sanitized = a.sanitized
        self.nwait_seconds = a.nwait_seconds
        self.max_rops = a.max_rops

    def user(self, alias):
        return self.dir.by_alias(alias)

    def dn(self, alias):
        return self.dir.one(self.user(alias), "legacyExchangeDN")

    def mailbox_guid(self, alias):
        g = self.dir.one(self.user(alias), "msExchMailboxGuid")
        check(isinstance(g, bytes) and len(g) == 16, "msExchMailboxGuid of %s" % alias)
        return g


PASSWORDS = {
    "alice": ("alice@contoso.com", "alice-Secret1"),
    "bob": ("bob@contoso.com", "bob-Secret1"),
    "carol": ("carol@contoso.com", "carol-Secret1"),
    "dave": ("dave@contoso.com", "dave-Secret1"),
    "erin": ("erin@contoso.com", "erin-Secret1"),
    "gina": ("gina@contoso.com", "gina-Secret1"),
    "ivan": ("ivan@contoso.com", "ivan-Secret1"),
    "henry": ("henry@child.contoso.com", "henry-Secret1"),
}
GUID_NAMESPACE = "9b47b17b-73fe-49d5-abae-2983e7b499f2"  # include/mbx/store-rops.h


def session(env, alias):
    user, pw = PASSWORDS[alias]
    return mh.Session(env, user, pw)


def rid():
    return "{%s}:%d" % (str(uuid.uuid4()).upper(), int(time.time() * 1000) % 100000)


def std_headers(reqtype="PING", auth=("alice@contoso.com", "alice-Secret1"), request_id=None,
                client_info=None, omit=(), extra=()):
    h = [("Content-Type", "application/mapi-http"),
         ("X-RequestType", reqtype),
         ("X-RequestId", request_id or rid()),
         ("X-ClientInfo", client_info or "{%s}" % str(uuid.uuid4()).upper()),
         ("X-ClientApplication", mh.CLIENT_APP)]
    if auth:
        h.append(("Authorization", mh.basic_auth(*auth)))
    h = [(k, v) for k, v in h if k not in omit]
    return h + list(extra)


def hval(headers, name):
    for k, v in headers:
        if k == name:
            return v
    return None


def alive(env, what="afterwards"):
    """A PING on a fresh connection is answered 200 / X-ResponseCode 0 within 3 s."""
    t0 = time.monotonic()
    c = mh.Conn(env.host, env.port, timeout=5)
    try:
        r = c.request("POST", mh.ENDPOINT, std_headers("PING"))
    finally:
        c.close()
    dt = time.monotonic() - t0
    check(r.status == 200 and r.response_code == 0,
          "the daemon does not serve a PING %s: %s" % (what, r.summary()))
    check(dt < 3.0, "a PING %s took %.2f s" % (what, dt))
    return dt


def one_request(env, method, path, headers, body=b""):
    c = mh.Conn(env.host, env.port)
    try:
        return c.request(method, path, headers, body)
    finally:
        c.close()


def expect_rc(r, status, rc, headers, echo_rid=True, echo_cinfo=True):
    """A transport-level failure: status line, X-ResponseCode, echoes, the diagnostic body."""
    eq(r.version, "HTTP/1.1", "protocol version")
    eq(r.status, status, "HTTP status (%s)" % r.summary())
    eq(r.response_code, rc, "X-ResponseCode (%s)" % r.summary())
    sent_rid = hval(headers, "X-RequestId")
    sent_ci = hval(headers, "X-ClientInfo")
    if echo_rid:
        eq(r.header("X-RequestId"), sent_rid, "echoed X-RequestId")
    else:
        eq(r.header("X-RequestId"), None, "X-RequestId echoed though malformed")
    if echo_cinfo:
        eq(r.header("X-ClientInfo"), sent_ci, "echoed X-ClientInfo")
    check(r.body.startswith(b"X-ResponseCode %d (" % rc),
          "diagnostic body %r does not name X-ResponseCode %d" % (r.body[:120], rc))
    check((r.header("Content-Type") or "").startswith("text/plain"),
          "Content-Type of a diagnostic body: %r" % r.header("Content-Type"))
    check(r.header("X-ServerApplication"), "no X-ServerApplication")


def rc_case(env, status, rc, method="POST", path=mh.ENDPOINT, headers=None, body=b"",
            echo_rid=True, echo_cinfo=True):
    headers = headers if headers is not None else std_headers()
    r = one_request(env, method, path, headers, body)
    expect_rc(r, status, rc, headers, echo_rid, echo_cinfo)
    alive(env)
    return r


# --- codec self-checks (our client codecs against protocol.md's known answers) -------------------

@case("main")
def client_lz77_known_answers(env):
    vec = [
        (b"abcdefghijklmnopqrstuvwxyz", "3f000000" + b"abcdefghijklmnopqrstuvwxyz".hex()),
        (b"abc" * 100, "ffffff1f6162631700" "0fff2601"),
        (b"this is a test. and this is a test too",
         "ff21000474686973201000" + b"a test. and ".hex() + "9f000420746f6f"),
        (b"aaaaaaaaaaaabaaaaaaaaaaaa", "ffffff5f61070021626700"),
        (b"abcdefghijklmnopqrstuvwxyz01234abc",
         "01000000" + b"abcdefghijklmnopqrstuvwxyz01234".hex() + "f000ffffffff"),
    ]
    for plain, hx in vec:
        c = bytes.fromhex(hx)
        d, used = mw.lz77_decompress(c, len(plain))
        eq((d, used), (plain, len(c)), "decode of %r" % plain[:20])
        d, used = mw.lz77_decompress(mw.lz77_compress(plain), len(plain))
        eq(d, plain, "round trip of %r" % plain[:20])
    old = bytes.fromhex("00200004746869732010006120746573742e20616e64209f000420746f6f00000000")
    eq(mw.lz77_decompress(old, 38)[0], vec[2][0], "old-encoder form stops at SizeActual")
    return "%d vectors of protocol.md 4.5" % (len(vec) + 1)


# --- X-ResponseCode paths (protocol.md 5.4; frontend.h, mh-server.c) -----------------------------

@case("main")
def ping_ok(env):
    h = std_headers("PING")
    r = one_request(env, "POST", mh.ENDPOINT + "?MailboxId=x@contoso.com", h)
    eq((r.status, r.response_code), (200, 0), "PING")
    eq(r.header("X-RequestType"), "PING", "echoed X-RequestType")
    eq(r.header("X-RequestId"), hval(h, "X-RequestId"), "echoed X-RequestId")
    eq(r.header("X-ClientInfo"), hval(h, "X-ClientInfo"), "echoed X-ClientInfo")
    env_ = mh.Envelope(r.body)
    eq(env_.tags, ["PROCESSING", "DONE"], "meta-tags")
    eq(env_.response_code, 0, "DONE block X-ResponseCode")
    eq(env_.body, b"", "PING body")
    check("X-ElapsedTime" in env_.headers and "X-StartTime" in env_.headers,
          "DONE block headers %r" % env_.headers)


@case("main")
def context_idle_expiry_start(env):
    s = session(env, "alice")
    s.connect(env.dn("alice"))
    env.idle_ctx = (dict(s.cookies), time.monotonic())
    s.close()
    return "context_idle_seconds = %d" % env.idle_seconds


@case("main")
def rc2_invalid_verb(env):
    for method in ("GET", "PUT", "DELETE"):
        rc_case(env, 200, mh.RC_INVALID_VERB, method=method)
    return "GET, PUT, DELETE"


@case("main")
def rc2_head_has_no_body(env):
    """HEAD gets X-ResponseCode 2 without a body (RFC 9110 9.3.2): a body would be read as the
    start of the next answer on the kept-alive connection."""
    c = mh.Conn(env.host, env.port)
    try:
        h = std_headers()
        c.send(mh.build_request("HEAD", mh.ENDPOINT, h))
        r = c.read_response(head_request=True)
        eq((r.status, r.response_code), (200, mh.RC_INVALID_VERB), "HEAD")
        eq(r.header("X-RequestId"), hval(h, "X-RequestId"), "echoed X-RequestId")
        h = std_headers()
        r = c.request("POST", mh.ENDPOINT, h)
        eq((r.status, r.response_code, r.header("X-RequestId")),
           (200, 0, hval(h, "X-RequestId")), "PING after HEAD on the same connection")
    finally:
        c.close()


@case("main")
def rc3_invalid_path(env):
    rc_case(env, 200, mh.RC_INVALID_PATH, path="/mapi/nspi/?MailboxId=x@contoso.com")
    rc_case(env, 404, mh.RC_INVALID_PATH, path="/owa/")
    return "/mapi/nspi/ 200, /owa/ 404"


@case("main")
def rc4_invalid_header(env):
    rc_case(env, 200, mh.RC_INVALID_HEADER,
            headers=std_headers(request_id="{bad request id}:1"), echo_rid=False)
    rc_case(env, 200, mh.RC_INVALID_HEADER,
            headers=std_headers(omit=("Content-Type",), extra=[("Content-Type", "text/plain")]))
    return "X-RequestId with blanks, Content-Type text/plain"


@case("main")
def rc5_invalid_request_type(env):
    for t in ("Bind", "Frobnicate"):
        r = rc_case(env, 200, mh.RC_INVALID_REQUEST_TYPE, headers=std_headers(t))
        eq(r.header("X-RequestType"), None, "an invalid X-RequestType echoed")
    return "Bind (address book), Frobnicate"


@case("main")
def rc6_invalid_context_cookie(env):
    for cookie in ("MapiContext=bad$value; MapiSequence=abc", "no-equals-sign",
                   "MapiContext=" + "A" * 200):
        rc_case(env, 200, mh.RC_INVALID_CONTEXT_COOKIE,
                headers=std_headers("Execute", extra=[("Cookie", cookie)]),
                body=mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", []))))
    return "bad characters, a pair without '=', a value of 200 characters"


@case("main")
def rc7_missing_header(env):
    rc_case(env, 200, mh.RC_MISSING_HEADER,
            headers=std_headers(omit=("X-ClientApplication",)))
    rc_case(env, 200, mh.RC_MISSING_HEADER, headers=std_headers(omit=("X-RequestType",)))
    rc_case(env, 200, mh.RC_MISSING_HEADER, headers=std_headers(omit=("X-RequestId",)),
            echo_rid=False)
    return "X-ClientApplication, X-RequestType, X-RequestId"


@case("main")
def rc8_anonymous(env):
    for auth, what in ((None, "no Authorization"),
                       (("alice@contoso.com", "wrong-password"), "a wrong password"),
                       (("nobody@contoso.com", "x-Secret1"), "an unknown user")):
        r = rc_case(env, 401, mh.RC_ANONYMOUS_NOT_ALLOWED, headers=std_headers(auth=auth))
        wa = r.header("WWW-Authenticate") or ""
        check(wa.startswith('Basic realm="mbxstore"'), "%s: WWW-Authenticate %r" % (what, wa))
    h = std_headers(auth=None, extra=[("Authorization", "Negotiate TlRMTVNTUAABAAAA")])
    rc_case(env, 401, mh.RC_ANONYMOUS_NOT_ALLOWED, headers=h)
    return "no credentials, wrong password, unknown user, Negotiate: 401 + Basic challenge"


@case("main")
def rc9_too_large(env):
    rc_case(env, 200, mh.RC_TOO_LARGE, headers=std_headers("Execute"),
            body=b"\0" * (env.max_body + 1))
    return "a body of max_body_bytes + 1 = %d" % (env.max_body + 1)


def fake_cookie(n):
    return "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
        b % 64] for b in os.urandom(n))


@case("main")
def rc10_context_not_found(env):
    cookie = "MapiContext=%s; MapiSequence=%s" % (fake_cookie(43), fake_cookie(22))
    body = mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", [])))
    rc_case(env, 200, mh.RC_CONTEXT_NOT_FOUND,
            headers=std_headers("Execute", extra=[("Cookie", cookie)]), body=body)
    # and a context that existed: after Disconnect its cookies name nothing
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        old = dict(s.cookies)
        resp, dr = s.disconnect()
        eq((dr.status_code, dr.error_code), (0, 0), "Disconnect")
        eq(s.cookies, {}, "cookies left after Disconnect's expiring Set-Cookie")
        s.cookies = old
        r = s.post("Execute", body)
        expect_rc(r, 200, mh.RC_CONTEXT_NOT_FOUND,
                  [("X-RequestId", s.last_request_id), ("X-ClientInfo", s.client_info)])
    finally:
        s.close()
    alive(env)
    return "a cookie never issued; a disconnected context"


@case("main")
def rc11_no_privilege(env):
    a = session(env, "alice")
    b = session(env, "bob")
    try:
        a.connect(env.dn("alice"))
        b.cookies = dict(a.cookies)
        r = b.post("Execute", mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", []))))
        expect_rc(r, 200, mh.RC_NO_PRIVILEGE,
                  [("X-RequestId", b.last_request_id), ("X-ClientInfo", b.client_info)])
        r = b.post("Disconnect", mh.disconnect_body())
        expect_rc(r, 200, mh.RC_NO_PRIVILEGE,
                  [("X-RequestId", b.last_request_id), ("X-ClientInfo", b.client_info)])
        # the owner's context is untouched
        _, _, lr = a.logon(env.dn("alice"))
        eq(lr.kind, "private", "alice's logon after bob's attempts")
        _, dr = a.disconnect()
        eq(dr.error_code, 0, "Disconnect")
    finally:
        a.close()
        b.close()
    alive(env)
    return "bob's Execute and Disconnect on alice's context"


@case("main")
def rc12_invalid_body(env):
    rc_case(env, 200, mh.RC_INVALID_REQUEST_BODY, headers=std_headers("Execute"), body=b"\1\2\3")
    rc_case(env, 200, mh.RC_INVALID_REQUEST_BODY, headers=std_headers("Connect"),
            body=env.dn("alice").encode())  # no NUL, no fields
    rc_case(env, 200, mh.RC_INVALID_REQUEST_BODY, headers=std_headers("PING"), body=b"x")
    # RopBufferSize larger than the bytes that follow
    rc_case(env, 200, mh.RC_INVALID_REQUEST_BODY, headers=std_headers("Execute"),
            body=struct.pack("<II", 0, 1000) + b"\0" * 16)
    return "truncated Execute, Connect without NUL, PING with a body, RopBufferSize too big"


@case("main")
def rc13_missing_cookie(env):
    body = mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", [])))
    rc_case(env, 200, mh.RC_MISSING_COOKIE, headers=std_headers("Execute"), body=body)
    rc_case(env, 200, mh.RC_MISSING_COOKIE, headers=std_headers("Disconnect"),
            body=mh.disconnect_body())
    # a MapiContext without its MapiSequence on Execute
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        ctx = s.cookies["MapiContext"]
        h = std_headers("Execute", extra=[("Cookie", "MapiContext=" + ctx)])
        r = one_request(env, "POST", mh.ENDPOINT, h, body)
        expect_rc(r, 200, mh.RC_MISSING_COOKIE, h)
        s.disconnect()
    finally:
        s.close()
    alive(env)
    return "no cookies on Execute and Disconnect; MapiSequence missing"


@case("main")
def rc15_stale_sequence(env):
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        stale = dict(s.cookies)
        _, _, lr = s.logon(env.dn("alice"))
        eq(lr.kind, "private", "first logon")
        check(s.cookies["MapiSequence"] != stale["MapiSequence"],
              "Execute did not issue a new MapiSequence")
        fresh = dict(s.cookies)
        s.cookies = stale
        r = s.post("Execute", mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", []))))
        expect_rc(r, 200, mh.RC_INVALID_SEQUENCE,
                  [("X-RequestId", s.last_request_id), ("X-ClientInfo", s.client_info)])
        s.cookies = fresh
        _, _, lr = s.logon(env.dn("alice"))
        eq(lr.kind, "private", "a logon with the current MapiSequence after the stale one")
        s.disconnect()
    finally:
        s.close()
    alive(env)
    return "the MapiSequence before the last Execute is refused, the current one works"


@case("main")
def rc15_two_outstanding(env):
    """Two requests outstanding on one context: a NotificationWait is held; a second one on
    the same context gets 15 while the first is still held."""
    s = session(env, "alice")
    held = None
    try:
        s.connect(env.dn("alice"))
        held = mh.Conn(env.host, env.port)
        h1 = s.headers("NotificationWait")
        held.send(mh.build_request("POST", mh.ENDPOINT, h1, struct.pack("<II", 0, 0)))
        time.sleep(0.3)
        r = s.post("NotificationWait", struct.pack("<II", 0, 0))
        expect_rc(r, 200, mh.RC_INVALID_SEQUENCE,
                  [("X-RequestId", s.last_request_id), ("X-ClientInfo", s.client_info)])
        alive(env, "while a NotificationWait is held")
        held.settimeout(30)
        r1 = held.read_response()
        eq((r1.status, r1.response_code), (200, 0), "the held NotificationWait")
        eq(r1.header("X-RequestId"), hval(h1, "X-RequestId"), "its echoed X-RequestId")
        check(r1.chunks is not None and r1.chunks[0] == b"PROCESSING\r\n",
              "first chunk of the NotificationWait: %r" % (r1.chunks or [b""])[:1])
        e = mh.Envelope(r1.body)
        eq(e.response_code, 0, "its DONE X-ResponseCode")
        eq(e.body, struct.pack("<IIII", 0, 0, 0, 0),
           "NotificationWait response (StatusCode, ErrorCode, EventPending 0, no aux)")
        s.disconnect()
    finally:
        s.close()
        if held:
            held.close()
    alive(env)
    return "second NotificationWait while one is held"


# --- Connect / Execute(RopLogon) / Disconnect per mailbox state ----------------------------------

def check_connect(env, s, resp, cr, display_name):
    eq(resp.header("X-RequestType"), "Connect", "echoed X-RequestType")
    eq(resp.header("X-RequestId"), s.last_request_id, "echoed X-RequestId")
    eq(resp.header("X-ClientInfo"), s.client_info, "echoed X-ClientInfo")
    eq(resp.header("Content-Type"), "application/mapi-http", "Content-Type")
    eq((cr.status_code, cr.error_code), (0, 0), "Connect StatusCode, ErrorCode")
    eq(cr.display_name, display_name, "Connect DisplayName")
    eq(cr.dn_prefix, "", "Connect DnPrefix")
    check(cr.polls_max > 0 and cr.retry_count > 0 and cr.retry_delay > 0,
          "PollsMax/RetryCount/RetryDelay")
    if cr.aux:
        bufs = mw.rhe_unpack_all(cr.aux)
        aux = b"".join(b[3] for b in bufs)
        off = 0
        while off < len(aux):  # AUX_HEADER blocks tile the payload
            size, ver, typ = struct.unpack_from("<HBB", aux, off)
            check(size >= 4 and ver in (1, 2), "AUX_HEADER at %d: %d %d" % (off, size, ver))
            off += size
        eq(off, len(aux), "AUX blocks end with the payload")
    cookies = {}
    for v in resp.header_all("Set-Cookie"):
        name, val, _ = mh.parse_set_cookie(v)
        cookies[name] = v
        check("path=/mapi/emsmdb" in v and "Secure" in v and "HttpOnly" in v,
              "Set-Cookie attributes: %r" % v)
    check(set(cookies) == {"MapiContext", "MapiSequence"}, "cookies set: %r" % list(cookies))
    check(re.fullmatch(r"[A-Za-z0-9_-]{43}", s.cookies["MapiContext"]) is not None,
          "MapiContext value %r" % s.cookies["MapiContext"])


def check_execute_http(s, resp, old_seq):
    eq(resp.header("Transfer-Encoding"), "chunked", "Execute answered chunked")
    check(resp.chunks and resp.chunks[0] == b"PROCESSING\r\n",
          "first chunk %r" % (resp.chunks or [b""])[:1])
    eq(resp.header("X-RequestId"), s.last_request_id, "echoed X-RequestId")
    check(s.cookies.get("MapiSequence") not in (None, old_seq), "no new MapiSequence")


def logon_cycle(env, alias, essdn, open_flags=mw.OPEN_USER_DEFAULT,
                logon_flags=mw.LOGON_PRIVATE):
    """Connect as alias (UserDn = own legacyExchangeDN), one RopLogon, Disconnect.
    Returns (LogonResponse, ExecuteResult, time of the logon)."""
    s = session(env, alias)
    try:
        resp, cr = s.connect(env.dn(alias))
        check_connect(env, s, resp, cr, env.dir.one(env.user(alias), "displayName"))
        seq = s.cookies["MapiSequence"]
        t = time.time()
        resp, ex, lr = s.logon(essdn, logon_flags, open_flags)
        check_execute_http(s, resp, seq)
        eq(ex.flags, 0, "Execute response Flags")
        eq(len(ex.buffers), 1, "extended buffers in the response")
        check(ex.buffers[0][0] & mw.RHE_LAST, "Last flag")
        resp, dr = s.disconnect()
        eq((dr.status_code, dr.error_code, dr.aux), (0, 0, b""), "Disconnect response")
        eq(s.cookies, {}, "cookies after Disconnect")
        return lr, ex, t
    finally:
        s.close()


def expect_failure(lr, ex, rv_bytes):
    eq(lr.raw.hex(" "), rv_bytes, "RopLogon response")
    eq(ex.handles, [0xFFFFFFFF], "handle table after a failed logon")


def check_private_success(env, lr, ex, t, alias_mailbox, response_flags, logon_flags=0x01):
    eq(len(lr.raw), 166, "private success length")
    eq((lr.rop_id, lr.out_idx, lr.rv), (0xFE, 0, 0), "RopId, OutputHandleIndex, ReturnValue")
    eq(lr.logon_flags, logon_flags, "LogonFlags echo")
    want = [mw.fid(1, g) for g in mw.PRIVATE_GLOBCNTS]
    eq([f.hex() for f in lr.fids], [f.hex() for f in want], "the 13 FolderIds")
    eq(lr.response_flags, response_flags, "ResponseFlags")
    mg = env.mailbox_guid(alias_mailbox)
    eq(mw.guid_wire_to_str(lr.mailbox_guid), mw.guid_wire_to_str(mg), "MailboxGuid")
    eq(lr.replid, 1, "ReplId")
    rg = mw.uuid5_wire(GUID_NAMESPACE, mg)
    eq(mw.guid_wire_to_str(lr.repl_guid), mw.guid_wire_to_str(rg),
       "ReplGuid (UUID v5 of the MailboxGuid)")
    check(lr.repl_guid != lr.mailbox_guid, "ReplGuid equals MailboxGuid")
    when, dow = mw.logon_time_decode(lr.logon_time)
    now = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    check(abs((when - now).total_seconds()) <= 5, "LogonTime %s, now %s" % (when, now))
    eq(dow, (when.weekday() + 1) % 7, "LogonTime DayOfWeek (Sunday = 0)")
    gw = mw.filetime_to_unix(lr.gwart_time)
    check(abs(gw - t) <= 5, "GwartTime %.0f, now %.0f" % (gw, t))
    eq(lr.store_state, 0, "StoreState")
    check(len(ex.handles) >= 1 and ex.handles[0] != 0xFFFFFFFF,
          "handle table slot 0 after success: %r" % ex.handles[:2])


@case("main")
def logon_alice_private(env):
    lr, ex, t = logon_cycle(env, "alice", env.dn("alice"))
    check_private_success(env, lr, ex, t, "alice", 0x07)
    return "166 bytes, owner flags 0x07, MailboxGuid %s" % mw.guid_wire_to_str(lr.mailbox_guid)


@case("main")
def logon_bob_moved_same_server(env):
    lr, ex, t = logon_cycle(env, "bob", env.dn("bob"))
    check_private_success(env, lr, ex, t, "bob", 0x07)


@case("main")
def logon_carol_in_transit(env):
    lr, ex, _ = logon_cycle(env, "carol", env.dn("carol"))
    expect_failure(lr, ex, "fe 00 0c 05 00 00")


@case("main")
def logon_dave_wrong_server(env):
    lr, ex, _ = logon_cycle(env, "dave", env.dn("dave"))
    server2 = env.dir.one(env.dir.by_cn("SERVER2"), "legacyExchangeDN").encode() + b"\0"
    want = bytes([0xFE, 0, 0x78, 0x04, 0, 0, 0x01, len(server2)]) + server2
    expect_failure(lr, ex, want.hex(" "))
    return "redirect to %s" % server2[:-1].decode()


@case("main")
def logon_erin_other_forest(env):
    lr, ex, _ = logon_cycle(env, "erin", env.dn("erin"))
    expect_failure(lr, ex, "fe 00 eb 03 00 00")


@case("main")
def logon_frank_contact(env):
    lr, ex, _ = logon_cycle(env, "alice", env.dn("frank"))
    expect_failure(lr, ex, "fe 00 eb 03 00 00")


@case("main")
def logon_gina_disabled(env):
    lr, ex, _ = logon_cycle(env, "gina", env.dn("gina"))
    expect_failure(lr, ex, "fe 00 11 01 04 80")


@case("main")
def logon_henry_child_domain(env):
    lr, ex, t = logon_cycle(env, "henry", env.dn("henry"))
    check_private_success(env, lr, ex, t, "henry", 0x07)


@case("main")
def logon_room1_by_alice_admin(env):
    lr, ex, t = logon_cycle(env, "alice", env.dn("room1"),
                            open_flags=mw.OPEN_USER_DEFAULT | mw.OPEN_USE_ADMIN_PRIVILEGE)
    # a delegate with FullAccess: Reserved + OwnerRight, no SendAs (alice's ACE is 0x1 only)
    check_private_success(env, lr, ex, t, "room1", 0x03)
    return "delegate flags 0x03"


@case("main")
def logon_room1_by_ivan_nested_groups(env):
    lr, ex, t = logon_cycle(env, "ivan", env.dn("room1"),
                            open_flags=mw.OPEN_USER_DEFAULT | mw.OPEN_USE_ADMIN_PRIVILEGE)
    check_private_success(env, lr, ex, t, "room1", 0x03)


@case("main")
def logon_room1_by_alice_without_admin(env):
    lr, ex, _ = logon_cycle(env, "alice", env.dn("room1"))
    expect_failure(lr, ex, "fe 00 1c 01 00 00")  # ecProfileNotConfigured


@case("main")
def logon_bob_to_room1_sendas_only(env):
    lr, ex, _ = logon_cycle(env, "bob", env.dn("room1"),
                            open_flags=mw.OPEN_USER_DEFAULT | mw.OPEN_USE_ADMIN_PRIVILEGE)
    expect_failure(lr, ex, "fe 00 05 00 07 80")  # ecAccessDenied


@case("main")
def logon_private_without_per_mdb_replid(env):
    lr, ex, _ = logon_cycle(env, "alice", env.dn("alice"),
                            open_flags=mw.OPEN_HOME_LOGON | mw.OPEN_TAKE_OWNERSHIP)
    expect_failure(lr, ex, "fe 00 57 00 07 80")


@case("main")
def logon_unknown_essdn(env):
    dn = env.dn("alice").rsplit("/cn=", 1)[0] + "/cn=nobody"
    lr, ex, _ = logon_cycle(env, "alice", dn)
    expect_failure(lr, ex, "fe 00 eb 03 00 00")


@case("main")
def logon_public_folders(env):
    lr, ex, _ = logon_cycle(env, "alice", "", open_flags=mw.OPEN_PUBLIC, logon_flags=0)
    eq(lr.kind, "public", "public logon")
    eq(len(lr.raw), 145, "public success length")
    eq(lr.logon_flags, 0, "LogonFlags echo")
    want = [mw.fid(1, g) for g in (1, 2, 3, 4)] + [b"\0" * 8] * 9
    eq([f.hex() for f in lr.fids], [f.hex() for f in want], "public FolderIds")
    eq(lr.replid, 1, "ReplId")
    name = b"public:" + env.dir.one(env.server, "legacyExchangeDN").lower().encode()
    eq(mw.guid_wire_to_str(lr.repl_guid),
       mw.guid_wire_to_str(mw.uuid5_wire(GUID_NAMESPACE, name)), "public ReplGuid")
    eq(lr.per_user_guid, b"\0" * 16, "PerUserGuid")


# --- HTTP and TLS variants, held requests, ROP buffer limits -------------------------------------

@case("main")
def tls12_and_plain_http_ping(env):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((env.host, env.port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        eq(s.version(), "TLSv1.2", "negotiated version")
        s.sendall(mh.build_request("POST", mh.ENDPOINT, std_headers()))
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        check(data.startswith(b"HTTP/1.1 200 ") and b"\r\nX-ResponseCode: 0\r\n" in data,
              "PING over TLS 1.2: %r" % data[:100])
    finally:
        s.close()
    c = mh.Conn(env.host, env.plain_port, tls=False)
    try:
        r = c.request("POST", mh.ENDPOINT, std_headers())
        eq((r.status, r.response_code), (200, 0), "PING on the loopback plain_http listener")
    finally:
        c.close()


@case("main")
def http_framing_variants(env):
    """Expect: 100-continue, a chunked request body (and one over the limit), HTTP/1.0."""
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        lreq = mw.rop_buffer(mw.roplogon_request(env.dn("alice")), [0xFFFFFFFF])
        body = mh.execute_body(mw.rhe_pack(lreq))
        # Expect: 100-continue: the interim answer comes before the body is sent
        c = mh.Conn(env.host, env.port)
        try:
            h = s.headers("Execute") + [("Expect", "100-continue")]
            req = mh.build_request("POST", mh.ENDPOINT, h, b"", content_length=len(body))
            c.send(req)
            r0 = c.read_response(skip_1xx=False)
            eq(r0.status, 100, "interim response to Expect: 100-continue")
            c.send(body)
            r = c.read_response()
            s.take_cookies(r)
            e = mh.Envelope(r.body)
            ex = mh.ExecuteResult(e.body)
            eq(mw.LogonResponse(ex.rops, True).kind, "private", "logon after 100 Continue")
        finally:
            c.close()
        # a chunked request body, 7 bytes a chunk
        c = mh.Conn(env.host, env.port)
        try:
            h = s.headers("Execute")
            head = ("POST %s HTTP/1.1\r\nHost: localhost\r\n" % mh.ENDPOINT
                    + "".join("%s: %s\r\n" % kv for kv in h)
                    + "Transfer-Encoding: chunked\r\n\r\n").encode()
            chunks = b"".join(b"%x\r\n" % len(body[k:k + 7]) + body[k:k + 7] + b"\r\n"
                              for k in range(0, len(body), 7))
            c.send(head + chunks + b"0\r\n\r\n")
            r = c.read_response()
            s.take_cookies(r)
            e = mh.Envelope(r.body)
            ex = mh.ExecuteResult(e.body)
            eq(mw.LogonResponse(ex.rops, True).kind, "private", "logon from a chunked body")
            h = std_headers("Execute")
            head = ("POST %s HTTP/1.1\r\nHost: localhost\r\n" % mh.ENDPOINT
                    + "".join("%s: %s\r\n" % kv for kv in h)
                    + "Transfer-Encoding: chunked\r\n\r\n").encode()
            big = env.max_body + 1
            c.send(head + b"%x\r\n" % big + b"\0" * big + b"\r\n0\r\n\r\n")
            r = c.read_response()
            expect_rc(r, 200, mh.RC_TOO_LARGE, h)
        finally:
            c.close()
        s.disconnect()
    finally:
        s.close()
    # HTTP/1.0: answered (in HTTP/1.1, the server's version: RFC 9110 2.5), then the
    # connection is closed
    c = mh.Conn(env.host, env.port)
    try:
        c.send(mh.build_request("POST", mh.ENDPOINT, std_headers()).replace(
            b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1))
        r = c.read_response()
        eq((r.version, r.status, r.response_code), ("HTTP/1.1", 200, 0), "HTTP/1.0 PING")
        eq((r.header("Connection") or "").lower(), "close", "Connection: close after HTTP/1.0")
        dt, rest = c.wait_closed(5)
        eq(rest, b"", "bytes after the HTTP/1.0 answer")
    finally:
        c.close()
    alive(env)
    return "100 Continue, chunked body (and over the limit: 9), HTTP/1.0 closed after the answer"


@case("main")
def rop_buffer_too_small(env):
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        rops = mw.roplogon_request(env.dn("alice"))
        lreq = mw.rop_buffer(rops, [0xFFFFFFFF])
        need = 8 + 2 + 166 + 4  # RPC_HEADER_EXT, RopSize, the response, one handle
        # room for RopBufferTooSmall (3 + the request) but not for the response
        for mro in (8 + 2 + 3 + len(rops) + 4, need - 1):
            _, ex = s.execute(mw.rhe_pack(lreq), max_rop_out=mro)
            eq((ex.status_code, ex.error_code), (0, 0), "MaxRopOut %d: codes" % mro)
            eq(ex.rops[:1], b"\xff", "MaxRopOut %d: RopBufferTooSmall" % mro)
            eq(struct.unpack_from("<H", ex.rops, 1)[0], need, "SizeNeeded")
            eq(ex.rops[3:], rops, "RequestBuffers: the unprocessed request verbatim")
            eq(ex.handles, [0xFFFFFFFF], "handle table")
        # retried with SizeNeeded it fits
        t = time.time()
        _, ex = s.execute(mw.rhe_pack(lreq), max_rop_out=need)
        check_private_success(env, mw.LogonResponse(ex.rops, True), ex, t, "alice", 0x07)
        # too small even for RopBufferTooSmall: ecBufferTooSmall for the whole Execute
        _, ex = s.execute(mw.rhe_pack(lreq), max_rop_out=8 + 2 + 3 + len(rops) + 3)
        eq((ex.status_code, ex.error_code, ex.rop_buffer), (0, 0x47D, b""),
           "Execute that cannot hold RopBufferTooSmall")
        s.disconnect()
    finally:
        s.close()
    return "SizeNeeded %d" % need


@case("main")
def racing_executes_one_context(env):
    """Two Executes with the same cookies at the same time on two connections: one is
    answered, the other gets 15 (in progress or stale sequence), every time."""
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        body = mh.execute_body(mw.rhe_pack(mw.rop_buffer(mw.roplogon_request(env.dn("alice")),
                                                         [0xFFFFFFFF])))
        for _ in range(5):
            out = []
            others = [mh.Session(env, s.user, s.password) for _ in range(2)]
            for o in others:
                o.cookies = dict(s.cookies)
                o._conn()
            barrier = threading.Barrier(2)

            def go(o):
                barrier.wait()
                out.append(o.post("Execute", body))
            ts = [threading.Thread(target=go, args=(o,)) for o in others]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            codes = sorted(r.response_code for r in out)
            eq(codes, [0, mh.RC_INVALID_SEQUENCE], "X-ResponseCodes of the two")
            for o in others:
                o.close()
            ok = [r for r in out if r.response_code == 0][0]
            eq(mh.Envelope(ok.body).response_code, 0, "the winner's DONE block")
            s.take_cookies(ok)
        s.disconnect()
    finally:
        s.close()
    return "5 rounds"


def start_held_nwait(env, s):
    """A NotificationWait on s's context sent on a connection of its own; returns once the
    server answered PROCESSING (it holds the request)."""
    c = mh.Conn(env.host, env.port)
    h = s.headers("NotificationWait")
    c.send(mh.build_request("POST", mh.ENDPOINT, h, struct.pack("<II", 0, 0)))
    c.settimeout(10)
    status = c._line()
    check(status.startswith(b"HTTP/1.1 200"), "NotificationWait: %r" % status)
    while c._line() != b"":
        pass
    size = int(c._line(), 16)
    eq(c._exact(size + 2), b"PROCESSING\r\n\r\n", "first chunk of the held NotificationWait")
    return c, h


def finish_held_chunks(c):
    """The rest of a chunked answer whose headers and first chunk were read."""
    body = bytearray()
    while True:
        size = int(c._line().split(b";")[0], 16)
        if size == 0:
            while c._line() != b"":
                pass
            return bytes(body)
        body += c._exact(size)
        eq(c._exact(2), b"\r\n", "chunk end")


@case("main")
def execute_while_notificationwait_held(env):
    """An Execute on a context whose NotificationWait is held is served; a Disconnect then
    ends the held request with X-ResponseCode 10 in its DONE block."""
    s = session(env, "alice")
    held = None
    try:
        s.connect(env.dn("alice"))
        held, _ = start_held_nwait(env, s)
        t = time.time()
        _, ex, lr = s.logon(env.dn("alice"))
        check_private_success(env, lr, ex, t, "alice", 0x07)
        t0 = time.monotonic()
        _, dr = s.disconnect()
        eq(dr.error_code, 0, "Disconnect with a NotificationWait held")
        held.settimeout(5)
        e = mh.Envelope(b"PROCESSING\r\n" + finish_held_chunks(held))
        eq(e.response_code, mh.RC_CONTEXT_NOT_FOUND, "the held request's DONE X-ResponseCode")
        check(e.body.startswith(b"X-ResponseCode 10 "), "its diagnostic: %r" % e.body[:80])
        check(time.monotonic() - t0 < 1.0, "the held request was not ended at once")
    finally:
        s.close()
        if held:
            held.close()


@case("main")
def abandoned_notificationwait_released(env):
    """A client that closes its connection while its NotificationWait is held: the context
    takes a new NotificationWait (no 15) well before the first one's deadline."""
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        held, _ = start_held_nwait(env, s)
        held.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        held.close()  # RST
        t0 = time.monotonic()
        while True:
            try:
                c, _ = start_held_nwait(env, s)
                break
            except Fail:
                check(time.monotonic() - t0 < env.nwait_seconds * 0.75,
                      "still 15 %.1f s after the client went away" % (time.monotonic() - t0))
                time.sleep(0.1)
        dt = time.monotonic() - t0
        s.disconnect()
        c.close()
    finally:
        s.close()
    alive(env)
    return "a new one held after %.2f s (deadline %d s)" % (dt, env.nwait_seconds)


@case("main")
def many_rops_in_one_execute(env):
    """max_rops_per_execute RopLogons in one Execute are all answered; one more is refused."""
    n = env.max_rops
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        rops = b"".join(mw.roplogon_request(env.dn("alice"), logon_id=k, out_idx=k)
                        for k in range(n))
        t = time.time()
        _, ex = s.execute(mw.rhe_pack(mw.rop_buffer(rops, [0xFFFFFFFF] * n)))
        eq((ex.status_code, ex.error_code), (0, 0), "Execute with %d ROPs" % n)
        eq(len(ex.rops), 166 * n, "%d responses" % n)
        for k in range(n):
            lr = mw.LogonResponse(ex.rops[166 * k:166 * (k + 1)], True)
            eq(lr.out_idx, k, "OutputHandleIndex of response %d" % k)
            if k == 0:
                check_private_success(env, lr, ex, t, "alice", 0x07)
        eq(len(set(ex.handles)), n, "distinct handles")
        eq(ex.buffers[0][0], mw.RHE_COMPRESSED | mw.RHE_LAST,
           "the %d-byte response is compressed (request Flags 0, not XORed)" % (166 * n))
        check(0xFFFFFFFF not in ex.handles, "a slot without its handle")
        rops += mw.roplogon_request(env.dn("alice"), logon_id=n, out_idx=n)
        _, ex = s.execute(mw.rhe_pack(mw.rop_buffer(rops, [0xFFFFFFFF] * (n + 1))))
        eq((ex.status_code, ex.error_code, ex.rop_buffer), (0, 0x4B6, b""),
           "Execute with %d ROPs: ecRpcFormat" % (n + 1))
        _, _, lr = s.logon(env.dn("alice"))
        eq(lr.kind, "private", "the context after the refused Execute")
        s.disconnect()
    finally:
        s.close()
    return "%d answered, %d refused with ecRpcFormat" % (n, n + 1)


@case("main")
def garbage_and_resets(env):
    """Plain HTTP on the TLS port, a TLS record of junk, and clients that reset mid-request
    are dropped; the daemon serves on."""
    g = socket.create_connection((env.host, env.port), timeout=5)
    try:
        g.sendall(mh.build_request("POST", mh.ENDPOINT, std_headers()))
        got = g.recv(100)
        check(not got.startswith(b"HTTP/"), "plain HTTP on the TLS port answered: %r" % got)
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        g.close()
    g = socket.create_connection((env.host, env.port), timeout=5)
    try:
        g.sendall(b"\x16\x03\x01\x00\x20" + os.urandom(32))
        g.recv(100)
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        g.close()
    for cut in (30, 200, -3):
        c = mh.Conn(env.host, env.port)
        req = mh.build_request("POST", mh.ENDPOINT, std_headers("Connect"),
                               mh.connect_body(env.dn("alice")))
        c.send(req[:cut])
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    alive(env)


@case("main")
def auxiliary_buffers_in(env):
    """Connect and Execute carrying an AuxiliaryBuffer (AUX_PERF_REQUESTID and a 0x0C block,
    plain and XORed, as Outlook sends them; protocol.md 9.1); a malformed one gets 12."""
    blocks = (struct.pack("<HBBHH", 8, 1, 0x01, 1, 0xA3)
              + struct.pack("<HBB", 16, 1, 0x0C) + bytes(range(12)))
    for xor in (False, True):
        aux = mw.rhe_pack(blocks, xor=xor)
        s = session(env, "alice")
        try:
            resp = s.post("Connect", mh.connect_body(env.dn("alice"), aux=aux))
            cr = mh.ConnectResult(s._envelope(resp, "Connect").body)
            eq((cr.status_code, cr.error_code), (0, 0), "Connect with aux (xor=%s)" % xor)
            rb = mw.rhe_pack(mw.rop_buffer(mw.roplogon_request(env.dn("alice")), [0xFFFFFFFF]))
            resp = s.post("Execute", mh.execute_body(rb, aux=aux))
            ex = mh.ExecuteResult(s._envelope(resp, "Execute").body)
            eq(mw.LogonResponse(ex.rops, True).kind, "private", "Execute with aux")
            s.disconnect()
        finally:
            s.close()
    h = std_headers("Connect")
    rc_case(env, 200, mh.RC_INVALID_REQUEST_BODY, headers=h,
            body=mh.connect_body(env.dn("alice"), aux=b"\0\1\2"))
    return "plain and XORed; 3 bytes of junk -> 12"


# --- compressed and XORed requests ---------------------------------------------------------------

@case("main")
def compressed_xored_request_and_response(env):
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        handles = [0xFFFFFFFF] * 200  # compressible: a long match (16-bit length form)
        rops = mw.roplogon_request(env.dn("alice"))
        payload = mw.rop_buffer(rops, handles)
        results = []
        for compress, xor, flags in ((True, True, 0), (True, False, 0), (False, True, 0),
                                     (True, True, mw.EXEC_NO_COMPRESSION | mw.EXEC_NO_XORMAGIC)):
            req = mw.rhe_pack(payload, compress, xor)
            t = time.time()
            _, ex = s.execute(req, flags=flags)
            eq((ex.status_code, ex.error_code), (0, 0), "Execute")
            rflags = ex.buffers[0][0]
            want = mw.RHE_LAST
            if not flags & mw.EXEC_NO_COMPRESSION:
                want |= mw.RHE_COMPRESSED  # the 800-byte handle table shrinks a lot
            if xor and not flags & mw.EXEC_NO_XORMAGIC:
                want |= mw.RHE_XORMAGIC
            eq(rflags, want, "response RPC_HEADER_EXT Flags for request compress=%s xor=%s "
               "Flags=0x%x" % (compress, xor, flags))
            lr = mw.LogonResponse(ex.rops, True)
            check_private_success(env, lr, ex, t, "alice", 0x07)
            eq(len(ex.handles), 200, "handle table length")
            results.append("%s->%s" % ("C" * compress + "X" * xor or "plain",
                                      "C" * bool(rflags & 1) + "X" * bool(rflags & 2)
                                      or "plain"))
        s.disconnect()
    finally:
        s.close()
    return "request->response: " + ", ".join(results) + " (%d-byte payload compressed to %d)" % (
        len(payload), len(mw.lz77_compress(payload)))


@case("main")
def compressed_request_variety(env):
    """Our compressor's output with every length form (3..9, nibble, byte, word) and many
    indicator words: two RopLogons in one buffer (the second replaces the first's LogonId),
    with a repetitive Essdn padding the handle table."""
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        r1 = mw.roplogon_request(env.dn("alice"), out_idx=0)
        r2 = mw.roplogon_request(env.dn("alice"), out_idx=1, logon_id=1)
        handles = [0xFFFFFFFF] * 3 + [0x01020304] * 20 + [0xFFFFFFFF] * 7 + list(range(40))
        payload = mw.rop_buffer(r1 + r2, handles)
        comp = mw.lz77_compress(payload)
        check(len(comp) < len(payload), "not compressible")
        t = time.time()
        _, ex = s.execute(mw.rhe_pack(payload, True, True))
        eq((ex.status_code, ex.error_code), (0, 0), "Execute")
        lr1 = mw.LogonResponse(ex.rops[:166], True)
        lr2 = mw.LogonResponse(ex.rops[166:], True)
        check_private_success(env, lr1, ex, t, "alice", 0x07)
        eq(lr2.out_idx, 1, "second response's OutputHandleIndex")
        eq(len(ex.rops), 332, "two responses")
        check(ex.handles[1] != 0xFFFFFFFF and ex.handles[1] != ex.handles[0],
              "slot 1 after the second logon: %r" % ex.handles[:3])
        eq(ex.handles[2:], handles[2:], "untouched handle table entries")
        s.disconnect()
    finally:
        s.close()
    return "%d bytes -> %d" % (len(payload), len(comp))


# --- a request in many TCP segments --------------------------------------------------------------

@case("main")
def request_one_byte_per_segment(env):
    s = session(env, "alice")
    try:
        s.connect(env.dn("alice"))
        payload = mw.rop_buffer(mw.roplogon_request(env.dn("alice")), [0xFFFFFFFF])
        body = mh.execute_body(mw.rhe_pack(payload))
        seq = s.cookies["MapiSequence"]
        t = time.time()
        t0 = time.monotonic()
        resp = s.post("Execute", body, piece=1, delay=0.001)
        sent = time.monotonic() - t0
        check_execute_http(s, resp, seq)
        e = mh.Envelope(resp.body)
        eq(e.response_code, 0, "DONE X-ResponseCode")
        ex = mh.ExecuteResult(e.body)
        check_private_success(env, mw.LogonResponse(ex.rops, True), ex, t, "alice", 0x07)
        s.disconnect()
        n = len(mh.build_request("POST", s.path, s.headers("Execute"), body))
    finally:
        s.close()
    return "%d bytes, one TLS record each, in %.1f s" % (n, sent)


@case("main")
def pipelined_requests_in_one_write(env):
    """Three PINGs in one write on one kept-alive connection, then an Execute (a chunked
    answer) followed by a PING in one write: every answer, in order."""
    c = mh.Conn(env.host, env.port)
    s = session(env, "alice")
    try:
        hs = [std_headers("PING") for _ in range(3)]
        c.send(b"".join(mh.build_request("POST", mh.ENDPOINT, h) for h in hs))
        for h in hs:
            r = c.read_response()
            eq((r.status, r.response_code), (200, 0), "pipelined PING")
            eq(r.header("X-RequestId"), hval(h, "X-RequestId"), "answers in order")
        s.connect(env.dn("alice"))
        body = mh.execute_body(mw.rhe_pack(mw.rop_buffer(mw.roplogon_request(env.dn("alice")),
                                                         [0xFFFFFFFF])))
        h1 = s.headers("Execute")
        h2 = s.headers("PING")
        c.send(mh.build_request("POST", mh.ENDPOINT, h1, body)
               + mh.build_request("POST", mh.ENDPOINT, h2))
        r1 = c.read_response()
        r2 = c.read_response()
        eq((r1.header("X-RequestId"), r2.header("X-RequestId")),
           (hval(h1, "X-RequestId"), hval(h2, "X-RequestId")), "answers in order")
        eq(r1.header("Transfer-Encoding"), "chunked", "the Execute answer")
        ex = mh.ExecuteResult(mh.Envelope(r1.body).body)
        eq(mw.LogonResponse(ex.rops, True).kind, "private", "the pipelined Execute")
        eq((r2.status, r2.response_code), (200, 0), "the PING after it")
        s.take_cookies(r1)
        s.disconnect()
    finally:
        c.close()
        s.close()


# --- bodies over the limit -----------------------------------------------------------------------

@case("main")
def body_over_limit(env):
    # at the limit: not refused for its size (a malformed Execute body: 12)
    h = std_headers("Execute")
    r = one_request(env, "POST", mh.ENDPOINT, h, b"\0" * env.max_body)
    eq(r.response_code, mh.RC_INVALID_REQUEST_BODY, "a body of exactly max_body_bytes")
    # just over: 9, with the echoes, on a connection that stays usable
    c = mh.Conn(env.host, env.port)
    try:
        h = std_headers("Execute")
        r = c.request("POST", mh.ENDPOINT, h, b"\xa5" * (env.max_body + 1000))
        expect_rc(r, 200, mh.RC_TOO_LARGE, h)
        if (r.header("Connection") or "").lower() != "close":
            r = c.request("POST", mh.ENDPOINT, std_headers("PING"))
            eq((r.status, r.response_code), (200, 0), "PING on the same connection after 9")
    finally:
        c.close()
    alive(env)
    # far over (past the front end's slack): refused by the server with 413 without reading
    # it; the lingering close lets the client finish sending and read the answer
    c = mh.Conn(env.host, env.port)
    try:
        big = env.max_body + 256 * 1024
        data = mh.build_request("POST", mh.ENDPOINT, std_headers("Execute"), b"\0" * big)
        got = None
        try:
            c.send(data)
            got = c.read_response()
        except (mh.HttpError, OSError):
            pass  # the server may close while we still send
        check(got is not None, "an answer far over the limit")
        if got is not None:
            eq(got.status, 413, "far over the limit: %s" % got.summary())
    finally:
        c.close()
    alive(env)
    return "max=%d: at the limit 12, +1000 -> 9, +256 KiB -> %s" % (
        env.max_body, got.status if got is not None else "closed")


# --- slow clients --------------------------------------------------------------------------------

@case("main")
def slow_clients_timed_out(env):
    T = env.request_timeout
    slow = []
    body_missing = mh.build_request("POST", mh.ENDPOINT, std_headers("Connect"), b"",
                                    content_length=200)
    c = mh.Conn(env.host, env.port)
    c.send(body_missing)  # headers complete, the body never comes
    slow.append(("headers sent, body never", c))
    c = mh.Conn(env.host, env.port)
    c.send(body_missing[:40])  # half a request line and headers
    slow.append(("headers unfinished", c))
    c = mh.Conn(env.host, env.port)  # TLS done, nothing sent
    slow.append(("nothing sent after the handshake", c))
    c = mh.Conn(env.host, env.port)
    r = c.request("POST", mh.ENDPOINT, std_headers())
    eq((r.status, r.response_code), (200, 0), "PING before idling")
    slow.append(("kept alive, idle after an answer", c))
    t0 = time.monotonic()
    worst = 0.0
    # meanwhile the daemon serves others at once
    while time.monotonic() - t0 < T * 0.75:
        worst = max(worst, alive(env, "while slow clients hang"))
        time.sleep(0.1)
    check(worst < 1.0, "a PING took %.2f s while slow clients hang" % worst)
    results = []
    for what, c in slow:
        try:
            left = T + 8 - (time.monotonic() - t0)
            _, got = c.wait_closed(max(left, 0.5))
        except (socket.timeout, TimeoutError):
            raise Fail("%s: still open %.1f s after the start (request_timeout_seconds %d)"
                       % (what, time.monotonic() - t0, T))
        finally:
            c.close()
        dt = time.monotonic() - t0
        check(dt >= T - 0.5, "%s: closed after %.2f s, before request_timeout_seconds %d"
              % (what, dt, T))
        check(got == b"" or got.startswith(b"HTTP/1.1 408") or got.startswith(b"HTTP/1.1 400"),
              "%s: received %r before the close" % (what, got[:100]))
        results.append("%.1f s" % dt)
    alive(env)
    return "closed after %s (timeout %d s); PINGs meanwhile <= %.0f ms" % (
        ", ".join(results), T, worst * 1000)


# --- session contexts: idle expiry, kept across SIGHUP -------------------------------------------

@case("main")
def context_idle_expiry_check(env):
    if env.idle_ctx is None:  # (when run alone)
        context_idle_expiry_start(env)
    cookies, t0 = env.idle_ctx
    wait = env.idle_seconds + 1.5 - (time.monotonic() - t0)
    if wait > 0:
        time.sleep(wait)
    s = session(env, "alice")
    try:
        s.cookies = cookies
        r = s.post("Execute", mh.execute_body(mw.rhe_pack(mw.rop_buffer(b"", []))))
        expect_rc(r, 200, mh.RC_CONTEXT_NOT_FOUND,
                  [("X-RequestId", s.last_request_id), ("X-ClientInfo", s.client_info)])
    finally:
        s.close()
    return "unused for %.1f s: X-ResponseCode 10" % (time.monotonic() - t0)


@case("main")
def context_kept_for_reload(env):
    """Leaves a context (with a logon) for the load phase, which runs after SIGHUP."""
    s = session(env, "alice")
    s.connect(env.dn("alice"))
    s.logon(env.dn("alice"))
    with open(env.state_file, "w") as f:
        f.write("%s\n%s\n" % (s.cookies["MapiContext"], s.cookies["MapiSequence"]))
    s.close()


@case("load")
def context_survives_reload(env):
    with open(env.state_file) as f:
        ctx, seq = f.read().split()
    s = session(env, "alice")
    try:
        s.cookies = {"MapiContext": ctx, "MapiSequence": seq}
        t = time.time()
        _, ex, lr = s.logon(env.dn("alice"))
        check_private_success(env, lr, ex, t, "alice", 0x07)
        _, dr = s.disconnect()
        eq(dr.error_code, 0, "Disconnect")
    finally:
        s.close()
    return "Execute and Disconnect on a context made before SIGHUP"


# --- 1,000 concurrent connections ----------------------------------------------------------------

def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def metric(env, name):
    s = socket.create_connection((env.host, env.metrics_port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    m = re.search(rb"^%s (\d+)" % name.encode(), data, re.M)
    return int(m.group(1)) if m else None


class _Client:
    __slots__ = ("sock", "tls", "state", "out", "inbuf", "status", "rc", "t0")


def many_pings(env, n, inflight=128, deadline=90.0):
    """Opens n TLS connections (at most `inflight` still connecting or waiting for their
    answer at a time), each sends one PING and keeps its connection open. Returns the list of
    open clients and a list of failures."""
    sel = selectors.DefaultSelector()
    ctx = mh.tls_context()
    auth = mh.basic_auth("alice@contoso.com", "alice-Secret1")
    ci = "{%s}" % str(uuid.uuid4()).upper()
    todo = list(range(n))
    active = 0
    done = []
    failures = []
    t_end = time.monotonic() + deadline

    def start(k):
        c = _Client()
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock.setblocking(False)
        c.tls = None
        c.state = "connect"
        c.out = mh.build_request("POST", mh.ENDPOINT, [
            ("Content-Type", "application/mapi-http"), ("X-RequestType", "PING"),
            ("X-RequestId", "%s:%d" % (ci, k)), ("X-ClientInfo", ci),
            ("X-ClientApplication", mh.CLIENT_APP), ("Authorization", auth)])
        c.inbuf = b""
        c.t0 = time.monotonic()
        err = c.sock.connect_ex((env.host, env.port))
        if err not in (0, 115):  # EINPROGRESS
            failures.append("connect: errno %d" % err)
            c.sock.close()
            return False
        sel.register(c.sock, selectors.EVENT_WRITE, c)
        return True

    def fail(c, why):
        failures.append(why)
        sel.unregister(c.sock)
        (c.tls or c.sock).close()

    def step(c):
        while True:
            try:
                if c.state == "connect":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(c, "connect: errno %d" % err)
                        return True
                    sel.unregister(c.sock)
                    c.tls = ctx.wrap_socket(c.sock, server_hostname="localhost",
                                            do_handshake_on_connect=False)
                    sel.register(c.tls, selectors.EVENT_WRITE, c)
                    c.state = "handshake"
                elif c.state == "handshake":
                    c.tls.do_handshake()
                    c.state = "send"
                elif c.state == "send":
                    k = c.tls.send(c.out)
                    c.out = c.out[k:]
                    if not c.out:
                        c.state = "recv"
                        sel.modify(c.tls, selectors.EVENT_READ, c)
                        return False
                elif c.state == "recv":
                    d = c.tls.recv(65536)
                    if not d:
                        fail(c, "closed before the answer")
                        return True
                    c.inbuf += d
                    head, sep, body = c.inbuf.partition(b"\r\n\r\n")
                    if sep:
                        m = re.search(rb"\r\nContent-Length: *(\d+)", head, re.I)
                        if m and len(body) >= int(m.group(1)):
                            c.status = int(head.split(b" ", 2)[1])
                            rc = re.search(rb"\r\nX-ResponseCode: *(\d+)", head, re.I)
                            c.rc = int(rc.group(1)) if rc else None
                            sel.unregister(c.tls)
                            if c.status != 200 or c.rc != 0:
                                failures.append("PING answered %s / %s" % (c.status, c.rc))
                                c.tls.close()
                            else:
                                done.append(c)
                            return True
            except ssl.SSLWantReadError:
                sel.modify(c.tls, selectors.EVENT_READ, c)
                return False
            except ssl.SSLWantWriteError:
                sel.modify(c.tls, selectors.EVENT_WRITE, c)
                return False
            except (OSError, ssl.SSLError) as e:
                fail(c, "%s: %s" % (c.state, e))
                return True

    while (todo or active) and time.monotonic() < t_end:
        while todo and active < inflight:
            k = todo.pop()
            if start(k):
                active += 1
        for key, _ in sel.select(timeout=1.0):
            if step(key.data):
                active -= 1
    if todo or active:
        failures.append("%d connections unfinished after %.0f s" % (len(todo) + active,
                                                                    deadline))
        for key in list(sel.get_map().values()):
            key.fileobj.close()
    sel.close()
    return done, failures


def one_wave(env, n):
    """n connections open at once, each after a PING; then all closed. Returns the facts."""
    conns0 = metric(env, "mbx_connections")
    t0 = time.monotonic()
    done, failures = many_pings(env, n)
    t_open = time.monotonic() - t0
    try:
        check(not failures, "%d failures, first: %s" % (len(failures), failures[:3]))
        eq(len(done), n, "connections that completed a PING")
        # all of them are open at the same time now
        conns = metric(env, "mbx_connections")
        check(conns is not None and conns >= n,
              "mbx_connections %s with %d connections open" % (conns, n))
        rss_peak = vm_rss_kb(env.pid)
        t1 = time.monotonic()
        alive(env, "with %d connections open" % n)
        t_ping = time.monotonic() - t1
    finally:
        for c in done:
            try:
                c.tls.close()
            except OSError:
                pass
    # the daemon notices every close
    t2 = time.monotonic()
    conns = None
    while time.monotonic() - t2 < 20:
        conns = metric(env, "mbx_connections")
        if conns is not None and conns <= (conns0 or 0):
            break
        time.sleep(0.2)
    check(conns is not None and conns <= (conns0 or 0),
          "mbx_connections %s 20 s after all closed (before: %s)" % (conns, conns0))
    return t_open, t_ping, rss_peak, vm_rss_kb(env.pid)


@case("load")
def thousand_concurrent_connections(env):
    """Two waves of n concurrent TLS connections. Bounded memory: the first wave costs at
    most a fixed amount per connection (an OpenSSL connection with its buffers and the HTTP
    state is tens of KiB; ASan's redzones and quarantine multiply that), and the second wave,
    after the first closed, reuses what the first freed instead of growing again."""
    n = env.connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(soft >= n + 64, "RLIMIT_NOFILE %d is too small for %d connections (ulimit -n)"
          % (soft, n))
    alive(env, "before")
    rss0 = vm_rss_kb(env.pid)
    t_open, t_ping, peak1, after1 = one_wave(env, n)
    per = (peak1 - rss0) / n
    limit = 512 if env.sanitized else 64
    check(per < limit, "VmRSS grew %d KiB for %d connections (%.0f KiB each, limit %d)"
          % (peak1 - rss0, n, per, limit))
    _, _, peak2, after2 = one_wave(env, n)
    grow2 = peak2 - peak1
    # (ASan holds freed blocks in quarantine for a while before reusing them: more slack)
    limit2 = (peak1 - rss0) * (0.5 if env.sanitized else 0.25)
    check(grow2 <= limit2, "the second wave grew VmRSS by %d KiB over the first's peak "
          "(limit %d KiB): memory not reused" % (grow2, limit2))
    alive(env, "after the connections closed")
    return ("%d TLS connections open at once in %.1f s; a PING meanwhile took %.0f ms; VmRSS "
            "%d -> %d KiB (+%.0f KiB/conn%s), %d after closing; second wave peak %d KiB "
            "(%+d), %d after" % (n, t_open, t_ping * 1000, rss0, peak1, per,
                                 ", ASan" if env.sanitized else "", after1, peak2, grow2,
                                 after2))


# --- SIGTERM -------------------------------------------------------------------------------------

@case("drain")
def sigterm_drains(env):
    """SIGTERM: the listeners close at once, a held NotificationWait is answered at once, a
    Connect on a connection opened before gets 18 (Endpoint Shutting Down); the daemon exits
    (checked by test-e2e.sh) once the clients close."""
    s = session(env, "alice")
    keep = mh.Conn(env.host, env.port)
    held = None
    try:
        r = keep.request("POST", mh.ENDPOINT, std_headers())
        eq((r.status, r.response_code), (200, 0), "PING before SIGTERM")
        s.connect(env.dn("alice"))
        held, _ = start_held_nwait(env, s)
        os.kill(env.pid, signal.SIGTERM)
        t0 = time.monotonic()
        held.settimeout(5)
        e = mh.Envelope(b"PROCESSING\r\n" + finish_held_chunks(held))
        dt = time.monotonic() - t0
        eq(e.response_code, 0, "DONE X-ResponseCode of the held NotificationWait")
        eq(e.body, struct.pack("<IIII", 0, 0, 0, 0), "its body (EventPending 0)")
        check(dt < 2.0, "the held NotificationWait was answered %.2f s after SIGTERM" % dt)
        refused = False
        while time.monotonic() - t0 < 3:
            try:
                socket.create_connection((env.host, env.port), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
                break
            time.sleep(0.1)
        check(refused, "the TLS listener still accepts 3 s after SIGTERM")
        h = std_headers("Connect")
        r = keep.request("POST", mh.ENDPOINT, h, mh.connect_body(env.dn("alice")))
        expect_rc(r, 200, 18, h)
    finally:
        keep.close()
        s.close()
        if held:
            held.close()
    return "held NotificationWait answered after %.2f s; listener closed; Connect -> 18" % dt


# --- main ----------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--plain-port", type=int, default=0)
    p.add_argument("--metrics-port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--ldif", required=True)
    p.add_argument("--server-name", default="SERVER1")
    p.add_argument("--max-body", type=int, required=True)
    p.add_argument("--request-timeout", type=int, required=True)
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--idle-seconds", type=int, required=True)
    p.add_argument("--state-file", required=True)
    p.add_argument("--nwait-seconds", type=int, required=True)
    p.add_argument("--max-rops", type=int, required=True)
    p.add_argument("--sanitized", action="store_true",
                   help="the daemon is built with ASan (looser memory bounds)")
    p.add_argument("--phase", choices=("main", "load", "drain"), required=True)
    p.add_argument("--only", default="", help="regular expression on case names")
    a = p.parse_args()
    env = Env(a)
    for phase, fn in CASES:
        if phase == a.phase and re.search(a.only, fn.__name__):
            run_case(env, fn)
    print("e2e-%s: %d passed, %d failed" % (a.phase, NPASS, NFAIL), flush=True)
    return 1 if NFAIL else 0


if __name__ == "__main__":
    sys.exit(main())
