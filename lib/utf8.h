/* Cutting UTF-8 text without splitting a character. */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* How many bytes of text fit in max without cutting a UTF-8 sequence in two; an int for "%.*s". */
int	utf8_prefix_len(const char *text, size_t max);

#endif
