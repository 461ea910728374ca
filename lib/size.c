#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "lib/size.h"

static int
suffix_shift(const char *suffix, unsigned *shift)
{
	static const struct {
		char	 letter;
		unsigned shift;
	} units[] = { { 'k', 10 }, { 'm', 20 }, { 'g', 30 }, { 't', 40 } };

	if (*suffix == '\0' || strcasecmp(suffix, "b") == 0) {
		*shift = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (tolower((unsigned char)suffix[0]) != units[i].letter)
			continue;
		if (suffix[1] == '\0' || strcasecmp(suffix + 1, "b") == 0 ||
		    strcasecmp(suffix + 1, "ib") == 0) {
			*shift = units[i].shift;
			return 0;
		}
	}
	return -1;
}

int
size_parse(const char *text, uint64_t *bytes)
{
	char *end;
	double number;
	unsigned shift;

	if (text == NULL || !isdigit((unsigned char)*text))
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
