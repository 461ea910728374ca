#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "lib/log.h"

static enum log_level min_level = LOG_LEVEL_INFO;
static bool to_syslog;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const int syslog_priorities[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

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

void
log_init(enum log_level level, bool use_syslog)
{
	min_level = level;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog("supervisord", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool
log_uses_syslog(void)
{
	return to_syslog;
}

static void PRINTF_LIKE(3, 0)
log_emit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];

	if (level < min_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (to_syslog) {
		syslog(syslog_priorities[level], "%s %s%s", level_names[level], line, suffix);
		return;
	}
	/* One fprintf call so concurrent writers to the same stderr do not interleave mid-line. */
	fprintf(stderr, "%s %s%s\n", level_names[level], line, suffix);
}

#define LOG_FUNCTION(name, level)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(level, "", fmt, ap);				\
	va_end(ap);						\
}

LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO)
LOG_FUNCTION(log_warnx, LOG_LEVEL_WARN)
LOG_FUNCTION(log_error, LOG_LEVEL_ERROR)

void
log_warn(const char *fmt, ...)
{
	char suffix[128];
	int saved_errno = errno;
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(saved_errno));
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARN, suffix, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}
