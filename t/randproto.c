/*
 * A random protocol driver: every peer is caller and worker at once and
 * does random sequences of register, status, forwards to peers that answer
 * at once, stream, answer late, never answer or vanish, bad lines, id-less
 * requests and stale replies, split across writes at random points.
 *
 * Invariants checked on every line:
 * - each request with an id gets exactly one final reply, and nothing for
 *   it arrives after that;
 * - no peer gets a reply to a call it did not make (ids are unique across
 *   peers, and a forward's replies carry the caller's token);
 * - each id-less request gets exactly one id-less final reply;
 * - a stale reply gets no answer; bad lines get a failure, the connection
 *   carries on.
 * The test around it checks the daemon's fds and memory.
 *
 * usage: randproto SOCKET PEERS SECONDS [SEED]
 * Prints one summary line; exits 0 when every check held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAX_CALLS	6		/* calls one peer keeps open */
#define MAX_HELD	32		/* forwarded requests one peer answers later */
#define FORWARD_TIMEOUT	1.0		/* seconds; bounds every forward */
#define DRAIN_SECONDS	(FORWARD_TIMEOUT + 5)

enum call_kind { CALL_REGISTER, CALL_STATUS, CALL_FORWARD, CALL_BAD };
enum answer { ANSWER_NOW, ANSWER_STREAM, ANSWER_LATE, ANSWER_NEVER, ANSWER_VANISH };

struct call {
	char		 id[32];	/* the id as sent: a number or a quoted string; "" free */
	enum call_kind	 kind;
	long long	 token;		/* forwards: carried by every reply the worker sends */
	int		 expect_stream;	/* forwards: intermediates the worker will send */
	int		 got_stream;
};

struct held {
	long long	 id;
	long long	 token;
	double		 due;
};

struct peer {
	int		 fd;		/* -1 while disconnected */
	char		*in, *out;
	size_t		 in_len, in_cap, out_len, out_cap;
	long long	 seq;
	struct call	 calls[MAX_CALLS];
	int		 idless_open;	/* id-less requests awaiting their final reply */
	bool		 registered;
	char		 connection_id[40];
	struct held	 held[MAX_HELD];
	size_t		 held_len;
	double		 reconnect_at;
};

static struct {
	long long requests, finals, failures, intermediates, forwards, forward_ok,
	    timed_out, conn_closed, not_found, served, streamed, held, vanished,
	    bad_lines, idless, stale, abandoned, registers, statuses, unexpected;
} stats;

static const char *socket_path;
static struct peer *peers;
static size_t peer_count;
static int epoll_fd;
static uint64_t rng_state;
static bool draining;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static bool
chance(double p)
{
	return (double)(rng() >> 11) / 9007199254740992.0 < p;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 1, 2)))
problem(const char *fmt, ...)
{
	va_list ap;

	if (++stats.unexpected > 20)
		return;
	fputs("randproto: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
grow(char **buf, size_t *cap, size_t needed)
{
	if (needed <= *cap)
		return;
	while (*cap < needed)
		*cap = *cap ? *cap * 2 : 4096;
	if ((*buf = realloc(*buf, *cap)) == NULL) {
		perror("randproto: realloc");
		exit(2);
	}
}

/* Connections */

static void
watch(struct peer *p, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	epoll_ctl(epoll_fd, EPOLL_CTL_MOD, p->fd, &ev);
}

static bool
peer_connect(struct peer *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd == -1 || connect(p->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		if (p->fd != -1)
			close(p->fd);
		p->fd = -1;
		return false;
	}
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
	epoll_ctl(epoll_fd, EPOLL_CTL_ADD, p->fd, &ev);
	p->in_len = p->out_len = 0;
	return true;
}

/* Writes what is queued; at random, only part of it, so lines arrive split. */
static void
peer_flush(struct peer *p)
{
	size_t done = 0, limit = p->out_len;

	if (limit > 1 && chance(0.2))
		limit = 1 + (size_t)(rng() % (limit - 1));
	while (done < limit) {
		ssize_t n = write(p->fd, p->out + done, limit - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	memmove(p->out, p->out + done, p->out_len - done);
	p->out_len -= done;
	watch(p, p->out_len > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void __attribute__((format(printf, 2, 3)))
peer_send(struct peer *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int len;

	if (p->fd == -1)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	grow(&p->out, &p->out_cap, p->out_len + (size_t)len);
	memcpy(p->out + p->out_len, line, (size_t)len);
	p->out_len += (size_t)len;
	peer_flush(p);
}

static void
peer_disconnect(struct peer *p)
{
	if (p->fd == -1)
		return;
	close(p->fd);
	p->fd = -1;
	p->registered = false;
	p->held_len = 0;
	p->idless_open = 0;
	for (int i = 0; i < MAX_CALLS; i++) {
		if (p->calls[i].id[0] != '\0')
			stats.abandoned++;
		p->calls[i].id[0] = '\0';
	}
	p->reconnect_at = now() + 0.01 + (double)(rng() % 100) / 1000.0;
}

/* The worker side: requests the daemon forwards to this peer */

static void
answer(struct peer *p, long long id, long long token, enum answer how)
{
	switch (how) {
	case ANSWER_STREAM:
		stats.streamed++;
		for (int i = 0; i < 3; i++)
			peer_send(p, "{\"id\":%lld,\"token\":%lld,\"seq\":%d}\n", id, token, i);
		/* FALLTHROUGH */
	case ANSWER_NOW:
	case ANSWER_LATE:
		peer_send(p, "{\"id\":%lld,\"finished\":true,\"token\":%lld,\"value\":1.0}\n", id, token);
		stats.served++;
		break;
	default:
		break;
	}
}

static void
worker_request(struct peer *p, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(msg, "token");
	const cJSON *how = cJSON_GetObjectItemCaseSensitive(msg, "answer");

	if (!cJSON_IsNumber(id) || ((long long)id->valuedouble & 1) == 0 ||
	    !cJSON_IsNumber(token) || !cJSON_IsNumber(how)) {
		problem("peer %zu: a request from the daemon that no caller sent", (size_t)(p - peers));
		return;
	}
	switch ((enum answer)how->valueint) {
	case ANSWER_LATE:
		if (p->held_len < MAX_HELD) {
			p->held[p->held_len++] = (struct held){ (long long)id->valuedouble,
			    (long long)token->valuedouble, now() + (double)(rng() % 1500) / 1000.0 };
			stats.held++;
		}
		break;
	case ANSWER_NEVER:
		break;
	case ANSWER_VANISH:
		stats.vanished++;
		peer_disconnect(p);
		break;
	default:
		answer(p, (long long)id->valuedouble, (long long)token->valuedouble,
		    (enum answer)how->valueint);
	}
}

/* The caller side */

static struct call *
free_call(struct peer *p)
{
	for (int i = 0; i < MAX_CALLS; i++) {
		if (p->calls[i].id[0] == '\0')
			return &p->calls[i];
	}
	return NULL;
}

static int
open_calls_of(const struct peer *p)
{
	int open = p->idless_open;

	for (int i = 0; i < MAX_CALLS; i++)
		open += p->calls[i].id[0] != '\0';
	return open;
}

static const char *
random_connection_id(void)
{
	for (int tries = 0; tries < 8; tries++) {
		struct peer *target = &peers[rng() % peer_count];
		if (target->fd != -1 && target->registered)
			return target->connection_id;
	}
	return NULL;
}

/* Ids unique across peers: even numbers, or strings naming the peer. */
static void
new_id(struct peer *p, struct call *c, enum call_kind kind)
{
	long long seq = ++p->seq;

	if (chance(0.3))
		snprintf(c->id, sizeof(c->id), "\"p%zu-%lld\"", (size_t)(p - peers), seq);
	else
		snprintf(c->id, sizeof(c->id), "%lld", ((long long)(p - peers) * 100000000LL + seq) * 2);
	c->kind = kind;
	c->token = 0;
	c->expect_stream = c->got_stream = 0;
	stats.requests++;
}

static void
start_call(struct peer *p, struct call *c)
{
	unsigned roll = (unsigned)(rng() % 100);
	const char *target;

	if (roll < 15) {
		new_id(p, c, CALL_REGISTER);
		peer_send(p, "{\"id\":%s,\"do\":\"register\",\"state\":{\"name\":\"p%zu\",\"n\":%u}}\n",
		    c->id, (size_t)(p - peers), roll);
		stats.registers++;
	} else if (roll < 30) {
		new_id(p, c, CALL_STATUS);
		peer_send(p, "{\"do\":\"status\",\"id\":%s}\n", c->id);
		stats.statuses++;
	} else if (roll < 75 && (target = random_connection_id()) != NULL) {
		static const enum answer odds[] = { ANSWER_NOW, ANSWER_NOW, ANSWER_NOW,
		    ANSWER_STREAM, ANSWER_STREAM, ANSWER_LATE, ANSWER_LATE, ANSWER_NEVER,
		    ANSWER_NEVER, ANSWER_VANISH };
		enum answer how = odds[rng() % (sizeof(odds) / sizeof(odds[0]))];
		new_id(p, c, CALL_FORWARD);
		c->token = (long long)(rng() >> 12);
		c->expect_stream = how == ANSWER_STREAM ? 3 : 0;
		peer_send(p, "{\"id\":%s,\"do\":\"forward\",\"connection_id\":\"%s\",\"timeout\":%.1f,"
		    "\"operation\":{\"do\":\"work\",\"token\":%lld,\"answer\":%d}}\n",
		    c->id, target, FORWARD_TIMEOUT, c->token, (int)how);
		stats.forwards++;
	} else if (roll < 85) {
		static const char *const bad[] = {
			"{\"id\":%s,\"do\":\"frobnicate\"}\n",
			"{\"id\":%s,\"do\":\"forward\",\"connection_id\":5,\"operation\":{\"do\":\"x\"}}\n",
			"{\"id\":%s,\"do\":\"forward\",\"connection_id\":\"nope\"}\n",
			"{\"id\":%s,\"do\":7}\n",
			"{\"id\":%s,\"do\":\"register\",\"state\":[1,2]}\n",
			"{\"id\":%s,\"do\":\"restart\",\"signal\":\"NOSUCHSIGNAL\"}\n",
		};
		new_id(p, c, CALL_BAD);
		peer_send(p, bad[rng() % (sizeof(bad) / sizeof(bad[0]))], c->id);
		stats.bad_lines++;
	} else if (roll < 92) {
		static const char *const idless[] = {
			"{\"do\":\"status\"}\n",
			"{\"do\":\"status\"\n",		/* invalid JSON */
			"[1,2,3]\n",
			"{\"do\":\"nothing-here\"}\n",
		};
		p->idless_open++;
		stats.idless++;
		stats.requests++;
		peer_send(p, "%s", idless[rng() % (sizeof(idless) / sizeof(idless[0]))]);
	} else {
		/* A stale reply: no call has this id; it gets no answer. */
		peer_send(p, "{\"id\":%lld,\"finished\":true}\n", 999999999999LL - (long long)(rng() % 1000) * 2);
		peer_send(p, "\n");
		stats.stale++;
	}
}

static struct call *
find_call(struct peer *p, const char *id_text)
{
	for (int i = 0; i < MAX_CALLS; i++) {
		if (p->calls[i].id[0] != '\0' && strcmp(p->calls[i].id, id_text) == 0)
			return &p->calls[i];
	}
	return NULL;
}

static void
check_failure(struct peer *p, struct call *c, const cJSON *msg)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
	const char *text = cJSON_IsString(error) ? error->valuestring : "";

	stats.failures++;
	if (c->kind == CALL_BAD)
		return;
	if (c->kind == CALL_FORWARD) {
		if (strcmp(text, "Timed out") == 0)
			stats.timed_out++;
		else if (strcmp(text, "Connection closed") == 0)
			stats.conn_closed++;
		else if (strcmp(text, "Connection not found") == 0)
			stats.not_found++;
		else
			problem("peer %zu: forward %s failed: %s", (size_t)(p - peers), c->id, text);
		return;
	}
	problem("peer %zu: call %s failed: %s", (size_t)(p - peers), c->id, text);
}

static void
reply(struct peer *p, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	bool finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "finished"));
	bool failed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "failed"));
	char id_text[64];
	struct call *c;

	if (id == NULL) {
		if (!finished)
			return;		/* a monitor section of an id-less status */
		if (p->idless_open-- <= 0)
			problem("peer %zu: an id-less final reply nobody asked for", (size_t)(p - peers));
		stats.finals++;
		return;
	}
	if (cJSON_IsString(id))
		snprintf(id_text, sizeof(id_text), "\"%s\"", id->valuestring);
	else if (cJSON_IsNumber(id))
		snprintf(id_text, sizeof(id_text), "%.0f", id->valuedouble);
	else {
		problem("peer %zu: a reply with a bad id", (size_t)(p - peers));
		return;
	}
	if ((c = find_call(p, id_text)) == NULL) {
		problem("peer %zu: a reply to %s, which is not a call of ours that is open",
		    (size_t)(p - peers), id_text);
		return;
	}
	if (c->kind == CALL_FORWARD && !failed) {
		const cJSON *token = cJSON_GetObjectItemCaseSensitive(msg, "token");
		if (!cJSON_IsNumber(token) || (long long)token->valuedouble != c->token)
			problem("peer %zu: forward %s got another call's reply", (size_t)(p - peers), c->id);
	}
	if (!finished) {
		stats.intermediates++;
		c->got_stream++;
		return;
	}
	stats.finals++;
	if (failed)
		check_failure(p, c, msg);
	else if (c->kind == CALL_BAD)
		problem("peer %zu: bad request %s succeeded", (size_t)(p - peers), c->id);
	else if (c->kind == CALL_REGISTER) {
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "connection_id");
		if (cJSON_IsString(cid) && strlen(cid->valuestring) < sizeof(p->connection_id)) {
			snprintf(p->connection_id, sizeof(p->connection_id), "%s", cid->valuestring);
			p->registered = true;
		} else
			problem("peer %zu: register without connection_id", (size_t)(p - peers));
	} else if (c->kind == CALL_FORWARD) {
		stats.forward_ok++;
		if (c->got_stream != c->expect_stream)
			problem("peer %zu: forward %s streamed %d of %d", (size_t)(p - peers), c->id,
			    c->got_stream, c->expect_stream);
	}
	c->id[0] = '\0';
}

static void
handle_line(struct peer *p, const char *line)
{
	cJSON *msg = cJSON_Parse(line);

	if (!cJSON_IsObject(msg))
		problem("peer %zu: not a JSON object: %.80s", (size_t)(p - peers), line);
	else if (cJSON_GetObjectItemCaseSensitive(msg, "do") != NULL)
		worker_request(p, msg);
	else
		reply(p, msg);
	cJSON_Delete(msg);
}

static void
peer_read(struct peer *p)
{
	char *line, *newline;
	ssize_t n;

	for (;;) {
		grow(&p->in, &p->in_cap, p->in_len + 65536);
		n = read(p->fd, p->in + p->in_len, p->in_cap - p->in_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p->in_len += (size_t)n;
	}
	line = p->in;
	while ((newline = memchr(line, '\n', p->in_len - (size_t)(line - p->in))) != NULL) {
		*newline = '\0';
		handle_line(p, line);
		if (p->fd == -1)
			return;		/* vanished while handling the line */
		line = newline + 1;
	}
	p->in_len -= (size_t)(line - p->in);
	memmove(p->in, line, p->in_len);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		problem("peer %zu: the daemon closed the connection", (size_t)(p - peers));
		peer_disconnect(p);
	}
}

static void
tick(struct peer *p, double t)
{
	struct call *c;

	if (p->fd == -1) {
		if (!draining && t >= p->reconnect_at && !peer_connect(p))
			problem("peer %zu: cannot connect", (size_t)(p - peers));
		return;
	}
	for (size_t i = 0; i < p->held_len;) {
		if (t >= p->held[i].due || draining) {
			answer(p, p->held[i].id, p->held[i].token, ANSWER_LATE);
			p->held[i] = p->held[--p->held_len];
		} else
			i++;
	}
	if (draining)
		return;
	if (chance(0.0003)) {
		stats.vanished++;
		peer_disconnect(p);
		return;
	}
	if (chance(0.3) && (c = free_call(p)) != NULL)
		start_call(p, c);
}

static long long
open_calls(void)
{
	long long open = 0;

	for (size_t i = 0; i < peer_count; i++)
		open += open_calls_of(&peers[i]);
	return open;
}

static void
poll_once(int timeout_ms)
{
	struct epoll_event events[256];
	int n = epoll_wait(epoll_fd, events, 256, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct peer *p = events[i].data.ptr;
		if (p->fd != -1 && (events[i].events & EPOLLOUT))
			peer_flush(p);
		if (p->fd != -1 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			peer_read(p);
	}
}

int
main(int argc, char **argv)
{
	struct rlimit limit;
	double seconds, start, give_up;
	uint64_t seed;
	long long missing;

	if (argc < 4) {
		fprintf(stderr, "usage: randproto SOCKET PEERS SECONDS [SEED]\n");
		return 2;
	}
	socket_path = argv[1];
	peer_count = strtoul(argv[2], NULL, 10);
	seconds = strtod(argv[3], NULL);
	seed = argc > 4 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
	rng_state = seed | 1;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	if (peer_count == 0 || (peers = calloc(peer_count, sizeof(*peers))) == NULL ||
	    (epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "randproto: setup failed\n");
		return 2;
	}
	for (size_t i = 0; i < peer_count; i++)
		peers[i].fd = -1;
	start = now();
	give_up = start + seconds + DRAIN_SECONDS;
	for (;;) {
		double t = now();
		if (t >= start + seconds)
			draining = true;
		if (t >= give_up || (draining && open_calls() == 0))
			break;
		for (size_t i = 0; i < peer_count; i++)
			tick(&peers[i], t);
		poll_once(draining ? 20 : 2);
	}
	missing = open_calls();
	printf("seed=%llu requests=%lld finals=%lld failures=%lld intermediates=%lld "
	    "registers=%lld statuses=%lld forwards=%lld forward_ok=%lld timed_out=%lld "
	    "conn_closed=%lld not_found=%lld served=%lld streamed=%lld held=%lld "
	    "vanished=%lld bad_lines=%lld idless=%lld stale=%lld abandoned=%lld "
	    "missing=%lld unexpected=%lld\n",
	    (unsigned long long)seed, stats.requests, stats.finals, stats.failures,
	    stats.intermediates, stats.registers, stats.statuses, stats.forwards,
	    stats.forward_ok, stats.timed_out, stats.conn_closed, stats.not_found, stats.served,
	    stats.streamed, stats.held, stats.vanished, stats.bad_lines, stats.idless,
	    stats.stale, stats.abandoned, missing, stats.unexpected);
	for (size_t i = 0; i < peer_count; i++)
		peer_disconnect(&peers[i]);
	return missing == 0 && stats.unexpected == 0 ? 0 : 1;
}
