/*
 * The forward table: calls the supervisor made on a target connection
 * on behalf of a caller, so the target's replies can be streamed back.
 */
#ifndef FORWARD_H
#define FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/list.h"

struct conn;
struct call;
struct fwd;

/* A connection's ends of forwards, attached to it by forward.c, which alone touches them. */
struct fwd_ends {
	DL_HEAD(fwd)	 started;		/* forwards this connection asked for */
	DL_HEAD(fwd)	 targeting;		/* forwards waiting on this connection */
	size_t		 started_count, targeting_count;
	int64_t		 next_call_id;		/* our own calls on this connection: 3, 5, 7, ... */
};

/* Sends operation (its "id" removed) to target, registered as target_id, as our next call there. */
void	 forward_start(struct call *call, struct conn *target, const char *target_id,
	    cJSON *operation, double timeout_seconds);
/* If msg answers an open forward on c, relays it and returns true. */
bool	 forward_reply(struct conn *c, cJSON *msg);
/* True while c waits for replies to forwards it started. */
bool	 forward_awaits_replies(const struct conn *c);
void	 forward_conn_gone(struct conn *c);
/* The nearest forward timeout on the monotonic clock in ms, or -1. */
int64_t	 forward_next_deadline(void);
void	 forward_expire(int64_t now_ms);
void	 forward_free_all(void);

#endif
