/*
 * config-ini.c: reads mbxstored's configuration file with inih (conventions.md
 * "Configuration"): the line reader, the classification of each line, the section headers
 * and the key handler, which gives each key of the table to its value parser
 * (config-types.c) and reads the free-form [attributes] and [servers] sections.
 *
 * How inih is driven. Debian's libinih (package libinih-dev, 55) exposes its syntax options
 * as variables (ini_allow_multiline, ini_max_line, ...; /usr/include/ini.h); they are set
 * around every parse: no multi-line values (an indented line is an ordinary line, never the
 * continuation of the previous value), a UTF-8 BOM allowed, comments starting with ';' or
 * '#' at the start of a line and after whitespace inside one, lines of up to
 * MBX_CONFIG_LINE_MAX bytes on a heap buffer. The text is fed through our own reader
 * (ini_parse_stream), which gives the handler the line number (the library is built without
 * INI_HANDLER_LINENO), rejects NUL bytes and over-long lines, and classifies each line with
 * inih's own rules: inih reports only the first syntax error and never calls back for
 * section headers, and we want every error and every header (unknown, repeated) with its
 * line. Whenever the classification and inih's calls disagree, the line is reported as an
 * "internal:" error, so a different inih build fails loudly instead of parsing differently.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "mbx/config.h"

#include "config-int.h"

/* --- sections ------------------------------------------------------------------------------ */

static bool config_ini_grow(void **arr, size_t n, size_t size)
{
	void *p;

	/* one element more, zeroed */
	if (n > SIZE_MAX / size - 2)
		return false;
	p = realloc(*arr, (n + 2) * size);
	if (p == NULL)
		return false;
	memset((char *)p + n * size, 0, 2 * size);
	*arr = p;
	return true;
}

static void config_ini_section(struct config_state *st, const char *name, size_t len)
{
	char sec[96], q[80];
	size_t best = SIZE_MAX;
	const char *hint = NULL;

	st->sec = CONFIG_SEC_IGNORED;
	if (len >= sizeof(sec)) {
		config_error(st, st->line, "unknown section (name of %zu bytes)", len);
		return;
	}
	memcpy(sec, name, len);
	sec[len] = '\0';
	if (strncmp(sec, "forest.", 7) == 0) {
		const char *fname = sec + 7;
		struct mbx_config *cfg = st->cfg;
		struct mbx_config_forest *f;

		if (fname[0] == '\0' || strlen(fname) > MBX_CONFIG_NAME_MAX ||
		    !config_chars(fname, "._-")) {
			config_error(
			        st, st->line,
			        "[forest.%s]: a forest name is 1 to %d letters, digits, '.', '_' "
			        "and '-'",
			        config_quote(fname, q, sizeof(q)), MBX_CONFIG_NAME_MAX);
			return;
		}
		for (size_t i = 0; i < cfg->nforests; i++) {
			if (strcasecmp(cfg->forests[i].name, fname) == 0) {
				config_error(st, st->line,
				             "section [forest.%s] appears twice (first at line %u)",
				             fname, st->forest_lines[i]);
				return;
			}
		}
		if (!config_ini_grow((void **)&cfg->forests, cfg->nforests,
		                     sizeof(*cfg->forests)) ||
		    !config_ini_grow((void **)&st->forest_lines, cfg->nforests, sizeof(unsigned)) ||
		    !config_ini_grow((void **)&st->forest_key_lines,
		                     cfg->nforests * mbx_config_nkeys,
		                     mbx_config_nkeys * sizeof(unsigned))) {
			config_oom(st);
			return;
		}
		f = &cfg->forests[cfg->nforests];
		f->name = strdup(fname);
		if (f->name == NULL) {
			config_oom(st);
			return;
		}
		memset(&st->forest_key_lines[cfg->nforests * mbx_config_nkeys], 0,
		       mbx_config_nkeys * sizeof(unsigned));
		st->forest_lines[cfg->nforests] = st->line;
		st->forest = cfg->nforests++;
		st->sec = CONFIG_SEC_FOREST;
		if (st->section_lines[config_section_find("forest") - mbx_config_sections] == 0)
			st->section_lines[config_section_find("forest") - mbx_config_sections] =
			        st->line;
		return;
	}
	for (size_t i = 0; i < mbx_config_nsections; i++) {
		const struct mbx_config_section *s = &mbx_config_sections[i];

		if (s->kind == MBX_CONFIG_SECTION_FOREST)
			continue;
		if (strcmp(s->name, sec) == 0) {
			if (st->section_lines[i] != 0)
				config_error(st, st->line,
				             "section [%s] appears twice (first at line %u)", sec,
				             st->section_lines[i]);
			else
				st->section_lines[i] = st->line;
			st->sec_index = i;
			st->sec = s->kind == MBX_CONFIG_SECTION_KEYS         ? CONFIG_SEC_KEYS
			          : s->kind == MBX_CONFIG_SECTION_ATTRIBUTES ? CONFIG_SEC_ATTRIBUTES
			                                                     : CONFIG_SEC_SERVERS;
			return;
		}
	}
	if (strcmp(sec, "forest") == 0) {
		config_error(st, st->line, "a forest section is named [forest.NAME]");
		return;
	}
	for (size_t i = 0; i < mbx_config_nsections; i++) {
		char trimmed[96];
		const char *p = sec;
		size_t n;

		/* "[ server ]" and "[Server]" are suggested too */
		while (config_is_space(*p))
			p++;
		snprintf(trimmed, sizeof(trimmed), "%s", p);
		n = strlen(trimmed);
		while (n > 0 && config_is_space(trimmed[n - 1]))
			trimmed[--n] = '\0';
		if (mbx_config_sections[i].kind != MBX_CONFIG_SECTION_FOREST &&
		    config_close(trimmed, mbx_config_sections[i].name, &best))
			hint = mbx_config_sections[i].name;
	}
	if (hint != NULL)
		config_error(st, st->line, "unknown section [%s]; did you mean [%s]?",
		             config_quote(sec, q, sizeof(q)), hint);
	else
		config_error(st, st->line, "unknown section [%s]", config_quote(sec, q, sizeof(q)));
}

/* --- lines -------------------------------------------------------------------------------- */

/* inih's find_chars_or_comment on [s, e): the first of chars, or of an inline comment
 * prefix that follows whitespace. */
static const char *config_ini_find(const char *s, const char *e, const char *chars)
{
	bool was_space = false;

	while (s < e && strchr(chars, *s) == NULL && !(was_space && (*s == ';' || *s == '#'))) {
		was_space = config_is_space(*s);
		s++;
	}
	return s;
}

/* Classifies a line as inih will see it, and handles section headers. */
static void config_ini_classify(struct config_state *st, const char *line)
{
	const char *s = line, *e, *end;

	if (st->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
	    (unsigned char)s[2] == 0xBF)
		s += 3;
	e = s + strlen(s);
	while (e > s && config_is_space(e[-1]))
		e--;
	while (s < e && config_is_space(*s))
		s++;
	if (s == e || *s == ';' || *s == '#') {
		st->kind = CONFIG_LINE_BLANK;
		return;
	}
	if (*s == '[') {
		const char *after;

		end = config_ini_find(s + 1, e, "]");
		if (end == e || *end != ']') {
			st->kind = CONFIG_LINE_BAD;
			config_error(st, st->line, "section header without a closing ]");
			return;
		}
		st->kind = CONFIG_LINE_SECTION;
		config_ini_section(st, s + 1, (size_t)(end - (s + 1)));
		after = end + 1;
		while (after < e && config_is_space(*after))
			after++;
		if (after < e && *after != ';' && *after != '#')
			config_error(st, st->line, "text after the section header");
		return;
	}
	end = config_ini_find(s, e, "=:");
	if (end < e && (*end == '=' || *end == ':')) {
		st->kind = CONFIG_LINE_KEY;
		return;
	}
	st->kind = CONFIG_LINE_BAD;
	config_error(st, st->line, "expected \"key = value\", \"[section]\" or a comment");
}

/* The end of a line: a key line inih did not call back for is a disagreement. */
static void config_ini_line_done(struct config_state *st)
{
	if (st->kind == CONFIG_LINE_BAD && st->first_bad == 0)
		st->first_bad = st->line;
	if (st->kind == CONFIG_LINE_KEY && st->calls == 0)
		config_error(st, st->line, "internal: inih did not read this line as key = value");
	st->kind = CONFIG_LINE_NONE;
	st->calls = 0;
}

static char *config_ini_reader(char *str, int num, void *stream)
{
	struct config_state *st = stream;
	const char *p, *nl;
	size_t n;

	config_ini_line_done(st);
	if (st->stop || st->off >= st->len || num < 3)
		return NULL;
	p = st->text + st->off;
	nl = memchr(p, '\n', st->len - st->off);
	n = nl != NULL ? (size_t)(nl - p) : st->len - st->off;
	st->off += n + (nl != NULL ? 1 : 0);
	st->line++;
	st->kind = CONFIG_LINE_BLANK;
	if (memchr(p, '\0', n) != NULL) {
		config_error(st, st->line, "NUL byte in the line");
	} else if (n > MBX_CONFIG_LINE_MAX || n > (size_t)num - 2) {
		config_error(st, st->line, "line longer than %d bytes", MBX_CONFIG_LINE_MAX);
	} else {
		memcpy(str, p, n);
		str[n] = '\0';
		config_ini_classify(st, str);
		str[n] = '\n';
		str[n + 1] = '\0';
		return str;
	}
	/* what inih gets instead of a line we refused: an empty one (line numbers stay right) */
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* --- keys --------------------------------------------------------------------------------- */

static void config_ini_unknown_key(struct config_state *st, const char *section, const char *name)
{
	char q[80];
	size_t best = SIZE_MAX;
	const char *hint = NULL, *other = NULL;

	for (size_t i = 0; i < mbx_config_nkeys; i++) {
		const struct mbx_config_key *k = &mbx_config_keys[i];

		if (strcmp(k->section, section) == 0) {
			if (config_close(name, k->name, &best))
				hint = k->name;
		} else if (other == NULL && strcmp(k->name, name) == 0) {
			other = k->section;
		}
	}
	if (strcmp(section, "forest") == 0)
		section = "forest.NAME";
	if (hint != NULL)
		config_error(st, st->line, "unknown key \"%s\" in [%s]; did you mean \"%s\"?",
		             config_quote(name, q, sizeof(q)), section, hint);
	else if (other != NULL)
		config_error(st, st->line, "unknown key \"%s\" in [%s]; it belongs in [%s]",
		             config_quote(name, q, sizeof(q)), section,
		             strcmp(other, "forest") == 0 ? "forest.NAME" : other);
	else
		config_error(st, st->line, "unknown key \"%s\" in [%s]",
		             config_quote(name, q, sizeof(q)), section);
}

/* A key of the table, in section (a [forest.NAME] with section "forest"). */
static void config_ini_table_key(struct config_state *st, const char *section, const char *name,
                                 const char *value, void *base, unsigned *lines)
{
	const struct mbx_config_key *k = mbx_config_key_find(section, name);
	char why[512];
	int rc;

	if (k == NULL) {
		config_ini_unknown_key(st, section, name);
		return;
	}
	if (lines[config_key_index(k)] != 0) {
		config_error(st, st->line, "duplicate key \"%s\" (first set at line %u)", name,
		             lines[config_key_index(k)]);
		return;
	}
	lines[config_key_index(k)] = st->line;
	rc = config_types_set(k, base, value, why, sizeof(why));
	if (rc == -2)
		config_oom(st);
	else if (rc < 0)
		config_error(st, st->line, "%s: %s", name, why);
}

static void config_ini_attribute(struct config_state *st, const char *name, const char *value)
{
	struct mbx_config *cfg = st->cfg;
	const char *canon = NULL, *hint = NULL;
	size_t best = SIZE_MAX;
	char why[256], q[80], *copy;

	for (size_t i = 0; mbx_config_canonical_attrs[i] != NULL; i++) {
		if (strcasecmp(mbx_config_canonical_attrs[i], name) == 0)
			canon = mbx_config_canonical_attrs[i];
		else if (config_close(name, mbx_config_canonical_attrs[i], &best))
			hint = mbx_config_canonical_attrs[i];
	}
	if (canon == NULL) {
		if (hint != NULL)
			config_error(
			        st, st->line,
			        "unknown attribute \"%s\" in [attributes]; did you mean \"%s\"?",
			        config_quote(name, q, sizeof(q)), hint);
		else
			config_error(
			        st, st->line,
			        "unknown attribute \"%s\" in [attributes] (see mbxstored.conf(5) "
			        "for the list)",
			        config_quote(name, q, sizeof(q)));
		return;
	}
	for (size_t i = 0; i < cfg->nattrs; i++) {
		if (cfg->attrs[i].canonical == canon) {
			config_error(st, st->line, "duplicate key \"%s\" (first set at line %u)",
			             name, st->attr_lines[i]);
			return;
		}
	}
	if (value[0] == '\0') {
		config_error(st, st->line, "[attributes] %s: needs a value", name);
		return;
	}
	if (mbx_config_check_attr_name(value, why, sizeof(why)) < 0) {
		config_error(st, st->line, "[attributes] %s: \"%s\" is %s", name,
		             config_quote(value, q, sizeof(q)), why);
		return;
	}
	for (size_t i = 0; i < cfg->nattrs; i++) {
		if (strcasecmp(cfg->attrs[i].server, value) == 0) {
			config_error(st, st->line,
			             "[attributes] %s: \"%s\" already stands for %s (line %u)",
			             name, value, cfg->attrs[i].canonical, st->attr_lines[i]);
			return;
		}
	}
	if (!config_ini_grow((void **)&cfg->attrs, cfg->nattrs, sizeof(*cfg->attrs)) ||
	    !config_ini_grow((void **)&st->attr_lines, cfg->nattrs, sizeof(unsigned)) ||
	    (copy = strdup(value)) == NULL) {
		config_oom(st);
		return;
	}
	cfg->attrs[cfg->nattrs].canonical = canon;
	cfg->attrs[cfg->nattrs].server = copy;
	st->attr_lines[cfg->nattrs++] = st->line;
}

static void config_ini_server(struct config_state *st, const char *name, const char *value)
{
	struct mbx_config *cfg = st->cfg;
	struct mbx_config_server *s;
	char why[256], q[80];
	size_t len = strlen(value);

	if (mbx_config_check_server_name(name, why, sizeof(why)) < 0) {
		config_error(st, st->line, "[servers] \"%s\": %s", config_quote(name, q, sizeof(q)),
		             why);
		return;
	}
	for (size_t i = 0; i < cfg->nservers; i++) {
		if (strcasecmp(cfg->servers[i].name, name) == 0) {
			config_error(st, st->line, "duplicate key \"%s\" (first set at line %u)",
			             name, st->server_lines[i]);
			return;
		}
	}
	if (len == 0) {
		config_error(st, st->line, "[servers] %s: needs a value", name);
		return;
	}
	if (len > 1023 || config_types_has_control(value, false) ||
	    mbx_config_check_url(value, why, sizeof(why)) < 0) {
		config_error(st, st->line, "[servers] %s: \"%s\": %s", name,
		             config_quote(value, q, sizeof(q)),
		             len > 1023 ? "value too long (at most 1023 bytes)"
		             : config_types_has_control(value, false)
		                     ? "the value holds a control character"
		                     : why);
		return;
	}
	if (!config_ini_grow((void **)&cfg->servers, cfg->nservers, sizeof(*cfg->servers)) ||
	    !config_ini_grow((void **)&st->server_lines, cfg->nservers, sizeof(unsigned))) {
		config_oom(st);
		return;
	}
	s = &cfg->servers[cfg->nservers];
	s->name = strdup(name);
	s->url = strdup(value);
	if (s->name == NULL || s->url == NULL) {
		free(s->name);
		free(s->url);
		s->name = s->url = NULL;
		config_oom(st);
		return;
	}
	while (len > 0 && s->url[len - 1] == '/' && strstr(s->url, "://") + 3 < s->url + len - 1)
		s->url[--len] = '\0';
	st->server_lines[cfg->nservers++] = st->line;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_state *st = user;
	char q[80];

	(void)section; /* ours is st->sec: inih cuts section names at 49 bytes */
	if (st->kind != CONFIG_LINE_KEY || st->calls++ > 0) {
		config_error(st, st->line, "internal: inih read a key on a line that has none");
		return 1;
	}
	if (value == NULL)
		value = "";
	if (name[0] == '\0') {
		config_error(st, st->line, "missing key name before =");
		return 1;
	}
	switch (st->sec) {
	case CONFIG_SEC_NONE:
		config_error(st, st->line, "key \"%s\" before the first [section]",
		             config_quote(name, q, sizeof(q)));
		break;
	case CONFIG_SEC_KEYS:
		config_ini_table_key(st, mbx_config_sections[st->sec_index].name, name, value,
		                     st->cfg, st->key_lines);
		break;
	case CONFIG_SEC_FOREST:
		config_ini_table_key(st, "forest", name, value, &st->cfg->forests[st->forest],
		                     &st->forest_key_lines[st->forest * mbx_config_nkeys]);
		break;
	case CONFIG_SEC_ATTRIBUTES:
		config_ini_attribute(st, name, value);
		break;
	case CONFIG_SEC_SERVERS:
		config_ini_server(st, name, value);
		break;
	case CONFIG_SEC_IGNORED:
		break;
	}
	return 1;
}

/* --- the parse ----------------------------------------------------------------------------- */

void config_ini_parse(struct config_state *st)
{
	static char prefixes[] = ";#";
	int rc;
	/* inih's run-time options, restored afterwards */
	bool o_multiline = ini_allow_multiline, o_bom = ini_allow_bom,
	     o_inline = ini_allow_inline_comments, o_stack = ini_use_stack,
	     o_realloc = ini_allow_realloc, o_novalue = ini_allow_no_value,
	     o_stop = ini_stop_on_first_error;
	char *o_start = ini_start_comment_prefixes, *o_prefixes = ini_inline_comment_prefixes;
	int o_max = ini_max_line, o_initial = ini_initial_alloc;

	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_allow_inline_comments = true;
	ini_start_comment_prefixes = prefixes;
	ini_inline_comment_prefixes = prefixes;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = MBX_CONFIG_LINE_MAX + 3;
	ini_max_line = MBX_CONFIG_LINE_MAX + 3;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	rc = ini_parse_stream(config_ini_reader, st, config_ini_handler, st);
	ini_allow_multiline = o_multiline;
	ini_allow_bom = o_bom;
	ini_allow_inline_comments = o_inline;
	ini_start_comment_prefixes = o_start;
	ini_inline_comment_prefixes = o_prefixes;
	ini_use_stack = o_stack;
	ini_allow_realloc = o_realloc;
	ini_initial_alloc = o_initial;
	ini_max_line = o_max;
	ini_allow_no_value = o_novalue;
	ini_stop_on_first_error = o_stop;

	if (rc == -2) {
		config_oom(st);
	} else if (rc < 0) {
		config_error(st, 0, "inih failed (%d)", rc);
	} else if (!st->stop && (unsigned)rc != st->first_bad) {
		config_error(st, (unsigned)rc,
		             "internal: inih finds its first syntax error here, we at line %u",
		             st->first_bad);
	}
}
