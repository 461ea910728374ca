#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "forward.h"
#include "lib/jsonw.h"
#include "lib/jsonscan.h"
#include "lib/log.h"
#include "monitor.h"
#include "lib/params.h"
#include "lib/procfs.h"
#include "registry.h"
#include "reply.h"
#include "rpc.h"
#include "lib/signame.h"
#include "lib/num.h"

#define MAX_STATE_MEMBERS 1024	/* in a registered state, as merged */
#define MAX_STATE_BYTES	65536	/* a registered state printed as JSON */
#define MAX_ID_BYTES	256	/* a request's id as echoed: every reply carries it */

static enum restart_target restart_target = RESTART_PARENT;
static pid_t restart_parent;		/* the parent that started us */

void
rpc_set_restart_target(enum restart_target target, pid_t original_parent)
{
	restart_target = target;
	restart_parent = original_parent;
}

static void
line_too_long(struct conn *c)
{
	log_debug("message too long conn=%llu max_message=%zu",
	    (unsigned long long)c->serial, conn_limits.max_message);
	reply_failure(c, NULL, "Message too long", NULL);
}

/* Operations */

struct operation {
	struct op_spec	 spec;
	void		(*handler)(struct call *call);
};

static void	op_register(struct call *call);
static void	op_status(struct call *call);
static void	op_forward(struct call *call);
static void	op_restart(struct call *call);

static const struct operation operations[] = {
	{ { "register", { { "state", PARAM_OBJECT, false } } }, op_register },
	{ { "status", { { NULL, 0, false } } }, op_status },
	{ { "forward", {
		{ "connection_id", PARAM_STRING, true },
		{ "timeout", PARAM_NUMBER, false } } }, op_forward },
	{ { "restart", { { "signal", PARAM_SIGNAL, false } } }, op_restart },
};

/* Handlers only ever see well-typed input. */
static void
serve_request(struct call *call, const char *op_name)
{
	char error[256];
	const struct operation *op = params_dispatch(operations,
	    sizeof(operations) / sizeof(operations[0]), sizeof(operations[0]), op_name,
	    call->msg, error, sizeof(error));

	if (op != NULL)
		op->handler(call);
	else
		reply_fail(call, "%s", error);
}

/* register */

static bool
is_self_or_descendant(pid_t pid, pid_t ancestor)
{
	/* Bounded walk: pid namespaces nest at most 32 deep and trees are shallow. */
	for (int depth = 0; depth < 4096; depth++) {
		struct proc_stat st;

		if (pid == ancestor)
			return true;
		if (pid <= 1 || procfs_stat(pid, &st) == -1)
			return false;
		pid = st.ppid;
	}
	return false;
}

/*
 * SO_PEERCRED names the process that called connect(). It may have handed
 * the socket on and exited since, and its pid gone to a stranger: a pid
 * that started after the accept is not the peer.
 */
static bool
peer_pid_still_original(struct call *call)
{
	const struct conn *c = call->conn;
	struct proc_stat st;
	long hz = procfs_clock_ticks();
	bool gone = false;

	if (procfs_stat(c->peer_pid, &st) == -1) {
		if (errno != ENOENT && errno != ESRCH) {
			/* Out of fds, say: no proof either way, and the caller may try again. */
			reply_fail(call, "Cannot verify the process that connected (pid %ld): %s; try again",
			    (long)c->peer_pid, strerror(errno));
			return false;
		}
		gone = true;
	}
	if (gone || st.state == 'Z' || st.state == 'X') {
		reply_fail(call, "Refusing to register: the process that connected (pid %ld) has exited",
		    (long)c->peer_pid);
		return false;
	}
	if (hz > 0 && (int64_t)(st.start_ticks * 1000 / (uint64_t)hz) > c->accepted_boot_ms) {
		reply_fail(call, "Refusing to register: the process that connected (pid %ld) has exited; "
		    "pid %ld now belongs to another process", (long)c->peer_pid, (long)c->peer_pid);
		return false;
	}
	return true;
}

/* Returns the claimed pid, 0 when none was claimed, or -1 after failing the call. */
static pid_t
claimed_process_id(struct call *call, const cJSON *state)
{
	const cJSON *claim = cJSON_GetObjectItemCaseSensitive(state, "process_id");
	pid_t pid;

	if (claim == NULL || cJSON_IsNull(claim))
		return 0;
	if (!cJSON_IsNumber(claim) || !num_is_whole(claim->valuedouble, 1e9) ||
	    claim->valuedouble < 1 || claim->valuedouble > 4194304) {
		reply_fail(call, "'process_id' in state must be a process id (a positive integer)");
		return -1;
	}
	pid = (pid_t)claim->valuedouble;
	if (call->conn->peer_pid <= 0) {
		reply_fail(call, "Cannot verify process_id %ld: the peer's pid is unknown", (long)pid);
		return -1;
	}
	if (!peer_pid_still_original(call))
		return -1;
	if (!is_self_or_descendant(pid, call->conn->peer_pid)) {
		reply_fail(call, "Refusing process_id %ld: it is not the connecting process (pid %ld) or one of its descendants",
		    (long)pid, (long)call->conn->peer_pid);
		return -1;
	}
	return pid;
}

/*
 * Sets the member named key to item (consumed), in place of a member of
 * exactly that name. cJSON_HasObjectItem ignores case and
 * cJSON_ReplaceItemInObject frees the item's own name before copying it,
 * so neither is used here.
 */
static int
put_member(cJSON *object, const char *key, cJSON *item)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(object, key);
	bool done;

	if (old == NULL)
		done = cJSON_AddItemToObject(object, key, item);
	else if (item->string == NULL)
		done = cJSON_ReplaceItemInObjectCaseSensitive(object, key, item);
	else
		done = cJSON_ReplaceItemViaPointer(object, old, item);
	if (!done) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/* Shallow: each member of from replaces the one of the same name. */
static int
merge_state(cJSON *into, cJSON *from)
{
	while (from != NULL && from->child != NULL) {
		cJSON *item = cJSON_DetachItemViaPointer(from, from->child);

		if (put_member(into, item->string, item) == -1)
			return -1;
	}
	return 0;
}

static size_t
member_count(const cJSON *object)
{
	size_t count = 0;

	for (const cJSON *item = object != NULL ? object->child : NULL; item != NULL; item = item->next)
		count++;
	return count;
}

/*
 * The connection's state with from merged in, as a new tree; the old one
 * is kept until the registration cannot fail any more. The caps bound what
 * every status reply carries and keep the merge's name lookups (linear in
 * the state) cheap: a request may hold far more members than a state.
 * Returns NULL after failing the call.
 */
static cJSON *
merged_state(struct call *call, const cJSON *old, cJSON *from)
{
	struct jsonw printed = { 0 };
	cJSON *merged;
	size_t count;

	if (member_count(from) > MAX_STATE_MEMBERS) {
		reply_fail(call, "State too large: %zu members (at most %d)",
		    member_count(from), MAX_STATE_MEMBERS);
		return NULL;
	}
	merged = old != NULL ? cJSON_Duplicate(old, true) : cJSON_CreateObject();
	if (merged == NULL || merge_state(merged, from) == -1) {
		cJSON_Delete(merged);
		reply_fail(call, "Out of memory");
		return NULL;
	}
	if ((count = member_count(merged)) > MAX_STATE_MEMBERS) {
		cJSON_Delete(merged);
		reply_fail(call, "State too large: %zu members once merged (at most %d)",
		    count, MAX_STATE_MEMBERS);
		return NULL;
	}
	jsonw_value(&printed, merged);
	if (printed.failed || printed.len > MAX_STATE_BYTES) {
		if (printed.failed)
			reply_fail(call, "Out of memory");
		else
			reply_fail(call, "State too large: %zu bytes as JSON (at most %d)",
			    printed.len, MAX_STATE_BYTES);
		cJSON_Delete(merged);
		merged = NULL;
	}
	free(printed.buf);
	return merged;
}

static int
set_state_number(cJSON *state, const char *key, double value)
{
	cJSON *number = cJSON_CreateNumber(value);

	return number != NULL ? put_member(state, key, number) : -1;
}

static int
set_state_string(cJSON *state, const char *key, const char *value)
{
	cJSON *string = cJSON_CreateString(value);

	return string != NULL ? put_member(state, key, string) : -1;
}

/* Tells the monitors a registration ended; before a new one for the same connection starts. */
static void
monitors_forget(pid_t process_id, const char *connection_id)
{
	if (connection_id != NULL)
		mon_remove(process_id, connection_id);
}

static void
op_register(struct call *call)
{
	struct conn *c = call->conn;
	cJSON *state = cJSON_GetObjectItemCaseSensitive(call->msg, "state");
	char connection_id[UUID_STRING_LEN + 1], old_id[UUID_STRING_LEN + 1] = "";
	pid_t claimed = claimed_process_id(call, state);
	pid_t process_id = registry_process_id(c), old_process_id = process_id;
	struct jsonw *w;
	cJSON *merged;

	if (claimed == -1)
		return;
	/* Without a claim the peer's own pid is what the monitors will watch. */
	if (claimed == 0 && process_id == 0 && c->peer_pid > 0 && !peer_pid_still_original(call))
		return;
	if (uuid_generate(connection_id) == -1) {
		reply_fail(call, "Cannot make a connection id: reading /dev/urandom: %s", strerror(errno));
		return;
	}
	if ((merged = merged_state(call, registry_state(c), state)) == NULL)
		return;
	if (claimed > 0)
		process_id = claimed;
	else if (process_id == 0)
		process_id = c->peer_pid;
	if (registry_connection_id(c) != NULL)
		memcpy(old_id, registry_connection_id(c), sizeof(old_id));
	/* The state always says which pid monitors will watch, so status never disagrees with them. */
	if (set_state_number(merged, "process_id", process_id) == -1 ||
	    set_state_string(merged, "connection_id", connection_id) == -1 ||
	    registry_set(c, merged, connection_id, process_id) == -1) {
		cJSON_Delete(merged);
		reply_fail(call, "Out of memory");
		return;	/* the old registration stands */
	}
	monitors_forget(old_process_id, old_id[0] != '\0' ? old_id : NULL);
	log_info("registered connection_id=%s process_id=%ld conn=%llu",
	    connection_id, (long)process_id, (unsigned long long)c->serial);
	mon_register(process_id, connection_id);
	if (!conn_accepts_output(c))
		return;
	w = reply_begin(call->id, true);
	jsonw_literal(w, ",\"connection_id\":");
	jsonw_string(w, connection_id);
	reply_end(c);
}

/* status */

static void
op_status(struct call *call)
{
	struct jsonw *w;

	mon_status(call);
	if (!conn_accepts_output(call->conn))
		return;
	w = reply_begin(call->id, true);
	jsonw_literal(w, ",\"connections\":[");
	registry_write_status(w);
	jsonw_literal(w, "]");
	reply_end(call->conn);
}

/* forward */

static void
op_forward(struct call *call)
{
	const cJSON *id_param = cJSON_GetObjectItemCaseSensitive(call->msg, "connection_id");
	cJSON *operation = cJSON_GetObjectItemCaseSensitive(call->msg, "operation");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(call->msg, "timeout");
	struct conn *target = registry_find(id_param->valuestring);
	cJSON *extra;

	if (target == NULL) {
		extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "connection_id", id_param->valuestring);
		reply_failure(call->conn, call->id, "Connection not found", extra);
		cJSON_Delete(extra);
		return;
	}
	if (!cJSON_IsObject(operation) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(operation, "do"))) {
		reply_fail(call, "Missing 'operation' parameter");
		return;
	}
	if (cJSON_IsNumber(timeout) && !(timeout->valuedouble > 0 && timeout->valuedouble < 1e9)) {
		reply_fail(call, "Parameter 'timeout' must be a positive number of seconds");
		return;
	}
	forward_start(call, target, id_param->valuestring, operation, cJSON_IsNumber(timeout) ? timeout->valuedouble : 0);
}

/* restart */

static pid_t
restart_pid(const struct call *call)
{
	pid_t pid;

	switch (restart_target) {
	case RESTART_NONE:
		return 0;
	case RESTART_GROUP:
		pid = getpgrp();
		if (pid <= 1) {
			reply_fail(call, "Not restarting: the process group is %ld (init's)", (long)pid);
			return -1;
		}
		return -pid;
	case RESTART_PARENT:
		pid = getppid();
		if (restart_parent <= 1) {
			reply_fail(call, "Not restarting: supervisord was started by init (pid 1), which is never signalled; "
			    "use --restart-target=group, or run supervisord under the process that restarts it");
			return -1;
		}
		if (pid != restart_parent) {
			reply_fail(call, "Not restarting: supervisord is no longer a child of the process that started it "
			    "(pid %ld; it ran with --daemon, or that process exited) and its parent now is pid %ld, which is not signalled; "
			    "use --restart-target=group, or run supervisord under the process that restarts it",
			    (long)restart_parent, (long)pid);
			return -1;
		}
		return pid;
	}
	return -1;
}

static void
op_restart(struct call *call)
{
	const cJSON *signal_param = cJSON_GetObjectItemCaseSensitive(call->msg, "signal");
	int signo = SIGINT;
	char text[64], name[16];
	pid_t target;

	if (signal_param != NULL && !cJSON_IsNull(signal_param) &&
	    (signo = signame_from_json(signal_param, text, sizeof(text))) == -1) {
		reply_fail(call, "Unknown signal '%s'", text);
		return;
	}
	if ((target = restart_pid(call)) == -1)
		return;
	reply_finish(call, NULL);
	conn_flush_now(call->conn);
	signame_format(signo, name, sizeof(name));
	if (target == 0) {
		log_info("restart requested; --restart-target=none, so nothing is signalled signal=%s", name);
		return;
	}
	log_info("restart: signalling %s %ld signal=%s",
	    target < 0 ? "process group" : "parent", (long)(target < 0 ? -target : target), name);
	if (kill(target, signo) == -1)
		log_warn("restart: cannot signal %ld", (long)target);
}

/* Monitors */

/* What a monitor did; the registry side will keep it and publish an event. */
void
rpc_monitor_action(const struct mon_action *action)
{
	char signal_name[16];
	char *figures = action->figures != NULL ? cJSON_PrintUnformatted(action->figures) : NULL;

	signame_format(action->signo, signal_name, sizeof(signal_name));
	log_debug("monitor action monitor=%s action=%s reason=%s process_id=%ld signal=%s figures=%s",
	    action->monitor, action->action, action->reason, (long)action->pid, signal_name,
	    figures != NULL ? figures : "{}");
	free(figures);
}

/* Routing */

static bool
id_is_valid(const cJSON *id)
{
	return id == NULL || cJSON_IsNumber(id) || cJSON_IsString(id);
}

static bool
has_control_byte(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] < 0x20)
			return true;
	}
	return false;
}

/*
 * Ids are echoed as the request spelled them (1.0, 1e3, integers past 2^53,
 * escapes), falling back on the parsed value, which is printed escaped: a
 * raw tab or CR is tolerated inside a request's string but is not JSON in
 * a reply. The line is not needed once parsed, so the id's text is ended
 * with a NUL where it lies.
 */
static const cJSON *
id_as_written(const cJSON *id, char *line, size_t len, cJSON *raw)
{
	size_t start, end;

	if (id == NULL || !jsonscan_member(line, len, "id", &start, &end) ||
	    end >= len || cJSON_IsString(id) != (line[start] == '"') ||
	    has_control_byte(line + start, end - start))
		return id;
	line[end] = '\0';
	raw->type = cJSON_Raw;
	raw->valuestring = line + start;
	return raw;
}

/* Bytes of id as every reply echoes it. */
static size_t
id_echo_len(const cJSON *id)
{
	struct jsonw printed = { 0 };
	size_t len;

	if (cJSON_IsRaw(id))
		return strlen(id->valuestring);
	if (!cJSON_IsString(id))
		return 0;	/* a parsed number prints short */
	if ((len = strlen(id->valuestring)) > MAX_ID_BYTES)
		return len;
	jsonw_value(&printed, id);
	len = printed.len;
	free(printed.buf);
	return len;
}

static void
route_message(struct conn *c, cJSON *msg, char *line, size_t len)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(msg, "do");
	cJSON raw_id = { 0 };
	struct call call = { .conn = c, .msg = msg };

	if (!id_is_valid(id)) {
		reply_fail(&call, "Bad request: 'id' must be a number or a string");
		return;
	}
	call.id = id_as_written(id, line, len, &raw_id);
	if (id != NULL && forward_reply(c, msg))
		return;
	if (op == NULL) {
		if (id == NULL) {
			reply_fail(&call, "Bad request: missing 'do' (the operation to perform)");
			return;
		}
		log_debug("ignoring a reply to no open call conn=%llu",
		    (unsigned long long)c->serial);
		return;
	}
	if (id_echo_len(call.id) > MAX_ID_BYTES) {
		call.id = NULL;
		reply_fail(&call, "Bad request: 'id' is too long (at most %d bytes)", MAX_ID_BYTES);
		return;
	}
	if (!cJSON_IsString(op)) {
		reply_fail(&call, "Bad request: 'do' must be a string");
		return;
	}
	serve_request(&call, op->valuestring);
}

static void
handle_line(struct conn *c, char *line, size_t len)
{
	const char *end = NULL;
	size_t control = jsonscan_control_char(line, len);
	struct call call = { .conn = c };
	cJSON *msg;

	/* cJSON takes any control character for white space, and raw ones inside strings. */
	if (control < len) {
		reply_fail(&call, "Invalid JSON: control character 0x%02x at byte %zu",
		    (unsigned char)line[control], control);
		return;
	}
	msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (msg == NULL) {
		size_t at = end != NULL && end >= line ? (size_t)(end - line) : 0;
		reply_fail(&call, "Invalid JSON: parse error at byte %zu of %zu", at, len);
		return;
	}
	while (end != NULL && end < line + len && (*end == ' ' || *end == '\t'))
		end++;
	if (end != NULL && end < line + len)
		reply_fail(&call, "Invalid JSON: unexpected data after the message at byte %zu",
		    (size_t)(end - line));
	else if (!cJSON_IsObject(msg))
		reply_fail(&call, "Bad request: a message must be a JSON object");
	else
		route_message(c, msg, line, len);
	cJSON_Delete(msg);
}

static void
conn_gone(struct conn *c)
{
	monitors_forget(registry_process_id(c), registry_connection_id(c));
	registry_forget(c);
	forward_conn_gone(c);
}

void
rpc_init(void)
{
	static const struct conn_handlers handlers = {
		.line = handle_line,
		.line_too_long = line_too_long,
		.awaits_replies = forward_awaits_replies,
		.gone = conn_gone,
	};

	conn_set_handlers(&handlers);
}
