#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hmap.h"

#define HMAP_MIN_CAPACITY 16

/* An FNV-1a-like step over eight bytes at a time (keys are pointers, records and 36-byte ids); the folds bring every bit down to the slot index. */
static uint64_t
hash_bytes(const void *key, size_t key_len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL, word;

	for (; key_len >= 8; p += 8, key_len -= 8) {
		memcpy(&word, p, 8);
		h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	}
	while (key_len-- > 0)
		h = (h ^ *p++) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 32)) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static bool
slot_matches(const struct hmap_slot *slot, uint64_t hash, const void *key, size_t key_len)
{
	return slot->hash == hash && slot->key_len == key_len &&
	    memcmp(slot->key, key, key_len) == 0;
}

static struct hmap_slot *
find_slot(const struct hmap *map, uint64_t hash, const void *key, size_t key_len)
{
	size_t mask = map->capacity - 1;

	if (map->capacity == 0)
		return NULL;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct hmap_slot *slot = &map->slots[i];
		if (slot->key == NULL || slot_matches(slot, hash, key, key_len))
			return slot;
	}
}

void *
hmap_get(const struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_slot *slot = find_slot(map, hash_bytes(key, key_len), key, key_len);

	return slot != NULL && slot->key != NULL ? slot->value : NULL;
}

static int
resize(struct hmap *map, size_t new_capacity)
{
	struct hmap_slot *old_slots = map->slots;
	size_t old_capacity = map->capacity;

	map->slots = calloc(new_capacity, sizeof(*map->slots));
	if (map->slots == NULL) {
		map->slots = old_slots;
		return -1;
	}
	map->capacity = new_capacity;
	for (size_t i = 0; i < old_capacity; i++) {
		if (old_slots[i].key == NULL)
			continue;
		*find_slot(map, old_slots[i].hash, old_slots[i].key,
		    old_slots[i].key_len) = old_slots[i];
	}
	free(old_slots);
	return 0;
}

int
hmap_put(struct hmap *map, const void *key, size_t key_len, void *value)
{
	uint64_t hash = hash_bytes(key, key_len);
	struct hmap_slot *slot;

	/* Keep the load under 3/4 so probe runs stay short. */
	if ((map->count + 1) * 4 > map->capacity * 3 &&
	    resize(map, map->capacity ? map->capacity * 2 : HMAP_MIN_CAPACITY) == -1)
		return -1;
	slot = find_slot(map, hash, key, key_len);
	if (slot->key == NULL)
		map->count++;
	slot->hash = hash;
	slot->key = key;
	slot->key_len = key_len;
	slot->value = value;
	return 0;
}

void *
hmap_remove(struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_slot *slot = find_slot(map, hash_bytes(key, key_len), key, key_len);
	size_t mask = map->capacity - 1;
	size_t hole, i;
	void *value;

	if (slot == NULL || slot->key == NULL)
		return NULL;
	value = slot->value;
	map->count--;
	/* Backward-shift deletion: no tombstones, so lookups never slow down. */
	hole = (size_t)(slot - map->slots);
	for (i = (hole + 1) & mask; map->slots[i].key != NULL; i = (i + 1) & mask) {
		size_t home = map->slots[i].hash & mask;
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			map->slots[hole] = map->slots[i];
			hole = i;
		}
	}
	map->slots[hole].key = NULL;
	/* Give back a table a crowd grew: halve it below 1/8 full (it is then 1/4 full). */
	if (map->capacity > HMAP_MIN_CAPACITY && map->count * 8 < map->capacity)
		resize(map, map->capacity / 2);
	return value;
}

void
hmap_clear(struct hmap *map)
{
	free(map->slots);
	map->slots = NULL;
	map->capacity = 0;
	map->count = 0;
}
