/* Milliseconds on the monotonic and the wall clock. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t	clock_ms(clockid_t clock_id);
int64_t	mono_now_ms(void);

#endif
