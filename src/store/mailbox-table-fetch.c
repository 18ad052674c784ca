/*
 * mailbox-table-fetch.c: the fetch of a mailbox-state table entry (design.md "The
 * mailbox-state table and the logon decision"; lookup chain of protocol.md 8.2): the user by
 * legacyExchangeDN or SMTP address, then its homeMDB (the database), then the database's
 * msExchOwningServer (the server), each an asynchronous directory lookup; the snapshot built
 * from what the chain found (mbx_mailbox_from_entries); the outcome given to the entry and to
 * every waiter of the fetch. An invalidation while the chain runs restarts it at the user
 * (mt_fetch_restart, from mailbox-table.c): what it read may predate the change.
 */
#include "store/mailbox-table-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mt_fetch_lookup_cb(void *ctx, const struct mbx_dir_result *res);

static void mt_fetch_reset(struct mt_fetch *f)
{
	if (f->req != NULL)
		mbx_dir_cancel(f->req);
	f->req = NULL;
	mbx_dir_entry_free(&f->user);
	mbx_dir_entry_free(&f->database);
	f->step = MT_STEP_USER;
}

static int mt_fetch_lookup(struct mt_fetch *f, enum mbx_dir_key kind, const char *key)
{
	f->t->st.lookups++;
	f->req = mbx_dir_lookup(f->t->dir, kind, key, strlen(key), mt_fetch_lookup_cb, f);
	return f->req != NULL ? 0 : -1;
}

/* Starts (or restarts) the chain at the user entry. */
static int mt_fetch_begin(struct mt_fetch *f)
{
	struct mt_entry *e = f->e;

	mt_fetch_reset(f);
	f->t->st.fetches++;
	return mt_fetch_lookup(f, e->kind == MT_KIND_LEGACY ? MBX_DIR_BY_LEGACYDN : MBX_DIR_BY_SMTP,
	                       e->key);
}

void mt_fetch_free(struct mt_fetch *f)
{
	mt_fetch_reset(f);
	mt_list_unlink(&f->link);
	f->t->ninflight--;
	f->e->fetch = NULL;
	free(f);
}

/* A new fetch for e, or NULL when it could not be started. */
struct mt_fetch *mt_fetch_start(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	struct mt_fetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->t = t;
	f->e = e;
	e->fetch = f;
	mt_list_push_back(&t->fetches, &f->link);
	t->ninflight++;
	if (mt_fetch_begin(f) < 0) {
		mt_fetch_free(f);
		return NULL;
	}
	return f;
}

/* The fetch of a pinned entry could not be (re)started from inside a table call: its waiters
 * get ERROR from the next flush. */
static void mt_fetch_fail_waiters_later(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	while (!mt_list_empty(&e->waiters)) {
		struct mbx_mt_wait *w = MT_CONTAINER(e->waiters.next, struct mbx_mt_wait, link);

		mt_list_unlink(&w->link);
		w->state = MT_WAIT_FAILED;
		mt_list_push_back(&t->ready, &w->link);
	}
	mt_schedule(t);
}

/* Restarts the chain of f after its entry was invalidated: what it read may predate the
 * change. If it cannot be restarted, f ends and its waiters get ERROR from the next flush. */
void mt_fetch_restart(struct mt_fetch *f)
{
	struct mbx_mailbox_table *t = f->t;
	struct mt_entry *e = f->e;

	if (mt_fetch_begin(f) < 0) {
		mt_fetch_free(f);
		mt_fetch_fail_waiters_later(t, e);
	}
}

/*
 * The fetch of e ended: the entry learns the outcome, then every waiter of the fetch is called
 * back. Runs from the directory's callback (the event loop). mbx (a new snapshot for FOUND) is
 * taken over.
 */
static void mt_fetch_done(struct mt_fetch *f, enum mbx_dir_status status, struct mbx_mailbox *mbx,
                          const char *message)
{
	struct mbx_mailbox_table *t = f->t;
	struct mt_entry *e = f->e;
	uint64_t now = mt_now(t);
	struct mt_snap *deliver = NULL;
	struct mt_list batch;
	bool stale = false;

	mt_fetch_free(f);
	switch (status) {
	case MBX_DIR_FOUND: {
		struct mt_snap *s = calloc(1, sizeof(*s));

		if (s == NULL) {
			mbx_mailbox_free(&mbx);
			mt_entry_forget(t, e);
			status = MBX_DIR_ERROR;
			message = "out of memory";
			t->st.errors++;
			break;
		}
		s->refs = 1;
		s->mbx = mbx;
		s->time_ms = now;
		mt_entry_forget(t, e);
		e->snap = s;
		mt_index_snapshot(t, e);
		deliver = mt_snap_ref(s);
		break;
	}
	case MBX_DIR_NOT_FOUND:
		mt_entry_forget(t, e);
		if (t->cfg.negative_ttl_ms > 0)
			mt_entry_set_negative(t, e, true, now);
		break;
	case MBX_DIR_TEMPFAIL:
		t->st.tempfail++;
		mt_entry_set_negative(t, e, false, 0); /* an expired one: the user may exist now */
		if (e->snap != NULL && mt_age(now, e->snap->time_ms) < t->cfg.stale_max_ms) {
			deliver = mt_snap_ref(e->snap);
			stale = true;
		} else {
			mt_entry_forget(t, e);
		}
		break;
	case MBX_DIR_ERROR:
	default:
		status = MBX_DIR_ERROR;
		t->st.errors++;
		mt_entry_forget(t, e);
		break;
	}

	mt_list_init(&batch);
	mt_list_splice(&batch, &e->waiters);
	for (struct mt_list *l = batch.next; l != &batch; l = l->next) {
		struct mbx_mt_wait *w = MT_CONTAINER(l, struct mbx_mt_wait, link);

		w->state = MT_WAIT_BATCH;
		mt_unpin(w);
	}
	mt_touch(t, e);
	mt_entry_gc(t, e);
	/* From here on e may go away (a callback may invalidate it or evict it). */
	while (!mt_list_empty(&batch)) {
		struct mbx_mt_wait *w = MT_CONTAINER(batch.next, struct mbx_mt_wait, link);

		mt_list_unlink(&w->link);
		if (stale)
			t->st.stale_served++;
		mt_call(w, status, deliver, stale, false, now, message);
	}
	mt_snap_unref(&deliver);
	mt_evict(t);
}

/* Builds the snapshot from what the chain collected (server: the server entry or NULL). */
static void mt_fetch_build(struct mt_fetch *f, const struct mbx_dir_entry *server)
{
	struct mbx_mailbox *m = NULL;
	char err[512];

	if (mbx_mailbox_from_entries(f->user, f->database, server, mt_wall(f->t, mt_now(f->t)), &m,
	                             err, sizeof(err)) < 0) {
		mt_fetch_done(f, MBX_DIR_ERROR, NULL, err);
		return;
	}
	mt_fetch_done(f, MBX_DIR_FOUND, m, NULL);
}

/* One FOUND entry, or an ERROR already reported. */
static const struct mbx_dir_entry *mt_fetch_one(struct mt_fetch *f,
                                                const struct mbx_dir_result *res, const char *what)
{
	char msg[256];

	if (res->nentries == 1 && res->entries != NULL && res->entries[0] != NULL)
		return res->entries[0];
	snprintf(msg, sizeof(msg), "%zu directory objects hold this %s", res->nentries, what);
	mt_fetch_done(f, MBX_DIR_ERROR, NULL, msg);
	return NULL;
}

static void mt_fetch_lookup_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct mt_fetch *f = ctx;
	const struct mbx_dir_entry *ent = NULL;
	const char *next;

	f->req = NULL;
	if (res->status == MBX_DIR_TEMPFAIL || res->status == MBX_DIR_ERROR) {
		mt_fetch_done(f, res->status, NULL, res->message);
		return;
	}
	if (res->status == MBX_DIR_FOUND) {
		static const char *const what[] = {"legacyExchangeDN", "SMTP address",
		                                   "database DN", "server DN"};
		int i = f->step == MT_STEP_USER ? (f->e->kind == MT_KIND_LEGACY ? 0 : 1)
		                                : (f->step == MT_STEP_DATABASE ? 2 : 3);

		ent = mt_fetch_one(f, res, what[i]);
		if (ent == NULL)
			return;
	}
	switch (f->step) {
	case MT_STEP_USER:
		if (ent == NULL) {
			mt_fetch_done(f, MBX_DIR_NOT_FOUND, NULL, NULL);
			return;
		}
		f->user = mbx_dir_entry_dup(ent);
		if (f->user == NULL)
			goto oom;
		next = mbx_dir_entry_str(f->user, "homeMDB");
		if (next == NULL || next[0] == '\0')
			break;
		f->step = MT_STEP_DATABASE;
		if (mt_fetch_lookup(f, MBX_DIR_BY_DN, next) < 0)
			goto nostart;
		return;
	case MT_STEP_DATABASE:
		if (ent == NULL) /* homeMDB names nothing: the builder decides */
			break;
		f->database = mbx_dir_entry_dup(ent);
		if (f->database == NULL)
			goto oom;
		next = mbx_dir_entry_str(f->database, "msExchOwningServer");
		if (next == NULL || next[0] == '\0')
			break;
		f->step = MT_STEP_SERVER;
		if (mt_fetch_lookup(f, MBX_DIR_BY_DN, next) < 0)
			goto nostart;
		return;
	case MT_STEP_SERVER:
		mt_fetch_build(f, ent);
		return;
	}
	mt_fetch_build(f, NULL);
	return;
oom:
	mt_fetch_done(f, MBX_DIR_ERROR, NULL, "out of memory");
	return;
nostart:
	mt_fetch_done(f, MBX_DIR_ERROR, NULL, mt_msg_nostart);
}
