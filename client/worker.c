/*
 * The worker wrapper: runs a command as its child, registers the child with
 * the daemon and holds the connection for the child's life, answering the
 * operations the daemon forwards (worker_ops.c). One poll() loop over the
 * connection and a self-pipe that carries signals, SIGCHLD included.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/client.h"
#include "lib/clock.h"
#include "client/jsonline.h"
#include "lib/log.h"
#include "lib/selfpipe.h"
#include "lib/signame.h"
#include "client/worker_ops.h"

#define EXIT_USAGE		2
#define EXIT_CANNOT_RUN		127	/* as the shell reports a command it cannot run */
#define WORKER_MAX_LINE		(1024 * 1024)	/* the daemon's default message limit */
#define WORKER_MAX_OUTPUT	(4 * 1024 * 1024)	/* the daemon's default output cap */
#define RECONNECT_FIRST_MS	100
#define RECONNECT_MAX_MS	5000
#define RESPAWN_FIRST_MS	1000
#define RESPAWN_MAX_MS		60000
#define HEALTHY_RUN_MS		10000	/* a child that ran this long resets the back-off */

struct worker {
	const char	*socket_path;
	char		**argv;		/* COMMAND [ARG...] */
	char		*command;	/* argv joined with spaces */
	const char	*name;		/* -n, else the name in --state, else the command's */
	cJSON		*extra_state;	/* --state, or NULL */
	bool		 respawn;

	pid_t		 child;		/* 0 while none runs */
	int64_t		 child_started_ms;
	unsigned	 restarts;
	int		 exit_status;	/* what the wrapper exits with */
	int64_t		 respawn_at;	/* monotonic ms, -1 when none is scheduled */
	int64_t		 respawn_delay_ms;
	bool		 stopping;	/* TERM or INT arrived: no more respawns */
	bool		 done;
	char		 absence[192];	/* why no child runs, for diagnostics */

	struct jl_conn	 conn;
	bool		 conn_broken;	/* close at the end of this pass */
	int64_t		 reconnect_at;	/* monotonic ms, -1 while connected */
	int64_t		 reconnect_delay_ms;
	bool		 quiet_reconnect;	/* the first failure is logged, the rest at debug */
	long		 next_call_id;	/* ours are even: 2, 4, ... */
	long		 register_call_id;	/* the open register call, 0 if none */
	pid_t		 registered_pid;	/* the pid the last register named */
};

static struct worker *the_worker;	/* for the reply callback of worker_ops.c */

static const int passed_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
#define PASSED_SIGNALS (sizeof(passed_signals) / sizeof(passed_signals[0]))

/* Arguments */

static int PRINTF_LIKE(1, 2)
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("supervisord: worker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (usage: supervisord [-s PATH] worker [-n NAME] [--state JSON] [--respawn] -- COMMAND [ARG...])\n",
	    stderr);
	return EXIT_USAGE;
}

static char *
join_words(char **words)
{
	size_t len = 1;
	char *joined;

	for (char **word = words; *word != NULL; word++)
		len += strlen(*word) + 1;
	if ((joined = calloc(1, len)) == NULL)
		return NULL;
	for (char **word = words; *word != NULL; word++) {
		if (word != words)
			strcat(joined, " ");
		strcat(joined, *word);
	}
	return joined;
}

static const char *
default_name(const struct worker *w)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(w->extra_state, "name");
	const char *base = strrchr(w->argv[0], '/');

	if (cJSON_IsString(name))
		return name->valuestring;
	return base != NULL && base[1] != '\0' ? base + 1 : w->argv[0];
}

static int
parse_args(struct worker *w, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 's' },
		{ "respawn", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	optind = 0;		/* GNU getopt: start afresh on this argument vector */
	opterr = 0;
	while ((option = getopt_long(argc, argv, "+n:", longopts, NULL)) != -1) {
		switch (option) {
		case 'n':
			w->name = optarg;
			break;
		case 's':
			cJSON_Delete(w->extra_state);
			w->extra_state = cJSON_Parse(optarg);
			if (!cJSON_IsObject(w->extra_state))
				return usage_error("--state: '%s' is not a JSON object", optarg);
			break;
		case 'r':
			w->respawn = true;
			break;
		default:
			return usage_error("unknown option or missing value '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("missing COMMAND");
	/* Reconnecting would never help: say so now rather than retry for ever. */
	if (strlen(w->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error("socket path %s is too long (%zu > %zu bytes)", w->socket_path,
		    strlen(w->socket_path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	w->argv = argv + optind;
	if (w->name == NULL)
		w->name = default_name(w);
	if ((w->command = join_words(w->argv)) == NULL)
		return usage_error("out of memory");
	return 0;
}

/* Signals */

static int
setup_signals(void)
{
	if (selfpipe_open() == -1)
		return -1;
	for (size_t i = 0; i < PASSED_SIGNALS; i++)
		selfpipe_catch(passed_signals[i], 0);
	selfpipe_catch(SIGCHLD, SA_NOCLDSTOP);
	return 0;
}

/* The child */

static void __attribute__((noreturn))
run_child(struct worker *w, pid_t wrapper, int exec_fd, const sigset_t *mask)
{
	struct sigaction sa;
	int error;

	setpgid(0, 0);
	/*
	 * The child dies with the wrapper however the wrapper ends (prctl(2)).
	 * A wrapper that died before the call leaves us re-parented already.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != wrapper)
		_exit(EXIT_CANNOT_RUN);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < PASSED_SIGNALS; i++)
		sigaction(passed_signals[i], &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);	/* ignored dispositions survive exec */
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(w->argv[0], w->argv);
	error = errno;
	(void)!write(exec_fd, &error, sizeof(error));
	_exit(EXIT_CANNOT_RUN);
}

/* Waits for a child that could not exec and says why. */
static void
reap_failed_exec(struct worker *w, pid_t pid, int exec_errno)
{
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	log_error("worker: cannot run %s: %s", w->argv[0], strerror(exec_errno));
	snprintf(w->absence, sizeof(w->absence), "cannot run %s: %s", w->argv[0],
	    strerror(exec_errno));
}

/* Starts the child; returns 0, or -1 when it could not run. */
static int
spawn_child(struct worker *w)
{
	sigset_t all, saved_mask;
	pid_t wrapper = getpid(), pid;
	int exec_pipe[2], exec_errno = 0, fork_errno;
	ssize_t n;

	if (pipe2(exec_pipe, O_CLOEXEC) == -1) {
		log_warn("worker: pipe");
		return -1;
	}
	/* No handler of ours may run in the child before it execs. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved_mask);
	pid = fork();
	if (pid == 0) {
		close(exec_pipe[0]);
		run_child(w, wrapper, exec_pipe[1], &saved_mask);
	}
	fork_errno = errno;
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	close(exec_pipe[1]);
	if (pid == -1) {
		close(exec_pipe[0]);
		errno = fork_errno;
		log_warn("worker: fork");
		snprintf(w->absence, sizeof(w->absence), "fork: %s", strerror(fork_errno));
		return -1;
	}
	/* Both sides set the group, so signals find it whichever runs first. */
	setpgid(pid, pid);
	/* The pipe closes on exec, or carries exec's errno. */
	while ((n = read(exec_pipe[0], &exec_errno, sizeof(exec_errno))) == -1 && errno == EINTR)
		;
	close(exec_pipe[0]);
	if (n == (ssize_t)sizeof(exec_errno)) {
		reap_failed_exec(w, pid, exec_errno);
		return -1;
	}
	w->child = pid;
	w->child_started_ms = mono_now_ms();
	w->absence[0] = '\0';
	log_info("worker: started pid=%ld command=%s", (long)pid, w->command);
	return 0;
}

static void
pass_signal(struct worker *w, int signo)
{
	char name[16];

	if (w->child <= 0)
		return;
	signame_format(signo, name, sizeof(name));
	log_info("worker: passing signal=%s to process group %ld", name, (long)w->child);
	/* The child may have left its group (setsid); then it alone gets the signal. */
	if (kill(-w->child, signo) == -1 && kill(w->child, signo) == -1 && errno != ESRCH)
		log_warn("worker: cannot signal %ld", (long)w->child);
}

static int
exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return EXIT_FAILURE;
}

static void
describe_exit(int wait_status, char *out, size_t out_len)
{
	const char *name;

	if (WIFSIGNALED(wait_status)) {
		name = signame_name(WTERMSIG(wait_status));
		snprintf(out, out_len, "was killed by signal %d (%s)", WTERMSIG(wait_status),
		    name ? name : "?");
	} else {
		snprintf(out, out_len, "exited with status %d", exit_code(wait_status));
	}
}

static void
schedule_respawn(struct worker *w, int64_t now)
{
	if (now - w->child_started_ms >= HEALTHY_RUN_MS)
		w->respawn_delay_ms = RESPAWN_FIRST_MS;
	w->respawn_at = now + w->respawn_delay_ms;
	log_info("worker: restarting in %.1f s", (double)w->respawn_delay_ms / 1000);
	w->respawn_delay_ms *= 2;
	if (w->respawn_delay_ms > RESPAWN_MAX_MS)
		w->respawn_delay_ms = RESPAWN_MAX_MS;
}

static void
child_exited(struct worker *w, int wait_status)
{
	char how[96];

	describe_exit(wait_status, how, sizeof(how));
	log_info("worker: child %s pid=%ld", how, (long)w->child);
	wops_child_exited(w->child, how);
	snprintf(w->absence, sizeof(w->absence), "process %ld %s%s", (long)w->child, how,
	    w->respawn && !w->stopping ? "; it will be restarted" : "");
	w->exit_status = exit_code(wait_status);
	w->child = 0;
	if (w->respawn && !w->stopping)
		schedule_respawn(w, mono_now_ms());
	else
		w->done = true;
}

static void
reap_children(struct worker *w)
{
	pid_t pid;
	int wait_status;

	while ((pid = waitpid(-1, &wait_status, WNOHANG)) != 0) {
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			break;		/* ECHILD: none left */
		}
		if (pid == w->child)
			child_exited(w, wait_status);
	}
}

static void
stop_for_good(struct worker *w, int signo)
{
	w->stopping = true;
	if (w->child > 0 || w->done)
		return;
	/* Waiting to respawn: there is nothing left to stop. */
	w->respawn_at = -1;
	w->exit_status = 128 + signo;
	w->done = true;
}

static void
handle_signals(struct worker *w)
{
	unsigned char signals[64];
	size_t n;

	while ((n = selfpipe_read(signals, sizeof(signals))) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (signals[i] == SIGCHLD) {
				reap_children(w);
				continue;
			}
			pass_signal(w, signals[i]);
			if (signals[i] == SIGTERM || signals[i] == SIGINT)
				stop_for_good(w, signals[i]);
		}
	}
}

/* The connection */

static void
worker_send(const cJSON *msg)
{
	struct worker *w = the_worker;

	if (!jl_is_open(&w->conn) || w->conn_broken)
		return;
	if (jl_send_json(&w->conn, msg) == -1) {
		if (errno == ENOBUFS)
			log_warnx("worker: the daemon is not reading (over %d bytes pending); reconnecting",
			    WORKER_MAX_OUTPUT);
		else
			log_warn("worker: cannot queue a message");
		/* Closed at the end of the pass, not under a caller that still iterates. */
		w->conn_broken = true;
	}
}

static int
replace_item(cJSON *object, const char *key, cJSON *item)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(object, key);
	bool done;

	if (item == NULL)
		return -1;
	done = old != NULL ? cJSON_ReplaceItemViaPointer(object, old, item) :
	    cJSON_AddItemToObject(object, key, item);
	if (!done)
		cJSON_Delete(item);
	return done ? 0 : -1;
}

/* The state to register: --state, with the name, command and pids laid over it. */
static cJSON *
registration_state(const struct worker *w)
{
	cJSON *state = w->extra_state ? cJSON_Duplicate(w->extra_state, true) : cJSON_CreateObject();

	if (state == NULL)
		return NULL;
	if (replace_item(state, "name", cJSON_CreateString(w->name)) == -1)
		goto fail;
	if (cJSON_GetObjectItemCaseSensitive(state, "command") == NULL &&
	    replace_item(state, "command", cJSON_CreateString(w->command)) == -1)
		goto fail;
	if (replace_item(state, "process_id", cJSON_CreateNumber(w->child)) == -1 ||
	    replace_item(state, "wrapper_process_id", cJSON_CreateNumber(getpid())) == -1 ||
	    replace_item(state, "restarts", cJSON_CreateNumber(w->restarts)) == -1)
		goto fail;
	return state;
fail:
	cJSON_Delete(state);
	return NULL;
}

/* Registers the running child, unless the daemon already knows it. */
static void
register_child(struct worker *w)
{
	cJSON *msg, *state;

	if (!jl_is_open(&w->conn) || w->conn_broken || w->child <= 0 ||
	    w->registered_pid == w->child)
		return;
	msg = cJSON_CreateObject();
	if (msg == NULL || cJSON_AddNumberToObject(msg, "id", (double)w->next_call_id) == NULL ||
	    cJSON_AddStringToObject(msg, "do", "register") == NULL ||
	    (state = registration_state(w)) == NULL)
		goto fail;
	if (!cJSON_AddItemToObject(msg, "state", state)) {
		cJSON_Delete(state);
		goto fail;
	}
	worker_send(msg);
	cJSON_Delete(msg);
	w->register_call_id = w->next_call_id;
	w->next_call_id += 2;
	w->registered_pid = w->child;
	return;
fail:
	cJSON_Delete(msg);
	log_warnx("worker: out of memory registering; reconnecting");
	w->conn_broken = true;
}

static void
schedule_reconnect(struct worker *w)
{
	int64_t delay = w->reconnect_delay_ms;

	/* Jitter spreads the reconnects of many workers after a daemon restart. */
	delay = delay / 2 + (int64_t)(random() % (delay / 2 + 1));
	w->reconnect_at = mono_now_ms() + delay;
	w->reconnect_delay_ms *= 2;
	if (w->reconnect_delay_ms > RECONNECT_MAX_MS)
		w->reconnect_delay_ms = RECONNECT_MAX_MS;
}

static void
try_connect(struct worker *w)
{
	if (jl_connect(&w->conn, w->socket_path) == -1) {
		if (w->quiet_reconnect)
			log_debug("worker: cannot connect to %s: %s", w->socket_path, strerror(errno));
		else
			log_warn("worker: cannot connect to %s; will keep trying", w->socket_path);
		w->quiet_reconnect = true;
		schedule_reconnect(w);
		return;
	}
	log_info("worker: connected socket=%s", w->socket_path);
	w->reconnect_at = -1;
	w->registered_pid = 0;
	register_child(w);
}

static void
close_connection(struct worker *w)
{
	jl_close(&w->conn);
	w->conn_broken = false;
	w->register_call_id = 0;
	w->registered_pid = 0;
	wops_forget_all();
}

static void
drop_connection(struct worker *w)
{
	close_connection(w);
	if (!w->done)
		schedule_reconnect(w);
}

static void
handle_register_reply(struct worker *w, const cJSON *msg)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
	const cJSON *connection_id = cJSON_GetObjectItemCaseSensitive(msg, "connection_id");

	if (!jl_is_finished(msg))
		return;
	w->register_call_id = 0;
	if (jl_is_failed(msg)) {
		log_warnx("worker: the daemon refused the registration: %s; reconnecting",
		    cJSON_IsString(error) ? error->valuestring : "no reason given");
		w->conn_broken = true;
		return;
	}
	log_info("worker: registered connection_id=%s process_id=%ld",
	    cJSON_IsString(connection_id) ? connection_id->valuestring : "?",
	    (long)w->registered_pid);
	w->reconnect_delay_ms = RECONNECT_FIRST_MS;
	w->quiet_reconnect = false;
}

static void
handle_message(struct worker *w, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	struct wops_child child = {
		.pid = w->child,
		.name = w->name,
		.command = w->command,
		.restarts = w->restarts,
		.absence = w->absence,
	};

	if (w->register_call_id != 0 && cJSON_IsNumber(id) &&
	    id->valuedouble == (double)w->register_call_id) {
		handle_register_reply(w, msg);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(msg, "do") != NULL) {
		wops_serve(msg, &child);
		return;
	}
	log_debug("worker: ignoring a message that answers no open call");
}

static void
read_messages(struct worker *w)
{
	enum jl_line_result result;
	char *line;
	size_t len;
	int status = jl_read(&w->conn);

	while ((result = jl_next_line(&w->conn, &line, &len)) != JL_NONE) {
		cJSON *msg;

		if (result == JL_TOO_LONG) {
			log_warnx("worker: skipped a message longer than %d bytes", WORKER_MAX_LINE);
			continue;
		}
		if (len == 0)
			continue;
		msg = cJSON_ParseWithLength(line, len);
		if (cJSON_IsObject(msg))
			handle_message(w, msg);
		else
			log_debug("worker: ignoring a line that is not a JSON object");
		cJSON_Delete(msg);
	}
	if (status == 0) {
		log_info("worker: the daemon closed the connection; reconnecting");
		w->conn_broken = true;
	} else if (status == -1) {
		log_warn("worker: reading from %s", w->socket_path);
		w->conn_broken = true;
	}
}

static void
handle_conn_events(struct worker *w, short revents)
{
	if ((revents & POLLOUT) && jl_flush(&w->conn) == -1) {
		log_warn("worker: writing to %s", w->socket_path);
		w->conn_broken = true;
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_messages(w);
}

/* Writes what is queued and closes a broken connection: the one safe point. */
static void
settle_connection(struct worker *w)
{
	if (jl_is_open(&w->conn) && !w->conn_broken && jl_flush(&w->conn) == -1) {
		log_warn("worker: writing to %s", w->socket_path);
		w->conn_broken = true;
	}
	if (w->conn_broken)
		drop_connection(w);
}

/* The loop */

static void
respawn_child(struct worker *w)
{
	w->respawn_at = -1;
	if (spawn_child(w) == -1) {
		schedule_respawn(w, mono_now_ms());
		return;
	}
	w->restarts++;
	/*
	 * A fresh connection for each child: the daemon drops the old
	 * registration with the old connection, and nothing of the old
	 * child's state carries over into the new one.
	 */
	if (jl_is_open(&w->conn)) {
		(void)jl_flush(&w->conn);
		close_connection(w);
		try_connect(w);
	}
}

static int
poll_timeout(const struct worker *w)
{
	int64_t deadlines[] = {
		w->respawn_at,
		jl_is_open(&w->conn) ? -1 : w->reconnect_at,
		wops_next_deadline(),
	};
	int64_t nearest = -1, now = mono_now_ms();

	for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
		if (deadlines[i] >= 0 && (nearest == -1 || deadlines[i] < nearest))
			nearest = deadlines[i];
	}
	if (nearest == -1)
		return -1;
	return nearest <= now ? 0 : nearest - now > 60000 ? 60000 : (int)(nearest - now);
}

static void
run_loop(struct worker *w)
{
	while (!w->done) {
		struct pollfd pfds[2] = {
			{ .fd = selfpipe_fd(), .events = POLLIN },
			{ .fd = w->conn.fd, .events = jl_poll_events(&w->conn) },
		};
		int64_t now;

		if (poll(pfds, 2, poll_timeout(w)) == -1) {
			if (errno != EINTR)
				log_warn("worker: poll");
			continue;
		}
		if (pfds[0].revents != 0)
			handle_signals(w);
		if (pfds[1].revents != 0 && jl_is_open(&w->conn))
			handle_conn_events(w, pfds[1].revents);
		now = mono_now_ms();
		if (w->respawn_at != -1 && now >= w->respawn_at && !w->done)
			respawn_child(w);
		if (!jl_is_open(&w->conn) && w->reconnect_at != -1 && now >= w->reconnect_at)
			try_connect(w);
		wops_run_due(now);
		settle_connection(w);
	}
}

static void
worker_free(struct worker *w)
{
	/* Replies already queued (failures of open calls) go out if the socket takes them. */
	if (jl_is_open(&w->conn) && !w->conn_broken)
		(void)jl_flush(&w->conn);
	jl_close(&w->conn);
	wops_forget_all();
	cJSON_Delete(w->extra_state);
	free(w->command);
	selfpipe_close();
}

int
worker_main(const char *socket_path, int argc, char **argv)
{
	struct worker w = {
		.socket_path = socket_path,
		.respawn_at = -1,
		.respawn_delay_ms = RESPAWN_FIRST_MS,
		.reconnect_at = -1,
		.reconnect_delay_ms = RECONNECT_FIRST_MS,
		.next_call_id = 2,
	};
	int status;

	jl_init(&w.conn, WORKER_MAX_LINE, WORKER_MAX_OUTPUT);
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: supervisord [-s PATH] worker [-n NAME] [--state JSON] [--respawn] -- COMMAND [ARG...]\n"
		    "Runs COMMAND, registers it with the daemon and answers info, memory_dump,\n"
		    "thread_dump, memory_sample and signal. Exits with the command's status\n"
		    "(128+N when killed by signal N; 127 when it cannot run).\n");
		return EXIT_SUCCESS;
	}
	if ((status = parse_args(&w, argc, argv)) != 0) {
		worker_free(&w);
		return status;
	}
	the_worker = &w;
	wops_init(worker_send);
	srandom((unsigned)getpid() ^ (unsigned)mono_now_ms());
	if (setup_signals() == -1) {
		fprintf(stderr, "supervisord: worker: signal pipe: %s\n", strerror(errno));
		worker_free(&w);
		return EXIT_FAILURE;
	}
	if (spawn_child(&w) == -1) {
		worker_free(&w);
		return EXIT_CANNOT_RUN;
	}
	try_connect(&w);
	run_loop(&w);
	status = w.exit_status;
	worker_free(&w);
	return status;
}
