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

/*
 * An operation's name and its parameters in one string, a word each:
 * "forward connection_id:s? name:s? timeout:n?". After the colon the type:
 * s a string, n a number, o an object, a an array, g a signal name or
 * number; a trailing '?' makes the parameter optional (null counts as
 * absent).
 */
struct op_spec {
	const char	*spec;
};

/*
 * Checks msg against params (the words after the operation's name). On the
 * first problem writes the failure's text into err and returns false.
 */
bool	params_check(const char *params, const char *op_name, const cJSON *msg,
	    char *err, size_t err_len);

#define OP_NAME_SHOWN	200	/* bytes of an unknown operation's name quoted back */

/*
 * The one dispatch step of both operation tables: finds op_name among
 * count entries of entry_size bytes at table, each beginning with a
 * struct op_spec, and checks msg's parameters. Returns the entry, or NULL
 * with the failure's text in err ("Unknown operation 'x'", or what is
 * wrong with a parameter).
 */
const void	*params_dispatch(const void *table, size_t count, size_t entry_size,
		    const char *op_name, const cJSON *msg, char *err, size_t err_len);

#endif
