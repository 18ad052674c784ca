/*
 * mbxctl.h: what the mbxctl subcommands share: the command table entry (tmux cmd-*.c style:
 * one file per command, one table in mbxctl.c) and the exit statuses of mbxctl(8).
 */
#ifndef MBXCTL_H
#define MBXCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (mbxctl(8), EXIT STATUS). */
#define MBXCTL_EXIT_OK 0
#define MBXCTL_EXIT_FAIL 1  /* bad input, I/O error, the daemon said no */
#define MBXCTL_EXIT_USAGE 2 /* bad command line */

struct mbxctl_cmd {
	const char *name;  /* first word after "mbxctl" */
	const char *usage; /* arguments, for "usage: mbxctl <name> <usage>" */
	const char *help;  /* one line for the command list */
	/* argv[0] is the command name; returns an exit status. */
	int (*run)(int argc, char **argv);
};

/* decode.c */
extern const struct mbxctl_cmd decode_cmd;

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
