/*
 * session.c: the store side of one MAPI session context (include/mbx/session.h; design.md "One
 * request, end to end"): the session itself (who it belongs to, its limits, its clock) and its
 * server objects and their handles. The Execute state machine that runs ROPs against them is
 * session-exec.c (session-int.h is what the two share).
 *
 * Objects: a Logon object per active LogonId and the Folder objects opened under it. Handles are
 * a per-session counter from 1, never reused and never 0xFFFFFFFF. Releasing a Logon object
 * releases its folders; a RopLogon that reuses an active LogonId releases the old logon when the
 * new one succeeds. A ROP reaches an object through its input slot and must name the object's
 * LogonId, as the handle spaces of Exchange and gromox are per logon; otherwise ecNullObject.
 */
#include "mbx/session.h"
#include "store/session-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/log.h"
#include "mbx/store-rops.h"

#define SESSION_DEFAULT_OBJECTS 4096

/* --- helpers ------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = true;
	return d;
}

/* A deep copy of a principal's token (the session outlives the caller's). */
static struct mbx_principal *token_dup(const struct mbx_principal *p)
{
	struct mbx_principal *q = calloc(1, sizeof(*q));
	bool fail = false;

	if (q == NULL)
		return NULL;
	q->dn = dup_or_null(p->dn, &fail);
	q->has_sid = p->has_sid;
	q->sid = p->sid;
	q->depth_exceeded = p->depth_exceeded;
	if (p->ngroups > 0) {
		q->groups = calloc(p->ngroups, sizeof(*q->groups));
		if (q->groups == NULL)
			goto fail;
		memcpy(q->groups, p->groups, p->ngroups * sizeof(*q->groups));
		q->ngroups = p->ngroups;
	}
	if (p->ngroup_dns > 0) {
		q->group_dns = calloc(p->ngroup_dns, sizeof(*q->group_dns));
		if (q->group_dns == NULL)
			goto fail;
		q->ngroup_dns = p->ngroup_dns;
		for (size_t i = 0; i < p->ngroup_dns; i++)
			q->group_dns[i] = dup_or_null(p->group_dns[i], &fail);
	}
	if (p->nowners > 0) {
		q->owners = calloc(p->nowners, sizeof(*q->owners));
		q->resolved = calloc(p->nowners, sizeof(*q->resolved));
		if (q->owners == NULL || q->resolved == NULL)
			goto fail;
		q->nowners = q->nresolved = p->nowners;
		for (size_t i = 0; i < p->nowners; i++) {
			struct mbx_principal_owners *o = &q->owners[i];

			o->sid = p->owners[i].sid;
			o->wellknown = p->owners[i].wellknown;
			if (p->owners[i].ndns > 0) {
				o->dns = calloc(p->owners[i].ndns, sizeof(*o->dns));
				if (o->dns == NULL)
					goto fail;
				o->ndns = p->owners[i].ndns;
				for (size_t k = 0; k < o->ndns; k++)
					o->dns[k] = dup_or_null(p->owners[i].dns[k], &fail);
			}
			q->resolved[i].sid = o->sid;
			q->resolved[i].dns = (const char *const *)o->dns;
			q->resolved[i].ndns = o->ndns;
		}
	}
	if (!fail)
		return q;
fail:
	mbx_principal_free(&q);
	return NULL;
}

const char *session_who(const struct mbx_session *s, char *buf, size_t size)
{
	const char *n = s->principal_name != NULL ? s->principal_name : s->principal_dn;

	if (n == NULL)
		return "-";
	return mbx_log_escape(n, strlen(n), buf, size);
}

/* --- the session ---------------------------------------------------------------------------- */

struct mbx_session *mbx_session_new(const struct mbx_session_config *cfg)
{
	struct mbx_session *s;
	bool fail = false;

	if (cfg == NULL || cfg->pipeline == NULL || cfg->id == NULL || cfg->defer.ops == NULL)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->pipeline = cfg->pipeline;
	s->id = cfg->id;
	s->defer = cfg->defer;
	s->principal_dn = dup_or_null(cfg->principal_dn, &fail);
	s->principal_legacy_dn = dup_or_null(cfg->principal_legacy_dn, &fail);
	s->principal_name = dup_or_null(cfg->principal_name, &fail);
	if (cfg->token != NULL) {
		s->token = token_dup(cfg->token);
		fail = fail || s->token == NULL;
	}
	s->max_rops = cfg->max_rops;
	s->max_objects = cfg->max_objects != 0 ? cfg->max_objects : SESSION_DEFAULT_OBJECTS;
	s->clock = cfg->clock;
	s->clock_ctx = cfg->clock_ctx;
	s->next_handle = 1;
	if (fail) {
		mbx_session_free(&s);
		return NULL;
	}
	return s;
}

void mbx_session_free(struct mbx_session **sp)
{
	struct mbx_session *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	if (s->pending != NULL)
		mbx_session_exec_cancel(s->pending);
	for (int i = 0; i < NLOGON_IDS; i++)
		if (s->logons[i] != NULL)
			mbx_session_obj_release(s, s->logons[i]);
	free(s->principal_dn);
	free(s->principal_legacy_dn);
	free(s->principal_name);
	mbx_principal_free(&s->token);
	free(s);
	*sp = NULL;
}

bool mbx_session_has_logon_on(const struct mbx_session *s, const char *legacy_dn)
{
	if (s == NULL || legacy_dn == NULL)
		return false;
	for (int i = 0; i < NLOGON_IDS; i++) {
		const struct mbx_store_obj *o = s->logons[i];

		if (o != NULL && o->u.logon.legacy_dn != NULL &&
		    strcasecmp(o->u.logon.legacy_dn, legacy_dn) == 0)
			return true;
	}
	return false;
}

size_t mbx_session_logons(const struct mbx_session *s, const char **legacy_dns, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (int i = 0; i < NLOGON_IDS; i++) {
		const struct mbx_store_obj *o = s->logons[i];

		if (o == NULL)
			continue;
		if (legacy_dns != NULL && n < max)
			legacy_dns[n] = o->u.logon.legacy_dn != NULL ? o->u.logon.legacy_dn : "";
		n++;
	}
	return n;
}

time_t mbx_session_now(const struct mbx_session *s)
{
	return s->clock != NULL ? s->clock(s->clock_ctx) : time(NULL);
}

const struct mbx_server_identity *mbx_session_identity(const struct mbx_session *s)
{
	return s->id;
}

const char *mbx_session_principal_legacy_dn(const struct mbx_session *s)
{
	return s->principal_legacy_dn;
}

/* --- objects ----------------------------------------------------------------------------- */

static size_t bucket_of(uint32_t handle)
{
	return (handle ^ (handle >> 8) ^ (handle >> 16)) % SESSION_BUCKETS;
}

struct mbx_store_obj *mbx_session_obj_get(struct mbx_session *s, uint32_t handle)
{
	struct mbx_store_obj *o;

	if (s == NULL || handle == MBX_HANDLE_NONE)
		return NULL;
	for (o = s->buckets[bucket_of(handle)]; o != NULL; o = o->hnext)
		if (o->handle == handle)
			return o;
	return NULL;
}

struct mbx_store_obj *mbx_session_obj_at(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                         int idx, uint8_t logon_id)
{
	struct mbx_store_obj *o;

	if (idx < 0 || (unsigned)idx >= ex->nhandles)
		return NULL;
	o = mbx_session_obj_get(s, ex->handles[idx]);
	if (o == NULL || o->logon->u.logon.logon_id != logon_id)
		return NULL;
	return o;
}

/* A new object with the next handle, in the hash; NULL at the limits. */
static struct mbx_store_obj *obj_alloc(struct mbx_session *s, enum mbx_store_obj_type type)
{
	struct mbx_store_obj *o;
	size_t b;

	if (s->nobjects >= s->max_objects || s->next_handle == MBX_HANDLE_NONE)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->handle = s->next_handle++;
	o->type = type;
	b = bucket_of(o->handle);
	o->hnext = s->buckets[b];
	s->buckets[b] = o;
	s->nobjects++;
	return o;
}

static void obj_unhash(struct mbx_session *s, struct mbx_store_obj *o)
{
	struct mbx_store_obj **pp = &s->buckets[bucket_of(o->handle)];

	while (*pp != NULL && *pp != o)
		pp = &(*pp)->hnext;
	if (*pp == o)
		*pp = o->hnext;
	s->nobjects--;
}

static void logon_clear(struct mbx_store_logon *lg)
{
	free(lg->legacy_dn);
	free(lg->display_name);
	free(lg->extra_replguids);
	memset(lg, 0, sizeof(*lg));
}

/* The public-logon bitmap keeps a released logon's bit: only RopLogon changes it, which is what
 * exec_walk simulates (it cannot know which object a RopRelease will find in its slot). */
void mbx_session_obj_release(struct mbx_session *s, struct mbx_store_obj *o)
{
	if (s == NULL || o == NULL)
		return;
	if (o->type == MBX_STORE_OBJ_LOGON) {
		while (o->children != NULL)
			mbx_session_obj_release(s, o->children);
		if (s->logons[o->u.logon.logon_id] == o)
			s->logons[o->u.logon.logon_id] = NULL;
		logon_clear(&o->u.logon);
	} else {
		struct mbx_store_obj *lg = o->logon;

		if (o->lprev != NULL)
			o->lprev->lnext = o->lnext;
		else
			lg->children = o->lnext;
		if (o->lnext != NULL)
			o->lnext->lprev = o->lprev;
	}
	obj_unhash(s, o);
	free(o);
}

struct mbx_store_obj *mbx_session_logon_new(struct mbx_session *s, struct mbx_store_logon *lg)
{
	struct mbx_store_obj *o;
	uint8_t id = lg->logon_id;

	if (s->logons[id] != NULL)
		mbx_session_obj_release(s, s->logons[id]);
	o = obj_alloc(s, MBX_STORE_OBJ_LOGON);
	if (o == NULL) {
		logon_clear(lg);
		return NULL;
	}
	o->logon = o;
	o->u.logon = *lg;
	memset(lg, 0, sizeof(*lg));
	s->logons[id] = o;
	session_bitmap_set(s->public_logons, id, !(o->u.logon.logon_flags & MBX_LOGON_PRIVATE));
	return o;
}

struct mbx_store_obj *mbx_session_folder_new(struct mbx_session *s, struct mbx_store_obj *logon,
                                             int idx, struct mbx_fid fid)
{
	struct mbx_store_obj *o = obj_alloc(s, MBX_STORE_OBJ_FOLDER);

	if (o == NULL)
		return NULL;
	o->logon = logon;
	o->u.folder.idx = idx;
	o->u.folder.fid = fid;
	o->lnext = logon->children;
	if (logon->children != NULL)
		logon->children->lprev = o;
	logon->children = o;
	return o;
}
