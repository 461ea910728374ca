/*
 * The forward table: calls the supervisor made on a target connection
 * on behalf of a caller, so the target's replies can be streamed back.
 */
#ifndef FORWARD_H
#define FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct conn;
struct rpc_call;

/* Sends operation (its "id" removed) to target as our next call there. */
void	 forward_start(struct rpc_call *call, struct conn *target, cJSON *operation,
	    double timeout_seconds);
/* If msg answers an open forward on c, relays it and returns true. */
bool	 forward_reply(struct conn *c, cJSON *msg);
void	 forward_conn_gone(struct conn *c);
int64_t	 forward_next_deadline(void);
void	 forward_expire(int64_t now_ms);
void	 forward_free_all(void);

#endif
