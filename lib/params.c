#include <stdio.h>
#include <string.h>

#include "lib/params.h"
#include "lib/utf8.h"

static const char param_type_names[][24] = {
	[PARAM_STRING] = "a string",
	[PARAM_NUMBER] = "a number",
	[PARAM_OBJECT] = "an object",
	[PARAM_SIGNAL] = "a signal name or number",
	[PARAM_ARRAY] = "an array",
};

static bool
param_type_ok(const cJSON *value, enum param_type type)
{
	switch (type) {
	case PARAM_STRING:
		return cJSON_IsString(value);
	case PARAM_NUMBER:
		return cJSON_IsNumber(value);
	case PARAM_OBJECT:
		return cJSON_IsObject(value);
	case PARAM_SIGNAL:
		return cJSON_IsString(value) || cJSON_IsNumber(value);
	case PARAM_ARRAY:
		return cJSON_IsArray(value);
	}
	return false;
}

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
		if (!param_type_ok(value, p->type)) {
			snprintf(err, err_len, "Parameter '%s' of '%s' must be %s", p->name,
			    op_name, param_type_names[p->type]);
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
