#!/usr/bin/env python3
# gen-directory.py: writes the sample directories conf/directory.ldif (forest Contoso) and
# conf/fabrikam.ldif (forest Fabrikam) deterministically. Every SID (MS-DTYP 2.4.2.2), GUID,
# mailbox security descriptor (MS-DTYP 2.4.6 self-relative SECURITY_DESCRIPTOR with a DACL of
# ACCESS_ALLOWED_ACEs, 2.4.5/2.4.4.2) and password hash ({SSHA}, {SSHA256}, {SSHA512},
# {CRYPT} SHA-512 crypt) is built here from fixed inputs; the committed LDIF files must equal
# this program's output. docs/directory.md describes the organisation this builds.
# It also writes conf/schema/mbxstore.ldif (cn=config form) from conf/schema/mbxstore.schema,
# so the two forms of the schema cannot drift apart.
#
#   tools/gen-directory.py            rewrite the three files
#   tools/gen-directory.py --check    exit 1 (with a diff) if the committed files differ
#   tools/gen-directory.py --facts    print the table of accounts (docs/directory.md)
#
# Python 3 standard library only (no crypt module: it is gone from Python 3.13).

import base64
import difflib
import hashlib
import os
import struct
import sys
import uuid

# --- fixed inputs ----------------------------------------------------------------------------

# Namespace for the uuid5 GUIDs below (a random UUID, generated once).
GUID_NS = uuid.UUID("4c1f327e-30a1-4df4-a740-1af8abc0bc09")

AG = "Exchange Administrative Group (FYDIBOHF23SPDLT)"

DOMAIN_SIDS = {
	"contoso.com": "S-1-5-21-3317830718-1158378736-3523176689",
	"child.contoso.com": "S-1-5-21-1470094943-3356332170-3921670485",
	"fabrikam.com": "S-1-5-21-3697853358-2531549606-2765838366",
}

SID_SELF = "S-1-5-10"
SID_REMOTE_DESKTOP_USERS = "S-1-5-32-555"

# userAccountControl (MS-ADTS 2.2.16)
UF_ACCOUNTDISABLE = 0x2
UF_NORMAL_ACCOUNT = 0x200
UF_DONT_EXPIRE_PASSWD = 0x10000

# groupType (MS-ADTS 2.2.12)
GROUP_BUILTIN_LOCAL = 0x1
GROUP_ACCOUNT = 0x2
GROUP_RESOURCE = 0x4
GROUP_SECURITY_ENABLED = 0x80000000

# msExchRecipientTypeDetails (protocol.md 8.3), msExchRecipientDisplayType (Exchange team
# blog "Exchange 2007 and Recipient Type Details", 2007)
RTD_USER_MAILBOX = 0x1
RTD_ROOM_MAILBOX = 0x10
RTD_MAIL_CONTACT = 0x40
RTD_MAIL_USER = 0x80
RTD_UNIVERSAL_SECURITY_GROUP = 0x80000
RDT_REMOTE_MAIL_USER = 6
RDT_CONFERENCE_ROOM_MAILBOX = 7
RDT_ACLABLE_MAILBOX_USER = 0x40000000

# msExchMailboxMoveStatus / msExchMailboxMoveFlags (protocol.md 8.4, 8.5)
MOVE_STATUS_IN_PROGRESS = 2
MOVE_FLAG_INTRA_ORG = 0x2

# Exchange mailbox rights in msExchMailboxSecurityDescriptor ACE masks (docs/directory.md)
RIGHT_FULL_ACCESS = 0x1
RIGHT_SEND_AS = 0x2
RIGHT_EXTERNAL_ACCOUNT = 0x4

# MS-DTYP ACE/SD constants
ACCESS_ALLOWED_ACE_TYPE = 0x00
CONTAINER_INHERIT_ACE = 0x02
ACL_REVISION = 2
SE_DACL_PRESENT = 0x0004
SE_SELF_RELATIVE = 0x8000

# --- encoders --------------------------------------------------------------------------------


def sid_bytes(text):
	"""S-1-<auth>-<sub>... -> binary SID (MS-DTYP 2.4.2.2)."""
	parts = text.split("-")
	if len(parts) < 3 or parts[0] != "S" or parts[1] != "1":
		raise ValueError("bad SID " + text)
	auth = int(parts[2])
	subs = [int(p) for p in parts[3:]]
	if len(subs) > 15 or auth >= 1 << 48 or any(s >= 1 << 32 for s in subs):
		raise ValueError("bad SID " + text)
	out = bytes([1, len(subs)]) + auth.to_bytes(6, "big")
	for s in subs:
		out += struct.pack("<I", s)
	return out


def guid(key):
	"""A fixed GUID for key (uuid5)."""
	return uuid.uuid5(GUID_NS, key)


def guid_bytes(g):
	"""MS-DTYP 2.3.4.2 GUID packet order: Data1..3 little-endian, Data4 as is."""
	return g.bytes_le


def ace_allowed(sid, mask, flags=CONTAINER_INHERIT_ACE):
	"""ACCESS_ALLOWED_ACE (MS-DTYP 2.4.4.2): ACE_HEADER, Mask, Sid."""
	s = sid_bytes(sid)
	return struct.pack("<BBHI", ACCESS_ALLOWED_ACE_TYPE, flags, 8 + len(s), mask) + s


def acl(aces):
	"""ACL (MS-DTYP 2.4.5): AclRevision, Sbz1, AclSize, AceCount, Sbz2, then the ACEs."""
	body = b"".join(aces)
	return struct.pack("<BBHHH", ACL_REVISION, 0, 8 + len(body), len(aces), 0) + body


def security_descriptor(owner, dacl_aces):
	"""Self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6): 20-byte header, then the DACL, then
	the owner SID; no group, no SACL."""
	dacl = acl(dacl_aces)
	own = sid_bytes(owner)
	off_dacl = 20
	off_owner = off_dacl + len(dacl)
	hdr = struct.pack("<BBHIIII", 1, 0, SE_DACL_PRESENT | SE_SELF_RELATIVE, off_owner, 0, 0,
		off_dacl)
	return hdr + dacl + own


def salt_for(key, n):
	return hashlib.sha256(("mbxstore-salt:" + key).encode()).digest()[:n]


def hash_ssha(pw, key, algo, tag):
	salt = salt_for(key, 8)
	d = hashlib.new(algo, pw.encode() + salt).digest()
	return "{%s}%s" % (tag, base64.b64encode(d + salt).decode())


CRYPT_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sha512_crypt(pw, salt, rounds=5000):
	"""SHA-512 crypt ("$6$", Drepper, "Unix crypt using SHA-256 and SHA-512", 2008), default
	rounds only. Returns "$6$<salt>$<hash>"."""
	p = pw.encode()
	s = salt.encode()[:16]
	b = hashlib.sha512(p + s + p).digest()
	a = hashlib.sha512(p + s)
	n = len(p)
	while n > 64:
		a.update(b)
		n -= 64
	a.update(b[:n])
	i = len(p)
	while i > 0:
		a.update(b if i & 1 else p)
		i >>= 1
	a = a.digest()
	dp = hashlib.sha512(p * len(p)).digest()
	pseq = (dp * (len(p) // 64 + 1))[: len(p)]
	ds = hashlib.sha512(s * (16 + a[0])).digest()
	sseq = (ds * (len(s) // 64 + 1))[: len(s)]
	c = a
	for r in range(rounds):
		h = hashlib.sha512()
		h.update(pseq if r & 1 else c)
		if r % 3:
			h.update(sseq)
		if r % 7:
			h.update(pseq)
		h.update(c if r & 1 else pseq)
		c = h.digest()
	order = [(0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26),
		(6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32),
		(12, 33, 54), (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38),
		(18, 39, 60), (40, 61, 19), (62, 20, 41)]
	out = []
	for x, y, z in order:
		w = (c[x] << 16) | (c[y] << 8) | c[z]
		for _ in range(4):
			out.append(CRYPT_ITOA64[w & 0x3F])
			w >>= 6
	w = c[63]
	for _ in range(2):
		out.append(CRYPT_ITOA64[w & 0x3F])
		w >>= 6
	return "$6$%s$%s" % (s.decode(), "".join(out))


def hash_crypt(pw, key):
	raw = salt_for(key, 12)
	salt = "".join(CRYPT_ITOA64[x & 0x3F] for x in raw)
	return "{CRYPT}" + sha512_crypt(pw, salt)


def hash_password(pw, scheme, key):
	if scheme == "SSHA":
		return hash_ssha(pw, key, "sha1", "SSHA")
	if scheme == "SSHA256":
		return hash_ssha(pw, key, "sha256", "SSHA256")
	if scheme == "SSHA512":
		return hash_ssha(pw, key, "sha512", "SSHA512")
	if scheme == "CRYPT":
		return hash_crypt(pw, key)
	raise ValueError(scheme)


# --- LDIF ------------------------------------------------------------------------------------


def ldif_value(attr, value):
	if isinstance(value, bytes):
		return "%s:: %s" % (attr, base64.b64encode(value).decode())
	value = str(value)
	safe = (value and value[0] not in " :<" and value[-1] != " " and
		all(0x20 <= ord(ch) < 0x7F for ch in value))
	if safe:
		return "%s: %s" % (attr, value)
	return "%s:: %s" % (attr, base64.b64encode(value.encode()).decode())


class Ldif:
	def __init__(self, header):
		self.lines = list(header)

	def entry(self, comment, dn, attrs):
		self.lines.append("")
		for c in comment:
			self.lines.append("# " + c if c else "#")
		self.lines.append(ldif_value("dn", dn))
		for attr, value in attrs:
			if value is None:
				continue
			for v in value if isinstance(value, list) else [value]:
				self.lines.append(ldif_value(attr, v))

	def text(self):
		return "\n".join(self.lines) + "\n"


# --- the forests -----------------------------------------------------------------------------


class Forest:
	def __init__(self, org, dns, base):
		self.org = org
		self.dns = dns
		self.base = base
		self.config = "cn=Configuration," + base
		self.orgdn = "cn=%s,cn=Microsoft Exchange,cn=Services,%s" % (org, self.config)
		self.agdn = "cn=%s,cn=Administrative Groups,%s" % (AG, self.orgdn)
		self.org_legdn = "/o=" + org
		self.ag_legdn = "%s/ou=%s" % (self.org_legdn, AG)
		self.servers = {}
		self.dbs = {}

	def users(self, domain_base=None):
		return "cn=Users," + (domain_base or self.base)

	def server_dn(self, name):
		return "cn=%s,cn=Servers,%s" % (name, self.agdn)

	def server_legdn(self, name):
		return "%s/cn=Configuration/cn=Servers/cn=%s" % (self.ag_legdn, name)

	def db_dn(self, name):
		return "cn=%s,cn=Databases,%s" % (name, self.agdn)

	def db_legdn(self, name):
		return "%s/cn=Configuration/cn=Databases/cn=%s" % (self.ag_legdn, name)

	def recipient_legdn(self, alias):
		return "%s/cn=Recipients/cn=%s" % (self.ag_legdn, alias)


FACTS = []  # rows for --facts


def domain_entries(out, forest, dn, dc, dns, comment):
	out.entry(comment, dn, [
		("objectClass", ["top", "domain", "domainDNS"]),
		("dc", dc),
		("objectSid", sid_bytes(DOMAIN_SIDS[dns])),
		("objectGUID", guid_bytes(guid("domain:" + dns))),
	])
	out.entry(["Default container for accounts"], "cn=Users," + dn, [
		("objectClass", ["top", "container"]), ("cn", "Users")])


def container(out, dn, cn, comment=None, cls="container", extra=()):
	classes = ["top", "container"] if cls == "container" else ["top", "container", cls]
	out.entry(comment or [], dn, [("objectClass", classes), ("cn", cn)] + list(extra))


def exchange_config(out, forest, servers, dbs):
	"""Configuration partition: organisation, admin group, servers, databases (Exchange 2013+
	layout: databases under CN=Databases of the admin group)."""
	f = forest
	container(out, f.config, "Configuration", ["Configuration partition (MS-ADTS: "
		"CN=Configuration, then the forest root domain DN)"])
	container(out, "cn=Services," + f.config, "Services")
	container(out, "cn=Microsoft Exchange,cn=Services," + f.config, "Microsoft Exchange")
	container(out, f.orgdn, f.org, ["Exchange organisation " + f.org_legdn],
		cls="msExchOrganizationContainer", extra=[
			("legacyExchangeDN", f.org_legdn),
			("objectGUID", guid_bytes(guid("org:" + f.org)))])
	container(out, "cn=Administrative Groups," + f.orgdn, "Administrative Groups")
	out.entry(["Administrative group " + f.ag_legdn], f.agdn, [
		("objectClass", ["top", "msExchAdminGroup"]),
		("cn", AG),
		("legacyExchangeDN", f.ag_legdn),
		("objectGUID", guid_bytes(guid("ag:" + f.org))),
	])
	container(out, "cn=Servers," + f.agdn, "Servers")
	for name, host in servers:
		f.servers[name] = host
		out.entry(["Mailbox server %s (%s)" % (name, host)], f.server_dn(name), [
			("objectClass", ["top", "msExchExchangeServer"]),
			("cn", name),
			("legacyExchangeDN", f.server_legdn(name)),
			("networkAddress", ["ncacn_ip_tcp:" + host, "ncacn_np:" + name,
				"netbios:" + name, "ncalrpc:" + name]),
			("objectGUID", guid_bytes(guid("server:%s:%s" % (f.org, name)))),
		])
	container(out, "cn=Databases," + f.agdn, "Databases")
	for name, server in dbs:
		f.dbs[name] = server
		out.entry(["Mailbox database %s on %s" % (name, server)], f.db_dn(name), [
			("objectClass", ["top", "msExchMDB", "msExchPrivateMDB"]),
			("cn", name),
			("legacyExchangeDN", f.db_legdn(name)),
			("msExchOwningServer", f.server_dn(server)),
			("objectGUID", guid_bytes(guid("db:%s:%s" % (f.org, name)))),
		])


def person(out, forest, p):
	"""A user (mailbox, mail user, disabled, resource, service account) or a contact."""
	f = forest
	alias = p["alias"]
	dom = p.get("domain", f.dns)
	dombase = p.get("domain_base", f.base)
	first, last = p.get("name", (alias, alias))
	cn = p.get("cn", "%s %s" % (first, last))
	dn = "cn=%s,%s" % (cn, f.users(dombase))
	contact = p.get("contact", False)
	attrs = [("objectClass", ["top", "person", "organizationalPerson",
		"contact" if contact else "user"]),
		("cn", cn), ("sn", last), ("givenName", first if first != last else None),
		("displayName", p.get("display", cn))]
	sid = None
	if not contact:
		sid = "%s-%d" % (DOMAIN_SIDS[dom], p["rid"])
		uac = UF_NORMAL_ACCOUNT | p.get("uac_extra", 0)
		if p.get("disabled"):
			uac |= UF_ACCOUNTDISABLE
		attrs += [("sAMAccountName", alias), ("userPrincipalName", "%s@%s" % (alias, dom)),
			("objectSid", sid_bytes(sid)), ("userAccountControl", uac)]
	attrs.append(("objectGUID", guid_bytes(guid("object:%s:%s" % (f.org, alias)))))
	mail = p.get("mail")
	if mail:
		attrs.append(("mail", mail))
	if p.get("recipient", True) and mail:
		proxies = ["SMTP:" + mail] + ["smtp:" + a for a in p.get("more_smtp", [])]
		proxies += p.get("more_proxies", [])
		attrs += [("proxyAddresses", proxies), ("mailNickname", alias),
			("legacyExchangeDN", p.get("legdn", f.recipient_legdn(alias)))]
	db = p.get("db")
	if db:
		server = f.dbs[db]
		attrs += [("homeMDB", f.db_dn(db)),
			("msExchHomeServerName", f.server_legdn(server))]
	if "mailbox_guid" in p:
		mbx_guid = guid("mailbox:" + p["mailbox_guid"])
		attrs.append(("msExchMailboxGuid", guid_bytes(mbx_guid)))
	if not contact and p.get("recipient", True) and mail:
		attrs.append(("msExchUserAccountControl", 2 if p.get("disabled") else 0))
	if p.get("master_sid"):
		attrs.append(("msExchMasterAccountSid", sid_bytes(p["master_sid"])))
	attrs += [("msExchRecipientTypeDetails", p.get("rtd")),
		("msExchRecipientDisplayType", p.get("rdt"))]
	attrs += [("targetAddress", p.get("target")), ("memberOf", p.get("member_of"))]
	for name in ("msExchMailboxMoveStatus", "msExchMailboxMoveFlags",
			"msExchMailboxMoveSourceMDBLink", "msExchMailboxMoveTargetMDBLink"):
		attrs.append((name, p.get(name)))
	if p.get("sd"):
		attrs.append(("msExchMailboxSecurityDescriptor", p["sd"]))
	if p.get("password"):
		pw, scheme = p["password"]
		attrs.append(("userPassword", hash_password(pw, scheme, "%s:%s" % (f.org, alias))))
	out.entry(p["comment"], dn, attrs)
	FACTS.append((f.org, alias, dn, sid or "-", p.get("password", ("-", "-")),
		p["comment"][0]))
	return dn


def group(out, forest, dn, cn, sid, gtype, members, member_of=None, comment=()):
	out.entry(list(comment), dn, [
		("objectClass", ["top", "group"]),
		("cn", cn),
		("sAMAccountName", cn),
		("groupType", gtype - (1 << 32) if gtype & 0x80000000 else gtype),
		("objectSid", sid_bytes(sid)),
		("objectGUID", guid_bytes(guid("group:%s:%s" % (forest.org, dn)))),
		("member", members),
		("memberOf", member_of),
	])
	FACTS.append((forest.org, cn, dn, sid, ("-", "-"), comment[0] if comment else "group"))


HEADER = [
	"# %s: sample directory of the %s forest, for mbxstore's tests and sample",
	"# configuration. GENERATED by tools/gen-directory.py: edit that program, not this file,",
	"# and run it again. docs/directory.md describes every object and lists the test",
	"# passwords. Load with the schemas core, cosine, inetorgperson and",
	"# conf/schema/mbxstore.schema (see docs/directory.md).",
]


def contoso():
	f = Forest("Contoso", "contoso.com", "dc=contoso,dc=com")
	child_base = "dc=child," + f.base
	out = Ldif([h % ("directory.ldif", "Contoso") if i == 0 else h
		for i, h in enumerate(HEADER)])
	domain_entries(out, f, f.base, "contoso", "contoso.com",
		["Forest root domain contoso.com"])
	container(out, "cn=Builtin," + f.base, "Builtin", ["BUILTIN domain of contoso.com"])
	exchange_config(out, f, [("SERVER1", "server1.contoso.com"),
		("SERVER2", "server2.contoso.com")], [("DB01", "SERVER1"), ("DB02", "SERVER1"),
		("DB03", "SERVER2")])
	domain_entries(out, f, child_base, "child", "child.contoso.com",
		["Child domain child.contoso.com (same forest, same directory suffix)"])
	container(out, "cn=Builtin," + child_base, "Builtin",
		["BUILTIN domain of child.contoso.com"])

	users = f.users()
	rdu_parent = "cn=Remote Desktop Users,cn=Builtin," + f.base
	rdu_child = "cn=Remote Desktop Users,cn=Builtin," + child_base
	helpdesk = "cn=Helpdesk," + users
	delegates = "cn=Room Delegates," + users
	dom = DOMAIN_SIDS["contoso.com"]
	alice = "cn=Alice Anders," + users
	bob = "cn=Bob Brown," + users
	henry = "cn=Henry Hill," + f.users(child_base)
	ivan = "cn=Ivan Ives," + users

	person(out, f, dict(alias="mbxstored", cn="mbxstored", name=("mbxstored", "mbxstored"),
		display="mbxstored service account", rid=1100, uac_extra=UF_DONT_EXPIRE_PASSWD,
		recipient=False, password=("mbxstored-Contoso1", "SSHA512"),
		comment=["Service account the daemon binds as (read access to everything)"]))

	mailbox = dict(rtd=RTD_USER_MAILBOX, rdt=RDT_ACLABLE_MAILBOX_USER)

	def mbx(alias, first, last, rid, db, pw, scheme, comment, **kw):
		p = dict(mailbox, alias=alias, name=(first, last), rid=rid, db=db,
			mail="%s@%s" % (alias, f.dns),
			more_smtp=["%s.%s@%s" % (first.lower(), last.lower(), f.dns)],
			mailbox_guid=alias, password=(pw, scheme), comment=comment)
		p.update(kw)
		return person(out, f, p)

	mbx("alice", "Alice", "Anders", 1101, "DB01", "alice-Secret1", "SSHA",
		["normal: mailbox on DB01 (SERVER1)"])
	mbx("bob", "Bob", "Brown", 1102, "DB02", "bob-Secret1", "SSHA256",
		["moved to another database on the same server: homeMDB DB02 (SERVER1)"])
	mbx("carol", "Carol", "Clark", 1103, "DB01", "carol-Secret1", "SSHA512",
		["in transit: moving DB01 (SERVER1) -> DB03 (SERVER2), status 2 InProgress,",
		"flags 0x2 IntraOrg"],
		msExchMailboxMoveStatus=MOVE_STATUS_IN_PROGRESS,
		msExchMailboxMoveFlags=MOVE_FLAG_INTRA_ORG,
		msExchMailboxMoveSourceMDBLink=f.db_dn("DB01"),
		msExchMailboxMoveTargetMDBLink=f.db_dn("DB03"))
	mbx("dave", "Dave", "Davis", 1104, "DB03", "dave-Secret1", "CRYPT",
		["moved to another server of this forest: homeMDB DB03, home server SERVER2"])
	person(out, f, dict(alias="erin", name=("Erin", "Evans"), rid=1105,
		mail="erin@contoso.com", more_smtp=["erin.evans@contoso.com"],
		target="SMTP:erin@fabrikam.com", rtd=RTD_MAIL_USER, rdt=RDT_REMOTE_MAIL_USER,
		mailbox_guid="erin", password=("erin-Secret1", "SSHA256"),
		comment=["moved to the foreign forest Fabrikam: mail user, no homeMDB,",
			"targetAddress SMTP:erin@fabrikam.com (her mailbox: conf/fabrikam.ldif)"]))
	person(out, f, dict(alias="frank", name=("Frank", "Fisher"), contact=True,
		mail="frank@partner.example", target="SMTP:frank@partner.example",
		rtd=RTD_MAIL_CONTACT, rdt=RDT_REMOTE_MAIL_USER,
		comment=["custom recipient (mail contact): targetAddress, no mailbox, no account"]))
	# Seed 000's story: the disabled account's mailbox is used by a delegate (Alice has full
	# mailbox access), but nobody holds the associated external account right and there is
	# no msExchMasterAccountSid, so nobody can log on until `mbxctl mailbox associate-self
	# gina` makes SELF the master account; then Alice can open the mailbox.
	gina_sd = security_descriptor(SID_SELF, [
		ace_allowed(dom + "-1101", RIGHT_FULL_ACCESS),  # alice
	])
	mbx("gina", "Gina", "Gray", 1106, "DB01", "gina-Secret1", "SSHA",
		["disabled account with a mailbox on DB01 and no msExchMasterAccountSid",
		"(userAccountControl 514, msExchUserAccountControl 2; seed 000); mailbox rights:",
		"Alice FullAccess (the delegate), nobody the associated external account"],
		disabled=True, sd=gina_sd)

	room_sd = security_descriptor(SID_SELF, [
		ace_allowed(SID_SELF, RIGHT_FULL_ACCESS | RIGHT_EXTERNAL_ACCOUNT),
		ace_allowed(dom + "-1101", RIGHT_FULL_ACCESS),  # alice
		ace_allowed(dom + "-1201", RIGHT_FULL_ACCESS),  # Room Delegates
		ace_allowed(dom + "-1102", RIGHT_SEND_AS),  # bob: Send As only
	])
	person(out, f, dict(alias="room1", name=("Conference", "Room 1"), cn="Conference Room 1",
		rid=1107, db="DB01", mail="room1@contoso.com", disabled=True, master_sid=SID_SELF,
		rtd=RTD_ROOM_MAILBOX, rdt=RDT_CONFERENCE_ROOM_MAILBOX, mailbox_guid="room1",
		sd=room_sd,
		comment=["disabled resource mailbox on DB01, msExchMasterAccountSid SELF S-1-5-10;",
			"mailbox rights: SELF FullAccess+ExternalAccount, Alice FullAccess,",
			"Room Delegates FullAccess, Bob SendAs only; no password (cannot bind)"]))
	mbx("ivan", "Ivan", "Ives", 1108, "DB01", "ivan-Secret1", "SSHA512",
		["normal mailbox on DB01; member of Helpdesk, which is a member of Room Delegates"],
		member_of=[helpdesk])
	group(out, f, helpdesk, "Helpdesk", dom + "-1200",
		GROUP_ACCOUNT | GROUP_SECURITY_ENABLED, [ivan], member_of=[delegates],
		comment=["ordinary global security group; member of Room Delegates (nesting)"])
	group(out, f, delegates, "Room Delegates", dom + "-1201",
		GROUP_ACCOUNT | GROUP_SECURITY_ENABLED, [helpdesk],
		comment=["ordinary global security group, FullAccess on room1's mailbox"])
	group(out, f, rdu_parent, "Remote Desktop Users", SID_REMOTE_DESKTOP_USERS,
		GROUP_BUILTIN_LOCAL | GROUP_RESOURCE | GROUP_SECURITY_ENABLED, [henry],
		comment=["BUILTIN\\Remote Desktop Users of contoso.com: S-1-5-32-555, same SID",
			"as the group of the same name in child.contoso.com (seed 002)"])
	group(out, f, rdu_child, "Remote Desktop Users", SID_REMOTE_DESKTOP_USERS,
		GROUP_BUILTIN_LOCAL | GROUP_RESOURCE | GROUP_SECURITY_ENABLED, [henry],
		comment=["BUILTIN\\Remote Desktop Users of child.contoso.com: S-1-5-32-555"])
	mbx("henry", "Henry", "Hill", 1101, "DB01", "henry-Secret1", "CRYPT",
		["child-domain user with a mailbox on DB01, member of BUILTIN\\Remote Desktop",
		"Users of both domains (seed 002)"],
		domain="child.contoso.com", domain_base=child_base,
		member_of=[rdu_parent, rdu_child])
	return out.text()


def fabrikam():
	f = Forest("Fabrikam", "fabrikam.com", "dc=fabrikam,dc=com")
	out = Ldif([h % ("fabrikam.ldif", "Fabrikam") if i == 0 else h
		for i, h in enumerate(HEADER)])
	domain_entries(out, f, f.base, "fabrikam", "fabrikam.com",
		["Forest root domain fabrikam.com (the foreign forest)"])
	exchange_config(out, f, [("SERVER3", "server3.fabrikam.com")], [("DB10", "SERVER3")])
	person(out, f, dict(alias="mbxstored", cn="mbxstored", name=("mbxstored", "mbxstored"),
		display="mbxstored service account", rid=1100, uac_extra=UF_DONT_EXPIRE_PASSWD,
		recipient=False, password=("mbxstored-Fabrikam1", "SSHA512"),
		comment=["Service account the daemon binds as (read access to everything)"]))
	person(out, f, dict(alias="erin", name=("Erin", "Evans"), rid=1101, db="DB10",
		mail="erin@fabrikam.com", more_smtp=["erin@contoso.com"],
		more_proxies=["X500:" + Forest("Contoso", "", "").recipient_legdn("erin")],
		rtd=RTD_USER_MAILBOX, rdt=RDT_ACLABLE_MAILBOX_USER, mailbox_guid="erin",
		password=("erin-Fabrikam1", "SSHA"),
		comment=["Erin Evans after her move from Contoso: mailbox on DB10 (SERVER3), same",
			"msExchMailboxGuid, her old Contoso legacyExchangeDN kept as an X500",
			"proxy"]))
	return out.text()


# --- schema, cn=config form -------------------------------------------------------------------


def schema_definitions(text):
	"""(keyword, definition) for each attributetype/objectclass of a slapd.conf schema file,
	with continuation lines joined and runs of blanks outside quotes made one space."""
	defs = []
	for line in text.splitlines():
		if not line.strip() or line.lstrip().startswith("#"):
			continue
		if line[0] in " \t":
			if not defs:
				raise ValueError("continuation line before any definition: " + line)
			defs[-1][1].append(line.strip())
			continue
		word, _, rest = line.partition(" ")
		if word.lower() not in ("attributetype", "objectclass"):
			raise ValueError("unsupported schema line: " + line)
		defs.append((word.lower(), [rest.strip()]))
	out = []
	for word, parts in defs:
		joined, quoted, prev = [], False, ""
		for ch in " ".join(parts):
			if ch == "'":
				quoted = not quoted
			if ch in " \t" and not quoted:
				if prev == " ":
					continue
				ch = " "
			joined.append(ch)
			prev = ch
		out.append((word, "".join(joined).strip()))
	return out


def ldif_fold(attr, value, width=78):
	"""attr: value folded at spaces (continuation lines start with one space, then the
	value's own space), as in the schema LDIF files OpenLDAP ships."""
	lines = []
	cur = attr + ":"
	for tok in value.split(" "):
		if len(cur) + 1 + len(tok) <= width or cur == attr + ":":
			cur += " " + tok
		else:
			lines.append(cur)
			cur = "  " + tok
	lines.append(cur)
	return lines


def schema_ldif(text):
	lines = [
		"# mbxstore.ldif: the mbxstore schema in cn=config form (for slapd -F or",
		"# ldapadd into cn=schema,cn=config), the same definitions as mbxstore.schema",
		"# beside it. GENERATED from mbxstore.schema by tools/gen-directory.py: edit the",
		"# .schema file, not this one.",
		"# Load core, cosine and inetorgperson first. docs/directory.md has the sources.",
		"dn: cn=mbxstore,cn=schema,cn=config",
		"objectClass: olcSchemaConfig",
		"cn: mbxstore",
	]
	for word, d in schema_definitions(text):
		attr = "olcAttributeTypes" if word == "attributetype" else "olcObjectClasses"
		lines += ldif_fold(attr, d)
	return "\n".join(lines) + "\n"


def main():
	root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
	with open(os.path.join(root, "conf", "schema", "mbxstore.schema"), encoding="utf-8") as fp:
		schema = fp.read()
	files = {os.path.join(root, "conf", "directory.ldif"): contoso(),
		os.path.join(root, "conf", "fabrikam.ldif"): fabrikam(),
		os.path.join(root, "conf", "schema", "mbxstore.ldif"): schema_ldif(schema)}
	args = sys.argv[1:]
	if args == ["--facts"]:
		for org, alias, dn, sid, (pw, scheme), what in FACTS:
			row = (org, alias, sid, scheme, pw, what)
			print("| %s | %s | `%s` | %s | %s | %s |" % row)
		return 0
	if args == ["--check"]:
		bad = 0
		for path, text in files.items():
			try:
				with open(path, encoding="utf-8") as fp:
					old = fp.read()
			except OSError as e:
				print("%s: %s" % (path, e), file=sys.stderr)
				bad = 1
				continue
			if old != text:
				bad = 1
				sys.stderr.writelines(difflib.unified_diff(old.splitlines(True),
					text.splitlines(True), path, "generated", n=1))
		return bad
	if args:
		print(__doc__ if __doc__ else "usage: gen-directory.py [--check|--facts]",
			file=sys.stderr)
		return 2
	for path, text in files.items():
		with open(path, "w", encoding="utf-8") as fp:
			fp.write(text)
	return 0


if __name__ == "__main__":
	sys.exit(main())
