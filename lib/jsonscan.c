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
	for (at++; at < len && text[at] != '"'; at++) {
		if (text[at] == '\\')
			at++;
	}
	return at + 1;
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
	size_t key_len = strlen(key);
	size_t at = skip_space(text, len, 0);

	if (at >= len || text[at] != '{')
		return false;
	for (at = skip_space(text, len, at + 1); at < len && text[at] == '"';
	    at = skip_space(text, len, at + 1)) {
		size_t name = at + 1, name_end = skip_string(text, len, at) - 1;
		bool escaped = memchr(text + name, '\\', name_end - name) != NULL;

		at = skip_space(text, len, name_end + 1);
		if (at >= len || text[at] != ':')
			return false;
		at = skip_space(text, len, at + 1);
		*start = at;
		at = skip_value(text, len, at);
		*end = at;
		if (escaped)
			return false;
		if (name_end - name == key_len && memcmp(text + name, key, key_len) == 0)
			return true;
		at = skip_space(text, len, at);
		if (at >= len || text[at] != ',')
			return false;
	}
	return false;
}

size_t
jsonscan_control_char(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t' && text[i] != '\r')
			return i;
	}
	return len;
}
