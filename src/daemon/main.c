/*
 * main.c: mbxstored's main(): the command line of mbxstored(8) (-c FILE, -f, -n, -v, -h), then
 * src/daemon/daemon.c does the rest. Not part of mbxcore (CMakeLists.txt builds this file alone
 * as the executable).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mbx/config.h"
#include "mbx/daemon.h"

#ifndef MBX_VERSION
#define MBX_VERSION "dev"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mbxstored [-f] [-c FILE]\n"
		"       mbxstored -n [-v] [-c FILE]\n"
		"       mbxstored -v | -h\n"
		"\n"
		"  -c FILE  configuration file (default %s)\n"
		"  -f       stay in the foreground and log to stderr\n"
		"  -n       check the configuration and exit (with -v: print it in full)\n"
		"  -v       print the version and exit\n"
		"  -h       print this help and exit\n"
		"\n"
		"See mbxstored(8) and mbxstored.conf(5).\n",
		MBX_CONFIG_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	struct mbx_daemon_options opt = {.config_path = MBX_CONFIG_DEFAULT_PATH};
	bool check = false, version = false;
	int c;

	while ((c = getopt(argc, argv, "c:fnvh")) != -1) {
		switch (c) {
		case 'c':
			opt.config_path = optarg;
			break;
		case 'f':
			opt.foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			version = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mbxstored: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return mbx_daemon_check(opt.config_path, version, stdout, stderr);
	if (version) {
		printf("mbxstored %s\n", MBX_VERSION);
		return 0;
	}
	return mbx_daemon_run(&opt);
}
