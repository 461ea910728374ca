#include <string.h>

#include "lib/utf8.h"

int
utf8_prefix_len(const char *text, size_t max)
{
	size_t len = 0;

	while (len <= max && text[len] != '\0')
		len++;
	if (len <= max)
		return (int)len;
	len = max;
	/* Back off continuation bytes (10xxxxxx) to the start of their sequence. */
	while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}
