#!/usr/bin/python3
"""ad-exchangelib.py: ask mbxstored's Autodiscover (POX, [MS-OXDSCLI]; protocol.md 7) for the
settings of one address the way exchangelib does, and print what exchangelib understood.

Usage:
    ad-exchangelib.py URL USER PASSWORD CAFILE EMAIL [--mapihttp N] [--require-ews]

    URL       the Autodiscover endpoint, e.g. https://127.0.0.1:4443/autodiscover/autodiscover.xml
    CAFILE    PEM file of the CA that signed the daemon's certificate
    --mapihttp N  also send "X-MapiHttpCapability: N" (exchangelib never sends it; with it
                  the daemon answers with the mapiHttp Protocol instead of EXCH/EXPR)
    --require-ews fail (exit 6) when exchangelib's discover() would refuse the answer for
                  lack of an EWS URL

Needs Debian 12's python3-exchangelib 4.9.0 (run with /usr/bin/python3, which has it).

How exchangelib is used, and why
--------------------------------
exchangelib's public entry point, exchangelib.autodiscover.discover() /
PoxAutodiscovery(email, credentials).discover(), cannot be pointed at a test daemon and cannot
succeed against one:
  * it builds its own URLs from the e-mail domain (https://DOMAIN/Autodiscover/Autodiscover.xml,
    then autodiscover.DOMAIN, then plain-HTTP redirects and DNS SRV), on port 443 only, and
    checks every host name with a DNS A lookup first (_ensure_valid_hostname), so
    https://127.0.0.1:PORT/ is never tried;
  * after a settings answer it calls _build_response(), which reads Response.protocol: that
    property raises ValueError("No EWS URL found ...") unless an EXPR or EXCH Protocol carries
    an <EwsUrl>. mbxstored serves MAPI over HTTP, not EWS, so it has no EwsUrl to give and
    discover() always ends in that ValueError (or AutoDiscoverFailed) even though the
    Autodiscover exchange itself worked.
So this script drives the steps of PoxAutodiscovery below those two, with exchangelib's own
code for everything that touches the wire:
  1. the HTTP request: PoxAutodiscovery._get_authenticated_response(protocol), given an
     AutodiscoverProtocol whose service_endpoint is URL, with Credentials(USER, PASSWORD),
     auth_type BASIC and the FailFast retry policy. That method POSTs exchangelib's own
     Autodiscover.payload(email) (EMailAddress + AcceptableResponseSchema outlook 2006a) with
     exchangelib's DEFAULT_HEADERS through post_ratelimited, exactly as the cached-endpoint
     path of discover() (_quick) does. The CA file is plugged in the way exchangelib documents
     for self-signed servers: a requests HTTPAdapter subclass set as
     BaseProtocol.HTTP_ADAPTER_CLS whose cert_verify uses CAFILE.
     --mapihttp rebinds the DEFAULT_HEADERS name of exchangelib.autodiscover.discovery.pox
     to a copy with X-MapiHttpCapability added (exchangelib has no option for it).
  2. the parsing: exchangelib.autodiscover.properties.Autodiscover.from_bytes(body), which
     requires the body to start with "<?xml" (is_xml), the root Autodiscover in
     responseschema/2006, and reads Response/User/Account/Protocol in the outlook 2006a
     namespace (ErrorResponse/Error in responseschema/2006).
  3. the checks of step 5 (_step_5): Autodiscover.raise_errors(), which raises
     ErrorNonExistentMailbox when Error/Message is exactly "The e-mail address cannot be
     found." and AutoDiscoverFailed for any other error. Step 5's following of a redirectUrl is
     not run (it would do the DNS check above); the redirect is printed instead.
What exchangelib needs to "get the settings" from a POX answer (4.9.0): an Autodiscover root in
responseschema/2006 holding Response (outlook 2006a) with Account/Action "settings"; User is
optional (AutoDiscoverSMTPAddress falls back to the address asked for); each Protocol is read
by its <Type> child (EXCH, EXPR, WEB, EXHTTP) -- the Type *attribute* of the mapiHttp form is
ignored, only its Version attribute and MailStore/AddressBook InternalUrl/ExternalUrl are kept --
and discover() then insists on an EwsUrl in EXPR or EXCH. Known mismatch: exchangelib reads the
redirect URL from an element named RedirectURL, while the spec (and mbxstored) write RedirectUrl
(OXDSCLI 2.2.4.1.1.2.9); XML names are case-sensitive, so exchangelib sees Action redirectUrl
with no URL. This script reports that and reads the element from the XML itself.

Output: one "key=value" line per setting, e.g.
    action=settings
    user.display_name=Alice Anders
    protocol[0].version=1
    protocol[0].mail_store.internal_url=https://.../mapi/emsmdb/?MailboxId=...@contoso.com
    ews_url=none (exchangelib discover() would stop here: No EWS URL found ...)
Exit status: 0 settings or a redirect were obtained; 2 an Autodiscover error answer (the
line "error=<exception>: <text>" says which); 3 HTTP status other than 200; 4 transport or TLS
failure; 5 the body is not an Autodiscover document exchangelib can parse; 6 --require-ews and
no EWS URL; 1 usage.
"""

import argparse
import sys

import requests.adapters

import exchangelib
import exchangelib.autodiscover.discovery.pox as pox
from exchangelib.autodiscover.discovery.pox import PoxAutodiscovery
from exchangelib.autodiscover.properties import Autodiscover
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.configuration import Configuration
from exchangelib.credentials import Credentials
from exchangelib.errors import AutoDiscoverFailed, ErrorNonExistentMailbox, TransportError
from exchangelib.protocol import BaseProtocol, FailFast
from exchangelib.transport import BASIC
from exchangelib.util import AUTODISCOVER_RESPONSE_NS, ParseError


def main():
    ap = argparse.ArgumentParser(description="Autodiscover through exchangelib's own code")
    ap.add_argument("url")
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("cafile")
    ap.add_argument("email")
    ap.add_argument("--mapihttp", type=int, default=0, metavar="N")
    ap.add_argument("--require-ews", action="store_true")
    args = ap.parse_args()

    print(f"exchangelib={exchangelib.__version__}")

    class CAFileAdapter(requests.adapters.HTTPAdapter):
        """Verifies the server against CAFILE (exchangelib's documented hook)."""

        def cert_verify(self, conn, url, verify, cert):
            super().cert_verify(conn=conn, url=url, verify=args.cafile, cert=cert)

    BaseProtocol.HTTP_ADAPTER_CLS = CAFileAdapter
    if args.mapihttp > 0:
        pox.DEFAULT_HEADERS = dict(pox.DEFAULT_HEADERS, **{"X-MapiHttpCapability": str(args.mapihttp)})

    credentials = Credentials(username=args.user, password=args.password)
    protocol = AutodiscoverProtocol(
        config=Configuration(
            service_endpoint=args.url,
            credentials=credentials,
            auth_type=BASIC,
            retry_policy=FailFast(),
        )
    )
    discovery = PoxAutodiscovery(email=args.email, credentials=credentials)

    # 1. exchangelib's request.
    try:
        r = discovery._get_authenticated_response(protocol=protocol)
    except (TransportError, requests.exceptions.RequestException) as e:
        print(f"error=transport: {e}")
        return 4
    finally:
        protocol.close()
    print(f"http_status={r.status_code}")
    if r.status_code != 200:
        return 3

    # 2. exchangelib's parser.
    try:
        ad = Autodiscover.from_bytes(bytes_content=r.content)
    except ParseError as e:
        print(f"error=parse: {e}")
        return 5

    # 3. exchangelib's error mapping (step 5).
    try:
        ad.raise_errors()
    except ErrorNonExistentMailbox as e:
        print(f"error=ErrorNonExistentMailbox: {e}")
        print_error_element(ad)
        return 2
    except AutoDiscoverFailed as e:
        print(f"error=AutoDiscoverFailed: {e}")
        print_error_element(ad)
        return 2

    resp = ad.response
    account = resp.account
    if account is None:
        print("error=parse: no Account element in the Response")
        return 5
    print(f"action={account.action}")
    if account.action == "redirectAddr":
        print(f"redirect_addr={resp.redirect_address}")
        return 0
    if account.action == "redirectUrl":
        url = resp.redirect_url
        if url is None:
            # exchangelib 4.9.0 looks for <RedirectURL>; the spec's element is <RedirectUrl>.
            url = raw_text(r.content, "RedirectUrl")
            print("note=exchangelib reads RedirectURL, the answer has RedirectUrl (spec): read from the XML")
        print(f"redirect_url={url}")
        return 0 if url else 5

    user = resp.user
    if user is not None:
        print(f"user.display_name={user.display_name}")
        print(f"user.legacy_dn={user.legacy_dn}")
        print(f"user.autodiscover_smtp_address={user.autodiscover_smtp_address}")
        print(f"user.deployment_id={user.deployment_id}")
    for i, p in enumerate(account.protocols):
        print(f"protocol[{i}].type={p.type}")
        print(f"protocol[{i}].version={p.version}")
        for name in ("server", "server_dn", "mdb_dn", "auth_package", "ews_url"):
            value = getattr(p, name)
            if value is not None:
                print(f"protocol[{i}].{name}={value}")
        if p.ssl is not None and p.type == "EXPR":
            print(f"protocol[{i}].ssl={'On' if p.ssl else 'Off'}")
        for box in ("mail_store", "address_book"):
            urls = getattr(p, box)
            if urls is not None:
                print(f"protocol[{i}].{box}.internal_url={urls.internal_url}")
                print(f"protocol[{i}].{box}.external_url={urls.external_url}")
    try:
        print(f"ews_url={resp.protocol.ews_url}")
    except ValueError as e:
        print(f"ews_url=none (exchangelib discover() would stop here: {e})")
        if args.require_ews:
            return 6
    return 0


def print_error_element(ad):
    """The Error element as exchangelib parsed it."""
    try:
        err = ad.error_response.error
    except AttributeError:
        return
    if err is not None:
        print(f"error.code={err.code}")
        print(f"error.message={err.message}")
        print(f"error.time={err.time}")
        print(f"error.id={err.id}")


def raw_text(content, name):
    """The text of the first element name in the outlook 2006a namespace, with lxml."""
    import lxml.etree

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
    root = lxml.etree.fromstring(content, parser=parser)
    el = root.find(f".//{{{AUTODISCOVER_RESPONSE_NS}}}{name}")
    return el.text if el is not None else None


if __name__ == "__main__":
    sys.exit(main())
