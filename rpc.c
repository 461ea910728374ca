#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "events.h"
#include "lib/clock.h"
#include "forward.h"
#include "lib/fmt.h"
#include "lib/jsonw.h"
#include "lib/jsonscan.h"
#include "lib/log.h"
#include "monitor.h"
#include "lib/params.h"
#include "lib/procid.h"
#include "registry.h"
#include "reply.h"
#include "rpc.h"
#include "lib/signame.h"
#include "lib/num.h"
#include "lib/utf8.h"
#include "lib/uuid.h"

#define MAX_STATE_MEMBERS 1024	/* in a registered state, as merged */
#define MAX_STATE_BYTES	65536	/* a registered state printed as JSON */
#define MAX_ID_BYTES	256	/* a request's id as echoed: every reply carries it */
#define OP_NAME_SHOWN	200	/* bytes of an unknown operation's name quoted back */
#define MAX_STATE_DEPTH	32	/* levels of nesting in a registered state, itself the first */

static enum restart_target restart_target = RESTART_PARENT;
static pid_t restart_parent;		/* the parent that started us */

void
rpc_set_restart_target(enum restart_target target, pid_t original_parent)
{
	restart_target = target;
	restart_parent = original_parent;
}

static void
line_too_long(struct conn *c, const char *start, size_t len)
{
	if (forward_reply_too_long(c, start, len))
		return;
	log_debug("message too long conn=%llu max_message=%zu",
	    (unsigned long long)c->serial, conn_limits.max_message);
	reply_failure(c, NULL, "Message too long", NULL);
}

/* Operations */

struct operation {
	struct op_spec	 spec;
	void		(*handler)(struct call *call);
};

static bool	holds_nul(const struct call *call, const char *key);
static void	op_register(struct call *call);
static void	op_update(struct call *call);
static void	op_status(struct call *call);
static void	op_forward(struct call *call);
static void	op_restart(struct call *call);
static void	op_events(struct call *call);

static const struct operation operations[] = {
	{ { "register state:o?" }, op_register },
	{ { "update state:o" }, op_update },
	{ { "status" }, op_status },
	{ { "forward connection_id:s? name:s? timeout:n?" }, op_forward },
	{ { "restart signal:g?" }, op_restart },
	{ { "events backlog:n? types:a?" }, op_events },
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

/*
 * SO_PEERCRED names the process that called connect(). It may have handed
 * the socket on and exited since, and its pid gone to a stranger: a pid
 * that started after the accept is not the peer.
 */
static bool
peer_pid_still_original(struct call *call)
{
	const struct conn *c = call->conn;
	char hidepid[64];
	enum procid_status result;

	if (c->peer_pid <= 0) {
		reply_fail(call, "Refusing to register: the connecting process has no pid in supervisord's "
		    "pid namespace (SO_PEERCRED gives 0: it runs in a parent or sibling namespace), so it "
		    "cannot be followed or signalled; run supervisord in the workers' pid namespace or an "
		    "ancestor of it");
		return false;
	}
	switch ((result = procid_check_since(c->peer_pid, c->accepted_boot_ms))) {
	case PROCID_ALIVE:
		return true;
	case PROCID_EXITED:
	case PROCID_REUSED:
		reply_fail(call, "Refusing to register: the process that connected (pid %ld) has exited%s",
		    (long)c->peer_pid, result == PROCID_REUSED ?
		    "; its pid now belongs to another process" : "");
		break;
	case PROCID_HIDDEN:
		procid_hidepid_option(hidepid, sizeof(hidepid));
		reply_fail(call, "Cannot verify the process that connected (pid %ld): /proc hides it from "
		    "supervisord (/proc is mounted with %s); run supervisord as root, or mount /proc "
		    "with gid= a group supervisord is in, or without hidepid", (long)c->peer_pid,
		    hidepid[0] != '\0' ? hidepid : "hidepid");
		break;
	case PROCID_UNREADABLE:
		/* Out of fds, say: no proof either way, and the caller may try again. */
		reply_fail(call, "Cannot verify the process that connected (pid %ld): %s; try again",
		    (long)c->peer_pid, strerror(errno));
		break;
	}
	return false;
}

/*
 * Returns the pid to follow for a claim, 0 when none was claimed, or -1
 * after failing the call. A peer in another pid namespace than ours claims
 * its pid as that namespace numbers it, which cannot be checked here: the
 * peer itself is followed and *namespace_pid keeps the claim (SPEC 3).
 */
static pid_t
claimed_process_id(struct call *call, const cJSON *state, pid_t *namespace_pid)
{
	const cJSON *claim = cJSON_GetObjectItemCaseSensitive(state, "process_id");
	pid_t pid, peer = call->conn->peer_pid;

	if (claim == NULL || cJSON_IsNull(claim))
		return 0;
	if (!cJSON_IsNumber(claim) || !num_is_whole(claim->valuedouble, 1e9) ||
	    claim->valuedouble < 1 || claim->valuedouble > 4194304) {
		reply_fail(call, "'process_id' in state must be a process id (a positive integer)");
		return -1;
	}
	pid = (pid_t)claim->valuedouble;
	if (!peer_pid_still_original(call))
		return -1;
	if (procid_other_pid_namespace(peer) == 1) {
		*namespace_pid = pid;
		return peer;
	}
	/* A monitor acting on it would signal the daemon itself: its parent may be a peer. */
	if (pid == getpid()) {
		reply_fail(call, "Refusing process_id %ld: it is supervisord itself", (long)pid);
		return -1;
	}
	if (!procid_is_beneath(pid, peer)) {
		reply_fail(call, "Refusing process_id %ld: it is not the connecting process (pid %ld) or one of its descendants",
		    (long)pid, (long)peer);
		return -1;
	}
	return pid;
}

/*
 * Sets the member named key to item (consumed, and without a name of its
 * own), in place of a member of exactly that name. cJSON_HasObjectItem
 * ignores case, so it is not used here.
 */
static int
put_member(cJSON *object, const char *key, cJSON *item)
{
	bool done = cJSON_GetObjectItemCaseSensitive(object, key) == NULL ?
	    cJSON_AddItemToObject(object, key, item) :
	    cJSON_ReplaceItemInObjectCaseSensitive(object, key, item);

	if (!done) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/*
 * Shallow: each member of from replaces the one of the same name. The
 * member gives up its name first: cJSON_ReplaceItemInObject frees the
 * item's own name before copying the key.
 */
static int
merge_state(cJSON *into, cJSON *from)
{
	while (from != NULL && from->child != NULL) {
		cJSON *item = cJSON_DetachItemViaPointer(from, from->child);
		char *name = item->string;
		int result;

		item->string = NULL;
		result = put_member(into, name, item);
		cJSON_free(name);
		if (result == -1)
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

/* True when item nests deeper than levels (item itself is one level). */
static bool
nests_deeper(const cJSON *item, int levels)
{
	if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
		return false;
	if (levels == 0)
		return true;
	for (const cJSON *child = item->child; child != NULL; child = child->next) {
		if (nests_deeper(child, levels - 1))
			return true;
	}
	return false;
}

static cJSON *
raw_item(const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	cJSON *item = NULL;

	if (copy != NULL) {
		memcpy(copy, text, len);
		copy[len] = '\0';
		item = cJSON_CreateRaw(copy);
		free(copy);
	}
	return item;
}

/*
 * The members of the request's state as the peer wrote them (raw JSON
 * text), in the order of the parsed tree: status lists them exactly as
 * sent (SPEC 2, Fidelity). A member whose text cannot be found (escaped
 * names before it) is kept as parsed.
 */
static cJSON *
state_as_sent(const struct call *call, const cJSON *state)
{
	cJSON *sent = cJSON_CreateObject();
	struct jsonscan_member m;
	size_t at = 0, end;
	bool scanned;

	if (sent == NULL)
		return NULL;
	scanned = state != NULL && call->line != NULL &&
	    jsonscan_member(call->line, call->line_len, "state", &at, &end);
	for (const cJSON *item = state != NULL ? state->child : NULL; item != NULL; item = item->next) {
		cJSON *copy;

		scanned = scanned && jsonscan_next_member(call->line, call->line_len, &at, &m);
		if (scanned)
			copy = raw_item(call->line + m.value_start, m.value_end - m.value_start);
		else
			copy = cJSON_Duplicate(item, true);
		if (copy == NULL || !cJSON_AddItemToObject(sent, item->string, copy)) {
			cJSON_Delete(copy);
			cJSON_Delete(sent);
			return NULL;
		}
	}
	return sent;
}

static cJSON *
merged(const cJSON *old, cJSON *from)
{
	cJSON *into = old != NULL ? cJSON_Duplicate(old, true) : cJSON_CreateObject();

	if (into == NULL || merge_state(into, from) == -1) {
		cJSON_Delete(into);
		return NULL;
	}
	return into;
}

/* An event about a registration: its connection_id, pid and the name in its state. */
static void
publish(enum event_type type, const char *connection_id, pid_t process_id,
    const cJSON *state, const char *extra)
{
	struct event e = {
		.type = type,
		.connection_id = connection_id,
		.process_id = process_id,
		.name = cJSON_GetObjectItemCaseSensitive(state, "name"),
		.extra = extra,
		.extra_len = extra != NULL ? strlen(extra) : 0,
	};

	events_publish(&e);
}

/*
 * A registration ended; before a new one for the same connection starts.
 * reason: the removed event's member, ",\"reason\":\"closed\"" or
 * ",\"reason\":\"re-registered\"".
 */
static void
registration_ended(pid_t process_id, const char *connection_id, const cJSON *state,
    const char *reason)
{
	if (connection_id == NULL)
		return;
	mon_remove(process_id, connection_id);
	publish(EVENT_REMOVED, connection_id, process_id, state, reason);
}

/*
 * The state trees a register or update leaves, as new trees (the old ones
 * are kept until the registration cannot fail any more): the request's
 * state merged into the connection's, parsed (*parsed) and as sent
 * (*sent), then the members the daemon keeps in every state (the pid
 * monitors watch, the claim as its namespace numbers it, the
 * connection_id). The caps bound what every status reply carries and keep
 * the merge's name lookups (linear in the state) cheap: a request may hold
 * far more members than a state. Returns -1 after failing the call.
 */
#define STATE_TOO_LARGE "State too large: %zu %s (at most %d)"

static int
stamped_state(struct call *call, cJSON *from, pid_t process_id, pid_t namespace_pid,
    const char *connection_id, cJSON **parsed, cJSON **sent)
{
	struct jsonw printed = { 0 };
	size_t count = member_count(from);
	cJSON *from_sent;

	if (count > MAX_STATE_MEMBERS) {
		reply_fail(call, STATE_TOO_LARGE, count, "members", MAX_STATE_MEMBERS);
		return -1;
	}
	if (from != NULL && nests_deeper(from, MAX_STATE_DEPTH)) {
		reply_fail(call, "State nested too deeply: more than %d levels", MAX_STATE_DEPTH);
		return -1;
	}
	from_sent = state_as_sent(call, from);
	*parsed = merged(registry_state(call->conn), from);
	*sent = from_sent != NULL ? merged(registry_state_as_sent(call->conn), from_sent) : NULL;
	cJSON_Delete(from_sent);
	if (*parsed == NULL || *sent == NULL)
		goto out_of_memory;
	if ((count = member_count(*parsed)) > MAX_STATE_MEMBERS) {
		reply_fail(call, STATE_TOO_LARGE, count, "members once merged", MAX_STATE_MEMBERS);
		goto fail;
	}
	jsonw_value(&printed, *sent);
	free(printed.buf);
	if (printed.failed)
		goto out_of_memory;
	if (printed.len > MAX_STATE_BYTES) {
		reply_fail(call, STATE_TOO_LARGE, printed.len, "bytes as JSON", MAX_STATE_BYTES);
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		cJSON *tree = i == 0 ? *parsed : *sent;

		/* put_member fails on a NULL item: no check per creation. */
		if (put_member(tree, "process_id", cJSON_CreateNumber(process_id)) == -1 ||
		    (namespace_pid > 0 && put_member(tree, "namespace_process_id",
		    cJSON_CreateNumber(namespace_pid)) == -1) ||
		    put_member(tree, "connection_id", cJSON_CreateString(connection_id)) == -1)
			goto out_of_memory;
	}
	return 0;
out_of_memory:
	reply_fail(call, "Out of memory");
fail:
	cJSON_Delete(*parsed);
	cJSON_Delete(*sent);
	return -1;
}

/*
 * register starts a registration (a new connection_id; one the connection
 * held ends), update merges its state into the one it keeps: a wrapper
 * publishes its child's life so, and a new child's pid is checked as
 * register checks it. Monitors follow the pid, not the connection.
 */
static void
register_or_update(struct call *call, bool update)
{
	struct conn *c = call->conn;
	cJSON *state = cJSON_GetObjectItemCaseSensitive(call->msg, "state");
	const char *current = registry_connection_id(c);
	char connection_id[UUID_STRING_LEN + 1], old_id[UUID_STRING_LEN + 1] = "";
	pid_t old_pid = registry_process_id(c), namespace_pid = 0, claimed, process_id;
	cJSON *parsed, *sent, *old_state = NULL;

	if (update && current == NULL) {
		reply_fail(call, "Not registered");
		return;
	}
	if ((claimed = claimed_process_id(call, state, &namespace_pid)) == -1)
		return;
	if (update) {
		memcpy(connection_id, current, sizeof(connection_id));
	} else {
		/* Without a claim the peer's own pid is what the monitors will watch. */
		if (claimed == 0 && old_pid == 0 && !peer_pid_still_original(call))
			return;
		if (uuid_generate(connection_id) == -1) {
			reply_fail(call, "Cannot make a connection id: reading /dev/urandom: %s",
			    strerror(errno));
			return;
		}
	}
	/* A registered connection always has a pid: the peer's, if nothing else. */
	process_id = claimed > 0 ? claimed : old_pid > 0 ? old_pid : c->peer_pid;
	/* The state always says which pid monitors will watch, so status never disagrees with them. */
	if (stamped_state(call, state, process_id, namespace_pid, connection_id, &parsed, &sent) == -1)
		return;
	if (update) {
		registry_update(c, parsed, sent, process_id);
		if (process_id != old_pid) {
			mon_remove(old_pid, connection_id);
			mon_register(process_id, connection_id);
			log_info("updated connection_id=%s process_id=%ld was=%ld conn=%llu",
			    connection_id, (long)process_id, (long)old_pid,
			    (unsigned long long)c->serial);
		}
		publish(EVENT_UPDATED, connection_id, process_id, registry_state(c), NULL);
		reply_finish(call, NULL);
		return;
	}
	if (current != NULL) {
		memcpy(old_id, current, sizeof(old_id));
		/* For the removed event, which names it: the old state goes with its registration. */
		old_state = cJSON_Duplicate(registry_state(c), true);
	}
	if (registry_set(c, parsed, sent, connection_id, process_id) == -1) {
		cJSON_Delete(parsed);
		cJSON_Delete(sent);
		cJSON_Delete(old_state);
		reply_fail(call, "Out of memory");
		return;	/* the old registration stands */
	}
	registration_ended(old_pid, old_id[0] != '\0' ? old_id : NULL, old_state,
	    ",\"reason\":\"re-registered\"");
	cJSON_Delete(old_state);
	log_info("registered connection_id=%s process_id=%ld conn=%llu",
	    connection_id, (long)process_id, (unsigned long long)c->serial);
	mon_register(process_id, connection_id);
	publish(EVENT_REGISTERED, connection_id, process_id, registry_state(c), NULL);
	if (conn_accepts_output(c)) {
		struct jsonw *w = reply_begin(call->id, true);

		jsonw_literal(w, ",\"connection_id\":");
		jsonw_string(w, connection_id);
		reply_end(c);
	}
}

static void
op_register(struct call *call)
{
	register_or_update(call, false);
}

static void
op_update(struct call *call)
{
	register_or_update(call, true);
}

/* status */

/* The reply is written straight into c's output: each entry is kept as text. */
static void
op_status(struct call *call)
{
	struct conn *c = call->conn;
	size_t len, entries;
	struct jsonw *w;
	char *out;

	mon_status(call);
	if (!conn_accepts_output(c))
		return;
	w = reply_begin(call->id, true);
	jsonw_literal(w, ",\"connections\":[");
	if ((entries = registry_status(NULL)) == SIZE_MAX)
		w->failed = true;	/* out of memory: the writer's failure answers */
	if ((out = reply_end_room(c, entries + 3, &len)) == NULL)
		return;
	registry_status(out);
	memcpy(out + entries, "]}\n", 3);
	conn_send_commit(c, len);
}

/* forward */

static void
fail_not_found(const struct call *call, const char *key, const char *value)
{
	cJSON *extra = cJSON_CreateObject();

	cJSON_AddStringToObject(extra, key, value);
	reply_failure(call->conn, call->id, "Connection not found", extra);
	cJSON_Delete(extra);
}

/* Not found, echoing the parameter as the caller wrote it: it holds a NUL. */
static void
fail_not_found_as_written(const struct call *call, const char *key, const char *value)
{
	cJSON *extra = cJSON_CreateObject();
	size_t start, end;

	if (jsonscan_member(call->line, call->line_len, key, &start, &end))
		cJSON_AddItemToObject(extra, key, raw_item(call->line + start, end - start));
	else
		cJSON_AddStringToObject(extra, key, value);
	reply_failure(call->conn, call->id, "Connection not found", extra);
	cJSON_Delete(extra);
}

static bool
has_name(const struct conn *c, const char *name)
{
	const cJSON *own = cJSON_GetObjectItemCaseSensitive(registry_state(c), "name");

	return cJSON_IsString(own) && strcmp(own->valuestring, name) == 0;
}

/*
 * The one registered connection whose state's name is name. Linear in the
 * registered connections: a forward by name is a person's or a script's
 * call, not the hot path. Returns NULL after failing the call.
 */
static struct conn *
find_by_name(const struct call *call, const char *name)
{
	struct conn *found = NULL;
	size_t count = 0;
	cJSON *extra, *ids;

	for (struct conn *c = registry_next(NULL); c != NULL; c = registry_next(c)) {
		if (has_name(c, name) && count++ == 0)
			found = c;
	}
	if (count == 1)
		return found;
	if (count == 0) {
		fail_not_found(call, "name", name);
		return NULL;
	}
	extra = cJSON_CreateObject();
	ids = cJSON_AddArrayToObject(extra, "connection_ids");
	for (struct conn *c = registry_next(NULL); c != NULL && ids != NULL; c = registry_next(c)) {
		if (has_name(c, name))
			cJSON_AddItemToArray(ids, cJSON_CreateString(registry_connection_id(c)));
	}
	cJSON_AddStringToObject(extra, "name", name);
	reply_failure(call->conn, call->id, "Ambiguous name", extra);
	cJSON_Delete(extra);
	return NULL;
}

static void
op_forward(struct call *call)
{
	const cJSON *id_param = cJSON_GetObjectItemCaseSensitive(call->msg, "connection_id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(call->msg, "name");
	cJSON *operation = cJSON_GetObjectItemCaseSensitive(call->msg, "operation");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(call->msg, "timeout");
	struct conn *target;

	if (cJSON_IsString(id_param) && cJSON_IsString(name)) {
		reply_fail(call, "Give 'connection_id' or 'name', not both");
		return;
	}
	if (cJSON_IsString(name)) {
		/* A name cut at its NUL would be another worker's. */
		if (holds_nul(call, "name")) {
			fail_not_found_as_written(call, "name", name->valuestring);
			return;
		}
		if ((target = find_by_name(call, name->valuestring)) == NULL)
			return;
	} else if (!cJSON_IsString(id_param)) {
		reply_fail(call, "Missing 'connection_id' parameter");
		return;
	} else if (holds_nul(call, "connection_id")) {
		fail_not_found_as_written(call, "connection_id", id_param->valuestring);
		return;
	} else if ((target = registry_find(id_param->valuestring)) == NULL) {
		fail_not_found(call, "connection_id", id_param->valuestring);
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
	forward_start(call, target, registry_connection_id(target), operation, cJSON_IsNumber(timeout) ? timeout->valuedouble : 0);
}

/* restart */

static const char restart_advice[] =
    "use --restart-target=group, or run supervisord under the process that restarts it";

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
			reply_fail(call, "Not restarting: supervisord was started by init (pid 1), which is never signalled; %s",
			    restart_advice);
			return -1;
		}
		if (pid != restart_parent) {
			reply_fail(call, "Not restarting: supervisord is no longer a child of the process that started it "
			    "(pid %ld; it ran with --daemon, or that process exited) and its parent now is pid %ld, which is not signalled; %s",
			    (long)restart_parent, (long)pid, restart_advice);
			return -1;
		}
		return pid;
	}
	return -1;
}

/* Nothing a peer asks for may freeze the daemon, its parent or its group. */
static bool
is_stopping_signal(int signo)
{
	return signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU;
}

/*
 * Signals our own group, the daemon included. The reply and the log line
 * are out by now; a signal the daemon does not handle, whose default would
 * end it, is ignored for the moment of the kill(): an ignored signal is
 * discarded when it is generated (POSIX, kill()), so it is not left pending
 * either. TERM and INT reach the daemon's own handlers and stop it cleanly,
 * as a group restart means; KILL cannot be held off and ends it.
 */
static int
signal_group(pid_t group, int signo)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	bool held = false;
	int result, saved_errno;

	if (signo != SIGKILL && sigaction(signo, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
		sigemptyset(&ignore.sa_mask);
		held = sigaction(signo, &ignore, NULL) == 0;
	}
	result = kill(-group, signo);
	saved_errno = errno;
	if (held)
		sigaction(signo, &old, NULL);
	errno = saved_errno;
	return result;
}

/*
 * The restart event and the final reply say alike what was done, so a
 * client can tell the operator without a second call: the signal, the
 * kind of target and its pid (absent when the target is none).
 */
static void
op_restart(struct call *call)
{
	const cJSON *signal_param = cJSON_GetObjectItemCaseSensitive(call->msg, "signal");
	int signo = SIGINT;
	char text[64], name[16], outcome[128];
	struct event e = { .type = EVENT_RESTART, .extra = outcome };
	const char *kind;
	pid_t target;
	long pid;
	int result;

	if (signal_param != NULL && !cJSON_IsNull(signal_param) &&
	    (signo = signame_from_json(signal_param, text, sizeof(text))) == -1) {
		reply_fail(call, "Unknown signal '%s'", text);
		return;
	}
	if (holds_nul(call, "signal")) {
		reply_fail(call, "Unknown signal '%s' (and a NUL byte after it)", text);
		return;
	}
	signame_format(signo, name, sizeof(name));
	if (is_stopping_signal(signo)) {
		reply_fail(call, "Refusing signal %s: it stops processes instead of restarting them, "
		    "and nothing a peer asks for may freeze the supervisor", name);
		return;
	}
	if ((target = restart_pid(call)) == -1)
		return;
	kind = target == 0 ? "none" : target < 0 ? "group" : "parent";
	pid = target < 0 ? -(long)target : (long)target;
	e.extra_len = (size_t)fmt_snprintf(outcome, sizeof(outcome),
	    target != 0 ? ",\"signal\":\"%s\",\"target\":\"%s\",\"target_process_id\":%ld" :
	    ",\"signal\":\"%s\",\"target\":\"%s\"", name, kind, pid);
	events_publish(&e);
	if (conn_accepts_output(call->conn)) {
		jsonw_raw(reply_begin(call->id, true), outcome, e.extra_len);
		reply_end(call->conn);
	}
	conn_flush_now(call->conn);
	if (target == 0) {
		log_info("restart requested; --restart-target=none, so nothing is signalled signal=%s", name);
		return;
	}
	log_info("restart: signalling %s %ld signal=%s",
	    target < 0 ? "process group" : "parent", pid, name);
	result = target < 0 ? signal_group(-target, signo) : kill(target, signo);
	if (result == -1)
		log_warn("restart: cannot signal %ld", (long)target);
}

/* events */

static void
deliver_event(void *owner, const char *line, size_t len)
{
	struct conn *c = owner;

	/* A subscriber that stops reading is dropped here like any deaf peer. */
	if (conn_accepts_output(c))
		conn_send(c, line, len);
}

/* The mask of the event types named in types; 0 after failing the call. */
static unsigned
types_mask(const struct call *call, const cJSON *types)
{
	unsigned mask = 0;
	const cJSON *item;
	int type;

	if (types == NULL || cJSON_IsNull(types))
		return EVENTS_ALL_TYPES;
	cJSON_ArrayForEach(item, types) {
		if (!cJSON_IsString(item)) {
			reply_fail(call, "Parameter 'types' of 'events' must list event names as strings");
			return 0;
		}
		if ((type = events_type_from_name(item->valuestring, strlen(item->valuestring))) == -1) {
			reply_fail(call, "Unknown event type '%.*s' (known: registered, updated, removed, "
			    "monitor, restart, forward_timeout)",
			    utf8_prefix_len(item->valuestring, OP_NAME_SHOWN), item->valuestring);
			return 0;
		}
		mask |= 1u << type;
	}
	if (mask == 0)
		reply_fail(call, "Parameter 'types' of 'events' names no event type");
	return mask;
}

/*
 * The call stays open for as long as the connection: the subscribed reply,
 * the backlog, then one intermediate reply per event.
 */
static void
op_events(struct call *call)
{
	const cJSON *backlog = cJSON_GetObjectItemCaseSensitive(call->msg, "backlog");
	struct jsonw id = { 0 };
	size_t count = 0;
	unsigned mask;
	cJSON *subscribed;

	if (cJSON_IsNumber(backlog)) {
		if (!num_is_whole(backlog->valuedouble, 1e9) || backlog->valuedouble < 0) {
			reply_fail(call, "Parameter 'backlog' of 'events' must be a whole number, 0 or more");
			return;
		}
		count = (size_t)backlog->valuedouble;
	}
	if ((mask = types_mask(call, cJSON_GetObjectItemCaseSensitive(call->msg, "types"))) == 0)
		return;
	if (events_owner_full(call->conn)) {
		reply_fail(call, "Too many event subscriptions on this connection (at most %d)",
		    EVENTS_PER_OWNER);
		return;
	}
	if (call->id != NULL)
		jsonw_value(&id, call->id);
	if (id.failed || (subscribed = cJSON_CreateObject()) == NULL ||
	    cJSON_AddTrueToObject(subscribed, "subscribed") == NULL) {
		free(id.buf);
		reply_fail(call, "Out of memory");
		return;
	}
	reply_send(call, subscribed);
	cJSON_Delete(subscribed);
	if (events_subscribe(call->conn, call->id != NULL ? id.buf : NULL, id.len, mask, count) == -1)
		reply_fail(call, "Out of memory");
	free(id.buf);
}

/* Monitors */

/*
 * What a monitor did to a pid: every registration of it keeps the action
 * as its last_action, {"monitor":…,"action":…,"reason":…,"signal":…, the
 * figures,"at":…}, and a monitor event with the same fields is published for
 * each (the event's own "at" stands for the action's).
 */
void
rpc_monitor_action(const struct mon_action *action)
{
	struct jsonw w = { 0 };
	char signal_name[16], text[192];
	int64_t now = clock_ms(CLOCK_REALTIME);
	int len;
	size_t figures_at, fields_len;
	bool anyone = false;

	signame_format(action->signo, signal_name, sizeof(signal_name));
	/* The monitor's own short names, and a signal's: nothing to escape, and they fit. */
	len = fmt_snprintf(text, sizeof(text),
	    ",\"monitor\":\"%.32s\",\"action\":\"%.32s\",\"reason\":\"%.32s\",\"signal\":\"%.15s\"",
	    action->monitor, action->action, action->reason, signal_name);
	jsonw_raw(&w, text, (size_t)len);
	figures_at = w.len;
	jsonw_members(&w, action->figures);
	/* The event's members, then the last action's "at" and its NUL: one buffer for both. */
	fields_len = w.len;
	len = fmt_snprintf(text, sizeof(text), ",\"at\":%lld.%03lld}",
	    (long long)(now / 1000), (long long)(now % 1000));
	jsonw_raw(&w, text, (size_t)len + 1);
	if (w.failed) {
		log_warnx("out of memory recording a monitor action process_id=%ld", (long)action->pid);
		goto out;
	}
	figures_at += fields_len > figures_at;	/* past the figures' comma */
	log_debug("monitor action monitor=%s action=%s reason=%s process_id=%ld signal=%s figures={%.*s}",
	    action->monitor, action->action, action->reason, (long)action->pid, signal_name,
	    (int)(fields_len - figures_at), w.buf + figures_at);
	w.buf[0] = '{';
	registry_note_action(action->pid, w.buf, w.len - 1);
	w.buf[0] = ',';
	w.buf[fields_len] = '\0';	/* the event's members end before "at" */
	for (struct conn *c = registry_next(NULL); c != NULL; c = registry_next(c)) {
		if (registry_process_id(c) != action->pid)
			continue;
		publish(EVENT_MONITOR, registry_connection_id(c), action->pid, registry_state(c),
		    w.buf);
		anyone = true;
	}
	if (!anyone)
		publish(EVENT_MONITOR, NULL, action->pid, NULL, w.buf);
out:
	free(w.buf);
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
 * a reply. The text is copied to text, which holds MAX_ID_BYTES + 2: the
 * line itself is read on by the operations (state as sent). An id longer
 * than that is cut, and refused for its length before it is ever echoed.
 */
static const cJSON *
id_as_written(const cJSON *id, const char *line, size_t len, cJSON *raw, char *text)
{
	size_t start, end, copied;

	if (id == NULL || !jsonscan_member(line, len, "id", &start, &end) ||
	    end >= len || cJSON_IsString(id) != (line[start] == '"') ||
	    has_control_byte(line + start, end - start))
		return id;
	copied = end - start > MAX_ID_BYTES + 1 ? MAX_ID_BYTES + 1 : end - start;
	memcpy(text, line + start, copied);
	text[copied] = '\0';
	raw->type = cJSON_Raw;
	raw->valuestring = text;
	return raw;
}

/*
 * cJSON ends a string at its first NUL, so "status\u0000x" would read as
 * "status": a protocol string written with an escaped NUL is taken whole.
 * True when the top-level member key is a string holding \u0000.
 */
static bool
holds_nul(const struct call *call, const char *key)
{
	size_t start, end;

	if (memchr(call->line, '\\', call->line_len) == NULL)
		return false;	/* the usual case: no escape at all */
	if (!jsonscan_member(call->line, call->line_len, key, &start, &end) || call->line[start] != '"')
		return false;
	for (size_t i = start + 1; i + 5 < end; i++) {
		if (call->line[i] != '\\')
			continue;
		if (call->line[i + 1] == 'u' && memcmp(call->line + i + 2, "0000", 4) == 0)
			return true;
		i++;	/* an escaped character, maybe a backslash */
	}
	return false;
}

/* A top-level string member's text as written, at most max bytes of it, for errors. */
static int
member_text(const struct call *call, const char *key, int max, const char **text)
{
	size_t start, end;
	int shown;

	if (!jsonscan_member(call->line, call->line_len, key, &start, &end) || end - start < 2)
		return 0;
	*text = call->line + start + 1;
	shown = utf8_prefix_len(*text, (size_t)max);
	return shown < (int)(end - start - 2) ? shown : (int)(end - start - 2);
}

/* The repeated member of id, do or finished, or NULL: each may be written once. */
static const char *
repeated_member(const cJSON *msg)
{
	static const char *const once[] = { "id", "do", "finished" };
	bool seen[3] = { false, false, false };

	for (const cJSON *item = msg->child; item != NULL; item = item->next) {
		if (item->string == NULL || strchr("idf", item->string[0]) == NULL)
			continue;
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(item->string, once[i]) != 0)
				continue;
			if (seen[i])
				return once[i];
			seen[i] = true;
		}
	}
	return NULL;
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
	const char *repeated = repeated_member(msg);
	cJSON raw_id = { 0 };
	char id_text[MAX_ID_BYTES + 2];
	struct call call = { .conn = c, .msg = msg, .line = line, .line_len = len };

	if (!id_is_valid(id)) {
		reply_fail(&call, "Bad request: 'id' must be a number or a string");
		return;
	}
	if (repeated != NULL) {
		/* Which of them counts is up to each reader: none does. */
		char why[64];

		fmt_snprintf(why, sizeof(why), "Bad reply: '%s' is given more than once", repeated);
		forward_reply_failed(c, line, len, why);
		reply_fail(&call, "Bad request: '%s' is given more than once", repeated);
		return;
	}
	if (id != NULL && forward_reply(c, msg, line, len))
		return;
	call.id = id_as_written(id, line, len, &raw_id, id_text);
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
	if (holds_nul(&call, "do")) {
		const char *text = "";
		int shown = member_text(&call, "do", OP_NAME_SHOWN, &text);

		reply_fail(&call, "Unknown operation '%.*s'", shown, text);
		return;
	}
	serve_request(&call, op->valuestring);
}

/* Whether line holds a \u escape: each backslash starts a two-byte escape. */
static bool
holds_unicode_escape(const char *line, size_t len)
{
	const char *backslash;

	for (size_t at = 0; at < len && (backslash = memchr(line + at, '\\', len - at)) != NULL; ) {
		at = (size_t)(backslash - line) + 1;	/* the escaped byte */
		if (at < len && line[at] == 'u')
			return true;
		at++;
	}
	return false;
}

/*
 * The common requests, {"id":N,"do":"status"} and {"id":N,"do":"forward",
 * "connection_id":"...","operation":{...}}, are routed from their text: no
 * tree is built (a forward's operation is relayed as written anyway). Only
 * lines the tree would read the same way take this path; anything else
 * (escaped names or \u escapes, other members, a number cJSON would not
 * read, a target not found) goes the way of every request, which also
 * words the errors.
 */
static bool
route_text(struct conn *c, const char *line, size_t len)
{
	struct jsonscan_member m[4], *value[4] = { NULL, NULL, NULL, NULL }, *id, *to, *op;
	size_t count, run = 0, end = len, bad, do_len;
	char target_id[UUID_STRING_LEN + 1], id_text[MAX_ID_BYTES + 2];
	cJSON raw_id = { .type = cJSON_Raw, .valuestring = id_text };
	struct call call = { .conn = c, .id = &raw_id, .line = line, .line_len = len };
	struct conn *target;

	/* cJSON ends a message at its object's brace or white space after it. */
	while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	if (end == 0 || line[end - 1] != '}' || forward_is_target(c) ||
	    holds_unicode_escape(line, len) ||
	    !jsonscan_object(line, len, &bad, m, 4, &count) || count > 4)
		return false;
	for (size_t k = 0; k < count; k++) {
		const char *name = line + m[k].name_start;
		size_t name_len = m[k].name_end - m[k].name_start;
		size_t i = 4;	/* id, do, connection_id, operation, or none of them */

		if (name_len == 2)
			i = name[0] == 'i' && name[1] == 'd' ? 0 : name[0] == 'd' && name[1] == 'o' ? 1 : 4;
		else if (name_len == 13 && memcmp(name, "connection_id", 13) == 0)
			i = 2;
		else if (name_len == 9 && memcmp(name, "operation", 9) == 0)
			i = 3;
		if (i == 4 || value[i] != NULL)
			return false;
		value[i] = &m[k];
	}
	id = value[0];
	to = value[2];
	op = value[3];
	/*
	 * The id as written, echoed in every reply. cJSON reads numbers of at
	 * most 63 bytes: only the id and a forward's operation may hold one.
	 */
	if (id == NULL || value[1] == NULL || (line[id->value_start] != '"' && line[id->value_start] != '-' &&
	    (line[id->value_start] < '0' || line[id->value_start] > '9')) ||
	    id->value_end - id->value_start > (line[id->value_start] == '"' ? MAX_ID_BYTES : 60) ||
	    has_control_byte(line + id->value_start, id->value_end - id->value_start))
		return false;
	memcpy(id_text, line + id->value_start, id->value_end - id->value_start);
	id_text[id->value_end - id->value_start] = '\0';
	do_len = value[1]->value_end - value[1]->value_start;
	if (do_len == 8 && to == NULL && op == NULL &&
	    memcmp(line + value[1]->value_start, "\"status\"", 8) == 0) {
		op_status(&call);
		return true;
	}
	if (count != 4 || do_len != 9 || memcmp(line + value[1]->value_start, "\"forward\"", 9) != 0 ||
	    line[op->value_start] != '{')
		return false;	/* another operation: the parsed path */
	/* The operation is sent as written: an object without control bytes. */
	for (size_t i = op->value_start; i < op->value_end; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch < 0x20)
			return false;
		if (op->value_end - op->value_start <= 60 ||	/* too short to hold one */
		    ((ch < '0' || ch > '9') && ch != '+' && ch != '-' && ch != '.' && (ch | 0x20) != 'e'))
			run = 0;
		else if (++run > 60)
			return false;
	}
	/* The target, as registry_find() takes it. */
	if (line[to->value_start] != '"' || to->value_end - to->value_start - 2 > UUID_STRING_LEN ||
	    memchr(line + to->value_start, '\\', to->value_end - to->value_start) != NULL)
		return false;
	memcpy(target_id, line + to->value_start + 1, to->value_end - to->value_start - 2);
	target_id[to->value_end - to->value_start - 2] = '\0';
	return (target = registry_find(target_id)) != NULL &&
	    forward_start_text(&call, target, registry_connection_id(target), op->value_start,
	    op->value_end);
}

/* A line longer than a request: it is relayed if it answers a forward, never parsed into a tree. */
static void
handle_big_line(struct conn *c, const char *line, size_t len)
{
	struct call call = { .conn = c };
	size_t bad;

	if (!jsonscan_check(line, len, &bad)) {
		forward_reply_failed(c, line, len, "Invalid JSON in the reply");
		reply_fail(&call, "Invalid JSON: parse error at byte %zu of %zu", bad, len);
		return;
	}
	if (!forward_big_reply(c, line, len))
		reply_failure(c, NULL, "Message too long", NULL);
}

static void
handle_line(struct conn *c, char *line, size_t len)
{
	const char *end = NULL;
	struct call call = { .conn = c };
	size_t bad;
	cJSON *msg;

	/*
	 * The common reply and requests, taken from their text, no tree
	 * built: each is checked first, strictly enough that it holds no bad byte.
	 */
	if (forward_is_target(c) && forward_relay_text(c, line, len) == RELAY_DONE)
		return;
	if (len <= conn_limits.max_message && route_text(c, line, len))
		return;
	bad = jsonscan_bad_byte(line, len);
	/*
	 * cJSON takes any control character for white space, and raw ones
	 * inside strings; it passes any byte on, where a strict reader of a
	 * status or a relayed reply would not.
	 */
	if (bad < len && (unsigned char)line[bad] < 0x20) {
		forward_reply_failed(c, line, len, "Invalid JSON in the reply");
		reply_fail(&call, "Invalid JSON: control character 0x%02x at byte %zu",
		    (unsigned char)line[bad], bad);
		return;
	}
	if (bad < len) {
		/* A reply that cannot be relayed still ends its forward: no caller waits on it. */
		forward_reply_failed(c, line, len, "Invalid UTF-8 in the reply");
		reply_fail(&call, "Invalid UTF-8: byte 0x%02x at byte %zu",
		    (unsigned char)line[bad], bad);
		return;
	}
	if (len > conn_limits.max_message) {
		handle_big_line(c, line, len);
		return;
	}
	errno = 0;
	msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (msg == NULL && errno == ENOMEM) {
		/* Not the peer's fault: whoever waits on this line must hear of it. */
		log_warnx("out of memory parsing a message conn=%llu bytes=%zu",
		    (unsigned long long)c->serial, len);
		if (!forward_reply_failed(c, line, len, "Out of memory"))
			reply_fail(&call, "Out of memory");
		return;
	}
	if (msg == NULL) {
		size_t at = end != NULL && end >= line ? (size_t)(end - line) : 0;
		forward_reply_failed(c, line, len, "Invalid JSON in the reply");
		reply_fail(&call, "Invalid JSON: parse error at byte %zu of %zu", at, len);
		return;
	}
	while (end != NULL && end < line + len && (*end == ' ' || *end == '\t'))
		end++;
	if (end != NULL && end < line + len) {
		forward_reply_failed(c, line, len, "Invalid JSON in the reply");
		reply_fail(&call, "Invalid JSON: unexpected data after the message at byte %zu",
		    (size_t)(end - line));
	}
	else if (!cJSON_IsObject(msg))
		reply_fail(&call, "Bad request: a message must be a JSON object");
	else
		route_message(c, msg, line, len);
	cJSON_Delete(msg);
}

static void
conn_gone(struct conn *c)
{
	events_unsubscribe(c);
	registration_ended(registry_process_id(c), registry_connection_id(c), registry_state(c),
	    ",\"reason\":\"closed\"");
	registry_forget(c);
	forward_conn_gone(c);
}

/*
 * A peer that shut down its writing side is still owed the replies to its
 * forwards, and the events it subscribed to until it closes: a watcher
 * may well send its one request and shut its side.
 */
static bool
awaits_more(const struct conn *c)
{
	return forward_awaits_replies(c) || events_subscribed(c);
}

void
rpc_init(void)
{
	static const struct conn_handlers handlers = {
		.line = handle_line,
		.line_too_long = line_too_long,
		.awaits_replies = awaits_more,
		.gone = conn_gone,
	};

	conn_set_handlers(&handlers);
	events_init(deliver_event);
}
