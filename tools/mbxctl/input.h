/*
 * input.h: reading what a user hands to mbxctl: a whole file or standard input, as raw bytes
 * or as hex text (mbxctl(8), decode, INPUT).
 */
#ifndef MBXCTL_INPUT_H
#define MBXCTL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

/* Reads all of path ("-" = standard input) into a malloc'ed buffer (*buf_r, freed by the
 * caller; never NULL on success, even for an empty file). More than max bytes is an error.
 * Returns 0, or -1 with a message ("cannot open x: No such file or directory") in err. */
int input_read(const char *path, size_t max, uint8_t **buf_r, size_t *len_r, char *err,
               size_t errlen);

/* Converts hex text to bytes. Tokens are separated by white space; each may start with 0x or
 * 0X; every token must hold an even number of hex digits (either case). out must hold
 * len / 2 bytes. On error, r (a reader over the text, from rd_init(r, text, len, 0)) fails
 * with the offset of the bad character or of the odd token and a message naming its line
 * and column. Returns 0 and *out_len_r, or -1. */
int input_hex_decode(struct rd *r, uint8_t *out, size_t *out_len_r);

#endif
