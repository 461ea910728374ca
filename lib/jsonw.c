#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"
#include "lib/jsonw.h"
#include "lib/num.h"

#define JSONW_MIN_CAP	1024
#define JSONW_KEEP_CAP	65536	/* larger buffers are freed after use */

static bool
reserve(struct jsonw *w, size_t more)
{
	size_t new_cap;
	char *grown;

	if (w->failed)
		return false;
	if (w->cap - w->len >= more)
		return true;
	new_cap = w->cap ? w->cap : JSONW_MIN_CAP;
	while (new_cap - w->len < more)
		new_cap *= 2;
	if ((grown = realloc(w->buf, new_cap)) == NULL) {
		w->failed = true;
		return false;
	}
	w->buf = grown;
	w->cap = new_cap;
	return true;
}

void
jsonw_raw(struct jsonw *w, const char *text, size_t len)
{
	if (!reserve(w, len))
		return;
	memcpy(w->buf + w->len, text, len);
	w->len += len;
}

/* Bytes that end a plain run: controls (NUL included), the quote and the backslash. */
static bool
special(unsigned char byte)
{
	return byte < 0x20 || byte == '"' || byte == '\\';
}

/* byte is special() and not NUL. */
static char *
write_escape(char *out, unsigned char byte)
{
	static const char hex[] = "0123456789abcdef";
	static const char plain[] = "\"\\\b\f\n\r\t", escaped[] = "\"\\bfnrt";
	const char *short_form = strchr(plain, byte);

	*out++ = '\\';
	if (short_form != NULL) {
		*out++ = escaped[short_form - plain];
	} else {
		memcpy(out, "u00", 3);
		out[3] = hex[byte >> 4];
		out[4] = hex[byte & 0x0f];
		out += 5;
	}
	return out;
}

void
jsonw_string(struct jsonw *w, const char *text)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t len = strlen((const char *)p);
	char *out;

	/* Worst case: every byte becomes \u00XX. */
	if (len > (SIZE_MAX - 2) / 6 || !reserve(w, len * 6 + 2))
		return;
	out = w->buf + w->len;
	*out++ = '"';
	while (*p != '\0') {
		const unsigned char *run = p;

		/* Copy runs of plain bytes at once: most strings have nothing to escape. */
		while (!special(*p))
			p++;
		memcpy(out, run, (size_t)(p - run));
		out += p - run;
		if (*p != '\0')
			out = write_escape(out, *p++);
	}
	*out++ = '"';
	w->len = (size_t)(out - w->buf);
}

static int
format_integer(char text[32], int64_t value)
{
	char digits[24];
	uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
	int count = 0, len = 0;

	do {
		digits[count++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	if (value < 0)
		text[len++] = '-';
	while (count > 0)
		text[len++] = digits[--count];
	return len;
}

void
jsonw_number(struct jsonw *w, double value)
{
	char text[32];
	int len;

	if (isnan(value) || isinf(value)) {
		jsonw_literal(w, "null");
		return;
	}
	/* Ids, pids and sizes: integers below 2^53 print exactly, without printf. */
	if (num_is_whole(value, 9007199254740991.0)) {
		len = format_integer(text, (int64_t)value);
	} else {
		/* As cJSON: the shortest of 15 or 17 digits that reads back the same. */
		len = fmt_snprintf(text, sizeof(text), "%1.15g", value);
		if (strtod(text, NULL) != value)
			len = fmt_snprintf(text, sizeof(text), "%1.17g", value);
	}
	jsonw_raw(w, text, (size_t)len);
}

/* The children of an array or object, each after a comma (the first only if comma_first). */
static void
write_children(struct jsonw *w, const cJSON *item, bool comma_first)
{
	bool named = (item->type & 0xff) == cJSON_Object;

	for (const cJSON *child = item->child; child != NULL && !w->failed; child = child->next) {
		if (comma_first || child != item->child)
			jsonw_literal(w, ",");
		if (named) {
			jsonw_string(w, child->string);
			jsonw_literal(w, ":");
		}
		jsonw_value(w, child);
	}
}

static void
write_container(struct jsonw *w, const cJSON *item, char open, char close)
{
	jsonw_raw(w, &open, 1);
	write_children(w, item, false);
	jsonw_raw(w, &close, 1);
}

void
jsonw_value(struct jsonw *w, const cJSON *item)
{
	switch (item->type & 0xff) {
	case cJSON_False: jsonw_literal(w, "false"); break;
	case cJSON_True: jsonw_literal(w, "true"); break;
	case cJSON_NULL: jsonw_literal(w, "null"); break;
	case cJSON_Number: jsonw_number(w, item->valuedouble); break;
	case cJSON_String: jsonw_string(w, item->valuestring); break;
	case cJSON_Array: write_container(w, item, '[', ']'); break;
	case cJSON_Object: write_container(w, item, '{', '}'); break;
	case cJSON_Raw:
		if (item->valuestring == NULL)
			w->failed = true;
		else
			jsonw_raw(w, item->valuestring, strlen(item->valuestring));
		break;
	default:
		w->failed = true;	/* cJSON_Invalid: cJSON would not print it either */
	}
}

void
jsonw_members(struct jsonw *w, const cJSON *object)
{
	if (cJSON_IsObject(object))
		write_children(w, object, true);
}

void
jsonw_reset(struct jsonw *w)
{
	if (w->cap > JSONW_KEEP_CAP) {
		free(w->buf);
		w->buf = NULL;
		w->cap = 0;
	}
	w->len = 0;
	w->failed = false;
}

bool
jsonw_add_figures(cJSON *object, const char *names, const double *values, size_t count,
    unsigned unknown)
{
	for (size_t i = 0; i < count; i++, names += strlen(names) + 1) {
		if ((unknown & 1u << i ? cJSON_AddNullToObject(object, names) :
		    cJSON_AddNumberToObject(object, names, values[i])) == NULL)
			return false;
	}
	return true;
}

cJSON *
jsonw_status_section(const char *name, cJSON **section)
{
	cJSON *result = cJSON_CreateObject();

	*section = cJSON_AddObjectToObject(result, name);
	return result;
}

bool
jsonw_add_by_pid(cJSON *object, size_t count, cJSON *(*entry)(size_t i))
{
	for (size_t i = 0; object != NULL && i < count; i++) {
		char key[32];
		cJSON *item = entry(i);

		if (item == NULL)
			return false;
		/* Its first member is its process_id. */
		key[format_integer(key, (int64_t)item->child->valuedouble)] = '\0';
		if (!cJSON_AddItemToObject(object, key, item)) {
			cJSON_Delete(item);
			return false;
		}
	}
	return object != NULL;
}
