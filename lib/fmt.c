/*
 * The tree's own printf: flags '-' and '0', width and precision (digits or
 * '*'), lengths l, ll and z, conversions d i u x c s f g and %%. Anything
 * else is copied as written. Floats print the exact decimal value of the
 * double, rounded to nearest with ties to even, byte for byte as glibc and
 * musl print them.
 */
#define FMT_OWN
#include "lib/fmt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Where the text goes: a caller's buffer, or a chunk written to a stream when full. */
struct out {
	char	*buf;
	size_t	 cap;		/* bytes buf takes */
	size_t	 at;		/* bytes in buf */
	size_t	 total;		/* bytes the format made, kept or not */
	FILE	*stream;	/* NULL: what does not fit is counted, not kept */
	bool	 failed;	/* a write to stream failed */
};

/* One directive's flags, width and precision. */
struct spec {
	unsigned flags;
	unsigned width;
	int	 prec;		/* < 0: none given */
};
#define LEFT	1u	/* '-': padded on the right */
#define ZERO	2u	/* '0': padded with zeros after the sign */

static void
flush(struct out *o)
{
	if (fwrite(o->buf, 1, o->at, o->stream) < o->at)
		o->failed = true;
	o->at = 0;
}

static void
put(struct out *o, const char *text, size_t len)
{
	o->total += len;
	for (; len > 0; len--) {
		if (o->at == o->cap) {
			if (o->stream == NULL)
				return;
			flush(o);
		}
		o->buf[o->at++] = *text++;
	}
}

static void
pad(struct out *o, char c, size_t count)
{
	while (count-- > 0)
		put(o, &c, 1);
}

/*
 * Writes what comes before a field of len bytes after its sign: the spaces
 * then the sign, or the sign then the zeros. Returns the spaces owed after it.
 */
static size_t
field(struct out *o, const struct spec *sp, bool negative, size_t len)
{
	size_t gap = sp->width > len + negative ? sp->width - len - negative : 0;

	if (!(sp->flags & (LEFT | ZERO)))
		pad(o, ' ', gap);
	put(o, "-", negative);
	if (sp->flags & LEFT)
		return gap;
	if (sp->flags & ZERO)
		pad(o, '0', gap);
	return 0;
}

static size_t
integer(struct out *o, struct spec *sp, unsigned long long value, bool negative, unsigned base)
{
	char text[sizeof(value) * 3], *end = text + sizeof(text), *p = end;
	size_t len, zeros = 0, after;

	do {
		*--p = "0123456789abcdef"[value % base];
		value /= base;
	} while (value != 0);
	len = (size_t)(end - p);
	if (sp->prec >= 0) {
		/* The least count of digits: no zero padding, and 0 prints 0 as nothing. */
		sp->flags &= ~ZERO;
		if (sp->prec == 0 && *p == '0')
			len = 0;
		if ((size_t)sp->prec > len)
			zeros = (size_t)sp->prec - len;
	}
	after = field(o, sp, negative, zeros + len);
	pad(o, '0', zeros);
	put(o, p, len);
	return after;
}

/*
 * The exact value of a double, m * 2^e, as a big integer in base 10^9
 * limbs, least significant first, and how many of its decimal digits come
 * after the point: m * 2^e when e >= 0, else m * 5^-e with -e digits after
 * the point. 2^53 * 5^1074 has 767 digits, 86 limbs.
 */
#define LIMBS	86
#define BILLION	1000000000u

static int
mul_add(uint32_t *limb, int count, uint32_t by, uint64_t carry)
{
	/* limb * 5^13 + carry stays below 2^64. */
	for (int i = 0; i < count; i++) {
		carry += (uint64_t)limb[i] * by;
		limb[i] = (uint32_t)(carry % BILLION);
		carry /= BILLION;
	}
	for (; carry != 0; carry /= BILLION)
		limb[count++] = (uint32_t)(carry % BILLION);
	return count;
}

/*
 * Writes the decimal digits of the finite double whose bits are given into
 * text and points *digits at the first that is not 0 (at the end for zero);
 * the byte before it is a '0', room for a carry. Sets *point to the count
 * of digits before the point (0 or less when the value is below 0.1) and
 * returns the count of digits.
 */
static int
exact_digits(char *text, uint64_t bits, char **digits, int *point)
{
	uint32_t limb[LIMBS];
	uint64_t m = bits & ((1ull << 52) - 1);
	int e = (int)(bits >> 52 & 0x7ff), count, skip = 0;
	char *p = text + 1;

	if (e != 0)
		m |= 1ull << 52;
	e = m == 0 ? 0 : (e != 0 ? e : 1) - 1075;
	count = mul_add(limb, 0, 1, m);
	for (int left = e; left > 0; left -= 29)
		count = mul_add(limb, count, 1u << (left < 29 ? left : 29), 0);
	for (int left = -e; left > 0; left -= 13) {
		uint32_t by = 1;

		for (int i = left < 13 ? left : 13; i > 0; i--)
			by *= 5;
		count = mul_add(limb, count, by, 0);
	}
	text[0] = '0';
	while (count-- > 0) {
		uint32_t v = limb[count];

		for (int i = 9; i-- > 0; v /= 10)
			p[i] = (char)('0' + v % 10);
		p += 9;
	}
	*p = '\0';
	while (text[1 + skip] == '0')
		skip++;
	*digits = text + 1 + skip;
	*point = (int)(p - *digits) + (e < 0 ? e : 0);
	return (int)(p - *digits);
}

/*
 * Rounds digits[0..len) to its first keep (to nothing when keep < 0), to
 * nearest, an exact half to the even digit. A carry out of the first digit
 * makes digits[-1] (a '0') the new first one: then *point moves. Returns the
 * digits left.
 */
static int
round_digits(char **digits, int len, int keep, int *point)
{
	char *d = *digits, *p;
	const char *rest;
	bool up;

	if (keep >= len)
		return len;
	if (keep < 0)
		return 0;
	rest = d + keep + 1;
	up = rest[-1] > '5' || (rest[-1] == '5' && ((rest[-2] & 1) ||
	    rest[strspn(rest, "0")] != '\0'));
	if (!up)
		return keep;
	for (p = d + keep - 1; *p == '9'; p--)
		*p = '0';
	++*p;
	if (p < d) {		/* 9.99 became 10.0 */
		*digits = p;
		++*point;
		return keep + 1;
	}
	return keep;
}

/* %f, or %g when general, of value. */
static size_t
real(struct out *o, struct spec *sp, double value, bool general)
{
	char text[LIMBS * 9 + 2], *digits = text + 1, exp_text[5] = "e+";
	uint64_t bits;
	int len, point, prec = sp->prec < 0 ? 6 : sp->prec, first, end, exp_len = 0;
	size_t after;

	memcpy(&bits, &value, sizeof(bits));
	if ((bits >> 52 & 0x7ff) == 0x7ff) {
		/* Never zero-padded. */
		sp->flags &= ~ZERO;
		memcpy(digits, bits << 12 ? "nan" : "inf", 3);
		len = point = 3;
		prec = 0;
	} else {
		len = exact_digits(text, bits, &digits, &point);
		if (!general) {
			len = round_digits(&digits, len, point + prec, &point);
		} else {
			/* Style e unless -4 <= exponent < precision, without trailing zeros. */
			int x;

			if (prec == 0)
				prec = 1;
			len = round_digits(&digits, len, prec, &point);
			while (len > 0 && digits[len - 1] == '0')
				len--;
			x = point - 1;
			if (x < -4 || x >= prec) {
				int abs_x = x < 0 ? -x : x;

				exp_text[1] = x < 0 ? '-' : '+';
				exp_len = abs_x >= 100 ? 5 : 4;
				for (int i = exp_len; i-- > 2; abs_x /= 10)
					exp_text[i] = (char)('0' + abs_x % 10);
				point = 1;
			}
			prec = len > point ? len - point : 0;
		}
	}

	/* Digits first to end, the point before digits[point]; "0" leads a fraction. */
	first = point > 0 ? 0 : point - 1;
	end = point + prec;
	after = field(o, sp, bits >> 63, (size_t)(end - first + (prec > 0) + exp_len));
	for (int i = first; i < end; i++) {
		char c = i >= 0 && i < len ? digits[i] : '0';

		if (i == point)
			put(o, ".", 1);
		put(o, &c, 1);
	}
	put(o, exp_text, (size_t)exp_len);
	return after;
}

/*
 * The next argument of an integer directive, sign-extended for a signed
 * one. Called from several places: not inlined.
 */
static unsigned long long __attribute__((noinline))
int_arg(va_list *ap, int longs, bool is_signed)
{
	/* Where long long is a long, it is read as one (as glibc does): less code. */
	if (longs > 1 && sizeof(long long) > sizeof(long))
		return is_signed ? (unsigned long long)va_arg(*ap, long long) :
		    va_arg(*ap, unsigned long long);
	if (longs > 0)
		return is_signed ? (unsigned long long)va_arg(*ap, long) : va_arg(*ap, unsigned long);
	return is_signed ? (unsigned long long)va_arg(*ap, int) : va_arg(*ap, unsigned);
}

/* Reads a width or precision into *n: digits, or '*' for the next argument. */
static const char *
count_of(const char *fmt, va_list *ap, int *n)
{
	*n = 0;
	if (*fmt == '*') {
		*n = (int)int_arg(ap, 0, true);
		return fmt + 1;
	}
	for (; *fmt >= '0' && *fmt <= '9'; fmt++) {
		if (*n < INT_MAX / 10 - 1)
			*n = *n * 10 + (*fmt - '0');
	}
	return fmt;
}

static void
format(struct out *o, const char *fmt, va_list args)
{
	va_list ap;

	va_copy(ap, args);
	for (; *fmt != '\0'; fmt++) {
		const char *start = fmt, *text;
		struct spec sp = { .prec = -1 };
		size_t len, after = 0;
		int longs = 0, width;
		char c, one;

		if (*fmt != '%') {
			put(o, fmt, 1);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '-')
				sp.flags |= LEFT;
			else if (*fmt == '0')
				sp.flags |= ZERO;
			else
				break;
		}
		fmt = count_of(fmt, &ap, &width);
		if (width < 0)
			sp.flags |= LEFT;
		sp.width = width < 0 ? 0u - (unsigned)width : (unsigned)width;
		if (*fmt == '.')
			fmt = count_of(fmt + 1, &ap, &sp.prec);
		for (; *fmt == 'l'; fmt++)
			longs++;
		/* size_t is unsigned long on every Linux ABI. */
		_Static_assert(sizeof(size_t) == sizeof(long), "size_t is not a long");
		if (*fmt == 'z') {
			longs = 1;
			fmt++;
		}

		c = *fmt;
		if (c == 'd' || c == 'i' || c == 'u' || c == 'x') {
			bool is_signed = c == 'd' || c == 'i';
			unsigned long long v = int_arg(&ap, longs, is_signed);
			bool negative = is_signed && (long long)v < 0;

			after = integer(o, &sp, negative ? 0 - v : v, negative, c == 'x' ? 16 : 10);
		} else if (c == 'c' || c == 's') {
			if (c == 'c') {
				one = (char)int_arg(&ap, 0, true);
				text = &one;
				len = 1;
			} else {
				text = va_arg(ap, const char *);
				if (text == NULL)
					text = "(null)";
				/* A precision bounds the bytes read: text need not be a C string. */
				len = sp.prec >= 0 ? strnlen(text, (size_t)sp.prec) : strlen(text);
			}
			sp.flags &= ~ZERO;
			after = field(o, &sp, false, len);
			put(o, text, len);
		} else if (c == 'f' || c == 'g') {
			after = real(o, &sp, va_arg(ap, double), c == 'g');
		} else if (c == '%') {
			put(o, fmt, 1);
		} else {
			/* Not ours: copied as written, and the arguments stay where they are. */
			put(o, start, (size_t)(fmt - start) + (c != '\0'));
			if (c == '\0')
				break;
		}
		pad(o, ' ', after);
	}
	va_end(ap);
}

static int
result(const struct out *o)
{
	return o->failed || o->total > INT_MAX ? -1 : (int)o->total;
}

int
fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .cap = size > 0 ? size - 1 : 0 };

	format(&o, fmt, ap);
	if (size > 0)
		buf[o.at] = '\0';
	return result(&o);
}

int
fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return len;
}

int
fmt_vfprintf(FILE *stream, const char *fmt, va_list ap)
{
	/* Written in chunks: a %s may be a megabyte of JSON. */
	char chunk[256];
	struct out o = { .buf = chunk, .cap = sizeof(chunk), .stream = stream };

	format(&o, fmt, ap);
	flush(&o);
	return result(&o);
}

int
fmt_fprintf(FILE *stream, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = fmt_vfprintf(stream, fmt, ap);
	va_end(ap);
	return len;
}
