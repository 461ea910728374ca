/*
 * libFuzzer differential harness for lib/fmt.c, the formatter of static
 * builds: every directive form the tree uses, fed random doubles, integers,
 * strings, widths and precisions, must print byte for byte what the C
 * library's snprintf prints, return the same length, and truncate the same
 * way; through a stream it must write the same bytes.
 *
 * Input: form, mode, width, precision, 8 value bytes, then the string.
 * mode bits 0-2 make the double: its raw bits, or a fraction n / 2^k (exact
 * halves, the rounding ties), or a decimal n / 10^k; bit 3 writes to a
 * stream; bits 4-7 choose a small buffer (truncation) when not 0.
 */
#define FMT_OWN
#include "lib/fmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How each form takes its arguments: '*' width and precision, then the value. */
enum kind { F_DOUBLE, F_PREC_DOUBLE, F_WIDTH_PREC_DOUBLE, F_INT, F_LONG, F_LLONG, F_UNSIGNED,
	F_ULONG, F_ULLONG, F_SIZE, F_CHAR, F_STRING, F_PREC_STRING, F_WIDTH_STRING };

static const struct {
	const char	*fmt;
	enum kind	 kind;
} forms[] = {
	{ "%f", F_DOUBLE }, { "%.0f", F_DOUBLE }, { "%.1f", F_DOUBLE }, { "%.2f", F_DOUBLE },
	{ "%.3f", F_DOUBLE }, { "%7.0f", F_DOUBLE }, { "%g", F_DOUBLE }, { "%.6g", F_DOUBLE },
	{ "%1.15g", F_DOUBLE }, { "%1.17g", F_DOUBLE }, { "%.17g", F_DOUBLE },
	{ "supervisord_uptime_seconds %.3f\n", F_DOUBLE }, { ",\"timeout\":%.6g,", F_DOUBLE },
	{ "%.*f", F_PREC_DOUBLE }, { "%.*g", F_PREC_DOUBLE }, { "%.*f%c", F_PREC_DOUBLE },
	{ "%*.*f", F_WIDTH_PREC_DOUBLE }, { "%-*.*g|", F_WIDTH_PREC_DOUBLE },
	{ "%0*.*f", F_WIDTH_PREC_DOUBLE }, { "%0*.*g", F_WIDTH_PREC_DOUBLE },
	{ "%d", F_INT }, { "%02d", F_INT }, { "%04d-%02d", F_INT }, { "%i", F_INT },
	{ "%ld", F_LONG }, { "%lu", F_ULONG }, { "%lld", F_LLONG }, { "%03lld", F_LLONG },
	{ "%lld.%03lld", F_LLONG }, { "%02lld", F_LLONG }, { "%llu", F_ULLONG }, { "%u", F_UNSIGNED },
	{ "0x%02x", F_UNSIGNED }, { "%x", F_UNSIGNED }, { "%zu", F_SIZE }, { "%c", F_CHAR },
	{ "%s", F_STRING }, { "%-6s|", F_STRING }, { "%15s", F_STRING }, { "%7s", F_STRING },
	{ "%-8.8s ", F_STRING }, { "%.36s", F_STRING }, { "%.6s", F_STRING }, { "%.8s", F_STRING },
	{ "%.32s", F_STRING }, { "%-15s %s", F_STRING }, { "socket %s: %s%s%%", F_STRING },
	{ "%.*s", F_PREC_STRING }, { "%.*s/%s", F_PREC_STRING }, { "%*s%.*s", F_WIDTH_STRING },
};

#define FORMS	(sizeof(forms) / sizeof(forms[0]))
#define OUT_MAX	4096

static double
make_double(unsigned mode, uint64_t bits)
{
	double value;

	switch (mode & 7) {
	case 4:
		return (double)(int32_t)bits / ldexp(1, (int)(bits >> 32 & 31));
	case 5:
		return (double)(int64_t)(bits % 2000000001) / pow(10, (double)(bits >> 40 & 15));
	case 6:
		return (double)(int64_t)bits;
	default:
		memcpy(&value, &bits, sizeof(value));
		return value;
	}
}

/* Calls both formatters the same way: ours into a, the C library's into b. */
#define BOTH(...) do { \
	ours = fmt_snprintf(a, size, __VA_ARGS__); \
	theirs = snprintf(b, size, __VA_ARGS__); \
	if (to_stream) \
		streamed = stream_both(__VA_ARGS__); \
} while (0)

static char stream_b[OUT_MAX];

/* Writes through fmt_vfprintf; whether it wrote what vsnprintf prints. */
static bool __attribute__((format(printf, 1, 2)))
stream_both(const char *fmt, ...)
{
	char *text = NULL;
	size_t len = 0;
	va_list ap, copy;
	FILE *stream = open_memstream(&text, &len);
	int ours, theirs;
	bool same;

	if (stream == NULL)
		return true;
	va_start(ap, fmt);
	va_copy(copy, ap);
	ours = fmt_vfprintf(stream, fmt, ap);
	theirs = vsnprintf(stream_b, sizeof(stream_b), fmt, copy);
	va_end(copy);
	va_end(ap);
	fclose(stream);
	same = ours == theirs && len == (size_t)theirs && memcmp(text, stream_b, len) == 0;
	free(text);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size_in)
{
	static char a[OUT_MAX], b[OUT_MAX];
	const char *fmt;
	char *raw, *text;
	size_t size = OUT_MAX, text_len;
	unsigned mode;
	int width, prec, ours = 0, theirs = 0;
	bool to_stream, streamed = true;
	uint64_t bits = 0;
	double value;

	if (size_in < 12)
		return 0;
	fmt = forms[data[0] % FORMS].fmt;
	mode = data[1];
	to_stream = mode & 8;
	if (mode >> 4 != 0)
		size = (mode >> 4) - 1;		/* 0 to 14 bytes: truncation */
	width = (int8_t)data[2] / 2;
	prec = data[3] < 240 ? data[3] % 48 - 2 : (data[3] - 240) * 80;
	memcpy(&bits, data + 4, sizeof(bits));
	value = make_double(mode, bits);
	text_len = size_in - 12;
	/* The string both unterminated (for a precision within it) and terminated. */
	raw = malloc(text_len + 1);
	text = malloc(text_len + 1);
	if (raw == NULL || text == NULL)
		abort();
	memcpy(raw, data + 12, text_len);
	memcpy(text, data + 12, text_len);
	text[text_len] = '\0';

	switch (forms[data[0] % FORMS].kind) {
	case F_DOUBLE:
		BOTH(fmt, value);
		break;
	case F_PREC_DOUBLE:
		BOTH(fmt, prec, value, 'k');
		break;
	case F_WIDTH_PREC_DOUBLE:
		BOTH(fmt, width, prec, value);
		break;
	case F_INT:
		BOTH(fmt, (int)bits, (int)(bits >> 32));
		break;
	case F_LONG:
		BOTH(fmt, (long)bits);
		break;
	case F_LLONG:
		BOTH(fmt, (long long)bits, (long long)(bits >> 40));
		break;
	case F_UNSIGNED:
		BOTH(fmt, (unsigned)bits);
		break;
	case F_ULONG:
		BOTH(fmt, (unsigned long)bits);
		break;
	case F_ULLONG:
		BOTH(fmt, (unsigned long long)bits);
		break;
	case F_SIZE:
		BOTH(fmt, (size_t)bits);
		break;
	case F_CHAR:
		BOTH(fmt, (int)(char)bits);
		break;
	case F_STRING:
		BOTH(fmt, text, text, text);
		break;
	case F_PREC_STRING:
		BOTH(fmt, prec, prec >= 0 && (size_t)prec <= text_len ? raw : text, text);
		break;
	case F_WIDTH_STRING:
		BOTH(fmt, width, "", prec, prec >= 0 && (size_t)prec <= text_len ? raw : text);
		break;
	}
	if (ours != theirs || (size > 0 && memcmp(a, b, (size_t)ours < size ? (size_t)ours + 1 : size) != 0) ||
	    !streamed) {
		fprintf(stderr, "fmt \"%s\" width %d prec %d value %a bits %#llx size %zu%s\n"
		    "ours   %d [%.*s]\ntheirs %d [%.*s]\n", fmt, width, prec, value,
		    (unsigned long long)bits, size, streamed ? "" : " (the stream differs)", ours,
		    (int)(size > 0 ? strnlen(a, size) : 0), a, theirs,
		    (int)(size > 0 ? strnlen(b, size) : 0), b);
		abort();
	}
	free(raw);
	free(text);
	return 0;
}
