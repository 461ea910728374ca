/* Unit tests of the pure functions, printing TAP. */
#include <stdio.h>
#include <string.h>

#include "hmap.h"
#include "procfs.h"
#include "signame.h"
#include "size.h"
#include "uuid.h"

static int test_count;
static int failures;

static void
ok(int condition, const char *name)
{
	test_count++;
	if (!condition)
		failures++;
	printf("%s %d - %s\n", condition ? "ok" : "not ok", test_count, name);
}

static void
test_size(void)
{
	uint64_t bytes = 0;

	ok(size_parse("4096", &bytes) == 0 && bytes == 4096, "size: plain bytes");
	ok(size_parse("10M", &bytes) == 0 && bytes == 10485760, "size: 10M");
	ok(size_parse("512k", &bytes) == 0 && bytes == 524288, "size: lower-case k");
	ok(size_parse("1G", &bytes) == 0 && bytes == 1073741824, "size: 1G");
	ok(size_parse("1.5K", &bytes) == 0 && bytes == 1536, "size: fraction");
	ok(size_parse("2MiB", &bytes) == 0 && bytes == 2097152, "size: MiB");
	ok(size_parse("10Q", &bytes) == -1, "size: unknown suffix refused");
	ok(size_parse("", &bytes) == -1, "size: empty refused");
	ok(size_parse("-1", &bytes) == -1, "size: negative refused");
	ok(size_parse("M", &bytes) == -1, "size: suffix alone refused");
}

static void
test_uuid(void)
{
	uint8_t zeros[16] = { 0 }, ones[16];
	char text[UUID_STRING_LEN + 1], other[UUID_STRING_LEN + 1];

	memset(ones, 0xff, sizeof(ones));
	uuid_format(zeros, text);
	ok(strcmp(text, "00000000-0000-4000-8000-000000000000") == 0, "uuid: version and variant bits set");
	uuid_format(ones, text);
	ok(strcmp(text, "ffffffff-ffff-4fff-bfff-ffffffffffff") == 0, "uuid: version and variant bits cleared");
	ok(uuid_generate(text) == 0 && strlen(text) == 36 && text[14] == '4', "uuid: generated v4");
	ok(uuid_generate(other) == 0 && strcmp(text, other) != 0, "uuid: two differ");
}

static void
test_signame(void)
{
	ok(signame_parse("INT") == 2, "signal: INT");
	ok(signame_parse("SIGTERM") == 15, "signal: SIGTERM");
	ok(signame_parse("hup") == 1, "signal: lower case");
	ok(signame_parse("9") == 9, "signal: number");
	ok(signame_parse("BOGUS") == -1, "signal: unknown name");
	ok(signame_parse("0") == -1, "signal: zero refused");
	ok(signame_parse("9x") == -1, "signal: trailing junk refused");
	ok(strcmp(signame_name(10), "USR1") == 0, "signal: name of 10");
}

static void
test_hmap(void)
{
	struct hmap map = { 0 };
	static char keys[1000][8];
	int all_found = 1;

	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		hmap_put(&map, keys[i], strlen(keys[i]), keys[i]);
	}
	for (int i = 0; i < 1000; i += 2)
		hmap_remove(&map, keys[i], strlen(keys[i]));
	for (int i = 0; i < 1000; i++) {
		void *found = hmap_get(&map, keys[i], strlen(keys[i]));
		if ((i % 2 == 0 && found != NULL) || (i % 2 == 1 && found != keys[i]))
			all_found = 0;
	}
	ok(all_found, "hmap: survivors found, removed gone after 1000 puts and 500 removes");
	ok(map.count == 500, "hmap: count");
	hmap_clear(&map);
	ok(hmap_get(&map, "k1", 2) == NULL, "hmap: empty after clear");
}

static void
test_procfs(void)
{
	struct proc_stat st;
	struct proc_memory mem;
	const char *stat_line = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
	    "150 50 0 0 20 0 3 0 98765 104857600 2560 18446744073709551615";
	const char *rollup = "55d0c0a00000-7ffd1b5f2000 ---p 00000000 00:00 0 [rollup]\n"
	    "Rss:                2048 kB\nPss:                1024 kB\n"
	    "Shared_Clean:        512 kB\nShared_Dirty:          0 kB\n"
	    "Private_Clean:       256 kB\nPrivate_Dirty:      1280 kB\n";

	ok(procfs_parse_stat(stat_line, &st) == 0, "procfs: stat parses");
	ok(strcmp(st.comm, "my (odd) cmd") == 0, "procfs: command with parentheses");
	ok(st.ppid == 1 && st.pgid == 1234 && st.state == 'S', "procfs: ppid, pgid, state");
	ok(st.utime_ticks == 150 && st.stime_ticks == 50, "procfs: cpu ticks");
	ok(st.num_threads == 3 && st.start_ticks == 98765, "procfs: threads, start time");
	ok(st.vsize == 104857600 && st.rss_pages == 2560, "procfs: vsize, rss");
	ok(procfs_parse_stat("garbage", &st) == -1, "procfs: garbage stat refused");
	ok(procfs_parse_smaps(rollup, &mem) == 0, "procfs: smaps_rollup parses");
	ok(mem.rss == 2048 * 1024 && mem.shared_clean == 512 * 1024, "procfs: rss, shared clean");
	ok(mem.private_clean + mem.private_dirty == 1536 * 1024, "procfs: private");
	ok(mem.map_count == 1, "procfs: one rollup header");
	ok(procfs_parse_statm("1000 300 100 10 0 200 0", 4096, &mem) == 0 &&
	    mem.rss == 300 * 4096 && mem.private_dirty == 200 * 4096, "procfs: statm");
}

int
main(void)
{
	test_size();
	test_uuid();
	test_signame();
	test_hmap();
	test_procfs();
	printf("1..%d\n", test_count);
	return failures != 0;
}
