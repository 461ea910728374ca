#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/clock.h"
#include "client/jsonline.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/params.h"
#include "lib/procfs.h"
#include "lib/signame.h"
#include "client/worker_ops.h"
#include "lib/num.h"

#define MAX_SAMPLINGS		32	/* memory_sample calls in progress at once */
#define MAX_SAMPLES		10000	/* per memory_sample call */
#define MAX_THREADS_LISTED	4096	/* keeps a thread_dump reply under the daemon's limits */
#define DEFAULT_DURATION	10	/* seconds, as the reference worker */
#define DEFAULT_INTERVAL	1

/*
 * A size or tick count as a JSON number. They stay far below 2^63, and a
 * signed conversion is one instruction where an unsigned one takes a dozen.
 */
#define FIGURE(v)	((double)(int64_t)(v))

struct wop_call {
	const cJSON		*id;
	const cJSON		*msg;
	const struct wops_child	*child;
};

struct sampling {
	cJSON		*id;		/* owned copy of the caller's id, or NULL */
	pid_t		 pid;
	int64_t		 started_ms, interval_ms, next_ms;
	unsigned	 taken, wanted;
	uint64_t	 first, last, minimum, maximum;
	struct sampling	*next;
};

static wops_send_fn send_message;
static const struct wops_control *control;
static struct sampling *samplings;
static int dump_dir_fd = -1;
static char dump_dir_path[PATH_MAX];	/* absolute, for replies and absolute paths */

void
wops_init(wops_send_fn send, const struct wops_control *ctl)
{
	send_message = send;
	control = ctl;
}

int
wops_set_dump_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char link[32];
	ssize_t len;

	if (fd == -1)
		return -1;
	/*
	 * Its absolute path as the kernel resolved it (realpath(3) is big in
	 * a static build). Without /proc no dump can be read anyway, and the
	 * path stays as given.
	 */
	fmt_snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, dump_dir_path, sizeof(dump_dir_path) - 1);
	if (len > 0 && dump_dir_path[0] == '/')
		dump_dir_path[len] = '\0';
	else
		fmt_snprintf(dump_dir_path, sizeof(dump_dir_path), "%s", path);
	wops_close_dump_dir();
	dump_dir_fd = fd;
	return 0;
}

void
wops_close_dump_dir(void)
{
	if (dump_dir_fd != -1)
		close(dump_dir_fd);
	dump_dir_fd = -1;
}

/* Replies */

static void
send_and_free(cJSON *msg)
{
	if (msg != NULL)
		send_message(msg);
	cJSON_Delete(msg);
}

void
wops_fail(const cJSON *id, const char *fmt, ...)
{
	char error[PATH_MAX + 256];	/* room for a dump path */
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	log_debug("worker call failed error=%s", error);
	send_and_free(jl_failure(id, error));
}

/* Sends reply, or a failure when building it ran out of memory. */
static void
finish(const cJSON *id, cJSON *reply, bool built)
{
	if (reply == NULL || !built) {
		cJSON_Delete(reply);
		wops_fail(id, "Out of memory");
		return;
	}
	send_and_free(reply);
}

/* One call and a list of keys instead of a call per member. */
bool
wops_add(cJSON *object, const char *members, ...)
{
	char key[32];
	bool added = true;
	va_list ap;

	va_start(ap, members);
	while (*members != '\0' && added) {
		size_t len = (size_t)(strchr(members, ':') - members);
		const char *text;
		const cJSON *value;
		cJSON *item;
		double number;

		memcpy(key, members, len);
		key[len] = '\0';
		switch (members[len + 1]) {
		case 'n':
			number = va_arg(ap, double);
			item = isnan(number) ? cJSON_CreateNull() : cJSON_CreateNumber(number);
			break;
		case 's':
			text = va_arg(ap, const char *);
			item = text != NULL ? cJSON_CreateString(text) : cJSON_CreateNull();
			break;
		case 'j':
			value = va_arg(ap, const cJSON *);
			item = value != NULL ? cJSON_Duplicate(value, true) : cJSON_CreateNull();
			break;
		default:	/* 't' */
			item = cJSON_CreateTrue();
		}
		/*
		 * Not cJSON_ReplaceItemViaPointer: it leaves the new item without a
		 * name, so a member set before (by --state) was lost under "".
		 */
		added = item != NULL && (cJSON_GetObjectItemCaseSensitive(object, key) != NULL ?
		    cJSON_ReplaceItemInObjectCaseSensitive(object, key, item) :
		    cJSON_AddItemToObject(object, key, item));
		if (!added)
			cJSON_Delete(item);
		members += len + 2 + (members[len + 2] == ' ');
	}
	va_end(ap);
	return added;
}

/* The child */

/* Reads the child's stat; returns 0, or -1 after failing the call. */
static int
child_stat(const struct wop_call *call, struct proc_stat *st)
{
	pid_t pid = call->child->pid;

	if (pid <= 0) {
		wops_fail(call->id, "No process is running: %s",
		    call->child->absence ? call->child->absence : "not started");
		return -1;
	}
	/* A child that has just exited may still be a zombie we have not reaped. */
	if (procfs_stat(pid, st) == -1 || st->state == 'Z' || st->state == 'X') {
		wops_fail(call->id, "Process %ld has exited", (long)pid);
		return -1;
	}
	return 0;
}

static int
child_memory(const struct wop_call *call, struct proc_memory *memory)
{
	if (procfs_memory(call->child->pid, memory) == -1) {
		if (errno == ENOENT || errno == ESRCH || errno == ENODATA)
			wops_fail(call->id, "Process %ld has exited", (long)call->child->pid);
		else
			wops_fail(call->id, "Cannot read the memory of process %ld: %s",
			    (long)call->child->pid, strerror(errno));
		return -1;
	}
	return 0;
}

/* info */

static void
op_info(const struct wop_call *call)
{
	struct proc_stat st;
	double ticks = (double)procfs_clock_ticks();
	cJSON *reply;
	char state[2];

	if (child_stat(call, &st) == -1)
		return;
	state[0] = st.state;
	state[1] = '\0';
	reply = jl_message(call->id, true);
	finish(call->id, reply, reply != NULL && wops_add(reply, "process_id:n name:s command:s state:s"
	    " threads:n uptime:n processor_time:n virtual_size:n resident_size:n restarts:n"
	    " status:s wrapper_process_id:n", (double)st.pid, call->child->name,
	    call->child->command, state, (double)st.num_threads,
	    (double)num_round(num_clamp(procfs_uptime() - FIGURE(st.start_ticks) / ticks,
	    0, 1e12) * 100) / 100, FIGURE(st.utime_ticks + st.stime_ticks) / ticks,
	    FIGURE(st.vsize), FIGURE(st.rss_pages) * (double)procfs_page_size(),
	    (double)call->child->restarts, call->child->status, (double)getpid()));
}

/* memory_dump */

/*
 * Dump paths (SPEC 7): whoever reaches the socket names the path, so it
 * resolves beneath the dump directory with no symlink in any component,
 * and the file is always a new one.
 */

#ifndef SYS_openat2
#define SYS_openat2 437		/* the same number on every architecture */
#endif
#define DUMP_RESOLVE_NO_MAGICLINKS	0x02
#define DUMP_RESOLVE_NO_SYMLINKS	0x04
#define DUMP_RESOLVE_BENEATH		0x08

struct dump_open_how {		/* struct open_how of openat2(2) */
	uint64_t	flags, mode, resolve;
};

/* Opens dir (relative to base) with openat2; -1 with errno, ENOSYS when the kernel lacks it. */
static int
open_dir_openat2(int base, const char *dir)
{
	struct dump_open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = DUMP_RESOLVE_NO_SYMLINKS | DUMP_RESOLVE_NO_MAGICLINKS | DUMP_RESOLVE_BENEATH,
	};
	long fd;

	if (getenv("SUPERVISORD_NO_OPENAT2") != NULL) {	/* the fallback, testable */
		errno = ENOSYS;
		return -1;
	}
	fd = syscall(SYS_openat2, base, dir, &how, sizeof(how));
	return fd < 0 ? -1 : (int)fd;
}

/* The same by hand: one component at a time, none a symlink, none "..". Cuts dir up. */
static int
open_dir_walk(int base, char *dir)
{
	/* A descriptor of our own on base (openat, not fcntl: that is big in a static build). */
	int fd = openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *next;

	for (; fd != -1 && dir != NULL; dir = next) {
		int sub;

		if ((next = strchr(dir, '/')) != NULL)
			*next++ = '\0';
		if (dir[0] == '\0' || strcmp(dir, ".") == 0)
			continue;
		if (strcmp(dir, "..") == 0) {
			close(fd);
			errno = EXDEV;
			return -1;
		}
		sub = openat(fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	return fd;
}

/* The dump directory's length as a prefix of the paths beneath it: 0 for "/". */
static int
dump_root_len(void)
{
	return strcmp(dump_dir_path, "/") == 0 ? 0 : (int)strlen(dump_dir_path);
}

/*
 * Creates path beneath the dump directory: returns the new file's fd and
 * sets *dir_fd to its directory (for removing a partial dump), or -1 after
 * failing the call.
 */
static int
create_dump_file(const cJSON *id, const char *path, int *dir_fd)
{
	const char *relative = path;
	char dir[PATH_MAX + 2] = "./", *file;	/* "./" so that a slash always ends the directory */
	int root_len = dump_root_len(), fd;

	/* An absolute path is taken when it names a place beneath the dump directory. */
	if (path[0] == '/') {
		if (strncmp(path, dump_dir_path, (size_t)root_len) != 0 || path[root_len] != '/')
			goto outside;
		relative = path + root_len + 1;
	}
	if (strlen(relative) >= PATH_MAX) {
		wops_fail(id, "Refused %s: path too long", path);
		return -1;
	}
	strcpy(dir + 2, relative);
	file = strrchr(dir, '/');
	*file++ = '\0';
	if (*file == '\0') {
		wops_fail(id, "Refused %s: not a file name", path);
		return -1;
	}
	if ((*dir_fd = open_dir_openat2(dump_dir_fd, dir)) == -1 &&
	    (errno == ENOSYS || errno == EPERM || errno == E2BIG))
		*dir_fd = open_dir_walk(dump_dir_fd, dir);
	if (*dir_fd == -1) {
		if (errno == EXDEV)
			goto outside;
		if (errno == ELOOP || errno == ENOTDIR)
			wops_fail(id, "Refused %s: a component of the path is a symlink or not a"
			    " directory", path);
		else
			wops_fail(id, "Cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	/* O_EXCL|O_NOFOLLOW: never an existing file, never through a final symlink. */
	fd = openat(*dir_fd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			wops_fail(id, "File exists: %s (memory_dump never overwrites)", path);
		else
			wops_fail(id, "Cannot write %s: %s", path, strerror(errno));
		close(*dir_fd);
	}
	return fd;
outside:
	wops_fail(id, "Refused %s: dump paths must lie beneath %s (--dump-dir)", path, dump_dir_path);
	return -1;
}

/* Writes data whole, or removes the partial file: 0, or -1 after failing the call. */
static int
write_dump(const cJSON *id, const char *path, const char *data, size_t len)
{
	const char *slash = strrchr(path, '/');
	int dir_fd, fd = create_dump_file(id, path, &dir_fd), saved_errno;

	if (fd == -1)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 && errno != EINVAL)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	close(dir_fd);
	return 0;
fail:
	saved_errno = errno;
	if (fd != -1)
		close(fd);
	/* A partial dump would pass for a whole one: remove it and say so. */
	(void)unlinkat(dir_fd, slash ? slash + 1 : path, 0);
	close(dir_fd);
	wops_fail(id, "Cannot write %s: %s%s; the partial dump was removed", path,
	    strerror(saved_errno), saved_errno == ENOSPC ? " (the disk is full)" : "");
	return -1;
}

/* Copies /proc/PID/smaps to path; returns its size, or -1 after failing the call. */
static long
dump_smaps(const struct wop_call *call, const char *path)
{
	char source[64], *text;
	size_t len;

	fmt_snprintf(source, sizeof(source), "/proc/%ld/smaps", (long)call->child->pid);
	if (procfs_read(source, &text, &len) == -1) {
		wops_fail(call->id, "Cannot read %s: %s", source, strerror(errno));
		return -1;
	}
	if (write_dump(call->id, path, text, len) == -1)
		len = (size_t)-1;
	free(text);
	return (long)len;
}

/* The absolute path written, for the reply. */
static void
dump_reply_path(const char *path, char *out, size_t out_len)
{
	if (path[0] == '/')
		fmt_snprintf(out, out_len, "%s", path);
	else
		fmt_snprintf(out, out_len, "%.*s/%s", dump_root_len(), dump_dir_path, path);
}

static void
op_memory_dump(const struct wop_call *call)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(call->msg, "path");
	char written_path[2 * PATH_MAX];
	struct proc_stat st;
	struct proc_memory memory;
	long map_count, written = -1;
	cJSON *reply;
	bool built;

	if (child_stat(call, &st) == -1 || child_memory(call, &memory) == -1)
		return;
	map_count = procfs_map_count(st.pid);
	if (map_count < 0)
		map_count = (long)memory.map_count;
	if (path != NULL && (written = dump_smaps(call, path->valuestring)) == -1)
		return;
	reply = jl_message(call->id, true);
	built = reply != NULL && wops_add(reply, "process_id:n source:s map_count:n rss:n pss:n"
	    " shared_clean:n shared_dirty:n private_clean:n private_dirty:n swap:n",
	    (double)st.pid, memory.source, (double)map_count, FIGURE(memory.rss),
	    FIGURE(memory.pss), FIGURE(memory.shared_clean), FIGURE(memory.shared_dirty),
	    FIGURE(memory.private_clean), FIGURE(memory.private_dirty), FIGURE(memory.swap));
	if (built && path != NULL) {
		dump_reply_path(path->valuestring, written_path, sizeof(written_path));
		built = wops_add(reply, "path:s size:n", written_path, (double)written);
	}
	finish(call->id, reply, built);
}

/* thread_dump */

static cJSON *
thread_entry(pid_t pid, const char *tid_text)
{
	char path[64 + NAME_MAX], *wchan = NULL, state[2];
	struct proc_stat st;
	cJSON *entry;
	char *text;
	int parsed, dir_len = fmt_snprintf(path, sizeof(path) - 8, "/proc/%ld/task/%s/", (long)pid,
	    tid_text);

	strcpy(path + dir_len, "stat");
	if (procfs_read(path, &text, NULL) == -1)
		return NULL;	/* the thread ended while we listed them */
	parsed = procfs_parse_stat(text, &st);
	free(text);
	if (parsed == -1 || (entry = cJSON_CreateObject()) == NULL)
		return NULL;
	strcpy(path + dir_len, "wchan");
	if (procfs_read(path, &wchan, NULL) == -1)
		wchan = NULL;
	state[0] = st.state;
	state[1] = '\0';
	/* "0" (or nothing) when the thread is not waiting in the kernel. */
	wops_add(entry, "tid:n name:s state:s wchan:s", (double)st.pid, st.comm, state,
	    wchan != NULL && wchan[0] != '\0' && strcmp(wchan, "0") != 0 ? wchan : NULL);
	free(wchan);
	return entry;
}

/* Lists the threads into list; returns how many there were, or -1 with errno set. */
static long
list_threads(pid_t pid, cJSON *list)
{
	char path[64];
	struct dirent *de;
	long count = 0;
	DIR *dir;

	fmt_snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		cJSON *entry;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (count++ >= MAX_THREADS_LISTED)
			continue;
		if ((entry = thread_entry(pid, de->d_name)) != NULL)
			cJSON_AddItemToArray(list, entry);
	}
	closedir(dir);
	return count;
}

static void
op_thread_dump(const struct wop_call *call)
{
	struct proc_stat st;
	cJSON *reply, *list;
	long count;

	if (child_stat(call, &st) == -1)
		return;
	reply = jl_message(call->id, true);
	if (reply == NULL || !wops_add(reply, "process_id:n", (double)st.pid) ||
	    (list = cJSON_AddArrayToObject(reply, "threads")) == NULL) {
		finish(call->id, reply, false);
		return;
	}
	if ((count = list_threads(st.pid, list)) == -1) {
		int saved_errno = errno;
		cJSON_Delete(reply);
		wops_fail(call->id, "Cannot list the threads of process %ld: %s", (long)st.pid,
		    strerror(saved_errno));
		return;
	}
	finish(call->id, reply, wops_add(reply, "thread_count:n", (double)count) &&
	    (count <= MAX_THREADS_LISTED || wops_add(reply, "truncated:t")));
}

/* memory_sample */

static void
sampling_free(struct sampling *s)
{
	struct sampling **link = &samplings;

	while (*link != s)
		link = &(*link)->next;
	*link = s->next;
	cJSON_Delete(s->id);
	free(s);
}

static void
sampling_finish(struct sampling *s, int64_t now_ms)
{
	cJSON *reply = jl_message(s->id, true);
	bool built = reply != NULL && wops_add(reply, "process_id:n samples:n duration:n"
	    " interval:n minimum_size:n maximum_size:n first_size:n last_size:n growth:n",
	    (double)s->pid, (double)s->taken, (double)(now_ms - s->started_ms) / 1000,
	    (double)s->interval_ms / 1000, FIGURE(s->minimum), FIGURE(s->maximum),
	    FIGURE(s->first), FIGURE(s->last), FIGURE(s->last) - FIGURE(s->first));

	finish(s->id, reply, built);
	sampling_free(s);
}

static void
sample_reply(const struct sampling *s, const struct proc_memory *m, int64_t now_ms)
{
	cJSON *reply = jl_message(s->id, false);
	bool built = reply != NULL && wops_add(reply,
	    "sample:n elapsed:n resident_size:n private_size:n shared_size:n", (double)s->taken,
	    (double)(now_ms - s->started_ms) / 1000, FIGURE(m->rss),
	    FIGURE(m->private_clean + m->private_dirty), FIGURE(m->shared_clean + m->shared_dirty));

	if (built)
		send_and_free(reply);
	else
		cJSON_Delete(reply);	/* one sample lost; the summary still comes */
}

/* Takes one sample; the sampling is freed when it finishes or fails. */
static void
take_sample(struct sampling *s, int64_t now_ms)
{
	struct proc_memory memory;

	if (procfs_memory(s->pid, &memory) == -1) {
		wops_fail(s->id, "Process %ld has exited", (long)s->pid);
		sampling_free(s);
		return;
	}
	if (s->taken++ == 0)
		s->first = s->minimum = s->maximum = memory.rss;
	s->last = memory.rss;
	if (memory.rss < s->minimum)
		s->minimum = memory.rss;
	if (memory.rss > s->maximum)
		s->maximum = memory.rss;
	sample_reply(s, &memory, now_ms);
	if (s->taken >= s->wanted) {
		sampling_finish(s, now_ms);
		return;
	}
	/* Multiples of the interval from the start, so samples do not drift. */
	s->next_ms = s->started_ms + (int64_t)s->taken * s->interval_ms;
}

/*
 * Reads a number of seconds below 1e7, positive or (zero_ok) 0 or more;
 * returns 0, or -1 after failing the call.
 */
static int
seconds_param(const struct wop_call *call, const char *name, double fallback, bool zero_ok,
    double *out)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(call->msg, name);

	*out = value != NULL ? value->valuedouble : fallback;
	if (!((*out > 0 || (zero_ok && *out == 0)) && *out < 1e7)) {
		wops_fail(call->id, "Parameter '%s' must be a %snumber of seconds%s", name,
		    zero_ok ? "" : "positive ", zero_ok ? ", 0 or more" : "");
		return -1;
	}
	return 0;
}

static size_t
sampling_count(void)
{
	size_t count = 0;

	for (const struct sampling *s = samplings; s != NULL; s = s->next)
		count++;
	return count;
}

static void
op_memory_sample(const struct wop_call *call)
{
	struct proc_stat st;
	struct sampling *s;
	double duration, interval, wanted;

	if (seconds_param(call, "duration", DEFAULT_DURATION, false, &duration) == -1 ||
	    seconds_param(call, "interval", DEFAULT_INTERVAL, false, &interval) == -1)
		return;
	/* A sample at the start and one per interval up to the duration. */
	wanted = num_clamp(duration / interval + 1e-9, 0, MAX_SAMPLES + 1);
	wanted = (double)(int64_t)wanted + 1;
	if (wanted > MAX_SAMPLES) {
		wops_fail(call->id, "Too many samples: %.0f (duration / interval may be at most %d)",
		    wanted, MAX_SAMPLES - 1);
		return;
	}
	if (sampling_count() >= MAX_SAMPLINGS) {
		wops_fail(call->id, "Too many memory samples in progress (at most %d)", MAX_SAMPLINGS);
		return;
	}
	if (child_stat(call, &st) == -1)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (call->id != NULL && (s->id = cJSON_Duplicate(call->id, true)) == NULL)) {
		free(s);
		wops_fail(call->id, "Out of memory");
		return;
	}
	s->pid = st.pid;
	s->wanted = (unsigned)wanted;
	s->interval_ms = num_round(interval * 1000);
	if (s->interval_ms < 1)
		s->interval_ms = 1;
	s->started_ms = mono_now_ms();
	s->next = samplings;
	samplings = s;
	take_sample(s, s->started_ms);
}

int64_t
wops_next_deadline(void)
{
	int64_t nearest = -1;

	for (const struct sampling *s = samplings; s != NULL; s = s->next) {
		if (nearest == -1 || s->next_ms < nearest)
			nearest = s->next_ms;
	}
	return nearest;
}

void
wops_run_due(int64_t now_ms)
{
	struct sampling *s, *next;

	for (s = samplings; s != NULL; s = next) {
		next = s->next;
		if (s->next_ms <= now_ms)
			take_sample(s, now_ms);
	}
}

void
wops_child_exited(pid_t pid, const char *how)
{
	struct sampling *s, *next;

	for (s = samplings; s != NULL; s = next) {
		next = s->next;
		if (s->pid != pid)
			continue;
		wops_fail(s->id, "Process %ld %s", (long)pid, how);
		sampling_free(s);
	}
}

void
wops_forget_all(void)
{
	while (samplings != NULL)
		sampling_free(samplings);
}

/* signal */

static void
op_signal(const struct wop_call *call)
{
	const cJSON *param = cJSON_GetObjectItemCaseSensitive(call->msg, "signal");
	char text[64];
	struct proc_stat st;
	const char *name;
	cJSON *reply;
	int signo = signame_from_json(param, text, sizeof(text));

	if (signo == -1) {
		wops_fail(call->id, "Unknown signal '%s'", text);
		return;
	}
	if (child_stat(call, &st) == -1)
		return;
	if (kill(st.pid, signo) == -1) {
		wops_fail(call->id, "Cannot signal process %ld: %s", (long)st.pid, strerror(errno));
		return;
	}
	name = signame_name(signo);
	log_info("worker: signalled the child on request pid=%ld signal=%s", (long)st.pid,
	    name != NULL ? name : text);
	reply = jl_message(call->id, true);
	finish(call->id, reply, reply != NULL && (name != NULL ?
	    wops_add(reply, "process_id:n signal:s", (double)st.pid, name) :
	    wops_add(reply, "process_id:n signal:n", (double)st.pid, (double)signo)));
}

/* stop and start: the wrapper's to serve */

static void
op_stop(const struct wop_call *call)
{
	double seconds;

	if (seconds_param(call, "timeout", 10, true, &seconds) == 0)
		control->stop(call->id, num_round(seconds * 1000));
}

/* Dispatch */

/* The handlers by position in a switch: a table of pointers costs a relocation each in a PIE. */
enum { OP_INFO, OP_MEMORY_DUMP, OP_THREAD_DUMP, OP_MEMORY_SAMPLE, OP_SIGNAL, OP_STOP, OP_START };

static const struct op_spec operations[] = {
	[OP_INFO] = { "info" },
	[OP_MEMORY_DUMP] = { "memory_dump path:s?" },
	[OP_THREAD_DUMP] = { "thread_dump" },
	[OP_MEMORY_SAMPLE] = { "memory_sample duration:n? interval:n?" },
	[OP_SIGNAL] = { "signal signal:g" },
	[OP_STOP] = { "stop timeout:n?" },
	[OP_START] = { "start" },
};

void
wops_serve(const cJSON *request, const struct wops_child *child)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(request, "do");
	struct wop_call call = {
		.id = cJSON_GetObjectItemCaseSensitive(request, "id"),
		.msg = request,
		.child = child,
	};
	const struct op_spec *entry;
	char error[256];

	if (!cJSON_IsString(op)) {
		wops_fail(call.id, "Bad request: 'do' must be a string");
		return;
	}
	entry = params_dispatch(operations, sizeof(operations) / sizeof(operations[0]),
	    sizeof(operations[0]), op->valuestring, request, error, sizeof(error));
	if (entry == NULL) {
		wops_fail(call.id, "%s", error);
		return;
	}
	log_debug("worker: serving op=%s", op->valuestring);
	switch (entry - operations) {
	case OP_INFO: op_info(&call); break;
	case OP_MEMORY_DUMP: op_memory_dump(&call); break;
	case OP_THREAD_DUMP: op_thread_dump(&call); break;
	case OP_MEMORY_SAMPLE: op_memory_sample(&call); break;
	case OP_SIGNAL: op_signal(&call); break;
	case OP_STOP: op_stop(&call); break;
	default: control->start(call.id); break;	/* OP_START */
	}
}
