/* Registered connections by connection_id, in registration order. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>

struct conn;

/* Copies id into c->connection_id and indexes c by it; returns 0 or -1. */
int		 registry_add(struct conn *c, const char *id);
void		 registry_remove(struct conn *c);
struct conn	*registry_find(const char *id);
struct conn	*registry_first(void);
void		 registry_free(void);

#endif
