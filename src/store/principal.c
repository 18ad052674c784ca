/*
 * principal.c: the authenticated principal's token and the owners of its SIDs, for
 * authorization (design.md "The mailbox-state table and the logon decision", protocol.md 8.6,
 * seed 002 / KB 870585 for well-known SIDs). The contract is in include/mbx/principal.h; this
 * file holds the tokens and the fetch (principal-int.h), principal-cache.c the resolver's
 * requests and its cache.
 *
 * A fetch walks the group graph breadth-first, one level at a time: every lookup of level k
 * (MBX_DIR_BY_MEMBER of the DNs found at level k - 1) ends before level k + 1 starts, so a
 * group is always recorded at its nearest level and the depth bound means the same thing
 * whatever order the directory answers in. DNs already seen are skipped (cycles). After the
 * last level one more round of lookups only tells whether nesting goes deeper
 * (depth_exceeded). Then every SID of the token that is not well-known is looked up with
 * MBX_DIR_BY_SID. At most max_inflight lookups run at a time.
 */
#include "mbx/principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/mailbox.h"
#include "store/principal-int.h"

enum pr_phase {
	PR_SELF,   /* reading the principal's entry */
	PR_GROUPS, /* BY_MEMBER, level by level */
	PR_OWNERS, /* BY_SID for each SID of the token */
	PR_SINGLE, /* mbx_principal_sid_owners */
};

/* A group one member lookup found (merged at the end of the level, in frontier order, so the
 * token does not depend on the order the directory answers in). */
struct pr_group {
	char *dn;
	bool has_sid;
	struct mbx_sid sid;
};

struct pr_found {
	struct pr_group *g;
	size_t n;
};

struct pr_op {
	struct pr_op *next; /* in req->ops */
	struct pr_fetch *req;
	struct mbx_dir_req *dreq;
	size_t index; /* frontier index (groups) or owners index */
};

struct pr_fetch {
	struct pr_fetch *prev, *next; /* in r->fetches */
	struct mbx_principal_resolver *r;
	enum pr_phase phase;
	pr_fetch_done_fn *done;
	mbx_principal_owners_cb *owners_cb;
	void *ctx;
	struct mbx_principal *p;

	/* groups: the DNs whose groups are looked up at this level, what each lookup found */
	unsigned level;
	char **frontier;
	size_t nfrontier, capfrontier;
	struct pr_found *found; /* [nfrontier] */
	size_t capgroup_dns;    /* of p->group_dns */
	/* DNs seen (the principal and every group), for cycles; the strings are the token's */
	char **seen;
	size_t nseen, capseen;
	size_t cursor; /* next frontier / owners index to start */

	struct pr_op *ops;
	unsigned inflight;

	/* PR_SINGLE */
	struct mbx_principal_owners single;
	void *defer;
};

/* --- results ------------------------------------------------------------------------------ */

static void pr_owners_clear(struct mbx_principal_owners *o)
{
	for (size_t i = 0; i < o->ndns; i++)
		free(o->dns[i]);
	free(o->dns);
	o->dns = NULL;
	o->ndns = 0;
}

void mbx_principal_free(struct mbx_principal **pp)
{
	struct mbx_principal *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	free(p->dn);
	free(p->groups);
	for (size_t i = 0; i < p->ngroup_dns; i++)
		free(p->group_dns[i]);
	free(p->group_dns);
	for (size_t i = 0; i < p->nowners; i++)
		pr_owners_clear(&p->owners[i]);
	free(p->owners);
	free(p->resolved);
	free(p);
	*pp = NULL;
}

/* Points resolved[i] at owners[i] (mbx_authz_check's view of the owners). */
void pr_link_resolved(struct mbx_principal *p)
{
	for (size_t i = 0; i < p->nowners && i < p->nresolved; i++) {
		p->resolved[i].sid = p->owners[i].sid;
		p->resolved[i].dns = (const char *const *)p->owners[i].dns;
		p->resolved[i].ndns = p->owners[i].ndns;
	}
}

void mbx_principal_authz(const struct mbx_principal *p, const char *name,
                         struct mbx_authz_principal *ap_r)
{
	memset(ap_r, 0, sizeof(*ap_r));
	ap_r->name = name;
	if (p == NULL)
		return;
	ap_r->sid = p->has_sid ? &p->sid : NULL;
	ap_r->groups = p->groups;
	ap_r->ngroups = p->ngroups;
	ap_r->resolved = p->resolved;
	ap_r->nresolved = p->nresolved;
}

/* --- helpers ------------------------------------------------------------------------------ */

/* Appends s to the string vector *v (n used, cap allocated). */
static bool pr_push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n == *cap) {
		size_t nc = *cap != 0 ? *cap * 2 : 8;
		char **b = realloc(*v, nc * sizeof(*b));

		if (b == NULL)
			return false;
		*v = b;
		*cap = nc;
	}
	(*v)[(*n)++] = s;
	return true;
}

/* An objectSid value: binary (MS-DTYP 2.4.2.2, what AD stores) or the "S-1-..." string form of
 * hand-written directories (a binary SID starts with revision byte 1, never 'S'). Returns 1,
 * 0 when absent, -1 when it does not decode or has several values. */
int pr_entry_sid(const struct mbx_dir_entry *e, struct mbx_sid *sid_r)
{
	const struct mbx_dir_attr *a = mbx_dir_entry_attr(e, "objectSid");
	const struct mbx_dir_value *v;

	memset(sid_r, 0, sizeof(*sid_r));
	if (a == NULL || a->nvals == 0)
		return 0;
	if (a->nvals != 1)
		return -1;
	v = &a->vals[0];
	if (v->len > 0 && (v->data[0] == 'S' || v->data[0] == 's')) {
		if (memchr(v->data, '\0', v->len) != NULL)
			return -1;
		return mbx_sid_from_str((const char *)v->data, sid_r) == 0 ? 1 : -1;
	}
	return mbx_sid_from_bytes(v->data, v->len, sid_r) == 0 ? 1 : -1;
}

static bool pr_seen(const struct pr_fetch *q, const char *dn)
{
	for (size_t i = 0; i < q->nseen; i++) {
		if (mbx_mailbox_dn_equal(q->seen[i], dn))
			return true;
	}
	return false;
}

static unsigned pr_max_inflight(const struct mbx_principal_resolver *r)
{
	return r->cfg.max_inflight != 0 ? r->cfg.max_inflight : MBX_PRINCIPAL_MAX_INFLIGHT;
}

static size_t pr_max_groups(const struct mbx_principal_resolver *r)
{
	return r->cfg.max_groups != 0 ? r->cfg.max_groups : MBX_PRINCIPAL_MAX_GROUPS;
}

/* The name a well-known SID resolves to (the table's, else its string form). */
static int pr_wellknown(struct mbx_principal_owners *o)
{
	const char *name = mbx_sid_wellknown_name(&o->sid);
	char buf[MBX_SID_STRMAX];

	o->wellknown = true;
	if (name == NULL)
		name = mbx_sid_to_str(&o->sid, buf, sizeof(buf));
	o->dns = calloc(1, sizeof(*o->dns));
	if (o->dns == NULL || (o->dns[0] = strdup(name)) == NULL) {
		free(o->dns);
		o->dns = NULL;
		return -1;
	}
	o->ndns = 1;
	return 0;
}

/* --- request life ------------------------------------------------------------------------- */

static void pr_req_unlink(struct pr_fetch *q)
{
	struct mbx_principal_resolver *r = q->r;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->fetches == q)
		r->fetches = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void pr_cancel_ops(struct pr_fetch *q)
{
	while (q->ops != NULL) {
		struct pr_op *op = q->ops;

		q->ops = op->next;
		if (op->dreq != NULL)
			mbx_dir_cancel(op->dreq);
		free(op);
	}
	q->inflight = 0;
}

static void pr_found_free(struct pr_fetch *q)
{
	for (size_t i = 0; q->found != NULL && i < q->nfrontier; i++) {
		for (size_t j = 0; j < q->found[i].n; j++)
			free(q->found[i].g[j].dn);
		free(q->found[i].g);
	}
	free(q->found);
	q->found = NULL;
}

static void pr_req_free(struct pr_fetch *q)
{
	pr_cancel_ops(q);
	pr_req_unlink(q);
	if (q->defer != NULL)
		q->r->cfg.defer.ops->destroy(q->defer);
	for (size_t i = 0; i < q->nfrontier; i++)
		free(q->frontier[i]);
	free(q->frontier);
	pr_found_free(q);
	free(q->seen); /* the strings are the token's */
	pr_owners_clear(&q->single);
	mbx_principal_free(&q->p);
	free(q);
}

static struct pr_fetch *pr_req_new(struct mbx_principal_resolver *r, enum pr_phase ph, void *ctx)
{
	struct pr_fetch *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->r = r;
	q->phase = ph;
	q->ctx = ctx;
	q->next = r->fetches;
	if (r->fetches != NULL)
		r->fetches->prev = q;
	r->fetches = q;
	return q;
}

/* Ends the request: one callback, then the request is gone. Runs from the event loop. */
static void pr_finish(struct pr_fetch *q, enum mbx_dir_status status, const char *message)
{
	pr_cancel_ops(q);
	pr_req_unlink(q);
	if (q->phase == PR_SINGLE) {
		const struct mbx_principal_owners *o =
		        status == MBX_DIR_FOUND || status == MBX_DIR_NOT_FOUND ? &q->single : NULL;

		q->owners_cb(q->ctx, status, o, message);
	} else {
		struct mbx_principal *p = NULL;

		if (status == MBX_DIR_FOUND) {
			p = q->p;
			q->p = NULL;
		}
		q->done(q->ctx, status, p, message);
	}
	pr_req_free(q);
}

/* --- lookups ------------------------------------------------------------------------------ */

static void pr_op_cb(void *ctx, const struct mbx_dir_result *res);

static int pr_start(struct pr_fetch *q, enum mbx_dir_key kind, const void *key, size_t keylen,
                    size_t index)
{
	struct pr_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return -1;
	op->req = q;
	op->index = index;
	op->dreq = mbx_dir_lookup(q->r->dir, kind, key, keylen, pr_op_cb, op);
	if (op->dreq == NULL) {
		free(op);
		return -1;
	}
	q->r->st.lookups++;
	op->next = q->ops;
	q->ops = op;
	q->inflight++;
	return 0;
}

/* Starts what may start now. -1 when a lookup could not be started. */
static int pr_pump(struct pr_fetch *q)
{
	unsigned max = pr_max_inflight(q->r);

	if (q->phase == PR_GROUPS) {
		while (q->inflight < max && q->cursor < q->nfrontier) {
			const char *dn = q->frontier[q->cursor];

			if (pr_start(q, MBX_DIR_BY_MEMBER, dn, strlen(dn), q->cursor) < 0)
				return -1;
			q->cursor++;
		}
	} else if (q->phase == PR_OWNERS) {
		while (q->inflight < max && q->cursor < q->p->nowners) {
			struct mbx_principal_owners *o = &q->p->owners[q->cursor];
			uint8_t key[MBX_SID_MAX_BYTES];
			struct wr w;

			if (o->wellknown) {
				q->cursor++;
				continue;
			}
			wr_init(&w, key, sizeof(key));
			wr_sid(&w, &o->sid);
			if (!wr_ok(&w) || pr_start(q, MBX_DIR_BY_SID, key, w.len, q->cursor) < 0)
				return -1;
			q->cursor++;
		}
	}
	return 0;
}

/* The token is complete: who holds each of its SIDs. */
static int pr_owners_begin(struct pr_fetch *q)
{
	struct mbx_principal *p = q->p;
	size_t n = p->ngroups + (p->has_sid ? 1 : 0);

	q->phase = PR_OWNERS;
	q->cursor = 0;
	p->owners = calloc(n != 0 ? n : 1, sizeof(*p->owners));
	p->resolved = calloc(n != 0 ? n : 1, sizeof(*p->resolved));
	if (p->owners == NULL || p->resolved == NULL)
		return -1;
	p->nowners = p->nresolved = n;
	for (size_t i = 0; i < n; i++) {
		struct mbx_principal_owners *o = &p->owners[i];

		o->sid = p->has_sid ? (i == 0 ? p->sid : p->groups[i - 1]) : p->groups[i];
		if (mbx_sid_is_wellknown(&o->sid) && pr_wellknown(o) < 0)
			return -1;
	}
	return pr_pump(q);
}

static void pr_done(struct pr_fetch *q)
{
	pr_link_resolved(q->p);
	pr_finish(q, MBX_DIR_FOUND, NULL);
}

/* Starts the member lookups of a new level (frontier set, found empty). */
static int pr_level_begin(struct pr_fetch *q)
{
	q->cursor = 0;
	q->found = calloc(q->nfrontier != 0 ? q->nfrontier : 1, sizeof(*q->found));
	if (q->found == NULL)
		return -1;
	return pr_pump(q);
}

/* Merges what the lookups of this level found into the token, in frontier order; the new
 * groups become the next frontier. */
static int pr_level_merge(struct pr_fetch *q, char ***up_r, size_t *nup_r, size_t *capup_r,
                          char *msg, size_t msgsize)
{
	struct mbx_principal *p = q->p;
	bool probe = q->level > q->r->cfg.group_depth;

	for (size_t i = 0; i < q->nfrontier; i++) {
		for (size_t j = 0; j < q->found[i].n; j++) {
			struct pr_group *g = &q->found[i].g[j];
			bool dup = false;
			char *dn;

			if (pr_seen(q, g->dn))
				continue;
			if (probe) {
				p->depth_exceeded = true;
				continue;
			}
			if (p->ngroup_dns >= pr_max_groups(q->r)) {
				snprintf(msg, msgsize, "more than %zu groups", pr_max_groups(q->r));
				return -1;
			}
			if (!pr_push(&p->group_dns, &p->ngroup_dns, &q->capgroup_dns, g->dn))
				goto oom;
			dn = g->dn;
			g->dn = NULL; /* the token's now */
			if (!pr_push(&q->seen, &q->nseen, &q->capseen, dn))
				goto oom;
			dn = strdup(dn);
			if (dn == NULL || !pr_push(up_r, nup_r, capup_r, dn)) {
				free(dn);
				goto oom;
			}
			if (!g->has_sid)
				continue;
			dup = p->has_sid && mbx_sid_equal(&g->sid, &p->sid);
			for (size_t k = 0; !dup && k < p->ngroups; k++)
				dup = mbx_sid_equal(&g->sid, &p->groups[k]);
			if (!dup) {
				struct mbx_sid *ng =
				        realloc(p->groups, (p->ngroups + 1) * sizeof(*ng));

				if (ng == NULL)
					goto oom;
				p->groups = ng;
				p->groups[p->ngroups++] = g->sid;
			}
		}
	}
	return 0;
oom:
	snprintf(msg, msgsize, "out of memory");
	return -1;
}

/* A level of groups ended: the next one, or the owners. */
static void pr_level_done(struct pr_fetch *q)
{
	char **up = NULL, msg[320];
	size_t nup = 0, capup = 0;
	int rc = pr_level_merge(q, &up, &nup, &capup, msg, sizeof(msg));

	pr_found_free(q);
	for (size_t i = 0; i < q->nfrontier; i++)
		free(q->frontier[i]);
	free(q->frontier);
	q->frontier = up;
	q->nfrontier = nup;
	q->capfrontier = capup;
	if (rc < 0) {
		pr_finish(q, MBX_DIR_ERROR, msg);
		return;
	}
	q->level++;
	if (q->nfrontier == 0 || q->level > q->r->cfg.group_depth + 1) {
		if (pr_owners_begin(q) < 0) {
			pr_finish(q, MBX_DIR_ERROR, "out of memory, or a lookup could not start");
			return;
		}
	} else if (pr_level_begin(q) < 0) {
		pr_finish(q, MBX_DIR_ERROR, "a directory lookup could not be started");
		return;
	}
	if (q->inflight == 0)
		pr_done(q);
}

/* Keeps what one member lookup found (for frontier[index]). */
static int pr_groups_found(struct pr_fetch *q, size_t index, const struct mbx_dir_result *res,
                           char *msg, size_t msgsize)
{
	struct pr_found *f = &q->found[index];

	f->g = calloc(res->nentries != 0 ? res->nentries : 1, sizeof(*f->g));
	if (f->g == NULL)
		goto oom;
	for (size_t i = 0; i < res->nentries; i++) {
		const struct mbx_dir_entry *e = res->entries[i];
		struct pr_group *g = &f->g[f->n];
		int rc;

		if (e == NULL || e->dn == NULL)
			continue;
		rc = pr_entry_sid(e, &g->sid);
		if (rc < 0) {
			snprintf(msg, msgsize, "group %.200s: objectSid does not decode", e->dn);
			return -1;
		}
		g->has_sid = rc > 0;
		g->dn = strdup(e->dn);
		if (g->dn == NULL)
			goto oom;
		f->n++;
	}
	return 0;
oom:
	snprintf(msg, msgsize, "out of memory");
	return -1;
}

static void pr_op_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct pr_op *op = ctx, **pp;
	struct pr_fetch *q = op->req;
	size_t index = op->index;
	char msg[320];

	for (pp = &q->ops; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	}
	free(op);
	q->inflight--;
	if (res->status == MBX_DIR_TEMPFAIL || res->status == MBX_DIR_ERROR) {
		/* Never "no groups" nor "no owner" (seed 004). */
		pr_finish(q, res->status, res->message);
		return;
	}
	switch (q->phase) {
	case PR_SELF: {
		const struct mbx_dir_entry *e;
		char *dn;

		if (res->status == MBX_DIR_NOT_FOUND) {
			pr_finish(q, MBX_DIR_NOT_FOUND, NULL);
			return;
		}
		if (res->nentries != 1 || res->entries[0] == NULL) {
			pr_finish(q, MBX_DIR_ERROR, "several entries for one DN");
			return;
		}
		e = res->entries[0];
		switch (pr_entry_sid(e, &q->p->sid)) {
		case -1:
			pr_finish(q, MBX_DIR_ERROR, "objectSid does not decode");
			return;
		case 1:
			q->p->has_sid = true;
			break;
		}
		free(q->p->dn);
		q->p->dn = strdup(e->dn);
		dn = strdup(e->dn);
		if (q->p->dn == NULL || dn == NULL ||
		    !pr_push(&q->seen, &q->nseen, &q->capseen, q->p->dn) ||
		    !pr_push(&q->frontier, &q->nfrontier, &q->capfrontier, dn)) {
			free(dn);
			pr_finish(q, MBX_DIR_ERROR, "out of memory");
			return;
		}
		q->phase = PR_GROUPS;
		q->level = 1;
		if (pr_level_begin(q) < 0)
			pr_finish(q, MBX_DIR_ERROR, "a directory lookup could not be started");
		return;
	}
	case PR_GROUPS:
		if (res->status == MBX_DIR_FOUND &&
		    pr_groups_found(q, index, res, msg, sizeof(msg)) < 0) {
			pr_finish(q, MBX_DIR_ERROR, msg);
			return;
		}
		break;
	case PR_OWNERS:
	case PR_SINGLE: {
		struct mbx_principal_owners *o =
		        q->phase == PR_SINGLE ? &q->single : &q->p->owners[index];

		if (res->status == MBX_DIR_FOUND && res->nentries > 0) {
			o->dns = calloc(res->nentries, sizeof(*o->dns));
			if (o->dns == NULL) {
				pr_finish(q, MBX_DIR_ERROR, "out of memory");
				return;
			}
			for (size_t i = 0; i < res->nentries; i++) {
				o->dns[i] = strdup(res->entries[i]->dn);
				if (o->dns[i] == NULL) {
					pr_finish(q, MBX_DIR_ERROR, "out of memory");
					return;
				}
				o->ndns = i + 1;
			}
		}
		if (q->phase == PR_SINGLE) {
			pr_finish(q, o->ndns > 0 ? MBX_DIR_FOUND : MBX_DIR_NOT_FOUND, NULL);
			return;
		}
		break;
	}
	}
	if (pr_pump(q) < 0) {
		pr_finish(q, MBX_DIR_ERROR, "a directory lookup could not be started");
		return;
	}
	if (q->inflight > 0)
		return;
	if (q->phase == PR_GROUPS)
		pr_level_done(q);
	else
		pr_done(q);
}

/* --- entry points (principal-int.h) ------------------------------------------------------ */

static struct pr_fetch *pr_token_new(struct mbx_principal_resolver *r, pr_fetch_done_fn *done,
                                     void *ctx)
{
	struct pr_fetch *q = pr_req_new(r, PR_SELF, ctx);

	if (q == NULL)
		return NULL;
	q->done = done;
	q->p = calloc(1, sizeof(*q->p));
	if (q->p == NULL) {
		pr_req_free(q);
		return NULL;
	}
	return q;
}

struct pr_fetch *pr_fetch_dn(struct mbx_principal_resolver *r, const char *dn,
                             pr_fetch_done_fn *done, void *ctx)
{
	struct pr_fetch *q = pr_token_new(r, done, ctx);

	if (q == NULL)
		return NULL;
	if (pr_start(q, MBX_DIR_BY_DN, dn, strlen(dn), 0) < 0) {
		pr_req_free(q);
		return NULL;
	}
	return q;
}

struct pr_fetch *pr_fetch_entry(struct mbx_principal_resolver *r, const struct mbx_dir_entry *e,
                                pr_fetch_done_fn *done, void *ctx)
{
	struct pr_fetch *q = pr_token_new(r, done, ctx);
	char *dn;
	int rc;

	if (q == NULL)
		return NULL;
	rc = pr_entry_sid(e, &q->p->sid);
	q->p->has_sid = rc > 0;
	q->p->dn = strdup(e->dn);
	dn = strdup(e->dn);
	if (rc < 0 || q->p->dn == NULL || dn == NULL ||
	    !pr_push(&q->seen, &q->nseen, &q->capseen, q->p->dn) ||
	    !pr_push(&q->frontier, &q->nfrontier, &q->capfrontier, dn)) {
		free(dn);
		pr_req_free(q);
		return NULL;
	}
	q->phase = PR_GROUPS;
	q->level = 1;
	if (pr_level_begin(q) < 0) {
		pr_req_free(q);
		return NULL;
	}
	return q;
}

int pr_fetch_restart(struct pr_fetch *q, const char *dn)
{
	pr_cancel_ops(q);
	for (size_t i = 0; i < q->nfrontier; i++)
		free(q->frontier[i]);
	free(q->frontier);
	pr_found_free(q);
	free(q->seen);
	q->frontier = q->seen = NULL;
	q->nfrontier = q->capfrontier = q->nseen = q->capseen = 0;
	q->capgroup_dns = 0;
	q->cursor = 0;
	q->level = 0;
	q->phase = PR_SELF;
	mbx_principal_free(&q->p);
	q->p = calloc(1, sizeof(*q->p));
	if (q->p == NULL)
		return -1;
	return pr_start(q, MBX_DIR_BY_DN, dn, strlen(dn), 0);
}

static bool pr_owners_name(const struct mbx_principal_owners *o, const char *dn)
{
	for (size_t i = 0; !o->wellknown && i < o->ndns; i++) {
		if (mbx_mailbox_dn_equal(o->dns[i], dn))
			return true;
	}
	return false;
}

bool pr_fetch_has_read(const struct pr_fetch *q, const char *dn)
{
	if (q->p != NULL && q->p->dn != NULL && mbx_mailbox_dn_equal(q->p->dn, dn))
		return true;
	if (pr_seen(q, dn))
		return true;
	for (size_t i = 0; q->found != NULL && i < q->nfrontier; i++) {
		for (size_t j = 0; j < q->found[i].n; j++) {
			if (q->found[i].g[j].dn != NULL &&
			    mbx_mailbox_dn_equal(q->found[i].g[j].dn, dn))
				return true;
		}
	}
	for (size_t i = 0; q->p != NULL && i < q->p->nowners; i++) {
		if (pr_owners_name(&q->p->owners[i], dn))
			return true;
	}
	return false;
}

void pr_fetch_free(struct pr_fetch *q)
{
	if (q != NULL)
		pr_req_free(q);
}

static void pr_single_defer_cb(void *arg)
{
	pr_finish(arg, MBX_DIR_FOUND, NULL);
}

struct pr_fetch *pr_fetch_owners(struct mbx_principal_resolver *r, const struct mbx_sid *sid,
                                 mbx_principal_owners_cb *cb, void *ctx)
{
	struct pr_fetch *q;
	uint8_t key[MBX_SID_MAX_BYTES];
	struct wr w;

	wr_init(&w, key, sizeof(key));
	wr_sid(&w, sid);
	if (!wr_ok(&w))
		return NULL;
	q = pr_req_new(r, PR_SINGLE, ctx);
	if (q == NULL)
		return NULL;
	q->owners_cb = cb;
	q->single.sid = *sid;
	if (mbx_sid_is_wellknown(sid)) {
		/* From the table, never the directory (seed 002); still from the loop. */
		if (pr_wellknown(&q->single) < 0)
			goto fail;
		q->defer = r->cfg.defer.ops->create(r->cfg.defer.loop, pr_single_defer_cb, q);
		if (q->defer == NULL)
			goto fail;
		r->cfg.defer.ops->schedule(q->defer);
		return q;
	}
	if (pr_start(q, MBX_DIR_BY_SID, key, w.len, 0) < 0)
		goto fail;
	return q;
fail:
	pr_req_free(q);
	return NULL;
}
