/*
 * fuzz-config.c: libFuzzer harness for mbxstored's configuration parser (src/daemon/config.c,
 * conventions.md "Configuration"): the input is parsed as a configuration file the way the
 * daemon loads one (mbx_config_parse: inih's ini_parse_stream over our line reader, our
 * handler, the table, the rules between keys). Every error must name the file and none may
 * say "internal:" (inih and our line classification disagreeing); a configuration that
 * loads must come back identical through mbx_config_write and a second parse, and its views
 * for the modules are built. No crash, no leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_write(const struct mbx_config *cfg, size_t *len_r)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len_r);

	if (f == NULL || mbx_config_write(f, cfg) != 0)
		abort();
	fclose(f);
	return buf;
}

static void fuzz_check_errors(const char *err)
{
	const char *line = err;

	while (*line != '\0') {
		size_t n = strcspn(line, "\n");

		if (strncmp(line, "fuzz.conf:", 10) == 0) {
			/* "fuzz.conf:LINE: what" or "fuzz.conf: what"; what never "internal:" */
			size_t digits = strspn(line + 10, "0123456789");
			const char *what = line + 10 + digits;

			if (digits > 0 && *what++ != ':')
				abort();
			if (*what != ' ' || strncmp(what + 1, "internal:", 9) == 0)
				abort();
		} else if (line[0] != '(' && strncmp(line, "too many errors", 15) != 0 &&
		           strncmp(line, "out of memory", 13) != 0) {
			abort();
		}
		line += n;
		if (*line == '\n')
			line++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[16384];
	struct mbx_config cfg, again;
	struct mbx_dir_config dc;
	struct mbx_server_identity id;
	struct mbx_mailbox_table_config tc;
	char *a, *b;
	size_t alen, blen;

	if (mbx_config_parse("fuzz.conf", (const char *)data, size, &cfg, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); /* a failure always says why */
		fuzz_check_errors(err);
		return 0;
	}
	mbx_config_dir_config(&cfg, &dc);
	mbx_config_server_identity(&cfg, &id);
	mbx_config_table_config(&cfg, &tc);
	if (dc.backend == NULL || id.name == NULL || id.nforests != cfg.nforests)
		abort();
	for (size_t i = 0; i < cfg.nservers; i++)
		if (mbx_config_server_url(&cfg, cfg.servers[i].name) == NULL)
			abort();
	a = fuzz_write(&cfg, &alen);
	if (mbx_config_parse("fuzz.conf", a, alen, &again, err, sizeof(err)) != 0) {
		fprintf(stderr, "reload failed: %s\n%s", err, a);
		abort();
	}
	b = fuzz_write(&again, &blen);
	if (alen != blen || memcmp(a, b, alen) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n---\n%s", a, b);
		abort();
	}
	free(a);
	free(b);
	mbx_config_free(&again);
	mbx_config_free(&cfg);
	return 0;
}
