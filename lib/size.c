#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/size.h"

/* "", "b", or k, m, g or t followed by "", "b" or "ib", in any case. */
static int
suffix_shift(const char *suffix, unsigned *shift)
{
	static const char units[] = "kmgt";
	const char *unit = *suffix != '\0' ? strchr(units, *suffix | 0x20) : NULL;

	*shift = 0;
	if (unit != NULL) {
		*shift = (unsigned)(unit - units + 1) * 10;
		suffix++;
	}
	return *suffix == '\0' || strcasecmp(suffix, "b") == 0 ||
	    (unit != NULL && strcasecmp(suffix, "ib") == 0) ? 0 : -1;
}

int
size_parse(const char *text, uint64_t *bytes)
{
	char *end;
	double number;
	unsigned shift;

	if (text == NULL || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	number = strtod(text, &end);
	if (errno != 0 || end == text || suffix_shift(end, &shift) == -1)
		return -1;
	number *= (double)(UINT64_C(1) << shift);
	if (!(number < 18446744073709551616.0))	/* 2^64, and rejects NaN */
		return -1;
	*bytes = (uint64_t)number;
	return 0;
}
