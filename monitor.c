#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "monitor.h"
#include "reply.h"
#include "lib/num.h"

/*
 * The monitors the daemon knows. Adding one means writing its file (which
 * defines a struct mon_ops), declaring it and listing it here, before the
 * NULL that ends the array and in MONITOR_NAMES, and naming the file in
 * the Makefile.
 */
extern const struct mon_ops mon_memory, mon_process;

/* As an unknown monitor's error lists them. */
#define MONITOR_NAMES "memory, process"

static const struct mon_ops *const monitors[] = {
	&mon_memory,
	&mon_process,
	NULL
};

#define MONITOR_SLOTS (sizeof(monitors) / sizeof(monitors[0]))

#define MAX_INTERVAL_S	(30 * 86400)

static struct {
	bool	enabled;
	int64_t	interval_ms;		/* 0 until -M sets it: the monitor's default */
	int64_t	next_tick;		/* monotonic ms */
	int64_t	next_slice;		/* monotonic ms; 0: no work left over */
} active[MONITOR_SLOTS];

static int
find_monitor(const char *name, size_t name_len)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (strlen(monitors[i]->name) == name_len &&
		    strncmp(monitors[i]->name, name, name_len) == 0)
			return (int)i;
	}
	return -1;
}

/* Seconds, fractions allowed ("10", "0.5"), to whole milliseconds. */
static int
parse_interval(const char *text, int64_t *interval_ms, char *err, size_t err_len)
{
	char *end;
	double seconds;

	errno = 0;
	seconds = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(seconds) ||
	    seconds <= 0 || seconds > MAX_INTERVAL_S || num_round(seconds * 1000) < 1) {
		fmt_snprintf(err, err_len, "interval '%s' is not a number of seconds "
		    "from 0.001 to %d (such as 10 or 0.5)", text, MAX_INTERVAL_S);
		return -1;
	}
	*interval_ms = num_round(seconds * 1000);
	return 0;
}

static int
configure_one(size_t index, const char *key, const char *value, char *err, size_t err_len)
{
	const struct mon_ops *m = monitors[index];

	if (strcmp(key, "interval") == 0) {
		if (m->tick == NULL) {
			fmt_snprintf(err, err_len, "monitor '%s' has no timer to set an interval on", m->name);
			return -1;
		}
		return parse_interval(value, &active[index].interval_ms, err, err_len);
	}
	if (m->configure == NULL) {
		fmt_snprintf(err, err_len, "unknown option '%s' (monitor '%s' takes only interval)",
		    key, m->name);
		return -1;
	}
	return m->configure(key, value, err, err_len);
}

/*
 * Applies "key=value,key=value" to monitor index; options is modified.
 * Writes what is wrong into err.
 */
static int
configure(size_t index, char *options, char *err, size_t err_len)
{
	for (char *pair = options, *next; pair != NULL; pair = next) {
		char *equals;

		if ((next = strchr(pair, ',')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;	/* empty between commas, as strtok would skip it */
		if ((equals = strchr(pair, '=')) == NULL || equals == pair) {
			fmt_snprintf(err, err_len, "'%s' is not key=value", pair);
			return -1;
		}
		*equals = '\0';
		if (configure_one(index, pair, equals + 1, err, err_len) == -1)
			return -1;
	}
	return 0;
}

/* Every message reads "-M SPEC: what is wrong", the part after the prefix written in place. */
int
mon_enable(const char *spec, char *err, size_t err_len)
{
	size_t name_len = strcspn(spec, ":"), at;
	int index = find_monitor(spec, name_len), result = -1;
	char *options = NULL, *detail;

	at = (size_t)fmt_snprintf(err, err_len, "-M %s: ", spec);
	if (at >= err_len)
		at = err_len - 1;
	detail = err + at;
	*detail = '\0';	/* every monitor's configure says what is wrong */
	if (index == -1) {
		fmt_snprintf(detail, err_len - at, "unknown monitor '%.*s' (known: " MONITOR_NAMES ")",
		    (int)name_len, spec);
		return -1;
	}
	if (spec[name_len] != '\0' && (options = strdup(spec + name_len + 1)) == NULL)
		fmt_snprintf(detail, err_len - at, "out of memory");
	else if (options == NULL || configure((size_t)index, options, detail, err_len - at) == 0)
		result = 0;
	free(options);
	if (result == 0)
		active[index].enabled = true;
	return result;
}

static int64_t
interval_of(size_t index)
{
	if (active[index].interval_ms > 0)
		return active[index].interval_ms;
	if (monitors[index]->default_interval_ms > 0)
		return monitors[index]->default_interval_ms;
	return 1000;
}

static int64_t
next_aligned_tick(size_t index, bool just_ticked)
{
	int64_t interval = interval_of(index);
	int64_t wall = clock_ms(CLOCK_REALTIME);
	int64_t wait;

	/*
	 * Land on wall-clock multiples, but count the wait on the monotonic
	 * clock. Both clocks are truncated to ms: one more keeps us from
	 * waking a millisecond before the boundary.
	 */
	wait = interval - wall % interval + 1;
	/* Woken a hair before the boundary: do not tick twice for it. */
	if (just_ticked && wait < interval / 10)
		wait += interval;
	return mono_now_ms() + wait;
}

void
mon_start_all(mon_report_fn *report)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (!active[i].enabled)
			continue;
		if (monitors[i]->start != NULL && monitors[i]->start(report) == -1) {
			log_error("monitor %s: failed to start; it stays off", monitors[i]->name);
			active[i].enabled = false;
			continue;
		}
		active[i].next_tick = next_aligned_tick(i, false);
		log_info("monitor %s started interval_ms=%lld", monitors[i]->name,
		    (long long)interval_of(i));
	}
}

void
mon_stop_all(void)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (active[i].enabled && monitors[i]->stop != NULL)
			monitors[i]->stop();
		active[i].enabled = false;
		active[i].next_slice = 0;
	}
}

/* Tells each enabled monitor that a registration of process_id began (add) or ended. */
static void
tell_monitors(pid_t process_id, const char *connection_id, bool add)
{
	if (process_id <= 0)
		return;
	for (size_t i = 0; monitors[i] != NULL; i++) {
		int (*hook)(pid_t) = add ? monitors[i]->add : monitors[i]->remove;

		if (active[i].enabled && hook != NULL && hook(process_id) == -1)
			log_error("monitor %s: error while %s process connection_id=%s process_id=%ld",
			    monitors[i]->name, add ? "registering" : "removing", connection_id,
			    (long)process_id);
	}
}

void
mon_register(pid_t process_id, const char *connection_id)
{
	tell_monitors(process_id, connection_id, true);
}

void
mon_remove(pid_t process_id, const char *connection_id)
{
	tell_monitors(process_id, connection_id, false);
}

void
mon_status(const struct call *call)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		cJSON *section;

		if (!active[i].enabled || monitors[i]->status == NULL)
			continue;
		if ((section = monitors[i]->status()) == NULL) {
			log_error("monitor %s: status failed; section skipped", monitors[i]->name);
			continue;
		}
		reply_send(call, section);
		cJSON_Delete(section);
	}
}

int64_t
mon_next_deadline(void)
{
	int64_t nearest = -1;

	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (active[i].enabled && (nearest == -1 || active[i].next_tick < nearest))
			nearest = active[i].next_tick;
		if (active[i].enabled && active[i].next_slice > 0 && active[i].next_slice < nearest)
			nearest = active[i].next_slice;
	}
	return nearest;
}

static int64_t
now_us(clockid_t clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Runs a tick, or a slice of the work a tick left. The debug line gives
 * its wall time and its cost (how long it held the loop), for operators
 * and the benchmark.
 */
static void
run_tick(size_t index, bool slice)
{
	const struct mon_ops *m = monitors[index];
	int (*hook)(void) = slice ? m->slice : m->tick;
	const char *what = slice ? "slice" : "tick";
	int64_t wall_ms = clock_ms(CLOCK_REALTIME);
	int64_t started = now_us(CLOCK_MONOTONIC);
	int result = hook != NULL ? hook() : 0;

	if (result == -1)
		log_error("monitor %s: %s failed", m->name, what);
	active[index].next_slice = result > 0 && m->slice != NULL ? mono_now_ms() + result : 0;
	log_debug("monitor %s name=%s at=%lld.%03lld duration_us=%lld", what, m->name,
	    (long long)(wall_ms / 1000), (long long)(wall_ms % 1000),
	    (long long)(now_us(CLOCK_MONOTONIC) - started));
}

void
mon_run_due(int64_t now_ms)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (!active[i].enabled)
			continue;
		/* One at a time: a tick due as well runs at the next pass. */
		if (active[i].next_slice > 0 && active[i].next_slice <= now_ms) {
			run_tick(i, true);
		} else if (active[i].next_tick <= now_ms) {
			run_tick(i, false);
			active[i].next_tick = next_aligned_tick(i, true);
		}
	}
}
