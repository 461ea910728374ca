/* The listening AF_UNIX socket: one daemon per path, stale-socket handling, permissions, removal. */
#ifndef LISTENER_H
#define LISTENER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

struct listener {
	int	fd;
	int	lock_fd;	/* PATH.lock, flock'ed for the daemon's life */
	char	path[PATH_MAX];	/* absolute, so removal works after chdir("/") */
	dev_t	dev;		/* to remove the socket file only if it is still ours */
	ino_t	ino;
};

/* gid (gid_t)-1 keeps the default group. On error writes a one-line message. */
int	listener_open(struct listener *l, const char *path, mode_t mode, gid_t gid,
	    char *err, size_t err_len);
void	listener_close(struct listener *l);
/*
 * Creates a new PATH.XXXXXX beside path, its name in out: a directory (mode
 * 0700) when dir, else a file (0600) opened read-write and close-on-exec,
 * whose descriptor it returns. Returns -1 with errno set.
 */
int	create_beside(const char *path, char *out, size_t out_len, bool dir);
/* Writes path made absolute against the current directory; -1 if it does not fit. */
int	absolute_path(const char *path, char *out, size_t out_len);

#endif
