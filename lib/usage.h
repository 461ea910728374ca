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

struct opt_parser;

/*
 * usage_fail for what opt_next returned (OPT_MISSING, OPT_UNKNOWN or
 * OPT_NO_VALUE), naming the option as written: "option '-l' needs a value".
 */
int	usage_bad_option(const char *command, const char *usage,
	    const struct opt_parser *p, int result);

#endif
