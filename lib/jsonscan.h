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
/* One member of an object: the name's text between its quotes, the value's text. */
struct jsonscan_member {
	size_t	name_start, name_end;
	size_t	value_start, value_end;
};

/*
 * Iterating the members of an object in valid JSON text: *at is first the
 * offset of its '{'. Each call reads the next member into m and returns
 * true; false after the last one.
 */
bool	jsonscan_next_member(const char *text, size_t len, size_t *at,
	    struct jsonscan_member *m);
/* Like jsonscan_member, also giving where the member's name starts (its quote). */
bool	jsonscan_member_at(const char *text, size_t len, const char *key,
	    size_t *name_start, size_t *start, size_t *end);
/*
 * The offset of the first byte that is a control character other than tab
 * and CR, or not part of valid UTF-8; len if there is none.
 */
size_t	jsonscan_bad_byte(const char *text, size_t len);
/*
 * Checks that text is one JSON object and nothing else, without allocating
 * (for lines too big to parse into a tree); false with *bad_at at the
 * first byte that is wrong (len when the text is cut short). Strings may
 * hold raw tabs and CRs, and must be valid UTF-8: text that passes has no
 * bad byte (jsonscan_bad_byte).
 */
bool	jsonscan_check(const char *text, size_t len, size_t *bad_at);
/*
 * The same in the same pass reading the object's top-level members: the
 * first max of them into members, how many there are into *count (more
 * than max when some were not kept).
 */
bool	jsonscan_object(const char *text, size_t len, size_t *bad_at,
	    struct jsonscan_member *members, size_t max, size_t *count);

#endif
