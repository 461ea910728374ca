#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "conn.h"
#include "log.h"
#include "rpc.h"

#define READ_CHUNK		65536
#define READS_PER_WAKEUP	16	/* then let other connections have a turn */
#define ACCEPTS_PER_WAKEUP	1024
#define IN_BUF_MIN		256
#define TRIM_MIN_PEAK		64	/* connections; see trim_after_crowd() */

struct conn_limits conn_limits = {
	.max_message = 1024 * 1024,
	.max_buffer = 4 * 1024 * 1024,
	.max_connections = 16384,
};

static struct conn **conns;		/* dense: conns[i]->index == i */
static size_t conns_len, conns_cap;
static size_t conns_peak;		/* most connections since the last trim */
static uint64_t next_serial = 1;
static struct conn *flush_list;
static struct conn *closed_list;
/* Lines are framed in place here, so idle connections hold no buffer at all. */
static char read_scratch[READ_CHUNK + 1];

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

short
conn_poll_events(const struct conn *c)
{
	return (short)(c->out_len > c->out_head ? POLLIN | POLLOUT : POLLIN);
}

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
	if (conns_len > conns_peak)
		conns_peak = conns_len;
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

static int
adopt(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || track(c) == -1) {
		log_warnx("refusing connection: out of memory");
		free(c);
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->serial = next_serial++;
	read_peer_credentials(c);
	rpc_conn_init(c);
	log_debug("connection opened conn=%llu fd=%d pid=%ld uid=%lu",
	    (unsigned long long)c->serial, fd, (long)c->peer_pid,
	    (unsigned long)c->peer_uid);
	return 0;
}

enum conn_accept_result
conn_accept_ready(int listen_fd)
{
	for (int accepted = 0; accepted < ACCEPTS_PER_WAKEUP; accepted++) {
		int fd;

		if (conns_len >= conn_limits.max_connections) {
			log_warnx("not accepting: at the connection limit connections=%zu max=%zu",
			    conns_len, conn_limits.max_connections);
			return CONN_ACCEPT_FULL;
		}
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
				log_warn("not accepting for now: out of resources connections=%zu",
				    conns_len);
				return CONN_ACCEPT_FULL;
			default:
				log_warn("accept");
				return CONN_ACCEPT_OK;
			}
		}
		adopt(fd);
	}
	return CONN_ACCEPT_OK;
}

static void
queue_flush(struct conn *c)
{
	if (c->flush_queued)
		return;
	c->flush_queued = true;
	c->flush_next = flush_list;
	flush_list = c;
}

static int
reserve_output(struct conn *c, size_t len)
{
	size_t pending = c->out_len - c->out_head;
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
	new_cap = c->out_cap ? c->out_cap : 512;
	while (new_cap < needed)
		new_cap *= 2;
	grown = realloc(c->out_buf, new_cap);
	if (grown == NULL)
		return -1;
	c->out_buf = grown;
	c->out_cap = new_cap;
	return 0;
}

void
conn_send(struct conn *c, const char *data, size_t len)
{
	size_t pending = c->out_len - c->out_head;

	if (c->closing || len == 0)
		return;
	/* One reply larger than the cap is fine; a peer that lets replies pile up is not. */
	if (pending > 0 && pending + len > conn_limits.max_buffer) {
		log_warnx("dropping connection: it does not read its replies conn=%llu pid=%ld pending=%zu max_buffer=%zu",
		    (unsigned long long)c->serial, (long)c->peer_pid,
		    pending + len, conn_limits.max_buffer);
		conn_close(c, NULL);
		return;
	}
	if (reserve_output(c, len) == -1) {
		log_warnx("dropping connection: out of memory for output conn=%llu bytes=%zu",
		    (unsigned long long)c->serial, pending + len);
		conn_close(c, NULL);
		return;
	}
	memcpy(c->out_buf + c->out_len, data, len);
	c->out_len += len;
	queue_flush(c);
}

static void
release_output(struct conn *c)
{
	free(c->out_buf);
	c->out_buf = NULL;
	c->out_head = c->out_len = c->out_cap = 0;
}

static void
flush(struct conn *c)
{
	while (!c->closing && c->out_len > c->out_head) {
		ssize_t n = send(c->fd, c->out_buf + c->out_head,
		    c->out_len - c->out_head, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;		/* POLLOUT will bring us back */
			conn_close(c, strerror(errno));
			return;
		}
		c->out_head += (size_t)n;
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

static void
release_input(struct conn *c)
{
	free(c->in_buf);
	c->in_buf = NULL;
	c->in_len = c->in_cap = 0;
}

static int
stash_input(struct conn *c, const char *data, size_t len)
{
	size_t needed = c->in_len + len + 1;	/* room for the NUL rpc expects */
	size_t new_cap;
	char *grown;

	if (c->in_len + len > conn_limits.max_message) {
		release_input(c);
		c->in_discarding = true;
		rpc_line_too_long(c);
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

static bool
is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	}
	return true;
}

static void
dispatch_line(struct conn *c, char *line, size_t len)
{
	if (len > conn_limits.max_message) {
		rpc_line_too_long(c);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (!is_blank(line, len))
		rpc_handle_line(c, line, len);
}

/* Splits data into lines; data must have one writable byte past its end. */
static void
feed(struct conn *c, char *data, size_t len)
{
	while (len > 0 && !c->closing) {
		char *newline = memchr(data, '\n', len);
		size_t used;

		if (newline == NULL) {
			if (!c->in_discarding)
				stash_input(c, data, len);
			return;
		}
		used = (size_t)(newline - data) + 1;
		if (c->in_discarding) {
			c->in_discarding = false;
		} else if (c->in_len == 0) {
			dispatch_line(c, data, used - 1);
		} else if (stash_input(c, data, used - 1) == 0) {
			dispatch_line(c, c->in_buf, c->in_len);
			release_input(c);
		} else {
			c->in_discarding = false;	/* the over-long line ends here */
		}
		data += used;
		len -= used;
	}
}

static void
read_input(struct conn *c)
{
	for (int reads = 0; reads < READS_PER_WAKEUP && !c->closing; reads++) {
		ssize_t n = read(c->fd, read_scratch, READ_CHUNK);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_close(c, strerror(errno));
			return;
		}
		if (n == 0) {
			if (c->in_len > 0)
				log_debug("peer left mid-line conn=%llu discarded=%zu",
				    (unsigned long long)c->serial, c->in_len);
			conn_close(c, "peer closed");
			return;
		}
		feed(c, read_scratch, (size_t)n);
		if (n < READ_CHUNK)
			return;		/* drained; poll tells us when more comes */
	}
}

void
conn_handle_events(struct conn *c, short revents)
{
	if (c->closing)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_input(c);
	if ((revents & POLLOUT) && !c->closing)
		flush(c);
	if ((revents & POLLNVAL) && !c->closing)
		conn_close(c, "invalid fd");
}

static void
destroy(struct conn *c)
{
	rpc_conn_gone(c);
	untrack(c);
	close(c->fd);
	release_input(c);
	release_output(c);
	free(c);
}

static bool closed_since_settle;

/*
 * glibc keeps freed heap pages mapped when live blocks sit above them, so
 * after a crowd of connections leaves, resident memory would stay at its
 * peak. Give the pages back once most of the crowd has gone.
 */
static void
trim_after_crowd(void)
{
	if (conns_peak < TRIM_MIN_PEAK || conns_len * 4 > conns_peak)
		return;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	conns_peak = conns_len;
}

void
conn_settle(void)
{
	/* Closing one connection can queue output for others (failed forwards), and a failed write closes one: repeat until quiet. */
	while (flush_list != NULL || closed_list != NULL) {
		while (flush_list != NULL) {
			struct conn *c = flush_list;
			flush_list = c->flush_next;
			c->flush_queued = false;
			flush(c);
		}
		while (closed_list != NULL) {
			struct conn *c = closed_list;
			closed_list = c->closed_next;
			if (c->flush_queued) {
				/* unlink from the flush list before freeing */
				struct conn **p = &flush_list;
				while (*p != c)
					p = &(*p)->flush_next;
				*p = c->flush_next;
			}
			destroy(c);
			closed_since_settle = true;
		}
	}
	if (closed_since_settle)
		trim_after_crowd();
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
	for (size_t i = 0; i < conns_len; i++)
		conn_close(conns[i], "shutting down");
	conn_settle();
	free(conns);
	conns = NULL;
	conns_len = conns_cap = 0;
}
