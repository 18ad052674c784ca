/*
 * dir-ldif-int.h: the private structures of the embedded `ldif` directory backend and the
 * functions its files share (design.md "Directory backends"). Only src/directory/dir-ldif*.c
 * include it; the rest of the daemon sees dir-ldif.h.
 *
 *   dir-ldif.c        the backend operations, requests, change notifications
 *   dir-ldif-entry.c  comparing entries and values, applying a modification to an entry
 *   dir-ldif-index.c  the in-memory directory: entries in file order and their hash indexes
 *   dir-ldif-load.c   reading and checking the LDIF file, building the entries
 *   dir-ldif-write.c  writing the entries back to the file, atomically
 */
#ifndef MBX_DIR_LDIF_INT_H
#define MBX_DIR_LDIF_INT_H

#include "directory/dir-ldif.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <event2/event.h>

enum dl_ix {
	DL_IX_DN,
	DL_IX_LEGACY,
	DL_IX_SMTP,
	DL_IX_LOGIN,
	DL_IX_SID,
	DL_IX_MEMBER,
	DL_IX_COUNT,
};

/* One key of one entry in one index. The nodes of an entry are also chained together
 * (enext), so an entry can be taken out of every index and put back. */
struct dl_node {
	struct dl_node *next, **pprev; /* bucket chain */
	struct dl_node *enext;         /* the entry's other nodes */
	uint64_t hash;
	size_t idx; /* position of the entry */
	enum dl_ix ix;
	size_t keylen;
	uint8_t key[]; /* folded key bytes */
};

struct dl_index {
	struct dl_node **buckets;
	size_t nbuckets, count;
};

struct dl_db {
	struct mbx_dir_entry **ents; /* file order */
	struct dl_node **enodes;     /* per entry: its index nodes */
	unsigned long *lines;        /* per entry: first line in the file (for messages) */
	size_t nents, cap;
	struct dl_index ix[DL_IX_COUNT];
};

struct dl_change {
	struct dl_change *next;
	char *dn, *legacy;
};

struct dir_ldif_req {
	struct mbx_dir_req head;
	struct dir_ldif *dl;
	struct dir_ldif_req *prev, *next;
	struct event *ev;
	mbx_dir_cb *cb;
	void *ctx;
	struct mbx_dir_result res;
	char *message, *server;
	bool flush_changes; /* deliver pending change notifications first (modify) */
	bool firing;
};

struct dir_ldif {
	struct mbx_dir head;
	char *path;
	struct dl_db *db;
	struct stat st; /* of the file as loaded or last written */
	struct dir_ldif_req *reqs;
	struct dl_change *changes, **changes_tail;
	struct event *change_ev;
};

/* --- dir-ldif-entry.c -------------------------------------------------------------------- */

/* 1 if two of the n values are byte-equal, 0 if not, -1 without memory. */
int dir_ldif_entry_values_have_dup(const struct mbx_dir_value *vals, size_t n);
/* Same DN spelling and same attributes with the same values (attribute and value order do
 * not matter; values compare bytewise). Without memory, "different". */
bool dir_ldif_entry_same(const struct mbx_dir_entry *a, const struct mbx_dir_entry *b);
/* The entry's legacyExchangeDN, or NULL. */
const char *dir_ldif_entry_legacy(const struct mbx_dir_entry *e);
/* A malloc'ed copy of len bytes with a NUL after them (NULL without memory). */
uint8_t *dir_ldif_entry_memdup0(const void *p, size_t len);
/* An attribute description as RFC 4512 allows it: a name or an OID, options after ';'. */
bool dir_ldif_entry_attr_name_ok(const char *s, size_t len);
/* Applies one modification to e (a private copy: on failure the caller drops it). -1 with
 * err set if the modification is invalid or does not apply, or without memory. */
int dir_ldif_entry_apply_mod(struct mbx_dir_entry *e, const struct mbx_dir_mod *m, char *err,
                             size_t errsize);

/* --- dir-ldif-index.c -------------------------------------------------------------------- */

/* An empty directory (NULL without memory), and freeing one (NULL-safe). */
struct dl_db *dir_ldif_index_db_new(void);
void dir_ldif_index_db_free(struct dl_db *db);
/* Appends entry e (taking it) found at line; indexes it. -1 with err set on a duplicate DN, a
 * DN or member value that is not a DN, or without memory (e is freed then too). */
int dir_ldif_index_db_append(struct dl_db *db, struct mbx_dir_entry *e, unsigned long line,
                             char *err, size_t errsize);
/* Position of the entry with this DN, or -1 if none; -2 if dn is not a DN, -3 without
 * memory. */
long dir_ldif_index_db_find_dn(const struct dl_db *db, const char *dn, size_t len);
/* Puts an entry's index nodes (a list from dir_ldif_index_entry_nodes) into the indexes, or
 * takes them out. */
void dir_ldif_index_db_link(struct dl_db *db, struct dl_node *list);
void dir_ldif_index_db_unlink(struct dl_db *db, struct dl_node *list);
/* Builds the (unlinked) index nodes of entry e at position idx. Fails on memory or when the
 * DN or a member value is not a DN. */
int dir_ldif_index_entry_nodes(const struct mbx_dir_entry *e, size_t idx, struct dl_node **list_r,
                               char *err, size_t errsize);
/* One index node (the key folded to lower case if fold), and freeing a list of them. */
struct dl_node *dir_ldif_index_node_new(enum dl_ix ix, size_t idx, const uint8_t *key, size_t len,
                                        bool fold);
void dir_ldif_index_nodes_free(struct dl_node *n);
/* Positions of the entries holding key, sorted, without repeats. Returns the count, or
 * (size_t)-1 without memory. */
size_t dir_ldif_index_find(const struct dl_index *t, const uint8_t *key, size_t len,
                           size_t **idx_r);

/* --- dir-ldif-load.c --------------------------------------------------------------------- */

/* Reads and indexes dl->path; *st gets the file's identity. NULL with "FILE:LINE: what" (or
 * "FILE: what") in err. */
struct dl_db *dir_ldif_load(struct dir_ldif *dl, struct stat *st, char *err, size_t errsize);

/* --- dir-ldif-write.c -------------------------------------------------------------------- */

/* Writes db over dl->path (temporary file, fsync, rename, fsync of the folder; a symbolic
 * link is followed) and updates dl->st. -1 with err set if the file changed on disk since it
 * was loaded or cannot be written: then it is as it was. */
int dir_ldif_write(struct dir_ldif *dl, const struct dl_db *db, char *err, size_t errsize);

#endif
