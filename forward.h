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
/*
 * The same for an operation at call->line[start, end) that the caller
 * checked is an object without control bytes, sent as written. False, and
 * nothing done, when it cannot be: a name written with escapes, no 'do'
 * string first, or a target taking no output.
 */
bool	 forward_start_text(struct call *call, struct conn *target, const char *target_id,
	    size_t start, size_t end);
/*
 * If msg answers an open forward on c, relays it and returns true. line
 * is the text msg was parsed from: the reply is relayed as written.
 */
bool	 forward_reply(struct conn *c, cJSON *msg, const char *line, size_t len);
enum relay_result { RELAY_DONE, RELAY_NOT_A_REPLY, RELAY_NEEDS_TREE };
/*
 * The same from the text alone, without a tree, in one pass: a reply with
 * plain member names and no repeated id/do/finished is relayed (DONE); a
 * line whose id names no open forward is NOT_A_REPLY; anything unusual or
 * invalid NEEDS_TREE (the parser and the general path deal with it).
 */
enum relay_result forward_relay_text(struct conn *c, const char *line, size_t len);
/* The same for a valid line too big to parse into a tree. */
bool	 forward_big_reply(struct conn *c, const char *line, size_t len);
/* A line from c could not be read (error says why): fails the forward it answers, if any. */
bool	 forward_reply_failed(struct conn *c, const char *line, size_t len, const char *error);
/* A line from c past the reply limit; start holds its first len bytes. */
bool	 forward_reply_too_long(struct conn *c, const char *start, size_t len);
/* True while forwards wait on replies from c. */
bool	 forward_is_target(const struct conn *c);
/* True while c waits for replies to forwards it started. */
bool	 forward_awaits_replies(const struct conn *c);
void	 forward_conn_gone(struct conn *c);
/* The nearest forward timeout on the monotonic clock in ms, or -1. */
int64_t	 forward_next_deadline(void);
void	 forward_expire(int64_t now_ms);
void	 forward_free_all(void);

#endif
