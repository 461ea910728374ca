/*
 * Signals as readable events: handlers only write the signal number to a
 * pipe, and a poll() loop reads it and acts at a safe point.
 */
#ifndef SELFPIPE_H
#define SELFPIPE_H

#include <stddef.h>

/* Returns 0, or -1 with errno set. */
int	selfpipe_open(void);
/* Routes signo to the pipe; sa_flags as for sigaction(2). */
void	selfpipe_catch(int signo, int sa_flags);
/* The end to poll for POLLIN, or -1 when closed. */
int	selfpipe_fd(void);
/* Moves recorded signals into signals; returns how many (0: none left). */
size_t	selfpipe_read(unsigned char *signals, size_t cap);
void	selfpipe_close(void);

#endif
