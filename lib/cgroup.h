/* The daemon's memory cgroup: where it is, and how much room its limits leave. */
#ifndef CGROUP_H
#define CGROUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Memory the daemon's processes may still use: the tightest cgroup v2
 * limit along the daemon's cgroup path minus its usage, else the same from
 * cgroup v1, else MemAvailable; never more than MemAvailable. *source says
 * which figure won: "cgroup2", "cgroup1" or "meminfo".
 */
int	cgroup_available_memory(uint64_t *bytes, const char **source);
/*
 * The least room (limit - usage) under any memory limit from cgroup_dir up
 * to its first mount_len bytes (the hierarchy's mount point), in a v1 or v2
 * hierarchy. Returns 0, or -1 if none is set.
 */
int	cgroup_room(const char *cgroup_dir, size_t mount_len, int version,
	    uint64_t *room);
/*
 * From /proc/self/mountinfo text, the root and mount point of the cgroup v2
 * hierarchy (version 2) or of the v1 hierarchy holding the memory controller.
 */
int	cgroup_parse_mount(const char *mountinfo, int version,
	    char *root, size_t root_len, char *mount_point, size_t mount_point_len);
/* From /proc/self/cgroup text, our path in the v2 or the v1 memory hierarchy. */
int	cgroup_parse_path(const char *text, int version, char *out, size_t out_len);
/* A cgroup limit file: 1 for "max" or a v1 "unlimited" figure, 0 with *bytes, -1 if garbage. */
int	cgroup_parse_limit(const char *text, uint64_t *bytes);

#endif
