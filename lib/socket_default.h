/*
 * The system socket: where the daemon listens, and where every client
 * command looks for it, when neither -s nor $SUPERVISOR_IPC names one.
 * The Makefile sets it from SOCKET (make SOCKET=PATH).
 */
#ifndef SOCKET_DEFAULT_H
#define SOCKET_DEFAULT_H

#include <stdlib.h>

#ifndef SUPERVISORD_SOCKET
#define SUPERVISORD_SOCKET	"/run/supervisord.ipc"
#endif

/* What to tell someone whom the system socket let down. */
#define SOCKET_DEFAULT_HINT	"pass -s PATH or set $SUPERVISOR_IPC to use another socket"

/* The socket to use: given (-s), else $SUPERVISOR_IPC, else the system socket. */
static inline const char *
socket_path_choose(const char *given, int *is_default)
{
	const char *env = getenv("SUPERVISOR_IPC");

	*is_default = 0;
	if (given != NULL && given[0] != '\0')
		return given;
	if (env != NULL && env[0] != '\0')
		return env;
	*is_default = 1;
	return SUPERVISORD_SOCKET;
}

#endif
