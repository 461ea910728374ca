#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "lib/selfpipe.h"

static int pipe_fds[2] = { -1, -1 };

static void
record_signal(int signo)
{
	int saved_errno = errno;
	unsigned char byte = (unsigned char)signo;

	/* A full pipe already holds a wake-up, so a lost byte loses nothing that matters. */
	(void)!write(pipe_fds[1], &byte, 1);
	errno = saved_errno;
}

int
selfpipe_open(void)
{
	return pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC);
}

void
selfpipe_catch(int signo, int sa_flags)
{
	/* Zeroed, sa_mask is the empty set (Linux's sigset_t is a bit mask). */
	struct sigaction sa = { .sa_handler = record_signal, .sa_flags = sa_flags };

	sigaction(signo, &sa, NULL);
}

int
selfpipe_fd(void)
{
	return pipe_fds[0];
}

size_t
selfpipe_read(unsigned char *signals, size_t cap)
{
	ssize_t n;

	if (pipe_fds[0] == -1)
		return 0;
	while ((n = read(pipe_fds[0], signals, cap)) == -1 && errno == EINTR)
		;
	return n > 0 ? (size_t)n : 0;
}

void
selfpipe_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (pipe_fds[i] != -1)
			close(pipe_fds[i]);
		pipe_fds[i] = -1;
	}
}
