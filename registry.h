/*
 * Registered connections: each one's registration (state, connection_id,
 * the pid monitors watch, its status entry), indexed by connection_id and
 * kept in registration order. registry.c owns struct registration; other
 * modules go through these functions.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/uuid.h"

struct conn;
struct jsonw;

struct registration {
	struct conn	*conn;
	cJSON		*state;			/* as merged, with process_id and connection_id */
	char		 connection_id[UUID_STRING_LEN + 1];
	char		*status_entry;		/* its entry in status as JSON text, or NULL */
	size_t		 status_entry_len;
	pid_t		 process_id;		/* the pid monitors watch, 0 if none */
	struct registration *prev, *next;	/* registration order */
};

/*
 * Registers c (again) with state (consumed on success), moving it to the end
 * of the order. Returns 0, or -1 when memory runs out: then c keeps its old
 * registration untouched and state still belongs to the caller.
 */
int		 registry_set(struct conn *c, cJSON *state, const char *connection_id,
		    pid_t process_id);
/* c is going away: its registration is removed and freed. */
void		 registry_forget(struct conn *c);

/* NULL, or 0, when c has never registered. */
const cJSON	*registry_state(const struct conn *c);
const char	*registry_connection_id(const struct conn *c);
pid_t		 registry_process_id(const struct conn *c);

struct conn	*registry_find(const char *connection_id);
/* The entries of status's "connections" array, comma-separated, in registration order. */
void		 registry_write_status(struct jsonw *w);
void		 registry_free(void);

#endif
