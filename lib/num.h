/*
 * Number helpers for JSON doubles, so the daemon needs no libm: linking
 * it costs about 300 KiB of resident memory for a handful of roundings.
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

static inline double
num_clamp(double v, double low, double high)
{
	return v < low ? low : v > high ? high : v;
}

#endif
