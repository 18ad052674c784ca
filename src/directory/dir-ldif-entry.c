/*
 * dir-ldif-entry.c: entries and values of the `ldif` directory backend (design.md
 * "Directory backends", directory.h): comparing values and entries bytewise, copying
 * values, checking attribute names, and applying one modification (replace, add, delete)
 * to a private copy of an entry.
 */
#include "directory/dir-ldif-int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- entry helpers ----------------------------------------------------------------------- */

static bool dl_entry_value_eq(const struct mbx_dir_value *a, const struct mbx_dir_value *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static int dl_entry_value_cmp(const void *pa, const void *pb)
{
	const struct mbx_dir_value *a = *(const struct mbx_dir_value *const *)pa;
	const struct mbx_dir_value *b = *(const struct mbx_dir_value *const *)pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->data, b->data, n) : 0;

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Pointers to the n values, sorted bytewise (NULL without memory). */
static const struct mbx_dir_value **dl_entry_values_sorted(const struct mbx_dir_value *vals,
                                                           size_t n)
{
	const struct mbx_dir_value **p = malloc((n ? n : 1) * sizeof(*p));

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = &vals[i];
	qsort(p, n, sizeof(*p), dl_entry_value_cmp);
	return p;
}

/* 1 if two values are byte-equal, 0 if not, -1 without memory. */
int dir_ldif_entry_values_have_dup(const struct mbx_dir_value *vals, size_t n)
{
	const struct mbx_dir_value **p;
	int dup = 0;

	if (n < 16) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (dl_entry_value_eq(&vals[i], &vals[j]))
					return 1;
		return 0;
	}
	p = dl_entry_values_sorted(vals, n);
	if (p == NULL)
		return -1;
	for (size_t i = 1; i < n && !dup; i++)
		dup = dl_entry_value_eq(p[i - 1], p[i]);
	free(p);
	return dup;
}

/* Same value sets (order does not matter). -1 without memory. */
static int dl_entry_attr_same_values(const struct mbx_dir_attr *a, const struct mbx_dir_attr *b)
{
	const struct mbx_dir_value **pa, **pb;
	size_t i;
	int same;

	if (a->nvals != b->nvals)
		return 0;
	for (i = 0; i < a->nvals && dl_entry_value_eq(&a->vals[i], &b->vals[i]); i++)
		;
	if (i == a->nvals)
		return 1;
	pa = dl_entry_values_sorted(a->vals, a->nvals);
	pb = dl_entry_values_sorted(b->vals, b->nvals);
	if (pa == NULL || pb == NULL) {
		free(pa);
		free(pb);
		return -1;
	}
	same = 1;
	for (i = 0; i < a->nvals && same; i++)
		same = dl_entry_value_eq(pa[i], pb[i]);
	free(pa);
	free(pb);
	return same;
}

/* Same DN spelling and same attributes with the same values (attribute and value order do
 * not matter; values compare bytewise). Without memory, "different". */
bool dir_ldif_entry_same(const struct mbx_dir_entry *a, const struct mbx_dir_entry *b)
{
	if (strcmp(a->dn, b->dn) != 0 || a->nattrs != b->nattrs)
		return false;
	for (size_t i = 0; i < a->nattrs; i++) {
		const struct mbx_dir_attr *bb = mbx_dir_entry_attr(b, a->attrs[i].name);

		if (bb == NULL || dl_entry_attr_same_values(&a->attrs[i], bb) != 1)
			return false;
	}
	return true;
}

const char *dir_ldif_entry_legacy(const struct mbx_dir_entry *e)
{
	return mbx_dir_entry_str(e, "legacyExchangeDN");
}

uint8_t *dir_ldif_entry_memdup0(const void *p, size_t len)
{
	uint8_t *q = malloc(len + 1);

	if (q == NULL)
		return NULL;
	if (len > 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

/* An attribute description as RFC 4512 allows it: a name or an OID, options after ';'. */
bool dir_ldif_entry_attr_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isascii(c) && (isalnum(c) || c == '-' || c == ';' || c == '.')))
			return false;
	}
	return true;
}

/* --- applying a modification ------------------------------------------------------------- */

static void dl_entry_attr_clear(struct mbx_dir_attr *a)
{
	for (size_t i = 0; i < a->nvals; i++)
		free(a->vals[i].data);
	free(a->vals);
	a->vals = NULL;
	a->nvals = 0;
}

static void dl_entry_remove_attr(struct mbx_dir_entry *e, struct mbx_dir_attr *a)
{
	size_t i = (size_t)(a - e->attrs);

	dl_entry_attr_clear(a);
	free(a->name);
	memmove(&e->attrs[i], &e->attrs[i + 1], (e->nattrs - i - 1) * sizeof(*e->attrs));
	e->nattrs--;
}

/* Appends vals to a (or a new attribute name); values already there are an error. */
static int dl_entry_add_values(struct mbx_dir_entry *e, const char *name,
			       const struct mbx_dir_value *vals, size_t nvals, char *err,
			       size_t errsize)
{
	struct mbx_dir_attr *a = (struct mbx_dir_attr *)mbx_dir_entry_attr(e, name);
	struct mbx_dir_value *nv;
	size_t have;

	if (a == NULL) {
		struct mbx_dir_attr *na = realloc(e->attrs, (e->nattrs + 1) * sizeof(*na));

		if (na == NULL)
			goto nomem;
		e->attrs = na;
		a = &e->attrs[e->nattrs];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
		if (a->name == NULL)
			goto nomem;
		e->nattrs++;
	}
	for (size_t i = 0; i < nvals; i++) {
		for (size_t j = 0; j < a->nvals; j++) {
			if (dl_entry_value_eq(&vals[i], &a->vals[j])) {
				snprintf(err, errsize, "%s: value already present", name);
				return -1;
			}
		}
	}
	if (nvals > SIZE_MAX / sizeof(*nv) - a->nvals)
		goto nomem;
	nv = realloc(a->vals, (a->nvals + nvals) * sizeof(*nv));
	if (nv == NULL)
		goto nomem;
	a->vals = nv;
	have = a->nvals;
	for (size_t i = 0; i < nvals; i++) {
		a->vals[have + i].data = dir_ldif_entry_memdup0(vals[i].data, vals[i].len);
		if (a->vals[have + i].data == NULL)
			goto nomem;
		a->vals[have + i].len = vals[i].len;
		a->nvals++;
	}
	return 0;
nomem:
	snprintf(err, errsize, "out of memory");
	return -1;
}

/* Applies one modification to e (a private copy: on failure the caller drops it). */
int dir_ldif_entry_apply_mod(struct mbx_dir_entry *e, const struct mbx_dir_mod *m, char *err,
                             size_t errsize)
{
	struct mbx_dir_attr *a;
	int dup;

	if (m->attr == NULL || !dir_ldif_entry_attr_name_ok(m->attr, strlen(m->attr)) ||
	    strcasecmp(m->attr, "dn") == 0) {
		snprintf(err, errsize, "bad attribute name in modification");
		return -1;
	}
	if (m->nvals > 0 && m->vals == NULL) {
		snprintf(err, errsize, "%s: values missing", m->attr);
		return -1;
	}
	for (size_t i = 0; i < m->nvals; i++) {
		if (m->vals[i].data == NULL && m->vals[i].len > 0) {
			snprintf(err, errsize, "%s: value %zu missing", m->attr, i + 1);
			return -1;
		}
	}
	dup = dir_ldif_entry_values_have_dup(m->vals, m->nvals);
	if (dup != 0) {
		snprintf(err, errsize, dup < 0 ? "out of memory" : "%s: a value is given twice",
			 m->attr);
		return -1;
	}
	a = (struct mbx_dir_attr *)mbx_dir_entry_attr(e, m->attr);
	switch (m->op) {
	case MBX_DIR_MOD_REPLACE:
		/* in place: the attribute keeps its position (and spelling) in the file */
		if (a != NULL && m->nvals == 0)
			dl_entry_remove_attr(e, a);
		else if (a != NULL)
			dl_entry_attr_clear(a);
		if (m->nvals == 0)
			return 0;
		return dl_entry_add_values(e, m->attr, m->vals, m->nvals, err, errsize);
	case MBX_DIR_MOD_ADD:
		if (m->nvals == 0) {
			snprintf(err, errsize, "%s: add without values", m->attr);
			return -1;
		}
		return dl_entry_add_values(e, m->attr, m->vals, m->nvals, err, errsize);
	case MBX_DIR_MOD_DELETE:
		if (a == NULL) {
			snprintf(err, errsize, "%s: no such attribute", m->attr);
			return -1;
		}
		if (m->nvals == 0) {
			dl_entry_remove_attr(e, a);
			return 0;
		}
		for (size_t i = 0; i < m->nvals; i++) {
			size_t j;

			for (j = 0; j < a->nvals && !dl_entry_value_eq(&m->vals[i], &a->vals[j]);
			     j++)
				;
			if (j == a->nvals) {
				snprintf(err, errsize, "%s: no such value", m->attr);
				return -1;
			}
			free(a->vals[j].data);
			memmove(&a->vals[j], &a->vals[j + 1],
				(a->nvals - j - 1) * sizeof(*a->vals));
			a->nvals--;
		}
		if (a->nvals == 0)
			dl_entry_remove_attr(e, a);
		return 0;
	}
	snprintf(err, errsize, "unknown modification %d", (int)m->op);
	return -1;
}
