/*
 * config.c: loads mbxstored's configuration (include/mbx/config.h; conventions.md
 * "Configuration"): mbx_config_load, _parse, _defaults and _free. A parse starts from the
 * defaults of the table (config-table.c), reads the file with inih (config-ini.c), which
 * gives every key to its value parser (config-types.c, config-addr.c), then checks the rules
 * between keys (config-rules.c); every error is kept, each as "file:line: what", and all of
 * them are returned together. Here too: the helpers the config files share (config-int.h).
 * The same table is printed as the sample file and the manual mbxstored.conf(5)
 * (config-write.c); other modules get their settings through config-views.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbx/config.h"
#include "mbx/log.h"

#include "config-int.h"

/* --- small helpers ------------------------------------------------------------------------- */

bool config_is_space(char c)
{
	return isspace((unsigned char)c) != 0;
}

const char *config_quote(const char *s, char *buf, size_t size)
{
	return mbx_log_escape(s, strlen(s), buf, size);
}

/* Edit distance, case-insensitive, for "did you mean"; SIZE_MAX for long strings. */
static size_t config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
			        tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
			                ? 0
			                : 1;
			size_t best = diag + cost;

			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

bool config_close(const char *written, const char *candidate, size_t *best)
{
	size_t d = config_distance(written, candidate);
	size_t len = strlen(written);
	size_t limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;

	/* a beginning of the name ("ttl" for "ttl_seconds", "warn" for "warning") */
	if (len >= 3 && strlen(candidate) > len && strncasecmp(candidate, written, len) == 0)
		d = d < 1 ? d : 1;

	if (d > limit || d >= *best)
		return false;
	*best = d;
	return true;
}

const char *config_value_name(const struct mbx_config_value *v, int value)
{
	for (; v != NULL && v->name != NULL; v++)
		if (v->value == value)
			return v->name;
	return "?";
}

bool config_chars(const char *v, const char *extra)
{
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && strchr(extra, *v) == NULL)
			return false;
	return true;
}

/* --- errors ------------------------------------------------------------------------------- */

static void config_errors_add(struct config_errors *e, const char *line)
{
	size_t n = strlen(line);

	if (e->len + n + 2 > e->cap) {
		size_t cap = e->cap != 0 ? e->cap : 1024;
		char *p;

		while (cap < e->len + n + 2)
			cap *= 2;
		p = realloc(e->buf, cap);
		if (p == NULL) {
			e->oom = true;
			return;
		}
		e->buf = p;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, line, n);
	e->len += n;
	e->buf[e->len++] = '\n';
	e->buf[e->len] = '\0';
	e->count++;
}

/* The errors into the caller's buffer: whole lines, then "(N more errors)" if cut. */
static void config_errors_copy(const struct config_errors *e, char *err, size_t errsize)
{
	size_t keep = 0;
	unsigned shown = 0;
	char tail[48];

	if (err == NULL || errsize == 0)
		return;
	err[0] = '\0';
	if (e->oom && e->count == 0) {
		snprintf(err, errsize, "out of memory");
		return;
	}
	if (e->len == 0)
		return;
	if (e->len <= errsize) {
		memcpy(err, e->buf, e->len - 1); /* without the last newline */
		err[e->len - 1] = '\0';
		return;
	}
	for (;;) {
		const char *nl = memchr(e->buf + keep, '\n', e->len - keep);
		size_t next;
		int t;

		if (nl == NULL)
			break;
		next = (size_t)(nl - e->buf) + 1;
		t = snprintf(tail, sizeof(tail), "(%u more errors)", e->count - shown - 1);

		if (next + (size_t)t + 1 > errsize)
			break;
		keep = next;
		shown++;
	}
	snprintf(tail, sizeof(tail), "(%u more errors)", e->count - shown);
	if (keep + strlen(tail) + 1 > errsize) {
		snprintf(err, errsize, "%s", tail);
		return;
	}
	memcpy(err, e->buf, keep);
	memcpy(err + keep, tail, strlen(tail) + 1);
}

/* --- parse state --------------------------------------------------------------------------- */

void config_error(struct config_state *st, unsigned line, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;

	if (st->stop)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%u: %s", st->name, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", st->name, msg);
	config_errors_add(&st->errs, full);
	if (st->errs.count >= MBX_CONFIG_MAX_ERRORS) {
		config_errors_add(&st->errs, "too many errors; the rest of the file was not read");
		st->stop = true;
	}
}

void config_oom(struct config_state *st)
{
	st->errs.oom = true;
}

size_t config_key_index(const struct mbx_config_key *k)
{
	return (size_t)(k - mbx_config_keys);
}

unsigned config_key_line(const struct config_state *st, const char *section, const char *key,
                         size_t f)
{
	const struct mbx_config_key *k = mbx_config_key_find(section, key);

	if (k == NULL)
		return 0;
	if (strcmp(section, "forest") == 0)
		return st->forest_key_lines[f * mbx_config_nkeys + config_key_index(k)];
	return st->key_lines[config_key_index(k)];
}

unsigned config_section_line(const struct config_state *st, const char *section)
{
	for (size_t i = 0; i < mbx_config_nsections; i++)
		if (strcmp(mbx_config_sections[i].name, section) == 0)
			return st->section_lines[i];
	return 0;
}

unsigned config_where(const struct config_state *st, const char *section, const char *key)
{
	unsigned l = config_key_line(st, section, key, 0);

	return l != 0 ? l : config_section_line(st, section);
}

/* --- the table ---------------------------------------------------------------------------- */

const struct mbx_config_key *mbx_config_key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < mbx_config_nkeys; i++)
		if (strcmp(mbx_config_keys[i].section, section) == 0 &&
		    strcmp(mbx_config_keys[i].name, name) == 0)
			return &mbx_config_keys[i];
	return NULL;
}

const struct mbx_config_section *config_section_find(const char *name)
{
	for (size_t i = 0; i < mbx_config_nsections; i++)
		if (strcmp(mbx_config_sections[i].name, name) == 0)
			return &mbx_config_sections[i];
	return NULL;
}

/* --- freeing and defaults ------------------------------------------------------------------ */

static void config_forest_free(struct mbx_config_forest *f)
{
	for (size_t i = 0; i < mbx_config_nkeys; i++)
		if (strcmp(mbx_config_keys[i].section, "forest") == 0)
			config_types_clear(&mbx_config_keys[i], f);
	free(f->name);
	f->name = NULL;
}

void mbx_config_free(struct mbx_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < mbx_config_nkeys; i++)
		if (strcmp(mbx_config_keys[i].section, "forest") != 0)
			config_types_clear(&mbx_config_keys[i], cfg);
	for (size_t i = 0; i < cfg->nattrs; i++)
		free((void *)cfg->attrs[i].server); /* canonical points into the table */
	free(cfg->attrs);
	for (size_t i = 0; i < cfg->nservers; i++) {
		free(cfg->servers[i].name);
		free(cfg->servers[i].url);
	}
	free(cfg->servers);
	for (size_t i = 0; i < cfg->nforests; i++)
		config_forest_free(&cfg->forests[i]);
	free(cfg->forests);
	free(cfg->foreign);
	free(cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}

static int config_defaults(struct mbx_config *cfg, char *err, size_t errsize)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];
		int rc;

		if (k->def == NULL || strcmp(k->section, "forest") == 0)
			continue;
		rc = config_types_set(k, cfg, k->def, err, errsize);
		if (rc == -1) {
			/* the table's own default does not parse: our bug, said loudly */
			char why[256];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errsize, "internal: default of [%s] %s: %s", k->section,
			         k->name, why);
		} else if (rc == -2) {
			snprintf(err, errsize, "out of memory");
		}
		if (rc < 0) {
			mbx_config_free(cfg);
			return -1;
		}
	}
	cfg->file = strdup("(defaults)");
	if (cfg->file == NULL) {
		snprintf(err, errsize, "out of memory");
		mbx_config_free(cfg);
		return -1;
	}
	return 0;
}

int mbx_config_defaults(struct mbx_config *cfg_r)
{
	char err[256];

	return config_defaults(cfg_r, err, sizeof(err));
}

/* --- parse -------------------------------------------------------------------------------- */

/* Builds the views that point into the configuration. */
static int config_finish(struct mbx_config *cfg)
{
	if (cfg->nforests == 0)
		return 0;
	cfg->foreign = calloc(cfg->nforests, sizeof(*cfg->foreign));
	if (cfg->foreign == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nforests; i++) {
		cfg->foreign[i].name = cfg->forests[i].name;
		cfg->foreign[i].smtp_domains = (const char *const *)cfg->forests[i].domains;
		cfg->foreign[i].nsmtp_domains = cfg->forests[i].ndomains;
		cfg->foreign[i].autodiscover_url = cfg->forests[i].autodiscover_url;
	}
	return 0;
}

int mbx_config_parse(const char *name, const char *text, size_t len, struct mbx_config *cfg_r,
                     char *err, size_t errsize)
{
	struct config_state st;
	struct mbx_config cfg;
	char why[512];

	memset(cfg_r, 0, sizeof(*cfg_r));
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (config_defaults(&cfg, why, sizeof(why)) < 0) {
		if (err != NULL)
			snprintf(err, errsize, "%s: %s", name, why);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.name = name;
	st.text = text;
	st.len = len;
	st.cfg = &cfg;
	st.section_lines = calloc(mbx_config_nsections, sizeof(unsigned));
	st.key_lines = calloc(mbx_config_nkeys, sizeof(unsigned));
	free(cfg.file);
	cfg.file = strdup(name);
	if (st.section_lines == NULL || st.key_lines == NULL || cfg.file == NULL) {
		config_oom(&st);
		goto out;
	}
	if (len > MBX_CONFIG_FILE_MAX) {
		config_error(&st, 0, "larger than %d bytes", MBX_CONFIG_FILE_MAX);
		goto out;
	}

	config_ini_parse(&st);

	if (st.errs.count == 0 && !st.errs.oom)
		for (size_t i = 0; i < mbx_config_nrules; i++)
			mbx_config_rules[i].check(&st);
	if (st.errs.count == 0 && !st.errs.oom && config_finish(&cfg) < 0)
		config_oom(&st);
out:
	free(st.section_lines);
	free(st.key_lines);
	free(st.attr_lines);
	free(st.server_lines);
	free(st.forest_lines);
	free(st.forest_key_lines);
	if (st.errs.count > 0 || st.errs.oom) {
		if (st.errs.oom && st.errs.count > 0) {
			st.errs.oom = false;
			config_errors_add(&st.errs, "out of memory");
		}
		config_errors_copy(&st.errs, err, errsize);
		free(st.errs.buf);
		mbx_config_free(&cfg);
		return -1;
	}
	free(st.errs.buf);
	*cfg_r = cfg;
	return 0;
}

int mbx_config_load(const char *path, struct mbx_config *cfg_r, char *err, size_t errsize)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc;

	memset(cfg_r, 0, sizeof(*cfg_r));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (err != NULL)
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		if (err != NULL)
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		if (err != NULL)
			snprintf(err, errsize, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	buf = malloc(MBX_CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		if (err != NULL)
			snprintf(err, errsize, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (n < MBX_CONFIG_FILE_MAX + 1) {
		ssize_t k = read(fd, buf + n, MBX_CONFIG_FILE_MAX + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			if (err != NULL)
				snprintf(err, errsize, "%s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	rc = mbx_config_parse(path, buf, n, cfg_r, err, errsize);
	free(buf);
	return rc;
}
