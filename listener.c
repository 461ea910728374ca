#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listener.h"
#include "lib/log.h"

#define LISTEN_BACKLOG 4096

static int
fill_address(struct sockaddr_un *addr, const char *path, char *err, size_t err_len)
{
	size_t len = strlen(path);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (len == 0) {
		snprintf(err, err_len, "socket path is empty");
		return -1;
	}
	if (len >= sizeof(addr->sun_path)) {
		snprintf(err, err_len, "socket %s: path too long (%zu > %zu bytes)",
		    path, len, sizeof(addr->sun_path) - 1);
		return -1;
	}
	memcpy(addr->sun_path, path, len);
	return 0;
}

/* Returns 1 if something accepts connections at addr, 0 if not, -1 on error. */
static int
probe_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int result;

	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0)
		result = 1;
	else if (errno == EAGAIN)
		result = 1;		/* alive, with a full backlog */
	else if (errno == ECONNREFUSED)
		result = 0;
	else
		result = -1;
	close(fd);
	return result;
}

/* Makes way for bind: refuses a live daemon or a non-socket, removes a stale socket. */
static int
clear_path(const struct sockaddr_un *addr, const char *path, char *err, size_t err_len)
{
	struct stat st;
	int live;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, err_len, "socket %s: exists and is not a socket; not removing it", path);
		return -1;
	}
	live = probe_live(addr);
	if (live == 1) {
		snprintf(err, err_len, "socket %s: another daemon is already listening there", path);
		return -1;
	}
	if (live == -1) {
		snprintf(err, err_len, "socket %s: cannot tell whether it is in use: %s",
		    path, strerror(errno));
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(err, err_len, "socket %s: cannot remove stale socket: %s",
		    path, strerror(errno));
		return -1;
	}
	log_info("removed stale socket path=%s", path);
	return 0;
}

int
absolute_path(const char *path, char *out, size_t out_len)
{
	char cwd[PATH_MAX];
	int len;

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		len = snprintf(out, out_len, "%s/%s", cwd, path);
	else
		len = snprintf(out, out_len, "%s", path);
	if (len < 0 || (size_t)len >= out_len) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Holds PATH.lock for the daemon's life, so the stale check, bind and
 * listen of two daemons started at once cannot interleave. The lock file
 * is left in place at exit, as flock(2) locks are: removing it would let a
 * third daemon lock a new file while a second holds the old one.
 */
static int
take_lock(struct listener *l, const struct sockaddr_un *addr, const char *path, char *err, size_t err_len)
{
	char lock_path[PATH_MAX];
	struct stat st;
	int len = snprintf(lock_path, sizeof(lock_path), "%s.lock", path);

	if (len < 0 || (size_t)len >= sizeof(lock_path)) {
		snprintf(err, err_len, "socket %s: lock path too long", path);
		return -1;
	}
	l->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (l->lock_fd == -1) {
		snprintf(err, err_len, "socket %s: lock %s: %s", path, lock_path,
		    errno == ELOOP ? "is a symbolic link; not following it" : strerror(errno));
		return -1;
	}
	if (fstat(l->lock_fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "socket %s: lock %s: not a regular file", path, lock_path);
		return -1;
	}
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			snprintf(err, err_len, "socket %s: lock %s: %s", path, lock_path, strerror(errno));
		else if (probe_live(addr) == 1)
			snprintf(err, err_len, "socket %s: another daemon is already listening there", path);
		else
			snprintf(err, err_len, "socket %s: another daemon is starting there "
			    "(%s is locked)", path, lock_path);
		return -1;
	}
	return 0;
}

/* Binds "s" in the current directory with its final mode: the umask is never wider than asked. */
static int
bind_here(int fd, mode_t mode)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "s" };
	mode_t old_umask = umask(~mode & 0777);
	int result = bind(fd, (const struct sockaddr *)&addr, sizeof(addr));
	int saved_errno = errno;

	umask(old_umask);
	errno = saved_errno;
	return result;
}

/*
 * The socket is made, given its group and set listening inside a directory
 * only we can write, then linked into place: nobody can swap a symlink in
 * for a file we change, and what appears at path already listens. link(2)
 * never replaces what someone put there meanwhile.
 */
static int
bind_private(struct listener *l, const char *path, mode_t mode, gid_t gid,
    char *err, size_t err_len)
{
	char dir[PATH_MAX];
	struct stat dir_st, st;
	int dir_fd = -1, cwd_fd, result = -1;
	bool ours = false;
	int len = snprintf(dir, sizeof(dir), "%s.XXXXXX", path);

	if (len < 0 || (size_t)len >= sizeof(dir)) {
		snprintf(err, err_len, "socket %s: path too long", path);
		return -1;
	}
	/* Relative paths stay relative to where we started, whatever the working directory. */
	if ((cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, err_len, "socket %s: working directory: %s", path, strerror(errno));
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		snprintf(err, err_len, "socket %s: private directory: %s", path, strerror(errno));
		goto out;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd == -1 || fstat(dir_fd, &dir_st) == -1) {
		snprintf(err, err_len, "socket %s: private directory %s: %s", path, dir, strerror(errno));
		goto out;
	}
	/* Whatever we opened, only we can write there: a swapped directory fails here. */
	if (dir_st.st_uid != geteuid() || (dir_st.st_mode & 077) != 0) {
		snprintf(err, err_len, "socket %s: private directory %s was replaced", path, dir);
		goto out;
	}
	ours = true;
	if (fchdir(dir_fd) == -1) {
		snprintf(err, err_len, "socket %s: private directory %s: %s", path, dir, strerror(errno));
		goto out;
	}
	if (bind_here(l->fd, mode) == -1)
		snprintf(err, err_len, "socket %s: bind: %s", path, strerror(errno));
	else if (gid != (gid_t)-1 && fchownat(dir_fd, "s", (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) == -1)
		snprintf(err, err_len, "socket %s: chown to group %lu: %s", path,
		    (unsigned long)gid, strerror(errno));
	else if (listen(l->fd, LISTEN_BACKLOG) == -1)
		snprintf(err, err_len, "socket %s: listen: %s", path, strerror(errno));
	else if (fstatat(dir_fd, "s", &st, AT_SYMLINK_NOFOLLOW) == -1)
		snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
	else if (linkat(dir_fd, "s", cwd_fd, path, 0) == -1)
		snprintf(err, err_len, "socket %s: %s", path, errno == EEXIST ?
		    "something appeared there while starting; not replacing it" : strerror(errno));
	else {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		result = 0;
	}
	if (fchdir(cwd_fd) == -1)
		log_warn("socket %s: returning to the working directory", path);
out:
	if (ours) {
		(void)unlinkat(dir_fd, "s", 0);
		/* Remove the directory only if it is still the one we made. */
		if (fstatat(cwd_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == dir_st.st_dev && st.st_ino == dir_st.st_ino)
			(void)unlinkat(cwd_fd, dir, AT_REMOVEDIR);
	}
	if (dir_fd != -1)
		close(dir_fd);
	close(cwd_fd);
	return result;
}

int
listener_open(struct listener *l, const char *path, mode_t mode, gid_t gid,
    char *err, size_t err_len)
{
	struct sockaddr_un addr;

	l->fd = -1;
	l->lock_fd = -1;
	l->path[0] = '\0';
	if (fill_address(&addr, path, err, err_len) == -1 ||
	    take_lock(l, &addr, path, err, err_len) == -1 ||
	    clear_path(&addr, path, err, err_len) == -1)
		goto fail;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
		goto fail;
	}
	if (bind_private(l, path, mode, gid, err, err_len) == -1)
		goto fail;
	if (absolute_path(path, l->path, sizeof(l->path)) == -1)
		log_warnx("socket %s: path too long to remember; it will not be removed on exit", path);
	return 0;
fail:
	listener_close(l);
	return -1;
}

void
listener_close(struct listener *l)
{
	struct stat st;

	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->lock_fd != -1)
		close(l->lock_fd);	/* the lock goes with it; the file stays */
	l->lock_fd = -1;
	/* Another daemon may have replaced our file; remove only our own, never through a symlink. */
	if (l->path[0] != '\0' && lstat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	l->path[0] = '\0';
}
