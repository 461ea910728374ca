#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "conn.h"
#include "forward.h"
#include "lib/hmap.h"
#include "lib/list.h"
#include "lib/log.h"
#include "reply.h"
#include "lib/num.h"
#include "lib/uuid.h"

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
	cJSON		*caller_id;		/* owned copy of the caller's id, or NULL */
	struct conn	*target;
	char		 target_connection_id[UUID_STRING_LEN + 1];
	int64_t		 deadline;		/* monotonic ms, 0 for none */
	uint64_t	 timer_order;		/* equal deadlines expire in this order */
	size_t		 timer_index;		/* in timers, when deadline != 0 */
	double		 timeout_seconds;
	DL_ENTRY(fwd)	 started_entry;		/* in the caller's ends' started */
	DL_ENTRY(fwd)	 targeting_entry;	/* in the target's ends' targeting */
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
	f->target->fwd_ends->targeting_count--;
	f->caller->fwd_ends->started_count--;
	if (f->deadline != 0)
		timer_remove(f);
	cJSON_Delete(f->caller_id);
	free(f);
}

static void
fail_caller(struct fwd *f, const char *error)
{
	cJSON *extra = cJSON_CreateObject();

	cJSON_AddStringToObject(extra, "connection_id", f->target_connection_id);
	if (f->deadline != 0)
		cJSON_AddNumberToObject(extra, "timeout", f->timeout_seconds);
	reply_failure(f->caller, f->caller_id, error, extra);
	cJSON_Delete(extra);
}

static struct fwd *
fwd_new(struct call *call, struct conn *target, const char *target_id)
{
	struct fwd_ends *caller_ends = ends_of(call->conn), *target_ends = ends_of(target);
	struct fwd *f;

	if (caller_ends == NULL || target_ends == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (call->id != NULL && (f->caller_id = cJSON_Duplicate(call->id, true)) == NULL) {
		free(f);
		return NULL;
	}
	f->key.target_serial = target->serial;
	f->key.call_id = target_ends->next_call_id;
	if (hmap_put(&by_key, &f->key, sizeof(f->key), f) == -1) {
		cJSON_Delete(f->caller_id);
		free(f);
		return NULL;
	}
	target_ends->next_call_id += 2;
	f->caller = call->conn;
	f->target = target;
	memcpy(f->target_connection_id, target_id, UUID_STRING_LEN);	/* registry_find() checked its length */
	DL_INSERT_HEAD(&caller_ends->started, f, started_entry);
	DL_INSERT_HEAD(&target_ends->targeting, f, targeting_entry);
	target_ends->targeting_count++;
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

void
forward_start(struct call *call, struct conn *target, const char *target_id,
    cJSON *operation, double timeout_seconds)
{
	struct fwd *f;
	cJSON call_id = { .type = cJSON_Number };

	if (target->fwd_ends != NULL && target->fwd_ends->targeting_count >= MAX_FORWARDS_PER_TARGET) {
		reply_fail(call, "Too many forwards waiting on connection %s (at most %d)",
		    target_id, MAX_FORWARDS_PER_TARGET);
		return;
	}
	if (call->conn->fwd_ends != NULL &&
	    call->conn->fwd_ends->started_count >= MAX_FORWARDS_PER_CALLER) {
		reply_fail(call, "Too many forwards in flight from this connection (at most %d)",
		    MAX_FORWARDS_PER_CALLER);
		return;
	}
	if ((f = fwd_new(call, target, target_id)) == NULL) {
		reply_fail(call, "Out of memory");
		return;
	}
	if (timeout_seconds > 0) {
		f->timeout_seconds = timeout_seconds;
		f->deadline = mono_now_ms() + num_ceil(timeout_seconds * 1000);
		if (timer_insert(f) == -1) {
			f->deadline = 0;
			fwd_free(f);
			reply_fail(call, "Out of memory");
			return;
		}
	}
	call_id.valuedouble = (double)f->key.call_id;
	call_id.valueint = (int)f->key.call_id;
	delete_members(operation, "id");
	log_debug("forwarding conn=%llu to=%s call_id=%lld",
	    (unsigned long long)call->conn->serial, target_id,
	    (long long)f->key.call_id);
	reply_message(target, &call_id, false, operation);
}

bool
forward_reply(struct conn *c, cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	struct fwd_key key = { .target_serial = c->serial };
	struct fwd *f;

	if (!cJSON_IsNumber(id) || !num_is_whole(id->valuedouble, 9e15))
		return false;
	key.call_id = (int64_t)id->valuedouble;
	if ((f = hmap_get(&by_key, &key, sizeof(key))) == NULL)
		return false;
	delete_members(msg, "id");
	reply_message(f->caller, f->caller_id, false, msg);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "finished")))
		fwd_free(f);
	return true;
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

void
forward_expire(int64_t now_ms)
{
	struct fwd *f;

	while (timer_count > 0 && (f = timers[0])->deadline <= now_ms) {
		fail_caller(f, "Timed out");
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
