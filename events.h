/*
 * Events: what happened to registered connections, kept in a fixed ring
 * for a backlog and streamed to the callers of "events". An event is kept
 * as the JSON text of its members; a subscriber is an opaque owner and the
 * id text its replies carry. Lines go out through the deliver function
 * given to events_init, so this module knows nothing of connections.
 * With no subscriber, publishing formats one small record into the ring
 * and allocates nothing once the ring's slots have grown.
 */
#ifndef EVENTS_H
#define EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

enum event_type {
	EVENT_REGISTERED,
	EVENT_UPDATED,
	EVENT_REMOVED,
	EVENT_MONITOR,
	EVENT_RESTART,
	EVENT_FORWARD_TIMEOUT,
	EVENT_TYPE_COUNT
};

#define EVENTS_KEPT		128	/* the ring: the most a backlog replays */
/*
 * Open subscriptions one owner may hold: each costs every publish a look,
 * so a peer repeating "events" must not make the loop slow for everyone.
 */
#define EVENTS_PER_OWNER	16
#define EVENTS_ALL_TYPES	((1u << EVENT_TYPE_COUNT) - 1)

/* One line, ended by a newline, for owner. */
typedef void events_deliver_fn(void *owner, const char *line, size_t len);

struct event {
	enum event_type	 type;
	const char	*connection_id;	/* UUID text (36 bytes), or NULL when none applies */
	pid_t		 process_id;	/* 0 when none applies */
	const cJSON	*name;		/* the state's "name", or NULL */
	/* Further members as JSON text, each with a leading comma; may be NULL. */
	const char	*extra;
	size_t		 extra_len;
};

void		 events_init(events_deliver_fn *deliver);
/* The type named name (its full length), or -1. */
int		 events_type_from_name(const char *name, size_t len);
const char	*events_type_name(enum event_type type);
/* Records e in the ring, stamped with the wall clock, and delivers it. */
void		 events_publish(const struct event *e);
/*
 * Adds a subscriber for the types in mask, first replaying to it up to
 * backlog of the most recent matching events, oldest first. id_text is
 * the JSON text of the caller's id (NULL for none). Returns 0, or -1 when
 * memory runs out or owner holds EVENTS_PER_OWNER subscriptions already.
 */
int		 events_subscribe(void *owner, const char *id_text, size_t id_len,
		    unsigned mask, size_t backlog);
void		 events_unsubscribe(void *owner);
/* True while owner has a subscription. */
bool		 events_subscribed(const void *owner);
/* True when owner may not subscribe again (EVENTS_PER_OWNER). */
bool		 events_owner_full(const void *owner);
size_t		 events_subscriber_count(void);
/* Frees the ring and every subscriber. */
void		 events_free(void);

#endif
