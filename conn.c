#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"
#include "conn.h"
#include "lib/log.h"
#include "lib/trim.h"

#define READ_CHUNK		65536
#define READS_PER_WAKEUP	16	/* then let other connections have a turn */
#define ACCEPTS_PER_WAKEUP	1024
#define IN_BUF_MIN		256
#define OUT_BUF_MIN		512
#define DRAIN_MS		1000	/* output that does not move for this long is not drained */
#define BIG_BUFFER		(1024 * 1024)	/* freeing one gives the heap back */
#define SPARE_OUT_MAX		4096	/* a status reply of a few registrations fits */

struct conn_limits conn_limits = {
	.max_message = 1024 * 1024,
	.max_reply = 16 * 1024 * 1024,
	.max_buffer = 4 * 1024 * 1024,
	.max_output_total = 32 * 1024 * 1024,
	.max_connections = 16384,
};

static struct conn **conns;		/* dense: conns[i]->index == i */
static size_t conns_len, conns_cap;
static uint64_t next_serial = 1;
static const struct conn_handlers *handlers;
static DL_HEAD(conn) flush_list;	/* queued output, or a half-closed peer to look at */
static struct conn *closed_list;
static bool closed_since_settle;
static bool accept_paused;		/* so a long pause is logged once, not per retry */
/*
 * The output budget. Each peer's pending output is bounded by the high-water
 * mark (no request of its own is read above it) plus one reply, but any
 * number of peers may each ask for one big reply and never read it. So the
 * memory of all output buffers together is counted in out_total, and while
 * it is over max_output_total no peer's input is served at all (it stays in
 * the kernel: backpressure for everyone), which bounds the total at the
 * budget plus one reply. What frees the budget: peers reading, or peers
 * whose output has not moved for DRAIN_MS being dropped, the largest first.
 * A peer that reads is never dropped for the budget; it only waits.
 */
static size_t out_total;
static bool over_budget_seen;		/* input was held for the budget; resume it once under */
static DL_HEAD(conn) pending_list;	/* peers with output waiting, for the drain checks */
/* Lines are framed in place here, so idle connections hold no buffer at all. */
static char read_scratch[READ_CHUNK + 1];
/* The largest small output buffer freed is kept: a call and its reply need no malloc. */
static char *spare_out;
static size_t spare_out_cap;

static void	flush(struct conn *c);

void
conn_set_handlers(const struct conn_handlers *h)
{
	handlers = h;
}

size_t
conn_count(void)
{
	return conns_len;
}

struct conn *
conn_at(size_t index)
{
	return conns[index];
}

static size_t
pending_output(const struct conn *c)
{
	return c->out_len - c->out_head;
}

static bool
over_budget(void)
{
	return out_total > conn_limits.max_output_total;
}

void
conn_poll_set(struct pollfd *pfds, size_t count)
{
	/* Backpressure: unread requests stay in the kernel while replies wait. */
	bool held = over_budget();

	for (size_t i = 0; i < count; i++) {
		const struct conn *c = conns[i];
		short events = c->read_closed || c->in_held || held ? 0 : POLLIN;

		if (pending_output(c) > 0)
			events |= POLLOUT;
		pfds[i] = (struct pollfd){ .fd = c->fd, .events = events };
	}
}

/* Accepting */

static int
track(struct conn *c)
{
	if (conns_len == conns_cap) {
		size_t new_cap = conns_cap ? conns_cap * 2 : 64;
		struct conn **grown = realloc(conns, new_cap * sizeof(*conns));
		if (grown == NULL)
			return -1;
		conns = grown;
		conns_cap = new_cap;
	}
	c->index = conns_len;
	conns[conns_len++] = c;
	return 0;
}

static void
untrack(struct conn *c)
{
	struct conn *last = conns[--conns_len];

	conns[c->index] = last;
	last->index = c->index;
}

static void
read_peer_credentials(struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->peer_pid = cred.pid;
		c->peer_uid = cred.uid;
	} else {
		log_warn("connection %llu: cannot read peer credentials",
		    (unsigned long long)c->serial);
	}
}

static void
adopt(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || track(c) == -1) {
		log_warnx("refusing connection: out of memory connections=%zu", conns_len);
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->serial = next_serial++;
	c->accepted_boot_ms = clock_ms(CLOCK_BOOTTIME);
	read_peer_credentials(c);
	log_debug("connection opened conn=%llu fd=%d pid=%ld uid=%lu",
	    (unsigned long long)c->serial, fd, (long)c->peer_pid,
	    (unsigned long)c->peer_uid);
}

static enum conn_accept_result
pause_accepting(enum conn_accept_result why)
{
	if (!accept_paused) {
		if (why == CONN_ACCEPT_AT_LIMIT)
			log_warnx("not accepting: at the connection limit connections=%zu max_connections=%zu",
			    conns_len, conn_limits.max_connections);
		else
			log_warn("not accepting for now: out of resources connections=%zu", conns_len);
	}
	accept_paused = true;
	return why;
}

enum conn_accept_result
conn_accept_ready(int listen_fd)
{
	for (int accepted = 0; accepted < ACCEPTS_PER_WAKEUP; accepted++) {
		int fd;

		if (conns_len >= conn_limits.max_connections)
			return pause_accepting(CONN_ACCEPT_AT_LIMIT);
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
				continue;
			case EAGAIN:
				return CONN_ACCEPT_OK;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				return pause_accepting(CONN_ACCEPT_NO_RESOURCES);
			default:
				log_warn("cannot accept a connection connections=%zu", conns_len);
				return CONN_ACCEPT_OK;
			}
		}
		if (accept_paused)
			log_info("accepting again connections=%zu", conns_len);
		accept_paused = false;
		adopt(fd);
	}
	return CONN_ACCEPT_OK;
}

/* Output */

static void
queue_flush(struct conn *c)
{
	if (c->flush_queued || c->closing)
		return;
	c->flush_queued = true;
	DL_INSERT_HEAD(&flush_list, c, flush_link);
}

static int
reserve_output(struct conn *c, size_t len)
{
	size_t pending = pending_output(c);
	size_t needed = pending + len;
	size_t new_cap;
	char *grown;

	if (c->out_head > 0 && c->out_len + len > c->out_cap) {
		memmove(c->out_buf, c->out_buf + c->out_head, pending);
		c->out_head = 0;
		c->out_len = pending;
	}
	if (needed <= c->out_cap)
		return 0;
	/* Doubling for many small replies; one big reply gets what it needs. */
	new_cap = c->out_cap ? c->out_cap * 2 : OUT_BUF_MIN;
	if (new_cap < needed)
		new_cap = needed;
	if (c->out_cap == 0 && spare_out != NULL && spare_out_cap >= new_cap) {
		grown = spare_out;
		new_cap = spare_out_cap;
		spare_out = NULL;
		spare_out_cap = 0;
	} else {
		grown = realloc(c->out_buf, new_cap);
	}
	if (grown == NULL)
		return -1;
	out_total += new_cap - c->out_cap;
	c->out_buf = grown;
	c->out_cap = new_cap;
	return 0;
}

/* c's output last moved now; it waits on the peer. */
static void
pending_link(struct conn *c)
{
	c->out_progress_ms = mono_now_ms();
	if (c->pending_link.prev == NULL)
		DL_INSERT_HEAD(&pending_list, c, pending_link);
}

static void
drop_deaf(struct conn *c)
{
	log_warnx("dropping connection: it does not read its replies conn=%llu pid=%ld pending=%zu unprocessed=%zu max_buffer=%zu stalled_ms=%lld output_total=%zu",
	    (unsigned long long)c->serial, (long)c->peer_pid, pending_output(c),
	    c->in_len, conn_limits.max_buffer,
	    (long long)(mono_now_ms() - c->out_progress_ms), out_total);
	conn_close(c, NULL);
}

bool
conn_accepts_output(struct conn *c)
{
	if (c->closing)
		return false;
	if (pending_output(c) <= conn_limits.max_buffer)
		return true;
	flush(c);		/* it may have read some since the last write */
	if (c->closing)
		return false;
	if (pending_output(c) <= conn_limits.max_buffer)
		return true;
	drop_deaf(c);
	return false;
}

char *
conn_send_room(struct conn *c, size_t len)
{
	if (c->closing || len == 0)
		return NULL;
	if (reserve_output(c, len) == -1) {
		log_warnx("dropping connection: out of memory for output conn=%llu bytes=%zu",
		    (unsigned long long)c->serial, pending_output(c) + len);
		conn_close(c, NULL);
		return NULL;
	}
	return c->out_buf + c->out_len;
}

void
conn_send_commit(struct conn *c, size_t len)
{
	c->out_len += len;
	queue_flush(c);
}

void
conn_send(struct conn *c, const char *data, size_t len)
{
	char *room = conn_send_room(c, len);

	if (room != NULL) {
		memcpy(room, data, len);
		conn_send_commit(c, len);
	}
}

void
conn_send_owned(struct conn *c, char *buf, size_t start, size_t len, size_t cap)
{
	if (c->closing || c->out_buf != NULL || len == 0) {
		conn_send(c, buf + start, len);
		free(buf);
		return;
	}
	c->out_buf = buf;
	c->out_head = start;
	c->out_len = start + len;
	c->out_cap = cap;
	out_total += cap;
	queue_flush(c);
}

static void
release_output(struct conn *c)
{
	if (c->pending_link.prev != NULL)
		DL_REMOVE(c, pending_link);
	out_total -= c->out_cap;
	if (c->out_cap <= SPARE_OUT_MAX && c->out_cap > spare_out_cap) {
		free(spare_out);	/* the larger one is kept */
		spare_out = c->out_buf;
		spare_out_cap = c->out_cap;
	} else
		free(c->out_buf);
	if (c->out_cap >= BIG_BUFFER)
		trim_heap();
	c->out_buf = NULL;
	c->out_head = c->out_len = c->out_cap = 0;
}

static void
flush(struct conn *c)
{
	bool wrote = false;

	while (!c->closing && pending_output(c) > 0) {
		ssize_t n = send(c->fd, c->out_buf + c->out_head, pending_output(c),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Output now waits on the peer: the drain checks watch it from here. */
				if (wrote || c->pending_link.prev == NULL)
					pending_link(c);
				return;		/* POLLOUT will bring us back */
			}
			conn_close(c, strerror(errno));
			return;
		}
		c->out_head += (size_t)n;
		wrote = true;
	}
	/* Idle connections keep no output buffer: memory stays flat at 10,000 peers. */
	release_output(c);
}

void
conn_flush_now(struct conn *c)
{
	flush(c);
}

void
conn_close(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->closed_next = closed_list;
	closed_list = c;
	log_debug("connection closed conn=%llu pid=%ld reason=%s",
	    (unsigned long long)c->serial, (long)c->peer_pid,
	    reason ? reason : "dropped");
}

/* Input */

static void
release_input(struct conn *c)
{
	free(c->in_buf);
	if (c->in_cap >= BIG_BUFFER)
		trim_heap();
	c->in_buf = NULL;
	c->in_len = c->in_cap = 0;
}

static void
consume_input(struct conn *c, size_t used)
{
	if (used == c->in_len) {
		release_input(c);
		return;
	}
	memmove(c->in_buf, c->in_buf + used, c->in_len - used);
	c->in_len -= used;
}

/* True when c has so much unread output that its next request should wait. */
static bool
output_backed_up(struct conn *c)
{
	size_t high_water = conn_limits.max_buffer / 2;

	if (over_budget()) {
		if (!over_budget_seen)
			log_warnx("output budget spent: holding every peer's requests output_total=%zu max_output_total=%zu",
			    out_total, conn_limits.max_output_total);
		over_budget_seen = true;
		return true;
	}
	if (pending_output(c) <= high_water)
		return false;
	flush(c);
	return c->closing || pending_output(c) > high_water;
}

/* The longest line c may send: a reply to a forward may be far bigger than a request. */
static size_t
line_limit(const struct conn *c)
{
	if (c->awaits_big_lines && conn_limits.max_reply > conn_limits.max_message)
		return conn_limits.max_reply;
	return conn_limits.max_message;
}

void
conn_expect_replies(struct conn *c, bool expect)
{
	c->awaits_big_lines = expect;
}

static bool
is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	}
	return true;
}

/* line[len] is the newline, which becomes the NUL the line handler expects. */
static void
dispatch_line(struct conn *c, char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > line_limit(c)) {
		handlers->line_too_long(c, line, len);
		return;
	}
	line[len] = '\0';
	if (!is_blank(line, len))
		handlers->line(c, line, len);
}

/* Serves the complete lines at the start of data; returns the bytes used. */
static size_t
dispatch_lines(struct conn *c, char *data, size_t len)
{
	size_t used = 0;
	char *newline;

	while (!c->closing && (newline = memchr(data + used, '\n', len - used)) != NULL) {
		size_t line_len = (size_t)(newline - (data + used));

		if (c->in_discarding) {
			c->in_discarding = false;	/* the over-long line ends here */
		} else if (output_backed_up(c)) {
			/* A pipelining peer: serve the rest once it has read some replies. */
			if (!c->closing && !c->in_held)
				log_debug("holding requests until the peer reads conn=%llu pending=%zu",
				    (unsigned long long)c->serial, pending_output(c));
			c->in_held = !c->closing;
			break;
		} else {
			dispatch_line(c, data + used, line_len);
		}
		used += line_len + 1;
	}
	return used;
}

/* The start of a line past the limit is dropped now, so memory stays bounded. */
static void
check_partial_line(struct conn *c)
{
	if (c->in_held || c->in_len <= line_limit(c) + 1)	/* + 1: a '\r' */
		return;
	c->in_discarding = true;
	handlers->line_too_long(c, c->in_buf, c->in_len);	/* its start may say what it answers */
	release_input(c);
}

static int
append_input(struct conn *c, const char *data, size_t len)
{
	size_t needed = c->in_len + len + 1;	/* + 1: room to end the last line with a NUL */
	size_t new_cap;
	char *grown;

	if (c->in_discarding)
		return 0;
	/* Held lines and a partial line are each capped; a peer past both is flooding. */
	if (c->in_len + len > line_limit(c) + 1 + READ_CHUNK) {
		drop_deaf(c);
		return -1;
	}
	if (needed > c->in_cap) {
		new_cap = c->in_cap ? c->in_cap : IN_BUF_MIN;
		while (new_cap < needed)
			new_cap *= 2;
		grown = realloc(c->in_buf, new_cap);
		if (grown == NULL) {
			log_warnx("dropping connection: out of memory for input conn=%llu bytes=%zu",
			    (unsigned long long)c->serial, needed);
			conn_close(c, NULL);
			return -1;
		}
		c->in_buf = grown;
		c->in_cap = new_cap;
	}
	memcpy(c->in_buf + c->in_len, data, len);
	c->in_len += len;
	return 0;
}

static void
process_buffered_input(struct conn *c)
{
	size_t used = dispatch_lines(c, c->in_buf, c->in_len);

	if (c->closing)
		return;
	consume_input(c, used);
	check_partial_line(c);
}

/* data[len] must be writable: lines are ended with a NUL in place. */
static void
take_input(struct conn *c, char *data, size_t len)
{
	size_t used;

	if (c->in_len == 0 && !c->in_held) {
		/* The usual case: whole lines straight from the read buffer. */
		used = dispatch_lines(c, data, len);
		if (used < len && !c->closing && append_input(c, data + used, len - used) == 0)
			check_partial_line(c);
		return;
	}
	if (append_input(c, data, len) == -1 || c->in_held)
		return;
	if (memchr(data, '\n', len) != NULL)
		process_buffered_input(c);
	else
		check_partial_line(c);
}

static void
resume_input(struct conn *c)
{
	if (!c->in_held || c->closing || output_backed_up(c))
		return;
	c->in_held = false;
	process_buffered_input(c);
}

/* A peer that shut down its writing side is done once it has every reply it is owed. */
static void
finish_if_done(struct conn *c)
{
	if (!c->read_closed || c->closing || c->in_held || pending_output(c) > 0 ||
	    handlers->awaits_replies(c))
		return;
	if (c->in_len > 0)
		log_debug("peer left mid-line conn=%llu discarded=%zu",
		    (unsigned long long)c->serial, c->in_len);
	conn_close(c, "peer closed");
}

static void
read_input(struct conn *c)
{
	for (int reads = 0; reads < READS_PER_WAKEUP && !c->closing && !c->in_held; reads++) {
		ssize_t n = read(c->fd, read_scratch, READ_CHUNK);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_close(c, strerror(errno));
			return;
		}
		if (n == 0) {
			log_debug("peer shut down its writing side conn=%llu",
			    (unsigned long long)c->serial);
			c->read_closed = true;
			finish_if_done(c);
			return;
		}
		take_input(c, read_scratch, (size_t)n);
		if (n < READ_CHUNK)
			return;		/* drained; poll tells us when more comes */
	}
}

void
conn_handle_events(struct conn *c, short revents)
{
	if (c->closing)
		return;
	if (c->read_closed && (revents & (POLLHUP | POLLERR))) {
		conn_close(c, "peer gone");	/* both directions shut: nothing can be delivered */
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_input(c);
	if ((revents & POLLOUT) && !c->closing) {
		flush(c);
		resume_input(c);
		finish_if_done(c);
	}
	if ((revents & POLLNVAL) && !c->closing)
		conn_close(c, "invalid fd");
}

/* Output stuck this long is judged: over max_buffer, or over the budget. */
static bool
must_drain(const struct conn *c)
{
	return pending_output(c) > conn_limits.max_buffer || over_budget();
}

int64_t
conn_next_deadline(void)
{
	int64_t nearest = -1;

	for (struct conn *c = DL_FIRST(&pending_list); c != NULL; c = DL_NEXT(c, pending_link)) {
		int64_t due = c->out_progress_ms + DRAIN_MS;

		if (!c->closing && must_drain(c) && (nearest == -1 || due < nearest))
			nearest = due;
	}
	return nearest;
}

/* The stalled peer with the most output waiting, or NULL. */
static struct conn *
largest_stalled(int64_t now_ms)
{
	struct conn *largest = NULL;

	for (struct conn *c = DL_FIRST(&pending_list); c != NULL; c = DL_NEXT(c, pending_link)) {
		if (c->closing || now_ms - c->out_progress_ms < DRAIN_MS)
			continue;
		if (largest == NULL || pending_output(c) > pending_output(largest))
			largest = c;
	}
	return largest;
}

void
conn_expire(int64_t now_ms)
{
	size_t freed = 0;
	struct conn *c, *next;

	for (c = DL_FIRST(&pending_list); c != NULL; c = next) {
		next = DL_NEXT(c, pending_link);
		if (!c->closing && pending_output(c) > conn_limits.max_buffer &&
		    now_ms - c->out_progress_ms >= DRAIN_MS) {
			freed += c->out_cap;
			drop_deaf(c);
		}
	}
	/* Closed peers' buffers are freed at the next settle; count them as gone. */
	while (out_total - freed > conn_limits.max_output_total &&
	    (c = largest_stalled(now_ms)) != NULL) {
		freed += c->out_cap;
		drop_deaf(c);
	}
}

void
conn_call_ended(struct conn *c)
{
	/* Looked at in conn_settle(), never in the middle of serving a line. */
	if (c->read_closed)
		queue_flush(c);
}

/* Closing */

static void
destroy(struct conn *c)
{
	handlers->gone(c);
	untrack(c);
	close(c->fd);
	release_input(c);
	release_output(c);
	free(c);
}

static void
unqueue_flush(struct conn *c)
{
	if (c->flush_link.prev != NULL)		/* on the list (the analyzer cannot tell) */
		DL_REMOVE(c, flush_link);
	c->flush_queued = false;
}

/* Rare: only after the budget held everyone's input. */
static void
resume_after_budget(void)
{
	over_budget_seen = false;
	for (size_t i = 0; i < conns_len; i++) {
		if (conns[i]->in_held)
			queue_flush(conns[i]);	/* conn_settle() resumes its input */
	}
	log_info("output budget free again; serving held requests output_total=%zu max_output_total=%zu",
	    out_total, conn_limits.max_output_total);
}

void
conn_settle(void)
{
	/* Closing one connection can queue output for others (failed forwards), and a failed write closes one: repeat until quiet. */
	for (;;) {
		if (DL_EMPTY(&flush_list) && closed_list == NULL) {
			if (!over_budget_seen || over_budget())
				break;
			resume_after_budget();
			continue;
		}
		while (!DL_EMPTY(&flush_list)) {
			struct conn *c = DL_FIRST(&flush_list);
			unqueue_flush(c);
			flush(c);
			resume_input(c);
			finish_if_done(c);
		}
		while (closed_list != NULL) {
			struct conn *c = closed_list;
			closed_list = c->closed_next;
			if (c->flush_queued)
				unqueue_flush(c);
			destroy(c);
			closed_since_settle = true;
		}
	}
}

bool
conn_closed_since_last_settle(void)
{
	bool closed = closed_since_settle;

	closed_since_settle = false;
	return closed;
}

void
conn_close_all(void)
{
	for (size_t i = 0; i < conns_len; i++) {
		flush(conns[i]);	/* best effort: a reply already made is worth sending */
		conn_close(conns[i], "shutting down");
	}
	conn_settle();
	free(spare_out);
	spare_out = NULL;
	spare_out_cap = 0;
	free(conns);
	conns = NULL;
	conns_len = conns_cap = 0;
}
