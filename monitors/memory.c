/*
 * The memory monitor, after the reference's MemoryMonitor and its leak
 * cluster: it samples every registered process each tick and signals those
 * that leak, and the largest ones while the group is over its total size
 * or the machine is short of free memory.
 *
 * A signalled process is given time to act: it is not signalled again, for
 * any reason, for 2 ticks, then 4, 8, ... up to 64 while it stays selected;
 * the wait resets after a tick in which it could have been signalled and
 * was not. While it waits, its private size counts as already freed, so one
 * slow exit does not make the monitor signal a second process in its place.
 * A signal that cannot be sent (EPERM) is logged once and backs off the
 * same way, and that process no longer counts as going away.
 *
 * A pid is followed as the process that had it at registration, named by
 * its start time: a vanished process, or a pid now held by a stranger, is
 * never sampled or signalled again, and each is logged once.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/cgroup.h"
#include "lib/fmt.h"
#include "lib/hmap.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "lib/num.h"
#include "monitor.h"
#include "monitors/memory.h"
#include "lib/procfs.h"
#include "lib/procid.h"
#include "lib/signame.h"
#include "lib/size.h"

/* Every line of this monitor begins "memory monitor: " (lib/log.h). */
#define mem_debug(...)	log_at(LOG_LEVEL_DEBUG | LOG_MEMORY_MONITOR, __VA_ARGS__)
#define mem_info(...)	log_at(LOG_LEVEL_INFO | LOG_MEMORY_MONITOR, __VA_ARGS__)
#define mem_warnx(...)	log_at(LOG_LEVEL_WARN | LOG_MEMORY_MONITOR, __VA_ARGS__)
#define mem_warn(...)	log_at(LOG_LEVEL_WARN | LOG_ERRNO | LOG_MEMORY_MONITOR, __VA_ARGS__)

#define QUIET_FIRST_TICKS	2
#define SLICE_BUDGET_US		2000	/* sampling in one pass of the loop */
#define SLICE_GAP_MIN_MS	1
#define SLICE_GAP_MAX_MS	100
#define QUIET_MAX_TICKS		64

enum mem_health {
	MEM_FOLLOWED,
	MEM_UNREADABLE,		/* /proc refused us; tried again each tick */
	MEM_GONE,		/* exited: never sampled again */
	MEM_REUSED,		/* the pid names a stranger now: never touched again */
};

struct mem_proc {
	struct procid		id;		/* who the pid named at registration; id.pid is the key in by_pid */
	unsigned		refs;		/* connections naming this pid */
	size_t			index;		/* in procs[] */
	enum mem_health		health;
	bool			fresh;		/* sampled in the last round */
	struct mem_figures	figures;
	unsigned		signal_count;	/* signals (or attempts) in a row */
	uint64_t		quiet_until;	/* tick number before which it is left alone */
	bool			signal_failed;	/* the last attempt failed: it is not going away */
};

static struct {
	uint64_t	maximum_size_limit;	/* 0: unset, here and below */
	uint64_t	total_size_limit;
	uint64_t	free_size_minimum;
	uint64_t	threshold_size;
	uint64_t	increase_limit;
	int		signo;
} config = { .threshold_size = 10 << 20, .signo = SIGINT };

static struct hmap by_pid;
static struct mem_proc **procs;
static size_t proc_count, proc_cap;
static uint64_t tick_number;
static int64_t last_tick_ms;			/* monotonic */

/*
 * A tick's sampling is spread in slices across the interval, so that no
 * pass of the loop spends long on it (SPEC 5): procs[0, next) have been
 * sampled this round, the rest wait for the next slice.
 */
static struct sweep {
	bool		running;
	size_t		next;
	int64_t		started_ms;		/* monotonic */
	int64_t		spread_ms;		/* the round ends within about this */
	unsigned	slices;
	int64_t		longest_us;
} sweep;
static bool have_total;
static uint64_t total_size;
static bool free_unreadable_logged;

/* Pure decisions */

void
mem_figures_sample(struct mem_figures *f, const struct proc_memory *m, uint64_t threshold)
{
	f->current_size = m->rss;
	f->current_shared_size = m->shared_clean;
	f->current_private_size = m->private_clean + m->private_dirty;
	if (f->sample_count++ == 0) {
		f->largest_size = f->current_size;
	} else if (f->current_size > f->largest_size &&
	    f->current_size - f->largest_size > threshold) {
		f->largest_size = f->current_size;
		f->increase_count++;
	}
}

enum mem_reason
mem_leak_reason(const struct mem_figures *f, uint64_t maximum_size_limit,
    uint64_t increase_limit)
{
	if (f->sample_count == 0)
		return MEM_REASON_NONE;
	if (maximum_size_limit != 0 && f->current_size > maximum_size_limit)
		return MEM_REASON_MAXIMUM_SIZE;
	if (increase_limit != 0 && f->increase_count >= increase_limit)
		return MEM_REASON_INCREASE;
	return MEM_REASON_NONE;
}

static bool
goes_before(const struct mem_candidate *x, const struct mem_candidate *y)
{
	return x->private_size != y->private_size ? x->private_size > y->private_size :
	    x->pid < y->pid;
}

static uint64_t
saturating_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

size_t
mem_choose(struct mem_candidate *candidates, size_t count, uint64_t excess)
{
	size_t chosen = 0;

	/* Selection sort: the processes of one group are few, and qsort is big in a static binary. */
	for (size_t i = 0; i < count; i++) {
		struct mem_candidate *first = &candidates[i], swap;

		for (size_t j = i + 1; j < count; j++) {
			if (goes_before(&candidates[j], first))
				first = &candidates[j];
		}
		swap = candidates[i];
		candidates[i] = *first;
		*first = swap;
		candidates[i].chosen = false;
		if (candidates[i].pending)
			excess = saturating_sub(excess, candidates[i].private_size);
	}
	for (size_t i = 0; i < count && excess > 0; i++) {
		if (candidates[i].pending)
			continue;
		candidates[i].chosen = true;
		chosen++;
		excess = saturating_sub(excess, candidates[i].private_size);
	}
	return chosen;
}

uint64_t
mem_quiet_ticks(unsigned signal_count)
{
	uint64_t ticks = QUIET_FIRST_TICKS;

	for (unsigned i = 1; i < signal_count && ticks < QUIET_MAX_TICKS; i++)
		ticks *= 2;
	return ticks;
}

const char *
mem_reason_name(enum mem_reason reason)
{
	static const char names[][20] = {
		[MEM_REASON_NONE] = "none",
		[MEM_REASON_MAXIMUM_SIZE] = "maximum-size-limit",
		[MEM_REASON_INCREASE] = "increase-limit",
		[MEM_REASON_TOTAL_SIZE] = "total-size-limit",
		[MEM_REASON_FREE_SIZE] = "free-size-minimum",
	};

	return names[reason];
}

/* Options */

static int
configure_size(const char *key, const char *value, bool zero_ok, uint64_t *out,
    char *err, size_t err_len)
{
	if (size_parse(value, out) == -1 || (!zero_ok && *out == 0)) {
		fmt_snprintf(err, err_len, "%s '%s' is not a size (bytes, or a number with K, M or G%s)",
		    key, value, zero_ok ? "" : ", more than 0");
		return -1;
	}
	return 0;
}

static int
memory_configure(const char *key, const char *value, char *err, size_t err_len)
{
	uint64_t *const sizes[] = { &config.maximum_size_limit, &config.total_size_limit,
	    &config.free_size_minimum, &config.threshold_size };
	const char *name = "maximum-size-limit\0total-size-limit\0free-size-minimum\0threshold-size";

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++, name += strlen(name) + 1) {
		if (strcmp(key, name) == 0)	/* only threshold-size may be 0 */
			return configure_size(key, value, sizes[i] == &config.threshold_size, sizes[i],
			    err, err_len);
	}
	if (strcmp(key, "increase-limit") == 0) {
		const char *end;
		bool outside;
		uint64_t count = num_parse(value, &end, 10, &outside);

		if (outside || end == value || *end != '\0' || count == 0) {
			fmt_snprintf(err, err_len, "increase-limit '%s' is not a whole number more than 0", value);
			return -1;
		}
		config.increase_limit = count;
		return 0;
	}
	if (strcmp(key, "signal") == 0) {
		if ((config.signo = signame_parse(value)) == -1) {
			fmt_snprintf(err, err_len, "signal '%s' is not a signal name or number", value);
			return -1;
		}
		return 0;
	}
	fmt_snprintf(err, err_len, "unknown option '%s' (memory takes interval, maximum-size-limit, "
	    "total-size-limit, free-size-minimum, threshold-size, increase-limit, signal)", key);
	return -1;
}

static mon_report_fn *report;

/*
 * What decided a signal: figures named one after the other, each ended by
 * its NUL, logged as name=value and reported as an object of numbers. A
 * source (where free memory was read) is logged before the last figure,
 * which is then logged only.
 */
struct why {
	const char	*names;
	uint64_t	 values[4];
	unsigned	 count;
	const char	*source;
};

/* Sizes and limits may reach 2^64 - 1: converted as unsigned, in one place. */
static bool __attribute__((noinline))
add_sizes(cJSON *object, const char *names, const uint64_t *sizes, size_t count,
    unsigned unknown)
{
	double values[10];

	for (size_t i = 0; i < count; i++)
		values[i] = (double)sizes[i];
	return jsonw_add_figures(object, names, values, count, unknown);
}

/* Following processes */

static void
set_health(struct mem_proc *p, enum mem_health health, const char *detail)
{
	if (p->health == health)
		return;
	switch (health) {
	case MEM_FOLLOWED:
		mem_info("process readable again process_id=%ld", (long)p->id.pid);
		break;
	case MEM_UNREADABLE:
		mem_warnx("cannot read process memory; skipped until readable "
		    "process_id=%ld error=%s", (long)p->id.pid, detail);
		break;
	case MEM_GONE:
		mem_info("process gone; no longer sampled process_id=%ld reason=%s",
		    (long)p->id.pid, detail);
		break;
	case MEM_REUSED:
		mem_warnx("process id now names another process; it will not be "
		    "sampled or signalled process_id=%ld %s", (long)p->id.pid, detail);
		break;
	}
	p->health = health;
}

/* Checks that p->id.pid still names the process registered; false after logging why not. */
static bool
identify(struct mem_proc *p)
{
	char detail[96];
	struct procid now = { 0 };

	switch (procid_check(&p->id, &now)) {
	case PROCID_ALIVE:
		p->id.start_ticks = now.start_ticks;	/* learnt now if unreadable at first */
		return true;
	case PROCID_EXITED:
		set_health(p, MEM_GONE, "exited");
		break;
	case PROCID_REUSED:
		fmt_snprintf(detail, sizeof(detail), "registered_start_ticks=%llu found_start_ticks=%llu",
		    (unsigned long long)p->id.start_ticks, (unsigned long long)now.start_ticks);
		set_health(p, MEM_REUSED, detail);
		break;
	case PROCID_HIDDEN:
		set_health(p, MEM_UNREADABLE, "hidden by /proc's hidepid");
		break;
	case PROCID_UNREADABLE:
		set_health(p, MEM_UNREADABLE, strerror(errno));
		break;
	}
	return false;
}

static void
sample(struct mem_proc *p)
{
	struct proc_memory memory;

	p->fresh = false;
	if (p->health == MEM_GONE || p->health == MEM_REUSED || !identify(p))
		return;
	if (procfs_memory(p->id.pid, &memory) == -1) {
		if (errno == ENOENT || errno == ESRCH)
			set_health(p, MEM_GONE, "exited");
		else
			set_health(p, MEM_UNREADABLE, strerror(errno));
		return;
	}
	set_health(p, MEM_FOLLOWED, NULL);
	mem_figures_sample(&p->figures, &memory, config.threshold_size);
	p->fresh = true;
}

static bool
may_signal(const struct mem_proc *p)
{
	return p->fresh && tick_number >= p->quiet_until;
}

static bool
waiting_after_signal(const struct mem_proc *p)
{
	return p->fresh && p->signal_count > 0 && tick_number < p->quiet_until &&
	    !p->signal_failed;
}

static int
open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int
pidfd_signal(int pidfd, int signo)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
#else
	(void)pidfd;
	(void)signo;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Sends the signal only to the process registered: the pidfd pins a process
 * before its start time is checked, so a pid reused in between is never hit.
 * Without pidfds (before Linux 5.3, or out of fds) the window left is the
 * few microseconds between reading /proc/PID/stat and kill().
 */
static int
send_signal(struct mem_proc *p)
{
	int pidfd = open_pidfd(p->id.pid), result, saved_errno;

	if (pidfd == -1 && errno == ESRCH) {
		set_health(p, MEM_GONE, "exited");
		return -1;
	}
	if (!identify(p)) {
		if (pidfd != -1)
			close(pidfd);
		errno = ESRCH;
		return -1;
	}
	if (pidfd != -1) {
		result = pidfd_signal(pidfd, config.signo);
		saved_errno = errno;
		close(pidfd);
		errno = saved_errno;
		if (result == 0 || errno != ENOSYS)
			return result;
	}
	return kill(p->id.pid, config.signo);
}

static void
signal_process(struct mem_proc *p, enum mem_reason reason, const struct why *why)
{
	char signal_name[16], text[320];
	const char *name = why->names;
	unsigned reported = why->count - (why->source != NULL);
	size_t len = 0;
	cJSON *figures;
	bool failed;

	signame_format(config.signo, signal_name, sizeof(signal_name));
	failed = send_signal(p) == -1;
	if (failed && errno == ESRCH)
		return;
	/* A failure is said once, and backed off from as a signal is, rather than retried every tick. */
	if (failed && !p->signal_failed)
		mem_warn("cannot signal process_id=%ld signal=%s reason=%s",
		    (long)p->id.pid, signal_name, mem_reason_name(reason));
	p->signal_failed = failed;
	p->signal_count++;
	p->quiet_until = tick_number + mem_quiet_ticks(p->signal_count);
	if (failed)
		return;
	for (unsigned i = 0; i < why->count; i++, name += strlen(name) + 1) {
		if (i == reported)
			len += (size_t)fmt_snprintf(text + len, sizeof(text) - len, " source=%s",
			    why->source);
		len += (size_t)fmt_snprintf(text + len, sizeof(text) - len, " %s=%llu", name,
		    (unsigned long long)why->values[i]);
	}
	mem_warnx("signalled process process_id=%ld signal=%s reason=%s%s "
	    "signal_count=%u", (long)p->id.pid, signal_name, mem_reason_name(reason), text,
	    p->signal_count);
	if ((figures = cJSON_CreateObject()) != NULL &&
	    !add_sizes(figures, why->names, why->values, reported, 0)) {
		cJSON_Delete(figures);
		figures = NULL;
	}
	report(&(struct mon_action){ .monitor = "memory", .action = "signal",
	    .reason = mem_reason_name(reason), .signo = config.signo, .pid = p->id.pid,
	    .figures = figures });
	cJSON_Delete(figures);
}

static void
check_leak(struct mem_proc *p)
{
	const struct mem_figures *f = &p->figures;
	enum mem_reason reason;

	if (!may_signal(p))
		return;
	reason = mem_leak_reason(f, config.maximum_size_limit, config.increase_limit);
	if (reason == MEM_REASON_NONE)
		return;
	signal_process(p, reason, &(struct why){
	    .names = reason == MEM_REASON_MAXIMUM_SIZE ? "current_size\0maximum_size_limit" :
		"current_size\0increase_count\0increase_limit\0threshold_size",
	    .values = { f->current_size, reason == MEM_REASON_MAXIMUM_SIZE ?
		config.maximum_size_limit : f->increase_count, config.increase_limit,
		config.threshold_size },
	    .count = reason == MEM_REASON_MAXIMUM_SIZE ? 2 : 4 });
}

/* Shared pages are counted once, as the largest process's; private ones add up. */
static void
update_total(void)
{
	uint64_t largest_shared = 0, private_sum = 0;

	for (size_t i = 0; i < proc_count; i++) {
		const struct mem_figures *f = &procs[i]->figures;

		if (!procs[i]->fresh)
			continue;
		if (f->current_shared_size > largest_shared)
			largest_shared = f->current_shared_size;
		private_sum += f->current_private_size;
	}
	total_size = largest_shared + private_sum;
	have_total = true;
}

static struct mem_proc *
find(pid_t pid)
{
	return hmap_get(&by_pid, &pid, sizeof(pid));
}

/*
 * Signals the largest private processes until excess bytes are dealt with.
 * why: current_private_size, the two figures that made the excess, excess.
 */
static int
shed(enum mem_reason reason, uint64_t excess, struct why *why)
{
	struct mem_candidate *candidates = calloc(proc_count + 1, sizeof(*candidates));
	size_t count = 0;

	if (candidates == NULL)
		return -1;
	for (size_t i = 0; i < proc_count; i++) {
		struct mem_proc *p = procs[i];

		/* Neither selectable nor going away: a signal to it failed lately. */
		if (!p->fresh || (!may_signal(p) && !waiting_after_signal(p)))
			continue;
		candidates[count++] = (struct mem_candidate){
			.pid = p->id.pid,
			.private_size = p->figures.current_private_size,
			.pending = waiting_after_signal(p),
		};
	}
	mem_choose(candidates, count, excess);
	for (size_t i = 0; i < count; i++) {
		if (!candidates[i].chosen)
			continue;
		why->values[0] = candidates[i].private_size;
		why->values[3] = excess;
		signal_process(find(candidates[i].pid), reason, why);
		excess = saturating_sub(excess, candidates[i].private_size);
	}
	free(candidates);
	return 0;
}

static int
check_total(void)
{
	if (config.total_size_limit == 0 || !have_total || total_size <= config.total_size_limit)
		return 0;
	return shed(MEM_REASON_TOTAL_SIZE, total_size - config.total_size_limit, &(struct why){
	    .names = "current_private_size\0total_size\0total_size_limit\0excess",
	    .values = { 0, total_size, config.total_size_limit }, .count = 4 });
}

/* Free memory, or false after saying (once in a row) that it cannot be read. */
static bool
read_free(uint64_t *free_size, const char **source)
{
	if (cgroup_available_memory(free_size, source) == 0) {
		free_unreadable_logged = false;
		return true;
	}
	if (!free_unreadable_logged)
		mem_warn("cannot read free memory; free-size-minimum not enforced");
	free_unreadable_logged = true;
	return false;
}

static int
check_free(void)
{
	uint64_t free_size;
	const char *source;

	if (config.free_size_minimum == 0)
		return 0;
	if (!read_free(&free_size, &source) || free_size >= config.free_size_minimum)
		return 0;
	return shed(MEM_REASON_FREE_SIZE, config.free_size_minimum - free_size, &(struct why){
	    .names = "current_private_size\0free_size\0free_size_minimum\0excess",
	    .values = { 0, free_size, config.free_size_minimum }, .count = 4, .source = source });
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* As lib/clock.h's mono_now_ms(), from the clock read above: one function, not two. */
static int64_t
now_ms(void)
{
	return now_us() / 1000;
}

/* The decisions that need every process's figures, once a round has sampled them all. */
static int
finish_round(void)
{
	int result = 0;

	update_total();
	if (check_total() == -1)
		result = -1;
	if (check_free() == -1)
		result = -1;
	/* Selectable this tick and not signalled: the back-off starts over. */
	for (size_t i = 0; i < proc_count; i++) {
		if (may_signal(procs[i]))
			procs[i]->signal_count = 0;
	}
	mem_debug("round done processes=%zu slices=%u duration_ms=%lld "
	    "longest_slice_us=%lld", proc_count, sweep.slices,
	    (long long)(now_ms() - sweep.started_ms), (long long)sweep.longest_us);
	sweep.running = false;
	return result;
}

/*
 * The wait before the next slice: what is left of the round is spread
 * over what is left of its share of the interval, at the pace this slice
 * went, so the round ends in about half the interval.
 */
static int
slice_gap(size_t sampled)
{
	size_t left = proc_count - sweep.next;
	size_t slices_left = sampled > 0 ? (left + sampled - 1) / sampled : left;
	int64_t time_left = sweep.started_ms + sweep.spread_ms - now_ms();
	int64_t gap = slices_left > 0 ? time_left / (int64_t)slices_left : 0;

	return (int)(gap < SLICE_GAP_MIN_MS ? SLICE_GAP_MIN_MS :
	    gap > SLICE_GAP_MAX_MS ? SLICE_GAP_MAX_MS : gap);
}

/* Samples the next processes of the round for at most SLICE_BUDGET_US. */
static int
memory_slice(void)
{
	int64_t started = now_us();
	int64_t spent = 0;
	size_t sampled = 0;

	if (!sweep.running)
		return 0;
	while (sweep.next < proc_count && spent < SLICE_BUDGET_US) {
		struct mem_proc *p = procs[sweep.next++];

		sample(p);
		check_leak(p);
		sampled++;
		spent = now_us() - started;
	}
	sweep.slices++;
	if (spent > sweep.longest_us)
		sweep.longest_us = spent;
	if (sweep.next < proc_count)
		return slice_gap(sampled);
	return finish_round();
}

static int
memory_tick(void)
{
	int64_t now = now_ms();

	if (sweep.running) {
		mem_debug("the last round is still sampling; this tick joins it "
		    "sampled=%zu processes=%zu", sweep.next, proc_count);
		return memory_slice();
	}
	tick_number++;
	sweep = (struct sweep){
		.running = true,
		.started_ms = now,
		.spread_ms = last_tick_ms > 0 ? (now - last_tick_ms) / 2 : 0,
	};
	last_tick_ms = now;
	return memory_slice();
}

/* Registration */

/* The pid now names a process other than the one followed: follow the new one afresh. */
static void
refollow(struct mem_proc *p, const struct procid *now)
{
	mem_info("following the newly registered process with a reused id "
	    "process_id=%ld", (long)p->id.pid);
	*p = (struct mem_proc){ .id = *now, .refs = p->refs, .index = p->index };
}

static struct mem_proc *
follow(pid_t pid)
{
	struct mem_proc *p;

	if (proc_count == proc_cap) {
		size_t new_cap = proc_cap ? proc_cap * 2 : 16;
		struct mem_proc **grown = realloc(procs, new_cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		procs = grown;
		proc_cap = new_cap;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->id.pid = pid;
	p->refs = 1;
	if (hmap_put(&by_pid, &p->id.pid, sizeof(p->id.pid), p) == -1) {
		free(p);
		return NULL;
	}
	p->index = proc_count;
	procs[proc_count++] = p;
	switch (procid_read(pid, &p->id)) {
	case PROCID_ALIVE:
		break;
	case PROCID_HIDDEN:
	case PROCID_UNREADABLE:
		/* Its start time is learnt at the first sample that can read it. */
		set_health(p, MEM_UNREADABLE, "unreadable when it was followed");
		break;
	default:
		set_health(p, MEM_GONE, "exited before it was followed");
		break;
	}
	mem_debug("following process process_id=%ld", (long)pid);
	return p;
}

static int
memory_add(pid_t pid)
{
	struct mem_proc *p;
	struct procid now = { 0 };

	if ((p = find(pid)) == NULL)
		return follow(pid) == NULL ? -1 : 0;
	p->refs++;
	if (procid_read(p->id.pid, &now) == PROCID_ALIVE && now.start_ticks != p->id.start_ticks)
		refollow(p, &now);
	return 0;
}

static void
place(struct mem_proc *p, size_t index)
{
	procs[index] = p;
	p->index = index;
}

/* Takes p out of procs[], keeping the round's sampled ones before sweep.next. */
static void
unlist(struct mem_proc *p)
{
	size_t last = --proc_count;

	if (p->index < sweep.next) {
		sweep.next--;
		place(procs[sweep.next], p->index);
		place(procs[last], sweep.next);
	} else {
		place(procs[last], p->index);
	}
}

static int
memory_remove(pid_t pid)
{
	struct mem_proc *p;

	if ((p = find(pid)) == NULL)
		return 0;
	if (--p->refs > 0)
		return 0;
	hmap_remove(&by_pid, &p->id.pid, sizeof(p->id.pid));
	unlist(p);
	mem_debug("dropped process process_id=%ld", (long)p->id.pid);
	free(p);
	return 0;
}

/* Status */

/* Bit i set when limit, figure i, is 0: unset. */
static unsigned
unset_bit(uint64_t limit, unsigned i)
{
	return limit == 0 ? 1u << i : 0;
}

static cJSON *
process_status(size_t i)
{
	const struct mem_proc *p = procs[i];
	const struct mem_figures *f = &p->figures;
	const uint64_t values[] = { (uint64_t)p->id.pid, f->sample_count, f->current_size,
	    f->largest_size, f->current_shared_size, f->current_private_size,
	    config.maximum_size_limit, config.threshold_size, f->increase_count,
	    config.increase_limit };
	/* Figures 2 to 5 are known once sampled. */
	unsigned unknown = (f->sample_count == 0 ? 0x3cu : 0) |
	    unset_bit(config.maximum_size_limit, 6) | unset_bit(config.increase_limit, 9);
	cJSON *entry = cJSON_CreateObject();

	if (entry == NULL || !add_sizes(entry, "process_id\0sample_count\0current_size\0"
	    "maximum_size\0current_shared_size\0current_private_size\0maximum_size_limit\0"
	    "threshold_size\0increase_count\0increase_limit", values,
	    sizeof(values) / sizeof(values[0]), unknown)) {
		cJSON_Delete(entry);
		return NULL;
	}
	return entry;
}

static cJSON *
memory_status(void)
{
	const uint64_t values[] = { total_size, config.total_size_limit, config.free_size_minimum };
	cJSON *section, *result = jsonw_status_section("memory_monitor", &section);

	if (section == NULL ||
	    !add_sizes(section, "total_size\0total_size_limit\0free_size_minimum", values, 3,
		(have_total ? 0 : 1) | unset_bit(config.total_size_limit, 1) |
		unset_bit(config.free_size_minimum, 2)) ||
	    !jsonw_add_by_pid(cJSON_AddObjectToObject(section, "processes"), proc_count,
		process_status)) {
		cJSON_Delete(result);
		return NULL;
	}
	return result;
}

/* Life */

/* An unset (0) limit reads "none" in the log. */
static const char *
limit_text(uint64_t value, char text[24])
{
	if (value == 0)
		return "none";
	fmt_snprintf(text, 24, "%llu", (unsigned long long)value);
	return text;
}

static int
memory_start(mon_report_fn *report_action)
{
	char maximum[24], total[24], minimum[24], increase[24], signo_buf[16];
	uint64_t free_size;
	const char *source;

	report = report_action;
	signame_format(config.signo, signo_buf, sizeof(signo_buf));
	mem_info("limits maximum_size_limit=%s total_size_limit=%s "
	    "free_size_minimum=%s threshold_size=%llu increase_limit=%s signal=%s",
	    limit_text(config.maximum_size_limit, maximum), limit_text(config.total_size_limit, total),
	    limit_text(config.free_size_minimum, minimum), (unsigned long long)config.threshold_size,
	    limit_text(config.increase_limit, increase), signo_buf);
	if (config.free_size_minimum != 0 && read_free(&free_size, &source))
		mem_info("free memory free_size=%llu source=%s", (unsigned long long)free_size,
		    source);
	free_unreadable_logged = false;		/* the first tick says it again */
	return 0;
}

static void
memory_stop(void)
{
	for (size_t i = 0; i < proc_count; i++)
		free(procs[i]);
	free(procs);
	procs = NULL;
	proc_count = proc_cap = 0;
	hmap_clear(&by_pid);
	memset(&sweep, 0, sizeof(sweep));
}

const struct mon_ops mon_memory = {
	.name = "memory",
	.default_interval_ms = 10000,
	.configure = memory_configure,
	.start = memory_start,
	.tick = memory_tick,
	.slice = memory_slice,
	.add = memory_add,
	.remove = memory_remove,
	.status = memory_status,
	.stop = memory_stop,
};
