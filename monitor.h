/*
 * Monitors run inside the daemon on timers, see every registration and
 * removal, add a section to status, and act on what they see.
 */
#ifndef MONITOR_H
#define MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct call;

/*
 * What a monitor did, reported as it happens through the function its
 * start hook was given. Everything is read during the call only.
 */
struct mon_action {
	const char	*monitor;	/* "memory" */
	const char	*action;	/* "signal" */
	const char	*reason;	/* "maximum-size-limit", ... */
	int		 signo;
	pid_t		 pid;
	const cJSON	*figures;	/* the figures that decided it, an object; may be NULL */
};

typedef void mon_report_fn(const struct mon_action *action);

/*
 * One monitor. Hooks return 0 on success; a failing hook is logged by
 * monitor.c and never fails the operation that triggered it. Any hook may
 * be NULL. The "interval" option belongs to the framework: it sets the
 * tick period for every monitor, so monitors never see it.
 */
struct mon_ops {
	const char	*name;		/* as written after -M */
	int64_t		 default_interval_ms;	/* ticks land on wall-clock multiples */
	/* One key=value from -M; on error write a message naming the text into err. */
	int		(*configure)(const char *key, const char *value, char *err, size_t err_len);
	/* report (never NULL) is kept: the monitor calls it for each action it takes. */
	int		(*start)(mon_report_fn *report);
	int		(*tick)(void);
	/* A registration names pid (> 0); a pid may be named by several. */
	int		(*add)(pid_t pid);
	int		(*remove)(pid_t pid);
	/* A new object holding the monitor's status section, or NULL on failure. */
	cJSON		*(*status)(void);
	void		(*stop)(void);
};

/* Parses "NAME[:key=value,...]"; on error writes a one-line message into err. */
int	 mon_enable(const char *spec, char *err, size_t err_len);
/* Starts the enabled monitors; report hears of every action one takes. */
void	 mon_start_all(mon_report_fn *report);
void	 mon_stop_all(void);
/* A registration of process_id began or ended; connection_id is for the logs. */
void	 mon_register(pid_t process_id, const char *connection_id);
void	 mon_remove(pid_t process_id, const char *connection_id);
void	 mon_status(const struct call *call);
/* The nearest tick on the monotonic clock in ms, or -1 when none is enabled. */
int64_t	 mon_next_deadline(void);
void	 mon_run_due(int64_t now_ms);

#endif
