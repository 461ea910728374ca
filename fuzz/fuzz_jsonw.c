/*
 * libFuzzer differential harness for jsonw.c, the daemon's reply writer:
 * whatever cJSON parses, jsonw must print as JSON that reads back equal to
 * what cJSON_PrintUnformatted prints, with no raw control characters.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonw.h"

static struct jsonw out;

/* In order, keys included: repeated keys defeat cJSON_Compare's lookups. */
static bool
same_tree(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if (a->string != NULL && (b->string == NULL || strcmp(a->string, b->string) != 0))
		return false;
	switch (a->type & 0xff) {
	case cJSON_Number:
		/* cJSON prints 15 significant digits where they read back close enough. */
		return a->valuedouble == b->valuedouble ||
		    fabs(a->valuedouble - b->valuedouble) <=
		    1e-14 * fmax(fabs(a->valuedouble), fabs(b->valuedouble));
	case cJSON_String:
		return strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array:
	case cJSON_Object:
		for (x = a->child, y = b->child; x != NULL && y != NULL; x = x->next, y = y->next) {
			if (!same_tree(x, y))
				return false;
		}
		return x == NULL && y == NULL;
	default:
		return true;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *tree = cJSON_ParseWithLength((const char *)data, size);
	cJSON *ours, *theirs;
	char *printed;

	if (tree == NULL)
		return 0;
	jsonw_reset(&out);
	jsonw_value(&out, tree);
	if (out.failed)
		abort();		/* a parsed tree is always printable */
	for (size_t i = 0; i < out.len; i++) {
		if ((unsigned char)out.buf[i] < 0x20)
			abort();
	}
	printed = cJSON_PrintUnformatted(tree);
	ours = cJSON_ParseWithLength(out.buf, out.len);
	theirs = printed != NULL ? cJSON_Parse(printed) : NULL;
	if (ours == NULL || (theirs != NULL && !same_tree(ours, theirs))) {
		fprintf(stderr, "jsonw:  %.*s\ncJSON:  %s\n", (int)out.len, out.buf,
		    printed ? printed : "(null)");
		abort();
	}
	cJSON_free(printed);
	cJSON_Delete(ours);
	cJSON_Delete(theirs);
	cJSON_Delete(tree);
	return 0;
}
