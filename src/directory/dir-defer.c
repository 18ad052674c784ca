/*
 * dir-defer.c: struct mbx_defer on libevent (include/mbx/defer-event.h), for the daemon and
 * everything else that runs src/store on an event loop (design.md "One request, end to end":
 * answers of the resolve phase always come from the loop). It lives here because src/store
 * must not include event2/ (conventions.md "Layout") and the directory layer already runs on
 * libevent.
 *
 * A handle is an event without fd or timeout, activated by event_active(): libevent then runs
 * it from its active queue, after the running callback has returned, without a system call and
 * without waiting for I/O. event_active() on an event that is already active only merges the
 * result flags, which gives "scheduling twice runs once". libevent removes a non-persistent
 * event from the active queue before calling it and does not touch it after the call returns,
 * so the function may free (or reschedule) its own handle.
 */
#include "mbx/defer-event.h"

#include <stdlib.h>

#include <event2/event.h>

struct dir_defer {
	struct event *ev;
	mbx_defer_fn *fn;
	void *arg;
};

static void dir_defer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct dir_defer *d = arg;

	(void)fd;
	(void)what;
	d->fn(d->arg);
}

static void *dir_defer_create(void *loop, mbx_defer_fn *fn, void *arg)
{
	struct dir_defer *d;

	if (loop == NULL || fn == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->fn = fn;
	d->arg = arg;
	d->ev = event_new(loop, -1, 0, dir_defer_fire, d);
	if (d->ev == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static void dir_defer_schedule(void *handle)
{
	struct dir_defer *d = handle;

	if (d != NULL)
		event_active(d->ev, EV_TIMEOUT, 1);
}

static void dir_defer_destroy(void *handle)
{
	struct dir_defer *d = handle;

	if (d == NULL)
		return;
	event_free(d->ev); /* deletes it first: a scheduled run is cancelled */
	free(d);
}

const struct mbx_defer_ops mbx_dir_defer_ops = {
        .create = dir_defer_create,
        .schedule = dir_defer_schedule,
        .destroy = dir_defer_destroy,
};

void mbx_dir_defer_init(struct mbx_defer *d, struct event_base *base)
{
	d->ops = &mbx_dir_defer_ops;
	d->loop = base;
}

void mbx_dir_defer_cancel(void *handle)
{
	struct dir_defer *d = handle;

	if (d != NULL)
		event_del(d->ev); /* also takes an active event off the active queue */
}

bool mbx_dir_defer_pending(const void *handle)
{
	const struct dir_defer *d = handle;

	return d != NULL && event_pending(d->ev, EV_TIMEOUT, NULL) != 0;
}
