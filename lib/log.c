/*
 * Logging: one line per event, to standard error or to syslog.
 *
 * A log write never blocks the loop: a line that cannot be written at once
 * (standard error is a pipe nobody reads, the syslog socket is full) is
 * dropped and counted, and the count is logged once writing works again.
 * Syslog is spoken directly over /dev/log, so a missing or dead syslog
 * daemon is seen, said once, and the lines go to standard error (or to the
 * console once the daemon has detached) until it listens again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/fmt.h"
#include "lib/log.h"

#define LOG_LINE_MAX	1024	/* a message; well under PIPE_BUF with its prefix */
#define SYSLOG_PATH	"/dev/log"
#define SYSLOG_DAEMON	(3 << 3)	/* facility LOG_DAEMON, RFC 3164 */

static enum log_level min_level = LOG_LEVEL_INFO;
static bool want_syslog;	/* --syslog was given */
static bool detached;		/* standard error is /dev/null: fall back to the console */
static int syslog_fd = -1;	/* connected to the syslog daemon, or -1 */
static bool syslog_failed;	/* the fallback was announced */
static int console_fd = -1;
static unsigned long dropped;	/* lines that could not be written at once */

/* Names held in place, not pointed to: no table of pointers to relocate at start. */
static const char level_names[][6] = { "debug", "info", "warn", "error" };
static const int syslog_severities[] = { 7, 6, 4, 3 };
static const char subjects[][18] = { "", "memory monitor: ", "process monitor: ", "worker: " };

int
log_parse_level(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*level = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

/* The syslog socket; $SUPERVISORD_SYSLOG_SOCKET names another (tests, chroots). */
static const char *
syslog_path(void)
{
	const char *path = getenv("SUPERVISORD_SYSLOG_SOCKET");

	return path != NULL && path[0] != '\0' ? path : SYSLOG_PATH;
}

/* Returns 0 once connected, or -1 with errno set. */
static int
syslog_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = syslog_path();
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		int saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return -1;
	}
	syslog_fd = fd;
	return 0;
}

static void
syslog_disconnect(void)
{
	if (syslog_fd != -1)
		close(syslog_fd);
	syslog_fd = -1;
}

void
log_init(enum log_level level, bool use_syslog)
{
	min_level = level;
	want_syslog = use_syslog;
	syslog_failed = false;
	syslog_disconnect();
	if (use_syslog)
		(void)syslog_connect();	/* a failure is said with the first line */
}

void
log_detach(void)
{
	detached = true;
}

bool
log_uses_syslog(void)
{
	return want_syslog && syslog_fd != -1;
}

/* 1 written, 0 not now (dropped), -1 failed. Never waits. */
static int
write_now(int fd, const char *text, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	/*
	 * Standard error may be shared with the process that started us, so it
	 * is not made non-blocking; a pipe that polls writable has a free page,
	 * which takes a line this short whole.
	 */
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return pfd.revents & (POLLERR | POLLNVAL) ? -1 : 0;
	while ((n = write(fd, text, len)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return errno == EAGAIN ? 0 : -1;
	return 1;
}

/* Standard error, or the console when stderr went to /dev/null with -d --syslog. */
static int
local_fd(void)
{
	if (!detached)
		return STDERR_FILENO;
	if (console_fd == -1)
		console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return console_fd;
}

/* A line's text is its body: "level message", as standard error shows it. Called twice: not inlined. */
static int __attribute__((noinline))
format_dropped(char *text, size_t size)
{
	return fmt_snprintf(text, size, "warn log: dropped %lu line%s that could not be written at once",
	    dropped, dropped == 1 ? "" : "s");
}

/* The count of lost lines rides in the same write as the next line, which has room for both. */
static void
emit_local(const char *body)
{
	char text[LOG_LINE_MAX + 512];
	int fd = local_fd(), len = 0, result;

	if (fd == -1)
		return;
	if (dropped > 0) {
		len = format_dropped(text, sizeof(text));
		text[len++] = '\n';
	}
	len += fmt_snprintf(text + len, sizeof(text) - (size_t)len, "%s\n", body);
	if ((size_t)len >= sizeof(text))
		len = (int)sizeof(text) - 1;
	result = write_now(fd, text, (size_t)len);
	if (result == 1)
		dropped = 0;
	else if (result == 0)
		dropped++;
}

static int
emit_syslog(enum log_level level, const char *body)
{
	char text[LOG_LINE_MAX + 256];
	int len;

	/* No timestamp: the syslog daemon adds its own (RFC 3164 4.3.2). */
	len = fmt_snprintf(text, sizeof(text), "<%d>supervisord[%ld]: %s",
	    SYSLOG_DAEMON | syslog_severities[level], (long)getpid(), body);
	if (len < 0)
		return -1;
	if (send(syslog_fd, text, (size_t)len < sizeof(text) ? (size_t)len : sizeof(text) - 1,
	    MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 1;
	return errno == EAGAIN || errno == ENOBUFS ? 0 : -1;
}

/* Syslog, where it listens: a daemon restarted since is reconnected to once per line. */
static int
try_syslog(enum log_level level, const char *body)
{
	int result;

	if (syslog_fd == -1 && syslog_connect() == -1)
		return -1;
	if ((result = emit_syslog(level, body)) == -1) {
		syslog_disconnect();
		if (syslog_connect() == -1 || (result = emit_syslog(level, body)) == -1) {
			syslog_disconnect();
			return -1;
		}
	}
	return result;
}

static void
syslog_unavailable(int error)
{
	char body[256];

	if (syslog_failed)
		return;
	syslog_failed = true;
	fmt_snprintf(body, sizeof(body),
	    "warn syslog: no syslog daemon listens at %s (%s); logging to %s until one does",
	    syslog_path(), strerror(error), detached ? "the console" : "standard error");
	emit_local(body);
}

/* Returns false when the line must go to stderr instead. */
static bool
emit_to_syslog(enum log_level level, const char *body)
{
	char report[128];
	int result;

	if (syslog_failed && syslog_fd == -1) {
		if (syslog_connect() == -1)
			return false;
		syslog_failed = false;
		(void)emit_syslog(LOG_LEVEL_INFO, "info syslog: listening again");
	}
	if (dropped > 0 && syslog_fd != -1) {
		format_dropped(report, sizeof(report));
		if (emit_syslog(LOG_LEVEL_WARN, report) == 1)
			dropped = 0;
	}
	if ((result = try_syslog(level, body)) == -1) {
		syslog_unavailable(errno);
		return false;
	}
	if (result == 0)
		dropped++;
	return true;
}

void
log_at(int level, const char *fmt, ...)
{
	/* The level, the message cut at LOG_LINE_MAX, and ": strerror(errno)" */
	char body[LOG_LINE_MAX + 160];
	int saved_errno = errno, len;
	enum log_level plain = (enum log_level)(level & 3);
	va_list ap;

	if (plain < min_level)
		return;
	len = fmt_snprintf(body, sizeof(body), "%s %s", level_names[plain], subjects[level >> 5 & 3]);
	va_start(ap, fmt);
	fmt_vsnprintf(body + len, LOG_LINE_MAX, fmt, ap);
	va_end(ap);
	if (level & LOG_ERRNO) {
		len = (int)strlen(body);
		fmt_snprintf(body + len, sizeof(body) - (size_t)len, ": %s", strerror(saved_errno));
	}
	if (!want_syslog || !emit_to_syslog(plain, body))
		emit_local(body);
	errno = saved_errno;
}
