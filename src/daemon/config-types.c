/*
 * config-types.c: the values of mbxstored's configuration (include/mbx/config.h; conventions.md
 * "Configuration"): the parser of each key type of the table (string, path, yes/no, integer,
 * octal mode, one of a list, flags, list of words, address, list of addresses) with the
 * bounds the table gives, the field each one fills and frees, and the table's name checks
 * (server names, legacyExchangeDN, LDAP DNs, user names, tokens, attribute names). Addresses,
 * host names and URLs are in config-addr.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "mbx/config.h"

#include "config-int.h"

/* --- value checks (the table's .check) ------------------------------------------------------ */

int mbx_config_check_server_name(const char *v, char *err, size_t errsize)
{
	size_t len = strlen(v);

	if (len == 0 || len > MBX_CONFIG_NAME_MAX || !config_chars(v, "-") || v[0] == '-' ||
	    v[len - 1] == '-') {
		snprintf(err, errsize, "a server name is 1 to %d letters, digits and inner hyphens",
		         MBX_CONFIG_NAME_MAX);
		return -1;
	}
	return 0;
}

int mbx_config_check_legacy_dn(const char *v, char *err, size_t errsize)
{
	const char *p = v;

	if (strncasecmp(v, "/o=", 3) != 0) {
		snprintf(err, errsize, "a legacyExchangeDN starts with /o=");
		return -1;
	}
	/* "/type=value" components: a type of letters, a non-empty value without '/'. */
	while (*p == '/') {
		const char *t = ++p;

		while (isalpha((unsigned char)*p))
			p++;
		if (p == t || *p != '=' || p[1] == '\0' || p[1] == '/') {
			snprintf(err, errsize,
			         "a legacyExchangeDN is a series of /type=value components");
			return -1;
		}
		p++;
		while (*p != '\0' && *p != '/')
			p++;
	}
	return 0;
}

int mbx_config_check_dn(const char *v, char *err, size_t errsize)
{
	LDAPDN dn = NULL;
	int rc = ldap_str2dn(v, &dn, LDAP_DN_FORMAT_LDAPV3);

	if (dn != NULL)
		ldap_dnfree(dn);
	if (rc != LDAP_SUCCESS || dn == NULL) {
		snprintf(err, errsize, "not an LDAP DN (RFC 4514)");
		return -1;
	}
	return 0;
}

int mbx_config_check_unix_name(const char *v, char *err, size_t errsize)
{
	size_t len = strlen(v);

	if (len == 0 || len > 32 || !(isalpha((unsigned char)v[0]) || v[0] == '_') ||
	    !config_chars(v, "_.-$") || (strchr(v, '$') != NULL && strchr(v, '$') != v + len - 1)) {
		snprintf(err, errsize, "not a user or group name");
		return -1;
	}
	return 0;
}

int mbx_config_check_token(const char *v, char *err, size_t errsize)
{
	for (const char *p = v; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(err, errsize, "only printable ASCII without spaces is allowed");
			return -1;
		}
	}
	return 0;
}

int mbx_config_check_attr_name(const char *v, char *err, size_t errsize)
{
	size_t len = strlen(v);
	bool ok = len > 0 && len <= 127;

	if (ok && isalpha((unsigned char)v[0])) {
		ok = config_chars(v, "-");
	} else if (ok && isdigit((unsigned char)v[0])) {
		/* numericoid: number *( "." number ) */
		for (size_t i = 0; ok && i < len; i++)
			ok = isdigit((unsigned char)v[i]) ||
			     (v[i] == '.' && i + 1 < len && v[i + 1] != '.');
	} else {
		ok = false;
	}
	if (!ok) {
		snprintf(err, errsize, "not an LDAP attribute name or OID");
		return -1;
	}
	return 0;
}

/* --- values ------------------------------------------------------------------------------- */

static void config_types_list_free(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

void config_types_clear(const struct mbx_config_key *k, void *base)
{
	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH: {
		char **p = CONFIG_AT(base, k->offset, char *);

		free(*p);
		*p = NULL;
		break;
	}
	case MBX_CONFIG_LIST: {
		char ***p = CONFIG_AT(base, k->offset, char **);

		config_types_list_free(*p);
		*p = NULL;
		*CONFIG_AT(base, k->count_offset, size_t) = 0;
		break;
	}
	case MBX_CONFIG_ADDR_LIST: {
		struct mbx_config_addr **p = CONFIG_AT(base, k->offset, struct mbx_config_addr *);

		free(*p);
		*p = NULL;
		*CONFIG_AT(base, k->count_offset, size_t) = 0;
		break;
	}
	case MBX_CONFIG_ADDR:
		memset(CONFIG_AT(base, k->offset, struct mbx_config_addr), 0,
		       sizeof(struct mbx_config_addr));
		break;
	default:
		break;
	}
}

/* The words of a list value (split on spaces and tabs), or NULL when out of memory. The
 * array is NULL-terminated; *n_r gets the count. */
static char **config_types_split(const char *v, size_t *n_r)
{
	size_t n = 0, i = 0;
	char **words;
	const char *p = v;

	while (*p != '\0') {
		while (*p != '\0' && config_is_space(*p))
			p++;
		if (*p == '\0')
			break;
		n++;
		while (*p != '\0' && !config_is_space(*p))
			p++;
	}
	words = calloc(n + 1, sizeof(*words));
	if (words == NULL)
		return NULL;
	for (p = v; *p != '\0';) {
		const char *w;

		while (*p != '\0' && config_is_space(*p))
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && !config_is_space(*p))
			p++;
		words[i] = strndup(w, (size_t)(p - w));
		if (words[i] == NULL) {
			config_types_list_free(words);
			return NULL;
		}
		i++;
	}
	*n_r = n;
	return words;
}

bool config_types_has_control(const char *v, bool tab_ok)
{
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && !(tab_ok && *v == '\t')) ||
		    (unsigned char)*v == 0x7f)
			return true;
	return false;
}

static int config_types_enum_parse(const struct mbx_config_key *k, const char *w, int *value_r,
                                   char *err, size_t errsize)
{
	char q[80], names[256] = "", hint[96] = "";
	size_t best = SIZE_MAX, used = 0;

	for (const struct mbx_config_value *v = k->values; v->name != NULL; v++) {
		if (strcasecmp(v->name, w) == 0) {
			*value_r = v->value;
			return 0;
		}
	}
	for (const struct mbx_config_value *v = k->values; v->name != NULL; v++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s", used > 0 ? ", " : "",
		                 v->name);

		if (n > 0 && (size_t)n < sizeof(names) - used)
			used += (size_t)n;
		if (config_close(w, v->name, &best))
			snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", v->name);
	}
	snprintf(err, errsize, "unknown value \"%s\" (one of: %s)%s", config_quote(w, q, sizeof(q)),
	         names, hint);
	return -1;
}

int config_types_set(const struct mbx_config_key *k, void *base, const char *value, char *err,
                     size_t errsize)
{
	size_t len = strlen(value);
	char q[80];

	if (config_types_has_control(value, k->type == MBX_CONFIG_FLAGS ||
	                                            k->type == MBX_CONFIG_LIST ||
	                                            k->type == MBX_CONFIG_ADDR_LIST)) {
		snprintf(err, errsize, "the value holds a control character");
		return -1;
	}
	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH: {
		char *copy;

		if (len == 0) {
			if (k->def != NULL || (k->flags & MBX_CONFIG_F_REQUIRED)) {
				snprintf(err, errsize, "needs a value");
				return -1;
			}
			config_types_clear(k, base); /* optional: empty means not set */
			return 0;
		}
		if (k->type == MBX_CONFIG_PATH && value[0] != '/') {
			snprintf(err, errsize, "\"%s\" is not an absolute path",
			         config_quote(value, q, sizeof(q)));
			return -1;
		}
		if (len > k->max) {
			snprintf(err, errsize, "value too long (%zu bytes, at most %llu)", len,
			         (unsigned long long)k->max);
			return -1;
		}
		if (len < k->min) {
			snprintf(err, errsize, "value too short (%zu bytes, at least %llu)", len,
			         (unsigned long long)k->min);
			return -1;
		}
		if (k->check != NULL && k->check(value, err, errsize) < 0)
			return -1;
		copy = strdup(value);
		if (copy == NULL)
			return -2;
		config_types_clear(k, base);
		*CONFIG_AT(base, k->offset, char *) = copy;
		return 0;
	}
	case MBX_CONFIG_BOOL: {
		static const char *const yes[] = {"yes", "true", "on", "1"};
		static const char *const no[] = {"no", "false", "off", "0"};

		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
				*CONFIG_AT(base, k->offset, bool) = strcasecmp(value, yes[i]) == 0;
				return 0;
			}
		}
		snprintf(err, errsize, "expected yes or no (true/false, on/off, 1/0), got \"%s\"",
		         config_quote(value, q, sizeof(q)));
		return -1;
	}
	case MBX_CONFIG_UINT: {
		uint64_t v = 0;
		bool big = false;

		if (len == 0 || strspn(value, "0123456789") != len) {
			snprintf(err, errsize, "expected an unsigned decimal integer, got \"%s\"",
			         config_quote(value, q, sizeof(q)));
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			if (v > (UINT64_MAX - 9) / 10)
				big = true;
			else
				v = v * 10 + (uint64_t)(value[i] - '0');
		}
		if (big || v < k->min || v > k->max) {
			snprintf(err, errsize, "%s is out of range (%llu to %llu%s%s)",
			         config_quote(value, q, sizeof(q)), (unsigned long long)k->min,
			         (unsigned long long)k->max, k->unit != NULL ? " " : "",
			         k->unit != NULL ? k->unit : "");
			return -1;
		}
		*CONFIG_AT(base, k->offset, unsigned) = (unsigned)v;
		return 0;
	}
	case MBX_CONFIG_MODE: {
		unsigned v = 0;

		if (len == 0 || len > 4 || strspn(value, "01234567") != len) {
			snprintf(err, errsize, "expected an octal mode like 0660, got \"%s\"",
			         config_quote(value, q, sizeof(q)));
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			v = v * 8 + (unsigned)(value[i] - '0');
		if (v > k->max) {
			snprintf(err, errsize, "mode %s is above %04llo",
			         config_quote(value, q, sizeof(q)), (unsigned long long)k->max);
			return -1;
		}
		*CONFIG_AT(base, k->offset, unsigned) = v;
		return 0;
	}
	case MBX_CONFIG_ENUM: {
		int v;

		if (config_types_enum_parse(k, value, &v, err, errsize) < 0)
			return -1;
		*CONFIG_AT(base, k->offset, int) = v;
		return 0;
	}
	case MBX_CONFIG_FLAGS: {
		size_t n;
		char **words = config_types_split(value, &n);
		unsigned mask = 0;

		if (words == NULL)
			return -2;
		for (size_t i = 0; i < n; i++) {
			int v;

			if (config_types_enum_parse(k, words[i], &v, err, errsize) < 0) {
				config_types_list_free(words);
				return -1;
			}
			mask |= (unsigned)v;
		}
		config_types_list_free(words);
		*CONFIG_AT(base, k->offset, unsigned) = mask;
		return 0;
	}
	case MBX_CONFIG_LIST: {
		size_t n;
		char **words = config_types_split(value, &n);

		if (words == NULL)
			return -2;
		if (n < k->min || n > k->max) {
			snprintf(err, errsize, "%zu items; %llu to %llu expected", n,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			config_types_list_free(words);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			size_t wl = strlen(words[i]);

			if (wl > k->maxlen) {
				snprintf(err, errsize,
				         "item %zu is too long (%zu bytes, at most %zu)", i + 1, wl,
				         k->maxlen);
				config_types_list_free(words);
				return -1;
			}
			if (k->check != NULL) {
				char why[256];

				if (k->check(words[i], why, sizeof(why)) < 0) {
					snprintf(err, errsize, "\"%s\": %s",
					         config_quote(words[i], q, sizeof(q)), why);
					config_types_list_free(words);
					return -1;
				}
			}
			for (size_t j = 0; j < i; j++) {
				if (strcasecmp(words[i], words[j]) == 0) {
					snprintf(err, errsize, "\"%s\" is listed twice",
					         config_quote(words[i], q, sizeof(q)));
					config_types_list_free(words);
					return -1;
				}
			}
		}
		config_types_clear(k, base);
		*CONFIG_AT(base, k->offset, char **) = words;
		*CONFIG_AT(base, k->count_offset, size_t) = n;
		return 0;
	}
	case MBX_CONFIG_ADDR: {
		struct mbx_config_addr a;

		if (len == 0) {
			if (k->def != NULL) {
				snprintf(err, errsize, "needs a value");
				return -1;
			}
			config_types_clear(k, base);
			return 0;
		}
		if (mbx_config_addr_parse(value, &a, err, errsize) < 0)
			return -1;
		if ((k->flags & MBX_CONFIG_F_LOOPBACK) && !mbx_config_addr_is_loopback(&a)) {
			snprintf(err, errsize,
			         "%s is not a loopback address (127.0.0.0/8, [::1], localhost)",
			         config_quote(value, q, sizeof(q)));
			return -1;
		}
		*CONFIG_AT(base, k->offset, struct mbx_config_addr) = a;
		return 0;
	}
	case MBX_CONFIG_ADDR_LIST: {
		size_t n;
		char **words = config_types_split(value, &n);
		struct mbx_config_addr *addrs;

		if (words == NULL)
			return -2;
		if (n < k->min || n > k->max) {
			snprintf(err, errsize, "%zu addresses; %llu to %llu expected", n,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			config_types_list_free(words);
			return -1;
		}
		addrs = calloc(n + 1, sizeof(*addrs));
		if (addrs == NULL) {
			config_types_list_free(words);
			return -2;
		}
		for (size_t i = 0; i < n; i++) {
			if (mbx_config_addr_parse(words[i], &addrs[i], err, errsize) < 0)
				goto bad_addr;
			if ((k->flags & MBX_CONFIG_F_LOOPBACK) &&
			    !mbx_config_addr_is_loopback(&addrs[i])) {
				snprintf(err, errsize, "%s is not a loopback address",
				         config_quote(words[i], q, sizeof(q)));
				goto bad_addr;
			}
			for (size_t j = 0; j < i; j++) {
				if (config_addr_equal(&addrs[i], &addrs[j])) {
					snprintf(err, errsize, "%s is listed twice",
					         config_quote(words[i], q, sizeof(q)));
					goto bad_addr;
				}
			}
		}
		config_types_list_free(words);
		config_types_clear(k, base);
		*CONFIG_AT(base, k->offset, struct mbx_config_addr *) = addrs;
		*CONFIG_AT(base, k->count_offset, size_t) = n;
		return 0;
	bad_addr:
		config_types_list_free(words);
		free(addrs);
		return -1;
	}
	}
	snprintf(err, errsize, "unknown type");
	return -1;
}
