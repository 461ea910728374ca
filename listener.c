#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listener.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/uuid.h"

#define LISTEN_BACKLOG 4096

/* Files are looked at with fstatat and removed with unlinkat throughout: one libc entry each. */

/* Where listener_open writes its one-line message. */
static char *error;
static size_t error_len;

/*
 * Every failure reads "socket PATH: WHAT", followed by ": " and errno's
 * text when cause is true. Returns -1.
 */
static int __attribute__((format(printf, 3, 4)))
fail(bool cause, const char *path, const char *fmt, ...)
{
	const char *why = cause ? strerror(errno) : "";
	char what[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fmt_snprintf(error, error_len, "socket %s: %s%s%s", path, what, cause ? ": " : "", why);
	return -1;
}

static const char already_listening[] = "another daemon is already listening there";

static int
fill_address(struct sockaddr_un *addr, const char *path)
{
	size_t len = strlen(path);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (len == 0) {
		fmt_snprintf(error, error_len, "socket path is empty");
		return -1;
	}
	if (len >= sizeof(addr->sun_path))
		return fail(false, path, "path too long (%zu > %zu bytes)",
		    len, sizeof(addr->sun_path) - 1);
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
clear_path(const struct sockaddr_un *addr, const char *path)
{
	struct stat st;
	int live;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : fail(false, path, "%s", strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return fail(false, path, "exists and is not a socket; not removing it");
	live = probe_live(addr);
	if (live == 1)
		return fail(false, path, "%s", already_listening);
	if (live == -1)
		return fail(true, path, "cannot tell whether it is in use");
	if (unlinkat(AT_FDCWD, path, 0) == -1)
		return fail(true, path, "cannot remove stale socket");
	log_info("removed stale socket path=%s", path);
	return 0;
}

int
absolute_path(const char *path, char *out, size_t out_len)
{
	char cwd[PATH_MAX];
	int len;

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		len = fmt_snprintf(out, out_len, "%s/%s", cwd, path);
	else
		len = fmt_snprintf(out, out_len, "%s", path);
	if (len < 0 || (size_t)len >= out_len) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* What mkdtemp and mkostemp do, on the random source the daemon has already: less code in a static binary. */
int
create_beside(const char *path, char *out, size_t out_len, bool dir)
{
	char random[UUID_STRING_LEN + 1];
	int result = -1;

	for (int tries = 0; tries < 100; tries++) {
		if (uuid_generate(random) == -1)
			return -1;
		/* Its first characters are random hex digits. */
		if (fmt_snprintf(out, out_len, "%s.%.6s", path, random) >= (int)out_len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		result = dir ? mkdir(out, 0700) :
		    open(out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (result != -1 || errno != EEXIST)
			break;
	}
	return result;
}

/*
 * Holds PATH.lock for the daemon's life, so the stale check, bind and
 * listen of two daemons started at once cannot interleave. The lock file
 * is left in place at exit, as flock(2) locks are: removing it would let a
 * third daemon lock a new file while a second holds the old one.
 */
static int
take_lock(struct listener *l, const struct sockaddr_un *addr, const char *path)
{
	char lock_path[PATH_MAX];
	struct stat st;
	int len = fmt_snprintf(lock_path, sizeof(lock_path), "%s.lock", path);

	if (len < 0 || (size_t)len >= sizeof(lock_path))
		return fail(false, path, "lock path too long");
	l->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (l->lock_fd == -1)
		return fail(false, path, "lock %s: %s", lock_path,
		    errno == ELOOP ? "is a symbolic link; not following it" : strerror(errno));
	if (fstatat(l->lock_fd, "", &st, AT_EMPTY_PATH) == -1 || !S_ISREG(st.st_mode))
		return fail(false, path, "lock %s: not a regular file", lock_path);
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			return fail(true, path, "lock %s", lock_path);
		if (probe_live(addr) == 1)
			return fail(false, path, "%s", already_listening);
		return fail(false, path, "another daemon is starting there (%s is locked)",
		    lock_path);
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
bind_private(struct listener *l, const char *path, mode_t mode, gid_t gid)
{
	char dir[PATH_MAX];
	struct stat dir_st, st;
	int dir_fd = -1, cwd_fd, result = -1;
	bool ours = false;

	/* Relative paths stay relative to where we started, whatever the working directory. */
	if ((cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return fail(true, path, "working directory");
	if (create_beside(path, dir, sizeof(dir), true) == -1) {
		fail(true, path, "private directory");
		goto out;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd == -1 || fstatat(dir_fd, "", &dir_st, AT_EMPTY_PATH) == -1) {
		fail(true, path, "private directory %s", dir);
		goto out;
	}
	/* Whatever we opened, only we can write there: a swapped directory fails here. */
	if (dir_st.st_uid != geteuid() || (dir_st.st_mode & 077) != 0) {
		fail(false, path, "private directory %s was replaced", dir);
		goto out;
	}
	ours = true;
	if (fchdir(dir_fd) == -1) {
		fail(true, path, "private directory %s", dir);
		goto out;
	}
	if (bind_here(l->fd, mode) == -1)
		fail(true, path, "bind");
	else if (gid != (gid_t)-1 && fchownat(dir_fd, "s", (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) == -1)
		fail(true, path, "chown to group %lu", (unsigned long)gid);
	else if (listen(l->fd, LISTEN_BACKLOG) == -1)
		fail(true, path, "listen");
	else if (fstatat(dir_fd, "s", &st, AT_SYMLINK_NOFOLLOW) == -1)
		fail(false, path, "%s", strerror(errno));
	else if (linkat(dir_fd, "s", cwd_fd, path, 0) == -1)
		fail(false, path, "%s", errno == EEXIST ?
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

	error = err;
	error_len = err_len;
	l->fd = -1;
	l->lock_fd = -1;
	l->path[0] = '\0';
	if (fill_address(&addr, path) == -1 ||
	    take_lock(l, &addr, path) == -1 ||
	    clear_path(&addr, path) == -1)
		goto fail;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		fail(false, path, "%s", strerror(errno));
		goto fail;
	}
	if (bind_private(l, path, mode, gid) == -1)
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
	if (l->path[0] != '\0' && fstatat(AT_FDCWD, l->path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlinkat(AT_FDCWD, l->path, 0);
	l->path[0] = '\0';
}
