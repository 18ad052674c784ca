/*
 * mailbox-store.c: the fixed store facts of a mailbox (MS-OXCSTOR 2.2.1.1.3 and 2.2.1.1.4;
 * protocol.md 2.1, 2.2 and 2.6): the special folders and their FIDs, MailboxGuid, ReplGuid and
 * ReplId, the receive folder table (MS-OXCSTOR 3.2.5.2). The store holds no messages, so these
 * facts are all there is, and every one of them is derived from the directory snapshot alone.
 *
 * Why ReplGuid is derived from MailboxGuid: Outlook caches the mapping signature (REPLID /
 * REPLGUID), the root FID and the MailboxGuid, and asks the user to restart when one of them
 * changes after a reconnect (protocol.md 2.6). A database move on the same server changes
 * homeMDB and nothing else the client may see, so nothing here reads homeMDB, the database or
 * the server: MailboxGuid is msExchMailboxGuid (a move keeps it), ReplGuid a name-based GUID
 * (RFC 4122 section 4.3, version 5) of the MailboxGuid, ReplId a constant, and the FIDs
 * constants on that ReplId. ReplGuid is not the MailboxGuid itself: the two name different
 * things (the mailbox; the origin of its IDs and named-property mappings, MS-OXCSTOR
 * 2.2.1.1.3), so they are kept distinct, and a client or test that mixes them up is caught.
 */
#include "mbx/store-rops.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

/* Private folders, by index; MBX_FOLDER_* (oxcstor.h) order with the GLOBCNTs of protocol.md
 * 2.1. The root's children are the non-IPM folders and the IPM subtree; the IPM subtree's are
 * the four mail folders. */
static const struct mbx_store_folder private_folders[MBX_LOGON_NFIDS] = {
        [MBX_FOLDER_ROOT] = {0x01, "Root Container", -1, NULL, 0},
        [MBX_FOLDER_DEFERRED_ACTION] = {0x02, "Deferred Action", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_SPOOLER_QUEUE] = {0x03, "Spooler Queue", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_IPM_SUBTREE] = {0x09, "Top of Information Store", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_INBOX] = {0x0d, "Inbox", MBX_FOLDER_IPM_SUBTREE, "IPF.Note", 1},
        [MBX_FOLDER_OUTBOX] = {0x0c, "Outbox", MBX_FOLDER_IPM_SUBTREE, "IPF.Note", 1},
        [MBX_FOLDER_SENT_ITEMS] = {0x0a, "Sent Items", MBX_FOLDER_IPM_SUBTREE, "IPF.Note", 1},
        [MBX_FOLDER_DELETED_ITEMS] = {0x0b, "Deleted Items", MBX_FOLDER_IPM_SUBTREE, "IPF.Note", 1},
        [MBX_FOLDER_COMMON_VIEWS] = {0x07, "Common Views", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_SCHEDULE] = {0x08, "Schedule", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_SEARCH] = {0x05, "Finder", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_VIEWS] = {0x06, "Views", MBX_FOLDER_ROOT, NULL, 1},
        [MBX_FOLDER_SHORTCUTS] = {0x04, "Shortcuts", MBX_FOLDER_ROOT, NULL, 1},
};

/* Public folders: the four that Exchange 2013 and later fill in (protocol.md 2.2). */
static const struct mbx_store_folder public_folders[] = {
        {0x01, "Root Container", -1, NULL, 0},
        {0x02, "IPM_SUBTREE", 0, NULL, 1},
        {0x03, "NON_IPM_SUBTREE", 0, NULL, 1},
        {0x04, "EFORMS REGISTRY", 2, NULL, 1},
};
#define NPUBLIC (sizeof(public_folders) / sizeof(public_folders[0]))

/* The receive folder table of every private mailbox (what Exchange configures at creation). */
static const struct {
	const char *msg_class;
	int folder;
} receive_folders[] = {
        {"", MBX_FOLDER_INBOX},
        {"IPM", MBX_FOLDER_INBOX},
        {"REPORT.IPM", MBX_FOLDER_INBOX},
        {"IPC", MBX_FOLDER_ROOT},
};

/* --- name-based GUIDs --------------------------------------------------------------------- */

/* RFC 4122 byte order (fields big-endian) <-> Windows wire order (Data1..3 little-endian):
 * the same swap both ways. */
static void guid_swap_fields(uint8_t b[16])
{
	uint8_t t;

	t = b[0], b[0] = b[3], b[3] = t;
	t = b[1], b[1] = b[2], b[2] = t;
	t = b[4], b[4] = b[5], b[5] = t;
	t = b[6], b[6] = b[7], b[7] = t;
}

void mbx_mailbox_store_guid5(const void *name, size_t len, struct mbx_guid *guid_r)
{
	/* Every RopLogon derives one: the namespace's bytes and the SHA-1 implementation are
	 * looked up once (an EVP_sha1() fetch and the GUID parse cost ~3,500 instructions a call;
	 * the daemon is single-threaded, and a race would only redo the same work). */
	static struct mbx_guid ns;
	static bool ns_ready;
	static EVP_MD *sha1;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ns_ready) {
		/* The namespace is a constant string: parsing it cannot fail. */
		(void)mbx_guid_from_str(MBX_STORE_GUID_NAMESPACE, &ns);
		guid_swap_fields(ns.b);
		ns_ready = true;
	}
	if (sha1 == NULL)
		sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	ok = ctx != NULL && sha1 != NULL && EVP_DigestInit_ex(ctx, sha1, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, ns.b, sizeof(ns.b)) == 1 &&
	     EVP_DigestUpdate(ctx, name, len) == 1 && EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 &&
	     dlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		/* SHA-1 unavailable (a FIPS-only provider) or out of memory: a GUID of zero would
		 * collide for every mailbox; a fixed fold of the name is deterministic at least. */
		const uint8_t *p = name;

		memset(digest, 0, 16);
		for (size_t i = 0; i < len; i++)
			digest[i % 16] = (uint8_t)(digest[i % 16] * 31u + p[i] + 1u);
	}
	memcpy(guid_r->b, digest, 16);
	guid_r->b[6] = (uint8_t)((guid_r->b[6] & 0x0F) | 0x50); /* version 5 */
	guid_r->b[8] = (uint8_t)((guid_r->b[8] & 0x3F) | 0x80); /* variant 10b */
	guid_swap_fields(guid_r->b);
}

void mbx_mailbox_store_repl_guid(const struct mbx_guid *mailbox_guid, struct mbx_guid *guid_r)
{
	mbx_mailbox_store_guid5(mailbox_guid->b, sizeof(mailbox_guid->b), guid_r);
}

/* --- the stores --------------------------------------------------------------------------- */

int mbx_mailbox_store_private(const struct mbx_mailbox *mbx, struct mbx_mailbox_store *st_r)
{
	memset(st_r, 0, sizeof(*st_r));
	if (mbx == NULL || !mbx->has_mailbox_guid)
		return -1;
	st_r->kind = MBX_STORE_PRIVATE;
	st_r->mailbox_guid = mbx->mailbox_guid;
	mbx_mailbox_store_repl_guid(&mbx->mailbox_guid, &st_r->repl_guid);
	st_r->replid = MBX_STORE_REPLID;
	st_r->folders = private_folders;
	st_r->nfolders = MBX_LOGON_NFIDS;
	for (size_t i = 0; i < MBX_LOGON_NFIDS; i++)
		st_r->fids[i] = mbx_fid_make(MBX_STORE_REPLID, private_folders[i].globcnt);
	return 0;
}

void mbx_mailbox_store_public(const struct mbx_server_identity *id, struct mbx_mailbox_store *st_r)
{
	char name[600];
	size_t n = 0;
	const char *dn = id != NULL && id->legacy_dn != NULL ? id->legacy_dn : "";

	memset(st_r, 0, sizeof(*st_r));
	st_r->kind = MBX_STORE_PUBLIC;
	memcpy(name, "public:", 7);
	n = 7;
	/* A legacyExchangeDN longer than the buffer is hashed by its first 592 bytes: still
	 * deterministic per server. */
	for (size_t i = 0; dn[i] != '\0' && n < sizeof(name); i++)
		name[n++] = (char)tolower((unsigned char)dn[i]);
	mbx_mailbox_store_guid5(name, n, &st_r->repl_guid);
	st_r->replid = MBX_STORE_REPLID;
	st_r->folders = public_folders;
	st_r->nfolders = NPUBLIC;
	for (size_t i = 0; i < NPUBLIC; i++)
		st_r->fids[i] = mbx_fid_make(MBX_STORE_REPLID, public_folders[i].globcnt);
}

int mbx_mailbox_store_folder(const struct mbx_mailbox_store *st, struct mbx_fid fid)
{
	if (fid.replid != st->replid)
		return -1;
	for (size_t i = 0; i < st->nfolders; i++)
		if (st->folders[i].globcnt == fid.globcnt)
			return (int)i;
	return -1;
}

struct mbx_fid mbx_mailbox_store_fid(const struct mbx_mailbox_store *st, size_t i)
{
	return mbx_fid_make(st->replid, st->folders[i].globcnt);
}

uint32_t mbx_mailbox_store_child_count(const struct mbx_mailbox_store *st, size_t i)
{
	uint32_t n = 0;

	for (size_t k = 0; k < st->nfolders; k++)
		if (st->folders[k].parent == (int)i)
			n++;
	return n;
}

uint32_t mbx_mailbox_store_content_count(const struct mbx_mailbox_store *st, size_t i)
{
	(void)st;
	(void)i;
	return 0;
}

uint32_t mbx_mailbox_store_unread_count(const struct mbx_mailbox_store *st, size_t i)
{
	(void)st;
	(void)i;
	return 0;
}

/* --- receive folders ---------------------------------------------------------------------- */

bool mbx_mailbox_store_class_valid(const char *c)
{
	size_t n = strlen(c);

	if (n > 254)
		return false;
	if (n > 0 && (c[0] == '.' || c[n - 1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)c[i] < 32 || (unsigned char)c[i] > 126)
			return false;
		if (c[i] == '.' && c[i + 1] == '.')
			return false;
	}
	return true;
}

/* Whether configured class cfg covers msg_class: equal, or a prefix followed by '.'; "" covers
 * everything. */
static bool class_covers(const char *cfg, const char *msg_class)
{
	size_t n = strlen(cfg);

	if (n == 0)
		return true;
	if (strncasecmp(cfg, msg_class, n) != 0)
		return false;
	return msg_class[n] == '\0' || msg_class[n] == '.';
}

int mbx_mailbox_store_receive_folder(const struct mbx_mailbox_store *st, const char *msg_class,
                                     const char **explicit_r)
{
	int best = -1;
	size_t best_len = 0;

	if (st->kind != MBX_STORE_PRIVATE)
		return -1;
	for (size_t i = 0; i < sizeof(receive_folders) / sizeof(receive_folders[0]); i++) {
		size_t n = strlen(receive_folders[i].msg_class);

		if (class_covers(receive_folders[i].msg_class, msg_class) &&
		    (best < 0 || n > best_len)) {
			best = (int)i;
			best_len = n;
		}
	}
	/* "" covers everything, so best is set */
	*explicit_r = receive_folders[best].msg_class;
	return receive_folders[best].folder;
}
