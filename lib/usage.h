/* Usage errors, worded alike by the daemon and every client command. */
#ifndef USAGE_H
#define USAGE_H

#include "lib/log.h"	/* PRINTF_LIKE */

#define EXIT_USAGE	2

/*
 * Writes one line to stderr: "supervisord: COMMAND: MESSAGE (usage:
 * supervisord [-s PATH] COMMAND USAGE)", or for the daemon itself (command
 * NULL) "supervisord: MESSAGE (try 'supervisord --help')". Returns
 * EXIT_USAGE, so a command can return what this returns.
 */
int	usage_fail(const char *command, const char *usage, const char *fmt, ...)
	    PRINTF_LIKE(3, 4);

/*
 * How to name the option getopt_long just stopped at, for a message: "-n"
 * when opt is one of short_options, else the argument it was reading.
 * musl leaves optind at argc + 1 after a missing value, so argv[optind - 1]
 * is never read blindly. The text may live in a static buffer.
 */
const char *usage_option_text(int argc, char **argv, int opt, const char *short_options);

#endif
