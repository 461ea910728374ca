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
#include <unistd.h>

#include "lib/clock.h"
#include "client/jsonline.h"
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
static struct sampling *samplings;

void
wops_init(wops_send_fn send)
{
	send_message = send;
}

/* Replies */

static void
send_and_free(cJSON *msg)
{
	if (msg != NULL)
		send_message(msg);
	cJSON_Delete(msg);
}

static void PRINTF_LIKE(2, 3)
fail_id(const cJSON *id, const char *fmt, ...)
{
	char error[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	log_debug("worker call failed error=%s", error);
	send_and_free(jl_failure(id, error));
}

/* Sends reply, or a failure when building it ran out of memory. */
static void
finish(const struct wop_call *call, cJSON *reply, bool built)
{
	if (reply == NULL || !built) {
		cJSON_Delete(reply);
		fail_id(call->id, "Out of memory");
		return;
	}
	send_and_free(reply);
}

static bool
add_number(cJSON *obj, const char *key, double value)
{
	return cJSON_AddNumberToObject(obj, key, value) != NULL;
}

static bool
add_string(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) != NULL;
}

/* The child */

/* Reads the child's stat; returns 0, or -1 after failing the call. */
static int
child_stat(const struct wop_call *call, struct proc_stat *st)
{
	pid_t pid = call->child->pid;

	if (pid <= 0) {
		fail_id(call->id, "No process is running: %s",
		    call->child->absence ? call->child->absence : "not started");
		return -1;
	}
	/* A child that has just exited may still be a zombie we have not reaped. */
	if (procfs_stat(pid, st) == -1 || st->state == 'Z' || st->state == 'X') {
		fail_id(call->id, "Process %ld has exited", (long)pid);
		return -1;
	}
	return 0;
}

static int
child_memory(const struct wop_call *call, struct proc_memory *memory)
{
	if (procfs_memory(call->child->pid, memory) == -1) {
		if (errno == ENOENT || errno == ESRCH || errno == ENODATA)
			fail_id(call->id, "Process %ld has exited", (long)call->child->pid);
		else
			fail_id(call->id, "Cannot read the memory of process %ld: %s",
			    (long)call->child->pid, strerror(errno));
		return -1;
	}
	return 0;
}

static long
count_lines(const char *path)
{
	char *text;
	long lines = 0;

	if (procfs_read(path, &text, NULL) == -1)
		return -1;
	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	free(text);
	return lines;
}

/* info */

static void
op_info(const struct wop_call *call)
{
	struct proc_stat st;
	double ticks = (double)procfs_clock_ticks();
	cJSON *reply;
	char state[2];
	bool built;

	if (child_stat(call, &st) == -1)
		return;
	state[0] = st.state;
	state[1] = '\0';
	reply = jl_message(call->id, true);
	built = reply != NULL &&
	    add_number(reply, "process_id", st.pid) &&
	    add_string(reply, "name", call->child->name) &&
	    add_string(reply, "command", call->child->command) &&
	    add_string(reply, "state", state) &&
	    add_number(reply, "threads", (double)st.num_threads) &&
	    add_number(reply, "uptime",
	    (double)num_round(num_clamp(procfs_uptime() - (double)st.start_ticks / ticks, 0, 1e12) * 100) / 100) &&
	    add_number(reply, "processor_time", (double)(st.utime_ticks + st.stime_ticks) / ticks) &&
	    add_number(reply, "virtual_size", (double)st.vsize) &&
	    add_number(reply, "resident_size", (double)st.rss_pages * (double)procfs_page_size()) &&
	    add_number(reply, "restarts", call->child->restarts) &&
	    add_number(reply, "wrapper_process_id", getpid());
	finish(call, reply, built);
}

/* memory_dump */

static bool
add_memory_figures(cJSON *reply, const struct proc_memory *m, long map_count)
{
	return add_string(reply, "source", m->source) &&
	    add_number(reply, "map_count", (double)map_count) &&
	    add_number(reply, "rss", (double)m->rss) &&
	    add_number(reply, "pss", (double)m->pss) &&
	    add_number(reply, "shared_clean", (double)m->shared_clean) &&
	    add_number(reply, "shared_dirty", (double)m->shared_dirty) &&
	    add_number(reply, "private_clean", (double)m->private_clean) &&
	    add_number(reply, "private_dirty", (double)m->private_dirty) &&
	    add_number(reply, "swap", (double)m->swap);
}

static int
write_file(const char *path, const char *data, size_t len)
{
	/* Whoever reaches the socket names the path: never truncate or follow into a file. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd == -1)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int saved_errno = errno;
			close(fd);
			errno = saved_errno;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* Copies /proc/PID/smaps to path; returns its size, or -1 after failing the call. */
static long
dump_smaps(const struct wop_call *call, const char *path)
{
	char source[64], *text;
	size_t len;

	snprintf(source, sizeof(source), "/proc/%ld/smaps", (long)call->child->pid);
	if (procfs_read(source, &text, &len) == -1) {
		fail_id(call->id, "Cannot read %s: %s", source, strerror(errno));
		return -1;
	}
	if (write_file(path, text, len) == -1) {
		if (errno == EEXIST)
			fail_id(call->id, "File exists: %s (memory_dump never overwrites)", path);
		else
			fail_id(call->id, "Cannot write %s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	free(text);
	return (long)len;
}

static void
op_memory_dump(const struct wop_call *call)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(call->msg, "path");
	char maps_path[64], resolved[PATH_MAX];
	struct proc_stat st;
	struct proc_memory memory;
	long map_count, written = -1;
	cJSON *reply;
	bool built;

	if (child_stat(call, &st) == -1 || child_memory(call, &memory) == -1)
		return;
	snprintf(maps_path, sizeof(maps_path), "/proc/%ld/maps", (long)st.pid);
	map_count = count_lines(maps_path);
	if (map_count < 0)
		map_count = (long)memory.map_count;
	if (path != NULL && (written = dump_smaps(call, path->valuestring)) == -1)
		return;
	reply = jl_message(call->id, true);
	built = reply != NULL && add_number(reply, "process_id", st.pid) &&
	    add_memory_figures(reply, &memory, map_count);
	if (built && path != NULL) {
		built = add_string(reply, "path",
		    realpath(path->valuestring, resolved) ? resolved : path->valuestring) &&
		    add_number(reply, "size", (double)written);
	}
	finish(call, reply, built);
}

/* thread_dump */

static cJSON *
thread_entry(pid_t pid, const char *tid_text)
{
	char path[64 + NAME_MAX], *wchan = NULL, state[2];
	struct proc_stat st;
	cJSON *entry;
	char *text;
	int parsed;

	snprintf(path, sizeof(path), "/proc/%ld/task/%s/stat", (long)pid, tid_text);
	if (procfs_read(path, &text, NULL) == -1)
		return NULL;	/* the thread ended while we listed them */
	parsed = procfs_parse_stat(text, &st);
	free(text);
	if (parsed == -1 || (entry = cJSON_CreateObject()) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%ld/task/%s/wchan", (long)pid, tid_text);
	if (procfs_read(path, &wchan, NULL) == -1)
		wchan = NULL;
	state[0] = st.state;
	state[1] = '\0';
	add_number(entry, "tid", st.pid);
	add_string(entry, "name", st.comm);
	add_string(entry, "state", state);
	/* "0" (or nothing) when the thread is not waiting in the kernel. */
	if (wchan != NULL && wchan[0] != '\0' && strcmp(wchan, "0") != 0)
		add_string(entry, "wchan", wchan);
	else
		cJSON_AddNullToObject(entry, "wchan");
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

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
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
	if (reply == NULL || !add_number(reply, "process_id", st.pid) ||
	    (list = cJSON_AddArrayToObject(reply, "threads")) == NULL) {
		finish(call, reply, false);
		return;
	}
	if ((count = list_threads(st.pid, list)) == -1) {
		int saved_errno = errno;
		cJSON_Delete(reply);
		fail_id(call->id, "Cannot list the threads of process %ld: %s", (long)st.pid,
		    strerror(saved_errno));
		return;
	}
	finish(call, reply, add_number(reply, "thread_count", (double)count) &&
	    (count <= MAX_THREADS_LISTED || cJSON_AddTrueToObject(reply, "truncated") != NULL));
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
	bool built = reply != NULL &&
	    add_number(reply, "process_id", s->pid) &&
	    add_number(reply, "samples", s->taken) &&
	    add_number(reply, "duration", (double)(now_ms - s->started_ms) / 1000) &&
	    add_number(reply, "interval", (double)s->interval_ms / 1000) &&
	    add_number(reply, "minimum_size", (double)s->minimum) &&
	    add_number(reply, "maximum_size", (double)s->maximum) &&
	    add_number(reply, "first_size", (double)s->first) &&
	    add_number(reply, "last_size", (double)s->last) &&
	    add_number(reply, "growth", (double)s->last - (double)s->first);

	if (built)
		send_and_free(reply);
	else {
		cJSON_Delete(reply);
		fail_id(s->id, "Out of memory");
	}
	sampling_free(s);
}

static void
sample_reply(const struct sampling *s, const struct proc_memory *m, int64_t now_ms)
{
	cJSON *reply = jl_message(s->id, false);
	bool built = reply != NULL &&
	    add_number(reply, "sample", s->taken) &&
	    add_number(reply, "elapsed", (double)(now_ms - s->started_ms) / 1000) &&
	    add_number(reply, "resident_size", (double)m->rss) &&
	    add_number(reply, "private_size", (double)(m->private_clean + m->private_dirty)) &&
	    add_number(reply, "shared_size", (double)(m->shared_clean + m->shared_dirty));

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
		fail_id(s->id, "Process %ld has exited", (long)s->pid);
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

/* Reads a positive number of seconds; returns 0, or -1 after failing the call. */
static int
seconds_param(const struct wop_call *call, const char *name, double fallback, double *out)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(call->msg, name);

	*out = value != NULL ? value->valuedouble : fallback;
	if (!(*out > 0 && *out < 1e7)) {
		fail_id(call->id, "Parameter '%s' must be a positive number of seconds", name);
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

	if (seconds_param(call, "duration", DEFAULT_DURATION, &duration) == -1 ||
	    seconds_param(call, "interval", DEFAULT_INTERVAL, &interval) == -1)
		return;
	/* A sample at the start and one per interval up to the duration. */
	wanted = num_clamp(duration / interval + 1e-9, 0, MAX_SAMPLES + 1);
	wanted = (double)(int64_t)wanted + 1;
	if (wanted > MAX_SAMPLES) {
		fail_id(call->id, "Too many samples: %.0f (duration / interval may be at most %d)",
		    wanted, MAX_SAMPLES - 1);
		return;
	}
	if (sampling_count() >= MAX_SAMPLINGS) {
		fail_id(call->id, "Too many memory samples in progress (at most %d)", MAX_SAMPLINGS);
		return;
	}
	if (child_stat(call, &st) == -1)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (call->id != NULL && (s->id = cJSON_Duplicate(call->id, true)) == NULL)) {
		free(s);
		fail_id(call->id, "Out of memory");
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
		fail_id(s->id, "Process %ld %s", (long)pid, how);
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
		fail_id(call->id, "Unknown signal '%s'", text);
		return;
	}
	if (child_stat(call, &st) == -1)
		return;
	if (kill(st.pid, signo) == -1) {
		fail_id(call->id, "Cannot signal process %ld: %s", (long)st.pid, strerror(errno));
		return;
	}
	name = signame_name(signo);
	log_info("worker: signalled the child on request pid=%ld signal=%s", (long)st.pid,
	    name != NULL ? name : text);
	reply = jl_message(call->id, true);
	finish(call, reply, reply != NULL && add_number(reply, "process_id", st.pid) &&
	    (name ? add_string(reply, "signal", name) : add_number(reply, "signal", signo)));
}

/* Dispatch */

static const struct operation {
	struct op_spec	 spec;
	void		(*handler)(const struct wop_call *call);
} operations[] = {
	{ { "info", { { NULL, 0, false } } }, op_info },
	{ { "memory_dump", { { "path", PARAM_STRING, false } } }, op_memory_dump },
	{ { "thread_dump", { { NULL, 0, false } } }, op_thread_dump },
	{ { "memory_sample", {
		{ "duration", PARAM_NUMBER, false },
		{ "interval", PARAM_NUMBER, false } } }, op_memory_sample },
	{ { "signal", { { "signal", PARAM_SIGNAL, true } } }, op_signal },
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
	const struct operation *entry;
	char error[256];

	if (!cJSON_IsString(op)) {
		fail_id(call.id, "Bad request: 'do' must be a string");
		return;
	}
	entry = params_dispatch(operations, sizeof(operations) / sizeof(operations[0]),
	    sizeof(operations[0]), op->valuestring, request, error, sizeof(error));
	if (entry == NULL) {
		fail_id(call.id, "%s", error);
		return;
	}
	log_debug("worker: serving op=%s", op->valuestring);
	entry->handler(&call);
}
