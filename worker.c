#include <stdio.h>

#include "client.h"

int
worker_main(const char *socket_path, int argc, char **argv)
{
	(void)socket_path;
	(void)argc;
	fprintf(stderr, "supervisord: %s: not implemented yet\n", argv[0]);
	return 2;
}
