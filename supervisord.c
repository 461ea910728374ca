/*
 * supervisord: a process supervisor daemon for small Linux systems.
 * This file owns start-up, options, signals and the poll() loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "lib/clock.h"
#include "conn.h"
#include "events.h"
#include "forward.h"
#include "listener.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/opt.h"
#include "lib/num.h"
#include "monitor.h"
#include "monitors/process.h"
#include "registry.h"
#include "rpc.h"
#include "lib/signame.h"
#include "lib/socket_default.h"
#include "lib/selfpipe.h"
#include "lib/size.h"
#include "lib/trim.h"
#include "lib/usage.h"
#include "lib/uuid.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

#define ACCEPT_RETRY_MS		250	/* after running out of fds */
#define FIXED_POLLFDS		2	/* signal pipe, listener */
#define FIRST_GROWTH_POLLFDS	64
#define POLL_RETRY_MS		100	/* after poll() itself fails */
#define POLLFDS_RETRY_MS	100	/* after the poll set could not grow */
#define TRIM_MIN_PEAK		8	/* connections; see trim_after_crowd() */
#define STRAGGLER_TRIM_MS	1000	/* after the last of a crowd left; see trim_after_crowd() */

struct options {
	const char		*socket_path;
	int			 socket_is_default;	/* neither -s nor $SUPERVISOR_IPC */
	const char		*pidfile;
	int			 ready_fd;
	bool			 daemonize;
	bool			 use_syslog;
	enum log_level		 log_level;
	mode_t			 socket_mode;
	gid_t			 socket_gid;
	enum restart_target	 restart_target;
};

static char pidfile_path[PATH_MAX];


static void __attribute__((noreturn, format(printf, 1, 2)))
startup_failure(const char *fmt, ...)
{
	va_list ap;
	char message[1024];

	va_start(ap, fmt);
	fmt_vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	/* Whoever ran us must see why we did not start, whatever the log goes to. */
	if (log_uses_syslog())
		log_error("%s", message);
	fmt_fprintf(stderr, "supervisord: %s\n", message);
	exit(EXIT_FAILURE);
}

static void
usage(void)
{
	fmt_printf("usage: supervisord [options]              run the daemon\n");
	client_usage(stdout);
	fmt_printf("       supervisord [-s PATH] worker [-n NAME] [--state JSON] [--respawn] [--dump-dir DIR]\n"
	    "                                     -- COMMAND [ARG...]\n"
	    "\n"
	    "  -s, --socket PATH         socket path (default $SUPERVISOR_IPC, else " SUPERVISORD_SOCKET ")\n"
	    "  -M, --monitor SPEC        enable a monitor: NAME[:key=value,...] (repeatable)\n"
	    "  -l, --log-level LEVEL     debug, info (default), warn, error\n"
	    "      --syslog              log to syslog instead of standard error\n"
	    "  -d, --daemon              run in the background once the socket listens\n"
	    "  -p, --pidfile PATH        write the daemon's pid to PATH\n"
	    "      --ready-fd FD         write a newline to FD once listening, then close it\n"
	    "      --socket-mode MODE    socket file permissions, octal (default 0600)\n"
	    "      --socket-group GROUP  socket file group, a name or number\n"
	    "      --restart-target T    parent (default), group or none\n"
	    "      --max-message SIZE    longest request line (default 1M)\n"
	    "      --max-reply SIZE      longest reply to a forward (default 16M)\n"
	    "      --max-buffer SIZE     unread output before a peer is dropped (default 4M)\n"
	    "      --max-connections N   (default 16384)\n"
	    "  -h, --help                this text\n"
	    "  -V, --version             the version\n"
	    "\n"
	    "Monitors (-M NAME:key=value,...; every monitor takes interval=SECONDS):\n"
	    "  memory    interval (10), maximum-size-limit, total-size-limit,\n"
	    "            free-size-minimum, threshold-size (10M), increase-limit,\n"
	    "            signal (INT); sizes take K, M or G\n"
	    "  process   interval (60), ppid (the daemon's parent)\n"
	    "\n"
	    "WORKER is a name, a connection id or a unique id prefix (4 characters or\n"
	    "more). COMMAND -h explains a command. See supervisord(8).\n");
}

/* The long name and the value of the option being applied, for its messages. */
static const char *option_name;
static const char *option_value;

/* "--NAME: 'VALUE' why": the value of the option being applied is wrong. */
static void __attribute__((noreturn))
bad_value(const char *why)
{
	exit(usage_fail(NULL, NULL, "--%s: '%s' %s", option_name, option_value, why));
}

static size_t
parse_size_option(void)
{
	uint64_t bytes;

	if (size_parse(option_value, &bytes) == -1 || bytes == 0 || bytes > SIZE_MAX / 4)
		bad_value("is not a size (bytes, or a number with K, M or G)");
	return (size_t)bytes;
}

/* text as a number in base up to max, ending at end, or -1: a negative number too. */
static long
parse_unsigned(const char *text, unsigned base, unsigned long max, char end)
{
	const char *stop;
	bool outside;
	uint64_t value = num_parse(text, &stop, base, &outside);

	if (outside || stop == text || *stop != end || value > max)
		return -1;
	return (long)value;
}

static long
parse_number_option(long min, long max)
{
	long value = parse_unsigned(option_value, 10, (unsigned long)max, '\0');
	char why[64];

	if (value < min) {
		fmt_snprintf(why, sizeof(why), "is not a number from %ld to %ld", min, max);
		bad_value(why);
	}
	return value;
}

static mode_t
parse_mode(void)
{
	long mode = parse_unsigned(option_value, 8, 0777, '\0');

	if (mode == -1)
		bad_value("is not an octal mode such as 0600 or 0660");
	if ((mode & 0600) != 0600)
		bad_value("would lock the daemon's own user out (need at least 0600)");
	return (mode_t)mode;
}

/* A number is a gid as it is: a static build has no NSS to ask, and needs none. */
static gid_t
parse_group(const char *text)
{
	struct group *gr;
	long gid;

	if (text[0] >= '0' && text[0] <= '9') {
		if ((gid = parse_unsigned(text, 10, (gid_t)-2, '\0')) == -1)
			bad_value("is not a group id");
		return (gid_t)gid;
	}
#if defined(__GLIBC__) && defined(STATIC_BUILD)
	/* glibc looks names up through NSS modules, which a static binary cannot load. */
	(void)gr;
	exit(usage_fail(NULL, NULL, "--socket-group: '%s': a static build takes the group's number, not its name", text));
#else
	if ((gr = getgrnam(text)) == NULL)
		exit(usage_fail(NULL, NULL, "--socket-group: no group named '%s' (a number is taken as a group id)", text));
	return gr->gr_gid;
#endif
}

/* In the order of enum restart_target. */
static enum restart_target
parse_restart_target(void)
{
	static const char names[] = "parent\0group\0none";
	const char *name = names;

	for (int target = RESTART_PARENT; target <= RESTART_NONE; target++, name += strlen(name) + 1) {
		if (strcmp(option_value, name) == 0)
			return (enum restart_target)target;
	}
	bad_value("is not parent, group or none");
}

enum {
	OPT_SYSLOG = 128, OPT_READY_FD, OPT_SOCKET_MODE, OPT_SOCKET_GROUP,
	OPT_RESTART_TARGET, OPT_MAX_MESSAGE, OPT_MAX_BUFFER, OPT_MAX_CONNECTIONS,
	OPT_MAX_REPLY,
};

static const struct opt_long long_options[] = {
	{ "socket", 's', true }, { "monitor", 'M', true }, { "log-level", 'l', true },
	{ "syslog", OPT_SYSLOG, false }, { "daemon", 'd', false }, { "pidfile", 'p', true },
	{ "ready-fd", OPT_READY_FD, true }, { "socket-mode", OPT_SOCKET_MODE, true },
	{ "socket-group", OPT_SOCKET_GROUP, true }, { "restart-target", OPT_RESTART_TARGET, true },
	{ "max-message", OPT_MAX_MESSAGE, true }, { "max-buffer", OPT_MAX_BUFFER, true },
	{ "max-reply", OPT_MAX_REPLY, true }, { "max-connections", OPT_MAX_CONNECTIONS, true },
	{ "help", 'h', false }, { "version", 'V', false }, { "", 0, false },
};

static void
apply_option(struct options *opts, int option)
{
	char err[512];

	switch (option) {
	case 's': opts->socket_path = option_value; break;
	case 'M':
		if (mon_enable(option_value, err, sizeof(err)) == -1)
			exit(usage_fail(NULL, NULL, "%s", err));
		break;
	case 'l':
		if (log_parse_level(option_value, &opts->log_level) == -1)
			bad_value("is not debug, info, warn or error");
		break;
	case OPT_SYSLOG: opts->use_syslog = true; break;
	case 'd': opts->daemonize = true; break;
	case 'p': opts->pidfile = option_value; break;
	case OPT_READY_FD:
		opts->ready_fd = (int)parse_number_option(0, INT_MAX);
		/* fcntl(2) without the C library's wrapper: 400 bytes of a static binary. */
		if (syscall(SYS_fcntl, opts->ready_fd, F_GETFD) == -1)
			exit(usage_fail(NULL, NULL, "--ready-fd: %d is not an open file descriptor", opts->ready_fd));
		break;
	case OPT_SOCKET_MODE: opts->socket_mode = parse_mode(); break;
	case OPT_SOCKET_GROUP: opts->socket_gid = parse_group(option_value); break;
	case OPT_RESTART_TARGET: opts->restart_target = parse_restart_target(); break;
	case OPT_MAX_MESSAGE: conn_limits.max_message = parse_size_option(); break;
	case OPT_MAX_BUFFER: conn_limits.max_buffer = parse_size_option(); break;
	case OPT_MAX_REPLY: conn_limits.max_reply = parse_size_option(); break;
	case OPT_MAX_CONNECTIONS:
		conn_limits.max_connections = (size_t)parse_number_option(1, 10000000);
		break;
	case 'h': usage(); exit(EXIT_SUCCESS);
	case 'V': fmt_printf("supervisord %s\n", VERSION); exit(EXIT_SUCCESS);
	default: exit(usage_fail(NULL, NULL, "unknown option"));
	}
}

/* Returns the index in argv of a client command word, or argc when there is none. */
static int
parse_options(struct options *opts, int argc, char **argv)
{
	struct opt_parser parser;
	int option;

	opt_init(&parser, argc, argv, "s:M:l:dp:hV", long_options);
	while ((option = opt_next(&parser)) != OPT_END) {
		if (option < 0)
			exit(usage_bad_option(NULL, NULL, &parser, option));
		for (const struct opt_long *o = long_options; o->name[0] != '\0'; o++) {
			if (o->value == option)
				option_name = o->name;
		}
		option_value = parser.value;
		apply_option(opts, option);
	}
	opts->socket_path = socket_path_choose(opts->socket_path, &opts->socket_is_default);
	return parser.index;
}

/* Signals */

/* Sets the disposition of each signal in signals (0 ends them) to handler: SIG_IGN or SIG_DFL. */
static void
set_dispositions(const unsigned char *signals, void (*handler)(int))
{
	struct sigaction action = { .sa_handler = handler };

	sigemptyset(&action.sa_mask);
	for (; *signals != 0; signals++)
		sigaction(*signals, &action, NULL);
}

static void
setup_signals(void)
{
	/* HUP is sent after log rotation; it is logged and ignored, not a stop. */
	static const int caught_signals[] = { SIGTERM, SIGINT, SIGHUP };

	if (selfpipe_open() == -1)
		startup_failure("signal pipe: %s", strerror(errno));
	set_dispositions((const unsigned char[]){ SIGPIPE, SIGUSR1, SIGUSR2, 0 }, SIG_IGN);
	/* poll() is never restarted, so the loop still wakes; a log write to a pipe is. */
	for (size_t i = 0; i < sizeof(caught_signals) / sizeof(caught_signals[0]); i++)
		selfpipe_catch(caught_signals[i], SA_RESTART);
}

/* Returns the signal that asks us to stop, or 0. */
static int
read_signals(void)
{
	unsigned char signals[64];
	size_t n;
	int stop = 0;

	while ((n = selfpipe_read(signals, sizeof(signals))) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (signals[i] == SIGHUP)
				log_info("ignoring SIGHUP");
			else
				stop = signals[i];
		}
	}
	return stop;
}

/* Start-up */

static void
raise_fd_limit(void)
{
	struct rlimit limit;

	if (prlimit(0, RLIMIT_NOFILE, NULL, &limit) == -1 || limit.rlim_cur == limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	if (prlimit(0, RLIMIT_NOFILE, &limit, NULL) == -1)
		log_warn("cannot raise the open file limit to %llu", (unsigned long long)limit.rlim_max);
}

/* The parent waits here until the child listens (exit 0) or gives up (exit 1). */
static int
daemonize_begin(void)
{
	int status_pipe[2];
	char byte;
	pid_t child;
	ssize_t n;

	if (pipe2(status_pipe, O_CLOEXEC) == -1)
		startup_failure("daemonize: pipe: %s", strerror(errno));
	if ((child = fork()) == -1)
		startup_failure("daemonize: fork: %s", strerror(errno));
	if (child == 0) {
		close(status_pipe[0]);
		setsid();
		return status_pipe[1];
	}
	/*
	 * The handlers and the signal pipe are the daemon's: a signal sent to
	 * the waiting parent must neither land in the daemon's pipe nor be
	 * ignored; it may interrupt the wait.
	 */
	set_dispositions((const unsigned char[]){ SIGINT, SIGTERM, SIGHUP, 0 }, SIG_DFL);
	selfpipe_close();
	close(status_pipe[1]);
	while ((n = read(status_pipe[0], &byte, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(EXIT_SUCCESS);
	/* The child reported its failure on stderr and exited. */
	while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
		;
	_exit(EXIT_FAILURE);
}

static void
daemonize_finish(int status_fd, bool use_syslog)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd != -1) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
	}
	if (chdir("/") == -1)
		log_warn("chdir /");
	(void)!write(status_fd, "R", 1);
	close(status_fd);
	/* The log goes to syslog: hold nothing of the caller's, or $(supervisord -d ...) never returns. */
	if (use_syslog && null_fd != -1) {
		dup2(null_fd, STDERR_FILENO);
		log_detach();
	}
	if (null_fd > STDERR_FILENO)
		close(null_fd);
}

static mode_t
pidfile_umask(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return mask;
}

/*
 * Returns 0, or -1 with a message in err. Written whole to a new file beside
 * it, then renamed into place: never an empty or partial pidfile, and a
 * symlink at the path is replaced, not followed.
 */
static int
write_pidfile(const char *path, char *err, size_t err_len)
{
	char text[32], temp[PATH_MAX];
	const char *step = "";
	int fd = -1, len;
	ssize_t written;

	if (absolute_path(path, pidfile_path, sizeof(pidfile_path)) == -1) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((fd = create_beside(pidfile_path, temp, sizeof(temp), false)) == -1)
		goto fail;
	len = fmt_snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	/* A few bytes to a regular file: written whole, or the disk is full. */
	step = "write: ";
	if ((written = write(fd, text, (size_t)len)) != len) {
		if (written >= 0)
			errno = ENOSPC;
		goto fail;
	}
	step = "";
	if (fchmod(fd, 0644 & ~pidfile_umask()) == -1)
		goto fail;
	/* close reports a write the file system could not complete. */
	len = close(fd);
	fd = -2;	/* closed: only the file is left to remove */
	step = len == -1 ? "write: " : "";
	if (len == 0 && rename(temp, pidfile_path) == 0)
		return 0;
fail:
	fmt_snprintf(err, err_len, "pidfile %s: %s%s", path, step, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (fd != -1)
		unlinkat(AT_FDCWD, temp, 0);
	pidfile_path[0] = '\0';
	return -1;
}

static void
remove_pidfile(void)
{
	if (pidfile_path[0] != '\0')
		unlinkat(AT_FDCWD, pidfile_path, 0);
	pidfile_path[0] = '\0';
}

static void
notify_ready_fd(int fd)
{
	if (fd < 0)
		return;
	while (write(fd, "\n", 1) == -1 && errno == EINTR)
		;
	close(fd);
}

/* The loop */

struct loop {
	struct pollfd	*pollfds;
	size_t		 pollfds_cap;
	int		 listen_fd;
	bool		 accepting;
	int64_t		 accept_retry_at;	/* -1: until a connection closes */
	bool		 poll_failing;		/* poll() failed last time; logged once */
	int64_t		 pollfds_retry_at;	/* -1, or when to try growing the poll set again */
	size_t		 conns_peak;		/* most connections since the last heap trim */
	size_t		 conns_last;		/* connections after the previous pass */
	int64_t		 trim_at;		/* -1, or when to trim for a crowd's stragglers */
};

static int
nearest_deadline(const struct loop *loop)
{
	int64_t deadlines[] = {
		forward_next_deadline(),
		conn_next_deadline(),
		mon_next_deadline(),
		loop->accepting ? -1 : loop->accept_retry_at,
		loop->pollfds_retry_at,
		loop->trim_at,
	};
	int64_t nearest = -1, now;

	for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
		if (deadlines[i] >= 0 && (nearest == -1 || deadlines[i] < nearest))
			nearest = deadlines[i];
	}
	if (nearest == -1)
		return -1;	/* nothing scheduled: sleep until something happens */
	now = mono_now_ms();
	if (nearest <= now)
		return 0;
	return nearest - now > INT_MAX ? INT_MAX : (int)(nearest - now);
}

static size_t
fill_pollfds(struct loop *loop)
{
	size_t count = conn_count();
	size_t needed = FIXED_POLLFDS + count;

	if (needed > loop->pollfds_cap) {
		/* pollfds_cap is never below FIXED_POLLFDS: start-up allocates that much. */
		size_t new_cap = loop->pollfds_cap < FIRST_GROWTH_POLLFDS ?
		    FIRST_GROWTH_POLLFDS : loop->pollfds_cap;
		struct pollfd *grown;
		while (new_cap < needed)
			new_cap *= 2;
		grown = realloc(loop->pollfds, new_cap * sizeof(*grown));
		if (grown == NULL) {
			/* A timer retries: the connections left out cannot wake the loop. */
			if (loop->pollfds_retry_at == -1)
				log_warnx("out of memory for the poll set; serving %zu connections, "
				    "retrying every %d ms", loop->pollfds_cap - FIXED_POLLFDS,
				    POLLFDS_RETRY_MS);
			loop->pollfds_retry_at = mono_now_ms() + POLLFDS_RETRY_MS;
			count = loop->pollfds_cap - FIXED_POLLFDS;
		} else {
			loop->pollfds = grown;
			loop->pollfds_cap = new_cap;
		}
	}
	if (count == conn_count() && loop->pollfds_retry_at != -1) {
		log_info("poll set grown again; serving all %zu connections", count);
		loop->pollfds_retry_at = -1;
	}
	loop->pollfds[0] = (struct pollfd){ .fd = selfpipe_fd(), .events = POLLIN };
	/* A negative fd makes poll skip the listener while we cannot accept. */
	loop->pollfds[1] = (struct pollfd){
		.fd = loop->accepting ? loop->listen_fd : -1, .events = POLLIN };
	conn_poll_set(loop->pollfds + FIXED_POLLFDS, count);
	return count;
}

/* When accepting must pause, the listener leaves the poll set so a full backlog cannot spin the loop. */
static void
accept_connections(struct loop *loop)
{
	switch (conn_accept_ready(loop->listen_fd)) {
	case CONN_ACCEPT_OK:
		return;
	case CONN_ACCEPT_AT_LIMIT:
		loop->accept_retry_at = -1;
		break;
	case CONN_ACCEPT_NO_RESOURCES:
		/* Out of fds: a close frees one, and so may a monitor or another process. */
		loop->accept_retry_at = mono_now_ms() + ACCEPT_RETRY_MS;
		break;
	}
	loop->accepting = false;
	(void)conn_closed_since_last_settle();	/* only closes from now on make room */
}

static bool
may_accept_again(const struct loop *loop, int64_t now)
{
	return conn_closed_since_last_settle() ||
	    (loop->accept_retry_at >= 0 && now >= loop->accept_retry_at);
}

/* A failure that persists must not spin the loop or flood the log. */
static void
poll_failed(struct loop *loop)
{
	if (!loop->poll_failing)
		log_warn("poll failed; retrying every %d ms", POLL_RETRY_MS);
	loop->poll_failing = true;
	/* An empty poll set makes the timeout a pause that a signal still cuts short. */
	(void)poll(NULL, 0, POLL_RETRY_MS);
}

/*
 * glibc keeps freed heap pages mapped when live blocks sit above them, so
 * after a crowd of connections leaves, resident memory would stay at its
 * peak. Give the pages back once most of the crowd has gone; the rest
 * leave over later passes, so a second after the last of them, trim once
 * more, and drop the code pages the crowd touched, as start-up does.
 * now is -1 when the pass read no clock.
 */
static void
trim_after_crowd(struct loop *loop, int64_t now)
{
	size_t count = conn_count();
	bool closed = count < loop->conns_last;
	bool crowd_gone;

	loop->conns_last = count;
	if (count > loop->conns_peak)
		loop->conns_peak = count;
	crowd_gone = loop->conns_peak >= TRIM_MIN_PEAK && count * 4 <= loop->conns_peak;
	if (crowd_gone) {
		trim_heap();
		loop->conns_peak = count;
	}
	if (crowd_gone || (closed && loop->trim_at != -1)) {
		loop->trim_at = (now >= 0 ? now : mono_now_ms()) + STRAGGLER_TRIM_MS;
	} else if (loop->trim_at != -1 && now >= loop->trim_at) {
		trim_file_pages();
		trim_heap();
		loop->trim_at = -1;
	}
}

static int
run_loop(struct loop *loop)
{
	for (;;) {
		size_t count = fill_pollfds(loop);
		int timeout = nearest_deadline(loop);
		int64_t now;
		int stop_signal;

		if (poll(loop->pollfds, FIXED_POLLFDS + count, timeout) == -1) {
			if (errno != EINTR)
				poll_failed(loop);
			continue;
		}
		if (loop->poll_failing) {
			log_info("poll works again");
			loop->poll_failing = false;
		}
		if (loop->pollfds[0].revents && (stop_signal = read_signals()) != 0)
			return stop_signal;
		for (size_t i = 0; i < count; i++) {
			short revents = loop->pollfds[FIXED_POLLFDS + i].revents;
			if (revents != 0)
				conn_handle_events(conn_at(i), revents);
		}
		if (loop->pollfds[1].revents & POLLIN) {
			accept_connections(loop);
			if (conn_count() > loop->conns_peak)
				loop->conns_peak = conn_count();
		}
		/*
		 * With nothing scheduled before the wait, nothing is due after it:
		 * what this pass scheduled is due later. No clock read then.
		 */
		now = -1;
		if (timeout >= 0) {
			now = mono_now_ms();
			forward_expire(now);
			conn_expire(now);
			mon_run_due(now);
		}
		conn_settle();
		trim_after_crowd(loop, now);
		if (!loop->accepting && may_accept_again(loop, now))
			loop->accepting = true;
	}
}

static int
run_daemon(const struct options *opts, pid_t original_parent)
{
	struct listener listener;
	struct loop loop = { .accepting = true, .pollfds_retry_at = -1, .trim_at = -1 };
	char err[PATH_MAX + 256], signal_name[16];
	int status_fd = -1, stop_signal;

	log_init(opts->log_level, opts->use_syslog);
	setup_signals();
	raise_fd_limit();
	if (uuid_init() == -1)
		startup_failure("/dev/urandom: %s", strerror(errno));
	rpc_init();
	rpc_set_restart_target(opts->restart_target, original_parent);
	pm_set_default_parent(original_parent);
	if (opts->daemonize)
		status_fd = daemonize_begin();
	if (listener_open(&listener, opts->socket_path, opts->socket_mode,
	    opts->socket_gid, err, sizeof(err)) == -1) {
		if (opts->socket_is_default)
			startup_failure("%s (the system socket; %s)", err, SOCKET_DEFAULT_HINT);
		startup_failure("%s", err);
	}
	if (opts->pidfile != NULL && write_pidfile(opts->pidfile, err, sizeof(err)) == -1) {
		listener_close(&listener);
		startup_failure("%s", err);
	}
	mon_start_all(rpc_monitor_action);
	/* Only the fixed entries: the loop grows it where its connections' memory is. */
	if ((loop.pollfds = calloc(FIXED_POLLFDS, sizeof(*loop.pollfds))) == NULL) {
		listener_close(&listener);
		remove_pidfile();
		startup_failure("poll set: out of memory");
	}
	loop.pollfds_cap = FIXED_POLLFDS;
	loop.listen_fd = listener.fd;
	log_info("listening socket=%s pid=%ld max_connections=%zu",
	    opts->socket_path, (long)getpid(), conn_limits.max_connections);
	/*
	 * Start-up code will not run again: an idle daemon keeps only what its
	 * loop touches. Before the ready signal, so whoever waits on it sees
	 * the daemon as it will idle.
	 */
	trim_file_pages();
	trim_heap();		/* start-up's buffers are free now */
	notify_ready_fd(opts->ready_fd);
	if (status_fd != -1)
		daemonize_finish(status_fd, opts->use_syslog);

	stop_signal = run_loop(&loop);

	signame_format(stop_signal, signal_name, sizeof(signal_name));
	log_info("stopping signal=%s connections=%zu", signal_name, conn_count());
	listener_close(&listener);
	conn_close_all();
	mon_stop_all();
	forward_free_all();
	registry_free();
	events_free();
	remove_pidfile();
	uuid_shutdown();
	free(loop.pollfds);
	selfpipe_close();
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct options opts = {
		.ready_fd = -1,
		.log_level = LOG_LEVEL_INFO,
		.socket_mode = 0600,
		.socket_gid = (gid_t)-1,
		.restart_target = RESTART_PARENT,
	};
	/* Read first: a parent that exits during start-up would hand us to init. */
	pid_t original_parent = getppid();
	int command = parse_options(&opts, argc, argv);

	if (command < argc) {
		const char *word = argv[command];
		set_dispositions((const unsigned char[]){ SIGPIPE, 0 }, SIG_IGN);
		log_init(opts.log_level, false);
		if (strcmp(word, "worker") == 0)
			return worker_main(opts.socket_path, argc - command, argv + command);
		if (client_is_command(word))
			return client_main(opts.socket_path, argc - command, argv + command);
		exit(usage_fail(NULL, NULL, "unknown command '%s'", word));
	}
	return run_daemon(&opts, original_parent);
}
