/*
 * The process monitor, after the reference's ProcessMonitor: each tick it
 * reads /proc for the whole tree under ppid, logs one line per process and
 * keeps the figures for status. CPU utilisation is measured over the time
 * since the previous tick; a process seen for the first time gets its
 * lifetime average instead, as ps(1) reports it.
 */
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fmt.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "monitor.h"
#include "monitors/process.h"
#include "lib/procfs.h"
#include "lib/num.h"

/* Every line of this monitor begins "process monitor: " (lib/log.h). */
#define pm_info(...)	log_at(LOG_LEVEL_INFO | LOG_PROCESS_MONITOR, __VA_ARGS__)
#define pm_warnx(...)	log_at(LOG_LEVEL_WARN | LOG_PROCESS_MONITOR, __VA_ARGS__)
#define pm_warn(...)	log_at(LOG_LEVEL_WARN | LOG_ERRNO | LOG_PROCESS_MONITOR, __VA_ARGS__)

#define PID_LIMIT	4194304		/* PID_MAX_LIMIT on 64-bit Linux */
#define COMMAND_MAX	4096

struct pm_process {
	pid_t		 pid, ppid, pgid;
	uint64_t	 start_ticks;
	uint64_t	 cpu_ticks;		/* user + system */
	double		 cpu_time;		/* the same in seconds */
	uint64_t	 virtual_size, resident_size;
	double		 cpu_percent;
	double		 elapsed_time;		/* seconds */
	char		*command;		/* owned; NULL if out of memory */
	uint64_t	 minor_faults, major_faults;
	bool		 have_memory;		/* smaps_rollup (or smaps) was readable */
	struct proc_memory memory;
};

static pid_t configured_ppid;			/* 0: the daemon's original parent */
static pid_t original_parent;			/* before -d; 0 or 1: none */
static uint64_t original_parent_start;		/* start_ticks, to tell a reused pid */
static bool parent_gone_logged;

/* The last capture, sorted by pid. */
static struct pm_process *tree;
static size_t tree_count;
static pid_t tree_root;
static int64_t tree_taken_ms;			/* monotonic */

static struct proc_stat *scan;			/* reused between ticks */
static size_t scan_cap;
static bool scan_failure_logged;

/* Pure parts */

/* Heapsort by key: small, and no libc qsort in a static binary. */
static void
sift_down(struct pm_link *links, size_t root, size_t count)
{
	for (size_t child; (child = 2 * root + 1) < count; root = child) {
		struct pm_link swap;

		if (child + 1 < count && links[child + 1].key > links[child].key)
			child++;
		if (links[root].key >= links[child].key)
			return;
		swap = links[root];
		links[root] = links[child];
		links[child] = swap;
	}
}

static void
sort_links(struct pm_link *links, size_t count)
{
	for (size_t i = count / 2; i-- > 0;)
		sift_down(links, i, count);
	for (size_t end = count; end-- > 1;) {
		struct pm_link swap = links[0];

		links[0] = links[end];
		links[end] = swap;
		sift_down(links, 0, end);
	}
}

static size_t
first_child(const struct pm_link *links, size_t count, pid_t parent)
{
	size_t low = 0, high = count;

	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (links[middle].key < parent)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

size_t
pm_tree(const struct proc_stat *procs, size_t count, pid_t root,
    struct pm_link *links, size_t *out)
{
	size_t found = 0, next = 0;
	pid_t parent = root;

	for (size_t i = 0; i < count; i++)
		links[i] = (struct pm_link){ .key = procs[i].ppid, .index = i };
	sort_links(links, count);
	/* Breadth first, using out as the queue; /proc is read non-atomically, so bound it. */
	for (;;) {
		for (size_t i = first_child(links, count, parent);
		    i < count && links[i].key == parent && found < count; i++)
			out[found++] = links[i].index;
		if (next == found)
			return found;
		parent = procs[out[next++]].pid;
	}
}

double
pm_cpu_percent(uint64_t cpu_ticks, long clock_ticks, double seconds)
{
	if (clock_ticks <= 0 || seconds <= 0)
		return 0;
	return (double)(int64_t)cpu_ticks / (double)clock_ticks / seconds * 100.0;
}

/* Options */

static int
process_configure(const char *key, const char *value, char *err, size_t err_len)
{
	const char *end;
	uint64_t pid;
	bool outside;

	if (strcmp(key, "ppid") != 0) {
		fmt_snprintf(err, err_len, "unknown option '%s' (process takes interval, ppid)", key);
		return -1;
	}
	pid = num_parse(value, &end, 10, &outside);
	if (outside || end == value || *end != '\0' || pid < 1 || pid > PID_LIMIT) {
		fmt_snprintf(err, err_len, "ppid '%s' is not a process id", value);
		return -1;
	}
	configured_ppid = (pid_t)pid;
	return 0;
}

/* Capturing */

static const struct pm_process *
previous(pid_t pid)
{
	size_t low = 0, high = tree_count;

	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (tree[middle].pid == pid)
			return &tree[middle];
		if (tree[middle].pid < pid)
			low = middle + 1;
		else
			high = middle;
	}
	return NULL;
}

/* The breakdown the reference's process metrics give: only smaps has it. */
static void
read_memory(struct pm_process *out, pid_t pid)
{
	ssize_t map_count;

	out->have_memory = procfs_memory(pid, &out->memory) == 0 &&
	    strcmp(out->memory.source, "statm") != 0;
	if (out->have_memory && (map_count = procfs_map_count(pid)) >= 0)
		out->memory.map_count = (uint64_t)map_count;
}

static void
fill(struct pm_process *out, const struct proc_stat *st, double uptime, int64_t now_ms)
{
	long clock_ticks = procfs_clock_ticks();
	const struct pm_process *before = previous(st->pid);

	out->pid = st->pid;
	out->ppid = st->ppid;
	out->pgid = st->pgid;
	out->start_ticks = st->start_ticks;
	out->cpu_ticks = st->utime_ticks + st->stime_ticks;
	out->cpu_time = (double)(int64_t)out->cpu_ticks / (double)clock_ticks;
	out->virtual_size = st->vsize;
	out->resident_size = st->rss_pages * (uint64_t)procfs_page_size();
	out->elapsed_time = uptime - (double)(int64_t)st->start_ticks / (double)clock_ticks;
	if (out->elapsed_time < 0)
		out->elapsed_time = 0;
	/* Both terms have hundredths; the difference should not print binary noise. */
	out->elapsed_time = (double)num_round(out->elapsed_time * 100) / 100;
	/* The same pid and start time: the same process as last tick. */
	if (before != NULL && before->start_ticks == st->start_ticks &&
	    out->cpu_ticks >= before->cpu_ticks)
		out->cpu_percent = pm_cpu_percent(out->cpu_ticks - before->cpu_ticks, clock_ticks,
		    (double)(now_ms - tree_taken_ms) / 1000.0);
	else
		out->cpu_percent = pm_cpu_percent(out->cpu_ticks, clock_ticks, out->elapsed_time);
	out->minor_faults = st->minor_faults;
	out->major_faults = st->major_faults;
	read_memory(out, st->pid);
	if ((out->command = procfs_command(st->pid, COMMAND_MAX - 1)) == NULL &&
	    (out->command = malloc(sizeof(st->comm) + 2)) != NULL)
		fmt_snprintf(out->command, sizeof(st->comm) + 2, "[%s]", st->comm);
}

static void
free_tree(struct pm_process *processes, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(processes[i].command);
	free(processes);
}

/* Replaces the last capture with the tree under root now. */
static int
capture(pid_t root)
{
	ssize_t scanned = procfs_scan(&scan, &scan_cap);
	struct pm_link *links;
	size_t *members, count;
	struct pm_process *fresh;
	int64_t now_ms = mono_now_ms();
	double uptime = procfs_uptime();

	if (scanned == -1) {
		if (!scan_failure_logged)
			pm_warn("cannot read /proc");
		scan_failure_logged = true;
		return 0;
	}
	scan_failure_logged = false;
	/* One allocation for both: members follow the links. */
	links = calloc((size_t)scanned + 1, sizeof(*links) + sizeof(*members));
	members = links != NULL ? (size_t *)(links + scanned + 1) : NULL;
	count = links ? pm_tree(scan, (size_t)scanned, root, links, members) : 0;
	fresh = links ? calloc(count + 1, sizeof(*fresh)) : NULL;
	if (fresh != NULL) {
		/* Filled in pid order, for previous()'s binary search next tick. */
		for (size_t i = 0; i < count; i++)
			links[i] = (struct pm_link){ .key = scan[members[i]].pid, .index = members[i] };
		sort_links(links, count);
		for (size_t i = 0; i < count; i++)
			fill(&fresh[i], &scan[links[i].index], uptime, now_ms);
		free_tree(tree, tree_count);
		tree = fresh;
		tree_count = count;
		tree_root = root;
		tree_taken_ms = now_ms;
	}
	free(links);
	return fresh != NULL ? 0 : -1;
}

void
pm_set_default_parent(pid_t pid)
{
	struct proc_stat st;

	original_parent = pid;
	original_parent_start = procfs_stat(pid, &st) == 0 ? st.start_ticks : 0;
}

static bool
original_parent_alive(void)
{
	struct proc_stat st;

	return original_parent > 1 && procfs_stat(original_parent, &st) == 0 &&
	    st.state != 'Z' && st.state != 'X' && st.start_ticks == original_parent_start;
}

/*
 * The tree to watch, or 0 for none. Once the daemon's original parent has
 * gone (as after -d), getppid() names init: scanning and logging the whole
 * machine every tick is never what was asked for.
 */
static pid_t
root_pid(void)
{
	if (configured_ppid != 0)
		return configured_ppid;
	if (original_parent_alive())
		return original_parent;
	if (!parent_gone_logged)
		pm_warnx("the daemon's parent (pid %ld) has gone; watching nothing "
		    "(give ppid= to choose a tree)", (long)original_parent);
	parent_gone_logged = true;
	return 0;
}

/* Replaces the last capture with the tree under root, or with nothing when root is 0. */
static int
capture_root(pid_t root)
{
	if (root != 0)
		return capture(root);
	free_tree(tree, tree_count);
	tree = NULL;
	tree_count = 0;
	tree_root = 0;
	tree_taken_ms = mono_now_ms();
	return 0;
}

static int
process_tick(void)
{
	if (capture_root(root_pid()) == -1)
		return -1;
	for (size_t i = 0; i < tree_count; i++) {
		const struct pm_process *p = &tree[i];

		/* The command goes last: it may hold spaces, and runs to the end of the line. */
		log_info("process metrics pid=%ld ppid=%ld pgid=%ld cpu_percent=%.1f "
		    "virtual_size=%llu resident_size=%llu cpu_time=%.2f elapsed_time=%.2f command=%s",
		    (long)p->pid, (long)p->ppid, (long)p->pgid, p->cpu_percent,
		    (unsigned long long)p->virtual_size, (unsigned long long)p->resident_size,
		    p->cpu_time, p->elapsed_time,
		    p->command ? p->command : "");
	}
	return 0;
}

/* Status */

#define MEMORY_FIGURE(member) (uint8_t)offsetof(struct pm_process, member)
_Static_assert(sizeof(struct pm_process) <= UINT8_MAX, "memory figure offsets fit a byte");

/* Sizes in bytes, as the reference's Process::Metrics::Memory names them. */
static bool
add_memory(cJSON *entry, const struct pm_process *p)
{
	static const char names[] = "map_count\0resident_size\0proportional_size\0"
	    "shared_clean_size\0shared_dirty_size\0private_clean_size\0private_dirty_size\0"
	    "referenced_size\0anonymous_size\0swap_size\0proportional_swap_size\0"
	    "minor_faults\0major_faults";
	static const uint8_t figures[] = { MEMORY_FIGURE(memory.map_count),
	    MEMORY_FIGURE(memory.rss), MEMORY_FIGURE(memory.pss),
	    MEMORY_FIGURE(memory.shared_clean), MEMORY_FIGURE(memory.shared_dirty),
	    MEMORY_FIGURE(memory.private_clean), MEMORY_FIGURE(memory.private_dirty),
	    MEMORY_FIGURE(memory.referenced), MEMORY_FIGURE(memory.anonymous),
	    MEMORY_FIGURE(memory.swap), MEMORY_FIGURE(memory.swap_pss),
	    MEMORY_FIGURE(minor_faults), MEMORY_FIGURE(major_faults) };
	double values[sizeof(figures)];
	cJSON *memory;

	if (!p->have_memory)
		return cJSON_AddNullToObject(entry, "memory") != NULL;
	/* Sizes and counts from /proc, all below 2^63: a signed conversion is exact, and short. */
	for (size_t i = 0; i < sizeof(figures); i++) {
		int64_t figure;

		memcpy(&figure, (const char *)p + figures[i], sizeof(figure));
		values[i] = (double)figure;
	}
	memory = cJSON_AddObjectToObject(entry, "memory");
	return memory != NULL && jsonw_add_figures(memory, names, values, sizeof(figures), 0);
}

static cJSON *
metrics_entry(size_t i)
{
	const struct pm_process *p = &tree[i];
	static const char names[] = "process_id\0parent_process_id\0process_group_id\0"
	    "processor_utilization\0total_size\0virtual_size\0resident_size\0"
	    "processor_time\0elapsed_time";
	/* As the reference counts it: the proportional size where smaps tells it. */
	const double values[] = { p->pid, p->ppid, p->pgid, p->cpu_percent,
	    (double)(int64_t)(p->have_memory ? p->memory.pss : p->resident_size),
	    (double)(int64_t)p->virtual_size, (double)(int64_t)p->resident_size,
	    p->cpu_time, p->elapsed_time };
	cJSON *entry = cJSON_CreateObject();

	if (entry == NULL || !jsonw_add_figures(entry, names, values, sizeof(values) / sizeof(values[0]), 0) ||
	    cJSON_AddStringToObject(entry, "command", p->command ? p->command : "") == NULL ||
	    !add_memory(entry, p)) {
		cJSON_Delete(entry);
		return NULL;
	}
	return entry;
}

static cJSON *
process_status(void)
{
	const double root = tree_root;
	cJSON *section, *result = jsonw_status_section("process_monitor", &section);

	if (section == NULL || !jsonw_add_figures(section, "ppid", &root, 1, 0) ||
	    !jsonw_add_by_pid(cJSON_AddObjectToObject(section, "metrics"), tree_count,
		metrics_entry)) {
		cJSON_Delete(result);
		return NULL;
	}
	return result;
}

/* Life */

static int
process_start(mon_report_fn *report)
{
	pid_t root = root_pid();

	(void)report;		/* it watches; it takes no action */
	if (root != 0)
		pm_info("watching the tree under ppid=%ld%s", (long)root,
		    configured_ppid != 0 ? "" : " (the daemon's original parent)");
	/* A first capture gives status figures at once and the first tick a CPU baseline. */
	return capture_root(root);
}

static void
process_stop(void)
{
	capture_root(0);	/* capturing no tree frees the last one */
	free(scan);
	scan = NULL;
	scan_cap = 0;
}

const struct mon_ops mon_process = {
	.name = "process",
	.default_interval_ms = 60000,
	.configure = process_configure,
	.start = process_start,
	.tick = process_tick,
	.status = process_status,
	.stop = process_stop,
};
