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
void	log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
void	log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void	log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Like log_warnx, with ": strerror(errno)" appended. */
void	log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void	log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
