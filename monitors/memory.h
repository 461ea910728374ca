/*
 * The memory monitor's decisions, as pure functions: monitor_memory.c does
 * the sampling and signalling around them, and t/unit.c tests them.
 */
#ifndef MONITOR_MEMORY_H
#define MONITOR_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_memory;

/* What the reference's leak monitor keeps about one process. */
struct mem_figures {
	uint64_t	sample_count;
	uint64_t	current_size;		/* resident */
	uint64_t	current_shared_size;	/* shared clean */
	uint64_t	current_private_size;	/* private clean + dirty */
	uint64_t	largest_size;		/* largest resident seen, as the reference counts it */
	uint64_t	increase_count;
};

enum mem_reason {
	MEM_REASON_NONE,
	MEM_REASON_MAXIMUM_SIZE,	/* resident over maximum-size-limit */
	MEM_REASON_INCREASE,		/* grew past threshold-size increase-limit times */
	MEM_REASON_TOTAL_SIZE,		/* the group is over total-size-limit */
	MEM_REASON_FREE_SIZE,		/* free memory is under free-size-minimum */
};

/* A process that may be signalled to bring the group's excess down. */
struct mem_candidate {
	pid_t		pid;
	uint64_t	private_size;
	bool		pending;	/* signalled lately: counted as already going away */
	bool		chosen;		/* set by mem_choose */
};

/*
 * Records a sample: the first sets the largest size; a sample more than
 * threshold above the largest counts one increase and becomes the largest.
 */
void		mem_figures_sample(struct mem_figures *f, const struct proc_memory *m,
		    uint64_t threshold);
/* Limits of 0 are unset. */
enum mem_reason	mem_leak_reason(const struct mem_figures *f, uint64_t maximum_size_limit,
		    uint64_t increase_limit);
/*
 * Sorts candidates largest private size first and marks, in that order,
 * those to signal until the excess (bytes over the total limit, or short of
 * the free minimum) is gone. Pending ones are counted first and never
 * chosen. Returns the number chosen.
 */
size_t		mem_choose(struct mem_candidate *candidates, size_t count, uint64_t excess);
/* Ticks to leave a process alone after its nth signal in a row: 2, 4, ... 64. */
uint64_t	mem_quiet_ticks(unsigned signal_count);
const char	*mem_reason_name(enum mem_reason reason);

#endif
