/*
 * Scanning the raw text of a JSON line, for what a parsed tree loses:
 * the exact spelling of a member (so ids are echoed byte for byte).
 */
#ifndef JSONSCAN_H
#define JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * In text, which must be valid JSON, finds the value of the first top-level
 * member named key and sets [*start, *end) to its raw text. False when text
 * is not an object, key is absent, or an escaped name comes first (the
 * caller then falls back on the parsed value).
 */
bool	jsonscan_member(const char *text, size_t len, const char *key,
	    size_t *start, size_t *end);
/* The offset of the first byte below 0x20 other than tab and CR, or len. */
size_t	jsonscan_control_char(const char *text, size_t len);

#endif
