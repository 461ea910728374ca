/*
 * Writing JSON text straight into a growing buffer: the reply path's
 * printer. Unlike cJSON_PrintUnformatted it prints integers without a
 * printf/scanf round trip and appends to one buffer reused for every
 * message, so a reply costs no allocation at all in the common case.
 */
#ifndef JSONW_H
#define JSONW_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct jsonw {
	char	*buf;
	size_t	 len, cap;
	bool	 failed;		/* out of memory, or a tree cJSON cannot print */
};

void	jsonw_raw(struct jsonw *w, const char *text, size_t len);
/* A string literal's text, its length counted by the compiler: jsonw_literal(w, ",\"id\":"). */
#define jsonw_literal(w, literal) jsonw_raw((w), "" literal "", sizeof(literal) - 1)
void	jsonw_string(struct jsonw *w, const char *text);
void	jsonw_number(struct jsonw *w, double value);
/* Any cJSON value, printed as cJSON_PrintUnformatted would print it. */
void	jsonw_value(struct jsonw *w, const cJSON *item);
/* The members of object, each preceded by a comma; none if it is not an object. */
void	jsonw_members(struct jsonw *w, const cJSON *object);
/* Empties w for the next message; frees a buffer that one huge message grew. */
void	jsonw_reset(struct jsonw *w);

/*
 * Building status sections as cJSON trees. Figures are numbers under names
 * given one after the other, each ended by its NUL (no table of pointers to
 * relocate), or null where their bit in unknown is set.
 */
bool	jsonw_add_figures(cJSON *object, const char *names, const double *values,
	    size_t count, unsigned unknown);
/* A new object holding an empty object under name, which *section is set to (NULL on failure). */
cJSON	*jsonw_status_section(const char *name, cJSON **section);
/*
 * Adds entry(i), for each i below count, to object under its process_id (its
 * first member) as a string. False when object is NULL or on failure.
 */
bool	jsonw_add_by_pid(cJSON *object, size_t count, cJSON *(*entry)(size_t i));

#endif
