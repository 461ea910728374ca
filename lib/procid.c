#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fmt.h"
#include "lib/procfs.h"
#include "lib/procid.h"

/* Parent links are walked at most this far: trees are shallow, and /proc is read non-atomically. */
#define MAX_DEPTH	4096

/* kill(pid, 0) finds a process even where /proc hides it: EPERM still means it exists. */
static bool
exists(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

enum procid_status
procid_judge(int result, int err, const struct proc_stat *st, bool alive,
    uint64_t expected_start)
{
	if (result == 0) {
		if (st->state == 'Z' || st->state == 'X')
			return PROCID_EXITED;
		if (expected_start != 0 && st->start_ticks != expected_start)
			return PROCID_REUSED;
		return PROCID_ALIVE;
	}
	/* hidepid=invisible answers ENOENT, hidepid=noaccess EACCES or EPERM (proc(5)). */
	if (err == ENOENT || err == ESRCH || err == EACCES || err == EPERM)
		return alive ? PROCID_HIDDEN : PROCID_EXITED;
	return PROCID_UNREADABLE;
}

bool
procid_started_after(uint64_t start_ticks, long clock_ticks, int64_t boot_ms)
{
	return clock_ticks > 0 && (int64_t)(start_ticks * 1000 / (uint64_t)clock_ticks) > boot_ms;
}

static enum procid_status
read_and_judge(pid_t pid, uint64_t expected_start, struct proc_stat *st)
{
	int result = procfs_stat(pid, st), err = errno;
	enum procid_status status;

	status = procid_judge(result, err, st, result == -1 && exists(pid), expected_start);
	errno = err;
	return status;
}

enum procid_status
procid_read(pid_t pid, struct procid *out)
{
	struct proc_stat st;
	enum procid_status status = read_and_judge(pid, 0, &st);

	if (status == PROCID_ALIVE) {
		out->pid = pid;
		out->start_ticks = st.start_ticks;
	}
	return status;
}

enum procid_status
procid_check(const struct procid *id, struct procid *now)
{
	struct proc_stat st;
	enum procid_status status = read_and_judge(id->pid, id->start_ticks, &st);

	if (now != NULL && (status == PROCID_ALIVE || status == PROCID_REUSED)) {
		now->pid = id->pid;
		now->start_ticks = st.start_ticks;
	}
	return status;
}

enum procid_status
procid_check_since(pid_t pid, int64_t boot_ms)
{
	struct proc_stat st;
	enum procid_status status = read_and_judge(pid, 0, &st);

	if (status == PROCID_ALIVE &&
	    procid_started_after(st.start_ticks, procfs_clock_ticks(), boot_ms))
		return PROCID_REUSED;
	return status;
}

bool
procid_is_beneath(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		struct proc_stat st;

		if (pid == ancestor)
			return true;
		if (pid <= 1 || procfs_stat(pid, &st) == -1)
			return false;
		pid = st.ppid;
	}
	return false;
}

int
procid_other_pid_namespace(pid_t pid)
{
	char path[64];
	struct stat theirs, ours;

	fmt_snprintf(path, sizeof(path), "/proc/%ld/ns/pid", (long)pid);
	if (stat(path, &theirs) == -1 || stat("/proc/self/ns/pid", &ours) == -1)
		return -1;
	return theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino;
}

/* Copies the hidepid= item of a comma-separated option list; false if none. */
static bool
find_hidepid(const char *options, size_t options_len, char *out, size_t out_len)
{
	const char *end = options + options_len;

	for (const char *item = options; item < end;) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		size_t len = (size_t)((comma != NULL ? comma : end) - item);

		if (len > 8 && strncmp(item, "hidepid=", 8) == 0) {
			fmt_snprintf(out, out_len, "%.*s", (int)len, item);
			return true;
		}
		item += len + 1;
	}
	return false;
}

/* Whether the next word from *cursor is word, as sscanf's "%15s" would read it. */
static bool
next_word_is(const char **cursor, const char *word)
{
	size_t len;
	const char *found = procfs_word(cursor, 15, &len);

	return len == strlen(word) && memcmp(found, word, len) == 0;
}

int
procid_parse_hidepid(const char *mountinfo, char *out, size_t out_len)
{
	int found = -1;

	if (out_len > 0)
		out[0] = '\0';
	/* "36 25 0:5 / /proc rw,nosuid shared:12 - proc proc rw,hidepid=invisible" */
	for (const char *line = mountinfo; line != NULL && *line != '\0';) {
		const char *next = strchr(line, '\n');
		size_t len = next != NULL ? (size_t)(next - line) : strlen(line), word_len;
		const char *dash = NULL, *cursor = line;

		for (const char *p = line; p + 3 <= line + len; p++) {
			if (memcmp(p, " - ", 3) == 0) {
				dash = p;
				break;
			}
		}
		/* Words may run on past the line's end, as sscanf's would. */
		for (int i = 0; dash != NULL && i < 4; i++)
			procfs_word(&cursor, SIZE_MAX, &word_len);
		/* The last mount on /proc is the one in sight. */
		if (dash != NULL && next_word_is(&cursor, "/proc") &&
		    (cursor = dash + 2, next_word_is(&cursor, "proc")) &&
		    (procfs_word(&cursor, SIZE_MAX, &word_len), word_len > 0)) {
			procfs_word(&cursor, 0, &word_len);	/* the blanks before the options */
			if (cursor <= line + len) {
				if (out_len > 0)
					out[0] = '\0';
				find_hidepid(cursor, (size_t)(line + len - cursor), out, out_len);
				found = 0;
			}
		}
		line = next != NULL ? next + 1 : NULL;
	}
	return found;
}

void
procid_hidepid_option(char *out, size_t out_len)
{
	char *mountinfo;

	if (out_len > 0)
		out[0] = '\0';
	if (procfs_read("/proc/self/mountinfo", &mountinfo, NULL) == 0) {
		procid_parse_hidepid(mountinfo, out, out_len);
		free(mountinfo);
	}
}
