/* Signal names as operators write them: "INT", "SIGINT", "int" or "2". */
#ifndef SIGNAME_H
#define SIGNAME_H

/* Returns the signal number, or -1 if text names no signal. */
int		 signame_parse(const char *text);
/* Returns "INT" for SIGINT, or NULL for an unknown number. */
const char	*signame_name(int signo);

#endif
