/*
 * A load and fault driver for the t/50-* tests: many callers make calls
 * while workers connect, register, answer forwards (at once, late, never)
 * and vanish mid-call; every call a live caller makes must get exactly one
 * final reply, and nothing else may arrive for it.
 *
 * usage: stress SOCKET CALLERS WORKERS SECONDS [SEED] [--until-eof]
 * With --until-eof the daemon is expected to go away (SIGTERM under load):
 * the driver runs until every connection has seen end of file.
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

#define MAX_INFLIGHT	3		/* calls one caller keeps open */
#define MAX_HELD	64		/* requests one worker answers later */
#define FORWARD_TIMEOUT	1.5		/* seconds; bounds every forward */
#define DRAIN_SECONDS	(FORWARD_TIMEOUT + 5)

enum kind { CALLER, WORKER };

struct call {
	long long	 id;		/* 0: slot free */
	bool		 forward;
};

struct held {
	long long	 id;
	double		 due;
};

struct peer {
	enum kind	 kind;
	int		 fd;		/* -1 while disconnected */
	char		*in;
	size_t		 in_len, in_cap;
	char		*out;
	size_t		 out_len, out_cap;
	/* callers */
	long long	 next_id;
	struct call	 calls[MAX_INFLIGHT];
	/* workers */
	bool		 registered;
	char		 connection_id[40];
	struct held	 held[MAX_HELD];
	size_t		 held_len;
	double		 reconnect_at;
	double		 vanish_at;	/* a worker's lifetime, a caller's next hang-up */
};

static struct {
	long long started, finished, failed, closed, timed_out, not_found, refused,
	    abandoned, intermediates, unexpected, worker_requests, worker_vanished,
	    eof;
} stats;

static const char *socket_path;
static struct peer *peers;
static size_t peer_count, caller_count;
static int epoll_fd;
static uint64_t rng_state;
static bool draining, until_eof;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible from the seed printed in the summary. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
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

	stats.unexpected++;
	if (stats.unexpected > 20)
		return;
	fputs("stress: ", stderr);
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
		perror("stress: realloc");
		exit(2);
	}
}

/* Connections */

static void
watch(struct peer *p, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, p->fd, &ev) == -1)
		perror("stress: epoll_ctl");
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

static void
peer_flush(struct peer *p)
{
	size_t done = 0;

	while (done < p->out_len) {
		ssize_t n = write(p->fd, p->out + done, p->out_len - done);
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
	char line[512];
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
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		if (p->calls[i].id != 0)
			stats.abandoned++;
		p->calls[i].id = 0;
	}
}

/* Workers */

static void
worker_register(struct peer *p)
{
	peer_send(p, "{\"id\":2,\"do\":\"register\",\"state\":{\"name\":\"w%zu\"}}\n",
	    (size_t)(p - peers));
}

static void
worker_vanish(struct peer *p)
{
	stats.worker_vanished++;
	peer_disconnect(p);
	p->reconnect_at = now() + (double)(rng() % 200) / 1000.0;
}

static void
worker_answer(struct peer *p, long long id)
{
	peer_send(p, "{\"id\":%lld,\"progress\":1}\n{\"id\":%lld,\"finished\":true,\"ok\":true}\n",
	    id, id);
}

/* A request from the daemon: answer at once, later, never, or vanish mid-call. */
static void
worker_request(struct peer *p, long long id)
{
	uint64_t roll = rng() % 1000;

	stats.worker_requests++;
	if (draining || roll < 700) {
		worker_answer(p, id);
	} else if (roll < 900 && p->held_len < MAX_HELD) {
		p->held[p->held_len++] = (struct held){ id, now() + (double)(rng() % 300) / 1000.0 };
	} else if (roll < 950) {
		/* Stale replies first, which the daemon must ignore; then never answer. */
		peer_send(p, "{\"id\":%lld,\"finished\":true}\n{\"id\":99999999,\"x\":1}\n",
		    id + 1000000);
	} else if (roll < 998) {
		;	/* never answer: the forward times out */
	} else {
		worker_vanish(p);
	}
}

static void
worker_line(struct peer *p, const char *line)
{
	long long id = strncmp(line, "{\"id\":", 6) == 0 ? strtoll(line + 6, NULL, 10) : -1;
	const char *at;

	if (strstr(line, "\"do\":") != NULL) {
		worker_request(p, id);
		return;
	}
	if (!p->registered && id == 2 && (at = strstr(line, "\"connection_id\":\"")) != NULL) {
		memcpy(p->connection_id, at + 17, 36);
		p->connection_id[36] = '\0';
		p->registered = true;
		return;
	}
	/* Out of fds the daemon cannot check who connected: it says so, and we ask again. */
	if (!p->registered && id == 2 && strstr(line, "\"error\":\"Cannot verify the process that connected") != NULL) {
		stats.refused++;
		worker_register(p);
		return;
	}
	problem("worker %zu: unexpected line: %.200s", (size_t)(p - peers), line);
}

static void
worker_tick(struct peer *p, double t)
{
	if (p->fd == -1) {
		if (!draining && t >= p->reconnect_at && peer_connect(p)) {
			worker_register(p);
			p->vanish_at = t + 1 + (double)(rng() % 3000) / 1000.0;
		}
		return;
	}
	for (size_t i = 0; i < p->held_len;) {
		if (p->held[i].due <= t || draining) {
			worker_answer(p, p->held[i].id);
			p->held[i] = p->held[--p->held_len];
		} else {
			i++;
		}
	}
	if (!draining && p->registered && t >= p->vanish_at)
		worker_vanish(p);
}

/* Callers */

static struct peer *
random_registered_worker(void)
{
	for (int tries = 0; tries < 8; tries++) {
		struct peer *w = &peers[caller_count + rng() % (peer_count - caller_count)];
		if (w->registered)
			return w;
	}
	return NULL;
}

static void
caller_start(struct peer *p, struct call *call)
{
	struct peer *target = random_registered_worker();

	call->id = p->next_id;
	p->next_id += 2;
	call->forward = false;
	stats.started++;
	if (chance(0.05) || (target == NULL && chance(0.5))) {
		peer_send(p, "{\"id\":%lld,\"do\":\"status\"}\n", call->id);
	} else if (target == NULL || chance(0.03)) {
		call->forward = true;
		peer_send(p, "{\"id\":%lld,\"do\":\"forward\",\"connection_id\":\"%s\",\"operation\":{\"do\":\"work\"},\"timeout\":%.1f}\n",
		    call->id, "00000000-0000-4000-8000-000000000000", FORWARD_TIMEOUT);
	} else {
		call->forward = true;
		peer_send(p, "{\"id\":%lld,\"do\":\"forward\",\"connection_id\":\"%s\",\"operation\":{\"do\":\"work\",\"n\":%lld},\"timeout\":%.1f}\n",
		    call->id, target->connection_id, call->id, FORWARD_TIMEOUT);
	}
}

static void
count_failure(const char *line)
{
	stats.failed++;
	if (strstr(line, "\"error\":\"Connection closed\"") != NULL)
		stats.closed++;
	else if (strstr(line, "\"error\":\"Timed out\"") != NULL)
		stats.timed_out++;
	else if (strstr(line, "\"error\":\"Connection not found\"") != NULL)
		stats.not_found++;
	else if (strstr(line, "\"error\":\"Too many forwards") != NULL)
		stats.refused++;
	else
		problem("unexpected failure: %.200s", line);
}

static void
caller_line(struct peer *p, const char *line)
{
	long long id = strncmp(line, "{\"id\":", 6) == 0 ? strtoll(line + 6, NULL, 10) : -1;
	bool finished = strstr(line, "\"finished\":true") != NULL;
	struct call *call = NULL;

	for (int i = 0; i < MAX_INFLIGHT; i++) {
		if (p->calls[i].id == id)
			call = &p->calls[i];
	}
	if (id <= 0 || call == NULL) {
		problem("caller %zu: reply to no open call: %.200s", (size_t)(p - peers), line);
		return;
	}
	if (!finished) {
		if (!call->forward)
			problem("caller %zu: intermediate reply to status: %.200s", (size_t)(p - peers), line);
		stats.intermediates++;
		return;
	}
	stats.finished++;
	if (strstr(line, "\"failed\":true") != NULL)
		count_failure(line);
	call->id = 0;
}

static int
open_calls_of(const struct peer *p)
{
	int open = 0;

	for (int i = 0; i < MAX_INFLIGHT; i++)
		open += p->calls[i].id != 0;
	return open;
}

static void
caller_tick(struct peer *p, double t)
{
	if (p->fd == -1) {
		if (!draining && peer_connect(p)) {
			p->next_id = 2;
			p->vanish_at = t + 2 + (double)(rng() % 8000) / 1000.0;
		}
		return;
	}
	if (!draining && t >= p->vanish_at) {
		peer_disconnect(p);	/* mid-call: later replies are the daemon's to drop */
		return;
	}
	if (draining && !until_eof && open_calls_of(p) == 0) {
		peer_disconnect(p);	/* done: make room for callers the daemon has not accepted */
		return;
	}
	for (int i = 0; i < MAX_INFLIGHT && !draining; i++) {
		if (p->calls[i].id == 0 && chance(0.3))
			caller_start(p, &p->calls[i]);
	}
}

/* Events */

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
		if (p->kind == CALLER)
			caller_line(p, line);
		else
			worker_line(p, line);
		if (p->fd == -1)
			return;		/* vanished while handling the line */
		line = newline + 1;
	}
	p->in_len -= (size_t)(line - p->in);
	memmove(p->in, line, p->in_len);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		stats.eof++;
		if (!until_eof && p->kind == CALLER)
			problem("caller %zu: the daemon closed the connection", (size_t)(p - peers));
		if (p->kind == WORKER)
			worker_vanish(p);
		else
			peer_disconnect(p);
	}
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

static long long
open_calls(void)
{
	long long open = 0;

	for (size_t i = 0; i < caller_count; i++)
		open += open_calls_of(&peers[i]);
	return open;
}

static bool
all_closed(void)
{
	for (size_t i = 0; i < peer_count; i++) {
		if (peers[i].fd != -1)
			return false;
	}
	return true;
}

/* Until SECONDS have passed and every call has ended; or, until-eof, the daemon has gone. */
static void
run(double seconds)
{
	double start = now(), give_up = start + seconds + DRAIN_SECONDS;

	for (;;) {
		double t = now();

		if (t >= start + seconds)
			draining = true;
		if (t >= give_up)
			break;
		if (until_eof ? stats.eof > 0 && all_closed() : draining && open_calls() == 0)
			break;
		for (size_t i = 0; i < peer_count; i++) {
			if (peers[i].kind == CALLER)
				caller_tick(&peers[i], t);
			else
				worker_tick(&peers[i], t);
		}
		poll_once(5);
	}
}

int
main(int argc, char **argv)
{
	struct rlimit limit;
	size_t workers;
	double seconds;
	uint64_t seed;
	long long missing;

	if (argc < 5) {
		fprintf(stderr, "usage: stress SOCKET CALLERS WORKERS SECONDS [SEED] [--until-eof]\n");
		return 2;
	}
	socket_path = argv[1];
	caller_count = strtoul(argv[2], NULL, 10);
	workers = strtoul(argv[3], NULL, 10);
	seconds = strtod(argv[4], NULL);
	seed = argc > 5 && strcmp(argv[5], "--until-eof") != 0 ? strtoull(argv[5], NULL, 10) :
	    (uint64_t)time(NULL) ^ (uint64_t)getpid();
	until_eof = strcmp(argv[argc - 1], "--until-eof") == 0;
	rng_state = seed | 1;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	peer_count = caller_count + workers;
	if (workers == 0 || (peers = calloc(peer_count, sizeof(*peers))) == NULL ||
	    (epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "stress: setup failed\n");
		return 2;
	}
	for (size_t i = 0; i < peer_count; i++) {
		peers[i].kind = i < caller_count ? CALLER : WORKER;
		peers[i].fd = -1;
		peers[i].next_id = 2;
	}
	run(seconds);
	missing = until_eof ? 0 : open_calls();
	printf("seed=%llu calls=%lld finished=%lld failed=%lld closed=%lld timed_out=%lld "
	    "not_found=%lld refused=%lld abandoned=%lld intermediates=%lld worker_requests=%lld "
	    "worker_vanished=%lld eof=%lld missing=%lld unexpected=%lld\n",
	    (unsigned long long)seed, stats.started, stats.finished, stats.failed, stats.closed,
	    stats.timed_out, stats.not_found, stats.refused, stats.abandoned, stats.intermediates,
	    stats.worker_requests, stats.worker_vanished, stats.eof, missing, stats.unexpected);
	for (size_t i = 0; i < peer_count; i++)
		peer_disconnect(&peers[i]);
	return missing == 0 && stats.unexpected == 0 ? 0 : 1;
}
