/*
 * make bench: the performance budget of SPEC section 9, measured in one run.
 *
 * Starts a minimal poll() AF_UNIX server that answers each line with a
 * fixed reply (the raw round trip, the physical limit on this machine), a
 * minimal poll() relay that passes a client's bytes to one worker and back
 * (the limit of a forward: three processes, four hops) and the daemon, each
 * on a socket in a temporary directory, and prints every figure beside its
 * target. Latencies and CPU times per call (from /proc/PID/schedstat) are
 * ratios to the raw servers measured in the same run: the median of the
 * ratios of several alternating rounds, since absolute times on a shared
 * machine are noise.
 *
 * usage: bench [SUPERVISORD [SMALL]]   (default ./supervisord, or $SUPERVISORD;
 *        SMALL: the same built for size, whose stripped size is shown too)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHORT_REPLY	"{\"id\":2,\"finished\":true,\"pong\":1}\n"
#define FEW_WORKERS	4
#define ROUNDS		7
#define CALLS_PER_ROUND	1500
#define WARMUP_CALLS	500
#define PIPELINED_CALLS	300000
#define PIPELINE_WINDOW	512
#define MANY		10000
#define SCALE_CALLS	200
#define IDLE_SECONDS	3
#define MiB		(1024.0 * 1024.0)

struct peer {
	int	 fd;
	char	*buf;
	size_t	 cap, len;		/* bytes in buf */
	size_t	 taken;			/* the last line returned, with its newline */
};

struct samples {
	double	*ns;
	size_t	 len, cap;
};

/* Socket paths must fit sun_path (108 bytes). */
static char tmpdir[80];
static char raw_short_path[108], raw_sized_path[108], relay_path[108], sup_path[108], log_path[108];
static pid_t children[4];		/* the daemon, then the raw servers and the relay */
static pid_t daemon_pid;
static int misses;

/* Processes and files */

static void
cleanup(void)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		if (children[i] <= 0)
			continue;
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
		children[i] = 0;
	}
	if (tmpdir[0] != '\0') {
		unlink(raw_short_path);
		unlink(raw_sized_path);
		unlink(relay_path);
		unlink(sup_path);
		unlink(log_path);
		rmdir(tmpdir);
		tmpdir[0] = '\0';
	}
}

static void
on_signal(int signo)
{
	cleanup();
	signal(signo, SIG_DFL);
	raise(signo);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int saved_errno = errno;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s\n", saved_errno ? ": " : "", saved_errno ? strerror(saved_errno) : "");
	if (log_path[0] != '\0' && access(log_path, R_OK) == 0) {
		char command[sizeof(log_path) + 64];
		fprintf(stderr, "bench: the daemon's log ends:\n");
		snprintf(command, sizeof(command), "tail -n 20 '%s' >&2", log_path);
		(void)!system(command);
	}
	exit(1);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
raise_fd_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
		die("getrlimit");
	limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
		die("setrlimit");
	if (limit.rlim_cur < MANY + 64) {
		errno = 0;
		die("the hard fd limit is %llu; %d connections need more (ulimit -Hn)",
		    (unsigned long long)limit.rlim_cur, MANY);
	}
}

/* A number from a "Key:   N kB" line of a /proc file, or -1. */
static long long
proc_field(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t key_len = strlen(key);
	long long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
			value = strtoll(line + key_len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

static long long
context_switches(pid_t pid)
{
	return proc_field(pid, "status", "voluntary_ctxt_switches") +
	    proc_field(pid, "status", "nonvoluntary_ctxt_switches");
}

static int
fd_count(pid_t pid)
{
	char path[64];
	int count = 0;
	FILE *p;

	snprintf(path, sizeof(path), "ls /proc/%ld/fd 2>/dev/null", (long)pid);
	if ((p = popen(path, "r")) == NULL)
		return -1;
	while (fgets(path, sizeof(path), p) != NULL)
		count++;
	pclose(p);
	return count;
}

/* Sockets */

static int
connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		die("socket");
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		if (errno != EINTR && errno != EAGAIN)
			die("connect %s", path);
	}
	return fd;
}

static void
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		data += n;
		len -= (size_t)n;
	}
}

static void
peer_open(struct peer *p, const char *path)
{
	p->fd = connect_to(path);
	p->cap = 1 << 16;
	p->len = p->taken = 0;
	if ((p->buf = malloc(p->cap)) == NULL)
		die("out of memory");
}

static void
peer_close(struct peer *p)
{
	close(p->fd);
	free(p->buf);
	p->buf = NULL;
}

/* Blocks for the next line; returns it NUL-terminated (valid until the next call). */
static char *
peer_line(struct peer *p)
{
	char *newline;

	memmove(p->buf, p->buf + p->taken, p->len - p->taken);
	p->len -= p->taken;
	p->taken = 0;
	while ((newline = memchr(p->buf, '\n', p->len)) == NULL) {
		ssize_t n;
		if (p->len == p->cap && (p->buf = realloc(p->buf, p->cap *= 2)) == NULL)
			die("out of memory");
		n = read(p->fd, p->buf + p->len, p->cap - p->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? 0 : errno;
			die("read: %s", n == 0 ? "connection closed" : "error");
		}
		p->len += (size_t)n;
	}
	*newline = '\0';
	p->taken = (size_t)(newline - p->buf) + 1;
	return p->buf;
}

/* Sends request and reads replies up to the finished one. */
static char *
peer_call(struct peer *p, const char *request)
{
	char *line;

	write_all(p->fd, request, strlen(request));
	do
		line = peer_line(p);
	while (strstr(line, "\"finished\":true") == NULL);
	return line;
}

static long long
json_number(const char *line, const char *key)
{
	const char *at = strstr(line, key);

	return at != NULL ? strtoll(at + strlen(key), NULL, 10) : -1;
}

static void
json_string(const char *line, const char *key, char *out, size_t out_len)
{
	const char *at = strstr(line, key);
	const char *end;

	out[0] = '\0';
	if (at == NULL || (end = strchr(at + strlen(key), '"')) == NULL)
		return;
	at += strlen(key);
	snprintf(out, out_len, "%.*s", (int)(end - at), at);
}

/* The raw server: the least a poll() server can do per line. */

/* One write for every line of one read, as the daemon batches its replies. */
static void
raw_serve(struct pollfd *pfd, const char *reply, size_t reply_len)
{
	static char buf[65536], *out;
	static size_t out_cap;
	ssize_t n = read(pfd->fd, buf, sizeof(buf));
	size_t replies = 0;

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			close(pfd->fd);
			pfd->fd = -1;
		}
		return;
	}
	if (out_cap < sizeof(buf) * reply_len) {
		out_cap = sizeof(buf) * reply_len;
		if ((out = realloc(out, out_cap)) == NULL)
			die("out of memory");
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			memcpy(out + reply_len * replies++, reply, reply_len);
	}
	write_all(pfd->fd, out, reply_len * replies);
}

static void __attribute__((noreturn))
raw_server(int listen_fd, int ready_fd, const char *reply)
{
	static struct pollfd pfds[64];
	size_t reply_len = strlen(reply);
	nfds_t count = 1;

	pfds[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	write_all(ready_fd, "\n", 1);
	close(ready_fd);
	for (;;) {
		if (poll(pfds, count, -1) == -1)
			continue;
		if (pfds[0].revents & POLLIN) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd != -1 && count < 64)
				pfds[count++] = (struct pollfd){ .fd = fd, .events = POLLIN };
			else if (fd != -1)
				close(fd);
		}
		for (nfds_t i = 1; i < count; i++) {
			if (pfds[i].revents != 0)
				raw_serve(&pfds[i], reply, reply_len);
		}
	}
}

/*
 * The raw relay: the first connection is the worker; whatever any other
 * connection sends goes to the worker, and what the worker sends goes to
 * the last client that spoke. No parsing, no ids: the least a forward is.
 */
static void __attribute__((noreturn))
raw_relay(int listen_fd, int ready_fd)
{
	static struct pollfd pfds[64];
	static char buf[1 << 16];
	nfds_t count = 1;
	int worker = -1, client = -1;

	pfds[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	write_all(ready_fd, "\n", 1);
	close(ready_fd);
	for (;;) {
		if (poll(pfds, count, -1) == -1)
			continue;
		if (pfds[0].revents & POLLIN) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd != -1 && count < 64) {
				pfds[count++] = (struct pollfd){ .fd = fd, .events = POLLIN };
				if (worker == -1)
					worker = fd;
			} else if (fd != -1) {
				close(fd);
			}
		}
		for (nfds_t i = 1; i < count; i++) {
			ssize_t n;

			if (pfds[i].revents == 0 || pfds[i].fd < 0)
				continue;
			if ((n = read(pfds[i].fd, buf, sizeof(buf))) <= 0) {
				close(pfds[i].fd);
				pfds[i].fd = -1;
				continue;
			}
			if (pfds[i].fd == worker) {
				if (client != -1)
					write_all(client, buf, (size_t)n);
			} else {
				client = pfds[i].fd;
				write_all(worker, buf, (size_t)n);
			}
		}
	}
}

static void
wait_ready(int ready_fd, const char *what)
{
	char byte;
	struct pollfd pfd = { .fd = ready_fd, .events = POLLIN };

	if (poll(&pfd, 1, 10000) != 1 || read(ready_fd, &byte, 1) != 1 || byte != '\n') {
		errno = 0;
		die("%s did not start (see %s)", what, log_path);
	}
	close(ready_fd);
}

static pid_t
start_raw_server(const char *path, const char *reply)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ready[2];
	pid_t pid;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd == -1 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    listen(fd, 64) == -1 || pipe2(ready, O_CLOEXEC) == -1)
		die("raw server %s", path);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		close(ready[0]);
		if (reply == NULL)
			raw_relay(fd, ready[1]);
		raw_server(fd, ready[1], reply);
	}
	close(fd);
	close(ready[1]);
	wait_ready(ready[0], "the raw server");
	return pid;
}

static void
start_daemon(const char *binary)
{
	int ready[2], log_fd;
	char ready_arg[16];

	if (pipe(ready) == -1)
		die("pipe");
	fcntl(ready[0], F_SETFD, FD_CLOEXEC);
	if ((log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		die("%s", log_path);
	if ((children[0] = daemon_pid = fork()) == -1)
		die("fork");
	if (daemon_pid == 0) {
		snprintf(ready_arg, sizeof(ready_arg), "%d", ready[1]);
		dup2(log_fd, STDERR_FILENO);
		execl(binary, binary, "-s", sup_path, "--ready-fd", ready_arg, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", binary, strerror(errno));
		_exit(127);
	}
	close(log_fd);
	close(ready[1]);
	wait_ready(ready[0], binary);
}

static int
stop_daemon(void)
{
	int status = -1;
	pid_t pid = daemon_pid;

	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			children[0] = 0;
			return status;
		}
		usleep(10000);
	}
	return -1;		/* cleanup() kills it */
}

/* Statistics and reporting */

static void
sample_add(struct samples *s, double ns)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if ((s->ns = realloc(s->ns, s->cap * sizeof(*s->ns))) == NULL)
			die("out of memory");
	}
	s->ns[s->len++] = ns;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
percentile(struct samples *s, double p)
{
	size_t at;

	qsort(s->ns, s->len, sizeof(*s->ns), compare_doubles);
	at = (size_t)(p * (double)(s->len - 1) + 0.5);
	return s->ns[at];
}

static void
report(const char *figure, const char *value, bool pass, const char *target)
{
	printf("  %-44s %-26s %-14s %s\n", figure, value, target, pass ? "PASS" : "MISS");
	if (!pass)
		misses++;
}

static void
info(const char *figure, const char *fmt, ...)
{
	char value[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	printf("  %-44s %s\n", figure, value);
}

/* The measurements */

struct rig {
	struct peer	 raw_short;		/* a raw server with a reply as short as forward's */
	struct peer	 raw_sized;		/* a raw server with a reply as long as status's */
	struct peer	 relay_client;		/* the raw relay's client */
	struct peer	 relay_worker;		/* and its worker */
	struct peer	 caller;		/* one client of the daemon */
	struct peer	 workers[FEW_WORKERS];	/* registered; workers[0] answers forwards */
	char		 worker_id[64];
	long long	 next_id;
	size_t		 status_len;		/* bytes in a status reply */
};

static void
register_peer(struct peer *p, const char *name, char *id_out, size_t id_len)
{
	char request[128], *reply;

	snprintf(request, sizeof(request),
	    "{\"id\":2,\"do\":\"register\",\"state\":{\"name\":\"%s\"}}\n", name);
	reply = peer_call(p, request);
	if (strstr(reply, "\"failed\"") != NULL) {
		errno = 0;
		die("register failed: %s", reply);
	}
	if (id_out != NULL)
		json_string(reply, "\"connection_id\":\"", id_out, id_len);
}

static double
time_call(struct peer *p)
{
	double start = now_ns();

	peer_call(p, "{\"id\":2,\"do\":\"status\"}\n");
	return now_ns() - start;
}

static double
time_raw_short(struct rig *rig)
{
	return time_call(&rig->raw_short);
}

static double
time_raw_sized(struct rig *rig)
{
	return time_call(&rig->raw_sized);
}

static double
time_status(struct rig *rig)
{
	return time_call(&rig->caller);
}

/* caller -> daemon -> worker, which answers at once -> daemon -> caller */
static double
time_forward(struct rig *rig)
{
	char request[256], answer[64];
	struct peer *worker = &rig->workers[0];
	double start = now_ns();
	long long call_id;

	snprintf(request, sizeof(request),
	    "{\"id\":%lld,\"do\":\"forward\",\"connection_id\":\"%s\",\"operation\":{\"do\":\"ping\"}}\n",
	    rig->next_id, rig->worker_id);
	rig->next_id += 2;
	write_all(rig->caller.fd, request, strlen(request));
	call_id = json_number(peer_line(worker), "\"id\":");
	snprintf(answer, sizeof(answer), "{\"id\":%lld,\"finished\":true,\"pong\":1}\n", call_id);
	write_all(worker->fd, answer, strlen(answer));
	if (strstr(peer_line(&rig->caller), "\"pong\"") == NULL) {
		errno = 0;
		die("forward: unexpected reply: %s", rig->caller.buf);
	}
	return now_ns() - start;
}

/* client -> relay -> worker, which answers at once -> relay -> client: forward's limit */
static double
time_raw_relay(struct rig *rig)
{
	char request[256], answer[64];
	double start = now_ns();
	long long call_id;

	snprintf(request, sizeof(request),
	    "{\"id\":%lld,\"do\":\"forward\",\"connection_id\":\"%s\",\"operation\":{\"do\":\"ping\"}}\n",
	    rig->next_id, rig->worker_id);
	rig->next_id += 2;
	write_all(rig->relay_client.fd, request, strlen(request));
	/* The worker's work as in time_forward(): only the servers differ. */
	call_id = json_number(peer_line(&rig->relay_worker), "\"id\":");
	snprintf(answer, sizeof(answer), "{\"id\":%lld,\"finished\":true,\"pong\":1}\n", call_id);
	write_all(rig->relay_worker.fd, answer, strlen(answer));
	if (strstr(peer_line(&rig->relay_client), "\"pong\"") == NULL) {
		errno = 0;
		die("relay: unexpected reply: %s", rig->relay_client.buf);
	}
	return now_ns() - start;
}

/* A fixed reply of len bytes, newline included. */
static char *
sized_reply(size_t len)
{
	static const char head[] = "{\"id\":2,\"finished\":true,\"pad\":\"", tail[] = "\"}\n";
	size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
	size_t pad = len > fixed ? len - fixed : 0;
	char *reply = malloc(fixed + pad + 1);

	if (reply == NULL)
		die("out of memory");
	memcpy(reply, head, sizeof(head) - 1);
	memset(reply + sizeof(head) - 1, 'x', pad);
	memcpy(reply + sizeof(head) - 1 + pad, tail, sizeof(tail));
	return reply;
}

/*
 * The daemon gets a caller and FEW_WORKERS registered workers; each raw
 * server the same number of connections, so poll() watches as many fds
 * in both and the ratios measure the daemon's own work.
 */
static void
rig_open(struct rig *rig)
{
	char name[32], *reply;

	peer_open(&rig->caller, sup_path);
	for (int i = 0; i < FEW_WORKERS; i++) {
		peer_open(&rig->workers[i], sup_path);
		snprintf(name, sizeof(name), "worker-%d", i);
		register_peer(&rig->workers[i], name, i == 0 ? rig->worker_id : NULL,
		    sizeof(rig->worker_id));
	}
	rig->next_id = 4;
	rig->status_len = strlen(peer_call(&rig->caller, "{\"id\":2,\"do\":\"status\"}\n")) + 1;
	reply = sized_reply(rig->status_len);
	children[1] = start_raw_server(raw_short_path, SHORT_REPLY);
	children[2] = start_raw_server(raw_sized_path, reply);
	children[3] = start_raw_server(relay_path, NULL);
	free(reply);
	peer_open(&rig->raw_short, raw_short_path);
	peer_open(&rig->raw_sized, raw_sized_path);
	peer_open(&rig->relay_worker, relay_path);	/* the first to connect is its worker */
	peer_open(&rig->relay_client, relay_path);
	for (int i = 0; i < FEW_WORKERS; i++) {
		connect_to(raw_short_path);
		connect_to(raw_sized_path);
		if (i > 0)
			connect_to(relay_path);
	}
}

/* Nanoseconds pid has spent on a CPU, from the scheduler's accounting. */
static double
cpu_ns(pid_t pid)
{
	char path[64];
	double ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%lf", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

struct kind {
	const char	*name;
	double		(*timed)(struct rig *);
	pid_t		 server;
	struct samples	 samples;
	double		 cpu_ns;		/* the server's, over every sample */
	double		 median, p99;
	double		 round_median[ROUNDS];	/* latency, each round's own */
	double		 round_cpu[ROUNDS];	/* server CPU ns per call, each round's own */
};

static double
median_of_doubles(double *values, size_t len)
{
	qsort(values, len, sizeof(*values), compare_doubles);
	return len % 2 ? values[len / 2] : (values[len / 2 - 1] + values[len / 2]) / 2;
}

static void
measure_rounds(struct rig *rig, struct kind *kinds, size_t count)
{
	for (int i = 0; i < WARMUP_CALLS; i++) {
		for (size_t k = 0; k < count; k++)
			kinds[k].timed(rig);
	}
	/* Rounds interleave the kinds, so a noisy second hurts them alike. */
	for (int round_no = 0; round_no < ROUNDS; round_no++) {
		for (size_t k = 0; k < count; k++) {
			double cpu_before = cpu_ns(kinds[k].server), cpu;
			struct samples round = { 0 };
			for (int i = 0; i < CALLS_PER_ROUND; i++) {
				double ns = kinds[k].timed(rig);
				sample_add(&kinds[k].samples, ns);
				sample_add(&round, ns);
			}
			cpu = cpu_ns(kinds[k].server) - cpu_before;
			kinds[k].cpu_ns += cpu;
			kinds[k].round_cpu[round_no] = cpu / CALLS_PER_ROUND;
			kinds[k].round_median[round_no] = percentile(&round, 0.5);
			free(round.ns);
		}
	}
	for (size_t k = 0; k < count; k++) {
		kinds[k].median = percentile(&kinds[k].samples, 0.5);
		kinds[k].p99 = percentile(&kinds[k].samples, 0.99);
		info(kinds[k].name, "%.1f us, p99 %.1f us; server CPU %.2f us/call",
		    kinds[k].median / 1e3, kinds[k].p99 / 1e3,
		    kinds[k].cpu_ns / 1e3 / (ROUNDS * CALLS_PER_ROUND));
		free(kinds[k].samples.ns);
	}
}

/* The median over the rounds of each round's ratio: a noisy round moves it little. */
static double
round_ratio(const double *of, const double *to)
{
	double ratios[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		ratios[r] = of[r] / to[r];
	return median_of_doubles(ratios, ROUNDS);
}

static void
ratio(const char *figure, const struct kind *of, const struct kind *to, double target)
{
	char value[96], target_text[16];
	double latency = round_ratio(of->round_median, to->round_median);

	snprintf(value, sizeof(value), "%.2fx (p99 %.2fx)", latency, of->p99 / to->p99);
	snprintf(target_text, sizeof(target_text), "<= %.2fx", target);
	if (target > 0)
		report(figure, value, latency <= target, target_text);
	else
		info(figure, "%s", value);
}

static void
cpu_ratio(const char *figure, const struct kind *of, const struct kind *to, double target)
{
	char value[96], target_text[16];
	double cpu = round_ratio(of->round_cpu, to->round_cpu);

	snprintf(value, sizeof(value), "%.2fx (%.2f vs %.2f us/call)", cpu,
	    of->cpu_ns / 1e3 / (ROUNDS * CALLS_PER_ROUND), to->cpu_ns / 1e3 / (ROUNDS * CALLS_PER_ROUND));
	snprintf(target_text, sizeof(target_text), "<= %.2fx", target);
	if (target > 0)
		report(figure, value, cpu <= target, target_text);
	else
		info(figure, "%s", value);
}

/* Puts the bench and its servers on one CPU (cpu >= 0), or back on all of them. */
static void
pin_all(int cpu)
{
	static cpu_set_t all;
	cpu_set_t one;

	if (cpu < 0) {
		for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
			sched_setaffinity(children[i], sizeof(all), &all);
		sched_setaffinity(0, sizeof(all), &all);
		return;
	}
	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		sched_setaffinity(children[i], sizeof(one), &one);
}

static void
latencies_round(struct rig *rig, bool pinned)
{
	char short_name[64], sized_name[64];
	struct kind kinds[] = {
		{ .name = short_name, .timed = time_raw_short, .server = children[1] },
		{ .name = sized_name, .timed = time_raw_sized, .server = children[2] },
		{ .name = "status round trip, median", .timed = time_status, .server = daemon_pid },
		{ .name = "raw relay round trip (4 hops)", .timed = time_raw_relay, .server = children[3] },
		{ .name = "forward round trip, median", .timed = time_forward, .server = daemon_pid },
	};

	snprintf(short_name, sizeof(short_name), "raw round trip, %zu-byte reply",
	    sizeof(SHORT_REPLY) - 1);
	snprintf(sized_name, sizeof(sized_name), "raw round trip, %zu-byte reply",
	    rig->status_len);
	if (pinned)
		pin_all(sched_getcpu());
	measure_rounds(rig, kinds, sizeof(kinds) / sizeof(kinds[0]));
	if (pinned)
		pin_all(-1);
	ratio("status / raw, same reply size", &kinds[2], &kinds[1], pinned ? 1.25 : 0);
	cpu_ratio("status CPU per call / raw's", &kinds[2], &kinds[1], pinned ? 1.2 : 0);
	ratio("status / raw, short reply", &kinds[2], &kinds[0], 0);
	ratio("forward / raw relay", &kinds[4], &kinds[3], pinned ? 1.1 : 0);
	cpu_ratio("forward CPU per call / raw relay's", &kinds[4], &kinds[3], 0);
	ratio("forward / raw, short reply", &kinds[4], &kinds[0], 0);
}

/*
 * Judged with every process on one CPU: across CPUs the figures hang on
 * where the scheduler puts each process and how fast an idle virtual CPU
 * wakes, which differ from run to run; the spread run is shown as well.
 */
static void
latencies(struct rig *rig)
{
	printf("  (%d calls each in %d interleaved rounds; %d workers registered, %zu-byte status reply;\n"
	    "   each raw server holds as many connections as the daemon)\n",
	    ROUNDS * CALLS_PER_ROUND, ROUNDS, FEW_WORKERS, rig->status_len);
	printf("  -- bench, raw servers and daemon on one CPU:\n");
	latencies_round(rig, true);
	printf("  -- the same, spread over the CPUs by the scheduler (not judged):\n");
	latencies_round(rig, false);
}

/* Resets the kernel's peak resident size of pid (VmHWM); false where it cannot. */
static bool
reset_peak(pid_t pid)
{
	char path[64];
	int fd;
	bool done;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return false;
	done = write(fd, "5", 1) == 1;
	close(fd);
	return done;
}

/* A 16 MiB reply forwarded: relayed intact, memory at most 2x it over idle, idle again after. */
static void
big_reply(struct rig *rig)
{
	static const size_t size = 16 * 1024 * 1024;	/* the line, newline not counted */
	char request[256], head[64], *reply, *got;
	struct peer *worker = &rig->workers[0];
	long long idle_kb, peak_kb, after_kb, call_id;
	size_t head_len, expect_head_len;
	bool peaked, intact;
	char value[96];

	peer_call(&rig->caller, "{\"id\":2,\"do\":\"status\"}\n");
	usleep(100000);
	idle_kb = proc_field(daemon_pid, "status", "VmRSS");
	peaked = reset_peak(daemon_pid);
	snprintf(request, sizeof(request),
	    "{\"id\":%lld,\"do\":\"forward\",\"connection_id\":\"%s\",\"operation\":{\"do\":\"thread_dump\"}}\n",
	    rig->next_id, rig->worker_id);
	write_all(rig->caller.fd, request, strlen(request));
	call_id = json_number(peer_line(worker), "\"id\":");
	head_len = (size_t)snprintf(head, sizeof(head), "{\"id\":%lld,\"finished\":true,\"data\":\"", call_id);
	if ((reply = malloc(size + 1)) == NULL)
		die("out of memory");
	memcpy(reply, head, head_len);
	for (size_t i = head_len; i < size - 2; i++)
		reply[i] = (char)('a' + i % 26);
	memcpy(reply + size - 2, "\"}\n", 3);
	write_all(worker->fd, reply, size + 1);
	got = peer_line(&rig->caller);
	expect_head_len = (size_t)snprintf(head, sizeof(head), "{\"id\":%lld,\"finished\":true,\"data\":\"", rig->next_id);
	intact = strlen(got) == size - head_len + expect_head_len &&
	    memcmp(got, head, expect_head_len) == 0 &&
	    memcmp(got + expect_head_len, reply + head_len, size - head_len) == 0;
	rig->next_id += 2;
	free(reply);
	peak_kb = proc_field(daemon_pid, "status", "VmHWM");
	peer_call(&rig->caller, "{\"id\":2,\"do\":\"status\"}\n");
	usleep(100000);
	after_kb = proc_field(daemon_pid, "status", "VmRSS");
	report("16 MiB forwarded reply", intact ? "relayed intact" : "CHANGED IN TRANSIT", intact, "intact");
	if (peaked) {
		snprintf(value, sizeof(value), "+%.1f MiB (%.2fx the reply)", (peak_kb - idle_kb) / 1024.0,
		    (peak_kb - idle_kb) / 1024.0 / 16);
		report("  daemon peak memory over idle", value, (peak_kb - idle_kb) / 1024.0 <= 32, "<= 2x");
	} else {
		info("  daemon peak memory over idle", "unknown (cannot reset VmHWM)");
	}
	snprintf(value, sizeof(value), "%.2f MiB (idle %.2f MiB)", after_kb / 1024.0, idle_kb / 1024.0);
	report("  resident after", value, after_kb <= idle_kb + 512, "idle + 0.5 MiB");
}

/* Counts the replies of n pipelined calls while keeping a window in flight. */
static double
pipelined(const char *path, const char *request, long calls)
{
	struct peer p;
	size_t req_len = strlen(request);
	long sent = 0, answered = 0;
	double start;
	char buf[1 << 16];

	peer_open(&p, path);
	fcntl(p.fd, F_SETFL, O_NONBLOCK);
	start = now_ns();
	while (answered < calls) {
		struct pollfd pfd = { .fd = p.fd, .events = POLLIN };
		ssize_t n;

		if (sent < calls && sent - answered < PIPELINE_WINDOW) {
			char batch[PIPELINE_WINDOW * 64];
			long k = PIPELINE_WINDOW - (sent - answered);
			if (k > calls - sent)
				k = calls - sent;
			for (long i = 0; i < k; i++)
				memcpy(batch + (size_t)i * req_len, request, req_len);
			write_all(p.fd, batch, (size_t)k * req_len);
			sent += k;
		}
		if (poll(&pfd, 1, 10000) != 1) {
			errno = 0;
			die("pipelined: no reply for 10 s");
		}
		if ((n = read(p.fd, buf, sizeof(buf))) <= 0) {
			if (n == -1 && errno == EAGAIN)
				continue;
			die("pipelined: read");
		}
		for (ssize_t i = 0; i < n; i++)
			answered += buf[i] == '\n';
	}
	peer_close(&p);
	return (double)calls / ((now_ns() - start) / 1e9);
}

static void
throughput(void)
{
	double raw = pipelined(raw_short_path, "{\"id\":2,\"do\":\"status\"}\n", PIPELINED_CALLS);
	double status = pipelined(sup_path, "{\"id\":2,\"do\":\"status\"}\n", PIPELINED_CALLS);
	char value[64];

	info("raw pipelined replies/s, one connection", "%.0f", raw);
	snprintf(value, sizeof(value), "%.0f (%.2fx raw)", status, status / raw);
	report("pipelined status calls/s, one connection", value, status >= 250000, ">= 250000");
}

static double
median_of(double (*timed)(struct rig *), struct rig *rig, int calls)
{
	struct samples s = { 0 };
	double median;

	for (int i = 0; i < calls; i++)
		sample_add(&s, timed(rig));
	median = percentile(&s, 0.5);
	free(s.ns);
	return median;
}

#define SUBSCRIBERS	10

static int
compare_ratio(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Status round trip and pipelined calls/s with SUBSCRIBERS events
 * subscribers attached, beside as many connections that are idle and
 * subscribed to nothing, in alternating rounds: attached subscribers must
 * cost the loop nothing while nothing happens. Beside no connections at
 * all the figure would mostly be poll()'s cost of looking at more fds,
 * which any idle connection costs; that is printed too, not judged.
 */
enum { NO_PEERS, IDLE_PEERS, SUBSCRIBED_PEERS, PEER_KINDS };

static void
with_subscribers(struct rig *rig)
{
	struct peer subs[SUBSCRIBERS];
	double trip[PEER_KINDS][ROUNDS], rate[PEER_KINDS][ROUNDS];
	double trip_ratio, rate_ratio, none_ratio;
	char value[64];

	pin_all(sched_getcpu());
	for (int round = 0; round < ROUNDS; round++) {
		for (int kind = 0; kind < PEER_KINDS; kind++) {
			for (int i = 0; kind != NO_PEERS && i < SUBSCRIBERS; i++) {
				peer_open(&subs[i], sup_path);
				if (kind != SUBSCRIBED_PEERS)
					continue;
				write_all(subs[i].fd, "{\"id\":2,\"do\":\"events\"}\n", 26);
				if (strstr(peer_line(&subs[i]), "\"subscribed\":true") == NULL) {
					errno = 0;
					die("events: unexpected reply: %s", subs[i].buf);
				}
			}
			trip[kind][round] = median_of(time_status, rig, CALLS_PER_ROUND / 4);
			rate[kind][round] = pipelined(sup_path, "{\"id\":2,\"do\":\"status\"}\n",
			    PIPELINED_CALLS / 10);
			for (int i = 0; kind != NO_PEERS && i < SUBSCRIBERS; i++)
				peer_close(&subs[i]);
		}
	}
	pin_all(-1);
	for (int round = 0; round < ROUNDS; round++) {
		trip[NO_PEERS][round] = trip[SUBSCRIBED_PEERS][round] / trip[NO_PEERS][round];
		trip[IDLE_PEERS][round] = trip[SUBSCRIBED_PEERS][round] / trip[IDLE_PEERS][round];
		rate[IDLE_PEERS][round] = rate[SUBSCRIBED_PEERS][round] / rate[IDLE_PEERS][round];
	}
	qsort(trip[NO_PEERS], ROUNDS, sizeof(double), compare_ratio);
	qsort(trip[IDLE_PEERS], ROUNDS, sizeof(double), compare_ratio);
	qsort(rate[IDLE_PEERS], ROUNDS, sizeof(double), compare_ratio);
	none_ratio = trip[NO_PEERS][ROUNDS / 2];
	trip_ratio = trip[IDLE_PEERS][ROUNDS / 2];
	rate_ratio = rate[IDLE_PEERS][ROUNDS / 2];
	snprintf(value, sizeof(value), "%.2fx 10 idle", trip_ratio);
	report("status round trip, 10 events subscribers", value, trip_ratio <= 1.10, "<= 1.10x");
	snprintf(value, sizeof(value), "%.2fx 10 idle", rate_ratio);
	report("pipelined status/s, 10 events subscribers", value, rate_ratio >= 0.90, ">= 0.90x");
	info("status round trip, 10 subscribers vs none", "%.2fx (poll() over 10 more fds)",
	    none_ratio);
}

/*
 * Idle means settled: the daemon has reached poll() after its last reply or
 * ready signal, and after a crowd has left, made its one trim a second after
 * the last close (settle_ms covers it).
 */
static void
idle(pid_t pid, const char *when, bool judge, useconds_t settle_ms)
{
	long long before, rss, pss, uss;
	double rate;
	char figure[96], value[64];

	usleep(settle_ms * 1000);
	before = context_switches(pid);
	sleep(IDLE_SECONDS);
	rate = (double)(context_switches(pid) - before) / IDLE_SECONDS;
	rss = proc_field(pid, "status", "VmRSS");
	pss = proc_field(pid, "smaps_rollup", "Pss");
	uss = proc_field(pid, "smaps_rollup", "Private_Clean") +
	    proc_field(pid, "smaps_rollup", "Private_Dirty");
	snprintf(value, sizeof(value), "%.2f /s", rate);
	snprintf(figure, sizeof(figure), "idle wake-ups, %s", when);
	if (judge)
		report(figure, value, rate == 0, "0 /s");
	else
		info(figure, "%s", value);
	snprintf(value, sizeof(value), "%.2f MiB", rss / 1024.0);
	snprintf(figure, sizeof(figure), "idle RSS, %s", when);
	if (judge)
		report(figure, value, rss / 1024.0 <= 1.5, "<= 1.5 MiB");
	else
		info(figure, "%s", value);
	snprintf(value, sizeof(value), "%.2f MiB", pss / 1024.0);
	snprintf(figure, sizeof(figure), "idle PSS, %s", when);
	if (judge)
		report(figure, value, pss / 1024.0 <= 0.3, "<= 0.3 MiB");
	else
		info(figure, "%s", value);
	/* PSS splits shared library pages among whoever maps them now: it moves with the machine. */
	snprintf(figure, sizeof(figure), "idle private (USS), %s", when);
	info(figure, "%.2f MiB", uss / 1024.0);
}

/* 10,000 workers connect and register at once; returns their fds. */
static int *
many_register(void)
{
	static const char request[] = "{\"id\":2,\"do\":\"register\",\"state\":{\"name\":\"many\"}}\n";
	int *fds = calloc(MANY, sizeof(*fds));
	size_t *got = calloc(MANY, sizeof(*got));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int answered = 0;
	double start = now_ns(), connected, sent;
	char value[96], buf[4096];

	if (fds == NULL || got == NULL || ep == -1)
		die("many: setup");
	for (int i = 0; i < MANY; i++)
		fds[i] = connect_to(sup_path);
	connected = now_ns();
	for (int i = 0; i < MANY; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		write_all(fds[i], request, sizeof(request) - 1);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == -1)
			die("epoll_ctl");
	}
	sent = now_ns();
	while (answered < MANY) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 10000);
		if (n <= 0) {
			errno = 0;
			die("many: %d of %d registrations answered after 10 s idle", answered, MANY);
		}
		for (int e = 0; e < n; e++) {
			int i = (int)evs[e].data.u32;
			ssize_t r = read(fds[i], buf, sizeof(buf));
			for (ssize_t k = 0; k < r; k++) {
				if (buf[k] == '\n' && got[i]++ == 0)
					answered++;
			}
			if (r == 0) {
				errno = 0;
				die("many: the daemon closed connection %d", i);
			}
		}
	}
	double total = (now_ns() - start) / 1e9;
	info("10k: connect, send, answered", "%.3f s, %.3f s, %.3f s",
	    (connected - start) / 1e9, (sent - connected) / 1e9, (now_ns() - sent) / 1e9);
	snprintf(value, sizeof(value), "%.3f s", total);
	report("10,000 workers registering at once", value, total <= 1.0, "<= 1 s");
	close(ep);
	free(got);
	return fds;
}

static void
scaling(struct rig *rig, double status_10, double forward_10)
{
	double status_many = median_of(time_status, rig, SCALE_CALLS / 10);
	double forward_many = median_of(time_forward, rig, SCALE_CALLS);

	info("status at 10 -> 10,010 connections", "%.1f us -> %.1f us (%.0fx, %.2f us per registered)",
	    status_10 / 1e3, status_many / 1e3, status_many / status_10,
	    (status_many - status_10) / 1e3 / MANY);
	info("forward at 10 -> 10,010 connections", "%.1f us -> %.1f us (%.2fx; poll() over every fd)",
	    forward_10 / 1e3, forward_many / 1e3, forward_many / forward_10);
}

static off_t
stripped_size(const char *binary)
{
	char stripped[sizeof(tmpdir) + 16], command[2 * PATH_MAX + 64];
	struct stat st;

	snprintf(stripped, sizeof(stripped), "%s/stripped", tmpdir);
	snprintf(command, sizeof(command), "strip -o '%s' '%s'", stripped, binary);
	if (system(command) != 0 || stat(stripped, &st) == -1)
		return -1;
	unlink(stripped);
	return st.st_size;
}

static void
binary_size(const char *binary)
{
	off_t size = stripped_size(binary);
	char value[64];

	if (size == -1) {
		info("stripped binary", "unknown (strip failed)");
		return;
	}
	snprintf(value, sizeof(value), "%.1f KiB", size / 1024.0);
	report("stripped binary", value, size <= 100 * 1024, "<= 100 KiB");
}

static void
monitor_tick(const char *binary)
{
	char command[PATH_MAX * 2];
	struct stat st;

	if (stat("bench/monitor-tick.sh", &st) == -1) {
		info("monitor tick", "skipped (no bench/monitor-tick.sh)");
		return;
	}
	fflush(stdout);
	snprintf(command, sizeof(command), "SUPERVISORD='%s' sh bench/monitor-tick.sh '%s'",
	    binary, binary);
	if (system(command) != 0)
		info("monitor tick", "bench/monitor-tick.sh failed");
}

static void
run(const char *binary)
{
	struct rig rig;
	pid_t pid;
	int *many, status;
	double status_10, forward_10;
	char value[64];

	start_daemon(binary);
	pid = daemon_pid;
	printf("supervisord benchmark: %s, pid %ld\n\n", binary, (long)pid);
	printf("  %-44s %-26s %-14s %s\n", "figure", "measured", "target", "");
	idle(pid, "fresh daemon", true, 200);
	rig_open(&rig);
	latencies(&rig);
	big_reply(&rig);
	throughput();
	with_subscribers(&rig);
	/* 10 connections: the caller and FEW_WORKERS workers, plus five more. */
	struct peer extra[5];
	for (int i = 0; i < 5; i++) {
		peer_open(&extra[i], sup_path);
		register_peer(&extra[i], "extra", NULL, 0);
	}
	pin_all(sched_getcpu());
	status_10 = median_of(time_status, &rig, SCALE_CALLS);
	forward_10 = median_of(time_forward, &rig, SCALE_CALLS);
	pin_all(-1);
	many = many_register();
	long long rss = proc_field(pid, "status", "VmRSS");
	snprintf(value, sizeof(value), "%.2f MiB", rss / 1024.0);
	report("RSS with 10,010 registered connections", value, rss / 1024.0 <= 32, "<= 32 MiB");
	pin_all(sched_getcpu());
	scaling(&rig, status_10, forward_10);
	pin_all(-1);
	for (int i = 0; i < MANY; i++)
		close(many[i]);
	free(many);
	/* The daemon must see every close before the next figures mean anything. */
	peer_call(&rig.caller, "{\"id\":2,\"do\":\"status\"}\n");
	for (int i = 0; i < 50 && fd_count(pid) > 20; i++)
		usleep(100000);
	info("fds, RSS after the 10,000 left", "%d, %.2f MiB", fd_count(pid),
	    proc_field(pid, "status", "VmRSS") / 1024.0);
	idle(pid, "after the run, 10 connections", false, 1500);
	binary_size(binary);
	status = stop_daemon();
	info("exit on SIGTERM", status == 0 ? "0" : "not clean (status %d)", status);
	monitor_tick(binary);
}

int
main(int argc, char **argv)
{
	const char *binary = argc > 1 ? argv[1] : getenv("SUPERVISORD");
	const char *base = getenv("TMPDIR");
	char template[sizeof(tmpdir)];

	if (binary == NULL)
		binary = "./supervisord";
	if (access(binary, X_OK) == -1)
		die("%s", binary);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (base == NULL || strlen(base) > 40)
		base = "/tmp";
	snprintf(template, sizeof(template), "%s/supervisord-bench-XXXXXX", base);
	if (mkdtemp(template) == NULL)
		die("mkdtemp %s", template);
	snprintf(tmpdir, sizeof(tmpdir), "%s", template);
	snprintf(raw_short_path, sizeof(raw_short_path), "%s/raw-short.ipc", tmpdir);
	snprintf(raw_sized_path, sizeof(raw_sized_path), "%s/raw-sized.ipc", tmpdir);
	snprintf(relay_path, sizeof(relay_path), "%s/relay.ipc", tmpdir);
	snprintf(sup_path, sizeof(sup_path), "%s/sup.ipc", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", tmpdir);
	atexit(cleanup);
	run(binary);
	printf("\n%s: %d target%s missed\n", misses ? "MISS" : "PASS", misses, misses == 1 ? "" : "s");
	return 0;
}
