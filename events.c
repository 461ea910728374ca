#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "lib/clock.h"
#include "lib/fmt.h"
#include "lib/hmap.h"
#include "lib/jsonw.h"

/* A name longer than this as JSON is left out of events: the ring stays small. */
#define NAME_SHOWN	1024

/* Names in place, not pointers: no relocation per name in a position-independent binary. */
static const char type_names[EVENT_TYPE_COUNT][16] = {
	[EVENT_REGISTERED] = "registered",
	[EVENT_UPDATED] = "updated",
	[EVENT_REMOVED] = "removed",
	[EVENT_MONITOR] = "monitor",
	[EVENT_RESTART] = "restart",
	[EVENT_FORWARD_TIMEOUT] = "forward_timeout",
};

/* Members text, without braces: "event":"…","at":…,… */
struct slot {
	enum event_type	 type;
	char		*text;
	size_t		 len, cap;
};

struct subscriber {
	void			*owner;
	size_t			 head_len;
	unsigned		 mask;
	struct subscriber	*prev, *next;
	struct subscriber	*same_owner;	/* the owner's next subscription */
	char			 head[];	/* each line's start, "{" or "{\"id\":ID,"; in the same allocation */
};

static events_deliver_fn *deliver;
static struct slot ring[EVENTS_KEPT];
static uint64_t published;		/* events ever published; the next goes to published % EVENTS_KEPT */
static struct subscriber *subscribers;
static size_t subscriber_count;
/* Owner to its most recent subscription, keyed by that one's owner member. */
static struct hmap by_owner;
static struct jsonw scratch;		/* an event, then each line, is formatted here */

void
events_init(events_deliver_fn *fn)
{
	deliver = fn;
}

int
events_type_from_name(const char *name, size_t len)
{
	for (int i = 0; i < EVENT_TYPE_COUNT; i++) {
		if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

const char *
events_type_name(enum event_type type)
{
	return type < EVENT_TYPE_COUNT ? type_names[type] : "unknown";
}

static void
format_event(struct jsonw *w, const struct event *e)
{
	int64_t now = clock_ms(CLOCK_REALTIME);
	char head[160];
	int len;

	/* Type names and connection ids need no escaping. */
	len = fmt_snprintf(head, sizeof(head), "\"event\":\"%s\",\"at\":%lld.%03lld",
	    events_type_name(e->type), (long long)(now / 1000), (long long)(now % 1000));
	if (e->connection_id != NULL)
		len += fmt_snprintf(head + len, sizeof(head) - (size_t)len, ",\"connection_id\":\"%.36s\"",
		    e->connection_id);
	if (e->process_id > 0)
		len += fmt_snprintf(head + len, sizeof(head) - (size_t)len, ",\"process_id\":%ld",
		    (long)e->process_id);
	jsonw_raw(w, head, (size_t)len);
	if (e->name != NULL) {
		size_t before = w->len;

		jsonw_raw(w, ",\"name\":", 8);
		jsonw_value(w, e->name);
		if (!w->failed && w->len - before > NAME_SHOWN + 8)
			w->len = before;
	}
	if (e->extra != NULL)
		jsonw_raw(w, e->extra, e->extra_len);
}

/* Copies the formatted event into its slot, reusing the slot's buffer. */
static void
store(enum event_type type, const char *text, size_t len)
{
	struct slot *s = &ring[published % EVENTS_KEPT];

	if (s->cap < len) {
		char *grown = realloc(s->text, len);

		if (grown == NULL) {
			s->len = 0;	/* the slot is skipped by a backlog */
			published++;
			return;
		}
		s->text = grown;
		s->cap = len;
	}
	memcpy(s->text, text, len);
	s->len = len;
	s->type = type;
	published++;
}

static void
send_to(const struct subscriber *sub, const char *members, size_t len)
{
	jsonw_reset(&scratch);
	jsonw_raw(&scratch, sub->head, sub->head_len);
	jsonw_raw(&scratch, members, len);
	jsonw_raw(&scratch, "}\n", 2);
	if (!scratch.failed && deliver != NULL)
		deliver(sub->owner, scratch.buf, scratch.len);
}

void
events_publish(const struct event *e)
{
	const struct slot *s;

	if ((unsigned)e->type >= EVENT_TYPE_COUNT)
		return;
	jsonw_reset(&scratch);
	format_event(&scratch, e);
	if (scratch.failed) {
		jsonw_reset(&scratch);
		return;
	}
	store(e->type, scratch.buf, scratch.len);
	s = &ring[(published - 1) % EVENTS_KEPT];
	/* send_to reuses scratch: the slot holds the text now. */
	for (const struct subscriber *sub = subscribers; sub != NULL && s->len > 0; sub = sub->next) {
		if (sub->mask & (1u << e->type))
			send_to(sub, s->text, s->len);
	}
	jsonw_reset(&scratch);
}

static void
replay(const struct subscriber *sub, size_t backlog)
{
	uint64_t kept = published < EVENTS_KEPT ? published : EVENTS_KEPT;
	uint64_t from = published, matched = 0;

	/* Walk back to the oldest of the last backlog matching events, then forward. */
	while (from > published - kept && matched < backlog) {
		const struct slot *s = &ring[(from - 1) % EVENTS_KEPT];

		from--;
		if (s->len > 0 && (sub->mask & (1u << s->type)))
			matched++;
	}
	for (uint64_t i = from; i < published; i++) {
		const struct slot *s = &ring[i % EVENTS_KEPT];

		if (s->len > 0 && (sub->mask & (1u << s->type)))
			send_to(sub, s->text, s->len);
	}
	jsonw_reset(&scratch);
}

int
events_subscribe(void *owner, const char *id_text, size_t id_len, unsigned mask,
    size_t backlog)
{
	struct subscriber *head = hmap_get(&by_owner, &owner, sizeof(owner));
	struct subscriber *sub;

	if (events_owner_full(owner))
		return -1;
	if ((sub = calloc(1, sizeof(*sub) + id_len + 7)) == NULL)
		return -1;
	memcpy(sub->head, "{\"id\":", 6);
	sub->head_len = 1;
	if (id_text != NULL) {
		memcpy(sub->head + 6, id_text, id_len);
		sub->head[6 + id_len] = ',';
		sub->head_len = id_len + 7;
	}
	sub->owner = owner;
	/* The same key bytes: the entry now points at the new head's owner member. */
	if (hmap_put(&by_owner, &sub->owner, sizeof(sub->owner), sub) == -1) {
		free(sub);
		return -1;
	}
	sub->same_owner = head;
	sub->mask = mask & EVENTS_ALL_TYPES;
	if (backlog > 0)
		replay(sub, backlog);
	sub->next = subscribers;
	if (subscribers != NULL)
		subscribers->prev = sub;
	subscribers = sub;
	subscriber_count++;
	return 0;
}

static void
unlink_subscriber(struct subscriber *sub)
{
	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		subscribers = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	free(sub);
	subscriber_count--;
}

/* Constant time per subscription of owner: every closing connection asks. */
void
events_unsubscribe(void *owner)
{
	struct subscriber *sub = hmap_remove(&by_owner, &owner, sizeof(owner)), *next;

	for (; sub != NULL; sub = next) {
		next = sub->same_owner;
		unlink_subscriber(sub);
	}
}

bool
events_subscribed(const void *owner)
{
	return hmap_get(&by_owner, &owner, sizeof(owner)) != NULL;
}

bool
events_owner_full(const void *owner)
{
	size_t count = 0;

	for (const struct subscriber *sub = hmap_get(&by_owner, &owner, sizeof(owner));
	    sub != NULL; sub = sub->same_owner)
		count++;
	return count >= EVENTS_PER_OWNER;
}

size_t
events_subscriber_count(void)
{
	return subscriber_count;
}

void
events_free(void)
{
	struct subscriber *sub, *next;

	for (sub = subscribers; sub != NULL; sub = next) {
		next = sub->next;
		free(sub);
	}
	subscribers = NULL;
	subscriber_count = 0;
	hmap_clear(&by_owner);
	for (size_t i = 0; i < EVENTS_KEPT; i++) {
		free(ring[i].text);
		ring[i] = (struct slot){ 0 };
	}
	published = 0;
	jsonw_reset(&scratch);
	free(scratch.buf);
	scratch = (struct jsonw){ 0 };
}
