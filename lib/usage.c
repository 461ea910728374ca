/* Usage errors: one wording for the daemon's options and every command's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/opt.h"
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

int
usage_bad_option(const char *command, const char *usage, const struct opt_parser *p, int result)
{
	return usage_fail(command, usage, result == OPT_MISSING ? "option '%s' needs a value" :
	    result == OPT_NO_VALUE ? "option '%s' takes no value" : "unknown option '%s'", p->word);
}
