/*
 * The protocol: parsing request lines, routing replies to open calls,
 * the supervisor's operations and the forward table.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct conn;

enum restart_target { RESTART_PARENT, RESTART_GROUP, RESTART_NONE };

/* An incoming request being served. */
struct rpc_call {
	struct conn	*conn;
	const cJSON	*id;		/* NULL when the request had none */
	cJSON		*msg;
	const char	*line;		/* the text msg was parsed from */
	size_t		 line_len;
};

/* Also remembers the current parent: only that process is ever signalled. */
/* original_parent: getppid() as main() first saw it, before any fork. */
void	 rpc_set_restart_target(enum restart_target target, pid_t original_parent);
void	 rpc_conn_init(struct conn *c);
/* line is NUL-terminated at line[len] and holds no newline. */
void	 rpc_handle_line(struct conn *c, char *line, size_t len);
/* start holds the first len bytes of the line (all of it, or what was kept). */
void	 rpc_line_too_long(struct conn *c, const char *start, size_t len);
/* The connection is going away: unregister it and settle its forwards. */
void	 rpc_conn_gone(struct conn *c);
/* True while c waits for replies to calls it started (forwards). */
bool	 rpc_conn_awaits_replies(const struct conn *c);
/* The nearest forward timeout on the monotonic clock in ms, or -1. */
int64_t	 rpc_next_deadline(void);
void	 rpc_expire(int64_t now_ms);

/* Replies to a call. fields (may be NULL) is read, not consumed. */
void	 rpc_reply(const struct rpc_call *call, const cJSON *fields);
void	 rpc_finish(const struct rpc_call *call, const cJSON *fields);
void	 rpc_fail(const struct rpc_call *call, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Lower-level senders, for forwards: id may be NULL, fields may be NULL. */
void	 rpc_send_message(struct conn *c, const cJSON *id, bool finished, const cJSON *fields);
void	 rpc_send_failure(struct conn *c, const cJSON *id, const char *error, const cJSON *extra);

#endif
