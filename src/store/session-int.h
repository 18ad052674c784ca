/*
 * session-int.h: what the two files of a session context share (private to src/store; the
 * contract is include/mbx/session.h, the handlers' side include/mbx/store-rops.h):
 *
 *   session.c       the session, its server objects and their handles
 *   session-exec.c  the Execute state machine (decode, walk, resolve, execute, encode) and the
 *                   per-thread pool of Execute buffers
 */
#ifndef MBX_SESSION_INT_H
#define MBX_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/session.h"
#include "mbx/store-rops.h"

#define SESSION_BUCKETS 256
#define NLOGON_IDS 256

struct mbx_session {
	struct mbx_logon_pipeline *pipeline;
	const struct mbx_server_identity *id;
	struct mbx_defer defer;
	char *principal_dn;
	char *principal_legacy_dn;
	char *principal_name;
	struct mbx_principal *token;
	unsigned max_rops;
	unsigned max_objects;
	time_t (*clock)(void *clock_ctx);
	void *clock_ctx;

	uint32_t next_handle;
	size_t nobjects;
	struct mbx_store_obj *buckets[SESSION_BUCKETS];
	struct mbx_store_obj *logons[NLOGON_IDS];
	uint8_t public_logons[NLOGON_IDS / 8];
	struct mbx_session_exec *pending;
};

/* The session's principal for log lines (escaped into buf), or "-". */
const char *session_who(const struct mbx_session *s, char *buf, size_t size);

/* Sets or clears LogonId id in a public-logon bitmap (a set bit: a public store logon). */
static inline void session_bitmap_set(uint8_t *bm, uint8_t id, bool on)
{
	if (on)
		bm[id / 8] |= (uint8_t)(1u << (id % 8));
	else
		bm[id / 8] &= (uint8_t) ~(1u << (id % 8));
}

#endif
