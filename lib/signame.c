#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fmt.h"
#include "lib/num.h"
#include "lib/signame.h"
#include "lib/utf8.h"

/* Names held in place, not pointed to: no table of pointers to relocate at start. */
static const struct {
	char		 name[7];
	unsigned char	 signo;
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
	const char *end;
	uint64_t number;

	if (text == NULL || *text == '\0')
		return -1;
	if (*text >= '0' && *text <= '9') {
		number = num_parse(text, &end, 10, NULL);
		/* _NSIG - 1 is SIGRTMAX, without glibc's call to ask for it. */
		if (*end != '\0' || number < 1 || number > _NSIG - 1)
			return -1;
		return (int)number;
	}
	/* "sig", in any case: clearing bit 5 upper-cases a letter and makes no other byte one. */
	if ((text[0] & ~0x20) == 'S' && (text[1] & ~0x20) == 'I' && (text[2] & ~0x20) == 'G')
		text += 3;
	for (size_t i = 0; i < SIGNAL_COUNT; i++) {
		if (strcasecmp(text, signals[i].name) == 0)
			return signals[i].signo;
	}
	return -1;
}

int
signame_from_json(const cJSON *value, char *text, size_t text_len)
{
	if (text_len == 0)
		return -1;
	if (cJSON_IsString(value)) {
		fmt_snprintf(text, text_len, "%.*s", utf8_prefix_len(value->valuestring, text_len - 1),
		    value->valuestring);
		return signame_parse(value->valuestring);
	}
	if (!cJSON_IsNumber(value)) {
		fmt_snprintf(text, text_len, "?");
		return -1;
	}
	if (!num_is_whole(value->valuedouble, 1e15)) {
		fmt_snprintf(text, text_len, "%g", value->valuedouble);
		return -1;
	}
	fmt_snprintf(text, text_len, "%.0f", value->valuedouble);
	return signame_parse(text);
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
		fmt_snprintf(out, out_len, "%s", name);
	else
		fmt_snprintf(out, out_len, "%d", signo);
}
