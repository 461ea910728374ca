/* The same binary as a client of a running daemon, and as a worker wrapper. */
#ifndef CLIENT_H
#define CLIENT_H

/* argv[0] is the command word: "status", "restart", "call" or "forward". */
int	client_main(const char *socket_path, int argc, char **argv);
/* argv[0] is "worker". */
int	worker_main(const char *socket_path, int argc, char **argv);

#endif
