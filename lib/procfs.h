/* Reading processes from /proc: memory figures, stat, command line. */
#ifndef PROCFS_H
#define PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_memory {
	uint64_t	 rss;			/* bytes */
	uint64_t	 pss;
	uint64_t	 shared_clean;
	uint64_t	 shared_dirty;
	uint64_t	 private_clean;
	uint64_t	 private_dirty;
	uint64_t	 swap;
	uint64_t	 swap_pss;
	uint64_t	 referenced;
	uint64_t	 anonymous;
	uint64_t	 map_count;		/* 0 when the source does not say */
	const char	*source;		/* "smaps_rollup", "smaps" or "statm" */
};

struct proc_stat {
	pid_t		 pid, ppid, pgid;
	char		 state;			/* R, S, D, Z, ... */
	char		 comm[64];
	uint64_t	 utime_ticks, stime_ticks;
	uint64_t	 minor_faults, major_faults;
	uint64_t	 start_ticks;		/* since boot */
	uint64_t	 vsize;			/* bytes */
	uint64_t	 rss_pages;
	long		 num_threads;
};

/* Reads a whole /proc file; *text is NUL-terminated and owned by the caller. */
int	procfs_read(const char *path, char **text, size_t *len);
/* smaps_rollup, else smaps, else statm. Returns 0, or -1 with errno set. */
int	procfs_memory(pid_t pid, struct proc_memory *out);
int	procfs_stat(pid_t pid, struct proc_stat *out);
/* The number of mappings, as lines of /proc/PID/maps. Returns it, or -1. */
ssize_t	procfs_map_count(pid_t pid);
/*
 * The argument vector joined with spaces and cut at max bytes, a string to
 * free; NULL when it is empty (a kernel thread) or unreadable.
 */
char	*procfs_command(pid_t pid, size_t max);
/*
 * Every process's stat, for walking the process tree. *out is an array
 * owned by the caller and reused between calls (*cap its capacity).
 * Processes that vanish during the scan are skipped. Returns the count, or -1.
 */
ssize_t	procfs_scan(struct proc_stat **out, size_t *cap);
/* Seconds since boot, from /proc/uptime. */
double	procfs_uptime(void);
long	procfs_clock_ticks(void);
long	procfs_page_size(void);

/* Pure parsers, for the above and for unit tests. */
int	procfs_parse_stat(const char *text, struct proc_stat *out);
/* Sums the kB fields of smaps or smaps_rollup text; counts mappings. */
int	procfs_parse_smaps(const char *text, struct proc_memory *out);
int	procfs_parse_statm(const char *text, long page_size, struct proc_memory *out);
/* MemAvailable from /proc/meminfo text, in bytes. */
int	procfs_parse_meminfo_available(const char *text, uint64_t *bytes);
/*
 * Skips blanks (isspace, newlines too) from *cursor, then a word of at most
 * max bytes; *cursor moves past the word. Returns its start; *len is 0 at
 * the end of the text. sscanf's "%Ns", without vfscanf.
 */
const char	*procfs_word(const char **cursor, size_t max, size_t *len);
/*
 * count decimal numbers from *cursor, each after optional blanks, as
 * strtoull reads them (sscanf's "%llu"); *cursor moves past them.
 * Returns 0, or -1 where one is missing.
 */
int	procfs_numbers(const char **cursor, uint64_t *out, size_t count);

#endif
