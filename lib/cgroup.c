/*
 * Discovering the daemon's memory cgroup (v2, else v1) and the memory
 * left under its limits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cgroup.h"
#include "lib/fmt.h"
#include "lib/num.h"
#include "lib/procfs.h"

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
cgroup_parse_mount(const char *mountinfo, int version,
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
cgroup_parse_path(const char *text, int version, char *out, size_t out_len)
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
cgroup_parse_limit(const char *text, uint64_t *bytes)
{
	const char *end;
	uint64_t value;
	bool outside;

	if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n'))
		return 1;
	if (*text < '0' || *text > '9')
		return -1;
	value = num_parse(text, &end, 10, &outside);
	if (outside || (*end != '\0' && *end != '\n'))
		return -1;
	/* v1 says "no limit" with PAGE_COUNTER_MAX pages, 2^63 bytes less a page. */
	if (value >= (1ULL << 62))
		return 1;
	*bytes = value;
	return 0;
}

/* The daemon's cgroup in one hierarchy; the walk up stops at its mount point, a prefix of it. */
struct cgroup_dir {
	char	*dir;		/* NULL: none found */
	size_t	 mount_len;
};

/* Both strings live as long as the daemon: where its cgroups are does not change. */
static void
find_cgroup_dir(const char *mountinfo, const char *cgroups, int version, struct cgroup_dir *out)
{
	char root[PATH_MAX], path[PATH_MAX], mount_point[PATH_MAX], dir[PATH_MAX];
	size_t root_len;
	const char *relative;

	if (cgroup_parse_mount(mountinfo, version, root, sizeof(root),
	    mount_point, sizeof(mount_point)) == -1 ||
	    cgroup_parse_path(cgroups, version, path, sizeof(path)) == -1)
		return;
	/* The mount shows the hierarchy from root down; our path must lie under it. */
	root_len = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(path, root, root_len) != 0 || (path[root_len] != '/' && path[root_len] != '\0'))
		return;
	relative = path + root_len;
	if (strcmp(relative, "/") == 0)
		relative = "";
	if ((size_t)fmt_snprintf(dir, sizeof(dir), "%s%s", mount_point, relative) >= sizeof(dir))
		return;
	out->dir = strdup(dir);
	out->mount_len = strlen(mount_point);
}

static struct {
	bool			probed;
	struct cgroup_dir	by_version[2];	/* v1, v2 */
} cgroups;

/* Where the daemon's cgroups live does not change while it runs: look once. */
static void
probe_cgroups(void)
{
	char *mountinfo = NULL, *self = NULL;

	cgroups.probed = true;
	if (procfs_read("/proc/self/mountinfo", &mountinfo, NULL) == 0 &&
	    procfs_read("/proc/self/cgroup", &self, NULL) == 0) {
		for (int version = 1; version <= 2; version++)
			find_cgroup_dir(mountinfo, self, version, &cgroups.by_version[version - 1]);
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

	if ((size_t)fmt_snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    procfs_read(path, &text, NULL) == -1)
		return -1;
	result = cgroup_parse_limit(text, value);
	free(text);
	return result;
}

/* A parent's limit binds its children too: walk up to the hierarchy's root. */
int
cgroup_room(const char *cgroup_dir, size_t mount_len, int version, uint64_t *room)
{
	const char *limit_name = version == 2 ? "memory.max" : "memory.limit_in_bytes";
	const char *usage_name = version == 2 ? "memory.current" : "memory.usage_in_bytes";
	char dir[PATH_MAX];
	bool found = false;

	if ((size_t)fmt_snprintf(dir, sizeof(dir), "%s", cgroup_dir) >= sizeof(dir))
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
cgroup_available_memory(uint64_t *bytes, const char **source)
{
	uint64_t meminfo = 0, room = 0;
	bool have_meminfo = false;
	const char *found = NULL;
	char *text;

	if (!cgroups.probed)
		probe_cgroups();
	if (procfs_read("/proc/meminfo", &text, NULL) == 0) {
		have_meminfo = procfs_parse_meminfo_available(text, &meminfo) == 0;
		free(text);
	}
	for (int version = 2; found == NULL && version >= 1; version--) {
		const struct cgroup_dir *c = &cgroups.by_version[version - 1];

		if (c->dir != NULL && cgroup_room(c->dir, c->mount_len, version, &room) == 0)
			found = version == 2 ? "cgroup2" : "cgroup1";
	}
	if (found == NULL && !have_meminfo) {
		errno = ENOENT;
		return -1;
	}
	/* A cgroup allowed more than the machine has left is bound by the machine. */
	if (have_meminfo && (found == NULL || meminfo < room)) {
		room = meminfo;
		found = "meminfo";
	}
	*bytes = room;
	*source = found;
	return 0;
}
