/*
 * config-write.c: the table of config-table.c written out (conventions.md "Configuration"):
 * the sample file conf/mbxstored.conf (`mbxconfgen sample`), the manual mbxstored.conf(5)
 * in man(7) macros (`mbxconfgen man`), and a parsed configuration as a file that parses back
 * to it (`mbxstored -n -v`). The sample and the manual come from the same table as the
 * parser, so they cannot drift; tests/cli/config-generated.sh checks them byte for byte.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mbx/config.h"

#include "config-int.h"

/* A value as it is written in the file, into buf. */
static const char *config_write_format(const struct mbx_config_key *k, const void *base, char *buf,
                                       size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH: {
		const char *s = *CONFIG_AT(base, k->offset, char *const);

		snprintf(buf, size, "%s", s != NULL ? s : "");
		break;
	}
	case MBX_CONFIG_BOOL:
		snprintf(buf, size, "%s", *CONFIG_AT(base, k->offset, const bool) ? "yes" : "no");
		break;
	case MBX_CONFIG_UINT:
		snprintf(buf, size, "%u", *CONFIG_AT(base, k->offset, const unsigned));
		break;
	case MBX_CONFIG_MODE:
		snprintf(buf, size, "%04o", *CONFIG_AT(base, k->offset, const unsigned));
		break;
	case MBX_CONFIG_ENUM:
		snprintf(buf, size, "%s",
		         config_value_name(k->values, *CONFIG_AT(base, k->offset, const int)));
		break;
	case MBX_CONFIG_FLAGS: {
		unsigned mask = *CONFIG_AT(base, k->offset, const unsigned);

		for (const struct mbx_config_value *v = k->values; v->name != NULL; v++) {
			if ((mask & (unsigned)v->value) && used < size) {
				int n = snprintf(buf + used, size - used, "%s%s",
				                 used > 0 ? " " : "", v->name);

				used += n > 0 ? (size_t)n : 0;
			}
		}
		break;
	}
	case MBX_CONFIG_LIST: {
		char *const *list = *CONFIG_AT(base, k->offset, char **const);

		for (size_t i = 0; list != NULL && list[i] != NULL && used < size; i++) {
			int n = snprintf(buf + used, size - used, "%s%s", i > 0 ? " " : "",
			                 list[i]);

			used += n > 0 ? (size_t)n : 0;
		}
		break;
	}
	case MBX_CONFIG_ADDR:
		mbx_config_addr_format(CONFIG_AT(base, k->offset, const struct mbx_config_addr),
		                       buf, size);
		break;
	case MBX_CONFIG_ADDR_LIST: {
		const struct mbx_config_addr *a =
		        *CONFIG_AT(base, k->offset, const struct mbx_config_addr *const);
		size_t n = *CONFIG_AT(base, k->count_offset, const size_t);

		for (size_t i = 0; i < n && used < size; i++) {
			char one[300];
			int w = snprintf(buf + used, size - used, "%s%s", i > 0 ? " " : "",
			                 mbx_config_addr_format(&a[i], one, sizeof(one)));

			used += w > 0 ? (size_t)w : 0;
		}
		break;
	}
	}
	return buf;
}

/* Whether a key's field holds a value (an unset optional key is written commented out). */
static bool config_write_is_set(const struct mbx_config_key *k, const void *base)
{
	switch (k->type) {
	case MBX_CONFIG_STRING:
	case MBX_CONFIG_PATH:
		return *CONFIG_AT(base, k->offset, char *const) != NULL;
	case MBX_CONFIG_ADDR:
		return CONFIG_AT(base, k->offset, const struct mbx_config_addr)->set;
	default:
		return true;
	}
}

/* The type line of a key for the sample and the manual, e.g. "integer, 10 to 86400 seconds". */
static const char *config_write_type_doc(const struct mbx_config_key *k, char *buf, size_t size)
{
	char names[256] = "";
	size_t used = 0;

	if (k->values != NULL)
		for (const struct mbx_config_value *v = k->values; v->name != NULL; v++) {
			int n = snprintf(names + used, sizeof(names) - used, "%s%s",
			                 used == 0 ? "" : ", ", v->name);

			if (n > 0 && (size_t)n < sizeof(names) - used)
				used += (size_t)n;
		}
	switch (k->type) {
	case MBX_CONFIG_STRING:
		if (k->check_doc != NULL)
			snprintf(buf, size, "string of at most %llu bytes: %s",
			         (unsigned long long)k->max, k->check_doc);
		else
			snprintf(buf, size, "string of at most %llu bytes",
			         (unsigned long long)k->max);
		break;
	case MBX_CONFIG_PATH:
		snprintf(buf, size, "absolute path of at most %llu bytes",
		         (unsigned long long)k->max);
		break;
	case MBX_CONFIG_BOOL:
		snprintf(buf, size, "yes or no");
		break;
	case MBX_CONFIG_UINT:
		snprintf(buf, size, "integer, %llu to %llu%s%s", (unsigned long long)k->min,
		         (unsigned long long)k->max, k->unit != NULL ? " " : "",
		         k->unit != NULL ? k->unit : "");
		break;
	case MBX_CONFIG_MODE:
		snprintf(buf, size, "octal file mode, at most %04llo", (unsigned long long)k->max);
		break;
	case MBX_CONFIG_ENUM:
		snprintf(buf, size, "one of %s", names);
		break;
	case MBX_CONFIG_FLAGS:
		snprintf(buf, size, "list of words among %s", names);
		break;
	case MBX_CONFIG_LIST:
		snprintf(buf, size, "list of %llu to %llu %s", (unsigned long long)k->min,
		         (unsigned long long)k->max, k->check_doc != NULL ? k->check_doc : "words");
		break;
	case MBX_CONFIG_ADDR:
		snprintf(buf, size, "address%s",
		         (k->flags & MBX_CONFIG_F_LOOPBACK) ? ", loopback only" : "");
		break;
	case MBX_CONFIG_ADDR_LIST:
		snprintf(buf, size, "list of %llu to %llu addresses%s", (unsigned long long)k->min,
		         (unsigned long long)k->max,
		         (k->flags & MBX_CONFIG_F_LOOPBACK) ? ", loopback only" : "");
		break;
	}
	return buf;
}

/* Writes text wrapped at width columns, each line starting with prefix. */
static void config_write_wrap(FILE *f, const char *prefix, const char *text, size_t width)
{
	size_t col = 0, plen = strlen(prefix);

	while (*text != '\0') {
		size_t wl = strcspn(text, " ");

		if (col > 0 && col + 1 + wl > width) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0) {
			fputs(prefix, f);
			col = plen;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, wl, f);
		col += wl;
		text += wl;
		while (*text == ' ')
			text++;
	}
	if (col > 0)
		fputc('\n', f);
}

static void config_write_sample_key(FILE *f, const struct mbx_config_key *k, bool comment_all)
{
	char type[384], line[512];

	fputc('\n', f);
	config_write_wrap(f, "# ", k->help, 78);
	snprintf(line, sizeof(line), "Type: %s.%s", config_write_type_doc(k, type, sizeof(type)),
	         (k->flags & MBX_CONFIG_F_REQUIRED) ? " Required."
	         : k->def == NULL                   ? " Not set by default."
	                                            : "");
	config_write_wrap(f, "# ", line, 78);
	if (k->flags & MBX_CONFIG_F_REQUIRED)
		fprintf(f, "%s%s = %s\n", comment_all ? "#" : "", k->name, k->example);
	else if (k->def == NULL || k->def[0] == '\0')
		fprintf(f, "#%s =\n", k->name);
	else
		fprintf(f, "#%s = %s\n", k->name, k->def);
}

int mbx_config_write_sample(FILE *f)
{
	fputs("# mbxstored.conf: the configuration of mbxstored(8). Its format and every key are\n"
	      "# described in mbxstored.conf(5).\n"
	      "#\n"
	      "# Generated by `mbxconfgen sample` from src/daemon/config-table.c: change the "
	      "table,\n"
	      "# not this file. Every key is shown with its help and its default, commented out;\n"
	      "# the required keys are set to an example: the server SERVER1 of the sample\n"
	      "# directory conf/directory.ldif.\n",
	      f);
	for (size_t s = 0; s < mbx_config_nsections; s++) {
		const struct mbx_config_section *sec = &mbx_config_sections[s];

		fputc('\n', f);
		if (sec->kind == MBX_CONFIG_SECTION_FOREST) {
			config_write_wrap(f, "# ", sec->help, 78);
			fputs("#\n#[forest.fabrikam]\n", f);
		} else {
			fprintf(f, "[%s]\n", sec->name);
			config_write_wrap(f, "# ", sec->help, 78);
		}
		if (sec->kind == MBX_CONFIG_SECTION_ATTRIBUTES) {
			char list[2048];
			size_t used = 0;

			for (size_t i = 0; mbx_config_canonical_attrs[i] != NULL; i++) {
				int n = snprintf(list + used, sizeof(list) - used, "%s%s",
				                 i > 0 ? " " : "Canonical names: ",
				                 mbx_config_canonical_attrs[i]);

				if (n > 0 && (size_t)n < sizeof(list) - used)
					used += (size_t)n;
			}
			fputs("#\n", f);
			config_write_wrap(f, "# ", list, 78);
		}
		if (sec->sample != NULL) {
			fputc('\n', f);
			for (size_t i = 0; sec->sample[i] != NULL; i++)
				fprintf(f, "%s\n", sec->sample[i]);
		}
		for (size_t i = 0; i < mbx_config_nkeys; i++)
			if (strcmp(mbx_config_keys[i].section, sec->name) == 0)
				config_write_sample_key(f, &mbx_config_keys[i],
				                        sec->kind == MBX_CONFIG_SECTION_FOREST);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* roff: text as is, but for backslashes and a leading dot or quote. literal: also hyphens,
 * for names and values that are typed as written. */
static void config_write_roff(FILE *f, const char *s, bool literal)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	if (literal)
		fputs("\\%", f); /* never hyphenated */
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-' && literal)
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void config_write_man_key(FILE *f, const struct mbx_config_key *k)
{
	char type[384];

	fputs(".TP\n.B ", f);
	config_write_roff(f, k->name, true);
	fputc('\n', f);
	config_write_type_doc(k, type, sizeof(type));
	type[0] = (char)toupper((unsigned char)type[0]);
	config_write_roff(f, type, false);
	if (k->flags & MBX_CONFIG_F_REQUIRED) {
		fputs(". Required, e.g.\n.BR \"", f);
		config_write_roff(f, k->example, true);
		fputs("\" .\n", f);
	} else if (k->def == NULL) {
		fputs(". Not set by default.\n", f);
	} else if (k->def[0] == '\0') {
		fputs(". Default: empty.\n", f);
	} else {
		fputs(". Default:\n.BR \"", f);
		config_write_roff(f, k->def, true);
		fputs("\" .\n", f);
	}
	fputs(".br\n", f);
	config_write_roff(f, k->help, false);
	fputc('\n', f);
	if (k->values != NULL && k->values[0].help != NULL) {
		fputs(".RS\n", f);
		for (const struct mbx_config_value *v = k->values; v->name != NULL; v++) {
			fputs(".TP\n.B ", f);
			config_write_roff(f, v->name, true);
			fputc('\n', f);
			config_write_roff(f, v->help != NULL ? v->help : "", false);
			fputc('\n', f);
		}
		fputs(".RE\n", f);
	}
}

int mbx_config_write_man(FILE *f)
{
	fputs(".\\\" mbxstored.conf.5: the configuration file of mbxstored (man(7) macros).\n"
	      ".\\\" Generated by `mbxconfgen man` from src/daemon/config-table.c: change the "
	      "table,\n"
	      ".\\\" not this file.\n"
	      ".TH MBXSTORED.CONF 5 2025 mbxstore \"File Formats Manual\"\n"
	      ".SH NAME\n"
	      "mbxstored.conf \\- configuration file of the mbxstore daemon\n"
	      ".SH SYNOPSIS\n"
	      ".I " MBX_CONFIG_DEFAULT_PATH "\n"
	      ".SH DESCRIPTION\n"
	      ".BR mbxstored (8)\n"
	      "reads its configuration from this file when it starts.\n"
	      ".B mbxstored \\-n\n"
	      "only checks the file, prints every error and exits.\n"
	      "A key left out takes its default, or stays not set when it has none;\n"
	      "only the three keys that say who this server is are required, and a file\n"
	      "that sets only them is a working configuration with the embedded LDIF\n"
	      "directory.\n"
	      ".PP\n"
	      "The file is read whole before anything is used: every error in it is reported,\n"
	      "each as\n"
	      ".IB file : line : \" what\"\n"
	      "(or\n"
	      ".IB file : \" what\"\n"
	      "when no line is at fault), and then the daemon refuses to start.\n"
	      "Unknown sections and keys are errors, with a suggestion when a known name is "
	      "close;\n"
	      "so are a key set twice, a value of the wrong type, out of its bounds or too long,\n"
	      "and a value not among those listed.\n"
	      "Once the file has no such error, the rules between keys are checked\n"
	      "(see\n"
	      ".BR \"RULES BETWEEN KEYS\" ).\n"
	      "Reading the file touches nothing else: whether the files and folders it names "
	      "exist\n"
	      "is found out when they are opened.\n"
	      ".SH SYNTAX\n"
	      "The file is UTF\\-8 text in INI form, read with the inih library.\n"
	      ".IP \\(bu 2\n"
	      "A line\n"
	      ".BI [ section ]\n"
	      "starts a section; the keys that follow belong to it.\n"
	      "Each section appears at most once.\n"
	      "Nothing but a comment may follow the closing bracket.\n"
	      ".IP \\(bu\n"
	      "A line\n"
	      ".IB key \" = \" value\n"
	      "sets a key\n"
	      ".RI ( key : value\n"
	      "is read the same way; the first\n"
	      ".B =\n"
	      "or\n"
	      ".B :\n"
	      "ends the key).\n"
	      "Spaces around the key and the value are dropped.\n"
	      "There is no quoting and no escape: the value is the rest of the line.\n"
	      "Section names and the keys of the table are case-sensitive;\n"
	      "server names in [servers], attribute names in [attributes] and the words of\n"
	      "a value chosen from a list are not.\n"
	      ".IP \\(bu\n"
	      "A line whose first character other than a space is\n"
	      ".B #\n"
	      "or\n"
	      ".B ;\n"
	      "is a comment, as is the rest of a line from a\n"
	      ".B #\n"
	      "or\n"
	      ".B ;\n"
	      "that follows a space or tab.\n"
	      "So a value cannot hold a space or tab followed by\n"
	      ".B #\n"
	      "or\n"
	      ".BR ; .\n"
	      ".IP \\(bu\n"
	      "Blank lines are ignored; so is indentation.\n"
	      "A value never continues on the next line.\n"
	      ".IP \\(bu\n"
	      "Lines end with LF or CR LF, and hold at most 4096 bytes; the file holds at most\n"
	      "1048576 bytes. A UTF\\-8 byte order mark at the start is allowed.\n"
	      "A NUL byte anywhere, or a control character in a value, is an error.\n"
	      ".PP\n"
	      "Values have these types:\n"
	      ".TP\n"
	      ".I string\n"
	      "Any text without control characters, within the length given.\n"
	      "An empty value leaves a key that has no default not set.\n"
	      ".TP\n"
	      ".I path\n"
	      "An absolute path.\n"
	      ".TP\n"
	      ".I yes or no\n"
	      ".BR yes ,\n"
	      ".BR true ,\n"
	      ".BR on ,\n"
	      ".B 1\n"
	      "or\n"
	      ".BR no ,\n"
	      ".BR false ,\n"
	      ".BR off ,\n"
	      ".BR 0 ,\n"
	      "in any case.\n"
	      ".TP\n"
	      ".I integer\n"
	      "Decimal digits only, within the bounds given.\n"
	      "A duration's unit is part of its key's name\n"
	      ".RB ( _seconds ,\n"
	      ".BR _ms ).\n"
	      ".TP\n"
	      ".I octal file mode\n"
	      "One to four octal digits, such as\n"
	      ".BR 0660 .\n"
	      ".TP\n"
	      ".I list\n"
	      "Words separated by spaces or tabs; an item may appear once.\n"
	      "An empty value is the empty list.\n"
	      ".TP\n"
	      ".I address\n"
	      ".IB IPv4 : port\\fR,\\fP\n"
	      ".BI [ IPv6 ]: port\n"
	      "or\n"
	      ".IB host : port\\fR,\\fP\n"
	      "with a port from 1 to 65535; a host name is resolved when the daemon starts.\n"
	      "A loopback address is in 127.0.0.0/8, is ::1, or is the name\n"
	      ".BR localhost .\n",
	      f);
	for (size_t s = 0; s < mbx_config_nsections; s++) {
		const struct mbx_config_section *sec = &mbx_config_sections[s];

		if (sec->kind == MBX_CONFIG_SECTION_FOREST)
			fputs(".SH \"[forest.NAME] SECTIONS\"\n", f);
		else
			fprintf(f, ".SH \"[%s] SECTION\"\n", sec->name);
		config_write_roff(f, sec->help, false);
		fputc('\n', f);
		if (sec->kind == MBX_CONFIG_SECTION_ATTRIBUTES) {
			fputs(".PP\nThe canonical names:\n", f);
			for (size_t i = 0; mbx_config_canonical_attrs[i] != NULL; i++)
				fprintf(f, ".BR %s%s\n", mbx_config_canonical_attrs[i],
				        mbx_config_canonical_attrs[i + 1] != NULL ? " ," : " .");
			fputs(".PP\nA name is an LDAP attribute name or a numeric OID; two "
			      "canonical "
			      "names never map to the same name. Example:\n.PP\n.nf\n.RS\n"
			      "[attributes]\nmsExchMailboxGuid = x\\-msExchMailboxGuid\n.RE\n.fi\n",
			      f);
		}
		if (sec->kind == MBX_CONFIG_SECTION_SERVERS)
			fputs(".PP\nA name appears once, in any case; the URL is https:// (http:// "
			      "for "
			      "a loopback host) and a trailing / is dropped. "
			      "Example:\n.PP\n.nf\n.RS\n"
			      "[servers]\nSERVER1 = https://server1.contoso.com\n"
			      "SERVER2 = https://server2.contoso.com\n.RE\n.fi\n",
			      f);
		if (sec->kind == MBX_CONFIG_SECTION_FOREST)
			fputs(".PP\nThe keys of each:\n", f);
		for (size_t i = 0; i < mbx_config_nkeys; i++)
			if (strcmp(mbx_config_keys[i].section, sec->name) == 0)
				config_write_man_key(f, &mbx_config_keys[i]);
	}
	fputs(".SH \"RULES BETWEEN KEYS\"\n", f);
	for (size_t i = 0; i < mbx_config_nrules; i++) {
		fputs(".IP \\(bu 2\n", f);
		config_write_roff(f, mbx_config_rules[i].doc, false);
		fputc('\n', f);
	}
	fputs(".SH EXAMPLE\n"
	      "A server of the forest Contoso with an LDAP directory, one foreign forest, and a\n"
	      "TLS-terminating proxy on the same host:\n"
	      ".PP\n"
	      ".nf\n"
	      ".RS\n"
	      "[server]\n"
	      "name = SERVER1\n"
	      "legacy_dn = /o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
	      "cn=Configuration/cn=Servers/cn=SERVER1\n"
	      "ldap_dn = cn=SERVER1,cn=Servers,cn=Exchange Administrative Group (FYDIBOHF23SPDLT),"
	      "cn=Administrative Groups,cn=Contoso,cn=Microsoft Exchange,cn=Services,"
	      "cn=Configuration,dc=contoso,dc=com\n"
	      "user = mbxstore\n"
	      "\n"
	      "[listen]\n"
	      "https =\n"
	      "plain_http = 127.0.0.1:8080\n"
	      "metrics = [::1]:9180\n"
	      "\n"
	      "[directory]\n"
	      "backend = ldap\n"
	      "uris = ldaps://dc1.contoso.com ldaps://dc2.contoso.com\n"
	      "base_dn = dc=contoso,dc=com\n"
	      "bind_dn = cn=mbxstored,cn=Users,dc=contoso,dc=com\n"
	      "bind_password_file = /etc/mbxstore/bind.pw\n"
	      "\n"
	      "[servers]\n"
	      "SERVER1 = https://server1.contoso.com\n"
	      "SERVER2 = https://server2.contoso.com\n"
	      "\n"
	      "[forest.fabrikam]\n"
	      "domains = fabrikam.com fabrikam.net\n"
	      "autodiscover_url = https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml\n"
	      "\n"
	      "[log]\n"
	      "target = stderr\n"
	      "trace = ldap store\n"
	      ".RE\n"
	      ".fi\n"
	      ".SH FILES\n"
	      ".TP\n"
	      ".I " MBX_CONFIG_DEFAULT_PATH "\n"
	      "The configuration file.\n"
	      ".TP\n"
	      ".I conf/mbxstored.conf\n"
	      "In the source tree: a sample with every key, its help and its default.\n"
	      ".SH \"SEE ALSO\"\n"
	      ".BR mbxctl (8),\n"
	      ".BR mbxstored (8)\n",
	      f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

static void config_write_key(FILE *f, const struct mbx_config_key *k, const void *base)
{
	char buf[8192];

	config_write_format(k, base, buf, sizeof(buf));
	if (!config_write_is_set(k, base))
		fprintf(f, "#%s =\n", k->name);
	else if (buf[0] == '\0')
		fprintf(f, "%s =\n", k->name);
	else
		fprintf(f, "%s = %s\n", k->name, buf);
}

int mbx_config_write(FILE *f, const struct mbx_config *cfg)
{
	fprintf(f, "# mbxstored: effective configuration from %s\n",
	        cfg->file != NULL ? cfg->file : "(none)");
	for (size_t s = 0; s < mbx_config_nsections; s++) {
		const struct mbx_config_section *sec = &mbx_config_sections[s];

		switch (sec->kind) {
		case MBX_CONFIG_SECTION_KEYS:
			fprintf(f, "\n[%s]\n", sec->name);
			for (size_t i = 0; i < mbx_config_nkeys; i++)
				if (strcmp(mbx_config_keys[i].section, sec->name) == 0)
					config_write_key(f, &mbx_config_keys[i], cfg);
			break;
		case MBX_CONFIG_SECTION_ATTRIBUTES:
			fprintf(f, "\n[%s]\n", sec->name);
			for (size_t i = 0; i < cfg->nattrs; i++)
				fprintf(f, "%s = %s\n", cfg->attrs[i].canonical,
				        cfg->attrs[i].server);
			break;
		case MBX_CONFIG_SECTION_SERVERS:
			fprintf(f, "\n[%s]\n", sec->name);
			for (size_t i = 0; i < cfg->nservers; i++)
				fprintf(f, "%s = %s\n", cfg->servers[i].name, cfg->servers[i].url);
			break;
		case MBX_CONFIG_SECTION_FOREST:
			for (size_t j = 0; j < cfg->nforests; j++) {
				fprintf(f, "\n[forest.%s]\n", cfg->forests[j].name);
				for (size_t i = 0; i < mbx_config_nkeys; i++)
					if (strcmp(mbx_config_keys[i].section, "forest") == 0)
						config_write_key(f, &mbx_config_keys[i],
						                 &cfg->forests[j]);
			}
			break;
		}
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
