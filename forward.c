#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "conn.h"
#include "events.h"
#include "forward.h"
#include "lib/fmt.h"
#include "lib/hmap.h"
#include "lib/jsonscan.h"
#include "lib/jsonw.h"
#include "lib/list.h"
#include "lib/log.h"
#include "reply.h"
#include "lib/num.h"
#include "lib/uuid.h"
#include "registry.h"

/* Bound the table however a caller floods a target that never answers. */
#define MAX_FORWARDS_PER_TARGET 4096
#define MAX_FORWARDS_PER_CALLER 1024

struct fwd_key {
	uint64_t	target_serial;
	int64_t		call_id;		/* our call id on the target */
};

struct fwd {
	struct fwd_key	 key;
	struct conn	*caller;
	size_t		 caller_id_len;		/* 0 when the caller's request had no id */
	struct conn	*target;
	char		 target_connection_id[UUID_STRING_LEN + 1];
	int64_t		 deadline;		/* monotonic ms, 0 for none */
	uint64_t	 timer_order;		/* equal deadlines expire in this order */
	size_t		 timer_index;		/* in timers, when deadline != 0 */
	double		 timeout_seconds;
	DL_ENTRY(fwd)	 started_entry;		/* in the caller's ends' started */
	DL_ENTRY(fwd)	 targeting_entry;	/* in the target's ends' targeting */
	char		 caller_id[];		/* the caller's id as JSON text */
};

static struct hmap by_key;

/* A binary min-heap of the forwards with a deadline, earliest first. */
static struct fwd **timers;
static size_t timer_count, timer_cap;
static uint64_t timer_next_order;

static bool
timer_before(const struct fwd *a, const struct fwd *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->timer_order < b->timer_order;
}

static void
timer_place(struct fwd *f, size_t index)
{
	timers[index] = f;
	f->timer_index = index;
}

static void
timer_sift_up(size_t index)
{
	struct fwd *f = timers[index];

	while (index > 0 && timer_before(f, timers[(index - 1) / 2])) {
		timer_place(timers[(index - 1) / 2], index);
		index = (index - 1) / 2;
	}
	timer_place(f, index);
}

static void
timer_sift_down(size_t index)
{
	struct fwd *f = timers[index];

	for (;;) {
		size_t child = 2 * index + 1;

		if (child >= timer_count)
			break;
		if (child + 1 < timer_count && timer_before(timers[child + 1], timers[child]))
			child++;
		if (!timer_before(timers[child], f))
			break;
		timer_place(timers[child], index);
		index = child;
	}
	timer_place(f, index);
}

static int
timer_insert(struct fwd *f)
{
	if (timer_count == timer_cap) {
		size_t new_cap = timer_cap ? timer_cap * 2 : 64;
		struct fwd **grown = reallocarray(timers, new_cap, sizeof(*timers));

		if (grown == NULL)
			return -1;
		timers = grown;
		timer_cap = new_cap;
	}
	f->timer_order = timer_next_order++;
	timer_place(f, timer_count++);
	timer_sift_up(f->timer_index);
	return 0;
}

static void
timer_remove(struct fwd *f)
{
	size_t index = f->timer_index;
	struct fwd *last = timers[--timer_count];

	if (index == timer_count)
		return;
	timer_place(last, index);
	if (index > 0 && timer_before(last, timers[(index - 1) / 2]))
		timer_sift_up(index);
	else
		timer_sift_down(index);
}

/* A connection's forward ends, made the first time it needs them; NULL when out of memory. */
static struct fwd_ends *
ends_of(struct conn *c)
{
	if (c->fwd_ends == NULL && (c->fwd_ends = calloc(1, sizeof(*c->fwd_ends))) != NULL)
		c->fwd_ends->next_call_id = 3;
	return c->fwd_ends;
}

static void
fwd_free(struct fwd *f)
{
	hmap_remove(&by_key, &f->key, sizeof(f->key));
	DL_REMOVE(f, started_entry);
	conn_call_ended(f->caller);
	DL_REMOVE(f, targeting_entry);
	if (--f->target->fwd_ends->targeting_count == 0)
		conn_expect_replies(f->target, false);
	f->caller->fwd_ends->started_count--;
	if (f->deadline != 0)
		timer_remove(f);
	free(f);
}

static void
fail_caller_with(struct fwd *f, const char *error, const char *extra_name, double extra_value)
{
	cJSON *extra = cJSON_CreateObject();
	cJSON caller_id = { .type = cJSON_Raw, .valuestring = f->caller_id };

	cJSON_AddStringToObject(extra, "connection_id", f->target_connection_id);
	if (f->deadline != 0)
		cJSON_AddNumberToObject(extra, "timeout", f->timeout_seconds);
	if (extra_name != NULL)
		cJSON_AddNumberToObject(extra, extra_name, extra_value);
	reply_failure(f->caller, f->caller_id_len != 0 ? &caller_id : NULL, error, extra);
	cJSON_Delete(extra);
}

static void
fail_caller(struct fwd *f, const char *error)
{
	fail_caller_with(f, error, NULL, 0);
}

/* The id as every reply to the caller carries it: its JSON text, in *printed unless it is raw text already. */
static const char *
id_text(const cJSON *id, struct jsonw *printed)
{
	if (id == NULL || cJSON_IsRaw(id))
		return id != NULL ? id->valuestring : "";
	jsonw_value(printed, id);
	jsonw_raw(printed, "", 1);
	return printed->failed ? NULL : printed->buf;
}

/* One allocation per forward: the record and the caller's id after it. */
static struct fwd *
fwd_new(struct call *call, struct conn *target, const char *target_id)
{
	struct fwd_ends *caller_ends = ends_of(call->conn), *target_ends = ends_of(target);
	struct jsonw printed = { 0 };
	const char *id = id_text(call->id, &printed);
	size_t id_len = id != NULL ? strlen(id) : 0;
	struct fwd *f = NULL;

	/* Not calloc: glibc's never takes a block from the cache that free() fills. */
	if (caller_ends != NULL && target_ends != NULL && id != NULL &&
	    (f = malloc(sizeof(*f) + id_len + 1)) != NULL) {
		memset(f, 0, sizeof(*f));
		memcpy(f->caller_id, id, id_len + 1);
		f->caller_id_len = id_len;
	}
	free(printed.buf);
	if (f == NULL)
		return NULL;
	f->key.target_serial = target->serial;
	f->key.call_id = target_ends->next_call_id;
	if (hmap_put(&by_key, &f->key, sizeof(f->key), f) == -1) {
		free(f);
		return NULL;
	}
	target_ends->next_call_id += 2;
	f->caller = call->conn;
	f->target = target;
	memcpy(f->target_connection_id, target_id, UUID_STRING_LEN);	/* registry_find() checked its length */
	DL_INSERT_HEAD(&caller_ends->started, f, started_entry);
	DL_INSERT_HEAD(&target_ends->targeting, f, targeting_entry);
	if (target_ends->targeting_count++ == 0)
		conn_expect_replies(target, true);
	caller_ends->started_count++;
	return f;
}

/* Every member named key, in one pass: JSON text may repeat a name. */
static void
delete_members(cJSON *object, const char *key)
{
	cJSON *item = object->child, *next;

	for (; item != NULL; item = next) {
		next = item->next;
		if (item->string != NULL && strcmp(item->string, key) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(object, item));
	}
}

#define HEAD_ROOM	25	/* {"id": and at most 19 digits */

/*
 * Our call's text after its head, made at out: the members of the object
 * line[start, end) but any id of its own, each with the comma before it,
 * then the brace and a newline, in no more than end - start + 1 bytes.
 * Returns its length; 0 when it must be printed from the tree instead: a
 * name written with escapes, or the first 'do' not a string.
 */
static size_t
make_members(char *out, const char *line, size_t start, size_t end)
{
	struct jsonscan_member m;
	size_t len = 0;
	bool has_do = false;

	for (size_t at = start; jsonscan_next_member(line, end, &at, &m); ) {
		const char *name = line + m.name_start;
		size_t name_len = m.name_end - m.name_start, from = m.name_start - 1;

		if (memchr(name, '\\', name_len) != NULL)
			return 0;
		if (name_len == 2 && name[0] == 'd' && name[1] == 'o' && !has_do) {
			if (line[m.value_start] != '"')
				return 0;
			has_do = true;
		}
		if (name_len == 2 && name[0] == 'i' && name[1] == 'd')
			continue;
		out[len++] = ',';
		memcpy(out + len, line + from, m.value_end - from);
		len += m.value_end - from;
	}
	memcpy(out + len, "}\n", 2);
	return has_do ? len + 2 : 0;
}

/*
 * Room on target for our call made from the object line[start, end): its
 * members go at HEAD_ROOM, make_members() says how long they are. NULL
 * when target takes no more output.
 */
static char *
call_room(struct conn *target, size_t start, size_t end)
{
	return conn_accepts_output(target) ? conn_send_room(target, HEAD_ROOM + end - start + 1) : NULL;
}

/* Queues the call made in room: {"id":call_id (no printf: the hot path), then the len bytes of members. */
static void
send_call(struct conn *target, char *room, size_t len, int64_t call_id)
{
	char head[HEAD_ROOM];
	uint64_t n = (uint64_t)call_id;	/* call ids are positive */
	size_t at = HEAD_ROOM;

	do
		head[--at] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	at -= 6;
	memcpy(head + at, "{\"id\":", 6);
	memmove(room + HEAD_ROOM - at, room + HEAD_ROOM, len);
	memcpy(room, head + at, HEAD_ROOM - at);
	conn_send_commit(target, HEAD_ROOM - at + len);
}

/*
 * The operation as the caller wrote it, its members byte for byte after
 * our call id, without any id member of its own: its arguments reach the
 * target exactly, as replies come back. False when it must be printed from
 * the tree instead: a name written with escapes, or a raw control byte
 * that the request tolerated but a message we send may not hold.
 */
static bool
send_as_written(const struct call *call, struct conn *target, int64_t call_id)
{
	const char *line = call->line;
	size_t start, end, len;
	char *room;

	if (line == NULL || !jsonscan_member(line, call->line_len, "operation", &start, &end) ||
	    end >= call->line_len || line[start] != '{')
		return false;
	for (size_t i = start; i < end; i++) {
		if ((unsigned char)line[i] < 0x20)
			return false;
	}
	if ((room = call_room(target, start, end)) == NULL)
		return true;	/* nothing can be sent */
	if ((len = make_members(room + HEAD_ROOM, line, start, end)) == 0)
		return false;
	send_call(target, room, len, call_id);
	return true;
}

/* Our next call on target for the caller, its limits and timeout checked; NULL when refused (answered). */
static struct fwd *
forward_open(struct call *call, struct conn *target, const char *target_id, double timeout_seconds)
{
	struct fwd *f;

	if (target->fwd_ends != NULL && target->fwd_ends->targeting_count >= MAX_FORWARDS_PER_TARGET) {
		reply_fail(call, "Too many forwards waiting on connection %s (at most %d)",
		    target_id, MAX_FORWARDS_PER_TARGET);
		return NULL;
	}
	if (call->conn->fwd_ends != NULL &&
	    call->conn->fwd_ends->started_count >= MAX_FORWARDS_PER_CALLER) {
		reply_fail(call, "Too many forwards in flight from this connection (at most %d)",
		    MAX_FORWARDS_PER_CALLER);
		return NULL;
	}
	if ((f = fwd_new(call, target, target_id)) == NULL) {
		reply_fail(call, "Out of memory");
		return NULL;
	}
	if (timeout_seconds > 0) {
		f->timeout_seconds = timeout_seconds;
		f->deadline = mono_now_ms() + num_ceil(timeout_seconds * 1000);
		if (timer_insert(f) == -1) {
			f->deadline = 0;
			fwd_free(f);
			reply_fail(call, "Out of memory");
			return NULL;
		}
	}
	log_debug("forwarding conn=%llu to=%s call_id=%lld",
	    (unsigned long long)call->conn->serial, target_id,
	    (long long)f->key.call_id);
	return f;
}

void
forward_start(struct call *call, struct conn *target, const char *target_id,
    cJSON *operation, double timeout_seconds)
{
	struct fwd *f = forward_open(call, target, target_id, timeout_seconds);
	cJSON call_id = { .type = cJSON_Number };

	if (f == NULL || send_as_written(call, target, f->key.call_id))
		return;
	call_id.valuedouble = (double)f->key.call_id;
	call_id.valueint = (int)f->key.call_id;
	delete_members(operation, "id");
	reply_message(target, &call_id, false, operation);
}

/* The call is made before the forward opens: what it refuses takes the parsed path, which words it. */
bool
forward_start_text(struct call *call, struct conn *target, const char *target_id, size_t start,
    size_t end)
{
	char *room = call_room(target, start, end);
	size_t len = room != NULL ? make_members(room + HEAD_ROOM, call->line, start, end) : 0;
	struct fwd *f;

	if (len == 0)
		return false;
	/* A refusal to a caller that is the target overwrites the room, never queued. */
	if ((f = forward_open(call, target, target_id, 0)) != NULL)
		send_call(target, room, len, f->key.call_id);
	return true;
}

static struct fwd *
find(const struct conn *target, double id)
{
	struct fwd_key key = { .target_serial = target->serial };
	struct fwd *last = target->fwd_ends != NULL ? DL_FIRST(&target->fwd_ends->targeting) : NULL;

	if (!num_is_whole(id, 9e15))
		return NULL;
	key.call_id = (int64_t)id;
	/* Most often the call made last is the one answered: no lookup then. */
	if (last != NULL && last->key.call_id == key.call_id)
		return last;
	return hmap_get(&by_key, &key, sizeof(key));
}

static struct fwd	*find_by_id_text(const struct conn *target, const char *text, size_t len);

/* The open forward the raw text of a reply names in its "id", or NULL. */
static struct fwd *
find_by_text(const struct conn *target, const char *line, size_t len)
{
	size_t start, stop;

	if (!jsonscan_member(line, len, "id", &start, &stop) || stop >= len)
		return NULL;
	return find_by_id_text(target, line + start, stop - start);
}

/*
 * The reply as the target wrote it, but for its id: the caller's in its
 * place, or no id member at all when the caller's request had none. The
 * rest is passed on byte for byte (SPEC 2, Fidelity): numbers keep their
 * spelling and strings every character. False when the id cannot be
 * found in the text (a name spelled with escapes).
 */
static void
relay_at(struct fwd *f, const char *line, size_t len, size_t name, size_t start, size_t end)
{
	size_t cut_from = start, cut_to = end, id_len = f->caller_id_len;
	struct conn *caller = f->caller;
	char *out;

	if (id_len == 0) {
		/* Without the member and one comma beside it. */
		cut_from = name;
		while (cut_to < len && (line[cut_to] == ' ' || line[cut_to] == '\t'))
			cut_to++;
		if (cut_to < len && line[cut_to] == ',') {
			cut_to++;
		} else {
			while (cut_from > 0 && line[cut_from - 1] != ',' && line[cut_from - 1] != '{')
				cut_from--;
			if (cut_from > 0 && line[cut_from - 1] == ',')
				cut_from--;
		}
	}
	len -= cut_to;
	if (!conn_accepts_output(caller) ||
	    (out = conn_send_room(caller, cut_from + id_len + len + 1)) == NULL)
		return;
	memcpy(out, line, cut_from);
	memcpy(out + cut_from, f->caller_id, id_len);
	memcpy(out + cut_from + id_len, line + cut_to, len);
	out[cut_from + id_len + len] = '\n';
	conn_send_commit(caller, cut_from + id_len + len + 1);
}

static bool
relay_exact(struct fwd *f, const char *line, size_t len)
{
	size_t name, start, end;

	if (!jsonscan_member_at(line, len, "id", &name, &start, &end) || end >= len)
		return false;
	relay_at(f, line, len, name, start, end);
	return true;
}

/* The open forward a reply's id text names, or NULL. */
static struct fwd *
find_by_id_text(const struct conn *target, const char *text, size_t len)
{
	char number[32], *end;
	uint64_t value = 0;
	size_t i = 0;
	double id;

	if (len == 0 || len >= sizeof(number) ||
	    !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
		return NULL;
	/* The usual id: 3, 5, 7, ... */
	while (i < len && len < 16 && text[i] >= '0' && text[i] <= '9')
		value = value * 10 + (uint64_t)(text[i++] - '0');
	if (i == len)
		return find(target, (double)value);
	memcpy(number, text, len);
	number[len] = '\0';
	id = strtod(number, &end);
	return *end == '\0' ? find(target, id) : NULL;
}

/* Replies hold few members; one with more takes the general path. */
#define RELAY_MEMBERS	16

enum relay_result
forward_relay_text(struct conn *c, const char *line, size_t len)
{
	struct jsonscan_member m[RELAY_MEMBERS];
	const struct jsonscan_member *seen[3] = { NULL, NULL, NULL }, *id, *finished;	/* id, do, finished */
	size_t count, bad;
	struct fwd *f;

	/* Checked and read in one pass; anything unusual or invalid goes to the parser. */
	if (!jsonscan_object(line, len, &bad, m, RELAY_MEMBERS, &count) || count > RELAY_MEMBERS)
		return RELAY_NEEDS_TREE;
	for (size_t k = 0; k < count; k++) {
		const char *name = line + m[k].name_start;
		size_t name_len = m[k].name_end - m[k].name_start, i;

		if (memchr(name, '\\', name_len) != NULL)
			return RELAY_NEEDS_TREE;
		if (name_len == 2 && (name[0] == 'i' || name[0] == 'd'))
			i = name[0] == 'd' && name[1] == 'o' ? 1 : name[0] == 'i' && name[1] == 'd' ? 0 : 3;
		else
			i = name_len == 8 && memcmp(name, "finished", 8) == 0 ? 2 : 3;
		if (i < 3 && seen[i] != NULL)
			return RELAY_NEEDS_TREE;	/* the parser says which is given twice */
		if (i < 3)
			seen[i] = &m[k];
	}
	id = seen[0];
	finished = seen[2];
	if (id == NULL || (f = find_by_id_text(c, line + id->value_start, id->value_end - id->value_start)) == NULL)
		return RELAY_NOT_A_REPLY;
	relay_at(f, line, len, id->name_start - 1, id->value_start, id->value_end);
	if (finished != NULL && finished->value_end - finished->value_start == 4 &&
	    memcmp(line + finished->value_start, "true", 4) == 0)
		fwd_free(f);
	return RELAY_DONE;
}

bool
forward_reply(struct conn *c, cJSON *msg, const char *line, size_t len)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	cJSON caller_id = { .type = cJSON_Raw };
	struct fwd *f;

	if (!cJSON_IsNumber(id) || (f = find(c, id->valuedouble)) == NULL)
		return false;
	if (!relay_exact(f, line, len)) {
		delete_members(msg, "id");
		caller_id.valuestring = f->caller_id;
		reply_message(f->caller, f->caller_id_len != 0 ? &caller_id : NULL, false, msg);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "finished")))
		fwd_free(f);
	return true;
}

bool
forward_big_reply(struct conn *c, const char *line, size_t len)
{
	size_t name, start, end;
	struct fwd *f;

	if (!jsonscan_member_at(line, len, "id", &name, &start, &end) || end >= len ||
	    (f = find_by_id_text(c, line + start, end - start)) == NULL)
		return false;
	relay_at(f, line, len, name, start, end);
	if (jsonscan_member(line, len, "finished", &start, &end) && end - start == 4 &&
	    memcmp(line + start, "true", 4) == 0)
		fwd_free(f);
	return true;
}

bool
forward_reply_failed(struct conn *c, const char *line, size_t len, const char *error)
{
	struct fwd *f = find_by_text(c, line, len);

	if (f == NULL)
		return false;
	log_warnx("a reply to a forward was lost: %s conn=%llu call_id=%lld bytes=%zu",
	    error, (unsigned long long)c->serial, (long long)f->key.call_id, len);
	fail_caller(f, error);
	fwd_free(f);
	return true;
}

bool
forward_reply_too_long(struct conn *c, const char *start, size_t len)
{
	struct fwd *f, *next;
	size_t id_start, id_end;

	if (c->fwd_ends == NULL || c->fwd_ends->targeting_count == 0)
		return false;
	if (jsonscan_member(start, len, "id", &id_start, &id_end) && id_end < len) {
		/* It names its call: that forward alone, if it is one. */
		if ((f = find_by_id_text(c, start + id_start, id_end - id_start)) == NULL)
			return false;
		log_warnx("reply too long: failing its forward conn=%llu call_id=%lld max_reply=%zu",
		    (unsigned long long)c->serial, (long long)f->key.call_id, conn_limits.max_reply);
		fail_caller_with(f, "Reply too long", "size_limit", (double)conn_limits.max_reply);
		fwd_free(f);
		return true;
	}
	/* Its id was not in the part kept: which call it answered is unknown, so no caller may wait on it. */
	log_warnx("reply too long, its id unread: failing every forward to the connection conn=%llu forwards=%zu max_reply=%zu",
	    (unsigned long long)c->serial, c->fwd_ends->targeting_count, conn_limits.max_reply);
	for (f = DL_FIRST(&c->fwd_ends->targeting); f != NULL; f = next) {
		next = DL_NEXT(f, targeting_entry);
		fail_caller_with(f, "Reply too long", "size_limit", (double)conn_limits.max_reply);
		fwd_free(f);
	}
	return true;
}

bool
forward_is_target(const struct conn *c)
{
	return c->fwd_ends != NULL && c->fwd_ends->targeting_count > 0;
}

bool
forward_awaits_replies(const struct conn *c)
{
	return c->fwd_ends != NULL && !DL_EMPTY(&c->fwd_ends->started);
}

void
forward_conn_gone(struct conn *c)
{
	struct fwd_ends *ends = c->fwd_ends;
	struct fwd *f;

	if (ends == NULL)
		return;
	/* A target's late replies to these then look stale, and are ignored. */
	while ((f = DL_FIRST(&ends->started)) != NULL)
		fwd_free(f);
	while ((f = DL_FIRST(&ends->targeting)) != NULL) {
		fail_caller(f, "Connection closed");
		fwd_free(f);
	}
	free(ends);
	c->fwd_ends = NULL;
}

int64_t
forward_next_deadline(void)
{
	return timer_count > 0 ? timers[0]->deadline : -1;
}

/* The target is still registered: a forward to a closed one has ended already. */
static void
publish_timeout(const struct fwd *f)
{
	char extra[96];
	struct event e = {
		.type = EVENT_FORWARD_TIMEOUT,
		.connection_id = f->target_connection_id,
		.process_id = registry_process_id(f->target),
		.name = cJSON_GetObjectItemCaseSensitive(registry_state(f->target), "name"),
		.extra = extra,
	};
	int len = fmt_snprintf(extra, sizeof(extra), ",\"timeout\":%.6g,\"call_id\":%lld",
	    f->timeout_seconds, (long long)f->key.call_id);

	e.extra_len = len > 0 && (size_t)len < sizeof(extra) ? (size_t)len : 0;
	events_publish(&e);
}

void
forward_expire(int64_t now_ms)
{
	struct fwd *f;

	while (timer_count > 0 && (f = timers[0])->deadline <= now_ms) {
		fail_caller(f, "Timed out");
		publish_timeout(f);
		fwd_free(f);
	}
}

void
forward_free_all(void)
{
	hmap_clear(&by_key);
	free(timers);
	timers = NULL;
	timer_count = timer_cap = 0;
}
