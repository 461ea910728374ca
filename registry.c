#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "lib/clock.h"
#include "lib/hmap.h"
#include "lib/jsonw.h"
#include "registry.h"

static struct hmap by_id;
static struct registration *first, *last;

/* {"connection_id":…,"process_id":…,"state":{…},"registered_at":…,"last_action":{…}} */
static void
write_entry(struct jsonw *w, const struct registration *r)
{
	const cJSON *state = r->state_as_sent != NULL ? r->state_as_sent : r->state;
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(state, "process_id");

	jsonw_literal(w, "{\"connection_id\":");
	jsonw_string(w, r->connection_id);
	jsonw_literal(w, ",\"process_id\":");
	if (pid != NULL)
		jsonw_value(w, pid);
	else
		jsonw_literal(w, "null");
	jsonw_literal(w, ",\"state\":");
	jsonw_value(w, state);
	jsonw_literal(w, ",\"registered_at\":");
	jsonw_number(w, (double)r->registered_at);
	if (r->last_action != NULL) {
		jsonw_literal(w, ",\"last_action\":");
		jsonw_raw(w, r->last_action, strlen(r->last_action));
	}
	jsonw_literal(w, "}");
}

/*
 * A registration's status entry changes only on update or when a monitor
 * acts on its pid, so it is written then and status copies the text: no
 * tree walk per status call.
 */
static void
cache_status_entry(struct registration *r)
{
	struct jsonw w = { 0 };
	char *shrunk;

	free(r->status_entry);
	write_entry(&w, r);
	if (w.failed) {
		free(w.buf);
		w.buf = NULL;	/* status tries again */
	} else if ((shrunk = realloc(w.buf, w.len)) != NULL) {
		w.buf = shrunk;	/* each of many registrations keeps only its text */
	}
	r->status_entry = w.buf;
	r->status_entry_len = w.len;
}

static void
unlink_order(struct registration *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		first = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		last = r->prev;
}

static void
link_last(struct registration *r)
{
	r->next = NULL;
	r->prev = last;
	if (last != NULL)
		last->next = r;
	else
		first = r;
	last = r;
}

static void
destroy(struct registration *r)
{
	hmap_remove(&by_id, r->connection_id, UUID_STRING_LEN);
	unlink_order(r);
	cJSON_Delete(r->state);
	cJSON_Delete(r->state_as_sent);
	free(r->status_entry);
	free(r->last_action);
	free(r);
}

int
registry_set(struct conn *c, cJSON *state, cJSON *state_as_sent, const char *connection_id,
    pid_t process_id)
{
	struct registration *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -1;
	memcpy(r->connection_id, connection_id, UUID_STRING_LEN);
	r->connection_id[UUID_STRING_LEN] = '\0';
	if (hmap_put(&by_id, r->connection_id, UUID_STRING_LEN, r) == -1) {
		free(r);
		return -1;
	}
	/* Nothing fails from here on: the old registration gives way. */
	if (c->registration != NULL) {
		/* What a monitor did is kept for the connection's life. */
		r->last_action = c->registration->last_action;
		c->registration->last_action = NULL;
		destroy(c->registration);
	}
	r->conn = c;
	r->state = state;
	r->state_as_sent = state_as_sent;
	r->process_id = process_id;
	r->registered_at = clock_ms(CLOCK_REALTIME) / 1000;
	cache_status_entry(r);
	link_last(r);
	c->registration = r;
	return 0;
}

void
registry_update(struct conn *c, cJSON *state, cJSON *state_as_sent, pid_t process_id)
{
	struct registration *r = c->registration;

	cJSON_Delete(r->state);
	cJSON_Delete(r->state_as_sent);
	r->state = state;
	r->state_as_sent = state_as_sent;
	r->process_id = process_id;
	cache_status_entry(r);
}

void
registry_note_action(pid_t pid, const char *action, size_t len)
{
	for (struct registration *r = first; r != NULL; r = r->next) {
		char *copy;

		if (r->process_id != pid || (copy = malloc(len + 1)) == NULL)
			continue;
		memcpy(copy, action, len);
		copy[len] = '\0';
		free(r->last_action);
		r->last_action = copy;
		cache_status_entry(r);
	}
}

void
registry_forget(struct conn *c)
{
	if (c->registration == NULL)
		return;
	destroy(c->registration);
	c->registration = NULL;
}

const cJSON *
registry_state(const struct conn *c)
{
	return c->registration != NULL ? c->registration->state : NULL;
}

const cJSON *
registry_state_as_sent(const struct conn *c)
{
	return c->registration != NULL ? c->registration->state_as_sent : NULL;
}

const char *
registry_connection_id(const struct conn *c)
{
	return c->registration != NULL ? c->registration->connection_id : NULL;
}

pid_t
registry_process_id(const struct conn *c)
{
	return c->registration != NULL ? c->registration->process_id : 0;
}

struct conn *
registry_find(const char *connection_id)
{
	struct registration *r;

	if (strlen(connection_id) != UUID_STRING_LEN)
		return NULL;
	r = hmap_get(&by_id, connection_id, UUID_STRING_LEN);
	return r != NULL ? r->conn : NULL;
}

struct conn *
registry_next(const struct conn *c)
{
	const struct registration *r = c == NULL ? first : c->registration->next;

	return r != NULL ? r->conn : NULL;
}

size_t
registry_status(char *out)
{
	size_t len = 0;

	for (struct registration *r = first; r != NULL; r = r->next) {
		if (r->status_entry == NULL && (cache_status_entry(r), r->status_entry == NULL))
			return SIZE_MAX;
		if (out != NULL) {
			memcpy(out + len, r->status_entry, r->status_entry_len);
			out[len + r->status_entry_len] = ',';
		}
		len += r->status_entry_len + 1;
	}
	return len - (len > 0);	/* the last comma is past the end */
}

void
registry_free(void)
{
	while (first != NULL)
		registry_forget(first->conn);
	hmap_clear(&by_id);
}
