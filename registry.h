/*
 * Registered connections: each one's registration (state, connection_id,
 * the pid monitors watch, its status entry), indexed by connection_id and
 * kept in registration order. registry.c owns struct registration; other
 * modules go through these functions.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/uuid.h"

struct conn;

struct registration {
	struct conn	*conn;
	cJSON		*state;			/* as merged, with process_id and connection_id */
	cJSON		*state_as_sent;		/* the same members as raw JSON text: what status lists */
	char		 connection_id[UUID_STRING_LEN + 1];
	char		*status_entry;		/* its entry in status as JSON text, or NULL */
	size_t		 status_entry_len;
	pid_t		 process_id;		/* the pid monitors watch, 0 if none */
	int64_t		 registered_at;		/* Unix seconds */
	char		*last_action;		/* what a monitor last did to its pid: a JSON object, or NULL */
	struct registration *prev, *next;	/* registration order */
};

/*
 * Registers c (again) with state and state_as_sent (both consumed on
 * success), moving it to the end of the order. Returns 0, or -1 when memory
 * runs out: then c keeps its old registration untouched and both states
 * still belong to the caller.
 */
int		 registry_set(struct conn *c, cJSON *state, cJSON *state_as_sent,
		    const char *connection_id, pid_t process_id);
/*
 * Replaces c's state and state as sent (both consumed) and pid, keeping its
 * connection_id, place and registered_at. c must be registered.
 */
void		 registry_update(struct conn *c, cJSON *state, cJSON *state_as_sent,
		    pid_t process_id);
/* Every registration of pid keeps action (a JSON object's text) as its last_action. */
void		 registry_note_action(pid_t pid, const char *action, size_t len);
/* c is going away: its registration is removed and freed. */
void		 registry_forget(struct conn *c);

/* NULL, or 0, when c has never registered. */
const cJSON	*registry_state(const struct conn *c);
const cJSON	*registry_state_as_sent(const struct conn *c);
const char	*registry_connection_id(const struct conn *c);
pid_t		 registry_process_id(const struct conn *c);

struct conn	*registry_find(const char *connection_id);
/* Registered connections in order: the first after NULL, then the one after c. */
struct conn	*registry_next(const struct conn *c);
/*
 * Writes the entries of status's "connections" array, comma-separated, in
 * registration order, into out (NULL: only counts them); returns their
 * length, or SIZE_MAX when memory runs out for an entry's text. out needs
 * one byte more: a comma is written just past the end.
 */
size_t		 registry_status(char *out);
void		 registry_free(void);

#endif
