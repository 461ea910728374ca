#include "lib/clock.h"

int64_t
clock_ms(clockid_t clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}
