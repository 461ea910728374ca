/*
 * libFuzzer harness: arbitrary byte streams, cut at arbitrary points, go
 * through the daemon's real accept, line framing, RPC dispatch, forward
 * table and settle step, on several live connections at once.
 *
 * The peers are ordinary AF_UNIX sockets connected to a listener in the
 * abstract namespace, accepted by conn_accept_ready() exactly as in the
 * daemon; each step polls the daemon's side and dispatches like the loop.
 *
 * Input: a sequence of records, each one header byte h:
 *   slot = h & 3, action = h >> 2 & 7
 *   0..3  write: next byte is a length, that many bytes follow; "@0".."@3"
 *         become slot N's connection_id, so forwards can reach real targets
 *   4     the slot's peer vanishes (close); a fresh peer takes the slot
 *   5     the slot's peer stops or starts reading its replies
 *   6     every forward timeout passes
 *   7     the slot's peer answers each request it has received, as a worker
 * Oracle: every line the daemon writes must be a JSON object.
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conn.h"
#include "forward.h"
#include "lib/log.h"
#include "registry.h"
#include "rpc.h"
#include "lib/uuid.h"

#define SLOTS		4
#define PEER_BUF	65536
#define MAX_ROUNDS	16

struct peer {
	int		 fd;
	uint64_t	 serial;	/* the daemon's connection, 0 if none */
	bool		 deaf;		/* not reading its replies */
	char		 buf[PEER_BUF];
	size_t		 len;
	int64_t		 pending_ids[64];	/* requests the daemon sent us */
	size_t		 pending_count;
};

static struct peer peers[SLOTS];
static bool trace;		/* FUZZ_TRACE=1: print what each peer receives */
static int listen_fd = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_addr_len;

static struct conn *
conn_by_serial(uint64_t serial)
{
	for (size_t i = 0; serial != 0 && i < conn_count(); i++) {
		if (conn_at(i)->serial == serial)
			return conn_at(i);
	}
	return NULL;
}

static void
open_listener(void)
{
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sun_family = AF_UNIX;
	/* Abstract namespace: nothing on disk to clean up. */
	int len = snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1,
	    "supervisord-fuzz-%ld", (long)getpid());
	listen_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	if (listen_fd == -1 ||
	    bind(listen_fd, (struct sockaddr *)&listen_addr, listen_addr_len) == -1 ||
	    listen(listen_fd, 16) == -1) {
		perror("fuzz: listener");
		abort();
	}
}

static void
peer_drop(struct peer *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->serial = 0;
}

static void
peer_connect(struct peer *p)
{
	size_t before = conn_count();

	memset(p, 0, sizeof(*p));
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1 ||
	    connect(p->fd, (struct sockaddr *)&listen_addr, listen_addr_len) == -1) {
		perror("fuzz: connect");
		abort();
	}
	conn_accept_ready(listen_fd);
	if (conn_count() != before + 1)
		abort();
	p->serial = conn_at(conn_count() - 1)->serial;
	/* A small socket buffer, so a deaf peer reaches --max-buffer quickly. */
	setsockopt(conn_at(conn_count() - 1)->fd, SOL_SOCKET, SO_SNDBUF,
	    &(int){ 4096 }, sizeof(int));
}

/* The daemon may have dropped this peer already: then a fresh one takes its place. */
static void
peer_send(struct peer *p, const char *data, size_t len)
{
	ssize_t n = write(p->fd, data, len);

	if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
		peer_drop(p);
		peer_connect(p);
		return;
	}
	/* Small writes into a socket the daemon drains: a short one is a harness bug. */
	if (n != (ssize_t)len)
		abort();
}

/* Every line the daemon writes must be a JSON object; remember its calls on us. */
static void
check_line(struct peer *p, const char *line, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(line, len);
	const cJSON *id, *op;

	if (!cJSON_IsObject(msg)) {
		fprintf(stderr, "fuzz: daemon wrote a line that is not a JSON object: %.*s\n",
		    (int)len, line);
		abort();
	}
	if (trace)
		fprintf(stderr, "peer %d <- %.*s\n", (int)(p - peers), (int)len, line);
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	op = cJSON_GetObjectItemCaseSensitive(msg, "do");
	if (op != NULL && cJSON_IsNumber(id) && p->pending_count < 64)
		p->pending_ids[p->pending_count++] = (int64_t)id->valuedouble;
	cJSON_Delete(msg);
}

static void
peer_take_lines(struct peer *p)
{
	char *start = p->buf, *newline;
	size_t left = p->len;

	while ((newline = memchr(start, '\n', left)) != NULL) {
		check_line(p, start, (size_t)(newline - start));
		left -= (size_t)(newline - start) + 1;
		start = newline + 1;
	}
	memmove(p->buf, start, left);
	p->len = left;
}

/* Returns true if anything was read. A peer the daemon dropped is replaced. */
static bool
peer_drain(struct peer *p)
{
	bool any = false;
	ssize_t n;

	if (p->deaf || p->fd == -1)
		return false;
	for (;;) {
		if (p->len == sizeof(p->buf))
			abort();	/* a line longer than any the daemon should write */
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			break;
		any = true;
		p->len += (size_t)n;
		peer_take_lines(p);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		peer_drop(p);
		peer_connect(p);
		any = true;
	}
	return any;
}

/* One pass of the daemon's loop body, minus the listener and signals. */
static bool
loop_once(void)
{
	struct pollfd pfds[SLOTS * 2];	/* peers, and replaced ones not yet reaped */
	size_t count = conn_count();
	bool any = false;

	if (count > SLOTS * 2)
		abort();
	conn_poll_set(pfds, count);
	if (poll(pfds, count, 0) > 0) {
		for (size_t i = 0; i < count; i++) {
			if (pfds[i].revents != 0) {
				conn_handle_events(conn_at(i), pfds[i].revents);
				any = true;
			}
		}
	}
	conn_settle();
	for (int s = 0; s < SLOTS; s++)
		any |= peer_drain(&peers[s]);
	return any;
}

static void
run_until_quiet(void)
{
	for (int round = 0; round < MAX_ROUNDS && loop_once(); round++)
		;
}

/* Writes data to slot's peer, with "@N" replaced by slot N's connection_id. */
static void
peer_write(struct peer *p, const uint8_t *data, size_t len)
{
	char out[256 * (UUID_STRING_LEN + 1)];
	size_t out_len = 0;

	for (size_t i = 0; i < len; i++) {
		struct conn *target;

		if (data[i] == '@' && i + 1 < len && data[i + 1] >= '0' && data[i + 1] < '0' + SLOTS &&
		    (target = conn_by_serial(peers[data[i + 1] - '0'].serial)) != NULL &&
		    registry_connection_id(target) != NULL) {
			memcpy(out + out_len, registry_connection_id(target), UUID_STRING_LEN);
			out_len += UUID_STRING_LEN;
			i++;
			continue;
		}
		out[out_len++] = (char)data[i];
	}
	if (out_len > 0)
		peer_send(p, out, out_len);
}

static void
peer_answer(struct peer *p)
{
	char line[128];

	for (size_t i = 0; i < p->pending_count; i++) {
		int len = snprintf(line, sizeof(line),
		    "{\"id\":%lld,\"step\":1}\n{\"id\":%lld,\"finished\":true,\"ok\":1}\n",
		    (long long)p->pending_ids[i], (long long)p->pending_ids[i]);
		peer_send(p, line, (size_t)len);
	}
	p->pending_count = 0;
}

static void
reset_daemon(void)
{
	for (int s = 0; s < SLOTS; s++)
		peer_drop(&peers[s]);
	conn_close_all();
	forward_free_all();
	registry_free();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *level = getenv("FUZZ_LOG_LEVEL");
	enum log_level log_level = LOG_LEVEL_ERROR;

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	if (level != NULL)
		log_parse_level(level, &log_level);
	log_init(log_level, false);
	signal(SIGPIPE, SIG_IGN);
	if (uuid_init() == -1)
		abort();
	/* restart must never signal the fuzzer's parent. */
	rpc_init();
	rpc_set_restart_target(RESTART_NONE, getppid());
	/* Small limits, so over-long lines and slow readers are reached quickly. */
	conn_limits.max_message = 1024;
	conn_limits.max_buffer = 16384;
	open_listener();
	for (int s = 0; s < SLOTS; s++)
		peers[s].fd = -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	for (int s = 0; s < SLOTS; s++)
		peer_connect(&peers[s]);
	while (at < size) {
		uint8_t header = data[at++];
		struct peer *p = &peers[header & 3];
		size_t len;

		switch ((header >> 2) & 7) {
		case 4:
			peer_drop(p);
			run_until_quiet();
			peer_connect(p);
			break;
		case 5:
			p->deaf = !p->deaf;
			break;
		case 6:
			forward_expire(INT64_MAX / 2);
			break;
		case 7:
			peer_answer(p);
			break;
		default:
			if (at >= size)
				break;
			len = data[at++];
			if (len > size - at)
				len = size - at;
			peer_write(p, data + at, len);
			at += len;
			break;
		}
		run_until_quiet();
	}
	reset_daemon();
	return 0;
}
