/*
 * json.h: a small streaming JSON writer (RFC 8259) for machine-readable tool output
 * (`mbxctl decode --json`, later `mbxctl report`). It writes into a growable memory buffer or
 * straight to a FILE *. Strings are escaped completely: quote, backslash and every control byte
 * (U+0000..U+001F and U+007F) get a JSON escape, and bytes that are not well-formed UTF-8 are
 * replaced by U+FFFD (written as "\ufffd"), one per bad byte, so the output is always valid
 * UTF-8 whatever the input. Byte strings that must survive exactly go through mbx_json_hex().
 *
 * Errors are sticky, like struct rd: a write error, an allocation failure, nesting deeper than
 * MBX_JSON_MAXDEPTH, or a misuse (a value where a key is due, an end that closes the wrong kind
 * of container, a second top-level value) sets the error flag; later calls do nothing, and
 * mbx_json_finish() reports it once. Nothing here asserts or aborts.
 */
#ifndef MBX_JSON_H
#define MBX_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MBX_JSON_MAXDEPTH 32

/* Flags for mbx_json_init_*(). */
#define MBX_JSON_PRETTY 0x1 /* newlines and two-space indentation; compact without it */
#define MBX_JSON_ASCII 0x2  /* escape every non-ASCII character as \uXXXX (surrogate pairs) */

struct mbx_json {
	FILE *f;   /* destination, or NULL for the memory buffer */
	char *buf; /* memory buffer (NUL-terminated while len < cap), owned by the writer */
	size_t len;
	size_t cap;
	unsigned flags;
	int depth;                         /* open containers */
	char kind[MBX_JSON_MAXDEPTH];      /* '{' or '[' per open container */
	unsigned count[MBX_JSON_MAXDEPTH]; /* members written in each open container */
	bool want_value;                   /* a key was written, its value is due */
	bool done;                         /* the top-level value is complete */
	bool err;
	const char *err_msg; /* static text naming the first error */
};

/* Starts a document written into a growable buffer (read it with mbx_json_text()). */
void mbx_json_init_buf(struct mbx_json *j, unsigned flags);
/* Starts a document written to f (not closed by the writer). */
void mbx_json_init_file(struct mbx_json *j, FILE *f, unsigned flags);
/* Frees the memory buffer, if any. NULL-safe; the writer may be initialised again after. */
void mbx_json_deinit(struct mbx_json *j);

void mbx_json_obj_begin(struct mbx_json *j);
void mbx_json_obj_end(struct mbx_json *j);
void mbx_json_arr_begin(struct mbx_json *j);
void mbx_json_arr_end(struct mbx_json *j);

/* An object member name; the next call must write its value. key is a C string (escaped like
 * any string). */
void mbx_json_key(struct mbx_json *j, const char *key);

/* Values. s == NULL writes null. */
void mbx_json_str(struct mbx_json *j, const char *s);
/* n bytes of s, which may hold NULs (escaped as \u0000). */
void mbx_json_strn(struct mbx_json *j, const char *s, size_t n);
/* A string from a printf format (at most 1024 bytes after formatting; longer output is an
 * error, never silently cut). */
void mbx_json_strf(struct mbx_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbx_json_int(struct mbx_json *j, int64_t v);
void mbx_json_uint(struct mbx_json *j, uint64_t v);
void mbx_json_bool(struct mbx_json *j, bool v);
void mbx_json_null(struct mbx_json *j);
/* n bytes as a string of lower-case hex digit pairs ("" for n == 0). */
void mbx_json_hex(struct mbx_json *j, const void *p, size_t n);
/* An unsigned value as the string "0x" followed by at least `digits` upper-case hex digits,
 * zero-padded (digits is clamped to 1..16; more digits appear when v needs them):
 * mbx_json_hexnum(j, 0x45, 8) writes "0x00000045". */
void mbx_json_hexnum(struct mbx_json *j, uint64_t v, int digits);

/* Key + value shorthands. */
void mbx_json_kv_str(struct mbx_json *j, const char *key, const char *s);
void mbx_json_kv_int(struct mbx_json *j, const char *key, int64_t v);
void mbx_json_kv_uint(struct mbx_json *j, const char *key, uint64_t v);
void mbx_json_kv_bool(struct mbx_json *j, const char *key, bool v);
void mbx_json_kv_hex(struct mbx_json *j, const char *key, const void *p, size_t n);
void mbx_json_kv_hexnum(struct mbx_json *j, const char *key, uint64_t v, int digits);

/* Ends the document: checks that exactly one complete top-level value was written, adds a
 * final newline, and flushes a FILE destination. Returns 0, or -1 if the writer is in error
 * (then *err_r, if not NULL, gets a static message such as "nesting deeper than 32"). */
int mbx_json_finish(struct mbx_json *j, const char **err_r);

/* The memory buffer's text (NUL-terminated, "" if nothing was written) and, if len_r is not
 * NULL, its length; owned by the writer, valid until the next write or mbx_json_deinit().
 * NULL for a FILE writer and for a writer in error. */
const char *mbx_json_text(const struct mbx_json *j, size_t *len_r);

static inline bool mbx_json_ok(const struct mbx_json *j)
{
	return !j->err;
}

#endif
