#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "conn.h"
#include "forward.h"
#include "hmap.h"
#include "log.h"
#include "rpc.h"
#include "num.h"

/* Bounds the table however a caller floods a target that never answers. */
#define MAX_FORWARDS_PER_TARGET 4096

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
	double		 timeout_seconds;
	LIST_ENTRY(fwd)	 started_entry;		/* in caller->fwd_started */
	LIST_ENTRY(fwd)	 targeting_entry;	/* in target->fwd_targeting */
	TAILQ_ENTRY(fwd) timer_entry;		/* in timers, when deadline != 0 */
};

static struct hmap by_key;
static TAILQ_HEAD(fwd_timers, fwd) timers = TAILQ_HEAD_INITIALIZER(timers);

static void
timer_insert(struct fwd *f)
{
	struct fwd *later;

	/* Timeouts are mostly equal, so the new one usually belongs at the tail. */
	TAILQ_FOREACH_REVERSE(later, &timers, fwd_timers, timer_entry) {
		if (later->deadline <= f->deadline) {
			TAILQ_INSERT_AFTER(&timers, later, f, timer_entry);
			return;
		}
	}
	TAILQ_INSERT_HEAD(&timers, f, timer_entry);
}

static void
fwd_free(struct fwd *f)
{
	hmap_remove(&by_key, &f->key, sizeof(f->key));
	LIST_REMOVE(f, started_entry);
	conn_call_ended(f->caller);
	LIST_REMOVE(f, targeting_entry);
	f->target->fwd_targeting_count--;
	if (f->deadline != 0)
		TAILQ_REMOVE(&timers, f, timer_entry);
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
	rpc_send_failure(f->caller, f->caller_id, error, extra);
	cJSON_Delete(extra);
}

static struct fwd *
fwd_new(struct rpc_call *call, struct conn *target)
{
	struct fwd *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	if (call->id != NULL && (f->caller_id = cJSON_Duplicate(call->id, true)) == NULL) {
		free(f);
		return NULL;
	}
	f->key.target_serial = target->serial;
	f->key.call_id = target->next_call_id;
	if (hmap_put(&by_key, &f->key, sizeof(f->key), f) == -1) {
		cJSON_Delete(f->caller_id);
		free(f);
		return NULL;
	}
	target->next_call_id += 2;
	f->caller = call->conn;
	f->target = target;
	memcpy(f->target_connection_id, target->connection_id, sizeof(f->target_connection_id));
	LIST_INSERT_HEAD(&call->conn->fwd_started, f, started_entry);
	LIST_INSERT_HEAD(&target->fwd_targeting, f, targeting_entry);
	target->fwd_targeting_count++;
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
forward_start(struct rpc_call *call, struct conn *target, cJSON *operation,
    double timeout_seconds)
{
	struct fwd *f;
	cJSON call_id = { .type = cJSON_Number };

	if (target->fwd_targeting_count >= MAX_FORWARDS_PER_TARGET) {
		rpc_fail(call, "Too many forwards waiting on connection %s (at most %d)",
		    target->connection_id, MAX_FORWARDS_PER_TARGET);
		return;
	}
	if ((f = fwd_new(call, target)) == NULL) {
		rpc_fail(call, "Out of memory");
		return;
	}
	if (timeout_seconds > 0) {
		f->timeout_seconds = timeout_seconds;
		f->deadline = mono_now_ms() + num_ceil(timeout_seconds * 1000);
		timer_insert(f);
	}
	call_id.valuedouble = (double)f->key.call_id;
	call_id.valueint = (int)f->key.call_id;
	delete_members(operation, "id");
	log_debug("forwarding conn=%llu to=%s call_id=%lld",
	    (unsigned long long)call->conn->serial, target->connection_id,
	    (long long)f->key.call_id);
	rpc_send_message(target, &call_id, false, operation);
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
	rpc_send_message(f->caller, f->caller_id, false, msg);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "finished")))
		fwd_free(f);
	return true;
}

void
forward_conn_gone(struct conn *c)
{
	struct fwd *f;

	/* A target's late replies to these then look stale, and are ignored. */
	while ((f = LIST_FIRST(&c->fwd_started)) != NULL)
		fwd_free(f);
	while ((f = LIST_FIRST(&c->fwd_targeting)) != NULL) {
		fail_caller(f, "Connection closed");
		fwd_free(f);
	}
}

int64_t
forward_next_deadline(void)
{
	struct fwd *first = TAILQ_FIRST(&timers);

	return first != NULL ? first->deadline : -1;
}

void
forward_expire(int64_t now_ms)
{
	struct fwd *f;

	while ((f = TAILQ_FIRST(&timers)) != NULL && f->deadline <= now_ms) {
		fail_caller(f, "Timed out");
		fwd_free(f);
	}
}

void
forward_free_all(void)
{
	hmap_clear(&by_key);
}
