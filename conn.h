/*
 * Connections: accepting, line framing of input, buffered non-blocking
 * output, and closing at one safe point.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/list.h"

struct registration;
struct fwd_ends;
struct pollfd;

/* A connection's transport. The parts other modules keep about it hang off it, each owned by its module. */
struct conn {
	int		 fd;
	pid_t		 peer_pid;		/* SO_PEERCRED at accept */
	uid_t		 peer_uid;
	int64_t		 accepted_boot_ms;	/* CLOCK_BOOTTIME at accept, to tell a reused peer pid */
	uint64_t	 serial;		/* never reused; names the connection in logs */
	size_t		 index;			/* position in the connection array */
	bool		 closing;		/* closed, freed at the next conn_settle() */
	bool		 flush_queued;
	bool		 read_closed;		/* the peer shut down its writing side */
	bool		 in_discarding;		/* skipping the rest of an over-long line */
	bool		 in_held;		/* whole lines wait in in_buf until the peer reads */
	bool		 awaits_big_lines;	/* replies to forwards may be up to max_reply */

	char		*in_buf;		/* the start of a line; more while in_held */
	size_t		 in_len, in_cap;
	char		*out_buf;		/* pending bytes are out_buf[out_head, out_len) */
	size_t		 out_head, out_len, out_cap;
	int64_t		 out_progress_ms;	/* monotonic: output last went out, or began to wait */
	DL_ENTRY(conn)	 pending_link;		/* while output waits: the drain checks */

	DL_ENTRY(conn)	 flush_link;		/* while flush_queued */
	struct conn	*closed_next;

	/* Attached and freed by their owners; NULL until first needed. */
	struct registration *registration;	/* registry.c */
	struct fwd_ends	*fwd_ends;		/* forward.c */
};

/*
 * What the connection layer hands up, to handlers it is given: it names
 * no module above it.
 */
struct conn_handlers {
	/* A complete line, NUL-terminated at line[len], without its newline. */
	void	(*line)(struct conn *c, char *line, size_t len);
	/* start holds the first len bytes of the line: all of it, or what was kept. */
	void	(*line_too_long)(struct conn *c, const char *start, size_t len);
	/* True while c waits for replies to calls it started: it is not done yet. */
	bool	(*awaits_replies)(const struct conn *c);
	/* c is about to be freed: drop everything that points at it. */
	void	(*gone)(struct conn *c);
};

/* Set once, before the first accept; handlers must outlive the connections. */
void		 conn_set_handlers(const struct conn_handlers *handlers);

struct conn_limits {
	size_t	max_message;		/* longest line accepted */
	size_t	max_reply;		/* longest reply to a forward accepted */
	size_t	max_buffer;		/* pending output before a peer is dropped */
	size_t	max_output_total;	/* output memory across all peers; see conn.c */
	size_t	max_connections;
};

extern struct conn_limits conn_limits;

enum conn_accept_result {
	CONN_ACCEPT_OK,			/* drained the backlog, or took a fair share */
	CONN_ACCEPT_AT_LIMIT,		/* at max_connections: pause until one closes */
	CONN_ACCEPT_NO_RESOURCES,	/* out of fds or memory: pause for a while */
};

enum conn_accept_result conn_accept_ready(int listen_fd);
size_t		 conn_count(void);
struct conn	*conn_at(size_t index);
/* The first count connections' fds and the events each waits for, into pfds. */
void		 conn_poll_set(struct pollfd *pfds, size_t count);
void		 conn_handle_events(struct conn *c, short revents);
/*
 * Call before queueing a message for c. False when c is closing, or when it
 * still has more than max_buffer bytes of unread output after a write
 * attempt: then it does not read its replies, and it is dropped.
 */
bool		 conn_accepts_output(struct conn *c);
/* Queues bytes for c; a message is queued as several pieces. */
void		 conn_send(struct conn *c, const char *data, size_t len);
/*
 * Room for len bytes at the end of c's output, where a message is made in
 * place; conn_send_commit() then queues the first len of them. NULL when
 * c is closing, or out of memory (then it is closed).
 */
char		*conn_send_room(struct conn *c, size_t len);
void		 conn_send_commit(struct conn *c, size_t len);
/*
 * Queues buf[start, start + len) for c and takes buf (cap bytes, from
 * malloc): a big message is not copied when nothing else is waiting.
 */
void		 conn_send_owned(struct conn *c, char *buf, size_t start, size_t len, size_t cap);
void		 conn_close(struct conn *c, const char *reason);
/* The line limit of c is max_reply while it owes replies to forwards. */
void		 conn_expect_replies(struct conn *c, bool expect);
/* When a peer whose output does not drain must be looked at, or -1. */
int64_t		 conn_next_deadline(void);
void		 conn_expire(int64_t now_ms);
/* Writes c's queued output now, as far as the socket takes it. */
void		 conn_flush_now(struct conn *c);
/* A call c started has ended: a half-closed c may now be done. */
void		 conn_call_ended(struct conn *c);
/* Writes what every connection has queued, then frees closed connections. */
void		 conn_settle(void);
bool		 conn_closed_since_last_settle(void);
void		 conn_close_all(void);

#endif
