/*
 * mbxctl.c: main() of the mbxstore admin tool (mbxctl(8)): the global options (-s SOCKET,
 * --json, -h, -V), the table of offline subcommands (decode), and the hand-over of every
 * daemon command (mailbox, move, report, sessions, trace, reload, help: include/mbx/admin.h) to
 * the control socket client (ctl-client.c). An offline subcommand lives in its own file and
 * exports one struct mbxctl_cmd: one file and one line in the table below.
 */
#include "mbxctl.h"

#include <stdlib.h>
#include <string.h>

#include "mbx/control.h"

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
	fprintf(f, "usage: mbxctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	           "       mbxctl -h | --help [COMMAND]\n"
	           "       mbxctl -V | --version\n");
	fprintf(f, "commands run by mbxstored (over its control socket, %s by default):\n",
	        MBX_CONTROL_DEFAULT_PATH);
	mbxctl_daemon_usage(f, NULL);
	fprintf(f, "offline commands:\n");
	for (size_t i = 0; i < MBXCTL_NCMDS; i++)
		fprintf(f, "  %-36s %s\n", mbxctl_cmds[i]->name, mbxctl_cmds[i]->help);
	fprintf(f,
	        "options:\n"
	        "  -s SOCKET   the control socket (default: $MBXCTL_SOCKET, else %s)\n"
	        "  --json      the daemon's answer as JSON\n"
	        "See mbxctl(8).\n",
	        MBX_CONTROL_DEFAULT_PATH);
}

static const struct mbxctl_cmd *mbxctl_find(const char *name)
{
	for (size_t i = 0; i < MBXCTL_NCMDS; i++)
		if (strcmp(mbxctl_cmds[i]->name, name) == 0)
			return mbxctl_cmds[i];
	return NULL;
}

/* -h [COMMAND]: the list, or one command's usage. */
static int mbxctl_help(const char *word)
{
	const struct mbxctl_cmd *cmd;

	if (word != NULL && (cmd = mbxctl_find(word)) != NULL) {
		mbxctl_usage_of(stdout, cmd);
		return MBXCTL_EXIT_OK;
	}
	if (word != NULL && mbxctl_daemon_command(word)) {
		mbxctl_daemon_usage(stdout, word);
		return MBXCTL_EXIT_OK;
	}
	mbxctl_usage(stdout);
	return MBXCTL_EXIT_OK;
}

/* An offline command; a global --json goes to it as its own --json. */
static int mbxctl_run_local(const struct mbxctl_cmd *cmd, bool json, int argc, char **argv)
{
	char **args;
	int rc;

	if (!json)
		return cmd->run(argc, argv);
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (args == NULL) {
		fprintf(stderr, "mbxctl: out of memory\n");
		return MBXCTL_EXIT_FAIL;
	}
	args[0] = argv[0];
	args[1] = (char *)"--json";
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	rc = cmd->run(argc + 1, args);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("MBXCTL_SOCKET");
	const struct mbxctl_cmd *cmd;
	bool json = false;
	int i;

	if (sock == NULL || sock[0] == '\0')
		sock = MBX_CONTROL_DEFAULT_PATH;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0)
			return mbxctl_help(i + 1 < argc ? argv[i + 1] : NULL);
		if (strcmp(o, "-V") == 0 || strcmp(o, "-v") == 0 || strcmp(o, "--version") == 0) {
			printf("mbxctl %s\n", MBX_VERSION);
			return MBXCTL_EXIT_OK;
		}
		if (strcmp(o, "--json") == 0) {
			json = true;
		} else if (strcmp(o, "-s") == 0 || strcmp(o, "--socket") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "mbxctl: %s needs a SOCKET\n", o);
				mbxctl_usage(stderr);
				return MBXCTL_EXIT_USAGE;
			}
			sock = argv[++i];
		} else if (strncmp(o, "--socket=", 9) == 0) {
			sock = o + 9;
		} else if (strcmp(o, "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "mbxctl: unknown option %s\n", o);
			mbxctl_usage(stderr);
			return MBXCTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		mbxctl_usage(stderr);
		return MBXCTL_EXIT_USAGE;
	}
	/* "help COMMAND" of an offline command is answered here, the daemon does not know it */
	if (strcmp(argv[i], "help") == 0 && i + 1 < argc && (cmd = mbxctl_find(argv[i + 1]))) {
		mbxctl_usage_of(stdout, cmd);
		return MBXCTL_EXIT_OK;
	}
	cmd = mbxctl_find(argv[i]);
	if (cmd != NULL)
		return mbxctl_run_local(cmd, json, argc - i, argv + i);
	if (mbxctl_daemon_command(argv[i]))
		return mbxctl_daemon_run(sock, json, argc - i, argv + i);
	fprintf(stderr, "mbxctl: unknown command %s\n", argv[i]);
	mbxctl_usage(stderr);
	return MBXCTL_EXIT_USAGE;
}
