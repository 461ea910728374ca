/* Command-line options: see opt.h for what is accepted and why it is ours. */
#include <string.h>

#include "lib/opt.h"

void
opt_init(struct opt_parser *p, int argc, char **argv, const char *shorts,
    const struct opt_long *longs)
{
	memset(p, 0, sizeof(*p));
	p->argc = argc;
	p->argv = argv;
	p->shorts = shorts;
	p->longs = longs;
	p->index = 1;
	p->letter[0] = '-';
}

/* The value is rest when given (even ""), else the next word, whatever it starts with. */
static int
take_value(struct opt_parser *p, char *rest, int option)
{
	if (rest != NULL)
		p->value = rest;
	else if (p->index < p->argc)
		p->value = p->argv[p->index++];
	else
		return OPT_MISSING;
	return option;
}

static int
short_option(struct opt_parser *p)
{
	char letter = *p->bundle++;
	const char *spec = letter == ':' ? NULL : strchr(p->shorts, letter);
	char *rest = *p->bundle != '\0' ? p->bundle : NULL;

	p->letter[1] = letter;
	p->word = p->letter;
	if (spec == NULL)
		return OPT_UNKNOWN;
	if (spec[1] != ':')
		return (unsigned char)letter;
	p->bundle = NULL;	/* the value takes the rest of the word */
	return take_value(p, rest, (unsigned char)letter);
}

static int
long_option(struct opt_parser *p, char *word)
{
	char *name = word + 2;
	size_t len = strcspn(name, "=");
	const struct opt_long *match = NULL;
	int matches = 0;

	p->word = word;
	for (const struct opt_long *o = p->longs; o->name[0] != '\0'; o++) {
		/* Equal over len bytes, none of them NUL: o->name[len] is in bounds. */
		if (strncmp(o->name, name, len) != 0)
			continue;
		match = o;
		if (o->name[len] == '\0') {	/* an exact name beats any prefix */
			matches = 1;
			break;
		}
		matches++;
	}
	if (matches != 1)
		return OPT_UNKNOWN;
	if (!match->takes_value)
		return name[len] == '=' ? OPT_NO_VALUE : match->value;
	return take_value(p, name[len] == '=' ? name + len + 1 : NULL, match->value);
}

int
opt_next(struct opt_parser *p)
{
	char *word;

	p->value = NULL;
	if (p->bundle != NULL && *p->bundle != '\0')
		return short_option(p);
	if (p->index >= p->argc)
		return OPT_END;
	word = p->argv[p->index];
	if (word[0] != '-' || word[1] == '\0')	/* an operand, or "-" */
		return OPT_END;
	p->index++;
	if (word[1] != '-') {
		p->bundle = word + 1;
		return short_option(p);
	}
	return word[2] == '\0' ? OPT_END : long_option(p, word);
}
