/*
 * Parameter policies for operation tables: each operation declares its
 * parameters, and one check runs before any handler, so handlers only
 * see well-typed input and every operation words its errors alike.
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum param_type { PARAM_STRING, PARAM_NUMBER, PARAM_OBJECT, PARAM_SIGNAL, PARAM_ARRAY };

struct param {
	const char	*name;		/* NULL ends a shorter table */
	enum param_type	 type;
	bool		 required;
};

#define PARAMS_MAX 4

/* On the first problem writes the failure's text into err and returns false. */
bool	params_check(const struct param params[PARAMS_MAX], const char *op_name,
	    const cJSON *msg, char *err, size_t err_len);
/* How many bytes of text fit in max without cutting a UTF-8 sequence in two. */
int	utf8_prefix_len(const char *text, size_t max);

#endif
