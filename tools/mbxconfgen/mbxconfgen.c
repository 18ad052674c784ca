/*
 * mbxconfgen.c: prints what comes from the configuration table (src/daemon/config-table.c,
 * conventions.md "Configuration"): the sample file conf/mbxstored.conf and the manual
 * docs/man/mbxstored.conf.5, so that they cannot drift from the parser; and, for checking a
 * file by hand, its errors or its effective configuration.
 *
 *   mbxconfgen sample        the sample configuration, on standard output
 *   mbxconfgen man           mbxstored.conf(5), on standard output
 *   mbxconfgen check FILE    loads FILE: exit 0, or its errors on standard error and exit 1
 *   mbxconfgen dump FILE     loads FILE and prints every key's effective value
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/config.h"

static int usage(void)
{
	fputs("usage: mbxconfgen sample | man | check FILE | dump FILE\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct mbx_config cfg;
	char *err;
	int rc;

	if (argc == 2 && strcmp(argv[1], "sample") == 0)
		return mbx_config_write_sample(stdout) == 0 ? 0 : 1;
	if (argc == 2 && strcmp(argv[1], "man") == 0)
		return mbx_config_write_man(stdout) == 0 ? 0 : 1;
	if (argc != 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "dump") != 0))
		return usage();
	err = malloc(65536);
	if (err == NULL) {
		fputs("mbxconfgen: out of memory\n", stderr);
		return 1;
	}
	if (mbx_config_load(argv[2], &cfg, err, 65536) < 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	free(err);
	rc = 0;
	if (strcmp(argv[1], "dump") == 0)
		rc = mbx_config_write(stdout, &cfg) == 0 ? 0 : 1;
	mbx_config_free(&cfg);
	return rc;
}
