# mapi.py: the raw MAPI over HTTP and Autodiscover client of the move scenarios
# (tests/integration/test-scenarios.sh, docs/scenarios.md). It drives one mbxstored with the
# independent client of tests/integration/e2e/ (mbxhttp.py, mbxwire.py: written from
# protocol.md 1, 2, 4, 5, not from our C code) and prints one JSON object per step, so the shell
# script can assert exact codes:
#
#   mapi.py logon --port P --user U --password-file F --essdn DN [--user-dn DN] [--admin]
#       Connect (UserDn = --user-dn, else --essdn), Execute with one RopLogon of --essdn
#       (OpenFlags with USE_ADMIN_PRIVILEGE too with --admin: a delegate's logon), Disconnect.
#       Prints {"step": "logon", "http": 200, "rc": 0, "connect_ec": 0, "ec": 0,
#       "ec_hex": "0x00000000", "kind": "private", "mailbox_guid": ..., "repl_guid": ...,
#       "replid": ..., "root_fid": ..., "server": <ecWrongServer's ServerName>}.
#   mapi.py hold ... --go FILE [--essdn2 DN]
#       Connect and RopLogon as above, prints that step, then waits (at most 60 s) until FILE
#       exists, sends one more Execute (RopLogon of --essdn2, else --essdn again) on the same
#       session context and prints
#       {"step": "after", "rc": X-ResponseCode, ...}, then Connects anew and logs on again and
#       prints {"step": "relogon", ...}.
#   mapi.py autodiscover --port P --user U --password-file F (--email A | --legacy-dn DN)
#       POST /autodiscover/autodiscover.xml (protocol.md 7.3) and prints {"http": ...,
#       "action": "settings"|"redirectUrl"|"redirectAddr"|null, "redirect_url", "redirect_addr",
#       "error_code", "legacy_dn", "mapi_urls": [...], "server_dn"}.
#
# Python 3 standard library only. Exit status 0 when every request got an HTTP answer (whatever
# its codes: the caller checks them), 1 on a transport failure (printed as {"error": ...}).
import argparse
import json
import os
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import mbxhttp  # noqa: E402
import mbxwire  # noqa: E402


class Env:
    def __init__(self, port):
        self.host = "127.0.0.1"
        self.port = port


def out(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def fid_hex(b):
    return "0x" + bytes(b).hex()


def guid(b):
    return mbxwire.guid_wire_to_str(b)


def logon_step(s, essdn, step, admin=False):
    """One Execute with a RopLogon on session s (OpenFlags USE_ADMIN_PRIVILEGE added with
    admin, as a delegate's client sends them); returns the step's JSON object."""
    res = {"step": step}
    flags = mbxwire.OPEN_USER_DEFAULT
    if admin:
        flags |= mbxwire.OPEN_USE_ADMIN_PRIVILEGE
    rops = mbxwire.roplogon_request(essdn, mbxwire.LOGON_PRIVATE, flags)
    payload = mbxwire.rop_buffer(rops, [0xFFFFFFFF])
    resp = s.post("Execute", mbxhttp.execute_body(mbxwire.rhe_pack(payload)))
    res["http"] = resp.status
    res["rc"] = resp.response_code
    if resp.status != 200 or resp.response_code != 0:
        return res
    env = mbxhttp.Envelope(resp.body)
    res["rc"] = env.response_code
    if env.response_code != 0:
        return res
    ex = mbxhttp.ExecuteResult(env.body)
    res["status_code"] = ex.status_code
    if ex.status_code != 0:
        return res
    res["error_code"] = ex.error_code
    if ex.error_code != 0 or not ex.rops:
        return res
    lr = mbxwire.LogonResponse(ex.rops, True)
    res["ec"] = lr.rv
    res["ec_hex"] = "0x%08X" % lr.rv
    res["kind"] = lr.kind
    if lr.kind == "private":
        res["mailbox_guid"] = guid(lr.mailbox_guid)
        res["repl_guid"] = guid(lr.repl_guid)
        res["replid"] = lr.replid
        res["root_fid"] = fid_hex(lr.fids[0])
        res["response_flags"] = lr.response_flags
    elif lr.kind == "redirect":
        res["server"] = lr.server
    return res


def connect_step(s, user_dn):
    """Connect; returns (ok, JSON fields)."""
    resp = s.post("Connect", mbxhttp.connect_body(user_dn))
    f = {"connect_http": resp.status, "connect_rc": resp.response_code}
    if resp.status != 200 or resp.response_code != 0:
        return False, f
    env = mbxhttp.Envelope(resp.body)
    f["connect_rc"] = env.response_code
    if env.response_code != 0:
        return False, f
    cr = mbxhttp.ConnectResult(env.body)
    f["connect_status"] = cr.status_code
    if cr.status_code != 0:
        return False, f
    f["connect_ec"] = cr.error_code
    f["connect_ec_hex"] = "0x%08X" % cr.error_code
    return cr.error_code == 0, f


def session(a):
    with open(a.password_file) as fh:
        pw = fh.readline().rstrip("\r\n")
    return mbxhttp.Session(Env(a.port), a.user, pw)


def connect_and_logon(a, step):
    s = session(a)
    ok, f = connect_step(s, a.user_dn or a.essdn)
    if not ok:
        f["step"] = step
        return s, f
    r = logon_step(s, a.essdn, step, a.admin)
    r.update(f)
    return s, r


def cmd_logon(a):
    s, r = connect_and_logon(a, "logon")
    if "connect_ec" in r and r["connect_ec"] == 0:
        try:
            s.disconnect()
        except mbxhttp.HttpError:
            pass
    s.close()
    out(r)


def cmd_hold(a):
    s, r = connect_and_logon(a, "logon")
    out(r)
    t0 = time.monotonic()
    while not os.path.exists(a.go):
        if time.monotonic() - t0 > 60:
            out({"step": "after", "error": "no go file within 60 s"})
            return 1
        time.sleep(0.02)
    out(logon_step(s, a.essdn2 or a.essdn, "after", a.admin))
    s.close()
    s2, r2 = connect_and_logon(a, "relogon")
    s2.close()
    out(r2)
    return 0


NS_RESP = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUT = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
NS_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"


def cmd_autodiscover(a):
    with open(a.password_file) as fh:
        pw = fh.readline().rstrip("\r\n")
    addr = ("<LegacyDN>%s</LegacyDN>" % a.legacy_dn) if a.legacy_dn else \
        ("<EMailAddress>%s</EMailAddress>" % a.email)
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<Autodiscover xmlns="%s"><Request>%s'
            '<AcceptableResponseSchema>%s</AcceptableResponseSchema>'
            '</Request></Autodiscover>' % (NS_REQ, addr, NS_OUT)).encode()
    c = mbxhttp.Conn("127.0.0.1", a.port)
    resp = c.request("POST", "/autodiscover/autodiscover.xml",
                     [("Content-Type", "text/xml; charset=utf-8"),
                      ("X-MapiHttpCapability", "1"),
                      ("Authorization", mbxhttp.basic_auth(a.user, pw))], body)
    c.close()
    r = {"http": resp.status, "action": None, "redirect_url": None, "redirect_addr": None,
         "error_code": None, "legacy_dn": None, "mapi_urls": [], "server_dn": None,
         "body": resp.body.decode("utf-8", "replace")[:2000]}
    if resp.status == 200:
        try:
            root = ET.fromstring(resp.body)
        except ET.ParseError as e:
            r["parse_error"] = str(e)
            out(r)
            return 0
        r["root"] = root.tag
        for e in root.iter():
            tag = e.tag.split("}", 1)[-1]
            text = (e.text or "").strip()
            if tag == "Action":
                r["action"] = text
            elif tag == "RedirectUrl":
                r["redirect_url"] = text
            elif tag == "RedirectAddr":
                r["redirect_addr"] = text
            elif tag == "ErrorCode":
                r["error_code"] = int(text) if text.isdigit() else text
            elif tag == "LegacyDN" and r["legacy_dn"] is None:
                r["legacy_dn"] = text
            elif tag == "ServerDN":
                r["server_dn"] = text
            elif tag in ("InternalUrl", "ExternalUrl"):
                r["mapi_urls"].append(text)
    out(r)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["logon", "hold", "autodiscover"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--essdn")
    p.add_argument("--user-dn")
    p.add_argument("--admin", action="store_true")
    p.add_argument("--go")
    p.add_argument("--essdn2")
    p.add_argument("--email")
    p.add_argument("--legacy-dn")
    a = p.parse_args()
    try:
        if a.cmd == "logon":
            cmd_logon(a)
        elif a.cmd == "hold":
            return cmd_hold(a)
        else:
            return cmd_autodiscover(a)
    except (OSError, mbxhttp.HttpError, mbxwire.WireError) as e:
        out({"error": "%s: %s" % (type(e).__name__, e)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
