/* The same binary as a client of a running daemon, and as a worker wrapper. */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stdio.h>

/* Whether word is a client command: status, restart, call, forward, ... */
bool	client_is_command(const char *word);
/* One usage line per client command. */
void	client_usage(FILE *out);
/* argv[0] is the command word. */
int	client_main(const char *socket_path, int argc, char **argv);
/* argv[0] is "worker". */
int	worker_main(const char *socket_path, int argc, char **argv);

#endif
