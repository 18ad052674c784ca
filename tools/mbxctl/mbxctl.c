/*
 * mbxctl.c: main() of the mbxstore admin tool (mbxctl(8)): global options and the table of
 * subcommands. Each subcommand lives in its own file and exports one struct mbxctl_cmd;
 * adding one (mailbox show, move start|complete|abort, sessions, trace, reload, report, which
 * talk to the daemon's control socket) means one file and one line in the table below.
 */
#include "mbxctl.h"

#include <string.h>

static const struct mbxctl_cmd *const mbxctl_cmds[] = {
        &decode_cmd,
};

#define MBXCTL_NCMDS (sizeof(mbxctl_cmds) / sizeof(mbxctl_cmds[0]))

const char *mbxctl_flags_str(const struct mbxctl_flag *names, uint32_t v, char *buf, size_t size)
{
	size_t n = 0;
	uint32_t rest = v;
	char part[16];

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (v == 0) {
		snprintf(buf, size, "none");
		return buf;
	}
	for (const struct mbxctl_flag *f = names; f->name != NULL || rest != 0; f++) {
		const char *name = f->name;

		if (name == NULL) {
			snprintf(part, sizeof(part), "0x%X", rest);
			name = part;
			rest = 0;
		} else if ((v & f->bit) == f->bit) {
			rest &= ~f->bit;
		} else {
			continue;
		}
		if (n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n > 0 ? "|" : "", name);
		if (f->name == NULL)
			break;
	}
	return buf;
}

void mbxctl_usage_of(FILE *f, const struct mbxctl_cmd *cmd)
{
	fprintf(f, "usage: mbxctl %s %s\n", cmd->name, cmd->usage);
}

static void mbxctl_usage(FILE *f)
{
	fprintf(f, "usage: mbxctl [-h | --help] [-V | --version] COMMAND [ARGS]\n");
	fprintf(f, "commands:\n");
	for (size_t i = 0; i < MBXCTL_NCMDS; i++)
		fprintf(f, "  %-10s %s\n", mbxctl_cmds[i]->name, mbxctl_cmds[i]->help);
	fprintf(f, "See mbxctl(8).\n");
}

static const struct mbxctl_cmd *mbxctl_find(const char *name)
{
	for (size_t i = 0; i < MBXCTL_NCMDS; i++)
		if (strcmp(mbxctl_cmds[i]->name, name) == 0)
			return mbxctl_cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct mbxctl_cmd *cmd;

	if (argc < 2) {
		mbxctl_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc >= 3 && (cmd = mbxctl_find(argv[2])) != NULL) {
			mbxctl_usage_of(stdout, cmd);
			return MBXCTL_EXIT_OK;
		}
		mbxctl_usage(stdout);
		return MBXCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "-v") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("mbxctl %s\n", MBX_VERSION);
		return MBXCTL_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "mbxctl: unknown option %s\n", argv[1]);
		mbxctl_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	cmd = mbxctl_find(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "mbxctl: unknown command %s\n", argv[1]);
		mbxctl_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
