/*
 * The reply writer: every message the daemon sends on a connection is
 * written here, into one reused buffer, then queued with one conn_send.
 * Routing, forwards and monitors all write through it; it calls only the
 * connection layer and the JSON writer below it.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/jsonw.h"

struct conn;

/* A request being served: whom to answer, and with which id. */
struct call {
	struct conn	*conn;
	const cJSON	*id;		/* NULL when the request had none */
	cJSON		*msg;
	const char	*line;		/* the text msg was parsed from */
	size_t		 line_len;
};

/*
 * Starts a message {"id":ID,"finished":true. The caller appends members,
 * each with a leading comma (jsonw_key places it), then reply_end queues
 * the message on c. Call conn_accepts_output(c) first.
 */
struct jsonw	*reply_begin(const cJSON *id, bool finished);
void		 reply_end(struct conn *c);
/*
 * Ends it with more bytes that the caller writes in place, at the pointer
 * returned, then queues all *len of them with conn_send_commit(c, *len).
 * NULL when nothing is left to do: c is closing, memory ran out (a failure
 * has been sent then), or, with more 0, a big message was queued whole.
 */
char		*reply_end_room(struct conn *c, size_t more, size_t *len);

/* A whole message: id and fields may be NULL; fields is read, not consumed. */
void	 reply_message(struct conn *c, const cJSON *id, bool finished, const cJSON *fields);
/* A final failure: {"id":…,"finished":true,"failed":true,"error":…, extra's members}. */
void	 reply_failure(struct conn *c, const cJSON *id, const char *error, const cJSON *extra);

/* Answers to a call. */
void	 reply_send(const struct call *call, const cJSON *fields);
void	 reply_finish(const struct call *call, const cJSON *fields);
void	 reply_fail(const struct call *call, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
