/*
 * A small open-addressing hash map from byte-string keys to pointers.
 * The map does not copy keys: a key must live as long as its entry,
 * which is natural when the key is a field of the value it maps to.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t	 hash;
	const void	*key;		/* NULL marks an empty slot */
	size_t		 key_len;
	void		*value;
};

struct hmap {
	struct hmap_slot *slots;
	size_t		  capacity;	/* a power of two, or 0 */
	size_t		  count;
};

void	*hmap_get(const struct hmap *map, const void *key, size_t key_len);
/* Returns 0, or -1 when memory runs out. An existing key is replaced. */
int	 hmap_put(struct hmap *map, const void *key, size_t key_len, void *value);
void	*hmap_remove(struct hmap *map, const void *key, size_t key_len);
void	 hmap_clear(struct hmap *map);

#endif
