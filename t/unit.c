/* Unit tests of the pure functions, printing TAP. */
#define FMT_OWN		/* the tree's own formatter, which static builds use, in every build */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cgroup.h"
#include "lib/fmt.h"
#include "lib/hmap.h"
#include "lib/jsonscan.h"
#include "lib/jsonw.h"
#include "lib/list.h"
#include "lib/opt.h"
#include "lib/num.h"
#include "lib/params.h"
#include "lib/utf8.h"
#include "monitors/memory.h"
#include "monitors/process.h"
#include "lib/procfs.h"
#include "lib/procid.h"
#include "lib/signame.h"
#include "lib/size.h"
#include "lib/uuid.h"

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
	ok(size_parse("3tb", &bytes) == 0 && bytes == (uint64_t)3 << 40, "size: tb in lower case");
	ok(size_parse("7b", &bytes) == 0 && bytes == 7, "size: b alone is bytes");
	ok(size_parse("7ib", &bytes) == -1 && size_parse("7Ki", &bytes) == -1 &&
	    size_parse("7K@", &bytes) == -1, "size: ib without a unit, i without b, junk refused");
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

/* num_parse(text) in base gives value, stops after stop bytes, and is outside or not. */
static bool
num_gives(const char *text, unsigned base, uint64_t value, size_t stop, bool outside)
{
	const char *end;
	bool was_outside;

	return num_parse(text, &end, base, &was_outside) == value && end == text + stop &&
	    was_outside == outside;
}

static void
test_num(void)
{
	/* Texts strtoull reads the same way in bases 8, 10 and 16 ("0x" aside). */
	static const char *const texts[] = {
		"0", "7", "12", "18446744073709551615", "18446744073709551616", "99999999999999999999999",
		"1777777777777777777777", "2000000000000000000000", "ffffffffffffffff", "10000000000000000",
		"FfFf", "-1", "-0", "+12", "-18446744073709551615", "-18446744073709551616", " \t\n\v\f\r42 ",
		"", " ", "-", "+", "+-1", "- 1", "x", "/", ":", "@", "G", "`", "g", "12abc", "089", "\xc1\x31",
	};

	ok(num_gives("0", 10, 0, 1, false), "num: 0");
	ok(num_gives("18446744073709551615", 10, UINT64_MAX, 20, false), "num: UINT64_MAX");
	ok(num_gives("18446744073709551616", 10, UINT64_MAX, 20, true) &&
	    num_gives("99999999999999999999999x", 10, UINT64_MAX, 23, true),
	    "num: past UINT64_MAX, UINT64_MAX, outside, every digit read");
	ok(num_gives("ffffffffffffffff", 16, UINT64_MAX, 16, false) &&
	    num_gives("10000000000000000", 16, UINT64_MAX, 17, true), "num: hexadecimal bounds");
	ok(num_gives("7f3a5C00-", 16, 0x7f3a5c00, 8, false), "num: hexadecimal, either case");
	ok(num_gives("0x10", 16, 0, 1, false), "num: no 0x prefix");
	ok(num_gives("0777", 8, 0777, 4, false) && num_gives("08", 8, 0, 1, false), "num: octal");
	ok(num_gives("", 10, 0, 0, false) && num_gives("x1", 10, 0, 0, false) &&
	    num_gives(" ", 10, 0, 0, false), "num: no digits, 0, ends where it began");
	ok(num_gives("-", 10, 0, 0, false) && num_gives(" +x", 10, 0, 0, false),
	    "num: a sign alone is no number, ends where it began");
	ok(num_gives(" \t\n\v\f\r42 ", 10, 42, 8, false), "num: blanks of every kind before it");
	ok(num_gives("+42", 10, 42, 3, false), "num: a plus sign");
	ok(num_gives("-1", 10, UINT64_MAX, 2, true) && num_gives("-3", 10, (uint64_t)-3, 2, true),
	    "num: a negative number wraps, outside");
	ok(num_gives("-0", 10, 0, 2, false), "num: -0 is 0, not outside");
	ok(num_gives("-18446744073709551615", 10, 1, 21, true) &&
	    num_gives("-18446744073709551616", 10, UINT64_MAX, 21, true),
	    "num: a negative number past UINT64_MAX is UINT64_MAX");
	ok(num_parse("12", NULL, 10, NULL) == 12, "num: end and outside may be NULL");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		for (unsigned base = 8; base <= 16; base += base == 8 ? 2 : 6) {
			char *libc_end, name[64];
			const char *end;
			unsigned long long expected;
			bool outside;
			uint64_t value = num_parse(texts[i], &end, base, &outside);
			int libc_errno;

			errno = 0;
			expected = strtoull(texts[i], &libc_end, (int)base);
			libc_errno = errno;
			/* The text may hold a newline, which TAP would not take in a name. */
			snprintf(name, sizeof(name), "num: text %zu in base %u as strtoull reads it", i, base);
			ok(value == expected && end == libc_end &&
			    outside == (libc_errno == ERANGE || (strchr(texts[i], '-') != NULL && value != 0)), name);
		}
	}
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
	ok(signame_parse("sigUsr2") == 12 && signame_parse("SIg") == -1 && signame_parse("SI") == -1,
	    "signal: the SIG prefix in any case, and never alone");
	ok(signame_parse("64") == 64 && signame_parse("65") == -1, "signal: up to SIGRTMAX");
}

static void
test_signame_from_json(void)
{
	cJSON *name = cJSON_CreateString("SIGHUP"), *bad = cJSON_CreateString("NOPE");
	cJSON *number = cJSON_CreateNumber(15), *fraction = cJSON_CreateNumber(2.5);
	cJSON *huge = cJSON_CreateNumber(1e300), *long_name = cJSON_CreateString("\xc3\xa9\xc3\xa9");
	char text[64], small[4];

	ok(signame_from_json(name, text, sizeof(text)) == 1 && strcmp(text, "SIGHUP") == 0,
	    "signal from JSON: a name");
	ok(signame_from_json(number, text, sizeof(text)) == 15 && strcmp(text, "15") == 0,
	    "signal from JSON: a number");
	ok(signame_from_json(bad, text, sizeof(text)) == -1 && strcmp(text, "NOPE") == 0,
	    "signal from JSON: an unknown name, quoted");
	ok(signame_from_json(fraction, text, sizeof(text)) == -1 && strcmp(text, "2.5") == 0,
	    "signal from JSON: a fraction refused, quoted as given");
	ok(signame_from_json(huge, text, sizeof(text)) == -1 && strcmp(text, "1e+300") == 0,
	    "signal from JSON: a huge number refused");
	ok(signame_from_json(long_name, small, sizeof(small)) == -1 && strcmp(small, "\xc3\xa9") == 0,
	    "signal from JSON: a long name cut between UTF-8 sequences");
	cJSON_Delete(name);
	cJSON_Delete(bad);
	cJSON_Delete(number);
	cJSON_Delete(fraction);
	cJSON_Delete(huge);
	cJSON_Delete(long_name);
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
	for (int i = 1; i < 990; i += 2)
		hmap_remove(&map, keys[i], strlen(keys[i]));
	all_found = 1;
	for (int i = 991; i < 1000; i += 2)
		all_found &= hmap_get(&map, keys[i], strlen(keys[i])) == keys[i];
	ok(all_found && map.count == 5 && map.capacity <= 64,
	    "hmap: shrinks when nearly empty, survivors still found");
	hmap_clear(&map);
	ok(hmap_get(&map, "k1", 2) == NULL, "hmap: empty after clear");
}

/* Random puts and removes against a model: backward-shift deletion keeps every survivor reachable. */
static void
test_hmap_remove_model(void)
{
	enum { KEYS = 300, OPS = 20000 };
	static char keys[KEYS][8];
	bool present[KEYS] = { false };
	struct hmap map = { 0 };
	uint64_t state = 88172645463325252ULL;
	size_t expected_count = 0;
	int consistent = 1, absent_ok = 1;

	for (int i = 0; i < KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "%d", i * 7919);
	for (int op = 0; op < OPS; op++) {
		int k;
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		k = (int)(state % KEYS);
		if ((state >> 32) % 3 == 0) {
			void *removed = hmap_remove(&map, keys[k], strlen(keys[k]));
			if (present[k] ? removed != keys[k] : removed != NULL)
				absent_ok = 0;
			expected_count -= present[k];
			present[k] = false;
		} else {
			if (hmap_put(&map, keys[k], strlen(keys[k]), keys[k]) == -1)
				break;
			expected_count += !present[k];
			present[k] = true;
		}
		if (op % 500 == 0 || op == OPS - 1) {
			for (int i = 0; i < KEYS; i++) {
				void *found = hmap_get(&map, keys[i], strlen(keys[i]));
				if (present[i] ? found != keys[i] : found != NULL)
					consistent = 0;
			}
			if (map.count != expected_count)
				consistent = 0;
		}
	}
	ok(consistent, "hmap: 20000 random puts and removes agree with a model");
	ok(absent_ok, "hmap: remove returns the value, or NULL for an absent key");
	hmap_clear(&map);
}

static bool
scan_is(const char *text, const char *key, const char *want)
{
	size_t start, end;

	if (!jsonscan_member(text, strlen(text), key, &start, &end))
		return want == NULL;
	return want != NULL && end - start == strlen(want) && memcmp(text + start, want, end - start) == 0;
}

/* The top-level members jsonscan_object() reads, as "name=value;" each, or NULL when it refuses text. */
static const char *
object_members(const char *text, size_t max)
{
	static char out[256];
	struct jsonscan_member m[4];
	size_t count, bad, used = 0;

	if (!jsonscan_object(text, strlen(text), &bad, m, max, &count))
		return NULL;
	for (size_t i = 0; i < count && i < max; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%.*s=%.*s;",
		    (int)(m[i].name_end - m[i].name_start), text + m[i].name_start,
		    (int)(m[i].value_end - m[i].value_start), text + m[i].value_start);
	snprintf(out + used, sizeof(out) - used, "%zu", count);
	return out;
}

static bool
object_is(const char *text, size_t max, const char *want)
{
	const char *got = object_members(text, max);

	return want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0;
}

static void
test_jsonscan_object(void)
{
	ok(object_is("{\"id\":3,\"do\":\"x\",\"op\":{\"a\":[1,{\"b\":2}]}}", 4,
	    "id=3;do=\"x\";op={\"a\":[1,{\"b\":2}]};3"), "jsonscan_object: top-level members only");
	ok(object_is(" { \"a\" : true , \"b\":\"\\\"x\" } ", 4, "a=true;b=\"\\\"x\";2"),
	    "jsonscan_object: white space and an escaped quote");
	ok(object_is("{\"a\":1,\"b\":2,\"c\":3}", 2, "a=1;b=2;3"), "jsonscan_object: more members than kept are counted");
	ok(object_is("{}", 4, "0"), "jsonscan_object: an empty object");
	ok(object_is("{\"a\":\"0123456789abcdefghij\xc3\xa9\"}", 4, "a=\"0123456789abcdefghij\xc3\xa9\";1"),
	    "jsonscan_object: a long string with UTF-8");
	ok(object_is("{\"a\":\"0123456789abcdef\xc3(\"}", 4, NULL), "jsonscan_object: invalid UTF-8 in a string");
	ok(object_is("{\"a\":\"0123456789\001abcdef\"}", 4, NULL), "jsonscan_object: a control character in a string");
	ok(object_is("{\"a\":\"0123456789\tabcdef\"}", 4, "a=\"0123456789\tabcdef\";1"), "jsonscan_object: a raw tab in a string");
	ok(object_is("{\"a\":01}", 4, NULL), "jsonscan_object: a number JSON does not allow");
	ok(object_is("{\"a\":1}x", 4, NULL), "jsonscan_object: trailing data");
	ok(object_is("{\"a\":tru}", 4, NULL), "jsonscan_object: a cut literal");
}

static void
test_jsonscan(void)
{
	ok(scan_is("{\"id\":12,\"do\":\"status\"}", "id", "12"), "jsonscan: a number id");
	ok(scan_is("{\"do\":\"status\",\"id\":12}", "id", "12"), "jsonscan: a number ended by the object");
	ok(scan_is("{\"id\":1.50e+2}", "id", "1.50e+2"), "jsonscan: the number as spelled");
	ok(scan_is(" \t{ \"id\" : \"a\\\"b}\" , \"x\":1}", "id", "\"a\\\"b}\""),
	    "jsonscan: a string with an escaped quote and a brace, spaces around");
	ok(scan_is("{\"state\":{\"id\":1,\"a\":[1,{\"id\":2}]},\"id\":3}", "id", "3"),
	    "jsonscan: nested members of the same name are skipped");
	ok(scan_is("{\"s\":\"{[\\\\\",\"id\":-0.0}", "id", "-0.0"), "jsonscan: brackets and a backslash inside a string");
	ok(scan_is("{\"x\":[1,2,3],\"id\":[4]}", "id", "[4]"), "jsonscan: an array value");
	ok(scan_is("{\"x\":1}", "id", NULL), "jsonscan: absent");
	ok(scan_is("[{\"id\":1}]", "id", NULL), "jsonscan: not an object");
	ok(scan_is("{\"i\\u0064\":1,\"id\":2}", "id", NULL), "jsonscan: an escaped name first: the caller falls back");
	ok(scan_is("{\"idx\":1,\"i\":2,\"id\":3}", "id", "3"), "jsonscan: names that share a prefix");
	ok(jsonscan_bad_byte("ab\tc\r", 5) == 5, "jsonscan: tab and CR are not control characters here");
	ok(jsonscan_bad_byte("ab\001c", 4) == 2, "jsonscan: the offset of a control character");
	ok(jsonscan_bad_byte("a\0b", 3) == 1, "jsonscan: a NUL counts");
	ok(jsonscan_bad_byte("a\xc3\xa9" "b", 4) == 4, "jsonscan: valid UTF-8 passes");
	ok(jsonscan_bad_byte("ab\xc3(", 4) == 2, "jsonscan: the offset of invalid UTF-8");
	test_jsonscan_object();
}

/* Printed text reads back as the same double; whole numbers below 2^53 print as integers. */
static bool
number_round_trips(double value)
{
	struct jsonw w = { 0 };
	char text[64];
	bool same, whole = value == (double)(int64_t)value && value > -9007199254740992.0 &&
	    value < 9007199254740992.0;

	jsonw_number(&w, value);
	snprintf(text, sizeof(text), "%.*s", (int)w.len, w.buf);
	same = !w.failed && strtod(text, NULL) == value &&
	    (!whole || strspn(text, "-0123456789") == strlen(text));
	if (!same)
		printf("# jsonw printed %s for %.17g\n", text, value);
	free(w.buf);
	return same;
}

static bool
string_is(const char *text, const char *want)
{
	struct jsonw w = { 0 };
	cJSON *item = cJSON_CreateString(text);
	char *printed = cJSON_PrintUnformatted(item);
	bool same;

	jsonw_string(&w, text);
	same = !w.failed && w.len == strlen(want) && memcmp(w.buf, want, w.len) == 0 &&
	    printed != NULL && strcmp(printed, want) == 0;
	if (!same)
		printf("# jsonw %.*s, cJSON %s, want %s\n", (int)w.len, w.buf, printed ? printed : "(null)", want);
	free(printed);
	cJSON_Delete(item);
	free(w.buf);
	return same;
}

static void
test_jsonw(void)
{
	static const double numbers[] = { 0, 1, -1, 7, 1234567890, -9007199254740991.0,
	    9007199254740991.0, 9007199254740992.0, 18446744073709551616.0, 1e300, -1e-300,
	    0.5, 0.1, 1.0 / 3, -123.456, 1e-7, 2.5e15, 4294967296.0, -0.0, 5e-324 };
	bool all_numbers = true;
	struct jsonw w = { 0 };

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		all_numbers &= number_round_trips(numbers[i]);
	ok(all_numbers, "jsonw: every number reads back exactly; whole ones print as integers");
	jsonw_number(&w, 42);
	jsonw_raw(&w, ",", 1);
	jsonw_number(&w, -17);
	jsonw_raw(&w, ",", 1);
	jsonw_number(&w, 0.25);
	ok(w.len == 11 && memcmp(w.buf, "42,-17,0.25", 11) == 0, "jsonw: integers exactly, fractions shortest");
	jsonw_reset(&w);
	jsonw_number(&w, 9007199254740991.0);
	ok(w.len == 16 && memcmp(w.buf, "9007199254740991", 16) == 0, "jsonw: 2^53-1 exactly, no exponent");
	jsonw_reset(&w);
	jsonw_number(&w, 0.1);
	ok(w.len == 3 && memcmp(w.buf, "0.1", 3) == 0, "jsonw: 0.1 in its shortest form");
	jsonw_reset(&w);
	jsonw_number(&w, 0.0 / 0.0);
	ok(w.len == 4 && memcmp(w.buf, "null", 4) == 0, "jsonw: NaN prints as null");
	jsonw_reset(&w);
	free(w.buf);
	ok(string_is("plain", "\"plain\""), "jsonw: a plain string");
	ok(string_is("", "\"\""), "jsonw: the empty string");
	ok(string_is("q\"b\\s/", "\"q\\\"b\\\\s/\""), "jsonw: quote and backslash escaped, slash not");
	ok(string_is("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""), "jsonw: short escapes");
	ok(string_is("\001\037", "\"\\u0001\\u001f\""), "jsonw: other control characters as \\u00XX");
	ok(string_is("h\xc3\xa9llo \xe2\x82\xac", "\"h\xc3\xa9llo \xe2\x82\xac\""), "jsonw: UTF-8 passes through");
}

static void
test_params(void)
{
	static const char forward[] = "connection_id:s operation:o timeout:n?";
	static const char restart[] = "signal:g?";
	struct {
		const char *params;
		const char *message, *error;
	} cases[] = {
		{ forward, "{\"connection_id\":\"a\",\"operation\":{}}", NULL },
		{ forward, "{\"connection_id\":\"a\",\"operation\":{},\"timeout\":1.5}", NULL },
		{ forward, "{\"connection_id\":\"a\",\"operation\":{},\"timeout\":null}", NULL },
		{ forward, "{\"operation\":{}}", "Missing 'connection_id' parameter" },
		{ forward, "{\"connection_id\":null,\"operation\":{}}", "Missing 'connection_id' parameter" },
		{ forward, "{\"connection_id\":\"a\"}", "Missing 'operation' parameter" },
		{ forward, "{\"connection_id\":5,\"operation\":{}}",
		    "Parameter 'connection_id' of 'forward' must be a string" },
		{ forward, "{\"connection_id\":\"a\",\"operation\":[]}",
		    "Parameter 'operation' of 'forward' must be an object" },
		{ forward, "{\"connection_id\":\"a\",\"operation\":{},\"timeout\":\"1\"}",
		    "Parameter 'timeout' of 'forward' must be a number" },
		{ restart, "{}", NULL },
		{ restart, "{\"signal\":\"HUP\"}", NULL },
		{ restart, "{\"signal\":15}", NULL },
		{ restart, "{\"signal\":true}", "Parameter 'signal' of 'forward' must be a signal name or number" },
	};
	bool all = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *msg = cJSON_Parse(cases[i].message);
		char err[128] = "";
		bool passed = params_check(cases[i].params, "forward", msg, err, sizeof(err));
		bool right = cases[i].error == NULL ? passed : !passed && strcmp(err, cases[i].error) == 0;
		if (!right) {
			printf("# %s: %s\n", cases[i].message, err);
			all = false;
		}
		cJSON_Delete(msg);
	}
	ok(all, "params: required, optional, null as absent, each type, one error naming the first problem");
	ok(utf8_prefix_len("hello", 10) == 5, "utf8_prefix_len: fits whole");
	ok(utf8_prefix_len("hello", 3) == 3, "utf8_prefix_len: ASCII cut anywhere");
	ok(utf8_prefix_len("h\xc3\xa9llo", 2) == 1, "utf8_prefix_len: never inside a two-byte sequence");
	ok(utf8_prefix_len("\xe2\x82\xac\xe2\x82\xac", 5) == 3, "utf8_prefix_len: never inside a three-byte sequence");
}

static void
test_procfs(void)
{
	struct proc_stat st;
	struct proc_memory mem;
	const char *stat_line = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 7 0 "
	    "150 50 0 0 20 0 3 0 98765 104857600 2560 18446744073709551615";
	const char *rollup = "55d0c0a00000-7ffd1b5f2000 ---p 00000000 00:00 0 [rollup]\n"
	    "Rss:                2048 kB\nPss:                1024 kB\n"
	    "Shared_Clean:        512 kB\nShared_Dirty:          0 kB\n"
	    "Private_Clean:       256 kB\nPrivate_Dirty:      1280 kB\n"
	    "Referenced:         2000 kB\nAnonymous:          1200 kB\nAnonHugePages:       900 kB\n"
	    "Swap:                 64 kB\nSwapPss:              32 kB\n";

	ok(procfs_parse_stat(stat_line, &st) == 0, "procfs: stat parses");
	ok(strcmp(st.comm, "my (odd) cmd") == 0, "procfs: command with parentheses");
	ok(st.ppid == 1 && st.pgid == 1234 && st.state == 'S', "procfs: ppid, pgid, state");
	ok(st.utime_ticks == 150 && st.stime_ticks == 50, "procfs: cpu ticks");
	ok(st.num_threads == 3 && st.start_ticks == 98765, "procfs: threads, start time");
	ok(st.vsize == 104857600 && st.rss_pages == 2560, "procfs: vsize, rss");
	ok(st.minor_faults == 100 && st.major_faults == 7, "procfs: minor and major faults");
	ok(procfs_parse_stat("garbage", &st) == -1, "procfs: garbage stat refused");
	ok(procfs_parse_stat("7 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19", &st) == -1,
	    "procfs: a stat line cut short refused");
	ok(procfs_parse_stat("7 (x)\tR\t1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 -5", &st) == 0 &&
	    st.state == 'R' && st.ppid == 1 && st.rss_pages == 0, "procfs: tabs, and a negative rss as none");
	ok(procfs_parse_statm("1000 300", 4096, &mem) == -1, "procfs: statm cut short refused");
	{
		const char *cursor = " \tab\ncdefg h";
		uint64_t numbers[2];
		size_t len;
		const char *word = procfs_word(&cursor, 3, &len);

		ok(len == 2 && memcmp(word, "ab", 2) == 0, "procfs_word: blanks of every kind, then a word");
		word = procfs_word(&cursor, 3, &len);
		ok(len == 3 && memcmp(word, "cde", 3) == 0 && strcmp(cursor, "fg h") == 0,
		    "procfs_word: a word cut at its width, the rest left");
		procfs_word(&cursor, SIZE_MAX, &len);
		procfs_word(&cursor, SIZE_MAX, &len);
		ok(procfs_word(&cursor, SIZE_MAX, &len) != NULL && len == 0, "procfs_word: none at the end");
		cursor = " 12\n-3 x";
		ok(procfs_numbers(&cursor, numbers, 2) == 0 && numbers[0] == 12 &&
		    numbers[1] == (uint64_t)-3 && strcmp(cursor, " x") == 0,
		    "procfs_numbers: blanks and signs as strtoull reads them");
		ok(procfs_numbers(&cursor, numbers, 1) == -1, "procfs_numbers: a word is no number");
	}
	ok(procfs_parse_smaps(rollup, &mem) == 0, "procfs: smaps_rollup parses");
	ok(mem.rss == 2048 * 1024 && mem.shared_clean == 512 * 1024, "procfs: rss, shared clean");
	ok(mem.private_clean + mem.private_dirty == 1536 * 1024, "procfs: private");
	ok(mem.map_count == 1, "procfs: one rollup header");
	ok(mem.pss == 1024 * 1024 && mem.referenced == 2000 * 1024 && mem.anonymous == 1200 * 1024,
	    "procfs: pss, referenced, anonymous (not AnonHugePages)");
	ok(mem.swap == 64 * 1024 && mem.swap_pss == 32 * 1024, "procfs: swap and its proportional share");
	ok(procfs_parse_statm("1000 300 100 10 0 200 0", 4096, &mem) == 0 &&
	    mem.rss == 300 * 4096 && mem.private_dirty == 200 * 4096, "procfs: statm");
}

static struct proc_memory
memory_of(uint64_t rss_mib, uint64_t shared_mib, uint64_t private_mib)
{
	struct proc_memory m = { 0 };

	m.rss = rss_mib << 20;
	m.shared_clean = shared_mib << 20;
	m.private_dirty = private_mib << 20;
	return m;
}

static void
test_memory_leak(void)
{
	struct mem_figures f = { 0 };
	struct proc_memory m;
	const uint64_t threshold = 10 << 20;
	static const uint64_t steps[] = { 100, 105, 111, 111, 130, 135, 90, 141 };
	uint64_t increases_after[sizeof(steps) / sizeof(steps[0])];

	ok(mem_leak_reason(&f, 1, 1) == MEM_REASON_NONE, "memory: never sampled, never leaking");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		m = memory_of(steps[i], 3, steps[i] - 3);
		mem_figures_sample(&f, &m, threshold);
		increases_after[i] = f.increase_count;
	}
	ok(increases_after[0] == 0 && f.sample_count == 8, "memory: the first sample sets the largest size");
	ok(increases_after[1] == 0, "memory: growth within the threshold is no increase");
	ok(increases_after[2] == 1, "memory: growth past the threshold is one increase");
	ok(increases_after[4] == 2 && increases_after[5] == 2,
	    "memory: the new largest size is the base for the next increase");
	ok(increases_after[7] == 3 && f.largest_size == (uint64_t)141 << 20,
	    "memory: shrinking does not lower the largest size");
	ok(f.current_size == (uint64_t)141 << 20 && f.current_shared_size == 3 << 20 &&
	    f.current_private_size == (uint64_t)138 << 20, "memory: current figures are the last sample");
	ok(mem_leak_reason(&f, 0, 0) == MEM_REASON_NONE, "memory: no limits, no leak");
	ok(mem_leak_reason(&f, (uint64_t)141 << 20, 0) == MEM_REASON_NONE,
	    "memory: at the maximum size is not over it");
	ok(mem_leak_reason(&f, (uint64_t)140 << 20, 0) == MEM_REASON_MAXIMUM_SIZE,
	    "memory: over the maximum size");
	ok(mem_leak_reason(&f, 0, 3) == MEM_REASON_INCREASE, "memory: increase limit reached");
	ok(mem_leak_reason(&f, 0, 4) == MEM_REASON_NONE, "memory: increase limit not reached");
}

static void
test_memory_choose(void)
{
	struct mem_candidate c[4];
	const uint64_t mib = 1 << 20;

	c[0] = (struct mem_candidate){ .pid = 10, .private_size = 20 * mib };
	c[1] = (struct mem_candidate){ .pid = 11, .private_size = 60 * mib };
	c[2] = (struct mem_candidate){ .pid = 12, .private_size = 40 * mib };
	c[3] = (struct mem_candidate){ .pid = 13, .private_size = 5 * mib };
	ok(mem_choose(c, 4, 30 * mib) == 1 && c[0].pid == 11 && c[0].chosen && !c[1].chosen,
	    "choose: the largest private first, and only as many as needed");
	ok(c[1].pid == 12 && c[2].pid == 10 && c[3].pid == 13, "choose: sorted largest first");
	ok(mem_choose(c, 4, 61 * mib) == 2 && c[0].chosen && c[1].chosen && !c[2].chosen,
	    "choose: stops as soon as the excess is gone");
	ok(mem_choose(c, 4, 0) == 0, "choose: no excess, nobody");
	ok(mem_choose(c, 4, 1000 * mib) == 4, "choose: everybody when nothing suffices");
	c[0].pending = true;
	ok(mem_choose(c, 4, 30 * mib) == 0, "choose: a process already signalled counts as going");
	ok(mem_choose(c, 4, 70 * mib) == 1 && !c[0].chosen && c[1].chosen,
	    "choose: a pending process is never chosen again, the next largest is");
	c[0] = (struct mem_candidate){ .pid = 30, .private_size = 5 * mib };
	c[1] = (struct mem_candidate){ .pid = 20, .private_size = 5 * mib };
	c[2] = (struct mem_candidate){ .pid = 25, .private_size = 9 * mib };
	ok(mem_choose(c, 3, 12 * mib) == 2 && c[0].pid == 25 && c[1].pid == 20 && c[2].pid == 30 &&
	    c[1].chosen && !c[2].chosen, "choose: equal sizes in pid order");
	ok(mem_choose(c, 0, mib) == 0 && mem_choose(c, 1, mib) == 1, "choose: none and one");
	ok(mem_quiet_ticks(1) == 2 && mem_quiet_ticks(2) == 4 && mem_quiet_ticks(3) == 8 &&
	    mem_quiet_ticks(6) == 64 && mem_quiet_ticks(40) == 64, "quiet ticks: 2, 4, 8 ... 64");
}

static void
test_cgroup_parsers(void)
{
	const char *mountinfo =
	    "24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
	    "31 24 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
	    "32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	    "35 31 0:30 /lxc/box /sys/fs/cgroup/cpu\\040memory rw shared:14 - cgroup cgroup rw,cpu,memory\n";
	const char *cgroups = "12:cpu,memory:/lxc/box/app\n1:name=systemd:/init.scope\n0::/user.slice/x.service\n";
	char root[64], mount_point[64], path[64];
	uint64_t bytes = 0;

	ok(cgroup_parse_mount(mountinfo, 2, root, sizeof(root), mount_point, sizeof(mount_point)) == 0 &&
	    strcmp(root, "/") == 0 && strcmp(mount_point, "/sys/fs/cgroup/unified") == 0,
	    "cgroup: v2 mount found");
	ok(cgroup_parse_mount(mountinfo, 1, root, sizeof(root), mount_point, sizeof(mount_point)) == 0 &&
	    strcmp(root, "/lxc/box") == 0 && strcmp(mount_point, "/sys/fs/cgroup/cpu memory") == 0,
	    "cgroup: v1 memory mount found, escapes undone");
	ok(cgroup_parse_mount("24 30 0:22 / /sys rw - sysfs sysfs rw\n", 2, root, sizeof(root),
	    mount_point, sizeof(mount_point)) == -1, "cgroup: no cgroup mount");
	ok(cgroup_parse_path(cgroups, 2, path, sizeof(path)) == 0 &&
	    strcmp(path, "/user.slice/x.service") == 0, "cgroup: v2 path");
	ok(cgroup_parse_path(cgroups, 1, path, sizeof(path)) == 0 &&
	    strcmp(path, "/lxc/box/app") == 0, "cgroup: v1 memory path");
	ok(cgroup_parse_path("1:name=systemd:/\n", 2, path, sizeof(path)) == -1,
	    "cgroup: no v2 line");
	ok(cgroup_parse_limit("max\n", &bytes) == 1, "cgroup: max is no limit");
	ok(cgroup_parse_limit("9223372036854771712\n", &bytes) == 1, "cgroup: v1 unlimited");
	ok(cgroup_parse_limit("536870912\n", &bytes) == 0 && bytes == 536870912, "cgroup: a limit");
	ok(cgroup_parse_limit("lots\n", &bytes) == -1, "cgroup: garbage refused");
	ok(procfs_parse_meminfo_available("MemTotal: 2048 kB\nMemFree: 100 kB\nMemAvailable: 1024 kB\n",
	    &bytes) == 0 && bytes == 1024 * 1024, "meminfo: MemAvailable");
	ok(procfs_parse_meminfo_available("MemTotal: 2048 kB\n", &bytes) == -1, "meminfo: missing");
	ok(procfs_parse_meminfo_available("XMemAvailable: 1 kB\nMemAvailable: 2 kB\n", &bytes) == -1,
	    "meminfo: the first mention must start a line");
	ok(procfs_parse_meminfo_available("MemAvailable: kB\n", &bytes) == -1, "meminfo: no figure");
}

static void
test_procid_judge(void)
{
	struct proc_stat st = { .state = 'S', .start_ticks = 500 };
	struct proc_stat zombie = { .state = 'Z', .start_ticks = 500 };

	ok(procid_judge(0, 0, &st, true, 500) == PROCID_ALIVE, "procid: same start time is the same process");
	ok(procid_judge(0, 0, &st, true, 0) == PROCID_ALIVE, "procid: any start time when none expected");
	ok(procid_judge(0, 0, &st, true, 499) == PROCID_REUSED, "procid: another start time is a reused pid");
	ok(procid_judge(0, 0, &zombie, true, 500) == PROCID_EXITED, "procid: a zombie has exited");
	ok(procid_judge(-1, ENOENT, &st, false, 500) == PROCID_EXITED, "procid: no /proc entry, no process: exited");
	ok(procid_judge(-1, ENOENT, &st, true, 500) == PROCID_HIDDEN,
	    "procid: no /proc entry but the process exists: hidden (hidepid=invisible)");
	ok(procid_judge(-1, EACCES, &st, true, 500) == PROCID_HIDDEN, "procid: EACCES on a live process: hidden");
	ok(procid_judge(-1, EMFILE, &st, true, 500) == PROCID_UNREADABLE, "procid: out of fds: unreadable");
	ok(procid_started_after(500, 100, 4999), "procid: started 5000 ms after boot, after 4999");
	ok(!procid_started_after(500, 100, 5000), "procid: not after 5000");
	ok(!procid_started_after(500, 0, 0), "procid: no clock rate, no verdict");
}

static void
test_procid_hidepid(void)
{
	const char *plain = "25 1 0:23 / /proc rw,nosuid - proc proc rw\n"
	    "26 25 0:24 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw,hidepid=2\n";
	const char *hidden = "25 1 0:23 / /proc rw,nosuid - proc proc rw\n"
	    "40 25 0:50 / /proc rw,relatime shared:3 - proc proc rw,gid=4,hidepid=invisible\n";
	const char *none = "24 1 0:22 / /sys rw - sysfs sysfs rw\n";
	char option[64];

	ok(procid_parse_hidepid(plain, option, sizeof(option)) == 0 && option[0] == '\0',
	    "hidepid: /proc without it; another mount's option ignored");
	ok(procid_parse_hidepid(hidden, option, sizeof(option)) == 0 &&
	    strcmp(option, "hidepid=invisible") == 0, "hidepid: the last /proc mount is the one in sight");
	ok(procid_parse_hidepid(none, option, sizeof(option)) == -1 && option[0] == '\0',
	    "hidepid: no /proc mount");
}

static void
test_procid_live(void)
{
	struct procid id = { 0 }, now = { 0 };
	pid_t child = fork();
	siginfo_t info;
	int status;

	if (child == 0) {
		pause();
		_exit(0);
	}
	ok(child > 0 && procid_read(child, &id) == PROCID_ALIVE && id.pid == child,
	    "procid: a live child is read");
	ok(procid_check(&id, &now) == PROCID_ALIVE && now.start_ticks == id.start_ticks,
	    "procid: and is still itself");
	id.start_ticks++;
	ok(procid_check(&id, NULL) == PROCID_REUSED, "procid: another start time is another process");
	id.start_ticks--;
	ok(procid_is_beneath(child, getpid()), "procid: a child is beneath its parent");
	ok(procid_is_beneath(getpid(), getpid()), "procid: a process is beneath itself");
	ok(!procid_is_beneath(getppid(), getpid()), "procid: a parent is not beneath its child");
	ok(!procid_is_beneath(1, getpid()), "procid: init is not beneath anyone");
	ok(procid_check_since(child, 0) == PROCID_REUSED,
	    "procid: a process that started after the instant is not the one seen then");
	ok(procid_check_since(getpid(), INT64_MAX / 2) == PROCID_ALIVE,
	    "procid: one that started before it is");
	ok(procid_other_pid_namespace(getpid()) == 0 && procid_other_pid_namespace(child) == 0,
	    "procid: same pid namespace as ourselves");
	kill(child, SIGKILL);
	/* A zombie until reaped: waitid with WNOWAIT waits for that without reaping. */
	waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT);
	ok(procid_check(&id, NULL) == PROCID_EXITED, "procid: a zombie has exited");
	waitpid(child, &status, 0);
	ok(procid_check(&id, NULL) == PROCID_EXITED && procid_read(child, &now) == PROCID_EXITED,
	    "procid: a reaped child has exited");
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
remove_cgroup_dir(const char *dir)
{
	static const char *const names[] = { "memory.max", "memory.current",
	    "memory.limit_in_bytes", "memory.usage_in_bytes" };
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
test_cgroup_room(void)
{
	char root[] = "/tmp/supervisord-unit-XXXXXX", middle[128], leaf[128];
	uint64_t room = 0;

	if (mkdtemp(root) == NULL) {
		ok(0, "cgroup room: temporary directory");
		return;
	}
	snprintf(middle, sizeof(middle), "%s/slice", root);
	snprintf(leaf, sizeof(leaf), "%s/slice/app", root);
	mkdir(middle, 0700);
	mkdir(leaf, 0700);
	write_file(leaf, "memory.max", "max\n");
	write_file(leaf, "memory.current", "1000\n");
	ok(cgroup_room(leaf, strlen(root), 2, &room) == -1, "cgroup room: no limit anywhere");
	write_file(middle, "memory.max", "5000\n");
	write_file(middle, "memory.current", "3000\n");
	ok(cgroup_room(leaf, strlen(root), 2, &room) == 0 && room == 2000,
	    "cgroup room: a parent's limit binds");
	write_file(leaf, "memory.max", "1500\n");
	ok(cgroup_room(leaf, strlen(root), 2, &room) == 0 && room == 500,
	    "cgroup room: the tightest level wins");
	write_file(root, "memory.max", "100\n");
	write_file(root, "memory.current", "400\n");
	ok(cgroup_room(leaf, strlen(root), 2, &room) == 0 && room == 0,
	    "cgroup room: over the limit is no room, up to the mount point");
	ok(cgroup_room(leaf, strlen(middle), 2, &room) == 0 && room == 500,
	    "cgroup room: nothing above the mount point is read");
	write_file(leaf, "memory.limit_in_bytes", "9223372036854771712\n");
	write_file(leaf, "memory.usage_in_bytes", "1000\n");
	ok(cgroup_room(leaf, strlen(root), 1, &room) == -1, "cgroup room: v1 unlimited");
	remove_cgroup_dir(leaf);
	remove_cgroup_dir(middle);
	remove_cgroup_dir(root);
}

static void
test_process_tree(void)
{
	/* 1 -> 100 -> {101 -> 103, 102}; 200 elsewhere; 104 -> 105 with 104 gone. */
	static const pid_t pids[] = { 103, 200, 101, 100, 102, 1, 105 };
	static const pid_t ppids[] = { 101, 1, 100, 1, 100, 0, 104 };
	struct proc_stat procs[7];
	struct pm_link links[7];
	size_t out[7], found;
	int seen[7] = { 0 }, parents_first = 1;

	memset(procs, 0, sizeof(procs));
	for (size_t i = 0; i < 7; i++) {
		procs[i].pid = pids[i];
		procs[i].ppid = ppids[i];
	}
	found = pm_tree(procs, 7, 100, links, out);
	for (size_t i = 0; i < found; i++) {
		seen[out[i]] = 1;
		if (procs[out[i]].pid == 103 && !seen[2])
			parents_first = 0;
	}
	ok(found == 3 && seen[0] && seen[2] && seen[4], "tree: all descendants of 100");
	ok(!seen[3] && !seen[1], "tree: not the root itself, nor strangers");
	ok(parents_first, "tree: parents before children");
	ok(pm_tree(procs, 7, 1, links, out) == 5, "tree: from init");
	ok(pm_tree(procs, 7, 999, links, out) == 0, "tree: unknown root, empty");
	procs[3].ppid = 103;	/* a cycle, as a racy /proc read could show */
	ok(pm_tree(procs, 7, 100, links, out) <= 7, "tree: a cycle ends");
	ok(pm_cpu_percent(50, 100, 1.0) == 50.0, "cpu: half a second in one second");
	ok(pm_cpu_percent(300, 100, 2.0) == 150.0, "cpu: more than one CPU");
	ok(pm_cpu_percent(10, 100, 0) == 0, "cpu: no time elapsed");
}

struct item {
	int		 n;
	DL_ENTRY(item)	 link;
};

static void
test_list(void)
{
	DL_HEAD(item) list;
	struct item items[3] = { { .n = 0 }, { .n = 1 }, { .n = 2 } };

	DL_INIT(&list);
	ok(DL_EMPTY(&list), "list: empty at first");
	for (int i = 0; i < 3; i++)
		DL_INSERT_HEAD(&list, &items[i], link);
	ok(DL_FIRST(&list) == &items[2] && DL_NEXT(&items[2], link) == &items[1],
	    "list: inserted at the head");
	DL_REMOVE(&items[1], link);		/* from the middle */
	ok(DL_NEXT(&items[2], link) == &items[0] && DL_NEXT(&items[0], link) == NULL,
	    "list: removed from the middle");
	DL_REMOVE(&items[2], link);		/* the first */
	ok(DL_FIRST(&list) == &items[0], "list: removed the first");
	DL_REMOVE(&items[0], link);		/* the last one left */
	ok(DL_EMPTY(&list), "list: empty again");
}

static void
test_utf8(void)
{
	ok(utf8_prefix_len("abc", 5) == 3, "utf8: short text whole");
	ok(utf8_prefix_len("abcdef", 3) == 3, "utf8: ASCII cut at max");
	/* "é" is C3 A9: a cut after its first byte backs off to before it. */
	ok(utf8_prefix_len("a\xc3\xa9" "b", 2) == 1, "utf8: not inside a sequence");
	ok(utf8_prefix_len("a\xc3\xa9" "b", 3) == 3, "utf8: after a whole sequence");
}

static void
test_params_dispatch(void)
{
	static const struct op_spec table[] = {
		{ "a" },
		{ "b n:n" },
	};
	cJSON *msg = cJSON_Parse("{\"n\":\"x\"}");
	char err[256];

	ok(params_dispatch(table, 2, sizeof(table[0]), "a", msg, err, sizeof(err)) == &table[0],
	    "dispatch: finds an operation");
	ok(params_dispatch(table, 2, sizeof(table[0]), "b", msg, err, sizeof(err)) == NULL &&
	    strcmp(err, "Parameter 'n' of 'b' must be a number") == 0, "dispatch: checks parameters");
	ok(params_dispatch(table, 2, sizeof(table[0]), "c", msg, err, sizeof(err)) == NULL &&
	    strcmp(err, "Unknown operation 'c'") == 0, "dispatch: unknown operation");
	ok(params_dispatch(table, 2, sizeof(table[0]), "b n:n", msg, err, sizeof(err)) == NULL &&
	    params_dispatch(table, 2, sizeof(table[0]), "", msg, err, sizeof(err)) == NULL,
	    "dispatch: a name is matched whole, never its spec");
	cJSON_Delete(msg);
}

/* Runs the parser over words; returns what it returned, as "s=PATH d ! end@2". */
static const char *
opt_trace(const char *const *words, const char *shorts)
{
	static const struct opt_long longs[] = {
		{ "socket", 's', true }, { "syslog", 200, false }, { "daemon", 'd', false },
		{ "max-buffer", 201, true }, { "max-reply", 202, true }, { "", 0, false },
	};
	static char trace[256];
	char *argv[16];
	struct opt_parser p;
	size_t len = 0;
	int argc = 0, option;

	while (words[argc] != NULL) {
		argv[argc] = (char *)words[argc];
		argc++;
	}
	opt_init(&p, argc, argv, shorts, longs);
	while ((option = opt_next(&p)) >= 0)
		len += (size_t)snprintf(trace + len, sizeof(trace) - len, "%d%s%s ", option,
		    p.value != NULL ? "=" : "", p.value != NULL ? p.value : "");
	snprintf(trace + len, sizeof(trace) - len, "%d:%s@%d", option, option == OPT_END ? "" : p.word, p.index);
	return trace;
}

static void
test_opt(void)
{
	static const struct {
		const char *words[8];
		const char *trace;
	} cases[] = {
		{ { "x", NULL }, "-1:@1" },
		{ { "x", "-s", "/a", "-d", "status", "-d", NULL }, "115=/a 100 -1:@4" },
		{ { "x", "-s/a", "-ds", "b", NULL }, "115=/a 100 115=b -1:@4" },
		{ { "x", "-s", "-d", NULL }, "115=-d -1:@3" },
		{ { "x", "--socket=", "--socket", "--d", NULL }, "115= 115=--d -1:@4" },
		{ { "x", "--sock", "p", "--da", "--max-b=1", "--", "-d", NULL }, "115=p 100 201=1 -1:@6" },
		{ { "x", "-", "-d", NULL }, "-1:@1" },
		{ { "x", "-s", NULL }, "-2:-s@2" },
		{ { "x", "-ds", NULL }, "100 -2:-s@2" },
		{ { "x", "--socket", NULL }, "-2:--socket@2" },
		{ { "x", "-x", NULL }, "-3:-x@2" },
		{ { "x", "-d:", NULL }, "100 -3:-:@2" },
		{ { "x", "--max", "1", NULL }, "-3:--max@2" },
		{ { "x", "--s", NULL }, "-3:--s@2" },
		{ { "x", "--socketx", NULL }, "-3:--socketx@2" },
		{ { "x", "--=1", NULL }, "-3:--=1@2" },
		{ { "x", "--max-reply-and-then-some-more", NULL }, "-3:--max-reply-and-then-some-more@2" },
		{ { "x", "--syslog=yes", NULL }, "-4:--syslog=yes@2" },
		{ { "x", "--syslog", "--sy", NULL }, "200 200 -1:@3" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *trace = opt_trace(cases[i].words, "s:dh");
		char name[320];

		snprintf(name, sizeof(name), "options case %zu: %s (want %s)", i, trace, cases[i].trace);
		ok(strcmp(trace, cases[i].trace) == 0, name);
	}
}

/* Whether the own formatter makes want, and returns its length. */
static bool __attribute__((format(printf, 2, 3)))
formats(const char *want, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = fmt_vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len == (int)strlen(want) && strcmp(text, want) == 0)
		return true;
	printf("# \"%s\": got \"%s\" (%d), want \"%s\"\n", fmt, text, len, want);
	return false;
}

static void
test_fmt_integers_strings(void)
{
	char raw[3] = { 'a', 'b', 'c' }, text[8], *big;
	const char *volatile none = NULL;	/* hidden from the compiler's own checks */
	FILE *stream;
	size_t big_len = 1 << 20, out_len;
	int len;

	ok(formats("-42|7|4000000000|beef|%", "%d|%i|%u|%x|%%", -42, 7, 4000000000u, 0xbeefu) &&
	    formats("-9223372036854775808 -9223372036854775808 18446744073709551615",
		"%ld %lld %zu", LONG_MIN, LLONG_MIN, SIZE_MAX) &&
	    formats("18446744073709551615 18446744073709551615 0 ff", "%lu %llu %u %02x",
		ULONG_MAX, ULLONG_MAX, 0u, 255u),
	    "fmt: d i u x with l, ll and z; %%");
	ok(formats("05|-07|2024-03-09|  -1|-1  |", "%02d|%03lld|%04d-%02d-%02d|%4d|%-4d|", 5, -7LL,
		2024, 3, 9, -1, -1) &&
	    formats("007|| -004|-0042", "%.3d|%.0d|%5.3d|%05d", 7, 0, -4, -42),
	    "fmt: integers padded with spaces or zeros after the sign; a precision is the least digits");
	ok(formats("ab    |            xyz|      -|   |q  |", "%-6s|%15s|%7s|%*s|%-*s|", "ab", "xyz", "-",
		3, "", 3, "q") &&
	    formats("  a|b  |", "%*s|%*s|", 3, "a", -3, "b") &&
	    formats("z", "%c", 'z') && formats("  z|z  |", "%3c|%-3c|", 'z', 'z'),
	    "fmt: s and c in a width, '-' on the right; a negative '*' width is '-'");
	ok(formats("abc|abcdefgh|abcdef", "%.*s|%-8.8s|%.6s", 3, "abcdef", "abcdefghijk", "abcdefghij") &&
	    formats("abc", "%.3s", raw) && formats("ab", "%.*s", 2, raw) && formats("", "%.0s", raw),
	    "fmt: a precision bounds the bytes of a string read, which need not be NUL-terminated");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	ok(formats("%q 5|50%", "%q %d|50%", 5) && formats("%#x % d 7", "%#x % d %d", 7) &&
	    formats("(null)", "%s", none),
	    "fmt: a directive it does not know is printed as written; a null string as (null)");
#pragma GCC diagnostic pop

	len = fmt_snprintf(text, sizeof(text), "%s", "hello world");
	ok(len == 11 && strcmp(text, "hello w") == 0, "fmt: truncated to the buffer, NUL-terminated, "
	    "the whole length returned");
	text[0] = 'x';
	ok(fmt_snprintf(text, 1, "%d", 12345) == 5 && text[0] == '\0' &&
	    fmt_snprintf(NULL, 0, "%s%d", "ab", 12345) == 7 &&
	    fmt_snprintf(text, sizeof(text), "%7.0f", 1.0) == 7 && strcmp(text, "      1") == 0,
	    "fmt: a buffer of 1 byte holds the NUL; of 0 bytes, none is written");

	big = malloc(big_len + 1);
	if (big != NULL) {
		char *out = NULL;

		memset(big, 'j', big_len);
		big[big_len] = '\0';
		stream = open_memstream(&out, &out_len);
		len = stream != NULL ? fmt_fprintf(stream, "<%s>%d", big, 42) : -1;
		if (stream != NULL)
			fclose(stream);
		ok(len == (int)big_len + 4 && out_len == big_len + 4 && out[0] == '<' &&
		    memcmp(out + 1, big, big_len) == 0 && strcmp(out + 1 + big_len, ">42") == 0,
		    "fmt: a megabyte string to a stream, whole, in chunks");
		free(out);
		free(big);
	}
}

static void
test_fmt_floats(void)
{
	double negative_zero = -0.0, nan_value = NAN, negative_nan = copysign(NAN, -1);

	ok(formats("0 2 2 4 -0 -0", "%.0f %.0f %.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, 3.5, -0.5, -0.4) &&
	    formats("0.12 0.38 0.2 0.3 1.000 100.0", "%.2f %.2f %.1f %.1f %.3f %.1f", 0.125, 0.375,
		0.25, 0.35, 1.0005, 99.95),
	    "fmt: %f rounds the exact binary value to nearest, an exact half to even");
	ok(formats("1000000000000000000000.000000 1e+21", "%f %g", 1e21, 1e21) &&
	    formats("1e-05 0.0001 1.23457e+08 100000 1e+06 1.234e-05", "%g %g %g %g %g %g", 1e-5,
		1e-4, 123456789.0, 100000.0, 1e6, 0.00001234) &&
	    formats("0.000123457 1e+06 1 0.5", "%.6g %.6g %.0g %g", 0.0001234567, 999999.5, 1.0, 0.5),
	    "fmt: %g picks fixed or exponent style from the rounded exponent, drops trailing zeros");
	ok(formats("179769313486231570814527423731704356798070567525844996598917476803157260780028538760"
		"589558632766878171540458953514382464234321326889464182768467546703537516986049910576"
		"551282076245490090389328944075868508455133942304583236903222948165808559332123348274"
		"797826204144723168738177180919299881250404026184124858368.000000", "%f", DBL_MAX) &&
	    formats("1.79769e+308", "%g", DBL_MAX),
	    "fmt: DBL_MAX in all its digits");
	ok(formats("2.2250738585072014e-308 2.2250738585072009e-308 4.9406564584124654e-324",
		"%1.17g %1.17g %1.17g", DBL_MIN, 2.2250738585072009e-308, 4.9406564584124654e-324) &&
	    formats("0.10000000000000001 0.1 0.1000000000000000055511151231257827021182",
		"%1.17g %1.15g %.40g", 0.1, 0.1, 0.1) &&
	    formats("9007199254740992 0.29999999999999999", "%.17g %.17g", 9007199254740993.0, 0.3),
	    "fmt: the smallest normal and denormal doubles, 0.1, to 17 significant digits");
	ok(formats("-0 -0.0 -0", "%g %.1f %.0f", negative_zero, negative_zero, negative_zero) &&
	    formats("inf -inf nan -nan", "%f %g %f %g", INFINITY, -INFINITY, nan_value, negative_nan) &&
	    formats("    inf|   -inf|nan  |", "%7.0f|%07.1f|%-5g|", INFINITY, -INFINITY, nan_value),
	    "fmt: negative zero keeps its sign; inf and nan as glibc prints them, never zero-padded");
	ok(formats("     42|-0000003.142|0.5      |0.1", "%7.0f|%012.3f|%-9g|%.*f", 42.4, -3.14159, 0.5,
		1, 0.05000001),
	    "fmt: floats in a width, zeros after the sign, '-' on the right, '*' precision");
}

int
main(void)
{
	test_size();
	test_uuid();
	test_num();
	test_signame();
	test_signame_from_json();
	test_hmap();
	test_hmap_remove_model();
	test_jsonscan();
	test_jsonw();
	test_params();
	test_procfs();
	test_memory_leak();
	test_memory_choose();
	test_cgroup_parsers();
	test_cgroup_room();
	test_process_tree();
	test_procid_judge();
	test_procid_hidepid();
	test_procid_live();
	test_list();
	test_utf8();
	test_params_dispatch();
	test_opt();
	test_fmt_integers_strings();
	test_fmt_floats();
	printf("1..%d\n", test_count);
	return failures != 0;
}
