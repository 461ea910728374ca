#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

static int
bind_with_mode(int fd, const struct sockaddr_un *addr, mode_t mode)
{
	/* The umask applies to the socket file bind creates: it is never wider than asked, even briefly. */
	mode_t old_umask = umask(~mode & 0777);
	int result = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	int saved_errno = errno;

	umask(old_umask);
	errno = saved_errno;
	return result;
}

int
listener_open(struct listener *l, const char *path, mode_t mode, gid_t gid,
    char *err, size_t err_len)
{
	struct sockaddr_un addr;
	struct stat st;

	l->fd = -1;
	l->path[0] = '\0';
	if (fill_address(&addr, path, err, err_len) == -1 ||
	    clear_path(&addr, path, err, err_len) == -1)
		return -1;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (bind_with_mode(l->fd, &addr, mode) == -1) {
		snprintf(err, err_len, "socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	if (absolute_path(path, l->path, sizeof(l->path)) == -1)
		log_warnx("socket %s: path too long to remember; it will not be removed on exit", path);
	if (stat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	if (chmod(path, mode) == -1) {
		snprintf(err, err_len, "socket %s: chmod %o: %s", path, (unsigned)mode, strerror(errno));
		goto fail;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		snprintf(err, err_len, "socket %s: chown to group %lu: %s", path,
		    (unsigned long)gid, strerror(errno));
		goto fail;
	}
	if (listen(l->fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, err_len, "socket %s: listen: %s", path, strerror(errno));
		goto fail;
	}
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
	/* Another daemon may have replaced our file; remove only our own. */
	if (l->path[0] != '\0' && stat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	l->path[0] = '\0';
}
