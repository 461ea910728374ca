/* Usage errors: one wording for the daemon's options and every command's. */
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/fmt.h"
#include "lib/usage.h"

int
usage_fail(const char *command, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("supervisord: ", stderr);
	if (command != NULL)
		fmt_fprintf(stderr, "%s: ", command);
	va_start(ap, fmt);
	fmt_vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (command != NULL)
		fmt_fprintf(stderr, " (usage: supervisord [-s PATH] %s %s)\n", command, usage);
	else
		fputs(" (try 'supervisord --help')\n", stderr);
	return EXIT_USAGE;
}

const char *
usage_option_text(int argc, char **argv, int opt, const char *short_options)
{
	static char text[3];		/* "-n": its last byte stays NUL */

	if (opt > 0 && opt < 128 && strchr(short_options, opt) != NULL) {
		text[0] = '-';
		text[1] = (char)opt;
		return text;
	}
	if (optind >= 2 && optind - 1 < argc && argv[optind - 1] != NULL)
		return argv[optind - 1];
	return "(at the end)";
}
