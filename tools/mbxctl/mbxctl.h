/*
 * mbxctl.h: what the mbxctl subcommands share: the command table entry of the offline commands
 * (tmux cmd-*.c style: one file per command, one table in mbxctl.c), the client of the
 * daemon's control socket (ctl-client.c) and the exit statuses of mbxctl(8).
 */
#ifndef MBXCTL_H
#define MBXCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (mbxctl(8), EXIT STATUS); the daemon's commands return the statuses of enum
 * mbx_control_exit (include/mbx/control.h), the same numbers. */
#define MBXCTL_EXIT_OK 0
#define MBXCTL_EXIT_FAIL 1  /* bad input, I/O error, the daemon said no */
#define MBXCTL_EXIT_USAGE 2 /* bad command line */

/* Seconds mbxctl waits for the daemon's answer (MBXCTL_TIMEOUT overrides): a move waits for
 * the directory. */
#define MBXCTL_TIMEOUT_DEFAULT 30

struct mbxctl_cmd {
	const char *name;  /* first word after "mbxctl" */
	const char *usage; /* arguments, for "usage: mbxctl <name> <usage>" */
	const char *help;  /* one line for the command list */
	/* argv[0] is the command name; returns an exit status. */
	int (*run)(int argc, char **argv);
};

/* decode.c */
extern const struct mbxctl_cmd decode_cmd;

/* ctl-client.c: the commands that run in the daemon, over its control socket. */
/* Whether word is the first word of one of them. */
bool mbxctl_daemon_command(const char *word);
/* Their usage lines: all of them as a list (word NULL), or "usage: ..." lines for word. */
void mbxctl_daemon_usage(FILE *f, const char *word);
/* Sends argv[0..argc) to the daemon listening at path, prints its answer (the body on stdout;
 * an error as "mbxctl: message" on stderr, or with json the JSON error body on stdout) and
 * returns the exit status: the daemon's, 2 for arguments the protocol cannot carry, 6 when
 * the daemon cannot be reached or its answer is not one. */
int mbxctl_daemon_run(const char *path, bool json, int argc, char **argv);

/* A flag bit and its name, for mbxctl_flags_str(); tables end with {0, NULL}. */
struct mbxctl_flag {
	uint32_t bit;
	const char *name;
};

/* "Name1|Name2" for the bits of v named in names, then "|0x..." for the bits left over; "none"
 * for 0. Cut to size - 1 characters if longer. Returns buf. */
const char *mbxctl_flags_str(const struct mbxctl_flag *names, uint32_t v, char *buf, size_t size);

/* Prints "usage: mbxctl <name> <usage>" to f. */
void mbxctl_usage_of(FILE *f, const struct mbxctl_cmd *cmd);

#endif
