#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "monitor.h"
#include "reply.h"
#include "lib/num.h"

/*
 * The monitors the daemon knows. Adding one means writing its file (which
 * defines a struct mon_ops), declaring it and listing it here, before the
 * NULL that ends the array, and naming the file in the Makefile.
 */
extern const struct mon_ops mon_memory, mon_process;

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
} active[MONITOR_SLOTS];

static void
list_names(char *out, size_t out_len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; monitors[i] != NULL && used < out_len; i++)
		used += (size_t)snprintf(out + used, out_len - used, "%s%s",
		    i ? ", " : "", monitors[i]->name);
	if (out[0] == '\0')
		snprintf(out, out_len, "none");
}

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
		snprintf(err, err_len, "interval '%s' is not a number of seconds "
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
			snprintf(err, err_len, "monitor '%s' has no timer to set an interval on", m->name);
			return -1;
		}
		return parse_interval(value, &active[index].interval_ms, err, err_len);
	}
	if (m->configure == NULL) {
		snprintf(err, err_len, "unknown option '%s' (monitor '%s' takes only interval)",
		    key, m->name);
		return -1;
	}
	return m->configure(key, value, err, err_len);
}

/* Applies "key=value,key=value" to monitor index; options is modified. */
static int
configure(size_t index, char *options, const char *spec, char *err, size_t err_len)
{
	char *saveptr = NULL;

	for (char *pair = strtok_r(options, ",", &saveptr); pair != NULL;
	    pair = strtok_r(NULL, ",", &saveptr)) {
		char *equals = strchr(pair, '=');
		char detail[256];

		if (equals == NULL || equals == pair) {
			snprintf(err, err_len, "-M %s: '%s' is not key=value", spec, pair);
			return -1;
		}
		*equals = '\0';
		detail[0] = '\0';
		if (configure_one(index, pair, equals + 1, detail, sizeof(detail)) == -1) {
			snprintf(err, err_len, "-M %s: %s", spec,
			    detail[0] ? detail : "bad option");
			return -1;
		}
	}
	return 0;
}

int
mon_enable(const char *spec, char *err, size_t err_len)
{
	const char *colon = strchr(spec, ':');
	size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	int index = find_monitor(spec, name_len);
	char known[256];
	char *options;
	int result;

	if (index == -1) {
		list_names(known, sizeof(known));
		snprintf(err, err_len, "-M %s: unknown monitor '%.*s' (known: %s)",
		    spec, (int)name_len, spec, known);
		return -1;
	}
	if (colon == NULL || colon[1] == '\0') {
		active[index].enabled = true;
		return 0;
	}
	if ((options = strdup(colon + 1)) == NULL) {
		snprintf(err, err_len, "-M %s: out of memory", spec);
		return -1;
	}
	result = configure((size_t)index, options, spec, err, err_len);
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
	}
}

void
mon_register(pid_t process_id, const char *connection_id)
{
	if (process_id <= 0)
		return;
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (active[i].enabled && monitors[i]->add != NULL && monitors[i]->add(process_id) == -1)
			log_error("monitor %s: error while registering process connection_id=%s process_id=%ld",
			    monitors[i]->name, connection_id, (long)process_id);
	}
}

void
mon_remove(pid_t process_id, const char *connection_id)
{
	if (process_id <= 0)
		return;
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (active[i].enabled && monitors[i]->remove != NULL && monitors[i]->remove(process_id) == -1)
			log_error("monitor %s: error while removing process connection_id=%s process_id=%ld",
			    monitors[i]->name, connection_id, (long)process_id);
	}
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

/* The debug line gives the tick's wall time and its cost, for operators and the benchmark. */
static void
run_tick(size_t index)
{
	const struct mon_ops *m = monitors[index];
	int64_t wall_ms = clock_ms(CLOCK_REALTIME);
	int64_t started = now_us(CLOCK_MONOTONIC);
	int result = m->tick != NULL ? m->tick() : 0;

	if (result == -1)
		log_error("monitor %s: tick failed", m->name);
	log_debug("monitor tick name=%s at=%lld.%03lld duration_us=%lld", m->name,
	    (long long)(wall_ms / 1000), (long long)(wall_ms % 1000),
	    (long long)(now_us(CLOCK_MONOTONIC) - started));
}

void
mon_run_due(int64_t now_ms)
{
	for (size_t i = 0; monitors[i] != NULL; i++) {
		if (!active[i].enabled || active[i].next_tick > now_ms)
			continue;
		run_tick(i);
		active[i].next_tick = next_aligned_tick(i, true);
	}
}
