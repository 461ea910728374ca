/* Logging: one line per event, level and message first, then key=value. */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

int	log_parse_level(const char *name, enum log_level *level);
/* With use_syslog, lines go to /dev/log; where no syslog daemon listens, to stderr. */
void	log_init(enum log_level level, bool use_syslog);
/* Standard error is gone (-d --syslog): fall back to the console instead. */
void	log_detach(void);
/* True while lines reach a syslog daemon. */
bool	log_uses_syslog(void);
/* With LOG_ERRNO or'ed into the level, ": strerror(errno)" follows the message. */
#define LOG_ERRNO	0x10
/*
 * Or'ed into the level, a subject begins the message ("memory monitor: "):
 * said once here rather than in every line of the modules that log most.
 */
#define LOG_MEMORY_MONITOR	(1 << 5)
#define LOG_PROCESS_MONITOR	(2 << 5)
#define LOG_WORKER		(3 << 5)
void	log_at(int level, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* One function behind them all: its variadic entry is costly, a level argument is not. */
#define log_debug(...)	log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warnx(...)	log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_LEVEL_WARN | LOG_ERRNO, __VA_ARGS__)
#define log_error(...)	log_at(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
