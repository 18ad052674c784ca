/*
 * dir-ldif-load.c: reading the LDIF file of the `ldif` directory backend (design.md
 * "Directory backends"; RFC 2849): checking every record and building the entries and
 * their indexes, with "FILE:LINE: what" for the first problem.
 *
 * The file is read with libldap's own LDIF reader (ldif_read_record + ldap_parse_ldif_record,
 * RFC 2849): plain entries and "changetype: add" records. Before libldap sees a record we
 * walk its lines once more with libldap's ldif_getline/ldif_parse_line2, only to name the
 * line of a problem ("FILE:LINE: what") and to refuse what a directory file must not contain
 * (NUL bytes, include: and :< URL values that would read other files, other changetypes).
 */
#include "directory/dir-ldif-int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldap.h>
#include <ldif.h>

#include "mbx/log.h"

/* --- loading ----------------------------------------------------------------------------- */

struct dl_load {
	struct dir_ldif *dl;
	const char *path;
	char *err;
	size_t errsize;
};

#define DL_ERR(ld, line, ...)                                                                  \
	dl_load_err((ld), (line), __VA_ARGS__)

static void dl_load_err(struct dl_load *ld, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dl_load_err(struct dl_load *ld, unsigned long line, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(ld->err, ld->errsize, "%s:%lu: %s", ld->path, line, what);
	else
		snprintf(ld->err, ld->errsize, "%s: %s", ld->path, what);
}

/* Reads the whole file; remembers its identity in *st. */
static char *dl_load_read_file(struct dl_load *ld, size_t *len_r, struct stat *st)
{
	int fd = open(ld->path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t off = 0;

	if (fd < 0) {
		DL_ERR(ld, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) < 0) {
		DL_ERR(ld, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st->st_mode)) {
		DL_ERR(ld, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size > DIR_LDIF_MAX_FILE) {
		DL_ERR(ld, 0, "larger than %u bytes", DIR_LDIF_MAX_FILE);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (buf == NULL) {
		DL_ERR(ld, 0, "out of memory");
		close(fd);
		return NULL;
	}
	while (off < (size_t)st->st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st->st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			DL_ERR(ld, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break; /* shrank meanwhile: take what is there */
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*len_r = off;
	return buf;
}

/* What libldap's reader must never see: NUL bytes (it reads lines with fgets and strlen),
 * include: at the start of a record (it would open another file or URL), a number at the start
 * of a record (it silently skips it, as in slapcat -n output), over-long lines. The state
 * machine follows ldif_read_record's notion of a record start. */
static int dl_load_prescan(struct dl_load *ld, const char *buf, size_t len)
{
	unsigned long line = 1;
	bool rec_start = true, top_comment = false;

	for (size_t off = 0; off < len; line++) {
		const char *p = buf + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t ll = nl != NULL ? (size_t)(nl - p) : len - off;
		const char *nul = memchr(p, '\0', ll);

		if (nul != NULL) {
			DL_ERR(ld, line, "NUL byte in the file");
			return -1;
		}
		if (ll > DIR_LDIF_MAX_LINE) {
			DL_ERR(ld, line, "line longer than %u bytes", DIR_LDIF_MAX_LINE);
			return -1;
		}
		if (ll == 0 || (ll == 1 && p[0] == '\r')) {
			rec_start = true;
			top_comment = false;
		} else if (rec_start) {
			if (p[0] == '#') {
				top_comment = true;
			} else if (!(top_comment && p[0] == ' ')) {
				rec_start = false;
				if (ll >= 8 && strncasecmp(p, "include:", 8) == 0) {
					DL_ERR(ld, line, "include: is not supported");
					return -1;
				}
				if (isdigit((unsigned char)p[0])) {
					DL_ERR(ld, line, "record does not start with dn:");
					return -1;
				}
			}
		}
		off += ll + (nl != NULL);
	}
	return 0;
}

/* A base64 value as RFC 4648 has it (padded), after the spaces that follow "::" and with the
 * continuation markers ('\r') that ldif_getline leaves. Checked before libldap decodes it:
 * its decoder prints to stderr on bad input and ignores what follows an early '='. */
static bool dl_load_base64_ok(const char *s)
{
	size_t n = 0, pad = 0;

	while (isspace((unsigned char)*s))
		s++;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r')
			continue;
		if (c == '=') {
			pad++;
		} else if (pad > 0 || !(isascii(c) && (isalnum(c) || c == '+' || c == '/'))) {
			return false;
		}
		n++;
	}
	return n > 0 && n % 4 == 0 && pad <= 2;
}

/* Walks the logical lines of one record (as libldap will) to find and name problems.
 * Returns 0 if the record is an entry to parse, 1 if it holds only "version: 1", -1 on error.
 * first_line is the file line of the record's first byte. */
static int dl_load_check_record(struct dl_load *ld, const char *rec, size_t reclen,
                                unsigned long first_line, bool first_record)
{
	char *copy = malloc(reclen + 1), *next, *line;
	const char *cnt = rec; /* newlines counted up to here */
	unsigned long lineno = first_line;
	size_t k = 0; /* logical lines seen, "version" not counted */
	bool version = false;
	int rc = -1;

	if (copy == NULL) {
		DL_ERR(ld, first_line, "out of memory");
		return -1;
	}
	memcpy(copy, rec, reclen + 1);
	next = copy;
	while ((line = ldif_getline(&next)) != NULL) {
		const char *at = rec + (line - copy);
		struct berval type, value;
		char *colon, *tname;
		int freeval = 0;

		for (; cnt < at; cnt++)
			lineno += *cnt == '\n';
		if (*line == '\0')
			break;
		if (line[0] == ' ') {
			DL_ERR(ld, lineno, "continuation line without a line to continue");
			goto out;
		}
		if (line[0] == '-' && line[1] == '\0') {
			DL_ERR(ld, lineno, "\"-\" line: only entries and changetype: add are "
					   "supported");
			goto out;
		}
		colon = strchr(line, ':');
		if (colon == NULL) {
			DL_ERR(ld, lineno, "line without ':'");
			goto out;
		}
		if (colon[1] == '<') {
			DL_ERR(ld, lineno, "URL values (:<) are not supported");
			goto out;
		}
		if (colon[1] == ':' && !dl_load_base64_ok(colon + 2)) {
			DL_ERR(ld, lineno, "bad base64 value");
			goto out;
		}
		if (ldif_parse_line2(line, &type, &value, &freeval) < 0) {
			if (colon[1] == ':')
				DL_ERR(ld, lineno, "bad base64 value");
			else
				DL_ERR(ld, lineno, "cannot parse line");
			goto out;
		}
		if (freeval)
			ber_memfree(value.bv_val); /* not reached: no URL values */
		tname = type.bv_val;
		if (!dir_ldif_entry_attr_name_ok(tname, type.bv_len)) {
			char esc[128];

			DL_ERR(ld, lineno, "bad attribute name \"%s\"",
			       mbx_log_escape(tname, type.bv_len, esc, sizeof(esc)));
			goto out;
		}
		if (k == 0 && !version && first_record && strcasecmp(tname, "version") == 0) {
			if (value.bv_len != 1 || value.bv_val[0] != '1') {
				DL_ERR(ld, lineno, "unsupported LDIF version");
				goto out;
			}
			version = true;
			continue;
		}
		if (k == 0) {
			char *norm;

			if (strcasecmp(tname, "dn") != 0) {
				DL_ERR(ld, lineno, "record does not start with dn:");
				goto out;
			}
			if (value.bv_len == 0) {
				DL_ERR(ld, lineno, "empty dn");
				goto out;
			}
			norm = dir_ldif_normalize_dn(value.bv_val, value.bv_len);
			if (norm == NULL) {
				DL_ERR(ld, lineno, "dn is not a DN");
				goto out;
			}
			free(norm);
		} else if (strcasecmp(tname, "dn") == 0) {
			DL_ERR(ld, lineno, "second dn: line (no blank line between entries?)");
			goto out;
		} else if (strcasecmp(tname, "control") == 0 && k == 1) {
			DL_ERR(ld, lineno, "controls are not supported");
			goto out;
		} else if (strcasecmp(tname, "changetype") == 0) {
			if (k != 1 || value.bv_len != 3 || strcasecmp(value.bv_val, "add") != 0) {
				char esc[64];

				DL_ERR(ld, lineno, "changetype: %s is not supported (only add)",
				       mbx_log_escape(value.bv_val, value.bv_len, esc,
						      sizeof(esc)));
				goto out;
			}
		} else {
			const char *canon = mbx_dir_canonical_attr(&ld->dl->head, tname);

			if (strcasecmp(canon, "member") == 0) {
				char *norm = dir_ldif_normalize_dn(value.bv_val, value.bv_len);

				if (norm == NULL) {
					DL_ERR(ld, lineno, "member value is not a DN");
					goto out;
				}
				free(norm);
			}
		}
		k++;
	}
	rc = k == 0 ? 1 : 0;
	if (k == 0 && !version) {
		DL_ERR(ld, first_line, "record without dn:");
		rc = -1;
	}
out:
	free(copy);
	return rc;
}

/* Turns one LDAPMod array into an entry with canonical attribute names. */
static struct mbx_dir_entry *dl_load_entry_from_record(struct dl_load *ld, const LDIFRecord *lr,
                                                       unsigned long line)
{
	struct mbx_dir_entry *e = calloc(1, sizeof(*e));
	size_t nmods = 0;

	if (e == NULL)
		goto nomem;
	e->dn = (char *)dir_ldif_entry_memdup0(lr->lr_dn.bv_val, lr->lr_dn.bv_len);
	if (e->dn == NULL)
		goto nomem;
	for (LDAPMod **m = lr->lrop_mods; m != NULL && m[nmods] != NULL; nmods++)
		;
	if (nmods > 0) {
		e->attrs = calloc(nmods, sizeof(*e->attrs));
		if (e->attrs == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < nmods; i++) {
		const LDAPMod *m = lr->lrop_mods[i];
		const char *canon = mbx_dir_canonical_attr(&ld->dl->head, m->mod_type);
		const struct mbx_dir_attr *prev = mbx_dir_entry_attr(e, canon);
		struct mbx_dir_attr *a = &e->attrs[e->nattrs];
		size_t nv = 0;
		int dup;

		if (prev != NULL) {
			size_t j = (size_t)(prev - e->attrs);

			DL_ERR(ld, line, "entry \"%.200s\": attributes %s and %s are both %s",
			       e->dn, lr->lrop_mods[j]->mod_type, m->mod_type, canon);
			goto fail;
		}
		e->nattrs++;
		a->name = (char *)dir_ldif_entry_memdup0(canon, strlen(canon));
		if (a->name == NULL)
			goto nomem;
		while (m->mod_bvalues != NULL && m->mod_bvalues[nv] != NULL)
			nv++;
		if (nv == 0)
			continue;
		a->vals = calloc(nv, sizeof(*a->vals));
		if (a->vals == NULL)
			goto nomem;
		for (size_t j = 0; j < nv; j++) {
			const struct berval *bv = m->mod_bvalues[j];

			a->vals[j].data = dir_ldif_entry_memdup0(bv->bv_val, bv->bv_len);
			if (a->vals[j].data == NULL)
				goto nomem;
			a->vals[j].len = bv->bv_len;
			a->nvals = j + 1;
		}
		dup = dir_ldif_entry_values_have_dup(a->vals, a->nvals);
		if (dup < 0)
			goto nomem;
		if (dup) {
			DL_ERR(ld, line, "entry \"%.200s\": attribute %s has a value twice", e->dn,
			       m->mod_type);
			goto fail;
		}
	}
	return e;
nomem:
	DL_ERR(ld, line, "out of memory");
fail:
	mbx_dir_entry_free(&e);
	return NULL;
}

/* True if the record just read ended with a blank line (rather than at the end of the file):
 * pos is where the reader stopped. */
static bool dl_load_ended_by_blank(const char *buf, size_t pos)
{
	if (pos == 0 || buf[pos - 1] != '\n')
		return false;
	pos--;
	if (pos > 0 && buf[pos - 1] == '\r')
		pos--;
	return pos == 0 || buf[pos - 1] == '\n';
}

struct dl_db *dir_ldif_load(struct dir_ldif *dl, struct stat *st, char *err, size_t errsize)
{
	struct dl_load ld = {.dl = dl, .path = dl->path, .err = err, .errsize = errsize};
	struct dl_db *db = dir_ldif_index_db_new();
	char *buf = NULL, *rbuf = NULL;
	size_t len = 0;
	int rbuflen = 0;
	unsigned long lno = 0;
	LDIFFP *lfp = NULL;
	bool first = true;

	if (db == NULL) {
		DL_ERR(&ld, 0, "out of memory");
		return NULL;
	}
	buf = dl_load_read_file(&ld, &len, st);
	if (buf == NULL)
		goto fail;
	if (dl_load_prescan(&ld, buf, len) < 0)
		goto fail;
	if (len == 0)
		goto done;
	lfp = ldif_open_mem(buf, len, "r");
	if (lfp == NULL) {
		DL_ERR(&ld, 0, "cannot open the LDIF reader");
		goto fail;
	}
	for (;;) {
		unsigned long first_line, nl = 0;
		size_t reclen;
		long pos;
		LDIFRecord lr;
		struct berval bv;
		struct mbx_dir_entry *e;
		int rc = ldif_read_record(lfp, &lno, &rbuf, &rbuflen);

		if (rc < 0) {
			DL_ERR(&ld, lno, "cannot read record");
			goto fail;
		}
		pos = ftell(lfp->fp);
		if (rc == 0) {
			if (pos >= 0 && (size_t)pos < len && !feof(lfp->fp)) {
				DL_ERR(&ld, lno, "out of memory reading a record");
				goto fail;
			}
			break;
		}
		if (pos < 0) {
			DL_ERR(&ld, lno, "cannot read record");
			goto fail;
		}
		reclen = strlen(rbuf);
		if (reclen > DIR_LDIF_MAX_RECORD) {
			DL_ERR(&ld, lno, "record longer than %u bytes", DIR_LDIF_MAX_RECORD);
			goto fail;
		}
		/* The record's lines are contiguous and end at line lno, or lno - 1 when a blank
		 * line ended it. */
		for (size_t i = 0; i < reclen; i++)
			nl += rbuf[i] == '\n';
		first_line = lno - dl_load_ended_by_blank(buf, (size_t)pos) + 1 - nl;
		if (first_line < 1 || first_line > lno)
			first_line = lno; /* cannot happen; keep messages sane anyway */
		rc = dl_load_check_record(&ld, rbuf, reclen, first_line, first);
		first = false;
		if (rc < 0)
			goto fail;
		if (rc == 1)
			continue;
		bv.bv_val = rbuf;
		bv.bv_len = reclen;
		rc = ldap_parse_ldif_record(&bv, first_line, &lr, "mbxstore", LDIF_DEFAULT_ADD);
		if (rc != LDAP_SUCCESS) {
			DL_ERR(&ld, first_line, "invalid record (%s)", ldap_err2string(rc));
			goto fail;
		}
		if (lr.lr_op != LDAP_REQ_ADD || lr.lr_dn.bv_val == NULL || lr.lr_ctrls != NULL) {
			ldap_ldif_record_done(&lr);
			DL_ERR(&ld, first_line, "not an entry");
			goto fail;
		}
		e = dl_load_entry_from_record(&ld, &lr, first_line);
		ldap_ldif_record_done(&lr);
		if (e == NULL)
			goto fail;
		if (dir_ldif_index_db_append(db, e, first_line, err, errsize) < 0) {
			char what[512];

			snprintf(what, sizeof(what), "%s", err);
			DL_ERR(&ld, first_line, "%s", what);
			goto fail;
		}
	}
done:
	if (lfp != NULL)
		ldif_close(lfp);
	ber_memfree(rbuf);
	free(buf);
	return db;
fail:
	if (lfp != NULL)
		ldif_close(lfp);
	ber_memfree(rbuf);
	free(buf);
	dir_ldif_index_db_free(db);
	return NULL;
}
