/*
 * Command-line options, parsed the same way on every libc: short ones
 * ("-s PATH", "-sPATH", "-dh"), long ones ("--socket PATH",
 * "--socket=PATH", or any prefix that names one option), stopping at the
 * first operand or after "--", as getopt_long does with "+". Our own
 * because musl's getopt family costs 3 KB of a static binary and leaves a
 * different optind from glibc's after an error; the state lives in the
 * parser, not in globals, so a second argument vector needs no reset.
 */
#ifndef OPT_H
#define OPT_H

#include <stdbool.h>

enum {
	OPT_END = -1,		/* no more options: operands start at index */
	OPT_MISSING = -2,	/* the option named by word needs a value */
	OPT_UNKNOWN = -3,	/* word is no option, or a prefix of several */
	OPT_NO_VALUE = -4,	/* word gave a value ("--syslog=yes") to a flag */
};

/* A long option: a table of these ends with an empty name. */
struct opt_long {
	char		 name[16];	/* at most 15 bytes: no pointer, so no relocation */
	unsigned char	 value;		/* what opt_next returns: a letter, or 128 and up */
	bool		 takes_value;
};

struct opt_parser {
	int		 argc;
	char		**argv;		/* argv[0] is the program or command name */
	const char	*shorts;	/* "s:dh": each letter, ':' after one that takes a value */
	const struct opt_long *longs;
	int		 index;		/* the next word to read */
	char		*bundle;	/* the rest of a "-dh" word, or NULL */
	char		*value;		/* the value of the option just returned */
	const char	*word;		/* the option as written, for messages */
	char		 letter[3];	/* "-x": word for a short option */
};

void	opt_init(struct opt_parser *p, int argc, char **argv, const char *shorts,
	    const struct opt_long *longs);

/* Returns the next option's letter or value, or one of the OPT_ codes above. */
int	opt_next(struct opt_parser *p);

#endif
