#include <stdio.h>
#include <string.h>

#include "lib/fmt.h"
#include "lib/params.h"
#include "lib/utf8.h"

#define PARAM_NAME_MAX 32

/* A type's letter in a spec, at the position of what it is called in an error and the cJSON types it takes. */
static const char type_letters[] = "snoag";
static const char type_names[][24] = {
	"a string", "a number", "an object", "an array", "a signal name or number",
};
static const unsigned char type_cjson[] = {
	cJSON_String, cJSON_Number, cJSON_Object, cJSON_Array, cJSON_String | cJSON_Number,
};

bool
params_check(const char *params, const char *op_name, const cJSON *msg,
    char *err, size_t err_len)
{
	while (*params != '\0') {
		size_t name_len = strcspn(params, ":");
		char name[PARAM_NAME_MAX];
		const char *type = params + name_len + 1;
		size_t t = (size_t)(strchr(type_letters, *type) - type_letters);
		bool required = type[1] != '?';
		const cJSON *value;

		fmt_snprintf(name, sizeof(name), "%.*s", (int)name_len, params);
		params = type + 1 + !required;
		params += *params == ' ';
		value = cJSON_GetObjectItemCaseSensitive(msg, name);
		if (value == NULL || cJSON_IsNull(value)) {
			if (!required)
				continue;
			fmt_snprintf(err, err_len, "Missing '%s' parameter", name);
			return false;
		}
		if (!(value->type & type_cjson[t])) {
			fmt_snprintf(err, err_len, "Parameter '%s' of '%s' must be %s", name,
			    op_name, type_names[t]);
			return false;
		}
	}
	return true;
}

const void *
params_dispatch(const void *table, size_t count, size_t entry_size, const char *op_name,
    const cJSON *msg, char *err, size_t err_len)
{
	size_t op_len = strlen(op_name);

	for (size_t i = 0; i < count; i++) {
		const struct op_spec *entry = (const void *)((const char *)table + i * entry_size);
		const char *spec = entry->spec;

		if (strcspn(spec, " ") != op_len || memcmp(spec, op_name, op_len) != 0)
			continue;
		spec += op_len;
		return params_check(spec + (*spec == ' '), op_name, msg, err, err_len) ? entry : NULL;
	}
	fmt_snprintf(err, err_len, "Unknown operation '%.*s'",
	    utf8_prefix_len(op_name, OP_NAME_SHOWN), op_name);
	return NULL;
}
