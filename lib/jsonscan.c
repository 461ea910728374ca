#include <stdint.h>
#include <string.h>

#include "lib/jsonscan.h"

static size_t
skip_space(const char *text, size_t len, size_t at)
{
	while (at < len && (text[at] == ' ' || text[at] == '\t' ||
	    text[at] == '\r' || text[at] == '\n'))
		at++;
	return at;
}

/* text[at] is an opening quote; returns the offset after the closing one. */
static size_t
skip_string(const char *text, size_t len, size_t at)
{
	for (at++; at < len; ) {
		const char *quote = memchr(text + at, '"', len - at);
		size_t backslashes = 0;

		if (quote == NULL)
			break;
		at = (size_t)(quote - text);
		while (backslashes < at && text[at - 1 - backslashes] == '\\')
			backslashes++;
		if (backslashes % 2 == 0)
			return at + 1;
		at++;	/* an escaped quote */
	}
	return len;	/* cut short: never past the text */
}

/* Returns the offset just after the value that starts at text[at]. */
static size_t
skip_value(const char *text, size_t len, size_t at)
{
	int depth = 0;

	while (at < len) {
		char ch = text[at];

		if (ch == '"') {
			at = skip_string(text, len, at);
			if (depth == 0)
				return at;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return at;	/* a number or literal ended by its object */
			if (--depth == 0)
				return at + 1;
		} else if (depth == 0 && (ch == ',' || ch == ' ' || ch == '\t' ||
		    ch == '\r' || ch == '\n')) {
			return at;
		}
		at++;
	}
	return at;
}

bool
jsonscan_member(const char *text, size_t len, const char *key, size_t *start, size_t *end)
{
	size_t name_start;

	return jsonscan_member_at(text, len, key, &name_start, start, end);
}


bool
jsonscan_next_member(const char *text, size_t len, size_t *at, struct jsonscan_member *m)
{
	size_t pos = skip_space(text, len, *at);

	if (pos < len && (text[pos] == '{' || text[pos] == ','))
		pos = skip_space(text, len, pos + 1);
	if (pos >= len || text[pos] != '"')
		return false;
	m->name_start = pos + 1;
	m->name_end = skip_string(text, len, pos) - 1;
	pos = skip_space(text, len, m->name_end + 1);
	if (pos >= len || text[pos] != ':')
		return false;
	m->value_start = skip_space(text, len, pos + 1);
	m->value_end = skip_value(text, len, m->value_start);
	*at = skip_space(text, len, m->value_end);
	return true;
}

bool
jsonscan_member_at(const char *text, size_t len, const char *key, size_t *name_start,
    size_t *start, size_t *end)
{
	size_t key_len = strlen(key), at = skip_space(text, len, 0);
	struct jsonscan_member m;

	if (at >= len || text[at] != '{')
		return false;
	while (jsonscan_next_member(text, len, &at, &m)) {
		if (memchr(text + m.name_start, '\\', m.name_end - m.name_start) != NULL)
			return false;	/* an escaped name may spell key: the caller decides */
		if (m.name_end - m.name_start == key_len &&
		    memcmp(text + m.name_start, key, key_len) == 0) {
			*name_start = m.name_start - 1;
			*start = m.value_start;
			*end = m.value_end;
			return true;
		}
	}
	return false;
}

#define HIGH_BITS	0x8080808080808080u

/* The length of the UTF-8 sequence at s[i], a byte 0x80 or above; 0 when it is not valid. */
static size_t
utf8_length(const unsigned char *s, size_t len, size_t i)
{
	unsigned char b = s[i], lo = 0x80, hi = 0xbf;	/* the second byte's range */
	size_t need;

	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (b == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90;	/* overlong */
		else if (b == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else {
		return 0;
	}
	if (i + need >= len || s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (size_t k = 2; k <= need; k++) {
		if (s[i + k] < 0x80 || s[i + k] > 0xbf)
			return 0;
	}
	return need + 1;
}

size_t
jsonscan_bad_byte(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, sequence;

	while (i < len) {
		unsigned char b;
		uint64_t word;

		/*
		 * Eight printable ASCII bytes at a time: no high bit set, and each
		 * byte plus 0x60 reaches 0x80 (is at least 0x20), with no carry
		 * from byte to byte since none is above 0x7f.
		 */
		if (len - i >= 8) {
			memcpy(&word, s + i, 8);
			if ((word & HIGH_BITS) == 0 && ((word + 0x6060606060606060u) & HIGH_BITS) == HIGH_BITS) {
				i += 8;
				continue;
			}
		}
		b = s[i];
		if (b < 0x20 && b != '\t' && b != '\r')
			return i;
		if (b < 0x80) {
			i++;
			continue;
		}
		if ((sequence = utf8_length(s, len, i)) == 0)
			return i;
		i += sequence;
	}
	return len;
}

#define ONES	0x0101010101010101u

/*
 * How many of the eight bytes of word (as read from memory) are plain
 * ASCII string bytes before one that may end the run: a quote, a
 * backslash, a control character or a byte of UTF-8 past ASCII. Each test
 * but the last is "a byte minus n borrows into its high bit", which never
 * misses one and may flag a byte after one: borrows move toward later
 * bytes only when the first byte is the lowest.
 */
static size_t
plain_bytes(uint64_t word)
{
	uint64_t quote = word ^ (ONES * '"'), backslash = word ^ (ONES * '\\');
	uint64_t stops = ((((quote - ONES) | (backslash - ONES) | (word - ONES * 0x20)) & ~word) | word) &
	    HIGH_BITS;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return stops != 0 ? (size_t)__builtin_ctzll(stops) / 8 : 8;
#else
	return stops != 0 ? 0 : 8;
#endif
}

/* A string at text[at] (its quote); returns the offset after it, or the bad byte's via *bad. */
static size_t
check_string(const char *text, size_t len, size_t at, bool *bad)
{
	for (at++; at < len; at++) {
		unsigned char ch;
		uint64_t word;
		size_t plain;

		/* Eight bytes at a time: most of a line is in its strings. */
		while (len - at >= 8) {
			memcpy(&word, text + at, 8);
			at += plain = plain_bytes(word);
			if (plain < 8)
				break;
		}
		if (at >= len)
			break;
		ch = (unsigned char)text[at];
		if (ch == '"')
			return at + 1;
		if (ch < 0x20 && ch != '\t' && ch != '\r')
			break;
		if (ch >= 0x80) {
			if ((plain = utf8_length((const unsigned char *)text, len, at)) == 0)
				break;
			at += plain - 1;
			continue;
		}
		if (ch != '\\')
			continue;
		if (++at >= len)
			break;
		if (text[at] == 'u') {
			for (int k = 0; k < 4; k++) {
				if (++at >= len || strchr("0123456789abcdefABCDEF", text[at]) == NULL ||
				    text[at] == '\0')
					goto fail;
			}
		} else if (strchr("\"\\/bfnrt", text[at]) == NULL || text[at] == '\0') {
			break;
		}
	}
fail:
	*bad = true;
	return at;
}

static size_t
skip_digits(const char *text, size_t len, size_t at)
{
	while (at < len && text[at] >= '0' && text[at] <= '9')
		at++;
	return at;
}

static size_t
check_number(const char *text, size_t len, size_t at, bool *bad)
{
	size_t digits;

	if (at < len && text[at] == '-')
		at++;
	if (at < len && text[at] == '0')
		at++;
	else if ((digits = skip_digits(text, len, at)) > at)
		at = digits;
	else
		goto fail;
	if (at < len && text[at] == '.') {
		if ((digits = skip_digits(text, len, at + 1)) == at + 1)
			goto fail;
		at = digits;
	}
	if (at < len && (text[at] == 'e' || text[at] == 'E')) {
		at++;
		if (at < len && (text[at] == '+' || text[at] == '-'))
			at++;
		if ((digits = skip_digits(text, len, at)) == at)
			goto fail;
		at = digits;
	}
	return at;
fail:
	*bad = true;
	return at;
}

static size_t
check_literal(const char *text, size_t len, size_t at, bool *bad)
{
	const char *word = text[at] == 't' ? "true" : text[at] == 'f' ? "false" : "null";
	size_t word_len = text[at] == 'f' ? 5 : 4;

	if (len - at >= word_len && memcmp(text + at, word, word_len) == 0)
		return at + word_len;
	*bad = true;
	return at;
}

#define CHECK_MAX_DEPTH	1000	/* as cJSON's nesting limit */

/* Returns the offset where text stops being JSON: len when all of it is. */
static size_t
check_object(const char *text, size_t len, bool *bad, struct jsonscan_member *members,
    size_t max, size_t *count)
{
	unsigned char in_object[CHECK_MAX_DEPTH];	/* per open container: 1 object, 0 array */
	struct jsonscan_member *kept = NULL;		/* the top-level member being read, if kept */
	size_t depth = 0, found = 0, at = skip_space(text, len, 0), name, name_end;
	char ch;

	*bad = true;	/* until the object closes */
	if (at >= len || text[at] != '{')
		goto out;
	*bad = false;
	for (;;) {
		/* A value starts at text[at]. */
		ch = at < len ? text[at] : '\0';
		if (ch == '{' || ch == '[') {
			if (depth == CHECK_MAX_DEPTH)
				break;
			in_object[depth++] = ch == '{';
			at = skip_space(text, len, at + 1);
			if (at < len && text[at] == ch + 2) {	/* '{' + 2 is '}', '[' + 2 is ']' */
				depth--;
				at++;
				goto after_value;
			}
			if (ch == '[')
				continue;
			goto member_name;
		}
		if (ch == '"')
			at = check_string(text, len, at, bad);
		else if (ch == '-' || (ch >= '0' && ch <= '9'))
			at = check_number(text, len, at, bad);
		else
			at = check_literal(text, len, at, bad);
		if (*bad)
			goto out;
after_value:
		if (depth == 1 && kept != NULL)
			kept->value_end = at;	/* a top-level member's value ends */
		at = skip_space(text, len, at);
		if (depth == 0) {
			*bad = at < len;	/* trailing data */
			goto out;
		}
		ch = at < len ? text[at] : '\0';
		if (ch == ',') {
			at = skip_space(text, len, at + 1);
			if (!in_object[depth - 1])
				continue;
			goto member_name;
		}
		if (ch != (in_object[depth - 1] ? '}' : ']'))
			break;
		depth--;
		at++;
		goto after_value;
member_name:
		if (at >= len || text[at] != '"')
			break;
		name = at;
		at = check_string(text, len, at, bad);
		name_end = at - 1;
		at = skip_space(text, len, at);
		if (*bad || at >= len || text[at] != ':')
			break;
		at = skip_space(text, len, at + 1);
		if (depth == 1) {
			kept = found < max ? &members[found] : NULL;
			found++;
			if (kept != NULL)
				*kept = (struct jsonscan_member){ name + 1, name_end, at, at };
		}
	}
	*bad = true;
out:
	*count = found;
	return at;
}

bool
jsonscan_object(const char *text, size_t len, size_t *bad_at, struct jsonscan_member *members,
    size_t max, size_t *count)
{
	bool bad = false;

	*bad_at = check_object(text, len, &bad, members, max, count);
	return !bad;
}

bool
jsonscan_check(const char *text, size_t len, size_t *bad_at)
{
	size_t count;

	return jsonscan_object(text, len, bad_at, NULL, 0, &count);
}
