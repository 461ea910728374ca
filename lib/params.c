#include <stdio.h>
#include <string.h>

#include "lib/params.h"
#include "lib/utf8.h"

/* What each type is called in an error, and the cJSON types (one bit each) it takes. */
static const struct {
	char		name[24];
	unsigned char	cjson_types;
} param_types[] = {
	[PARAM_STRING] = { "a string", cJSON_String },
	[PARAM_NUMBER] = { "a number", cJSON_Number },
	[PARAM_OBJECT] = { "an object", cJSON_Object },
	[PARAM_SIGNAL] = { "a signal name or number", cJSON_String | cJSON_Number },
	[PARAM_ARRAY] = { "an array", cJSON_Array },
};

bool
params_check(const struct param params[PARAMS_MAX], const char *op_name,
    const cJSON *msg, char *err, size_t err_len)
{
	for (const struct param *p = params; p < params + PARAMS_MAX && p->name; p++) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(msg, p->name);

		if (value == NULL || cJSON_IsNull(value)) {
			if (!p->required)
				continue;
			snprintf(err, err_len, "Missing '%s' parameter", p->name);
			return false;
		}
		if (!(value->type & param_types[p->type].cjson_types)) {
			snprintf(err, err_len, "Parameter '%s' of '%s' must be %s", p->name,
			    op_name, param_types[p->type].name);
			return false;
		}
	}
	return true;
}

const void *
params_dispatch(const void *table, size_t count, size_t entry_size, const char *op_name,
    const cJSON *msg, char *err, size_t err_len)
{
	for (size_t i = 0; i < count; i++) {
		const struct op_spec *spec = (const void *)((const char *)table + i * entry_size);

		if (strcmp(op_name, spec->name) != 0)
			continue;
		return params_check(spec->params, spec->name, msg, err, err_len) ? spec : NULL;
	}
	snprintf(err, err_len, "Unknown operation '%.*s'",
	    utf8_prefix_len(op_name, OP_NAME_SHOWN), op_name);
	return NULL;
}
