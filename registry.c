#include <string.h>

#include "conn.h"
#include "lib/hmap.h"
#include "registry.h"

static struct hmap by_id;
static struct conn *first, *last;

int
registry_add(struct conn *c, const char *id)
{
	memcpy(c->connection_id, id, UUID_STRING_LEN + 1);
	if (hmap_put(&by_id, c->connection_id, UUID_STRING_LEN, c) == -1) {
		c->connection_id[0] = '\0';
		return -1;
	}
	c->reg_next = NULL;
	c->reg_prev = last;
	if (last != NULL)
		last->reg_next = c;
	else
		first = c;
	last = c;
	return 0;
}

void
registry_remove(struct conn *c)
{
	if (hmap_remove(&by_id, c->connection_id, UUID_STRING_LEN) != c)
		return;
	if (c->reg_prev != NULL)
		c->reg_prev->reg_next = c->reg_next;
	else
		first = c->reg_next;
	if (c->reg_next != NULL)
		c->reg_next->reg_prev = c->reg_prev;
	else
		last = c->reg_prev;
	c->reg_prev = c->reg_next = NULL;
}

struct conn *
registry_find(const char *id)
{
	if (strlen(id) != UUID_STRING_LEN)
		return NULL;
	return hmap_get(&by_id, id, UUID_STRING_LEN);
}

struct conn *
registry_first(void)
{
	return first;
}

void
registry_free(void)
{
	hmap_clear(&by_id);
	first = last = NULL;
}
