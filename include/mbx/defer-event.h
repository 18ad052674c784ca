/*
 * defer-event.h: the libevent implementation of struct mbx_defer (include/mbx/mailbox-table.h),
 * the zero-delay deferral that src/store uses to call back "from the event loop, never from
 * inside a call" (design.md "One request, end to end": the resolve phase) without including
 * event2/ itself. The daemon, the tools and the tests hand it to the mailbox table, the
 * principal resolver and the logon pipeline:
 *
 *     struct mbx_mailbox_table_config tc = {...};
 *     mbx_dir_defer_init(&tc.defer, base);
 *
 * A handle is one event with no file descriptor and no timeout; scheduling makes it active
 * (event_active), so it runs in the current or the next round of the loop, after the callback
 * that scheduled it has returned, and before the loop waits for I/O again. Scheduling a handle
 * that is already scheduled is a no-op (it runs once). Destroying a handle cancels a scheduled
 * run, and a handle may be destroyed or rescheduled from inside its own function.
 */
#ifndef MBX_DEFER_EVENT_H
#define MBX_DEFER_EVENT_H

#include <stdbool.h>

#include "mbx/mailbox-table.h"

struct event_base;

/* The operations: create(loop = struct event_base *, fn, arg), schedule, destroy. */
extern const struct mbx_defer_ops mbx_dir_defer_ops;

/* Fills *d to run deferred calls on base. */
void mbx_dir_defer_init(struct mbx_defer *d, struct event_base *base);

/* Cancels a scheduled run of handle without freeing it (it can be scheduled again). NULL-safe. */
void mbx_dir_defer_cancel(void *handle);
/* Whether a run of handle is scheduled and has not started yet. False for NULL. */
bool mbx_dir_defer_pending(const void *handle);

#endif
