/*
 * One JSON-lines connection to the daemon's socket, as the client and the
 * worker wrapper use it: non-blocking, with bounded input and output buffers.
 */
#ifndef JSONLINE_H
#define JSONLINE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct jl_conn {
	int	 fd;			/* -1 while closed */
	pid_t	 peer_pid;		/* the listener's, from jl_open; 0 when unknown */
	char	*in_buf;		/* unread bytes are in_buf[in_head, in_len) */
	size_t	 in_head, in_len, in_cap;
	size_t	 in_scanned;		/* bytes after in_head known to hold no newline */
	size_t	 in_max;		/* longest line kept */
	bool	 in_discarding;		/* skipping the rest of an over-long line */
	char	*out_buf;		/* pending bytes are out_buf[out_head, out_len) */
	size_t	 out_head, out_len, out_cap;
	size_t	 out_max;		/* most pending output allowed */
};

enum jl_line_result {
	JL_NONE,			/* no complete line yet */
	JL_LINE,			/* *line, *len hold one line, without its newline */
	JL_TOO_LONG,			/* a line over in_max was dropped */
};

void	jl_init(struct jl_conn *c, size_t in_max, size_t out_max);
/* One comparison: cheaper inline than a call. */
static inline bool
jl_is_open(const struct jl_conn *c)
{
	return c->fd != -1;
}

/*
 * Connects a non-blocking, close-on-exec socket to path (ENAMETOOLONG when
 * it does not fit in sun_path) and, with check_owners, checks whom we talk
 * to (SPEC 4): the socket file, and the process that listens on it, must
 * belong to root or to our own user, so a path squatted by someone else
 * collects nothing. Returns 0, or -1 with errno set and why empty, or with
 * why naming the owner. Records the listener's pid in c->peer_pid.
 */
int	jl_open(struct jl_conn *c, const char *path, bool check_owners, char *why, size_t why_len);
/* Closes the socket and frees both buffers; c may be connected again. */
void	jl_close(struct jl_conn *c);
/* What to poll for: input always, output while some waits. */
static inline short
jl_poll_events(const struct jl_conn *c)
{
	return POLLIN | (c->out_len > c->out_head ? POLLOUT : 0);
}

/*
 * Reads what is there: 1 when the peer may send more, 0 at end of file, -1
 * on error. Take every line with jl_next_line after each read.
 */
int	jl_read(struct jl_conn *c);
/* The next complete line; it stays valid until the next call on c. */
enum jl_line_result jl_next_line(struct jl_conn *c, char **line, size_t *len);

/* Queues msg and a newline; -1 with errno ENOBUFS past out_max, or ENOMEM. */
int	jl_send_json(struct jl_conn *c, const cJSON *msg);
/* Writes queued output as far as the socket takes it: 0, or -1 when the peer is gone. */
int	jl_flush(struct jl_conn *c);

/*
 * Protocol helpers (SPEC section 2). jl_message makes {"id":ID} or
 * {"id":ID,"finished":true}; a NULL id is left out. jl_failure adds
 * "failed":true and "error". Both return NULL when out of memory.
 */
cJSON	*jl_message(const cJSON *id, bool finished);
cJSON	*jl_failure(const cJSON *id, const char *error);
bool	 jl_is_finished(const cJSON *msg);
bool	 jl_is_failed(const cJSON *msg);
/*
 * Parses one line (or any JSON text of len bytes). With max_depth 1 or
 * more, a line nested deeper than cJSON takes (its limit is a build
 * choice) is parsed again with every value below max_depth levels
 * replaced by null, so the outer members still read.
 */
cJSON	*jl_parse(const char *line, size_t len, int max_depth);

#endif
