/*
 * Number helpers for JSON doubles, so the daemon needs no libm: linking
 * it costs about 300 KiB of resident memory for a handful of roundings.
 * And one integer reader for every number the daemon parses, in place of
 * the C library's strtol family (2.4 KB of a static binary).
 */
#ifndef NUM_H
#define NUM_H

#include <math.h>	/* isfinite, isnan: macros, no library */
#include <stdbool.h>
#include <stdint.h>

/* Whether v is a whole number no larger than limit in magnitude (limit < 2^63). */
static inline bool
num_is_whole(double v, double limit)
{
	return isfinite(v) && v <= limit && v >= -limit && v == (double)(int64_t)v;
}

/* Rounds a non-negative v up to a whole number; v must be below 2^63. */
static inline int64_t
num_ceil(double v)
{
	int64_t whole = (int64_t)v;

	return (double)whole < v ? whole + 1 : whole;
}

/* Rounds a non-negative v to the nearest whole number; v must be below 2^63. */
static inline int64_t
num_round(double v)
{
	return (int64_t)(v + 0.5);
}

/*
 * Reads a number in base 2 to 16 at text as strtoull(3) does in the C
 * locale, less its "0x" prefix: blanks (isspace), an optional sign, then
 * digits. *end (unless NULL) is set past the digits, or to text when there
 * are none (the result is then 0). As strtoull's, the result of a negative
 * number wraps modulo 2^64 and one past UINT64_MAX is UINT64_MAX; *outside
 * (unless NULL) says the number was below 0 or above UINT64_MAX ("-0" is
 * neither).
 */
uint64_t	num_parse(const char *text, const char **end, unsigned base, bool *outside);

static inline double
num_clamp(double v, double low, double high)
{
	return v < low ? low : v > high ? high : v;
}

#endif
