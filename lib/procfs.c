#include <stdbool.h>
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "lib/fmt.h"
#include "lib/num.h"
#include "lib/procfs.h"

#define PROC_READ_MAX (64 * 1024 * 1024)	/* smaps of a huge process, and no more */

int
procfs_read(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, used = 0;
	char *buf;

	if (fd == -1)
		return -1;
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;
		if (used + 1 == cap) {
			char *grown = cap < PROC_READ_MAX ? realloc(buf, cap * 2) : NULL;
			if (grown == NULL) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int saved_errno = errno;
			free(buf);
			close(fd);
			errno = saved_errno;
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	*text = buf;
	if (len != NULL)
		*len = used;
	return 0;
}

/* isspace() in the C locale, without the locale's table. */
static bool
is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

const char *
procfs_word(const char **cursor, size_t max, size_t *len)
{
	const char *word = *cursor, *end;

	while (is_blank(*word))
		word++;
	for (end = word; *end != '\0' && !is_blank(*end) && (size_t)(end - word) < max;)
		end++;
	*cursor = end;
	*len = (size_t)(end - word);
	return word;
}

int
procfs_numbers(const char **cursor, uint64_t *out, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const char *end;

		out[i] = num_parse(*cursor, &end, 10, NULL);
		if (end == *cursor)
			return -1;
		*cursor = end;
	}
	return 0;
}

/* The fields of proc(5)'s /proc/PID/stat after the state, from ppid (4) to rss (24). */
enum { STAT_PPID, STAT_PGRP, STAT_MINFLT = 6, STAT_MAJFLT = 8, STAT_UTIME = 10, STAT_STIME,
	STAT_NUM_THREADS = 16, STAT_STARTTIME = 18, STAT_VSIZE, STAT_RSS };

/* Reads /proc/PID/name whole, as procfs_read. */
static int
read_pid_file(pid_t pid, const char *name, char **text, size_t *len)
{
	char path[64];

	fmt_snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	return procfs_read(path, text, len);
}

int
procfs_parse_stat(const char *text, struct proc_stat *out)
{
	const char *open_paren = strchr(text, '(');
	const char *close_paren = strrchr(text, ')');
	const char *cursor = text;
	uint64_t pid, field[STAT_RSS], rss;
	size_t comm_len, state_len;
	bool rss_negative;

	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren ||
	    procfs_numbers(&cursor, &pid, 1) == -1)
		return -1;
	comm_len = (size_t)(close_paren - open_paren - 1);
	if (comm_len >= sizeof(out->comm))
		comm_len = sizeof(out->comm) - 1;
	memcpy(out->comm, open_paren + 1, comm_len);
	out->comm[comm_len] = '\0';
	/* Fields after the command name, which may hold spaces and parentheses (proc(5)). */
	cursor = close_paren + 1;
	out->state = *procfs_word(&cursor, 1, &state_len);
	if (state_len == 0 || procfs_numbers(&cursor, field, STAT_RSS) == -1)
		return -1;
	/* Signed: below 0 it is none, past INT64_MAX it stays there, as with sscanf's "%lld". */
	while (is_blank(*cursor))
		cursor++;
	rss_negative = *cursor == '-';
	if (procfs_numbers(&cursor, &rss, 1) == -1)
		return -1;
	/* Signed fields come back as their two's complement, as strtoull's: the casts undo it. */
	out->pid = (pid_t)pid;
	out->ppid = (pid_t)field[STAT_PPID];
	out->pgid = (pid_t)field[STAT_PGRP];
	out->utime_ticks = field[STAT_UTIME];
	out->stime_ticks = field[STAT_STIME];
	out->minor_faults = field[STAT_MINFLT];
	out->major_faults = field[STAT_MAJFLT];
	out->num_threads = (long)field[STAT_NUM_THREADS];
	out->start_ticks = field[STAT_STARTTIME];
	out->vsize = field[STAT_VSIZE];
	out->rss_pages = rss_negative ? 0 : rss > INT64_MAX ? INT64_MAX : rss;
	return 0;
}

static int
is_mapping_header(const char *line)
{
	/* "7f00d0a00000-7f00d0a21000 rw-p ..." */
	while ((*line >= '0' && *line <= '9') || ((*line | 0x20) >= 'a' && (*line | 0x20) <= 'f'))
		line++;
	return *line == '-';
}

int
procfs_parse_smaps(const char *text, struct proc_memory *out)
{
	static const struct {
		char		 key[15];
		uint8_t		 offset;
	} fields[] = {
		{ "Rss:", offsetof(struct proc_memory, rss) },
		{ "Pss:", offsetof(struct proc_memory, pss) },
		{ "Shared_Clean:", offsetof(struct proc_memory, shared_clean) },
		{ "Shared_Dirty:", offsetof(struct proc_memory, shared_dirty) },
		{ "Private_Clean:", offsetof(struct proc_memory, private_clean) },
		{ "Private_Dirty:", offsetof(struct proc_memory, private_dirty) },
		{ "Swap:", offsetof(struct proc_memory, swap) },
		{ "SwapPss:", offsetof(struct proc_memory, swap_pss) },
		{ "Referenced:", offsetof(struct proc_memory, referenced) },
		{ "Anonymous:", offsetof(struct proc_memory, anonymous) },
	};
	int seen = 0;

	memset(out, 0, sizeof(*out));
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *next = strchr(line, '\n');

		if (is_mapping_header(line)) {
			out->map_count++;
		} else {
			for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
				size_t key_len = strlen(fields[i].key);
				if (strncmp(line, fields[i].key, key_len) == 0) {
					uint64_t *field = (uint64_t *)((char *)out + fields[i].offset);
					*field += num_parse(line + key_len, NULL, 10, NULL) * 1024;
					seen = 1;
					break;
				}
			}
		}
		line = next ? next + 1 : NULL;
	}
	return seen ? 0 : -1;
}

int
procfs_parse_statm(const char *text, long page_size, struct proc_memory *out)
{
	uint64_t pages[3], resident, shared;	/* size, resident, shared */

	memset(out, 0, sizeof(*out));
	if (procfs_numbers(&text, pages, 3) == -1)
		return -1;
	resident = pages[1];
	shared = pages[2];
	out->rss = resident * (uint64_t)page_size;
	/* statm cannot split clean from dirty: count all shared pages as shared-clean. */
	out->shared_clean = shared * (uint64_t)page_size;
	out->private_dirty = resident > shared ? (resident - shared) * (uint64_t)page_size : 0;
	out->source = "statm";
	return 0;
}

static int
read_memory_file(pid_t pid, const char *name, struct proc_memory *out)
{
	char *text;
	int result;

	if (read_pid_file(pid, name, &text, NULL) == -1)
		return -1;
	if (strcmp(name, "statm") == 0)
		result = procfs_parse_statm(text, procfs_page_size(), out);
	else
		result = procfs_parse_smaps(text, out);
	free(text);
	if (result == -1) {
		/* Kernel threads and zombies have empty smaps. */
		errno = ENODATA;
		return -1;
	}
	out->source = name;
	return 0;
}

int
procfs_memory(pid_t pid, struct proc_memory *out)
{
	static const char sources[][13] = { "smaps_rollup", "smaps", "statm" };
	int saved_errno = ENOENT;

	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (read_memory_file(pid, sources[i], out) == 0)
			return 0;
		if (errno == ESRCH)
			return -1;
		saved_errno = errno;
		if (errno == ENOENT && kill(pid, 0) == -1 && errno == ESRCH)
			return -1;	/* the process itself is gone */
		errno = saved_errno;
	}
	errno = saved_errno;
	return -1;
}

int
procfs_stat(pid_t pid, struct proc_stat *out)
{
	char *text;
	int result;

	if (read_pid_file(pid, "stat", &text, NULL) == -1)
		return -1;
	result = procfs_parse_stat(text, out);
	free(text);
	if (result == -1)
		errno = EINVAL;
	return result;
}

ssize_t
procfs_map_count(pid_t pid)
{
	char *text;
	size_t len;
	ssize_t count = 0;

	if (read_pid_file(pid, "maps", &text, &len) == -1)
		return -1;
	for (size_t i = 0; i < len; i++)
		count += text[i] == '\n';
	free(text);
	return count;
}

char *
procfs_command(pid_t pid, size_t max)
{
	char *text;
	size_t len;

	if (read_pid_file(pid, "cmdline", &text, &len) == -1)
		return NULL;
	if (len == 0) {
		free(text);
		return NULL;
	}
	/* Arguments are NUL-separated, and the last ends with a NUL. */
	while (len > 0 && text[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	text[len < max ? len : max] = '\0';
	return text;
}

ssize_t
procfs_scan(struct proc_stat **out, size_t *cap)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;
	size_t count = 0;

	if (dir == NULL)
		return -1;
	while ((entry = readdir(dir)) != NULL) {
		const char *end;
		uint64_t pid = num_parse(entry->d_name, &end, 10, NULL);

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' || *end != '\0' || pid == 0)
			continue;
		if (count == *cap) {
			size_t new_cap = *cap ? *cap * 2 : 256;
			struct proc_stat *grown = realloc(*out, new_cap * sizeof(**out));
			if (grown == NULL) {
				closedir(dir);
				errno = ENOMEM;
				return -1;
			}
			*out = grown;
			*cap = new_cap;
		}
		/* Gone since readdir saw it, or unreadable: not part of the tree. */
		if (procfs_stat((pid_t)pid, &(*out)[count]) == 0)
			count++;
	}
	closedir(dir);
	return (ssize_t)count;
}

/* Available memory */

int
procfs_parse_meminfo_available(const char *text, uint64_t *bytes)
{
	const char *line = text;
	uint64_t kib;

	/* The first mention; it could be mid-line only in a corrupt file: insist on a line start. */
	while ((line = strchr(line, 'M')) != NULL && strncmp(line, "MemAvailable:", 13) != 0)
		line++;
	if (line == NULL || (line != text && line[-1] != '\n'))
		return -1;
	line += 13;
	if (procfs_numbers(&line, &kib, 1) == -1)
		return -1;
	*bytes = kib * 1024;
	return 0;
}

double
procfs_uptime(void)
{
	char *text;
	double uptime = 0;

	if (procfs_read("/proc/uptime", &text, NULL) == 0) {
		uptime = strtod(text, NULL);
		free(text);
	}
	return uptime;
}

/* From the auxiliary vector, as sysconf() reads them: without sysconf's table in a static binary. */
long
procfs_clock_ticks(void)
{
	long ticks = (long)getauxval(AT_CLKTCK);

	return ticks > 0 ? ticks : 100;
}

long
procfs_page_size(void)
{
	long page_size = (long)getauxval(AT_PAGESZ);

	return page_size > 0 ? page_size : 4096;
}
