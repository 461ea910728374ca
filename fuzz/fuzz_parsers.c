/*
 * libFuzzer harness for the text parsers that read what the kernel or an
 * operator wrote: /proc stat, smaps, statm, meminfo and mountinfo (hidepid),
 * the cgroup mount, path and limit files, sizes and signal names. The
 * first byte picks the parser; the rest is its text. Besides the
 * sanitizers, each parser's promises are checked: outputs fit their
 * buffers, a parsed signal names itself again, a parsed size is what its
 * figures say.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/cgroup.h"
#include "lib/procfs.h"
#include "lib/procid.h"
#include "lib/signame.h"
#include "lib/size.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

static void
fuzz_stat(const char *text)
{
	struct proc_stat st;

	if (procfs_parse_stat(text, &st) == 0)
		CHECK(strlen(st.comm) < sizeof(st.comm));
}

static void
fuzz_memory(const char *text)
{
	struct proc_memory m;

	procfs_parse_smaps(text, &m);
	procfs_parse_statm(text, 4096, &m);
	procfs_parse_meminfo_available(text, &(uint64_t){ 0 });
}

static void
fuzz_cgroup(const char *text)
{
	char root[64], mount_point[64], path[64];
	uint64_t bytes;

	for (int version = 1; version <= 2; version++) {
		if (cgroup_parse_mount(text, version, root, sizeof(root), mount_point,
		    sizeof(mount_point)) == 0)
			CHECK(strlen(root) < sizeof(root) && strlen(mount_point) < sizeof(mount_point));
		if (cgroup_parse_path(text, version, path, sizeof(path)) == 0)
			CHECK(path[0] != '\0' && strlen(path) < sizeof(path));
	}
	CHECK(cgroup_parse_limit(text, &bytes) >= -1);
}

static void
fuzz_hidepid(const char *text)
{
	char option[24];

	if (procid_parse_hidepid(text, option, sizeof(option)) == 0 && option[0] != '\0')
		CHECK(strncmp(option, "hidepid=", 8) == 0 && strlen(option) < sizeof(option));
}

static void
fuzz_size(const char *text)
{
	uint64_t bytes, again;
	char plain[32];

	if (size_parse(text, &bytes) == 0) {
		/* A parsed size reads back the same when written in bytes. */
		snprintf(plain, sizeof(plain), "%llu", (unsigned long long)bytes);
		CHECK(size_parse(plain, &again) == 0 && again == bytes);
	}
}

static void
fuzz_signal(const char *text)
{
	int signo = signame_parse(text);
	const char *name;
	char shown[64], formatted[16];
	cJSON *value;

	if (signo != -1) {
		CHECK(signo > 0 && signo < NSIG);
		if ((name = signame_name(signo)) != NULL)
			CHECK(signame_parse(name) == signo);
		signame_format(signo, formatted, sizeof(formatted));
		CHECK(signame_parse(formatted) == signo);
	}
	if ((value = cJSON_CreateString(text)) != NULL) {
		CHECK(signame_from_json(value, shown, sizeof(shown)) == signo);
		CHECK(strlen(shown) < sizeof(shown));
		cJSON_Delete(value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const parsers[])(const char *) = {
		fuzz_stat, fuzz_memory, fuzz_cgroup, fuzz_hidepid, fuzz_size, fuzz_signal,
	};
	char *text;

	if (size < 1)
		return 0;
	/* The parsers take NUL-terminated text, as procfs_read gives it. */
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	parsers[data[0] % (sizeof(parsers) / sizeof(parsers[0]))](text);
	free(text);
	return 0;
}
