/*
 * The operations a worker wrapper answers when the daemon forwards them:
 * diagnostics of its child read from /proc, and signalling it.
 */
#ifndef WORKER_OPS_H
#define WORKER_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/log.h"	/* PRINTF_LIKE */

struct wops_child {
	pid_t		 pid;		/* 0 while no child runs */
	const char	*name;
	const char	*command;
	unsigned	 restarts;
	const char	*absence;	/* why no child runs, when pid is 0 */
	const char	*status;	/* "running", "backoff", ... as published */
};

/* Queues one message to the daemon; the caller keeps msg. */
typedef void	(*wops_send_fn)(const cJSON *msg);

/* The child's life belongs to the wrapper: stop and start are its to serve. */
struct wops_control {
	/* TERM to the child's group, KILL after timeout_ms; no respawn until start. */
	void	(*stop)(const cJSON *id, int64_t timeout_ms);
	void	(*start)(const cJSON *id);
};

void	wops_init(wops_send_fn send, const struct wops_control *control);
/*
 * The directory memory_dump writes beneath (opened now, so a later rename
 * of the path changes nothing). Returns 0, or -1 with errno set.
 */
int	wops_set_dump_dir(const char *path);
void	wops_close_dump_dir(void);
/* Fails the call id (the final reply, "failed":true) with a message as printf makes it. */
void	wops_fail(const cJSON *id, const char *fmt, ...) PRINTF_LIKE(2, 3);
/*
 * Sets members of object from a list "key:T key:T ..." and one argument
 * but t: T is n (a double; NaN for null), s (a string; NULL for null), j (a cJSON value,
 * copied; NULL for null) or t (true, no argument). A member object has
 * already keeps its place. Returns false when out of memory.
 */
bool	wops_add(cJSON *object, const char *members, ...);
/* Serves one request (a message with "do"); replies go through send. */
void	wops_serve(const cJSON *request, const struct wops_child *child);
/* The next sample due on the monotonic clock in ms, or -1 when none is. */
int64_t	wops_next_deadline(void);
void	wops_run_due(int64_t now_ms);
/* The child pid has exited (how says so in words): fail the calls that follow it. */
void	wops_child_exited(pid_t pid, const char *how);
/* The connection is gone: the daemon failed those calls already; forget them. */
void	wops_forget_all(void);

#endif
