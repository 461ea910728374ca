/*
 * The worker wrapper: runs a command as its child, registers it with the
 * daemon once and holds that one connection for its own life, publishing
 * each change in the child's life with `update` (SPEC 3 and 7) and
 * answering the operations the daemon forwards (worker_ops.c). One poll()
 * loop over the connection and a self-pipe that carries signals, SIGCHLD
 * included.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/client.h"
#include "lib/clock.h"
#include "client/jsonline.h"
#include "client/report.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/selfpipe.h"
#include "lib/signame.h"
#include "lib/opt.h"
#include "lib/usage.h"
#include "client/worker_ops.h"

#define EXIT_CANNOT_RUN		127	/* as the shell reports a command it cannot run */
#define WORKER_MAX_LINE		(1024 * 1024)	/* the daemon's default message limit */
#define WORKER_MAX_OUTPUT	(4 * 1024 * 1024)	/* the daemon's default output cap */
#define RECONNECT_FIRST_MS	100
#define RECONNECT_MAX_MS	5000
#define RESPAWN_FIRST_MS	1000
#define RESPAWN_MAX_MS		60000
#define HEALTHY_RUN_MS		10000	/* a child that ran this long resets the back-off */
#define MAX_STOP_WAITERS	16	/* stop calls waiting for the child to go */

/* What the wrapper publishes as "status" (SPEC 7): report_statuses, in their order. */
enum child_status { CHILD_STARTING, CHILD_RUNNING, CHILD_BACKOFF, CHILD_STOPPED, CHILD_EXITED };


struct worker {
	const char	*socket_path;
	char		**argv;		/* COMMAND [ARG...] */
	char		*command;	/* argv joined with spaces */
	const char	*name;		/* -n, else the name in --state, else the command's */
	cJSON		*extra_state;	/* --state, or NULL */
	bool		 respawn;
	bool		 any_owner;	/* --any-owner: skip the socket owner check */
	const char	*dump_dir;	/* --dump-dir, else "." */

	pid_t		 child;		/* 0 while none runs */
	int64_t		 child_started_ms;
	unsigned	 restarts;
	int		 exit_status;	/* what the wrapper exits with */
	int64_t		 respawn_at;	/* monotonic ms, -1 when none is scheduled */
	int64_t		 respawn_delay_ms;
	bool		 stopping;	/* TERM or INT arrived: no more respawns */
	bool		 done;
	char		 absence[192];	/* why no child runs, for diagnostics */

	/* The child's life as published (SPEC 7). */
	enum child_status status;
	pid_t		 last_pid;	/* the pid to publish while none runs */
	int64_t		 started_at;	/* Unix seconds */
	cJSON		*last_exit;	/* {"status":N,"at":T} or {"signal":"NAME","at":T}, or NULL */
	bool		 held;		/* stopped on request: no respawn until start */
	int64_t		 kill_at;	/* monotonic ms to KILL a child that ignores TERM, or -1 */
	cJSON		*stop_waiters[MAX_STOP_WAITERS];	/* ids of stop calls to answer */
	size_t		 stop_waiter_count;

	struct jl_conn	 conn;
	bool		 conn_broken;	/* close at the end of this pass */
	int64_t		 reconnect_at;	/* monotonic ms, -1 while connected */
	int64_t		 reconnect_delay_ms;
	bool		 quiet_reconnect;	/* the first failure is logged, the rest at debug */
	uint32_t	 jitter;	/* the reconnect delay's random part; never 0 */
	long		 next_call_id;	/* ours are even: 2, 4, ... */
	long		 register_call_id;	/* the open register call, 0 if none */
	bool		 registered;	/* register sent on this connection */
	bool		 update_unsupported;	/* an older daemon: register again instead */
};

static struct worker *the_worker;	/* for the reply callback of worker_ops.c */

static const int passed_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
#define PASSED_SIGNALS (sizeof(passed_signals) / sizeof(passed_signals[0]))

/* Arguments */

#define WORKER_USAGE \
	"[-n NAME] [--state JSON] [--respawn] [--dump-dir DIR] [--any-owner] -- COMMAND [ARG...]"


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
	static const struct opt_long longopts[] = {
		{ "name", 'n', true }, { "state", 's', true }, { "respawn", 'r', false },
		{ "dump-dir", 'd', true }, { "any-owner", 'o', false }, { "", 0, false },
	};
	struct opt_parser parser;
	int option;

	opt_init(&parser, argc, argv, "n:", longopts);
	while ((option = opt_next(&parser)) != OPT_END) {
		char *arg = parser.value;

		switch (option) {
		case 'n':
			w->name = arg;
			break;
		case 's':
			cJSON_Delete(w->extra_state);
			w->extra_state = jl_parse(arg, strlen(arg), 0);
			if (!cJSON_IsObject(w->extra_state))
				return usage_fail("worker", WORKER_USAGE, "--state: '%s' is not a JSON object", arg);
			break;
		case 'r':
			w->respawn = true;
			break;
		case 'd':
			w->dump_dir = arg;
			break;
		case 'o':
			w->any_owner = true;
			break;
		default:
			return usage_bad_option("worker", WORKER_USAGE, &parser, option);
		}
	}
	if (parser.index >= argc)
		return usage_fail("worker", WORKER_USAGE, "missing COMMAND");
	/* Reconnecting would never help: say so now rather than retry for ever. */
	if (strlen(w->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_fail("worker", WORKER_USAGE, "socket path %s is too long (%zu > %zu bytes)", w->socket_path,
		    strlen(w->socket_path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	w->argv = argv + parser.index;
	if (w->name == NULL)
		w->name = default_name(w);
	w->command = report_shell_words((const char *const *)w->argv, (size_t)(argc - parser.index));
	if (w->command == NULL)
		return usage_fail("worker", WORKER_USAGE, "out of memory");
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

/* Logs why no child runs, as recorded for diagnostics. */
static void
log_absence(const struct worker *w, int level)
{
	log_at(level, "worker: %s", w->absence);
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
		fmt_snprintf(w->absence, sizeof(w->absence), "fork: %s", strerror(fork_errno));
		log_absence(w, LOG_LEVEL_WARN);
		return -1;
	}
	/* Both sides set the group, so signals find it whichever runs first. */
	setpgid(pid, pid);
	/* The pipe closes on exec, or carries exec's errno. */
	while ((n = read(exec_pipe[0], &exec_errno, sizeof(exec_errno))) == -1 && errno == EINTR)
		;
	close(exec_pipe[0]);
	if (n == (ssize_t)sizeof(exec_errno)) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		fmt_snprintf(w->absence, sizeof(w->absence), "cannot run %s: %s", w->argv[0],
		    strerror(exec_errno));
		log_absence(w, LOG_LEVEL_ERROR);
		return -1;
	}
	w->child = w->last_pid = pid;
	w->child_started_ms = mono_now_ms();
	w->started_at = clock_ms(CLOCK_REALTIME) / 1000;
	w->status = CHILD_RUNNING;
	w->absence[0] = '\0';
	log_info("worker: started pid=%ld command=%s", (long)pid, w->command);
	return 0;
}

/* The child may have left its group (setsid); then it alone gets the signal. */
static int
signal_child(pid_t pid, int signo)
{
	return kill(-pid, signo) == -1 ? kill(pid, signo) : 0;
}

static void
pass_signal(struct worker *w, int signo)
{
	char name[16];

	if (w->child <= 0)
		return;
	signame_format(signo, name, sizeof(name));
	log_info("worker: passing signal=%s to process group %ld", name, (long)w->child);
	if (signal_child(w->child, signo) == -1 && errno != ESRCH)
		log_warn("worker: cannot signal %ld", (long)w->child);
	/* A child stopped (a forwarded STOP) could never act on TERM: wake it. */
	if (signo == SIGTERM || signo == SIGINT)
		(void)signal_child(w->child, SIGCONT);
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

/*
 * How the child ended: in words into how, for diagnostics, and as published
 * in last_exit, {"status":N,"at":T} or {"signal":"NAME","at":T} (SPEC 7).
 */
static void
record_exit(struct worker *w, int wait_status, char *how, size_t how_len)
{
	int signo = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
	const char *name = signame_name(signo);
	double at = (double)(clock_ms(CLOCK_REALTIME) / 1000);
	char text[16];
	bool built;

	w->exit_status = exit_code(wait_status);
	cJSON_Delete(w->last_exit);
	w->last_exit = cJSON_CreateObject();
	if (signo != 0) {
		fmt_snprintf(how, how_len, "was killed by signal %d (%s)", signo, name ? name : "?");
		signame_format(signo, text, sizeof(text));
		built = w->last_exit != NULL && wops_add(w->last_exit, "signal:s at:n", text, at);
	} else {
		fmt_snprintf(how, how_len, "exited with status %d", w->exit_status);
		built = w->last_exit != NULL && wops_add(w->last_exit, "status:n at:n",
		    (double)w->exit_status, at);
	}
	if (!built) {
		cJSON_Delete(w->last_exit);
		w->last_exit = NULL;
	}
}

static void	publish(struct worker *w);
static void	answer_stop_waiters(struct worker *w);

static void
child_exited(struct worker *w, int wait_status)
{
	bool again = w->respawn && !w->stopping && !w->held;
	char how[96];

	record_exit(w, wait_status, how, sizeof(how));
	wops_child_exited(w->child, how);
	fmt_snprintf(w->absence, sizeof(w->absence), "process %ld %s%s", (long)w->child, how,
	    again ? "; it will be restarted" : w->held && !w->stopping ?
	    "; stopped on request until start" : "");
	log_absence(w, LOG_LEVEL_INFO);
	w->child = 0;
	w->kill_at = -1;
	if (again) {
		w->status = CHILD_BACKOFF;
		schedule_respawn(w, mono_now_ms());
	} else if (w->held && !w->stopping) {
		w->status = CHILD_STOPPED;
	} else {
		w->status = CHILD_EXITED;
		w->done = true;
	}
	answer_stop_waiters(w);
	publish(w);
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
	/* Waiting to respawn, or stopped on request: there is nothing left to stop. */
	w->respawn_at = -1;
	if (!w->held || w->last_exit == NULL)
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

/* The child, else the last one, else the wrapper itself. */
static pid_t
published_pid(const struct worker *w)
{
	if (w->child > 0)
		return w->child;
	return w->last_pid > 0 ? w->last_pid : getpid();
}

/*
 * The process_id to send, or 0 to leave it out. The daemon accepts only a
 * live descendant (SPEC 3): with no child, a registration names the wrapper
 * itself, and an update leaves the last child's pid as it was.
 */
static pid_t
claimed_pid(const struct worker *w, bool first)
{
	if (w->child > 0)
		return w->child;
	return first ? getpid() : 0;
}

/*
 * The whole published state: --state, with the name, command, pids and the
 * child's life laid over it. Keys that no longer apply are null, since an
 * update merges and cannot remove a key.
 */
static cJSON *
published_state(const struct worker *w, bool first)
{
	cJSON *state = first && w->extra_state ? cJSON_Duplicate(w->extra_state, true) :
	    cJSON_CreateObject();
	int64_t wait_s = (w->respawn_at - mono_now_ms() + 999) / 1000;
	/* NaN for null: no respawn is due. */
	double next_start_at = w->status == CHILD_BACKOFF && w->respawn_at != -1 ?
	    (double)(clock_ms(CLOCK_REALTIME) / 1000 + (wait_s > 0 ? wait_s : 0)) : NAN;
	pid_t pid = claimed_pid(w, first);

	if (state == NULL || (first && (!wops_add(state, "name:s", w->name) ||
	    (cJSON_GetObjectItemCaseSensitive(state, "command") == NULL &&
	    !wops_add(state, "command:s", w->command)) ||
	    !wops_add(state, "wrapper_process_id:n", (double)getpid()))) ||
	    (pid > 0 && !wops_add(state, "process_id:n", (double)pid)) ||
	    !wops_add(state, "status:s started_at:n restarts:n last_exit:j next_start_at:n",
	    report_statuses[w->status], (double)w->started_at, (double)w->restarts, w->last_exit,
	    next_start_at)) {
		cJSON_Delete(state);
		return NULL;
	}
	return state;
}

/*
 * Tells the daemon: register once per connection, then update (the same
 * connection id for the wrapper's whole life). Each message carries the
 * whole state, so nothing depends on which of them arrived.
 */
static void
publish(struct worker *w)
{
	bool first = !w->registered || w->update_unsupported;
	cJSON *msg, *state;

	if (!jl_is_open(&w->conn) || w->conn_broken)
		return;
	msg = cJSON_CreateObject();
	if (msg == NULL || !wops_add(msg, "id:n do:s", (double)w->next_call_id,
	    first ? "register" : "update") || (state = published_state(w, first)) == NULL)
		goto fail;
	if (!cJSON_AddItemToObject(msg, "state", state)) {
		cJSON_Delete(state);
		goto fail;
	}
	worker_send(msg);
	cJSON_Delete(msg);
	if (first)
		w->register_call_id = w->next_call_id;
	w->next_call_id += 2;
	w->registered = true;
	return;
fail:
	cJSON_Delete(msg);
	log_warnx("worker: out of memory publishing the state; reconnecting");
	w->conn_broken = true;
}

static void
schedule_reconnect(struct worker *w)
{
	int64_t delay = w->reconnect_delay_ms;

	/*
	 * Jitter spreads the reconnects of many workers after a daemon restart
	 * (xorshift: any spread will do, and libc's random() is big in a static build).
	 */
	w->jitter ^= w->jitter << 13;
	w->jitter ^= w->jitter >> 17;
	w->jitter ^= w->jitter << 5;
	delay = delay / 2 + (int64_t)(w->jitter % (uint32_t)(delay / 2 + 1));
	w->reconnect_at = mono_now_ms() + delay;
	w->reconnect_delay_ms *= 2;
	if (w->reconnect_delay_ms > RECONNECT_MAX_MS)
		w->reconnect_delay_ms = RECONNECT_MAX_MS;
}

static void
try_connect(struct worker *w)
{
	char why[320];

	if (jl_open(&w->conn, w->socket_path, !w->any_owner, why, sizeof(why)) == -1) {
		/* A squatted path must not collect us: say so, and keep looking for ours. */
		if (why[0] == '\0')
			fmt_snprintf(why, sizeof(why), "cannot connect to %s: %s", w->socket_path,
			    strerror(errno));
		if (w->quiet_reconnect)
			log_debug("worker: %s", why);
		else
			log_warnx("worker: %s; will keep trying", why);
		w->quiet_reconnect = true;
		schedule_reconnect(w);
		return;
	}
	log_info("worker: connected socket=%s", w->socket_path);
	w->reconnect_at = -1;
	w->registered = false;
	publish(w);
}

static void
close_connection(struct worker *w)
{
	jl_close(&w->conn);
	w->conn_broken = false;
	w->register_call_id = 0;
	w->registered = false;
	wops_forget_all();
	/* The daemon failed the stop calls that came over this connection. */
	for (size_t i = 0; i < w->stop_waiter_count; i++)
		cJSON_Delete(w->stop_waiters[i]);
	w->stop_waiter_count = 0;
}

static void
drop_connection(struct worker *w)
{
	close_connection(w);
	if (!w->done)
		schedule_reconnect(w);
}

static void
refused(struct worker *w, const char *what, const cJSON *error)
{
	log_warnx("worker: the daemon refused %s: %s; reconnecting", what,
	    cJSON_IsString(error) ? error->valuestring : "no reason given");
	w->conn_broken = true;
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
		refused(w, "the registration", error);
		return;
	}
	log_info("worker: registered connection_id=%s process_id=%ld",
	    cJSON_IsString(connection_id) ? connection_id->valuestring : "?",
	    (long)published_pid(w));
	w->reconnect_delay_ms = RECONNECT_FIRST_MS;
	w->quiet_reconnect = false;
}

/* A reply to one of our update calls. */
static void
handle_update_reply(struct worker *w, const cJSON *msg)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");

	if (!jl_is_failed(msg))
		return;
	if (cJSON_IsString(error) && strncmp(error->valuestring, "Unknown operation", 17) == 0) {
		/* A daemon from before `update`: each change registers again. */
		log_info("worker: the daemon has no update operation; registering each change");
		w->update_unsupported = true;
		publish(w);
		return;
	}
	refused(w, "an update", error);
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
		.status = report_statuses[w->status],
	};

	if (cJSON_GetObjectItemCaseSensitive(msg, "do") != NULL) {
		wops_serve(msg, &child);
		return;
	}
	if (w->register_call_id != 0 && cJSON_IsNumber(id) &&
	    id->valuedouble == (double)w->register_call_id) {
		handle_register_reply(w, msg);
		return;
	}
	/* Our calls have even ids below next_call_id; the rest answer nothing open. */
	if (cJSON_IsNumber(id) && id->valuedouble < (double)w->next_call_id &&
	    jl_is_finished(msg)) {
		handle_update_reply(w, msg);
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
		msg = jl_parse(line, len, 0);
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
		publish(w);
		return;
	}
	w->restarts++;
	/* The same connection and connection id: the new pid is an update. */
	publish(w);
}

/* stop and start, forwarded (SPEC 7) */

/* The final reply to stop and start: what runs now and how the last child ended. */
static void
send_life(const struct worker *w, const cJSON *id, bool already_running)
{
	cJSON *reply = jl_message(id, true);

	if (reply != NULL && wops_add(reply, "status:s process_id:n last_exit:j",
	    report_statuses[w->status], (double)published_pid(w), w->last_exit) &&
	    (!already_running || wops_add(reply, "already_running:t")))
		worker_send(reply);
	else
		log_warnx("worker: out of memory answering a call");
	cJSON_Delete(reply);
}

static void
answer_stop_waiters(struct worker *w)
{
	for (size_t i = 0; i < w->stop_waiter_count; i++) {
		send_life(w, w->stop_waiters[i], false);
		cJSON_Delete(w->stop_waiters[i]);
	}
	w->stop_waiter_count = 0;
}

static void
control_stop(const cJSON *id, int64_t timeout_ms)
{
	struct worker *w = the_worker;

	w->held = true;
	w->respawn_at = -1;
	if (w->child <= 0) {
		if (w->status == CHILD_BACKOFF)
			w->status = CHILD_STOPPED;
		fmt_snprintf(w->absence, sizeof(w->absence), "stopped on request until start");
		send_life(w, id, false);
		publish(w);
		return;
	}
	if (w->stop_waiter_count == MAX_STOP_WAITERS) {
		wops_fail(id, "Too many stop calls waiting");
		return;
	}
	if (id != NULL && (w->stop_waiters[w->stop_waiter_count] = cJSON_Duplicate(id, true)) != NULL)
		w->stop_waiter_count++;
	log_info("worker: stopping the child on request pid=%ld timeout=%.1fs", (long)w->child,
	    (double)timeout_ms / 1000);
	if (w->kill_at == -1)
		w->kill_at = mono_now_ms() + timeout_ms;
	pass_signal(w, SIGTERM);
}

static void
control_start(const cJSON *id)
{
	struct worker *w = the_worker;

	/*
	 * A stop is under way: the child dies in a moment whatever start says,
	 * and a start that cleared the hold now would make that death look
	 * like the end of a child that is not respawned, ending the wrapper.
	 */
	if (w->child > 0 && w->held) {
		wops_fail(id, "Stopping: the child (pid %ld) has not exited yet; "
		    "start it again once stop has answered", (long)w->child);
		return;
	}
	w->held = false;
	if (w->child > 0) {
		send_life(w, id, true);
		return;
	}
	w->respawn_at = -1;
	w->respawn_delay_ms = RESPAWN_FIRST_MS;
	if (spawn_child(w) == -1) {
		wops_fail(id, "Cannot start: %s", w->absence);
		if (w->respawn)
			schedule_respawn(w, mono_now_ms());
		w->status = w->respawn ? CHILD_BACKOFF : CHILD_STOPPED;
		publish(w);
		return;
	}
	w->restarts++;
	send_life(w, id, false);
	publish(w);
}

/* A child that ignored TERM for the stop timeout gets KILL. */
static void
enforce_stop(struct worker *w, int64_t now)
{
	if (w->kill_at == -1 || now < w->kill_at)
		return;
	w->kill_at = -1;
	if (w->child <= 0)
		return;
	log_warnx("worker: the child ignored TERM; killing it pid=%ld", (long)w->child);
	(void)signal_child(w->child, SIGKILL);
}

static int
poll_timeout(const struct worker *w)
{
	int64_t deadlines[] = {
		w->respawn_at,
		w->child > 0 ? w->kill_at : -1,
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
		/* Output, POLLOUT's business, goes out in settle_connection. */
		if ((pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) && jl_is_open(&w->conn))
			read_messages(w);
		now = mono_now_ms();
		if (w->respawn_at != -1 && now >= w->respawn_at && !w->done)
			respawn_child(w);
		if (!jl_is_open(&w->conn) && w->reconnect_at != -1 && now >= w->reconnect_at)
			try_connect(w);
		enforce_stop(w, now);
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
	close_connection(w);
	wops_close_dump_dir();
	cJSON_Delete(w->last_exit);
	cJSON_Delete(w->extra_state);
	free(w->command);
	selfpipe_close();
}

int
worker_main(const char *socket_path, int argc, char **argv)
{
	struct worker w = {
		.socket_path = socket_path,
		.dump_dir = ".",
		.respawn_at = -1,
		.respawn_delay_ms = RESPAWN_FIRST_MS,
		.reconnect_at = -1,
		.reconnect_delay_ms = RECONNECT_FIRST_MS,
		.next_call_id = 2,
		.kill_at = -1,
		.status = CHILD_STARTING,
	};
	static const struct wops_control control = { control_stop, control_start };
	int status;

	jl_init(&w.conn, WORKER_MAX_LINE, WORKER_MAX_OUTPUT);
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fmt_printf("usage: supervisord [-s PATH] worker %s\n"
		    "Runs COMMAND as a child in its own process group, registers it with the\n"
		    "daemon under NAME and publishes its life there (status, started_at,\n"
		    "restarts, last_exit) on one connection for the wrapper's whole life.\n"
		    "\n"
		    "  -n, --name NAME    the name to find it by (default: the command's base name)\n"
		    "      --state JSON   more state to register, a JSON object\n"
		    "      --respawn      start the child again when it exits (back-off from 1 s\n"
		    "                     doubling to 60 s, reset after 10 s of healthy running)\n"
		    "      --dump-dir DIR where memory_dump may write (default: the working\n"
		    "                     directory); paths with a symlink are refused\n"
		    "      --any-owner    talk to a socket whatever user owns it (by default only\n"
		    "                     root's or our own)\n"
		    "\n"
		    "Answers the forwarded operations info, memory_dump, thread_dump,\n"
		    "memory_sample, signal, stop and start. TERM, INT, HUP, USR1 and USR2 go to\n"
		    "the child's process group. Exits with the command's status (128+N when\n"
		    "killed by signal N; 127 when it cannot run; 2 on a usage error).\n", WORKER_USAGE);
		return EXIT_SUCCESS;
	}
	if ((status = parse_args(&w, argc, argv)) != 0) {
		worker_free(&w);
		return status;
	}
	if (wops_set_dump_dir(w.dump_dir) == -1) {
		fmt_fprintf(stderr, "supervisord: worker: --dump-dir %s: %s\n", w.dump_dir, strerror(errno));
		worker_free(&w);
		return EXIT_USAGE;
	}
	the_worker = &w;
	wops_init(worker_send, &control);
	w.jitter = ((uint32_t)getpid() ^ (uint32_t)mono_now_ms() ^ 0x9e3779b9u) | 1;
	if (setup_signals() == -1) {
		fmt_fprintf(stderr, "supervisord: worker: signal pipe: %s\n", strerror(errno));
		worker_free(&w);
		return EXIT_FAILURE;
	}
	if (spawn_child(&w) == -1) {
		worker_free(&w);
		return EXIT_CANNOT_RUN;
	}
	try_connect(&w);
	run_loop(&w);
	settle_connection(&w);
	status = w.exit_status;
	worker_free(&w);
	return status;
}
