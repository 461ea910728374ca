/* Signal names as operators write them: "INT", "SIGINT", "int" or "2". */
#ifndef SIGNAME_H
#define SIGNAME_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Returns the signal number, or -1 if text names no signal. */
int		 signame_parse(const char *text);
/*
 * A request's signal value, a name or a number: returns the signal number,
 * or -1. text gets the value as the error should quote it, "NOPE" or "2.5",
 * cut to fit: "Unknown signal 'NOPE'".
 */
int		 signame_from_json(const cJSON *value, char *text, size_t text_len);
/* Returns "INT" for SIGINT, or NULL for an unknown number. */
const char	*signame_name(int signo);
/* Writes the name, or the number when it has none, for logs: "TERM", "34". */
void		 signame_format(int signo, char *out, size_t out_len);

#endif
