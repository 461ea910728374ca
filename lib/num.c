/* Integer reading of our own, in place of the strtol family: see num.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/num.h"

/* A digit's value in bases up to 16; 16 for any other byte. */
static unsigned
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	c = (char)(c | 0x20);	/* upper case to lower; no other byte becomes a letter */
	return c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
}

uint64_t
num_parse(const char *text, const char **end, unsigned base, bool *outside)
{
	const char *at = text, *digits;
	uint64_t value = 0;
	bool negative, overflow = false;
	unsigned digit;

	while (*at == ' ' || (*at >= '\t' && *at <= '\r'))
		at++;
	negative = *at == '-';
	if (*at == '-' || *at == '+')
		at++;
	for (digits = at; (digit = digit_value(*at)) < base; at++) {
		if (__builtin_mul_overflow(value, base, &value) || __builtin_add_overflow(value, digit, &value))
			overflow = true;
	}
	if (at == digits) {
		at = text;
		negative = false;
	}
	if (end != NULL)
		*end = at;
	if (outside != NULL)
		*outside = overflow || (negative && value != 0);
	if (overflow)
		return UINT64_MAX;
	return negative ? 0 - value : value;
}
