/* The process monitor's pure parts, for t/unit.c. */
#ifndef MONITOR_PROCESS_H
#define MONITOR_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat;

/*
 * The tree watched when no ppid= is given: the daemon's parent as it was
 * before going to the background. Call before daemonizing.
 */
void	pm_set_default_parent(pid_t pid);

/* Scratch space for pm_tree: one per process scanned, sorted by key (its ppid). */
struct pm_link {
	pid_t	key;
	size_t	index;
};

/*
 * Finds every descendant of root among procs (not root itself) and writes
 * their indexes into out, parents before children. links and out hold
 * count entries each. Returns the number found.
 */
size_t	pm_tree(const struct proc_stat *procs, size_t count, pid_t root,
	    struct pm_link *links, size_t *out);
/* CPU use in percent of one CPU: ticks of CPU time over seconds of wall time. */
double	pm_cpu_percent(uint64_t cpu_ticks, long clock_ticks, double seconds);

#endif
