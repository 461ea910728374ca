/*
 * Process identity: whether a pid still names the process it named, and
 * whether a process lies beneath another. What stands between a peer and
 * a signal sent to the wrong process: pids are reused, and /proc may hide
 * a live process (hidepid) or number it in another pid namespace.
 */
#ifndef PROCID_H
#define PROCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat;

/* A process named so that a reused pid is never taken for it. */
struct procid {
	pid_t		pid;
	uint64_t	start_ticks;	/* since boot, from /proc/PID/stat */
};

enum procid_status {
	PROCID_ALIVE,		/* the same process, not yet exited */
	PROCID_EXITED,		/* gone, or a zombie */
	PROCID_REUSED,		/* the pid names a process that started later */
	PROCID_HIDDEN,		/* alive, but /proc does not show it to us (hidepid) */
	PROCID_UNREADABLE,	/* /proc refused for another reason: errno says why */
};

/* Who pid names now; *out is set when the answer is PROCID_ALIVE. */
enum procid_status	procid_read(pid_t pid, struct procid *out);
/*
 * Whether id->pid still names the process id was read from; *now, when not
 * NULL, gets who holds the pid when it is ALIVE or REUSED.
 */
enum procid_status	procid_check(const struct procid *id, struct procid *now);
/*
 * Whether pid names the process that held it at boot_ms (CLOCK_BOOTTIME,
 * ms), as SO_PEERCRED's pid at accept: one that started later is REUSED.
 */
enum procid_status	procid_check_since(pid_t pid, int64_t boot_ms);
/* pid is ancestor, or a descendant of it (parent links in /proc). */
bool			procid_is_beneath(pid_t pid, pid_t ancestor);
/*
 * 1 when pid lives in another pid namespace than the caller's (compared
 * by /proc/PID/ns/pid's device and inode), 0 in the same, -1 when it
 * cannot be told (errno set).
 */
int			procid_other_pid_namespace(pid_t pid);
/*
 * The hidepid= option of the /proc mount ("hidepid=invisible", ...) into
 * out, or "" when /proc is not mounted with one.
 */
void			procid_hidepid_option(char *out, size_t out_len);

/* Pure parts, for the above and for unit tests. */

/*
 * Judges one read of /proc/PID/stat: result and err as procfs_stat left
 * them, alive whether kill(pid, 0) found a process; expected_start 0 when
 * any start time will do.
 */
enum procid_status	procid_judge(int result, int err, const struct proc_stat *st,
			    bool alive, uint64_t expected_start);
/* A process with this start time started after boot_ms (ms since boot). */
bool			procid_started_after(uint64_t start_ticks, long clock_ticks,
			    int64_t boot_ms);
/* From /proc/self/mountinfo text, the hidepid= option of the mount on /proc. */
int			procid_parse_hidepid(const char *mountinfo, char *out, size_t out_len);

#endif
