#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signame.h"

static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

#define SIGNAL_COUNT (sizeof(signals) / sizeof(signals[0]))

int
signame_parse(const char *text)
{
	char *end;
	long number;

	if (text == NULL || *text == '\0')
		return -1;
	if (*text >= '0' && *text <= '9') {
		number = strtol(text, &end, 10);
		if (*end != '\0' || number < 1 || number > SIGRTMAX)
			return -1;
		return (int)number;
	}
	if (strncasecmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < SIGNAL_COUNT; i++) {
		if (strcasecmp(text, signals[i].name) == 0)
			return signals[i].signo;
	}
	return -1;
}

const char *
signame_name(int signo)
{
	for (size_t i = 0; i < SIGNAL_COUNT; i++) {
		if (signals[i].signo == signo)
			return signals[i].name;
	}
	return NULL;
}

void
signame_format(int signo, char *out, size_t out_len)
{
	const char *name = signame_name(signo);

	if (name != NULL)
		snprintf(out, out_len, "%s", name);
	else
		snprintf(out, out_len, "%d", signo);
}
