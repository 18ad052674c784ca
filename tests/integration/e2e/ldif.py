# ldif.py: a small LDIF reader (RFC 2849: comments, folded lines, base64 "::" values) for the
# end-to-end tests, so that the expected answers (legacyExchangeDN, msExchMailboxGuid,
# displayName) are read from the same conf/directory.ldif the daemon serves.
import base64


def read(path):
    """Returns a list of entries, each a dict: lower-case attribute name -> list of values
    (str, or bytes for base64 values); the DN is under "dn"."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8").split("\n")
    lines = []
    for line in raw:
        line = line.rstrip("\r")
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    entries = []
    cur = None
    for line in lines:
        if line.startswith("#"):
            continue
        if line == "":
            if cur:
                entries.append(cur)
            cur = None
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        if value.startswith(":"):
            v = base64.b64decode(value[1:].strip())
        else:
            v = value.strip()
        if cur is None:
            cur = {}
        cur.setdefault(name.strip().lower(), []).append(v)
    if cur:
        entries.append(cur)
    return entries


class Directory:
    def __init__(self, path):
        self.entries = read(path)

    def by_alias(self, alias):
        """The entry whose mailNickname is alias (users, contacts)."""
        for e in self.entries:
            if [s.lower() for s in e.get("mailnickname", [])] == [alias.lower()]:
                return e
        raise KeyError(alias)

    def by_cn(self, cn):
        for e in self.entries:
            if cn.lower() in [c.lower() for c in e.get("cn", []) if isinstance(c, str)]:
                return e
        raise KeyError(cn)

    @staticmethod
    def one(entry, attr):
        return entry[attr.lower()][0]
