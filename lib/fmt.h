/*
 * printf-style formatting. A static binary gets the tree's own formatter
 * (fmt.c), which knows only the directives the tree uses and keeps the C
 * library's general printf (about 10 KB with musl) out of it. A dynamic
 * binary calls the C library's printf family, mapped in shared memory
 * anyway. Defining FMT_OWN before this header (fmt.c, the unit test, the
 * fuzz target) gives the own formatter in any build.
 */
#ifndef FMT_H
#define FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#if defined(STATIC_BUILD) || defined(FMT_OWN)
/* As C's: the length the whole text takes, NUL-terminated when size > 0. */
int	fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));
int	fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The bytes written, or -1 when a write failed. */
int	fmt_vfprintf(FILE *out, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
int	fmt_fprintf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fmt_printf(...)	fmt_fprintf(stdout, __VA_ARGS__)
#else
#define fmt_vsnprintf	vsnprintf
#define fmt_snprintf	snprintf
#define fmt_vfprintf	vfprintf
#define fmt_fprintf	fprintf
#define fmt_printf	printf
#endif

#endif
