/*
 * mbxctl: the mbxstore admin tool. Subcommands: decode (offline ROP buffer decoder).
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-v") == 0) {
		printf("mbxctl %s\n", MBX_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: mbxctl decode [--json] [--hex] [--payload FILE] INPUT\n");
	return 2;
}
