#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int
procfs_parse_stat(const char *text, struct proc_stat *out)
{
	const char *open_paren = strchr(text, '(');
	const char *close_paren = strrchr(text, ')');
	unsigned long long utime, stime, start, vsize;
	long long rss;
	int pid, ppid, pgid;
	long threads;
	size_t comm_len;

	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren ||
	    sscanf(text, "%d", &pid) != 1)
		return -1;
	comm_len = (size_t)(close_paren - open_paren - 1);
	if (comm_len >= sizeof(out->comm))
		comm_len = sizeof(out->comm) - 1;
	memcpy(out->comm, open_paren + 1, comm_len);
	out->comm[comm_len] = '\0';
	/* Fields after the command name, which may hold spaces and parentheses (proc(5)). */
	if (sscanf(close_paren + 1,
	    " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d %llu %llu %lld",
	    &out->state, &ppid, &pgid, &utime, &stime, &threads, &start, &vsize, &rss) != 9)
		return -1;
	out->pid = pid;
	out->ppid = ppid;
	out->pgid = pgid;
	out->utime_ticks = utime;
	out->stime_ticks = stime;
	out->num_threads = threads;
	out->start_ticks = start;
	out->vsize = vsize;
	out->rss_pages = rss > 0 ? (uint64_t)rss : 0;
	return 0;
}

static int
is_mapping_header(const char *line)
{
	/* "7f00d0a00000-7f00d0a21000 rw-p ..." */
	while (isxdigit((unsigned char)*line))
		line++;
	return *line == '-';
}

int
procfs_parse_smaps(const char *text, struct proc_memory *out)
{
	static const struct {
		const char	*key;
		size_t		 offset;
	} fields[] = {
		{ "Rss:", offsetof(struct proc_memory, rss) },
		{ "Pss:", offsetof(struct proc_memory, pss) },
		{ "Shared_Clean:", offsetof(struct proc_memory, shared_clean) },
		{ "Shared_Dirty:", offsetof(struct proc_memory, shared_dirty) },
		{ "Private_Clean:", offsetof(struct proc_memory, private_clean) },
		{ "Private_Dirty:", offsetof(struct proc_memory, private_dirty) },
		{ "Swap:", offsetof(struct proc_memory, swap) },
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
					*field += strtoull(line + key_len, NULL, 10) * 1024;
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
	unsigned long long size, resident, shared;

	memset(out, 0, sizeof(*out));
	if (sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3)
		return -1;
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
	char path[64], *text;
	int result;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	if (procfs_read(path, &text, NULL) == -1)
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
	static const char *const sources[] = { "smaps_rollup", "smaps", "statm" };
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
	char path[64], *text;
	int result;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (procfs_read(path, &text, NULL) == -1)
		return -1;
	result = procfs_parse_stat(text, out);
	free(text);
	if (result == -1)
		errno = EINVAL;
	return result;
}

int
procfs_command(pid_t pid, char *out, size_t out_len)
{
	char path[64], *text;
	size_t len;
	struct proc_stat st;

	if (out_len == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if (procfs_read(path, &text, &len) == 0 && len > 0) {
		/* Arguments are NUL-separated, and the last ends with a NUL. */
		while (len > 0 && text[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			if (text[i] == '\0')
				text[i] = ' ';
		text[len] = '\0';
		snprintf(out, out_len, "%s", text);
		free(text);
		return 0;
	}
	if (procfs_stat(pid, &st) == -1)
		return -1;
	snprintf(out, out_len, "[%s]", st.comm);
	return 0;
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
		char *end;
		long pid = strtol(entry->d_name, &end, 10);

		if (!isdigit((unsigned char)entry->d_name[0]) || *end != '\0' || pid <= 0)
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
	const char *line = strstr(text, "MemAvailable:");
	unsigned long long kib;

	/* strstr could match mid-line only in a corrupt file; insist on a line start. */
	if (line == NULL || (line != text && line[-1] != '\n') ||
	    sscanf(line, "MemAvailable: %llu kB", &kib) != 1)
		return -1;
	*bytes = (uint64_t)kib * 1024;
	return 0;
}

/* Undoes mountinfo's octal escapes (" " is written "\040"), in place. */
static void
unescape_octal(char *text)
{
	char *out = text;

	for (const char *in = text; *in != '\0'; out++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' &&
		    in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
			*out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			*out = *in++;
		}
	}
	*out = '\0';
}

/* True if the comma-separated list holds item. */
static bool
list_has(const char *list, const char *item)
{
	size_t item_len = strlen(item);

	for (const char *p = list; p != NULL; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, item, item_len) == 0 && (p[item_len] == ',' || p[item_len] == '\0'))
			return true;
	}
	return false;
}

#define MOUNTINFO_FIELDS 32

/* Checks one mountinfo line (proc(5)); line is split in place. */
static bool
cgroup_mount_line(char *line, int version, char **root, char **mount_point)
{
	char *fields[MOUNTINFO_FIELDS], *saveptr = NULL;
	int count = 0, dash = -1;

	for (char *field = strtok_r(line, " ", &saveptr); field != NULL && count < MOUNTINFO_FIELDS;
	    field = strtok_r(NULL, " ", &saveptr)) {
		if (dash == -1 && count >= 6 && strcmp(field, "-") == 0)
			dash = count;
		fields[count++] = field;
	}
	if (dash == -1 || dash + 3 >= count)
		return false;
	if (version == 2 ? strcmp(fields[dash + 1], "cgroup2") != 0 :
	    strcmp(fields[dash + 1], "cgroup") != 0 || !list_has(fields[dash + 3], "memory"))
		return false;
	*root = fields[3];
	*mount_point = fields[4];
	return true;
}

/* Copies the next line of *cursor into buf and advances; false at the end. Too long: "". */
static bool
next_line(const char **cursor, char *buf, size_t buf_len)
{
	const char *next = strchr(*cursor, '\n');
	size_t len = next ? (size_t)(next - *cursor) : strlen(*cursor);

	if (**cursor == '\0')
		return false;
	if (len >= buf_len)
		len = 0;
	memcpy(buf, *cursor, len);
	buf[len] = '\0';
	*cursor = next ? next + 1 : *cursor + strlen(*cursor);
	return true;
}

int
procfs_parse_cgroup_mount(const char *mountinfo, int version,
    char *root, size_t root_len, char *mount_point, size_t mount_point_len)
{
	char line[PATH_MAX * 2 + 256], *found_root, *found_mount;

	for (const char *cursor = mountinfo; next_line(&cursor, line, sizeof(line));) {
		if (!cgroup_mount_line(line, version, &found_root, &found_mount))
			continue;
		unescape_octal(found_root);
		unescape_octal(found_mount);
		if (strlen(found_root) >= root_len || strlen(found_mount) >= mount_point_len)
			return -1;
		strcpy(root, found_root);
		strcpy(mount_point, found_mount);
		return 0;
	}
	return -1;
}

int
procfs_parse_cgroup_path(const char *text, int version, char *out, size_t out_len)
{
	char line[PATH_MAX + 256];

	/* Lines are "hierarchy-id:controller-list:path"; v2's is "0::path". */
	for (const char *cursor = text; next_line(&cursor, line, sizeof(line));) {
		char *controllers = strchr(line, ':');
		char *path = controllers ? strchr(controllers + 1, ':') : NULL;

		if (path == NULL)
			continue;
		*controllers++ = '\0';
		*path++ = '\0';
		if (version == 2 ? strcmp(line, "0") != 0 || *controllers != '\0' :
		    !list_has(controllers, "memory"))
			continue;
		if (*path == '\0' || strlen(path) >= out_len)
			return -1;
		strcpy(out, path);
		return 0;
	}
	return -1;
}

int
procfs_parse_cgroup_limit(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long value;

	if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n'))
		return 1;
	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n'))
		return -1;
	/* v1 says "no limit" with PAGE_COUNTER_MAX pages, 2^63 bytes less a page. */
	if (value >= (1ULL << 62))
		return 1;
	*bytes = value;
	return 0;
}

struct cgroup_dir {
	bool	 found;
	char	 dir[PATH_MAX];		/* the daemon's cgroup */
	char	 mount_point[PATH_MAX];	/* the walk up stops here */
};

static int
find_cgroup_dir(const char *mountinfo, const char *cgroups, int version, struct cgroup_dir *out)
{
	char root[PATH_MAX], path[PATH_MAX];
	size_t root_len;
	const char *relative;

	if (procfs_parse_cgroup_mount(mountinfo, version, root, sizeof(root),
	    out->mount_point, sizeof(out->mount_point)) == -1 ||
	    procfs_parse_cgroup_path(cgroups, version, path, sizeof(path)) == -1)
		return -1;
	/* The mount shows the hierarchy from root down; our path must lie under it. */
	root_len = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(path, root, root_len) != 0 || (path[root_len] != '/' && path[root_len] != '\0'))
		return -1;
	relative = path + root_len;
	if (strcmp(relative, "/") == 0)
		relative = "";
	if ((size_t)snprintf(out->dir, sizeof(out->dir), "%s%s", out->mount_point, relative) >=
	    sizeof(out->dir))
		return -1;
	out->found = true;
	return 0;
}

static struct {
	bool			probed;
	struct cgroup_dir	v2, v1;
} cgroups;

/* Where the daemon's cgroups live does not change while it runs: look once. */
static void
probe_cgroups(void)
{
	char *mountinfo = NULL, *self = NULL;

	cgroups.probed = true;
	if (procfs_read("/proc/self/mountinfo", &mountinfo, NULL) == 0 &&
	    procfs_read("/proc/self/cgroup", &self, NULL) == 0) {
		find_cgroup_dir(mountinfo, self, 2, &cgroups.v2);
		find_cgroup_dir(mountinfo, self, 1, &cgroups.v1);
	}
	free(mountinfo);
	free(self);
}

/* Returns 0 with a number, 1 for "no limit", -1 when the file is missing or garbage. */
static int
read_cgroup_value(const char *dir, const char *name, uint64_t *value)
{
	char path[PATH_MAX + 64], *text;
	int result;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    procfs_read(path, &text, NULL) == -1)
		return -1;
	result = procfs_parse_cgroup_limit(text, value);
	free(text);
	return result;
}

/* A parent's limit binds its children too: walk up to the hierarchy's root. */
int
procfs_cgroup_room(const char *cgroup_dir, const char *mount_point, int version, uint64_t *room)
{
	const char *limit_name = version == 2 ? "memory.max" : "memory.limit_in_bytes";
	const char *usage_name = version == 2 ? "memory.current" : "memory.usage_in_bytes";
	char dir[PATH_MAX];
	size_t mount_len = strlen(mount_point);
	bool found = false;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", cgroup_dir) >= sizeof(dir))
		return -1;
	for (;;) {
		uint64_t limit, usage;
		char *slash;

		if (read_cgroup_value(dir, limit_name, &limit) == 0 &&
		    read_cgroup_value(dir, usage_name, &usage) == 0) {
			uint64_t left = limit > usage ? limit - usage : 0;
			if (!found || left < *room)
				*room = left;
			found = true;
		}
		slash = strrchr(dir, '/');
		if (strlen(dir) <= mount_len || slash == NULL || slash < dir + mount_len)
			break;
		*slash = '\0';
	}
	return found ? 0 : -1;
}

int
procfs_available_memory(uint64_t *bytes, const char **source)
{
	uint64_t meminfo = 0, room;
	bool have_meminfo = false;
	char *text;

	if (!cgroups.probed)
		probe_cgroups();
	if (procfs_read("/proc/meminfo", &text, NULL) == 0) {
		have_meminfo = procfs_parse_meminfo_available(text, &meminfo) == 0;
		free(text);
	}
	if (cgroups.v2.found &&
	    procfs_cgroup_room(cgroups.v2.dir, cgroups.v2.mount_point, 2, &room) == 0)
		*source = "cgroup2";
	else if (cgroups.v1.found &&
	    procfs_cgroup_room(cgroups.v1.dir, cgroups.v1.mount_point, 1, &room) == 0)
		*source = "cgroup1";
	else if (have_meminfo) {
		*bytes = meminfo;
		*source = "meminfo";
		return 0;
	} else {
		errno = ENOENT;
		return -1;
	}
	/* A cgroup allowed more than the machine has left is bound by the machine. */
	if (have_meminfo && meminfo < room) {
		room = meminfo;
		*source = "meminfo";
	}
	*bytes = room;
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

long
procfs_clock_ticks(void)
{
	static long ticks;

	if (ticks <= 0)
		ticks = sysconf(_SC_CLK_TCK);
	return ticks > 0 ? ticks : 100;
}

long
procfs_page_size(void)
{
	static long page_size;

	if (page_size <= 0)
		page_size = sysconf(_SC_PAGESIZE);
	return page_size > 0 ? page_size : 4096;
}
